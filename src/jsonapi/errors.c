/* errors: collects JSON:API error objects and writes the document. */
#include "jsonapi/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void jerr_init(jsonapi_errors *e)
{
    buf_init(&e->items);
    e->n = 0;
    e->status = 0;
}

void jerr_free(jsonapi_errors *e) { buf_free(&e->items); }

static void add_text(jsonapi_errors *e, int status, const char *code, const char *title, const char *detail)
{
    buf *b = &e->items;
    if (!e->status) e->status = status;
    /* a hostile query can hold thousands of bad items: report the first ones
     * only, so an error document stays small whatever the input */
    if (e->n++ >= JERR_MAX_REPORTED) return;
    if (e->n > 1) buf_putc(b, ',');
    buf_puts(b, "{\"title\":");
    buf_put_json_str(b, title, strlen(title));
    buf_puts(b, ",\"detail\":");
    buf_put_json_str(b, detail, strlen(detail));
    buf_puts(b, ",\"code\":");
    buf_put_json_str(b, code, strlen(code));
    buf_printf(b, ",\"status\":\"%d\"}", status);
}

void jerr_add(jsonapi_errors *e, int status, const char *code, const char *title, const char *detail_fmt, ...)
{
    va_list ap;
    va_start(ap, detail_fmt);
    char small[512];
    int n = vsnprintf(small, sizeof small, detail_fmt, ap);
    va_end(ap);
    if (n < 0) small[0] = '\0';
    add_text(e, status, code, title, small);
}

void jerr_document_meta(const jsonapi_errors *e, const buf *meta, buf *out)
{
    buf_reset(out);
    buf_puts(out, "{\"errors\":[");
    buf_append(out, e->items.data, e->items.len);
    buf_putc(out, ']');
    if (meta) {
        buf_puts(out, ",\"meta\":");
        buf_append(out, meta->data, meta->len);
    }
    buf_putc(out, '}');
}

void jerr_document(const jsonapi_errors *e, buf *out) { jerr_document_meta(e, NULL, out); }

void jerr_single(buf *out, int status, const char *code, const char *title, const char *detail)
{
    jsonapi_errors e;
    jerr_init(&e);
    add_text(&e, status, code, title, detail);
    jerr_document(&e, out);
    jerr_free(&e);
}
