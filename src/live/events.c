/* events: successive snapshots of the live view, diffed into call events
 * (docs/API.md, "The event stream (engine)").
 *
 * State. After each round the engine holds a state: every call it knows,
 * in an open-addressing hash table keyed by the call's id (node id and
 * local tag, model/call_id.h), each entry pointing at the call's record in
 * the round's snapshot (retained while the state lives) or, for a node
 * that failed, in a copy of that node's last known calls (`held`, made
 * once when it fails and shared by the states that follow until it
 * answers again). States are immutable and reference-counted: a reader
 * that wants the current set (a reset) takes one and reads it unlocked.
 *
 * A round. Given the next snapshot, the new state's table is built in one
 * pass over its calls, each looked up in the old table: not there,
 * `call-started`; there, unconnected, now connected, `call-connected`.
 * The old entries no new call claimed are `call-ended`, unless their node
 * failed this round (their entries carry on, from `held`). A node that
 * stops answering is `node-failed`; when it answers again,
 * `node-recovered`, and its held calls are reconciled as any other: ended
 * if gone, connected if connected meanwhile. So a round costs O(calls)
 * hash operations and a handful of allocations (the table, the marks, the
 * round's events and one arena for the records they carry), never one per
 * call or per field.
 *
 * Views. A view is the stream under one filter set (the listing's,
 * jsonapi/query.h); subscribers with the same filters share it. Each
 * round, for every view, each call is matched in its old and new form:
 * the round's events it passes are the view's, and a call that stops
 * matching without leaving (its duration passed a bound) is a `call-ended`
 * of the view's own, marked as a filter exit, as one that starts matching
 * is a filter entry `call-started`. Views cost O(calls) each per round,
 * not per subscriber. A view's own events take ids after the round's
 * common ones, so every stream sees ids that only grow.
 *
 * Ring. Rounds (their events, and copies of the records those carry, so
 * that no snapshot outlives its round) are kept newest last, the oldest
 * dropped while the events kept exceed `ring_events` or a round finished
 * more than `ring_age_ms` before the newest. A reader resuming after id X
 * is answered from the ring when every event of its view after X is still
 * there; otherwise it is told "too old".
 *
 * Rendering. A frame is rendered the first time a (fields, base) pair asks
 * for it and kept with its round, under the round's lock: a thousand
 * subscribers with three field sets cost three renders of each event.
 *
 * Threads. One thread feeds; the diff runs without the lock, which is
 * taken to publish (ring, state, views) and by readers to take references
 * to rounds and states; everything they then read is immutable. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "live/events.h"
#include "util/grow.h"
#include "util/log.h"

/* ---- held calls and states ----------------------------------------------- */

/* A failed node's last known calls, copied from the state before it failed. */
typedef struct held {
    atomic_int refs;
    callset cs;
} held;

typedef struct ev_entry {
    uint64_t hash; /* 0: empty slot */
    int64_t node_id;
    const callset *cs;
    const call_record *rec;
    uint32_t node; /* index in the state's nodes */
} ev_entry;

typedef struct ev_node {
    int64_t id, pop_id;
    bool failed;
    held *h; /* failed: its calls as last known (NULL: none) */
} ev_node;

typedef struct ev_state {
    atomic_int refs;
    const live_snap *snap; /* whose records the entries point at (NULL: none) */
    bool hold_snap;
    ev_entry *slots;
    size_t cap, n;   /* cap: a power of two, or 0 */
    uint32_t *order; /* the n filled slots, node by node in each node's order */
    ev_node *nodes;
    size_t nnodes; /* in order of id */
    uint64_t upto; /* the last event id applied */
} ev_state;

static void held_release(held *h)
{
    if (h && atomic_fetch_sub(&h->refs, 1) == 1) {
        callset_free(&h->cs);
        free(h);
    }
}

static void state_release(ev_state *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1) return;
    for (size_t i = 0; i < s->nnodes; i++) held_release(s->nodes[i].h);
    if (s->snap && s->hold_snap) live_release((live_snap *)s->snap);
    free(s->slots);
    free(s->order);
    free(s->nodes);
    free(s);
}

static uint64_t call_hash(int64_t node_id, const char *tag, size_t len)
{
    uint64_t h = XXH3_64bits_withSeed(tag, len, (uint64_t)node_id);
    return h ? h : 1; /* 0 marks an empty slot */
}

static bool same_call(const ev_entry *a, uint64_t hash, int64_t node_id, const callset *cs,
                      const call_record *r)
{
    return a->hash == hash && a->node_id == node_id && a->rec->tag.len == r->tag.len &&
        memcmp(callset_text(a->cs, a->rec->tag), callset_text(cs, r->tag), r->tag.len) == 0;
}

/* The slot of the call, or of where it would go. */
static ev_entry *state_slot(const ev_state *s, uint64_t hash, int64_t node_id, const callset *cs,
                            const call_record *r)
{
    if (!s->cap) return NULL;
    size_t mask = s->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        ev_entry *e = &s->slots[i];
        if (!e->hash || same_call(e, hash, node_id, cs, r)) return e;
    }
}

static const ev_entry *state_find(const ev_state *s, uint64_t hash, int64_t node_id, const callset *cs,
                                  const call_record *r)
{
    const ev_entry *e = state_slot(s, hash, node_id, cs, r);
    return e && e->hash ? e : NULL;
}

static bool is_connected(const call_record *r) { return !call_attr_is_null(r, ATTR_CONNECT_TIME); }

/* ---- copies of records ------------------------------------------------------ */

static size_t record_bytes(const call_record *r)
{
    size_t n = r->tag.len;
    for (int a = 0; a < ATTR_COUNT; a++) n += r->attr[a].len;
    for (int x = 0; x < XF_COUNT; x++) n += r->extra[x].len;
    return n;
}

static call_span span_copy(buf *arena, const callset *from, call_span s)
{
    if (!s.len) return s;
    call_span out = {(uint32_t)arena->len, s.len};
    buf_append(arena, callset_text(from, s), s.len);
    return out;
}

/* Appends a copy of r (of `from`) to cs, whose arena and records have room. */
static void record_copy(callset *cs, const callset *from, const call_record *r)
{
    call_record *c = &cs->recs[cs->n++];
    *c = *r;
    for (int a = 0; a < ATTR_COUNT; a++) c->attr[a] = span_copy(&cs->arena, from, r->attr[a]);
    for (int x = 0; x < XF_COUNT; x++) c->extra[x] = span_copy(&cs->arena, from, r->extra[x]);
    c->tag = span_copy(&cs->arena, from, r->tag);
}

/* Room for n records of `bytes` text in all, in one allocation each. */
static bool callset_room(callset *cs, size_t n, size_t bytes)
{
    callset_init(cs);
    cs->recs = malloc((n ? n : 1) * sizeof *cs->recs);
    cs->cap = n;
    return cs->recs && buf_reserve(&cs->arena, bytes + 1);
}

/* ---- rounds, views, the engine ------------------------------------------- */

typedef struct rendered {
    struct rendered *next;
    uint64_t fields;
    char *base; /* NUL-terminated copy */
    size_t len;
    char text[];
} rendered;

typedef struct view_list {
    uint64_t view; /* its serial: a view gone may leave its address to another */
    uint32_t *idx; /* into the round's events, in id order */
    size_t n;
} view_list;

struct ev_round {
    atomic_int refs;
    int64_t finished_ms;
    uint64_t first_id, last_id; /* last_id < first_id: no events */
    ev_event *events;
    size_t n, common; /* events[0..common) are every stream's; the rest views' own */
    view_list *views;
    size_t nviews;
    callset calls; /* the records the events carry, copied */
    buf names;     /* node names and details */
    pthread_mutex_t mu;
    rendered **frames; /* per event */
    atomic_uint_fast64_t *renders;
    struct ev_round *next;
};

struct ev_view {
    char *key;
    listing_query q;
    uint64_t serial;
    int subscribers;
    int64_t idle_since_ms; /* no subscriber since the round that finished then */
    uint64_t from_id;      /* every event of the view from this id on is known */
    struct ev_view *next;
};

struct events {
    events_config cfg;
    pthread_mutex_t mu;
    ev_state *state;
    ev_round *oldest, *newest;
    size_t ring;
    uint64_t next_id;
    uint64_t kept_from; /* every event from this id on is in the ring */
    ev_view *views;
    size_t nviews;
    uint64_t serials;
    atomic_uint_fast64_t renders;
    uint64_t rounds, made;
};

static void view_free(ev_view *v)
{
    listing_query_free(&v->q);
    free(v->key);
    free(v);
}

static void round_release(ev_round *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1) return;
    for (size_t i = 0; i < r->n && r->frames; i++)
        for (rendered *f = r->frames[i], *next; f; f = next) {
            next = f->next;
            free(f->base);
            free(f);
        }
    for (size_t i = 0; i < r->nviews; i++) free(r->views[i].idx);
    free(r->views);
    free(r->frames);
    free(r->events);
    callset_free(&r->calls);
    buf_free(&r->names);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

events *events_new(const events_config *cfg)
{
    events *e = calloc(1, sizeof *e);
    ev_state *s = calloc(1, sizeof *s);
    if (!e || !s || pthread_mutex_init(&e->mu, NULL) != 0) {
        free(e);
        free(s);
        return NULL;
    }
    e->cfg = *cfg;
    if (e->cfg.first_id == 0) e->cfg.first_id = 1;
    e->next_id = e->kept_from = e->cfg.first_id;
    atomic_init(&s->refs, 1);
    s->upto = e->next_id - 1;
    e->state = s;
    return e;
}

void events_free(events *e)
{
    if (!e) return;
    for (ev_round *r = e->oldest, *next; r; r = next) {
        next = r->next;
        round_release(r);
    }
    for (ev_view *v = e->views, *next; v; v = next) {
        next = v->next;
        view_free(v);
    }
    state_release(e->state);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

const char *ev_kind_name(ev_kind k)
{
    switch (k) {
    case EV_CALL_STARTED: return "call-started";
    case EV_CALL_CONNECTED: return "call-connected";
    case EV_CALL_ENDED: return "call-ended";
    case EV_NODE_FAILED: return "node-failed";
    case EV_NODE_RECOVERED: return "node-recovered";
    }
    return "unknown";
}

/* ---- the diff ------------------------------------------------------------ */

/* An event before it has an id: its call (in a snapshot or a held copy,
 * copied into the round at the end) or its node. */
typedef struct draft {
    ev_kind kind;
    bool filter;
    int64_t node_id;
    const callset *cs;
    const call_record *rec;
    size_t snap_node; /* node events: the node's index in the snapshot */
} draft;

typedef struct drafts {
    draft *v;
    size_t n, cap;
} drafts;

static bool draft_add(drafts *d, draft x)
{
    if (!grow((void **)&d->v, &d->cap, d->n + 1, sizeof *d->v, 64)) return false;
    d->v[d->n++] = x;
    return true;
}

typedef struct diff {
    const live_snap *snap;
    ev_state *old, *now;
    const ev_entry **prev; /* per slot of now: the call's old entry, or NULL */
    int32_t *base;         /* per slot of now: its common draft, or -1 */
    bool *claimed;         /* per slot of old: the call is in now */
    drafts common;
    size_t ended_at; /* common[ended_at..): the ended, in the old table's order, then the started */
} diff;

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n) c *= 2;
    return c;
}

static const ev_node *old_node(const ev_state *s, int64_t id)
{
    size_t lo = 0, hi = s->nnodes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->nodes[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nnodes && s->nodes[lo].id == id ? &s->nodes[lo] : NULL;
}

/* The held copy of a node that fails now, from its entries in the old state. */
static held *hold_calls(const ev_state *old, int64_t node_id)
{
    size_t n = 0, bytes = 0;
    for (size_t o = 0; o < old->n; o++) {
        const ev_entry *x = &old->slots[old->order[o]];
        if (x->node_id == node_id) {
            n++;
            bytes += record_bytes(x->rec);
        }
    }
    if (!n) return NULL;
    held *h = malloc(sizeof *h);
    if (!h) return NULL;
    atomic_init(&h->refs, 1);
    if (!callset_room(&h->cs, n, bytes)) {
        callset_free(&h->cs);
        free(h);
        return NULL;
    }
    for (size_t o = 0; o < old->n; o++) { /* in its order */
        const ev_entry *x = &old->slots[old->order[o]];
        if (x->node_id == node_id) record_copy(&h->cs, x->cs, x->rec);
    }
    return h;
}

/* Puts a call of node k into the new state; a call already there (a node
 * that listed it twice) keeps its first record. */
static bool put_call(diff *d, uint32_t k, const callset *cs, const call_record *r, bool with_events)
{
    int64_t node_id = d->now->nodes[k].id;
    uint64_t hash = call_hash(node_id, callset_text(cs, r->tag), r->tag.len);
    ev_entry *slot = state_slot(d->now, hash, node_id, cs, r);
    if (slot->hash) return true;
    *slot = (ev_entry){hash, node_id, cs, r, k};
    size_t at = (size_t)(slot - d->now->slots);
    d->now->order[d->now->n++] = (uint32_t)at;
    const ev_entry *was = state_find(d->old, hash, node_id, cs, r);
    d->prev[at] = was;
    d->base[at] = -1;
    if (was) d->claimed[was - d->old->slots] = true;
    if (!with_events) return true;
    ev_kind kind;
    if (!was)
        kind = EV_CALL_STARTED;
    else if (!is_connected(was->rec) && is_connected(r))
        kind = EV_CALL_CONNECTED;
    else
        return true;
    d->base[at] = (int32_t)d->common.n;
    return draft_add(&d->common, (draft){kind, false, node_id, cs, r, 0});
}

/* The new state and the round's common events. */
static bool diff_round(diff *d, bool hold_snap)
{
    const live_snap *s = d->snap;
    ev_state *now = d->now;
    size_t want = 0;
    now->nodes = calloc(s->n ? s->n : 1, sizeof *now->nodes);
    if (!now->nodes) return false;
    for (size_t i = 0; i < s->n; i++) {
        ev_node *nd = &now->nodes[now->nnodes++];
        const ev_node *was = old_node(d->old, s->targets[i].id);
        *nd = (ev_node){s->targets[i].id, s->pop_ids[i], s->results[i].status != NODE_OK, NULL};
        if (!nd->failed) {
            want += s->results[i].calls.n;
            continue;
        }
        if (was && was->failed) {
            nd->h = was->h;
            if (nd->h) atomic_fetch_add(&nd->h->refs, 1);
        } else if (was) {
            nd->h = hold_calls(d->old, nd->id);
            if (!nd->h && d->old->n) { /* none known, or no memory: tell them apart */
                bool any = false;
                for (size_t k = 0; k < d->old->cap && !any; k++)
                    any = d->old->slots[k].hash && d->old->slots[k].node_id == nd->id;
                if (any) return false;
            }
        }
        if (nd->h) want += nd->h->cs.n;
        if (!was || !was->failed)
            if (!draft_add(&d->common, (draft){EV_NODE_FAILED, false, nd->id, NULL, NULL, i})) return false;
    }
    for (size_t i = 0; i < s->n; i++) {
        const ev_node *was = old_node(d->old, s->targets[i].id);
        if (!now->nodes[i].failed && was && was->failed &&
            !draft_add(&d->common, (draft){EV_NODE_RECOVERED, false, now->nodes[i].id, NULL, NULL, i}))
            return false;
    }
    now->cap = pow2_at_least(want * 2);
    now->slots = calloc(now->cap, sizeof *now->slots);
    d->prev = malloc(now->cap * sizeof *d->prev);
    d->base = malloc(now->cap * sizeof *d->base);
    d->claimed = calloc(d->old->cap ? d->old->cap : 1, sizeof *d->claimed);
    now->order = malloc(now->cap * sizeof *now->order);
    if (!now->slots || !d->prev || !d->base || !d->claimed || !now->order) return false;
    now->snap = s;
    now->hold_snap = hold_snap;
    /* node by node, each in its own order; a failed node's held calls are
     * claimed (never ended) and carry no event; a recovered node's calls
     * meet the ones it held and are reconciled like any other */
    size_t ended_at = d->common.n;
    for (uint32_t k = 0; k < now->nnodes; k++) {
        bool failed = now->nodes[k].failed;
        const callset *cs = failed ? (now->nodes[k].h ? &now->nodes[k].h->cs : NULL) : &s->results[k].calls;
        for (size_t c = 0; cs && c < cs->n; c++)
            if (!put_call(d, k, cs, &cs->recs[c], !failed)) return false;
    }
    /* the ended ones go before the started ones, after the node events */
    size_t started = d->common.n - ended_at;
    for (size_t o = 0; o < d->old->n; o++) {
        size_t i = d->old->order[o];
        const ev_entry *x = &d->old->slots[i];
        if (d->claimed[i]) continue;
        if (!draft_add(&d->common, (draft){EV_CALL_ENDED, false, x->node_id, x->cs, x->rec, 0})) return false;
    }
    size_t ended = d->common.n - ended_at - started;
    d->ended_at = ended_at;
    if (ended && started) { /* rotate [started..][ended..] into [ended..][started..] */
        draft *tmp = malloc(started * sizeof *tmp);
        if (!tmp) return false;
        memcpy(tmp, d->common.v + ended_at, started * sizeof *tmp);
        memmove(d->common.v + ended_at, d->common.v + ended_at + started, ended * sizeof *tmp);
        memcpy(d->common.v + ended_at + ended, tmp, started * sizeof *tmp);
        free(tmp);
        for (size_t i = 0; i < now->cap; i++)
            if (now->slots[i].hash && d->base[i] >= (int32_t)ended_at) d->base[i] += (int32_t)ended;
    }
    return true;
}

/* ---- views ----------------------------------------------------------------- */

static bool view_matches(const ev_view *v, const ev_state *s, const ev_entry *x)
{
    return listing_query_wants_node(&v->q, x->node_id, s->nodes[x->node].pop_id) &&
        listing_query_match(&v->q, x->node_id, x->cs, x->rec);
}

typedef struct view_drafts {
    ev_view *view;
    uint32_t *common; /* the common drafts it sees, in order */
    size_t ncommon;
    drafts own;
} view_drafts;

/* The view's share of the round: which common events it sees, and its own. */
static bool view_round(const diff *d, view_drafts *vd)
{
    const ev_view *v = vd->view;
    const ev_state *old = d->old, *now = d->now;
    vd->common = malloc((d->common.n ? d->common.n : 1) * sizeof *vd->common);
    if (!vd->common) return false;
    bool *seen = calloc(d->common.n ? d->common.n : 1, sizeof *seen); /* common drafts it sees */
    if (!seen) return false;
    bool ok = true;
    for (size_t i = 0; i < d->common.n && ok; i++) {
        const draft *x = &d->common.v[i];
        if (x->kind == EV_NODE_FAILED || x->kind == EV_NODE_RECOVERED)
            seen[i] = listing_query_wants_node(&v->q, x->node_id, d->snap->pop_ids[x->snap_node]);
    }
    for (size_t o = 0, k = d->ended_at; o < old->n; o++) { /* ended: seen when it matched */
        size_t i = old->order[o];
        const ev_entry *x = &old->slots[i];
        if (d->claimed[i]) continue;
        seen[k++] = view_matches(v, old, x);
    }
    for (size_t o = 0; o < now->n && ok; o++) {
        size_t i = now->order[o];
        const ev_entry *x = &now->slots[i];
        const ev_entry *was = d->prev[i];
        if (was && was->rec == x->rec) continue; /* a held call: unchanged */
        bool m_new = view_matches(v, now, x), m_old = was && view_matches(v, old, was);
        int32_t b = d->base[i];
        if (b >= 0 && d->common.v[b].kind == EV_CALL_STARTED) {
            seen[b] = m_new;
        } else if (m_old && m_new) {
            if (b >= 0) seen[b] = true;
        } else if (m_old != m_new) {
            ok = draft_add(
                &vd->own,
                (draft){m_new ? EV_CALL_STARTED : EV_CALL_ENDED, true, x->node_id, x->cs, x->rec, 0});
        }
    }
    for (size_t i = 0; i < d->common.n; i++)
        if (seen[i]) vd->common[vd->ncommon++] = (uint32_t)i;
    free(seen);
    return ok;
}

/* ---- a round's events ------------------------------------------------------- */

static bool draft_has_call(const draft *x) { return x->rec != NULL; }

/* The round of the drafts: ids from first_id, the common ones first, then
 * each view's own; records and node texts copied. NULL when memory ran out. */
static ev_round *round_build(const diff *d, view_drafts *vds, size_t nv, uint64_t first_id)
{
    size_t n = d->common.n, nrec = 0, bytes = 0, names = 0;
    for (size_t v = 0; v < nv; v++) n += vds[v].own.n;
    ev_round *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    atomic_init(&r->refs, 1);
    pthread_mutex_init(&r->mu, NULL);
    callset_init(&r->calls);
    buf_init(&r->names);
    r->finished_ms = d->snap->finished_ms;
    r->first_id = first_id;
    r->last_id = first_id + n - 1;
    r->n = n;
    r->common = d->common.n;
    r->events = calloc(n ? n : 1, sizeof *r->events);
    r->frames = calloc(n ? n : 1, sizeof *r->frames);
    r->views = calloc(nv ? nv : 1, sizeof *r->views);
    if (!r->events || !r->frames || !r->views) goto fail;
    const draft **all = malloc((n ? n : 1) * sizeof *all);
    if (!all) goto fail;
    size_t k = 0;
    for (size_t i = 0; i < d->common.n; i++) all[k++] = &d->common.v[i];
    for (size_t v = 0; v < nv; v++)
        for (size_t i = 0; i < vds[v].own.n; i++) all[k++] = &vds[v].own.v[i];
    for (size_t i = 0; i < n; i++) {
        if (draft_has_call(all[i])) {
            nrec++;
            bytes += record_bytes(all[i]->rec);
        } else {
            const node_result *res = &d->snap->results[all[i]->snap_node];
            names += strlen(d->snap->targets[all[i]->snap_node].name) + strlen(res->detail) + 2;
        }
    }
    if (!callset_room(&r->calls, nrec, bytes) || !buf_reserve(&r->names, names + 1)) {
        free(all);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) { /* the names buffer has its room: it does not move */
        const draft *x = all[i];
        ev_event *ev = &r->events[i];
        *ev = (ev_event){first_id + i, x->kind, x->filter, x->node_id, NULL,       NULL,
                         NULL,         NODE_OK, NULL,      r,          (uint32_t)i};
        if (draft_has_call(x)) {
            record_copy(&r->calls, x->cs, x->rec);
            ev->cs = &r->calls;
            ev->rec = &r->calls.recs[r->calls.n - 1];
            continue;
        }
        const node_target *t = &d->snap->targets[x->snap_node];
        const node_result *res = &d->snap->results[x->snap_node];
        ev->node_name = r->names.data + r->names.len;
        buf_append(&r->names, t->name, strlen(t->name) + 1);
        ev->status = res->status;
        ev->detail = r->names.data + r->names.len;
        buf_append(&r->names, res->detail, strlen(res->detail) + 1);
    }
    free(all);
    size_t own_at = d->common.n;
    for (size_t v = 0; v < nv; v++) {
        view_list *l = &r->views[r->nviews++];
        l->view = vds[v].view->serial;
        l->idx = malloc((vds[v].ncommon + vds[v].own.n + 1) * sizeof *l->idx);
        if (!l->idx) goto fail;
        for (size_t i = 0; i < vds[v].ncommon; i++) l->idx[l->n++] = vds[v].common[i];
        for (size_t i = 0; i < vds[v].own.n; i++) l->idx[l->n++] = (uint32_t)(own_at + i);
        own_at += vds[v].own.n;
    }
    return r;
fail:
    round_release(r);
    return NULL;
}

/* Drops the oldest rounds past the ring's bounds; returns them, linked. */
static ev_round *ring_evict(events *e)
{
    ev_round *gone = NULL, **tail = &gone;
    while (e->oldest && e->oldest != e->newest) {
        ev_round *r = e->oldest;
        bool by_count = e->cfg.ring_events && e->ring > e->cfg.ring_events;
        bool by_age = e->cfg.ring_age_ms > 0 && e->newest->finished_ms - r->finished_ms > e->cfg.ring_age_ms;
        if (!by_count && !by_age) break;
        e->oldest = r->next;
        e->ring -= r->n;
        if (r->n) e->kept_from = r->last_id + 1;
        r->next = NULL;
        *tail = r;
        tail = &r->next;
    }
    return gone;
}

/* Views no one has watched for the ring's age go (their streams could not
 * resume anyway; without an age bound, at the next round). Under e->mu;
 * the feeding thread only. */
static void views_expire(events *e, int64_t now_ms)
{
    for (ev_view **p = &e->views; *p;) {
        ev_view *v = *p;
        if (v->subscribers == 0 && now_ms - v->idle_since_ms >= e->cfg.ring_age_ms) {
            *p = v->next;
            e->nviews--;
            view_free(v);
        } else {
            p = &v->next;
        }
    }
}

bool events_feed(events *e, const live_snap *snap)
{
    pthread_mutex_lock(&e->mu);
    ev_state *old = e->state;
    atomic_fetch_add(&old->refs, 1);
    size_t nv = e->nviews;
    view_drafts *vds = calloc(nv ? nv : 1, sizeof *vds);
    size_t k = 0;
    for (ev_view *v = e->views; v && vds; v = v->next) vds[k++].view = v; /* freed by this thread only */
    pthread_mutex_unlock(&e->mu);

    diff d = {snap, old, calloc(1, sizeof(ev_state)), NULL, NULL, NULL, {NULL, 0, 0}, 0};
    ev_round *r = NULL;
    bool ok = vds && d.now;
    if (ok) {
        atomic_init(&d.now->refs, 1);
        if (e->cfg.hold_snapshots) live_retain((live_snap *)snap);
        ok = diff_round(&d, e->cfg.hold_snapshots);
        if (!ok && !d.now->snap && e->cfg.hold_snapshots) live_release((live_snap *)snap);
    }
    for (size_t v = 0; v < nv && ok; v++) ok = view_round(&d, &vds[v]);
    if (ok) ok = (r = round_build(&d, vds, nv, e->next_id)) != NULL;
    if (ok) r->renders = &e->renders;
    ev_round *gone = NULL;
    if (ok) {
        d.now->upto = r->last_id >= r->first_id ? r->last_id : e->next_id - 1;
        pthread_mutex_lock(&e->mu);
        e->state = d.now;
        d.now = old; /* released below */
        if (r->n) {
            e->next_id = r->last_id + 1;
            e->made += r->n;
            e->ring += r->n;
            if (e->newest)
                e->newest->next = r;
            else
                e->oldest = r;
            e->newest = r;
            r = NULL;
        }
        for (ev_view *v = e->views; v; v = v->next) { /* views opened during the diff start now */
            bool in = false;
            for (size_t i = 0; i < nv && !in; i++) in = vds[i].view == v;
            if (!in) v->from_id = e->next_id;
        }
        e->rounds++;
        gone = ring_evict(e);
        views_expire(e, snap->finished_ms);
        pthread_mutex_unlock(&e->mu);
    }
    state_release(old);
    state_release(d.now);
    round_release(r);
    for (ev_round *next; gone; gone = next) {
        next = gone->next;
        round_release(gone);
    }
    for (size_t v = 0; v < nv && vds; v++) {
        free(vds[v].common);
        free(vds[v].own.v);
    }
    free(vds);
    free(d.prev);
    free(d.base);
    free(d.claimed);
    free(d.common.v);
    return ok;
}

void events_consume(void *arg, const live_snap *snap)
{
    if (!events_feed(arg, snap))
        log_msg(LOG_ERROR, "events: out of memory, round %llu skipped", (unsigned long long)snap->seq);
}

/* ---- views and readers -------------------------------------------------------- */

ev_view *events_view_open(events *e, const char *key, listing_query *q)
{
    pthread_mutex_lock(&e->mu);
    ev_view *v = e->views;
    while (v && strcmp(v->key, key) != 0) v = v->next;
    if (v) {
        v->subscribers++;
        listing_query_free(q);
    } else if ((v = calloc(1, sizeof *v)) && (v->key = strdup(key))) {
        v->q = *q;
        v->serial = ++e->serials;
        v->subscribers = 1;
        v->from_id = e->next_id;
        v->next = e->views;
        e->views = v;
        e->nviews++;
    } else {
        free(v);
        v = NULL;
        listing_query_free(q);
    }
    memset(q, 0, sizeof *q);
    pthread_mutex_unlock(&e->mu);
    return v;
}

void events_view_close(events *e, ev_view *v)
{
    if (!v) return;
    pthread_mutex_lock(&e->mu);
    if (--v->subscribers == 0) v->idle_since_ms = e->newest ? e->newest->finished_ms : 0;
    pthread_mutex_unlock(&e->mu);
}

static const view_list *round_view(const ev_round *r, uint64_t serial)
{
    for (size_t i = 0; i < r->nviews; i++)
        if (r->views[i].view == serial) return &r->views[i];
    return NULL;
}

ev_read events_read(events *e, const ev_view *v, uint64_t after, size_t max, ev_batch *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&e->mu);
    if (after < e->cfg.first_id - 1) after = e->cfg.first_id - 1;
    out->upto = after;
    ev_read rc = EV_READ_OK;
    if (after >= e->next_id || after + 1 < e->kept_from || (v && after + 1 < v->from_id)) {
        rc = EV_READ_TOO_OLD;
        goto done;
    }
    size_t cap = 0, rcap = 0;
    for (ev_round *r = e->oldest; r; r = r->next) {
        if (r->last_id <= after) continue;
        const view_list *l = v ? round_view(r, v->serial) : NULL;
        size_t n = v ? (l ? l->n : 0) : r->common;
        bool took = false;
        for (size_t i = 0; i < n; i++) {
            const ev_event *ev = &r->events[v ? l->idx[i] : i];
            if (ev->id <= after) continue;
            if (max && out->n == max) goto done;
            if (!grow((void **)&out->events, &cap, out->n + 1, sizeof *out->events, 64) ||
                (!took && !grow((void **)&out->rounds, &rcap, out->nrounds + 1, sizeof *out->rounds, 8))) {
                rc = EV_READ_NOMEM;
                goto done;
            }
            if (!took) {
                atomic_fetch_add(&r->refs, 1);
                out->rounds[out->nrounds++] = r;
                took = true;
            }
            out->events[out->n++] = ev;
            out->upto = ev->id;
        }
    }
    out->upto = e->next_id - 1;
done:
    pthread_mutex_unlock(&e->mu);
    if (rc != EV_READ_OK) {
        uint64_t upto = out->upto;
        ev_batch_free(out);
        out->upto = upto;
    }
    return rc;
}

void ev_batch_free(ev_batch *b)
{
    for (size_t i = 0; i < b->nrounds; i++) round_release(b->rounds[i]);
    free(b->rounds);
    free(b->events);
    memset(b, 0, sizeof *b);
}

bool events_current(events *e, const ev_view *v, ev_current *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&e->mu);
    ev_state *s = e->state;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&e->mu);
    out->state = s;
    out->upto = s->upto;
    out->calls = malloc((s->n ? s->n : 1) * sizeof *out->calls);
    if (!out->calls) {
        ev_current_free(out);
        return false;
    }
    for (size_t o = 0; o < s->n; o++) { /* node by node, each in its order */
        const ev_entry *x = &s->slots[s->order[o]];
        if (!v || view_matches(v, s, x)) out->calls[out->n++] = (ev_call){x->node_id, x->cs, x->rec};
    }
    return true;
}

void ev_current_free(ev_current *c)
{
    state_release(c->state);
    free(c->calls);
    memset(c, 0, sizeof *c);
}

/* ---- rendering ------------------------------------------------------------ */

/* A frame's `id:` and `event:` lines and the start of its `data:` line;
 * returns where the data begins. */
static size_t frame_begin(buf *b, uint64_t id, const char *name)
{
    buf_puts(b, "id: ");
    buf_put_i64(b, (int64_t)id);
    buf_puts(b, "\nevent: ");
    buf_puts(b, name);
    buf_puts(b, "\ndata: ");
    return b->len;
}

/* Ends the frame whose data began at data_at: the data is one line (a
 * newline can only be whitespace between JSON tokens, never raw in a
 * string), then the empty line. */
static void frame_end(buf *b, size_t data_at)
{
    for (size_t i = data_at; i < b->len; i++)
        if (b->data[i] == '\n' || b->data[i] == '\r') b->data[i] = ' ';
    buf_puts(b, "\n\n");
}

bool events_render_reset(const ev_current *c, uint64_t fields, doc_base base, buf *out)
{
    size_t data_at = frame_begin(out, c->upto, "reset");
    buf scratch;
    buf_init(&scratch);
    doc_call_opts opts = {fields, 0};
    buf_puts(out, "{\"data\":[");
    for (size_t i = 0; i < c->n; i++) {
        if (i) buf_putc(out, ',');
        doc_call_resource(out, &scratch, base, c->calls[i].node_id, c->calls[i].cs, c->calls[i].rec, &opts);
    }
    buf_puts(out, "],\"meta\":{\"total-count\":");
    buf_put_i64(out, (int64_t)c->n);
    buf_puts(out, "}}");
    buf_free(&scratch);
    frame_end(out, data_at);
    return !out->oom;
}

static void render_data(buf *out, const ev_event *ev, uint64_t fields, doc_base base)
{
    if (ev->rec) {
        buf scratch;
        buf_init(&scratch);
        doc_call_opts opts = {fields, 0};
        buf_puts(out, "{\"data\":");
        doc_call_resource(out, &scratch, base, ev->node_id, ev->cs, ev->rec, &opts);
        buf_free(&scratch);
        if (ev->filter)
            buf_puts(out,
                     ev->kind == EV_CALL_STARTED ? ",\"meta\":{\"filter-entry\":true}"
                                                 : ",\"meta\":{\"filter-exit\":true}");
        buf_putc(out, '}');
        return;
    }
    buf_puts(out, "{\"meta\":{\"node\":{\"id\":\"");
    buf_put_i64(out, ev->node_id);
    buf_puts(out, "\",\"name\":");
    buf_put_json_str(out, ev->node_name, strlen(ev->node_name));
    if (ev->kind == EV_NODE_FAILED) {
        buf_puts(out, ",\"error\":\"");
        buf_puts(out, node_status_code(ev->status));
        buf_puts(out, "\",\"detail\":");
        buf_put_json_str(out, ev->detail, strlen(ev->detail));
    }
    buf_puts(out, "}}}");
}

const char *events_render(const ev_event *ev, uint64_t fields, doc_base base, size_t *len)
{
    ev_round *r = (ev_round *)ev->round; /* its frames are the one part that changes: under r->mu */
    pthread_mutex_lock(&r->mu);
    rendered *f = r->frames[ev->index];
    while (f &&
           !(f->fields == fields && strlen(f->base) == base.len && memcmp(f->base, base.url, base.len) == 0))
        f = f->next;
    if (!f) {
        buf b;
        buf_init(&b);
        size_t data_at = frame_begin(&b, ev->id, ev_kind_name(ev->kind));
        render_data(&b, ev, fields, base);
        frame_end(&b, data_at);
        if (!b.oom && (f = malloc(sizeof *f + b.len + 1)) && (f->base = strndup(base.url, base.len))) {
            f->fields = fields;
            f->len = b.len;
            memcpy(f->text, b.data, b.len);
            f->text[b.len] = '\0';
            f->next = r->frames[ev->index];
            r->frames[ev->index] = f;
            atomic_fetch_add(r->renders, 1);
        } else {
            free(f);
            f = NULL;
        }
        buf_free(&b);
    }
    pthread_mutex_unlock(&r->mu);
    if (!f) return NULL;
    *len = f->len;
    return f->text;
}

events_stats events_get_stats(events *e)
{
    pthread_mutex_lock(&e->mu);
    events_stats s = {e->rounds, e->made, atomic_load(&e->renders), e->ring, e->nviews, e->next_id};
    pthread_mutex_unlock(&e->mu);
    return s;
}
