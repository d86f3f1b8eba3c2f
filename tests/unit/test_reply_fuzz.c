/* test_reply_fuzz: nodes/reply.c against two references, with fixed seeds.
 *
 * 1. Generated replies. A generator writes valid replies whose every value
 *    is spelt in a random way (escapes or raw bytes, \u escapes in either
 *    case, surrogate pairs, invalid UTF-8, control characters, numbers in
 *    many shapes, nested values, whitespace, unknown fields, keys in changing
 *    order, duplicate keys) and keeps, beside the text, what each attribute
 *    must read: a string's decoded bytes re-escaped by buf_put_json_str, a
 *    number's text, a nested value's compact text, a time's ISO text. The
 *    parser's callset must be exactly that, whole (parse_all) and fed in
 *    random chunks. A record that repeats a field the API keeps makes the
 *    reply invalid, with the first such record and field named; an unknown
 *    field may repeat.
 *
 * 2. JSON syntax against yajl. Replies from the generator are mutated
 *    (bytes flipped, inserted, deleted; truncation; escapes, brackets,
 *    numbers at the edges of the grammar, control bytes, invalid UTF-8,
 *    nesting), and the parser must call a reply "not JSON" exactly when yajl
 *    (yajl_dont_validate_strings, nothing else) rejects it. Chunked feeding
 *    must agree with parse_all byte for byte. Intentional differences, each
 *    checked on its own below (reply_diff.h applies them, here and in
 *    fuzz/fuzz_reply.c):
 *    - yajl takes \v and \f as whitespace, RFC 8259 does not: the yajl
 *      verdict is taken on a copy where those two bytes read \x01 (a byte
 *      invalid everywhere, as they are in strict JSON);
 *    - yajl misses trailing data that is an unterminated string (`{}"abc`
 *      passes): the copy also gets a newline appended, which changes no
 *      verdict of strict JSON but ends such a string with a control byte;
 *    - a reply whose first value is not an object is refused as "reply is
 *      not a JSON object" without reading on, JSON or not;
 *    - nesting deeper than 1024 levels is refused ("nested too deeply"),
 *      yajl has no limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/calls.h"
#include "nodes/reply.h"
#include "reply_diff.h"
#include "util/buf.h"
#include "util/timefmt.h"

/* ---- random numbers (xorshift64*, fixed seeds) ------------------------------------- */

static uint64_t rng_state;

static void rng_seed(uint64_t s) { rng_state = s ? s : 1; }

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static int pick(int n) { return (int)(rnd() % (uint64_t)n); }
static bool chance(int percent) { return pick(100) < percent; }

/* ---- the generator ----------------------------------------------------------------- */

static void gen_ws(buf *j)
{
    static const char ws[] = " \t\r\n";
    if (!chance(20)) return;
    for (int k = 1 + pick(3); k > 0; k--) buf_putc(j, ws[pick(4)]);
}

static void put_u_escape(buf *j, unsigned cp) { buf_printf(j, chance(50) ? "\\u%04x" : "\\u%04X", cp); }

static void put_utf8_cp(buf *b, unsigned cp)
{
    if (cp < 0x80) {
        buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        buf_putc(b, (char)(0xC0 | cp >> 6));
        buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        buf_putc(b, (char)(0xE0 | cp >> 12));
        buf_putc(b, (char)(0x80 | (cp >> 6 & 0x3F)));
        buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        buf_putc(b, (char)(0xF0 | cp >> 18));
        buf_putc(b, (char)(0x80 | (cp >> 12 & 0x3F)));
        buf_putc(b, (char)(0x80 | (cp >> 6 & 0x3F)));
        buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    }
}

/* A JSON string into j; its decoded bytes into val. `plain` keeps it to
 * printable ASCII without escapes (the parser's fast path). */
static void gen_string_text(buf *j, buf *val, bool plain, int max_units)
{
    static const unsigned bmp[] = {0xE9, 0xFC, 0x401, 0x20AC, 0x4E2D, 0xFFFD, 0x7FF, 0x800, 0xFFFF};
    buf_putc(j, '"');
    int units = pick(max_units + 1);
    for (int u = 0; u < units; u++) {
        int kind = plain ? 0 : pick(100);
        if (kind < 55) { /* printable ASCII, raw */
            char c;
            do c = (char)(0x20 + pick(0x5f));
            while (c == '"' || c == '\\');
            buf_putc(j, c);
            buf_putc(val, c);
        } else if (kind < 60) { /* printable ASCII as \u, or \/ */
            char c = (char)(0x21 + pick(0x5e));
            if (c == '/' && chance(50))
                buf_puts(j, "\\/");
            else
                put_u_escape(j, (unsigned char)c);
            buf_putc(val, c);
        } else if (kind < 64) {
            buf_puts(j, "\\\"");
            buf_putc(val, '"');
        } else if (kind < 68) {
            buf_puts(j, "\\\\");
            buf_putc(val, '\\');
        } else if (kind < 74) { /* a control character */
            static const char short_esc[] = "bfnrt", ctl[] = "\b\f\n\r\t";
            int k = pick(6);
            if (k < 5) {
                buf_putc(j, '\\');
                buf_putc(j, short_esc[k]);
                buf_putc(val, ctl[k]);
            } else {
                unsigned c = (unsigned)pick(0x20);
                put_u_escape(j, c);
                buf_putc(val, (char)c);
            }
        } else if (kind < 76) {
            buf_putc(j, 0x7f);
            buf_putc(val, 0x7f);
        } else if (kind < 84) { /* a BMP character, raw or escaped */
            unsigned cp = bmp[pick(sizeof bmp / sizeof bmp[0])];
            if (chance(50))
                put_u_escape(j, cp);
            else
                put_utf8_cp(j, cp);
            put_utf8_cp(val, cp);
        } else if (kind < 89) { /* an astral character, raw or as a surrogate pair */
            unsigned cp = 0x10000 + (unsigned)pick(0x100000);
            if (chance(50)) {
                put_u_escape(j, 0xD800 + ((cp - 0x10000) >> 10));
                put_u_escape(j, 0xDC00 + ((cp - 0x10000) & 0x3FF));
            } else {
                put_utf8_cp(j, cp);
            }
            put_utf8_cp(val, cp);
        } else if (kind < 91) { /* a lone high surrogate, then a plain letter */
            put_u_escape(j, 0xD800 + (unsigned)pick(0x400));
            buf_putc(j, 'x');
            put_utf8_cp(val, 0xFFFD);
            buf_putc(val, 'x');
        } else if (kind < 93) { /* a lone low surrogate */
            put_u_escape(j, 0xDC00 + (unsigned)pick(0x400));
            put_utf8_cp(val, 0xFFFD);
        } else if (kind < 95) { /* a high surrogate and then not a low one */
            put_u_escape(j, 0xD800 + (unsigned)pick(0x400));
            put_u_escape(j, 0x41);
            put_utf8_cp(val, 0xFFFD);
            buf_putc(val, 'A');
        } else { /* a raw byte that may not be UTF-8 at all */
            char c = (char)(0x80 + pick(0x80));
            buf_putc(j, c);
            buf_putc(val, c);
        }
    }
    buf_putc(j, '"');
}

/* A JSON number of any shape; its text is both the JSON and the value. */
static void gen_number(buf *j)
{
    switch (pick(8)) {
    case 0: buf_puts(j, chance(50) ? "0" : "-0"); break;
    case 1: buf_printf(j, "%d", pick(100000)); break;
    case 2: buf_printf(j, "-%d", 1 + pick(100000)); break;
    case 3: buf_printf(j, "%d.%0*d", pick(1000), 1 + pick(5), pick(10000)); break;
    case 4: buf_printf(j, "%de%s%d", 1 + pick(9), chance(50) ? "-" : chance(50) ? "+" : "", pick(30)); break;
    case 5: buf_printf(j, "%d.%dE%d", pick(10), pick(100), pick(20)); break;
    case 6: buf_puts(j, "123456789012345678901234567890"); break;
    default: buf_printf(j, "%llu", (unsigned long long)rnd()); break;
    }
}

static const char *gen_literal(void)
{
    static const char *const lits[] = {"true", "false", "null"};
    return lits[pick(3)];
}

/* A nested value into j; its compact text into compact (NULL: none). */
static void gen_nested(buf *j, buf *compact, int depth)
{
    bool obj = chance(50);
    buf_putc(j, obj ? '{' : '[');
    if (compact) buf_putc(compact, obj ? '{' : '[');
    int members = pick(4);
    buf val;
    buf_init(&val);
    for (int m = 0; m < members; m++) {
        if (m) {
            gen_ws(j);
            buf_putc(j, ',');
            if (compact) buf_putc(compact, ',');
        }
        gen_ws(j);
        if (obj) {
            buf_reset(&val);
            gen_string_text(j, &val, chance(50), 4);
            if (compact) {
                buf_put_json_str(compact, val.data, val.len);
                buf_putc(compact, ':');
            }
            gen_ws(j);
            buf_putc(j, ':');
            gen_ws(j);
        }
        int kind = depth < 4 ? pick(4) : pick(3);
        size_t from = j->len;
        if (kind == 0) {
            buf_reset(&val);
            gen_string_text(j, &val, false, 5);
            if (compact) buf_put_json_str(compact, val.data, val.len);
        } else if (kind == 1) {
            gen_number(j);
            if (compact) buf_append(compact, j->data + from, j->len - from);
        } else if (kind == 2) {
            const char *lit = gen_literal();
            buf_puts(j, lit);
            if (compact) buf_puts(compact, lit);
        } else {
            gen_nested(j, compact, depth + 1);
        }
    }
    gen_ws(j);
    buf_putc(j, obj ? '}' : ']');
    if (compact) buf_putc(compact, obj ? '}' : ']');
    buf_free(&val);
}

/* A value that is not a number. */
static void gen_not_number(buf *j)
{
    buf val;
    buf_init(&val);
    switch (pick(3)) {
    case 0: gen_string_text(j, &val, false, 8); break;
    case 1: buf_puts(j, gen_literal()); break;
    default: gen_nested(j, NULL, 2); break;
    }
    buf_free(&val);
}

/* Any value we do not care about. */
static void gen_any(buf *j, int depth)
{
    buf val;
    buf_init(&val);
    switch (pick(depth < 3 ? 4 : 3)) {
    case 0: gen_string_text(j, &val, false, 8); break;
    case 1: gen_number(j); break;
    case 2: buf_puts(j, gen_literal()); break;
    default: gen_nested(j, NULL, depth); break;
    }
    buf_free(&val);
}

/* What one record must read. */
typedef struct want_record {
    bool attr_set[ATTR_COUNT];
    buf attr[ATTR_COUNT]; /* the printed text; empty when null */
    buf extra[XF_COUNT];  /* the same for the extra fields */
    bool has_tag;
    buf tag;
    int64_t rel[REL_FROM_RECORD];
    int64_t duration;
} want_record;

static void want_init(want_record *w)
{
    memset(w, 0, sizeof *w);
    for (int a = 0; a < ATTR_COUNT; a++) buf_init(&w->attr[a]);
    for (int x = 0; x < XF_COUNT; x++) buf_init(&w->extra[x]);
    buf_init(&w->tag);
    for (int k = 0; k < REL_FROM_RECORD; k++) w->rel[k] = CALL_ID_NONE;
    w->duration = CALL_DURATION_NULL;
}

static void want_free(want_record *w)
{
    for (int a = 0; a < ATTR_COUNT; a++) buf_free(&w->attr[a]);
    for (int x = 0; x < XF_COUNT; x++) buf_free(&w->extra[x]);
    buf_free(&w->tag);
}

/* A number of seconds whose truncation we know: the integer part. */
static int64_t gen_seconds(buf *j)
{
    int64_t whole;
    switch (pick(5)) {
    case 0: whole = 0; break;
    case 1: whole = -(int64_t)(1 + pick(100000)); break;
    case 2: whole = (int64_t)(rnd() % (1ull << 40)); break;
    default: whole = 1600000000 + pick(400000000); break;
    }
    bool neg = whole < 0 || (whole == 0 && chance(30));
    uint64_t mag = whole < 0 ? (uint64_t)-whole : (uint64_t)whole;
    buf_printf(j, "%s%llu", neg ? "-" : "", (unsigned long long)mag);
    /* fractions below .9, or .999999 below 2^33: a double cannot round
     * them up to the next integer, so the truncation is the integer part */
    switch (pick(6)) {
    case 0: break; /* an integer */
    case 1:
        buf_printf(j, ".%d", pick(9));
        for (int k = pick(6); k > 0; k--) buf_putc(j, (char)('0' + pick(10)));
        break;
    case 2:
        if (mag < (1ull << 33)) buf_puts(j, ".999999");
        break;
    case 3: buf_printf(j, ".%d%011d", pick(9), pick(1000000000)); break; /* many digits */
    case 4: buf_puts(j, chance(50) ? "e0" : "E+0"); break;
    default: buf_puts(j, mag ? "5e-1" : ".5"); break; /* whole.5 */
    }
    return neg ? -(int64_t)mag : (int64_t)mag;
}

/* A value for a relationship id field; *id what it must read. */
static void gen_rel_value(buf *j, int64_t *id)
{
    static const char *const not_ids[] = {
        "1.5",
        "1e2",
        "\"abc\"",
        "\"\"",
        "\" 5\"",
        "\"+5\"",
        "\"5 \"",
        "true",
        "false",
        "null",
        "[1]",
        "{\"id\":1}",
        "9223372036854775808",
        "-9223372036854775809",
        "\"1.0\"",
        "-0.0",
    };
    int kind = pick(10);
    if (kind < 5) {
        int64_t v = kind == 0 ? INT64_MAX : kind == 1 ? INT64_MIN : (int64_t)(rnd() % 1000000) - 1000;
        buf_printf(j, "%lld", (long long)v);
        *id = v;
    } else if (kind < 7) { /* an integer string, maybe with an escaped digit */
        int64_t v = (int64_t)(rnd() % 100000);
        char digits[24];
        snprintf(digits, sizeof digits, "%lld", (long long)v);
        buf_putc(j, '"');
        for (const char *d = digits; *d; d++) {
            if (chance(20))
                put_u_escape(j, (unsigned char)*d);
            else
                buf_putc(j, *d);
        }
        buf_putc(j, '"');
        *id = v;
    } else {
        buf_puts(j, not_ids[pick(sizeof not_ids / sizeof not_ids[0])]);
        *id = CALL_ID_NONE;
    }
}

static void gen_plain_value(buf *j, buf *out, want_record *tag_of);

/* A value for attribute field a (of its kind); updates w. */
static void gen_attr_value(buf *j, want_record *w, int a)
{
    buf *out = &w->attr[a];
    buf_reset(out);
    w->attr_set[a] = true;
    bool is_time = a == ATTR_START_TIME || a == ATTR_CONNECT_TIME;
    if (is_time || a == ATTR_DURATION) {
        if (a == ATTR_DURATION) w->duration = CALL_DURATION_NULL;
        if (chance(80)) {
            int64_t secs = gen_seconds(j);
            if (a == ATTR_DURATION) {
                w->duration = secs;
                buf_put_i64(out, secs);
            } else {
                char iso[TIMEFMT_ISO_LEN];
                if (secs != 0 && timefmt_iso_utc(secs, iso)) {
                    buf_putc(out, '"');
                    buf_append(out, iso, sizeof iso);
                    buf_putc(out, '"');
                }
            }
        } else {
            gen_not_number(j); /* null */
        }
        return;
    }
    gen_plain_value(j, out, a == ATTR_LOCAL_TAG ? w : NULL);
}

/* A value as a plain kept field reads it (attributes but times and the
 * duration, and the extra fields), into out; for local_tag (tag_of: its
 * record) also the tag's raw bytes. */
static void gen_plain_value(buf *j, buf *out, want_record *tag_of)
{
    bool is_tag = tag_of != NULL;
    want_record *w = tag_of;
    if (is_tag) {
        w->has_tag = false;
        buf_reset(&w->tag);
    }
    int kind = pick(100);
    if (kind < (is_tag ? 90 : 50)) {
        buf val;
        buf_init(&val);
        gen_string_text(j, &val, is_tag ? chance(70) : chance(40), is_tag ? 60 : 24);
        buf_put_json_str(out, val.data, val.len);
        if (is_tag && val.len > 0) {
            w->has_tag = true;
            buf_append(&w->tag, val.data, val.len);
        }
        buf_free(&val);
    } else if (kind < 94) {
        size_t from = j->len;
        gen_number(j);
        buf_append(out, j->data + from, j->len - from);
    } else if (kind < 97) {
        const char *lit = gen_literal();
        buf_puts(j, lit);
        if (strcmp(lit, "null") != 0) buf_puts(out, lit);
    } else {
        gen_nested(j, out, 1);
    }
}

static const char *const unknown_fields[] = {
    "node_id",
    "global_tag",
    "active_resources_json",
    "local_time",
    "Local_Tag",
    "duration_",
    "legA_remote_ip ",
    "",
    "id",
    "result",
    "error",
    "jsonrpc",
    "disconnect_intermediate_reason",
    "caf\xc3\xa9",
    "a\"b",
};

/* A key: usually as is, sometimes with an escaped letter (decoded first). */
static void gen_key(buf *j, const char *name)
{
    bool esc = chance(8);
    buf_putc(j, '"');
    for (const char *c = name; *c; c++) {
        if (*c == '"')
            buf_puts(j, "\\\"");
        else if (esc && chance(30))
            put_u_escape(j, (unsigned char)*c);
        else
            buf_putc(j, *c);
    }
    buf_putc(j, '"');
    gen_ws(j);
    buf_putc(j, ':');
    gen_ws(j);
}

/* Fields of one record: 0..ATTR_COUNT-1 attributes, then relationships,
 * then unknown fields. */
#define KEPT_FIELDS (ATTR_COUNT + REL_FROM_RECORD + XF_COUNT) /* field choices below this are kept */
#define FIELD_CHOICES (KEPT_FIELDS + (int)(sizeof unknown_fields / sizeof unknown_fields[0]))

static void gen_record(buf *j, want_record *w, const int *order, int nfields)
{
    buf_putc(j, '{');
    gen_ws(j);
    for (int k = 0; k < nfields; k++) {
        if (k) {
            buf_putc(j, ',');
            gen_ws(j);
        }
        int f = order[k];
        if (f < ATTR_COUNT) {
            gen_key(j, call_attrs[f].field);
            gen_attr_value(j, w, f);
        } else if (f < ATTR_COUNT + REL_FROM_RECORD) {
            gen_key(j, call_rels[f - ATTR_COUNT].field);
            gen_rel_value(j, &w->rel[f - ATTR_COUNT]);
        } else if (f < KEPT_FIELDS) {
            buf *out = &w->extra[f - ATTR_COUNT - REL_FROM_RECORD];
            gen_key(j, call_extra_fields[f - ATTR_COUNT - REL_FROM_RECORD]);
            buf_reset(out);
            gen_plain_value(j, out, NULL);
        } else {
            gen_key(j, unknown_fields[f - KEPT_FIELDS]);
            gen_any(j, 4);
        }
        gen_ws(j);
    }
    buf_putc(j, '}');
}

/* A field order: most fields, shuffled, sometimes one twice (the last). */
static int gen_order(int *order, int cap)
{
    int n = 0;
    for (int f = 0; f < FIELD_CHOICES && n < cap; f++)
        if (f == ATTR_LOCAL_TAG ? chance(95) : chance(f < KEPT_FIELDS ? 75 : 20)) order[n++] = f;
    for (int k = n - 1; k > 0; k--) {
        int m = pick(k + 1), t = order[k];
        order[k] = order[m];
        order[m] = t;
    }
    if (n && n < cap && chance(10)) { /* a duplicate */
        order[n] = order[pick(n)];
        n++;
    }
    return n;
}

#define MAX_RECORDS 12

typedef struct gen_reply {
    buf json;
    want_record want[MAX_RECORDS];
    int nrec;
    char refused[160]; /* the detail of a duplicate kept field, "" when none */
} gen_reply;

/* The name of a kept field that `order` repeats (its last key), or NULL. */
static const char *repeated_kept_field(const int *order, int nfields)
{
    int last = nfields ? order[nfields - 1] : -1;
    if (last < 0 || last >= KEPT_FIELDS) return NULL;
    for (int k = 0; k < nfields - 1; k++)
        if (order[k] == last)
            return last < ATTR_COUNT ? call_attrs[last].field
                : last < ATTR_COUNT + REL_FROM_RECORD
                ? call_rels[last - ATTR_COUNT].field
                : call_extra_fields[last - ATTR_COUNT - REL_FROM_RECORD];
    return NULL;
}

/* A valid reply with id `id` and up to max_rec records. */
static void gen_reply_make(gen_reply *g, int64_t id, int max_rec)
{
    buf_init(&g->json);
    buf *j = &g->json;
    g->nrec = pick(max_rec + 1);
    g->refused[0] = '\0';
    int order[2 * FIELD_CHOICES];
    int nfields = gen_order(order, FIELD_CHOICES);

    gen_ws(j);
    buf_putc(j, '{');
    int members[5] = {0, 1, 2, 3, 4}; /* jsonrpc, id, result, unknown, error:null */
    for (int k = 4; k > 0; k--) {
        int m = pick(k + 1), t = members[k];
        members[k] = members[m];
        members[m] = t;
    }
    bool first = true;
    for (int k = 0; k < 5; k++) {
        int m = members[k];
        if ((m == 3 && !chance(30)) || (m == 4 && !chance(15))) continue;
        if (!first) buf_putc(j, ',');
        first = false;
        gen_ws(j);
        switch (m) {
        case 0:
            gen_key(j, "jsonrpc");
            buf_puts(j, chance(90) ? "\"2.0\"" : "\"2\\u002e0\"");
            break;
        case 1:
            gen_key(j, "id");
            buf_printf(j, "%lld", (long long)id);
            break;
        case 2:
            gen_key(j, "result");
            buf_putc(j, '[');
            for (int r = 0; r < g->nrec; r++) {
                if (r) buf_putc(j, ',');
                gen_ws(j);
                want_init(&g->want[r]);
                if (chance(30)) nfields = gen_order(order, FIELD_CHOICES); /* a new order */
                gen_record(j, &g->want[r], order, nfields);
                const char *dup = repeated_kept_field(order, nfields);
                if (dup && !g->refused[0])
                    snprintf(g->refused, sizeof g->refused, "duplicate key \"%s\" in call record %d", dup,
                             r + 1);
                gen_ws(j);
            }
            buf_putc(j, ']');
            break;
        case 3:
            gen_key(j, unknown_fields[pick(3)]);
            gen_any(j, 1);
            break;
        default:
            gen_key(j, "error");
            buf_puts(j, "null");
            break;
        }
        gen_ws(j);
    }
    buf_putc(j, '}');
    gen_ws(j);
}

static void gen_reply_free(gen_reply *g)
{
    for (int r = 0; r < g->nrec; r++) want_free(&g->want[r]);
    buf_free(&g->json);
}

/* ---- running the parser ------------------------------------------------------------- */

/* (reply_run_whole, in reply_diff.h, parses a whole reply) */

static size_t random_chunk(void *max) { return 1 + (size_t)(rnd() % *(size_t *)max); }

/* feed in random chunks of 1..max bytes, then finish */
static reply_run parse_chunked(const char *json, size_t n, size_t max, reply_expect ex, int64_t id,
                               callset *cs)
{
    return reply_run_chunked(json, n, ex, id, cs, random_chunk, &max);
}

static void assert_same_outcome(const reply_run *a, const reply_run *b, const char *json, size_t n)
{
    if (!reply_runs_equal(a, b))
        fail_msg("whole and chunked differ: %d '%s' vs %d '%s' on '%.*s'", a->o, a->detail, b->o, b->detail,
                 (int)(n < 300 ? n : 300), json);
}

static void assert_same_callset(const callset *a, const callset *b)
{
    if (!reply_callsets_equal(a, b))
        fail_msg("whole and chunked callsets differ: %zu vs %zu records, %zu vs %zu arena bytes", a->n, b->n,
                 a->arena.len, b->arena.len);
}

static void assert_span(const callset *cs, call_span s, const buf *want, const char *what, size_t rec)
{
    if (s.len != want->len || (s.len && memcmp(callset_text(cs, s), want->data, s.len) != 0))
        fail_msg("record %zu %s: got '%.*s', want '%.*s'", rec, what, (int)s.len, callset_text(cs, s),
                 (int)want->len, want->data ? want->data : "");
}

/* ---- 1. generated replies against what they must read -------------------------------- */

static void check_generated(const gen_reply *g, const callset *cs)
{
    size_t kept = 0, skipped = 0;
    for (int r = 0; r < g->nrec; r++) {
        const want_record *w = &g->want[r];
        if (!w->has_tag) {
            skipped++;
            continue;
        }
        assert_true(kept < cs->n);
        const call_record *rec = &cs->recs[kept];
        for (int a = 0; a < ATTR_COUNT; a++)
            assert_span(cs, rec->attr[a], &w->attr[a], call_attrs[a].name, kept);
        for (int x = 0; x < XF_COUNT; x++)
            assert_span(cs, rec->extra[x], &w->extra[x], call_extra_fields[x], kept);
        assert_span(cs, rec->tag, &w->tag, "tag", kept);
        for (int k = 0; k < REL_FROM_RECORD; k++)
            if (rec->rel_id[k] != w->rel[k])
                fail_msg("record %zu %s: got %lld, want %lld", kept, call_rels[k].field,
                         (long long)rec->rel_id[k], (long long)w->rel[k]);
        if (rec->duration != w->duration)
            fail_msg("record %zu duration: got %lld, want %lld", kept, (long long)rec->duration,
                     (long long)w->duration);
        kept++;
    }
    assert_int_equal(cs->n, kept);
    assert_int_equal(cs->skipped, skipped);
}

static void test_generated_replies(void **state)
{
    rng_seed(20240607);
    size_t kept = 0, skipped = 0, refused = 0;
    for (int it = 0; it < 600; it++) {
        gen_reply g;
        int64_t id = (int64_t)(rnd() % 1000000);
        gen_reply_make(&g, id, MAX_RECORDS);
        callset whole, chunked;
        callset_init(&whole);
        callset_init(&chunked);
        reply_run a = reply_run_whole(g.json.data, g.json.len, REPLY_EXPECT_CALLS, id, &whole);
        if (g.refused[0]) {
            if (a.o != REPLY_INVALID || strcmp(a.detail, g.refused) != 0)
                fail_msg("reply %d: %d '%s', want '%s'\n%.*s", it, a.o, a.detail, g.refused, (int)g.json.len,
                         g.json.data);
            refused++;
        } else {
            if (a.o != REPLY_OK)
                fail_msg("reply %d refused: %s\n%.*s", it, a.detail, (int)g.json.len, g.json.data);
            assert_string_equal(a.detail, "");
            check_generated(&g, &whole);
            kept += whole.n;
            skipped += whole.skipped;
        }
        reply_run b =
            parse_chunked(g.json.data, g.json.len, it % 2 ? 7 : 4096, REPLY_EXPECT_CALLS, id, &chunked);
        assert_same_outcome(&a, &b, g.json.data, g.json.len);
        assert_same_callset(&whole, &chunked);
        /* the same reply, only counted */
        callset_reset(&whole);
        a = reply_run_whole(g.json.data, g.json.len, REPLY_EXPECT_ANY, id, &whole);
        assert_int_equal(a.o, REPLY_OK);
        assert_false(a.has_int);
        assert_int_equal(whole.n, 0);
        callset_free(&whole);
        callset_free(&chunked);
        gen_reply_free(&g);
    }
    print_message(
        "%zu records read, %zu without a usable tag skipped, %zu replies with a repeated field refused\n",
        kept, skipped, refused);
    assert_true(kept > 2000);
    assert_true(skipped > 100);
    assert_true(refused > 50);
}

/* Hand-written replies with escapes and Unicode, and what they must read. */
static void test_known_strings(void **state)
{
    static const struct {
        const char *json; /* the orig_call_id value as sent */
        const char *want; /* the attribute text */
    } cases[] = {
        {"\"plain ascii ~!@#$%^&*()_+\"", "\"plain ascii ~!@#$%^&*()_+\""},
        {"\"\\u0041\\u00e9\\u20AC\"", "\"A\xc3\xa9\xe2\x82\xac\""},
        {"\"\\ud83d\\ude00 \\uD83D\\uDE00\"", "\"\xf0\x9f\x98\x80 \xf0\x9f\x98\x80\""},
        {"\"\\udbff\\udfff\"", "\"\xf4\x8f\xbf\xbf\""}, /* U+10FFFF */
        {"\"a\\ud800b\"",
         "\"a\xef\xbf\xbd"
         "b\""},                                                /* lone high surrogate */
        {"\"\\udc00\\ud800\"", "\"\xef\xbf\xbd\xef\xbf\xbd\""}, /* reversed pair */
        {"\"\\ud800\\u0041\"",
         "\"\xef\xbf\xbd"
         "A\""}, /* high, then not low */
        {"\"\\ud800\\ud800\\udc00\"", "\"\xef\xbf\xbd\xf0\x90\x80\x80\""},
        {"\"x\\ud800\"", "\"x\xef\xbf\xbd\""}, /* high at the end */
        {"\"\\u0000\\u001f\\u007f\"", "\"\\u0000\\u001f\x7f\""},
        {"\"\\b\\f\\n\\r\\t\\/\\\\\\\"\"", "\"\\b\\f\\n\\r\\t/\\\\\\\"\""},
        {"\"\xc3\xa9 raw \xe2\x82\xac\"", "\"\xc3\xa9 raw \xe2\x82\xac\""},
        {"\"\xff\xfe \xc3\"", "\"\\ufffd\\ufffd \\ufffd\""},
        {"\"\xed\xa0\x80\"", "\"\\ufffd\\ufffd\\ufffd\""}, /* a raw UTF-8 surrogate is not UTF-8 */
        {"\"\\u00e9\xff\"", "\"\xc3\xa9\\ufffd\""},
        {"\"\x7f\"", "\"\x7f\""},
        {"\"\"", "\"\""},
        {"{ \"k\\u00e9\" : [ \"\\ud83d\\ude00\" , -1.5e+3 ] }",
         "{\"k\xc3\xa9\":[\"\xf0\x9f\x98\x80\",-1.5e+3]}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf j;
        buf_init(&j);
        buf_printf(&j,
                   "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"local_tag\":\"t\",\"orig_call_id\":%s}]}",
                   cases[i].json);
        callset cs;
        callset_init(&cs);
        reply_run r = reply_run_whole(j.data, j.len, REPLY_EXPECT_CALLS, 1, &cs);
        if (r.o != REPLY_OK) fail_msg("case %zu refused: %s", i, r.detail);
        assert_int_equal(cs.n, 1);
        call_span s = cs.recs[0].attr[ATTR_ORIG_CALL_ID];
        if (s.len != strlen(cases[i].want) || memcmp(callset_text(&cs, s), cases[i].want, s.len) != 0)
            fail_msg("case %zu: got '%.*s', want '%s'", i, (int)s.len, callset_text(&cs, s), cases[i].want);
        /* the same as the local tag: the decoded bytes are kept raw */
        callset_reset(&cs);
        if (cases[i].json[0] == '"') {
            buf_reset(&j);
            buf_printf(&j, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"local_tag\":%s}]}", cases[i].json);
            r = reply_run_whole(j.data, j.len, REPLY_EXPECT_CALLS, 1, &cs);
            assert_int_equal(r.o, REPLY_OK);
            if (cs.n == 1)
                assert_memory_equal(callset_text(&cs, cs.recs[0].attr[ATTR_LOCAL_TAG]), cases[i].want,
                                    strlen(cases[i].want));
        }
        callset_free(&cs);
        buf_free(&j);
    }
}

/* ---- 2. JSON syntax against yajl --------------------------------------------------------- */

static long verdicts_valid, verdicts_invalid;

/* Parses json whole and chunked, and compares the JSON verdict with yajl's. */
static void check_syntax(const char *json, size_t n, reply_expect ex)
{
    callset a, b;
    callset_init(&a);
    callset_init(&b);
    reply_run r = reply_run_whole(json, n, ex, 1, &a);
    reply_run c = parse_chunked(json, n, 1 + (size_t)(rnd() % 100), ex, 1, &b);
    assert_same_outcome(&r, &c, json, n);
    assert_same_callset(&a, &b);
    callset_free(&a);
    callset_free(&b);

    if (r.o != REPLY_INVALID) assert_false(reply_says_not_json(r.detail));
    if (reply_starts_with_non_object(json, n)) {
        assert_int_equal(r.o, REPLY_INVALID);
        assert_string_equal(r.detail, "reply is not a JSON object");
        return;
    }
    if (reply_nested_too_deeply(r.detail)) return;
    bool ours = !reply_says_not_json(r.detail), theirs = reply_yajl_accepts(json, n);
    if (ours != theirs)
        fail_msg("JSON verdict differs: ours %s ('%s'), yajl %s, on '%.*s'", ours ? "valid" : "invalid",
                 r.detail, theirs ? "valid" : "invalid", (int)(n < 400 ? n : 400), json);
    if (theirs)
        verdicts_valid++;
    else
        verdicts_invalid++;
}

static void mutate(buf *b)
{
    static const char *const inserts[] = {
        "\\u00e9",
        "\\ud83d\\ude00",
        "\\ud800",
        "\\udc00",
        "\\\"",
        "\\\\",
        "\\n",
        "\\u0000",
        "\\u12",
        "\\u12G4",
        "\\x",
        "\\",
        "\\U0041",
        "\\v",
        "\\a",
        "\\0",
        "\\'",
        "\\u",
        "\xff",
        "\xc3\xa9",
        "\xc3",
        "\xed\xa0\x80",
        "\x01",
        "\x1f",
        "\x7f",
        "\x0b",
        "\x0c",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        " ",
        "\t",
        "\r\n",
        "-",
        "0",
        "01",
        "-0",
        "1.",
        ".5",
        "1e",
        "1e+",
        "1E-5",
        "-",
        "+1",
        "00",
        "1.5e309",
        "-9223372036854775809",
        "true",
        "tru",
        "null",
        "nulll",
        "NaN",
        "Infinity",
        "[[[[[[[[",
        "]]]]]]]]",
        "{\"a\":",
        "\"k\":1,",
        ",,",
        "[]",
        "{}",
        "\"local_tag\":\"x\",",
        "\"duration\":1.999999999,",
        "\"start_time\":-0.5,",
        "\"customer_id\":\"12\",",
        "/*c*/",
        "//",
        "\xef\xbb\xbf",
        "'",
        "\0",
    };
    size_t n = b->len;
    size_t pos = n ? (size_t)(rnd() % n) : 0;
    switch (pick(8)) {
    case 0:
        if (n) b->data[pos] = (char)rnd();
        break;
    case 1:
        if (n) {
            memmove(b->data + pos, b->data + pos + 1, n - pos - 1);
            b->len--;
        }
        break;
    case 2: b->len = pos; break;
    case 3: { /* deep nesting, balanced or not */
        int depth = 1 + pick(300);
        buf deep;
        buf_init(&deep);
        for (int k = 0; k < depth; k++) buf_puts(&deep, k % 2 ? "{\"k\":" : "[");
        buf_putc(&deep, '1');
        if (chance(80))
            for (int k = depth - 1; k >= 0; k--) buf_putc(&deep, k % 2 ? '}' : ']');
        buf_reserve(b, deep.len);
        memmove(b->data + pos + deep.len, b->data + pos, n - pos);
        memcpy(b->data + pos, deep.data, deep.len);
        b->len += deep.len;
        buf_free(&deep);
        break;
    }
    default: {
        size_t i = (size_t)pick(sizeof inserts / sizeof inserts[0]);
        const char *s = inserts[i];
        size_t k = s[0] ? strlen(s) : 1; /* "\0": one NUL byte */
        buf_reserve(b, k);
        memmove(b->data + pos + k, b->data + pos, n - pos);
        memcpy(b->data + pos, s, k);
        b->len += k;
        break;
    }
    }
}

static void test_syntax_against_yajl(void **state)
{
    rng_seed(77);
    verdicts_valid = verdicts_invalid = 0;
    for (int it = 0; it < 4000; it++) {
        gen_reply g;
        gen_reply_make(&g, 1, 3);
        buf doc;
        buf_init(&doc);
        buf_append(&doc, g.json.data, g.json.len);
        for (int m = pick(4); m > 0; m--) mutate(&doc); /* none: the valid reply itself */
        check_syntax(doc.data ? doc.data : "", doc.len, it % 4 ? REPLY_EXPECT_CALLS : REPLY_EXPECT_ANY);
        buf_free(&doc);
        gen_reply_free(&g);
    }
    /* both kinds of verdict were exercised */
    print_message("yajl agreed on %ld valid and %ld invalid documents\n", verdicts_valid, verdicts_invalid);
    assert_true(verdicts_valid > 500);
    assert_true(verdicts_invalid > 500);
}

/* Small documents at the edges of the grammar, each with its known verdict. */
static void test_syntax_edges(void **state)
{
    static const struct {
        const char *json;
        size_t len; /* 0: strlen */
        bool valid;
    } cases[] = {
        {"{}", 0, true},
        {" \t\r\n{ } \n", 0, true},
        {"{\"a\":-0}", 0, true},
        {"{\"a\":-0.0e-0}", 0, true},
        {"{\"a\":1E+5}", 0, true},
        {"{\"a\":123456789012345678901234567890.5e-400}", 0, true},
        {"{\"a\":\"\x7f\xff\xc0\"}", 0, true}, /* invalid UTF-8 is not a syntax error */
        {"{\"a\":\"\\uD800\"}", 0, true},
        {"{\"a\":[[],{},[{}],\"\"]}", 0, true},
        {"{\"a\":true,\"b\":false,\"c\":null}", 0, true},
        {"{\"\":1}", 0, true},
        {"", 0, false},
        {" ", 0, false},
        {"{", 0, false},
        {"{\"a\"", 0, false},
        {"{\"a\":", 0, false},
        {"{\"a\":1", 0, false},
        {"{\"a\":1,", 0, false},
        {"{\"a\":1,}", 0, false},
        {"{,}", 0, false},
        {"{\"a\" 1}", 0, false},
        {"{\"a\":1 \"b\":2}", 0, false},
        {"{\"a\"}", 0, false},
        {"{\"a\":}", 0, false},
        {"{1:1}", 0, false},
        {"{'a':1}", 0, false},
        {"{\"a\":-}", 0, false},
        {"{\"a\":01}", 0, false},
        {"{\"a\":1.}", 0, false},
        {"{\"a\":.5}", 0, false},
        {"{\"a\":1e}", 0, false},
        {"{\"a\":1e+}", 0, false},
        {"{\"a\":+1}", 0, false},
        {"{\"a\":0x10}", 0, false},
        {"{\"a\":NaN}", 0, false},
        {"{\"a\":tru}", 0, false},
        {"{\"a\":nulll}", 0, false},
        {"{\"a\":True}", 0, false},
        {"{\"a\":\"\\u12\"}", 0, false},
        {"{\"a\":\"\\u12G4\"}", 0, false},
        {"{\"a\":\"\\x\"}", 0, false},
        {"{\"a\":\"\\v\"}", 0, false},
        {"{\"a\":\"\\'\"}", 0, false},
        {"{\"a\":\"\\0\"}", 0, false},
        {"{\"a\":\"\\u\"}", 0, false},
        {"{\"a\":\"\\\"}", 0, false},
        {"{\"a\":\"tab\there\"}", 0, false},
        {"{\"a\":\"nl\nhere\"}", 0, false},
        {"{\"a\":\"nul\0here\"}", 16, false},
        {"{\"a\":\"unterminated}", 0, false},
        {"{\"a\":[1,]}", 0, false},
        {"{\"a\":[1 2]}", 0, false},
        {"{\"a\":[}", 0, false},
        {"{\"a\":{]}", 0, false},
        {"{\"a\":1}}", 0, false},
        {"{\"a\":1}]", 0, false},
        {"{}x", 0, false},
        {"{}{}", 0, false},
        {"{}\0", 3, false},
        {"\xef\xbb\xbf{}", 0, false}, /* a byte order mark */
        {"{/*c*/}", 0, false},
        {"\x01{}", 0, false},
        {"hello", 0, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i].len ? cases[i].len : strlen(cases[i].json);
        if (reply_yajl_accepts(cases[i].json, n) != cases[i].valid) fail_msg("case %zu: yajl disagrees", i);
        check_syntax(cases[i].json, n, REPLY_EXPECT_CALLS);
        callset cs;
        callset_init(&cs);
        reply_run r = reply_run_whole(cases[i].json, n, REPLY_EXPECT_CALLS, 1, &cs);
        callset_free(&cs);
        assert_int_equal(r.o, REPLY_INVALID); /* none is a whole JSON-RPC reply */
        bool not_json = reply_says_not_json(r.detail);
        if (not_json == cases[i].valid) fail_msg("case %zu: detail '%s'", i, r.detail);
        if (not_json && !strstr(r.detail, " at byte ")) fail_msg("case %zu: no offset in '%s'", i, r.detail);
    }
}

/* The intentional differences from yajl, one by one. */
static void test_differences_from_yajl(void **state)
{
    callset cs;
    callset_init(&cs);
    /* \v and \f are no whitespace in RFC 8259 (yajl takes them) */
    const char *vt = "{\"jsonrpc\":\"2.0\",\v\"id\":1,\"result\":[]}";
    const char *ff = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[]}\f";
    assert_true(reply_yajl_verdict("{\v}", 3, false));
    reply_run r = reply_run_whole(vt, strlen(vt), REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.o, REPLY_INVALID);
    assert_string_equal(r.detail, "not JSON: expected a string key, found byte 0x0b at byte 17");
    r = reply_run_whole(ff, strlen(ff), REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.o, REPLY_INVALID);
    char want[64];
    snprintf(want, sizeof want, "not JSON: data after the reply at byte %zu", strlen(ff) - 1);
    assert_string_equal(r.detail, want);
    /* trailing data that is an unterminated string (yajl does not see it) */
    const char *tail = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[]}\"abc";
    assert_true(reply_yajl_verdict(tail, strlen(tail), false));
    assert_false(reply_yajl_accepts(tail, strlen(tail)));
    r = reply_run_whole(tail, strlen(tail), REPLY_EXPECT_CALLS, 1, &cs);
    assert_int_equal(r.o, REPLY_INVALID);
    snprintf(want, sizeof want, "not JSON: data after the reply at byte %zu", strlen(tail) - 4);
    assert_string_equal(r.detail, want);
    /* a first value that is not an object: refused as such, whatever follows */
    r = reply_run_whole("[1,,,", 5, REPLY_EXPECT_CALLS, 1, &cs);
    assert_string_equal(r.detail, "reply is not a JSON object");
    r = reply_run_whole("nullx", 5, REPLY_EXPECT_CALLS, 1, &cs);
    assert_string_equal(r.detail, "reply is not a JSON object");
    r = reply_run_whole("nul", 3, REPLY_EXPECT_CALLS, 1, &cs);
    assert_true(reply_says_not_json(r.detail));
    /* nesting: 1024 levels in all are fine, 1025 are not (yajl has no limit) */
    for (int depth = 1020; depth <= 1026; depth++) {
        buf j;
        buf_init(&j);
        buf_puts(&j, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[],\"x\":");
        for (int k = 0; k < depth - 1; k++) buf_putc(&j, '[');
        for (int k = 0; k < depth - 1; k++) buf_putc(&j, ']');
        buf_putc(&j, '}');
        assert_true(reply_yajl_accepts(j.data, j.len));
        r = reply_run_whole(j.data, j.len, REPLY_EXPECT_CALLS, 1, &cs);
        if (depth <= 1024) {
            assert_int_equal(r.o, REPLY_OK);
        } else {
            assert_int_equal(r.o, REPLY_INVALID);
            assert_non_null(strstr(r.detail, "nested too deeply (more than 1024 levels)"));
        }
        buf_free(&j);
    }
    /* far deeper, also inside records and as the top value: no recursion, no crash */
    for (int where = 0; where < 3; where++) {
        static const char *const prefixes[] = {
            "", "{\"x\":", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"local_tag\":\"t\",\"garbage\":"};
        buf j;
        buf_init(&j);
        buf_puts(&j, prefixes[where]);
        for (int k = 0; k < 200000; k++) buf_putc(&j, '[');
        r = reply_run_whole(j.data, j.len, REPLY_EXPECT_CALLS, 1, &cs);
        assert_int_equal(r.o, REPLY_INVALID);
        assert_true(r.detail[0] != '\0');
        buf_free(&j);
    }
    callset_free(&cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_replies),     cmocka_unit_test(test_known_strings),
        cmocka_unit_test(test_syntax_against_yajl),   cmocka_unit_test(test_syntax_edges),
        cmocka_unit_test(test_differences_from_yajl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
