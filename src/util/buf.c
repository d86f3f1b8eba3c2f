/* buf: growable byte buffer and the JSON/URL escapers that write into it
 * (or only measure what they would write). See buf.h for the contract; the
 * escapers are on the hot path of every document, so they copy runs of
 * plain bytes with one memcpy. */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <assert.h>
#include <string.h>

void buf_init(buf *b) { memset(b, 0, sizeof *b); }

void buf_free(buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void buf_reset(buf *b)
{
    b->len = 0;
    b->oom = false;
}

bool buf_grow(buf *b, size_t extra)
{
    if (b->oom) return false;
    if (b->cap - b->len > extra) return true; /* keeps room for a NUL */
    if (extra > SIZE_MAX - b->len - 1) {
        b->oom = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    size_t cap = 256; /* the power of two that fits */
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

char *buf_steal(buf *b)
{
    if (!buf_reserve(b, 1)) return NULL;
    b->data[b->len] = '\0';
    char *p = b->data;
    memset(b, 0, sizeof *b);
    return p;
}

void buf_puts(buf *b, const char *s) { buf_append(b, s, strlen(s)); }

void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        buf_append(b, small, (size_t)n);
        return;
    }
    if (!buf_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_put_i64(buf *b, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof tmp, *p = end;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    buf_append(b, p, (size_t)(end - p));
}

size_t buf_i64_len(int64_t v)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = v < 0 ? 2 : 1;
    while (u >= 10) {
        u /= 10;
        n++;
    }
    return n;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one
 * (overlongs, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0;  /* overlong */
        if (c == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0;  /* overlong */
        if (c == 0xF4 && s[1] >= 0x90) return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

/* Does the valid UTF-8 sequence at s (k bytes) end a line for some reader
 * or control a terminal: a C1 control (U+0080..U+009F, NEL among them) or
 * U+2028 / U+2029? Its code point goes to *cp. */
static bool breaks_lines(const unsigned char *s, size_t k, unsigned *cp)
{
    if (k == 2 && s[0] == 0xC2 && s[1] <= 0x9F) {
        *cp = s[1];
        return true;
    }
    if (k == 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9)) {
        *cp = 0x2000u | (s[2] == 0xA8 ? 0x28u : 0x29u);
        return true;
    }
    return false;
}

/* Appends p[0..k) to b when there is a b; returns k. The escapers below
 * write with it, so that the same code also measures (b NULL). */
static inline size_t emit(buf *b, const void *p, size_t k)
{
    if (b) buf_append(b, p, k);
    return k;
}

static size_t put_u_escape(buf *b, unsigned cp)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', 'u', hex[cp >> 12 & 15], hex[cp >> 8 & 15], hex[cp >> 4 & 15], hex[cp & 15]};
    return emit(b, e, 6);
}

/* The JSON escaper, into b or (b NULL) only measuring. line_safe (a
 * constant at each call, so the document path pays nothing for it) also
 * escapes DEL and breaks_lines' characters. */
static inline __attribute__((always_inline)) size_t json_chars(buf *b, const unsigned char *s, size_t n,
                                                               bool line_safe)
{
    size_t len = 0;
    size_t run = 0; /* start of the pending run of bytes copied verbatim */
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < (line_safe ? 0x7f : 0x80)) {
            i++;
            continue;
        }
        size_t k = c >= 0x80 ? utf8_seq_len(s + i, n - i) : 0;
        unsigned cp = c;
        if (k && !(line_safe && breaks_lines(s + i, k, &cp))) {
            i += k;
            continue;
        }
        len += emit(b, s + run, i - run);
        switch (c) {
        case '"': len += emit(b, "\\\"", 2); break;
        case '\\': len += emit(b, "\\\\", 2); break;
        case '\n': len += emit(b, "\\n", 2); break;
        case '\r': len += emit(b, "\\r", 2); break;
        case '\t': len += emit(b, "\\t", 2); break;
        case '\b': len += emit(b, "\\b", 2); break;
        case '\f': len += emit(b, "\\f", 2); break;
        default:
            /* a control (C0, DEL, C1, U+2028/9), else a byte that is not valid UTF-8 */
            len += put_u_escape(b, c < 0x80 || k ? cp : 0xfffd);
        }
        i += k ? k : 1;
        run = i;
    }
    return len + emit(b, s + run, n - run);
}

void buf_put_json_chars(buf *b, const void *p, size_t n) { json_chars(b, p, n, false); }

size_t buf_json_chars_len(const void *p, size_t n) { return json_chars(NULL, p, n, false); }

void buf_put_json_line_str(buf *b, const void *p, size_t n)
{
    buf_putc(b, '"');
    json_chars(b, p, n, true);
    buf_putc(b, '"');
}

void buf_put_json_str(buf *b, const void *p, size_t n)
{
    buf_putc(b, '"');
    buf_put_json_chars(b, p, n);
    buf_putc(b, '"');
}

/* Which bytes a URL part keeps as they are, one bit per byte value for
 * bytes 0-63 and 64-127 (every byte from 128 on is encoded): a lookup,
 * not a chain of comparisons, as every call's self link goes through
 * here. A path segment keeps A-Z a-z 0-9, the unreserved -._~, the
 * sub-delimiters !$'()*+,;= and : @ (RFC 3986, pchar); a query's key or
 * value the same but & + ; = (what splits and decodes a query), and / ?
 * besides. */
static const uint64_t url_segment_keeps[2] = {0x2fff7f9200000000u, 0x47fffffe87ffffffu};
static const uint64_t url_query_keeps[2] = {0x87fff79200000000u, 0x47fffffe87ffffffu};

/* Percent-encodes s[0..n) into b, keeping the bytes of `keep`, or only
 * measures (b NULL); returns the length. */
static inline __attribute__((always_inline)) size_t url_encode(buf *b, const unsigned char *s, size_t n,
                                                               const uint64_t keep[2])
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = 0;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c < 128 && (keep[c >> 6] >> (c & 63) & 1)) continue;
        len += emit(b, s + run, i - run);
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        len += emit(b, e, 3);
        run = i + 1;
    }
    return len + emit(b, s + run, n - run);
}

void buf_put_url_segment(buf *b, const void *p, size_t n) { url_encode(b, p, n, url_segment_keeps); }

void buf_put_url_query_part(buf *b, const void *p, size_t n) { url_encode(b, p, n, url_query_keeps); }

size_t buf_url_segment_len(const void *p, size_t n) { return url_encode(NULL, p, n, url_segment_keeps); }

void str_copy(char *dst, size_t cap, const char *src)
{
    assert(dst && cap > 0 && src);
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}
