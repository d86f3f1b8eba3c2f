/* app: application state and the router. Routes are few and fixed, so the
 * router is a plain comparison of the decoded path; every answer that is
 * not a handler's own (unknown path, wrong method) is a JSON:API error. */
#include "api/app_internal.h"
#include "api/listing.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/negotiate.h"

#define MAX_IDLE_PER_NODE 16

/* The live view's node list: the registry's (live/live.h, live_source). */
static void *live_nodes_get(void *ctx, live_nodes *out, char err[256])
{
    app *a = ctx;
    char e[STORE_ERR_LEN] = "";
    node_snapshot *s = registry_acquire(a->reg, e);
    if (!s) {
        snprintf(err, 256, "%s", e);
        return NULL;
    }
    *out = (live_nodes){s->n, s->targets, s->pop_ids};
    return s;
}

static void live_nodes_done(void *ctx, void *handle) { registry_release(((app *)ctx)->reg, handle); }

app *app_new(const app_config *cfg, store *st, char err[256])
{
    app *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, 256, "out of memory");
        return NULL;
    }
    a->cfg = *cfg;
    atomic_init(&a->token_lifetime_s, cfg->token_lifetime_s);
    atomic_init(&a->inflight_wait_ms, cfg->inflight_wait_ms);
    pthread_mutex_init(&a->users_mu, NULL);
    pthread_rwlock_init(&a->pol_mu, NULL);
    if (cfg->public_url) {
        snprintf(a->public_url, sizeof a->public_url, "%s", cfg->public_url);
        size_t n = strlen(a->public_url);
        while (n && a->public_url[n - 1] == '/') a->public_url[--n] = '\0';
    }
    snprintf(a->fallback_base, sizeof a->fallback_base, "%s",
             cfg->fallback_base ? cfg->fallback_base : "http://localhost");
    a->cfg.public_url = a->public_url[0] ? a->public_url : NULL;
    a->cfg.fallback_base = a->fallback_base;
    a->cfg.policy_file = NULL;
    a->cfg.trusted_proxies = NULL;
    a->st = st;

    if (!cfg->secret || cfg->secret_len == 0) {
        snprintf(err, 256, "no token secret configured");
        app_free(a);
        return NULL;
    }
    if (cfg->default_page_size < 1 || cfg->max_page_size < cfg->default_page_size) {
        snprintf(err, 256, "page sizes: the default must be between 1 and the maximum");
        app_free(a);
        return NULL;
    }
    a->limits = (params_limits){cfg->default_page_size, cfg->max_page_size, counts_sort_index};
    if (cfg->token_lifetime_s < 1) {
        snprintf(err, 256, "the token lifetime must be at least 1 second: tokens always carry exp");
        app_free(a);
        return NULL;
    }
    a->secret = malloc(cfg->secret_len);
    a->reg = registry_new(st, cfg->node_cache_ms);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    a->cpu = pool_new(cores > 2 ? (size_t)cores : 2);
    a->pool =
        a->cpu ? node_pool_new(cfg->max_reply_bytes, cfg->max_node_calls, MAX_IDLE_PER_NODE, a->cpu) : NULL;
    a->thr =
        login_throttle_new(cfg->login_max_failures, cfg->login_max_address_failures, cfg->login_window_s);
    a->docs = budget_new(cfg->max_inflight_bytes);
    if (a->pool && a->reg)
        a->live = live_new(a->pool, (live_source){live_nodes_get, live_nodes_done, a},
                           cfg->refresh_ms > 0 ? cfg->refresh_ms : 1000, cfg->node_timeout_ms);
    a->pushdown = pushdown_new();
    a->docs_cache = snapcache_new();
    a->charts_cache = snapcache_new();
    if (!a->secret || !a->reg || !a->pool || !a->thr || !a->docs || !a->live || !a->pushdown ||
        !a->docs_cache || !a->charts_cache) {
        snprintf(err, 256, "out of memory");
        app_free(a);
        return NULL;
    }
    memcpy(a->secret, cfg->secret, cfg->secret_len);
    a->cfg.secret = a->secret;

    int refresh_ms = cfg->refresh_ms > 0 ? cfg->refresh_ms : 1000;
    int keep_gone_s = cfg->metrics_keep_gone_s > 0 ? cfg->metrics_keep_gone_s : 900;
    if (!(a->metrics = metrics_state_new(a->live, refresh_ms, cfg->metrics_allow, cfg->metrics_token_file,
                                         keep_gone_s, err))) {
        app_free(a);
        return NULL;
    }
    event_hub_config ec = {
        .ring_events = cfg->events_ring ? cfg->events_ring : 50000,
        .ring_age_s = cfg->events_ring_age_s > 0 ? cfg->events_ring_age_s : 120,
        .queue_bytes = cfg->stream_queue_bytes ? cfg->stream_queue_bytes : (size_t)1 << 20,
        .refresh_ms = refresh_ms,
    };
    if (!(a->events = event_hub_new(a->live, &ec, err))) {
        app_free(a);
        return NULL;
    }
    if (cfg->monitor.mode != MONITOR_OFF) {
        monitor_config mc = cfg->monitor;
        mc.node_timeout_ms = cfg->node_timeout_ms;
        mc.refresh_ms = refresh_ms;
        if (!(a->monitor = monitor_new(&mc, a->live, st, a->pool, err))) {
            app_free(a);
            return NULL;
        }
    }
    char cerr[160];
    if (cidr_list_parse(cfg->trusted_proxies ? cfg->trusted_proxies : "", &a->trusted, cerr) != 0) {
        snprintf(err, 256, "--trusted-proxies: %s", cerr);
        app_free(a);
        return NULL;
    }
    if (cfg->policy_file && !(a->pol = policy_load(cfg->policy_file, err))) {
        app_free(a);
        return NULL;
    }
    return a;
}

bool app_reload(app *a, const app_config *next, char err[256])
{
    policy *pol = NULL;
    if (next->policy_file && !(pol = policy_load(next->policy_file, err))) return false;
    pthread_rwlock_wrlock(&a->pol_mu);
    policy *old = a->pol;
    a->pol = pol;
    pthread_rwlock_unlock(&a->pol_mu);
    policy_free(old);
    if (a->monitor && next->monitor.mode != MONITOR_OFF) monitor_reconfigure(a->monitor, &next->monitor);
    assert(next->token_lifetime_s >= 1 && next->inflight_wait_ms >= 0);
    atomic_store_explicit(&a->token_lifetime_s, next->token_lifetime_s, memory_order_relaxed);
    atomic_store_explicit(&a->inflight_wait_ms, next->inflight_wait_ms, memory_order_relaxed);
    return true;
}

void app_free(app *a)
{
    if (!a) return;
    monitor_free(a->monitor); /* first: these are the live view's consumers */
    metrics_state_free(a->metrics);
    event_hub_free(a->events); /* so is this; it holds snapshots too */
    live_free(a->live);        /* before the node pool its rounds run on, and the registry it reads */
    registry_free(a->reg);
    node_pool_free(a->pool);
    pool_free(a->cpu);
    budget_free(a->docs);
    pushdown_free(a->pushdown);
    snapcache_free(a->docs_cache);
    snapcache_free(a->charts_cache);
    login_throttle_free(a->thr);
    policy_free(a->pol);
    pthread_rwlock_destroy(&a->pol_mu);
    cidr_list_free(&a->trusted);
    guard_free_cache(a);
    if (a->secret) explicit_bzero(a->secret, a->cfg.secret_len);
    free(a->secret);
    pthread_mutex_destroy(&a->users_mu);
    free(a);
}

bool app_base_url(const app *a, const http_request *req, http_response *res, char storage[300],
                  doc_base *base)
{
    if (a->cfg.public_url) {
        base->url = a->cfg.public_url;
    } else if (!req->host) {
        base->url = a->cfg.fallback_base;
    } else if (http_host_valid(req->host)) {
        size_t n = strlen(req->host);
        assert(n + 8 <= 300); /* a valid host has at most 255 bytes */
        memcpy(storage, "http://", 7);
        memcpy(storage + 7, req->host, n + 1);
        base->url = storage;
    } else {
        http_error(res, 400, "Bad request", "The Host header is not a valid host name.");
        return false;
    }
    base->len = strlen(base->url);
    return true;
}

static bool is_get(const char *method) { return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0; }

void app_method_not_allowed(http_response *res, const char *method, const char *allow)
{
    assert(method != NULL && allow != NULL);
    res->allow = allow;
    char detail[128];
    snprintf(detail, sizeof detail, "%.16s is not allowed on this resource.", method);
    http_error(res, 405, "Method not allowed", detail);
}

/* JSON:API negotiation (docs/CONTRACT.md §4); the login also speaks plain JSON. */
static bool negotiate(const http_request *req, bool plain_json_too, http_response *res)
{
    bool accept_ok = plain_json_too ? http_accept_json_ok(req->accept) : http_accept_ok(req->accept);
    if (!accept_ok) {
        http_error(res, 406, "Not acceptable",
                   "All requests must accept the application/vnd.api+json media type.");
        return false;
    }
    if (req->body_len > 0 && !http_content_type_is(req->content_type, JSONAPI_MEDIA_TYPE) &&
        !(plain_json_too && http_content_type_is(req->content_type, "application/json"))) {
        http_error(res, 415, "Unsupported media type",
                   "Request bodies must use the application/vnd.api+json media type.");
        return false;
    }
    return true;
}

#define ADMIN_PREFIX "/api/rest/admin/"

/* GET /api/rest/admin/active-call-permissions: what the token's user may
 * do with calls (the console shows Drop only when it may). */
static void permissions(const auth_subject *who, http_response *res)
{
    buf_puts(&res->body, "{\"meta\":{\"actions\":{\"read\":true,\"remove\":");
    buf_puts(&res->body, who->may_remove ? "true" : "false");
    buf_puts(&res->body, "}}}");
    res->status = 200;
}

/* The read-only collections under the admin prefix. */
static const struct {
    const char *path;
    void (*get)(app *a, const http_request *req, http_response *res);
} collections[] = {
    {"active-calls", api_list_calls},
    {"active-call-counts", api_call_counts},
    {"active-call-samples", api_call_samples},
    {"monitor-decisions", api_monitor_decisions},
};

void app_handle(void *ctx, const http_request *req, http_response *res)
{
    app *a = ctx;
    const char *path = req->path;
    if (strcmp(path, "/") == 0 || strcmp(path, "/console") == 0 || strncmp(path, "/console/", 9) == 0) {
        api_console(a, req, res);
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        res->route = "metrics";
        if (is_get(req->method))
            api_metrics(a, req, res);
        else
            app_method_not_allowed(res, req->method, "GET, HEAD");
        return;
    }
    if (strcmp(path, ADMIN_PREFIX "auth") == 0) {
        res->route = "auth";
        if (!negotiate(req, true, res)) return;
        if (strcmp(req->method, "POST") != 0) {
            app_method_not_allowed(res, req->method, "POST");
            return;
        }
        api_login(a, req, res);
        return;
    }
    if (strcmp(path, ADMIN_PREFIX "openapi.json") == 0) { /* describes no data: no token, like the console */
        api_openapi(req, res);
        return;
    }
    if (strncmp(path, ADMIN_PREFIX, strlen(ADMIN_PREFIX)) != 0) {
        char detail[300];
        snprintf(detail, sizeof detail, "No route matches %.16s %.200s.", req->method, path);
        http_error(res, 404, "Not found", detail);
        return;
    }
    /* everything else under the admin prefix needs a token first: an
     * unauthenticated client learns nothing, not even about media types */
    auth_subject who;
    const char *action = strcmp(req->method, "DELETE") == 0 ? "remove" : "read";
    if (!guard_request(a, req, action, res, &who)) return;
    const char *rest = path + strlen(ADMIN_PREFIX);
    if (strcmp(rest, "active-call-events") == 0) { /* text/event-stream: its own negotiation */
        res->route = "active-call-events";
        api_call_events(a, req, &who, res);
        return;
    }
    if (!negotiate(req, false, res)) return;
    if (strcmp(rest, "active-call-permissions") == 0) {
        res->route = "active-call-permissions";
        if (is_get(req->method))
            permissions(&who, res);
        else
            app_method_not_allowed(res, req->method, "GET, HEAD");
        return;
    }

    for (size_t i = 0; i < sizeof collections / sizeof collections[0]; i++) {
        if (strcmp(rest, collections[i].path) != 0) continue;
        res->route = collections[i].path;
        res->listing = i == 0;
        if (is_get(req->method))
            collections[i].get(a, req, res);
        else
            app_method_not_allowed(res, req->method, "GET, HEAD");
        return;
    }
    if (strncmp(rest, "active-calls/", 13) == 0) {
        res->route = "active-calls/:id";
        api_call(a, req, &who, rest + 13, res); /* it answers 405s itself: Allow depends on the path */
        return;
    }
    const char *slash = strchr(rest, '/');
    int type = slash ? res_type_find(rest, (size_t)(slash - rest)) : -1;
    if (type >= 0 && !strchr(slash + 1, '/')) {
        res->route = "related";
        if (is_get(req->method))
            api_show_resource(a, req, type, slash + 1, res);
        else
            app_method_not_allowed(res, req->method, "GET, HEAD");
        return;
    }
    char detail[300];
    snprintf(detail, sizeof detail, "No route matches %.16s %.200s.", req->method, path);
    http_error(res, 404, "Not found", detail);
}
