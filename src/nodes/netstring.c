/* netstring: frame encoder and incremental, non-buffering decoder.
 * The decoder is a three-state machine (header digits, payload, trailing
 * comma); payload bytes go straight to the sink, so memory use does not
 * depend on the frame size. A length over the limit is refused once its
 * last digit is read, so the refusal can say how long the frame claimed to
 * be; a length that does not fit in 64 bits is refused at the digit that
 * overflows. */
#include "nodes/netstring.h"

#include <string.h>

enum { ST_HEADER, ST_PAYLOAD, ST_TRAILER, ST_DONE, ST_REFUSED };

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

uint64_t ns_decoder_expected(const ns_decoder *d) { return d->state == ST_HEADER ? 0 : d->want; }

bool ns_decoder_overflowed(const ns_decoder *d) { return d->overflow; }

/* The header is over: refuse a length above the limit, else go on. */
static ns_status header_end(ns_decoder *d)
{
    if (d->want > d->max_len) {
        d->state = ST_REFUSED;
        return NS_ERR_TOO_BIG;
    }
    d->state = d->want ? ST_PAYLOAD : ST_TRAILER;
    return NS_MORE;
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
                d->header_digits++;
                uint64_t digit = (uint64_t)(c - '0');
                if (d->want > (UINT64_MAX - digit) / 10) { /* over any limit */
                    d->want = UINT64_MAX;
                    d->overflow = true;
                    d->state = ST_REFUSED;
                    return NS_ERR_TOO_BIG;
                }
                d->want = d->want * 10 + digit;
            } else if (c == ':' && d->header_digits > 0) {
                if (header_end(d) != NS_MORE) return NS_ERR_TOO_BIG;
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
        case ST_REFUSED: return NS_ERR_TOO_BIG;
        default: *used = 0; return NS_DONE;
        }
    }
    *used = i;
    return NS_MORE;
}
