/* test_expo: metrics/expo.c and metrics/counters.c — label values
 * escaped as the exposition formats require (\, \", \n; other bytes as
 * they are), values written so they read back exactly (integers plain,
 * NaN and infinities by name), a counter's family named with `_total` in
 * the text format and without it in OpenMetrics, which ends with # EOF;
 * the Accept header's choice; and the counters: cumulative histogram
 * buckets whose +Inf bucket equals _count, routes kept apart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/counters.h"
#include "metrics/expo.h"

static const char *text_of(buf *b)
{
    buf_putc(b, '\0');
    b->len--;
    return b->data;
}

static void labels_and_values(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    expo e = {&b, false};
    expo_sample_begin(&e, "m", NULL);
    expo_label(&e, "a", "x\"y\\z\nw", 7);
    expo_label_i64(&e, "b", -5);
    expo_sample_end_i64(&e, 7);
    expo_sample_begin(&e, "m", NULL);
    expo_sample_end(&e, 0.1);
    expo_sample_begin(&e, "m", NULL);
    expo_sample_end(&e, NAN);
    expo_sample_begin(&e, "m", NULL);
    expo_sample_end(&e, -INFINITY);
    expo_sample_begin(&e, "m", NULL);
    expo_sample_end(&e, 1e20);
    expo_sample_raw(&e, "r", "{k=\"v\"}", 7, 2.5);
    assert_string_equal(text_of(&b),
                        "m{a=\"x\\\"y\\\\z\\nw\",b=\"-5\"} 7\n"
                        "m 0.1\n"
                        "m NaN\n"
                        "m -Inf\n"
                        "m 1e+20\n"
                        "r{k=\"v\"} 2.5\n");
    /* every finite value reads back as the same double */
    for (int i = 0; i < 2000; i++) {
        double v = (double)rand() / RAND_MAX * pow(10, rand() % 40 - 20) * (i % 2 ? -1 : 1);
        buf_reset(&b);
        expo_sample_begin(&e, "m", NULL);
        expo_sample_end(&e, v);
        if (strtod(text_of(&b) + 2, NULL) != v) fail_msg("%.17g written as %s", v, text_of(&b));
    }
    buf_free(&b);
}

static void families_and_formats(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    expo text = {&b, false};
    expo_family(&text, "c", "counter", "h");
    expo_finish(&text);
    assert_string_equal(text_of(&b), "# HELP c_total h\n# TYPE c_total counter\n");
    buf_reset(&b);
    expo om = {&b, true};
    expo_family(&om, "c", "counter", "h");
    expo_family(&om, "g", "gauge", "h2");
    expo_finish(&om);
    assert_string_equal(text_of(&b), "# HELP c h\n# TYPE c counter\n# HELP g h2\n# TYPE g gauge\n# EOF\n");
    buf_free(&b);
    assert_true(expo_wants_openmetrics("application/openmetrics-text; version=1.0.0,text/plain;q=0.5"));
    assert_false(expo_wants_openmetrics("text/plain;version=0.0.4,application/openmetrics-text;q=0.5"));
    assert_false(expo_wants_openmetrics("*/*"));
    assert_false(expo_wants_openmetrics(NULL));
}

/* The value of the line that starts with prefix, or -1. */
static double line_value(const char *text, const char *prefix)
{
    const char *p = strstr(text, prefix);
    if (!p) return -1;
    const char *end = strchr(p, '\n'), *sp = end;
    while (sp > p && sp[-1] != ' ') sp--;
    return strtod(sp, NULL);
}

/* prefix + le="v"} */
static const char *h_le(const char *prefix, const char *v)
{
    static char s[4][200];
    static int k;
    k = (k + 1) % 4;
    snprintf(s[k], sizeof s[k], "%sle=\"%s\"}", prefix, v);
    return s[k];
}

static void counters(void **state)
{
    (void)state;
    counters_http("test-route", 200, 300, 5000, true);     /* 0.3 ms, 5 KB listing */
    counters_http("test-route", 200, 20000000, 10, false); /* 20 s: only +Inf */
    counters_http("test-route", 404, 1000, 10, false);
    counters_http("other-route", 200, 1000, 10, false);
    counters_round(1500);
    counters_node_failure(3, "timeout");
    counters_node_failure(3, "timeout");
    counters_node_failure(4, "connection-refused");
    buf b;
    buf_init(&b);
    expo e = {&b, false};
    counters_write(&e);
    const char *t = text_of(&b);
    assert_true(line_value(t, "activecalls_http_requests_total{route=\"test-route\",status=\"200\"}") == 2);
    assert_true(line_value(t, "activecalls_http_requests_total{route=\"test-route\",status=\"404\"}") == 1);
    assert_true(line_value(t, "activecalls_http_requests_total{route=\"other-route\",status=\"200\"}") == 1);
    const char *h = "activecalls_http_request_duration_seconds_bucket{route=\"test-route\",";
    assert_true(line_value(t, h_le(h, "0.0005")) == 1);
    assert_true(line_value(t, h_le(h, "10")) == 2);
    assert_true(line_value(t, h_le(h, "+Inf")) == 3);
    assert_true(line_value(t, "activecalls_http_request_duration_seconds_count{route=\"test-route\"}") == 3);
    assert_true(line_value(t, "activecalls_listing_document_bytes_bucket{le=\"4096\"}") == 0);
    assert_true(line_value(t, "activecalls_listing_document_bytes_bucket{le=\"16384\"}") == 1);
    assert_true(line_value(t, "activecalls_listing_document_bytes_sum") == 5000);
    assert_true(line_value(t, "activecalls_node_round_duration_seconds_bucket{le=\"0.0025\"}") == 1);
    assert_true(line_value(t, "activecalls_node_failures_total{node_id=\"3\",code=\"timeout\"}") == 2);
    assert_true(line_value(t, "activecalls_node_failures_total{node_id=\"4\",code=\"connection-refused\"}") ==
                1);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(labels_and_values),
        cmocka_unit_test(families_and_formats),
        cmocka_unit_test(counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
