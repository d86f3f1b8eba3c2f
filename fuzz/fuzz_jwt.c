/* fuzz_jwt: token verification (auth/jwt.c) and its base64url codec
 * (auth/base64url.c), under the rules of auth/jwt.h.
 *
 * Input: byte 0 picks the mode, the rest is read by it.
 *   0, 1: the rest is a token as a client sends it (mode 1 verifies it
 *      under a second key as well, so the per-thread cache holds tokens of
 *      two keys);
 *   2, 3: the rest is a header and a payload as raw JSON bytes, split at
 *      the first 0xFF (a byte JSON text never holds); mode 3 replaces the
 *      header with {"alg":"HS256"}. The harness encodes and signs them with
 *      the key, so verification gets past the signature to the claims;
 *   4: the rest gives a subject and an expiry for jwt_sign.
 *
 * Properties:
 *   - jwt_verify_cached says what jwt_verify says, first and second time;
 *   - every '.'-separated part that decodes is the one canonical encoding
 *     of its bytes (decode then encode gives it back);
 *   - an accepted token's signature is the HMAC-SHA256 of header.payload,
 *     computed here with OpenSSL directly, in its canonical encoding, and
 *     its subject is positive;
 *   - a token signed with the key is never a bad signature (unless it is
 *     over JWT_MAX_LEN); under another key, a token whose claims were read
 *     is a bad signature and one refused for its alg stays refused so;
 *   - expiry is monotonic: accepted now means accepted a day earlier with
 *     the same subject (or not yet valid then, by its nbf), expired now
 *     means expired a day later;
 *   - jwt_sign refuses a subject or an expiry that is not positive; its
 *     tokens verify to their subject until they expire. */
#include "fuzz.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/base64url.h"
#include "auth/jwt.h"

static const unsigned char KEY[] = "fuzz-secret-key-0123456789";
static const unsigned char OTHER[] = "another-secret-key-98765";
#define KEY_LEN (sizeof KEY - 1)
#define OTHER_LEN (sizeof OTHER - 1)
#define NOW ((int64_t)1700000000)
#define DAY ((int64_t)86400)

static jwt_status verify_both(const unsigned char *key, size_t key_len, const char *token, int64_t now,
                              int64_t *sub)
{
    int64_t s1 = 0, s2 = 0, s3 = 0;
    jwt_status a = jwt_verify(key, key_len, token, now, &s1);
    jwt_status b = jwt_verify_cached(key, key_len, token, now, &s2);
    jwt_status c = jwt_verify_cached(key, key_len, token, now, &s3);
    FZ_CHECK(a == b && b == c, "jwt_verify %d, cached %d then %d", a, b, c);
    if (a == JWT_OK)
        FZ_CHECK(s1 == s2 && s2 == s3, "subjects %lld, %lld, %lld", (long long)s1, (long long)s2,
                 (long long)s3);
    *sub = s1;
    return a;
}

/* Decoding then encoding gives every part that decodes back unchanged. */
static void check_parts_canonical(const char *token)
{
    size_t n = strlen(token);
    for (const char *p = token; p <= token + n;) {
        const char *dot = memchr(p, '.', (size_t)(token + n - p));
        size_t len = dot ? (size_t)(dot - p) : (size_t)(token + n - p);
        unsigned char *raw = fz_alloc(len);
        long got = b64url_decode(p, len, raw, len);
        if (got >= 0) {
            char *enc = fz_alloc(b64url_encoded_len((size_t)got) + 1);
            size_t k = b64url_encode(raw, (size_t)got, enc);
            FZ_CHECK(k == len && memcmp(enc, p, len) == 0, "part '%.*s' re-encodes as '%s'", (int)len, p,
                     enc);
            free(enc);
        }
        free(raw);
        if (!dot) break;
        p = dot + 1;
    }
}

/* An accepted token ends in the canonical encoding of HMAC(key, header.payload). */
static void check_signature(const unsigned char *key, size_t key_len, const char *token)
{
    const char *dot2 = strrchr(token, '.');
    FZ_CHECK(dot2 != NULL, "an accepted token without dots");
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    FZ_CHECK(HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)token, (size_t)(dot2 - token), mac,
                  &mac_len) != NULL &&
                 mac_len == 32,
             "HMAC failed");
    char want[64];
    b64url_encode(mac, mac_len, want);
    FZ_CHECK(strcmp(dot2 + 1, want) == 0, "accepted signature '%s', HMAC is '%s'", dot2 + 1, want);
}

static void check_token(const char *token, bool signed_here)
{
    int64_t sub = 0, sub2 = 0;
    jwt_status st = verify_both(KEY, KEY_LEN, token, NOW, &sub);
    check_parts_canonical(token);
    if (strlen(token) > JWT_MAX_LEN) FZ_CHECK(st == JWT_MALFORMED, "a token over JWT_MAX_LEN gave %d", st);
    if (st == JWT_OK) {
        check_signature(KEY, KEY_LEN, token);
        FZ_CHECK(sub > 0, "accepted with subject %lld", (long long)sub);
        jwt_status earlier = verify_both(KEY, KEY_LEN, token, NOW - DAY, &sub2);
        FZ_CHECK((earlier == JWT_OK && sub2 == sub) || earlier == JWT_NOT_YET_VALID,
                 "accepted now, a day earlier %d", earlier);
    }
    if (st == JWT_EXPIRED)
        FZ_CHECK(verify_both(KEY, KEY_LEN, token, NOW + DAY, &sub2) == JWT_EXPIRED,
                 "expired now, not a day later");
    if (signed_here && strlen(token) <= JWT_MAX_LEN)
        FZ_CHECK(st != JWT_BAD_SIGNATURE, "a token signed with the key has a bad signature");
    jwt_status other = verify_both(OTHER, OTHER_LEN, token, NOW, &sub2);
    if (st == JWT_BAD_ALG) FZ_CHECK(other == JWT_BAD_ALG, "bad alg under one key, %d under another", other);
    if (st == JWT_OK || st == JWT_EXPIRED || st == JWT_BAD_AUDIENCE || st == JWT_BAD_SUBJECT ||
        st == JWT_NO_EXPIRY || st == JWT_NOT_YET_VALID)
        FZ_CHECK(other == JWT_BAD_SIGNATURE, "claims read (%d) yet another key gives %d", st, other);
}

/* base64url(header).base64url(payload).base64url(HMAC) */
static char *sign_parts(const uint8_t *h, size_t hn, const uint8_t *p, size_t pn)
{
    size_t cap = b64url_encoded_len(hn) + b64url_encoded_len(pn) + 64;
    char *t = fz_alloc(cap);
    size_t o = b64url_encode(h, hn, t);
    t[o++] = '.';
    o += b64url_encode(p, pn, t + o);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    FZ_CHECK(HMAC(EVP_sha256(), KEY, (int)KEY_LEN, (const unsigned char *)t, o, mac, &mac_len) != NULL,
             "HMAC failed");
    t[o++] = '.';
    b64url_encode(mac, mac_len, t + o);
    return t;
}

static void check_sign(fz_in *in)
{
    int64_t sub = (int64_t)((uint64_t)fz_u32(in) << 32 | fz_u32(in));
    int64_t exp = (int64_t)((uint64_t)fz_u32(in) << 32 | fz_u32(in));
    if (fz_u8(in) & 1) exp = NOW - DAY + exp % (2 * DAY); /* around now */
    char token[JWT_MAX_LEN];
    int n = jwt_sign(KEY, KEY_LEN, sub, exp, token, sizeof token);
    if (sub <= 0 || exp <= 0) { /* every token has a subject and an expiry */
        FZ_CHECK(n == -1, "signed a token for subject %lld, exp %lld", (long long)sub, (long long)exp);
        return;
    }
    FZ_CHECK(n > 0 && (size_t)n == strlen(token), "jwt_sign returned %d", n);
    int64_t got = 0;
    jwt_status st = verify_both(KEY, KEY_LEN, token, NOW, &got);
    if (exp <= NOW) {
        FZ_CHECK(st == JWT_EXPIRED, "exp %lld <= now gave %d", (long long)exp, st);
    } else {
        FZ_CHECK(st == JWT_OK && got == sub, "sub %lld exp %lld: status %d, sub %lld", (long long)sub,
                 (long long)exp, st, (long long)got);
    }
    check_token(token, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char header[] = "{\"alg\":\"HS256\"}";
    fz_in in = {data, size};
    uint8_t mode = fz_u8(&in) % 5;
    if (mode <= 1) {
        char *token = fz_strndup(in.p, in.n);
        check_token(token, false);
        if (mode == 1) {
            int64_t sub;
            verify_both(OTHER, OTHER_LEN, token, NOW, &sub);
        }
        free(token);
    } else if (mode <= 3) {
        const uint8_t *sep = in.n ? memchr(in.p, 0xFF, in.n) : NULL;
        size_t hn = sep ? (size_t)(sep - in.p) : 0;
        const uint8_t *h = in.p, *p = sep ? sep + 1 : in.p;
        size_t pn = sep ? in.n - hn - 1 : in.n;
        if (mode == 3) {
            h = (const uint8_t *)header;
            hn = sizeof header - 1;
        }
        char *token = sign_parts(h, hn, p, pn);
        check_token(token, hn > 0 && pn > 0);
        free(token);
    } else {
        check_sign(&in);
    }
    return 0;
}
