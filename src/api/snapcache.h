/* snapcache: documents already written from the latest snapshot (docs/API.md,
 * "The live view").
 *
 * A snapshot never changes, so a listing or a count asked of it again
 * with the same parameters and the same base URL is the same document,
 * byte for byte. Dashboards poll exactly that way: many clients, the same
 * few questions, `Cache-Control: max-age`. The cache keeps the last
 * documents written from the newest snapshot (at most SNAPCACHE_ENTRIES,
 * each at most SNAPCACHE_DOC_MAX bytes, SNAPCACHE_BYTES in all, least
 * recently used out first); a document of an older snapshot is never
 * served, and is dropped when one of a newer snapshot comes in. */
#ifndef AC_API_SNAPCACHE_H
#define AC_API_SNAPCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/server.h"
#include "util/buf.h"

#define SNAPCACHE_ENTRIES 64
#define SNAPCACHE_DOC_MAX ((size_t)8 << 20)
#define SNAPCACHE_BYTES ((size_t)64 << 20)

typedef struct snapcache snapcache;

snapcache *snapcache_new(void);
void snapcache_free(snapcache *c);

/* The key of a request's document: its path, its base URL and its query
 * parameters in order (the token left out: it never changes a document). */
void snapcache_key(buf *key, const http_request *req, const char *base, size_t base_len);

/* Makes the document of (seq, key) res's body (shared, not copied) and
 * sets res->status: true on a hit. */
bool snapcache_get(snapcache *c, uint64_t seq, const buf *key, http_response *res);
/* Keeps res's document (200, body and its more[] parts) for (seq, key). */
void snapcache_put(snapcache *c, uint64_t seq, const buf *key, const http_response *res);

typedef struct snapcache_stats {
    uint64_t hits, misses;
    size_t entries, bytes;
} snapcache_stats;

snapcache_stats snapcache_get_stats(snapcache *c);

#endif
