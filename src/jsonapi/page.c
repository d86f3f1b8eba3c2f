/* page: page[...] parameters and the links of a paged answer; see page.h. */
#include "jsonapi/page.h"

#include "jsonapi/query.h"

#include <string.h>

#include "util/decimal.h"

#define ECHO_MAX 100 /* longest user text echoed back in an error detail */
#define PAGE_NUMBER "page[number]"

static void bad_page_value(jsonapi_errors *errs, const char *value, const char *which)
{
    size_t n = strlen(value);
    jerr_add(errs, 400, "118", "Invalid page value", "%.*s%s is not a valid value for %s page parameter.",
             (int)(n > ECHO_MAX ? ECHO_MAX : n), value, n > ECHO_MAX ? "..." : "", which);
}

int page_param(page_spec *p, const char *key, const char *value, int64_t default_size, int64_t max_size,
               jsonapi_errors *errs)
{
    int before = errs->n;
    if (!p->given) *p = (page_spec){true, 1, default_size};
    size_t klen = strlen(key);
    bool bracketed = klen >= strlen("page[]") && key[klen - 1] == ']';
    const char *name = bracketed ? key + strlen("page[") : key;
    size_t nlen = bracketed ? klen - strlen("page[]") : klen;
    int64_t v = 0;
    bool valid = decimal_positive_i64(value, strlen(value), &v);
    if (bracketed && nlen == 6 && memcmp(name, "number", 6) == 0) {
        if (valid)
            p->number = v;
        else
            bad_page_value(errs, value, "number");
    } else if (bracketed && nlen == 4 && memcmp(name, "size", 4) == 0) {
        if (!valid)
            bad_page_value(errs, value, "size");
        else if (v > max_size)
            jerr_add(errs, 400, "118", "Invalid page value", "size exceeds maximum page size of %lld.",
                     (long long)max_size);
        else
            p->size = v;
    } else {
        jerr_add(errs, 400, "105", "Page parameter not allowed", "%.*s%s is not an allowed page parameter.",
                 (int)(nlen > ECHO_MAX ? ECHO_MAX : nlen), name, nlen > ECHO_MAX ? "..." : "");
    }
    return errs->n - before;
}

/* One parameter of a link's query: key=value, or key=number when value
 * is NULL. */
static void put_param(buf *out, char *sep, const char *key, const char *value, int64_t number)
{
    buf_putc(out, *sep);
    *sep = '&';
    buf_put_url_query_part(out, key, strlen(key));
    buf_putc(out, '=');
    if (value)
        buf_put_url_query_part(out, value, strlen(value));
    else
        buf_put_i64(out, number);
}

/* One member of links: "<name>":"<self_base>?<params, page[number]=number>" */
static void put_link(buf *out, const char *name, const char *self_base, const query_param *params, size_t n,
                     int64_t number)
{
    buf_printf(out, "\"%s\":\"%s", name, self_base);
    bool numbered = false;
    char sep = '?';
    for (size_t i = 0; i < n; i++) {
        bool is_number = strcmp(params[i].key, PAGE_NUMBER) == 0;
        if (is_number && numbered) continue;
        if (query_key_of(params[i].key) == QUERY_KEY_TOKEN) continue; /* a credential is never echoed */
        put_param(out, &sep, params[i].key, is_number ? NULL : params[i].value, number);
        numbered |= is_number;
    }
    if (!numbered) put_param(out, &sep, PAGE_NUMBER, NULL, number);
    buf_putc(out, '"');
}

void page_links(buf *out, const char *self_base, const query_param *params, size_t n, const page_spec *p,
                size_t total)
{
    if (!p->given) return;
    uint64_t pages = total ? (total - 1) / (uint64_t)p->size + 1 : 1;
    int64_t last = pages > INT64_MAX ? INT64_MAX : (int64_t)pages;
    buf_puts(out, "\"links\":{");
    put_link(out, "first", self_base, params, n, 1);
    if (p->number > 1) {
        buf_putc(out, ',');
        put_link(out, "prev", self_base, params, n, p->number - 1);
    }
    if (p->number < last) {
        buf_putc(out, ',');
        put_link(out, "next", self_base, params, n, p->number + 1);
    }
    buf_putc(out, ',');
    put_link(out, "last", self_base, params, n, last);
    buf_putc(out, '}');
}
