/* test_reply: nodes/reply.c and nodes/calls.c — the JSON-RPC reply parser
 * that turns a node's `yeti.show.calls` answer into a callset.
 *
 * Covers: a realistic two-call reply like the seed's, fed whole, in fixed
 * and in random chunk sizes, and through reply_parser_parse_all, with
 * byte-identical results; every attribute's rendering
 * (times formatted, durations truncated, null, strings re-escaped incl.
 * control characters, quotes and invalid UTF-8, numbers as given, missing
 * fields, nested objects/arrays re-serialised exactly); relationship ids
 * (integers, integer strings; anything else → CALL_ID_NONE); records without
 * a string local_tag skipped and counted; JSON-RPC errors (code, message);
 * invalid replies (not JSON, truncated, wrong shapes, wrong/missing id) →
 * REPLY_INVALID with a detail; REPLY_EXPECT_ANY results; unknown fields;
 * duplicate keys (refused where the service reads the member, allowed
 * elsewhere); the limit on records per reply; keys in changing order; deep nesting in
 * ignored and in printed fields; "not JSON" details with byte offsets; what
 * feed refuses early; times and durations truncated exactly as
 * timefmt_parse_seconds does; and the calls.c tables and callset container.
 * Every non-null rendered attribute is checked to be valid JSON with
 * jansson. (test_reply_fuzz compares the parser with yajl and with
 * generated replies.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/calls.h"
#include "nodes/reply_internal.h"
#include "util/timefmt.h"

/* ---- the seed's two calls as a node sends them ----------------------------------- */

#define TAG1 "FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86"
#define TAG2 "03-3D73-55FA51B805CDE1BACF2FB0ED76C3D37B-2962144B354702AF"

#define COMMON_FIELDS                                                                              \
    "\"time_limit\":4909,\"dump_level_id\":0,\"audio_record_enabled\":false,"                      \
    "\"attempt_num\":1,\"resources\":\"\",\"active_resources\":\"\","                              \
    "\"active_resources_json\":[{\"id\":1,\"taken\":[true,null]}],"                                \
    "\"legA_remote_ip\":\"192.168.88.23\",\"legA_remote_port\":5060,"                              \
    "\"legA_local_ip\":\"192.168.88.23\",\"legA_local_port\":5061,"                                \
    "\"legB_remote_ip\":\"\",\"legB_remote_port\":0,\"legB_local_ip\":\"\",\"legB_local_port\":0," \
    "\"orig_call_id\":\"2141402782-1223087865-286388420\","                                        \
    "\"term_call_id\":\"8-5D73A55A-5CFB77360000494D-19C01700\","                                   \
    "\"dst_prefix_in\":\"9810441492550028\",\"dst_prefix_routing\":\"3800000000000000000\","       \
    "\"lrn\":null,\"dst_prefix_out\":\"3800000000000000000\","                                     \
    "\"src_prefix_in\":\"10317\",\"src_prefix_routing\":\"10317\",\"src_prefix_out\":\"10317\","   \
    "\"diversion_in\":null,\"diversion_out\":null,"                                                \
    "\"destination_initial_rate\":\"0.11\",\"destination_next_rate\":\"0.11\","                    \
    "\"destination_initial_interval\":1,\"destination_next_interval\":1,"                          \
    "\"destination_fee\":\"0.0\",\"destination_rate_policy_id\":1,"                                \
    "\"dialpeer_initial_rate\":\"0.005\",\"dialpeer_next_rate\":\"0.001\","                        \
    "\"dialpeer_initial_interval\":1,\"dialpeer_next_interval\":1,\"dialpeer_fee\":\"0.0\","       \
    "\"disconnect_code\":0,\"disconnect_reason\":\"\",\"global_tag\":\"g-1\","

#define REC1                                                                                      \
    "{\"node_id\":1,\"pop_id\":4,\"local_time\":1767357798.871,\"cdr_born_time\":1767357798.871," \
    "\"start_time\":1767357798.37,\"end_time\":0,\"connect_time\":1767357840.1,"                  \
    "\"duration\":32.93," COMMON_FIELDS                                                           \
    "\"customer_id\":5,\"vendor_id\":7,\"customer_acc_id\":11,\"vendor_acc_id\":13,"              \
    "\"customer_auth_id\":17,\"rateplan_id\":19,\"destination_id\":23,\"routing_group_id\":29,"   \
    "\"routing_plan_id\":31,\"dialpeer_id\":37,\"orig_gw_id\":41,\"term_gw_id\":43,"              \
    "\"src_country_id\":47,\"src_network_id\":53,\"dst_country_id\":59,\"dst_network_id\":61,"    \
    "\"local_tag\":\"" TAG1 "\"}"

#define REC2                                                                                   \
    "{\"local_tag\":\"" TAG2 "\",\"node_id\":1,\"pop_id\":4,\"start_time\":1767357806.2,"      \
    "\"connect_time\":1767357840.5,\"end_time\":0,\"duration\":35.001," COMMON_FIELDS          \
    "\"customer_id\":\"105\",\"vendor_id\":107,\"customer_acc_id\":111,\"vendor_acc_id\":113," \
    "\"customer_auth_id\":117,\"rateplan_id\":119,\"destination_id\":123,"                     \
    "\"routing_group_id\":129,\"routing_plan_id\":131,\"dialpeer_id\":137,\"orig_gw_id\":141," \
    "\"term_gw_id\":143,\"src_country_id\":147,\"src_network_id\":153,\"dst_country_id\":159," \
    "\"dst_network_id\":161}"

#define SEED_REPLY "{\"jsonrpc\":\"2.0\",\"result\":[" REC1 "," REC2 "],\"id\":42}"

/* Expected attribute text, in document order (NULL = null). */
static const char *const rec1_attrs[ATTR_COUNT] = {
    "\"2026-01-02T12:43:18.000Z\"",
    "\"2026-01-02T12:44:00.000Z\"",
    "32",
    "4909",
    "\"9810441492550028\"",
    "\"3800000000000000000\"",
    NULL,
    "\"3800000000000000000\"",
    "\"10317\"",
    "\"10317\"",
    "\"10317\"",
    NULL,
    NULL,
    "\"0.11\"",
    "\"0.11\"",
    "1",
    "1",
    "\"0.0\"",
    "1",
    "\"0.005\"",
    "\"0.001\"",
    "1",
    "1",
    "\"0.0\"",
    "\"192.168.88.23\"",
    "5060",
    "\"2141402782-1223087865-286388420\"",
    "\"192.168.88.23\"",
    "5061",
    "\"" TAG1 "\"",
    "\"\"",
    "0",
    "\"8-5D73A55A-5CFB77360000494D-19C01700\"",
    "\"\"",
    "0",
};

static const int64_t rec1_rels[REL_FROM_RECORD] = {5,  7,  11, 13, 17, 19, 23, 29, 31,
                                                   37, 41, 43, 47, 53, 59, 61, 4};
static const int64_t rec2_rels[REL_FROM_RECORD] = {105, 107, 111, 113, 117, 119, 123, 129, 131,
                                                   137, 141, 143, 147, 153, 159, 161, 4};

/* ---- helpers ------------------------------------------------------------------------ */

typedef struct run_result {
    reply_outcome outcome;
    int feed_rc; /* -1 if some feed refused */
    char detail[512];
    int64_t code;
    bool has_int;
    int64_t ival;
} run_result;

/* Parses len bytes of json in chunks of `chunk` bytes (0 = whole). */
static run_result run_len(const char *json, size_t len, size_t chunk, reply_expect ex, int64_t id,
                          callset *cs)
{
    run_result r;
    memset(&r, 0, sizeof r);
    reply_parser *p = reply_parser_new(ex, id, cs);
    assert_non_null(p);
    if (chunk == 0) chunk = len ? len : 1;
    for (size_t off = 0; off < len; off += chunk) {
        size_t k = len - off < chunk ? len - off : chunk;
        if (reply_parser_feed(p, json + off, k) != 0) {
            r.feed_rc = -1;
            break;
        }
    }
    r.outcome = reply_parser_finish(p);
    snprintf(r.detail, sizeof r.detail, "%s", reply_parser_detail(p));
    r.code = reply_parser_rpc_code(p);
    r.ival = -777;
    r.has_int = reply_parser_int_result(p, &r.ival);
    reply_parser_free(p);
    return r;
}

static run_result run(const char *json, size_t chunk, reply_expect ex, int64_t id, callset *cs)
{
    return run_len(json, strlen(json), chunk, ex, id, cs);
}

/* Parses a one-record reply (id 1) whole; the callset is reset first. */
static const call_record *one(callset *cs, const char *record)
{
    char *json = malloc(strlen(record) + 64);
    assert_non_null(json);
    sprintf(json, "{\"jsonrpc\":\"2.0\",\"result\":[%s],\"id\":1}", record);
    callset_reset(cs);
    run_result r = run(json, 0, REPLY_EXPECT_CALLS, 1, cs);
    if (r.outcome != REPLY_OK) fail_msg("record %s: outcome %d (%s)", record, r.outcome, r.detail);
    free(json);
    assert_int_equal(cs->n, 1);
    return &cs->recs[0];
}

/* The span's text, NUL-terminated (static storage), or NULL for null. */
static const char *span_text(const callset *cs, call_span s)
{
    static char out[8192];
    if (s.len == 0) return NULL;
    assert_true(s.len < sizeof out);
    assert_true((size_t)s.off + s.len <= cs->arena.len);
    memcpy(out, callset_text(cs, s), s.len);
    out[s.len] = '\0';
    return out;
}

static void assert_attr(const callset *cs, const call_record *r, int a, const char *want)
{
    const char *got = span_text(cs, r->attr[a]);
    if (!want && !got) return;
    if (!want) fail_msg("%s: got %s, want null", call_attrs[a].name, got);
    if (!got) fail_msg("%s: got null, want %s", call_attrs[a].name, want);
    if (strcmp(got, want) != 0) fail_msg("%s: got %s, want %s", call_attrs[a].name, got, want);
}

static void assert_tag(const callset *cs, const call_record *r, const char *want, size_t n)
{
    assert_int_equal(r->tag.len, n);
    assert_memory_equal(callset_text(cs, r->tag), want, n);
}

/* Every non-null attribute of every record is one valid JSON value. */
static void assert_spans_valid_json(const callset *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        for (int a = 0; a < ATTR_COUNT; a++) {
            call_span s = cs->recs[i].attr[a];
            if (!s.len) continue;
            json_error_t err;
            json_t *j = json_loadb(callset_text(cs, s), s.len,
                                   JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
            if (!j)
                fail_msg("record %zu %s: '%.*s' is not JSON (%s)", i, call_attrs[a].name, (int)s.len,
                         callset_text(cs, s), err.text);
            json_decref(j);
        }
    }
}

static void assert_seed_records(const callset *cs)
{
    assert_int_equal(cs->n, 2);
    assert_int_equal(cs->skipped, 0);
    const call_record *r1 = &cs->recs[0], *r2 = &cs->recs[1];
    for (int a = 0; a < ATTR_COUNT; a++) assert_attr(cs, r1, a, rec1_attrs[a]);
    assert_tag(cs, r1, TAG1, strlen(TAG1));
    assert_int_equal(r1->duration, 32);
    for (int k = 0; k < REL_FROM_RECORD; k++) assert_int_equal(r1->rel_id[k], rec1_rels[k]);

    /* the second call differs in times, duration, tag and ids */
    for (int a = 0; a < ATTR_COUNT; a++) {
        const char *want = rec1_attrs[a];
        if (a == ATTR_START_TIME) want = "\"2026-01-02T12:43:26.000Z\"";
        if (a == ATTR_DURATION) want = "35";
        if (a == ATTR_LOCAL_TAG) want = "\"" TAG2 "\"";
        assert_attr(cs, r2, a, want);
    }
    assert_tag(cs, r2, TAG2, strlen(TAG2));
    assert_int_equal(r2->duration, 35);
    for (int k = 0; k < REL_FROM_RECORD; k++) assert_int_equal(r2->rel_id[k], rec2_rels[k]);
    assert_spans_valid_json(cs);
}

static void invalid(const char *json, int64_t id, const char *detail_part)
{
    size_t chunks[] = {0, 1, 5};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        callset cs;
        callset_init(&cs);
        run_result r = run(json, chunks[i], REPLY_EXPECT_CALLS, id, &cs);
        callset_free(&cs);
        if (r.outcome != REPLY_INVALID)
            fail_msg("'%s' (chunk %zu): outcome %d, want REPLY_INVALID", json, chunks[i], r.outcome);
        if (r.detail[0] == '\0') fail_msg("'%s': empty detail", json);
        if (detail_part && !strstr(r.detail, detail_part))
            fail_msg("'%s': detail '%s' lacks '%s'", json, r.detail, detail_part);
    }
}

/* ---- calls.c ------------------------------------------------------------------------ */

static void test_tables(void **state)
{
    assert_int_equal(ATTR_COUNT, 35);
    assert_int_equal(REL_COUNT, 18);
    assert_string_equal(call_attrs[ATTR_START_TIME].name, "start-time");
    assert_string_equal(call_attrs[ATTR_LEG_A_REMOTE_IP].field, "legA_remote_ip");
    assert_string_equal(call_attrs[ATTR_LEG_B_REMOTE_PORT].name, "leg-b-remote-port");
    assert_string_equal(call_rels[REL_ROUTING_PLAN].type, "routing-plans"); /* not the anchor's defect */
    assert_string_equal(call_rels[REL_CUSTOMER_AUTH].type, "customers-auths");
    assert_string_equal(call_rels[REL_POP].field, "pop_id");
    assert_null(call_rels[REL_NODE].field);
    assert_string_equal(call_rels[REL_NODE].type, "nodes");
    for (int a = 0; a < ATTR_COUNT; a++) {
        const char *n = call_attrs[a].name;
        assert_int_equal(call_attr_index(n, strlen(n)), a);
    }
    for (int k = 0; k < REL_COUNT; k++) {
        const char *n = call_rels[k].name;
        assert_int_equal(call_rel_index(n, strlen(n)), k);
    }
    assert_int_equal(call_attr_index("start_time", 10), -1); /* node field, not API name */
    assert_int_equal(call_attr_index("start-tim", 9), -1);
    assert_int_equal(call_attr_index("start-timex", 11), -1);
    assert_int_equal(call_attr_index("", 0), -1);
    assert_int_equal(call_attr_index("durationXX", 8), ATTR_DURATION); /* by length */
    assert_int_equal(call_rel_index("customer-acc", 8), REL_CUSTOMER);
    assert_int_equal(call_rel_index("nodes", 5), -1);
}

static void test_callset_container(void **state)
{
    callset cs;
    callset_init(&cs);
    assert_int_equal(cs.n, 0);
    for (int i = 0; i < 1000; i++) {
        call_record *r = callset_push(&cs);
        assert_non_null(r);
        /* a pushed record is all null/absent */
        for (int a = 0; a < ATTR_COUNT; a++) assert_int_equal(r->attr[a].len, 0);
        assert_int_equal(r->tag.len, 0);
        for (int k = 0; k < REL_FROM_RECORD; k++) assert_true(r->rel_id[k] == CALL_ID_NONE);
        assert_true(r->duration == CALL_DURATION_NULL);
        r->duration = i;
        r->rel_id[0] = 77; /* dirty it: a reused slot must come back clean */
    }
    assert_int_equal(cs.n, 1000);
    for (int i = 0; i < 1000; i++) assert_int_equal(cs.recs[i].duration, i);
    callset_pop(&cs);
    assert_int_equal(cs.n, 999);
    call_record *r = callset_push(&cs);
    assert_true(r->duration == CALL_DURATION_NULL);
    assert_true(r->rel_id[0] == CALL_ID_NONE);
    cs.skipped = 3;
    buf_puts(&cs.arena, "text");
    callset_reset(&cs);
    assert_int_equal(cs.n, 0);
    assert_int_equal(cs.skipped, 0);
    assert_int_equal(cs.arena.len, 0);
    callset_pop(&cs); /* popping an empty set is harmless */
    assert_int_equal(cs.n, 0);
    callset_free(&cs);
    callset_free(&cs);
}

/* ---- the realistic reply --------------------------------------------------------------- */

static void test_seed_reply_whole(void **state)
{
    callset cs;
    callset_init(&cs);
    run_result r = run(SEED_REPLY, 0, REPLY_EXPECT_CALLS, 42, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    assert_int_equal(r.feed_rc, 0);
    assert_string_equal(r.detail, "");
    assert_false(r.has_int);
    assert_seed_records(&cs);
    callset_free(&cs);
}

static void test_seed_reply_chunked(void **state)
{
    callset whole;
    callset_init(&whole);
    assert_int_equal(run(SEED_REPLY, 0, REPLY_EXPECT_CALLS, 42, &whole).outcome, REPLY_OK);
    size_t chunks[] = {1, 2, 3, 7, 64, 1000};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        callset cs;
        callset_init(&cs);
        run_result r = run(SEED_REPLY, chunks[i], REPLY_EXPECT_CALLS, 42, &cs);
        assert_int_equal(r.outcome, REPLY_OK);
        assert_seed_records(&cs);
        /* byte-identical arena and records */
        assert_int_equal(cs.arena.len, whole.arena.len);
        assert_memory_equal(cs.arena.data, whole.arena.data, whole.arena.len);
        assert_memory_equal(cs.recs, whole.recs, 2 * sizeof *cs.recs);
        callset_free(&cs);
    }
    callset_free(&whole);
}

static void test_seed_reply_pretty_printed(void **state)
{
    /* whitespace between tokens does not change anything */
    json_error_t err;
    json_t *j = json_loads(SEED_REPLY, 0, &err);
    assert_non_null(j);
    char *pretty = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    assert_non_null(pretty);
    json_decref(j);
    callset cs;
    callset_init(&cs);
    run_result r = run(pretty, 3, REPLY_EXPECT_CALLS, 42, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    /* jansson re-prints 1767357798.37 etc. possibly differently, but the
     * truncated values are the same */
    assert_seed_records(&cs);
    free(pretty);
    callset_free(&cs);
}

static void test_many_records(void **state)
{
    buf json;
    buf_init(&json);
    buf_puts(&json, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":[");
    for (int i = 0; i < 5000; i++) {
        if (i) buf_putc(&json, ',');
        buf_printf(&json, "{\"local_tag\":\"t-%d\",\"duration\":%d.5,\"customer_id\":%d}", i, i, i % 7);
    }
    buf_puts(&json, "]}");
    callset cs;
    callset_init(&cs);
    run_result r = run_len(json.data, json.len, 4096, REPLY_EXPECT_CALLS, 9, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    assert_int_equal(cs.n, 5000);
    char want[32];
    for (int i = 0; i < 5000; i++) {
        const call_record *rec = &cs.recs[i];
        snprintf(want, sizeof want, "t-%d", i);
        assert_tag(&cs, rec, want, strlen(want));
        assert_int_equal(rec->duration, i);
        assert_int_equal(rec->rel_id[REL_CUSTOMER], i % 7);
        snprintf(want, sizeof want, "%d", i);
        assert_attr(&cs, rec, ATTR_DURATION, want);
        assert_attr(&cs, rec, ATTR_START_TIME, NULL);
    }
    buf_free(&json);
    callset_free(&cs);
}

static void test_callset_not_reset_between_replies(void **state)
{
    callset cs;
    callset_init(&cs);
    assert_int_equal(
        run("{\"jsonrpc\":\"2.0\",\"result\":[{\"local_tag\":\"a\"},{\"local_tag\":\"b\"}],\"id\":1}", 0,
            REPLY_EXPECT_CALLS, 1, &cs)
            .outcome,
        REPLY_OK);
    assert_int_equal(run("{\"jsonrpc\":\"2.0\",\"result\":[{\"local_tag\":\"c\"},{\"x\":1}],\"id\":2}", 0,
                         REPLY_EXPECT_CALLS, 2, &cs)
                         .outcome,
                     REPLY_OK);
    assert_int_equal(cs.n, 3);
    assert_int_equal(cs.skipped, 1);
    assert_tag(&cs, &cs.recs[0], "a", 1);
    assert_tag(&cs, &cs.recs[1], "b", 1);
    assert_tag(&cs, &cs.recs[2], "c", 1);
    assert_attr(&cs, &cs.recs[2], ATTR_LOCAL_TAG, "\"c\"");
    callset_free(&cs);
}

static void test_empty_result(void **state)
{
    callset cs;
    callset_init(&cs);
    run_result r = run("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":1}", 0, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    assert_int_equal(cs.n, 0);
    assert_int_equal(cs.skipped, 0);
    /* id first, result last, whitespace everywhere */
    r = run(" \n{ \"id\" : 1 ,\t\"result\" : [ ] , \"jsonrpc\" : \"2.0\" } \n", 1, REPLY_EXPECT_CALLS, 1,
            &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    assert_int_equal(cs.n, 0);
    callset_free(&cs);
}

/* ---- attribute rendering ------------------------------------------------------------------ */

static void test_times(void **state)
{
    callset cs;
    callset_init(&cs);
    const call_record *r;
    r = one(&cs, "{\"local_tag\":\"t\",\"start_time\":1767357798.999,\"connect_time\":1767357840}");
    assert_attr(&cs, r, ATTR_START_TIME, "\"2026-01-02T12:43:18.000Z\""); /* truncated, not rounded */
    assert_attr(&cs, r, ATTR_CONNECT_TIME, "\"2026-01-02T12:44:00.000Z\"");
    r = one(&cs, "{\"local_tag\":\"t\",\"start_time\":1.767357798e9}");
    assert_attr(&cs, r, ATTR_START_TIME, "\"2026-01-02T12:43:18.000Z\"");
    /* 0, null, missing → null (not yet connected) */
    r = one(&cs, "{\"local_tag\":\"t\",\"start_time\":1767357798,\"connect_time\":0}");
    assert_attr(&cs, r, ATTR_CONNECT_TIME, NULL);
    r = one(&cs, "{\"local_tag\":\"t\",\"start_time\":1767357798,\"connect_time\":0.0}");
    assert_attr(&cs, r, ATTR_CONNECT_TIME, NULL);
    r = one(&cs, "{\"local_tag\":\"t\",\"connect_time\":null}");
    assert_attr(&cs, r, ATTR_CONNECT_TIME, NULL);
    assert_attr(&cs, r, ATTR_START_TIME, NULL);
    /* not a number, not representable → null rather than garbage */
    r = one(&cs, "{\"local_tag\":\"t\",\"start_time\":\"1767357798\",\"connect_time\":true}");
    assert_attr(&cs, r, ATTR_START_TIME, NULL);
    assert_attr(&cs, r, ATTR_CONNECT_TIME, NULL);
    r = one(&cs, "{\"local_tag\":\"t\",\"start_time\":1e300,\"connect_time\":253402300800}");
    assert_attr(&cs, r, ATTR_START_TIME, NULL);
    assert_attr(&cs, r, ATTR_CONNECT_TIME, NULL);
    r = one(&cs, "{\"local_tag\":\"t\",\"start_time\":[1767357798],\"connect_time\":{\"t\":1}}");
    assert_attr(&cs, r, ATTR_START_TIME, NULL);
    assert_attr(&cs, r, ATTR_CONNECT_TIME, NULL);
    r = one(&cs, "{\"local_tag\":\"t\",\"start_time\":253402300799}");
    assert_attr(&cs, r, ATTR_START_TIME, "\"9999-12-31T23:59:59.000Z\"");
    assert_spans_valid_json(&cs);
    callset_free(&cs);
}

static void test_duration(void **state)
{
    callset cs;
    callset_init(&cs);
    const call_record *r;
    r = one(&cs, "{\"local_tag\":\"t\",\"duration\":32.7}");
    assert_attr(&cs, r, ATTR_DURATION, "32");
    assert_int_equal(r->duration, 32);
    r = one(&cs, "{\"local_tag\":\"t\",\"duration\":32.93}");
    assert_attr(&cs, r, ATTR_DURATION, "32");
    r = one(&cs, "{\"local_tag\":\"t\",\"duration\":0.4}");
    assert_attr(&cs, r, ATTR_DURATION, "0");
    assert_int_equal(r->duration, 0);
    r = one(&cs, "{\"local_tag\":\"t\",\"duration\":0}");
    assert_attr(&cs, r, ATTR_DURATION, "0");
    r = one(&cs, "{\"local_tag\":\"t\",\"duration\":120}");
    assert_attr(&cs, r, ATTR_DURATION, "120");
    assert_int_equal(r->duration, 120);
    r = one(&cs, "{\"local_tag\":\"t\",\"duration\":3.5e2}");
    assert_attr(&cs, r, ATTR_DURATION, "350");
    r = one(&cs, "{\"local_tag\":\"t\",\"duration\":-1.5}");
    assert_attr(&cs, r, ATTR_DURATION, "-1");
    assert_int_equal(r->duration, -1);
    /* null: not yet connected */
    r = one(&cs, "{\"local_tag\":\"t\",\"duration\":null}");
    assert_attr(&cs, r, ATTR_DURATION, NULL);
    assert_true(r->duration == CALL_DURATION_NULL);
    r = one(&cs, "{\"local_tag\":\"t\"}");
    assert_attr(&cs, r, ATTR_DURATION, NULL);
    assert_true(r->duration == CALL_DURATION_NULL);
    r = one(&cs, "{\"local_tag\":\"t\",\"duration\":\"32\"}");
    assert_attr(&cs, r, ATTR_DURATION, NULL);
    assert_true(r->duration == CALL_DURATION_NULL);
    r = one(&cs, "{\"local_tag\":\"t\",\"duration\":[32]}");
    assert_attr(&cs, r, ATTR_DURATION, NULL);
    assert_true(r->duration == CALL_DURATION_NULL);
    r = one(&cs, "{\"local_tag\":\"t\",\"duration\":1e300}");
    assert_attr(&cs, r, ATTR_DURATION, NULL);
    assert_true(r->duration == CALL_DURATION_NULL);
    callset_free(&cs);
}

static void test_strings_reescaped(void **state)
{
    callset cs;
    callset_init(&cs);
    const call_record *r;
    r = one(&cs,
            "{\"local_tag\":\"t\",\"orig_call_id\":\"a\\\"b\\\\c\\/d\","
            "\"term_call_id\":\"x\\u0001y\\n\\t\\r\\b\\fz\","
            "\"lrn\":\"caf\\u00e9 \\u20ac \\ud83d\\ude00\","
            "\"diversion_in\":\"nul\\u0000byte\","
            "\"diversion_out\":\"\"}");
    assert_attr(&cs, r, ATTR_ORIG_CALL_ID, "\"a\\\"b\\\\c/d\"");
    assert_attr(&cs, r, ATTR_TERM_CALL_ID, "\"x\\u0001y\\n\\t\\r\\b\\fz\"");
    assert_attr(&cs, r, ATTR_LRN, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    assert_attr(&cs, r, ATTR_DIVERSION_IN, "\"nul\\u0000byte\"");
    assert_attr(&cs, r, ATTR_DIVERSION_OUT, "\"\""); /* empty string is not null */
    /* raw bytes that are not UTF-8 (the node's mistake) become U+FFFD */
    r = one(&cs,
            "{\"local_tag\":\"t\",\"orig_call_id\":\"Jos\xe9\",\"term_call_id\":\"\xff\xfe\","
            "\"lrn\":\"\xed\xa0\x80\",\"src_prefix_in\":\"\xc0\xaf\",\"src_prefix_out\":\"ok\xe2\x82\"}");
    assert_attr(&cs, r, ATTR_ORIG_CALL_ID, "\"Jos\\ufffd\"");
    assert_attr(&cs, r, ATTR_TERM_CALL_ID, "\"\\ufffd\\ufffd\"");
    assert_attr(&cs, r, ATTR_LRN, "\"\\ufffd\\ufffd\\ufffd\"");
    assert_attr(&cs, r, ATTR_SRC_PREFIX_IN, "\"\\ufffd\\ufffd\"");
    assert_attr(&cs, r, ATTR_SRC_PREFIX_OUT, "\"ok\\ufffd\\ufffd\"");
    assert_spans_valid_json(&cs);
    /* escaped lone surrogates become U+FFFD */
    r = one(&cs, "{\"local_tag\":\"t\",\"orig_call_id\":\"a\\ud800b\",\"term_call_id\":\"\\udc00\"}");
    assert_attr(&cs, r, ATTR_ORIG_CALL_ID,
                "\"a\xef\xbf\xbd"
                "b\"");
    assert_attr(&cs, r, ATTR_TERM_CALL_ID, "\"\xef\xbf\xbd\"");
    assert_spans_valid_json(&cs);
    callset_free(&cs);
}

static void test_numbers_and_literals_as_given(void **state)
{
    callset cs;
    callset_init(&cs);
    const call_record *r;
    r = one(&cs,
            "{\"local_tag\":\"t\",\"time_limit\":4909,\"legA_remote_port\":-0,"
            "\"destination_initial_rate\":0.11,\"destination_next_rate\":1E+2,"
            "\"destination_fee\":1.50,\"dialpeer_fee\":12345678901234567890123,"
            "\"lrn\":true,\"diversion_in\":false,\"diversion_out\":null,"
            "\"legB_local_port\":-5e-3}");
    assert_attr(&cs, r, ATTR_TIME_LIMIT, "4909");
    assert_attr(&cs, r, ATTR_LEG_A_REMOTE_PORT, "-0");
    assert_attr(&cs, r, ATTR_DESTINATION_INITIAL_RATE, "0.11");
    assert_attr(&cs, r, ATTR_DESTINATION_NEXT_RATE, "1E+2");
    assert_attr(&cs, r, ATTR_DESTINATION_FEE, "1.50");
    assert_attr(&cs, r, ATTR_DIALPEER_FEE, "12345678901234567890123");
    assert_attr(&cs, r, ATTR_LRN, "true");
    assert_attr(&cs, r, ATTR_DIVERSION_IN, "false");
    assert_attr(&cs, r, ATTR_DIVERSION_OUT, NULL);
    assert_attr(&cs, r, ATTR_LEG_B_LOCAL_PORT, "-5e-3");
    /* every attribute not sent is null */
    for (int a = 0; a < ATTR_COUNT; a++) {
        if (a == ATTR_TIME_LIMIT || a == ATTR_LEG_A_REMOTE_PORT || a == ATTR_DESTINATION_INITIAL_RATE ||
            a == ATTR_DESTINATION_NEXT_RATE || a == ATTR_DESTINATION_FEE || a == ATTR_DIALPEER_FEE ||
            a == ATTR_LRN || a == ATTR_DIVERSION_IN || a == ATTR_LEG_B_LOCAL_PORT || a == ATTR_LOCAL_TAG)
            continue;
        assert_attr(&cs, r, a, NULL);
    }
    assert_spans_valid_json(&cs);

    /* a record holding only its tag: 34 nulls */
    r = one(&cs, "{\"local_tag\":\"only\"}");
    for (int a = 0; a < ATTR_COUNT; a++) assert_attr(&cs, r, a, a == ATTR_LOCAL_TAG ? "\"only\"" : NULL);
    for (int k = 0; k < REL_FROM_RECORD; k++) assert_true(r->rel_id[k] == CALL_ID_NONE);
    callset_free(&cs);
}

static void test_nested_reserialised(void **state)
{
    callset cs;
    callset_init(&cs);
    const call_record *r;
    r = one(&cs, "{\"local_tag\":\"t\",\"orig_call_id\":{\"a\":[1,{\"b\":null}],\"c\":\"x\"}}");
    assert_attr(&cs, r, ATTR_ORIG_CALL_ID, "{\"a\":[1,{\"b\":null}],\"c\":\"x\"}");
    /* whitespace dropped, strings and keys re-escaped, numbers as given */
    r = one(&cs,
            "{\"local_tag\":\"t\",\"lrn\": { \"k\\\"\\n\" : [ 1 , 2.50 , -3e2 , true , false , null ] ,"
            " \"e\" : { } , \"f\" : [ ] , \"g\" : [ [ ] , { } ] , \"h\":\"\xff\"} ,"
            "\"term_call_id\":[],\"diversion_in\":{},\"diversion_out\":[[[\"deep\"]]]}");
    assert_attr(
        &cs, r, ATTR_LRN,
        "{\"k\\\"\\n\":[1,2.50,-3e2,true,false,null],\"e\":{},\"f\":[],\"g\":[[],{}],\"h\":\"\\ufffd\"}");
    assert_attr(&cs, r, ATTR_TERM_CALL_ID, "[]");
    assert_attr(&cs, r, ATTR_DIVERSION_IN, "{}");
    assert_attr(&cs, r, ATTR_DIVERSION_OUT, "[[[\"deep\"]]]");
    /* fields after a nested value are still read */
    r = one(&cs, "{\"orig_call_id\":[{\"x\":[1,[2]]}],\"local_tag\":\"after\",\"time_limit\":7}");
    assert_attr(&cs, r, ATTR_ORIG_CALL_ID, "[{\"x\":[1,[2]]}]");
    assert_attr(&cs, r, ATTR_TIME_LIMIT, "7");
    assert_tag(&cs, r, "after", 5);
    assert_spans_valid_json(&cs);

    /* the same, chunked byte by byte */
    callset c2;
    callset_init(&c2);
    run_result rr = run("{\"jsonrpc\":\"2.0\",\"result\":[{\"local_tag\":\"t\",\"orig_call_id\":"
                        "{\"a\":[1,{\"b\":null}],\"c\":\"x\"}}],\"id\":1}",
                        1, REPLY_EXPECT_CALLS, 1, &c2);
    assert_int_equal(rr.outcome, REPLY_OK);
    assert_attr(&c2, &c2.recs[0], ATTR_ORIG_CALL_ID, "{\"a\":[1,{\"b\":null}],\"c\":\"x\"}");
    callset_free(&c2);
    callset_free(&cs);
}

static void test_rel_ids(void **state)
{
    callset cs;
    callset_init(&cs);
    const call_record *r;
    r = one(&cs,
            "{\"local_tag\":\"t\",\"customer_id\":5,\"vendor_id\":\"7\",\"customer_acc_id\":1.5,"
            "\"vendor_acc_id\":true,\"customer_auth_id\":null,\"destination_id\":-3,"
            "\"routing_group_id\":\"abc\",\"routing_plan_id\":[1],\"dialpeer_id\":{\"id\":1},"
            "\"orig_gw_id\":1e2,\"term_gw_id\":\"\",\"src_country_id\":0,\"src_network_id\":\"-12\","
            "\"dst_country_id\":\"1.0\",\"dst_network_id\":\" 5\",\"pop_id\":false}");
    assert_int_equal(r->rel_id[REL_CUSTOMER], 5);
    assert_int_equal(r->rel_id[REL_VENDOR], 7);
    assert_true(r->rel_id[REL_CUSTOMER_ACC] == CALL_ID_NONE);
    assert_true(r->rel_id[REL_VENDOR_ACC] == CALL_ID_NONE);
    assert_true(r->rel_id[REL_CUSTOMER_AUTH] == CALL_ID_NONE);
    assert_true(r->rel_id[REL_RATEPLAN] == CALL_ID_NONE); /* missing */
    assert_int_equal(r->rel_id[REL_DESTINATION], -3);
    assert_true(r->rel_id[REL_ROUTING_GROUP] == CALL_ID_NONE);
    assert_true(r->rel_id[REL_ROUTING_PLAN] == CALL_ID_NONE);
    assert_true(r->rel_id[REL_DIALPEER] == CALL_ID_NONE);
    assert_true(r->rel_id[REL_ORIG_GW] == CALL_ID_NONE);
    assert_true(r->rel_id[REL_TERM_GW] == CALL_ID_NONE);
    assert_int_equal(r->rel_id[REL_SRC_COUNTRY], 0);
    assert_int_equal(r->rel_id[REL_SRC_NETWORK], -12);
    assert_true(r->rel_id[REL_DST_COUNTRY] == CALL_ID_NONE);
    assert_true(r->rel_id[REL_DST_NETWORK] == CALL_ID_NONE);
    assert_true(r->rel_id[REL_POP] == CALL_ID_NONE);
    /* relationship fields are not attributes: nothing printed for them */
    for (int a = 0; a < ATTR_COUNT; a++) assert_attr(&cs, r, a, a == ATTR_LOCAL_TAG ? "\"t\"" : NULL);

    r = one(&cs, "{\"local_tag\":\"t\",\"customer_id\":123456789012345678,\"pop_id\":\"4\"}");
    assert_int_equal(r->rel_id[REL_CUSTOMER], 123456789012345678LL);
    assert_int_equal(r->rel_id[REL_POP], 4);
    /* far too large for int64: not an id */
    r = one(&cs, "{\"local_tag\":\"t\",\"customer_id\":123456789012345678901234567890}");
    assert_true(r->rel_id[REL_CUSTOMER] == CALL_ID_NONE);
    callset_free(&cs);
}

static void test_tag_and_skipped_records(void **state)
{
    callset cs;
    callset_init(&cs);
    const char *json = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":["
                       "{\"local_tag\":\"keep-1\",\"duration\":1},"
                       "{\"duration\":2},"                             /* missing */
                       "{\"local_tag\":123,\"duration\":3},"           /* number */
                       "{\"local_tag\":null,\"duration\":4},"          /* null */
                       "{\"local_tag\":\"\",\"duration\":5},"          /* empty */
                       "{\"local_tag\":[\"x\"],\"duration\":6},"       /* array */
                       "{\"local_tag\":{\"x\":\"y\"},\"duration\":7}," /* object */
                       "{\"local_tag\":true},"                         /* bool */
                       "{},"                                           /* empty record */
                       "{\"local_tag\":\"keep-2\",\"duration\":8}]}";
    run_result r = run(json, 0, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    assert_int_equal(cs.n, 2);
    assert_int_equal(cs.skipped, 8);
    assert_tag(&cs, &cs.recs[0], "keep-1", 6);
    assert_int_equal(cs.recs[0].duration, 1);
    assert_tag(&cs, &cs.recs[1], "keep-2", 6);
    assert_int_equal(cs.recs[1].duration, 8);
    assert_attr(&cs, &cs.recs[1], ATTR_LOCAL_TAG, "\"keep-2\"");
    /* the same byte by byte */
    callset c2;
    callset_init(&c2);
    assert_int_equal(run(json, 1, REPLY_EXPECT_CALLS, 1, &c2).outcome, REPLY_OK);
    assert_int_equal(c2.n, 2);
    assert_int_equal(c2.skipped, 8);
    callset_free(&c2);

    /* the tag keeps the raw bytes; the attribute is escaped */
    const call_record *rec = one(&cs, "{\"local_tag\":\"a\\\"b\\u0000c/d \\u00e9\"}");
    assert_tag(&cs, rec, "a\"b\0c/d \xc3\xa9", 10);
    assert_attr(&cs, rec, ATTR_LOCAL_TAG, "\"a\\\"b\\u0000c/d \xc3\xa9\"");
    rec = one(&cs, "{\"local_tag\":\"bad\xff\"}");
    assert_tag(&cs, rec, "bad\xff", 4);
    assert_attr(&cs, rec, ATTR_LOCAL_TAG, "\"bad\\ufffd\"");
    callset_free(&cs);
}

static void test_unknown_fields_ignored(void **state)
{
    callset cs;
    callset_init(&cs);
    const char *json =
        "{\"jsonrpc\":\"2.0\",\"extra\":{\"x\":[1,2,{\"y\":3}],\"result\":5,\"id\":99},"
        "\"meta\":[[\"id\",7]],\"result\":[{\"unknown\":{\"local_tag\":\"inner\"},"
        "\"local_tag\":\"real\",\"zzz\":[{\"duration\":1}],\"node_id\":1,\"Local_Tag\":\"case\","
        "\"duration_\":5,\"legA_remote_ip \":\"space\",\"local_time\":12345}],"
        "\"id\":1,\"trailer\":null}";
    run_result r = run(json, 0, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    assert_int_equal(cs.n, 1);
    const call_record *rec = &cs.recs[0];
    assert_tag(&cs, rec, "real", 4);
    for (int a = 0; a < ATTR_COUNT; a++) assert_attr(&cs, rec, a, a == ATTR_LOCAL_TAG ? "\"real\"" : NULL);
    assert_true(rec->duration == CALL_DURATION_NULL);
    callset_free(&cs);
}

/* A record that repeats a field the API keeps is ambiguous: the reply is
 * refused, as one that repeats an envelope member (below), naming the field
 * and the record (counted from 1). Fields the API ignores may repeat. */
static void test_duplicate_record_keys_refused(void **state)
{
#define REPLY_WITH(r) "{\"jsonrpc\":\"2.0\",\"result\":[" r "],\"id\":1}"
    static const struct {
        const char *records; /* the result array's contents */
        const char *detail;
    } cases[] = {
        /* every kind of kept field, with values equal or not */
        {"{\"local_tag\":\"first\",\"local_tag\":\"second\"}", "\"local_tag\" in call record 1"},
        {"{\"local_tag\":\"a\",\"duration\":10,\"duration\":10}", "\"duration\" in call record 1"},
        {"{\"start_time\":0,\"local_tag\":\"a\",\"start_time\":1767357798}",
         "\"start_time\" in call record 1"},
        {"{\"local_tag\":\"a\",\"orig_call_id\":null,\"orig_call_id\":\"x\"}",
         "\"orig_call_id\" in call record 1"},
        {"{\"local_tag\":\"a\",\"customer_id\":1,\"customer_id\":\"x\"}", "\"customer_id\" in call record 1"},
        {"{\"local_tag\":\"a\",\"lrn\":[1],\"lrn\":{\"a\":1}}", "\"lrn\" in call record 1"},
        {"{\"local_tag\":\"a\",\"pop_id\":4,\"dst_network_id\":1,\"pop_id\":4}",
         "\"pop_id\" in call record 1"},
        /* the same key spelt with an escape is the same key */
        {"{\"local_tag\":\"a\",\"local\\u005ftag\":\"b\"}", "\"local_tag\" in call record 1"},
        {"{\"dur\\u0061tion\":1,\"local_tag\":\"a\",\"duration\":2}", "\"duration\" in call record 1"},
        /* in a later record, after earlier ones taught the parser the key
         * order (the fast path that skips the name lookup) */
        {"{\"local_tag\":\"a\",\"duration\":1},{\"local_tag\":\"b\",\"duration\":2},"
         "{\"local_tag\":\"c\",\"duration\":3,\"duration\":3}",
         "\"duration\" in call record 3"},
        {"{\"local_tag\":\"a\",\"duration\":1},{\"local_tag\":\"b\",\"local_tag\":\"b\"}",
         "\"local_tag\" in call record 2"},
        /* a record without a usable tag is still a record */
        {"{\"duration\":1},{\"local_tag\":\"b\",\"vendor_id\":1,\"vendor_id\":2}",
         "\"vendor_id\" in call record 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[512], detail[128];
        snprintf(json, sizeof json, "{\"jsonrpc\":\"2.0\",\"result\":[%s],\"id\":1}", cases[i].records);
        snprintf(detail, sizeof detail, "duplicate key %s", cases[i].detail);
        invalid(json, 1, detail);
    }
    /* a syntax error after the duplicate still makes the reply "not JSON" */
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[{\"local_tag\":\"a\",\"local_tag\":\"b\"}],\"id\":1,}", 1,
            "not JSON: ");

    /* fields the API does not keep may repeat; the same field in two records
     * is no duplicate */
    callset cs;
    callset_init(&cs);
    const call_record *r =
        one(&cs,
            "{\"local_tag\":\"t\",\"node_id\":1,\"node_id\":2,\"global_tag\":\"g\",\"global_tag\":null,"
            "\"Local_Tag\":\"x\",\"local_tag "
            "\":\"y\",\"active_resources_json\":[],\"active_resources_json\":{}}");
    assert_tag(&cs, r, "t", 1);
    callset_reset(&cs);
    run_result rr =
        run(REPLY_WITH("{\"local_tag\":\"a\",\"duration\":1},{\"local_tag\":\"b\",\"duration\":2}"), 0,
            REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(rr.outcome, REPLY_OK);
    assert_int_equal(cs.n, 2);
    /* a count (REPLY_EXPECT_ANY) does not read the records */
    callset_reset(&cs);
    rr = run(REPLY_WITH("{\"local_tag\":\"a\",\"local_tag\":\"b\"}"), 0, REPLY_EXPECT_ANY, 1, &cs);
    assert_int_equal(rr.outcome, REPLY_OK);
    callset_free(&cs);
#undef REPLY_WITH
}

/* n records {"local_tag":"<k>"} (every third without a tag), then tail. */
static char *tiny_records(size_t n, const char *tail)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[");
    for (size_t k = 0; k < n; k++) {
        if (k) buf_putc(&b, ',');
        if (k % 3 == 2)
            buf_puts(&b, "{\"duration\":1}");
        else
            buf_printf(&b, "{\"local_tag\":\"%zu\"}", k);
    }
    buf_puts(&b, tail);
    return buf_steal(&b);
}

/* Parses json with at most `limit` records, whole and in 7-byte chunks (the
 * same outcome either way); returns the outcome, detail in *detail. */
static reply_outcome parse_limited(const char *json, size_t limit, callset *cs, char detail[256])
{
    reply_outcome o[2] = {REPLY_OK, REPLY_OK};
    for (int chunked = 0; chunked < 2; chunked++) {
        callset_reset(cs);
        reply_parser *p = reply_parser_new(REPLY_EXPECT_CALLS, 1, cs);
        assert_non_null(p);
        reply_parser_limit_records(p, limit);
        size_t n = strlen(json);
        if (chunked) {
            for (size_t off = 0; off < n; off += 7)
                if (reply_parser_feed(p, json + off, n - off < 7 ? n - off : 7) != 0) break;
            o[1] = reply_parser_finish(p);
            if (strcmp(detail, reply_parser_detail(p)) != 0)
                fail_msg("chunked detail '%s', whole '%s'", reply_parser_detail(p), detail);
        } else {
            o[0] = reply_parser_parse_all(p, json, n);
            snprintf(detail, 256, "%s", reply_parser_detail(p));
        }
        reply_parser_free(p);
    }
    assert_int_equal(o[0], o[1]);
    return o[0];
}

/* --max-node-calls: at most `limit` records, counting those skipped for
 * want of a tag; the scan stops at the first one beyond. */
static void test_record_limit(void **state)
{
    callset cs;
    callset_init(&cs);
    char detail[256];
    char *json = tiny_records(9, "]}");
    assert_int_equal(parse_limited(json, 9, &cs, detail), REPLY_OK);
    assert_int_equal(cs.n, 6);
    assert_int_equal(cs.skipped, 3);
    assert_int_equal(parse_limited(json, 1000, &cs, detail), REPLY_OK);
    assert_int_equal(parse_limited(json, 8, &cs, detail), REPLY_TOO_MANY_RECORDS);
    assert_string_equal(detail, "reply holds more than 8 call records");
    assert_true(cs.n + cs.skipped <= 8); /* nothing read past the limit */
    assert_int_equal(parse_limited(json, 1, &cs, detail), REPLY_TOO_MANY_RECORDS);
    assert_string_equal(detail, "reply holds more than 1 call records");
    assert_true(cs.n <= 1);
    assert_int_equal(parse_limited(json, 0, &cs, detail), REPLY_TOO_MANY_RECORDS);
    assert_int_equal(cs.n, 0);
    free(json);

    /* no records: fine with any limit */
    assert_int_equal(parse_limited("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[]}", 0, &cs, detail), REPLY_OK);

    /* a reply that is not JSON after the limit is "not JSON", as always */
    json = tiny_records(20, "],}");
    assert_int_equal(parse_limited(json, 5, &cs, detail), REPLY_INVALID);
    assert_true(strncmp(detail, "not JSON: ", 10) == 0);
    free(json);
    /* a problem before the limit is that problem */
    json = tiny_records(3, ",{\"local_tag\":\"x\",\"local_tag\":\"y\"},{},{}]}");
    assert_int_equal(parse_limited(json, 4, &cs, detail), REPLY_INVALID);
    assert_string_equal(detail, "duplicate key \"local_tag\" in call record 4");
    free(json);

    /* a big one: 100,001 records of 20 bytes, as a hostile node would send,
     * stop at the default limit */
    json = tiny_records(100001, "]}");
    assert_int_equal(parse_limited(json, 100000, &cs, detail), REPLY_TOO_MANY_RECORDS);
    assert_string_equal(detail, "reply holds more than 100000 call records");
    free(json);
    callset_free(&cs);
}

/* Duplicate envelope members make a reply ambiguous: it is refused (the
 * records of two "result" arrays are never merged, a second "id" never
 * slips past the check); so do the error object's code and message. */
static void test_duplicate_envelope_keys_refused(void **state)
{
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[{\"local_tag\":\"a\"}],\"result\":[{\"local_tag\":\"b\"}],"
            "\"id\":1}",
            1, "duplicate");
    invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[],\"id\":2}", 1, "duplicate");
    invalid("{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":[],\"id\":1}", 1, "duplicate");
    invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[],\"id\":[1]}", 1, "duplicate");
    invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":1,\"result\":[]}", 1, "duplicate");
    invalid("{\"jsonrpc\":\"2.0\",\"id\":[1],\"id\":1,\"result\":[]}", 1, "duplicate");
    invalid("{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":[],\"id\":1}", 1, "duplicate");
    invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"result\":[]}", 1, NULL);
    invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1},\"error\":{\"code\":2}}", 1, "duplicate");
    invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":null,\"error\":{\"code\":2}}", 1,
            "duplicate key \"error\" in the reply envelope");
    invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[],\"jsonrpc\":\"2.0\"}", 1,
            "duplicate key \"jsonrpc\" in the reply envelope");
    invalid("{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":[],\"jsonrpc\":\"2.0\"}", 1,
            "duplicate key \"jsonrpc\" in the reply envelope");
    invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1,\"message\":\"a\",\"code\":2}}", 1,
            "duplicate key \"code\" in the JSON-RPC error");
    invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"message\":\"a\",\"message\":\"b\"}}", 1,
            "duplicate key \"message\" in the JSON-RPC error");
    /* the same names inside other members are not envelope members */
    callset cs;
    callset_init(&cs);
    run_result r = run("{\"jsonrpc\":\"2.0\",\"x\":{\"id\":5,\"result\":1},\"result\":[{\"local_tag\":\"a\","
                       "\"id\":3,\"result\":[]}],\"id\":1}",
                       0, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    assert_int_equal(cs.n, 1);
    callset_free(&cs);
}

/* ---- nesting ----------------------------------------------------------------------- */

/* prefix + `depth` alternating levels of [ and {"k": around 1 + suffix */
static char *nested(const char *prefix, int depth, const char *suffix)
{
    size_t n = strlen(prefix) + strlen(suffix) + (size_t)depth * 6 + 2;
    char *s = malloc(n);
    assert_non_null(s);
    char *p = s;
    p += sprintf(p, "%s", prefix);
    for (int i = 0; i < depth; i++) p += sprintf(p, "%s", i % 2 ? "{\"k\":" : "[");
    *p++ = '1';
    for (int i = depth - 1; i >= 0; i--) *p++ = i % 2 ? '}' : ']';
    p += sprintf(p, "%s", suffix);
    assert_true((size_t)(p - s) < n);
    return s;
}

static void test_deep_nesting_ignored_field(void **state)
{
    callset cs;
    callset_init(&cs);
    /* in an unknown record field */
    char *json = nested("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"local_tag\":\"t\",\"garbage\":", 100,
                        ",\"duration\":3}]}");
    run_result r = run(json, 0, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    assert_int_equal(cs.n, 1);
    assert_int_equal(cs.recs[0].duration, 3);
    free(json);
    /* in an unknown envelope field, byte by byte */
    callset_reset(&cs);
    json = nested("{\"jsonrpc\":\"2.0\",\"extra\":", 100, ",\"id\":1,\"result\":[{\"local_tag\":\"t\"}]}");
    r = run(json, 1, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    assert_int_equal(cs.n, 1);
    free(json);
    /* in a relationship id field and in a time field: skipped, null */
    callset_reset(&cs);
    char *inner = nested(",\"start_time\":", 100, "}]}");
    json =
        nested("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"local_tag\":\"t\",\"customer_id\":", 100, inner);
    free(inner);
    r = run(json, 0, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    assert_int_equal(cs.n, 1);
    assert_true(cs.recs[0].rel_id[REL_CUSTOMER] == CALL_ID_NONE);
    assert_attr(&cs, &cs.recs[0], ATTR_START_TIME, NULL);
    free(json);
    /* in the JSON-RPC error's data */
    json =
        nested("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1,\"message\":\"m\",\"data\":", 100, "}}");
    r = run(json, 0, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.outcome, REPLY_RPC_ERROR);
    assert_string_equal(r.detail, "m");
    free(json);
    callset_free(&cs);
}

static void test_deep_nesting_printed_field(void **state)
{
    /* moderate nesting in a printed attribute is re-serialised */
    callset cs;
    callset_init(&cs);
    char *json = nested("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"local_tag\":\"t\",\"lrn\":", 20, "}]}");
    run_result r = run(json, 0, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    char *want = nested("", 20, "");
    assert_attr(&cs, &cs.recs[0], ATTR_LRN, want);
    free(want);
    free(json);
    callset_reset(&cs);

    /* 64 levels in a printed field are printed, 65 are refused */
    json = nested("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"local_tag\":\"t\",\"lrn\":", 64, "}]}");
    r = run(json, 0, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    want = nested("", 64, "");
    assert_attr(&cs, &cs.recs[0], ATTR_LRN, want);
    free(want);
    free(json);
    json = nested("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"local_tag\":\"t\",\"lrn\":", 65, "}]}");
    invalid(json, 1, "value nested too deeply");
    free(json);
    callset_free(&cs);

    /* 100 levels in a printed field: refused, not a crash */
    json = nested("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"local_tag\":\"t\",\"orig_call_id\":", 100,
                  "}]}");
    invalid(json, 1, "nested too deeply");
    free(json);
    json = nested("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"local_tag\":", 100, "}]}");
    invalid(json, 1, "nested too deeply");
    free(json);
    /* and very deep: refused without recursing */
    json = nested("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"local_tag\":\"t\",\"lrn\":", 5000, "}]}");
    invalid(json, 1, "nested too deeply");
    free(json);
    /* a wrong shape first ("call record is not an object"), then nesting
     * past the limit: the walk that checks the rest is JSON stops at the
     * limit, so the detail says so — whether the brackets close or not
     * (fuzz/fuzz_reply.c found the wrong-shape detail kept for an
     * unbalanced reply that yajl refuses) */
    for (int balanced = 0; balanced < 2; balanced++) {
        buf b;
        buf_init(&b);
        buf_puts(&b, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[");
        for (int k = 0; k < 1100; k++) buf_putc(&b, '[');
        for (int k = 0; k < (balanced ? 1100 : 16); k++) buf_putc(&b, ']');
        buf_puts(&b, "]}");
        json = buf_steal(&b);
        invalid(json, 1, "reply nested too deeply (more than 1024 levels)");
        free(json);
    }
}

/* ---- JSON-RPC errors ---------------------------------------------------------------------- */

static void test_rpc_error(void **state)
{
    callset cs;
    callset_init(&cs);
    size_t chunks[] = {0, 1};
    for (size_t i = 0; i < 2; i++) {
        run_result r =
            run("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,\"message\":\"Method not found\"},\"id\":7}",
                chunks[i], REPLY_EXPECT_CALLS, 7, &cs);
        assert_int_equal(r.outcome, REPLY_RPC_ERROR);
        assert_int_equal(r.code, -32601);
        assert_string_equal(r.detail, "Method not found");
    }
    /* id first, message before code, extra members */
    run_result r = run("{\"id\":7,\"jsonrpc\":\"2.0\",\"error\":{\"message\":\"bad field duration2\","
                       "\"data\":{\"x\":[1,2]},\"code\":500}}",
                       0, REPLY_EXPECT_CALLS, 7, &cs);
    assert_int_equal(r.outcome, REPLY_RPC_ERROR);
    assert_int_equal(r.code, 500);
    assert_string_equal(r.detail, "bad field duration2");
    /* code only: a detail is still given */
    r = run("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000},\"id\":7}", 0, REPLY_EXPECT_CALLS, 7, &cs);
    assert_int_equal(r.outcome, REPLY_RPC_ERROR);
    assert_int_equal(r.code, -32000);
    assert_true(r.detail[0] != '\0');
    assert_non_null(strstr(r.detail, "-32000"));
    /* the message keeps its (decoded) characters; escaping is the writer's job */
    r = run("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"a\\\"b\\nc\"},\"id\":7}", 0,
            REPLY_EXPECT_CALLS, 7, &cs);
    assert_int_equal(r.outcome, REPLY_RPC_ERROR);
    assert_string_equal(r.detail, "a\"b\nc");
    /* a very long message is cut, not overflowing */
    buf big;
    buf_init(&big);
    buf_puts(&big, "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":2,\"message\":\"");
    for (int i = 0; i < 5000; i++) buf_putc(&big, 'm');
    buf_puts(&big, "\"}}");
    buf_putc(&big, '\0');
    r = run(big.data, 0, REPLY_EXPECT_CALLS, 7, &cs);
    assert_int_equal(r.outcome, REPLY_RPC_ERROR);
    assert_true(strlen(r.detail) > 100 && strlen(r.detail) < 5000);
    for (size_t k = 0; k < strlen(r.detail); k++) assert_int_equal(r.detail[k], 'm');
    buf_free(&big);
    /* an error with the wrong id is not this request's answer */
    r = run("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"x\"},\"id\":8}", 0, REPLY_EXPECT_CALLS,
            7, &cs);
    assert_int_equal(r.outcome, REPLY_INVALID);
    /* a malformed error member is still not a success */
    r = run("{\"jsonrpc\":\"2.0\",\"error\":\"boom\",\"id\":7}", 0, REPLY_EXPECT_CALLS, 7, &cs);
    assert_true(r.outcome != REPLY_OK);
    assert_true(r.detail[0] != '\0');
    r = run("{\"jsonrpc\":\"2.0\",\"error\":[1],\"id\":7}", 0, REPLY_EXPECT_CALLS, 7, &cs);
    assert_true(r.outcome != REPLY_OK);
    assert_true(r.detail[0] != '\0');
    /* REPLY_EXPECT_ANY sees errors the same way */
    r = run("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":3,\"message\":\"no such call\"},\"id\":7}", 0,
            REPLY_EXPECT_ANY, 7, &cs);
    assert_int_equal(r.outcome, REPLY_RPC_ERROR);
    assert_int_equal(r.code, 3);
    assert_string_equal(r.detail, "no such call");
    assert_int_equal(cs.n, 0);
    callset_free(&cs);
}

/* ---- invalid replies ---------------------------------------------------------------------- */

static void test_invalid_not_json(void **state)
{
    invalid("hello", 1, "not JSON");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":1", 1, NULL); /* truncated */
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[{\"local_tag\":\"a\"", 1, NULL);
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[{\"local_tag\":\"a", 1, NULL);
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":", 1, NULL);
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":1}}", 1, NULL);          /* unbalanced */
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":1} x", 1, NULL);         /* trailing garbage */
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":1}{\"id\":1}", 1, NULL); /* two values */
    invalid("{'id':1}", 1, NULL);
    invalid("{\"id\":1,\"result\":[],}", 1, NULL);
    invalid("{\"id\":01,\"result\":[]}", 1, NULL);
    invalid("{\"id\":1,\"result\":[NaN]}", 1, NULL);
    invalid("", 1, NULL);
    invalid("   \n", 1, NULL);
    invalid("\x01\x02\xff", 1, NULL);
    invalid("<html><body>502</body></html>", 1, NULL);
    /* an embedded NUL */
    callset cs;
    callset_init(&cs);
    run_result r = run_len("{\"id\":1,\0\"result\":[]}", 21, 0, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.outcome, REPLY_INVALID);
    assert_true(r.detail[0] != '\0');
    callset_free(&cs);
}

static void test_invalid_shapes(void **state)
{
    /* top level not an object */
    invalid("[{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":1}]", 1, NULL);
    invalid("[]", 1, NULL);
    invalid("\"result\"", 1, NULL);
    invalid("5", 1, NULL);
    invalid("null", 1, NULL);
    invalid("true", 1, NULL);
    /* result not an array */
    invalid("{\"jsonrpc\":\"2.0\",\"result\":{},\"id\":1}", 1, "array");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":{\"local_tag\":\"a\"},\"id\":1}", 1, "array");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":5,\"id\":1}", 1, "array");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":\"[]\",\"id\":1}", 1, "array");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":null,\"id\":1}", 1, "array");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":true,\"id\":1}", 1, "array");
    /* a record not an object */
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[1],\"id\":1}", 1, "object");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[{\"local_tag\":\"a\"},\"b\"],\"id\":1}", 1, "object");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[null],\"id\":1}", 1, "object");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[[]],\"id\":1}", 1, "object");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[[{\"local_tag\":\"a\"}]],\"id\":1}", 1, "object");
    /* neither result nor error */
    invalid("{\"jsonrpc\":\"2.0\",\"id\":1}", 1, NULL);
    invalid("{\"id\":1}", 1, NULL);
    invalid("{}", 1, NULL);
}

static void test_invalid_ids(void **state)
{
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":2}", 1, "id");  /* wrong */
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":10}", 1, "id"); /* prefix of the digits */
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":42}", 4, "id");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":4}", 42, "id"); /* a prefix of the request's */
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":1}", 10, "id");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":\"1\"}", 1, "id"); /* string */
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[]}", 1, "id");              /* missing */
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":null}", 1, "id");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":1.0}", 1, "id");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":1e0}", 1, "id");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":-1}", 1, "id");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":[1]}", 1, "id");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":{\"id\":1}}", 1, "id");
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":true}", 1, "id");
    /* ids inside records or other members do not count */
    invalid("{\"jsonrpc\":\"2.0\",\"result\":[{\"local_tag\":\"a\",\"id\":1}],\"x\":{\"id\":1}}", 1, "id");
    /* large request ids work */
    callset cs;
    callset_init(&cs);
    run_result r = run("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":9007199254740993}", 0, REPLY_EXPECT_CALLS,
                       9007199254740993LL, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    r = run("{\"jsonrpc\":\"2.0\",\"result\":[],\"id\":0}", 0, REPLY_EXPECT_CALLS, 0, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    callset_free(&cs);
}

static void test_feed_after_failure(void **state)
{
    callset cs;
    callset_init(&cs);
    reply_parser *p = reply_parser_new(REPLY_EXPECT_CALLS, 1, &cs);
    assert_non_null(p);
    assert_int_equal(reply_parser_feed(p, "[", 1), -1); /* top-level array */
    assert_int_equal(reply_parser_feed(p, "{\"id\":1,\"result\":[]}", 20), -1);
    assert_int_equal(reply_parser_finish(p), REPLY_INVALID);
    assert_true(reply_parser_detail(p)[0] != '\0');
    reply_parser_free(p);
    reply_parser_free(NULL);
    callset_free(&cs);
}

/* ---- REPLY_EXPECT_ANY ------------------------------------------------------------------------ */

static void any_is(const char *json, bool has_int, int64_t v)
{
    callset cs;
    callset_init(&cs);
    run_result r = run(json, 0, REPLY_EXPECT_ANY, 3, &cs);
    if (r.outcome != REPLY_OK) fail_msg("'%s': outcome %d (%s)", json, r.outcome, r.detail);
    assert_string_equal(r.detail, "");
    if (r.has_int != has_int) fail_msg("'%s': has_int %d", json, r.has_int);
    if (has_int)
        assert_int_equal(r.ival, v);
    else
        assert_int_equal(r.ival, -777); /* untouched */
    assert_int_equal(cs.n, 0);
    r = run(json, 1, REPLY_EXPECT_ANY, 3, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    assert_int_equal(r.has_int, has_int);
    callset_free(&cs);
}

static void test_expect_any(void **state)
{
    any_is("{\"jsonrpc\":\"2.0\",\"result\":17,\"id\":3}", true, 17); /* calls.count */
    any_is("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":0}", true, 0);
    any_is("{\"jsonrpc\":\"2.0\",\"result\":-5,\"id\":3}", true, -5);
    any_is("{\"jsonrpc\":\"2.0\",\"result\":123456789012,\"id\":3}", true, 123456789012LL);
    any_is("{\"jsonrpc\":\"2.0\",\"result\":\"ok\",\"id\":3}", false, 0); /* disconnect */
    any_is("{\"jsonrpc\":\"2.0\",\"result\":\"17\",\"id\":3}", false, 0);
    any_is("{\"jsonrpc\":\"2.0\",\"result\":1.5,\"id\":3}", false, 0);
    any_is("{\"jsonrpc\":\"2.0\",\"result\":1e2,\"id\":3}", false, 0);
    any_is("{\"jsonrpc\":\"2.0\",\"result\":null,\"id\":3}", false, 0);
    any_is("{\"jsonrpc\":\"2.0\",\"result\":true,\"id\":3}", false, 0);
    any_is("{\"jsonrpc\":\"2.0\",\"result\":{\"a\":[1]},\"id\":3}", false, 0);
    /* an array result is not parsed into calls */
    any_is("{\"jsonrpc\":\"2.0\",\"result\":[{\"local_tag\":\"x\"},1,[2]],\"id\":3}", false, 0);
    /* shape checks still apply */
    callset cs;
    callset_init(&cs);
    run_result r = run("{\"jsonrpc\":\"2.0\",\"result\":17,\"id\":4}", 0, REPLY_EXPECT_ANY, 3, &cs);
    assert_int_equal(r.outcome, REPLY_INVALID);
    r = run("{\"jsonrpc\":\"2.0\",\"id\":3}", 0, REPLY_EXPECT_ANY, 3, &cs);
    assert_int_equal(r.outcome, REPLY_INVALID);
    assert_true(r.detail[0] != '\0');
    r = run("[17]", 0, REPLY_EXPECT_ANY, 3, &cs);
    assert_int_equal(r.outcome, REPLY_INVALID);
    r = run("{\"result\":17,\"id\":3", 0, REPLY_EXPECT_ANY, 3, &cs);
    assert_int_equal(r.outcome, REPLY_INVALID);
    callset_free(&cs);
}

/* ---- envelope strictness ------------------------------------------------------------ */

/* "error":null beside a result is no error; a missing or wrong jsonrpc member
 * makes the reply invalid; 19-digit ids are still ids. */
static void test_envelope_version_and_null_error(void **state)
{
    callset cs;
    callset_init(&cs);
    run_result ok = run("{\"jsonrpc\":\"2.0\",\"result\":[{\"local_tag\":\"a\","
                        "\"customer_id\":9223372036854775807,\"vendor_id\":-9223372036854775808,"
                        "\"dialpeer_id\":9223372036854775808}],\"error\":null,\"id\":1}",
                        0, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(ok.outcome, REPLY_OK);
    assert_int_equal(cs.n, 1);
    assert_true(cs.recs[0].rel_id[REL_CUSTOMER] == INT64_MAX);
    assert_true(cs.recs[0].rel_id[REL_VENDOR] == INT64_MIN);
    assert_true(cs.recs[0].rel_id[REL_DIALPEER] == CALL_ID_NONE); /* out of range */
    callset_reset(&cs);
    run_result none = run("{\"result\":[],\"id\":1}", 0, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(none.outcome, REPLY_INVALID);
    assert_non_null(strstr(none.detail, "JSON-RPC 2.0"));
    run_result old = run("{\"jsonrpc\":\"1.0\",\"result\":[],\"id\":1}", 0, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(old.outcome, REPLY_INVALID);
    callset_free(&cs);
}

/* ---- whole replies, chunks and parse_all ----------------------------------------------- */

static uint64_t chunk_rng = 12345;

static size_t random_chunk(size_t max)
{
    chunk_rng ^= chunk_rng << 13;
    chunk_rng ^= chunk_rng >> 7;
    chunk_rng ^= chunk_rng << 17;
    return 1 + (size_t)(chunk_rng % max);
}

/* Feeds json in random chunk sizes of 1..max bytes. */
static run_result run_random_chunks(const char *json, size_t len, size_t max, callset *cs, int64_t id)
{
    run_result r;
    memset(&r, 0, sizeof r);
    reply_parser *p = reply_parser_new(REPLY_EXPECT_CALLS, id, cs);
    assert_non_null(p);
    for (size_t off = 0; off < len;) {
        size_t k = random_chunk(max);
        if (k > len - off) k = len - off;
        if (reply_parser_feed(p, json + off, k) != 0) {
            r.feed_rc = -1;
            break;
        }
        off += k;
    }
    r.outcome = reply_parser_finish(p);
    snprintf(r.detail, sizeof r.detail, "%s", reply_parser_detail(p));
    reply_parser_free(p);
    return r;
}

static void assert_same_callset(const callset *a, const callset *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->skipped, b->skipped);
    assert_int_equal(a->arena.len, b->arena.len);
    if (a->arena.len) assert_memory_equal(a->arena.data, b->arena.data, a->arena.len);
    if (a->n) assert_memory_equal(a->recs, b->recs, a->n * sizeof *a->recs);
}

static void test_random_chunks(void **state)
{
    buf many;
    buf_init(&many);
    buf_puts(&many, "{\"jsonrpc\":\"2.0\",\"id\":42,\"result\":[" REC1);
    for (int i = 0; i < 50; i++)
        buf_printf(&many, ",{\"local_tag\":\"t\\u00e9-%d\",\"lrn\":[%d,{\"x\":\"\\ud83d\\ude00\"}]}", i, i);
    buf_puts(&many, "," REC2 "]}");
    buf_putc(&many, '\0');
    const char *docs[] = {SEED_REPLY, many.data};
    size_t maxes[] = {1, 3, 16, 100, 5000};
    for (size_t d = 0; d < 2; d++) {
        callset whole;
        callset_init(&whole);
        run_result w = run(docs[d], 0, REPLY_EXPECT_CALLS, 42, &whole);
        if (w.outcome != REPLY_OK) fail_msg("doc %zu: %s", d, w.detail);
        for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++) {
            for (int rep = 0; rep < 5; rep++) {
                callset cs;
                callset_init(&cs);
                run_result r = run_random_chunks(docs[d], strlen(docs[d]), maxes[m], &cs, 42);
                assert_int_equal(r.outcome, REPLY_OK);
                assert_same_callset(&whole, &cs);
                callset_free(&cs);
            }
        }
        callset_free(&whole);
    }
    buf_free(&many);
}

static void test_parse_all(void **state)
{
    callset fed, all;
    callset_init(&fed);
    callset_init(&all);
    assert_int_equal(run(SEED_REPLY, 0, REPLY_EXPECT_CALLS, 42, &fed).outcome, REPLY_OK);

    /* the whole reply at once, from a buffer of exactly its size */
    size_t n = strlen(SEED_REPLY);
    char *exact = malloc(n);
    assert_non_null(exact);
    memcpy(exact, SEED_REPLY, n);
    reply_parser *p = reply_parser_new(REPLY_EXPECT_CALLS, 42, &all);
    assert_non_null(p);
    assert_int_equal(reply_parser_parse_all(p, exact, n), REPLY_OK);
    assert_string_equal(reply_parser_detail(p), "");
    assert_int_equal(reply_parser_finish(p), REPLY_OK); /* finishing again: same answer */
    assert_int_equal(reply_parser_feed(p, "x", 1), -1); /* nothing after the end */
    reply_parser_free(p);
    free(exact);
    assert_seed_records(&all);
    assert_same_callset(&fed, &all);

    /* after some bytes were fed, parse_all takes the rest */
    callset_reset(&all);
    p = reply_parser_new(REPLY_EXPECT_CALLS, 42, &all);
    assert_int_equal(reply_parser_feed(p, SEED_REPLY, 100), 0);
    assert_int_equal(reply_parser_parse_all(p, SEED_REPLY + 100, n - 100), REPLY_OK);
    reply_parser_free(p);
    assert_same_callset(&fed, &all);

    /* invalid replies give the same outcome and detail either way */
    const char *bad[] = {
        "",
        "[1]",
        "{\"jsonrpc\":\"2.0\",\"id\":42,\"result\":[{]}",
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":[]}",
        "{\"jsonrpc\":\"2.0\",\"id\":42,\"result\":{}}",
        "{\"id\":42,\"result\":[],\"jsonrpc\":\"2.0\"} ,",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        callset_reset(&all);
        callset_reset(&fed);
        run_result r = run(bad[i], 0, REPLY_EXPECT_CALLS, 42, &fed);
        p = reply_parser_new(REPLY_EXPECT_CALLS, 42, &all);
        assert_int_equal(reply_parser_parse_all(p, bad[i], strlen(bad[i])), REPLY_INVALID);
        assert_int_equal(r.outcome, REPLY_INVALID);
        assert_string_equal(reply_parser_detail(p), r.detail);
        reply_parser_free(p);
    }
    callset_free(&fed);
    callset_free(&all);
}

/* A syntax error is "not JSON: <what> at byte <offset>", also when the
 * reply had a wrong shape before it. */
static void test_not_json_details(void **state)
{
    static const struct {
        const char *json;
        const char *detail;
    } cases[] = {
        {"{\"id\":1,}", "not JSON: expected a string key, found '}' at byte 8"},
        {"{\"id\":01}", "not JSON: expected ',' or '}', found '1' at byte 7"},
        {"{\"id\":1.}", "not JSON: expected a digit after '.', found '}' at byte 8"},
        {"{\"id\":-}", "not JSON: expected a digit, found '}' at byte 7"},
        {"{\"id\":1e+}", "not JSON: expected a digit in the exponent, found '}' at byte 9"},
        {"{\"id\":tru}", "not JSON: expected true, found '}' at byte 9"},
        {"{\"id\":\"a\\x\"}", "not JSON: expected an escape character, found 'x' at byte 9"},
        {"{\"id\":\"\\u12g4\"}", "not JSON: expected 4 hex digits after \\u, found 'g' at byte 11"},
        {"{\"id\":\"a\tb\"}", "not JSON: control character in string at byte 8"},
        {"{\"id\":\"abc", "not JSON: unexpected end of input (expected '\"' to end the string) at byte 10"},
        {"{\"id\":1", "not JSON: unexpected end of input (expected ',' or '}') at byte 7"},
        {"{\"id\" 1}", "not JSON: expected ':', found '1' at byte 6"},
        {"{\"id\":1}]", "not JSON: data after the reply at byte 8"},
        {"{\"result\":[1,]}", "not JSON: expected a value, found ']' at byte 13"},
        {"{\"x\":[1}", "not JSON: expected ',' or ']', found '}' at byte 7"},
        {"", "not JSON: unexpected end of input (expected a JSON object) at byte 0"},
        {" \r\n\t", "not JSON: unexpected end of input (expected a JSON object) at byte 4"},
        {"hello", "not JSON: expected a JSON object, found 'h' at byte 0"},
        {"\xef\xbb\xbf{}", "not JSON: expected a JSON object, found byte 0xef at byte 0"},
        /* a wrong shape first, then not JSON: the reply is not JSON */
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":5,",
         "not JSON: unexpected end of input (expected a string key) at byte 35"},
        {"{\"result\":[1],\"x\":[}", "not JSON: expected a value, found '}' at byte 19"},
        {"{\"id\":1,\"id\":2,\"x\":nul}", "not JSON: expected null, found '}' at byte 22"},
        /* a wrong shape, and JSON: the shape is the detail */
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":5,\"x\":[{}]}", "result is not an array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        callset cs;
        callset_init(&cs);
        run_result r = run(cases[i].json, 0, REPLY_EXPECT_CALLS, 1, &cs);
        assert_int_equal(r.outcome, REPLY_INVALID);
        if (strcmp(r.detail, cases[i].detail) != 0)
            fail_msg("'%s': detail '%s', want '%s'", cases[i].json, r.detail, cases[i].detail);
        r = run(cases[i].json, 1, REPLY_EXPECT_CALLS, 1, &cs); /* byte by byte: the same */
        assert_string_equal(r.detail, cases[i].detail);
        callset_free(&cs);
    }
}

/* feed refuses a reply from its first byte when that cannot start an object. */
static void test_feed_refuses_early(void **state)
{
    callset cs;
    callset_init(&cs);
    reply_parser *p = reply_parser_new(REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(reply_parser_feed(p, " \n", 2), 0);
    assert_int_equal(reply_parser_feed(p, "\t[", 2), -1);
    assert_string_equal(reply_parser_detail(p), "reply is not a JSON object");
    assert_int_equal(reply_parser_finish(p), REPLY_INVALID);
    assert_string_equal(reply_parser_detail(p), "reply is not a JSON object");
    reply_parser_free(p);

    p = reply_parser_new(REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(reply_parser_feed(p, "  HTTP/1.1 502", 14), -1);
    assert_string_equal(reply_parser_detail(p), "not JSON: expected a JSON object, found 'H' at byte 2");
    assert_int_equal(reply_parser_finish(p), REPLY_INVALID);
    reply_parser_free(p);

    /* a literal is only known whole: decided by finish */
    p = reply_parser_new(REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(reply_parser_feed(p, "n", 1), 0);
    assert_int_equal(reply_parser_feed(p, "ull", 3), 0);
    assert_int_equal(reply_parser_finish(p), REPLY_INVALID);
    assert_string_equal(reply_parser_detail(p), "reply is not a JSON object");
    reply_parser_free(p);

    /* an object: everything else is found by finish */
    p = reply_parser_new(REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(reply_parser_feed(p, "{", 1), 0);
    assert_int_equal(reply_parser_feed(p, "]]]", 3), 0);
    assert_int_equal(reply_parser_finish(p), REPLY_INVALID);
    assert_string_equal(reply_parser_detail(p), "not JSON: expected a string key, found ']' at byte 1");
    reply_parser_free(p);
    callset_free(&cs);
}

/* Durations and times are truncated exactly as timefmt_parse_seconds does
 * (the parser has its own fast path for the common shapes). */
static void test_seconds_like_timefmt(void **state)
{
    static const char *const numbers[] = {
        "0",
        "-0",
        "7",
        "-7",
        "0.5",
        "-0.5",
        "-0.999999",
        "1.999999",
        "1.9999999",
        "1.99999999999999999",
        "32.93",
        "1767357798.871",
        "1767357798.999999",
        "1767357798.9999999",
        "1767357798.99999999",
        "8589934591.999999",
        "8589934592.999999",
        "8589934593.5",
        "17179869183.999999",
        "99999999999.999999",
        "123456789012345678",
        "999999999999999999",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "12345678901234567890",
        "1e3",
        "1.5e2",
        "-2.5E-1",
        "1e18",
        "9.2e18",
        "1e19",
        "1e300",
        "0.000001",
        "100.000000",
        "3.0000001",
        "1E0",
    };
    callset cs;
    callset_init(&cs);
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        const char *t = numbers[i];
        int64_t want;
        bool ok = timefmt_parse_seconds(t, strlen(t), &want);
        char rec[256];
        snprintf(rec, sizeof rec, "{\"local_tag\":\"t\",\"duration\":%s,\"start_time\":%s}", t, t);
        const call_record *r = one(&cs, rec);
        if (!ok || want == CALL_DURATION_NULL) {
            if (r->duration != CALL_DURATION_NULL)
                fail_msg("%s: duration %lld, want null", t, (long long)r->duration);
            assert_attr(&cs, r, ATTR_DURATION, NULL);
        } else {
            if (r->duration != want)
                fail_msg("%s: duration %lld, want %lld", t, (long long)r->duration, (long long)want);
            char text[32];
            snprintf(text, sizeof text, "%lld", (long long)want);
            assert_attr(&cs, r, ATTR_DURATION, text);
        }
        char iso[TIMEFMT_ISO_LEN + 3];
        if (ok && want != 0 && timefmt_iso_utc(want, iso + 1)) {
            iso[0] = '"';
            iso[TIMEFMT_ISO_LEN + 1] = '"';
            iso[TIMEFMT_ISO_LEN + 2] = '\0';
            assert_attr(&cs, r, ATTR_START_TIME, iso);
        } else {
            assert_attr(&cs, r, ATTR_START_TIME, NULL);
        }
    }
    callset_free(&cs);
}

/* Records whose keys come in changing orders, spellings and lengths. */
static void test_key_order_changes(void **state)
{
    callset cs;
    callset_init(&cs);
    const char *json = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":["
                       "{\"local_tag\":\"a\",\"duration\":1,\"lrn\":\"x\"},"
                       "{\"local_tag\":\"b\",\"duration\":2,\"lrn\":\"y\"},"
                       "{\"duration\":3,\"local_tag\":\"c\",\"lrn\":\"z\"}," /* swapped */
                       "{\"local_tag\":\"d\",\"duratioN\":4,\"lrn\":\"w\"}," /* same length, other name */
                       "{\"local_tag\":\"e\",\"durat\\u0069on\":5,\"lrn\":\"v\"}," /* escaped key */
                       "{\"local_tag\":\"f\",\"duration\":6,\"lrn\":\"u\"},"
                       "{\"local_tag\":\"g\",\"dur\":7,\"lrn\":\"t\"}," /* shorter */
                       "{\"local_tag\":\"h\",\"duration_\":8},"         /* longer, and fewer keys */
                       "{\"local_tag\":\"i\",\"duration\":9,\"lrn\":\"s\",\"orig_call_id\":\"o\"}"
                       "]}";
    run_result r = run(json, 0, REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.outcome, REPLY_OK);
    assert_int_equal(cs.n, 9);
    static const int64_t durations[] = {
        1, 2, 3, CALL_DURATION_NULL, 5, 6, CALL_DURATION_NULL, CALL_DURATION_NULL, 9};
    static const char *const lrns[] = {"\"x\"", "\"y\"", "\"z\"", "\"w\"", "\"v\"",
                                       "\"u\"", "\"t\"", NULL,    "\"s\""};
    for (size_t i = 0; i < 9; i++) {
        assert_true(cs.recs[i].duration == durations[i]);
        assert_attr(&cs, &cs.recs[i], ATTR_LRN, lrns[i]);
        assert_attr(&cs, &cs.recs[i], ATTR_ORIG_CALL_ID, i == 8 ? "\"o\"" : NULL);
    }
    callset_free(&cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_callset_container),
        cmocka_unit_test(test_seed_reply_whole),
        cmocka_unit_test(test_seed_reply_chunked),
        cmocka_unit_test(test_seed_reply_pretty_printed),
        cmocka_unit_test(test_many_records),
        cmocka_unit_test(test_callset_not_reset_between_replies),
        cmocka_unit_test(test_empty_result),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_strings_reescaped),
        cmocka_unit_test(test_numbers_and_literals_as_given),
        cmocka_unit_test(test_nested_reserialised),
        cmocka_unit_test(test_rel_ids),
        cmocka_unit_test(test_tag_and_skipped_records),
        cmocka_unit_test(test_unknown_fields_ignored),
        cmocka_unit_test(test_duplicate_record_keys_refused),
        cmocka_unit_test(test_record_limit),
        cmocka_unit_test(test_duplicate_envelope_keys_refused),
        cmocka_unit_test(test_deep_nesting_ignored_field),
        cmocka_unit_test(test_deep_nesting_printed_field),
        cmocka_unit_test(test_rpc_error),
        cmocka_unit_test(test_invalid_not_json),
        cmocka_unit_test(test_invalid_shapes),
        cmocka_unit_test(test_invalid_ids),
        cmocka_unit_test(test_feed_after_failure),
        cmocka_unit_test(test_expect_any),
        cmocka_unit_test(test_envelope_version_and_null_error),
        cmocka_unit_test(test_random_chunks),
        cmocka_unit_test(test_parse_all),
        cmocka_unit_test(test_not_json_details),
        cmocka_unit_test(test_feed_refuses_early),
        cmocka_unit_test(test_seconds_like_timefmt),
        cmocka_unit_test(test_key_order_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
