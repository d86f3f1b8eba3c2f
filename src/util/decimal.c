/* decimal: canonical decimal ids; see decimal.h. */
#include "util/decimal.h"

bool decimal_positive_i64(const char *s, size_t n, int64_t *out)
{
    if (s == NULL || n == 0 || n > 19 || s[0] < '1' || s[0] > '9') return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        int d = s[i] - '0';
        if (v > (INT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}
