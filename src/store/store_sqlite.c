/* store_sqlite: the SQLite backend of the store (any location that is not a
 * URI; the default).
 *
 * Owns the on-disk schema: yeti's table and column names (docs/CONTRACT.md §8) with the
 * schema prefix mapped to an underscore (sys.nodes -> sys_nodes), created on
 * first use and upgraded by the ordered `migrations` below, tracked in
 * PRAGMA user_version. A file from a newer build (user_version above what
 * this binary knows) is refused untouched.
 *
 * One connection per handle, serialised by a mutex (the server calls the
 * store from several threads); every statement is prepared once at open with
 * bound parameters, never built from input. Constraint failures become
 * STORE_CONFLICT with a message naming the id, name or pop at fault.
 *
 * Admin users (gui.admin_users -> gui_admin_users, migration 2): SQLite has
 * no arrays, so roles and allowed_ips are TEXT holding the canonical
 * comma-separated form store.c produces ("root,support",
 * "10.0.0.0/8,2001:db8::/32", "" = any address); the PostgreSQL backend
 * keeps yeti's varchar[] / inet[] columns and converts. enabled is 0/1.
 * Rows are returned as stored. The listing never selects the hash.
 *
 * Related resources (migration 3, resources.h): one table per type, named
 * from res_types. store_fetch runs one statement per call whatever the
 * number of ids — `... WHERE id IN (SELECT value FROM json_each(?1))` with
 * the ids bound as one JSON array — built from the res_types constants and
 * prepared once per type on first use; the rows land in one memory block.
 * Every statement the handle runs (fetch, node_list, user_get, BEGIN, ...)
 * adds one to an atomic counter (store_query_count). The demo data goes in
 * with bound parameters in one transaction, foreign keys checked at COMMIT;
 * the secret columns get random dummy values. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/resources.h"
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
    /* 2: admin users (yeti's gui.admin_users; roles and allowed_ips as
     * canonical comma-separated text instead of varchar[] / inet[]) */
    "CREATE TABLE gui_admin_users ("
    "  id INTEGER PRIMARY KEY,"
    "  username TEXT NOT NULL UNIQUE,"
    "  encrypted_password TEXT NOT NULL DEFAULT '',"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  roles TEXT NOT NULL DEFAULT '',"
    "  allowed_ips TEXT NOT NULL DEFAULT '');",
    /* 3: the related resources of a call (docs/CONTRACT.md §8; resources.h). Decimals
     * are TEXT so "0.11" stays "0.11"; booleans 0/1; times ISO TEXT
     * ("2026-01-01T00:00:00.000Z"); inet[] as comma-separated TEXT. The
     * secret columns exist as in yeti but are never selected. pop_id
     * columns carry no foreign key: pops are managed by `pop remove`,
     * which only answers for nodes. */
    "CREATE TABLE sys_smtp_connections ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  host TEXT NOT NULL,"
    "  port INTEGER NOT NULL DEFAULT 25,"
    "  from_address TEXT NOT NULL,"
    "  auth_user TEXT,"
    "  auth_password TEXT,"
    "  global INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE public_contractors ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  vendor INTEGER NOT NULL DEFAULT 0,"
    "  customer INTEGER NOT NULL DEFAULT 0,"
    "  description TEXT,"
    "  address TEXT,"
    "  phones TEXT,"
    "  smtp_connection_id INTEGER REFERENCES sys_smtp_connections(id),"
    "  external_id INTEGER UNIQUE);"
    "CREATE TABLE billing_accounts ("
    "  id INTEGER PRIMARY KEY,"
    "  contractor_id INTEGER NOT NULL REFERENCES public_contractors(id),"
    "  name TEXT NOT NULL UNIQUE,"
    "  balance TEXT NOT NULL DEFAULT '0.0',"
    "  min_balance TEXT NOT NULL DEFAULT '0.0',"
    "  max_balance TEXT NOT NULL DEFAULT '0.0',"
    "  vat TEXT NOT NULL DEFAULT '0.0',"
    "  origination_capacity INTEGER,"
    "  termination_capacity INTEGER,"
    "  total_capacity INTEGER,"
    "  external_id INTEGER UNIQUE,"
    "  uuid TEXT NOT NULL UNIQUE,"
    "  timezone TEXT NOT NULL DEFAULT 'UTC');"
    "CREATE INDEX billing_accounts_contractor_id_idx ON billing_accounts(contractor_id);"
    "CREATE TABLE class4_rateplans ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  profit_control_mode_id INTEGER NOT NULL DEFAULT 1,"
    "  external_id INTEGER UNIQUE);"
    "CREATE TABLE class4_routing_groups ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE class4_routing_plans ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  sorting_id INTEGER NOT NULL DEFAULT 1,"
    "  rate_delta_max TEXT NOT NULL DEFAULT '0.0',"
    "  use_lnp INTEGER NOT NULL DEFAULT 0,"
    "  max_rerouting_attempts INTEGER NOT NULL DEFAULT 9,"
    "  external_id INTEGER UNIQUE);"
    "CREATE TABLE class4_gateways ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  host TEXT,"
    "  port INTEGER,"
    "  contractor_id INTEGER NOT NULL REFERENCES public_contractors(id),"
    "  pop_id INTEGER,"
    "  allow_origination INTEGER NOT NULL DEFAULT 1,"
    "  allow_termination INTEGER NOT NULL DEFAULT 1,"
    "  origination_capacity INTEGER,"
    "  termination_capacity INTEGER,"
    "  external_id INTEGER UNIQUE,"
    "  auth_user TEXT,"
    "  auth_password TEXT,"
    "  incoming_auth_password TEXT);"
    "CREATE INDEX class4_gateways_contractor_id_idx ON class4_gateways(contractor_id);"
    "CREATE TABLE class4_customers_auth ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  customer_id INTEGER NOT NULL REFERENCES public_contractors(id),"
    "  account_id INTEGER NOT NULL REFERENCES billing_accounts(id),"
    "  rateplan_id INTEGER NOT NULL REFERENCES class4_rateplans(id),"
    "  routing_plan_id INTEGER NOT NULL REFERENCES class4_routing_plans(id),"
    "  gateway_id INTEGER NOT NULL REFERENCES class4_gateways(id),"
    "  pop_id INTEGER,"
    "  ip TEXT NOT NULL DEFAULT '',"
    "  reject_calls INTEGER NOT NULL DEFAULT 0,"
    "  capacity INTEGER,"
    "  cps_limit TEXT,"
    "  external_id INTEGER UNIQUE);"
    "CREATE TABLE class4_destinations ("
    "  id INTEGER PRIMARY KEY,"
    "  prefix TEXT NOT NULL DEFAULT '',"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  initial_rate TEXT NOT NULL,"
    "  next_rate TEXT NOT NULL,"
    "  initial_interval INTEGER NOT NULL DEFAULT 1,"
    "  next_interval INTEGER NOT NULL DEFAULT 1,"
    "  connect_fee TEXT NOT NULL DEFAULT '0.0',"
    "  rate_policy_id INTEGER NOT NULL DEFAULT 1,"
    "  reject_calls INTEGER NOT NULL DEFAULT 0,"
    "  valid_from TEXT,"
    "  valid_till TEXT,"
    "  external_id INTEGER);"
    "CREATE TABLE class4_dialpeers ("
    "  id INTEGER PRIMARY KEY,"
    "  prefix TEXT NOT NULL DEFAULT '',"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  gateway_id INTEGER REFERENCES class4_gateways(id),"
    "  routing_group_id INTEGER NOT NULL REFERENCES class4_routing_groups(id),"
    "  vendor_id INTEGER NOT NULL REFERENCES public_contractors(id),"
    "  account_id INTEGER NOT NULL REFERENCES billing_accounts(id),"
    "  priority INTEGER NOT NULL DEFAULT 100,"
    "  capacity INTEGER,"
    "  initial_rate TEXT NOT NULL,"
    "  next_rate TEXT NOT NULL,"
    "  initial_interval INTEGER NOT NULL DEFAULT 1,"
    "  next_interval INTEGER NOT NULL DEFAULT 1,"
    "  connect_fee TEXT NOT NULL DEFAULT '0.0',"
    "  valid_from TEXT,"
    "  valid_till TEXT,"
    "  external_id INTEGER);"
    "CREATE INDEX class4_dialpeers_routing_group_id_idx ON class4_dialpeers(routing_group_id);"
    "CREATE TABLE sys_countries ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  iso2 TEXT NOT NULL UNIQUE);"
    "CREATE TABLE sys_networks ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE);",
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
    ST_USER_ADD,
    ST_USER_GET,
    ST_USER_FIND,
    ST_USER_SET_PASSWORD,
    ST_USER_SET_ENABLED,
    ST_USER_LIST,
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
    [ST_USER_ADD] = "INSERT INTO gui_admin_users"
                    " (id, username, encrypted_password, enabled, roles, allowed_ips)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_USER_GET] = "SELECT id, username, encrypted_password, enabled, roles, allowed_ips"
                    " FROM gui_admin_users WHERE id = ?1",
    [ST_USER_FIND] = "SELECT id, username, encrypted_password, enabled, roles, allowed_ips"
                     " FROM gui_admin_users WHERE username = ?1",
    [ST_USER_SET_PASSWORD] = "UPDATE gui_admin_users SET encrypted_password = ?2"
                             " WHERE username = ?1",
    [ST_USER_SET_ENABLED] = "UPDATE gui_admin_users SET enabled = ?2 WHERE username = ?1",
    /* '' in place of the hash: a listing never reads it */
    [ST_USER_LIST] = "SELECT id, username, '', enabled, roles, allowed_ips"
                     " FROM gui_admin_users ORDER BY id",
};

typedef struct sqlite_store {
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *st[ST_COUNT];
    sqlite3_stmt *fetch[RT_COUNT]; /* prepared on first use */
    _Atomic uint64_t queries;      /* statements run (store_query_count) */
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

/* sqlite3_step, counting each statement once when it starts to run. */
static int step(sqlite_store *q, sqlite3_stmt *st)
{
    if (!sqlite3_stmt_busy(st)) atomic_fetch_add(&q->queries, 1);
    return sqlite3_step(st);
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

static int read_user(sqlite3_stmt *st, void *elem)
{
    store_admin_user *u = elem;
    u->id = sqlite3_column_int64(st, 0);
    u->enabled = sqlite3_column_int64(st, 3) != 0;
    if (copy_text(st, 1, u->username, sizeof u->username) != 0 ||
        copy_text(st, 2, u->encrypted_password, sizeof u->encrypted_password) != 0 ||
        copy_text(st, 4, u->roles, sizeof u->roles) != 0)
        return -1;
    return copy_text(st, 5, u->allowed_ips, sizeof u->allowed_ips);
}

static const row_kind pop_rows = {"pop", sizeof(store_pop), read_pop};
static const row_kind node_rows = {"node", sizeof(store_node), read_node};
static const row_kind user_rows = {"user", sizeof(store_admin_user), read_user};

/* ---- open, schema, close ---- */

/* Runs a pragma that answers one integer. */
static int pragma_int(sqlite_store *q, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) rc = step(q, st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

static int exec(sqlite_store *q, const char *sql)
{
    atomic_fetch_add(&q->queries, 1);
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
        if (sqlite3_prepare_v3(q->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &q->st[i], NULL) !=
            SQLITE_OK) {
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
    for (int i = 0; i < RT_COUNT; i++) sqlite3_finalize(q->fetch[i]);
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
static store_status collect(sqlite_store *q, sqlite3_stmt *st, const row_kind *k, void **out, size_t *n,
                            char *err)
{
    char *arr = NULL;
    size_t len = 0, cap = 0;
    store_status rv = STORE_OK;
    int rc;
    while ((rc = step(q, st)) == SQLITE_ROW) {
        if (len == cap && grow(&arr, &cap, k->size) != 0) {
            rv = store_fail(err, STORE_ERR, "out of memory listing %ss", k->what);
            break;
        }
        if (k->read(st, arr + len * k->size) != 0) {
            rv = store_fail(err, STORE_ERR, "%s %lld in the database has a value too long", k->what,
                            (long long)sqlite3_column_int64(st, 0));
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

static store_status list(sqlite_store *q, enum stmt_id id, const row_kind *k, void **out, size_t *n,
                         char *err)
{
    lock(q);
    store_status rv = collect(q, q->st[id], k, out, n, err);
    unlock(q);
    return rv;
}

static store_status get_locked(sqlite_store *q, sqlite3_stmt *st, const row_kind *k, int64_t id, void *out,
                               char *err)
{
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK) return db_fail(q, err, "binding");
    int rc = step(q, st);
    if (rc == SQLITE_DONE)
        return store_fail(err, STORE_NOT_FOUND, "%s %lld not found", k->what, (long long)id);
    if (rc != SQLITE_ROW)
        return store_fail(err, STORE_ERR, "reading %s %lld: %s", k->what, (long long)id,
                          sqlite3_errmsg(q->db));
    if (k->read(st, out) != 0)
        return store_fail(err, STORE_ERR, "%s %lld in the database has a value too long", k->what,
                          (long long)id);
    return STORE_OK;
}

static store_status get(sqlite_store *q, enum stmt_id sid, const row_kind *k, int64_t id, void *out,
                        char *err)
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

static store_status pop_add_locked(sqlite_store *q, sqlite3_stmt *st, const store_pop *p, char *err)
{
    if (sqlite3_bind_int64(st, 1, p->id) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC) != SQLITE_OK)
        return db_fail(q, err, "binding");
    int rc = step(q, st);
    if (rc == SQLITE_DONE) return STORE_OK;
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return store_fail(err, STORE_CONFLICT, "pop id %lld already exists", (long long)p->id);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return store_fail(err, STORE_CONFLICT, "pop name '%.100s' already exists", p->name);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return store_fail(err, STORE_CONFLICT, "adding pop %lld: %s", (long long)p->id,
                          sqlite3_errmsg(q->db));
    return store_fail(err, STORE_ERR, "adding pop %lld: %s", (long long)p->id, sqlite3_errmsg(q->db));
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
    if (sqlite3_bind_int64(st, 1, id) == SQLITE_OK && step(q, st) == SQLITE_ROW)
        users = sqlite3_column_int64(st, 0);
    finish(st);
    if (users < 0) return store_fail(err, STORE_CONFLICT, "pop %lld is still used by nodes", (long long)id);
    return store_fail(err, STORE_CONFLICT, "pop %lld is still used by %lld node(s); remove them first",
                      (long long)id, users);
}

/* Runs a `DELETE ... WHERE id = ?1`; sets *fk when a foreign key refused it. */
static store_status remove_locked(sqlite_store *q, sqlite3_stmt *st, const char *what, int64_t id, int *fk,
                                  char *err)
{
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK) return db_fail(q, err, "binding");
    int rc = step(q, st);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
        *fk = 1;
        return STORE_CONFLICT;
    }
    if (rc != SQLITE_DONE)
        return store_fail(err, STORE_ERR, "removing %s %lld: %s", what, (long long)id, sqlite3_errmsg(q->db));
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

static store_status node_add_locked(sqlite_store *q, sqlite3_stmt *st, const store_node *n, char *err)
{
    if (sqlite3_bind_int64(st, 1, n->id) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, n->name, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, n->rpc_endpoint, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, n->pop_id) != SQLITE_OK)
        return db_fail(q, err, "binding");
    int rc = step(q, st);
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
    return store_fail(err, STORE_ERR, "adding node %lld: %s", (long long)n->id, sqlite3_errmsg(q->db));
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

/* ---- admin users ---- */

static store_status sq_user_get(void *impl, int64_t id, store_admin_user *out, char *err)
{
    return get(impl, ST_USER_GET, &user_rows, id, out, err);
}

static store_status find_locked(sqlite_store *q, sqlite3_stmt *st, const char *username,
                                store_admin_user *out, char *err)
{
    if (sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC) != SQLITE_OK) return db_fail(q, err, "binding");
    int rc = step(q, st);
    if (rc == SQLITE_DONE) return store_fail(err, STORE_NOT_FOUND, "user '%.100s' not found", username);
    if (rc != SQLITE_ROW)
        return store_fail(err, STORE_ERR, "reading user '%.100s': %s", username, sqlite3_errmsg(q->db));
    if (read_user(st, out) != 0)
        return store_fail(err, STORE_ERR, "user '%.100s' in the database has a value too long", username);
    return STORE_OK;
}

static store_status sq_user_find(void *impl, const char *username, store_admin_user *out, char *err)
{
    sqlite_store *q = impl;
    lock(q);
    store_status rv = find_locked(q, q->st[ST_USER_FIND], username, out, err);
    finish(q->st[ST_USER_FIND]);
    unlock(q);
    return rv;
}

static store_status sq_user_list(void *impl, store_admin_user **out, size_t *n, char *err)
{
    void *arr = NULL;
    store_status rv = list(impl, ST_USER_LIST, &user_rows, &arr, n, err);
    *out = arr;
    return rv;
}

static store_status user_add_locked(sqlite_store *q, sqlite3_stmt *st, store_admin_user *u, char *err)
{
    /* id NULL: SQLite assigns max(id) + 1 */
    int brc = u->id > 0 ? sqlite3_bind_int64(st, 1, u->id) : sqlite3_bind_null(st, 1);
    if (brc != SQLITE_OK || sqlite3_bind_text(st, 2, u->username, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, u->encrypted_password, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int(st, 4, u->enabled ? 1 : 0) != SQLITE_OK ||
        sqlite3_bind_text(st, 5, u->roles, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 6, u->allowed_ips, -1, SQLITE_STATIC) != SQLITE_OK)
        return db_fail(q, err, "binding");
    int rc = step(q, st);
    if (rc == SQLITE_DONE) {
        u->id = sqlite3_last_insert_rowid(q->db);
        return STORE_OK;
    }
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return store_fail(err, STORE_CONFLICT, "user id %lld already exists", (long long)u->id);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return store_fail(err, STORE_CONFLICT, "username '%.100s' already exists", u->username);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return store_fail(err, STORE_CONFLICT, "adding user '%.100s': %s", u->username,
                          sqlite3_errmsg(q->db));
    return store_fail(err, STORE_ERR, "adding user '%.100s': %s", u->username, sqlite3_errmsg(q->db));
}

static store_status sq_user_add(void *impl, store_admin_user *u, char *err)
{
    sqlite_store *q = impl;
    lock(q);
    store_status rv = user_add_locked(q, q->st[ST_USER_ADD], u, err);
    finish(q->st[ST_USER_ADD]);
    unlock(q);
    return rv;
}

/* Runs an `UPDATE ... WHERE username = ?1` whose ?2 is already bound. */
static store_status update_user_locked(sqlite_store *q, sqlite3_stmt *st, const char *username,
                                       const char *doing, char *err)
{
    if (sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC) != SQLITE_OK) return db_fail(q, err, "binding");
    if (step(q, st) != SQLITE_DONE)
        return store_fail(err, STORE_ERR, "%s of user '%.100s': %s", doing, username, sqlite3_errmsg(q->db));
    if (sqlite3_changes(q->db) == 0)
        return store_fail(err, STORE_NOT_FOUND, "user '%.100s' not found", username);
    return STORE_OK;
}

static store_status sq_user_set_password(void *impl, const char *username, const char *hash, char *err)
{
    sqlite_store *q = impl;
    sqlite3_stmt *st = q->st[ST_USER_SET_PASSWORD];
    lock(q);
    store_status rv = sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC) == SQLITE_OK
        ? update_user_locked(q, st, username, "changing the password", err)
        : db_fail(q, err, "binding");
    finish(st);
    unlock(q);
    return rv;
}

static store_status sq_user_set_enabled(void *impl, const char *username, bool enabled, char *err)
{
    sqlite_store *q = impl;
    sqlite3_stmt *st = q->st[ST_USER_SET_ENABLED];
    lock(q);
    store_status rv = sqlite3_bind_int(st, 2, enabled ? 1 : 0) == SQLITE_OK
        ? update_user_locked(q, st, username, "changing the state", err)
        : db_fail(q, err, "binding");
    finish(st);
    unlock(q);
    return rv;
}

/* ---- related resources ---- */

/* Appends src to dst[*len] (room already counted by the caller). */
static void append(char *dst, size_t *len, const char *src)
{
    size_t n = strlen(src);
    memcpy(dst + *len, src, n + 1);
    *len += n;
}

/* "SELECT id, <cols> FROM <table> WHERE id IN (SELECT value FROM
 * json_each(?1)) ORDER BY id" — every name a constant of res_types. */
static char *fetch_sql(const res_type *rt)
{
    static const char head[] = "SELECT id";
    static const char mid[] = " FROM ";
    static const char tail[] = " WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id";
    size_t cap = sizeof head + sizeof mid + sizeof tail + strlen(rt->sqlite_table);
    for (size_t i = 0; i < rt->ncols; i++) cap += strlen(rt->cols[i].column) + 2;
    char *sql = malloc(cap);
    if (!sql) return NULL;
    size_t len = 0;
    sql[0] = '\0';
    append(sql, &len, head);
    for (size_t i = 0; i < rt->ncols; i++) {
        append(sql, &len, ", ");
        append(sql, &len, rt->cols[i].column);
    }
    append(sql, &len, mid);
    append(sql, &len, rt->sqlite_table);
    append(sql, &len, tail);
    return sql;
}

/* The cached fetch statement of type t (caller holds the lock). */
static sqlite3_stmt *fetch_stmt(sqlite_store *q, res_type_id t, char *err)
{
    if (q->fetch[t]) return q->fetch[t];
    char *sql = fetch_sql(&res_types[t]);
    if (!sql) {
        store_fail(err, STORE_ERR, "out of memory");
        return NULL;
    }
    if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q->fetch[t], NULL) != SQLITE_OK) {
        store_fail(err, STORE_ERR, "preparing the %s lookup: %s", res_types[t].type, sqlite3_errmsg(q->db));
        sqlite3_finalize(q->fetch[t]);
        q->fetch[t] = NULL;
    }
    free(sql);
    return q->fetch[t];
}

#define ID_TEXT_MAX 21 /* "-9223372036854775808," */

/* The ids as one JSON array, "[1,2,3]", malloc'd; NULL when out of memory. */
static char *ids_json(const int64_t *ids, size_t n, size_t *len)
{
    if (n > (SIZE_MAX - 3) / ID_TEXT_MAX) return NULL;
    char *j = malloc(n * ID_TEXT_MAX + 3);
    if (!j) return NULL;
    size_t l = 0;
    j[l++] = '[';
    for (size_t i = 0; i < n; i++)
        l += (size_t)snprintf(j + l, ID_TEXT_MAX + 1, "%s%lld", i ? "," : "", (long long)ids[i]);
    j[l++] = ']';
    j[l] = '\0';
    *len = l;
    return j;
}

/* Rows as they are read: ids, the offset of every value in text
 * (NULL_OFF for SQL NULL), and the text; packed into one block at the end. */
#define NULL_OFF SIZE_MAX

typedef struct fetch_acc {
    size_t ncols;
    int64_t *ids;
    size_t *offs; /* nrows * ncols */
    size_t nrows, cap_rows;
    char *text;
    size_t used, cap_text;
} fetch_acc;

static void acc_free(fetch_acc *a)
{
    free(a->ids);
    free(a->offs);
    free(a->text);
}

static int acc_grow_rows(fetch_acc *a)
{
    if (a->nrows < a->cap_rows) return 0;
    size_t ncap = a->cap_rows ? a->cap_rows * 2 : 16;
    if (ncap > SIZE_MAX / sizeof(size_t) / a->ncols) return -1;
    int64_t *ids = realloc(a->ids, ncap * sizeof *ids);
    if (!ids) return -1;
    a->ids = ids;
    size_t *offs = realloc(a->offs, ncap * a->ncols * sizeof *offs);
    if (!offs) return -1;
    a->offs = offs;
    a->cap_rows = ncap;
    return 0;
}

static int acc_text(fetch_acc *a, const unsigned char *t, size_t n, size_t *off)
{
    if (n > SIZE_MAX / 2 - a->used - 1) return -1;
    if (a->used + n + 1 > a->cap_text) {
        size_t ncap = a->cap_text ? a->cap_text : 1024;
        while (ncap < a->used + n + 1) ncap *= 2;
        char *p = realloc(a->text, ncap);
        if (!p) return -1;
        a->text = p;
        a->cap_text = ncap;
    }
    if (n) memcpy(a->text + a->used, t, n);
    a->text[a->used + n] = '\0';
    *off = a->used;
    a->used += n + 1;
    return 0;
}

/* Reads the current row of st into a. */
static int acc_row(fetch_acc *a, sqlite3_stmt *st)
{
    if (acc_grow_rows(a) != 0) return -1;
    a->ids[a->nrows] = sqlite3_column_int64(st, 0);
    size_t *offs = a->offs + a->nrows * a->ncols;
    for (size_t c = 0; c < a->ncols; c++) {
        int col = (int)c + 1;
        if (sqlite3_column_type(st, col) == SQLITE_NULL) {
            offs[c] = NULL_OFF;
            continue;
        }
        const unsigned char *t = sqlite3_column_text(st, col);
        if (!t) return -1; /* out of memory converting the value */
        if (acc_text(a, t, (size_t)sqlite3_column_bytes(st, col), &offs[c]) != 0) return -1;
    }
    a->nrows++;
    return 0;
}

/* Packs a into one block: the res_row array, then the value pointers, then
 * the text. */
static int acc_pack(const fetch_acc *a, res_rows *out)
{
    if (a->nrows == 0) return 0;
    size_t rows_size = a->nrows * sizeof(res_row);
    size_t ptrs_size = a->nrows * a->ncols * sizeof(char *); /* offs of this size exists */
    if (rows_size > SIZE_MAX - ptrs_size - a->used) return -1;
    char *mem = malloc(rows_size + ptrs_size + a->used);
    if (!mem) return -1;
    res_row *rows = (res_row *)(void *)mem;
    char **ptrs = (char **)(void *)(mem + rows_size);
    char *text = mem + rows_size + ptrs_size;
    if (a->used) memcpy(text, a->text, a->used);
    for (size_t r = 0; r < a->nrows; r++) {
        rows[r].id = a->ids[r];
        rows[r].vals = ptrs + r * a->ncols;
        for (size_t c = 0; c < a->ncols; c++) {
            size_t off = a->offs[r * a->ncols + c];
            rows[r].vals[c] = off == NULL_OFF ? NULL : text + off;
        }
    }
    out->rows = rows;
    out->n = a->nrows;
    out->mem = mem;
    return 0;
}

static store_status fetch_locked(sqlite_store *q, sqlite3_stmt *st, res_type_id t, const char *json,
                                 size_t json_len, res_rows *out, char *err)
{
    const res_type *rt = &res_types[t];
    if (sqlite3_bind_text(st, 1, json, (int)json_len, SQLITE_STATIC) != SQLITE_OK)
        return db_fail(q, err, "binding");
    fetch_acc a = {.ncols = rt->ncols};
    store_status rv = STORE_OK;
    int rc;
    while ((rc = step(q, st)) == SQLITE_ROW) {
        if (acc_row(&a, st) != 0) {
            rv = store_fail(err, STORE_ERR, "out of memory reading %s", rt->type);
            break;
        }
    }
    if (rv == STORE_OK && rc != SQLITE_DONE)
        rv = store_fail(err, STORE_ERR, "reading %s: %s", rt->type, sqlite3_errmsg(q->db));
    if (rv == STORE_OK && acc_pack(&a, out) != 0)
        rv = store_fail(err, STORE_ERR, "out of memory reading %s", rt->type);
    acc_free(&a);
    return rv;
}

static store_status sq_fetch(void *impl, res_type_id t, const int64_t *ids, size_t n, res_rows *out,
                             char *err)
{
    sqlite_store *q = impl;
    size_t json_len = 0;
    char *json = ids_json(ids, n, &json_len);
    if (!json || json_len > INT32_MAX) {
        free(json);
        return store_fail(err, STORE_ERR, "out of memory (%zu ids)", n);
    }
    lock(q);
    sqlite3_stmt *st = fetch_stmt(q, t, err);
    store_status rv = st ? fetch_locked(q, st, t, json, json_len, out, err) : STORE_ERR;
    if (st) finish(st);
    unlock(q);
    free(json);
    return rv;
}

static uint64_t sq_query_count(void *impl)
{
    sqlite_store *q = impl;
    return atomic_load(&q->queries);
}

/* ---- demo data ---- */

/* Columns the service never reads, filled with dummy values on insert:
 * the demo tables look like yeti's, secrets included. */
static const struct {
    res_type_id type;
    const char *cols, *vals;
} secret_cols[] = {
    {RT_GATEWAYS, ", auth_user, auth_password, incoming_auth_password",
     ", 'gw-' || lower(hex(randomblob(6))), lower(hex(randomblob(16))),"
     " lower(hex(randomblob(16)))"},
    {RT_SMTP_CONNECTIONS, ", auth_user, auth_password",
     ", 'mailer-' || lower(hex(randomblob(6))), lower(hex(randomblob(16)))"},
};

/* "INSERT INTO <table> (id, <cols>[, secrets]) VALUES (?1, ?2, ...[, dummies])" */
static char *insert_sql(res_type_id t)
{
    const res_type *rt = &res_types[t];
    const char *scols = "", *svals = "";
    for (size_t i = 0; i < sizeof secret_cols / sizeof secret_cols[0]; i++) {
        if (secret_cols[i].type != t) continue;
        scols = secret_cols[i].cols;
        svals = secret_cols[i].vals;
    }
    size_t cap = 64 + strlen(rt->sqlite_table) + strlen(scols) + strlen(svals) + (rt->ncols + 1) * 8;
    for (size_t i = 0; i < rt->ncols; i++) cap += strlen(rt->cols[i].column) + 2;
    char *sql = malloc(cap);
    if (!sql) return NULL;
    size_t len = 0;
    sql[0] = '\0';
    append(sql, &len, "INSERT INTO ");
    append(sql, &len, rt->sqlite_table);
    append(sql, &len, " (id");
    for (size_t i = 0; i < rt->ncols; i++) {
        append(sql, &len, ", ");
        append(sql, &len, rt->cols[i].column);
    }
    append(sql, &len, scols);
    append(sql, &len, ") VALUES (?1");
    for (size_t i = 0; i < rt->ncols; i++) {
        char p[16];
        snprintf(p, sizeof p, ", ?%zu", i + 2);
        append(sql, &len, p);
    }
    append(sql, &len, svals);
    append(sql, &len, ")");
    return sql;
}

static bool integer_kind(col_kind k) { return k == COL_INT || k == COL_BOOL || k == COL_REL; }

static store_status bind_demo_row(sqlite_store *q, sqlite3_stmt *st, const store_demo_row *r, char *err)
{
    const res_type *rt = &res_types[r->type];
    if (sqlite3_bind_int64(st, 1, r->id) != SQLITE_OK) return db_fail(q, err, "binding");
    for (size_t i = 0; i < rt->ncols; i++) {
        const char *v = r->vals[i];
        int p = (int)i + 2, brc;
        if (!v) {
            brc = sqlite3_bind_null(st, p);
        } else if (integer_kind(rt->cols[i].kind)) {
            char *end = NULL;
            long long n = strtoll(v, &end, 10);
            if (!*v || *end)
                return store_fail(err, STORE_INVALID, "demo data: %s %lld: %s is not an integer", rt->type,
                                  (long long)r->id, rt->cols[i].column);
            brc = sqlite3_bind_int64(st, p, n);
        } else {
            brc = sqlite3_bind_text(st, p, v, -1, SQLITE_STATIC);
        }
        if (brc != SQLITE_OK) return db_fail(q, err, "binding");
    }
    return STORE_OK;
}

static store_status run_sql(sqlite_store *q, const char *sql, const char *doing, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) rc = step(q, st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK
                             : store_fail(err, STORE_ERR, "demo data: %s: %s", doing, sqlite3_errmsg(q->db));
}

static store_status empty_tables(sqlite_store *q, const store_demo_set *set, char *err)
{
    for (int t = 0; t < RT_COUNT; t++) {
        if (!set->replace[t]) continue;
        if (t == RT_POPS || t == RT_NODES)
            return store_fail(err, STORE_INVALID, "demo data never replaces %s", res_types[t].type);
        char sql[96];
        snprintf(sql, sizeof sql, "DELETE FROM %s", res_types[t].sqlite_table);
        store_status rv = run_sql(q, sql, "emptying the tables", err);
        if (rv != STORE_OK) return rv;
    }
    return STORE_OK;
}

static store_status insert_rows(sqlite_store *q, const store_demo_set *set, sqlite3_stmt *ins[RT_COUNT],
                                char *err)
{
    for (size_t i = 0; i < set->n; i++) {
        const store_demo_row *r = &set->rows[i];
        if ((int)r->type < 0 || r->type >= RT_COUNT || !set->replace[r->type])
            return store_fail(err, STORE_INVALID, "demo data: row %zu has a type not replaced", i);
        if (!ins[r->type]) {
            char *sql = insert_sql(r->type);
            if (!sql) return store_fail(err, STORE_ERR, "out of memory");
            int rc = sqlite3_prepare_v2(q->db, sql, -1, &ins[r->type], NULL);
            free(sql);
            if (rc != SQLITE_OK) return db_fail(q, err, "demo data: preparing");
        }
        sqlite3_stmt *st = ins[r->type];
        store_status rv = bind_demo_row(q, st, r, err);
        int rc = rv == STORE_OK ? step(q, st) : SQLITE_DONE;
        if (rv == STORE_OK && rc != SQLITE_DONE)
            rv = store_fail(err, (rc & 0xff) == SQLITE_CONSTRAINT ? STORE_CONFLICT : STORE_ERR,
                            "demo data: adding %s %lld: %s", res_types[r->type].type, (long long)r->id,
                            sqlite3_errmsg(q->db));
        finish(st);
        if (rv != STORE_OK) return rv;
    }
    return STORE_OK;
}

static store_status demo_locked(sqlite_store *q, const store_demo_set *set, char *err)
{
    /* foreign keys checked at COMMIT: rows and deletions in any order */
    if (exec(q, "PRAGMA defer_foreign_keys = ON") != 0)
        return db_fail(q, err, "demo data: deferring foreign keys");
    store_status rv = empty_tables(q, set, err);
    if (rv != STORE_OK) return rv;
    sqlite3_stmt *ins[RT_COUNT] = {0};
    rv = insert_rows(q, set, ins, err);
    for (int t = 0; t < RT_COUNT; t++) sqlite3_finalize(ins[t]);
    if (rv != STORE_OK) return rv;
    int rc = sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL);
    atomic_fetch_add(&q->queries, 1);
    if (rc == SQLITE_OK) return STORE_OK;
    return store_fail(err, (rc & 0xff) == SQLITE_CONSTRAINT ? STORE_CONFLICT : STORE_ERR, "demo data: %s",
                      sqlite3_errmsg(q->db));
}

static store_status sq_demo_replace(void *impl, const store_demo_set *set, char *err)
{
    sqlite_store *q = impl;
    lock(q);
    store_status rv = exec(q, "BEGIN IMMEDIATE") == 0 ? demo_locked(q, set, err)
                                                      : db_fail(q, err, "demo data: starting a transaction");
    if (rv != STORE_OK && !sqlite3_get_autocommit(q->db)) exec(q, "ROLLBACK");
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
    .user_add = sq_user_add,
    .user_get = sq_user_get,
    .user_find = sq_user_find,
    .user_set_password = sq_user_set_password,
    .user_set_enabled = sq_user_set_enabled,
    .user_list = sq_user_list,
    .fetch = sq_fetch,
    .query_count = sq_query_count,
    .demo_replace = sq_demo_replace,
};
