/* test_sort: jsonapi/sort.c — the sort parameter. Covers: keys in order,
 * '-' for descending, spaces around items, underscores for dashes (the
 * key_index callback sees the dashed name); the first of a repeated key
 * wins; repeated sort values append; an empty value sorts by nothing;
 * every error as jsonapi-resources words it (code 114, title "Invalid
 * sort criteria", "<key> is not a valid sort criteria for <type>" with
 * the key as sent), an empty item and more than SORT_KEYS_MAX keys naming
 * the whole value; long text cut; several errors collected. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonapi/sort.h"
#include "model/calls.h"

static char last_name[128]; /* what key_index was last asked */

static int attr_index(const char *name, size_t len)
{
    snprintf(last_name, sizeof last_name, "%.*s", (int)len, name);
    return call_attr_index(name, len);
}

typedef struct sorted {
    sort_spec s;
    jsonapi_errors errs;
    int nerr;
    json_t *errors; /* the error objects, parsed */
} sorted;

static void parse(sorted *r, const char *value)
{
    memset(r, 0, sizeof *r);
    jerr_init(&r->errs);
    r->nerr = sort_parse(&r->s, value, attr_index, "active-calls", &r->errs);
    assert_int_equal(r->nerr, r->errs.n);
    buf out;
    buf_init(&out);
    jerr_document(&r->errs, &out);
    buf_putc(&out, '\0');
    json_error_t err;
    json_t *doc = json_loads(out.data, 0, &err);
    if (!doc) fail_msg("not JSON (%s): %s", err.text, out.data);
    r->errors = json_incref(json_object_get(doc, "errors"));
    json_decref(doc);
    buf_free(&out);
}

static void done(sorted *r)
{
    jerr_free(&r->errs);
    json_decref(r->errors);
}

static void assert_error(const sorted *r, size_t i, const char *detail)
{
    json_t *e = json_array_get(r->errors, i);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "114");
    assert_string_equal(json_string_value(json_object_get(e, "title")), "Invalid sort criteria");
    assert_string_equal(json_string_value(json_object_get(e, "status")), "400");
    const char *got = json_string_value(json_object_get(e, "detail"));
    if (!got || strcmp(got, detail) != 0) fail_msg("detail '%s', want '%s'", got ? got : "(none)", detail);
}

/* value parses to the keys in want: "duration,-start-time" style. */
static void keys(const char *value, const char *want)
{
    sorted r;
    parse(&r, value);
    if (r.nerr) fail_msg("'%s' refused", value);
    char got[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < r.s.n; i++)
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%s%s", i ? "," : "",
                                r.s.keys[i].desc ? "-" : "", call_attrs[r.s.keys[i].key].name);
    if (strcmp(got, want) != 0) fail_msg("'%s' sorts by '%s', want '%s'", value, got, want);
    done(&r);
}

static void test_keys(void **state)
{
    keys("duration", "duration");
    keys("-duration", "-duration");
    keys("-duration,start-time", "-duration,start-time");
    keys(" -duration , start-time ", "-duration,start-time");
    keys("start_time", "start-time"); /* underscores as dashes, as filters take them */
    keys("leg_a_remote_ip,-dst_prefix_routing", "leg-a-remote-ip,-dst-prefix-routing");
    keys("duration,-duration", "duration"); /* the first wins */
    keys("-local-tag,lrn,local_tag", "-local-tag,lrn");
    keys("", "");
    keys("   ", "");
    /* every attribute is a key, in both directions */
    for (int a = 0; a < ATTR_COUNT; a++) {
        char v[80], want[80];
        snprintf(v, sizeof v, "-%s", call_attrs[a].name);
        snprintf(want, sizeof want, "-%s", call_attrs[a].name);
        keys(v, want);
        keys(call_attrs[a].name, call_attrs[a].name);
    }
    /* key_index sees the dashed name */
    sorted r;
    parse(&r, "dst_prefix_in");
    assert_string_equal(last_name, "dst-prefix-in");
    done(&r);
}

static void test_append(void **state)
{
    sorted r;
    parse(&r, "-duration");
    assert_int_equal(sort_parse(&r.s, "lrn,duration", attr_index, "active-calls", &r.errs), 0);
    assert_int_equal(r.s.n, 2);
    assert_int_equal(r.s.keys[0].key, ATTR_DURATION);
    assert_true(r.s.keys[0].desc);
    assert_int_equal(r.s.keys[1].key, ATTR_LRN);
    assert_false(r.s.keys[1].desc);
    done(&r);
}

static void test_unknown_keys(void **state)
{
    static const struct {
        const char *value, *detail;
    } cases[] = {
        {"foo", "foo is not a valid sort criteria for active-calls"},
        {"-foo", "foo is not a valid sort criteria for active-calls"},
        {"Duration", "Duration is not a valid sort criteria for active-calls"},
        {"customer", "customer is not a valid sort criteria for active-calls"}, /* a relationship */
        {"id", "id is not a valid sort criteria for active-calls"},
        {"--duration", "-duration is not a valid sort criteria for active-calls"},
        {"+duration", "+duration is not a valid sort criteria for active-calls"},
        {"- duration", " duration is not a valid sort criteria for active-calls"},
        {"start_time_", "start_time_ is not a valid sort criteria for active-calls"}, /* as sent */
        {"a\"b", "a\"b is not a valid sort criteria for active-calls"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sorted r;
        parse(&r, cases[i].value);
        if (r.nerr != 1) fail_msg("'%s': %d errors", cases[i].value, r.nerr);
        assert_error(&r, 0, cases[i].detail);
        done(&r);
    }
}

static void test_bad_lists(void **state)
{
    static const char *const bad[] = {"duration,,lrn", "duration,", ",duration", "-",
                                      "duration,-",    ",",         " , "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sorted r;
        parse(&r, bad[i]);
        if (r.nerr != 1) fail_msg("'%s': %d errors", bad[i], r.nerr);
        char want[128];
        snprintf(want, sizeof want, "%s is not a valid sort criteria for active-calls", bad[i]);
        assert_error(&r, 0, want);
        done(&r);
    }
}

static void test_too_many_keys(void **state)
{
    buf v, want;
    buf_init(&v);
    buf_init(&want);
    for (int a = 0; a < SORT_KEYS_MAX; a++) buf_printf(&v, "%s%s", a ? "," : "", call_attrs[a].name);
    buf_append(&want, v.data, v.len);
    buf_printf(&v, ",%s", call_attrs[3].name); /* a repeat does not count */
    buf_putc(&v, '\0');
    buf_putc(&want, '\0');
    keys(v.data, want.data);
    /* one more distinct key is too many */
    v.len--;
    buf_printf(&v, ",%s", call_attrs[SORT_KEYS_MAX].name);
    buf_putc(&v, '\0');
    sorted r;
    parse(&r, v.data);
    assert_int_equal(r.nerr, 1);
    char detail[1024];
    snprintf(detail, sizeof detail, "%.100s... is not a valid sort criteria for active-calls", v.data);
    assert_error(&r, 0, detail);
    assert_int_equal(r.s.n, SORT_KEYS_MAX);
    done(&r);
    buf_free(&v);
    buf_free(&want);
}

static void test_errors_collected_and_cut(void **state)
{
    sorted r;
    parse(&r, "foo,-duration,bar,,lrn");
    assert_int_equal(r.nerr, 3);
    assert_error(&r, 0, "foo is not a valid sort criteria for active-calls");
    assert_error(&r, 1, "bar is not a valid sort criteria for active-calls");
    assert_error(&r, 2, "foo,-duration,bar,,lrn is not a valid sort criteria for active-calls");
    done(&r);

    char longkey[301];
    memset(longkey, 'k', 300);
    longkey[300] = '\0';
    parse(&r, longkey);
    assert_int_equal(r.nerr, 1);
    char detail[400];
    snprintf(detail, sizeof detail, "%.100s... is not a valid sort criteria for active-calls", longkey);
    assert_error(&r, 0, detail);
    done(&r);

    /* the type named is the caller's */
    jsonapi_errors e;
    jerr_init(&e);
    sort_spec s = {0};
    assert_int_equal(sort_parse(&s, "x", attr_index, "active-call-counts", &e), 1);
    buf out;
    buf_init(&out);
    jerr_document(&e, &out);
    buf_putc(&out, '\0');
    assert_non_null(strstr(out.data, "x is not a valid sort criteria for active-call-counts\""));
    buf_free(&out);
    jerr_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),          cmocka_unit_test(test_append),
        cmocka_unit_test(test_unknown_keys),  cmocka_unit_test(test_bad_lists),
        cmocka_unit_test(test_too_many_keys), cmocka_unit_test(test_errors_collected_and_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
