/* jwt: the admin API's tokens (docs/CONTRACT.md §6) — HS256 JSON Web Tokens.
 *
 * Issued: header exactly {"alg":"HS256"}, payload
 * {"sub":<id>,"aud":["admin"],"exp":<unix time>}, as yeti-web issues them;
 * always with exp. Verified: three base64url parts; header a JSON object
 * whose alg is exactly "HS256" (other header members such as typ are
 * tolerated); HMAC-SHA256 over "header.payload" with the secret's bytes,
 * compared in constant time; aud "admin" or an array containing it; exp
 * present and in the future; nbf, when present, not in the future (no
 * leeway on either); sub a positive integer. */
#ifndef AC_AUTH_JWT_H
#define AC_AUTH_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JWT_MAX_LEN 4096 /* longer tokens are refused unread */

typedef enum {
    JWT_OK = 0,
    JWT_MALFORMED, /* not three base64url parts of JSON objects */
    JWT_BAD_ALG,   /* alg missing or not exactly HS256 (none, HS384, RS256, ...) */
    JWT_BAD_SIGNATURE,
    JWT_EXPIRED,       /* exp <= now */
    JWT_NO_EXPIRY,     /* no exp claim: such a token would never end */
    JWT_NOT_YET_VALID, /* nbf > now */
    JWT_BAD_AUDIENCE,  /* aud missing or without "admin" */
    JWT_BAD_SUBJECT,   /* sub missing or not a positive integer */
} jwt_status;

/* Short reason for logs: "bad signature", "expired", ... */
const char *jwt_status_reason(jwt_status s);

/* Writes a NUL-terminated token into out; returns its length, or -1 when
 * sub or exp is not > 0, out is too small or HMAC fails. */
int jwt_sign(const unsigned char *key, size_t key_len, int64_t sub, int64_t exp, char *out, size_t out_len);

/* Checks everything above; on JWT_OK *sub is the subject. `now` is unix time. */
jwt_status jwt_verify(const unsigned char *key, size_t key_len, const char *token, int64_t now, int64_t *sub);

/* jwt_verify with a small per-thread cache of tokens that verified: a
 * token seen before under the same key skips the decoding, parsing and
 * HMAC, but its exp and nbf are checked against `now` every time, as
 * jwt_verify would. Only JWT_OK outcomes are cached, at most 4 tokens of up to 1 KiB
 * per thread; the token bytes are compared in full. Same results as
 * jwt_verify for every input. */
jwt_status jwt_verify_cached(const unsigned char *key, size_t key_len, const char *token, int64_t now,
                             int64_t *sub);
/* The same, and on JWT_OK *until (when not NULL): the first unix second
 * at which the token is expired (its exp, rounded up), for what lasts
 * longer than a request (an event stream). */
jwt_status jwt_verify_cached_until(const unsigned char *key, size_t key_len, const char *token, int64_t now,
                                   int64_t *sub, int64_t *until);
/* Empties this thread's cache (tests). */
void jwt_cache_clear(void);

#endif
