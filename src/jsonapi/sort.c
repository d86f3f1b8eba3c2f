/* sort: parsing of the sort parameter; see sort.h. */
#include "jsonapi/sort.h"

#include <string.h>

#include "jsonapi/query.h"

#define ECHO_MAX 100 /* longest user text echoed back in an error detail */
#define NAME_MAX_LEN 64

void sort_criteria_refused(jsonapi_errors *errs, const char *text, size_t n, const char *type)
{
    jerr_add(errs, 400, "114", "Invalid sort criteria", "%.*s%s is not a valid sort criteria for %s",
             (int)(n > ECHO_MAX ? ECHO_MAX : n), text, n > ECHO_MAX ? "..." : "", type);
}

static bool blank(const char *s)
{
    while (*s == ' ') s++;
    return *s == '\0';
}

int sort_parse(sort_spec *s, const char *value, int (*key_index)(const char *name, size_t len),
               const char *type, jsonapi_errors *errs)
{
    int before = errs->n;
    if (blank(value)) return 0;
    const char *next = value, *item;
    size_t len;
    bool list_ok = true;
    while (query_list_next(&next, &item, &len)) {
        bool desc = len > 0 && item[0] == '-';
        item += desc;
        len -= desc;
        if (len == 0) {
            list_ok = false;
            continue;
        }
        char name[NAME_MAX_LEN];
        int key = query_name_dashed(item, len, name, sizeof name) ? key_index(name, len) : -1;
        if (key < 0) {
            sort_criteria_refused(errs, item, len, type);
            continue;
        }
        bool seen = false;
        for (size_t i = 0; i < s->n; i++) seen |= s->keys[i].key == key;
        if (seen) continue;
        if (s->n == SORT_KEYS_MAX) {
            list_ok = false;
            continue;
        }
        s->keys[s->n++] = (sort_key){key, desc};
    }
    if (!list_ok) sort_criteria_refused(errs, value, strlen(value), type);
    return errs->n - before;
}
