/* dialect_sqlite: the SQLite dialect of the store (dialect.h), for any
 * location that is not a URI (the default).
 *
 * Owns the on-disk schema: yeti's table and column names with the schema
 * prefix mapped to an underscore (sys.nodes -> sys_nodes), created on first
 * use and upgraded by the ordered `migrations` below, tracked in PRAGMA
 * user_version. A file from a newer build (user_version above what this
 * binary knows) is refused untouched.
 *
 * Types: SQLite has no arrays, so list columns (roles, allowed_ips,
 * customers_auth.ip) are TEXT holding the canonical comma-separated text;
 * decimals and times are TEXT as written ("0.11", ISO), booleans 0/1. Every
 * parameter is bound as text and the column's affinity does the rest: "5"
 * bound to an INTEGER column is stored, and compared, as the integer 5. An
 * id list is one JSON array parameter: `id IN (SELECT value FROM
 * json_each(?1))`.
 *
 * One connection per handle, serialised by a mutex held from acquire to
 * release (the server calls the store from several threads). A statement
 * is prepared on first use and kept, found again by its text, so each is
 * compiled once (past CACHE_MAX, more than the store has, one is prepared
 * for each run). Constraint failures are told apart by SQLite's extended
 * result codes (primary key, unique, foreign key, other). */
#include <assert.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/dialect.h"

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
    /* 3: the related resources of a call (resources.h). Decimals
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
    /* 4: the active-call history (yeti's stats.*; docs/CONTRACT.md §10):
     * created_at ISO TEXT as every time here; the slots written, each once
     * (its primary key), and the indexes charts and retention read by */
    "CREATE TABLE stats_active_calls ("
    "  id INTEGER PRIMARY KEY,"
    "  node_id INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  created_at TEXT);"
    "CREATE TABLE stats_active_call_accounts ("
    "  id INTEGER PRIMARY KEY,"
    "  account_id INTEGER NOT NULL,"
    "  originated_count INTEGER NOT NULL,"
    "  terminated_count INTEGER NOT NULL,"
    "  created_at TEXT);"
    "CREATE TABLE stats_active_call_orig_gateways ("
    "  id INTEGER PRIMARY KEY,"
    "  gateway_id INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  created_at TEXT);"
    "CREATE TABLE stats_active_call_term_gateways ("
    "  id INTEGER PRIMARY KEY,"
    "  gateway_id INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  created_at TEXT);"
    "CREATE TABLE stats_active_call_slots ("
    "  created_at TEXT PRIMARY KEY,"
    "  writer TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX stats_active_calls_node_id_created_at_idx ON stats_active_calls(node_id, created_at);"
    "CREATE INDEX stats_active_calls_created_at_idx ON stats_active_calls(created_at);"
    "CREATE INDEX stats_active_call_accounts_account_id_created_at_idx"
    "  ON stats_active_call_accounts(account_id, created_at);"
    "CREATE INDEX stats_active_call_accounts_created_at_idx ON stats_active_call_accounts(created_at);"
    "CREATE INDEX stats_active_call_orig_gateways_gateway_id_created_at_idx"
    "  ON stats_active_call_orig_gateways(gateway_id, created_at);"
    "CREATE INDEX stats_active_call_orig_gateways_created_at_idx ON "
    "stats_active_call_orig_gateways(created_at);"
    "CREATE INDEX stats_active_call_term_gateways_gateway_id_created_at_idx"
    "  ON stats_active_call_term_gateways(gateway_id, created_at);"
    "CREATE INDEX stats_active_call_term_gateways_created_at_idx ON "
    "stats_active_call_term_gateways(created_at);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

#define CACHE_MAX 96 /* statements kept prepared: the store has 50, a demo load 24 more */

typedef struct lite {
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *cache[CACHE_MAX]; /* prepared statements, found by their text */
    size_t ncache;
} lite;

/* ---- open: the file, its version, its migrations ---- */

/* Runs a pragma that answers one integer. */
static int pragma_int(lite *l, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(l->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Runs constant SQL (one statement or several), no parameters. */
static int script(lite *l, const char *sql)
{
    return sqlite3_exec(l->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int open_fail(lite *l, const char *path, char *err)
{
    const char *why = l->db ? sqlite3_errmsg(l->db) : "out of memory";
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

static int open_db(lite *l, const char *path, char *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &l->db, flags, NULL) != SQLITE_OK) return open_fail(l, path, err);
    sqlite3_extended_result_codes(l->db, 1);
    sqlite3_busy_timeout(l->db, BUSY_TIMEOUT_MS);
    /* the first read of the file: a non-database fails here, before any write */
    int v = 0;
    if (pragma_int(l, "PRAGMA user_version", &v) != 0) return open_fail(l, path, err);
    if (check_version(v, path, err) != 0) return -1;
    if (script(l, "PRAGMA journal_mode = WAL") != 0) return open_fail(l, path, err);
    int fk = 0;
    if (script(l, "PRAGMA foreign_keys = ON") != 0 || pragma_int(l, "PRAGMA foreign_keys", &fk) != 0)
        return open_fail(l, path, err);
    if (fk != 1) {
        store_fail(err, STORE_ERR, "libsqlite3 was built without foreign key support");
        return -1;
    }
    return 0;
}

static int apply_migrations(lite *l, const char *path, char *err)
{
    int v = 0;
    /* read again under the write lock: another process may have migrated */
    if (pragma_int(l, "PRAGMA user_version", &v) != 0) return open_fail(l, path, err);
    if (check_version(v, path, err) != 0) return -1;
    for (int i = v; i < SCHEMA_VERSION; i++) {
        if (script(l, migrations[i]) != 0) {
            store_fail(err, STORE_ERR, "database '%.120s': migration %d failed: %s", path, i + 1,
                       sqlite3_errmsg(l->db));
            return -1;
        }
    }
    /* PRAGMA takes no bound parameters; the number is this file's constant */
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SCHEMA_VERSION);
    return script(l, sql) == 0 ? 0 : open_fail(l, path, err);
}

static int migrate(lite *l, const char *path, char *err)
{
    int v = 0;
    if (pragma_int(l, "PRAGMA user_version", &v) != 0) return open_fail(l, path, err);
    if (v == SCHEMA_VERSION) return 0;
    if (script(l, "BEGIN IMMEDIATE") != 0) return open_fail(l, path, err);
    if (apply_migrations(l, path, err) != 0) {
        script(l, "ROLLBACK");
        return -1;
    }
    return script(l, "COMMIT") == 0 ? 0 : open_fail(l, path, err);
}

static void lite_close(void *db)
{
    lite *l = db;
    if (!l) return;
    for (size_t i = 0; i < l->ncache; i++) sqlite3_finalize(l->cache[i]);
    sqlite3_close(l->db);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static void *lite_open(const char *path, char err[STORE_ERR_LEN])
{
    assert(path);
    if (!sqlite3_threadsafe()) {
        store_fail(err, STORE_ERR, "libsqlite3 was built without thread support");
        return NULL;
    }
    lite *l = calloc(1, sizeof *l);
    if (!l) {
        store_fail(err, STORE_ERR, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    if (open_db(l, path, err) != 0 || migrate(l, path, err) != 0) {
        lite_close(l);
        return NULL;
    }
    return l;
}

/* ---- statements ---- */

static store_status lite_acquire(sql_conn *c, sql_error *e)
{
    lite *l = c->db;
    assert(l);
    pthread_mutex_lock(&l->mu);
    c->c = l->db;
    return STORE_OK;
}

static void lite_release(sql_conn *c)
{
    lite *l = c->db;
    assert(c->c == l->db);
    c->c = NULL;
    pthread_mutex_unlock(&l->mu);
}

static bool lite_in_transaction(const sql_conn *c)
{
    const lite *l = c->db;
    return !sqlite3_get_autocommit(l->db);
}

/* A failed prepare, bind or step (rc) as the store's error class. */
static store_status lite_fail(const lite *l, int rc, sql_error *e)
{
    snprintf(e->msg, sizeof e->msg, "%s", sqlite3_errmsg(l->db));
    if ((rc & 0xff) != SQLITE_CONSTRAINT) return STORE_ERR;
    e->conflict = rc == SQLITE_CONSTRAINT_PRIMARYKEY ? SQLC_PRIMARY
        : rc == SQLITE_CONSTRAINT_UNIQUE             ? SQLC_UNIQUE
        : rc == SQLITE_CONSTRAINT_FOREIGNKEY         ? SQLC_FOREIGN
                                                     : SQLC_OTHER;
    return STORE_CONFLICT;
}

/* The prepared statement of sql: from the cache, or prepared now and kept
 * there while it has room (*kept; else the caller finalizes it). */
static int statement(lite *l, const char *sql, sqlite3_stmt **st, bool *kept)
{
    for (size_t i = 0; i < l->ncache; i++) {
        if (strcmp(sqlite3_sql(l->cache[i]), sql) == 0) {
            *st = l->cache[i];
            *kept = true;
            return SQLITE_OK;
        }
    }
    *kept = l->ncache < CACHE_MAX;
    int rc = sqlite3_prepare_v3(l->db, sql, -1, *kept ? SQLITE_PREPARE_PERSISTENT : 0, st, NULL);
    if (rc != SQLITE_OK) return rc;
    assert(*st); /* the store never sends an empty statement */
    if (*kept) l->cache[l->ncache++] = *st;
    return SQLITE_OK;
}

/* Hands the current row of st to q->row: 0, or -1 when the callback
 * stopped the statement or a value could not be read (e->msg set). */
static int deliver(sqlite3_stmt *st, const sql_query *q, sql_error *e)
{
    int n = sqlite3_column_count(st);
    const char *vals[SQL_COLS_MAX];
    size_t lens[SQL_COLS_MAX];
    if (n > SQL_COLS_MAX) {
        snprintf(e->msg, sizeof e->msg, "a row of %d columns (at most %d)", n, SQL_COLS_MAX);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        vals[i] = NULL;
        lens[i] = 0;
        if (sqlite3_column_type(st, i) == SQLITE_NULL) continue;
        vals[i] = (const char *)sqlite3_column_text(st, i);
        if (!vals[i]) { /* out of memory converting the value */
            snprintf(e->msg, sizeof e->msg, "out of memory");
            return -1;
        }
        lens[i] = (size_t)sqlite3_column_bytes(st, i);
    }
    return q->row(q->ctx, (size_t)n, vals, lens);
}

static store_status lite_exec(sql_conn *c, const sql_query *q, uint64_t *changes, sql_error *e)
{
    lite *l = c->db;
    assert(c->c == l->db && q && q->sql && (q->nparams == 0 || q->params));
    sqlite3_stmt *st = NULL;
    bool kept = false;
    int rc = statement(l, q->sql, &st, &kept);
    if (rc != SQLITE_OK) return lite_fail(l, rc, e);
    for (size_t i = 0; i < q->nparams && rc == SQLITE_OK; i++)
        rc = q->params[i] ? sqlite3_bind_text(st, (int)i + 1, q->params[i], -1, SQLITE_STATIC)
                          : sqlite3_bind_null(st, (int)i + 1);
    bool stopped = false;
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (q->row && deliver(st, q, e) != 0) {
                stopped = true;
                break;
            }
        }
    }
    store_status res = STORE_OK;
    if (stopped)
        res = STORE_ERR;
    else if (rc != SQLITE_DONE)
        res = lite_fail(l, rc, e);
    else if (changes)
        *changes = (uint64_t)sqlite3_changes64(l->db);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (!kept) sqlite3_finalize(st);
    return res;
}

/* ---- rendering ---- */

static void lite_param(buf *b, size_t i, sql_type t) { buf_printf(b, "?%zu", i); }

static void lite_column(buf *b, const char *column, sql_type t) { buf_puts(b, column); }

static void lite_id_in(buf *b, const char *column, size_t i)
{
    buf_printf(b, "%s IN (SELECT value FROM json_each(?%zu))", column, i);
}

static void lite_epoch(buf *b, const char *column)
{
    buf_printf(b, "CAST(strftime('%%s', %s) AS INTEGER)", column);
}

const sql_dialect sql_sqlite = {
    .name = "sqlite",
    .schema_sep = '_',
    .list_open = '[',
    .list_close = ']',
    .begin = "BEGIN IMMEDIATE",
    /* foreign keys checked at COMMIT: a replace deletes and inserts in any order */
    .defer_fks = "PRAGMA defer_foreign_keys = ON",
    .truncate = false,
    .schema = NULL, /* created and migrated at open */
    .random_hex = "lower(hex(randomblob(16)))",
    .history_schema = NULL, /* migration 4, at open */
    .try_lock = NULL,       /* BEGIN IMMEDIATE and the slot check keep samples single */
    .param = lite_param,
    .column = lite_column,
    .id_in = lite_id_in,
    .epoch = lite_epoch,
    .open = lite_open,
    .close = lite_close,
    .acquire = lite_acquire,
    .release = lite_release,
    .in_transaction = lite_in_transaction,
    .exec = lite_exec,
    .own = NULL,
    .own_close = NULL,
};
