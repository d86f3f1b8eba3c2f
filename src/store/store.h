/* store: the one interface to persistent data (SPEC §8 table names).
 *
 * Callers see only this header. `store_open` picks the backend from the
 * location: a file path means SQLite (created and migrated on first use);
 * `postgresql://` / `postgres://` URIs are reserved for the PostgreSQL
 * backend. Every function returns 0 on success or -1 with a human-readable
 * message in `err` (never containing secrets). A store handle may be used
 * from several threads; the backend serialises as it needs. */
#ifndef AC_STORE_STORE_H
#define AC_STORE_STORE_H

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

#endif
