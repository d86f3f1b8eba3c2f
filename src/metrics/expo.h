/* expo: the Prometheus exposition formats, written by hand (docs/METRICS.md).
 *
 * Debian packages no Prometheus client library for C, and what /metrics
 * shows is mostly computed from a snapshot at scrape time rather than
 * kept in a registry, so the text is written straight into a buffer:
 * text format 0.0.4, or OpenMetrics 1.0 when the scraper asks for it
 * (counters then carry `_total` only on their samples, and the text ends
 * with `# EOF`). Label values are escaped as both formats require (\\, \"
 * and \n); metric and label names are the callers' constants. */
#ifndef AC_METRICS_EXPO_H
#define AC_METRICS_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct expo {
    buf *out;
    bool openmetrics;
} expo;

#define EXPO_TEXT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define EXPO_OPENMETRICS_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* Whether an Accept header asks for OpenMetrics before the text format. */
bool expo_wants_openmetrics(const char *accept);

/* # HELP and # TYPE of a family; type is "gauge", "counter" or "histogram".
 * A counter's name is given without `_total`. */
void expo_family(expo *e, const char *name, const char *type, const char *help);

/* One sample: name (a counter's gets `_total`), then labels written by
 * expo_label between expo_sample_begin and expo_sample_end. */
void expo_sample_begin(expo *e, const char *name, const char *suffix);
void expo_label(expo *e, const char *key, const char *value, size_t len);
void expo_label_i64(expo *e, const char *key, int64_t value);
void expo_sample_end_i64(expo *e, int64_t value);
void expo_sample_end(expo *e, double value);

/* One sample whose label set is already written: labels[0..len) is
 * "{...}" (or empty). */
void expo_sample_raw(expo *e, const char *name, const char *labels, size_t len, double value);

/* Ends the exposition (`# EOF` in OpenMetrics). */
void expo_finish(expo *e);

#endif
