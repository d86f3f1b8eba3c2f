/* password: bcrypt password hashes through libxcrypt, compatible with
 * Devise (yeti-web): `$2a$` and `$2b$` hashes verify; new hashes are `$2b$`
 * with cost PASSWORD_COST. Verification compares in constant time, and
 * password_burn() spends the same time on a dummy hash, so an unknown user
 * and a wrong password cannot be told apart by timing. */
#ifndef AC_AUTH_PASSWORD_H
#define AC_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_COST 12
#define PASSWORD_HASH_MAX 128
#define PASSWORD_MAX_LEN 72 /* bcrypt uses at most 72 bytes; longer are refused */

/* Returns 0 and a NUL-terminated hash in out, or -1 with err set. */
int password_hash(const char *password, int cost, char out[PASSWORD_HASH_MAX], char err[128]);

/* True only when hash is a well-formed $2a$/$2b$ bcrypt hash of password. */
bool password_verify(const char *password, const char *hash);

/* Same cost as a failed password_verify, for unknown users. */
void password_burn(const char *password);

#endif
