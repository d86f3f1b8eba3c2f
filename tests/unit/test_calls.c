/* test_calls: model/calls.c — the one comparison of attribute values
 * (call_attr_cmp) and call_attr_is_null. Covers: JSON numbers compared
 * exactly (integers, fractions, exponents, long digit strings, signs,
 * equal values written differently); strings holding a decimal number
 * ("0.11" < "0.9" < "10") compared as numbers, also against JSON numbers;
 * strings by their unescaped bytes (quotes, controls, U+FFFD, UTF-8),
 * dates in time order; the classes in order (numbers, strings, other
 * JSON, null last; two nulls equal); records of two different callsets;
 * and, over every pair and triple of a list of values, antisymmetry and
 * transitivity (a total order). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "model/calls.h"

/* A record whose attribute ATTR_DESTINATION_NEXT_RATE is the JSON text t
 * (NULL: null), in cs. */
static call_record *rec(callset *cs, const char *t)
{
    call_record *r = callset_push(cs);
    assert_non_null(r);
    if (t) {
        size_t off = cs->arena.len;
        buf_puts(&cs->arena, t);
        r->attr[ATTR_DESTINATION_NEXT_RATE] = (call_span){(uint32_t)off, (uint32_t)strlen(t)};
    }
    return r;
}

static int cmp_text(const char *a, const char *b)
{
    callset ca, cb;
    callset_init(&ca);
    callset_init(&cb);
    buf_puts(&cb.arena, "padding, so that the spans differ");
    call_record *ra = rec(&ca, a), *rb = rec(&cb, b);
    int c = call_attr_cmp(&ca, ra, &cb, rb, ATTR_DESTINATION_NEXT_RATE);
    int back = call_attr_cmp(&cb, rb, &ca, ra, ATTR_DESTINATION_NEXT_RATE);
    if ((c > 0) - (c < 0) != (back < 0) - (back > 0))
        fail_msg("%s vs %s: %d, but %d the other way", a ? a : "null", b ? b : "null", c, back);
    callset_free(&ca);
    callset_free(&cb);
    return (c > 0) - (c < 0);
}

static void less(const char *a, const char *b)
{
    int c = cmp_text(a, b);
    if (c != -1) fail_msg("%s < %s: got %d", a ? a : "null", b ? b : "null", c);
}

static void equal(const char *a, const char *b)
{
    int c = cmp_text(a, b);
    if (c != 0) fail_msg("%s == %s: got %d", a ? a : "null", b ? b : "null", c);
}

/* call_attr_number of the JSON text t. */
static double number_of(const char *t)
{
    callset cs;
    callset_init(&cs);
    double v = call_attr_number(&cs, rec(&cs, t), ATTR_DESTINATION_NEXT_RATE);
    callset_free(&cs);
    return v;
}

static void test_number_values(void **state)
{
    (void)state;
    assert_true(number_of("\"0.11\"") == 0.11);
    assert_true(number_of("\"0.0123\"") == 0.0123);
    assert_true(number_of("60") == 60);
    assert_true(number_of("-1.5") == -1.5);
    assert_true(number_of("\"007.50\"") == 7.5);
    assert_true(number_of("1e2") == 100);
    assert_true(number_of("2.5E-1") == 0.25);
    assert_true(number_of("0.000") == 0);
    /* no number: 0 */
    assert_true(number_of(NULL) == 0);
    assert_true(number_of("\"abc\"") == 0);
    assert_true(number_of("\"\"") == 0);
    assert_true(number_of("true") == 0);
    assert_true(number_of("\"1.\"") == 0);
}

static void test_numbers(void **state)
{
    less("1", "2");
    less("9", "10");
    less("-1", "0");
    less("-10", "-9");
    less("-1", "1");
    less("0.5", "1");
    less("0.11", "0.9");
    less("0.9", "10");
    less("0.011", "0.1");
    less("-0.5", "-0.25");
    less("1.0001", "1.001");
    less("99999999999999999999999999", "100000000000000000000000000");
    less("123456789012345678901234567890", "123456789012345678901234567891");
    less("0.000000000000000000001", "0.00000000000000000001");
    less("1e3", "1001");
    less("1E-2", "0.011");
    less("-1e400", "-1e399");
    less("1e-400", "1e-399");
    less("0", "1e-9999999999999999999999");
    equal("1.50", "1.5");
    equal("1.5", "15e-1");
    equal("0", "-0");
    equal("0", "0.000");
    equal("-0.0", "0e5");
    equal("1e3", "1000");
    equal("100", "1E+2");
    equal("7", "7");
}

static void test_decimal_strings(void **state)
{
    less("\"0.11\"", "\"0.9\"");
    less("\"0.9\"", "\"10\"");
    less("\"-1\"", "\"0\"");
    less("\"9\"", "\"10\""); /* by value, not by bytes */
    equal("\"007\"", "\"7\"");
    equal("\"0.10\"", "\"0.1\"");
    /* a string holding a number against a JSON number: both numbers */
    less("0.5", "\"0.6\"");
    less("\"0.5\"", "0.6");
    equal("\"0.5\"", "0.50");
    /* not decimal numbers: strings */
    less("\"10\"", "\"1.2.3\"");
    less("9", "\"\"");
    less("9", "\"-\"");
    less("9", "\"1e\"");
    less("9", "\".5\"");
    less("9", "\"5.\"");
    less("9", "\" 5\"");
    less("9", "\"+5\"");
    less("9", "\"10.0.0.1\"");
}

static void test_strings(void **state)
{
    less("\"abc\"", "\"abd\"");
    less("\"ab\"", "\"abc\"");
    less("\"\"", "\"a\"");
    less("\"B\"", "\"a\""); /* bytes, not letters */
    equal("\"abc\"", "\"abc\"");
    less("\"2024-01-31T23:59:59.000Z\"", "\"2024-02-01T00:00:00.000Z\"");
    less("\"1999-12-31T23:59:59.000Z\"", "\"2000-01-01T00:00:00.000Z\"");
    /* by the bytes the escapes stand for: '"' is 0x22, before '#' (0x23) */
    less("\"a\\\"\"", "\"a#\"");
    less("\"a\\\\\"", "\"a]\""); /* '\\' is 0x5c, before ']' */
    less("\"a[\"", "\"a\\\\\"");
    less("\"\\u0001\"", "\" \"");
    less("\"\\t\"", "\"\\n\"");
    less("\"\\n\"", "\"\\u000b\"");
    less("\"\\b\"", "\"\\t\"");
    less("\"\\f\"", "\"\\r\"");
    equal("\"a\\/b\"", "\"a/b\"");
    equal("\"\\u0041\"", "\"A\"");
    /* U+FFFD (EF BF BD) after é (C3 A9), é after ASCII */
    less("\"\xc3\xa9\"", "\"\\ufffd\"");
    less("\"z\"", "\"\xc3\xa9\"");
    less("\"\\u00e9\"", "\"\xc3\xaa\"");
    equal("\"\\u00e9\"", "\"\xc3\xa9\"");
    equal("\"\\ufffd\"", "\"\xef\xbf\xbd\"");
    less("\"\\ufffd\"", "\"\xef\xbf\xbe\"");
}

static void test_classes(void **state)
{
    less("99999", "\"a\"");
    less("\"99999\"", "\"a\"");
    less("\"zzz\"", "false");
    less("\"zzz\"", "true");
    less("\"zzz\"", "{\"a\":1}");
    less("\"zzz\"", "[1]");
    /* other JSON by its text */
    less("false", "true");
    less("[1]", "{\"a\":1}");
    less("[1,2]", "[1]"); /* ',' before ']' */
    equal("true", "true");
    /* null after everything; two nulls are equal */
    less("1", NULL);
    less("\"a\"", NULL);
    less("true", NULL);
    equal(NULL, NULL);
}

static void test_is_null(void **state)
{
    callset cs;
    callset_init(&cs);
    call_record *a = rec(&cs, NULL), *b = rec(&cs, "0"), *c = rec(&cs, "\"\"");
    assert_true(call_attr_is_null(a, ATTR_DESTINATION_NEXT_RATE));
    assert_false(call_attr_is_null(b, ATTR_DESTINATION_NEXT_RATE));
    assert_false(call_attr_is_null(c, ATTR_DESTINATION_NEXT_RATE));
    assert_true(call_attr_is_null(b, ATTR_START_TIME)); /* a fresh record is all null */
    callset_free(&cs);
}

static void test_total_order(void **state)
{
    static const char *const vals[] = {
        "0",
        "-0",
        "1",
        "1.0",
        "\"1\"",
        "\"0.11\"",
        "\"0.9\"",
        "10",
        "1e1",
        "-2.5",
        "\"-2.5\"",
        "1e-3",
        "\"\"",
        "\"a\"",
        "\"a\\\"\"",
        "\"a#\"",
        "\"b\"",
        "\"\\u0001\"",
        "\"\xc3\xa9\"",
        "\"\\ufffd\"",
        "\"10.0.0.1\"",
        "true",
        "false",
        "[1]",
        "{}",
        NULL,
        "123456789012345678901234567890",
    };
    size_t n = sizeof vals / sizeof vals[0];
    int c[32][32];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) c[i][j] = cmp_text(vals[i], vals[j]);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c[i][i], 0);
        for (size_t j = 0; j < n; j++) {
            assert_int_equal(c[i][j], -c[j][i]);
            for (size_t k = 0; k < n; k++) {
                if (c[i][j] <= 0 && c[j][k] <= 0 && c[i][k] > 0)
                    fail_msg("%s <= %s <= %s but %s > %s", vals[i] ? vals[i] : "null",
                             vals[j] ? vals[j] : "null", vals[k] ? vals[k] : "null",
                             vals[i] ? vals[i] : "null", vals[k] ? vals[k] : "null");
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),       cmocka_unit_test(test_decimal_strings),
        cmocka_unit_test(test_strings),       cmocka_unit_test(test_classes),
        cmocka_unit_test(test_is_null),       cmocka_unit_test(test_total_order),
        cmocka_unit_test(test_number_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
