/* jwt: issuing and verifying the admin API's HS256 tokens (docs/CONTRACT.md §6).
 *
 * Verification order, chosen so that no claim is trusted before the
 * signature is checked, yet an unacceptable algorithm is reported as such:
 *   1. size cap (JWT_MAX_LEN), exactly three '.'-separated parts, header
 *      and payload non-empty, all three canonical unpadded base64url;
 *   2. header: a JSON object whose "alg" is exactly "HS256" (typ and other
 *      members tolerated; "crit" refused, as RFC 7515 §4.1.11 requires of
 *      extensions we do not understand) — otherwise JWT_BAD_ALG, even when
 *      the signature part is empty, as in alg "none" tokens;
 *   3. HMAC-SHA256 over the text "header.payload" with the key, compared
 *      with CRYPTO_memcmp (constant time); a signature of any length other
 *      than 32 bytes is a bad signature;
 *   4. only then the payload: a JSON object (duplicate keys refused); exp
 *      required (yeti-web always sets it, and a token without one would
 *      never end), an integer or real and > now (exp <= now is expired);
 *      nbf, when present, an integer or real and <= now (later is not yet
 *      valid); exp or nbf of any other type is malformed; aud "admin" or
 *      an array holding the string "admin"; sub a JSON integer > 0, or —
 *      as some issuers write it — a string of decimal digits without sign
 *      or leading zeros whose value is > 0 and fits in int64.
 * Both times are compared with `now` with no leeway, as ruby-jwt does by
 * default (yeti-web): a token is accepted from second nbf up to, not
 * including, second exp. An empty key is refused both ways (no token can be
 * minted or accepted with it), and so is minting without exp. JSON parsing
 * uses jansson on the decoded bytes. */
#include "auth/jwt.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/base64url.h"
#include "util/decimal.h"

#include <xxhash.h>

#define SIG_LEN 32 /* SHA-256 */

/* base64url('{"alg":"HS256"}') — the only header jwt_sign writes. */
static const char SIGN_HEADER_B64[] = "eyJhbGciOiJIUzI1NiJ9";

const char *jwt_status_reason(jwt_status s)
{
    switch (s) {
    case JWT_OK: return "ok";
    case JWT_MALFORMED: return "malformed token";
    case JWT_BAD_ALG: return "unsupported alg";
    case JWT_BAD_SIGNATURE: return "bad signature";
    case JWT_EXPIRED: return "expired";
    case JWT_NO_EXPIRY: return "no exp";
    case JWT_NOT_YET_VALID: return "not yet valid";
    case JWT_BAD_AUDIENCE: return "bad audience";
    case JWT_BAD_SUBJECT: return "bad subject";
    }
    return "invalid token";
}

static bool hmac_sha256(const unsigned char *key, size_t key_len, const char *data, size_t n,
                        unsigned char mac[SIG_LEN])
{
    if (key == NULL || key_len == 0 || key_len > INT_MAX) return false;
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, n, mac, &mac_len) == NULL)
        return false;
    return mac_len == SIG_LEN;
}

int jwt_sign(const unsigned char *key, size_t key_len, int64_t sub, int64_t exp, char *out, size_t out_len)
{
    if (out == NULL || sub <= 0 || exp <= 0) return -1;
    char payload[128];
    int pn = snprintf(payload, sizeof payload,
                      "{\"sub\":%" PRId64 ",\"aud\":[\"admin\"],\"exp\":%" PRId64 "}", sub, exp);
    if (pn < 0 || (size_t)pn >= sizeof payload) return -1;

    size_t hn = sizeof SIGN_HEADER_B64 - 1;
    size_t total = hn + 1 + b64url_encoded_len((size_t)pn) + 1 + b64url_encoded_len(SIG_LEN);
    if (out_len < total + 1) return -1;

    memcpy(out, SIGN_HEADER_B64, hn);
    size_t o = hn;
    out[o++] = '.';
    o += b64url_encode((const unsigned char *)payload, (size_t)pn, out + o);

    unsigned char mac[SIG_LEN];
    if (!hmac_sha256(key, key_len, out, o, mac)) {
        out[0] = '\0';
        return -1;
    }
    out[o++] = '.';
    o += b64url_encode(mac, SIG_LEN, out + o);
    return (int)o;
}

/* Decodes one part and parses it as a JSON object; NULL when it is not one. */
static json_t *decode_object(const char *part, size_t n)
{
    unsigned char raw[JWT_MAX_LEN];
    long len = b64url_decode(part, n, raw, sizeof raw);
    if (len <= 0) return NULL;
    json_error_t jerr;
    json_t *j = json_loadb((const char *)raw, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static bool decodes(const char *part, size_t n)
{
    unsigned char raw[JWT_MAX_LEN];
    return b64url_decode(part, n, raw, sizeof raw) >= 0;
}

/* A time claim (exp, nbf) as read, so that a cached verification can
 * re-check it against a later `now`. */
typedef struct time_claim {
    enum { CLAIM_NONE, CLAIM_INT, CLAIM_REAL } kind;
    int64_t i;
    double r;
} time_claim;

typedef struct validity {
    time_claim exp, nbf;
} validity;

/* The claim's time is later than now. */
static bool later_than(const time_claim *c, int64_t now)
{
    return c->kind == CLAIM_INT ? c->i > now : c->r > (double)now;
}

static jwt_status validity_check(const validity *v, int64_t now)
{
    if (v->exp.kind == CLAIM_NONE) return JWT_NO_EXPIRY;
    if (!later_than(&v->exp, now)) return JWT_EXPIRED;
    if (v->nbf.kind != CLAIM_NONE && later_than(&v->nbf, now)) return JWT_NOT_YET_VALID;
    return JWT_OK;
}

/* Reads one time claim: absent, an integer or a real; false for any other
 * type. */
static bool read_time(const json_t *payload, const char *name, time_claim *c)
{
    const json_t *t = json_object_get(payload, name);
    c->kind = CLAIM_NONE;
    if (t == NULL) return true;
    if (json_is_integer(t)) {
        c->kind = CLAIM_INT;
        c->i = (int64_t)json_integer_value(t);
    } else if (json_is_real(t)) {
        c->kind = CLAIM_REAL;
        c->r = json_real_value(t);
    } else {
        return false;
    }
    return true;
}

static jwt_status check_validity(const json_t *payload, int64_t now, validity *v)
{
    if (!read_time(payload, "exp", &v->exp) || !read_time(payload, "nbf", &v->nbf)) return JWT_MALFORMED;
    return validity_check(v, now);
}

static bool is_admin(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) == 5 && memcmp(json_string_value(v), "admin", 5) == 0;
}

static jwt_status check_aud(const json_t *payload)
{
    const json_t *aud = json_object_get(payload, "aud");
    if (is_admin(aud)) return JWT_OK;
    if (json_is_array(aud)) {
        size_t i;
        const json_t *v;
        json_array_foreach(aud, i, v)
        {
            if (is_admin(v)) return JWT_OK;
        }
    }
    return JWT_BAD_AUDIENCE;
}

static jwt_status check_sub(const json_t *payload, int64_t *sub)
{
    const json_t *s = json_object_get(payload, "sub");
    if (json_is_integer(s)) {
        json_int_t v = json_integer_value(s);
        if (v <= 0) return JWT_BAD_SUBJECT;
        *sub = (int64_t)v;
        return JWT_OK;
    }
    if (json_is_string(s))
        return decimal_positive_i64(json_string_value(s), json_string_length(s), sub) ? JWT_OK
                                                                                      : JWT_BAD_SUBJECT;
    return JWT_BAD_SUBJECT;
}

static jwt_status verify(const unsigned char *key, size_t key_len, const char *token, int64_t now,
                         int64_t *sub, validity *v)
{
    if (token == NULL) return JWT_MALFORMED;
    size_t n = strnlen(token, JWT_MAX_LEN + 1);
    if (n > JWT_MAX_LEN) return JWT_MALFORMED;

    const char *dot1 = memchr(token, '.', n);
    if (dot1 == NULL) return JWT_MALFORMED;
    const char *dot2 = memchr(dot1 + 1, '.', n - (size_t)(dot1 + 1 - token));
    if (dot2 == NULL) return JWT_MALFORMED;
    if (memchr(dot2 + 1, '.', n - (size_t)(dot2 + 1 - token)) != NULL) return JWT_MALFORMED;

    const char *h = token, *p = dot1 + 1, *s = dot2 + 1;
    size_t hn = (size_t)(dot1 - h), pn = (size_t)(dot2 - p), sn = n - (size_t)(s - token);
    if (hn == 0 || pn == 0) return JWT_MALFORMED;
    if (!decodes(p, pn) || !decodes(s, sn)) return JWT_MALFORMED;

    json_t *header = decode_object(h, hn);
    if (header == NULL) return JWT_MALFORMED;
    const json_t *alg = json_object_get(header, "alg");
    bool alg_ok = json_is_string(alg) && json_string_length(alg) == 5 &&
        memcmp(json_string_value(alg), "HS256", 5) == 0;
    bool has_crit = json_object_get(header, "crit") != NULL;
    json_decref(header);
    if (!alg_ok) return JWT_BAD_ALG;
    if (has_crit) return JWT_MALFORMED;

    unsigned char want[SIG_LEN], got[SIG_LEN];
    if (!hmac_sha256(key, key_len, token, (size_t)(dot2 - token), want)) return JWT_BAD_SIGNATURE;
    long gl = b64url_decode(s, sn, got, sizeof got);
    if (gl != SIG_LEN || CRYPTO_memcmp(want, got, SIG_LEN) != 0) return JWT_BAD_SIGNATURE;

    /* Signed by the key holder: the claims may now be read. */
    json_t *payload = decode_object(p, pn);
    if (payload == NULL) return JWT_MALFORMED;
    int64_t subject = 0;
    jwt_status st = check_validity(payload, now, v);
    if (st == JWT_OK) st = check_aud(payload);
    if (st == JWT_OK) st = check_sub(payload, &subject);
    json_decref(payload);
    if (st == JWT_OK && sub != NULL) *sub = subject;
    return st;
}

jwt_status jwt_verify(const unsigned char *key, size_t key_len, const char *token, int64_t now, int64_t *sub)
{
    validity v;
    return verify(key, key_len, token, now, sub, &v);
}

/* The cache: per thread (no lock), CACHE_WAYS entries replaced round-robin.
 * An entry holds the exact token bytes (compared in full: a hash match
 * alone would let a forged token pass for a cached one), a fingerprint of
 * the key it verified under, the subject and the exp and nbf claims. */
#define CACHE_WAYS 4
#define CACHE_TOKEN_MAX 1024 /* longer tokens are verified every time */

typedef struct cached_token {
    size_t len; /* 0 = empty */
    XXH128_hash_t key_fp;
    size_t key_len;
    int64_t sub;
    validity valid;
    char token[CACHE_TOKEN_MAX];
} cached_token;

static _Thread_local cached_token tcache[CACHE_WAYS];
static _Thread_local unsigned tcache_next;

/* The first second at which a valid token is expired: exp, rounded up. */
static int64_t expiry_of(const validity *v)
{
    if (v->exp.kind == CLAIM_INT) return v->exp.i;
    if (v->exp.r >= 9.2e18) return INT64_MAX;
    int64_t t = (int64_t)v->exp.r; /* > now >= 0 once verified */
    return (double)t < v->exp.r ? t + 1 : t;
}

jwt_status jwt_verify_cached(const unsigned char *key, size_t key_len, const char *token, int64_t now,
                             int64_t *sub)
{
    return jwt_verify_cached_until(key, key_len, token, now, sub, NULL);
}

jwt_status jwt_verify_cached_until(const unsigned char *key, size_t key_len, const char *token, int64_t now,
                                   int64_t *sub, int64_t *until)
{
    size_t n = token && key && key_len ? strnlen(token, CACHE_TOKEN_MAX + 1) : CACHE_TOKEN_MAX + 1;
    if (n > CACHE_TOKEN_MAX) { /* not cached: no key, no token, or a long one */
        validity v;
        jwt_status st = verify(key, key_len, token, now, sub, &v);
        if (st == JWT_OK && until) *until = expiry_of(&v);
        return st;
    }
    XXH128_hash_t fp = XXH3_128bits(key, key_len);
    for (int i = 0; i < CACHE_WAYS; i++) {
        cached_token *c = &tcache[i];
        if (c->len != n || c->key_len != key_len || !XXH128_isEqual(c->key_fp, fp) ||
            CRYPTO_memcmp(c->token, token, n) != 0) /* no timing oracle on a valid token */
            continue;
        jwt_status st = validity_check(&c->valid, now);
        if (st != JWT_OK) {
            c->len = 0; /* expired (for good), or the clock went back */
            return st;
        }
        if (sub != NULL) *sub = c->sub;
        if (until) *until = expiry_of(&c->valid);
        return JWT_OK;
    }
    validity v;
    int64_t subject = 0;
    jwt_status st = verify(key, key_len, token, now, &subject, &v);
    if (st != JWT_OK) return st;
    cached_token *c = &tcache[tcache_next++ % CACHE_WAYS];
    memcpy(c->token, token, n);
    c->len = n;
    c->key_fp = fp;
    c->key_len = key_len;
    c->sub = subject;
    c->valid = v;
    if (sub != NULL) *sub = subject;
    if (until) *until = expiry_of(&v);
    return JWT_OK;
}

void jwt_cache_clear(void)
{
    for (int i = 0; i < CACHE_WAYS; i++) tcache[i].len = 0;
}
