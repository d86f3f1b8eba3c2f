/* expo: Prometheus text and OpenMetrics writing; see expo.h. */
#include "metrics/expo.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool expo_wants_openmetrics(const char *accept)
{
    if (!accept) return false;
    const char *om = strcasestr(accept, "application/openmetrics-text");
    const char *text = strcasestr(accept, "text/plain");
    return om && (!text || om < text);
}

void expo_family(expo *e, const char *name, const char *type, const char *help)
{
    assert(e && name && type && help);
    /* the text format names a counter family as its samples are named */
    const char *suffix = !e->openmetrics && strcmp(type, "counter") == 0 ? "_total" : "";
    buf_puts(e->out, "# HELP ");
    buf_puts(e->out, name);
    buf_puts(e->out, suffix);
    buf_putc(e->out, ' ');
    buf_puts(e->out, help);
    buf_puts(e->out, "\n# TYPE ");
    buf_puts(e->out, name);
    buf_puts(e->out, suffix);
    buf_putc(e->out, ' ');
    buf_puts(e->out, type);
    buf_putc(e->out, '\n');
}

static bool has_labels(const expo *e) { return e->out->len && e->out->data[e->out->len - 1] != '{'; }

void expo_sample_begin(expo *e, const char *name, const char *suffix)
{
    buf_puts(e->out, name);
    if (suffix) buf_puts(e->out, suffix);
    buf_putc(e->out, '{');
}

void expo_label(expo *e, const char *key, const char *value, size_t len)
{
    buf *o = e->out;
    if (has_labels(e)) buf_putc(o, ',');
    buf_puts(o, key);
    buf_puts(o, "=\"");
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        char c = value[i];
        if (c != '\\' && c != '"' && c != '\n') continue;
        buf_append(o, value + run, i - run);
        buf_puts(o, c == '\\' ? "\\\\" : c == '"' ? "\\\"" : "\\n");
        run = i + 1;
    }
    buf_append(o, value + run, len - run);
    buf_putc(o, '"');
}

void expo_label_i64(expo *e, const char *key, int64_t value)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", (long long)value);
    expo_label(e, key, num, (size_t)n);
}

/* Closes the label set: `{}` is dropped. */
static void close_labels(expo *e)
{
    buf *o = e->out;
    if (o->len && o->data[o->len - 1] == '{')
        o->len--;
    else
        buf_putc(o, '}');
    buf_putc(o, ' ');
}

void expo_sample_end_i64(expo *e, int64_t value)
{
    close_labels(e);
    buf_put_i64(e->out, value);
    buf_putc(e->out, '\n');
}

void expo_sample_end(expo *e, double value)
{
    close_labels(e);
    if (isnan(value))
        buf_puts(e->out, "NaN");
    else if (isinf(value))
        buf_puts(e->out, value > 0 ? "+Inf" : "-Inf");
    else if (value == (double)(int64_t)value && fabs(value) < 1e15)
        buf_put_i64(e->out, (int64_t)value);
    else { /* the shortest of %.15g and %.17g that reads back as the same double */
        char s[32];
        snprintf(s, sizeof s, "%.15g", value);
        if (strtod(s, NULL) != value) snprintf(s, sizeof s, "%.17g", value);
        buf_puts(e->out, s);
    }
    buf_putc(e->out, '\n');
}

void expo_sample_raw(expo *e, const char *name, const char *labels, size_t len, double value)
{
    buf_puts(e->out, name);
    buf_append(e->out, labels, len);
    buf_putc(e->out, '{'); /* an empty set to close: closing drops it */
    expo_sample_end(e, value);
}

void expo_finish(expo *e)
{
    if (e->openmetrics) buf_puts(e->out, "# EOF\n");
}
