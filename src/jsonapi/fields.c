/* fields: parsing of sparse fieldsets; see fields.h. */
#include "jsonapi/fields.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "jsonapi/query.h"
#include "model/calls.h"

#define ECHO_MAX 100

void fieldsets_init(fieldsets *f)
{
    f->calls = FIELDS_ALL;
    for (int t = 0; t < RT_COUNT; t++) f->types[t] = FIELDS_ALL;
}

const char *res_col_name(const res_col *c, char out[64])
{
    if (c->kind == COL_REL) return c->rel_name;
    size_t i = 0;
    for (; c->column[i] && i < 63; i++) out[i] = c->column[i] == '_' ? '-' : c->column[i];
    out[i] = '\0';
    return out;
}

/* Bit of `name` in the type's field list, or -1. type -1 = active-calls. */
static int field_bit(int type, const char *name, size_t len)
{
    if (type < 0) {
        int a = call_attr_index(name, len);
        if (a >= 0) return a;
        int r = call_rel_index(name, len);
        return r >= 0 ? ATTR_COUNT + r : -1;
    }
    const res_type *t = &res_types[type];
    for (size_t i = 0; i < t->ncols; i++) {
        char tmp[64];
        const char *n = res_col_name(&t->cols[i], tmp);
        if (strlen(n) == len && memcmp(n, name, len) == 0) return (int)i;
    }
    return -1;
}

void fieldsets_parse(fieldsets *f, const char *key, const char *value, jsonapi_errors *errs)
{
    size_t klen = strlen(key);
    const char *type = key + strlen("fields[");
    size_t tlen = klen > strlen("fields[]") && key[klen - 1] == ']' ? klen - strlen("fields[]") : 0;
    bool calls = tlen == strlen("active-calls") && memcmp(type, "active-calls", tlen) == 0;
    int t = calls ? -1 : tlen ? res_type_find(type, tlen) : -2;
    if (!calls && t < 0) {
        jerr_add(errs, 400, "101", "Invalid resource", "%.*s is not a valid resource.",
                 (int)(tlen && tlen < ECHO_MAX ? tlen : (klen < ECHO_MAX ? klen : ECHO_MAX)),
                 tlen ? type : key);
        return;
    }
    uint64_t mask = 0;
    const char *next = value, *p;
    size_t len;
    while (query_list_next(&next, &p, &len)) {
        if (len) {
            int bit = field_bit(t, p, len);
            if (bit < 0)
                jerr_add(errs, 400, "104", "Invalid field", "%.*s is not a valid field for %s.",
                         (int)(len < ECHO_MAX ? len : ECHO_MAX), p,
                         t < 0 ? "active-calls" : res_types[t].type);
            else
                mask |= (uint64_t)1 << bit;
        }
    }
    if (t < 0)
        f->calls = mask;
    else
        f->types[t] = mask;
}
