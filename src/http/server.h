/* server: the HTTP/1.1 front end, event-driven.
 *
 * One event loop (epoll) owns every connection: it accepts, reads and
 * parses requests (http/request.h), enforces the limits below, and writes
 * answers. A complete request is handed to a fixed pool of worker threads
 * (util/pool.h), which run the handler and turn its http_response into
 * bytes (http/response.h); the loop then sends them. So an idle or slow
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
#include "jsonapi/query.h"
#include "util/buf.h"

typedef struct http_request {
    const char *method;
    const char *path;          /* percent-decoded, without the query */
    const char *host;          /* NULL when absent, as are the other headers */
    const char *accept;
    const char *content_type;
    const char *authorization;
    const char *forwarded_for; /* X-Forwarded-For */
    const query_param *params; /* query arguments in order */
    size_t nparams;
    const char *body;
    size_t body_len;
    const char *request_id;
    struct sockaddr_storage peer;
    int client_fd;             /* the connection's socket (-1 unknown): see http_client_gone */
} http_request;

#define HTTP_MORE_PARTS 4

typedef struct http_response {
    int status;
    buf body;                 /* JSON text; empty = no body */
    /* The body may continue in these buffers, in order: a handler that
     * writes a large document on several threads hands over each thread's
     * part as it is, without copying them together. Usually all empty. */
    buf more[HTTP_MORE_PARTS];
    const char *content_type; /* NULL = application/vnd.api+json */
    const char *allow;        /* for 405 */
    int retry_after;          /* seconds, for 429; 0 = none */
} http_response;

typedef void (*http_handler)(void *app, const http_request *req, http_response *res);

/* A handler that must wait (for the nodes) calls http_defer before it
 * starts waiting and returns with res not yet filled: the worker thread is
 * free at once. Later, from any thread, http_continue(req, fn, arg) runs
 * fn(arg) on a worker thread; fn fills res, and when it returns the
 * answer is sent (unless fn calls http_defer again: a request may wait
 * several times). req and res stay valid until then. */
void http_defer(const http_request *req);
void http_continue(const http_request *req, void (*fn)(void *arg), void *arg);

/* Whether the client has closed the connection (or it broke) while the
 * handler worked: a long handler checks before its expensive part and
 * answers 499 instead (nobody will read it). Bytes the client already
 * sent (a pipelined request) do not count as gone. */
bool http_client_gone(const http_request *req);

typedef struct http_server http_server;

typedef struct http_limits {
    size_t workers;                /* threads running handlers */
    size_t max_connections;        /* open connections, all clients together */
    size_t max_connections_per_ip; /* per client address (exempt: below); 0 = no cap */
    int request_timeout_ms;        /* a request's line, headers and body, from its first byte */
    int keepalive_timeout_ms;      /* an idle connection between requests */
    int send_timeout_ms;           /* a response that makes no progress */
    size_t max_head_bytes;         /* request line (else 414) and headers (else 431) */
    size_t max_body_bytes;         /* request body (else 413) */
    size_t max_unsent_bytes;       /* response bytes waiting for slow readers, in total */
    const cidr_list *exempt;       /* addresses without a per-address cap (proxies), or NULL */
} http_limits;

/* The defaults (docs/API.md). */
void http_limits_default(http_limits *l);

/* Serves on an already bound and listening socket (ownership passes). */
http_server *http_server_start(int listen_fd, const http_limits *lim, http_handler handler,
                               void *app, char err[256]);

void http_server_stop(http_server *s);

#endif
