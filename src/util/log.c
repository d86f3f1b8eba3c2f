/* log: key=value lines on stderr; see log.h. A value is written as it is
 * when it is printable ASCII without spaces, '"', '=' or '\\', otherwise as a
 * JSON string that escapes every C0 and C1 control, DEL, U+2028 and U+2029
 * and turns bytes that are not valid UTF-8 into \ufffd, so no value can
 * start a line or forge a field, however the log is read. */
#include "util/log.h"

#include <assert.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/timefmt.h"

/* Atomic: a reload sets it while every thread logs. */
static atomic_int min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level min)
{
    assert(min >= LOG_DEBUG && min <= LOG_ERROR);
    atomic_store_explicit(&min_level, (int)min, memory_order_relaxed);
}

static bool shown(log_level lvl)
{
    return (int)lvl >= atomic_load_explicit(&min_level, memory_order_relaxed);
}

int log_level_find(const char *name)
{
    for (int i = 0; i < (int)(sizeof level_names / sizeof level_names[0]); i++)
        if (strcmp(level_names[i], name) == 0) return i;
    return -1;
}

void log_value(buf *line, const char *v, size_t n)
{
    bool plain = n > 0;
    for (size_t i = 0; i < n && plain; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) plain = false;
    }
    if (plain)
        buf_append(line, v, n);
    else
        buf_put_json_line_str(line, v, n); /* one line for any reader (util/buf.h) */
}

void log_begin(buf *line, log_level lvl, const char *msg)
{
    buf_init(line);
    if (!shown(lvl)) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char iso[TIMEFMT_ISO_LEN];
    timefmt_iso_utc((int64_t)ts.tv_sec, iso);
    char head[64];
    memcpy(head, "ts=", 3);
    memcpy(head + 3, iso, 20); /* up to the seconds and the '.' */
    long msec = ts.tv_nsec / 1000000;
    head[23] = (char)('0' + msec / 100);
    head[24] = (char)('0' + msec / 10 % 10);
    head[25] = (char)('0' + msec % 10);
    size_t n = 26;
    static const char mid[] = "Z level=";
    memcpy(head + n, mid, sizeof mid - 1);
    n += sizeof mid - 1;
    size_t ln = strlen(level_names[lvl]);
    memcpy(head + n, level_names[lvl], ln);
    n += ln;
    memcpy(head + n, " msg=", 5);
    n += 5;
    buf_reserve(line, 240); /* one allocation for a usual line */
    buf_append(line, head, n);
    log_value(line, msg, strlen(msg));
}

void log_kvn(buf *line, const char *key, const char *value, size_t n)
{
    if (line->len == 0) return; /* level filtered out */
    buf_putc(line, ' ');
    buf_puts(line, key);
    buf_putc(line, '=');
    log_value(line, value ? value : "", value ? n : 0);
}

void log_kv(buf *line, const char *key, const char *value)
{
    log_kvn(line, key, value, value ? strlen(value) : 0);
}

void log_kv_i64(buf *line, const char *key, int64_t value)
{
    if (line->len == 0) return;
    buf_putc(line, ' ');
    buf_puts(line, key);
    buf_putc(line, '=');
    buf_put_i64(line, value);
}

void log_kv_ms(buf *line, const char *key, double ms)
{
    if (line->len == 0) return;
    /* %.3f by hand for the usual values; printf for the odd ones (ties,
     * negatives, huge or not finite), so the text is always %.3f's */
    double k = ms * 1000.0;
    if (k >= 0 && k < 1e15) {
        int64_t v = (int64_t)k;
        double frac = k - (double)v;
        if (frac < 0.4999 || frac > 0.5001) {
            if (frac > 0.5) v++;
            char num[32], *p = num + sizeof num;
            for (int i = 0; i < 3; i++) {
                *--p = (char)('0' + v % 10);
                v /= 10;
            }
            *--p = '.';
            do {
                *--p = (char)('0' + v % 10);
                v /= 10;
            } while (v);
            buf_putc(line, ' ');
            buf_puts(line, key);
            buf_putc(line, '=');
            buf_append(line, p, (size_t)(num + sizeof num - p));
            return;
        }
    }
    buf_printf(line, " %s=%.3f", key, ms);
}

void log_end(buf *line, log_level lvl)
{
    if (line->len > 0 && shown(lvl) && !line->oom) {
        buf_putc(line, '\n');
        ssize_t w = write(STDERR_FILENO, line->data, line->len);
        (void)w;
    }
    buf_free(line);
}

void log_msg(log_level lvl, const char *fmt, ...)
{
    if (!shown(lvl)) return;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    buf line;
    log_begin(&line, lvl, text);
    log_end(&line, lvl);
}
