/* it_memory: what a listing may cost in memory (docs/API.md, "Memory"),
 * with small limits so that every document stays a few megabytes.
 *
 * - A node answering thousands of tiny records ({"local_tag":"<k>"}), each
 *   of which would be a full resource object: with --max-node-calls below
 *   their number the node fails as too-many-records and the honest node's
 *   calls are listed in a small document; the cap's boundary is exact.
 * - The same node under the cap but over --max-node-document-bytes: it
 *   fails as document-too-large, and the size its detail gives is exactly
 *   what its calls take in the document of a server without limits.
 * - Two honest nodes, each within its limit, together over
 *   --max-document-bytes: 507 whose meta gives the document's exact size
 *   and each node's exact share, biggest first; one node alone is served,
 *   and a limit of exactly the document's size serves it all.
 * - Four identical listings at once (one node round, so they are ready
 *   to be written at the same moment) under a --max-inflight-bytes that
 *   holds one document but not two: with --inflight-wait-ms 0 those that
 *   find no room get 503 with Retry-After; with a long wait they wait and
 *   all are served. Whether two of them are written at the same moment is
 *   up to the scheduler, so batches are sent until the budget has acted
 *   (at most 10 batches); nothing depends on a clock.
 * Every server's log must be free of msg=document-size-mismatch (the
 * document written is exactly the size reserved). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LISTING_PATH "/api/rest/admin/active-calls"
#define SEED_IDS                                                   \
    "1*FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86," \
    "1*03-3D73-55FA51B805CDE1BACF2FB0ED76C3D37B-2962144B354702AF"

/* A calls file of n records {"local_tag":"t<k>"} in the test's temp dir. */
static const char *tiny_calls_file(int n)
{
    const char *path = h_strf("%s/tiny-%d.json", h_tmpdir(), n);
    FILE *f = fopen(path, "w");
    if (f == NULL) fail_msg("cannot write %s", path);
    fputc('[', f);
    for (int k = 0; k < n; k++) fprintf(f, "%s{\"local_tag\":\"t%d\"}", k ? "," : "", k);
    fputc(']', f);
    if (fclose(f) != 0) fail_msg("cannot write %s", path);
    return path;
}

/* "2*t0,2*t1,...": the ids of tiny_calls_file(n) on node 2. */
static const char *tiny_ids(int n)
{
    const char *ids = "";
    for (int k = 0; k < n; k++) ids = h_strf("%s%s2*t%d", ids, k ? "," : "", k);
    return ids;
}

/* Node 1 with the seed's two calls, node 2 with n tiny records. */
static void start_nodes(const char *db, int n)
{
    h_add_pop(db, 1);
    h_proc *honest = h_start_nodesim(1, 1, "--calls-file", h_data_path("seed_calls.json"), NULL);
    h_add_node(db, 1, honest->addr, 1);
    h_proc *hostile = h_start_nodesim(2, 1, "--calls-file", tiny_calls_file(n), NULL);
    h_add_node(db, 2, hostile->addr, 1);
}

static void stop_server(h_proc *server)
{
    assert_int_equal(h_log_count(server, "msg=document-size-mismatch"), 0);
    assert_int_equal(h_stop(server), 0);
}

static const char *failed_detail(const h_response *r, size_t i)
{
    json_t *e = json_array_get(json_object_get(json_object_get(h_json(r), "meta"), "failed-nodes"), i);
    const char *detail = json_string_value(json_object_get(e, "detail"));
    if (detail == NULL) fail_msg("%s: no failed-nodes[%zu].detail: %.2000s", r->url, i, r->body);
    return detail;
}

/* The bytes of data[...]'s contents in a listing body: between {"data":[
 * and the ] before "meta" (no included). */
static size_t data_bytes(const char *body, size_t len)
{
    const char *head = "{\"data\":[";
    const char *end = strstr(body, "],\"meta\":{");
    if (strncmp(body, head, strlen(head)) != 0 || end == NULL || (size_t)(end - body) > len)
        fail_msg("not a listing without included: %.300s", body);
    return (size_t)(end - body) - strlen(head);
}

/* 3,000 tiny records: each would be a whole resource object (~13 MB in
 * all); over --max-node-calls the node fails and the document holds the
 * honest node's two calls only. */
static void test_amplification_refused(void **state)
{
    const char *db = h_db_path();
    start_nodes(db, 3000);
    h_proc *server = h_start_server(db, "--max-node-calls", "1000", NULL);
    for (int i = 0; i < 2; i++) {
        h_response *r = h_listing(server, NULL);
        h_assert_listing(r, SEED_IDS, "2/node-2/too-many-records");
        assert_string_equal(failed_detail(r, 0), "reply holds more than 1000 call records");
        if (r->body_len > 20000) fail_msg("a document of %zu bytes for two calls", r->body_len);
    }
    stop_server(server);
}

/* --max-node-calls N: N records are listed, N + 1 are not. */
static void test_records_cap_boundary(void **state)
{
    const char *db = h_db_path();
    start_nodes(db, 50);
    h_proc *at = h_start_server(db, "--max-node-calls", "50", NULL);
    h_proc *below = h_start_server(db, "--max-node-calls", "49", NULL);
    h_assert_listing(h_listing(at, NULL), h_strf("%s,%s", SEED_IDS, tiny_ids(50)), NULL);
    h_response *r = h_listing(below, NULL);
    h_assert_listing(r, SEED_IDS, "2/node-2/too-many-records");
    assert_string_equal(failed_detail(r, 0), "reply holds more than 49 call records");
    /* the honest node's two records are far below either cap */
    h_assert_listing(h_listing(below, "filter[node-id-eq]=1"), SEED_IDS, NULL);
    stop_server(at);
    stop_server(below);
}

/* Under the records cap, over --max-node-document-bytes: the node fails
 * with the exact size its calls would have taken. */
static void test_node_document_limit(void **state)
{
    const char *db = h_db_path();
    start_nodes(db, 500);
    h_proc *open = h_start_server(db, NULL);
    h_proc *limited = h_start_server(db, "--max-node-document-bytes", "1000000", NULL);

    h_response *all = h_listing(open, "filter[node-id-eq]=2");
    h_assert_listing(all, tiny_ids(500), NULL);
    size_t bytes = data_bytes(all->body, all->body_len);
    if (bytes <= 1000000)
        fail_msg("500 tiny records take %zu bytes: not over the limit, the test proves nothing", bytes);

    h_response *r = h_listing(limited, NULL);
    h_assert_listing(r, SEED_IDS, "2/node-2/document-too-large");
    assert_string_equal(failed_detail(r, 0),
                        h_strf("its 500 calls would take %zu bytes of the document; the limit per "
                               "node is 1000000",
                               bytes));
    /* what the filters leave decides: a few of its calls fit */
    h_assert_listing(h_listing(limited, "filter[id]=2*t1,2*t7"), "2*t1,2*t7", NULL);
    stop_server(open);
    stop_server(limited);
}

/* Two honest nodes, each within the per-node limit, over the document
 * limit together: a 507 with exact sizes; each node alone is served. */
static void test_document_limit(void **state)
{
    const char *db = h_db_path();
    h_add_pop(db, 1);
    h_proc *n1 = h_start_nodesim(1, 1, "--calls-file", h_data_path("filter_calls_node1.json"), NULL);
    h_proc *n2 = h_start_nodesim(2, 1, "--calls-file", h_data_path("filter_calls_node2.json"), NULL);
    h_add_node(db, 1, n1->addr, 1);
    h_add_node(db, 2, n2->addr, 1);
    h_proc *open = h_start_server(db, NULL);
    h_response *whole = h_listing(open, NULL);
    h_response *one = h_listing(open, "filter[node-id-eq]=1");
    h_response *two = h_listing(open, "filter[node-id-eq]=2");
    assert_int_equal(whole->status, 200);
    size_t d1 = data_bytes(one->body, one->body_len), d2 = data_bytes(two->body, two->body_len);
    assert_true(d1 > d2); /* four calls against three */

    h_proc *limited = h_start_server(db, "--max-document-bytes", h_strf("%zu", whole->body_len - 1), NULL);
    h_response *r = h_listing(limited, NULL);
    assert_int_equal(r->status, 507);
    size_t total = whole->body_len;
    const char *detail = h_strf("The listing would be a document of %zu bytes; the limit is %zu. Ask for "
                                "fewer calls (filter[node-id-eq], filter[pop-id-eq], fields[active-calls]) "
                                "or raise the limit.",
                                total, total - 1);
    json_t *want = json_pack(
        "{s:[{s:s,s:s,s:s,s:s}],s:{s:I,s:I,s:[{s:s,s:s,s:i,s:I},{s:s,s:s,s:i,s:I}]}}", "errors", "title",
        "Listing too large", "detail", detail, "code", "507", "status", "507", "meta", "document-bytes",
        (json_int_t)total, "limit", (json_int_t)total - 1, "nodes", "id", "1", "name", "node-1", "calls", 4,
        "bytes", (json_int_t)d1, "id", "2", "name", "node-2", "calls", 3, "bytes", (json_int_t)d2);
    assert_non_null(want);
    if (h_json_diff(want, h_json(r), 10) != 0) fail_msg("the 507 document differs: %.2000s", r->body);
    json_decref(want);
    /* one node alone fits, byte for byte the same listing */
    h_response *alone = h_listing(limited, "filter[node-id-eq]=1");
    assert_int_equal(alone->status, 200);
    assert_int_equal(alone->body_len, one->body_len);
    assert_memory_equal(alone->body, one->body, one->body_len);

    /* exactly the document's size is within the limit */
    h_proc *exact = h_start_server(db, "--max-document-bytes", h_strf("%zu", whole->body_len), NULL);
    h_response *fits = h_listing(exact, NULL);
    assert_int_equal(fits->status, 200);
    assert_int_equal(fits->body_len, whole->body_len);
    stop_server(open);
    stop_server(limited);
    stop_server(exact);
    assert_int_equal(h_stop(n1), 0);
    assert_int_equal(h_stop(n2), 0);
}

/* A calls file of n copies of the seed's first call, tags big-<k>. */
static const char *seed_copies_file(int n)
{
    json_t *seed = h_load_json_file(h_data_path("seed_calls.json"));
    json_t *out = json_array();
    for (int k = 0; k < n; k++) {
        json_t *rec = json_deep_copy(json_array_get(seed, 0));
        json_object_set_new(rec, "local_tag", json_string(h_strf("big-%d", k)));
        json_array_append_new(out, rec);
    }
    const char *path = h_strf("%s/big-%d.json", h_tmpdir(), n);
    if (json_dump_file(out, path, JSON_COMPACT) != 0) fail_msg("cannot write %s", path);
    json_decref(out);
    return path;
}

/* A slow node (so that two identical listings share its round and are
 * ready to be written together) with 300 calls, and the size of their
 * document. */
static size_t start_big_node(const char *db)
{
    h_add_pop(db, 1);
    h_proc *node = h_start_nodesim(1, 1, "--calls-file", seed_copies_file(300), "--delay-ms", "200", NULL);
    h_add_node(db, 1, node->addr, 1);
    h_proc *open = h_start_server(db, NULL);
    h_raw *r = h_raw_get(open, LISTING_PATH, NULL);
    assert_int_equal(r->status, 200);
    stop_server(open);
    return r->len;
}

#define AT_ONCE 4 /* identical listings sent together */

/* Sends AT_ONCE identical listings at once until the server logs `event`
 * (at most 10 times). Every answer is the whole document (200) or, when
 * `refusals` is allowed, a 503 with Retry-After; one of each batch is
 * always served. Returns how many 503s there were. */
static int batches_until(h_proc *server, size_t doc, const char *event, bool refusals)
{
    int refused = 0, round = 0;
    for (; round < 10 && h_log_count(server, event) == 0; round++) {
        h_raw *rs = h_raw_get_concurrently(server, LISTING_PATH, NULL, AT_ONCE);
        int served = 0;
        for (int i = 0; i < AT_ONCE; i++) {
            if (rs[i].status == 200 && rs[i].len == doc) {
                served++;
            } else if (refusals && rs[i].status == 503) {
                const char *ra = h_raw_header(&rs[i], "retry-after");
                if (ra == NULL || strcmp(ra, "1") != 0 ||
                    strstr(rs[i].body, "\"title\":\"Server busy\"") == NULL)
                    fail_msg("503 without Retry-After: 1 or its title: %s", rs[i].body);
                refused++;
            } else {
                fail_msg("status %ld, %zu bytes (the document is %zu): %.500s", rs[i].status, rs[i].len, doc,
                         rs[i].body);
            }
        }
        if (served == 0) fail_msg("no listing of %d was served, though one document fits", AT_ONCE);
    }
    if (h_log_count(server, event) == 0)
        fail_msg("10 times %d concurrent listings and never %s", AT_ONCE, event);
    print_message("%s after %d time(s) %d listings\n", event, round, AT_ONCE);
    return refused;
}

/* Room for one document, not two, and no wait: some of a batch get 503. */
static void test_inflight_budget_refuses(void **state)
{
    const char *db = h_db_path();
    size_t doc = start_big_node(db);
    h_proc *server = h_start_server(db, "--max-inflight-bytes", h_strf("%zu", doc + doc / 2),
                                    "--inflight-wait-ms", "0", NULL);
    int refused = batches_until(server, doc, "msg=document-budget outcome=refused", true);
    assert_int_equal(refused, h_log_count(server, "msg=document-budget outcome=refused"));
    assert_int_equal(h_log_count(server, "outcome=waited"), 0);
    h_assert_listing(h_listing(server, "filter[id]=1*big-7"), "1*big-7", NULL); /* and then as usual */
    stop_server(server);
}

/* Room for one document, not two, and a long wait: the second waits for
 * the first to be written, and both are served. */
static void test_inflight_budget_waits(void **state)
{
    const char *db = h_db_path();
    size_t doc = start_big_node(db);
    h_proc *server = h_start_server(db, "--max-inflight-bytes", h_strf("%zu", doc + doc / 2),
                                    "--inflight-wait-ms", "60000", NULL);
    assert_int_equal(batches_until(server, doc, "msg=document-budget outcome=waited", false), 0);
    assert_int_equal(h_log_count(server, "outcome=refused"), 0);
    stop_server(server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_amplification_refused, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_records_cap_boundary, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_node_document_limit, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_document_limit, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_inflight_budget_refuses, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_inflight_budget_waits, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
