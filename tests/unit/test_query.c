/* test_query: jsonapi/query.c and jsonapi/errors.c — the listing's query
 * string. Covers: the 22 filter names of the seed in dashed and underscored
 * form; integer list values (spaces, signs, limits); every error exactly as
 * docs/API.md words it (102 unknown filter, 103 bad value with the dashed
 * name, 105 unknown parameter) including malformed filter[id] values;
 * several errors collected into one document (parsed back with jansson, in
 * query-string order, keys title/detail/code/status); long and hostile
 * values echoed safely; listing_query_wants_node (node, pop, id);
 * listing_query_tags_for; listing_query_match for every condition kind on
 * hand-built callset records; repeated keys AND together;
 * jerr_single / jerr_document. (call_id_parse: test_call_id.c.)
 * The 7 filters beyond the seed (prefixes, orig-call-id, local-tag,
 * connected, duration-gteq/lteq): names, values, errors, matching, with
 * JSON-escaped text compared as the records keep it. listing_query_rules:
 * the rule each filter pushes to a node, the boundaries of durations and
 * ids, and a simulated node (its clock and connect_time in whole seconds)
 * that must keep every call the filters keep. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonapi/errors.h"
#include "jsonapi/query.h"
#include "model/calls.h"

/* ---- the seed's filters, as the test knows them ------------------------------------ */

typedef struct expect_filter {
    const char *name;
    cond_kind kind;
    int rel;
} expect_filter;

static const expect_filter seed_filters[22] = {
    {"id", COND_ID_IN, -1},
    {"customer-id-eq", COND_REL_IN, REL_CUSTOMER},
    {"vendor-id-eq", COND_REL_IN, REL_VENDOR},
    {"customer-acc-id-eq", COND_REL_IN, REL_CUSTOMER_ACC},
    {"vendor-acc-id-eq", COND_REL_IN, REL_VENDOR_ACC},
    {"customer-auth-id-eq", COND_REL_IN, REL_CUSTOMER_AUTH},
    {"rateplan-id-eq", COND_REL_IN, REL_RATEPLAN},
    {"destination-id-eq", COND_REL_IN, REL_DESTINATION},
    {"routing-group-id-eq", COND_REL_IN, REL_ROUTING_GROUP},
    {"routing-plan-id-eq", COND_REL_IN, REL_ROUTING_PLAN},
    {"dialpeer-id-eq", COND_REL_IN, REL_DIALPEER},
    {"orig-gw-id-eq", COND_REL_IN, REL_ORIG_GW},
    {"term-gw-id-eq", COND_REL_IN, REL_TERM_GW},
    {"src-country-id-eq", COND_REL_IN, REL_SRC_COUNTRY},
    {"src-network-id-eq", COND_REL_IN, REL_SRC_NETWORK},
    {"dst-country-id-eq", COND_REL_IN, REL_DST_COUNTRY},
    {"dst-network-id-eq", COND_REL_IN, REL_DST_NETWORK},
    {"pop-id-eq", COND_POP_IN, -1},
    {"node-id-eq", COND_NODE_IN, -1},
    {"duration-equals", COND_DURATION_EQ, -1},
    {"duration-greater-than", COND_DURATION_GT, -1},
    {"duration-less-than", COND_DURATION_LT, -1},
};

/* The filters beyond the seed's (docs/API.md, "Filters"). */
static const expect_filter more_filters[7] = {
    {"src-prefix-routing-starts-with", COND_ATTR_PREFIX, -1},
    {"dst-prefix-routing-starts-with", COND_ATTR_PREFIX, -1},
    {"orig-call-id-eq", COND_ATTR_EQ, -1},
    {"local-tag-eq", COND_TAG_EQ, -1},
    {"connected", COND_CONNECTED, -1},
    {"duration-gteq", COND_DURATION_GTEQ, -1},
    {"duration-lteq", COND_DURATION_LTEQ, -1},
};

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct parsed {
    listing_query q;
    jsonapi_errors errs;
    int nerr;
    json_t *doc;    /* the error document, parsed */
    char *doc_text; /* and as written */
} parsed;

static void parse_params(parsed *p, const query_param *params, size_t n)
{
    memset(p, 0, sizeof *p);
    jerr_init(&p->errs);
    p->nerr = listing_query_parse(&p->q, params, n, &p->errs);
    assert_int_equal(p->nerr, p->errs.n);
    buf out;
    buf_init(&out);
    jerr_document(&p->errs, &out);
    assert_false(out.oom);
    p->doc_text = buf_steal(&out);
    json_error_t err;
    p->doc = json_loads(p->doc_text, 0, &err);
    if (!p->doc) fail_msg("error document is not JSON (%s): %s", err.text, p->doc_text);
    json_t *arr = json_object_get(p->doc, "errors");
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), (size_t)p->nerr);
    assert_int_equal(json_object_size(p->doc), 1);
}

static void parse1(parsed *p, const char *key, const char *value)
{
    query_param prm = {key, value};
    parse_params(p, &prm, 1);
}

static void parsed_free(parsed *p)
{
    listing_query_free(&p->q);
    jerr_free(&p->errs);
    json_decref(p->doc);
    free(p->doc_text);
}

/* The i-th error object has exactly these four members. */
static void assert_error(const parsed *p, size_t i, const char *code, const char *title, const char *detail)
{
    json_t *e = json_array_get(json_object_get(p->doc, "errors"), i);
    assert_non_null(e);
    assert_int_equal(json_object_size(e), 4);
    const char *got_code = json_string_value(json_object_get(e, "code"));
    const char *got_title = json_string_value(json_object_get(e, "title"));
    const char *got_detail = json_string_value(json_object_get(e, "detail"));
    const char *got_status = json_string_value(json_object_get(e, "status"));
    assert_non_null(got_code);
    assert_non_null(got_title);
    assert_non_null(got_detail);
    assert_non_null(got_status);
    assert_string_equal(got_code, code);
    assert_string_equal(got_title, title);
    if (strcmp(got_detail, detail) != 0) fail_msg("detail '%s', want '%s'", got_detail, detail);
    assert_string_equal(got_status, "400");
}

static void bad_value(const char *key, const char *value, const char *dashed)
{
    parsed p;
    parse1(&p, key, value);
    if (p.nerr != 1) fail_msg("%s=%s: %d errors, want 1", key, value, p.nerr);
    char want[512];
    snprintf(want, sizeof want, "%s is not a valid value for %s.", value, dashed);
    assert_error(&p, 0, "103", "Invalid filter value", want);
    assert_int_equal(p.errs.status, 400);
    parsed_free(&p);
}

static void good_value(const char *key, const char *value)
{
    parsed p;
    parse1(&p, key, value);
    if (p.nerr != 0) fail_msg("%s=%s refused: %s", key, value, p.doc_text);
    assert_int_equal(p.q.n, 1);
    parsed_free(&p);
}

/* Hand-built records: the tags live in the callset arena. */
static call_record *add_call(callset *cs, const char *tag, int64_t duration)
{
    size_t off = cs->arena.len;
    buf_puts(&cs->arena, tag);
    call_record *r = callset_push(cs);
    assert_non_null(r);
    r->tag = (call_span){(uint32_t)off, (uint32_t)strlen(tag)};
    r->duration = duration;
    return r;
}

static bool match1(const char *key, const char *value, int64_t node, const callset *cs, const call_record *r)
{
    parsed p;
    parse1(&p, key, value);
    if (p.nerr) fail_msg("%s=%s refused: %s", key, value, p.doc_text);
    bool m = listing_query_match(&p.q, node, cs, r);
    parsed_free(&p);
    return m;
}

/* "filter[<name>]", the name dashed or (underscored) with underscores. */
static void filter_key(char *key, size_t cap, const char *name, bool underscored)
{
    snprintf(key, cap, "filter[%s]", name);
    for (char *c = key; underscored && *c; c++)
        if (*c == '-') *c = '_';
}

/* ---- filter names ---------------------------------------------------------------------- */

static void test_all_filters_both_spellings(void **state)
{
    for (int i = 0; i < 22; i++) {
        const expect_filter *f = &seed_filters[i];
        for (int s = 0; s < 2; s++) {
            char key[80];
            filter_key(key, sizeof key, f->name, s);
            parsed p;
            parse1(&p, key, f->kind == COND_ID_IN ? "3*abc" : "5");
            if (p.nerr) fail_msg("%s refused: %s", key, p.doc_text);
            assert_int_equal(p.q.n, 1);
            assert_int_equal(p.q.conds[0].kind, f->kind);
            if (f->kind == COND_REL_IN) assert_int_equal(p.q.conds[0].rel, f->rel);
            if (f->kind == COND_ID_IN) {
                assert_int_equal(p.q.conds[0].nids, 1);
                assert_int_equal(p.q.conds[0].ids[0].node_id, 3);
                assert_int_equal(p.q.conds[0].ids[0].tag_len, 3);
                assert_memory_equal(p.q.conds[0].ids[0].tag, "abc", 3);
            } else {
                assert_int_equal(p.q.conds[0].nvals, 1);
                assert_int_equal(p.q.conds[0].vals[0], 5);
            }
            assert_string_equal(p.doc_text, "{\"errors\":[]}");
            parsed_free(&p);
        }
    }
    /* mixed spelling is normalised too */
    good_value("filter[customer_id-eq]", "1");
}

static void test_all_filters_together(void **state)
{
    query_param params[29];
    char keys[29][80];
    cond_kind kinds[29];
    for (int i = 0; i < 29; i++) {
        const expect_filter *f = i < 22 ? &seed_filters[i] : &more_filters[i - 22];
        snprintf(keys[i], sizeof keys[i], "filter[%s]", f->name);
        params[i] = (query_param){keys[i],
                                  f->kind == COND_ID_IN           ? "1*x"
                                      : f->kind == COND_CONNECTED ? "true"
                                                                  : "1"};
        kinds[i] = f->kind;
    }
    parsed p;
    parse_params(&p, params, 29);
    assert_int_equal(p.nerr, 0);
    assert_int_equal(p.q.n, 29);
    for (int i = 0; i < 29; i++) assert_int_equal(p.q.conds[i].kind, kinds[i]);
    parsed_free(&p);
}

static void test_no_params(void **state)
{
    parsed p;
    parse_params(&p, NULL, 0);
    assert_int_equal(p.nerr, 0);
    assert_int_equal(p.q.n, 0);
    assert_int_equal(p.errs.status, 0);
    assert_true(listing_query_wants_node(&p.q, 1, 1));
    size_t n = 99;
    const char **tags = listing_query_tags_for(&p.q, 1, &n);
    assert_null(tags);
    assert_int_equal(n, 0);
    callset cs;
    callset_init(&cs);
    call_record *r = add_call(&cs, "t", CALL_DURATION_NULL);
    assert_true(listing_query_match(&p.q, 1, &cs, r));
    callset_free(&cs);
    parsed_free(&p);
}

/* ---- values -------------------------------------------------------------------------------- */

static void test_int_list_values(void **state)
{
    struct {
        const char *v;
        size_t n;
        int64_t vals[3];
    } cases[] = {
        {"1", 1, {1}},
        {"1,2", 2, {1, 2}},
        {" 1 , 2 ", 2, {1, 2}},
        {"1, 2,3", 3, {1, 2, 3}},
        {"\t7\t", 1, {7}},
        {"-5", 1, {-5}},
        {"+5", 1, {5}},
        {"007", 1, {7}},
        {"0", 1, {0}},
        {"9223372036854775807", 1, {INT64_MAX}},
        {"-9223372036854775808", 1, {INT64_MIN}},
        {"5,5", 2, {5, 5}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        parsed p;
        parse1(&p, "filter[customer-id-eq]", cases[i].v);
        if (p.nerr) fail_msg("'%s' refused", cases[i].v);
        assert_int_equal(p.q.conds[0].nvals, cases[i].n);
        for (size_t k = 0; k < cases[i].n; k++) assert_int_equal(p.q.conds[0].vals[k], cases[i].vals[k]);
        parsed_free(&p);
    }
    /* a duration takes exactly one integer */
    good_value("filter[duration-equals]", "30");
    good_value("filter[duration-greater-than]", " -1 ");
    good_value("filter[duration_less_than]", "0");
}

static void test_bad_values_103(void **state)
{
    const char *bad[] = {"abc",
                         "",
                         "1.5",
                         "1,,2",
                         "99999999999999999999",
                         "-99999999999999999999",
                         "9223372036854775808",
                         ",1",
                         "1,",
                         ",",
                         "1 2",
                         "0x10",
                         "--1",
                         "+-1",
                         "+",
                         "-",
                         " ",
                         "1e3",
                         "1_000",
                         "١",
                         "5abc",
                         "1;2",
                         "true",
                         "null"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        bad_value("filter[customer-id-eq]", bad[i], "customer-id-eq");
    /* the detail names the filter dashed, whatever spelling was sent */
    bad_value("filter[customer_id_eq]", "abc", "customer-id-eq");
    bad_value("filter[src_network_id_eq]", "1.5", "src-network-id-eq");
    bad_value("filter[node_id_eq]", "x", "node-id-eq");
    bad_value("filter[pop-id-eq]", "", "pop-id-eq");
    /* durations: one integer, not a list */
    bad_value("filter[duration-equals]", "1,2", "duration-equals");
    bad_value("filter[duration_greater_than]", "1,2", "duration-greater-than");
    bad_value("filter[duration-less-than]", "abc", "duration-less-than");
    bad_value("filter[duration-less-than]", "", "duration-less-than");
    bad_value("filter[duration-equals]", "32.5", "duration-equals");
    bad_value("filter[duration-equals]", "99999999999999999999", "duration-equals");
}

static void test_bad_id_values_103(void **state)
{
    const char *bad[] = {"abc",
                         "*x",
                         "1*",
                         "x*y",
                         "",
                         "1",
                         "*",
                         "1*a,,2*b",
                         "1*a,",
                         ",1*a",
                         "-1*a",
                         "+1*a",
                         "1.5*a",
                         " * ",
                         "1 *a",
                         "a1*b",
                         "99999999999999999999*a",
                         "01*a",
                         "00*a",
                         "0*a",
                         "9223372036854775808*a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) bad_value("filter[id]", bad[i], "id");
}

static void test_id_values(void **state)
{
    parsed p;
    parse1(&p, "filter[id]", " 1*a , 22*b*c,1*FC-D0E4 ");
    assert_int_equal(p.nerr, 0);
    const query_cond *c = &p.q.conds[0];
    assert_int_equal(c->nids, 3);
    assert_int_equal(c->ids[0].node_id, 1);
    assert_int_equal(c->ids[0].tag_len, 1);
    assert_memory_equal(c->ids[0].tag, "a", 1);
    assert_int_equal(c->ids[1].node_id, 22);
    assert_int_equal(c->ids[1].tag_len, 3);
    assert_memory_equal(c->ids[1].tag, "b*c", 3); /* the first '*' separates */
    assert_int_equal(c->ids[2].node_id, 1);
    assert_int_equal(c->ids[2].tag_len, 7);
    assert_memory_equal(c->ids[2].tag, "FC-D0E4", 7);
    parsed_free(&p);
    /* the seed's id */
    parse1(&p, "filter[id]", "1*FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86");
    assert_int_equal(p.nerr, 0);
    assert_int_equal(p.q.conds[0].ids[0].tag_len, 57);
    parsed_free(&p);
}

/* ---- unknown filters and parameters -------------------------------------------------------- */

static void unknown(const char *key, const char *value, const char *code, const char *title, const char *name)
{
    parsed p;
    parse1(&p, key, value);
    if (p.nerr != 1) fail_msg("%s: %d errors, want 1", key, p.nerr);
    char want[512];
    snprintf(want, sizeof want, "%s is not allowed.", name);
    assert_error(&p, 0, code, title, want);
    assert_int_equal(p.q.n, 0);
    parsed_free(&p);
}

static void test_unknown_filter_102(void **state)
{
    unknown("filter[foo]", "1", "102", "Filter not allowed", "foo");
    unknown("filter[foo]", "not even a number", "102", "Filter not allowed", "foo");
    unknown("filter[customer-id]", "1", "102", "Filter not allowed", "customer-id");
    unknown("filter[customer_id]", "1", "102", "Filter not allowed", "customer_id"); /* as sent */
    unknown("filter[customer-id-eq-]", "1", "102", "Filter not allowed", "customer-id-eq-");
    unknown("filter[CUSTOMER-ID-EQ]", "1", "102", "Filter not allowed", "CUSTOMER-ID-EQ");
    unknown("filter[duration]", "1", "102", "Filter not allowed", "duration");
    unknown("filter[node-id-in]", "1", "102", "Filter not allowed", "node-id-in");
    unknown("filter[local-tag]", "x", "102", "Filter not allowed", "local-tag");
    unknown("filter[ id]", "1*a", "102", "Filter not allowed", " id");
}

static void test_unknown_param_105(void **state)
{
    /* include and fields[...] have their own parsers (jsonapi/include.c, fields.c) */
    parsed skip;
    parse1(&skip, "include", "customer");
    assert_int_equal(skip.nerr, 0);
    parsed_free(&skip);
    parse1(&skip, "fields[active-calls]", "duration");
    assert_int_equal(skip.nerr, 0);
    parsed_free(&skip);
    /* sort, page[...] and group-by too (jsonapi/sort.c, page.c, api/params.c) */
    static const char *const others[] = {"sort", "page[number]", "page[foo]", "group-by"};
    for (size_t i = 0; i < 4; i++) {
        parse1(&skip, others[i], "whatever");
        assert_int_equal(skip.nerr, 0);
        assert_int_equal(skip.q.n, 0);
        parsed_free(&skip);
    }
    unknown("page", "1", "105", "Param not allowed", "page");
    unknown("Sort", "-duration", "105", "Param not allowed", "Sort");
    unknown("group_by", "node-id", "105", "Param not allowed", "group_by");
    unknown("filter", "1", "105", "Param not allowed", "filter");
    unknown("Filter[id]", "1*a", "105", "Param not allowed", "Filter[id]");
    unknown("foo", "", "105", "Param not allowed", "foo");
    unknown("", "", "105", "Param not allowed", "");
}

/* The one list of known keys, and the 105 every endpoint writes for a key
 * it does not take: the key cut at 200 bytes, marked "...". */
static void test_param_keys(void **state)
{
    assert_int_equal(query_key_of("filter[id]"), QUERY_KEY_FILTER);
    assert_int_equal(query_key_of("filter["), QUERY_KEY_FILTER);
    assert_int_equal(query_key_of("include"), QUERY_KEY_INCLUDE);
    assert_int_equal(query_key_of("fields[nodes]"), QUERY_KEY_FIELDS);
    assert_int_equal(query_key_of("token"), QUERY_KEY_TOKEN);
    assert_int_equal(query_key_of("sort"), QUERY_KEY_SORT);
    assert_int_equal(query_key_of("page[size]"), QUERY_KEY_PAGE);
    assert_int_equal(query_key_of("page["), QUERY_KEY_PAGE);
    assert_int_equal(query_key_of("group-by"), QUERY_KEY_GROUP_BY);
    static const char *const unknown_keys[] = {"filter",   "Filter[id]", "includes", "fields",
                                               "Token",    "sorts",      "page",     "Page[size]",
                                               "group_by", "groupby",    ""};
    for (size_t i = 0; i < sizeof unknown_keys / sizeof unknown_keys[0]; i++)
        assert_int_equal(query_key_of(unknown_keys[i]), QUERY_KEY_UNKNOWN);

    char key[301];
    memset(key, 'k', 300);
    key[300] = '\0';
    jsonapi_errors e;
    jerr_init(&e);
    query_param_not_allowed(&e, key);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.status, 400);
    buf out;
    buf_init(&out);
    jerr_document(&e, &out);
    char want[400];
    snprintf(want, sizeof want, "\"detail\":\"%.200s... is not allowed.\",\"code\":\"105\"", key);
    buf_putc(&out, '\0');
    if (!strstr(out.data, want)) fail_msg("%s", out.data);
    buf_free(&out);
    jerr_free(&e);
}

static void test_errors_collected_in_order(void **state)
{
    query_param params[] = {
        {"filter[foo]", "1"},
        {"filter[customer-id-eq]", "abc"},
        {"filter[node-id-eq]", "1"}, /* fine */
        {"include", "x"},            /* not this parser's: skipped */
        {"filter[duration-equals]", "1,2"},
        {"filter[id]", "x*y"},
        {"filter[customer_id_eq]", "2"}, /* fine */
        {"bogus", ""},
    };
    parsed p;
    parse_params(&p, params, sizeof params / sizeof params[0]);
    assert_int_equal(p.nerr, 5);
    assert_int_equal(p.errs.status, 400);
    assert_error(&p, 0, "102", "Filter not allowed", "foo is not allowed.");
    assert_error(&p, 1, "103", "Invalid filter value", "abc is not a valid value for customer-id-eq.");
    assert_error(&p, 2, "103", "Invalid filter value", "1,2 is not a valid value for duration-equals.");
    assert_error(&p, 3, "103", "Invalid filter value", "x*y is not a valid value for id.");
    assert_error(&p, 4, "105", "Param not allowed", "bogus is not allowed.");
    /* compact, members in the documented order */
    const char *first = "{\"errors\":[{\"title\":\"Filter not allowed\",\"detail\":\"foo is not allowed.\","
                        "\"code\":\"102\",\"status\":\"400\"},{\"title\":\"Invalid filter value\",";
    assert_memory_equal(p.doc_text, first, strlen(first));
    assert_null(strstr(p.doc_text, "\": "));
    assert_null(strstr(p.doc_text, "\", \""));
    assert_null(strstr(p.doc_text, "}, {"));
    parsed_free(&p);
}

static void test_hostile_values_echoed_safely(void **state)
{
    /* quotes, backslashes, control characters, invalid UTF-8: valid JSON out,
     * the detail decodes back to the text sent */
    const char *v = "a\"b\\c\n\x01</script>";
    parsed p;
    parse1(&p, "filter[vendor-id-eq]", v);
    assert_int_equal(p.nerr, 1);
    char want[256];
    snprintf(want, sizeof want, "%s is not a valid value for vendor-id-eq.", v);
    assert_error(&p, 0, "103", "Invalid filter value", want);
    parsed_free(&p);

    parse1(&p, "filter[vendor-id-eq]", "\xff\xfe");
    assert_int_equal(p.nerr, 1);
    assert_error(&p, 0, "103", "Invalid filter value",
                 "\xef\xbf\xbd\xef\xbf\xbd is not a valid value for vendor-id-eq.");
    parsed_free(&p);

    parse1(&p, "filter[\"x\n]", "1");
    assert_int_equal(p.nerr, 1);
    assert_error(&p, 0, "102", "Filter not allowed", "\"x\n is not allowed.");
    parsed_free(&p);

    parse1(&p, "\"><img>", "1");
    assert_error(&p, 0, "105", "Param not allowed", "\"><img> is not allowed.");
    parsed_free(&p);
}

static void test_long_values_cut(void **state)
{
    /* user text is echoed up to 200 bytes, then "..." */
    char v[301];
    memset(v, 'a', 300);
    v[300] = '\0';
    char want[400];
    snprintf(want, sizeof want, "%.200s... is not a valid value for customer-id-eq.", v);
    parsed p;
    parse1(&p, "filter[customer-id-eq]", v);
    assert_int_equal(p.nerr, 1);
    assert_error(&p, 0, "103", "Invalid filter value", want);
    parsed_free(&p);

    /* exactly 200 is not cut */
    v[200] = '\0';
    snprintf(want, sizeof want, "%s is not a valid value for customer-id-eq.", v);
    parse1(&p, "filter[customer-id-eq]", v);
    assert_error(&p, 0, "103", "Invalid filter value", want);
    parsed_free(&p);

    /* a huge value and a huge key: bounded, still valid JSON */
    size_t n = 100000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, '9', n);
    big[n] = '\0';
    parse1(&p, "filter[customer-id-eq]", big);
    assert_int_equal(p.nerr, 1);
    assert_true(strlen(p.doc_text) < 1000);
    parsed_free(&p);
    parse1(&p, big, "1");
    assert_int_equal(p.nerr, 1);
    assert_true(strlen(p.doc_text) < 1000);
    parsed_free(&p);
    char *bigkey = malloc(n + 10);
    assert_non_null(bigkey);
    snprintf(bigkey, n + 10, "filter[%s]", big);
    parse1(&p, bigkey, "1");
    assert_int_equal(p.nerr, 1);
    json_t *e = json_array_get(json_object_get(p.doc, "errors"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "102");
    assert_true(strlen(p.doc_text) < 1000);
    parsed_free(&p);
    /* a long id list */
    buf ids;
    buf_init(&ids);
    for (int i = 0; i < 5000; i++) buf_printf(&ids, "%s%d*tag-%d", i ? "," : "", i % 9 + 1, i);
    buf_putc(&ids, '\0');
    parse1(&p, "filter[id]", ids.data);
    assert_int_equal(p.nerr, 0);
    assert_int_equal(p.q.conds[0].nids, 5000);
    parsed_free(&p);
    buf_free(&ids);
    free(big);
    free(bigkey);
}

/* ---- evaluation ------------------------------------------------------------------------------ */

static void test_wants_node(void **state)
{
    parsed p;
    parse1(&p, "filter[node-id-eq]", "1,2");
    assert_true(listing_query_wants_node(&p.q, 1, 9));
    assert_true(listing_query_wants_node(&p.q, 2, 9));
    assert_false(listing_query_wants_node(&p.q, 3, 9));
    parsed_free(&p);

    parse1(&p, "filter[pop_id_eq]", "5");
    assert_true(listing_query_wants_node(&p.q, 1, 5));
    assert_true(listing_query_wants_node(&p.q, 7, 5));
    assert_false(listing_query_wants_node(&p.q, 1, 6));
    parsed_free(&p);

    parse1(&p, "filter[id]", "1*a,2*b");
    assert_true(listing_query_wants_node(&p.q, 1, 0));
    assert_true(listing_query_wants_node(&p.q, 2, 0));
    assert_false(listing_query_wants_node(&p.q, 3, 0));
    parsed_free(&p);

    /* per-call filters do not decide which nodes are asked */
    parse1(&p, "filter[customer-id-eq]", "1");
    assert_true(listing_query_wants_node(&p.q, 3, 3));
    parsed_free(&p);
    parse1(&p, "filter[duration-greater-than]", "100");
    assert_true(listing_query_wants_node(&p.q, 3, 3));
    parsed_free(&p);

    /* combinations AND */
    query_param both[] = {{"filter[node-id-eq]", "1,2"}, {"filter[pop-id-eq]", "5"}};
    parse_params(&p, both, 2);
    assert_true(listing_query_wants_node(&p.q, 1, 5));
    assert_false(listing_query_wants_node(&p.q, 1, 6));
    assert_false(listing_query_wants_node(&p.q, 3, 5));
    parsed_free(&p);
    query_param rep[] = {{"filter[node-id-eq]", "1,2"}, {"filter[node_id_eq]", "2,3"}};
    parse_params(&p, rep, 2);
    assert_false(listing_query_wants_node(&p.q, 1, 0));
    assert_true(listing_query_wants_node(&p.q, 2, 0));
    assert_false(listing_query_wants_node(&p.q, 3, 0));
    parsed_free(&p);
    query_param idnode[] = {{"filter[id]", "1*a,2*b"}, {"filter[node-id-eq]", "2"}};
    parse_params(&p, idnode, 2);
    assert_false(listing_query_wants_node(&p.q, 1, 0));
    assert_true(listing_query_wants_node(&p.q, 2, 0));
    parsed_free(&p);
}

static void test_tags_for(void **state)
{
    parsed p;
    parse1(&p, "filter[id]", "1*a,2*b,1*c d, 1*e*f");
    size_t n = 99;
    const char **tags = listing_query_tags_for(&p.q, 1, &n);
    assert_non_null(tags);
    assert_int_equal(n, 3);
    assert_string_equal(tags[0], "a");
    assert_string_equal(tags[1], "c d");
    assert_string_equal(tags[2], "e*f");
    free(tags);
    tags = listing_query_tags_for(&p.q, 2, &n);
    assert_int_equal(n, 1);
    assert_string_equal(tags[0], "b");
    free(tags);
    tags = listing_query_tags_for(&p.q, 3, &n); /* not asked at all (wants_node is false) */
    assert_int_equal(n, 0);
    free(tags);
    parsed_free(&p);

    /* no filter[id]: all calls */
    parse1(&p, "filter[node-id-eq]", "1");
    n = 99;
    tags = listing_query_tags_for(&p.q, 1, &n);
    assert_null(tags);
    assert_int_equal(n, 0);
    parsed_free(&p);

    /* the first filter[id] decides what is asked */
    query_param two[] = {{"filter[node-id-eq]", "1"}, {"filter[id]", "1*x,1*y"}, {"filter[id]", "1*y"}};
    parse_params(&p, two, 3);
    tags = listing_query_tags_for(&p.q, 1, &n);
    assert_int_equal(n, 2);
    assert_string_equal(tags[0], "x");
    assert_string_equal(tags[1], "y");
    free(tags);
    parsed_free(&p);
}

static void test_match_rel_in_every_relationship(void **state)
{
    callset cs;
    callset_init(&cs);
    call_record *set = add_call(&cs, "t", 10);
    call_record *unset = add_call(&cs, "u", 10);
    for (int i = 0; i < 22; i++) {
        const expect_filter *f = &seed_filters[i];
        if (f->kind != COND_REL_IN) continue;
        char key[80];
        snprintf(key, sizeof key, "filter[%s]", f->name);
        for (int k = 0; k < REL_FROM_RECORD; k++) set->rel_id[k] = 1000 + k; /* other fields differ */
        set->rel_id[f->rel] = 5;
        assert_true(match1(key, "5", 1, &cs, set));
        assert_true(match1(key, "4,5", 1, &cs, set));
        assert_true(match1(key, "5,4", 1, &cs, set));
        assert_false(match1(key, "4", 1, &cs, set));
        assert_false(match1(key, "4,6", 1, &cs, set));
        assert_false(match1(key, "-5", 1, &cs, set));
        /* a call lacking the field (not routed yet) matches none */
        assert_true(unset->rel_id[f->rel] == CALL_ID_NONE);
        assert_false(match1(key, "5", 1, &cs, unset));
        assert_false(match1(key, "-9223372036854775808", 1, &cs, unset));
    }
    /* pop-id-eq matches on the call's pop_id field? no: it is decided per node */
    set->rel_id[REL_POP] = 5;
    assert_true(match1("filter[pop-id-eq]", "6", 1, &cs, set));
    callset_free(&cs);
}

static void test_match_node(void **state)
{
    callset cs;
    callset_init(&cs);
    call_record *r = add_call(&cs, "t", 10);
    assert_true(match1("filter[node-id-eq]", "1", 1, &cs, r));
    assert_true(match1("filter[node-id-eq]", "3,1", 1, &cs, r));
    assert_false(match1("filter[node-id-eq]", "1", 2, &cs, r));
    assert_false(match1("filter[node-id-eq]", "3,4", 2, &cs, r));
    callset_free(&cs);
}

static void test_match_duration(void **state)
{
    callset cs;
    callset_init(&cs);
    call_record *r30 = add_call(&cs, "a", 30);
    call_record *r0 = add_call(&cs, "b", 0);
    call_record *rneg = add_call(&cs, "c", -2);
    call_record *rnull = add_call(&cs, "d", CALL_DURATION_NULL);

    assert_true(match1("filter[duration-equals]", "30", 1, &cs, r30));
    assert_false(match1("filter[duration-equals]", "31", 1, &cs, r30));
    assert_false(match1("filter[duration-equals]", "29", 1, &cs, r30));
    assert_true(match1("filter[duration-equals]", "0", 1, &cs, r0));
    assert_true(match1("filter[duration-equals]", "-2", 1, &cs, rneg));

    assert_true(match1("filter[duration-greater-than]", "29", 1, &cs, r30));
    assert_false(match1("filter[duration-greater-than]", "30", 1, &cs, r30)); /* strict */
    assert_false(match1("filter[duration-greater-than]", "31", 1, &cs, r30));
    assert_true(match1("filter[duration-greater-than]", "-1", 1, &cs, r0));

    assert_true(match1("filter[duration-less-than]", "31", 1, &cs, r30));
    assert_false(match1("filter[duration-less-than]", "30", 1, &cs, r30)); /* strict */
    assert_false(match1("filter[duration-less-than]", "0", 1, &cs, r0));
    assert_true(match1("filter[duration-less-than]", "1", 1, &cs, r0));
    assert_true(match1("filter[duration-less-than]", "0", 1, &cs, rneg));

    /* null duration (not yet connected) matches none of them */
    const char *vals[] = {"0", "-1", "1", "9223372036854775807", "-9223372036854775808"};
    for (size_t i = 0; i < 5; i++) {
        assert_false(match1("filter[duration-equals]", vals[i], 1, &cs, rnull));
        assert_false(match1("filter[duration-greater-than]", vals[i], 1, &cs, rnull));
        assert_false(match1("filter[duration-less-than]", vals[i], 1, &cs, rnull));
    }
    callset_free(&cs);
}

static void test_match_id(void **state)
{
    callset cs;
    callset_init(&cs);
    call_record *a = add_call(&cs, "a", 1);
    call_record *ab = add_call(&cs, "ab", 1);
    call_record *star = add_call(&cs, "x*y", 1);
    assert_true(match1("filter[id]", "1*a", 1, &cs, a));
    assert_false(match1("filter[id]", "1*a", 2, &cs, a)); /* same tag, other node */
    assert_false(match1("filter[id]", "2*a", 1, &cs, a));
    assert_false(match1("filter[id]", "1*a", 1, &cs, ab)); /* prefix is not equality */
    assert_false(match1("filter[id]", "1*ab", 1, &cs, a));
    assert_false(match1("filter[id]", "1*A", 1, &cs, a)); /* case-sensitive */
    assert_true(match1("filter[id]", "2*zz,1*ab", 1, &cs, ab));
    assert_true(match1("filter[id]", "3*x*y", 3, &cs, star));
    callset_free(&cs);
}

static void test_repeated_keys_and(void **state)
{
    callset cs;
    callset_init(&cs);
    call_record *r1 = add_call(&cs, "a", 15);
    call_record *r2 = add_call(&cs, "b", 25);
    call_record *r3 = add_call(&cs, "c", 5);
    r1->rel_id[REL_CUSTOMER] = 1;
    r2->rel_id[REL_CUSTOMER] = 2;
    r3->rel_id[REL_CUSTOMER] = 3;
    r1->rel_id[REL_VENDOR] = 7;
    r2->rel_id[REL_VENDOR] = 7;

    parsed p;
    query_param rep[] = {{"filter[customer-id-eq]", "1,2"}, {"filter[customer_id_eq]", "2,3"}};
    parse_params(&p, rep, 2);
    assert_int_equal(p.q.n, 2);
    assert_false(listing_query_match(&p.q, 1, &cs, r1));
    assert_true(listing_query_match(&p.q, 1, &cs, r2));
    assert_false(listing_query_match(&p.q, 1, &cs, r3));
    parsed_free(&p);

    query_param range[] = {{"filter[duration-greater-than]", "10"}, {"filter[duration-less-than]", "20"}};
    parse_params(&p, range, 2);
    assert_true(listing_query_match(&p.q, 1, &cs, r1));
    assert_false(listing_query_match(&p.q, 1, &cs, r2));
    assert_false(listing_query_match(&p.q, 1, &cs, r3));
    parsed_free(&p);

    query_param mix[] = {
        {"filter[vendor-id-eq]", "7"}, {"filter[duration-greater-than]", "20"}, {"filter[node-id-eq]", "4"}};
    parse_params(&p, mix, 3);
    assert_false(listing_query_match(&p.q, 4, &cs, r1));
    assert_true(listing_query_match(&p.q, 4, &cs, r2));
    assert_false(listing_query_match(&p.q, 5, &cs, r2));
    assert_false(listing_query_match(&p.q, 4, &cs, r3));
    parsed_free(&p);

    query_param ids[] = {{"filter[id]", "1*a,1*b"}, {"filter[id]", "1*b,1*c"}};
    parse_params(&p, ids, 2);
    assert_false(listing_query_match(&p.q, 1, &cs, r1));
    assert_true(listing_query_match(&p.q, 1, &cs, r2));
    assert_false(listing_query_match(&p.q, 1, &cs, r3));
    parsed_free(&p);

    /* contradictory repeats match nothing */
    query_param none[] = {{"filter[duration-equals]", "15"}, {"filter[duration-equals]", "25"}};
    parse_params(&p, none, 2);
    assert_false(listing_query_match(&p.q, 1, &cs, r1));
    assert_false(listing_query_match(&p.q, 1, &cs, r2));
    parsed_free(&p);
    callset_free(&cs);
}

/* ---- the filters beyond the seed ------------------------------------------------------ */

static void test_more_filters_both_spellings(void **state)
{
    static const int attrs[7] = {ATTR_SRC_PREFIX_ROUTING, ATTR_DST_PREFIX_ROUTING, ATTR_ORIG_CALL_ID};
    for (int i = 0; i < 7; i++) {
        const expect_filter *f = &more_filters[i];
        for (int s = 0; s < 2; s++) {
            char key[80];
            filter_key(key, sizeof key, f->name, s);
            const char *value = f->kind == COND_CONNECTED ? "true"
                : f->kind <= COND_DURATION_LTEQ           ? "5"
                                                          : "ab";
            parsed p;
            parse1(&p, key, value);
            if (p.nerr) fail_msg("%s refused: %s", key, p.doc_text);
            assert_int_equal(p.q.n, 1);
            const query_cond *c = &p.q.conds[0];
            assert_int_equal(c->kind, f->kind);
            if (i < 3) assert_int_equal(c->attr, attrs[i]);
            if (f->kind == COND_CONNECTED || f->kind <= COND_DURATION_LTEQ) {
                assert_int_equal(c->nvals, 1);
                assert_int_equal(c->vals[0], f->kind == COND_CONNECTED ? 1 : 5);
            } else {
                assert_int_equal(c->nstrs, 1);
                assert_int_equal(c->strs[0].len, 2);
                assert_memory_equal(c->strs[0].s, "ab", 2);
            }
            parsed_free(&p);
        }
    }
}

static void test_string_list_values(void **state)
{
    static const struct {
        const char *filter, *value;
        size_t n;
        const char *items[3];
    } cases[] = {
        /* spaces around items do not count */
        {"src-prefix-routing-starts-with", " 380 ,44,1 2", 3, {"380", "44", "1 2"}},
        /* attribute values are kept JSON-escaped, as the records keep them */
        {"orig-call-id-eq", "a\"b\\c\x01,\xff", 2, {"a\\\"b\\\\c\\u0001", "\\ufffd"}},
        /* a local tag is kept as its bytes */
        {"local-tag-eq", "a\"b,x*y", 2, {"a\"b", "x*y"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char key[80];
        filter_key(key, sizeof key, cases[i].filter, false);
        parsed p;
        parse1(&p, key, cases[i].value);
        assert_int_equal(p.nerr, 0);
        const query_cond *c = &p.q.conds[0];
        assert_int_equal(c->nstrs, cases[i].n);
        for (size_t k = 0; k < cases[i].n; k++) {
            assert_int_equal(c->strs[k].len, strlen(cases[i].items[k]));
            assert_memory_equal(c->strs[k].s, cases[i].items[k], c->strs[k].len);
        }
        parsed_free(&p);
    }
    parsed p;
    parse1(&p, "filter[connected]", "false");
    assert_int_equal(p.nerr, 0);
    assert_int_equal(p.q.conds[0].vals[0], 0);
    parsed_free(&p);
}

static void test_more_filters_bad_values_103(void **state)
{
    static const char *const strings[] = {"src-prefix-routing-starts-with", "dst-prefix-routing-starts-with",
                                          "orig-call-id-eq", "local-tag-eq"};
    static const char *const empty_items[] = {"", " ", "38,", ",38", "38,,39", "38, ,39", ","};
    for (size_t f = 0; f < 4; f++)
        for (size_t i = 0; i < sizeof empty_items / sizeof empty_items[0]; i++) {
            char key[80];
            snprintf(key, sizeof key, "filter[%s]", strings[f]);
            bad_value(key, empty_items[i], strings[f]);
        }
    bad_value("filter[src_prefix_routing_starts_with]", "", "src-prefix-routing-starts-with");
    static const char *const bools[] = {"",      "yes",   "1",     "0",          "TRUE",
                                        "False", " true", "true ", "true,false", "null"};
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++)
        bad_value("filter[connected]", bools[i], "connected");
    bad_value("filter[duration-gteq]", "1,2", "duration-gteq");
    bad_value("filter[duration_gteq]", "abc", "duration-gteq");
    bad_value("filter[duration-lteq]", "", "duration-lteq");
    bad_value("filter[duration-lteq]", "1.5", "duration-lteq");
    good_value("filter[duration-lteq]", " -3 ");
}

/* Sets attribute a of r to the JSON text t (NULL: null). */
static void set_attr(callset *cs, call_record *r, int a, const char *t)
{
    if (!t) {
        r->attr[a] = (call_span){0, 0};
        return;
    }
    size_t off = cs->arena.len;
    buf_puts(&cs->arena, t);
    r->attr[a] = (call_span){(uint32_t)off, (uint32_t)strlen(t)};
}

static void test_match_prefix(void **state)
{
    callset cs;
    callset_init(&cs);
    call_record *r = add_call(&cs, "t", 10);
    const char *key = "filter[src-prefix-routing-starts-with]";
    set_attr(&cs, r, ATTR_SRC_PREFIX_ROUTING, "\"380\"");
    set_attr(&cs, r, ATTR_DST_PREFIX_ROUTING, "\"44\"");
    assert_true(match1(key, "38", 1, &cs, r));
    assert_true(match1(key, "380", 1, &cs, r)); /* the whole string is a prefix too */
    assert_true(match1(key, "3", 1, &cs, r));
    assert_true(match1(key, "44,38", 1, &cs, r));
    assert_false(match1(key, "3801", 1, &cs, r));
    assert_false(match1(key, "44", 1, &cs, r)); /* that is the other attribute */
    assert_false(match1(key, "80", 1, &cs, r));
    assert_true(match1("filter[dst_prefix_routing_starts_with]", "4", 1, &cs, r));
    assert_false(match1("filter[dst-prefix-routing-starts-with]", "38", 1, &cs, r));
    /* an empty string starts with no (non-empty) prefix */
    set_attr(&cs, r, ATTR_SRC_PREFIX_ROUTING, "\"\"");
    assert_false(match1(key, "3", 1, &cs, r));
    /* null, and a value that is not a string, never match */
    set_attr(&cs, r, ATTR_SRC_PREFIX_ROUTING, NULL);
    assert_false(match1(key, "3", 1, &cs, r));
    set_attr(&cs, r, ATTR_SRC_PREFIX_ROUTING, "380");
    assert_false(match1(key, "3", 1, &cs, r));
    set_attr(&cs, r, ATTR_SRC_PREFIX_ROUTING, "[\"380\"]");
    assert_false(match1(key, "3", 1, &cs, r));
    /* escaped text: the prefix a" of a"b, and a\ of a\b */
    set_attr(&cs, r, ATTR_SRC_PREFIX_ROUTING, "\"a\\\"b\"");
    assert_true(match1(key, "a\"", 1, &cs, r));
    assert_true(match1(key, "a\"b", 1, &cs, r));
    assert_false(match1(key, "a\\", 1, &cs, r));
    set_attr(&cs, r, ATTR_SRC_PREFIX_ROUTING, "\"a\\\\b\"");
    assert_true(match1(key, "a\\", 1, &cs, r));
    assert_false(match1(key, "a\"", 1, &cs, r));
    /* non-ASCII as UTF-8, copied by the escaper */
    set_attr(&cs, r, ATTR_SRC_PREFIX_ROUTING, "\"\xc3\xa9t\xc3\xa9\"");
    assert_true(match1(key, "\xc3\xa9t", 1, &cs, r));
    callset_free(&cs);
}

static void test_match_orig_call_id_and_local_tag(void **state)
{
    callset cs;
    callset_init(&cs);
    call_record *r = add_call(&cs, "x*y\"z", 10);
    set_attr(&cs, r, ATTR_ORIG_CALL_ID, "\"abc@host\"");
    const char *key = "filter[orig-call-id-eq]";
    assert_true(match1(key, "abc@host", 1, &cs, r));
    assert_true(match1(key, "zz, abc@host", 1, &cs, r));
    assert_false(match1(key, "abc", 1, &cs, r)); /* the whole string */
    assert_false(match1(key, "abc@host2", 1, &cs, r));
    assert_false(match1(key, "ABC@host", 1, &cs, r));
    set_attr(&cs, r, ATTR_ORIG_CALL_ID, "\"q\\\"\\u0001\"");
    assert_true(match1("filter[orig_call_id_eq]", "q\"\x01", 1, &cs, r));
    set_attr(&cs, r, ATTR_ORIG_CALL_ID, NULL);
    assert_false(match1(key, "null", 1, &cs, r));

    /* the local tag: its raw bytes (record->tag), not the escaped attribute */
    key = "filter[local-tag-eq]";
    set_attr(&cs, r, ATTR_LOCAL_TAG, "\"x*y\\\"z\"");
    assert_true(match1(key, "x*y\"z", 1, &cs, r));
    assert_true(match1("filter[local_tag_eq]", "a,x*y\"z", 7, &cs, r)); /* any node */
    assert_false(match1(key, "x*y", 1, &cs, r));
    assert_false(match1(key, "x*y\\\"z", 1, &cs, r));
    callset_free(&cs);
}

static void test_match_connected(void **state)
{
    callset cs;
    callset_init(&cs);
    call_record *up = add_call(&cs, "a", 10);
    call_record *down = add_call(&cs, "b", CALL_DURATION_NULL);
    set_attr(&cs, up, ATTR_CONNECT_TIME, "\"2024-01-01T00:00:00.000Z\"");
    assert_true(match1("filter[connected]", "true", 1, &cs, up));
    assert_false(match1("filter[connected]", "false", 1, &cs, up));
    assert_false(match1("filter[connected]", "true", 1, &cs, down));
    assert_true(match1("filter[connected]", "false", 1, &cs, down));
    callset_free(&cs);
}

static void test_match_duration_gteq_lteq(void **state)
{
    static const struct {
        const char *filter, *value;
        int64_t duration;
        bool want;
    } cases[] = {
        {"duration-gteq", "30", 30, true},
        {"duration-gteq", "29", 30, true},
        {"duration-gteq", "31", 30, false},
        {"duration_lteq", "30", 30, true},
        {"duration-lteq", "31", 30, true},
        {"duration-lteq", "29", 30, false},
        {"duration-gteq", "-9223372036854775808", 30, true},
        {"duration-lteq", "9223372036854775807", INT64_MAX, true},
        {"duration-gteq", "9223372036854775807", INT64_MAX, true},
        /* the ends of the range: nothing is greater than the largest, less than the smallest */
        {"duration-greater-than", "9223372036854775807", INT64_MAX, false},
        {"duration-greater-than", "9223372036854775806", INT64_MAX, true},
        {"duration-less-than", "-9223372036854775808", 30, false},
        /* null duration (not yet connected) matches none */
        {"duration-gteq", "-9223372036854775808", CALL_DURATION_NULL, false},
        {"duration-lteq", "9223372036854775807", CALL_DURATION_NULL, false},
        {"duration-lteq", "0", CALL_DURATION_NULL, false},
    };
    callset cs;
    callset_init(&cs);
    call_record *r = add_call(&cs, "a", 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char key[64];
        snprintf(key, sizeof key, "filter[%s]", cases[i].filter);
        r->duration = cases[i].duration;
        if (match1(key, cases[i].value, 1, &cs, r) != cases[i].want)
            fail_msg("%s=%s on %lld s: want %d", key, cases[i].value, (long long)cases[i].duration,
                     cases[i].want);
    }
    callset_free(&cs);
}

/* ---- rules for the node ------------------------------------------------------------------ */

/* The rules of the query params, joined with '|' ("" for none). */
static void rules_text(const query_param *params, size_t n, char *out, size_t cap)
{
    parsed p;
    parse_params(&p, params, n);
    if (p.nerr) fail_msg("refused: %s", p.doc_text);
    char **rules = (char **)1;
    size_t k = listing_query_rules(&p.q, &rules);
    if (k == 0) assert_null(rules);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < k; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "|" : "", rules[i]);
    free(rules);
    parsed_free(&p);
}

static void assert_rules(const char *key, const char *value, const char *want)
{
    query_param prm = {key, value};
    char got[512];
    rules_text(&prm, 1, got, sizeof got);
    if (strcmp(got, want) != 0) fail_msg("%s=%s: rules '%s', want '%s'", key, value, got, want);
}

static void test_rules_ids(void **state)
{
    /* one id a node's int can hold is pushed; lists, and values no id has, stay ours */
    static const struct {
        const char *value;
        long long pushed; /* 0: no rule */
    } cases[] = {{"5", 5},
                 {"2147483647", 2147483647},
                 {" +1 ", 1},
                 {"5,6", 0},
                 {"5,5", 0},
                 {"0", 0},
                 {"2147483648", 0},
                 {"-1", 0},
                 {"-9223372036854775808", 0}};
    for (int i = 0; i < 22; i++) {
        const expect_filter *f = &seed_filters[i];
        if (f->kind != COND_REL_IN) continue;
        char key[80], want[80];
        snprintf(key, sizeof key, "filter[%s]", f->name);
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            want[0] = '\0';
            if (cases[k].pushed)
                snprintf(want, sizeof want, "%s=%lld", call_rels[f->rel].field, cases[k].pushed);
            assert_rules(key, cases[k].value, want);
        }
    }
    assert_rules("filter[customer_acc_id_eq]", "12", "customer_acc_id=12");
}

static void test_rules_durations(void **state)
{
    static const struct {
        const char *filter, *value, *rules;
    } cases[] = {
        /* lower bounds leave the node two seconds for its walk, upper bounds one for its rounding */
        {"duration-greater-than", "10", "duration>=9"},
        {"duration-gteq", "10", "duration>=8"},
        {"duration-less-than", "10", "duration<=10"},
        {"duration-lteq", "10", "duration<=11"},
        {"duration-equals", "10", "duration>=8|duration<=11"},
        {"duration-equals", "0", "duration>=-2|duration<=1"},
        {"duration-greater-than", "-5", "duration>=-6"},
        /* the node's int: every value written fits, or the bound stays ours */
        {"duration-gteq", "2147483647", "duration>=2147483645"},
        {"duration-gteq", "2147483648", ""},
        {"duration-greater-than", "2147483646", "duration>=2147483645"},
        {"duration-greater-than", "2147483647", ""},
        {"duration-gteq", "-2147483646", "duration>=-2147483648"},
        {"duration-gteq", "-2147483647", ""},
        {"duration-lteq", "2147483646", "duration<=2147483647"},
        {"duration-lteq", "2147483647", ""},
        {"duration-less-than", "2147483647", "duration<=2147483647"},
        {"duration-less-than", "2147483648", ""},
        {"duration-lteq", "-2147483648", "duration<=-2147483647"},
        {"duration-lteq", "-2147483649", ""},
        {"duration-equals", "2147483647", "duration>=2147483645"},
        {"duration-equals", "-2147483648", "duration<=-2147483647"},
        /* conditions that keep nothing push nothing: the server drops every call */
        {"duration-greater-than", "9223372036854775807", ""},
        {"duration-less-than", "-9223372036854775808", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char key[64];
        snprintf(key, sizeof key, "filter[%s]", cases[i].filter);
        assert_rules(key, cases[i].value, cases[i].rules);
    }
}

static void test_rules_others(void **state)
{
    assert_rules("filter[connected]", "true", "connect_time>0");
    assert_rules("filter[connected]", "false", "");
    assert_rules("filter[node-id-eq]", "1", "");
    assert_rules("filter[pop-id-eq]", "1", "");
    assert_rules("filter[id]", "1*a", "");
    assert_rules("filter[src-prefix-routing-starts-with]", "38", "");
    assert_rules("filter[dst-prefix-routing-starts-with]", "38", "");
    assert_rules("filter[orig-call-id-eq]", "x", "");
    assert_rules("filter[local-tag-eq]", "x", "");

    char got[512];
    rules_text(NULL, 0, got, sizeof got);
    assert_string_equal(got, "");
    /* in the order of the filters, all in one block */
    query_param many[] = {{"filter[vendor-id-eq]", "3"},   {"filter[node-id-eq]", "1"},
                          {"filter[connected]", "true"},   {"filter[duration-lteq]", "60"},
                          {"filter[vendor_id_eq]", "3,4"}, {"filter[dialpeer-id-eq]", "9"}};
    rules_text(many, 6, got, sizeof got);
    assert_string_equal(got, "vendor_id=3|connect_time>0|duration<=61|dialpeer_id=9");
}

/* A node's view of a call's duration, from sems-yeti's rule evaluation
 * (docs/CONTRACT.md §7): it takes its clock `rule_ms` when it reads the
 * rules and compares whole seconds of that clock and of connect_time;
 * the call's record is written at `rec_ms`, later, with the duration
 * truncated (0 when negative). Times in milliseconds, all positive. */
static bool node_keeps(const char *rule, int64_t connect_ms, int64_t rule_ms)
{
    long long v;
    char op[3];
    if (strcmp(rule, "connect_time>0") == 0) return true; /* every call here is connected */
    if (sscanf(rule, "duration%2[<>=]%lld", op, &v) != 2) fail_msg("unexpected rule %s", rule);
    int64_t seen = rule_ms / 1000 - connect_ms / 1000;
    if (strcmp(op, ">=") == 0) return seen >= v;
    if (strcmp(op, "<=") == 0) return seen <= v;
    fail_msg("unexpected rule %s", rule);
    return false;
}

static void test_rules_keep_every_matching_call(void **state)
{
    static const char *const keys[] = {"filter[duration-equals]", "filter[duration-greater-than]",
                                       "filter[duration-less-than]", "filter[duration-gteq]",
                                       "filter[duration-lteq]"};
    callset cs;
    callset_init(&cs);
    call_record *r = add_call(&cs, "t", 0);
    srand(12345);
    for (int trial = 0; trial < 200000; trial++) {
        int64_t connect_ms = 1700000000000LL + rand() % 100000;
        int64_t rule_ms = connect_ms + rand() % 20000 - 1000;
        int64_t rec_ms = rule_ms + rand() % 2000; /* the walk: less than the default deadline */
        int64_t d = rec_ms - connect_ms;
        r->duration = d < 0 ? 0 : d / 1000;
        char value[32];
        snprintf(value, sizeof value, "%d", rand() % 24 - 2);
        parsed p;
        parse1(&p, keys[trial % 5], value);
        if (listing_query_match(&p.q, 1, &cs, r)) {
            char **rules;
            size_t n = listing_query_rules(&p.q, &rules);
            for (size_t i = 0; i < n; i++)
                if (!node_keeps(rules[i], connect_ms, rule_ms))
                    fail_msg("%s=%s: a call of %lld s (connect %lld, rules at %lld, record at %lld) is "
                             "dropped by %s",
                             keys[trial % 5], value, (long long)r->duration, (long long)connect_ms,
                             (long long)rule_ms, (long long)rec_ms, rules[i]);
            free(rules);
        }
        parsed_free(&p);
    }
    callset_free(&cs);
}

/* ---- errors.c ------------------------------------------------------------------------------- */

static void test_jerr_single_and_document(void **state)
{
    buf out;
    buf_init(&out);
    buf_puts(&out, "stale");
    jerr_single(&out, 404, "404", "Record not found", "The record identified by 1*x could not be found.");
    const char *want =
        "{\"errors\":[{\"title\":\"Record not found\",\"detail\":\"The record identified by 1*x "
        "could not be found.\",\"code\":\"404\",\"status\":\"404\"}]}";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);

    jsonapi_errors e;
    jerr_init(&e);
    jerr_document(&e, &out);
    assert_int_equal(out.len, strlen("{\"errors\":[]}"));
    assert_memory_equal(out.data, "{\"errors\":[]}", out.len);
    jerr_add(&e, 406, "406", "Not acceptable", "%s %d", "a\"b", 7);
    jerr_add(&e, 400, "103", "Invalid \"title\"", "x");
    assert_int_equal(e.n, 2);
    assert_int_equal(e.status, 406); /* the first error's */
    jerr_document(&e, &out);
    buf_putc(&out, '\0');
    json_error_t err;
    json_t *doc = json_loads(out.data, 0, &err);
    assert_non_null(doc);
    json_t *arr = json_object_get(doc, "errors");
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "detail")), "a\"b 7");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "status")), "406");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "title")),
                        "Invalid \"title\"");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "status")), "400");
    json_decref(doc);
    jerr_free(&e);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_filters_both_spellings),
        cmocka_unit_test(test_all_filters_together),
        cmocka_unit_test(test_no_params),
        cmocka_unit_test(test_int_list_values),
        cmocka_unit_test(test_bad_values_103),
        cmocka_unit_test(test_bad_id_values_103),
        cmocka_unit_test(test_id_values),
        cmocka_unit_test(test_unknown_filter_102),
        cmocka_unit_test(test_unknown_param_105),
        cmocka_unit_test(test_param_keys),
        cmocka_unit_test(test_errors_collected_in_order),
        cmocka_unit_test(test_hostile_values_echoed_safely),
        cmocka_unit_test(test_long_values_cut),
        cmocka_unit_test(test_wants_node),
        cmocka_unit_test(test_tags_for),
        cmocka_unit_test(test_match_rel_in_every_relationship),
        cmocka_unit_test(test_match_node),
        cmocka_unit_test(test_match_duration),
        cmocka_unit_test(test_match_id),
        cmocka_unit_test(test_repeated_keys_and),
        cmocka_unit_test(test_more_filters_both_spellings),
        cmocka_unit_test(test_string_list_values),
        cmocka_unit_test(test_more_filters_bad_values_103),
        cmocka_unit_test(test_match_prefix),
        cmocka_unit_test(test_match_orig_call_id_and_local_tag),
        cmocka_unit_test(test_match_connected),
        cmocka_unit_test(test_match_duration_gteq_lteq),
        cmocka_unit_test(test_rules_ids),
        cmocka_unit_test(test_rules_durations),
        cmocka_unit_test(test_rules_others),
        cmocka_unit_test(test_rules_keep_every_matching_call),
        cmocka_unit_test(test_jerr_single_and_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
