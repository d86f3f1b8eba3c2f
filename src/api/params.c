/* params: shared query-parameter parsing; see params.h. */
#include "api/params.h"

#include <stdio.h>
#include <string.h>

#define ECHO_MAX 100 /* longest user text echoed back in an error detail */
#define COUNTS_TYPE "active-call-counts"

static int attr_index(const char *name, size_t len) { return call_attr_index(name, len); }

static int no_index(const char *name, size_t len) { return -1; }

int params_rel_key(const char *name, size_t len)
{
    return len > 3 && memcmp(name + len - 3, "-id", 3) == 0 ? call_rel_index(name, len - 3) : -1;
}

/* group-by: a comma list of params_rel_key names, dashes or underscores. */
static void group_parse(api_params *p, const char *value, jsonapi_errors *errs)
{
    const char *next = value, *item;
    size_t len;
    while (query_list_next(&next, &item, &len)) {
        if (len == 0) continue;
        char name[64];
        int k = query_name_dashed(item, len, name, sizeof name) ? params_rel_key(name, len) : -1;
        if (k < 0) {
            jerr_add(errs, 400, "103", "Invalid field value", "%.*s%s is not a valid group-by key for %s",
                     (int)(len > ECHO_MAX ? ECHO_MAX : len), item, len > ECHO_MAX ? "..." : "", COUNTS_TYPE);
            continue;
        }
        bool seen = false;
        for (size_t i = 0; i < p->ngroup; i++) seen |= p->group[i] == k;
        if (!seen) p->group[p->ngroup++] = k;
    }
}

/* Does endpoint kind take parameters of key kind q (given it does not
 * take include when !allow_include)? */
static bool takes(params_kind kind, query_key q, bool allow_include)
{
    switch (q) {
    case QUERY_KEY_INCLUDE: return allow_include;
    case QUERY_KEY_FIELDS:
    case QUERY_KEY_TOKEN: return true;
    case QUERY_KEY_FILTER: return kind != PARAMS_CALL;
    case QUERY_KEY_SORT:
    case QUERY_KEY_PAGE: return kind != PARAMS_CALL && kind != PARAMS_EVENTS;
    case QUERY_KEY_GROUP_BY: return kind == PARAMS_COUNTS;
    case QUERY_KEY_HOURS:
    case QUERY_KEY_BUCKET: /* the charts' (api/samples.c) */
    case QUERY_KEY_UNKNOWN: return false;
    }
    return false;
}

bool api_params_parse(const http_request *req, params_kind kind, bool allow_include, const params_limits *lim,
                      api_params *p, http_response *res)
{
    jsonapi_errors errs;
    jerr_init(&errs);
    memset(p, 0, sizeof *p);
    include_init(&p->include);
    fieldsets_init(&p->fields);
    /* filters, and every key no endpoint knows (a 105), in one pass */
    if (kind != PARAMS_CALL) listing_query_parse(&p->filters, req->params, req->nparams, &errs);
    int (*sort_index)(const char *, size_t) = kind == PARAMS_LISTING ? attr_index
        : lim && lim->counts_sort_index                              ? lim->counts_sort_index
                                                                     : no_index;
    for (size_t i = 0; i < req->nparams; i++) {
        const char *key = req->params[i].key, *value = req->params[i].value;
        query_key q = query_key_of(key);
        if (!takes(kind, q, allow_include)) {
            if (kind == PARAMS_CALL || q != QUERY_KEY_UNKNOWN) query_param_not_allowed(&errs, key);
            continue;
        }
        switch (q) {
        case QUERY_KEY_INCLUDE: include_parse(&p->include, value, &errs); break;
        case QUERY_KEY_FIELDS: fieldsets_parse(&p->fields, key, value, &errs); break;
        case QUERY_KEY_SORT:
            sort_parse(&p->sort, value, sort_index, kind == PARAMS_LISTING ? "active-calls" : COUNTS_TYPE,
                       &errs);
            break;
        case QUERY_KEY_PAGE:
            page_param(&p->page, key, value, lim->default_page_size, lim->max_page_size, &errs);
            break;
        case QUERY_KEY_GROUP_BY: group_parse(p, value, &errs); break;
        default: break; /* filters: above; token: the guard's */
        }
    }
    for (size_t i = 0; kind == PARAMS_COUNTS && i < p->sort.n; i++) { /* a key sorts by it: it groups by it */
        int k = p->sort.keys[i].key;
        bool grouped = k >= REL_COUNT; /* a measure */
        for (size_t g = 0; g < p->ngroup; g++) grouped |= p->group[g] == k;
        if (grouped) continue;
        char name[64];
        int n = snprintf(name, sizeof name, "%s-id", call_rels[k].name);
        sort_criteria_refused(&errs, name, (size_t)n, COUNTS_TYPE);
    }
    bool ok = errs.n == 0;
    if (!ok) {
        res->status = errs.status;
        jerr_document(&errs, &res->body);
    }
    jerr_free(&errs);
    return ok;
}

void api_params_free(api_params *p) { listing_query_free(&p->filters); }
