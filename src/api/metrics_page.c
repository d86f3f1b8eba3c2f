/* metrics_page: GET /metrics (docs/METRICS.md).
 *
 * Design. The metrics are one of the live view's consumers while scrapers
 * come (note_scrape subscribes; metrics_consume unsubscribes after idle_ms
 * without a scrape). Each snapshot is rendered once per format as its round
 * ends (yeti's families and the per-node ones), and kept with its gzip
 * head (http/compress.h). A scrape takes the kept text when it is at most
 * two refresh periods old, without waiting, and shares those bytes with its
 * answer (http_response_share). It then writes only what changes from one
 * scrape to the next: the snapshot's age, the process, the service's
 * counters (metrics/counters.h). Only an idle start waits for a round
 * (live_get). Any number of scrapers thus cost at most one node round per
 * --refresh-ms.
 *
 * Locks. `mu` guards the kept texts and the consumer's fields, and is held
 * for microseconds. `render_mu` runs renders one at a time, with the
 * memory of label sets they update, so scrapes never wait for a render.
 *
 * yeti's families (lib/prometheus/active_calls_collector.rb and
 * Jobs::CallsMonitoring in yeti-web) are grouped per customer account,
 * vendor account and customers auth, by sorting the calls on the group's
 * id, once per snapshot. A label set seen before and absent now is written
 * as 0 until --metrics-keep-gone-s have passed since it was last seen,
 * then dropped. Series of accounts that are gone therefore fall to 0 on a
 * dashboard, and cardinality does not grow for ever.
 *
 * Access: a client address inside --metrics-allow (loopback by default),
 * or the bearer token of --metrics-token-file. */
#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <xxhash.h>

#include "api/app_internal.h"
#include "http/compress.h"
#include "http/negotiate.h"
#include "http/response.h"
#include "live/live.h"
#include "metrics/counters.h"
#include "metrics/expo.h"
#include "util/clock.h"

#define PREFIX "ruby_yeti_ac"
#define AHEAD_S 60 /* yeti's accounts' prices look one monitoring interval ahead */

typedef enum { K_ORIG_ACC, K_TERM_ACC, K_CA, K_COUNT } kind;

/* A label set seen in an earlier snapshot. */
typedef struct seen {
    char *labels; /* "{...}" as written; NULL: an empty slot */
    size_t len;
    uint64_t hash;   /* of the labels (XXH3) */
    int64_t last_ms; /* wall time of the last snapshot that had it */
    uint64_t mark;   /* the render that saw it last */
} seen;

typedef struct rendered {
    atomic_int refs;
    pthread_mutex_t gz_mu;
    http_gzip_head gz; /* the gzip of its bytes, made when a scraper first asks (under gz_mu) */
    size_t len;
    char bytes[];
} rendered;

struct metrics_state {
    pthread_mutex_t mu;        /* the kept texts, the consumer's fields */
    pthread_mutex_t render_mu; /* one render at a time: the memory of label sets */
    cidr_list allow;
    char token[512];
    size_t token_len;
    int64_t keep_gone_ms;
    uint64_t seq[2];       /* the snapshot of text[om] ... */
    int64_t started_ms[2]; /* ... and when its round started (monotonic) */
    rendered *text[2];     /* [openmetrics] */
    seen *seen[K_COUNT];   /* open addressing, power-of-two capacity */
    size_t nseen[K_COUNT], capseen[K_COUNT];
    uint64_t renders;
    /* the live view's consumer, while scrapers come (metrics_consume) */
    live_view *live;
    int64_t idle_ms;        /* no scrape for this long: unsubscribed */
    int handle;             /* -1: not subscribed */
    int64_t last_scrape_ms; /* monotonic */
    bool want[2], want_gz;  /* the formats and encoding scrapers asked for lately */
};

static const char *const gauge_names[K_COUNT][4] = {
    {PREFIX "_account_originated", PREFIX "_account_originated_unique_src",
     PREFIX "_account_originated_unique_dst", PREFIX "_account_price_originated"},
    {PREFIX "_account_terminated", PREFIX "_account_price_terminated", NULL, NULL},
    {PREFIX "_ca", PREFIX "_ca_price_originated", NULL, NULL},
};
static const char *const gauge_help[K_COUNT][4] = {
    {"total calls originated by account", "qty of unique src_routing_number originated by account",
     "qty of unique dst_routing_number originated by account",
     "total origination price for calls originated by account"},
    {"total calls terminated to account", "total termination price for calls originated by account", NULL,
     NULL},
    {"total calls originated by customer auth",
     "total origination price for calls originated by customer auth", NULL, NULL},
};
static const int ngauges[K_COUNT] = {4, 2, 2};

static void rendered_release(void *p)
{
    rendered *r = p;
    if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
        http_gzip_head_free(&r->gz);
        pthread_mutex_destroy(&r->gz_mu);
        free(r);
    }
}

metrics_state *metrics_state_new(live_view *live, int refresh_ms, const char *allow, const char *token_file,
                                 int keep_gone_s, char err[256])
{
    metrics_state *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, 256, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->render_mu, NULL);
    m->live = live;
    m->handle = -1;
    m->idle_ms = live_linger_ms(refresh_ms);
    m->keep_gone_ms = (int64_t)keep_gone_s * 1000;
    char cerr[160];
    if (cidr_list_parse(allow && *allow ? allow : "127.0.0.0/8,::1/128", &m->allow, cerr) != 0) {
        snprintf(err, 256, "--metrics-allow: %s", cerr);
        metrics_state_free(m);
        return NULL;
    }
    if (token_file) {
        FILE *f = fopen(token_file, "r");
        size_t n = f ? fread(m->token, 1, sizeof m->token - 1, f) : 0;
        if (f) fclose(f);
        while (n && (m->token[n - 1] == '\n' || m->token[n - 1] == '\r' || m->token[n - 1] == ' ')) n--;
        if (!f || n < 16) {
            snprintf(err, 256, "--metrics-token-file %s: %s", token_file,
                     f ? "the token must have 16 bytes or more" : "cannot be read");
            metrics_state_free(m);
            return NULL;
        }
        m->token_len = n;
    }
    return m;
}

void metrics_state_free(metrics_state *m)
{
    if (!m) return;
    if (m->handle >= 0) live_unsubscribe(m->live, m->handle);
    for (int k = 0; k < K_COUNT; k++) {
        for (size_t i = 0; i < m->capseen[k]; i++) free(m->seen[k][i].labels);
        free(m->seen[k]);
    }
    rendered_release(m->text[0]);
    rendered_release(m->text[1]);
    cidr_list_free(&m->allow);
    explicit_bzero(m->token, sizeof m->token);
    pthread_mutex_destroy(&m->mu);
    pthread_mutex_destroy(&m->render_mu);
    free(m);
}

/* ---- the memory of label sets ---------------------------------------------- */

/* Puts x in the free slot its hash probes to, in t (cap slots, a power of two). */
static void seen_put(seen *t, size_t cap, seen x)
{
    size_t j = (size_t)x.hash & (cap - 1);
    while (t[j].labels) j = (j + 1) & (cap - 1);
    t[j] = x;
}

/* Rebuilds kind k's table in cap slots, without the entries last seen
 * before `cutoff`; false (the table as it was) when memory ran out. */
static bool seen_rebuild(metrics_state *m, kind k, size_t cap, int64_t cutoff)
{
    seen *t = calloc(cap, sizeof *t);
    if (!t) return false;
    size_t n = 0;
    for (size_t i = 0; i < m->capseen[k]; i++) {
        seen *e = &m->seen[k][i];
        if (!e->labels) continue;
        if (e->last_ms < cutoff) {
            free(e->labels);
            continue;
        }
        seen_put(t, cap, *e);
        n++;
    }
    free(m->seen[k]);
    m->seen[k] = t;
    m->capseen[k] = cap;
    m->nseen[k] = n;
    return true;
}

/* Marks labels[0..n) seen now; false when memory ran out. */
static bool seen_mark(metrics_state *m, kind k, const char *labels, size_t n, int64_t now_ms)
{
    if ((m->nseen[k] + 1) * 2 > m->capseen[k] && /* keep it half empty */
        !seen_rebuild(m, k, m->capseen[k] ? m->capseen[k] * 2 : 256, INT64_MIN))
        return false;
    uint64_t h = XXH3_64bits(labels, n);
    size_t cap = m->capseen[k], j = (size_t)h & (cap - 1);
    seen *t = m->seen[k];
    while (t[j].labels && !(t[j].hash == h && t[j].len == n && memcmp(t[j].labels, labels, n) == 0))
        j = (j + 1) & (cap - 1);
    if (!t[j].labels) {
        if (!(t[j].labels = strndup(labels, n))) return false;
        t[j].len = n;
        t[j].hash = h;
        m->nseen[k]++;
    }
    t[j].last_ms = now_ms;
    t[j].mark = m->renders;
    return true;
}

/* Drops what was last seen before `cutoff`. */
static void seen_expire(metrics_state *m, kind k, int64_t cutoff)
{
    bool any = false;
    for (size_t i = 0; i < m->capseen[k] && !any; i++)
        any = m->seen[k][i].labels && m->seen[k][i].last_ms < cutoff;
    if (any) seen_rebuild(m, k, m->capseen[k], cutoff); /* out of memory: kept one more render */
}

/* ---- yeti's families from a snapshot ---------------------------------------- */

typedef struct ref {
    int64_t key;
    const callset *cs;
    const call_record *r;
} ref;

static int ref_cmp(const void *a, const void *b)
{
    int64_t x = ((const ref *)a)->key, y = ((const ref *)b)->key;
    return (x > y) - (x < y);
}

/* Sorts spans' texts to count the distinct ones. */
typedef struct text_ref {
    const char *p;
    size_t n;
} text_ref;

static int text_cmp(const void *a, const void *b)
{
    const text_ref *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static size_t distinct(const ref *g, size_t n, call_attr attr, text_ref *scratch)
{
    for (size_t i = 0; i < n; i++) {
        call_span s = g[i].r->attr[attr];
        scratch[i] = (text_ref){callset_text(g[i].cs, s), s.len};
    }
    qsort(scratch, n, sizeof *scratch, text_cmp);
    size_t d = 0;
    for (size_t i = 0; i < n; i++) d += i == 0 || text_cmp(&scratch[i - 1], &scratch[i]) != 0;
    return d;
}

/* A call's price for the family: yeti's formula, VAT on the customer's
 * side, reverse-billed calls counted negative. */
static double signed_price(const ref *c, bool vendor, int64_t ahead)
{
    double p = call_cost(c->cs, c->r, vendor, ahead);
    if (!vendor) p *= 1 + call_span_number(c->cs, c->r->extra[XF_CUSTOMER_ACC_VAT]) / 100;
    call_extra rb = vendor ? XF_DIALPEER_REVERSE_BILLING : XF_DESTINATION_REVERSE_BILLING;
    return call_span_true(c->cs, c->r->extra[rb]) ? -p : p;
}

/* The label set of a group, "{...}", into lb. */
static void group_labels(buf *lb, kind k, const ref *first)
{
    expo e = {lb, false};
    buf_reset(lb);
    buf_putc(lb, '{');
    buf tmp;
    buf_init(&tmp);
    const callset *cs = first->cs;
    const call_record *r = first->r;
    if (k == K_CA) {
        expo_label_i64(&e, "id", first->key);
        call_span_text(&tmp, cs, r->extra[XF_CUSTOMER_AUTH_EXTERNAL_ID]);
        expo_label(&e, "external_id", tmp.data ? tmp.data : "", tmp.len);
        buf_reset(&tmp);
        call_span_text(&tmp, cs, r->extra[XF_CUSTOMER_AUTH_EXTERNAL_TYPE]);
        expo_label(&e, "external_type", tmp.data ? tmp.data : "", tmp.len);
        buf_reset(&tmp);
    }
    call_extra ext = k == K_TERM_ACC ? XF_VENDOR_ACC_EXTERNAL_ID : XF_CUSTOMER_ACC_EXTERNAL_ID;
    call_span_text(&tmp, cs, r->extra[ext]);
    expo_label(&e, "account_external_id", tmp.data ? tmp.data : "", tmp.len);
    int64_t acc = k == K_CA ? r->rel_id[REL_CUSTOMER_ACC] : first->key;
    if (acc == CALL_ID_NONE)
        expo_label(&e, "account_id", "", 0);
    else
        expo_label_i64(&e, "account_id", acc);
    buf_putc(lb, '}');
    buf_free(&tmp);
}

/* The yeti families and the per-node ones of snapshot s, into out. */
static bool render_snapshot(metrics_state *m, const live_snap *s, buf *out, bool om)
{
    expo e = {out, om};
    size_t total = 0, ok_calls = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->results[i].status == NODE_OK) ok_calls += s->results[i].calls.n;
    ref *refs = malloc((ok_calls ? ok_calls : 1) * sizeof *refs);
    text_ref *scratch = malloc((ok_calls ? ok_calls : 1) * sizeof *scratch);
    buf lb;
    buf_init(&lb);
    bool ok = refs && scratch;

    expo_family(&e, PREFIX, "gauge", "total active calls by all accounts");
    for (size_t i = 0; i < s->n; i++)
        if (s->results[i].status == NODE_OK) total += s->results[i].calls.n;
    expo_sample_begin(&e, PREFIX, NULL);
    expo_sample_end_i64(&e, (int64_t)total);

    m->renders++;
    for (int k = 0; ok && k < K_COUNT; k++) {
        size_t n = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (s->results[i].status != NODE_OK) continue;
            const callset *cs = &s->results[i].calls;
            for (size_t j = 0; j < cs->n; j++) {
                const call_record *r = &cs->recs[j];
                int64_t key = r->rel_id[k == K_ORIG_ACC       ? REL_CUSTOMER_ACC
                                            : k == K_TERM_ACC ? REL_VENDOR_ACC
                                                              : REL_CUSTOMER_AUTH];
                if (key != CALL_ID_NONE) refs[n++] = (ref){key, cs, r};
            }
        }
        qsort(refs, n, sizeof *refs, ref_cmp);
        buf lines[4];
        for (int g = 0; g < 4; g++) buf_init(&lines[g]);
        for (size_t a = 0, b; a < n; a = b) {
            for (b = a + 1; b < n && refs[b].key == refs[a].key; b++) continue;
            group_labels(&lb, k, &refs[a]);
            ok = ok && !lb.oom && seen_mark(m, k, lb.data, lb.len, s->wall_ms);
            double price = 0;
            bool vendor = k == K_TERM_ACC;
            for (size_t c = a; c < b; c++) price += signed_price(&refs[c], vendor, k == K_CA ? 0 : AHEAD_S);
            double v[4] = {(double)(b - a), price, 0, 0};
            if (k == K_ORIG_ACC) {
                v[1] = (double)distinct(refs + a, b - a, ATTR_SRC_PREFIX_ROUTING, scratch);
                v[2] = (double)distinct(refs + a, b - a, ATTR_DST_PREFIX_ROUTING, scratch);
                v[3] = price;
            }
            for (int g = 0; g < ngauges[k]; g++) {
                expo le = {&lines[g], false};
                expo_sample_raw(&le, gauge_names[k][g], lb.data, lb.len, v[g]);
            }
        }
        /* label sets seen before and gone now: 0 while they are remembered */
        seen_expire(m, k, s->wall_ms - m->keep_gone_ms);
        for (size_t i = 0; i < m->capseen[k]; i++) {
            const seen *x = &m->seen[k][i];
            if (!x->labels || x->mark == m->renders) continue;
            for (int g = 0; g < ngauges[k]; g++) {
                expo le = {&lines[g], false};
                expo_sample_raw(&le, gauge_names[k][g], x->labels, x->len, 0);
            }
        }
        for (int g = 0; g < ngauges[k]; g++) {
            expo_family(&e, gauge_names[k][g], "gauge", gauge_help[k][g]);
            buf_append(out, lines[g].data, lines[g].len);
            ok = ok && !lines[g].oom;
            buf_free(&lines[g]);
        }
    }

    expo_family(&e, "activecalls_node_up", "gauge", "1 when the node answered the snapshot's round, else 0.");
    for (size_t i = 0; i < s->n; i++) {
        expo_sample_begin(&e, "activecalls_node_up", NULL);
        expo_label_i64(&e, "node_id", s->targets[i].id);
        expo_label(&e, "node_name", s->targets[i].name, strlen(s->targets[i].name));
        expo_label_i64(&e, "pop_id", s->pop_ids[i]);
        expo_sample_end_i64(&e, s->results[i].status == NODE_OK);
    }
    expo_family(&e, "activecalls_node_calls", "gauge", "Active calls of a node that answered.");
    for (size_t i = 0; i < s->n; i++) {
        if (s->results[i].status != NODE_OK) continue;
        expo_sample_begin(&e, "activecalls_node_calls", NULL);
        expo_label_i64(&e, "node_id", s->targets[i].id);
        expo_label(&e, "node_name", s->targets[i].name, strlen(s->targets[i].name));
        expo_label_i64(&e, "pop_id", s->pop_ids[i]);
        expo_sample_end_i64(&e, (int64_t)s->results[i].calls.n);
    }
    buf_free(&lb);
    free(refs);
    free(scratch);
    return ok && !out->oom;
}

/* The rendered text of snapshot s in format om, shared (a reference). */
/* The kept text of snapshot s in format om (a reference), or NULL. */
static rendered *kept_text(metrics_state *m, const live_snap *s, bool om)
{
    pthread_mutex_lock(&m->mu);
    rendered *r = m->text[om];
    if (r && m->seq[om] == s->seq)
        atomic_fetch_add(&r->refs, 1);
    else
        r = NULL;
    pthread_mutex_unlock(&m->mu);
    return r;
}

/* The rendered text of snapshot s in format om, shared (a reference).
 * Renders run one at a time under render_mu (the memory of label sets is
 * theirs), outside mu, so that scrapes of the kept text never wait. */
static rendered *snapshot_text(metrics_state *m, const live_snap *s, bool om)
{
    rendered *r = kept_text(m, s, om);
    if (r) return r;
    pthread_mutex_lock(&m->render_mu);
    if ((r = kept_text(m, s, om))) { /* rendered meanwhile */
        pthread_mutex_unlock(&m->render_mu);
        return r;
    }
    buf out;
    buf_init(&out);
    if (render_snapshot(m, s, &out, om) && (r = malloc(sizeof *r + out.len))) {
        atomic_init(&r->refs, 1);
        pthread_mutex_init(&r->gz_mu, NULL);
        memset(&r->gz, 0, sizeof r->gz);
        r->len = out.len;
        memcpy(r->bytes, out.data, out.len);
        pthread_mutex_lock(&m->mu);
        if (s->seq >= m->seq[om]) { /* never replaced by an older snapshot's */
            rendered_release(m->text[om]);
            m->text[om] = r;
            m->seq[om] = s->seq;
            m->started_ms[om] = s->started_ms;
            atomic_fetch_add(&r->refs, 1);
        }
        pthread_mutex_unlock(&m->mu);
    }
    buf_free(&out);
    pthread_mutex_unlock(&m->render_mu);
    return r;
}

static bool gz_ready(rendered *r)
{
    pthread_mutex_lock(&r->gz_mu);
    bool yes = r->gz.data != NULL;
    pthread_mutex_unlock(&r->gz_mu);
    return yes;
}

/* The head of r's gzip body, made once; NULL when zlib failed. */
static const http_gzip_head *rendered_gz(rendered *r)
{
    pthread_mutex_lock(&r->gz_mu);
    if (!r->gz.data) http_gzip_head_make(&r->gz, r->bytes, r->len);
    pthread_mutex_unlock(&r->gz_mu);
    return r->gz.data ? &r->gz : NULL;
}

/* The live view's consumer while scrapers come: each new snapshot is
 * rendered here, in the formats they asked for, so that a scrape finds
 * it ready; after idle_ms without a scrape it unsubscribes, and nothing
 * is polled for the metrics any more. */
static void metrics_consume(void *arg, const live_snap *snap)
{
    metrics_state *m = arg;
    pthread_mutex_lock(&m->mu);
    bool idle = clock_now_ms() - m->last_scrape_ms > m->idle_ms;
    int h = m->handle;
    bool want[2] = {m->want[0], m->want[1]}, gz = m->want_gz;
    if (idle) m->handle = -1;
    pthread_mutex_unlock(&m->mu);
    if (idle) {
        live_unsubscribe(m->live, h); /* from the consumer itself: allowed */
        return;
    }
    for (int om = 0; om < 2; om++) {
        if (!want[om]) continue;
        rendered *r = snapshot_text(m, snap, om);
        if (r && gz) rendered_gz(r);
        rendered_release(r);
    }
}

/* Notes a scrape (format, encoding) and subscribes when not yet. */
static void note_scrape(metrics_state *m, bool om, bool gz)
{
    pthread_mutex_lock(&m->mu);
    m->last_scrape_ms = clock_now_ms();
    m->want[om] = true;
    m->want_gz |= gz;
    bool subscribe = m->handle < 0;
    if (subscribe) m->handle = -2; /* being subscribed */
    pthread_mutex_unlock(&m->mu);
    if (!subscribe) return;
    int h = live_subscribe(m->live, metrics_consume, m); /* outside m->mu: the consumer takes it */
    pthread_mutex_lock(&m->mu);
    m->handle = h; /* -1 on failure: the next scrape tries again */
    pthread_mutex_unlock(&m->mu);
}

/* ---- the process ---------------------------------------------------------------- */

static void process_families(expo *e)
{
    long page = sysconf(_SC_PAGESIZE);
    long rss = 0, threads = 0;
    unsigned long long ut = 0, st = 0, start = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        long size;
        if (fscanf(f, "%ld %ld", &size, &rss) != 2) rss = 0;
        fclose(f);
    }
    f = fopen("/proc/self/stat", "r");
    if (f) {
        char line[1024];
        const char *p = fgets(line, sizeof line, f) ? strrchr(line, ')') : NULL;
        /* after ") ": state(3) ... utime(14) stime(15) ... num_threads(20) ... starttime(22) */
        if (!p ||
            sscanf(p + 2,
                   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %ld %*d %llu", &ut,
                   &st, &threads, &start) != 4)
            threads = 0;
        fclose(f);
    }
    size_t fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        for (struct dirent *de; (de = readdir(d));) fds += de->d_name[0] != '.';
        closedir(d);
        fds--; /* the directory's own */
    }
    long hz = sysconf(_SC_CLK_TCK);
    expo_family(e, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    expo_sample_begin(e, "process_resident_memory_bytes", NULL);
    expo_sample_end_i64(e, (int64_t)rss * page);
    expo_family(e, "process_open_fds", "gauge", "Number of open file descriptors.");
    expo_sample_begin(e, "process_open_fds", NULL);
    expo_sample_end_i64(e, (int64_t)fds);
    expo_family(e, "process_threads", "gauge", "Number of OS threads in the process.");
    expo_sample_begin(e, "process_threads", NULL);
    expo_sample_end_i64(e, threads);
    expo_family(e, "process_cpu_seconds", "counter", "Total user and system CPU time spent in seconds.");
    expo_sample_begin(e, "process_cpu_seconds", "_total");
    expo_sample_end(e, hz > 0 ? (double)(ut + st) / (double)hz : 0);
}

/* ---- the request ---------------------------------------------------------------- */

typedef struct scrape {
    app *a;
    const http_request *req;
    http_response *res;
    node_snapshot *nodes;
    live_snap *snap;
    bool om, gz;
} scrape;

static void scrape_write(void *arg);

static void scrape_ready(void *arg, live_snap *snap)
{
    scrape *sc = arg;
    sc->snap = snap;
    http_continue(sc->req, scrape_write, sc);
}

/* The answer from r (a reference, handed to res) of a snapshot whose
 * round started at started_ms: its text, then what changes from one
 * scrape to the next; gzip'd when gz. */
/* The event streams' own (api/event_stream.c). */
static void stream_families(expo *e, event_hub *hub)
{
    event_hub_stats st = event_hub_get_stats(hub);
    expo_family(e, "activecalls_event_streams", "gauge", "Event streams open.");
    expo_sample_begin(e, "activecalls_event_streams", NULL);
    expo_sample_end_i64(e, (int64_t)st.streams);
    expo_family(e, "activecalls_events", "counter", "Call and node events made from the live view's rounds.");
    expo_sample_begin(e, "activecalls_events", "_total");
    expo_sample_end_i64(e, (int64_t)st.events);
    expo_family(e, "activecalls_event_stream_overflows", "counter",
                "Event streams closed because their client fell behind.");
    expo_sample_begin(e, "activecalls_event_stream_overflows", "_total");
    expo_sample_end_i64(e, (int64_t)st.overflows);
    expo_family(e, "activecalls_event_stream_expired", "counter",
                "Event streams closed because their token expired.");
    expo_sample_begin(e, "activecalls_event_stream_expired", "_total");
    expo_sample_end_i64(e, (int64_t)st.expired);
}

/* The calls monitor's (monitor/monitor.h), when it runs. */
static void monitor_families(expo *e, monitor *m)
{
    if (!m) return;
    monitor_stats st = monitor_get_stats(m);
    expo_family(e, "activecalls_monitor_runs", "counter", "Calls monitor runs.");
    expo_sample_begin(e, "activecalls_monitor_runs", "_total");
    expo_sample_end_i64(e, (int64_t)st.runs);
    expo_family(e, "activecalls_monitor_decisions", "counter",
                "Calls monitor decisions, by rule and outcome.");
    for (int r = 0; r < MR_COUNT; r++)
        for (int o = 0; o < MO_COUNT; o++) {
            if (!st.decisions[r][o]) continue;
            expo_sample_begin(e, "activecalls_monitor_decisions", "_total");
            expo_label(e, "rule", monitor_rule_names[r], strlen(monitor_rule_names[r]));
            expo_label(e, "outcome", monitor_outcome_names[o], strlen(monitor_outcome_names[o]));
            expo_sample_end_i64(e, (int64_t)st.decisions[r][o]);
        }
    expo_family(
        e, "activecalls_monitor_cap_exceeded", "counter",
        "Calls monitor runs that would have dropped more than --monitor-max-drops (and dropped none).");
    expo_sample_begin(e, "activecalls_monitor_cap_exceeded", "_total");
    expo_sample_end_i64(e, (int64_t)st.cap_exceeded);
    expo_family(e, "activecalls_monitor_accounts_below_min", "gauge",
                "Accounts projected below their minimum balance at the last monitor run.");
    expo_sample_begin(e, "activecalls_monitor_accounts_below_min", NULL);
    expo_sample_end_i64(e, (int64_t)st.below_min);
}

static void answer(rendered *r, int64_t started_ms, bool om, bool gz, const app *a, http_response *res)
{
    buf tail;
    buf_init(&tail);
    expo e = {&tail, om};
    expo_family(&e, "activecalls_snapshot_age_seconds", "gauge",
                "Age of the snapshot these figures come from.");
    expo_sample_begin(&e, "activecalls_snapshot_age_seconds", NULL);
    expo_sample_end(&e, (double)(clock_now_ms() - started_ms) / 1000.0);
    process_families(&e);
    counters_write(&e);
    stream_families(&e, a->events);
    monitor_families(&e, a->monitor);
    expo_finish(&e);
    http_response_clear_body(res);
    /* gzip: the snapshot's half, kept, then the tail's (http/compress.h) */
    const http_gzip_head *head = gz ? rendered_gz(r) : NULL;
    size_t zlen = 0;
    char *ztail = head ? http_gzip_tail(head, tail.data ? tail.data : "", tail.len, &zlen) : NULL;
    if (ztail) {
        http_response_share(res, head->data, head->len, rendered_release, r);
        buf_append(&res->body, ztail, zlen);
        res->gzipped = true;
        free(ztail);
    } else {
        http_response_share(res, r->bytes, r->len, rendered_release, r);
        buf_append(&res->body, tail.data, tail.len);
    }
    buf_free(&tail);
    res->status = 200;
    res->content_type = om ? EXPO_OPENMETRICS_TYPE : EXPO_TEXT_TYPE;
}

/* After a wait for a snapshot: render it (on a worker when it is not
 * kept yet) and answer. */
static void scrape_write(void *arg)
{
    scrape *sc = arg;
    http_response *res = sc->res;
    live_snap *snap = sc->snap;
    rendered *r = snap ? kept_text(sc->a->metrics, snap, sc->om) : NULL;
    if (snap && !r && http_to_worker(sc->req)) return; /* a render: not on the loop */
    if (snap && !r) r = snapshot_text(sc->a->metrics, snap, sc->om);
    if (!snap)
        http_error(res, 503, "Service unavailable", "No snapshot of the nodes could be taken.");
    else if (!r)
        http_error(res, 500, "Internal server error", "Out of memory.");
    else
        answer(r, snap->started_ms, sc->om, sc->gz, sc->a, res);
    if (snap) live_release(snap);
    registry_release(sc->a->reg, sc->nodes);
    free(sc);
}

/* The text kept for format om when its snapshot is no older than
 * max_age_ms (a reference, and *started_ms), else NULL. */
static rendered *young_text(metrics_state *m, bool om, int64_t max_age_ms, int64_t *started_ms)
{
    pthread_mutex_lock(&m->mu);
    rendered *r = m->text[om];
    if (r && clock_now_ms() - m->started_ms[om] <= max_age_ms) {
        atomic_fetch_add(&r->refs, 1);
        *started_ms = m->started_ms[om];
    } else {
        r = NULL;
    }
    pthread_mutex_unlock(&m->mu);
    return r;
}

/* Whether the request may read the metrics; else res holds the refusal. */
static bool allowed(app *a, const http_request *req, http_response *res)
{
    metrics_state *m = a->metrics;
    const char *auth = req->authorization;
    if (m->token_len && auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        const char *t = auth + 7;
        if (strlen(t) == m->token_len && CRYPTO_memcmp(t, m->token, m->token_len) == 0) return true;
        http_error(res, 401, "Unauthorized", "The metrics token is not valid.");
        return false;
    }
    struct sockaddr_storage client;
    cidr_client_address((const struct sockaddr *)&req->peer, req->forwarded_for, &a->trusted, &client);
    if (cidr_list_contains(&m->allow, (const struct sockaddr *)&client)) return true;
    http_error(res, 403, "Forbidden",
               m->token_len ? "This address may not read the metrics without the metrics token."
                            : "This address may not read the metrics (--metrics-allow).");
    return false;
}

void api_metrics(app *a, const http_request *req, http_response *res)
{
    if (!allowed(a, req, res)) return;
    bool om = expo_wants_openmetrics(req->accept), gz = http_accepts_gzip(req->accept_encoding);
    note_scrape(a->metrics, om, gz);
    /* while scrapers come, the consumer renders every snapshot as it is
     * made: the latest text is then at most a period and a round old, and
     * served at once */
    int64_t started_ms;
    rendered *r = young_text(a->metrics, om, 2LL * a->cfg.refresh_ms, &started_ms);
    if (r && gz && !gz_ready(r)) { /* deflating the text is a worker's work */
        rendered_release(r);
        if (http_to_worker(req)) return;
        r = young_text(a->metrics, om, 2LL * a->cfg.refresh_ms, &started_ms);
    }
    if (r) {
        answer(r, started_ms, om, gz, a, res);
        return;
    }
    char err[STORE_ERR_LEN] = "";
    bool moved;
    node_snapshot *nodes = registry_for_request(a->reg, req, &moved, err);
    if (moved) return;
    if (!nodes) {
        http_error(res, 503, "Store unavailable", err);
        return;
    }
    scrape *sc = calloc(1, sizeof *sc);
    if (!sc) {
        registry_release(a->reg, nodes);
        http_error(res, 500, "Internal server error", "Out of memory.");
        return;
    }
    *sc = (scrape){.a = a, .req = req, .res = res, .nodes = nodes, .om = om, .gz = gz};
    http_defer(req); /* a round, when the metrics were idle */
    live_nodes ln = {nodes->n, nodes->targets, nodes->pop_ids};
    live_snap *snap = live_get(a->live, 2LL * a->cfg.refresh_ms, &ln, scrape_ready, sc);
    if (snap) scrape_ready(sc, snap);
}
