/* app_internal: what the API's handlers share (not for other modules). */
#ifndef AC_API_APP_INTERNAL_H
#define AC_API_APP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "api/app.h"
#include "api/params.h"
#include "api/pushdown.h"
#include "api/registry.h"
#include "api/snapcache.h"
#include "auth/cidr.h"
#include "auth/policy.h"
#include "auth/throttle.h"
#include "http/response.h"
#include "jsonapi/document.h"
#include "live/live.h"
#include "nodes/fanout.h"
#include "util/budget.h"
#include "util/pool.h"

/* An admin user as the request path needs it, cached for user_cache_ms. */
typedef struct cached_user {
    int64_t id;
    bool found, enabled;
    char username[STORE_NAME_MAX];
    char roles[STORE_ROLES_MAX];
    cidr_list allowed; /* empty = any address */
    int64_t loaded_ms;
} cached_user;

typedef struct metrics_state metrics_state;
typedef struct event_hub event_hub;

struct app {
    app_config cfg;
    char public_url[512];
    char fallback_base[128];
    unsigned char *secret;
    store *st;
    registry *reg;
    node_pool *pool;
    live_view *live;         /* the latest snapshot of the cluster (live/live.h) */
    pushdown *pushdown;      /* nodes that refused filtered listings lately */
    snapcache *docs_cache;   /* documents of the newest snapshot */
    snapcache *charts_cache; /* charts of the newest complete slot (api/samples.c) */
    metrics_state *metrics;  /* /metrics: access, the snapshot's text, series gone (api/metrics_page.c) */
    event_hub *events;       /* the event stream (api/event_stream.c) */
    monitor *monitor;        /* the calls monitor, or NULL when off (monitor/monitor.h) */
    worker_pool *cpu;        /* CPU work of requests: parsing big replies, writing big documents */
    budget *docs;            /* bytes of listing documents being written */
    policy *pol;
    pthread_rwlock_t pol_mu; /* pol, which a reload swaps (app_reload) */
    cidr_list trusted;
    login_throttle *thr;
    pthread_mutex_t users_mu;
    cached_user *users; /* small cache, linear scan */
    size_t nusers;
    params_limits limits; /* of query parameters: page sizes from cfg; the counts' sort keys */
    /* what a reload may change while requests read it (app_reload); read
     * these, not cfg's copies */
    atomic_int token_lifetime_s;
    atomic_int inflight_wait_ms;
};

/* GET /metrics (api/metrics_page.c) */
metrics_state *metrics_state_new(live_view *live, int refresh_ms, const char *allow, const char *token_file,
                                 int keep_gone_s, char err[256]);
void metrics_state_free(metrics_state *m);
void api_metrics(app *a, const http_request *req, http_response *res);

/* The event stream (api/event_stream.c): the live view's consumer that
 * feeds the event engine and wakes the streams. */
typedef struct event_hub_config {
    size_t ring_events; /* the engine's ring: events at most ... */
    int ring_age_s;     /* ... and rounds this young (docs/API.md) */
    size_t queue_bytes; /* a stream's unsent bytes above this when events come: overflow */
    int refresh_ms;     /* the live view's period (how long the hub lingers) */
} event_hub_config;
typedef struct event_hub_stats {
    size_t streams;
    uint64_t overflows, expired; /* streams closed for either, so far */
    uint64_t events, renders;    /* the engine's (live/events.h) */
} event_hub_stats;
event_hub *event_hub_new(live_view *live, const event_hub_config *cfg, char err[256]);
/* After the server stopped (every stream closed). */
void event_hub_free(event_hub *h);
event_hub_stats event_hub_get_stats(event_hub *h);

/* Who is asking, once the guard let the request through. */
typedef struct auth_subject {
    int64_t id;
    char username[STORE_NAME_MAX];
    char client[64];
    int64_t token_until; /* unix second at which the token is expired */
    bool may_remove;     /* the roles allow `remove` too */
} auth_subject;

#define POLICY_SECTION "RealtimeData/ActiveCall"

/* Token check (401, empty body) and role check for `action` (403). True when
 * the request may go on; otherwise res holds the answer, or the request
 * moved to a worker to read the user from the store (http_to_worker) and
 * the caller returns at once all the same. */
bool guard_request(app *a, const http_request *req, const char *action, http_response *res,
                   auth_subject *who);
void guard_free_cache(app *a);

/* POST /api/rest/admin/auth */
void api_login(app *a, const http_request *req, http_response *res);

/* /active-calls/{rest}: show, drop, relationships, related (api/call_show.c) */
void api_call(app *a, const http_request *req, const auth_subject *who, const char *rest, http_response *res);

/* /{type}/{id}: read-only show of a related type (api/resource_show.c) */
void api_show_resource(app *a, const http_request *req, int type, const char *id, http_response *res);

/* The base URL for links, or false (and a 400 in res) when the Host header
 * cannot be used. `storage` holds the text the base points into. */
bool app_base_url(const app *a, const http_request *req, http_response *res, char storage[300],
                  doc_base *base);

/* 405 for `method` on a resource that takes the methods in `allow`
 * ("GET, HEAD"): the Allow header and the JSON:API error. */
void app_method_not_allowed(http_response *res, const char *method, const char *allow);

void api_list_calls(app *a, const http_request *req, http_response *res);
/* GET /api/rest/admin/active-call-counts */
void api_call_counts(app *a, const http_request *req, http_response *res);
/* /, /console and /console/<file>: the operator console (api/console.c) */
void api_console(app *a, const http_request *req, http_response *res);
/* /api/rest/admin/openapi.json: the API's description (api/openapi.c) */
void api_openapi(const http_request *req, http_response *res);
/* GET /api/rest/admin/active-call-events (api/event_stream.c): negotiates itself */
void api_call_events(app *a, const http_request *req, const auth_subject *who, http_response *res);
/* GET /api/rest/admin/monitor-decisions (api/monitor_page.c) */
void api_monitor_decisions(app *a, const http_request *req, http_response *res);
/* GET /api/rest/admin/active-call-samples (api/samples.c) */
void api_call_samples(app *a, const http_request *req, http_response *res);

#endif
