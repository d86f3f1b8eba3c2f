/* response: an http_response turned into the bytes that go on the wire.
 *
 * It owns what every answer shares: the status line, Content-Length and
 * Date, the security and caching headers (docs/API.md, "Headers"), the
 * request id and x-runtime, the weak ETag (XXH3-128 over the identity body,
 * with "-gz" inside the quotes for the gzip form) and the 304 it allows,
 * gzip when the client accepts it and the body is worth it, Server-Timing
 * when the handler marked phases, and `connection: close` when the
 * connection ends after this answer. A stream's head (res->stream) has
 * no Content-Length, no ETag and no gzip: its body ends with the
 * connection. The body's parts are handed over, not
 * copied: the head goes out first, then each part, with one writev. */
#ifndef AC_HTTP_RESPONSE_H
#define AC_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/server.h"
#include "util/phase.h"

typedef struct http_wire {
    buf head;    /* status line and headers, up to the empty line */
    char **part; /* the body's parts, owned (one allocation with part_len) ... */
    size_t *part_len;
    size_t nparts;
    void (*shared_done)(void *arg); /* ... but part[0], when set: a shared body (http_response_share) */
    void *shared_arg;
    size_t body_len; /* bytes sent after the head */
    int status;      /* as sent (304 when the ETag matched) */
} http_wire;

/* What the answer depends on in the request. */
typedef struct http_exchange {
    const char *method;
    const char *if_none_match;
    const char *accept_encoding;
    const char *request_id;
    int64_t started_us;
    const phase_rec *phases; /* non-NULL: this thread's phases (phase_get), gzip is added */
    bool close;              /* the connection closes after this answer */
} http_exchange;

/* Builds w from res (whose body buffers are taken over: res is empty
 * afterwards). False when memory ran out (w is then empty). */
bool http_wire_build(http_wire *w, http_response *res, const http_exchange *x);
void http_wire_free(http_wire *w);

/* The hash a body's ETag is made of (XXH3-128 of its bytes), for a
 * handler that keeps a document and sends it again (res->hashed). */
void http_body_hash(const char *p, size_t n, uint64_t out[2]);

/* The reason phrase of a status ("Not Found"); "Unknown" for others. */
const char *http_reason(int status);

/* Makes res the answer for an error: the status, and as the body (any
 * body written so far, more[] included, is dropped) the one-error JSON:API
 * document of jsonapi/errors.c with code = status as text. Every error
 * answer, the server's refusals and the handlers' errors, is made here. */
void http_error(http_response *res, int status, const char *title, const char *detail);

#endif
