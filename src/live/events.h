/* events: the live view's successive snapshots as a stream of call events
 * (docs/API.md, "The event stream (engine)").
 *
 * Fed one snapshot per round by a live-view consumer (one thread), read by
 * any number of threads: each round's changes become events with ids that
 * only grow, kept in a ring bounded by count and by age, seen through
 * views (one per distinct filter set) and rendered once per distinct
 * field set. The design note is at the top of events.c. */
#ifndef AC_LIVE_EVENTS_H
#define AC_LIVE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonapi/document.h"
#include "jsonapi/query.h"
#include "live/live.h"

typedef enum {
    EV_CALL_STARTED,   /* an id seen first (or, in a view, that began to match: `filter`) */
    EV_CALL_CONNECTED, /* its connect-time went from null to a time */
    EV_CALL_ENDED,     /* an id gone (or, in a view, that stopped matching: `filter`) */
    EV_NODE_FAILED,    /* a node that answered no longer does: its calls are kept */
    EV_NODE_RECOVERED, /* it answers again: its calls are reconciled */
} ev_kind;

/* The SSE event name: "call-started", ... */
const char *ev_kind_name(ev_kind k);

typedef struct ev_round ev_round;

/* One event; immutable once published, valid while its batch is held. */
typedef struct ev_event {
    uint64_t id;
    ev_kind kind;
    bool filter; /* a view's own: the call began (started) or stopped (ended) to match */
    int64_t node_id;
    const callset *cs;      /* the call as this event knows it (NULL: a node event) */
    const call_record *rec; /* ended: its last known record */
    const char *node_name;  /* node events */
    node_status status;     /* node-failed: why, as meta.failed-nodes names it */
    const char *detail;     /* node-failed */
    const ev_round *round;  /* where it lives */
    uint32_t index;         /* its place in the round */
} ev_event;

typedef struct events_config {
    size_t ring_events;  /* events kept at most (whole rounds; the newest round always) */
    int64_t ring_age_ms; /* rounds that finished longer ago than this before the newest go */
    uint64_t first_id;   /* the first event's id (1 or more) */
    bool hold_snapshots; /* live snapshots: retained while read (live_retain); false: the
                             caller keeps each fed snapshot until two more are fed */
} events_config;

typedef struct events events;
typedef struct ev_view ev_view;

events *events_new(const events_config *cfg);
/* Every view closed, every batch and current set freed before. */
void events_free(events *e);

/* One round: the snapshot's differences from the previous one become
 * events. On the feeding thread only. False when memory ran out (the
 * round is then skipped whole: the next one is diffed against the last
 * applied). */
bool events_feed(events *e, const live_snap *snap);
/* A live_consumer (live/live.h) feeding arg, an events engine. */
void events_consume(void *arg, const live_snap *snap);

/* The view of a filter set: `key` names it (the filters' canonical text,
 * "" for none); q is taken (zeroed) whatever happens. Views with the same
 * key are one. NULL when memory ran out. */
ev_view *events_view_open(events *e, const char *key, listing_query *q);
void events_view_close(events *e, ev_view *v);

/* What a reader holds: events[0..n) in id order, and the rounds that keep
 * them alive. `upto`: read again with after = upto. */
typedef struct ev_batch {
    const ev_event **events;
    size_t n;
    ev_round **rounds;
    size_t nrounds;
    uint64_t upto;
} ev_batch;

typedef enum { EV_READ_OK, EV_READ_TOO_OLD, EV_READ_NOMEM } ev_read;

/* The events of view v (NULL: every call, unfiltered) with ids above
 * `after` (Last-Event-ID; 0 and first_id - 1 mean from the start), at
 * most max (0: all). EV_READ_TOO_OLD when some of them are no longer
 * known (past the ring, before the view existed, or an id this engine
 * never gave): the reader starts again from events_current. */
ev_read events_read(events *e, const ev_view *v, uint64_t after, size_t max, ev_batch *out);
void ev_batch_free(ev_batch *b);

/* The calls the stream of view v (NULL: all) holds after event `upto`:
 * for a reset. Read without a lock. */
typedef struct ev_call {
    int64_t node_id;
    const callset *cs;
    const call_record *rec;
} ev_call;

typedef struct ev_current {
    ev_call *calls;
    size_t n;
    uint64_t upto;
    struct ev_state *state;
} ev_current;

bool events_current(events *e, const ev_view *v, ev_current *out);
void ev_current_free(ev_current *c);

/* The event as one Server-Sent Events frame, `id: N\nevent: NAME\ndata:
 * JSON\n\n`: its call as the listing renders it with `fields`
 * (fields[active-calls] bits, jsonapi/fields.h) and links under `base`.
 * Rendered once per distinct (fields, base) and shared, NUL-terminated:
 * valid while the batch holding ev is. NULL when memory ran out. */
const char *events_render(const ev_event *ev, uint64_t fields, doc_base base, size_t *len);

/* The `reset` frame of a stream that starts over from c: `id: c->upto`,
 * `event: reset`, data `{"data":[its calls as the listing renders them],
 * "meta":{"total-count":n}}`, appended to out. False when memory ran out. */
bool events_render_reset(const ev_current *c, uint64_t fields, doc_base base, buf *out);

typedef struct events_stats {
    uint64_t rounds, events; /* fed, made */
    uint64_t renders;        /* frames rendered (not served from the cache) */
    size_t ring;             /* events in the ring now */
    size_t views;
    uint64_t next_id; /* the id the next event will have */
} events_stats;

events_stats events_get_stats(events *e);

#endif
