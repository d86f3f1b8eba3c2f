/* coalesce: identical node fan-outs that are in flight at the same time
 * share one round (BENCHMARKS.md, P5).
 *
 * coalesce_run has node_pool_start's arguments, less the callback. When a round with the same
 * key (pool, and per target: node id, endpoint, method, expected result,
 * parameters; the order of the targets does not matter) is in flight, the
 * caller waits for it and gets its results; otherwise the caller runs the
 * round itself and others may join it until it finishes. A round that has
 * finished is never joined, so results are never older than the moment the
 * caller asked.
 *
 * results[i] (initialised with node_result_init, as for node_pool_start)
 * receive views of shared results, in the caller's target order: struct
 * copies whose status and detail are the caller's own, and whose callset is
 * shared and read-only. Do not modify the callset or node_result_free
 * them: hand them back with
 * coalesce_release, which drops the reference (the last one frees the
 * shared results) and re-initialises results[], so a later
 * node_result_free on them is harmless. */
#ifndef AC_NODES_COALESCE_H
#define AC_NODES_COALESCE_H

#include <stddef.h>
#include <stdint.h>

#include "nodes/fanout.h"

typedef struct coalesce_round coalesce_round;

/* Returns the round reference; NULL when the round could not be shared
 * (out of memory) and results[] were filled by a private round:
 * then they are the caller's own, and coalesce_release(NULL, ...) leaves
 * them alone. */
coalesce_round *coalesce_run(node_pool *pool, size_t n, const node_target *targets, const node_call *calls,
                             int timeout_ms, node_result *results);

typedef void (*coalesce_done)(void *arg);

/* The same without waiting: returns at once; done(arg) is called (on the
 * node pool's loop thread, or right here when memory runs out) once
 * results[] hold the views and *ref the round reference (NULL: results
 * are the caller's own, as above). targets, calls and results must stay
 * valid until then; done must be quick. */
void coalesce_start(node_pool *pool, size_t n, const node_target *targets, const node_call *calls,
                    int timeout_ms, node_result *results, coalesce_round **ref, coalesce_done done,
                    void *arg);
void coalesce_release(coalesce_round *r, size_t n, node_result *results);

/* Process-wide counters, for tests and the benchmark. */
typedef struct coalesce_stats {
    uint64_t rounds; /* rounds run (one node_pool_start each) */
    uint64_t joins;  /* callers that shared a round instead of running one */
    size_t inflight; /* rounds running now */
    size_t waiting;  /* callers that joined a round in flight, not called back yet */
} coalesce_stats;

coalesce_stats coalesce_get_stats(void);

#endif
