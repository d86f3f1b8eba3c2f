/* store_fixture: what the store test programs (test_store.c,
 * test_store_users.c, test_resources.c) share — a temporary directory with
 * an SQLite file, or a fresh PostgreSQL database when $ACTIVECALLS_TEST_PG
 * is set (store_test_pg.h) — and the helpers every one of them needs:
 * open the store or fail, assert a status and message, and run raw SQL
 * beside the store (to corrupt, inspect or pre-shape a database).
 * Include after cmocka.h. */
#ifndef AC_TESTS_STORE_FIXTURE_H
#define AC_TESTS_STORE_FIXTURE_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "store_test_pg.h"

/* The SQLite schema as migrations 1 and 2 of src/store/dialect_sqlite.c
 * created it, frozen here on purpose: the migration tests pre-shape a file
 * the way an older build left it, so this must not follow later changes. */
#define SQLITE_SCHEMA_V1                                  \
    "CREATE TABLE sys_pops ("                             \
    "  id INTEGER PRIMARY KEY,"                           \
    "  name TEXT NOT NULL UNIQUE);"                       \
    "CREATE TABLE sys_nodes ("                            \
    "  id INTEGER PRIMARY KEY,"                           \
    "  name TEXT NOT NULL UNIQUE,"                        \
    "  rpc_endpoint TEXT NOT NULL,"                       \
    "  pop_id INTEGER NOT NULL REFERENCES sys_pops(id));" \
    "CREATE INDEX sys_nodes_pop_id_idx ON sys_nodes(pop_id);"
#define SQLITE_SCHEMA_V2                             \
    "CREATE TABLE gui_admin_users ("                 \
    "  id INTEGER PRIMARY KEY,"                      \
    "  username TEXT NOT NULL UNIQUE,"               \
    "  encrypted_password TEXT NOT NULL DEFAULT ''," \
    "  enabled INTEGER NOT NULL DEFAULT 1,"          \
    "  roles TEXT NOT NULL DEFAULT '',"              \
    "  allowed_ips TEXT NOT NULL DEFAULT '');"

typedef struct fixture {
    char dir[64];
    char path[128];
    store *s;
} fixture;

/* tag names the program's PostgreSQL database and its temp directory. */
static inline int fixture_setup(void **state, const char *tag)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/ac%s-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp", tag);
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/test.db", f->dir);
    if (tpg_on() && tpg_fresh(tag, f->path, sizeof f->path) != 0) {
        rmdir(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static inline int fixture_teardown(void **state)
{
    fixture *f = *state;
    store_close(f->s);
    const char *files[] = {"test.db", "test.db-wal", "test.db-shm", "test.db-journal", "garbage"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Opens f->path, failing the test with the store's message if it cannot. */
static inline store *open_ok(fixture *f)
{
    char err[STORE_ERR_LEN] = "";
    store *s = store_open(f->path, err);
    if (!s) fail_msg("store_open: %s", err);
    return s;
}

/* Asserts the status and that the message holds `part`. */
static inline void expect(store_status got, store_status want, const char *err, const char *part)
{
    if (got != want) fail_msg("status %d, wanted %d (message: '%s')", got, want, err);
    if (part && !strstr(err, part)) fail_msg("message '%s' lacks '%s'", err, part);
}

static inline int raw_int(const char *path, const char *sql)
{
    if (tpg_is_uri(path)) return tpg_raw_int(path, sql);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int v = -1;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static inline void raw_exec(const char *path, const char *sql)
{
    if (tpg_is_uri(path)) {
        if (tpg_raw_exec(path, sql) != 0) fail_msg("sql failed: %.200s", sql);
        return;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("sql: %s", msg);
    sqlite3_close(db);
}

#endif
