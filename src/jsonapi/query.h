/* query: the query string's parameters — which keys a request may carry
 * at all, and the listing's filters (docs/API.md, "Filters"), parsed once
 * per request into conditions that are cheap to test per call.
 *
 * Every problem is reported (400 with jsonapi-resources' codes): unknown
 * filter 102, bad value 103, unknown parameter 105. Nothing is ignored and
 * nothing silently matches all or none.
 *
 * Some conditions a node can evaluate itself (docs/CONTRACT.md §7,
 * `yeti.show.calls.filtered`): listing_query_rules writes them as the
 * node's rules, each keeping at least the calls the condition keeps. */
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
    COND_DURATION_GTEQ,
    COND_DURATION_LTEQ,
    COND_ID_IN,       /* (node, local_tag) ∈ ids */
    COND_ATTR_PREFIX, /* attribute attr is a string starting with one of strs */
    COND_ATTR_EQ,     /* attribute attr is a string equal to one of strs */
    COND_TAG_EQ,      /* the raw local_tag bytes equal one of strs */
    COND_CONNECTED,   /* vals[0]: 1 connect-time is set, 0 it is null */
} cond_kind;

typedef struct call_ref {
    int64_t node_id;
    const char *tag; /* points into query_cond.text */
    size_t tag_len;
} call_ref;

/* One item of a string condition. COND_ATTR_*: the item JSON-escaped as
 * the records keep attributes (util/buf.h buf_put_json_chars, no quotes),
 * so a record's text is compared as it is; COND_TAG_EQ: the raw bytes. */
typedef struct query_str {
    const char *s; /* points into query_cond.text */
    size_t len;
} query_str;

typedef struct query_cond {
    cond_kind kind;
    int rel;  /* COND_REL_IN: the relationship (REL_*) */
    int attr; /* COND_ATTR_*: the attribute (ATTR_*) */
    int64_t *vals;
    size_t nvals;
    call_ref *ids;
    size_t nids;
    query_str *strs;
    size_t nstrs;
    char *text; /* COND_ID_IN, string conditions: the text ids and strs point into */
} query_cond;

typedef struct listing_query {
    query_cond *conds;
    size_t n;
} listing_query;

/* The parameters any endpoint knows, by key: the one list of them. Which
 * of them an endpoint takes is its own business (api/params.c); a key of
 * none of these kinds is a 105 everywhere. */
typedef enum {
    QUERY_KEY_FILTER,   /* filter[...]: the listing's (this module) */
    QUERY_KEY_INCLUDE,  /* include (jsonapi/include.h) */
    QUERY_KEY_FIELDS,   /* fields[...] (jsonapi/fields.h) */
    QUERY_KEY_TOKEN,    /* token: the JWT, the guard's */
    QUERY_KEY_SORT,     /* sort (jsonapi/sort.h) */
    QUERY_KEY_PAGE,     /* page[...] (jsonapi/page.h) */
    QUERY_KEY_GROUP_BY, /* group-by (api/params.c) */
    QUERY_KEY_HOURS,    /* hours: the charts' range (api/samples.c) */
    QUERY_KEY_BUCKET,   /* bucket: the charts' aggregation (api/samples.c) */
    QUERY_KEY_UNKNOWN,
} query_key;

query_key query_key_of(const char *key);

/* Adds the 400 for a parameter the endpoint does not take: code 105,
 * "<key> is not allowed." (the key cut at 200 bytes, marked "..."). */
void query_param_not_allowed(jsonapi_errors *errs, const char *key);

/* A name as the API spells it: filter, sort and group-by names may be
 * written with underscores for dashes, as yeti-web accepts both. Writes
 * name[0..len) with '_' turned to '-' and a NUL into out; false when it
 * does not fit in cap bytes. */
bool query_name_dashed(const char *name, size_t len, char *out, size_t cap);

/* A parameter's value is a comma-separated list, and spaces around an
 * item do not count (include, fields[...]). Sets *item and *len to the
 * item at *p (maybe empty) and moves *p past it; false once the list is
 * done. Start with *p = the value. */
bool query_list_next(const char **p, const char **item, size_t *len);

/* Parses the filters among params; returns the number of errors added to
 * errs (0 = usable). `token`, `include`, `fields[...]`, `sort`,
 * `page[...]` and `group-by` belong to other parsers and are skipped; any
 * other parameter is a 105. */
int listing_query_parse(listing_query *q, const query_param *params, size_t n, jsonapi_errors *errs);
void listing_query_free(listing_query *q);

/* The record fields the per-call conditions read: attrs[a] / rels[r] set
 * for each (the local tag is always read; node and pop are not fields). */
void listing_query_fields(const listing_query *q, bool attrs[ATTR_COUNT], bool rels[REL_COUNT]);

/* Should this node be asked at all? */
bool listing_query_wants_node(const listing_query *q, int64_t node_id, int64_t pop_id);
/* The local tags to ask the node for (from filter[id]); *n = 0 means all calls.
 * Returns a malloc'd array of pointers into the query (caller frees the array). */
const char **listing_query_tags_for(const listing_query *q, int64_t node_id, size_t *n);
/* Does the call pass every per-call condition? */
bool listing_query_match(const listing_query *q, int64_t node_id, const callset *cs, const call_record *r);

/* The conditions a node can evaluate, as sems-yeti rules
 * ("customer_acc_id=5", "duration>=10"), each NUL-terminated in one
 * malloc'd block: *rules[i]; returns how many (0: nothing to push; *rules
 * NULL). The server re-applies every filter, so each rule keeps at least
 * every call the condition keeps. The block holds the pointers and the
 * text: the caller frees *rules with free(). Which conditions and how:
 * docs/API.md, "Filters". Running out of memory pushes nothing. */
size_t listing_query_rules(const listing_query *q, char ***rules);

#endif
