/* monitor_page: GET /api/rest/admin/monitor-decisions, the calls monitor's
 * recent decisions (docs/API.md, "The calls monitor"), newest first, by
 * account and rule, in pages. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app_internal.h"
#include "jsonapi/errors.h"
#include "jsonapi/page.h"
#include "monitor/monitor.h"
#include "util/decimal.h"
#include "util/timefmt.h"

#define FILTER_MAX 100 /* items in one filter */

typedef struct decision_query {
    int64_t accounts[FILTER_MAX];
    size_t naccounts;
    bool rules[MR_COUNT];
    bool by_rule;
    page_spec page;
} decision_query;

/* One comma list item after another of `value` into q; errors into errs. */
static void parse_filter(decision_query *q, const char *key, const char *value, jsonapi_errors *errs)
{
    bool account = strcmp(key, "filter[account-id-eq]") == 0 || strcmp(key, "filter[account_id_eq]") == 0;
    bool rule = strcmp(key, "filter[rule-eq]") == 0 || strcmp(key, "filter[rule_eq]") == 0;
    if (!account && !rule) {
        jerr_add(errs, 400, "102", "Filter not allowed", "%.200s is not allowed.", key);
        return;
    }
    const char *p = value, *item;
    size_t len, n = 0;
    while (query_list_next(&p, &item, &len)) {
        char text[64];
        snprintf(text, sizeof text, "%.*s", (int)(len < 63 ? len : 63), item);
        if (rule) {
            int r = monitor_rule_find(item, len);
            if (r < 0) {
                jerr_add(errs, 400, "103", "Invalid field value", "%.60s is not a valid value for rule.",
                         text);
                return;
            }
            q->rules[r] = true;
            q->by_rule = true;
        } else {
            int64_t id = len < 63 ? call_rel_id_parse(text) : CALL_ID_NONE;
            if (id == CALL_ID_NONE || q->naccounts == FILTER_MAX) {
                jerr_add(errs, 400, "103", "Invalid field value",
                         "%.60s is not a valid value for account-id.", text);
                return;
            }
            q->accounts[q->naccounts++] = id;
        }
        n++;
    }
    if (n == 0) jerr_add(errs, 400, "103", "Invalid field value", "%.200s needs a value.", key);
}

static void put_number(buf *out, const char *key, double v, bool has)
{
    buf_printf(out, ",\"%s\":", key);
    if (has)
        buf_printf(out, "%.6f", v);
    else
        buf_puts(out, "null");
}

static void put_decision(buf *out, const monitor_decision *d)
{
    char at[TIMEFMT_ISO_LEN + 1] = "";
    if (timefmt_iso_utc(d->at_ms / 1000, at)) { /* the API's one time format, with the milliseconds */
        at[TIMEFMT_ISO_LEN] = '\0';
        int ms = (int)(d->at_ms % 1000);
        at[20] = (char)('0' + ms / 100), at[21] = (char)('0' + ms / 10 % 10), at[22] = (char)('0' + ms % 10);
    }
    buf_printf(out, "{\"type\":\"monitor-decisions\",\"id\":\"%" PRIu64 "\",\"attributes\":{\"time\":\"%s\"",
               d->seq, at);
    buf_printf(out, ",\"mode\":\"%s\",\"rule\":\"%s\",\"call-id\":", monitor_mode_names[d->mode],
               monitor_rule_names[d->rule]);
    buf_put_json_str(out, d->call_id, strlen(d->call_id));
    buf_printf(out, ",\"node-id\":%" PRId64 ",\"account-id\":", d->node_id);
    if (d->account_id)
        buf_printf(out, "%" PRId64, d->account_id);
    else
        buf_puts(out, "null");
    buf_printf(out, ",\"side\":\"%s\"", monitor_side_names[d->side]);
    put_number(out, "balance", d->balance, d->has_numbers);
    put_number(out, "projected", d->projected, d->has_numbers);
    put_number(out, "min-balance", d->min_balance, d->has_numbers);
    put_number(out, "max-balance", d->max_balance, d->has_numbers);
    put_number(out, "cost", d->cost, d->has_numbers);
    buf_printf(out, ",\"outcome\":\"%s\"}}", monitor_outcome_names[d->outcome]);
}

void api_monitor_decisions(app *a, const http_request *req, http_response *res)
{
    decision_query q;
    memset(&q, 0, sizeof q);
    jsonapi_errors errs;
    jerr_init(&errs);
    for (size_t i = 0; i < req->nparams; i++) {
        const char *key = req->params[i].key, *value = req->params[i].value;
        switch (query_key_of(key)) {
        case QUERY_KEY_FILTER: parse_filter(&q, key, value, &errs); break;
        case QUERY_KEY_PAGE: page_param(&q.page, key, value, 100, 1000, &errs); break;
        case QUERY_KEY_TOKEN: break;
        default: query_param_not_allowed(&errs, key); break;
        }
    }
    if (errs.n) {
        res->status = errs.status;
        jerr_document(&errs, &res->body);
        jerr_free(&errs);
        return;
    }
    jerr_free(&errs);
    if (!q.page.given) q.page = (page_spec){true, 1, 100};
    size_t skip = (size_t)((q.page.number - 1) * q.page.size), max = (size_t)q.page.size, total = 0, n = 0;
    monitor_decision *d = calloc(max, sizeof *d);
    if (!d) {
        http_error(res, 500, "Internal server error", "Out of memory.");
        return;
    }
    if (a->monitor)
        n = monitor_decisions(a->monitor, q.accounts, q.naccounts, q.by_rule ? q.rules : NULL, skip, max, d,
                              &total);
    buf *out = &res->body;
    buf_puts(out, "{\"data\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) buf_putc(out, ',');
        put_decision(out, &d[i]);
    }
    buf_printf(out, "],\"meta\":{\"total-count\":%zu,\"mode\":\"%s\"}}", total,
               monitor_mode_names[a->monitor ? monitor_get_stats(a->monitor).mode : MONITOR_OFF]);
    monitor_decisions_free(d, n);
    free(d);
    res->status = 200;
}
