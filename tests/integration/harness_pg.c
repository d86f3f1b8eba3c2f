/* harness_pg: the integration tests' PostgreSQL helpers (harness.h):
 * statements on a URI, and a fresh database with the service's schema on
 * the shared test cluster (ACTIVECALLS_TEST_PG). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

static PGconn *pg_connect(const char *uri)
{
    PGconn *c = PQconnectdb(uri);
    if (PQstatus(c) != CONNECTION_OK) fail_msg("connect: %s", PQerrorMessage(c));
    return c;
}

long long h_pg_int(const char *uri, const char *sql)
{
    PGconn *c = pg_connect(uri);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("%s: %s", sql, PQerrorMessage(c));
    long long v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return v;
}

void h_pg_exec(const char *uri, const char *sql)
{
    PGconn *c = pg_connect(uri);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

const char *h_pg_fresh(const char *name)
{
    const char *v = getenv("ACTIVECALLS_TEST_PG");
    if (!v || !*v) return NULL;
    char base[256];
    FILE *f = strncmp(v, "postgres", 8) == 0 ? NULL : fopen(v, "r");
    if (f) {
        if (!fgets(base, sizeof base, f)) base[0] = '\0';
        fclose(f);
    } else {
        snprintf(base, sizeof base, "%s", v);
    }
    base[strcspn(base, "\r\n")] = '\0';
    h_pg_exec(base, h_strf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name));
    h_pg_exec(base, h_strf("CREATE DATABASE %s", name));
    char *slash = strrchr(base, '/');
    assert_non_null(slash);
    const char *uri = h_strf("%.*s/%s", (int)(slash - base), base, name);
    char *err = NULL;
    if (h_cli(NULL, &err, "db", "init", "--db", uri, NULL) != 0) fail_msg("db init: %s", err);
    return uri;
}
