/* test_timefmt: util/timefmt.c — epoch seconds → `YYYY-MM-DDTHH:MM:SS.000Z`
 * (the seed's values, the epoch, leap days, 1969 and earlier, the ends of
 * the 0000..9999 range, refusal outside it, agreement with gmtime_r over a
 * wide sweep) and timefmt_parse_seconds (JSON number text → seconds
 * truncated towards zero; refusal of non-numbers, non-finite and
 * out-of-int64-range values and of texts of 512+ characters). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/timefmt.h"

/* ---- timefmt_iso_utc ----------------------------------------------------------- */

static void iso_is(int64_t secs, const char *want)
{
    char out[TIMEFMT_ISO_LEN + 2];
    memset(out, '#', sizeof out);
    if (!timefmt_iso_utc(secs, out)) fail_msg("%lld refused", (long long)secs);
    /* exactly TIMEFMT_ISO_LEN bytes written, no NUL, nothing beyond */
    assert_int_equal(out[TIMEFMT_ISO_LEN], '#');
    assert_int_equal(out[TIMEFMT_ISO_LEN + 1], '#');
    out[TIMEFMT_ISO_LEN] = '\0';
    if (strcmp(out, want) != 0) fail_msg("%lld → %s, want %s", (long long)secs, out, want);
}

static void iso_refused(int64_t secs)
{
    char out[TIMEFMT_ISO_LEN + 1];
    memset(out, '#', sizeof out);
    if (timefmt_iso_utc(secs, out)) fail_msg("%lld accepted", (long long)secs);
    assert_int_equal(out[TIMEFMT_ISO_LEN], '#');
}

static void test_iso_len(void **state)
{
    assert_int_equal(TIMEFMT_ISO_LEN, strlen("2026-01-02T12:43:18.000Z"));
}

static void test_iso_seed_values(void **state)
{
    iso_is(1767357798, "2026-01-02T12:43:18.000Z"); /* first call's start-time */
    iso_is(1767357840, "2026-01-02T12:44:00.000Z"); /* connect-time */
    iso_is(1767357806, "2026-01-02T12:43:26.000Z"); /* second call's start-time */
    iso_is(1767358560, "2026-01-02T12:56:00.000Z"); /* the seed token's exp */
}

static void test_iso_epoch_and_simple(void **state)
{
    iso_is(0, "1970-01-01T00:00:00.000Z");
    iso_is(1, "1970-01-01T00:00:01.000Z");
    iso_is(59, "1970-01-01T00:00:59.000Z");
    iso_is(60, "1970-01-01T00:01:00.000Z");
    iso_is(3599, "1970-01-01T00:59:59.000Z");
    iso_is(3600, "1970-01-01T01:00:00.000Z");
    iso_is(86399, "1970-01-01T23:59:59.000Z");
    iso_is(86400, "1970-01-02T00:00:00.000Z");
    iso_is(946684799, "1999-12-31T23:59:59.000Z");
    iso_is(946684800, "2000-01-01T00:00:00.000Z");
    iso_is(2147483647, "2038-01-19T03:14:07.000Z");
    iso_is(2147483648LL, "2038-01-19T03:14:08.000Z");
    iso_is(4294967296LL, "2106-02-07T06:28:16.000Z");
}

static void test_iso_leap_days(void **state)
{
    iso_is(951782400, "2000-02-29T00:00:00.000Z"); /* 2000: divisible by 400 */
    iso_is(951868799, "2000-02-29T23:59:59.000Z");
    iso_is(951868800, "2000-03-01T00:00:00.000Z");
    iso_is(1709164800, "2024-02-29T00:00:00.000Z");
    iso_is(1709251199, "2024-02-29T23:59:59.000Z");
    iso_is(1709251200, "2024-03-01T00:00:00.000Z");
    iso_is(1735603200, "2024-12-31T00:00:00.000Z"); /* day 366 */
    iso_is(1735689600, "2025-01-01T00:00:00.000Z");
    iso_is(1740787199, "2025-02-28T23:59:59.000Z"); /* not a leap year */
    iso_is(1740787200, "2025-03-01T00:00:00.000Z");
    iso_is(4107456000LL, "2100-02-28T00:00:00.000Z"); /* 2100: not a leap year */
    iso_is(4107542400LL, "2100-03-01T00:00:00.000Z");
    iso_is(-2203977600LL, "1900-02-28T00:00:00.000Z"); /* 1900: not a leap year */
    iso_is(-2203891200LL, "1900-03-01T00:00:00.000Z");
    iso_is(-11670998400LL, "1600-02-29T00:00:00.000Z");
}

static void test_iso_before_1970(void **state)
{
    iso_is(-1, "1969-12-31T23:59:59.000Z");
    iso_is(-59, "1969-12-31T23:59:01.000Z");
    iso_is(-60, "1969-12-31T23:59:00.000Z");
    iso_is(-3601, "1969-12-31T22:59:59.000Z");
    iso_is(-86399, "1969-12-31T00:00:01.000Z");
    iso_is(-86400, "1969-12-31T00:00:00.000Z");
    iso_is(-86401, "1969-12-30T23:59:59.000Z");
    iso_is(-31536000, "1969-01-01T00:00:00.000Z");
    iso_is(-31536001, "1968-12-31T23:59:59.000Z");
}

static void test_iso_range_ends(void **state)
{
    iso_is(253402300799LL, "9999-12-31T23:59:59.000Z");
    iso_is(253402214400LL, "9999-12-31T00:00:00.000Z");
    iso_is(-62167219200LL, "0000-01-01T00:00:00.000Z");
    iso_is(-62167219199LL, "0000-01-01T00:00:01.000Z");
    iso_is(-62162121600LL, "0000-02-29T00:00:00.000Z"); /* year 0 is a leap year */
    iso_is(-62135596800LL, "0001-01-01T00:00:00.000Z");
    iso_is(-62135596801LL, "0000-12-31T23:59:59.000Z");
    iso_refused(253402300800LL);
    iso_refused(253402300800LL + 86400);
    iso_refused(-62167219201LL);
    iso_refused(INT64_MAX);
    iso_refused(INT64_MIN);
    iso_refused(INT64_MAX / 86400);
    iso_refused(-(INT64_MAX / 86400));
}

static void test_iso_matches_gmtime(void **state)
{
    /* a sweep over 1900..2300 with a step that visits every time of day */
    char out[TIMEFMT_ISO_LEN + 1];
    char want[64];
    for (int64_t t = -2208988800LL; t < 10413792000LL; t += 86400 * 3 + 3607) {
        time_t tt = (time_t)t;
        struct tm tm;
        assert_non_null(gmtime_r(&tt, &tm));
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        assert_true(timefmt_iso_utc(t, out));
        out[TIMEFMT_ISO_LEN] = '\0';
        if (strcmp(out, want) != 0) fail_msg("%lld → %s, gmtime says %s", (long long)t, out, want);
    }
    /* the first and last second of every year 1..9999 */
    for (int64_t t = -62135596800LL; t <= 253402300799LL; t += 86400LL * 365 + 1234567) {
        time_t tt = (time_t)t;
        struct tm tm;
        if (!gmtime_r(&tt, &tm)) continue;
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        assert_true(timefmt_iso_utc(t, out));
        out[TIMEFMT_ISO_LEN] = '\0';
        if (strcmp(out, want) != 0) fail_msg("%lld → %s, gmtime says %s", (long long)t, out, want);
    }
}

/* ---- timefmt_parse_seconds --------------------------------------------------------- */

static void secs_is(const char *num, int64_t want)
{
    int64_t v = 424242;
    if (!timefmt_parse_seconds(num, strlen(num), &v)) fail_msg("'%s' refused", num);
    if (v != want) fail_msg("'%s' → %lld, want %lld", num, (long long)v, (long long)want);
}

static void secs_refused(const char *num, size_t len)
{
    int64_t v = 424242;
    if (timefmt_parse_seconds(num, len, &v)) fail_msg("'%.*s' accepted as %lld", (int)len, num, (long long)v);
    assert_int_equal(v, 424242); /* output untouched */
}
#define REFUSED(lit) secs_refused((lit), strlen(lit))

static void test_parse_seconds_values(void **state)
{
    secs_is("32.93", 32);
    secs_is("32.7", 32);
    secs_is("32.999999", 32);
    secs_is("35", 35);
    secs_is("-1.5", -1);
    secs_is("-0.5", 0);
    secs_is("-0", 0);
    secs_is("0", 0);
    secs_is("0.0", 0);
    secs_is("1e3", 1000);
    secs_is("1E3", 1000);
    secs_is("1e+3", 1000);
    secs_is("1.5e1", 15);
    secs_is("2.5E-1", 0);
    secs_is("1e-400", 0); /* underflows to zero: still a finite number */
    secs_is("1767357798.37", 1767357798);
    secs_is("1767357840.1", 1767357840);
    secs_is("1767357798", 1767357798);
    secs_is("-1767357798.9", -1767357798);
    secs_is("4909", 4909);
    secs_is("9223372036854775807", INT64_MAX);
    secs_is("-9223372036854775808", INT64_MIN);
    secs_is("9.2e18", 9200000000000000000LL);
    secs_is("-9.2e18", -9200000000000000000LL);
}

static void test_parse_seconds_length_bounded(void **state)
{
    /* only len bytes are read: no terminator needed */
    int64_t v = 0;
    assert_true(timefmt_parse_seconds("32.93xyz", 5, &v));
    assert_int_equal(v, 32);
    assert_true(timefmt_parse_seconds("1234", 2, &v));
    assert_int_equal(v, 12);
    assert_true(timefmt_parse_seconds("7,8", 1, &v));
    assert_int_equal(v, 7);
    char unterminated[4] = {'4', '2', '.', '5'};
    assert_true(timefmt_parse_seconds(unterminated, sizeof unterminated, &v));
    assert_int_equal(v, 42);
}

static void test_parse_seconds_refused(void **state)
{
    REFUSED("");
    secs_refused("5", 0);
    REFUSED("abc");
    REFUSED("nan");
    REFUSED("NaN");
    REFUSED("-nan");
    REFUSED("nan(123)");
    REFUSED("inf");
    REFUSED("-inf");
    REFUSED("Infinity");
    REFUSED("-Infinity");
    REFUSED("-");
    REFUSED(".");
    REFUSED("e5");
    REFUSED("1e");
    REFUSED("1.2.3");
    REFUSED("12abc");
    REFUSED("1 2");
    REFUSED("32.93 ");
    REFUSED("--1");
    REFUSED("true");
    REFUSED("null");
    REFUSED("\"32\"");
}

static void test_parse_seconds_huge(void **state)
{
    REFUSED("9223372036854775808");
    REFUSED("-9223372036854775809");
    REFUSED("99999999999999999999");
    REFUSED("-99999999999999999999");
    REFUSED("1e19");
    REFUSED("-1e19");
    REFUSED("9.3e18");
    REFUSED("1e300");
    REFUSED("-1e300");
    REFUSED("1e400"); /* overflows a double */
    REFUSED("1.8e308");
    /* very long text is refused rather than overflowing a buffer */
    char longnum[200];
    memset(longnum, '9', sizeof longnum - 1);
    longnum[sizeof longnum - 1] = '\0';
    REFUSED(longnum);
}

/* The whole int64 range is reachable through the double path too. */
static void test_parse_seconds_int64_edge(void **state)
{
    secs_is("9.22e18", 9220000000000000000LL);
    secs_is("-9.22e18", -9220000000000000000LL);
    secs_is("9.223e18", 9223000000000000000LL);
    secs_is("-9223372036854775808.0", INT64_MIN);
    REFUSED("9223372036854775808.0");
    REFUSED("9.2233720368547759e18");
}

/* JSON numbers may carry many fraction digits: up to 511 characters are
 * parsed, 512 and more refused (timefmt.h). */
static void test_parse_seconds_long_text(void **state)
{
    char num[600];
    int n = snprintf(num, sizeof num, "1767357798.%0100d", 37);
    assert_true(n > 64 && (size_t)n < sizeof num);
    secs_is(num, 1767357798);
    /* 511 characters: "32." + 508 digits */
    memset(num, '0', sizeof num);
    memcpy(num, "32.", 3);
    num[511] = '\0';
    secs_is(num, 32);
    memset(num, '0', sizeof num);
    memcpy(num, "32.", 3);
    num[512] = '\0';
    REFUSED(num);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso_len),
        cmocka_unit_test(test_iso_seed_values),
        cmocka_unit_test(test_iso_epoch_and_simple),
        cmocka_unit_test(test_iso_leap_days),
        cmocka_unit_test(test_iso_before_1970),
        cmocka_unit_test(test_iso_range_ends),
        cmocka_unit_test(test_iso_matches_gmtime),
        cmocka_unit_test(test_parse_seconds_values),
        cmocka_unit_test(test_parse_seconds_length_bounded),
        cmocka_unit_test(test_parse_seconds_refused),
        cmocka_unit_test(test_parse_seconds_huge),
        cmocka_unit_test(test_parse_seconds_int64_edge),
        cmocka_unit_test(test_parse_seconds_long_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
