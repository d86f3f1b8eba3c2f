/* access_log: what the front door writes about requests — the request id,
 * the one line per answered request, and the refusals.
 *
 * Refusals at the connection level (a connection over a cap, a request
 * head that timed out, a malformed or oversized request, a client that
 * stopped reading) are counted per reason, and the counts are logged as
 * one `msg=refused` line at most once per second, so a flood of bad
 * connections cannot flood the log. */
#ifndef AC_HTTP_ACCESS_LOG_H
#define AC_HTTP_ACCESS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A fresh request id (UUID v4 text) into out[37]. */
void http_new_request_id(char out[37]);

/* The client address as text ("-" when unknown); out holds >= 46 bytes. */
void http_addr_text(const struct sockaddr *peer, char *out);

void http_log_request(const char *method, const char *path, int status, size_t bytes, int64_t us,
                      const char *request_id, const struct sockaddr *peer);

typedef enum {
    REFUSE_PER_IP,       /* over --max-connections-per-ip */
    REFUSE_GLOBAL,       /* over --max-connections, or out of file descriptors */
    REFUSE_HEAD_TIMEOUT, /* request head (or body) not in within the deadline */
    REFUSE_IDLE_TIMEOUT, /* keep-alive connection idle too long (not an error: counted) */
    REFUSE_SEND_TIMEOUT, /* the client stopped reading its response */
    REFUSE_MALFORMED,    /* 400/501/505 at the HTTP layer */
    REFUSE_TOO_LARGE,    /* 413/414/431 */
    REFUSE_BUSY,         /* 503: responses waiting to be sent are over budget */
    REFUSE_COUNT
} refuse_reason;

/* Counts one refusal (any thread). `peer` may be NULL. */
void http_refused(refuse_reason why, const struct sockaddr *peer);
/* Writes the aggregate line when anything was counted and at least a
 * second has passed since the last one; `force` writes it now. */
void http_refusals_flush(int64_t now_ms, bool force);

#endif
