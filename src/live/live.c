/* live: the latest snapshot of every node's calls; see live.h.
 *
 * Design. One mutex guards the view: the latest snapshot, the refresh in
 * flight (at most one), its waiters, and the consumers. Nothing slow ever
 * runs under it: a round is started and its callbacks are made after the
 * lock is dropped.
 *
 * - A snapshot owns copies of its node list (ids, names, endpoints, pops)
 *   and the views of the round's results (nodes/coalesce.h), whose shared
 *   callsets it hands back when the last reference goes. References are
 *   an atomic count: one for the view while it is the latest, one per
 *   reader.
 * - live_get serves the latest snapshot when it is young enough;
 *   otherwise the caller joins the refresh in flight or starts one. When
 *   the round ends (on the node pool's loop), the new snapshot replaces
 *   the latest under the lock, then each waiter gets its reference.
 * - The view's thread exists for the consumers: the first one starts it,
 *   and it sleeps while none is subscribed. Otherwise it hands each new snapshot to every consumer,
 *   and when the latest snapshot is `refresh_ms` old and no refresh is in
 *   flight it starts one with the node list from its source. A snapshot a
 *   reader caused counts as a refresh: the period runs from the latest
 *   round's start, so readers and consumers never ask the nodes twice in
 *   one period.
 *
 * One line per refresh is logged: `msg=live-refresh seq=N nodes=N
 * failed=N calls=N ms=T`. */
#include "live/live.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nodes/coalesce.h"
#include "util/clock.h"
#include "util/grow.h"
#include "util/log.h"
#include "util/mutex.h"

/* One allocation: the struct, then its arrays, then the names and
 * endpoints targets[] point into. */
typedef struct snap_full {
    live_snap pub; /* first: a live_snap * is a snap_full * */
    atomic_int refs;
    coalesce_round *shared;
    node_result *results;
    node_target *targets;
    node_call *calls;
    int64_t *pop_ids;
} snap_full;

_Static_assert(sizeof(snap_full) % _Alignof(node_result) == 0 &&
                   sizeof(node_result) % _Alignof(node_target) == 0 &&
                   sizeof(node_target) % _Alignof(node_call) == 0 &&
                   sizeof(node_call) % _Alignof(int64_t) == 0,
               "each array of a snapshot starts aligned");

typedef struct waiter {
    live_ready fn;
    void *arg;
    struct waiter *next;
} waiter;

typedef struct consumer {
    int handle;
    live_consumer fn;
    void *arg;
} consumer;

typedef struct refresh {
    live_view *v;
    snap_full *s;
    waiter *waiters;
} refresh;

struct live_view {
    node_pool *pool;
    live_source src;
    int refresh_ms, timeout_ms;
    mutex mu;
    pthread_cond_t wake; /* the thread: a consumer came, a snapshot was made, stop */
    pthread_cond_t idle; /* live_unsubscribe and live_free: a delivery or a refresh ended */
    snap_full *latest;
    refresh *inflight;
    uint64_t seq;
    consumer *consumers;
    size_t nconsumers, capconsumers;
    int next_handle;
    int delivering;     /* the consumer being called, or -1 */
    uint64_t delivered; /* the last snapshot handed to the consumers */
    live_stats stats;
    bool stop;
    bool started; /* the thread: started with the first consumer */
    pthread_t thread;
};

static const char SHOW_CALLS[] = "yeti.show.calls";

/* ---- snapshots ------------------------------------------------------------ */

static void snap_free(snap_full *s)
{
    if (!s) return;
    coalesce_release(s->shared, s->pub.n, s->results); /* the views first: they may be shared */
    for (size_t i = 0; i < s->pub.n; i++) node_result_free(&s->results[i]);
    free(s);
}

live_snap *live_retain(live_snap *s)
{
    assert(s);
    atomic_fetch_add(&((snap_full *)s)->refs, 1);
    return s;
}

void live_release(live_snap *s)
{
    if (!s) return;
    snap_full *f = (snap_full *)s;
    if (atomic_fetch_sub(&f->refs, 1) == 1) snap_free(f);
}

/* A snapshot to be filled by a round over `nodes` (copied). */
static snap_full *snap_new(const live_nodes *nodes)
{
    size_t n = nodes->n, text = 0;
    for (size_t i = 0; i < n; i++)
        text += strlen(nodes->targets[i].name) + strlen(nodes->targets[i].endpoint) + 2;
    /* every size a multiple of 8, so each array starts aligned */
    size_t arrays = n * (sizeof(node_result) + sizeof(node_target) + sizeof(node_call) + sizeof(int64_t));
    snap_full *s = calloc(1, sizeof *s + arrays + text);
    if (!s) return NULL;
    s->results = (node_result *)(void *)(s + 1);
    s->targets = (node_target *)(void *)(s->results + n);
    s->calls = (node_call *)(void *)(s->targets + n);
    s->pop_ids = (int64_t *)(void *)(s->calls + n);
    char *p = (char *)(s->pop_ids + n);
    for (size_t i = 0; i < n; i++) {
        const node_target *t = &nodes->targets[i];
        size_t ln = strlen(t->name) + 1, le = strlen(t->endpoint) + 1;
        memcpy(p, t->name, ln);
        memcpy(p + ln, t->endpoint, le);
        s->targets[i] = (node_target){t->id, p, p + ln};
        p += ln + le;
        s->pop_ids[i] = nodes->pop_ids[i];
        s->calls[i] = (node_call){SHOW_CALLS, NULL, 0, REPLY_EXPECT_CALLS, NULL};
        node_result_init(&s->results[i]);
    }
    s->pub.n = n;
    s->pub.targets = s->targets;
    s->pub.pop_ids = s->pop_ids;
    s->pub.results = s->results;
    return s;
}

static void log_refresh(const snap_full *s)
{
    size_t failed = 0, calls = 0;
    for (size_t i = 0; i < s->pub.n; i++) {
        if (s->results[i].status != NODE_OK)
            failed++;
        else
            calls += s->results[i].calls.n;
    }
    buf line;
    log_begin(&line, LOG_INFO, "live-refresh");
    log_kv_i64(&line, "seq", (int64_t)s->pub.seq);
    log_kv_i64(&line, "nodes", (int64_t)s->pub.n);
    log_kv_i64(&line, "failed", (int64_t)failed);
    log_kv_i64(&line, "calls", (int64_t)calls);
    log_kv_i64(&line, "ms", s->pub.finished_ms - s->pub.started_ms);
    log_end(&line, LOG_INFO);
}

/* ---- refreshes ------------------------------------------------------------ */

/* On the node pool's loop: the round is over. */
static void refresh_done(void *arg)
{
    refresh *r = arg;
    live_view *v = r->v;
    snap_full *s = r->s;
    s->pub.finished_ms = clock_now_ms();
    mutex_lock(&v->mu);
    waiter *ws = r->waiters; /* complete: joiners add themselves under the lock while it is in flight */
    int refs = 1;            /* the view's, while it is the latest */
    for (waiter *w = ws; w; w = w->next) refs++;
    atomic_init(&s->refs, refs);
    s->pub.seq = ++v->seq;
    snap_full *old = v->latest;
    v->latest = s;
    v->inflight = NULL;
    v->stats.rounds++;
    pthread_cond_broadcast(&v->wake);
    pthread_cond_broadcast(&v->idle);
    mutex_unlock(&v->mu);

    log_refresh(s);
    if (old) live_release(&old->pub);
    while (ws) {
        waiter *next = ws->next;
        ws->fn(ws->arg, &s->pub);
        free(ws);
        ws = next;
    }
    free(r);
}

/* Starts a refresh over `nodes` with w (may be NULL) as its first waiter;
 * the caller holds the lock, which this drops. False when memory ran out
 * (nothing started; the lock is dropped all the same). */
static bool refresh_start(live_view *v, const live_nodes *nodes, waiter *w)
{
    assert(mutex_held(&v->mu) && !v->inflight);
    refresh *r = calloc(1, sizeof *r);
    snap_full *s = r ? snap_new(nodes) : NULL;
    if (!s) {
        free(r);
        mutex_unlock(&v->mu);
        return false;
    }
    *r = (refresh){v, s, w};
    s->pub.started_ms = clock_now_ms();
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    s->pub.wall_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    v->inflight = r;
    mutex_unlock(&v->mu);
    coalesce_start(v->pool, s->pub.n, s->targets, s->calls, v->timeout_ms, s->results, &s->shared,
                   refresh_done, r);
    return true;
}

/* The latest snapshot, referenced, when it is young enough; the lock held. */
static live_snap *young_locked(live_view *v, int64_t max_age_ms)
{
    assert(mutex_held(&v->mu));
    snap_full *l = v->latest;
    if (!l || clock_now_ms() - l->pub.started_ms > max_age_ms) return NULL;
    v->stats.served++;
    return live_retain(&l->pub);
}

live_snap *live_young(live_view *v, int64_t max_age_ms)
{
    assert(v && max_age_ms >= 0);
    mutex_lock(&v->mu);
    live_snap *s = young_locked(v, max_age_ms);
    mutex_unlock(&v->mu);
    return s;
}

live_snap *live_get(live_view *v, int64_t max_age_ms, const live_nodes *nodes, live_ready ready, void *arg)
{
    assert(v && nodes && ready && max_age_ms >= 0);
    mutex_lock(&v->mu);
    live_snap *young = young_locked(v, max_age_ms);
    if (young) {
        mutex_unlock(&v->mu);
        return young;
    }
    waiter *w = malloc(sizeof *w);
    if (!w) {
        mutex_unlock(&v->mu);
        ready(arg, NULL);
        return NULL;
    }
    *w = (waiter){ready, arg, NULL};
    v->stats.waited++;
    if (v->inflight) { /* it started after the latest: as new as any */
        w->next = v->inflight->waiters;
        v->inflight->waiters = w;
        mutex_unlock(&v->mu);
        return NULL;
    }
    if (!refresh_start(v, nodes, w)) {
        free(w);
        ready(arg, NULL);
    }
    return NULL;
}

live_snap *live_latest(live_view *v)
{
    mutex_lock(&v->mu);
    live_snap *s = v->latest ? live_retain(&v->latest->pub) : NULL;
    mutex_unlock(&v->mu);
    return s;
}

/* ---- the consumers' thread ------------------------------------------------ */

/* Hands snapshot s to every consumer, one at a time; called and returns
 * with the lock held. */
static void deliver(live_view *v, snap_full *s)
{
    assert(mutex_held(&v->mu));
    v->delivered = s->pub.seq;
    for (int after = -1;;) {
        consumer c = {-1, NULL, NULL}; /* the next consumer by handle: the array may change meanwhile */
        for (size_t i = 0; i < v->nconsumers; i++)
            if (v->consumers[i].handle > after && (c.handle < 0 || v->consumers[i].handle < c.handle))
                c = v->consumers[i];
        if (c.handle < 0) break;
        after = c.handle;
        v->delivering = c.handle;
        mutex_unlock(&v->mu);
        c.fn(c.arg, &s->pub);
        mutex_lock(&v->mu);
        v->delivering = -1;
        pthread_cond_broadcast(&v->idle);
    }
}

/* Asks the source for the node list and starts a refresh; called with
 * the lock held, returns with it held. */
static void refresh_from_source(live_view *v)
{
    mutex_unlock(&v->mu);
    live_nodes nodes = {0, NULL, NULL};
    char err[256] = "";
    void *h = v->src.get(v->src.ctx, &nodes, err);
    if (!h) {
        log_msg(LOG_WARN, "live view: no node list to refresh from: %s", err);
        mutex_lock(&v->mu);
        return;
    }
    mutex_lock(&v->mu);
    if (v->inflight || v->stop)
        mutex_unlock(&v->mu);
    else if (!refresh_start(v, &nodes, NULL)) /* drops the lock */
        log_msg(LOG_ERROR, "live view: out of memory for a refresh");
    v->src.done(v->src.ctx, h); /* the refresh copied the list */
    mutex_lock(&v->mu);
}

static void *view_thread(void *arg)
{
    live_view *v = arg;
    int64_t retry_at = 0; /* after a failed start: not before */
    mutex_lock(&v->mu);
    while (!v->stop) {
        if (v->nconsumers == 0) {
            mutex_wait(&v->mu, &v->wake);
            continue;
        }
        snap_full *l = v->latest;
        if (l && l->pub.seq != v->delivered) {
            live_retain(&l->pub);
            deliver(v, l);
            mutex_unlock(&v->mu);
            live_release(&l->pub);
            mutex_lock(&v->mu);
            continue;
        }
        int64_t now = clock_now_ms();
        int64_t due = l ? l->pub.started_ms + v->refresh_ms : now;
        if (due < retry_at) due = retry_at;
        if (v->inflight || now < due) {
            mutex_wait_until(&v->mu, &v->wake, v->inflight ? now + v->refresh_ms : due);
            continue;
        }
        uint64_t seq = v->seq;
        refresh_from_source(v);
        if (!v->inflight && v->seq == seq) retry_at = clock_now_ms() + v->refresh_ms;
    }
    mutex_unlock(&v->mu);
    return NULL;
}

/* ---- life ----------------------------------------------------------------- */

live_view *live_new(node_pool *pool, live_source src, int refresh_ms, int timeout_ms)
{
    assert(pool && src.get && src.done && refresh_ms > 0 && timeout_ms > 0);
    live_view *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    *v = (live_view){
        .pool = pool, .src = src, .refresh_ms = refresh_ms, .timeout_ms = timeout_ms, .delivering = -1};
    mutex_init(&v->mu);
    mutex_cond_init(&v->wake);
    mutex_cond_init(&v->idle);
    return v; /* the thread comes with the first consumer */
}

void live_free(live_view *v)
{
    if (!v) return;
    mutex_raise(&v->mu, &v->stop, &v->wake);
    if (v->started) pthread_join(v->thread, NULL);
    mutex_lock(&v->mu);
    while (v->inflight) mutex_wait(&v->mu, &v->idle);
    snap_full *l = v->latest;
    v->latest = NULL;
    mutex_unlock(&v->mu);
    if (l) live_release(&l->pub);
    mutex_destroy(&v->mu);
    pthread_cond_destroy(&v->wake);
    pthread_cond_destroy(&v->idle);
    free(v->consumers);
    free(v);
}

int live_subscribe(live_view *v, live_consumer fn, void *arg)
{
    assert(v && fn);
    mutex_lock(&v->mu);
    if (v->nconsumers == v->capconsumers &&
        !grow((void **)&v->consumers, &v->capconsumers, v->nconsumers + 1, sizeof *v->consumers, 4)) {
        mutex_unlock(&v->mu);
        return -1;
    }
    if (!v->started && pthread_create(&v->thread, NULL, view_thread, v) != 0) {
        mutex_unlock(&v->mu);
        return -1;
    }
    v->started = true;
    int h = v->next_handle++;
    v->consumers[v->nconsumers++] = (consumer){h, fn, arg};
    v->stats.consumers = v->nconsumers;
    pthread_cond_broadcast(&v->wake);
    mutex_unlock(&v->mu);
    return h;
}

void live_unsubscribe(live_view *v, int handle)
{
    mutex_lock(&v->mu);
    for (size_t i = 0; i < v->nconsumers; i++) {
        if (v->consumers[i].handle != handle) continue;
        v->consumers[i] = v->consumers[--v->nconsumers];
        break;
    }
    v->stats.consumers = v->nconsumers;
    /* from the consumer itself (on the view's thread) there is nothing to wait for */
    if (!v->started || !pthread_equal(pthread_self(), v->thread))
        while (v->delivering == handle) mutex_wait(&v->mu, &v->idle);
    mutex_unlock(&v->mu);
}

live_stats live_get_stats(live_view *v)
{
    mutex_lock(&v->mu);
    live_stats s = v->stats;
    mutex_unlock(&v->mu);
    return s;
}

int64_t live_linger_ms(int refresh_ms) { return 10LL * refresh_ms > 60000 ? 10LL * refresh_ms : 60000; }
