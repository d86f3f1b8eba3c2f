/* test_buf: util/buf.c — the growable byte buffer (init, growth by doubling,
 * sticky out-of-memory, reset, steal), the integer writer buf_put_i64, the
 * JSON string escaper (quotes, backslash, control characters, valid UTF-8
 * kept verbatim, every byte of invalid UTF-8 → \ufffd, NUL bytes; output
 * always valid JSON, checked with jansson), its one-line variant for logs
 * (DEL, C1 controls, U+2028/U+2029 escaped too) and the URL path-segment encoder
 * (unreserved and `*` kept, everything unsafe → %XX, round trip of all 256
 * byte values), and the lengths both escapers report without writing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* Under AddressSanitizer a huge allocation aborts by default; let realloc
 * return NULL instead so the out-of-memory path can be exercised. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

/* ---- helpers --------------------------------------------------------------- */

/* The buffer's content as a NUL-terminated string (static storage). */
static const char *text(const buf *b)
{
    static char out[1 << 16];
    assert_true(b->len < sizeof out);
    if (b->len) memcpy(out, b->data, b->len);
    out[b->len] = '\0';
    return out;
}

static void assert_buf_eq(const buf *b, const char *expect, size_t n)
{
    if (b->len != n || (n && memcmp(b->data, expect, n) != 0))
        fail_msg("buffer is '%.*s' (%zu bytes), want '%.*s' (%zu bytes)", (int)b->len, b->data ? b->data : "",
                 b->len, (int)n, expect, n);
}
#define ASSERT_BUF(b, lit) assert_buf_eq((b), (lit), sizeof(lit) - 1)

/* JSON-quotes n bytes of s and compares with the expected literal. */
static void json_is(const char *s, size_t n, const char *expect)
{
    buf b;
    buf_init(&b);
    buf_put_json_str(&b, s, n);
    assert_false(b.oom);
    assert_buf_eq(&b, expect, strlen(expect));
    buf_free(&b);
}
#define JSON_IS(lit, expect) json_is((lit), sizeof(lit) - 1, (expect))

static void url_is(const char *s, size_t n, const char *expect)
{
    buf b;
    buf_init(&b);
    buf_put_url_segment(&b, s, n);
    assert_buf_eq(&b, expect, strlen(expect));
    buf_free(&b);
}
#define URL_IS(lit, expect) url_is((lit), sizeof(lit) - 1, (expect))

/* The escaped output parses as a JSON string; returns the decoded bytes. */
static json_t *parse_json_string(const buf *b)
{
    json_error_t err;
    json_t *j = json_loadb(b->data, b->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!j) fail_msg("not valid JSON (%s): %.*s", err.text, (int)b->len, b->data);
    assert_true(json_is_string(j));
    return j;
}

/* ---- basics ----------------------------------------------------------------- */

static void test_init_empty(void **state)
{
    buf b;
    memset(&b, 0x5A, sizeof b);
    buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_false(b.oom);
    buf_free(&b); /* freeing an untouched buffer is fine */
    assert_null(b.data);
    buf_free(&b); /* and twice */
}

static void test_append_puts_putc_printf(void **state)
{
    buf b;
    buf_init(&b);
    buf_append(&b, "abc", 3);
    buf_append(&b, "zzz", 0); /* nothing */
    buf_append(&b, NULL, 0);  /* nothing, and no crash */
    buf_puts(&b, "def");
    buf_puts(&b, "");
    buf_putc(&b, 'g');
    buf_putc(&b, '\0'); /* a NUL byte is data like any other */
    buf_printf(&b, "[%d|%s|%05.1f]", -12, "x", 2.5);
    ASSERT_BUF(&b, "abcdefg\0[-12|x|002.5]");
    assert_true(b.cap > b.len);
    buf_free(&b);
}

static void test_printf_long(void **state)
{
    /* longer than printf's 256-byte fast path */
    char big[1000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    buf b;
    buf_init(&b);
    buf_puts(&b, "<<");
    buf_printf(&b, "%s|%d", big, 77);
    assert_int_equal(b.len, 2 + 999 + 3);
    assert_memory_equal(b.data, "<<", 2);
    for (size_t i = 2; i < 2 + 999; i++) assert_int_equal(b.data[i], 'q');
    assert_memory_equal(b.data + 2 + 999, "|77", 3);
    /* exactly at the 255/256 boundary of the fast path */
    buf_reset(&b);
    buf_printf(&b, "%.*s", 255, big);
    assert_int_equal(b.len, 255);
    buf_reset(&b);
    buf_printf(&b, "%.*s", 256, big);
    assert_int_equal(b.len, 256);
    for (size_t i = 0; i < 256; i++) assert_int_equal(b.data[i], 'q');
    buf_free(&b);
}

static void test_growth_doubles_and_keeps_data(void **state)
{
    buf b;
    buf_init(&b);
    size_t last_cap = 0;
    int growths = 0;
    for (int i = 0; i < 100000; i++) {
        buf_putc(&b, (char)('a' + i % 26));
        assert_false(b.oom);
        assert_true(b.cap > b.len); /* room for a NUL is always kept */
        if (b.cap != last_cap) {
            if (last_cap) assert_int_equal(b.cap, last_cap * 2); /* doubles */
            last_cap = b.cap;
            growths++;
        }
    }
    assert_int_equal(b.len, 100000);
    for (int i = 0; i < 100000; i++) assert_int_equal(b.data[i], 'a' + i % 26);
    /* amortised O(1): a handful of reallocations, not one per byte */
    assert_true(growths < 20);
    buf_free(&b);
}

static void test_big_append_and_reserve(void **state)
{
    size_t n = 3u << 20; /* 3 MiB in one append */
    char *src = malloc(n);
    assert_non_null(src);
    for (size_t i = 0; i < n; i++) src[i] = (char)(i * 7);
    buf b;
    buf_init(&b);
    buf_putc(&b, '!');
    buf_append(&b, src, n);
    assert_false(b.oom);
    assert_int_equal(b.len, n + 1);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[0], '!');
    assert_memory_equal(b.data + 1, src, n);

    /* reserve: afterwards `extra` bytes fit without another reallocation */
    buf_reset(&b);
    assert_true(buf_reserve(&b, 10));
    assert_true(b.cap - b.len > 10);
    size_t cap = b.cap;
    char *data = b.data;
    assert_true(buf_reserve(&b, cap - b.len - 1));
    assert_int_equal(b.cap, cap);
    assert_ptr_equal(b.data, data);
    free(src);
    buf_free(&b);
}

static void test_reset_keeps_memory(void **state)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "hello world");
    char *data = b.data;
    size_t cap = b.cap;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    buf_puts(&b, "xy");
    ASSERT_BUF(&b, "xy");
    buf_free(&b);
}

static void test_steal(void **state)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "payload");
    char *s = buf_steal(&b);
    assert_non_null(s);
    assert_string_equal(s, "payload"); /* NUL-terminated */
    /* b is empty and reusable afterwards */
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_false(b.oom);
    buf_puts(&b, "again");
    ASSERT_BUF(&b, "again");
    free(s);
    buf_free(&b);

    /* stealing from a never-used buffer gives an empty string, not NULL */
    buf e;
    buf_init(&e);
    char *z = buf_steal(&e);
    assert_non_null(z);
    assert_string_equal(z, "");
    free(z);

    /* a buffer filled exactly to capacity still gets its NUL */
    buf f;
    buf_init(&f);
    buf_putc(&f, 'x');
    while (f.len + 1 < f.cap) buf_putc(&f, 'x');
    size_t len = f.len;
    char *t = buf_steal(&f);
    assert_int_equal(strlen(t), len);
    free(t);
}

static void test_oom_is_sticky(void **state)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "keep");
    /* an allocation that cannot succeed */
    assert_false(buf_reserve(&b, SIZE_MAX / 2));
    assert_true(b.oom);
    /* further appends are ignored, the content is untouched */
    buf_puts(&b, "more");
    buf_putc(&b, 'x');
    buf_put_i64(&b, 5);
    buf_printf(&b, "%d", 6);
    buf_put_json_str(&b, "s", 1);
    buf_put_url_segment(&b, "u", 1);
    assert_true(b.oom);
    ASSERT_BUF(&b, "keep");
    assert_false(buf_reserve(&b, 1));
    assert_null(buf_steal(&b));
    /* reset clears the condition */
    buf_reset(&b);
    assert_false(b.oom);
    buf_puts(&b, "ok");
    ASSERT_BUF(&b, "ok");
    buf_free(&b);

    /* a flag set by anyone is honoured the same way */
    buf c;
    buf_init(&c);
    c.oom = true;
    buf_puts(&c, "x");
    assert_int_equal(c.len, 0);
    buf_free(&c);
}

/* Sizes whose `len + extra + 1` wraps around are refused (and set oom),
 * never "reserved" in a small buffer. */
static void test_reserve_size_overflow(void **state)
{
    buf b;
    buf_init(&b);
    bool ok1 = buf_reserve(&b, SIZE_MAX);
    bool oom1 = b.oom;
    buf_free(&b);

    buf c;
    buf_init(&c);
    buf_puts(&c, "abc");
    bool ok2 = buf_reserve(&c, SIZE_MAX);
    bool oom2 = c.oom;
    buf_free(&c);

    buf d;
    buf_init(&d);
    buf_puts(&d, "abc");
    bool ok3 = buf_reserve(&d, SIZE_MAX - 3); /* len + extra + 1 == 2^64 + 1 */
    bool oom3 = d.oom;
    buf_puts(&d, "x");
    size_t len3 = d.len;
    buf_free(&d);

    /* results are checked after freeing, so a failure leaks nothing */
    assert_false(ok1);
    assert_true(oom1);
    assert_false(ok2);
    assert_true(oom2);
    assert_false(ok3);
    assert_true(oom3);
    assert_int_equal(len3, 3);
}

/* ---- integers ---------------------------------------------------------------- */

static void i64_is(int64_t v, const char *expect)
{
    buf b;
    buf_init(&b);
    buf_putc(&b, '<');
    buf_put_i64(&b, v);
    buf_putc(&b, '>');
    char want[40];
    snprintf(want, sizeof want, "<%s>", expect);
    assert_string_equal(text(&b), want);
    buf_free(&b);
}

static void test_put_i64(void **state)
{
    i64_is(0, "0");
    i64_is(1, "1");
    i64_is(-1, "-1");
    i64_is(9, "9");
    i64_is(10, "10");
    i64_is(-10, "-10");
    i64_is(42, "42");
    i64_is(-42, "-42");
    i64_is(1000000, "1000000");
    i64_is(1767357798, "1767357798");
    i64_is(INT32_MAX, "2147483647");
    i64_is(INT32_MIN, "-2147483648");
    i64_is(INT64_MAX, "9223372036854775807");
    i64_is(INT64_MIN, "-9223372036854775808");
    i64_is(INT64_MIN + 1, "-9223372036854775807");
    /* agrees with printf over a spread of values */
    char want[32];
    for (int64_t v = 1; v > 0 && v < INT64_MAX / 3; v = v * 3 + 1) {
        snprintf(want, sizeof want, "%lld", (long long)v);
        i64_is(v, want);
        snprintf(want, sizeof want, "%lld", (long long)-v);
        i64_is(-v, want);
    }
}

/* ---- JSON strings ----------------------------------------------------------- */

static void test_json_plain_and_empty(void **state)
{
    JSON_IS("", "\"\"");
    JSON_IS("abc", "\"abc\"");
    JSON_IS("with space / slash ' apostrophe ~ <> &", "\"with space / slash ' apostrophe ~ <> &\"");
    JSON_IS("\x7f", "\"\x7f\""); /* DEL is legal in JSON */

    /* without quotes, appended to what is there */
    buf b;
    buf_init(&b);
    buf_puts(&b, "[");
    buf_put_json_chars(&b, "a\"b", 3);
    buf_puts(&b, "]");
    ASSERT_BUF(&b, "[a\\\"b]");
    buf_reset(&b);
    buf_put_json_chars(&b, "", 0);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_json_quotes_backslash(void **state)
{
    JSON_IS("\"", "\"\\\"\"");
    JSON_IS("\\", "\"\\\\\"");
    JSON_IS("a\"b\\c", "\"a\\\"b\\\\c\"");
    JSON_IS("\"\"\\\\", "\"\\\"\\\"\\\\\\\\\"");
    JSON_IS("\\u0041", "\"\\\\u0041\""); /* text that looks like an escape stays text */
}

static void test_json_control_chars(void **state)
{
    JSON_IS("\n", "\"\\n\"");
    JSON_IS("\r", "\"\\r\"");
    JSON_IS("\t", "\"\\t\"");
    JSON_IS("\b", "\"\\b\"");
    JSON_IS("\f", "\"\\f\"");
    JSON_IS("\x01", "\"\\u0001\"");
    JSON_IS("\x07", "\"\\u0007\"");
    JSON_IS("\x0b", "\"\\u000b\"");
    JSON_IS("\x1b[31m", "\"\\u001b[31m\"");
    JSON_IS("\x1f", "\"\\u001f\"");
    JSON_IS("a\nb\tc\r\n", "\"a\\nb\\tc\\r\\n\"");
    /* every control character: valid JSON decoding back to itself */
    for (int c = 0; c < 0x20; c++) {
        buf b;
        buf_init(&b);
        char ch = (char)c;
        buf_put_json_str(&b, &ch, 1);
        for (size_t i = 0; i < b.len; i++)
            assert_true((unsigned char)b.data[i] >= 0x20); /* no raw control bytes out */
        json_t *j = parse_json_string(&b);
        assert_int_equal(json_string_length(j), 1);
        assert_int_equal(json_string_value(j)[0], c);
        json_decref(j);
        buf_free(&b);
    }
}

static void test_json_nul_bytes(void **state)
{
    JSON_IS("\0", "\"\\u0000\"");
    JSON_IS("a\0b", "\"a\\u0000b\"");
    JSON_IS("\0\0", "\"\\u0000\\u0000\"");
    /* the length, not a terminator, decides what is written */
    json_is("abc\0def", 7, "\"abc\\u0000def\"");
    json_is("abcdef", 3, "\"abc\"");
}

static void test_json_valid_utf8_verbatim(void **state)
{
    JSON_IS("\xc2\x80", "\"\xc2\x80\"");                 /* U+0080, smallest 2-byte */
    JSON_IS("caf\xc3\xa9", "\"caf\xc3\xa9\"");           /* é */
    JSON_IS("\xdf\xbf", "\"\xdf\xbf\"");                 /* U+07FF */
    JSON_IS("\xe0\xa0\x80", "\"\xe0\xa0\x80\"");         /* U+0800, smallest 3-byte */
    JSON_IS("\xe2\x82\xac", "\"\xe2\x82\xac\"");         /* € */
    JSON_IS("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");         /* U+D7FF, just below surrogates */
    JSON_IS("\xee\x80\x80", "\"\xee\x80\x80\"");         /* U+E000, just above */
    JSON_IS("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");         /* U+FFFF */
    JSON_IS("\xe2\x80\xa8", "\"\xe2\x80\xa8\"");         /* U+2028 is legal JSON */
    JSON_IS("\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\""); /* U+10000, smallest 4-byte */
    JSON_IS("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""); /* 😀 */
    JSON_IS("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF, largest */
    JSON_IS("\xd0\x9f\xd1\x80\xd0\xb8\"\xd0\xb2\n", "\"\xd0\x9f\xd1\x80\xd0\xb8\\\"\xd0\xb2\\n\"");
}

#define FFFD "\\ufffd"

static void line_is(const char *s, size_t n, const char *expect)
{
    buf b;
    buf_init(&b);
    buf_put_json_line_str(&b, s, n);
    assert_false(b.oom);
    if (b.len != strlen(expect) || memcmp(b.data, expect, b.len) != 0)
        fail_msg("line string of %zu bytes: got %.*s, want %s", n, (int)b.len, b.data, expect);
    buf_free(&b);
}

#define LINE_IS(lit, expect) line_is((lit), sizeof(lit) - 1, (expect))

/* The log's variant: what a document may carry raw, a log line may not. */
static void test_json_line_str(void **state)
{
    LINE_IS("a\x7f"
            "b",
            "\"a\\u007fb\"");
    LINE_IS("\xc2\x80", "\"\\u0080\"");
    LINE_IS("\xc2\x85", "\"\\u0085\"");
    LINE_IS("\xc2\x9f\xc2\xa0", "\"\\u009f\xc2\xa0\""); /* C1 ends at U+009F */
    LINE_IS("\xe2\x80\xa7\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xaa", "\"\xe2\x80\xa7\\u2028\\u2029\xe2\x80\xaa\"");
    LINE_IS("\n\"\\\x01", "\"\\n\\\"\\\\\\u0001\"");
    LINE_IS("\xff\xe2\x80", "\"" FFFD FFFD FFFD "\"");
    LINE_IS("caf\xc3\xa9 \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
}

static void test_json_invalid_utf8(void **state)
{
    /* lone continuation bytes and bytes that never start a sequence */
    JSON_IS("\x80", "\"" FFFD "\"");
    JSON_IS("\xbf", "\"" FFFD "\"");
    JSON_IS("a\x80z", "\"a" FFFD "z\"");
    JSON_IS("\xfe", "\"" FFFD "\"");
    JSON_IS("\xff", "\"" FFFD "\"");
    JSON_IS("\xf5\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""); /* above U+10FFFF lead */
    JSON_IS("\xf8\x88\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD FFFD "\"");
    /* overlong encodings: every byte replaced */
    JSON_IS("\xc0\x80", "\"" FFFD FFFD "\""); /* overlong NUL */
    JSON_IS("\xc0\xaf", "\"" FFFD FFFD "\""); /* overlong '/' */
    JSON_IS("\xc1\xbf", "\"" FFFD FFFD "\"");
    JSON_IS("\xe0\x80\x80", "\"" FFFD FFFD FFFD "\"");
    JSON_IS("\xe0\x9f\xbf", "\"" FFFD FFFD FFFD "\""); /* overlong U+07FF */
    JSON_IS("\xf0\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
    JSON_IS("\xf0\x8f\xbf\xbf", "\"" FFFD FFFD FFFD FFFD "\""); /* overlong U+FFFF */
    /* UTF-16 surrogates encoded in UTF-8 (CESU) */
    JSON_IS("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\""); /* U+D800 */
    JSON_IS("\xed\xbf\xbf", "\"" FFFD FFFD FFFD "\""); /* U+DFFF */
    JSON_IS("\xed\xa0\xbd\xed\xb8\x80", "\"" FFFD FFFD FFFD FFFD FFFD FFFD "\"");
    /* above U+10FFFF */
    JSON_IS("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
    /* truncated sequences, at the end and before other text */
    JSON_IS("\xc3", "\"" FFFD "\"");
    JSON_IS("\xc3"
            "A",
            "\"" FFFD "A\"");
    JSON_IS("\xe2\x82", "\"" FFFD FFFD "\"");
    JSON_IS("\xe2\x82"
            "A",
            "\"" FFFD FFFD "A\"");
    JSON_IS("\xe2"
            "A\xac",
            "\"" FFFD "A" FFFD "\"");
    JSON_IS("\xf0\x9f\x98", "\"" FFFD FFFD FFFD "\"");
    JSON_IS("x\xf0\x9f\x98\"", "\"x" FFFD FFFD FFFD "\\\"\"");
    /* a valid sequence right after a broken one is kept */
    JSON_IS("\xe2\xc3\xa9", "\"" FFFD "\xc3\xa9\"");
    JSON_IS("\xc3\xe2\x82\xac", "\"" FFFD "\xe2\x82\xac\"");
    /* the length cuts a valid sequence: the cut part is invalid */
    json_is("\xe2\x82\xac", 2, "\"" FFFD FFFD "\"");
    /* Latin-1 text (a common node mistake) */
    JSON_IS("Jos\xe9 M\xfcller", "\"Jos" FFFD " M" FFFD "ller\"");
}

/* Deterministic PRNG for the property tests. */
static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static size_t utf8_encode(uint32_t cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 63));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 63));
        o[2] = (unsigned char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 63));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 63));
    o[3] = (unsigned char)(0x80 | (cp & 63));
    return 4;
}

/* Random valid text (any code point, controls and NUL included) round-trips
 * exactly through the escaper and a JSON parser. */
static void test_json_valid_roundtrip_property(void **state)
{
    unsigned char in[256];
    for (int iter = 0; iter < 5000; iter++) {
        size_t n = 0;
        int count = (int)(rnd() % 40);
        for (int k = 0; k < count; k++) {
            uint32_t cp;
            switch (rnd() % 4) {
            case 0: cp = rnd() % 0x80; break;
            case 1: cp = rnd() % 0x800; break;
            case 2: cp = rnd() % 0x10000; break;
            default: cp = rnd() % 0x110000; break;
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
            n += utf8_encode(cp, in + n);
        }
        buf b;
        buf_init(&b);
        buf_put_json_str(&b, in, n);
        json_t *j = parse_json_string(&b);
        assert_int_equal(json_string_length(j), n);
        assert_memory_equal(json_string_value(j), in, n);
        json_decref(j);
        buf_free(&b);
    }
}

/* Any bytes at all: the output is valid JSON (jansson refuses invalid UTF-8),
 * holds no raw control bytes, and ASCII input bytes survive. */
static void test_json_any_bytes_property(void **state)
{
    /* every pair of bytes */
    for (int a = 0; a < 256; a++) {
        for (int c = 0; c < 256; c++) {
            unsigned char in[3] = {(unsigned char)a, (unsigned char)c, 'z'};
            buf b;
            buf_init(&b);
            buf_put_json_str(&b, in, 3);
            json_error_t err;
            json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
            if (!j) fail_msg("bytes %02x %02x: invalid JSON %.*s", a, c, (int)b.len, b.data);
            const char *s = json_string_value(j);
            size_t sl = json_string_length(j);
            assert_int_equal(s[sl - 1], 'z');
            if (a < 0x80) assert_int_equal((unsigned char)s[0], a);
            json_decref(j);
            buf_free(&b);
        }
    }
    /* random garbage */
    unsigned char in[64];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = rnd() % sizeof in;
        for (size_t i = 0; i < n; i++) in[i] = (unsigned char)(rnd() % 4 ? 0x80 + rnd() % 0x80 : rnd());
        buf b;
        buf_init(&b);
        buf_put_json_str(&b, in, n);
        for (size_t i = 0; i < b.len; i++) assert_true((unsigned char)b.data[i] >= 0x20);
        json_t *j = parse_json_string(&b);
        json_decref(j);
        buf_free(&b);
    }
}

static void test_json_long_mixed(void **state)
{
    /* long runs across many escapes: lengths add up exactly */
    buf in, want, got;
    buf_init(&in);
    buf_init(&want);
    buf_init(&got);
    buf_putc(&want, '"');
    for (int i = 0; i < 20000; i++) {
        switch (i % 5) {
        case 0:
            buf_puts(&in, "plain text ");
            buf_puts(&want, "plain text ");
            break;
        case 1:
            buf_putc(&in, '"');
            buf_puts(&want, "\\\"");
            break;
        case 2:
            buf_puts(&in, "\xe2\x82\xac");
            buf_puts(&want, "\xe2\x82\xac");
            break;
        case 3:
            buf_putc(&in, '\xff');
            buf_puts(&want, FFFD);
            break;
        default:
            buf_putc(&in, '\x02');
            buf_puts(&want, "\\u0002");
            break;
        }
    }
    buf_putc(&want, '"');
    buf_put_json_str(&got, in.data, in.len);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    buf_free(&in);
    buf_free(&want);
    buf_free(&got);
}

/* ---- URL path segments ---------------------------------------------------------- */

static bool is_unreserved(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~';
}

/* RFC 3986 pchar minus '%' (which only starts an escape) */
static bool is_pchar(int c) { return is_unreserved(c) || strchr("!$&'()*+,;=:@", c) != NULL; }

static void test_url_kept(void **state)
{
    URL_IS("", "");
    URL_IS("ABCXYZabcxyz0189-._~", "ABCXYZabcxyz0189-._~");
    URL_IS("*", "*");
    URL_IS("FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86",
           "FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86");
    URL_IS("1*a*b", "1*a*b");
}

static void test_url_encoded(void **state)
{
    URL_IS(" ", "%20");
    URL_IS("/", "%2F");
    URL_IS("?", "%3F");
    URL_IS("%", "%25");
    URL_IS("#", "%23");
    URL_IS("\"", "%22");
    URL_IS("\\", "%5C");
    URL_IS("<>", "%3C%3E");
    URL_IS("[]{}|^`", "%5B%5D%7B%7D%7C%5E%60");
    URL_IS("\n", "%0A");
    URL_IS("\x7f", "%7F");
    URL_IS("\xff", "%FF");
    URL_IS("\0", "%00");
    URL_IS("caf\xc3\xa9", "caf%C3%A9");
    URL_IS("a b/c?d%e#f", "a%20b%2Fc%3Fd%25e%23f");
    URL_IS("../..", "..%2F.."); /* no path traversal through a tag */
    url_is("ab\0cd", 5, "ab%00cd");
    url_is("abcdef", 3, "abc");

    buf b;
    buf_init(&b);
    buf_puts(&b, "http://h/");
    buf_put_url_segment(&b, "x y", 3);
    ASSERT_BUF(&b, "http://h/x%20y"); /* appends */
    buf_free(&b);
}

/* Every byte value: unreserved and `*` kept, other bytes either a legal
 * pchar or %XX (uppercase); decoding gives the byte back; the output needs
 * no JSON escaping. */
static void test_url_all_bytes(void **state)
{
    for (int c = 0; c < 256; c++) {
        unsigned char in[3] = {'a', (unsigned char)c, 'z'};
        buf b;
        buf_init(&b);
        buf_put_url_segment(&b, in, 3);
        const char *s = text(&b);
        assert_int_equal(s[0], 'a');
        assert_int_equal(s[b.len - 1], 'z');
        const char *mid = s + 1;
        size_t mlen = b.len - 2;
        if (is_unreserved(c) || c == '*') {
            assert_int_equal(mlen, 1);
            assert_int_equal((unsigned char)mid[0], c);
        } else if (mlen == 3) {
            char want[4];
            snprintf(want, sizeof want, "%%%02X", c);
            assert_memory_equal(mid, want, 3);
        } else {
            assert_int_equal(mlen, 1);
            assert_int_equal((unsigned char)mid[0], c);
            if (!is_pchar(c)) fail_msg("byte 0x%02x left unencoded", c);
        }
        if (c == ' ' || c == '/' || c == '?' || c == '%' || c == '#' || c == '"' || c == '\\' || c < 0x20 ||
            c >= 0x7f)
            assert_int_equal(mlen, 3);
        for (size_t i = 0; i < b.len; i++) {
            unsigned char o = (unsigned char)s[i];
            assert_true(o > 0x20 && o < 0x7f && o != '"' && o != '\\');
        }
        buf_free(&b);
    }
}

/* buf_json_chars_len and buf_url_segment_len count exactly what the
 * escapers write: every pair of bytes, then random strings of every kind
 * of byte. */
static void check_lengths(const unsigned char *in, size_t n)
{
    buf b;
    buf_init(&b);
    buf_put_json_chars(&b, in, n);
    if (buf_json_chars_len(in, n) != b.len)
        fail_msg("json: %zu counted, %zu written for %zu bytes", buf_json_chars_len(in, n), b.len, n);
    buf_reset(&b);
    buf_put_url_segment(&b, in, n);
    if (buf_url_segment_len(in, n) != b.len)
        fail_msg("url: %zu counted, %zu written for %zu bytes", buf_url_segment_len(in, n), b.len, n);
    buf_free(&b);
}

static void test_escaped_lengths(void **state)
{
    check_lengths((const unsigned char *)"", 0);
    for (int a = 0; a < 256; a++) {
        for (int c = 0; c < 256; c++) {
            unsigned char in[3] = {(unsigned char)a, (unsigned char)c, 'z'};
            check_lengths(in, 3);
        }
    }
    unsigned char in[96];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = rnd() % sizeof in;
        for (size_t i = 0; i < n; i++) in[i] = (unsigned char)(rnd() % 3 ? 0x20 + rnd() % 0x60 : rnd());
        check_lengths(in, n);
    }
}

/* str_copy cuts to fit and always terminates. */
static void test_str_copy(void **state)
{
    (void)state;
    char d[6];
    str_copy(d, sizeof d, "abc");
    assert_string_equal(d, "abc");
    str_copy(d, sizeof d, "abcdefgh");
    assert_string_equal(d, "abcde");
    str_copy(d, 1, "abc");
    assert_string_equal(d, "");
    str_copy(d, sizeof d, "");
    assert_string_equal(d, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_empty),
        cmocka_unit_test(test_str_copy),
        cmocka_unit_test(test_append_puts_putc_printf),
        cmocka_unit_test(test_printf_long),
        cmocka_unit_test(test_growth_doubles_and_keeps_data),
        cmocka_unit_test(test_big_append_and_reserve),
        cmocka_unit_test(test_reset_keeps_memory),
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_oom_is_sticky),
        cmocka_unit_test(test_reserve_size_overflow),
        cmocka_unit_test(test_put_i64),
        cmocka_unit_test(test_json_plain_and_empty),
        cmocka_unit_test(test_json_quotes_backslash),
        cmocka_unit_test(test_json_control_chars),
        cmocka_unit_test(test_json_nul_bytes),
        cmocka_unit_test(test_json_valid_utf8_verbatim),
        cmocka_unit_test(test_json_invalid_utf8),
        cmocka_unit_test(test_json_line_str),
        cmocka_unit_test(test_json_valid_roundtrip_property),
        cmocka_unit_test(test_json_any_bytes_property),
        cmocka_unit_test(test_json_long_mixed),
        cmocka_unit_test(test_url_kept),
        cmocka_unit_test(test_url_encoded),
        cmocka_unit_test(test_url_all_bytes),
        cmocka_unit_test(test_escaped_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
