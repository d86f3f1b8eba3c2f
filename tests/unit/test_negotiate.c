/* test_negotiate: http/negotiate.c — the pure header decisions of
 * docs/API.md: Accept (absent, empty, wildcards, the JSON:API type with and
 * without parameters, q values incl. q=0, lists), Content-Type for request
 * bodies, Host validation for links (names, IPv4, [IPv6], ports, hostile
 * text, length), X-Request-Id sanity, and If-None-Match/ETag matching
 * (exact, weak, `*`, lists, mismatches). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http/negotiate.h"

#define YES(call)                                  \
    do {                                           \
        if (!(call)) fail_msg("false: %s", #call); \
    } while (0)
#define NO(call)                               \
    do {                                       \
        if (call) fail_msg("true: %s", #call); \
    } while (0)

/* ---- Accept ------------------------------------------------------------------------------ */

static void test_accept_absent_or_empty(void **state)
{
    YES(http_accept_ok(NULL));
    YES(http_accept_ok(""));
    YES(http_accept_ok("   "));
    YES(http_accept_ok("\t"));
}

static void test_accept_allowed(void **state)
{
    YES(http_accept_ok("*/*"));
    YES(http_accept_ok("application/*"));
    YES(http_accept_ok("application/vnd.api+json"));
    YES(http_accept_ok(JSONAPI_MEDIA_TYPE));
    YES(http_accept_ok("  application/vnd.api+json  "));
    YES(http_accept_ok("APPLICATION/VND.API+JSON"));
    YES(http_accept_ok("Application/*"));
    /* a q parameter is allowed */
    YES(http_accept_ok("application/vnd.api+json; q=0.5"));
    YES(http_accept_ok("application/vnd.api+json;q=0.5"));
    YES(http_accept_ok("application/vnd.api+json ; q=1"));
    YES(http_accept_ok("application/vnd.api+json;q=1.0"));
    YES(http_accept_ok("application/vnd.api+json;Q=0.9"));
    YES(http_accept_ok("application/vnd.api+json;q=0.001"));
    YES(http_accept_ok("*/*;q=0.1"));
    YES(http_accept_ok("application/*; q=0.2"));
    /* what curl and browsers send */
    YES(http_accept_ok("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
    YES(http_accept_ok("application/json, text/plain, */*"));
}

static void test_accept_refused(void **state)
{
    NO(http_accept_ok("text/html"));
    NO(http_accept_ok("application/json"));
    NO(http_accept_ok("text/*"));
    NO(http_accept_ok("application/xml"));
    NO(http_accept_ok("application/vnd.api+jsonx"));
    NO(http_accept_ok("application/vnd.api+json2"));
    NO(http_accept_ok("xapplication/vnd.api+json"));
    NO(http_accept_ok("vnd.api+json"));
    NO(http_accept_ok("*"));
    NO(http_accept_ok("garbage"));
    /* the JSON:API type with a media type parameter other than q */
    NO(http_accept_ok("application/vnd.api+json; charset=utf-8"));
    NO(http_accept_ok("application/vnd.api+json;charset=utf-8"));
    NO(http_accept_ok("application/vnd.api+json; ext=\"https://jsonapi.org/ext/atomic\""));
    NO(http_accept_ok("application/vnd.api+json;profile=x"));
    NO(http_accept_ok("application/vnd.api+json;qs=1"));
    NO(http_accept_ok("application/vnd.api+json;q=0.5;charset=utf-8"));
    NO(http_accept_ok("application/vnd.api+json;charset=utf-8;q=0.5"));
}

static void test_accept_event_stream(void **state)
{
    (void)state;
    YES(http_accept_event_stream(NULL));
    YES(http_accept_event_stream(""));
    YES(http_accept_event_stream("text/event-stream"));
    YES(http_accept_event_stream("Text/Event-Stream; charset=utf-8"));
    YES(http_accept_event_stream("text/*"));
    YES(http_accept_event_stream("*/*"));
    YES(http_accept_event_stream("application/json, text/event-stream;q=0.5"));
    NO(http_accept_event_stream("text/event-stream;q=0"));
    NO(http_accept_event_stream("application/vnd.api+json"));
    NO(http_accept_event_stream("application/*"));
    NO(http_accept_event_stream("text/html"));
    NO(http_accept_event_stream("text/event-streamx"));
}

static void test_accept_q_zero(void **state)
{
    /* q=0 means "not acceptable" */
    NO(http_accept_ok("application/vnd.api+json;q=0"));
    NO(http_accept_ok("application/vnd.api+json; q=0"));
    NO(http_accept_ok("application/vnd.api+json;q=0.0"));
    NO(http_accept_ok("application/vnd.api+json;q=0.000"));
    NO(http_accept_ok("application/vnd.api+json; Q = 0"));
    NO(http_accept_ok("*/*;q=0"));
    NO(http_accept_ok("application/*;q=0"));
    NO(http_accept_ok("text/html, application/vnd.api+json;q=0"));
    NO(http_accept_ok("application/vnd.api+json;q=0, text/html"));
    /* a tab after the 0 is whitespace as a space is (fuzz/fuzz_negotiate.c
     * found "q=0<TAB>" read as a q above 0) */
    NO(http_accept_ok("application/vnd.api+json;q=0\t"));
    NO(http_accept_ok("application/vnd.api+json ;q=0\t,application/json"));
    NO(http_accept_ok("*/*; q=0.0\t ; x=y"));
}

static void test_accept_lists(void **state)
{
    YES(http_accept_ok("text/html, application/vnd.api+json"));
    YES(http_accept_ok("text/html,application/vnd.api+json"));
    YES(http_accept_ok("application/vnd.api+json; charset=utf-8, application/vnd.api+json"));
    YES(http_accept_ok("application/vnd.api+json; charset=utf-8, */*"));
    YES(http_accept_ok("text/html;q=0.9, application/vnd.api+json;q=0.1"));
    YES(http_accept_ok(", application/vnd.api+json"));
    YES(http_accept_ok("application/vnd.api+json,"));
    YES(http_accept_ok("text/html, */*;q=0.1"));
    NO(http_accept_ok("text/html, application/json"));
    NO(http_accept_ok("application/vnd.api+json; charset=utf-8, text/html"));
    NO(http_accept_ok("text/html, application/vnd.api+json;charset=utf-8"));
    NO(http_accept_ok("text/plain;q=0.5, application/xml"));
    NO(http_accept_ok(",,,"));
    NO(http_accept_ok(" , "));
}

/* ---- Content-Type ---------------------------------------------------------------------------- */

static void test_content_type(void **state)
{
    YES(http_content_type_is("application/vnd.api+json", JSONAPI_MEDIA_TYPE));
    YES(http_content_type_is("Application/Vnd.Api+Json", JSONAPI_MEDIA_TYPE));
    YES(http_content_type_is(" application/vnd.api+json ", JSONAPI_MEDIA_TYPE));
    NO(http_content_type_is(NULL, JSONAPI_MEDIA_TYPE));
    NO(http_content_type_is("", JSONAPI_MEDIA_TYPE));
    NO(http_content_type_is("application/json", JSONAPI_MEDIA_TYPE));
    NO(http_content_type_is("text/plain", JSONAPI_MEDIA_TYPE));
    NO(http_content_type_is("application/x-www-form-urlencoded", JSONAPI_MEDIA_TYPE));
    NO(http_content_type_is("multipart/form-data; boundary=x", JSONAPI_MEDIA_TYPE));
    NO(http_content_type_is("application/vnd.api+jsonx", JSONAPI_MEDIA_TYPE));
    NO(http_content_type_is("application/vnd.api+json,", JSONAPI_MEDIA_TYPE));
    /* JSON:API forbids media type parameters */
    NO(http_content_type_is("application/vnd.api+json; charset=utf-8", JSONAPI_MEDIA_TYPE));
    NO(http_content_type_is("application/vnd.api+json;ext=x", JSONAPI_MEDIA_TYPE));
    NO(http_content_type_is("application/vnd.api+json;", JSONAPI_MEDIA_TYPE));
    /* application/json (POST /auth) may say charset=utf-8, nothing else */
    YES(http_content_type_is("application/json", "application/json"));
    YES(http_content_type_is("application/json; charset=utf-8", "application/json"));
    YES(http_content_type_is("application/json;charset=UTF-8", "application/json"));
    YES(http_content_type_is("APPLICATION/JSON; CHARSET=utf-8", "application/json"));
    NO(http_content_type_is("application/json; charset=latin1", "application/json"));
    NO(http_content_type_is("application/json; charset=utf-8; x=y", "application/json"));
    NO(http_content_type_is("application/json; foo=bar", "application/json"));
    NO(http_content_type_is("application/json; charset=utf-16", "application/json"));
    NO(http_content_type_is("application/vnd.api+json", "application/json"));
    NO(http_content_type_is("text/json", "application/json"));
}

/* ---- Host ---------------------------------------------------------------------------------- */

static void test_host_valid(void **state)
{
    YES(http_host_valid("example.org"));
    YES(http_host_valid("example.org:8080"));
    YES(http_host_valid("EXAMPLE.ORG"));
    YES(http_host_valid("localhost"));
    YES(http_host_valid("a"));
    YES(http_host_valid("xn--bcher-kva.example"));
    YES(http_host_valid("my-host.internal:1"));
    YES(http_host_valid("127.0.0.1"));
    YES(http_host_valid("127.0.0.1:3000"));
    YES(http_host_valid("[::1]:80"));
    YES(http_host_valid("[::1]"));
    YES(http_host_valid("[2001:db8::1]:65535"));
    YES(http_host_valid("[::ffff:192.0.2.1]"));
    YES(http_host_valid("[2001:0DB8:0000:0000:0000:FF00:0042:8329]:443"));
    char max[256];
    memset(max, 'a', 255);
    max[255] = '\0';
    YES(http_host_valid(max));
}

static void test_host_refused(void **state)
{
    NO(http_host_valid(NULL));
    NO(http_host_valid(""));
    NO(http_host_valid("a b"));
    NO(http_host_valid("x\"y"));
    NO(http_host_valid("x\\y"));
    NO(http_host_valid("host:port:extra"));
    NO(http_host_valid("host:80:80"));
    NO(http_host_valid("host:123456"));
    NO(http_host_valid("host:"));
    NO(http_host_valid(":80"));
    NO(http_host_valid("host:8a"));
    NO(http_host_valid("host:-1"));
    NO(http_host_valid("host:+80"));
    NO(http_host_valid("host: 80"));
    NO(http_host_valid("[]"));
    NO(http_host_valid("[]:80"));
    NO(http_host_valid("[::1"));
    NO(http_host_valid("::1"));
    NO(http_host_valid("[::1]x"));
    NO(http_host_valid("[::1]:"));
    NO(http_host_valid("[::1]:80:80"));
    NO(http_host_valid("[g::1]"));
    NO(http_host_valid("[::1%eth0]"));
    NO(http_host_valid("[[::1]]"));
    /* hex digits, colons and dots that are no IPv6 address, and ports of
     * more than 5 digits (fuzz/fuzz_host.c, against docs/API.md's grammar) */
    NO(http_host_valid("[..]"));
    NO(http_host_valid("[1]"));
    NO(http_host_valid("[ab]:80"));
    NO(http_host_valid("[1:2:3]"));
    NO(http_host_valid("[::1::2]"));
    NO(http_host_valid("[1.2.3.4]"));
    NO(http_host_valid("host:000080"));
    NO(http_host_valid("[::1]:000080"));
    NO(http_host_valid("example.org/path"));
    NO(http_host_valid("example.org/"));
    NO(http_host_valid("user@example.org"));
    NO(http_host_valid("user:pw@example.org"));
    NO(http_host_valid("example.org?x=1"));
    NO(http_host_valid("example.org#f"));
    NO(http_host_valid("exa\tmple.org"));
    NO(http_host_valid("example.org\r\nX-Injected: 1"));
    NO(http_host_valid(" example.org"));
    NO(http_host_valid("example.org "));
    NO(http_host_valid("<script>"));
    NO(http_host_valid("\xc3\xa9.org"));
    NO(http_host_valid("a%20b"));
    NO(http_host_valid("evil.org\\@good.org"));
    /* API.md: names are [A-Za-z0-9.-]+ */
    NO(http_host_valid("my_service"));
    NO(http_host_valid("my_service:8080"));
    char long_host[301];
    memset(long_host, 'a', 300);
    long_host[300] = '\0';
    NO(http_host_valid(long_host));
    char just_over[257];
    memset(just_over, 'a', 256);
    just_over[256] = '\0';
    NO(http_host_valid(just_over));
}

/* ---- X-Request-Id ------------------------------------------------------------------------------- */

static void test_request_id(void **state)
{
    YES(http_request_id_sane("7e0d1478-26f7-4425-baae-334dea4633fd"));
    YES(http_request_id_sane("a"));
    YES(http_request_id_sane("A.b_c-9"));
    YES(http_request_id_sane("..."));
    char id[202];
    memset(id, 'x', 201);
    id[200] = '\0';
    YES(http_request_id_sane(id)); /* 200: the limit */
    id[200] = 'x';
    id[201] = '\0';
    NO(http_request_id_sane(id)); /* 201 */
    NO(http_request_id_sane(NULL));
    NO(http_request_id_sane(""));
    NO(http_request_id_sane("a b"));
    NO(http_request_id_sane("a\nb"));
    NO(http_request_id_sane("a\r\nX-Evil: 1"));
    NO(http_request_id_sane("a/b"));
    NO(http_request_id_sane("a\"b"));
    NO(http_request_id_sane("a:b"));
    NO(http_request_id_sane("a;b"));
    NO(http_request_id_sane("a,b"));
    NO(http_request_id_sane("a=b"));
    NO(http_request_id_sane("a+b"));
    NO(http_request_id_sane("\xc3\xa9"));
    NO(http_request_id_sane("id\x7f"));
}

/* ---- ETag ------------------------------------------------------------------------------------ */

#define ETAG "W/\"3ceb9a2fc07e8c6cb8176e8470e75f13\""
#define ETAG_BARE "\"3ceb9a2fc07e8c6cb8176e8470e75f13\""

static void test_etag_matches(void **state)
{
    YES(http_etag_matches(ETAG, ETAG));      /* exact */
    YES(http_etag_matches(ETAG_BARE, ETAG)); /* weak comparison */
    YES(http_etag_matches(ETAG, ETAG_BARE));
    YES(http_etag_matches(ETAG_BARE, ETAG_BARE));
    YES(http_etag_matches("*", ETAG));
    YES(http_etag_matches("  *  ", ETAG));
    YES(http_etag_matches(" " ETAG " ", ETAG));
    /* lists */
    YES(http_etag_matches("\"x\", " ETAG, ETAG));
    YES(http_etag_matches(ETAG ", \"x\"", ETAG));
    YES(http_etag_matches("W/\"a\",W/\"b\"," ETAG, ETAG));
    YES(http_etag_matches(" W/\"a\" ,  " ETAG_BARE " ", ETAG));
    YES(http_etag_matches("W/\"a\", *", ETAG));
}

static void test_etag_mismatch(void **state)
{
    NO(http_etag_matches(NULL, ETAG));
    NO(http_etag_matches(ETAG, NULL));
    NO(http_etag_matches("", ETAG));
    NO(http_etag_matches("   ", ETAG));
    NO(http_etag_matches(",", ETAG));
    NO(http_etag_matches(",,,", ETAG));
    NO(http_etag_matches("W/\"other\"", ETAG));
    NO(http_etag_matches("W/\"3ceb9a2fc07e8c6cb8176e8470e75f1\"", ETAG));   /* one char short */
    NO(http_etag_matches("W/\"3ceb9a2fc07e8c6cb8176e8470e75f133\"", ETAG)); /* one char long */
    NO(http_etag_matches("W/\"3CEB9A2FC07E8C6CB8176E8470E75F13\"", ETAG));  /* case-sensitive */
    NO(http_etag_matches("3ceb9a2fc07e8c6cb8176e8470e75f13", ETAG));        /* unquoted */
    NO(http_etag_matches("w/\"3ceb9a2fc07e8c6cb8176e8470e75f13\"", ETAG));  /* W/ is case-sensitive */
    NO(http_etag_matches("W/", ETAG));
    NO(http_etag_matches("W/W/\"3ceb9a2fc07e8c6cb8176e8470e75f13\"", ETAG));
    NO(http_etag_matches("\"a\", \"b\"", ETAG));
    NO(http_etag_matches("**", ETAG));
    NO(http_etag_matches("*x", ETAG));
    NO(http_etag_matches(ETAG "x", ETAG));
    NO(http_etag_matches("x" ETAG, ETAG));
}

static void test_accepts_gzip(void **state)
{
    YES(http_accepts_gzip("gzip"));
    YES(http_accepts_gzip("GZIP"));
    YES(http_accepts_gzip("x-gzip"));
    YES(http_accepts_gzip("deflate, gzip;q=0.5"));
    YES(http_accepts_gzip("br;q=1.0, gzip ; q=0.001"));
    YES(http_accepts_gzip("*"));
    YES(http_accepts_gzip("identity, *;q=0.1"));
    NO(http_accepts_gzip(NULL));
    NO(http_accepts_gzip(""));
    NO(http_accepts_gzip("identity"));
    NO(http_accepts_gzip("gzip;q=0"));
    NO(http_accepts_gzip("gzip;q=0, *")); /* named gzip wins over the wildcard */
    NO(http_accepts_gzip("*;q=0"));
    NO(http_accepts_gzip("gzipx, xgzip"));
    NO(http_accepts_gzip("gzip;q=nan"));
    NO(http_accepts_gzip("gzip;q="));
    /* `*` twice: the best q counts, whatever the order, as for gzip
     * (fuzz/fuzz_negotiate.c found the last one counting) */
    YES(http_accepts_gzip("*;q=0.5, *;q=0"));
    YES(http_accepts_gzip("*;q=0, *;q=0.5"));
    YES(http_accepts_gzip("*;q=1e0, br, *;q=junk"));
    NO(http_accepts_gzip("*;q=0, *;q=0.000"));
}

static void test_max_age(void **state)
{
    (void)state;
    assert_int_equal(http_max_age(NULL), -1);
    assert_int_equal(http_max_age(""), -1);
    assert_int_equal(http_max_age("max-age=5"), 5);
    assert_int_equal(http_max_age("MAX-AGE=0"), 0);
    assert_int_equal(http_max_age("max-age=\"30\""), 30);
    assert_int_equal(http_max_age("  max-stale=10 ,max-age=7 , min-fresh=1"), 7);
    assert_int_equal(http_max_age("max-age=999999999"), 999999999);
    /* fresh: no directive, malformed, too long, negative, repeated */
    assert_int_equal(http_max_age("private"), -1);
    assert_int_equal(http_max_age("max-age"), -1);
    assert_int_equal(http_max_age("max-age="), -1);
    assert_int_equal(http_max_age("max-age=1000000000"), -1);
    assert_int_equal(http_max_age("max-age=-1"), -1);
    assert_int_equal(http_max_age("max-age=5s"), -1);
    assert_int_equal(http_max_age("max-age=1.5"), -1);
    assert_int_equal(http_max_age("max-age=5, max-age=5"), -1);
    assert_int_equal(http_max_age("max-ages=5"), -1);
    /* no-cache and no-store win wherever they stand */
    assert_int_equal(http_max_age("max-age=5, no-cache"), -1);
    assert_int_equal(http_max_age("no-store,max-age=5"), -1);
    assert_int_equal(http_max_age("max-age=5, no-cache=\"x\""), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_absent_or_empty), cmocka_unit_test(test_accept_allowed),
        cmocka_unit_test(test_accept_refused),         cmocka_unit_test(test_accept_q_zero),
        cmocka_unit_test(test_accept_event_stream),    cmocka_unit_test(test_accept_lists),
        cmocka_unit_test(test_content_type),           cmocka_unit_test(test_host_valid),
        cmocka_unit_test(test_host_refused),           cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_etag_matches),           cmocka_unit_test(test_etag_mismatch),
        cmocka_unit_test(test_accepts_gzip),           cmocka_unit_test(test_max_age),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
