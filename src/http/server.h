/* server: the HTTP/1.1 front end, event-driven.
 *
 * A few event loops (epoll, one thread each: one per core by default)
 * share the listening socket; the loop that accepts a connection owns it
 * for life: it reads and parses its requests (http/request.h), enforces
 * the limits below (the caps count across loops), and writes its answers.
 * A complete request's handler runs on that loop too, unless it
 * would block or work long: then it moves to a fixed pool of worker
 * threads (util/pool.h, http_to_worker below). Its http_response becomes
 * bytes (http/response.h), which the loop sends. So an idle or slow
 * connection costs memory, never a thread, and the number of threads is
 * fixed at start. Every answer, refusals included, is a JSON:API document
 * with the shared headers; refusals at the connection level are counted and
 * logged in aggregate (http/access_log.h). docs/API.md, "The front door",
 * has the rules and the defaults. */
#ifndef AC_HTTP_SERVER_H
#define AC_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "auth/cidr.h"
#include "http/request.h"
#include "util/buf.h"

typedef struct http_request {
    const char *method;
    const char *path; /* percent-decoded, without the query */
    const char *host; /* NULL when absent, as are the other headers */
    const char *accept;
    const char *accept_encoding;
    const char *content_type;
    const char *authorization;
    const char *cache_control; /* one line; "no-cache" when repeated (http_max_age) */
    const char *forwarded_for; /* X-Forwarded-For */
    const char *last_event_id; /* an event stream's resume point */
    const query_param *params; /* query arguments in order */
    size_t nparams;
    const char *body;
    size_t body_len;
    const char *request_id;
    struct sockaddr_storage peer;
    int client_fd; /* the connection's socket (-1 unknown): see http_client_gone */
} http_request;

typedef struct http_response {
    int status;
    buf body; /* JSON text; empty = no body */
    /* The body may continue in more[0..nmore), in order: a handler that
     * writes a large document in slices on several threads hands over each
     * slice's buffer as it is, without copying them together. Usually
     * none (http_response_more). */
    buf *more;
    size_t nmore;
    const char *content_type; /* NULL = application/vnd.api+json */
    const char *allow;        /* for 405 */
    int retry_after;          /* seconds, for 429; 0 = none */
    bool hashed;              /* hash holds the body's hash (http_body_hash): not computed again */
    uint64_t hash[2];
    const char *route; /* a constant naming the route, for the metrics (NULL: "other") */
    bool listing;      /* the body is a listing document (its bytes are counted) */
    bool gzipped;      /* the body is gzip already (members in order): sent with
                        * Content-Encoding: gzip, never compressed again */
    bool has_age;      /* an answer from a snapshot: Age header ... */
    int64_t age;       /* ... of this many seconds */
    /* The body's first bytes, which res does not own (http_response_share):
     * sent as they are, without a copy, then given back with
     * shared_done(shared_arg). */
    const char *shared;
    size_t shared_len;
    void (*shared_done)(void *arg);
    void *shared_arg;
    bool stream; /* the head of a stream (http_stream_open): no body, no length */
    /* More header lines, "name: value\r\n" each, sent as they are (a
     * constant of the handler's: Location, Content-Security-Policy), or NULL. */
    const char *headers;
} http_response;

typedef void (*http_handler)(void *app, const http_request *req, http_response *res);

/* Gives res n more (empty) body buffers after those it has; false when
 * memory ran out. */
bool http_response_more(http_response *res, size_t n);
/* Empties the body: res->body reset (its memory kept), the others freed,
 * a shared body given back. */
void http_response_clear_body(http_response *res);
/* Makes the n bytes at p the start of res's body, not copied (what
 * res->body and more[] hold follows them): they must stay as they are
 * until done(arg), which the server calls once, when they are sent or
 * dropped. One shared part per answer. */
void http_response_share(http_response *res, const char *p, size_t n, void (*done)(void *), void *arg);
/* The same for bytes that live as long as the process (files built in). */
void http_response_share_static(http_response *res, const char *p, size_t n);

/* A request runs as steps: the handler, then a continuation after each
 * wait. Every step starts on its connection's event loop thread, where
 * it must not block. A step that would block (the store, bcrypt, waiting for
 * memory) or work long (a big document) first calls http_to_worker(req):
 * true means the step will run again, from its start, on a worker thread,
 * and must return at once without touching req or res (it has not written
 * res yet); false means it runs on a worker already and may go on.
 *
 * A step that must wait (for the nodes) calls http_defer before it starts
 * waiting and returns with res not yet filled. Later, from any thread,
 * http_continue(req, fn, arg) makes fn(arg) the next step; fn fills res,
 * and when it returns the answer is sent (unless fn waits again: a request
 * may wait several times). req and res stay valid until then. */
bool http_to_worker(const http_request *req);
void http_defer(const http_request *req);
void http_continue(const http_request *req, void (*fn)(void *arg), void *arg);

/* Whether the client has closed the connection (or it broke) while the
 * handler worked: a long handler checks before its expensive part and
 * answers 499 instead (nobody will read it). Bytes the client already
 * sent (a pipelined request) do not count as gone. */
bool http_client_gone(const http_request *req);

/* Streams: an answer that stays open (the event stream, docs/API.md).
 *
 * A handler step may make its answer a stream: the head goes out as soon
 * as the step ends (status 200, res->content_type, no Content-Length: the
 * body ends when the connection closes, which it does after the stream),
 * and then the connection carries whatever the stream's source puts, until
 * the source ends it, the client leaves, a send makes no progress for
 * send_timeout_ms, or the server stops. The source runs on the
 * connection's loop: when woken (http_stream_wake, from any thread) and
 * once a second (it keeps its own time: heartbeats, expiries), so it never
 * needs a timer or a thread of its own. What it puts is queued by
 * reference, sent with writev, and counted in max_unsent_bytes; how much a
 * stream may queue is the source's decision (http_stream_pending). */
typedef struct http_stream http_stream;

typedef struct http_stream_source {
    /* Puts what is due (http_stream_put); false: the stream ends once
     * what was put is sent. */
    bool (*pull)(void *arg, http_stream *st);
    /* The stream is over (or never opened: its request failed). Called
     * once, on the loop; the server does not use arg afterwards. */
    void (*closed)(void *arg);
} http_stream_source;

/* In a handler step: makes res the head of a stream fed by src with arg,
 * and returns it with one reference for the caller (http_stream_release),
 * which keeps the stream's memory, never its connection. NULL when the
 * server has max_streams open, or memory ran out: res is then unchanged
 * and src is not used. */
http_stream *http_stream_open(const http_request *req, http_response *res, const http_stream_source *src,
                              void *arg);
/* Any thread, while the caller holds its reference: pull runs soon on
 * the stream's loop (once, however many wakes came meanwhile). */
void http_stream_wake(http_stream *st);
void http_stream_release(http_stream *st);
/* In pull: queues the n bytes at p after what was put before, not copied:
 * they stay as they are until release(arg) (NULL: nothing to call), once,
 * when sent or dropped. False when memory ran out (release is called). */
bool http_stream_put(http_stream *st, const char *p, size_t n, void (*release)(void *), void *arg);
/* In pull: the bytes put and not yet taken by the client's socket. */
size_t http_stream_pending(const http_stream *st);

typedef struct http_server http_server;

#define HTTP_LOOPS_MAX 8 /* event loops at most */

typedef struct http_limits {
    size_t workers;                /* threads running the steps that block (http_to_worker) */
    size_t loops;                  /* event loops (threads) sharing the connections; 0 = one per core */
    size_t max_connections;        /* open connections, all clients together */
    size_t max_connections_per_ip; /* per client address (exempt: below); 0 = no cap */
    int request_timeout_ms;        /* a request's line, headers and body, from its first byte */
    int keepalive_timeout_ms;      /* an idle connection between requests */
    int send_timeout_ms;           /* a response that makes no progress */
    size_t max_head_bytes;         /* request line (else 414) and headers (else 431) */
    size_t max_body_bytes;         /* request body (else 413) */
    size_t max_unsent_bytes;       /* response bytes waiting for slow readers, in total */
    size_t max_streams;            /* open streams (http_stream_open), all clients together */
    const cidr_list *exempt;       /* addresses without a per-address cap (proxies), or NULL */
} http_limits;

/* The defaults (docs/API.md). */
void http_limits_default(http_limits *l);

/* Serves on an already bound and listening socket (ownership passes). */
http_server *http_server_start(int listen_fd, const http_limits *lim, http_handler handler, void *app,
                               char err[256]);

void http_server_stop(http_server *s);

#endif
