/* login: POST /api/rest/admin/auth (docs/CONTRACT.md §1, §6).
 *
 * {"auth":{"username":..,"password":..}} → 201 {"jwt":".."}. Every failure
 * is the same 401 "Authentication failed" and costs the same time: an
 * unknown user is checked against a dummy hash (password_burn). Only once
 * the password is right does the answer say more — that the client's
 * address is not allowed for this user. Failures are counted per
 * (username, client address) and per client address (auth/throttle.h);
 * past either limit the answer is 429 with Retry-After, before any
 * password is checked, and a success clears only its own (username,
 * address) count. One log line per attempt, never with the password or the
 * token. The body itself is read by login_body_parse (api/login.h). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/app_internal.h"
#include "api/login.h"
#include "auth/jwt.h"
#include "auth/password.h"
#include "util/clock.h"
#include "util/log.h"

static void log_login(const http_request *req, const char *result, const char *reason, const char *username,
                      int64_t user_id, const char *client)
{
    buf line;
    log_begin(&line, result[0] == 'o' ? LOG_INFO : LOG_WARN, "login");
    log_kv(&line, "result", result);
    if (reason) log_kv(&line, "reason", reason);
    log_kvn(&line, "username", username, strnlen(username, 64)); /* bounded: it is client text */
    if (user_id > 0) log_kv_i64(&line, "user_id", user_id);
    log_kv(&line, "client", client);
    log_kv(&line, "request_id", req->request_id);
    log_end(&line, result[0] == 'o' ? LOG_INFO : LOG_WARN);
}

static void failed(http_response *res, const char *detail)
{
    http_error(res, 401, "Authentication failed", detail);
}

bool login_body_parse(const char *body, size_t len, json_t **root, const char **username,
                      const char **password)
{
    json_error_t jerr;
    *root = NULL;
    if (len == 0 || len > LOGIN_BODY_MAX) return false;
    *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *auth = json_object_get(*root, "auth");
    json_t *u = json_object_get(auth, "username");
    json_t *p = json_object_get(auth, "password");
    if (!json_is_string(u) || !json_is_string(p)) return false;
    *username = json_string_value(u);
    *password = json_string_value(p);
    return true;
}

/* Parses the body; false (with a 400 in res) when it is not a login. */
static bool read_credentials(const http_request *req, http_response *res, json_t **root,
                             const char **username, const char **password)
{
    if (login_body_parse(req->body, req->body_len, root, username, password)) return true;
    if (req->body_len == 0 || req->body_len > LOGIN_BODY_MAX)
        http_error(res, 400, "Bad request", "The body must be a login object of at most 8 KiB.");
    else
        http_error(res, 400, "Bad request",
                   "Expected {\"auth\":{\"username\":\"...\",\"password\":\"...\"}}.");
    return false;
}

static bool throttled(app *a, const char *username, const struct sockaddr *client, http_response *res)
{
    int wait = login_throttle_retry_after(a->thr, username, client, clock_now_ms());
    if (wait == 0) return false;
    char detail[128];
    snprintf(detail, sizeof detail, "Too many failed logins; try again in %d s.", wait);
    http_error(res, 429, "Too many requests", detail);
    res->retry_after = wait;
    return true;
}

void api_login(app *a, const http_request *req, http_response *res)
{
    if (http_to_worker(req)) return; /* a store query and a bcrypt */
    struct sockaddr_storage client;
    cidr_client_address((const struct sockaddr *)&req->peer, req->forwarded_for, &a->trusted, &client);
    char client_text[64];
    cidr_addr_text((const struct sockaddr *)&client, client_text, sizeof client_text);

    json_t *root;
    const char *username, *password;
    if (!read_credentials(req, res, &root, &username, &password)) {
        json_decref(root);
        log_login(req, "fail", "malformed body", "", 0, client_text);
        return;
    }
    const struct sockaddr *client_sa = (const struct sockaddr *)&client;
    if (throttled(a, username, client_sa, res)) {
        log_login(req, "throttled", NULL, username, 0, client_text);
        json_decref(root);
        return;
    }

    store_admin_user u;
    char err[STORE_ERR_LEN];
    store_status st =
        strlen(username) < STORE_NAME_MAX ? store_user_find(a->st, username, &u, err) : STORE_NOT_FOUND;
    if (st != STORE_OK && st != STORE_NOT_FOUND) {
        http_error(res, 503, "Store unavailable", "The user store cannot be read right now.");
        log_msg(LOG_ERROR, "login: user lookup failed: %s", err);
        json_decref(root);
        return;
    }
    const char *reason = NULL;
    if (st == STORE_NOT_FOUND) {
        password_burn(password);
        reason = "unknown user";
    } else if (!password_verify(password, u.encrypted_password)) {
        reason = "wrong password";
    } else if (!u.enabled) {
        reason = "user disabled";
    }
    cidr_list allowed = {NULL, 0};
    if (!reason) {
        char cerr[160];
        if (cidr_list_parse(u.allowed_ips, &allowed, cerr) != 0 ||
            (allowed.n > 0 && !cidr_list_contains(&allowed, (const struct sockaddr *)&client)))
            reason = "address not allowed";
        cidr_list_free(&allowed);
    }

    if (reason) {
        login_throttle_failure(a->thr, username, client_sa, clock_now_ms());
        if (strcmp(reason, "address not allowed") == 0) {
            char detail[128];
            snprintf(detail, sizeof detail, "Logins from %s are not allowed for this user.", client_text);
            failed(res, detail);
        } else {
            failed(res, "Invalid username or password.");
        }
        log_login(req, "fail", reason, username, st == STORE_OK ? u.id : 0, client_text);
    } else {
        login_throttle_success(a->thr, username, client_sa);
        int64_t exp =
            (int64_t)time(NULL) + atomic_load_explicit(&a->token_lifetime_s, memory_order_relaxed); /* >= 1 */
        char token[JWT_MAX_LEN];
        if (jwt_sign(a->secret, a->cfg.secret_len, u.id, exp, token, sizeof token) < 0) {
            http_error(res, 500, "Internal server error", "The token could not be signed.");
        } else {
            res->status = 201;
            res->content_type = "application/json";
            buf_puts(&res->body, "{\"jwt\":\"");
            buf_puts(&res->body, token);
            buf_puts(&res->body, "\"}");
            log_login(req, "ok", NULL, username, u.id, client_text);
        }
    }
    explicit_bzero(u.encrypted_password, sizeof u.encrypted_password);
    json_decref(root);
}
