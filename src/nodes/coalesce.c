/* coalesce: sharing identical in-flight fan-out rounds; see coalesce.h.
 *
 * Design. One process-wide registry (a mutex and a short list of the
 * rounds in flight; there are never many) maps a key to a round; each round
 * has a `done` word its waiters sleep on (a futex). The key is the pool's address followed by one line per target
 * — id, endpoint, method, expected result kind, parameters, separated by
 * control bytes that cannot occur in them unescaped — with the lines
 * sorted, so the same nodes asked the same thing in another order share
 * too. A round holds its results in that sorted order; every caller keeps
 * the permutation from its own target order.
 *
 * - The first caller (the leader) creates the round, lists it, and runs
 *   node_pool_run without the lock, in its own thread, under its own
 *   deadline. Then it unlists the round (registry lock), marks it done and
 *   wakes all its waiters at once.
 * - A caller that finds a listed round with an equal key (hash, length,
 *   bytes) takes a reference and sleeps until the round is done. Rounds are unlisted the moment they finish, so a
 *   caller that arrives later starts a new one: results are never older
 *   than the round a caller joined.
 * - Results are shared read-only: callers get struct copies whose callset
 *   pointers point into the round. An atomic reference count frees them
 *   with the last coalesce_release.
 *
 * Why a futex and not a condition variable: with dozens of identical small
 * listings in flight (dashboards), every finished round wakes all its
 * waiters at once, and a condition variable makes each of them take its
 * mutex again, one after the other — a quarter of the CPU of a small
 * listing, measured (with one process-wide lock, and still a tenth with a
 * lock per round). Waiting on the `done` word itself needs no lock: the
 * leader sets it and wakes them all in one call.
 *
 * The leader logs one line per round: `msg=fanout nodes=N joined=J ms=T`
 * (J = callers that shared it besides the leader); tests and the benchmark
 * count these lines to see how many rounds the nodes were asked for. */
#include "nodes/coalesce.h"

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xxhash.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/phase.h"

struct coalesce_round {
    coalesce_round *next;
    char *key;
    size_t keylen;
    uint64_t hash;
    size_t n;
    node_result *results; /* in sorted target order */
    int joined;           /* under mu */
    atomic_int refs;
    atomic_int done;      /* 0, then 1 for good; waiters sleep on it */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* the registry */
static coalesce_round *inflight;
static coalesce_stats stats; /* under mu, but for waiting: */
static atomic_size_t waiting;

typedef struct keyed {
    size_t idx;    /* the caller's target index */
    buf line;      /* this target's part of the key */
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
static bool build_key(node_pool *pool, size_t n, const node_target *targets,
                      const node_call *calls, keyed *ks, buf *key)
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

static void round_free(coalesce_round *r)
{
    for (size_t i = 0; i < r->n; i++) node_result_free(&r->results[i]);
    free(r->results);
    free(r->key);
    free(r);
}

/* A listed round with this key (listed rounds are not done yet). */
static coalesce_round *find_round(const char *key, size_t keylen, uint64_t hash)
{
    for (coalesce_round *r = inflight; r; r = r->next)
        if (r->hash == hash && r->keylen == keylen && memcmp(r->key, key, keylen) == 0)
            return r;
    return NULL;
}

static void unlist(coalesce_round *r)
{
    for (coalesce_round **pp = &inflight; *pp; pp = &(*pp)->next)
        if (*pp == r) { *pp = r->next; return; }
}

/* Leader: a new round for key (ownership of key passes); NULL when out of memory. */
static coalesce_round *round_new(buf *key, uint64_t hash, size_t n)
{
    coalesce_round *r = calloc(1, sizeof *r);
    node_result *res = calloc(n ? n : 1, sizeof *res);
    if (!r || !res) { free(r); free(res); return NULL; }
    for (size_t i = 0; i < n; i++) node_result_init(&res[i]);
    r->keylen = key->len;
    r->key = buf_steal(key);
    r->hash = hash;
    r->n = n;
    r->results = res;
    atomic_init(&r->refs, 1);
    atomic_init(&r->done, 0);
    return r;
}

static void run_round(coalesce_round *r, node_pool *pool, const node_target *targets,
                      const node_call *calls, int timeout_ms, const keyed *ks)
{
    node_target *st = malloc((r->n ? r->n : 1) * sizeof *st);
    node_call *sc = malloc((r->n ? r->n : 1) * sizeof *sc);
    int64_t t0 = phase_now_us();
    if (st && sc) {
        for (size_t k = 0; k < r->n; k++) {
            st[k] = targets[ks[k].idx];
            sc[k] = calls[ks[k].idx];
        }
        node_pool_run(pool, r->n, st, sc, timeout_ms, r->results);
    } else {
        for (size_t k = 0; k < r->n; k++) {
            r->results[k].status = NODE_ERR_NETWORK;
            strcpy(r->results[k].detail, "out of memory");
        }
    }
    free(st);
    free(sc);
    double ms = (double)(phase_now_us() - t0) / 1000.0;

    pthread_mutex_lock(&mu);
    unlist(r); /* nobody joins from now on */
    stats.inflight--;
    int joined = r->joined;
    pthread_mutex_unlock(&mu);
    atomic_store_explicit(&r->done, 1, memory_order_release);
    syscall(SYS_futex, &r->done, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);

    buf line;
    log_begin(&line, LOG_INFO, "fanout");
    log_kv_i64(&line, "nodes", (int64_t)r->n);
    log_kv_i64(&line, "joined", joined);
    log_kv_ms(&line, "ms", ms);
    log_end(&line, LOG_INFO);
}

coalesce_round *coalesce_run(node_pool *pool, size_t n, const node_target *targets,
                             const node_call *calls, int timeout_ms, node_result *results)
{
    phase_lap(PHASE_PRE);
    keyed *ks = calloc(n ? n : 1, sizeof *ks);
    buf key;
    buf_init(&key);
    coalesce_round *r = NULL;
    if (ks && build_key(pool, n, targets, calls, ks, &key)) {
        uint64_t hash = XXH3_64bits(key.data, key.len);
        pthread_mutex_lock(&mu);
        r = find_round(key.data, key.len, hash);
        if (r) {
            atomic_fetch_add(&r->refs, 1);
            r->joined++;
            stats.joins++;
            pthread_mutex_unlock(&mu);
            atomic_fetch_add(&waiting, 1);
            /* sleeps only while done is still 0; spurious wakes just look again */
            while (atomic_load_explicit(&r->done, memory_order_acquire) == 0)
                syscall(SYS_futex, &r->done, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
            atomic_fetch_sub(&waiting, 1);
        } else {
            r = round_new(&key, hash, n);
            if (r) {
                r->next = inflight;
                inflight = r;
                stats.rounds++;
                stats.inflight++;
            }
            pthread_mutex_unlock(&mu);
            if (r) run_round(r, pool, targets, calls, timeout_ms, ks);
        }
    }
    if (r) {
        for (size_t k = 0; k < n; k++) results[ks[k].idx] = r->results[k];
    } else {
        node_pool_run(pool, n, targets, calls, timeout_ms, results);
    }
    if (ks)
        for (size_t i = 0; i < n; i++) buf_free(&ks[i].line);
    free(ks);
    buf_free(&key);
    phase_lap(PHASE_FANOUT);
    return r;
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
