/* fuzz_host: the Host header, which becomes the base of every link when no
 * --public-url is set — http_host_valid (http/negotiate.c) and
 * app_base_url (api/app.c), which uses it.
 *
 * Input: byte 0 picks whether the application has a public URL and
 * whether the request has a Host at all; the rest is the Host value.
 *
 * Properties:
 *   - http_host_valid accepts exactly docs/API.md's grammar, checked here
 *     by a reference: at most 255 bytes, `[A-Za-z0-9.-]+` or `[v6]` (an
 *     address inet_pton takes as IPv6), then optionally `:` and a port of
 *     1..5 digits up to 65535;
 *   - app_base_url gives the public URL when there is one (whatever the
 *     Host), the fallback without a Host, `http://` + Host for a valid one,
 *     and otherwise a 400 with a JSON:API error document. */
#include "fuzz.h"

#include <arpa/inet.h>
#include <jansson.h>

#include "api/app_internal.h"
#include "http/negotiate.h"

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static bool ref_port(const char *p)
{
    if (*p == '\0') return true;
    if (*p++ != ':') return false;
    size_t n = strspn(p, "0123456789");
    return n >= 1 && n <= 5 && p[n] == '\0' && atol(p) <= 65535;
}

static bool ref_host_valid(const char *h)
{
    size_t len = strlen(h);
    if (len == 0 || len > 255) return false;
    if (h[0] == '[') {
        const char *close = strchr(h, ']');
        if (!close) return false;
        char *v6 = fz_strndup(h + 1, (size_t)(close - h - 1));
        struct in6_addr a;
        bool ok = inet_pton(AF_INET6, v6, &a) == 1;
        free(v6);
        return ok && ref_port(close + 1);
    }
    size_t n = 0;
    while (name_char(h[n])) n++;
    return n > 0 && ref_port(h + n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t mode = fz_u8(&in);
    char *host = fz_strndup(in.p, in.n);
    bool valid = http_host_valid(host);
    FZ_CHECK(valid == ref_host_valid(host), "Host '%s': %d, the grammar says %d", host, valid, !valid);

    app a;
    memset(&a, 0, sizeof a);
    a.cfg.public_url = mode & 1 ? "https://calls.example.org" : NULL;
    a.cfg.fallback_base = "http://localhost";
    http_request req;
    memset(&req, 0, sizeof req);
    req.host = mode & 2 ? NULL : host;
    http_response res;
    memset(&res, 0, sizeof res);
    buf_init(&res.body);
    char storage[300];
    doc_base base;
    bool ok = app_base_url(&a, &req, &res, storage, &base);
    const char *want = a.cfg.public_url ? a.cfg.public_url : !req.host ? a.cfg.fallback_base : NULL;
    if (want) {
        FZ_CHECK(ok && base.len == strlen(want) && memcmp(base.url, want, base.len) == 0, "base URL '%.*s'",
                 (int)base.len, base.url);
    } else if (valid) {
        FZ_CHECK(ok && base.len == 7 + strlen(host) && memcmp(base.url, "http://", 7) == 0 &&
                     memcmp(base.url + 7, host, base.len - 7) == 0,
                 "base URL for a valid Host '%s': '%.*s'", host, ok ? (int)base.len : 0, ok ? base.url : "");
    } else {
        FZ_CHECK(!ok && res.status == 400, "an invalid Host gave %d", ok ? 200 : res.status);
        json_error_t jerr;
        json_t *doc = json_loadb(res.body.data, res.body.len, 0, &jerr);
        FZ_CHECK(json_array_size(json_object_get(doc, "errors")) == 1, "the 400 body is no error document");
        json_decref(doc);
    }
    buf_free(&res.body);
    free(host);
    return 0;
}
