/* store: the public store API (store.h): the checks every database shares.
 *
 * This file owns what comes before any SQL: choosing the dialect from the
 * location, argument checks, and input validation (so the CLI, the API and
 * any future caller get the same rules whatever the database). Everything
 * that touches a database is the shared SQL logic's (store_sql.h), which
 * runs over the dialect (dialect.h); every operation enters it through
 * begin(), which asserts that this thread may block.
 *
 * Admin users: the rules of store.h are applied here, and roles and
 * allowed_ips are brought to their canonical comma-separated text before a
 * database sees them. Messages never show a password hash, and show a
 * rejected value only when it is printable.
 *
 * Related resources (resources.h): store_fetch checks its arguments and
 * answers an empty id list itself (no query). The demo data is
 * demo_data.c's, on this API and the shared logic. */
#include "store/store.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/cidr.h"
#include "store/dialect.h"
#include "store/resources.h"
#include "store/store_sql.h"
#include "util/endpoint.h"
#include "util/pool.h"

/* Locations that name a dialect by URI scheme; anything else is an SQLite
 * file. */
static const struct {
    const char *prefix;
    const sql_dialect *dialect;
} schemes[] = {
    {"postgresql://", &sql_pg},
    {"postgres://", &sql_pg},
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

static const sql_dialect *pick_dialect(const char *location)
{
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncasecmp(location, schemes[i].prefix, strlen(schemes[i].prefix)) == 0)
            return schemes[i].dialect;
    return &sql_sqlite;
}

/* Messages never echo the location: a URI may carry a password. */
store *store_open(const char *location, char err[STORE_ERR_LEN])
{
    if (err) err[0] = '\0';
    if (!location || !*location) {
        store_fail(err, STORE_ERR, "no database location given");
        return NULL;
    }
    return sql_open(pick_dialect(location), location, err);
}

void store_close(store *s) { sql_close(s); }

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
    return store_fail(err, STORE_INVALID, "%s must be a positive integer (got %lld)", what, (long long)id);
}

static store_status check_name(const char *what, const char *name, char *err)
{
    size_t n = strnlen(name, STORE_NAME_MAX);
    if (n == 0) return store_fail(err, STORE_INVALID, "%s name is empty", what);
    if (n >= STORE_NAME_MAX)
        return store_fail(err, STORE_INVALID, "%s name is longer than %d bytes", what, STORE_NAME_MAX - 1);
    if (!printable_utf8(name, n))
        return store_fail(err, STORE_INVALID, "%s name must be printable UTF-8 text (no control characters)",
                          what);
    return STORE_OK;
}

static store_status check_endpoint(const char *ep, char *err)
{
    char why[ENDPOINT_ERR_LEN];
    size_t n = strnlen(ep, STORE_ENDPOINT_MAX);
    if (n >= STORE_ENDPOINT_MAX)
        return store_fail(err, STORE_INVALID, "rpc_endpoint is longer than %d bytes", STORE_ENDPOINT_MAX - 1);
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

/* ---- admin user validation ---- */

#define ROLE_NAME_MAX 64
#define BCRYPT_LEN 60

/* White space (Unicode White_Space) and invisible formatting characters:
 * a username holding them could pass for another one in a listing or log. */
static bool blank_or_invisible(uint32_t cp)
{
    return cp == 0x20 || cp == 0xA0 || cp == 0xAD || cp == 0x115F || cp == 0x1160 || cp == 0x1680 ||
        cp == 0x180E || (cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
        (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || cp == 0x3164 || cp == 0xFEFF || cp == 0xFFA0;
}

static bool username_chars_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t len = utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (len == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == ',' || blank_or_invisible(cp))
            return false;
        i += len;
    }
    return true;
}

store_status store_username_validate(const char *username, char err[STORE_ERR_LEN])
{
    if (!username) return store_fail(err, STORE_ERR, "no username given");
    size_t n = strnlen(username, STORE_NAME_MAX);
    if (n == 0) return store_fail(err, STORE_INVALID, "username is empty");
    if (n >= STORE_NAME_MAX)
        return store_fail(err, STORE_INVALID, "username is longer than %d bytes", STORE_NAME_MAX - 1);
    if (!username_chars_ok(username, n))
        return store_fail(err, STORE_INVALID,
                          "username must be printable UTF-8 without control characters, "
                          "white space or commas");
    return STORE_OK;
}

/* Printable ASCII only: safe to quote in a message. */
static bool plain_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7E) return false;
    return true;
}

static bool role_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Whether the comma-separated list[0..len) holds tok[0..tlen). */
static bool list_has(const char *list, size_t len, const char *tok, size_t tlen)
{
    for (size_t i = 0; i < len;) {
        const char *comma = memchr(list + i, ',', len - i);
        size_t end = comma ? (size_t)(comma - list) : len;
        if (end - i == tlen && memcmp(list + i, tok, tlen) == 0) return true;
        i = end + 1;
    }
    return false;
}

/* Appends tok to the comma-separated out[*olen] unless already there. */
static bool list_add(char *out, size_t *olen, size_t cap, const char *tok, size_t tlen)
{
    if (list_has(out, *olen, tok, tlen)) return true;
    size_t need = *olen + (*olen ? 1 : 0) + tlen;
    if (need >= cap) return false;
    if (*olen) out[(*olen)++] = ',';
    memcpy(out + *olen, tok, tlen);
    *olen += tlen;
    out[*olen] = '\0';
    return true;
}

static store_status check_role(const char *r, size_t n, char *err)
{
    for (size_t i = 0; i < n; i++) {
        if (role_char(r[i])) continue;
        if (plain_ascii(r, n) && n <= ROLE_NAME_MAX)
            return store_fail(err, STORE_INVALID, "role '%.*s': role names are letters, digits, '_' and '-'",
                              (int)n, r);
        return store_fail(err, STORE_INVALID, "role names are letters, digits, '_' and '-'");
    }
    if (n > ROLE_NAME_MAX)
        return store_fail(err, STORE_INVALID, "role '%.40s...' is longer than %d characters", r,
                          ROLE_NAME_MAX);
    return STORE_OK;
}

static store_status normalize_roles(char roles[STORE_ROLES_MAX], char *err)
{
    size_t n = strnlen(roles, STORE_ROLES_MAX);
    if (n >= STORE_ROLES_MAX)
        return store_fail(err, STORE_INVALID, "roles are longer than %d bytes", STORE_ROLES_MAX - 1);
    char out[STORE_ROLES_MAX] = "";
    size_t olen = 0;
    for (size_t i = 0; i <= n;) {
        const char *comma = memchr(roles + i, ',', n - i);
        size_t end = comma ? (size_t)(comma - roles) : n;
        size_t a = i, b = end;
        while (a < b && (roles[a] == ' ' || roles[a] == '\t')) a++;
        while (b > a && (roles[b - 1] == ' ' || roles[b - 1] == '\t')) b--;
        if (b > a) {
            store_status st = check_role(roles + a, b - a, err);
            if (st != STORE_OK) return st;
            list_add(out, &olen, sizeof out, roles + a, b - a); /* never longer than roles */
        }
        i = end + 1;
    }
    if (olen == 0) return store_fail(err, STORE_INVALID, "at least one role is needed");
    memcpy(roles, out, olen + 1);
    return STORE_OK;
}

static bool ip_sep(char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The canonical text of one range cidr_parse accepts: the address as
 * inet_ntop writes it, then "/prefix" without leading zeros when one was
 * given. -1 when cidr_parse refuses it. */
static int canonical_range(const char *entry, char *out, size_t cap)
{
    cidr c;
    if (cidr_parse(entry, &c) != 0) return -1;
    const char *slash = strchr(entry, '/');
    size_t alen = slash ? (size_t)(slash - entry) : strlen(entry);
    char a[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN];
    unsigned char bin[16];
    if (alen >= sizeof a) return -1;
    memcpy(a, entry, alen);
    a[alen] = '\0';
    int fam = strchr(a, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(fam, a, bin) != 1 || !inet_ntop(fam, bin, text, sizeof text)) return -1;
    int n = slash ? snprintf(out, cap, "%s/%ld", text, strtol(slash + 1, NULL, 10))
                  : snprintf(out, cap, "%s", text);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static store_status normalize_ips(char ips[STORE_IPS_MAX], char *err)
{
    size_t n = strnlen(ips, STORE_IPS_MAX);
    if (n >= STORE_IPS_MAX)
        return store_fail(err, STORE_INVALID, "allowed_ips is longer than %d bytes", STORE_IPS_MAX - 1);
    char out[STORE_IPS_MAX] = "";
    size_t olen = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && ip_sep(ips[i])) i++;
        if (i == n) break;
        size_t start = i;
        while (i < n && !ip_sep(ips[i])) i++;
        size_t len = i - start;
        char entry[INET6_ADDRSTRLEN + 8], canon[INET6_ADDRSTRLEN + 8];
        bool ok = len < sizeof entry;
        if (ok) {
            memcpy(entry, ips + start, len);
            entry[len] = '\0';
            ok = canonical_range(entry, canon, sizeof canon) == 0;
        }
        if (!ok && plain_ascii(ips + start, len))
            return store_fail(err, STORE_INVALID,
                              "allowed_ips: '%.*s%s' is not an IPv4/IPv6 address or CIDR range",
                              (int)(len > 64 ? 64 : len), ips + start, len > 64 ? "..." : "");
        if (!ok)
            return store_fail(err, STORE_INVALID,
                              "allowed_ips: an entry is not an IPv4/IPv6 address or CIDR range");
        if (!list_add(out, &olen, sizeof out, canon, strlen(canon)))
            return store_fail(err, STORE_INVALID, "allowed_ips is longer than %d bytes", STORE_IPS_MAX - 1);
    }
    memcpy(ips, out, olen + 1);
    return STORE_OK;
}

static bool bcrypt_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '/';
}

/* "" or "$2a$"/"$2b$", cost 04..31, '$', 53 characters of the bcrypt
 * alphabet. The message never shows the value. */
static store_status check_hash(const char *h, char *err)
{
    size_t n = strnlen(h, STORE_HASH_MAX);
    if (n == 0) return STORE_OK;
    bool ok = n == BCRYPT_LEN && h[0] == '$' && h[1] == '2' && (h[2] == 'a' || h[2] == 'b') && h[3] == '$' &&
        h[4] >= '0' && h[4] <= '3' && h[5] >= '0' && h[5] <= '9' && h[6] == '$';
    if (ok) {
        int cost = (h[4] - '0') * 10 + (h[5] - '0');
        ok = cost >= 4 && cost <= 31;
    }
    for (size_t i = 7; ok && i < BCRYPT_LEN; i++) ok = bcrypt_char(h[i]);
    if (ok) return STORE_OK;
    return store_fail(err, STORE_INVALID,
                      "encrypted_password must be empty or a bcrypt hash ($2a$ or $2b$, "
                      "%d characters)",
                      BCRYPT_LEN);
}

store_status store_user_normalize(store_admin_user *u, char err[STORE_ERR_LEN])
{
    if (!u) return store_fail(err, STORE_ERR, "no user given");
    if (u->id < 0)
        return store_fail(err, STORE_INVALID,
                          "user id must be a positive integer, or 0 to assign one (got %lld)",
                          (long long)u->id);
    store_status st = store_username_validate(u->username, err);
    if (st == STORE_OK) st = check_hash(u->encrypted_password, err);
    if (st == STORE_OK) st = normalize_roles(u->roles, err);
    if (st == STORE_OK) st = normalize_ips(u->allowed_ips, err);
    return st;
}

/* ---- dispatch ---- */

/* Every operation starts here. A query may block, so never on an event
 * loop's thread (util/pool.h). */
static store_status begin(const store *s, char *err)
{
    assert(pool_may_block());
    if (err) err[0] = '\0';
    return s ? STORE_OK : store_fail(err, STORE_ERR, "store is not open");
}

/* The checks pops and nodes share; what names the id ("pop id"). */
static store_status remove_by_id(store *s, sql_kind k, const char *what, int64_t id, char *err)
{
    store_status st = begin(s, err);
    if (st == STORE_OK) st = check_id(what, id, err);
    return st == STORE_OK ? sql_remove(s, k, id, err) : st;
}

static store_status get_by_id(store *s, sql_kind k, const char *what, int64_t id, void *out, char *err)
{
    store_status st = begin(s, err);
    if (st == STORE_OK && !out) st = store_fail(err, STORE_ERR, "no output given");
    if (st == STORE_OK) st = check_id(what, id, err);
    return st == STORE_OK ? sql_get(s, k, id, out, err) : st;
}

/* *arr is NULL unless there are rows; have_out: the caller gave an array
 * pointer. */
static store_status list_all(store *s, sql_kind k, bool have_out, void **arr, size_t *n, char *err)
{
    store_status st = begin(s, err);
    if (st != STORE_OK) return st;
    if (!have_out || !n) return store_fail(err, STORE_ERR, "no output given");
    *n = 0;
    return sql_list(s, k, arr, n, err);
}

store_status store_pop_add(store *s, const store_pop *pop, char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK) st = store_pop_validate(pop, err);
    return st == STORE_OK ? sql_add(s, SQL_POPS, pop, NULL, err) : st;
}

store_status store_pop_remove(store *s, int64_t id, char err[STORE_ERR_LEN])
{
    return remove_by_id(s, SQL_POPS, "pop id", id, err);
}

store_status store_pop_list(store *s, store_pop **out, size_t *n, char err[STORE_ERR_LEN])
{
    void *arr = NULL;
    store_status st = list_all(s, SQL_POPS, out != NULL, &arr, n, err);
    if (out) *out = arr;
    return st;
}

store_status store_pop_get(store *s, int64_t id, store_pop *out, char err[STORE_ERR_LEN])
{
    return get_by_id(s, SQL_POPS, "pop id", id, out, err);
}

store_status store_node_add(store *s, const store_node *node, char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK) st = store_node_validate(node, err);
    return st == STORE_OK ? sql_add(s, SQL_NODES, node, NULL, err) : st;
}

store_status store_node_remove(store *s, int64_t id, char err[STORE_ERR_LEN])
{
    return remove_by_id(s, SQL_NODES, "node id", id, err);
}

store_status store_node_list(store *s, store_node **out, size_t *n, char err[STORE_ERR_LEN])
{
    void *arr = NULL;
    store_status st = list_all(s, SQL_NODES, out != NULL, &arr, n, err);
    if (out) *out = arr;
    return st;
}

store_status store_node_get(store *s, int64_t id, store_node *out, char err[STORE_ERR_LEN])
{
    return get_by_id(s, SQL_NODES, "node id", id, out, err);
}

store_status store_user_add(store *s, store_admin_user *u, char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK && !u) st = store_fail(err, STORE_ERR, "no user given");
    if (st != STORE_OK) return st;
    store_admin_user v = *u;
    st = store_user_normalize(&v, err);
    if (st == STORE_OK) st = sql_add(s, SQL_USERS, &v, &v.id, err);
    if (st == STORE_OK) *u = v;
    explicit_bzero(&v, sizeof v);
    return st;
}

store_status store_user_get(store *s, int64_t id, store_admin_user *out, char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK && !out) st = store_fail(err, STORE_ERR, "no output given");
    if (st != STORE_OK) return st;
    memset(out, 0, sizeof *out);
    if (id <= 0) return store_fail(err, STORE_NOT_FOUND, "user %lld not found", (long long)id);
    return sql_get(s, SQL_USERS, id, out, err);
}

store_status store_user_find(store *s, const char *username, store_admin_user *out, char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK && (!out || !username)) st = store_fail(err, STORE_ERR, "no username or output given");
    if (st != STORE_OK) return st;
    memset(out, 0, sizeof *out);
    /* no such user can exist; the name is not echoed (it may hold anything) */
    if (store_username_validate(username, NULL) != STORE_OK)
        return store_fail(err, STORE_NOT_FOUND, "user not found (not a valid username)");
    return sql_user_find(s, username, out, err);
}

store_status store_user_set_password(store *s, const char *username, const char *hash,
                                     char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK && !hash) st = store_fail(err, STORE_ERR, "no password hash given");
    if (st == STORE_OK) st = store_username_validate(username, err);
    if (st == STORE_OK) st = check_hash(hash, err);
    return st == STORE_OK ? sql_user_set(s, username, SQL_SET_PASSWORD, hash, err) : st;
}

store_status store_user_set_enabled(store *s, const char *username, bool enabled, char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK) st = store_username_validate(username, err);
    return st == STORE_OK ? sql_user_set(s, username, SQL_SET_ENABLED, enabled ? "1" : "0", err) : st;
}

/* The hashes are never read; blanked here all the same, as store.h
 * promises. */
store_status store_user_list(store *s, store_admin_user **out, size_t *n, char err[STORE_ERR_LEN])
{
    void *arr = NULL;
    store_status st = list_all(s, SQL_USERS, out != NULL, &arr, n, err);
    if (out) *out = arr;
    if (st != STORE_OK) return st;
    for (size_t i = 0; i < *n; i++)
        explicit_bzero((*out)[i].encrypted_password, sizeof(*out)[i].encrypted_password);
    return STORE_OK;
}

/* ---- related resources ---- */

store_status store_fetch(store *s, res_type_id t, const int64_t *ids, size_t n, res_rows *out,
                         char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK && !out) st = store_fail(err, STORE_ERR, "no output given");
    if (st != STORE_OK) return st;
    memset(out, 0, sizeof *out);
    if ((int)t < 0 || (int)t >= RT_COUNT)
        return store_fail(err, STORE_ERR, "unknown resource type %d", (int)t);
    if (n == 0) return STORE_OK; /* nothing to read: no query */
    if (!ids) return store_fail(err, STORE_ERR, "no ids given");
    return sql_fetch(s, t, ids, n, out, err);
}

store_status store_schema_init(store *s, char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    return st == STORE_OK ? sql_schema_init(s, err) : st;
}

/* ---- history ---- */

store_writer *store_writer_new(store *s) { return s ? sql_writer_new(s) : NULL; }

void store_writer_free(store_writer *w) { sql_writer_free(w); }

store_status store_writer_lock(store_writer *w, int64_t key, bool *held, char err[STORE_ERR_LEN])
{
    if (held) *held = false;
    if (err) err[0] = '\0';
    if (!w || !held) return store_fail(err, STORE_ERR, "no writer given");
    return sql_writer_lock(w, key, held, err);
}

store_status store_sample_write(store_writer *w, const store_sample *smp, const char *writer, bool *written,
                                char err[STORE_ERR_LEN])
{
    if (written) *written = false;
    if (err) err[0] = '\0';
    if (!w || !smp || !writer || !written) return store_fail(err, STORE_ERR, "no sample given");
    for (int k = 0; k < STORE_HIST_KINDS; k++)
        if (smp->n[k] && !smp->rows[k]) return store_fail(err, STORE_ERR, "a sample without its rows");
    return sql_sample_write(w, smp, writer, written, err);
}

store_status store_history_prune(store_writer *w, int64_t before_s, int batch, int max_batches,
                                 uint64_t *deleted, char err[STORE_ERR_LEN])
{
    if (deleted) *deleted = 0;
    if (err) err[0] = '\0';
    if (!w || !deleted || batch < 1 || max_batches < 1)
        return store_fail(err, STORE_ERR, "retention: bad arguments");
    return sql_history_prune(w, before_s, batch, max_batches, deleted, err);
}

store_status store_history_read(store *s, const store_hist_query *q, store_hist_point **out, size_t *n,
                                char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    if (st == STORE_OK && (!q || !out || !n)) st = store_fail(err, STORE_ERR, "no query given");
    if (st != STORE_OK) return st;
    *out = NULL;
    *n = 0;
    if ((int)q->kind < 0 || q->kind >= STORE_HIST_KINDS || q->bucket_s < 1 || q->limit < 1 ||
        (!q->total && q->nids && !q->ids))
        return store_fail(err, STORE_ERR, "a history query out of range");
    if (!q->total && q->nids == 0) return STORE_OK; /* no subject: no query */
    return sql_history_read(s, q, out, n, err);
}

store_status store_history_init(store *s, char err[STORE_ERR_LEN])
{
    store_status st = begin(s, err);
    return st == STORE_OK ? sql_history_init(s, err) : st;
}

uint64_t store_query_count(const store *s) { return s ? sql_query_count(s) : 0; }
