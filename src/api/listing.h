/* listing: what the listing of calls and the grouped counts share (inside
 * api/ only): the nodes a request asks, or the snapshot it reads; the
 * calls that pass its filters, put in the order it asks for; the page's
 * links and the meta member that names the nodes that failed (listing.c);
 * and the document of calls (list_doc.c). A request's steps are
 * list_calls.c's; the counts' document is call_counts.c's. */
#ifndef AC_API_LISTING_H
#define AC_API_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/app_internal.h"
#include "api/included.h"
#include "api/params.h"
#include "live/live.h"

typedef struct fanout_plan {
    size_t n;
    node_target *targets;
    int64_t *pop_ids;
    node_call *calls;
    const char ***tags; /* per target: the tags asked for, or NULL */
    node_result *results;
    const live_snap *snap; /* the results are views of this snapshot's (read only), or NULL */
    char **rules;          /* push-down: the filters as node rules (one block), or NULL */
    const char **fparams;  /* the filtered call's parameters (pointing into rules) */
} fanout_plan;

void listing_plan_free(fanout_plan *p);
/* The plan's arrays for n nodes, in one block; false when out of memory. */
bool listing_plan_alloc(fanout_plan *p, size_t n);
/* The nodes of snap the filters want, each asked for its calls: the ones
 * named by filter[id] by tag; the others, when the filters give node
 * rules, with the filtered method (falling back to the plain one) unless
 * the node refused it lately (api/pushdown.h); with `narrow`, the filtered
 * method for only the fields that order and count the calls. */
bool listing_plan_build(fanout_plan *p, const node_snapshot *snap, const listing_query *q, pushdown *pd,
                        const sort_spec *narrow);
/* The nodes of a snapshot the filters want, their results shared with it
 * (read only but for this plan's own copies of their status). */
bool listing_plan_from_snapshot(fanout_plan *p, const live_snap *snap, const listing_query *q);
/* How many calls the nodes sent (before filters). */
size_t listing_plan_calls(const fanout_plan *plan);

/* The calls of the plan's nodes that pass the filters, in document order
 * (node order, then each node's own). */
call_ref_rec *listing_matching(const fanout_plan *plan, const listing_query *q, size_t *n);

/* Puts the first k of calls[0..n) in `sort` order (stable: ties keep
 * document order; nulls last whatever the direction), the rest after them
 * in no order. No sort keys: nothing moves. False when out of memory. */
bool listing_order(const fanout_plan *plan, call_ref_rec *calls, size_t n, const sort_spec *sort, size_t k);

/* The page's items among `total`: *from and *count (0 past the end). No
 * page asked for: all of them. */
void listing_page(const page_spec *page, size_t total, size_t *from, size_t *count);

/* The document's end: `,"meta":{"total-count":total, ...}}` with the
 * nodes that failed (in plan, or in `also`, an earlier round of the same
 * listing: NULL for none), the records skipped, and the snapshot's time. */
void listing_meta(buf *out, size_t total, const fanout_plan *plan, const fanout_plan *also);

/* The page's links member, `,"links":{...}` (nothing without a page). */
void listing_links(buf *out, doc_base base, const http_request *req, const api_params *p, size_t total);

/* ---- the document (list_doc.c) ---- */

/* Calls a big document is written in slices of, one thread each. */
#define LISTING_SLICE_MIN 1000

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

/* The document of dc's calls. False when the step moved to a worker
 * (http_to_worker) before it wrote anything: it runs again there. */
bool listing_write_calls(app *a, const http_request *req, fanout_plan *plan, const api_params *p,
                         doc_base base, http_response *res, doc_calls dc);
/* The same for every call of the plan that passes the filters, in order,
 * the page's. */
bool listing_write_all(app *a, const http_request *req, fanout_plan *plan, const api_params *p, doc_base base,
                       http_response *res);
/* 499: the client left, nothing is written. */
void listing_client_gone(http_response *res);

/* GET /active-call-counts, once the plan's nodes have answered. */
void counts_write(const http_request *req, const fanout_plan *plan, const api_params *p, doc_base base,
                  http_response *res);
/* The sort keys of the counts: the group keys, count, ... (params_limits). */
int counts_sort_index(const char *name, size_t len);

#endif
