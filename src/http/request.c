/* request: request-head parsing, percent-decoding, query splitting and
 * chunked bodies; see request.h. Every byte here comes from the network:
 * the grammar is checked byte by byte (RFC 9110 tokens, RFC 9112 lines),
 * lengths are bounded before anything is kept, and nothing allocates. */
#include "http/request.h"

#include <assert.h>
#include <string.h>
#include <strings.h>

/* tchar of RFC 9110 §5.6.2 */
static bool is_tchar(unsigned char c)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        (c && strchr(extra, c) != NULL);
}

/* A byte allowed in a field value: VCHAR, obs-text, SP, HTAB. */
static bool is_field_byte(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

/* A byte allowed in the request target: VCHAR and obs-text (no space, no controls). */
static bool is_target_byte(unsigned char c) { return c > 0x20 && c != 0x7f; }

static head_result fail(int *status, const char **detail, int st, const char *why)
{
    *status = st;
    *detail = why;
    return HEAD_ERROR;
}

/* The end of the line starting at p (the '\n'), or NULL when the line is
 * not complete within end. A CR must be followed by LF. */
static char *line_end(char *p, char *end, bool *bad_cr)
{
    for (char *q = p; q < end; q++) {
        if (*q == '\n') return q;
        if (*q == '\r' && q + 1 < end && q[1] != '\n') {
            *bad_cr = true;
            return q;
        }
    }
    return NULL;
}

/* Trims [*v, e) of SP/HTAB on both sides and NUL-terminates it. */
static const char *trim_value(char *v, char *e)
{
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) e--;
    *e = '\0';
    return v;
}

/* Content-Length: 1*DIGIT, or a list of equal ones (RFC 9112 §6.3 item 5). */
static bool parse_length(const char *v, uint64_t *out)
{
    bool have = false;
    uint64_t first = 0;
    const char *p = v;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (*p < '0' || *p > '9') return false;
        uint64_t n = 0;
        while (*p >= '0' && *p <= '9') {
            if (n > (UINT64_MAX - 9) / 10) return false;
            n = n * 10 + (uint64_t)(*p++ - '0');
        }
        while (*p == ' ' || *p == '\t') p++;
        if (have && n != first) return false;
        first = n;
        have = true;
        if (*p == '\0') break;
        if (*p++ != ',') return false;
    }
    *out = first;
    return have;
}

/* Whether the comma list v holds `token` (case-insensitive). */
static bool list_has(const char *v, const char *token)
{
    size_t tl = strlen(token);
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *s = p;
        while (*p && *p != ',') p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if ((size_t)(e - s) == tl && strncasecmp(s, token, tl) == 0) return true;
    }
    return false;
}

/* Framing and connection semantics from the parsed headers. */
static head_result decide_framing(http_head *h, int *status, const char **detail)
{
    const char *te = NULL, *conn = NULL;
    bool te_seen = false;
    for (size_t i = 0; i < h->nheaders; i++) {
        const char *n = h->headers[i].name, *v = h->headers[i].value;
        if (strcasecmp(n, "Content-Length") == 0) {
            uint64_t len;
            if (!parse_length(v, &len)) return fail(status, detail, 400, "Invalid Content-Length.");
            if (h->has_length && len != h->content_length)
                return fail(status, detail, 400, "Conflicting Content-Length headers.");
            h->has_length = true;
            h->content_length = len;
        } else if (strcasecmp(n, "Transfer-Encoding") == 0) {
            if (te_seen) return fail(status, detail, 400, "Repeated Transfer-Encoding header.");
            te_seen = true;
            te = v;
        } else if (strcasecmp(n, "Connection") == 0) {
            conn = v;
        } else if (strcasecmp(n, "Expect") == 0) {
            if (strcasecmp(v, "100-continue") == 0) h->expect_continue = true;
        }
    }
    if (te) {
        if (h->minor == 0) return fail(status, detail, 400, "Transfer-Encoding in an HTTP/1.0 request.");
        if (h->has_length) return fail(status, detail, 400, "Both Content-Length and Transfer-Encoding.");
        if (strcasecmp(te, "chunked") != 0)
            return fail(status, detail, 501, "Only the chunked transfer coding is supported.");
        h->chunked = true;
    }
    if (conn && list_has(conn, "close"))
        h->keep_alive = false;
    else if (h->minor == 0)
        h->keep_alive = conn && list_has(conn, "keep-alive");
    else
        h->keep_alive = true;
    return HEAD_OK;
}

/* The request line: method SP target SP HTTP/1.x */
static head_result parse_request_line(char *p, char *e, http_head *h, int *status, const char **detail)
{
    if (e > p && e[-1] == '\r') e--;
    char *m = p;
    while (p < e && is_tchar((unsigned char)*p)) p++;
    if (p == m || p == e || *p != ' ') return fail(status, detail, 400, "Malformed request line.");
    *p++ = '\0';
    char *t = p;
    while (p < e && is_target_byte((unsigned char)*p)) p++;
    if (p == t || p == e || *p != ' ') return fail(status, detail, 400, "Malformed request target.");
    *p++ = '\0';
    if (e - p != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' || p[5] > '9' || p[7] < '0' ||
        p[7] > '9')
        return fail(status, detail, 400, "Malformed HTTP version.");
    if (p[5] != '1') return fail(status, detail, 505, "Only HTTP/1.x is served here.");
    h->minor = p[7] == '0' ? 0 : 1;
    h->method = m;
    h->authority = NULL;
    if (t[0] == '/') {
        h->target = t;
    } else if (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0) {
        /* absolute-form (RFC 9112 §3.2.2): the authority stands for Host */
        char *a = strstr(t, "//") + 2;
        char *s = a + strcspn(a, "/?");
        size_t alen = (size_t)(s - a);
        if (alen == 0 || alen >= sizeof h->authority_buf)
            return fail(status, detail, 400, "Malformed request target.");
        memcpy(h->authority_buf, a, alen);
        h->authority_buf[alen] = '\0';
        h->authority = h->authority_buf;
        if (*s == '/')
            h->target = s;
        else if (*s == '?') {
            s[-1] = '/';
            h->target = s - 1;
        } /* the authority's last byte, copied out */
        else
            h->target = "/";
    } else if (strcmp(m, "OPTIONS") == 0 && strcmp(t, "*") == 0) {
        h->target = t;
    } else {
        return fail(status, detail, 400, "Malformed request target.");
    }
    return HEAD_OK;
}

/* How a line of the head is refused. */
typedef struct line_kind {
    int over_status;
    const char *over, *malformed, *nul;
} line_kind;

static const line_kind request_line = {414, "The request line is too long.", "Malformed request line.",
                                       "NUL in the request line."};
static const line_kind header_line = {431, "The request headers are too large.", "Malformed header line.",
                                      "NUL in a header."};

/* The line of in[0..len) starting at p: HEAD_OK with *e at its '\n', or
 * HEAD_INCOMPLETE while it may still end within max_head, or an error (a CR
 * without LF, a NUL, past max_head). */
static head_result next_line(char *in, size_t len, char *p, size_t max_head, const line_kind *k, char **e,
                             int *status, const char **detail)
{
    char *end = in + len;
    bool bad_cr = false;
    *e = line_end(p, end, &bad_cr);
    if (bad_cr) return fail(status, detail, 400, k->malformed);
    if (!*e) {
        if (len >= max_head) return fail(status, detail, k->over_status, k->over);
        for (char *q = p; q < end; q++)
            if (*q == '\0') return fail(status, detail, 400, k->nul);
        return HEAD_INCOMPLETE;
    }
    if ((size_t)(*e + 1 - in) > max_head) return fail(status, detail, k->over_status, k->over);
    return HEAD_OK;
}

head_result http_parse_head(char *in, size_t len, size_t max_head, http_head *out, size_t *used, int *status,
                            const char **detail)
{
    assert(in && out && used && status && detail);
    char *p = in, *end = in + len;
    /* RFC 9112 §2.2: empty lines before the request line are ignored */
    while (p < end && (*p == '\r' || *p == '\n')) {
        if (*p == '\r' && p + 1 < end && p[1] != '\n')
            return fail(status, detail, 400, "Malformed request line.");
        p++;
    }
    if ((size_t)(p - in) > 64) return fail(status, detail, 400, "Malformed request line.");
    char *e;
    head_result r = next_line(in, len, p, max_head, &request_line, &e, status, detail);
    if (r != HEAD_OK) return r;
    char *line = p, *line_e = e;
    p = e + 1;

    /* headers up to the empty line; nothing is modified until the head is whole */
    size_t n = 0;
    char *hdr_start = p;
    for (;;) {
        r = next_line(in, len, p, max_head, &header_line, &e, status, detail);
        if (r != HEAD_OK) return r;
        if (e == p || (e == p + 1 && *p == '\r')) {
            p = e + 1;
            break;
        }
        if (++n > HTTP_MAX_HEADERS) return fail(status, detail, 431, "Too many request headers.");
        p = e + 1;
    }
    *used = (size_t)(p - in);

    memset(out, 0, sizeof *out);
    r = parse_request_line(line, line_e, out, status, detail);
    if (r != HEAD_OK) return r;
    char *q = hdr_start;
    while (out->nheaders < n) {
        e = memchr(q, '\n', (size_t)(end - q));
        char *le = e > q && e[-1] == '\r' ? e - 1 : e;
        if (*q == ' ' || *q == '\t')
            return fail(status, detail, 400, "Folded header lines are not accepted.");
        char *name = q;
        while (q < le && is_tchar((unsigned char)*q)) q++;
        if (q == name || q == le || *q != ':') return fail(status, detail, 400, "Malformed header name.");
        *q++ = '\0';
        for (char *v = q; v < le; v++)
            if (!is_field_byte((unsigned char)*v))
                return fail(status, detail, 400, "Invalid byte in a header value.");
        out->headers[out->nheaders++] = (http_header){name, trim_value(q, le)};
        q = e + 1;
    }
    return decide_framing(out, status, detail);
}

const char *http_head_get(const http_head *h, const char *name, bool *dup)
{
    const char *found = NULL;
    if (dup) *dup = false;
    for (size_t i = 0; i < h->nheaders; i++) {
        if (strcasecmp(h->headers[i].name, name) != 0) continue;
        if (found) {
            if (dup) *dup = true;
            break;
        }
        found = h->headers[i].value;
    }
    return found;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool http_percent_decode(char *s, bool plus)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '%') {
            int hi = hexval(r[1]), lo = hi < 0 ? -1 : hexval(r[2]);
            if (hi < 0 || lo < 0) return false;
            char c = (char)(hi * 16 + lo);
            if (c == '\0') return false;
            *w++ = c;
            r += 2;
        } else {
            *w++ = plus && *r == '+' ? ' ' : *r;
        }
    }
    *w = '\0';
    return true;
}

query_result http_parse_query(char *q, query_param *out, size_t max, size_t *n)
{
    *n = 0;
    char *p = q;
    while (*p) {
        char *piece = p;
        char *amp = strchr(p, '&');
        if (amp) {
            *amp = '\0';
            p = amp + 1;
        } else
            p += strlen(p);
        if (!*piece) continue;
        if (*n == max) return QUERY_TOO_MANY;
        char *eq = strchr(piece, '=');
        char *value = piece + strlen(piece); /* a bare key: its own (writable) NUL */
        if (eq) {
            *eq = '\0';
            value = eq + 1;
        }
        if (!http_percent_decode(piece, true) || !http_percent_decode(value, true)) return QUERY_MALFORMED;
        out[(*n)++] = (query_param){piece, value};
    }
    return QUERY_OK;
}

/* ---- chunked bodies --------------------------------------------------------- */

enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER, CH_TRAILER_LF, CH_END };

#define CHUNK_LINE_MAX 4096 /* a size line with extensions, or one trailer line */

void chunk_decoder_init(chunk_decoder *d) { memset(d, 0, sizeof *d); }

chunk_result chunk_decode(chunk_decoder *d, const char *in, size_t len, char *out, size_t *used,
                          size_t *produced)
{
    size_t i = 0, o = 0;
    chunk_result res = CHUNK_MORE;
    while (i < len && res == CHUNK_MORE) {
        char c = in[i];
        switch (d->state) {
        case CH_SIZE: {
            int v = hexval(c);
            if (v >= 0) {
                if (d->left > (UINT64_MAX >> 4)) {
                    res = CHUNK_ERROR;
                    break;
                }
                d->left = d->left * 16 + (uint64_t)v;
                d->any_digit = true;
                i++;
            } else if (d->any_digit && (c == ';' || c == ' ' || c == '\t')) {
                d->state = CH_EXT;
            } else if (d->any_digit && c == '\r') {
                d->state = CH_SIZE_LF;
                i++;
            } else if (d->any_digit && c == '\n') {
                d->state = CH_SIZE_LF;
            } else {
                res = CHUNK_ERROR;
            }
            if (++d->line > CHUNK_LINE_MAX) res = CHUNK_ERROR;
            break;
        }
        case CH_EXT: /* chunk extensions are ignored (RFC 9112 §7.1.1), bounded */
            if (c == '\r' || c == '\n') {
                d->state = CH_SIZE_LF;
                if (c == '\r') i++;
            } else if ((unsigned char)c < 0x20 && c != '\t')
                res = CHUNK_ERROR;
            else
                i++;
            if (++d->line > CHUNK_LINE_MAX) res = CHUNK_ERROR;
            break;
        case CH_SIZE_LF:
            if (c != '\n') {
                res = CHUNK_ERROR;
                break;
            }
            i++;
            d->line = 0;
            d->any_digit = false;
            d->state = d->left ? CH_DATA : CH_TRAILER;
            break;
        case CH_DATA: {
            size_t take = len - i;
            if (take > d->left) take = (size_t)d->left;
            memmove(out + o, in + i, take);
            o += take;
            i += take;
            d->left -= take;
            if (d->left == 0) d->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (c == '\r') {
                d->state = CH_DATA_LF;
                i++;
            } else if (c == '\n')
                d->state = CH_DATA_LF;
            else
                res = CHUNK_ERROR;
            break;
        case CH_DATA_LF:
            if (c != '\n') {
                res = CHUNK_ERROR;
                break;
            }
            i++;
            d->state = CH_SIZE;
            break;
        case CH_TRAILER: /* trailer fields are read and dropped, up to the empty line */
            if (c == '\r' || c == '\n') {
                if (c == '\r') i++;
                d->state = CH_TRAILER_LF;
            } else if ((unsigned char)c < 0x20 && c != '\t') {
                res = CHUNK_ERROR;
            } else {
                i++;
                if (++d->line > CHUNK_LINE_MAX) res = CHUNK_ERROR;
            }
            break;
        case CH_TRAILER_LF:
            if (c != '\n') {
                res = CHUNK_ERROR;
                break;
            }
            i++;
            if (d->line == 0) {
                d->state = CH_END;
                res = CHUNK_DONE;
            } else {
                d->line = 0;
                d->state = CH_TRAILER;
            }
            break;
        default: res = CHUNK_ERROR;
        }
    }
    *used = i;
    *produced = o;
    return res;
}
