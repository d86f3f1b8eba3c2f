/* timefmt: epoch seconds → ISO-8601 UTC text, and JSON-number → truncated
 * seconds. The calendar conversion is Howard Hinnant's civil_from_days,
 * exact for the proleptic Gregorian calendar. */
#include "util/timefmt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

bool timefmt_iso_utc(int64_t secs, char out[TIMEFMT_ISO_LEN])
{
    /* 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59Z */
    if (secs < -62167219200LL || secs > 253402300799LL) return false;
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }

    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;

    unsigned yy = (unsigned)y;
    put2(out, yy / 100);
    put2(out + 2, yy % 100);
    out[4] = '-';
    put2(out + 5, m);
    out[7] = '-';
    put2(out + 8, d);
    out[10] = 'T';
    put2(out + 11, (unsigned)(rem / 3600));
    out[13] = ':';
    put2(out + 14, (unsigned)(rem / 60 % 60));
    out[16] = ':';
    put2(out + 17, (unsigned)(rem % 60));
    memcpy(out + 19, ".000Z", 5);
    return true;
}

bool timefmt_parse_seconds(const char *num, size_t len, int64_t *secs)
{
    char tmp[512]; /* JSON allows any number of fraction digits; be generous */
    if (len == 0 || len >= sizeof tmp) return false;
    if (!(num[0] == '-' || (num[0] >= '0' && num[0] <= '9'))) return false; /* no " 5", "+5" */
    memcpy(tmp, num, len);
    tmp[len] = '\0';
    if (strlen(tmp) != len) return false; /* an embedded NUL */

    /* integers (the common case for ports, limits) without going through double */
    bool integral = true;
    for (size_t i = 0; i < len; i++) {
        char c = tmp[i];
        if (!((c >= '0' && c <= '9') || (i == 0 && c == '-'))) {
            integral = false;
            break;
        }
    }
    char *end;
    if (integral) {
        errno = 0;
        long long v = strtoll(tmp, &end, 10);
        if (*end != '\0' || end == tmp || errno == ERANGE) return false;
        *secs = v;
        return true;
    }
    double d = strtod(tmp, &end);
    if (*end != '\0' || !isfinite(d)) return false;
    d = trunc(d);
    if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) return false;
    *secs = (int64_t)d;
    return true;
}
