/* event_stream: GET /api/rest/admin/active-call-events, the live view's
 * call events over Server-Sent Events (docs/API.md, "The event stream").
 *
 * Design. The hub is one consumer of the live view (live/live.h) while
 * streams are open: each round it feeds the event engine (live/events.h)
 * and wakes every stream. Nothing is pushed per subscriber: a stream is a
 * cursor (the last event id it was given) and a view (its filters, shared
 * by every stream with the same ones). When woken, on its connection's
 * loop, it reads the events after its cursor and puts each one's frame,
 * rendered once per field set and base URL and shared, by reference
 * (http_stream_put); the batch that keeps them alive is released when the
 * last of them is sent. So a thousand streams cost one node round per
 * refresh, one render per event and field set, and a pointer per event
 * and stream, on the HTTP loops, without a thread of their own.
 *
 * Bounds. What a stream has put and its client has not taken is its queue
 * (http_stream_pending). When new events come while that is above
 * --stream-queue-bytes, the stream gets `overflow` and is closed: its
 * client resumes with Last-Event-ID (the ring may still hold what it
 * missed) instead of holding memory. A stream's token is checked on every
 * pull (the server pulls each stream once a second): once it expires the
 * stream gets `unauthorized` and is closed. A stream that put nothing for
 * HEARTBEAT_MS gets a comment, so proxies keep it open.
 *
 * Resume. Last-Event-ID is a cursor: events after it, when the ring still
 * has them all (events_read), else a `reset` with the stream's current set
 * and its id, as a stream without Last-Event-ID starts. A stream's first
 * pull waits for the hub's first round, so a reset is never of a state
 * older than the stream. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/app_internal.h"
#include "http/negotiate.h"
#include "live/events.h"
#include "util/clock.h"
#include "util/decimal.h"
#include "util/dlist.h"
#include "util/log.h"

#define HEARTBEAT_MS 15000
#define BASE_MAX 300

struct event_hub {
    live_view *live;
    events *ev;
    size_t queue_bytes; /* a stream's queue above this when events come: overflow */
    int64_t linger_ms;  /* subscribed this long after the last stream */
    atomic_bool fed;    /* a round was fed since the hub subscribed */
    pthread_mutex_t mu; /* the streams, the subscription */
    dlist subs;
    size_t nsubs;
    int handle; /* the live view's subscription: -1 none, -2 being made */
    int64_t idle_since_ms;
    atomic_uint_fast64_t overflows, expired;
};

typedef struct subscriber {
    event_hub *hub;
    http_stream *st;
    ev_view *view; /* NULL: no filters */
    uint64_t fields;
    doc_base base;
    char base_url[BASE_MAX];
    uint64_t after;  /* the last event id put */
    bool started;    /* its first events (or reset) were put */
    bool resume;     /* Last-Event-ID was given: start after it */
    int64_t until_s; /* the token's expiry (unix seconds) */
    int64_t last_put_ms, opened_ms;
    uint64_t events, bytes;
    uint64_t reset_end; /* bytes put up to the end of the last reset */
    const char *end;    /* why it ended, for the log: NULL while it lasts */
    dlink link;
    char client[64];
    char request_id[201];
} subscriber;

event_hub *event_hub_new(live_view *live, const event_hub_config *cfg, char err[256])
{
    event_hub *h = calloc(1, sizeof *h);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* ids go on growing across restarts: one from before is never taken
     * for one of now (it is older than the ring: a reset) */
    events_config ec = {
        .ring_events = cfg->ring_events,
        .ring_age_ms = (int64_t)cfg->ring_age_s * 1000,
        .first_id = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u,
        .hold_snapshots = true,
    };
    if (!h || !(h->ev = events_new(&ec))) {
        snprintf(err, 256, "out of memory");
        free(h);
        return NULL;
    }
    h->live = live;
    h->queue_bytes = cfg->queue_bytes;
    h->linger_ms = live_linger_ms(cfg->refresh_ms);
    h->handle = -1;
    pthread_mutex_init(&h->mu, NULL);
    return h;
}

void event_hub_free(event_hub *h)
{
    if (!h) return;
    assert(h->nsubs == 0); /* the server stopped first: every stream closed */
    if (h->handle >= 0) live_unsubscribe(h->live, h->handle);
    events_free(h->ev);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

event_hub_stats event_hub_get_stats(event_hub *h)
{
    pthread_mutex_lock(&h->mu);
    event_hub_stats s = {h->nsubs, atomic_load(&h->overflows), atomic_load(&h->expired), 0, 0};
    pthread_mutex_unlock(&h->mu);
    events_stats es = events_get_stats(h->ev);
    s.events = es.events;
    s.renders = es.renders;
    return s;
}

/* The live view's consumer while streams are open: the round becomes
 * events, and every stream is woken to take its own. */
static void hub_consume(void *arg, const live_snap *snap)
{
    event_hub *h = arg;
    uint64_t first = events_get_stats(h->ev).next_id;
    events_consume(h->ev, snap);
    uint64_t next = events_get_stats(h->ev).next_id;
    atomic_store(&h->fed, true);
    /* the round's ids, and when it ended (wall clock): what a client
     * measures its delivery latency from */
    buf line;
    log_begin(&line, LOG_INFO, "events-round");
    log_kv_i64(&line, "seq", (int64_t)snap->seq);
    log_kv_i64(&line, "first_id", (int64_t)first);
    log_kv_i64(&line, "events", (int64_t)(next - first));
    log_kv_i64(&line, "end_unix_ms", snap->wall_ms + (snap->finished_ms - snap->started_ms));
    log_end(&line, LOG_INFO);
    pthread_mutex_lock(&h->mu);
    for (dlink *d = h->subs.first; d; d = d->next) http_stream_wake(DLIST_ITEM(d, subscriber, link)->st);
    bool idle = h->nsubs == 0 && clock_now_ms() - h->idle_since_ms > h->linger_ms && h->handle >= 0;
    int handle = h->handle;
    if (idle) {
        h->handle = -1;
        atomic_store(&h->fed, false); /* the next subscription starts from its own first round */
    }
    pthread_mutex_unlock(&h->mu);
    if (idle) live_unsubscribe(h->live, handle); /* from the consumer itself: allowed */
}

/* ---- one stream ------------------------------------------------------------- */

/* An event of the stream's own (no id: a client's Last-Event-ID stays
 * the last call event it got), from a constant. */
static void put_text(subscriber *s, const char *text)
{
    size_t n = strlen(text);
    if (http_stream_put(s->st, text, n, NULL, NULL)) s->bytes += n;
}

static void put_buf(subscriber *s, buf *b)
{
    if (b->oom) {
        buf_free(b);
        return;
    }
    size_t n = b->len;
    if (http_stream_put(s->st, b->data, n, free, b->data)) s->bytes += n;
    memset(b, 0, sizeof *b); /* the stream owns the bytes */
}

static void batch_release(void *arg)
{
    ev_batch_free(arg);
    free(arg);
}

/* The stream starts over: its current set as one `reset`. */
static bool put_reset(subscriber *s)
{
    ev_current cur;
    if (!events_current(s->hub->ev, s->view, &cur)) return false;
    buf b;
    buf_init(&b);
    bool ok = events_render_reset(&cur, s->fields, s->base, &b);
    s->after = cur.upto;
    ev_current_free(&cur);
    if (!ok) {
        buf_free(&b);
        return false;
    }
    put_buf(s, &b);
    s->reset_end = s->bytes;
    return true;
}

static void put_overflow(subscriber *s, size_t queued)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "event: overflow\ndata: {\"meta\":{\"queued-bytes\":");
    buf_put_i64(&b, (int64_t)queued);
    buf_puts(&b, ",\"limit\":");
    buf_put_i64(&b, (int64_t)s->hub->queue_bytes);
    buf_puts(&b, "}}\n\n");
    put_buf(s, &b);
    atomic_fetch_add(&s->hub->overflows, 1);
    buf line;
    log_begin(&line, LOG_WARN, "stream-overflow");
    log_kv(&line, "client", s->client);
    log_kv_i64(&line, "queued", (int64_t)queued);
    log_kv_i64(&line, "limit", (int64_t)s->hub->queue_bytes);
    log_kv(&line, "request_id", s->request_id);
    log_end(&line, LOG_WARN);
    s->end = "overflow";
}

/* The events after the cursor, by reference; false ends the stream. */
static bool put_events(subscriber *s)
{
    ev_batch got; /* on the heap only when it has events to hold */
    ev_read rc = events_read(s->hub->ev, s->view, s->after, 0, &got);
    if (rc == EV_READ_TOO_OLD) return put_reset(s);
    if (rc == EV_READ_NOMEM || got.n == 0) {
        if (rc == EV_READ_OK && got.upto > s->after) s->after = got.upto; /* nothing of its own meanwhile */
        ev_batch_free(&got);
        return rc == EV_READ_OK;
    }
    /* the bound is on what waits behind a reset: a reset goes whole */
    size_t queued = http_stream_pending(s->st);
    uint64_t sent = s->bytes - queued;
    uint64_t reset_left = s->reset_end > sent ? s->reset_end - sent : 0;
    if (queued - reset_left > s->hub->queue_bytes) {
        ev_batch_free(&got);
        put_overflow(s, queued);
        return false;
    }
    ev_batch *b = malloc(sizeof *b);
    if (!b) {
        ev_batch_free(&got);
        return false;
    }
    *b = got;
    s->after = b->upto;
    size_t n = b->n;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *f = events_render(b->events[i], s->fields, s->base, &len);
        bool last = i + 1 == n;
        if (!f || !http_stream_put(s->st, f, len, last ? batch_release : NULL, b)) {
            if (!last) batch_release(b); /* put released it when it was the last */
            return false;
        }
        s->bytes += len;
    }
    s->events += n;
    return true;
}

static bool stream_pull(void *arg, http_stream *st)
{
    subscriber *s = arg;
    (void)st;
    int64_t now = clock_now_ms();
    size_t before = s->bytes;
    if ((int64_t)time(NULL) >= s->until_s) {
        put_text(s,
                 "event: unauthorized\ndata: "
                 "{\"errors\":[{\"status\":\"401\",\"code\":\"401\",\"title\":\"Unauthorized\","
                 "\"detail\":\"The token expired: log in again and resume with Last-Event-ID.\"}]}\n\n");
        atomic_fetch_add(&s->hub->expired, 1);
        s->end = "token-expired";
        return false;
    }
    if (atomic_load(&s->hub->fed)) {
        bool ok = s->started || s->resume ? put_events(s) : put_reset(s);
        s->started = true;
        if (!ok) {
            if (!s->end) s->end = "out-of-memory";
            return false;
        }
    }
    if (s->bytes != before)
        s->last_put_ms = now;
    else if (now - s->last_put_ms >= HEARTBEAT_MS) {
        put_text(s, ":\n\n");
        s->last_put_ms = now;
    }
    return true;
}

static void stream_closed(void *arg)
{
    subscriber *s = arg;
    event_hub *h = s->hub;
    pthread_mutex_lock(&h->mu); /* linked by its handler, which has returned */
    dlist_unlink(&h->subs, &s->link);
    if (--h->nsubs == 0) h->idle_since_ms = clock_now_ms();
    pthread_mutex_unlock(&h->mu);
    events_view_close(h->ev, s->view);
    buf line;
    log_begin(&line, LOG_INFO, "stream-closed");
    log_kv(&line, "reason", s->end ? s->end : "client-or-server");
    log_kv(&line, "client", s->client);
    log_kv_i64(&line, "events", (int64_t)s->events);
    log_kv_i64(&line, "bytes", (int64_t)s->bytes);
    log_kv_ms(&line, "open_ms", (double)(clock_now_ms() - s->opened_ms));
    log_kv(&line, "request_id", s->request_id);
    log_end(&line, LOG_INFO);
    http_stream_release(s->st);
    free(s);
}

static const http_stream_source stream_source = {stream_pull, stream_closed};

/* ---- the request ----------------------------------------------------------- */

static int param_cmp(const void *a, const void *b)
{
    const query_param *x = *(const query_param *const *)a, *y = *(const query_param *const *)b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

/* The filters' canonical text, the key of their view: the filter
 * parameters sorted, `key=value` joined by '&' ("" for none). */
static bool view_key(const http_request *req, buf *key)
{
    const query_param *f[256];
    size_t n = 0;
    for (size_t i = 0; i < req->nparams && n < sizeof f / sizeof f[0]; i++)
        if (query_key_of(req->params[i].key) == QUERY_KEY_FILTER) f[n++] = &req->params[i];
    qsort(f, n, sizeof f[0], param_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i) buf_putc(key, '&');
        buf_puts(key, f[i]->key);
        buf_putc(key, '=');
        buf_puts(key, f[i]->value);
    }
    buf_putc(key, '\0');
    return !key->oom;
}

/* Last-Event-ID as a cursor: an id as we write them (canonical decimal),
 * else none (the stream starts with a reset). */
static bool parse_last_id(const char *v, uint64_t *out)
{
    int64_t id;
    if (!v || !decimal_positive_i64(v, strlen(v), &id)) return false;
    *out = (uint64_t)id;
    return true;
}

void api_call_events(app *a, const http_request *req, const auth_subject *who, http_response *res)
{
    if (strcmp(req->method, "GET") != 0) {
        app_method_not_allowed(res, req->method, "GET");
        return;
    }
    if (!http_accept_event_stream(req->accept)) {
        http_error(res, 406, "Not acceptable", "The event stream is sent as text/event-stream only.");
        return;
    }
    doc_base base;
    char storage[300];
    if (!app_base_url(a, req, res, storage, &base)) return;
    api_params p;
    if (!api_params_parse(req, PARAMS_EVENTS, false, &a->limits, &p, res)) {
        api_params_free(&p);
        return;
    }
    subscriber *s = calloc(1, sizeof *s);
    buf key;
    buf_init(&key);
    if (!s || !view_key(req, &key)) {
        http_error(res, 500, "Internal server error", "Out of memory.");
        api_params_free(&p);
        buf_free(&key);
        free(s);
        return;
    }
    event_hub *h = a->events;
    s->hub = h;
    s->fields = p.fields.calls;
    str_copy(s->base_url, sizeof s->base_url, base.url);
    s->base = (doc_base){s->base_url, strlen(s->base_url)};
    s->resume = parse_last_id(req->last_event_id, &s->after);
    s->until_s = who->token_until;
    s->opened_ms = s->last_put_ms = clock_now_ms();
    str_copy(s->client, sizeof s->client, who->client);
    str_copy(s->request_id, sizeof s->request_id, req->request_id);
    bool filtered = key.data[0] != '\0';
    if (filtered && !(s->view = events_view_open(h->ev, key.data, &p.filters))) {
        http_error(res, 500, "Internal server error", "Out of memory.");
        api_params_free(&p);
        buf_free(&key);
        free(s);
        return;
    }
    api_params_free(&p);
    buf_free(&key);
    if (!(s->st = http_stream_open(req, res, &stream_source, s))) {
        events_view_close(h->ev, s->view);
        free(s);
        http_error(res, 503, "Service unavailable", "Too many event streams are open; try again later.");
        res->retry_after = 1;
        return;
    }
    res->content_type = EVENT_STREAM_MEDIA_TYPE;
    pthread_mutex_lock(&h->mu);
    dlist_push(&h->subs, &s->link);
    h->nsubs++;
    bool subscribe = h->handle == -1;
    if (subscribe) h->handle = -2; /* being subscribed */
    pthread_mutex_unlock(&h->mu);
    if (!subscribe) return;
    int handle = live_subscribe(h->live, hub_consume, h); /* outside h->mu: the consumer takes it */
    pthread_mutex_lock(&h->mu);
    h->handle = handle; /* -1 (no memory or thread): the next stream tries again */
    pthread_mutex_unlock(&h->mu);
    if (handle < 0) log_msg(LOG_ERROR, "event stream: cannot subscribe to the live view");
}
