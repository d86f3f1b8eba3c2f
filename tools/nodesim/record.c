/* record: a member walk over a record's JSON text (see record.h). The text
 * is known to be valid JSON, so the walk only has to find where each value
 * ends: past a string's closing quote, past the bracket that closes a
 * nested object or array, or at the ',' or '}' after a scalar. */
#include "record.h"

#include <stdlib.h>
#include <string.h>

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t skip_ws(const char *p, size_t n, size_t i)
{
    while (i < n && is_ws(p[i])) i++;
    return i;
}

/* p[i] is the opening quote: the index after the closing one. */
static size_t skip_string(const char *p, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == '"')
            return i + 1;
    }
    return n;
}

/* The index after the value that starts at p[i]. */
static size_t skip_value(const char *p, size_t n, size_t i)
{
    size_t depth = 0;
    while (i < n) {
        char c = p[i];
        if (c == '"') {
            i = skip_string(p, n, i);
            if (depth == 0) return i;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return i; /* the end of a scalar */
            if (--depth == 0) return i + 1;
        } else if (depth == 0 && (c == ',' || is_ws(c))) {
            return i;
        }
        i++;
    }
    return n;
}

bool sim_record_next(const char *rec, size_t n, size_t *pos, sim_span *key, sim_span *val)
{
    size_t i = skip_ws(rec, n, *pos);
    if (*pos == 0) {
        if (i >= n || rec[i] != '{') return false;
        i = skip_ws(rec, n, i + 1);
    } else if (i < n && rec[i] == ',') {
        i = skip_ws(rec, n, i + 1);
    }
    if (i >= n || rec[i] != '"') return false;
    size_t kend = skip_string(rec, n, i);
    if (kend < i + 2 || rec[kend - 1] != '"') return false;
    key->p = rec + i + 1;
    key->n = kend - i - 2;
    i = skip_ws(rec, n, kend);
    if (i >= n || rec[i] != ':') return false;
    i = skip_ws(rec, n, i + 1);
    size_t vend = skip_value(rec, n, i);
    if (vend == i) return false;
    val->p = rec + i;
    val->n = vend - i;
    *pos = vend;
    return true;
}

bool sim_span_integer(sim_span v, int64_t *out)
{
    size_t i = 0;
    bool neg = v.n > 0 && v.p[0] == '-';
    if (neg) i++;
    if (i == v.n) return false;
    uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < v.n; i++) {
        char c = v.p[i];
        if (c < '0' || c > '9') return false;
        unsigned d = (unsigned)(c - '0');
        if (mag > (limit - d) / 10) return false;
        mag = mag * 10 + d;
    }
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return true;
}

bool sim_span_number(sim_span v, double *out)
{
    if (v.n == 0 || !(v.p[0] == '-' || (v.p[0] >= '0' && v.p[0] <= '9'))) return false;
    char small[64];
    char *s = v.n < sizeof small ? small : malloc(v.n + 1);
    if (!s) return false;
    memcpy(s, v.p, v.n);
    s[v.n] = '\0';
    *out = strtod(s, NULL);
    if (s != small) free(s);
    return true;
}

bool sim_span_is(sim_span v, const char *s) { return v.n == strlen(s) && memcmp(v.p, s, v.n) == 0; }
