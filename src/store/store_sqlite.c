/* store_sqlite: the SQLite backend of the store (any location that is not a
 * URI; the default).
 *
 * Owns the on-disk schema: yeti's table and column names (SPEC §8) with the
 * schema prefix mapped to an underscore (sys.nodes -> sys_nodes), created on
 * first use and upgraded by the ordered `migrations` below, tracked in
 * PRAGMA user_version. A file from a newer build (user_version above what
 * this binary knows) is refused untouched.
 *
 * One connection per handle, serialised by a mutex (the server calls the
 * store from several threads); every statement is prepared once at open with
 * bound parameters, never built from input. Constraint failures become
 * STORE_CONFLICT with a message naming the id, name or pop at fault. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_backend.h"

#define BUSY_TIMEOUT_MS 5000

/* Schema migrations, applied in order inside one transaction; after
 * migration i the file's user_version is i + 1. Only ever append. */
static const char *const migrations[] = {
    /* 1: pops and nodes (yeti's sys.pops, sys.nodes) */
    "CREATE TABLE sys_pops ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE sys_nodes ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  rpc_endpoint TEXT NOT NULL,"
    "  pop_id INTEGER NOT NULL REFERENCES sys_pops(id));"
    "CREATE INDEX sys_nodes_pop_id_idx ON sys_nodes(pop_id);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

enum stmt_id {
    ST_POP_ADD,
    ST_POP_REMOVE,
    ST_POP_LIST,
    ST_POP_GET,
    ST_POP_USERS,
    ST_NODE_ADD,
    ST_NODE_REMOVE,
    ST_NODE_LIST,
    ST_NODE_GET,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_POP_ADD] = "INSERT INTO sys_pops (id, name) VALUES (?1, ?2)",
    [ST_POP_REMOVE] = "DELETE FROM sys_pops WHERE id = ?1",
    [ST_POP_LIST] = "SELECT id, name FROM sys_pops ORDER BY id",
    [ST_POP_GET] = "SELECT id, name FROM sys_pops WHERE id = ?1",
    [ST_POP_USERS] = "SELECT count(*) FROM sys_nodes WHERE pop_id = ?1",
    [ST_NODE_ADD] = "INSERT INTO sys_nodes (id, name, rpc_endpoint, pop_id) VALUES (?1, ?2, ?3, ?4)",
    [ST_NODE_REMOVE] = "DELETE FROM sys_nodes WHERE id = ?1",
    [ST_NODE_LIST] = "SELECT id, name, rpc_endpoint, pop_id FROM sys_nodes ORDER BY id",
    [ST_NODE_GET] = "SELECT id, name, rpc_endpoint, pop_id FROM sys_nodes WHERE id = ?1",
};

typedef struct sqlite_store {
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *st[ST_COUNT];
} sqlite_store;

/* How to read one row of a listing into an element of an array. */
typedef struct row_kind {
    const char *what; /* "pop" / "node", for messages */
    size_t size;
    int (*read)(sqlite3_stmt *st, void *elem); /* 0, or -1: a value does not fit */
} row_kind;

/* ---- small helpers ---- */

static store_status db_fail(const sqlite_store *q, char *err, const char *doing)
{
    return store_fail(err, STORE_ERR, "%s: %s", doing, sqlite3_errmsg(q->db));
}

/* Makes a used statement ready for the next caller. */
static void finish(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void lock(sqlite_store *q) { pthread_mutex_lock(&q->mu); }
static void unlock(sqlite_store *q) { pthread_mutex_unlock(&q->mu); }

/* Copies text column col into dst[cap]; -1 when it does not fit. */
static int copy_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (n >= cap) return -1;
    if (t) memcpy(dst, t, n);
    dst[n] = '\0';
    return 0;
}

static int read_pop(sqlite3_stmt *st, void *elem)
{
    store_pop *p = elem;
    p->id = sqlite3_column_int64(st, 0);
    return copy_text(st, 1, p->name, sizeof p->name);
}

static int read_node(sqlite3_stmt *st, void *elem)
{
    store_node *n = elem;
    n->id = sqlite3_column_int64(st, 0);
    n->pop_id = sqlite3_column_int64(st, 3);
    if (copy_text(st, 1, n->name, sizeof n->name) != 0) return -1;
    return copy_text(st, 2, n->rpc_endpoint, sizeof n->rpc_endpoint);
}

static const row_kind pop_rows = {"pop", sizeof(store_pop), read_pop};
static const row_kind node_rows = {"node", sizeof(store_node), read_node};

/* ---- open, schema, close ---- */

/* Runs a pragma that answers one integer. */
static int pragma_int(sqlite_store *q, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

static int exec(sqlite_store *q, const char *sql)
{
    return sqlite3_exec(q->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int open_fail(sqlite_store *q, const char *path, char *err)
{
    const char *why = q->db ? sqlite3_errmsg(q->db) : "out of memory";
    store_fail(err, STORE_ERR, "cannot open database '%.150s': %s", path, why);
    return -1;
}

static int check_version(int v, const char *path, char *err)
{
    if (v >= 0 && v <= SCHEMA_VERSION) return 0;
    store_fail(err, STORE_ERR,
               "database '%.120s' has schema version %d but this build knows only up to %d; "
               "refusing to use it (upgrade activecalls)",
               path, v, SCHEMA_VERSION);
    return -1;
}

static int open_db(sqlite_store *q, const char *path, char *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &q->db, flags, NULL) != SQLITE_OK) return open_fail(q, path, err);
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
    /* the first read of the file: a non-database fails here, before any write */
    int v = 0;
    if (pragma_int(q, "PRAGMA user_version", &v) != 0) return open_fail(q, path, err);
    if (check_version(v, path, err) != 0) return -1;
    if (exec(q, "PRAGMA journal_mode = WAL") != 0) return open_fail(q, path, err);
    int fk = 0;
    if (exec(q, "PRAGMA foreign_keys = ON") != 0 || pragma_int(q, "PRAGMA foreign_keys", &fk) != 0)
        return open_fail(q, path, err);
    if (fk != 1) {
        store_fail(err, STORE_ERR, "libsqlite3 was built without foreign key support");
        return -1;
    }
    return 0;
}

static int apply_migrations(sqlite_store *q, const char *path, char *err)
{
    int v = 0;
    /* read again under the write lock: another process may have migrated */
    if (pragma_int(q, "PRAGMA user_version", &v) != 0) return open_fail(q, path, err);
    if (check_version(v, path, err) != 0) return -1;
    for (int i = v; i < SCHEMA_VERSION; i++) {
        if (exec(q, migrations[i]) != 0) {
            store_fail(err, STORE_ERR, "database '%.120s': migration %d failed: %s", path, i + 1,
                       sqlite3_errmsg(q->db));
            return -1;
        }
    }
    /* PRAGMA takes no bound parameters; the number is this file's constant */
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SCHEMA_VERSION);
    return exec(q, sql) == 0 ? 0 : open_fail(q, path, err);
}

static int migrate(sqlite_store *q, const char *path, char *err)
{
    int v = 0;
    if (pragma_int(q, "PRAGMA user_version", &v) != 0) return open_fail(q, path, err);
    if (v == SCHEMA_VERSION) return 0;
    if (exec(q, "BEGIN IMMEDIATE") != 0) return open_fail(q, path, err);
    if (apply_migrations(q, path, err) != 0) {
        exec(q, "ROLLBACK");
        return -1;
    }
    return exec(q, "COMMIT") == 0 ? 0 : open_fail(q, path, err);
}

static int prepare_all(sqlite_store *q, char *err)
{
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(q->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &q->st[i],
                               NULL) != SQLITE_OK) {
            db_fail(q, err, "preparing statements");
            return -1;
        }
    }
    return 0;
}

static void sq_close(void *impl)
{
    sqlite_store *q = impl;
    if (!q) return;
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(q->st[i]);
    sqlite3_close(q->db);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static void *sq_open(const char *path, char err[STORE_ERR_LEN])
{
    if (!sqlite3_threadsafe()) {
        store_fail(err, STORE_ERR, "libsqlite3 was built without thread support");
        return NULL;
    }
    sqlite_store *q = calloc(1, sizeof *q);
    if (!q) {
        store_fail(err, STORE_ERR, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&q->mu, NULL);
    if (open_db(q, path, err) != 0 || migrate(q, path, err) != 0 || prepare_all(q, err) != 0) {
        sq_close(q);
        return NULL;
    }
    return q;
}

/* ---- reading ---- */

static int grow(char **arr, size_t *cap, size_t size)
{
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap > SIZE_MAX / size) return -1;
    char *p = realloc(*arr, ncap * size);
    if (!p) return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Steps st to the end, reading every row into one malloc'd array. */
static store_status collect(const sqlite_store *q, sqlite3_stmt *st, const row_kind *k,
                            void **out, size_t *n, char *err)
{
    char *arr = NULL;
    size_t len = 0, cap = 0;
    store_status rv = STORE_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap && grow(&arr, &cap, k->size) != 0) {
            rv = store_fail(err, STORE_ERR, "out of memory listing %ss", k->what);
            break;
        }
        if (k->read(st, arr + len * k->size) != 0) {
            rv = store_fail(err, STORE_ERR, "%s %lld in the database has a value too long",
                            k->what, (long long)sqlite3_column_int64(st, 0));
            break;
        }
        len++;
    }
    if (rv == STORE_OK && rc != SQLITE_DONE)
        rv = store_fail(err, STORE_ERR, "listing %ss: %s", k->what, sqlite3_errmsg(q->db));
    finish(st);
    if (rv != STORE_OK) {
        free(arr);
        return rv;
    }
    *out = arr;
    *n = len;
    return STORE_OK;
}

static store_status list(sqlite_store *q, enum stmt_id id, const row_kind *k, void **out,
                         size_t *n, char *err)
{
    lock(q);
    store_status rv = collect(q, q->st[id], k, out, n, err);
    unlock(q);
    return rv;
}

static store_status get_locked(sqlite_store *q, sqlite3_stmt *st, const row_kind *k, int64_t id,
                               void *out, char *err)
{
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK) return db_fail(q, err, "binding");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return store_fail(err, STORE_NOT_FOUND, "%s %lld not found", k->what,
                                             (long long)id);
    if (rc != SQLITE_ROW) return store_fail(err, STORE_ERR, "reading %s %lld: %s", k->what,
                                            (long long)id, sqlite3_errmsg(q->db));
    if (k->read(st, out) != 0)
        return store_fail(err, STORE_ERR, "%s %lld in the database has a value too long",
                          k->what, (long long)id);
    return STORE_OK;
}

static store_status get(sqlite_store *q, enum stmt_id sid, const row_kind *k, int64_t id,
                        void *out, char *err)
{
    lock(q);
    store_status rv = get_locked(q, q->st[sid], k, id, out, err);
    finish(q->st[sid]);
    unlock(q);
    return rv;
}

static store_status sq_pop_list(void *impl, store_pop **out, size_t *n, char *err)
{
    void *arr = NULL;
    store_status rv = list(impl, ST_POP_LIST, &pop_rows, &arr, n, err);
    *out = arr;
    return rv;
}

static store_status sq_node_list(void *impl, store_node **out, size_t *n, char *err)
{
    void *arr = NULL;
    store_status rv = list(impl, ST_NODE_LIST, &node_rows, &arr, n, err);
    *out = arr;
    return rv;
}

static store_status sq_pop_get(void *impl, int64_t id, store_pop *out, char *err)
{
    return get(impl, ST_POP_GET, &pop_rows, id, out, err);
}

static store_status sq_node_get(void *impl, int64_t id, store_node *out, char *err)
{
    return get(impl, ST_NODE_GET, &node_rows, id, out, err);
}

/* ---- writing ---- */

static store_status pop_add_locked(sqlite_store *q, sqlite3_stmt *st, const store_pop *p,
                                   char *err)
{
    if (sqlite3_bind_int64(st, 1, p->id) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC) != SQLITE_OK)
        return db_fail(q, err, "binding");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return STORE_OK;
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return store_fail(err, STORE_CONFLICT, "pop id %lld already exists", (long long)p->id);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return store_fail(err, STORE_CONFLICT, "pop name '%.100s' already exists", p->name);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return store_fail(err, STORE_CONFLICT, "adding pop %lld: %s", (long long)p->id,
                          sqlite3_errmsg(q->db));
    return store_fail(err, STORE_ERR, "adding pop %lld: %s", (long long)p->id,
                      sqlite3_errmsg(q->db));
}

static store_status sq_pop_add(void *impl, const store_pop *pop, char *err)
{
    sqlite_store *q = impl;
    lock(q);
    store_status rv = pop_add_locked(q, q->st[ST_POP_ADD], pop, err);
    finish(q->st[ST_POP_ADD]);
    unlock(q);
    return rv;
}

/* Explains a refused pop removal: how many nodes still use the pop. */
static store_status pop_in_use(sqlite_store *q, int64_t id, char *err)
{
    sqlite3_stmt *st = q->st[ST_POP_USERS];
    long long users = -1;
    if (sqlite3_bind_int64(st, 1, id) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        users = sqlite3_column_int64(st, 0);
    finish(st);
    if (users < 0) return store_fail(err, STORE_CONFLICT, "pop %lld is still used by nodes",
                                     (long long)id);
    return store_fail(err, STORE_CONFLICT, "pop %lld is still used by %lld node(s); remove them first",
                      (long long)id, users);
}

/* Runs a `DELETE ... WHERE id = ?1`; sets *fk when a foreign key refused it. */
static store_status remove_locked(sqlite_store *q, sqlite3_stmt *st, const char *what,
                                  int64_t id, int *fk, char *err)
{
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK) return db_fail(q, err, "binding");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
        *fk = 1;
        return STORE_CONFLICT;
    }
    if (rc != SQLITE_DONE)
        return store_fail(err, STORE_ERR, "removing %s %lld: %s", what, (long long)id,
                          sqlite3_errmsg(q->db));
    if (sqlite3_changes(q->db) == 0)
        return store_fail(err, STORE_NOT_FOUND, "%s %lld not found", what, (long long)id);
    return STORE_OK;
}

static store_status sq_pop_remove(void *impl, int64_t id, char *err)
{
    sqlite_store *q = impl;
    int fk = 0;
    lock(q);
    store_status rv = remove_locked(q, q->st[ST_POP_REMOVE], "pop", id, &fk, err);
    finish(q->st[ST_POP_REMOVE]);
    if (fk) rv = pop_in_use(q, id, err);
    unlock(q);
    return rv;
}

static store_status sq_node_remove(void *impl, int64_t id, char *err)
{
    sqlite_store *q = impl;
    int fk = 0;
    lock(q);
    store_status rv = remove_locked(q, q->st[ST_NODE_REMOVE], "node", id, &fk, err);
    finish(q->st[ST_NODE_REMOVE]);
    if (fk) rv = store_fail(err, STORE_CONFLICT, "node %lld is still referenced", (long long)id);
    unlock(q);
    return rv;
}

static store_status node_add_locked(sqlite_store *q, sqlite3_stmt *st, const store_node *n,
                                    char *err)
{
    if (sqlite3_bind_int64(st, 1, n->id) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, n->name, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, n->rpc_endpoint, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, n->pop_id) != SQLITE_OK)
        return db_fail(q, err, "binding");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return STORE_OK;
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return store_fail(err, STORE_CONFLICT, "node id %lld already exists", (long long)n->id);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return store_fail(err, STORE_CONFLICT, "node name '%.100s' already exists", n->name);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return store_fail(err, STORE_CONFLICT, "pop %lld does not exist", (long long)n->pop_id);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return store_fail(err, STORE_CONFLICT, "adding node %lld: %s", (long long)n->id,
                          sqlite3_errmsg(q->db));
    return store_fail(err, STORE_ERR, "adding node %lld: %s", (long long)n->id,
                      sqlite3_errmsg(q->db));
}

static store_status sq_node_add(void *impl, const store_node *node, char *err)
{
    sqlite_store *q = impl;
    lock(q);
    store_status rv = node_add_locked(q, q->st[ST_NODE_ADD], node, err);
    finish(q->st[ST_NODE_ADD]);
    unlock(q);
    return rv;
}

const store_backend store_sqlite_backend = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .pop_add = sq_pop_add,
    .pop_remove = sq_pop_remove,
    .pop_list = sq_pop_list,
    .pop_get = sq_pop_get,
    .node_add = sq_node_add,
    .node_remove = sq_node_remove,
    .node_list = sq_node_list,
    .node_get = sq_node_get,
};
