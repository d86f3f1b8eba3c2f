/* test_coalesce: nodes/coalesce.c — identical in-flight fan-outs share one round.
 *
 * A fake node (a thread on a loopback port) counts the requests it gets and
 * holds each reply back until the coalescer's counters show the expected
 * state (e.g. "5 callers are waiting on a round"), so every case is decided
 * by synchronisation, never by timing. Covers: N identical callers → one
 * request, one round, N-1 joins, every caller the same shared records; a
 * caller after the round finished starts a new round; targets in another
 * order share the round and each caller gets its results in its own order;
 * different parameters never share; the last release frees (ASan/LSan). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nodes/coalesce.h"
#include "fake_node.h"

typedef enum { HOLD_NONE, HOLD_WAITING, HOLD_INFLIGHT } hold_kind;

static atomic_int hold_kind_v;   /* what a reply waits for */
static atomic_size_t hold_count; /* ... and how many */
static atomic_bool released;     /* the awaited state was seen: reply to everything */

/* hold(kind, count): the replies to come wait for this state (latched). */
static void hold(hold_kind k, size_t count)
{
    atomic_store(&released, false);
    atomic_store(&hold_count, count);
    atomic_store(&hold_kind_v, (int)k);
}

/* Waits (bounded, 10 s) until the coalescer is in the state the test asked for. */
static void hold_reply(void)
{
    for (int i = 0; i < 10000; i++) {
        coalesce_stats s = coalesce_get_stats();
        int k = atomic_load(&hold_kind_v);
        size_t want = atomic_load(&hold_count);
        if (k == HOLD_NONE || atomic_load(&released)) return;
        if ((k == HOLD_WAITING && s.waiting >= want) || (k == HOLD_INFLIGHT && s.inflight >= want)) {
            atomic_store(&released, true); /* latched: a late request is not held again */
            return;
        }
        sleep_ms(1);
    }
}

static node_pool *pool;

static int setup(void **state)
{
    fake_node_hold = hold_reply;
    pool = node_pool_new(1 << 20, SIZE_MAX, 16, NULL);
    return pool && fake_node_start() == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    node_pool_free(pool);
    fake_node_stop();
    return 0;
}

/* ---- callers ---------------------------------------------------------------------- */

typedef struct caller {
    size_t n;
    node_target targets[2];
    node_call calls[2];
    node_result results[2];
    coalesce_round *ref;
} caller;

static const char *const params_a[] = {"tag-x"};

static void caller_init(caller *c, size_t n, const int64_t *ids, size_t nparams)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        c->targets[i] = (node_target){ids[i], "node", endpoint};
        c->calls[i] = (node_call){"yeti.show.calls", params_a, nparams, REPLY_EXPECT_CALLS, NULL};
        node_result_init(&c->results[i]);
    }
}

static void *run_caller(void *arg)
{
    caller *c = arg;
    c->ref = coalesce_run(pool, c->n, c->targets, c->calls, 10000, c->results);
    return NULL;
}

static void caller_release(caller *c)
{
    coalesce_release(c->ref, c->n, c->results);
    for (size_t i = 0; i < c->n; i++) {
        assert_int_equal(c->results[i].calls.n, 0); /* handed back */
        node_result_free(&c->results[i]);
    }
}

static void run_all(caller *cs, size_t n)
{
    pthread_t t[16];
    for (size_t i = 0; i < n; i++) assert_int_equal(pthread_create(&t[i], NULL, run_caller, &cs[i]), 0);
    for (size_t i = 0; i < n; i++) pthread_join(t[i], NULL);
}

/* ---- cases ------------------------------------------------------------------------- */

static void identical_callers_share_one_round(void **state)
{
    enum { N = 6 };
    caller cs[N];
    const int64_t ids[] = {1};
    for (int i = 0; i < N; i++) caller_init(&cs[i], 1, ids, 1);
    coalesce_stats before = coalesce_get_stats();
    int req0 = atomic_load(&requests);
    hold(HOLD_WAITING, N - 1); /* reply once the other 5 joined */
    run_all(cs, N);

    coalesce_stats after = coalesce_get_stats();
    assert_int_equal(atomic_load(&requests) - req0, 1);
    assert_int_equal(after.rounds - before.rounds, 1);
    assert_int_equal(after.joins - before.joins, N - 1);
    assert_int_equal(after.inflight, 0);
    assert_int_equal(after.waiting, 0);
    for (int i = 0; i < N; i++) {
        assert_non_null(cs[i].ref);
        assert_int_equal(cs[i].results[0].status, NODE_OK);
        assert_int_equal(cs[i].results[0].calls.n, 1);
        assert_ptr_equal(cs[i].results[0].calls.recs, cs[0].results[0].calls.recs);
        assert_ptr_equal(cs[i].ref, cs[0].ref);
    }
    for (int i = 0; i < N; i++) caller_release(&cs[i]);

    /* The round is over: the next caller asks the node again. */
    hold(HOLD_NONE, 0);
    caller late;
    caller_init(&late, 1, ids, 1);
    run_caller(&late);
    assert_int_equal(atomic_load(&requests) - req0, 2);
    assert_int_equal(coalesce_get_stats().rounds - before.rounds, 2);
    assert_int_equal(late.results[0].status, NODE_OK);
    assert_ptr_not_equal(late.ref, NULL);
    caller_release(&late);
}

static void target_order_does_not_matter(void **state)
{
    caller cs[2];
    const int64_t ab[] = {7, 8}, ba[] = {8, 7};
    caller_init(&cs[0], 2, ab, 1);
    caller_init(&cs[1], 2, ba, 1);
    int req0 = atomic_load(&requests);
    coalesce_stats before = coalesce_get_stats();
    hold(HOLD_WAITING, 1);
    run_all(cs, 2);
    assert_int_equal(atomic_load(&requests) - req0, 2); /* one per node, once */
    assert_int_equal(coalesce_get_stats().joins - before.joins, 1);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(cs[0].results[k].status, NODE_OK);
        assert_int_equal(cs[1].results[k].status, NODE_OK);
    }
    /* each caller sees the results in its own target order */
    assert_ptr_equal(cs[0].results[0].calls.recs, cs[1].results[1].calls.recs);
    assert_ptr_equal(cs[0].results[1].calls.recs, cs[1].results[0].calls.recs);
    assert_ptr_not_equal(cs[0].results[0].calls.recs, cs[0].results[1].calls.recs);
    caller_release(&cs[0]);
    caller_release(&cs[1]);
}

static void different_params_do_not_share(void **state)
{
    caller cs[2];
    const int64_t ids[] = {1};
    caller_init(&cs[0], 1, ids, 1);
    caller_init(&cs[1], 1, ids, 0); /* the same node, asked without the tag */
    int req0 = atomic_load(&requests);
    coalesce_stats before = coalesce_get_stats();
    hold(HOLD_INFLIGHT, 2); /* both rounds run at once */
    run_all(cs, 2);
    hold(HOLD_NONE, 0);
    assert_int_equal(atomic_load(&requests) - req0, 2);
    coalesce_stats after = coalesce_get_stats();
    assert_int_equal(after.rounds - before.rounds, 2);
    assert_int_equal(after.joins - before.joins, 0);
    assert_ptr_not_equal(cs[0].ref, cs[1].ref);
    assert_int_equal(cs[0].results[0].status, NODE_OK);
    assert_int_equal(cs[1].results[0].status, NODE_OK);
    caller_release(&cs[0]);
    caller_release(&cs[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identical_callers_share_one_round),
        cmocka_unit_test(target_order_does_not_matter),
        cmocka_unit_test(different_params_do_not_share),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
