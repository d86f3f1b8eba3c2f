/* pool: worker threads and a FIFO of jobs; see pool.h.
 *
 * One mutex guards the FIFO (an intrusive doubly linked list, so a batch's
 * waiter can take back a job no worker has started) and every batch's
 * `running` count. Workers sleep on `work`; batch waiters sleep on `done`,
 * broadcast whenever a batch job finishes. Jobs are short CPU work or a
 * request's handler; the lock is held only to link and unlink. */
#include "util/pool.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>

#include "util/mutex.h"

struct worker_pool {
    mutex mu;
    pthread_cond_t work, done;
    dlist fifo; /* queued items, oldest first */
    bool stopping;
    size_t nthreads;
    pthread_t *threads;
};

static void fifo_push(worker_pool *p, pool_item *it)
{
    assert(mutex_held(&p->mu));
    dlist_push(&p->fifo, &it->link);
    it->queued = true;
}

static void fifo_unlink(worker_pool *p, pool_item *it)
{
    assert(mutex_held(&p->mu) && it->queued);
    dlist_unlink(&p->fifo, &it->link);
    it->queued = false;
}

static void *worker(void *arg)
{
    worker_pool *p = arg;
    mutex_lock(&p->mu);
    for (;;) {
        while (!p->fifo.first && !p->stopping) mutex_wait(&p->mu, &p->work);
        if (!p->fifo.first) break; /* stopping, and nothing left to run */
        pool_item *it = DLIST_ITEM(p->fifo.first, pool_item, link);
        fifo_unlink(p, it);
        pool_batch *b = it->batch;
        if (b) b->running++;
        mutex_unlock(&p->mu);
        it->fn(it->arg); /* it may be reused from here on: not touched again */
        mutex_lock(&p->mu);
        if (b) {
            b->running--;
            pthread_cond_broadcast(&p->done);
        }
    }
    mutex_unlock(&p->mu);
    return NULL;
}

worker_pool *pool_new(size_t threads)
{
    assert(threads >= 1);
    worker_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = calloc(threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return NULL;
    }
    mutex_init(&p->mu);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (size_t i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) break;
        p->nthreads++;
    }
    if (p->nthreads == 0) {
        pthread_cond_destroy(&p->work);
        pthread_cond_destroy(&p->done);
        mutex_destroy(&p->mu);
        free(p->threads);
        free(p);
        return NULL;
    }
    return p;
}

void pool_free(worker_pool *p)
{
    if (!p) return;
    mutex_raise(&p->mu, &p->stopping, &p->work);
    for (size_t i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    assert(!p->fifo.first);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}

size_t pool_threads(const worker_pool *p) { return p->nthreads; }

static _Thread_local bool loop_thread;

void pool_loop_thread(void) { loop_thread = true; }

bool pool_may_block(void) { return !loop_thread; }

void pool_submit_item(worker_pool *p, pool_item *it, pool_fn fn, void *arg)
{
    assert(p && it && fn);
    *it = (pool_item){.fn = fn, .arg = arg};
    mutex_lock(&p->mu);
    assert(!p->stopping);
    fifo_push(p, it);
    pthread_cond_signal(&p->work);
    mutex_unlock(&p->mu);
}

void pool_batch_init(pool_batch *b, worker_pool *p)
{
    assert(b && p);
    b->p = p;
    b->n = 0;
    b->running = 0;
}

void pool_batch_add(pool_batch *b, pool_fn fn, void *arg)
{
    assert(b->p && fn);
    if (b->n == POOL_BATCH_MAX) {
        fn(arg);
        return;
    }
    pool_item *it = &b->job[b->n++];
    *it = (pool_item){.fn = fn, .arg = arg, .batch = b};
    mutex_lock(&b->p->mu);
    fifo_push(b->p, it);
    pthread_cond_signal(&b->p->work);
    mutex_unlock(&b->p->mu);
}

void pool_batch_wait(pool_batch *b)
{
    worker_pool *p = b->p;
    assert(p && (b->n == 0 || pool_may_block()));
    /* run here what no worker has taken yet, newest first (the oldest are
     * the likeliest to be taken meanwhile) */
    for (size_t i = b->n; i-- > 0;) {
        pool_item *it = &b->job[i];
        mutex_lock(&p->mu);
        bool mine = it->queued;
        if (mine) fifo_unlink(p, it);
        mutex_unlock(&p->mu);
        if (mine) it->fn(it->arg);
    }
    mutex_lock(&p->mu);
    while (b->running) mutex_wait(&p->mu, &p->done);
    mutex_unlock(&p->mu);
}
