/* page: the listing's pages (docs/API.md, "Sorting and pages"), as
 * jsonapi-resources' paged paginator has them: `page[number]` (from 1)
 * and `page[size]`, and the `links` of a paged answer. Cutting the page
 * out of the listing is the caller's. */
#ifndef AC_JSONAPI_PAGE_H
#define AC_JSONAPI_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/request.h" /* query_param */
#include "jsonapi/errors.h"
#include "util/buf.h"

typedef struct page_spec {
    bool given;
    int64_t number, size;
} page_spec; /* given false: every item */

/* Takes one `page[...]` parameter (zero p before the first): the first
 * one makes p given, number 1 and size default_size; each then sets its
 * own (a repeated key: the last wins). `page[number]` and `page[size]`
 * must be positive integers in canonical decimal (util/decimal.h), else a
 * 400 code 118 "Invalid page value", `<value> is not a valid value for
 * <number|size> page parameter.`; a size over max_size is a 400 code 118,
 * `size exceeds maximum page size of <max_size>.`; any other `page[...]`
 * key is a 400 code 105 "Page parameter not allowed", `<name> is not an
 * allowed page parameter.` (jsonapi-resources' codes and words,
 * docs/CONTRACT.md §5). Returns the errors added. */
int page_param(page_spec *p, const char *key, const char *value, int64_t default_size, int64_t max_size,
               jsonapi_errors *errs);

/* The `links` of a paged answer: first, prev (none on page 1), next
 * (none on the last page), last (page 1 when nothing matches), each the
 * request's own URL with every other parameter kept, in their order, and
 * page[number] replaced. Appends `"links":{"first":"...",...}`, members
 * absent when they do not apply; nothing when p is not given. self_base
 * is the URL before its query (`http://host/api/rest/admin/active-calls`),
 * written as it is; params are the request's decoded parameters
 * (http/request.h), percent-encoded again (buf_put_url_query_part). The
 * first page[number] is replaced in its place, later ones dropped; with
 * none, page[number] comes last. A page beyond the last has prev (the
 * page before it) and no next, as in jsonapi-resources. */
void page_links(buf *out, const char *self_base, const query_param *params, size_t n, const page_spec *p,
                size_t total);

#endif
