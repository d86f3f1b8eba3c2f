/* record: reading the top-level members of a rendered call record.
 *
 * A record is held as JSON text (see calls.h) that the simulator wrote
 * itself (gen.c, or jsonw.c for --calls-file records), so it is always one
 * valid JSON object. The filtered methods (filter.h) need a few of its
 * members per call; this walks the text once and hands out each member's
 * key and value as spans of that text, with no allocation, and reads
 * numbers from a value span. */
#ifndef NODESIM_RECORD_H
#define NODESIM_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes p[0..n) of a record's text. */
typedef struct sim_span {
    const char *p;
    size_t n;
} sim_span;

/* Steps to the next top-level member of the object text rec[0..n): *pos is
 * 0 for the first and is advanced. key is the text between the name's
 * quotes (as written, escapes and all), val the value's whole text. Returns
 * false after the last member (or when the text is not an object). */
bool sim_record_next(const char *rec, size_t n, size_t *pos, sim_span *key, sim_span *val);

/* The value is a JSON integer (no fraction, no exponent) within int64:
 * true with it in *out. */
bool sim_span_integer(sim_span v, int64_t *out);
/* The value is a JSON number: true with it in *out. */
bool sim_span_number(sim_span v, double *out);
/* Whether the value is the text s. */
bool sim_span_is(sim_span v, const char *s);

#endif
