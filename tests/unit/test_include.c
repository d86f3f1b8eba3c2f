/* test_include: jsonapi/include.c — the `include` parameter (docs/CONTRACT.md §3, §9;
 * docs/API.md "One call, relationships, includes").
 *
 * Every one of the 18 active-calls relationships is includable at depth 1
 * and reaches the docs/CONTRACT.md §2 type; every nested step of docs/CONTRACT.md §10 (checked
 * against a table written here from the contract (docs/CONTRACT.md), not from res_types) is
 * includable at depth 2 and 3, and all 49 valid paths fit in one tree;
 * repeated paths and shared prefixes merge into one tree node (also across
 * two include_parse calls); only depth-1 steps set call_rels bits.
 * Errors are 400 / code 112 / "Invalid field" with the exact detail
 * "<step> is not a valid includable relationship of <type>": unknown first
 * step, unknown nested step, a step past an attribute, column names and
 * underscored names, a 4th step, empty steps ("customer..pop", leading and
 * trailing dots), overlong steps (echo capped at 100 bytes), hostile bytes
 * (valid JSON). Spaces around commas are trimmed, empty paths skipped; a
 * full tree refuses new nodes with "Too many include paths." while paths
 * already in it still merge. */
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
#include "jsonapi/include.h"
#include "model/calls.h"
#include "store/resources.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- expectations written from the contract (docs/CONTRACT.md) ------------------------------------------------ */

/* docs/CONTRACT.md §2: relationship -> type, in document order. */
static const struct {
    const char *name;
    res_type_id type;
} spec_call_rels[] = {
    {"customer", RT_CONTRACTORS},
    {"vendor", RT_CONTRACTORS},
    {"customer-acc", RT_ACCOUNTS},
    {"vendor-acc", RT_ACCOUNTS},
    {"customer-auth", RT_CUSTOMERS_AUTHS},
    {"rateplan", RT_RATEPLANS},
    {"destination", RT_DESTINATIONS},
    {"routing-group", RT_ROUTING_GROUPS},
    {"routing-plan", RT_ROUTING_PLANS},
    {"dialpeer", RT_DIALPEERS},
    {"orig-gw", RT_GATEWAYS},
    {"term-gw", RT_GATEWAYS},
    {"src-country", RT_COUNTRIES},
    {"src-network", RT_NETWORKS},
    {"dst-country", RT_COUNTRIES},
    {"dst-network", RT_NETWORKS},
    {"pop", RT_POPS},
    {"node", RT_NODES},
};

/* docs/CONTRACT.md §10: each type's own relationships (name -> type). */
typedef struct spec_rel {
    res_type_id from;
    const char *name;
    res_type_id to;
} spec_rel;

static const spec_rel spec_type_rels[] = {
    {RT_CONTRACTORS, "smtp-connection", RT_SMTP_CONNECTIONS},
    {RT_ACCOUNTS, "contractor", RT_CONTRACTORS},
    {RT_CUSTOMERS_AUTHS, "customer", RT_CONTRACTORS},
    {RT_CUSTOMERS_AUTHS, "account", RT_ACCOUNTS},
    {RT_CUSTOMERS_AUTHS, "rateplan", RT_RATEPLANS},
    {RT_CUSTOMERS_AUTHS, "routing-plan", RT_ROUTING_PLANS},
    {RT_CUSTOMERS_AUTHS, "gateway", RT_GATEWAYS},
    {RT_CUSTOMERS_AUTHS, "pop", RT_POPS},
    {RT_DIALPEERS, "gateway", RT_GATEWAYS},
    {RT_DIALPEERS, "routing-group", RT_ROUTING_GROUPS},
    {RT_DIALPEERS, "vendor", RT_CONTRACTORS},
    {RT_DIALPEERS, "account", RT_ACCOUNTS},
    {RT_GATEWAYS, "contractor", RT_CONTRACTORS},
    {RT_GATEWAYS, "pop", RT_POPS},
    {RT_NODES, "pop", RT_POPS},
};

/* Every name any type or the call uses as a relationship. */
static const char *const all_rel_names[] = {
    "customer",        "vendor",        "customer-acc", "vendor-acc",  "customer-auth", "rateplan",
    "destination",     "routing-group", "routing-plan", "dialpeer",    "orig-gw",       "term-gw",
    "src-country",     "src-network",   "dst-country",  "dst-network", "pop",           "node",
    "smtp-connection", "contractor",    "account",      "gateway",
};

/* ---- helpers ---------------------------------------------------------------------------- */

static const char *type_name(int t) { return res_types[t].type; }

/* Column index of relationship `name` of type t, from res_types; -1 when none. */
static int rel_col(int t, const char *name)
{
    for (size_t i = 0; i < res_types[t].ncols; i++)
        if (res_types[t].cols[i].kind == COL_REL && strcmp(res_types[t].cols[i].rel_name, name) == 0)
            return (int)i;
    return -1;
}

static bool spec_has_rel(int from, const char *name, res_type_id *to)
{
    for (size_t i = 0; i < COUNT_OF(spec_type_rels); i++)
        if ((int)spec_type_rels[i].from == from && strcmp(spec_type_rels[i].name, name) == 0) {
            if (to) *to = spec_type_rels[i].to;
            return true;
        }
    return false;
}

/* Parses value into a fresh tree. */
static void parse(include_tree *t, jsonapi_errors *e, const char *value)
{
    include_init(t);
    jerr_init(e);
    include_parse(t, value, e);
}

/* The errors array of e (caller decrefs). */
static json_t *errors_json(const jsonapi_errors *e)
{
    buf out;
    buf_init(&out);
    jerr_document(e, &out);
    assert_false(out.oom);
    json_error_t jerr;
    json_t *doc = json_loadb(out.data, out.len, 0, &jerr);
    if (!doc) fail_msg("error document is not JSON (%s): %.*s", jerr.text, (int)out.len, out.data);
    buf_free(&out);
    json_t *arr = json_object_get(doc, "errors");
    assert_true(json_is_array(arr));
    json_incref(arr);
    json_decref(doc);
    return arr;
}

static void check_error(json_t *err, const char *detail)
{
    assert_true(json_is_object(err));
    assert_int_equal(json_object_size(err), 4);
    assert_string_equal(json_string_value(json_object_get(err, "title")), "Invalid field");
    assert_string_equal(json_string_value(json_object_get(err, "code")), "112");
    assert_string_equal(json_string_value(json_object_get(err, "status")), "400");
    const char *got = json_string_value(json_object_get(err, "detail"));
    assert_non_null(got);
    if (strcmp(got, detail) != 0) fail_msg("detail '%s', wanted '%s'", got, detail);
}

/* value must give exactly one 112 error with this detail. */
static void expect_bad(const char *value, const char *detail)
{
    include_tree t;
    jsonapi_errors e;
    parse(&t, &e, value);
    if (e.n != 1) fail_msg("include=%s: %d errors, wanted 1", value, e.n);
    assert_int_equal(e.status, 400);
    json_t *arr = errors_json(&e);
    assert_int_equal(json_array_size(arr), 1);
    check_error(json_array_get(arr, 0), detail);
    json_decref(arr);
    jerr_free(&e);
}

static void expect_ok(include_tree *t, const char *value)
{
    jsonapi_errors e;
    parse(t, &e, value);
    if (e.n != 0) fail_msg("include=%s: %d errors: %.*s", value, e.n, (int)e.items.len, e.items.data);
    assert_int_equal(e.status, 0);
    jerr_free(&e);
}

static void check_node(const include_tree *t, int i, int parent, int rel, int type)
{
    assert_true(i < t->n);
    const include_node *n = &t->nodes[i];
    if (n->parent != parent || n->rel != rel || n->type != type)
        fail_msg("node %d = {%d,%d,%d}, wanted {%d,%d,%d}", i, n->parent, n->rel, n->type, parent, rel, type);
}

/* Index of the node (parent, rel), or -1. */
static int find_node(const include_tree *t, int parent, int rel)
{
    for (int i = 0; i < t->n; i++)
        if (t->nodes[i].parent == parent && t->nodes[i].rel == rel) return i;
    return -1;
}

/* No two nodes share (parent, rel); parents come before children; types
 * agree with res_types. */
static void check_tree_sane(const include_tree *t)
{
    uint32_t bits = 0;
    for (int i = 0; i < t->n; i++) {
        const include_node *n = &t->nodes[i];
        assert_true(n->parent >= -1 && n->parent < i);
        if (n->parent < 0) {
            assert_true(n->rel >= 0 && n->rel < REL_COUNT);
            assert_int_equal(n->type, spec_call_rels[n->rel].type);
            bits |= 1u << n->rel;
        } else {
            int pt = t->nodes[n->parent].type;
            assert_true(n->rel >= 0 && (size_t)n->rel < res_types[pt].ncols);
            const res_col *c = &res_types[pt].cols[n->rel];
            assert_int_equal(c->kind, COL_REL);
            assert_int_equal(n->type, res_type_find(c->rel_type, strlen(c->rel_type)));
        }
        for (int j = 0; j < i; j++)
            assert_false(t->nodes[j].parent == n->parent && t->nodes[j].rel == n->rel);
    }
    assert_int_equal(t->call_rels, bits);
}

/* Every valid path of depth 1..3, built from the contract (docs/CONTRACT.md) tables: out holds
 * them comma-separated; returns how many. */
static int all_valid_paths(char *out, size_t cap)
{
    int count = 0;
    size_t len = 0;
    out[0] = '\0';
#define ADD(...)                                                      \
    do {                                                              \
        int w = snprintf(out + len, cap - len, "%s", len ? "," : ""); \
        len += (size_t)w;                                             \
        w = snprintf(out + len, cap - len, __VA_ARGS__);              \
        assert_true(w > 0 && (size_t)w < cap - len);                  \
        len += (size_t)w;                                             \
        count++;                                                      \
    } while (0)
    for (size_t k = 0; k < COUNT_OF(spec_call_rels); k++) {
        ADD("%s", spec_call_rels[k].name);
        for (size_t a = 0; a < COUNT_OF(spec_type_rels); a++) {
            if (spec_type_rels[a].from != spec_call_rels[k].type) continue;
            ADD("%s.%s", spec_call_rels[k].name, spec_type_rels[a].name);
            for (size_t b = 0; b < COUNT_OF(spec_type_rels); b++) {
                if (spec_type_rels[b].from != spec_type_rels[a].to) continue;
                ADD("%s.%s.%s", spec_call_rels[k].name, spec_type_rels[a].name, spec_type_rels[b].name);
            }
        }
    }
#undef ADD
    return count;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_init(void **state)
{
    include_tree t;
    memset(&t, 0x5a, sizeof t);
    include_init(&t);
    assert_int_equal(t.n, 0);
    assert_int_equal(t.call_rels, 0);
    assert_true(INCLUDE_MAX_DEPTH == 3);
}

static void test_empty_values(void **state)
{
    const char *values[] = {"", " ", ",", ",,,", " , , ", "   ,"};
    for (size_t i = 0; i < COUNT_OF(values); i++) {
        include_tree t;
        expect_ok(&t, values[i]);
        assert_int_equal(t.n, 0);
        assert_int_equal(t.call_rels, 0);
    }
}

/* The contract's tables agree with the code's: 18 relationships in order. */
static void test_spec_tables(void **state)
{
    assert_int_equal(COUNT_OF(spec_call_rels), REL_COUNT);
    for (int k = 0; k < REL_COUNT; k++) {
        assert_string_equal(call_rels[k].name, spec_call_rels[k].name);
        assert_string_equal(call_rels[k].type, type_name(spec_call_rels[k].type));
    }
    /* each type's relationships are exactly docs/CONTRACT.md §10's */
    for (int t = 0; t < RT_COUNT; t++) {
        size_t nrel = 0;
        for (size_t i = 0; i < res_types[t].ncols; i++) {
            const res_col *c = &res_types[t].cols[i];
            if (c->kind != COL_REL) continue;
            nrel++;
            res_type_id to;
            if (!spec_has_rel(t, c->rel_name, &to))
                fail_msg("%s has relationship %s, not in docs/CONTRACT.md §10", type_name(t), c->rel_name);
            assert_string_equal(c->rel_type, type_name(to));
        }
        size_t want = 0;
        for (size_t i = 0; i < COUNT_OF(spec_type_rels); i++)
            if ((int)spec_type_rels[i].from == t) want++;
        if (nrel != want) fail_msg("%s: %zu relationships, contract says %zu", type_name(t), nrel, want);
    }
}

static void test_every_call_rel_depth1(void **state)
{
    for (int k = 0; k < REL_COUNT; k++) {
        include_tree t;
        expect_ok(&t, spec_call_rels[k].name);
        assert_int_equal(t.n, 1);
        check_node(&t, 0, -1, k, spec_call_rels[k].type);
        assert_int_equal(t.call_rels, 1u << k);
    }
}

static void test_all_call_rels_one_value(void **state)
{
    char value[1024] = "";
    for (int k = 0; k < REL_COUNT; k++) {
        if (k) strcat(value, ",");
        strcat(value, spec_call_rels[k].name);
    }
    include_tree t;
    expect_ok(&t, value);
    assert_int_equal(t.n, REL_COUNT);
    assert_int_equal(t.call_rels, (1u << REL_COUNT) - 1);
    for (int k = 0; k < REL_COUNT; k++) check_node(&t, k, -1, k, spec_call_rels[k].type);
    check_tree_sane(&t);
}

/* Every docs/CONTRACT.md §10 step after every call relationship reaching that type. */
static void test_every_nested_step_depth2(void **state)
{
    int checked = 0;
    for (int k = 0; k < REL_COUNT; k++) {
        for (size_t a = 0; a < COUNT_OF(spec_type_rels); a++) {
            if (spec_type_rels[a].from != spec_call_rels[k].type) continue;
            char value[128];
            snprintf(value, sizeof value, "%s.%s", spec_call_rels[k].name, spec_type_rels[a].name);
            include_tree t;
            expect_ok(&t, value);
            assert_int_equal(t.n, 2);
            check_node(&t, 0, -1, k, spec_call_rels[k].type);
            int col = rel_col(spec_call_rels[k].type, spec_type_rels[a].name);
            assert_true(col >= 0);
            check_node(&t, 1, 0, col, spec_type_rels[a].to);
            assert_int_equal(t.call_rels, 1u << k); /* only the first step gets data */
            checked++;
        }
    }
    assert_int_equal(checked, 19);
}

static void test_every_nested_step_depth3(void **state)
{
    int checked = 0;
    for (int k = 0; k < REL_COUNT; k++) {
        for (size_t a = 0; a < COUNT_OF(spec_type_rels); a++) {
            if (spec_type_rels[a].from != spec_call_rels[k].type) continue;
            for (size_t b = 0; b < COUNT_OF(spec_type_rels); b++) {
                if (spec_type_rels[b].from != spec_type_rels[a].to) continue;
                char value[160];
                snprintf(value, sizeof value, "%s.%s.%s", spec_call_rels[k].name, spec_type_rels[a].name,
                         spec_type_rels[b].name);
                include_tree t;
                expect_ok(&t, value);
                assert_int_equal(t.n, 3);
                check_node(&t, 0, -1, k, spec_call_rels[k].type);
                check_node(&t, 1, 0, rel_col(spec_type_rels[a].from, spec_type_rels[a].name),
                           spec_type_rels[a].to);
                check_node(&t, 2, 1, rel_col(spec_type_rels[b].from, spec_type_rels[b].name),
                           spec_type_rels[b].to);
                assert_int_equal(t.call_rels, 1u << k);
                checked++;
            }
        }
    }
    assert_int_equal(checked, 12);
}

/* The paths the issue names. */
static void test_issue_examples(void **state)
{
    include_tree t;
    expect_ok(&t,
              "customer.smtp-connection,vendor-acc.contractor,node.pop,term-gw.contractor,"
              "dialpeer.vendor,customer-auth.account.contractor,term-gw.pop");
    check_tree_sane(&t);
    assert_int_equal(t.call_rels,
                     (1u << REL_CUSTOMER) | (1u << REL_VENDOR_ACC) | (1u << REL_NODE) | (1u << REL_TERM_GW) |
                         (1u << REL_DIALPEER) | (1u << REL_CUSTOMER_AUTH));
    /* customer, smtp, vendor-acc, contractor, node, pop, term-gw, contractor,
     * dialpeer, vendor, customer-auth, account, contractor, pop */
    assert_int_equal(t.n, 14);
    int tg = find_node(&t, -1, REL_TERM_GW);
    assert_true(tg >= 0);
    assert_true(find_node(&t, tg, rel_col(RT_GATEWAYS, "contractor")) >= 0);
    assert_true(find_node(&t, tg, rel_col(RT_GATEWAYS, "pop")) >= 0);
    int ca = find_node(&t, -1, REL_CUSTOMER_AUTH);
    int acc = find_node(&t, ca, rel_col(RT_CUSTOMERS_AUTHS, "account"));
    assert_true(acc >= 0);
    int con = find_node(&t, acc, rel_col(RT_ACCOUNTS, "contractor"));
    assert_true(con >= 0);
    assert_int_equal(t.nodes[con].type, RT_CONTRACTORS);
}

static void test_all_valid_paths_one_tree(void **state)
{
    static char value[8192];
    int paths = all_valid_paths(value, sizeof value);
    assert_int_equal(paths, 18 + 19 + 12);
    assert_true(paths <= INCLUDE_MAX_NODES); /* a valid include never fills the tree */
    include_tree t;
    expect_ok(&t, value);
    assert_int_equal(t.n, paths);
    assert_int_equal(t.call_rels, (1u << REL_COUNT) - 1);
    check_tree_sane(&t);

    /* the same again, merged: nothing new */
    jsonapi_errors e;
    jerr_init(&e);
    include_parse(&t, value, &e);
    assert_int_equal(e.n, 0);
    assert_int_equal(t.n, paths);
    jerr_free(&e);
}

/* Every valid path 40 times over: the tree stays at 49 nodes, no error. */
static void test_many_repeats_bounded(void **state)
{
    static char one[8192];
    int paths = all_valid_paths(one, sizeof one);
    size_t one_len = strlen(one);
    char *value = malloc(40 * (one_len + 1) + 1);
    assert_non_null(value);
    size_t len = 0;
    for (int i = 0; i < 40; i++) {
        if (i) value[len++] = ',';
        memcpy(value + len, one, one_len);
        len += one_len;
    }
    value[len] = '\0';
    include_tree t;
    expect_ok(&t, value);
    assert_int_equal(t.n, paths);
    check_tree_sane(&t);
    free(value);
}

static void test_dedup(void **state)
{
    include_tree t;
    expect_ok(&t, "customer,customer,customer.smtp-connection, customer.smtp-connection,customer");
    assert_int_equal(t.n, 2);
    check_node(&t, 0, -1, REL_CUSTOMER, RT_CONTRACTORS);
    check_node(&t, 1, 0, rel_col(RT_CONTRACTORS, "smtp-connection"), RT_SMTP_CONNECTIONS);
    assert_int_equal(t.call_rels, 1u << REL_CUSTOMER);

    /* a longer path first, then its prefixes */
    expect_ok(&t, "customer-auth.account.contractor,customer-auth.account,customer-auth");
    assert_int_equal(t.n, 3);
    check_tree_sane(&t);

    /* shared prefixes branch from one node */
    expect_ok(&t, "dialpeer.vendor,dialpeer.gateway.contractor,dialpeer.gateway.pop,dialpeer");
    assert_int_equal(t.n, 5);
    check_tree_sane(&t);
    int dp = find_node(&t, -1, REL_DIALPEER);
    assert_int_equal(dp, 0);
    int gw = find_node(&t, dp, rel_col(RT_DIALPEERS, "gateway"));
    assert_true(gw > 0);
    assert_true(find_node(&t, gw, rel_col(RT_GATEWAYS, "contractor")) > gw);
    assert_true(find_node(&t, gw, rel_col(RT_GATEWAYS, "pop")) > gw);
    assert_true(find_node(&t, dp, rel_col(RT_DIALPEERS, "vendor")) > 0);

    /* same type, different relationship: separate nodes */
    expect_ok(&t, "customer,vendor,orig-gw,term-gw,src-country,dst-country");
    assert_int_equal(t.n, 6);
    check_tree_sane(&t);

    /* same relationship name under different parents: separate nodes */
    expect_ok(&t, "orig-gw.pop,term-gw.pop,node.pop,pop");
    assert_int_equal(t.n, 7);
    check_tree_sane(&t);
}

/* include_parse merges into what the tree holds. */
static void test_merge_across_calls(void **state)
{
    include_tree t;
    expect_ok(&t, "customer.smtp-connection");
    jsonapi_errors e;
    jerr_init(&e);
    include_parse(&t, "customer,vendor", &e);
    include_parse(&t, "customer.smtp-connection,vendor.smtp-connection", &e);
    assert_int_equal(e.n, 0);
    jerr_free(&e);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.call_rels, (1u << REL_CUSTOMER) | (1u << REL_VENDOR));
    check_tree_sane(&t);
}

static void test_call_rels_bits(void **state)
{
    include_tree t;
    expect_ok(&t, "node.pop");
    assert_int_equal(t.call_rels, 1u << REL_NODE);
    expect_ok(&t, "term-gw.pop,customer-auth.gateway.contractor");
    assert_int_equal(t.call_rels, (1u << REL_TERM_GW) | (1u << REL_CUSTOMER_AUTH));
    /* nested steps named like call relationships do not set their bits */
    expect_ok(&t, "dialpeer.vendor,dialpeer.gateway.pop,customer-auth.customer");
    assert_int_equal(t.call_rels, (1u << REL_DIALPEER) | (1u << REL_CUSTOMER_AUTH));
    expect_ok(&t, "pop");
    assert_int_equal(t.call_rels, 1u << REL_POP);
}

static void test_spaces_around_commas(void **state)
{
    include_tree t;
    expect_ok(&t, "  customer ,vendor-acc.contractor ,  node.pop  ,   dst-network");
    assert_int_equal(t.n, 6);
    assert_int_equal(t.call_rels,
                     (1u << REL_CUSTOMER) | (1u << REL_VENDOR_ACC) | (1u << REL_NODE) |
                         (1u << REL_DST_NETWORK));
    check_tree_sane(&t);
    /* spaces inside a path are part of its steps */
    expect_bad("customer . smtp-connection",
               "customer  is not a valid includable relationship of active-calls");
    expect_bad("customer. smtp-connection",
               " smtp-connection is not a valid includable relationship of contractors");
}

static void test_unknown_first_step(void **state)
{
    expect_bad("foo", "foo is not a valid includable relationship of active-calls");
    expect_bad("customers", "customers is not a valid includable relationship of active-calls");
    expect_bad("Customer", "Customer is not a valid includable relationship of active-calls");
    /* names are dasherized; underscores, node fields and types are not relationships */
    expect_bad("customer_acc", "customer_acc is not a valid includable relationship of active-calls");
    expect_bad("routing_plan", "routing_plan is not a valid includable relationship of active-calls");
    expect_bad("customer_id", "customer_id is not a valid includable relationship of active-calls");
    expect_bad("contractors", "contractors is not a valid includable relationship of active-calls");
    /* attributes are not includable */
    expect_bad("duration", "duration is not a valid includable relationship of active-calls");
    expect_bad("local-tag", "local-tag is not a valid includable relationship of active-calls");
    /* the nested-only names */
    expect_bad("smtp-connection", "smtp-connection is not a valid includable relationship of active-calls");
    expect_bad("account", "account is not a valid includable relationship of active-calls");
    expect_bad("gateway.pop", "gateway is not a valid includable relationship of active-calls");
    /* the unknown first step stops the path: nothing of it is kept */
    include_tree t;
    jsonapi_errors e;
    parse(&t, &e, "bogus.smtp-connection");
    assert_int_equal(e.n, 1);
    assert_int_equal(t.n, 0);
    assert_int_equal(t.call_rels, 0);
    jerr_free(&e);
}

/* For every type reachable at depth 2 or 3: every name that is not one of
 * its docs/CONTRACT.md §10 relationships is refused, naming that type. */
static void test_unknown_nested_step_every_type(void **state)
{
    for (int k = 0; k < REL_COUNT; k++) {
        res_type_id t1 = spec_call_rels[k].type;
        for (size_t n = 0; n < COUNT_OF(all_rel_names); n++) {
            if (spec_has_rel(t1, all_rel_names[n], NULL)) continue;
            char value[128], detail[256];
            snprintf(value, sizeof value, "%s.%s", spec_call_rels[k].name, all_rel_names[n]);
            snprintf(detail, sizeof detail, "%s is not a valid includable relationship of %s",
                     all_rel_names[n], type_name(t1));
            expect_bad(value, detail);
        }
        /* and at depth 3 */
        for (size_t a = 0; a < COUNT_OF(spec_type_rels); a++) {
            if (spec_type_rels[a].from != t1) continue;
            res_type_id t2 = spec_type_rels[a].to;
            for (size_t n = 0; n < COUNT_OF(all_rel_names); n++) {
                if (spec_has_rel(t2, all_rel_names[n], NULL)) continue;
                char value[160], detail[256];
                snprintf(value, sizeof value, "%s.%s.%s", spec_call_rels[k].name, spec_type_rels[a].name,
                         all_rel_names[n]);
                snprintf(detail, sizeof detail, "%s is not a valid includable relationship of %s",
                         all_rel_names[n], type_name(t2));
                expect_bad(value, detail);
            }
        }
    }
}

static void test_unknown_nested_step_examples(void **state)
{
    expect_bad("customer.account", "account is not a valid includable relationship of contractors");
    expect_bad("vendor-acc.smtp-connection",
               "smtp-connection is not a valid includable relationship of accounts");
    expect_bad("rateplan.customer", "customer is not a valid includable relationship of rateplans");
    expect_bad("routing-plan.routing-group",
               "routing-group is not a valid includable relationship of routing-plans");
    expect_bad("node.node", "node is not a valid includable relationship of nodes");
    expect_bad("pop.node", "node is not a valid includable relationship of pops");
    /* relationship names are dasherized, never the column names */
    expect_bad("customer.smtp_connection",
               "smtp_connection is not a valid includable relationship of contractors");
    expect_bad("customer.smtp_connection_id",
               "smtp_connection_id is not a valid includable relationship of contractors");
    expect_bad("dialpeer.routing_group", "routing_group is not a valid includable relationship of dialpeers");
    expect_bad("customer-auth.routing-plan.x", "x is not a valid includable relationship of routing-plans");
}

/* A step after an attribute (attributes are not relationships). */
static void test_step_past_attribute(void **state)
{
    expect_bad("customer.name", "name is not a valid includable relationship of contractors");
    expect_bad("customer.name.pop", "name is not a valid includable relationship of contractors");
    expect_bad("customer.smtp-connection.name",
               "name is not a valid includable relationship of smtp-connections");
    expect_bad("node.pop.name", "name is not a valid includable relationship of pops");
    expect_bad("customer-auth.ip", "ip is not a valid includable relationship of customers-auths");
    expect_bad("vendor-acc.balance", "balance is not a valid includable relationship of accounts");
    expect_bad("duration.x", "duration is not a valid includable relationship of active-calls");
    expect_bad("dialpeer.initial-rate", "initial-rate is not a valid includable relationship of dialpeers");
}

static void test_depth_four(void **state)
{
    /* every step a valid relationship: refused for depth alone */
    expect_bad("customer-auth.account.contractor.smtp-connection",
               "smtp-connection is not a valid includable relationship of contractors");
    expect_bad("dialpeer.account.contractor.smtp-connection",
               "smtp-connection is not a valid includable relationship of contractors");
    expect_bad("customer-auth.gateway.contractor.smtp-connection",
               "smtp-connection is not a valid includable relationship of contractors");
    expect_bad("customer-auth.gateway.pop.x", "x is not a valid includable relationship of pops");
    /* deeper still: one error for the path */
    expect_bad("customer-auth.account.contractor.smtp-connection.a.b",
               "smtp-connection is not a valid includable relationship of contractors");
    /* the valid 3-step prefix is accepted alone */
    include_tree t;
    expect_ok(&t, "customer-auth.account.contractor");
    assert_int_equal(t.n, 3);
}

static void test_empty_steps(void **state)
{
    expect_bad("customer..pop", " is not a valid includable relationship of contractors");
    expect_bad("customer.", " is not a valid includable relationship of contractors");
    expect_bad("customer.smtp-connection.", " is not a valid includable relationship of smtp-connections");
    expect_bad("customer-auth..", " is not a valid includable relationship of customers-auths");
    expect_bad(".customer", " is not a valid includable relationship of active-calls");
    expect_bad(".", " is not a valid includable relationship of active-calls");
    expect_bad("..", " is not a valid includable relationship of active-calls");
    expect_bad("node.pop.", " is not a valid includable relationship of pops");
    expect_bad(" customer. ,vendor", " is not a valid includable relationship of contractors");
}

/* Each bad path gives its own error; good paths beside them still parse. */
static void test_several_errors(void **state)
{
    include_tree t;
    jsonapi_errors e;
    parse(&t, &e, "foo,customer,vendor.bar,,node.pop.x.y");
    assert_int_equal(e.n, 3);
    assert_int_equal(e.status, 400);
    json_t *arr = errors_json(&e);
    assert_int_equal(json_array_size(arr), 3);
    check_error(json_array_get(arr, 0), "foo is not a valid includable relationship of active-calls");
    check_error(json_array_get(arr, 1), "bar is not a valid includable relationship of contractors");
    check_error(json_array_get(arr, 2), "x is not a valid includable relationship of pops");
    json_decref(arr);
    jerr_free(&e);
    assert_int_not_equal(find_node(&t, -1, REL_CUSTOMER), -1);
}

/* The echoed step is capped at 100 bytes and always valid JSON. */
static void test_echo_capped_and_escaped(void **state)
{
    char value[400], detail[400];
    memset(value, 'x', 300);
    value[300] = '\0';
    memset(detail, 'x', 100);
    snprintf(detail + 100, sizeof detail - 100, " is not a valid includable relationship of active-calls");
    expect_bad(value, detail);

    snprintf(value, sizeof value, "customer.");
    memset(value + 9, 'y', 250);
    value[259] = '\0';
    memset(detail, 'y', 100);
    snprintf(detail + 100, sizeof detail - 100, " is not a valid includable relationship of contractors");
    expect_bad(value, detail);

    expect_bad("a\"b\\c", "a\"b\\c is not a valid includable relationship of active-calls");
    expect_bad("tab\there", "tab\there is not a valid includable relationship of active-calls");
    /* invalid UTF-8 becomes U+FFFD: the document stays JSON */
    expect_bad("\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd is not a valid includable relationship of active-calls");
}

/* A full tree refuses new nodes; what it already holds still merges. */
static void test_too_many_paths(void **state)
{
    assert_true(INCLUDE_MAX_NODES >= 49);
    include_tree t;
    expect_ok(&t, "customer");
    while (t.n < INCLUDE_MAX_NODES) {
        t.nodes[t.n] = (include_node){-1, 1000 + t.n, RT_POPS}; /* matches no path */
        t.n++;
    }
    jsonapi_errors e;
    jerr_init(&e);
    include_parse(&t, "customer", &e);
    assert_int_equal(e.n, 0);
    assert_int_equal(t.n, INCLUDE_MAX_NODES);

    include_parse(&t, "vendor", &e);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.status, 400);
    json_t *arr = errors_json(&e);
    check_error(json_array_get(arr, 0), "Too many include paths.");
    json_decref(arr);
    assert_int_equal(t.n, INCLUDE_MAX_NODES);
    assert_int_equal(t.call_rels, 1u << REL_CUSTOMER); /* vendor got no bit */

    include_parse(&t, "customer.smtp-connection", &e);
    assert_int_equal(e.n, 2);
    assert_int_equal(t.n, INCLUDE_MAX_NODES);
    jerr_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_empty_values),
        cmocka_unit_test(test_spec_tables),
        cmocka_unit_test(test_every_call_rel_depth1),
        cmocka_unit_test(test_all_call_rels_one_value),
        cmocka_unit_test(test_every_nested_step_depth2),
        cmocka_unit_test(test_every_nested_step_depth3),
        cmocka_unit_test(test_issue_examples),
        cmocka_unit_test(test_all_valid_paths_one_tree),
        cmocka_unit_test(test_many_repeats_bounded),
        cmocka_unit_test(test_dedup),
        cmocka_unit_test(test_merge_across_calls),
        cmocka_unit_test(test_call_rels_bits),
        cmocka_unit_test(test_spaces_around_commas),
        cmocka_unit_test(test_unknown_first_step),
        cmocka_unit_test(test_unknown_nested_step_every_type),
        cmocka_unit_test(test_unknown_nested_step_examples),
        cmocka_unit_test(test_step_past_attribute),
        cmocka_unit_test(test_depth_four),
        cmocka_unit_test(test_empty_steps),
        cmocka_unit_test(test_several_errors),
        cmocka_unit_test(test_echo_capped_and_escaped),
        cmocka_unit_test(test_too_many_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
