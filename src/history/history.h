/* history: the per-minute history of active calls in yeti's stats.*
 * tables, written by one instance among many (docs/API.md, "History";
 * docs/CONTRACT.md §10).
 *
 * Every interval one sample: a row per node, per account (originated and
 * terminated calls), per originating and per terminating gateway that has
 * calls, all at the slot's time, from a snapshot of the live view. */
#ifndef AC_HISTORY_HISTORY_H
#define AC_HISTORY_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "live/live.h"
#include "store/store.h"

/* The PostgreSQL session advisory lock the writer holds: the bytes of
 * "acthist" (0x61637468697374). */
#define HISTORY_LOCK_KEY 27412424360031092LL

typedef struct history_config {
    int interval_s;       /* >= 1: slot k starts at k * interval_s (Unix seconds) */
    int keep_days;        /* >= 1: rows older than this are deleted */
    int64_t max_age_ms;   /* the oldest snapshot a sample may use: the view's period */
    const char *instance; /* names the writer in the slot's row (copied) */
} history_config;

/* A snapshot no older than max_age_ms, waited for; NULL with err filled
 * when there is none. Called on the writer's thread (it may block). */
typedef live_snap *(*history_snapshot_fn)(void *ctx, int64_t max_age_ms, char err[256]);

typedef struct history history;

/* Starts the writer's thread on st (which must outlive it); NULL with err
 * filled when it cannot. */
history *history_start(store *st, const history_config *cfg, history_snapshot_fn get, void *ctx,
                       char err[256]);
/* Stops the thread (a sample being written is finished) and frees. */
void history_stop(history *h);

/* A sample's rows counted from a snapshot: nodes that answered and have
 * calls; accounts by the calls' customer_acc_id (originated) and
 * vendor_acc_id (terminated); gateways by orig_gw_id and term_gw_id. A call
 * without the id counts for no subject of that kind. Rows ascend by
 * subject. */
typedef struct history_tally {
    store_hist_row *rows[STORE_HIST_KINDS];
    size_t n[STORE_HIST_KINDS];
} history_tally;

/* false when memory ran out (t is then empty). */
bool history_tally_make(const live_snap *snap, history_tally *t);
void history_tally_free(history_tally *t);

#endif
