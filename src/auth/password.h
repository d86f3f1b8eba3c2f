/* password: bcrypt password hashes through libxcrypt, compatible with
 * Devise (yeti-web): `$2a$` and `$2b$` hashes verify; new hashes are `$2b$`
 * with cost PASSWORD_COST. As bcrypt-ruby does, only the first
 * PASSWORD_KEY_BYTES bytes of a password are hashed or checked. Verification
 * compares in constant time, and every check — password_verify on any
 * input, password_burn — runs exactly one bcrypt, so an unknown user, a
 * wrong password and a password of any length cannot be told apart by
 * timing (password.c says how). */
#ifndef AC_AUTH_PASSWORD_H
#define AC_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_COST 12
#define PASSWORD_HASH_MAX 128
#define PASSWORD_KEY_BYTES 72 /* bcrypt uses the first 72 bytes; the rest is cut */

/* Returns 0 and a NUL-terminated hash of password's first
 * PASSWORD_KEY_BYTES bytes in out, or -1 with err set. */
int password_hash(const char *password, int cost, char out[PASSWORD_HASH_MAX], char err[128]);

/* True only when hash is a well-formed $2a$/$2b$ bcrypt hash of password's
 * first PASSWORD_KEY_BYTES bytes. */
bool password_verify(const char *password, const char *hash);

/* The cost of a failed password_verify, for unknown users: one bcrypt at
 * the cost of the last stored hash checked (PASSWORD_COST before any),
 * so that with a store whose hashes share one cost (yeti-web's are 10)
 * every path costs the same. */
void password_burn(const char *password);
/* That cost, for tests. */
int password_dummy_cost(void);

#endif
