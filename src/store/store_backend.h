/* store_backend: the private contract between store.c and each backend.
 *
 * store.c owns the public API (store.h): it checks arguments and validates
 * input once for every backend, picks the backend from the location, and
 * forwards each call through one of these tables. A backend only talks to
 * its database; it receives validated input, reports constraint failures as
 * STORE_CONFLICT and missing rows as STORE_NOT_FOUND, and serialises access
 * to its own state (a store handle is shared by several threads). Adding a
 * backend means one new file exporting a `store_backend` and one line in
 * store.c's scheme table; callers never change. */
#ifndef AC_STORE_STORE_BACKEND_H
#define AC_STORE_STORE_BACKEND_H

#include "store/store.h"

typedef struct store_backend {
    const char *name;
    /* Returns the backend's state for `location`, or NULL with err set. */
    void *(*open)(const char *location, char err[STORE_ERR_LEN]);
    void (*close)(void *impl);

    store_status (*pop_add)(void *impl, const store_pop *pop, char err[STORE_ERR_LEN]);
    store_status (*pop_remove)(void *impl, int64_t id, char err[STORE_ERR_LEN]);
    store_status (*pop_list)(void *impl, store_pop **out, size_t *n, char err[STORE_ERR_LEN]);
    store_status (*pop_get)(void *impl, int64_t id, store_pop *out, char err[STORE_ERR_LEN]);

    store_status (*node_add)(void *impl, const store_node *node, char err[STORE_ERR_LEN]);
    store_status (*node_remove)(void *impl, int64_t id, char err[STORE_ERR_LEN]);
    store_status (*node_list)(void *impl, store_node **out, size_t *n, char err[STORE_ERR_LEN]);
    store_status (*node_get)(void *impl, int64_t id, store_node *out, char err[STORE_ERR_LEN]);
} store_backend;

/* The backends (one line each). */
extern const store_backend store_sqlite_backend;

/* Writes the message into err (if not NULL) and returns st, so that error
 * paths read `return store_fail(err, STORE_CONFLICT, "...", ...);`. */
store_status store_fail(char *err, store_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
