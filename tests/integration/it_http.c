/* it_http: the HTTP surface of the listing (docs/CONTRACT.md §4, §5 and docs/API.md
 * "Headers", "Filters"): response headers on every kind of response, ETag
 * and If-None-Match, X-Request-Id, 400 error documents, content
 * negotiation (406 / 415), unknown paths and methods, Host and
 * --public-url as the base of links. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define LISTING "/api/rest/admin/active-calls"
#define SEED_ID_1 "1*FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86"
#define SEED_IDS SEED_ID_1 ",1*03-3D73-55FA51B805CDE1BACF2FB0ED76C3D37B-2962144B354702AF"
#define ETAG_RE "^W/\"[0-9a-f]{32}\"$"
#define UUID4_RE "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
#define RUNTIME_RE "^[0-9]+\\.[0-9]{6}$"

typedef struct fx {
    h_proc *node, *server;
} fx;

/* Node 1 with the seed's calls, then the server with the extra argument
 * pair (or none). */
static void start_fx(fx *f, const char *arg, const char *value)
{
    const char *db = h_db_path();
    f->node = h_start_nodesim(1, 1, "--calls-file", h_data_path("seed_calls.json"), NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, f->node->addr, 1);
    f->server = arg ? h_start_server(db, arg, value, NULL) : h_start_server(db, NULL);
}

static void stop_fx(fx *f)
{
    assert_int_equal(h_stop(f->server), 0);
    assert_int_equal(h_stop(f->node), 0);
}

/* GET path on the fixture's server with Host: example.org plus headers. */
static h_response *get(const fx *f, const char *path, const char *h1, const char *h2)
{
    const char *hdrs[] = {"Host: example.org", h1, h2, NULL};
    return h_http("GET", h_url(f->server, path), hdrs, NULL);
}

static void expect_header(const h_response *r, const char *name, const char *value)
{
    const char *got = h_header_value(r, name);
    if (got == NULL) fail_msg("%s (status %ld): no %s header", r->url, r->status, name);
    if (h_header_count(r, name) != 1)
        fail_msg("%s (status %ld): %zu %s headers", r->url, r->status, h_header_count(r, name), name);
    if (strcmp(got, value) != 0)
        fail_msg("%s (status %ld): %s is \"%s\", expected \"%s\"", r->url, r->status, name, got, value);
}

static void expect_header_re(const h_response *r, const char *name, const char *ere)
{
    const char *got = h_header_value(r, name);
    if (got == NULL || h_header_count(r, name) != 1 || !h_matches(got, ere))
        fail_msg("%s (status %ld): %s is \"%s\" (%zu times), expected to match %s", r->url, r->status, name,
                 got ? got : "<absent>", h_header_count(r, name), ere);
}

/* The docs/CONTRACT.md §4 headers with the seed's values. */
static void check_headers(const h_response *r, bool has_body)
{
    expect_header(r, "vary", "Accept");
    expect_header(r, "cache-control", "max-age=0, private, must-revalidate");
    expect_header(r, "x-frame-options", "SAMEORIGIN");
    expect_header(r, "x-xss-protection", "0");
    expect_header(r, "x-content-type-options", "nosniff");
    expect_header(r, "x-permitted-cross-domain-policies", "none");
    expect_header(r, "referrer-policy", "strict-origin-when-cross-origin");
    expect_header_re(r, "x-request-id", "^[A-Za-z0-9._-]{1,200}$");
    expect_header_re(r, "x-runtime", RUNTIME_RE);
    if (has_body) {
        if (r->body_len == 0) fail_msg("%s (status %ld): empty body", r->url, r->status);
        expect_header(r, "content-type", "application/vnd.api+json");
        expect_header_re(r, "etag", ETAG_RE);
        expect_header(r, "content-length", h_strf("%zu", r->body_len));
    } else {
        if (r->body_len != 0) fail_msg("%s (status %ld): unexpected body %.500s", r->url, r->status, r->body);
        if (h_header_value(r, "content-type") != NULL)
            fail_msg("%s (status %ld): content-type \"%s\" without a body", r->url, r->status,
                     h_header_value(r, "content-type"));
    }
}

/* Loops over many cases report every case that fails, then fail once. */
static char problems[8192];

#define PROBLEM(...)                                                \
    do {                                                            \
        size_t l_ = strlen(problems);                               \
        snprintf(problems + l_, sizeof problems - l_, __VA_ARGS__); \
        l_ = strlen(problems);                                      \
        snprintf(problems + l_, sizeof problems - l_, "\n");        \
    } while (0)

static void no_problems(void)
{
    if (problems[0] != '\0') {
        fprintf(stderr, "%s", problems);
        problems[0] = '\0';
        fail_msg("see the cases above");
    }
}

/* ------------------------------------------------------------------ */

static void test_headers_and_etag(void **state)
{
    fx f;
    start_fx(&f, NULL, NULL);

    h_response *a = h_listing(f.server, NULL);
    h_assert_listing(a, SEED_IDS, NULL);
    check_headers(a, true);
    expect_header_re(a, "x-request-id", UUID4_RE);

    /* Same body, same etag; a fresh request id each time. */
    h_response *b = h_listing(f.server, NULL);
    assert_int_equal(b->status, 200);
    assert_int_equal(b->body_len, a->body_len);
    assert_memory_equal(b->body, a->body, a->body_len);
    assert_string_equal(h_header_value(b, "etag"), h_header_value(a, "etag"));
    expect_header_re(b, "x-request-id", UUID4_RE);
    assert_string_not_equal(h_header_value(b, "x-request-id"), h_header_value(a, "x-request-id"));

    /* Another body, another etag. */
    h_response *c = h_listing(f.server, "filter[node-id-eq]=2");
    h_assert_listing(c, "", NULL);
    check_headers(c, true);
    assert_string_not_equal(h_header_value(c, "etag"), h_header_value(a, "etag"));

    stop_fx(&f);
}

static void test_if_none_match(void **state)
{
    fx f;
    start_fx(&f, NULL, NULL);
    h_response *a = h_listing(f.server, NULL);
    h_assert_listing(a, SEED_IDS, NULL);
    const char *etag = h_header_value(a, "etag");
    assert_true(h_matches(etag, ETAG_RE));
    const char *accept = "Accept: application/vnd.api+json";

    h_response *r = get(&f, LISTING, accept, h_strf("If-None-Match: %s", etag));
    assert_int_equal(r->status, 304);
    check_headers(r, false);
    /* RFC 9110 15.4.5: a 304 carries the ETag a 200 would have. */
    expect_header(r, "etag", etag);

    r = get(&f, LISTING, accept, "If-None-Match: *");
    assert_int_equal(r->status, 304);
    check_headers(r, false);

    r = get(&f, LISTING, accept, h_strf("If-None-Match: W/\"00000000000000000000000000000000\", %s", etag));
    assert_int_equal(r->status, 304);
    check_headers(r, false);

    /* A different etag: the full document. */
    r = get(&f, LISTING, accept, "If-None-Match: W/\"0123456789abcdef0123456789abcdef\"");
    h_assert_listing(r, SEED_IDS, NULL);
    check_headers(r, true);
    assert_string_equal(h_header_value(r, "etag"), etag);
    assert_memory_equal(r->body, a->body, a->body_len);

    /* The etag of one filter's document does not match another's. */
    r = get(&f, LISTING "?filter[node-id-eq]=1", accept, h_strf("If-None-Match: %s", etag));
    assert_int_equal(r->status, 304); /* same calls, same body */
    r = get(&f, LISTING "?filter[node-id-eq]=2", accept, h_strf("If-None-Match: %s", etag));
    h_assert_listing(r, "", NULL);

    stop_fx(&f);
}

static void test_request_id(void **state)
{
    fx f;
    start_fx(&f, NULL, NULL);
    const char *accept = "Accept: application/vnd.api+json";
    char long_ok[201], too_long[202], way_too_long[301];
    memset(long_ok, 'a', 200);
    long_ok[200] = '\0';
    memset(too_long, 'b', 201);
    too_long[201] = '\0';
    memset(way_too_long, 'c', 300);
    way_too_long[300] = '\0';

    const char *const sane[] = {"abc-123_X.y", "7e0d1478-26f7-4425-baae-334dea4633fd", "Z", long_ok};
    problems[0] = '\0';
    for (size_t i = 0; i < sizeof sane / sizeof sane[0]; i++) {
        h_response *r = get(&f, LISTING, accept, h_strf("X-Request-Id: %s", sane[i]));
        const char *got = h_header_value(r, "x-request-id");
        if (r->status != 200 || got == NULL || strcmp(got, sane[i]) != 0)
            PROBLEM("X-Request-Id: %s (%zu chars): status %ld, x-request-id \"%s\" (%zu chars), "
                    "expected it echoed",
                    sane[i], strlen(sane[i]), r->status, got ? got : "<absent>", got ? strlen(got) : 0);
    }
    const char *const insane[] = {"has space", "a/b", "x;y", "caf\xc3\xa9", too_long, way_too_long};
    for (size_t i = 0; i < sizeof insane / sizeof insane[0]; i++) {
        h_response *r = get(&f, LISTING, accept, h_strf("X-Request-Id: %s", insane[i]));
        const char *got = h_header_value(r, "x-request-id");
        if (r->status != 200 || !h_matches(got, UUID4_RE))
            PROBLEM("X-Request-Id: %s: status %ld, x-request-id \"%s\", expected a fresh UUIDv4", insane[i],
                    r->status, got ? got : "<absent>");
    }
    no_problems();
    /* Echoed on errors too. */
    h_response *r = get(&f, LISTING "?foo=1", accept, "X-Request-Id: err-req.1");
    assert_int_equal(r->status, 400);
    expect_header(r, "x-request-id", "err-req.1");

    stop_fx(&f);
}

/* One bad query: status 400 and exactly this one error. */
static void expect_400(const fx *f, const char *query, const char *title, const char *detail,
                       const char *code)
{
    h_response *r = h_listing(f->server, query);
    h_assert_error(r, 400, 0, title, detail, code);
    if (h_error_count(r) != 1) fail_msg("%s: %zu errors, expected 1: %s", r->url, h_error_count(r), r->body);
    check_headers(r, true);
}

#define NOT_ALLOWED "Filter not allowed"
#define BAD_VALUE "Invalid filter value"
#define BAD_PARAM "Param not allowed"

static void test_bad_queries(void **state)
{
    fx f;
    start_fx(&f, NULL, NULL);

    expect_400(&f, "filter[foo]=1", NOT_ALLOWED, "foo is not allowed.", "102");
    expect_400(&f, "filter[foo_bar]=1", NOT_ALLOWED, "foo_bar is not allowed.", "102");
    expect_400(&f, "filter[customer-id]=1", NOT_ALLOWED, "customer-id is not allowed.", "102");

    expect_400(&f, "filter[customer-id-eq]=abc", BAD_VALUE, "abc is not a valid value for customer-id-eq.",
               "103");
    expect_400(&f, "filter[customer_id_eq]=abc", BAD_VALUE, "abc is not a valid value for customer-id-eq.",
               "103");
    expect_400(&f, "filter[customer-id-eq]=", BAD_VALUE, " is not a valid value for customer-id-eq.", "103");
    expect_400(&f, "filter[customer-id-eq]=a%20b", BAD_VALUE, "a b is not a valid value for customer-id-eq.",
               "103");
    expect_400(&f, "filter[customer-id-eq]=99999999999999999999", BAD_VALUE,
               "99999999999999999999 is not a valid value for customer-id-eq.", "103");
    expect_400(&f, "filter[duration-equals]=1.5", BAD_VALUE, "1.5 is not a valid value for duration-equals.",
               "103");
    expect_400(&f, "filter[duration_greater_than]=x", BAD_VALUE,
               "x is not a valid value for duration-greater-than.", "103");
    expect_400(&f, "filter[duration-less-than]=1,2", BAD_VALUE,
               "1,2 is not a valid value for duration-less-than.", "103");
    expect_400(&f, "filter[node-id-eq]=1,x", BAD_VALUE, NULL, "103");
    expect_400(&f, "filter[pop-id-eq]=1.0", BAD_VALUE, "1.0 is not a valid value for pop-id-eq.", "103");
    /* Malformed call ids: no '*', non-integer node, empty tag. */
    expect_400(&f, "filter[id]=abc", BAD_VALUE, "abc is not a valid value for id.", "103");
    expect_400(&f, "filter[id]=x*tag", BAD_VALUE, "x*tag is not a valid value for id.", "103");
    expect_400(&f, "filter[id]=1*", BAD_VALUE, "1* is not a valid value for id.", "103");

    expect_400(&f, "foo=1", BAD_PARAM, "foo is not allowed.", "105");
    expect_400(&f, "group-by=node-id", BAD_PARAM, "group-by is not allowed.", "105");
    expect_400(&f, "sort=id", "Invalid sort criteria", "id is not a valid sort criteria for active-calls",
               "114");
    expect_400(&f, "page[number]=0", "Invalid page value",
               "0 is not a valid value for number page parameter.", "118");
    expect_400(&f, "page[size]=1001", "Invalid page value", "size exceeds maximum page size of 1000.", "118");
    expect_400(&f, "page[offset]=1", "Page parameter not allowed", "offset is not an allowed page parameter.",
               "105");
    expect_400(&f, "filter[connected]=yes", BAD_VALUE, "yes is not a valid value for connected.", "103");
    expect_400(&f, "filter[local_tag_eq]=a,", BAD_VALUE, "a, is not a valid value for local-tag-eq.", "103");

    /* Several errors at once, in the order of the query string. */
    h_response *r = h_listing(f.server, "filter[foo]=1&filter[customer-id-eq]=abc&bar=2");
    assert_int_equal(h_error_count(r), 3);
    h_assert_error(r, 400, 0, NOT_ALLOWED, "foo is not allowed.", "102");
    h_assert_error(r, 400, 1, BAD_VALUE, "abc is not a valid value for customer-id-eq.", "103");
    h_assert_error(r, 400, 2, BAD_PARAM, "bar is not allowed.", "105");
    check_headers(r, true);

    /* And a good query still works. */
    h_assert_listing(h_listing(f.server, "filter[customer-id-eq]=22"), SEED_IDS, NULL);

    stop_fx(&f);
}

static void test_accept(void **state)
{
    fx f;
    start_fx(&f, NULL, NULL);

    const char *const refused[] = {
        "Accept: text/html",
        "Accept: application/vnd.api+json;charset=utf-8",
        "Accept: application/vnd.api+json; charset=utf-8",
        "Accept: application/json",
    };
    problems[0] = '\0';
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        h_response *r = get(&f, LISTING, refused[i], NULL);
        if (r->status != 406)
            PROBLEM("%s: status %ld, expected 406", refused[i], r->status);
        else
            h_assert_error(r, 406, 0, "Not acceptable", NULL, "406");
        check_headers(r, true);
    }

    const char *const accepted[] = {
        "Accept: */*",
        "Accept:", /* removes the header: no Accept at all */
        "Accept: application/vnd.api+json",
        "Accept: application/vnd.api+json;q=0.9",
        "Accept: application/vnd.api+json; q=0.5",
        "Accept: application/*",
        "Accept: text/html, application/vnd.api+json",
        "Accept: text/html, */*;q=0.1",
        "Accept: application/vnd.api+json;charset=utf-8, application/vnd.api+json",
    };
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        h_response *r = get(&f, LISTING, accepted[i], NULL);
        if (r->status != 200) {
            PROBLEM("%s: status %ld, expected 200: %.300s", accepted[i], r->status, r->body);
            continue;
        }
        h_assert_listing(r, SEED_IDS, NULL);
        check_headers(r, true);
    }
    no_problems();
    stop_fx(&f);
}

static void test_media_type(void **state)
{
    fx f;
    start_fx(&f, NULL, NULL);
    const char *url = h_url(f.server, LISTING);

    const char *const bad[] = {"Content-Type: text/plain", "Content-Type: application/x-www-form-urlencoded",
                               "Content-Type: application/vnd.api+json; charset=utf-8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *hdrs[] = {"Host: example.org", "Accept: application/vnd.api+json", bad[i], NULL};
        h_response *r = h_http("GET", url, hdrs, "hello");
        if (r->status != 415) fail_msg("GET with a body and %s: status %ld, expected 415", bad[i], r->status);
        h_assert_error(r, 415, 0, "Unsupported media type", NULL, "415");
        check_headers(r, true);
    }
    /* The JSON:API media type itself is fine. */
    const char *hdrs[] = {"Host: example.org", "Accept: application/vnd.api+json",
                          "Content-Type: application/vnd.api+json", NULL};
    h_assert_listing(h_http("GET", url, hdrs, "{}"), SEED_IDS, NULL);
    stop_fx(&f);
}

static void test_unknown_path_and_method(void **state)
{
    fx f;
    start_fx(&f, NULL, NULL);
    const char *accept = "Accept: application/vnd.api+json";

    const char *const paths[] = {"/api/rest/admin/active-callz", "/nope", "/api/rest/admin", "/consoles"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        h_response *r = get(&f, paths[i], accept, NULL);
        h_assert_error(r, 404, 0, "Not found", NULL, "404");
        check_headers(r, true);
    }

    const char *const methods[] = {"POST", "PUT", "PATCH"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        const char *hdrs[] = {"Host: example.org", accept, NULL};
        h_response *r = h_http(methods[i], h_url(f.server, LISTING), hdrs, NULL);
        if (r->status != 405) fail_msg("%s %s: status %ld, expected 405", methods[i], LISTING, r->status);
        const char *allow = h_header_value(r, "allow");
        if (allow == NULL || !h_matches(allow, "(^|[ ,])GET($|[ ,])") ||
            h_matches(allow, h_strf("(^|[ ,])%s($|[ ,])", methods[i])))
            fail_msg("%s %s: Allow is \"%s\", expected GET and not %s", methods[i], LISTING,
                     allow ? allow : "<absent>", methods[i]);
        if (r->body_len > 0) {
            assert_true(h_error_count(r) >= 1);
            json_t *e = json_array_get(json_object_get(h_json(r), "errors"), 0);
            assert_string_equal(json_string_value(json_object_get(e, "status")), "405");
        }
        check_headers(r, r->body_len > 0);
    }
    stop_fx(&f);
}

static const char *first_self(const h_response *r)
{
    json_t *res = json_array_get(json_object_get(h_json(r), "data"), 0);
    return json_string_value(json_object_get(json_object_get(res, "links"), "self"));
}

static const char *first_rel_related(const h_response *r, const char *rel)
{
    json_t *res = json_array_get(json_object_get(h_json(r), "data"), 0);
    json_t *l = json_object_get(json_object_get(json_object_get(res, "relationships"), rel), "links");
    return json_string_value(json_object_get(l, "related"));
}

static void test_host(void **state)
{
    fx f;
    start_fx(&f, NULL, NULL);
    const char *url = h_url(f.server, LISTING);
    const char *accept = "Accept: application/vnd.api+json";

    /* docs/API.md: a Host that is not [A-Za-z0-9.-]+(:port)? or [v6](:port)? */
    const char *const bad[] = {"Host: exa_mple.org", "Host: example.org:abc", "Host: evil.org/x",
                               "Host: a b",          "Host: example.org:",    "Host: [zz]:80"};
    problems[0] = '\0';
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *hdrs[] = {bad[i], accept, NULL};
        h_response *r = h_http("GET", url, hdrs, NULL);
        if (r->status != 400) PROBLEM("%s: status %ld, expected 400", bad[i], r->status);
    }
    no_problems();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *hdrs[] = {bad[i], accept, NULL};
        h_response *r = h_http("GET", url, hdrs, NULL);
        assert_true(h_error_count(r) >= 1);
        json_t *e = json_array_get(json_object_get(h_json(r), "errors"), 0);
        assert_string_equal(json_string_value(json_object_get(e, "status")), "400");
        check_headers(r, true);
    }

    const char *const good[][2] = {
        {"Host: localhost:1234", "http://localhost:1234"},
        {"Host: [::1]:8080", "http://[::1]:8080"},
        {"Host: calls.example.com", "http://calls.example.com"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        const char *hdrs[] = {good[i][0], accept, NULL};
        h_response *r = h_http("GET", url, hdrs, NULL);
        h_assert_listing(r, SEED_IDS, NULL);
        assert_string_equal(first_self(r), h_strf("%s" LISTING "/" SEED_ID_1, good[i][1]));
        assert_string_equal(first_rel_related(r, "customer"),
                            h_strf("%s" LISTING "/" SEED_ID_1 "/customer", good[i][1]));
    }
    stop_fx(&f);
}

static void test_public_url(void **state)
{
    fx f;
    start_fx(&f, "--public-url", "https://calls.example.net:8443");
    h_response *r = h_listing(f.server, NULL); /* Host: example.org, ignored */
    h_assert_listing(r, SEED_IDS, NULL);
    assert_string_equal(first_self(r), "https://calls.example.net:8443" LISTING "/" SEED_ID_1);
    assert_string_equal(first_rel_related(r, "node"),
                        "https://calls.example.net:8443" LISTING "/" SEED_ID_1 "/node");
    json_t *res = json_array_get(json_object_get(h_json(r), "data"), 0);
    json_t *links =
        json_object_get(json_object_get(json_object_get(res, "relationships"), "dst-network"), "links");
    assert_string_equal(json_string_value(json_object_get(links, "self")),
                        "https://calls.example.net:8443" LISTING "/" SEED_ID_1 "/relationships/dst-network");
    stop_fx(&f);
}

/* The head limit (32 KiB): a 16 KB query and a 12 KB header line still
 * work (over it: it_frontdoor). */
static void test_request_size(void **state)
{
    fx f;
    start_fx(&f, NULL, NULL);
    char *ids = malloc(16001);
    assert_non_null(ids);
    for (int i = 0; i < 8000; i++) memcpy(ids + 2 * i, "1,", 2);
    ids[15999] = '\0';
    h_response *r = get(&f, h_strf(LISTING "?filter%%5Bnode_id_eq%%5D=%s", ids), NULL, NULL);
    assert_int_equal(r->status, 200);
    char *big = malloc(12001);
    assert_non_null(big);
    memset(big, 'a', 12000);
    big[12000] = '\0';
    r = get(&f, LISTING, h_strf("X-Padding: %s", big), NULL);
    assert_int_equal(r->status, 200);
    r = get(&f, LISTING, NULL, NULL);
    assert_int_equal(r->status, 200);
    free(ids);
    free(big);
    stop_fx(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_headers_and_etag, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_if_none_match, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_request_id, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_bad_queries, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_accept, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_media_type, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_path_and_method, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_host, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_public_url, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_request_size, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
