/* query: the known parameter keys, and filter parsing and evaluation for
 * the listing (docs/API.md, "Filters").
 *
 * Filter keys are normalised (underscores → dashes) and looked up in one
 * table of the seed's 22 names. Values are comma lists of strict integers
 * (ids) or one integer (durations) or call ids (`filter[id]`). Each
 * occurrence of a filter becomes one condition; conditions AND together. */
#include "jsonapi/query.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/call_id.h"

#define ECHO_MAX 200 /* longest user text echoed back in an error detail */

typedef struct filter_def {
    const char *name;
    cond_kind kind;
    int rel;
} filter_def;

static const filter_def filters[] = {
    {"id", COND_ID_IN, -1},
    {"customer-id-eq", COND_REL_IN, REL_CUSTOMER},
    {"vendor-id-eq", COND_REL_IN, REL_VENDOR},
    {"customer-acc-id-eq", COND_REL_IN, REL_CUSTOMER_ACC},
    {"vendor-acc-id-eq", COND_REL_IN, REL_VENDOR_ACC},
    {"customer-auth-id-eq", COND_REL_IN, REL_CUSTOMER_AUTH},
    {"rateplan-id-eq", COND_REL_IN, REL_RATEPLAN},
    {"destination-id-eq", COND_REL_IN, REL_DESTINATION},
    {"routing-group-id-eq", COND_REL_IN, REL_ROUTING_GROUP},
    {"routing-plan-id-eq", COND_REL_IN, REL_ROUTING_PLAN},
    {"dialpeer-id-eq", COND_REL_IN, REL_DIALPEER},
    {"orig-gw-id-eq", COND_REL_IN, REL_ORIG_GW},
    {"term-gw-id-eq", COND_REL_IN, REL_TERM_GW},
    {"src-country-id-eq", COND_REL_IN, REL_SRC_COUNTRY},
    {"src-network-id-eq", COND_REL_IN, REL_SRC_NETWORK},
    {"dst-country-id-eq", COND_REL_IN, REL_DST_COUNTRY},
    {"dst-network-id-eq", COND_REL_IN, REL_DST_NETWORK},
    {"pop-id-eq", COND_POP_IN, -1},
    {"node-id-eq", COND_NODE_IN, -1},
    {"duration-equals", COND_DURATION_EQ, -1},
    {"duration-greater-than", COND_DURATION_GT, -1},
    {"duration-less-than", COND_DURATION_LT, -1},
};
#define NFILTERS (sizeof filters / sizeof filters[0])

/* ---- small parsers -------------------------------------------------------- */

static bool parse_i64(const char *s, size_t n, int64_t *out)
{
    char tmp[32];
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n == 0 || n >= sizeof tmp) return false;
    for (size_t i = 0; i < n; i++) {
        bool sign = i == 0 && (s[i] == '-' || s[i] == '+') && n > 1;
        if (!sign && (s[i] < '0' || s[i] > '9')) return false;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    long long v = strtoll(tmp, NULL, 10);
    if (errno == ERANGE) return false;
    *out = v;
    return true;
}

/* Writes at most ECHO_MAX bytes of s, marking a cut with "...". */
static void echo(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n > ECHO_MAX)
        snprintf(dst, cap, "%.*s...", ECHO_MAX, s);
    else
        snprintf(dst, cap, "%s", s);
}

static void bad_value(jsonapi_errors *errs, const char *value, const char *name)
{
    char v[ECHO_MAX + 4];
    echo(v, sizeof v, value);
    jerr_add(errs, 400, "103", "Invalid filter value", "%s is not a valid value for %s.", v, name);
}

static void not_allowed(jsonapi_errors *errs, const char *code, const char *title, const char *name)
{
    char v[ECHO_MAX + 4];
    echo(v, sizeof v, name);
    jerr_add(errs, 400, code, title, "%s is not allowed.", v);
}

/* ---- parameter keys -------------------------------------------------------- */

query_key query_key_of(const char *key)
{
    assert(key != NULL);
    if (strncmp(key, "filter[", 7) == 0) return QUERY_KEY_FILTER;
    if (strcmp(key, "include") == 0) return QUERY_KEY_INCLUDE;
    if (strncmp(key, "fields[", 7) == 0) return QUERY_KEY_FIELDS;
    if (strcmp(key, "token") == 0) return QUERY_KEY_TOKEN;
    return QUERY_KEY_UNKNOWN;
}

void query_param_not_allowed(jsonapi_errors *errs, const char *key)
{
    not_allowed(errs, "105", "Param not allowed", key);
}

/* ---- conditions ------------------------------------------------------------ */

static query_cond *add_cond(listing_query *q, cond_kind kind, int rel)
{
    query_cond *c = realloc(q->conds, (q->n + 1) * sizeof *c);
    if (!c) return NULL;
    q->conds = c;
    c = &q->conds[q->n++];
    *c = (query_cond){.kind = kind, .rel = rel};
    return c;
}

static size_t count_items(const char *v)
{
    size_t n = 1;
    for (; *v; v++) n += *v == ',';
    return n;
}

/* Comma list of integers into c->vals; false on any bad item. */
static bool parse_int_list(query_cond *c, const char *v, bool single)
{
    size_t cap = count_items(v);
    if (single && cap != 1) return false;
    c->vals = malloc(cap * sizeof *c->vals);
    if (!c->vals) return false;
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!parse_i64(p, len, &c->vals[c->nvals])) return false;
        c->nvals++;
        if (!comma) return true;
        p = comma + 1;
    }
}

/* Comma list of call ids; the tags point into the condition's own copy of
 * the value. */
static bool parse_id_list(query_cond *c, const char *v)
{
    size_t cap = count_items(v);
    c->ids = calloc(cap, sizeof *c->ids);
    char *copy = strdup(v);
    if (!c->ids || !copy) {
        free(copy);
        return false;
    }
    c->text = copy;
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        while (*p == ' ') p++;
        size_t len = strlen(p);
        while (len && p[len - 1] == ' ') p[--len] = '\0';
        call_ref *r = &c->ids[c->nids];
        if (!call_id_parse(p, len, &r->node_id, &r->tag, &r->tag_len)) return false;
        c->nids++;
        if (!comma) return true;
        p = comma + 1;
    }
}

static const filter_def *find_filter(const char *name, size_t len)
{
    char norm[64];
    if (len == 0 || len >= sizeof norm) return NULL;
    for (size_t i = 0; i < len; i++) norm[i] = name[i] == '_' ? '-' : name[i];
    norm[len] = '\0';
    for (size_t i = 0; i < NFILTERS; i++)
        if (strcmp(filters[i].name, norm) == 0) return &filters[i];
    return NULL;
}

static void parse_filter(listing_query *q, const char *key, const char *value, jsonapi_errors *errs)
{
    const char *inner = key + strlen("filter[");
    size_t klen = strlen(key);
    if (klen < strlen("filter[]") || key[klen - 1] != ']') {
        not_allowed(errs, "102", "Filter not allowed", key);
        return;
    }
    size_t len = klen - strlen("filter[") - 1;
    const filter_def *f = find_filter(inner, len);
    if (!f) {
        char name[ECHO_MAX + 4];
        snprintf(name, sizeof name, "%.*s%s", (int)(len > ECHO_MAX ? ECHO_MAX : len), inner,
                 len > ECHO_MAX ? "..." : "");
        not_allowed(errs, "102", "Filter not allowed", name);
        return;
    }
    query_cond *c = add_cond(q, f->kind, f->rel);
    bool ok;
    if (!c)
        ok = false;
    else if (f->kind == COND_ID_IN)
        ok = parse_id_list(c, value);
    else {
        bool single =
            f->kind == COND_DURATION_EQ || f->kind == COND_DURATION_GT || f->kind == COND_DURATION_LT;
        ok = parse_int_list(c, value, single);
    }
    if (!ok) bad_value(errs, value, f->name);
}

int listing_query_parse(listing_query *q, const query_param *params, size_t n, jsonapi_errors *errs)
{
    memset(q, 0, sizeof *q);
    int before = errs->n;
    for (size_t i = 0; i < n; i++) {
        const char *key = params[i].key;
        switch (query_key_of(key)) {
        case QUERY_KEY_FILTER: parse_filter(q, key, params[i].value, errs); break;
        case QUERY_KEY_UNKNOWN: query_param_not_allowed(errs, key); break;
        default: break; /* include, fields: their own parsers; token: the guard's */
        }
    }
    return errs->n - before;
}

bool query_list_next(const char **p, const char **item, size_t *len)
{
    if (!*p) return false;
    const char *s = *p, *comma = strchr(s, ',');
    size_t n = comma ? (size_t)(comma - s) : strlen(s);
    while (n && *s == ' ') s++, n--;
    while (n && s[n - 1] == ' ') n--;
    *item = s;
    *len = n;
    *p = comma ? comma + 1 : NULL;
    return true;
}

void listing_query_free(listing_query *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->conds[i].vals);
        free(q->conds[i].ids);
        free(q->conds[i].text);
    }
    free(q->conds);
    memset(q, 0, sizeof *q);
}

/* ---- evaluation ------------------------------------------------------------ */

static bool in_list(const int64_t *vals, size_t n, int64_t v)
{
    for (size_t i = 0; i < n; i++)
        if (vals[i] == v) return true;
    return false;
}

static bool ids_have_node(const query_cond *c, int64_t node_id)
{
    for (size_t i = 0; i < c->nids; i++)
        if (c->ids[i].node_id == node_id) return true;
    return false;
}

bool listing_query_wants_node(const listing_query *q, int64_t node_id, int64_t pop_id)
{
    for (size_t i = 0; i < q->n; i++) {
        const query_cond *c = &q->conds[i];
        if (c->kind == COND_NODE_IN && !in_list(c->vals, c->nvals, node_id)) return false;
        if (c->kind == COND_POP_IN && !in_list(c->vals, c->nvals, pop_id)) return false;
        if (c->kind == COND_ID_IN && !ids_have_node(c, node_id)) return false;
    }
    return true;
}

const char **listing_query_tags_for(const listing_query *q, int64_t node_id, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < q->n; i++) {
        const query_cond *c = &q->conds[i];
        if (c->kind != COND_ID_IN) continue;
        /* the first filter[id] decides what is asked; later ones still filter */
        const char **tags = malloc(c->nids * sizeof *tags);
        if (!tags) return NULL;
        for (size_t k = 0; k < c->nids; k++)
            if (c->ids[k].node_id == node_id) tags[(*n)++] = c->ids[k].tag;
        return tags;
    }
    return NULL;
}

static bool id_match(const query_cond *c, int64_t node_id, const char *tag, size_t len)
{
    for (size_t i = 0; i < c->nids; i++) {
        const call_ref *r = &c->ids[i];
        if (r->node_id == node_id && r->tag_len == len && memcmp(r->tag, tag, len) == 0) return true;
    }
    return false;
}

bool listing_query_match(const listing_query *q, int64_t node_id, const callset *cs, const call_record *r)
{
    for (size_t i = 0; i < q->n; i++) {
        const query_cond *c = &q->conds[i];
        switch (c->kind) {
        case COND_REL_IN:
            if (r->rel_id[c->rel] == CALL_ID_NONE || !in_list(c->vals, c->nvals, r->rel_id[c->rel]))
                return false;
            break;
        case COND_NODE_IN:
            if (!in_list(c->vals, c->nvals, node_id)) return false;
            break;
        case COND_POP_IN: break; /* decided per node, before asking it */
        case COND_DURATION_EQ:
            if (r->duration == CALL_DURATION_NULL || r->duration != c->vals[0]) return false;
            break;
        case COND_DURATION_GT:
            if (r->duration == CALL_DURATION_NULL || r->duration <= c->vals[0]) return false;
            break;
        case COND_DURATION_LT:
            if (r->duration == CALL_DURATION_NULL || r->duration >= c->vals[0]) return false;
            break;
        case COND_ID_IN:
            if (!id_match(c, node_id, callset_text(cs, r->tag), r->tag.len)) return false;
            break;
        }
    }
    return true;
}
