/* coalesce: sharing identical in-flight fan-out rounds; see coalesce.h.
 *
 * Design. One process-wide registry (a mutex and a short list of the
 * rounds in flight; there are never many) maps a key to a round. The key
 * is the pool's address followed by one line per target — id, endpoint,
 * method, expected result kind, parameters, separated by control bytes
 * that cannot occur in them unescaped — with the lines sorted, so the same
 * nodes asked the same thing in another order share too. A round holds its
 * results in that sorted order; every caller (a waiter) keeps the
 * permutation from its own target order.
 *
 * - The first caller (the leader) creates the round, lists it, and starts
 *   it on the node pool's loop (node_pool_start) under its own deadline.
 * - A caller that finds a listed round with an equal key (hash, length,
 *   bytes) adds itself to the round's waiters. Nobody sleeps: every caller
 *   returns at once and is called back.
 * - When the round ends (on the node pool's loop) it is unlisted first, so
 *   a caller that arrives later starts a new one: results are never older
 *   than the round a caller joined. Then each waiter gets its views and its
 *   callback, which hands the rest of its work to a worker.
 * - Results are shared read-only: callers get struct copies whose callset
 *   pointers point into the round. An atomic reference count (one per
 *   waiter) frees them with the last coalesce_release.
 *
 * coalesce_run is the same for a caller that waits in its own thread.
 *
 * One line per round is logged: `msg=fanout nodes=N joined=J ms=T` (J =
 * callers that shared it besides the leader); tests and the benchmark
 * count these lines to see how many rounds the nodes were asked for. */
#include "nodes/coalesce.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/phase.h"
#include "util/pool.h"

typedef struct coalesce_waiter coalesce_waiter;

struct coalesce_round {
    coalesce_round *next;
    char *key;
    size_t keylen;
    uint64_t hash;
    size_t n;
    node_target *targets; /* sorted; the strings are the leader's */
    node_call *calls;
    node_result *results;     /* in sorted target order */
    int joined;               /* under mu */
    coalesce_waiter *waiters; /* under mu; handed their views when it ends */
    int64_t started_us;
    atomic_int refs; /* one per waiter, dropped by coalesce_release */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* the registry */
static coalesce_round *inflight;
static coalesce_stats stats; /* under mu, but for waiting: */
static atomic_size_t waiting;

typedef struct keyed {
    size_t idx; /* the caller's target index */
    buf line;   /* this target's part of the key */
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    size_t n = x->line.len < y->line.len ? x->line.len : y->line.len;
    int c = n ? memcmp(x->line.data, y->line.data, n) : 0;
    if (c) return c;
    return (x->line.len > y->line.len) - (x->line.len < y->line.len);
}

static void put_field(buf *b, const char *s)
{
    buf_puts(b, s ? s : "");
    buf_putc(b, '\x1f');
}

/* Sorted per-target lines in ks[], joined into key; false when out of memory. */
static bool build_key(node_pool *pool, size_t n, const node_target *targets, const node_call *calls,
                      keyed *ks, buf *key)
{
    for (size_t i = 0; i < n; i++) {
        buf *b = &ks[i].line;
        ks[i].idx = i;
        buf_init(b);
        buf_put_i64(b, targets[i].id);
        buf_putc(b, '\x1f');
        put_field(b, targets[i].endpoint);
        put_field(b, calls[i].method);
        buf_put_i64(b, (int64_t)calls[i].expect);
        buf_putc(b, '\x1f');
        buf_put_i64(b, (int64_t)calls[i].nparams);
        for (size_t k = 0; k < calls[i].nparams; k++) {
            buf_putc(b, '\x1e');
            buf_puts(b, calls[i].params[k]);
        }
        if (b->oom) return false;
    }
    qsort(ks, n, sizeof *ks, cmp_keyed);
    buf_append(key, &pool, sizeof pool);
    for (size_t i = 0; i < n; i++) {
        buf_putc(key, '\x1d');
        buf_append(key, ks[i].line.data, ks[i].line.len);
    }
    return !key->oom;
}

/* One caller of a round: where its views go, and whom to tell. */
typedef struct coalesce_waiter {
    struct coalesce_waiter *next;
    node_result *results; /* the caller's, in its own target order */
    size_t *order;        /* order[k]: the caller's index of sorted target k */
    coalesce_round **ref;
    coalesce_done done;
    void *arg;
    bool joined; /* it joined a round another caller started */
} coalesce_waiter;

static void round_free(coalesce_round *r)
{
    for (size_t i = 0; i < r->n; i++) node_result_free(&r->results[i]);
    free(r->results);
    free(r->targets);
    free(r->calls);
    free(r->key);
    free(r);
}

/* A listed round with this key (listed rounds are not done yet). */
static coalesce_round *find_round(const char *key, size_t keylen, uint64_t hash)
{
    for (coalesce_round *r = inflight; r; r = r->next)
        if (r->hash == hash && r->keylen == keylen && memcmp(r->key, key, keylen) == 0) return r;
    return NULL;
}

static void unlist(coalesce_round *r)
{
    for (coalesce_round **pp = &inflight; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            return;
        }
}

/* Leader: a new round for key (ownership of key passes), with the targets
 * in sorted order; NULL when out of memory. */
static coalesce_round *round_new(buf *key, uint64_t hash, size_t n, const node_target *targets,
                                 const node_call *calls, const keyed *ks)
{
    coalesce_round *r = calloc(1, sizeof *r);
    node_result *res = calloc(n ? n : 1, sizeof *res);
    node_target *st = malloc((n ? n : 1) * sizeof *st);
    node_call *sc = malloc((n ? n : 1) * sizeof *sc);
    if (!r || !res || !st || !sc) {
        free(r);
        free(res);
        free(st);
        free(sc);
        return NULL;
    }
    for (size_t k = 0; k < n; k++) {
        node_result_init(&res[k]);
        st[k] = targets[ks[k].idx];
        sc[k] = calls[ks[k].idx];
    }
    r->keylen = key->len;
    r->key = buf_steal(key);
    r->hash = hash;
    r->n = n;
    r->results = res;
    r->targets = st;
    r->calls = sc;
    atomic_init(&r->refs, 0);
    return r;
}

/* On the node pool's loop: the round is over. Unlist it (nobody joins from
 * now on), then hand every caller its views. */
static void round_finished(void *arg)
{
    coalesce_round *r = arg;
    pthread_mutex_lock(&mu);
    unlist(r);
    stats.inflight--;
    int joined = r->joined;
    coalesce_waiter *w = r->waiters;
    r->waiters = NULL;
    pthread_mutex_unlock(&mu);

    buf line;
    log_begin(&line, LOG_INFO, "fanout");
    log_kv_i64(&line, "nodes", (int64_t)r->n);
    log_kv_i64(&line, "joined", joined);
    log_kv_ms(&line, "ms", (double)(clock_now_us() - r->started_us) / 1000.0);
    log_end(&line, LOG_INFO);

    while (w) {
        coalesce_waiter *next = w->next;
        for (size_t k = 0; k < r->n; k++) w->results[w->order[k]] = r->results[k];
        *w->ref = r;
        coalesce_done done = w->done;
        void *darg = w->arg;
        if (w->joined) atomic_fetch_sub(&waiting, 1);
        free(w->order);
        free(w);
        done(darg); /* may release r: the last waiter's release frees it */
        w = next;
    }
}

/* The caller's permutation of the sorted targets. */
static coalesce_waiter *waiter_new(size_t n, const keyed *ks, node_result *results, coalesce_round **ref,
                                   coalesce_done done, void *arg)
{
    coalesce_waiter *w = calloc(1, sizeof *w);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!w || !order) {
        free(w);
        free(order);
        return NULL;
    }
    for (size_t k = 0; k < n; k++) order[k] = ks[k].idx;
    *w = (coalesce_waiter){.results = results, .order = order, .ref = ref, .done = done, .arg = arg};
    return w;
}

void coalesce_start(node_pool *pool, size_t n, const node_target *targets, const node_call *calls,
                    int timeout_ms, node_result *results, coalesce_round **ref, coalesce_done done, void *arg)
{
    assert(pool && ref && done);
    *ref = NULL;
    keyed *ks = calloc(n ? n : 1, sizeof *ks);
    buf key;
    buf_init(&key);
    coalesce_round *lead = NULL;
    bool queued = false;
    if (ks && build_key(pool, n, targets, calls, ks, &key)) {
        uint64_t hash = XXH3_64bits(key.data, key.len);
        coalesce_waiter *w = waiter_new(n, ks, results, ref, done, arg);
        pthread_mutex_lock(&mu);
        coalesce_round *r = w ? find_round(key.data, key.len, hash) : NULL;
        if (r) {
            r->joined++;
            stats.joins++;
            w->joined = true;
            atomic_fetch_add(&waiting, 1);
        } else if (w && (r = round_new(&key, hash, n, targets, calls, ks))) {
            r->next = inflight;
            inflight = r;
            stats.rounds++;
            stats.inflight++;
            r->started_us = clock_now_us();
            lead = r;
        }
        if (r) {
            atomic_fetch_add(&r->refs, 1);
            w->next = r->waiters;
            r->waiters = w;
            queued = true;
        }
        pthread_mutex_unlock(&mu);
        if (!queued && w) {
            free(w->order);
            free(w);
        }
    }
    if (ks)
        for (size_t i = 0; i < n; i++) buf_free(&ks[i].line);
    free(ks);
    buf_free(&key);
    if (lead)
        node_pool_start(pool, lead->n, lead->targets, lead->calls, timeout_ms, lead->results, round_finished,
                        lead);
    else if (!queued) /* out of memory: a private round, not shared */
        node_pool_start(pool, n, targets, calls, timeout_ms, results, done, arg);
}

typedef struct sync_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
} sync_wait;

static void sync_done(void *arg)
{
    sync_wait *s = arg;
    pthread_mutex_lock(&s->mu);
    s->done = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

coalesce_round *coalesce_run(node_pool *pool, size_t n, const node_target *targets, const node_call *calls,
                             int timeout_ms, node_result *results)
{
    assert(pool_may_block());
    sync_wait s = {.done = false};
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    coalesce_round *ref = NULL;
    phase_lap(PHASE_PRE);
    coalesce_start(pool, n, targets, calls, timeout_ms, results, &ref, sync_done, &s);
    pthread_mutex_lock(&s.mu);
    while (!s.done) pthread_cond_wait(&s.cv, &s.mu);
    pthread_mutex_unlock(&s.mu);
    phase_lap(PHASE_FANOUT);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    return ref;
}

void coalesce_release(coalesce_round *r, size_t n, node_result *results)
{
    if (!r) return;
    for (size_t i = 0; i < n; i++) node_result_init(&results[i]);
    if (atomic_fetch_sub(&r->refs, 1) == 1) round_free(r);
}

coalesce_stats coalesce_get_stats(void)
{
    pthread_mutex_lock(&mu);
    coalesce_stats s = stats;
    pthread_mutex_unlock(&mu);
    s.waiting = atomic_load(&waiting);
    return s;
}
