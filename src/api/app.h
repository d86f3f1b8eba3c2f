/* app: the API application — configuration, shared state (store, node
 * registry, connection pool) and the router every HTTP request goes through. */
#ifndef AC_API_APP_H
#define AC_API_APP_H

#include <stdint.h>

#include "http/server.h"
#include "monitor/monitor.h"
#include "store/store.h"

typedef struct app_config {
    const char *public_url;    /* base of links; NULL = http:// + Host */
    const char *fallback_base; /* base when the request has no Host (HTTP/1.0) */
    int node_timeout_ms;       /* one deadline for a whole fan-out */
    uint64_t max_reply_bytes;  /* a node reply above this is cut off */
    size_t max_node_calls;     /* a node reply with more call records is refused */
    /* memory of listings (docs/API.md, "Memory") */
    uint64_t max_node_document_bytes; /* a node whose calls take more fails */
    uint64_t max_document_bytes;      /* a bigger listing document is a 507 */
    uint64_t max_inflight_bytes;      /* documents being written at once, in all */
    int inflight_wait_ms;             /* how long a listing waits for room, then 503 */
    int node_cache_ms;                /* TTL of the cached node list */
    /* pages of listings (docs/API.md, "Sorting and pages"): 1 <= default <= max */
    int64_t default_page_size; /* page[size] when only page[number] is given */
    int64_t max_page_size;     /* a larger page[size] is a 400 */
    int refresh_ms;            /* the live view's period while consumers watch it */
    /* GET /metrics (docs/METRICS.md) */
    const char *metrics_allow;      /* CIDR list that may read it; NULL = loopback */
    const char *metrics_token_file; /* a bearer token that may read it from anywhere; NULL = none */
    int metrics_keep_gone_s;        /* a series gone is written as 0 this long, then dropped */
    int history_interval_s;         /* the samples' grid (slot k at k * interval s); 0 = 60 */
    store *history_store;           /* the samples charts read (docs/API.md, "History"); NULL = the store */
    /* the event stream (docs/API.md, "The event stream") */
    size_t events_ring;        /* events kept for resuming, at most ... */
    int events_ring_age_s;     /* ... and no older than this */
    size_t stream_queue_bytes; /* a stream's unsent bytes above this when events come: overflow */
    const char *console_dir;   /* serve the console's files from here (NULL: the built-in ones) */
    monitor_config monitor;    /* the calls monitor (docs/API.md); mode OFF: none */

    /* authentication (docs/CONTRACT.md §6) */
    const unsigned char *secret; /* HS256 key bytes (copied) */
    size_t secret_len;
    int token_lifetime_s;           /* >= 1: every token carries exp (auth/jwt.h) */
    const char *policy_file;        /* NULL = only root may act */
    const char *trusted_proxies;    /* CIDR list; "" = none */
    int user_cache_ms;              /* TTL of cached admin users */
    int login_max_failures;         /* per (username, client address) ... */
    int login_max_address_failures; /* ... and per client address (IPv6: /64) ... */
    int login_window_s;             /* ... within this many seconds → 429 */
} app_config;

typedef struct app app;

app *app_new(const app_config *cfg, store *st, char err[256]);
void app_free(app *a);

/* SIGHUP: what may change while serving (docs/CONTRACTS.md, "Config
 * file and version"): the policy file, read again (next->policy_file
 * NULL: only root may act), the monitor's reconfigurable settings when
 * it runs, the token lifetime and the listing's wait for room. False
 * (err filled, nothing changed) when the policy cannot be loaded. */
bool app_reload(app *a, const app_config *next, char err[256]);

/* A snapshot of the live view at most max_age_ms old, waited for: for a
 * thread that may block (history/history.h, history_snapshot_fn; ctx is
 * the app). */
struct live_snap *app_snapshot_wait(void *ctx, int64_t max_age_ms, char err[256]);

/* The http_handler: routes and answers one request. */
void app_handle(void *app, const http_request *req, http_response *res);

#endif
