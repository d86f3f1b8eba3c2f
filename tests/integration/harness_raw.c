/* harness_raw: GET requests through libcurl directly, for responses the
 * harness must not save as documents (gzip'd or very big bodies) and for
 * several identical requests sent at once (see harness.h, "raw HTTP"). */
#include "harness.h"

#include <unistd.h>

#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

/* Room for `add` more bytes and a NUL in *p (capacity *cap), growing
 * geometrically: a 14 MB body arrives in 16 KiB pieces, and growing by
 * the piece copies gigabytes under ASan, whose realloc always moves. */
static bool room_for(char **p, size_t len, size_t *cap, size_t add)
{
    if (len + add + 1 <= *cap) return true;
    size_t c = *cap ? *cap : 4096;
    while (c < len + add + 1) c *= 2;
    char *nb = realloc(*p, c);
    if (!nb) return false;
    *p = nb;
    *cap = c;
    return true;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    h_raw *r = ud;
    size_t add = size * n;
    if (!room_for(&r->body, r->len, &r->cap, add)) return 0;
    memcpy(r->body + r->len, p, add);
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    h_raw *r = ud;
    size_t add = size * n;
    if (!room_for(&r->headers, r->hlen, &r->hcap, add)) return 0;
    char *nb = r->headers;
    bool name = true; /* lower-case the name, keep the value */
    for (size_t i = 0; i < add; i++) {
        if (p[i] == ':') name = false;
        nb[r->hlen + i] = (char)(name && p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
    }
    r->hlen += add;
    r->headers[r->hlen] = '\0';
    return add;
}

/* Frees the buffers of n responses in one array, and the array. */
typedef struct raw_set {
    h_raw *r;
    size_t n;
} raw_set;

static void raw_set_free(void *p)
{
    raw_set *set = p;
    for (size_t i = 0; i < set->n; i++) {
        free(set->r[i].body);
        free(set->r[i].headers);
    }
    free(set->r);
    free(set);
}

/* n zeroed responses, owned by the harness. */
static h_raw *raw_new(size_t n)
{
    raw_set *set = calloc(1, sizeof *set);
    h_raw *r = calloc(n, sizeof *r);
    if (set == NULL || r == NULL) {
        free(set);
        free(r);
        fail_msg("out of memory");
    }
    *set = (raw_set){r, n};
    h_own(set, raw_set_free);
    return r;
}

/* A curl handle for GET path with the server's token and extra headers. */
static CURL *raw_handle(const h_proc *server, const char *path, const char *const *extra, h_raw *out,
                        struct curl_slist **hl)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    *hl = curl_slist_append(NULL, "Accept: application/vnd.api+json");
    *hl = curl_slist_append(*hl, "Host: example.org"); /* as h_listing: the same links */
    *hl = curl_slist_append(*hl, h_strf("Authorization: Bearer %s", server->token));
    for (size_t i = 0; extra && extra[i]; i++) *hl = curl_slist_append(*hl, extra[i]);
    curl_easy_setopt(c, CURLOPT_URL, h_url(server, path));
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L); /* the work takes < 1 s under ASan */
    return c;
}

h_raw *h_raw_get_concurrently(const h_proc *server, const char *path, const char *const *extra, size_t n)
{
    h_raw *rs = raw_new(n);
    CURLM *m = curl_multi_init();
    CURL **cs = calloc(n, sizeof *cs);
    struct curl_slist **hls = calloc(n, sizeof *hls);
    if (m == NULL || cs == NULL || hls == NULL) fail_msg("out of memory");
    for (size_t i = 0; i < n; i++) {
        cs[i] = raw_handle(server, path, extra, &rs[i], &hls[i]);
        curl_multi_add_handle(m, cs[i]);
    }
    int running = 1;
    while (running) {
        if (curl_multi_perform(m, &running) != CURLM_OK) fail_msg("curl_multi_perform failed");
        if (running) curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK)
            fail_msg("GET %s: %s", path, curl_easy_strerror(msg->data.result));
    for (size_t i = 0; i < n; i++) {
        curl_easy_getinfo(cs[i], CURLINFO_RESPONSE_CODE, &rs[i].status);
        curl_multi_remove_handle(m, cs[i]);
        curl_easy_cleanup(cs[i]);
        curl_slist_free_all(hls[i]);
    }
    curl_multi_cleanup(m);
    free(cs);
    free(hls);
    return rs;
}

h_raw *h_raw_get(const h_proc *server, const char *path, const char *const *extra)
{
    return h_raw_get_concurrently(server, path, extra, 1);
}

const char *h_raw_header(const h_raw *r, const char *name)
{
    const char *p = r->headers;
    size_t n = strlen(name);
    while (p && *p) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ') v++;
            size_t len = strcspn(v, "\r\n");
            return h_strf("%.*s", (int)len, v);
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return NULL;
}

const char *h_metrics_text(const h_proc *srv)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    size_t cap = 1 << 20, len = 0;
    char *text = h_own(malloc(cap), free);
    ssize_t r;
    while (len + 1 < cap && (r = recv(fd, text + len, cap - 1 - len, 0)) > 0) len += (size_t)r;
    close(fd);
    text[len] = '\0';
    assert_true(strncmp(text, "HTTP/1.1 200", 12) == 0);
    return text;
}
