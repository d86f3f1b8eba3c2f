/* pushdown: asking the nodes for only the calls a listing wants, with
 * sems-yeti's `yeti.show.calls.filtered` (docs/API.md, "Push-down").
 *
 * The rules come from the listing's filters (listing_query_rules); the
 * fields asked for are every node field the documents read. A node that
 * answers the filtered method with a JSON-RPC error (an older build, a
 * field its routing does not have) is asked the plain `yeti.show.calls`
 * in the same round (node_call.fallback), and is remembered for
 * PUSHDOWN_FORGET_MS so that the next listings ask it plainly at once. */
#ifndef AC_API_PUSHDOWN_H
#define AC_API_PUSHDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonapi/query.h"
#include "jsonapi/sort.h"
#include "nodes/fanout.h"

#define PUSHDOWN_FORGET_MS (5 * 60 * 1000)

typedef struct pushdown pushdown;

pushdown *pushdown_new(void);
void pushdown_free(pushdown *pd);

/* The parameters of a filtered call: the fields, then "WHERE" and the
 * rules (which they point into) when there are some. The fields are every
 * node field a document reads; with `narrow`, only those a first round
 * that orders and counts calls needs: local_tag, the fields the filters of
 * q read (listing_query_fields) and the fields of narrow's keys. One
 * malloc'd array (free it); NULL when out of memory. */
const char **pushdown_params(char *const *rules, size_t nrules, const listing_query *q,
                             const sort_spec *narrow, size_t *n);

/* The plain call every listing falls back to. */
extern const node_call pushdown_plain;

/* Whether node `id` refused the filtered method within PUSHDOWN_FORGET_MS. */
bool pushdown_refused(pushdown *pd, int64_t id);
/* After a round: remembers (and logs) each node that refused. */
void pushdown_note(pushdown *pd, size_t n, const node_target *targets, const node_result *results);

#endif
