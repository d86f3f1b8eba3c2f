/* password: bcrypt through libxcrypt (crypt_rn / crypt_gensalt_rn), hashing
 * and checking passwords the way Devise (bcrypt-ruby) does.
 *
 * The key: bcrypt reads at most 72 bytes of a password. bcrypt-ruby cuts
 * every secret to its first 72 bytes (bytes, not characters: a multi-byte
 * character may be cut in two) before hashing or checking it, and its older
 * versions, which did not cut, read only those 72 bytes anyway. This file
 * does the same, in one place (bcrypt_key), for hashing and verifying alike:
 * a password of any length verifies against a hash that yeti-web or this
 * file made from it, and so does every password with the same first 72
 * bytes (for such keys $2a$ and $2b$ are the same algorithm).
 *
 * Hashing: a non-empty password, cost 4..31, salt from
 * crypt_gensalt_rn("$2b$", cost, NULL, 0) — libxcrypt draws it from the OS
 * itself — and the result must be a well-formed 60-character $2b$ hash.
 *
 * Verifying: only well-formed $2a$/$2b$ hashes (cost 04..31, 53 characters
 * of the bcrypt alphabet) are tried; $2x$/$2y$, other schemes and failure
 * tokens such as "*0" never verify. The recomputed hash is compared with
 * CRYPTO_memcmp. The key copy and the crypt_data scratch area (large, so
 * heap-allocated; it holds key material) are wiped after every use.
 *
 * Equal cost: password_verify and password_burn both go through run_once,
 * which runs exactly one bcrypt and returns nothing before it has. Its key
 * is the password cut to 72 bytes (bcrypt costs the same for every key of
 * up to 72 bytes: the key is cycled into the same 18 words), so a password's
 * length changes nothing. Its hash is the stored one when that is
 * well-formed, otherwise — an unknown user's burn, a stored hash that is
 * malformed, no password — DUMMY_HASH, a $2b$ hash of cost PASSWORD_COST
 * whose password nobody knows, and the answer is then false whatever bcrypt
 * says. So an unknown user, a wrong password, a long password and a broken
 * stored hash each cost one bcrypt of the same cost, as long as the users'
 * hashes share one cost. That cost is learned: the dummy runs at the cost
 * of the last well-formed stored hash checked (DUMMY_HASH with its cost
 * digits changed: bcrypt's work depends only on the setting, and the
 * answer is false anyway), so against yeti-web's Devise hashes (cost 10)
 * an unknown user costs a cost-10 bcrypt too. Until a stored hash has been
 * seen it is PASSWORD_COST. */
#include "auth/password.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <crypt.h>
#include <openssl/crypto.h>

#include "util/pool.h"

#define BCRYPT_LEN 60

/* Made once with crypt_gensalt_rn("$2b$", 12) from 24 random bytes that
 * were then thrown away. */
static const char DUMMY_HASH[] = "$2b$12$dT0kpcbQZ6kl4gDbQigILeShJilsEvqAzS9ht13LzZMyawjZD72Ou";
_Static_assert(PASSWORD_COST == 12, "DUMMY_HASH has cost 12: make one of PASSWORD_COST");
_Static_assert(sizeof DUMMY_HASH == BCRYPT_LEN + 1, "a bcrypt hash is 60 characters");

static bool bcrypt_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '/';
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

/* The bytes bcrypt uses: the first PASSWORD_KEY_BYTES of password (none
 * when it is NULL), NUL-terminated, as bcrypt-ruby's byteslice(0, 72). */
static void bcrypt_key(const char *password, char key[PASSWORD_KEY_BYTES + 1])
{
    size_t len = password == NULL ? 0 : strnlen(password, PASSWORD_KEY_BYTES);
    if (len > 0) memcpy(key, password, len);
    key[len] = '\0';
}

/* One bcrypt of key with setting's salt and cost; the result (a hash, or
 * NULL) is copied to out, which must hold BCRYPT_LEN + 1 bytes. */
static bool bcrypt_with(const char *key, const char *setting, char out[BCRYPT_LEN + 1])
{
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (cd == NULL) return false;
    const char *r = crypt_rn(key, setting, cd, (int)sizeof *cd);
    bool ok = r != NULL && r[0] != '*' && strnlen(r, BCRYPT_LEN + 1) == BCRYPT_LEN;
    if (ok) memcpy(out, r, BCRYPT_LEN + 1);
    OPENSSL_cleanse(cd, sizeof *cd);
    free(cd);
    return ok;
}

/* The one bcrypt of every check (see the top of the file): true only when
 * hash is well-formed and is password's hash. */
/* The cost of the last stored hash checked; a stored cost above
 * DUMMY_COST_MAX (a hash nobody would make for a web login) is not
 * learned, so one odd row cannot make every unknown user's check slow. */
#define DUMMY_COST_MAX 16
static atomic_int dummy_cost = PASSWORD_COST;

int password_dummy_cost(void) { return atomic_load(&dummy_cost); }

static bool run_once(const char *password, const char *hash)
{
    assert(pool_may_block()); /* a bcrypt takes a quarter of a second: never on a loop */
    bool usable = password != NULL && well_formed(hash, false);
    char dummy[sizeof DUMMY_HASH];
    memcpy(dummy, DUMMY_HASH, sizeof dummy);
    if (usable) {
        int c = (hash[4] - '0') * 10 + (hash[5] - '0');
        if (c <= DUMMY_COST_MAX) atomic_store(&dummy_cost, c);
    } else {
        int c = atomic_load(&dummy_cost);
        dummy[4] = (char)('0' + c / 10);
        dummy[5] = (char)('0' + c % 10);
    }
    const char *against = usable ? hash : dummy;
    char key[PASSWORD_KEY_BYTES + 1], got[BCRYPT_LEN + 1];
    bcrypt_key(password, key);
    bool same = bcrypt_with(key, against, got) && CRYPTO_memcmp(got, against, BCRYPT_LEN) == 0;
    OPENSSL_cleanse(key, sizeof key);
    return usable && same;
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
    if (password[0] == '\0') {
        snprintf(err, 128, "password is empty");
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

    char key[PASSWORD_KEY_BYTES + 1], got[BCRYPT_LEN + 1];
    bcrypt_key(password, key);
    bool ok = bcrypt_with(key, salt, got) && well_formed(got, true);
    OPENSSL_cleanse(key, sizeof key);
    if (!ok) {
        snprintf(err, 128, "bcrypt failed");
        return -1;
    }
    _Static_assert(BCRYPT_LEN < PASSWORD_HASH_MAX, "a hash fits out");
    memcpy(out, got, BCRYPT_LEN + 1);
    return 0;
}

bool password_verify(const char *password, const char *hash) { return run_once(password, hash); }

void password_burn(const char *password) { (void)run_once(password, NULL); }
