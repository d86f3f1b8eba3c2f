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
        if (strcmp(key, "include") == 0 && allow_include) include_parse(&p->include, value, &errs);
        else if (strncmp(key, "fields[", 7) == 0) fieldsets_parse(&p->fields, key, value, &errs);
        else if (listing || strcmp(key, "token") == 0) continue; /* done above / the guard's */
        else jerr_add(&errs, 400, "105", "Param not allowed", "%.200s is not allowed.", key);
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
