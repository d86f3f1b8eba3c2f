/* test_included: api/included.c (batched resolution of include paths) and
 * the related-resource side of jsonapi/document.c (doc_related_resource,
 * doc_linkage, doc_call_resource with doc_call_opts), on the SQLite store
 * filled with the demo data set (pops 1..2, nodes 1..2, store_demo_data).
 *
 * The key property: with all 18 relationships and the nested paths
 * customer.smtp-connection, vendor-acc.contractor,
 * customer-auth.account.contractor, dialpeer.vendor, node.pop and
 * term-gw.pop included, included_resolve runs the same number of store
 * queries (store_query_count before/after) for 1, 5 and 5,000 calls (built
 * by hand, ids cycling through the tools/nodesim/demo_ids.h ranges), and
 * that number is the number of distinct types reached (<= 14). What
 * included_write prints is compared with an oracle that walks every path
 * of every call over the whole store (read beforehand): each reached
 * (type, id) printed exactly once, nothing else (include=customer prints
 * only the calls' customers, no smtp-connections), ids absent from the
 * store simply absent, no lookups for ids nobody has. Each of the 49
 * valid paths alone is checked the same way (5 and 500 calls). A store failure is
 * reported, not hidden.
 *
 * doc_related_resource: byte-exact contractors, then every column kind
 * (decimal strings "1520.75", booleans, inet lists as string arrays, NULL
 * → null, ISO time strings, integers, bad stored text), relationships with
 * linkage "data" only, fields masks over attributes and relationships, and
 * for every demo row of every type: valid JSON, the contract (docs/CONTRACT.md) fields only, no
 * secret column name or secret value (read from the file) anywhere.
 * doc_call_resource: "data" only for linkage bits, null for CALL_ID_NONE,
 * "node" linked to the node id, fields masks. A relationship id stored in a
 * row (" 5", "+5", "05", overflow, INT64_MAX, ...) gives the same answer
 * to the linkage and to `included` (call_rel_id_parse). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/demo_ids.h"
#include "api/included.h"
#include "jsonapi/document.h"
#include "jsonapi/errors.h"
#include "jsonapi/fields.h"
#include "jsonapi/include.h"
#include "model/calls.h"
#include "store/resources.h"
#include "store/store.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ID 128 /* every demo id (and node id) is below this */
#define BASE "http://example.org"

/* All 18 relationships plus nested paths through every related type. */
#define INCLUDE_ALL                                                                              \
    "customer,vendor,customer-acc,vendor-acc,customer-auth,rateplan,destination,routing-group,"  \
    "routing-plan,dialpeer,orig-gw,term-gw,src-country,src-network,dst-country,dst-network,pop," \
    "node,customer.smtp-connection,vendor-acc.contractor,customer-auth.account.contractor,"      \
    "dialpeer.vendor,node.pop,term-gw.pop"

static const doc_base base = {BASE, sizeof BASE - 1};

/* docs/CONTRACT.md §2: the type of each call relationship, in order. */
static const char *const spec_rel_types[REL_COUNT] = {
    "contractors", "contractors",  "accounts",       "accounts",      "customers-auths",
    "rateplans",   "destinations", "routing-groups", "routing-plans", "dialpeers",
    "gateways",    "gateways",     "countries",      "networks",      "countries",
    "networks",    "pops",         "nodes",
};

/* ---- fixture ---------------------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
    char path[128];
    store *s;
    /* the whole store, read once before anything is measured */
    res_rows all[RT_COUNT];
    const res_row *by_id[RT_COUNT][MAX_ID];
} fixture;

static void add_pop(store *s, int64_t id, const char *name)
{
    char err[STORE_ERR_LEN] = "";
    store_pop p;
    memset(&p, 0, sizeof p);
    p.id = id;
    snprintf(p.name, sizeof p.name, "%s", name);
    if (store_pop_add(s, &p, err) != STORE_OK) fail_msg("pop add: %s", err);
}

static void add_node(store *s, int64_t id, int64_t pop)
{
    char err[STORE_ERR_LEN] = "";
    store_node n;
    memset(&n, 0, sizeof n);
    n.id = id;
    n.pop_id = pop;
    snprintf(n.name, sizeof n.name, "node-%lld", (long long)id);
    snprintf(n.rpc_endpoint, sizeof n.rpc_endpoint, "127.0.0.1:%d", 7000 + (int)id);
    if (store_node_add(s, &n, err) != STORE_OK) fail_msg("node add: %s", err);
}

static void load_all(fixture *f)
{
    int64_t ids[MAX_ID - 1];
    for (int i = 0; i < MAX_ID - 1; i++) ids[i] = i + 1;
    for (int t = 0; t < RT_COUNT; t++) {
        char err[STORE_ERR_LEN] = "";
        if (store_fetch(f->s, (res_type_id)t, ids, COUNT_OF(ids), &f->all[t], err) != STORE_OK)
            fail_msg("fetch %s: %s", res_types[t].type, err);
        for (size_t i = 0; i < f->all[t].n; i++) {
            const res_row *r = &f->all[t].rows[i];
            assert_true(r->id > 0 && r->id < MAX_ID);
            f->by_id[t][r->id] = r;
        }
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/acinc-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/test.db", f->dir);
    char err[STORE_ERR_LEN] = "";
    f->s = store_open(f->path, err);
    if (!f->s) {
        fprintf(stderr, "store_open: %s\n", err);
        return -1;
    }
    *state = f;
    add_pop(f->s, 1, "Kyiv");
    add_pop(f->s, 2, "Frankfurt");
    add_node(f->s, 1, 1);
    add_node(f->s, 2, 2);
    if (store_demo_data(f->s, err) != STORE_OK) fail_msg("store_demo_data: %s", err);
    load_all(f);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int t = 0; t < RT_COUNT; t++) res_rows_free(&f->all[t]);
    store_close(f->s);
    const char *files[] = {"test.db", "test.db-wal", "test.db-shm", "test.db-journal"};
    for (size_t i = 0; i < COUNT_OF(files); i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- calls ------------------------------------------------------------------------------ */

typedef struct calls {
    callset cs;
    call_ref_rec *refs;
    size_t n;
} calls;

static call_span arena_text(callset *cs, const char *s)
{
    call_span sp = {(uint32_t)cs->arena.len, (uint32_t)strlen(s)};
    buf_append(&cs->arena, s, strlen(s));
    assert_false(cs->arena.oom);
    return sp;
}

/* n calls whose ids cycle through the demo ranges, coherent as nodesim's:
 * auth A gives customer/customer-acc/customer-auth/orig-gw A, dialpeer D
 * gives vendor/vendor-acc/term-gw demo_dp_vendor(D). Node and pop 1..2. */
static void make_calls(calls *c, size_t n)
{
    callset_init(&c->cs);
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        call_record *r = callset_push(&c->cs);
        assert_non_null(r);
        char tag[32];
        snprintf(tag, sizeof tag, "tag-%zu", i);
        r->tag = arena_text(&c->cs, tag);
        int a = (int)(i % DEMO_AUTH_LAST) + 1;
        int d = (int)(i % DEMO_DIALPEER_LAST) + 1;
        int64_t *id = r->rel_id;
        id[REL_CUSTOMER] = id[REL_CUSTOMER_ACC] = id[REL_CUSTOMER_AUTH] = id[REL_ORIG_GW] = a;
        id[REL_VENDOR] = id[REL_VENDOR_ACC] = id[REL_TERM_GW] = demo_dp_vendor(d);
        id[REL_DIALPEER] = d;
        id[REL_RATEPLAN] = demo_auth_rateplan(a);
        id[REL_ROUTING_PLAN] = demo_auth_routing_plan(a);
        id[REL_ROUTING_GROUP] = demo_dp_routing_group(d);
        id[REL_DESTINATION] = (int64_t)(i % DEMO_DESTINATION_LAST) + 1;
        id[REL_SRC_COUNTRY] = (int64_t)(i % DEMO_COUNTRY_LAST) + 1;
        id[REL_DST_COUNTRY] = (int64_t)((i + 3) % DEMO_COUNTRY_LAST) + 1;
        id[REL_SRC_NETWORK] = (int64_t)(i % DEMO_NETWORK_LAST) + 1;
        id[REL_DST_NETWORK] = (int64_t)((i + 7) % DEMO_NETWORK_LAST) + 1;
        id[REL_POP] = (int64_t)(i % 2) + 1;
    }
    c->refs = calloc(n ? n : 1, sizeof *c->refs);
    assert_non_null(c->refs);
    for (size_t i = 0; i < n; i++) c->refs[i] = (call_ref_rec){(int64_t)(i % 2) + 1, &c->cs.recs[i], 0};
}

static void free_calls(calls *c)
{
    callset_free(&c->cs);
    free(c->refs);
}

/* ---- resolving and writing -------------------------------------------------------------- */

static void tree_of(include_tree *t, const char *value)
{
    include_init(t);
    jsonapi_errors e;
    jerr_init(&e);
    include_parse(t, value, &e);
    if (e.n) fail_msg("include=%s: %.*s", value, (int)e.items.len, e.items.data);
    jerr_free(&e);
}

/* Resolves `value` for the calls; returns the store queries it ran. */
static uint64_t resolve(fixture *f, included *inc, const char *value, const calls *c)
{
    include_tree t;
    tree_of(&t, value);
    char err[STORE_ERR_LEN] = "";
    uint64_t before = store_query_count(f->s);
    if (included_resolve(inc, f->s, &t, c->refs, c->n, err) != 0) fail_msg("resolve: %s", err);
    return store_query_count(f->s) - before;
}

/* What included_write prints, as a JSON array; *count is its return. */
static json_t *written(const included *inc, const fieldsets *fs, size_t *count)
{
    fieldsets all;
    fieldsets_init(&all);
    buf out;
    buf_init(&out);
    buf_putc(&out, '[');
    size_t n = included_write(inc, &out, base, fs ? fs : &all);
    buf_putc(&out, ']');
    assert_false(out.oom);
    json_error_t jerr;
    json_t *arr = json_loadb(out.data, out.len, 0, &jerr);
    if (!arr) fail_msg("included is not JSON (%s): %.*s", jerr.text, (int)out.len, out.data);
    buf_free(&out);
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), n);
    if (count) *count = n;
    return arr;
}

/* ---- the oracle: every path of every call walked over the whole store ------------------ */

typedef struct reach {
    bool mark[RT_COUNT][MAX_ID];
    size_t total;
    bool type_used[RT_COUNT];
} reach;

static int64_t id_of(const char *v)
{
    if (!v || !*v) return CALL_ID_NONE;
    char *end;
    long long x = strtoll(v, &end, 10);
    return *end == '\0' && x > 0 ? x : CALL_ID_NONE;
}

static void mark(reach *r, int t, int64_t id)
{
    if (!r->mark[t][id]) {
        r->mark[t][id] = true;
        r->total++;
        r->type_used[t] = true;
    }
}

static void walk(const fixture *f, reach *r, const char *path, int64_t node_id, const call_record *rec)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", path);
    char *save = NULL;
    char *step = strtok_r(copy, ".", &save);
    int k = call_rel_index(step, strlen(step));
    assert_true(k >= 0);
    int64_t id = k == REL_NODE ? node_id : rec->rel_id[k];
    int t = res_type_find(spec_rel_types[k], strlen(spec_rel_types[k]));
    for (;;) {
        if (id == CALL_ID_NONE || id <= 0 || id >= MAX_ID || !f->by_id[t][id]) return;
        mark(r, t, id);
        step = strtok_r(NULL, ".", &save);
        if (!step) return;
        const res_row *row = f->by_id[t][id];
        int col = -1;
        for (size_t i = 0; i < res_types[t].ncols; i++)
            if (res_types[t].cols[i].kind == COL_REL && strcmp(res_types[t].cols[i].rel_name, step) == 0)
                col = (int)i;
        assert_true(col >= 0);
        id = id_of(row->vals[col]);
        const char *rt = res_types[t].cols[col].rel_type;
        t = res_type_find(rt, strlen(rt));
    }
}

static void oracle(const fixture *f, reach *r, const char *include, const calls *c)
{
    memset(r, 0, sizeof *r);
    char copy[2048];
    snprintf(copy, sizeof copy, "%s", include);
    char *save = NULL;
    for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save))
        for (size_t i = 0; i < c->n; i++) walk(f, r, p, c->refs[i].node_id, c->refs[i].rec);
}

static size_t types_used(const reach *r)
{
    size_t n = 0;
    for (int t = 0; t < RT_COUNT; t++) n += r->type_used[t];
    return n;
}

/* The written resources are exactly the oracle's, each once. */
static void check_against(const reach *r, json_t *arr)
{
    static bool seen[RT_COUNT][MAX_ID];
    memset(seen, 0, sizeof seen);
    size_t i;
    json_t *res;
    json_array_foreach(arr, i, res)
    {
        const char *type = json_string_value(json_object_get(res, "type"));
        const char *ids = json_string_value(json_object_get(res, "id"));
        assert_non_null(type);
        assert_non_null(ids);
        int t = res_type_find(type, strlen(type));
        if (t < 0) fail_msg("unknown type %s", type);
        int64_t id = id_of(ids);
        assert_true(id > 0 && id < MAX_ID);
        if (seen[t][id]) fail_msg("%s %s written twice", type, ids);
        seen[t][id] = true;
        if (!r->mark[t][id]) fail_msg("%s %s written but not reached", type, ids);
    }
    if (json_array_size(arr) != r->total)
        fail_msg("%zu written, %zu reached", json_array_size(arr), r->total);
}

/* Every printed resource: the documented shape. */
static void check_shape(json_t *res)
{
    assert_true(json_is_object(res));
    const char *type = json_string_value(json_object_get(res, "type"));
    const char *id = json_string_value(json_object_get(res, "id"));
    assert_non_null(type);
    assert_non_null(id);
    char self[256];
    snprintf(self, sizeof self, BASE "/api/rest/admin/%s/%s", type, id);
    json_t *links = json_object_get(res, "links");
    assert_int_equal(json_object_size(links), 1);
    assert_string_equal(json_string_value(json_object_get(links, "self")), self);
    assert_true(json_is_object(json_object_get(res, "attributes")));
    json_t *rels = json_object_get(res, "relationships");
    if (rels) {
        const char *name;
        json_t *rel;
        json_object_foreach(rels, name, rel)
        {
            assert_int_equal(json_object_size(rel), 1); /* data only, no links */
            json_t *data = json_object_get(rel, "data");
            assert_non_null(data);
            if (!json_is_null(data)) {
                assert_int_equal(json_object_size(data), 2);
                assert_true(json_is_string(json_object_get(data, "type")));
                assert_true(json_is_string(json_object_get(data, "id")));
            }
        }
    }
    size_t keys = 4 + (rels != NULL);
    assert_int_equal(json_object_size(res), keys);
}

static json_t *find_res(json_t *arr, const char *type, const char *id)
{
    size_t i;
    json_t *res;
    json_array_foreach(arr, i, res)
    {
        if (strcmp(json_string_value(json_object_get(res, "type")), type) == 0 &&
            strcmp(json_string_value(json_object_get(res, "id")), id) == 0)
            return res;
    }
    return NULL;
}

static size_t count_type(json_t *arr, const char *type)
{
    size_t i, n = 0;
    json_t *res;
    json_array_foreach(arr, i, res) n += strcmp(json_string_value(json_object_get(res, "type")), type) == 0;
    return n;
}

/* ---- included_resolve / included_write --------------------------------------------------- */

/* THE KEY TEST: the lookups do not grow with the calls. */
static void test_query_count_constant(void **state)
{
    fixture *f = *state;
    const size_t sizes[] = {1, 5, 5000};
    uint64_t deltas[COUNT_OF(sizes)];
    for (size_t s = 0; s < COUNT_OF(sizes); s++) {
        calls c;
        make_calls(&c, sizes[s]);
        included inc;
        deltas[s] = resolve(f, &inc, INCLUDE_ALL, &c);
        reach r;
        oracle(f, &r, INCLUDE_ALL, &c);
        size_t n = 0;
        json_t *arr = written(&inc, NULL, &n);
        check_against(&r, arr);
        size_t i;
        json_t *res;
        json_array_foreach(arr, i, res) check_shape(res);
        /* one query per type reached, every type reached */
        if (deltas[s] != types_used(&r))
            fail_msg("%zu calls: %llu queries for %zu types", sizes[s], (unsigned long long)deltas[s],
                     types_used(&r));
        assert_int_equal(types_used(&r), RT_COUNT);
        assert_true(deltas[s] <= RT_COUNT);
        json_decref(arr);
        included_free(&inc);
        free_calls(&c);
    }
    assert_true(deltas[0] == deltas[1]);
    assert_true(deltas[1] == deltas[2]);
}

/* Every valid path (depth 1..3) alone, for 5 and 500 calls: exactly the
 * oracle's resources, one query per type reached, whatever the count
 * (a type reached only through another must still be fetched after it). */
static void add_paths(char paths[][96], size_t *n, const char *prefix, int type, int depth)
{
    if (depth == INCLUDE_MAX_DEPTH) return;
    for (size_t i = 0; i < res_types[type].ncols; i++) {
        const res_col *c = &res_types[type].cols[i];
        if (c->kind != COL_REL) continue;
        snprintf(paths[*n], 96, "%s.%s", prefix, c->rel_name);
        const char *here = paths[(*n)++];
        add_paths(paths, n, here, res_type_find(c->rel_type, strlen(c->rel_type)), depth + 1);
    }
}

static void test_every_path_alone(void **state)
{
    fixture *f = *state;
    static char paths[64][96];
    size_t n = 0;
    for (int k = 0; k < REL_COUNT; k++) {
        snprintf(paths[n], 96, "%s", call_rels[k].name);
        const char *here = paths[n++];
        add_paths(paths, &n, here, res_type_find(spec_rel_types[k], strlen(spec_rel_types[k])), 1);
    }
    assert_int_equal(n, 49);
    calls small, big;
    make_calls(&small, 5);
    make_calls(&big, 500);
    for (size_t p = 0; p < n; p++) {
        uint64_t q[2];
        const calls *set[2] = {&small, &big};
        for (int s = 0; s < 2; s++) {
            reach r;
            oracle(f, &r, paths[p], set[s]);
            included inc;
            q[s] = resolve(f, &inc, paths[p], set[s]);
            json_t *arr = written(&inc, NULL, NULL);
            check_against(&r, arr);
            if (q[s] != types_used(&r))
                fail_msg("include=%s: %llu queries for %zu types", paths[p], (unsigned long long)q[s],
                         types_used(&r));
            json_decref(arr);
            included_free(&inc);
        }
        if (q[0] != q[1])
            fail_msg("include=%s: %llu vs %llu queries", paths[p], (unsigned long long)q[0],
                     (unsigned long long)q[1]);
    }
    free_calls(&small);
    free_calls(&big);
}

/* With 5,000 calls every demo row some path reaches is printed. */
static void test_all_reached_rows(void **state)
{
    fixture *f = *state;
    calls c;
    make_calls(&c, 5000);
    included inc;
    resolve(f, &inc, INCLUDE_ALL, &c);
    json_t *arr = written(&inc, NULL, NULL);
    assert_int_equal(count_type(arr, "contractors"), 8);
    assert_int_equal(count_type(arr, "accounts"), 8);
    assert_int_equal(count_type(arr, "customers-auths"), 4);
    assert_int_equal(count_type(arr, "gateways"), 8);
    assert_int_equal(count_type(arr, "dialpeers"), 20);
    assert_int_equal(count_type(arr, "destinations"), 20);
    assert_int_equal(count_type(arr, "rateplans"), 3);
    assert_int_equal(count_type(arr, "routing-plans"), 3);
    assert_int_equal(count_type(arr, "routing-groups"), 3);
    assert_int_equal(count_type(arr, "countries"), 10);
    assert_int_equal(count_type(arr, "networks"), 20);
    assert_int_equal(count_type(arr, "pops"), 2);
    assert_int_equal(count_type(arr, "nodes"), 2);
    assert_int_equal(count_type(arr, "smtp-connections"), 2);
    json_decref(arr);
    included_free(&inc);
    free_calls(&c);
}

/* include=customer: only contractors that are some call's customer. */
static void test_only_requested(void **state)
{
    fixture *f = *state;
    calls c;
    make_calls(&c, 5000);
    for (size_t i = 0; i < c.n; i++) c.cs.recs[i].rel_id[REL_CUSTOMER] = (int64_t)(i % 3) + 1;
    included inc;
    assert_int_equal(resolve(f, &inc, "customer", &c), 1);
    json_t *arr = written(&inc, NULL, NULL);
    assert_int_equal(json_array_size(arr), 3);
    assert_non_null(find_res(arr, "contractors", "1"));
    assert_non_null(find_res(arr, "contractors", "2"));
    assert_non_null(find_res(arr, "contractors", "3"));
    assert_int_equal(count_type(arr, "smtp-connections"), 0);
    json_decref(arr);
    included_free(&inc);

    /* an intermediate step is included, what lies beyond the path is not */
    for (size_t i = 0; i < c.n; i++) c.cs.recs[i].rel_id[REL_CUSTOMER_AUTH] = (int64_t)(i % 2) + 1;
    assert_int_equal(resolve(f, &inc, "customer-auth.account", &c), 2);
    arr = written(&inc, NULL, NULL);
    assert_int_equal(json_array_size(arr), 4);
    assert_non_null(find_res(arr, "customers-auths", "1"));
    assert_non_null(find_res(arr, "customers-auths", "2"));
    assert_non_null(find_res(arr, "accounts", "1"));
    assert_non_null(find_res(arr, "accounts", "2"));
    json_decref(arr);
    included_free(&inc);

    /* nested only through vendors: vendor contractors, their smtp-connections */
    reach r;
    oracle(f, &r, "vendor.smtp-connection", &c);
    assert_int_equal(resolve(f, &inc, "vendor.smtp-connection", &c), 2);
    arr = written(&inc, NULL, NULL);
    check_against(&r, arr);
    assert_int_equal(count_type(arr, "contractors"), 4);
    assert_null(find_res(arr, "contractors", "1"));
    assert_non_null(find_res(arr, "smtp-connections", "2")); /* vendors 5,6,8 use 2 */
    assert_null(find_res(arr, "smtp-connections", "1"));
    json_decref(arr);
    included_free(&inc);
    free_calls(&c);
}

/* Nested steps from rows without the id: no lookup for that type. */
static void test_null_nested_id(void **state)
{
    fixture *f = *state;
    calls c;
    make_calls(&c, 50);
    for (size_t i = 0; i < c.n; i++) c.cs.recs[i].rel_id[REL_CUSTOMER] = 4; /* no smtp */
    included inc;
    assert_int_equal(resolve(f, &inc, "customer.smtp-connection", &c), 1);
    json_t *arr = written(&inc, NULL, NULL);
    assert_int_equal(json_array_size(arr), 1);
    assert_non_null(find_res(arr, "contractors", "4"));
    json_decref(arr);
    included_free(&inc);

    /* customers-auths have pop_id NULL */
    assert_int_equal(resolve(f, &inc, "customer-auth.pop", &c), 1);
    arr = written(&inc, NULL, NULL);
    assert_int_equal(count_type(arr, "pops"), 0);
    assert_int_equal(count_type(arr, "customers-auths"), 4);
    json_decref(arr);
    included_free(&inc);
    free_calls(&c);
}

static void test_ids_missing_from_store(void **state)
{
    fixture *f = *state;
    calls c;
    make_calls(&c, 10);
    for (size_t i = 0; i < c.n; i++) {
        call_record *r = &c.cs.recs[i];
        bool gone = i % 2 == 0;
        r->rel_id[REL_CUSTOMER] = gone ? 999 : 2;
        r->rel_id[REL_DIALPEER] = gone ? 12345 : 3;
        r->rel_id[REL_SRC_COUNTRY] = gone ? 77 : 1;
        c.refs[i].node_id = gone ? 55 : 2;
    }
    const char *inc_value = "customer.smtp-connection,dialpeer.vendor,src-country,node.pop";
    reach r;
    oracle(f, &r, inc_value, &c);
    included inc;
    uint64_t q = resolve(f, &inc, inc_value, &c);
    json_t *arr = written(&inc, NULL, NULL);
    check_against(&r, arr);
    assert_non_null(find_res(arr, "contractors", "2"));
    assert_non_null(find_res(arr, "smtp-connections", "1"));
    assert_non_null(find_res(arr, "dialpeers", "3"));
    assert_non_null(find_res(arr, "contractors", "7")); /* demo_dp_vendor(3) */
    assert_non_null(find_res(arr, "countries", "1"));
    assert_non_null(find_res(arr, "nodes", "2"));
    assert_non_null(find_res(arr, "pops", "2"));
    assert_null(find_res(arr, "contractors", "999"));
    assert_null(find_res(arr, "nodes", "55"));
    assert_int_equal(json_array_size(arr), 7);
    /* contractors, smtp, dialpeers, countries, nodes, pops */
    assert_int_equal(q, 6);
    json_decref(arr);
    included_free(&inc);

    /* everything missing: the first steps are looked up, nothing beyond */
    for (size_t i = 0; i < c.n; i++) {
        c.cs.recs[i].rel_id[REL_CUSTOMER] = 900 + (int64_t)i;
        c.cs.recs[i].rel_id[REL_DIALPEER] = 800;
        c.refs[i].node_id = 99;
    }
    q = resolve(f, &inc, "customer.smtp-connection,dialpeer.vendor,node.pop", &c);
    arr = written(&inc, NULL, NULL);
    assert_int_equal(json_array_size(arr), 0);
    assert_int_equal(q, 3);
    json_decref(arr);
    included_free(&inc);
    free_calls(&c);
}

/* Calls without ids: no lookups at all (the node always has one). */
static void test_no_ids_no_queries(void **state)
{
    fixture *f = *state;
    calls c;
    make_calls(&c, 100);
    for (size_t i = 0; i < c.n; i++)
        for (int k = 0; k < REL_FROM_RECORD; k++) c.cs.recs[i].rel_id[k] = CALL_ID_NONE;
    included inc;
    const char *all_but_node =
        "customer.smtp-connection,vendor,customer-acc,vendor-acc.contractor,"
        "customer-auth.account.contractor,rateplan,destination,routing-group,routing-plan,"
        "dialpeer.vendor,orig-gw,term-gw.pop,src-country,src-network,dst-country,dst-network,pop";
    assert_int_equal(resolve(f, &inc, all_but_node, &c), 0);
    size_t n = 99;
    json_t *arr = written(&inc, NULL, &n);
    assert_int_equal(n, 0);
    json_decref(arr);
    included_free(&inc);

    assert_int_equal(resolve(f, &inc, "node.pop", &c), 2);
    arr = written(&inc, NULL, &n);
    assert_int_equal(n, 4); /* nodes 1, 2 and pops 1, 2 */
    json_decref(arr);
    included_free(&inc);
    free_calls(&c);
}

static void test_empty_tree_and_no_calls(void **state)
{
    fixture *f = *state;
    calls c;
    make_calls(&c, 20);
    included inc;
    include_tree t;
    include_init(&t);
    char err[STORE_ERR_LEN] = "";
    uint64_t before = store_query_count(f->s);
    assert_int_equal(included_resolve(&inc, f->s, &t, c.refs, c.n, err), 0);
    assert_int_equal(store_query_count(f->s), before);
    size_t n = 9;
    json_t *arr = written(&inc, NULL, &n);
    assert_int_equal(n, 0);
    json_decref(arr);
    included_free(&inc);
    included_free(&inc); /* twice is harmless */

    calls none;
    make_calls(&none, 0);
    assert_int_equal(resolve(f, &inc, INCLUDE_ALL, &none), 0);
    arr = written(&inc, NULL, &n);
    assert_int_equal(n, 0);
    json_decref(arr);
    included_free(&inc);
    free_calls(&none);
    free_calls(&c);
}

/* Every path to contractors: each contractor once, one contractors query. */
static void test_dedup_across_paths(void **state)
{
    fixture *f = *state;
    calls c;
    make_calls(&c, 200);
    const char *value = "customer,vendor,customer-auth.customer,dialpeer.vendor,vendor-acc.contractor,"
                        "customer-acc.contractor,orig-gw.contractor,term-gw.contractor,"
                        "customer-auth.gateway.contractor,dialpeer.account.contractor";
    reach r;
    oracle(f, &r, value, &c);
    included inc;
    uint64_t q = resolve(f, &inc, value, &c);
    /* contractors, accounts, customers-auths, dialpeers, gateways */
    assert_int_equal(q, 5);
    assert_int_equal(q, types_used(&r));
    json_t *arr = written(&inc, NULL, NULL);
    check_against(&r, arr);
    assert_int_equal(count_type(arr, "contractors"), 8);
    json_decref(arr);
    included_free(&inc);
    free_calls(&c);
}

/* Sparse fieldsets apply to included resources, per type. */
static void test_write_with_fields(void **state)
{
    fixture *f = *state;
    calls c;
    make_calls(&c, 8);
    included inc;
    resolve(f, &inc, "customer.smtp-connection,node.pop", &c);
    fieldsets fs;
    fieldsets_init(&fs);
    jsonapi_errors e;
    jerr_init(&e);
    fieldsets_parse(&fs, "fields[contractors]", "name", &e);
    fieldsets_parse(&fs, "fields[nodes]", "pop", &e);
    fieldsets_parse(&fs, "fields[pops]", "", &e);
    assert_int_equal(e.n, 0);
    jerr_free(&e);
    json_t *arr = written(&inc, &fs, NULL);
    size_t i;
    json_t *res;
    json_array_foreach(arr, i, res)
    {
        check_shape(res);
        const char *type = json_string_value(json_object_get(res, "type"));
        json_t *attrs = json_object_get(res, "attributes");
        json_t *rels = json_object_get(res, "relationships");
        if (!strcmp(type, "contractors")) {
            assert_int_equal(json_object_size(attrs), 1);
            assert_true(json_is_string(json_object_get(attrs, "name")));
            assert_null(rels);
        } else if (!strcmp(type, "nodes")) {
            assert_int_equal(json_object_size(attrs), 0);
            assert_int_equal(json_object_size(rels), 1);
            assert_non_null(json_object_get(json_object_get(rels, "pop"), "data"));
        } else if (!strcmp(type, "pops")) {
            assert_int_equal(json_object_size(attrs), 0);
            assert_null(rels);
        } else {
            assert_string_equal(type, "smtp-connections");
            assert_int_equal(json_object_size(attrs), 5);
        }
    }
    assert_int_equal(count_type(arr, "smtp-connections"), 2);
    json_decref(arr);
    included_free(&inc);
    free_calls(&c);
}

/* A store failure is an error, not an empty include. */
static void test_store_failure(void **state)
{
    fixture *f = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, "DROP TABLE class4_dialpeers", NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("drop: %s", msg);
    sqlite3_close(db);
    calls c;
    make_calls(&c, 5);
    include_tree t;
    tree_of(&t, "customer,dialpeer.vendor");
    included inc;
    char err[STORE_ERR_LEN] = "";
    assert_int_equal(included_resolve(&inc, f->s, &t, c.refs, c.n, err), -1);
    assert_true(err[0] != '\0');
    included_free(&inc);
    free_calls(&c);
}

/* ---- doc_related_resource ---------------------------------------------------------------- */

static char *related_text(int type, const res_row *row, uint64_t fields)
{
    buf out;
    buf_init(&out);
    doc_related_resource(&out, base, type, row, fields);
    buf_putc(&out, '\0');
    assert_false(out.oom);
    return buf_steal(&out);
}

static json_t *related_json(int type, const res_row *row, uint64_t fields)
{
    char *text = related_text(type, row, fields);
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j) fail_msg("not JSON (%s): %s", jerr.text, text);
    free(text);
    check_shape(j);
    return j;
}

static const res_row *demo_row(const fixture *f, res_type_id t, int64_t id)
{
    const res_row *r = f->by_id[t][id];
    if (!r) fail_msg("%s %lld not in the demo data", res_types[t].type, (long long)id);
    return r;
}

static void test_related_contractor_exact(void **state)
{
    fixture *f = *state;
    char *got = related_text(RT_CONTRACTORS, demo_row(f, RT_CONTRACTORS, 1), FIELDS_ALL);
    assert_string_equal(
        got,
        "{\"id\":\"1\",\"type\":\"contractors\",\"links\":{\"self\":\"http://example.org/api/rest/"
        "admin/contractors/1\"},\"attributes\":{\"name\":\"Atlantic Telecom\",\"enabled\":true,"
        "\"vendor\":false,\"customer\":true,\"description\":\"Retail VoIP operator, Ireland and "
        "UK\",\"address\":\"12 Harbour Road, Cork, Ireland\",\"phones\":\"+44 20 7946 0101\","
        "\"external-id\":1001},\"relationships\":{\"smtp-connection\":{\"data\":{\"type\":"
        "\"smtp-connections\",\"id\":\"1\"}}}}");
    free(got);
    got = related_text(RT_CONTRACTORS, demo_row(f, RT_CONTRACTORS, 4), FIELDS_ALL);
    assert_string_equal(
        got,
        "{\"id\":\"4\",\"type\":\"contractors\",\"links\":{\"self\":\"http://example.org/api/rest/"
        "admin/contractors/4\"},\"attributes\":{\"name\":\"Danube Connect\",\"enabled\":true,"
        "\"vendor\":false,\"customer\":true,\"description\":null,\"address\":null,\"phones\":null,"
        "\"external-id\":null},\"relationships\":{\"smtp-connection\":{\"data\":null}}}");
    free(got);
}

static void expect_str(json_t *obj, const char *key, const char *want)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) fail_msg("%s is not a string", key);
    assert_string_equal(json_string_value(v), want);
}

static void expect_int(json_t *obj, const char *key, json_int_t want)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v)) fail_msg("%s is not an integer", key);
    assert_int_equal(json_integer_value(v), want);
}

static void expect_null(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v || !json_is_null(v)) fail_msg("%s is not null", key);
}

static void expect_bool(json_t *obj, const char *key, bool want)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_boolean(v)) fail_msg("%s is not a boolean", key);
    assert_int_equal(json_is_true(v), want);
}

static void expect_link(json_t *res, const char *rel, const char *type, const char *id)
{
    json_t *data = json_object_get(json_object_get(json_object_get(res, "relationships"), rel), "data");
    assert_non_null(data);
    if (!type) {
        assert_true(json_is_null(data));
        return;
    }
    expect_str(data, "type", type);
    expect_str(data, "id", id);
}

/* Each column kind as the demo data holds it. */
static void test_related_kinds_demo(void **state)
{
    fixture *f = *state;
    json_t *j = related_json(RT_ACCOUNTS, demo_row(f, RT_ACCOUNTS, 1), FIELDS_ALL);
    json_t *a = json_object_get(j, "attributes");
    expect_str(a, "balance", "1520.75");
    expect_str(a, "vat", "23.0");
    expect_str(a, "min-balance", "0.00");
    expect_str(a, "max-balance", "100000.00");
    expect_int(a, "origination-capacity", 60);
    expect_null(a, "termination-capacity");
    expect_int(a, "total-capacity", 60);
    expect_int(a, "external-id", 3001);
    expect_str(a, "timezone", "Europe/Dublin");
    expect_str(a, "name", "Atlantic Telecom prepaid");
    assert_null(json_object_get(a, "contractor"));
    assert_null(json_object_get(a, "contractor-id"));
    expect_link(j, "contractor", "contractors", "1");
    assert_int_equal(json_object_size(a), 11);
    json_decref(j);

    j = related_json(RT_ACCOUNTS, demo_row(f, RT_ACCOUNTS, 2), FIELDS_ALL);
    expect_str(json_object_get(j, "attributes"), "balance", "18250.00");
    json_decref(j);
    j = related_json(RT_ACCOUNTS, demo_row(f, RT_ACCOUNTS, 4), FIELDS_ALL);
    expect_str(json_object_get(j, "attributes"), "balance", "-12.40");
    json_decref(j);

    j = related_json(RT_CUSTOMERS_AUTHS, demo_row(f, RT_CUSTOMERS_AUTHS, 1), FIELDS_ALL);
    a = json_object_get(j, "attributes");
    json_t *ip = json_object_get(a, "ip");
    assert_true(json_is_array(ip));
    assert_int_equal(json_array_size(ip), 2);
    assert_string_equal(json_string_value(json_array_get(ip, 0)), "192.168.81.0/24");
    assert_string_equal(json_string_value(json_array_get(ip, 1)), "203.0.113.10/32");
    expect_str(a, "cps-limit", "10.0");
    expect_bool(a, "reject-calls", false);
    expect_bool(a, "enabled", true);
    expect_int(a, "capacity", 100);
    expect_link(j, "customer", "contractors", "1");
    expect_link(j, "account", "accounts", "1");
    expect_link(j, "rateplan", "rateplans", "1");
    expect_link(j, "routing-plan", "routing-plans", "1");
    expect_link(j, "gateway", "gateways", "1");
    expect_link(j, "pop", NULL, NULL);
    assert_int_equal(json_object_size(json_object_get(j, "relationships")), 6);
    json_decref(j);

    j = related_json(RT_CUSTOMERS_AUTHS, demo_row(f, RT_CUSTOMERS_AUTHS, 3), FIELDS_ALL);
    a = json_object_get(j, "attributes");
    expect_null(a, "cps-limit");
    expect_null(a, "capacity");
    json_decref(j);

    j = related_json(RT_DIALPEERS, demo_row(f, RT_DIALPEERS, 7), FIELDS_ALL);
    a = json_object_get(j, "attributes");
    expect_str(a, "valid-from", "2025-01-01T00:00:00.000Z");
    expect_null(a, "valid-till");
    expect_str(a, "initial-rate", "0.009");
    expect_str(a, "connect-fee", "0.0");
    expect_int(a, "initial-interval", 1);
    expect_link(j, "vendor", "contractors", "7");
    expect_link(j, "gateway", "gateways", "7");
    expect_link(j, "account", "accounts", "7");
    expect_link(j, "routing-group", "routing-groups", "1");
    json_decref(j);

    j = related_json(RT_DESTINATIONS, demo_row(f, RT_DESTINATIONS, 1), FIELDS_ALL);
    a = json_object_get(j, "attributes");
    expect_str(a, "valid-till", "2030-01-01T00:00:00.000Z");
    expect_str(a, "initial-rate", "0.11");
    expect_str(a, "prefix", "380");
    expect_int(a, "rate-policy-id", 1);
    assert_null(json_object_get(j, "relationships"));
    json_decref(j);

    j = related_json(RT_GATEWAYS, demo_row(f, RT_GATEWAYS, 6), FIELDS_ALL);
    a = json_object_get(j, "attributes");
    expect_bool(a, "allow-origination", false);
    expect_bool(a, "allow-termination", true);
    expect_int(a, "port", 5060);
    expect_str(a, "host", "198.51.100.16");
    expect_null(a, "origination-capacity");
    expect_link(j, "contractor", "contractors", "6");
    expect_link(j, "pop", "pops", "2");
    json_decref(j);

    j = related_json(RT_SMTP_CONNECTIONS, demo_row(f, RT_SMTP_CONNECTIONS, 1), FIELDS_ALL);
    a = json_object_get(j, "attributes");
    expect_bool(a, "global", true);
    expect_int(a, "port", 587);
    expect_str(a, "from-address", "billing@example.net");
    assert_int_equal(json_object_size(a), 5);
    assert_null(json_object_get(j, "relationships"));
    json_decref(j);
    j = related_json(RT_SMTP_CONNECTIONS, demo_row(f, RT_SMTP_CONNECTIONS, 2), FIELDS_ALL);
    expect_bool(json_object_get(j, "attributes"), "global", false);
    json_decref(j);

    j = related_json(RT_NODES, demo_row(f, RT_NODES, 2), FIELDS_ALL);
    a = json_object_get(j, "attributes");
    expect_str(a, "name", "node-2");
    expect_str(a, "rpc-endpoint", "127.0.0.1:7002");
    expect_link(j, "pop", "pops", "2");
    json_decref(j);

    j = related_json(RT_COUNTRIES, demo_row(f, RT_COUNTRIES, 3), FIELDS_ALL);
    a = json_object_get(j, "attributes");
    expect_str(a, "name", "United Kingdom");
    expect_str(a, "iso2", "GB");
    assert_null(json_object_get(j, "relationships"));
    json_decref(j);
}

/* Every value the store could hold, by kind (hand-made rows). */
static void test_related_kinds_handmade(void **state)
{
    /* customers-auths: name TEXT, enabled BOOL, customer..pop REL (2..7),
     * ip INETS, reject_calls BOOL, capacity INT, cps_limit DEC, external_id INT */
    assert_int_equal(res_types[RT_CUSTOMERS_AUTHS].ncols, 13);
    static const struct {
        const char *enabled, *reject, *capacity, *ext, *cps, *ip, *customer;
        const char *want_ip;       /* JSON */
        int enabled_is, reject_is; /* 1 true, 0 false, -1 null */
        long long capacity_is;     /* LLONG_MIN: null */
        const char *customer_id;   /* NULL: data null */
    } cases[] = {
        {"t", "f", "42", "-3", "0.11", "10.0.0.1", "7", "[\"10.0.0.1\"]", 1, 0, 42, "7"},
        {"true", "false", "0", "9", "-0.5", "a,,b", "12", "[\"a\",\"b\"]", 1, 0, 0, "12"},
        {"1", "0", "abc", "1", "1520.75", "", "abc", "[]", 1, 0, INT64_MIN, NULL},
        {NULL, NULL, "1.5", "2", "0", ",", "", "[]", -1, -1, INT64_MIN, NULL},
        {"yes", "no", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, INT64_MIN, NULL},
        {"0", "1", "-7", NULL, "3", "2001:db8::/32,10.0.0.0/8", "-4", "[\"2001:db8::/32\",\"10.0.0.0/8\"]", 0,
         1, -7, NULL},
    };
    for (size_t i = 0; i < COUNT_OF(cases); i++) {
        char *vals[13] = {0};
        vals[0] = (char *)"trunk \"A\"\n\x01\xff";
        vals[1] = (char *)cases[i].enabled;
        vals[2] = (char *)cases[i].customer;
        vals[8] = (char *)cases[i].ip;
        vals[9] = (char *)cases[i].reject;
        vals[10] = (char *)cases[i].capacity;
        vals[11] = (char *)cases[i].cps;
        vals[12] = (char *)cases[i].ext;
        res_row row = {1000 + (int64_t)i, vals};
        json_t *j = related_json(RT_CUSTOMERS_AUTHS, &row, FIELDS_ALL);
        json_t *a = json_object_get(j, "attributes");
        assert_int_equal(json_object_size(a), 7);
        expect_str(a, "name", "trunk \"A\"\n\x01\xef\xbf\xbd");
        if (cases[i].enabled_is < 0)
            expect_null(a, "enabled");
        else
            expect_bool(a, "enabled", cases[i].enabled_is);
        if (cases[i].reject_is < 0)
            expect_null(a, "reject-calls");
        else
            expect_bool(a, "reject-calls", cases[i].reject_is);
        if (cases[i].capacity_is == INT64_MIN)
            expect_null(a, "capacity");
        else
            expect_int(a, "capacity", cases[i].capacity_is);
        if (cases[i].cps)
            expect_str(a, "cps-limit", cases[i].cps);
        else
            expect_null(a, "cps-limit");
        if (cases[i].want_ip) {
            json_t *want = json_loads(cases[i].want_ip, 0, NULL);
            assert_true(json_equal(json_object_get(a, "ip"), want));
            json_decref(want);
        } else {
            expect_null(a, "ip");
        }
        expect_link(j, "customer", cases[i].customer_id ? "contractors" : NULL, cases[i].customer_id);
        for (const char *const *rel =
                 (const char *const[]){"account", "rateplan", "routing-plan", "gateway", "pop", NULL};
             *rel; rel++)
            expect_link(j, *rel, NULL, NULL);
        char id[32];
        snprintf(id, sizeof id, "%lld", (long long)row.id);
        expect_str(j, "id", id);
        json_decref(j);
    }

    /* destinations: times are ISO strings as stored */
    char *dvals[12] = {0};
    dvals[9] = (char *)"2026-01-01T00:00:00.000Z";
    dvals[2] = (char *)"0.0125";
    res_row d = {5, dvals};
    json_t *j = related_json(RT_DESTINATIONS, &d, FIELDS_ALL);
    json_t *a = json_object_get(j, "attributes");
    assert_int_equal(json_object_size(a), 12);
    expect_str(a, "valid-from", "2026-01-01T00:00:00.000Z");
    expect_null(a, "valid-till");
    expect_str(a, "initial-rate", "0.0125");
    expect_null(a, "prefix");
    json_decref(j);
}

/* fields masks: attributes and relationships chosen independently. */
static void test_related_fields_mask(void **state)
{
    fixture *f = *state;
    const res_row *ca = demo_row(f, RT_CUSTOMERS_AUTHS, 2);
    fieldsets fs;
    fieldsets_init(&fs);
    jsonapi_errors e;
    jerr_init(&e);
    fieldsets_parse(&fs, "fields[customers-auths]", "name,ip,gateway,pop", &e);
    assert_int_equal(e.n, 0);
    json_t *j = related_json(RT_CUSTOMERS_AUTHS, ca, fs.types[RT_CUSTOMERS_AUTHS]);
    json_t *a = json_object_get(j, "attributes");
    assert_int_equal(json_object_size(a), 2);
    expect_str(a, "name", "Baltic Voice SIP trunk");
    assert_true(json_is_array(json_object_get(a, "ip")));
    json_t *rels = json_object_get(j, "relationships");
    assert_int_equal(json_object_size(rels), 2);
    expect_link(j, "gateway", "gateways", "2");
    expect_link(j, "pop", NULL, NULL);
    json_decref(j);

    /* attributes only: no relationships member */
    fieldsets_parse(&fs, "fields[customers-auths]", "enabled", &e);
    j = related_json(RT_CUSTOMERS_AUTHS, ca, fs.types[RT_CUSTOMERS_AUTHS]);
    assert_int_equal(json_object_size(json_object_get(j, "attributes")), 1);
    assert_null(json_object_get(j, "relationships"));
    json_decref(j);

    /* relationships only */
    fieldsets_parse(&fs, "fields[customers-auths]", "account", &e);
    j = related_json(RT_CUSTOMERS_AUTHS, ca, fs.types[RT_CUSTOMERS_AUTHS]);
    assert_int_equal(json_object_size(json_object_get(j, "attributes")), 0);
    assert_int_equal(json_object_size(json_object_get(j, "relationships")), 1);
    expect_link(j, "account", "accounts", "2");
    json_decref(j);

    /* nothing */
    fieldsets_parse(&fs, "fields[customers-auths]", "", &e);
    assert_true(fs.types[RT_CUSTOMERS_AUTHS] == 0);
    char *text = related_text(RT_CUSTOMERS_AUTHS, ca, 0);
    assert_string_equal(text,
                        "{\"id\":\"2\",\"type\":\"customers-auths\",\"links\":{\"self\":"
                        "\"http://example.org/api/rest/admin/customers-auths/2\"},"
                        "\"attributes\":{}}");
    free(text);
    assert_int_equal(e.n, 0);
    jerr_free(&e);
}

/* Secret values of the demo tables, read straight from the file. */
static size_t read_secrets(const char *path, char secrets[][64], size_t cap)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    const char *sql[] = {
        "SELECT auth_user FROM class4_gateways",
        "SELECT auth_password FROM class4_gateways",
        "SELECT incoming_auth_password FROM class4_gateways",
        "SELECT auth_user FROM sys_smtp_connections",
        "SELECT auth_password FROM sys_smtp_connections",
    };
    size_t n = 0;
    for (size_t q = 0; q < COUNT_OF(sql); q++) {
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, sql[q], -1, &st, NULL), SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *v = sqlite3_column_text(st, 0);
            if (!v || strlen((const char *)v) < 8) continue;
            assert_true(n < cap);
            snprintf(secrets[n++], 64, "%s", (const char *)v);
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

/* Every demo row of every type: JSON, contract fields only, no secrets. */
static void test_related_every_row(void **state)
{
    fixture *f = *state;
    static char secrets[64][64];
    size_t nsecrets = read_secrets(f->path, secrets, 64);
    assert_true(nsecrets >= 8 * 3 + 2 * 2);
    size_t rows = 0;
    for (int t = 0; t < RT_COUNT; t++) {
        assert_true(f->all[t].n > 0);
        size_t nattr = 0, nrel = 0;
        for (size_t i = 0; i < res_types[t].ncols; i++)
            if (res_types[t].cols[i].kind == COL_REL)
                nrel++;
            else
                nattr++;
        for (size_t r = 0; r < f->all[t].n; r++, rows++) {
            const res_row *row = &f->all[t].rows[r];
            char *text = related_text(t, row, FIELDS_ALL);
            for (size_t s = 0; s < nsecrets; s++)
                if (strstr(text, secrets[s])) fail_msg("secret %s in %s", secrets[s], text);
            assert_null(strstr(text, "password"));
            assert_null(strstr(text, "auth-user"));
            assert_null(strstr(text, "auth_user"));
            json_error_t jerr;
            json_t *j = json_loads(text, 0, &jerr);
            if (!j) fail_msg("not JSON (%s): %s", jerr.text, text);
            check_shape(j);
            assert_string_equal(json_string_value(json_object_get(j, "type")), res_types[t].type);
            assert_int_equal(json_object_size(json_object_get(j, "attributes")), nattr);
            json_t *rels = json_object_get(j, "relationships");
            if (nrel)
                assert_int_equal(json_object_size(rels), nrel);
            else
                assert_null(rels);
            /* relationship data points at rows that exist */
            const char *name;
            json_t *rel;
            json_object_foreach(rels, name, rel)
            {
                json_t *data = json_object_get(rel, "data");
                if (json_is_null(data)) continue;
                const char *rt = json_string_value(json_object_get(data, "type"));
                int tt = res_type_find(rt, strlen(rt));
                int64_t id = id_of(json_string_value(json_object_get(data, "id")));
                assert_true(tt >= 0 && id > 0 && id < MAX_ID);
                if (!f->by_id[tt][id]) fail_msg("%s -> %s %lld missing", text, rt, (long long)id);
            }
            json_decref(j);
            free(text);
        }
    }
    assert_int_equal(rows, 8 + 8 + 4 + 3 + 20 + 3 + 3 + 20 + 8 + 10 + 20 + 2 + 2 + 2);
}

/* ---- doc_linkage / doc_call_resource ------------------------------------------------------ */

static void test_doc_linkage(void **state)
{
    buf b;
    buf_init(&b);
    doc_linkage(&b, "contractors", 5);
    buf_putc(&b, '|');
    doc_linkage(&b, "nodes", INT64_MAX);
    buf_putc(&b, '|');
    doc_linkage(&b, "pops", CALL_ID_NONE);
    buf_putc(&b, '\0');
    assert_string_equal(b.data,
                        "{\"type\":\"contractors\",\"id\":\"5\"}|"
                        "{\"type\":\"nodes\",\"id\":\"9223372036854775807\"}|null");
    buf_free(&b);
}

static json_t *call_json(int64_t node_id, const callset *cs, const call_record *r, const doc_call_opts *o)
{
    buf out, scratch;
    buf_init(&out);
    buf_init(&scratch);
    doc_call_resource(&out, &scratch, base, node_id, cs, r, o);
    assert_false(out.oom);
    json_error_t jerr;
    json_t *j = json_loadb(out.data, out.len, 0, &jerr);
    if (!j) fail_msg("not JSON (%s): %.*s", jerr.text, (int)out.len, out.data);
    buf_free(&out);
    buf_free(&scratch);
    return j;
}

/* One call: even relationships hold id 100+k, odd ones none. */
static call_record *one_call(callset *cs)
{
    callset_init(cs);
    call_record *r = callset_push(cs);
    assert_non_null(r);
    r->tag = arena_text(cs, "T-1");
    r->attr[ATTR_DURATION] = arena_text(cs, "32");
    r->attr[ATTR_LOCAL_TAG] = arena_text(cs, "\"T-1\"");
    for (int k = 0; k < REL_FROM_RECORD; k++) r->rel_id[k] = k % 2 ? CALL_ID_NONE : 100 + k;
    return r;
}

static void test_call_no_linkage(void **state)
{
    callset cs;
    call_record *r = one_call(&cs);
    json_t *j = call_json(3, &cs, r, &doc_call_all);
    expect_str(j, "id", "3*T-1");
    expect_str(j, "type", "active-calls");
    expect_str(json_object_get(j, "links"), "self", BASE "/api/rest/admin/active-calls/3*T-1");
    json_t *a = json_object_get(j, "attributes");
    assert_int_equal(json_object_size(a), ATTR_COUNT);
    expect_int(a, "duration", 32);
    expect_str(a, "local-tag", "T-1");
    expect_null(a, "lrn");
    json_t *rels = json_object_get(j, "relationships");
    assert_int_equal(json_object_size(rels), REL_COUNT);
    for (int k = 0; k < REL_COUNT; k++) {
        json_t *rel = json_object_get(rels, call_rels[k].name);
        assert_int_equal(json_object_size(rel), 1);
        assert_null(json_object_get(rel, "data"));
        char want[256];
        snprintf(want, sizeof want, BASE "/api/rest/admin/active-calls/3*T-1/relationships/%s",
                 call_rels[k].name);
        expect_str(json_object_get(rel, "links"), "self", want);
        snprintf(want, sizeof want, BASE "/api/rest/admin/active-calls/3*T-1/%s", call_rels[k].name);
        expect_str(json_object_get(rel, "links"), "related", want);
    }
    json_decref(j);
    callset_free(&cs);
}

static void test_call_all_linkage(void **state)
{
    callset cs;
    call_record *r = one_call(&cs);
    doc_call_opts o = {FIELDS_ALL, (1u << REL_COUNT) - 1};
    json_t *j = call_json(3, &cs, r, &o);
    json_t *rels = json_object_get(j, "relationships");
    for (int k = 0; k < REL_COUNT; k++) {
        json_t *rel = json_object_get(rels, call_rels[k].name);
        assert_int_equal(json_object_size(rel), 2);
        json_t *data = json_object_get(rel, "data");
        assert_non_null(data);
        if (k == REL_NODE) {
            expect_str(data, "type", "nodes");
            expect_str(data, "id", "3"); /* the node the call came from */
        } else if (k % 2) {
            assert_true(json_is_null(data));
        } else {
            expect_str(data, "type", spec_rel_types[k]);
            char id[16];
            snprintf(id, sizeof id, "%d", 100 + k);
            expect_str(data, "id", id);
        }
    }
    /* routing-plan's type is routing-plans (not the anchor's routing-groups) */
    r->rel_id[REL_ROUTING_PLAN] = 9;
    json_decref(j);
    j = call_json(3, &cs, r, &o);
    expect_link(j, "routing-plan", "routing-plans", "9");
    json_decref(j);
    callset_free(&cs);
}

static void test_call_some_linkage(void **state)
{
    callset cs;
    call_record *r = one_call(&cs);
    doc_call_opts o = {FIELDS_ALL,
                       (1u << REL_CUSTOMER) | (1u << REL_VENDOR) | (1u << REL_NODE) | (1u << REL_POP)};
    json_t *j = call_json(42, &cs, r, &o);
    json_t *rels = json_object_get(j, "relationships");
    for (int k = 0; k < REL_COUNT; k++) {
        json_t *rel = json_object_get(rels, call_rels[k].name);
        bool linked = (o.linkage >> k) & 1u;
        assert_int_equal(json_object_get(rel, "data") != NULL, linked);
    }
    expect_link(j, "customer", "contractors", "100");
    expect_link(j, "vendor", NULL, NULL);
    expect_link(j, "pop", "pops", "116");
    expect_link(j, "node", "nodes", "42");
    json_decref(j);
    callset_free(&cs);
}

static void test_call_fields(void **state)
{
    callset cs;
    call_record *r = one_call(&cs);
    fieldsets fs;
    fieldsets_init(&fs);
    jsonapi_errors e;
    jerr_init(&e);
    fieldsets_parse(&fs, "fields[active-calls]", "duration,customer,node", &e);
    assert_int_equal(e.n, 0);
    jerr_free(&e);
    doc_call_opts o = {fs.calls, (1u << REL_CUSTOMER) | (1u << REL_VENDOR)};
    json_t *j = call_json(7, &cs, r, &o);
    json_t *a = json_object_get(j, "attributes");
    assert_int_equal(json_object_size(a), 1);
    expect_int(a, "duration", 32);
    json_t *rels = json_object_get(j, "relationships");
    assert_int_equal(json_object_size(rels), 2);
    expect_link(j, "customer", "contractors", "100");
    json_t *node = json_object_get(rels, "node");
    assert_non_null(json_object_get(node, "links"));
    assert_null(json_object_get(node, "data"));   /* not a linkage bit */
    assert_null(json_object_get(rels, "vendor")); /* linkage bit, but not a field */
    expect_str(j, "id", "7*T-1");
    json_decref(j);

    o.fields = 0;
    j = call_json(7, &cs, r, &o);
    assert_int_equal(json_object_size(json_object_get(j, "attributes")), 0);
    assert_int_equal(json_object_size(json_object_get(j, "relationships")), 0);
    expect_str(json_object_get(j, "links"), "self", BASE "/api/rest/admin/active-calls/7*T-1");
    json_decref(j);
    callset_free(&cs);
}

/* The listing's path: the include tree's call_rels drive the linkage. */
static void test_call_linkage_from_include(void **state)
{
    callset cs;
    call_record *r = one_call(&cs);
    include_tree t;
    tree_of(&t, "customer.smtp-connection,node.pop,customer-auth.account");
    doc_call_opts o = {FIELDS_ALL, t.call_rels};
    json_t *j = call_json(2, &cs, r, &o);
    json_t *rels = json_object_get(j, "relationships");
    size_t with_data = 0;
    for (int k = 0; k < REL_COUNT; k++)
        with_data += json_object_get(json_object_get(rels, call_rels[k].name), "data") != NULL;
    assert_int_equal(with_data, 3);
    expect_link(j, "customer", "contractors", "100");
    expect_link(j, "customer-auth", "customers-auths", "104");
    expect_link(j, "node", "nodes", "2");
    json_decref(j);
    callset_free(&cs);
}

/* ---- stored relationship ids: linkage and included agree ---------------------------------- */

/* Sets account 1's contractor_id to these bytes as stored text (a BLOB, so
 * SQLite's integer affinity keeps " 5" and "+5" as written), on a
 * connection of our own: foreign keys are not enforced there. */
static void store_account_contractor(const fixture *f, const char *text)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "UPDATE billing_accounts SET contractor_id = ?1 WHERE id = 1", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_bind_blob(st, 1, text, (int)strlen(text), SQLITE_TRANSIENT), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);
}

static void add_max_contractor(const fixture *f)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(db, "INSERT INTO public_contractors(id, name) VALUES (9223372036854775807, 'max')", NULL,
                     NULL, &msg) != SQLITE_OK)
        fail_msg("insert: %s", msg);
    sqlite3_close(db);
}

/* A relationship id stored in a record is read by one rule
 * (call_rel_id_parse: canonical decimal of 1..INT64_MAX): the account's
 * "contractor" linkage names a contractor exactly when include=
 * customer-acc.contractor includes that contractor, and otherwise the
 * linkage is null and no contractor is included. " 5", "+5", overflow and
 * INT64_MAX used to get an id from the include resolver and none from the
 * linkage. */
static void test_stored_id_linkage_and_included_agree(void **state)
{
    fixture *f = *state;
    add_max_contractor(f);
    static const struct {
        const char *stored;
        const char *id; /* NULL: no id */
    } cases[] = {
        {"5", "5"},
        {"9223372036854775807", "9223372036854775807"},
        {" 5", NULL},
        {"5 ", NULL},
        {"+5", NULL},
        {"05", NULL},
        {"-5", NULL},
        {"0", NULL},
        {"", NULL},
        {"5x", NULL},
        {"0x5", NULL},
        {"9223372036854775808", NULL},
        {"99999999999999999999", NULL},
    };
    for (size_t i = 0; i < COUNT_OF(cases); i++) {
        const char *stored = cases[i].stored, *want = cases[i].id;
        /* the rule itself */
        int64_t id = call_rel_id_parse(stored);
        if (want)
            assert_int_equal(id, strtoll(want, NULL, 10));
        else if (id != CALL_ID_NONE)
            fail_msg("'%s' read as id %lld", stored, (long long)id);

        store_account_contractor(f, stored);
        calls c;
        make_calls(&c, 1); /* customer-acc 1 */
        included inc;
        resolve(f, &inc, "customer-acc.contractor", &c);
        json_t *arr = written(&inc, NULL, NULL);
        json_t *account = find_res(arr, "accounts", "1");
        if (!account) fail_msg("'%s': account 1 not included", stored);
        /* linkage, as included_write prints the account row */
        expect_link(account, "contractor", want ? "contractors" : NULL, want);
        /* ... and as doc_related_resource prints the same row */
        size_t index = inc.rows[RT_ACCOUNTS].n;
        for (size_t k = 0; k < inc.rows[RT_ACCOUNTS].n; k++)
            if (inc.rows[RT_ACCOUNTS].rows[k].id == 1) index = k;
        assert_true(index < inc.rows[RT_ACCOUNTS].n);
        json_t *row = related_json(RT_ACCOUNTS, &inc.rows[RT_ACCOUNTS].rows[index], FIELDS_ALL);
        expect_link(row, "contractor", want ? "contractors" : NULL, want);
        json_decref(row);
        /* included: that contractor and no other */
        if (want) {
            if (!find_res(arr, "contractors", want))
                fail_msg("'%s': linkage names contractor %s, not included", stored, want);
            assert_int_equal(count_type(arr, "contractors"), 1);
        } else if (count_type(arr, "contractors") != 0) {
            fail_msg("'%s': linkage is null, yet a contractor is included", stored);
        }
        json_decref(arr);
        included_free(&inc);
        free_calls(&c);
    }
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_query_count_constant),
        T(test_all_reached_rows),
        T(test_every_path_alone),
        T(test_only_requested),
        T(test_null_nested_id),
        T(test_ids_missing_from_store),
        T(test_no_ids_no_queries),
        T(test_empty_tree_and_no_calls),
        T(test_dedup_across_paths),
        T(test_write_with_fields),
        T(test_store_failure),
        T(test_related_contractor_exact),
        T(test_related_kinds_demo),
        cmocka_unit_test(test_related_kinds_handmade),
        T(test_related_fields_mask),
        T(test_related_every_row),
        cmocka_unit_test(test_doc_linkage),
        cmocka_unit_test(test_call_no_linkage),
        cmocka_unit_test(test_call_all_linkage),
        cmocka_unit_test(test_call_some_linkage),
        cmocka_unit_test(test_call_fields),
        cmocka_unit_test(test_call_linkage_from_include),
        T(test_stored_id_linkage_and_included_agree),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
