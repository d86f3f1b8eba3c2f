/* document: writes active-call resource objects (SPEC §2) into a buffer.
 *
 * The writer is the hot path of every listing: for each call it prints the
 * id, the self link, the 35 attributes (text prepared by the reply parser)
 * and the 18 relationship links, all with memcpy into one buffer. The
 * call's self link is built once and reused for its 37 links. */
#ifndef AC_JSONAPI_DOCUMENT_H
#define AC_JSONAPI_DOCUMENT_H

#include <stddef.h>
#include <stdint.h>

#include "nodes/calls.h"
#include "util/buf.h"

typedef struct doc_base {
    const char *url; /* scheme://host[:port], no trailing slash */
    size_t len;
} doc_base;

/* Appends one resource object for call r of node node_id. `scratch` is a
 * caller-owned buffer reused between calls (holds the self link). */
void doc_call_resource(buf *out, buf *scratch, doc_base base, int64_t node_id,
                       const callset *cs, const call_record *r);

/* Appends "<base>/api/rest/admin/active-calls/<node>*<tag>" (URL-encoded tag). */
void doc_call_self(buf *out, doc_base base, int64_t node_id, const char *tag, size_t tag_len);

#endif
