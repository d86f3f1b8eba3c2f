/* sseload: many event-stream subscribers in one thread, for the P8
 * benchmark (bench/run, docs/BENCHMARKS.md). Loopback only.
 *
 * Opens --streams connections to GET /api/rest/admin/active-call-events
 * (stream i with the i-th --query, round robin), reads them with epoll for
 * --seconds on --threads threads (2), each with its own epoll set, then
 * goes on until no stream has received anything for QUIET_MS (so no
 * round's burst is cut in two), and writes:
 *   DIR/reads-<t>.txt  one line per read that completed frames:
 *                   `<stream> <first id> <frames> <unix us>` (the latency
 *                   of those frames is measured from their round's end);
 *   DIR/audit-<i>.txt  for the first --audit streams of the first query:
 *                   `reset <id> <call id>...`, then `<id> <event> <call
 *                   id>` per event (node events: `<id> <event> -`);
 *   stdout          `streams=N open=N frames=N bytes=N id_regressions=N
 *                   closed_early=N`.
 * Ids must grow within each stream: any that does not is counted. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define QUIET_MS 400
#define MAX_QUERIES 16

typedef struct stream {
    int fd;
    char *buf;
    size_t len, cap;
    bool head_done, closed;
    uint64_t last_id;
    FILE *audit;
} stream;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
    fprintf(stderr, "sseload: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The value of field `name` ("id: ") in frame [p, end), or NULL. */
static const char *field(const char *p, const char *end, const char *name, size_t *len)
{
    size_t n = strlen(name);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if ((size_t)(le - p) >= n && memcmp(p, name, n) == 0) {
            *len = (size_t)(le - p - (ptrdiff_t)n);
            return p + n;
        }
        p = nl ? nl + 1 : end;
    }
    return NULL;
}

/* Writes the call ids ("id":"...") found in data [p, end) of a reset. */
static void audit_ids(FILE *f, const char *p, const char *end)
{
    static const char key[] = "{\"id\":\"";
    while ((p = memmem(p, (size_t)(end - p), key, sizeof key - 1))) {
        p += sizeof key - 1;
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q) return;
        fprintf(f, " %.*s", (int)(q - p), p);
        p = q;
    }
}

/* Takes the complete frames of s; returns how many, and the first id. */
static size_t take_frames(stream *s, uint64_t *first, uint64_t *regressions)
{
    size_t n = 0, off = 0;
    for (;;) {
        char *f = s->buf + off;
        char *end = memmem(f, s->len - off, "\n\n", 2);
        if (!end) break;
        off = (size_t)(end + 2 - s->buf);
        if (f[0] == ':') continue; /* a heartbeat */
        size_t il = 0, el = 0, dl = 0;
        const char *id = field(f, end, "id: ", &il);
        const char *ev = field(f, end, "event: ", &el);
        const char *data = field(f, end, "data: ", &dl);
        if (!id) continue; /* overflow, unauthorized: counted as the stream's end */
        uint64_t v = strtoull(id, NULL, 10);
        if (v <= s->last_id) (*regressions)++;
        s->last_id = v;
        if (n++ == 0) *first = v;
        if (s->audit && ev && data) {
            if (el == 5 && memcmp(ev, "reset", 5) == 0) {
                fprintf(s->audit, "reset %llu", (unsigned long long)v);
                audit_ids(s->audit, data, data + dl);
                fputc('\n', s->audit);
            } else {
                const char *cid = memmem(data, dl, "{\"id\":\"", 7);
                const char *q = cid ? memchr(cid + 7, '"', dl - (size_t)(cid + 7 - data)) : NULL;
                fprintf(s->audit, "%llu %.*s %.*s\n", (unsigned long long)v, (int)el, ev,
                        q ? (int)(q - cid - 7) : 1, q ? cid + 7 : "-");
            }
        }
    }
    memmove(s->buf, s->buf + off, s->len - off);
    s->len -= off;
    return n;
}

static void usage(void)
{
    fputs("usage: activecalls-sseload --port P --token-file F --streams N --seconds S --out DIR\n"
          "           [--query Q]... [--audit K] [--threads T]\n",
          stderr);
    exit(2);
}

/* One reading thread: streams [from, to), its own epoll set and reads file. */
typedef struct reader {
    pthread_t thread;
    stream *st;
    int from, to, seconds;
    FILE *reads;
    uint64_t frames, bytes, regressions;
    int open, early;
} reader;

static void *read_loop(void *arg)
{
    reader *rd = arg;
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    for (int i = rd->from; i < rd->to; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, rd->st[i].fd, &e) != 0) die("epoll_ctl");
    }
    rd->open = rd->to - rd->from;
    int64_t stop_at = mono_ms() + (int64_t)rd->seconds * 1000, last_data = mono_ms();
    struct epoll_event evs[256];
    while (rd->open > 0) {
        int64_t now = mono_ms();
        if (now >= stop_at && now - last_data >= QUIET_MS) break;
        int n = epoll_wait(ep, evs, 256, 100);
        for (int k = 0; k < n; k++) {
            stream *s = &rd->st[evs[k].data.u32];
            if (s->len + 65536 > s->cap) {
                s->cap *= 2;
                if (!(s->buf = realloc(s->buf, s->cap))) die("realloc");
            }
            ssize_t r = recv(s->fd, s->buf + s->len, s->cap - s->len, 0);
            int64_t t = now_us(); /* when these bytes reached the client */
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
                close(s->fd);
                s->closed = true;
                rd->open--;
                if (mono_ms() < stop_at) rd->early++;
                continue;
            }
            last_data = mono_ms();
            rd->bytes += (uint64_t)r;
            s->len += (size_t)r;
            if (!s->head_done) {
                char *h = memmem(s->buf, s->len, "\r\n\r\n", 4);
                if (!h) continue;
                if (strncmp(s->buf, "HTTP/1.1 200", 12) != 0) {
                    fprintf(stderr, "sseload: stream %u: %.*s\n", evs[k].data.u32, (int)strcspn(s->buf, "\r"),
                            s->buf);
                    exit(1);
                }
                size_t hl = (size_t)(h + 4 - s->buf);
                memmove(s->buf, s->buf + hl, s->len - hl);
                s->len -= hl;
                s->head_done = true;
            }
            uint64_t first = 0;
            size_t got = take_frames(s, &first, &rd->regressions);
            if (got) {
                rd->frames += got;
                fprintf(rd->reads, "%u %llu %zu %lld\n", evs[k].data.u32, (unsigned long long)first, got,
                        (long long)t);
            }
        }
    }
    close(ep);
    return NULL;
}

int main(int argc, char **argv)
{
    int port = 0, nstreams = 0, seconds = 0, naudit = 4, nq = 0, nthreads = 2;
    const char *token_file = NULL, *out = NULL, *queries[MAX_QUERIES];
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--streams") == 0)
            nstreams = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--audit") == 0)
            naudit = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0)
            nthreads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--token-file") == 0)
            token_file = argv[i + 1];
        else if (strcmp(argv[i], "--out") == 0)
            out = argv[i + 1];
        else if (strcmp(argv[i], "--query") == 0 && nq < MAX_QUERIES)
            queries[nq++] = argv[i + 1];
        else
            usage();
    }
    if (port <= 0 || nstreams <= 0 || seconds <= 0 || !token_file || !out || nthreads < 1 || nthreads > 64)
        usage();
    if (nq == 0) queries[nq++] = "";
    char token[2048] = "";
    FILE *tf = fopen(token_file, "r");
    if (!tf || !fgets(token, sizeof token, tf)) die(token_file);
    fclose(tf);
    token[strcspn(token, "\r\n")] = '\0';
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nstreams + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    stream *st = calloc((size_t)nstreams, sizeof *st);
    reader *rd = calloc((size_t)nthreads, sizeof *rd);
    if (!st || !rd) die("setup");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int audited = 0;
    char path[4096];
    for (int i = 0; i < nstreams; i++) {
        stream *s = &st[i];
        s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&a, sizeof a) != 0) die("connect");
        const char *q = queries[i % nq];
        char req[4096];
        int n = snprintf(req, sizeof req,
                         "GET /api/rest/admin/active-call-events%s%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Accept: text/event-stream\r\nAuthorization: Bearer %s\r\n\r\n",
                         q[0] ? "?" : "", q, token);
        if (send(s->fd, req, (size_t)n, MSG_NOSIGNAL) != n) die("send");
        s->cap = 1 << 16;
        s->buf = malloc(s->cap);
        if (!s->buf) die("malloc");
        if (i % nq == 0 && audited < naudit) {
            snprintf(path, sizeof path, "%s/audit-%d.txt", out, audited++);
            if (!(s->audit = fopen(path, "w"))) die(path);
        }
    }
    for (int t = 0; t < nthreads; t++) {
        rd[t] = (reader){.st = st,
                         .from = nstreams * t / nthreads,
                         .to = nstreams * (t + 1) / nthreads,
                         .seconds = seconds};
        snprintf(path, sizeof path, "%s/reads-%d.txt", out, t);
        if (!(rd[t].reads = fopen(path, "w"))) die(path);
        if (pthread_create(&rd[t].thread, NULL, read_loop, &rd[t]) != 0) die("pthread_create");
    }
    uint64_t frames = 0, bytes = 0, regressions = 0;
    int open = 0, early = 0;
    for (int t = 0; t < nthreads; t++) {
        pthread_join(rd[t].thread, NULL);
        fclose(rd[t].reads);
        frames += rd[t].frames;
        bytes += rd[t].bytes;
        regressions += rd[t].regressions;
        open += rd[t].open;
        early += rd[t].early;
    }
    for (int i = 0; i < nstreams; i++) {
        if (!st[i].closed) close(st[i].fd);
        if (st[i].audit) fclose(st[i].audit);
        free(st[i].buf);
    }
    printf("streams=%d open=%d frames=%llu bytes=%llu id_regressions=%llu closed_early=%d\n", nstreams, open,
           (unsigned long long)frames, (unsigned long long)bytes, (unsigned long long)regressions, early);
    free(st);
    free(rd);
    return 0;
}
