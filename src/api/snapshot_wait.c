/* snapshot_wait: a snapshot of the live view for a thread that may block
 * (the history writer): the latest when young enough, else the refresh it
 * joins or starts (live_get), waited for on a condition variable. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "api/app_internal.h"

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    live_snap *snap;
} waiter;

static void on_ready(void *arg, live_snap *snap)
{
    waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    w->snap = snap;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

live_snap *app_snapshot_wait(void *ctx, int64_t max_age_ms, char err[256])
{
    app *a = ctx;
    char e[STORE_ERR_LEN] = "";
    node_snapshot *ns = registry_acquire(a->reg, e);
    if (!ns) {
        snprintf(err, 256, "no node list: %.200s", e);
        return NULL;
    }
    live_nodes nodes = {ns->n, ns->targets, ns->pop_ids};
    waiter w = {.done = false};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    live_snap *s = live_get(a->live, max_age_ms, &nodes, on_ready, &w);
    if (!s) {
        pthread_mutex_lock(&w.mu);
        while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        s = w.snap;
        if (!s) snprintf(err, 256, "out of memory taking a snapshot");
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    registry_release(a->reg, ns);
    return s;
}
