/* request: the strict HTTP/1.1 request-head parser (RFC 9112) and the
 * query-string splitter. Pure functions over bytes, no I/O, so every rule
 * is unit-tested and fuzzed on its own.
 *
 * The parser decides framing once, before any byte of a body is read:
 * one Content-Length (repeats must agree), or `Transfer-Encoding: chunked`
 * alone, or no body. Anything a proxy in front of us could read differently
 * (two lengths, a length and chunked together, a coding other than chunked,
 * obs-fold, whitespace before a colon, a control byte or NUL anywhere) is
 * refused, and the connection is closed after the answer (docs/API.md,
 * "The front door"). */
#ifndef AC_HTTP_REQUEST_H
#define AC_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 100

typedef struct http_header {
    const char *name;  /* NUL-terminated inside the parsed buffer */
    const char *value; /* without surrounding whitespace */
} http_header;

typedef struct http_head {
    const char *method;
    const char *target;    /* origin-form: path[?query], NUL-terminated */
    const char *authority; /* absolute-form's host[:port], or NULL */
    char authority_buf[256];
    int minor; /* HTTP/1.minor (0 or 1; later minors count as 1) */
    http_header headers[HTTP_MAX_HEADERS];
    size_t nheaders;
    bool has_length; /* Content-Length given */
    uint64_t content_length;
    bool chunked;         /* Transfer-Encoding: chunked */
    bool keep_alive;      /* what the client asked for */
    bool expect_continue; /* Expect: 100-continue */
} http_head;

typedef enum {
    HEAD_OK,         /* *used = bytes of the head, including the empty line */
    HEAD_INCOMPLETE, /* need more bytes */
    HEAD_ERROR,      /* *status and *detail say why */
} head_result;

/* Parses the head at the start of buf[0..len). On HEAD_OK the head is
 * modified in place (names, values and the target are NUL-terminated) and
 * `out` points into it. `max_head` bounds the request line (else 414) and
 * the whole head (else 431); HEAD_INCOMPLETE is returned only while both
 * still fit. */
head_result http_parse_head(char *in, size_t len, size_t max_head, http_head *out, size_t *used, int *status,
                            const char **detail);

/* The value of header `name` (case-insensitive), or NULL. When a header
 * appears more than once *dup is set (if dup is not NULL). */
const char *http_head_get(const http_head *h, const char *name, bool *dup);

/* Decodes %XX escapes of s in place (and '+' as a space when plus is set).
 * False for a malformed escape or an escaped NUL. */
bool http_percent_decode(char *s, bool plus);

/* One key/value pair of a query string, in the order sent; the handlers
 * read them (jsonapi/query.h says which keys are known). */
typedef struct query_param {
    const char *key;   /* percent-decoded, e.g. "filter[node-id-eq]" */
    const char *value; /* never NULL ("" for a bare key) */
} query_param;

typedef enum { QUERY_OK, QUERY_TOO_MANY, QUERY_MALFORMED } query_result;

/* Splits q ("a=1&b=2", modified in place) into decoded key/value pairs:
 * '&' separates, the first '=' divides, '+' is a space, a key without '='
 * has an empty value, empty pieces are skipped. At most `max` pairs. */
query_result http_parse_query(char *q, query_param *out, size_t max, size_t *n);

/* Chunked body decoding (RFC 9112 §7.1): feed bytes, get body bytes. */
typedef struct chunk_decoder {
    int state;
    uint64_t left; /* bytes left in the current chunk */
    size_t line;   /* bytes of the current size line or trailer line */
    bool any_digit;
} chunk_decoder;

typedef enum { CHUNK_MORE, CHUNK_DONE, CHUNK_ERROR } chunk_result;

void chunk_decoder_init(chunk_decoder *d);
/* Consumes in[0..len); body bytes go to out (moved down in place: out may
 * equal in). *used: bytes consumed; *produced: body bytes written. */
chunk_result chunk_decode(chunk_decoder *d, const char *in, size_t len, char *out, size_t *used,
                          size_t *produced);

#endif
