/* it_calls: one call (docs/API.md, "One call, relationships, includes";
 * docs/CONTRACT.md §1-§3, §5, §8, §9).
 *
 * - show: GET /active-calls/{node}*{tag} is the listing's resource object
 *   (the seed's, exactly), for any node; only that node is asked, and only
 *   for that tag (a recording fake node proves it; a blackholed neighbour
 *   does not slow it down);
 * - 404 for malformed ids (non-canonical node numbers included, GET and
 *   DELETE), unknown nodes and absent calls (exact detail);
 *   502/504 naming the node for a node that is down, broken or too slow;
 * - drop: DELETE really ends the call on the node (listing, show and the
 *   node's own count), 404 when absent, 502 on node errors, one audit line
 *   per drop, 403 without `remove`;
 * - the 18 relationships: linkage and related resources from the demo data
 *   set (exact objects), null data when the call lacks the id, errors, 405;
 * - GET /api/rest/admin/<type>/<id> for the 14 related types;
 * - include: single, several, nested, depth 3, dedup, full linkage, nothing
 *   unrequested; bad paths (112);
 * - sparse fieldsets (104, 101) and filter on the show (105);
 * - includes of every relationship over 10 and over 800 calls.
 * Every document is validated against the JSON:API schema at the end. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define CALLS "/api/rest/admin/active-calls"
#define ADMIN "/api/rest/admin"
#define BASE "http://example.org"

#define SEED_TAG_1 "FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86"
#define SEED_TAG_2 "03-3D73-55FA51B805CDE1BACF2FB0ED76C3D37B-2962144B354702AF"
#define SEED_ID_1 "1*" SEED_TAG_1
#define SEED_ID_2 "1*" SEED_TAG_2

static const char *const HDRS[] = {"Host: example.org", "Accept: application/vnd.api+json", NULL};

/* ------------------------------------------------------------------ */
/* the 18 relationships (docs/CONTRACT.md §2)                                      */

#define N_RELS 18
#define N_ROUTING 16
#define REL_POP 16
#define REL_NODE 17

static const struct {
    const char *name, *type, *field;
} RELS[N_RELS] = {
    {"customer", "contractors", "customer_id"},
    {"vendor", "contractors", "vendor_id"},
    {"customer-acc", "accounts", "customer_acc_id"},
    {"vendor-acc", "accounts", "vendor_acc_id"},
    {"customer-auth", "customers-auths", "customer_auth_id"},
    {"rateplan", "rateplans", "rateplan_id"},
    {"destination", "destinations", "destination_id"},
    {"routing-group", "routing-groups", "routing_group_id"},
    {"routing-plan", "routing-plans", "routing_plan_id"},
    {"dialpeer", "dialpeers", "dialpeer_id"},
    {"orig-gw", "gateways", "orig_gw_id"},
    {"term-gw", "gateways", "term_gw_id"},
    {"src-country", "countries", "src_country_id"},
    {"src-network", "networks", "src_network_id"},
    {"dst-country", "countries", "dst_country_id"},
    {"dst-network", "networks", "dst_network_id"},
    {"pop", "pops", "pop_id"},
    {"node", "nodes", NULL},
};

#define ALL_RELS                                                                   \
    "customer,vendor,customer-acc,vendor-acc,customer-auth,rateplan,destination,"  \
    "routing-group,routing-plan,dialpeer,orig-gw,term-gw,src-country,src-network," \
    "dst-country,dst-network,pop,node"

/* A call routed coherently with the demo data set (tools/nodesim/demo_ids.h):
 * customers_auth 2 (customer/account/gateway 2, rateplan 2, routing plan 2,
 * routing group 2), destination 5 (France), dialpeer 2 (vendor/account/
 * gateway 6), src network 13 (BT, United Kingdom), dst network 15 (SFR). */
static const int ROUTED_IDS[N_ROUTING] = {2, 6, 2, 6, 2, 2, 5, 2, 2, 2, 2, 6, 3, 13, 5, 15};
/* Another one, for node 2: auth 3, destination 3, dialpeer 3 (vendor 7). */
static const int NODE2_IDS[N_ROUTING] = {3, 7, 3, 7, 3, 3, 3, 3, 3, 3, 3, 7, 1, 1, 3, 13};
/* The seed's routing ids (customer 22 is not in the demo data). */
static const int SEED_IDS[N_ROUTING] = {22, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static h_response *request(const h_proc *s, const char *method, const char *path)
{
    return h_http(method, h_url(s, path), HDRS, NULL);
}

static h_response *get(const h_proc *s, const char *path) { return request(s, "GET", path); }

static const char *dumps(const json_t *v)
{
    if (v == NULL) return "<absent>";
    char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *s = h_strf("%s", d ? d : "<unprintable>");
    free(d);
    return s;
}

static json_t *own(json_t *v) { return h_own(v, (void (*)(void *))json_decref); }

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
    if (v == NULL) fail_msg("test bug: bad JSON (%s): %s", err.text, text);
    return own(v);
}

static void expect_json(const json_t *want, const json_t *got, const char *what)
{
    if (!json_equal(want, got)) {
        fprintf(stderr, "%s differs (expected vs got):\n", what);
        h_json_diff(want, got, 40);
        fail_msg("%s\n  expected: %s\n  got:      %s", what, dumps(want), dumps(got));
    }
}

static void expect_status(const h_response *r, long status)
{
    if (r->status != status)
        fail_msg("%s: status %ld, expected %ld; body: %.2000s", r->url, r->status, status, r->body);
}

/* 404 "Record not found" with the detail of docs/API.md (NULL: any). */
static void expect_not_found(const h_response *r, const char *id)
{
    h_assert_error(r, 404, 0, "Record not found",
                   id ? h_strf("The record identified by %s could not be found.", id) : NULL, "404");
    assert_int_equal(h_error_count(r), 1);
}

static void expect_error(const h_response *r, long status, const char *title, const char *detail,
                         const char *code)
{
    h_assert_error(r, status, 0, title, detail, code);
    if (h_error_count(r) != 1) fail_msg("%s: expected exactly one error: %s", r->url, r->body);
}

/* The error's detail string (index 0). */
static const char *error_detail(const h_response *r)
{
    json_t *e = json_array_get(json_object_get(h_json(r), "errors"), 0);
    const char *d = json_string_value(json_object_get(e, "detail"));
    if (d == NULL) fail_msg("%s: no errors[0].detail: %s", r->url, r->body);
    return d;
}

static const char *write_json(const char *name, const json_t *v)
{
    const char *path = h_strf("%s/%s", h_tmpdir(), name);
    if (json_dump_file(v, path, JSON_INDENT(1)) != 0) fail_msg("cannot write %s", path);
    return path;
}

static void load_demo_data(const char *db)
{
    char *out, *err;
    int rc = h_cli(&out, &err, "demo-data", "--db", db, NULL);
    if (rc != 0) fail_msg("demo-data --db %s: exit %d\nstdout: %s\nstderr: %s", db, rc, out, err);
}

/* The seed's first record, re-tagged, for node/pop, with these routing ids
 * (NULL: no routing field at all); pop < 0: no pop_id field. */
static json_t *make_record(int node, int pop, const char *tag, const int *ids)
{
    json_t *seed = h_load_json_file(h_data_path("seed_calls.json"));
    json_t *rec = own(json_deep_copy(json_array_get(seed, 0)));
    json_object_set_new(rec, "local_tag", json_string(tag));
    json_object_set_new(rec, "node_id", json_integer(node));
    if (pop >= 0)
        json_object_set_new(rec, "pop_id", json_integer(pop));
    else
        json_object_del(rec, "pop_id");
    for (int k = 0; k < N_ROUTING; k++) {
        if (ids == NULL)
            json_object_del(rec, RELS[k].field);
        else
            json_object_set_new(rec, RELS[k].field, json_integer(ids[k]));
    }
    return rec;
}

static json_t *records(json_t *first, ...) __attribute__((sentinel));
static json_t *records(json_t *first, ...)
{
    json_t *a = own(json_array());
    va_list ap;
    va_start(ap, first);
    for (json_t *r = first; r != NULL; r = va_arg(ap, json_t *)) json_array_append(a, r);
    va_end(ap);
    return a;
}

/* data of a 200 single-resource document (and nothing but data + included). */
static json_t *show_data(const h_response *r)
{
    expect_status(r, 200);
    const char *ct = h_header_value(r, "content-type");
    if (ct == NULL || strcmp(ct, "application/vnd.api+json") != 0)
        fail_msg("%s: content-type %s", r->url, ct ? ct : "<absent>");
    json_t *data = json_object_get(h_json(r), "data");
    if (!json_is_object(data)) fail_msg("%s: data is not an object: %.2000s", r->url, r->body);
    return data;
}

/* data[] entry of a listing with this id. */
static json_t *listing_entry(const h_response *r, const char *id)
{
    size_t i;
    json_t *res;
    json_array_foreach(json_object_get(h_json(r), "data"), i, res)
    {
        if (strcmp(json_string_value(json_object_get(res, "id")), id) == 0) return res;
    }
    fail_msg("%s: no call %s in the listing (%s)", r->url, id, h_ids(r));
    return NULL;
}

static bool has_id(const char *ids, const char *id)
{
    size_t n = strlen(id);
    for (const char *p = ids; (p = strstr(p, id)) != NULL; p++)
        if ((p == ids || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return true;
    return false;
}

/* The first of a listing's ids. */
static const char *nth_id(const h_response *r, size_t i)
{
    json_t *res = json_array_get(json_object_get(h_json(r), "data"), i);
    const char *id = json_string_value(json_object_get(res, "id"));
    if (id == NULL) fail_msg("%s: no data[%zu]: %.500s", r->url, i, r->body);
    return h_strf("%s", id);
}

static const char *call_path(const char *id, const char *suffix)
{
    return h_strf("%s/%s%s", CALLS, id, suffix ? suffix : "");
}

/* text with spaces and other control bytes percent-encoded (curl would send
 * them as they are). */
static const char *encode_blanks(const char *text)
{
    const char *out = "";
    for (const char *p = text; *p; p++)
        out = (unsigned char)*p <= ' ' ? h_strf("%s%%%02X", out, (unsigned char)*p) : h_strf("%s%c", out, *p);
    return out;
}

/* No attribute name of a related resource may reveal a secret column. */
static void expect_no_secrets(const json_t *res, const char *what)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get((json_t *)res, "attributes"), k, v)
    {
        if (strstr(k, "password") || strstr(k, "auth-user") || strstr(k, "auth_user"))
            fail_msg("%s: attribute \"%s\" exposes a secret: %s", what, k, dumps(res));
    }
}

/* ------------------------------------------------------------------ */
/* include checking                                                    */

/* Whether the demo data set (src/store/demo_data.c; pops and nodes 1..2 as
 * the tests register them) has the row type:id. A linkage to a row it does
 * not have (the seed's customer 22) cannot be included. */
static bool in_store(const char *type, const char *id)
{
    static const struct {
        const char *type;
        long last;
    } last[] = {
        {"contractors", 8},   {"accounts", 8},         {"customers-auths", 4}, {"rateplans", 3},
        {"destinations", 20}, {"routing-groups", 3},   {"routing-plans", 3},   {"dialpeers", 20},
        {"gateways", 8},      {"countries", 10},       {"networks", 20},       {"pops", 2},
        {"nodes", 2},         {"smtp-connections", 2},
    };
    char *end;
    long n = strtol(id, &end, 10);
    for (size_t i = 0; i < sizeof last / sizeof *last; i++)
        if (strcmp(type, last[i].type) == 0) return *end == '\0' && n >= 1 && n <= last[i].last;
    fail_msg("linkage to an unknown type %s", type);
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks a document's includes against `include` (comma-separated dotted
 * paths; NULL or "" = none):
 * - each included resource: keys id,type,links,attributes[,relationships],
 *   links.self = BASE/api/rest/admin/<type>/<id>, relationships linkage only,
 *   no secret attribute, no (type,id) twice;
 * - each primary resource: a relationship carries data exactly when it is
 *   the first step of a path;
 * - walking every path from every primary resource, every non-null linkage
 *   resolves to an included resource (full linkage) — unless the store has
 *   no such row (in_store) — and the related types' relationships on the
 *   way carry data;
 * - included holds exactly the resources so reached (nothing unrequested).
 * Returns the included resources as sorted "type:id,..." text. */
static const char *check_includes(const h_response *r, const char *include)
{
    json_t *doc = h_json(r);
    json_t *data = json_object_get(doc, "data");
    json_t *prim = json_is_array(data) ? data : own(json_pack("[O]", data));
    json_t *included = json_object_get(doc, "included");
    bool want_included = include && include[0];
    if (want_included != (included != NULL))
        fail_msg("%s: include \"%s\" but included is %s", r->url, include ? include : "", dumps(included));
    if (included && !json_is_array(included)) fail_msg("%s: included is not an array", r->url);

    /* index */
    json_t *index = own(json_object());
    size_t i;
    json_t *res;
    json_array_foreach(included, i, res)
    {
        const char *type = json_string_value(json_object_get(res, "type"));
        const char *id = json_string_value(json_object_get(res, "id"));
        if (!type || !id) fail_msg("%s: included[%zu] without type/id: %s", r->url, i, dumps(res));
        const char *key = h_strf("%s:%s", type, id);
        if (json_object_get(index, key)) fail_msg("%s: %s is included twice", r->url, key);
        json_object_set(index, key, res);
        const char *keys = h_keys(res);
        if (strcmp(keys, "id,type,links,attributes") != 0 &&
            strcmp(keys, "id,type,links,attributes,relationships") != 0)
            fail_msg("%s: included %s has keys %s", r->url, key, keys);
        const char *self = json_string_value(json_object_get(json_object_get(res, "links"), "self"));
        const char *want_self = h_strf(BASE ADMIN "/%s/%s", type, id);
        if (!self || strcmp(self, want_self) != 0 || json_object_size(json_object_get(res, "links")) != 1)
            fail_msg("%s: included %s has links %s, expected {\"self\":\"%s\"}", r->url, key,
                     dumps(json_object_get(res, "links")), want_self);
        const char *rk;
        json_t *rel;
        json_object_foreach(json_object_get(res, "relationships"), rk, rel)
        {
            if (strcmp(h_keys(rel), "data") != 0)
                fail_msg("%s: included %s relationship %s is %s (linkage only expected)", r->url, key, rk,
                         dumps(rel));
        }
        expect_no_secrets(res, key);
    }

    /* paths */
    char paths[64][128];
    int npaths = 0;
    if (want_included) {
        const char *p = include;
        while (*p) {
            size_t n = strcspn(p, ",");
            if (npaths == 64 || n >= sizeof paths[0]) fail_msg("test bug: include too long");
            memcpy(paths[npaths], p, n);
            paths[npaths++][n] = '\0';
            p += n;
            if (*p == ',') p++;
        }
    }

    /* linkage on the primary data */
    json_array_foreach(prim, i, res)
    {
        const char *rk;
        json_t *rel;
        json_object_foreach(json_object_get(res, "relationships"), rk, rel)
        {
            bool first = false;
            for (int k = 0; k < npaths; k++) {
                size_t n = strcspn(paths[k], ".");
                first |= strlen(rk) == n && strncmp(paths[k], rk, n) == 0;
            }
            const char *want = first ? "links,data" : "links";
            if (strcmp(h_keys(rel), want) != 0)
                fail_msg("%s: %s relationship %s has keys %s, expected %s (include=%s)", r->url,
                         json_string_value(json_object_get(res, "id")), rk, h_keys(rel), want,
                         include ? include : "");
        }
    }

    /* walk */
    json_t *reached = own(json_object());
    for (int k = 0; k < npaths; k++) {
        json_t *cur = own(json_copy(prim)); /* shallow: references to the document */
        char steps[128];
        snprintf(steps, sizeof steps, "%.127s", paths[k]);
        char *save = NULL;
        for (char *step = strtok_r(steps, ".", &save); step; step = strtok_r(NULL, ".", &save)) {
            json_t *next = own(json_array());
            json_array_foreach(cur, i, res)
            {
                const char *what = h_strf("%s:%s", json_string_value(json_object_get(res, "type")),
                                          json_string_value(json_object_get(res, "id")));
                json_t *rel = json_object_get(json_object_get(res, "relationships"), step);
                if (rel == NULL || json_object_get(rel, "data") == NULL)
                    fail_msg("%s: path %s: %s has no linkage for %s: %s", r->url, paths[k], what, step,
                             dumps(json_object_get(res, "relationships")));
                json_t *d = json_object_get(rel, "data");
                if (json_is_null(d)) continue;
                const char *t = json_string_value(json_object_get(d, "type"));
                const char *id = json_string_value(json_object_get(d, "id"));
                if (!t || !id || json_object_size(d) != 2)
                    fail_msg("%s: %s.%s linkage is %s", r->url, what, step, dumps(d));
                const char *key = h_strf("%s:%s", t, id);
                json_t *target = json_object_get(index, key);
                if (target == NULL && !in_store(t, id))
                    continue; /* a dangling id: linkage, nothing to include */
                if (target == NULL)
                    fail_msg("%s: path %s: %s.%s -> %s is not in included (full linkage)", r->url, paths[k],
                             what, step, key);
                json_object_set_new(reached, key, json_true());
                json_array_append(next, target);
            }
            cur = next;
        }
    }

    /* nothing unrequested */
    const char *key;
    json_t *v;
    json_object_foreach(index, key, v)
    {
        if (json_object_get(reached, key) == NULL)
            fail_msg("%s: %s is included but no path of include=%s reaches it", r->url, key, include);
    }

    size_t n = json_object_size(index);
    const char **keys = h_own(calloc(n + 1, sizeof *keys), free);
    size_t m = 0;
    json_object_foreach(index, key, v) keys[m++] = h_strf("%s", key);
    qsort(keys, m, sizeof *keys, cmp_str);
    const char *out = "";
    for (size_t k = 0; k < m; k++) out = h_strf("%s%s%s", out, k ? "," : "", keys[k]);
    return out;
}

/* ------------------------------------------------------------------ */
/* set-ups                                                             */

static void stop_all(h_proc *server, h_proc *a, h_proc *b)
{
    assert_int_equal(h_stop(server), 0);
    if (a) assert_int_equal(h_stop(a), 0);
    if (b) assert_int_equal(h_stop(b), 0);
}

/* ------------------------------------------------------------------ */
/* 1. show                                                             */

static void test_show_seed_call(void **state)
{
    const char *db = h_db_path();
    h_proc *node = h_start_nodesim(1, 1, "--calls-file", h_data_path("seed_calls.json"), NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, node->addr, 1);
    h_proc *server = h_start_server(db, NULL);
    json_t *seed = h_load_json_file(h_data_path("seed_listing.json"));

    const char *ids[2] = {SEED_ID_1, SEED_ID_2};
    for (int i = 0; i < 2; i++) {
        h_response *r = get(server, call_path(ids[i], NULL));
        json_t *data = show_data(r);
        assert_string_equal(h_keys(h_json(r)), "data");
        expect_json(json_array_get(json_object_get(seed, "data"), (size_t)i), data, h_strf("GET %s", ids[i]));
        assert_string_equal(h_keys(data), "id,type,links,attributes,relationships");
        assert_string_equal(
            h_keys(json_object_get(data, "attributes")),
            h_keys(json_object_get(json_array_get(json_object_get(seed, "data"), (size_t)i), "attributes")));
    }
    /* The same object as the listing's. */
    h_response *l = h_listing(server, NULL);
    expect_json(listing_entry(l, SEED_ID_1), show_data(get(server, call_path(SEED_ID_1, NULL))),
                "show vs listing");
    /* A percent-encoded id is the same id. */
    h_response *enc = get(server, CALLS "/%31%2A" SEED_TAG_1);
    expect_json(json_array_get(json_object_get(seed, "data"), 0), show_data(enc), "GET 1%2A<tag>");
    stop_all(server, node, NULL);
}

static void test_show_on_second_node(void **state)
{
    const char *db = h_db_path();
    h_proc *n1 = h_start_nodesim(1, 1, "--calls-file", h_data_path("seed_calls.json"), NULL);
    json_t *recs =
        records(make_record(2, 1, "n2-call", NODE2_IDS), make_record(2, 1, "n2-other", ROUTED_IDS), NULL);
    h_proc *n2 = h_start_nodesim(2, 1, "--calls-file", write_json("node2.json", recs), NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, n1->addr, 1);
    h_add_node(db, 2, n2->addr, 1);
    h_proc *server = h_start_server(db, NULL);

    h_response *l = h_listing(server, NULL);
    h_assert_listing(l, SEED_ID_1 "," SEED_ID_2 ",2*n2-call,2*n2-other", NULL);
    h_response *r = get(server, call_path("2*n2-call", NULL));
    json_t *data = show_data(r);
    expect_json(listing_entry(l, "2*n2-call"), data, "show 2*n2-call vs listing");
    assert_string_equal(json_string_value(json_object_get(data, "id")), "2*n2-call");
    assert_string_equal(json_string_value(json_object_get(json_object_get(data, "links"), "self")),
                        BASE CALLS "/2*n2-call");
    assert_string_equal(json_string_value(json_object_get(json_object_get(data, "attributes"), "local-tag")),
                        "n2-call");
    /* The node's own tag on node 1 is not found; node 2's tag under node 1 neither. */
    expect_not_found(get(server, call_path("1*n2-call", NULL)), "1*n2-call");
    expect_not_found(get(server, call_path("2*" SEED_TAG_1, NULL)), "2*" SEED_TAG_1);
    stop_all(server, n1, n2);
}

/* A recording fake node: only that node, only `yeti.show.calls [tag]`. */
static void test_show_asks_only_that_tag(void **state)
{
    const char *db = h_db_path();
    h_fake_node *fake = h_fake_node_start(h_load_json_file(h_data_path("seed_calls.json")));
    h_proc *n2 = h_start_nodesim(2, 1, "--calls", "3", NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, h_fake_node_addr(fake), 1);
    h_add_node(db, 2, n2->addr, 1);
    h_proc *server = h_start_server(db, NULL);
    json_t *seed = h_load_json_file(h_data_path("seed_listing.json"));

    h_response *r = get(server, call_path(SEED_ID_2, NULL));
    expect_json(json_array_get(json_object_get(seed, "data"), 1), show_data(r), "GET seed 2");
    expect_json(parse("[{\"method\":\"yeti.show.calls\",\"params\":[\"" SEED_TAG_2 "\"]}]"),
                h_fake_node_requests(fake), "requests the node received");

    h_fake_node_clear(fake);
    expect_not_found(get(server, call_path("1*gone", NULL)), "1*gone");
    expect_json(parse("[{\"method\":\"yeti.show.calls\",\"params\":[\"gone\"]}]"), h_fake_node_requests(fake),
                "requests for an absent call");

    /* A call on node 2 never touches node 1. */
    h_fake_node_clear(fake);
    h_response *l2 = h_listing(server, "filter[node-id-eq]=2");
    const char *id2 = nth_id(l2, 0);
    show_data(get(server, call_path(id2, NULL)));
    expect_json(parse("[]"), h_fake_node_requests(fake), "node 1 asked about a node-2 call");

    /* Nor do relationship and related endpoints ask more than the show. */
    h_fake_node_clear(fake);
    expect_status(get(server, call_path(SEED_ID_1, "/relationships/customer")), 200);
    expect_status(get(server, call_path(SEED_ID_1, "/customer")), 200);
    expect_json(parse("[{\"method\":\"yeti.show.calls\",\"params\":[\"" SEED_TAG_1 "\"]},"
                      "{\"method\":\"yeti.show.calls\",\"params\":[\"" SEED_TAG_1 "\"]}]"),
                h_fake_node_requests(fake), "requests for relationship endpoints");
    stop_all(server, n2, NULL);
}

/* A blackholed second node must not slow the show down. */
static void test_show_ignores_blackholed_node(void **state)
{
    const char *db = h_db_path();
    h_proc *n1 = h_start_nodesim(1, 1, "--calls-file", h_data_path("seed_calls.json"), NULL);
    h_proc *n2 = h_start_nodesim(2, 1, "--blackhole", NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, n1->addr, 1);
    h_add_node(db, 2, n2->addr, 1);
    h_proc *server = h_start_server(db, "--node-timeout-ms", "2000", NULL);

    /* The listing does wait for node 2 ... */
    h_response *l = h_listing(server, NULL);
    h_assert_listing(l, SEED_ID_1 "," SEED_ID_2, "2/node-2/timeout");
    if (l->elapsed_ms < 1800) fail_msg("the listing took %.0f ms: node 2 is not blackholed", l->elapsed_ms);
    /* ... the show of a node-1 call does not. */
    for (int i = 0; i < 3; i++) {
        h_response *r = get(server, call_path(SEED_ID_1, NULL));
        show_data(r);
        if (r->elapsed_ms > 1000)
            fail_msg("GET %s took %.0f ms with node 2 blackholed", SEED_ID_1, r->elapsed_ms);
        h_response *rel = get(server, call_path(SEED_ID_1, "/relationships/node"));
        expect_status(rel, 200);
        if (rel->elapsed_ms > 1000) fail_msg("GET .../relationships/node took %.0f ms", rel->elapsed_ms);
    }
    stop_all(server, n1, n2);
}

/* ------------------------------------------------------------------ */
/* 2. 404, 502, 504                                                    */

static void test_not_found_ids(void **state)
{
    const char *db = h_db_path();
    h_fake_node *fake = h_fake_node_start(h_load_json_file(h_data_path("seed_calls.json")));
    h_add_pop(db, 1);
    h_add_node(db, 1, h_fake_node_addr(fake), 1);
    h_proc *server = h_start_server(db, NULL);

    /* Malformed: the node is never asked; the detail echoes the id. */
    static const char *const malformed[] = {
        "abc",   "abc*x", "0*x",  "1*",   "*x",
        "-1*x",  "+1*x",  "1x*y", " 1*x", "99999999999999999999*x",
        "1.0*x", "01*x",  "00*x", "1 *x", "9223372036854775808*x",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        /* curl sends a space as is; encode it */
        const char *path = h_strf(CALLS "/%s", encode_blanks(malformed[i]));
        h_response *r = get(server, path);
        expect_not_found(r, malformed[i]);
        h_response *rel = get(server, h_strf("%s/relationships/pop", path));
        expect_not_found(rel, malformed[i]);
        h_response *rr = get(server, h_strf("%s/pop", path));
        expect_not_found(rr, malformed[i]);
    }
    /* A call has one id: other spellings of its node ("01", "+1", " 1",
     * "1 ", overflowing digits) are ids of no call — for GET and DELETE
     * alike, the node never asked and the call not dropped. */
    static const char *const spellings[] = {
        "01", "001", "+1", " 1", "1 ", "\t1", "99999999999999999999", "18446744073709551617",
    };
    size_t nsp = sizeof spellings / sizeof *spellings;
    for (size_t i = 0; i < nsp; i++) {
        const char *id = h_strf("%s*%s", spellings[i], SEED_TAG_1);
        const char *path = h_strf(CALLS "/%s", encode_blanks(id));
        expect_not_found(get(server, path), id);
        expect_not_found(get(server, h_strf("%s/relationships/customer", path)), id);
        expect_not_found(request(server, "DELETE", path), id);
    }
    expect_json(parse("[]"), h_fake_node_requests(fake), "requests for malformed ids");
    show_data(get(server, call_path(SEED_ID_1, NULL))); /* still there */
    h_fake_node_clear(fake);

    /* 1024 bytes is a tag the node is asked about (exactly that tag). */
    char big[1025];
    memset(big, 'A', 1024);
    big[1024] = '\0';
    const char *id1024 = h_strf("1*%s", big);
    expect_not_found(get(server, h_strf(CALLS "/%s", id1024)), NULL);
    json_t *reqs = h_fake_node_requests(fake);
    expect_json(own(json_pack("[{s:s,s:[s]}]", "method", "yeti.show.calls", "params", big)), reqs,
                "the request for a 1024-byte tag");
    h_fake_node_clear(fake);

    /* Percent-encoded junk. */
    expect_not_found(get(server, CALLS "/1*%25ZZ"), "1*%ZZ");
    expect_not_found(get(server, CALLS "/1*%22%5C%3C%3E"), "1*\"\\<>");
    expect_not_found(get(server, CALLS "/1*a%20b"), "1*a b");
    h_response *junk = get(server, CALLS "/1*%FF%FE");
    h_assert_error(junk, 404, 0, "Record not found", NULL, "404");
    /* an escaped NUL would cut the id short: refused, never looked up */
    h_assert_error(get(server, CALLS "/1*%FF%FE%00"), 400, 0, "Bad Request", NULL, "400");
    h_response *junk2 = get(server, CALLS "/%FF*x");
    expect_not_found(junk2, NULL);
    if (!h_matches(error_detail(junk2), "^The record identified by .+ could not be found\\.$"))
        fail_msg("%%FF*x: detail %s", error_detail(junk2));

    /* Unknown node; a tag the node does not have. */
    expect_not_found(get(server, call_path("9*" SEED_TAG_1, NULL)), "9*" SEED_TAG_1);
    expect_not_found(get(server, call_path("1*nope", NULL)), "1*nope");
    expect_not_found(get(server, call_path("1*nope", "/relationships/customer")), "1*nope");
    expect_not_found(get(server, call_path("1*nope", "/customer")), "1*nope");
    /* tag matching is exact: a prefix or another case is another call */
    expect_not_found(get(server, call_path("1*FC-D0E4", NULL)), "1*FC-D0E4");
    h_response *lc =
        get(server, call_path("1*fc-d0e4-dfe7a0d5e7641edad6e6e9b8fdcedb91-706ea6ceac6ebd86", NULL));
    expect_not_found(lc, "1*fc-d0e4-dfe7a0d5e7641edad6e6e9b8fdcedb91-706ea6ceac6ebd86");
    assert_int_equal(h_stop(server), 0);
    /* one audit line per refused drop */
    assert_int_equal(h_log_count(server, "msg=audit action=drop"), (int)nsp);
    assert_int_equal(h_log_count(server, "result=not-found"), (int)nsp);
}

/* Oversized tags (1025 and 2000 bytes): 404 "Record not found" whose
 * detail names the id (docs/API.md: "The record identified by <id> could
 * not be found."), the node not asked, the server fine afterwards. */
static void test_not_found_oversized_tag(void **state)
{
    const char *db = h_db_path();
    h_fake_node *fake = h_fake_node_start(h_load_json_file(h_data_path("seed_calls.json")));
    h_add_pop(db, 1);
    h_add_node(db, 1, h_fake_node_addr(fake), 1);
    h_proc *server = h_start_server(db, NULL);
    const char *problems = "";
    static const size_t sizes[] = {1025, 2000, 8000};
    for (size_t i = 0; i < 3; i++) {
        char *tag = h_own(malloc(sizes[i] + 1), free);
        memset(tag, 'A', sizes[i]);
        tag[sizes[i]] = '\0';
        const char *id = h_strf("1*%s", tag);
        static const char *const suffixes[] = {"", "/relationships/customer", "/customer"};
        for (size_t s = 0; s < 3; s++) {
            h_response *r = get(server, h_strf(CALLS "/%s%s", id, suffixes[s]));
            h_assert_error(r, 404, 0, "Record not found", NULL, "404");
            /* docs/API.md: client text in a detail is cut at 200 bytes, marked "..." */
            const char *want = h_strf("The record identified by %.200s%s could not be found.", id,
                                      strlen(id) > 200 ? "..." : "");
            if (strcmp(error_detail(r), want) != 0)
                problems = h_strf("%s\n  %zu-byte tag%s: detail \"%.48s...%s\" (%zu bytes), "
                                  "expected the id cut at 200 bytes (%zu bytes)",
                                  problems, sizes[i], suffixes[s], error_detail(r),
                                  error_detail(r) + strlen(error_detail(r)) -
                                      (strlen(error_detail(r)) < 24 ? 0 : 24),
                                  strlen(error_detail(r)), strlen(want));
        }
        h_response *d = request(server, "DELETE", h_strf(CALLS "/%s", id));
        h_assert_error(d, 404, 0, "Record not found", NULL, "404");
    }
    expect_json(parse("[]"), h_fake_node_requests(fake), "requests for oversized tags");
    show_data(get(server, call_path(SEED_ID_1, NULL)));
    assert_int_equal(h_stop(server), 0);
    if (problems[0]) fail_msg("oversized ids are not echoed as docs/API.md says:%s", problems);
}

static void test_node_failures(void **state)
{
    const char *db = h_db_path();
    h_proc *garbage = h_start_nodesim(2, 1, "--garbage", NULL);
    h_proc *black = h_start_nodesim(3, 1, "--blackhole", NULL);
    h_proc *closing = h_start_nodesim(5, 1, "--close", NULL);
    h_fake_node *erring = h_fake_node_start(h_load_json_file(h_data_path("seed_calls.json")));
    h_fake_node_fail(erring, "yeti.show.calls", -32603, "calls table is locked");
    h_add_pop(db, 1);
    h_add_node(db, 6, h_fake_node_addr(erring), 1);
    h_add_node(db, 1, h_strf("127.0.0.1:%d", h_closed_port()), 1);
    h_add_node(db, 2, garbage->addr, 1);
    h_add_node(db, 3, black->addr, 1);
    h_add_node(db, 5, closing->addr, 1);
    h_proc *server = h_start_server(db, "--node-timeout-ms", "300", NULL);

    static const struct {
        int node;
        long status;
    } cases[] = {{1, 502}, {2, 502}, {3, 504}, {5, 502}, {6, 502}};
    static const char *const suffixes[] = {"", "/relationships/customer", "/vendor"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (size_t s = 0; s < 3; s++) {
            const char *id = h_strf("%d*some-tag", cases[i].node);
            h_response *r = get(server, call_path(id, suffixes[s]));
            const char *code = cases[i].status == 504 ? "504" : "502";
            h_assert_error(r, cases[i].status, 0, "Node unavailable", NULL, code);
            assert_int_equal(h_error_count(r), 1);
            const char *ere = cases[i].status == 504
                ? h_strf("^Node %d \\(node-%d\\) did not answer in time.*", cases[i].node, cases[i].node)
                : h_strf("^Node %d \\(node-%d\\) failed.*", cases[i].node, cases[i].node);
            if (!h_matches(error_detail(r), ere))
                fail_msg("%s: detail \"%s\" does not name the node (%s)", r->url, error_detail(r), ere);
            if (r->elapsed_ms > 2000)
                fail_msg("%s took %.0f ms; the deadline is 300 ms", r->url, r->elapsed_ms);
            if (cases[i].status == 504 && r->elapsed_ms < 250)
                fail_msg("%s: 504 after %.0f ms, before the 300 ms deadline", r->url, r->elapsed_ms);
        }
    }
    /* A drop on them: the same answer, nothing dropped, audited. */
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *id = h_strf("%d*some-tag", cases[i].node);
        h_response *r = request(server, "DELETE", call_path(id, NULL));
        h_assert_error(r, cases[i].status, 0, "Node unavailable", NULL,
                       cases[i].status == 504 ? "504" : "502");
        if (!h_matches(error_detail(r), h_strf("^Node %d \\(node-%d\\) ", cases[i].node, cases[i].node)))
            fail_msg("DELETE %s: detail \"%s\" does not name the node", id, error_detail(r));
    }
    /* An RPC error names the node's message. */
    h_response *re = get(server, call_path("6*" SEED_TAG_1, NULL));
    h_assert_error(re, 502, 0, "Node unavailable", NULL, "502");
    if (!h_matches(error_detail(re), "^Node 6 \\(node-6\\) failed.*calls table is locked"))
        fail_msg("RPC error: detail \"%s\" lacks the node's message", error_detail(re));
    /* The refused node's detail says so. */
    h_response *r = get(server, call_path("1*x", NULL));
    if (!h_matches(error_detail(r), "(refused|Connection refused)"))
        fail_msg("refused node: detail \"%s\" does not say why", error_detail(r));
    /* The server still works. */
    expect_not_found(get(server, call_path("4*x", NULL)), "4*x");
    stop_all(server, garbage, black);
    assert_int_equal(h_stop(closing), 0);
}

/* ------------------------------------------------------------------ */
/* 3. drop                                                             */

static const char *audit_line(int64_t user, const char *id, const char *result)
{
    return h_strf("msg=audit action=drop user_id=%lld username=admin call_id=%s "
                  "client=127.0.0.1 result=%s",
                  (long long)user, id, result);
}

static void test_drop(void **state)
{
    const char *db = h_db_path();
    h_proc *node = h_start_nodesim(1, 1, "--calls", "5", NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, node->addr, 1);
    h_proc *server = h_start_server(db, NULL);
    int64_t admin = h_admin_id(db);

    h_response *before = h_listing(server, NULL);
    assert_int_equal(json_array_size(json_object_get(h_json(before), "data")), 5);
    assert_int_equal(h_node_count(node->addr), 5);
    const char *victim = nth_id(before, 2);
    const char *ids_before = h_ids(before);

    h_response *d = request(server, "DELETE", call_path(victim, NULL));
    expect_status(d, 204);
    assert_int_equal(d->body_len, 0);
    assert_null(h_header_value(d, "content-type"));

    /* Gone: the node's own count, the listing, the show. */
    assert_int_equal(h_node_count(node->addr), 4);
    h_response *after = h_listing(server, NULL);
    const char *ids_after = h_ids(after);
    assert_int_equal(json_array_size(json_object_get(h_json(after), "data")), 4);
    if (has_id(ids_after, victim)) fail_msg("the listing still has %s: %s", victim, ids_after);
    /* ... and nothing else changed */
    json_t *rest = json_object_get(h_json(after), "data");
    size_t i;
    json_t *res;
    json_array_foreach(rest, i, res)
    {
        if (!has_id(ids_before, json_string_value(json_object_get(res, "id"))))
            fail_msg("a new call appeared: %s", dumps(json_object_get(res, "id")));
    }
    expect_not_found(get(server, call_path(victim, NULL)), victim);
    expect_not_found(get(server, call_path(victim, "/relationships/customer")), victim);

    /* Dropping it again, or an unknown call: 404, nothing dropped. */
    h_response *again = request(server, "DELETE", call_path(victim, NULL));
    expect_not_found(again, victim);
    expect_not_found(request(server, "DELETE", call_path("1*no-such-call", NULL)), "1*no-such-call");
    expect_not_found(request(server, "DELETE", call_path("7*x", NULL)), "7*x");
    expect_not_found(request(server, "DELETE", call_path("junk", NULL)), "junk");
    assert_int_equal(h_node_count(node->addr), 4);

    /* Another one, through a percent-encoded id. */
    const char *second = nth_id(after, 0);
    const char *enc =
        h_strf(CALLS "/%s%%2A%s", h_strf("%.*s", (int)strcspn(second, "*"), second), strchr(second, '*') + 1);
    expect_status(request(server, "DELETE", enc), 204);
    assert_int_equal(h_node_count(node->addr), 3);

    /* DELETE takes no query parameters beyond the token. */
    h_response *q = request(server, "DELETE", call_path(nth_id(after, 1), "?filter[x]=1"));
    expect_error(q, 400, "Param not allowed", "filter[x] is not allowed.", "105");
    assert_int_equal(h_node_count(node->addr), 3);

    assert_int_equal(h_stop(server), 0);
    /* One audit line per drop, with its result. */
    assert_int_equal(h_log_count(server, audit_line(admin, victim, "dropped")), 1);
    assert_int_equal(h_log_count(server, audit_line(admin, victim, "not-found")), 1);
    assert_int_equal(h_log_count(server, audit_line(admin, "1*no-such-call", "not-found")), 1);
    assert_int_equal(h_log_count(server, audit_line(admin, "7*x", "not-found")), 1);
    assert_int_equal(h_log_count(server, audit_line(admin, second, "dropped")), 1);
    assert_int_equal(h_log_count(server, "msg=audit"), 6);
    assert_int_equal(h_stop(node), 0);
}

/* The node's side of a drop: show [tag], then disconnect [tag]. */
static void test_drop_protocol_and_node_errors(void **state)
{
    const char *db = h_db_path();
    h_fake_node *fake = h_fake_node_start(h_load_json_file(h_data_path("seed_calls.json")));
    h_add_pop(db, 1);
    h_add_pop(db, 2);
    h_add_node(db, 1, h_fake_node_addr(fake), 1);
    h_add_node(db, 2, h_strf("127.0.0.1:%d", h_closed_port()), 2);
    h_proc *server = h_start_server(db, "--node-timeout-ms", "500", NULL);
    int64_t admin = h_admin_id(db);

    expect_status(request(server, "DELETE", call_path(SEED_ID_1, NULL)), 204);
    expect_json(parse("[{\"method\":\"yeti.show.calls\",\"params\":[\"" SEED_TAG_1 "\"]},"
                      "{\"method\":\"yeti.request.call.disconnect\",\"params\":[\"" SEED_TAG_1 "\"]}]"),
                h_fake_node_requests(fake), "requests of a drop");
    h_fake_node_clear(fake);
    /* absent: no disconnect sent */
    expect_not_found(request(server, "DELETE", call_path(SEED_ID_1, NULL)), SEED_ID_1);
    expect_json(parse("[{\"method\":\"yeti.show.calls\",\"params\":[\"" SEED_TAG_1 "\"]}]"),
                h_fake_node_requests(fake), "requests of a drop of an absent call");

    /* The node refuses the disconnect: 502 with its message. */
    h_fake_node_clear(fake);
    h_fake_node_fail(fake, "yeti.request.call.disconnect", -32000, "switch is busy");
    h_response *r = request(server, "DELETE", call_path(SEED_ID_2, NULL));
    h_assert_error(r, 502, 0, "Node unavailable", NULL, "502");
    if (!h_matches(error_detail(r), "^Node 1 \\(node-1\\) .*switch is busy"))
        fail_msg("disconnect error: detail \"%s\" lacks the node and its message", error_detail(r));
    assert_int_equal(json_array_size(h_fake_node_requests(fake)), 2);

    /* The call ends between the look-up and the disconnect: the node says
     * it has no such call (JSON-RPC error 404), and so does the answer. */
    h_fake_node_clear(fake);
    h_fake_node_fail(fake, "yeti.request.call.disconnect", 404, "call not found");
    expect_not_found(request(server, "DELETE", call_path(SEED_ID_2, NULL)), SEED_ID_2);
    assert_int_equal(json_array_size(h_fake_node_requests(fake)), 2);

    /* A node that is down. */
    h_response *down = request(server, "DELETE", call_path("2*x", NULL));
    h_assert_error(down, 502, 0, "Node unavailable", NULL, "502");
    if (!h_matches(error_detail(down), "^Node 2 \\(node-2\\) failed"))
        fail_msg("down node: detail \"%s\"", error_detail(down));

    assert_int_equal(h_stop(server), 0);
    assert_int_equal(h_log_count(server, audit_line(admin, SEED_ID_1, "dropped")), 1);
    assert_int_equal(h_log_count(server, audit_line(admin, SEED_ID_1, "not-found")), 1);
    assert_int_equal(h_log_count(server, audit_line(admin, SEED_ID_2, "not-found")), 1);
    /* node-error: ... with the node's message */
    if (h_log_count(server, h_strf("call_id=%s client=127.0.0.1 result=\"node-error: ", SEED_ID_2)) != 1 ||
        h_log_count(server, "switch is busy") < 1)
        fail_msg("no audit line with result=\"node-error: ...switch is busy\"");
    assert_int_equal(h_log_count(server, "msg=audit"), 5);
    /* docs/API.md: result=`node-error: ...` — also when the node fails while
     * the call is being looked up (the down node) */
    if (h_log_count(server, "call_id=2*x client=127.0.0.1 result=\"node-error: ") != 1)
        fail_msg("the drop on the down node is not audited as result=\"node-error: <why>\" "
                 "(%d lines with call_id=2*x ... result=node-error without the reason)",
                 h_log_count(server, "call_id=2*x client=127.0.0.1 result=node-error "));
}

static void test_drop_needs_remove(void **state)
{
    const char *db = h_db_path();
    h_proc *node = h_start_nodesim(1, 1, "--calls", "3", NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, node->addr, 1);
    h_add_user(db, "op", "Operator-pw-4xQ8sz", "operator", NULL);
    const char *policy = h_write_file("policy_roles.yml",
                                      "operator:\n"
                                      "  RealtimeData/ActiveCall:\n"
                                      "    read: true\n"
                                      "    remove: false\n");
    h_proc *server = h_start_server(db, "--policy", policy, NULL);
    const char *tok = h_login_token(server, "op", "Operator-pw-4xQ8sz");
    const char *auth = h_strf("Authorization: Bearer %s", tok);
    const char *const hdrs[] = {"Host: example.org", "Accept: application/vnd.api+json", auth, NULL};

    h_response *l = h_http("GET", h_url(server, CALLS), hdrs, NULL);
    expect_status(l, 200);
    const char *id = nth_id(l, 0);
    /* read: the show and relationships */
    show_data(h_http("GET", h_url(server, call_path(id, NULL)), hdrs, NULL));
    expect_status(h_http("GET", h_url(server, call_path(id, "/relationships/node")), hdrs, NULL), 200);
    /* no remove: 403, the call stays */
    h_response *d = h_http("DELETE", h_url(server, call_path(id, NULL)), hdrs, NULL);
    expect_error(d, 403, "Forbidden", NULL, "403");
    h_response *d2 = h_http("DELETE", h_url(server, call_path("1*absent", NULL)), hdrs, NULL);
    expect_error(d2, 403, "Forbidden", NULL, "403");
    assert_int_equal(h_node_count(node->addr), 3);
    show_data(h_http("GET", h_url(server, call_path(id, NULL)), hdrs, NULL));
    /* root may */
    expect_status(request(server, "DELETE", call_path(id, NULL)), 204);
    assert_int_equal(h_node_count(node->addr), 2);
    assert_int_equal(h_stop(server), 0);
    assert_int_equal(h_log_count(server, "result=dropped"), 1);
    assert_int_equal(h_log_count(server, "msg=audit"), 1); /* a 403 drops nothing */
    assert_int_equal(h_stop(node), 0);
}

/* ------------------------------------------------------------------ */
/* 4. relationships                                                    */

/* The demo data set's rows (src/store/demo_data.c) the routed call points
 * at, as the server must print them. %s: the node's rpc endpoint. */
static const char *expected_related(int k, const char *endpoint)
{
    switch (k) {
    case 0:
        return "{\"id\":\"2\",\"type\":\"contractors\",\"links\":{\"self\":\"" BASE ADMIN
               "/contractors/2\"},\"attributes\":{\"name\":\"Baltic Voice\",\"enabled\":true,"
               "\"vendor\":false,\"customer\":true,\"description\":\"Call-centre traffic, "
               "Baltic states\",\"address\":\"Brivibas iela 48, Riga, Latvia\",\"phones\":\"+44 "
               "20 7946 0102,+44 20 7946 0112\",\"external-id\":1002},\"relationships\":{"
               "\"smtp-connection\":{\"data\":{\"type\":\"smtp-connections\",\"id\":\"1\"}}}}";
    case 1:
        return "{\"id\":\"6\",\"type\":\"contractors\",\"links\":{\"self\":\"" BASE ADMIN
               "/contractors/6\"},\"attributes\":{\"name\":\"Fjord Telecom\",\"enabled\":true,"
               "\"vendor\":true,\"customer\":false,\"description\":\"Nordic mobile "
               "termination\",\"address\":\"Storgata 21, Oslo, Norway\",\"phones\":\"+44 20 "
               "7946 0206\",\"external-id\":2006},\"relationships\":{\"smtp-connection\":{"
               "\"data\":{\"type\":\"smtp-connections\",\"id\":\"2\"}}}}";
    case 2:
        return "{\"id\":\"2\",\"type\":\"accounts\",\"links\":{\"self\":\"" BASE ADMIN
               "/accounts/2\"},\"attributes\":{\"name\":\"Baltic Voice prepaid\",\"balance\":"
               "\"18250.00\",\"min-balance\":\"0.00\",\"max-balance\":\"100000.00\",\"vat\":"
               "\"21.0\",\"origination-capacity\":120,\"termination-capacity\":null,"
               "\"total-capacity\":120,\"external-id\":3002,\"uuid\":"
               "\"7a2d9e40-1c3b-4f86-b5d2-6e9f0a3c2b02\",\"timezone\":\"Europe/Riga\"},"
               "\"relationships\":{\"contractor\":{\"data\":{\"type\":\"contractors\",\"id\":"
               "\"2\"}}}}";
    case 3:
        return "{\"id\":\"6\",\"type\":\"accounts\",\"links\":{\"self\":\"" BASE ADMIN
               "/accounts/6\"},\"attributes\":{\"name\":\"Fjord Telecom termination\","
               "\"balance\":\"-780.15\",\"min-balance\":\"-50000.00\",\"max-balance\":\"0.00\","
               "\"vat\":\"0.0\",\"origination-capacity\":null,\"termination-capacity\":100,"
               "\"total-capacity\":100,\"external-id\":3006,\"uuid\":"
               "\"5b3a7e91-0d4c-4f62-9c18-2a6d4e8f0c06\",\"timezone\":\"Europe/Oslo\"},"
               "\"relationships\":{\"contractor\":{\"data\":{\"type\":\"contractors\",\"id\":"
               "\"6\"}}}}";
    case 4:
        return "{\"id\":\"2\",\"type\":\"customers-auths\",\"links\":{\"self\":\"" BASE ADMIN
               "/customers-auths/2\"},\"attributes\":{\"name\":\"Baltic Voice SIP trunk\","
               "\"enabled\":true,\"ip\":[\"192.168.82.0/24\",\"203.0.113.20/32\"],"
               "\"reject-calls\":false,\"capacity\":50,\"cps-limit\":\"5.5\",\"external-id\":"
               "5002},\"relationships\":{\"customer\":{\"data\":{\"type\":\"contractors\","
               "\"id\":\"2\"}},\"account\":{\"data\":{\"type\":\"accounts\",\"id\":\"2\"}},"
               "\"rateplan\":{\"data\":{\"type\":\"rateplans\",\"id\":\"2\"}},\"routing-plan\":"
               "{\"data\":{\"type\":\"routing-plans\",\"id\":\"2\"}},\"gateway\":{\"data\":{"
               "\"type\":\"gateways\",\"id\":\"2\"}},\"pop\":{\"data\":null}}}";
    case 5:
        return "{\"id\":\"2\",\"type\":\"rateplans\",\"links\":{\"self\":\"" BASE ADMIN
               "/rateplans/2\"},\"attributes\":{\"name\":\"Wholesale Standard\","
               "\"profit-control-mode-id\":2,\"external-id\":502}}";
    case 6:
        return "{\"id\":\"5\",\"type\":\"destinations\",\"links\":{\"self\":\"" BASE ADMIN
               "/destinations/5\"},\"attributes\":{\"prefix\":\"33\",\"enabled\":true,"
               "\"initial-rate\":\"0.05\",\"next-rate\":\"0.05\",\"initial-interval\":1,"
               "\"next-interval\":1,\"connect-fee\":\"0.0\",\"rate-policy-id\":1,"
               "\"reject-calls\":false,\"valid-from\":\"2025-01-01T00:00:00.000Z\","
               "\"valid-till\":\"2030-01-01T00:00:00.000Z\",\"external-id\":null}}";
    case 7:
        return "{\"id\":\"2\",\"type\":\"routing-groups\",\"links\":{\"self\":\"" BASE ADMIN
               "/routing-groups/2\"},\"attributes\":{\"name\":\"Standard\"}}";
    case 8:
        return "{\"id\":\"2\",\"type\":\"routing-plans\",\"links\":{\"self\":\"" BASE ADMIN
               "/routing-plans/2\"},\"attributes\":{\"name\":\"Standard LCR\",\"sorting-id\":1,"
               "\"rate-delta-max\":\"0.005\",\"use-lnp\":true,\"max-rerouting-attempts\":5,"
               "\"external-id\":602}}";
    case 9:
        return "{\"id\":\"2\",\"type\":\"dialpeers\",\"links\":{\"self\":\"" BASE ADMIN
               "/dialpeers/2\"},\"attributes\":{\"prefix\":\"49\",\"enabled\":true,\"priority\":"
               "90,\"capacity\":40,\"initial-rate\":\"0.009\",\"next-rate\":\"0.009\","
               "\"initial-interval\":1,\"next-interval\":1,\"connect-fee\":\"0.0\","
               "\"valid-from\":\"2025-01-01T00:00:00.000Z\",\"valid-till\":"
               "\"2030-01-01T00:00:00.000Z\",\"external-id\":8002},\"relationships\":{"
               "\"gateway\":{\"data\":{\"type\":\"gateways\",\"id\":\"6\"}},\"routing-group\":{"
               "\"data\":{\"type\":\"routing-groups\",\"id\":\"2\"}},\"vendor\":{\"data\":{"
               "\"type\":\"contractors\",\"id\":\"6\"}},\"account\":{\"data\":{\"type\":"
               "\"accounts\",\"id\":\"6\"}}}}";
    case 10: /* pops 1,2 exist: gateway N is in pop [1,2][(N-1) % 2] */
        return "{\"id\":\"2\",\"type\":\"gateways\",\"links\":{\"self\":\"" BASE ADMIN
               "/gateways/2\"},\"attributes\":{\"name\":\"Baltic Voice SBC\",\"enabled\":true,"
               "\"host\":\"192.0.2.12\",\"port\":5060,\"allow-origination\":true,"
               "\"allow-termination\":false,\"origination-capacity\":120,"
               "\"termination-capacity\":null,\"external-id\":4002},\"relationships\":{"
               "\"contractor\":{\"data\":{\"type\":\"contractors\",\"id\":\"2\"}},\"pop\":{"
               "\"data\":{\"type\":\"pops\",\"id\":\"2\"}}}}";
    case 11:
        return "{\"id\":\"6\",\"type\":\"gateways\",\"links\":{\"self\":\"" BASE ADMIN
               "/gateways/6\"},\"attributes\":{\"name\":\"Fjord Telecom termination\","
               "\"enabled\":true,\"host\":\"198.51.100.16\",\"port\":5060,"
               "\"allow-origination\":false,\"allow-termination\":true,"
               "\"origination-capacity\":null,\"termination-capacity\":100,\"external-id\":"
               "4006},\"relationships\":{\"contractor\":{\"data\":{\"type\":\"contractors\","
               "\"id\":\"6\"}},\"pop\":{\"data\":{\"type\":\"pops\",\"id\":\"2\"}}}}";
    case 12:
        return "{\"id\":\"3\",\"type\":\"countries\",\"links\":{\"self\":\"" BASE ADMIN
               "/countries/3\"},\"attributes\":{\"name\":\"United Kingdom\",\"iso2\":\"GB\"}}";
    case 13:
        return "{\"id\":\"13\",\"type\":\"networks\",\"links\":{\"self\":\"" BASE ADMIN
               "/networks/13\"},\"attributes\":{\"name\":\"BT (fixed)\"}}";
    case 14:
        return "{\"id\":\"5\",\"type\":\"countries\",\"links\":{\"self\":\"" BASE ADMIN
               "/countries/5\"},\"attributes\":{\"name\":\"France\",\"iso2\":\"FR\"}}";
    case 15:
        return "{\"id\":\"15\",\"type\":\"networks\",\"links\":{\"self\":\"" BASE ADMIN
               "/networks/15\"},\"attributes\":{\"name\":\"SFR\"}}";
    case 16: /* the record's pop_id (2), not the node's pop (1) */
        return "{\"id\":\"2\",\"type\":\"pops\",\"links\":{\"self\":\"" BASE ADMIN
               "/pops/2\"},\"attributes\":{\"name\":\"pop-2\"}}";
    default:
        return h_strf("{\"id\":\"1\",\"type\":\"nodes\",\"links\":{\"self\":\"" BASE ADMIN
                      "/nodes/1\"},\"attributes\":{\"name\":\"node-1\",\"rpc-endpoint\":\"%s\"},"
                      "\"relationships\":{\"pop\":{\"data\":{\"type\":\"pops\",\"id\":\"1\"}}}}",
                      endpoint);
    }
}

/* Demo data, pops 1 and 2, node 1 (pop 1) serving: "routed" (ROUTED_IDS,
 * pop_id 2), "bare" (no routing fields, no pop_id), "seedlike" (the seed's
 * ids: customer 22 is not in the store). */
static h_proc *relationship_cluster(h_proc **node)
{
    const char *db = h_db_path();
    h_add_pop(db, 1);
    h_add_pop(db, 2);
    load_demo_data(db);
    json_t *recs = records(make_record(1, 2, "routed", ROUTED_IDS), make_record(1, -1, "bare", NULL),
                           make_record(1, 1, "seedlike", SEED_IDS), NULL);
    *node = h_start_nodesim(1, 1, "--calls-file", write_json("node1.json", recs), NULL);
    h_add_node(db, 1, (*node)->addr, 1);
    return h_start_server(db, NULL);
}

static void test_relationship_linkage(void **state)
{
    h_proc *node;
    h_proc *server = relationship_cluster(&node);
    for (int k = 0; k < N_RELS; k++) {
        const char *rel = RELS[k].name;
        /* routed */
        h_response *r = get(server, call_path("1*routed", h_strf("/relationships/%s", rel)));
        expect_status(r, 200);
        const char *id = k == REL_NODE ? "1" : k == REL_POP ? "2" : h_strf("%d", ROUTED_IDS[k]);
        json_t *want = parse(h_strf("{\"links\":{\"self\":\"" BASE CALLS
                                    "/1*routed/relationships/%s\",\"related\":\"" BASE CALLS
                                    "/1*routed/%s\"},\"data\":{\"type\":\"%s\",\"id\":\"%s\"}}",
                                    rel, rel, RELS[k].type, id));
        expect_json(want, h_json(r), h_strf("relationships/%s of 1*routed", rel));
        assert_string_equal(h_keys(h_json(r)), "links,data");
        /* bare: null, except the node */
        h_response *b = get(server, call_path("1*bare", h_strf("/relationships/%s", rel)));
        expect_status(b, 200);
        json_t *want_b =
            parse(h_strf("{\"links\":{\"self\":\"" BASE CALLS
                         "/1*bare/relationships/%s\",\"related\":\"" BASE CALLS "/1*bare/%s\"},\"data\":%s}",
                         rel, rel, k == REL_NODE ? "{\"type\":\"nodes\",\"id\":\"1\"}" : "null"));
        expect_json(want_b, h_json(b), h_strf("relationships/%s of 1*bare", rel));
        /* the linkage is what the show says with include */
        h_response *s = get(server, call_path("1*routed", h_strf("?include=%s", rel)));
        json_t *rel_obj = json_object_get(json_object_get(show_data(s), "relationships"), rel);
        expect_json(json_object_get(want, "data"), json_object_get(rel_obj, "data"),
                    h_strf("show?include=%s linkage", rel));
        expect_json(json_object_get(want, "links"), json_object_get(rel_obj, "links"),
                    h_strf("show relationship %s links", rel));
    }
    /* the seed-like call: linkage from its fields, whether or not the row exists */
    h_response *r = get(server, call_path("1*seedlike", "/relationships/customer"));
    expect_json(parse("{\"type\":\"contractors\",\"id\":\"22\"}"), json_object_get(h_json(r), "data"),
                "seedlike customer linkage");
    stop_all(server, node, NULL);
}

static void test_related_resources(void **state)
{
    h_proc *node;
    h_proc *server = relationship_cluster(&node);
    for (int k = 0; k < N_RELS; k++) {
        const char *rel = RELS[k].name;
        h_response *r = get(server, call_path("1*routed", h_strf("/%s", rel)));
        json_t *data = show_data(r);
        assert_string_equal(h_keys(h_json(r)), "data");
        json_t *want = parse(expected_related(k, node->addr));
        expect_json(want, data, h_strf("GET 1*routed/%s", rel));
        /* key order: id, type, links, attributes[, relationships]; attribute
         * order as docs/CONTRACT.md §8 lists the columns */
        assert_string_equal(h_keys(data), h_keys(want));
        assert_string_equal(h_keys(json_object_get(data, "attributes")),
                            h_keys(json_object_get(want, "attributes")));
        expect_no_secrets(data, rel);
        /* the self link answers with the same object */
        const char *self = json_string_value(json_object_get(json_object_get(data, "links"), "self"));
        h_response *s = get(server, self + strlen(BASE));
        expect_json(want, show_data(s), h_strf("GET %s", self));

        /* bare: {"data":null} (the node resolves) */
        h_response *b = get(server, call_path("1*bare", h_strf("/%s", rel)));
        expect_status(b, 200);
        if (k == REL_NODE)
            expect_json(want, show_data(b), "1*bare/node");
        else
            expect_json(parse("{\"data\":null}"), h_json(b), h_strf("GET 1*bare/%s", rel));
    }
    /* an id the store does not have: {"data":null} */
    h_response *r = get(server, call_path("1*seedlike", "/customer"));
    expect_status(r, 200);
    expect_json(parse("{\"data\":null}"), h_json(r), "1*seedlike/customer (contractor 22)");
    /* one it has */
    r = get(server, call_path("1*seedlike", "/vendor"));
    assert_string_equal(json_string_value(json_object_get(show_data(r), "id")), "2");
    /* sparse fieldsets apply to the related resource */
    r = get(server, call_path("1*routed", "/customer?fields[contractors]=name"));
    expect_json(parse("{\"id\":\"2\",\"type\":\"contractors\",\"links\":{\"self\":\"" BASE ADMIN
                      "/contractors/2\"},\"attributes\":{\"name\":\"Baltic Voice\"}}"),
                show_data(r), "related customer with fields[contractors]=name");
    stop_all(server, node, NULL);
}

static void test_relationship_errors(void **state)
{
    h_proc *node;
    h_proc *server = relationship_cluster(&node);
    /* unknown relationship names: 404 */
    static const char *const bad[] = {"foo",         "customers",     "Customer",        "customer_id",
                                      "customer-id", "relationships", "smtp-connection", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (bad[i][0]) {
            h_response *r = get(server, call_path("1*routed", h_strf("/%s", bad[i])));
            h_assert_error(r, 404, 0, "Record not found", NULL, "404");
        }
        h_response *r = get(server, call_path("1*routed", h_strf("/relationships/%s", bad[i])));
        h_assert_error(r, 404, 0, "Record not found", NULL, "404");
    }
    expect_status(get(server, call_path("1*routed", "/customer/extra")), 404);
    expect_status(get(server, call_path("1*routed", "/relationships/customer/extra")), 404);

    /* other methods: 405 with an Allow that does not offer them (checked
     * at the end, so that the rest runs) */
    const char *allow_problems = "";
    static const char *const methods[] = {"POST", "DELETE", "PATCH", "PUT"};
    static const char *const paths[] = {"/relationships/customer", "/customer", "/relationships/node",
                                        "/pop"};
    for (size_t m = 0; m < 4; m++) {
        for (size_t p = 0; p < 4; p++) {
            h_response *r = request(server, methods[m], call_path("1*routed", paths[p]));
            h_assert_error(r, 405, 0, "Method not allowed", NULL, "405");
            const char *allow = h_header_value(r, "allow");
            if (allow == NULL || strcmp(allow, "GET, HEAD") != 0)
                allow_problems = h_strf("%s\n  %s .../1*routed%s: Allow \"%s\"", allow_problems, methods[m],
                                        paths[p], allow ? allow : "<absent>");
        }
    }
    /* 405 on the call itself for other methods */
    h_response *r = request(server, "PATCH", call_path("1*routed", NULL));
    h_assert_error(r, 405, 0, "Method not allowed", NULL, "405");
    assert_string_equal(h_header_value(r, "allow"), "GET, HEAD, DELETE");
    /* the call still exists */
    show_data(get(server, call_path("1*routed", NULL)));

    /* filter / include on the relationship endpoints */
    r = get(server, call_path("1*routed", "/relationships/customer?filter[customer-id-eq]=2"));
    expect_error(r, 400, "Param not allowed", "filter[customer-id-eq] is not allowed.", "105");
    r = get(server, call_path("1*routed", "/customer?filter[id]=1"));
    expect_error(r, 400, "Param not allowed", "filter[id] is not allowed.", "105");
    r = get(server, call_path("1*routed", "/customer?sort=name"));
    expect_error(r, 400, "Param not allowed", "sort is not allowed.", "105");
    stop_all(server, node, NULL);
    if (allow_problems[0]) fail_msg("405 answers whose Allow is not \"GET, HEAD\":%s", allow_problems);
}

/* ------------------------------------------------------------------ */
/* 5. the related types' own show                                      */

static void test_type_show(void **state)
{
    const char *db = h_db_path();
    h_add_pop(db, 1);
    h_add_pop(db, 2);
    load_demo_data(db);
    h_add_node(db, 1, "127.0.0.1:9", 1);
    h_proc *server = h_start_server(db, NULL);

    static const struct {
        const char *type, *id, *attr, *value;
    } rows[14] = {
        {"contractors", "5", "name", "\"Euro Transit Carrier\""},
        {"accounts", "4", "name", "\"Danube Connect prepaid\""},
        {"customers-auths", "1", "name", "\"Atlantic Telecom SIP trunk\""},
        {"rateplans", "3", "name", "\"Wholesale Economy\""},
        {"destinations", "20", "prefix", "\"369\""},
        {"routing-groups", "1", "name", "\"Premium CLI\""},
        {"routing-plans", "3", "name", "\"Economy LCR\""},
        {"dialpeers", "20", "prefix", "\"369\""},
        {"gateways", "8", "host", "\"198.51.100.18\""},
        {"countries", "10", "name", "\"Hungary\""},
        {"networks", "20", "name", "\"Yettel Hungary\""},
        {"pops", "2", "name", "\"pop-2\""},
        {"nodes", "1", "rpc-endpoint", "\"127.0.0.1:9\""},
        {"smtp-connections", "2", "name", "\"NOC notifications\""},
    };
    for (int i = 0; i < 14; i++) {
        const char *path = h_strf(ADMIN "/%s/%s", rows[i].type, rows[i].id);
        h_response *r = get(server, path);
        json_t *data = show_data(r);
        assert_string_equal(h_keys(h_json(r)), "data");
        assert_string_equal(json_string_value(json_object_get(data, "type")), rows[i].type);
        assert_string_equal(json_string_value(json_object_get(data, "id")), rows[i].id);
        assert_string_equal(json_string_value(json_object_get(json_object_get(data, "links"), "self")),
                            h_strf(BASE "%s", path));
        expect_json(parse(rows[i].value), json_object_get(json_object_get(data, "attributes"), rows[i].attr),
                    h_strf("%s %s", path, rows[i].attr));
        expect_no_secrets(data, path);
        /* unknown and malformed ids */
        static const char *const bad[] = {"9999", "abc", "0",  "-1",
                                          "01",   "1.0", "1x", "99999999999999999999"};
        for (size_t b = 0; b < sizeof bad / sizeof *bad; b++)
            expect_not_found(get(server, h_strf(ADMIN "/%s/%s", rows[i].type, bad[b])), bad[b]);
        /* other methods */
        h_response *d = request(server, "DELETE", path);
        h_assert_error(d, 405, 0, "Method not allowed", NULL, "405");
        /* sparse fieldsets; filter is not a parameter here */
        h_response *f = get(server, h_strf("%s?fields[%s]=%s", path, rows[i].type, rows[i].attr));
        json_t *fd = show_data(f);
        expect_json(parse(h_strf("{\"%s\":%s}", rows[i].attr, rows[i].value)),
                    json_object_get(fd, "attributes"), h_strf("%s sparse", path));
        assert_null(json_object_get(fd, "relationships"));
        expect_error(get(server, h_strf("%s?filter[id]=1", path)), 400, "Param not allowed",
                     "filter[id] is not allowed.", "105");
    }
    /* no secrets anywhere: gateways and smtp connections in full */
    for (int g = 1; g <= 8; g++)
        expect_no_secrets(show_data(get(server, h_strf(ADMIN "/gateways/%d", g))), "gateway");
    json_t *smtp = show_data(get(server, ADMIN "/smtp-connections/1"));
    expect_json(parse("{\"id\":\"1\",\"type\":\"smtp-connections\",\"links\":{\"self\":\"" BASE ADMIN
                      "/smtp-connections/1\"},\"attributes\":{\"name\":\"Billing mail "
                      "relay\",\"host\":\"smtp.example.net\",\"port\":587,\"from-address\":"
                      "\"billing@example.net\",\"global\":true}}"),
                smtp, "smtp-connections/1");
    expect_error(get(server, h_strf(ADMIN "/gateways/1?fields[gateways]=auth-password")), 400,
                 "Invalid field", "auth-password is not a valid field for gateways.", "104");
    /* unknown types stay unknown routes */
    expect_status(get(server, ADMIN "/users/1"), 404);
    expect_status(get(server, ADMIN "/contractors/1/accounts"), 404);
    assert_int_equal(h_stop(server), 0);
}

/* ------------------------------------------------------------------ */
/* 6. include                                                          */

static void test_include_designed(void **state)
{
    h_proc *node;
    h_proc *server = relationship_cluster(&node);
    /* The routed call alone (the show): exact included sets. */
    static const struct {
        const char *include, *included;
    } show_cases[] = {
        {"customer", "contractors:2"},
        {"customer,vendor", "contractors:2,contractors:6"},
        {"customer.smtp-connection", "contractors:2,smtp-connections:1"},
        {"vendor-acc.contractor", "accounts:6,contractors:6"},
        {"node.pop", "nodes:1,pops:1"},
        {"pop", "pops:2"},
        {"term-gw.contractor", "contractors:6,gateways:6"},
        {"dialpeer.vendor", "contractors:6,dialpeers:2"},
        {"customer-auth.rateplan", "customers-auths:2,rateplans:2"},
        {"customer-auth.account.contractor", "accounts:2,contractors:2,customers-auths:2"},
        {"customer.smtp-connection,vendor-acc.contractor,node.pop,term-gw.contractor,"
         "dialpeer.vendor,customer-auth.rateplan",
         "accounts:6,contractors:2,contractors:6,customers-auths:2,dialpeers:2,gateways:6,"
         "nodes:1,pops:1,rateplans:2,smtp-connections:1"},
        {"dialpeer.gateway.pop,dialpeer.routing-group,dialpeer.account",
         "accounts:6,dialpeers:2,gateways:6,pops:2,routing-groups:2"},
        {"customer,customer-auth.customer,customer-acc.contractor",
         "accounts:2,contractors:2,customers-auths:2"},
        {ALL_RELS,
         "accounts:2,accounts:6,contractors:2,contractors:6,countries:3,countries:5,"
         "customers-auths:2,destinations:5,dialpeers:2,gateways:2,gateways:6,"
         "networks:13,networks:15,nodes:1,pops:2,rateplans:2,routing-groups:2,"
         "routing-plans:2"},
    };
    for (size_t i = 0; i < sizeof show_cases / sizeof *show_cases; i++) {
        h_response *r = get(server, call_path("1*routed", h_strf("?include=%s", show_cases[i].include)));
        show_data(r);
        assert_string_equal(h_keys(h_json(r)), "data,included");
        const char *got = check_includes(r, show_cases[i].include);
        if (strcmp(got, show_cases[i].included) != 0)
            fail_msg("show ?include=%s\n  expected included: %s\n  got:               %s",
                     show_cases[i].include, show_cases[i].included, got);
        /* the data is the plain show's, plus linkage */
        h_response *plain = get(server, call_path("1*routed", NULL));
        json_t *a = own(json_deep_copy(show_data(r)));
        const char *k;
        json_t *rel;
        json_object_foreach(json_object_get(a, "relationships"), k, rel) json_object_del(rel, "data");
        expect_json(show_data(plain), a, "show with include, linkage removed");
    }
    /* The bare call: linkage null, nothing included (node.pop still is). */
    h_response *r = get(server, call_path("1*bare", "?include=customer,pop,customer-auth.account"));
    assert_string_equal(check_includes(r, "customer,pop,customer-auth.account"), "");
    assert_string_equal(h_keys(h_json(r)), "data,included");
    r = get(server, call_path("1*bare", "?include=" ALL_RELS));
    assert_string_equal(check_includes(r, ALL_RELS), "nodes:1");
    /* The seed-like call: customer 22 is not in the store: linkage, no resource. */
    r = get(server, call_path("1*seedlike", "?include=customer"));
    json_t *lk =
        json_object_get(json_object_get(json_object_get(show_data(r), "relationships"), "customer"), "data");
    expect_json(parse("{\"type\":\"contractors\",\"id\":\"22\"}"), lk, "seedlike linkage");
    expect_json(parse("[]"), json_object_get(h_json(r), "included"), "seedlike included");

    /* The listing: the same checks over all three calls. */
    static const char *const listing_includes[] = {
        "customer",
        "customer.smtp-connection",
        "customer.smtp-connection,vendor-acc.contractor,node.pop,term-gw.contractor,"
        "dialpeer.vendor,customer-auth.rateplan",
        "customer-auth.account.contractor",
        ALL_RELS,
    };
    for (size_t i = 0; i < sizeof listing_includes / sizeof *listing_includes; i++) {
        h_response *l = h_listing(server, h_strf("include=%s", listing_includes[i]));
        h_assert_listing(l, "1*routed,1*bare,1*seedlike", NULL);
        assert_string_equal(h_keys(h_json(l)), "data,included,meta");
        check_includes(l, listing_includes[i]);
    }
    /* include=customer must not include smtp-connections (nor anything else) */
    h_response *l = h_listing(server, "include=customer");
    assert_string_equal(check_includes(l, "customer"), "contractors:2");
    /* vendor: 6 (routed) and 2 (seedlike) */
    l = h_listing(server, "include=vendor.smtp-connection");
    assert_string_equal(check_includes(l, "vendor.smtp-connection"),
                        "contractors:2,contractors:6,smtp-connections:1,smtp-connections:2");
    /* an empty include is no include */
    l = h_listing(server, "include=");
    h_assert_listing(l, "1*routed,1*bare,1*seedlike", NULL);
    assert_string_equal(h_keys(h_json(l)), "data,meta");
    /* filters and include together */
    l = h_listing(server, "filter[customer-id-eq]=2&include=customer-auth");
    h_assert_listing(l, "1*routed", NULL);
    assert_string_equal(check_includes(l, "customer-auth"), "customers-auths:2");
    stop_all(server, node, NULL);
}

/* Many calls sharing related resources: each resource included once. */
static void test_include_dedup(void **state)
{
    const char *db = h_db_path();
    h_add_pop(db, 1);
    load_demo_data(db);
    json_t *n1 = own(json_array()), *n2 = own(json_array());
    int ids[N_ROUTING] = {1, 5, 1, 5, 1, 1, 1, 1, 1, 1, 1, 5, 1, 1, 1, 1};
    for (int i = 0; i < 6; i++) {
        ids[6] = i % 2 ? 4 : 1; /* destinations 1 and 4 */
        json_array_append(n1, make_record(1, 1, h_strf("a%d", i), ids));
        json_array_append(n2, make_record(2, 1, h_strf("b%d", i), ids));
    }
    h_proc *p1 = h_start_nodesim(1, 1, "--calls-file", write_json("n1.json", n1), NULL);
    h_proc *p2 = h_start_nodesim(2, 1, "--calls-file", write_json("n2.json", n2), NULL);
    h_add_node(db, 1, p1->addr, 1);
    h_add_node(db, 2, p2->addr, 1);
    h_proc *server = h_start_server(db, NULL);

    static const struct {
        const char *include, *included;
    } cases[] = {
        {"customer", "contractors:1"},
        {"customer,vendor,customer-acc.contractor,customer-auth.customer",
         "accounts:1,contractors:1,contractors:5,customers-auths:1"},
        {"customer-auth.account.contractor", "accounts:1,contractors:1,customers-auths:1"},
        {"customer-auth.account.contractor,customer.smtp-connection,vendor.smtp-connection",
         "accounts:1,contractors:1,contractors:5,customers-auths:1,smtp-connections:1,"
         "smtp-connections:2"},
        {"destination", "destinations:1,destinations:4"},
        {"node.pop,pop", "nodes:1,nodes:2,pops:1"},
        {"term-gw.pop,orig-gw.pop", "gateways:1,gateways:5,pops:1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        h_response *l = h_listing(server, h_strf("include=%s", cases[i].include));
        h_assert_listing(l, "1*a0,1*a1,1*a2,1*a3,1*a4,1*a5,2*b0,2*b1,2*b2,2*b3,2*b4,2*b5", NULL);
        const char *got = check_includes(l, cases[i].include);
        if (strcmp(got, cases[i].included) != 0)
            fail_msg("include=%s\n  expected included: %s\n  got:               %s", cases[i].include,
                     cases[i].included, got);
    }
    /* The contractor reached through four paths is included exactly once
     * (check_includes fails on twice), with its full attributes. */
    h_response *l = h_listing(server,
                              "include=customer,customer-acc.contractor,"
                              "customer-auth.customer,orig-gw.contractor");
    assert_string_equal(check_includes(l,
                                       "customer,customer-acc.contractor,"
                                       "customer-auth.customer,orig-gw.contractor"),
                        "accounts:1,contractors:1,customers-auths:1,gateways:1");
    json_t *inc = json_object_get(h_json(l), "included");
    size_t i;
    json_t *res;
    json_array_foreach(inc, i, res)
    {
        if (strcmp(json_string_value(json_object_get(res, "type")), "contractors") == 0)
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(res, "attributes"), "name")),
                "Atlantic Telecom");
    }
    stop_all(server, p1, p2);
}

static void test_include_errors(void **state)
{
    h_proc *node;
    h_proc *server = relationship_cluster(&node);
    static const struct {
        const char *include, *detail;
    } cases[] = {
        {"foo", "foo is not a valid includable relationship of active-calls"},
        {"customer.bar", "bar is not a valid includable relationship of contractors"},
        {"customers", "customers is not a valid includable relationship of active-calls"},
        {"customer_auth", "customer_auth is not a valid includable relationship of active-calls"},
        {"node.pop.foo", "foo is not a valid includable relationship of pops"},
        {"routing-plan.name", "name is not a valid includable relationship of routing-plans"},
        {"pop.node", "node is not a valid includable relationship of pops"},
        {"customer.smtp-connection.contractor",
         "contractor is not a valid includable relationship of smtp-connections"},
        {"vendor-acc.contractor.smtp-connection.x",
         "x is not a valid includable relationship of smtp-connections"},
        /* depth 4, every step valid */
        {"customer-auth.account.contractor.smtp-connection",
         "smtp-connection is not a valid includable relationship of contractors"},
        {"dialpeer.gateway.contractor.smtp-connection",
         "smtp-connection is not a valid includable relationship of contractors"},
        {"customer,foo", "foo is not a valid includable relationship of active-calls"},
        {"customer.name", "name is not a valid includable relationship of contractors"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *q = h_strf("include=%s", cases[i].include);
        expect_error(h_listing(server, q), 400, "Invalid field", cases[i].detail, "112");
        expect_error(get(server, call_path("1*routed", h_strf("?%s", q))), 400, "Invalid field",
                     cases[i].detail, "112");
        /* checked before the node is asked */
        expect_error(get(server, call_path("1*absent", h_strf("?%s", q))), 400, "Invalid field",
                     cases[i].detail, "112");
    }
    /* empty steps */
    static const char *const empty_steps[] = {"customer.", ".customer", "customer..smtp-connection"};
    for (size_t i = 0; i < 3; i++) {
        h_response *r = h_listing(server, h_strf("include=%s", empty_steps[i]));
        h_assert_error(r, 400, 0, "Invalid field", NULL, "112");
    }
    /* every bad path is reported */
    h_response *r = h_listing(server, "include=foo,customer.bar");
    h_assert_error(r, 400, 0, "Invalid field", "foo is not a valid includable relationship of active-calls",
                   "112");
    h_assert_error(r, 400, 1, "Invalid field", "bar is not a valid includable relationship of contractors",
                   "112");
    assert_int_equal(h_error_count(r), 2);
    /* the relationship endpoints take no include */
    r = get(server, call_path("1*routed", "/relationships/customer?include=customer"));
    expect_error(r, 400, "Param not allowed", "include is not allowed.", "105");
    stop_all(server, node, NULL);
}

/* ------------------------------------------------------------------ */
/* 7. sparse fieldsets                                                 */

static void test_fields(void **state)
{
    h_proc *node;
    h_proc *server = relationship_cluster(&node);
    /* one attribute, one relationship */
    const char *q = "fields[active-calls]=duration,customer";
    h_response *l = h_listing(server, q);
    h_assert_listing(l, "1*routed,1*bare,1*seedlike", NULL);
    size_t i;
    json_t *res;
    json_array_foreach(json_object_get(h_json(l), "data"), i, res)
    {
        assert_string_equal(h_keys(res), "id,type,links,attributes,relationships");
        assert_string_equal(h_keys(json_object_get(res, "attributes")), "duration");
        assert_string_equal(h_keys(json_object_get(res, "relationships")), "customer");
        assert_string_equal(h_keys(json_object_get(json_object_get(res, "relationships"), "customer")),
                            "links");
    }
    json_t *d = show_data(get(server, call_path("1*routed", h_strf("?%s", q))));
    assert_string_equal(h_keys(json_object_get(d, "attributes")), "duration");
    expect_json(parse("32"), json_object_get(json_object_get(d, "attributes"), "duration"), "duration");
    assert_string_equal(h_keys(json_object_get(d, "relationships")), "customer");
    /* the document's order, whatever the list's */
    d = show_data(get(server,
                      call_path("1*routed",
                                "?fields[active-calls]=local-tag,pop,"
                                "start-time,node")));
    assert_string_equal(h_keys(json_object_get(d, "attributes")), "start-time,local-tag");
    assert_string_equal(h_keys(json_object_get(d, "relationships")), "pop,node");
    /* only relationships: attributes empty */
    d = show_data(get(server, call_path("1*routed", "?fields[active-calls]=node")));
    expect_json(parse("{}"), json_object_get(d, "attributes"), "attributes of fields=node");

    /* with include: linkage on the listed relationship */
    h_response *r = get(server,
                        call_path("1*routed",
                                  "?fields[active-calls]=duration,customer&"
                                  "include=customer"));
    assert_string_equal(check_includes(r, "customer"), "contractors:2");

    /* the included type's own fieldset */
    l = h_listing(server, "include=customer&fields[contractors]=name");
    assert_string_equal(check_includes(l, "customer"), "contractors:2");
    json_t *inc = json_array_get(json_object_get(h_json(l), "included"), 0);
    expect_json(parse("{\"name\":\"Baltic Voice\"}"), json_object_get(inc, "attributes"),
                "included contractor with fields[contractors]=name");
    assert_string_equal(h_keys(inc), "id,type,links,attributes");
    /* a relationship name in the related fieldset keeps its linkage */
    l = h_listing(server,
                  "include=customer.smtp-connection&fields[contractors]=smtp-connection&"
                  "fields[smtp-connections]=host,port");
    assert_string_equal(check_includes(l, "customer.smtp-connection"), "contractors:2,smtp-connections:1");
    json_array_foreach(json_object_get(h_json(l), "included"), i, res)
    {
        const char *type = json_string_value(json_object_get(res, "type"));
        if (strcmp(type, "contractors") == 0) {
            expect_json(parse("{}"), json_object_get(res, "attributes"), "contractor attributes");
            assert_string_equal(h_keys(json_object_get(res, "relationships")), "smtp-connection");
        } else {
            expect_json(parse("{\"host\":\"smtp.example.net\",\"port\":587}"),
                        json_object_get(res, "attributes"), "smtp attributes");
        }
    }
    /* fields of a type that is not included: accepted, no effect */
    l = h_listing(server, "fields[gateways]=name");
    h_assert_listing(l, "1*routed,1*bare,1*seedlike", NULL);
    assert_null(json_object_get(h_json(l), "included"));

    /* empty fieldset: no fields at all (members present, empty) */
    d = show_data(get(server, call_path("1*routed", "?fields[active-calls]=")));
    assert_string_equal(h_keys(d), "id,type,links,attributes,relationships");
    expect_json(parse("{}"), json_object_get(d, "attributes"), "attributes of fields=");
    expect_json(parse("{}"), json_object_get(d, "relationships"), "relationships of fields=");
    l = h_listing(server, "fields[active-calls]=");
    h_assert_listing(l, "1*routed,1*bare,1*seedlike", NULL);

    /* errors */
    static const struct {
        const char *query, *code, *title, *detail;
    } bad[] = {
        {"fields[active-calls]=foo", "104", "Invalid field", "foo is not a valid field for active-calls."},
        {"fields[active-calls]=duration,customer_id", "104", "Invalid field",
         "customer_id is not a valid field for active-calls."},
        {"fields[active-calls]=id", "104", "Invalid field", "id is not a valid field for active-calls."},
        {"fields[contractors]=password", "104", "Invalid field",
         "password is not a valid field for contractors."},
        {"fields[contractors]=smtp-connection-id", "104", "Invalid field",
         "smtp-connection-id is not a valid field for contractors."},
        {"fields[gateways]=incoming-auth-password", "104", "Invalid field",
         "incoming-auth-password is not a valid field for gateways."},
        {"fields[smtp-connections]=auth-user", "104", "Invalid field",
         "auth-user is not a valid field for smtp-connections."},
        {"fields[foo]=x", "101", "Invalid resource", "foo is not a valid resource."},
        {"fields[contractor]=name", "101", "Invalid resource", "contractor is not a valid resource."},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        expect_error(h_listing(server, bad[k].query), 400, bad[k].title, bad[k].detail, bad[k].code);
        expect_error(get(server, call_path("1*routed", h_strf("?%s", bad[k].query))), 400, bad[k].title,
                     bad[k].detail, bad[k].code);
    }
    /* filter on the show: 105 */
    static const char *const filters[] = {"filter[duration-equals]=32", "filter[id]=1*routed",
                                          "filter[customer-id-eq]=2"};
    for (size_t k = 0; k < 3; k++) {
        const char *name = h_strf("%.*s", (int)strcspn(filters[k], "="), filters[k]);
        expect_error(get(server, call_path("1*routed", h_strf("?%s", filters[k]))), 400, "Param not allowed",
                     h_strf("%s is not allowed.", name), "105");
    }
    expect_error(get(server, call_path("1*routed", "?page[size]=1")), 400, "Param not allowed",
                 "page[size] is not allowed.", "105");
    stop_all(server, node, NULL);
}

/* ------------------------------------------------------------------ */
/* 8. batched lookups: every relationship over many calls              */

#define ALL_TOP_INCLUDE                                                            \
    "customer,vendor,customer-acc,vendor-acc,customer-auth,rateplan,destination,"  \
    "routing-group,routing-plan,dialpeer,orig-gw,term-gw,src-country,src-network," \
    "dst-country,dst-network,pop,node"

static void include_everything(int calls_per_node)
{
    const char *db = h_db_path();
    h_add_pop(db, 1);
    h_add_pop(db, 2);
    load_demo_data(db);
    const char *k = h_strf("%d", calls_per_node);
    h_proc *p1 = h_start_nodesim(1, 1, "--calls", k, NULL);
    h_proc *p2 = h_start_nodesim(2, 2, "--calls", k, NULL);
    h_add_node(db, 1, p1->addr, 1);
    h_add_node(db, 2, p2->addr, 2);
    h_proc *server = h_start_server(db, NULL);

    const char *queries[] = {
        "include=" ALL_TOP_INCLUDE,
        "include=" ALL_TOP_INCLUDE ",customer.smtp-connection,vendor-acc.contractor,node.pop,"
        "term-gw.contractor,dialpeer.vendor,customer-auth.rateplan,"
        "customer-auth.account.contractor,dialpeer.gateway.pop",
    };
    for (int q = 0; q < 2; q++) {
        h_response *l = h_listing(server, queries[q]);
        expect_status(l, 200);
        json_t *data = json_object_get(h_json(l), "data");
        assert_int_equal(json_array_size(data), 2 * calls_per_node);
        assert_null(json_object_get(json_object_get(h_json(l), "meta"), "failed-nodes"));
        const char *got = check_includes(l, queries[q] + strlen("include="));
        /* Generated calls are routed into the demo ids: every linkage of
         * every call is non-null and resolves (check_includes). */
        size_t i;
        json_t *res;
        json_array_foreach(data, i, res)
        {
            const char *id = json_string_value(json_object_get(res, "id"));
            json_t *rels = json_object_get(res, "relationships");
            for (int r = 0; r < N_RELS; r++) {
                json_t *lk = json_object_get(json_object_get(rels, RELS[r].name), "data");
                if (!json_is_object(lk)) fail_msg("%s: %s linkage is %s", id, RELS[r].name, dumps(lk));
                assert_string_equal(json_string_value(json_object_get(lk, "type")), RELS[r].type);
            }
            const char *node_id = json_string_value(
                json_object_get(json_object_get(json_object_get(rels, "node"), "data"), "id"));
            const char *pop_id = json_string_value(
                json_object_get(json_object_get(json_object_get(rels, "pop"), "data"), "id"));
            assert_true(id[0] == node_id[0] && id[1] == '*');
            assert_string_equal(pop_id, node_id); /* node N in pop N */
        }
        /* at most the demo set's rows, each once */
        size_t n_included = json_array_size(json_object_get(h_json(l), "included"));
        if (n_included > 8 + 8 + 4 + 3 + 20 + 3 + 3 + 20 + 8 + 10 + 20 + 2 + 2 + 2)
            fail_msg("%zu included resources: more than the demo data set has", n_included);
        fprintf(stderr, "note: %d calls, %s: %zu included, %.0f ms, %zu bytes\n", 2 * calls_per_node,
                q ? "nested" : "top-level", n_included, l->elapsed_ms, l->body_len);
        if (q == 0 && !has_id(got, "nodes:1")) fail_msg("nodes:1 not included: %s", got);
        /* the show agrees with the listing for one call */
        const char *one = nth_id(l, (size_t)calls_per_node);
        h_response *s = get(server, call_path(one, h_strf("?%s", queries[q])));
        check_includes(s, queries[q] + strlen("include="));
        /* the duration moves on between the two requests */
        json_t *a = own(json_deep_copy(listing_entry(l, one)));
        json_t *b = own(json_deep_copy(show_data(s)));
        json_object_del(json_object_get(a, "attributes"), "duration");
        json_object_del(json_object_get(b, "attributes"), "duration");
        expect_json(a, b, "show with include vs listing entry");
    }
    stop_all(server, p1, p2);
}

static void test_include_everything_10_calls(void **state) { include_everything(5); }
static void test_include_everything_800_calls(void **state) { include_everything(400); }

/* ------------------------------------------------------------------ */
/* self links of calls with unusual tags answer                        */

static void test_self_links_of_odd_tags(void **state)
{
    const char *db = h_db_path();
    h_add_pop(db, 1);
    load_demo_data(db);
    static const char *const tags[] = {"plain-tag",        "with space", "plus+sign",        "star*in*tag",
                                       "quote\"and\\back", "percent%41", "unicode-\xc3\xbc", "slash/inside"};
    json_t *recs = own(json_array());
    for (size_t i = 0; i < sizeof tags / sizeof *tags; i++)
        json_array_append(recs, make_record(1, 1, tags[i], ROUTED_IDS));
    h_proc *node = h_start_nodesim(1, 1, "--calls-file", write_json("odd.json", recs), NULL);
    h_add_node(db, 1, node->addr, 1);
    h_proc *server = h_start_server(db, NULL);

    h_response *l = h_listing(server, NULL);
    expect_status(l, 200);
    const char *problems = "";
    size_t i;
    json_t *res;
    json_array_foreach(json_object_get(h_json(l), "data"), i, res)
    {
        const char *id = json_string_value(json_object_get(res, "id"));
        const char *self = json_string_value(json_object_get(json_object_get(res, "links"), "self"));
        h_response *s = get(server, self + strlen(BASE));
        if (s->status != 200 || !json_equal(res, json_object_get(h_json(s), "data"))) {
            problems = h_strf("%s\n  %s: GET %s -> %ld %.200s", problems, id, self, s->status, s->body);
            continue;
        }
        json_t *rel = json_object_get(json_object_get(res, "relationships"), "customer");
        const char *rself = json_string_value(json_object_get(json_object_get(rel, "links"), "self"));
        const char *related = json_string_value(json_object_get(json_object_get(rel, "links"), "related"));
        h_response *a = get(server, rself + strlen(BASE));
        h_response *b = get(server, related + strlen(BASE));
        if (a->status != 200 || b->status != 200)
            problems =
                h_strf("%s\n  %s: relationship links -> %ld / %ld", problems, id, a->status, b->status);
    }
    if (problems[0]) fail_msg("self links that do not answer:%s", problems);
    stop_all(server, node, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_show_seed_call, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_show_on_second_node, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_show_asks_only_that_tag, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_show_ignores_blackholed_node, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_not_found_ids, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_not_found_oversized_tag, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_node_failures, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_drop, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_drop_protocol_and_node_errors, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_drop_needs_remove, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_relationship_linkage, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_related_resources, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_relationship_errors, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_type_show, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_include_designed, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_include_dedup, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_include_errors, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_fields, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_include_everything_10_calls, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_include_everything_800_calls, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_self_links_of_odd_tags, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
