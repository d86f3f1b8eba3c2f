/* timefmt: the timestamp format of the API (docs/CONTRACT.md §2): epoch seconds,
 * truncated to whole seconds, written as `YYYY-MM-DDTHH:MM:SS.000Z` in UTC.
 * Pure arithmetic (no gmtime, no locale), so it is cheap on the hot path. */
#ifndef AC_UTIL_TIMEFMT_H
#define AC_UTIL_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMEFMT_ISO_LEN 24 /* "2026-01-02T12:43:18.000Z" */

/* Writes exactly TIMEFMT_ISO_LEN bytes (no NUL) for `secs` seconds since the
 * epoch. Returns false when the time is outside 0000-01-01..9999-12-31. */
bool timefmt_iso_utc(int64_t secs, char out[TIMEFMT_ISO_LEN]);

/* Parses a JSON number's text as seconds and truncates towards zero.
 * Returns false when the text is not a finite number, is out of int64
 * range, or is 512 characters or longer. */
bool timefmt_parse_seconds(const char *num, size_t len, int64_t *secs);

#endif
