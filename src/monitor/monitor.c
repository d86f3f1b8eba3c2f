/* monitor: yeti's calls monitoring, on the live view (docs/API.md, "The
 * calls monitor").
 *
 * Design. A live-view consumer hands the monitor's thread a snapshot at
 * most every interval (the newest one; one waiting at most). A run:
 *   1. election: on PostgreSQL the advisory lock MONITOR_LOCK_KEY on a
 *      connection of its own (store_writer_lock); without it, no run;
 *   2. the ids the calls of the nodes that answered name: accounts (both
 *      sides), customers auths, gateways; then one store_fetch per table
 *      (contractors by the accounts' contractor_id): a store error skips
 *      the run;
 *   3. per account, the projected costs of its calls that check the
 *      balance (customer side with VAT, vendor side without), normal and
 *      reverse-billed apart; an account a failed node carried on its last
 *      good round is incomplete and not judged by the balance rules;
 *   4. each call is judged by the rules in their order; the first that
 *      drops it is its decision (a call is dropped once);
 *   5. over the cap, nothing is dropped (outcome `capped`); in dry-run
 *      nothing is; in enforce the calls not already dropped or in flight
 *      get `yeti.request.call.disconnect`, one node round for all of them;
 *   6. every decision is logged, counted and kept in a ring for the API.
 * Calls decided (dropped, or reported in dry-run) stay remembered while
 * their node still lists them, so a call is asked to go (or reported) once,
 * not once per run.
 *
 * Threads. The consumer takes `mu` to hand over a snapshot; the run holds
 * nothing but the ring's `ring_mu` while it records; readers of the ring
 * and the counters take `ring_mu`. */
#include "monitor/monitor.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "store/resources.h"
#include "util/clock.h"
#include "util/grow.h"
#include "util/log.h"

#define MONITOR_LOCK_KEY 27412424360031093LL /* the history writer's + 1 */
#define RING_MAX 10000
#define DISCONNECT "yeti.request.call.disconnect"

const char *const monitor_rule_names[MR_COUNT] = {
    [MR_CUSTOMER_MIN] = "customer-min-balance",
    [MR_CUSTOMER_MAX] = "customer-max-balance",
    [MR_VENDOR_MIN] = "vendor-min-balance",
    [MR_VENDOR_MAX] = "vendor-max-balance",
    [MR_ACCOUNT_MISSING] = "account-missing",
    [MR_CONTRACTOR_DISABLED] = "contractor-disabled",
    [MR_CUSTOMER_AUTH_REJECTS] = "customer-auth-rejects",
    [MR_ORIG_GW_DISABLED] = "orig-gw-disabled",
    [MR_TERM_GW_DISABLED] = "term-gw-disabled",
    [MR_RANDOM] = "random-disconnect",
};
const char *const monitor_outcome_names[MO_COUNT] = {
    [MO_DRY_RUN] = "dry-run", [MO_DROPPED] = "dropped", [MO_NOT_FOUND] = "not-found",
    [MO_FAILED] = "failed",   [MO_CAPPED] = "capped",
};
const char *const monitor_mode_names[MONITOR_ENFORCE + 1] = {"off", "dry-run", "enforce"};
const char *const monitor_side_names[SIDE_VENDOR + 1] = {"none", "customer", "vendor"};

int monitor_mode_find(const char *name)
{
    for (int i = 0; i <= MONITOR_ENFORCE; i++)
        if (strcmp(monitor_mode_names[i], name) == 0) return i;
    return -1;
}

int monitor_rule_find(const char *name, size_t len)
{
    for (int i = 0; i < MR_COUNT; i++)
        if (strlen(monitor_rule_names[i]) == len && memcmp(monitor_rule_names[i], name, len) == 0) return i;
    return -1;
}

/* ---- the calls already asked to go ------------------------------------------ */

/* Call ids ("<node>*<tag>") asked to go, kept while their node lists them. */
typedef struct gone_set {
    char **keys;
    int64_t *nodes;
    uint64_t *hashes;
    bool *seen;
    size_t n, cap; /* cap: a power of two, or 0 */
} gone_set;

static size_t gone_slot(const gone_set *g, uint64_t h, const char *key)
{
    size_t i = (size_t)h & (g->cap - 1);
    while (g->keys[i] && !(g->hashes[i] == h && strcmp(g->keys[i], key) == 0)) i = (i + 1) & (g->cap - 1);
    return i;
}

static bool gone_has(gone_set *g, const char *key, bool mark)
{
    if (!g->cap) return false;
    uint64_t h = XXH3_64bits(key, strlen(key));
    size_t i = gone_slot(g, h, key);
    if (!g->keys[i]) return false;
    if (mark) g->seen[i] = true;
    return true;
}

static void gone_free(gone_set *g)
{
    for (size_t i = 0; i < g->cap; i++) free(g->keys[i]);
    free(g->keys);
    free(g->nodes);
    free(g->hashes);
    free(g->seen);
    memset(g, 0, sizeof *g);
}

/* Rebuilds g with the keys `keep` says to keep, plus room for `more`. */
static bool gone_rebuild(gone_set *g, size_t more, bool (*keep)(const gone_set *, size_t, void *), void *arg)
{
    size_t cap = 16;
    while (cap < 2 * (g->n + more)) cap *= 2;
    gone_set n = {calloc(cap, sizeof(char *)),
                  calloc(cap, sizeof(int64_t)),
                  calloc(cap, sizeof(uint64_t)),
                  calloc(cap, sizeof(bool)),
                  0,
                  cap};
    if (!n.keys || !n.nodes || !n.hashes || !n.seen) {
        gone_free(&n);
        return false;
    }
    for (size_t i = 0; i < g->cap; i++) {
        if (!g->keys[i]) continue;
        if (!keep(g, i, arg)) {
            free(g->keys[i]);
            continue;
        }
        size_t j = gone_slot(&n, g->hashes[i], g->keys[i]);
        n.keys[j] = g->keys[i];
        n.nodes[j] = g->nodes[i];
        n.hashes[j] = g->hashes[i];
        n.n++;
    }
    g->cap = 0; /* the keys moved */
    gone_free(g);
    *g = n;
    return true;
}

static bool keep_all(const gone_set *g, size_t i, void *arg)
{
    (void)g, (void)i, (void)arg;
    return true;
}

static bool gone_add(gone_set *g, const char *key, int64_t node)
{
    if (2 * (g->n + 1) > g->cap && !gone_rebuild(g, 1, keep_all, NULL)) return false;
    uint64_t h = XXH3_64bits(key, strlen(key));
    size_t i = gone_slot(g, h, key);
    if (g->keys[i]) return true;
    if (!(g->keys[i] = strdup(key))) return false;
    g->nodes[i] = node;
    g->hashes[i] = h;
    g->seen[i] = true;
    g->n++;
    return true;
}

/* After a run: a key goes when its node answered and no longer lists it. */
typedef struct answered {
    const live_snap *snap;
} answered;

static bool keep_listed(const gone_set *g, size_t i, void *arg)
{
    const live_snap *snap = ((answered *)arg)->snap;
    if (g->seen[i]) return true;
    for (size_t k = 0; k < snap->n; k++)
        if (snap->targets[k].id == g->nodes[i]) return snap->results[k].status != NODE_OK;
    return false; /* a node no longer registered */
}

/* ---- the monitor ---------------------------------------------------------------- */

/* The columns the rules read (store/resources.c), found once. */
typedef struct cols {
    int a_contr, a_bal, a_min, a_max;
    int c_en, c_cust, c_vend;
    int au_rej;
    int g_en, g_orig, g_term;
} cols;

/* Accounts a node carried on its last good round: incomplete while it fails. */
typedef struct node_accounts {
    int64_t node_id;
    int64_t *ids;
    size_t n;
} node_accounts;

struct monitor {
    monitor_config cfg;
    cols c;
    live_view *live;
    store *st;
    node_pool *pool;
    store_writer *w;
    int handle;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    live_snap *pending;      /* handed over, not yet run */
    monitor_config next_cfg; /* a reload's, taken at the next run (has_next) */
    bool has_next;
    bool stopping;
    int64_t last_handed_ms;
    bool leader_logged, standby_logged;
    gone_set gone;
    node_accounts *last_good;
    size_t nlast;
    uint64_t rng;
    /* the ring and the counters, for readers */
    pthread_mutex_t ring_mu;
    monitor_decision *ring; /* RING_MAX, the oldest at ring_head */
    size_t ring_n, ring_head;
    uint64_t seq;
    monitor_stats stats;
    /* a disconnect round */
    pthread_mutex_t round_mu;
    pthread_cond_t round_cv;
    bool round_done;
};

/* ---- one run ------------------------------------------------------------------ */

/* A set of ids (> 0): open addressing while it is filled (calls name the
 * same few thousand accounts and gateways over and over), then sorted in
 * place by ids_settle. */
typedef struct ids {
    int64_t *v; /* slots (0: empty), then, settled, the n ids in order */
    size_t n, cap;
} ids;

static bool ids_add(ids *x, int64_t id)
{
    if (id == CALL_ID_NONE || id <= 0) return true;
    if (2 * (x->n + 1) > x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 256;
        int64_t *v = calloc(cap, sizeof *v);
        if (!v) return false;
        for (size_t i = 0; i < x->cap; i++) {
            if (!x->v[i]) continue;
            size_t j = (size_t)((uint64_t)x->v[i] * 0x9E3779B97F4A7C15ULL >> 20) & (cap - 1);
            while (v[j]) j = (j + 1) & (cap - 1);
            v[j] = x->v[i];
        }
        free(x->v);
        x->v = v;
        x->cap = cap;
    }
    size_t j = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ULL >> 20) & (x->cap - 1);
    while (x->v[j] && x->v[j] != id) j = (j + 1) & (x->cap - 1);
    if (!x->v[j]) {
        x->v[j] = id;
        x->n++;
    }
    return true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The set as the n ids in order, in v[0..n); no more ids_add after. */
static void ids_settle(ids *x)
{
    size_t k = 0;
    for (size_t i = 0; i < x->cap; i++)
        if (x->v[i]) x->v[k++] = x->v[i];
    assert(k == x->n);
    if (k) qsort(x->v, k, sizeof *x->v, cmp_i64);
}

static int col(res_type_id t, const char *name)
{
    const res_type *rt = &res_types[t];
    for (size_t i = 0; i < rt->ncols; i++)
        if (strcmp(rt->cols[i].column, name) == 0) return (int)i;
    assert(!"a column the monitor reads is not in store/resources.c");
    return -1;
}

static bool val_true(const res_row *r, int c)
{
    const char *v = r->vals[c];
    return v && (v[0] == 't' || v[0] == 'T' || v[0] == '1');
}

static double val_num(const res_row *r, int c) { return r->vals[c] ? strtod(r->vals[c], NULL) : 0; }

/* An account over the run: its row's numbers and flags, read once, and
 * the sums of its calls. */
typedef struct acc_sum {
    double balance, min, max;
    bool side_ok[2];              /* its contractor is enabled and a customer [0] / vendor [1] */
    double normal[2], reverse[2]; /* [0] customer side, [1] vendor side */
    bool incomplete;
    bool noted[2]; /* incomplete and past a bound: logged this run */
} acc_sum;

/* An account a failed node carried, whose projection on the calls that
 * are known passes a bound: it is not judged, and the log says so. */
static void note_incomplete(acc_sum *sum, int64_t account, int side, double projected)
{
    if (sum->noted[side]) return;
    sum->noted[side] = true;
    char num[64];
    buf line;
    log_begin(&line, LOG_WARN, "monitor-incomplete");
    log_kv_i64(&line, "account_id", account);
    log_kv(&line, "side", side ? "vendor" : "customer");
    snprintf(num, sizeof num, "%.6f", projected);
    log_kv(&line, "projected", num);
    log_kv_i64(&line, "incomplete", 1);
    log_kv(&line, "detail", "a node that carried its calls failed: not judged on partial data");
    log_end(&line, LOG_WARN);
}

/* A call to drop, and why. */
typedef struct verdict {
    size_t node; /* index in the snapshot */
    const call_record *rec;
    monitor_decision d;
} verdict;

/* A call's accounts (their rows' index, -1: none) and projected costs
 * (of a call that checks the balance), by side: found once per run. */
typedef struct call_info {
    int32_t acc[2];
    double cost[2];
} call_info;

typedef struct run {
    monitor *m;
    const live_snap *snap;
    ids acc, auths, gws, contractors;
    res_rows accounts, contractor_rows, auth_rows, gw_rows;
    acc_sum *sums; /* parallel to accounts.rows */
    verdict *v;
    size_t nv, vcap;
    uint8_t **marked; /* [node][call]: judged already */
    call_info **info; /* [node][call]: its accounts and costs, found and computed once a run */
    bool oom;         /* memory ran out: the run is skipped */
    size_t below_min;
} run;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool node_failed(const live_snap *s, size_t i) { return s->results[i].status != NODE_OK; }

static double cost_of(const run *r, const callset *cs, const call_record *rec, bool vendor)
{
    double c = call_cost(cs, rec, vendor, r->m->cfg.ahead_s);
    if (!vendor) c *= 1 + call_span_number(cs, rec->extra[XF_CUSTOMER_ACC_VAT]) / 100; /* yeti forgets this */
    return c;
}

static bool reverse_billed(const callset *cs, const call_record *rec, bool vendor)
{
    return call_span_true(cs,
                          rec->extra[vendor ? XF_DIALPEER_REVERSE_BILLING : XF_DESTINATION_REVERSE_BILLING]);
}

/* Call k of node gets rule's decision, unless it has one already (this
 * run, or decided before and still listed): then NULL, as when memory ran
 * out (r->oom says which). */
static monitor_decision *add_verdict(run *r, size_t node, size_t k, monitor_rule rule, int64_t account,
                                     monitor_side side)
{
    const callset *cs = &r->snap->results[node].calls;
    if (r->marked[node][k]) return NULL;
    r->marked[node][k] = 1;
    if (!grow((void **)&r->v, &r->vcap, r->nv + 1, sizeof *r->v, 16)) {
        r->oom = true;
        return NULL;
    }
    const call_record *rec = &cs->recs[k];
    char *id = NULL;
    size_t tl = rec->tag.len;
    buf b;
    buf_init(&b);
    buf_put_i64(&b, r->snap->targets[node].id);
    buf_putc(&b, '*');
    buf_append(&b, callset_text(cs, rec->tag), tl);
    buf_putc(&b, '\0');
    if (b.oom) {
        r->oom = true;
        return NULL;
    }
    id = b.data;
    if (gone_has(&r->m->gone, id, true)) {
        free(id); /* decided already and still listed: not again, not a new decision */
        return NULL;
    }
    r->v[r->nv++] = (verdict){node, rec,
                              (monitor_decision){.rule = rule,
                                                 .mode = r->m->cfg.mode,
                                                 .node_id = r->snap->targets[node].id,
                                                 .call_id = id,
                                                 .account_id = account,
                                                 .side = side}};
    return &r->v[r->nv - 1].d;
}

/* A balance rule's numbers on its decision. */
static void set_numbers(const run *r, monitor_decision *d, const res_row *acc, double projected, double cost)
{
    const cols *c = &r->m->c;
    d->has_numbers = true;
    d->balance = val_num(acc, c->a_bal);
    d->min_balance = val_num(acc, c->a_min);
    d->max_balance = val_num(acc, c->a_max);
    d->projected = projected;
    d->cost = cost;
}

static bool collect_ids(run *r)
{
    const live_snap *s = r->snap;
    for (size_t i = 0; i < s->n; i++) {
        if (node_failed(s, i)) continue;
        const callset *cs = &s->results[i].calls;
        for (size_t k = 0; k < cs->n; k++) {
            const call_record *c = &cs->recs[k];
            if (!ids_add(&r->acc, c->rel_id[REL_CUSTOMER_ACC]) ||
                !ids_add(&r->acc, c->rel_id[REL_VENDOR_ACC]) ||
                !ids_add(&r->auths, c->rel_id[REL_CUSTOMER_AUTH]) ||
                !ids_add(&r->gws, c->rel_id[REL_ORIG_GW]) || !ids_add(&r->gws, c->rel_id[REL_TERM_GW]))
                return false;
        }
    }
    ids_settle(&r->acc);
    ids_settle(&r->auths);
    ids_settle(&r->gws);
    return true;
}

/* One query per table; false (and err) on a store error. */
static bool fetch(run *r, char err[STORE_ERR_LEN])
{
    store *st = r->m->st;
    if (store_fetch(st, RT_ACCOUNTS, r->acc.v, r->acc.n, &r->accounts, err) != STORE_OK) return false;
    int c = r->m->c.a_contr;
    for (size_t i = 0; i < r->accounts.n; i++) {
        const char *v = r->accounts.rows[i].vals[c];
        if (v && !ids_add(&r->contractors, call_rel_id_parse(v))) {
            snprintf(err, STORE_ERR_LEN, "out of memory");
            return false;
        }
    }
    ids_settle(&r->contractors);
    return store_fetch(st, RT_CONTRACTORS, r->contractors.v, r->contractors.n, &r->contractor_rows, err) ==
        STORE_OK &&
        store_fetch(st, RT_CUSTOMERS_AUTHS, r->auths.v, r->auths.n, &r->auth_rows, err) == STORE_OK &&
        store_fetch(st, RT_GATEWAYS, r->gws.v, r->gws.n, &r->gw_rows, err) == STORE_OK;
}

/* The accounts of the nodes that failed, as last seen: incomplete. */
static void mark_incomplete(run *r)
{
    monitor *m = r->m;
    for (size_t i = 0; i < r->snap->n; i++) {
        if (!node_failed(r->snap, i)) continue;
        for (size_t k = 0; k < m->nlast; k++) {
            if (m->last_good[k].node_id != r->snap->targets[i].id) continue;
            for (size_t j = 0; j < m->last_good[k].n; j++) {
                const res_row *row = res_rows_find(&r->accounts, m->last_good[k].ids[j]);
                if (row) r->sums[row - r->accounts.rows].incomplete = true;
            }
        }
    }
}

/* The accounts each answering node carried, for the next runs. */
static void remember_accounts(run *r)
{
    monitor *m = r->m;
    for (size_t i = 0; i < r->snap->n; i++) {
        if (node_failed(r->snap, i)) continue;
        ids x = {0};
        const callset *cs = &r->snap->results[i].calls;
        bool ok = true;
        for (size_t k = 0; k < cs->n && ok; k++)
            ok = ids_add(&x, cs->recs[k].rel_id[REL_CUSTOMER_ACC]) &&
                ids_add(&x, cs->recs[k].rel_id[REL_VENDOR_ACC]);
        ids_settle(&x);
        size_t slot = 0;
        while (slot < m->nlast && m->last_good[slot].node_id != r->snap->targets[i].id) slot++;
        if (slot == m->nlast) {
            size_t cap = m->nlast;
            if (!ok || !grow((void **)&m->last_good, &cap, m->nlast + 1, sizeof *m->last_good, 8)) {
                free(x.v);
                continue;
            }
            m->last_good[m->nlast++] = (node_accounts){r->snap->targets[i].id, NULL, 0};
        }
        free(m->last_good[slot].ids);
        m->last_good[slot].ids = ok ? x.v : NULL;
        m->last_good[slot].n = ok ? x.n : 0;
        if (!ok) free(x.v);
    }
}

/* Steps 3 and 4: sums, then each call judged. */
static bool judge(run *r)
{
    const live_snap *s = r->snap;
    const monitor_config *cfg = &r->m->cfg;
    const cols *cl = &r->m->c;
    int a_contr = cl->a_contr, a_bal = cl->a_bal, a_min = cl->a_min, a_max = cl->a_max;
    int c_en = cl->c_en, c_cust = cl->c_cust, c_vend = cl->c_vend, au_rej = cl->au_rej;
    int g_en = cl->g_en, g_orig = cl->g_orig, g_term = cl->g_term;
    r->sums = calloc(r->accounts.n ? r->accounts.n : 1, sizeof *r->sums);
    r->marked = calloc(s->n ? s->n : 1, sizeof *r->marked);
    r->info = calloc(s->n ? s->n : 1, sizeof *r->info);
    if (!r->sums || !r->marked || !r->info) return false;
    for (size_t i = 0; i < s->n; i++)
        if (!node_failed(s, i) &&
            (!(r->marked[i] = calloc(s->results[i].calls.n + 1, 1)) ||
             !(r->info[i] = calloc(s->results[i].calls.n + 1, sizeof(call_info)))))
            return false;
    for (size_t a = 0; a < r->accounts.n; a++) { /* each account's row, read once */
        const res_row *acc = &r->accounts.rows[a];
        acc_sum *sum = &r->sums[a];
        sum->balance = val_num(acc, a_bal);
        sum->min = val_num(acc, a_min);
        sum->max = val_num(acc, a_max);
        const char *cv = acc->vals[a_contr];
        const res_row *ct = cv ? res_rows_find(&r->contractor_rows, call_rel_id_parse(cv)) : NULL;
        sum->side_ok[0] = ct && val_true(ct, c_en) && val_true(ct, c_cust);
        sum->side_ok[1] = ct && val_true(ct, c_en) && val_true(ct, c_vend);
    }
    mark_incomplete(r);
    /* each call's accounts, once; the sums */
    for (size_t i = 0; i < s->n; i++) {
        if (node_failed(s, i)) continue;
        const callset *cs = &s->results[i].calls;
        for (size_t k = 0; k < cs->n; k++) {
            const call_record *c = &cs->recs[k];
            call_info *ci = &r->info[i][k];
            bool check = call_span_true(cs, c->extra[XF_CUSTOMER_ACC_CHECK_BALANCE]);
            for (int v = 0; v < 2; v++) {
                const res_row *acc =
                    res_rows_find(&r->accounts, c->rel_id[v ? REL_VENDOR_ACC : REL_CUSTOMER_ACC]);
                ci->acc[v] = acc ? (int32_t)(acc - r->accounts.rows) : -1;
                if (!acc || !check) continue;
                acc_sum *sum = &r->sums[ci->acc[v]];
                double cost = ci->cost[v] = cost_of(r, cs, c, v);
                if (reverse_billed(cs, c, v))
                    sum->reverse[v] += cost;
                else
                    sum->normal[v] += cost;
            }
        }
    }
    /* accounts below their minimum (the gauge), complete ones */
    for (size_t a = 0; a < r->accounts.n; a++) {
        const acc_sum *sum = &r->sums[a];
        double bal = sum->balance, min = sum->min;
        if (!sum->incomplete &&
            (bal - sum->normal[0] + sum->reverse[0] < min || bal + sum->normal[1] - sum->reverse[1] < min))
            r->below_min++;
    }
    /* each call, by the rules in their order */
    for (size_t i = 0; i < s->n; i++) {
        if (node_failed(s, i)) continue;
        const callset *cs = &s->results[i].calls;
        for (size_t k = 0; k < cs->n; k++) {
            const call_record *c = &cs->recs[k];
            const call_info *ci = &r->info[i][k];
            bool check = call_span_true(cs, c->extra[XF_CUSTOMER_ACC_CHECK_BALANCE]);
            for (int v = 0; v < 2 && check; v++) {
                int64_t acc_id = c->rel_id[v ? REL_VENDOR_ACC : REL_CUSTOMER_ACC];
                if (ci->acc[v] < 0) continue;
                const res_row *acc = &r->accounts.rows[ci->acc[v]];
                acc_sum *sum = &r->sums[ci->acc[v]];
                double bal = sum->balance;
                double projected =
                    v ? bal + sum->normal[1] - sum->reverse[1] : bal - sum->normal[0] + sum->reverse[0];
                if (projected >= sum->min && projected <= sum->max) continue; /* the usual case */
                if (sum->incomplete) {
                    note_incomplete(sum, acc_id, v, projected);
                    continue;
                }
                bool rev = reverse_billed(cs, c, v);
                monitor_rule rule = MR_COUNT;
                if (projected < sum->min && rev == (v == 1))
                    rule = v ? MR_VENDOR_MIN : MR_CUSTOMER_MIN;
                else if (projected > sum->max && rev == (v == 0))
                    rule = v ? MR_VENDOR_MAX : MR_CUSTOMER_MAX;
                if (rule == MR_COUNT || cfg->skip[rule] || r->marked[i][k]) continue;
                monitor_decision *d = add_verdict(r, i, k, rule, acc_id, v ? SIDE_VENDOR : SIDE_CUSTOMER);
                if (d) set_numbers(r, d, acc, projected, ci->cost[v]);
                if (r->oom) return false;
            }
            for (int v = 0; v < 2; v++) { /* the accounts and their contractors */
                int64_t acc_id = c->rel_id[v ? REL_VENDOR_ACC : REL_CUSTOMER_ACC];
                if (acc_id == CALL_ID_NONE || acc_id <= 0) continue;
                monitor_rule rule = MR_COUNT;
                if (ci->acc[v] < 0)
                    rule = MR_ACCOUNT_MISSING;
                else if (!r->sums[ci->acc[v]].side_ok[v])
                    rule = MR_CONTRACTOR_DISABLED;
                if (rule != MR_COUNT && !cfg->skip[rule])
                    add_verdict(r, i, k, rule, acc_id, v ? SIDE_VENDOR : SIDE_CUSTOMER);
            }
            const res_row *au = res_rows_find(&r->auth_rows, c->rel_id[REL_CUSTOMER_AUTH]);
            if (au && val_true(au, au_rej) && !cfg->skip[MR_CUSTOMER_AUTH_REJECTS])
                add_verdict(r, i, k, MR_CUSTOMER_AUTH_REJECTS, 0, SIDE_NONE);
            const res_row *og = res_rows_find(&r->gw_rows, c->rel_id[REL_ORIG_GW]);
            if (og && (!val_true(og, g_en) || !val_true(og, g_orig)) && !cfg->skip[MR_ORIG_GW_DISABLED])
                add_verdict(r, i, k, MR_ORIG_GW_DISABLED, 0, SIDE_NONE);
            const res_row *tg = res_rows_find(&r->gw_rows, c->rel_id[REL_TERM_GW]);
            if (tg && (!val_true(tg, g_en) || !val_true(tg, g_term)) && !cfg->skip[MR_TERM_GW_DISABLED])
                add_verdict(r, i, k, MR_TERM_GW_DISABLED, 0, SIDE_NONE);
            if (cfg->random_after_s > 0 && !cfg->skip[MR_RANDOM] && c->duration != CALL_DURATION_NULL &&
                c->duration > cfg->random_after_s) {
                r->m->rng = r->m->rng * 6364136223846793005ULL + 1442695040888963407ULL;
                if ((r->m->rng >> 33) % 100 < 10) add_verdict(r, i, k, MR_RANDOM, 0, SIDE_NONE);
            }
        }
    }
    return !r->oom;
}

/* ---- dropping ---------------------------------------------------------------- */

static void round_done(void *arg)
{
    monitor *m = arg;
    pthread_mutex_lock(&m->round_mu);
    m->round_done = true;
    pthread_cond_signal(&m->round_cv);
    pthread_mutex_unlock(&m->round_mu);
}

/* Enforce: one disconnect per verdict not already asked, in one round. */
static void drop(run *r)
{
    monitor *m = r->m;
    size_t n = 0;
    size_t *which = calloc(r->nv ? r->nv : 1, sizeof *which);
    node_target *targets = calloc(r->nv ? r->nv : 1, sizeof *targets);
    node_call *calls = calloc(r->nv ? r->nv : 1, sizeof *calls);
    node_result *results = calloc(r->nv ? r->nv : 1, sizeof *results);
    const char **tags = calloc(r->nv ? r->nv : 1, sizeof *tags);
    if (!which || !targets || !calls || !results || !tags) {
        for (size_t i = 0; i < r->nv; i++) r->v[i].d.outcome = MO_FAILED;
        goto out;
    }
    for (size_t i = 0; i < r->nv; i++) {
        verdict *v = &r->v[i];
        tags[n] = strchr(v->d.call_id, '*') + 1;
        targets[n] = r->snap->targets[v->node];
        calls[n] = (node_call){DISCONNECT, &tags[n], 1, REPLY_EXPECT_ANY, NULL};
        node_result_init(&results[n]);
        which[n++] = i;
    }
    if (n) {
        m->round_done = false;
        node_pool_start(m->pool, n, targets, calls, m->cfg.node_timeout_ms, results, round_done, m);
        pthread_mutex_lock(&m->round_mu);
        while (!m->round_done) pthread_cond_wait(&m->round_cv, &m->round_mu);
        pthread_mutex_unlock(&m->round_mu);
    }
    for (size_t j = 0; j < n; j++) {
        verdict *v = &r->v[which[j]];
        const node_result *res = &results[j];
        if (res->status == NODE_OK)
            v->d.outcome = MO_DROPPED;
        else if (res->status == NODE_ERR_RPC && res->rpc_code == NODE_RPC_CALL_NOT_FOUND)
            v->d.outcome = MO_NOT_FOUND;
        else
            v->d.outcome = MO_FAILED;
        if (v->d.outcome != MO_FAILED && !gone_add(&m->gone, v->d.call_id, v->d.node_id))
            log_msg(LOG_ERROR, "monitor: out of memory remembering a dropped call");
        node_result_free(&results[j]);
    }
out:
    free(which);
    free(targets);
    free(calls);
    free(results);
    free(tags);
}

/* ---- recording --------------------------------------------------------------- */

static void log_decision(const monitor_decision *d, bool incomplete)
{
    buf line;
    log_begin(&line, d->outcome == MO_FAILED ? LOG_WARN : LOG_INFO, "monitor-decision");
    log_kv(&line, "mode", monitor_mode_names[d->mode]);
    log_kv(&line, "rule", monitor_rule_names[d->rule]);
    log_kv(&line, "call_id", d->call_id);
    log_kv_i64(&line, "node_id", d->node_id);
    if (d->account_id) log_kv_i64(&line, "account_id", d->account_id);
    log_kv(&line, "side", monitor_side_names[d->side]);
    if (d->has_numbers) {
        char num[64];
        const struct {
            const char *k;
            double v;
        } nums[] = {{"balance", d->balance},
                    {"projected", d->projected},
                    {"min_balance", d->min_balance},
                    {"max_balance", d->max_balance},
                    {"cost", d->cost}};
        for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
            snprintf(num, sizeof num, "%.6f", nums[i].v);
            log_kv(&line, nums[i].k, num);
        }
    }
    if (incomplete) log_kv_i64(&line, "incomplete", 1);
    log_kv(&line, "outcome", monitor_outcome_names[d->outcome]);
    log_end(&line, d->outcome == MO_FAILED ? LOG_WARN : LOG_INFO);
}

/* Logs, counts and keeps the run's decisions (the ring takes the ids). */
static void record(run *r)
{
    monitor *m = r->m;
    int64_t now = wall_ms();
    for (size_t i = 0; i < r->nv; i++) log_decision(&r->v[i].d, false);
    pthread_mutex_lock(&m->ring_mu);
    for (size_t i = 0; i < r->nv; i++) {
        monitor_decision d = r->v[i].d;
        d.seq = ++m->seq;
        d.at_ms = now;
        m->stats.decisions[d.rule][d.outcome]++;
        size_t slot = (m->ring_head + m->ring_n) % RING_MAX;
        if (m->ring_n == RING_MAX) { /* full: the oldest's slot takes the newest */
            slot = m->ring_head;
            free(m->ring[slot].call_id);
            m->ring_head = (m->ring_head + 1) % RING_MAX;
        } else {
            m->ring_n++;
        }
        m->ring[slot] = d;
        r->v[i].d.call_id = NULL;
    }
    m->stats.runs++;
    m->stats.below_min = r->below_min;
    pthread_mutex_unlock(&m->ring_mu);
}

static void run_free(run *r)
{
    free(r->acc.v);
    free(r->auths.v);
    free(r->gws.v);
    free(r->contractors.v);
    res_rows_free(&r->accounts);
    res_rows_free(&r->contractor_rows);
    res_rows_free(&r->auth_rows);
    res_rows_free(&r->gw_rows);
    free(r->sums);
    for (size_t i = 0; r->marked && i < r->snap->n; i++) free(r->marked[i]);
    for (size_t i = 0; r->info && i < r->snap->n; i++) free(r->info[i]);
    free(r->marked);
    free(r->info);
    for (size_t i = 0; i < r->nv; i++) free(r->v[i].d.call_id);
    free(r->v);
}

/* A run that did not happen, and why. */
static void log_skip(const char *reason, const char *err)
{
    buf line;
    log_begin(&line, LOG_ERROR, "monitor-skip");
    log_kv(&line, "reason", reason);
    if (err && *err) log_kv(&line, "error", err);
    log_end(&line, LOG_ERROR);
}

static bool elected(monitor *m)
{
    bool held = false;
    char err[STORE_ERR_LEN] = "";
    if (store_writer_lock(m->w, MONITOR_LOCK_KEY, &held, err) != STORE_OK) {
        log_skip("election", err);
        return false;
    }
    if (held && !m->leader_logged)
        log_msg(LOG_INFO, "monitor: this instance runs the monitor (%s)", monitor_mode_names[m->cfg.mode]);
    if (!held && !m->standby_logged)
        log_msg(LOG_INFO, "monitor: another instance runs the monitor; standing by");
    m->leader_logged = held;
    m->standby_logged = !held;
    return held;
}

static void run_once(monitor *m, const live_snap *snap)
{
    if (!elected(m)) return;
    int64_t t0 = clock_now_us();
    run r = {.m = m, .snap = snap};
    char err[STORE_ERR_LEN] = "";
    if (!collect_ids(&r)) {
        log_skip("memory", NULL);
        run_free(&r);
        return;
    }
    int64_t t_fetch = clock_now_us();
    if (!fetch(&r, err)) {
        log_skip("store", err);
        run_free(&r);
        return;
    }
    int64_t t_judge = clock_now_us();
    if (!judge(&r)) {
        log_skip("memory", NULL);
        run_free(&r);
        return;
    }
    int64_t t_judged = clock_now_us();
    size_t incomplete = 0;
    for (size_t a = 0; a < r.accounts.n; a++) incomplete += r.sums[a].incomplete;
    bool capped = r.nv > (size_t)m->cfg.max_drops;
    if (capped) {
        buf line;
        log_begin(&line, LOG_ERROR, "monitor-cap");
        log_kv_i64(&line, "decisions", (int64_t)r.nv);
        log_kv_i64(&line, "max", m->cfg.max_drops);
        log_kv(&line, "detail", "nothing dropped this run");
        log_end(&line, LOG_ERROR);
        for (size_t i = 0; i < r.nv; i++) r.v[i].d.outcome = MO_CAPPED;
        pthread_mutex_lock(&m->ring_mu);
        m->stats.cap_exceeded++;
        pthread_mutex_unlock(&m->ring_mu);
    } else if (m->cfg.mode == MONITOR_DRY_RUN) { /* reported once, as enforce drops once */
        for (size_t i = 0; i < r.nv; i++) {
            r.v[i].d.outcome = MO_DRY_RUN;
            if (!gone_add(&m->gone, r.v[i].d.call_id, r.v[i].d.node_id))
                log_msg(LOG_ERROR, "monitor: out of memory remembering a decision");
        }
    } else {
        drop(&r);
    }
    /* calls asked to go are forgotten once their node lists them no more */
    for (size_t i = 0; i < snap->n; i++) {
        if (node_failed(snap, i)) continue;
        const callset *cs = &snap->results[i].calls;
        buf key;
        buf_init(&key);
        for (size_t k = 0; k < cs->n && m->gone.n; k++) {
            buf_reset(&key);
            buf_put_i64(&key, snap->targets[i].id);
            buf_putc(&key, '*');
            buf_append(&key, callset_text(cs, cs->recs[k].tag), cs->recs[k].tag.len);
            buf_putc(&key, '\0');
            if (!key.oom) gone_has(&m->gone, key.data, true);
        }
        buf_free(&key);
    }
    answered a = {snap};
    if (m->gone.n && !gone_rebuild(&m->gone, 0, keep_listed, &a))
        log_msg(LOG_ERROR, "monitor: out of memory forgetting dropped calls");
    for (size_t i = 0; i < m->gone.cap; i++) m->gone.seen[i] = false;
    record(&r);
    size_t calls = 0, drops = 0;
    for (size_t i = 0; i < snap->n; i++) calls += node_failed(snap, i) ? 0 : snap->results[i].calls.n;
    for (size_t i = 0; i < r.nv; i++) drops += r.v[i].d.outcome == MO_DROPPED;
    remember_accounts(&r);
    buf line;
    log_begin(&line, LOG_INFO, "monitor-run");
    log_kv(&line, "mode", monitor_mode_names[m->cfg.mode]);
    log_kv_i64(&line, "seq", (int64_t)snap->seq);
    log_kv_i64(&line, "calls", (int64_t)calls);
    log_kv_i64(&line, "accounts", (int64_t)r.accounts.n);
    log_kv_i64(&line, "incomplete_accounts", (int64_t)incomplete);
    log_kv_i64(&line, "decisions", (int64_t)r.nv);
    log_kv_i64(&line, "drops", (int64_t)drops);
    log_kv_ms(&line, "store_ms", (double)(t_judge - t_fetch) / 1000.0);
    log_kv_ms(&line, "judge_ms", (double)(t_judged - t_judge) / 1000.0);
    log_kv_ms(&line, "ms", (double)(clock_now_us() - t0) / 1000.0);
    log_end(&line, LOG_INFO);
    run_free(&r);
}

/* ---- thread and consumer ----------------------------------------------------------- */

static void consume(void *arg, const live_snap *snap)
{
    monitor *m = arg;
    int64_t now = clock_now_ms();
    pthread_mutex_lock(&m->mu);
    /* rounds come every refresh_ms, give or take: one due within half a
     * period is taken, or an interval equal to the refresh would skip
     * every other round */
    if (now - m->last_handed_ms >= m->cfg.interval_ms - m->cfg.refresh_ms / 2) {
        if (m->pending) live_release(m->pending); /* the thread is behind: the newest wins */
        m->pending = live_retain((live_snap *)snap);
        m->last_handed_ms = now;
        pthread_cond_signal(&m->cv);
    }
    pthread_mutex_unlock(&m->mu);
}

void monitor_reconfigure(monitor *m, const monitor_config *cfg)
{
    assert(cfg->mode != MONITOR_OFF);
    pthread_mutex_lock(&m->mu);
    m->next_cfg = *cfg;
    m->has_next = true;
    pthread_mutex_unlock(&m->mu);
}

static void *monitor_main(void *arg)
{
    monitor *m = arg;
    for (;;) {
        pthread_mutex_lock(&m->mu);
        while (!m->pending && !m->stopping) pthread_cond_wait(&m->cv, &m->mu);
        live_snap *snap = m->pending;
        m->pending = NULL;
        if (m->has_next) { /* the thread's own copy changes only here, between runs */
            monitor_config c = m->next_cfg;
            m->cfg.mode = c.mode;
            m->cfg.ahead_s = c.ahead_s;
            m->cfg.max_drops = c.max_drops;
            m->cfg.random_after_s = c.random_after_s;
            memcpy(m->cfg.skip, c.skip, sizeof m->cfg.skip);
            m->has_next = false;
        }
        bool stop = m->stopping;
        pthread_mutex_unlock(&m->mu);
        if (snap) {
            if (!stop) run_once(m, snap);
            live_release(snap);
        }
        if (stop) return NULL;
    }
}

monitor *monitor_new(const monitor_config *cfg, live_view *live, store *st, node_pool *pool, char err[256])
{
    assert(cfg && cfg->mode != MONITOR_OFF && live && st && pool);
    monitor *m = calloc(1, sizeof *m);
    if (!m || !(m->ring = calloc(RING_MAX, sizeof *m->ring)) || !(m->w = store_writer_new(st))) {
        snprintf(err, 256, "out of memory");
        if (m) free(m->ring);
        free(m);
        return NULL;
    }
    m->cfg = *cfg;
    m->c = (cols){
        col(RT_ACCOUNTS, "contractor_id"),     col(RT_ACCOUNTS, "balance"),
        col(RT_ACCOUNTS, "min_balance"),       col(RT_ACCOUNTS, "max_balance"),
        col(RT_CONTRACTORS, "enabled"),        col(RT_CONTRACTORS, "customer"),
        col(RT_CONTRACTORS, "vendor"),         col(RT_CUSTOMERS_AUTHS, "reject_calls"),
        col(RT_GATEWAYS, "enabled"),           col(RT_GATEWAYS, "allow_origination"),
        col(RT_GATEWAYS, "allow_termination"),
    };
    m->live = live;
    m->st = st;
    m->pool = pool;
    m->rng = (uint64_t)wall_ms() | 1;
    m->last_handed_ms = clock_now_ms() - cfg->interval_ms;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    pthread_mutex_init(&m->ring_mu, NULL);
    pthread_mutex_init(&m->round_mu, NULL);
    pthread_cond_init(&m->round_cv, NULL);
    if (pthread_create(&m->thread, NULL, monitor_main, m) != 0) {
        snprintf(err, 256, "cannot start the monitor's thread");
        store_writer_free(m->w);
        free(m->ring);
        free(m);
        return NULL;
    }
    if ((m->handle = live_subscribe(live, consume, m)) < 0) {
        snprintf(err, 256, "cannot subscribe the monitor to the live view");
        m->handle = -1;
        monitor_free(m);
        return NULL;
    }
    return m;
}

void monitor_free(monitor *m)
{
    if (!m) return;
    if (m->handle >= 0) live_unsubscribe(m->live, m->handle);
    pthread_mutex_lock(&m->mu);
    m->stopping = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    if (m->pending) live_release(m->pending);
    store_writer_free(m->w);
    gone_free(&m->gone);
    for (size_t i = 0; i < m->nlast; i++) free(m->last_good[i].ids);
    free(m->last_good);
    for (size_t i = 0; i < m->ring_n; i++) free(m->ring[(m->ring_head + i) % RING_MAX].call_id);
    free(m->ring);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->ring_mu);
    pthread_mutex_destroy(&m->round_mu);
    pthread_cond_destroy(&m->round_cv);
    free(m);
}

/* ---- readers ---------------------------------------------------------------------- */

size_t monitor_decisions(monitor *m, const int64_t *accounts, size_t naccounts, const bool *rules,
                         size_t skip, size_t max, monitor_decision *out, size_t *total)
{
    size_t n = 0, matched = 0;
    pthread_mutex_lock(&m->ring_mu);
    for (size_t i = m->ring_n; i-- > 0;) { /* newest first */
        const monitor_decision *d = &m->ring[(m->ring_head + i) % RING_MAX];
        if (rules && !rules[d->rule]) continue;
        bool acc = naccounts == 0;
        for (size_t a = 0; a < naccounts && !acc; a++) acc = accounts[a] == d->account_id;
        if (!acc) continue;
        if (matched++ < skip || n == max) continue;
        out[n] = *d;
        out[n].call_id = strdup(d->call_id);
        if (out[n].call_id) n++;
    }
    pthread_mutex_unlock(&m->ring_mu);
    *total = matched;
    return n;
}

void monitor_decisions_free(monitor_decision *d, size_t n)
{
    for (size_t i = 0; i < n; i++) free(d[i].call_id);
}

monitor_stats monitor_get_stats(monitor *m)
{
    pthread_mutex_lock(&m->ring_mu);
    monitor_stats s = m->stats;
    pthread_mutex_unlock(&m->ring_mu);
    pthread_mutex_lock(&m->mu);
    s.mode = m->has_next ? m->next_cfg.mode : m->cfg.mode;
    pthread_mutex_unlock(&m->mu);
    return s;
}
