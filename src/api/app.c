/* app: application state and the router. Routes are few and fixed, so the
 * router is a plain comparison of the decoded path; every answer that is
 * not a handler's own (unknown path, wrong method) is a JSON:API error. */
#include "api/app_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/negotiate.h"
#include "jsonapi/errors.h"

#define MAX_IDLE_PER_NODE 16

app *app_new(const app_config *cfg, store *st, char err[256])
{
    app *a = calloc(1, sizeof *a);
    if (!a) { snprintf(err, 256, "out of memory"); return NULL; }
    a->cfg = *cfg;
    if (cfg->public_url) {
        snprintf(a->public_url, sizeof a->public_url, "%s", cfg->public_url);
        size_t n = strlen(a->public_url);
        while (n && a->public_url[n - 1] == '/') a->public_url[--n] = '\0';
    }
    snprintf(a->fallback_base, sizeof a->fallback_base, "%s",
             cfg->fallback_base ? cfg->fallback_base : "http://localhost");
    a->cfg.public_url = a->public_url[0] ? a->public_url : NULL;
    a->cfg.fallback_base = a->fallback_base;
    a->st = st;
    a->reg = registry_new(st, cfg->node_cache_ms);
    a->pool = node_pool_new(cfg->max_reply_bytes, MAX_IDLE_PER_NODE);
    if (!a->reg || !a->pool) {
        snprintf(err, 256, "out of memory");
        app_free(a);
        return NULL;
    }
    return a;
}

void app_free(app *a)
{
    if (!a) return;
    registry_free(a->reg);
    node_pool_free(a->pool);
    free(a);
}

void app_error(http_response *res, int status, const char *code, const char *title,
               const char *detail)
{
    res->status = status;
    jerr_single(&res->body, status, code, title, detail);
}

bool app_base_url(const app *a, const http_request *req, http_response *res,
                  char storage[300], doc_base *base)
{
    if (a->cfg.public_url) {
        base->url = a->cfg.public_url;
    } else if (!req->host) {
        base->url = a->cfg.fallback_base;
    } else if (http_host_valid(req->host)) {
        snprintf(storage, 300, "http://%s", req->host);
        base->url = storage;
    } else {
        app_error(res, 400, "400", "Bad request", "The Host header is not a valid host name.");
        return false;
    }
    base->len = strlen(base->url);
    return true;
}

static bool is_get(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

void app_handle(void *ctx, const http_request *req, http_response *res)
{
    app *a = ctx;
    if (strcmp(req->path, "/api/rest/admin/active-calls") == 0) {
        if (is_get(req->method)) {
            api_list_calls(a, req, res);
        } else {
            res->allow = "GET, HEAD";
            char detail[128];
            snprintf(detail, sizeof detail, "%s is not allowed on this resource.", req->method);
            app_error(res, 405, "405", "Method not allowed", detail);
        }
        return;
    }
    char detail[300];
    snprintf(detail, sizeof detail, "No route matches %.16s %.200s.", req->method, req->path);
    app_error(res, 404, "404", "Not found", detail);
}
