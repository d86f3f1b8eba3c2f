/* it_frontdoor: the HTTP front door against hostile clients, over raw
 * sockets on loopback (docs/API.md, "The front door"): oversize requests
 * (414/431/413) and malformed ones answered in JSON:API with our headers,
 * request framing (two lengths, length + chunked, unknown codings), NUL in
 * the target, chunked and 100-continue bodies, pipelining, HEAD; caps per
 * address, the request deadline against slowloris and slow drip, the
 * budget for answers that slow readers do not take, and the aggregated
 * refusal log. Every loop here is bounded in count and time. */
#include "harness.h"

#include "util/buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTING "/api/rest/admin/active-calls"

/* ---- raw HTTP over a socket ---------------------------------------------- */

static void close_fd(void *p)
{
    int *fd = p;
    if (*fd >= 0) close(*fd);
    free(fd);
}

/* A connection to 127.0.0.1:port from source address src (NULL: any). */
static int raw_connect_from(int port, const char *src, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int *owned = malloc(sizeof *owned);
    assert_non_null(owned);
    *owned = fd;
    h_own(owned, close_fd);
    if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (src) {
        struct sockaddr_in a = {.sin_family = AF_INET};
        inet_pton(AF_INET, src, &a.sin_addr);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) fail_msg("bind %s: %s", src, strerror(errno));
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) fail_msg("connect: %s", strerror(errno));
    return fd;
}

static int raw_connect(int port) { return raw_connect_from(port, NULL, 0); }

static void raw_send(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) fail_msg("send: %s", strerror(errno));
        c += w;
        n -= (size_t)w;
    }
}

static void raw_send_str(int fd, const char *s) { raw_send(fd, s, strlen(s)); }

/* Reads until the peer closes or timeout_ms passes; *closed says which. */
static char *raw_read(int fd, int timeout_ms, size_t *len, bool *closed)
{
    size_t cap = 65536, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    double end = h_now_ms() + timeout_ms;
    *closed = false;
    for (;;) {
        int left = (int)(end - h_now_ms());
        if (left <= 0) break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left) <= 0) break;
        if (n + 65536 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        ssize_t r = recv(fd, out + n, cap - n - 1, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            *closed = true;
            break;
        }
        n += (size_t)r;
    }
    out[n] = '\0';
    *len = n;
    return h_own(out, free);
}

typedef struct raw_resp {
    int status;
    const char *head; /* status line and headers, lower-cased names */
    const char *body;
    size_t body_len;
    bool closed;      /* the server closed the connection afterwards */
    const char *rest; /* bytes after this response (a pipelined answer) */
} raw_resp;

/* Splits the first response out of text (Content-Length framed). */
static raw_resp raw_parse(const char *text, size_t len, bool closed)
{
    raw_resp r = {.closed = closed};
    const char *end = strstr(text, "\r\n\r\n");
    if (!end) fail_msg("no complete response in: %.300s", text);
    char *head = h_strf("%.*s", (int)(end - text), text);
    for (char *p = head; *p; p++) { /* lower-case names, after the status line */
        if (*p == '\n') {
            for (char *q = p + 1; *q && *q != ':'; q++) *q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
        }
    }
    r.head = head;
    if (sscanf(text, "HTTP/1.1 %d", &r.status) != 1) fail_msg("bad status line: %.100s", text);
    const char *cl = strstr(head, "\ncontent-length: ");
    r.body = end + 4;
    r.body_len = cl ? strtoul(cl + 17, NULL, 10) : 0;
    if ((size_t)(r.body - text) + r.body_len > len) fail_msg("short body in: %.300s", text);
    r.rest = r.body + r.body_len;
    r.body = h_strf("%.*s", (int)r.body_len, r.body);
    return r;
}

/* Sends raw bytes on a new connection and reads the answer (until close or 10 s). */
static raw_resp exchange(const h_proc *server, const char *bytes, size_t n)
{
    int fd = raw_connect(server->port);
    raw_send(fd, bytes, n);
    size_t len;
    bool closed;
    char *text = raw_read(fd, 10000, &len, &closed);
    return raw_parse(text, len, closed);
}

static const char *header_of(const raw_resp *r, const char *name)
{
    const char *p = strstr(r->head, h_strf("\n%s: ", name));
    if (!p) return NULL;
    p += strlen(name) + 3;
    return h_strf("%.*s", (int)strcspn(p, "\r\n"), p);
}

/* The answer is a JSON:API error document with our headers and status. */
static void expect_refusal(const raw_resp *r, int status, bool closes)
{
    if (r->status != status) fail_msg("status %d, expected %d: %s %s", r->status, status, r->head, r->body);
    json_error_t e;
    json_t *doc = json_loads(r->body, 0, &e);
    if (!doc) fail_msg("status %d: the body is not JSON: %s", status, r->body);
    h_own(doc, (void (*)(void *))json_decref);
    json_t *err0 = json_array_get(json_object_get(doc, "errors"), 0);
    if (!err0) fail_msg("status %d: no errors[0]: %s", status, r->body);
    const char *st = json_string_value(json_object_get(err0, "status"));
    if (!st || atoi(st) != status) fail_msg("errors[0].status %s, expected %d", st ? st : "-", status);
    if (!json_is_string(json_object_get(err0, "detail"))) fail_msg("no detail: %s", r->body);
    const char *ct = header_of(r, "content-type");
    if (!ct || strcmp(ct, "application/vnd.api+json") != 0) fail_msg("content-type %s", ct ? ct : "-");
    const char *nosniff = header_of(r, "x-content-type-options");
    if (!nosniff || strcmp(nosniff, "nosniff") != 0) fail_msg("no x-content-type-options");
    if (!header_of(r, "x-frame-options") || !header_of(r, "x-request-id") || !header_of(r, "date"))
        fail_msg("shared headers missing: %s", r->head);
    if (closes) {
        const char *cn = header_of(r, "connection");
        if (!cn || strcmp(cn, "close") != 0) fail_msg("status %d without connection: close", status);
        if (!r->closed) fail_msg("status %d: the connection stayed open", status);
    }
}

static h_proc *node, *server;

static void start(const char *a1, const char *v1, const char *a2, const char *v2)
{
    const char *db = h_db_path();
    node = h_start_nodesim(1, 1, "--calls", "3", NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, node->addr, 1);
    /* four event loops, more than this machine may have cores: the caps
     * and deadlines must hold across loops, whichever loop a connection is on */
    server = h_start_server(db, "--loops", "4", a1, v1, a2, v2, NULL);
}

static void stop(void)
{
    assert_int_equal(h_stop(server), 0);
    assert_int_equal(h_stop(node), 0);
}

static const char *authed_get(const char *path, const char *extra)
{
    return h_strf("GET %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n%s\r\n", path, server->token,
                  extra ? extra : "");
}

/* ---- tests ----------------------------------------------------------------- */

/* 414, 431, 413: JSON:API documents, our headers, the connection closed. */
static void test_oversize(void **state)
{
    start("--max-body-bytes", "4096", NULL, NULL);
    size_t big = 40 * 1024;
    char *fill = h_own(malloc(big + 1), free);
    memset(fill, 'a', big);
    fill[big] = '\0';
    const char *uri = h_strf("GET /%s HTTP/1.1\r\nHost: t\r\n\r\n", fill);
    raw_resp r = exchange(server, uri, strlen(uri));
    expect_refusal(&r, 414, true);

    const char *hdrs = h_strf("GET / HTTP/1.1\r\nHost: t\r\nX-Big: %s\r\n\r\n", fill);
    r = exchange(server, hdrs, strlen(hdrs));
    expect_refusal(&r, 431, true);

    buf many;
    buf_init(&many);
    buf_puts(&many, "GET / HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 150; i++) buf_printf(&many, "X-H%d: v\r\n", i);
    buf_puts(&many, "\r\n");
    r = exchange(server, many.data, many.len);
    expect_refusal(&r, 431, true);
    buf_free(&many);

    /* a body over --max-body-bytes: refused from its Content-Length, unread */
    const char *post = "POST /api/rest/admin/auth HTTP/1.1\r\nHost: t\r\n"
                       "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{";
    r = exchange(server, post, strlen(post));
    expect_refusal(&r, 413, true);
    /* the same as a chunked body that grows past it */
    int fd = raw_connect(server->port);
    raw_send_str(fd,
                 "POST /api/rest/admin/auth HTTP/1.1\r\nHost: t\r\n"
                 "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) raw_send_str(fd, h_strf("800\r\n%.2048s\r\n", fill));
    size_t len;
    bool closed;
    char *text = raw_read(fd, 10000, &len, &closed);
    r = raw_parse(text, len, closed);
    expect_refusal(&r, 413, true);
    /* the server still serves */
    assert_int_equal(h_listing(server, "")->status, 200);
    stop();
}

/* Malformed heads: 400 (505 for HTTP/2), in JSON:API, never an HTML page. */
static void test_malformed(void **state)
{
    start(NULL, NULL, NULL, NULL);
    static const struct {
        const char *req;
        int status;
    } cases[] = {
        {"GET / HTTP/1.1 junk\r\nHost: t\r\n\r\n", 400},
        {"GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505},
        {"GET / HTTP/1\r\nHost: t\r\n\r\n", 400},
        {"G(T / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost t\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: t\r\nX: a\x01"
         "b\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\n\r\n", 400},                       /* no Host */
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400}, /* two Hosts */
        {"GET /a%zz HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"GET nothing HTTP/1.1\r\nHost: t\r\n\r\n", 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        raw_resp r = exchange(server, cases[i].req, strlen(cases[i].req));
        expect_refusal(&r, cases[i].status, true);
    }
    /* a raw NUL in the target */
    static const char nul[] = "GET /api/rest/admin/active-calls\0/x HTTP/1.1\r\nHost: t\r\n\r\n";
    raw_resp r = exchange(server, nul, sizeof nul - 1);
    expect_refusal(&r, 400, true);
    /* refusals are logged in aggregate, not one line per request */
    double end = h_now_ms() + 5000;
    while (h_log_count(server, "msg=refused") == 0 && h_now_ms() < end) usleep(100 * 1000);
    if (h_log_count(server, "msg=refused") == 0) fail_msg("no aggregated refusal line");
    if (h_log_count(server, "msg=refused") > 5) fail_msg("refusals are not aggregated");
    if (h_log_count(server, "<html") || h_log_count(server, "http: "))
        fail_msg("an HTML or library line in the log");
    stop();
}

/* Framing a proxy could read differently: refused and the connection closed,
 * so no smuggled second request runs. */
static void test_framing(void **state)
{
    start(NULL, NULL, NULL, NULL);
    const char *smuggle = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
    const char *two_lengths = h_strf("POST /api/rest/admin/auth HTTP/1.1\r\nHost: t\r\n"
                                     "Content-Type: application/json\r\n"
                                     "Content-Length: 2\r\nContent-Length: %zu\r\n\r\n{}%s",
                                     2 + strlen(smuggle), smuggle);
    raw_resp r = exchange(server, two_lengths, strlen(two_lengths));
    expect_refusal(&r, 400, true);
    if (*r.rest) fail_msg("a second answer followed: %s", r.rest);
    const char *both = h_strf("POST /api/rest/admin/auth HTTP/1.1\r\nHost: t\r\n"
                              "Content-Type: application/json\r\nContent-Length: 7\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n%s",
                              smuggle);
    r = exchange(server, both, strlen(both));
    expect_refusal(&r, 400, true);
    if (*r.rest) fail_msg("a second answer followed: %s", r.rest);
    const char *gz = "POST /api/rest/admin/auth HTTP/1.1\r\nHost: t\r\n"
                     "Transfer-Encoding: gzip, chunked\r\n\r\n";
    double t0 = h_now_ms();
    r = exchange(server, gz, strlen(gz));
    expect_refusal(&r, 501, true);
    if (h_now_ms() - t0 > 5000)
        fail_msg("TE: gzip, chunked was answered only after %.0f ms", h_now_ms() - t0);
    const char *te10 = "POST /api/rest/admin/auth HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    r = exchange(server, te10, strlen(te10));
    expect_refusal(&r, 400, true);
    /* 600 query parameters: an answer, not a dropped connection */
    buf q;
    buf_init(&q);
    buf_puts(&q, "GET " LISTING "?");
    for (int i = 0; i < 600; i++) buf_printf(&q, "%sa%d=1", i ? "&" : "", i);
    buf_puts(&q, " HTTP/1.1\r\nHost: t\r\n\r\n");
    r = exchange(server, q.data, q.len);
    buf_free(&q);
    expect_refusal(&r, 400, true);
    if (h_log_count(server, "/smuggled")) fail_msg("the smuggled request ran");
    stop();
}

/* A NUL anywhere in the target (escaped) is a 400: it never cuts a path,
 * a filter value or a call id short. */
static void test_nul(void **state)
{
    start(NULL, NULL, NULL, NULL);
    static const char *const paths[] = {
        LISTING "%00/x",
        LISTING "?filter%5Bnode-id-eq%5D=1%00,2",
        LISTING "?filter%5Bnode-id-eq%00%5D=1",
        LISTING "/1*TAG%00junk",
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        const char *req = authed_get(paths[i], NULL);
        raw_resp r = exchange(server, req, strlen(req));
        expect_refusal(&r, 400, true);
    }
    const char *del = h_strf("DELETE " LISTING "/1*TAG%%00junk HTTP/1.1\r\nHost: t\r\n"
                             "Authorization: Bearer %s\r\n\r\n",
                             server->token);
    raw_resp r = exchange(server, del, strlen(del));
    expect_refusal(&r, 400, true);
    if (h_log_count(node, "yeti.drop_call") || h_log_count(server, "method=DELETE"))
        fail_msg("the DELETE reached the application");
    stop();
}

/* Bodies in pieces, 100-continue, pipelining, HEAD. */
static void test_well_formed(void **state)
{
    start(NULL, NULL, NULL, NULL);
    /* a login with a chunked body */
    const char *body = "{\"auth\":{\"username\":\"nobody\",\"password\":\"x\"}}";
    int fd = raw_connect(server->port);
    raw_send_str(fd,
                 "POST /api/rest/admin/auth HTTP/1.1\r\nHost: t\r\n"
                 "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    raw_send_str(fd, h_strf("%zx;ext=1\r\n%.10s\r\n", (size_t)10, body));
    raw_send_str(fd, h_strf("%zx\r\n%s\r\n0\r\nX-Trailer: y\r\n\r\n", strlen(body) - 10, body + 10));
    size_t len;
    bool closed;
    char *text = raw_read(fd, 3000, &len, &closed);
    raw_resp r = raw_parse(text, len, closed);
    if (r.status != 401) fail_msg("chunked login: status %d, expected 401: %s", r.status, r.body);
    /* Expect: 100-continue: the interim answer, then the real one */
    fd = raw_connect(server->port);
    raw_send_str(fd,
                 h_strf("POST /api/rest/admin/auth HTTP/1.1\r\nHost: t\r\n"
                        "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                        "Content-Length: %zu\r\n\r\n",
                        strlen(body)));
    char cont[64] = "";
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_true(poll(&p, 1, 5000) == 1);
    ssize_t n = recv(fd, cont, sizeof cont - 1, 0);
    assert_true(n > 0);
    if (strncmp(cont, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0) fail_msg("no 100 Continue: %s", cont);
    raw_send_str(fd, body);
    text = raw_read(fd, 3000, &len, &closed);
    r = raw_parse(text, len, closed);
    assert_int_equal(r.status, 401);
    /* two requests in one write: two answers, in order */
    fd = raw_connect(server->port);
    raw_send_str(fd,
                 h_strf("%s%s", authed_get(LISTING, NULL), authed_get("/api/rest/admin/nothing-here", NULL)));
    text = raw_read(fd, 3000, &len, &closed);
    r = raw_parse(text, len, closed);
    assert_int_equal(r.status, 200);
    raw_resp r2 = raw_parse(r.rest, strlen(r.rest), closed);
    assert_int_equal(r2.status, 404);
    /* a body bigger than the input buffer, sent at once: read to its end
     * promptly (answered 400: it is no login), not left to the deadline */
    size_t blen = 600 * 1024;
    char *big = h_own(malloc(blen + 1), free);
    memset(big, ' ', blen);
    big[0] = '{';
    big[blen - 1] = '}';
    big[blen] = '\0';
    fd = raw_connect(server->port);
    raw_send_str(fd,
                 h_strf("POST /api/rest/admin/auth HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                        "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                        blen));
    raw_send(fd, big, blen);
    text = raw_read(fd, 30000, &len, &closed);
    r = raw_parse(text, len, closed);
    if (r.status != 400) fail_msg("big body: status %d (408: it was left unread)", r.status);
    /* a bare query key (no '=') is an empty value, answered by the application */
    const char *bare = authed_get(LISTING "?include&fields", NULL);
    r = exchange(server, bare, strlen(bare));
    if (r.status != 400) fail_msg("bare keys: status %d: %s", r.status, r.body);
    /* HEAD: the GET's headers, no body */
    fd = raw_connect(server->port);
    raw_send_str(fd,
                 h_strf("HEAD " LISTING " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                        "Connection: close\r\n\r\n",
                        server->token));
    text = raw_read(fd, 3000, &len, &closed);
    const char *end = strstr(text, "\r\n\r\n");
    assert_non_null(end);
    if (end[4] != '\0') fail_msg("HEAD sent a body: %s", end + 4);
    if (!strstr(text, "content-length: ") || strstr(text, "content-length: 0\r")) fail_msg("HEAD: %s", text);
    stop();
}

/* One address holding idle connections: over its cap it is answered 503
 * at once, everyone else is served, and the idle ones get a 408 at the
 * request deadline; a client dripping a byte at a time is dropped too. */
static void test_slowloris(void **state)
{
    start("--max-connections-per-ip", "20", "--request-timeout-ms", "1500");
    /* 21 connections: with several loops accepting at once, any one of
     * them may be the one over the cap; it is answered first (the others
     * only at the request deadline) */
    int all[21], fds[20];
    for (int i = 0; i < 21; i++) all[i] = raw_connect_from(server->port, "127.0.0.2", 0);
    struct pollfd ready[21];
    for (int i = 0; i < 21; i++) ready[i] = (struct pollfd){.fd = all[i], .events = POLLIN};
    if (poll(ready, 21, 5000) < 1) fail_msg("no connection over the cap was answered");
    int over = 0;
    while (!(ready[over].revents & (POLLIN | POLLHUP))) over++;
    size_t len;
    bool closed;
    char *text = raw_read(all[over], 5000, &len, &closed);
    raw_resp r = raw_parse(text, len, closed);
    expect_refusal(&r, 503, true);
    for (int i = 0, k = 0; i < 21; i++)
        if (i != over) {
            fds[k++] = all[i];
            raw_send_str(all[i], "GET / HTTP/1.1\r\nHost: t\r\n"); /* never finished */
        }
    /* another address is served meanwhile */
    assert_int_equal(h_listing(server, "")->status, 200);
    /* a drip: one header byte every 200 ms would never end */
    int drip = raw_connect(server->port);
    raw_send_str(drip, "GET / HTTP/1.1\r\n");
    double t0 = h_now_ms();
    bool dropped = false;
    for (int i = 0; i < 40 && !dropped; i++) {
        usleep(200 * 1000);
        if (send(drip, "X", 1, MSG_NOSIGNAL) < 0) dropped = true;
        struct pollfd p = {.fd = drip, .events = POLLIN};
        if (poll(&p, 1, 0) == 1) dropped = true;
    }
    if (!dropped) fail_msg("a dripping client was not dropped within %.0f ms", h_now_ms() - t0);
    /* the idle ones were answered 408 and closed */
    for (int i = 0; i < 20; i++) {
        text = raw_read(fds[i], 5000, &len, &closed);
        r = raw_parse(text, len, closed);
        expect_refusal(&r, 408, true);
    }
    double end = h_now_ms() + 5000;
    while (!h_log_count(server, "per_ip_cap=") && h_now_ms() < end) usleep(100 * 1000);
    if (!h_log_count(server, "per_ip_cap=1") || !h_log_count(server, "head_timeout="))
        fail_msg("the refusals were not logged");
    stop();
}

/* Answers that slow readers leave unsent are bounded in total: over the
 * budget a new big answer is a 503, and a reader that makes no progress is
 * dropped at the send deadline, which frees the budget. */
static void test_slow_reader(void **state)
{
    const char *db = h_db_path();
    node = h_start_nodesim(1, 1, "--calls", "3000", NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, node->addr, 1);
    server = h_start_server(db, "--max-unsent-bytes", "1048576", "--send-timeout-ms", "5000", NULL);
    const char *req = authed_get(LISTING, NULL);
    int slow = raw_connect_from(server->port, NULL, 4096);
    raw_send_str(slow, req); /* and never read */
    /* its answer is reserved once its listing is written (and logged) */
    double end = h_now_ms() + 60000;
    while (h_log_count(server, "method=GET") < 1 && h_now_ms() < end) usleep(50 * 1000);
    if (h_log_count(server, "method=GET") < 1) fail_msg("the slow reader's listing was never written");
    const char *probe = authed_get(LISTING, "Connection: close\r\n");
    int fd = raw_connect(server->port);
    raw_send_str(fd, probe);
    size_t len;
    bool closed;
    char *text = raw_read(fd, 60000, &len, &closed);
    raw_resp r = raw_parse(text, len, closed);
    expect_refusal(&r, 503, false); /* busy, not malformed: the connection may go on */
    /* the slow reader is dropped at its send deadline; then big answers flow again */
    end = h_now_ms() + 30000;
    while (!h_log_count(server, "send_timeout=") && h_now_ms() < end) usleep(100 * 1000);
    if (!h_log_count(server, "send_timeout=1")) fail_msg("the slow reader was not dropped");
    assert_int_equal(h_listing(server, "")->status, 200);
    stop();
}

/* Many connections at once, each with pipelined requests, some hanging up
 * mid-answer: every answer arrives in order, nothing breaks (under ASan
 * this is where a connection freed while a later event of the same batch
 * still named it would show). */
static void test_many_at_once(void **state)
{
    start(NULL, NULL, NULL, NULL);
    enum { CONNS = 32, PIPELINED = 10 };
    int fds[CONNS];
    for (int i = 0; i < CONNS; i++) {
        fds[i] = raw_connect(server->port);
        buf all;
        buf_init(&all);
        for (int k = 0; k < PIPELINED; k++)
            buf_puts(&all, authed_get(LISTING, k == PIPELINED - 1 ? "Connection: close\r\n" : NULL));
        raw_send(fds[i], all.data, all.len);
        buf_free(&all);
        if (i % 4 == 3) {
            shutdown(fds[i], SHUT_RDWR);
            fds[i] = -1;
        } /* gone before its answers */
    }
    for (int i = 0; i < CONNS; i++) {
        if (fds[i] < 0) continue;
        size_t len;
        bool closed;
        const char *text = raw_read(fds[i], 30000, &len, &closed);
        int answers = 0;
        while (*text) {
            raw_resp r = raw_parse(text, strlen(text), closed);
            if (r.status != 200) fail_msg("connection %d answer %d: status %d", i, answers, r.status);
            answers++;
            text = r.rest;
        }
        if (answers != PIPELINED || !closed)
            fail_msg("connection %d: %d answers, closed %d", i, answers, closed);
    }
    assert_int_equal(h_listing(server, "")->status, 200);
    stop();
}

/* A client that sends its requests and at once shuts down its side (the
 * bytes and the FIN arrive together, as `nc -N` does) gets every answer,
 * then the close: the server reads on to the FIN instead of waiting for
 * the idle timeout, and a FIN alone does not drop an answer. */
static void test_half_close(void **state)
{
    start("--keepalive-timeout-ms", "60000", NULL, NULL);
    for (int pipelined = 1; pipelined <= 3; pipelined++) {
        int fd = raw_connect(server->port);
        buf all;
        buf_init(&all);
        for (int k = 0; k < pipelined; k++) buf_puts(&all, "GET /no-such-path HTTP/1.1\r\nHost: t\r\n\r\n");
        raw_send(fd, all.data, all.len);
        buf_free(&all);
        shutdown(fd, SHUT_WR);
        size_t len;
        bool closed;
        const char *text = raw_read(fd, 5000, &len, &closed);
        if (!closed) fail_msg("%d request(s) then FIN: the connection was not closed within 5 s", pipelined);
        for (int k = 0; k < pipelined; k++) {
            raw_resp r = raw_parse(text, strlen(text), closed);
            assert_int_equal(r.status, 404);
            text = r.rest;
        }
        assert_string_equal(text, "");
    }
    stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_oversize, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_malformed, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_framing, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_nul, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_well_formed, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_slowloris, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_slow_reader, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_many_at_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_half_close, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
