/* test_decimal: util/decimal.c — canonical decimal ids: every value from 1
 * to INT64_MAX in its one spelling, and every other spelling (leading
 * zeros, signs, spaces, other digits, overflow) refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/decimal.h"

static void canonical(void **state)
{
    (void)state;
    static const int64_t values[] = {1, 9, 10, 42, 1000000, 4294967296LL, INT64_MAX - 1, INT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char text[32];
        snprintf(text, sizeof text, "%" PRId64, values[i]);
        int64_t got = 0;
        if (!decimal_positive_i64(text, strlen(text), &got)) fail_msg("%s refused", text);
        assert_int_equal(got, values[i]);
    }
    /* only the first n bytes count */
    int64_t got = 0;
    assert_true(decimal_positive_i64("12*x", 2, &got));
    assert_int_equal(got, 12);
}

static void other_spellings(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "0",
        "00",
        "01",
        "007",
        "+1",
        "-1",
        " 1",
        "1 ",
        "\t1",
        "1\n",
        "1_000",
        "1,000",
        "1.0",
        "1e3",
        "0x10",
        "\xef\xbc\x91" /* fullwidth 1 */,
        "9223372036854775808",
        "18446744073709551616",
        "99999999999999999999",
        "10000000000000000000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t got = -7;
        if (decimal_positive_i64(bad[i], strlen(bad[i]), &got)) fail_msg("\"%s\" accepted", bad[i]);
        assert_int_equal(got, -7); /* untouched */
    }
    int64_t got = -7;
    assert_false(decimal_positive_i64(NULL, 3, &got));
    assert_false(decimal_positive_i64("1\0"
                                      "2",
                                      3, &got)); /* a NUL is not a digit */
    assert_int_equal(got, -7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canonical),
        cmocka_unit_test(other_spellings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
