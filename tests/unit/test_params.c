/* test_params: api/params.c — which endpoint takes which parameter
 * (PARAMS_CALL, PARAMS_LISTING, PARAMS_COUNTS), the page limits and the
 * counts' sort keys passed in params_limits, and group-by: every key
 * (node-id, pop-id, <relationship>-id) to its REL_* index, dashed or
 * underscored, in request order, each once; an empty value names none;
 * an unknown key's 103. Errors are whole documents (400, one object each,
 * in the order found). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/params.h"

static int counts_index(const char *name, size_t len)
{
    if (len == 5 && memcmp(name, "count", 5) == 0) return REL_COUNT + 7; /* a measure */
    return params_rel_key(name, len);                                    /* a group key */
}

static const params_limits lim = {20, 50, counts_index};

typedef struct outcome {
    bool ok;
    api_params p;
    json_t *errors; /* NULL when ok */
} outcome;

static void run(outcome *o, const query_param *params, size_t n, params_kind kind, bool allow_include,
                const params_limits *l)
{
    http_request req;
    memset(&req, 0, sizeof req);
    req.params = params;
    req.nparams = n;
    http_response res;
    memset(&res, 0, sizeof res);
    buf_init(&res.body);
    o->ok = api_params_parse(&req, kind, allow_include, l, &o->p, &res);
    o->errors = NULL;
    if (o->ok) {
        assert_int_equal(res.body.len, 0);
    } else {
        assert_int_equal(res.status, 400);
        buf_putc(&res.body, '\0');
        json_t *doc = json_loads(res.body.data, 0, NULL);
        assert_non_null(doc);
        o->errors = json_incref(json_object_get(doc, "errors"));
        json_decref(doc);
    }
    buf_free(&res.body);
}

static void done(outcome *o)
{
    api_params_free(&o->p);
    json_decref(o->errors);
}

static void expect_error(const outcome *o, size_t i, const char *code, const char *detail)
{
    json_t *e = json_array_get(o->errors, i);
    if (!e) fail_msg("no error %zu (want %s)", i, detail);
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    const char *got = json_string_value(json_object_get(e, "detail"));
    if (strcmp(got, detail) != 0) fail_msg("error %zu: '%s', want '%s'", i, got, detail);
}

static void test_call(void **state)
{
    query_param fine[] = {{"include", "customer"}, {"fields[active-calls]", "duration"}, {"token", "t"}};
    outcome o;
    run(&o, fine, 3, PARAMS_CALL, true, NULL);
    assert_true(o.ok);
    assert_int_equal(o.p.include.n, 1);
    done(&o);
    query_param others[] = {{"filter[node-id-eq]", "1"}, {"sort", "duration"},    {"page[number]", "1"},
                            {"group-by", "node-id"},     {"include", "customer"}, {"bogus", ""}};
    run(&o, others, 6, PARAMS_CALL, false, &lim);
    assert_false(o.ok);
    assert_int_equal(json_array_size(o.errors), 6);
    static const char *const details[] = {
        "filter[node-id-eq] is not allowed.", "sort is not allowed.",    "page[number] is not allowed.",
        "group-by is not allowed.",           "include is not allowed.", "bogus is not allowed."};
    for (size_t i = 0; i < 6; i++) expect_error(&o, i, "105", details[i]);
    assert_int_equal(o.p.filters.n, 0);
    assert_int_equal(o.p.sort.n, 0);
    assert_false(o.p.page.given);
    done(&o);
}

static void test_listing(void **state)
{
    query_param params[] = {{"filter[node-id-eq]", "1"},     {"sort", "-duration,start_time"},
                            {"page[number]", "3"},           {"include", "customer"},
                            {"fields[active-calls]", "lrn"}, {"token", "t"}};
    outcome o;
    run(&o, params, 6, PARAMS_LISTING, true, &lim);
    assert_true(o.ok);
    assert_int_equal(o.p.filters.n, 1);
    assert_int_equal(o.p.sort.n, 2);
    assert_int_equal(o.p.sort.keys[0].key, ATTR_DURATION);
    assert_true(o.p.sort.keys[0].desc);
    assert_int_equal(o.p.sort.keys[1].key, ATTR_START_TIME);
    assert_true(o.p.page.given);
    assert_int_equal(o.p.page.number, 3);
    assert_int_equal(o.p.page.size, 20); /* the limits' default */
    assert_int_equal(o.p.include.n, 1);
    assert_int_equal(o.p.ngroup, 0);
    done(&o);

    query_param bad[] = {{"group-by", "node-id"}, {"sort", "count"}, {"page[size]", "51"}, {"nope", "1"}};
    run(&o, bad, 4, PARAMS_LISTING, true, &lim);
    assert_false(o.ok);
    assert_int_equal(json_array_size(o.errors), 4);
    expect_error(&o, 0, "105", "nope is not allowed."); /* the filter parser's pass finds it first */
    expect_error(&o, 1, "105", "group-by is not allowed.");
    expect_error(&o, 2, "114", "count is not a valid sort criteria for active-calls");
    expect_error(&o, 3, "118", "size exceeds maximum page size of 50.");
    done(&o);
}

static void test_counts(void **state)
{
    query_param params[] = {{"filter[vendor-id-eq]", "3"},
                            {"group-by", "customer_acc_id, node-id,pop-id,customer-acc-id"},
                            {"sort", "-count"},
                            {"page[size]", "50"},
                            {"fields[active-calls]", "duration"}};
    outcome o;
    run(&o, params, 5, PARAMS_COUNTS, false, &lim);
    assert_true(o.ok);
    assert_int_equal(o.p.filters.n, 1);
    assert_int_equal(o.p.ngroup, 3);
    assert_int_equal(o.p.group[0], REL_CUSTOMER_ACC);
    assert_int_equal(o.p.group[1], REL_NODE);
    assert_int_equal(o.p.group[2], REL_POP);
    assert_int_equal(o.p.sort.n, 1);
    assert_int_equal(o.p.sort.keys[0].key, REL_COUNT + 7);
    assert_true(o.p.sort.keys[0].desc);
    assert_int_equal(o.p.page.size, 50);
    assert_int_equal(o.p.page.number, 1);
    done(&o);

    query_param bad[] = {{"include", "customer"}, {"sort", "duration"}, {"group-by", "customer,foo-id,node"}};
    run(&o, bad, 3, PARAMS_COUNTS, false, &lim);
    assert_false(o.ok);
    assert_int_equal(json_array_size(o.errors), 5);
    expect_error(&o, 0, "105", "include is not allowed.");
    expect_error(&o, 1, "114", "duration is not a valid sort criteria for active-call-counts");
    expect_error(&o, 2, "103", "customer is not a valid group-by key for active-call-counts");
    expect_error(&o, 3, "103", "foo-id is not a valid group-by key for active-call-counts");
    expect_error(&o, 4, "103", "node is not a valid group-by key for active-call-counts");
    done(&o);

    /* a group key sorts only what it groups, whatever the order of the parameters */
    query_param ungrouped[] = {{"sort", "node-id,-customer_acc_id"}, {"group-by", "node-id"}};
    run(&o, ungrouped, 2, PARAMS_COUNTS, false, &lim);
    assert_false(o.ok);
    assert_int_equal(json_array_size(o.errors), 1);
    expect_error(&o, 0, "114", "customer-acc-id is not a valid sort criteria for active-call-counts");
    done(&o);

    /* no counts' sort keys: every key is unknown */
    params_limits none = {20, 50, NULL};
    query_param sort[] = {{"sort", "count"}};
    run(&o, sort, 1, PARAMS_COUNTS, false, &none);
    assert_false(o.ok);
    expect_error(&o, 0, "114", "count is not a valid sort criteria for active-call-counts");
    done(&o);
}

static void test_group_by_keys(void **state)
{
    for (int k = 0; k < REL_COUNT; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s-id", call_rels[k].name);
        for (int spelling = 0; spelling < 2; spelling++) {
            for (char *c = name; spelling && *c; c++)
                if (*c == '-') *c = '_';
            query_param prm = {"group-by", name};
            outcome o;
            run(&o, &prm, 1, PARAMS_COUNTS, false, &lim);
            if (!o.ok) fail_msg("group-by=%s refused", name);
            assert_int_equal(o.p.ngroup, 1);
            assert_int_equal(o.p.group[0], k);
            done(&o);
        }
    }
    /* the listing's id attributes are those names */
    query_param named[] = {{"group-by", "node-id,pop-id,customer-id,dst-network-id,routing-plan-id"}};
    outcome o;
    run(&o, named, 1, PARAMS_COUNTS, false, &lim);
    assert_true(o.ok);
    int want[] = {REL_NODE, REL_POP, REL_CUSTOMER, REL_DST_NETWORK, REL_ROUTING_PLAN};
    assert_int_equal(o.p.ngroup, 5);
    for (size_t i = 0; i < 5; i++) assert_int_equal(o.p.group[i], want[i]);
    done(&o);
    /* empty: one total; empty items are no key either */
    static const char *const empty[] = {"", " ", ",", "node-id,,node-id, "};
    for (size_t i = 0; i < 4; i++) {
        query_param prm = {"group-by", empty[i]};
        run(&o, &prm, 1, PARAMS_COUNTS, false, &lim);
        assert_true(o.ok);
        assert_int_equal(o.p.ngroup, i == 3 ? 1 : 0);
        done(&o);
    }
    static const char *const unknown[] = {"-id", "id", "node-ID", "customer-id-eq", "duration", "nodeid"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        query_param prm = {"group-by", unknown[i]};
        run(&o, &prm, 1, PARAMS_COUNTS, false, &lim);
        assert_false(o.ok);
        char detail[128];
        snprintf(detail, sizeof detail, "%s is not a valid group-by key for active-call-counts", unknown[i]);
        expect_error(&o, 0, "103", detail);
        done(&o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call),
        cmocka_unit_test(test_listing),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_group_by_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
