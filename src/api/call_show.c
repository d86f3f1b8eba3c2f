/* call_show: one call — GET and DELETE /active-calls/{id}, its
 * relationships (/relationships/{rel}) and related resources (/{rel}).
 *
 * A call id is <node_id>*<local_tag>: only that node is asked, for that
 * tag only (`yeti.show.calls [tag]`). A malformed id, an unknown node or a
 * call the node does not have is 404 "Record not found". Unlike the anchor
 * (which says 404 for everything), a node that cannot be reached is 502
 * and one that misses the deadline is 504, each naming the node. A drop
 * sends `yeti.request.call.disconnect [tag]` after finding the call, and
 * writes one audit line whatever the outcome. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app_internal.h"
#include "api/included.h"
#include "api/params.h"
#include "jsonapi/query.h"
#include "util/log.h"

typedef struct found_call {
    node_snapshot *snap;
    const store_node *node;
    const char *tag;
    size_t tag_len;
    node_result result; /* holds the record */
    const call_record *rec;
} found_call;

/* 404 naming the id; at most 200 bytes of it are echoed, "..." marks a cut. */
static void not_found_n(http_response *res, const char *id, size_t len)
{
    char detail[300];
    snprintf(detail, sizeof detail, "The record identified by %.*s%s could not be found.",
             (int)(len > 200 ? 200 : len), id, len > 200 ? "..." : "");
    app_error(res, 404, "404", "Record not found", detail);
}

static void not_found(http_response *res, const char *id) { not_found_n(res, id, strlen(id)); }

static void node_failed(http_response *res, const store_node *nd, const node_result *r)
{
    char detail[600];
    int status = r->status == NODE_ERR_TIMEOUT ? 504 : 502;
    snprintf(detail, sizeof detail, "Node %lld (%s) %s: %s.", (long long)nd->id, nd->name,
             status == 504 ? "did not answer in time" : "failed", r->detail);
    app_error(res, status, status == 504 ? "504" : "502", "Node unavailable", detail);
}

/* Sends one request to the call's node. */
static void ask_node(app *a, found_call *f, const char *method, reply_expect expect)
{
    char tag[1025];
    snprintf(tag, sizeof tag, "%.*s", (int)f->tag_len, f->tag);
    const char *params[1] = {tag};
    node_target t = {f->node->id, f->node->name, f->node->rpc_endpoint};
    node_call c = {method, params, 1, expect};
    node_result_free(&f->result);
    node_result_init(&f->result);
    node_pool_run(a->pool, 1, &t, &c, a->cfg.node_timeout_ms, &f->result);
}

/* Finds the call; false when res already holds the answer (404/502/503/504). */
static bool find_call(app *a, const char *id, found_call *f, http_response *res)
{
    memset(f, 0, sizeof *f);
    node_result_init(&f->result);
    int64_t node_id;
    if (!call_id_parse(id, strlen(id), &node_id, &f->tag, &f->tag_len)) { not_found(res, id); return false; }
    char err[STORE_ERR_LEN] = "";
    f->snap = registry_acquire(a->reg, err);
    if (!f->snap) { app_error(res, 503, "503", "Store unavailable", err); return false; }
    f->node = snapshot_find(f->snap, node_id);
    if (!f->node) { not_found(res, id); return false; }
    ask_node(a, f, "yeti.show.calls", REPLY_EXPECT_CALLS);
    if (f->result.status != NODE_OK) { node_failed(res, f->node, &f->result); return false; }
    const callset *cs = &f->result.calls;
    for (size_t i = 0; i < cs->n; i++) {
        const call_record *r = &cs->recs[i];
        if (r->tag.len == f->tag_len && memcmp(callset_text(cs, r->tag), f->tag, f->tag_len) == 0) {
            f->rec = r;
            return true;
        }
    }
    not_found(res, id);
    return false;
}

static void found_free(app *a, found_call *f)
{
    node_result_free(&f->result);
    registry_release(a->reg, f->snap);
}

static void show(app *a, const http_request *req, const found_call *f, const api_params *p,
                 doc_base base, http_response *res)
{
    call_ref_rec one = {f->node->id, f->rec};
    included inc;
    char err[STORE_ERR_LEN];
    if (included_resolve(&inc, a->st, &p->include, &one, 1, err) != 0) {
        app_error(res, 503, "503", "Store unavailable", "Related resources cannot be read right now.");
        log_msg(LOG_ERROR, "include lookup failed: %s", err);
        included_free(&inc);
        return;
    }
    buf scratch;
    buf_init(&scratch);
    doc_call_opts opts = {p->fields.calls, p->include.call_rels};
    buf_puts(&res->body, "{\"data\":");
    doc_call_resource(&res->body, &scratch, base, f->node->id, &f->result.calls, f->rec, &opts);
    if (p->include.n) {
        buf_puts(&res->body, ",\"included\":[");
        included_write(&inc, &res->body, base, &p->fields);
        buf_putc(&res->body, ']');
    }
    buf_putc(&res->body, '}');
    res->status = 200;
    buf_free(&scratch);
    included_free(&inc);
    (void)req;
}

static void audit(const http_request *req, const auth_subject *who, const char *id, const char *result)
{
    buf line;
    log_begin(&line, LOG_INFO, "audit");
    log_kv(&line, "action", "drop");
    log_kv_i64(&line, "user_id", who->id);
    log_kv(&line, "username", who->username);
    log_kvn(&line, "call_id", id, strnlen(id, 1100));
    log_kv(&line, "client", who->client);
    log_kv(&line, "result", result);
    log_kv(&line, "request_id", req->request_id);
    log_end(&line, LOG_INFO);
}

static void drop(app *a, const http_request *req, const auth_subject *who, const char *id,
                 http_response *res)
{
    found_call f;
    if (!find_call(a, id, &f, res)) {
        char result[300] = "not-found";
        if (res->status != 404) snprintf(result, sizeof result, "node-error: %s", f.result.detail);
        audit(req, who, id, result);
        found_free(a, &f);
        return;
    }
    ask_node(a, &f, "yeti.request.call.disconnect", REPLY_EXPECT_ANY);
    if (f.result.status == NODE_OK) {
        res->status = 204;
        audit(req, who, id, "dropped");
    } else {
        node_failed(res, f.node, &f.result);
        char result[300];
        snprintf(result, sizeof result, "node-error: %s", f.result.detail);
        audit(req, who, id, result);
    }
    found_free(a, &f);
}

/* GET .../{id}/relationships/{rel} and GET .../{id}/{rel}. */
static void relationship(app *a, const found_call *f, int k, bool linkage_only, const api_params *p,
                         doc_base base, http_response *res, const char *id, const char *rel)
{
    int64_t target = doc_call_rel_id(f->node->id, f->rec, k);
    const char *type = call_rels[k].type;
    buf *out = &res->body;
    if (linkage_only) {
        buf self;
        buf_init(&self);
        doc_call_self(&self, base, f->node->id, f->tag, f->tag_len);
        buf_puts(out, "{\"links\":{\"self\":\"");
        buf_append(out, self.data, self.len);
        buf_printf(out, "/relationships/%s\",\"related\":\"", rel);
        buf_append(out, self.data, self.len);
        buf_printf(out, "/%s\"},\"data\":", rel);
        doc_linkage(out, type, target);
        buf_putc(out, '}');
        buf_free(&self);
        res->status = 200;
        return;
    }
    int t = res_type_find(type, strlen(type));
    res_rows rows = {0};
    char err[STORE_ERR_LEN];
    if (target != CALL_ID_NONE && store_fetch(a->st, t, &target, 1, &rows, err) != STORE_OK) {
        app_error(res, 503, "503", "Store unavailable", "Related resources cannot be read right now.");
        log_msg(LOG_ERROR, "related lookup failed: %s", err);
        return;
    }
    buf_puts(out, "{\"data\":");
    if (rows.n) doc_related_resource(out, base, t, &rows.rows[0], p->fields.types[t]);
    else buf_puts(out, "null");
    buf_putc(out, '}');
    res_rows_free(&rows);
    res->status = 200;
    (void)id;
}

void api_call(app *a, const http_request *req, const auth_subject *who, const char *rest,
              http_response *res)
{
    /* rest: "<id>", "<id>/relationships/<rel>" or "<id>/<rel>". A tag may
     * hold '/' itself (links encode it as %2F, which arrives decoded), so
     * the id is all before a trailing segment that names a relationship;
     * any other trailing segment is part of the id (and so a 404). */
    size_t idlen = strlen(rest);
    const char *rel = NULL;
    bool linkage_only = false;
    int k = -1;
    const char *last = strrchr(rest, '/');
    if (last && (k = call_rel_index(last + 1, strlen(last + 1))) >= 0) {
        rel = last + 1;
        idlen = (size_t)(last - rest);
        static const char marker[] = "/relationships";
        size_t m = sizeof marker - 1;
        if (idlen > m && memcmp(rest + idlen - m, marker, m) == 0) {
            linkage_only = true;
            idlen -= m;
        }
    }
    bool is_get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    bool is_delete = strcmp(req->method, "DELETE") == 0;
    if (!is_get && !(is_delete && !rel)) { /* a call can be dropped; its relationships cannot */
        res->allow = rel ? "GET, HEAD" : "GET, HEAD, DELETE";
        char detail[128];
        snprintf(detail, sizeof detail, "%.16s is not allowed on this resource.", req->method);
        app_error(res, 405, "405", "Method not allowed", detail);
        return;
    }
    char id[1100];
    if (idlen == 0 || idlen >= sizeof id) { not_found_n(res, rest, idlen ? idlen : strlen(rest)); return; }
    memcpy(id, rest, idlen);
    id[idlen] = '\0';
    if (is_delete) {
        api_params p;
        bool ok = api_params_parse(req, false, false, &p, res);
        api_params_free(&p);
        if (ok) drop(a, req, who, id, res);
        return;
    }
    api_params p;
    if (!api_params_parse(req, false, rel == NULL, &p, res)) { api_params_free(&p); return; }
    char base_text[300];
    doc_base base;
    found_call f;
    memset(&f, 0, sizeof f);
    if (app_base_url(a, req, res, base_text, &base) && find_call(a, id, &f, res)) {
        if (rel) relationship(a, &f, k, linkage_only, &p, base, res, id, rel);
        else show(a, req, &f, &p, base, res);
    }
    found_free(a, &f);
    api_params_free(&p);
}
