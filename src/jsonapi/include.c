/* include: parsing include paths into a tree; see include.h. */
#include "jsonapi/include.h"

#include <string.h>

#include "jsonapi/fields.h"
#include "jsonapi/query.h"
#include "model/calls.h"

#define ECHO_MAX 100

void include_init(include_tree *t)
{
    t->n = 0;
    t->call_rels = 0;
}

static void bad_step(jsonapi_errors *errs, const char *step, size_t len, const char *type)
{
    jerr_add(errs, 400, "112", "Invalid field", "%.*s is not a valid includable relationship of %s",
             (int)(len < ECHO_MAX ? len : ECHO_MAX), step, type);
}

/* The node for (parent, rel), added when new; -1 when the tree is full. */
static int node_for(include_tree *t, int parent, int rel, int type)
{
    for (int i = 0; i < t->n; i++)
        if (t->nodes[i].parent == parent && t->nodes[i].rel == rel) return i;
    if (t->n == INCLUDE_MAX_NODES) return -1;
    t->nodes[t->n] = (include_node){parent, rel, type};
    return t->n++;
}

/* Column of type `type` that is the relationship `name`, or -1. */
static int rel_column(int type, const char *name, size_t len)
{
    const res_type *rt = &res_types[type];
    for (size_t i = 0; i < rt->ncols; i++) {
        const res_col *c = &rt->cols[i];
        if (c->kind == COL_REL && strlen(c->rel_name) == len && memcmp(c->rel_name, name, len) == 0)
            return (int)i;
    }
    return -1;
}

static void parse_path(include_tree *t, const char *p, size_t len, jsonapi_errors *errs)
{
    int node = -1, type = -1, depth = 0;
    const char *end = p + len;
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t slen = dot ? (size_t)(dot - p) : (size_t)(end - p);
        const char *type_name = node < 0 ? "active-calls" : res_types[type].type;
        if (++depth > INCLUDE_MAX_DEPTH) {
            bad_step(errs, p, slen, type_name);
            return;
        }
        int rel, next_type;
        if (node < 0) {
            rel = call_rel_index(p, slen);
            next_type = rel >= 0 ? res_type_find(call_rels[rel].type, strlen(call_rels[rel].type)) : -1;
        } else {
            rel = rel_column(type, p, slen);
            next_type = rel >= 0 ? res_type_find(res_types[type].cols[rel].rel_type,
                                                 strlen(res_types[type].cols[rel].rel_type))
                                 : -1;
        }
        if (rel < 0 || next_type < 0) {
            bad_step(errs, p, slen, type_name);
            return;
        }
        int child = node_for(t, node, rel, next_type);
        if (child < 0) {
            jerr_add(errs, 400, "112", "Invalid field", "Too many include paths.");
            return;
        }
        if (node < 0) t->call_rels |= 1u << rel;
        node = child;
        type = next_type;
        p = dot ? dot + 1 : end;
        if (dot && p == end) {
            bad_step(errs, "", 0, res_types[type].type);
            return;
        }
    }
}

void include_parse(include_tree *t, const char *value, jsonapi_errors *errs)
{
    const char *next = value, *p;
    size_t len;
    while (query_list_next(&next, &p, &len))
        if (len) parse_path(t, p, len, errs);
}
