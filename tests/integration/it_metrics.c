/* it_metrics: GET /metrics end to end (docs/METRICS.md), real server and
 * simulated nodes on loopback: yeti's families agree with the listing
 * (the total, the calls per account add up to it), each node's up and
 * calls, the text passes `promtool check metrics` (Debian's prometheus
 * package), OpenMetrics when asked for, gzip as one member any client
 * reads, the series of an account that is gone written as 0 and then
 * dropped, and access: loopback by default, --metrics-allow and the
 * bearer token of --metrics-token-file. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static h_proc *node1, *node2, *server;

static void start(const char *a1, const char *v1, const char *a2, const char *v2)
{
    const char *db = h_db_path();
    node1 = h_start_nodesim(1, 1, "--calls", "40", "--seed", "1", NULL);
    node2 = h_start_nodesim(2, 1, "--calls", "25", "--seed", "2", NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, node1->addr, 1);
    h_add_node(db, 2, node2->addr, 1);
    server = h_start_server(db, a1, v1, a2, v2, NULL);
}

static void stop(void)
{
    assert_int_equal(h_stop(server), 0);
    assert_int_equal(h_stop(node1), 0);
    assert_int_equal(h_stop(node2), 0);
}

/* The value of the sample line that starts with `prefix`, or -1. */
static double value_of(const char *text, const char *prefix)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, prefix, strlen(prefix)) != 0) continue;
        const char *end = p + strcspn(p, "\n"), *sp = end;
        while (sp > p && sp[-1] != ' ') sp--;
        return strtod(sp, NULL);
    }
    return -1;
}

/* The sum of every sample of a metric (name followed by '{'). */
static double sum_of(const char *text, const char *name)
{
    double sum = 0;
    const char *want = h_strf("%s{", name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, want, strlen(want)) == 0) sum += value_of(p, want);
    return sum;
}

static void test_families(void **state)
{
    start(NULL, NULL, NULL, NULL);
    h_response *l = h_listing(server, "");
    assert_int_equal(l->status, 200);
    const char *none[] = {"Authorization:", NULL}; /* loopback needs no token */
    h_response *r = h_http("GET", h_url(server, "/metrics"), none, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(h_header_value(r, "content-type"), "text/plain; version=0.0.4; charset=utf-8");
    double total =
        (double)json_integer_value(json_object_get(json_object_get(h_json(l), "meta"), "total-count"));
    assert_true(total == 65);
    assert_true(value_of(r->body, "ruby_yeti_ac ") == total);
    assert_true(sum_of(r->body, "ruby_yeti_ac_account_originated") == total);
    assert_true(sum_of(r->body, "ruby_yeti_ac_account_terminated") == total);
    assert_true(sum_of(r->body, "ruby_yeti_ac_ca") == total);
    for (int n = 1; n <= 2; n++)
        assert_true(value_of(r->body, h_strf("activecalls_node_up{node_id=\"%d\",node_name=", n)) == 1);
    assert_true(sum_of(r->body, "activecalls_node_up") == 2);
    assert_true(sum_of(r->body, "activecalls_node_calls") == total);
    assert_non_null(strstr(r->body, "# TYPE activecalls_http_requests_total counter\n"));
    assert_non_null(
        strstr(r->body, "activecalls_http_requests_total{route=\"active-calls\",status=\"200\"} "));
    assert_non_null(strstr(r->body, "process_resident_memory_bytes "));
    /* promtool's verdict on the text */
    const char *path = h_strf("%s/metrics.txt", h_tmpdir());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fwrite(r->body, 1, r->body_len, f);
    fclose(f);
    int rc = system(h_strf("promtool check metrics < '%s' > '%s.out' 2>&1", path, path));
    if (rc != 0) fail_msg("promtool check metrics failed (%d): see %s.out", rc, path);
    /* OpenMetrics when the scraper asks for it */
    const char *om[] = {"Accept: application/openmetrics-text; version=1.0.0,text/plain;q=0.5", NULL};
    h_response *o = h_http("GET", h_url(server, "/metrics"), om, NULL);
    assert_int_equal(o->status, 200);
    assert_string_equal(h_header_value(o, "content-type"),
                        "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert_true(o->body_len > 6 && strcmp(o->body + o->body_len - 6, "# EOF\n") == 0);
    assert_non_null(strstr(o->body, "# TYPE activecalls_http_requests counter\n"));
    stop();
}

/* One gzip member, inflated (fails unless it is exactly one). */
static char *gunzip(const char *z, size_t n)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    assert_int_equal(inflateInit2(&s, 31), Z_OK);
    size_t cap = 4 << 20;
    char *out = h_strf("%*s", (int)cap, "");
    s.next_in = (Bytef *)(uintptr_t)z;
    s.avail_in = (uInt)n;
    s.next_out = (Bytef *)out;
    s.avail_out = (uInt)cap - 1;
    int rc = inflate(&s, Z_FINISH);
    if (rc != Z_STREAM_END || s.avail_in != 0) fail_msg("not one gzip member (%d, %u left)", rc, s.avail_in);
    out[s.total_out] = '\0';
    inflateEnd(&s);
    return out;
}

static void test_gzip(void **state)
{
    start(NULL, NULL, NULL, NULL);
    const char *gz[] = {"Authorization:", "Accept-Encoding: gzip", NULL};
    for (int i = 0; i < 3; i++) { /* the first waits for a round; the next come from the kept text */
        h_response *r = h_http("GET", h_url(server, "/metrics"), gz, NULL);
        assert_int_equal(r->status, 200);
        assert_string_equal(h_header_value(r, "content-encoding"), "gzip");
        char *text = gunzip(r->body, r->body_len);
        assert_true(value_of(text, "ruby_yeti_ac ") == 65);
        assert_non_null(strstr(text, "activecalls_snapshot_age_seconds "));
        assert_non_null(strstr(text, "\nactivecalls_event_streams 0\n"));
        assert_non_null(strstr(text, "\nactivecalls_event_stream_overflows_total 0\n"));
        const char *path = h_strf("%s/gz%d.txt", h_tmpdir(), i);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        if (system(h_strf("promtool check metrics < '%s' >/dev/null 2>&1", path)) != 0)
            fail_msg("promtool check metrics failed on the gzip'd text %s", path);
    }
    stop();
}

/* An account that is gone (its node removed) is written as 0 for
 * --metrics-keep-gone-s, then dropped. */
static void test_gone(void **state)
{
    const char *db = h_db_path();
    const char *calls = h_strf("%s/calls.json", h_tmpdir());
    FILE *f = fopen(calls, "w");
    assert_non_null(f);
    fputs("[{\"local_tag\":\"gone-1\",\"customer_acc_id\":777,\"customer_acc_external_id\":7770,"
          "\"vendor_acc_id\":778,\"customer_auth_id\":779,\"duration\":5}]",
          f);
    fclose(f);
    node1 = h_start_nodesim(1, 1, "--calls", "5", "--seed", "1", NULL);
    node2 = h_start_nodesim(2, 1, "--calls-file", calls, NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, node1->addr, 1);
    h_add_node(db, 2, node2->addr, 1);
    server = h_start_server(db, "--metrics-keep-gone-s", "2", "--refresh-ms", "200", "--node-cache-ms", "200",
                            NULL);
    const char *none[] = {"Authorization:", NULL};
    const char *line = "ruby_yeti_ac_account_originated{account_external_id=\"7770\",account_id=\"777\"} ";
    h_response *r = h_http("GET", h_url(server, "/metrics"), none, NULL);
    assert_true(value_of(r->body, line) == 1);
    char *out, *err;
    assert_int_equal(h_cli(&out, &err, "node", "remove", "--db", db, "--id", "2", NULL), 0);
    /* within the keep time: 0; after it: gone (bounded waits) */
    bool zero = false, dropped = false;
    double end = h_now_ms() + 15000;
    while (!dropped && h_now_ms() < end) {
        usleep(100 * 1000);
        r = h_http("GET", h_url(server, "/metrics"), none, NULL);
        assert_int_equal(r->status, 200);
        double v = value_of(r->body, line);
        if (v == 0) zero = true;
        if (v < 0 && zero) dropped = true;
        if (v < 0 && !zero) fail_msg("the gone account's series vanished without being written as 0");
    }
    if (!zero || !dropped) fail_msg("the gone account's series: zero %d, dropped %d", zero, dropped);
    stop();
}

static void test_access(void **state)
{
    const char *tok = h_strf("%s/metrics-token", h_tmpdir());
    FILE *f = fopen(tok, "w");
    assert_non_null(f);
    fputs("a-metrics-token-of-some-length\n", f);
    fclose(f);
    start("--metrics-allow", "10.0.0.0/8", "--metrics-token-file", tok);
    const char *none[] = {"Authorization:", NULL};
    h_response *r = h_http("GET", h_url(server, "/metrics"), none, NULL);
    assert_int_equal(r->status, 403); /* loopback is not in the list now */
    const char *bad[] = {"Authorization: Bearer not-the-token-at-all", NULL};
    assert_int_equal(h_http("GET", h_url(server, "/metrics"), bad, NULL)->status, 401);
    const char *good[] = {"Authorization: Bearer a-metrics-token-of-some-length", NULL};
    r = h_http("GET", h_url(server, "/metrics"), good, NULL);
    assert_int_equal(r->status, 200);
    assert_true(value_of(r->body, "ruby_yeti_ac ") == 65);
    assert_int_equal(h_http("POST", h_url(server, "/metrics"), good, "")->status, 405);
    stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_families, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_gzip, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_gone, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_access, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
