/* counters: the service's own counts; see counters.h. */
#include "metrics/counters.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>

#define STATUS_MIN 100
#define STATUS_SPAN 500 /* 100..599 */
#define FAILURES_MAX 1024

static const double http_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1,     2.5,  5,     10};
static const double round_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const double bytes_le[] = {1024,    4096,     16384,    65536,     262144,    1048576,
                                  4194304, 16777216, 67108864, 268435456, 1073741824};
#define NB(a) (sizeof a / sizeof a[0])

/* A histogram: counts per bucket (not cumulative), the +Inf rest, the sum in micro-units. */
#define HIST(n)                        \
    struct {                           \
        atomic_uint_fast64_t b[n + 1]; \
        atomic_uint_fast64_t sum;      \
    }

static _Atomic(const char *) routes[COUNTERS_ROUTES];
static atomic_uint_fast64_t requests[COUNTERS_ROUTES][STATUS_SPAN];
static HIST(NB(http_le)) http_hist[COUNTERS_ROUTES];
static HIST(NB(bytes_le)) doc_bytes;
static HIST(NB(round_le)) rounds;

typedef struct failure {
    int64_t node_id;
    const char *code; /* node_status_code's constants */
    uint64_t n;
} failure;
static pthread_mutex_t failures_mu = PTHREAD_MUTEX_INITIALIZER;
static failure failures[FAILURES_MAX];
static size_t nfailures;

/* The slot of route r (interned; the last slot takes any overflow). */
static size_t route_slot(const char *r)
{
    if (!r) r = "other";
    for (size_t i = 0; i < COUNTERS_ROUTES - 1; i++) {
        const char *cur = atomic_load(&routes[i]);
        if (!cur) {
            const char *expected = NULL;
            if (atomic_compare_exchange_strong(&routes[i], &expected, r)) return i;
            cur = expected;
        }
        if (cur == r || strcmp(cur, r) == 0) return i;
    }
    const char *expected = NULL;
    atomic_compare_exchange_strong(&routes[COUNTERS_ROUTES - 1], &expected, "other");
    return COUNTERS_ROUTES - 1;
}

static size_t bucket(const double *le, size_t n, double v)
{
    size_t i = 0;
    while (i < n && v > le[i]) i++;
    return i;
}

void counters_http(const char *route, int status, int64_t us, size_t body_bytes, bool listing)
{
    size_t r = route_slot(route);
    if (status < STATUS_MIN || status >= STATUS_MIN + STATUS_SPAN) status = 599;
    atomic_fetch_add_explicit(&requests[r][status - STATUS_MIN], 1, memory_order_relaxed);
    double s = (double)(us < 0 ? 0 : us) / 1e6;
    atomic_fetch_add_explicit(&http_hist[r].b[bucket(http_le, NB(http_le), s)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&http_hist[r].sum, (uint64_t)(us < 0 ? 0 : us), memory_order_relaxed);
    if (listing) {
        atomic_fetch_add_explicit(&doc_bytes.b[bucket(bytes_le, NB(bytes_le), (double)body_bytes)], 1,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&doc_bytes.sum, body_bytes, memory_order_relaxed);
    }
}

void counters_round(int64_t us)
{
    if (us < 0) us = 0;
    atomic_fetch_add_explicit(&rounds.b[bucket(round_le, NB(round_le), (double)us / 1e6)], 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&rounds.sum, (uint64_t)us, memory_order_relaxed);
}

void counters_node_failure(int64_t node_id, const char *code)
{
    pthread_mutex_lock(&failures_mu);
    size_t i = 0;
    while (i < nfailures && !(failures[i].node_id == node_id && strcmp(failures[i].code, code) == 0)) i++;
    if (i == nfailures && nfailures < FAILURES_MAX) failures[nfailures++] = (failure){node_id, code, 0};
    if (i < nfailures) failures[i].n++;
    pthread_mutex_unlock(&failures_mu);
}

/* A histogram's samples: cumulative buckets, then sum (scaled) and count. */
static void write_hist(expo *e, const char *name, const double *le, size_t n, atomic_uint_fast64_t *b,
                       atomic_uint_fast64_t *sum, double scale, const char *lkey, const char *lval)
{
    char bname[96];
    snprintf(bname, sizeof bname, "%s_bucket", name);
    uint64_t cum = 0;
    for (size_t i = 0; i <= n; i++) {
        cum += atomic_load_explicit(&b[i], memory_order_relaxed);
        expo_sample_begin(e, bname, NULL);
        if (lkey) expo_label(e, lkey, lval, strlen(lval));
        char v[32] = "+Inf";
        if (i < n && le[i] == (double)(int64_t)le[i])
            snprintf(v, sizeof v, "%lld", (long long)le[i]);
        else if (i < n)
            snprintf(v, sizeof v, "%g", le[i]); /* the bounds above have few digits */
        expo_label(e, "le", v, strlen(v));
        expo_sample_end_i64(e, (int64_t)cum);
    }
    expo_sample_begin(e, name, "_sum");
    if (lkey) expo_label(e, lkey, lval, strlen(lval));
    expo_sample_end(e, (double)atomic_load_explicit(sum, memory_order_relaxed) * scale);
    expo_sample_begin(e, name, "_count");
    if (lkey) expo_label(e, lkey, lval, strlen(lval));
    expo_sample_end_i64(e, (int64_t)cum);
}

void counters_write(expo *e)
{
    expo_family(e, "activecalls_http_requests", "counter", "HTTP requests answered, by route and status.");
    for (size_t r = 0; r < COUNTERS_ROUTES; r++) {
        const char *name = atomic_load(&routes[r]);
        if (!name) continue;
        for (int s = 0; s < STATUS_SPAN; s++) {
            uint64_t n = atomic_load_explicit(&requests[r][s], memory_order_relaxed);
            if (!n) continue;
            expo_sample_begin(e, "activecalls_http_requests", "_total");
            expo_label(e, "route", name, strlen(name));
            expo_label_i64(e, "status", STATUS_MIN + s);
            expo_sample_end_i64(e, (int64_t)n);
        }
    }
    expo_family(e, "activecalls_http_request_duration_seconds", "histogram",
                "Time from a request's first byte to its answer, by route.");
    for (size_t r = 0; r < COUNTERS_ROUTES; r++) {
        const char *name = atomic_load(&routes[r]);
        if (name)
            write_hist(e, "activecalls_http_request_duration_seconds", http_le, NB(http_le), http_hist[r].b,
                       &http_hist[r].sum, 1e-6, "route", name);
    }
    expo_family(e, "activecalls_listing_document_bytes", "histogram",
                "Bytes of the listing documents answered (before gzip).");
    write_hist(e, "activecalls_listing_document_bytes", bytes_le, NB(bytes_le), doc_bytes.b, &doc_bytes.sum,
               1, NULL, NULL);
    expo_family(e, "activecalls_node_round_duration_seconds", "histogram",
                "Time of a node round, from its start to its last node's outcome.");
    write_hist(e, "activecalls_node_round_duration_seconds", round_le, NB(round_le), rounds.b, &rounds.sum,
               1e-6, NULL, NULL);
    expo_family(e, "activecalls_node_failures", "counter",
                "Node answers that failed, by node and error code (as meta.failed-nodes names them).");
    pthread_mutex_lock(&failures_mu);
    for (size_t i = 0; i < nfailures; i++) {
        expo_sample_begin(e, "activecalls_node_failures", "_total");
        expo_label_i64(e, "node_id", failures[i].node_id);
        expo_label(e, "code", failures[i].code, strlen(failures[i].code));
        expo_sample_end_i64(e, (int64_t)failures[i].n);
    }
    pthread_mutex_unlock(&failures_mu);
}
