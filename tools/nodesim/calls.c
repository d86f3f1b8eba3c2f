/* calls: the call table (see calls.h). Owns every call's memory; nothing
 * outside holds a sim_call pointer across event-loop iterations. */
#include "calls.h"

#include <stdlib.h>
#include <string.h>

static uint64_t tag_hash(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

void sim_calls_init(sim_calls *t, uint64_t seed, int64_t node_id, int64_t pop_id, size_t target)
{
    memset(t, 0, sizeof *t);
    sim_rng_seed(&t->rng, seed);
    t->node_id = node_id;
    t->pop_id = pop_id;
    t->target = target;
}

/* One line of the --churn-log (calls.h). Tags are generated: no space or newline. */
static void log_change(const sim_calls *t, const char *what, const sim_call *c, int64_t now_us)
{
    if (t->log) fprintf(t->log, "%lld %s %.*s\n", (long long)now_us, what, (int)c->tag_len, c->tag);
}

void sim_calls_log_listing(const sim_calls *t, int64_t now_us)
{
    if (t->log) fprintf(t->log, "%lld list\n", (long long)now_us);
}

void sim_calls_log_boot(const sim_calls *t, int64_t now_us)
{
    if (t->log) fprintf(t->log, "%lld boot\n", (long long)now_us);
}

static void call_free(sim_call *c)
{
    if (!c) return;
    free(c->json);
    free(c->tag);
    free(c->gen);
    free(c->fields);
    free(c);
}

void sim_calls_free(sim_calls *t)
{
    for (size_t i = 0; i < t->n; i++) call_free(t->v[i]);
    free(t->v);
    free(t->buckets);
    memset(t, 0, sizeof *t);
}

sim_call *sim_calls_find(const sim_calls *t, const char *tag, size_t tag_len)
{
    if (!t->nbuckets) return NULL;
    sim_call *c = t->buckets[tag_hash(tag, tag_len) & (t->nbuckets - 1)];
    for (; c; c = c->hnext)
        if (c->tag_len == tag_len && memcmp(c->tag, tag, tag_len) == 0) return c;
    return NULL;
}

static int grow_buckets(sim_calls *t)
{
    size_t nb = t->nbuckets ? t->nbuckets * 2 : 64;
    sim_call **b = calloc(nb, sizeof *b);
    if (!b) return -1;
    for (size_t i = 0; i < t->n; i++) {
        sim_call *c = t->v[i];
        size_t h = tag_hash(c->tag, c->tag_len) & (nb - 1);
        c->hnext = b[h];
        b[h] = c;
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
    return 0;
}

/* Takes ownership of c (freeing it on failure). */
static int insert(sim_calls *t, sim_call *c)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        sim_call **v = realloc(t->v, cap * sizeof *v);
        if (!v) goto fail;
        t->v = v;
        t->cap = cap;
    }
    if (t->n >= t->nbuckets && grow_buckets(t) != 0) goto fail;
    size_t h = tag_hash(c->tag, c->tag_len) & (t->nbuckets - 1);
    c->hnext = t->buckets[h];
    t->buckets[h] = c;
    c->idx = t->n;
    t->v[t->n++] = c;
    t->bytes += c->len;
    return 0;
fail:
    call_free(c);
    return -1;
}

void sim_calls_remove(sim_calls *t, sim_call *c)
{
    log_change(t, "end", c, sim_now_real_us());
    sim_call **pp = &t->buckets[tag_hash(c->tag, c->tag_len) & (t->nbuckets - 1)];
    while (*pp && *pp != c) pp = &(*pp)->hnext;
    if (*pp) *pp = c->hnext;
    size_t i = c->idx;
    memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof *t->v);
    t->n--;
    for (; i < t->n; i++) t->v[i]->idx = i;
    t->bytes -= c->len;
    call_free(c);
}

/* Renders g into c->json / len / slot. */
static int render_into(sim_call *c, const sim_gen_call *g)
{
    buf b;
    buf_init(&b);
    buf_reserve(&b, 4096); /* a record is ~2.6 KB: spares the doubling */
    size_t slot;
    sim_gen_render(g, &b, &slot);
    if (b.oom) {
        buf_free(&b);
        return -1;
    }
    size_t len = b.len;
    char *json = buf_steal(&b);
    if (!json) return -1;
    char *shrunk = realloc(json, len + 1); /* give back the doubling slack */
    if (shrunk) json = shrunk;
    free(c->json);
    free(c->fields); /* it pointed into the old text */
    c->fields = NULL;
    c->json = json;
    c->len = len;
    c->slot = slot;
    c->connect_us = g->connect_us;
    return 0;
}

static int add_generated(sim_calls *t, int64_t now_us, bool established)
{
    sim_call *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->gen = malloc(sizeof *c->gen);
    if (!c->gen) goto fail;
    sim_gen_make(c->gen, &t->rng, t->node_id, t->pop_id, now_us, established);
    size_t tl = strlen(c->gen->local_tag);
    while (sim_calls_find(t, c->gen->local_tag, tl)) sim_gen_new_tag(c->gen, &t->rng);
    c->tag = strdup(c->gen->local_tag);
    c->tag_len = tl;
    if (!c->tag || render_into(c, c->gen) != 0) goto fail;
    if (insert(t, c) != 0) return -1;
    log_change(t, "start", c, now_us);
    if (c->gen->connect_us) log_change(t, "connect", c, now_us);
    return 0;
fail:
    call_free(c);
    return -1;
}

int sim_calls_generate(sim_calls *t, int64_t now_us)
{
    for (size_t i = 0; i < t->target; i++)
        if (add_generated(t, now_us, true) != 0) return -1;
    return 0;
}

int sim_calls_add_static(sim_calls *t, const char *json, size_t len, const char *tag, size_t tag_len)
{
    if (sim_calls_find(t, tag, tag_len)) return -2;
    sim_call *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->json = malloc(len + 1);
    c->tag = malloc(tag_len + 1);
    if (!c->json || !c->tag) {
        call_free(c);
        return -1;
    }
    memcpy(c->json, json, len);
    c->json[len] = '\0';
    memcpy(c->tag, tag, tag_len);
    c->tag[tag_len] = '\0';
    c->len = len;
    c->tag_len = tag_len;
    c->slot = SIZE_MAX;
    return insert(t, c);
}

/* Seconds as "S.ffffff" (never negative). */
static void put_seconds(buf *b, int64_t us)
{
    if (us < 0) us = 0;
    char tmp[32];
    char *end = tmp + sizeof tmp, *p = end;
    for (int i = 0; i < 6; i++) {
        *--p = (char)('0' + us % 10);
        us /= 10;
    }
    *--p = '.';
    do {
        *--p = (char)('0' + us % 10);
        us /= 10;
    } while (us);
    buf_append(b, p, (size_t)(end - p));
}

void sim_calls_write_duration(const sim_call *c, buf *b, int64_t now_us)
{
    if (c->slot != SIZE_MAX) put_seconds(b, now_us - c->connect_us);
}

void sim_calls_write_one(const sim_call *c, buf *out, int64_t now_us)
{
    if (c->slot == SIZE_MAX) {
        buf_append(out, c->json, c->len);
        return;
    }
    buf_append(out, c->json, c->slot);
    put_seconds(out, now_us - c->connect_us);
    buf_append(out, c->json + c->slot, c->len - c->slot);
}

void sim_calls_write_all(const sim_calls *t, buf *out, int64_t now_us)
{
    /* one allocation up front: records + a duration and a comma each */
    if (!buf_reserve(out, t->bytes + t->n * 32 + 2)) return;
    buf_putc(out, '[');
    for (size_t i = 0; i < t->n; i++) {
        if (i) buf_putc(out, ',');
        sim_calls_write_one(t->v[i], out, now_us);
    }
    buf_putc(out, ']');
}

uint64_t sim_calls_new_mark(sim_calls *t) { return ++t->mark_gen; }

int sim_calls_churn(sim_calls *t, int64_t now_us)
{
    size_t k = t->target;
    int64_t max_end = (int64_t)(k / 50 + 1);
    int64_t n_end = sim_rng_range(&t->rng, 0, max_end);
    for (int64_t i = 0; i < n_end && t->n > 0; i++)
        sim_calls_remove(t, t->v[sim_rng_range(&t->rng, 0, (int64_t)t->n - 1)]);

    int rc = 0;
    for (size_t i = 0; i < t->n; i++) {
        sim_call *c = t->v[i];
        if (!c->gen || c->gen->connect_us != 0 || !sim_rng_chance(&t->rng, 20)) continue;
        c->gen->connect_us = now_us;
        size_t old = c->len;
        if (render_into(c, c->gen) != 0) {
            c->gen->connect_us = 0;
            rc = -1;
            continue;
        }
        t->bytes = t->bytes - old + c->len;
        log_change(t, "connect", c, now_us);
    }

    int64_t jitter = (int64_t)(k / 50);
    int64_t want = (int64_t)k + sim_rng_range(&t->rng, -jitter, jitter);
    while ((int64_t)t->n < want)
        if (add_generated(t, now_us, false) != 0) return -1;
    return rc;
}
