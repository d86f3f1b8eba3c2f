/* password: bcrypt through libxcrypt (crypt_rn / crypt_gensalt_rn).
 *
 * Hashing: cost 4..31, salt from crypt_gensalt_rn("$2b$", cost, NULL, 0)
 * — libxcrypt draws the salt from the OS itself — and the result must be a
 * well-formed 60-character $2b$ hash. Passwords are 1..PASSWORD_MAX_LEN
 * bytes: bcrypt ignores everything past byte 72, so longer ones are
 * refused rather than silently colliding with their 72-byte prefix.
 *
 * Verifying: only well-formed $2a$/$2b$ hashes (cost 04..31, 53 characters
 * of the bcrypt alphabet) are tried; $2x$/$2y$, other schemes and failure
 * tokens such as "*0" are refused before crypt is called. The recomputed
 * hash is compared with CRYPTO_memcmp. The crypt_data scratch area (large,
 * so heap-allocated; it holds key material) is wiped after every use.
 *
 * Timing: password_burn() runs the same verification against a dummy hash
 * of cost PASSWORD_COST, made once (pthread_once) from a fixed salt, so an
 * unknown user costs what a wrong password of a PASSWORD_COST user costs. */
#include "auth/password.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <crypt.h>
#include <openssl/crypto.h>

#define BCRYPT_LEN 60

static bool bcrypt_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '/';
}

/* "$2a$" or "$2b$" (when b_only, just "$2b$"), cost 04..31, '$', 53 chars. */
static bool well_formed(const char *h, bool b_only)
{
    if (h == NULL || strnlen(h, BCRYPT_LEN + 1) != BCRYPT_LEN) return false;
    if (h[0] != '$' || h[1] != '2' || h[3] != '$' || h[6] != '$') return false;
    if (!(h[2] == 'b' || (h[2] == 'a' && !b_only))) return false;
    if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9') return false;
    int cost = (h[4] - '0') * 10 + (h[5] - '0');
    if (cost < 4 || cost > 31) return false;
    for (int i = 7; i < BCRYPT_LEN; i++)
        if (!bcrypt_char(h[i])) return false;
    return true;
}

/* Runs bcrypt for password with hash's settings, compares in constant time. */
static bool check(const char *password, const char *hash)
{
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (cd == NULL) return false;
    const char *r = crypt_rn(password, hash, cd, (int)sizeof *cd);
    bool ok = r != NULL && r[0] != '*' && strnlen(r, BCRYPT_LEN + 1) == BCRYPT_LEN &&
              CRYPTO_memcmp(r, hash, BCRYPT_LEN) == 0;
    OPENSSL_cleanse(cd, sizeof *cd);
    free(cd);
    return ok;
}

int password_hash(const char *password, int cost, char out[PASSWORD_HASH_MAX], char err[128])
{
    char scratch[128];
    if (err == NULL) err = scratch;
    err[0] = '\0';
    if (out != NULL) out[0] = '\0';
    if (out == NULL || password == NULL) {
        snprintf(err, 128, "no password");
        return -1;
    }
    size_t len = strnlen(password, PASSWORD_MAX_LEN + 1);
    if (len == 0) {
        snprintf(err, 128, "password is empty");
        return -1;
    }
    if (len > PASSWORD_MAX_LEN) {
        snprintf(err, 128, "password is longer than %d bytes", PASSWORD_MAX_LEN);
        return -1;
    }
    if (cost < 4 || cost > 31) {
        snprintf(err, 128, "bcrypt cost must be 4..31");
        return -1;
    }

    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (crypt_gensalt_rn("$2b$", (unsigned long)cost, NULL, 0, salt, (int)sizeof salt) == NULL ||
        strncmp(salt, "$2b$", 4) != 0) {
        snprintf(err, 128, "cannot make a bcrypt salt");
        return -1;
    }

    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (cd == NULL) {
        snprintf(err, 128, "out of memory");
        return -1;
    }
    const char *r = crypt_rn(password, salt, cd, (int)sizeof *cd);
    int rc = -1;
    if (r != NULL && well_formed(r, true) && BCRYPT_LEN < PASSWORD_HASH_MAX) {
        memcpy(out, r, BCRYPT_LEN + 1);
        rc = 0;
    } else {
        snprintf(err, 128, "bcrypt failed");
    }
    OPENSSL_cleanse(cd, sizeof *cd);
    free(cd);
    return rc;
}

bool password_verify(const char *password, const char *hash)
{
    if (password == NULL || strnlen(password, PASSWORD_MAX_LEN + 1) > PASSWORD_MAX_LEN)
        return false;
    if (!well_formed(hash, false)) return false;
    return check(password, hash);
}

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[BCRYPT_LEN + 1];

static void make_dummy(void)
{
    /* A fixed, canonical 22-character salt: the dummy needs no secrecy, only
     * the cost of a real hash. */
    char setting[64];
    snprintf(setting, sizeof setting, "$2b$%02d$activecallsdummysalt.u", PASSWORD_COST);
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (cd == NULL) return;
    const char *r = crypt_rn("activecalls-dummy-password", setting, cd, (int)sizeof *cd);
    if (r != NULL && well_formed(r, true)) memcpy(dummy_hash, r, BCRYPT_LEN + 1);
    OPENSSL_cleanse(cd, sizeof *cd);
    free(cd);
}

void password_burn(const char *password)
{
    pthread_once(&dummy_once, make_dummy);
    char pw[PASSWORD_MAX_LEN + 1];
    size_t len = password == NULL ? 0 : strnlen(password, PASSWORD_MAX_LEN);
    if (len > 0) memcpy(pw, password, len);
    pw[len] = '\0';
    /* Without a dummy, crypt itself is broken and no password verifies. */
    if (dummy_hash[0] != '\0') (void)check(pw, dummy_hash);
    OPENSSL_cleanse(pw, sizeof pw);
}
