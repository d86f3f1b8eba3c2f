/* counters: what the service counts about itself, for /metrics
 * (docs/METRICS.md): HTTP requests by route and status with a duration
 * histogram, the bytes of listing documents, node rounds' durations and
 * node failures by error code.
 *
 * Process-wide and lock-free on the request path: every count is an
 * atomic in a fixed table. Routes are a handful of constant strings named
 * by the API (interned on first use, COUNTERS_ROUTES at most); node
 * failures are kept per (node id, code) in a small table under a mutex,
 * touched only when a node fails. */
#ifndef AC_METRICS_COUNTERS_H
#define AC_METRICS_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/expo.h"

#define COUNTERS_ROUTES 16

/* One answered request: route is a constant string ("active-calls", ...;
 * NULL: "other"), status 100..599, its time in microseconds; listing: the
 * body is a listing document, whose bytes are counted. */
void counters_http(const char *route, int status, int64_t us, size_t body_bytes, bool listing);

/* One node round ended after us microseconds. */
void counters_round(int64_t us);

/* A node failed with the error code that meta.failed-nodes uses. */
void counters_node_failure(int64_t node_id, const char *code);

/* Writes every family above. */
void counters_write(expo *e);

#endif
