/* server: the simulated node's network side - the TCP listener and a
 * single-threaded ppoll() event loop over non-blocking sockets.
 *
 * Every connection has its own input buffer (requests may be pipelined and
 * arrive in pieces), an output buffer written as the peer drains it (a slow
 * reader never blocks anyone else), and a queue of replies held back by
 * --delay-ms. Timers (delayed replies, churn ticks) are the ppoll timeout.
 * The fault modes are implemented here, because they are about what goes on
 * the wire, not about calls. */
#ifndef NODESIM_SERVER_H
#define NODESIM_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "calls.h"

typedef enum {
    SIM_FAULT_NONE = 0,
    SIM_FAULT_BLACKHOLE, /* read requests, never answer */
    SIM_FAULT_CLOSE,     /* close the connection when a request arrives */
    SIM_FAULT_GARBAGE,   /* answer with bytes that are not a netstring */
    SIM_FAULT_OVERSIZE,  /* announce a 1 GiB reply and stream filler */
} sim_fault;

typedef struct sim_server_opts {
    long delay_ms; /* hold every reply this long after its request arrived */
    sim_fault fault;
    bool churn;        /* calls end and start every SIM_CHURN_MS */
    bool log_requests; /* one stderr line per request decoded (rpc.h) */
    long long node_id; /* for log lines */
} sim_server_opts;

#define SIM_CHURN_MS 200

/* Splits "HOST:PORT" / "[V6]:PORT" into host (no brackets) and port.
 * 0, or -1 when the spec is malformed. */
int sim_parse_listen(const char *spec, char *host, size_t hostcap, char *port, size_t portcap);

/* Binds and listens; writes the bound address as "HOST:PORT" (IPv6 in
 * brackets, the real port) into bound. Returns the socket, or -1 with a
 * message in err. */
int sim_listen(const char *host, const char *port, char *bound, size_t boundcap, char *err, size_t errlen);

/* Runs until *stop is set (by a signal delivered during ppoll, which waits
 * with waitmask). Closes lfd. 0 on a clean stop, -1 on a fatal error. */
int sim_server_run(int lfd, sim_calls *calls, const sim_server_opts *opts, volatile sig_atomic_t *stop,
                   const sigset_t *waitmask);

#endif
