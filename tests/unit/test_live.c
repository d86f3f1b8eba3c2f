/* test_live: live/live.c — the view of the cluster's calls.
 *
 * Against a fake node (fake_node.h) on a real node pool: the first reader
 * makes a snapshot with one round; a reader whose max-age the snapshot
 * meets gets it at once and the node is not asked; an older snapshot is
 * replaced by a new round; readers that come while a refresh is in flight
 * join it (the node's reply is held until they all wait: one request);
 * consumers get every snapshot in order while subscribed, refreshes run
 * only while one is subscribed, and none after the last leaves; a source
 * without a node list is survived; every reference is released (LSan). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_node.h"
#include "live/live.h"
#include "util/clock.h"

static node_pool *pool;
static node_target target;
static int64_t pop_id = 7;
static live_nodes nodes;
static atomic_bool source_fails;
static atomic_int source_calls;

static void *src_get(void *ctx, live_nodes *out, char err[256])
{
    (void)ctx;
    atomic_fetch_add(&source_calls, 1);
    if (atomic_load(&source_fails)) {
        snprintf(err, 256, "the store is down (test)");
        return NULL;
    }
    *out = nodes;
    return &nodes;
}

static void src_done(void *ctx, void *handle)
{
    (void)ctx;
    assert_ptr_equal(handle, &nodes);
}

static const live_source source = {src_get, src_done, NULL};

/* Replies wait until this many readers wait for the refresh (0: none). */
static atomic_int hold_waiters;
static live_view *view;

static void hold_reply(void)
{
    int want = atomic_load(&hold_waiters);
    for (int i = 0; want && i < 10000; i++) {
        if (live_get_stats(view).waited >= (uint64_t)want) return;
        sleep_ms(1);
    }
}

static int setup(void **state)
{
    (void)state;
    fake_node_hold = hold_reply;
    pool = node_pool_new(1 << 20, SIZE_MAX, 16, NULL);
    if (!pool || fake_node_start() != 0) return -1;
    target = (node_target){3, "node-3", endpoint};
    nodes = (live_nodes){1, &target, &pop_id};
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    node_pool_free(pool);
    fake_node_stop();
    return 0;
}

static int each_setup(void **state)
{
    (void)state;
    atomic_store(&requests, 0);
    atomic_store(&hold_waiters, 0);
    atomic_store(&source_fails, false);
    view = live_new(pool, source, 50, 2000);
    return view ? 0 : -1;
}

static int each_teardown(void **state)
{
    (void)state;
    live_free(view);
    view = NULL;
    return 0;
}

/* ---- a reader waiting for its snapshot --------------------------------------- */

typedef struct reader {
    atomic_bool done;
    live_snap *snap;
} reader;

static void reader_ready(void *arg, live_snap *snap)
{
    reader *r = arg;
    r->snap = snap;
    atomic_store(&r->done, true);
}

static void wait_for(atomic_bool *flag)
{
    for (int i = 0; i < 10000 && !atomic_load(flag); i++) sleep_ms(1);
    assert_true(atomic_load(flag));
}

/* A snapshot no older than max_age_ms, waiting for it if need be. */
static live_snap *get(int64_t max_age_ms, bool *waited)
{
    reader r = {false, NULL};
    live_snap *s = live_get(view, max_age_ms, &nodes, reader_ready, &r);
    *waited = s == NULL;
    if (!s) {
        wait_for(&r.done);
        s = r.snap;
    }
    assert_non_null(s);
    return s;
}

static void first_reader_makes_a_snapshot(void **state)
{
    (void)state;
    assert_null(live_latest(view));
    bool waited;
    int64_t before = clock_now_ms();
    live_snap *s = get(60000, &waited);
    assert_true(waited);
    assert_int_equal(atomic_load(&requests), 1);
    assert_int_equal(s->seq, 1);
    assert_int_equal(s->n, 1);
    assert_int_equal(s->targets[0].id, 3);
    assert_string_equal(s->targets[0].name, "node-3");
    assert_ptr_not_equal(s->targets[0].name, target.name); /* copied */
    assert_int_equal(s->pop_ids[0], 7);
    assert_int_equal(s->results[0].status, NODE_OK);
    assert_int_equal(s->results[0].calls.n, 1);
    assert_true(s->started_ms >= before && s->finished_ms >= s->started_ms);
    assert_true(s->wall_ms > 1700000000000LL);

    /* young enough: at once, the node not asked again */
    live_snap *t = get(60000, &waited);
    assert_false(waited);
    assert_ptr_equal(t, s);
    assert_int_equal(atomic_load(&requests), 1);
    live_stats st = live_get_stats(view);
    assert_int_equal(st.rounds, 1);
    assert_int_equal(st.served, 1);
    assert_int_equal(st.waited, 1);
    live_release(t);
    live_release(s);
}

static void old_snapshot_is_replaced(void **state)
{
    (void)state;
    bool waited;
    live_snap *s = get(0, &waited);
    int64_t t0 = s->started_ms;
    while (clock_now_ms() <= t0) sleep_ms(1);
    live_snap *t = get(0, &waited); /* 0 ms: only a snapshot of this very millisecond */
    assert_true(waited);
    assert_int_equal(t->seq, 2);
    assert_int_equal(atomic_load(&requests), 2);
    live_snap *latest = live_latest(view);
    assert_ptr_equal(latest, t);
    live_release(latest);
    live_release(s); /* the old one outlives its replacement while referenced */
    live_release(t);
}

#define JOINERS 8

static void readers_join_the_refresh_in_flight(void **state)
{
    (void)state;
    atomic_store(&hold_waiters, JOINERS); /* the node answers once all wait */
    reader rs[JOINERS];
    for (int i = 0; i < JOINERS; i++) {
        rs[i] = (reader){false, NULL};
        assert_null(live_get(view, 60000, &nodes, reader_ready, &rs[i]));
    }
    for (int i = 0; i < JOINERS; i++) wait_for(&rs[i].done);
    assert_int_equal(atomic_load(&requests), 1);
    for (int i = 0; i < JOINERS; i++) {
        assert_ptr_equal(rs[i].snap, rs[0].snap);
        live_release(rs[i].snap);
    }
    assert_int_equal(live_get_stats(view).rounds, 1);
}

/* ---- consumers ----------------------------------------------------------------- */

typedef struct consumer_log {
    atomic_int seen;
    uint64_t first_seq, last_seq;
    bool in_order;
} consumer_log;

static void consume(void *arg, const live_snap *snap)
{
    consumer_log *c = arg;
    if (!c->first_seq) c->first_seq = snap->seq;
    if (snap->seq <= c->last_seq) c->in_order = false;
    c->last_seq = snap->seq;
    atomic_fetch_add(&c->seen, 1);
}

static void wait_seen(consumer_log *c, int n)
{
    for (int i = 0; i < 10000 && atomic_load(&c->seen) < n; i++) sleep_ms(1);
    assert_true(atomic_load(&c->seen) >= n);
}

static void consumers_drive_refreshes(void **state)
{
    (void)state;
    /* nobody subscribed: nothing is polled */
    sleep_ms(200); /* four periods */
    assert_int_equal(atomic_load(&requests), 0);

    consumer_log a = {0, 0, 0, true}, b = {0, 0, 0, true};
    int ha = live_subscribe(view, consume, &a);
    int hb = live_subscribe(view, consume, &b);
    assert_true(ha >= 0 && hb >= 0 && ha != hb);
    assert_int_equal(live_get_stats(view).consumers, 2);
    wait_seen(&a, 3);
    wait_seen(&b, 3);
    live_unsubscribe(view, ha);
    int seen_a = atomic_load(&a.seen);
    wait_seen(&b, atomic_load(&b.seen) + 2); /* b still gets them */
    assert_int_equal(atomic_load(&a.seen), seen_a);
    live_unsubscribe(view, hb);
    assert_int_equal(live_get_stats(view).consumers, 0);
    assert_true(a.in_order && b.in_order);

    /* the last one left: the polling stops (a refresh in flight may end) */
    sleep_ms(100);
    int after = atomic_load(&requests);
    sleep_ms(200);
    assert_int_equal(atomic_load(&requests), after);
}

static void refresh_counts_reader_rounds(void **state)
{
    (void)state;
    /* a reader's refresh is a refresh: a consumer that subscribes right
     * after it is handed that snapshot, not a second round */
    bool waited;
    live_snap *s = get(0, &waited);
    consumer_log c = {0, 0, 0, true};
    int h = live_subscribe(view, consume, &c);
    wait_seen(&c, 1);
    assert_int_equal(c.first_seq, s->seq);
    live_unsubscribe(view, h);
    live_release(s);
}

static void source_without_nodes_is_survived(void **state)
{
    (void)state;
    atomic_store(&source_fails, true);
    consumer_log c = {0, 0, 0, true};
    int h = live_subscribe(view, consume, &c);
    for (int i = 0; i < 10000 && atomic_load(&source_calls) < 3; i++) sleep_ms(1);
    assert_true(atomic_load(&source_calls) >= 3); /* it keeps trying, once a period */
    assert_int_equal(atomic_load(&c.seen), 0);
    atomic_store(&source_fails, false);
    wait_seen(&c, 1);
    live_unsubscribe(view, h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(first_reader_makes_a_snapshot, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(old_snapshot_is_replaced, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(readers_join_the_refresh_in_flight, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(consumers_drive_refreshes, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(refresh_counts_reader_rounds, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(source_without_nodes_is_survived, each_setup, each_teardown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
