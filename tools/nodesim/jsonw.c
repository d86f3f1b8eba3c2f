/* jsonw: compact JSON writer for jansson values (see jsonw.h). Recursion
 * depth is bounded by jansson's parser depth limit. */
#include "jsonw.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_str(buf *out, const char *s, size_t n, bool line)
{
    if (line)
        buf_put_json_line_str(out, s, n);
    else
        buf_put_json_str(out, s, n);
}

static void write_real(buf *out, double d)
{
    char tmp[40];
    if (!isfinite(d)) { /* jansson never produces these; keep the output JSON */
        buf_puts(out, "null");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) break;
    }
    buf_puts(out, tmp);
    /* still a real when read back: 1.0 must not become the integer 1 */
    if (!strpbrk(tmp, ".eE")) buf_puts(out, ".0");
}

/* line: strings and keys with the line-safe escaper (util/buf.h). */
static void write_value(buf *out, const json_t *v, bool line)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        size_t klen;
        json_t *val;
        int first = 1;
        buf_putc(out, '{');
        json_object_keylen_foreach((json_t *)v, k, klen, val)
        {
            if (!first) buf_putc(out, ',');
            first = 0;
            put_str(out, k, klen, line);
            buf_putc(out, ':');
            write_value(out, val, line);
        }
        buf_putc(out, '}');
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *val;
        buf_putc(out, '[');
        json_array_foreach(v, i, val)
        {
            if (i) buf_putc(out, ',');
            write_value(out, val, line);
        }
        buf_putc(out, ']');
        break;
    }
    case JSON_STRING: put_str(out, json_string_value(v), json_string_length(v), line); break;
    case JSON_INTEGER: buf_put_i64(out, (int64_t)json_integer_value(v)); break;
    case JSON_REAL: write_real(out, json_real_value(v)); break;
    case JSON_TRUE: buf_puts(out, "true"); break;
    case JSON_FALSE: buf_puts(out, "false"); break;
    case JSON_NULL: buf_puts(out, "null"); break;
    }
}

void sim_json_write(buf *out, const json_t *v) { write_value(out, v, false); }

void sim_json_write_line(buf *out, const json_t *v) { write_value(out, v, true); }
