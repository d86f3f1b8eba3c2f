/* test_password: auth/password.c — bcrypt hashing (cost 4 for speed, one
 * case at PASSWORD_COST), $2b$ output, cost limits, long passwords as
 * bcrypt-ruby (Devise) treats them (only the first 72 bytes count, cut as
 * bytes), Devise-style $2a$ hashes (openwall's published vectors and ones
 * made here with crypt_gensalt_rn("$2a$")), refusal of malformed hashes and
 * failure tokens, and password_burn. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <crypt.h>

#include "auth/password.h"

static void hash_and_verify(void **state)
{
    (void)state;
    char h1[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX], err[128];
    assert_int_equal(password_hash("correct horse", 4, h1, err), 0);
    assert_int_equal(strlen(h1), 60);
    assert_memory_equal(h1, "$2b$04$", 7);
    assert_true(password_verify("correct horse", h1));
    assert_false(password_verify("correct hors", h1));
    assert_false(password_verify("correct horse ", h1));
    assert_false(password_verify("Correct horse", h1));
    assert_false(password_verify("", h1));
    /* a fresh salt every time */
    assert_int_equal(password_hash("correct horse", 4, h2, err), 0);
    assert_string_not_equal(h1, h2);
    assert_true(password_verify("correct horse", h2));
    /* bytes beyond ASCII are just bytes */
    assert_int_equal(password_hash("pässwörd ✓", 5, h1, err), 0);
    assert_memory_equal(h1, "$2b$05$", 7);
    assert_true(password_verify("pässwörd ✓", h1));
    assert_false(password_verify("passwörd ✓", h1));
}

static void default_cost(void **state)
{
    (void)state;
    char h[PASSWORD_HASH_MAX], err[128], prefix[16];
    assert_int_equal(password_hash("s3cret!", PASSWORD_COST, h, err), 0);
    snprintf(prefix, sizeof prefix, "$2b$%02d$", PASSWORD_COST);
    assert_memory_equal(h, prefix, 7);
    assert_true(password_verify("s3cret!", h));

    /* password_burn's dummy hash is made with PASSWORD_COST too, so it costs
     * what a failed verify costs; that is by construction, not timed here
     * (timing assertions do not belong in tests). It must refuse, quietly. */
    password_burn("s3cret?");
    assert_false(password_verify("s3cret?", h));
}

static void cost_limits(void **state)
{
    (void)state;
    char h[PASSWORD_HASH_MAX], err[128];
    static const int bad[] = {-1, 0, 1, 3, 32, 100};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(h, "untouched");
        err[0] = '\0';
        assert_int_equal(password_hash("pw", bad[i], h, err), -1);
        assert_string_equal(h, "");
        assert_true(strlen(err) > 0);
        assert_null(strstr(err, "pw")); /* never the password */
    }
}

/* A $2a$ hash of key made as bcrypt-ruby makes one: crypt over exactly
 * these bytes (the gem cuts them to 72 first; older versions did not cut
 * and crypt read only 72 of them). */
static void devise_hash(const char *key, char out[PASSWORD_HASH_MAX])
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    assert_non_null(crypt_gensalt_rn("$2a$", 4, NULL, 0, salt, (int)sizeof salt));
    struct crypt_data *cd = calloc(1, sizeof *cd);
    assert_non_null(cd);
    const char *h = crypt_rn(key, salt, cd, (int)sizeof *cd);
    assert_non_null(h);
    assert_int_equal(strlen(h), 60);
    strcpy(out, h);
    free(cd);
}

static void long_passwords(void **state)
{
    (void)state;
    char h[PASSWORD_HASH_MAX], err[128];
    /* 100 bytes, no two 72-byte prefixes alike */
    char p100[101];
    for (int i = 0; i < 100; i++) p100[i] = (char)('!' + (i * 7) % 90);
    p100[100] = '\0';

    assert_int_equal(password_hash(p100, 4, h, err), 0);
    assert_memory_equal(h, "$2b$04$", 7);
    assert_true(password_verify(p100, h));
    /* only the first 72 bytes count: the prefix and any other tail verify */
    char other[101];
    memcpy(other, p100, 100);
    other[100] = '\0';
    other[72] = 'X';
    other[99] = 'Y';
    assert_true(password_verify(other, h));
    other[72] = '\0';
    assert_true(password_verify(other, h));
    /* ... and every one of them matters */
    other[71] = '\0';
    assert_false(password_verify(other, h));
    memcpy(other, p100, 101);
    other[71] ^= 1;
    assert_false(password_verify(other, h));
    other[71] ^= 1;
    other[0] ^= 1;
    assert_false(password_verify(other, h));

    /* yeti-web's hashes of the same password, new gem (cut) and old (not) */
    char cut[73];
    memcpy(cut, p100, 72);
    cut[72] = '\0';
    devise_hash(cut, h);
    assert_true(password_verify(p100, h));
    assert_true(password_verify(cut, h));
    devise_hash(p100, h);
    assert_true(password_verify(p100, h));
    assert_true(password_verify(cut, h));

    /* bytes, not characters: 71 ASCII bytes and a 2-byte letter keep its
     * first byte only, so letters sharing it are the same password */
    char e_acute[74], e_grave[74], u_uml[74], short_e[73];
    memset(e_acute, 'a', 71);
    memcpy(e_acute + 71, "\xc3\xa9", 3); /* é */
    memcpy(e_grave, e_acute, 74);
    e_grave[72] = (char)0xa8; /* è */
    memcpy(u_uml, e_acute, 74);
    u_uml[72] = (char)0xbc; /* ü */
    memset(short_e, 'a', 70);
    memcpy(short_e + 70, "\xc3\xa9", 3); /* é one byte earlier: both bytes count */
    assert_int_equal(password_hash(e_acute, 4, h, err), 0);
    assert_true(password_verify(e_acute, h));
    assert_true(password_verify(e_grave, h));
    assert_true(password_verify(u_uml, h));
    assert_false(password_verify(short_e, h));

    /* as long as a login body allows: cut before crypt sees it (libxcrypt
     * refuses keys over 512 bytes) */
    char *huge = malloc(8001);
    assert_non_null(huge);
    memset(huge, 'h', 8000);
    huge[8000] = '\0';
    assert_int_equal(password_hash(huge, 4, h, err), 0);
    assert_true(password_verify(huge, h));
    huge[72] = '\0';
    assert_true(password_verify(huge, h));
    huge[71] = '\0';
    assert_false(password_verify(huge, h));
    free(huge);
}

static void refusals(void **state)
{
    (void)state;
    char h[PASSWORD_HASH_MAX], err[128];
    assert_int_equal(password_hash("", 4, h, err), -1);
    assert_int_equal(password_hash(NULL, 4, h, err), -1);
    assert_false(password_verify(NULL, "$2b$04$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"));
    /* err may be NULL */
    assert_int_equal(password_hash("", 4, h, NULL), -1);
}

/* openwall crypt_blowfish's published vectors (wrapper.c). */
static const struct {
    const char *hash, *pw;
} VECTORS[] = {
    {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
    {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", "U*U*"},
    {"$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a", "U*U*U"},
    {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", ""},
};

static void devise_hashes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof VECTORS / sizeof VECTORS[0]; i++) {
        if (!password_verify(VECTORS[i].pw, VECTORS[i].hash)) fail_msg("vector %zu refused", i);
        assert_false(password_verify("U*U*U*", VECTORS[i].hash));
        /* $2b$ is the same algorithm for passwords this short */
        char b[64];
        strcpy(b, VECTORS[i].hash);
        b[2] = 'b';
        assert_true(password_verify(VECTORS[i].pw, b));
        /* $2y$ / $2x$ are other libraries' names: not Devise's, refused */
        b[2] = 'y';
        assert_false(password_verify(VECTORS[i].pw, b));
        b[2] = 'x';
        assert_false(password_verify(VECTORS[i].pw, b));
    }
    /* the long vector: bcrypt ignores bytes after 72, and so do we */
    assert_true(password_verify(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored",
        "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"));
    assert_true(password_verify("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
                                "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"));

    /* a $2a$ hash made here, the way Ruby's bcrypt gem (Devise) makes them */
    char copy[PASSWORD_HASH_MAX];
    devise_hash("devise-made", copy);
    assert_memory_equal(copy, "$2a$04$", 7);
    assert_true(password_verify("devise-made", copy));
    assert_false(password_verify("devise-mad", copy));
}

static void malformed_hashes(void **state)
{
    (void)state;
    static const char *bad[] = {
        NULL,
        "",
        "*0",
        "*1",
        "!",
        "x",
        "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe",   /* 59 */
        "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWW", /* 61 */
        "$2a$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",  /* cost 3 */
        "$2a$32$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        "$2a$99$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        "$2a$5$CCCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        "$2a$05$CCCCCCCCCCCCCCCCCCCCC!E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", /* '!' */
        "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe=",
        "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe\n",
        "$2a$05$CCCCCCCCCCCCCCCCCCCCC", /* a bare salt */
        "$2$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWx",
        "$1$abcdefgh$abcdefghijklmnopqrstuv", /* md5crypt */
        "$6$salt$IxDD3jeSOb5eB1CX5LBsqZFVkJdido3OUILO5Ifz5iwMuTS4XMS130MTSuDDl3aCI6WouIL9AjRbLCelDCy.g.",
        "$y$j9T$abc$def",
        "U*U",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (password_verify("U*U", bad[i])) fail_msg("hash %zu accepted", i);
        if (password_verify("", bad[i])) fail_msg("hash %zu accepted for ''", i);
    }
    /* a non-canonical salt: libxcrypt may refuse or accept, never crash, and
     * only the exact recomputed hash matches */
    assert_false(password_verify("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC/E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
}

static void burn_any_input(void **state)
{
    (void)state;
    char longer[300];
    memset(longer, 'z', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    password_burn(NULL);
    password_burn("");
    password_burn("some password");
    password_burn(longer);
}

/* An unknown user's check runs at the cost of the stored hashes checked
 * before it (yeti-web's Devise hashes are cost 10), not at ours. */
static void burn_learns_cost(void **state)
{
    (void)state;
    char h[PASSWORD_HASH_MAX], err[128];
    assert_int_equal(password_hash("pw", 5, h, err), 0);
    assert_false(password_verify("other", h));
    assert_int_equal(password_dummy_cost(), 5);
    password_burn("x"); /* runs at cost 5, and answers nothing */
    assert_int_equal(password_hash("pw", 4, h, err), 0);
    assert_true(password_verify("pw", h));
    assert_int_equal(password_dummy_cost(), 4);
    /* a malformed stored hash teaches nothing */
    assert_false(password_verify("pw", "$2b$31$short"));
    assert_int_equal(password_dummy_cost(), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burn_learns_cost), cmocka_unit_test(hash_and_verify),
        cmocka_unit_test(cost_limits),      cmocka_unit_test(long_passwords),
        cmocka_unit_test(devise_hashes),    cmocka_unit_test(malformed_hashes),
        cmocka_unit_test(burn_any_input),   cmocka_unit_test(default_cost),
        cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
