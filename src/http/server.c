/* server: libmicrohttpd glue; see server.h.
 *
 * Request flow: MHD calls `on_request` once when the headers are in
 * (we allocate the per-request context and check the body's media type),
 * then with body chunks (kept up to MAX_BODY), then a last time with no
 * data: we collect the query arguments, run the handler, and `respond`
 * adds the shared headers, decides 304, queues the response and logs.
 *
 * Compression (issue 6): a body of at least GZIP_MIN bytes goes out gzip'd
 * (zlib, level GZIP_LEVEL) when the client's Accept-Encoding allows gzip
 * (q > 0, directly or through `*`). It then carries content-encoding: gzip,
 * vary: Accept, Accept-Encoding, and its own weak ETag (the identity tag
 * with "-gz" inside the quotes), against which If-None-Match is compared;
 * 304s and empty bodies are never compressed.
 *
 * Timing: handlers may mark phases (util/phase.h); when they did, the
 * response carries a Server-Timing header (pre, fanout, parse, filter,
 * write, gzip in ms) and, at debug level, a `msg=timing` line is logged once
 * the response is sent, adding `send`. ACTIVECALLS_LOG_LEVEL=debug in the
 * environment turns debug lines on. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <openssl/rand.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>
#define XXH_INLINE_ALL /* from the packaged header: XXH3_state_t on the stack, no allocation per ETag */
#include <xxhash.h>
#include <zlib.h>

#include "http/negotiate.h"
#include "jsonapi/errors.h"
#include "util/log.h"
#include "util/phase.h"

#define MAX_BODY (1024 * 1024)
#define MAX_PARAMS 256
#define BODY_HINT_MAX (64 * 1024) /* largest body buffer reserved up front */
#define GZIP_MIN 1024 /* smaller bodies are not worth a deflate stream */
#define GZIP_LEVEL 1  /* BENCHMARKS.md: level 1 vs 3 on the 20,000-call listing */

struct http_server {
    struct MHD_Daemon *d;
    http_handler handler;
    void *app;
};

typedef struct req_ctx {
    int64_t started_us;
    buf body;
    bool body_too_large;
    size_t nparams;
    bool too_many_params;
    char request_id[201];
    buf forwarded_for; /* every X-Forwarded-For line, joined with ',' */
    bool timed;        /* the handler marked phases: log them when sent */
    phase_rec phases;
    int64_t queued_us;
    size_t sent_bytes;
    int status;
    query_param params[MAX_PARAMS]; /* last: only [0, nparams) is ever read, so not zeroed */
} req_ctx;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Random bytes for request ids, from a per-thread pool refilled with one
 * getrandom(2) per RID_POOL bytes (the kernel CSPRNG, as before, without
 * a syscall or a DRBG call per request). False when the kernel fails. */
#define RID_POOL 512
static bool rid_random(unsigned char out[16])
{
    static _Thread_local unsigned char pool[RID_POOL];
    static _Thread_local size_t left;
    if (left < 16) {
        size_t got = 0;
        while (got < sizeof pool) {
            ssize_t n = getrandom(pool + got, sizeof pool - got, 0);
            if (n <= 0) {
                if (n < 0 && errno == EINTR) continue;
                return false;
            }
            got += (size_t)n;
        }
        left = sizeof pool;
    }
    unsigned char *p = pool + sizeof pool - left;
    memcpy(out, p, 16);
    explicit_bzero(p, 16); /* a later dump of the pool does not reveal ids already used */
    left -= 16;
    return true;
}

static void new_uuid(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[16];
    if (!rid_random(r) && RAND_bytes(r, sizeof r) != 1) {
        /* the CSPRNG failing is not a reason to drop the request */
        int64_t t = now_us();
        memcpy(r, &t, sizeof t);
        memcpy(r + 8, &out, sizeof(void *));
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *o++ = '-';
        *o++ = hex[r[i] >> 4];
        *o++ = hex[r[i] & 15];
    }
    *o = '\0';
}

/* v / 10^decimals in fixed point ("12.345678"), as printf's %.Nf would
 * write the exact quotient; v >= 0. Returns the length. */
static size_t put_fixed(char *out, int64_t v, int decimals)
{
    char tmp[32];
    size_t n = 0;
    if (v < 0) v = 0;
    for (int i = 0; i < decimals; i++) { tmp[n++] = (char)('0' + v % 10); v /= 10; }
    tmp[n++] = '.';
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    req_ctx *c = cls;
    if (c->nparams == MAX_PARAMS) { c->too_many_params = true; return MHD_NO; }
    c->params[c->nparams++] = (query_param){key ? key : "", value ? value : ""};
    return MHD_YES;
}

/* Repeated header lines are one comma-separated list (RFC 9110): a proxy
 * may add its own X-Forwarded-For line instead of extending the client's,
 * so reading only the first line would trust the client's words. */
static enum MHD_Result collect_forwarded(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value)
{
    req_ctx *c = cls;
    if (!key || strcasecmp(key, "X-Forwarded-For") != 0 || !value) return MHD_YES;
    if (c->forwarded_for.len + strlen(value) + 2 > 8192) {
        buf_reset(&c->forwarded_for); /* absurd: treat as malformed, i.e. not believed */
        buf_puts(&c->forwarded_for, "invalid");
        return MHD_NO;
    }
    if (c->forwarded_for.len) buf_putc(&c->forwarded_for, ',');
    buf_puts(&c->forwarded_for, value);
    return MHD_YES;
}

/* The body as the handler left it: `body`, then the non-empty `more` parts. */
typedef struct body_parts {
    const buf *part[1 + HTTP_MORE_PARTS];
    size_t n;
    size_t len;
} body_parts;

static body_parts parts_of(const http_response *res)
{
    body_parts b = {.n = 0, .len = 0};
    if (res->body.len) b.part[b.n++] = &res->body;
    for (int i = 0; i < HTTP_MORE_PARTS; i++)
        if (res->more[i].len) b.part[b.n++] = &res->more[i];
    for (size_t i = 0; i < b.n; i++) b.len += b.part[i]->len;
    return b;
}

static bool parts_oom(const http_response *res)
{
    bool oom = res->body.oom;
    for (int i = 0; i < HTTP_MORE_PARTS; i++) oom |= res->more[i].oom;
    return oom;
}

static void parts_free(http_response *res)
{
    buf_free(&res->body);
    for (int i = 0; i < HTTP_MORE_PARTS; i++) buf_free(&res->more[i]);
}

/* The weak ETag of the identity body (all parts, in order: the same hash
 * as of one buffer holding them); `gz` marks the gzip'd representation. */
static void etag_of(const body_parts *b, bool gz, char out[48])
{
    XXH128_hash_t h;
    if (b->n <= 1) {
        h = XXH3_128bits(b->n ? b->part[0]->data : "", b->n ? b->part[0]->len : 0);
    } else {
        XXH3_state_t st;
        XXH3_INITSTATE(&st);
        XXH3_128bits_reset(&st);
        for (size_t i = 0; i < b->n; i++) XXH3_128bits_update(&st, b->part[i]->data, b->part[i]->len);
        h = XXH3_128bits_digest(&st);
    }
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    *p++ = 'W';
    *p++ = '/';
    *p++ = '"';
    for (int i = 60; i >= 0; i -= 4) *p++ = hex[(h.high64 >> i) & 15];
    for (int i = 60; i >= 0; i -= 4) *p++ = hex[(h.low64 >> i) & 15];
    if (gz) { memcpy(p, "-gz", 3); p += 3; }
    *p++ = '"';
    *p = '\0'; /* at most 3 + 32 + 3 + 2 = 40 bytes of 48 */
}

/* The gzip (RFC 1952) form of the body; NULL when zlib fails or memory runs out. */
static char *gzip_body(const body_parts *b, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, GZIP_LEVEL, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&z, (uLong)b->len) + 64 * b->n; /* + block ends between parts */
    char *out = b->len <= UINT32_MAX && cap <= UINT32_MAX ? malloc(cap) : NULL;
    bool ok = out != NULL;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    for (size_t i = 0; ok && i < b->n; i++) {
        z.next_in = (Bytef *)(uintptr_t)b->part[i]->data;
        z.avail_in = (uInt)b->part[i]->len;
        ok = deflate(&z, i + 1 == b->n ? Z_FINISH : Z_NO_FLUSH) == (i + 1 == b->n ? Z_STREAM_END : Z_OK) &&
             z.avail_in == 0;
    }
    *out_len = z.total_out;
    deflateEnd(&z);
    if (!ok) { free(out); return NULL; }
    char *shrunk = realloc(out, *out_len ? *out_len : 1);
    return shrunk ? shrunk : out;
}

/* A response from several parts, sent with one writev each time (no copy
 * into one buffer); the parts are freed when MHD is done with them. */
typedef struct owned_parts {
    size_t n;
    char *data[1 + HTTP_MORE_PARTS];
} owned_parts;

static void owned_parts_free(void *cls)
{
    owned_parts *o = cls;
    for (size_t i = 0; i < o->n; i++) free(o->data[i]);
    free(o);
}

static struct MHD_Response *response_from_parts(http_response *res, const body_parts *b)
{
    owned_parts *o = calloc(1, sizeof *o);
    struct MHD_IoVec iov[1 + HTTP_MORE_PARTS];
    if (!o) return NULL;
    for (size_t i = 0; i < b->n; i++) {
        iov[i] = (struct MHD_IoVec){b->part[i]->data, b->part[i]->len};
        o->data[o->n++] = b->part[i]->data;
    }
    struct MHD_Response *r = MHD_create_response_from_iovec(iov, (unsigned)b->n, owned_parts_free, o);
    if (!r) { free(o); return NULL; }
    /* MHD owns the memory now: forget it without freeing */
    buf_init(&res->body);
    for (int i = 0; i < HTTP_MORE_PARTS; i++) buf_init(&res->more[i]);
    return r;
}

/* "pre;dur=0.012, fanout;dur=..." from the phases the handler marked
 * (no printf: every listing sends it). */
static void server_timing(const phase_rec *ph, char *out, size_t cap)
{
    static const char *const names[PHASE_COUNT] = {"pre", "fanout", "parse",
                                                   "filter", "write", "gzip"};
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < PHASE_COUNT; i++) {
        char num[32];
        put_fixed(num, ph->us[i], 3);
        const char *piece[4] = {i ? ", " : "", names[i], ";dur=", num};
        size_t need = 0;
        for (int k = 0; k < 4; k++) need += strlen(piece[k]);
        if (need >= cap - len) break;
        for (int k = 0; k < 4; k++) {
            size_t n = strlen(piece[k]);
            memcpy(out + len, piece[k], n);
            len += n;
        }
        out[len] = '\0';
    }
}

static void add_common_headers(struct MHD_Response *r, const char *request_id, int64_t us,
                               bool gz)
{
    char runtime[32];
    put_fixed(runtime, us, 6);
    MHD_add_response_header(r, "vary", gz ? "Accept, Accept-Encoding" : "Accept");
    MHD_add_response_header(r, "cache-control", "max-age=0, private, must-revalidate");
    MHD_add_response_header(r, "x-request-id", request_id);
    MHD_add_response_header(r, "x-runtime", runtime);
    MHD_add_response_header(r, "x-frame-options", "SAMEORIGIN");
    MHD_add_response_header(r, "x-xss-protection", "0");
    MHD_add_response_header(r, "x-content-type-options", "nosniff");
    MHD_add_response_header(r, "x-permitted-cross-domain-policies", "none");
    MHD_add_response_header(r, "referrer-policy", "strict-origin-when-cross-origin");
}

/* Dotted IPv4 text, as inet_ntop writes it (which goes through sprintf:
 * a few percent of a small listing's CPU). out holds >= 16 bytes. */
static void ipv4_text(const struct in_addr *a, char *out)
{
    const unsigned char *b = (const unsigned char *)&a->s_addr; /* network order */
    char *p = out;
    for (int i = 0; i < 4; i++) {
        unsigned v = b[i];
        if (v >= 100) *p++ = (char)('0' + v / 100);
        if (v >= 10) *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        *p++ = i < 3 ? '.' : '\0';
    }
}

static void log_request(const char *method, const char *path, int status, size_t bytes,
                        double ms, const char *request_id, const struct sockaddr *peer)
{
    char addr[INET6_ADDRSTRLEN] = "-";
    if (peer && peer->sa_family == AF_INET)
        ipv4_text(&((const struct sockaddr_in *)peer)->sin_addr, addr);
    else if (peer && peer->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, addr, sizeof addr);
    buf line;
    log_begin(&line, LOG_INFO, "request");
    log_kv(&line, "method", method);
    log_kv(&line, "path", path);
    log_kv_i64(&line, "status", status);
    log_kv_i64(&line, "bytes", (int64_t)bytes);
    log_kv_ms(&line, "ms", ms);
    log_kv(&line, "request_id", request_id);
    log_kv(&line, "client", addr);
    log_end(&line, LOG_INFO);
}

static enum MHD_Result respond(struct MHD_Connection *conn, req_ctx *c, const char *method,
                               const char *path, http_response *res)
{
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    int status = res->status;
    body_parts parts = parts_of(res);
    bool has_body = parts.len > 0;
    bool gz = has_body && parts.len >= GZIP_MIN &&
              http_accepts_gzip(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding"));
    char etag[48] = "";
    if (has_body) etag_of(&parts, gz, etag);
    bool not_modified = status == 200 && has_body && inm &&
                        (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
                        http_etag_matches(inm, etag);
    size_t bytes = 0;
    struct MHD_Response *r;
    if (not_modified) {
        status = 304;
        r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    } else if (!has_body) {
        r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    } else {
        bytes = parts.len;
        char *data = NULL;
        if (gz) {
            int64_t t0 = now_us();
            data = gzip_body(&parts, &bytes);
            if (c->timed) phase_add(PHASE_GZIP, now_us() - t0);
            if (!data) { /* identity is always acceptable */
                gz = false;
                bytes = parts.len;
                etag_of(&parts, false, etag);
            }
        }
        if (data) {
            r = MHD_create_response_from_buffer(bytes, data, MHD_RESPMEM_MUST_FREE);
            if (!r) free(data);
        } else if (parts.n == 1 && parts.part[0] == &res->body) { /* the usual case: no part list */
            data = buf_steal(&res->body);
            r = data ? MHD_create_response_from_buffer(bytes, data, MHD_RESPMEM_MUST_FREE) : NULL;
            if (!r) free(data);
        } else {
            r = response_from_parts(res, &parts);
        }
    }
    if (!r) return MHD_NO;
    if (has_body) MHD_add_response_header(r, "etag", etag);
    if (has_body && !not_modified) {
        MHD_add_response_header(r, "content-type", res->content_type ? res->content_type : JSONAPI_MEDIA_TYPE);
        if (gz) MHD_add_response_header(r, "content-encoding", "gzip");
    }
    if (c->timed) {
        char st[256];
        c->phases = *phase_get();
        server_timing(&c->phases, st, sizeof st);
        MHD_add_response_header(r, "server-timing", st);
    }
    if (res->allow) MHD_add_response_header(r, "allow", res->allow);
    if (res->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", res->retry_after);
        MHD_add_response_header(r, "retry-after", ra);
    }
    int64_t took_us = now_us() - c->started_us;
    add_common_headers(r, c->request_id, took_us, gz);
    c->queued_us = now_us();
    c->sent_bytes = bytes;
    c->status = status;
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);

    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    log_request(method, path, status, bytes, (double)took_us / 1000.0, c->request_id,
                ci ? ci->client_addr : NULL);
    return ok;
}

static void error_response(http_response *res, int status, const char *code, const char *title,
                           const char *detail)
{
    res->status = status;
    jerr_single(&res->body, status, code, title, detail);
}

bool http_client_gone(const http_request *req)
{
    if (req->client_fd < 0) return false;
    char c;
    ssize_t r = recv(req->client_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && (errno == ECONNRESET || errno == ENOTCONN || errno == EPIPE ||
                                errno == ETIMEDOUT));
}

/* First call for a request: set up the context (request id, clock). */
static req_ctx *begin_request(struct MHD_Connection *conn)
{
    req_ctx *c = malloc(sizeof *c);
    if (!c) return NULL;
    memset(c, 0, offsetof(req_ctx, params));
    c->started_us = now_us();
    buf_init(&c->body);
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (http_request_id_sane(rid)) snprintf(c->request_id, sizeof c->request_id, "%s", rid);
    else new_uuid(c->request_id);
    return c;
}

/* Limits of the request itself; true when the response is decided.
 * (Media types are the application's call: they differ per route.) */
static bool reject_early(req_ctx *c, http_response *res)
{
    if (c->body_too_large) {
        error_response(res, 413, "413", "Payload too large", "The request body is over 1 MiB.");
        return true;
    }
    if (c->too_many_params) {
        error_response(res, 400, "400", "Bad request", "Too many query parameters.");
        return true;
    }
    return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    http_server *s = cls;
    req_ctx *c = *con_cls;
    if (!c) {
        c = begin_request(conn);
        if (!c) return MHD_NO;
        *con_cls = c;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (c->body.len + *upload_data_size > MAX_BODY) c->body_too_large = true;
        else buf_append(&c->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }

    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, c);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_forwarded, c);
    if (c->forwarded_for.len) buf_putc(&c->forwarded_for, '\0'); /* as a C string */
    http_response res = {.status = 500}; /* every buf zeroed: empty */
    /* Room for a body like this thread's previous one, so that a usual
     * document is written without the buffer doubling (and copying) its
     * way up from 256 bytes; capped, and only a hint. */
    static _Thread_local size_t last_body;
    if (last_body > 1024) buf_reserve(&res.body, last_body < BODY_HINT_MAX ? last_body : BODY_HINT_MAX);
    if (!reject_early(c, &res)) {
        http_request req = {
            .method = method,
            .path = url,
            .host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host"),
            .accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept"),
            .content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"),
            .authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
            .forwarded_for = c->forwarded_for.len ? c->forwarded_for.data : NULL,
            .params = c->params,
            .nparams = c->nparams,
            .body = c->body.data,
            .body_len = c->body.len,
            .request_id = c->request_id,
        };
        const union MHD_ConnectionInfo *fdi =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        req.client_fd = fdi ? fdi->connect_fd : -1;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) {
            size_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                                : sizeof(struct sockaddr_in);
            memcpy(&req.peer, ci->client_addr, len);
        }
        phase_reset();
        s->handler(s->app, &req, &res);
        if (phase_get()->used) {
            phase_lap(PHASE_WRITE); /* the rest of the handler: writing the document */
            c->timed = true;
        }
    }
    if (parts_oom(&res)) {
        parts_free(&res);
        error_response(&res, 500, "500", "Internal server error", "Out of memory.");
    }
    last_body = res.body.len;
    enum MHD_Result r = respond(conn, c, method, url, &res);
    parts_free(&res);
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req_ctx *c = *con_cls;
    if (!c) return;
    if (c->timed && c->queued_us && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        buf line;
        log_begin(&line, LOG_DEBUG, "timing");
        static const char *const keys[PHASE_COUNT] = {"pre_ms", "fanout_ms", "parse_ms",
                                                      "filter_ms", "write_ms", "gzip_ms"};
        for (int i = 0; i < PHASE_COUNT; i++)
            log_kv_ms(&line, keys[i], (double)c->phases.us[i] / 1000.0);
        log_kv_ms(&line, "send_ms", (double)(now_us() - c->queued_us) / 1000.0);
        log_kv_i64(&line, "status", c->status);
        log_kv_i64(&line, "bytes", (int64_t)c->sent_bytes);
        log_kv(&line, "request_id", c->request_id);
        log_end(&line, LOG_DEBUG);
    }
    buf_free(&c->body);
    buf_free(&c->forwarded_for);
    free(c);
    *con_cls = NULL;
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
    char text[256];
    vsnprintf(text, sizeof text, fmt, ap);
    size_t n = strlen(text);
    while (n && text[n - 1] == '\n') text[--n] = '\0';
    log_msg(LOG_WARN, "http: %s", text);
}

http_server *http_server_start(int listen_fd, http_handler handler, void *app, char err[256])
{
    http_server *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, 256, "out of memory"); close(listen_fd); return NULL; }
    s->handler = handler;
    s->app = app;
    const char *lvl = getenv("ACTIVECALLS_LOG_LEVEL");
    if (lvl && strcmp(lvl, "debug") == 0) log_set_level(LOG_DEBUG);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, s,
                            MHD_OPTION_LISTEN_SOCKET, listen_fd,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
                            MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, 256, "cannot start the HTTP server");
        close(listen_fd);
        free(s);
        return NULL;
    }
    return s;
}

void http_server_stop(http_server *s)
{
    if (!s) return;
    MHD_stop_daemon(s->d);
    free(s);
}
