/* harness_node: talking to nodes directly, and a recording fake node
 * (see harness.h, "talking to nodes directly"). docs/CONTRACT.md §7: JSON-RPC 2.0 in
 * netstrings (`<len>:<bytes>,`) over TCP. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RPC_TIMEOUT_MS 5000
#define FAKE_MAX_CONNS 32
#define FAKE_MAX_FRAME (16 * 1024 * 1024)

/* ------------------------------------------------------------------ */
/* netstrings                                                          */

/* A complete frame at the start of buf[0..len): its payload and the frame
 * length. 0 = need more, -1 = not a netstring. */
static int frame_parse(const char *buf, size_t len, const char **payload, size_t *plen, size_t *flen)
{
    size_t n = 0, i = 0;
    for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
        n = n * 10 + (size_t)(buf[i] - '0');
        if (n > FAKE_MAX_FRAME || i > 9) return -1;
    }
    if (i == len) return 0;
    if (i == 0 || buf[i] != ':') return -1;
    if (len < i + 1 + n + 1) return 0;
    if (buf[i + 1 + n] != ',') return -1;
    *payload = buf + i + 1;
    *plen = n;
    *flen = i + 1 + n + 1;
    return 1;
}

static char *frame_make(const char *payload, size_t *out_len)
{
    size_t n = strlen(payload);
    char *f = malloc(n + 32);
    if (f == NULL) return NULL;
    int h = snprintf(f, 32, "%zu:", n);
    memcpy(f + h, payload, n);
    f[h + n] = ',';
    *out_len = (size_t)h + n + 1;
    return f;
}

static int connect_addr(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || strncmp(addr, "127.0.0.1:", 10) != 0)
        fail_msg("h_node_rpc: only 127.0.0.1:PORT, not %s", addr);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_msg("socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        fail_msg("connect %s: %s", addr, strerror(e));
    }
    return fd;
}

static void close_fd(void *p)
{
    int *fd = p;
    if (*fd >= 0) close(*fd);
    free(fd);
}

json_t *h_node_rpc(const char *addr, const char *method, const char *params_json)
{
    int *fd = h_own(malloc(sizeof *fd), close_fd);
    *fd = connect_addr(addr);
    const char *req = h_strf("{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":%s,\"id\":7}", method,
                             params_json ? params_json : "[]");
    size_t flen;
    char *frame = h_own(frame_make(req, &flen), free);
    for (size_t off = 0; off < flen;) {
        ssize_t k = send(*fd, frame + off, flen - off, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) fail_msg("h_node_rpc %s %s: send: %s", addr, method, strerror(errno));
        off += (size_t)k;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    double end = h_now_ms() + RPC_TIMEOUT_MS;
    for (;;) {
        const char *payload;
        size_t plen, fl;
        int r = frame_parse(buf ? buf : "", len, &payload, &plen, &fl);
        if (r < 0) {
            free(buf);
            fail_msg("h_node_rpc %s %s: the reply is not a netstring", addr, method);
        }
        if (r > 0) {
            json_error_t err;
            json_t *reply = json_loadb(payload, plen, 0, &err);
            free(buf);
            if (reply == NULL)
                fail_msg("h_node_rpc %s %s: the reply is not JSON: %s", addr, method, err.text);
            close(*fd);
            *fd = -1;
            return h_own(reply, (void (*)(void *))json_decref);
        }
        int left = (int)(end - h_now_ms());
        struct pollfd p = {.fd = *fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            free(buf);
            fail_msg("h_node_rpc %s %s: no reply within %d ms", addr, method, RPC_TIMEOUT_MS);
        }
        if (len + 65536 > cap) {
            cap = cap ? cap * 2 : 131072;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fail_msg("out of memory");
            }
            buf = nb;
        }
        ssize_t k = recv(*fd, buf + len, cap - len, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            free(buf);
            fail_msg("h_node_rpc %s %s: connection closed before a reply", addr, method);
        }
        len += (size_t)k;
    }
}

long long h_node_count(const char *addr)
{
    json_t *reply = h_node_rpc(addr, "yeti.show.calls.count", "[]");
    json_t *result = json_object_get(reply, "result");
    if (!json_is_integer(result)) {
        char *d = json_dumps(reply, JSON_COMPACT);
        const char *ds = h_strf("%s", d ? d : "?");
        free(d);
        fail_msg("yeti.show.calls.count at %s: no integer result: %s", addr, ds);
    }
    return json_integer_value(result);
}

/* ------------------------------------------------------------------ */
/* the fake node                                                       */

typedef struct fake_conn {
    int fd;
    char *in;
    size_t in_len, in_cap;
} fake_conn;

struct h_fake_node {
    pthread_t thread;
    bool started;
    int listen_fd;
    int wake[2];
    char addr[64];
    pthread_mutex_t mu;
    json_t *calls;    /* array of records */
    json_t *requests; /* array of {method, params} */
    json_t *failures; /* object: method -> {code, message} */
    char *raw;        /* h_fake_node_reply_raw: the reply for every request, or NULL */
    bool raw_frame;
    fake_conn conns[FAKE_MAX_CONNS];
};

static json_t *fake_result(h_fake_node *n, const char *method, json_t *params, bool *is_error)
{
    *is_error = false;
    json_t *f = json_object_get(n->failures, method);
    if (f != NULL) {
        *is_error = true;
        return json_incref(f);
    }
    if (strcmp(method, "yeti.show.calls") == 0) {
        json_t *out = json_array();
        size_t i;
        json_t *rec;
        json_array_foreach(n->calls, i, rec)
        {
            const char *tag = json_string_value(json_object_get(rec, "local_tag"));
            bool want = json_array_size(params) == 0;
            size_t k;
            json_t *p;
            json_array_foreach(params, k, p) want |=
                tag && json_is_string(p) && strcmp(tag, json_string_value(p)) == 0;
            if (want) json_array_append(out, rec);
        }
        return out;
    }
    if (strcmp(method, "yeti.show.calls.count") == 0)
        return json_integer((json_int_t)json_array_size(n->calls));
    if (strcmp(method, "yeti.request.call.disconnect") == 0) {
        const char *want = json_string_value(json_array_get(params, 0));
        size_t i;
        json_t *rec;
        json_array_foreach(n->calls, i, rec)
        {
            const char *tag = json_string_value(json_object_get(rec, "local_tag"));
            if (want && tag && strcmp(tag, want) == 0) {
                json_array_remove(n->calls, i);
                return json_string("Dropped");
            }
        }
        *is_error = true;
        return json_pack("{s:i,s:s}", "code", -32001, "message", "call not found");
    }
    *is_error = true;
    return json_pack("{s:i,s:s}", "code", -32601, "message", "Method not found");
}

/* The raw reply for a request with this id: "@ID@" replaced, framed if
 * asked (under n->mu). */
static char *raw_reply(const h_fake_node *n, const json_t *id, size_t *len)
{
    char *id_text = json_dumps(id ? id : json_null(), JSON_ENCODE_ANY | JSON_COMPACT);
    size_t id_len = id_text ? strlen(id_text) : 0, cap = strlen(n->raw) + 1;
    for (const char *p = n->raw; (p = strstr(p, "@ID@")) != NULL; p += 4) cap += id_len;
    char *text = malloc(cap);
    if (text == NULL || id_text == NULL) {
        free(text);
        free(id_text);
        return NULL;
    }
    size_t k = 0;
    for (const char *p = n->raw; *p;) {
        if (strncmp(p, "@ID@", 4) == 0) {
            memcpy(text + k, id_text, id_len);
            k += id_len;
            p += 4;
        } else {
            text[k++] = *p++;
        }
    }
    text[k] = '\0';
    free(id_text);
    if (!n->raw_frame) {
        *len = k;
        return text;
    }
    char *frame = frame_make(text, len);
    free(text);
    return frame;
}

/* Answers every complete request in c->in; false when the peer is broken. */
static bool fake_serve(h_fake_node *n, fake_conn *c)
{
    size_t off = 0;
    bool ok = true;
    for (;;) {
        const char *payload;
        size_t plen, flen;
        int r = frame_parse(c->in + off, c->in_len - off, &payload, &plen, &flen);
        if (r < 0) {
            ok = false;
            break;
        }
        if (r == 0) break;
        off += flen;
        json_t *req = json_loadb(payload, plen, 0, NULL);
        const char *method = json_string_value(json_object_get(req, "method"));
        json_t *params = json_object_get(req, "params");
        json_t *id = json_object_get(req, "id");
        pthread_mutex_lock(&n->mu);
        json_array_append_new(
            n->requests,
            json_pack("{s:s,s:O}", "method", method ? method : "", "params", params ? params : json_null()));
        size_t len;
        char *frame = NULL;
        if (n->raw != NULL) {
            frame = raw_reply(n, id, &len);
            pthread_mutex_unlock(&n->mu);
        } else {
            bool is_error;
            json_t *result = fake_result(n, method ? method : "", params, &is_error);
            pthread_mutex_unlock(&n->mu);
            json_t *reply = json_pack("{s:s,s:o,s:O}", "jsonrpc", "2.0", is_error ? "error" : "result",
                                      result, "id", id ? id : json_null());
            char *text = json_dumps(reply, JSON_COMPACT);
            json_decref(reply);
            frame = text ? frame_make(text, &len) : NULL;
            free(text);
        }
        json_decref(req);
        if (frame == NULL) {
            ok = false;
            break;
        }
        for (size_t w = 0; w < len;) {
            ssize_t k = send(c->fd, frame + w, len - w, MSG_NOSIGNAL);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) {
                ok = false;
                break;
            }
            w += (size_t)k;
        }
        free(frame);
        if (!ok) break;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return ok;
}

static void fake_drop_conn(fake_conn *c)
{
    close(c->fd);
    free(c->in);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static void *fake_main(void *arg)
{
    h_fake_node *n = arg;
    for (;;) {
        struct pollfd fds[2 + FAKE_MAX_CONNS];
        fds[0] = (struct pollfd){.fd = n->wake[0], .events = POLLIN};
        fds[1] = (struct pollfd){.fd = n->listen_fd, .events = POLLIN};
        for (int i = 0; i < FAKE_MAX_CONNS; i++)
            fds[2 + i] = (struct pollfd){.fd = n->conns[i].fd, .events = POLLIN};
        if (poll(fds, 2 + FAKE_MAX_CONNS, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[0].revents) break;
        if (fds[1].revents & POLLIN) {
            int fd = accept4(n->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            int slot = -1;
            for (int i = 0; fd >= 0 && i < FAKE_MAX_CONNS && slot < 0; i++)
                if (n->conns[i].fd < 0) slot = i;
            if (slot >= 0)
                n->conns[slot].fd = fd;
            else if (fd >= 0)
                close(fd);
        }
        for (int i = 0; i < FAKE_MAX_CONNS; i++) {
            fake_conn *c = &n->conns[i];
            if (c->fd < 0 || fds[2 + i].revents == 0) continue;
            if (c->in_len + 65536 > c->in_cap) {
                size_t cap = c->in_cap ? c->in_cap * 2 : 131072;
                char *nb = realloc(c->in, cap);
                if (nb == NULL) {
                    fake_drop_conn(c);
                    continue;
                }
                c->in = nb;
                c->in_cap = cap;
            }
            ssize_t k = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) {
                fake_drop_conn(c);
                continue;
            }
            c->in_len += (size_t)k;
            if (!fake_serve(n, c)) fake_drop_conn(c);
        }
    }
    return NULL;
}

static void fake_stop(void *p)
{
    h_fake_node *n = p;
    if (n->started) {
        ssize_t k = write(n->wake[1], "x", 1);
        (void)k;
        pthread_join(n->thread, NULL);
    }
    for (int i = 0; i < FAKE_MAX_CONNS; i++)
        if (n->conns[i].fd >= 0) fake_drop_conn(&n->conns[i]);
    if (n->listen_fd >= 0) close(n->listen_fd);
    if (n->wake[0] >= 0) close(n->wake[0]);
    if (n->wake[1] >= 0) close(n->wake[1]);
    json_decref(n->calls);
    json_decref(n->requests);
    json_decref(n->failures);
    free(n->raw);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

h_fake_node *h_fake_node_start(const json_t *calls)
{
    if (!json_is_array(calls)) fail_msg("h_fake_node_start: calls must be a JSON array");
    h_fake_node *n = calloc(1, sizeof *n);
    if (n == NULL) fail_msg("out of memory");
    n->listen_fd = n->wake[0] = n->wake[1] = -1;
    for (int i = 0; i < FAKE_MAX_CONNS; i++) n->conns[i].fd = -1;
    pthread_mutex_init(&n->mu, NULL);
    n->calls = json_deep_copy(calls);
    n->requests = json_array();
    n->failures = json_object();
    h_own(n, fake_stop);
    if (pipe2(n->wake, O_CLOEXEC) != 0) fail_msg("pipe: %s", strerror(errno));
    n->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (n->listen_fd < 0 || bind(n->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(n->listen_fd, 16) != 0 || getsockname(n->listen_fd, (struct sockaddr *)&a, &len) != 0)
        fail_msg("fake node: cannot listen on 127.0.0.1:0: %s", strerror(errno));
    snprintf(n->addr, sizeof n->addr, "127.0.0.1:%d", ntohs(a.sin_port));
    if (pthread_create(&n->thread, NULL, fake_main, n) != 0) fail_msg("fake node: pthread_create failed");
    n->started = true;
    return n;
}

const char *h_fake_node_addr(const h_fake_node *n) { return n->addr; }

json_t *h_fake_node_requests(h_fake_node *n)
{
    pthread_mutex_lock(&n->mu);
    json_t *copy = json_deep_copy(n->requests);
    pthread_mutex_unlock(&n->mu);
    return h_own(copy, (void (*)(void *))json_decref);
}

void h_fake_node_clear(h_fake_node *n)
{
    pthread_mutex_lock(&n->mu);
    json_array_clear(n->requests);
    pthread_mutex_unlock(&n->mu);
}

void h_fake_node_fail(h_fake_node *n, const char *method, int code, const char *message)
{
    pthread_mutex_lock(&n->mu);
    json_object_set_new(n->failures, method, json_pack("{s:i,s:s}", "code", code, "message", message));
    pthread_mutex_unlock(&n->mu);
}

void h_fake_node_reply_raw(h_fake_node *n, const char *reply, bool frame)
{
    char *copy = strdup(reply);
    if (copy == NULL) fail_msg("out of memory");
    pthread_mutex_lock(&n->mu);
    free(n->raw);
    n->raw = copy;
    n->raw_frame = frame;
    pthread_mutex_unlock(&n->mu);
}
