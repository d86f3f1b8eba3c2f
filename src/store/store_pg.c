/* store_pg: the PostgreSQL backend of the store (locations starting with
 * postgresql:// or postgres://), on libpq.
 *
 * Uses yeti's own schemas, tables and columns (docs/CONTRACT.md §8): sys.pops,
 * sys.nodes, gui.admin_users (roles varchar[], allowed_ips inet[]),
 * public.contractors, billing.accounts, class4.*, sys.countries,
 * sys.networks, sys.smtp_connections — the names come from res_types
 * (resources.h) — so it can run against an existing yeti database, also
 * read-only. It never creates anything at open; `activecalls db init`
 * (store_schema_init) creates the subset the service uses on an empty
 * database (the DDL below, CREATE ... IF NOT EXISTS).
 *
 * Values cross in the store's text forms (store.h, resources.h): arrays
 * become the canonical comma-separated text and back (array_to_string /
 * string_to_array in the SQL), booleans "1"/"0", times
 * "YYYY-MM-DDTHH:MM:SS.000Z" (to_char in UTC), numerics as PostgreSQL
 * prints them (the scale they were written with). allowed_ips host
 * addresses come back without "/32" or "/128" (PostgreSQL's inet output,
 * as the canonical text writes an address given without a prefix);
 * customers_auth.ip keeps every prefix (inet -> text). Every
 * statement is parameterized (PQexecParams); no input is ever put into SQL
 * text. store_fetch is one `WHERE id = ANY($1::bigint[])` query.
 *
 * Connections: a small pool (POOL_MAX, mutex + condvar), made on demand.
 * Every connection gets connect_timeout=2, `-c statement_timeout=2000` and
 * tcp_user_timeout=5000 (a server that vanished without closing the TCP
 * connection) by default; parameters in the URI override them (e.g.
 * `?connect_timeout=5&options=-c%20statement_timeout%3D5000`). A
 * connection found broken after a statement is dropped, and the next call
 * makes a new one, so an outage turns into fast STORE_ERR results (the API
 * answers 503) and service resumes by itself when the database is back;
 * a read on a stale connection (server restarted) is retried once on a
 * fresh one. Messages never contain the URI (it may hold a password).
 *
 * Errors by SQLSTATE: 23505 / 23503 -> STORE_CONFLICT (naming the id, name
 * or missing pop), 42501 -> STORE_ERR naming the missing privilege (a
 * read-only role), 42P01 -> STORE_ERR suggesting `activecalls db init`. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/resources.h"
#include "store/store_backend.h"

#define POOL_MAX 4
#define ERRMSG_MAX 160

/* The subset of yeti's schema the service uses (docs/CONTRACT.md §8), with yeti's
 * native types. Foreign keys as yeti has them where both tables are here. */
static const char schema_ddl[] = "CREATE SCHEMA IF NOT EXISTS sys;"
                                 "CREATE SCHEMA IF NOT EXISTS gui;"
                                 "CREATE SCHEMA IF NOT EXISTS class4;"
                                 "CREATE SCHEMA IF NOT EXISTS billing;"
                                 "CREATE TABLE IF NOT EXISTS sys.pops ("
                                 "  id bigint PRIMARY KEY,"
                                 "  name varchar NOT NULL UNIQUE);"
                                 "CREATE TABLE IF NOT EXISTS sys.nodes ("
                                 "  id bigint PRIMARY KEY,"
                                 "  name varchar NOT NULL UNIQUE,"
                                 "  rpc_endpoint varchar NOT NULL,"
                                 "  pop_id bigint NOT NULL REFERENCES sys.pops(id));"
                                 "CREATE INDEX IF NOT EXISTS nodes_pop_id_idx ON sys.nodes(pop_id);"
                                 "CREATE TABLE IF NOT EXISTS gui.admin_users ("
                                 "  id bigserial PRIMARY KEY,"
                                 "  username varchar NOT NULL UNIQUE,"
                                 "  encrypted_password varchar NOT NULL DEFAULT '',"
                                 "  enabled boolean NOT NULL DEFAULT true,"
                                 "  roles varchar[] NOT NULL DEFAULT '{}',"
                                 "  allowed_ips inet[]);"
                                 "CREATE TABLE IF NOT EXISTS sys.smtp_connections ("
                                 "  id bigserial PRIMARY KEY,"
                                 "  name varchar NOT NULL UNIQUE,"
                                 "  host varchar NOT NULL,"
                                 "  port integer NOT NULL DEFAULT 25,"
                                 "  from_address varchar NOT NULL,"
                                 "  auth_user varchar,"
                                 "  auth_password varchar,"
                                 "  global boolean NOT NULL DEFAULT true);"
                                 "CREATE TABLE IF NOT EXISTS public.contractors ("
                                 "  id bigserial PRIMARY KEY,"
                                 "  name varchar NOT NULL UNIQUE,"
                                 "  enabled boolean NOT NULL DEFAULT true,"
                                 "  vendor boolean NOT NULL DEFAULT false,"
                                 "  customer boolean NOT NULL DEFAULT false,"
                                 "  description varchar,"
                                 "  address varchar,"
                                 "  phones varchar,"
                                 "  smtp_connection_id bigint REFERENCES sys.smtp_connections(id),"
                                 "  external_id bigint UNIQUE);"
                                 "CREATE TABLE IF NOT EXISTS billing.accounts ("
                                 "  id bigserial PRIMARY KEY,"
                                 "  contractor_id bigint NOT NULL REFERENCES public.contractors(id),"
                                 "  name varchar NOT NULL UNIQUE,"
                                 "  balance numeric NOT NULL DEFAULT 0,"
                                 "  min_balance numeric NOT NULL DEFAULT 0,"
                                 "  max_balance numeric NOT NULL DEFAULT 0,"
                                 "  vat numeric NOT NULL DEFAULT 0,"
                                 "  origination_capacity smallint,"
                                 "  termination_capacity smallint,"
                                 "  total_capacity smallint,"
                                 "  external_id bigint UNIQUE,"
                                 "  uuid uuid NOT NULL UNIQUE,"
                                 "  timezone varchar NOT NULL DEFAULT 'UTC');"
                                 "CREATE TABLE IF NOT EXISTS class4.rateplans ("
                                 "  id bigserial PRIMARY KEY,"
                                 "  name varchar NOT NULL UNIQUE,"
                                 "  profit_control_mode_id smallint NOT NULL DEFAULT 1,"
                                 "  external_id bigint UNIQUE);"
                                 "CREATE TABLE IF NOT EXISTS class4.routing_groups ("
                                 "  id bigserial PRIMARY KEY,"
                                 "  name varchar NOT NULL UNIQUE);"
                                 "CREATE TABLE IF NOT EXISTS class4.routing_plans ("
                                 "  id bigserial PRIMARY KEY,"
                                 "  name varchar NOT NULL UNIQUE,"
                                 "  sorting_id bigint NOT NULL DEFAULT 1,"
                                 "  rate_delta_max numeric NOT NULL DEFAULT 0,"
                                 "  use_lnp boolean NOT NULL DEFAULT false,"
                                 "  max_rerouting_attempts smallint NOT NULL DEFAULT 9,"
                                 "  external_id bigint UNIQUE);"
                                 "CREATE TABLE IF NOT EXISTS class4.gateways ("
                                 "  id bigserial PRIMARY KEY,"
                                 "  name varchar NOT NULL UNIQUE,"
                                 "  enabled boolean NOT NULL DEFAULT true,"
                                 "  host varchar,"
                                 "  port integer,"
                                 "  contractor_id bigint NOT NULL REFERENCES public.contractors(id),"
                                 "  pop_id bigint,"
                                 "  allow_origination boolean NOT NULL DEFAULT true,"
                                 "  allow_termination boolean NOT NULL DEFAULT true,"
                                 "  origination_capacity smallint,"
                                 "  termination_capacity smallint,"
                                 "  external_id bigint UNIQUE,"
                                 "  auth_user varchar,"
                                 "  auth_password varchar,"
                                 "  incoming_auth_password varchar);"
                                 "CREATE TABLE IF NOT EXISTS class4.customers_auth ("
                                 "  id bigserial PRIMARY KEY,"
                                 "  name varchar NOT NULL UNIQUE,"
                                 "  enabled boolean NOT NULL DEFAULT true,"
                                 "  customer_id bigint NOT NULL REFERENCES public.contractors(id),"
                                 "  account_id bigint NOT NULL REFERENCES billing.accounts(id),"
                                 "  rateplan_id bigint NOT NULL REFERENCES class4.rateplans(id),"
                                 "  routing_plan_id bigint NOT NULL REFERENCES class4.routing_plans(id),"
                                 "  gateway_id bigint NOT NULL REFERENCES class4.gateways(id),"
                                 "  pop_id bigint,"
                                 "  ip inet[] NOT NULL DEFAULT '{}',"
                                 "  reject_calls boolean NOT NULL DEFAULT false,"
                                 "  capacity smallint,"
                                 "  cps_limit numeric,"
                                 "  external_id bigint UNIQUE);"
                                 "CREATE TABLE IF NOT EXISTS class4.destinations ("
                                 "  id bigserial PRIMARY KEY,"
                                 "  prefix varchar NOT NULL DEFAULT '',"
                                 "  enabled boolean NOT NULL DEFAULT true,"
                                 "  initial_rate numeric NOT NULL,"
                                 "  next_rate numeric NOT NULL,"
                                 "  initial_interval integer NOT NULL DEFAULT 1,"
                                 "  next_interval integer NOT NULL DEFAULT 1,"
                                 "  connect_fee numeric NOT NULL DEFAULT 0,"
                                 "  rate_policy_id smallint NOT NULL DEFAULT 1,"
                                 "  reject_calls boolean NOT NULL DEFAULT false,"
                                 "  valid_from timestamptz,"
                                 "  valid_till timestamptz,"
                                 "  external_id bigint);"
                                 "CREATE TABLE IF NOT EXISTS class4.dialpeers ("
                                 "  id bigserial PRIMARY KEY,"
                                 "  prefix varchar NOT NULL DEFAULT '',"
                                 "  enabled boolean NOT NULL DEFAULT true,"
                                 "  gateway_id bigint REFERENCES class4.gateways(id),"
                                 "  routing_group_id bigint NOT NULL REFERENCES class4.routing_groups(id),"
                                 "  vendor_id bigint NOT NULL REFERENCES public.contractors(id),"
                                 "  account_id bigint NOT NULL REFERENCES billing.accounts(id),"
                                 "  priority integer NOT NULL DEFAULT 100,"
                                 "  capacity smallint,"
                                 "  initial_rate numeric NOT NULL,"
                                 "  next_rate numeric NOT NULL,"
                                 "  initial_interval integer NOT NULL DEFAULT 1,"
                                 "  next_interval integer NOT NULL DEFAULT 1,"
                                 "  connect_fee numeric NOT NULL DEFAULT 0,"
                                 "  valid_from timestamptz,"
                                 "  valid_till timestamptz,"
                                 "  external_id bigint);"
                                 "CREATE TABLE IF NOT EXISTS sys.countries ("
                                 "  id bigserial PRIMARY KEY,"
                                 "  name varchar NOT NULL UNIQUE,"
                                 "  iso2 varchar(2) NOT NULL UNIQUE);"
                                 "CREATE TABLE IF NOT EXISTS sys.networks ("
                                 "  id bigserial PRIMARY KEY,"
                                 "  name varchar NOT NULL UNIQUE);";

/* Admin users: arrays read as the canonical comma-separated text. */
#define USER_COLS                                                   \
    "id, username, coalesce(encrypted_password, ''), enabled::int," \
    " coalesce(array_to_string(roles, ','), ''),"                   \
    " coalesce(array_to_string(allowed_ips, ','), '')"

static const char sql_pop_add[] = "INSERT INTO sys.pops (id, name) VALUES ($1::bigint, $2)";
static const char sql_pop_remove[] = "DELETE FROM sys.pops WHERE id = $1::bigint";
static const char sql_pop_list[] = "SELECT id, name FROM sys.pops ORDER BY id";
static const char sql_pop_get[] = "SELECT id, name FROM sys.pops WHERE id = $1::bigint";
static const char sql_pop_users[] = "SELECT count(*) FROM sys.nodes WHERE pop_id = $1::bigint";
static const char sql_node_add[] = "INSERT INTO sys.nodes (id, name, rpc_endpoint, pop_id)"
                                   " VALUES ($1::bigint, $2, $3, $4::bigint)";
static const char sql_node_remove[] = "DELETE FROM sys.nodes WHERE id = $1::bigint";
static const char sql_node_list[] = "SELECT id, name, rpc_endpoint, pop_id FROM sys.nodes ORDER BY id";
static const char sql_node_get[] =
    "SELECT id, name, rpc_endpoint, pop_id FROM sys.nodes WHERE id = $1::bigint";
/* id NULL: max(id) + 1, as the SQLite backend assigns */
static const char sql_user_add[] =
    "INSERT INTO gui.admin_users (id, username, encrypted_password, enabled, roles, allowed_ips)"
    " VALUES (coalesce($1::bigint, (SELECT coalesce(max(id), 0) + 1 FROM gui.admin_users)),"
    " $2, $3, $4::boolean, string_to_array($5, ',')::varchar[],"
    " string_to_array($6, ',')::inet[]) RETURNING id";
static const char sql_user_get[] = "SELECT " USER_COLS " FROM gui.admin_users WHERE id = $1::bigint";
static const char sql_user_find[] = "SELECT " USER_COLS " FROM gui.admin_users WHERE username = $1";
static const char sql_user_set_password[] =
    "UPDATE gui.admin_users SET encrypted_password = $2 WHERE username = $1";
static const char sql_user_set_enabled[] =
    "UPDATE gui.admin_users SET enabled = $2::boolean WHERE username = $1";
static const char sql_user_list[] =
    "SELECT id, username, '', enabled::int, coalesce(array_to_string(roles, ','), ''),"
    " coalesce(array_to_string(allowed_ips, ','), '') FROM gui.admin_users ORDER BY id";

typedef struct pg_store {
    char *uri;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    PGconn *idle[POOL_MAX]; /* connections not in use */
    int nidle;
    int nopen; /* connections in existence (idle or in use) */
    _Atomic uint64_t queries;
} pg_store;

/* ---- connections ---- */

/* Copies libpq's message into out without its trailing newline(s). */
static void clean_msg(const char *m, char *out, size_t cap)
{
    snprintf(out, cap, "%s", m ? m : "unknown error");
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ')) out[--n] = '\0';
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\t') *p = ' ';
}

/* NOTICEs ("already exists, skipping") are not for the user. */
static void quiet_notice(void *arg, const char *message) {}

static PGconn *connect_new(const pg_store *q, char *err)
{
    /* defaults first: the URI (expanded from dbname) overrides them */
    const char *const keys[] = {
        "connect_timeout", "options", "application_name", "keepalives_idle", "tcp_user_timeout",
        "dbname",          NULL};
    const char *const vals[] = {"2", "-c statement_timeout=2000", "activecalls", "10", "5000", q->uri, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c && PQstatus(c) == CONNECTION_OK) {
        PQsetNoticeProcessor(c, quiet_notice, NULL);
        return c;
    }
    char m[ERRMSG_MAX];
    clean_msg(c ? PQerrorMessage(c) : "out of memory", m, sizeof m);
    store_fail(err, STORE_ERR, "database unavailable: %s", m);
    PQfinish(c);
    return NULL;
}

/* A connection from the pool (waiting while POOL_MAX are in use), or a new
 * one; NULL with err set when the database cannot be reached. */
static PGconn *acquire(pg_store *q, char *err)
{
    pthread_mutex_lock(&q->mu);
    while (q->nidle == 0 && q->nopen >= POOL_MAX) pthread_cond_wait(&q->cv, &q->mu);
    if (q->nidle > 0) {
        PGconn *c = q->idle[--q->nidle];
        pthread_mutex_unlock(&q->mu);
        return c;
    }
    q->nopen++;
    pthread_mutex_unlock(&q->mu);
    PGconn *c = connect_new(q, err);
    if (!c) {
        pthread_mutex_lock(&q->mu);
        q->nopen--;
        pthread_cond_signal(&q->cv);
        pthread_mutex_unlock(&q->mu);
    }
    return c;
}

/* Returns c to the pool; a broken connection (or one left inside a
 * transaction) is closed instead, to be remade on the next call. */
static void release(pg_store *q, PGconn *c)
{
    bool keep = PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE;
    if (!keep) PQfinish(c);
    pthread_mutex_lock(&q->mu);
    if (keep)
        q->idle[q->nidle++] = c;
    else
        q->nopen--;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* ---- statements ---- */

/* Runs one parameterized statement (text parameters, text results). */
static PGresult *exec_params(pg_store *q, PGconn *c, const char *sql, int n, const char *const *vals)
{
    atomic_fetch_add(&q->queries, 1);
    return PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
}

static bool res_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static const char *sqlstate(const PGresult *r)
{
    const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

/* The failure of r (or of c when r is NULL) as a store status and message;
 * `doing` says what was attempted ("adding node 5"), `table` and `priv`
 * name what a permission error lacks. */
static store_status fail_res(PGconn *c, const PGresult *r, const char *doing, const char *table,
                             const char *priv, char *err)
{
    const char *ss = sqlstate(r);
    char m[ERRMSG_MAX];
    const char *pm = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    clean_msg(pm ? pm : PQerrorMessage(c), m, sizeof m);
    if (strcmp(ss, "42501") == 0)
        return store_fail(err, STORE_ERR,
                          "%s: permission denied: the database role lacks the %s privilege on "
                          "%s (read-only database?)",
                          doing, priv ? priv : "needed", table ? table : "the table");
    if (strcmp(ss, "42P01") == 0 || strcmp(ss, "3F000") == 0)
        return store_fail(err, STORE_ERR, "%s: %s (run `activecalls db init` on an empty database)", doing,
                          m);
    if (strcmp(ss, "57014") == 0)
        return store_fail(err, STORE_ERR, "%s: the database did not answer in time (%s)", doing, m);
    if (strncmp(ss, "23", 2) == 0) return store_fail(err, STORE_CONFLICT, "%s: %s", doing, m);
    if (PQstatus(c) != CONNECTION_OK)
        return store_fail(err, STORE_ERR, "%s: database unavailable: %s", doing, m);
    return store_fail(err, STORE_ERR, "%s: %s", doing, m);
}

/* One statement on a pooled connection. On success *out holds the result
 * (caller PQclear()s it). A read whose connection turns out broken (the
 * server restarted since it was made) is tried once more on a new one. */
static store_status run(pg_store *q, const char *sql, int n, const char *const *vals, bool read,
                        const char *doing, const char *table, const char *priv, PGresult **out, char *err)
{
    *out = NULL;
    for (int attempt = 0;; attempt++) {
        PGconn *c = acquire(q, err);
        if (!c) return STORE_ERR;
        PGresult *r = exec_params(q, c, sql, n, vals);
        if (r && res_ok(r)) {
            release(q, c);
            *out = r;
            return STORE_OK;
        }
        bool broken = PQstatus(c) != CONNECTION_OK;
        if (broken && read && attempt == 0) {
            PQclear(r);
            release(q, c);
            continue;
        }
        store_status st = fail_res(c, r, doing, table, priv, err);
        PQclear(r);
        release(q, c);
        return st;
    }
}

/* ---- open, close, schema ---- */

static void pg_close(void *impl)
{
    pg_store *q = impl;
    if (!q) return;
    for (int i = 0; i < q->nidle; i++) PQfinish(q->idle[i]);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q->uri);
    free(q);
}

static void *pg_open(const char *location, char err[STORE_ERR_LEN])
{
    if (!PQisthreadsafe()) {
        store_fail(err, STORE_ERR, "libpq was built without thread support");
        return NULL;
    }
    pg_store *q = calloc(1, sizeof *q);
    if (!q || !(q->uri = strdup(location))) {
        free(q);
        store_fail(err, STORE_ERR, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    /* one connection now: a bad URI, password or host is reported at once */
    PGconn *c = acquire(q, err);
    if (!c) {
        pg_close(q);
        return NULL;
    }
    release(q, c);
    return q;
}

static store_status pg_schema_init(void *impl, char *err)
{
    pg_store *q = impl;
    PGconn *c = acquire(q, err);
    if (!c) return STORE_ERR;
    atomic_fetch_add(&q->queries, 1);
    PGresult *r = PQexec(c, "BEGIN");
    store_status st = STORE_OK;
    if (!res_ok(r)) st = fail_res(c, r, "db init", NULL, NULL, err);
    PQclear(r);
    if (st == STORE_OK) {
        atomic_fetch_add(&q->queries, 1);
        r = PQexec(c, schema_ddl); /* constant text, no input */
        if (!res_ok(r)) st = fail_res(c, r, "db init: creating the schema", "the database", "CREATE", err);
        PQclear(r);
    }
    atomic_fetch_add(&q->queries, 1);
    r = PQexec(c, st == STORE_OK ? "COMMIT" : "ROLLBACK");
    if (st == STORE_OK && !res_ok(r)) st = fail_res(c, r, "db init", NULL, NULL, err);
    PQclear(r);
    release(q, c);
    return st;
}

/* ---- values ---- */

static void int_text(int64_t v, char buf[24]) { snprintf(buf, 24, "%lld", (long long)v); }

static int64_t col_i64(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int col_text(const PGresult *r, int row, int col, char *dst, size_t cap)
{
    size_t n = (size_t)PQgetlength(r, row, col);
    if (n >= cap) return -1;
    memcpy(dst, PQgetvalue(r, row, col), n);
    dst[n] = '\0';
    return 0;
}

static int read_pop(const PGresult *r, int row, void *elem)
{
    store_pop *p = elem;
    p->id = col_i64(r, row, 0);
    return col_text(r, row, 1, p->name, sizeof p->name);
}

static int read_node(const PGresult *r, int row, void *elem)
{
    store_node *n = elem;
    n->id = col_i64(r, row, 0);
    n->pop_id = col_i64(r, row, 3);
    if (col_text(r, row, 1, n->name, sizeof n->name) != 0) return -1;
    return col_text(r, row, 2, n->rpc_endpoint, sizeof n->rpc_endpoint);
}

static int read_user(const PGresult *r, int row, void *elem)
{
    store_admin_user *u = elem;
    u->id = col_i64(r, row, 0);
    u->enabled = col_i64(r, row, 3) != 0;
    if (col_text(r, row, 1, u->username, sizeof u->username) != 0 ||
        col_text(r, row, 2, u->encrypted_password, sizeof u->encrypted_password) != 0 ||
        col_text(r, row, 4, u->roles, sizeof u->roles) != 0)
        return -1;
    return col_text(r, row, 5, u->allowed_ips, sizeof u->allowed_ips);
}

typedef struct row_kind {
    const char *what;
    const char *table;
    size_t size;
    int (*read)(const PGresult *r, int row, void *elem);
} row_kind;

static const row_kind pop_rows = {"pop", "sys.pops", sizeof(store_pop), read_pop};
static const row_kind node_rows = {"node", "sys.nodes", sizeof(store_node), read_node};
static const row_kind user_rows = {"user", "gui.admin_users", sizeof(store_admin_user), read_user};

static store_status list(pg_store *q, const char *sql, const row_kind *k, void **out, size_t *n, char *err)
{
    char doing[64];
    snprintf(doing, sizeof doing, "listing %ss", k->what);
    PGresult *r = NULL;
    store_status st = run(q, sql, 0, NULL, true, doing, k->table, "SELECT", &r, err);
    if (st != STORE_OK) return st;
    int rows = PQntuples(r);
    char *arr = rows ? calloc((size_t)rows, k->size) : NULL;
    if (rows && !arr) {
        PQclear(r);
        return store_fail(err, STORE_ERR, "out of memory listing %ss", k->what);
    }
    for (int i = 0; i < rows; i++) {
        if (k->read(r, i, arr + (size_t)i * k->size) != 0) {
            store_fail(err, STORE_ERR, "%s %lld in the database has a value too long", k->what,
                       (long long)col_i64(r, i, 0));
            free(arr);
            PQclear(r);
            return STORE_ERR;
        }
    }
    PQclear(r);
    *out = arr;
    *n = (size_t)rows;
    return STORE_OK;
}

/* Reads the single row of a lookup; STORE_NOT_FOUND when there is none. */
static store_status one_row(PGresult *r, const row_kind *k, const char *key, void *out, char *err)
{
    store_status st = STORE_OK;
    if (PQntuples(r) == 0)
        st = store_fail(err, STORE_NOT_FOUND, "%s %s not found", k->what, key);
    else if (k->read(r, 0, out) != 0)
        st = store_fail(err, STORE_ERR, "%s %s in the database has a value too long", k->what, key);
    PQclear(r);
    return st;
}

static store_status get(pg_store *q, const char *sql, const row_kind *k, int64_t id, void *out, char *err)
{
    char idt[24], doing[64];
    int_text(id, idt);
    snprintf(doing, sizeof doing, "reading %s %s", k->what, idt);
    const char *vals[1] = {idt};
    PGresult *r = NULL;
    store_status st = run(q, sql, 1, vals, true, doing, k->table, "SELECT", &r, err);
    return st == STORE_OK ? one_row(r, k, idt, out, err) : st;
}

static store_status pg_pop_list(void *impl, store_pop **out, size_t *n, char *err)
{
    void *arr = NULL;
    store_status st = list(impl, sql_pop_list, &pop_rows, &arr, n, err);
    *out = arr;
    return st;
}

static store_status pg_node_list(void *impl, store_node **out, size_t *n, char *err)
{
    void *arr = NULL;
    store_status st = list(impl, sql_node_list, &node_rows, &arr, n, err);
    *out = arr;
    return st;
}

static store_status pg_user_list(void *impl, store_admin_user **out, size_t *n, char *err)
{
    void *arr = NULL;
    store_status st = list(impl, sql_user_list, &user_rows, &arr, n, err);
    *out = arr;
    return st;
}

static store_status pg_pop_get(void *impl, int64_t id, store_pop *out, char *err)
{
    return get(impl, sql_pop_get, &pop_rows, id, out, err);
}

static store_status pg_node_get(void *impl, int64_t id, store_node *out, char *err)
{
    return get(impl, sql_node_get, &node_rows, id, out, err);
}

static store_status pg_user_get(void *impl, int64_t id, store_admin_user *out, char *err)
{
    return get(impl, sql_user_get, &user_rows, id, out, err);
}

static store_status pg_user_find(void *impl, const char *username, store_admin_user *out, char *err)
{
    char key[STORE_NAME_MAX + 2];
    snprintf(key, sizeof key, "'%.100s'", username);
    const char *vals[1] = {username};
    PGresult *r = NULL;
    store_status st =
        run(impl, sql_user_find, 1, vals, true, "reading a user", "gui.admin_users", "SELECT", &r, err);
    return st == STORE_OK ? one_row(r, &user_rows, key, out, err) : st;
}

/* ---- writing ---- */

/* The constraint a 23xxx error names, or "". */
static const char *constraint_of(const PGresult *r)
{
    const char *c = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
    return c ? c : "";
}

/* A write: STORE_OK, or the error with conflicts explained by `explain`. */
typedef store_status (*explain_fn)(const PGresult *r, const void *arg, char *err);

static store_status write_row(pg_store *q, const char *sql, int n, const char *const *vals, const char *doing,
                              const char *table, const char *priv, explain_fn explain, const void *arg,
                              PGresult **keep, char *err)
{
    PGconn *c = acquire(q, err);
    if (!c) return STORE_ERR;
    PGresult *r = exec_params(q, c, sql, n, vals);
    store_status st = STORE_OK;
    if (!r || !res_ok(r)) {
        const char *ss = sqlstate(r);
        if (explain && strncmp(ss, "23", 2) == 0)
            st = explain(r, arg, err);
        else
            st = fail_res(c, r, doing, table, priv, err);
    }
    release(q, c);
    if (st == STORE_OK && keep)
        *keep = r;
    else
        PQclear(r);
    return st;
}

static store_status explain_pop(const PGresult *r, const void *arg, char *err)
{
    const store_pop *p = arg;
    if (strcmp(sqlstate(r), "23505") == 0 && strstr(constraint_of(r), "pkey"))
        return store_fail(err, STORE_CONFLICT, "pop id %lld already exists", (long long)p->id);
    if (strcmp(sqlstate(r), "23505") == 0)
        return store_fail(err, STORE_CONFLICT, "pop name '%.100s' already exists", p->name);
    return store_fail(err, STORE_CONFLICT, "adding pop %lld: constraint %.60s", (long long)p->id,
                      constraint_of(r));
}

static store_status pg_pop_add(void *impl, const store_pop *pop, char *err)
{
    char idt[24], doing[48];
    int_text(pop->id, idt);
    snprintf(doing, sizeof doing, "adding pop %s", idt);
    const char *vals[2] = {idt, pop->name};
    return write_row(impl, sql_pop_add, 2, vals, doing, "sys.pops", "INSERT", explain_pop, pop, NULL, err);
}

static store_status explain_node(const PGresult *r, const void *arg, char *err)
{
    const store_node *n = arg;
    const char *ss = sqlstate(r);
    if (strcmp(ss, "23503") == 0)
        return store_fail(err, STORE_CONFLICT, "pop %lld does not exist", (long long)n->pop_id);
    if (strcmp(ss, "23505") == 0 && strstr(constraint_of(r), "pkey"))
        return store_fail(err, STORE_CONFLICT, "node id %lld already exists", (long long)n->id);
    if (strcmp(ss, "23505") == 0)
        return store_fail(err, STORE_CONFLICT, "node name '%.100s' already exists", n->name);
    return store_fail(err, STORE_CONFLICT, "adding node %lld: constraint %.60s", (long long)n->id,
                      constraint_of(r));
}

static store_status pg_node_add(void *impl, const store_node *node, char *err)
{
    char idt[24], pidt[24], doing[48];
    int_text(node->id, idt);
    int_text(node->pop_id, pidt);
    snprintf(doing, sizeof doing, "adding node %s", idt);
    const char *vals[4] = {idt, node->name, node->rpc_endpoint, pidt};
    return write_row(impl, sql_node_add, 4, vals, doing, "sys.nodes", "INSERT", explain_node, node, NULL,
                     err);
}

static store_status explain_fk(const PGresult *r, const void *arg, char *err)
{
    return STORE_CONFLICT; /* the caller words it */
}

/* DELETE ... WHERE id = $1: STORE_NOT_FOUND when nothing was removed;
 * *fk set when a foreign key refused it. */
static store_status remove_row(pg_store *q, const char *sql, const char *what, const char *table, int64_t id,
                               bool *fk, char *err)
{
    char idt[24], doing[48];
    int_text(id, idt);
    snprintf(doing, sizeof doing, "removing %s %s", what, idt);
    const char *vals[1] = {idt};
    PGresult *r = NULL;
    store_status st = write_row(q, sql, 1, vals, doing, table, "DELETE", explain_fk, NULL, &r, err);
    if (st == STORE_CONFLICT) *fk = true;
    if (st != STORE_OK) return st;
    bool none = strcmp(PQcmdTuples(r), "0") == 0;
    PQclear(r);
    return none ? store_fail(err, STORE_NOT_FOUND, "%s %s not found", what, idt) : STORE_OK;
}

static store_status pg_pop_remove(void *impl, int64_t id, char *err)
{
    bool fk = false;
    store_status st = remove_row(impl, sql_pop_remove, "pop", "sys.pops", id, &fk, err);
    if (!fk) return st;
    char idt[24];
    int_text(id, idt);
    const char *vals[1] = {idt};
    PGresult *r = NULL;
    if (run(impl, sql_pop_users, 1, vals, true, "counting nodes", "sys.nodes", "SELECT", &r, err) !=
            STORE_OK ||
        PQntuples(r) != 1) {
        PQclear(r);
        return store_fail(err, STORE_CONFLICT, "pop %lld is still used by nodes", (long long)id);
    }
    long long users = col_i64(r, 0, 0);
    PQclear(r);
    return store_fail(err, STORE_CONFLICT, "pop %lld is still used by %lld node(s); remove them first",
                      (long long)id, users);
}

static store_status pg_node_remove(void *impl, int64_t id, char *err)
{
    bool fk = false;
    store_status st = remove_row(impl, sql_node_remove, "node", "sys.nodes", id, &fk, err);
    if (fk) return store_fail(err, STORE_CONFLICT, "node %lld is still referenced", (long long)id);
    return st;
}

static store_status explain_user(const PGresult *r, const void *arg, char *err)
{
    const store_admin_user *u = arg;
    if (strcmp(sqlstate(r), "23505") == 0 && strstr(constraint_of(r), "pkey"))
        return store_fail(err, STORE_CONFLICT, "user id %lld already exists", (long long)u->id);
    if (strcmp(sqlstate(r), "23505") == 0)
        return store_fail(err, STORE_CONFLICT, "username '%.100s' already exists", u->username);
    return store_fail(err, STORE_CONFLICT, "adding user '%.100s': constraint %.60s", u->username,
                      constraint_of(r));
}

static store_status pg_user_add(void *impl, store_admin_user *u, char *err)
{
    char idt[24];
    int_text(u->id, idt);
    const char *vals[6] = {u->id > 0 ? idt : NULL,        u->username, u->encrypted_password,
                           u->enabled ? "true" : "false", u->roles,    u->allowed_ips};
    PGresult *r = NULL;
    store_status st = write_row(impl, sql_user_add, 6, vals, "adding a user", "gui.admin_users", "INSERT",
                                explain_user, u, &r, err);
    if (st != STORE_OK) return st;
    if (PQntuples(r) == 1) u->id = col_i64(r, 0, 0);
    PQclear(r);
    return STORE_OK;
}

static store_status update_user(pg_store *q, const char *sql, const char *username, const char *val,
                                const char *doing, char *err)
{
    const char *vals[2] = {username, val};
    PGresult *r = NULL;
    store_status st = write_row(q, sql, 2, vals, doing, "gui.admin_users", "UPDATE", NULL, NULL, &r, err);
    if (st != STORE_OK) return st;
    bool none = strcmp(PQcmdTuples(r), "0") == 0;
    PQclear(r);
    return none ? store_fail(err, STORE_NOT_FOUND, "user '%.100s' not found", username) : STORE_OK;
}

static store_status pg_user_set_password(void *impl, const char *username, const char *hash, char *err)
{
    return update_user(impl, sql_user_set_password, username, hash, "changing the password", err);
}

static store_status pg_user_set_enabled(void *impl, const char *username, bool enabled, char *err)
{
    return update_user(impl, sql_user_set_enabled, username, enabled ? "true" : "false", "changing the state",
                       err);
}

/* ---- related resources ---- */

/* A growing string for SQL text made only of res_types constants. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256;
        while (ncap < b->len + n + 1) ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

/* The select expression of one column, in the store's text form. */
static void add_col_expr(sbuf *b, const res_col *c)
{
    switch (c->kind) {
    case COL_BOOL:
        sb_add(b, "(");
        sb_add(b, c->column);
        sb_add(b, ")::int");
        break;
    case COL_TIME:
        sb_add(b, "to_char(");
        sb_add(b, c->column);
        sb_add(b, " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')");
        break;
    case COL_INET_LIST:
        /* ::text[] keeps every prefix ("203.0.113.10/32"), as written */
        sb_add(b, "array_to_string(");
        sb_add(b, c->column);
        sb_add(b, "::text[], ',')");
        break;
    default:
        sb_add(b, c->column);
        sb_add(b, "::text");
        break;
    }
}

/* "SELECT id, <exprs> FROM <table> WHERE id = ANY($1::bigint[]) ORDER BY id" */
static char *fetch_sql(const res_type *rt)
{
    sbuf b = {0};
    sb_add(&b, "SELECT id");
    for (size_t i = 0; i < rt->ncols; i++) {
        sb_add(&b, ", ");
        add_col_expr(&b, &rt->cols[i]);
    }
    sb_add(&b, " FROM ");
    sb_add(&b, rt->pg_table);
    sb_add(&b, " WHERE id = ANY($1::bigint[]) ORDER BY id");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* The ids as an array literal "{1,2,3}", malloc'd. */
static char *ids_array(const int64_t *ids, size_t n)
{
    if (n > (SIZE_MAX - 3) / 21) return NULL;
    char *a = malloc(n * 21 + 3);
    if (!a) return NULL;
    size_t l = 0;
    a[l++] = '{';
    for (size_t i = 0; i < n; i++)
        l += (size_t)snprintf(a + l, 22, "%s%lld", i ? "," : "", (long long)ids[i]);
    a[l++] = '}';
    a[l] = '\0';
    return a;
}

/* Packs the result rows into one block: res_row array, pointers, text. */
static int pack_rows(const PGresult *r, size_t ncols, res_rows *out)
{
    size_t nrows = (size_t)PQntuples(r);
    if (nrows == 0) return 0;
    size_t text = 0;
    for (size_t i = 0; i < nrows; i++)
        for (size_t c = 0; c < ncols; c++)
            if (!PQgetisnull(r, (int)i, (int)c + 1)) text += (size_t)PQgetlength(r, (int)i, (int)c + 1) + 1;
    size_t rows_size = nrows * sizeof(res_row), ptrs_size = nrows * ncols * sizeof(char *);
    char *mem = malloc(rows_size + ptrs_size + text + 1);
    if (!mem) return -1;
    res_row *rows = (res_row *)(void *)mem;
    char **ptrs = (char **)(void *)(mem + rows_size);
    char *t = mem + rows_size + ptrs_size;
    for (size_t i = 0; i < nrows; i++) {
        rows[i].id = col_i64(r, (int)i, 0);
        rows[i].vals = ptrs + i * ncols;
        for (size_t c = 0; c < ncols; c++) {
            int col = (int)c + 1;
            if (PQgetisnull(r, (int)i, col)) {
                rows[i].vals[c] = NULL;
                continue;
            }
            size_t n = (size_t)PQgetlength(r, (int)i, col);
            memcpy(t, PQgetvalue(r, (int)i, col), n);
            t[n] = '\0';
            rows[i].vals[c] = t;
            t += n + 1;
        }
    }
    out->rows = rows;
    out->n = nrows;
    out->mem = mem;
    return 0;
}

static store_status pg_fetch(void *impl, res_type_id t, const int64_t *ids, size_t n, res_rows *out,
                             char *err)
{
    const res_type *rt = &res_types[t];
    char *sql = fetch_sql(rt);
    char *arr = ids_array(ids, n);
    if (!sql || !arr) {
        free(sql);
        free(arr);
        return store_fail(err, STORE_ERR, "out of memory (%zu ids)", n);
    }
    char doing[64];
    snprintf(doing, sizeof doing, "reading %s", rt->type);
    const char *vals[1] = {arr};
    PGresult *r = NULL;
    store_status st = run(impl, sql, 1, vals, true, doing, rt->pg_table, "SELECT", &r, err);
    free(sql);
    free(arr);
    if (st != STORE_OK) return st;
    if (pack_rows(r, rt->ncols, out) != 0)
        st = store_fail(err, STORE_ERR, "out of memory reading %s", rt->type);
    PQclear(r);
    return st;
}

static uint64_t pg_query_count(void *impl)
{
    pg_store *q = impl;
    return atomic_load(&q->queries);
}

/* ---- demo data ---- */

static const struct {
    res_type_id type;
    const char *cols, *vals;
} secret_cols[] = {
    {RT_GATEWAYS, ", auth_user, auth_password, incoming_auth_password",
     ", 'gw-' || substr(md5(random()::text), 1, 12), md5(random()::text),"
     " md5(random()::text)"},
    {RT_SMTP_CONNECTIONS, ", auth_user, auth_password",
     ", 'mailer-' || substr(md5(random()::text), 1, 12), md5(random()::text)"},
};

/* The text parameter $i as the column's type: inet lists from their
 * comma-separated text, the rest by PostgreSQL's input functions. */
static void add_param(sbuf *b, const res_col *c, size_t i)
{
    char p[64];
    if (c->kind == COL_INET_LIST)
        snprintf(p, sizeof p, ", string_to_array($%zu, ',')::inet[]", i);
    else
        snprintf(p, sizeof p, ", $%zu", i);
    sb_add(b, p);
}

static char *insert_sql(res_type_id t)
{
    const res_type *rt = &res_types[t];
    const char *scols = "", *svals = "";
    for (size_t i = 0; i < sizeof secret_cols / sizeof secret_cols[0]; i++) {
        if (secret_cols[i].type != t) continue;
        scols = secret_cols[i].cols;
        svals = secret_cols[i].vals;
    }
    sbuf b = {0};
    sb_add(&b, "INSERT INTO ");
    sb_add(&b, rt->pg_table);
    sb_add(&b, " (id");
    for (size_t i = 0; i < rt->ncols; i++) {
        sb_add(&b, ", ");
        sb_add(&b, rt->cols[i].column);
    }
    sb_add(&b, scols);
    sb_add(&b, ") VALUES ($1::bigint");
    for (size_t i = 0; i < rt->ncols; i++) add_param(&b, &rt->cols[i], i + 2);
    sb_add(&b, svals);
    sb_add(&b, ")");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static store_status exec_simple(pg_store *q, PGconn *c, const char *sql, const char *doing, const char *table,
                                const char *priv, char *err)
{
    atomic_fetch_add(&q->queries, 1);
    PGresult *r = PQexec(c, sql);
    store_status st = res_ok(r) ? STORE_OK : fail_res(c, r, doing, table, priv, err);
    PQclear(r);
    return st;
}

static store_status demo_in_tx(pg_store *q, PGconn *c, const store_demo_set *set, char *err)
{
    /* every replaced table emptied in one TRUNCATE (they reference each
     * other; pops and nodes are never among them) */
    sbuf b = {0};
    sb_add(&b, "TRUNCATE ");
    bool any = false;
    for (int t = 0; t < RT_COUNT; t++) {
        if (!set->replace[t]) continue;
        if (t == RT_POPS || t == RT_NODES) {
            free(b.p);
            return store_fail(err, STORE_INVALID, "demo data never replaces %s", res_types[t].type);
        }
        if (any) sb_add(&b, ", ");
        sb_add(&b, res_types[t].pg_table);
        any = true;
    }
    if (b.oom) {
        free(b.p);
        return store_fail(err, STORE_ERR, "out of memory");
    }
    store_status st = any
        ? exec_simple(q, c, b.p, "demo data: emptying the tables", "the related tables", "TRUNCATE", err)
        : STORE_OK;
    free(b.p);
    char *ins[RT_COUNT] = {0};
    for (size_t i = 0; st == STORE_OK && i < set->n; i++) {
        const store_demo_row *r = &set->rows[i];
        if ((int)r->type < 0 || r->type >= RT_COUNT || !set->replace[r->type]) {
            st = store_fail(err, STORE_INVALID, "demo data: row %zu has a type not replaced", i);
            break;
        }
        if (!ins[r->type] && !(ins[r->type] = insert_sql(r->type))) {
            st = store_fail(err, STORE_ERR, "out of memory");
            break;
        }
        const res_type *rt = &res_types[r->type];
        char idt[24];
        int_text(r->id, idt);
        const char *vals[STORE_DEMO_MAX_COLS + 1];
        vals[0] = idt;
        for (size_t k = 0; k < rt->ncols; k++) vals[k + 1] = r->vals[k];
        PGresult *res = exec_params(q, c, ins[r->type], (int)rt->ncols + 1, vals);
        if (!res_ok(res)) {
            char doing[80];
            snprintf(doing, sizeof doing, "demo data: adding %s %s", rt->type, idt);
            st = fail_res(c, res, doing, rt->pg_table, "INSERT", err);
        }
        PQclear(res);
    }
    for (int t = 0; t < RT_COUNT; t++) free(ins[t]);
    return st;
}

static store_status pg_demo_replace(void *impl, const store_demo_set *set, char *err)
{
    pg_store *q = impl;
    PGconn *c = acquire(q, err);
    if (!c) return STORE_ERR;
    store_status st = exec_simple(q, c, "BEGIN", "demo data: starting a transaction", NULL, NULL, err);
    if (st == STORE_OK) st = demo_in_tx(q, c, set, err);
    if (st == STORE_OK) st = exec_simple(q, c, "COMMIT", "demo data: committing", NULL, NULL, err);
    if (st != STORE_OK && PQtransactionStatus(c) != PQTRANS_IDLE) {
        char ignore[STORE_ERR_LEN];
        exec_simple(q, c, "ROLLBACK", "rolling back", NULL, NULL, ignore);
    }
    release(q, c);
    return st;
}

const store_backend store_pg_backend = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .pop_add = pg_pop_add,
    .pop_remove = pg_pop_remove,
    .pop_list = pg_pop_list,
    .pop_get = pg_pop_get,
    .node_add = pg_node_add,
    .node_remove = pg_node_remove,
    .node_list = pg_node_list,
    .node_get = pg_node_get,
    .user_add = pg_user_add,
    .user_get = pg_user_get,
    .user_find = pg_user_find,
    .user_set_password = pg_user_set_password,
    .user_set_enabled = pg_user_set_enabled,
    .user_list = pg_user_list,
    .fetch = pg_fetch,
    .query_count = pg_query_count,
    .demo_replace = pg_demo_replace,
    .schema_init = pg_schema_init,
};
