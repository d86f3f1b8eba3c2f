/* store_test_pg: runs the shared store tests (test_store.c,
 * test_store_users.c, test_resources.c) against PostgreSQL as well.
 *
 * When $ACTIVECALLS_TEST_PG is set — a postgresql:// URI, or the path of a
 * file holding one (scripts/pg-test-cluster writes STATE_DIR/uri) — each
 * test gets a fresh database instead of an SQLite file: tpg_fresh() makes
 * (once per program) the database named by the program's tag, drops the
 * service's schemas there and runs store_schema_init, and hands back its URI
 * as the fixture's "path". Unset, nothing changes: the tests use SQLite.
 *
 * tpg_raw_exec / tpg_raw_int run the tests' hand-written SQL on PostgreSQL,
 * with SQLite's flattened table names (sys_nodes) mapped back to yeti's
 * (sys.nodes). */
#ifndef AC_TESTS_STORE_TEST_PG_H
#define AC_TESTS_STORE_TEST_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

/* The base URI from $ACTIVECALLS_TEST_PG, or NULL (SQLite only). */
static inline const char *tpg_base(void)
{
    static char uri[512];
    const char *v = getenv("ACTIVECALLS_TEST_PG");
    if (!v || !*v) return NULL;
    if (strncmp(v, "postgres", 8) == 0) return v;
    FILE *f = fopen(v, "r");
    if (!f) return NULL;
    if (!fgets(uri, sizeof uri, f)) uri[0] = '\0';
    fclose(f);
    uri[strcspn(uri, "\r\n")] = '\0';
    return uri[0] ? uri : NULL;
}

static inline bool tpg_on(void) { return tpg_base() != NULL; }

/* For tests of SQLite's own file handling (migrations, corrupt files):
 * skipped when running on PostgreSQL. */
#define TPG_SQLITE_ONLY() \
    do {                  \
        if (tpg_on()) {   \
            skip();       \
            return;       \
        }                 \
    } while (0)

static inline bool tpg_is_uri(const char *path) { return strncmp(path, "postgres", 8) == 0; }

/* base with its database name replaced by db. */
static inline void tpg_uri_for(const char *base, const char *db, char *out, size_t cap)
{
    const char *auth = strstr(base, "://");
    const char *slash = strchr(auth ? auth + 3 : base, '/');
    size_t keep = slash ? (size_t)(slash - base) : strlen(base);
    const char *q = strchr(base, '?');
    snprintf(out, cap, "%.*s/%s%s", (int)keep, base, db, q ? q : "");
}

static inline void tpg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static inline PGconn *tpg_connect(const char *uri)
{
    PGconn *c = PQconnectdb(uri);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "tpg: connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, tpg_quiet, NULL);
    return c;
}

static inline int tpg_exec_on(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) fprintf(stderr, "tpg: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

/* A fresh, initialised database `ac_<tag>` for one test; its URI in out.
 * 0, or -1 when PostgreSQL is not usable. */
static inline int tpg_fresh(const char *tag, char *out, size_t cap)
{
    const char *base = tpg_base();
    if (!base) return -1;
    char db[64];
    snprintf(db, sizeof db, "ac_%s", tag);
    static bool created;
    if (!created) {
        PGconn *c = tpg_connect(base);
        if (!c) return -1;
        char sql[160];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
        tpg_exec_on(c, sql);
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
        int rc = tpg_exec_on(c, sql);
        PQfinish(c);
        if (rc != 0) return -1;
        created = true;
    }
    tpg_uri_for(base, db, out, cap);
    PGconn *c = tpg_connect(out);
    if (!c) return -1;
    int rc = tpg_exec_on(c,
                         "DROP SCHEMA IF EXISTS sys, gui, class4, billing, stats CASCADE;"
                         "DROP TABLE IF EXISTS public.contractors CASCADE;");
    PQfinish(c);
    if (rc != 0) return -1;
    char err[STORE_ERR_LEN] = "";
    store *s = store_open(out, err);
    if (!s || store_schema_init(s, err) != STORE_OK) {
        fprintf(stderr, "tpg: db init: %s\n", err);
        store_close(s);
        return -1;
    }
    store_close(s);
    return 0;
}

/* sql with sys_/gui_/public_/class4_/billing_/stats_ table prefixes (at a word
 * start) turned into schema names; malloc'd. */
static inline char *tpg_map(const char *sql)
{
    static const char *const pre[] = {"sys_", "gui_", "public_", "class4_", "billing_", "stats_"};
    size_t n = strlen(sql);
    char *out = malloc(n + 1);
    if (!out) return NULL;
    memcpy(out, sql, n + 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 &&
            (out[i - 1] == '_' || (out[i - 1] >= 'a' && out[i - 1] <= 'z') ||
             (out[i - 1] >= '0' && out[i - 1] <= '9')))
            continue;
        for (size_t k = 0; k < sizeof pre / sizeof pre[0]; k++) {
            size_t l = strlen(pre[k]);
            if (strncmp(out + i, pre[k], l) == 0) out[i + l - 1] = '.';
        }
    }
    return out;
}

static inline int tpg_raw_exec(const char *uri, const char *sql)
{
    PGconn *c = tpg_connect(uri);
    char *m = tpg_map(sql);
    int rc = c && m ? tpg_exec_on(c, m) : -1;
    free(m);
    PQfinish(c);
    return rc;
}

static inline int tpg_raw_int(const char *uri, const char *sql)
{
    PGconn *c = tpg_connect(uri);
    char *m = tpg_map(sql);
    int v = -1;
    PGresult *r = c && m ? PQexec(c, m) : NULL;
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = atoi(PQgetvalue(r, 0, 0));
    else if (c)
        fprintf(stderr, "tpg: %s: %s", m ? m : sql, PQerrorMessage(c));
    PQclear(r);
    free(m);
    PQfinish(c);
    return v;
}

#endif
