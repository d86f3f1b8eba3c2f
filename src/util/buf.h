/* buf: a growable byte buffer, the one place JSON and HTTP text is written.
 *
 * Documents are written straight into a buf (no DOM, no per-field
 * allocation): the buffer doubles when it runs out, so appending is amortised
 * O(1). Allocation failure is sticky: `oom` is set, further appends are
 * ignored, and the caller checks it once at the end instead of after every
 * append. */
#ifndef AC_UTIL_BUF_H
#define AC_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
    bool oom;
} buf;

void buf_init(buf *b);
void buf_free(buf *b);
void buf_reset(buf *b);              /* len = 0, keeps the memory */
char *buf_steal(buf *b);             /* hands over data (NUL-terminated); b is empty after */
bool buf_grow(buf *b, size_t extra); /* the slow path of buf_reserve */

/* Room for `extra` more bytes (and a NUL); false when memory ran out.
 * Appending is the innermost step of every document, so the common case
 * (there is room) is inline and the growing is not. */
static inline bool buf_reserve(buf *b, size_t extra)
{
    if (!b->oom && b->cap - b->len > extra) return true;
    return buf_grow(b, extra);
}

static inline void buf_append(buf *b, const void *p, size_t n)
{
    if (n == 0 || !buf_reserve(b, n)) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void buf_putc(buf *b, char c)
{
    if (!buf_reserve(b, 1)) return;
    b->data[b->len++] = c;
}

void buf_puts(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_put_i64(buf *b, int64_t v);
/* The number of bytes buf_put_i64 appends for v. */
size_t buf_i64_len(int64_t v);

/* JSON string escaping. Writes the quoted JSON string for bytes p[0..n):
 * quotes, backslashes and control characters are escaped, valid UTF-8 is
 * copied as is, and every byte that is not part of valid UTF-8 becomes
 * U+FFFD, so the output is always valid JSON whatever the input holds. */
void buf_put_json_str(buf *b, const void *p, size_t n);
/* Same without the surrounding quotes. */
void buf_put_json_chars(buf *b, const void *p, size_t n);
/* buf_put_json_str for text that must stay on one line whatever reads it
 * (log lines): also escapes DEL, the C1 controls U+0080..U+009F (NEL,
 * U+0085, among them) and U+2028 / U+2029 as \u007f, \u0085, \u2028, ...
 * The output is printable ASCII plus valid UTF-8 of none of those. */
void buf_put_json_line_str(buf *b, const void *p, size_t n);

/* Percent-encodes bytes for use in a URL path segment: unreserved
 * characters, the sub-delimiters (`!$'()*+,;=`, of which a call id uses
 * `*`), `:` and `@` stay, as RFC 3986 allows in a segment; all others become
 * %XX. The result needs no further JSON escaping. */
void buf_put_url_segment(buf *b, const void *p, size_t n);
/* The same for a query parameter's key or value: also encodes what splits
 * or decodes a query (& = + ;), keeps / and ?. The result needs no
 * further JSON escaping either. */
void buf_put_url_query_part(buf *b, const void *p, size_t n);

/* The number of bytes buf_put_json_chars / buf_put_url_segment would
 * append for p[0..n), without writing them (to size a document first). */
size_t buf_json_chars_len(const void *p, size_t n);
size_t buf_url_segment_len(const void *p, size_t n);

/* Copies src into dst (cap bytes, cap > 0), cut to fit and always
 * terminated: snprintf(dst, cap, "%s", src) without the printf. */
void str_copy(char *dst, size_t cap, const char *src);

#endif
