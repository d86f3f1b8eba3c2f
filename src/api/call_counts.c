/* call_counts: GET /api/rest/admin/active-call-counts (docs/API.md,
 * "Grouped counts").
 *
 * The calls that pass the listing's filters are grouped by the keys of
 * `group-by` (the node, its pop, and the calls' related ids) in one pass,
 * with an open-addressing hash table on the tuple of key values. A group
 * counts its calls, those connected, the longest duration, and what the
 * calls cost so far for the customer and the vendor (model/calls.h:
 * call_cost). The
 * groups are then ordered (`sort`, top-k for a page; by default in order
 * of first appearance, i.e. the listing's order) and paged like calls,
 * and written as resources of type active-call-counts, whose id is the
 * key values joined by commas ("null" for a call without that id). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "api/listing.h"
#include "util/grow.h"
#include "util/topk.h"

enum { CK_COUNT = REL_COUNT, CK_CONNECTED, CK_LONGEST, CK_CUSTOMER_PRICE, CK_VENDOR_PRICE, CK_END };

static const char *const measure_names[CK_END - CK_COUNT] = {"count", "connected-count", "longest-duration",
                                                             "customer-price", "vendor-price"};

int counts_sort_index(const char *name, size_t len) /* sort_parse hands it dashed */
{
    int k = params_rel_key(name, len);
    for (int m = CK_COUNT; k < 0 && m < CK_END; m++)
        if (strlen(measure_names[m - CK_COUNT]) == len && memcmp(measure_names[m - CK_COUNT], name, len) == 0)
            k = m;
    return k;
}

/* ---- groups ---------------------------------------------------------------- */

typedef struct group {
    int64_t key[REL_COUNT]; /* [0..ngroup): the values, CALL_ID_NONE for none */
    uint64_t count, connected;
    int64_t longest; /* CALL_DURATION_NULL: no call connected */
    double price[2]; /* customer, vendor */
    size_t seq;      /* order of first appearance */
} group;

typedef struct grouping {
    const int *keys;
    size_t nkeys;
    group *g;
    size_t n, cap;
    uint32_t *slot; /* 0: empty, else group index + 1 */
    size_t nslots;  /* a power of two, over twice the groups */
} grouping;

static uint64_t key_hash(const int64_t *key, size_t n) { return XXH3_64bits(key, n * sizeof *key); }

static bool rehash(grouping *gr, size_t nslots)
{
    uint32_t *slot = calloc(nslots, sizeof *slot);
    if (!slot) return false;
    for (size_t i = 0; i < gr->n; i++) {
        size_t h = key_hash(gr->g[i].key, gr->nkeys) & (nslots - 1);
        while (slot[h]) h = (h + 1) & (nslots - 1);
        slot[h] = (uint32_t)i + 1;
    }
    free(gr->slot);
    gr->slot = slot;
    gr->nslots = nslots;
    return true;
}

/* The group of these key values, made if new; NULL when out of memory. */
static group *group_of(grouping *gr, const int64_t *key)
{
    size_t h = key_hash(key, gr->nkeys) & (gr->nslots - 1);
    for (; gr->slot[h]; h = (h + 1) & (gr->nslots - 1)) {
        group *g = &gr->g[gr->slot[h] - 1];
        if (memcmp(g->key, key, gr->nkeys * sizeof *key) == 0) return g;
    }
    if (gr->n >= UINT32_MAX - 1 || !grow((void **)&gr->g, &gr->cap, gr->n + 1, sizeof *gr->g, 64))
        return NULL;
    group *g = &gr->g[gr->n];
    memset(g, 0, sizeof *g);
    memcpy(g->key, key, gr->nkeys * sizeof *key);
    g->longest = CALL_DURATION_NULL;
    g->seq = gr->n;
    gr->slot[h] = (uint32_t)++gr->n;
    if (gr->n * 2 > gr->nslots && !rehash(gr, gr->nslots * 2)) return NULL;
    return g;
}

static bool group_calls(grouping *gr, const fanout_plan *plan, const call_ref_rec *calls, size_t n)
{
    if (!rehash(gr, 64)) return false;
    int64_t key[REL_COUNT];
    for (size_t i = 0; i < n; i++) {
        const call_record *r = calls[i].rec;
        const callset *cs = &plan->results[calls[i].node].calls;
        for (size_t k = 0; k < gr->nkeys; k++) {
            int rel = gr->keys[k];
            key[k] = rel == REL_NODE ? calls[i].node_id
                : rel == REL_POP     ? plan->pop_ids[calls[i].node]
                                     : r->rel_id[rel];
        }
        group *g = group_of(gr, key);
        if (!g) return false;
        g->count++;
        if (r->attr[ATTR_CONNECT_TIME].len) g->connected++;
        if (r->duration != CALL_DURATION_NULL &&
            (g->longest == CALL_DURATION_NULL || r->duration > g->longest))
            g->longest = r->duration;
        g->price[0] += call_cost(cs, r, false, 0);
        g->price[1] += call_cost(cs, r, true, 0);
    }
    return true;
}

/* ---- order ----------------------------------------------------------------- */

typedef struct gorder {
    const grouping *gr;
    const sort_spec *sort;
} gorder;

/* -1/0/1 on two values of measure or key `k`; *null_a, *null_b set. */
static int measure_cmp(const grouping *gr, const group *a, const group *b, int k, bool *na, bool *nb)
{
    *na = *nb = false;
    if (k < REL_COUNT) {
        size_t at = 0;
        while (at < gr->nkeys && gr->keys[at] != k) at++;
        int64_t x = a->key[at], y = b->key[at];
        *na = x == CALL_ID_NONE;
        *nb = y == CALL_ID_NONE;
        return (x > y) - (x < y);
    }
    switch (k) {
    case CK_COUNT: return (a->count > b->count) - (a->count < b->count);
    case CK_CONNECTED: return (a->connected > b->connected) - (a->connected < b->connected);
    case CK_LONGEST:
        *na = a->longest == CALL_DURATION_NULL;
        *nb = b->longest == CALL_DURATION_NULL;
        return (a->longest > b->longest) - (a->longest < b->longest);
    default: {
        double x = a->price[k - CK_CUSTOMER_PRICE], y = b->price[k - CK_CUSTOMER_PRICE];
        return (x > y) - (x < y);
    }
    }
}

static int group_cmp(const void *x, const void *y, void *arg)
{
    const group *a = x, *b = y;
    const gorder *o = arg;
    for (size_t i = 0; i < o->sort->n; i++) {
        bool na, nb;
        int c = measure_cmp(o->gr, a, b, o->sort->keys[i].key, &na, &nb);
        if (na || nb) {
            if (na != nb) return na ? 1 : -1; /* nulls last */
            continue;
        }
        if (c) return o->sort->keys[i].desc ? -c : c;
    }
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* ---- the document ---------------------------------------------------------- */

static void put_key_value(buf *out, int64_t v)
{
    if (v == CALL_ID_NONE)
        buf_puts(out, "null");
    else
        buf_put_i64(out, v);
}

static void put_price(buf *out, double v)
{
    char num[64];
    snprintf(num, sizeof num, "%.6f", v);
    buf_puts(out, num);
}

static void write_group(buf *out, const grouping *gr, const group *g)
{
    buf_puts(out, "{\"type\":\"active-call-counts\",\"id\":\"");
    if (gr->nkeys == 0) buf_puts(out, "all");
    for (size_t k = 0; k < gr->nkeys; k++) {
        if (k) buf_putc(out, ',');
        put_key_value(out, g->key[k]);
    }
    buf_puts(out, "\",\"attributes\":{");
    bool first = true;
    for (size_t k = 0; k < gr->nkeys; k++) {
        const char *name = call_rels[gr->keys[k]].name;
        buf_puts(out, first ? "\"" : ",\"");
        buf_puts(out, name);
        buf_puts(out, "-id\":");
        put_key_value(out, g->key[k]);
        first = false;
    }
    for (int m = CK_COUNT; m < CK_END; m++) {
        buf_puts(out, first ? "\"" : ",\"");
        buf_puts(out, measure_names[m - CK_COUNT]);
        buf_puts(out, "\":");
        switch (m) {
        case CK_COUNT: buf_put_i64(out, (int64_t)g->count); break;
        case CK_CONNECTED: buf_put_i64(out, (int64_t)g->connected); break;
        case CK_LONGEST: put_key_value(out, g->longest); break;
        default: put_price(out, g->price[m - CK_CUSTOMER_PRICE]); break;
        }
        first = false;
    }
    buf_puts(out, "}}");
}

void counts_write(const http_request *req, const fanout_plan *plan, const api_params *p, doc_base base,
                  http_response *res)
{
    size_t n;
    call_ref_rec *calls = listing_matching(plan, &p->filters, &n);
    grouping gr = {.keys = p->group, .nkeys = p->ngroup};
    bool ok = calls && group_calls(&gr, plan, calls, n);
    size_t from = 0, count = 0;
    if (ok) {
        listing_page(&p->page, gr.n, &from, &count);
        gorder o = {&gr, &p->sort};
        ok = !p->sort.n || topk_sort(gr.g, gr.n, sizeof *gr.g, from + count, group_cmp, &o);
    }
    if (ok) {
        buf_puts(&res->body, "{\"data\":[");
        for (size_t i = from; i < from + count; i++) {
            if (i > from) buf_putc(&res->body, ',');
            write_group(&res->body, &gr, &gr.g[i]);
        }
        buf_putc(&res->body, ']');
        listing_links(&res->body, base, req, p, gr.n);
        listing_meta(&res->body, gr.n, plan, NULL);
        ok = !res->body.oom;
    }
    if (ok)
        res->status = 200;
    else
        http_error(res, 500, "Internal server error", "Out of memory.");
    free(gr.g);
    free(gr.slot);
    free(calls);
}
