/* reply: a strict JSON scanner that turns a node's JSON-RPC reply into a
 * callset.
 *
 * Design. The reply is held whole: reply_parser_feed appends the bytes to
 * one buffer, and reply_parser_finish scans it once (reply_parser_parse_all
 * scans the caller's buffer without copying). The scanner is hand-written
 * recursive descent over the one shape we expect, with a fixed call depth:
 *
 *   parse_reply (the envelope object)
 *     → parse_result (the array of calls) → parse_record (one call object)
 *     → parse_error (the JSON-RPC error object: code, message)
 *
 * Everything else (unknown members, record fields the API does not keep, a
 * result we only need to count) goes through walk_value, a loop that checks
 * the JSON syntax of any value and keeps the kinds of the open containers
 * on an explicit stack, so no input makes us recurse. A record field the API
 * prints is rendered immediately into the callset arena as the exact JSON
 * text the document will contain: strings re-escaped, times formatted,
 * durations truncated, numbers and literals as given. A nested value in
 * such a field (the node should not send one, but "as given" means as
 * given) is re-serialised compactly by the same walk_value. Field names are
 * found through a hash table built once.
 *
 * Strings. The common string (no backslash, every byte printable ASCII) is
 * copied to the arena as `"` + raw bytes + `"` in one append, because the
 * escaper would copy those bytes verbatim. Otherwise escapes are decoded to
 * UTF-8 into a scratch buffer (a surrogate pair becomes one code point, a
 * lone surrogate U+FFFD) and buf_put_json_str re-escapes the result; bytes
 * that are not valid UTF-8 are not an error, the escaper turns them into
 * U+FFFD.
 *
 * JSON. Strict RFC 8259: one value with whitespace (space, tab, CR, LF)
 * around it; no raw control bytes in strings; only the standard escapes;
 * numbers as in the grammar. The buffer is not NUL-terminated: every read is
 * bounds-checked against its length.
 *
 * Duplicate keys. A member whose value the service reads appearing twice
 * in one object makes the reply ambiguous, and the reply is refused as
 * invalid ("duplicate key ..."): in the envelope `jsonrpc`, `id`, `result`
 * and `error`, in the error object `code` and `message`, in a call record
 * every field the API keeps (docs/API.md, "Listing"). Members nobody reads
 * may repeat, as JSON allows. In records, where this is on the hot path,
 * each kept field has a bit and a record's fields seen so far are one
 * 64-bit word.
 *
 * Records. A reply may hold at most max_records call records (kept or
 * skipped; reply_parser_limit_records): the scan stops at the first record
 * beyond, before it takes any memory, and the reply is REPLY_TOO_MANY_RECORDS
 * (unless it is not JSON further on, see below). A tiny record renders as a
 * full resource object of some kilobytes, so this, not the reply's size, is
 * what bounds the document a node can cause (docs/API.md, "Listing").
 *
 * Errors. The first problem found wins. A syntax error gives "not JSON:
 * <what> at byte <offset>". A reply that is JSON of the wrong shape stops
 * the scan with its own detail ("result is not an array", ...); the buffer
 * is then walked once more as plain JSON, so that a reply that is not JSON
 * at all is always reported as such. Two exceptions are decided without
 * reading on: a reply whose first value is not an object ("reply is not a
 * JSON object": feed can refuse it from its first byte), and nesting deeper
 * than MAX_DEPTH levels (so reported, also when the walk after a wrong
 * shape reaches it). Inside a printed field CAP_MAX_DEPTH levels are
 * allowed.
 *
 * Threads. A parser is used by one thread at a time; the only shared state
 * is the tables built once under pthread_once. */
#include "nodes/reply_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/grow.h"
#include "util/timefmt.h"

#define MAX_DEPTH 1024   /* containers open at once, anywhere in the reply */
#define CAP_MAX_DEPTH 64 /* containers open at once inside a printed field */
#define RECORD_DEPTH 3   /* envelope, result array, record */

/* ---- tables built once ---------------------------------------------------- */

/* F_EXTRA: kept as F_ATTR is, in the record's extra[] (model/calls.h) */
typedef enum { F_NONE, F_ATTR, F_TIME, F_DURATION, F_TAG, F_REL, F_EXTRA } field_kind;

typedef struct field_slot {
    const char *name;
    uint8_t len;
    uint8_t kind;
    uint8_t index; /* attribute or relationship index */
    uint8_t bit;   /* its bit in a record's word of fields seen (duplicate keys) */
} field_slot;

#define FIELD_SLOTS 256 /* power of two, well above the ~60 names */
static field_slot field_table[FIELD_SLOTS];

/* byte classes inside a string */
enum {
    B_STR = 1,   /* may stand raw in a JSON string: >= 0x20, not '"' or '\\' */
    B_PLAIN = 2, /* and is copied verbatim by the escaper: also < 0x80 */
};
static uint8_t byte_class[256];

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static inline uint64_t load8(const unsigned char *s)
{
    uint64_t x;
    memcpy(&x, s, 8);
    return x;
}

static inline uint64_t load4(const unsigned char *s)
{
    uint32_t x;
    memcpy(&x, s, 4);
    return x;
}

static uint32_t name_hash(const unsigned char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
    return h;
}

_Static_assert(ATTR_COUNT + REL_FROM_RECORD + XF_COUNT <= 64, "a record's fields seen fit in one word");

static void field_put(const char *name, field_kind kind, int index, int bit)
{
    size_t n = strlen(name);
    uint32_t i = name_hash((const unsigned char *)name, n) & (FIELD_SLOTS - 1);
    while (field_table[i].name) i = (i + 1) & (FIELD_SLOTS - 1);
    field_table[i] = (field_slot){name, (uint8_t)n, (uint8_t)kind, (uint8_t)index, (uint8_t)bit};
}

static void tables_build(void)
{
    for (int a = 0; a < ATTR_COUNT; a++) {
        field_kind k = F_ATTR;
        if (a == ATTR_START_TIME || a == ATTR_CONNECT_TIME)
            k = F_TIME;
        else if (a == ATTR_DURATION)
            k = F_DURATION;
        else if (a == ATTR_LOCAL_TAG)
            k = F_TAG;
        field_put(call_attrs[a].field, k, a, a);
    }
    for (int r = 0; r < REL_FROM_RECORD; r++) field_put(call_rels[r].field, F_REL, r, ATTR_COUNT + r);
    for (int x = 0; x < XF_COUNT; x++)
        field_put(call_extra_fields[x], F_EXTRA, x, ATTR_COUNT + REL_FROM_RECORD + x);

    for (int c = 0x20; c < 256; c++) {
        if (c == '"' || c == '\\') continue;
        byte_class[c] = B_STR | (c < 0x80 ? B_PLAIN : 0);
    }
}

/* a[0..n) == b[0..n), for short names, without a call */
static inline bool same_name(const unsigned char *a, const unsigned char *b, size_t n)
{
    if (n >= 8) {
        for (size_t k = 0; k + 8 < n; k += 8)
            if (load8(a + k) != load8(b + k)) return false;
        return load8(a + n - 8) == load8(b + n - 8);
    }
    if (n >= 4) return load4(a) == load4(b) && load4(a + n - 4) == load4(b + n - 4);
    for (size_t k = 0; k < n; k++)
        if (a[k] != b[k]) return false;
    return true;
}

static bool field_is(const field_slot *f, const unsigned char *s, size_t n)
{
    return f->len == n && same_name((const unsigned char *)f->name, s, n);
}

static const field_slot *field_lookup(const unsigned char *s, size_t n)
{
    uint32_t i = name_hash(s, n) & (FIELD_SLOTS - 1);
    while (field_table[i].name) {
        if (field_is(&field_table[i], s, n)) return &field_table[i];
        i = (i + 1) & (FIELD_SLOTS - 1);
    }
    return NULL;
}

/* ---- parser state ------------------------------------------------------- */

/* Nodes send the fields of every record in the same order, so the k-th key
 * of a record is checked first against the k-th key of the one before: when
 * the same bytes and then a closing quote follow, the key is that same
 * string (it holds no quote or backslash) and its field is known, without
 * scanning the string or looking the name up. */
#define KEY_MEMO 128

typedef struct key_memo {
    const unsigned char *name; /* in the scanned buffer; NULL: none yet */
    size_t len;
    const field_slot *field; /* NULL: a field the API does not use */
} key_memo;

struct reply_parser {
    reply_expect expect;
    char want_id[24];
    size_t want_id_len;
    callset *out;

    /* the fed bytes (reply_parser_feed) */
    char *in;
    size_t in_len, in_cap;
    bool started; /* feed has seen the first non-whitespace byte */

    /* the scan: s[0..n), at i */
    const unsigned char *s;
    size_t n, i;
    buf scratch;              /* decoded text of strings with escapes */
    uint8_t stack[MAX_DEPTH]; /* walk_value: kinds of the open containers */
    key_memo memo[KEY_MEMO];  /* record keys by position, see above */

    /* what the envelope held */
    bool seen_id, id_ok, seen_result, seen_error, error_malformed, version_ok;
    size_t records;     /* call records scanned so far */
    size_t max_records; /* ... and at most (reply_parser_limit_records) */
    bool too_many;      /* the scan stopped at record max_records + 1 */
    bool result_int_ok;
    int64_t result_int;
    int64_t rpc_code;
    char message[256]; /* the JSON-RPC error's message */

    bool finished;
    reply_outcome outcome;
    bool failed;        /* detail holds the first problem */
    bool syntax_failed; /* ... and it is a syntax error */
    bool terminal;      /* ... and it is decided without reading further */
    char detail[256];
};

/* A reply that is JSON but not what we expect. Keeps the first problem. */
static bool fail(reply_parser *p, const char *why)
{
    if (!p->failed) snprintf(p->detail, sizeof p->detail, "%s", why);
    p->failed = true;
    return false;
}

/* A syntax error: replaces any earlier detail (the reply is not JSON). */
static bool bad_json(reply_parser *p, size_t at, const char *what)
{
    snprintf(p->detail, sizeof p->detail, "not JSON: %s at byte %zu", what, at);
    p->failed = p->syntax_failed = true;
    return false;
}

/* The byte at p->i (or the end) is not what the grammar allows here. */
static bool unexpected(reply_parser *p, const char *wanted)
{
    char what[128];
    if (p->i >= p->n) {
        snprintf(what, sizeof what, "unexpected end of input (expected %s)", wanted);
    } else {
        unsigned c = p->s[p->i];
        if (c > 0x20 && c < 0x7f)
            snprintf(what, sizeof what, "expected %s, found '%c'", wanted, (int)c);
        else
            snprintf(what, sizeof what, "expected %s, found byte 0x%02x", wanted, c);
    }
    return bad_json(p, p->i, what);
}

/* A member the service reads, met a second time in one object. */
static bool duplicate_key(reply_parser *p, const char *name, const char *where)
{
    char why[160];
    snprintf(why, sizeof why, "duplicate key \"%s\" in %s", name, where);
    return fail(p, why);
}

/* Too deep to read on: replaces any earlier detail, as a syntax error does,
 * since a wrong shape found before it (the walk after it) is only known
 * to be JSON up to here. */
static bool too_deep(reply_parser *p)
{
    snprintf(p->detail, sizeof p->detail, "reply nested too deeply (more than %d levels) at byte %zu",
             MAX_DEPTH, p->i);
    p->failed = p->terminal = true;
    return false;
}

/* ---- small helpers ------------------------------------------------------- */

static inline bool is_ws(unsigned c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
static inline bool is_digit(unsigned c) { return c - '0' < 10u; }

/* The byte at p->i, or -1 at the end. */
static inline int peek(const reply_parser *p) { return p->i < p->n ? p->s[p->i] : -1; }

static inline void skip_ws(reply_parser *p)
{
    const unsigned char *s = p->s;
    size_t i = p->i, n = p->n;
    while (i < n && is_ws(s[i])) i++;
    p->i = i;
}

/* Room for k more bytes at the end of b, or NULL when out of memory (b->oom
 * is then set and checked once at the end of the scan). For text written in
 * place; plain appends use buf_append / buf_putc (inline, util/buf.h). */
static inline char *room(buf *b, size_t k) { return buf_reserve(b, k) ? b->data + b->len : NULL; }

/* strict integer: optional '-', digits, within int64 */
static bool parse_int(const unsigned char *s, size_t n, int64_t *v)
{
    size_t i = 0;
    bool neg = false;
    if (n && s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == n || n - i > 19) return false;
    uint64_t x = 0;
    for (; i < n; i++) {
        if (!is_digit(s[i])) return false;
        x = x * 10 + (uint64_t)(s[i] - '0'); /* 19 digits fit in uint64 */
    }
    if (x > (uint64_t)INT64_MAX + (neg ? 1u : 0u)) return false;
    *v = neg ? (int64_t)(0 - x) : (int64_t)x;
    return true;
}

/* A JSON number's text as whole seconds, truncated toward zero. The common
 * shapes (an integer, or up to 6 fraction digits with an integer part below
 * 2^33, where the nearest double cannot round up to the next integer) are
 * done here; the rest by timefmt_parse_seconds, as before. */
static bool number_seconds(const unsigned char *s, size_t n, int64_t *v)
{
    size_t i = s[0] == '-' ? 1 : 0, d = i;
    uint64_t x = 0;
    while (d < n && d - i < 18 && is_digit(s[d])) x = x * 10 + (uint64_t)(s[d++] - '0');
    size_t frac = 0;
    if (d < n && s[d] == '.') {
        frac = n - d - 1;
        for (size_t k = d + 1; k < n; k++)
            if (!is_digit(s[k])) {
                frac = 7;
                break;
            }
        if (x >= (uint64_t)1 << 33) frac = 7;
    } else if (d != n) {
        frac = 7; /* exponent, or more than 18 digits */
    }
    if (frac > 6) return timefmt_parse_seconds((const char *)s, n, v);
    *v = i ? -(int64_t)x : (int64_t)x;
    return true;
}

/* ---- tokens -------------------------------------------------------------- */

/* A string's contents s[start..end) and what they hold. */
typedef struct jstr {
    size_t start, end;
    bool escaped; /* holds a backslash escape */
    bool plain;   /* no escape, every byte B_PLAIN: the JSON text is the value */
} jstr;

/* Eight bytes at a time: bit 7 of each byte of the result is set where x
 * holds a byte that ends a run of B_PLAIN bytes (< 0x20, '"', '\\' or
 * >= 0x80). A subtraction's borrow can also mark bytes above the lowest such
 * byte, so only the lowest mark counts; with x loaded little-endian, that is
 * the first of those bytes in memory. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "skip_plain reads words little-endian");

static inline uint64_t plain_stops(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t quote = x ^ (ones * '"'), bslash = x ^ (ones * '\\');
    return ((x - ones * 0x20) | (quote - ones) | (bslash - ones) | x) & high;
}

/* From i: the first byte of s[i..n) that is not B_PLAIN, or n. */
static inline size_t skip_plain(const unsigned char *s, size_t n, size_t i)
{
    while (n - i >= 8) {
        uint64_t stops = plain_stops(load8(s + i));
        if (stops) return i + (size_t)__builtin_ctzll(stops) / 8;
        i += 8;
    }
    while (i < n && (byte_class[s[i]] & B_PLAIN)) i++;
    return i;
}

/* scan_string past its first byte that is not B_PLAIN, at i. */
static bool scan_string_rest(reply_parser *p, jstr *v, size_t i)
{
    const unsigned char *s = p->s;
    size_t n = p->n;
    uint8_t mask = B_PLAIN;
    for (;;) {
        if (mask == B_PLAIN)
            i = skip_plain(s, n, i);
        else
            while (i < n && (byte_class[s[i]] & B_STR)) i++;
        if (i == n) {
            p->i = n;
            return unexpected(p, "'\"' to end the string");
        }
        unsigned c = s[i];
        if (c == '"') break;
        if (c >= 0x80) { /* not ASCII: the escaper decides what it is */
            mask = B_STR;
            continue;
        }
        if (c == '\\') {
            v->escaped = true;
            if (n - i < 2) {
                p->i = n;
                return unexpected(p, "an escape");
            }
            c = s[i + 1];
            if (c == 'u') {
                for (size_t k = 2; k < 6; k++) {
                    if (i + k >= n || !((unsigned)((s[i + k] | 0x20) - 'a') < 6u || is_digit(s[i + k]))) {
                        p->i = i + k;
                        return unexpected(p, "4 hex digits after \\u");
                    }
                }
                i += 6;
            } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
                       c == 't') {
                i += 2;
            } else {
                p->i = i + 1;
                return unexpected(p, "an escape character");
            }
            continue;
        }
        p->i = i;
        return bad_json(p, i, "control character in string");
    }
    v->end = i;
    v->plain = !v->escaped && mask == B_PLAIN;
    p->i = i + 1;
    return true;
}

/* At an opening quote: checks the string and leaves p->i past its end. */
static inline bool scan_string(reply_parser *p, jstr *v)
{
    size_t i = skip_plain(p->s, p->n, p->i + 1);
    v->start = p->i + 1;
    v->escaped = false;
    if (i < p->n && p->s[i] == '"') { /* the common case: plain to the end */
        v->end = i;
        v->plain = true;
        p->i = i + 1;
        return true;
    }
    return scan_string_rest(p, v, i);
}

/* At '-' or a digit: checks the number and leaves p->i past its end. */
static inline bool scan_number(reply_parser *p)
{
    const unsigned char *s = p->s;
    size_t n = p->n, i = p->i;
    if (s[i] == '-') i++;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && is_digit(s[i])) {
        do i++;
        while (i < n && is_digit(s[i]));
    } else {
        p->i = i;
        return unexpected(p, "a digit");
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i == n || !is_digit(s[i])) {
            p->i = i;
            return unexpected(p, "a digit after '.'");
        }
        do i++;
        while (i < n && is_digit(s[i]));
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i == n || !is_digit(s[i])) {
            p->i = i;
            return unexpected(p, "a digit in the exponent");
        }
        do i++;
        while (i < n && is_digit(s[i]));
    }
    p->i = i;
    return true;
}

/* At 't', 'f' or 'n': the literal, or an error. Returns its length. */
static inline size_t scan_literal(reply_parser *p)
{
    unsigned c = p->s[p->i];
    const char *lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
    size_t k = c == 'f' ? 5 : 4;
    if (p->n - p->i >= k && memcmp(p->s + p->i, lit, k) == 0) {
        p->i += k;
        return k;
    }
    size_t j = 0; /* where it goes wrong */
    while (j < k && p->i + j < p->n && p->s[p->i + j] == (unsigned char)lit[j]) j++;
    p->i += j;
    unexpected(p, lit);
    return 0;
}

static unsigned hex4(const unsigned char *s)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned c = s[k];
        v = v * 16 + (is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static void put_utf8(buf *b, unsigned cp)
{
    char u[4];
    size_t k;
    if (cp < 0x80) {
        u[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    buf_append(b, u, k);
}

/* The checked contents s[0..n) of a string with escapes, decoded into b. */
static void decode_string(buf *b, const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const unsigned char *bs = memchr(s + i, '\\', n - i);
        size_t k = bs ? (size_t)(bs - s) : n;
        if (k > i) buf_append(b, s + i, k - i);
        if (!bs) break;
        i = k + 2;
        switch (s[k + 1]) {
        case 'b': buf_putc(b, '\b'); break;
        case 'f': buf_putc(b, '\f'); break;
        case 'n': buf_putc(b, '\n'); break;
        case 'r': buf_putc(b, '\r'); break;
        case 't': buf_putc(b, '\t'); break;
        case 'u': {
            unsigned cp = hex4(s + k + 2);
            i = k + 6;
            if (cp >= 0xD800 && cp <= 0xDBFF && n - i >= 6 && s[i] == '\\' && s[i + 1] == 'u') {
                unsigned lo = hex4(s + i + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* a lone surrogate */
            put_utf8(b, cp);
            break;
        }
        default: buf_putc(b, (char)s[k + 1]); break; /* " \ / */
        }
    }
}

/* string_value of a string with escapes. */
static const unsigned char *string_decoded(reply_parser *p, const jstr *v, size_t *len)
{
    buf_reset(&p->scratch);
    decode_string(&p->scratch, p->s + v->start, v->end - v->start);
    if (p->scratch.oom) {
        fail(p, "out of memory");
        *len = 0;
        return (const unsigned char *)"";
    }
    *len = p->scratch.len;
    return (const unsigned char *)p->scratch.data;
}

/* The value of a checked string: its raw bytes, or decoded into p->scratch
 * (valid until the next decode). */
static inline const unsigned char *string_value(reply_parser *p, const jstr *v, size_t *len)
{
    if (v->escaped) return string_decoded(p, v, len);
    *len = v->end - v->start;
    return p->s + v->start;
}

/* Writes the checked string as the JSON text the document prints. */
static void put_string(reply_parser *p, buf *b, const jstr *v)
{
    size_t k = v->end - v->start;
    if (v->plain) {
        char *d = room(b, k + 2);
        if (!d) return;
        d[0] = '"';
        memcpy(d + 1, p->s + v->start, k);
        d[k + 1] = '"';
        b->len += k + 2;
        return;
    }
    const unsigned char *t = string_value(p, v, &k);
    buf_put_json_str(b, t, k);
}

/* ---- containers: the steps every object and array loop shares ------------ */

/* At an opening bracket: steps past it; true when the container is empty
 * (then p->i is past its closing bracket too). */
static inline bool open_empty(reply_parser *p, int close)
{
    p->i++;
    skip_ws(p);
    if (peek(p) != close) return false;
    p->i++;
    return true;
}

typedef enum { LIST_ERR, LIST_END, LIST_MORE } list_step;

/* After a member or element: LIST_END past the closing bracket, LIST_MORE
 * past a ',' (at the next member or element), LIST_ERR when neither. */
static inline list_step list_next(reply_parser *p, int close)
{
    skip_ws(p);
    int c = peek(p);
    if (c == close) {
        p->i++;
        return LIST_END;
    }
    if (c != ',') {
        unexpected(p, close == '}' ? "',' or '}'" : "',' or ']'");
        return LIST_ERR;
    }
    p->i++;
    skip_ws(p);
    return LIST_MORE;
}

/* After a member's key: past the ':' to its value. */
static inline bool colon(reply_parser *p)
{
    skip_ws(p);
    if (peek(p) != ':') return unexpected(p, "':'");
    p->i++;
    skip_ws(p);
    return true;
}

/* At a member's key: scans it (k) and steps to its value. */
static inline bool member_key(reply_parser *p, jstr *k)
{
    if (peek(p) != '"') return unexpected(p, "a string key");
    return scan_string(p, k) && colon(p);
}

static bool walk_key(reply_parser *p, buf *out)
{
    jstr k;
    if (!member_key(p, &k)) return false;
    if (out) {
        put_string(p, out, &k);
        buf_putc(out, ':');
    }
    return true;
}

/* At a value (whitespace skipped): checks it and leaves p->i past it. With
 * `out`, writes it compactly (strings re-escaped, numbers and literals as
 * given; at most CAP_MAX_DEPTH levels). `depth` containers are open around
 * it. Iterative: the open containers' kinds are kept in p->stack. */
static bool walk_value(reply_parser *p, int depth, buf *out)
{
    uint8_t *stack = p->stack;
    int top = 0;
    for (;;) {
        int c = peek(p);
        if (c == '{' || c == '[') {
            if (depth + top >= MAX_DEPTH) return too_deep(p);
            if (out && top == CAP_MAX_DEPTH) return fail(p, "value nested too deeply");
            int close = c == '{' ? '}' : ']';
            stack[top++] = (uint8_t)close;
            p->i++;
            if (out) buf_putc(out, (char)c);
            skip_ws(p);
            if (peek(p) != close) {
                if (c == '{' && !walk_key(p, out)) return false;
                continue; /* to the first member's value or element */
            }
            p->i++;
            top--;
            if (out) buf_putc(out, (char)close);
        } else if (c == '"') {
            jstr v;
            if (!scan_string(p, &v)) return false;
            if (out) put_string(p, out, &v);
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = p->i;
            if (!scan_number(p)) return false;
            if (out) buf_append(out, p->s + start, p->i - start);
        } else if (c == 't' || c == 'f' || c == 'n') {
            size_t start = p->i, k = scan_literal(p);
            if (!k) return false;
            if (out) buf_append(out, p->s + start, k);
        } else {
            return unexpected(p, "a value");
        }

        /* after a value: close containers, or go on to the next one */
        for (;;) {
            if (top == 0) return true;
            skip_ws(p);
            int close = stack[top - 1];
            c = peek(p);
            if (c == close) {
                p->i++;
                top--;
                if (out) buf_putc(out, (char)close);
                continue;
            }
            if (c != ',') return unexpected(p, close == '}' ? "',' or '}'" : "',' or ']'");
            p->i++;
            if (out) buf_putc(out, ',');
            skip_ws(p);
            if (close == '}' && !walk_key(p, out)) return false;
            break;
        }
    }
}

static bool skip_value(reply_parser *p, int depth) { return walk_value(p, depth, NULL); }

/* ---- call records -------------------------------------------------------- */

/* At the value of record field f (whitespace skipped). */
static bool record_value(reply_parser *p, call_record *r, const field_slot *f)
{
    buf *a = &p->out->arena;
    size_t start = a->len;
    field_kind kind = (field_kind)f->kind;
    int c = peek(p);

    if (c == '"') {
        jstr v;
        if (!scan_string(p, &v)) return false;
        size_t k;
        const unsigned char *t;
        switch (kind) {
        case F_EXTRA:
        case F_ATTR: put_string(p, a, &v); break;
        case F_TAG: /* the raw bytes for the call id, then the attribute */
            r->tag = (call_span){0, 0};
            t = string_value(p, &v, &k);
            if (k > 0) {
                buf_append(a, t, k);
                r->tag = (call_span){(uint32_t)start, (uint32_t)k};
                start = a->len;
            }
            if (v.plain)
                put_string(p, a, &v);
            else
                buf_put_json_str(a, t, k);
            break;
        case F_REL:
            t = string_value(p, &v, &k);
            if (!parse_int(t, k, &r->rel_id[f->index])) r->rel_id[f->index] = CALL_ID_NONE;
            return true;
        case F_DURATION: r->duration = CALL_DURATION_NULL; break;
        default: /* F_TIME: a string is no time */ break;
        }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        size_t from = p->i;
        if (!scan_number(p)) return false;
        const unsigned char *t = p->s + from;
        size_t k = p->i - from;
        int64_t v;
        switch (kind) {
        case F_TAG: r->tag = (call_span){0, 0}; __attribute__((fallthrough));
        case F_EXTRA:
        case F_ATTR: buf_append(a, t, k); break;
        case F_REL:
            if (!parse_int(t, k, &r->rel_id[f->index])) r->rel_id[f->index] = CALL_ID_NONE;
            return true;
        case F_DURATION:
            r->duration = CALL_DURATION_NULL;
            if (number_seconds(t, k, &v) && v != CALL_DURATION_NULL) {
                r->duration = v;
                buf_put_i64(a, v);
            }
            break;
        default: { /* F_TIME: epoch seconds; 0 is "not yet" */
            char iso[TIMEFMT_ISO_LEN];
            if (number_seconds(t, k, &v) && v != 0 && timefmt_iso_utc(v, iso)) {
                char *d = room(a, sizeof iso + 2);
                if (d) {
                    d[0] = '"';
                    memcpy(d + 1, iso, sizeof iso);
                    d[sizeof iso + 1] = '"';
                    a->len += sizeof iso + 2;
                }
            }
            break;
        }
        }
    } else if (c == 't' || c == 'f' || c == 'n') {
        size_t from = p->i, k = scan_literal(p);
        if (!k) return false;
        switch (kind) {
        case F_TAG: r->tag = (call_span){0, 0}; __attribute__((fallthrough));
        case F_EXTRA:
        case F_ATTR:
            if (c != 'n') buf_append(a, p->s + from, k); /* null stays a null span */
            break;
        case F_REL: r->rel_id[f->index] = CALL_ID_NONE; return true;
        case F_DURATION: r->duration = CALL_DURATION_NULL; break;
        default: break;
        }
    } else if (c == '{' || c == '[') {
        switch (kind) {
        case F_TAG: r->tag = (call_span){0, 0}; __attribute__((fallthrough));
        case F_EXTRA:
        case F_ATTR:
            if (!walk_value(p, RECORD_DEPTH, a)) return false;
            break;
        case F_REL: r->rel_id[f->index] = CALL_ID_NONE; return skip_value(p, RECORD_DEPTH);
        case F_DURATION: r->duration = CALL_DURATION_NULL; __attribute__((fallthrough));
        default: /* a nested time or duration is null */
            if (!skip_value(p, RECORD_DEPTH)) return false;
            break;
        }
    } else {
        return unexpected(p, "a value");
    }
    call_span *dst = kind == F_EXTRA ? &r->extra[f->index] : &r->attr[f->index];
    *dst = (call_span){(uint32_t)start, (uint32_t)(a->len - start)};
    return true;
}

/* At the '{' of a call record. */
static bool parse_record(reply_parser *p)
{
    callset *cs = p->out;
    if (p->records == p->max_records) {
        char why[80];
        snprintf(why, sizeof why, "reply holds more than %zu call records", p->max_records);
        p->too_many = true;
        return fail(p, why);
    }
    call_record *r = callset_push(cs);
    if (!r) return fail(p, "out of memory");
    p->records++;
    uint64_t seen = 0; /* the kept fields met so far, by field_slot.bit */
    if (!open_empty(p, '}')) {
        for (size_t pos = 0;; pos++) {
            if (peek(p) != '"') return unexpected(p, "a string key");
            const field_slot *f;
            key_memo *m = pos < KEY_MEMO ? &p->memo[pos] : NULL;
            const unsigned char *at = p->s + p->i + 1; /* the key's first byte */
            if (m && m->name && p->n - p->i > m->len + 1 && at[m->len] == '"' &&
                same_name(m->name, at, m->len)) {
                f = m->field;
                p->i += m->len + 2;
            } else {
                jstr k;
                if (!scan_string(p, &k)) return false;
                size_t klen;
                const unsigned char *key = string_value(p, &k, &klen);
                f = field_lookup(key, klen);
                if (m && !k.escaped) *m = (key_memo){key, klen, f}; /* not scratch text */
            }
            if (f) {
                uint64_t bit = (uint64_t)1 << f->bit;
                if (seen & bit) {
                    char where[48];
                    snprintf(where, sizeof where, "call record %zu", p->records);
                    return duplicate_key(p, f->name, where);
                }
                seen |= bit;
            }
            if (!colon(p)) return false;
            if (!(f ? record_value(p, r, f) : skip_value(p, RECORD_DEPTH))) return false;
            list_step next = list_next(p, '}');
            if (next == LIST_ERR) return false;
            if (next == LIST_END) break;
        }
    }
    if (r->tag.len == 0) { /* no usable local_tag: no id, no call */
        callset_pop(cs);
        cs->skipped++;
    }
    /* spans are 32-bit offsets */
    if (cs->arena.len > UINT32_MAX) return fail(p, "reply too large");
    return true;
}

/* At the '[' of the result (REPLY_EXPECT_CALLS). */
static bool parse_result(reply_parser *p)
{
    if (open_empty(p, ']')) return true;
    for (;;) {
        if (peek(p) != '{') return fail(p, "call record is not an object");
        if (!parse_record(p)) return false;
        list_step next = list_next(p, ']');
        if (next != LIST_MORE) return next == LIST_END;
    }
}

static bool key_is(const unsigned char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* At the '{' of the JSON-RPC error. */
static bool parse_error(reply_parser *p)
{
    if (open_empty(p, '}')) return true;
    bool seen_code = false, seen_message = false;
    for (;;) {
        jstr k;
        if (!member_key(p, &k)) return false;
        size_t klen;
        const unsigned char *key = string_value(p, &k, &klen);
        bool is_code = key_is(key, klen, "code"), is_message = key_is(key, klen, "message");
        if ((is_code && seen_code) || (is_message && seen_message))
            return duplicate_key(p, is_code ? "code" : "message", "the JSON-RPC error");
        seen_code |= is_code;
        seen_message |= is_message;
        int c = peek(p);
        if (is_code && (c == '-' || (c >= '0' && c <= '9'))) {
            size_t from = p->i;
            if (!scan_number(p)) return false;
            parse_int(p->s + from, p->i - from, &p->rpc_code); /* kept only if an integer */
        } else if (is_message && c == '"') {
            jstr v;
            if (!scan_string(p, &v)) return false;
            size_t n;
            const unsigned char *t = string_value(p, &v, &n);
            if (n > sizeof p->message - 1) n = sizeof p->message - 1;
            memcpy(p->message, t, n);
            p->message[n] = '\0';
        } else if (!skip_value(p, 2)) {
            return false;
        }
        list_step next = list_next(p, '}');
        if (next != LIST_MORE) return next == LIST_END;
    }
}

/* At the first non-whitespace byte (or the end): is the reply an object? */
static bool top_is_object(reply_parser *p)
{
    int c = peek(p);
    if (c == '{') return true;
    if (c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') ||
        (c == 't' && p->n - p->i >= 4 && memcmp(p->s + p->i, "true", 4) == 0) ||
        (c == 'f' && p->n - p->i >= 5 && memcmp(p->s + p->i, "false", 5) == 0) ||
        (c == 'n' && p->n - p->i >= 4 && memcmp(p->s + p->i, "null", 4) == 0)) {
        fail(p, "reply is not a JSON object");
        p->terminal = true;
        return false;
    }
    return unexpected(p, "a JSON object");
}

/* The whole reply: the envelope object and nothing after it. */
static bool parse_reply(reply_parser *p)
{
    skip_ws(p);
    if (!top_is_object(p)) return false;
    unsigned seen = 0; /* the members read so far: bit k for envelope_keys[k] */
    static const char *const envelope_keys[] = {"id", "result", "error", "jsonrpc"};
    if (!open_empty(p, '}')) {
        for (;;) {
            jstr k;
            if (!member_key(p, &k)) return false;
            size_t klen;
            const unsigned char *key = string_value(p, &k, &klen);
            bool is_id = key_is(key, klen, "id"), is_result = key_is(key, klen, "result");
            bool is_error = key_is(key, klen, "error"), is_version = key_is(key, klen, "jsonrpc");
            /* a member read twice makes the reply ambiguous: refuse it */
            int which = is_id ? 0 : is_result ? 1 : is_error ? 2 : is_version ? 3 : -1;
            if (which >= 0) {
                if (seen & 1u << which) return duplicate_key(p, envelope_keys[which], "the reply envelope");
                seen |= 1u << which;
            }
            int c = peek(p);
            size_t from = p->i;
            if (is_id) {
                p->seen_id = true;
                p->id_ok = false;
                if (c == '-' || (c >= '0' && c <= '9')) {
                    if (!scan_number(p)) return false;
                    p->id_ok =
                        p->i - from == p->want_id_len && memcmp(p->s + from, p->want_id, p->want_id_len) == 0;
                } else if (!skip_value(p, 1)) {
                    return false;
                }
            } else if (is_result) {
                p->seen_result = true;
                if (p->expect == REPLY_EXPECT_CALLS) {
                    if (c != '[') return fail(p, "result is not an array");
                    if (!parse_result(p)) return false;
                } else if (c == '-' || (c >= '0' && c <= '9')) {
                    if (!scan_number(p)) return false;
                    p->result_int_ok = parse_int(p->s + from, p->i - from, &p->result_int);
                } else if (!skip_value(p, 1)) {
                    return false;
                }
            } else if (is_error) {
                if (c == '{') {
                    p->seen_error = true;
                    if (!parse_error(p)) return false;
                } else {
                    if (!skip_value(p, 1)) return false;
                    if (c != 'n') p->seen_error = p->error_malformed = true; /* null is no error */
                }
            } else if (is_version && c == '"') {
                jstr v;
                if (!scan_string(p, &v)) return false;
                size_t n;
                const unsigned char *t = string_value(p, &v, &n);
                p->version_ok = key_is(t, n, "2.0");
            } else {
                if (is_version) p->version_ok = false;
                if (!skip_value(p, 1)) return false;
            }
            list_step next = list_next(p, '}');
            if (next == LIST_ERR) return false;
            if (next == LIST_END) break;
        }
    }
    skip_ws(p);
    if (p->i != p->n) return bad_json(p, p->i, "data after the reply");
    return true;
}

/* Scans s[0..n) and classifies the reply. */
static reply_outcome scan(reply_parser *p, const unsigned char *s, size_t n)
{
    p->s = s;
    p->n = n;
    p->i = 0;
    memset(p->memo, 0, sizeof p->memo);
    if (!p->failed && !parse_reply(p) && !p->syntax_failed && !p->terminal) {
        /* JSON of the wrong shape, or not JSON at all further on? */
        p->i = 0;
        skip_ws(p);
        if (walk_value(p, 0, NULL)) {
            skip_ws(p);
            if (p->i != p->n) bad_json(p, p->i, "data after the reply");
        }
    }
    p->s = NULL;
    p->n = p->i = 0;
    buf_free(&p->scratch);

    if (!p->failed && p->out->arena.oom) fail(p, "out of memory");
    if (p->failed) return p->too_many && !p->syntax_failed ? REPLY_TOO_MANY_RECORDS : REPLY_INVALID;
    if (!p->version_ok) {
        fail(p, "not JSON-RPC 2.0 (no \"jsonrpc\":\"2.0\")");
        return REPLY_INVALID;
    }
    if (!p->seen_id || !p->id_ok) {
        fail(p, "reply id does not match the request");
        return REPLY_INVALID;
    }
    if (p->seen_error) {
        if (p->error_malformed)
            snprintf(p->detail, sizeof p->detail, "malformed JSON-RPC error");
        else if (p->message[0])
            snprintf(p->detail, sizeof p->detail, "%s", p->message);
        else
            snprintf(p->detail, sizeof p->detail, "error %lld", (long long)p->rpc_code);
        return REPLY_RPC_ERROR;
    }
    if (!p->seen_result) {
        fail(p, "reply has neither result nor error");
        return REPLY_INVALID;
    }
    return REPLY_OK;
}

/* ---- public ------------------------------------------------------------- */

reply_parser *reply_parser_new(reply_expect expect, int64_t request_id, callset *out)
{
    pthread_once(&tables_once, tables_build);
    reply_parser *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->expect = expect;
    p->out = out;
    p->max_records = SIZE_MAX;
    snprintf(p->want_id, sizeof p->want_id, "%lld", (long long)request_id);
    p->want_id_len = strlen(p->want_id);
    buf_init(&p->scratch);
    return p;
}

void reply_parser_free(reply_parser *p)
{
    if (!p) return;
    free(p->in);
    buf_free(&p->scratch);
    free(p);
}

int reply_parser_feed(reply_parser *p, const char *data, size_t n)
{
    if (p->failed || p->finished) return -1;
    if (n == 0) return 0;
    if (n > SIZE_MAX - p->in_len) {
        fail(p, "out of memory");
        return -1;
    }
    size_t from = p->in_len, need = p->in_len + n;
    if (!grow((void **)&p->in, &p->in_cap, need, 1, 4096)) {
        fail(p, "out of memory");
        return -1;
    }
    memcpy(p->in + from, data, n);
    p->in_len = need;

    /* the first byte already tells a reply that is not an object */
    if (!p->started) {
        p->s = (const unsigned char *)p->in;
        p->n = p->in_len;
        p->i = from;
        skip_ws(p);
        int c = peek(p);
        /* t, f, n: wait for the whole literal */
        bool refused = c >= 0 && c != 't' && c != 'f' && c != 'n' && !top_is_object(p);
        if (c >= 0) p->started = true;
        p->s = NULL;
        p->n = p->i = 0;
        if (refused) return -1;
    }
    return 0;
}

reply_outcome reply_parser_finish(reply_parser *p)
{
    if (!p->finished) {
        p->outcome = scan(p, (const unsigned char *)p->in, p->in_len);
        p->finished = true;
        free(p->in); /* the reply can be tens of megabytes: give it back now */
        p->in = NULL;
        p->in_len = p->in_cap = 0;
    }
    return p->outcome;
}

reply_outcome reply_parser_parse_all(reply_parser *p, const char *data, size_t n)
{
    if (p->finished) return p->outcome;
    if (p->in_len || p->failed) { /* bytes fed before: keep them in order */
        reply_parser_feed(p, data, n);
        return reply_parser_finish(p);
    }
    p->outcome = scan(p, (const unsigned char *)data, n);
    p->finished = true;
    return p->outcome;
}

void reply_parser_limit_records(reply_parser *p, size_t max) { p->max_records = max; }

const char *reply_parser_detail(const reply_parser *p) { return p->detail; }
int64_t reply_parser_rpc_code(const reply_parser *p) { return p->rpc_code; }

bool reply_parser_int_result(const reply_parser *p, int64_t *v)
{
    if (!p->result_int_ok) return false;
    *v = p->result_int;
    return true;
}
