/* live: the one in-memory view of the cluster's calls (docs/API.md, "The
 * live view").
 *
 * A snapshot is the outcome of one full node round: every registered
 * node asked `yeti.show.calls` under one deadline, with each node's calls
 * or its error, and when the round started. The view keeps the latest
 * one. Readers take a reference to an immutable snapshot and read it
 * without a lock; a refresh builds a new snapshot beside it and swaps the
 * pointer, so a reader never blocks a refresh and a refresh never waits
 * for readers.
 *
 * Refreshes are node rounds through the coalescing layer (nodes/coalesce.h):
 * every caller that needs a newer snapshot while a refresh is in flight
 * joins it, and a listing that asks the same question at the same moment
 * shares it too. So nodes are asked at most once per round, however many
 * readers there are.
 *
 * Consumers that need periodic data (metrics, history, the event stream,
 * the monitor) subscribe. While at least one is subscribed, a thread of
 * the view refreshes every `refresh_ms` and hands each new snapshot to
 * every consumer, in order, on that thread. With none, nothing is polled
 * in the background: snapshots are made only when a reader asks. */
#ifndef AC_LIVE_LIVE_H
#define AC_LIVE_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodes/fanout.h"

typedef struct live_snap {
    uint64_t seq;        /* 1, 2, ...: the view's rounds, in order */
    int64_t started_ms;  /* monotonic (util/clock.h): when the nodes were asked */
    int64_t wall_ms;     /* the same moment as wall-clock time (Unix ms) */
    int64_t finished_ms; /* monotonic: when the last node answered or the deadline passed */
    size_t n;            /* nodes, in order of id */
    const node_target *targets;
    const int64_t *pop_ids;
    const node_result *results; /* read only: never modify or free them */
} live_snap;

/* The node list of a refresh. The view copies what it keeps. */
typedef struct live_nodes {
    size_t n;
    const node_target *targets; /* in order of id */
    const int64_t *pop_ids;
} live_nodes;

/* Where a background refresh gets the node list: fills *out and returns a
 * handle released by `done` once the round has copied it; NULL (and err
 * filled) when there is no list. Runs on the view's thread: it may block. */
typedef struct live_source {
    void *(*get)(void *ctx, live_nodes *out, char err[256]);
    void (*done)(void *ctx, void *handle);
    void *ctx;
} live_source;

typedef struct live_view live_view;

/* pool: the node pool (rounds run on its loop); refresh_ms: the period
 * while consumers are subscribed; timeout_ms: each round's deadline. */
live_view *live_new(node_pool *pool, live_source src, int refresh_ms, int timeout_ms);
/* Stops the thread and waits for a refresh in flight; every snapshot
 * handed out must have been released before. */
void live_free(live_view *v);

/* Called once with a snapshot reference (release it), or with NULL when
 * memory ran out; on the node pool's loop thread, or on the caller's
 * thread inside live_get. Must be quick: hand real work to a worker. */
typedef void (*live_ready)(void *arg, live_snap *snap);

/* A snapshot whose round started no more than max_age_ms ago. When the
 * latest one is young enough it is returned at once (a reference) and
 * `ready` is never called. Otherwise returns NULL and calls ready(arg,
 * snap) once a refresh ends: the one in flight, or a new one that asks
 * `nodes` (the caller's current node list). */
live_snap *live_get(live_view *v, int64_t max_age_ms, const live_nodes *nodes, live_ready ready, void *arg);

/* The latest snapshot when its round started no more than max_age_ms ago
 * (a reference), else NULL: live_get without the waiting. */
live_snap *live_young(live_view *v, int64_t max_age_ms);

/* The latest snapshot, however old, or NULL when there is none yet. */
live_snap *live_latest(live_view *v);

live_snap *live_retain(live_snap *s);
void live_release(live_snap *s);

/* A consumer: fn(arg, snap) for every snapshot made while it is
 * subscribed, in order, on the view's thread (started with the first
 * consumer; it may block briefly; keep the snapshot past the call with
 * live_retain). Returns a handle for live_unsubscribe, or -1 when memory
 * or a thread could not be had. */
typedef void (*live_consumer)(void *arg, const live_snap *snap);
int live_subscribe(live_view *v, live_consumer fn, void *arg);
/* After it returns, fn is not running and will not be called again. */
void live_unsubscribe(live_view *v, int handle);

/* How long a consumer that serves clients (the metrics' scrapers, the
 * event streams) stays subscribed after its last client: max(60 s, ten
 * refreshes), so a client that comes back finds it warm. */
int64_t live_linger_ms(int refresh_ms);

typedef struct live_stats {
    uint64_t rounds;  /* refreshes made */
    uint64_t served;  /* live_get answered at once from the latest snapshot */
    uint64_t waited;  /* live_get callers that waited for a refresh */
    size_t consumers; /* subscribed now */
} live_stats;

live_stats live_get_stats(live_view *v);

#endif
