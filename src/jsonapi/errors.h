/* errors: JSON:API error documents (docs/CONTRACT.md §5).
 *
 * `{"errors":[{"title":..,"detail":..,"code":"..","status":".."}, ...]}`
 * with jsonapi-resources' codes. Errors are collected while a request is
 * validated, so a client sees every problem of its query at once; the
 * document's HTTP status is the first error's. */
#ifndef AC_JSONAPI_ERRORS_H
#define AC_JSONAPI_ERRORS_H

#include "util/buf.h"

#define JERR_MAX_REPORTED 20 /* errors beyond this are counted, not written */

typedef struct jsonapi_errors {
    buf items; /* the error objects written so far, comma-separated */
    int n;
    int status;
} jsonapi_errors;

void jerr_init(jsonapi_errors *e);
void jerr_free(jsonapi_errors *e);

/* Adds one error; detail is printf-formatted and JSON-escaped. */
void jerr_add(jsonapi_errors *e, int status, const char *code, const char *title, const char *detail_fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Writes the whole document into out (which is reset first). */
void jerr_document(const jsonapi_errors *e, buf *out);
/* The same with a top-level "meta": the JSON object text in meta. */
void jerr_document_meta(const jsonapi_errors *e, const buf *meta, buf *out);

/* One-error document in one call. */
void jerr_single(buf *out, int status, const char *code, const char *title, const char *detail);

#endif
