/* snapcache: the documents of the newest snapshot; see snapcache.h.
 *
 * A short array under a mutex, searched linearly (64 entries at most:
 * cheaper than the hash it would need). An entry's document is shared by
 * reference: a hit hands it to the answer as it is (http_response_share,
 * no copy), and the last reference, the cache's or a sending answer's,
 * frees it. */
#include "api/snapcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "http/response.h"
#include "jsonapi/query.h"

typedef struct doc {
    atomic_int refs;
    uint64_t hash[2]; /* its ETag's (http_body_hash) */
    size_t len;
    char bytes[];
} doc;

typedef struct entry {
    uint64_t seq;
    char *key;
    size_t keylen;
    doc *d;
    uint64_t used; /* the cache's clock when last read or written */
} entry;

struct snapcache {
    pthread_mutex_t mu;
    entry e[SNAPCACHE_ENTRIES];
    size_t n, bytes;
    uint64_t clock, newest; /* newest: the highest snapshot seq seen */
    snapcache_stats stats;
};

static void doc_release(doc *d)
{
    if (d && atomic_fetch_sub(&d->refs, 1) == 1) free(d);
}

static void doc_done(void *d) { doc_release(d); }

snapcache *snapcache_new(void)
{
    snapcache *c = calloc(1, sizeof *c);
    if (c) pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void drop(snapcache *c, size_t i)
{
    c->bytes -= c->e[i].d->len;
    doc_release(c->e[i].d);
    free(c->e[i].key);
    c->e[i] = c->e[--c->n];
}

void snapcache_free(snapcache *c)
{
    if (!c) return;
    while (c->n) drop(c, 0);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void snapcache_key(buf *key, const http_request *req, const char *base, size_t base_len)
{
    buf_append(key, base, base_len);
    buf_puts(key, req->path);
    for (size_t i = 0; i < req->nparams; i++) { /* each part after its length: no two lists read alike */
        const char *k = req->params[i].key, *v = req->params[i].value;
        if (query_key_of(k) == QUERY_KEY_TOKEN) continue;
        buf_putc(key, '\n');
        buf_put_i64(key, (int64_t)strlen(k));
        buf_putc(key, ':');
        buf_puts(key, k);
        buf_put_i64(key, (int64_t)strlen(v));
        buf_putc(key, ':');
        buf_puts(key, v);
    }
}

/* Forgets the documents of older snapshots once a newer one is seen. */
static void advance(snapcache *c, uint64_t seq)
{
    if (seq <= c->newest) return;
    c->newest = seq;
    for (size_t i = c->n; i-- > 0;)
        if (c->e[i].seq < seq) drop(c, i);
}

static size_t find(const snapcache *c, uint64_t seq, const buf *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->e[i].seq == seq && c->e[i].keylen == key->len && memcmp(c->e[i].key, key->data, key->len) == 0)
            return i;
    return c->n;
}

bool snapcache_get(snapcache *c, uint64_t seq, const buf *key, http_response *res)
{
    if (key->oom) return false;
    pthread_mutex_lock(&c->mu);
    advance(c, seq);
    size_t i = find(c, seq, key);
    doc *d = NULL;
    if (i < c->n) {
        d = c->e[i].d;
        atomic_fetch_add(&d->refs, 1);
        c->e[i].used = ++c->clock;
        c->stats.hits++;
    } else {
        c->stats.misses++;
    }
    pthread_mutex_unlock(&c->mu);
    if (!d) return false;
    http_response_clear_body(res);
    http_response_share(res, d->bytes, d->len, doc_done, d); /* our reference goes with it */
    res->hashed = true;
    res->hash[0] = d->hash[0];
    res->hash[1] = d->hash[1];
    res->status = 200;
    return true;
}

void snapcache_put(snapcache *c, uint64_t seq, const buf *key, const http_response *res)
{
    size_t len = res->body.len;
    for (size_t i = 0; i < res->nmore; i++) len += res->more[i].len;
    if (res->status != 200 || key->oom || res->body.oom || len > SNAPCACHE_DOC_MAX) return;
    doc *d = malloc(sizeof *d + len);
    char *k = malloc(key->len ? key->len : 1);
    if (!d || !k) {
        free(d);
        free(k);
        return;
    }
    atomic_init(&d->refs, 1);
    d->len = len;
    memcpy(d->bytes, res->body.data, res->body.len);
    for (size_t i = 0, at = res->body.len; i < res->nmore; at += res->more[i++].len)
        memcpy(d->bytes + at, res->more[i].data, res->more[i].len);
    memcpy(k, key->data, key->len);
    http_body_hash(d->bytes, len, d->hash);

    pthread_mutex_lock(&c->mu);
    advance(c, seq);
    bool stale = seq < c->newest || find(c, seq, key) < c->n; /* an older snapshot's, or written twice */
    while (!stale && (c->n == SNAPCACHE_ENTRIES || (c->n && c->bytes + len > SNAPCACHE_BYTES))) {
        size_t lru = 0;
        for (size_t i = 1; i < c->n; i++)
            if (c->e[i].used < c->e[lru].used) lru = i;
        drop(c, lru);
    }
    if (!stale) {
        c->e[c->n++] = (entry){seq, k, key->len, d, ++c->clock};
        c->bytes += len;
        d = NULL;
        k = NULL;
    }
    c->stats.entries = c->n;
    c->stats.bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
    doc_release(d);
    free(k);
}

snapcache_stats snapcache_get_stats(snapcache *c)
{
    pthread_mutex_lock(&c->mu);
    snapcache_stats s = c->stats;
    s.entries = c->n;
    s.bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
    return s;
}
