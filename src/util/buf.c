/* buf: growable byte buffer and the JSON/URL escapers that write into it.
 * See buf.h for the contract; the escapers are on the hot path of every
 * document, so they copy runs of plain bytes with one memcpy. */
#include "util/buf.h"

#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- big blocks ------------------------------------------------------------
 *
 * A listing of 20,000 calls is a 135 MB document. Blocks that big come
 * from mmap and go back to the kernel on free, so every such listing paid a
 * page fault and a page clear for each 4 KiB it wrote: about half of its
 * write time, measured. So the blocks of sent responses (buf_block_free,
 * called by the HTTP server once a body has gone out) are kept for reuse:
 * at most BIG_KEEP of them, BIG_KEEP_BYTES in all, and a block idle for
 * BIG_KEEP_SECONDS is released at the next allocation or free. A buf
 * growing past BIG_MIN takes the smallest kept block that fits well.
 *
 * Only response bodies are kept, not every big buffer: a kept block is
 * resident memory, and keeping the node replies and parsed text too would
 * add their size to the peak of the next listing (measured: 2.9x the body
 * instead of 1.7x), for a few milliseconds of page faults. */
#define BIG_MIN ((size_t)1 << 20)
#define BIG_KEEP 16
#define BIG_KEEP_BYTES ((size_t)384 << 20)
#define BIG_KEEP_SECONDS 10

typedef struct big_block {
    char *p;
    size_t cap;
    time_t since;
} big_block;

static big_block kept[BIG_KEEP];
static size_t kept_n, kept_bytes;
static pthread_mutex_t kept_mu = PTHREAD_MUTEX_INITIALIZER;

static time_t mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Removes kept[i]; the caller holds the mutex. */
static char *kept_remove(size_t i)
{
    char *p = kept[i].p;
    kept_bytes -= kept[i].cap;
    kept[i] = kept[--kept_n];
    return p;
}

/* Frees blocks idle too long; the caller holds the mutex. Returns them in
 * `out` (freed outside the lock). */
static size_t kept_expire(time_t now, char *out[BIG_KEEP])
{
    size_t n = 0;
    for (size_t i = 0; i < kept_n;)
        if (now - kept[i].since >= BIG_KEEP_SECONDS) out[n++] = kept_remove(i);
        else i++;
    return n;
}

/* The smallest kept block of `want` to 2 x `want` bytes, or NULL (a kept
 * block is resident memory: lending a much bigger one would waste it). When
 * none fits, the kept blocks smaller than `want` are released: the caller
 * is about to take fresh memory, and keeping blocks that did not fit would
 * only raise the process's peak. */
static char *big_take(size_t want, size_t *cap)
{
    char *drop[BIG_KEEP];
    char *p = NULL;
    pthread_mutex_lock(&kept_mu);
    size_t ndrop = kept_expire(mono_seconds(), drop);
    size_t best = kept_n;
    for (size_t i = 0; i < kept_n; i++)
        if (kept[i].cap >= want && kept[i].cap - want <= want + 65536 && /* + mmap's rounding */
            (best == kept_n || kept[i].cap < kept[best].cap))
            best = i;
    if (best < kept_n) {
        *cap = kept[best].cap;
        p = kept_remove(best);
    } else {
        for (size_t i = 0; i < kept_n;)
            if (kept[i].cap < want) drop[ndrop++] = kept_remove(i);
            else i++;
    }
    pthread_mutex_unlock(&kept_mu);
    for (size_t i = 0; i < ndrop; i++) free(drop[i]);
    return p;
}

void buf_block_free(void *block)
{
    if (!block) return;
    size_t cap = malloc_usable_size(block);
    char *stale[BIG_KEEP];
    size_t nstale = 0;
    if (cap >= BIG_MIN) {
        pthread_mutex_lock(&kept_mu);
        time_t now = mono_seconds();
        nstale = kept_expire(now, stale);
        if (kept_n < BIG_KEEP && kept_bytes + cap <= BIG_KEEP_BYTES) {
            kept[kept_n++] = (big_block){block, cap, now};
            kept_bytes += cap;
            block = NULL;
        }
        pthread_mutex_unlock(&kept_mu);
    }
    free(block);
    for (size_t i = 0; i < nstale; i++) free(stale[i]);
}

/* ---- buf -------------------------------------------------------------------- */

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
    if (extra > SIZE_MAX - b->len - 1) { b->oom = true; return false; }
    size_t need = b->len + extra + 1;
    size_t cap = 256; /* the power of two that fits (a kept block's size may be any) */
    while (cap < need) {
        if (cap > SIZE_MAX / 2) { cap = need; break; }
        cap *= 2;
    }
    size_t kept_cap;
    char *p = cap >= BIG_MIN ? big_take(cap, &kept_cap) : NULL;
    if (p) {
        if (b->len) memcpy(p, b->data, b->len);
        free(b->data);
        cap = kept_cap;
    } else {
        p = realloc(b->data, cap);
        if (!p) { b->oom = true; return false; }
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
    if ((size_t)n < sizeof small) { buf_append(b, small, (size_t)n); return; }
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
    do { *--p = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) *--p = '-';
    buf_append(b, p, (size_t)(end - p));
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
        if (c == 0xE0 && s[1] < 0xA0) return 0;     /* overlong */
        if (c == 0xED && s[1] >= 0xA0) return 0;    /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0;     /* overlong */
        if (c == 0xF4 && s[1] >= 0x90) return 0;    /* above U+10FFFF */
        return 4;
    }
    return 0;
}

void buf_put_json_chars(buf *b, const void *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = p;
    size_t run = 0; /* start of the pending run of bytes copied verbatim */
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) { i++; continue; }
        if (c >= 0x80) {
            size_t k = utf8_seq_len(s + i, n - i);
            if (k) { i += k; continue; }
        }
        buf_append(b, s + run, i - run);
        switch (c) {
        case '"': buf_append(b, "\\\"", 2); break;
        case '\\': buf_append(b, "\\\\", 2); break;
        case '\n': buf_append(b, "\\n", 2); break;
        case '\r': buf_append(b, "\\r", 2); break;
        case '\t': buf_append(b, "\\t", 2); break;
        case '\b': buf_append(b, "\\b", 2); break;
        case '\f': buf_append(b, "\\f", 2); break;
        default:
            if (c < 0x20) {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                buf_append(b, e, 6);
            } else {
                buf_append(b, "\\ufffd", 6); /* a byte that is not valid UTF-8 */
            }
        }
        i++;
        run = i;
    }
    buf_append(b, s + run, n - run);
}

void buf_put_json_str(buf *b, const void *p, size_t n)
{
    buf_putc(b, '"');
    buf_put_json_chars(b, p, n);
    buf_putc(b, '"');
}

void buf_put_url_segment(buf *b, const void *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = p;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || c == '*' || c == '!' ||
                    c == '$' || c == '\'' || c == '(' || c == ')' || c == '+' || c == ',' ||
                    c == ';' || c == '=' || c == ':' || c == '@';
        if (keep) continue;
        buf_append(b, s + run, i - run);
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        buf_append(b, e, 3);
        run = i + 1;
    }
    buf_append(b, s + run, n - run);
}
