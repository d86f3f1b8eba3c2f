/* it_pg: the service on PostgreSQL (docs/CONTRACT.md §8), end to end.
 *
 * The program starts its own private cluster (scripts/pg-test-cluster, in a
 * /tmp directory on a free loopback port) so that it may stop and start it
 * without disturbing other tests, and removes it at the end. Each test gets
 * a freshly initialised schema (`activecalls db init`). Runs only when
 * $ACTIVECALLS_TEST_PG is set (ctest sets it for the PostgreSQL tests);
 * otherwise every test is skipped.
 *
 *  - two `serve` instances on one database: a token from one is accepted by
 *    the other, a node added through the CLI is listed by both, a user
 *    disabled through the CLI is refused by both;
 *  - PostgreSQL stopped mid-run: requests get a 503 JSON:API error quickly;
 *    once it is back the server answers again by itself;
 *  - a read-only role (SELECT only, as on a yeti replica): listing works,
 *    writing commands fail with a message naming the missing privilege. */
#include "harness.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_state[128]; /* the cluster's state dir ("" = no cluster) */
static char g_uri[256];

static int cluster(const char *verb)
{
    const char *src = getenv("AC_SOURCE_DIR");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s/scripts/pg-test-cluster' %s '%s' >/dev/null", src ? src : ".", verb,
             g_state);
    return system(cmd);
}

static int group_setup(void **state)
{
    int rc = h_group_setup(state);
    if (rc != 0 || !getenv("ACTIVECALLS_TEST_PG")) return rc;
    snprintf(g_state, sizeof g_state, "/tmp/acitpg-XXXXXX");
    if (!mkdtemp(g_state) || cluster("start") != 0) {
        fprintf(stderr, "it_pg: cannot start a PostgreSQL cluster\n");
        return -1;
    }
    char path[200];
    snprintf(path, sizeof path, "%s/uri", g_state);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(g_uri, sizeof g_uri, f)) {
        if (f) fclose(f);
        return -1;
    }
    fclose(f);
    g_uri[strcspn(g_uri, "\r\n")] = '\0';
    return 0;
}

static int group_teardown(void **state)
{
    if (g_state[0]) {
        cluster("stop");
        rmdir(g_state);
    }
    return h_group_teardown(state);
}

/* The database with the service's schema freshly made; its URI. */
static const char *fresh_db(void)
{
    if (!g_uri[0]) {
        skip();
        return NULL;
    }
    PGconn *c = PQconnectdb(g_uri);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c,
                         "SET client_min_messages = warning;"
                         "DROP SCHEMA IF EXISTS sys, gui, class4, billing CASCADE;"
                         "DROP TABLE IF EXISTS public.contractors CASCADE;");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
    char *out = NULL, *err = NULL;
    int rc = h_cli(&out, &err, "db", "init", "--db", g_uri, NULL);
    if (rc != 0) fail_msg("db init: %s", err);
    return g_uri;
}

static h_response *get_with_token(const h_proc *server, const char *token)
{
    const char *const hdrs[] = {h_strf("Authorization: Bearer %s", token), "Accept: application/vnd.api+json",
                                NULL};
    return h_http("GET", h_url(server, "/api/rest/admin/active-calls"), hdrs, NULL);
}

static void test_two_instances(void **state)
{
    const char *db = fresh_db();
    if (!db) return;
    h_proc *a = h_start_server(db, "--user-cache-ms", "0", "--node-cache-ms", "0", NULL);
    h_proc *b = h_start_server(db, "--user-cache-ms", "0", "--node-cache-ms", "0", NULL);
    /* a node added through the CLI: both instances list its calls */
    h_proc *sim = h_start_nodesim(1, 1, "--calls", "3", NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, sim->addr, 1);
    /* a's token on b, b's on a */
    h_response *r = get_with_token(b, a->token);
    assert_int_equal(r->status, 200);
    assert_int_equal(json_array_size(json_object_get(h_json(r), "data")), 3);
    r = get_with_token(a, b->token);
    assert_int_equal(r->status, 200);
    assert_int_equal(json_array_size(json_object_get(h_json(r), "data")), 3);
    /* the user disabled through the CLI: refused by both */
    h_set_user_enabled(db, H_ADMIN_USERNAME, false);
    assert_true(get_with_token(a, a->token)->status >= 400);
    assert_true(get_with_token(b, a->token)->status >= 400);
    h_set_user_enabled(db, H_ADMIN_USERNAME, true);
    assert_int_equal(get_with_token(b, a->token)->status, 200);
    assert_int_equal(h_stop(a), 0);
    assert_int_equal(h_stop(b), 0);
    assert_int_equal(h_stop(sim), 0);
}

static void test_outage_and_recovery(void **state)
{
    const char *db = fresh_db();
    if (!db) return;
    /* a password in the URI (trust authentication ignores it) must never
     * reach the server's log, outage messages included (checked below: the
     * harness itself writes the command line at the top of the log) */
    const char *at = strchr(db, '@');
    assert_non_null(at);
    const char *pw = "Sekr3t-pw-Q7x";
    const char *with_pw = h_strf("postgresql://acpg:%s%s", pw, at);
    h_proc *s = h_start_server(with_pw, "--user-cache-ms", "0", NULL);
    assert_int_equal(h_listing(s, NULL)->status, 200);
    assert_int_equal(cluster("pause"), 0);
    for (int i = 0; i < 3; i++) {
        h_response *r = h_listing(s, NULL);
        if (r->status != 503) fail_msg("status %ld during the outage: %s", r->status, r->body);
        assert_true(r->elapsed_ms < 5000);
        h_assert_error(r, 503, 0, "Store unavailable", NULL, "503");
    }
    assert_int_equal(cluster("resume"), 0);
    long status = 0;
    double t0 = h_now_ms();
    while (h_now_ms() - t0 < 15000) {
        status = h_listing(s, NULL)->status;
        if (status == 200) break;
        usleep(200 * 1000);
    }
    assert_int_equal(status, 200);
    assert_int_equal(h_stop(s), 0);
    FILE *log = fopen(s->log_path, "r");
    assert_non_null(log);
    char line[4096];
    int errors = 0;
    while (fgets(line, sizeof line, log)) {
        if (strncmp(line, "harness:", 8) == 0) continue;
        if (strstr(line, "database unavailable")) errors++;
        if (strstr(line, pw)) fail_msg("the server logged the URI password: %s", line);
    }
    fclose(log);
    assert_true(errors > 0); /* the outage was logged, without the password */
}

/* base URI with its user replaced by `user` (trust authentication). */
static const char *uri_as(const char *user)
{
    const char *at = strchr(g_uri, '@');
    assert_non_null(at);
    return h_strf("postgresql://%s%s", user, at);
}

static void test_read_only_role(void **state)
{
    const char *db = fresh_db();
    if (!db) return;
    h_add_pop(db, 1);
    PGconn *c = PQconnectdb(g_uri);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c,
                         "SET client_min_messages = warning;"
                         "DROP ROLE IF EXISTS acro; CREATE ROLE acro LOGIN;"
                         "GRANT USAGE ON SCHEMA sys, gui, class4, billing TO acro;"
                         "GRANT SELECT ON ALL TABLES IN SCHEMA sys, gui, class4, billing,"
                         " public TO acro;");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
    const char *ro = uri_as("acro");
    char *out = NULL, *err = NULL;
    assert_int_equal(h_cli(&out, &err, "pop", "list", "--db", ro, NULL), 0);
    assert_non_null(strstr(out, "pop-1"));
    assert_int_equal(h_cli(&out, &err, "node", "add", "--id", "1", "--name", "n1", "--endpoint",
                           "127.0.0.1:7080", "--pop-id", "1", "--db", ro, NULL),
                     1);
    if (!strstr(err, "INSERT privilege") || !strstr(err, "sys.nodes")) fail_msg("message: %s", err);
    assert_int_equal(h_cli(&out, &err, "user", "enable", "--username", "x", "--db", ro, NULL), 1);
    if (!strstr(err, "UPDATE privilege")) fail_msg("message: %s", err);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, h_setup, h_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_two_instances),
        T(test_outage_and_recovery),
        T(test_read_only_role),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
