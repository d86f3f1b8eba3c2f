/* params: the query parameters of every endpoint — `include`,
 * `fields[...]`, `token` everywhere they apply; on the listing the
 * filters, `sort` and `page[...]`; on the counts the filters, `sort`,
 * `page[...]` and `group-by`. Anything else is a 400 (code 105), so a typo
 * never silently changes an answer (docs/CONTRACT.md §3). */
#ifndef AC_API_PARAMS_H
#define AC_API_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "http/server.h"
#include "jsonapi/errors.h"
#include "jsonapi/fields.h"
#include "jsonapi/include.h"
#include "jsonapi/page.h"
#include "jsonapi/query.h"
#include "jsonapi/sort.h"

typedef enum {
    PARAMS_CALL,    /* one call, its relationships, a related resource */
    PARAMS_LISTING, /* the listing of calls */
    PARAMS_COUNTS,  /* the counts of calls */
    PARAMS_EVENTS,  /* the event stream */
} params_kind;

/* What the app sets for every request (app_internal.h, struct app). */
typedef struct params_limits {
    int64_t default_page_size, max_page_size; /* page[size] when absent; its largest */
    /* the counts' sort keys (dashed), or NULL: none. A group key is its
     * REL_* (params_rel_key), a measure REL_COUNT or more; sorting by a group
     * key the request does not group by is a 114 */
    int (*counts_sort_index)(const char *, size_t);
} params_limits;

typedef struct api_params {
    include_tree include;
    fieldsets fields;
    listing_query filters; /* listing, counts */
    sort_spec sort;        /* listing: call_attrs indices; counts: counts_sort_index's */
    page_spec page;        /* listing, counts */
    int group[REL_COUNT];  /* counts: group-by keys as REL_*, in request order, each once */
    size_t ngroup;
} api_params;

/* Parses; false (and res holds the 400) on any error. `allow_include`:
 * whether this endpoint takes include (the call endpoints and the listing
 * do). lim may be NULL for PARAMS_CALL. Which kind takes what:
 *   - PARAMS_CALL: include (when allowed), fields; filters, sort, page and
 *     group-by are each a 105.
 *   - PARAMS_LISTING: filters, sort (attribute names, type "active-calls"),
 *     page, include, fields; group-by is a 105.
 *   - PARAMS_COUNTS: filters, sort (lim->counts_sort_index, type
 *     "active-call-counts"), page, group-by, fields; include is a 105
 *     (pass allow_include false).
 *   - PARAMS_EVENTS: filters, fields; include (pass false), sort, page and
 *     group-by are each a 105.
 * group-by is a comma list of `node-id`, `pop-id` and `<relationship>-id`
 * for every relationship of a call (customer-id, ..., dst-network-id),
 * dashed or underscored; an empty value (or item) names none; any other
 * key is a 400 code 103 "Invalid field value", `<key> is not a valid
 * group-by key for active-call-counts`. */
/* The relationship a dashed key `<relationship>-id` (node-id and pop-id
 * too) names, or -1: the keys of group-by, and of the counts' sort. */
int params_rel_key(const char *name, size_t len);

bool api_params_parse(const http_request *req, params_kind kind, bool allow_include, const params_limits *lim,
                      api_params *p, http_response *res);
void api_params_free(api_params *p);

#endif
