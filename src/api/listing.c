/* listing: what the listing and the counts share (listing.h) — the plan of
 * a request's nodes (a fresh round's, or a snapshot's), the calls that pass
 * its filters, their order and the page, and the document's links and
 * meta. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/listing.h"
#include "util/timefmt.h"
#include "util/topk.h"

void listing_plan_free(fanout_plan *p)
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
bool listing_plan_alloc(fanout_plan *p, size_t n)
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
bool listing_plan_build(fanout_plan *p, const node_snapshot *snap, const listing_query *q, pushdown *pd,
                        const sort_spec *narrow)
{
    if (!listing_plan_alloc(p, snap->n)) return false;
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
bool listing_plan_from_snapshot(fanout_plan *p, const live_snap *snap, const listing_query *q)
{
    if (!listing_plan_alloc(p, snap->n)) return false;
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
size_t listing_plan_calls(const fanout_plan *plan)
{
    size_t n = 0;
    for (size_t i = 0; i < plan->n; i++)
        if (plan->results[i].status == NODE_OK) n += plan->results[i].calls.n;
    return n;
}

call_ref_rec *listing_matching(const fanout_plan *plan, const listing_query *q, size_t *n)
{
    size_t cap = listing_plan_calls(plan);
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
    assert(page->number >= 1 && page->size >= 1);
    uint64_t before = (uint64_t)(page->number - 1), size = (uint64_t)page->size;
    /* page[number] may be any positive int64: past the end without overflowing */
    *from = before <= (uint64_t)total / size ? (size_t)(before * size) : total;
    if (*from > total) *from = total;
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
