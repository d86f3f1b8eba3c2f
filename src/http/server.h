/* server: the HTTP front end on libmicrohttpd.
 *
 * It owns everything every response shares: reading the request (headers,
 * query arguments, a bounded body), content negotiation (406/415), the
 * SPEC §4 headers, the weak ETag and its 304, the request id, x-runtime,
 * and the one log line per request. Handlers only fill an http_response:
 * a status and a body. Which media types a route accepts is the
 * application's decision (http/negotiate.h has the rules). Threading: one thread per connection, because a
 * handler may wait up to the node deadline and must not hold up others. */
#ifndef AC_HTTP_SERVER_H
#define AC_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

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

/* Whether the client has closed the connection (or it broke) while the
 * handler worked: a long handler checks before its expensive part and
 * answers 499 instead (nobody will read it). Bytes the client already
 * sent (a pipelined request) do not count as gone. */
bool http_client_gone(const http_request *req);

typedef struct http_server http_server;

/* Serves on an already bound and listening socket (ownership passes). */
http_server *http_server_start(int listen_fd, http_handler handler, void *app,
                               char err[256]);
void http_server_stop(http_server *s);

#endif
