/* document: the active-calls resource object, written straight into a buf,
 * and its size (doc_call_size) from the same pieces of text. */
#include "jsonapi/document.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "jsonapi/fields.h"
#include "model/call_id.h"
#include "util/timefmt.h"

#define CALLS_PATH "/api/rest/admin/active-calls/"

/* The text of a call's resource object around its parts (the writer and
 * the sizer both use these). */
#define RES_OPEN "{\"id\":\""
#define RES_TYPE_SELF "\",\"type\":\"active-calls\",\"links\":{\"self\":\""
#define RES_ATTRS "\"},\"attributes\":{"
#define RES_RELS "},\"relationships\":{"
#define RES_CLOSE "}}"
#define REL_DATA ",\"data\":"
#define LINK_OPEN "{\"type\":\""
#define LINK_ID "\",\"id\":\""
#define LINK_CLOSE "\"}"
#define NULL_TEXT "null"
#define LIT_LEN(s) (sizeof s - 1)

void doc_call_self(buf *out, doc_base base, int64_t node_id, const char *tag, size_t tag_len)
{
    buf_append(out, base.url, base.len);
    buf_append(out, CALLS_PATH, sizeof CALLS_PATH - 1);
    call_id_put_node(out, node_id);
    buf_put_url_segment(out, tag, tag_len);
}

static void put_lit(buf *b, const char *s) { buf_append(b, s, strlen(s)); }

const doc_call_opts doc_call_all = {FIELDS_ALL, 0};

/* The constant text around every attribute and relationship, built once.
 * A call prints 35 attribute keys and 18 relationships with two links each
 * (most of a listing's bytes), so the writer appends whole fragments:
 *
 *   attr_key[a]  = ,"<name>":
 *   rel_open[k]  = ,"<name>":{"links":{"self":"      then the call's self link
 *   rel_mid[k]   = /relationships/<name>","related":"  then the self link again
 *   rel_close[k] = /<name>"}
 *
 * The leading comma is skipped for the first member of an object. */
typedef struct fragment {
    char text[96];
    size_t len;
} fragment;

static fragment attr_key[ATTR_COUNT], rel_open[REL_COUNT], rel_mid[REL_COUNT], rel_close[REL_COUNT];
static pthread_once_t fragments_once = PTHREAD_ONCE_INIT;

static void fragment_set(fragment *f, const char *a, const char *name, const char *b)
{
    int n = snprintf(f->text, sizeof f->text, "%s%s%s", a, name, b);
    f->len = n > 0 && (size_t)n < sizeof f->text ? (size_t)n : 0; /* names are short literals */
}

static void build_fragments(void)
{
    for (int a = 0; a < ATTR_COUNT; a++) fragment_set(&attr_key[a], ",\"", call_attrs[a].name, "\":");
    for (int k = 0; k < REL_COUNT; k++) {
        fragment_set(&rel_open[k], ",\"", call_rels[k].name, "\":{\"links\":{\"self\":\"");
        fragment_set(&rel_mid[k], "/relationships/", call_rels[k].name, "\",\"related\":\"");
        fragment_set(&rel_close[k], "/", call_rels[k].name, "\"}");
    }
}

static void put_fragment(buf *out, const fragment *f, bool first)
{
    buf_append(out, f->text + first, f->len - first);
}

int64_t doc_call_rel_id(int64_t node_id, const call_record *r, int k)
{
    return k == REL_NODE ? node_id : r->rel_id[k];
}

void doc_linkage(buf *out, const char *type, int64_t id)
{
    if (id == CALL_ID_NONE) {
        put_lit(out, NULL_TEXT);
        return;
    }
    put_lit(out, LINK_OPEN);
    put_lit(out, type);
    put_lit(out, LINK_ID);
    buf_put_i64(out, id);
    put_lit(out, LINK_CLOSE);
}

void doc_call_resource(buf *out, buf *scratch, doc_base base, int64_t node_id, const callset *cs,
                       const call_record *r, const doc_call_opts *o)
{
    pthread_once(&fragments_once, build_fragments);
    const char *tag = callset_text(cs, r->tag);
    buf_reset(scratch);
    doc_call_self(scratch, base, node_id, tag, r->tag.len);
    const char *self = scratch->data;
    size_t self_len = scratch->len;
    /* one reservation covers the common case; buf grows if it must */
    buf_reserve(out, 1200 + 40 * self_len + cs->arena.len / (cs->n ? cs->n : 1));

    put_lit(out, RES_OPEN);
    call_id_put_node(out, node_id);
    buf_put_json_chars(out, tag, r->tag.len);
    put_lit(out, RES_TYPE_SELF);
    buf_append(out, self, self_len);
    put_lit(out, RES_ATTRS);
    bool first = true;
    for (int a = 0; a < ATTR_COUNT; a++) {
        if (!fields_has(o->fields, a)) continue;
        put_fragment(out, &attr_key[a], first);
        first = false;
        call_span s = r->attr[a];
        if (s.len)
            buf_append(out, callset_text(cs, s), s.len);
        else
            put_lit(out, NULL_TEXT);
    }
    put_lit(out, RES_RELS);
    first = true;
    for (int k = 0; k < REL_COUNT; k++) {
        if (!fields_has(o->fields, ATTR_COUNT + k)) continue;
        put_fragment(out, &rel_open[k], first);
        first = false;
        buf_append(out, self, self_len);
        put_fragment(out, &rel_mid[k], false);
        buf_append(out, self, self_len);
        put_fragment(out, &rel_close[k], false);
        if (o->linkage & (1u << k)) {
            put_lit(out, REL_DATA);
            doc_linkage(out, call_rels[k].type, doc_call_rel_id(node_id, r, k));
        }
        buf_putc(out, '}');
    }
    put_lit(out, RES_CLOSE);
}

/* ---- sizes ----------------------------------------------------------------- */

static size_t linkage_len(const char *type, int64_t id)
{
    if (id == CALL_ID_NONE) return LIT_LEN(NULL_TEXT);
    return LIT_LEN(LINK_OPEN) + strlen(type) + LIT_LEN(LINK_ID) + buf_i64_len(id) + LIT_LEN(LINK_CLOSE);
}

void doc_call_sizer_init(doc_call_sizer *z, doc_base base, int64_t node_id, const doc_call_opts *o)
{
    pthread_once(&fragments_once, build_fragments);
    size_t id_len = call_id_node_len(node_id); /* "<node>*" */
    size_t n = LIT_LEN(RES_OPEN) + id_len + LIT_LEN(RES_TYPE_SELF) + LIT_LEN(RES_ATTRS);
    bool first = true;
    for (int a = 0; a < ATTR_COUNT; a++) {
        if (!fields_has(o->fields, a)) continue;
        n += attr_key[a].len - first;
        first = false;
    }
    n += LIT_LEN(RES_RELS);
    size_t uses = 1;
    first = true;
    for (int k = 0; k < REL_COUNT; k++) {
        if (!fields_has(o->fields, ATTR_COUNT + k)) continue;
        n += rel_open[k].len - first + rel_mid[k].len + rel_close[k].len + 1;
        if (o->linkage & (1u << k)) n += LIT_LEN(REL_DATA);
        first = false;
        uses += 2;
    }
    n += LIT_LEN(RES_CLOSE);
    /* the self link without its tag: base, path, node id and '*' */
    n += uses * (base.len + LIT_LEN(CALLS_PATH) + id_len);
    *z = (doc_call_sizer){n, uses, node_id, *o};
}

size_t doc_call_size(const doc_call_sizer *z, const callset *cs, const call_record *r)
{
    const char *tag = callset_text(cs, r->tag);
    size_t url = buf_url_segment_len(tag, r->tag.len);
    /* a byte a URL segment keeps is printable ASCII, kept by JSON too */
    size_t json = url == r->tag.len ? url : buf_json_chars_len(tag, r->tag.len);
    size_t n = z->fixed + json + z->self_uses * url;
    uint64_t fields = z->opts.fields;
    for (int a = 0; a < ATTR_COUNT; a++)
        if (fields_has(fields, a)) n += r->attr[a].len ? r->attr[a].len : LIT_LEN(NULL_TEXT);
    for (uint32_t links = z->opts.linkage; links; links &= links - 1) {
        int k = __builtin_ctz(links);
        if (fields_has(fields, ATTR_COUNT + k))
            n += linkage_len(call_rels[k].type, doc_call_rel_id(z->node_id, r, k));
    }
    return n;
}

static bool digits(const char *p, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9') return false;
    return true;
}

/* A stored timestamp in the API's format: epoch seconds, or
 * "YYYY-MM-DD[ T]HH:MM:SS[.fraction][Z|+00|+00:00]" (UTC) become
 * "YYYY-MM-DDTHH:MM:SS.000Z"; anything else is printed as stored. */
static void put_time(buf *out, const char *v)
{
    char iso[TIMEFMT_ISO_LEN];
    int64_t secs;
    size_t n = strlen(v);
    if (n && digits(v, (int)n) && timefmt_parse_seconds(v, n, &secs) && timefmt_iso_utc(secs, iso)) {
        buf_putc(out, '"');
        buf_append(out, iso, sizeof iso);
        buf_putc(out, '"');
        return;
    }
    if (n >= 19 && digits(v, 4) && v[4] == '-' && digits(v + 5, 2) && v[7] == '-' && digits(v + 8, 2) &&
        (v[10] == ' ' || v[10] == 'T') && digits(v + 11, 2) && v[13] == ':' && digits(v + 14, 2) &&
        v[16] == ':' && digits(v + 17, 2)) {
        const char *z = v + 19;
        if (*z == '.')
            for (z++; *z >= '0' && *z <= '9'; z++) {}
        if (!*z || !strcmp(z, "Z") || !strcmp(z, "+00") || !strcmp(z, "+00:00")) {
            buf_putc(out, '"');
            buf_append(out, v, 10);
            buf_putc(out, 'T');
            buf_append(out, v + 11, 8);
            buf_puts(out, ".000Z\"");
            return;
        }
    }
    buf_put_json_str(out, v, n);
}

static bool plain_number(const char *v)
{
    const char *p = v;
    if (*p == '-') p++;
    if (!*p) return false;
    bool dot = false;
    for (; *p; p++) {
        if (*p == '.' && !dot) {
            dot = true;
            continue;
        }
        if (*p < '0' || *p > '9') return false;
    }
    return p[-1] != '.';
}

static void put_column_value(buf *out, col_kind kind, const char *v)
{
    if (!v) {
        put_lit(out, "null");
        return;
    }
    switch (kind) {
    case COL_INT:
        if (plain_number(v) && !strchr(v, '.'))
            put_lit(out, v);
        else
            put_lit(out, "null");
        return;
    case COL_BOOL:
        put_lit(out, (!strcmp(v, "t") || !strcmp(v, "true") || !strcmp(v, "1")) ? "true" : "false");
        return;
    case COL_INET_LIST: {
        buf_putc(out, '[');
        const char *p = v;
        bool any = false;
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (len) {
                if (any) buf_putc(out, ',');
                buf_put_json_str(out, p, len);
                any = true;
            }
            if (!comma) break;
            p = comma + 1;
        }
        buf_putc(out, ']');
        return;
    }
    case COL_TIME: put_time(out, v); return;
    default: /* text, decimals (strings, as jsonapi-resources writes them) */
        buf_put_json_str(out, v, strlen(v));
        return;
    }
}

void doc_related_resource(buf *out, doc_base base, int type, const res_row *row, uint64_t fields)
{
    const res_type *t = &res_types[type];
    put_lit(out, "{\"id\":\"");
    buf_put_i64(out, row->id);
    put_lit(out, "\",\"type\":\"");
    put_lit(out, t->type);
    put_lit(out, "\",\"links\":{\"self\":\"");
    buf_append(out, base.url, base.len);
    put_lit(out, "/api/rest/admin/");
    put_lit(out, t->type);
    buf_putc(out, '/');
    buf_put_i64(out, row->id);
    put_lit(out, "\"},\"attributes\":{");
    bool first = true, any_rel = false;
    for (size_t i = 0; i < t->ncols; i++) {
        const res_col *c = &t->cols[i];
        if (c->kind == COL_REL) {
            any_rel |= fields_has(fields, (int)i);
            continue;
        }
        if (!fields_has(fields, (int)i)) continue;
        if (!first) buf_putc(out, ',');
        first = false;
        char name[64];
        buf_putc(out, '"');
        put_lit(out, res_col_name(c, name));
        put_lit(out, "\":");
        put_column_value(out, c->kind, row->vals[i]);
    }
    buf_putc(out, '}');
    if (any_rel) {
        put_lit(out, ",\"relationships\":{");
        first = true;
        for (size_t i = 0; i < t->ncols; i++) {
            const res_col *c = &t->cols[i];
            if (c->kind != COL_REL || !fields_has(fields, (int)i)) continue;
            if (!first) buf_putc(out, ',');
            first = false;
            buf_putc(out, '"');
            put_lit(out, c->rel_name);
            put_lit(out, "\":{\"data\":");
            doc_linkage(out, c->rel_type, call_rel_id_parse(row->vals[i]));
            buf_putc(out, '}');
        }
        buf_putc(out, '}');
    }
    buf_putc(out, '}');
}
