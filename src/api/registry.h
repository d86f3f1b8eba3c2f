/* registry: the switch nodes the service asks, cached from the store.
 *
 * Every listing needs the node list; reading it from the store each time
 * would put a query on the hot path. The registry keeps an immutable,
 * reference-counted snapshot and reloads it when it is older than the TTL
 * (default 1 s), so a node added with `activecalls node add` is asked within
 * a second without a restart. If a reload fails, the last good snapshot is
 * kept and the failure logged; with no snapshot at all, callers get NULL. */
#ifndef AC_API_REGISTRY_H
#define AC_API_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "nodes/fanout.h"
#include "store/store.h"

typedef struct node_snapshot {
    size_t n;
    store_node *nodes;    /* ordered by id */
    node_target *targets; /* the same nodes as a round's targets (nodes/fanout.h) */
    int64_t *pop_ids;     /* and their pops */
    int refs;             /* guarded by the registry's mutex */
} node_snapshot;

typedef struct registry registry;

registry *registry_new(store *st, int ttl_ms);
void registry_free(registry *r);

/* A snapshot to read (release it after), or NULL when the store has never
 * answered; err says why. */
node_snapshot *registry_acquire(registry *r, char err[STORE_ERR_LEN]);
/* The same for a request's step (http/server.h): a snapshot still fresh
 * comes at once; one that must be loaded from the store first moves the
 * step to a worker (http_to_worker): then NULL with *moved set, and the
 * step returns at once. */
struct http_request;
node_snapshot *registry_for_request(registry *r, const struct http_request *req, bool *moved,
                                    char err[STORE_ERR_LEN]);
void registry_release(registry *r, node_snapshot *s);

/* Node lookup in a snapshot, or NULL. */
const store_node *snapshot_find(const node_snapshot *s, int64_t id);

#endif
