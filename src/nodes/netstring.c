/* netstring: frame encoder and incremental, non-buffering decoder.
 * The decoder is a three-state machine (header digits, payload, trailing
 * comma); payload bytes go straight to the sink, so memory use does not
 * depend on the frame size. */
#include "nodes/netstring.h"

#include <string.h>

enum { ST_HEADER, ST_PAYLOAD, ST_TRAILER, ST_DONE };

/* 20 digits would overflow uint64; 10 digits is already far above any limit. */
#define NS_MAX_DIGITS 19

void netstring_encode(buf *out, const void *p, size_t n)
{
    buf_put_i64(out, (int64_t)n);
    buf_putc(out, ':');
    buf_append(out, p, n);
    buf_putc(out, ',');
}

void ns_decoder_init(ns_decoder *d, uint64_t max_len, ns_sink sink, void *ctx)
{
    memset(d, 0, sizeof *d);
    d->max_len = max_len;
    d->sink = sink;
    d->ctx = ctx;
    d->state = ST_HEADER;
}

uint64_t ns_decoder_expected(const ns_decoder *d)
{
    return d->state == ST_HEADER ? 0 : d->want;
}

ns_status ns_decoder_feed(ns_decoder *d, const char *p, size_t n, size_t *used)
{
    size_t i = 0;
    while (i < n) {
        switch (d->state) {
        case ST_HEADER: {
            char c = p[i++];
            if (c >= '0' && c <= '9') {
                /* a leading zero is only allowed for the length 0 itself */
                if (d->header_digits == 1 && d->want == 0) return NS_ERR_HEADER;
                if (++d->header_digits > NS_MAX_DIGITS) return NS_ERR_HEADER;
                d->want = d->want * 10 + (uint64_t)(c - '0');
                if (d->want > d->max_len) return NS_ERR_TOO_BIG;
            } else if (c == ':' && d->header_digits > 0) {
                d->state = d->want ? ST_PAYLOAD : ST_TRAILER;
            } else {
                return NS_ERR_HEADER;
            }
            break;
        }
        case ST_PAYLOAD: {
            uint64_t left = d->want - d->got;
            size_t take = n - i < left ? n - i : (size_t)left;
            if (d->sink && d->sink(d->ctx, p + i, take) != 0) return NS_ERR_SINK;
            d->got += take;
            i += take;
            if (d->got == d->want) d->state = ST_TRAILER;
            break;
        }
        case ST_TRAILER:
            if (p[i++] != ',') return NS_ERR_TRAILER;
            d->state = ST_DONE;
            *used = i;
            return NS_DONE;
        default:
            *used = 0;
            return NS_DONE;
        }
    }
    *used = i;
    return NS_MORE;
}
