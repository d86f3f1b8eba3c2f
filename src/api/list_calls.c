/* list_calls: GET /api/rest/admin/active-calls (the seed).
 *
 * Steps: parse the parameters (400 on any problem), pick the nodes the
 * filters allow, ask them all at once under one deadline, keep the calls
 * that pass the per-call filters, fetch what `include` asks for in batches,
 * then write the document straight from the parsed replies (a big one in
 * slices on several threads, see write_data). Nodes that failed are named
 * in meta.failed-nodes; their calls are missing, nothing else is. A client
 * that has left before or while a big document is written gets none (499). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/app_internal.h"
#include "api/included.h"
#include "api/params.h"
#include "nodes/coalesce.h"
#include "util/log.h"
#include "util/phase.h"

typedef struct fanout_plan {
    size_t n;
    node_target *targets;
    node_call *calls;
    const char ***tags; /* per target: the tags asked for, or NULL */
    node_result *results;
} fanout_plan;

static void plan_free(fanout_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->tags[i]);
        node_result_free(&p->results[i]);
    }
    free(p->targets);
    free(p->calls);
    free(p->tags);
    free(p->results);
}

static bool plan_build(fanout_plan *p, const node_snapshot *snap, const listing_query *q)
{
    memset(p, 0, sizeof *p);
    size_t cap = snap->n ? snap->n : 1;
    p->targets = calloc(cap, sizeof *p->targets);
    p->calls = calloc(cap, sizeof *p->calls);
    p->tags = calloc(cap, sizeof *p->tags);
    p->results = calloc(cap, sizeof *p->results);
    if (!p->targets || !p->calls || !p->tags || !p->results) return false;
    for (size_t i = 0; i < snap->n; i++) {
        const store_node *nd = &snap->nodes[i];
        if (!listing_query_wants_node(q, nd->id, nd->pop_id)) continue;
        size_t k = p->n;
        size_t ntags = 0;
        p->tags[k] = listing_query_tags_for(q, nd->id, &ntags);
        p->targets[k] = (node_target){nd->id, nd->name, nd->rpc_endpoint};
        p->calls[k] = (node_call){"yeti.show.calls", p->tags[k], ntags, REPLY_EXPECT_CALLS};
        node_result_init(&p->results[k]);
        p->n++;
    }
    return true;
}

static void write_meta(buf *out, size_t total, const fanout_plan *p)
{
    buf_puts(out, ",\"meta\":{\"total-count\":");
    buf_put_i64(out, (int64_t)total);
    int failed = 0, skipped = 0;
    for (size_t i = 0; i < p->n; i++) {
        const node_result *r = &p->results[i];
        if (r->status == NODE_OK) continue;
        buf_puts(out, failed++ ? ",{\"id\":\"" : ",\"failed-nodes\":[{\"id\":\"");
        buf_put_i64(out, p->targets[i].id);
        buf_puts(out, "\",\"name\":");
        buf_put_json_str(out, p->targets[i].name, strlen(p->targets[i].name));
        buf_puts(out, ",\"error\":\"");
        buf_puts(out, node_status_code(r->status));
        buf_puts(out, "\",\"detail\":");
        buf_put_json_str(out, r->detail, strlen(r->detail));
        buf_putc(out, '}');
    }
    if (failed) buf_putc(out, ']');
    for (size_t i = 0; i < p->n; i++) {
        const node_result *r = &p->results[i];
        if (r->status != NODE_OK || r->calls.skipped == 0) continue;
        buf_puts(out, skipped++ ? ",{\"id\":\"" : ",\"skipped-records\":[{\"id\":\"");
        buf_put_i64(out, p->targets[i].id);
        buf_puts(out, "\",\"count\":");
        buf_put_i64(out, (int64_t)r->calls.skipped);
        buf_puts(out, ",\"reason\":\"no local_tag\"}");
    }
    if (skipped) buf_putc(out, ']');
    buf_puts(out, "}}");
}

/* How many calls the nodes sent (before filters). */
static size_t plan_calls(const fanout_plan *plan)
{
    size_t n = 0;
    for (size_t i = 0; i < plan->n; i++)
        if (plan->results[i].status == NODE_OK) n += plan->results[i].calls.n;
    return n;
}

/* The calls that pass the filters, in document order. */
static call_ref_rec *matching_calls(const fanout_plan *plan, const listing_query *q, size_t *n)
{
    size_t cap = plan_calls(plan);
    call_ref_rec *out = malloc((cap ? cap : 1) * sizeof *out);
    *n = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < plan->n; i++) {
        const callset *cs = &plan->results[i].calls;
        if (plan->results[i].status != NODE_OK) continue;
        for (size_t k = 0; k < cs->n; k++)
            if (listing_query_match(q, plan->targets[i].id, cs, &cs->recs[k]))
                out[(*n)++] = (call_ref_rec){plan->targets[i].id, &cs->recs[k]};
    }
    return out;
}

/* The callset a matched record lives in (records are stored per node). */
static const callset *set_of(const fanout_plan *plan, const call_record *r)
{
    for (size_t i = 0; i < plan->n; i++) {
        const callset *cs = &plan->results[i].calls;
        if (cs->n && r >= cs->recs && r < cs->recs + cs->n) return cs;
    }
    return NULL;
}

/* Writing a big listing is split between threads: each writes a slice of
 * the calls into its own buffer, handed to the server as consecutive parts
 * of the body (http/server.h), so the slices are never copied together.
 * Below WRITE_SLICE_MIN calls per thread a thread costs more than it saves. */
#define WRITE_SLICE_MIN 1000
#define WRITE_THREADS_MAX (1 + HTTP_MORE_PARTS) /* into res->body and each `more` part */

#define GONE_CHECK_EVERY 1024 /* calls between two looks at the client's socket */

typedef struct write_slice {
    buf *out;
    const fanout_plan *plan;
    const call_ref_rec *calls;
    size_t from, to;
    doc_base base;
    const doc_call_opts *opts;
    const http_request *req; /* the first slice looks whether the client is still there */
    atomic_bool *gone;       /* ... and tells every slice to stop if not */
} write_slice;

static void write_calls(const write_slice *w)
{
    buf scratch;
    buf_init(&scratch);
    const callset *cs = NULL;
    for (size_t i = w->from; i < w->to; i++) {
        if ((i - w->from) % GONE_CHECK_EVERY == GONE_CHECK_EVERY - 1) {
            if (w->req && http_client_gone(w->req)) atomic_store(w->gone, true);
            if (atomic_load(w->gone)) break;
        }
        const call_record *rec = w->calls[i].rec;
        if (i == w->from + 16) /* room for the rest at the size of the first 16, plus a margin */
            buf_reserve(w->out, (w->out->len / 16 + 64) * (w->to - i) / 16 * 17);
        if (i) buf_putc(w->out, ',');
        if (!cs || rec < cs->recs || rec >= cs->recs + cs->n) cs = set_of(w->plan, rec);
        doc_call_resource(w->out, &scratch, w->base, w->calls[i].node_id, cs, rec, w->opts);
    }
    buf_free(&scratch);
}

static void *write_calls_thread(void *arg)
{
    write_calls(arg);
    return NULL;
}

/* One thread per core (two at least, so that every machine runs the
 * sliced path the same way), each with WRITE_SLICE_MIN calls or more. */
static size_t writer_count(size_t n)
{
    size_t k = n / WRITE_SLICE_MIN;
    if (k < 2) return 1;
    /* sysconf reads a file under /sys each time: once is enough */
    static atomic_long cores;
    if (atomic_load(&cores) == 0) atomic_store(&cores, sysconf(_SC_NPROCESSORS_ONLN));
    long c = atomic_load(&cores);
    size_t most = c > 2 ? (size_t)c : 2;
    if (k > most) k = most;
    if (k > WRITE_THREADS_MAX) k = WRITE_THREADS_MAX;
    return k;
}

/* The calls of the document: slice 0 into res->body on this thread, the
 * others into res->more[0..] on threads of their own (or here, if a thread
 * cannot start). Returns the buffer holding the last slice, or NULL when
 * the client left while they were written (then the slices are partial). */
static buf *write_data(http_response *res, const http_request *req, const fanout_plan *plan,
                       const call_ref_rec *calls, size_t n, doc_base base, const doc_call_opts *opts)
{
    size_t k = writer_count(n);
    write_slice slice[WRITE_THREADS_MAX];
    pthread_t tid[WRITE_THREADS_MAX];
    bool started[WRITE_THREADS_MAX] = {false};
    atomic_bool gone = false;
    for (size_t t = 0; t < k; t++)
        slice[t] = (write_slice){t == 0 ? &res->body : &res->more[t - 1], plan, calls,
                                 n * t / k, n * (t + 1) / k, base, opts,
                                 t == 0 ? req : NULL, &gone};
    for (size_t t = 1; t < k; t++)
        started[t] = pthread_create(&tid[t], NULL, write_calls_thread, &slice[t]) == 0;
    write_calls(&slice[0]);
    for (size_t t = 1; t < k; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else write_calls(&slice[t]);
    }
    return atomic_load(&gone) ? NULL : slice[k - 1].out;
}

static void client_gone(http_response *res)
{
    buf_reset(&res->body);
    for (int i = 0; i < HTTP_MORE_PARTS; i++) buf_free(&res->more[i]);
    app_error(res, 499, "499", "Client closed request", "The client closed the connection.");
}

static void write_listing(app *a, const http_request *req, const fanout_plan *plan,
                          const api_params *p, doc_base base, http_response *res)
{
    size_t n;
    call_ref_rec *calls = matching_calls(plan, &p->filters, &n);
    phase_lap(PHASE_FILTER);
    if (!calls) { app_error(res, 500, "500", "Internal server error", "Out of memory."); return; }
    included inc;
    char err[STORE_ERR_LEN];
    if (included_resolve(&inc, a->st, &p->include, calls, n, err) != 0) {
        app_error(res, 503, "503", "Store unavailable", "Related resources cannot be read right now.");
        log_msg(LOG_ERROR, "include lookup failed: %s", err);
        included_free(&inc);
        free(calls);
        return;
    }
    doc_call_opts opts = {p->fields.calls, p->include.call_rels};
    buf_puts(&res->body, "{\"data\":[");
    buf *out = write_data(res, req, plan, calls, n, base, &opts); /* the rest follows the last slice */
    if (!out) {
        client_gone(res);
        included_free(&inc);
        free(calls);
        return;
    }
    buf_putc(out, ']');
    if (p->include.n) {
        buf_puts(out, ",\"included\":[");
        included_write(&inc, out, base, &p->fields);
        buf_putc(out, ']');
    }
    write_meta(out, n, plan);
    res->status = 200;
    included_free(&inc);
    free(calls);
}

void api_list_calls(app *a, const http_request *req, http_response *res)
{
    api_params p;
    if (!api_params_parse(req, true, true, &p, res)) { api_params_free(&p); return; }

    char base_text[300];
    doc_base base;
    char err[STORE_ERR_LEN] = "";
    node_snapshot *snap = NULL;
    if (!app_base_url(a, req, res, base_text, &base)) goto done;
    snap = registry_acquire(a->reg, err);
    if (!snap) { app_error(res, 503, "503", "Store unavailable", err); goto done; }

    fanout_plan plan;
    if (!plan_build(&plan, snap, &p.filters)) {
        app_error(res, 500, "500", "Internal server error", "Out of memory.");
    } else {
        coalesce_round *shared = coalesce_run(a->pool, plan.n, plan.targets, plan.calls, a->cfg.node_timeout_ms, plan.results);
        int64_t parse_us = 0;
        for (size_t i = 0; i < plan.n; i++) parse_us += plan.results[i].parse_us;
        phase_add(PHASE_PARSE, parse_us);
        /* a client that gave up while the nodes answered (a dashboard's
         * timeout) does not get a document of 100 MB written for nobody;
         * nor does one that leaves while it is written (write_calls). A
         * small document is cheaper to write than to ask the socket. */
        if (plan_calls(&plan) >= WRITE_SLICE_MIN && http_client_gone(req)) client_gone(res);
        else write_listing(a, req, &plan, &p, base, res);
        coalesce_release(shared, plan.n, plan.results); /* before plan_free: the results are shared */
    }
    plan_free(&plan);
done:
    registry_release(a->reg, snap);
    api_params_free(&p);
}
