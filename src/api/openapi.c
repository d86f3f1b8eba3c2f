/* openapi: GET /api/rest/admin/openapi.json, the API's description
 * (docs/openapi.yaml), converted to JSON and built into the binary at build
 * time (scripts/openapi-json, then scripts/embed.cmake; CMakeLists.txt), so
 * the served copy is always the one the binary was built with. It describes
 * no data, so it needs no token: app_handle routes it before the guard. */
#include <assert.h>
#include <string.h>

#include "api/app_internal.h"
#include "api/console_assets.h"

void api_openapi(const http_request *req, http_response *res)
{
    res->route = "openapi";
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        app_method_not_allowed(res, req->method, "GET, HEAD");
        return;
    }
    const console_asset *f = &openapi_assets[0];
    assert(f->name != NULL); /* the build embeds exactly one file, or fails */
    http_response_share_static(res, (const char *)f->data, f->len);
    res->status = 200;
    res->content_type = "application/json";
}
