/* test_document: jsonapi/document.c — the active-calls resource object.
 * The seed's first call is fed through the real reply parser as a node
 * record (start_time 1767357798.37, connect_time 1767357840.1, duration
 * 32.93, every attribute of the seed) and written with base
 * http://example.org and node 1; the output must be byte-for-byte the
 * seed's first resource object in compact form (so: compact, same key order,
 * same values), and equal to it as JSON. Also: tags needing JSON and URL
 * escaping (valid JSON, percent-encoded links, id decoding back to the tag),
 * invalid UTF-8 tags, all-null records, nested attribute values, several
 * resources into one buffer with a reused scratch buffer, doc_call_self,
 * and doc_call_size against what the writer writes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonapi/document.h"
#include "model/calls.h"
#include "nodes/reply.h"

/* ---- the seed -------------------------------------------------------------------------- */

#define SEED_TAG "FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86"

/* The seed's first call as its node reports it. */
#define SEED_NODE_RECORD                                                                           \
    "{\"node_id\":1,\"pop_id\":1,\"local_time\":1767357798.37,\"cdr_born_time\":1767357798.37,"    \
    "\"start_time\":1767357798.37,\"end_time\":0,\"connect_time\":1767357840.1,"                   \
    "\"duration\":32.93,\"time_limit\":4909,\"dump_level_id\":0,\"audio_record_enabled\":false,"   \
    "\"attempt_num\":1,\"resources\":\"\",\"active_resources\":\"\",\"active_resources_json\":[]," \
    "\"legA_remote_ip\":\"192.168.88.23\",\"legA_remote_port\":5060,"                              \
    "\"legA_local_ip\":\"192.168.88.23\",\"legA_local_port\":5061,"                                \
    "\"legB_remote_ip\":\"\",\"legB_remote_port\":0,\"legB_local_ip\":\"\",\"legB_local_port\":0," \
    "\"orig_call_id\":\"2141402782-1223087865-286388420\","                                        \
    "\"term_call_id\":\"8-5D73A55A-5CFB77360000494D-19C01700\","                                   \
    "\"local_tag\":\"" SEED_TAG "\",\"global_tag\":\"\","                                          \
    "\"dst_prefix_in\":\"9810441492550028\",\"dst_prefix_routing\":\"3800000000000000000\","       \
    "\"lrn\":null,\"dst_prefix_out\":\"3800000000000000000\",\"src_prefix_in\":\"10317\","         \
    "\"src_prefix_routing\":\"10317\",\"src_prefix_out\":\"10317\",\"diversion_in\":null,"         \
    "\"diversion_out\":null,\"destination_initial_rate\":\"0.11\","                                \
    "\"destination_next_rate\":\"0.11\",\"destination_initial_interval\":1,"                       \
    "\"destination_next_interval\":1,\"destination_fee\":\"0.0\","                                 \
    "\"destination_rate_policy_id\":1,\"dialpeer_initial_rate\":\"0.005\","                        \
    "\"dialpeer_next_rate\":\"0.001\",\"dialpeer_initial_interval\":1,"                            \
    "\"dialpeer_next_interval\":1,\"dialpeer_fee\":\"0.0\",\"customer_id\":5,\"vendor_id\":7,"     \
    "\"customer_acc_id\":11,\"vendor_acc_id\":13,\"customer_auth_id\":17,\"rateplan_id\":19,"      \
    "\"destination_id\":23,\"routing_group_id\":29,\"routing_plan_id\":31,\"dialpeer_id\":37,"     \
    "\"orig_gw_id\":41,\"term_gw_id\":43,\"src_country_id\":47,\"src_network_id\":53,"             \
    "\"dst_country_id\":59,\"dst_network_id\":61,\"disconnect_code\":0}"

/* The seed's first resource object, copied from the seed (compact). */
static const char seed_head[] =
    "{\"id\":\"1*FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86\",\"type\":\"active-calls\","
    "\"links\":{\"self\":\"http://example.org/api/rest/admin/active-calls/1*FC-D0E4-DFE7A0D5E7641EDA"
    "D6E6E9B8FDCEDB91-706EA6CEAC6EBD86\"},\"attributes\":{\"start-time\":\"2026-01-02T12:43:18.000Z\","
    "\"connect-time\":\"2026-01-02T12:44:00.000Z\",\"duration\":32,\"time-limit\":4909,\"dst-prefix-in\":"
    "\"9810441492550028\",\"dst-prefix-routing\":\"3800000000000000000\",\"lrn\":null,\"dst-prefix-out\":"
    "\"3800000000000000000\",\"src-prefix-in\":\"10317\",\"src-prefix-routing\":\"10317\",\"src-prefix-out"
    "\":\"10317\",\"diversion-in\":null,\"diversion-out\":null,\"destination-initial-rate\":\"0.11\",\"dest"
    "ination-next-rate\":\"0.11\",\"destination-initial-interval\":1,\"destination-next-interval\":1,\""
    "destination-fee\":\"0.0\",\"destination-rate-policy-id\":1,\"dialpeer-initial-rate\":\"0.005\",\"dia"
    "lpeer-next-rate\":\"0.001\",\"dialpeer-initial-interval\":1,\"dialpeer-next-interval\":1,\"dialpee"
    "r-fee\":\"0.0\",\"leg-a-remote-ip\":\"192.168.88.23\",\"leg-a-remote-port\":5060,\"orig-call-id\":\"21"
    "41402782-1223087865-286388420\",\"leg-a-local-ip\":\"192.168.88.23\",\"leg-a-local-port\":5061,\"l"
    "ocal-tag\":\"FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86\",\"leg-b-local-ip\":\"\","
    "\"leg-b-local-port\":0,\"term-call-id\":\"8-5D73A55A-5CFB77360000494D-19C01700\",\"leg-b-remote-i"
    "p\":\"\",\"leg-b-remote-port\":0},\"relationships\":{";

#define SEED_SELF "http://example.org/api/rest/admin/active-calls/1*" SEED_TAG
#define SEED_REL(n)                                                                                       \
    "\"" n "\":{\"links\":{\"self\":\"" SEED_SELF "/relationships/" n "\",\"related\":\"" SEED_SELF "/" n \
    "\"}}"

static const char *const seed_rels[] = {
    SEED_REL("customer"),      SEED_REL("vendor"),      SEED_REL("customer-acc"), SEED_REL("vendor-acc"),
    SEED_REL("customer-auth"), SEED_REL("rateplan"),    SEED_REL("destination"),  SEED_REL("routing-group"),
    SEED_REL("routing-plan"),  SEED_REL("dialpeer"),    SEED_REL("orig-gw"),      SEED_REL("term-gw"),
    SEED_REL("src-country"),   SEED_REL("src-network"), SEED_REL("dst-country"),  SEED_REL("dst-network"),
    SEED_REL("pop"),           SEED_REL("node"),
};

/* The expected text, assembled (caller frees). */
static char *seed_first_resource(void)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, seed_head);
    for (size_t i = 0; i < sizeof seed_rels / sizeof seed_rels[0]; i++) {
        if (i) buf_putc(&b, ',');
        buf_puts(&b, seed_rels[i]);
    }
    buf_puts(&b, "}}");
    return buf_steal(&b);
}

/* ---- helpers ------------------------------------------------------------------------------- */

static doc_base base_of(const char *url) { return (doc_base){url, strlen(url)}; }

/* Parses a one-array-of-records reply into cs (reset first). */
static void load(callset *cs, const char *records)
{
    char *json = malloc(strlen(records) + 64);
    assert_non_null(json);
    sprintf(json, "{\"jsonrpc\":\"2.0\",\"result\":[%s],\"id\":5}", records);
    callset_reset(cs);
    reply_parser *p = reply_parser_new(REPLY_EXPECT_CALLS, 5, cs);
    assert_non_null(p);
    reply_outcome o = reply_parser_parse_all(p, json, strlen(json));
    if (o != REPLY_OK) fail_msg("reply refused: %s", reply_parser_detail(p));
    reply_parser_free(p);
    free(json);
}

/* Writes resource i of cs and returns it as a NUL-terminated string. */
static char *write_one(const callset *cs, size_t i, const char *base, int64_t node)
{
    buf out, scratch;
    buf_init(&out);
    buf_init(&scratch);
    doc_call_resource(&out, &scratch, base_of(base), node, cs, &cs->recs[i], &doc_call_all);
    assert_false(out.oom);
    buf_free(&scratch);
    return buf_steal(&out);
}

static json_t *parse(const char *s)
{
    json_error_t err;
    json_t *j = json_loads(s, 0, &err);
    if (!j) fail_msg("not valid JSON (%s at %d): %s", err.text, err.position, s);
    return j;
}

static const char *str_at(json_t *root, const char *a, const char *b, const char *c)
{
    json_t *j = json_object_get(root, a);
    if (b) j = json_object_get(j, b);
    if (c) j = json_object_get(j, c);
    const char *s = json_string_value(j);
    if (!s) fail_msg("no string at %s/%s/%s", a, b ? b : "", c ? c : "");
    return s;
}

/* ---- the seed ------------------------------------------------------------------------------ */

static void test_seed_first_resource_exact(void **state)
{
    callset cs;
    callset_init(&cs);
    load(&cs, SEED_NODE_RECORD);
    assert_int_equal(cs.n, 1);
    char *got = write_one(&cs, 0, "http://example.org", 1);
    char *want = seed_first_resource();
    /* byte-exact: compact, keys in the seed's order, same values */
    if (strcmp(got, want) != 0) {
        size_t i = 0;
        while (got[i] && got[i] == want[i]) i++;
        fail_msg("differs at byte %zu:\n got: %.80s\nwant: %.80s", i, got + i, want + i);
    }
    /* and equal as JSON */
    json_t *jg = parse(got), *jw = parse(want);
    assert_true(json_equal(jg, jw));
    json_decref(jg);
    json_decref(jw);
    free(got);
    free(want);
    callset_free(&cs);
}

/* Cross-check against the shared test data when it is there. */
static void test_seed_listing_file(void **state)
{
    const char *root = getenv("AC_SOURCE_DIR");
    if (!root) skip();
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/seed_listing.json", root);
    json_error_t err;
    json_t *listing = json_load_file(path, 0, &err);
    if (!listing) skip();
    json_t *first = json_array_get(json_object_get(listing, "data"), 0);
    assert_non_null(first);
    callset cs;
    callset_init(&cs);
    load(&cs, SEED_NODE_RECORD);
    char *got = write_one(&cs, 0, "http://example.org", 1);
    json_t *jg = parse(got);
    assert_true(json_equal(jg, first));
    json_decref(jg);
    json_decref(listing);
    free(got);
    callset_free(&cs);
}

static void test_structure_and_order(void **state)
{
    callset cs;
    callset_init(&cs);
    load(&cs, SEED_NODE_RECORD);
    char *got = write_one(&cs, 0, "http://example.org", 1);
    /* top-level keys in order */
    const char *p_id = strstr(got, "{\"id\":");
    const char *p_type = strstr(got, ",\"type\":\"active-calls\"");
    const char *p_links = strstr(got, ",\"links\":{\"self\":");
    const char *p_attr = strstr(got, ",\"attributes\":{");
    const char *p_rel = strstr(got, ",\"relationships\":{");
    assert_ptr_equal(p_id, got);
    assert_true(p_id < p_type && p_type < p_links && p_links < p_attr && p_attr < p_rel);
    /* the 35 attributes in table order, the 18 relationships likewise */
    const char *prev = p_attr;
    for (int a = 0; a < ATTR_COUNT; a++) {
        char key[64];
        snprintf(key, sizeof key, "%c\"%s\":", a ? ',' : '{', call_attrs[a].name);
        const char *at = strstr(prev, key);
        if (!at || at > p_rel) fail_msg("attribute %s missing or out of order", call_attrs[a].name);
        prev = at;
    }
    prev = p_rel;
    for (int k = 0; k < REL_COUNT; k++) {
        char key[64];
        snprintf(key, sizeof key, "%c\"%s\":{\"links\":", k ? ',' : '{', call_rels[k].name);
        const char *at = strstr(prev, key);
        if (!at) fail_msg("relationship %s missing or out of order", call_rels[k].name);
        prev = at;
    }
    /* no whitespace anywhere (the seed's values contain none) */
    for (const char *c = got; *c; c++) assert_false(*c == ' ' || *c == '\n' || *c == '\t' || *c == '\r');

    json_t *j = parse(got);
    assert_int_equal(json_object_size(j), 5);
    assert_int_equal(json_object_size(json_object_get(j, "attributes")), ATTR_COUNT);
    json_t *rels = json_object_get(j, "relationships");
    assert_int_equal(json_object_size(rels), REL_COUNT);
    /* without include: links only, no linkage data */
    for (int k = 0; k < REL_COUNT; k++) {
        json_t *r = json_object_get(rels, call_rels[k].name);
        assert_int_equal(json_object_size(r), 1);
        assert_int_equal(json_object_size(json_object_get(r, "links")), 2);
    }
    json_decref(j);
    free(got);
    callset_free(&cs);
}

/* ---- escaping -------------------------------------------------------------------------------- */

static void test_tag_needing_escapes(void **state)
{
    callset cs;
    callset_init(&cs);
    /* space, slash, quote, backslash, percent, é, ?, #, a control char, '*' */
    load(&cs, "{\"local_tag\":\"a b/\\\"c\\\\%\\u00e9?#\\u0001*z\"}");
    const char raw[] = "a b/\"c\\%\xc3\xa9?#\x01*z";
    assert_int_equal(cs.recs[0].tag.len, sizeof raw - 1);
    char *got = write_one(&cs, 0, "http://example.org", 3);
    json_t *j = parse(got);

    char want_id[64];
    snprintf(want_id, sizeof want_id, "3*%s", raw);
    assert_string_equal(str_at(j, "id", NULL, NULL), want_id);
    assert_string_equal(str_at(j, "attributes", "local-tag", NULL), raw);

    const char *self = "http://example.org/api/rest/admin/active-calls/3*a%20b%2F%22c%5C%25%C3%A9%3F%23%01*z";
    assert_string_equal(str_at(j, "links", "self", NULL), self);
    /* the link is written without any JSON escape (it needs none) */
    assert_non_null(strstr(got, self));
    char want[256];
    json_t *rels = json_object_get(j, "relationships");
    for (int k = 0; k < REL_COUNT; k++) {
        json_t *links = json_object_get(json_object_get(rels, call_rels[k].name), "links");
        snprintf(want, sizeof want, "%s/relationships/%s", self, call_rels[k].name);
        assert_string_equal(json_string_value(json_object_get(links, "self")), want);
        snprintf(want, sizeof want, "%s/%s", self, call_rels[k].name);
        assert_string_equal(json_string_value(json_object_get(links, "related")), want);
    }
    json_decref(j);
    free(got);
    callset_free(&cs);
}

static void test_tag_invalid_utf8(void **state)
{
    callset cs;
    callset_init(&cs);
    load(&cs, "{\"local_tag\":\"x\xff\xc3\"}");
    char *got = write_one(&cs, 0, "http://example.org", 1);
    json_t *j = parse(got); /* jansson refuses invalid UTF-8: this proves there is none */
    assert_string_equal(str_at(j, "id", NULL, NULL), "1*x\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(str_at(j, "links", "self", NULL),
                        "http://example.org/api/rest/admin/active-calls/1*x%FF%C3");
    json_decref(j);
    free(got);
    callset_free(&cs);
}

static void test_tag_with_nul(void **state)
{
    callset cs;
    callset_init(&cs);
    load(&cs, "{\"local_tag\":\"a\\u0000b\"}");
    char *got = write_one(&cs, 0, "http://example.org", 1);
    json_error_t err;
    json_t *j = json_loads(got, JSON_ALLOW_NUL, &err);
    assert_non_null(j);
    json_t *id = json_object_get(j, "id");
    assert_int_equal(json_string_length(id), 5);
    assert_memory_equal(json_string_value(id), "1*a\0b", 5);
    assert_string_equal(str_at(j, "links", "self", NULL),
                        "http://example.org/api/rest/admin/active-calls/1*a%00b");
    json_decref(j);
    free(got);
    callset_free(&cs);
}

/* ---- other records ------------------------------------------------------------------------------ */

static void test_all_null_record(void **state)
{
    callset cs;
    callset_init(&cs);
    load(&cs, "{\"local_tag\":\"t\"}");
    char *got = write_one(&cs, 0, "http://h", 2);
    json_t *j = parse(got);
    json_t *attrs = json_object_get(j, "attributes");
    assert_int_equal(json_object_size(attrs), ATTR_COUNT);
    for (int a = 0; a < ATTR_COUNT; a++) {
        json_t *v = json_object_get(attrs, call_attrs[a].name);
        assert_non_null(v);
        if (a == ATTR_LOCAL_TAG)
            assert_string_equal(json_string_value(v), "t");
        else
            assert_true(json_is_null(v));
    }
    assert_string_equal(str_at(j, "id", NULL, NULL), "2*t");
    json_decref(j);
    free(got);
    callset_free(&cs);
}

static void test_nested_and_odd_values(void **state)
{
    callset cs;
    callset_init(&cs);
    load(&cs,
         "{\"local_tag\":\"t\",\"orig_call_id\":{\"a\":[1,{\"b\":null}],\"c\":\"x\"},"
         "\"lrn\":\"q\\\"\\n\",\"time_limit\":1e2,\"duration\":null,\"diversion_in\":true}");
    char *got = write_one(&cs, 0, "http://h", 1);
    assert_non_null(strstr(got, "\"orig-call-id\":{\"a\":[1,{\"b\":null}],\"c\":\"x\"}"));
    assert_non_null(strstr(got, "\"lrn\":\"q\\\"\\n\""));
    assert_non_null(strstr(got, "\"time-limit\":1e2,"));
    assert_non_null(strstr(got, "\"duration\":null,"));
    assert_non_null(strstr(got, "\"diversion-in\":true,"));
    json_t *j = parse(got);
    assert_string_equal(str_at(j, "attributes", "lrn", NULL), "q\"\n");
    json_decref(j);
    free(got);
    callset_free(&cs);
}

static void test_several_resources_one_buffer(void **state)
{
    callset cs;
    callset_init(&cs);
    load(&cs,
         "{\"local_tag\":\"first\",\"duration\":1},{\"local_tag\":\"a-much-longer-second-tag-"
         "0123456789012345678901234567890123456789\",\"duration\":2},{\"local_tag\":\"3\",\"duration\":3}");
    assert_int_equal(cs.n, 3);
    buf out, scratch;
    buf_init(&out);
    buf_init(&scratch);
    buf_puts(&out, "{\"data\":[");
    for (size_t i = 0; i < cs.n; i++) {
        if (i) buf_putc(&out, ',');
        doc_call_resource(&out, &scratch, base_of("https://calls.example.net:8443"), (int64_t)i + 7, &cs,
                          &cs.recs[i], &doc_call_all);
    }
    buf_puts(&out, "]}");
    buf_putc(&out, '\0');
    json_t *j = parse(out.data);
    json_t *data = json_object_get(j, "data");
    assert_int_equal(json_array_size(data), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(data, 0), "id")), "7*first");
    assert_string_equal(json_string_value(json_object_get(json_array_get(data, 1), "id")),
                        "8*a-much-longer-second-tag-0123456789012345678901234567890123456789");
    assert_string_equal(json_string_value(json_object_get(json_array_get(data, 2), "id")), "9*3");
    /* the reused scratch buffer never leaks one call's link into another */
    json_t *third = json_array_get(data, 2);
    assert_string_equal(str_at(third, "links", "self", NULL),
                        "https://calls.example.net:8443/api/rest/admin/active-calls/9*3");
    json_t *node_links =
        json_object_get(json_object_get(json_object_get(third, "relationships"), "node"), "links");
    assert_string_equal(json_string_value(json_object_get(node_links, "related")),
                        "https://calls.example.net:8443/api/rest/admin/active-calls/9*3/node");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(third, "attributes"), "duration")),
                     3);
    json_decref(j);
    buf_free(&out);
    buf_free(&scratch);
    callset_free(&cs);
}

static void test_many_records_and_big_node_id(void **state)
{
    callset cs;
    callset_init(&cs);
    buf recs;
    buf_init(&recs);
    for (int i = 0; i < 2000; i++)
        buf_printf(&recs, "%s{\"local_tag\":\"tag-%d\",\"duration\":%d,\"orig_call_id\":\"c%d\"}",
                   i ? "," : "", i, i, i);
    buf_putc(&recs, '\0');
    load(&cs, recs.data);
    assert_int_equal(cs.n, 2000);
    buf out, scratch;
    buf_init(&out);
    buf_init(&scratch);
    buf_putc(&out, '[');
    for (size_t i = 0; i < cs.n; i++) {
        if (i) buf_putc(&out, ',');
        doc_call_resource(&out, &scratch, base_of("http://h"), INT64_MAX, &cs, &cs.recs[i], &doc_call_all);
    }
    buf_putc(&out, ']');
    buf_putc(&out, '\0');
    json_t *j = parse(out.data);
    assert_int_equal(json_array_size(j), 2000);
    char want[64];
    for (size_t i = 0; i < 2000; i += 199) {
        json_t *r = json_array_get(j, i);
        snprintf(want, sizeof want, "9223372036854775807*tag-%zu", i);
        assert_string_equal(json_string_value(json_object_get(r, "id")), want);
        snprintf(want, sizeof want, "c%zu", i);
        assert_string_equal(str_at(r, "attributes", "orig-call-id", NULL), want);
    }
    json_decref(j);
    buf_free(&recs);
    buf_free(&out);
    buf_free(&scratch);
    callset_free(&cs);
}

static void test_doc_call_self(void **state)
{
    buf b;
    buf_init(&b);
    doc_call_self(&b, base_of("http://127.0.0.1:8080"), 12, "x y", 3);
    buf_putc(&b, '\0');
    assert_string_equal(b.data, "http://127.0.0.1:8080/api/rest/admin/active-calls/12*x%20y");
    /* appends, and the base length is honoured (not the C string) */
    b.len--;
    doc_call_self(&b, (doc_base){"http://[::1]:80/ignored", 15}, 1, "a*b", 3);
    buf_putc(&b, '\0');
    assert_string_equal(b.data,
                        "http://127.0.0.1:8080/api/rest/admin/active-calls/12*x%20y"
                        "http://[::1]:80/api/rest/admin/active-calls/1*a*b");
    buf_reset(&b);
    doc_call_self(&b, base_of("http://example.org"), 1, SEED_TAG, strlen(SEED_TAG));
    buf_putc(&b, '\0');
    assert_string_equal(b.data, SEED_SELF);
    buf_free(&b);
}

/* ---- sizes --------------------------------------------------------------------------------- */

/* doc_call_size is exactly what doc_call_resource writes: for odd tags and
 * values, every field set and link set tried at random (fixed seed), node
 * ids of every length, short and long bases. */
static void test_call_size_matches_writer(void **state)
{
    callset cs;
    callset_init(&cs);
    load(&cs,
         SEED_NODE_RECORD
         ","
         "{\"local_tag\":\"a "
         "b/\\\"c\\\\%\\u00e9?#\\u0001*z\",\"customer_id\":-5,\"vendor_id\":\"9223372036854775807\"},"
         "{\"local_tag\":\"x\xff\xc3\",\"duration\":null,\"lrn\":{\"a\":[1,\"\\n\"]},\"pop_id\":0},"
         "{\"local_tag\":\"a\\u0000b\",\"dst_network_id\":-9223372036854775808},"
         "{\"local_tag\":\"t\"},"
         "{\"local_tag\":\"\\\"\\\\\\b\\f\\n\\r\\t\\u001f\",\"customer_acc_id\":123456789012}");
    assert_int_equal(cs.n, 6);
    static const char *const bases[] = {
        "http://h", "http://example.org:8080",
        "https://a-rather-long-public-host-name.example.com:44300/some/prefix"};
    static const int64_t nodes[] = {0, 1, 7, 42, 1000000, INT64_MAX};
    uint64_t rng = 12345;
    buf out, scratch;
    buf_init(&out);
    buf_init(&scratch);
    buf_puts(&out, "{\"data\":["); /* sizes do not depend on what the buffer already holds */
    for (int round = 0; round < 400; round++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        doc_call_opts o = doc_call_all;
        if (round % 4 == 1) o.fields = rng >> 11; /* some fields */
        if (round % 4 == 2) o.fields = 0;         /* none */
        if (round % 2 == 1) o.linkage = (uint32_t)(rng >> 40) & ((1u << REL_COUNT) - 1);
        if (round % 8 == 3) o.linkage = (1u << REL_COUNT) - 1; /* every relationship */
        doc_base base = base_of(bases[round % 3]);
        int64_t node = nodes[(round / 3) % 6];
        doc_call_sizer z;
        doc_call_sizer_init(&z, base, node, &o);
        for (size_t i = 0; i < cs.n; i++) {
            size_t before = out.len;
            doc_call_resource(&out, &scratch, base, node, &cs, &cs.recs[i], &o);
            size_t want = out.len - before, got = doc_call_size(&z, &cs, &cs.recs[i]);
            if (got != want)
                fail_msg("record %zu, node %lld, base %s, fields %llx, linkage %x: size %zu, wrote %zu", i,
                         (long long)node, base.url, (unsigned long long)o.fields, o.linkage, got, want);
        }
        if (out.len > (1u << 20)) buf_reset(&out);
    }
    assert_false(out.oom);
    buf_free(&out);
    buf_free(&scratch);
    callset_free(&cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_first_resource_exact),
        cmocka_unit_test(test_seed_listing_file),
        cmocka_unit_test(test_structure_and_order),
        cmocka_unit_test(test_tag_needing_escapes),
        cmocka_unit_test(test_tag_invalid_utf8),
        cmocka_unit_test(test_tag_with_nul),
        cmocka_unit_test(test_all_null_record),
        cmocka_unit_test(test_nested_and_odd_values),
        cmocka_unit_test(test_several_resources_one_buffer),
        cmocka_unit_test(test_many_records_and_big_node_id),
        cmocka_unit_test(test_doc_call_self),
        cmocka_unit_test(test_call_size_matches_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
