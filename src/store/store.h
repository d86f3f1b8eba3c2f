/* store: the one interface to persistent data, in yeti's tables and columns.
 *
 * Callers see only this header. `store_open` picks the backend from the
 * location: a file path means SQLite (created and migrated on first use);
 * a `postgresql://` / `postgres://` URI means PostgreSQL (yeti's schema;
 * created by store_schema_init, never at open). Every function returns 0
 * on success or -1 with a human-readable
 * message in `err` (never containing secrets). A store handle may be used
 * from several threads; the backend serialises as it needs. */
#ifndef AC_STORE_STORE_H
#define AC_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_ERR_LEN 256
#define STORE_NAME_MAX 256
#define STORE_ENDPOINT_MAX 256

typedef struct store store;

typedef struct store_pop {
    int64_t id;
    char name[STORE_NAME_MAX];
} store_pop;

typedef struct store_node {
    int64_t id;
    char name[STORE_NAME_MAX];
    char rpc_endpoint[STORE_ENDPOINT_MAX]; /* numeric IPv4:port or [IPv6]:port */
    int64_t pop_id;
} store_node;

/* Error classes, so the CLI and the API can answer precisely. */
typedef enum {
    STORE_OK = 0,
    STORE_ERR = -1,       /* I/O, corrupt database, ... */
    STORE_NOT_FOUND = -2, /* the row to change does not exist */
    STORE_CONFLICT = -3,  /* id/name already taken, or a reference is missing */
    STORE_INVALID = -4,   /* a field failed validation (bad id, name or endpoint) */
} store_status;

store *store_open(const char *location, char err[STORE_ERR_LEN]);
void store_close(store *s);
/* Creates the tables the service uses where they are missing (`activecalls
 * db init`; CREATE ... IF NOT EXISTS, so safe to repeat). A no-op on SQLite,
 * whose file is created and migrated at open. */
store_status store_schema_init(store *s, char err[STORE_ERR_LEN]);

store_status store_pop_add(store *s, const store_pop *pop, char err[STORE_ERR_LEN]);
store_status store_pop_remove(store *s, int64_t id, char err[STORE_ERR_LEN]);
/* *out is one malloc'd array the caller frees; ordered by id. */
store_status store_pop_list(store *s, store_pop **out, size_t *n, char err[STORE_ERR_LEN]);

store_status store_node_add(store *s, const store_node *node, char err[STORE_ERR_LEN]);
store_status store_node_remove(store *s, int64_t id, char err[STORE_ERR_LEN]);
store_status store_node_list(store *s, store_node **out, size_t *n, char err[STORE_ERR_LEN]);

/* One row by id; STORE_NOT_FOUND when there is none. */
store_status store_pop_get(store *s, int64_t id, store_pop *out, char err[STORE_ERR_LEN]);
store_status store_node_get(store *s, int64_t id, store_node *out, char err[STORE_ERR_LEN]);

/* The checks store_pop_add / store_node_add apply before touching the
 * database (STORE_OK or STORE_INVALID), for callers that want to refuse bad
 * input before opening a store: ids positive; names 1..255 bytes of
 * printable UTF-8 (no control characters); rpc_endpoint `IPv4:port` or
 * `[IPv6]:port`, numeric, port 1..65535 (util/endpoint.h); pop_id positive.
 * Whether the pop exists is the database's to say (STORE_CONFLICT). */
store_status store_pop_validate(const store_pop *pop, char err[STORE_ERR_LEN]);
store_status store_node_validate(const store_node *node, char err[STORE_ERR_LEN]);

/* ---- admin users (gui.admin_users) -------------------------------------- */

#define STORE_ROLES_MAX 512 /* comma-separated role names */
#define STORE_IPS_MAX 2048  /* comma-separated CIDRs; "" = any address */
#define STORE_HASH_MAX 128

typedef struct store_admin_user {
    int64_t id;
    char username[STORE_NAME_MAX];
    char encrypted_password[STORE_HASH_MAX]; /* bcrypt; never logged or printed */
    bool enabled;
    char roles[STORE_ROLES_MAX];
    char allowed_ips[STORE_IPS_MAX];
} store_admin_user;

/* Field rules (every backend; STORE_INVALID, and the message never shows a
 * password hash):
 *  - username: 1..255 bytes of printable UTF-8 without control characters,
 *    white space (ASCII or Unicode), invisible formatting characters or
 *    commas; compared byte for byte (case-sensitive).
 *  - roles: comma-separated names of [A-Za-z0-9_-], 1..64 characters each;
 *    spaces around names and empty entries are dropped, duplicates removed
 *    (first one kept); at least one role. Canonical text: "r1,r2".
 *  - allowed_ips: ranges parsed by cidr_parse (auth/cidr.h), separated by
 *    commas and/or white space; empty entries and duplicates dropped; the
 *    address rewritten as inet_ntop writes it and the prefix (when given)
 *    without leading zeros, e.g. " 10.0.0.1/08 ,2001:DB8::/32" becomes
 *    "10.0.0.1/8,2001:db8::/32" (host bits kept, as PostgreSQL inet does).
 *    "" means any address.
 *  - encrypted_password: "" (the user cannot log in) or a bcrypt hash:
 *    "$2a$" / "$2b$" / "$2y$", cost 04..31, '$', 53 characters of the bcrypt
 *    alphabet (60 bytes in all).
 * Lookups answer STORE_NOT_FOUND for keys that cannot exist (id <= 0, a
 * username breaking the rule above), so callers holding untrusted input
 * (the login) need no checks of their own. */

/* Checks u against the rules above and rewrites u->roles and u->allowed_ips
 * in canonical form; u->id must be 0 (assign one) or positive. This is what
 * store_user_add applies; for callers that want to refuse bad input before
 * opening a store or asking for a password. */
store_status store_user_normalize(store_admin_user *u, char err[STORE_ERR_LEN]);
/* The username rule alone (what store_user_set_password/_set_enabled apply). */
store_status store_username_validate(const char *username, char err[STORE_ERR_LEN]);

/* Adds a user (id assigned when u->id is 0). On success u holds what was
 * stored: the id and the canonical roles/allowed_ips. A taken id or
 * username is STORE_CONFLICT. */
store_status store_user_add(store *s, store_admin_user *u, char err[STORE_ERR_LEN]);
store_status store_user_get(store *s, int64_t id, store_admin_user *out, char err[STORE_ERR_LEN]);
store_status store_user_find(store *s, const char *username, store_admin_user *out, char err[STORE_ERR_LEN]);
/* hash: "" or a bcrypt hash (rules above); STORE_NOT_FOUND for no such user. */
store_status store_user_set_password(store *s, const char *username, const char *hash,
                                     char err[STORE_ERR_LEN]);
store_status store_user_set_enabled(store *s, const char *username, bool enabled, char err[STORE_ERR_LEN]);
/* Ordered by id; the password hashes are left empty. */
store_status store_user_list(store *s, store_admin_user **out, size_t *n, char err[STORE_ERR_LEN]);

#endif
