/* server: listener, connections, event loop, timers and fault modes (see
 * server.h). Nothing here blocks: sockets are non-blocking, writes stop at
 * EAGAIN and resume on POLLOUT, and a connection whose unsent replies pile
 * up past SIM_BACKLOG_MAX stops being read until the peer catches up, so
 * memory stays bounded however a client behaves. */
#include "server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nodes/netstring.h"
#include "util/clock.h"
#include "rng.h"
#include "rpc.h"

enum {
    SIM_MAX_REQUEST = 1 << 20, /* largest request payload accepted */
    SIM_READ_CHUNK = 64 * 1024,
    SIM_BUF_KEEP = 1 << 20,    /* drained buffers above this are freed */
    SIM_ACCEPT_PAUSE_MS = 100, /* after EMFILE and friends */
    SIM_FILLER_CHUNK = 64 * 1024,
};
static const size_t SIM_BACKLOG_MAX = (size_t)64 << 20; /* unsent reply bytes per connection */
static const uint64_t SIM_OVERSIZE_LEN = 1073741824;    /* announced by --oversize */

static const char garbage_reply[] = "HTTP/1.1 500 oops\r\nContent-Type: text/html\r\n\r\n"
                                    "<html>garbage \x01\x02\xff\xfe not a netstring</html>\r\n";
static const char oversize_head[] = "{\"jsonrpc\":\"2.0\",\"result\":[";
static const char oversize_pattern[] = "{\"local_tag\":\"OVERSIZE\",\"filler\":\""
                                       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                       "\"},";

/* A reply held back by --delay-ms. */
typedef struct pending {
    struct pending *next;
    int64_t due_ms;
    buf frame; /* the reply is frame.data[start..len) */
    size_t start;
    bool start_oversize; /* releasing it starts the --oversize stream */
} pending;

typedef struct conn {
    int fd;
    buf in; /* received, not yet decoded bytes: in.data[in_off..in.len) */
    size_t in_off;
    ns_decoder dec;
    buf req; /* payload of the request being decoded */
    buf out; /* bytes to send: out.data[out_off..out.len) */
    size_t out_off;
    pending *head, *tail;
    size_t pending_bytes;
    bool streaming; /* --oversize reply started; input is ignored */
    uint64_t oversize_left;
    uint64_t oversize_sent;
    bool eof;  /* the peer will send nothing more */
    bool dead; /* close at the end of this iteration */
} conn;

typedef struct server {
    int lfd;
    sim_calls *calls;
    const sim_server_opts *opts;
    conn **conns;
    size_t nconns, capconns;
    struct pollfd *pfds;
    size_t cappfds;
    buf spare; /* one drained big buffer, reused for the next reply */
    char *filler;
    int64_t next_churn_ms;
    int64_t accept_paused_until;
} server;

/* ---- listener ---- */

int sim_parse_listen(const char *spec, char *host, size_t hostcap, char *port, size_t portcap)
{
    const char *colon = strrchr(spec, ':');
    if (!colon) return -1;
    const char *h = spec;
    size_t hlen = (size_t)(colon - spec);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    } else if (memchr(h, ':', hlen) || memchr(h, '[', hlen) || memchr(h, ']', hlen)) {
        return -1; /* an IPv6 address needs brackets */
    }
    if (hlen == 0 || hlen >= hostcap) return -1;
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (plen == 0 || plen > 5 || plen >= portcap) return -1;
    long v = 0;
    for (size_t i = 0; i < plen; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    if (v > 65535) return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memcpy(port, p, plen + 1);
    return 0;
}

int sim_listen(const char *host, const char *port, char *bound, size_t boundcap, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    int saved = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0) break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s:%s: %s", host, port, strerror(saved));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char h[NI_MAXHOST], p[NI_MAXSERV];
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
        getnameinfo((struct sockaddr *)&ss, sl, h, sizeof h, p, sizeof p, NI_NUMERICHOST | NI_NUMERICSERV) !=
            0) {
        snprintf(err, errlen, "cannot read the bound address: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (ss.ss_family == AF_INET6)
        snprintf(bound, boundcap, "[%s]:%s", h, p);
    else
        snprintf(bound, boundcap, "%s:%s", h, p);
    return fd;
}

/* ---- connections ---- */

static int req_sink(void *ctx, const char *p, size_t n)
{
    conn *c = ctx;
    buf_append(&c->req, p, n);
    return c->req.oom ? 1 : 0;
}

static conn *conn_new(int fd)
{
    conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->fd = fd;
    buf_init(&c->in);
    buf_init(&c->req);
    buf_init(&c->out);
    ns_decoder_init(&c->dec, SIM_MAX_REQUEST, req_sink, c);
    return c;
}

static void conn_free(conn *c)
{
    close(c->fd);
    buf_free(&c->in);
    buf_free(&c->req);
    buf_free(&c->out);
    while (c->head) {
        pending *p = c->head;
        c->head = p->next;
        buf_free(&p->frame);
        free(p);
    }
    free(c);
}

static size_t backlog(const conn *c) { return c->out.len - c->out_off + c->pending_bytes; }

static bool has_output(const conn *c) { return c->out_off < c->out.len || c->oversize_left > 0; }

static bool want_read(const server *s, const conn *c)
{
    if (c->eof || c->dead) return false;
    if (s->opts->fault == SIM_FAULT_BLACKHOLE || s->opts->fault == SIM_FAULT_CLOSE || c->streaming)
        return true; /* input is discarded (or ends it), never piles up */
    return c->in_off == c->in.len && backlog(c) < SIM_BACKLOG_MAX;
}

/* Buffered requests that could be answered now (pump stops after a bounded
 * number of rounds, so the loop comes back for the rest). */
static bool can_process(const conn *c)
{
    return !c->dead && !c->streaming && c->in_off < c->in.len && backlog(c) < SIM_BACKLOG_MAX;
}

static void start_oversize(conn *c)
{
    c->oversize_left = SIM_OVERSIZE_LEN - (sizeof oversize_head - 1);
    c->oversize_sent = 0;
}

/* Keeps a drained buffer's memory for the next reply (a fresh 14 MB buffer
 * costs more in page faults than rendering the reply into it), or frees it. */
static void recycle(server *s, buf *b)
{
    if (b->cap > s->spare.cap) {
        buf_free(&s->spare);
        s->spare = *b;
        buf_reset(&s->spare);
    } else {
        buf_free(b);
    }
    buf_init(b);
}

/* Moves a released reply frame->data[start..len) into the output. */
static void emit(server *s, conn *c, buf *frame, size_t start)
{
    if (c->out_off == c->out.len) { /* nothing queued: take the buffer over */
        recycle(s, &c->out);
        c->out = *frame;
        c->out_off = start;
        buf_init(frame);
    } else {
        buf_append(&c->out, frame->data + start, frame->len - start);
        recycle(s, frame);
    }
    if (c->out.oom) c->dead = true;
}

/* Answers one decoded request according to the fault mode. */
static void handle_request(server *s, conn *c, const char *p, size_t n)
{
    const sim_server_opts *o = s->opts;
    buf frame = s->spare;
    buf_init(&s->spare);
    buf_reset(&frame);
    size_t start = 0;
    bool oversize = false;
    if (o->log_requests) sim_rpc_log_request(p ? p : "", n);
    switch (o->fault) {
    case SIM_FAULT_GARBAGE: buf_append(&frame, garbage_reply, sizeof garbage_reply - 1); break;
    case SIM_FAULT_OVERSIZE:
        buf_put_i64(&frame, (int64_t)SIM_OVERSIZE_LEN);
        buf_putc(&frame, ':');
        buf_append(&frame, oversize_head, sizeof oversize_head - 1);
        oversize = true;
        c->streaming = true; /* later requests on this connection are ignored */
        break;
    default:
        if (!sim_rpc_handle(s->calls, p ? p : "", n, &frame, &start)) {
            recycle(s, &frame);
            return;
        }
        break;
    }
    if (frame.oom) {
        fprintf(stderr, "nodesim[%lld]: out of memory building a reply; closing\n", o->node_id);
        buf_free(&frame);
        c->dead = true;
        return;
    }
    if (o->delay_ms <= 0) {
        emit(s, c, &frame, start);
        if (oversize) start_oversize(c);
        return;
    }
    pending *pe = malloc(sizeof *pe);
    if (!pe) {
        buf_free(&frame);
        c->dead = true;
        return;
    }
    pe->next = NULL;
    pe->due_ms = clock_now_ms() + o->delay_ms;
    pe->frame = frame;
    pe->start = start;
    pe->start_oversize = oversize;
    if (c->tail)
        c->tail->next = pe;
    else
        c->head = pe;
    c->tail = pe;
    c->pending_bytes += frame.len;
}

/* Decodes and answers buffered requests while the backlog allows. */
static void process_input(server *s, conn *c)
{
    while (c->in_off < c->in.len && !c->dead && !c->streaming && backlog(c) < SIM_BACKLOG_MAX) {
        size_t used = 0;
        ns_status st = ns_decoder_feed(&c->dec, c->in.data + c->in_off, c->in.len - c->in_off, &used);
        if (st == NS_MORE) {
            c->in_off = c->in.len;
            break;
        }
        if (st != NS_DONE) {
            fprintf(stderr, "nodesim[%lld]: bad request frame (%s); closing the connection\n",
                    s->opts->node_id,
                    st == NS_ERR_TOO_BIG       ? "over 1 MiB"
                        : st == NS_ERR_TRAILER ? "no trailing comma"
                        : st == NS_ERR_SINK    ? "out of memory"
                                               : "bad length header");
            c->dead = true;
            return;
        }
        c->in_off += used;
        handle_request(s, c, c->req.data, c->req.len);
        buf_reset(&c->req);
        ns_decoder_init(&c->dec, SIM_MAX_REQUEST, req_sink, c);
    }
    if (c->streaming) c->in_off = c->in.len; /* nothing more will be answered */
    if (c->in_off == c->in.len) {
        c->in_off = 0;
        c->in.len = 0;
        if (c->in.cap > SIM_BUF_KEEP) buf_free(&c->in);
    }
    if (c->req.cap > SIM_BUF_KEEP && c->req.len == 0) buf_free(&c->req);
}

/* Writes what it can. Returns true when everything queued went out. */
static bool flush(server *s, conn *c)
{
    while (!c->dead) {
        const char *p;
        size_t n;
        if (c->out_off < c->out.len) {
            p = c->out.data + c->out_off;
            n = c->out.len - c->out_off;
        } else if (c->oversize_left > 0) {
            size_t pat = sizeof oversize_pattern - 1;
            p = s->filler + c->oversize_sent % pat;
            n = c->oversize_left < SIM_FILLER_CHUNK ? (size_t)c->oversize_left : SIM_FILLER_CHUNK;
        } else {
            break;
        }
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            c->dead = true; /* the peer went away (EPIPE, ECONNRESET, ...) */
            break;
        }
        if (c->out_off < c->out.len) {
            c->out_off += (size_t)w;
        } else {
            c->oversize_left -= (uint64_t)w;
            c->oversize_sent += (uint64_t)w;
            if (c->oversize_left == 0) c->dead = true; /* announced length reached */
        }
    }
    if (c->out_off == c->out.len) {
        c->out_off = 0;
        if (c->out.cap > SIM_BUF_KEEP)
            recycle(s, &c->out);
        else
            buf_reset(&c->out);
    }
    return !c->dead && !has_output(c);
}

/* Alternates decoding and sending until neither makes progress (bounded,
 * so one busy pipeline cannot starve the other connections). */
static void pump(server *s, conn *c)
{
    for (int round = 0; round < 64 && !c->dead; round++) {
        process_input(s, c);
        if (!flush(s, c) || c->in_off == c->in.len) break;
    }
    if (c->eof && !c->dead && !has_output(c) && !c->head && c->in_off == c->in.len)
        c->dead = true; /* the peer is done and so are we */
}

static void on_readable(server *s, conn *c)
{
    sim_fault f = s->opts->fault;
    char discard[4096];
    for (int round = 0; round < 16; round++) { /* at most ~1 MiB per wake-up */
        bool drop = f == SIM_FAULT_BLACKHOLE || c->streaming;
        char *dst = discard;
        size_t room = sizeof discard;
        if (!drop) {
            if (!buf_reserve(&c->in, SIM_READ_CHUNK)) {
                c->dead = true;
                return;
            }
            dst = c->in.data + c->in.len;
            room = c->in.cap - c->in.len - 1;
        }
        ssize_t r = recv(c->fd, dst, room, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) c->dead = true;
            break;
        }
        if (r == 0) {
            c->eof = true;
            break;
        }
        if (f == SIM_FAULT_CLOSE) {
            c->dead = true;
            return;
        }
        if (drop) continue;
        c->in.len += (size_t)r;
        pump(s, c);
        if (!want_read(s, c)) break;
    }
    pump(s, c);
}

/* ---- loop ---- */

static void accept_all(server *s, int64_t now_ms)
{
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                fprintf(stderr, "nodesim[%lld]: accept: %s; pausing\n", s->opts->node_id, strerror(errno));
                s->accept_paused_until = now_ms + SIM_ACCEPT_PAUSE_MS;
            }
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (s->nconns == s->capconns) {
            size_t cap = s->capconns ? s->capconns * 2 : 16;
            conn **v = realloc(s->conns, cap * sizeof *v);
            if (!v) {
                close(fd);
                return;
            }
            s->conns = v;
            s->capconns = cap;
        }
        conn *c = conn_new(fd);
        if (!c) {
            close(fd);
            return;
        }
        s->conns[s->nconns++] = c;
    }
}

/* Moves replies whose delay is over to the output and resumes connections
 * with answerable buffered requests; returns when the loop must run next:
 * the earliest remaining due time, now_ms when work is left, or INT64_MAX. */
static int64_t service_conns(server *s, int64_t now_ms)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < s->nconns; i++) {
        conn *c = s->conns[i];
        bool released = false;
        while (c->head && c->head->due_ms <= now_ms && !c->dead) {
            pending *pe = c->head;
            c->head = pe->next;
            if (!c->head) c->tail = NULL;
            c->pending_bytes -= pe->frame.len;
            emit(s, c, &pe->frame, pe->start);
            if (pe->start_oversize) start_oversize(c);
            free(pe);
            released = true;
        }
        if (released || can_process(c)) pump(s, c);
        if (c->head && c->head->due_ms < next) next = c->head->due_ms;
        if (can_process(c)) next = now_ms;
    }
    return next;
}

static void reap(server *s)
{
    size_t j = 0;
    for (size_t i = 0; i < s->nconns; i++) {
        if (s->conns[i]->dead)
            conn_free(s->conns[i]);
        else
            s->conns[j++] = s->conns[i];
    }
    s->nconns = j;
}

static int build_pollfds(server *s, int64_t now_ms, size_t *npfd)
{
    size_t need = s->nconns + 1;
    if (need > s->cappfds) {
        struct pollfd *p = realloc(s->pfds, need * sizeof *p);
        if (!p) return -1;
        s->pfds = p;
        s->cappfds = need;
    }
    /* slot 0 is the listener; fd -1 makes poll skip it while paused */
    s->pfds[0].fd = now_ms >= s->accept_paused_until ? s->lfd : -1;
    s->pfds[0].events = POLLIN;
    s->pfds[0].revents = 0;
    for (size_t i = 0; i < s->nconns; i++) {
        conn *c = s->conns[i];
        short ev = 0;
        if (want_read(s, c)) ev |= POLLIN;
        if (has_output(c)) ev |= POLLOUT;
        s->pfds[i + 1].fd = c->fd;
        s->pfds[i + 1].events = ev;
        s->pfds[i + 1].revents = 0;
    }
    *npfd = need;
    return 0;
}

static void server_free(server *s)
{
    for (size_t i = 0; i < s->nconns; i++) conn_free(s->conns[i]);
    free(s->conns);
    free(s->pfds);
    free(s->filler);
    buf_free(&s->spare);
    close(s->lfd);
}

int sim_server_run(int lfd, sim_calls *calls, const sim_server_opts *opts, volatile sig_atomic_t *stop,
                   const sigset_t *waitmask)
{
    server s;
    memset(&s, 0, sizeof s);
    s.lfd = lfd;
    s.calls = calls;
    s.opts = opts;
    buf_init(&s.spare);
    int rc = 0;

    /* filler: the pattern repeated, one chunk long plus one pattern, so a
     * chunk can start at any offset within the pattern */
    size_t pat = sizeof oversize_pattern - 1;
    size_t flen = SIM_FILLER_CHUNK + pat;
    s.filler = malloc(flen);
    if (!s.filler) {
        fprintf(stderr, "nodesim[%lld]: out of memory\n", opts->node_id);
        server_free(&s);
        return -1;
    }
    for (size_t i = 0; i < flen; i++) s.filler[i] = oversize_pattern[i % pat];

    s.next_churn_ms = clock_now_ms() + SIM_CHURN_MS;
    while (!*stop) {
        int64_t now = clock_now_ms();
        if (opts->churn && now >= s.next_churn_ms) {
            if (sim_calls_churn(calls, sim_now_real_us()) != 0)
                fprintf(stderr, "nodesim[%lld]: out of memory during churn\n", opts->node_id);
            s.next_churn_ms += SIM_CHURN_MS;
            if (s.next_churn_ms <= now) s.next_churn_ms = now + SIM_CHURN_MS;
        }
        int64_t next = service_conns(&s, now);
        reap(&s);
        if (opts->churn && s.next_churn_ms < next) next = s.next_churn_ms;
        if (s.accept_paused_until > now && s.accept_paused_until < next) next = s.accept_paused_until;

        size_t npfd;
        if (build_pollfds(&s, now, &npfd) != 0) {
            fprintf(stderr, "nodesim[%lld]: out of memory\n", opts->node_id);
            rc = -1;
            break;
        }
        struct timespec ts, *tsp = NULL;
        if (next != INT64_MAX) {
            int64_t wait = next > now ? next - now : 0;
            ts.tv_sec = (time_t)(wait / 1000);
            ts.tv_nsec = (long)(wait % 1000) * 1000000L;
            tsp = &ts;
        }
        int n = ppoll(s.pfds, (nfds_t)npfd, tsp, waitmask);
        if (n < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "nodesim[%lld]: poll: %s\n", opts->node_id, strerror(errno));
            rc = -1;
            break;
        }
        if (n == 0) continue;

        /* connections accepted below are polled from the next iteration on */
        size_t polled = npfd - 1;
        for (size_t i = 0; i < polled; i++) {
            conn *c = s.conns[i];
            short re = s.pfds[i + 1].revents;
            if (!re) continue;
            if (re & POLLNVAL) {
                c->dead = true;
                continue;
            }
            if (re & (POLLIN | POLLHUP | POLLERR)) {
                if (want_read(&s, c))
                    on_readable(&s, c);
                else if (!has_output(c)) /* error or hang-up with nothing to send */
                    c->dead = true;
            }
            if (!c->dead && (re & (POLLOUT | POLLERR | POLLHUP)) && has_output(c)) pump(&s, c);
        }
        if (s.pfds[0].revents & POLLIN) accept_all(&s, clock_now_ms());
        reap(&s);
    }
    server_free(&s);
    return rc;
}
