/* query: the known parameter keys, and filter parsing and evaluation for
 * the listing (docs/API.md, "Filters").
 *
 * Filter keys are normalised (underscores → dashes) and looked up in one
 * table of names: the seed's 22 and the 7 of docs/API.md. Each condition
 * kind reads its value with one syntax (value_syntax): comma lists of
 * strict integers (ids), one integer (durations), call ids (`filter[id]`),
 * strings, or a boolean. Each occurrence of a filter becomes one
 * condition; conditions AND together. */
#include "jsonapi/query.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/call_id.h"
#include "util/buf.h"

#define ECHO_MAX 200 /* longest user text echoed back in an error detail */

typedef struct filter_def {
    const char *name;
    cond_kind kind;
    int rel;  /* COND_REL_IN */
    int attr; /* COND_ATTR_* */
} filter_def;

static const filter_def filters[] = {
    {"id", COND_ID_IN, -1, -1},
    {"customer-id-eq", COND_REL_IN, REL_CUSTOMER, -1},
    {"vendor-id-eq", COND_REL_IN, REL_VENDOR, -1},
    {"customer-acc-id-eq", COND_REL_IN, REL_CUSTOMER_ACC, -1},
    {"vendor-acc-id-eq", COND_REL_IN, REL_VENDOR_ACC, -1},
    {"customer-auth-id-eq", COND_REL_IN, REL_CUSTOMER_AUTH, -1},
    {"rateplan-id-eq", COND_REL_IN, REL_RATEPLAN, -1},
    {"destination-id-eq", COND_REL_IN, REL_DESTINATION, -1},
    {"routing-group-id-eq", COND_REL_IN, REL_ROUTING_GROUP, -1},
    {"routing-plan-id-eq", COND_REL_IN, REL_ROUTING_PLAN, -1},
    {"dialpeer-id-eq", COND_REL_IN, REL_DIALPEER, -1},
    {"orig-gw-id-eq", COND_REL_IN, REL_ORIG_GW, -1},
    {"term-gw-id-eq", COND_REL_IN, REL_TERM_GW, -1},
    {"src-country-id-eq", COND_REL_IN, REL_SRC_COUNTRY, -1},
    {"src-network-id-eq", COND_REL_IN, REL_SRC_NETWORK, -1},
    {"dst-country-id-eq", COND_REL_IN, REL_DST_COUNTRY, -1},
    {"dst-network-id-eq", COND_REL_IN, REL_DST_NETWORK, -1},
    {"pop-id-eq", COND_POP_IN, -1, -1},
    {"node-id-eq", COND_NODE_IN, -1, -1},
    {"duration-equals", COND_DURATION_EQ, -1, -1},
    {"duration-greater-than", COND_DURATION_GT, -1, -1},
    {"duration-less-than", COND_DURATION_LT, -1, -1},
    {"duration-gteq", COND_DURATION_GTEQ, -1, -1},
    {"duration-lteq", COND_DURATION_LTEQ, -1, -1},
    {"src-prefix-routing-starts-with", COND_ATTR_PREFIX, -1, ATTR_SRC_PREFIX_ROUTING},
    {"dst-prefix-routing-starts-with", COND_ATTR_PREFIX, -1, ATTR_DST_PREFIX_ROUTING},
    {"orig-call-id-eq", COND_ATTR_EQ, -1, ATTR_ORIG_CALL_ID},
    {"local-tag-eq", COND_TAG_EQ, -1, -1},
    {"connected", COND_CONNECTED, -1, -1},
};
#define NFILTERS (sizeof filters / sizeof filters[0])

/* How each kind of condition reads its value. */
typedef enum {
    VAL_INTS,       /* comma list of integers */
    VAL_INT,        /* one integer */
    VAL_CALL_IDS,   /* comma list of call ids */
    VAL_JSON_TEXTS, /* comma list of non-empty strings, kept JSON-escaped */
    VAL_BYTES,      /* comma list of non-empty strings, kept as they are */
    VAL_BOOL,       /* true or false */
} value_syntax;

static const value_syntax syntax_of[] = {
    [COND_REL_IN] = VAL_INTS,        [COND_NODE_IN] = VAL_INTS,
    [COND_POP_IN] = VAL_INTS,        [COND_DURATION_EQ] = VAL_INT,
    [COND_DURATION_GT] = VAL_INT,    [COND_DURATION_LT] = VAL_INT,
    [COND_DURATION_GTEQ] = VAL_INT,  [COND_DURATION_LTEQ] = VAL_INT,
    [COND_ID_IN] = VAL_CALL_IDS,     [COND_ATTR_PREFIX] = VAL_JSON_TEXTS,
    [COND_ATTR_EQ] = VAL_JSON_TEXTS, [COND_TAG_EQ] = VAL_BYTES,
    [COND_CONNECTED] = VAL_BOOL,
};
_Static_assert(sizeof syntax_of / sizeof syntax_of[0] == COND_CONNECTED + 1, "a syntax for every kind");

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
    if (strcmp(key, "sort") == 0) return QUERY_KEY_SORT;
    if (strncmp(key, "page[", 5) == 0) return QUERY_KEY_PAGE;
    if (strcmp(key, "group-by") == 0) return QUERY_KEY_GROUP_BY;
    if (strcmp(key, "hours") == 0) return QUERY_KEY_HOURS;
    if (strcmp(key, "bucket") == 0) return QUERY_KEY_BUCKET;
    return QUERY_KEY_UNKNOWN;
}

void query_param_not_allowed(jsonapi_errors *errs, const char *key)
{
    not_allowed(errs, "105", "Param not allowed", key);
}

/* ---- conditions ------------------------------------------------------------ */

static query_cond *add_cond(listing_query *q, const filter_def *f)
{
    query_cond *c = realloc(q->conds, (q->n + 1) * sizeof *c);
    if (!c) return NULL;
    q->conds = c;
    c = &q->conds[q->n++];
    *c = (query_cond){.kind = f->kind, .rel = f->rel, .attr = f->attr};
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

/* Comma list of non-empty strings into c->strs, all in c->text: JSON-escaped
 * (as records keep attributes) or as they are. */
static bool parse_str_list(query_cond *c, const char *v, bool escape)
{
    const char *next = v, *item;
    size_t len, total = 0;
    while (query_list_next(&next, &item, &len)) {
        if (len == 0) return false;
        total += escape ? buf_json_chars_len(item, len) : len;
    }
    c->strs = calloc(count_items(v), sizeof *c->strs);
    buf text;
    buf_init(&text);
    if (!c->strs || !buf_reserve(&text, total)) {
        buf_free(&text);
        return false;
    }
    for (next = v; query_list_next(&next, &item, &len); c->nstrs++) {
        size_t at = text.len;
        if (escape)
            buf_put_json_chars(&text, item, len);
        else
            buf_append(&text, item, len);
        c->strs[c->nstrs].len = text.len - at;
    }
    c->text = buf_steal(&text);
    if (!c->text) return false;
    const char *at = c->text;
    for (size_t i = 0; i < c->nstrs; i++) {
        c->strs[i].s = at;
        at += c->strs[i].len;
    }
    return true;
}

static bool parse_bool(query_cond *c, const char *v)
{
    bool yes = strcmp(v, "true") == 0;
    if (!yes && strcmp(v, "false") != 0) return false;
    c->vals = malloc(sizeof *c->vals);
    if (!c->vals) return false;
    c->vals[c->nvals++] = yes;
    return true;
}

bool query_name_dashed(const char *name, size_t len, char *out, size_t cap)
{
    if (len >= cap) return false;
    for (size_t i = 0; i < len; i++) out[i] = name[i] == '_' ? '-' : name[i];
    out[len] = '\0';
    return true;
}

static const filter_def *find_filter(const char *name, size_t len)
{
    char norm[64];
    if (len == 0 || !query_name_dashed(name, len, norm, sizeof norm)) return NULL;
    for (size_t i = 0; i < NFILTERS; i++)
        if (strcmp(filters[i].name, norm) == 0) return &filters[i];
    return NULL;
}

static bool parse_value(query_cond *c, const char *value)
{
    switch (syntax_of[c->kind]) {
    case VAL_INTS: return parse_int_list(c, value, false);
    case VAL_INT: return parse_int_list(c, value, true);
    case VAL_CALL_IDS: return parse_id_list(c, value);
    case VAL_JSON_TEXTS: return parse_str_list(c, value, true);
    case VAL_BYTES: return parse_str_list(c, value, false);
    case VAL_BOOL: return parse_bool(c, value);
    }
    return false;
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
    query_cond *c = add_cond(q, f);
    if (!c || !parse_value(c, value)) bad_value(errs, value, f->name);
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
        default: break; /* include, fields, sort, page, group-by: their own parsers; token: the guard's */
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
        free(q->conds[i].strs);
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

/* The durations a duration condition keeps: lo..hi, both included; false
 * when it keeps none. An unbounded side is INT64_MIN / INT64_MAX. */
static bool duration_range(const query_cond *c, int64_t *lo, int64_t *hi)
{
    int64_t v = c->vals[0];
    *lo = INT64_MIN;
    *hi = INT64_MAX;
    switch (c->kind) {
    case COND_DURATION_EQ: *lo = *hi = v; return true;
    case COND_DURATION_GTEQ: *lo = v; return true;
    case COND_DURATION_LTEQ: *hi = v; return true;
    case COND_DURATION_GT: *lo = v == INT64_MAX ? v : v + 1; return v != INT64_MAX;
    case COND_DURATION_LT: *hi = v == INT64_MIN ? v : v - 1; return v != INT64_MIN;
    default: return false;
    }
}

static bool duration_match(const query_cond *c, int64_t duration)
{
    int64_t lo, hi;
    return duration != CALL_DURATION_NULL && duration_range(c, &lo, &hi) && duration >= lo && duration <= hi;
}

/* Attribute a's JSON text when it is a string: the text inside the quotes. */
static bool attr_string(const callset *cs, const call_record *r, int a, const char **s, size_t *len)
{
    call_span sp = r->attr[a];
    const char *t = callset_text(cs, sp);
    if (sp.len < 2 || t[0] != '"') return false;
    *s = t + 1;
    *len = sp.len - 2;
    return true;
}

/* Does s[0..len) equal (prefix: start with) one of the condition's strings? */
static bool strs_match(const query_cond *c, const char *s, size_t len, bool prefix)
{
    for (size_t i = 0; i < c->nstrs; i++) {
        const query_str *q = &c->strs[i];
        if ((prefix ? q->len <= len : q->len == len) && memcmp(q->s, s, q->len) == 0) return true;
    }
    return false;
}

static bool attr_match(const query_cond *c, const callset *cs, const call_record *r)
{
    const char *s;
    size_t len;
    return attr_string(cs, r, c->attr, &s, &len) && strs_match(c, s, len, c->kind == COND_ATTR_PREFIX);
}

void listing_query_fields(const listing_query *q, bool attrs[ATTR_COUNT], bool rels[REL_COUNT])
{
    attrs[ATTR_LOCAL_TAG] = true;
    for (size_t i = 0; i < q->n; i++) {
        const query_cond *c = &q->conds[i];
        switch (c->kind) {
        case COND_REL_IN: rels[c->rel] = true; break;
        case COND_DURATION_EQ:
        case COND_DURATION_GT:
        case COND_DURATION_LT:
        case COND_DURATION_GTEQ:
        case COND_DURATION_LTEQ: attrs[ATTR_DURATION] = true; break;
        case COND_ATTR_PREFIX:
        case COND_ATTR_EQ: attrs[c->attr] = true; break;
        case COND_CONNECTED: attrs[ATTR_CONNECT_TIME] = true; break;
        case COND_NODE_IN:
        case COND_POP_IN:
        case COND_ID_IN:
        case COND_TAG_EQ: break; /* the node, or the local tag */
        }
    }
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
        case COND_DURATION_GT:
        case COND_DURATION_LT:
        case COND_DURATION_GTEQ:
        case COND_DURATION_LTEQ:
            if (!duration_match(c, r->duration)) return false;
            break;
        case COND_ID_IN:
            if (!id_match(c, node_id, callset_text(cs, r->tag), r->tag.len)) return false;
            break;
        case COND_ATTR_PREFIX:
        case COND_ATTR_EQ:
            if (!attr_match(c, cs, r)) return false;
            break;
        case COND_TAG_EQ:
            if (!strs_match(c, callset_text(cs, r->tag), r->tag.len, false)) return false;
            break;
        case COND_CONNECTED:
            if (call_attr_is_null(r, ATTR_CONNECT_TIME) == (c->vals[0] != 0)) return false;
            break;
        }
    }
    return true;
}

/* ---- rules for the node ------------------------------------------------------- */

/* A node compares durations against the clock it read when it took the
 * rules, in whole seconds of connect_time (docs/API.md, "Filters"): its
 * figure for a call is at most our truncated duration + 1, and at least
 * our duration - NODE_WALK_SLACK_S when it writes the call less than that
 * many seconds after reading the rules (the default node deadline). */
#define NODE_WALK_SLACK_S 2

/* The range of values a node's rule takes (its `int`). */
static bool rule_int(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* Appends one NUL-terminated rule to b and counts it. */
static void __attribute__((format(printf, 3, 4))) add_rule(buf *b, size_t *n, const char *fmt, ...)
{
    char rule[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rule, sizeof rule, fmt, ap);
    va_end(ap);
    buf_append(b, rule, strlen(rule) + 1);
    (*n)++;
}

static void rule_duration(buf *b, size_t *n, const query_cond *c)
{
    int64_t lo, hi;
    if (!duration_range(c, &lo, &hi)) return;
    if (lo >= (int64_t)INT32_MIN + NODE_WALK_SLACK_S && rule_int(lo))
        add_rule(b, n, "duration>=%lld", (long long)(lo - NODE_WALK_SLACK_S));
    if (hi < INT32_MAX && rule_int(hi)) add_rule(b, n, "duration<=%lld", (long long)(hi + 1));
}

static void rule_of(buf *b, size_t *n, const query_cond *c)
{
    switch (c->kind) {
    case COND_REL_IN:
        if (c->nvals == 1 && c->vals[0] >= 1 && c->vals[0] <= INT32_MAX)
            add_rule(b, n, "%s=%lld", call_rels[c->rel].field, (long long)c->vals[0]);
        return;
    case COND_DURATION_EQ:
    case COND_DURATION_GT:
    case COND_DURATION_LT:
    case COND_DURATION_GTEQ:
    case COND_DURATION_LTEQ: rule_duration(b, n, c); return;
    case COND_CONNECTED:
        if (c->vals[0]) add_rule(b, n, "connect_time>0"); /* "not connected" has no rule */
        return;
    default: return; /* node, pop, id: chosen before asking; strings: ours */
    }
}

size_t listing_query_rules(const listing_query *q, char ***rules)
{
    *rules = NULL;
    buf text;
    buf_init(&text);
    size_t n = 0;
    for (size_t i = 0; i < q->n; i++) rule_of(&text, &n, &q->conds[i]);
    char **block = n && !text.oom ? malloc(n * sizeof *block + text.len) : NULL;
    if (block) {
        char *at = memcpy((char *)(block + n), text.data, text.len);
        for (size_t i = 0; i < n; i++) {
            block[i] = at;
            at += strlen(at) + 1;
        }
        *rules = block;
    }
    buf_free(&text);
    return block ? n : 0;
}
