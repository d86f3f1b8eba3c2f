/* pool: a fixed set of worker threads and a FIFO of jobs.
 *
 * The process starts its threads once and never one per request or per
 * reply: work is handed to a pool with pool_submit_item, and runs on one of the
 * pool's threads in submission order. A batch (pool_batch) is fork/join on
 * top of it: the caller adds jobs, then pool_batch_wait runs on its own
 * thread every job of the batch that no worker has started yet and waits
 * for the rest, so a batch finishes even when every worker is busy (or the
 * caller is itself a worker): no deadlock, no extra thread. */
#ifndef AC_UTIL_POOL_H
#define AC_UTIL_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/dlist.h"

typedef struct worker_pool worker_pool;
typedef void (*pool_fn)(void *arg);

/* Starts `threads` workers (>= 1); NULL when none could be started. */
worker_pool *pool_new(size_t threads);
/* Runs every job already submitted, then stops the workers. */
void pool_free(worker_pool *p);
size_t pool_threads(const worker_pool *p);

/* A thread that runs an event loop marks itself once; from then on
 * pool_may_block() is false on it. Work that may block (a store query,
 * bcrypt, waiting for a batch or for memory) asserts pool_may_block()
 * first, so a path that would stall a loop fails the tests instead. */
void pool_loop_thread(void);
bool pool_may_block(void);

#define POOL_BATCH_MAX 16

/* A queued job; batch jobs live in their batch, others in their owner (a request, a node job). */
typedef struct pool_item {
    pool_fn fn;
    void *arg;
    dlink link;               /* in the pool's FIFO while queued */
    struct pool_batch *batch; /* NULL: a pool_submit_item job */
    bool queued;
} pool_item;

/* Queues fn(arg) in an item the caller provides, so that queueing
 * allocates nothing and cannot fail; the item may be reused once fn has
 * started (a request's item carries its handler, then its continuation). */
void pool_submit_item(worker_pool *p, pool_item *it, pool_fn fn, void *arg);

typedef struct pool_batch {
    worker_pool *p;
    size_t n;
    size_t running; /* taken by a worker and not finished: under the pool's lock */
    pool_item job[POOL_BATCH_MAX];
} pool_batch;

void pool_batch_init(pool_batch *b, worker_pool *p);
/* Adds fn(arg) to the batch and offers it to the workers. At most
 * POOL_BATCH_MAX jobs; runs fn(arg) right here when the batch is full. */
void pool_batch_add(pool_batch *b, pool_fn fn, void *arg);
/* Returns when every job of the batch has run. */
void pool_batch_wait(pool_batch *b);

#endif
