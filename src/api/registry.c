/* registry: TTL cache of the node list; see registry.h. Reloading happens
 * in the requesting thread, outside the mutex, so a slow store never blocks
 * readers of the current snapshot; two threads may reload at once, and the
 * later result simply wins. */
#include "api/registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server.h"
#include "nodes/fanout.h"
#include "util/clock.h"
#include "util/log.h"

struct registry {
    store *st;
    int ttl_ms;
    pthread_mutex_t mu;
    node_snapshot *cur;
    int64_t loaded_ms;
};

registry *registry_new(store *st, int ttl_ms)
{
    registry *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->st = st;
    r->ttl_ms = ttl_ms;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void snapshot_unref(node_snapshot *s)
{
    if (s && --s->refs == 0) {
        free(s->nodes);
        free(s->targets);
        free(s->pop_ids);
        free(s);
    }
}

void registry_free(registry *r)
{
    if (!r) return;
    snapshot_unref(r->cur);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static node_snapshot *load(registry *r, char err[STORE_ERR_LEN])
{
    node_snapshot *s = calloc(1, sizeof *s);
    if (!s) {
        strcpy(err, "out of memory");
        return NULL;
    }
    if (store_node_list(r->st, &s->nodes, &s->n, err) != STORE_OK) {
        free(s);
        return NULL;
    }
    s->refs = 1;
    s->targets = calloc(s->n ? s->n : 1, sizeof *s->targets);
    s->pop_ids = calloc(s->n ? s->n : 1, sizeof *s->pop_ids);
    if (!s->targets || !s->pop_ids) {
        strcpy(err, "out of memory");
        snapshot_unref(s);
        return NULL;
    }
    for (size_t i = 0; i < s->n; i++) {
        const store_node *nd = &s->nodes[i];
        s->targets[i] = (node_target){nd->id, nd->name, nd->rpc_endpoint};
        s->pop_ids[i] = nd->pop_id;
    }
    return s;
}

/* The current snapshot, referenced, when it is younger than the TTL. */
static node_snapshot *take_fresh(registry *r, int64_t now)
{
    pthread_mutex_lock(&r->mu);
    node_snapshot *s = r->cur && now - r->loaded_ms < r->ttl_ms ? r->cur : NULL;
    if (s) s->refs++;
    pthread_mutex_unlock(&r->mu);
    return s;
}

node_snapshot *registry_acquire(registry *r, char err[STORE_ERR_LEN])
{
    int64_t now = clock_now_ms();
    node_snapshot *s = take_fresh(r, now);
    if (s) return s;
    node_snapshot *fresh = load(r, err); /* err says why when there is none at all */
    pthread_mutex_lock(&r->mu);
    if (fresh) {
        snapshot_unref(r->cur);
        r->cur = fresh;
    } else if (r->cur) {
        log_msg(LOG_WARN, "node list reload failed, keeping the last one: %s", err);
    }
    r->loaded_ms = now; /* also after a failure: retry after the TTL, not every request */
    s = r->cur;
    if (s) s->refs++;
    pthread_mutex_unlock(&r->mu);
    return s;
}

node_snapshot *registry_for_request(registry *r, const http_request *req, bool *moved,
                                    char err[STORE_ERR_LEN])
{
    *moved = false;
    node_snapshot *s = take_fresh(r, clock_now_ms());
    if (s) return s;
    if (http_to_worker(req)) {
        *moved = true;
        return NULL;
    }
    return registry_acquire(r, err);
}

void registry_release(registry *r, node_snapshot *s)
{
    if (!s) return;
    pthread_mutex_lock(&r->mu);
    snapshot_unref(s);
    pthread_mutex_unlock(&r->mu);
}

const store_node *snapshot_find(const node_snapshot *s, int64_t id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->nodes[i].id == id) return &s->nodes[i];
    return NULL;
}
