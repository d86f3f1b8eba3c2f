/* log: structured, one-line-per-event logging to stderr.
 *
 * Lines look like `ts=2026-11-27T05:10:30.123Z level=info msg=request k=v ...`.
 * Values are written by the caller through log_kv*, which quote a value
 * when it holds spaces, quotes, control characters (C0, DEL, C1, U+2028,
 * U+2029: escaped) or bytes that are not valid UTF-8 (written as \ufffd),
 * so a line is always one line. Never pass passwords or tokens. Thread-safe: a line is built
 * in memory and written with one write(2). */
#ifndef AC_UTIL_LOG_H
#define AC_UTIL_LOG_H

#include <stdint.h>

#include "util/buf.h"

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* The least level written (LOG_INFO until set); safe while threads log. */
void log_set_level(log_level min);
/* The level named "debug", "info", "warn" or "error", or -1. */
int log_level_find(const char *name);

/* Starts a line in `line` (ts, level, msg). */
void log_begin(buf *line, log_level lvl, const char *msg);
void log_kv(buf *line, const char *key, const char *value);
void log_kvn(buf *line, const char *key, const char *value, size_t n);
void log_kv_i64(buf *line, const char *key, int64_t value);
void log_kv_ms(buf *line, const char *key, double ms);
/* Appends a value as log_kv writes it (plain, or a JSON string when it is
 * empty or holds anything but printable ASCII without spaces, '"', '=' and
 * '\\'): for lines of another shape that keep the same rule. */
void log_value(buf *line, const char *v, size_t n);
/* Ends the line, writes it, and frees the buffer. */
void log_end(buf *line, log_level lvl);

/* Convenience: one message with printf-style free text as msg=... */
void log_msg(log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
