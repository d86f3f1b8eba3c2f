/* history: the writer of the active-call history (history.h).
 *
 * Design. One thread per instance wakes twice per interval, on the wall
 * clock's half-interval marks (slot k starts at k * interval seconds since
 * the epoch, UTC). At each mark:
 *  - Election. Without the lock it tries it (store_writer_lock: on
 *    PostgreSQL pg_try_advisory_lock(HISTORY_LOCK_KEY) on the writer's own
 *    connection, so the lock lives exactly as long as that session; on
 *    SQLite there is none). So a writer that dies (its connection closes,
 *    the lock goes) is replaced at the next mark of another instance:
 *    within half an interval, well inside the two the rule allows. No
 *    consensus of our own: the database decides.
 *  - Sample. The holder writes the current slot unless it already did: a
 *    snapshot of the live view at most max_age_ms old (one refresh period:
 *    the view's round is shared with every other reader, never one of our
 *    own beyond that), counted by history_tally_make, written by
 *    store_sample_write in one transaction that first claims the slot
 *    (stats.active_call_slots, its primary key): a slot already written by
 *    anyone is left alone, so no sample is ever written twice, and a new
 *    writer fills the current slot if its predecessor had not, so no
 *    interval is lost while one instance lives. On SQLite the same claim
 *    under BEGIN IMMEDIATE makes several instances on one file safe.
 *  - Retention. After a sample it wrote, rows older than keep_days go,
 *    1,000 a statement, at most RETAIN_BATCHES statements per table.
 * Rows are as yeti's CallsMonitoring writes them: only subjects with calls
 * (a missing row means zero), and a node that failed in the snapshot
 * contributes nothing. Failures are logged when they start and when they
 * end, not at every mark. */
#include "history/history.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "util/log.h"

#define RETAIN_BATCH 1000
#define RETAIN_BATCHES 100

/* ---- counting ---- */

typedef struct hit {
    int64_t subject;
    int which; /* 0: count, 1: count2 */
} hit;

static int hit_cmp(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    return x->subject < y->subject ? -1 : x->subject > y->subject;
}

/* The calls' ids of rel (and rel2, counted as count2; -1: none) as rows. */
static bool tally_rel(const live_snap *snap, int rel, int rel2, store_hist_row **out, size_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < snap->n; i++)
        if (snap->results[i].status == NODE_OK) total += snap->results[i].calls.n;
    *out = NULL;
    *n = 0;
    if (total == 0) return true;
    hit *hits = malloc(total * (rel2 >= 0 ? 2 : 1) * sizeof *hits);
    if (!hits) return false;
    size_t nh = 0;
    for (size_t i = 0; i < snap->n; i++) {
        const node_result *r = &snap->results[i];
        if (r->status != NODE_OK) continue;
        for (size_t c = 0; c < r->calls.n; c++) {
            const call_record *rec = &r->calls.recs[c];
            if (rec->rel_id[rel] != CALL_ID_NONE) hits[nh++] = (hit){rec->rel_id[rel], 0};
            if (rel2 >= 0 && rec->rel_id[rel2] != CALL_ID_NONE) hits[nh++] = (hit){rec->rel_id[rel2], 1};
        }
    }
    qsort(hits, nh, sizeof *hits, hit_cmp);
    store_hist_row *rows = nh ? malloc(nh * sizeof *rows) : NULL;
    if (nh && !rows) {
        free(hits);
        return false;
    }
    size_t nr = 0;
    for (size_t i = 0; i < nh; i++) {
        if (nr == 0 || rows[nr - 1].subject != hits[i].subject)
            rows[nr++] = (store_hist_row){hits[i].subject, 0, 0};
        if (hits[i].which)
            rows[nr - 1].count2++;
        else
            rows[nr - 1].count++;
    }
    free(hits);
    *out = rows;
    *n = nr;
    return true;
}

bool history_tally_make(const live_snap *snap, history_tally *t)
{
    assert(snap && t);
    memset(t, 0, sizeof *t);
    store_hist_row *nodes = snap->n ? malloc(snap->n * sizeof *nodes) : NULL;
    if (snap->n && !nodes) return false;
    size_t nn = 0;
    for (size_t i = 0; i < snap->n; i++) /* the snapshot's nodes are in order of id */
        if (snap->results[i].status == NODE_OK && snap->results[i].calls.n)
            nodes[nn++] = (store_hist_row){snap->targets[i].id, (int64_t)snap->results[i].calls.n, 0};
    t->rows[STORE_HIST_NODES] = nodes;
    t->n[STORE_HIST_NODES] = nn;
    bool ok = tally_rel(snap, REL_CUSTOMER_ACC, REL_VENDOR_ACC, &t->rows[STORE_HIST_ACCOUNTS],
                        &t->n[STORE_HIST_ACCOUNTS]) &&
        tally_rel(snap, REL_ORIG_GW, -1, &t->rows[STORE_HIST_ORIG_GW], &t->n[STORE_HIST_ORIG_GW]) &&
        tally_rel(snap, REL_TERM_GW, -1, &t->rows[STORE_HIST_TERM_GW], &t->n[STORE_HIST_TERM_GW]);
    if (!ok) history_tally_free(t);
    return ok;
}

void history_tally_free(history_tally *t)
{
    for (int k = 0; k < STORE_HIST_KINDS; k++) free(t->rows[k]);
    memset(t, 0, sizeof *t);
}

/* ---- the writer ---- */

struct history {
    store *st;
    store_writer *w;
    history_config cfg;
    char instance[128];
    history_snapshot_fn get;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on the monotonic clock */
    bool stop;
    bool held;                   /* the lock, as last seen */
    int64_t written;             /* the last slot this writer saw done (-1: none) */
    char failing[STORE_ERR_LEN]; /* the failure being reported, "" when none */
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Logs a failure when it starts (or changes), and the recovery. */
static void report(history *h, const char *err)
{
    if (err && strcmp(err, h->failing) != 0) log_msg(LOG_WARN, "history: %s", err);
    if (!err && h->failing[0]) log_msg(LOG_INFO, "history: writing again");
    snprintf(h->failing, sizeof h->failing, "%s", err ? err : "");
}

/* Writes slot `slot` (its sample, then retention); false on failure. */
static bool write_slot(history *h, int64_t slot)
{
    char err[STORE_ERR_LEN] = "";
    live_snap *snap = h->get(h->ctx, h->cfg.max_age_ms, err);
    if (!snap) {
        report(h, err[0] ? err : "no snapshot of the nodes");
        return false;
    }
    history_tally t;
    bool ok = history_tally_make(snap, &t);
    live_release(snap);
    if (!ok) {
        report(h, "out of memory counting the calls");
        return false;
    }
    int64_t at = slot * h->cfg.interval_s;
    store_sample smp = {.at_s = at};
    for (int k = 0; k < STORE_HIST_KINDS; k++) {
        smp.rows[k] = t.rows[k];
        smp.n[k] = t.n[k];
    }
    bool written = false;
    store_status st = store_sample_write(h->w, &smp, h->instance, &written, err);
    history_tally_free(&t);
    if (st != STORE_OK) {
        report(h, err);
        return false;
    }
    if (written) {
        uint64_t gone = 0;
        int64_t before = at - (int64_t)h->cfg.keep_days * 86400;
        if (store_history_prune(h->w, before, RETAIN_BATCH, RETAIN_BATCHES, &gone, err) != STORE_OK) {
            report(h, err);
            return true; /* the sample is in */
        }
        if (gone)
            log_msg(LOG_INFO, "history: deleted %llu rows older than %d days", (unsigned long long)gone,
                    h->cfg.keep_days);
    }
    report(h, NULL);
    return true;
}

/* One mark: the lock, then the current slot. */
static void tick(history *h)
{
    char err[STORE_ERR_LEN] = "";
    bool held = false;
    if (store_writer_lock(h->w, HISTORY_LOCK_KEY, &held, err) != STORE_OK) report(h, err);
    if (held != h->held)
        log_msg(LOG_INFO,
                held ? "history: this instance writes the samples (lock %lld)"
                     : "history: this instance no longer writes the samples (lock %lld)",
                HISTORY_LOCK_KEY);
    h->held = held;
    if (!held) return;
    int64_t slot = wall_ms() / 1000 / h->cfg.interval_s;
    if (slot != h->written && write_slot(h, slot)) h->written = slot;
}

static void *writer_main(void *arg)
{
    history *h = arg;
    int64_t half = (int64_t)h->cfg.interval_s * 500; /* ms between marks */
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        pthread_mutex_unlock(&h->mu);
        tick(h);
        pthread_mutex_lock(&h->mu);
        int64_t now = wall_ms(), wait = (now / half + 1) * half - now + 5; /* just past the mark */
        int64_t until = clock_now_ms() + wait;
        struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000};
        while (!h->stop && clock_now_ms() < until)
            if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

history *history_start(store *st, const history_config *cfg, history_snapshot_fn get, void *ctx,
                       char err[256])
{
    assert(st && cfg && get);
    if (cfg->interval_s < 1 || cfg->keep_days < 1) {
        snprintf(err, 256, "history: the interval and the retention must be positive");
        return NULL;
    }
    history *h = calloc(1, sizeof *h);
    if (!h || !(h->w = store_writer_new(st))) {
        free(h);
        snprintf(err, 256, "out of memory");
        return NULL;
    }
    h->st = st;
    h->cfg = *cfg;
    snprintf(h->instance, sizeof h->instance, "%s", cfg->instance ? cfg->instance : "");
    h->cfg.instance = h->instance;
    h->get = get;
    h->ctx = ctx;
    h->written = -1;
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_NOW_SOURCE);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&h->thread, NULL, writer_main, h) != 0) {
        snprintf(err, 256, "history: cannot start a thread");
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        store_writer_free(h->w);
        free(h);
        return NULL;
    }
    return h;
}

void history_stop(history *h)
{
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    store_writer_free(h->w);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
