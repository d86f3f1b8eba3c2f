/* test_jwt: auth/jwt.c and auth/base64url.c — tokens signed by jwt_sign
 * verify; the seed's token has the exact header/payload jwt_sign writes and
 * is refused with a different key; a token minted here independently
 * (OpenSSL HMAC() and a hand-written base64url) verifies; and every refusal:
 * algs none/HS384/RS256, tampering, bad/short/empty signatures, expiry (exp
 * required), not-before, audience, subject forms, structure (2/4/empty
 * parts, padding, non-canonical base64url, non-object JSON, oversized
 * tokens). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/base64url.h"
#include "auth/jwt.h"

static const unsigned char KEY[] = "test-secret-key-base-0123456789abcdef";
#define KEYLEN (sizeof KEY - 1)
#define NOW 1767358000LL

static const char SEED_TOKEN[] =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjIyLCJhdWQiOlsiYWRtaW4iXSwiZXhwIjoxNzY3MzU4NTYwfQ."
    "zHDiaUMzN9aHnaFQzkkqa6YKwfVk_6NROmQAyr9AXRE";

/* ---- an independent HS256 minter: no code from src/auth ------------------------- */

static void hand_b64url(const unsigned char *in, size_t n, char *out)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    unsigned bits = 0;
    int nbits = 0;
    for (size_t i = 0; i < n; i++) {
        bits = (bits << 8) | in[i];
        nbits += 8;
        while (nbits >= 6) {
            out[o++] = A[(bits >> (nbits - 6)) & 63];
            nbits -= 6;
        }
    }
    if (nbits > 0) out[o++] = A[(bits << (6 - nbits)) & 63];
    out[o] = '\0';
}

/* header and payload are JSON texts; sig_key NULL → signature part empty. */
static char *mint(const char *header, const char *payload, const unsigned char *sig_key, size_t sig_key_len)
{
    size_t cap = 4 * (strlen(header) + strlen(payload)) + 200;
    char *tok = malloc(cap);
    assert_non_null(tok);
    hand_b64url((const unsigned char *)header, strlen(header), tok);
    strcat(tok, ".");
    hand_b64url((const unsigned char *)payload, strlen(payload), tok + strlen(tok));
    strcat(tok, ".");
    if (sig_key != NULL) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;
        assert_non_null(HMAC(EVP_sha256(), sig_key, (int)sig_key_len, (const unsigned char *)tok,
                             strlen(tok) - 1, mac, &maclen));
        hand_b64url(mac, maclen, tok + strlen(tok));
    }
    return tok;
}

static jwt_status verify(const char *tok, int64_t *sub) { return jwt_verify(KEY, KEYLEN, tok, NOW, sub); }

static void payload_status(const char *payload, jwt_status want)
{
    char *tok = mint("{\"alg\":\"HS256\"}", payload, KEY, KEYLEN);
    int64_t sub = -1;
    jwt_status got = verify(tok, &sub);
    if (got != want)
        fail_msg("payload %s: got %s, want %s", payload, jwt_status_reason(got), jwt_status_reason(want));
    free(tok);
}

/* ---- base64url ------------------------------------------------------------------ */

static void b64url_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *raw, *enc;
    } v[] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char enc[32];
        unsigned char dec[32];
        size_t n = strlen(v[i].raw);
        assert_int_equal(b64url_encoded_len(n), strlen(v[i].enc));
        assert_int_equal(b64url_encode((const unsigned char *)v[i].raw, n, enc), strlen(v[i].enc));
        assert_string_equal(enc, v[i].enc);
        assert_int_equal(b64url_decode(v[i].enc, strlen(v[i].enc), dec, sizeof dec), (long)n);
        assert_memory_equal(dec, v[i].raw, n);
    }
}

static void b64url_refusals(void **state)
{
    (void)state;
    unsigned char dec[32];
    const char *bad[] = {"Zg==", "Zm8=", "Z",      "Zm9vY", "Zh",    "Zm9",
                         "Zm+v", "Zm/v", "Zm9v\n", "Zm 9",  "Zm9v!A"};
    /* "Zh" and "Zm9" have non-zero unused trailing bits (canonical: "Zg", "Zm8"). */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (b64url_decode(bad[i], strlen(bad[i]), dec, sizeof dec) != -1) fail_msg("'%s' decoded", bad[i]);
    /* does not fit */
    assert_int_equal(b64url_decode("Zm9vYmFy", 8, dec, 5), -1);
}

/* ---- signing and the seed's token --------------------------------------------- */

static void round_trip(void **state)
{
    (void)state;
    char tok[512];
    int n = jwt_sign(KEY, KEYLEN, 42, NOW + 600, tok, sizeof tok);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(tok));
    int64_t sub = 0;
    assert_int_equal(verify(tok, &sub), JWT_OK);
    assert_int_equal(sub, 42);
    /* a second before expiry still fine, at expiry refused */
    assert_int_equal(jwt_verify(KEY, KEYLEN, tok, NOW + 599, &sub), JWT_OK);
    assert_int_equal(jwt_verify(KEY, KEYLEN, tok, NOW + 600, &sub), JWT_EXPIRED);
    /* a different key */
    static const unsigned char other[] = "another-secret";
    assert_int_equal(jwt_verify(other, sizeof other - 1, tok, NOW, &sub), JWT_BAD_SIGNATURE);
}

static void sign_exact_bytes(void **state)
{
    (void)state;
    char tok[512];
    assert_true(jwt_sign(KEY, KEYLEN, 7, 1700000000, tok, sizeof tok) > 0);
    char *dot1 = strchr(tok, '.'), *dot2 = strchr(dot1 + 1, '.');
    unsigned char raw[256];
    long n = b64url_decode(tok, (size_t)(dot1 - tok), raw, sizeof raw);
    assert_int_equal(n, 15);
    assert_memory_equal(raw, "{\"alg\":\"HS256\"}", 15);
    n = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), raw, sizeof raw);
    const char want[] = "{\"sub\":7,\"aud\":[\"admin\"],\"exp\":1700000000}";
    assert_int_equal(n, (long)strlen(want));
    assert_memory_equal(raw, want, strlen(want));
}

static void sign_refusals(void **state)
{
    (void)state;
    char tok[512];
    memset(tok, 'x', sizeof tok);
    int full = jwt_sign(KEY, KEYLEN, 22, 1767358560, tok, sizeof tok);
    assert_true(full > 0);
    assert_int_equal(jwt_sign(KEY, KEYLEN, 22, 1767358560, tok, (size_t)full), -1); /* no room for NUL */
    assert_int_equal(jwt_sign(KEY, KEYLEN, 22, 1767358560, tok, (size_t)full + 1), full);
    assert_int_equal(jwt_sign(KEY, KEYLEN, 0, 1767358560, tok, sizeof tok), -1);
    assert_int_equal(jwt_sign(KEY, KEYLEN, -3, 1767358560, tok, sizeof tok), -1);
    assert_int_equal(jwt_sign(KEY, 0, 22, 1767358560, tok, sizeof tok), -1); /* empty key */
    /* never a token without exp */
    assert_int_equal(jwt_sign(KEY, KEYLEN, 22, 0, tok, sizeof tok), -1);
    assert_int_equal(jwt_sign(KEY, KEYLEN, 22, -1, tok, sizeof tok), -1);
}

static void seed_token(void **state)
{
    (void)state;
    /* jwt_sign writes byte-for-byte the seed's header and payload */
    char tok[512];
    assert_true(jwt_sign(KEY, KEYLEN, 22, 1767358560, tok, sizeof tok) > 0);
    const char *seed_sig = strrchr(SEED_TOKEN, '.');
    const char *our_sig = strrchr(tok, '.');
    assert_int_equal(our_sig - tok, seed_sig - SEED_TOKEN);
    assert_memory_equal(tok, SEED_TOKEN, (size_t)(seed_sig - SEED_TOKEN));

    /* its parts decode to exactly that */
    unsigned char raw[256];
    const char *dot1 = strchr(SEED_TOKEN, '.');
    long n = b64url_decode(dot1 + 1, (size_t)(seed_sig - dot1 - 1), raw, sizeof raw - 1);
    assert_true(n > 0);
    raw[n] = '\0';
    assert_string_equal((char *)raw, "{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358560}");
    assert_int_equal(b64url_decode(seed_sig + 1, strlen(seed_sig + 1), raw, sizeof raw), 32);

    /* we do not know the seed's key: its signature must not verify with ours */
    int64_t sub = 0;
    assert_int_equal(jwt_verify(KEY, KEYLEN, SEED_TOKEN, 1767358000, &sub), JWT_BAD_SIGNATURE);
    assert_int_equal(sub, 0);
}

static void independent_token(void **state)
{
    (void)state;
    char *tok =
        mint("{\"alg\":\"HS256\"}", "{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358560}", KEY, KEYLEN);
    int64_t sub = 0;
    assert_int_equal(verify(tok, &sub), JWT_OK);
    assert_int_equal(sub, 22);
    /* and it is the very token jwt_sign makes */
    char ours[512];
    assert_true(jwt_sign(KEY, KEYLEN, 22, 1767358560, ours, sizeof ours) > 0);
    assert_string_equal(ours, tok);
    free(tok);

    /* other issuers' shapes: typ in the header, spaces, other claims, reals */
    tok = mint("{\"typ\":\"JWT\", \"alg\":\"HS256\"}",
               "{ \"iat\": 1, \"exp\": 1767358560.5, \"aud\": \"admin\", \"sub\": 5, \"x\": [1,{}] }", KEY,
               KEYLEN);
    assert_int_equal(verify(tok, &sub), JWT_OK);
    assert_int_equal(sub, 5);
    free(tok);
}

/* ---- refusals --------------------------------------------------------------------- */

static const char GOOD_PAYLOAD[] = "{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358560}";

static void alg_refused(void **state)
{
    (void)state;
    static const char *headers[] = {
        "{\"alg\":\"none\"}",  "{\"alg\":\"HS384\"}",  "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"hs256\"}", "{\"alg\":\"HS256 \"}", "{\"alg\":null}",
        "{\"alg\":256}",       "{\"typ\":\"JWT\"}",    "{}",
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        /* signed with the right key, and unsigned: both refused for the alg */
        char *signed_tok = mint(headers[i], GOOD_PAYLOAD, KEY, KEYLEN);
        char *bare = mint(headers[i], GOOD_PAYLOAD, NULL, 0);
        if (verify(signed_tok, NULL) != JWT_BAD_ALG) fail_msg("signed %s accepted", headers[i]);
        if (verify(bare, NULL) != JWT_BAD_ALG) fail_msg("unsigned %s accepted", headers[i]);
        free(signed_tok);
        free(bare);
    }
    /* HS384 with a real HS384 signature */
    char *tok = mint("{\"alg\":\"HS384\"}", GOOD_PAYLOAD, NULL, 0);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    assert_non_null(
        HMAC(EVP_sha384(), KEY, (int)KEYLEN, (unsigned char *)tok, strlen(tok) - 1, mac, &maclen));
    char *full = malloc(strlen(tok) + 100);
    strcpy(full, tok);
    hand_b64url(mac, maclen, full + strlen(full));
    assert_int_equal(verify(full, NULL), JWT_BAD_ALG);
    free(full);
    free(tok);
    /* crit extensions are not understood */
    tok = mint("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", GOOD_PAYLOAD, KEY, KEYLEN);
    assert_int_equal(verify(tok, NULL), JWT_MALFORMED);
    free(tok);
}

static void tampered_payload(void **state)
{
    (void)state;
    char *tok = mint("{\"alg\":\"HS256\"}", GOOD_PAYLOAD, KEY, KEYLEN);
    char *evil = mint("{\"alg\":\"HS256\"}", "{\"sub\":1,\"aud\":[\"admin\"],\"exp\":1767358560}", NULL, 0);
    /* evil's header.payload with tok's signature */
    char *spliced = malloc(strlen(tok) + strlen(evil) + 1);
    strcpy(spliced, evil);
    strcat(spliced, strrchr(tok, '.') + 1);
    assert_int_equal(verify(spliced, NULL), JWT_BAD_SIGNATURE);
    /* one flipped payload character */
    char *flip = strdup(tok);
    char *p = strchr(flip, '.') + 3;
    *p = *p == 'A' ? 'B' : 'A';
    assert_int_equal(verify(flip, NULL), JWT_BAD_SIGNATURE);
    free(flip);
    free(spliced);
    free(evil);
    free(tok);
}

static void bad_signature(void **state)
{
    (void)state;
    static const unsigned char wrong[] = "wrong-key";
    char *tok = mint("{\"alg\":\"HS256\"}", GOOD_PAYLOAD, wrong, sizeof wrong - 1);
    assert_int_equal(verify(tok, NULL), JWT_BAD_SIGNATURE);
    free(tok);

    /* empty signature, truncated signature, signature with an extra byte */
    tok = mint("{\"alg\":\"HS256\"}", GOOD_PAYLOAD, NULL, 0);
    assert_int_equal(verify(tok, NULL), JWT_BAD_SIGNATURE);
    free(tok);
    char good[512];
    assert_true(jwt_sign(KEY, KEYLEN, 22, 1767358560, good, sizeof good) > 0);
    char cut[512];
    strcpy(cut, good);
    cut[strlen(cut) - 3] = '\0'; /* 40 characters: 30 bytes */
    assert_int_equal(verify(cut, NULL), JWT_BAD_SIGNATURE);
    char longer[520];
    snprintf(longer, sizeof longer, "%sAAAA", good);
    assert_int_equal(verify(longer, NULL), JWT_BAD_SIGNATURE);
    /* last signature char with non-canonical trailing bits: not base64url */
    strcpy(cut, good);
    char *last = cut + strlen(cut) - 1;
    assert_int_equal(verify(cut, NULL), JWT_OK);
    /* 43 characters for 32 bytes: the last one's low 2 bits are unused */
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t idx = (size_t)(strchr(A, *last) - A);
    assert_int_equal(idx & 3, 0);
    *last = A[idx | 1];
    assert_int_equal(verify(cut, NULL), JWT_MALFORMED);
    /* padding is refused */
    snprintf(longer, sizeof longer, "%s=", good);
    assert_int_equal(verify(longer, NULL), JWT_MALFORMED);
    /* an empty key never verifies */
    assert_int_equal(jwt_verify(KEY, 0, good, NOW, NULL), JWT_BAD_SIGNATURE);
}

static void expired(void **state)
{
    (void)state;
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767357999}", JWT_EXPIRED);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358000}", JWT_EXPIRED); /* == now */
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358001}", JWT_OK);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767357999.9}", JWT_EXPIRED);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":0}", JWT_EXPIRED);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":-1}", JWT_EXPIRED);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":\"1767358560\"}", JWT_MALFORMED);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":null}", JWT_MALFORMED);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":99999999999999999999}", JWT_MALFORMED);
    /* no exp: refused (it would never end) */
    payload_status("{\"sub\":22,\"aud\":[\"admin\"]}", JWT_NO_EXPIRY);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"nbf\":1767357000}", JWT_NO_EXPIRY);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"Exp\":1767358560}", JWT_NO_EXPIRY);
}

/* nbf: accepted from that second on, with no leeway (as exp). */
static void not_before(void **state)
{
    (void)state;
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358560,\"nbf\":1767358001}",
                   JWT_NOT_YET_VALID);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358560,\"nbf\":1767400000}",
                   JWT_NOT_YET_VALID);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358560,\"nbf\":1767358000.5}",
                   JWT_NOT_YET_VALID);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358560,\"nbf\":1767358000}",
                   JWT_OK); /* == now */
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358560,\"nbf\":1767357999.5}", JWT_OK);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358560,\"nbf\":0}", JWT_OK);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358560,\"nbf\":\"1767357000\"}",
                   JWT_MALFORMED);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358560,\"nbf\":null}", JWT_MALFORMED);
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358560,\"nbf\":[1]}", JWT_MALFORMED);
    /* both wrong: expired is said first */
    payload_status("{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767357000,\"nbf\":1767400000}", JWT_EXPIRED);

    /* one token through time: not yet, valid, expired */
    char *tok = mint("{\"alg\":\"HS256\"}",
                     "{\"sub\":5,\"aud\":[\"admin\"],\"nbf\":1767358100,\"exp\":1767358600}", KEY, KEYLEN);
    int64_t sub = 0;
    assert_int_equal(jwt_verify(KEY, KEYLEN, tok, NOW + 99, &sub), JWT_NOT_YET_VALID);
    assert_int_equal(sub, 0);
    assert_int_equal(jwt_verify(KEY, KEYLEN, tok, NOW + 100, &sub), JWT_OK);
    assert_int_equal(sub, 5);
    assert_int_equal(jwt_verify(KEY, KEYLEN, tok, NOW + 599, &sub), JWT_OK);
    assert_int_equal(jwt_verify(KEY, KEYLEN, tok, NOW + 600, &sub), JWT_EXPIRED);
    free(tok);
}

static void audience(void **state)
{
    (void)state;
    payload_status("{\"sub\":22,\"aud\":[\"user\"],\"exp\":1767358560}", JWT_BAD_AUDIENCE);
    payload_status("{\"sub\":22,\"exp\":1767358560}", JWT_BAD_AUDIENCE);
    payload_status("{\"sub\":22,\"aud\":\"admin\",\"exp\":1767358560}", JWT_OK);
    payload_status("{\"sub\":22,\"aud\":\"user\",\"exp\":1767358560}", JWT_BAD_AUDIENCE);
    payload_status("{\"sub\":22,\"aud\":[\"user\",\"admin\"],\"exp\":1767358560}", JWT_OK);
    payload_status("{\"sub\":22,\"aud\":[],\"exp\":1767358560}", JWT_BAD_AUDIENCE);
    payload_status("{\"sub\":22,\"aud\":\"Admin\",\"exp\":1767358560}", JWT_BAD_AUDIENCE);
    payload_status("{\"sub\":22,\"aud\":\"admins\",\"exp\":1767358560}", JWT_BAD_AUDIENCE);
    payload_status("{\"sub\":22,\"aud\":[[\"admin\"]],\"exp\":1767358560}", JWT_BAD_AUDIENCE);
    payload_status("{\"sub\":22,\"aud\":{\"admin\":1},\"exp\":1767358560}", JWT_BAD_AUDIENCE);
    payload_status("{\"sub\":22,\"aud\":null,\"exp\":1767358560}", JWT_BAD_AUDIENCE);
}

static void subject(void **state)
{
    (void)state;
    payload_status("{\"aud\":[\"admin\"],\"exp\":1767358560}", JWT_BAD_SUBJECT);
    payload_status("{\"sub\":0,\"aud\":[\"admin\"],\"exp\":1767358560}", JWT_BAD_SUBJECT);
    payload_status("{\"sub\":-22,\"aud\":[\"admin\"],\"exp\":1767358560}", JWT_BAD_SUBJECT);
    payload_status("{\"sub\":22.0,\"aud\":[\"admin\"],\"exp\":1767358560}", JWT_BAD_SUBJECT);
    payload_status("{\"sub\":22.5,\"aud\":[\"admin\"],\"exp\":1767358560}", JWT_BAD_SUBJECT);
    payload_status("{\"sub\":true,\"aud\":[\"admin\"],\"exp\":1767358560}", JWT_BAD_SUBJECT);
    payload_status("{\"sub\":null,\"aud\":[\"admin\"],\"exp\":1767358560}", JWT_BAD_SUBJECT);
    payload_status("{\"sub\":[22],\"aud\":[\"admin\"],\"exp\":1767358560}", JWT_BAD_SUBJECT);
    /* digits in a string: accepted as the number */
    char *tok =
        mint("{\"alg\":\"HS256\"}", "{\"sub\":\"22\",\"aud\":[\"admin\"],\"exp\":1767358560}", KEY, KEYLEN);
    int64_t sub = 0;
    assert_int_equal(verify(tok, &sub), JWT_OK);
    assert_int_equal(sub, 22);
    free(tok);
    tok = mint("{\"alg\":\"HS256\"}",
               "{\"sub\":\"9223372036854775807\",\"aud\":[\"admin\"],\"exp\":1767358560}", KEY, KEYLEN);
    assert_int_equal(verify(tok, &sub), JWT_OK);
    assert_int_equal(sub, INT64_MAX);
    free(tok);
    static const char *bad[] = {"\"\"",
                                "\"0\"",
                                "\"022\"",
                                "\"-22\"",
                                "\"+22\"",
                                "\" 22\"",
                                "\"22 \"",
                                "\"2a\"",
                                "\"22.0\"",
                                "\"9223372036854775808\"",
                                "\"99999999999999999999\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char payload[128];
        snprintf(payload, sizeof payload, "{\"sub\":%s,\"aud\":[\"admin\"],\"exp\":1767358560}", bad[i]);
        payload_status(payload, JWT_BAD_SUBJECT);
    }
}

static void structure(void **state)
{
    (void)state;
    char good[512];
    assert_true(jwt_sign(KEY, KEYLEN, 22, 1767358560, good, sizeof good) > 0);
    const char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
    char buf[1024];

    static const char *garbage[] = {"",
                                    "garbage",
                                    "Bearer",
                                    ".",
                                    "..",
                                    "...",
                                    "a.b",
                                    "a.b.c.d",
                                    "\xff\xfe.\x01.x",
                                    "{\"alg\":\"HS256\"}.{}.x"};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        if (verify(garbage[i], NULL) != JWT_MALFORMED) fail_msg("'%s' not malformed", garbage[i]);
    assert_int_equal(verify(NULL, NULL), JWT_MALFORMED);

    /* 2 parts */
    snprintf(buf, sizeof buf, "%.*s", (int)(dot2 - good), good);
    assert_int_equal(verify(buf, NULL), JWT_MALFORMED);
    /* 4 parts */
    snprintf(buf, sizeof buf, "%s.%s", good, dot2 + 1);
    assert_int_equal(verify(buf, NULL), JWT_MALFORMED);
    snprintf(buf, sizeof buf, "%s.", good);
    assert_int_equal(verify(buf, NULL), JWT_MALFORMED);
    /* empty header, empty payload */
    snprintf(buf, sizeof buf, "%s", dot1);
    assert_int_equal(verify(buf, NULL), JWT_MALFORMED);
    snprintf(buf, sizeof buf, "%.*s.%s", (int)(dot1 - good), good, dot2);
    assert_int_equal(verify(buf, NULL), JWT_MALFORMED);
    /* leading / trailing white space is not part of a token */
    snprintf(buf, sizeof buf, " %s", good);
    assert_int_equal(verify(buf, NULL), JWT_MALFORMED);
    snprintf(buf, sizeof buf, "%s\n", good);
    assert_int_equal(verify(buf, NULL), JWT_MALFORMED);

    /* header / payload not JSON objects (validly signed) */
    static const char *not_objects[] = {"[]", "\"x\"", "1", "null", "{", "{\"a\":1}x", "{\"a\":1,\"a\":2}"};
    for (size_t i = 0; i < sizeof not_objects / sizeof not_objects[0]; i++) {
        char *t = mint(not_objects[i], GOOD_PAYLOAD, KEY, KEYLEN);
        if (verify(t, NULL) != JWT_MALFORMED) fail_msg("header %s accepted", not_objects[i]);
        free(t);
        t = mint("{\"alg\":\"HS256\"}", not_objects[i], KEY, KEYLEN);
        if (verify(t, NULL) != JWT_MALFORMED) fail_msg("payload %s accepted", not_objects[i]);
        free(t);
    }
    /* a duplicated sub cannot smuggle a second value */
    payload_status("{\"sub\":22,\"sub\":1,\"aud\":[\"admin\"],\"exp\":1767358560}", JWT_MALFORMED);
    /* NUL inside a claim */
    payload_status("{\"sub\":22,\"aud\":[\"admin\\u0000\"],\"exp\":1767358560}", JWT_MALFORMED);
}

static void huge_token(void **state)
{
    (void)state;
    /* a validly signed token just over the cap is refused unread */
    size_t pad = JWT_MAX_LEN;
    char *payload = malloc(pad + 100);
    int n = snprintf(payload, pad + 100, "{\"sub\":22,\"aud\":[\"admin\"],\"exp\":1767358560,\"p\":\"");
    memset(payload + n, 'x', pad);
    strcpy(payload + n + pad, "\"}");
    char *tok = mint("{\"alg\":\"HS256\"}", payload, KEY, KEYLEN);
    assert_true(strlen(tok) > JWT_MAX_LEN);
    assert_int_equal(verify(tok, NULL), JWT_MALFORMED);
    free(tok);

    /* and the largest padded token under the cap still verifies */
    size_t lo = 0, hi = pad;
    while (lo < hi) { /* find the largest padding with a token <= JWT_MAX_LEN */
        size_t mid = (lo + hi + 1) / 2;
        memset(payload + n, 'x', mid);
        strcpy(payload + n + mid, "\"}");
        tok = mint("{\"alg\":\"HS256\"}", payload, KEY, KEYLEN);
        if (strlen(tok) <= JWT_MAX_LEN)
            lo = mid;
        else
            hi = mid - 1;
        free(tok);
    }
    memset(payload + n, 'x', lo);
    strcpy(payload + n + lo, "\"}");
    tok = mint("{\"alg\":\"HS256\"}", payload, KEY, KEYLEN);
    assert_true(strlen(tok) <= JWT_MAX_LEN);
    assert_int_equal(verify(tok, NULL), JWT_OK);
    free(tok);
    free(payload);

    /* a megabyte of junk */
    char *junk = malloc(1 << 20);
    memset(junk, 'A', (1 << 20) - 1);
    junk[(1 << 20) - 1] = '\0';
    assert_int_equal(verify(junk, NULL), JWT_MALFORMED);
    free(junk);
}

static void reasons(void **state)
{
    (void)state;
    assert_string_equal(jwt_status_reason(JWT_BAD_SIGNATURE), "bad signature");
    assert_string_equal(jwt_status_reason(JWT_EXPIRED), "expired");
    assert_string_equal(jwt_status_reason(JWT_NO_EXPIRY), "no exp");
    assert_string_equal(jwt_status_reason(JWT_NOT_YET_VALID), "not yet valid");
    for (int s = JWT_OK; s <= JWT_BAD_SUBJECT; s++) assert_true(strlen(jwt_status_reason(s)) > 0);
}

/* jwt_verify_cached answers as jwt_verify does, from the cache or not. */
/* The expiry handed out with a valid token: its exp, a real one rounded
 * up; the same cached or not, and nothing for a token refused. */
static void verify_until(void **state)
{
    (void)state;
    jwt_cache_clear();
    char tok[512];
    assert_true(jwt_sign(KEY, KEYLEN, 42, NOW + 600, tok, sizeof tok) > 0);
    for (int i = 0; i < 2; i++) { /* verified, then from the cache */
        int64_t sub = 0, until = 0;
        assert_int_equal(jwt_verify_cached_until(KEY, KEYLEN, tok, NOW, &sub, &until), JWT_OK);
        assert_int_equal(sub, 42);
        assert_int_equal(until, NOW + 600);
    }
    char payload[128];
    snprintf(payload, sizeof payload, "{\"sub\":7,\"aud\":\"admin\",\"exp\":%lld.25}", (long long)NOW + 10);
    char *real = mint("{\"alg\":\"HS256\"}", payload, KEY, KEYLEN);
    int64_t until = 0;
    assert_int_equal(jwt_verify_cached_until(KEY, KEYLEN, real, NOW, NULL, &until), JWT_OK);
    assert_int_equal(until, NOW + 11); /* still valid at NOW + 10: expired from NOW + 11 */
    assert_int_equal(jwt_verify_cached_until(KEY, KEYLEN, real, NOW + 10, NULL, &until), JWT_OK);
    assert_int_equal(jwt_verify_cached_until(KEY, KEYLEN, real, NOW + 11, NULL, &until), JWT_EXPIRED);
    free(real);
    until = -5;
    assert_int_equal(jwt_verify_cached_until(KEY, KEYLEN, "x.y.z", NOW, NULL, &until), JWT_MALFORMED);
    assert_int_equal(until, -5);
}

static void cached_verify(void **state)
{
    (void)state;
    jwt_cache_clear();
    char tok[512];
    assert_true(jwt_sign(KEY, KEYLEN, 42, NOW + 600, tok, sizeof tok) > 0);
    int64_t sub = 0;
    for (int i = 0; i < 3; i++) {
        sub = 0;
        assert_int_equal(jwt_verify_cached(KEY, KEYLEN, tok, NOW, &sub), JWT_OK);
        assert_int_equal(sub, 42);
    }
    /* exp is checked on every hit, and stays refused once passed */
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, tok, NOW + 599, &sub), JWT_OK);
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, tok, NOW + 600, &sub), JWT_EXPIRED);
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, tok, NOW + 600, &sub), JWT_EXPIRED);
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, tok, NOW, &sub), JWT_OK);
    /* another key does not find the entry of this one */
    static const unsigned char other[] = "another-secret";
    assert_int_equal(jwt_verify_cached(other, sizeof other - 1, tok, NOW, &sub), JWT_BAD_SIGNATURE);
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN - 1, tok, NOW, &sub), JWT_BAD_SIGNATURE);
    /* a token differing in one byte (or a prefix) is verified, not matched */
    size_t n = strlen(tok);
    char bad[512];
    memcpy(bad, tok, n + 1);
    bad[n - 1] = bad[n - 1] == 'A' ? 'B' : 'A';
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, bad, NOW, &sub), JWT_BAD_SIGNATURE);
    bad[n - 1] = '\0';
    memcpy(bad, tok, n - 1);
    assert_int_not_equal(jwt_verify_cached(KEY, KEYLEN, bad, NOW, &sub), JWT_OK);
    /* more tokens than entries: every one still right */
    char toks[8][512];
    for (int i = 0; i < 8; i++)
        assert_true(jwt_sign(KEY, KEYLEN, 100 + i, NOW + 60, toks[i], sizeof toks[i]) > 0);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 8; i++) {
            assert_int_equal(jwt_verify_cached(KEY, KEYLEN, toks[i], NOW, &sub), JWT_OK);
            assert_int_equal(sub, 100 + i);
        }
    /* a real exp; no exp at all; an nbf */
    char *rt = mint("{\"alg\":\"HS256\"}", "{\"sub\":7,\"aud\":\"admin\",\"exp\":1767358010.5}", KEY, KEYLEN);
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, rt, NOW, &sub), JWT_OK);
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, rt, NOW + 10, &sub), JWT_OK);
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, rt, NOW + 11, &sub), JWT_EXPIRED);
    free(rt);
    char *no_exp = mint("{\"alg\":\"HS256\"}", "{\"sub\":9,\"aud\":\"admin\"}", KEY, KEYLEN);
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, no_exp, NOW, &sub), JWT_NO_EXPIRY);
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, no_exp, NOW, &sub), JWT_NO_EXPIRY);
    free(no_exp);
    char *nbf = mint("{\"alg\":\"HS256\"}",
                     "{\"sub\":9,\"aud\":\"admin\",\"nbf\":1767358100,\"exp\":1767358600}", KEY, KEYLEN);
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, nbf, NOW, &sub), JWT_NOT_YET_VALID);
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, nbf, NOW + 100, &sub), JWT_OK);
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, nbf, NOW + 100, &sub), JWT_OK);
    assert_int_equal(sub, 9);
    /* a clock that went back: as jwt_verify, from the cache too */
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, nbf, NOW + 99, &sub), JWT_NOT_YET_VALID);
    assert_int_equal(jwt_verify(KEY, KEYLEN, nbf, NOW + 99, &sub), JWT_NOT_YET_VALID);
    free(nbf);
    assert_true(jwt_sign(KEY, KEYLEN, 9, NOW + 60, tok, sizeof tok) > 0);
    /* failures are never cached; NULL and empty keys as jwt_verify */
    assert_int_equal(jwt_verify_cached(KEY, KEYLEN, NULL, NOW, &sub), JWT_MALFORMED);
    assert_int_equal(jwt_verify_cached(KEY, 0, tok, NOW, &sub), JWT_BAD_SIGNATURE);
    jwt_cache_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(b64url_vectors),    cmocka_unit_test(b64url_refusals),
        cmocka_unit_test(round_trip),        cmocka_unit_test(sign_exact_bytes),
        cmocka_unit_test(sign_refusals),     cmocka_unit_test(seed_token),
        cmocka_unit_test(independent_token), cmocka_unit_test(alg_refused),
        cmocka_unit_test(tampered_payload),  cmocka_unit_test(bad_signature),
        cmocka_unit_test(expired),           cmocka_unit_test(audience),
        cmocka_unit_test(subject),           cmocka_unit_test(structure),
        cmocka_unit_test(huge_token),        cmocka_unit_test(reasons),
        cmocka_unit_test(cached_verify),     cmocka_unit_test(verify_until),
        cmocka_unit_test(not_before),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
