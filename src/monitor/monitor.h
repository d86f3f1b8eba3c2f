/* monitor: the calls monitor (docs/API.md, "The calls monitor"): yeti's
 * balance and teardown rules, judged on the live view's snapshots every
 * interval, reported (dry-run) or enforced with the nodes' disconnect.
 *
 * One thread of its own, fed by a live-view consumer; one store query per
 * table per run; decisions logged, counted and kept for the API. Among
 * instances on one PostgreSQL only the holder of an advisory lock runs. */
#ifndef AC_MONITOR_MONITOR_H
#define AC_MONITOR_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "live/live.h"
#include "nodes/fanout.h"
#include "store/store.h"

typedef enum { MONITOR_OFF, MONITOR_DRY_RUN, MONITOR_ENFORCE } monitor_mode;

typedef enum {
    MR_CUSTOMER_MIN,
    MR_CUSTOMER_MAX,
    MR_VENDOR_MIN,
    MR_VENDOR_MAX,
    MR_ACCOUNT_MISSING,
    MR_CONTRACTOR_DISABLED,
    MR_CUSTOMER_AUTH_REJECTS,
    MR_ORIG_GW_DISABLED,
    MR_TERM_GW_DISABLED,
    MR_RANDOM,
    MR_COUNT
} monitor_rule;

typedef enum { MO_DRY_RUN, MO_DROPPED, MO_NOT_FOUND, MO_FAILED, MO_CAPPED, MO_COUNT } monitor_outcome;

extern const char *const monitor_rule_names[MR_COUNT];    /* "customer-min-balance", ... */
extern const char *const monitor_outcome_names[MO_COUNT]; /* "dry-run", ... */
extern const char *const monitor_mode_names[MONITOR_ENFORCE + 1];
/* The rule named name[0..len), or -1. */
int monitor_rule_find(const char *name, size_t len);

typedef struct monitor_config {
    monitor_mode mode;
    int interval_ms;     /* a run at most this often */
    int refresh_ms;      /* the live view's period (a snapshot due within half of it is taken) */
    int ahead_s;         /* costs projected this far */
    int max_drops;       /* a run over this drops nothing */
    int random_after_s;  /* random-disconnect: calls longer than this (0: off) */
    int node_timeout_ms; /* the disconnects' deadline */
    bool skip[MR_COUNT]; /* rules switched off */
} monitor_config;

typedef enum { SIDE_NONE, SIDE_CUSTOMER, SIDE_VENDOR } monitor_side;
extern const char *const monitor_side_names[SIDE_VENDOR + 1]; /* "none", "customer", "vendor" */
/* The mode named name ("off", "dry-run", "enforce"), or -1. */
int monitor_mode_find(const char *name);

/* One decision, as logged and listed. */
typedef struct monitor_decision {
    uint64_t seq;  /* 1, 2, ...: newest last */
    int64_t at_ms; /* wall clock */
    monitor_rule rule;
    monitor_outcome outcome;
    monitor_mode mode;
    int64_t node_id;
    char *call_id;      /* "<node>*<tag>", owned */
    int64_t account_id; /* 0: none (a per-call rule without an account) */
    monitor_side side;
    bool has_numbers; /* the balance rules: the numbers below are set */
    double balance, projected, min_balance, max_balance;
    double cost; /* the call's projected cost (its side's) */
} monitor_decision;

typedef struct monitor monitor;

/* Starts the monitor (cfg->mode not OFF): a thread, a live-view consumer.
 * NULL (err filled) when it cannot start. */
monitor *monitor_new(const monitor_config *cfg, live_view *live, store *st, node_pool *pool, char err[256]);
/* What a reload may change while it runs (dry-run and enforce, the cap,
 * the projection, the rules switched off, random-disconnect): taken at
 * the next run. The mode stays on (off needs a restart). */
void monitor_reconfigure(monitor *m, const monitor_config *cfg);
/* Stops the thread (a run in flight finishes) and frees everything. */
void monitor_free(monitor *m);

/* The recent decisions that match (accounts: any of them, n 0 = any;
 * rules: those set, NULL = any), newest first: `skip` of them left out,
 * then at most `max` copied to out (free with monitor_decisions_free);
 * *total: how many match. */
size_t monitor_decisions(monitor *m, const int64_t *accounts, size_t naccounts, const bool *rules,
                         size_t skip, size_t max, monitor_decision *out, size_t *total);
void monitor_decisions_free(monitor_decision *d, size_t n);

typedef struct monitor_stats {
    uint64_t runs, cap_exceeded;
    uint64_t decisions[MR_COUNT][MO_COUNT];
    size_t below_min;  /* accounts projected below their minimum at the last run */
    monitor_mode mode; /* now (a reload may change it) */
} monitor_stats;

monitor_stats monitor_get_stats(monitor *m);

#endif
