/* samples: the charts of the active-call history (samples.h).
 *
 * One store query per request (store_history_read): the subjects' rows in
 * the range, grouped per subject and bucket in SQL (bucket 1: every sample
 * alone), or, without a subject filter, the nodes' total per slot. The
 * document is written from the points as they come: a resource per point,
 * `count` the bucket's largest sample (with a bucket, also `count-avg`
 * and `samples`), and the subject as a relationship. */
#include "api/samples.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/app_internal.h"
#include "api/snapcache.h"
#include "jsonapi/query.h"
#include "util/decimal.h"
#include "util/log.h"
#include "util/timefmt.h"

#define ECHO_MAX 100
#define SAMPLES_TYPE "active-call-samples"

/* ---- parameters ---- */

/* The subjects' filters and what their resources link to. */
static const struct {
    const char *filter, *rel, *type, *id_prefix;
} subjects[STORE_HIST_KINDS] = {
    [STORE_HIST_NODES] = {"node-id-eq", "node", "nodes", "node"},
    [STORE_HIST_ACCOUNTS] = {"account-id-eq", "account", "accounts", "account"},
    [STORE_HIST_ORIG_GW] = {"orig-gw-id-eq", "orig-gw", "gateways", "orig-gw"},
    [STORE_HIST_TERM_GW] = {"term-gw-id-eq", "term-gw", "gateways", "term-gw"},
};

static void bad(jsonapi_errors *errs, const char *title, const char *value, const char *name, const char *why)
{
    size_t n = strlen(value);
    jerr_add(errs, 400, "103", title, "%.*s%s is not a valid value for %s%s.",
             (int)(n > ECHO_MAX ? ECHO_MAX : n), value, n > ECHO_MAX ? "..." : "", name, why);
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* n digits at *p as a number, moving *p; -1 when they are not digits. */
static int64_t digits(const char **p, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9') return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

bool samples_time_parse(const char *s, bool ceil, int64_t *out)
{
    const char *p = s;
    int64_t y = digits(&p, 4), mo, d, h = 0, mi = 0, se = 0, off = 0;
    bool frac = false;
    if (y < 1970 || *p++ != '-' || (mo = digits(&p, 2)) < 1 || mo > 12 || *p++ != '-' ||
        (d = digits(&p, 2)) < 1)
        return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap)) return false;
    if (*p) {
        if (*p != 'T' && *p != 't' && *p != ' ') return false;
        p++;
        if ((h = digits(&p, 2)) < 0 || h > 23 || *p++ != ':' || (mi = digits(&p, 2)) < 0 || mi > 59 ||
            *p++ != ':' || (se = digits(&p, 2)) < 0 || se > 59)
            return false;
        if (*p == '.') {
            const char *f = ++p;
            while (*p >= '0' && *p <= '9') frac |= *p++ != '0';
            if (p == f || p - f > 9) return false;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '+' ? 1 : -1;
            int64_t oh, om;
            if ((oh = digits(&p, 2)) < 0 || oh > 23 || *p++ != ':' || (om = digits(&p, 2)) < 0 || om > 59)
                return false;
            off = sign * (oh * 3600 + om * 60);
        } else {
            return false;
        }
        if (*p) return false;
    }
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off + (ceil && frac);
    if (t < 0 || t > SAMPLES_TIME_MAX) return false;
    *out = t;
    return true;
}

/* A comma list of ids into q; false on a bad or a (SAMPLES_MAX_IDS + 1)th item. */
static bool ids_parse(const char *value, samples_query *q)
{
    const char *next = value, *item;
    size_t len;
    q->nids = 0;
    while (query_list_next(&next, &item, &len)) {
        int64_t id;
        if (q->nids == SAMPLES_MAX_IDS || !decimal_positive_i64(item, len, &id)) return false;
        q->ids[q->nids++] = id;
    }
    return q->nids > 0;
}

/* One filter[...]: its name dashed into name. */
static void filter_parse(const char *key, const char *value, samples_query *q, int *subject, bool times[2],
                         jsonapi_errors *errs)
{
    const char *inner = key + strlen("filter[");
    size_t len = strlen(inner);
    char name[64];
    if (len < 2 || inner[len - 1] != ']' || !query_name_dashed(inner, len - 1, name, sizeof name)) {
        query_param_not_allowed(errs, key);
        return;
    }
    for (int k = 0; k < STORE_HIST_KINDS; k++) {
        if (strcmp(name, subjects[k].filter) != 0) continue;
        if (*subject >= 0 && *subject != k) {
            jerr_add(errs, 400, "103", "Invalid filter value",
                     "filter[%s] and filter[%s] exclude each other: one kind of subject at a time.",
                     subjects[*subject].filter, subjects[k].filter);
            return;
        }
        *subject = k;
        if (!ids_parse(value, q)) bad(errs, "Invalid filter value", value, name, " (1 to 100 ids)");
        return;
    }
    for (int i = 0; i < 2; i++) {
        if (strcmp(name, i ? "created-at-lteq" : "created-at-gteq") != 0) continue;
        int64_t *t = i ? &q->to_s : &q->from_s;
        if (!samples_time_parse(value, i == 0, t))
            bad(errs, "Invalid filter value", value, name, " (an RFC 3339 time or a date)");
        times[i] = true;
        return;
    }
    size_t n = strlen(name);
    jerr_add(errs, 400, "102", "Filter not allowed", "%.*s%s is not allowed.",
             (int)(n > ECHO_MAX ? ECHO_MAX : n), name, n > ECHO_MAX ? "..." : "");
}

int samples_params_parse(const query_param *params, size_t n, int64_t now_s, samples_query *q,
                         jsonapi_errors *errs)
{
    int before = errs->n, subject = -1;
    bool times[2] = {false, false};
    int64_t hours = 0;
    memset(q, 0, sizeof *q);
    q->bucket_s = 1;
    q->to_s = now_s;
    for (size_t i = 0; i < n; i++) {
        const char *key = params[i].key, *value = params[i].value;
        int64_t v;
        switch (query_key_of(key)) {
        case QUERY_KEY_FILTER: filter_parse(key, value, q, &subject, times, errs); break;
        case QUERY_KEY_HOURS:
            if (!decimal_positive_i64(value, strlen(value), &v) || v > SAMPLES_MAX_HOURS)
                bad(errs, "Invalid field value", value, "hours", " (1 to 744)");
            else
                hours = v;
            break;
        case QUERY_KEY_BUCKET:
            if (!decimal_positive_i64(value, strlen(value), &v) || (v != 60 && v != 300 && v != 3600))
                bad(errs, "Invalid field value", value, "bucket", " (60, 300 or 3600)");
            else
                q->bucket_s = v;
            break;
        case QUERY_KEY_TOKEN: break; /* the guard's */
        default: query_param_not_allowed(errs, key); break;
        }
    }
    if (hours && times[0])
        jerr_add(errs, 400, "103", "Invalid field value",
                 "hours and filter[created-at-gteq] exclude each other.");
    if (!times[0]) q->from_s = now_s - (hours ? hours : SAMPLES_DEFAULT_HOURS) * 3600;
    if (q->from_s < 0) q->from_s = 0;
    if (times[0] && times[1] && q->from_s > q->to_s)
        jerr_add(errs, 400, "103", "Invalid filter value",
                 "filter[created-at-gteq] is after filter[created-at-lteq].");
    q->total = subject < 0;
    q->kind = subject < 0 ? STORE_HIST_NODES : (store_hist_kind)subject;
    q->to_given = times[1];
    return errs->n - before;
}

/* ---- the document ---- */

static void put_time(buf *b, int64_t t)
{
    char iso[TIMEFMT_ISO_LEN];
    timefmt_iso_utc(t, iso);
    buf_putc(b, '"');
    buf_append(b, iso, sizeof iso);
    buf_putc(b, '"');
}

/* ",\"<name>\":<max>[,\"<name>-avg\":<sum/samples>]" */
static void put_count(buf *b, const char *name, int64_t max, int64_t sum, int64_t samples, bool bucket)
{
    buf_puts(b, ",\"");
    buf_puts(b, name);
    buf_puts(b, "\":");
    buf_put_i64(b, max);
    if (bucket) buf_printf(b, ",\"%s-avg\":%.2f", name, samples ? (double)sum / (double)samples : 0.0);
}

static void put_point(buf *b, const samples_query *q, const store_hist_point *p)
{
    bool bucket = q->bucket_s > 1;
    buf_puts(b, "{\"type\":\"" SAMPLES_TYPE "\",\"id\":\"");
    buf_puts(b, q->total ? "total" : subjects[q->kind].id_prefix);
    buf_putc(b, '-');
    if (!q->total) {
        buf_put_i64(b, p->subject);
        buf_putc(b, '-');
    }
    buf_put_i64(b, p->at_s);
    buf_puts(b, "\",\"attributes\":{\"created-at\":");
    put_time(b, p->at_s);
    if (!q->total && q->kind == STORE_HIST_ACCOUNTS) {
        put_count(b, "originated-count", p->max, p->sum, p->samples, bucket);
        put_count(b, "terminated-count", p->max2, p->sum2, p->samples, bucket);
    } else {
        put_count(b, "count", p->max, p->sum, p->samples, bucket);
    }
    if (bucket) {
        buf_puts(b, ",\"samples\":");
        buf_put_i64(b, p->samples);
    }
    buf_putc(b, '}');
    if (!q->total) {
        buf_puts(b, ",\"relationships\":{\"");
        buf_puts(b, subjects[q->kind].rel);
        buf_puts(b, "\":{\"data\":{\"type\":\"");
        buf_puts(b, subjects[q->kind].type);
        buf_puts(b, "\",\"id\":\"");
        buf_put_i64(b, p->subject);
        buf_puts(b, "\"}}}");
    }
    buf_putc(b, '}');
}

static void write_document(buf *b, const samples_query *q, const store_hist_point *pts, size_t n)
{
    buf_puts(b, "{\"data\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) buf_putc(b, ',');
        put_point(b, q, &pts[i]);
    }
    buf_printf(b, "],\"meta\":{\"subject\":\"%s\",\"from\":", q->total ? "total" : subjects[q->kind].rel);
    put_time(b, q->from_s);
    buf_puts(b, ",\"to\":");
    put_time(b, q->to_s);
    buf_printf(b, ",\"bucket\":%lld,\"total-count\":%zu}}", (long long)q->bucket_s, n);
}

/* Relative ranges (no created-at-lteq: they end now) are aligned to the
 * samples' grid (slot k at k * interval seconds, history/history.h): from
 * the first slot at or after the start to the last slot begun. Such a
 * chart then changes only when a slot is written, and the one of the
 * newest slot is kept (charts_cache), once that slot is SETTLE_S old (its
 * writer has had time to write it), until the next slot begins. Returns
 * the slot number to keep the chart under, or -1 when it is not to be kept. */
#define SETTLE_S 5

static int64_t align(const app *a, samples_query *q, bool relative, int64_t now_s)
{
    if (!relative) return -1;
    int64_t grid = a->cfg.history_interval_s > 0 ? a->cfg.history_interval_s : 60;
    int64_t slot = now_s / grid;
    q->to_s = slot * grid;
    q->from_s = (q->from_s + grid - 1) / grid * grid;
    return now_s - q->to_s >= SETTLE_S ? slot : -1;
}

void api_call_samples(app *a, const http_request *req, http_response *res)
{
    jsonapi_errors errs;
    jerr_init(&errs);
    samples_query q;
    int64_t now_s = (int64_t)time(NULL);
    if (samples_params_parse(req->params, req->nparams, now_s, &q, &errs) != 0) {
        res->status = errs.status;
        jerr_document(&errs, &res->body);
        jerr_free(&errs);
        return;
    }
    jerr_free(&errs);
    int64_t keep = align(a, &q, !q.to_given, now_s);
    buf key;
    buf_init(&key);
    if (keep >= 0) {
        snapcache_key(&key, req, "", 0);
        if (snapcache_get(a->charts_cache, (uint64_t)keep, &key, res)) { /* kept: no store query */
            buf_free(&key);
            return;
        }
    }
    if (http_to_worker(req)) { /* a store query */
        buf_free(&key);
        return;
    }
    store_hist_query sq = {q.kind,   q.total, q.ids,      q.nids,
                           q.from_s, q.to_s,  q.bucket_s, SAMPLES_MAX_POINTS + 1};
    store_hist_point *pts = NULL;
    size_t n = 0;
    char err[STORE_ERR_LEN];
    store *st = a->cfg.history_store ? a->cfg.history_store : a->st;
    if (store_history_read(st, &sq, &pts, &n, err) != STORE_OK) {
        http_error(res, 503, "Store unavailable", "The history cannot be read right now.");
        log_msg(LOG_ERROR, "history read failed: %s", err);
    } else if (n > SAMPLES_MAX_POINTS) {
        char detail[200];
        snprintf(detail, sizeof detail,
                 "Over %d samples match: give a larger bucket, a shorter range or fewer ids.",
                 SAMPLES_MAX_POINTS);
        http_error(res, 400, "Invalid field value", detail);
    } else {
        write_document(&res->body, &q, pts, n);
        res->status = res->body.oom ? 500 : 200;
        if (res->body.oom)
            http_error(res, 500, "Internal server error", "Out of memory writing the document.");
        else if (keep >= 0)
            snapcache_put(a->charts_cache, (uint64_t)keep, &key, res);
    }
    free(pts);
    buf_free(&key);
}
