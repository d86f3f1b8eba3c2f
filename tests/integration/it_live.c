/* it_live: the live view, sort and pages, grouped counts and push-down,
 * against real simulated nodes (docs/API.md, "The live view" and "Sorting
 * and pages").
 *
 * - Cache-Control: max-age serves a snapshot (Age, meta.snapshot-at) and
 *   asks the nodes once for any number of such reads; no directive, or
 *   no-cache, is a fresh round; with nothing subscribed nothing is polled;
 *   a node that fails is named in the snapshot's answer;
 * - sort (stable, nulls last, several keys) and pages (links, total-count)
 *   give the order and slice a reference computed here from the unsorted
 *   listing, fresh and from a snapshot alike;
 * - counts grouped by one key, two keys and none equal a reference
 *   computed here from the nodes' call files (count, connected, longest
 *   duration, customer and vendor price by yeti's formula); their sort and
 *   pages; their errors;
 * - push-down: the nodes are asked the filtered method with the filters'
 *   rules (their --log-requests lines) and the answer equals the
 *   snapshot's, filtered by the service; a node without the method gets
 *   the plain one in the same round and is remembered. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LISTING "/api/rest/admin/active-calls"
#define COUNTS "/api/rest/admin/active-call-counts"

typedef struct cluster {
    h_proc *node[3];
    h_proc *server;
} cluster;

/* Nodes 1 and 2 (pop 1) serve the designed call files; extra args go to
 * the server. */
static void start_cluster(cluster *c, const char *node_flag, ...)
{
    const char *db = h_db_path();
    h_add_pop(db, 1);
    for (int i = 1; i <= 2; i++) {
        const char *file = h_data_path(h_strf("filter_calls_node%d.json", i));
        c->node[i] = node_flag && i == 2
            ? h_start_nodesim(i, 1, "--calls-file", file, "--log-requests", node_flag, NULL)
            : h_start_nodesim(i, 1, "--calls-file", file, "--log-requests", NULL);
        h_add_node(db, i, c->node[i]->addr, 1);
    }
    c->server = h_start_server(db, "--refresh-ms", "100", NULL);
}

static h_response *get(const cluster *c, const char *path, const char *cache_control)
{
    const char *hdrs[] = {"Host: example.org", "Accept: application/vnd.api+json",
                          cache_control ? h_strf("Cache-Control: %s", cache_control) : NULL, NULL};
    h_response *r = h_http("GET", h_url(c->server, path), hdrs, NULL);
    assert_int_equal(r->status, 200);
    return r;
}

static int requests_seen(const cluster *c, const char *method_prefix)
{
    return h_log_count(c->node[1], method_prefix);
}

static const char *snapshot_at(const h_response *r)
{
    json_t *at = json_object_get(json_object_get(h_json(r), "meta"), "snapshot-at");
    return json_is_string(at) ? json_string_value(at) : NULL;
}

/* ---- snapshots ---------------------------------------------------------------- */

static void test_snapshots(void **state)
{
    (void)state;
    cluster c;
    start_cluster(&c, NULL, NULL);
    h_response *fresh = get(&c, LISTING, NULL);
    assert_null(h_header_value(fresh, "age"));
    assert_null(snapshot_at(fresh));
    int asked = requests_seen(&c, "method=yeti.show.calls");
    assert_int_equal(asked, 1);

    h_response *a = get(&c, LISTING, "max-age=60");
    const char *at = snapshot_at(a);
    assert_non_null(at);
    assert_true(h_matches(at, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"));
    assert_true(h_matches(h_header_value(a, "age"), "^[0-9]+$"));
    assert_string_equal(h_ids(a), h_ids(fresh)); /* the same calls, the same order */
    assert_int_equal(requests_seen(&c, "method=yeti.show.calls"), asked + 1);

    /* any number of reads within max-age: the nodes are not asked again,
     * and the same question gets the same document (written once) */
    h_response *first = get(&c, LISTING "?filter%5Bnode-id-eq%5D=1", "max-age=60");
    for (int i = 0; i < 5; i++) {
        h_response *b = get(&c, LISTING "?filter%5Bnode-id-eq%5D=1", "max-age=60");
        assert_string_equal(snapshot_at(b), at);
        assert_string_equal(b->body, first->body);
        assert_string_equal(h_header_value(b, "etag"), h_header_value(first, "etag"));
    }
    /* another Host: other links, not the cached document */
    const char *other_host[] = {"Host: other.example", "Cache-Control: max-age=60", NULL};
    h_response *o = h_http("GET", h_url(c.server, LISTING "?filter%5Bnode-id-eq%5D=1"), other_host, NULL);
    assert_int_equal(o->status, 200);
    assert_true(strstr(o->body, "http://other.example/") != NULL);
    assert_null(strstr(o->body, "http://example.org/"));
    h_raw *many = h_raw_get_concurrently(c.server, LISTING,
                                         (const char *const[]){"Cache-Control: max-age=60", NULL}, 16);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(many[i].status, 200);
        assert_non_null(h_raw_header(&many[i], "age"));
    }
    assert_int_equal(requests_seen(&c, "method=yeti.show.calls"), asked + 1);
    assert_int_equal(h_log_count(c.server, "msg=live-refresh"), 1);

    /* no-cache wins; a fresh round, no Age */
    h_response *nc = get(&c, LISTING, "max-age=60, no-cache");
    assert_null(h_header_value(nc, "age"));
    assert_null(snapshot_at(nc));
    assert_int_equal(requests_seen(&c, "method=yeti.show.calls"), asked + 2);

    /* nothing subscribed to the view: nothing is polled (--refresh-ms 100) */
    usleep(600 * 1000);
    assert_int_equal(requests_seen(&c, "method=yeti.show.calls"), asked + 2);

    /* the same snapshot, older now: Age counts from its round, and the
     * cached document is the same */
    usleep(1100 * 1000);
    h_response *older = get(&c, LISTING "?filter%5Bnode-id-eq%5D=1", "max-age=60");
    assert_true(atoi(h_header_value(older, "age")) >= 1);
    assert_string_equal(snapshot_at(older), at);
    assert_string_equal(older->body, first->body);

    /* max-age=0: a new snapshot */
    h_response *z = get(&c, LISTING, "max-age=0");
    assert_non_null(snapshot_at(z));
    assert_string_not_equal(snapshot_at(z), at);
    assert_int_equal(h_log_count(c.server, "msg=live-refresh"), 2);
    assert_int_equal(h_stop(c.server), 0);
}

static void test_snapshot_names_failed_nodes(void **state)
{
    (void)state;
    const char *db = h_db_path();
    h_add_pop(db, 1);
    h_proc *n1 = h_start_nodesim(1, 1, "--calls", "5", NULL);
    h_proc *n2 = h_start_nodesim(2, 1, "--blackhole", NULL);
    h_add_node(db, 1, n1->addr, 1);
    h_add_node(db, 2, n2->addr, 1);
    h_proc *server = h_start_server(db, "--node-timeout-ms", "300", NULL);
    const char *hdrs[] = {"Host: example.org", "Cache-Control: max-age=30", NULL};
    h_response *r = h_http("GET", h_url(server, LISTING), hdrs, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(h_failed(r), "2/node-2/timeout");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(h_json(r), "meta"), "total-count")),
                     5);
    /* a fresh sorted page (two rounds) names it too */
    const char *fresh[] = {"Host: example.org", NULL};
    r = h_http("GET", h_url(server, LISTING "?sort=-duration&page%5Bsize%5D=2"), fresh, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(h_failed(r), "2/node-2/timeout");
    assert_int_equal(json_array_size(json_object_get(h_json(r), "data")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(h_json(r), "meta"), "total-count")),
                     5);
    assert_int_equal(h_stop(server), 0);
}

/* ---- sort and pages ------------------------------------------------------------ */

/* The data of a listing, as an array. */
static json_t *data_of(const h_response *r) { return json_object_get(h_json(r), "data"); }

typedef struct keyed {
    size_t pos;
    json_t *res;
} keyed;

static const char *sort_attr;
static bool sort_desc;

/* Reference order: by one attribute (numbers, then strings), nulls last,
 * ties in listing order. */
static int ref_cmp(const void *x, const void *y)
{
    const keyed *a = x, *b = y;
    json_t *va = json_object_get(json_object_get(a->res, "attributes"), sort_attr);
    json_t *vb = json_object_get(json_object_get(b->res, "attributes"), sort_attr);
    bool na = !va || json_is_null(va), nb = !vb || json_is_null(vb);
    if (na || nb) {
        if (na != nb) return na ? 1 : -1;
    } else {
        int c;
        if (json_is_number(va) && json_is_number(vb)) {
            double p = json_number_value(va), q = json_number_value(vb);
            c = (p > q) - (p < q);
        } else {
            c = strcmp(json_string_value(va), json_string_value(vb));
        }
        if (c) return sort_desc ? -c : c;
    }
    return (a->pos > b->pos) - (a->pos < b->pos);
}

/* "id,id,..." of listing data sorted by attr, items [from, from+n). */
static const char *ref_ids(json_t *data, const char *attr, bool desc, size_t from, size_t n)
{
    size_t total = json_array_size(data);
    keyed *k = h_own(calloc(total + 1, sizeof *k), free);
    for (size_t i = 0; i < total; i++) k[i] = (keyed){i, json_array_get(data, i)};
    sort_attr = attr;
    sort_desc = desc;
    qsort(k, total, sizeof *k, ref_cmp);
    const char *out = "";
    for (size_t i = from; i < from + n && i < total; i++)
        out = h_strf("%s%s%s", out, *out ? "," : "", json_string_value(json_object_get(k[i].res, "id")));
    return out;
}

static const char *link_of(const h_response *r, const char *name)
{
    json_t *l = json_object_get(json_object_get(h_json(r), "links"), name);
    return json_is_string(l) ? json_string_value(l) : NULL;
}

static void test_sort_and_pages(void **state)
{
    (void)state;
    cluster c;
    start_cluster(&c, NULL, NULL);
    json_t *all = data_of(get(&c, LISTING, "max-age=60"));
    size_t total = json_array_size(all);
    assert_true(total >= 6);

    /* a fresh sorted page: a first round of the fields that order and
     * count, then the page's calls by tag */
    int narrow =
        h_log_count(c.node[1], "method=yeti.show.calls.filtered params=[\"duration\",\"local_tag\"]");
    int by_tag = h_log_count(c.node[1], "method=yeti.show.calls params=[\"n1-");
    h_response *two = get(&c, LISTING "?sort=duration&page%5Bsize%5D=2", NULL);
    assert_string_equal(h_ids(two), ref_ids(all, "duration", false, 0, 2));
    assert_int_equal(
        h_log_count(c.node[1], "method=yeti.show.calls.filtered params=[\"duration\",\"local_tag\"]"),
        narrow + 1);
    assert_int_equal(h_log_count(c.node[1], "method=yeti.show.calls params=[\"n1-"), by_tag + 1);

    /* the longest calls first, with a snapshot to hint how long: one round
     * for the calls at least that long, beside the nodes' counts */
    int counts = h_log_count(c.node[1], "method=yeti.show.calls.count");
    int longer = h_log_count(c.node[1], "\"WHERE\",\"duration>=");
    h_response *one = get(&c, LISTING "?sort=-duration&page%5Bsize%5D=2", NULL);
    assert_string_equal(h_ids(one), ref_ids(all, "duration", true, 0, 2));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(h_json(one), "meta"), "total-count")),
                     (json_int_t)total);
    assert_int_equal(h_log_count(c.node[1], "method=yeti.show.calls.count"), counts + 1);
    assert_int_equal(h_log_count(c.node[1], "\"WHERE\",\"duration>="), longer + 1);
    assert_int_equal(h_log_count(c.node[1], "method=yeti.show.calls params=[\"n1-"),
                     by_tag + 1); /* no 2nd round */
    /* with a filter on the calls, the count is the filter fields' */
    h_response *f =
        get(&c, LISTING "?sort=-duration&page%5Bsize%5D=1&filter%5Bcustomer-acc-id-eq%5D=3002", NULL);
    h_response *fs = get(&c, LISTING "?sort=-duration&filter%5Bcustomer-acc-id-eq%5D=3002", "max-age=60");
    assert_int_equal(json_array_size(data_of(f)), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(data_of(f), 0), "id")),
                        json_string_value(json_object_get(json_array_get(data_of(fs), 0), "id")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(h_json(f), "meta"), "total-count")),
                     (json_int_t)json_array_size(data_of(fs)));

    const char *const cc[] = {NULL, "max-age=60"}; /* fresh and from the snapshot */
    for (int v = 0; v < 2; v++) {
        h_response *r = get(&c, LISTING "?sort=-duration", cc[v]);
        assert_string_equal(h_ids(r), ref_ids(all, "duration", true, 0, total));
        r = get(&c, LISTING "?sort=duration", cc[v]);
        assert_string_equal(h_ids(r), ref_ids(all, "duration", false, 0, total));
        r = get(&c, LISTING "?sort=src-prefix-routing", cc[v]);
        assert_string_equal(h_ids(r), ref_ids(all, "src-prefix-routing", false, 0, total));

        r = get(&c, LISTING "?sort=-duration&page%5Bsize%5D=2&page%5Bnumber%5D=2", cc[v]);
        assert_string_equal(h_ids(r), ref_ids(all, "duration", true, 2, 2));
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(h_json(r), "meta"), "total-count")),
            (json_int_t)total);
        assert_non_null(link_of(r, "first"));
        assert_non_null(link_of(r, "prev"));
        assert_non_null(link_of(r, "last"));
        assert_true(h_matches(link_of(r, "next"), "sort=-duration.*page%5Bnumber%5D=3"));

        /* the last page, partly filled; past the end, empty */
        size_t last = (total + 1) / 2;
        r = get(&c, h_strf(LISTING "?sort=-duration&page%%5Bsize%%5D=2&page%%5Bnumber%%5D=%zu", last), cc[v]);
        assert_string_equal(h_ids(r), ref_ids(all, "duration", true, (last - 1) * 2, 2));
        assert_null(link_of(r, "next"));
        r = get(&c, LISTING "?page%5Bsize%5D=2&page%5Bnumber%5D=99", cc[v]);
        assert_string_equal(h_ids(r), "");
        /* the largest page number: past the end, no overflow */
        r = get(&c, LISTING "?sort=-duration&page%5Bsize%5D=1000&page%5Bnumber%5D=9223372036854775807",
                cc[v]);
        assert_string_equal(h_ids(r), "");
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(h_json(r), "meta"), "total-count")),
            (json_int_t)total);
    }

    /* pages work with include and fields */
    h_response *inc = get(&c,
                          LISTING "?sort=-duration&page%5Bsize%5D=2&include=customer-acc"
                                  "&fields%5Bactive-calls%5D=duration,customer-acc",
                          NULL);
    assert_string_equal(h_ids(inc), ref_ids(all, "duration", true, 0, 2));
    json_t *res0 = json_array_get(data_of(inc), 0);
    assert_string_equal(h_keys(json_object_get(res0, "attributes")), "duration");
    assert_true(json_is_object(
        json_object_get(json_object_get(json_object_get(res0, "relationships"), "customer-acc"), "data")));
    assert_true(json_is_array(json_object_get(h_json(inc), "included")));
    assert_non_null(link_of(inc, "next"));

    const char *hdrs[] = {"Host: example.org", NULL};
    h_response *bad = h_http("GET", h_url(c.server, LISTING "?sort=colour"), hdrs, NULL);
    h_assert_error(bad, 400, 0, "Invalid sort criteria",
                   "colour is not a valid sort criteria for active-calls", "114");
    assert_int_equal(h_stop(c.server), 0);
}

/* ---- counts --------------------------------------------------------------------- */

typedef struct ref_group {
    long long key;
    bool has_key;
    long long count, connected, longest;
    double price[2];
} ref_group;

static double num(json_t *v)
{
    if (json_is_number(v)) return json_number_value(v);
    if (json_is_string(v)) return strtod(json_string_value(v), NULL);
    return 0;
}

/* yeti's formula, written again here as the reference. */
static double ref_cost(json_t *call, const char *side)
{
    json_t *d = json_object_get(call, "duration");
    if (!json_is_number(d)) return 0;
    double dur = floor(json_number_value(d));
    double ii = num(json_object_get(call, h_strf("%s_initial_interval", side)));
    double ir = num(json_object_get(call, h_strf("%s_initial_rate", side)));
    double ni = num(json_object_get(call, h_strf("%s_next_interval", side)));
    double nr = num(json_object_get(call, h_strf("%s_next_rate", side)));
    double fee = num(json_object_get(call, h_strf("%s_fee", side)));
    double cost = fee + ii * ir / 60;
    if (dur > ii && ni > 0) cost += ceil((dur - ii) / ni) * ni * nr / 60;
    return cost;
}

/* Groups by `field` (NULL: one group) over the call files of nodes 1, 2. */
static ref_group *ref_groups(const char *field, size_t *n)
{
    ref_group *g = h_own(calloc(64, sizeof *g), free);
    *n = 0;
    for (int node = 1; node <= 2; node++) {
        json_t *calls = h_load_json_file(h_data_path(h_strf("filter_calls_node%d.json", node)));
        size_t i;
        json_t *call;
        json_array_foreach(calls, i, call)
        {
            if (!json_is_string(json_object_get(call, "local_tag"))) continue;
            json_t *kv = field ? json_object_get(call, field) : NULL;
            bool has = json_is_integer(kv);
            long long key = has ? json_integer_value(kv) : 0;
            size_t k = 0;
            while (k < *n && !(g[k].has_key == has && g[k].key == key)) k++;
            if (k == *n) {
                assert_true(*n < 64);
                g[(*n)++] = (ref_group){key, has, 0, 0, -1, {0, 0}};
            }
            g[k].count++;
            if (num(json_object_get(call, "connect_time")) != 0) g[k].connected++;
            json_t *d = json_object_get(call, "duration");
            if (json_is_number(d) && (long long)json_number_value(d) > g[k].longest)
                g[k].longest = (long long)json_number_value(d);
            g[k].price[0] += ref_cost(call, "destination");
            g[k].price[1] += ref_cost(call, "dialpeer");
        }
    }
    return g;
}

static void assert_group(json_t *res, const ref_group *g, const char *key_attr)
{
    json_t *at = json_object_get(res, "attributes");
    assert_string_equal(json_string_value(json_object_get(res, "type")), "active-call-counts");
    if (key_attr) {
        json_t *k = json_object_get(at, key_attr);
        if (g->has_key)
            assert_int_equal(json_integer_value(k), g->key);
        else
            assert_true(json_is_null(k));
    }
    assert_int_equal(json_integer_value(json_object_get(at, "count")), g->count);
    assert_int_equal(json_integer_value(json_object_get(at, "connected-count")), g->connected);
    json_t *longest = json_object_get(at, "longest-duration");
    if (g->longest < 0)
        assert_true(json_is_null(longest));
    else
        assert_int_equal(json_integer_value(longest), g->longest);
    assert_true(fabs(json_number_value(json_object_get(at, "customer-price")) - g->price[0]) < 1e-6);
    assert_true(fabs(json_number_value(json_object_get(at, "vendor-price")) - g->price[1]) < 1e-6);
}

static void test_counts(void **state)
{
    (void)state;
    cluster c;
    start_cluster(&c, NULL, NULL);
    const char *const cc[] = {NULL, "max-age=60"};
    for (int v = 0; v < 2; v++) {
        size_t n;
        ref_group *want = ref_groups("customer_acc_id", &n);
        h_response *r = get(&c, COUNTS "?group-by=customer-acc-id", cc[v]);
        json_t *data = data_of(r);
        assert_int_equal(json_array_size(data), n);
        for (size_t i = 0; i < n; i++) { /* in order of first appearance */
            json_t *res = json_array_get(data, i);
            assert_group(res, &want[i], "customer-acc-id");
            assert_string_equal(json_string_value(json_object_get(res, "id")),
                                want[i].has_key ? h_strf("%lld", want[i].key) : "null");
        }
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(h_json(r), "meta"), "total-count")),
            (json_int_t)n);
        assert_true((h_header_value(r, "age") != NULL) == (v == 1));

        /* no key: one group of every call */
        size_t one;
        ref_group *every = ref_groups(NULL, &one);
        r = get(&c, COUNTS, cc[v]);
        assert_int_equal(json_array_size(data_of(r)), 1);
        assert_group(json_array_get(data_of(r), 0), &every[0], NULL);
        assert_string_equal(json_string_value(json_object_get(json_array_get(data_of(r), 0), "id")), "all");

        /* the biggest group first, one per page */
        r = get(&c, COUNTS "?group-by=customer_acc_id&sort=-count,customer-acc-id&page%5Bsize%5D=1", cc[v]);
        assert_int_equal(json_array_size(data_of(r)), 1);
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (want[i].count > want[best].count ||
                (want[i].count == want[best].count && want[i].has_key &&
                 (!want[best].has_key || want[i].key < want[best].key)))
                best = i;
        assert_group(json_array_get(data_of(r), 0), &want[best], "customer-acc-id");
        assert_non_null(link_of(r, "next"));

        /* two keys: node and pop */
        r = get(&c, COUNTS "?group-by=node-id,pop-id", cc[v]);
        assert_int_equal(json_array_size(data_of(r)), 2);
        assert_string_equal(json_string_value(json_object_get(json_array_get(data_of(r), 0), "id")), "1,1");
        assert_string_equal(json_string_value(json_object_get(json_array_get(data_of(r), 1), "id")), "2,1");

        /* filters apply before grouping */
        r = get(&c, h_strf(COUNTS "?filter%%5Bnode-id-eq%%5D=2"), cc[v]);
        h_response *l = get(&c, LISTING "?filter%5Bnode-id-eq%5D=2", cc[v]);
        assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(json_array_get(data_of(r), 0), "attributes"), "count")),
                         (json_int_t)json_array_size(data_of(l)));
    }
    const char *hdrs[] = {"Host: example.org", NULL};
    h_response *bad = h_http("GET", h_url(c.server, COUNTS "?group-by=colour"), hdrs, NULL);
    assert_int_equal(bad->status, 400);
    assert_true(h_matches(json_string_value(json_object_get(
                              json_array_get(json_object_get(h_json(bad), "errors"), 0), "detail")),
                          "colour"));
    bad = h_http("GET", h_url(c.server, COUNTS "?group-by=node-id&sort=customer-acc-id"), hdrs, NULL);
    h_assert_error(bad, 400, 0, "Invalid sort criteria",
                   "customer-acc-id is not a valid sort criteria for active-call-counts", "114");
    bad = h_http("GET", h_url(c.server, COUNTS "?include=customer"), hdrs, NULL);
    assert_int_equal(bad->status, 400);
    bad = h_http("POST", h_url(c.server, COUNTS), hdrs, NULL);
    assert_int_equal(bad->status, 405);
    assert_int_equal(h_stop(c.server), 0);
}

/* ---- push-down ------------------------------------------------------------------- */

#define PUSHED "filter%5Bcustomer-acc-id-eq%5D=3000&filter%5Bduration-less-than%5D=100000000"

static void test_pushdown(void **state)
{
    (void)state;
    cluster c;
    start_cluster(&c, NULL, NULL);
    h_response *snap = get(&c, LISTING "?" PUSHED, "max-age=60"); /* filtered here, from the snapshot */
    assert_int_equal(h_log_count(c.node[1], "yeti.show.calls.filtered"), 0);
    h_response *live = get(&c, LISTING "?" PUSHED, NULL);
    assert_string_equal(h_ids(live), h_ids(snap));
    assert_true(strlen(h_ids(live)) > 0);
    for (int i = 1; i <= 2; i++) {
        assert_int_equal(h_log_count(c.node[i], "method=yeti.show.calls.filtered"), 1);
        assert_int_equal(h_log_count(c.node[i], "\"WHERE\",\"customer_acc_id=3000\",\"duration<=100000000\""),
                         1);
    }
    /* a list of values stays on the service's side: the plain method */
    int plain = h_log_count(c.node[1], "method=yeti.show.calls params=[]");
    get(&c, LISTING "?filter%5Bcustomer-acc-id-eq%5D=3002,3003", NULL);
    assert_int_equal(h_log_count(c.node[1], "method=yeti.show.calls params=[]"), plain + 1);
    assert_int_equal(h_log_count(c.server, "pushdown-refused"), 0);
    assert_int_equal(h_stop(c.server), 0);
}

static void test_pushdown_refused(void **state)
{
    (void)state;
    cluster c;
    start_cluster(&c, "--without-filtered", NULL);
    h_response *snap = get(&c, LISTING "?" PUSHED, "max-age=60");
    h_response *live = get(&c, LISTING "?" PUSHED, NULL);
    assert_string_equal(h_ids(live), h_ids(snap)); /* node 2's calls came by the plain method */
    assert_int_equal(h_log_count(c.node[2], "method=yeti.show.calls.filtered"), 1);
    assert_int_equal(h_log_count(c.server, "msg=pushdown-refused node=2"), 1);
    assert_int_equal(h_log_count(c.server, "msg=pushdown-refused"), 1);
    /* remembered: asked plainly at once next time; node 1 still filtered */
    int plain = h_log_count(c.node[2], "method=yeti.show.calls params=[]");
    get(&c, LISTING "?" PUSHED, NULL);
    assert_int_equal(h_log_count(c.node[2], "method=yeti.show.calls.filtered"), 1);
    assert_int_equal(h_log_count(c.node[2], "method=yeti.show.calls params=[]"), plain + 1);
    assert_int_equal(h_log_count(c.node[1], "method=yeti.show.calls.filtered"), 2);
    assert_int_equal(h_stop(c.server), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snapshots, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_names_failed_nodes, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_sort_and_pages, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_counts, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_pushdown, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_pushdown_refused, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
