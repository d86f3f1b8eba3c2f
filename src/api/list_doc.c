/* list_doc: the listing document, written straight from the parsed
 * replies (a big one in slices on several threads, see write_data).
 *
 * Memory (docs/API.md, "Memory"). Before anything is written, the exact
 * size of the document is known: each matched call's resource object is
 * sized (jsonapi/document.h), and the end of the document (included
 * resources, links, meta) is written first into a buffer of its own. A
 * node whose calls alone would take more than the per-node limit fails as
 * document-too-large; a document still over the document limit is a 507
 * naming each node's share; otherwise its size is reserved from the
 * process-wide budget of documents being written (util/budget.h), waiting
 * briefly for room or answering 503 with Retry-After, and given back once
 * it is written. Each buffer is then reserved once, at its final size. A
 * client that has left while a big document is written gets none (499). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/listing.h"
#include "jsonapi/errors.h"
#include "util/budget.h"
#include "util/log.h"
#include "util/phase.h"

/* Writing a big listing is split between threads: each writes a slice of
 * the calls into its own buffer, handed to the server as consecutive parts
 * of the body (http/server.h), so the slices are never copied together.
 * Below LISTING_SLICE_MIN calls per thread a thread costs more than it saves. */

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
 * sliced path the same way), each with LISTING_SLICE_MIN calls or more. */
static size_t writer_count(const app *a, size_t n)
{
    size_t k = n / LISTING_SLICE_MIN;
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

void listing_client_gone(http_response *res)
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
    bool ok = budget_take(a->docs, total,
                          on_worker ? atomic_load_explicit(&a->inflight_wait_ms, memory_order_relaxed) : 0,
                          &waited);
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

bool listing_write_all(app *a, const http_request *req, fanout_plan *plan, const api_params *p, doc_base base,
                       http_response *res)
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
        listing_write_calls(a, req, plan, p, base, res, (doc_calls){all + from, n, matched, all, from, NULL});
    free(all);
    return done;
}

/* False when the step moved to a worker (http_to_worker) before it wrote
 * anything: it runs again there. */
bool listing_write_calls(app *a, const http_request *req, fanout_plan *plan, const api_params *p,
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
        listing_client_gone(res);
    }
    budget_give(a->docs, total);
done:
    buf_free(&tail);
    included_free(&inc);
    sizes_free(&z);
    return !moved;
}
