/* test_grow: util/grow.c — the growable array rule: nothing done when the
 * capacity is enough, doubling from the first size, a jump straight to the
 * need when doubling would not reach it, and failure without change when
 * the size would wrap size_t or memory runs out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/grow.h"

const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

static void test_doubles_from_first(void **state)
{
    (void)state;
    int *a = NULL;
    size_t cap = 0;
    assert_true(grow((void **)&a, &cap, 1, sizeof *a, 16));
    assert_int_equal(cap, 16);
    for (int i = 0; i < 16; i++) a[i] = i;
    assert_true(grow((void **)&a, &cap, 16, sizeof *a, 16)); /* enough: unchanged */
    assert_int_equal(cap, 16);
    assert_true(grow((void **)&a, &cap, 17, sizeof *a, 16));
    assert_int_equal(cap, 32);
    for (int i = 0; i < 16; i++) assert_int_equal(a[i], i); /* content kept */
    assert_true(grow((void **)&a, &cap, 1000, sizeof *a, 16));
    assert_int_equal(cap, 1024);
    free(a);
}

static void test_wrap_refused(void **state)
{
    (void)state;
    char *a = NULL;
    size_t cap = 0;
    assert_true(grow((void **)&a, &cap, 3, 8, 4));
    void *before = a;
    assert_false(grow((void **)&a, &cap, SIZE_MAX / 4, 8, 4)); /* * 8 wraps */
    assert_ptr_equal(a, before);
    assert_int_equal(cap, 4);
    /* doubling past SIZE_MAX / 2 goes straight to the need, which fails to allocate */
    assert_false(grow((void **)&a, &cap, SIZE_MAX / 2 + 2, 1, 4));
    assert_ptr_equal(a, before);
    assert_int_equal(cap, 4);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubles_from_first),
        cmocka_unit_test(test_wrap_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
