/* fuzz_negotiate: the request headers http/negotiate.c decides on — Accept
 * (http_accept_ok, http_accept_json_ok), Accept-Encoding
 * (http_accepts_gzip), If-None-Match (http_etag_matches), Cache-Control
 * (http_max_age), and beside them Content-Type and X-Request-Id.
 *
 * Input: byte 0 picks the mode. Even: the rest is a raw header value.
 * Odd: the rest is a list of choices from which the harness writes a
 * well-formed header and computes the answer itself, from the rules of
 * negotiate.h and docs/API.md (a reference, not the code's own steps).
 *
 * Properties, raw values:
 *   - a space and a tab are the same whitespace for every header here, and
 *     ASCII case does not matter but in entity tags;
 *   - list order does not matter for Accept-Encoding, and an Accept list is
 *     acceptable exactly when one of its non-blank ranges is (or the whole
 *     value is blank);
 *   - what Accept allows for JSON:API it allows for the login's JSON too;
 *   - If-None-Match compares weakly: W/"x" and "x" as our ETag are the same;
 *   - an X-Request-Id is echoed exactly when it is 1..200 of [A-Za-z0-9._-].
 * Properties, written headers: each decision is the reference's. */
#include "fuzz.h"

#include "http/negotiate.h"
#include "util/buf.h"

/* ---- raw values ------------------------------------------------------------------------ */

static char *swap_case(const char *s)
{
    char *t = fz_strndup(s, strlen(s));
    for (char *p = t; *p; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) *p ^= 0x20;
    return t;
}

static char *swap_space_tab(const char *s)
{
    char *t = fz_strndup(s, strlen(s));
    for (char *p = t; *p; p++)
        if (*p == ' ' || *p == '\t') *p = *p == ' ' ? '\t' : ' ';
    return t;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t') return false;
    return true;
}

/* The decisions on a value, one bit each: media types and codings (bits
 * 0-4, case-insensitive), entity tags (bits 5-7, case-sensitive: an
 * ETag is opaque, and W/ is written so), and whether a Cache-Control
 * max-age is accepted (bit 8, case-insensitive). */
static unsigned decide(const char *v)
{
    static const char *const etags[] = {"W/\"5f3a\"", "\"5f3a\"", "W/\"5f3a-gz\""};
    unsigned d = 0;
    d |= (unsigned)http_accept_ok(v) << 0;
    d |= (unsigned)http_accept_json_ok(v) << 1;
    d |= (unsigned)http_accepts_gzip(v) << 2;
    d |= (unsigned)http_content_type_is(v, JSONAPI_MEDIA_TYPE) << 3;
    d |= (unsigned)http_content_type_is(v, "application/json") << 4;
    for (int i = 0; i < 3; i++) d |= (unsigned)http_etag_matches(v, etags[i]) << (5 + i);
    int64_t age = http_max_age(v);
    FZ_CHECK(age >= -1 && age <= 999999999, "Cache-Control '%s': max-age %lld", v, (long long)age);
    d |= (unsigned)(age >= 0) << 8;
    return d;
}
#define CASE_INSENSITIVE 0x11Fu

static void check_raw(const char *v)
{
    unsigned d = decide(v);
    char *c = swap_case(v), *t = swap_space_tab(v);
    unsigned dc = decide(c), dt = decide(t);
    FZ_CHECK((dc & CASE_INSENSITIVE) == (d & CASE_INSENSITIVE), "ASCII case changes a decision: %x vs %x", d,
             dc);
    FZ_CHECK(dt == d, "space/tab changes a decision: %x vs %x", d, dt);
    free(c);
    free(t);

    FZ_CHECK(!http_accept_ok(v) || http_accept_json_ok(v), "JSON:API acceptable but not JSON");
    FZ_CHECK(http_etag_matches(v, "W/\"5f3a\"") == http_etag_matches(v, "\"5f3a\""),
             "weak and strong forms of our ETag differ");

    /* Accept: acceptable exactly when blank or one non-blank range is */
    size_t n = strlen(v);
    bool any = blank(v, n);
    for (const char *p = v;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!blank(p, len)) {
            char *range = fz_strndup(p, len);
            any |= http_accept_ok(range);
            free(range);
        }
        if (!comma) break;
        p = comma + 1;
    }
    FZ_CHECK(http_accept_ok(v) == any, "Accept: %d, its ranges say %d", http_accept_ok(v), any);

    /* Accept-Encoding: the list reversed decides the same */
    char *rev = fz_alloc(n + 1);
    size_t o = 0;
    for (const char *end = v + n;;) {
        const char *comma = end;
        while (comma > v && comma[-1] != ',') comma--;
        memcpy(rev + o, comma, (size_t)(end - comma));
        o += (size_t)(end - comma);
        if (comma == v) break;
        rev[o++] = ',';
        end = comma - 1;
    }
    rev[o] = '\0';
    FZ_CHECK(http_accepts_gzip(rev) == http_accepts_gzip(v),
             "Accept-Encoding: the list reversed ('%s') decides %d", rev, http_accepts_gzip(rev));
    free(rev);

    /* X-Request-Id */
    bool sane = n >= 1 && n <= 200;
    for (size_t i = 0; i < n && sane; i++) {
        char ch = v[i];
        sane = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '.' || ch == '_' || ch == '-';
    }
    FZ_CHECK(http_request_id_sane(v) == sane, "X-Request-Id: %d", http_request_id_sane(v));
}

/* ---- written headers ------------------------------------------------------------------- */

static const char *const ows[] = {"", " ", "\t", "  "};

static const struct {
    const char *text;
    int zero; /* the q value is 0 */
} qvalues[] = {{"1", 0},   {"0", 1},     {"0.0", 1},   {"0.000", 1},
               {"0.5", 0}, {"0.001", 0}, {"1.000", 0}, {"0.10", 0}};
#define NQ (sizeof qvalues / sizeof qvalues[0])

/* Accept: ranges of known types, each with q and maybe another parameter. */
static void check_accept(fz_in *in)
{
    static const struct {
        const char *text;
        int kind; /* 0 other, 1 wildcard, 2 JSON:API, 3 application/json */
    } types[] = {{"*/*", 1},
                 {"application/*", 1},
                 {"application/vnd.api+json", 2},
                 {"APPLICATION/VND.API+JSON", 2},
                 {"Application/*", 1},
                 {"application/json", 3},
                 {"text/html", 0},
                 {"application/xml", 0},
                 {"text/*", 0},
                 {"*", 0},
                 {"application/vnd.api+jsonx", 0}};
    buf h;
    buf_init(&h);
    bool want = true, want_json = true; /* an empty header accepts anything */
    int ranges = fz_u8(in) % 5;
    for (int r = 0; r < ranges; r++) {
        if (r == 0) want = want_json = false;
        uint8_t c = fz_u8(in), p = fz_u8(in), w = fz_u8(in);
        int t = c % (int)(sizeof types / sizeof types[0]);
        if (r) buf_printf(&h, "%s,%s", ows[w & 3], ows[(w >> 2) & 3]);
        buf_puts(&h, types[t].text);
        bool has_q = p & 1, other = p & 2, zero = has_q && qvalues[(p >> 2) % NQ].zero;
        if (other && (p & 0x40)) buf_printf(&h, "%s;%scharset=utf-8", ows[(w >> 4) & 3], ows[(w >> 6) & 3]);
        if (has_q)
            buf_printf(&h, "%s;%s%c=%s", ows[(w >> 4) & 3], ows[(w >> 6) & 3], p & 0x80 ? 'Q' : 'q',
                       qvalues[(p >> 2) % NQ].text);
        if (other && !(p & 0x40)) buf_printf(&h, ";ext=\"x\"");
        int k = types[t].kind;
        bool ok = !zero && (k == 1 || (k == 2 && !other));
        want |= ok;
        want_json |= ok || (!zero && k == 3);
    }
    char *v = buf_steal(&h);
    FZ_CHECK(v != NULL, "out of memory");
    FZ_CHECK(http_accept_ok(v) == want, "Accept '%s': %d, reference %d", v, http_accept_ok(v), want);
    FZ_CHECK(http_accept_json_ok(v) == want_json, "Accept '%s' (JSON too): %d, reference %d", v,
             http_accept_json_ok(v), want_json);
    free(v);
}

/* Accept-Encoding: codings with q values (RFC 9110 §12.5.3). */
static void check_accept_encoding(fz_in *in)
{
    static const struct {
        const char *text;
        int kind; /* 0 other, 1 gzip, 2 any */
    } codings[] = {{"gzip", 1},     {"x-gzip", 1}, {"GZIP", 1},    {"*", 2},
                   {"identity", 0}, {"br", 0},     {"deflate", 0}, {"gzipx", 0}};
    buf h;
    buf_init(&h);
    int gzip_named = 0, gzip_ok = 0, star_named = 0, star_ok = 0;
    int n = fz_u8(in) % 6;
    for (int i = 0; i < n; i++) {
        uint8_t c = fz_u8(in), p = fz_u8(in), w = fz_u8(in);
        int k = codings[c % (sizeof codings / sizeof codings[0])].kind;
        if (i) buf_printf(&h, "%s,%s", ows[w & 3], ows[(w >> 2) & 3]);
        buf_puts(&h, codings[c % (sizeof codings / sizeof codings[0])].text);
        bool zero = false;
        if (p & 1) {
            zero = qvalues[(p >> 1) % NQ].zero;
            buf_printf(&h, "%s;%sq=%s", ows[(w >> 4) & 3], ows[(w >> 6) & 3], qvalues[(p >> 1) % NQ].text);
        }
        if (k == 1) gzip_named = 1, gzip_ok |= !zero;
        if (k == 2) star_named = 1, star_ok |= !zero;
    }
    char *v = buf_steal(&h);
    FZ_CHECK(v != NULL, "out of memory");
    bool want = gzip_named ? gzip_ok : star_named && star_ok;
    FZ_CHECK(http_accepts_gzip(v) == want, "Accept-Encoding '%s': %d, reference %d", v, http_accepts_gzip(v),
             want);
    free(v);
}

/* If-None-Match: a list of entity tags against our ETag. */
static void check_if_none_match(fz_in *in)
{
    static const char *const tags[] = {"\"5f3a\"", "\"5f3a-gz\"", "\"other\"", "\"5f3\"", "*", "\"\""};
    static const char *const ours[] = {"W/\"5f3a\"", "W/\"5f3a-gz\"", "\"5f3a\""};
    const char *etag = ours[fz_u8(in) % 3];
    const char *bare = etag[0] == 'W' ? etag + 2 : etag;
    buf h;
    buf_init(&h);
    bool want = false;
    int n = fz_u8(in) % 5;
    for (int i = 0; i < n; i++) {
        uint8_t c = fz_u8(in), w = fz_u8(in);
        const char *t = tags[c % (sizeof tags / sizeof tags[0])];
        bool weak = c & 0x80 && t[0] != '*';
        if (i) buf_printf(&h, "%s,%s", ows[w & 3], ows[(w >> 2) & 3]);
        buf_printf(&h, "%s%s", weak ? "W/" : "", t);
        want |= strcmp(t, "*") == 0 || strcmp(t, bare) == 0;
    }
    char *v = buf_steal(&h);
    FZ_CHECK(v != NULL, "out of memory");
    FZ_CHECK(http_etag_matches(v, etag) == want, "If-None-Match '%s' against %s: %d, reference %d", v, etag,
             http_etag_matches(v, etag), want);
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t mode = fz_u8(&in);
    if (mode % 2 == 0) {
        char *v = fz_strndup(in.p, in.n);
        check_raw(v);
        free(v);
    } else if (mode % 6 == 1) {
        check_accept(&in);
    } else if (mode % 6 == 3) {
        check_accept_encoding(&in);
    } else {
        check_if_none_match(&in);
    }
    return 0;
}
