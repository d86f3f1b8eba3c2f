/* test_topk: util/topk.c — the k smallest in order. Covers: random arrays
 * (many equal values) against qsort for k = 0, 1, a few, n - 1, n and
 * more than n; stability through the callers' tie-break by original
 * position; about one comparison per element when k is small; elements larger than the swap room on the stack; the context
 * pointer reaching the comparison; that base[0..k) is exactly the first k
 * of the full order and the rest is a permutation of the others. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/topk.h"

typedef struct item {
    int value;
    size_t pos; /* original position: the tie-break */
} item;

static int calls; /* comparisons made */

static int by_value(const void *a, const void *b, void *ctx)
{
    const item *x = a, *y = b;
    int *count = ctx;
    (*count)++;
    if (x->value != y->value) return x->value < y->value ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static int by_value_plain(const void *a, const void *b) { return by_value(a, b, &calls); }

static void check(size_t n, size_t k, int range)
{
    item *a = malloc((n ? n : 1) * sizeof *a), *want = malloc((n ? n : 1) * sizeof *want);
    assert_non_null(a);
    assert_non_null(want);
    for (size_t i = 0; i < n; i++) a[i] = (item){rand() % range, i};
    memcpy(want, a, n * sizeof *a);
    qsort(want, n, sizeof *want, by_value_plain);
    int count = 0;
    assert_true(topk_sort(a, n, sizeof *a, k, by_value, &count));
    if (n > 1 && k > 0) assert_true(count > 0);
    size_t m = k < n ? k : n;
    for (size_t i = 0; i < m; i++)
        if (a[i].value != want[i].value || a[i].pos != want[i].pos)
            fail_msg("n %zu k %zu: [%zu] is %d@%zu, want %d@%zu", n, k, i, a[i].value, a[i].pos,
                     want[i].value, want[i].pos);
    /* the rest: the other elements, each once */
    char *seen = calloc(n ? n : 1, 1);
    assert_non_null(seen);
    for (size_t i = 0; i < n; i++) {
        assert_true(a[i].pos < n && !seen[a[i].pos]);
        seen[a[i].pos] = 1;
    }
    free(seen);
    free(a);
    free(want);
}

static void test_against_qsort(void **state)
{
    srand(7);
    static const size_t sizes[] = {0, 1, 2, 3, 10, 100, 1000, 5000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        size_t ks[] = {0, 1, 2, 5, n / 2, n > 0 ? n - 1 : 0, n, n + 1, n * 3 + 7};
        for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
            check(n, ks[i], 5);       /* many ties: stability */
            check(n, ks[i], 1000000); /* few */
        }
    }
}

static void test_sorted_and_reversed_input(void **state)
{
    item a[200];
    for (int dir = 0; dir < 2; dir++) {
        for (size_t i = 0; i < 200; i++) a[i] = (item){dir ? 200 - (int)i : (int)i, i};
        int count = 0;
        assert_true(topk_sort(a, 200, sizeof a[0], 10, by_value, &count));
        for (size_t i = 0; i < 10; i++) assert_int_equal(a[i].value, dir ? (int)i + 1 : (int)i);
    }
}

/* k much smaller than n: about one comparison per element, not log n. */
static void test_few_comparisons(void **state)
{
    enum { N = 100000 };
    item *a = malloc(N * sizeof *a);
    assert_non_null(a);
    for (size_t i = 0; i < N; i++) a[i] = (item){rand(), i};
    int count = 0;
    assert_true(topk_sort(a, N, sizeof *a, 20, by_value, &count));
    if (count > 2 * N) fail_msg("%d comparisons for the 20 smallest of %d", count, N);
    for (size_t i = 1; i < 20; i++) assert_true(by_value(&a[i - 1], &a[i], &count) < 0);
    free(a);
}

/* Elements too big to swap through the stack's room. */
typedef struct big {
    int key;
    char pad[200];
} big;

static int by_key(const void *a, const void *b, void *ctx)
{
    const big *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

static void test_big_elements(void **state)
{
    enum { N = 300 };
    big *a = malloc(N * sizeof *a);
    assert_non_null(a);
    for (int i = 0; i < N; i++) {
        a[i].key = (i * 7919) % N; /* a permutation of 0..N-1 */
        memset(a[i].pad, a[i].key & 0x7f, sizeof a[i].pad);
    }
    assert_true(topk_sort(a, N, sizeof *a, 25, by_key, NULL));
    for (int i = 0; i < 25; i++) {
        assert_int_equal(a[i].key, i);
        assert_int_equal(a[i].pad[0], i & 0x7f);
        assert_int_equal(a[i].pad[199], i & 0x7f);
    }
    assert_true(topk_sort(a, N, sizeof *a, N, by_key, NULL));
    for (int i = 0; i < N; i++) assert_int_equal(a[i].key, i);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_qsort),
        cmocka_unit_test(test_sorted_and_reversed_input),
        cmocka_unit_test(test_few_comparisons),
        cmocka_unit_test(test_big_elements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
