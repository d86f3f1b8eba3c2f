/* list_calls: GET /api/rest/admin/active-calls and /active-call-counts —
 * the steps of a request.
 *
 * Parse the parameters (400 on any problem), then either take a snapshot
 * of the live view that is young enough (Cache-Control: max-age; a
 * document it already gave is given again, api/snapcache.h), or ask the
 * nodes the filters allow, all at once under one deadline, with the
 * filters pushed down to them (api/pushdown.h). A fresh sorted page asks
 * less: the longest calls only when a snapshot hints how long they are
 * (threshold_hint), else a first round of the fields that order and count
 * and a second for the page's calls (page_round_start). Then the document
 * (list_doc.c) or the counts (call_counts.c). Nodes that failed are named
 * in meta.failed-nodes; their calls are missing, nothing else is. */
#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/listing.h"
#include "http/negotiate.h"
#include "nodes/coalesce.h"
#include "util/clock.h"
#include "util/phase.h"
#include "util/topk.h"

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
    buf cache_key;      /* its document's key in the snapshot cache, once made */
} listing;

static void listing_free(listing *l)
{
    coalesce_release(l->shared, l->plan.n,
                     l->plan.results); /* before listing_plan_free: the results are shared */
    listing_plan_free(&l->plan);
    coalesce_release(l->page_shared, l->page_plan.n, l->page_plan.results);
    listing_plan_free(&l->page_plan);
    coalesce_release(l->count_shared, l->count_plan.n, l->count_plan.results);
    listing_plan_free(&l->count_plan);
    free(l->page);
    free(l->page_node);
    free(l->tag_text);
    buf_free(&l->cache_key);
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
        size_t asked = listing_plan_calls(&l->plan) + listing_plan_calls(&l->count_plan);
        if ((asked > LOOP_WRITE_MAX || l->p.include.n) && http_to_worker(l->req)) return;
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
        if (listing_plan_calls(&l->plan) > LOOP_WRITE_MAX && http_to_worker(l->req)) return;
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
    if ((listing_plan_calls(&l->plan) > LOOP_WRITE_MAX || l->p.include.n) && http_to_worker(l->req)) return;
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
        counts_write(l->req, &l->plan, &l->p, l->base, l->res);
    else if (listing_plan_calls(&l->plan) >= LISTING_SLICE_MIN && http_client_gone(l->req))
        listing_client_gone(l->res);
    else if (!listing_write_all(l->a, l->req, &l->plan, &l->p, l->base, l->res))
        return;    /* moved */
    if (l->live) { /* the same question of this snapshot gets this document (api/snapcache.h) */
        if (!l->cache_key.len) snapcache_key(&l->cache_key, l->req, l->base.url, l->base.len);
        snapcache_put(l->a->docs_cache, l->live->seq, &l->cache_key, l->res);
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
    if (!l->page_node || !per_node || !l->tag_text || !listing_plan_alloc(&l->page_plan, l->plan.n)) {
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
    bool done = listing_write_calls(l->a, l->req, &l->page_plan, &l->p, l->base, l->res,
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

#define HINT_MOVED (-2) /* threshold_hint moved the step to a worker */

/* D, or -1 when this way does not apply or the snapshot cannot tell, or
 * HINT_MOVED: reading a big snapshot is work for a worker, where the
 * request's step runs again. */
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
    if (total > LISTING_SLICE_MIN && http_to_worker(l->req)) {
        live_release(snap);
        return HINT_MOVED;
    }
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
    bool ok = listing_plan_build(&l->plan, l->snap, &longer, l->a->pushdown, NULL);
    free(conds);
    static const sort_spec none = {.n = 0};
    if (ok && filters_read_calls(q)) {
        ok = listing_plan_build(&l->count_plan, l->snap, q, l->a->pushdown, &none);
    } else if (ok) {
        ok = listing_plan_alloc(&l->count_plan, l->plan.n);
        for (size_t i = 0; ok && i < l->plan.n; i++) {
            l->count_plan.targets[i] = l->plan.targets[i];
            l->count_plan.pop_ids[i] = l->plan.pop_ids[i];
            l->count_plan.calls[i] = (node_call){"yeti.show.calls.count", NULL, 0, REPLY_EXPECT_ANY, NULL};
            node_result_init(&l->count_plan.results[i]);
        }
        if (ok) l->count_plan.n = l->plan.n;
    }
    if (!ok) {
        listing_plan_free(&l->plan);
        listing_plan_free(&l->count_plan);
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
    size_t total = 0;
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
    }
    size_t matched, from, n, longer = 0;
    call_ref_rec *all = listing_matching(&l->plan, &l->p.filters, &matched);
    if (!all) {
        http_error(l->res, 500, "Internal server error", "Out of memory.");
        return 1;
    }
    for (size_t i = 0; i < matched; i++) longer += all[i].rec->duration >= l->threshold;
    listing_page(&l->p.page, total, &from, &n);
    if (longer >= from + n) {
        bool done = true;
        if (listing_order(&l->plan, all, matched, &l->p.sort, from + n))
            done = listing_write_calls(l->a, l->req, &l->plan, &l->p, l->base, l->res,
                                       (doc_calls){all + from, n, total, NULL, 0, NULL});
        else
            http_error(l->res, 500, "Internal server error", "Out of memory.");
        free(all);
        return done ? 1 : 0;
    }
    free(all);
    /* the two rounds, within what is left of the deadline */
    coalesce_release(l->shared, l->plan.n, l->plan.results);
    listing_plan_free(&l->plan);
    coalesce_release(l->count_shared, l->count_plan.n, l->count_plan.results);
    listing_plan_free(&l->count_plan);
    memset(&l->plan, 0, sizeof l->plan);
    memset(&l->count_plan, 0, sizeof l->count_plan);
    l->shared = l->count_shared = NULL;
    l->threshold = -1;
    l->narrow = true;
    if (!listing_plan_build(&l->plan, l->snap, &l->p.filters, l->a->pushdown, &l->p.sort)) {
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
    l->oom = !snap || !listing_plan_from_snapshot(&l->plan, snap, &l->p.filters);
    http_continue(l->req, listing_write, l);
}

/* A document this snapshot already gave for the same question: the answer
 * at once (l is freed); false when there is none. */
static bool answer_from_cache(listing *l, live_snap *snap)
{
    snapcache_key(&l->cache_key, l->req, l->base.url, l->base.len); /* kept: a miss puts under it */
    if (!snapcache_get(l->a->docs_cache, snap->seq, &l->cache_key, l->res)) return false;
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
        if (d == HINT_MOVED) {
            listing_free(l);
            return;
        }
        /* not narrow while the threshold's rounds run; once they are
         * started, l belongs to them (another thread may finish it) */
        l->narrow = false;
        if (d >= 0 && threshold_start(l, d)) return;
        l->narrow = true;
    }
    if (!listing_plan_build(&l->plan, l->snap, &l->p.filters, a->pushdown, l->narrow ? &l->p.sort : NULL)) {
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
