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

/* ---- active-call history (stats.*; docs/CONTRACT.md §10) ----------------- */

/* What a sample counts calls by: the four tables of yeti's history. */
typedef enum {
    STORE_HIST_NODES,    /* stats.active_calls: node_id, count */
    STORE_HIST_ACCOUNTS, /* stats.active_call_accounts: account_id, originated_count, terminated_count */
    STORE_HIST_ORIG_GW,  /* stats.active_call_orig_gateways: gateway_id, count */
    STORE_HIST_TERM_GW,  /* stats.active_call_term_gateways: gateway_id, count */
    STORE_HIST_KINDS
} store_hist_kind;

/* One row of a sample: a subject and its calls (count2: an account's
 * terminated calls; 0 elsewhere). */
typedef struct store_hist_row {
    int64_t subject;
    int64_t count, count2;
} store_hist_row;

/* One sample: every table's rows, all at the slot's time. */
typedef struct store_sample {
    int64_t at_s; /* created_at, Unix seconds */
    const store_hist_row *rows[STORE_HIST_KINDS];
    size_t n[STORE_HIST_KINDS];
} store_sample;

/* The history's writer: a connection of its own (PostgreSQL: outside the
 * pool, so a session advisory lock lives as long as it does). */
typedef struct store_writer store_writer;

store_writer *store_writer_new(store *s);
void store_writer_free(store_writer *w);
/* Whether this writer may write: PostgreSQL tries the session advisory
 * lock `key` on the writer's connection (held until that connection
 * closes; true at once when already held); SQLite has none (always true:
 * the slot check alone keeps samples single). A broken connection is
 * dropped, the lock with it (*held false). */
store_status store_writer_lock(store_writer *w, int64_t key, bool *held, char err[STORE_ERR_LEN]);
/* Writes the sample in one transaction, unless its slot (at_s) is already
 * written, checked in the same transaction (stats.active_call_slots):
 * *written says which. `writer` names the instance in the slot's row. */
store_status store_sample_write(store_writer *w, const store_sample *smp, const char *writer, bool *written,
                                char err[STORE_ERR_LEN]);
/* Deletes rows older than before_s from the history tables, `batch` rows
 * a statement, at most max_batches statements; *deleted: rows gone. */
store_status store_history_prune(store_writer *w, int64_t before_s, int batch, int max_batches,
                                 uint64_t *deleted, char err[STORE_ERR_LEN]);

/* A chart's question: the samples of some subjects of one kind (or, with
 * total, the sum over all nodes per slot), from_s <= created_at <= to_s,
 * grouped in buckets of bucket_s seconds (1: every sample alone). */
typedef struct store_hist_query {
    store_hist_kind kind;
    bool total; /* the cluster's total: kind and ids are not read */
    const int64_t *ids;
    size_t nids;
    int64_t from_s, to_s;
    int64_t bucket_s;
    size_t limit; /* rows read at most */
} store_hist_query;

/* One point: a subject's bucket, its largest count(s), their sums and the
 * number of samples in it. */
typedef struct store_hist_point {
    int64_t subject; /* 0 for the total */
    int64_t at_s;    /* the bucket's start */
    int64_t max, max2, sum, sum2, samples;
} store_hist_point;

/* *out: one malloc'd array ordered by time, then subject (NULL when empty). */
store_status store_history_read(store *s, const store_hist_query *q, store_hist_point **out, size_t *n,
                                char err[STORE_ERR_LEN]);
/* Creates only the history tables where they are missing (`db init
 * --history`, on yeti's CDR database); a no-op on SQLite. */
store_status store_history_init(store *s, char err[STORE_ERR_LEN]);

#endif
