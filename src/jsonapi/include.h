/* include: the `include` parameter — comma-separated relationship paths,
 * dotted for nesting (`customer.smtp-connection`, `vendor-acc.contractor`).
 *
 * Paths are checked against the active-calls relationships and then each
 * related type's own relationships (store/resources.h), and merged into a
 * tree whose nodes say which type each step reaches. A bad step is a 400
 * with code 112; paths deeper than INCLUDE_MAX_DEPTH are refused the same
 * way. The tree drives the batched lookups in api/included.c. */
#ifndef AC_JSONAPI_INCLUDE_H
#define AC_JSONAPI_INCLUDE_H

#include <stdint.h>

#include "jsonapi/errors.h"
#include "store/resources.h"

#define INCLUDE_MAX_DEPTH 3
#define INCLUDE_MAX_NODES 64

typedef struct include_node {
    int parent; /* index of the parent node, -1 for a relationship of the call */
    int rel;    /* call relationship (parent -1) or column of the parent's type */
    int type;   /* res_type_id reached */
} include_node;

typedef struct include_tree {
    include_node nodes[INCLUDE_MAX_NODES];
    int n;
    uint32_t call_rels; /* bit k: call relationship k is included (gets data) */
} include_tree;

void include_init(include_tree *t);
/* Parses one include value into t (merging with what is there). */
void include_parse(include_tree *t, const char *value, jsonapi_errors *errs);

#endif
