/* test_nodesim_filter: tools/nodesim/filter.c and record.c — the simulated
 * node's yeti.show.calls.filtered language (docs/CONTRACT.md §7): every
 * refusal word for word, how operators, integers and numbers are read,
 * duration rules turned into connect_time rules, rules on routing fields of
 * each type, and records written with only the named fields, in name
 * order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "record.h"

enum { NOW = 1000000 }; /* the epoch second the rules are parsed at */

static json_t *params_of(const char *text)
{
    json_error_t err;
    json_t *p = json_loads(text, JSON_ALLOW_NUL, &err); /* as the node reads requests */
    if (!p) fail_msg("bad test params %s: %s", text, err.text);
    return p;
}

/* The refusal of params (a JSON array text), or "" when they parse. */
static char *refusal(const char *params_text)
{
    static char text[512];
    json_t *params = params_of(params_text);
    sim_query q;
    buf msg;
    buf_init(&msg);
    int rc = sim_query_parse(&q, params, NOW, &msg);
    assert_false(msg.oom);
    if (rc == 0) {
        assert_int_equal(msg.len, 0);
        sim_query_free(&q);
        text[0] = '\0';
    } else {
        assert_int_equal(rc, -1);
        assert_true(msg.len > 0 && msg.len < sizeof text);
        memcpy(text, msg.data, msg.len);
        text[msg.len] = '\0';
    }
    buf_free(&msg);
    json_decref(params);
    return text;
}

static void refused_as(const char *params_text, const char *want)
{
    const char *got = refusal(params_text);
    if (strcmp(got, want) != 0) fail_msg("%s: got \"%s\", want \"%s\"", params_text, got, want);
}

/* Whether the rules of params pick the record; *written gets the record
 * written with the named fields (caller frees) when it is not NULL. */
static bool fixed_duration = true; /* the records below are a file's */

static bool picks(const char *params_text, const char *record, char **written)
{
    json_t *params = params_of(params_text);
    sim_query q;
    buf msg;
    buf_init(&msg);
    if (sim_query_parse(&q, params, NOW, &msg) != 0)
        fail_msg("%s refused: %.*s", params_text, (int)msg.len, msg.data);
    bool picked = sim_query_select(&q, record, strlen(record), fixed_duration);
    if (written) {
        buf out;
        buf_init(&out);
        sim_query_write(&q, &out);
        *written = strndup(out.data, out.len);
        buf_free(&out);
    }
    sim_query_free(&q);
    buf_free(&msg);
    json_decref(params);
    return picked;
}

static void assert_picks(const char *params_text, const char *record, bool want)
{
    if (picks(params_text, record, NULL) != want)
        fail_msg("%s on %s: %s", params_text, record, want ? "not picked" : "picked");
}

static void refusals(void **state)
{
    (void)state;
    refused_as("[]", "you should specify at least one field");
    refused_as("[\"WHERE\"]", "found WHERE in wrong place");
    refused_as("[\"WHERE\",\"duration>5\"]", "found WHERE in wrong place");
    refused_as("[\"local_tag\",\"WHERE\"]", "no rules defined after WHERE");
    refused_as("[\"local_tag\",5]", "unexpected input");
    refused_as("[null]", "unexpected input");
    refused_as("[\"local_tag\",\"WHERE\",\"duration>5\",true]", "unexpected input");
    refused_as("[\"local_tag\",\"WHERE\",\"ab\"]", "can't parse rule: ab");
    refused_as("[\"local_tag\",\"WHERE\",\"duration\"]", "can't parse rule: duration");
    refused_as("[\"local_tag\",\"WHERE\",\"WHERE\"]", "can't parse rule: WHERE");
    refused_as("[\"local_tag\",\"WHERE\",\"nope=1\"]", "unknown field nope in WHERE clause");
    refused_as("[\"local_tag\",\"WHERE\",\"=12\"]", "unknown field  in WHERE clause");
    refused_as("[\"local_tag\",\"WHERE\",\"local_tag=x\"]", "field local_tag is known but unsupported");
    refused_as("[\"local_tag\",\"WHERE\",\"start_time>1\"]", "field start_time is known but unsupported");
    refused_as("[\"local_tag\",\"WHERE\",\"lrn>1\"]", "condition > for dynamic field lrn is not implemented");
    refused_as("[\"local_tag\",\"WHERE\",\"destination_fee<=1\"]",
               "condition <= for dynamic field destination_fee is not implemented");
    refused_as("[\"local_tag\",\"WHERE\",\"customer_id=x\"]", "can't cast 'x' to integer");
    refused_as("[\"local_tag\",\"WHERE\",\"attempt_num>1.5\"]", "can't cast '1.5' to integer");
    refused_as("[\"local_tag\",\"WHERE\",\"dialpeer_id=x\"]", "can't cast 'x' to long long integer");
    refused_as("[\"local_tag\",\"WHERE\",\"duration>x\"]", "can't cast 'x' to double");
    refused_as("[\"local_tag\",\"WHERE\",\"connect_time<soon\"]", "can't cast 'soon' to double");
    refused_as("[\"local_tag\",\"WHERE\",\"duration>  \"]", "can't cast '  ' to double");
    /* the first bad rule is the one reported, before any unknown field */
    refused_as("[\"nope\",\"WHERE\",\"duration>x\",\"lrn>1\"]", "can't cast 'x' to double");
    refused_as("[\"nope\",\"local_tag\",\"bad\\\"x\",\"nope\"]",
               "passed one or more unknown fields:['nope', 'bad\"x', 'nope']");
    refused_as("[\"nope\",\"WHERE\",\"duration>5\"]", "passed one or more unknown fields:['nope']");
    /* strings are cut at a NUL, as the node keeps them */
    refused_as("[\"local_tag\",\"WHERE\\u0000x\"]", "no rules defined after WHERE");
    refused_as("[\"local_tag\",\"duration\",\"WHERE\",\"duration>5\",\"attempt_num=1\"]", "");
}

/* How the operator is found: the first of = ! < >, a value after it. */
static void operators(void **state)
{
    (void)state;
    refused_as("[\"local_tag\",\"WHERE\",\"a=\"]", "can't parse rule: a=");
    refused_as("[\"local_tag\",\"WHERE\",\"ab=\"]", "can't parse rule: ab=");
    refused_as("[\"local_tag\",\"WHERE\",\"a!b\"]", "can't parse rule: a!b");
    refused_as("[\"local_tag\",\"WHERE\",\"ab!x1\"]", "can't parse rule: ab!x1");
    refused_as("[\"local_tag\",\"WHERE\",\"ab!=\"]", "can't parse rule: ab!=");
    refused_as("[\"local_tag\",\"WHERE\",\"abc>=\"]", "can't parse rule: abc>=");
    refused_as("[\"local_tag\",\"WHERE\",\"abc<\"]", "can't parse rule: abc<");
    refused_as("[\"local_tag\",\"WHERE\",\"a<\"]", "can't parse rule: a<");
    /* "==" is "=" then a value that starts with "=" */
    refused_as("[\"local_tag\",\"WHERE\",\"customer_id==5\"]", "can't cast '=5' to integer");
    /* the field ends at the first operator character */
    refused_as("[\"local_tag\",\"WHERE\",\"lrn<x=1\"]",
               "condition < for dynamic field lrn is not implemented");
    refused_as("[\"local_tag\",\"WHERE\",\"x!y=1\"]", "can't parse rule: x!y=1");
    const char *rec = "{\"customer_id\":5}";
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id=5\"]", rec, true);
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id!=5\"]", rec, false);
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id>4\"]", rec, true);
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id>5\"]", rec, false);
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id>=5\"]", rec, true);
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id<5\"]", rec, false);
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id<=5\"]", rec, true);
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id<6\"]", rec, true);
}

/* Integers are read as the node reads them. */
static void integers(void **state)
{
    (void)state;
    const char *rec = "{\"customer_id\":5,\"attempt_num\":-3,\"dialpeer_id\":12345678901234}";
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id= 5\"]", rec, true);
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id=5 and more\"]", rec, true);
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id=5\\n\"]", rec, true);
    assert_picks("[\"customer_id\",\"WHERE\",\"attempt_num=-3\"]", rec, true);
    assert_picks("[\"customer_id\",\"WHERE\",\"attempt_num=- 3\"]", rec, true);
    assert_picks("[\"customer_id\",\"WHERE\",\"attempt_num<=- \"]", rec, true); /* "-" reads as 0 */
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id>= \"]", rec, true);
    refused_as("[\"local_tag\",\"WHERE\",\"customer_id=+5\"]", "can't cast '+5' to integer");
    refused_as("[\"local_tag\",\"WHERE\",\"customer_id=5x\"]", "can't cast '5x' to integer");
    refused_as("[\"local_tag\",\"WHERE\",\"customer_id=12345678901\"]",
               "can't cast '12345678901' to integer");
    /* ten digits fit the reading, and wrap around 32 bits */
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id=4294967301\"]", rec, true);
    assert_picks("[\"customer_id\",\"WHERE\",\"dialpeer_id=12345678901234\"]", rec, true);
    assert_picks("[\"customer_id\",\"WHERE\",\"dialpeer_id>12345678901233\"]", rec, true);
    refused_as("[\"local_tag\",\"WHERE\",\"dialpeer_id=123456789012345678901\"]",
               "can't cast '123456789012345678901' to long long integer");
    /* an "integer" field only matches a JSON integer within 32 bits */
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id!=1\"]", "{\"customer_id\":\"5\"}", false);
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id!=1\"]", "{\"customer_id\":5.0}", false);
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id!=1\"]", "{\"customer_id\":null}", false);
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id!=1\"]", "{\"vendor_id\":5}", false);
    assert_picks("[\"customer_id\",\"WHERE\",\"customer_id>1\"]", "{\"customer_id\":4294967296}", false);
    assert_picks("[\"customer_id\",\"WHERE\",\"dialpeer_id>1\"]", "{\"dialpeer_id\":4294967296}", true);
    /* a boolean field takes an integer rule, which no true/false meets */
    assert_picks("[\"customer_id\",\"WHERE\",\"destination_reverse_billing=0\"]",
                 "{\"destination_reverse_billing\":false}", false);
    assert_picks("[\"customer_id\",\"WHERE\",\"destination_reverse_billing!=0\"]",
                 "{\"destination_reverse_billing\":false}", false);
}

/* duration>N is connect_time < now - N, in whole seconds; a call not
 * connected meets no duration or connect_time rule. */
/* A file's record keeps its duration: judged at connect_time + duration,
 * not at now; a generated one at now. */
static void durations_of_file_records(void **state)
{
    (void)state;
    const char *old = "{\"connect_time\":994999.5,\"duration\":10.5}"; /* described at 995010 */
    assert_picks("[\"duration\",\"WHERE\",\"duration>5\"]", old, true);
    assert_picks("[\"duration\",\"WHERE\",\"duration<=11\"]", old, true);
    assert_picks("[\"duration\",\"WHERE\",\"duration>11\"]", old, false);
    fixed_duration = false; /* the same text, generated: 5001 s at NOW */
    assert_picks("[\"duration\",\"WHERE\",\"duration<=11\"]", old, false);
    assert_picks("[\"duration\",\"WHERE\",\"duration>5000\"]", old, true);
    fixed_duration = true;
}

/* The early look at a generated call's connect time agrees with reading it. */
static void may_select(void **state)
{
    (void)state;
    const char *rules[] = {
        "[\"duration\",\"WHERE\",\"duration>10\"]", "[\"duration\",\"WHERE\",\"duration<=10\"]",
        "[\"duration\",\"WHERE\",\"connect_time>=999990\"]", "[\"duration\",\"WHERE\",\"attempt_num=1\"]"};
    const int64_t connects[] = {0, 999980, 999989, 999990, 999991, 1000000};
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        json_t *params = params_of(rules[r]);
        sim_query q;
        buf msg;
        buf_init(&msg);
        assert_int_equal(sim_query_parse(&q, params, NOW, &msg), 0);
        for (size_t c = 0; c < sizeof connects / sizeof connects[0]; c++) {
            char record[128];
            snprintf(record, sizeof record, "{\"connect_time\":%lld.5,\"attempt_num\":1}",
                     (long long)connects[c]);
            bool read = sim_query_select(&q, record, strlen(record), false);
            bool early = sim_query_may_select(&q, connects[c] * 1000000 + 500000);
            if (early != read)
                fail_msg("%s, connected at %lld: read %d, early %d", rules[r], (long long)connects[c], read,
                         early);
        }
        sim_query_free(&q);
        buf_free(&msg);
        json_decref(params);
    }
}

static void durations(void **state)
{
    (void)state;
    const char *up = "{\"connect_time\":999989.75,\"duration\":10.25}"; /* connected at second NOW-11 */
    const char *ringing = "{\"connect_time\":0,\"duration\":null}";
    assert_picks("[\"duration\",\"WHERE\",\"duration>5\"]", up, true);
    assert_picks("[\"duration\",\"WHERE\",\"duration>10\"]", up, true);
    assert_picks("[\"duration\",\"WHERE\",\"duration>11\"]", up, false);
    assert_picks("[\"duration\",\"WHERE\",\"duration>=11\"]", up, true);
    assert_picks("[\"duration\",\"WHERE\",\"duration=11\"]", up, true);
    assert_picks("[\"duration\",\"WHERE\",\"duration!=11\"]", up, false);
    assert_picks("[\"duration\",\"WHERE\",\"duration<12\"]", up, true);
    assert_picks("[\"duration\",\"WHERE\",\"duration<11\"]", up, false);
    assert_picks("[\"duration\",\"WHERE\",\"duration<=11\"]", up, true);
    /* now - 10.5 is cut to NOW-11 */
    assert_picks("[\"duration\",\"WHERE\",\"duration=10.5\"]", up, true);
    assert_picks("[\"duration\",\"WHERE\",\"duration>10.5\"]", up, false);
    assert_picks("[\"duration\",\"WHERE\",\"duration>1e1\"]", up, true); /* %lf reads exponents */
    assert_picks("[\"duration\",\"WHERE\",\"duration>5 s\"]", up, true); /* and stops at the number's end */
    /* now - NaN is no second: it is cut to the lowest one */
    assert_picks("[\"duration\",\"WHERE\",\"duration>nan\"]", up, false);
    assert_picks("[\"duration\",\"WHERE\",\"duration<nan\"]", up, true);
    const char *rules[] = {"duration>5",      "duration<100000", "duration!=5",         "duration=0",
                           "connect_time>=0", "connect_time!=5", "connect_time<=999999"};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        char params[96];
        snprintf(params, sizeof params, "[\"duration\",\"WHERE\",\"%s\"]", rules[i]);
        assert_picks(params, ringing, false);
        assert_picks(params, "{\"duration\":5}", false); /* no connect_time at all */
    }
    assert_picks("[\"duration\",\"WHERE\",\"connect_time=999989\"]", up, true);
    assert_picks("[\"duration\",\"WHERE\",\"connect_time=999989.9\"]", up, true);
    assert_picks("[\"duration\",\"WHERE\",\"connect_time>999989\"]", up, false);
    assert_picks("[\"duration\",\"WHERE\",\"connect_time<999990\"]", up, true);
    assert_picks("[\"duration\",\"WHERE\",\"connect_time!=1\"]", up, true);
    /* rules AND together */
    assert_picks("[\"duration\",\"WHERE\",\"duration>5\",\"attempt_num=2\"]",
                 "{\"connect_time\":999989.75,\"attempt_num\":2}", true);
    assert_picks("[\"duration\",\"WHERE\",\"duration>5\",\"attempt_num=2\"]",
                 "{\"connect_time\":999989.75,\"attempt_num\":1}", false);
    assert_picks("[\"duration\",\"WHERE\",\"duration>20\",\"attempt_num=2\"]",
                 "{\"connect_time\":999989.75,\"attempt_num\":2}", false);
}

/* Text fields take = and != against a JSON string only. */
static void strings(void **state)
{
    (void)state;
    const char *rec = "{\"src_name_in\":\"O'Brien \\\"the caller\\\" \\u00fc\",\"lrn\":null,"
                      "\"destination_fee\":\"0.0\",\"dst_prefix_in\":\"38067\"}";
    assert_picks("[\"lrn\",\"WHERE\",\"src_name_in=O'Brien \\\"the caller\\\" \\u00fc\"]", rec, true);
    assert_picks("[\"lrn\",\"WHERE\",\"src_name_in!=O'Brien\"]", rec, true);
    assert_picks("[\"lrn\",\"WHERE\",\"dst_prefix_in=38067\"]", rec, true);
    assert_picks("[\"lrn\",\"WHERE\",\"dst_prefix_in=380\"]", rec, false);
    assert_picks("[\"lrn\",\"WHERE\",\"destination_fee=0.0\"]", rec, true);
    assert_picks("[\"lrn\",\"WHERE\",\"destination_fee=0\"]", rec, false); /* text, not numbers */
    /* null, a number or a missing field meets neither = nor != */
    assert_picks("[\"lrn\",\"WHERE\",\"lrn!=x\"]", rec, false);
    assert_picks("[\"lrn\",\"WHERE\",\"diversion_in!=x\"]", rec, false);
    assert_picks("[\"lrn\",\"WHERE\",\"dst_prefix_in!=x\"]", "{\"dst_prefix_in\":380}", false);
    /* a string is compared up to a NUL */
    assert_picks("[\"lrn\",\"WHERE\",\"dst_prefix_in=380\"]", "{\"dst_prefix_in\":\"380\\u0000x\"}", true);
}

static void expect_written(const char *params_text, const char *record, const char *want)
{
    char *got = NULL;
    picks(params_text, record, &got);
    if (strcmp(got, want) != 0) fail_msg("%s on %s: wrote %s, want %s", params_text, record, got, want);
    free(got);
}

/* Only the named fields, once each, in name order; a routing field the call
 * lacks is null ("" for text), a fixed one is left out. */
static void written(void **state)
{
    (void)state;
    const char *rec = "{\"node_id\":1,\"local_tag\":\"t-1\",\"connect_time\":0,\"duration\":null,"
                      "\"active_resources_json\":[{\"type\":3,\"id\":1}],\"customer_id\":7,"
                      "\"lrn\":null,\"src_name_in\":\"A \\\"B\\\"\",\"legA_remote_ip\":\"192.0.2.1\"}";
    expect_written("[\"local_tag\"]", rec, "{\"local_tag\":\"t-1\"}");
    expect_written(
        "[\"lrn\",\"local_tag\",\"customer_id\",\"local_tag\",\"duration\",\"legA_remote_ip\"]", rec,
        "{\"customer_id\":7,\"duration\":null,\"legA_remote_ip\":\"192.0.2.1\",\"local_tag\":\"t-1\","
        "\"lrn\":\"\"}");
    expect_written("[\"active_resources_json\",\"src_name_in\"]", rec,
                   "{\"active_resources_json\":[{\"type\":3,\"id\":1}],\"src_name_in\":\"A \\\"B\\\"\"}");
    expect_written("[\"versions\",\"global_tag\",\"vendor_id\",\"dst_prefix_in\",\"destination_fee\"]", rec,
                   "{\"destination_fee\":\"\",\"dst_prefix_in\":\"\",\"vendor_id\":null}");
    expect_written("[\"versions\"]", rec, "{}");
    /* a rule's field is read, not written */
    expect_written("[\"local_tag\",\"WHERE\",\"customer_id=7\"]", rec, "{\"local_tag\":\"t-1\"}");
}

/* The record walk: nested values, escapes and spaces. */
static void record_walk(void **state)
{
    (void)state;
    const char *rec = "{ \"a\" : {\"x\":[1,{\"}\":\"]\"}]} , \"b\\\"c\":\"q\\\\\\\"}\",\"d\":-1.5e3,\"e\":[],"
                      "\"f\":true }";
    static const char *const keys[] = {"a", "b\\\"c", "d", "e", "f"};
    static const char *const vals[] = {"{\"x\":[1,{\"}\":\"]\"}]}", "\"q\\\\\\\"}\"", "-1.5e3", "[]", "true"};
    size_t pos = 0, i = 0;
    sim_span k, v;
    while (sim_record_next(rec, strlen(rec), &pos, &k, &v)) {
        assert_true(i < 5);
        assert_true(sim_span_is(k, keys[i]));
        if (!sim_span_is(v, vals[i])) fail_msg("value %zu: %.*s", i, (int)v.n, v.p);
        i++;
    }
    assert_int_equal(i, 5);
    pos = 0;
    assert_false(sim_record_next("{}", 2, &pos, &k, &v));
    pos = 0;
    assert_false(sim_record_next("[1]", 3, &pos, &k, &v));

    int64_t x;
    double d;
    sim_span s = {"-9223372036854775808", 20};
    assert_true(sim_span_integer(s, &x));
    assert_true(x == INT64_MIN);
    s = (sim_span){"9223372036854775808", 19};
    assert_false(sim_span_integer(s, &x));
    s = (sim_span){"1.0", 3};
    assert_false(sim_span_integer(s, &x));
    assert_true(sim_span_number(s, &d));
    assert_true(d == 1.0);
    s = (sim_span){"\"1\"", 3};
    assert_false(sim_span_number(s, &d));
    assert_false(sim_span_integer(s, &x));
}

/* The field list: unique names; every field a rule may name takes one;
 * yeti.show.calls.fields lists them all in name order. */
static void fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < sim_field_count; i++) {
        const sim_field *f = &sim_fields[i];
        assert_ptr_equal(sim_field_find(f->name), f);
        if (f->rule == SIM_RULE_NONE) continue;
        char params[128];
        snprintf(params, sizeof params, "[\"%s\",\"WHERE\",\"%s=1\"]", f->name, f->name);
        if (*refusal(params)) fail_msg("%s: %s", params, refusal(params));
    }
    assert_null(sim_field_find("ruri")); /* carried by the records, not a routing field */

    buf out;
    buf_init(&out);
    sim_fields_write(&out);
    json_error_t err;
    json_t *all = json_loadb(out.data, out.len, JSON_REJECT_DUPLICATES, &err);
    if (!all) fail_msg("fields: %s", err.text);
    assert_int_equal(json_object_size(all), sim_field_count);
    const char *prev = "";
    const char *name;
    json_t *v;
    json_object_foreach(all, name, v)
    {
        assert_true(strcmp(prev, name) < 0);
        prev = name;
        const sim_field *f = sim_field_find(name);
        assert_non_null(f);
        assert_int_equal(json_object_size(v), 2);
        assert_string_equal(json_string_value(json_object_get(v, "type")), f->type);
        assert_true(json_is_boolean(json_object_get(v, "is_dynamic")));
        assert_int_equal(json_is_true(json_object_get(v, "is_dynamic")), f->rule == SIM_RULE_DYNAMIC);
    }
    json_t *dur = json_object_get(all, "duration");
    assert_string_equal(json_string_value(json_object_get(dur, "type")), "double");
    json_t *cust = json_object_get(all, "customer_id");
    assert_string_equal(json_string_value(json_object_get(cust, "type")), "integer");
    assert_true(json_is_true(json_object_get(cust, "is_dynamic")));
    json_decref(all);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refusals),
        cmocka_unit_test(operators),
        cmocka_unit_test(integers),
        cmocka_unit_test(durations),
        cmocka_unit_test(strings),
        cmocka_unit_test(written),
        cmocka_unit_test(record_walk),
        cmocka_unit_test(fields),
        cmocka_unit_test(durations_of_file_records),
        cmocka_unit_test(may_select),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
