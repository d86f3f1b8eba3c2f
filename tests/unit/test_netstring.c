/* test_netstring: nodes/netstring.c — the frame encoder and the incremental
 * decoder of the node protocol (docs/CONTRACT.md §7): whole frames, byte-by-byte and
 * arbitrary chunking, two frames back to back (the `used` count), the empty
 * frame, header errors (leading zeros, non-digits, missing colon), a missing
 * trailing comma, the size limit enforced when the header ends (before any
 * payload reaches the sink) with the refused length kept for the error
 * message, lengths at and beyond 64 bits, and a sink that refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nodes/netstring.h"

/* ---- sink ------------------------------------------------------------------ */

typedef struct collect {
    buf payload;
    int calls;
    size_t refuse_after; /* refuse once this many bytes were accepted (0 = never) */
} collect;

static int collect_sink(void *ctx, const char *p, size_t n)
{
    collect *c = ctx;
    c->calls++;
    if (c->refuse_after && c->payload.len + n > c->refuse_after) return 1;
    buf_append(&c->payload, p, n);
    return 0;
}

static void collect_init(collect *c)
{
    memset(c, 0, sizeof *c);
    buf_init(&c->payload);
}

/* Feeds the whole of s in chunks of `chunk` bytes (0 = all at once); returns
 * the final status and, for NS_DONE, the offset just after the frame. */
static ns_status feed_chunks(ns_decoder *d, const char *s, size_t n, size_t chunk, size_t *end)
{
    size_t off = 0;
    if (chunk == 0) chunk = n ? n : 1;
    ns_status st = NS_MORE;
    while (off < n) {
        size_t k = n - off < chunk ? n - off : chunk;
        size_t used = 12345;
        st = ns_decoder_feed(d, s + off, k, &used);
        if (st == NS_DONE) {
            assert_true(used >= 1 && used <= k);
            *end = off + used;
            return st;
        }
        if (st != NS_MORE) return st;
        assert_int_equal(used, k); /* NS_MORE consumed everything */
        off += k;
    }
    *end = off;
    return st;
}

static void assert_payload(const collect *c, const char *want, size_t n)
{
    assert_int_equal(c->payload.len, n);
    if (n) assert_memory_equal(c->payload.data, want, n);
}

/* ---- encoding ---------------------------------------------------------------- */

static void test_encode(void **state)
{
    buf b;
    buf_init(&b);
    netstring_encode(&b, "", 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "0:,", 3);

    buf_reset(&b);
    netstring_encode(&b, "hello", 5);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.data, "5:hello,", 8);

    /* appends; the example frame of docs/CONTRACT.md §7 */
    netstring_encode(&b, "{\"jsonrpc\":\"2.0\"}", 17);
    assert_int_equal(b.len, 8 + 21);
    assert_memory_equal(b.data, "5:hello,17:{\"jsonrpc\":\"2.0\"},", 29);

    /* binary payload with NUL, ':' and ',' inside */
    buf_reset(&b);
    netstring_encode(&b, "a\0:,b", 5);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.data, "5:a\0:,b,", 8);

    /* multi-digit length */
    buf_reset(&b);
    char big[12345];
    memset(big, 'x', sizeof big);
    netstring_encode(&b, big, sizeof big);
    assert_int_equal(b.len, 6 + sizeof big + 1);
    assert_memory_equal(b.data, "12345:", 6);
    assert_int_equal(b.data[b.len - 1], ',');
    buf_free(&b);
}

static void test_encode_decode_roundtrip(void **state)
{
    buf b;
    buf_init(&b);
    for (size_t n = 0; n < 300; n += 7) {
        char payload[300];
        for (size_t i = 0; i < n; i++) payload[i] = (char)(i * 31 + n);
        buf_reset(&b);
        netstring_encode(&b, payload, n);
        for (size_t chunk = 0; chunk < 4; chunk++) {
            collect c;
            collect_init(&c);
            ns_decoder d;
            ns_decoder_init(&d, 1000, collect_sink, &c);
            size_t end = 0;
            assert_int_equal(feed_chunks(&d, b.data, b.len, chunk, &end), NS_DONE);
            assert_int_equal(end, b.len);
            assert_payload(&c, payload, n);
            assert_int_equal(ns_decoder_expected(&d), n);
            buf_free(&c.payload);
        }
    }
    buf_free(&b);
}

/* ---- decoding ------------------------------------------------------------------- */

static void test_decode_whole(void **state)
{
    collect c;
    collect_init(&c);
    ns_decoder d;
    ns_decoder_init(&d, 100, collect_sink, &c);
    assert_int_equal(ns_decoder_expected(&d), 0);
    size_t used = 0;
    assert_int_equal(ns_decoder_feed(&d, "5:hello,", 8, &used), NS_DONE);
    assert_int_equal(used, 8);
    assert_payload(&c, "hello", 5);
    assert_int_equal(ns_decoder_expected(&d), 5);
    buf_free(&c.payload);
}

static void test_decode_byte_by_byte(void **state)
{
    const char *frame = "12:hello, world,";
    collect c;
    collect_init(&c);
    ns_decoder d;
    ns_decoder_init(&d, 100, collect_sink, &c);
    size_t n = strlen(frame);
    for (size_t i = 0; i < n; i++) {
        size_t used = 999;
        ns_status st = ns_decoder_feed(&d, frame + i, 1, &used);
        if (i + 1 < n) {
            assert_int_equal(st, NS_MORE);
            assert_int_equal(used, 1);
            /* the length is known only once the header is complete */
            assert_int_equal(ns_decoder_expected(&d), i < 2 ? 0 : 12);
        } else {
            assert_int_equal(st, NS_DONE);
            assert_int_equal(used, 1);
        }
    }
    assert_payload(&c, "hello, world", 12);
    assert_int_equal(c.calls, 12); /* one call per payload byte fed */
    buf_free(&c.payload);
}

static void test_decode_chunk_split_everywhere(void **state)
{
    const char *frame = "10:0123456789,";
    size_t n = strlen(frame);
    /* two feeds, split at every position */
    for (size_t cut = 0; cut <= n; cut++) {
        collect c;
        collect_init(&c);
        ns_decoder d;
        ns_decoder_init(&d, 10, collect_sink, &c); /* limit is inclusive */
        size_t used = 0;
        ns_status st = ns_decoder_feed(&d, frame, cut, &used);
        if (cut < n) {
            assert_int_equal(st, NS_MORE);
            assert_int_equal(used, cut);
            st = ns_decoder_feed(&d, frame + cut, n - cut, &used);
            assert_int_equal(st, NS_DONE);
            assert_int_equal(used, n - cut);
        } else {
            assert_int_equal(st, NS_DONE);
            assert_int_equal(used, n);
        }
        assert_payload(&c, "0123456789", 10);
        buf_free(&c.payload);
    }
}

static void test_decode_back_to_back(void **state)
{
    const char *in = "3:abc,4:defg,0:,";
    size_t n = strlen(in);
    collect c;
    collect_init(&c);
    ns_decoder d;
    ns_decoder_init(&d, 100, collect_sink, &c);
    size_t used = 0;
    assert_int_equal(ns_decoder_feed(&d, in, n, &used), NS_DONE);
    assert_int_equal(used, 6); /* "3:abc," only */
    assert_payload(&c, "abc", 3);

    /* the rest starts the next frame */
    buf_reset(&c.payload);
    ns_decoder_init(&d, 100, collect_sink, &c);
    assert_int_equal(ns_decoder_feed(&d, in + 6, n - 6, &used), NS_DONE);
    assert_int_equal(used, 7);
    assert_payload(&c, "defg", 4);

    buf_reset(&c.payload);
    ns_decoder_init(&d, 100, collect_sink, &c);
    assert_int_equal(ns_decoder_feed(&d, in + 13, n - 13, &used), NS_DONE);
    assert_int_equal(used, 3);
    assert_payload(&c, "", 0);

    /* a partial second frame after the first */
    buf_reset(&c.payload);
    ns_decoder_init(&d, 100, collect_sink, &c);
    assert_int_equal(ns_decoder_feed(&d, "2:ab,9:par", 10, &used), NS_DONE);
    assert_int_equal(used, 5);
    assert_payload(&c, "ab", 2);
    buf_free(&c.payload);
}

static void test_decode_empty_frame(void **state)
{
    collect c;
    collect_init(&c);
    ns_decoder d;
    ns_decoder_init(&d, 100, collect_sink, &c);
    size_t used = 0;
    assert_int_equal(ns_decoder_feed(&d, "0:,", 3, &used), NS_DONE);
    assert_int_equal(used, 3);
    assert_int_equal(c.payload.len, 0);
    assert_int_equal(ns_decoder_expected(&d), 0);

    /* with a limit of 0, the empty frame is the only acceptable one */
    ns_decoder_init(&d, 0, collect_sink, &c);
    assert_int_equal(ns_decoder_feed(&d, "0:,", 3, &used), NS_DONE);
    ns_decoder_init(&d, 0, collect_sink, &c);
    assert_int_equal(ns_decoder_feed(&d, "1:a,", 4, &used), NS_ERR_TOO_BIG);

    /* the empty frame byte by byte */
    ns_decoder_init(&d, 100, collect_sink, &c);
    assert_int_equal(ns_decoder_feed(&d, "0", 1, &used), NS_MORE);
    assert_int_equal(ns_decoder_feed(&d, ":", 1, &used), NS_MORE);
    assert_int_equal(ns_decoder_feed(&d, ",", 1, &used), NS_DONE);
    assert_int_equal(used, 1);

    /* nothing fed: nothing happens */
    ns_decoder_init(&d, 100, collect_sink, &c);
    used = 77;
    assert_int_equal(ns_decoder_feed(&d, "", 0, &used), NS_MORE);
    assert_int_equal(used, 0);
    assert_int_equal(c.calls, 0);
    buf_free(&c.payload);
}

static void test_decode_null_sink(void **state)
{
    ns_decoder d;
    ns_decoder_init(&d, 100, NULL, NULL);
    size_t used = 0;
    assert_int_equal(ns_decoder_feed(&d, "3:abc,", 6, &used), NS_DONE);
    assert_int_equal(used, 6);
}

static ns_status decode_status(const char *in, size_t n, uint64_t max, collect *c)
{
    ns_decoder d;
    ns_decoder_init(&d, max, collect_sink, c);
    size_t end = 0;
    return feed_chunks(&d, in, n, 0, &end);
}

static void header_refused(const char *in)
{
    collect c;
    collect_init(&c);
    ns_status st = decode_status(in, strlen(in), 1000, &c);
    if (st != NS_ERR_HEADER) fail_msg("'%s': status %d, want NS_ERR_HEADER", in, (int)st);
    assert_int_equal(c.payload.len, 0);
    /* and the same byte by byte */
    ns_decoder d;
    ns_decoder_init(&d, 1000, collect_sink, &c);
    size_t end = 0;
    assert_int_equal(feed_chunks(&d, in, strlen(in), 1, &end), NS_ERR_HEADER);
    assert_int_equal(c.payload.len, 0);
    buf_free(&c.payload);
}

static void test_decode_bad_header(void **state)
{
    /* leading zeros */
    header_refused("01:a,");
    header_refused("00:,");
    header_refused("007:abcdefg,");
    /* non-digits */
    header_refused("a:abc,");
    header_refused("-1:a,");
    header_refused("+1:a,");
    header_refused(" 1:a,");
    header_refused("1 :a,");
    header_refused("1a:a,");
    header_refused("0x1:a,");
    header_refused("{\"jsonrpc\":\"2.0\"}"); /* raw JSON without framing */
    header_refused("HTTP/1.1 200 OK\r\n");
    /* missing colon */
    header_refused("5hello,");
    header_refused("5,hello,");
    header_refused(":abc,"); /* no digits before the colon */
    header_refused(":");
    /* a NUL byte in the header */
    collect c;
    collect_init(&c);
    assert_int_equal(decode_status("\0:", 2, 1000, &c), NS_ERR_HEADER);
    assert_int_equal(decode_status("1\0:", 3, 1000, &c), NS_ERR_HEADER);
    buf_free(&c.payload);
}

static void test_decode_bad_trailer(void **state)
{
    collect c;
    collect_init(&c);
    assert_int_equal(decode_status("5:hello;", 8, 100, &c), NS_ERR_TRAILER);
    assert_int_equal(decode_status("5:hellox", 8, 100, &c), NS_ERR_TRAILER);
    assert_int_equal(decode_status("3:abcd,", 7, 100, &c), NS_ERR_TRAILER); /* too long */
    assert_int_equal(decode_status("0:x", 3, 100, &c), NS_ERR_TRAILER);
    assert_int_equal(decode_status("0::", 3, 100, &c), NS_ERR_TRAILER);
    /* payload missing its comma, then a new frame */
    assert_int_equal(decode_status("1:a1:b,", 7, 100, &c), NS_ERR_TRAILER);
    /* a truncated frame is just incomplete */
    assert_int_equal(decode_status("5:hel", 5, 100, &c), NS_MORE);
    assert_int_equal(decode_status("5:hello", 7, 100, &c), NS_MORE);
    buf_free(&c.payload);
}

static void test_decode_limit_at_header(void **state)
{
    collect c;
    collect_init(&c);
    ns_decoder d;

    /* exactly the limit is fine */
    assert_int_equal(decode_status("4:abcd,", 7, 4, &c), NS_DONE);

    /* one over: refused at the colon, and nothing reaches the sink even
     * though payload follows */
    buf_reset(&c.payload);
    c.calls = 0;
    ns_decoder_init(&d, 4, collect_sink, &c);
    size_t used;
    assert_int_equal(ns_decoder_feed(&d, "5:abcde,", 8, &used), NS_ERR_TOO_BIG);
    assert_int_equal(c.calls, 0);
    assert_int_equal(ns_decoder_expected(&d), 5);
    assert_false(ns_decoder_overflowed(&d));
    /* once refused, always refused */
    assert_int_equal(ns_decoder_feed(&d, "1:a,", 4, &used), NS_ERR_TOO_BIG);
    assert_int_equal(c.calls, 0);

    /* byte by byte: the digits go on past the limit until the colon, which
     * refuses the whole length */
    ns_decoder_init(&d, 1000, collect_sink, &c);
    assert_int_equal(ns_decoder_feed(&d, "1", 1, &used), NS_MORE);
    assert_int_equal(ns_decoder_feed(&d, "0", 1, &used), NS_MORE);
    assert_int_equal(ns_decoder_feed(&d, "0", 1, &used), NS_MORE);
    assert_int_equal(ns_decoder_feed(&d, "1", 1, &used), NS_MORE); /* 1001 */
    assert_int_equal(ns_decoder_expected(&d), 0);                  /* not known yet */
    assert_int_equal(ns_decoder_feed(&d, "7", 1, &used), NS_MORE); /* 10017 */
    assert_int_equal(ns_decoder_feed(&d, ":xyz", 4, &used), NS_ERR_TOO_BIG);
    assert_int_equal(ns_decoder_expected(&d), 10017);
    assert_int_equal(c.calls, 0);

    /* a 64 MiB limit (the default --max-reply-bytes) and huge announcements */
    uint64_t lim = 64u << 20;
    const char *huge = "99999999999:{\"jsonrpc\":\"2.0\",\"result\":[";
    ns_decoder_init(&d, lim, collect_sink, &c);
    assert_int_equal(ns_decoder_feed(&d, huge, strlen(huge), &used), NS_ERR_TOO_BIG);
    assert_int_equal(c.calls, 0);
    assert_int_equal(ns_decoder_expected(&d), 99999999999ull);
    assert_int_equal(decode_status("67108865:", 9, lim, &c), NS_ERR_TOO_BIG);
    assert_int_equal(decode_status("67108864:", 9, lim, &c), NS_MORE);
    assert_int_equal(c.calls, 0);
    buf_free(&c.payload);
}

/* The length a refused header announced: exact up to 2^64 - 1, "more than
 * that" beyond, at every chunking. */
static void refused_length(const char *header, uint64_t limit, uint64_t want, bool overflow)
{
    for (size_t chunk = 0; chunk <= 3; chunk++) {
        collect c;
        collect_init(&c);
        ns_decoder d;
        ns_decoder_init(&d, limit, collect_sink, &c);
        size_t end = 0;
        ns_status st = feed_chunks(&d, header, strlen(header), chunk, &end);
        if (st != NS_ERR_TOO_BIG) fail_msg("'%s' in chunks of %zu: status %d", header, chunk, (int)st);
        if (ns_decoder_expected(&d) != want || ns_decoder_overflowed(&d) != overflow)
            fail_msg("'%s' in chunks of %zu: length %llu%s, want %llu%s", header, chunk,
                     (unsigned long long)ns_decoder_expected(&d), ns_decoder_overflowed(&d) ? "+" : "",
                     (unsigned long long)want, overflow ? "+" : "");
        assert_int_equal(c.calls, 0);
        buf_free(&c.payload);
    }
}

static void test_decode_refused_length(void **state)
{
    uint64_t lim = 64u << 20;
    /* 2 GiB and 4 GiB: above 32 bits, never reported as 0 or cut */
    refused_length("2147483648:{\"jsonrpc\"", lim, 2147483648ull, false);
    refused_length("2147483647:", lim, 2147483647ull, false);
    refused_length("4294967296:", lim, 4294967296ull, false);
    refused_length("4294967297:x", lim, 4294967297ull, false);
    /* the largest length that fits, and one more */
    refused_length("18446744073709551615:", lim, UINT64_MAX, false);
    refused_length("18446744073709551616:", lim, UINT64_MAX, true);
    refused_length("99999999999999999999:", lim, UINT64_MAX, true);
    /* far beyond: refused at the digit that overflows, whatever follows */
    refused_length("1000000000000000000000000000000000000000", lim, UINT64_MAX, true);
    refused_length("184467440737095516150", lim, UINT64_MAX, true);
    /* an unlimited decoder refuses only what does not fit */
    refused_length("18446744073709551616:", UINT64_MAX, UINT64_MAX, true);
    collect c;
    collect_init(&c);
    ns_decoder d;
    ns_decoder_init(&d, UINT64_MAX, collect_sink, &c);
    size_t used;
    assert_int_equal(ns_decoder_feed(&d, "18446744073709551615:", 21, &used), NS_MORE);
    assert_int_equal(ns_decoder_expected(&d), UINT64_MAX);
    assert_false(ns_decoder_overflowed(&d));
    buf_free(&c.payload);
}

static void test_decode_twenty_digits(void **state)
{
    collect c;
    collect_init(&c);
    ns_decoder d;
    size_t used;
    /* 19 digits fit in uint64 and are accepted by an unlimited decoder */
    ns_decoder_init(&d, UINT64_MAX, collect_sink, &c);
    assert_int_equal(ns_decoder_feed(&d, "1000000000000000000:", 20, &used), NS_MORE);
    assert_int_equal(ns_decoder_expected(&d), 1000000000000000000ull);
    ns_decoder_init(&d, UINT64_MAX, collect_sink, &c);
    assert_int_equal(ns_decoder_feed(&d, "9999999999999999999:", 20, &used), NS_MORE);
    assert_int_equal(ns_decoder_expected(&d), 9999999999999999999ull);
    /* past 64 bits: refused as too big, never wrapped around */
    ns_decoder_init(&d, UINT64_MAX, collect_sink, &c);
    assert_int_equal(ns_decoder_feed(&d, "18446744073709551616:x,", 23, &used), NS_ERR_TOO_BIG);
    ns_decoder_init(&d, UINT64_MAX, collect_sink, &c);
    assert_int_equal(ns_decoder_feed(&d, "99999999999999999999:", 21, &used), NS_ERR_TOO_BIG);
    /* with a realistic limit the same lengths are simply too big */
    assert_int_equal(decode_status("18446744073709551617:", 21, 1 << 20, &c), NS_ERR_TOO_BIG);
    /* leading zeros are still no length, however many */
    assert_int_equal(decode_status("00000000000000000000001:a,", 26, 1 << 20, &c), NS_ERR_HEADER);
    assert_int_equal(c.calls, 0);
    buf_free(&c.payload);
}

static void test_decode_sink_refuses(void **state)
{
    collect c;
    collect_init(&c);
    c.refuse_after = 3;
    ns_decoder d;
    ns_decoder_init(&d, 100, collect_sink, &c);
    size_t used;
    assert_int_equal(ns_decoder_feed(&d, "5:hello,", 8, &used), NS_ERR_SINK);
    assert_int_equal(c.payload.len, 0);

    /* refusing a later piece */
    buf_reset(&c.payload);
    c.calls = 0;
    ns_decoder_init(&d, 100, collect_sink, &c);
    assert_int_equal(ns_decoder_feed(&d, "5:he", 4, &used), NS_MORE);
    assert_int_equal(ns_decoder_feed(&d, "l", 1, &used), NS_MORE);
    assert_int_equal(ns_decoder_feed(&d, "lo,", 3, &used), NS_ERR_SINK);
    assert_payload(&c, "hel", 3);
    assert_int_equal(c.calls, 3);
    buf_free(&c.payload);
}

static void test_decode_large_payload_streamed(void **state)
{
    /* 1 MiB payload, fed in odd-sized chunks, arrives intact and in order */
    size_t n = 1u << 20;
    buf frame;
    buf_init(&frame);
    char *payload = malloc(n);
    assert_non_null(payload);
    for (size_t i = 0; i < n; i++) payload[i] = (char)(i % 251);
    netstring_encode(&frame, payload, n);
    collect c;
    collect_init(&c);
    ns_decoder d;
    ns_decoder_init(&d, n, collect_sink, &c);
    size_t end = 0;
    assert_int_equal(feed_chunks(&d, frame.data, frame.len, 4093, &end), NS_DONE);
    assert_int_equal(end, frame.len);
    assert_payload(&c, payload, n);
    free(payload);
    buf_free(&frame);
    buf_free(&c.payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_encode_decode_roundtrip),
        cmocka_unit_test(test_decode_whole),
        cmocka_unit_test(test_decode_byte_by_byte),
        cmocka_unit_test(test_decode_chunk_split_everywhere),
        cmocka_unit_test(test_decode_back_to_back),
        cmocka_unit_test(test_decode_empty_frame),
        cmocka_unit_test(test_decode_null_sink),
        cmocka_unit_test(test_decode_bad_header),
        cmocka_unit_test(test_decode_bad_trailer),
        cmocka_unit_test(test_decode_limit_at_header),
        cmocka_unit_test(test_decode_refused_length),
        cmocka_unit_test(test_decode_twenty_digits),
        cmocka_unit_test(test_decode_sink_refuses),
        cmocka_unit_test(test_decode_large_payload_streamed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
