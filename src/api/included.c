/* included: batched resolution of include paths; see included.h. */
#include "api/included.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/grow.h"

/* Every type after each type that has a relationship to it. */
static const res_type_id fetch_order[RT_COUNT] = {
    RT_CUSTOMERS_AUTHS, RT_DIALPEERS,        RT_NODES,     RT_GATEWAYS,  RT_ACCOUNTS,
    RT_CONTRACTORS,     RT_SMTP_CONNECTIONS, RT_POPS,      RT_RATEPLANS, RT_ROUTING_PLANS,
    RT_ROUTING_GROUPS,  RT_DESTINATIONS,     RT_COUNTRIES, RT_NETWORKS,
};

typedef struct id_vec {
    int64_t *v;
    size_t n, cap;
} id_vec;

static bool push(id_vec *x, int64_t id)
{
    if (id == CALL_ID_NONE) return true;
    if (!grow((void **)&x->v, &x->cap, x->n + 1, sizeof *x->v, 16)) return false;
    x->v[x->n++] = id;
    return true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void free_vecs(id_vec *ids, int n)
{
    for (int i = 0; i < n; i++) free(ids[i].v);
    free(ids);
}

/* The calls' ids for each top-level include node. */
static bool seed_from_calls(const include_tree *tree, id_vec *ids, const call_ref_rec *calls, size_t n)
{
    for (int i = 0; i < tree->n; i++) {
        const include_node *nd = &tree->nodes[i];
        if (nd->parent >= 0) continue;
        for (size_t c = 0; c < n; c++)
            if (!push(&ids[i], doc_call_rel_id(calls[c].node_id, calls[c].rec, nd->rel))) return false;
    }
    return true;
}

/* Fetches type t for every node of that type, marks what was reached and
 * pushes the next step's ids to the children. */
static int fetch_type(included *inc, store *st, const include_tree *tree, id_vec *ids, res_type_id t,
                      char err[STORE_ERR_LEN])
{
    id_vec all = {0};
    for (int i = 0; i < tree->n; i++) {
        if (tree->nodes[i].type != (int)t) continue;
        for (size_t k = 0; k < ids[i].n; k++)
            if (!push(&all, ids[i].v[k])) goto oom;
    }
    if (all.n == 0) return 0;
    qsort(all.v, all.n, sizeof *all.v, cmp_i64);
    size_t u = 0;
    for (size_t k = 0; k < all.n; k++)
        if (k == 0 || all.v[k] != all.v[u - 1]) all.v[u++] = all.v[k];
    store_status s = store_fetch(st, t, all.v, u, &inc->rows[t], err);
    free(all.v);
    all.v = NULL;
    if (s != STORE_OK) return -1;
    inc->reached[t] = calloc(inc->rows[t].n ? inc->rows[t].n : 1, 1);
    if (!inc->reached[t]) goto oom;

    for (int i = 0; i < tree->n; i++) {
        if (tree->nodes[i].type != (int)t) continue;
        for (size_t k = 0; k < ids[i].n; k++) {
            const res_row *row = res_rows_find(&inc->rows[t], ids[i].v[k]);
            if (!row) continue;
            inc->reached[t][row - inc->rows[t].rows] = 1;
            for (int c = 0; c < tree->n; c++)
                if (tree->nodes[c].parent == i &&
                    !push(&ids[c], call_rel_id_parse(row->vals[tree->nodes[c].rel])))
                    goto oom;
        }
    }
    return 0;
oom:
    free(all.v);
    snprintf(err, STORE_ERR_LEN, "out of memory");
    return -1;
}

int included_resolve(included *inc, store *st, const include_tree *tree, const call_ref_rec *calls, size_t n,
                     char err[STORE_ERR_LEN])
{
    memset(inc, 0, sizeof *inc);
    if (tree->n == 0) return 0;
    id_vec *ids = calloc((size_t)tree->n, sizeof *ids);
    if (!ids || !seed_from_calls(tree, ids, calls, n)) {
        free_vecs(ids, ids ? tree->n : 0);
        snprintf(err, STORE_ERR_LEN, "out of memory");
        return -1;
    }
    int rc = 0;
    for (int k = 0; k < RT_COUNT && rc == 0; k++) rc = fetch_type(inc, st, tree, ids, fetch_order[k], err);
    free_vecs(ids, tree->n);
    return rc;
}

size_t included_write(const included *inc, buf *out, doc_base base, const fieldsets *fs)
{
    size_t written = 0;
    for (int t = 0; t < RT_COUNT; t++) {
        for (size_t i = 0; i < inc->rows[t].n; i++) {
            if (!inc->reached[t][i]) continue;
            if (written++) buf_putc(out, ',');
            doc_related_resource(out, base, t, &inc->rows[t].rows[i], fs->types[t]);
        }
    }
    return written;
}

void included_free(included *inc)
{
    for (int t = 0; t < RT_COUNT; t++) {
        res_rows_free(&inc->rows[t]);
        free(inc->reached[t]);
    }
    memset(inc, 0, sizeof *inc);
}
