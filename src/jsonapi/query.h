/* query: the query string's parameters — which keys a request may carry
 * at all, and the listing's filters (docs/API.md, "Filters"), parsed once
 * per request into conditions that are cheap to test per call.
 *
 * Every problem is reported (400 with jsonapi-resources' codes): unknown
 * filter 102, bad value 103, unknown parameter 105. Nothing is ignored and
 * nothing silently matches all or none. */
#ifndef AC_JSONAPI_QUERY_H
#define AC_JSONAPI_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/request.h" /* query_param */
#include "jsonapi/errors.h"
#include "model/calls.h"

typedef enum {
    COND_REL_IN,  /* record field rel_id[rel] ∈ vals */
    COND_NODE_IN, /* the node the call is on ∈ vals */
    COND_POP_IN,  /* that node's pop ∈ vals */
    COND_DURATION_EQ,
    COND_DURATION_GT,
    COND_DURATION_LT,
    COND_ID_IN, /* (node, local_tag) ∈ ids */
} cond_kind;

typedef struct call_ref {
    int64_t node_id;
    const char *tag; /* points into query_cond.text */
    size_t tag_len;
} call_ref;

typedef struct query_cond {
    cond_kind kind;
    int rel;
    int64_t *vals;
    size_t nvals;
    call_ref *ids;
    size_t nids;
    char *text; /* COND_ID_IN: the copy of the value the tags point into */
} query_cond;

typedef struct listing_query {
    query_cond *conds;
    size_t n;
} listing_query;

/* The parameters any endpoint knows, by key: the one list of them. Which
 * of them an endpoint takes is its own business (api/params.c); a key of
 * none of these kinds is a 105 everywhere. */
typedef enum {
    QUERY_KEY_FILTER,  /* filter[...]: the listing's (this module) */
    QUERY_KEY_INCLUDE, /* include (jsonapi/include.h) */
    QUERY_KEY_FIELDS,  /* fields[...] (jsonapi/fields.h) */
    QUERY_KEY_TOKEN,   /* token: the JWT, the guard's */
    QUERY_KEY_UNKNOWN,
} query_key;

query_key query_key_of(const char *key);

/* Adds the 400 for a parameter the endpoint does not take: code 105,
 * "<key> is not allowed." (the key cut at 200 bytes, marked "..."). */
void query_param_not_allowed(jsonapi_errors *errs, const char *key);

/* Parses the filters among params; returns the number of errors added to
 * errs (0 = usable). `token`, `include` and `fields[...]` belong to other
 * parsers and are skipped; any other parameter is a 105. */
/* A parameter's value is a comma-separated list, and spaces around an
 * item do not count (include, fields[...]). Sets *item and *len to the
 * item at *p (maybe empty) and moves *p past it; false once the list is
 * done. Start with *p = the value. */
bool query_list_next(const char **p, const char **item, size_t *len);

int listing_query_parse(listing_query *q, const query_param *params, size_t n, jsonapi_errors *errs);
void listing_query_free(listing_query *q);

/* Should this node be asked at all? */
bool listing_query_wants_node(const listing_query *q, int64_t node_id, int64_t pop_id);
/* The local tags to ask the node for (from filter[id]); *n = 0 means all calls.
 * Returns a malloc'd array of pointers into the query (caller frees the array). */
const char **listing_query_tags_for(const listing_query *q, int64_t node_id, size_t *n);
/* Does the call pass every per-call condition? */
bool listing_query_match(const listing_query *q, int64_t node_id, const callset *cs, const call_record *r);

#endif
