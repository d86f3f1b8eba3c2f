/* samples: GET /api/rest/admin/active-call-samples, the charts of the
 * active-call history (docs/API.md, "History"): its parameters, parsed
 * apart from the handler so they can be tested alone. */
#ifndef AC_API_SAMPLES_H
#define AC_API_SAMPLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/request.h"
#include "jsonapi/errors.h"
#include "store/store.h"

#define SAMPLES_MAX_IDS 100             /* ids of one subject filter */
#define SAMPLES_MAX_HOURS 744           /* hours=, as yeti-web takes (31 days) */
#define SAMPLES_DEFAULT_HOURS 24        /* the range without a time parameter */
#define SAMPLES_MAX_POINTS 50000        /* points of one answer: 31 days of one subject's minutes fit */
#define SAMPLES_TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

typedef struct samples_query {
    bool total;           /* no subject filter: the sum over all nodes */
    store_hist_kind kind; /* else the subjects' kind */
    int64_t ids[SAMPLES_MAX_IDS];
    size_t nids;
    int64_t from_s, to_s; /* inclusive */
    bool to_given;        /* filter[created-at-lteq] gave to_s; else it is now */
    int64_t bucket_s;     /* 1: every sample; else 60, 300 or 3600 */
} samples_query;

/* Reads the endpoint's parameters (now_s: the wall clock, for hours= and
 * the default range). Every problem is added to errs (400s naming the
 * parameter); returns the number added. */
int samples_params_parse(const query_param *params, size_t n, int64_t now_s, samples_query *q,
                         jsonapi_errors *errs);

/* An RFC 3339 time (`2026-01-02T03:04:05Z`, fractions and `+HH:MM`
 * offsets allowed, `T` or a space) or a date (`2026-01-02`, midnight UTC)
 * as Unix seconds: a fraction rounds up when `ceil`, else down. false when
 * it is not one, or outside 1970..9999. */
bool samples_time_parse(const char *s, bool ceil, int64_t *out);

#endif
