/* test_budget: util/budget.c — reservations within the limit, exactly at
 * it, over it (refused at once, waiting or not), a reservation that waits
 * and gets its bytes when another gives them back, one whose wait runs
 * out, and first come first served: a small reservation does not slip past
 * a big one that waits. Threads wait for each other through
 * budget_waiting (polled a bounded number of times), never on a clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "util/budget.h"

static void test_within_at_and_over_the_limit(void **state)
{
    budget *b = budget_new(100);
    assert_non_null(b);
    assert_int_equal(budget_limit(b), 100);
    int64_t waited = -1;
    assert_true(budget_take(b, 40, 0, &waited));
    assert_int_equal(waited, 0);
    assert_true(budget_take(b, 60, 0, NULL)); /* exactly the limit */
    assert_int_equal(budget_in_use(b), 100);
    assert_false(budget_take(b, 1, 0, NULL)); /* no room, no wait */
    budget_give(b, 60);
    assert_int_equal(budget_in_use(b), 40);
    assert_true(budget_take(b, 0, 0, NULL));
    /* over the whole limit: refused at once, whatever the wait */
    assert_false(budget_take(b, 101, 60000, &waited));
    assert_int_equal(waited, 0);
    budget_give(b, 40);
    assert_int_equal(budget_in_use(b), 0);
    assert_false(budget_take(b, UINT64_MAX, 0, NULL));
    assert_int_equal(budget_waiting(b), 0);
    budget_free(b);
}

typedef struct taker {
    budget *b;
    uint64_t n;
    int wait_ms;
    bool got;
    int order; /* when it got its bytes: 1, 2, ... */
} taker;

static atomic_int taken_so_far;

static void *take_thread(void *arg)
{
    taker *t = arg;
    t->got = budget_take(t->b, t->n, t->wait_ms, NULL);
    if (t->got) t->order = atomic_fetch_add(&taken_so_far, 1) + 1;
    return NULL;
}

/* Polls until n reservations wait (at most ~10 s of 1 ms naps). */
static void until_waiting(budget *b, size_t n)
{
    for (int i = 0; i < 10000 && budget_waiting(b) != n; i++) nanosleep(&(struct timespec){0, 1000000}, NULL);
    assert_int_equal(budget_waiting(b), n);
}

static void test_waiter_gets_the_bytes_given_back(void **state)
{
    budget *b = budget_new(100);
    assert_true(budget_take(b, 70, 0, NULL));
    taker t = {b, 50, 60000, false, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, take_thread, &t), 0);
    until_waiting(b, 1);
    assert_false(t.got);
    budget_give(b, 70);
    pthread_join(th, NULL);
    assert_true(t.got);
    assert_int_equal(budget_in_use(b), 50);
    assert_int_equal(budget_waiting(b), 0);
    budget_give(b, 50);
    budget_free(b);
}

static void test_wait_runs_out(void **state)
{
    budget *b = budget_new(100);
    assert_true(budget_take(b, 90, 0, NULL));
    int64_t waited = -1;
    assert_false(budget_take(b, 20, 30, &waited));
    assert_true(waited >= 0);
    assert_int_equal(budget_waiting(b), 0);
    assert_int_equal(budget_in_use(b), 90); /* nothing taken by the one that gave up */
    assert_true(budget_take(b, 10, 0, NULL));
    budget_give(b, 100);
    budget_free(b);
}

static void test_first_come_first_served(void **state)
{
    budget *b = budget_new(100);
    atomic_store(&taken_so_far, 0);
    assert_true(budget_take(b, 60, 0, NULL));
    taker big = {b, 80, 60000, false, 0}, small = {b, 30, 60000, false, 0};
    pthread_t tb, ts;
    assert_int_equal(pthread_create(&tb, NULL, take_thread, &big), 0);
    until_waiting(b, 1);
    /* 60 + 30 would fit, but the big one came first */
    assert_false(budget_take(b, 30, 0, NULL));
    assert_int_equal(pthread_create(&ts, NULL, take_thread, &small), 0);
    until_waiting(b, 2);
    assert_false(big.got);
    assert_false(small.got);
    budget_give(b, 60); /* room for the big one (80), then not for the small one */
    pthread_join(tb, NULL);
    assert_true(big.got);
    assert_int_equal(big.order, 1);
    until_waiting(b, 1);
    assert_false(small.got);
    budget_give(b, 80);
    pthread_join(ts, NULL);
    assert_true(small.got);
    assert_int_equal(small.order, 2);
    assert_int_equal(budget_in_use(b), 30);
    budget_give(b, 30);
    budget_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_within_at_and_over_the_limit),
        cmocka_unit_test(test_waiter_gets_the_bytes_given_back),
        cmocka_unit_test(test_wait_runs_out),
        cmocka_unit_test(test_first_come_first_served),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
