/* included: the related resources a document includes (`include=`),
 * fetched from the store in batches — at most one query per type per
 * request, however many calls are listed.
 *
 * The include tree (jsonapi/include.h) says which relationship paths to
 * follow. Ids are gathered from the calls, then types are fetched in an
 * order where every type comes after each type that can point to it
 * (customers-auths and dialpeers before gateways before accounts before
 * contractors before smtp-connections, ...), so when a type's turn comes,
 * every id of it that any path reaches is already known: one query. Each
 * row remembers whether a path reached it; only those are printed, each
 * once. */
#ifndef AC_API_INCLUDED_H
#define AC_API_INCLUDED_H

#include <stddef.h>
#include <stdint.h>

#include "jsonapi/document.h"
#include "jsonapi/fields.h"
#include "jsonapi/include.h"
#include "model/calls.h"
#include "store/store.h"

/* One call of the document: the node it is on and its record. */
typedef struct call_ref_rec {
    int64_t node_id;
    const call_record *rec;
    size_t node; /* the index of its node in the listing's plan (api/listing.h) */
} call_ref_rec;

typedef struct included {
    res_rows rows[RT_COUNT];
    unsigned char *reached[RT_COUNT]; /* per row: a path reached it */
} included;

/* Resolves the tree for these calls. 0, or -1 with err (store failure). */
int included_resolve(included *inc, store *st, const include_tree *tree, const call_ref_rec *calls, size_t n,
                     char err[STORE_ERR_LEN]);
/* Appends the reached resources, comma-separated, to out; returns how many. */
size_t included_write(const included *inc, buf *out, doc_base base, const fieldsets *fs);
void included_free(included *inc);

#endif
