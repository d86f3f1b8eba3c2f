/* it_history: the active-call history end to end (docs/API.md, "History").
 *
 *  - SQLite: `serve --history-interval-s 1` writes a sample per slot whose
 *    counts are the nodes' own (asked directly), each slot once; rows past
 *    --history-keep-days are deleted; GET /active-call-samples charts them
 *    per node, per account, per bucket and as the total, and refuses bad
 *    parameters with a 400 naming them.
 *  - PostgreSQL (when $ACTIVECALLS_TEST_PG is set): two instances on one
 *    database write every slot exactly once; the writer killed with SIGKILL
 *    mid-run is replaced with no slot missing or doubled. */
#include "harness.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/timefmt.h"

#define WAIT_MS 60000 /* a bound for what should take seconds */

/* GET /active-call-samples?query, asserting 200; its data. */
static json_t *samples(const h_proc *server, const char *query)
{
    const char *const hdrs[] = {"Accept: application/vnd.api+json", NULL};
    h_response *r =
        h_http("GET", h_url(server, h_strf("/api/rest/admin/active-call-samples?%s", query)), hdrs, NULL);
    if (r->status != 200) fail_msg("%ld: %s", r->status, r->body);
    return json_object_get(h_json(r), "data");
}

static long long attr(json_t *res, const char *name)
{
    return json_integer_value(json_object_get(json_object_get(res, "attributes"), name));
}

/* The node's calls, asked directly: how many, and per account. */
typedef struct expect_counts {
    long long calls;
    long long orig[64], term[64]; /* by account id (the simulator's are small) */
} expect_counts;

static void count_node(const h_proc *sim, expect_counts *e)
{
    json_t *calls = json_object_get(h_node_rpc(sim->addr, "yeti.show.calls", "[]"), "result");
    assert_true(json_is_array(calls));
    e->calls = (long long)json_array_size(calls);
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        json_int_t o = json_integer_value(json_object_get(c, "customer_acc_id"));
        json_int_t t = json_integer_value(json_object_get(c, "vendor_acc_id"));
        assert_true(o > 0 && o < 64 && t > 0 && t < 64);
        e->orig[o]++;
        e->term[t]++;
    }
}

static char *iso_ago(int64_t secs)
{
    char iso[TIMEFMT_ISO_LEN + 1] = "";
    assert_true(timefmt_iso_utc((int64_t)time(NULL) - secs, iso));
    return h_strf("%.*s", TIMEFMT_ISO_LEN, iso);
}

static int sql_int(const char *db, const char *sql)
{
    sqlite3 *d = NULL;
    sqlite3_stmt *st = NULL;
    int v = -1;
    assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
    sqlite3_busy_timeout(d, 5000);
    assert_int_equal(sqlite3_prepare_v2(d, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(d);
    return v;
}

static void test_sqlite_samples(void **state)
{
    const char *db = h_db_path();
    h_proc *sim1 = h_start_nodesim(1, 1, "--calls", "6", NULL);
    h_proc *sim2 = h_start_nodesim(2, 1, "--calls", "3", NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, sim1->addr, 1);
    h_add_node(db, 2, sim2->addr, 1);
    /* rows 40 and 10 days old: the first must go, the second stay */
    char *sql = h_strf("INSERT INTO stats_active_calls (node_id, count, created_at) VALUES (1, 99, '%s'), "
                       "(1, 98, '%s')",
                       iso_ago(40 * 86400), iso_ago(10 * 86400));
    sqlite3 *d = NULL;
    assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
    assert_int_equal(sqlite3_exec(d, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(d);

    h_proc *srv = h_start_server(db, "--history-interval-s", "1", "--history-keep-days", "31", NULL);
    expect_counts e = {0}, e2 = {0};
    count_node(sim1, &e);
    count_node(sim2, &e2);
    for (int a = 0; a < 64; a++) {
        e.orig[a] += e2.orig[a];
        e.term[a] += e2.term[a];
    }
    /* three samples of both nodes */
    json_t *data = NULL;
    double t0 = h_now_ms();
    while ((data = samples(srv, "filter[node-id-eq]=1,2&hours=1")) && json_array_size(data) < 6) {
        if (h_now_ms() - t0 > WAIT_MS) fail_msg("no samples after %d ms", WAIT_MS);
        usleep(200 * 1000);
    }
    size_t i;
    json_t *s;
    json_array_foreach(data, i, s)
    {
        json_t *node = json_object_get(json_object_get(json_object_get(s, "relationships"), "node"), "data");
        const char *id = json_string_value(json_object_get(node, "id"));
        assert_int_equal(attr(s, "count"), strcmp(id, "1") == 0 ? e.calls : e2.calls);
    }
    /* each slot once */
    assert_int_equal(
        sql_int(db, "SELECT count(*) - count(DISTINCT created_at) FROM stats_active_calls WHERE node_id = 2"),
        0);
    assert_int_equal(sql_int(db, "SELECT count(*) - count(DISTINCT created_at) FROM stats_active_call_slots"),
                     0);
    /* retention: the 40-day row is gone, the 10-day one stays */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM stats_active_calls WHERE count = 99"), 0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM stats_active_calls WHERE count = 98"), 1);
    /* the total: both nodes in every slot */
    json_array_foreach(samples(srv, "hours=1"), i, s) assert_int_equal(attr(s, "count"), e.calls + e2.calls);
    /* accounts, per minute: the largest sample is the nodes' own count (fixed calls) */
    for (int a = 1; a < 64; a++) {
        if (!e.orig[a] && !e.term[a]) continue;
        json_t *pts = samples(srv, h_strf("filter[account_id_eq]=%d&hours=1&bucket=60", a));
        assert_true(json_array_size(pts) >= 1);
        json_t *p = json_array_get(pts, 0);
        assert_int_equal(attr(p, "originated-count"), e.orig[a]);
        assert_int_equal(attr(p, "terminated-count"), e.term[a]);
        assert_true(attr(p, "samples") >= 1);
        assert_true(json_is_real(json_object_get(json_object_get(p, "attributes"), "originated-count-avg")));
    }
    /* bad parameters: 400s naming them */
    const char *const hdrs[] = {"Accept: application/vnd.api+json", NULL};
    h_response *r =
        h_http("GET", h_url(srv, "/api/rest/admin/active-call-samples?hours=745&bucket=10"), hdrs, NULL);
    h_assert_error(r, 400, 0, "Invalid field value", "745 is not a valid value for hours (1 to 744).", "103");
    h_assert_error(r, 400, 1, "Invalid field value", "10 is not a valid value for bucket (60, 300 or 3600).",
                   "103");
    r = h_http("GET",
               h_url(srv, "/api/rest/admin/active-call-samples?filter[node-id-eq]=1&filter[orig-gw-id-eq]=2"),
               hdrs, NULL);
    assert_int_equal(r->status, 400);
    /* no token: 401, as every resource */
    const char *const anon[] = {H_NO_AUTH, "Accept: application/vnd.api+json", NULL};
    assert_int_equal(h_http("GET", h_url(srv, "/api/rest/admin/active-call-samples"), anon, NULL)->status,
                     401);
    assert_int_equal(h_stop(srv), 0);
}

/* ---- PostgreSQL ---- */

/* Waits until the slots written reach n. */
static void wait_slots(const char *uri, long long n)
{
    double t0 = h_now_ms();
    while (h_pg_int(uri, "SELECT count(*) FROM stats.active_call_slots") < n) {
        if (h_now_ms() - t0 > WAIT_MS) fail_msg("fewer than %lld slots after %d ms", n, WAIT_MS);
        usleep(200 * 1000);
    }
}

static void sql_exec(const char *db, const char *sql)
{
    sqlite3 *d = NULL;
    assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
    sqlite3_busy_timeout(d, 5000);
    char *err = NULL;
    if (sqlite3_exec(d, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %.200s", err, sql);
    sqlite3_close(d);
}

static char *iso_at(int64_t t)
{
    char iso[TIMEFMT_ISO_LEN + 1] = "";
    assert_true(timefmt_iso_utc(t, iso));
    return h_strf("%.*s", TIMEFMT_ISO_LEN, iso);
}

/* A relative chart (hours=) is aligned to the samples' grid (60 s without
 * a writer) and, once its newest slot is settled, kept until the next slot
 * begins: a row changed meanwhile is seen by an absolute chart only. */
static void test_sqlite_chart_kept(void **state)
{
    const char *db = h_db_path();
    h_add_pop(db, 1);
    h_proc *srv = h_start_server(db, NULL); /* no writer: the rows below are all there is */
    /* inside a minute, away from its edges (at most ~10 s of waiting) */
    while (time(NULL) % 60 < 6 || time(NULL) % 60 > 50) usleep(200 * 1000);
    int64_t slot = (int64_t)time(NULL) / 60 * 60;
    buf sql;
    buf_init(&sql);
    buf_puts(&sql, "INSERT INTO stats_active_calls (node_id, count, created_at) VALUES ");
    for (int k = 0; k < 120; k++)
        buf_printf(&sql, "%s(7, %d, '%s')", k ? "," : "", 100 + k, iso_at(slot - 60LL * k));
    buf_putc(&sql, '\0');
    sql_exec(db, sql.data);
    buf_free(&sql);
    const char *const hdrs[] = {"Accept: application/vnd.api+json", NULL};
    const char *url = h_url(srv, "/api/rest/admin/active-call-samples?filter[node-id-eq]=7&hours=1");
    h_response *a = h_http("GET", url, hdrs, NULL);
    assert_int_equal(a->status, 200);
    json_t *meta = json_object_get(h_json(a), "meta");
    assert_string_equal(json_string_value(json_object_get(meta, "to")), iso_at(slot));
    /* the first slot at or after an hour ago (now is past `slot`) */
    assert_string_equal(json_string_value(json_object_get(meta, "from")), iso_at(slot - 3600 + 60));
    assert_int_equal(json_array_size(json_object_get(h_json(a), "data")), 60); /* both ends included */
    /* the newest row changes: the kept chart stays until the next slot */
    sql_exec(db,
             h_strf("UPDATE stats_active_calls SET count = 5 WHERE node_id = 7 AND created_at = '%s'",
                    iso_at(slot)));
    h_response *b = h_http("GET", url, hdrs, NULL);
    assert_int_equal(b->status, 200);
    assert_string_equal(b->body, a->body);
    /* an absolute range is read each time */
    h_response *c = h_http(
        "GET",
        h_url(srv,
              h_strf("/api/rest/admin/active-call-samples?filter[node-id-eq]=7&filter[created-at-gteq]=%s"
                     "&filter[created-at-lteq]=%s",
                     iso_at(slot), iso_at(slot))),
        hdrs, NULL);
    assert_int_equal(c->status, 200);
    assert_int_equal(attr(json_array_get(json_object_get(h_json(c), "data"), 0), "count"), 5);
    assert_int_equal(h_stop(srv), 0);
}

static void test_pg_one_writer(void **state)
{
    const char *uri = h_pg_fresh("ac_it_history");
    if (!uri) {
        skip();
        return;
    }
    h_proc *sim = h_start_nodesim(1, 1, "--calls", "4", NULL);
    h_add_pop(uri, 1);
    h_add_node(uri, 1, sim->addr, 1);
    h_proc *a = h_start_server(uri, "--history-interval-s", "2", NULL);
    h_proc *b = h_start_server(uri, "--history-interval-s", "2", NULL);
    wait_slots(uri, 3);
    h_proc *writer = h_log_count(a, "this instance writes the samples") ? a : b;
    h_proc *other = writer == a ? b : a;
    assert_int_equal(h_log_count(writer, "this instance writes the samples"), 1);
    assert_int_equal(h_log_count(other, "this instance writes the samples"), 0);
    /* the writer dies without a word: its session, and the lock, go */
    long long before = h_pg_int(uri, "SELECT count(*) FROM stats.active_call_slots");
    assert_int_equal(kill(writer->pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(writer->pid, &status, 0), writer->pid);
    writer->pid = 0;
    wait_slots(uri, before + 3);
    assert_int_equal(h_log_count(other, "this instance writes the samples"), 1);
    assert_int_equal(h_stop(other), 0);
    /* every slot from the first to the last, each once, with the node's calls */
    assert_int_equal(h_pg_int(uri, "SELECT count(*) - count(DISTINCT created_at) FROM stats.active_calls"),
                     0); /* one node */
    assert_int_equal(
        h_pg_int(uri,
                 "SELECT (extract(epoch FROM max(created_at) - min(created_at)) / 2 + 1)::bigint "
                 "- count(*) FROM stats.active_call_slots"),
        0);
    assert_int_equal(h_pg_int(uri, "SELECT count(*) FROM stats.active_calls"),
                     h_pg_int(uri, "SELECT count(*) FROM stats.active_call_slots"));
    assert_int_equal(h_pg_int(uri, "SELECT count(*) FROM stats.active_calls WHERE count <> 4"), 0);
    assert_int_equal(h_pg_int(uri,
                              "SELECT count(*) FROM stats.active_call_slots WHERE "
                              "extract(epoch FROM created_at)::bigint % 2 <> 0"),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sqlite_samples, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_chart_kept, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_pg_one_writer, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
