/* server: the event loops and the life of a connection; see server.h.
 *
 * Loops. Each loop is a thread with its own epoll set, deadline lists and
 * mailbox; all of them watch the one listening socket (EPOLLEXCLUSIVE: a
 * new connection wakes one loop that is waiting, so connections spread
 * over the idle loops). The loop that accepts a connection owns it, and
 * every request on it, for life: nothing of a connection is ever touched
 * by two loops. What the loops share is counted for the caps: the
 * connection count and the unsent bytes (atomic), the per-address table
 * (under a mutex, taken at accept and close only). On two cores, one loop
 * per core doubles what a cached answer costs to serve (BENCHMARKS.md).
 *
 * A connection moves through these states, all driven by its loop:
 *
 *   HEAD ──> BODY ──> HANDLER ──> WRITE ──> HEAD (keep-alive) ...
 *     └─────────────────┴─ refusal ─> WRITE ──> LINGER ──> closed
 *                                       └─> STREAM ──> LINGER ──> closed
 *
 * HEAD reads until the request head parses (http/request.h). BODY reads
 * Content-Length bytes or a chunked body. HANDLER: the request's steps run
 * (below); the loop leaves the socket alone until the answer is final.
 * WRITE
 * sends the head and the body's parts with writev. LINGER: after an
 * answer that closes the connection, our side is shut down and what the
 * client still sends is read and dropped for a moment, so that it gets
 * the answer instead of a reset. STREAM: after a stream's head
 * (http_stream_open), the connection carries what its source puts:
 * pieces queued by reference and sent with writev; the source is pulled
 * when woken through the loop's second mailbox and once a second; what
 * the client sends is dropped, and its FIN ends the stream.
 *
 * Deadlines. Each waiting state has one fixed timeout, so a list per
 * timeout in the order connections entered it is also in deadline order:
 * the loop looks only at the heads of four lists. The request deadline
 * starts at a request's first byte (at accept for the first) and is not
 * extended by further bytes, so a client dripping a byte at a time is
 * dropped all the same. The send deadline restarts on every write that
 * makes progress.
 *
 * Steps. A request runs as steps: its handler, then a continuation after
 * each wait for the nodes (http_defer, http_continue). Every step starts
 * on the loop thread: most finish in microseconds without blocking (a
 * small listing is written in less time than a hand-off to another thread
 * and back costs). A step that would block (the store, bcrypt, a wait for
 * memory) or work long (a big document) calls http_to_worker and runs
 * again from its start on a worker (util/pool.h). The loop thread is
 * marked as one (pool_loop_thread), and everything that may block asserts
 * it is not on one. Answers finished on the loop are queued on a list of
 * the loop's own; answers and continuations from other threads arrive in
 * the mailbox (util/mailbox.h).
 *
 * Memory. An idle connection is a `conn` and its input buffer (grown
 * from 1 KiB up to the head limit as bytes arrive). A connection has one
 * answer at a time (the next pipelined request is read once it is sent),
 * and answers not yet sent are counted against max_unsent_bytes: an answer
 * that would go over it is replaced by a 503 (build_reserved). */
#include "http/server.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include "http/access_log.h"
#include "http/negotiate.h"
#include "http/request.h"
#include "http/response.h"
#include "metrics/counters.h"
#include "util/clock.h"
#include "util/dlist.h"
#include "util/log.h"
#include "util/mailbox.h"
#include "util/phase.h"
#include "util/pool.h"

#define MAX_PARAMS 256
#define IN_FIRST 1024             /* first input buffer of a connection */
#define LINGER_MS 2000            /* reading after a closing answer */
#define FORWARDED_MAX 8192        /* all X-Forwarded-For lines together */
#define BODY_HINT_MAX (64 * 1024) /* largest body buffer reserved up front */
#define IP_BUCKETS 4096
#define STREAM_TICK_MS 1000 /* every open stream is pulled this often */
#define STREAM_IOV 512      /* pieces of a stream sent with one writev (IOV_MAX is 1024) */

void http_limits_default(http_limits *l)
{
    *l = (http_limits){
        .workers = 16,
        .max_connections = 16384,
        .max_connections_per_ip = 256,
        .request_timeout_ms = 10000,
        .keepalive_timeout_ms = 60000,
        .send_timeout_ms = 30000,
        .max_head_bytes = 32 * 1024,
        .max_body_bytes = 1024 * 1024,
        .max_unsent_bytes = (size_t)1 << 30,
        .max_streams = 4096,
        .exempt = NULL,
    };
}

enum cstate { CS_HEAD, CS_BODY, CS_HANDLER, CS_WRITE, CS_STREAM, CS_LINGER };
enum tlist { TL_NONE = -1, TL_REQUEST, TL_IDLE, TL_SEND, TL_LINGER, TL_COUNT };

typedef struct ip_slot {
    struct ip_slot *next;
    unsigned char addr[16];
    size_t n;
} ip_slot;

typedef struct conn conn;
typedef struct hloop hloop;

/* Headers the request path reads (collect_headers); the first four must
 * not repeat. */
enum {
    KH_HOST,
    KH_AUTHORIZATION,
    KH_CONTENT_TYPE,
    KH_REQUEST_ID,
    KH_ACCEPT,
    KH_ACCEPT_ENCODING,
    KH_IF_NONE_MATCH,
    KH_CACHE_CONTROL,
    KH_LAST_EVENT_ID,
    KH_COUNT
};

/* One request, from its parsed head to its finished answer. Lives while
 * the connection handles it; the worker owns it during HANDLER. */
typedef struct req_work {
    conn *c;
    hloop *l; /* the loop of its connection */
    http_head head;
    http_request req;
    http_response res;
    http_wire wire;
    buf forwarded; /* every X-Forwarded-For line, joined with ',' */
    char request_id[201];
    int64_t started_us;
    bool close_after; /* the connection closes after this answer */
    bool timed;
    phase_rec phases;
    size_t reserved;             /* bytes of the answer counted in the server's unsent total */
    const char *known[KH_COUNT]; /* the headers read, by collect_headers */
    pool_item job;               /* its turn on a worker (a step moved there) */
    void (*then)(void *);        /* the step to run: NULL the handler, else a continuation */
    void *then_arg;
    bool step_queued;    /* `done` carries a step to run, not an answer */
    mail_link done;      /* in the mailbox or the ready list: a step or the answer */
    char *head_buf;      /* the bytes head, req and params point into */
    http_stream *stream; /* its answer is a stream's head (http_stream_open) */
    query_param params[MAX_PARAMS];
} req_work;

struct conn {
    int fd;
    enum cstate st;
    int tl;      /* the deadline list it is on, or TL_NONE */
    dlink tlink; /* on deadline list tl */
    dlink alink; /* on the list of every connection, for shutdown; then in the graveyard */
    int64_t deadline_ms;
    struct sockaddr_storage peer;
    ip_slot *ip; /* NULL: not counted (exempt) */
    char *in;
    size_t in_len, in_cap;
    size_t scan_from; /* head_complete: bytes already searched */
    req_work *w;      /* the request in progress (BODY, HANDLER, WRITE) */
    buf body;
    chunk_decoder chunk;
    uint64_t body_left; /* Content-Length bytes still to read */
    bool peer_closed;
    bool drained; /* the socket had nothing more at the last read: no read until the next event */
    bool rdhup;   /* the peer's FIN is in: read on until recv says 0 */
    bool dead;    /* closed; freed at the end of the loop's round */
    bool closing; /* the answer being written ends the connection */
    /* WRITE */
    http_wire wire;
    struct iovec *iov; /* the answer's head and parts: iov_two, or allocated */
    struct iovec iov_two[2];
    size_t niov, iov_at;
    size_t accounted; /* bytes counted against max_unsent_bytes */
    bool timed;
    phase_rec phases;
    int64_t queued_us;
    char request_id[201];
    http_stream *stream; /* STREAM */
};

/* A piece of a stream's body, queued by reference (http_stream_put). */
typedef struct seg {
    const char *p;
    size_t n;
    void (*release)(void *);
    void *arg;
} seg;

struct http_stream {
    atomic_int refs;   /* the caller's, the server's (until closed), one per wake in the mailbox */
    atomic_bool woken; /* a wake is in the loop's mailbox */
    mail_link wake;
    hloop *l;
    http_stream_source src;
    void *arg;
    /* the loop's own */
    conn *c;     /* while it streams (from the head's sending on) */
    bool over;   /* src.closed was called */
    bool ending; /* pull said so: closed once the queue is sent */
    dlink link;  /* on the loop's streams while c is set */
    seg *q;      /* the queue: q[(head + i) % cap], i < n */
    size_t qhead, qn, qcap;
    size_t off;     /* bytes of the first piece already sent */
    size_t pending; /* bytes queued, not sent */
};

typedef struct tlist_head {
    dlist q; /* soonest deadline first: every entry has the same timeout */
    int ms;
} tlist_head;

/* One event loop: a thread, its epoll set and the connections it
 * accepted. A connection stays on its loop for life; every field here is
 * the loop thread's own, except the mailbox. */
struct hloop {
    http_server *s;
    int ep;
    pthread_t thread;
    dlist all;
    dlist graveyard; /* closed this round (linked through alink) */
    tlist_head lists[TL_COUNT];
    size_t in_handler;
    mailbox done;                  /* answers and steps posted by other threads */
    mail_link *ready, *ready_last; /* the same, queued by the loop itself (FIFO) */
    mailbox wakes;                 /* streams woken (http_stream_wake) */
    dlist streams;                 /* its open streams, pulled every STREAM_TICK_MS */
    int64_t tick_ms;               /* the next such pull */
};

/* What the loops share: limits, handler, workers, the counts that the
 * caps read (atomic, or under accept_mu). */
struct http_server {
    http_limits lim;
    http_handler handler;
    void *app;
    int listen_fd;
    worker_pool *workers;
    atomic_bool stopping;
    atomic_size_t nconns;
    atomic_size_t unsent; /* answer bytes reserved and not yet sent */
    atomic_size_t nstreams;
    pthread_mutex_t accept_mu; /* the per-address table and the reserve descriptor */
    int reserve_fd;
    ip_slot *ips[IP_BUCKETS];
    size_t nloops;
    hloop *loops;
};

/* The loop this thread runs, if any. */
static _Thread_local hloop *loop_of;

/* ---- deadline lists -------------------------------------------------------- */

static void tl_remove(hloop *l, conn *c)
{
    if (c->tl == TL_NONE) return;
    dlist_unlink(&l->lists[c->tl].q, &c->tlink);
    c->tl = TL_NONE;
}

/* The connection due first on list `which`, or NULL. */
static conn *tl_first(hloop *l, int which)
{
    dlink *d = l->lists[which].q.first;
    return d ? DLIST_ITEM(d, conn, tlink) : NULL;
}

/* Puts c at the end of list `which`, due its timeout from now. */
static void tl_set(hloop *l, conn *c, int which)
{
    tl_remove(l, c);
    tlist_head *h = &l->lists[which];
    c->deadline_ms = clock_now_ms() + h->ms;
    c->tl = which;
    dlist_push(&h->q, &c->tlink);
}

/* ---- per-address counts ---------------------------------------------------- */

static void addr_key(const struct sockaddr_storage *ss, unsigned char out[16])
{
    memset(out, 0, 16);
    if (ss->ss_family == AF_INET) {
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
    }
}

static size_t addr_bucket(const unsigned char a[16])
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (int i = 0; i < 16; i++) h = (h ^ a[i]) * 1099511628211ULL;
    return (size_t)(h % IP_BUCKETS);
}

/* Counts one more connection from ss; NULL with *over set when that would
 * pass the cap (or memory ran out). Any loop's thread: the table is shared,
 * so that the cap holds per address whichever loops its connections are on. */
static ip_slot *ip_acquire(http_server *s, const struct sockaddr_storage *ss, bool *over)
{
    unsigned char a[16];
    addr_key(ss, a);
    size_t b = addr_bucket(a);
    size_t cap = s->lim.max_connections_per_ip ? s->lim.max_connections_per_ip : SIZE_MAX;
    *over = false;
    pthread_mutex_lock(&s->accept_mu);
    ip_slot *e = s->ips[b];
    while (e && memcmp(e->addr, a, 16) != 0) e = e->next;
    if (e && e->n >= cap)
        e = NULL;
    else if (!e && (e = calloc(1, sizeof *e))) {
        memcpy(e->addr, a, 16);
        e->next = s->ips[b];
        s->ips[b] = e;
    }
    if (e) e->n++;
    pthread_mutex_unlock(&s->accept_mu);
    *over = !e;
    return e;
}

static void ip_release(http_server *s, ip_slot *e)
{
    if (!e) return;
    pthread_mutex_lock(&s->accept_mu);
    assert(e->n > 0);
    if (--e->n == 0) {
        ip_slot **pp = &s->ips[addr_bucket(e->addr)];
        while (*pp != e) pp = &(*pp)->next;
        *pp = e->next;
        free(e);
    }
    pthread_mutex_unlock(&s->accept_mu);
}

/* ---- connections ----------------------------------------------------------- */

static void stream_end(hloop *l, http_stream *st);

static void work_free(req_work *w)
{
    if (!w) return;
    if (w->stream) stream_end(w->l, w->stream); /* its head never went out */
    http_response_clear_body(&w->res);
    buf_free(&w->res.body);
    http_wire_free(&w->wire);
    buf_free(&w->forwarded);
    free(w->head_buf);
    free(w);
}

/* The answer being sent is done with (sent, or the connection closed). */
static void wire_release(conn *c)
{
    http_wire_free(&c->wire);
    if (c->iov != c->iov_two) free(c->iov);
    c->iov = NULL;
    c->niov = c->iov_at = 0;
}

static void conn_close(hloop *l, conn *c)
{
    assert(c->st != CS_HANDLER && !c->dead);
    tl_remove(l, c);
    dlist_unlink(&l->all, &c->alink);
    close(c->fd);
    ip_release(l->s, c->ip);
    atomic_fetch_sub(&l->s->unsent, c->accounted);
    if (c->stream) stream_end(l, c->stream);
    wire_release(c);
    work_free(c->w);
    buf_free(&c->body);
    free(c->in);
    c->in = NULL;
    c->w = NULL;
    c->dead = true;
    /* freed after this round of events: a later event of the same
     * epoll_wait batch may still name it */
    dlist_push(&l->graveyard, &c->alink);
    atomic_fetch_sub(&l->s->nconns, 1);
}

static void bury(hloop *l)
{
    while (l->graveyard.first) {
        conn *c = DLIST_ITEM(l->graveyard.first, conn, alink);
        dlist_unlink(&l->graveyard, &c->alink);
        free(c);
    }
}

static void conn_process(hloop *l, conn *c);
static void conn_write(hloop *l, conn *c);

/* Starts sending w (taken over) on c; `closing`: the connection ends after
 * it. `reserved`: bytes of it already counted in s->unsent (the rest is
 * counted here). */
static void start_write(hloop *l, conn *c, http_wire *w, bool closing, size_t reserved)
{
    c->wire = *w;
    memset(w, 0, sizeof *w);
    c->closing = closing;
    c->niov = 0;
    c->iov = 1 + c->wire.nparts <= 2 ? c->iov_two : malloc((1 + c->wire.nparts) * sizeof *c->iov);
    if (!c->iov) { /* out of memory: the answer cannot go out */
        atomic_fetch_sub(&l->s->unsent, reserved);
        conn_close(l, c);
        return;
    }
    c->iov[c->niov++] = (struct iovec){c->wire.head.data, c->wire.head.len};
    for (size_t i = 0; i < c->wire.nparts; i++)
        c->iov[c->niov++] = (struct iovec){c->wire.part[i], c->wire.part_len[i]};
    c->iov_at = 0;
    c->accounted = c->wire.head.len + c->wire.body_len;
    if (c->accounted > reserved)
        atomic_fetch_add(&l->s->unsent, c->accounted - reserved);
    else
        atomic_fetch_sub(&l->s->unsent, reserved - c->accounted);
    c->queued_us = clock_now_us();
    c->st = CS_WRITE;
    tl_set(l, c, TL_SEND);
    conn_write(l, c);
}

/* Answers at the HTTP layer (before or instead of the handler): a JSON:API
 * error, counted as a refusal; the connection closes after it. */
static void refuse(hloop *l, conn *c, int status, const char *detail, refuse_reason why)
{
    const bool keep = false; /* a refused request ends its connection (no pipelined retries) */
    http_response res = {.status = status};
    http_error(&res, status, http_reason(status), detail);
    if (status == 503) res.retry_after = 1;
    char rid[37];
    http_new_request_id(rid);
    http_exchange x = {.method = "GET", .request_id = rid, .started_us = clock_now_us(), .close = !keep};
    http_wire w;
    http_refused(why, (const struct sockaddr *)&c->peer);
    work_free(c->w);
    c->w = NULL;
    buf_free(&c->body);
    if (!keep) c->in_len = 0; /* the rest of what it sent is not read as requests */
    if (!http_wire_build(&w, &res, &x)) {
        buf_free(&res.body);
        conn_close(l, c);
        return;
    }
    str_copy(c->request_id, sizeof c->request_id, rid);
    c->timed = false;
    start_write(l, c, &w, !keep, 0);
}

/* Moves c's input down over the `used` bytes already consumed. */
static void in_consume(conn *c, size_t used)
{
    assert(used <= c->in_len);
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
}

/* Reads what the socket has (up to the buffer's limit). Returns false when
 * the connection is finished (closed by the peer or broken). */
static bool conn_read(hloop *l, conn *c)
{
    size_t limit = l->s->lim.max_head_bytes > 65536 ? l->s->lim.max_head_bytes : 65536;
    while (!c->drained) {
        if (c->in_len == c->in_cap) {
            if (c->in_cap >= limit) return true; /* full: the parser decides */
            size_t cap = c->in_cap ? c->in_cap * 2 : IN_FIRST;
            if (cap > limit) cap = limit;
            char *n = realloc(c->in, cap);
            if (!n) return false;
            c->in = n;
            c->in_cap = cap;
        }
        size_t room = c->in_cap - c->in_len;
        ssize_t r = recv(c->fd, c->in + c->in_len, room, 0);
        if (r > 0) {
            if (c->in_len == 0 && c->st == CS_HEAD && c->tl == TL_IDLE)
                tl_set(l, c, TL_REQUEST); /* a request begins: its deadline runs from now */
            c->in_len += (size_t)r;
            /* less than asked: the socket is empty now, and anything that
             * comes later is a new edge (saves the recv that says EAGAIN);
             * not after a FIN, whose 0 must still be read */
            if ((size_t)r < room && !c->rdhup) c->drained = true;
            continue;
        }
        if (r == 0) {
            c->peer_closed = true;
            return c->in_len > 0 && c->st != CS_LINGER;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->drained = true;
            return true;
        }
        c->peer_closed = true;
        return false;
    }
    return true;
}

/* ---- requests -------------------------------------------------------------- */

/* The header values the request path reads, in one pass over the head,
 * X-Forwarded-For lines joined
 * (a proxy may add its own line instead of extending the client's, so the
 * first line alone would trust the client's words). */
static bool collect_headers(req_work *w, const char **bad)
{
    /* the first four must not repeat; the rest: their first line */
    static const char *const names[KH_COUNT] = {"Host",          "Authorization", "Content-Type",
                                                "X-Request-Id",  "Accept",        "Accept-Encoding",
                                                "If-None-Match", "Cache-Control", "Last-Event-ID"};
    bool xff_invalid = false;
    for (size_t i = 0; i < w->head.nheaders; i++) {
        const http_header *h = &w->head.headers[i];
        int k = 0;
        while (k < KH_COUNT && strcasecmp(h->name, names[k]) != 0) k++;
        if (k < KH_COUNT) {
            if (!w->known[k])
                w->known[k] = h->value;
            else if (k == KH_CACHE_CONTROL)
                w->known[k] = "no-cache"; /* repeated: which line to believe? a fresh answer is safe */
            else if (k <= KH_REQUEST_ID) {
                *bad = names[k];
                return false;
            }
            continue;
        }
        if (strcasecmp(h->name, "X-Forwarded-For") != 0 || xff_invalid) continue;
        if (w->forwarded.len + strlen(h->value) + 2 > FORWARDED_MAX) {
            buf_reset(&w->forwarded); /* absurd: treat as malformed, i.e. not believed */
            buf_puts(&w->forwarded, "invalid");
            xff_invalid = true;
            continue;
        }
        if (w->forwarded.len) buf_putc(&w->forwarded, ',');
        buf_puts(&w->forwarded, h->value);
    }
    return !w->forwarded.oom;
}

static void start_request(req_work *w);

/* The head and body are in: check what the request says and hand it to a
 * worker, or answer it here. */
static void dispatch(hloop *l, conn *c)
{
    req_work *w = c->w;
    http_head *h = &w->head;
    const char *bad = NULL;
    if (!collect_headers(w, &bad)) {
        char d[96];
        snprintf(d, sizeof d, bad ? "More than one %s header." : "Out of memory.", bad);
        refuse(l, c, bad ? 400 : 500, d, REFUSE_MALFORMED);
        return;
    }
    const char *host = h->authority ? h->authority : w->known[KH_HOST];
    if (h->minor >= 1 && !host) {
        refuse(l, c, 400, "An HTTP/1.1 request needs a Host header.", REFUSE_MALFORMED);
        return;
    }
    /* the target: path, then the query (decoded in place) */
    char *target = (char *)h->target;
    char *q = strchr(target, '?');
    if (q) *q++ = '\0';
    if (!http_percent_decode(target, false)) {
        refuse(l, c, 400, "The request path has a malformed or NUL percent-escape.", REFUSE_MALFORMED);
        return;
    }
    size_t np = 0;
    switch (q ? http_parse_query(q, w->params, MAX_PARAMS, &np) : QUERY_OK) {
    case QUERY_OK: break;
    case QUERY_TOO_MANY: refuse(l, c, 400, "Too many query parameters.", REFUSE_MALFORMED); return;
    case QUERY_MALFORMED:
        refuse(l, c, 400, "The query has a malformed or NUL percent-escape.", REFUSE_MALFORMED);
        return;
    }
    const char *rid = w->known[KH_REQUEST_ID];
    if (http_request_id_sane(rid))
        str_copy(w->request_id, sizeof w->request_id, rid);
    else
        http_new_request_id(w->request_id);
    if (w->forwarded.len) buf_putc(&w->forwarded, '\0');
    w->req = (http_request){
        .method = h->method,
        .path = target,
        .host = host,
        .accept = w->known[KH_ACCEPT],
        .accept_encoding = w->known[KH_ACCEPT_ENCODING],
        .content_type = w->known[KH_CONTENT_TYPE],
        .authorization = w->known[KH_AUTHORIZATION],
        .cache_control = w->known[KH_CACHE_CONTROL],
        .last_event_id = w->known[KH_LAST_EVENT_ID],
        .forwarded_for = w->forwarded.len ? w->forwarded.data : NULL,
        .params = w->params,
        .nparams = np,
        .body = c->body.data,
        .body_len = c->body.len,
        .request_id = w->request_id,
        .peer = c->peer,
        .client_fd = c->fd,
    };
    w->close_after = !h->keep_alive;
    w->c = c;
    w->l = l;
    c->st = CS_HANDLER;
    tl_remove(l, c);
    l->in_handler++;
    start_request(w);
}

/* Content-Length or chunked bytes from the input into the body; dispatches
 * when the body is whole. */
static void read_body(hloop *l, conn *c)
{
    req_work *w = c->w;
    if (w->head.chunked) {
        size_t used = 0, produced = 0;
        chunk_result r = chunk_decode(&c->chunk, c->in, c->in_len, c->in, &used, &produced);
        if (produced && c->body.len + produced > l->s->lim.max_body_bytes) {
            refuse(l, c, 413, "The request body is too large.", REFUSE_TOO_LARGE);
            return;
        }
        buf_append(&c->body, c->in, produced);
        in_consume(c, used);
        if (r == CHUNK_ERROR) {
            refuse(l, c, 400, "Malformed chunked body.", REFUSE_MALFORMED);
            return;
        }
        if (r == CHUNK_MORE) return;
    } else {
        size_t take = c->in_len < c->body_left ? c->in_len : (size_t)c->body_left;
        buf_append(&c->body, c->in, take);
        in_consume(c, take);
        c->body_left -= take;
        if (c->body_left) return;
    }
    if (c->body.oom) {
        refuse(l, c, 500, "Out of memory.", REFUSE_BUSY);
        return;
    }
    dispatch(l, c);
}

/* A head is complete in c->in: parse it and go on with the body. */
static void begin_request(hloop *l, conn *c)
{
    req_work *w = malloc(sizeof *w);
    if (!w) {
        refuse(l, c, 500, "Out of memory.", REFUSE_BUSY);
        return;
    }
    memset(w, 0, offsetof(req_work, params)); /* params: only [0, nparams) is ever read */
    w->started_us = clock_now_us();
    buf_init(&w->forwarded);
    c->w = w;
    size_t used = 0;
    int status = 0;
    const char *detail = NULL;
    head_result r =
        http_parse_head(c->in, c->in_len, l->s->lim.max_head_bytes, &w->head, &used, &status, &detail);
    assert(r != HEAD_INCOMPLETE);
    if (r == HEAD_ERROR) {
        refuse(l, c, status, detail, status == 414 || status == 431 ? REFUSE_TOO_LARGE : REFUSE_MALFORMED);
        return;
    }
    /* the head stays at the start of c->in (the request points into it);
     * what follows is moved to a fresh buffer */
    char *rest = NULL;
    size_t rest_len = c->in_len - used;
    size_t cap = rest_len > IN_FIRST ? rest_len : IN_FIRST;
    if (!(rest = malloc(cap))) {
        refuse(l, c, 500, "Out of memory.", REFUSE_BUSY);
        return;
    }
    memcpy(rest, c->in + used, rest_len);
    /* the head buffer now belongs to the request */
    w->head_buf = c->in;
    c->in = rest;
    c->in_len = rest_len;
    c->in_cap = cap;

    buf_init(&c->body);
    http_head *h = &w->head;
    if (h->has_length && h->content_length > l->s->lim.max_body_bytes) {
        refuse(l, c, 413, "The request body is too large.", REFUSE_TOO_LARGE);
        return;
    }
    c->st = CS_BODY;
    c->body_left = h->has_length ? h->content_length : 0;
    chunk_decoder_init(&c->chunk);
    if (h->has_length && c->body_left) buf_reserve(&c->body, (size_t)c->body_left);
    bool pending = h->chunked || c->body_left > c->in_len;
    if (pending && h->expect_continue && h->minor >= 1) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)(sizeof cont - 1)) {
            refuse(l, c, 500, "Cannot write to the connection.", REFUSE_MALFORMED);
            return;
        }
    }
    read_body(l, c);
}

/* Whether c->in holds a whole head (the empty line after the headers);
 * the search resumes where the previous one stopped, so a head dripped in
 * byte by byte is scanned once, not once per byte. */
static bool head_complete(conn *c)
{
    size_t from = c->scan_from > 2 ? c->scan_from - 2 : 0;
    for (size_t i = from; i + 1 < c->in_len; i++) {
        if (c->in[i] != '\n') continue;
        if (c->in[i + 1] == '\n' || (c->in[i + 1] == '\r' && i + 2 < c->in_len && c->in[i + 2] == '\n'))
            return true;
    }
    c->scan_from = c->in_len;
    return false;
}

/* Advances c as far as its buffered input allows. */
static void conn_process(hloop *l, conn *c)
{
    while (c->st == CS_HEAD || c->st == CS_BODY) {
        if (c->st == CS_HEAD) {
            if (c->in_len == 0 || (!head_complete(c) && c->in_len < l->s->lim.max_head_bytes)) {
                if (c->peer_closed) conn_close(l, c);
                return;
            }
            c->scan_from = 0;
            begin_request(l, c); /* parses; refuses an overlong or malformed head */
        } else {
            read_body(l, c);
            if (c->st == CS_BODY) {
                if (c->peer_closed) conn_close(l, c);
                return;
            }
        }
    }
}

/* Reads what the socket has and advances c with it. Events are
 * edge-triggered: while the input buffer fills up before the socket runs
 * dry (a body bigger than the buffer), the body consumes it and reading
 * goes on here, since no new event would come for bytes already there. */
static void read_and_process(hloop *l, conn *c)
{
    for (;;) {
        if (!conn_read(l, c)) {
            conn_close(l, c);
            return;
        }
        bool full = c->in_len == c->in_cap;
        conn_process(l, c);
        if (c->dead || !full || (c->st != CS_HEAD && c->st != CS_BODY)) return;
    }
}

/* ---- writing ------------------------------------------------------------- */

/* Our side is done: shut down, then read and drop what the client still
 * sends for a moment, so that it sees the answer rather than a reset. */
static void linger(hloop *l, conn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->st = CS_LINGER;
    c->in_len = 0;
    tl_set(l, c, TL_LINGER);
    if (!conn_read(l, c) || c->peer_closed)
        conn_close(l, c);
    else
        c->in_len = 0;
}

static void stream_begin(hloop *l, conn *c, http_stream *st);

/* The answer is out: log its timing, then close, linger or take the next request. */
static void write_done(hloop *l, conn *c)
{
    if (c->timed) {
        buf line;
        log_begin(&line, LOG_DEBUG, "timing");
        static const char *const keys[PHASE_COUNT] = {"pre_ms",    "fanout_ms", "parse_ms",
                                                      "filter_ms", "write_ms",  "gzip_ms"};
        for (int i = 0; i < PHASE_COUNT; i++) log_kv_ms(&line, keys[i], (double)c->phases.us[i] / 1000.0);
        log_kv_ms(&line, "send_ms", (double)(clock_now_us() - c->queued_us) / 1000.0);
        log_kv_i64(&line, "status", c->wire.status);
        log_kv_i64(&line, "bytes", (int64_t)c->wire.body_len);
        log_kv(&line, "request_id", c->request_id);
        log_end(&line, LOG_DEBUG);
    }
    atomic_fetch_sub(&l->s->unsent, c->accounted);
    c->accounted = 0;
    wire_release(c);
    http_stream *st = c->w ? c->w->stream : NULL;
    if (st) c->w->stream = NULL; /* the head is out: the stream is the connection's now */
    work_free(c->w);
    c->w = NULL;
    buf_free(&c->body);
    if (st) {
        stream_begin(l, c, st);
        return;
    }
    /* after the client's FIN, the requests it sent before are still answered */
    if (c->closing || (c->peer_closed && c->in_len == 0) || atomic_load(&l->s->stopping)) {
        linger(l, c);
        return;
    }
    c->st = CS_HEAD;
    tl_set(l, c, c->in_len ? TL_REQUEST : TL_IDLE);
    read_and_process(l, c);
}

static void conn_write(hloop *l, conn *c)
{
    while (c->iov_at < c->niov) {
        ssize_t n = writev(c->fd, c->iov + c->iov_at, (int)(c->niov - c->iov_at));
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return; /* EPOLLOUT brings us back */
            c->peer_closed = true;
            c->iov_at = c->niov;
            c->st = CS_LINGER; /* nothing more to read either */
            conn_close(l, c);
            return;
        }
        size_t left = (size_t)n;
        while (left && c->iov_at < c->niov) {
            struct iovec *v = &c->iov[c->iov_at];
            if (left >= v->iov_len) {
                left -= v->iov_len;
                v->iov_len = 0;
                c->iov_at++;
            } else {
                v->iov_base = (char *)v->iov_base + left;
                v->iov_len -= left;
                left = 0;
            }
        }
        tl_set(l, c, TL_SEND); /* progress: the send deadline starts again */
    }
    write_done(l, c);
}

/* ---- streams ------------------------------------------------------------- */

void http_stream_release(http_stream *st)
{
    if (!st || atomic_fetch_sub(&st->refs, 1) != 1) return;
    assert(st->over && st->qn == 0);
    free(st->q);
    free(st);
}

void http_stream_wake(http_stream *st)
{
    assert(st);
    if (atomic_exchange(&st->woken, true)) return; /* one wake in the mailbox is enough */
    atomic_fetch_add(&st->refs, 1);
    mailbox_post(&st->l->wakes, &st->wake);
}

size_t http_stream_pending(const http_stream *st) { return st->pending; }

bool http_stream_put(http_stream *st, const char *p, size_t n, void (*release)(void *), void *arg)
{
    assert(st && !st->over && (p || !n));
    if (st->qn == st->qcap) {
        size_t cap = st->qcap ? st->qcap * 2 : 16;
        seg *q = malloc(cap * sizeof *q);
        if (!q) {
            if (release) release(arg);
            return false;
        }
        for (size_t i = 0; i < st->qn; i++) q[i] = st->q[(st->qhead + i) % st->qcap];
        free(st->q);
        st->q = q;
        st->qcap = cap;
        st->qhead = 0;
    }
    st->q[(st->qhead + st->qn++) % st->qcap] = (seg){p, n, release, arg};
    st->pending += n;
    atomic_fetch_add(&st->l->s->unsent, n);
    return true;
}

/* The first piece is sent (or dropped): give it back. */
static void stream_pop(http_stream *st)
{
    seg *g = &st->q[st->qhead];
    if (g->release) g->release(g->arg);
    st->qhead = (st->qhead + 1) % st->qcap;
    st->qn--;
    st->off = 0;
}

/* The stream is over: its queue dropped, its source told, the server's
 * reference given back. Once; on the loop. */
static void stream_end(hloop *l, http_stream *st)
{
    if (st->over) return;
    st->over = true;
    if (st->c) {
        dlist_unlink(&l->streams, &st->link);
        st->c->stream = NULL;
        st->c = NULL;
    }
    atomic_fetch_sub(&l->s->unsent, st->pending);
    st->pending = 0;
    while (st->qn) stream_pop(st);
    st->src.closed(st->arg);
    atomic_fetch_sub(&l->s->nstreams, 1);
    http_stream_release(st);
}

/* Sends what the socket takes; a stream that ended and is sent closes. */
static void stream_flush(hloop *l, http_stream *st)
{
    conn *c = st->c;
    while (st->qn) {
        struct iovec v[STREAM_IOV];
        int k = 0;
        for (size_t i = 0; i < st->qn && k < STREAM_IOV; i++) {
            const seg *g = &st->q[(st->qhead + i) % st->qcap];
            size_t skip = i == 0 ? st->off : 0;
            v[k++] = (struct iovec){(char *)g->p + skip, g->n - skip};
        }
        ssize_t n = writev(c->fd, v, k);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (c->tl != TL_SEND) tl_set(l, c, TL_SEND); /* no progress: its deadline runs on */
                return;
            }
            c->peer_closed = true;
            c->st = CS_LINGER;
            conn_close(l, c);
            return;
        }
        size_t left = (size_t)n;
        st->pending -= left;
        atomic_fetch_sub(&l->s->unsent, left);
        while (left) {
            const seg *g = &st->q[st->qhead];
            if (left >= g->n - st->off) {
                left -= g->n - st->off;
                stream_pop(st);
            } else {
                st->off += left;
                left = 0;
            }
        }
        while (st->qn && st->q[st->qhead].n == 0) stream_pop(st);
        tl_set(l, c, TL_SEND); /* progress: the send deadline starts again */
    }
    tl_remove(l, c); /* all sent: a stream waits for nothing */
    if (st->ending) {
        stream_end(l, st);
        linger(l, c);
    }
}

/* Runs the source, then sends what it put. */
static void stream_pull(hloop *l, http_stream *st)
{
    if (st->over || !st->c || st->ending) return;
    if (!st->src.pull(st->arg, st)) st->ending = true;
    stream_flush(l, st);
}

/* The head is out: the connection carries the stream from now on. */
static void stream_begin(hloop *l, conn *c, http_stream *st)
{
    if (c->peer_closed || atomic_load(&l->s->stopping)) {
        stream_end(l, st);
        if (c->peer_closed) {
            c->st = CS_LINGER;
            conn_close(l, c);
        } else {
            linger(l, c);
        }
        return;
    }
    c->st = CS_STREAM;
    c->stream = st;
    c->in_len = 0; /* requests pipelined behind it are never answered */
    st->c = c;
    dlist_push(&l->streams, &st->link);
    tl_remove(l, c);
    stream_pull(l, st);
}

/* What the client sends on a stream is read and dropped; its FIN or an
 * error ends the stream. */
static void stream_read(hloop *l, conn *c)
{
    bool ok;
    do {
        ok = conn_read(l, c);
        c->in_len = 0;
    } while (ok && !c->drained && !c->peer_closed);
    if (!ok || c->peer_closed || c->rdhup) {
        c->st = CS_LINGER;
        conn_close(l, c);
    }
}

/* The streams woken since the last look. */
static void take_wakes(hloop *l)
{
    mail_link *list = mailbox_take(&l->wakes);
    while (list) {
        mail_link *next = list->next; /* before the stream may be posted again */
        http_stream *st = MAIL_ITEM(list, http_stream, wake);
        atomic_store(&st->woken, false);
        stream_pull(l, st);
        http_stream_release(st);
        list = next;
    }
}

/* Every open stream, once per STREAM_TICK_MS: the sources keep time. */
static void tick_streams(hloop *l, int64_t now)
{
    if (now < l->tick_ms) return;
    l->tick_ms = now + STREAM_TICK_MS;
    for (dlink *d = l->streams.first; d;) {
        http_stream *st = DLIST_ITEM(d, http_stream, link);
        d = d->next; /* pulling may end this stream, never another */
        stream_pull(l, st);
    }
}

/* ---- workers ------------------------------------------------------------- */

/* w's mail (its answer, or a step to run) for the loop: queued directly
 * on the loop thread, through the mailbox from any other. */
static void post(req_work *w)
{
    hloop *l = w->l;
    if (loop_of == l) {
        w->done.next = NULL;
        if (l->ready_last)
            l->ready_last->next = &w->done;
        else
            l->ready = &w->done;
        l->ready_last = &w->done;
    } else {
        mailbox_post(&l->done, &w->done);
    }
}

/* The answer's bytes, counted against max_unsent_bytes: when answers that
 * clients have not taken yet would pass it, this one becomes a 503 (its
 * document freed at once). A lone answer always goes, whatever its size:
 * otherwise a budget below one document would refuse every document. */
static bool build_reserved(http_server *s, req_work *w, const http_exchange *x)
{
    assert(!w->stream == !w->res.stream);
    if (!http_wire_build(&w->wire, &w->res, x)) return false;
    size_t size = w->wire.head.len + w->wire.body_len;
    size_t before = atomic_fetch_add(&s->unsent, size);
    /* a stream's head is a few hundred bytes; its body is the stream's own to bound */
    if (before == 0 || before + size <= s->lim.max_unsent_bytes || w->stream) {
        w->reserved = size;
        return true;
    }
    atomic_fetch_sub(&s->unsent, size);
    http_wire_free(&w->wire);
    http_refused(REFUSE_BUSY, (const struct sockaddr *)&w->req.peer);
    http_error(&w->res, 503, "Service Unavailable",
               "Too many answers are waiting for slow clients; try again.");
    w->res.retry_after = 1;
    if (!http_wire_build(&w->wire, &w->res, x)) return false;
    w->reserved = 0;
    return true;
}

/* A usual document's size on this thread, so that the next one is
 * reserved at once instead of doubling its way up; only a hint. */
static _Thread_local size_t last_body;

/* Once res is final, on whichever thread: the answer's bytes and the log
 * line, then back to the loop. */
static void finish_request(req_work *w)
{
    http_server *s = w->l->s;
    http_response *res = &w->res;
    last_body = res->body.len;
    if (phase_get()->used) {
        phase_lap(PHASE_WRITE); /* the rest of the handler: writing the document */
        w->timed = true;
    }
    http_exchange x = {
        .method = w->req.method,
        .if_none_match = w->known[KH_IF_NONE_MATCH],
        .accept_encoding = w->known[KH_ACCEPT_ENCODING],
        .request_id = w->request_id,
        .started_us = w->started_us,
        .phases = w->timed ? phase_get() : NULL,
        .close = w->close_after,
    };
    if (res->status == 499) {
        /* the client left: nothing is sent, the line says so */
        http_log_request(w->req.method, w->req.path, 499, 0, clock_now_us() - w->started_us, w->request_id,
                         (const struct sockaddr *)&w->req.peer);
    } else if (build_reserved(s, w, &x)) {
        int64_t us = clock_now_us() - w->started_us;
        http_log_request(w->req.method, w->req.path, w->wire.status, w->wire.body_len, us, w->request_id,
                         (const struct sockaddr *)&w->req.peer);
        counters_http(res->route, w->wire.status, us, w->wire.body_len,
                      res->listing && w->wire.status == 200);
    } else {
        w->res.status = 499; /* out of memory for the answer: drop the connection */
        log_msg(LOG_ERROR, "out of memory writing an answer");
    }
    if (w->timed) w->phases = *phase_get();
    w->step_queued = false;
    post(w);
}

/* Set by http_defer and http_to_worker on the thread running a step; read
 * by that thread only (after the step returns, the request may already
 * be going on elsewhere, so its req_work is not touched again). */
static _Thread_local bool deferred;
/* The request whose step this thread runs (http_to_worker checks it). */
static _Thread_local req_work *running;

/* w's current step (the handler or w->then), then the answer unless the
 * step waits or moved. The phase record is the thread's already. */
static void run_step(req_work *w)
{
    deferred = false;
    running = w;
    if (w->then)
        w->then(w->then_arg);
    else
        w->l->s->handler(w->l->s->app, &w->req, &w->res);
    running = NULL;
    if (deferred) {
        deferred = false;
        return;
    } /* another thread finishes it */
    finish_request(w);
}

/* On the loop: a complete request's first step, its handler. */
static void start_request(req_work *w)
{
    w->res = (http_response){.status = 500};
    if (last_body > 1024) buf_reserve(&w->res.body, last_body < BODY_HINT_MAX ? last_body : BODY_HINT_MAX);
    w->then = NULL;
    phase_reset();
    run_step(w);
}

void http_defer(const http_request *req)
{
    req_work *w = (req_work *)((char *)req - offsetof(req_work, req));
    assert(!deferred && running == w);
    w->phases = *phase_get(); /* the record goes on with the request */
    deferred = true;
}

static void run_on_worker(void *arg)
{
    req_work *w = arg;
    phase_set(&w->phases);
    run_step(w);
}

bool http_to_worker(const http_request *req)
{
    if (pool_may_block()) return false; /* on a worker already */
    req_work *w = (req_work *)((char *)req - offsetof(req_work, req));
    assert(!deferred && running == w && w->res.status == 500 && w->res.body.len == 0);
    w->phases = *phase_get();
    deferred = true;
    pool_submit_item(w->l->s->workers, &w->job, run_on_worker, w);
    return true;
}

void http_continue(const http_request *req, void (*fn)(void *arg), void *arg)
{
    req_work *w = (req_work *)((char *)req - offsetof(req_work, req));
    assert(fn);
    w->then = fn;
    w->then_arg = arg;
    w->step_queued = true;
    post(w);
}

http_stream *http_stream_open(const http_request *req, http_response *res, const http_stream_source *src,
                              void *arg)
{
    req_work *w = (req_work *)((char *)req - offsetof(req_work, req));
    assert(src && src->pull && src->closed && !w->stream && running == w);
    http_server *s = w->l->s;
    if (atomic_fetch_add(&s->nstreams, 1) >= s->lim.max_streams) {
        atomic_fetch_sub(&s->nstreams, 1);
        return NULL;
    }
    http_stream *st = calloc(1, sizeof *st);
    if (!st) {
        atomic_fetch_sub(&s->nstreams, 1);
        return NULL;
    }
    atomic_init(&st->refs, 2);
    atomic_init(&st->woken, false);
    st->l = w->l;
    st->src = *src;
    st->arg = arg;
    w->stream = st;
    http_response_clear_body(res);
    res->status = 200;
    res->stream = true;
    return st;
}

/* On the loop: what other threads posted, then everything queued here,
 * until nothing is left (a step run here may queue its answer, an answer
 * sent may start the next pipelined request). */
static void take_done(hloop *l, bool mail)
{
    if (mail) {
        mail_link *list = mailbox_take(&l->done);
        while (list) {
            mail_link *next = list->next;
            post(MAIL_ITEM(list, req_work, done));
            list = next;
        }
    }
    while (l->ready) {
        req_work *w = MAIL_ITEM(l->ready, req_work, done);
        l->ready = l->ready->next;
        if (!l->ready) l->ready_last = NULL;
        conn *c = w->c;
        assert(c->st == CS_HANDLER && c->w == w);
        if (w->step_queued) {
            w->step_queued = false;
            phase_set(&w->phases);
            run_step(w);
            continue;
        }
        l->in_handler--;
        c->st = CS_BODY; /* out of HANDLER: the loop owns it again */
        /* a client that only shut down its side (its FIN read: peer_closed)
         * still gets its answer, then the close; one that is gone makes the
         * write fail */
        if (w->res.status == 499) {
            atomic_fetch_sub(&l->s->unsent, w->reserved);
            conn_close(l, c);
            continue;
        }
        c->timed = w->timed;
        c->phases = w->phases;
        str_copy(c->request_id, sizeof c->request_id, w->request_id);
        start_write(l, c, &w->wire, w->close_after && !w->stream, w->reserved);
    }
}

/* ---- the loop ------------------------------------------------------------ */

#define TAG_LISTEN ((void *)1)
#define TAG_EVENT ((void *)2)
#define TAG_WAKE ((void *)3)

/* A best-effort JSON:API answer on a socket that is not a connection of
 * ours (over a cap), then closed. */
static void refuse_socket(int fd, const struct sockaddr_storage *peer, refuse_reason why, const char *detail)
{
    http_refused(why, (const struct sockaddr *)peer);
    http_response res = {.status = 503};
    http_error(&res, 503, "Service Unavailable", detail);
    res.retry_after = 1;
    char rid[37];
    http_new_request_id(rid);
    http_exchange x = {.method = "GET", .request_id = rid, .started_us = clock_now_us(), .close = true};
    http_wire w;
    if (http_wire_build(&w, &res, &x)) {
        struct iovec v[2] = {{w.head.data, w.head.len},
                             {w.nparts ? w.part[0] : NULL, w.nparts ? w.part_len[0] : 0}};
        struct msghdr m = {.msg_iov = v, .msg_iovlen = 2};
        ssize_t r = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)r;
        http_wire_free(&w);
    } else {
        buf_free(&res.body);
    }
    close(fd);
}

/* Connections accepted per wakeup: a burst of thousands (a slowloris
 * cycle) is taken in slices between the other connections' events, so
 * served clients do not wait behind it. The listener is level-triggered:
 * the rest is there on the next round. With several loops, each takes one
 * per wakeup: the kernel wakes a loop that is waiting (EPOLLEXCLUSIVE), so
 * new connections go to the idle loops and a burst is spread over all. */
#define ACCEPT_BATCH 64

static void accept_all(hloop *l)
{
    http_server *s = l->s;
    int batch = s->nloops > 1 ? 1 : ACCEPT_BATCH;
    for (int taken = 0; taken < batch; taken++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE) {
                /* out of descriptors: free the reserve, answer one, take it back */
                pthread_mutex_lock(&s->accept_mu);
                if (s->reserve_fd >= 0) {
                    close(s->reserve_fd);
                    fd = accept4(s->listen_fd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
                    if (fd >= 0)
                        refuse_socket(fd, &peer, REFUSE_GLOBAL, "The server is at its connection limit.");
                    s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                }
                pthread_mutex_unlock(&s->accept_mu);
                continue;
            }
            return; /* EAGAIN, or an error the next readiness retries */
        }
        /* counted first, so that loops accepting at once never pass the cap together */
        if (atomic_fetch_add(&s->nconns, 1) >= s->lim.max_connections) {
            atomic_fetch_sub(&s->nconns, 1);
            refuse_socket(fd, &peer, REFUSE_GLOBAL, "The server is at its connection limit.");
            continue;
        }
        ip_slot *ip = NULL;
        bool exempt = s->lim.exempt && cidr_list_contains(s->lim.exempt, (const struct sockaddr *)&peer);
        if (!exempt) {
            bool over;
            ip = ip_acquire(s, &peer, &over);
            if (over) {
                atomic_fetch_sub(&s->nconns, 1);
                refuse_socket(fd, &peer, REFUSE_PER_IP, "Too many connections from this address.");
                continue;
            }
        }
        conn *c = calloc(1, sizeof *c);
        if (!c) {
            ip_release(s, ip);
            atomic_fetch_sub(&s->nconns, 1);
            refuse_socket(fd, &peer, REFUSE_GLOBAL, "Out of memory.");
            continue;
        }
        c->fd = fd;
        c->peer = peer;
        c->ip = ip;
        c->tl = TL_NONE;
        c->st = CS_HEAD;
        buf_init(&c->body);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            ip_release(s, ip);
            atomic_fetch_sub(&s->nconns, 1);
            free(c);
            refuse_socket(fd, &peer, REFUSE_GLOBAL, "The server cannot watch more connections.");
            continue;
        }
        dlist_push(&l->all, &c->alink);
        tl_set(l, c, TL_REQUEST); /* the first request's deadline runs from the accept */
    }
}

static void on_conn_event(hloop *l, conn *c, uint32_t ev)
{
    if (c->dead) return;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->drained = false; /* something to read */
    if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->rdhup = true;
    if (ev & (EPOLLHUP | EPOLLERR)) c->peer_closed = true;
    switch (c->st) {
    case CS_HEAD:
    case CS_BODY: read_and_process(l, c); return;
    case CS_HANDLER:
        /* the worker has the request; a client that hung up is noticed
         * here (a handler may ask: http_client_gone) */
        if (ev & EPOLLRDHUP) c->peer_closed = true;
        return;
    case CS_WRITE:
        if (ev & EPOLLOUT)
            conn_write(l, c);
        else if (c->peer_closed) {
            c->st = CS_LINGER;
            conn_close(l, c);
        }
        return;
    case CS_STREAM:
        if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            stream_read(l, c);
            if (c->dead) return;
        }
        if (ev & EPOLLOUT) stream_flush(l, c->stream);
        return;
    case CS_LINGER:
        if (!conn_read(l, c) || c->peer_closed) {
            conn_close(l, c);
            return;
        }
        c->in_len = 0;
        return;
    }
}

/* Connections past their deadline; returns ms until the next one (or 1000). */
static int expire(hloop *l)
{
    int64_t now = clock_now_ms();
    int64_t next = now + 1000;
    for (int which = 0; which < TL_COUNT; which++) {
        conn *c;
        while ((c = tl_first(l, which)) && c->deadline_ms <= now) {
            switch (which) {
            case TL_REQUEST:
                refuse(l, c, 408, "The request did not arrive in time.", REFUSE_HEAD_TIMEOUT);
                if (c->st == CS_WRITE) { c->closing = true; } /* best effort: one write, then gone */
                break;
            case TL_IDLE:
                http_refused(REFUSE_IDLE_TIMEOUT, NULL);
                c->st = CS_LINGER;
                conn_close(l, c);
                break;
            case TL_SEND:
                http_refused(REFUSE_SEND_TIMEOUT, (const struct sockaddr *)&c->peer);
                c->st = CS_LINGER;
                conn_close(l, c);
                break;
            default: conn_close(l, c); break;
            }
            if (tl_first(l, which) == c) break; /* still there (a 408 being written): next round */
        }
        if ((c = tl_first(l, which)) && c->deadline_ms < next) next = c->deadline_ms;
    }
    tick_streams(l, now);
    if (l->streams.first && l->tick_ms < next) next = l->tick_ms;
    http_refusals_flush(now, false);
    int64_t wait = next - now;
    return wait < 1 ? 1 : (int)wait;
}

static void *loop_main(void *arg)
{
    hloop *l = arg;
    http_server *s = l->s;
    loop_of = l;
    pool_loop_thread();
    struct epoll_event evs[256];
    int timeout = 1000;
    for (;;) {
        bool stopping = atomic_load(&s->stopping);
        if (stopping && l->in_handler == 0) break;
        int n = epoll_wait(l->ep, evs, 256, timeout);
        bool mail = false;
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            if (tag == TAG_LISTEN) {
                if (!stopping) accept_all(l);
            } else if (tag == TAG_EVENT)
                mail = true;
            else if (tag == TAG_WAKE)
                take_wakes(l);
            else
                on_conn_event(l, tag, evs[i].events);
            if (l->ready) take_done(l, false); /* answered here: out before the next event */
        }
        take_done(l, mail);
        timeout = expire(l);
        bury(l);
    }
    while (l->all.first) {
        conn *c = DLIST_ITEM(l->all.first, conn, alink);
        if (c->st == CS_WRITE || c->st == CS_HANDLER || c->st == CS_STREAM) c->st = CS_LINGER;
        conn_close(l, c);
    }
    for (mail_link *m = mailbox_take(&l->wakes), *next; m; m = next) { /* every stream is over */
        next = m->next;
        http_stream_release(MAIL_ITEM(m, http_stream, wake));
    }
    bury(l);
    http_refusals_flush(clock_now_ms(), true);
    return NULL;
}

/* ---- start and stop -------------------------------------------------------- */

/* Room for max_connections descriptors (plus nodes, the store and slack):
 * the soft limit is raised as far as the hard one allows. */
static void raise_fd_limit(http_server *s)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = (rlim_t)s->lim.max_connections + 1024;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < want) {
        size_t fit = rl.rlim_cur > 1024 + 64 ? (size_t)(rl.rlim_cur - 1024) : 64;
        log_msg(LOG_WARN, "the open-file limit is %llu: at most %zu connections instead of %zu",
                (unsigned long long)rl.rlim_cur, fit, s->lim.max_connections);
        s->lim.max_connections = fit;
    }
}

/* The number of loops: as asked, else one per core; at most HTTP_LOOPS_MAX. */
static size_t loops_wanted(const http_limits *lim)
{
    size_t n = lim->loops;
    if (!n) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (size_t)cores : 1;
    }
    return n > HTTP_LOOPS_MAX ? HTTP_LOOPS_MAX : n;
}

/* Sets up loop l's epoll set (the shared listener, its own mailbox). */
static bool loop_init(http_server *s, hloop *l)
{
    l->s = s;
    l->lists[TL_REQUEST].ms = s->lim.request_timeout_ms;
    l->lists[TL_IDLE].ms = s->lim.keepalive_timeout_ms;
    l->lists[TL_SEND].ms = s->lim.send_timeout_ms;
    l->lists[TL_LINGER].ms = LINGER_MS;
    l->done.fd = l->wakes.fd = -1;
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    if (l->ep < 0 || !mailbox_init(&l->done) || !mailbox_init(&l->wakes)) return false;
    /* EPOLLEXCLUSIVE: a new connection wakes one waiting loop, not all */
    struct epoll_event le = {.events = EPOLLIN | (s->nloops > 1 ? EPOLLEXCLUSIVE : 0),
                             .data.ptr = TAG_LISTEN};
    struct epoll_event ee = {.events = EPOLLIN, .data.ptr = TAG_EVENT};
    struct epoll_event we = {.events = EPOLLIN, .data.ptr = TAG_WAKE};
    return epoll_ctl(l->ep, EPOLL_CTL_ADD, s->listen_fd, &le) == 0 &&
        epoll_ctl(l->ep, EPOLL_CTL_ADD, l->done.fd, &ee) == 0 &&
        epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wakes.fd, &we) == 0;
}

static void loop_destroy(hloop *l)
{
    if (l->ep >= 0) close(l->ep);
    mailbox_destroy(&l->done);
    mailbox_destroy(&l->wakes);
}

/* Stops and frees what start made: the first `started` loops run and are
 * joined (each waits for its requests in the workers). */
static void server_free(http_server *s, size_t started)
{
    atomic_store(&s->stopping, true);
    /* no new connections from here on: the listener stops listening (its
     * queue is reset) but its number stays ours until the loops are gone */
    shutdown(s->listen_fd, SHUT_RDWR);
    for (size_t i = 0; i < started; i++) {
        epoll_ctl(s->loops[i].ep, EPOLL_CTL_DEL, s->listen_fd, NULL);
        mailbox_wake(&s->loops[i].done);
    }
    for (size_t i = 0; i < started; i++) pthread_join(s->loops[i].thread, NULL);
    if (s->workers) pool_free(s->workers);
    for (size_t i = 0; i < s->nloops; i++) loop_destroy(&s->loops[i]);
    for (size_t b = 0; b < IP_BUCKETS; b++)
        while (s->ips[b]) {
            ip_slot *e = s->ips[b];
            s->ips[b] = e->next;
            free(e);
        }
    close(s->listen_fd);
    if (s->reserve_fd >= 0) close(s->reserve_fd);
    pthread_mutex_destroy(&s->accept_mu);
    free(s->loops);
    free(s);
}

http_server *http_server_start(int listen_fd, const http_limits *lim, http_handler handler, void *app,
                               char err[256])
{
    assert(lim && handler);
    http_server *s = calloc(1, sizeof *s);
    size_t n = loops_wanted(lim);
    hloop *loops = calloc(n, sizeof *loops);
    if (!s || !loops) {
        snprintf(err, 256, "out of memory");
        close(listen_fd);
        free(s);
        free(loops);
        return NULL;
    }
    s->lim = *lim;
    s->handler = handler;
    s->app = app;
    s->listen_fd = listen_fd;
    s->loops = loops;
    s->nloops = n;
    pthread_mutex_init(&s->accept_mu, NULL);
    for (size_t i = 0; i < n; i++) s->loops[i].ep = -1, s->loops[i].done.fd = s->loops[i].wakes.fd = -1;
    raise_fd_limit(s);
    s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int fl = fcntl(listen_fd, F_GETFL);
    bool ok = fl >= 0 && fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) == 0;
    for (size_t i = 0; ok && i < n; i++) ok = loop_init(s, &s->loops[i]);
    if (!ok) {
        snprintf(err, 256, "cannot set up the event loops: %s", strerror(errno));
        server_free(s, 0);
        return NULL;
    }
    s->workers = pool_new(lim->workers ? lim->workers : 1);
    if (!s->workers) {
        snprintf(err, 256, "cannot start worker threads");
        server_free(s, 0);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (pthread_create(&s->loops[i].thread, NULL, loop_main, &s->loops[i]) != 0) {
            snprintf(err, 256, "cannot start the event loop threads");
            server_free(s, i);
            return NULL;
        }
    return s;
}

void http_server_stop(http_server *s)
{
    if (s) server_free(s, s->nloops);
}

bool http_client_gone(const http_request *req)
{
    if (req->client_fd < 0) return false;
    char ch;
    ssize_t r = recv(req->client_fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 ||
        (r < 0 && (errno == ECONNRESET || errno == ENOTCONN || errno == EPIPE || errno == ETIMEDOUT));
}
