/* fuzz_netstring: the incremental netstring decoder (nodes/netstring.c)
 * against a whole-buffer reference decoder written from the frame grammar
 * of nodes/netstring.h, on a stream of frames fed whole and in random
 * chunks (empty feeds included).
 *
 * Input: byte 0 picks the length limit (small limits, or UINT64_MAX
 * shifted right), byte 1 where a refusing payload sink says stop, bytes
 * 2..5 seed the chunk sizes; the rest is the stream. Frames are decoded one
 * after the other, a fresh decoder per frame, as long as each one ends.
 *
 * Properties: every frame's status, the bytes it used and the payload bytes
 * the sink received are the reference's, whole and chunked alike;
 * ns_decoder_expected is 0 before the header ends and the announced length
 * after; a finished decoder reports NS_DONE with 0 bytes used; and any
 * payload of the input, encoded by netstring_encode, decodes back to itself
 * with the length limit at its length and is refused (NS_ERR_TOO_BIG) with
 * the limit one below. */
#include "fuzz.h"

#include "nodes/netstring.h"

/* The frame grammar, whole: "0" or [1-9][0-9]*, a leading zero refused at
 * the digit after it and a length that does not fit in 64 bits at the
 * digit that overflows; then ':', where a length over the limit is refused
 * (so the refusal can say what was announced); the payload, ','. The sink
 * refuses any call that would deliver payload byte `refuse_at` or later. */
typedef struct ref_frame {
    ns_status st;
    size_t used;        /* bytes of the stream the frame took (NS_DONE) */
    size_t payload_off; /* where its payload starts in the stream */
    size_t delivered;   /* payload bytes the sink kept */
    uint64_t want;      /* announced length, once the header ended */
    bool header_done;
} ref_frame;

static ref_frame ref_decode(const uint8_t *s, size_t n, uint64_t max_len, uint64_t refuse_at)
{
    ref_frame f = {.st = NS_MORE};
    size_t i = 0;
    int digits = 0;
    uint64_t v = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (digits == 1 && v == 0) return f.st = NS_ERR_HEADER, f;
        digits++;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return f.st = NS_ERR_TOO_BIG, f;
        v = v * 10 + d;
    }
    if (i == n) return f; /* header not finished */
    if (s[i] != ':' || digits == 0) return f.st = NS_ERR_HEADER, f;
    if (v > max_len) return f.st = NS_ERR_TOO_BIG, f;
    i++;
    f.header_done = true;
    f.want = v;
    f.payload_off = i;
    uint64_t avail = n - i < v ? n - i : v;
    if (avail > refuse_at) return f.st = NS_ERR_SINK, f;
    f.delivered = (size_t)avail;
    if (avail < v) return f;
    i += (size_t)v;
    if (i == n) return f; /* trailer not there yet */
    if (s[i] != ',') return f.st = NS_ERR_TRAILER, f;
    f.st = NS_DONE;
    f.used = i + 1;
    return f;
}

typedef struct sink_ctx {
    uint8_t *got;
    size_t len, cap;
    uint64_t refuse_at;
} sink_ctx;

static int sink(void *ctx, const char *p, size_t n)
{
    sink_ctx *c = ctx;
    if (c->len + n > c->refuse_at) return 1;
    FZ_CHECK(c->len + n <= c->cap, "the sink got more than the reference's payload");
    if (n) memcpy(c->got + c->len, p, n);
    c->len += n;
    return 0;
}

/* Feeds s[0..n) to a fresh decoder, in chunks when rng is not NULL
 * (sometimes empty ones), each chunk its own exact-size copy. */
static ns_status run_decoder(const uint8_t *s, size_t n, uint64_t max_len, sink_ctx *c, uint64_t *rng,
                             size_t *used, uint64_t *expected)
{
    ns_decoder d;
    ns_decoder_init(&d, max_len, sink, c);
    FZ_CHECK(ns_decoder_expected(&d) == 0, "a new decoder expects nothing");
    size_t off = 0;
    ns_status st = NS_MORE;
    *used = 0;
    do {
        size_t k = n - off;
        if (rng) {
            uint64_t r = fz_rand(rng);
            k = r % 8 == 0 ? 0 : 1 + (size_t)(r >> 8) % (r % 4 == 0 ? 4 : 512);
            if (k > n - off) k = n - off;
        }
        char *chunk = fz_strndup(s + off, k);
        size_t u = 0;
        st = ns_decoder_feed(&d, chunk, k, &u);
        free(chunk);
        if (st == NS_MORE) FZ_CHECK(u == k, "NS_MORE used %zu of %zu bytes", u, k);
        if (st == NS_DONE) {
            FZ_CHECK(u <= k, "NS_DONE used %zu of %zu bytes", u, k);
            *used = off + u;
            char extra = ',';
            size_t u2 = 99;
            FZ_CHECK(ns_decoder_feed(&d, &extra, 1, &u2) == NS_DONE && u2 == 0,
                     "a finished decoder must say NS_DONE and use nothing");
        }
        if (st != NS_MORE) break;
        off += k;
    } while (off < n);
    *expected = ns_decoder_expected(&d);
    return st;
}

static void check_frame(const uint8_t *s, size_t n, uint64_t max_len, uint64_t refuse_at, uint64_t *rng,
                        const ref_frame *want)
{
    /* room for the reference's payload and what a refusing sink takes
     * first (refuse_at <= 45), and a frame fed with 64 bytes after it, not
     * with the whole rest of the stream: that made inputs of many small
     * frames quadratic */
    size_t cap = want->delivered + 64 < n ? want->delivered + 64 : n;
    if (want->st == NS_DONE && want->used + 64 < n)
        n = want->used + 64; /* some bytes past the frame are enough */
    sink_ctx c = {.got = fz_alloc(cap), .cap = cap, .refuse_at = refuse_at};
    size_t used;
    uint64_t expected;
    ns_status st = run_decoder(s, n, max_len, &c, rng, &used, &expected);
    const char *how = rng ? "chunked" : "whole";
    FZ_CHECK(st == want->st, "%s: status %d, reference %d", how, st, want->st);
    if (st == NS_DONE) FZ_CHECK(used == want->used, "%s: used %zu, reference %zu", how, used, want->used);
    if (st != NS_ERR_SINK) {
        FZ_CHECK(c.len == want->delivered, "%s: sink got %zu bytes, reference %zu", how, c.len,
                 want->delivered);
        FZ_CHECK(c.len == 0 || memcmp(c.got, s + want->payload_off, c.len) == 0,
                 "%s: the sink got other bytes than the payload", how);
    }
    if (st == NS_MORE || st == NS_DONE || st == NS_ERR_TRAILER)
        FZ_CHECK(expected == (want->header_done ? want->want : 0), "%s: expected %llu, reference %llu", how,
                 (unsigned long long)expected, (unsigned long long)want->want);
    free(c.got);
}

/* encode → decode gives the payload back; one byte less of limit refuses it. */
static void check_round_trip(const uint8_t *p, size_t n)
{
    buf enc;
    buf_init(&enc);
    netstring_encode(&enc, p, n);
    FZ_CHECK(!enc.oom, "out of memory");
    const uint8_t *e = (const uint8_t *)enc.data;
    ref_frame want = ref_decode(e, enc.len, n, UINT64_MAX);
    FZ_CHECK(want.st == NS_DONE && want.used == enc.len && want.want == n, "encoder wrote a bad frame");
    check_frame(e, enc.len, n, UINT64_MAX, NULL, &want);
    if (n > 0) {
        sink_ctx c = {.got = fz_alloc(n), .cap = n, .refuse_at = UINT64_MAX};
        size_t used;
        uint64_t expected;
        FZ_CHECK(run_decoder(e, enc.len, n - 1, &c, NULL, &used, &expected) == NS_ERR_TOO_BIG,
                 "a payload of %zu bytes passed a limit of %zu", n, n - 1);
        free(c.got);
    }
    buf_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t lim = fz_u8(&in), refuse = fz_u8(&in);
    uint64_t max_len = lim & 0x80 ? UINT64_MAX >> (lim & 63) : lim;
    uint64_t refuse_at = refuse < 0xF0 ? UINT64_MAX : (uint64_t)(refuse & 0x0F) * 3;
    uint64_t rng = fz_u32(&in);

    const uint8_t *s = in.p;
    size_t n = in.n;
    while (n > 0) {
        ref_frame want = ref_decode(s, n, max_len, refuse_at);
        check_frame(s, n, max_len, refuse_at, NULL, &want);
        check_frame(s, n, max_len, refuse_at, &rng, &want);
        if (want.st != NS_DONE) break;
        check_round_trip(s + want.payload_off, (size_t)want.want);
        s += want.used;
        n -= want.used;
    }
    return 0;
}
