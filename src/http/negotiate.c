/* negotiate: header rules; see negotiate.h. Parsing is by hand because the
 * grammars are tiny and every byte is untrusted: nothing here allocates. */
#include "http/negotiate.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

/* Trimmed [p, end) equals lit, case-insensitively. */
static bool token_is(const char *p, const char *end, const char *lit)
{
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
    size_t n = strlen(lit);
    return (size_t)(end - p) == n && strncasecmp(p, lit, n) == 0;
}

/* Whether a media range's parameters (from its first ';', or NULL, to
 * end) refuse it: q=0 does; `strict`: so does any other parameter (the
 * JSON:API type takes none). */
static bool params_refuse(const char *semi, const char *end, bool strict)
{
    while (semi) {
        const char *param = skip_ws(semi + 1);
        semi = memchr(param, ';', (size_t)(end - param));
        const char *pend = semi ? semi : end;
        if ((size_t)(pend - param) >= 2 && (param[0] == 'q' || param[0] == 'Q')) {
            const char *v = skip_ws(param + 1);
            if (*v == '=') {
                v = skip_ws(v + 1);
                bool zero = v < pend && *v == '0';
                for (const char *d = v + 1; zero && d < pend && *d != ' ' && *d != '\t'; d++)
                    if (*d != '.' && *d != '0') zero = false;
                if (zero) return true;
                continue;
            }
        }
        if (strict) return true;
    }
    return false;
}

/* One media range [p, end): type and its parameters. `also` is a second
 * acceptable type (parameters allowed), or NULL. */
static bool range_ok(const char *p, const char *end, const char *also)
{
    const char *semi = memchr(p, ';', (size_t)(end - p));
    const char *type_end = semi ? semi : end;
    bool wildcard = token_is(p, type_end, "*/*") || token_is(p, type_end, "application/*") ||
        (also && token_is(p, type_end, also));
    bool jsonapi = token_is(p, type_end, JSONAPI_MEDIA_TYPE);
    if (!wildcard && !jsonapi) return false;
    return !params_refuse(semi, end, jsonapi);
}

/* One media range [p, end) that allows an event stream. */
static bool event_range_ok(const char *p, const char *end, const char *unused)
{
    (void)unused;
    const char *semi = memchr(p, ';', (size_t)(end - p));
    const char *type_end = semi ? semi : end;
    bool type = token_is(p, type_end, "*/*") || token_is(p, type_end, "text/*") ||
        token_is(p, type_end, EVENT_STREAM_MEDIA_TYPE);
    return type && !params_refuse(semi, end, false);
}

static bool accept_with(const char *accept, bool (*ok)(const char *, const char *, const char *),
                        const char *also)
{
    if (!accept) return true;
    const char *p = skip_ws(accept);
    if (*p == '\0') return true;
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        if (ok(p, end, also)) return true;
        if (!comma) break;
        p = comma + 1;
    }
    return false;
}

bool http_accept_ok(const char *accept) { return accept_with(accept, range_ok, NULL); }

bool http_accept_json_ok(const char *accept) { return accept_with(accept, range_ok, "application/json"); }

bool http_accept_event_stream(const char *accept) { return accept_with(accept, event_range_ok, NULL); }

bool http_content_type_is(const char *ct, const char *type)
{
    if (!ct) return false;
    const char *semi = strchr(ct, ';');
    const char *end = semi ? semi : ct + strlen(ct);
    if (!token_is(ct, end, type)) return false;
    if (!semi) return true;
    if (strcasecmp(type, "application/json") != 0) return false;
    return token_is(semi + 1, semi + 1 + strlen(semi + 1), "charset=utf-8");
}

static bool valid_port(const char *p)
{
    if (*p == '\0') return true;
    if (*p++ != ':') return false;
    size_t n = 0;
    long port = 0;
    for (; isdigit((unsigned char)*p) && n < 5; p++, n++) port = port * 10 + (*p - '0');
    return *p == '\0' && n >= 1 && port <= 65535;
}

bool http_host_valid(const char *host)
{
    if (!host || !*host || strlen(host) > 255) return false;
    const char *p = host;
    if (*p == '[') {
        p++;
        size_t n = 0;
        for (; isxdigit((unsigned char)*p) || *p == ':' || *p == '.'; p++) n++;
        if (*p != ']' || n < 2 || n >= INET6_ADDRSTRLEN) return false; /* "::" is the shortest address */
        char v6[INET6_ADDRSTRLEN]; /* the characters fit; is it an address? */
        struct in6_addr a;
        memcpy(v6, host + 1, n);
        v6[n] = '\0';
        return inet_pton(AF_INET6, v6, &a) == 1 && valid_port(p + 1);
    }
    size_t n = 0;
    for (; isalnum((unsigned char)*p) || *p == '-' || *p == '.'; p++) n++;
    return n > 0 && valid_port(p);
}

bool http_request_id_sane(const char *id)
{
    if (!id) return false;
    size_t n = 0;
    for (const char *p = id; *p; p++, n++) {
        unsigned char c = (unsigned char)*p;
        if (!(isalnum(c) || c == '-' || c == '_' || c == '.')) return false;
        if (n >= 200) return false;
    }
    return n >= 1;
}

bool http_etag_matches(const char *inm, const char *etag)
{
    if (!inm || !etag) return false;
    const char *bare = strncmp(etag, "W/", 2) == 0 ? etag + 2 : etag;
    size_t blen = strlen(bare);
    const char *p = inm;
    while (*p) {
        p = skip_ws(p);
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
        const char *q = p;
        if (end - q == 1 && *q == '*') return true;
        if (end - q >= 2 && strncmp(q, "W/", 2) == 0) q += 2; /* weak comparison */
        if ((size_t)(end - q) == blen && memcmp(q, bare, blen) == 0) return true;
        if (!comma) break;
        p = comma + 1;
    }
    return false;
}

/* The next item of a comma-separated header list at *p: its name (up to
 * `stop`, a comma, a space or a tab) in *name, *nlen; *p moves past the
 * name. False at the end of the list. */
static bool list_item(const char **p, const char *stop, const char **name, size_t *nlen)
{
    while (**p == ' ' || **p == '\t' || **p == ',') (*p)++;
    if (!**p) return false;
    *name = *p;
    while (**p && **p != *stop && **p != ',' && **p != ' ' && **p != '\t') (*p)++;
    *nlen = (size_t)(*p - *name);
    return true;
}

/* Whether an Accept-Encoding value allows gzip: `gzip` or `x-gzip` with
 * q > 0, or, when neither is named, `*` with q > 0 (RFC 9110 §12.5.3).
 * A coding named more than once counts with its best q, in any order. */
bool http_accepts_gzip(const char *ae)
{
    if (!ae) return false;
    double gzip_q = -1, star_q = -1;
    const char *p = ae, *name;
    size_t nlen;
    while (list_item(&p, ";", &name, &nlen)) {
        double q = 1.0;
        while (*p && *p != ',') {
            while (*p == ' ' || *p == '\t' || *p == ';') p++;
            if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                char *end;
                q = strtod(p + 2, &end);
                if (end == p + 2 || q != q) q = 0; /* malformed: not acceptable */
                p = end;
            }
            while (*p && *p != ',' && *p != ';') p++;
        }
        if ((nlen == 4 && strncasecmp(name, "gzip", 4) == 0) ||
            (nlen == 6 && strncasecmp(name, "x-gzip", 6) == 0))
            gzip_q = q > gzip_q ? q : gzip_q;
        else if (nlen == 1 && *name == '*')
            star_q = q > star_q ? q : star_q;
    }
    return gzip_q >= 0 ? gzip_q > 0 : star_q > 0;
}

int64_t http_max_age(const char *cc)
{
    if (!cc) return -1;
    int64_t age = -1;
    int seen = 0;
    const char *p = cc, *name;
    size_t nlen;
    while (list_item(&p, "=", &name, &nlen)) {
        const char *val = NULL;
        size_t vlen = 0;
        if (*p == '=') {
            val = ++p;
            if (*p == '"') {
                val = ++p;
                while (*p && *p != '"') p++;
                vlen = (size_t)(p - val);
                if (*p) p++;
            } else {
                while (*p && *p != ',' && *p != ' ' && *p != '\t') p++;
                vlen = (size_t)(p - val);
            }
        }
        while (*p && *p != ',') p++; /* anything else up to the next directive */
        if ((nlen == 8 && strncasecmp(name, "no-cache", 8) == 0) ||
            (nlen == 8 && strncasecmp(name, "no-store", 8) == 0))
            return -1;
        if (nlen != 7 || strncasecmp(name, "max-age", 7) != 0) continue;
        seen++;
        age = -1;
        if (!val || vlen == 0 || vlen > 9) continue;
        int64_t v = 0;
        size_t i = 0;
        while (i < vlen && val[i] >= '0' && val[i] <= '9') v = v * 10 + (val[i++] - '0');
        if (i == vlen) age = v;
    }
    return seen == 1 ? age : -1;
}
