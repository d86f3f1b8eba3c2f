/* dialect_pg: the PostgreSQL dialect of the store (dialect.h), for
 * locations starting with postgresql:// or postgres://, on libpq.
 *
 * Uses yeti's own schemas, tables and columns (sys.pops, sys.nodes,
 * gui.admin_users with roles varchar[] and allowed_ips inet[],
 * public.contractors, billing.accounts, class4.*, ...), so the service can
 * run against an existing yeti database, also read-only. It never creates
 * anything at open; `activecalls db init` (store_schema_init) runs the DDL
 * below on an empty database (CREATE ... IF NOT EXISTS).
 *
 * Values cross as text (PQexecParams, text parameters and results) in the
 * store's forms: arrays become the canonical comma-separated text and back
 * (array_to_string / string_to_array in the SQL this file renders),
 * booleans "1"/"0" ((col)::int), times "YYYY-MM-DDTHH:MM:SS.000Z" (to_char
 * in UTC), numerics as PostgreSQL prints them (the scale they were written
 * with). allowed_ips (SQLT_HOSTS) comes back with host addresses without
 * "/32" or "/128" (inet's output, as the canonical text writes an address
 * given without a prefix); customers_auth.ip (SQLT_INETS) keeps every
 * prefix (inet -> text). An id list is one array parameter: `id =
 * ANY($1::bigint[])`. A statement without parameters goes as a simple query,
 * so the db init script (many statements) runs in one call.
 *
 * Connections: a small pool (POOL_MAX, mutex + condvar), made on demand;
 * acquire takes one for a run of statements. Every connection gets
 * connect_timeout=2, `-c statement_timeout=2000` and tcp_user_timeout=5000
 * (a server that vanished without closing the TCP connection) by default;
 * parameters in the URI override them (e.g.
 * `?connect_timeout=5&options=-c%20statement_timeout%3D5000`). A connection
 * found broken, or left inside a transaction, is dropped at release and
 * the next call makes a new one, so an outage turns into fast STORE_ERR
 * results (the API answers 503) and service resumes by itself when the
 * database is back; a read outside a transaction on a stale connection
 * (server restarted) is tried once more on a fresh one. Messages never
 * contain the URI (it may hold a password).
 *
 * Errors by SQLSTATE: 23505 (a "pkey" constraint: the primary key) /
 * 23503 / other 23xxx -> STORE_CONFLICT; 42501 -> STORE_ERR naming the
 * missing privilege (the statement's verb) and the table (a read-only
 * role); 42P01 -> STORE_ERR suggesting `activecalls db init`. */
#include <assert.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/dialect.h"

#define POOL_MAX 4
#define ERRMSG_MAX 160

/* The active-call history: yeti's stats.* tables of its CDR database with
 * their exact types (bigserial is yeti's bigint id with its own sequence),
 * the slots written (each once: its primary key), and indexes on
 * (subject, created_at) and created_at for charts and retention where
 * yeti has none (docs/CONTRACT.md §10). */
#define HISTORY_DDL                                                                              \
    "CREATE SCHEMA IF NOT EXISTS stats;"                                                         \
    "CREATE TABLE IF NOT EXISTS stats.active_calls ("                                            \
    "  id bigserial PRIMARY KEY,"                                                                \
    "  node_id integer NOT NULL,"                                                                \
    "  count integer NOT NULL,"                                                                  \
    "  created_at timestamp with time zone);"                                                    \
    "CREATE TABLE IF NOT EXISTS stats.active_call_accounts ("                                    \
    "  id bigserial PRIMARY KEY,"                                                                \
    "  account_id integer NOT NULL,"                                                             \
    "  originated_count integer NOT NULL,"                                                       \
    "  terminated_count integer NOT NULL,"                                                       \
    "  created_at timestamp with time zone);"                                                    \
    "CREATE TABLE IF NOT EXISTS stats.active_call_orig_gateways ("                               \
    "  id bigserial PRIMARY KEY,"                                                                \
    "  gateway_id integer NOT NULL,"                                                             \
    "  count integer NOT NULL,"                                                                  \
    "  created_at timestamp with time zone);"                                                    \
    "CREATE TABLE IF NOT EXISTS stats.active_call_term_gateways ("                               \
    "  id bigserial PRIMARY KEY,"                                                                \
    "  gateway_id integer NOT NULL,"                                                             \
    "  count integer NOT NULL,"                                                                  \
    "  created_at timestamp with time zone);"                                                    \
    "CREATE TABLE IF NOT EXISTS stats.active_call_slots ("                                       \
    "  created_at timestamp with time zone PRIMARY KEY,"                                         \
    "  writer varchar NOT NULL DEFAULT '');"                                                     \
    "CREATE INDEX IF NOT EXISTS active_calls_node_id_created_at_idx"                             \
    "  ON stats.active_calls (node_id, created_at);"                                             \
    "CREATE INDEX IF NOT EXISTS active_calls_created_at_idx ON stats.active_calls (created_at);" \
    "CREATE INDEX IF NOT EXISTS active_call_accounts_account_id_created_at_idx"                  \
    "  ON stats.active_call_accounts (account_id, created_at);"                                  \
    "CREATE INDEX IF NOT EXISTS active_call_accounts_created_at_idx"                             \
    "  ON stats.active_call_accounts (created_at);"                                              \
    "CREATE INDEX IF NOT EXISTS active_call_orig_gateways_gateway_id_created_at_idx"             \
    "  ON stats.active_call_orig_gateways (gateway_id, created_at);"                             \
    "CREATE INDEX IF NOT EXISTS active_call_orig_gateways_created_at_idx"                        \
    "  ON stats.active_call_orig_gateways (created_at);"                                         \
    "CREATE INDEX IF NOT EXISTS active_call_term_gateways_gateway_id_created_at_idx"             \
    "  ON stats.active_call_term_gateways (gateway_id, created_at);"                             \
    "CREATE INDEX IF NOT EXISTS active_call_term_gateways_created_at_idx"                        \
    "  ON stats.active_call_term_gateways (created_at);"

static const char history_ddl[] = HISTORY_DDL;

/* The subset of yeti's schema the service uses, with yeti's native types.
 * Foreign keys as yeti has them where both tables are here. */
static const char schema_ddl[] =
    HISTORY_DDL "CREATE SCHEMA IF NOT EXISTS sys;"
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

typedef struct pg {
    char *uri;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    PGconn *idle[POOL_MAX]; /* connections not in use */
    int nidle;
    int nopen; /* connections in existence (idle or in use) */
} pg;

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

static PGconn *connect_new(const pg *q, sql_error *e)
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
    snprintf(e->msg, sizeof e->msg, "database unavailable: %s", m);
    PQfinish(c);
    return NULL;
}

/* A connection from the pool (waiting while POOL_MAX are in use), or a new
 * one; NULL with e set when the database cannot be reached. */
static PGconn *pool_get(pg *q, sql_error *e)
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
    PGconn *c = connect_new(q, e);
    if (!c) {
        pthread_mutex_lock(&q->mu);
        q->nopen--;
        pthread_cond_signal(&q->cv);
        pthread_mutex_unlock(&q->mu);
    }
    return c;
}

/* Returns c to the pool; a broken connection (or one left inside a
 * transaction, or lost: NULL) is closed instead, to be remade on the next
 * call. */
static void pool_put(pg *q, PGconn *c)
{
    bool keep = c && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE;
    if (!keep) PQfinish(c);
    pthread_mutex_lock(&q->mu);
    if (keep)
        q->idle[q->nidle++] = c;
    else
        q->nopen--;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static void pg_close(void *db)
{
    pg *q = db;
    if (!q) return;
    for (int i = 0; i < q->nidle; i++) PQfinish(q->idle[i]);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q->uri);
    free(q);
}

static void *pg_open(const char *location, char err[STORE_ERR_LEN])
{
    assert(location);
    if (!PQisthreadsafe()) {
        store_fail(err, STORE_ERR, "libpq was built without thread support");
        return NULL;
    }
    pg *q = calloc(1, sizeof *q);
    if (!q || !(q->uri = strdup(location))) {
        free(q);
        store_fail(err, STORE_ERR, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    /* one connection now: a bad URI, password or host is reported at once */
    sql_error e = {0};
    PGconn *c = pool_get(q, &e);
    if (!c) {
        store_fail(err, STORE_ERR, "%s", e.msg);
        pg_close(q);
        return NULL;
    }
    pool_put(q, c);
    return q;
}

static store_status pg_acquire(sql_conn *sc, sql_error *e)
{
    assert(sc->db);
    sc->c = pool_get(sc->db, e);
    return sc->c ? STORE_OK : STORE_ERR;
}

static void pg_release(sql_conn *sc)
{
    pool_put(sc->db, sc->c);
    sc->c = NULL;
}

static bool pg_in_transaction(const sql_conn *sc)
{
    if (!sc->c) return false;
    PGTransactionStatusType t = PQtransactionStatus(sc->c);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

/* ---- statements ---- */

static bool res_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static const char *diag(const PGresult *r, int field)
{
    const char *s = r ? PQresultErrorField(r, field) : NULL;
    return s ? s : "";
}

static sql_conflict conflict_of(const PGresult *r)
{
    const char *ss = diag(r, PG_DIAG_SQLSTATE);
    if (strcmp(ss, "23505") == 0)
        return strstr(diag(r, PG_DIAG_CONSTRAINT_NAME), "pkey") ? SQLC_PRIMARY : SQLC_UNIQUE;
    return strcmp(ss, "23503") == 0 ? SQLC_FOREIGN : SQLC_OTHER;
}

/* The failure of q (r, or c when r is NULL) as the store's error class. A
 * permission error names the privilege (the statement's first word:
 * INSERT, UPDATE, ...) and q->table. */
static store_status classify(PGconn *c, const PGresult *r, const sql_query *q, sql_error *e)
{
    const char *ss = diag(r, PG_DIAG_SQLSTATE);
    const char *pm = diag(r, PG_DIAG_MESSAGE_PRIMARY);
    char m[ERRMSG_MAX];
    clean_msg(*pm ? pm : PQerrorMessage(c), m, sizeof m);
    if (strcmp(ss, "42501") == 0) {
        int verb = (int)strcspn(q->sql, " ");
        snprintf(e->msg, sizeof e->msg,
                 "permission denied: the database role lacks the %.*s privilege on %s "
                 "(read-only database?)",
                 verb < 16 ? verb : 16, q->sql, q->table ? q->table : "the table");
    } else if (strcmp(ss, "42P01") == 0 || strcmp(ss, "3F000") == 0) {
        snprintf(e->msg, sizeof e->msg, "%s (run `activecalls db init` on an empty database)", m);
    } else if (strcmp(ss, "57014") == 0) {
        snprintf(e->msg, sizeof e->msg, "the database did not answer in time (%s)", m);
    } else if (strncmp(ss, "23", 2) == 0) {
        e->conflict = conflict_of(r);
        snprintf(e->msg, sizeof e->msg, "%s", m);
        return STORE_CONFLICT;
    } else if (PQstatus(c) != CONNECTION_OK) {
        snprintf(e->msg, sizeof e->msg, "database unavailable: %s", m);
    } else {
        snprintf(e->msg, sizeof e->msg, "%s", m);
    }
    return STORE_ERR;
}

/* Hands every row of r to q->row. */
static store_status deliver(const PGresult *r, const sql_query *q, sql_error *e)
{
    int rows = PQntuples(r), n = PQnfields(r);
    if (!q->row || rows == 0) return STORE_OK;
    if (n > SQL_COLS_MAX) {
        snprintf(e->msg, sizeof e->msg, "a row of %d columns (at most %d)", n, SQL_COLS_MAX);
        return STORE_ERR;
    }
    const char *vals[SQL_COLS_MAX];
    size_t lens[SQL_COLS_MAX];
    for (int i = 0; i < rows; i++) {
        for (int k = 0; k < n; k++) {
            bool null = PQgetisnull(r, i, k);
            vals[k] = null ? NULL : PQgetvalue(r, i, k);
            lens[k] = null ? 0 : (size_t)PQgetlength(r, i, k);
        }
        if (q->row(q->ctx, (size_t)n, vals, lens) != 0) return STORE_ERR;
    }
    return STORE_OK;
}

static store_status pg_exec(sql_conn *sc, const sql_query *q, uint64_t *changes, sql_error *e)
{
    assert(q && q->sql && (q->nparams == 0 || q->params));
    /* a read outside a transaction may go again on a fresh connection */
    bool retry = strncmp(q->sql, "SELECT", 6) == 0 && !pg_in_transaction(sc);
    for (;;) {
        PGconn *c = sc->c;
        if (!c) { /* lost on an earlier try */
            if (!e->msg[0]) snprintf(e->msg, sizeof e->msg, "database unavailable");
            return STORE_ERR;
        }
        PGresult *r = q->nparams ? PQexecParams(c, q->sql, (int)q->nparams, NULL, q->params, NULL, NULL, 0)
                                 : PQexec(c, q->sql);
        if (r && res_ok(r)) {
            store_status st = deliver(r, q, e);
            if (st == STORE_OK && changes) *changes = strtoull(PQcmdTuples(r), NULL, 10);
            PQclear(r);
            return st;
        }
        if (retry && PQstatus(c) != CONNECTION_OK) {
            PQclear(r);
            PQfinish(c);
            sc->c = connect_new(sc->db, e); /* pool_put counts a NULL as closed */
            retry = false;
            continue;
        }
        store_status st = classify(c, r, q, e);
        PQclear(r);
        return st;
    }
}

/* ---- rendering ---- */

static void pg_param(buf *b, size_t i, sql_type t)
{
    switch (t) {
    case SQLT_INT: buf_printf(b, "$%zu::bigint", i); break;
    case SQLT_BOOL: buf_printf(b, "$%zu::boolean", i); break;
    case SQLT_INETS:
    case SQLT_HOSTS: buf_printf(b, "string_to_array($%zu, ',')::inet[]", i); break;
    case SQLT_NAMES: buf_printf(b, "string_to_array($%zu, ',')::varchar[]", i); break;
    default: buf_printf(b, "$%zu", i); break; /* the column's type reads the text */
    }
}

static void pg_column(buf *b, const char *column, sql_type t)
{
    switch (t) {
    case SQLT_BOOL: buf_printf(b, "(%s)::int", column); break;
    case SQLT_TIME:
        buf_printf(b, "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')", column);
        break;
    /* ::text[] keeps every prefix ("203.0.113.10/32"), as written */
    case SQLT_INETS: buf_printf(b, "array_to_string(%s::text[], ',')", column); break;
    /* the elements' own output: host addresses without "/32" */
    case SQLT_HOSTS:
    case SQLT_NAMES: buf_printf(b, "array_to_string(%s, ',')", column); break;
    default: buf_puts(b, column); break; /* text output is the store's form */
    }
}

static void pg_id_in(buf *b, const char *column, size_t i)
{
    buf_printf(b, "%s = ANY($%zu::bigint[])", column, i);
}

static void pg_epoch(buf *b, const char *column)
{
    buf_printf(b, "floor(extract(epoch FROM %s))::bigint", column);
}

/* The writer's own connection: outside the pool, closed by own_close (its
 * session's advisory lock goes with it). */
static store_status pg_own(sql_conn *sc, sql_error *e)
{
    assert(sc->db);
    sc->c = connect_new(sc->db, e);
    return sc->c ? STORE_OK : STORE_ERR;
}

static void pg_own_close(sql_conn *sc)
{
    PQfinish(sc->c);
    sc->c = NULL;
}

const sql_dialect sql_pg = {
    .name = "postgresql",
    .schema_sep = '.',
    .list_open = '{',
    .list_close = '}',
    .begin = "BEGIN",
    /* a replace inserts parents first, and one TRUNCATE empties tables
     * that reference each other: nothing to defer */
    .defer_fks = NULL,
    .truncate = true,
    .schema = schema_ddl,
    .random_hex = "md5(random()::text)",
    .history_schema = history_ddl,
    .try_lock = "SELECT pg_try_advisory_lock($1::bigint)::int",
    .param = pg_param,
    .column = pg_column,
    .id_in = pg_id_in,
    .epoch = pg_epoch,
    .open = pg_open,
    .close = pg_close,
    .acquire = pg_acquire,
    .release = pg_release,
    .in_transaction = pg_in_transaction,
    .exec = pg_exec,
    .own = pg_own,
    .own_close = pg_own_close,
};
