/* it_perf_features: the two performance features (docs/API.md, "Performance features") that change what goes over
 * the wire, checked for correctness only (speed is `make bench`'s job; no
 * assertion here depends on timing).
 *
 * - gzip: with Accept-Encoding allowing gzip, a listing (> 1 KiB) comes
 *   compressed, with content-encoding: gzip, vary: Accept, Accept-Encoding
 *   and its own weak ETag (the identity tag plus "-gz"); inflated it is the
 *   identity body byte for byte. If-None-Match works for both
 *   representations; q=0, other codings and small bodies stay identity.
 * - coalescing: 20 identical listings sent at once share fan-out rounds.
 *   One node answers after 300 ms (nodesim --delay-ms), so rounds stay in
 *   flight; a second node is the harness's fake node, which records every
 *   request. Then: every listing is 200 with the same body; the server's
 *   `msg=fanout` lines (one per round, with joined=J) account for all 20
 *   listings (sum of 1+J); the fake node saw exactly one request per round;
 *   and fewer rounds than listings ran. A listing after that starts a new
 *   round (never an old result).
 *
 * - big listings: 3 nodes x 1,000 calls (from files). Each reply is large enough to be
 *   parsed on its own thread, and the document is written in slices on
 *   several threads and sent as several parts (src/api/list_calls.c). The
 *   whole listing must be exactly the per-node listings' data joined in
 *   node order, every id once, with total-count 3000; a one-call reply and
 *   then the big one again are read right from the node's reused reply
 *   buffer; its ETag gives a 304;
 *   gzip'd it inflates to the same bytes (the deflate stream spans parts).
 *
 * - a client that leaves: a listing (1,000 calls) whose client closed the
 *   connection while the (slow) node answered is not written: the server logs it with
 *   status 499, and a listing right after is served as usual.
 *
 * The gzip'd, concurrent and big requests go through h_raw_get (the
 * harness would save each body as a document to validate). */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#define LISTING_PATH "/api/rest/admin/active-calls"

/* Asserts header name of r is exactly want. */
static void expect_hdr(const h_raw *r, const char *name, const char *want)
{
    const char *got = h_raw_header(r, name);
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s is \"%s\", expected \"%s\"", name, got ? got : "<absent>", want);
}

/* The gzip body inflated (harness-owned); fails on a zlib error. */
static char *gunzip(const char *in, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, 31), Z_OK);
    size_t cap = n * 8 + 1024, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    int rc;
    do {
        if (cap - len < 65536) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        z.next_out = (Bytef *)out + len;
        z.avail_out = (uInt)(cap - len);
        rc = inflate(&z, Z_NO_FLUSH);
        len = cap - z.avail_out;
    } while (rc == Z_OK);
    inflateEnd(&z);
    if (rc != Z_STREAM_END) fail_msg("the body is not a whole gzip stream (zlib %d)", rc);
    *out_len = len;
    return h_own(out, free);
}

/* Node 1 (pop 1) serving the seed's two calls, registered in the test's database. */
static void seed_node(const char *const *nodesim_extra)
{
    const char *db = h_db_path();
    h_proc *node = nodesim_extra
        ? h_start_nodesim(1, 1, "--calls-file", h_data_path("seed_calls.json"), nodesim_extra[0],
                          nodesim_extra[1], NULL)
        : h_start_nodesim(1, 1, "--calls-file", h_data_path("seed_calls.json"), NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, node->addr, 1);
}

/* ------------------------------------------------------------------ */

static void test_gzip(void **state)
{
    seed_node(NULL);
    h_proc *server = h_start_server(h_db_path(), NULL);

    h_response *id = h_listing(server, NULL);
    assert_int_equal(id->status, 200);
    assert_true(id->body_len > 1024);
    assert_null(h_header_value(id, "content-encoding"));
    const char *etag = h_header_value(id, "etag");
    assert_non_null(etag);
    assert_true(h_matches(etag, "^W/\"[0-9a-f]{32}\"$"));
    const char *etag_gz = h_strf("%.*s-gz\"", (int)strlen(etag) - 1, etag);

    const char *gz_hdr[] = {"Accept-Encoding: gzip", NULL};
    h_raw *gz = h_raw_get(server, LISTING_PATH, gz_hdr);
    assert_int_equal(gz->status, 200);
    expect_hdr(gz, "content-encoding", "gzip");
    expect_hdr(gz, "vary", "Accept, Accept-Encoding");
    expect_hdr(gz, "content-type", "application/vnd.api+json");
    expect_hdr(gz, "etag", etag_gz);
    assert_true(gz->len < id->body_len);
    size_t plain_len;
    char *plain = gunzip(gz->body, gz->len, &plain_len);
    assert_int_equal(plain_len, id->body_len);
    assert_memory_equal(plain, id->body, plain_len);

    /* other spellings that allow gzip */
    const char *const allow[] = {"Accept-Encoding: br, GZIP;q=0.5", "Accept-Encoding: *",
                                 "Accept-Encoding: deflate, x-gzip", NULL};
    for (size_t i = 0; allow[i]; i++) {
        const char *h[] = {allow[i], NULL};
        h_raw *r = h_raw_get(server, LISTING_PATH, h);
        if (!h_raw_header(r, "content-encoding")) fail_msg("%s: not compressed", allow[i]);
        expect_hdr(r, "etag", etag_gz);
    }
    /* ... and ones that do not */
    const char *const deny[] = {"Accept-Encoding: gzip;q=0", "Accept-Encoding: br, identity",
                                "Accept-Encoding: *;q=0",    "Accept-Encoding: gzip;q=0, *",
                                "Accept-Encoding: ",         NULL};
    for (size_t i = 0; deny[i]; i++) {
        const char *h[] = {deny[i], NULL};
        h_raw *r = h_raw_get(server, LISTING_PATH, h);
        assert_int_equal(r->status, 200);
        if (h_raw_header(r, "content-encoding")) fail_msg("%s: compressed", deny[i]);
        expect_hdr(r, "etag", etag);
        expect_hdr(r, "vary", "Accept");
        assert_int_equal(r->len, id->body_len);
    }

    /* If-None-Match, per representation */
    const char *inm_gz[] = {"Accept-Encoding: gzip", h_strf("If-None-Match: %s", etag_gz), NULL};
    h_raw *nm = h_raw_get(server, LISTING_PATH, inm_gz);
    assert_int_equal(nm->status, 304);
    assert_int_equal(nm->len, 0);
    assert_null(h_raw_header(nm, "content-encoding"));
    expect_hdr(nm, "etag", etag_gz);
    const char *inm_id[] = {h_strf("If-None-Match: %s", etag), NULL};
    h_raw *nm2 = h_raw_get(server, LISTING_PATH, inm_id);
    assert_int_equal(nm2->status, 304);
    expect_hdr(nm2, "etag", etag);
    /* the identity tag does not match the gzip'd representation */
    const char *cross[] = {"Accept-Encoding: gzip", h_strf("If-None-Match: %s", etag), NULL};
    h_raw *x = h_raw_get(server, LISTING_PATH, cross);
    assert_int_equal(x->status, 200);
    expect_hdr(x, "content-encoding", "gzip");

    /* a small body (< 1 KiB) is never compressed */
    h_raw *small = h_raw_get(server, LISTING_PATH "?filter%5Bnode-id-eq%5D=99", gz_hdr);
    assert_int_equal(small->status, 200);
    assert_true(small->len < 1024);
    assert_null(h_raw_header(small, "content-encoding"));
    assert_non_null(strstr(small->body, "\"total-count\":0"));

    assert_int_equal(h_stop(server), 0);
}

/* Sum of (1 + joined) and count over the server's msg=fanout lines. */
static void fanout_lines(const h_proc *server, int *rounds, int *listings)
{
    FILE *f = fopen(server->log_path, "r");
    assert_non_null(f);
    char line[4096];
    *rounds = *listings = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "msg=fanout")) continue;
        const char *j = strstr(line, " joined=");
        assert_non_null(j);
        (*rounds)++;
        *listings += 1 + atoi(j + 8);
    }
    fclose(f);
}

static size_t show_calls_requests(h_fake_node *n)
{
    json_t *reqs = h_fake_node_requests(n);
    size_t count = 0, i;
    json_t *r;
    json_array_foreach(reqs, i, r) if (strcmp(json_string_value(json_object_get(r, "method")),
                                              "yeti.show.calls") == 0) count++;
    return count;
}

static void test_coalescing(void **state)
{
    enum { N = 20 };
    const char *slow[] = {"--delay-ms", "300"};
    seed_node(slow);
    json_t *none = json_array();
    h_fake_node *fake = h_fake_node_start(none); /* no calls: it only counts requests */
    json_decref(none);
    h_add_node(h_db_path(), 2, h_fake_node_addr(fake), 1);
    h_proc *server = h_start_server(h_db_path(), NULL);

    h_raw *rs = h_raw_get_concurrently(server, LISTING_PATH, NULL, N);

    bool same = true;
    for (int i = 0; i < N; i++) {
        assert_int_equal(rs[i].status, 200);
        if (rs[i].len != rs[0].len || memcmp(rs[i].body, rs[0].body, rs[0].len) != 0) same = false;
    }
    assert_non_null(strstr(rs[0].body, "\"total-count\":2"));
    assert_true(same);

    int rounds, listings;
    fanout_lines(server, &rounds, &listings);
    assert_int_equal(listings, N);                               /* every listing took part in a round */
    assert_int_equal(show_calls_requests(fake), (size_t)rounds); /* one node request per round */
    if (rounds >= N) fail_msg("no coalescing: %d rounds for %d identical listings", rounds, N);

    /* A listing after those rounds ended asks the nodes again. */
    h_response *late = h_listing(server, NULL);
    assert_int_equal(late->status, 200);
    int rounds2, listings2;
    fanout_lines(server, &rounds2, &listings2);
    assert_int_equal(rounds2, rounds + 1);
    assert_int_equal(listings2, N + 1);
    assert_int_equal(show_calls_requests(fake), (size_t)rounds + 1);

    assert_int_equal(h_stop(server), 0);
}

/* ------------------------------------------------------------------ */

static json_t *parse_doc(const h_raw *r)
{
    json_error_t err;
    json_t *doc = json_loadb(r->body, r->len, 0, &err);
    if (!doc) fail_msg("not JSON (%s at %d)", err.text, err.position);
    return doc;
}

/* A calls file of n copies of the seed's first call, each with its own
 * local_tag and ids (a file, not generated calls: durations stay put, so
 * the body and its ETag do too). */
static const char *big_calls_file(const char *path, int node, int n)
{
    json_error_t err;
    json_t *seed = json_load_file(h_data_path("seed_calls.json"), 0, &err);
    assert_non_null(seed);
    json_t *recs = json_array();
    for (int k = 0; k < n; k++) {
        json_t *r = json_deep_copy(json_array_get(seed, 0));
        json_object_set_new(r, "local_tag", json_string(h_strf("big-%d-%d", node, k)));
        json_object_set_new(r, "orig_call_id", json_string(h_strf("call-%d@big", k)));
        json_object_set_new(r, "customer_id", json_integer(k % 7 + 1));
        json_array_append_new(recs, r);
    }
    assert_int_equal(json_dump_file(recs, path, JSON_COMPACT), 0);
    json_decref(recs);
    json_decref(seed);
    return path;
}

static void test_big_listing(void **state)
{
    enum { NODES = 3, CALLS = 1000 };
    const char *db = h_db_path();
    h_add_pop(db, 1);
    for (int i = 1; i <= NODES; i++) {
        const char *file = big_calls_file(h_strf("%s.node%d.json", db, i), i, CALLS);
        h_proc *node = h_start_nodesim(i, 1, "--calls-file", file, NULL);
        h_add_node(db, i, node->addr, 1);
    }
    h_proc *server = h_start_server(db, NULL);

    h_raw *all = h_raw_get(server, LISTING_PATH, NULL);
    assert_int_equal(all->status, 200);
    expect_hdr(all, "content-length", h_strf("%zu", all->len));
    const char *timing = h_raw_header(all, "server-timing");
    assert_non_null(timing);
    if (!h_matches(timing,
                   "^pre;dur=[0-9]+\\.[0-9]{3}, fanout;dur=[0-9]+\\.[0-9]{3}, "
                   "parse;dur=[0-9]+\\.[0-9]{3}, filter;dur=[0-9]+\\.[0-9]{3}, "
                   "write;dur=[0-9]+\\.[0-9]{3}, gzip;dur=0\\.000$"))
        fail_msg("server-timing: %s", timing);
    json_t *doc = parse_doc(all);
    json_t *data = json_object_get(doc, "data");
    assert_int_equal(json_array_size(data), NODES * CALLS);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "meta"), "total-count")),
                     NODES * CALLS);
    assert_null(json_object_get(json_object_get(doc, "meta"), "failed-nodes"));

    /* the same records as the per-node listings, in node order, each id once */
    json_t *seen = json_object();
    size_t at = 0;
    for (int i = 1; i <= NODES; i++) {
        h_raw *one = h_raw_get(server, h_strf(LISTING_PATH "?filter%%5Bnode-id-eq%%5D=%d", i), NULL);
        assert_int_equal(one->status, 200);
        json_t *one_doc = parse_doc(one);
        json_t *one_data = json_object_get(one_doc, "data");
        assert_int_equal(json_array_size(one_data), CALLS);
        for (size_t k = 0; k < CALLS; k++, at++) {
            json_t *rec = json_array_get(data, at);
            if (!json_equal(rec, json_array_get(one_data, k)))
                fail_msg("record %zu of the whole listing differs from node %d's record %zu", at, i, k);
            const char *id = json_string_value(json_object_get(rec, "id"));
            assert_non_null(id);
            if (json_object_get(seen, id)) fail_msg("id %s twice", id);
            json_object_set_new(seen, id, json_true());
        }
        json_decref(one_doc);
    }
    json_decref(seen);
    json_decref(doc);

    /* Each node's reply buffer is reused for its next reply: a small reply
     * after the big one (one tag asked), then the big one again, read right. */
    h_raw *one = h_raw_get(server, LISTING_PATH "?filter%5Bid%5D=2*big-2-7", NULL);
    assert_int_equal(one->status, 200);
    json_t *one_doc = parse_doc(one);
    assert_int_equal(json_array_size(json_object_get(one_doc, "data")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(one_doc, "data"), 0), "id")),
        "2*big-2-7");
    json_decref(one_doc);
    h_raw *again = h_raw_get(server, LISTING_PATH, NULL);
    assert_int_equal(again->status, 200);
    assert_int_equal(again->len, all->len);
    assert_memory_equal(again->body, all->body, all->len);

    /* the ETag covers every part: a 304 for it, and only for it */
    const char *etag = h_raw_header(all, "etag");
    assert_non_null(etag);
    const char *inm[] = {h_strf("If-None-Match: %s", etag), NULL};
    h_raw *nm = h_raw_get(server, LISTING_PATH, inm);
    assert_int_equal(nm->status, 304);
    assert_int_equal(nm->len, 0);

    /* gzip over the parts: one stream, the identity bytes when inflated */
    const char *gz_hdr[] = {"Accept-Encoding: gzip", NULL};
    h_raw *gz = h_raw_get(server, LISTING_PATH, gz_hdr);
    assert_int_equal(gz->status, 200);
    expect_hdr(gz, "content-encoding", "gzip");
    expect_hdr(gz, "etag", h_strf("%.*s-gz\"", (int)strlen(etag) - 1, etag));
    size_t plain_len;
    char *plain = gunzip(gz->body, gz->len, &plain_len);
    assert_int_equal(plain_len, all->len);
    assert_memory_equal(plain, all->body, plain_len);

    assert_int_equal(h_stop(server), 0);
}

/* ------------------------------------------------------------------ */

static void test_client_gone(void **state)
{
    /* 1,000 calls: smaller documents are written without asking the socket */
    const char *db = h_db_path();
    h_add_pop(db, 1);
    const char *file = big_calls_file(h_strf("%s.node1.json", db), 1, 1000);
    h_proc *node = h_start_nodesim(1, 1, "--calls-file", file, "--delay-ms", "600", NULL);
    h_add_node(db, 1, node->addr, 1);
    h_proc *server = h_start_server(db, NULL);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)server->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    const char *req = h_strf("GET " LISTING_PATH " HTTP/1.1\r\nHost: example.org\r\n"
                             "Accept: application/vnd.api+json\r\n"
                             "Authorization: Bearer %s\r\n\r\n",
                             server->token);
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    usleep(150 * 1000); /* the request is with the node now */
    close(fd);

    double t0 = h_now_ms();
    while (h_log_count(server, "status=499") == 0 && h_now_ms() - t0 < 5000) usleep(20 * 1000);
    assert_int_equal(h_log_count(server, "status=499"), 1);
    assert_int_equal(h_log_count(server, "status=200"), 0);

    h_response *r = h_listing(server, NULL); /* the next client is served */
    assert_int_equal(r->status, 200);
    assert_int_equal(h_stop(server), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gzip, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_coalescing, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_big_listing, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_client_gone, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
