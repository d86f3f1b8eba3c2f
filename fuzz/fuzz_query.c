/* fuzz_query: every query parameter an endpoint reads — filters
 * (jsonapi/query.c), include (jsonapi/include.c), fields[...]
 * (jsonapi/fields.c), sort (jsonapi/sort.c), page[...] (jsonapi/page.c),
 * group-by, token and anything else — through api_params_parse
 * (api/params.c), as the listing, the counts and the show endpoints call
 * it.
 *
 * Input: byte 0 picks the endpoint kind (listing; a show that takes
 * include; one that does not; the counts), the rest is the query string as the HTTP
 * layer hands it over (already percent-decoded): parameters split on '&',
 * each on its first '=' (none: the value is ""), at most 256 of them as
 * the server allows.
 *
 * Properties:
 *   - a parameter the endpoint does not take is never accepted (nothing is
 *     ignored);
 *   - a refusal is a 400 whose body is a valid JSON:API error document:
 *     1..20 errors, each with a string title and detail, a known code and
 *     status "400"; an accepted query leaves the body empty;
 *   - accepted filters make one condition per filter parameter, every item
 *     of their values is a strict integer (or a call id with a numeric
 *     node, a non-empty string, true or false), and the conditions
 *     written back canonically (integers in decimal, call ids as
 *     <node>*<tag>, strings without the spaces around them) parse to the
 *     same conditions; the rules for a node (listing_query_rules) are
 *     well formed;
 *   - accepted sort keys are known and distinct, at most SORT_KEYS_MAX;
 *     an accepted page has number >= 1 and 1 <= size <= the maximum;
 *     group-by keys are relationships, each once;
 *   - an accepted include tree is well formed (parents before children, at
 *     most 3 steps, each node's type the one its relationship reaches,
 *     call_rels exactly the first steps), and its paths written back parse
 *     to the same tree;
 *   - accepted fieldsets only name existing fields, and written back parse
 *     to the same masks. */
#include "fuzz.h"

#include <jansson.h>

#include "api/params.h"

#define MAX_PARAMS 256 /* as http/server.c */

typedef struct query {
    query_param params[MAX_PARAMS];
    size_t n;
} query;

static void query_free(query *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free((char *)q->params[i].key);
        free((char *)q->params[i].value);
    }
    q->n = 0;
}

static void query_split(query *q, fz_in *in)
{
    q->n = 0;
    while (in->n > 0 && q->n < MAX_PARAMS) {
        char *pair = fz_field(in, '&');
        char *eq = strchr(pair, '=');
        char *value = fz_strndup(eq ? eq + 1 : "", eq ? strlen(eq + 1) : 0);
        if (eq) *eq = '\0';
        q->params[q->n++] = (query_param){pair, value};
    }
}

#define MAX_PAGE 1000

/* The counts' sort keys, as a counts endpoint could have them. */
static int counts_index(const char *name, size_t len)
{
    return len == 5 && memcmp(name, "count", 5) == 0  ? 0
        : len == 7 && memcmp(name, "node-id", 7) == 0 ? 1
                                                      : -1;
}

static const params_limits limits = {100, MAX_PAGE, counts_index};

static bool run(const query *q, params_kind kind, bool allow_include, api_params *p, http_response *res)
{
    http_request req;
    memset(&req, 0, sizeof req);
    req.params = q->params;
    req.nparams = q->n;
    memset(res, 0, sizeof *res);
    buf_init(&res->body);
    return api_params_parse(&req, kind, allow_include, &limits, p, res);
}

static bool known_param(const char *key, params_kind kind, bool allow_include)
{
    bool listed = kind != PARAMS_CALL;
    return strcmp(key, "token") == 0 || (allow_include && strcmp(key, "include") == 0) ||
        strncmp(key, "fields[", 7) == 0 || (listed && strncmp(key, "filter[", 7) == 0) ||
        (listed && strcmp(key, "sort") == 0) || (listed && strncmp(key, "page[", 5) == 0) ||
        (kind == PARAMS_COUNTS && strcmp(key, "group-by") == 0);
}

static void check_error_document(const http_response *res)
{
    static const char *const codes[] = {"101", "102", "103", "104", "105", "112", "114", "118"};
    FZ_CHECK(res->status == 400, "status %d", res->status);
    json_error_t jerr;
    json_t *doc = json_loadb(res->body.data, res->body.len, 0, &jerr);
    FZ_CHECK(doc != NULL, "the error document is not JSON: %s", jerr.text);
    json_t *errors = json_object_get(doc, "errors");
    size_t n = json_array_size(errors);
    FZ_CHECK(json_is_array(errors) && n >= 1 && n <= JERR_MAX_REPORTED, "%zu errors", n);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(errors, i);
        const char *code = json_string_value(json_object_get(e, "code"));
        bool known = false;
        for (size_t k = 0; code && k < sizeof codes / sizeof codes[0]; k++)
            known |= strcmp(code, codes[k]) == 0;
        FZ_CHECK(known, "error code %s", code ? code : "(none)");
        FZ_CHECK(json_is_string(json_object_get(e, "title")) && json_is_string(json_object_get(e, "detail")),
                 "an error without title or detail");
        const char *status = json_string_value(json_object_get(e, "status"));
        FZ_CHECK(status && strcmp(status, "400") == 0, "error status %s", status ? status : "(none)");
    }
    json_decref(doc);
}

/* ---- filters ----------------------------------------------------------------------- */

static void put_condition(buf *b, const query_cond *c, const char *value)
{
    if (c->strs) { /* the items as sent, without the spaces around them */
        const char *next = value, *item;
        size_t len;
        for (size_t i = 0; query_list_next(&next, &item, &len); i++)
            buf_printf(b, "%s%.*s", i ? "," : "", (int)len, item);
    } else if (c->kind == COND_CONNECTED) {
        buf_puts(b, c->vals[0] ? "true" : "false");
    } else if (c->kind == COND_ID_IN) {
        for (size_t i = 0; i < c->nids; i++) {
            FZ_CHECK(c->ids[i].node_id > 0 && c->ids[i].tag_len >= 1 && c->ids[i].tag_len <= 1024,
                     "call id %lld with a tag of %zu bytes", (long long)c->ids[i].node_id, c->ids[i].tag_len);
            buf_printf(b, "%s%lld*%.*s", i ? "," : "", (long long)c->ids[i].node_id, (int)c->ids[i].tag_len,
                       c->ids[i].tag);
        }
    } else {
        for (size_t i = 0; i < c->nvals; i++) buf_printf(b, "%s%lld", i ? "," : "", (long long)c->vals[i]);
    }
}

static bool same_condition(const query_cond *a, const query_cond *b)
{
    if (a->kind != b->kind || a->rel != b->rel || a->attr != b->attr || a->nvals != b->nvals ||
        a->nids != b->nids || a->nstrs != b->nstrs)
        return false;
    if (a->nvals && memcmp(a->vals, b->vals, a->nvals * sizeof *a->vals) != 0) return false;
    for (size_t i = 0; i < a->nstrs; i++)
        if (a->strs[i].len != b->strs[i].len || memcmp(a->strs[i].s, b->strs[i].s, a->strs[i].len) != 0)
            return false;
    for (size_t i = 0; i < a->nids; i++)
        if (a->ids[i].node_id != b->ids[i].node_id || a->ids[i].tag_len != b->ids[i].tag_len ||
            memcmp(a->ids[i].tag, b->ids[i].tag, a->ids[i].tag_len) != 0)
            return false;
    return true;
}

/* An item of an accepted list, spaces and tabs around it aside, is a
 * strict decimal integer: an optional sign, then digits only. */
static bool strict_integer(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n && (*s == '+' || *s == '-')) s++, n--;
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* Each comma item of an accepted value: a strict integer, or for
 * filter[id] a call id whose node part is digits only; for a string
 * filter a non-empty string, kept JSON-escaped for attributes (as records
 * keep them) or as it is for the local tag; for connected, true or false. */
static void check_items(const char *value, const query_cond *c)
{
    cond_kind kind = c->kind;
    if (kind == COND_CONNECTED) {
        FZ_CHECK(strcmp(value, "true") == 0 || strcmp(value, "false") == 0, "connected=%s", value);
        return;
    }
    if (kind == COND_ATTR_PREFIX || kind == COND_ATTR_EQ || kind == COND_TAG_EQ) {
        const char *next = value, *item;
        size_t len, i = 0;
        for (; query_list_next(&next, &item, &len); i++) {
            FZ_CHECK(len > 0 && i < c->nstrs, "string item %zu of '%s'", i, value);
            buf want;
            buf_init(&want);
            if (kind == COND_TAG_EQ)
                buf_append(&want, item, len);
            else
                buf_put_json_chars(&want, item, len);
            FZ_CHECK(want.len == c->strs[i].len && memcmp(want.data, c->strs[i].s, want.len) == 0,
                     "string item %zu of '%s' is kept as '%.*s'", i, value, (int)c->strs[i].len,
                     c->strs[i].s);
            buf_free(&want);
        }
        FZ_CHECK(i == c->nstrs, "%zu strings for %zu items", c->nstrs, i);
        return;
    }
    for (const char *p = value;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (kind == COND_ID_IN) {
            while (len && *p == ' ') p++, len--;
            const char *star = len ? memchr(p, '*', len) : NULL;
            FZ_CHECK(star && strict_integer(p, (size_t)(star - p)) && *p != '+' && *p != '-',
                     "accepted call id '%.*s'", (int)len, p);
        } else {
            FZ_CHECK(strict_integer(p, len), "accepted integer '%.*s'", (int)len, p);
        }
        if (!comma) break;
        p = comma + 1;
    }
}

/* The rules for a node: as many as said, each <field><op><integer> with a
 * field and an operator sems-yeti knows, in one block. */
static void check_rules(const listing_query *f)
{
    char **rules = NULL;
    size_t n = listing_query_rules(f, &rules);
    FZ_CHECK((n == 0) == (rules == NULL), "%zu rules in %p", n, (void *)rules);
    for (size_t i = 0; i < n; i++) {
        char field[64], op[3];
        long long v;
        int end = 0;
        FZ_CHECK(sscanf(rules[i], "%63[a-z_]%2[<>=!]%lld%n", field, op, &v, &end) == 3 &&
                     rules[i][end] == '\0' && v >= INT32_MIN && v <= INT32_MAX,
                 "rule '%s'", rules[i]);
        bool rel = false;
        for (int k = 0; k < REL_FROM_RECORD; k++) rel |= strcmp(field, call_rels[k].field) == 0;
        FZ_CHECK((rel && strcmp(op, "=") == 0 && v >= 1) ||
                     (strcmp(field, "duration") == 0 && (strcmp(op, ">=") == 0 || strcmp(op, "<=") == 0)) ||
                     strcmp(rules[i], "connect_time>0") == 0,
                 "rule '%s'", rules[i]);
    }
    free(rules);
}

/* Accepted sort keys, page and group-by keys are well formed. */
static void check_sort_page_group(const api_params *p, params_kind kind)
{
    FZ_CHECK(p->sort.n <= SORT_KEYS_MAX, "%zu sort keys", p->sort.n);
    for (size_t i = 0; i < p->sort.n; i++) {
        int key = p->sort.keys[i].key;
        FZ_CHECK(kind == PARAMS_LISTING ? key >= 0 && key < ATTR_COUNT : key == 0 || key == 1, "sort key %d",
                 key);
        for (size_t j = 0; j < i; j++) FZ_CHECK(p->sort.keys[j].key != key, "sort key %d twice", key);
    }
    if (p->page.given)
        FZ_CHECK(p->page.number >= 1 && p->page.size >= 1 && p->page.size <= MAX_PAGE, "page %lld of %lld",
                 (long long)p->page.number, (long long)p->page.size);
    FZ_CHECK(p->ngroup <= REL_COUNT && (kind == PARAMS_COUNTS || p->ngroup == 0), "%zu group-by keys",
             p->ngroup);
    for (size_t i = 0; i < p->ngroup; i++) {
        FZ_CHECK(p->group[i] >= 0 && p->group[i] < REL_COUNT, "group-by key %d", p->group[i]);
        for (size_t j = 0; j < i; j++)
            FZ_CHECK(p->group[j] != p->group[i], "group-by key %d twice", p->group[i]);
    }
}

static void check_filters(const query *q, const listing_query *f)
{
    query canon = {.n = 0};
    size_t k = 0;
    for (size_t i = 0; i < q->n; i++) {
        if (strncmp(q->params[i].key, "filter[", 7) != 0) continue;
        FZ_CHECK(k < f->n, "fewer conditions (%zu) than filter parameters", f->n);
        check_items(q->params[i].value, &f->conds[k]);
        buf v;
        buf_init(&v);
        put_condition(&v, &f->conds[k], q->params[i].value);
        k++;
        canon.params[canon.n++] = (query_param){fz_strndup(q->params[i].key, strlen(q->params[i].key)),
                                                fz_strndup(v.data ? v.data : "", v.len)};
        buf_free(&v);
    }
    FZ_CHECK(k == f->n, "%zu conditions for %zu filter parameters", f->n, k);
    api_params again;
    http_response res;
    FZ_CHECK(run(&canon, PARAMS_LISTING, true, &again, &res), "the canonical filters are refused: %.300s",
             res.body.data ? res.body.data : "");
    FZ_CHECK(again.filters.n == f->n, "canonical filters: %zu conditions, not %zu", again.filters.n, f->n);
    for (size_t i = 0; i < f->n; i++)
        FZ_CHECK(same_condition(&f->conds[i], &again.filters.conds[i]),
                 "condition %zu changes when written back", i);
    api_params_free(&again);
    buf_free(&res.body);
    query_free(&canon);
    check_rules(f);
}

/* ---- include ----------------------------------------------------------------------- */

/* The relationship name of tree node k's last step. */
static const char *step_name(const include_tree *t, int k)
{
    const include_node *nd = &t->nodes[k];
    if (nd->parent < 0) return call_rels[nd->rel].name;
    return res_types[t->nodes[nd->parent].type].cols[nd->rel].rel_name;
}

static void put_path(buf *b, const include_tree *t, int k)
{
    if (t->nodes[k].parent >= 0) {
        put_path(b, t, t->nodes[k].parent);
        buf_putc(b, '.');
    }
    buf_puts(b, step_name(t, k));
}

static void check_include(const include_tree *t)
{
    FZ_CHECK(t->n >= 0 && t->n <= INCLUDE_MAX_NODES, "%d include nodes", t->n);
    uint32_t first_steps = 0;
    buf paths;
    buf_init(&paths);
    for (int k = 0; k < t->n; k++) {
        const include_node *nd = &t->nodes[k];
        FZ_CHECK(nd->parent >= -1 && nd->parent < k, "node %d has parent %d", k, nd->parent);
        int depth = 1;
        for (int p = nd->parent; p >= 0; p = t->nodes[p].parent) depth++;
        FZ_CHECK(depth <= INCLUDE_MAX_DEPTH, "node %d is %d steps deep", k, depth);
        const char *target;
        if (nd->parent < 0) {
            FZ_CHECK(nd->rel >= 0 && nd->rel < REL_COUNT, "node %d: call relationship %d", k, nd->rel);
            first_steps |= 1u << nd->rel;
            target = call_rels[nd->rel].type;
        } else {
            const res_type *pt = &res_types[t->nodes[nd->parent].type];
            FZ_CHECK(nd->rel >= 0 && (size_t)nd->rel < pt->ncols && pt->cols[nd->rel].kind == COL_REL,
                     "node %d: column %d of %s is no relationship", k, nd->rel, pt->type);
            target = pt->cols[nd->rel].rel_type;
        }
        FZ_CHECK(nd->type == res_type_find(target, strlen(target)), "node %d reaches type %d, not %s", k,
                 nd->type, target);
        if (k) buf_putc(&paths, ',');
        put_path(&paths, t, k);
    }
    FZ_CHECK(first_steps == t->call_rels, "call_rels %x, first steps %x", t->call_rels, first_steps);
    char *text = buf_steal(&paths);
    FZ_CHECK(text != NULL, "out of memory");
    include_tree again;
    include_init(&again);
    jsonapi_errors errs;
    jerr_init(&errs);
    include_parse(&again, text, &errs);
    FZ_CHECK(errs.n == 0, "the written-back include '%s' is refused", text);
    FZ_CHECK(again.n == t->n && again.call_rels == t->call_rels &&
                 (t->n == 0 || memcmp(again.nodes, t->nodes, (size_t)t->n * sizeof t->nodes[0]) == 0),
             "include '%s' parses to another tree", text);
    jerr_free(&errs);
    free(text);
}

/* ---- fields ------------------------------------------------------------------------ */

static void put_fields(buf *b, int type, uint64_t mask)
{
    int nbits = type < 0 ? ATTR_COUNT + REL_COUNT : (int)res_types[type].ncols;
    for (int bit = 0; bit < 64; bit++) {
        if (!fields_has(mask, bit)) continue;
        FZ_CHECK(bit < nbits, "field bit %d of %d set for type %d", bit, nbits, type);
        char tmp[64];
        const char *name = type >= 0 ? res_col_name(&res_types[type].cols[bit], tmp)
            : bit < ATTR_COUNT       ? call_attrs[bit].name
                                     : call_rels[bit - ATTR_COUNT].name;
        if (b->len) buf_putc(b, ',');
        buf_puts(b, name);
    }
}

static void check_fields(const fieldsets *f)
{
    for (int type = -1; type < RT_COUNT; type++) {
        uint64_t mask = type < 0 ? f->calls : f->types[type];
        if (mask == FIELDS_ALL) continue;
        buf kb, vb;
        buf_init(&kb);
        buf_init(&vb);
        buf_printf(&kb, "fields[%s]", type < 0 ? "active-calls" : res_types[type].type);
        put_fields(&vb, type, mask);
        char *key = buf_steal(&kb), *value = buf_steal(&vb);
        FZ_CHECK(key && value, "out of memory");
        fieldsets again;
        fieldsets_init(&again);
        jsonapi_errors errs;
        jerr_init(&errs);
        fieldsets_parse(&again, key, value, &errs);
        FZ_CHECK(errs.n == 0, "the written-back %s=%s is refused", key, value);
        uint64_t back = type < 0 ? again.calls : again.types[type];
        FZ_CHECK(back == mask, "%s: mask %llx parses back as %llx", key, (unsigned long long)mask,
                 (unsigned long long)back);
        jerr_free(&errs);
        free(key);
        free(value);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    static const params_kind kinds[4] = {PARAMS_LISTING, PARAMS_CALL, PARAMS_CALL, PARAMS_COUNTS};
    int pick = fz_u8(&in) % 4;
    params_kind kind = kinds[pick];
    bool allow_include = pick < 2;
    static query q; /* 4 KiB of pointers: not on the stack */
    query_split(&q, &in);

    api_params p;
    http_response res;
    bool ok = run(&q, kind, allow_include, &p, &res);
    bool all_known = true;
    for (size_t i = 0; i < q.n; i++) all_known &= known_param(q.params[i].key, kind, allow_include);
    if (!all_known) FZ_CHECK(!ok, "a parameter the endpoint does not take was accepted");
    if (!ok) {
        check_error_document(&res);
    } else {
        FZ_CHECK(res.body.len == 0, "an accepted query wrote a body");
        if (kind != PARAMS_CALL)
            check_filters(&q, &p.filters);
        else
            FZ_CHECK(p.filters.n == 0 && p.sort.n == 0 && !p.page.given, "filters, sort or page on one call");
        check_sort_page_group(&p, kind);
        check_include(&p.include);
        if (!allow_include) FZ_CHECK(p.include.n == 0, "include where it is not taken");
        check_fields(&p.fields);
    }
    api_params_free(&p);
    buf_free(&res.body);
    query_free(&q);
    return 0;
}
