/* resource_show: GET /api/rest/admin/{type}/{id} — a read-only show of
 * each related type, so that every `self` link a document prints answers.
 * One store lookup; an unknown or malformed id is 404. Sparse fieldsets
 * apply; include does not (nothing links back from these types). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app_internal.h"
#include "api/params.h"
#include "util/log.h"

void api_show_resource(app *a, const http_request *req, int type, const char *id_text, http_response *res)
{
    if (http_to_worker(req)) return; /* a store query */
    api_params p;
    if (!api_params_parse(req, PARAMS_CALL, false, &a->limits, &p, res)) {
        api_params_free(&p);
        return;
    }
    char base_text[300];
    doc_base base;
    if (!app_base_url(a, req, res, base_text, &base)) {
        api_params_free(&p);
        return;
    }

    char *end;
    long long id = strtoll(id_text, &end, 10);
    bool valid = *id_text >= '1' && *id_text <= '9' && *end == '\0' && id > 0;
    res_rows rows = {0};
    char err[STORE_ERR_LEN];
    if (valid) {
        int64_t want = id;
        if (store_fetch(a->st, type, &want, 1, &rows, err) != STORE_OK) {
            http_error(res, 503, "Store unavailable", "The store cannot be read right now.");
            log_msg(LOG_ERROR, "%s lookup failed: %s", res_types[type].type, err);
            api_params_free(&p);
            return;
        }
    }
    if (rows.n == 0) {
        char detail[300];
        snprintf(detail, sizeof detail, "The record identified by %.200s could not be found.", id_text);
        http_error(res, 404, "Record not found", detail);
    } else {
        buf_puts(&res->body, "{\"data\":");
        doc_related_resource(&res->body, base, type, &rows.rows[0], p.fields.types[type]);
        buf_putc(&res->body, '}');
        res->status = 200;
    }
    res_rows_free(&rows);
    api_params_free(&p);
}
