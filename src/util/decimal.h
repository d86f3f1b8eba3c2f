/* decimal: reading ids written in canonical decimal — the one spelling of
 * a positive integer: the digits 0-9 only (no sign, no space, no leading
 * zero), value 1..INT64_MAX. Ids that name things (a call's node, a token's
 * subject) are read this way so that no second spelling ("01", "+1",
 * " 1") can stand for the same thing. */
#ifndef AC_UTIL_DECIMAL_H
#define AC_UTIL_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True, with *out set, when s[0..n) is canonical decimal of 1..INT64_MAX. */
bool decimal_positive_i64(const char *s, size_t n, int64_t *out);

#endif
