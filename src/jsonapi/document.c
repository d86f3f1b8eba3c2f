/* document: the active-calls resource object, written straight into a buf. */
#include "jsonapi/document.h"

#include <string.h>

#define CALLS_PATH "/api/rest/admin/active-calls/"


void doc_call_self(buf *out, doc_base base, int64_t node_id, const char *tag, size_t tag_len)
{
    buf_append(out, base.url, base.len);
    buf_append(out, CALLS_PATH, sizeof CALLS_PATH - 1);
    buf_put_i64(out, node_id);
    buf_putc(out, '*');
    buf_put_url_segment(out, tag, tag_len);
}

static void put_lit(buf *b, const char *s) { buf_append(b, s, strlen(s)); }

void doc_call_resource(buf *out, buf *scratch, doc_base base, int64_t node_id,
                       const callset *cs, const call_record *r)
{
    const char *tag = callset_text(cs, r->tag);
    buf_reset(scratch);
    doc_call_self(scratch, base, node_id, tag, r->tag.len);
    const char *self = scratch->data;
    size_t self_len = scratch->len;
    /* one reservation covers the common case; buf grows if it must */
    buf_reserve(out, 600 + 40 * self_len + cs->arena.len / (cs->n ? cs->n : 1));

    put_lit(out, "{\"id\":\"");
    buf_put_i64(out, node_id);
    buf_putc(out, '*');
    buf_put_json_chars(out, tag, r->tag.len);
    put_lit(out, "\",\"type\":\"active-calls\",\"links\":{\"self\":\"");
    buf_append(out, self, self_len);
    put_lit(out, "\"},\"attributes\":{");
    for (int a = 0; a < ATTR_COUNT; a++) {
        if (a) buf_putc(out, ',');
        buf_putc(out, '"');
        put_lit(out, call_attrs[a].name);
        put_lit(out, "\":");
        call_span s = r->attr[a];
        if (s.len) buf_append(out, callset_text(cs, s), s.len);
        else put_lit(out, "null");
    }
    put_lit(out, "},\"relationships\":{");
    for (int k = 0; k < REL_COUNT; k++) {
        const char *name = call_rels[k].name;
        if (k) buf_putc(out, ',');
        buf_putc(out, '"');
        put_lit(out, name);
        put_lit(out, "\":{\"links\":{\"self\":\"");
        buf_append(out, self, self_len);
        put_lit(out, "/relationships/");
        put_lit(out, name);
        put_lit(out, "\",\"related\":\"");
        buf_append(out, self, self_len);
        buf_putc(out, '/');
        put_lit(out, name);
        put_lit(out, "\"}}");
    }
    put_lit(out, "}}");
}
