/* store_sql: the store's logic, written once over a dialect (dialect.h).
 *
 * store.c owns the public API (store.h): it checks the arguments, validates
 * the input and picks the dialect from the location, then calls the
 * functions here, which only talk to the database (what store.c checked
 * is asserted, not checked again). demo_data.c builds a replace_set and
 * hands it to sql_replace. */
#ifndef AC_STORE_STORE_SQL_H
#define AC_STORE_STORE_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/dialect.h"
#include "store/resources.h"
#include "store/store.h"

store *sql_open(const sql_dialect *d, const char *location, char err[STORE_ERR_LEN]);
void sql_close(store *s);
store_status sql_schema_init(store *s, char err[STORE_ERR_LEN]);
uint64_t sql_query_count(const store *s);

/* The tables store.c reads and writes as the structs of store.h. */
typedef enum {
    SQL_POPS,  /* store_pop, sys.pops */
    SQL_NODES, /* store_node, sys.nodes */
    SQL_USERS, /* store_admin_user, gui.admin_users */
    SQL_KINDS
} sql_kind;

/* row is validated (users: normalised). *id (if not NULL) gets the id
 * stored: a user's id of 0 stores max(id) + 1. */
store_status sql_add(store *s, sql_kind k, const void *row, int64_t *id, char err[STORE_ERR_LEN]);
/* Pops and nodes: STORE_NOT_FOUND when no row went; STORE_CONFLICT when
 * another row still refers to it. */
store_status sql_remove(store *s, sql_kind k, int64_t id, char err[STORE_ERR_LEN]);
/* *out: one malloc'd array ordered by id, NULL when empty; users' hashes
 * are not read (left empty). */
store_status sql_list(store *s, sql_kind k, void **out, size_t *n, char err[STORE_ERR_LEN]);
store_status sql_get(store *s, sql_kind k, int64_t id, void *out, char err[STORE_ERR_LEN]);

store_status sql_user_find(store *s, const char *username, store_admin_user *out, char err[STORE_ERR_LEN]);
/* Sets one column of the user (value in the store's text form: a hash,
 * "1" / "0"); STORE_NOT_FOUND when there is no such user. */
typedef enum { SQL_SET_PASSWORD, SQL_SET_ENABLED, SQL_USER_CHANGES } sql_user_change;
store_status sql_user_set(store *s, const char *username, sql_user_change what, const char *value,
                          char err[STORE_ERR_LEN]);

/* t < RT_COUNT, n > 0: one query whatever n is (resources.h). */
store_status sql_fetch(store *s, res_type_id t, const int64_t *ids, size_t n, res_rows *out,
                       char err[STORE_ERR_LEN]);

/* Whole tables replaced in one transaction: every table `replace` names is
 * emptied (never pops or nodes), then rows[0..n) go in, parents first.
 * vals[i] is column i of res_types[type] in the store's text form, or NULL
 * for SQL NULL. */
#define REPLACE_MAX_COLS 16

typedef struct replace_row {
    res_type_id type;
    int64_t id;
    const char *vals[REPLACE_MAX_COLS];
} replace_row;

typedef struct replace_set {
    const replace_row *rows;
    size_t n;
    bool replace[RT_COUNT];
} replace_set;

store_status sql_replace(store *s, const replace_set *set, char err[STORE_ERR_LEN]);

/* The history (store.h, "active-call history"): arguments checked by
 * store.c. */
store_writer *sql_writer_new(store *s);
void sql_writer_free(store_writer *w);
store_status sql_writer_lock(store_writer *w, int64_t key, bool *held, char err[STORE_ERR_LEN]);
store_status sql_sample_write(store_writer *w, const store_sample *smp, const char *writer, bool *written,
                              char err[STORE_ERR_LEN]);
store_status sql_history_prune(store_writer *w, int64_t before_s, int batch, int max_batches,
                               uint64_t *deleted, char err[STORE_ERR_LEN]);
store_status sql_history_read(store *s, const store_hist_query *q, store_hist_point **out, size_t *n,
                              char err[STORE_ERR_LEN]);
store_status sql_history_init(store *s, char err[STORE_ERR_LEN]);

#endif
