/* call_show: one call — GET and DELETE /active-calls/{id}, its
 * relationships (/relationships/{rel}) and related resources (/{rel}).
 *
 * A call id is <node_id>*<local_tag>: only that node is asked, for that
 * tag only (`yeti.show.calls [tag]`). A malformed id, an unknown node or a
 * call the node does not have is 404 "Record not found". Unlike the anchor
 * (which says 404 for everything), a node that cannot be reached is 502
 * and one that misses the deadline is 504, each naming the node. A drop
 * sends `yeti.request.call.disconnect [tag]` after finding the call, and
 * writes one audit line whatever the outcome. While a node is asked the
 * request waits without a thread (call_req, http_defer/http_continue). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app_internal.h"
#include "api/included.h"
#include "api/params.h"
#include "model/call_id.h"
#include "util/log.h"

/* 404 naming the id; at most 200 bytes of it are echoed, "..." marks a cut. */
static void not_found_n(http_response *res, const char *id, size_t len)
{
    char detail[300];
    snprintf(detail, sizeof detail, "The record identified by %.*s%s could not be found.",
             (int)(len > 200 ? 200 : len), id, len > 200 ? "..." : "");
    http_error(res, 404, "Record not found", detail);
}

static void not_found(http_response *res, const char *id) { not_found_n(res, id, strlen(id)); }

static void node_failed(http_response *res, const store_node *nd, const node_result *r)
{
    char detail[600];
    int status = r->status == NODE_ERR_TIMEOUT ? 504 : 502;
    snprintf(detail, sizeof detail, "Node %lld (%s) %s: %s.", (long long)nd->id, nd->name,
             status == 504 ? "did not answer in time" : "failed", r->detail);
    http_error(res, status, "Node unavailable", detail);
}

/* One call's request while it waits for its node: what it asked, and the
 * step that goes on once the node answered (http_continue); the node round
 * holds no thread. A step that reads the store (related resources) runs on
 * a worker, the others on the loop (http/server.h). */
typedef struct call_req call_req;
typedef void (*call_step)(call_req *cr);

struct call_req {
    app *a;
    const http_request *req;
    http_response *res;
    auth_subject who;
    char id[1100];
    const char *rel; /* relationship name, or NULL */
    int k;           /* its index in call_rels */
    bool linkage_only, is_delete;
    api_params p;
    char base_text[300];
    doc_base base;
    node_snapshot *snap;
    const store_node *node;
    const char *tag; /* into id */
    size_t tag_len;
    char tag_text[1025]; /* NUL-terminated, the request's parameter */
    const char *params[1];
    node_target target;
    node_call call;
    node_result result; /* holds the record */
    const call_record *rec;
    call_step then;
};

static void call_req_free(call_req *cr)
{
    node_result_free(&cr->result);
    registry_release(cr->a->reg, cr->snap);
    api_params_free(&cr->p);
    free(cr);
}

static void call_req_step(void *arg)
{
    call_req *cr = arg;
    bool reads_store = cr->p.include.n > 0 || (cr->rel && !cr->linkage_only);
    if (reads_store && http_to_worker(cr->req)) return;
    cr->then(cr);
}

/* On the node pool's loop: the rest is the request's next step. */
static void call_req_answered(void *arg)
{
    call_req *cr = arg;
    http_continue(cr->req, call_req_step, cr);
}

/* Asks the call's node `method [tag]`; `then` goes on with the answer. */
static void ask_node(call_req *cr, const char *method, reply_expect expect, call_step then)
{
    cr->params[0] = cr->tag_text;
    cr->target = (node_target){cr->node->id, cr->node->name, cr->node->rpc_endpoint};
    cr->call = (node_call){method, cr->params, 1, expect, NULL};
    node_result_free(&cr->result);
    node_result_init(&cr->result);
    cr->then = then;
    http_defer(cr->req);
    node_pool_start(cr->a->pool, 1, &cr->target, &cr->call, cr->a->cfg.node_timeout_ms, &cr->result,
                    call_req_answered, cr);
}

/* Starts looking for the call; false when res already holds the answer
 * (404/503): then nothing waits. True also when the step moved to a worker
 * to read the node list (cr is freed then: the step starts again there). */
static bool find_call(call_req *cr, call_step then)
{
    int64_t node_id;
    char err[STORE_ERR_LEN] = "";
    if (!call_id_parse(cr->id, strlen(cr->id), &node_id, &cr->tag, &cr->tag_len)) {
        not_found(cr->res, cr->id);
        return false;
    }
    bool moved;
    cr->snap = registry_for_request(cr->a->reg, cr->req, &moved, err);
    if (moved) {
        call_req_free(cr);
        return true;
    }
    if (!cr->snap) {
        http_error(cr->res, 503, "Store unavailable", err);
        return false;
    }
    cr->node = snapshot_find(cr->snap, node_id);
    if (!cr->node) {
        not_found(cr->res, cr->id);
        return false;
    }
    snprintf(cr->tag_text, sizeof cr->tag_text, "%.*s", (int)cr->tag_len, cr->tag);
    ask_node(cr, "yeti.show.calls", REPLY_EXPECT_CALLS, then);
    return true;
}

/* After find_call's round: the record, or false with the answer in res
 * (404/502/504). */
static bool found(call_req *cr)
{
    if (cr->result.status != NODE_OK) {
        node_failed(cr->res, cr->node, &cr->result);
        return false;
    }
    const callset *cs = &cr->result.calls;
    for (size_t i = 0; i < cs->n; i++) {
        const call_record *r = &cs->recs[i];
        if (r->tag.len == cr->tag_len && memcmp(callset_text(cs, r->tag), cr->tag, cr->tag_len) == 0) {
            cr->rec = r;
            return true;
        }
    }
    not_found(cr->res, cr->id);
    return false;
}

static void show(app *a, const call_req *f, const api_params *p, doc_base base, http_response *res)
{
    call_ref_rec one = {f->node->id, f->rec, 0};
    included inc;
    char err[STORE_ERR_LEN];
    if (included_resolve(&inc, a->st, &p->include, &one, 1, err) != 0) {
        http_error(res, 503, "Store unavailable", "Related resources cannot be read right now.");
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

/* DELETE, after the node said whether it has the call / after it was asked
 * to drop it. One audit line whatever the outcome: a call that ended
 * between the two questions is a 404, as if it had been gone at the
 * first (docs/API.md, "One call"). */
static void drop_done(call_req *cr)
{
    char result[300] = "dropped";
    if (cr->result.status == NODE_OK) {
        cr->res->status = 204;
    } else if (cr->result.status == NODE_ERR_RPC && cr->result.rpc_code == NODE_RPC_CALL_NOT_FOUND) {
        not_found(cr->res, cr->id);
        snprintf(result, sizeof result, "not-found");
    } else {
        node_failed(cr->res, cr->node, &cr->result);
        snprintf(result, sizeof result, "node-error: %s", cr->result.detail);
    }
    audit(cr->req, &cr->who, cr->id, result);
    call_req_free(cr);
}

static void drop_found(call_req *cr)
{
    if (found(cr)) {
        ask_node(cr, "yeti.request.call.disconnect", REPLY_EXPECT_ANY, drop_done);
        return;
    }
    char result[300] = "not-found";
    if (cr->res->status != 404) snprintf(result, sizeof result, "node-error: %s", cr->result.detail);
    audit(cr->req, &cr->who, cr->id, result);
    call_req_free(cr);
}

/* GET .../{id}/relationships/{rel} and GET .../{id}/{rel}. */
static void relationship(app *a, const call_req *f, int k, bool linkage_only, const api_params *p,
                         doc_base base, http_response *res, const char *rel)
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
        http_error(res, 503, "Store unavailable", "Related resources cannot be read right now.");
        log_msg(LOG_ERROR, "related lookup failed: %s", err);
        return;
    }
    buf_puts(out, "{\"data\":");
    if (rows.n)
        doc_related_resource(out, base, t, &rows.rows[0], p->fields.types[t]);
    else
        buf_puts(out, "null");
    buf_putc(out, '}');
    res_rows_free(&rows);
    res->status = 200;
}

/* GET, once the node answered. */
static void show_found(call_req *cr)
{
    if (found(cr)) {
        if (cr->rel)
            relationship(cr->a, cr, cr->k, cr->linkage_only, &cr->p, cr->base, cr->res, cr->rel);
        else
            show(cr->a, cr, &cr->p, cr->base, cr->res);
    }
    call_req_free(cr);
}

void api_call(app *a, const http_request *req, const auth_subject *who, const char *rest, http_response *res)
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
        app_method_not_allowed(res, req->method, rel ? "GET, HEAD" : "GET, HEAD, DELETE");
        return;
    }
    call_req *cr = calloc(1, sizeof *cr);
    if (!cr) {
        http_error(res, 500, "Internal server error", "Out of memory.");
        return;
    }
    *cr = (call_req){.a = a,
                     .req = req,
                     .res = res,
                     .who = *who,
                     .rel = rel,
                     .k = k,
                     .linkage_only = linkage_only,
                     .is_delete = is_delete};
    node_result_init(&cr->result);
    if (idlen == 0 || idlen >= sizeof cr->id) {
        not_found_n(res, rest, idlen ? idlen : strlen(rest));
        call_req_free(cr);
        return;
    }
    memcpy(cr->id, rest, idlen);
    cr->id[idlen] = '\0';
    if (is_delete) {
        if (!api_params_parse(req, PARAMS_CALL, false, &a->limits, &cr->p, res)) {
            call_req_free(cr);
            return;
        }
        if (find_call(cr, drop_found)) return; /* waiting for the node; cr is the step's now */
        audit(req, who, cr->id, res->status == 404 ? "not-found" : "store-error");
        call_req_free(cr);
        return;
    }
    if (api_params_parse(req, PARAMS_CALL, rel == NULL, &a->limits, &cr->p, res) &&
        app_base_url(a, req, res, cr->base_text, &cr->base) && find_call(cr, show_found))
        return; /* waiting for the node */
    call_req_free(cr);
}
