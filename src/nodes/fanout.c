/* fanout: concurrent JSON-RPC requests to switch nodes; see fanout.h.
 *
 * Design. A call to node_pool_run turns each target into a job, a small
 * state machine driven by one poll() loop in the calling thread:
 *
 *   CONNECTING → SENDING → READING → done
 *
 * Sockets are non-blocking, so no node can hold the loop; the deadline is
 * absolute and the poll timeout is what is left of it. Reading feeds the
 * netstring decoder, which collects the payload into one buffer of the
 * announced size (never more than the pool's reply limit). A complete
 * reply is parsed (nodes/reply.h) right away: inline when it is small, on
 * a thread of its own when it is large, so the replies of several big
 * nodes are parsed in parallel while the loop keeps reading the others.
 * The loop joins those threads before it returns.
 *
 * The pool keeps, per node, a short list of idle connections. Taking one
 * first peeks at it: a connection the node closed (or that holds stray
 * bytes) is dropped. If a reused connection still dies before the first
 * reply byte, the job reconnects once — the node restarted, not failed. */
#include "nodes/fanout.h"
#include "metrics/counters.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nodes/netstring.h"
#include "util/clock.h"
#include "util/endpoint.h"
#include "util/mailbox.h"
#include "util/mutex.h"
#include "util/phase.h"
#include "util/pool.h"

#define READ_CHUNK 65536

/* ---- the idle-connection pool --------------------------------------------- */

typedef struct idle_list {
    int64_t node_id;
    char endpoint[256];
    int *fds;
    size_t n;
    buf spare; /* the buffer of the node's last reply, for its next one */
} idle_list;

/* A node's reply buffer is kept for its next reply: a big node answers
 * with about the same size every time, and a fresh buffer costs a page
 * fault per 4 KiB (a third of a filtered 20,000-call listing, measured).
 * Buffers above this size are not kept. */
#define SPARE_MAX ((size_t)32 << 20)

typedef struct job job;

struct node_pool {
    mutex mu; /* the idle lists */
    idle_list *lists;
    size_t nlists;
    size_t max_idle;
    uint64_t max_reply_bytes;
    size_t max_calls; /* call records a reply may hold */
    worker_pool *cpu; /* parses big replies; NULL: parse on the loop */
    /* the rounds' loop: one thread, its epoll, and what callers hand it */
    int ep;
    pthread_t loop;
    atomic_bool stopping;
    mailbox incoming;      /* rounds to start */
    mailbox parsed;        /* replies parsed on the CPU pool */
    node_round *active;    /* loop thread only */
    node_round *graveyard; /* finished this round of events (loop thread) */
};

static void *rounds_loop(void *arg);

static atomic_llong next_request_id = 1;

/* Watches mailbox m's fd in the loop's epoll set (tagged with m itself). */
static bool watch_mailbox(node_pool *p, mailbox *m)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = m};
    return epoll_ctl(p->ep, EPOLL_CTL_ADD, m->fd, &ev) == 0;
}

node_pool *node_pool_new(uint64_t max_reply_bytes, size_t max_calls, size_t max_idle_per_node,
                         worker_pool *cpu)
{
    node_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    mutex_init(&p->mu);
    p->max_idle = max_idle_per_node ? max_idle_per_node : 1;
    p->max_reply_bytes = max_reply_bytes;
    p->max_calls = max_calls;
    p->cpu = cpu;
    p->incoming.fd = p->parsed.fd = -1;
    p->ep = epoll_create1(EPOLL_CLOEXEC);
    if (p->ep < 0 || !mailbox_init(&p->incoming) || !mailbox_init(&p->parsed) ||
        !watch_mailbox(p, &p->incoming) || !watch_mailbox(p, &p->parsed) ||
        pthread_create(&p->loop, NULL, rounds_loop, p) != 0) {
        if (p->ep >= 0) close(p->ep);
        mailbox_destroy(&p->incoming);
        mailbox_destroy(&p->parsed);
        mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    return p;
}

void node_pool_free(node_pool *p)
{
    if (!p) return;
    atomic_store(&p->stopping, true);
    mailbox_wake(&p->incoming);
    pthread_join(p->loop, NULL); /* it finishes the rounds in flight first */
    close(p->ep);
    mailbox_destroy(&p->incoming);
    mailbox_destroy(&p->parsed);
    for (size_t i = 0; i < p->nlists; i++) {
        for (size_t k = 0; k < p->lists[i].n; k++) close(p->lists[i].fds[k]);
        free(p->lists[i].fds);
        buf_free(&p->lists[i].spare);
    }
    free(p->lists);
    mutex_destroy(&p->mu);
    free(p);
}

/* The node's list (created on first use); an endpoint change empties it. */
static idle_list *pool_list(node_pool *p, int64_t node_id, const char *endpoint)
{
    assert(mutex_held(&p->mu));
    for (size_t i = 0; i < p->nlists; i++) {
        idle_list *l = &p->lists[i];
        if (l->node_id != node_id) continue;
        if (strcmp(l->endpoint, endpoint) != 0) {
            for (size_t k = 0; k < l->n; k++) close(l->fds[k]);
            l->n = 0;
            snprintf(l->endpoint, sizeof l->endpoint, "%s", endpoint);
        }
        return l;
    }
    idle_list *grown = realloc(p->lists, (p->nlists + 1) * sizeof *grown);
    if (!grown) return NULL;
    p->lists = grown;
    idle_list *l = &p->lists[p->nlists];
    int *fds = calloc(p->max_idle, sizeof *fds);
    if (!fds) return NULL;
    p->nlists++;
    *l = (idle_list){.node_id = node_id, .fds = fds};
    buf_init(&l->spare);
    snprintf(l->endpoint, sizeof l->endpoint, "%s", endpoint);
    return l;
}

/* A live idle connection, or -1. */
static int pool_take(node_pool *p, int64_t node_id, const char *endpoint)
{
    int fd = -1;
    mutex_lock(&p->mu);
    idle_list *l = pool_list(p, node_id, endpoint);
    while (l && l->n > 0) {
        int cand = l->fds[--l->n];
        char c;
        ssize_t r = recv(cand, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            fd = cand;
            break;
        }
        close(cand); /* closed by the node, or stray bytes: unusable */
    }
    mutex_unlock(&p->mu);
    return fd;
}

/* Moves the node's spare reply buffer (if any) into *b, which is empty. */
static void pool_take_spare(node_pool *p, int64_t node_id, const char *endpoint, buf *b)
{
    mutex_lock(&p->mu);
    idle_list *l = pool_list(p, node_id, endpoint);
    if (l && l->spare.cap) {
        *b = l->spare;
        buf_init(&l->spare);
    }
    mutex_unlock(&p->mu);
}

/* Keeps *b as the node's spare when it has none and b is not too big;
 * frees it otherwise. *b is empty afterwards. */
static void pool_give_spare(node_pool *p, int64_t node_id, const char *endpoint, buf *b)
{
    if (b->cap && b->cap <= SPARE_MAX && !b->oom) {
        mutex_lock(&p->mu);
        idle_list *l = pool_list(p, node_id, endpoint);
        if (l && l->spare.cap == 0) {
            buf_reset(b);
            l->spare = *b;
            buf_init(b);
        }
        mutex_unlock(&p->mu);
    }
    buf_free(b);
}

static void pool_give(node_pool *p, int64_t node_id, const char *endpoint, int fd)
{
    mutex_lock(&p->mu);
    idle_list *l = pool_list(p, node_id, endpoint);
    if (l && l->n < p->max_idle) {
        l->fds[l->n++] = fd;
        fd = -1;
    }
    mutex_unlock(&p->mu);
    if (fd >= 0) close(fd);
}

/* ---- results ------------------------------------------------------------- */

const char *node_status_code(node_status s)
{
    switch (s) {
    case NODE_OK: return "ok";
    case NODE_ERR_REFUSED: return "connection-refused";
    case NODE_ERR_TIMEOUT: return "timeout";
    case NODE_ERR_CLOSED: return "connection-closed";
    case NODE_ERR_INVALID: return "invalid-reply";
    case NODE_ERR_TOO_LARGE: return "reply-too-large";
    case NODE_ERR_TOO_MANY_RECORDS: return "too-many-records";
    case NODE_ERR_DOCUMENT_TOO_LARGE: return "document-too-large";
    case NODE_ERR_RPC: return "rpc-error";
    case NODE_ERR_ENDPOINT: return "bad-endpoint";
    case NODE_ERR_NETWORK: return "network-error";
    }
    return "unknown";
}

void node_result_init(node_result *r)
{
    memset(r, 0, sizeof *r);
    callset_init(&r->calls);
}

void node_result_free(node_result *r) { callset_free(&r->calls); }

/* ---- jobs ---------------------------------------------------------------- */

/* Replies at least this big are parsed on the CPU pool while the loop
 * reads the others; smaller ones cost less to parse than to hand over. */
#define PARSE_ASYNC_MIN (256 * 1024)

typedef enum job_state { J_CONNECTING, J_SENDING, J_READING, J_PARSING, J_DONE } job_state;

struct job {
    node_pool *pool;
    node_round *rd;
    const node_target *target;
    const node_call *call;
    node_result *res;
    job_state st;
    int fd;
    bool watched; /* fd registered with the loop's epoll */
    bool reused, retried, reusable;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    buf req;
    size_t sent;
    uint64_t received;
    int64_t req_id;
    ns_decoder dec;
    buf payload; /* the reply being received */
    reply_parser *rp;
    reply_outcome outcome;
    int64_t parse_us;
    mail_link mail;  /* in the pool's mailbox of parsed replies */
    pool_item parse; /* its turn on the CPU pool */
};

static void job_watch(job *j, bool on);
static void job_done(job *j);

static void job_finish(job *j, node_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void job_finish(job *j, node_status st, const char *fmt, ...)
{
    bool had_outcome = j->st == J_DONE;
    j->res->status = st;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(j->res->detail, sizeof j->res->detail, fmt, ap);
        va_end(ap);
    }
    if (j->fd >= 0) {
        job_watch(j, false);
        if (st == NODE_OK || st == NODE_ERR_RPC) {
            if (j->reusable)
                pool_give(j->pool, j->target->id, j->target->endpoint, j->fd);
            else
                close(j->fd);
        } else {
            close(j->fd);
        }
        j->fd = -1;
    }
    j->st = J_DONE;
    if (!had_outcome) job_done(j);
}

static int payload_sink(void *ctx, const char *p, size_t n)
{
    job *j = ctx;
    /* the header announced the size (within the limit): one allocation */
    if (j->payload.len == 0 && !buf_reserve(&j->payload, (size_t)ns_decoder_expected(&j->dec))) return -1;
    buf_append(&j->payload, p, n);
    return j->payload.oom ? -1 : 0;
}

static void encode_request(job *j)
{
    buf json;
    buf_init(&json);
    buf_puts(&json, "{\"jsonrpc\":\"2.0\",\"method\":");
    buf_put_json_str(&json, j->call->method, strlen(j->call->method));
    buf_puts(&json, ",\"params\":[");
    for (size_t i = 0; i < j->call->nparams; i++) {
        if (i) buf_putc(&json, ',');
        buf_put_json_str(&json, j->call->params[i], strlen(j->call->params[i]));
    }
    buf_puts(&json, "],\"id\":");
    buf_put_i64(&json, j->req_id);
    buf_putc(&json, '}');
    buf_reset(&j->req);
    netstring_encode(&j->req, json.data, json.len);
    buf_free(&json);
}

/* (Re)starts the exchange: fresh parser state, a connection, the request. */
static void job_start(job *j, bool allow_reuse)
{
    reply_parser_free(j->rp);
    callset_reset(&j->res->calls);
    buf_reset(&j->payload);
    if (j->payload.cap == 0) pool_take_spare(j->pool, j->target->id, j->target->endpoint, &j->payload);
    j->req_id = atomic_fetch_add(&next_request_id, 1);
    j->rp = reply_parser_new(j->call->expect, j->req_id, &j->res->calls);
    if (!j->rp) {
        job_finish(j, NODE_ERR_NETWORK, "out of memory");
        return;
    }
    reply_parser_limit_records(j->rp, j->pool->max_calls);
    ns_decoder_init(&j->dec, j->pool->max_reply_bytes, payload_sink, j);
    encode_request(j);
    if (j->req.oom) {
        job_finish(j, NODE_ERR_NETWORK, "out of memory");
        return;
    }
    j->sent = 0;
    j->received = 0;
    j->reusable = true;

    j->fd = allow_reuse ? pool_take(j->pool, j->target->id, j->target->endpoint) : -1;
    j->reused = j->fd >= 0;
    if (j->reused) {
        j->st = J_SENDING;
        return;
    }

    j->fd = socket(j->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (j->fd < 0) {
        job_finish(j, NODE_ERR_NETWORK, "socket: %s", strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(j->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(j->fd, (struct sockaddr *)&j->addr, j->addrlen) == 0) {
        j->st = J_SENDING;
    } else if (errno == EINPROGRESS) {
        j->st = J_CONNECTING;
    } else if (errno == ECONNREFUSED) {
        job_finish(j, NODE_ERR_REFUSED, "connection refused by %s", j->target->endpoint);
    } else {
        job_finish(j, NODE_ERR_NETWORK, "connect to %s: %s", j->target->endpoint, strerror(errno));
    }
}

/* A reused connection that died before answering: the node restarted or
 * dropped an idle connection. Reconnect once. Otherwise: closed. */
static void job_broken(job *j, const char *what)
{
    if (j->reused && !j->retried && j->received == 0) {
        job_watch(j, false);
        close(j->fd);
        j->fd = -1;
        j->retried = true;
        job_start(j, false);
        return;
    }
    job_finish(j, NODE_ERR_CLOSED, "%s", what);
}

/* Parses the received payload and gives its buffer back to the pool; sets
 * outcome and parse_us. */
static void job_parse(job *j)
{
    int64_t t0 = clock_now_us();
    j->outcome = reply_parser_parse_all(j->rp, j->payload.data, j->payload.len);
    pool_give_spare(j->pool, j->target->id, j->target->endpoint, &j->payload);
    j->parse_us = clock_now_us() - t0;
}

static void job_send(job *j);

/* The node refused the call: ask its fallback on the same connection,
 * within what is left of the round's deadline. The node's answer stays in
 * the result (fell_back, rpc_code, detail) for the caller to remember. */
static void job_fall_back(job *j)
{
    node_result *r = j->res;
    r->fell_back = true;
    r->rpc_code = reply_parser_rpc_code(j->rp);
    snprintf(r->detail, sizeof r->detail, "%s", reply_parser_detail(j->rp));
    job_watch(j, false);
    if (j->reusable)
        pool_give(j->pool, j->target->id, j->target->endpoint, j->fd);
    else
        close(j->fd);
    j->fd = -1;
    j->call = j->call->fallback;
    j->retried = false;
    job_start(j, true);
    if (j->st == J_SENDING) job_send(j);
    if (j->st != J_DONE && j->st != J_PARSING) job_watch(j, true);
}

static void job_complete(job *j)
{
    node_result *r = j->res;
    r->parse_us = j->parse_us;
    if (j->outcome == REPLY_OK) {
        r->has_int = reply_parser_int_result(j->rp, &r->int_result);
        job_finish(j, NODE_OK, NULL);
        return;
    }
    if (j->outcome == REPLY_RPC_ERROR && j->call->fallback && !r->fell_back) {
        job_fall_back(j);
        return;
    }
    if (j->outcome == REPLY_RPC_ERROR) {
        r->rpc_code = reply_parser_rpc_code(j->rp);
        job_finish(j, NODE_ERR_RPC, "%s", reply_parser_detail(j->rp));
    } else {
        job_finish(j, j->outcome == REPLY_TOO_MANY_RECORDS ? NODE_ERR_TOO_MANY_RECORDS : NODE_ERR_INVALID,
                   "%s", reply_parser_detail(j->rp));
    }
    callset_free(&r->calls); /* records read before the problem: nobody lists them */
}

static void job_on_frame_done(job *j);

static void job_read(job *j)
{
    char chunk[READ_CHUNK];
    for (;;) {
        ssize_t n = recv(j->fd, chunk, sizeof chunk, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            job_broken(j, strerror(errno));
            return;
        }
        if (n == 0) {
            job_broken(j,
                       j->received ? "node closed the connection mid-reply"
                                   : "node closed the connection without replying");
            return;
        }
        j->received += (uint64_t)n;
        size_t used = 0;
        switch (ns_decoder_feed(&j->dec, chunk, (size_t)n, &used)) {
        case NS_MORE: break;
        case NS_DONE:
            if ((size_t)n > used) j->reusable = false; /* bytes beyond the one reply we asked for */
            job_on_frame_done(j);
            return;
        case NS_ERR_TOO_BIG:
            job_finish(j, NODE_ERR_TOO_LARGE, "reply announces %s%llu bytes; the limit is %llu",
                       ns_decoder_overflowed(&j->dec) ? "more than " : "",
                       (unsigned long long)ns_decoder_expected(&j->dec),
                       (unsigned long long)j->pool->max_reply_bytes);
            return;
        case NS_ERR_SINK:
            job_finish(j, NODE_ERR_NETWORK, "out of memory for a reply of %llu bytes",
                       (unsigned long long)ns_decoder_expected(&j->dec));
            return;
        default: job_finish(j, NODE_ERR_INVALID, "not a netstring reply"); return;
        }
    }
}

static void job_send(job *j)
{
    while (j->sent < j->req.len) {
        ssize_t n = send(j->fd, j->req.data + j->sent, j->req.len - j->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            job_broken(j, strerror(errno));
            return;
        }
        j->sent += (size_t)n;
    }
    j->st = J_READING;
}

static void job_connected(job *j)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(j->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err == 0) {
        j->st = J_SENDING;
        job_send(j);
    } else if (err == ECONNREFUSED) {
        job_finish(j, NODE_ERR_REFUSED, "connection refused by %s", j->target->endpoint);
    } else {
        job_finish(j, NODE_ERR_NETWORK, "connect to %s: %s", j->target->endpoint, strerror(err));
    }
}

static void job_step(job *j, short revents)
{
    switch (j->st) {
    case J_CONNECTING: job_connected(j); break;
    case J_SENDING:
        if (revents & (POLLERR | POLLHUP) && !(revents & POLLOUT))
            job_broken(j, "connection reset");
        else
            job_send(j);
        break;
    case J_READING: job_read(j); break;
    case J_PARSING:
    case J_DONE: break;
    }
}

/* ---- the rounds' event loop ------------------------------------------------ */

struct node_round {
    node_pool *pool;
    size_t n, pending; /* jobs; jobs without an outcome yet */
    job *jobs;
    int64_t deadline_ms;
    int64_t started_us;
    int timeout_ms;
    node_round_done done;
    void *arg;
    node_round *next; /* in the loop's list of active rounds, or the graveyard */
    bool dead;        /* finished: its jobs see no more events */
    bool fresh;       /* started this round of events: not expired yet, so that
                               * it first sees what its sockets already say (a refused
                               * connection is not a timeout, however late the loop ran) */
    mail_link mail;   /* in the pool's mailbox of rounds to start */
};

static void job_watch(job *j, bool on);

static void round_check(node_round *rd);

/* The job has its outcome: one less to wait for. */
static void job_done(job *j)
{
    assert(j->rd->pending > 0);
    j->rd->pending--;
}

static void parse_task(void *arg)
{
    job *j = arg;
    job_parse(j);
    node_pool *p = j->pool;
    mailbox_post(&p->parsed, &j->mail);
}

static void job_on_frame_done(job *j)
{
    job_watch(j, false); /* no more events until the reply is parsed */
    if (j->payload.len >= PARSE_ASYNC_MIN && j->pool->cpu) {
        j->st = J_PARSING; /* back through the loop's queue: job_parsed */
        pool_submit_item(j->pool->cpu, &j->parse, parse_task, j);
        return;
    }
    job_parse(j);
    job_complete(j);
}

static void job_parsed(job *j) { job_complete(j); }

/* Registers (on) or unregisters the job's socket with the loop. */
static void job_watch(job *j, bool on)
{
    node_pool *p = j->pool;
    if (j->fd < 0) return;
    if (!on) {
        if (j->watched) epoll_ctl(p->ep, EPOLL_CTL_DEL, j->fd, NULL);
        j->watched = false;
        return;
    }
    struct epoll_event ev = {.events = j->st == J_READING ? EPOLLIN : EPOLLOUT, .data.ptr = j};
    if (epoll_ctl(p->ep, j->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, j->fd, &ev) == 0)
        j->watched = true;
    else
        job_finish(j, NODE_ERR_NETWORK, "epoll: %s", strerror(errno));
}

static void round_begin(node_pool *p, node_round *rd)
{
    for (size_t i = 0; i < rd->n; i++) {
        job *j = &rd->jobs[i];
        if (j->st == J_DONE) continue; /* failed before it started (endpoint) */
        job_start(j, true);
        if (j->st == J_SENDING) job_send(j);
        if (j->st != J_DONE && j->st != J_PARSING) job_watch(j, true);
    }
    rd->fresh = true;
    rd->next = p->active;
    p->active = rd;
}

/* Every job has an outcome: unlink the round, tidy up, tell the caller. */
static void round_check(node_round *rd)
{
    if (rd->pending || rd->dead) return;
    node_pool *p = rd->pool;
    for (node_round **pp = &p->active; *pp; pp = &(*pp)->next)
        if (*pp == rd) {
            *pp = rd->next;
            break;
        }
    counters_round(clock_now_us() - rd->started_us);
    for (size_t i = 0; i < rd->n; i++) {
        job *j = &rd->jobs[i];
        if (j->res->status != NODE_OK) counters_node_failure(j->target->id, node_status_code(j->res->status));
        reply_parser_free(j->rp);
        buf_free(&j->req);
        pool_give_spare(p, j->target->id, j->target->endpoint, &j->payload);
    }
    /* the jobs and the round are freed after this round of events: a later
     * event of the same epoll_wait batch may still name one of its jobs */
    rd->dead = true;
    rd->next = p->graveyard;
    p->graveyard = rd;
    rd->done(rd->arg);
}

static void bury_rounds(node_pool *p)
{
    while (p->graveyard) {
        node_round *rd = p->graveyard;
        p->graveyard = rd->next;
        free(rd->jobs);
        free(rd);
    }
}

/* Jobs of rounds past their deadline time out (a reply being parsed came
 * in time: it finishes). Returns ms until the next deadline, or -1. */
static int expire_rounds(node_pool *p)
{
    int64_t now = clock_now_ms(), next = -1;
    node_round *rd = p->active;
    while (rd) {
        node_round *following = rd->next; /* round_check may retire rd */
        if (rd->fresh) {
            rd->fresh = false;
            next = now; /* looked at again right after the next events */
        } else if (rd->deadline_ms <= now) {
            for (size_t i = 0; i < rd->n; i++) {
                job *j = &rd->jobs[i];
                if (j->st != J_DONE && j->st != J_PARSING) {
                    job_watch(j, false);
                    job_finish(j, NODE_ERR_TIMEOUT, "no complete reply within %d ms", rd->timeout_ms);
                }
            }
            round_check(rd);
        } else if (next < 0 || rd->deadline_ms < next) {
            next = rd->deadline_ms;
        }
        rd = following;
    }
    return next < 0 ? -1 : (int)(next - now);
}

/* Rounds handed over by callers, in the order they came. */
static void take_rounds(node_pool *p)
{
    for (mail_link *l = mailbox_take(&p->incoming); l;) {
        node_round *rd = MAIL_ITEM(l, node_round, mail);
        l = l->next;
        round_begin(p, rd);
        round_check(rd);
    }
}

/* Replies parsed on the CPU pool. */
static void take_parsed(node_pool *p)
{
    for (mail_link *l = mailbox_take(&p->parsed); l;) {
        job *j = MAIL_ITEM(l, job, mail);
        l = l->next;
        node_round *rd = j->rd;
        job_parsed(j);
        round_check(rd);
    }
}

static void *rounds_loop(void *arg)
{
    node_pool *p = arg;
    pool_loop_thread();
    struct epoll_event evs[128];
    int timeout = -1;
    for (;;) {
        if (atomic_load(&p->stopping) && !p->active) {
            if (mailbox_empty(&p->incoming)) break; /* parses belong to active rounds */
        }
        int n = epoll_wait(p->ep, evs, 128, timeout == -2 ? 0 : timeout < 0 ? 1000 : timeout + 1);
        bool started = false;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &p->incoming) {
                take_rounds(p);
                started = true;
                continue;
            }
            if (evs[i].data.ptr == &p->parsed) {
                take_parsed(p);
                continue;
            }
            job *j = evs[i].data.ptr;
            node_round *rd = j->rd;
            if (rd->dead) continue;
            job_state before = j->st;
            job_step(j, evs[i].events);
            if (j->st != J_DONE && j->st != J_PARSING && (!j->watched || j->st != before)) job_watch(j, true);
            round_check(rd);
        }
        timeout = expire_rounds(p);
        if (started) timeout = -2; /* the rounds just started: their first look, at once */
        bury_rounds(p);
    }
    return NULL;
}

void node_pool_start(node_pool *pool, size_t n, const node_target *targets, const node_call *calls,
                     int timeout_ms, node_result *results, node_round_done done, void *arg)
{
    assert(pool && done && (n == 0 || (targets && calls && results)));
    node_round *rd = calloc(1, sizeof *rd);
    job *jobs = calloc(n ? n : 1, sizeof *jobs);
    if (!rd || !jobs) {
        for (size_t i = 0; i < n; i++) {
            results[i].status = NODE_ERR_NETWORK;
            snprintf(results[i].detail, sizeof results[i].detail, "out of memory");
        }
        free(rd);
        free(jobs);
        done(arg);
        return;
    }
    *rd = (node_round){.pool = pool,
                       .n = n,
                       .pending = n,
                       .jobs = jobs,
                       .deadline_ms = clock_now_ms() + timeout_ms,
                       .started_us = clock_now_us(),
                       .timeout_ms = timeout_ms,
                       .done = done,
                       .arg = arg};
    for (size_t i = 0; i < n; i++) {
        job *j = &jobs[i];
        *j = (job){
            .pool = pool, .rd = rd, .target = &targets[i], .call = &calls[i], .res = &results[i], .fd = -1};
        buf_init(&j->req);
        buf_init(&j->payload);
        char err[128];
        if (endpoint_parse(targets[i].endpoint, &j->addr, &j->addrlen, err) != 0)
            job_finish(j, NODE_ERR_ENDPOINT, "%s", err);
    }
    mailbox_post(&pool->incoming, &rd->mail);
}
