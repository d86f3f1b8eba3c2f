/* dialect: what the store's SQL logic (store_sql.c) needs from a database
 * engine, and nothing more — one logic over several engines, as SQLite's
 * sqlite3_io_methods or Redis's ae backends keep theirs.
 *
 * store_sql.c owns every statement: it builds the SQL from res_types
 * (resources.h) and its own field tables, reads the rows into structs and
 * res_rows, decides "not found" (no row, or no row changed) and words every
 * message. A dialect gives it:
 *  - data: how yeti's `schema.table` names are written, how a transaction
 *    begins, how a replace empties tables, the `db init` script;
 *  - rendering hooks: a placeholder read as a value of a type, a column
 *    written as the store's text, "column is in this id list";
 *  - a connection: open/close, acquire/release (the dialect serialises as
 *    it needs: SQLite one connection under a mutex, PostgreSQL a pool),
 *    exec of one statement with text parameters whose rows come back as
 *    text (SQL NULL kept apart from ""), and whether a transaction is open;
 *  - an error class: a constraint violation is STORE_CONFLICT with the kind
 *    of constraint, anything else STORE_ERR, with the database's words.
 *
 * Values cross in the store's text forms (store.h, resources.h): integers
 * in decimal, booleans "1"/"0", decimals as written, times
 * "YYYY-MM-DDTHH:MM:SS.000Z", lists comma-separated. Parameters are always
 * bound, never spliced into SQL text. */
#ifndef AC_STORE_DIALECT_H
#define AC_STORE_DIALECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"

#define SQL_COLS_MAX 32 /* columns of one result row */

/* What a column holds, so a dialect can read and write it as text. */
typedef enum {
    SQLT_TEXT,    /* text */
    SQLT_INT,     /* integer */
    SQLT_BOOL,    /* boolean: "1" / "0" */
    SQLT_DECIMAL, /* numeric, as written ("0.11") */
    SQLT_TIME,    /* timestamp: "YYYY-MM-DDTHH:MM:SS.000Z", UTC */
    SQLT_INETS,   /* inet[]: "a,b", every prefix kept ("10.0.0.1/32") */
    SQLT_HOSTS,   /* inet[]: "a,b", host addresses without "/32", "/128" */
    SQLT_NAMES,   /* varchar[]: "a,b" */
} sql_type;

/* Which constraint refused a statement. */
typedef enum {
    SQLC_NONE,
    SQLC_PRIMARY, /* the primary key is taken */
    SQLC_UNIQUE,  /* another unique key is taken */
    SQLC_FOREIGN, /* a referenced row is missing, or a row is still referenced */
    SQLC_OTHER,   /* any other constraint (a check, a trigger, NOT NULL) */
} sql_conflict;

/* Why a statement failed: msg is the database's explanation on one line
 * (never the location: it may hold a password), which store_sql.c puts
 * after what it was doing ("adding pop 5: ..."). */
typedef struct sql_error {
    sql_conflict conflict; /* SQLC_NONE unless the status is STORE_CONFLICT */
    char msg[STORE_ERR_LEN];
} sql_error;

/* One result row: vals[i] is column i as NUL-terminated text of lens[i]
 * bytes, or NULL for SQL NULL; valid during the call. 0 goes on; -1 stops
 * the statement, which then fails with STORE_ERR and an empty msg (the
 * callback knows why). */
typedef int (*sql_row_fn)(void *ctx, size_t ncols, const char *const *vals, const size_t *lens);

typedef struct sql_query {
    const char *sql;   /* one statement in the dialect's form (`schema`: several) */
    const char *table; /* what it touches, for messages ("sys.nodes") */
    size_t nparams;
    const char *const *params; /* text, or NULL for SQL NULL; placeholder i is params[i - 1] */
    sql_row_fn row;            /* called for each row; NULL when none are wanted */
    void *ctx;
} sql_query;

/* A connection held for a run of statements (a transaction runs on one). */
typedef struct sql_conn {
    void *db; /* the dialect's handle, from open */
    void *c;  /* the dialect's connection, set by acquire */
} sql_conn;

typedef struct sql_dialect {
    const char *name;

    /* ---- data ---- */
    char schema_sep; /* yeti's "sys.nodes" as written: '.' keeps it, '_' gives sys_nodes */
    char list_open;  /* an id list parameter: "[1,2]" or "{1,2}" */
    char list_close;
    const char *begin;      /* starts a write transaction */
    const char *defer_fks;  /* run first in a replace's transaction, or NULL */
    bool truncate;          /* a replace empties its tables in one TRUNCATE, else DELETE each */
    const char *schema;     /* the `db init` script; NULL when open creates the schema */
    const char *random_hex; /* an SQL expression: 32 random hex digits (dummy secrets) */
    /* the history (docs/CONTRACT.md §10): its `db init --history` script
     * (NULL when open creates it), and the statement that tries the
     * writer's session lock, placeholder 1 the key, answering 1 or 0 (NULL:
     * no such lock, every writer may write) */
    const char *history_schema;
    const char *try_lock;

    /* ---- rendering: appended to b ---- */
    /* placeholder i (1-based) read as a value of type t */
    void (*param)(buf *b, size_t i, sql_type t);
    /* column read as the store's text form of t */
    void (*column)(buf *b, const char *column, sql_type t);
    /* "column is one of the ids in placeholder i" (an id list parameter) */
    void (*id_in)(buf *b, const char *column, size_t i);
    /* a time column as whole Unix seconds (an integer expression) */
    void (*epoch)(buf *b, const char *column);

    /* ---- connection ---- */
    /* The handle for location, or NULL with err set. SQLite creates and
     * migrates its file here; PostgreSQL creates nothing (`schema` is run
     * by store_schema_init). */
    void *(*open)(const char *location, char err[STORE_ERR_LEN]);
    void (*close)(void *db);
    /* c->db set by the caller; may wait while the dialect serialises, so
     * a thread holds one connection at a time (never nested). */
    store_status (*acquire)(sql_conn *c, sql_error *e);
    void (*release)(sql_conn *c);
    bool (*in_transaction)(const sql_conn *c);
    /* Runs q on c: STORE_OK (with *changes, rows a write changed, when
     * changes is not NULL), STORE_CONFLICT or STORE_ERR with e filled. */
    store_status (*exec)(sql_conn *c, const sql_query *q, uint64_t *changes, sql_error *e);
    /* A connection of the caller's own, outside the pool, kept until
     * own_close (the history writer's, whose session lock lives with it);
     * NULL when the dialect has none (the caller then acquires and
     * releases as for anything else). */
    store_status (*own)(sql_conn *c, sql_error *e);
    void (*own_close)(sql_conn *c);
} sql_dialect;

extern const sql_dialect sql_sqlite; /* dialect_sqlite.c */
extern const sql_dialect sql_pg;     /* dialect_pg.c */

/* Writes the message into err (if not NULL) and returns st, so that error
 * paths read `return store_fail(err, STORE_CONFLICT, "...", ...);`
 * (store.c). */
store_status store_fail(char *err, store_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
