/* app_internal: what the API's handlers share (not for other modules). */
#ifndef AC_API_APP_INTERNAL_H
#define AC_API_APP_INTERNAL_H

#include "api/app.h"
#include "api/registry.h"
#include "jsonapi/document.h"
#include "nodes/fanout.h"

struct app {
    app_config cfg;
    char public_url[512];
    char fallback_base[128];
    store *st;
    registry *reg;
    node_pool *pool;
};

/* The base URL for links, or false (and a 400 in res) when the Host header
 * cannot be used. `storage` holds the text the base points into. */
bool app_base_url(const app *a, const http_request *req, http_response *res,
                  char storage[300], doc_base *base);

void app_error(http_response *res, int status, const char *code, const char *title,
               const char *detail);

void api_list_calls(app *a, const http_request *req, http_response *res);

#endif
