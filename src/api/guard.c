/* guard: who may call the admin API (docs/CONTRACT.md §6).
 *
 * Every admin route but the login passes here. The token comes from the
 * last word of Authorization ("Bearer X" or bare "X") or the `token` query
 * parameter; it must verify (auth/jwt.h), name an enabled admin user, and
 * the client address (behind trusted proxies: auth/cidr.h) must be inside
 * that user's allowed_ips. Any failure is a 401 with an empty body, as the
 * anchor answers, and one log line with the reason — never the token.
 * Then the role policy decides the action (403 when denied).
 *
 * Users are cached by id for user_cache_ms, so the hot path does not query
 * the store per request; a disabled user is refused within that time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/app_internal.h"
#include "auth/jwt.h"
#include "jsonapi/query.h"
#include "util/clock.h"
#include "util/log.h"

#define USER_CACHE_MAX 1024

static const char *token_of(const http_request *req)
{
    if (req->authorization && *req->authorization) {
        const char *last = req->authorization;
        for (const char *p = req->authorization; *p; p++)
            if (*p == ' ' && p[1] && p[1] != ' ') last = p + 1;
        if (*last && *last != ' ') return last;
    }
    for (size_t i = 0; i < req->nparams; i++)
        if (query_key_of(req->params[i].key) == QUERY_KEY_TOKEN && *req->params[i].value)
            return req->params[i].value;
    return NULL;
}

void guard_free_cache(app *a)
{
    for (size_t i = 0; i < a->nusers; i++) cidr_list_free(&a->users[i].allowed);
    free(a->users);
    a->users = NULL;
    a->nusers = 0;
}

/* Loads user `id` from the store into c. False when the store failed. */
static bool load_user(app *a, int64_t id, cached_user *c, char err[STORE_ERR_LEN])
{
    store_admin_user u;
    store_status st = store_user_get(a->st, id, &u, err);
    memset(c, 0, sizeof *c);
    c->id = id;
    c->loaded_ms = clock_now_ms();
    if (st == STORE_NOT_FOUND) return true;
    if (st != STORE_OK) return false;
    char cerr[160];
    if (cidr_list_parse(u.allowed_ips, &c->allowed, cerr) != 0) {
        /* a broken row must not widen access: treat as "no address allowed" */
        log_msg(LOG_WARN, "admin user %lld has invalid allowed_ips (%s): refusing it", (long long)id, cerr);
        return true;
    }
    c->found = true;
    c->enabled = u.enabled;
    str_copy(c->username, sizeof c->username, u.username);
    str_copy(c->roles, sizeof c->roles, u.roles);
    return true;
}

/* *out = *c with a private copy of the ranges (the cache entry may be
 * replaced while the caller uses them). False when out of memory. */
static bool copy_user(cached_user *out, const cached_user *c)
{
    *out = *c;
    out->allowed.items = NULL;
    if (c->allowed.n == 0) return true;
    out->allowed.items = malloc(c->allowed.n * sizeof *c->allowed.items);
    if (!out->allowed.items) return false;
    memcpy(out->allowed.items, c->allowed.items, c->allowed.n * sizeof *c->allowed.items);
    return true;
}

static cached_user *cache_find(app *a, int64_t id)
{
    for (size_t i = 0; i < a->nusers; i++)
        if (a->users[i].id == id) return &a->users[i];
    return NULL;
}

/* Stores u in the cache (taking its ranges); returns the entry, or NULL
 * when it could not be cached (u then keeps its ranges). */
static cached_user *cache_put(app *a, cached_user *u)
{
    cached_user *slot = cache_find(a, u->id);
    if (slot) {
        cidr_list_free(&slot->allowed);
    } else {
        if (a->nusers == USER_CACHE_MAX) guard_free_cache(a);
        cached_user *grown = realloc(a->users, (a->nusers + 1) * sizeof *grown);
        if (!grown) return NULL;
        a->users = grown;
        slot = &a->users[a->nusers++];
    }
    *slot = *u;
    u->allowed = (cidr_list){NULL, 0};
    return slot;
}

/* The user with this id, from the cache or the store. out->allowed is the
 * caller's to free. False when the store failed (or memory ran out), or
 * when the request moved to a worker to read the store (*moved). */
static bool user_lookup(app *a, const http_request *req, int64_t id, cached_user *out, bool *moved,
                        char err[STORE_ERR_LEN])
{
    *moved = false;
    int64_t now = clock_now_ms();
    pthread_mutex_lock(&a->users_mu);
    const cached_user *c = cache_find(a, id);
    if (c && now - c->loaded_ms < a->cfg.user_cache_ms) {
        bool ok = copy_user(out, c);
        pthread_mutex_unlock(&a->users_mu);
        return ok;
    }
    pthread_mutex_unlock(&a->users_mu);
    if (http_to_worker(req)) {
        *moved = true;
        return false;
    }

    cached_user loaded;
    if (!load_user(a, id, &loaded, err)) return false;
    pthread_mutex_lock(&a->users_mu);
    const cached_user *kept = cache_put(a, &loaded);
    bool ok = copy_user(out, kept ? kept : &loaded);
    pthread_mutex_unlock(&a->users_mu);
    cidr_list_free(&loaded.allowed); /* empty unless it could not be cached */
    if (!ok) snprintf(err, STORE_ERR_LEN, "out of memory");
    return ok;
}

static void refuse(http_response *res, const http_request *req, const char *client, const char *reason,
                   int64_t sub)
{
    res->status = 401;
    buf_reset(&res->body);
    buf line;
    log_begin(&line, LOG_WARN, "token refused");
    log_kv(&line, "reason", reason);
    if (sub > 0) log_kv_i64(&line, "sub", sub);
    log_kv(&line, "client", client);
    log_kv(&line, "path", req->path);
    log_kv(&line, "request_id", req->request_id);
    log_end(&line, LOG_WARN);
}

bool guard_request(app *a, const http_request *req, const char *action, http_response *res, auth_subject *who)
{
    struct sockaddr_storage client;
    cidr_client_address((const struct sockaddr *)&req->peer, req->forwarded_for, &a->trusted, &client);
    memset(who, 0, sizeof *who);
    cidr_addr_text((const struct sockaddr *)&client, who->client, sizeof who->client);

    const char *token = token_of(req);
    if (!token) {
        refuse(res, req, who->client, "no token", 0);
        return false;
    }
    int64_t sub = 0;
    int64_t until = 0;
    jwt_status js =
        jwt_verify_cached_until(a->secret, a->cfg.secret_len, token, (int64_t)time(NULL), &sub, &until);
    if (js != JWT_OK) {
        refuse(res, req, who->client, jwt_status_reason(js), 0);
        return false;
    }

    cached_user u;
    char err[STORE_ERR_LEN] = "";
    bool moved;
    if (!user_lookup(a, req, sub, &u, &moved, err)) {
        if (moved) return false; /* the request goes on on a worker, from the start */
        http_error(res, 503, "Store unavailable", "The user store cannot be read right now.");
        log_msg(LOG_ERROR, "user lookup failed: %s", err);
        return false;
    }
    bool allowed_ip = u.allowed.n == 0 || cidr_list_contains(&u.allowed, (const struct sockaddr *)&client);
    free(u.allowed.items);
    if (!u.found) {
        refuse(res, req, who->client, "unknown user", sub);
        return false;
    }
    if (!u.enabled) {
        refuse(res, req, who->client, "user disabled", sub);
        return false;
    }
    if (!allowed_ip) {
        refuse(res, req, who->client, "address not allowed", sub);
        return false;
    }

    who->id = sub;
    who->token_until = until;
    pthread_rwlock_rdlock(&a->pol_mu); /* a reload may swap the policy */
    who->may_remove = policy_allows(a->pol, u.roles, POLICY_SECTION, "remove");
    bool allowed = policy_allows(a->pol, u.roles, POLICY_SECTION, action);
    pthread_rwlock_unlock(&a->pol_mu);
    str_copy(who->username, sizeof who->username, u.username);
    if (!allowed) {
        char detail[160];
        snprintf(detail, sizeof detail, "Your roles do not allow %s on active calls.", action);
        http_error(res, 403, "Forbidden", detail);
        buf line;
        log_begin(&line, LOG_WARN, "forbidden");
        log_kv_i64(&line, "user_id", sub);
        log_kv(&line, "username", u.username);
        log_kv(&line, "action", action);
        log_kv(&line, "client", who->client);
        log_kv(&line, "path", req->path);
        log_kv(&line, "request_id", req->request_id);
        log_end(&line, LOG_WARN);
        return false;
    }
    return true;
}
