/* compress: the gzip form of a response body (RFC 1952), one deflate
 * stream over the body's parts in order, so a body written in slices is
 * never copied together first. Level 1: on a 20,000-call listing it is
 * within a few percent of level 3's size at half the time (BENCHMARKS.md). */
#ifndef AC_HTTP_COMPRESS_H
#define AC_HTTP_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The gzip of parts[0..n) (lengths lens[]); NULL when zlib fails or memory
 * runs out (the identity body is then sent: it is always acceptable). */
char *http_gzip(const char *const *parts, const size_t *lens, size_t n, size_t *out_len);

/* A gzip body in two halves, for a document whose head is kept and sent
 * many times while a short tail changes each time. The head is the gzip
 * header and the raw deflate of the head's bytes, flushed to a byte
 * boundary and not final (made once: http_gzip_head_make). The tail is
 * the deflate of the tail's bytes, final, then the trailer: the CRC-32 of
 * both (crc32_combine) and their length (http_gzip_tail). Sent one after
 * the other they are one gzip member, which every client reads (several
 * members in a row are legal gzip, but not every client reads past the
 * first). */
typedef struct http_gzip_head {
    char *data;
    size_t len;
    uint32_t crc;    /* of the head's bytes */
    uint64_t in_len; /* their number */
} http_gzip_head;

bool http_gzip_head_make(http_gzip_head *h, const char *p, size_t n);
void http_gzip_head_free(http_gzip_head *h);
/* The rest of the member after h for the n bytes at p; NULL on failure. */
char *http_gzip_tail(const http_gzip_head *h, const char *p, size_t n, size_t *out_len);

#endif
