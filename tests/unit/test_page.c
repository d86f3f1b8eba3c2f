/* test_page: jsonapi/page.c — page[number] and page[size], and the links
 * of a paged answer. Covers: defaults (number 1, the default size) once
 * any page key is given; canonical positive decimals only; the maximum
 * size; every error as jsonapi-resources words it (118 "Invalid page
 * value" with the value as sent, 118 for a size over the maximum naming
 * it, 105 "Page parameter not allowed" for another page key); a repeated
 * key's last value; the links: first, prev, next, last present exactly
 * when they apply, the last page of an empty listing being 1, every other
 * parameter kept in its place and percent-encoded again (& = + ; # % [ ]
 * space, UTF-8), page[number] replaced where it stood or added at the end,
 * repeats of it dropped; buf_put_url_query_part itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonapi/page.h"

#define DEFAULT_SIZE 100
#define MAX_SIZE 1000

/* Runs page_param over keys/values; returns the errors' JSON array. */
static json_t *parse(page_spec *p, const query_param *params, size_t n)
{
    memset(p, 0, sizeof *p);
    jsonapi_errors e;
    jerr_init(&e);
    int added = 0;
    for (size_t i = 0; i < n; i++)
        added += page_param(p, params[i].key, params[i].value, DEFAULT_SIZE, MAX_SIZE, &e);
    assert_int_equal(added, e.n);
    buf out;
    buf_init(&out);
    jerr_document(&e, &out);
    buf_putc(&out, '\0');
    json_t *doc = json_loads(out.data, 0, NULL);
    assert_non_null(doc);
    json_t *errors = json_incref(json_object_get(doc, "errors"));
    json_decref(doc);
    buf_free(&out);
    jerr_free(&e);
    return errors;
}

static void good(const char *key, const char *value, int64_t number, int64_t size)
{
    page_spec p;
    query_param prm = {key, value};
    json_t *errors = parse(&p, &prm, 1);
    if (json_array_size(errors)) fail_msg("%s=%s refused", key, value);
    assert_true(p.given);
    assert_int_equal(p.number, number);
    assert_int_equal(p.size, size);
    json_decref(errors);
}

static void bad(const char *key, const char *value, const char *code, const char *title, const char *detail)
{
    page_spec p;
    query_param prm = {key, value};
    json_t *errors = parse(&p, &prm, 1);
    if (json_array_size(errors) != 1) fail_msg("%s=%s: %zu errors", key, value, json_array_size(errors));
    json_t *e = json_array_get(errors, 0);
    assert_int_equal(json_object_size(e), 4);
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    assert_string_equal(json_string_value(json_object_get(e, "title")), title);
    assert_string_equal(json_string_value(json_object_get(e, "status")), "400");
    const char *got = json_string_value(json_object_get(e, "detail"));
    if (strcmp(got, detail) != 0) fail_msg("%s=%s: detail '%s', want '%s'", key, value, got, detail);
    json_decref(errors);
}

static void test_values(void **state)
{
    good("page[number]", "1", 1, DEFAULT_SIZE);
    good("page[number]", "3", 3, DEFAULT_SIZE);
    good("page[number]", "9223372036854775807", INT64_MAX, DEFAULT_SIZE);
    good("page[size]", "1", 1, 1);
    good("page[size]", "25", 1, 25);
    good("page[size]", "1000", 1, 1000);

    page_spec p;
    query_param both[] = {{"page[size]", "10"}, {"page[number]", "4"}};
    json_t *errors = parse(&p, both, 2);
    assert_int_equal(json_array_size(errors), 0);
    assert_true(p.given);
    assert_int_equal(p.number, 4);
    assert_int_equal(p.size, 10);
    json_decref(errors);

    query_param again[] = {{"page[number]", "4"}, {"page[number]", "2"}}; /* the last wins */
    errors = parse(&p, again, 2);
    assert_int_equal(p.number, 2);
    json_decref(errors);

    errors = parse(&p, NULL, 0);
    assert_false(p.given);
    json_decref(errors);
}

static void test_errors(void **state)
{
    static const char *const bad_values[] = {"0",   "-1",  "+1", "01",  " 1",  "1 ",
                                             "1.0", "1e2", "",   "abc", "0x1", "9223372036854775808"};
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        char detail[128];
        snprintf(detail, sizeof detail, "%s is not a valid value for number page parameter.", bad_values[i]);
        bad("page[number]", bad_values[i], "118", "Invalid page value", detail);
        snprintf(detail, sizeof detail, "%s is not a valid value for size page parameter.", bad_values[i]);
        bad("page[size]", bad_values[i], "118", "Invalid page value", detail);
    }
    bad("page[size]", "1001", "118", "Invalid page value", "size exceeds maximum page size of 1000.");
    bad("page[size]", "9223372036854775807", "118", "Invalid page value",
        "size exceeds maximum page size of 1000.");
    bad("page[foo]", "1", "105", "Page parameter not allowed", "foo is not an allowed page parameter.");
    bad("page[offset]", "0", "105", "Page parameter not allowed", "offset is not an allowed page parameter.");
    bad("page[limit]", "1", "105", "Page parameter not allowed", "limit is not an allowed page parameter.");
    bad("page[Number]", "1", "105", "Page parameter not allowed", "Number is not an allowed page parameter.");
    bad("page[]", "1", "105", "Page parameter not allowed", " is not an allowed page parameter.");
    bad("page[number", "1", "105", "Page parameter not allowed",
        "page[number is not an allowed page parameter.");
    bad("page[number]x", "1", "105", "Page parameter not allowed",
        "page[number]x is not an allowed page parameter.");

    /* long values are cut */
    char v[301];
    memset(v, '9', 300);
    v[300] = '\0';
    char detail[400];
    snprintf(detail, sizeof detail, "%.100s... is not a valid value for size page parameter.", v);
    bad("page[size]", v, "118", "Invalid page value", detail);
}

/* The links page_links writes for params, page and total, as one JSON object. */
static json_t *links(const query_param *params, size_t n, int64_t number, int64_t size, size_t total)
{
    page_spec p = {true, number, size};
    buf out;
    buf_init(&out);
    buf_putc(&out, '{');
    page_links(&out, "http://h:8080/api/rest/admin/active-calls", params, n, &p, total);
    buf_putc(&out, '}');
    buf_putc(&out, '\0');
    json_error_t err;
    json_t *doc = json_loads(out.data, 0, &err);
    if (!doc) fail_msg("not JSON (%s): %s", err.text, out.data);
    json_t *l = json_incref(json_object_get(doc, "links"));
    assert_non_null(l);
    json_decref(doc);
    buf_free(&out);
    return l;
}

static void expect_link(json_t *l, const char *name, const char *want)
{
    const char *got = json_string_value(json_object_get(l, name));
    if (!want) {
        if (got) fail_msg("links.%s is %s, want none", name, got);
        return;
    }
    if (!got || strcmp(got, want) != 0) fail_msg("links.%s is %s, want %s", name, got ? got : "(none)", want);
}

#define BASE "http://h:8080/api/rest/admin/active-calls?"
#define NUM "page%5Bnumber%5D="

static void test_links_which(void **state)
{
    query_param params[] = {{"page[number]", "2"}, {"page[size]", "10"}};
    static const struct {
        int64_t number;
        size_t total;
        const char *prev, *next, *last;
    } cases[] = {
        {2, 35, "1", "3", "4"},   {1, 35, NULL, "2", "4"}, {4, 35, "3", NULL, "4"}, {1, 0, NULL, NULL, "1"},
        {1, 10, NULL, NULL, "1"}, {1, 11, NULL, "2", "2"}, {3, 30, "2", NULL, "3"}, {9, 35, "8", NULL, "4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *l = links(params, 2, cases[i].number, 10, cases[i].total);
        char want[256];
        expect_link(l, "first", BASE NUM "1&page%5Bsize%5D=10");
        const char *const *which[3] = {&cases[i].prev, &cases[i].next, &cases[i].last};
        static const char *const names[3] = {"prev", "next", "last"};
        for (int k = 0; k < 3; k++) {
            if (*which[k]) snprintf(want, sizeof want, "%s%s&page%%5Bsize%%5D=10", BASE NUM, *which[k]);
            expect_link(l, names[k], *which[k] ? want : NULL);
        }
        assert_int_equal(json_object_size(l), 2 + (cases[i].prev != NULL) + (cases[i].next != NULL));
        json_decref(l);
    }
}

static void test_links_keep_params(void **state)
{
    /* every other parameter in its place, encoded again; page[number] replaced in its place */
    query_param params[] = {
        {"filter[node-id-eq]", "1,2"},
        {"sort", "-duration"},
        {"page[number]", "2"},
        {"filter[orig-call-id-eq]", "a&b=c+d;e#f%g h/?\xc3\xa9\"\\"},
        {"token", "x.y_z-~"},
        {"page[number]", "7"},
        {"flag", ""},
    };
    json_t *l = links(params, 7, 2, 5, 100);
    expect_link(l, "next",
                BASE "filter%5Bnode-id-eq%5D=1,2&sort=-duration&" NUM "3"
                     "&filter%5Borig-call-id-eq%5D=a%26b%3Dc%2Bd%3Be%23f%25g%20h/?%C3%A9%22%5C"
                     "&flag="); /* the token is not echoed */
    json_decref(l);

    /* without page[number] (only page[size] given), it comes last */
    query_param size_only[] = {{"page[size]", "5"}, {"include", "customer"}};
    l = links(size_only, 2, 1, 5, 12);
    expect_link(l, "first", BASE "page%5Bsize%5D=5&include=customer&" NUM "1");
    expect_link(l, "last", BASE "page%5Bsize%5D=5&include=customer&" NUM "3");
    json_decref(l);

    /* no parameters at all */
    l = links(NULL, 0, 1, 5, 0);
    expect_link(l, "first", BASE NUM "1");
    json_decref(l);
}

static void test_links_not_given(void **state)
{
    page_spec p = {0};
    buf out;
    buf_init(&out);
    page_links(&out, "http://h", NULL, 0, &p, 10);
    assert_int_equal(out.len, 0);
    buf_free(&out);
}

static void test_url_query_part(void **state)
{
    buf out;
    buf_init(&out);
    const char in[] = "AZaz09-._~!$'()*,:@/? &=+;#%[]\"\\<>^`{|}\x01\x7f\xff";
    buf_put_url_query_part(&out, in, sizeof in - 1);
    buf_putc(&out, '\0');
    assert_string_equal(
        out.data, "AZaz09-._~!$'()*,:@/?%20%26%3D%2B%3B%23%25%5B%5D%22%5C%3C%3E%5E%60%7B%7C%7D%01%7F%FF");
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),          cmocka_unit_test(test_errors),
        cmocka_unit_test(test_links_which),     cmocka_unit_test(test_links_keep_params),
        cmocka_unit_test(test_links_not_given), cmocka_unit_test(test_url_query_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
