/* compress: the gzip form of a response body (RFC 1952), one deflate
 * stream over the body's parts in order, so a body written in slices is
 * never copied together first. Level 1: on a 20,000-call listing it is
 * within a few percent of level 3's size at half the time (BENCHMARKS.md). */
#ifndef AC_HTTP_COMPRESS_H
#define AC_HTTP_COMPRESS_H

#include <stddef.h>

/* The gzip of parts[0..n) (lengths lens[]); NULL when zlib fails or memory
 * runs out (the identity body is then sent: it is always acceptable). */
char *http_gzip(const char *const *parts, const size_t *lens, size_t n, size_t *out_len);

#endif
