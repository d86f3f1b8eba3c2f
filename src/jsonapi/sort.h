/* sort: the `sort` parameter (docs/API.md, "Sorting and pages") — a comma
 * list of keys, each optionally prefixed '-' for descending, as
 * jsonapi-resources reads it. Which names are keys is the caller's
 * (key_index): the listing sorts by its attributes, the counts by their
 * own columns. Applying the order is the caller's too. */
#ifndef AC_JSONAPI_SORT_H
#define AC_JSONAPI_SORT_H

#include <stdbool.h>
#include <stddef.h>

#include "jsonapi/errors.h"

#define SORT_KEYS_MAX 16

typedef struct sort_key {
    int key;
    bool desc;
} sort_key;

typedef struct sort_spec {
    sort_key keys[SORT_KEYS_MAX];
    size_t n;
} sort_spec;

/* Parses a sort value into s, after the keys already there (zero s
 * first; `sort=a&sort=b` is `sort=a,b`): a comma list, spaces around an
 * item ignored, '-' before a name = descending. A name may be written
 * with underscores for dashes (query_name_dashed); key_index gets it
 * dashed and maps it to its index or -1. Returns the errors added, each a
 * 400 with code 114 and title "Invalid sort criteria" (jsonapi-resources'
 * code and words, docs/CONTRACT.md §5):
 *   - an unknown key: "<key> is not a valid sort criteria for <type>", the
 *     key as sent, without its '-';
 *   - an empty item ("a,,b", "a,", "-") or more than SORT_KEYS_MAX keys:
 *     "<value> is not a valid sort criteria for <type>", the whole value.
 * A value that is empty or only spaces sorts by nothing. The same key
 * twice: the first wins ("a,-a" is "a"). */
/* The 400 for criteria text[0..n) of `type` (code 114, cut at 100 bytes,
 * marked "..."), for a key an endpoint refuses after parsing too. */
void sort_criteria_refused(jsonapi_errors *errs, const char *text, size_t n, const char *type);

int sort_parse(sort_spec *s, const char *value, int (*key_index)(const char *name, size_t len),
               const char *type, jsonapi_errors *errs);

#endif
