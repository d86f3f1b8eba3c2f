/* compress: gzip of a body in parts; see compress.h. */
#include "http/compress.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GZIP_LEVEL 1

char *http_gzip(const char *const *parts, const size_t *lens, size_t n, size_t *out_len)
{
    if (n == 0) return NULL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += lens[i];
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, GZIP_LEVEL, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&z, (uLong)total) + 64 * n; /* + block ends between parts */
    char *out = total <= UINT32_MAX && cap <= UINT32_MAX ? malloc(cap) : NULL;
    bool ok = out != NULL;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    for (size_t i = 0; ok && i < n; i++) {
        z.next_in = (Bytef *)(uintptr_t)parts[i];
        z.avail_in = (uInt)lens[i];
        bool last = i + 1 == n;
        ok = deflate(&z, last ? Z_FINISH : Z_NO_FLUSH) == (last ? Z_STREAM_END : Z_OK) && z.avail_in == 0;
    }
    *out_len = z.total_out;
    deflateEnd(&z);
    if (!ok) {
        free(out);
        return NULL;
    }
    char *shrunk = realloc(out, *out_len ? *out_len : 1);
    return shrunk ? shrunk : out;
}

/* Raw deflate (no wrapper) of p[0..n) into a new buffer, ending with
 * `flush` (Z_FULL_FLUSH: byte-aligned, not final; Z_FINISH: final), after
 * `room` bytes left free at its start and before `extra` at its end. */
static char *raw_deflate(const char *p, size_t n, int flush, size_t room, size_t extra, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (n > UINT32_MAX || deflateInit2(&z, GZIP_LEVEL, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = room + deflateBound(&z, (uLong)n) + 16 + extra;
    char *out = cap <= UINT32_MAX ? malloc(cap) : NULL;
    bool ok = out != NULL;
    if (ok) {
        z.next_in = (Bytef *)(uintptr_t)p;
        z.avail_in = (uInt)n;
        z.next_out = (Bytef *)out + room;
        z.avail_out = (uInt)(cap - room - extra);
        int rc = deflate(&z, flush);
        ok = (flush == Z_FINISH ? rc == Z_STREAM_END : rc == Z_OK) && z.avail_in == 0 && z.avail_out > 0;
    }
    *out_len = room + z.total_out;
    deflateEnd(&z);
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

bool http_gzip_head_make(http_gzip_head *h, const char *p, size_t n)
{
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0,
                                             0,    0,    0, 0, 3}; /* deflate, no mtime, Unix */
    memset(h, 0, sizeof *h);
    h->data = raw_deflate(p, n, Z_FULL_FLUSH, sizeof header, 0, &h->len);
    if (!h->data) return false;
    memcpy(h->data, header, sizeof header);
    h->crc = (uint32_t)crc32(0, (const Bytef *)p, (uInt)n);
    h->in_len = n;
    return true;
}

void http_gzip_head_free(http_gzip_head *h)
{
    free(h->data);
    memset(h, 0, sizeof *h);
}

char *http_gzip_tail(const http_gzip_head *h, const char *p, size_t n, size_t *out_len)
{
    char *out = raw_deflate(p, n, Z_FINISH, 0, 8, out_len);
    if (!out) return NULL;
    uint32_t crc = (uint32_t)crc32_combine(h->crc, crc32(0, (const Bytef *)p, (uInt)n), (z_off_t)n);
    uint32_t isize = (uint32_t)(h->in_len + n); /* mod 2^32, as RFC 1952 says */
    unsigned char *t = (unsigned char *)out + *out_len;
    for (int i = 0; i < 4; i++) t[i] = (unsigned char)(crc >> (8 * i));
    for (int i = 0; i < 4; i++) t[4 + i] = (unsigned char)(isize >> (8 * i));
    *out_len += 8;
    return out;
}
