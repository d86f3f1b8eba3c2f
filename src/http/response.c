/* response: status line, shared headers, ETag/304, gzip and body parts;
 * see response.h. Header text is written without printf (every listing
 * pays for it). */
#include "http/response.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define XXH_INLINE_ALL /* from the packaged header: XXH3_state_t on the stack, no allocation per ETag */
#include <xxhash.h>

#include "http/compress.h"
#include "http/negotiate.h"
#include "jsonapi/errors.h"
#include "util/clock.h"

#define GZIP_MIN 1024 /* smaller bodies are not worth a deflate stream */

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    }
    return "Unknown";
}

void http_error(http_response *res, int status, const char *title, const char *detail)
{
    char code[8];
    char *p = code + sizeof code;
    *--p = '\0';
    int v = status;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v && p > code);
    res->status = status;
    http_response_clear_body(res);
    jerr_single(&res->body, status, p, title, detail);
}

/* v / 10^decimals in fixed point ("12.345678"), as printf's %.Nf would
 * write the exact quotient; v >= 0. */
static void put_fixed(buf *out, int64_t v, int decimals)
{
    char tmp[32];
    size_t n = 0;
    if (v < 0) v = 0;
    for (int i = 0; i < decimals; i++) {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    }
    tmp[n++] = '.';
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = n; i-- > 0;) buf_putc(out, tmp[i]);
}

static void hdr(buf *h, const char *name, const char *value)
{
    buf_puts(h, name);
    buf_append(h, ": ", 2);
    buf_puts(h, value);
    buf_append(h, "\r\n", 2);
}

/* "date: <IMF-fixdate>", formatted once per second per thread. */
static void date_header(buf *h)
{
    static _Thread_local time_t last;
    static _Thread_local char text[40];
    time_t now = time(NULL);
    if (now != last || !text[0]) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last = now;
    }
    hdr(h, "date", text);
}

/* The weak ETag of the identity body (all parts, in order: the same hash
 * as of one buffer holding them); `gz` marks the gzip'd representation. */
void http_body_hash(const char *p, size_t n, uint64_t out[2])
{
    XXH128_hash_t h = XXH3_128bits(p, n);
    out[0] = h.high64;
    out[1] = h.low64;
}

/* known: the body's hash when the handler gave it, else NULL. */
static void etag_of(char *const *part, const size_t *len, size_t n, const uint64_t *known, bool gz,
                    char out[48])
{
    XXH128_hash_t h;
    if (known) {
        h.high64 = known[0];
        h.low64 = known[1];
    } else {
        XXH3_state_t st;
        XXH3_INITSTATE(&st);
        XXH3_128bits_reset(&st);
        for (size_t i = 0; i < n; i++) XXH3_128bits_update(&st, part[i], len[i]);
        h = XXH3_128bits_digest(&st);
    }
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    *p++ = 'W';
    *p++ = '/';
    *p++ = '"';
    for (int i = 60; i >= 0; i -= 4) *p++ = hex[(h.high64 >> i) & 15];
    for (int i = 60; i >= 0; i -= 4) *p++ = hex[(h.low64 >> i) & 15];
    if (gz) {
        memcpy(p, "-gz", 3);
        p += 3;
    }
    *p++ = '"';
    *p = '\0';
}

/* "pre;dur=0.012, fanout;dur=..." from the phases the handler marked. */
static void server_timing(buf *h, const phase_rec *ph)
{
    static const char *const names[PHASE_COUNT] = {"pre", "fanout", "parse", "filter", "write", "gzip"};
    buf_puts(h, "server-timing: ");
    for (int i = 0; i < PHASE_COUNT; i++) {
        if (i) buf_append(h, ", ", 2);
        buf_puts(h, names[i]);
        buf_puts(h, ";dur=");
        put_fixed(h, ph->us[i], 3);
    }
    buf_append(h, "\r\n", 2);
}

/* Lets go of the body's parts: freed, or given back when shared. */
static void drop_parts(http_wire *w)
{
    for (size_t i = w->shared_done ? 1 : 0; i < w->nparts; i++) free(w->part[i]);
    if (w->shared_done) w->shared_done(w->shared_arg);
    w->shared_done = NULL;
    w->nparts = 0;
    w->body_len = 0;
}

void http_wire_free(http_wire *w)
{
    buf_free(&w->head);
    drop_parts(w);
    free(w->part);
    w->part = NULL;
    w->part_len = NULL;
    w->nparts = 0;
    w->body_len = 0;
}

bool http_response_more(http_response *res, size_t n)
{
    assert(res);
    buf *grown = realloc(res->more, (res->nmore + n) * sizeof *grown);
    if (!grown) return false;
    for (size_t i = 0; i < n; i++) buf_init(&grown[res->nmore + i]);
    res->more = grown;
    res->nmore += n;
    return true;
}

void http_response_share(http_response *res, const char *p, size_t n, void (*done)(void *), void *arg)
{
    assert(res && p && n && done && !res->shared_done);
    res->shared = p;
    res->shared_len = n;
    res->shared_done = done;
    res->shared_arg = arg;
}

static void static_done(void *arg) { (void)arg; } /* nothing to give back */

void http_response_share_static(http_response *res, const char *p, size_t n)
{
    http_response_share(res, p, n, static_done, NULL);
}

void http_response_clear_body(http_response *res)
{
    if (res->shared_done) res->shared_done(res->shared_arg);
    res->shared = NULL;
    res->shared_len = 0;
    res->shared_done = NULL;
    buf_reset(&res->body);
    for (size_t i = 0; i < res->nmore; i++) buf_free(&res->more[i]);
    free(res->more);
    res->more = NULL;
    res->nmore = 0;
}

/* Takes the body buffers of res into w (no copy); res keeps none. False
 * when memory ran out (res is emptied all the same). */
static bool take_parts(http_wire *w, http_response *res)
{
    size_t n = 1 + res->nmore;
    bool shared = res->shared_done != NULL;
    w->part = malloc((n + shared) * (sizeof *w->part + sizeof *w->part_len));
    bool ok = w->part != NULL;
    if (ok) w->part_len = (size_t *)(w->part + n + shared);
    if (shared && ok) { /* first: the shared bytes */
        w->part[0] = (char *)res->shared;
        w->part_len[0] = res->shared_len;
        w->nparts = 1;
        w->body_len = res->shared_len;
        w->shared_done = res->shared_done;
        w->shared_arg = res->shared_arg;
        res->shared_done = NULL;
    } else if (shared) {
        res->shared_done(res->shared_arg); /* out of memory: given back */
        res->shared_done = NULL;
    }
    res->shared = NULL;
    res->shared_len = 0;
    for (size_t i = 0; i < n; i++) {
        buf *src = i == 0 ? &res->body : &res->more[i - 1];
        if (!ok || !src->len) {
            buf_free(src);
            continue;
        }
        size_t len = src->len;
        char *data = buf_steal(src);
        if (!data) {
            ok = false;
            continue;
        }
        w->part[w->nparts] = data;
        w->part_len[w->nparts++] = len;
        w->body_len += len;
    }
    free(res->more);
    res->more = NULL;
    res->nmore = 0;
    return ok;
}

bool http_wire_build(http_wire *w, http_response *res, const http_exchange *x)
{
    assert(w && res && x && x->method);
    assert(!res->stream || (res->body.len == 0 && res->nmore == 0 && !res->shared));
    memset(w, 0, sizeof *w);
    buf_init(&w->head);
    bool oom = res->body.oom;
    for (size_t i = 0; i < res->nmore; i++) oom |= res->more[i].oom;
    if (oom) http_error(res, 500, "Internal server error", "Out of memory.");
    if (!take_parts(w, res)) {
        http_wire_free(w);
        return false;
    }

    int status = res->status;
    bool has_body = w->body_len > 0;
    bool head_only = strcmp(x->method, "HEAD") == 0;
    bool pre = has_body && res->gzipped; /* the handler's own gzip: sent as it is */
    bool gz = pre || (has_body && w->body_len >= GZIP_MIN && http_accepts_gzip(x->accept_encoding));
    char etag[48] = "";
    const uint64_t *known = res->hashed ? res->hash : NULL;
    if (has_body) etag_of(w->part, w->part_len, w->nparts, known, gz, etag);
    bool not_modified = status == 200 && has_body && x->if_none_match &&
        (strcmp(x->method, "GET") == 0 || head_only) && http_etag_matches(x->if_none_match, etag);
    if (gz && !pre && !not_modified) {
        int64_t t0 = clock_now_us();
        size_t zlen = 0;
        char *z = http_gzip((const char *const *)w->part, w->part_len, w->nparts, &zlen);
        if (x->phases) phase_add(PHASE_GZIP, clock_now_us() - t0);
        if (z) {
            drop_parts(w);
            w->part[0] = z;
            w->part_len[0] = zlen;
            w->nparts = 1;
            w->body_len = zlen;
        } else { /* identity is always acceptable */
            gz = false;
            etag_of(w->part, w->part_len, w->nparts, known, false, etag);
        }
    }
    size_t content_length = w->body_len;
    if (not_modified) status = 304;
    if (not_modified || head_only) drop_parts(w); /* no body on the wire */
    w->status = status;

    buf *h = &w->head;
    buf_puts(h, "HTTP/1.1 ");
    buf_put_i64(h, status);
    buf_putc(h, ' ');
    buf_puts(h, http_reason(status));
    buf_append(h, "\r\n", 2);
    if (status != 304 && status != 204 && !res->stream) { /* a stream's body ends with the connection */
        buf_puts(h, "content-length: ");
        buf_put_i64(h, (int64_t)content_length);
        buf_append(h, "\r\n", 2);
    }
    date_header(h);
    if (has_body) hdr(h, "etag", etag);
    if (has_body && !not_modified) {
        hdr(h, "content-type", res->content_type ? res->content_type : JSONAPI_MEDIA_TYPE);
        if (gz) hdr(h, "content-encoding", "gzip");
    }
    if (x->phases) server_timing(h, x->phases);
    if (res->allow) hdr(h, "allow", res->allow);
    if (res->headers) buf_puts(h, res->headers);
    if (res->has_age) {
        buf_puts(h, "age: ");
        buf_put_i64(h, res->age);
        buf_puts(h, "\r\n");
    }
    if (res->retry_after > 0) {
        buf_puts(h, "retry-after: ");
        buf_put_i64(h, res->retry_after);
        buf_append(h, "\r\n", 2);
    }
    if (res->stream) {
        hdr(h, "content-type", res->content_type ? res->content_type : JSONAPI_MEDIA_TYPE);
        hdr(h, "x-accel-buffering", "no"); /* nginx: pass each event on at once */
    }
    hdr(h, "vary", gz ? "Accept, Accept-Encoding" : "Accept");
    hdr(h, "cache-control", res->stream ? "no-cache" : "max-age=0, private, must-revalidate");
    hdr(h, "x-request-id", x->request_id);
    buf_puts(h, "x-runtime: ");
    put_fixed(h, clock_now_us() - x->started_us, 6);
    buf_append(h, "\r\n", 2);
    hdr(h, "x-frame-options", "SAMEORIGIN");
    hdr(h, "x-xss-protection", "0");
    hdr(h, "x-content-type-options", "nosniff");
    hdr(h, "x-permitted-cross-domain-policies", "none");
    hdr(h, "referrer-policy", "strict-origin-when-cross-origin");
    if (x->close || res->stream) hdr(h, "connection", "close");
    buf_append(h, "\r\n", 2);
    if (h->oom) {
        http_wire_free(w);
        return false;
    }
    return true;
}
