/* list_calls: GET /api/rest/admin/active-calls (the seed).
 *
 * Steps: parse the parameters (400 on any problem), pick the nodes the
 * filters allow, ask them all at once under one deadline, keep the calls
 * that pass the per-call filters, fetch what `include` asks for in batches,
 * then write the document straight from the parsed replies (a big one in
 * slices on several threads, see write_data). Nodes that failed are named
 * in meta.failed-nodes; their calls are missing, nothing else is. A client
 * that has left before or while a big document is written gets none (499).
 *
 * Memory (docs/API.md, "Memory"). Before anything is written, the exact
 * size of the document is known: each matched call's resource object is
 * sized (jsonapi/document.h), and the end of the document (included
 * resources, meta) is written first into a buffer of its own. A node whose
 * calls alone would take more than the per-node limit fails as
 * document-too-large; a document still over the document limit is a 507
 * naming each node's share; otherwise its size is reserved from the
 * process-wide budget of documents being written (util/budget.h), waiting
 * briefly for room or answering 503 with Retry-After, and given back once
 * it is written. Each buffer is then reserved once, at its final size. */
#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/listing.h"
#include "jsonapi/errors.h"
#include "http/negotiate.h"
#include "nodes/coalesce.h"
#include "util/budget.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/phase.h"
#include "util/timefmt.h"
#include "util/topk.h"

static void plan_free(fanout_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->tags[i]);
        if (!p->snap) node_result_free(&p->results[i]);
    }
    free(p->rules);
    free(p->fparams);
    free(p->results); /* the arrays' one block */
}

/* The plan's arrays for n nodes, in one block (results first). */
static bool plan_alloc(fanout_plan *p, size_t n)
{
    _Static_assert(sizeof(node_result) % _Alignof(node_target) == 0 &&
                       sizeof(node_target) % _Alignof(node_call) == 0 &&
                       sizeof(node_call) % _Alignof(const char **) == 0 &&
                       sizeof(const char **) % _Alignof(int64_t) == 0,
                   "each array of a plan starts aligned");
    memset(p, 0, sizeof *p);
    size_t cap = n ? n : 1;
    p->results = calloc(cap,
                        sizeof *p->results + sizeof *p->targets + sizeof *p->calls + sizeof *p->tags +
                            sizeof *p->pop_ids);
    if (!p->results) return false;
    p->targets = (node_target *)(void *)(p->results + cap);
    p->calls = (node_call *)(void *)(p->targets + cap);
    p->tags = (const char ***)(void *)(p->calls + cap);
    p->pop_ids = (int64_t *)(void *)(p->tags + cap);
    return true;
}

/* The nodes the filters want, each asked for its calls: the ones named by
 * filter[id] by tag; the others, when the filters give node rules, with
 * the filtered method (falling back to the plain one), unless the node
 * refused it lately (api/pushdown.h). */
static bool plan_build(fanout_plan *p, const node_snapshot *snap, const listing_query *q, pushdown *pd,
                       const sort_spec *narrow)
{
    if (!plan_alloc(p, snap->n)) return false;
    size_t nrules = listing_query_rules(q, &p->rules), nfparams = 0;
    if ((nrules || narrow) && !(p->fparams = pushdown_params(p->rules, nrules, q, narrow, &nfparams)))
        return false;
    for (size_t i = 0; i < snap->n; i++) {
        const store_node *nd = &snap->nodes[i];
        if (!listing_query_wants_node(q, nd->id, nd->pop_id)) continue;
        size_t k = p->n;
        size_t ntags = 0;
        p->tags[k] = listing_query_tags_for(q, nd->id, &ntags);
        p->targets[k] = snap->targets[i];
        p->pop_ids[k] = nd->pop_id;
        if (ntags == 0 && p->fparams && !pushdown_refused(pd, nd->id))
            p->calls[k] = (node_call){"yeti.show.calls.filtered", p->fparams, nfparams, REPLY_EXPECT_CALLS,
                                      &pushdown_plain};
        else
            p->calls[k] = (node_call){"yeti.show.calls", p->tags[k], ntags, REPLY_EXPECT_CALLS, NULL};
        node_result_init(&p->results[k]);
        p->n++;
    }
    return true;
}

/* The nodes of a snapshot the filters want, their results shared with it:
 * the listing reads them and changes only its own copies' status. */
static bool plan_from_snapshot(fanout_plan *p, const live_snap *snap, const listing_query *q)
{
    if (!plan_alloc(p, snap->n)) return false;
    p->snap = snap;
    for (size_t i = 0; i < snap->n; i++) {
        if (!listing_query_wants_node(q, snap->targets[i].id, snap->pop_ids[i])) continue;
        p->targets[p->n] = snap->targets[i];
        p->pop_ids[p->n] = snap->pop_ids[i];
        p->results[p->n++] = snap->results[i];
    }
    return true;
}

void listing_meta(buf *out, size_t total, const fanout_plan *p, const fanout_plan *also)
{
    buf_puts(out, ",\"meta\":{\"total-count\":");
    buf_put_i64(out, (int64_t)total);
    if (p->snap) {
        char iso[TIMEFMT_ISO_LEN];
        int64_t ms = p->snap->wall_ms;
        timefmt_iso_utc(ms / 1000, iso);
        iso[20] = (char)('0' + ms % 1000 / 100); /* "...:SS.mmmZ" */
        iso[21] = (char)('0' + ms % 100 / 10);
        iso[22] = (char)('0' + ms % 10);
        buf_puts(out, ",\"snapshot-at\":\"");
        buf_append(out, iso, sizeof iso);
        buf_putc(out, '"');
    }
    int failed = 0, skipped = 0;
    /* by node id: the plans list their nodes so, and a node is in one of them at most failed */
    for (size_t i = 0, j = 0; i < p->n || (also && j < also->n);) {
        bool mine = i < p->n && (!also || j >= also->n || p->targets[i].id < also->targets[j].id);
        const fanout_plan *q = mine ? p : also;
        size_t k = mine ? i++ : j++;
        const node_result *r = &q->results[k];
        if (r->status == NODE_OK) continue;
        buf_puts(out, failed++ ? ",{\"id\":\"" : ",\"failed-nodes\":[{\"id\":\"");
        buf_put_i64(out, q->targets[k].id);
        buf_puts(out, "\",\"name\":");
        buf_put_json_str(out, q->targets[k].name, strlen(q->targets[k].name));
        buf_puts(out, ",\"error\":\"");
        buf_puts(out, node_status_code(r->status));
        buf_puts(out, "\",\"detail\":");
        buf_put_json_str(out, r->detail, strlen(r->detail));
        buf_putc(out, '}');
    }
    if (failed) buf_putc(out, ']');
    const fanout_plan *first = also ? also : p; /* the round that read every node's records */
    for (size_t i = 0; i < first->n; i++) {
        const node_result *r = &first->results[i];
        if (r->status != NODE_OK || r->calls.skipped == 0) continue;
        buf_puts(out, skipped++ ? ",{\"id\":\"" : ",\"skipped-records\":[{\"id\":\"");
        buf_put_i64(out, first->targets[i].id);
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

call_ref_rec *listing_matching(const fanout_plan *plan, const listing_query *q, size_t *n)
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
                out[(*n)++] = (call_ref_rec){plan->targets[i].id, &cs->recs[k], i};
    }
    return out;
}

/* ---- order and pages ------------------------------------------------------ */

typedef struct order_ctx {
    const fanout_plan *plan;
    const sort_spec *sort;
} order_ctx;

static int order_cmp(const void *x, const void *y, void *arg)
{
    const call_ref_rec *a = x, *b = y;
    const order_ctx *o = arg;
    const callset *ca = &o->plan->results[a->node].calls, *cb = &o->plan->results[b->node].calls;
    for (size_t i = 0; i < o->sort->n; i++) {
        call_attr at = (call_attr)o->sort->keys[i].key;
        bool na = call_attr_is_null(a->rec, at), nb = call_attr_is_null(b->rec, at);
        if (na || nb) {
            if (na != nb) return na ? 1 : -1; /* nulls last, whatever the direction */
            continue;
        }
        int c = call_attr_cmp(ca, a->rec, cb, b->rec, at);
        if (c) return o->sort->keys[i].desc ? -c : c;
    }
    /* ties keep document order: node order, then the node's own */
    if (a->node != b->node) return a->node < b->node ? -1 : 1;
    return a->rec < b->rec ? -1 : a->rec > b->rec;
}

bool listing_order(const fanout_plan *plan, call_ref_rec *calls, size_t n, const sort_spec *sort, size_t k)
{
    if (!sort->n || n < 2 || k == 0) return true;
    order_ctx o = {plan, sort};
    return topk_sort(calls, n, sizeof *calls, k, order_cmp, &o);
}

void listing_page(const page_spec *page, size_t total, size_t *from, size_t *count)
{
    *from = 0;
    *count = total;
    if (!page->given) return;
    uint64_t first = (uint64_t)(page->number - 1) * (uint64_t)page->size; /* both bounded by parsing */
    *from = first < total ? (size_t)first : total;
    *count = total - *from < (size_t)page->size ? total - *from : (size_t)page->size;
}

void listing_links(buf *out, doc_base base, const http_request *req, const api_params *p, size_t total)
{
    if (!p->page.given) return;
    char self[700];
    snprintf(self, sizeof self, "%.*s%s", (int)base.len, base.url, req->path);
    buf_putc(out, ',');
    page_links(out, self, req->params, req->nparams, &p->page, total);
}

/* Writing a big listing is split between threads: each writes a slice of
 * the calls into its own buffer, handed to the server as consecutive parts
 * of the body (http/server.h), so the slices are never copied together.
 * Below WRITE_SLICE_MIN calls per thread a thread costs more than it saves. */
#define WRITE_SLICE_MIN 1000

#define GONE_CHECK_EVERY 1024 /* calls between two looks at the client's socket */

typedef struct write_slice {
    buf *out;
    const fanout_plan *plan;
    const call_ref_rec *calls;
    size_t from, to;
    size_t bytes; /* what this slice will append: reserved at once */
    doc_base base;
    const doc_call_opts *opts;
    const http_request *req; /* the first slice looks whether the client is still there */
    atomic_bool *gone;       /* ... and tells every slice to stop if not */
} write_slice;

static void write_calls(const write_slice *w)
{
    buf scratch;
    buf_init(&scratch);
    buf_reserve(w->out, w->bytes);
    for (size_t i = w->from; i < w->to; i++) {
        if ((i - w->from) % GONE_CHECK_EVERY == GONE_CHECK_EVERY - 1) {
            if (w->req && http_client_gone(w->req)) atomic_store(w->gone, true);
            if (atomic_load(w->gone)) break;
        }
        const call_ref_rec *c = &w->calls[i];
        if (i) buf_putc(w->out, ',');
        doc_call_resource(w->out, &scratch, w->base, c->node_id, &w->plan->results[c->node].calls, c->rec,
                          w->opts);
    }
    buf_free(&scratch);
}

static void write_calls_task(void *arg) { write_calls(arg); }

/* One slice per core (two at least, so that every machine runs the
 * sliced path the same way), each with WRITE_SLICE_MIN calls or more. */
static size_t writer_count(const app *a, size_t n)
{
    size_t k = n / WRITE_SLICE_MIN;
    if (k < 2) return 1;
    size_t most = pool_threads(a->cpu) > 2 ? pool_threads(a->cpu) : 2;
    if (k > most) k = most;
    if (k > POOL_BATCH_MAX) k = POOL_BATCH_MAX;
    return k;
}

/* The calls of the document: slice 0 into res->body, the others into
 * res->more[0..], written on the CPU pool (this thread takes any slice no
 * worker has started). sizes[i] is call i's resource object; the last
 * slice's buffer gets room for `tail` more bytes. Returns the buffer
 * holding the last slice, or NULL when the client left while they were
 * written (then the slices are partial) or memory ran out (*oom). */
static buf *write_data(app *a, http_response *res, const http_request *req, const fanout_plan *plan,
                       const call_ref_rec *calls, const size_t *sizes, size_t n, size_t tail, doc_base base,
                       const doc_call_opts *opts)
{
    size_t k = writer_count(a, n);
    if (k > 1 && !http_response_more(res, k - 1)) k = 1; /* out of memory: one slice */
    write_slice slice[POOL_BATCH_MAX];
    atomic_bool gone = false;
    for (size_t t = 0; t < k; t++) {
        size_t from = n * t / k, to = n * (t + 1) / k;
        size_t bytes = (to - from) - (from == 0 && to > 0) + (t == k - 1 ? tail : 0); /* commas, tail */
        for (size_t i = from; i < to; i++) bytes += sizes[i];
        slice[t] = (write_slice){t == 0 ? &res->body : &res->more[t - 1],
                                 plan,
                                 calls,
                                 from,
                                 to,
                                 bytes,
                                 base,
                                 opts,
                                 t == 0 ? req : NULL,
                                 &gone};
    }
    pool_batch b;
    pool_batch_init(&b, a->cpu);
    for (size_t t = 1; t < k; t++) pool_batch_add(&b, write_calls_task, &slice[t]);
    write_calls(&slice[0]);
    pool_batch_wait(&b);
    return atomic_load(&gone) ? NULL : slice[k - 1].out;
}

static void client_gone(http_response *res)
{
    http_error(res, 499, "Client closed request", "The client closed the connection.");
}

/* ---- the memory a document takes (docs/API.md, "Memory") ---------------- */

#define DATA_HEAD "{\"data\":["

/* What each node's matched calls take in `data`. */
typedef struct doc_sizes {
    size_t *of_call;   /* per matched call: its resource object */
    uint64_t *of_node; /* per plan node: its calls, with the commas between them */
    size_t *calls;     /* per plan node: matched calls */
} doc_sizes;

static void sizes_free(doc_sizes *z)
{
    free(z->of_call);
    free(z->of_node);
    free(z->calls);
}

/* Sizes calls[0..n), in any order. */
static bool sizes_measure(doc_sizes *z, const fanout_plan *plan, const call_ref_rec *calls, size_t n,
                          doc_base base, const doc_call_opts *opts)
{
    z->of_call = malloc((n ? n : 1) * sizeof *z->of_call);
    z->of_node = calloc(plan->n ? plan->n : 1, sizeof *z->of_node);
    z->calls = calloc(plan->n ? plan->n : 1, sizeof *z->calls);
    if (!z->of_call || !z->of_node || !z->calls) return false;
    doc_call_sizer sizer;
    for (size_t i = 0; i < n; i++) {
        size_t node = calls[i].node;
        if (i == 0 || node != calls[i - 1].node) doc_call_sizer_init(&sizer, base, calls[i].node_id, opts);
        const callset *cs = &plan->results[node].calls;
        /* the tags are spread over the replies' text: ask for one ahead
         * (sizing is mostly waiting for memory, measured) */
        if (i + 8 < n && calls[i + 8].node == node)
            __builtin_prefetch(callset_text(cs, calls[i + 8].rec->tag));
        z->of_call[i] = doc_call_size(&sizer, cs, calls[i].rec);
        z->of_node[node] += z->of_call[i] + (z->calls[node]++ ? 1 : 0);
    }
    return true;
}

/* A node whose calls alone take more than `limit` fails as
 * document-too-large (in this listing's copy of its result): its calls
 * leave calls[] and sizes. Returns the number of calls left. */
static size_t drop_oversized_nodes(fanout_plan *plan, doc_sizes *z, call_ref_rec *calls, size_t n,
                                   uint64_t limit)
{
    bool any = false;
    for (size_t i = 0; i < plan->n; i++) {
        if (z->of_node[i] <= limit) continue;
        node_result *r = &plan->results[i];
        r->status = NODE_ERR_DOCUMENT_TOO_LARGE;
        snprintf(r->detail, sizeof r->detail,
                 "its %zu calls would take %llu bytes of the document; the limit per node is %llu",
                 z->calls[i], (unsigned long long)z->of_node[i], (unsigned long long)limit);
        any = true;
    }
    if (!any) return n;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (plan->results[calls[i].node].status != NODE_OK) continue;
        calls[kept] = calls[i];
        z->of_call[kept++] = z->of_call[i];
    }
    for (size_t i = 0; i < plan->n; i++)
        if (plan->results[i].status != NODE_OK) z->of_node[i] = z->calls[i] = 0;
    return kept;
}

/* 507: the document is over the limit even without the nodes over theirs.
 * meta names every node that has calls in it, biggest share first. */
static void too_large(http_response *res, const fanout_plan *plan, const doc_sizes *z, uint64_t total,
                      uint64_t included_bytes, uint64_t limit)
{
    char detail[400];
    snprintf(detail, sizeof detail,
             "The listing would be a document of %llu bytes; the limit is %llu. Ask for fewer calls "
             "(filter[node-id-eq], filter[pop-id-eq], fields[active-calls]) or raise the limit.",
             (unsigned long long)total, (unsigned long long)limit);
    jsonapi_errors e;
    jerr_init(&e);
    jerr_add(&e, 507, "507", "Listing too large", "%s", detail);
    buf meta;
    buf_init(&meta);
    buf_puts(&meta, "{\"document-bytes\":");
    buf_put_i64(&meta, (int64_t)total);
    buf_puts(&meta, ",\"limit\":");
    buf_put_i64(&meta, (int64_t)limit);
    if (included_bytes) {
        buf_puts(&meta, ",\"included-bytes\":");
        buf_put_i64(&meta, (int64_t)included_bytes);
    }
    buf_puts(&meta, ",\"nodes\":[");
    bool *done = calloc(plan->n ? plan->n : 1, sizeof *done);
    for (size_t listed = 0; done; listed++) { /* selection by size: there are few nodes */
        size_t best = plan->n;
        for (size_t i = 0; i < plan->n; i++)
            if (!done[i] && z->calls[i] && (best == plan->n || z->of_node[i] > z->of_node[best])) best = i;
        if (best == plan->n) break;
        done[best] = true;
        buf_puts(&meta, listed ? ",{\"id\":\"" : "{\"id\":\"");
        buf_put_i64(&meta, plan->targets[best].id);
        buf_puts(&meta, "\",\"name\":");
        buf_put_json_str(&meta, plan->targets[best].name, strlen(plan->targets[best].name));
        buf_puts(&meta, ",\"calls\":");
        buf_put_i64(&meta, (int64_t)z->calls[best]);
        buf_puts(&meta, ",\"bytes\":");
        buf_put_i64(&meta, (int64_t)z->of_node[best]);
        buf_putc(&meta, '}');
    }
    free(done);
    buf_puts(&meta, "]}");
    jerr_document_meta(&e, &meta, &res->body);
    res->status = 507;
    buf_free(&meta);
    jerr_free(&e);
}

/* The budget counts on the size being exact: a document that is not is a
 * bug, logged (tests look for the line). */
static void check_size(const http_response *res, uint64_t total)
{
    uint64_t written = res->body.len;
    for (size_t i = 0; i < res->nmore; i++) written += res->more[i].len;
    if (written == total) return;
    buf line;
    log_begin(&line, LOG_ERROR, "document-size-mismatch");
    log_kv_i64(&line, "sized", (int64_t)total);
    log_kv_i64(&line, "written", (int64_t)written);
    log_end(&line, LOG_ERROR);
}

/* Reserves the document's bytes from the budget of documents being
 * written; false (and a 503 in res) when there is no room in time. Only
 * a worker waits for room: on the loop, no room at once moves the step
 * to a worker (*moved, res untouched). */
static bool reserve(app *a, const http_request *req, uint64_t total, http_response *res, bool *moved)
{
    int64_t waited;
    bool on_worker = pool_may_block();
    bool ok = budget_take(a->docs, total, on_worker ? a->cfg.inflight_wait_ms : 0, &waited);
    if (!ok && !on_worker && http_to_worker(req)) {
        *moved = true;
        return false;
    }
    if (ok && waited == 0) return true;
    log_level lvl = ok ? LOG_INFO : LOG_WARN;
    buf line;
    log_begin(&line, lvl, "document-budget");
    log_kv(&line, "outcome", ok ? "waited" : "refused");
    log_kv_i64(&line, "bytes", (int64_t)total);
    log_kv_i64(&line, "in_use", (int64_t)budget_in_use(a->docs));
    log_kv_i64(&line, "limit", (int64_t)budget_limit(a->docs));
    log_kv_i64(&line, "waited_ms", waited);
    log_end(&line, lvl);
    if (ok) return true;
    char detail[300];
    snprintf(detail, sizeof detail,
             "Listings being written hold the memory this one needs (%llu bytes; %llu in all may be "
             "written at once). Try again shortly.",
             (unsigned long long)total, (unsigned long long)budget_limit(a->docs));
    http_error(res, 503, "Server busy", detail);
    res->retry_after = 1;
    return false;
}

/* The calls a document lists: calls[0..n), in order, of `matched` that
 * the filters keep in all. all[0..nall) (NULL: not known) are every
 * matched call with the page at all + from, so that the count can leave
 * out every call of a node that fails as document-too-large; without
 * them only the page's leave it. also: the plan of an earlier round
 * whose failed nodes meta names too (NULL: none). */
typedef struct doc_calls {
    call_ref_rec *calls;
    size_t n, matched;
    const call_ref_rec *all;
    size_t from;
    const fanout_plan *also;
} doc_calls;

static bool write_document(app *a, const http_request *req, fanout_plan *plan, const api_params *p,
                           doc_base base, http_response *res, doc_calls dc);

static bool write_listing(app *a, const http_request *req, fanout_plan *plan, const api_params *p,
                          doc_base base, http_response *res)
{
    size_t matched, from, n;
    call_ref_rec *all = listing_matching(plan, &p->filters, &matched);
    listing_page(&p->page, matched, &from, &n);
    if (!all || !listing_order(plan, all, matched, &p->sort, from + n)) {
        http_error(res, 500, "Internal server error", "Out of memory.");
        free(all);
        return true;
    }
    bool done =
        write_document(a, req, plan, p, base, res, (doc_calls){all + from, n, matched, all, from, NULL});
    free(all);
    return done;
}

/* False when the step moved to a worker (http_to_worker) before it wrote
 * anything: it runs again there. */
static bool write_document(app *a, const http_request *req, fanout_plan *plan, const api_params *p,
                           doc_base base, http_response *res, doc_calls dc)
{
    bool moved = false;
    doc_call_opts opts = {p->fields.calls, p->include.call_rels};
    call_ref_rec *calls = dc.calls;
    size_t n = dc.n, matched = dc.matched, from = dc.from;
    doc_sizes z = {NULL, NULL, NULL};
    included inc;
    memset(&inc, 0, sizeof inc);
    buf tail;
    buf_init(&tail);
    if (!sizes_measure(&z, plan, calls, n, base, &opts)) {
        http_error(res, 500, "Internal server error", "Out of memory.");
        goto done;
    }
    uint64_t doc_limit = a->cfg.max_document_bytes;
    if (doc_limit > budget_limit(a->docs)) doc_limit = budget_limit(a->docs); /* it could never be written */
    uint64_t node_limit =
        a->cfg.max_node_document_bytes < doc_limit ? a->cfg.max_node_document_bytes : doc_limit;
    size_t page_n = n;
    n = drop_oversized_nodes(plan, &z, calls, n, node_limit);
    if (n != page_n && dc.all) { /* the calls of the nodes that failed leave the count too */
        size_t kept = n;         /* the page's, compacted; the others are where they were */
        for (size_t i = 0; i < matched; i++)
            if (i < from || i >= from + page_n) kept += plan->results[dc.all[i].node].status == NODE_OK;
        matched = kept;
    } else {
        matched -= page_n - n;
    }
    phase_lap(PHASE_FILTER);

    char err[STORE_ERR_LEN];
    if (included_resolve(&inc, a->st, &p->include, calls, n, err) != 0) {
        http_error(res, 503, "Store unavailable", "Related resources cannot be read right now.");
        log_msg(LOG_ERROR, "include lookup failed: %s", err);
        goto done;
    }
    /* the end of the document first: its size counts too */
    buf_putc(&tail, ']');
    size_t included_at = tail.len;
    if (p->include.n) {
        buf_puts(&tail, ",\"included\":[");
        included_write(&inc, &tail, base, &p->fields);
        buf_putc(&tail, ']');
    }
    size_t included_bytes = tail.len - included_at;
    listing_links(&tail, base, req, p, matched);
    listing_meta(&tail, matched, plan, dc.also);
    if (tail.oom) {
        http_error(res, 500, "Internal server error", "Out of memory.");
        goto done;
    }
    uint64_t total = sizeof DATA_HEAD - 1 + (n ? n - 1 : 0) + tail.len; /* the head, commas, the end */
    for (size_t i = 0; i < n; i++) total += z.of_call[i];
    if (total > doc_limit) {
        too_large(res, plan, &z, total, included_bytes, doc_limit);
        goto done;
    }
    if (!reserve(a, req, total, res, &moved)) goto done;

    buf_puts(&res->body, DATA_HEAD);
    buf *out = write_data(a, res, req, plan, calls, z.of_call, n, tail.len, base, &opts);
    if (out) {
        buf_append(out, tail.data, tail.len);
        res->status = 200;
        check_size(res, total);
    } else {
        client_gone(res);
    }
    budget_give(a->docs, total);
done:
    buf_free(&tail);
    included_free(&inc);
    sizes_free(&z);
    return !moved;
}

/* A listing waiting for its node round, then written (listing_write). */
typedef struct listing {
    app *a;
    const http_request *req;
    http_response *res;
    api_params p;
    char base_text[300];
    doc_base base;
    node_snapshot *snap;
    fanout_plan plan;
    coalesce_round *shared;
    live_snap *live; /* served from this snapshot of the live view, or NULL */
    bool oom;        /* the live view could not make a snapshot */
    bool counts;     /* GET /active-call-counts: groups, not calls */
    /* a sorted page asked fresh: a first round reads what orders and
     * counts the calls (plan), a second the page's calls in full */
    bool narrow;
    int64_t started_ms;
    fanout_plan page_plan;
    coalesce_round *page_shared;
    call_ref_rec *page; /* the page's calls, in order, as the first round has them */
    size_t npage, matched;
    size_t *page_node; /* per node of the first round: its index in page_plan, or SIZE_MAX */
    char *tag_text;    /* the page's tags, each NUL-terminated: the second round's params */
    /* the longest calls first, fresh: one round for the calls at least
     * `threshold` long (plan) and how many the filters keep (count_plan) */
    int64_t threshold; /* -1: not this way */
    fanout_plan count_plan;
    coalesce_round *count_shared;
    atomic_int pending; /* of the two rounds */
} listing;

static void listing_free(listing *l)
{
    coalesce_release(l->shared, l->plan.n, l->plan.results); /* before plan_free: the results are shared */
    plan_free(&l->plan);
    coalesce_release(l->page_shared, l->page_plan.n, l->page_plan.results);
    plan_free(&l->page_plan);
    coalesce_release(l->count_shared, l->count_plan.n, l->count_plan.results);
    plan_free(&l->count_plan);
    free(l->page);
    free(l->page_node);
    free(l->tag_text);
    live_release(l->live);
    registry_release(l->a->reg, l->snap);
    api_params_free(&l->p);
    free(l);
}

/* How old an answer from a snapshot is (RFC 9111 §5.1). */
static void set_age(http_response *res, const live_snap *snap)
{
    res->has_age = true;
    res->age = (clock_now_ms() - snap->started_ms) / 1000;
}

/* Calls a listing may have to be written on the loop thread: writing them
 * takes about as long as handing the step to a worker and back. */
#define LOOP_WRITE_MAX 32

/* Once the nodes have answered (or the deadline passed): on the loop for
 * a small listing without related resources, else on a worker. */
static void page_round_done(void *arg);
static bool page_round_start(listing *l);
static bool write_page(listing *l);

static int threshold_write(listing *l);

static void listing_write(void *arg)
{
    listing *l = arg;
    if (l->oom) {
        http_error(l->res, 500, "Internal server error", "Out of memory.");
        listing_free(l);
        return;
    }
    if (l->threshold >= 0) {
        if (plan_calls(&l->plan) + plan_calls(&l->count_plan) > LOOP_WRITE_MAX && http_to_worker(l->req))
            return;
        int done = threshold_write(l);
        if (done > 0) listing_free(l);
        if (done >= 0) return;
        /* too few calls that long now: the two rounds (waiting again), or the 500 */
        if (!l->oom) return;
        http_error(l->res, 500, "Internal server error", "Out of memory.");
        listing_free(l);
        return;
    }
    if (l->narrow) { /* the first round is in: order, count, ask for the page */
        if (plan_calls(&l->plan) > LOOP_WRITE_MAX && http_to_worker(l->req)) return;
        l->narrow = false;
        if (page_round_start(l)) return;
        if (l->oom) {
            http_error(l->res, 500, "Internal server error", "Out of memory.");
            listing_free(l);
            return;
        }
        /* nothing on the page: the empty page is written from the first round */
    }
    if (l->page_plan.targets) {
        if ((l->npage > LOOP_WRITE_MAX || l->p.include.n) && http_to_worker(l->req)) return;
        if (write_page(l)) listing_free(l);
        return;
    }
    if ((plan_calls(&l->plan) > LOOP_WRITE_MAX || l->p.include.n) && http_to_worker(l->req)) return;
    phase_lap(PHASE_FANOUT);
    int64_t parse_us = 0;
    for (size_t i = 0; i < l->plan.n; i++) parse_us += l->plan.results[i].parse_us;
    phase_add(PHASE_PARSE, parse_us);
    /* a client that gave up while the nodes answered (a dashboard's
     * timeout) does not get a document of 100 MB written for nobody; nor
     * does one that leaves while it is written (write_calls). A small
     * document is cheaper to write than to ask the socket. */
    if (l->live) set_age(l->res, l->live);
    if (l->counts)
        counts_write(l->a, l->req, &l->plan, &l->p, l->res);
    else if (plan_calls(&l->plan) >= WRITE_SLICE_MIN && http_client_gone(l->req))
        client_gone(l->res);
    else if (!write_listing(l->a, l->req, &l->plan, &l->p, l->base, l->res))
        return;    /* moved */
    if (l->live) { /* the same question of this snapshot gets this document (api/snapcache.h) */
        buf key;
        buf_init(&key);
        snapcache_key(&key, l->req, l->base.url, l->base.len);
        snapcache_put(l->a->docs_cache, l->live->seq, &key, l->res);
        buf_free(&key);
    }
    listing_free(l);
}

/* A later round of the listing gets what is left of its deadline, and
 * never less than a tenth of it. */
static int deadline_left(const listing *l)
{
    int t = l->a->cfg.node_timeout_ms, left = t - (int)(clock_now_ms() - l->started_ms);
    return left > t / 10 ? left : t / 10 + 1;
}

/* Orders and counts the first round's calls and asks the nodes of the
 * page for its calls in full: true when that round started (the request
 * waits for it), false when the page is empty or memory ran out (then the
 * page is written from the first round, or the 500 is). */
static bool page_round_start(listing *l)
{
    size_t from, n;
    call_ref_rec *all = listing_matching(&l->plan, &l->p.filters, &l->matched);
    listing_page(&l->p.page, l->matched, &from, &n);
    if (!all || !listing_order(&l->plan, all, l->matched, &l->p.sort, from + n)) {
        free(all);
        l->oom = true;
        return false;
    }
    memmove(all, all + from, n * sizeof *all);
    l->page = all;
    l->npage = n;
    if (n == 0) return false;
    size_t text = 0;
    l->page_node = malloc(l->plan.n * sizeof *l->page_node);
    size_t *per_node = calloc(l->plan.n, sizeof *per_node);
    for (size_t i = 0; i < n; i++) {
        text += l->page[i].rec->tag.len + 1;
        if (per_node) per_node[l->page[i].node]++;
    }
    l->tag_text = malloc(text);
    if (!l->page_node || !per_node || !l->tag_text || !plan_alloc(&l->page_plan, l->plan.n)) {
        free(per_node);
        l->oom = true;
        return false;
    }
    for (size_t i = 0; i < l->plan.n; i++) {
        l->page_node[i] = SIZE_MAX;
        if (!per_node[i]) continue;
        size_t k = l->page_plan.n++;
        l->page_node[i] = k;
        l->page_plan.targets[k] = l->plan.targets[i];
        l->page_plan.pop_ids[k] = l->plan.pop_ids[i];
        l->page_plan.tags[k] = calloc(per_node[i], sizeof *l->page_plan.tags[k]);
        if (!l->page_plan.tags[k]) {
            free(per_node);
            l->oom = true;
            return false;
        }
        node_result_init(&l->page_plan.results[k]);
    }
    free(per_node);
    char *t = l->tag_text;
    for (size_t i = 0; i < n; i++) { /* each node's tags, in page order */
        const callset *cs = &l->plan.results[l->page[i].node].calls;
        size_t k = l->page_node[l->page[i].node];
        node_call *c = &l->page_plan.calls[k];
        memcpy(t, callset_text(cs, l->page[i].rec->tag), l->page[i].rec->tag.len);
        t[l->page[i].rec->tag.len] = '\0';
        l->page_plan.tags[k][c->nparams++] = t;
        t += l->page[i].rec->tag.len + 1;
    }
    for (size_t k = 0; k < l->page_plan.n; k++)
        l->page_plan.calls[k] = (node_call){"yeti.show.calls", l->page_plan.tags[k],
                                            l->page_plan.calls[k].nparams, REPLY_EXPECT_CALLS, NULL};
    http_defer(l->req);
    coalesce_start(l->a->pool, l->page_plan.n, l->page_plan.targets, l->page_plan.calls, deadline_left(l),
                   l->page_plan.results, &l->page_shared, page_round_done, l);
    return true;
}

/* The page's calls in full, in the first round's order, each still
 * passing the filters (a call may have ended or changed in between). */
static bool write_page(listing *l)
{
    call_ref_rec *calls = malloc((l->npage ? l->npage : 1) * sizeof *calls);
    if (!calls) {
        http_error(l->res, 500, "Internal server error", "Out of memory.");
        return true;
    }
    size_t n = 0;
    for (size_t i = 0; i < l->npage; i++) {
        const call_ref_rec *want = &l->page[i];
        const char *tag = callset_text(&l->plan.results[want->node].calls, want->rec->tag);
        size_t k = l->page_node[want->node];
        const node_result *r = &l->page_plan.results[k];
        if (r->status != NODE_OK) continue;
        for (size_t j = 0; j < r->calls.n; j++) {
            const call_record *rec = &r->calls.recs[j];
            if (rec->tag.len != want->rec->tag.len ||
                memcmp(callset_text(&r->calls, rec->tag), tag, rec->tag.len))
                continue;
            if (listing_query_match(&l->p.filters, want->node_id, &r->calls, rec))
                calls[n++] = (call_ref_rec){want->node_id, rec, k};
            break;
        }
    }
    size_t matched = l->matched - (l->npage - n); /* those that went in between leave the count */
    bool done = write_document(l->a, l->req, &l->page_plan, &l->p, l->base, l->res,
                               (doc_calls){calls, n, matched, NULL, 0, &l->plan});
    free(calls);
    return done;
}

static void page_round_done(void *arg)
{
    listing *l = arg;
    http_continue(l->req, listing_write, l);
}

/* ---- the longest calls, fresh, in one round ---------------------------------
 *
 * A page sorted by -duration needs its first k = number × size calls. The
 * latest snapshot, however old, hints a duration D: the 2k-th longest of
 * the calls the filters keep there. Durations only grow, so unless k of
 * those calls have ended since, at least k calls are still that long, and
 * then the page is among the calls at least D long, exactly: the nodes
 * are asked only for those (with the filters' rules and `duration>=D`), in
 * full, and at the same time for how many calls the filters keep
 * (`yeti.show.calls.count`, or the filter fields alone when the filters
 * look at calls). When fewer than k come back, the page takes the two
 * rounds (page_round_start). */

static void listing_round_done(void *arg);

/* Whether the filters look at the calls themselves, not only at nodes. */
static bool filters_read_calls(const listing_query *q)
{
    for (size_t i = 0; i < q->n; i++)
        if (q->conds[i].kind != COND_NODE_IN && q->conds[i].kind != COND_POP_IN) return true;
    return false;
}

static int cmp_desc_i64(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/* D, or -1 when this way does not apply or the snapshot cannot tell. */
static int64_t threshold_hint(listing *l, size_t k)
{
    const listing_query *q = &l->p.filters;
    if (l->p.sort.keys[0].key != ATTR_DURATION || !l->p.sort.keys[0].desc || k == 0 || k > SIZE_MAX / 2)
        return -1;
    for (size_t i = 0; i < q->n; i++)
        if (q->conds[i].kind == COND_ID_IN) return -1; /* asked by tag anyway */
    live_snap *snap = live_latest(l->a->live);
    if (!snap) return -1;
    size_t total = 0;
    for (size_t i = 0; i < snap->n; i++)
        total += snap->results[i].status == NODE_OK ? snap->results[i].calls.n : 0;
    int64_t *d = malloc((total ? total : 1) * sizeof *d), hint = -1;
    size_t n = 0;
    for (size_t i = 0; d && i < snap->n; i++) {
        const callset *cs = &snap->results[i].calls;
        if (snap->results[i].status != NODE_OK ||
            !listing_query_wants_node(q, snap->targets[i].id, snap->pop_ids[i]))
            continue;
        for (size_t r = 0; r < cs->n; r++)
            if (cs->recs[r].duration != CALL_DURATION_NULL &&
                listing_query_match(q, snap->targets[i].id, cs, &cs->recs[r]))
                d[n++] = cs->recs[r].duration;
    }
    if (d && n >= 2 * k && topk_sort(d, n, sizeof *d, 2 * k, cmp_desc_i64, NULL)) hint = d[2 * k - 1];
    free(d);
    live_release(snap);
    return hint;
}

static void threshold_round_done(void *arg)
{
    listing *l = arg;
    if (atomic_fetch_sub(&l->pending, 1) != 1) return;
    pushdown_note(l->a->pushdown, l->plan.n, l->plan.targets, l->plan.results);
    http_continue(l->req, listing_write, l);
}

/* Starts the two rounds; false when memory ran out (nothing started). */
static bool threshold_start(listing *l, int64_t d)
{
    const listing_query *q = &l->p.filters;
    query_cond *conds = malloc((q->n + 1) * sizeof *conds);
    if (!conds) return false;
    if (q->n) memcpy(conds, q->conds, q->n * sizeof *conds);
    int64_t at_least = d;
    conds[q->n] = (query_cond){.kind = COND_DURATION_GTEQ, .vals = &at_least, .nvals = 1};
    listing_query longer = {conds, q->n + 1};
    bool ok = plan_build(&l->plan, l->snap, &longer, l->a->pushdown, NULL);
    free(conds);
    static const sort_spec none = {.n = 0};
    if (ok && filters_read_calls(q)) {
        ok = plan_build(&l->count_plan, l->snap, q, l->a->pushdown, &none);
    } else if (ok) {
        ok = plan_alloc(&l->count_plan, l->plan.n);
        for (size_t i = 0; ok && i < l->plan.n; i++) {
            l->count_plan.targets[i] = l->plan.targets[i];
            l->count_plan.pop_ids[i] = l->plan.pop_ids[i];
            l->count_plan.calls[i] = (node_call){"yeti.show.calls.count", NULL, 0, REPLY_EXPECT_ANY, NULL};
            node_result_init(&l->count_plan.results[i]);
        }
        if (ok) l->count_plan.n = l->plan.n;
    }
    if (!ok) {
        plan_free(&l->plan);
        plan_free(&l->count_plan);
        memset(&l->plan, 0, sizeof l->plan);
        memset(&l->count_plan, 0, sizeof l->count_plan);
        return false;
    }
    assert(l->count_plan.n == l->plan.n);
    l->threshold = d;
    atomic_init(&l->pending, 2);
    http_defer(l->req);
    coalesce_start(l->a->pool, l->plan.n, l->plan.targets, l->plan.calls, l->a->cfg.node_timeout_ms,
                   l->plan.results, &l->shared, threshold_round_done, l);
    coalesce_start(l->a->pool, l->count_plan.n, l->count_plan.targets, l->count_plan.calls,
                   l->a->cfg.node_timeout_ms, l->count_plan.results, &l->count_shared, threshold_round_done,
                   l);
    return true;
}

/* 1: written (or moved to a worker: 0); -1: too few calls that long now,
 * and the two rounds were started instead (or l->oom). */
static int threshold_write(listing *l)
{
    size_t total = 0, longer = 0;
    for (size_t i = 0; i < l->plan.n; i++) {
        node_result *r = &l->plan.results[i];
        const node_result *c = &l->count_plan.results[i];
        if (r->status == NODE_OK && c->status != NODE_OK) { /* the node failed: its calls leave */
            r->status = c->status;
            snprintf(r->detail, sizeof r->detail, "%s", c->detail);
        }
        bool counted = l->count_plan.calls[i].expect == REPLY_EXPECT_ANY;
        if (r->status == NODE_OK && counted && (!c->has_int || c->int_result < 0)) {
            r->status = NODE_ERR_INVALID;
            snprintf(r->detail, sizeof r->detail, "yeti.show.calls.count did not answer a count");
        }
        if (r->status != NODE_OK) continue;
        if (counted) {
            total += (size_t)c->int_result;
        } else {
            for (size_t k = 0; k < c->calls.n; k++)
                total +=
                    listing_query_match(&l->p.filters, l->plan.targets[i].id, &c->calls, &c->calls.recs[k]);
        }
        for (size_t k = 0; k < r->calls.n; k++)
            longer += r->calls.recs[k].duration >= l->threshold &&
                listing_query_match(&l->p.filters, l->plan.targets[i].id, &r->calls, &r->calls.recs[k]);
    }
    size_t from, n;
    listing_page(&l->p.page, total, &from, &n);
    if (longer >= from + n) {
        size_t matched;
        call_ref_rec *all = listing_matching(&l->plan, &l->p.filters, &matched);
        if (!all || matched < from + n || !listing_order(&l->plan, all, matched, &l->p.sort, from + n)) {
            free(all);
            http_error(l->res, 500, "Internal server error", "Out of memory.");
            return 1;
        }
        bool done = write_document(l->a, l->req, &l->plan, &l->p, l->base, l->res,
                                   (doc_calls){all + from, n, total, NULL, 0, NULL});
        free(all);
        return done ? 1 : 0;
    }
    /* the two rounds, within what is left of the deadline */
    coalesce_release(l->shared, l->plan.n, l->plan.results);
    plan_free(&l->plan);
    coalesce_release(l->count_shared, l->count_plan.n, l->count_plan.results);
    plan_free(&l->count_plan);
    memset(&l->plan, 0, sizeof l->plan);
    memset(&l->count_plan, 0, sizeof l->count_plan);
    l->shared = l->count_shared = NULL;
    l->threshold = -1;
    l->narrow = true;
    if (!plan_build(&l->plan, l->snap, &l->p.filters, l->a->pushdown, &l->p.sort)) {
        l->oom = true;
        return -1;
    }
    http_defer(l->req);
    coalesce_start(l->a->pool, l->plan.n, l->plan.targets, l->plan.calls, deadline_left(l), l->plan.results,
                   &l->shared, listing_round_done, l);
    return -1;
}

/* On the node pool's loop: the rest is the request's next step. */
static void listing_round_done(void *arg)
{
    listing *l = arg;
    pushdown_note(l->a->pushdown, l->plan.n, l->plan.targets, l->plan.results);
    http_continue(l->req, listing_write, l);
}

/* A snapshot for a listing that accepts one (live_get's callback). */
static void listing_snapshot_ready(void *arg, live_snap *snap)
{
    listing *l = arg;
    l->live = snap;
    l->oom = !snap || !plan_from_snapshot(&l->plan, snap, &l->p.filters);
    http_continue(l->req, listing_write, l);
}

/* A document this snapshot already gave for the same question: the answer
 * at once (l is freed); false when there is none. */
static bool answer_from_cache(listing *l, live_snap *snap)
{
    buf key;
    buf_init(&key);
    snapcache_key(&key, l->req, l->base.url, l->base.len);
    bool hit = snapcache_get(l->a->docs_cache, snap->seq, &key, l->res);
    buf_free(&key);
    if (!hit) return false;
    set_age(l->res, snap);
    live_release(snap);
    listing_free(l);
    return true;
}

/* The listing and the counts: the parameters, then a snapshot that is
 * young enough (Cache-Control: max-age) or a fresh node round. */
static void listing_start(app *a, const http_request *req, http_response *res, bool counts)
{
    listing *l = calloc(1, sizeof *l);
    if (!l) {
        http_error(res, 500, "Internal server error", "Out of memory.");
        return;
    }
    *l = (listing){.a = a, .req = req, .res = res, .counts = counts, .threshold = -1};
    char err[STORE_ERR_LEN] = "";
    if (!api_params_parse(req, counts ? PARAMS_COUNTS : PARAMS_LISTING, !counts, &a->limits, &l->p, res) ||
        !app_base_url(a, req, res, l->base_text, &l->base)) {
        listing_free(l);
        return;
    }
    bool moved;
    l->snap = registry_for_request(a->reg, req, &moved, err);
    if (moved) {
        listing_free(l);
        return;
    }
    if (!l->snap) {
        http_error(res, 503, "Store unavailable", err);
        listing_free(l);
        return;
    }
    int64_t max_age = http_max_age(req->cache_control);
    if (max_age >= 0) { /* a snapshot may do (docs/API.md, "The live view") */
        live_snap *young = live_young(a->live, max_age * 1000);
        if (young && answer_from_cache(l, young)) return;
        http_defer(req);
        live_nodes nodes = {l->snap->n, l->snap->targets, l->snap->pop_ids};
        live_snap *snap =
            young ? young : live_get(a->live, max_age * 1000, &nodes, listing_snapshot_ready, l);
        if (snap) listing_snapshot_ready(l, snap);
        return;
    }
    l->narrow = !counts && l->p.sort.n && l->p.page.given;
    l->started_ms = clock_now_ms();
    if (l->narrow) { /* the longest calls in one round, when the latest snapshot hints how long */
        size_t from, n;
        listing_page(&l->p.page, SIZE_MAX, &from, &n);
        int64_t d = threshold_hint(l, from + n);
        if (d >= 0 && threshold_start(l, d)) {
            l->narrow = false;
            return;
        }
    }
    if (!plan_build(&l->plan, l->snap, &l->p.filters, a->pushdown, l->narrow ? &l->p.sort : NULL)) {
        http_error(res, 500, "Internal server error", "Out of memory.");
        listing_free(l);
        return;
    }
    phase_lap(PHASE_PRE);
    http_defer(req); /* this thread is free while the nodes answer */
    coalesce_start(a->pool, l->plan.n, l->plan.targets, l->plan.calls, a->cfg.node_timeout_ms,
                   l->plan.results, &l->shared, listing_round_done, l);
}

void api_list_calls(app *a, const http_request *req, http_response *res)
{
    listing_start(a, req, res, false);
}

void api_call_counts(app *a, const http_request *req, http_response *res)
{
    listing_start(a, req, res, true);
}
