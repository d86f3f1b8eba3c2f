/* document: writes active-call resource objects (docs/CONTRACT.md §2) into a buffer,
 * and tells their exact size before they are written.
 *
 * The writer is the hot path of every listing: for each call it prints the
 * id, the self link, the 35 attributes (text prepared by the reply parser)
 * and the 18 relationship links, all with memcpy into one buffer. The
 * call's self link is built once and reused for its 37 links.
 *
 * The sizer gives the number of bytes doc_call_resource will write for a
 * call without writing it: a listing checks its memory budget against the
 * document it would produce (docs/API.md, "Memory"), and reserves each
 * buffer once. Most of a resource does not depend on the record (keys,
 * links around the self link); that part is computed once per node. */
#ifndef AC_JSONAPI_DOCUMENT_H
#define AC_JSONAPI_DOCUMENT_H

#include <stddef.h>
#include <stdint.h>

#include "model/calls.h"
#include "store/resources.h"
#include "util/buf.h"

typedef struct doc_base {
    const char *url; /* scheme://host[:port], no trailing slash */
    size_t len;
} doc_base;

/* What to print of a call: fields (jsonapi/fields.h bit layout) and which
 * relationships carry "data" linkage (bit k = relationship k). */
typedef struct doc_call_opts {
    uint64_t fields;
    uint32_t linkage;
} doc_call_opts;

extern const doc_call_opts doc_call_all; /* every field, no linkage */

/* Appends one resource object for call r of node node_id. `scratch` is a
 * caller-owned buffer reused between calls (holds the self link). */
void doc_call_resource(buf *out, buf *scratch, doc_base base, int64_t node_id, const callset *cs,
                       const call_record *r, const doc_call_opts *o);

/* What every call of one node costs whatever its record, for
 * doc_call_size. */
typedef struct doc_call_sizer {
    size_t fixed;     /* bytes that depend on nothing in the record */
    size_t self_uses; /* how many times a call prints its self link */
    int64_t node_id;
    doc_call_opts opts;
} doc_call_sizer;

void doc_call_sizer_init(doc_call_sizer *z, doc_base base, int64_t node_id, const doc_call_opts *o);
/* Exactly the number of bytes doc_call_resource appends for call r (of
 * the sizer's node, with its base and options). */
size_t doc_call_size(const doc_call_sizer *z, const callset *cs, const call_record *r);

/* The id call relationship k points to (the node for "node"), or
 * CALL_ID_NONE. */
int64_t doc_call_rel_id(int64_t node_id, const call_record *r, int k);

/* Appends {"type":..,"id":".."} or null. */
void doc_linkage(buf *out, const char *type, int64_t id);

/* Appends the resource object of a related type's row (store/resources.h):
 * attributes rendered by column kind, relationships with linkage data. */
void doc_related_resource(buf *out, doc_base base, int type, const res_row *row, uint64_t fields);

/* Appends "<base>/api/rest/admin/active-calls/<node>*<tag>" (URL-encoded tag). */
void doc_call_self(buf *out, doc_base base, int64_t node_id, const char *tag, size_t tag_len);

#endif
