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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nodes/netstring.h"
#include "util/endpoint.h"
#include "util/phase.h"

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

struct node_pool {
    pthread_mutex_t mu;
    idle_list *lists;
    size_t nlists;
    size_t max_idle;
    uint64_t max_reply_bytes;
    size_t max_calls;
};

static atomic_llong next_request_id = 1;

int64_t fanout_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

node_pool *node_pool_new(uint64_t max_reply_bytes, size_t max_calls, size_t max_idle_per_node)
{
    node_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_mutex_init(&p->mu, NULL);
    p->max_idle = max_idle_per_node ? max_idle_per_node : 1;
    p->max_reply_bytes = max_reply_bytes;
    p->max_calls = max_calls;
    return p;
}

void node_pool_free(node_pool *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nlists; i++) {
        for (size_t k = 0; k < p->lists[i].n; k++) close(p->lists[i].fds[k]);
        free(p->lists[i].fds);
        buf_free(&p->lists[i].spare);
    }
    free(p->lists);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* The node's list (created on first use); an endpoint change empties it.
 * Called with the mutex held. */
static idle_list *pool_list(node_pool *p, int64_t node_id, const char *endpoint)
{
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
    pthread_mutex_lock(&p->mu);
    idle_list *l = pool_list(p, node_id, endpoint);
    while (l && l->n > 0) {
        int cand = l->fds[--l->n];
        char c;
        ssize_t r = recv(cand, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { fd = cand; break; }
        close(cand); /* closed by the node, or stray bytes: unusable */
    }
    pthread_mutex_unlock(&p->mu);
    return fd;
}

/* Moves the node's spare reply buffer (if any) into *b, which is empty. */
static void pool_take_spare(node_pool *p, int64_t node_id, const char *endpoint, buf *b)
{
    pthread_mutex_lock(&p->mu);
    idle_list *l = pool_list(p, node_id, endpoint);
    if (l && l->spare.cap) {
        *b = l->spare;
        buf_init(&l->spare);
    }
    pthread_mutex_unlock(&p->mu);
}

/* Keeps *b as the node's spare when it has none and b is not too big;
 * frees it otherwise. *b is empty afterwards. */
static void pool_give_spare(node_pool *p, int64_t node_id, const char *endpoint, buf *b)
{
    if (b->cap && b->cap <= SPARE_MAX && !b->oom) {
        pthread_mutex_lock(&p->mu);
        idle_list *l = pool_list(p, node_id, endpoint);
        if (l && l->spare.cap == 0) {
            buf_reset(b);
            l->spare = *b;
            buf_init(b);
        }
        pthread_mutex_unlock(&p->mu);
    }
    buf_free(b);
}

static void pool_give(node_pool *p, int64_t node_id, const char *endpoint, int fd)
{
    pthread_mutex_lock(&p->mu);
    idle_list *l = pool_list(p, node_id, endpoint);
    if (l && l->n < p->max_idle) {
        l->fds[l->n++] = fd;
        fd = -1;
    }
    pthread_mutex_unlock(&p->mu);
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

/* Replies at least this big are parsed on their own thread; smaller ones
 * cost less to parse than a thread costs to start. */
#define PARSE_THREAD_MIN (256 * 1024)

enum job_state { J_CONNECTING, J_SENDING, J_READING, J_PARSING, J_DONE };

typedef struct job {
    node_pool *pool;
    const node_target *target;
    const node_call *call;
    node_result *res;
    enum job_state st;
    int fd;
    bool reused, retried, reusable;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    buf req;
    size_t sent;
    uint64_t received;
    int64_t req_id;
    ns_decoder dec;
    buf payload;       /* the reply being received */
    reply_parser *rp;
    pthread_t parser;  /* J_PARSING: the thread parsing payload */
    reply_outcome outcome;
    int64_t parse_us;
} job;

static void job_finish(job *j, node_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void job_finish(job *j, node_status st, const char *fmt, ...)
{
    j->res->status = st;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(j->res->detail, sizeof j->res->detail, fmt, ap);
        va_end(ap);
    }
    if (j->fd >= 0) {
        if (st == NODE_OK || st == NODE_ERR_RPC) {
            if (j->reusable) pool_give(j->pool, j->target->id, j->target->endpoint, j->fd);
            else close(j->fd);
        } else {
            close(j->fd);
        }
        j->fd = -1;
    }
    j->st = J_DONE;
}

static int payload_sink(void *ctx, const char *p, size_t n)
{
    job *j = ctx;
    /* the header announced the size (within the limit): one allocation */
    if (j->payload.len == 0 && !buf_reserve(&j->payload, (size_t)ns_decoder_expected(&j->dec)))
        return -1;
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
    if (!j->rp) { job_finish(j, NODE_ERR_NETWORK, "out of memory"); return; }
    reply_parser_limit_records(j->rp, j->pool->max_calls);
    ns_decoder_init(&j->dec, j->pool->max_reply_bytes, payload_sink, j);
    encode_request(j);
    if (j->req.oom) { job_finish(j, NODE_ERR_NETWORK, "out of memory"); return; }
    j->sent = 0;
    j->received = 0;
    j->reusable = true;

    j->fd = allow_reuse ? pool_take(j->pool, j->target->id, j->target->endpoint) : -1;
    j->reused = j->fd >= 0;
    if (j->reused) { j->st = J_SENDING; return; }

    j->fd = socket(j->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (j->fd < 0) { job_finish(j, NODE_ERR_NETWORK, "socket: %s", strerror(errno)); return; }
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
    int64_t t0 = phase_now_us();
    j->outcome = reply_parser_parse_all(j->rp, j->payload.data, j->payload.len);
    pool_give_spare(j->pool, j->target->id, j->target->endpoint, &j->payload);
    j->parse_us = phase_now_us() - t0;
}

static void *parse_thread(void *arg)
{
    job_parse(arg);
    return NULL;
}

static void job_complete(job *j)
{
    node_result *r = j->res;
    phase_add(PHASE_PARSE, j->parse_us);
    if (j->outcome == REPLY_OK) {
        r->has_int = reply_parser_int_result(j->rp, &r->int_result);
        job_finish(j, NODE_OK, NULL);
        return;
    }
    if (j->outcome == REPLY_RPC_ERROR) {
        r->rpc_code = reply_parser_rpc_code(j->rp);
        job_finish(j, NODE_ERR_RPC, "%s", reply_parser_detail(j->rp));
    } else {
        job_finish(j, j->outcome == REPLY_TOO_MANY_RECORDS ? NODE_ERR_TOO_MANY_RECORDS : NODE_ERR_INVALID, "%s",
                   reply_parser_detail(j->rp));
    }
    callset_free(&r->calls); /* records read before the problem: nobody lists them */
}

static void job_on_frame_done(job *j, size_t leftover)
{
    if (leftover) j->reusable = false; /* bytes beyond the one reply we asked for */
    if (j->payload.len >= PARSE_THREAD_MIN && pthread_create(&j->parser, NULL, parse_thread, j) == 0) {
        j->st = J_PARSING; /* joined at the end of node_pool_run */
        return;
    }
    job_parse(j);
    job_complete(j);
}

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
            job_broken(j, j->received ? "node closed the connection mid-reply"
                                      : "node closed the connection without replying");
            return;
        }
        j->received += (uint64_t)n;
        size_t used = 0;
        switch (ns_decoder_feed(&j->dec, chunk, (size_t)n, &used)) {
        case NS_MORE: break;
        case NS_DONE: job_on_frame_done(j, (size_t)n - used); return;
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
        default:
            job_finish(j, NODE_ERR_INVALID, "not a netstring reply");
            return;
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
        if (revents & (POLLERR | POLLHUP) && !(revents & POLLOUT)) job_broken(j, "connection reset");
        else job_send(j);
        break;
    case J_READING: job_read(j); break;
    case J_PARSING:
    case J_DONE: break;
    }
}

void node_pool_run(node_pool *pool, size_t n, const node_target *targets,
                   const node_call *calls, int timeout_ms, node_result *results)
{
    if (n == 0) return;
    int64_t deadline = fanout_now_ms() + timeout_ms;
    job *jobs = calloc(n, sizeof *jobs);
    struct pollfd *pfd = calloc(n, sizeof *pfd);
    size_t *which = calloc(n, sizeof *which);
    if (!jobs || !pfd || !which) {
        for (size_t i = 0; i < n; i++) {
            results[i].status = NODE_ERR_NETWORK;
            snprintf(results[i].detail, sizeof results[i].detail, "out of memory");
        }
        free(jobs); free(pfd); free(which);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        job *j = &jobs[i];
        *j = (job){.pool = pool, .target = &targets[i], .call = &calls[i], .res = &results[i], .fd = -1};
        buf_init(&j->req);
        buf_init(&j->payload);
        char err[128];
        if (endpoint_parse(targets[i].endpoint, &j->addr, &j->addrlen, err) != 0) {
            job_finish(j, NODE_ERR_ENDPOINT, "%s", err);
            continue;
        }
        job_start(j, true);
        if (j->st == J_SENDING) job_send(j);
    }

    for (;;) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (jobs[i].st == J_DONE || jobs[i].st == J_PARSING) continue;
            pfd[k] = (struct pollfd){.fd = jobs[i].fd,
                                     .events = jobs[i].st == J_READING ? POLLIN : POLLOUT};
            which[k++] = i;
        }
        if (k == 0) break;
        int64_t left = deadline - fanout_now_ms();
        if (left <= 0) break;
        int r = poll(pfd, k, (int)left);
        if (r < 0 && errno != EINTR) break;
        for (size_t x = 0; r > 0 && x < k; x++)
            if (pfd[x].revents) job_step(&jobs[which[x]], pfd[x].revents);
    }

    for (size_t i = 0; i < n; i++) {
        job *j = &jobs[i];
        if (j->st == J_PARSING) {
            pthread_join(j->parser, NULL); /* the reply came in time: finish parsing it */
            job_complete(j);
        }
        if (j->st != J_DONE)
            job_finish(j, NODE_ERR_TIMEOUT, "no complete reply within %d ms", timeout_ms);
        reply_parser_free(j->rp);
        buf_free(&j->req);
        pool_give_spare(pool, j->target->id, j->target->endpoint, &j->payload);
    }
    free(jobs);
    free(pfd);
    free(which);
}
