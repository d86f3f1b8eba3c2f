/* fuzz_request: the HTTP request head, query and chunked body parsers of
 * the front door (http/request.c), which read every byte a client sends.
 *
 * Input: byte 0 picks the head limit (64 bytes .. 32 KiB) and where a
 * chunked body is split in two feeds; the rest is the request.
 *
 * Properties:
 *   - http_parse_head is deterministic, and a prefix of an accepted head
 *     (any prefix shorter than the bytes it used) is never accepted;
 *   - an error is one of 400, 414, 431, 501, 505, with a detail;
 *   - an accepted head has a tchar method, a target without space or
 *     control bytes, header names of tchars and values without CR, LF or
 *     NUL, never both a Content-Length and chunked, and uses at most the
 *     limit;
 *   - the query splits into at most 256 pairs, and percent-decoding never
 *     lengthens a string;
 *   - the chunk decoder gives the same body whether its input comes in one
 *     feed or two, never more bytes than it consumed. */
#include "fuzz.h"

#include "http/request.h"

static bool tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Parses a fresh copy of p[0..n) (returned in *copy: the head points into it). */
static head_result parse(const uint8_t *p, size_t n, size_t max, http_head *h, size_t *used, int *st,
                         char **copy)
{
    *copy = fz_alloc(n);
    if (n) memcpy(*copy, p, n);
    const char *detail = NULL;
    head_result r = http_parse_head(*copy, n, max, h, used, st, &detail);
    if (r == HEAD_ERROR) {
        FZ_CHECK(detail && *detail, "no detail");
        FZ_CHECK(*st == 400 || *st == 414 || *st == 431 || *st == 501 || *st == 505, "status %d", *st);
    }
    return r;
}

static void check_head(const http_head *h, size_t used, size_t max)
{
    FZ_CHECK(used <= max, "used %zu over the limit %zu", used, max);
    for (const char *m = h->method; *m; m++) FZ_CHECK(tchar((unsigned char)*m), "method byte");
    FZ_CHECK(*h->method, "empty method");
    for (const char *t = h->target; *t; t++)
        FZ_CHECK((unsigned char)*t > 0x20 && *t != 0x7f, "target byte 0x%02x", (unsigned char)*t);
    for (size_t i = 0; i < h->nheaders; i++) {
        const char *nm = h->headers[i].name, *v = h->headers[i].value;
        FZ_CHECK(*nm, "empty header name");
        for (; *nm; nm++) FZ_CHECK(tchar((unsigned char)*nm), "header name byte");
        FZ_CHECK(!strpbrk(v, "\r\n"), "CR or LF in a value");
    }
    FZ_CHECK(!(h->chunked && h->has_length), "both framings");
}

static void check_query(const char *target)
{
    const char *q = strchr(target, '?');
    char *path = fz_strndup(target, q ? (size_t)(q - target) : strlen(target));
    size_t before = strlen(path);
    if (http_percent_decode(path, false)) FZ_CHECK(strlen(path) <= before, "decoding lengthened the path");
    free(path);
    if (!q) return;
    char *copy = fz_strndup(q + 1, strlen(q + 1));
    query_param params[256];
    size_t n = 0;
    query_result r = http_parse_query(copy, params, 256, &n);
    FZ_CHECK(n <= 256, "too many pairs");
    if (r == QUERY_OK)
        for (size_t i = 0; i < n; i++) FZ_CHECK(params[i].key && params[i].value, "NULL pair");
    free(copy);
}

static size_t dechunk(const uint8_t *p, size_t n, size_t split, char *out, chunk_result *res)
{
    chunk_decoder d;
    chunk_decoder_init(&d);
    char *buf = fz_alloc(n);
    if (n) memcpy(buf, p, n);
    size_t at = 0, total = 0;
    *res = CHUNK_MORE;
    size_t cuts[2] = {split < n ? split : n, n};
    for (int k = 0; k < 2 && *res == CHUNK_MORE; k++) {
        size_t used = 0, produced = 0;
        *res = chunk_decode(&d, buf + at, cuts[k] - at, buf + at, &used, &produced);
        FZ_CHECK(produced <= used, "more body than input");
        memcpy(out + total, buf + at, produced);
        total += produced;
        at += used;
        if (*res == CHUNK_MORE) FZ_CHECK(at == cuts[k], "stopped early without an error");
    }
    free(buf);
    return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t max = (size_t)64 << (data[0] % 10); /* 64 .. 32 KiB */
    size_t split = data[0];
    data++;
    size--;

    static http_head h1, h2;
    size_t used1 = 0, used2 = 0;
    int st1 = 0, st2 = 0;
    char *c1, *c2;
    head_result r1 = parse(data, size, max, &h1, &used1, &st1, &c1);
    head_result r2 = parse(data, size, max, &h2, &used2, &st2, &c2);
    FZ_CHECK(r1 == r2 && (r1 != HEAD_OK || used1 == used2) && (r1 != HEAD_ERROR || st1 == st2),
             "not deterministic");
    free(c2);
    if (r1 == HEAD_OK) {
        check_head(&h1, used1, max);
        check_query(h1.target);
        /* a shorter prefix of the head is never a whole head */
        size_t cut = used1 ? (split * used1) / 256 : 0;
        if (cut < used1) {
            head_result rp = parse(data, cut, max, &h2, &used2, &st2, &c2);
            FZ_CHECK(rp != HEAD_OK, "a prefix of %zu of %zu bytes was accepted", cut, used1);
            free(c2);
        }
        /* what follows the head, as a chunked body: one feed or two, the same bytes */
        const uint8_t *body = data + used1;
        size_t blen = size - used1;
        char *o1 = fz_alloc(blen), *o2 = fz_alloc(blen);
        chunk_result x1, x2;
        size_t n1 = dechunk(body, blen, blen, o1, &x1);
        size_t n2 = dechunk(body, blen, split % (blen + 1), o2, &x2);
        FZ_CHECK(x1 == x2, "chunked verdict depends on the split");
        if (x1 != CHUNK_ERROR)
            FZ_CHECK(n1 == n2 && (n1 == 0 || memcmp(o1, o2, n1) == 0), "chunked body depends on the split");
        free(o1);
        free(o2);
    }
    free(c1);
    return 0;
}
