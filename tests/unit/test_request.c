/* test_request: the request-head parser, percent-decoding, query splitting
 * and chunked bodies (http/request.h), case by case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"

static http_head head;

/* Parses text (copied); returns the result and fills status/used. */
static head_result parse(const char *text, size_t max, int *status, size_t *used)
{
    static char copy[70000];
    size_t n = strlen(text);
    assert_true(n < sizeof copy);
    memcpy(copy, text, n + 1);
    const char *detail = NULL;
    *status = 0;
    head_result r = http_parse_head(copy, n, max, &head, used, status, &detail);
    if (r == HEAD_ERROR) assert_non_null(detail);
    return r;
}

static int refused(const char *text)
{
    int st;
    size_t used;
    if (parse(text, 32768, &st, &used) != HEAD_ERROR) fail_msg("accepted: %s", text);
    return st;
}

static void test_ok(void **state)
{
    int st;
    size_t used;
    const char *req = "GET /a/b?x=1 HTTP/1.1\r\nHost: example.org\r\nX-Y:  v w \r\n\r\nBODY";
    assert_int_equal(parse(req, 32768, &st, &used), HEAD_OK);
    assert_int_equal(used, strlen(req) - 4);
    assert_string_equal(head.method, "GET");
    assert_string_equal(head.target, "/a/b?x=1");
    assert_int_equal(head.minor, 1);
    assert_int_equal(head.nheaders, 2);
    assert_string_equal(http_head_get(&head, "host", NULL), "example.org");
    assert_string_equal(http_head_get(&head, "X-Y", NULL), "v w");
    assert_true(head.keep_alive);
    assert_false(head.has_length);
    /* bare LF lines, HTTP/1.0 without keep-alive, leading empty lines */
    assert_int_equal(parse("\r\nGET / HTTP/1.0\nA: b\n\n", 32768, &st, &used), HEAD_OK);
    assert_false(head.keep_alive);
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 32768, &st, &used), HEAD_OK);
    assert_true(head.keep_alive);
    assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: x, close\r\n\r\n", 32768, &st, &used), HEAD_OK);
    assert_false(head.keep_alive);
    /* equal repeated lengths are one length */
    assert_int_equal(
        parse("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n", 32768, &st, &used),
        HEAD_OK);
    assert_true(head.has_length);
    assert_int_equal(head.content_length, 5);
    assert_int_equal(parse("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nExpect: 100-continue\r\n\r\n",
                           32768, &st, &used),
                     HEAD_OK);
    assert_true(head.chunked);
    assert_true(head.expect_continue);
    /* absolute-form: the authority stands for Host */
    assert_int_equal(parse("GET http://h.example:8080/p?q=1 HTTP/1.1\r\n\r\n", 32768, &st, &used), HEAD_OK);
    assert_string_equal(head.authority, "h.example:8080");
    assert_string_equal(head.target, "/p?q=1");
    assert_int_equal(parse("GET http://h?q HTTP/1.1\r\n\r\n", 32768, &st, &used), HEAD_OK);
    assert_string_equal(head.authority, "h");
    assert_string_equal(head.target, "/?q");
    assert_int_equal(parse("GET HTTPS://h HTTP/1.1\r\n\r\n", 32768, &st, &used), HEAD_OK);
    assert_string_equal(head.target, "/");
    assert_int_equal(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 32768, &st, &used), HEAD_OK);
    bool dup;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 32768, &st, &used), HEAD_OK);
    http_head_get(&head, "Host", &dup);
    assert_true(dup);
}

static void test_incomplete(void **state)
{
    int st;
    size_t used;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n", 32768, &st, &used), HEAD_INCOMPLETE);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n\r", 32768, &st, &used), HEAD_INCOMPLETE);
    assert_int_equal(parse("GET /xyz", 32768, &st, &used), HEAD_INCOMPLETE);
    assert_int_equal(parse("", 32768, &st, &used), HEAD_INCOMPLETE);
    /* limits: a line or a head that cannot end within max */
    assert_int_equal(parse("GET /aaaaaaaaaaaaaaaaaaaa", 16, &st, &used), HEAD_ERROR);
    assert_int_equal(st, 414);
    assert_int_equal(parse("GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 24, &st, &used),
                     HEAD_ERROR);
    assert_int_equal(st, 431);
    assert_int_equal(parse("GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n", 24, &st, &used),
                     HEAD_ERROR);
    assert_int_equal(st, 431);
}

static void test_refused(void **state)
{
    assert_int_equal(refused("GET / HTTP/1.1 x\r\n\r\n"), 400);
    assert_int_equal(refused("GET  / HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(refused("GET / HTTP/2.0\r\n\r\n"), 505);
    assert_int_equal(refused("GET / HTTP/1.10\r\n\r\n"), 400);
    assert_int_equal(refused("GET / http/1.1\r\n\r\n"), 400);
    assert_int_equal(refused("GET x HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(refused("GET http:/// HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(refused("G@T / HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(refused("GET / HTTP/1.1\r\nA : b\r\n\r\n"), 400);
    assert_int_equal(refused("GET / HTTP/1.1\r\n: b\r\n\r\n"), 400);
    assert_int_equal(refused("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"), 400);
    assert_int_equal(refused("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n"), 400);
    assert_int_equal(refused("GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n"), 400);
    assert_int_equal(refused("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400);
    assert_int_equal(refused("GET / HTTP/1.1\r\nContent-Length: 1,2\r\n\r\n"), 400);
    assert_int_equal(refused("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
    assert_int_equal(refused("GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"), 400);
    assert_int_equal(refused("GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
                     400);
    assert_int_equal(refused("GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
    assert_int_equal(
        refused("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
    assert_int_equal(refused("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
    char many[8000] = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 101; i++) strcat(many, "A: b\r\n");
    strcat(many, "\r\n");
    assert_int_equal(refused(many), 431);
    /* a NUL anywhere, even before the head is whole */
    char nul[] = "GET /a\0b HTTP/1.1\r\n\r\n";
    int st;
    size_t used;
    const char *detail;
    assert_int_equal(http_parse_head(nul, sizeof nul - 1, 32768, &head, &used, &st, &detail), HEAD_ERROR);
    char nul2[] = "GET /a HTTP/1.1\r\nX: a\0";
    assert_int_equal(http_parse_head(nul2, sizeof nul2 - 1, 32768, &head, &used, &st, &detail), HEAD_ERROR);
}

static void test_percent(void **state)
{
    char a[] = "/a%20b%2Fc+d";
    assert_true(http_percent_decode(a, false));
    assert_string_equal(a, "/a b/c+d");
    char b[] = "x+y%2B";
    assert_true(http_percent_decode(b, true));
    assert_string_equal(b, "x y+");
    char c[] = "a%00b", d[] = "a%zz", e[] = "a%4", f[] = "%";
    assert_false(http_percent_decode(c, false));
    assert_false(http_percent_decode(d, false));
    assert_false(http_percent_decode(e, false));
    assert_false(http_percent_decode(f, false));
}

static void test_query(void **state)
{
    query_param p[4];
    size_t n;
    char q[] = "a=1&&b&c=x%3Dy=z&filter%5Bk%5D=v+w&";
    assert_int_equal(http_parse_query(q, p, 4, &n), QUERY_OK);
    assert_int_equal(n, 4);
    assert_string_equal(p[0].key, "a");
    assert_string_equal(p[0].value, "1");
    assert_string_equal(p[1].key, "b");
    assert_string_equal(p[1].value, "");
    assert_string_equal(p[2].key, "c");
    assert_string_equal(p[2].value, "x=y=z");
    assert_string_equal(p[3].key, "filter[k]");
    assert_string_equal(p[3].value, "v w");
    char many[] = "a&b&c&d&e";
    assert_int_equal(http_parse_query(many, p, 4, &n), QUERY_TOO_MANY);
    char bad[] = "a=1%00";
    assert_int_equal(http_parse_query(bad, p, 4, &n), QUERY_MALFORMED);
}

/* Decodes text fed in pieces of `step` bytes; returns the result. */
static chunk_result dechunk(const char *text, size_t step, char *out, size_t *out_len)
{
    chunk_decoder d;
    chunk_decoder_init(&d);
    size_t len = strlen(text), at = 0;
    *out_len = 0;
    char tmp[256];
    chunk_result r = CHUNK_MORE;
    while (at < len && r == CHUNK_MORE) {
        size_t n = len - at < step ? len - at : step;
        memcpy(tmp, text + at, n);
        size_t used, produced;
        r = chunk_decode(&d, tmp, n, tmp, &used, &produced);
        memcpy(out + *out_len, tmp, produced);
        *out_len += produced;
        at += used;
        if (r == CHUNK_MORE) assert_int_equal(used, n);
    }
    return r;
}

static void test_chunked(void **state)
{
    const char *body = "5;name=v\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
    for (size_t step = 1; step <= strlen(body); step++) {
        char out[64];
        size_t n;
        assert_int_equal(dechunk(body, step, out, &n), CHUNK_DONE);
        assert_int_equal(n, 11);
        assert_memory_equal(out, "hello world", 11);
    }
    char out[64];
    size_t n;
    assert_int_equal(dechunk("0\n\n", 1, out, &n), CHUNK_DONE);
    assert_int_equal(dechunk("x\r\n", 1, out, &n), CHUNK_ERROR);
    assert_int_equal(dechunk("\r\n", 1, out, &n), CHUNK_ERROR);
    assert_int_equal(dechunk("3\r\nabcX", 1, out, &n), CHUNK_ERROR);
    assert_int_equal(dechunk("11111111111111111\r\n", 1, out, &n), CHUNK_ERROR);
    assert_int_equal(dechunk("1\r\na\r\n0\r\n\x01\r\n\r\n", 1, out, &n), CHUNK_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok),      cmocka_unit_test(test_incomplete), cmocka_unit_test(test_refused),
        cmocka_unit_test(test_percent), cmocka_unit_test(test_query),      cmocka_unit_test(test_chunked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
