/* pushdown: the filtered call and the nodes that refuse it; see pushdown.h.
 * The refusals are a short array under a mutex: one entry per node that
 * refused lately, looked up once per node and listing. */
#include "api/pushdown.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "model/calls.h"
#include "util/clock.h"
#include "util/grow.h"
#include "util/log.h"

typedef struct refusal {
    int64_t id;
    int64_t until_ms;
} refusal;

struct pushdown {
    pthread_mutex_t mu;
    refusal *v;
    size_t n, cap;
};

const node_call pushdown_plain = {"yeti.show.calls", NULL, 0, REPLY_EXPECT_CALLS, NULL};

pushdown *pushdown_new(void)
{
    pushdown *pd = calloc(1, sizeof *pd);
    if (pd) pthread_mutex_init(&pd->mu, NULL);
    return pd;
}

void pushdown_free(pushdown *pd)
{
    if (!pd) return;
    pthread_mutex_destroy(&pd->mu);
    free(pd->v);
    free(pd);
}

/* The node fields a listing reads: local_tag among the attributes, then
 * the relationships' ids (docs/CONTRACT.md §2). */
#define NFIELDS (ATTR_COUNT + REL_FROM_RECORD)

const char **pushdown_params(char *const *rules, size_t nrules, const listing_query *q,
                             const sort_spec *narrow, size_t *n)
{
    const char **p = malloc((NFIELDS + 1 + nrules) * sizeof *p);
    if (!p) return NULL;
    bool attrs[ATTR_COUNT], rels[REL_COUNT];
    for (int i = 0; i < ATTR_COUNT; i++) attrs[i] = !narrow;
    for (int i = 0; i < REL_COUNT; i++) rels[i] = !narrow;
    if (narrow) {
        listing_query_fields(q, attrs, rels);
        for (size_t i = 0; i < narrow->n; i++) attrs[narrow->keys[i].key] = true;
    }
    size_t k = 0;
    for (int i = 0; i < ATTR_COUNT; i++)
        if (attrs[i]) p[k++] = call_attrs[i].field;
    for (int i = 0; i < REL_FROM_RECORD; i++)
        if (rels[i]) p[k++] = call_rels[i].field;
    if (nrules) p[k++] = "WHERE";
    for (size_t i = 0; i < nrules; i++) p[k++] = rules[i];
    *n = k;
    return p;
}

bool pushdown_refused(pushdown *pd, int64_t id)
{
    int64_t now = clock_now_ms();
    bool refused = false;
    pthread_mutex_lock(&pd->mu);
    for (size_t i = 0; i < pd->n; i++)
        if (pd->v[i].id == id) refused = pd->v[i].until_ms > now;
    pthread_mutex_unlock(&pd->mu);
    return refused;
}

void pushdown_note(pushdown *pd, size_t n, const node_target *targets, const node_result *results)
{
    int64_t until = clock_now_ms() + PUSHDOWN_FORGET_MS;
    for (size_t i = 0; i < n; i++) {
        if (!results[i].fell_back) continue;
        buf line;
        log_begin(&line, LOG_WARN, "pushdown-refused");
        log_kv_i64(&line, "node", targets[i].id);
        log_kv_i64(&line, "code", results[i].rpc_code);
        log_kv(&line, "detail", results[i].detail);
        log_end(&line, LOG_WARN);
        pthread_mutex_lock(&pd->mu);
        size_t k = 0;
        while (k < pd->n && pd->v[k].id != targets[i].id) k++;
        if (k == pd->n && grow((void **)&pd->v, &pd->cap, pd->n + 1, sizeof *pd->v, 8)) pd->n++;
        if (k < pd->n) pd->v[k] = (refusal){targets[i].id, until};
        pthread_mutex_unlock(&pd->mu);
    }
}
