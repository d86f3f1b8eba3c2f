/* store_sql: the store's logic (store_sql.h), written once for every
 * database over a dialect (dialect.h) that only renders and runs SQL.
 *
 * Design. What each backend used to write for itself lives here:
 *  - The SQL, built at open from the constants of res_types (resources.h)
 *    and of the field tables below (pops, nodes, admin users), in the
 *    dialect's form: yeti's table names as it writes them, placeholders and
 *    column reads through its hooks. Only those constants ever become SQL
 *    text; every value is a parameter.
 *  - Rows to structs and back: a field table says, per column, its type and
 *    where it lives in the struct; the same table makes the select list,
 *    the insert's columns and its parameters, and reads a row. A text that
 *    does not fit its field is an error ("... has a value too long"), never
 *    truncated; SQL NULL reads as 0, false or "".
 *  - Fetch: one statement per call whatever the number of ids (they go as
 *    one id-list parameter), the rows packed into one res_rows block on
 *    util/buf.h.
 *  - Outcomes: not found is no row, or no row changed; a conflict is worded
 *    from the kind of constraint the dialect reports (primary key: the id
 *    is taken; unique: the name; foreign key: the pop is missing, or the
 *    row is still used).
 *  - Replace (the demo data): one transaction that empties the tables and
 *    inserts the rows; yeti's secret columns (gateway and SMTP users and
 *    passwords), never selected, get random dummy values.
 *  - The query counter: every statement handed to the dialect counts one,
 *    BEGIN and COMMIT included; what a dialect runs on its own (SQLite's
 *    migrations at open, PostgreSQL's second try of a read on a fresh
 *    connection) does not.
 * Threads: the SQL is fixed at open, the counter is atomic, and the dialect
 * serialises its connections between acquire and release. */
#include "store/store_sql.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/pool.h"
#include "util/timefmt.h"

#define NULL_OFF SIZE_MAX

/* ---- pops, nodes and admin users as data ---- */

typedef struct field {
    const char *column;
    sql_type type; /* SQLT_INT: int64_t, SQLT_BOOL: bool, others: char[size] */
    size_t off, size;
    bool secret; /* never listed (the password hash) */
} field;

#define NUM(T, m, t)                    \
    {                                   \
#m, t, offsetof(T, m), 0, false \
    }
#define STR(T, m, t)                                      \
    {                                                     \
#m, t, offsetof(T, m), sizeof(((T *)0)->m), false \
    }

static const field pop_fields[] = {
    NUM(store_pop, id, SQLT_INT),
    STR(store_pop, name, SQLT_TEXT),
};

static const field node_fields[] = {
    NUM(store_node, id, SQLT_INT),
    STR(store_node, name, SQLT_TEXT),
    STR(store_node, rpc_endpoint, SQLT_TEXT),
    NUM(store_node, pop_id, SQLT_INT),
};

static const field user_fields[] = {
    NUM(store_admin_user, id, SQLT_INT),
    STR(store_admin_user, username, SQLT_TEXT),
    {"encrypted_password", SQLT_TEXT, offsetof(store_admin_user, encrypted_password),
     sizeof(((store_admin_user *)0)->encrypted_password), true},
    NUM(store_admin_user, enabled, SQLT_BOOL),
    STR(store_admin_user, roles, SQLT_NAMES),
    STR(store_admin_user, allowed_ips, SQLT_HOSTS),
};

#define FIELDS_MAX 6 /* the most fields of a table above */
_Static_assert(sizeof user_fields / sizeof user_fields[0] <= FIELDS_MAX, "FIELDS_MAX");

/* What sql_user_set changes, and how messages say it. */
static const struct {
    const field *f;
    const char *doing;
} user_changes[SQL_USER_CHANGES] = {
    [SQL_SET_PASSWORD] = {&user_fields[2], "changing the password"},
    [SQL_SET_ENABLED] = {&user_fields[3], "changing the state"},
};

/* The statements, built at open. */
enum {
    Q_POP_LIST,
    Q_POP_GET,
    Q_POP_ADD,
    Q_POP_REMOVE,
    Q_POP_NODES,
    Q_NODE_LIST,
    Q_NODE_GET,
    Q_NODE_ADD,
    Q_NODE_REMOVE,
    Q_USER_LIST,
    Q_USER_GET,
    Q_USER_FIND,
    Q_USER_ADD,
    Q_USER_SET,                                    /* + sql_user_change */
    Q_FETCH = Q_USER_SET + SQL_USER_CHANGES,       /* + res_type_id */
    Q_HIST_ADD = Q_FETCH + RT_COUNT,               /* + store_hist_kind */
    Q_HIST_READ = Q_HIST_ADD + STORE_HIST_KINDS,   /* + store_hist_kind */
    Q_HIST_PRUNE = Q_HIST_READ + STORE_HIST_KINDS, /* + store_hist_kind; + STORE_HIST_KINDS: the slots */
    Q_HIST_TOTAL = Q_HIST_PRUNE + STORE_HIST_KINDS + 1,
    Q_HIST_SLOT,
    Q_HIST_LOCK, /* none when the dialect has no lock */
    Q_COUNT
};

/* The history's tables (docs/CONTRACT.md §10): yeti's name, the subject
 * column and the count columns (count2 only for accounts). */
static const struct {
    const char *table, *subject, *count, *count2;
} hist_tables[STORE_HIST_KINDS] = {
    [STORE_HIST_NODES] = {"stats.active_calls", "node_id", "count", NULL},
    [STORE_HIST_ACCOUNTS] = {"stats.active_call_accounts", "account_id", "originated_count",
                             "terminated_count"},
    [STORE_HIST_ORIG_GW] = {"stats.active_call_orig_gateways", "gateway_id", "count", NULL},
    [STORE_HIST_TERM_GW] = {"stats.active_call_term_gateways", "gateway_id", "count", NULL},
};
#define HIST_SLOTS "stats.active_call_slots"

typedef struct entity {
    const char *what;    /* "pop", for messages */
    const char *table;   /* yeti's name */
    const field *fields; /* fields[0] is the id, fields[1] the unique name */
    size_t nfields, size;
    const char *name;           /* what a unique conflict names ("pop name") */
    const char *ref;            /* what a foreign key conflict on add names (the last field's) */
    const char *used_by;        /* what refers to a row, when a foreign key refuses a remove */
    bool assign_id;             /* an id of 0 stores max(id) + 1; messages name the row by its name */
    int list, get, add, remove; /* statements; -1: none */
    int refs;                   /* statement counting the used_by rows of P1; -1: none */
} entity;

#define ENTITY(T, f) .fields = f, .nfields = sizeof f / sizeof f[0], .size = sizeof(T)

static const entity entities[SQL_KINDS] = {
    [SQL_POPS] = {.what = "pop",
                  .table = "sys.pops",
                  ENTITY(store_pop, pop_fields),
                  .name = "pop name",
                  .used_by = "node",
                  .list = Q_POP_LIST,
                  .get = Q_POP_GET,
                  .add = Q_POP_ADD,
                  .remove = Q_POP_REMOVE,
                  .refs = Q_POP_NODES},
    [SQL_NODES] = {.what = "node",
                   .table = "sys.nodes",
                   ENTITY(store_node, node_fields),
                   .name = "node name",
                   .ref = "pop",
                   .list = Q_NODE_LIST,
                   .get = Q_NODE_GET,
                   .add = Q_NODE_ADD,
                   .remove = Q_NODE_REMOVE,
                   .refs = -1},
    [SQL_USERS] = {.what = "user",
                   .table = "gui.admin_users",
                   ENTITY(store_admin_user, user_fields),
                   .name = "username",
                   .assign_id = true,
                   .list = Q_USER_LIST,
                   .get = Q_USER_GET,
                   .add = Q_USER_ADD,
                   .remove = -1,
                   .refs = -1},
};
static const entity *const nodes = &entities[SQL_NODES], *const users = &entities[SQL_USERS];

/* Columns yeti has and the service never reads, filled on replace: a
 * prefix, then 12 random hex digits; or 32 of them. */
static const struct {
    res_type_id type;
    const char *column, *prefix;
} secrets[] = {
    {RT_GATEWAYS, "auth_user", "gw-"},
    {RT_GATEWAYS, "auth_password", NULL},
    {RT_GATEWAYS, "incoming_auth_password", NULL},
    {RT_SMTP_CONNECTIONS, "auth_user", "mailer-"},
    {RT_SMTP_CONNECTIONS, "auth_password", NULL},
};

#define TABLE_MAX 40 /* a table's name, schema included */

typedef struct stmt {
    char *sql;
    char table[TABLE_MAX]; /* as the dialect writes it, for messages */
} stmt;

struct store {
    const sql_dialect *d;
    void *db;
    _Atomic uint64_t queries;
    stmt q[Q_COUNT];
};

static sql_type type_of(col_kind k)
{
    switch (k) {
    case COL_INT:
    case COL_REL: return SQLT_INT;
    case COL_BOOL: return SQLT_BOOL;
    case COL_DECIMAL: return SQLT_DECIMAL;
    case COL_TIME: return SQLT_TIME;
    case COL_INET_LIST: return SQLT_INETS;
    case COL_TEXT: break;
    }
    return SQLT_TEXT;
}

static const char *int_text(int64_t v, char out[24])
{
    snprintf(out, 24, "%lld", (long long)v);
    return out;
}

/* ---- building the SQL ---- */

/* yeti's "schema.table" as the dialect writes it, into out[cap] */
static const char *table_name(const store *s, const char *yeti, char *out, size_t cap)
{
    size_t i = 0;
    for (; yeti[i] && i + 1 < cap; i++) out[i] = yeti[i] == '.' ? s->d->schema_sep : yeti[i];
    out[i] = '\0';
    return out;
}

static void put_table(const store *s, buf *b, const char *yeti)
{
    char name[TABLE_MAX];
    buf_puts(b, table_name(s, yeti, name, sizeof name));
}

static void put_select(const store *s, buf *b, const entity *en, bool listing)
{
    buf_puts(b, "SELECT ");
    for (size_t i = 0, n = 0; i < en->nfields; i++) {
        if (listing && en->fields[i].secret) continue;
        if (n++) buf_puts(b, ", ");
        s->d->column(b, en->fields[i].column, en->fields[i].type);
    }
    buf_puts(b, " FROM ");
    put_table(s, b, en->table);
}

/* "INSERT INTO t (id, ...) VALUES (P1, ...)"; an assigned id is
 * coalesce(P1, max(id) + 1) and comes back (RETURNING id). */
static void put_insert(const store *s, buf *b, const entity *en)
{
    buf_puts(b, "INSERT INTO ");
    put_table(s, b, en->table);
    for (size_t i = 0; i < en->nfields; i++) {
        buf_puts(b, i ? ", " : " (");
        buf_puts(b, en->fields[i].column);
    }
    buf_puts(b, ") VALUES (");
    for (size_t i = 0; i < en->nfields; i++) {
        if (i) buf_puts(b, ", ");
        if (i == 0 && en->assign_id) buf_puts(b, "coalesce(");
        s->d->param(b, i + 1, en->fields[i].type);
        if (i > 0 || !en->assign_id) continue;
        buf_puts(b, ", (SELECT coalesce(max(id), 0) + 1 FROM ");
        put_table(s, b, en->table);
        buf_puts(b, "))");
    }
    buf_puts(b, en->assign_id ? ") RETURNING id" : ")");
}

/* "<verb> t <tail>P1" with P1 an integer or text key */
static void put_keyed(const store *s, buf *b, const char *verb, const char *table, const char *tail,
                      sql_type key)
{
    buf_puts(b, verb);
    put_table(s, b, table);
    buf_puts(b, tail);
    s->d->param(b, 1, key);
}

/* "UPDATE gui.admin_users SET column = P2 WHERE username = P1" */
static void put_user_update(const store *s, buf *b, const char *column, sql_type t)
{
    buf_puts(b, "UPDATE ");
    put_table(s, b, users->table);
    buf_printf(b, " SET %s = ", column);
    s->d->param(b, 2, t);
    buf_puts(b, " WHERE username = ");
    s->d->param(b, 1, SQLT_TEXT);
}

/* "SELECT id, <cols> FROM t WHERE id is in P1 ORDER BY id" */
static void put_fetch(const store *s, buf *b, const res_type *rt)
{
    buf_puts(b, "SELECT id");
    for (size_t i = 0; i < rt->ncols; i++) {
        buf_puts(b, ", ");
        s->d->column(b, rt->cols[i].column, type_of(rt->cols[i].kind));
    }
    buf_puts(b, " FROM ");
    put_table(s, b, rt->table);
    buf_puts(b, " WHERE ");
    s->d->id_in(b, "id", 1);
    buf_puts(b, " ORDER BY id");
}

/* "INSERT INTO t (subject, count[, count2], created_at) VALUES (P1, ...)" */
static void put_hist_add(const store *s, buf *b, store_hist_kind k)
{
    buf_puts(b, "INSERT INTO ");
    put_table(s, b, hist_tables[k].table);
    buf_printf(b, " (%s, %s", hist_tables[k].subject, hist_tables[k].count);
    if (hist_tables[k].count2) buf_printf(b, ", %s", hist_tables[k].count2);
    buf_puts(b, ", created_at) VALUES (");
    size_t n = hist_tables[k].count2 ? 3 : 2;
    for (size_t i = 1; i <= n; i++) {
        s->d->param(b, i, SQLT_INT);
        buf_puts(b, ", ");
    }
    s->d->param(b, n + 1, SQLT_TIME);
    buf_puts(b, ")");
}

/* "P<from> <= created_at AND created_at <= P<from + 1>" */
static void put_hist_range(const store *s, buf *b, size_t from)
{
    buf_puts(b, "created_at >= ");
    s->d->param(b, from, SQLT_TIME);
    buf_puts(b, " AND created_at <= ");
    s->d->param(b, from + 1, SQLT_TIME);
}

/* Per subject and bucket (P4 seconds) of the subjects in P1 within
 * [P2, P3]: subject, bucket, max, max2, sum, sum2, samples; P5 rows. */
static void put_hist_read(const store *s, buf *b, store_hist_kind k)
{
    const char *c1 = hist_tables[k].count, *c2 = hist_tables[k].count2;
    buf_printf(b, "SELECT %s, (", hist_tables[k].subject);
    s->d->epoch(b, "created_at");
    buf_puts(b, " / ");
    s->d->param(b, 4, SQLT_INT);
    buf_puts(b, ") * ");
    s->d->param(b, 4, SQLT_INT);
    if (c2)
        buf_printf(b, " AS b, max(%s), max(%s), sum(%s), sum(%s), count(*) FROM ", c1, c2, c1, c2);
    else
        buf_printf(b, " AS b, max(%s), 0, sum(%s), 0, count(*) FROM ", c1, c1);
    put_table(s, b, hist_tables[k].table);
    buf_puts(b, " WHERE ");
    s->d->id_in(b, hist_tables[k].subject, 1);
    buf_puts(b, " AND ");
    put_hist_range(s, b, 2);
    buf_printf(b, " GROUP BY %s, b ORDER BY b, %s LIMIT ", hist_tables[k].subject, hist_tables[k].subject);
    s->d->param(b, 5, SQLT_INT);
}

/* The nodes' total per slot within [P1, P2], per bucket of P3 seconds:
 * the same columns as put_hist_read, subject 0; P4 rows. */
static void put_hist_total(const store *s, buf *b)
{
    buf_puts(b, "SELECT 0, (t / ");
    s->d->param(b, 3, SQLT_INT);
    buf_puts(b, ") * ");
    s->d->param(b, 3, SQLT_INT);
    buf_puts(b, " AS b, max(c), 0, sum(c), 0, count(*) FROM (SELECT ");
    s->d->epoch(b, "created_at");
    buf_puts(b, " AS t, sum(count) AS c FROM ");
    put_table(s, b, hist_tables[STORE_HIST_NODES].table);
    buf_puts(b, " WHERE ");
    put_hist_range(s, b, 1);
    buf_puts(b, " GROUP BY created_at) x GROUP BY b ORDER BY b LIMIT ");
    s->d->param(b, 4, SQLT_INT);
}

/* "DELETE FROM t WHERE key IN (SELECT key FROM t WHERE created_at < P1
 * LIMIT P2)": one batch of old rows. */
static void put_hist_prune(const store *s, buf *b, const char *table, const char *key)
{
    buf_puts(b, "DELETE FROM ");
    put_table(s, b, table);
    buf_printf(b, " WHERE %s IN (SELECT %s FROM ", key, key);
    put_table(s, b, table);
    buf_puts(b, " WHERE created_at < ");
    s->d->param(b, 1, SQLT_TIME);
    buf_puts(b, " LIMIT ");
    s->d->param(b, 2, SQLT_INT);
    buf_puts(b, ")");
}

/* Makes b statement q of s (b is empty afterwards); false when memory ran
 * out. */
static bool keep(store *s, int q, buf *b, const char *table)
{
    assert(q >= 0 && q < Q_COUNT && !s->q[q].sql);
    s->q[q].sql = buf_steal(b);
    buf_free(b);
    table_name(s, table, s->q[q].table, sizeof s->q[q].table);
    return s->q[q].sql != NULL;
}

static bool build_sql(store *s)
{
    buf b;
    buf_init(&b);
    bool ok = true;
    for (int k = 0; k < SQL_KINDS; k++) {
        const entity *en = &entities[k];
        put_select(s, &b, en, true);
        buf_puts(&b, " ORDER BY id");
        ok &= keep(s, en->list, &b, en->table);
        put_select(s, &b, en, false);
        buf_puts(&b, " WHERE id = ");
        s->d->param(&b, 1, SQLT_INT);
        ok &= keep(s, en->get, &b, en->table);
        put_insert(s, &b, en);
        ok &= keep(s, en->add, &b, en->table);
        if (en->remove < 0) continue;
        put_keyed(s, &b, "DELETE FROM ", en->table, " WHERE id = ", SQLT_INT);
        ok &= keep(s, en->remove, &b, en->table);
    }
    put_keyed(s, &b, "SELECT count(*) FROM ", nodes->table, " WHERE pop_id = ", SQLT_INT);
    ok &= keep(s, Q_POP_NODES, &b, nodes->table);
    put_select(s, &b, users, false);
    buf_puts(&b, " WHERE username = ");
    s->d->param(&b, 1, SQLT_TEXT);
    ok &= keep(s, Q_USER_FIND, &b, users->table);
    for (int c = 0; c < SQL_USER_CHANGES; c++) {
        put_user_update(s, &b, user_changes[c].f->column, user_changes[c].f->type);
        ok &= keep(s, Q_USER_SET + c, &b, users->table);
    }
    for (int t = 0; t < RT_COUNT; t++) {
        put_fetch(s, &b, &res_types[t]);
        ok &= keep(s, Q_FETCH + t, &b, res_types[t].table);
    }
    for (int k = 0; k < STORE_HIST_KINDS; k++) {
        put_hist_add(s, &b, (store_hist_kind)k);
        ok &= keep(s, Q_HIST_ADD + k, &b, hist_tables[k].table);
        put_hist_read(s, &b, (store_hist_kind)k);
        ok &= keep(s, Q_HIST_READ + k, &b, hist_tables[k].table);
        put_hist_prune(s, &b, hist_tables[k].table, "id");
        ok &= keep(s, Q_HIST_PRUNE + k, &b, hist_tables[k].table);
    }
    put_hist_prune(s, &b, HIST_SLOTS, "created_at");
    ok &= keep(s, Q_HIST_PRUNE + STORE_HIST_KINDS, &b, HIST_SLOTS);
    put_hist_total(s, &b);
    ok &= keep(s, Q_HIST_TOTAL, &b, hist_tables[STORE_HIST_NODES].table);
    /* a slot already written changes no row */
    buf_puts(&b, "INSERT INTO ");
    put_table(s, &b, HIST_SLOTS);
    buf_puts(&b, " (created_at, writer) VALUES (");
    s->d->param(&b, 1, SQLT_TIME);
    buf_puts(&b, ", ");
    s->d->param(&b, 2, SQLT_TEXT);
    buf_puts(&b, ") ON CONFLICT DO NOTHING");
    ok &= keep(s, Q_HIST_SLOT, &b, HIST_SLOTS);
    if (s->d->try_lock) {
        buf_puts(&b, s->d->try_lock);
        ok &= keep(s, Q_HIST_LOCK, &b, "the history lock");
    }
    return ok;
}

/* ---- open, close ---- */

store *sql_open(const sql_dialect *d, const char *location, char err[STORE_ERR_LEN])
{
    assert(d && location);
    store *s = calloc(1, sizeof *s);
    if (!s) {
        store_fail(err, STORE_ERR, "out of memory");
        return NULL;
    }
    s->d = d;
    if (!build_sql(s)) {
        store_fail(err, STORE_ERR, "out of memory");
        sql_close(s);
        return NULL;
    }
    s->db = d->open(location, err);
    if (!s->db) {
        sql_close(s);
        return NULL;
    }
    return s;
}

void sql_close(store *s)
{
    if (!s) return;
    if (s->db) s->d->close(s->db);
    for (int q = 0; q < Q_COUNT; q++) free(s->q[q].sql);
    free(s);
}

uint64_t sql_query_count(const store *s)
{
    assert(s);
    return atomic_load(&s->queries);
}

/* ---- running statements ---- */

/* Takes a connection: the dialect may wait, so never on a loop thread. */
static store_status hold(store *s, sql_conn *c, sql_error *e)
{
    assert(pool_may_block());
    memset(e, 0, sizeof *e);
    *c = (sql_conn){.db = s->db};
    return s->d->acquire(c, e);
}

/* Runs q on c, counting it. */
static store_status run(store *s, sql_conn *c, const sql_query *q, uint64_t *changes, sql_error *e)
{
    memset(e, 0, sizeof *e);
    atomic_fetch_add(&s->queries, 1);
    return s->d->exec(c, q, changes, e);
}

/* Statement id of s with params (rows to row), alone on a connection. */
static store_status once(store *s, int id, size_t n, const char *const *params, sql_row_fn row, void *ctx,
                         uint64_t *changes, sql_error *e)
{
    assert(id >= 0 && id < Q_COUNT);
    sql_conn c;
    store_status st = hold(s, &c, e);
    if (st != STORE_OK) return st;
    sql_query q = {s->q[id].sql, s->q[id].table, n, params, row, ctx};
    st = run(s, &c, &q, changes, e);
    s->d->release(&c);
    return st;
}

/* A transaction on one connection: begin, body, commit; on any failure a
 * rollback, and the message "<what>: <the step>: <why>". */
typedef struct tx {
    store *s;
    sql_conn c;
    sql_error e;
    char doing[96]; /* the step under way */
} tx;

static store_status exec_tx(tx *t, const char *sql, const char *table)
{
    sql_query q = {sql, table, 0, NULL, NULL, NULL};
    return run(t->s, &t->c, &q, NULL, &t->e);
}

static store_status transaction(store *s, const char *what, store_status (*body)(tx *t, const void *arg),
                                const void *arg, char *err)
{
    tx t = {.s = s};
    snprintf(t.doing, sizeof t.doing, "starting a transaction");
    store_status st = hold(s, &t.c, &t.e);
    if (st != STORE_OK) return store_fail(err, st, "%s: %s", what, t.e.msg);
    st = exec_tx(&t, s->d->begin, NULL);
    if (st == STORE_OK) st = body(&t, arg);
    if (st == STORE_OK) {
        snprintf(t.doing, sizeof t.doing, "committing");
        st = exec_tx(&t, "COMMIT", NULL);
    }
    if (st != STORE_OK) {
        store_fail(err, st, "%s: %s: %s", what, t.doing, t.e.msg);
        if (s->d->in_transaction(&t.c)) exec_tx(&t, "ROLLBACK", NULL);
    }
    s->d->release(&t.c);
    return st;
}

/* ---- rows to structs ---- */

/* Reads rows of an entity: into `one` (the first row only), or appended
 * to `all`. */
typedef struct reader {
    const entity *en;
    bool listing; /* the select left out the secret fields */
    void *one;
    buf all;
    size_t n;
    bool oom, too_long;
    int64_t long_id; /* the row with the value too long */
} reader;

static int read_struct(void *ctx, size_t ncols, const char *const *vals, const size_t *lens)
{
    reader *r = ctx;
    const entity *en = r->en;
    if (r->one && r->n > 0) return 0;
    if (!r->one && !buf_reserve(&r->all, en->size)) {
        r->oom = true;
        return -1;
    }
    char *dst = r->one ? r->one : r->all.data + r->all.len;
    memset(dst, 0, en->size);
    size_t col = 0;
    for (size_t i = 0; i < en->nfields; i++) {
        const field *f = &en->fields[i];
        if (r->listing && f->secret) continue;
        assert(col < ncols);
        const char *v = vals[col];
        size_t len = lens[col++];
        if (f->type == SQLT_INT) {
            int64_t i64 = v ? strtoll(v, NULL, 10) : 0;
            memcpy(dst + f->off, &i64, sizeof i64);
        } else if (f->type == SQLT_BOOL) {
            bool b = v && strtoll(v, NULL, 10) != 0;
            memcpy(dst + f->off, &b, sizeof b);
        } else if (len >= f->size) {
            r->too_long = true;
            r->long_id = vals[0] ? strtoll(vals[0], NULL, 10) : 0;
            return -1;
        } else {
            if (len) memcpy(dst + f->off, v, len);
            dst[f->off + len] = '\0';
        }
    }
    if (!r->one) r->all.len += en->size;
    r->n++;
    return 0;
}

/* The one integer of a row (RETURNING id, count(*)). */
static int read_int(void *ctx, size_t ncols, const char *const *vals, const size_t *lens)
{
    assert(ncols == 1);
    *(int64_t *)ctx = vals[0] ? strtoll(vals[0], NULL, 10) : 0;
    return 0;
}

/* The row with key param; key says which in messages ("pop 5"). */
static store_status get_row(store *s, const entity *en, int id, const char *param, const char *key, void *out,
                            char *err)
{
    reader r = {.en = en, .one = out};
    sql_error e;
    store_status st = once(s, id, 1, &param, read_struct, &r, NULL, &e);
    if (r.too_long) return store_fail(err, STORE_ERR, "%s in the database has a value too long", key);
    if (st != STORE_OK) return store_fail(err, st, "reading %s: %s", key, e.msg);
    if (r.n == 0) return store_fail(err, STORE_NOT_FOUND, "%s not found", key);
    return STORE_OK;
}

/* Every row, ordered by id, as one malloc'd array (NULL when empty). */
static store_status list_rows(store *s, const entity *en, void **out, size_t *n, char *err)
{
    reader r = {.en = en, .listing = true};
    buf_init(&r.all);
    sql_error e;
    store_status st = once(s, en->list, 0, NULL, read_struct, &r, NULL, &e);
    if (r.oom)
        st = store_fail(err, STORE_ERR, "out of memory listing %ss", en->what);
    else if (r.too_long)
        st = store_fail(err, STORE_ERR, "%s %lld in the database has a value too long", en->what,
                        (long long)r.long_id);
    else if (st != STORE_OK)
        st = store_fail(err, st, "listing %ss: %s", en->what, e.msg);
    if (st != STORE_OK || r.n == 0) {
        buf_free(&r.all);
        return st;
    }
    *out = r.all.data; /* the structs, in their own malloc'd block */
    *n = r.n;
    return STORE_OK;
}

/* The row, as messages name it: "pop 5", "user 'alice'". */
static void row_key(const entity *en, const char *row, char *out, size_t cap)
{
    int64_t id;
    memcpy(&id, row + en->fields[0].off, sizeof id);
    if (!en->assign_id)
        snprintf(out, cap, "%s %lld", en->what, (long long)id);
    else
        snprintf(out, cap, "%s '%.100s'", en->what, row + en->fields[1].off);
}

/* Inserts row (validated) and words a conflict; *id (if not NULL) gets
 * the id stored. */
static store_status add_row(store *s, const entity *en, const void *row, int64_t *id, char *err)
{
    const char *p = row, *params[FIELDS_MAX];
    char nums[FIELDS_MAX][24];
    int64_t ints[FIELDS_MAX] = {0};
    assert(en->nfields <= FIELDS_MAX);
    for (size_t i = 0; i < en->nfields; i++) {
        const field *f = &en->fields[i];
        if (f->type == SQLT_INT) {
            memcpy(&ints[i], p + f->off, sizeof ints[i]);
            params[i] = i == 0 && en->assign_id && ints[i] == 0 ? NULL : int_text(ints[i], nums[i]);
        } else if (f->type == SQLT_BOOL) {
            bool b;
            memcpy(&b, p + f->off, sizeof b);
            params[i] = b ? "1" : "0";
        } else {
            assert(memchr(p + f->off, '\0', f->size)); /* store.c checked the length */
            params[i] = p + f->off;
        }
    }
    int64_t stored = ints[0];
    sql_error e;
    store_status st =
        once(s, en->add, en->nfields, params, en->assign_id ? read_int : NULL, &stored, NULL, &e);
    if (st == STORE_OK) {
        if (id) *id = stored;
        return STORE_OK;
    }
    if (e.conflict == SQLC_PRIMARY)
        return store_fail(err, STORE_CONFLICT, "%s id %lld already exists", en->what, (long long)ints[0]);
    if (e.conflict == SQLC_UNIQUE)
        return store_fail(err, STORE_CONFLICT, "%s '%.100s' already exists", en->name, p + en->fields[1].off);
    if (e.conflict == SQLC_FOREIGN && en->ref)
        return store_fail(err, STORE_CONFLICT, "%s %lld does not exist", en->ref,
                          (long long)ints[en->nfields - 1]);
    char key[STORE_NAME_MAX];
    row_key(en, p, key, sizeof key);
    return store_fail(err, st, "adding %s: %s", key, e.msg);
}

/* A remove a foreign key refused: says how many rows still use it. */
static store_status in_use(store *s, const entity *en, int64_t id, char *err)
{
    char idt[24];
    const char *param = int_text(id, idt);
    int64_t refs = -1;
    sql_error e;
    if (en->refs < 0)
        return store_fail(err, STORE_CONFLICT, "%s %lld is still referenced", en->what, (long long)id);
    if (once(s, en->refs, 1, &param, read_int, &refs, NULL, &e) != STORE_OK || refs < 0)
        return store_fail(err, STORE_CONFLICT, "%s %lld is still used by %ss", en->what, (long long)id,
                          en->used_by);
    return store_fail(err, STORE_CONFLICT, "%s %lld is still used by %lld %s(s); remove them first", en->what,
                      (long long)id, (long long)refs, en->used_by);
}

/* ---- pops, nodes, users ---- */

store_status sql_add(store *s, sql_kind k, const void *row, int64_t *id, char err[STORE_ERR_LEN])
{
    assert(s && (int)k >= 0 && k < SQL_KINDS && row);
    return add_row(s, &entities[k], row, id, err);
}

store_status sql_remove(store *s, sql_kind k, int64_t id, char err[STORE_ERR_LEN])
{
    assert(s && (int)k >= 0 && k < SQL_KINDS && entities[k].remove >= 0);
    const entity *en = &entities[k];
    char idt[24];
    const char *param = int_text(id, idt);
    uint64_t changed = 0;
    sql_error e;
    store_status st = once(s, en->remove, 1, &param, NULL, NULL, &changed, &e);
    if (st == STORE_CONFLICT && e.conflict == SQLC_FOREIGN) return in_use(s, en, id, err);
    if (st != STORE_OK) return store_fail(err, st, "removing %s %lld: %s", en->what, (long long)id, e.msg);
    if (changed == 0) return store_fail(err, STORE_NOT_FOUND, "%s %lld not found", en->what, (long long)id);
    return STORE_OK;
}

store_status sql_list(store *s, sql_kind k, void **out, size_t *n, char err[STORE_ERR_LEN])
{
    assert(s && (int)k >= 0 && k < SQL_KINDS && out && n);
    return list_rows(s, &entities[k], out, n, err);
}

store_status sql_get(store *s, sql_kind k, int64_t id, void *out, char err[STORE_ERR_LEN])
{
    assert(s && (int)k >= 0 && k < SQL_KINDS && out);
    const entity *en = &entities[k];
    char idt[24], key[64];
    snprintf(key, sizeof key, "%s %lld", en->what, (long long)id);
    return get_row(s, en, en->get, int_text(id, idt), key, out, err);
}

store_status sql_user_find(store *s, const char *username, store_admin_user *out, char err[STORE_ERR_LEN])
{
    assert(s && username && out);
    char key[STORE_NAME_MAX];
    snprintf(key, sizeof key, "user '%.100s'", username);
    return get_row(s, users, Q_USER_FIND, username, key, out, err);
}

/* UPDATE ... WHERE username = P1: STORE_NOT_FOUND when no row matched. */
store_status sql_user_set(store *s, const char *username, sql_user_change what, const char *value,
                          char err[STORE_ERR_LEN])
{
    assert(s && username && value && (int)what >= 0 && what < SQL_USER_CHANGES);
    const char *params[2] = {username, value};
    uint64_t changed = 0;
    sql_error e;
    store_status st = once(s, Q_USER_SET + (int)what, 2, params, NULL, NULL, &changed, &e);
    if (st != STORE_OK)
        return store_fail(err, st, "%s of user '%.100s': %s", user_changes[what].doing, username, e.msg);
    if (changed == 0) return store_fail(err, STORE_NOT_FOUND, "user '%.100s' not found", username);
    return STORE_OK;
}

/* ---- fetch ---- */

/* Rows as they come: ids, the offset of every value in text (NULL_OFF for
 * SQL NULL) and the text; packed into one block at the end. */
typedef struct packer {
    size_t ncols;
    buf ids, offs, text;
    size_t n;
    bool failed;
} packer;

static int pack_row(void *ctx, size_t ncols, const char *const *vals, const size_t *lens)
{
    packer *p = ctx;
    assert(ncols == p->ncols + 1);
    int64_t id = vals[0] ? strtoll(vals[0], NULL, 10) : 0;
    buf_append(&p->ids, &id, sizeof id);
    for (size_t c = 1; c < ncols; c++) {
        size_t off = vals[c] ? p->text.len : NULL_OFF;
        buf_append(&p->offs, &off, sizeof off);
        if (!vals[c]) continue;
        buf_append(&p->text, vals[c], lens[c]);
        buf_putc(&p->text, '\0');
    }
    p->n++;
    p->failed = p->ids.oom || p->offs.oom || p->text.oom;
    return p->failed ? -1 : 0;
}

/* One block: the res_row array, then the value pointers, then the text. */
static int pack(const packer *p, res_rows *out)
{
    if (p->n == 0) return 0;
    size_t rows_size = p->n * sizeof(res_row);
    size_t ptrs_size = p->n * p->ncols * sizeof(char *); /* offs of this size exists */
    if (rows_size > SIZE_MAX - ptrs_size - p->text.len) return -1;
    char *mem = malloc(rows_size + ptrs_size + p->text.len);
    if (!mem) return -1;
    res_row *rows = (res_row *)(void *)mem;
    char **ptrs = (char **)(void *)(mem + rows_size);
    char *text = mem + rows_size + ptrs_size;
    if (p->text.len) memcpy(text, p->text.data, p->text.len);
    const int64_t *ids = (const int64_t *)(const void *)p->ids.data;
    const size_t *offs = (const size_t *)(const void *)p->offs.data;
    for (size_t r = 0; r < p->n; r++) {
        rows[r].id = ids[r];
        rows[r].vals = ptrs + r * p->ncols;
        for (size_t c = 0; c < p->ncols; c++) {
            size_t off = offs[r * p->ncols + c];
            rows[r].vals[c] = off == NULL_OFF ? NULL : text + off;
        }
    }
    out->rows = rows;
    out->n = p->n;
    out->mem = mem;
    return 0;
}

store_status sql_fetch(store *s, res_type_id t, const int64_t *ids, size_t n, res_rows *out,
                       char err[STORE_ERR_LEN])
{
    assert(s && (int)t >= 0 && t < RT_COUNT && ids && n > 0 && out);
    const res_type *rt = &res_types[t];
    buf list; /* the ids as one list parameter: "[1,2,3]" or "{1,2,3}" */
    buf_init(&list);
    buf_putc(&list, s->d->list_open);
    for (size_t i = 0; i < n; i++) {
        if (i) buf_putc(&list, ',');
        buf_put_i64(&list, ids[i]);
    }
    buf_putc(&list, s->d->list_close);
    const char *param = buf_steal(&list);
    if (!param) {
        buf_free(&list);
        return store_fail(err, STORE_ERR, "out of memory (%zu ids)", n);
    }
    packer p = {.ncols = rt->ncols};
    buf_init(&p.ids);
    buf_init(&p.offs);
    buf_init(&p.text);
    sql_error e;
    store_status st = once(s, Q_FETCH + (int)t, 1, &param, pack_row, &p, NULL, &e);
    if (p.failed)
        st = store_fail(err, STORE_ERR, "out of memory reading %s", rt->type);
    else if (st != STORE_OK)
        st = store_fail(err, st, "reading %s: %s", rt->type, e.msg);
    else if (pack(&p, out) != 0)
        st = store_fail(err, STORE_ERR, "out of memory reading %s", rt->type);
    buf_free(&p.ids);
    buf_free(&p.offs);
    buf_free(&p.text);
    free((void *)param);
    return st;
}

/* ---- schema ---- */

static store_status create_schema(tx *t, const void *arg)
{
    snprintf(t->doing, sizeof t->doing, "creating the schema");
    return exec_tx(t, t->s->d->schema, "the database");
}

store_status sql_schema_init(store *s, char err[STORE_ERR_LEN])
{
    assert(s);
    if (!s->d->schema) return STORE_OK; /* the dialect made it at open */
    return transaction(s, "db init", create_schema, NULL, err);
}

/* ---- replace ---- */

/* The statements of one replace: the tables emptied, one insert per type. */
typedef struct replace_sql {
    const replace_set *set;
    buf empty; /* one TRUNCATE, or "DELETE FROM t" each, separated by NULs */
    size_t nempty;
    char *insert[RT_COUNT];
    char table[RT_COUNT][TABLE_MAX];
} replace_sql;

/* "INSERT INTO t (id, <cols>[, <secrets>]) VALUES (P1, ...[, dummies])" */
static char *insert_sql(const store *s, res_type_id t)
{
    const res_type *rt = &res_types[t];
    buf b;
    buf_init(&b);
    buf_puts(&b, "INSERT INTO ");
    put_table(s, &b, rt->table);
    buf_puts(&b, " (id");
    for (size_t i = 0; i < rt->ncols; i++) buf_printf(&b, ", %s", rt->cols[i].column);
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (secrets[i].type == t) buf_printf(&b, ", %s", secrets[i].column);
    buf_puts(&b, ") VALUES (");
    s->d->param(&b, 1, SQLT_INT);
    for (size_t i = 0; i < rt->ncols; i++) {
        buf_puts(&b, ", ");
        s->d->param(&b, i + 2, type_of(rt->cols[i].kind));
    }
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        if (secrets[i].type != t) continue;
        if (secrets[i].prefix)
            buf_printf(&b, ", '%s' || substr(%s, 1, 12)", secrets[i].prefix, s->d->random_hex);
        else
            buf_printf(&b, ", %s", s->d->random_hex);
    }
    buf_puts(&b, ")");
    char *sql = buf_steal(&b);
    buf_free(&b);
    return sql;
}

static bool build_replace(const store *s, replace_sql *r)
{
    const replace_set *set = r->set;
    buf_init(&r->empty);
    bool any = false;
    for (int t = 0; t < RT_COUNT; t++) {
        if (!set->replace[t]) continue;
        if (s->d->truncate) {
            buf_puts(&r->empty, any ? ", " : "TRUNCATE ");
        } else {
            buf_puts(&r->empty, "DELETE FROM ");
        }
        put_table(s, &r->empty, res_types[t].table);
        if (!s->d->truncate) {
            buf_putc(&r->empty, '\0');
            r->nempty++;
        }
        any = true;
        table_name(s, res_types[t].table, r->table[t], sizeof r->table[t]);
        if (!(r->insert[t] = insert_sql(s, (res_type_id)t))) return false;
    }
    if (s->d->truncate && any) {
        buf_putc(&r->empty, '\0');
        r->nempty = 1;
    }
    return !r->empty.oom;
}

static void free_replace(replace_sql *r)
{
    buf_free(&r->empty);
    for (int t = 0; t < RT_COUNT; t++) free(r->insert[t]);
}

static bool is_integer(const char *v)
{
    char *end = NULL;
    strtoll(v, &end, 10);
    return *v && !*end;
}

/* What no dialect is asked to judge: the types, and integers that are. */
static store_status check_set(const replace_set *set, char *err)
{
    for (int t = 0; t < RT_COUNT; t++)
        if (set->replace[t] && (t == RT_POPS || t == RT_NODES))
            return store_fail(err, STORE_INVALID, "demo data never replaces %s", res_types[t].type);
    for (size_t i = 0; i < set->n; i++) {
        const replace_row *r = &set->rows[i];
        if ((int)r->type < 0 || r->type >= RT_COUNT || !set->replace[r->type])
            return store_fail(err, STORE_INVALID, "demo data: row %zu has a type not replaced", i);
        const res_type *rt = &res_types[r->type];
        if (rt->ncols > REPLACE_MAX_COLS)
            return store_fail(err, STORE_INVALID, "demo data: %s has too many columns", rt->type);
        for (size_t c = 0; c < rt->ncols; c++) {
            sql_type ty = type_of(rt->cols[c].kind);
            if (r->vals[c] && (ty == SQLT_INT || ty == SQLT_BOOL) && !is_integer(r->vals[c]))
                return store_fail(err, STORE_INVALID, "demo data: %s %lld: %s is not an integer", rt->type,
                                  (long long)r->id, rt->cols[c].column);
        }
    }
    return STORE_OK;
}

static store_status replace_in_tx(tx *t, const void *arg)
{
    const replace_sql *r = arg;
    store *s = t->s;
    store_status st = STORE_OK;
    if (s->d->defer_fks) {
        snprintf(t->doing, sizeof t->doing, "deferring foreign keys");
        st = exec_tx(t, s->d->defer_fks, NULL);
    }
    snprintf(t->doing, sizeof t->doing, "emptying the tables");
    const char *sql = r->empty.data;
    for (size_t i = 0; st == STORE_OK && i < r->nempty; i++, sql += strlen(sql) + 1)
        st = exec_tx(t, sql, "the related tables");
    for (size_t i = 0; st == STORE_OK && i < r->set->n; i++) {
        const replace_row *row = &r->set->rows[i];
        const res_type *rt = &res_types[row->type];
        char idt[24];
        const char *params[REPLACE_MAX_COLS + 1] = {int_text(row->id, idt)};
        for (size_t c = 0; c < rt->ncols; c++) params[c + 1] = row->vals[c];
        snprintf(t->doing, sizeof t->doing, "adding %s %lld", rt->type, (long long)row->id);
        sql_query q = {r->insert[row->type], r->table[row->type], rt->ncols + 1, params, NULL, NULL};
        st = run(s, &t->c, &q, NULL, &t->e);
    }
    return st;
}

store_status sql_replace(store *s, const replace_set *set, char err[STORE_ERR_LEN])
{
    assert(s && set && (set->n == 0 || set->rows));
    store_status st = check_set(set, err);
    if (st != STORE_OK) return st;
    replace_sql r = {.set = set};
    if (build_replace(s, &r))
        st = transaction(s, "demo data", replace_in_tx, &r, err);
    else
        st = store_fail(err, STORE_ERR, "out of memory");
    free_replace(&r);
    return st;
}

/* ---- history (docs/CONTRACT.md §10) ---- */

/* The history's writer: its own connection where the dialect has one
 * (the session lock lives there), else the shared one per operation. */
struct store_writer {
    store *s;
    sql_conn c;
    bool open; /* own connection made */
    bool held; /* the lock is ours on it */
};

store_writer *sql_writer_new(store *s)
{
    store_writer *w = calloc(1, sizeof *w);
    if (w) w->s = s;
    return w;
}

/* Drops the own connection (and the lock with it). */
static void writer_disconnect(store_writer *w)
{
    if (w->open) w->s->d->own_close(&w->c);
    w->open = w->held = false;
}

void sql_writer_free(store_writer *w)
{
    if (!w) return;
    writer_disconnect(w);
    free(w);
}

/* A connection for a run of the writer's statements. */
static store_status writer_hold(store_writer *w, sql_error *e)
{
    if (!w->s->d->own) return hold(w->s, &w->c, e);
    assert(pool_may_block());
    memset(e, 0, sizeof *e);
    if (w->open) return STORE_OK;
    w->c = (sql_conn){.db = w->s->db};
    store_status st = w->s->d->own(&w->c, e);
    w->open = st == STORE_OK;
    w->held = false;
    return st;
}

/* Ends a run: a failed one leaves no transaction open, and on an own
 * connection drops it (a broken session cannot be trusted with the lock). */
static void writer_done(store_writer *w, store_status st)
{
    sql_error e;
    if (st != STORE_OK && w->s->d->in_transaction(&w->c)) {
        sql_query q = {"ROLLBACK", NULL, 0, NULL, NULL, NULL};
        run(w->s, &w->c, &q, NULL, &e);
    }
    if (!w->s->d->own)
        w->s->d->release(&w->c);
    else if (st != STORE_OK)
        writer_disconnect(w);
}

store_status sql_writer_lock(store_writer *w, int64_t key, bool *held, char err[STORE_ERR_LEN])
{
    *held = false;
    if (!w->s->d->try_lock) {
        *held = true;
        return STORE_OK;
    }
    sql_error e;
    store_status st = writer_hold(w, &e);
    if (st == STORE_OK && !w->held) {
        char kt[24];
        const char *param = int_text(key, kt);
        int64_t got = 0;
        sql_query q = {w->s->q[Q_HIST_LOCK].sql, w->s->q[Q_HIST_LOCK].table, 1, &param, read_int, &got};
        st = run(w->s, &w->c, &q, NULL, &e);
        w->held = st == STORE_OK && got == 1;
    }
    writer_done(w, st);
    *held = w->held;
    return st == STORE_OK ? STORE_OK : store_fail(err, st, "taking the history lock: %s", e.msg);
}

/* Runs the writer's statement id with params on its connection. */
static store_status writer_run(store_writer *w, int id, size_t n, const char *const *params,
                               uint64_t *changes, sql_error *e)
{
    sql_query q = {w->s->q[id].sql, w->s->q[id].table, n, params, NULL, NULL};
    return run(w->s, &w->c, &q, changes, e);
}

static bool iso_text(int64_t secs, char out[TIMEFMT_ISO_LEN + 1])
{
    if (!timefmt_iso_utc(secs, out)) return false;
    out[TIMEFMT_ISO_LEN] = '\0';
    return true;
}

/* The sample's rows, once its slot is claimed. */
static store_status sample_rows(store_writer *w, const store_sample *smp, const char *at, sql_error *e)
{
    store_status st = STORE_OK;
    for (int k = 0; k < STORE_HIST_KINDS && st == STORE_OK; k++) {
        for (size_t i = 0; i < smp->n[k] && st == STORE_OK; i++) {
            const store_hist_row *r = &smp->rows[k][i];
            char a[24], b[24], c[24];
            const char *params[4] = {int_text(r->subject, a), int_text(r->count, b), int_text(r->count2, c),
                                     at};
            if (!hist_tables[k].count2) params[2] = at;
            st = writer_run(w, Q_HIST_ADD + k, hist_tables[k].count2 ? 4 : 3, params, NULL, e);
        }
    }
    return st;
}

store_status sql_sample_write(store_writer *w, const store_sample *smp, const char *writer, bool *written,
                              char err[STORE_ERR_LEN])
{
    *written = false;
    char at[TIMEFMT_ISO_LEN + 1];
    if (!iso_text(smp->at_s, at)) return store_fail(err, STORE_INVALID, "a sample time out of range");
    sql_error e;
    const char *doing = "starting a transaction";
    store_status st = writer_hold(w, &e);
    if (st == STORE_OK) {
        sql_query q = {w->s->d->begin, NULL, 0, NULL, NULL, NULL};
        st = run(w->s, &w->c, &q, NULL, &e);
    }
    uint64_t claimed = 0;
    if (st == STORE_OK) {
        doing = "checking the slot";
        const char *params[2] = {at, writer};
        st = writer_run(w, Q_HIST_SLOT, 2, params, &claimed, &e);
    }
    if (st == STORE_OK && claimed) {
        doing = "adding the rows";
        st = sample_rows(w, smp, at, &e);
    }
    if (st == STORE_OK) {
        doing = claimed ? "committing" : "ending the transaction";
        sql_query q = {claimed ? "COMMIT" : "ROLLBACK", NULL, 0, NULL, NULL, NULL};
        st = run(w->s, &w->c, &q, NULL, &e);
    }
    writer_done(w, st);
    if (st != STORE_OK) return store_fail(err, st, "writing the sample of %s: %s: %s", at, doing, e.msg);
    *written = claimed != 0;
    return STORE_OK;
}

store_status sql_history_prune(store_writer *w, int64_t before_s, int batch, int max_batches,
                               uint64_t *deleted, char err[STORE_ERR_LEN])
{
    *deleted = 0;
    char at[TIMEFMT_ISO_LEN + 1], bt[24];
    if (!iso_text(before_s, at)) return store_fail(err, STORE_INVALID, "a retention time out of range");
    const char *params[2] = {at, int_text(batch, bt)};
    sql_error e;
    store_status st = STORE_OK;
    for (int t = 0; t <= STORE_HIST_KINDS && st == STORE_OK; t++) {
        uint64_t gone = (uint64_t)batch;
        for (int i = 0; i < max_batches && gone == (uint64_t)batch && st == STORE_OK; i++) {
            st = writer_hold(w, &e); /* each batch its own statement, committed alone */
            if (st == STORE_OK) st = writer_run(w, Q_HIST_PRUNE + t, 2, params, &gone, &e);
            writer_done(w, st);
            if (st == STORE_OK) *deleted += gone;
        }
    }
    return st == STORE_OK ? STORE_OK : store_fail(err, st, "deleting old samples: %s", e.msg);
}

/* Points as they come, into a growing array. */
typedef struct point_reader {
    buf all;
    size_t n;
} point_reader;

static int read_point(void *ctx, size_t ncols, const char *const *vals, const size_t *lens)
{
    point_reader *r = ctx;
    assert(ncols == 7);
    int64_t v[7];
    for (size_t i = 0; i < 7; i++) v[i] = vals[i] ? strtoll(vals[i], NULL, 10) : 0;
    store_hist_point p = {v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
    buf_append(&r->all, &p, sizeof p);
    if (r->all.oom) return -1;
    r->n++;
    return 0;
}

store_status sql_history_read(store *s, const store_hist_query *q, store_hist_point **out, size_t *n,
                              char err[STORE_ERR_LEN])
{
    char from[TIMEFMT_ISO_LEN + 1], to[TIMEFMT_ISO_LEN + 1], bucket[24], limit[24];
    if (!iso_text(q->from_s, from) || !iso_text(q->to_s, to))
        return store_fail(err, STORE_INVALID, "a time out of range");
    int_text(q->bucket_s, bucket);
    int_text((int64_t)q->limit, limit);
    buf list; /* the ids as one list parameter, as sql_fetch's */
    buf_init(&list);
    if (!q->total) {
        buf_putc(&list, s->d->list_open);
        for (size_t i = 0; i < q->nids; i++) {
            if (i) buf_putc(&list, ',');
            buf_put_i64(&list, q->ids[i]);
        }
        buf_putc(&list, s->d->list_close);
        buf_putc(&list, '\0');
        if (list.oom) {
            buf_free(&list);
            return store_fail(err, STORE_ERR, "out of memory");
        }
    }
    const char *kinds[] = {list.data, from, to, bucket, limit};
    const char *totals[] = {from, to, bucket, limit};
    point_reader r = {.n = 0};
    buf_init(&r.all);
    sql_error e;
    store_status st = q->total ? once(s, Q_HIST_TOTAL, 4, totals, read_point, &r, NULL, &e)
                               : once(s, Q_HIST_READ + (int)q->kind, 5, kinds, read_point, &r, NULL, &e);
    buf_free(&list);
    if (r.all.oom)
        st = store_fail(err, STORE_ERR, "out of memory reading samples");
    else if (st != STORE_OK)
        st = store_fail(err, st, "reading samples: %s", e.msg);
    if (st != STORE_OK || r.n == 0) {
        buf_free(&r.all);
        return st;
    }
    *out = (store_hist_point *)(void *)buf_steal(&r.all);
    *n = r.n;
    if (!*out) return store_fail(err, STORE_ERR, "out of memory reading samples");
    return STORE_OK;
}

static store_status create_history(tx *t, const void *arg)
{
    snprintf(t->doing, sizeof t->doing, "creating the history tables");
    return exec_tx(t, t->s->d->history_schema, "the database");
}

store_status sql_history_init(store *s, char err[STORE_ERR_LEN])
{
    if (!s->d->history_schema) return STORE_OK; /* the dialect made it at open */
    return transaction(s, "db init --history", create_history, NULL, err);
}
