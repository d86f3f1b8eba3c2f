/* store_backend: the private contract between store.c and each backend.
 *
 * store.c owns the public API (store.h): it checks arguments and validates
 * input once for every backend, picks the backend from the location, and
 * forwards each call through one of these tables. A backend only talks to
 * its database; it receives validated input, reports constraint failures as
 * STORE_CONFLICT and missing rows as STORE_NOT_FOUND, and serialises access
 * to its own state (a store handle is shared by several threads). Adding a
 * backend means one new file exporting a `store_backend` and one line in
 * store.c's scheme table; callers never change. */
#ifndef AC_STORE_STORE_BACKEND_H
#define AC_STORE_STORE_BACKEND_H

#include "store/resources.h"
#include "store/store.h"

/* One row of the demo data set: vals[i] is column i of res_types[type]
 * (resources.h) as text — integers and booleans ("1"/"0") in decimal,
 * decimals as written, times ISO — or NULL for SQL NULL. */
#define STORE_DEMO_MAX_COLS 16

typedef struct store_demo_row {
    res_type_id type;
    int64_t id;
    const char *vals[STORE_DEMO_MAX_COLS];
} store_demo_row;

/* The whole set: rows parents first, and the types whose tables it
 * replaces (every related type; never pops or nodes). */
typedef struct store_demo_set {
    store_demo_row *rows;
    size_t n;
    bool replace[RT_COUNT];
    void *mem; /* the strings rows point into */
} store_demo_set;

typedef struct store_backend {
    const char *name;
    /* Returns the backend's state for `location`, or NULL with err set. */
    void *(*open)(const char *location, char err[STORE_ERR_LEN]);
    void (*close)(void *impl);

    store_status (*pop_add)(void *impl, const store_pop *pop, char err[STORE_ERR_LEN]);
    store_status (*pop_remove)(void *impl, int64_t id, char err[STORE_ERR_LEN]);
    store_status (*pop_list)(void *impl, store_pop **out, size_t *n, char err[STORE_ERR_LEN]);
    store_status (*pop_get)(void *impl, int64_t id, store_pop *out, char err[STORE_ERR_LEN]);

    store_status (*node_add)(void *impl, const store_node *node, char err[STORE_ERR_LEN]);
    store_status (*node_remove)(void *impl, int64_t id, char err[STORE_ERR_LEN]);
    store_status (*node_list)(void *impl, store_node **out, size_t *n, char err[STORE_ERR_LEN]);
    store_status (*node_get)(void *impl, int64_t id, store_node *out, char err[STORE_ERR_LEN]);

    /* Admin users. roles and allowed_ips arrive (and must come back) as the
     * canonical comma-separated text of store.h; a backend with array
     * columns (PostgreSQL: varchar[], inet[]) converts both ways. user_add
     * gets a normalised user and writes the id it stored into u->id (the
     * database assigns one when u->id is 0). user_list need not read the
     * hashes (store.c blanks them whatever the backend returns). Updates by
     * username answer STORE_NOT_FOUND when no row changed. */
    store_status (*user_add)(void *impl, store_admin_user *u, char err[STORE_ERR_LEN]);
    store_status (*user_get)(void *impl, int64_t id, store_admin_user *out, char err[STORE_ERR_LEN]);
    store_status (*user_find)(void *impl, const char *username, store_admin_user *out,
                              char err[STORE_ERR_LEN]);
    store_status (*user_set_password)(void *impl, const char *username, const char *hash,
                                      char err[STORE_ERR_LEN]);
    store_status (*user_set_enabled)(void *impl, const char *username, bool enabled, char err[STORE_ERR_LEN]);
    store_status (*user_list)(void *impl, store_admin_user **out, size_t *n, char err[STORE_ERR_LEN]);

    /* Related resources (resources.h). fetch gets t < RT_COUNT, n > 0 and
     * ids[0..n) (any values, duplicates allowed); it runs ONE query whatever
     * n is and fills *out: the existing rows, each once, ordered by id, the
     * values in res_types[t] column order, every string in out->mem. */
    store_status (*fetch)(void *impl, res_type_id t, const int64_t *ids, size_t n, res_rows *out,
                          char err[STORE_ERR_LEN]);
    /* Statements run on this handle so far (every one counts; atomic, so no
     * lock is needed to read it). */
    uint64_t (*query_count)(void *impl);
    /* In one transaction: empties the table of every type set->replace
     * names, then inserts set->rows. A backend fills columns the service
     * never reads (secrets) with dummy values of its own. */
    store_status (*demo_replace)(void *impl, const store_demo_set *set, char err[STORE_ERR_LEN]);
    /* Creates the service's tables on an empty database (`activecalls db
     * init`); NULL when open already does (SQLite migrates at open). */
    store_status (*schema_init)(void *impl, char err[STORE_ERR_LEN]);
} store_backend;

/* The backends (one line each). */
extern const store_backend store_sqlite_backend;
extern const store_backend store_pg_backend;

/* The demo data set (demo_data.c), coherent with model/demo_ids.h.
 * Gateways get their pop from pops[0..npops) (the pops that exist; NULL
 * when there are none). store_demo_set_free releases what build made. */
store_status store_demo_build(const int64_t *pops, size_t npops, store_demo_set *out,
                              char err[STORE_ERR_LEN]);
void store_demo_set_free(store_demo_set *set);

/* Writes the message into err (if not NULL) and returns st, so that error
 * paths read `return store_fail(err, STORE_CONFLICT, "...", ...);`. */
store_status store_fail(char *err, store_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
