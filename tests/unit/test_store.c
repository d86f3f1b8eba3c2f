/* test_store: the store API (store.h) on its SQLite backend: creation and
 * migration, pops and nodes, the error classes and their messages, input
 * validation, hostile files and strings, and use from several threads; and
 * the dialects under the shared logic (dialect.h): how each renders
 * placeholders, column reads and id lists, and what its exec hands back —
 * text rows with NULL apart from "", rows changed, the error class of each
 * constraint, transactions, a callback that stops. Each test gets its own
 * mkdtemp directory.
 * With $ACTIVECALLS_TEST_PG set the same tests run on PostgreSQL
 * (store_test_pg.h); the SQLite-file ones are skipped there. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/dialect.h"
#include "store/store.h"
#include "store_fixture.h"

static int setup(void **state) { return fixture_setup(state, "store"); }

static store_pop mkpop(int64_t id, const char *name)
{
    store_pop p;
    memset(&p, 0, sizeof p);
    p.id = id;
    snprintf(p.name, sizeof p.name, "%s", name);
    return p;
}

static store_node mknode(int64_t id, const char *name, const char *ep, int64_t pop)
{
    store_node n;
    memset(&n, 0, sizeof n);
    n.id = id;
    n.pop_id = pop;
    snprintf(n.name, sizeof n.name, "%s", name);
    snprintf(n.rpc_endpoint, sizeof n.rpc_endpoint, "%s", ep);
    return n;
}

static void add_pop_ok(store *s, int64_t id, const char *name)
{
    char err[STORE_ERR_LEN] = "";
    store_pop p = mkpop(id, name);
    if (store_pop_add(s, &p, err) != STORE_OK) fail_msg("pop add %lld: %s", (long long)id, err);
}

static void add_node_ok(store *s, int64_t id, const char *name, const char *ep, int64_t pop)
{
    char err[STORE_ERR_LEN] = "";
    store_node n = mknode(id, name, ep, pop);
    if (store_node_add(s, &n, err) != STORE_OK) fail_msg("node add %lld: %s", (long long)id, err);
}

static size_t count_nodes(store *s)
{
    store_node *nodes = NULL;
    size_t n = 0;
    char err[STORE_ERR_LEN] = "";
    assert_int_equal(store_node_list(s, &nodes, &n, err), STORE_OK);
    free(nodes);
    return n;
}

static int file_byte(const char *path, long off)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, off, SEEK_SET), 0);
    int c = fgetc(fp);
    fclose(fp);
    return c;
}

/* ---- lifecycle ---- */

static void test_create_migrate_reopen(void **state)
{
    TPG_SQLITE_ONLY();
    fixture *f = *state;
    struct stat sb;
    assert_int_not_equal(stat(f->path, &sb), 0);
    f->s = open_ok(f);
    assert_int_equal(stat(f->path, &sb), 0);
    add_pop_ok(f->s, 1, "Kyiv");
    add_node_ok(f->s, 1, "sw1", "127.0.0.1:7080", 1);
    store_close(f->s);
    f->s = NULL;

    /* yeti's names with the schema prefix mapped to '_', and a version */
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 4); /* v1 -> 2 -> 3 -> 4 */
    assert_int_equal(raw_int(f->path,
                             "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                             " AND name IN ('sys_pops', 'sys_nodes')"),
                     2);
    assert_int_equal(raw_int(f->path,
                             "SELECT count(*) FROM sys_nodes WHERE id = 1 AND"
                             " name = 'sw1' AND rpc_endpoint = '127.0.0.1:7080'"
                             " AND pop_id = 1"),
                     1);
    assert_int_equal(file_byte(f->path, 18), 2); /* header: WAL write version */

    f->s = open_ok(f); /* already current: no migration runs again */
    store_node one;
    char err[STORE_ERR_LEN] = "";
    assert_int_equal(store_node_get(f->s, 1, &one, err), STORE_OK);
    assert_string_equal(one.name, "sw1");
    assert_int_equal(one.pop_id, 1);
}

static void test_two_handles_share_the_file(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    store *other = open_ok(f);
    add_pop_ok(f->s, 1, "p");
    add_node_ok(other, 5, "n5", "10.0.0.5:7080", 1);
    assert_int_equal(count_nodes(f->s), 1);
    store_close(other);
}

/* A PostgreSQL URI selects that backend; an unreachable server is a clean
 * error, quickly, whose message never shows the password. */
static void test_postgres_uri(void **state)
{
    char err[STORE_ERR_LEN] = "";
    assert_null(store_open("postgresql://yeti:secret@127.0.0.1:1/yeti?connect_timeout=2", err));
    assert_non_null(strstr(err, "database unavailable"));
    assert_null(strstr(err, "secret"));
    assert_null(store_open("postgres://yeti:secret@127.0.0.1:1/yeti", err));
    assert_null(strstr(err, "secret"));
    assert_null(store_open("", err));
    assert_true(err[0] != '\0');
    assert_null(store_open(NULL, err));
}

static void test_garbage_file_refused(void **state)
{
    TPG_SQLITE_ONLY();
    fixture *f = *state;
    char p[160], err[STORE_ERR_LEN] = "";
    snprintf(p, sizeof p, "%s/garbage", f->dir);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 4096; i++) fputc((i * 131 + 7) & 0xff, fp);
    fclose(fp);
    assert_null(store_open(p, err));
    if (!strstr(err, "not a database")) fail_msg("message: %s", err);
    assert_int_equal(file_byte(p, 0), 7); /* not written to */
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_size, 4096);
    assert_null(store_open(f->dir, err)); /* a directory */
    assert_true(err[0] != '\0');
}

/* A real database whose pages were overwritten: an error, never a crash. */
static void test_corrupt_pages(void **state)
{
    TPG_SQLITE_ONLY();
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "", name[32];
    f->s = open_ok(f);
    add_pop_ok(f->s, 1, "p1");
    for (int i = 1; i <= 200; i++) {
        snprintf(name, sizeof name, "node-%d", i);
        add_node_ok(f->s, i, name, "127.0.0.1:7080", 1);
    }
    store_close(f->s);
    f->s = NULL;
    raw_exec(f->path, "PRAGMA wal_checkpoint(TRUNCATE)");
    FILE *fp = fopen(f->path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 4096, SEEK_SET), 0); /* page 2 onwards */
    for (int i = 0; i < 3 * 4096; i++) fputc((i * 97 + 13) & 0xff, fp);
    fclose(fp);
    f->s = store_open(f->path, err);
    if (!f->s) {
        assert_true(err[0] != '\0');
        return;
    }
    store_node *nodes = NULL;
    size_t n = 0;
    store_status st = store_node_list(f->s, &nodes, &n, err);
    free(nodes);
    if (st != STORE_OK) assert_true(err[0] != '\0');
}

static void test_newer_version_refused(void **state)
{
    TPG_SQLITE_ONLY();
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);
    store_close(f->s);
    f->s = NULL;
    raw_exec(f->path, "PRAGMA user_version = 99");
    assert_null(store_open(f->path, err));
    if (!strstr(err, "schema version 99")) fail_msg("message: %s", err);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 99); /* left alone */
}

static void test_foreign_tables_refused(void **state)
{
    TPG_SQLITE_ONLY();
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    raw_exec(f->path, "CREATE TABLE sys_pops (x TEXT)"); /* user_version 0, not ours */
    assert_null(store_open(f->path, err));
    if (!strstr(err, "migration 1")) fail_msg("message: %s", err);
}

/* ---- pops ---- */

static void test_pops(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    store_pop *pops = NULL;
    size_t n = 99;
    f->s = open_ok(f);
    assert_int_equal(store_pop_list(f->s, &pops, &n, err), STORE_OK);
    assert_int_equal(n, 0);
    free(pops);

    add_pop_ok(f->s, 3, "Amsterdam");
    add_pop_ok(f->s, 1, "Київ"); /* UTF-8 is fine */
    assert_int_equal(store_pop_list(f->s, &pops, &n, err), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(pops[0].id, 1); /* ordered by id */
    assert_string_equal(pops[0].name, "Київ");
    assert_int_equal(pops[1].id, 3);
    assert_string_equal(pops[1].name, "Amsterdam");
    free(pops);

    store_pop one;
    assert_int_equal(store_pop_get(f->s, 3, &one, err), STORE_OK);
    assert_string_equal(one.name, "Amsterdam");
    expect(store_pop_get(f->s, 2, &one, err), STORE_NOT_FOUND, err, "pop 2 not found");

    assert_int_equal(store_pop_remove(f->s, 3, err), STORE_OK);
    expect(store_pop_remove(f->s, 3, err), STORE_NOT_FOUND, err, "pop 3 not found");
    assert_int_equal(store_pop_list(f->s, &pops, &n, err), STORE_OK);
    assert_int_equal(n, 1);
    free(pops);
}

static void test_pop_conflicts(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);
    add_pop_ok(f->s, 1, "a");
    store_pop p = mkpop(1, "b");
    expect(store_pop_add(f->s, &p, err), STORE_CONFLICT, err, "pop id 1 already exists");
    p = mkpop(2, "a");
    expect(store_pop_add(f->s, &p, err), STORE_CONFLICT, err, "pop name 'a' already exists");

    add_node_ok(f->s, 7, "n7", "127.0.0.1:1", 1);
    expect(store_pop_remove(f->s, 1, err), STORE_CONFLICT, err, "pop 1 is still used by 1 node");
    assert_int_equal(store_node_remove(f->s, 7, err), STORE_OK);
    assert_int_equal(store_pop_remove(f->s, 1, err), STORE_OK);
}

/* ---- nodes ---- */

static void test_nodes(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    store_node *nodes = NULL;
    size_t n = 0;
    f->s = open_ok(f);
    add_pop_ok(f->s, 1, "p1");
    add_pop_ok(f->s, 2, "p2");
    add_node_ok(f->s, 2, "sw2", "[2001:db8::2]:7080", 2);
    add_node_ok(f->s, 1, "sw1", "192.0.2.1:7080", 1);
    assert_int_equal(store_node_list(f->s, &nodes, &n, err), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(nodes[0].id, 1);
    assert_string_equal(nodes[0].name, "sw1");
    assert_string_equal(nodes[0].rpc_endpoint, "192.0.2.1:7080");
    assert_int_equal(nodes[0].pop_id, 1);
    assert_int_equal(nodes[1].id, 2);
    assert_string_equal(nodes[1].rpc_endpoint, "[2001:db8::2]:7080");
    assert_int_equal(nodes[1].pop_id, 2);
    free(nodes);

    assert_int_equal(store_node_remove(f->s, 1, err), STORE_OK);
    expect(store_node_remove(f->s, 1, err), STORE_NOT_FOUND, err, "node 1 not found");
    expect(store_node_remove(f->s, 9, err), STORE_NOT_FOUND, err, "node 9 not found");
    store_node one;
    expect(store_node_get(f->s, 1, &one, err), STORE_NOT_FOUND, err, "node 1 not found");
    assert_int_equal(count_nodes(f->s), 1);
}

static void test_node_conflicts(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);
    add_pop_ok(f->s, 1, "p1");
    add_node_ok(f->s, 2, "x", "127.0.0.1:7080", 1);
    store_node n = mknode(2, "y", "127.0.0.1:7081", 1);
    expect(store_node_add(f->s, &n, err), STORE_CONFLICT, err, "node id 2 already exists");
    n = mknode(3, "x", "127.0.0.1:7081", 1);
    expect(store_node_add(f->s, &n, err), STORE_CONFLICT, err, "node name 'x' already exists");
    n = mknode(4, "z", "127.0.0.1:7081", 3);
    expect(store_node_add(f->s, &n, err), STORE_CONFLICT, err, "pop 3 does not exist");
    assert_int_equal(count_nodes(f->s), 1);
}

static void test_invalid_endpoints(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    static const char *const bad[] = {
        "switch1.example.org:7080",
        "localhost:7080",
        "127.0.0.1:0",
        "127.0.0.1:70000",
        "127.0.0.1",
        "garbage",
        "",
        "::1:7080",
        "2001:db8::1:7080",
        "[::1]",
        "127.0.0.1:7080\n",
    };
    f->s = open_ok(f);
    add_pop_ok(f->s, 1, "p1");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        store_node n = mknode(1, "n", bad[i], 1);
        store_status st = store_node_add(f->s, &n, err);
        if (st != STORE_INVALID) fail_msg("endpoint '%s': status %d (%s)", bad[i], st, err);
        assert_non_null(strstr(err, "rpc_endpoint"));
    }
    store_node n = mknode(1, "n", "x", 1);
    memset(n.rpc_endpoint, '1', sizeof n.rpc_endpoint); /* no terminator at all */
    expect(store_node_add(f->s, &n, err), STORE_INVALID, err, "longer than");
    assert_int_equal(count_nodes(f->s), 0);
    add_node_ok(f->s, 1, "v6", "[::1]:7080", 1);
}

static void test_invalid_fields(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);
    add_pop_ok(f->s, 1, "p1");
    store_node n = mknode(0, "n", "127.0.0.1:1", 1);
    expect(store_node_add(f->s, &n, err), STORE_INVALID, err, "node id must be a positive");
    n = mknode(-5, "n", "127.0.0.1:1", 1);
    expect(store_node_add(f->s, &n, err), STORE_INVALID, err, "node id");
    n = mknode(1, "n", "127.0.0.1:1", 0);
    expect(store_node_add(f->s, &n, err), STORE_INVALID, err, "pop id");
    n = mknode(1, "", "127.0.0.1:1", 1);
    expect(store_node_add(f->s, &n, err), STORE_INVALID, err, "empty");
    n = mknode(1, "tab\there", "127.0.0.1:1", 1);
    expect(store_node_add(f->s, &n, err), STORE_INVALID, err, "printable");
    n = mknode(1, "bad \xff utf8", "127.0.0.1:1", 1);
    expect(store_node_add(f->s, &n, err), STORE_INVALID, err, "printable");
    n = mknode(1, "overlong \xc0\xaf", "127.0.0.1:1", 1);
    expect(store_node_add(f->s, &n, err), STORE_INVALID, err, "printable");
    n = mknode(1, "x", "127.0.0.1:1", 1);
    memset(n.name, 'a', sizeof n.name); /* 256 bytes, unterminated */
    expect(store_node_add(f->s, &n, err), STORE_INVALID, err, "longer than 255");
    memset(n.name, 'a', sizeof n.name);
    n.name[255] = '\0'; /* exactly 255 is fine */
    assert_int_equal(store_node_add(f->s, &n, err), STORE_OK);

    store_pop p = mkpop(2, "ctl\x7f");
    expect(store_pop_add(f->s, &p, err), STORE_INVALID, err, "printable");
    p = mkpop(0, "ok");
    expect(store_pop_add(f->s, &p, err), STORE_INVALID, err, "pop id");
    expect(store_pop_remove(f->s, 0, err), STORE_INVALID, err, "pop id");
    expect(store_node_remove(f->s, -1, err), STORE_INVALID, err, "node id");
    expect(store_pop_add(NULL, &p, err), STORE_ERR, err, "not open");
    expect(store_pop_list(f->s, NULL, NULL, err), STORE_ERR, err, NULL);
}

/* Quotes, backslashes, SQL and format metacharacters are data, not code. */
static void test_injection_stored_verbatim(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    static const char *const names[] = {
        "x'); DROP TABLE sys_nodes; --",
        "\"quoted\" 'single' `back` \\ %s %n ; -- /* */",
        "Robert'); DELETE FROM sys_pops WHERE ('1'='1",
    };
    f->s = open_ok(f);
    add_pop_ok(f->s, 1, "p' OR '1'='1");
    for (size_t i = 0; i < 3; i++) add_node_ok(f->s, (int64_t)i + 1, names[i], "127.0.0.1:7080", 1);
    store_node *nodes = NULL;
    size_t n = 0;
    assert_int_equal(store_node_list(f->s, &nodes, &n, err), STORE_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) assert_string_equal(nodes[i].name, names[i]);
    free(nodes);
    store_pop p;
    assert_int_equal(store_pop_get(f->s, 1, &p, err), STORE_OK);
    assert_string_equal(p.name, "p' OR '1'='1");
    store_node dup = mknode(9, names[0], "127.0.0.1:7080", 1);
    expect(store_node_add(f->s, &dup, err), STORE_CONFLICT, err, "DROP TABLE");
}

/* ---- threads ---- */

typedef struct worker {
    store *s;
    int base;
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char err[STORE_ERR_LEN], name[32], ep[32];
    for (int i = 0; i < 50; i++) {
        int id = w->base + i;
        snprintf(name, sizeof name, "n%d", id);
        snprintf(ep, sizeof ep, "10.0.%d.%d:7080", id / 250, id % 250 + 1);
        store_node n = mknode(id, name, ep, 1);
        if (store_node_add(w->s, &n, err) != STORE_OK) w->failures++;
        store_node *all = NULL;
        size_t cnt = 0;
        if (store_node_list(w->s, &all, &cnt, err) != STORE_OK) w->failures++;
        free(all);
        if (i % 2 && store_node_remove(w->s, id, err) != STORE_OK) w->failures++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    fixture *f = *state;
    enum { NT = 8 };
    pthread_t t[NT];
    worker w[NT];
    f->s = open_ok(f);
    add_pop_ok(f->s, 1, "p1");
    for (int i = 0; i < NT; i++) {
        w[i] = (worker){f->s, 1 + i * 100, 0};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(count_nodes(f->s), NT * 25);
}

/* ---- the dialects ---- */

typedef void (*render_fn)(buf *b, const char *column, size_t i, sql_type t, const sql_dialect *d);

static void render_param(buf *b, const char *column, size_t i, sql_type t, const sql_dialect *d)
{
    d->param(b, i, t);
}

static void render_column(buf *b, const char *column, size_t i, sql_type t, const sql_dialect *d)
{
    d->column(b, column, t);
}

static void render_id_in(buf *b, const char *column, size_t i, sql_type t, const sql_dialect *d)
{
    d->id_in(b, column, i);
}

static void want_render(const sql_dialect *d, render_fn fn, const char *column, size_t i, sql_type t,
                        const char *want)
{
    buf b;
    buf_init(&b);
    fn(&b, column, i, t, d);
    buf_putc(&b, '\0');
    assert_false(b.oom);
    if (strcmp(b.data, want) != 0) fail_msg("%s: got '%s', wanted '%s'", d->name, b.data, want);
    buf_free(&b);
}

/* What each dialect writes for the shared logic (no database needed). */
static void test_dialect_rendering(void **state)
{
    const sql_dialect *lite = &sql_sqlite, *pg = &sql_pg;
    /* SQLite: ?N whatever the type, columns as they are (affinity does the rest) */
    for (int t = SQLT_TEXT; t <= SQLT_NAMES; t++) {
        want_render(lite, render_param, NULL, 7, (sql_type)t, "?7");
        want_render(lite, render_column, "roles", 0, (sql_type)t, "roles");
    }
    want_render(lite, render_id_in, "id", 1, SQLT_INT, "id IN (SELECT value FROM json_each(?1))");
    assert_int_equal(lite->schema_sep, '_');
    assert_int_equal(lite->list_open, '[');
    assert_int_equal(lite->list_close, ']');
    assert_null(lite->schema); /* migrated at open */
    /* PostgreSQL: $N with the casts and array conversions yeti's types need */
    want_render(pg, render_param, NULL, 1, SQLT_INT, "$1::bigint");
    want_render(pg, render_param, NULL, 2, SQLT_BOOL, "$2::boolean");
    want_render(pg, render_param, NULL, 3, SQLT_TEXT, "$3");
    want_render(pg, render_param, NULL, 4, SQLT_DECIMAL, "$4");
    want_render(pg, render_param, NULL, 5, SQLT_TIME, "$5");
    want_render(pg, render_param, NULL, 6, SQLT_INETS, "string_to_array($6, ',')::inet[]");
    want_render(pg, render_param, NULL, 16, SQLT_HOSTS, "string_to_array($16, ',')::inet[]");
    want_render(pg, render_param, NULL, 8, SQLT_NAMES, "string_to_array($8, ',')::varchar[]");
    want_render(pg, render_column, "name", 0, SQLT_TEXT, "name");
    want_render(pg, render_column, "enabled", 0, SQLT_BOOL, "(enabled)::int");
    want_render(pg, render_column, "valid_from", 0, SQLT_TIME,
                "to_char(valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')");
    want_render(pg, render_column, "ip", 0, SQLT_INETS, "array_to_string(ip::text[], ',')");
    want_render(pg, render_column, "allowed_ips", 0, SQLT_HOSTS, "array_to_string(allowed_ips, ',')");
    want_render(pg, render_column, "roles", 0, SQLT_NAMES, "array_to_string(roles, ',')");
    want_render(pg, render_id_in, "id", 1, SQLT_INT, "id = ANY($1::bigint[])");
    assert_int_equal(pg->schema_sep, '.');
    assert_int_equal(pg->list_open, '{');
    assert_int_equal(pg->list_close, '}');
    assert_non_null(pg->schema);
    assert_true(pg->truncate && !lite->truncate);
}

/* The rows of one statement, as text ("NULL" marks SQL NULL). */
typedef struct got_rows {
    size_t n, ncols;
    char v[8][4][32];
    bool null[8][4];
    size_t stop_after; /* 0: never stop */
} got_rows;

static int got_row(void *ctx, size_t ncols, const char *const *vals, const size_t *lens)
{
    got_rows *g = ctx;
    if (g->stop_after && g->n == g->stop_after) return -1;
    assert_true(g->n < 8 && ncols <= 4);
    g->ncols = ncols;
    for (size_t c = 0; c < ncols; c++) {
        g->null[g->n][c] = vals[c] == NULL;
        if (vals[c]) assert_int_equal(strlen(vals[c]), lens[c]);
        snprintf(g->v[g->n][c], sizeof g->v[0][0], "%s", vals[c] ? vals[c] : "NULL");
    }
    g->n++;
    return 0;
}

/* One statement of either dialect, on an open dialect connection. */
typedef struct dconn {
    const sql_dialect *d;
    sql_conn c;
    bool pg;
} dconn;

static store_status dx(dconn *x, const char *lite_sql, const char *pg_sql, size_t n,
                       const char *const *params, got_rows *rows, uint64_t *changes, sql_error *e)
{
    sql_query q = {x->pg ? pg_sql : lite_sql, "sys.pops", n, params, rows ? got_row : NULL, rows};
    memset(e, 0, sizeof *e);
    return x->d->exec(&x->c, &q, changes, e);
}

static void dconn_open(const fixture *f, dconn *x)
{
    char err[STORE_ERR_LEN] = "";
    x->pg = tpg_is_uri(f->path);
    x->d = x->pg ? &sql_pg : &sql_sqlite;
    x->c = (sql_conn){.db = x->d->open(f->path, err)};
    if (!x->c.db) fail_msg("%s open: %s", x->d->name, err);
    sql_error e = {0};
    assert_int_equal(x->d->acquire(&x->c, &e), STORE_OK);
}

static void dconn_close(dconn *x)
{
    x->d->release(&x->c);
    x->d->close(x->c.db);
}

#define ADD_POP                                        \
    "INSERT INTO sys_pops (id, name) VALUES (?1, ?2)", \
        "INSERT INTO sys.pops (id, name) VALUES ($1::bigint, $2)"
#define ADD_NODE                                                                      \
    "INSERT INTO sys_nodes (id, name, rpc_endpoint, pop_id) VALUES (?1, ?2, ?3, ?4)", \
        "INSERT INTO sys.nodes (id, name, rpc_endpoint, pop_id)"                      \
        " VALUES ($1::bigint, $2, $3, $4::bigint)"
#define DEL_POP "DELETE FROM sys_pops WHERE id = ?1", "DELETE FROM sys.pops WHERE id = $1::bigint"

/* exec: text parameters in, text rows out, NULL apart from "", the rows a
 * write changed, a list parameter, a callback that stops. */
static void test_dialect_exec(void **state)
{
    fixture *f = *state;
    dconn x;
    dconn_open(f, &x);
    sql_error e;
    uint64_t changes = 99;
    const char *p1[] = {"1", "one"}, *p3[] = {"3", "three"}, *p5[] = {"5", ""};
    assert_int_equal(dx(&x, ADD_POP, 2, p1, NULL, &changes, &e), STORE_OK);
    assert_int_equal(changes, 1);
    assert_int_equal(dx(&x, ADD_POP, 2, p3, NULL, NULL, &e), STORE_OK);
    assert_int_equal(dx(&x, ADD_POP, 2, p5, NULL, NULL, &e), STORE_OK);

    got_rows g = {0};
    const char *nulls[] = {NULL, ""};
    assert_int_equal(dx(&x, "SELECT ?1, ?2, 'x'", "SELECT $1::text, $2::text, 'x'", 2, nulls, &g, NULL, &e),
                     STORE_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.ncols, 3);
    assert_true(g.null[0][0]);
    assert_false(g.null[0][1]); /* "" is not NULL */
    assert_string_equal(g.v[0][1], "");
    assert_string_equal(g.v[0][2], "x");

    /* an id list is one parameter, in the dialect's brackets */
    char list[32];
    snprintf(list, sizeof list, "%c5,1,99,1%c", x.d->list_open, x.d->list_close);
    const char *lp[] = {list};
    memset(&g, 0, sizeof g);
    assert_int_equal(dx(&x,
                        "SELECT id, name FROM sys_pops WHERE id IN"
                        " (SELECT value FROM json_each(?1)) ORDER BY id",
                        "SELECT id, name FROM sys.pops WHERE id = ANY($1::bigint[]) ORDER BY id", 1, lp, &g,
                        NULL, &e),
                     STORE_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.v[0][0], "1");
    assert_string_equal(g.v[0][1], "one");
    assert_string_equal(g.v[1][0], "5");
    assert_string_equal(g.v[1][1], "");

    /* a write that matches nothing changed nothing; one that does, says so */
    const char *gone[] = {"42"}, *all[] = {"0"};
    assert_int_equal(dx(&x, DEL_POP, 1, gone, NULL, &changes, &e), STORE_OK);
    assert_int_equal(changes, 0);
    assert_int_equal(dx(&x, "UPDATE sys_pops SET name = name || '!' WHERE id > ?1",
                        "UPDATE sys.pops SET name = name || '!' WHERE id > $1::bigint", 1, all, NULL,
                        &changes, &e),
                     STORE_OK);
    assert_int_equal(changes, 3);

    /* the callback stops the statement: STORE_ERR, nothing said */
    memset(&g, 0, sizeof g);
    g.stop_after = 1;
    assert_int_equal(dx(&x, "SELECT id FROM sys_pops ORDER BY id", "SELECT id FROM sys.pops ORDER BY id", 0,
                        NULL, &g, NULL, &e),
                     STORE_ERR);
    assert_int_equal(g.n, 1);
    assert_string_equal(e.msg, "");

    /* the connection is still good: more statements than SQLite keeps
     * prepared, each distinct */
    for (int i = 0; i < 80; i++) {
        char lite_sql[48], pg_sql[48];
        snprintf(lite_sql, sizeof lite_sql, "SELECT %d + ?1", i);
        snprintf(pg_sql, sizeof pg_sql, "SELECT %d + $1::bigint", i);
        memset(&g, 0, sizeof g);
        assert_int_equal(dx(&x, lite_sql, pg_sql, 1, all, &g, NULL, &e), STORE_OK);
        assert_int_equal(strtol(g.v[0][0], NULL, 10), i);
    }
    dconn_close(&x);
}

/* Runs one statement and checks its outcome: status, constraint class,
 * and a reason whenever it failed. */
static void want_class(dconn *x, const char *lite_sql, const char *pg_sql, size_t n,
                       const char *const *params, store_status st, sql_conflict kind)
{
    sql_error e;
    store_status got = dx(x, lite_sql, pg_sql, n, params, NULL, NULL, &e);
    if (got != st || e.conflict != kind)
        fail_msg("%s: status %d class %d, wanted %d %d (%s)", x->pg ? pg_sql : lite_sql, got, e.conflict, st,
                 kind, e.msg);
    if (st != STORE_OK && !e.msg[0]) fail_msg("%s: no reason given", x->pg ? pg_sql : lite_sql);
}

/* Each constraint has its class; other failures are STORE_ERR. */
static void test_dialect_error_classes(void **state)
{
    dconn x;
    dconn_open(*state, &x);
    const char *pop[] = {"1", "p1"}, *same_id[] = {"1", "p2"}, *same_name[] = {"2", "p1"},
               *no_name[] = {"3", NULL}, *one[] = {"1"};
    const char *orphan[] = {"1", "n1", "127.0.0.1:7080", "9"};
    const char *node[] = {"1", "n1", "127.0.0.1:7080", "1"};
    want_class(&x, ADD_POP, 2, pop, STORE_OK, SQLC_NONE);
    want_class(&x, ADD_POP, 2, same_id, STORE_CONFLICT, SQLC_PRIMARY);
    want_class(&x, ADD_POP, 2, same_name, STORE_CONFLICT, SQLC_UNIQUE);
    want_class(&x, ADD_POP, 2, no_name, STORE_CONFLICT, SQLC_OTHER); /* NOT NULL */
    want_class(&x, ADD_NODE, 4, orphan, STORE_CONFLICT, SQLC_FOREIGN);
    want_class(&x, ADD_NODE, 4, node, STORE_OK, SQLC_NONE);
    want_class(&x, DEL_POP, 1, one, STORE_CONFLICT, SQLC_FOREIGN); /* node 1 uses it */
    want_class(&x, "SELECT x FROM no_such_table", "SELECT x FROM no_such_table", 0, NULL, STORE_ERR,
               SQLC_NONE);
    dconn_close(&x);
}

/* begin / in_transaction / ROLLBACK, and a failed statement inside. */
static void test_dialect_transactions(void **state)
{
    fixture *f = *state;
    dconn x;
    dconn_open(f, &x);
    sql_error e;
    assert_false(x.d->in_transaction(&x.c));
    assert_int_equal(dx(&x, x.d->begin, x.d->begin, 0, NULL, NULL, NULL, &e), STORE_OK);
    assert_true(x.d->in_transaction(&x.c));
    const char *pop[] = {"1", "p1"};
    assert_int_equal(dx(&x, ADD_POP, 2, pop, NULL, NULL, &e), STORE_OK);
    assert_int_equal(dx(&x, ADD_POP, 2, pop, NULL, NULL, &e), STORE_CONFLICT);
    assert_true(x.d->in_transaction(&x.c)); /* a failed statement leaves it open */
    assert_int_equal(dx(&x, "ROLLBACK", "ROLLBACK", 0, NULL, NULL, NULL, &e), STORE_OK);
    assert_false(x.d->in_transaction(&x.c));
    got_rows g = {0};
    assert_int_equal(
        dx(&x, "SELECT count(*) FROM sys_pops", "SELECT count(*) FROM sys.pops", 0, NULL, &g, NULL, &e),
        STORE_OK);
    assert_string_equal(g.v[0][0], "0"); /* rolled back */
    dconn_close(&x);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_create_migrate_reopen),
        T(test_two_handles_share_the_file),
        T(test_postgres_uri),
        T(test_garbage_file_refused),
        T(test_corrupt_pages),
        T(test_newer_version_refused),
        T(test_foreign_tables_refused),
        T(test_pops),
        T(test_pop_conflicts),
        T(test_nodes),
        T(test_node_conflicts),
        T(test_invalid_endpoints),
        T(test_invalid_fields),
        T(test_injection_stored_verbatim),
        T(test_threads),
        T(test_dialect_rendering),
        T(test_dialect_exec),
        T(test_dialect_error_classes),
        T(test_dialect_transactions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
