/* store: the public store API (store.h) and its backend dispatch.
 *
 * This file owns what every backend shares: choosing the backend from the
 * location, argument checks, and input validation (so the CLI, the API and
 * any future caller get the same rules whatever the database). Everything
 * that touches a database goes through the backend's `store_backend` table
 * (store_backend.h). */
#include "store/store.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/store_backend.h"
#include "util/endpoint.h"

struct store {
    const store_backend *ops;
    void *impl;
};

/* Locations that name a backend by URI scheme; anything else is an SQLite
 * file. A NULL backend is a scheme we know but do not build yet. */
typedef struct scheme {
    const char *prefix;
    const store_backend *backend;
    const char *missing;
} scheme;

static const scheme schemes[] = {
    {"postgresql://", NULL, "PostgreSQL backend not built yet"},
    {"postgres://", NULL, "PostgreSQL backend not built yet"},
};

store_status store_fail(char *err, store_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, STORE_ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return st;
}

static const store_backend *pick_backend(const char *location, char *err)
{
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        if (strncasecmp(location, schemes[i].prefix, strlen(schemes[i].prefix)) != 0) continue;
        /* never echo the location: a URI may carry a password */
        if (!schemes[i].backend) store_fail(err, STORE_ERR, "%s", schemes[i].missing);
        return schemes[i].backend;
    }
    return &store_sqlite_backend;
}

store *store_open(const char *location, char err[STORE_ERR_LEN])
{
    if (err) err[0] = '\0';
    if (!location || !*location) {
        store_fail(err, STORE_ERR, "no database location given");
        return NULL;
    }
    const store_backend *ops = pick_backend(location, err);
    if (!ops) return NULL;
    store *s = calloc(1, sizeof *s);
    if (!s) {
        store_fail(err, STORE_ERR, "out of memory");
        return NULL;
    }
    s->ops = ops;
    s->impl = ops->open(location, err);
    if (!s->impl) {
        free(s);
        return NULL;
    }
    return s;
}

void store_close(store *s)
{
    if (!s) return;
    s->ops->close(s->impl);
    free(s);
}

/* ---- validation ---- */

/* Decodes one UTF-8 sequence from p[0..n); returns its length, or 0 when it
 * is not valid UTF-8 (truncated, overlong, surrogate, above U+10FFFF). */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t c = p[0];
    size_t len;
    if (c < 0x80) {
        len = 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2;
        c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        c &= 0x07;
    } else {
        return 0;
    }
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (len > 1 && (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))) return 0;
    *cp = c;
    return len;
}

/* Valid UTF-8 without C0/C1 control characters or DEL: safe in a
 * tab-separated listing and in a JSON document. */
static bool printable_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t len = utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (len == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;
        i += len;
    }
    return true;
}

static store_status check_id(const char *what, int64_t id, char *err)
{
    if (id > 0) return STORE_OK;
    return store_fail(err, STORE_INVALID, "%s must be a positive integer (got %lld)", what,
                      (long long)id);
}

static store_status check_name(const char *what, const char *name, char *err)
{
    size_t n = strnlen(name, STORE_NAME_MAX);
    if (n == 0) return store_fail(err, STORE_INVALID, "%s name is empty", what);
    if (n >= STORE_NAME_MAX)
        return store_fail(err, STORE_INVALID, "%s name is longer than %d bytes", what,
                          STORE_NAME_MAX - 1);
    if (!printable_utf8(name, n))
        return store_fail(err, STORE_INVALID,
                          "%s name must be printable UTF-8 text (no control characters)", what);
    return STORE_OK;
}

static store_status check_endpoint(const char *ep, char *err)
{
    char why[ENDPOINT_ERR_LEN];
    size_t n = strnlen(ep, STORE_ENDPOINT_MAX);
    if (n >= STORE_ENDPOINT_MAX)
        return store_fail(err, STORE_INVALID, "rpc_endpoint is longer than %d bytes",
                          STORE_ENDPOINT_MAX - 1);
    if (endpoint_parse(ep, NULL, NULL, why) == 0) return STORE_OK;
    if (!printable_utf8(ep, n)) /* do not echo control bytes to a terminal */
        return store_fail(err, STORE_INVALID, "invalid rpc_endpoint: %s", why);
    return store_fail(err, STORE_INVALID, "invalid rpc_endpoint '%.80s': %s", ep, why);
}

store_status store_pop_validate(const store_pop *pop, char err[STORE_ERR_LEN])
{
    if (!pop) return store_fail(err, STORE_ERR, "no pop given");
    store_status st = check_id("pop id", pop->id, err);
    if (st == STORE_OK) st = check_name("pop", pop->name, err);
    return st;
}

store_status store_node_validate(const store_node *node, char err[STORE_ERR_LEN])
{
    if (!node) return store_fail(err, STORE_ERR, "no node given");
    store_status st = check_id("node id", node->id, err);
    if (st == STORE_OK) st = check_name("node", node->name, err);
    if (st == STORE_OK) st = check_endpoint(node->rpc_endpoint, err);
    if (st == STORE_OK) st = check_id("pop id", node->pop_id, err);
    return st;
}

/* ---- dispatch ---- */

static store_status begin(const store *s, char *err)
{
    if (err) err[0] = '\0';
    return s ? STORE_OK : store_fail(err, STORE_ERR, "store is not open");
}

static store_status begin_list(const store *s, bool have_out, size_t *n, char *err)
{
    store_status st = begin(s, err);
    if (st != STORE_OK) return st;
    if (!have_out || !n) return store_fail(err, STORE_ERR, "no output given");
    *n = 0;
    return STORE_OK;
}

store_status store_pop_add(store *s, const store_pop *pop, char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK) st = store_pop_validate(pop, err);
    return st == STORE_OK ? s->ops->pop_add(s->impl, pop, err) : st;
}

store_status store_pop_remove(store *s, int64_t id, char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK) st = check_id("pop id", id, err);
    return st == STORE_OK ? s->ops->pop_remove(s->impl, id, err) : st;
}

store_status store_pop_list(store *s, store_pop **out, size_t *n, char err[STORE_ERR_LEN])
{
    store_status st = begin_list(s, out != NULL, n, err);
    if (st != STORE_OK) return st;
    *out = NULL;
    return s->ops->pop_list(s->impl, out, n, err);
}

store_status store_pop_get(store *s, int64_t id, store_pop *out, char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK && !out) st = store_fail(err, STORE_ERR, "no output given");
    if (st == STORE_OK) st = check_id("pop id", id, err);
    return st == STORE_OK ? s->ops->pop_get(s->impl, id, out, err) : st;
}

store_status store_node_add(store *s, const store_node *node, char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK) st = store_node_validate(node, err);
    return st == STORE_OK ? s->ops->node_add(s->impl, node, err) : st;
}

store_status store_node_remove(store *s, int64_t id, char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK) st = check_id("node id", id, err);
    return st == STORE_OK ? s->ops->node_remove(s->impl, id, err) : st;
}

store_status store_node_list(store *s, store_node **out, size_t *n, char err[STORE_ERR_LEN])
{
    store_status st = begin_list(s, out != NULL, n, err);
    if (st != STORE_OK) return st;
    *out = NULL;
    return s->ops->node_list(s->impl, out, n, err);
}

store_status store_node_get(store *s, int64_t id, store_node *out, char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK && !out) st = store_fail(err, STORE_ERR, "no output given");
    if (st == STORE_OK) st = check_id("node id", id, err);
    return st == STORE_OK ? s->ops->node_get(s->impl, id, out, err) : st;
}
