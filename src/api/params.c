/* params: shared query-parameter parsing; see params.h. */
#include "api/params.h"

#include <string.h>

bool api_params_parse(const http_request *req, bool listing, bool allow_include, api_params *p,
                      http_response *res)
{
    jsonapi_errors errs;
    jerr_init(&errs);
    include_init(&p->include);
    fieldsets_init(&p->fields);
    memset(&p->filters, 0, sizeof p->filters);
    if (listing) listing_query_parse(&p->filters, req->params, req->nparams, &errs);
    for (size_t i = 0; i < req->nparams; i++) {
        const char *key = req->params[i].key, *value = req->params[i].value;
        query_key kind = query_key_of(key);
        if (kind == QUERY_KEY_INCLUDE && allow_include)
            include_parse(&p->include, value, &errs);
        else if (kind == QUERY_KEY_FIELDS)
            fieldsets_parse(&p->fields, key, value, &errs);
        else if (listing || kind == QUERY_KEY_TOKEN)
            continue; /* done above / the guard's */
        else
            query_param_not_allowed(&errs, key);
    }
    bool ok = errs.n == 0;
    if (!ok) {
        res->status = errs.status;
        jerr_document(&errs, &res->body);
    }
    jerr_free(&errs);
    return ok;
}

void api_params_free(api_params *p) { listing_query_free(&p->filters); }
