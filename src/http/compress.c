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
