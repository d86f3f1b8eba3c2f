/* reply: yajl callbacks that turn a node's JSON-RPC reply into a callset.
 *
 * Design. yajl delivers tokens; a small state machine tracks where we are:
 *
 *   BEGIN → TOP (the envelope object) → RESULT (the array of calls)
 *                                     → RECORD (one call object)
 *                                     → ERROR (the JSON-RPC error object)
 *
 * Values we do not need are skipped by counting nesting (`skip`). A record
 * field the API prints is rendered immediately into the callset arena as
 * the exact JSON text the document will contain: strings re-escaped, times
 * formatted, durations truncated. A nested value in such a field (the node
 * should not send one, but "as given" means as given) is re-serialised
 * token by token (`cap`). Field names are found through a hash table built
 * once. Nothing here allocates per field. */
#include "nodes/reply.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "util/timefmt.h"

/* ---- field table --------------------------------------------------------- */

typedef enum { F_NONE, F_ATTR, F_TIME, F_DURATION, F_TAG, F_REL } field_kind;

typedef struct field_slot {
    const char *name;
    uint8_t len;
    uint8_t kind;
    uint8_t index; /* attribute or relationship index */
} field_slot;

#define FIELD_SLOTS 256 /* power of two, well above the ~55 names */
static field_slot field_table[FIELD_SLOTS];
static pthread_once_t field_table_once = PTHREAD_ONCE_INIT;

static uint32_t name_hash(const unsigned char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
    return h;
}

static void field_put(const char *name, field_kind kind, int index)
{
    size_t n = strlen(name);
    uint32_t i = name_hash((const unsigned char *)name, n) & (FIELD_SLOTS - 1);
    while (field_table[i].name) i = (i + 1) & (FIELD_SLOTS - 1);
    field_table[i] = (field_slot){name, (uint8_t)n, (uint8_t)kind, (uint8_t)index};
}

static void field_table_build(void)
{
    for (int a = 0; a < ATTR_COUNT; a++) {
        field_kind k = F_ATTR;
        if (a == ATTR_START_TIME || a == ATTR_CONNECT_TIME) k = F_TIME;
        else if (a == ATTR_DURATION) k = F_DURATION;
        else if (a == ATTR_LOCAL_TAG) k = F_TAG;
        field_put(call_attrs[a].field, k, a);
    }
    for (int r = 0; r < REL_FROM_RECORD; r++) field_put(call_rels[r].field, F_REL, r);
}

static const field_slot *field_lookup(const unsigned char *s, size_t n)
{
    uint32_t i = name_hash(s, n) & (FIELD_SLOTS - 1);
    while (field_table[i].name) {
        if (field_table[i].len == n && memcmp(field_table[i].name, s, n) == 0)
            return &field_table[i];
        i = (i + 1) & (FIELD_SLOTS - 1);
    }
    return NULL;
}

/* ---- parser state ------------------------------------------------------- */

enum state { ST_BEGIN, ST_TOP, ST_RESULT, ST_RECORD, ST_ERROR, ST_END };
enum top_key { K_OTHER, K_JSONRPC, K_ID, K_RESULT, K_ERROR };
enum err_key { E_OTHER, E_CODE, E_MESSAGE };

#define CAP_MAX_DEPTH 64
enum { CAP_MAP = 1, CAP_NOT_FIRST = 2 };

struct reply_parser {
    yajl_handle yh;
    reply_expect expect;
    char want_id[24];
    callset *out;

    enum state st;
    enum top_key top_key;
    enum err_key err_key;
    int skip;              /* nesting depth inside a skipped value */
    int cap;               /* nesting depth inside a captured value */
    uint8_t capflags[CAP_MAX_DEPTH];
    const field_slot *field; /* field of the current record key, or NULL */
    uint32_t cap_start;

    bool id_ok, seen_id, seen_result, seen_error, result_int_ok, version_ok;
    int64_t result_int;
    int64_t rpc_code;
    char detail[256];
    bool failed;
};

static int fail(reply_parser *p, const char *why)
{
    if (!p->failed) snprintf(p->detail, sizeof p->detail, "%s", why);
    p->failed = true;
    return 0; /* tells yajl to stop */
}

static call_record *cur_rec(reply_parser *p) { return &p->out->recs[p->out->n - 1]; }

static uint32_t arena_len(reply_parser *p) { return (uint32_t)p->out->arena.len; }

static void set_span(reply_parser *p, int attr, uint32_t start)
{
    cur_rec(p)->attr[attr] = (call_span){start, arena_len(p) - start};
}

/* strict integer: optional '-', digits, within int64 */
static bool parse_int(const unsigned char *s, size_t n, int64_t *v)
{
    size_t i = 0;
    bool neg = false;
    if (n && s[0] == '-') { neg = true; i = 1; }
    if (i == n || n - i > 19) return false;
    uint64_t x = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        x = x * 10 + (uint64_t)(s[i] - '0'); /* 19 digits fit in uint64 */
    }
    if (x > (uint64_t)INT64_MAX + (neg ? 1u : 0u)) return false;
    *v = neg ? (int64_t)(0 - x) : (int64_t)x;
    return true;
}

/* ---- capture (re-serialising a nested value) ------------------------------ */

static void cap_prefix(reply_parser *p)
{
    if (p->cap == 0) return;
    uint8_t *f = &p->capflags[p->cap - 1];
    if (*f & CAP_MAP) return; /* value after a key: the key wrote the ':' */
    if (*f & CAP_NOT_FIRST) buf_putc(&p->out->arena, ',');
    *f |= CAP_NOT_FIRST;
}

static int cap_open(reply_parser *p, char c)
{
    if (p->cap == CAP_MAX_DEPTH) return fail(p, "value nested too deeply");
    cap_prefix(p);
    buf_putc(&p->out->arena, c);
    p->capflags[p->cap++] = c == '{' ? CAP_MAP : 0;
    return 1;
}

static int cap_close(reply_parser *p, char c)
{
    buf_putc(&p->out->arena, c);
    if (--p->cap == 0 && p->field) set_span(p, p->field->index, p->cap_start);
    return 1;
}

/* ---- scalar values ------------------------------------------------------ */

typedef enum { V_NULL, V_BOOL, V_NUMBER, V_STRING } vtype;

static void record_scalar(reply_parser *p, vtype t, const unsigned char *s, size_t n)
{
    const field_slot *f = p->field;
    if (!f) return;
    call_record *r = cur_rec(p);
    buf *a = &p->out->arena;
    uint32_t start = arena_len(p);
    int64_t v;
    switch ((field_kind)f->kind) {
    case F_REL:
        if ((t == V_NUMBER || t == V_STRING) && parse_int(s, n, &v)) r->rel_id[f->index] = v;
        else r->rel_id[f->index] = CALL_ID_NONE;
        return;
    case F_TIME: {
        char iso[TIMEFMT_ISO_LEN];
        if (t == V_NUMBER && timefmt_parse_seconds((const char *)s, n, &v) && v != 0 &&
            timefmt_iso_utc(v, iso)) {
            buf_putc(a, '"');
            buf_append(a, iso, sizeof iso);
            buf_putc(a, '"');
        }
        break;
    }
    case F_DURATION:
        r->duration = CALL_DURATION_NULL;
        if (t == V_NUMBER && timefmt_parse_seconds((const char *)s, n, &v) &&
            v != CALL_DURATION_NULL) {
            r->duration = v;
            buf_put_i64(a, v);
        }
        break;
    case F_TAG:
        r->tag = (call_span){0, 0};
        if (t == V_STRING && n > 0) {
            buf_append(a, s, n);
            r->tag = (call_span){start, (uint32_t)n};
            start = arena_len(p);
        }
        /* the attribute itself is printed as given */
        __attribute__((fallthrough));
    case F_ATTR:
        if (t == V_STRING) buf_put_json_str(a, s, n);
        else if (t != V_NULL) buf_append(a, s, n);
        break;
    default:
        return;
    }
    set_span(p, f->index, start);
}

/* One scalar anywhere in the document. */
static int on_scalar(reply_parser *p, vtype t, const unsigned char *s, size_t n)
{
    if (p->skip) return 1;
    if (p->cap) {
        cap_prefix(p);
        if (t == V_STRING) buf_put_json_str(&p->out->arena, s, n);
        else buf_append(&p->out->arena, s, n);
        return 1;
    }
    switch (p->st) {
    case ST_TOP:
        if (p->top_key == K_ID) {
            p->seen_id = true;
            p->id_ok = t == V_NUMBER && n == strlen(p->want_id) && memcmp(s, p->want_id, n) == 0;
        } else if (p->top_key == K_RESULT) {
            p->seen_result = true;
            if (p->expect == REPLY_EXPECT_CALLS) return fail(p, "result is not an array");
            p->result_int_ok = t == V_NUMBER && parse_int(s, n, &p->result_int);
        } else if (p->top_key == K_ERROR && t != V_NULL) { /* "error":null is no error */
            p->seen_error = true;
            snprintf(p->detail, sizeof p->detail, "malformed JSON-RPC error");
        } else if (p->top_key == K_JSONRPC) {
            p->version_ok = t == V_STRING && n == 3 && memcmp(s, "2.0", 3) == 0;
        }
        return 1;
    case ST_RESULT:
        return fail(p, "call record is not an object");
    case ST_RECORD:
        record_scalar(p, t, s, n);
        return 1;
    case ST_ERROR:
        if (p->err_key == E_CODE && t == V_NUMBER) parse_int(s, n, &p->rpc_code);
        if (p->err_key == E_MESSAGE && t == V_STRING) {
            size_t k = n < sizeof p->detail - 1 ? n : sizeof p->detail - 1;
            memcpy(p->detail, s, k);
            p->detail[k] = '\0';
        }
        return 1;
    default:
        return fail(p, "reply is not a JSON object");
    }
}

static int cb_null(void *ctx) { return on_scalar(ctx, V_NULL, (const unsigned char *)"null", 4); }

static int cb_bool(void *ctx, int v)
{
    return on_scalar(ctx, V_BOOL, (const unsigned char *)(v ? "true" : "false"), v ? 4 : 5);
}

static int cb_number(void *ctx, const char *s, size_t n)
{
    return on_scalar(ctx, V_NUMBER, (const unsigned char *)s, n);
}

static int cb_string(void *ctx, const unsigned char *s, size_t n) { return on_scalar(ctx, V_STRING, s, n); }

/* ---- containers and keys ------------------------------------------------ */

static int open_container(reply_parser *p, bool is_map)
{
    if (p->skip) { p->skip++; return 1; }
    if (p->cap) return cap_open(p, is_map ? '{' : '[');
    switch (p->st) {
    case ST_BEGIN:
        if (!is_map) return fail(p, "reply is not a JSON object");
        p->st = ST_TOP;
        return 1;
    case ST_TOP:
        if (p->top_key == K_RESULT) {
            p->seen_result = true;
            if (p->expect == REPLY_EXPECT_CALLS) {
                if (is_map) return fail(p, "result is not an array");
                p->st = ST_RESULT;
                return 1;
            }
        } else if (p->top_key == K_ERROR) {
            p->seen_error = true;
            if (is_map) { p->st = ST_ERROR; p->err_key = E_OTHER; return 1; }
            snprintf(p->detail, sizeof p->detail, "malformed JSON-RPC error");
        }
        p->skip = 1;
        return 1;
    case ST_RESULT:
        if (!is_map) return fail(p, "call record is not an object");
        if (!callset_push(p->out)) return fail(p, "out of memory");
        p->field = NULL;
        p->st = ST_RECORD;
        return 1;
    case ST_RECORD:
        if (p->field && p->field->kind != F_REL) {
            p->cap_start = arena_len(p);
            if (p->field->kind == F_TAG) cur_rec(p)->tag = (call_span){0, 0};
            if (p->field->kind == F_DURATION) cur_rec(p)->duration = CALL_DURATION_NULL;
            if (p->field->kind == F_ATTR || p->field->kind == F_TAG) return cap_open(p, is_map ? '{' : '[');
        }
        if (p->field && p->field->kind == F_REL) cur_rec(p)->rel_id[p->field->index] = CALL_ID_NONE;
        if (p->field && (p->field->kind == F_TIME || p->field->kind == F_DURATION))
            set_span(p, p->field->index, arena_len(p)); /* a nested time is null */
        p->skip = 1;
        return 1;
    default:
        p->skip = 1;
        return 1;
    }
}

static int close_container(reply_parser *p, bool is_map)
{
    if (p->skip) { p->skip--; return 1; }
    if (p->cap) return cap_close(p, is_map ? '}' : ']');
    switch (p->st) {
    case ST_TOP: p->st = ST_END; return 1;
    case ST_RESULT: p->st = ST_TOP; return 1;
    case ST_ERROR: p->st = ST_TOP; return 1;
    case ST_RECORD:
        if (cur_rec(p)->tag.len == 0) { /* no usable local_tag: no id, no call */
            callset_pop(p->out);
            p->out->skipped++;
        }
        p->st = ST_RESULT;
        return 1;
    default:
        return fail(p, "unbalanced reply");
    }
}

static int cb_start_map(void *ctx) { return open_container(ctx, true); }
static int cb_end_map(void *ctx) { return close_container(ctx, true); }
static int cb_start_array(void *ctx) { return open_container(ctx, false); }
static int cb_end_array(void *ctx) { return close_container(ctx, false); }

static bool key_is(const unsigned char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static int cb_map_key(void *ctx, const unsigned char *s, size_t n)
{
    reply_parser *p = ctx;
    if (p->skip) return 1;
    if (p->cap) {
        uint8_t *f = &p->capflags[p->cap - 1];
        if (*f & CAP_NOT_FIRST) buf_putc(&p->out->arena, ',');
        *f |= CAP_NOT_FIRST;
        buf_put_json_str(&p->out->arena, s, n);
        buf_putc(&p->out->arena, ':');
        return 1;
    }
    switch (p->st) {
    case ST_TOP:
        p->top_key = key_is(s, n, "id") ? K_ID : key_is(s, n, "result") ? K_RESULT
                   : key_is(s, n, "error") ? K_ERROR : key_is(s, n, "jsonrpc") ? K_JSONRPC
                   : K_OTHER;
        /* a second id/result/error makes the reply ambiguous: refuse it */
        if ((p->top_key == K_ID && p->seen_id) || (p->top_key == K_RESULT && p->seen_result) ||
            (p->top_key == K_ERROR && p->seen_error))
            return fail(p, "duplicate key in the reply envelope");
        return 1;
    case ST_RECORD:
        p->field = field_lookup(s, n);
        return 1;
    case ST_ERROR:
        p->err_key = key_is(s, n, "code") ? E_CODE : key_is(s, n, "message") ? E_MESSAGE : E_OTHER;
        return 1;
    default:
        return 1;
    }
}

static const yajl_callbacks callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_bool,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_map_key,
    .yajl_end_map = cb_end_map,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end_array,
};

/* ---- public ------------------------------------------------------------- */

reply_parser *reply_parser_new(reply_expect expect, int64_t request_id, callset *out)
{
    pthread_once(&field_table_once, field_table_build);
    reply_parser *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->yh = yajl_alloc(&callbacks, NULL, p);
    if (!p->yh) { free(p); return NULL; }
    /* invalid UTF-8 is repaired by the escaper (U+FFFD) instead of failing the node */
    yajl_config(p->yh, yajl_dont_validate_strings, 1);
    p->expect = expect;
    p->out = out;
    p->rpc_code = 0;
    snprintf(p->want_id, sizeof p->want_id, "%lld", (long long)request_id);
    return p;
}

void reply_parser_free(reply_parser *p)
{
    if (!p) return;
    yajl_free(p->yh);
    free(p);
}

static void take_yajl_error(reply_parser *p, const unsigned char *data, size_t n)
{
    if (p->failed) return;
    unsigned char *msg = yajl_get_error(p->yh, 0, data, n);
    char text[200];
    snprintf(text, sizeof text, "not JSON: %s", msg ? (const char *)msg : "parse error");
    /* yajl messages end with a newline */
    size_t k = strlen(text);
    while (k && (text[k - 1] == '\n' || text[k - 1] == ' ')) text[--k] = '\0';
    fail(p, text);
    if (msg) yajl_free_error(p->yh, msg);
}

int reply_parser_feed(reply_parser *p, const char *data, size_t n)
{
    if (p->failed) return -1;
    yajl_status s = yajl_parse(p->yh, (const unsigned char *)data, n);
    if (s != yajl_status_ok) {
        take_yajl_error(p, (const unsigned char *)data, n);
        return -1;
    }
    if (p->out->arena.oom) { fail(p, "out of memory"); return -1; }
    return 0;
}

reply_outcome reply_parser_finish(reply_parser *p)
{
    if (!p->failed && yajl_complete_parse(p->yh) != yajl_status_ok)
        take_yajl_error(p, NULL, 0);
    if (p->failed) return REPLY_INVALID;
    if (p->st != ST_END) { fail(p, "incomplete reply"); return REPLY_INVALID; }
    if (!p->version_ok) { fail(p, "not JSON-RPC 2.0 (no \"jsonrpc\":\"2.0\")"); return REPLY_INVALID; }
    if (!p->seen_id || !p->id_ok) { fail(p, "reply id does not match the request"); return REPLY_INVALID; }
    if (p->seen_error) {
        if (p->detail[0] == '\0') snprintf(p->detail, sizeof p->detail, "error %lld", (long long)p->rpc_code);
        return REPLY_RPC_ERROR;
    }
    if (!p->seen_result) { fail(p, "reply has neither result nor error"); return REPLY_INVALID; }
    return REPLY_OK;
}

const char *reply_parser_detail(const reply_parser *p) { return p->detail; }
int64_t reply_parser_rpc_code(const reply_parser *p) { return p->rpc_code; }

bool reply_parser_int_result(const reply_parser *p, int64_t *v)
{
    if (!p->result_int_ok) return false;
    *v = p->result_int;
    return true;
}
