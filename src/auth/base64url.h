/* base64url: the URL-safe base64 alphabet of RFC 4648 §5, without padding,
 * as JSON Web Tokens use it (RFC 7515 §2). Decoding is strict: padding,
 * characters outside the alphabet, an impossible length (4n+1) and
 * non-zero unused trailing bits are all refused, so every byte string has
 * exactly one accepted encoding. */
#ifndef AC_AUTH_BASE64URL_H
#define AC_AUTH_BASE64URL_H

#include <stddef.h>

/* Characters needed for n bytes (no padding, no NUL). */
size_t b64url_encoded_len(size_t n);

/* Writes b64url_encoded_len(n) characters and a NUL into out, whose size
 * must be at least that + 1. Returns the number of characters. */
size_t b64url_encode(const unsigned char *in, size_t n, char *out);

/* Decodes the n characters of in into out (room for out_cap bytes). Returns
 * the number of bytes, or -1 when the text is not canonical unpadded
 * base64url or does not fit. */
long b64url_decode(const char *in, size_t n, unsigned char *out, size_t out_cap);

#endif
