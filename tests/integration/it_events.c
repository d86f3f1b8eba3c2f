/* it_events: the event stream, GET /api/rest/admin/active-call-events,
 * over real sockets against real simulated nodes (docs/API.md, "The event
 * stream").
 *
 * - a stream starts with `reset` (the current calls), then call-started,
 *   call-connected and call-ended, each checked against the node's own
 *   record of what it did (nodesim --churn-log), with ids that only grow;
 *   every event's data is a JSON:API document (schema-checked at the end);
 * - a node that stops is `node-failed` (its calls are not ended), and when
 *   it answers again `node-recovered`, its calls reconciled;
 * - a filter keeps its calls only, and a call that stops matching is
 *   ended for that stream as a filter exit;
 * - Last-Event-ID resumes exactly where a stream stopped, and one older
 *   than the ring (or not an id) starts with a reset;
 * - a client that does not read gets `overflow` and the close, logged;
 * - a token that expires ends the stream with `unauthorized` (the token
 *   passed in the query, never logged);
 * - the refusals: no token, a wrong Accept, an unknown filter, a method. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EVENTS "/api/rest/admin/active-call-events"

/* ---- a small SSE client --------------------------------------------------------- */

typedef struct sse {
    int fd;
    char *buf;
    size_t len, cap;
    bool eof;
    int comments;
} sse;

typedef struct sse_event {
    char id[32];   /* "" when the event has none */
    char name[32]; /* "message" when it has none */
    char *data;    /* harness-owned */
    json_t *json;  /* data parsed */
} sse_event;

static void sse_close(void *p)
{
    sse *s = p;
    if (s->fd >= 0) close(s->fd);
    free(s->buf);
    free(s);
}

/* Opens a stream: GET EVENTS?query with the server's token in the header
 * (or, when token is not NULL, in the query), Last-Event-ID when last_id is
 * not NULL; rcvbuf > 0 shrinks the socket's receive buffer first. Returns
 * the stream once the head is read; *status gets the status (a stream only
 * when 200). */
static sse *sse_open_status(const h_proc *srv, const char *query, const char *token, const char *last_id,
                            int rcvbuf, long *status, char **head_out)
{
    sse *s = h_own(calloc(1, sizeof *s), sse_close);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    if (rcvbuf > 0) setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *q = query && query[0] ? query : "";
    const char *path = token ? h_strf("%s?%s%stoken=%s", EVENTS, q, q[0] ? "&" : "", token)
                             : h_strf("%s%s%s", EVENTS, q[0] ? "?" : "", q);
    const char *req = h_strf("GET %s HTTP/1.1\r\nHost: example.org\r\nAccept: text/event-stream\r\n%s%s\r\n",
                             path, token ? "" : h_strf("Authorization: Bearer %s\r\n", srv->token),
                             last_id ? h_strf("Last-Event-ID: %s\r\n", last_id) : "");
    assert_int_equal(send(s->fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    s->cap = 1 << 16;
    s->buf = malloc(s->cap);
    assert_non_null(s->buf);
    double until = h_now_ms() + 10000;
    char *end;
    for (;;) {
        s->buf[s->len] = '\0';
        if ((end = strstr(s->buf, "\r\n\r\n"))) break;
        struct pollfd p = {s->fd, POLLIN, 0};
        assert_true(h_now_ms() < until);
        if (poll(&p, 1, 100) <= 0) continue;
        ssize_t r = recv(s->fd, s->buf + s->len, s->cap - 1 - s->len, 0);
        assert_true(r > 0);
        s->len += (size_t)r;
    }
    size_t head = (size_t)(end + 4 - s->buf);
    *status = strtol(s->buf + 9, NULL, 10);
    if (head_out) *head_out = h_strf("%.*s", (int)head, s->buf);
    memmove(s->buf, s->buf + head, s->len - head);
    s->len -= head;
    return s;
}

static sse *sse_open(const h_proc *srv, const char *query, const char *token, const char *last_id)
{
    long status;
    char *head;
    sse *s = sse_open_status(srv, query, token, last_id, 0, &status, &head);
    assert_int_equal(status, 200);
    assert_true(h_matches(head, "\r\ncontent-type: text/event-stream\r\n"));
    assert_true(h_matches(head, "\r\ncache-control: no-cache\r\n"));
    assert_false(h_matches(head, "\r\ncontent-length:"));
    return s;
}

/* One frame from the buffer, if a whole one is there. */
static bool sse_take(sse *s, sse_event *ev)
{
    for (;;) {
        s->buf[s->len] = '\0';
        char *end = strstr(s->buf, "\n\n");
        if (!end) return false;
        *end = '\0';
        size_t used = (size_t)(end + 2 - s->buf);
        memset(ev, 0, sizeof *ev);
        strcpy(ev->name, "message");
        bool any = false;
        for (char *line = s->buf, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next) *next++ = '\0';
            if (line[0] == ':') continue;
            char *v = strchr(line, ':');
            assert_non_null(v);
            *v++ = '\0';
            if (*v == ' ') v++;
            any = true;
            if (strcmp(line, "id") == 0)
                snprintf(ev->id, sizeof ev->id, "%s", v);
            else if (strcmp(line, "event") == 0)
                snprintf(ev->name, sizeof ev->name, "%s", v);
            else if (strcmp(line, "data") == 0) {
                assert_null(ev->data); /* our data is always one line */
                ev->data = h_strf("%s", v);
            } else
                fail_msg("unknown SSE field %s", line);
        }
        if (!any) s->comments++;
        memmove(s->buf, s->buf + used, s->len - used);
        s->len -= used;
        if (!any) continue;
        assert_non_null(ev->data);
        json_error_t err;
        ev->json = h_own(json_loads(ev->data, JSON_REJECT_DUPLICATES, &err), (void (*)(void *))json_decref);
        return true;
    }
}

/* The next event within timeout_ms: true with *ev, false on timeout or
 * the end of the stream (s->eof). */
static bool sse_next(sse *s, int timeout_ms, sse_event *ev)
{
    double until = h_now_ms() + timeout_ms;
    for (;;) {
        if (sse_take(s, ev)) return true;
        if (s->eof) return false;
        int left = (int)(until - h_now_ms());
        if (left <= 0) return false;
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0) continue;
        if (s->len + 4096 > s->cap) {
            s->cap *= 2;
            s->buf = realloc(s->buf, s->cap);
            assert_non_null(s->buf);
        }
        ssize_t r = recv(s->fd, s->buf + s->len, s->cap - 1 - s->len, 0);
        if (r <= 0) {
            s->eof = true;
            continue;
        }
        s->len += (size_t)r;
    }
}

static unsigned long long id_of(const sse_event *ev)
{
    assert_true(ev->id[0] != '\0');
    return strtoull(ev->id, NULL, 10);
}

/* data.id of a call event. */
static const char *call_id(const sse_event *ev)
{
    json_t *id = json_object_get(json_object_get(ev->json, "data"), "id");
    assert_true(json_is_string(id));
    return json_string_value(id);
}

static bool is_call_event(const sse_event *ev)
{
    return strcmp(ev->name, "call-started") == 0 || strcmp(ev->name, "call-connected") == 0 ||
        strcmp(ev->name, "call-ended") == 0;
}

/* Whether the node's churn log has `<what> <tag>`. */
static bool churn_has(const char *log, const char *what, const char *tag)
{
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[512], w[32], t[256];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = sscanf(line, "%*s %31s %255s", w, t) == 2 && strcmp(w, what) == 0 && strcmp(t, tag) == 0;
    fclose(f);
    return found;
}

static void setup_nodes(int n, h_proc **node, const char *const *args)
{
    h_add_pop(h_db_path(), 1);
    for (int i = 1; i <= n; i++) {
        node[i] = args ? h_start_nodesim(i, 1, "--calls", "5", args[0], args[1], args[2], NULL)
                       : h_start_nodesim(i, 1, "--calls", "5", NULL);
        h_add_node(h_db_path(), i, node[i]->addr, 1);
    }
}

/* ---- started, connected, ended ------------------------------------------------------ */

static void test_lifecycle(void **state)
{
    (void)state;
    const char *log = h_strf("%s/churn.log", h_tmpdir());
    h_proc *node[2];
    const char *args[] = {"--churn", "--churn-log", log};
    setup_nodes(1, node, args);
    h_proc *srv = h_start_server(h_db_path(), "--refresh-ms", "200", NULL);
    sse *s = sse_open(srv, NULL, NULL, NULL);
    sse_event ev;
    assert_true(sse_next(s, 5000, &ev));
    assert_string_equal(ev.name, "reset");
    h_record_json("reset", ev.data);
    json_t *calls = json_object_get(ev.json, "data");
    assert_true(json_is_array(calls));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev.json, "meta"), "total-count")),
                     json_array_size(calls));
    unsigned long long last = id_of(&ev);
    bool started = false, connected = false, ended = false;
    double until = h_now_ms() + 20000;
    while (!(started && connected && ended) && h_now_ms() < until) {
        if (!sse_next(s, 1000, &ev)) continue;
        assert_true(id_of(&ev) > last); /* ids only grow */
        last = id_of(&ev);
        assert_true(is_call_event(&ev));
        h_record_json(ev.name, ev.data);
        const char *id = call_id(&ev);
        assert_true(strncmp(id, "1*", 2) == 0);
        const char *tag = id + 2;
        json_t *attrs = json_object_get(json_object_get(ev.json, "data"), "attributes");
        if (strcmp(ev.name, "call-started") == 0) {
            /* a start the node made (the calls of the reset were there before) */
            assert_true(churn_has(log, "start", tag));
            started = true;
        } else if (strcmp(ev.name, "call-connected") == 0) {
            assert_true(churn_has(log, "connect", tag));
            assert_true(json_is_string(json_object_get(attrs, "connect-time")));
            connected = true;
        } else {
            assert_true(churn_has(log, "end", tag));
            assert_non_null(json_object_get(attrs, "duration")); /* its last known attributes */
            ended = true;
        }
    }
    assert_true(started && connected && ended);
    assert_int_equal(h_stop(srv), 0);
    assert_true(h_log_count(srv, "msg=stream-closed") >= 1);
}

/* ---- a node fails and comes back ---------------------------------------------------- */

/* Events until one named `name` (within timeout_ms); the call events seen
 * before it are counted into *calls. */
static bool until_event(sse *s, const char *name, int timeout_ms, sse_event *ev, int *calls)
{
    double until = h_now_ms() + timeout_ms;
    while (h_now_ms() < until) {
        if (!sse_next(s, 200, ev)) continue;
        if (strcmp(ev->name, name) == 0) return true;
        if (calls && is_call_event(ev)) (*calls)++;
    }
    return false;
}

static void test_node_failure(void **state)
{
    (void)state;
    h_proc *node[3];
    setup_nodes(2, node, NULL);
    int port = node[2]->port;
    h_proc *srv = h_start_server(h_db_path(), "--refresh-ms", "200", "--node-timeout-ms", "500", NULL);
    sse *s = sse_open(srv, "fields%5Bactive-calls%5D=duration", NULL, NULL);
    sse_event ev;
    assert_true(sse_next(s, 5000, &ev));
    assert_string_equal(ev.name, "reset");
    assert_int_equal(json_array_size(json_object_get(ev.json, "data")), 10);

    assert_int_equal(h_stop(node[2]), 0);
    int calls = 0;
    assert_true(until_event(s, "node-failed", 5000, &ev, &calls));
    h_record_json(ev.name, ev.data);
    json_t *n = json_object_get(json_object_get(ev.json, "meta"), "node");
    assert_string_equal(json_string_value(json_object_get(n, "id")), "2");
    assert_string_equal(json_string_value(json_object_get(n, "name")), "node-2");
    assert_string_equal(json_string_value(json_object_get(n, "error")), "connection-refused");
    assert_true(json_is_string(json_object_get(n, "detail")));
    assert_int_equal(calls, 0);
    /* its calls are not ended while it fails */
    assert_false(until_event(s, "call-ended", 1500, &ev, NULL));

    /* back with the same calls: recovered, nothing else */
    node[2] = h_start_nodesim_on(port, 2, 1, "--calls", "5", NULL);
    assert_true(until_event(s, "node-recovered", 5000, &ev, &calls));
    h_record_json(ev.name, ev.data);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_object_get(ev.json, "meta"), "node"), "id")),
        "2");
    assert_false(until_event(s, "call-ended", 1000, &ev, &calls));
    assert_int_equal(calls, 0);

    /* gone again, back with other calls: its old ones end, the new ones start */
    assert_int_equal(h_stop(node[2]), 0);
    assert_true(until_event(s, "node-failed", 5000, &ev, NULL));
    node[2] = h_start_nodesim_on(port, 2, 1, "--calls", "5", "--seed", "77", NULL);
    assert_true(until_event(s, "node-recovered", 5000, &ev, NULL));
    int ended = 0, started = 0;
    while (ended + started < 10 && sse_next(s, 2000, &ev)) {
        assert_true(strncmp(call_id(&ev), "2*", 2) == 0);
        if (strcmp(ev.name, "call-ended") == 0) ended++;
        if (strcmp(ev.name, "call-started") == 0) started++;
    }
    assert_int_equal(ended, 5);
    assert_int_equal(started, 5);
    assert_int_equal(h_stop(srv), 0);
}

/* ---- filters ------------------------------------------------------------------------- */

static void test_filter(void **state)
{
    (void)state;
    const char *log = h_strf("%s/churn.log", h_tmpdir());
    h_proc *node[3];
    h_add_pop(h_db_path(), 1);
    node[1] = h_start_nodesim(1, 1, "--calls", "20", "--churn", "--churn-log", log, NULL);
    node[2] = h_start_nodesim(2, 1, "--calls", "5", NULL);
    h_add_node(h_db_path(), 1, node[1]->addr, 1);
    h_add_node(h_db_path(), 2, node[2]->addr, 1);
    h_proc *srv = h_start_server(h_db_path(), "--refresh-ms", "200", NULL);

    /* one node's calls */
    sse *one = sse_open(srv, "filter%5Bnode-id-eq%5D=2", NULL, NULL);
    sse_event ev;
    assert_true(sse_next(one, 5000, &ev));
    assert_string_equal(ev.name, "reset");
    json_t *calls = json_object_get(ev.json, "data");
    assert_int_equal(json_array_size(calls), 5);
    for (size_t i = 0; i < 5; i++)
        assert_true(strncmp(json_string_value(json_object_get(json_array_get(calls, i), "id")), "2*", 2) ==
                    0);
    /* node 1 churns, node 2 does not: nothing for this stream */
    assert_false(sse_next(one, 1500, &ev));

    /* a call that passes a duration bound ends for the stream, as a filter exit */
    sse *young = sse_open(srv, "filter%5Bnode-id-eq%5D=1&filter%5Bduration-less-than%5D=2", NULL, NULL);
    assert_true(sse_next(young, 5000, &ev));
    assert_string_equal(ev.name, "reset");
    bool exit_seen = false;
    double until = h_now_ms() + 20000;
    while (!exit_seen && h_now_ms() < until) {
        if (!sse_next(young, 1000, &ev)) continue;
        assert_true(strncmp(call_id(&ev), "1*", 2) == 0);
        json_t *meta = json_object_get(ev.json, "meta");
        if (strcmp(ev.name, "call-ended") != 0 || !json_is_true(json_object_get(meta, "filter-exit")))
            continue;
        h_record_json(ev.name, ev.data); /* call-ended, with meta.filter-exit */
        json_t *d =
            json_object_get(json_object_get(json_object_get(ev.json, "data"), "attributes"), "duration");
        assert_true(json_is_number(d) && json_number_value(d) >= 2);
        exit_seen = true;
    }
    assert_true(exit_seen);
    assert_int_equal(h_stop(srv), 0);
}

/* ---- resume ---------------------------------------------------------------------------- */

static void test_resume(void **state)
{
    (void)state;
    h_proc *node[2];
    const char *args[] = {"--churn", "--calls", "20"};
    setup_nodes(1, node, args);
    h_proc *srv = h_start_server(h_db_path(), "--refresh-ms", "200", "--events-ring-age-s", "3", NULL);
    sse *a = sse_open(srv, NULL, NULL, NULL);
    sse_event ev;
    assert_true(sse_next(a, 5000, &ev));
    assert_string_equal(ev.name, "reset");
    const char *reset_id = h_strf("%s", ev.id);
    enum { N = 12 };
    char ids[N][32], names[N][32];
    for (int i = 0; i < N; i++) {
        assert_true(sse_next(a, 5000, &ev));
        snprintf(ids[i], sizeof ids[i], "%s", ev.id);
        snprintf(names[i], sizeof names[i], "%s", ev.name);
    }
    /* within the ring: exactly what followed, from the 4th event on */
    sse *b = sse_open(srv, NULL, NULL, ids[3]);
    for (int i = 4; i < N; i++) {
        assert_true(sse_next(b, 5000, &ev));
        assert_string_equal(ev.id, ids[i]);
        assert_string_equal(ev.name, names[i]);
    }
    /* from the reset's own id: the same, from the first */
    sse *c = sse_open(srv, NULL, NULL, reset_id);
    assert_true(sse_next(c, 5000, &ev));
    assert_string_equal(ev.id, ids[0]);

    /* past the ring (older than its 3 s), an id never given, or no id: a reset */
    sleep(5);
    const char *const old[] = {ids[0], "1", "not-a-number", "99999999999999999999"};
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
        sse *d = sse_open(srv, NULL, NULL, old[i]);
        assert_true(sse_next(d, 5000, &ev));
        assert_string_equal(ev.name, "reset");
        assert_true(id_of(&ev) > strtoull(ids[N - 1], NULL, 10));
        /* and it goes on from there */
        unsigned long long from = id_of(&ev);
        assert_true(sse_next(d, 5000, &ev));
        assert_true(id_of(&ev) > from);
    }
    assert_int_equal(h_stop(srv), 0);
}

/* ---- a client that does not read -------------------------------------------------------- */

static void test_slow_consumer(void **state)
{
    (void)state;
    h_proc *node[2];
    const char *args[] = {"--churn", "--calls", "2000"};
    setup_nodes(1, node, args);
    h_proc *srv = h_start_server(h_db_path(), "--refresh-ms", "200", "--stream-queue-bytes", "262144", NULL);
    h_proc *srv_ok = srv;
    long status;
    sse *slow = sse_open_status(srv, NULL, NULL, NULL, 4096, &status, NULL);
    assert_int_equal(status, 200);
    sse *fast = sse_open(srv, "fields%5Bactive-calls%5D=duration", NULL, NULL);
    /* the slow one reads nothing while the fast one takes every event */
    sse_event ev;
    double until = h_now_ms() + 3000;
    int fast_events = 0;
    while (h_now_ms() < until)
        if (sse_next(fast, 200, &ev)) fast_events++;
    assert_true(fast_events > 10);
    /* then reads: what was queued, then overflow, then the end */
    const char *lastname = "";
    until = h_now_ms() + 30000;
    while (!slow->eof && h_now_ms() < until)
        if (sse_next(slow, 500, &ev)) lastname = h_strf("%s", ev.name);
    assert_true(slow->eof);
    assert_string_equal(lastname, "overflow");
    h_record_json("overflow", ev.data);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev.json, "meta"), "limit")), 262144);
    assert_int_equal(h_log_count(srv, "msg=stream-overflow"), 1);
    assert_true(h_matches(h_metrics_text(srv), "\nactivecalls_event_stream_overflows_total 1\n"));
    /* the fast one was not held up */
    assert_true(sse_next(fast, 2000, &ev));
    assert_int_equal(h_stop(srv_ok), 0);
    assert_int_equal(h_log_count(srv, "reason=overflow"), 1);
}

/* ---- a token that expires ------------------------------------------------------------------ */

static void test_expired_token(void **state)
{
    (void)state;
    h_proc *node[2];
    setup_nodes(1, node, NULL);
    h_proc *srv = h_start_server(h_db_path(), "--refresh-ms", "200", NULL);
    const char *token = h_jwt_hs256(h_strf("{\"sub\":%lld,\"aud\":[\"admin\"],\"exp\":%lld}",
                                           (long long)h_admin_id(h_db_path()), (long long)time(NULL) + 3));
    h_sensitive(token);
    sse *s = sse_open(srv, NULL, token, NULL);
    sse_event ev;
    assert_true(sse_next(s, 5000, &ev));
    assert_string_equal(ev.name, "reset");
    assert_true(until_event(s, "unauthorized", 8000, &ev, NULL));
    h_record_json("unauthorized", ev.data);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(ev.json, "errors"), 0), "status")),
        "401");
    assert_false(sse_next(s, 3000, &ev));
    assert_true(s->eof);
    assert_true(h_matches(h_metrics_text(srv), "\nactivecalls_event_stream_expired_total 1\n"));
    /* the same token, expired, opens nothing */
    long status;
    sse_open_status(srv, NULL, token, NULL, 0, &status, NULL);
    assert_int_equal(status, 401);
    assert_int_equal(h_stop(srv), 0); /* and its log never held the token (h_sensitive) */
    assert_int_equal(h_log_count(srv, "reason=token-expired"), 1);
}

/* ---- refusals ------------------------------------------------------------------------------- */

static void test_refusals(void **state)
{
    (void)state;
    h_proc *node[2];
    setup_nodes(1, node, NULL);
    h_proc *srv = h_start_server(h_db_path(), "--max-streams", "1", NULL);
    const char *url = h_url(srv, EVENTS);
    const char *sse_accept[] = {"Accept: text/event-stream", H_NO_AUTH, NULL};
    h_response *r = h_http("GET", url, sse_accept, NULL);
    assert_int_equal(r->status, 401);
    const char *jsonapi[] = {"Accept: application/vnd.api+json", NULL};
    r = h_http("GET", url, jsonapi, NULL);
    h_assert_error(r, 406, 0, "Not acceptable", "The event stream is sent as text/event-stream only.", "406");
    const char *stream[] = {"Accept: text/event-stream", NULL};
    r = h_http("GET", h_url(srv, EVENTS "?filter%5Bnope%5D=1"), stream, NULL);
    assert_int_equal(r->status, 400);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(h_json(r), "errors"), 0), "code")),
        "102");
    r = h_http("GET", h_url(srv, EVENTS "?sort=duration"), stream, NULL);
    assert_int_equal(r->status, 400);
    r = h_http("DELETE", url, stream, NULL);
    assert_int_equal(r->status, 405);
    assert_string_equal(h_header_value(r, "allow"), "GET");
    /* one stream at most: the second is a 503 */
    sse *s = sse_open(srv, NULL, NULL, NULL);
    (void)s;
    r = h_http("GET", url, stream, NULL);
    assert_int_equal(r->status, 503);
    assert_int_equal(h_stop(srv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lifecycle, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_node_failure, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_filter, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_resume, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_slow_consumer, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_expired_token, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
