/* params: the query parameters every endpoint shares — `include`,
 * `fields[...]`, `token` — and, on the listing only, the filters. Anything
 * else is a 400 (code 105), so a typo never silently changes an answer. */
#ifndef AC_API_PARAMS_H
#define AC_API_PARAMS_H

#include <stdbool.h>

#include "http/server.h"
#include "jsonapi/errors.h"
#include "jsonapi/fields.h"
#include "jsonapi/include.h"
#include "jsonapi/query.h"

typedef struct api_params {
    include_tree include;
    fieldsets fields;
    listing_query filters; /* listing only */
} api_params;

/* Parses; false (and res holds the 400) on any error. `allow_include`:
 * whether this endpoint takes include (the call endpoints do). */
bool api_params_parse(const http_request *req, bool listing, bool allow_include, api_params *p,
                      http_response *res);
void api_params_free(api_params *p);

#endif
