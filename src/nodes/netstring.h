/* netstring: the framing of the switch-node protocol (docs/CONTRACT.md §7).
 *
 * A frame is `<decimal length>:<payload>,`. Encoding is trivial; decoding is
 * incremental, because a reply arrives in pieces and may be tens of
 * megabytes: the decoder hands payload bytes to the caller as they arrive
 * (so they can be fed straight into a streaming JSON parser) and never
 * buffers the payload itself. A length above the configured limit is refused
 * as soon as the header is read (at its ':'), before any payload byte, and
 * the decoder keeps the length it announced for the error message. */
#ifndef AC_NODES_NETSTRING_H
#define AC_NODES_NETSTRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Appends one frame holding payload p[0..n) to out. */
void netstring_encode(buf *out, const void *p, size_t n);

typedef enum {
    NS_MORE = 0,    /* consumed everything, frame not finished yet */
    NS_DONE,        /* a whole frame ended; *used says how many input bytes it took */
    NS_ERR_HEADER,  /* the length prefix is not a decimal number followed by ':' */
    NS_ERR_TOO_BIG, /* the announced length is over the limit */
    NS_ERR_TRAILER, /* the payload is not followed by ',' */
    NS_ERR_SINK,    /* the payload callback refused the bytes */
} ns_status;

/* Receives payload bytes as they arrive; returns 0 to go on, non-zero to stop. */
typedef int (*ns_sink)(void *ctx, const char *p, size_t n);

typedef struct ns_decoder {
    uint64_t max_len; /* largest payload accepted */
    uint64_t want;    /* payload length announced by the header */
    uint64_t got;     /* payload bytes delivered so far */
    int state;        /* header, payload, trailer, done */
    int header_digits;
    bool overflow; /* the announced length does not fit in 64 bits */
    ns_sink sink;
    void *ctx;
} ns_decoder;

void ns_decoder_init(ns_decoder *d, uint64_t max_len, ns_sink sink, void *ctx);
/* Feeds n input bytes. On NS_DONE, *used is the number of bytes that belonged
 * to the frame (the rest, if any, starts the next one); otherwise *used = n
 * for NS_MORE and is unspecified on errors. */
ns_status ns_decoder_feed(ns_decoder *d, const char *p, size_t n, size_t *used);
/* Payload length announced by the header, once known (0 before); after
 * NS_ERR_TOO_BIG, the length that was refused (UINT64_MAX when it does not
 * fit in 64 bits: then ns_decoder_overflowed is true). */
uint64_t ns_decoder_expected(const ns_decoder *d);
bool ns_decoder_overflowed(const ns_decoder *d);

#endif
