/* test_compress: http/compress.c — the gzip of a body in parts, and a
 * gzip body in two halves (a kept head, a tail made per answer): for
 * random heads and tails, empty ones among them, the halves in a row are
 * exactly one gzip member (zlib reads it to its end, nothing after) whose
 * bytes are head + tail, and so is http_gzip's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "http/compress.h"

static uint64_t seed = 42;
static uint32_t rnd(void)
{
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(seed >> 33);
}

/* Inflates one gzip member from z[0..n); it must end exactly at n. */
static char *gunzip(const char *z, size_t n, size_t *out_len)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    assert_int_equal(inflateInit2(&s, 31), Z_OK);
    size_t cap = 1 << 20;
    char *out = malloc(cap);
    assert_non_null(out);
    s.next_in = (Bytef *)(uintptr_t)z;
    s.avail_in = (uInt)n;
    s.next_out = (Bytef *)out;
    s.avail_out = (uInt)cap;
    int rc = inflate(&s, Z_FINISH);
    if (rc != Z_STREAM_END) fail_msg("not one complete gzip member: %d (%s)", rc, s.msg ? s.msg : "");
    assert_int_equal(s.avail_in, 0); /* nothing after the member */
    *out_len = s.total_out;
    inflateEnd(&s);
    return out;
}

/* Text with repeats (as metrics are), or random bytes. */
static void fill(char *p, size_t n)
{
    bool text = rnd() % 2;
    for (size_t i = 0; i < n; i++)
        p[i] = text ? "ruby_yeti_ac{account_id=\"12\"} 3\n"[rnd() % 33] : (char)rnd();
}

static void halves(void **state)
{
    (void)state;
    static char head[300000], tail[20000];
    for (int iter = 0; iter < 60; iter++) {
        size_t hn = iter % 7 == 0 ? 0 : rnd() % sizeof head, tn = iter % 5 == 0 ? 0 : rnd() % sizeof tail;
        fill(head, hn);
        fill(tail, tn);
        http_gzip_head h;
        assert_true(http_gzip_head_make(&h, head, hn));
        size_t zt = 0;
        char *t = http_gzip_tail(&h, tail, tn, &zt);
        assert_non_null(t);
        size_t all = h.len + zt;
        char *joined = malloc(all ? all : 1);
        assert_non_null(joined);
        memcpy(joined, h.data, h.len);
        memcpy(joined + h.len, t, zt);
        size_t n = 0;
        char *plain = gunzip(joined, all, &n);
        assert_int_equal(n, hn + tn);
        assert_memory_equal(plain, head, hn);
        if (tn) assert_memory_equal(plain + hn, tail, tn);
        free(plain);
        free(joined);
        free(t);
        /* the same head serves a second tail */
        t = http_gzip_tail(&h, "x", 1, &zt);
        joined = malloc(h.len + zt);
        memcpy(joined, h.data, h.len);
        memcpy(joined + h.len, t, zt);
        plain = gunzip(joined, h.len + zt, &n);
        assert_int_equal(n, hn + 1);
        assert_int_equal(plain[hn], 'x');
        free(plain);
        free(joined);
        free(t);
        http_gzip_head_free(&h);
        assert_null(h.data);
    }
}

static void parts(void **state)
{
    (void)state;
    const char *p[] = {"{\"data\":[", "1,2,3", "]}"};
    size_t lens[] = {9, 5, 2}, zl = 0, n = 0;
    char *z = http_gzip(p, lens, 3, &zl);
    assert_non_null(z);
    char *plain = gunzip(z, zl, &n);
    assert_int_equal(n, 16);
    assert_memory_equal(plain, "{\"data\":[1,2,3]}", 16);
    free(plain);
    free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(halves),
        cmocka_unit_test(parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
