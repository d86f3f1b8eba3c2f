/* base64url: strict, unpadded RFC 4648 §5 encoding for JWT parts.
 * Decoding goes through a 256-entry table (-1 for anything outside the
 * alphabet, '=' included) and checks that the bits a short final group
 * leaves unused are zero, so no two texts decode to the same bytes. */
#include "auth/base64url.h"

#include <stdint.h>

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int8_t value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return (int8_t)(c - 'A');
    if (c >= 'a' && c <= 'z') return (int8_t)(c - 'a' + 26);
    if (c >= '0' && c <= '9') return (int8_t)(c - '0' + 52);
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

size_t b64url_encoded_len(size_t n) { return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1); }

size_t b64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = ALPHABET[v >> 18 & 63];
        out[o++] = ALPHABET[v >> 12 & 63];
        out[o++] = ALPHABET[v >> 6 & 63];
        out[o++] = ALPHABET[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = ALPHABET[v >> 18 & 63];
        out[o++] = ALPHABET[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = ALPHABET[v >> 18 & 63];
        out[o++] = ALPHABET[v >> 12 & 63];
        out[o++] = ALPHABET[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

long b64url_decode(const char *in, size_t n, unsigned char *out, size_t out_cap)
{
    if (n % 4 == 1) return -1;
    size_t need = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    if (need > out_cap || need > (size_t)INT32_MAX) return -1;

    size_t o = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        int8_t a = value_of((unsigned char)in[i]), b = value_of((unsigned char)in[i + 1]),
               c = value_of((unsigned char)in[i + 2]), d = value_of((unsigned char)in[i + 3]);
        if ((a | b | c | d) < 0) return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    size_t rest = n - i;
    if (rest >= 2) {
        int8_t a = value_of((unsigned char)in[i]), b = value_of((unsigned char)in[i + 1]);
        if ((a | b) < 0) return -1;
        if (rest == 2) {
            if (b & 0x0f) return -1; /* non-canonical: unused low bits set */
            out[o++] = (unsigned char)(a << 2 | b >> 4);
        } else {
            int8_t c = value_of((unsigned char)in[i + 2]);
            if (c < 0 || (c & 0x03)) return -1;
            out[o++] = (unsigned char)(a << 2 | b >> 4);
            out[o++] = (unsigned char)((b & 0x0f) << 4 | c >> 2);
        }
    }
    return (long)o;
}
