/* resources: the related resource types of an active call (docs/API.md,
 * "One call, relationships, includes"), described once as data — JSON:API
 * type, yeti table, columns and how each column is rendered — and read from
 * the store in batches.
 *
 * The table below is the single source for the store's SQL (column and
 * table names), for the document writer (attribute names are the columns
 * dasherized; a column that holds another resource's id becomes a to-one
 * relationship) and for the show endpoints. Secrets (gateway and SMTP
 * passwords and users) are simply not columns here, so they can never be
 * selected or printed. */
#ifndef AC_STORE_RESOURCES_H
#define AC_STORE_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef enum {
    COL_TEXT,      /* string */
    COL_INT,       /* integer */
    COL_BOOL,      /* true/false */
    COL_DECIMAL,   /* numeric, printed as a decimal string ("0.11") */
    COL_TIME,      /* timestamp, printed as "YYYY-MM-DDTHH:MM:SS.000Z" */
    COL_INET_LIST, /* inet[]: printed as an array of strings */
    COL_REL,       /* id of another resource: a relationship, not an attribute */
} col_kind;

typedef struct res_col {
    const char *column; /* yeti's column name, e.g. "smtp_connection_id" */
    col_kind kind;
    const char *rel_name; /* COL_REL: relationship name ("smtp-connection") */
    const char *rel_type; /* COL_REL: JSON:API type of the target */
} res_col;

typedef struct res_type {
    const char *type;    /* JSON:API type and URL segment ("contractors") */
    const char *table;   /* yeti's "public.contractors"; each dialect writes it its way
                          * (SQLite: "public_contractors", dialect.h) */
    const res_col *cols; /* without "id" */
    size_t ncols;
} res_type;

typedef enum {
    RT_CONTRACTORS,
    RT_ACCOUNTS,
    RT_CUSTOMERS_AUTHS,
    RT_RATEPLANS,
    RT_DESTINATIONS,
    RT_ROUTING_GROUPS,
    RT_ROUTING_PLANS,
    RT_DIALPEERS,
    RT_GATEWAYS,
    RT_COUNTRIES,
    RT_NETWORKS,
    RT_POPS,
    RT_NODES,
    RT_SMTP_CONNECTIONS,
    RT_COUNT
} res_type_id;

extern const res_type res_types[RT_COUNT];

/* The type with this JSON:API name, or -1. */
int res_type_find(const char *type, size_t len);

/* One row as text: vals[i] is column i's value in the store's text form
 * (decimals as written, booleans "t"/"f" or "1"/"0", times ISO or epoch,
 * inet lists comma-separated), or NULL for SQL NULL. */
typedef struct res_row {
    int64_t id;
    char **vals;
} res_row;

typedef struct res_rows {
    res_row *rows;
    size_t n;
    void *mem; /* one block holding every string */
} res_rows;

void res_rows_free(res_rows *r);

/* The row with this id (store_fetch orders rows by id), or NULL. */
const res_row *res_rows_find(const res_rows *r, int64_t id);

/* Reads the rows of type t whose id is in ids[0..n) — ONE query whatever n
 * is — ordered by id. Ids with no row are simply absent. */
store_status store_fetch(store *s, res_type_id t, const int64_t *ids, size_t n, res_rows *out,
                         char err[STORE_ERR_LEN]);

/* Queries run on this handle so far (every backend counts), so tests can
 * prove lookups are batched. */
uint64_t store_query_count(const store *s);

/* Fills every related table with the demo data set (model/demo_ids.h
 * ranges), replacing what was there. Pops/nodes are not touched. */
store_status store_demo_data(store *s, char err[STORE_ERR_LEN]);

#endif
