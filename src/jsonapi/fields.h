/* fields: sparse fieldsets, `fields[<type>]=a,b` (JSON:API 1.0).
 *
 * For active-calls and each related type, a bit mask of the fields to
 * print: for active-calls bit i < ATTR_COUNT is attribute i and bit
 * ATTR_COUNT + k is relationship k; for a related type bit i is column i of
 * its res_types entry (attribute or relationship). A type without a
 * fields[] parameter prints everything. Unknown type → 400 code 101;
 * unknown field name → 400 code 104. */
#ifndef AC_JSONAPI_FIELDS_H
#define AC_JSONAPI_FIELDS_H

#include <stdint.h>

#include "jsonapi/errors.h"
#include "store/resources.h"

#define FIELDS_ALL UINT64_MAX

typedef struct fieldsets {
    uint64_t calls;           /* active-calls */
    uint64_t types[RT_COUNT]; /* related types */
} fieldsets;

void fieldsets_init(fieldsets *f);

/* Parses one `fields[...]` parameter (key as sent); errors go to errs. */
void fieldsets_parse(fieldsets *f, const char *key, const char *value, jsonapi_errors *errs);

static inline int fields_has(uint64_t mask, int bit) { return (mask >> bit) & 1u; }

/* The API name of column c of a related type: rel_name for relationships,
 * else the column dasherized (written into out). */
const char *res_col_name(const res_col *c, char out[64]);

#endif
