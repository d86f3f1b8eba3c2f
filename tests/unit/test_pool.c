/* test_pool: util/pool.c — submitted items all run, each once; a batch
 * finishes even when every worker is busy (its waiter runs what no worker
 * took: no deadlock); a full batch runs the extra job in place; and the
 * loop-thread mark: pool_may_block() is true on an ordinary thread and on
 * a worker, false only on the thread that marked itself; and util/mutex.c
 * knows which thread holds it. Threads meet
 * through atomics polled a bounded number of times, never on a clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "util/mutex.h"
#include "util/pool.h"

static void nap(void)
{
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

typedef struct counter {
    atomic_int runs;
    atomic_bool could_block; /* pool_may_block() on the worker: stays true */
} counter;

static void count(void *arg)
{
    counter *c = arg;
    if (!pool_may_block()) atomic_store(&c->could_block, false);
    atomic_fetch_add(&c->runs, 1);
}

static void test_items_run_once(void **state)
{
    (void)state;
    worker_pool *p = pool_new(3);
    assert_non_null(p);
    assert_int_equal(pool_threads(p), 3);
    counter c = {0, true};
    pool_item items[200];
    for (int i = 0; i < 200; i++) pool_submit_item(p, &items[i], count, &c);
    pool_free(p); /* runs what was submitted, then stops */
    assert_int_equal(atomic_load(&c.runs), 200);
    assert_true(atomic_load(&c.could_block));
}

/* A job that holds its worker until released. */
typedef struct gate {
    atomic_bool open;
    atomic_int holding;
} gate;

static void hold(void *arg)
{
    gate *g = arg;
    atomic_fetch_add(&g->holding, 1);
    while (!atomic_load(&g->open)) nap();
}

static void test_batch_with_every_worker_busy(void **state)
{
    (void)state;
    worker_pool *p = pool_new(2);
    assert_non_null(p);
    gate g = {false, 0};
    pool_item busy[2];
    for (int i = 0; i < 2; i++) pool_submit_item(p, &busy[i], hold, &g);
    for (int i = 0; i < 100000 && atomic_load(&g.holding) < 2; i++) nap();
    assert_int_equal(atomic_load(&g.holding), 2);

    counter c = {0, true};
    pool_batch b;
    pool_batch_init(&b, p);
    for (int i = 0; i < POOL_BATCH_MAX + 3; i++) pool_batch_add(&b, count, &c); /* 3 over: run in place */
    assert_int_equal(atomic_load(&c.runs), 3);
    pool_batch_wait(&b); /* no worker is free: the waiter runs them all */
    assert_int_equal(atomic_load(&c.runs), POOL_BATCH_MAX + 3);
    atomic_store(&g.open, true);
    pool_free(p);
}

static void *mark_and_report(void *arg)
{
    bool *seen = arg;
    seen[0] = pool_may_block();
    pool_loop_thread();
    seen[1] = pool_may_block();
    return NULL;
}

static void test_loop_thread_mark(void **state)
{
    (void)state;
    assert_true(pool_may_block());
    bool seen[2] = {false, true};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, mark_and_report, seen), 0);
    pthread_join(t, NULL);
    assert_true(seen[0]);          /* before its mark */
    assert_false(seen[1]);         /* after it */
    assert_true(pool_may_block()); /* the mark is the thread's own */
}

static void *held_elsewhere(void *arg) { return mutex_held(arg) ? arg : NULL; }

static void test_mutex_knows_its_holder(void **state)
{
    (void)state;
    mutex m;
    mutex_init(&m);
    assert_false(mutex_held(&m));
    mutex_lock(&m);
    assert_true(mutex_held(&m));
    pthread_t t;
    void *seen = &m;
    assert_int_equal(pthread_create(&t, NULL, held_elsewhere, &m), 0);
    pthread_join(t, &seen);
    assert_null(seen); /* held, but not by that thread */
    mutex_unlock(&m);
    assert_false(mutex_held(&m));
    mutex_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items_run_once),
        cmocka_unit_test(test_batch_with_every_worker_busy),
        cmocka_unit_test(test_loop_thread_mark),
        cmocka_unit_test(test_mutex_knows_its_holder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
