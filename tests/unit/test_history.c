/* test_history: the active-call history — the tally of a snapshot
 * (history.h), the store's samples (written once per slot, read back per
 * subject, per bucket and as the total, pruned), the writer's lock, and the
 * charts' parameters (api/samples.h). On PostgreSQL too when
 * $ACTIVECALLS_TEST_PG is set (store_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/samples.h"
#include "history/history.h"
#include "store_fixture.h"

static int setup(void **state) { return fixture_setup(state, "history"); }

/* ---- tally ---- */

static void add_call(node_result *r, int64_t cust_acc, int64_t vend_acc, int64_t orig_gw, int64_t term_gw)
{
    call_record *c = callset_push(&r->calls);
    assert_non_null(c);
    for (int i = 0; i < REL_FROM_RECORD; i++) c->rel_id[i] = CALL_ID_NONE;
    c->rel_id[REL_CUSTOMER_ACC] = cust_acc;
    c->rel_id[REL_VENDOR_ACC] = vend_acc;
    c->rel_id[REL_ORIG_GW] = orig_gw;
    c->rel_id[REL_TERM_GW] = term_gw;
}

static void test_tally(void **state)
{
    node_result res[3];
    for (int i = 0; i < 3; i++) node_result_init(&res[i]);
    add_call(&res[0], 7, 9, 1, 2);
    add_call(&res[0], 7, 7, 1, CALL_ID_NONE);
    add_call(&res[0], CALL_ID_NONE, 9, 3, 2);
    res[1].status = NODE_ERR_TIMEOUT; /* a failed node counts for nothing */
    add_call(&res[1], 7, 9, 1, 2);
    add_call(&res[2], 5, 9, 1, 2);
    node_target targets[3] = {{1, "a", "127.0.0.1:1"}, {2, "b", "127.0.0.1:2"}, {3, "c", "127.0.0.1:3"}};
    int64_t pops[3] = {1, 1, 1};
    live_snap snap = {.n = 3, .targets = targets, .pop_ids = pops, .results = res};
    history_tally t;
    assert_true(history_tally_make(&snap, &t));
    assert_int_equal(t.n[STORE_HIST_NODES], 2);
    assert_int_equal(t.rows[STORE_HIST_NODES][0].subject, 1);
    assert_int_equal(t.rows[STORE_HIST_NODES][0].count, 3);
    assert_int_equal(t.rows[STORE_HIST_NODES][1].subject, 3);
    assert_int_equal(t.rows[STORE_HIST_NODES][1].count, 1);
    /* accounts: 5 (1 originated), 7 (2 originated, 1 terminated), 9 (3 terminated) */
    assert_int_equal(t.n[STORE_HIST_ACCOUNTS], 3);
    const store_hist_row *a = t.rows[STORE_HIST_ACCOUNTS];
    assert_true(a[0].subject == 5 && a[0].count == 1 && a[0].count2 == 0);
    assert_true(a[1].subject == 7 && a[1].count == 2 && a[1].count2 == 1);
    assert_true(a[2].subject == 9 && a[2].count == 0 && a[2].count2 == 3);
    assert_int_equal(t.n[STORE_HIST_ORIG_GW], 2); /* 1: 3 calls, 3: 1 */
    assert_true(t.rows[STORE_HIST_ORIG_GW][0].subject == 1 && t.rows[STORE_HIST_ORIG_GW][0].count == 3);
    assert_int_equal(t.n[STORE_HIST_TERM_GW], 1); /* 2: 3 calls; one call has none */
    assert_int_equal(t.rows[STORE_HIST_TERM_GW][0].count, 3);
    history_tally_free(&t);
    for (int i = 0; i < 3; i++) callset_free(&res[i].calls);
}

/* ---- store ---- */

static store_sample sample_at(int64_t at, const store_hist_row *nodes, size_t nn, const store_hist_row *accs,
                              size_t na)
{
    store_sample s = {.at_s = at};
    s.rows[STORE_HIST_NODES] = nodes;
    s.n[STORE_HIST_NODES] = nn;
    s.rows[STORE_HIST_ACCOUNTS] = accs;
    s.n[STORE_HIST_ACCOUNTS] = na;
    return s;
}

#define T0 1767225600 /* 2026-01-01T00:00:00Z */

static void test_store_samples(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    char err[STORE_ERR_LEN] = "";
    store_writer *w = store_writer_new(f->s);
    assert_non_null(w);
    bool held = false, written = false;
    expect(store_writer_lock(w, HISTORY_LOCK_KEY, &held, err), STORE_OK, err, NULL);
    assert_true(held);
    /* three slots a minute apart; node 1 has 4, 6, 5 calls; node 2 2, -, 1 */
    store_hist_row n0[] = {{1, 4, 0}, {2, 2, 0}}, n1[] = {{1, 6, 0}}, n2[] = {{1, 5, 0}, {2, 1, 0}};
    store_hist_row acc[] = {{10, 3, 1}};
    store_sample s0 = sample_at(T0, n0, 2, acc, 1), s1 = sample_at(T0 + 60, n1, 1, NULL, 0),
                 s2 = sample_at(T0 + 120, n2, 2, NULL, 0);
    expect(store_sample_write(w, &s0, "t", &written, err), STORE_OK, err, NULL);
    assert_true(written);
    /* the same slot again, other counts: left alone */
    expect(store_sample_write(w, &s2 /* T0 + 120 */, "t", &written, err), STORE_OK, err, NULL);
    assert_true(written);
    store_sample again = sample_at(T0, n1, 1, NULL, 0);
    expect(store_sample_write(w, &again, "t", &written, err), STORE_OK, err, NULL);
    assert_false(written);
    expect(store_sample_write(w, &s1, "t", &written, err), STORE_OK, err, NULL);
    assert_true(written);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM stats_active_calls"), 5);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM stats_active_call_slots"), 3);

    /* node 1, every sample, in time order */
    int64_t ids[] = {1};
    store_hist_query q = {STORE_HIST_NODES, false, ids, 1, T0, T0 + 3600, 1, 100};
    store_hist_point *p = NULL;
    size_t n = 0;
    expect(store_history_read(f->s, &q, &p, &n, err), STORE_OK, err, NULL);
    assert_int_equal(n, 3);
    assert_true(p[0].at_s == T0 && p[0].max == 4 && p[1].max == 6 && p[2].at_s == T0 + 120 && p[2].max == 5);
    free(p);
    /* bucket of an hour: max 6, sum 15 over 3 samples */
    q.bucket_s = 3600;
    expect(store_history_read(f->s, &q, &p, &n, err), STORE_OK, err, NULL);
    assert_int_equal(n, 1);
    assert_true(p[0].at_s == T0 && p[0].max == 6 && p[0].sum == 15 && p[0].samples == 3);
    free(p);
    /* the range is inclusive and cuts */
    q.bucket_s = 1;
    q.from_s = T0 + 60;
    q.to_s = T0 + 60;
    expect(store_history_read(f->s, &q, &p, &n, err), STORE_OK, err, NULL);
    assert_true(n == 1 && p[0].max == 6);
    free(p);
    /* the total per slot: 6, 6, 6; per hour max 6 over 3 slots */
    store_hist_query tq = {STORE_HIST_NODES, true, NULL, 0, T0, T0 + 3600, 1, 100};
    expect(store_history_read(f->s, &tq, &p, &n, err), STORE_OK, err, NULL);
    assert_int_equal(n, 3);
    assert_true(p[0].max == 6 && p[1].max == 6 && p[2].max == 6 && p[0].subject == 0);
    free(p);
    /* accounts: both counts */
    int64_t aids[] = {10, 11};
    store_hist_query aq = {STORE_HIST_ACCOUNTS, false, aids, 2, T0, T0 + 3600, 60, 100};
    expect(store_history_read(f->s, &aq, &p, &n, err), STORE_OK, err, NULL);
    assert_true(n == 1 && p[0].subject == 10 && p[0].max == 3 && p[0].max2 == 1 && p[0].samples == 1);
    free(p);
    /* the limit holds */
    q = (store_hist_query){STORE_HIST_NODES, false, ids, 1, T0, T0 + 3600, 1, 2};
    expect(store_history_read(f->s, &q, &p, &n, err), STORE_OK, err, NULL);
    assert_int_equal(n, 2);
    free(p);

    /* retention: everything before T0 + 90, in batches of 1 */
    uint64_t gone = 0;
    expect(store_history_prune(w, T0 + 90, 1, 100, &gone, err), STORE_OK, err, NULL);
    assert_int_equal(gone, 3 + 1 + 2); /* node rows, the account row, two slots */
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM stats_active_calls"), 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM stats_active_call_slots"), 1);
    /* at most max_batches statements a table */
    store_sample s3 = sample_at(T0 + 180, n2, 2, NULL, 0);
    expect(store_sample_write(w, &s3, "t", &written, err), STORE_OK, err, NULL);
    expect(store_history_prune(w, T0 + 3600, 1, 1, &gone, err), STORE_OK, err, NULL);
    assert_int_equal(gone, 2); /* one node row, one slot */
    store_writer_free(w);
}

/* PostgreSQL: one writer holds the lock; it goes with its connection. */
static void test_store_lock(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    char err[STORE_ERR_LEN] = "";
    store_writer *a = store_writer_new(f->s), *b = store_writer_new(f->s);
    bool ha = false, hb = false;
    expect(store_writer_lock(a, HISTORY_LOCK_KEY, &ha, err), STORE_OK, err, NULL);
    expect(store_writer_lock(b, HISTORY_LOCK_KEY, &hb, err), STORE_OK, err, NULL);
    assert_true(ha);
    assert_true(hb == !tpg_on()); /* SQLite: no lock, both may write */
    store_writer_free(a);
    /* the server releases a's lock once its backend has seen the
     * connection close: asked again, as the writer does at every mark */
    for (int i = 0; i < 100 && !hb; i++) {
        expect(store_writer_lock(b, HISTORY_LOCK_KEY, &hb, err), STORE_OK, err, NULL);
        if (!hb) usleep(50 * 1000);
    }
    assert_true(hb);
    store_writer_free(b);
}

static void test_store_bad_query(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    char err[STORE_ERR_LEN] = "";
    store_hist_point *p = NULL;
    size_t n = 7;
    store_hist_query q = {STORE_HIST_NODES, false, NULL, 0, T0, T0 + 60, 1, 10};
    expect(store_history_read(f->s, &q, &p, &n, err), STORE_OK, err, NULL); /* no subject: nothing */
    assert_true(n == 0 && p == NULL);
    q.bucket_s = 0;
    expect(store_history_read(f->s, &q, &p, &n, err), STORE_ERR, err, "out of range");
    expect(store_history_init(f->s, err), STORE_OK, err, NULL); /* again: nothing to do */
}

/* ---- the charts' parameters ---- */

static void test_time_parse(void **state)
{
    int64_t t = 0;
    assert_true(samples_time_parse("2026-01-01T00:00:00Z", false, &t) && t == T0);
    assert_true(samples_time_parse("2026-01-01", false, &t) && t == T0);
    assert_true(samples_time_parse("2026-01-01 02:00:00+02:00", false, &t) && t == T0);
    assert_true(samples_time_parse("2026-01-01T00:00:00.5Z", true, &t) && t == T0 + 1);
    assert_true(samples_time_parse("2026-01-01T00:00:00.5Z", false, &t) && t == T0);
    assert_true(samples_time_parse("2026-01-01T00:00:00.000Z", true, &t) && t == T0);
    assert_true(samples_time_parse("2024-02-29T12:00:00Z", false, &t));
    const char *bad[] = {"",
                         "2026",
                         "2026-13-01",
                         "2025-02-29",
                         "2026-01-01T24:00:00Z",
                         "x",
                         "1969-12-31",
                         "2026-01-01T00:00:00",
                         "2026-01-01T00:00:00Zx",
                         "2026-01-01T00:00:00.Z",
                         "2026-01-01T00:00:00+2:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (samples_time_parse(bad[i], false, &t)) fail_msg("'%s' parsed", bad[i]);
}

static int parse(const query_param *p, size_t n, samples_query *q, jsonapi_errors *e)
{
    jerr_init(e);
    return samples_params_parse(p, n, T0 + 86400, q, e);
}

static void test_params(void **state)
{
    samples_query q;
    jsonapi_errors e;
    /* nothing: the total of the last 24 h, every sample */
    assert_int_equal(parse(NULL, 0, &q, &e), 0);
    assert_true(q.total && q.from_s == T0 && q.to_s == T0 + 86400 && q.bucket_s == 1);
    jerr_free(&e);
    query_param p1[] = {
        {"filter[account_id_eq]", "3,4"}, {"hours", "744"}, {"bucket", "300"}, {"token", "x"}};
    assert_int_equal(parse(p1, 4, &q, &e), 0);
    assert_true(!q.total && q.kind == STORE_HIST_ACCOUNTS && q.nids == 2 && q.ids[1] == 4);
    assert_true(q.from_s == T0 + 86400 - 744 * 3600 && q.bucket_s == 300);
    jerr_free(&e);
    query_param p2[] = {{"filter[created-at-gteq]", "2026-01-01T00:00:00Z"},
                        {"filter[created-at-lteq]", "2026-01-01T01:00:00Z"},
                        {"filter[term-gw-id-eq]", "9"}};
    assert_int_equal(parse(p2, 3, &q, &e), 0);
    assert_true(q.kind == STORE_HIST_TERM_GW && q.from_s == T0 && q.to_s == T0 + 3600);
    jerr_free(&e);
    /* every problem at once, each naming its parameter */
    query_param bad[] = {{"hours", "745"},
                         {"bucket", "61"},
                         {"filter[node-id-eq]", "0"},
                         {"filter[orig-gw-id-eq]", "1"},
                         {"filter[created-at-gteq]", "soon"},
                         {"filter[duration-gteq]", "1"},
                         {"sort", "count"},
                         {"page[size]", "1"}};
    assert_int_equal(parse(bad, 8, &q, &e), 8);
    assert_int_equal(e.status, 400);
    const char *names[] = {"hours",           "bucket",        "node-id-eq", "exclude each other",
                           "created-at-gteq", "duration-gteq", "sort",       "page[size]"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strstr(e.items.data, names[i])) fail_msg("no error names %s: %s", names[i], e.items.data);
    jerr_free(&e);
    query_param both[] = {{"hours", "1"}, {"filter[created-at-gteq]", "2026-01-01"}};
    assert_int_equal(parse(both, 2, &q, &e), 1);
    jerr_free(&e);
    query_param order[] = {{"filter[created-at-gteq]", "2026-01-02"},
                           {"filter[created-at-lteq]", "2026-01-01"}};
    assert_int_equal(parse(order, 2, &q, &e), 1);
    jerr_free(&e);
    char many[2048] = "1";
    for (int i = 2; i <= 101; i++) snprintf(many + strlen(many), sizeof many - strlen(many), ",%d", i);
    query_param toomany[] = {{"filter[node-id-eq]", many}};
    assert_int_equal(parse(toomany, 1, &q, &e), 1);
    jerr_free(&e);
}

#define S(fn) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tally),
        S(test_store_samples),
        S(test_store_lock),
        S(test_store_bad_query),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
