/* listing: what the listing of calls and the grouped counts share (inside
 * api/ only): the nodes a request asks, or the snapshot it reads; the
 * calls that pass its filters, put in the order it asks for; and the meta
 * member that names the nodes that failed. */
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

/* GET /active-call-counts, once the plan's nodes have answered. */
void counts_write(app *a, const http_request *req, const fanout_plan *plan, const api_params *p,
                  http_response *res);
/* The sort keys of the counts: the group keys, count, ... (params_limits). */
int counts_sort_index(const char *name, size_t len);

#endif
