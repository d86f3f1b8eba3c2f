/* it_listing: GET /api/rest/admin/active-calls against simulated nodes.
 *
 * - seed replay: the API document's two calls served by a nodesim come back
 *   exactly as the seed shows them (data), with the real total-count;
 * - every filter of the seed and the 7 beyond it (prefixes, orig-call-id,
 *   local-tag, connected, duration-gteq/lteq), dashed and underscored, on a
 *   designed data set (tests/data/filter_calls_node{1,2,3}.json, see
 *   tests/tools/gen_test_data.py): exact ids in listing order;
 * - comma lists, AND of filters and of a repeated key, filter[id],
 *   node/pop selection (an unselected node is not asked), empty results,
 *   rendering of ringing / unrouted calls and string escaping. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define LISTING_PATH "/api/rest/admin/active-calls"

/* ------------------------------------------------------------------ */
/* seed replay                                                         */

static void test_seed_replay(void **state)
{
    const char *db = h_db_path();
    h_proc *node = h_start_nodesim(1, 1, "--calls-file", h_data_path("seed_calls.json"), NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, node->addr, 1);
    h_proc *server = h_start_server(db, NULL);

    h_response *r = h_listing(server, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(h_header_value(r, "content-type"), "application/vnd.api+json");
    json_t *doc = h_json(r);
    json_t *seed = h_load_json_file(h_data_path("seed_listing.json"));

    assert_string_equal(h_keys(doc), "data,meta");
    json_t *data = json_object_get(doc, "data");
    json_t *want = json_object_get(seed, "data");
    if (!json_equal(want, data)) {
        fprintf(stderr, "data differs from the seed (expected vs got):\n");
        h_json_diff(want, data, 40);
        fail_msg("listing data is not the seed's data");
    }
    /* The seed says 0 (the anchor's count hook is hard-wired); we count. */
    json_t *meta = json_object_get(doc, "meta");
    json_t *want_meta = json_pack("{s:i}", "total-count", 2);
    bool meta_ok = json_equal(want_meta, meta);
    json_decref(want_meta);
    if (!meta_ok) {
        char *m = json_dumps(meta, JSON_COMPACT | JSON_ENCODE_ANY);
        const char *ms = h_strf("%s", m ? m : "<none>");
        free(m);
        fail_msg("meta is %s, expected {\"total-count\":2}", ms);
    }

    /* Key order as in the seed. */
    size_t i;
    json_t *res;
    json_array_foreach(data, i, res)
    {
        json_t *seed_res = json_array_get(want, i);
        assert_string_equal(h_keys(res), "id,type,links,attributes,relationships");
        json_t *attrs = json_object_get(res, "attributes");
        assert_int_equal(json_object_size(attrs), 35);
        assert_string_equal(h_keys(attrs), h_keys(json_object_get(seed_res, "attributes")));
        json_t *rels = json_object_get(res, "relationships");
        assert_int_equal(json_object_size(rels), 18);
        assert_string_equal(h_keys(rels), h_keys(json_object_get(seed_res, "relationships")));
        const char *k;
        json_t *rel;
        json_object_foreach(rels, k, rel)
        {
            assert_string_equal(h_keys(rel), "links");
            assert_string_equal(h_keys(json_object_get(rel, "links")), "self,related");
        }
    }

    assert_int_equal(h_stop(server), 0);
    assert_int_equal(h_stop(node), 0);
}

/* ------------------------------------------------------------------ */
/* the filter data set                                                 */

typedef struct cluster {
    h_proc *node[4]; /* [1..3] */
    h_proc *server;
} cluster;

/* Nodes 1 and 2 in pop 1, node 3 in pop 2 (node 3 blackholed on request),
 * all registered, then the server. */
static void start_cluster(cluster *c, bool node3_blackhole, const char *timeout_ms)
{
    const char *db = h_db_path();
    c->node[1] = h_start_nodesim(1, 1, "--calls-file", h_data_path("filter_calls_node1.json"), NULL);
    c->node[2] = h_start_nodesim(2, 1, "--calls-file", h_data_path("filter_calls_node2.json"), NULL);
    c->node[3] = node3_blackhole
        ? h_start_nodesim(3, 2, "--blackhole", NULL)
        : h_start_nodesim(3, 2, "--calls-file", h_data_path("filter_calls_node3.json"), NULL);
    h_add_pop(db, 1);
    h_add_pop(db, 2);
    h_add_node(db, 1, c->node[1]->addr, 1);
    h_add_node(db, 2, c->node[2]->addr, 1);
    h_add_node(db, 3, c->node[3]->addr, 2);
    c->server = h_start_server(db, "--node-timeout-ms", timeout_ms, NULL);
}

static void stop_cluster(cluster *c)
{
    assert_int_equal(h_stop(c->server), 0);
    for (int i = 1; i <= 3; i++) assert_int_equal(h_stop(c->node[i]), 0);
}

#define ALL "1*n1-a,1*n1-b,1*n1-c,1*n1-d,2*n2-a,2*n2-b,2*n2-c,3*n3-a,3*n3-b,3*n3-c"
#define NODE1 "1*n1-a,1*n1-b,1*n1-c,1*n1-d"
#define NODE2 "2*n2-a,2*n2-b,2*n2-c"
#define NODE3 "3*n3-a,3*n3-b,3*n3-c"

/* Routing field k holds 1000*(k+1) + (i+k)%3 for routed call i (n2-c has no
 * routing fields). RES[k%3]: the calls holding 1000*(k+1); NOT[k%3]: the
 * routed calls holding one of the two other values. */
static const char *const RES[3] = {
    "1*n1-a,1*n1-d,3*n3-a",
    "1*n1-c,2*n2-b,3*n3-c",
    "1*n1-b,2*n2-a,3*n3-b",
};
static const char *const NOT[3] = {
    "1*n1-b,1*n1-c,2*n2-a,2*n2-b,3*n3-b,3*n3-c",
    "1*n1-a,1*n1-b,1*n1-d,2*n2-a,3*n3-a,3*n3-b",
    "1*n1-a,1*n1-c,1*n1-d,2*n2-b,3*n3-a,3*n3-c",
};

/* The 16 routing filters, in the order of gen_test_data.py's ROUTING. */
static const char *const ROUTING_FILTERS[16] = {
    "customer-id-eq",      "vendor-id-eq",      "customer-acc-id-eq", "vendor-acc-id-eq",
    "customer-auth-id-eq", "rateplan-id-eq",    "destination-id-eq",  "routing-group-id-eq",
    "routing-plan-id-eq",  "dialpeer-id-eq",    "orig-gw-id-eq",      "term-gw-id-eq",
    "src-country-id-eq",   "src-network-id-eq", "dst-country-id-eq",  "dst-network-id-eq",
};

static const char *underscored(const char *name)
{
    char *s = h_strf("%s", name);
    for (char *c = s; *c; c++)
        if (*c == '-') *c = '_';
    return s;
}

/* GET with filter[name]=value, in both key forms, expecting exactly ids. */
static void expect_filter(const h_proc *server, const char *name, const char *value, const char *ids)
{
    h_assert_listing(h_listing(server, h_strf("filter[%s]=%s", name, value)), ids, NULL);
    h_assert_listing(h_listing(server, h_strf("filter[%s]=%s", underscored(name), value)), ids, NULL);
}

static void test_each_filter(void **state)
{
    cluster c;
    start_cluster(&c, false, "2000");
    const h_proc *s = c.server;

    h_assert_listing(h_listing(s, NULL), ALL, NULL);

    for (int k = 0; k < 16; k++) {
        int base = 1000 * (k + 1);
        expect_filter(s, ROUTING_FILTERS[k], h_strf("%d", base), RES[k % 3]);
        expect_filter(s, ROUTING_FILTERS[k], h_strf("%d,%d", base + 1, base + 2), NOT[k % 3]);
    }

    expect_filter(s, "node-id-eq", "2", NODE2);
    expect_filter(s, "node-id-eq", "1,3", NODE1 "," NODE3);
    expect_filter(s, "pop-id-eq", "2", NODE3);
    expect_filter(s, "pop-id-eq", "1", NODE1 "," NODE2);
    expect_filter(s, "pop-id-eq", "1,2", ALL);

    /* Durations are truncated: 10.9 -> 10, 45.999 -> 45, 30.99 -> 30;
     * ringing n1-c and unrouted n2-c have null and match none. */
    expect_filter(s, "duration-equals", "45", "1*n1-b,3*n3-a");
    expect_filter(s, "duration-equals", "10", "1*n1-a,2*n2-b");
    expect_filter(s, "duration-equals", "30", "2*n2-a");
    expect_filter(s, "duration-greater-than", "30", "1*n1-b,1*n1-d,3*n3-a,3*n3-c");
    expect_filter(s, "duration-greater-than", "-1",
                  "1*n1-a,1*n1-b,1*n1-d,2*n2-a,2*n2-b,3*n3-a,3*n3-b,3*n3-c");
    expect_filter(s, "duration-less-than", "11", "1*n1-a,2*n2-b,3*n3-b");
    expect_filter(s, "duration-less-than", "1000", "1*n1-a,1*n1-b,1*n1-d,2*n2-a,2*n2-b,3*n3-a,3*n3-b,3*n3-c");
    /* Beyond the seed: routed calls have src 4930123456, dst 380441234567;
     * unrouted n2-c has neither; ringing n1-c and n2-c are not connected. */
#define ROUTED "1*n1-a,1*n1-b,1*n1-c,1*n1-d,2*n2-a,2*n2-b,3*n3-a,3*n3-b,3*n3-c"
#define CONNECTED "1*n1-a,1*n1-b,1*n1-d,2*n2-a,2*n2-b,3*n3-a,3*n3-b,3*n3-c"
    static const struct {
        const char *filter, *value, *ids;
    } more[] = {
        {"duration-gteq", "45", "1*n1-b,1*n1-d,3*n3-a,3*n3-c"},
        {"duration-lteq", "10", "1*n1-a,2*n2-b,3*n3-b"},
        {"src-prefix-routing-starts-with", "49", ROUTED},
        {"src-prefix-routing-starts-with", "4930123456", ROUTED},
        {"src-prefix-routing-starts-with", "4931,38", ""},
        {"dst-prefix-routing-starts-with", "1,%20380", ROUTED},
        {"orig-call-id-eq", "orig-n1-b,orig-n3-a", "1*n1-b,3*n3-a"},
        {"orig-call-id-eq", "orig-n1", ""},
        {"orig-call-id-eq", "q%22uote%5Cback%2Fslash%01ctl%09tab%C3%A9%E2%98%83%F0%9F%98%80", "3*n3-c"},
        {"local-tag-eq", "n3-c,n2-b", "2*n2-b,3*n3-c"},
        {"connected", "true", CONNECTED},
        {"connected", "false", "1*n1-c,2*n2-c"},
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        expect_filter(s, more[i].filter, more[i].value, more[i].ids);

    stop_cluster(&c);
}

static void test_combined_filters(void **state)
{
    cluster c;
    start_cluster(&c, false, "2000");
    const h_proc *s = c.server;

    /* Two different filters: AND. */
    h_assert_listing(h_listing(s, "filter[node-id-eq]=1&filter[duration-greater-than]=30"), "1*n1-b,1*n1-d",
                     NULL);
    h_assert_listing(h_listing(s, "filter[customer-id-eq]=1000,1001&filter[pop-id-eq]=2"), "3*n3-a,3*n3-b",
                     NULL);
    h_assert_listing(h_listing(s, "filter[vendor_id_eq]=2000&filter[duration-less-than]=20"), "2*n2-b", NULL);
    /* A repeated key: AND of both conditions (either key form). */
    h_assert_listing(h_listing(s, "filter[duration-greater-than]=10&filter[duration-greater-than]=100"),
                     "1*n1-d,3*n3-c", NULL);
    h_assert_listing(h_listing(s,
                               "filter[customer-id-eq]=1000,1001&filter[customer_id_eq]="
                               "1001,1002"),
                     "1*n1-b,2*n2-a,3*n3-b", NULL);
    h_assert_listing(h_listing(s, "filter[node-id-eq]=1&filter[node-id-eq]=2"), "", NULL);
    /* Spaces around list items, an explicit sign. */
    h_assert_listing(h_listing(s, "filter[vendor-id-eq]=%202000%20,%202001"),
                     "1*n1-a,1*n1-c,1*n1-d,2*n2-b,3*n3-a,3*n3-c", NULL);
    h_assert_listing(h_listing(s, "filter[customer-id-eq]=%2B1000"), RES[0], NULL);
    h_assert_listing(h_listing(s, "filter[customer-id-eq]=-1000"), "", NULL);
    /* A call lacking routing fields does not match 0. */
    h_assert_listing(h_listing(s, "filter[customer-id-eq]=0"), "", NULL);
    /* Percent-encoded brackets are the same key. */
    h_assert_listing(h_listing(s, "filter%5Bnode-id-eq%5D=2"), NODE2, NULL);
    /* A node id nobody registered: nothing, and nobody failed. */
    h_assert_listing(h_listing(s, "filter[node-id-eq]=9"), "", NULL);
    h_assert_listing(h_listing(s, "filter[pop-id-eq]=9"), "", NULL);

    stop_cluster(&c);
}

static void test_filter_id(void **state)
{
    cluster c;
    start_cluster(&c, false, "2000");
    const h_proc *s = c.server;

    h_assert_listing(h_listing(s, "filter[id]=2*n2-b"), "2*n2-b", NULL);
    h_assert_listing(h_listing(s, "filter[id]=2%2An2-b"), "2*n2-b", NULL);
    /* Across nodes: listed by node id, whatever the order asked. */
    h_assert_listing(h_listing(s, "filter[id]=3*n3-a,1*n1-d,2*n2-c"), "1*n1-d,2*n2-c,3*n3-a", NULL);
    h_assert_listing(h_listing(s, "filter[id]=1*n1-a,1*n1-b"), "1*n1-a,1*n1-b", NULL);
    /* Unknown tag, a tag of another node, an unregistered node. */
    h_assert_listing(h_listing(s, "filter[id]=1*nope"), "", NULL);
    h_assert_listing(h_listing(s, "filter[id]=1*n2-a"), "", NULL);
    h_assert_listing(h_listing(s, "filter[id]=9*n1-a"), "", NULL);
    h_assert_listing(h_listing(s, "filter[id]=1*nope,3*n3-b"), "3*n3-b", NULL);
    /* With another filter: AND. */
    h_assert_listing(h_listing(s, "filter[id]=1*n1-a,1*n1-b&filter[duration-greater-than]=30"), "1*n1-b",
                     NULL);
    h_assert_listing(h_listing(s, "filter[id]=1*n1-a,3*n3-a&filter[node-id-eq]=3"), "3*n3-a", NULL);

    stop_cluster(&c);
}

/* node-id-eq, pop-id-eq and filter[id] decide which nodes are asked: with
 * node 3 a blackhole, requests that exclude it answer at once and do not
 * report it; requests that include it report its timeout. */
static void test_unselected_nodes_not_asked(void **state)
{
    cluster c;
    start_cluster(&c, true, "1500");
    const h_proc *s = c.server;
    const double fast_ms = 750;

    const char *const fast_queries[][2] = {
        {"filter[node-id-eq]=1", NODE1},
        {"filter[node-id-eq]=1,2", NODE1 "," NODE2},
        {"filter[pop-id-eq]=1", NODE1 "," NODE2},
        {"filter[id]=1*n1-a,2*n2-b", "1*n1-a,2*n2-b"},
        {"filter[pop-id-eq]=1&filter[node-id-eq]=3", ""},
    };
    for (size_t i = 0; i < sizeof fast_queries / sizeof fast_queries[0]; i++) {
        h_response *r = h_listing(s, fast_queries[i][0]);
        h_assert_listing(r, fast_queries[i][1], NULL);
        if (r->elapsed_ms >= fast_ms)
            fail_msg("%s took %.0f ms: was the blackholed node 3 asked?", r->url, r->elapsed_ms);
    }

    /* Control: asking node 3 does hang until the deadline. */
    h_assert_listing(h_listing(s, NULL), NODE1 "," NODE2, "3/node-3/timeout");
    h_assert_listing(h_listing(s, "filter[node-id-eq]=3"), "", "3/node-3/timeout");
    h_assert_listing(h_listing(s, "filter[id]=3*n3-a"), "", "3/node-3/timeout");

    /* And the server is not wedged by the hanging node. */
    h_response *r = h_listing(s, "filter[node-id-eq]=2");
    h_assert_listing(r, NODE2, NULL);
    assert_true(r->elapsed_ms < fast_ms);

    stop_cluster(&c);
}

static void test_filter_matching_nothing(void **state)
{
    cluster c;
    start_cluster(&c, false, "2000");
    const char *const queries[] = {
        "filter[customer-id-eq]=999999",     "filter[duration-equals]=7",
        "filter[duration-greater-than]=300", "filter[duration-less-than]=0",
        "filter[dst-network-id-eq]=1000", /* a value of another field */
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        h_response *r = h_listing(c.server, queries[i]);
        h_assert_listing(r, "", NULL);
        json_t *expected = json_pack("{s:[],s:{s:i}}", "data", "meta", "total-count", 0);
        bool same = json_equal(expected, h_json(r));
        json_decref(expected);
        if (!same)
            fail_msg("%s: expected {\"data\":[],\"meta\":{\"total-count\":0}}, got %s", r->url, r->body);
    }
    stop_cluster(&c);
}

/* ------------------------------------------------------------------ */
/* rendering of unusual records                                        */

static json_t *attrs_of(const h_response *r, size_t i)
{
    json_t *res = json_array_get(json_object_get(h_json(r), "data"), i);
    json_t *a = json_object_get(res, "attributes");
    assert_non_null(a);
    assert_int_equal(json_object_size(a), 35);
    assert_int_equal(json_object_size(json_object_get(res, "relationships")), 18);
    return a;
}

static void expect_attr(const json_t *attrs, const char *name, const char *json_text)
{
    json_error_t err;
    json_t *want = json_loads(json_text, JSON_DECODE_ANY, &err);
    assert_non_null(want);
    json_t *got = json_object_get(attrs, name);
    bool same = got != NULL && json_equal(want, got);
    json_decref(want);
    if (!same) {
        char *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
        const char *gs = g ? h_strf("%s", g) : "<missing>";
        free(g);
        fail_msg("attribute %s is %s, expected %s", name, gs, json_text);
    }
}

static void test_rendering(void **state)
{
    cluster c;
    start_cluster(&c, false, "2000");
    h_response *r = h_listing(c.server, "filter[id]=1*n1-c,2*n2-c,3*n3-c");
    h_assert_listing(r, "1*n1-c,2*n2-c,3*n3-c", NULL);

    /* Ringing: connect_time 0 and duration null -> null; routed. */
    json_t *a = attrs_of(r, 0);
    expect_attr(a, "start-time", "\"2026-01-02T12:43:20.000Z\"");
    expect_attr(a, "connect-time", "null");
    expect_attr(a, "duration", "null");
    expect_attr(a, "dst-prefix-in", "\"380441234567\"");
    expect_attr(a, "leg-b-remote-ip", "\"\"");
    expect_attr(a, "leg-b-remote-port", "0");
    expect_attr(a, "local-tag", "\"n1-c\"");

    /* Not routed: every missing field is null. */
    a = attrs_of(r, 1);
    expect_attr(a, "start-time", "\"2026-01-02T12:43:24.000Z\"");
    expect_attr(a, "connect-time", "null");
    expect_attr(a, "duration", "null");
    const char *const missing[] = {"dst-prefix-in",
                                   "dst-prefix-routing",
                                   "lrn",
                                   "dst-prefix-out",
                                   "src-prefix-in",
                                   "src-prefix-routing",
                                   "src-prefix-out",
                                   "diversion-in",
                                   "diversion-out",
                                   "destination-initial-rate",
                                   "destination-next-rate",
                                   "destination-initial-interval",
                                   "destination-next-interval",
                                   "destination-fee",
                                   "destination-rate-policy-id",
                                   "dialpeer-initial-rate",
                                   "dialpeer-next-rate",
                                   "dialpeer-initial-interval",
                                   "dialpeer-next-interval",
                                   "dialpeer-fee"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) expect_attr(a, missing[i], "null");
    expect_attr(a, "time-limit", "7200");
    expect_attr(a, "orig-call-id", "\"orig-n2-c\"");
    expect_attr(a, "term-call-id", "\"\"");

    /* Escaping: quote, backslash, slash, a control character, a tab and
     * non-ASCII characters come back as the same string. */
    a = attrs_of(r, 2);
    const char *tricky = "q\"uote\\back/slash\x01"
                         "ctl\ttab\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80";
    assert_string_equal(json_string_value(json_object_get(a, "orig-call-id")), tricky);
    expect_attr(a, "duration", "300");
    expect_attr(a, "connect-time", "\"2026-01-02T12:44:08.000Z\"");
    expect_attr(a, "destination-initial-rate", "\"0.02\"");
    expect_attr(a, "destination-initial-interval", "60");

    stop_cluster(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seed_replay, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_each_filter, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_combined_filters, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_filter_id, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_unselected_nodes_not_asked, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_filter_matching_nothing, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_rendering, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
