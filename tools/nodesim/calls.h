/* calls: the node's table of active calls - ordered list, lookup by local
 * tag, reply rendering and churn.
 *
 * Each call is held as pre-rendered JSON text (see gen.h) plus, for
 * generated calls, the values it was rendered from. The table keeps calls in
 * creation order (show.calls answers in that order) and indexes them by
 * local tag in a chained hash, so show.calls [tags] and disconnect cost
 * O(tags), not O(calls). */
#ifndef NODESIM_CALLS_H
#define NODESIM_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gen.h"
#include "rng.h"
#include "util/buf.h"

/* filter.h */
typedef struct sim_field_index sim_field_index;

typedef struct sim_call {
    char *json; /* the whole record; duration goes at `slot` */
    size_t len;
    size_t slot; /* SIZE_MAX: no live duration, json is complete */
    int64_t connect_us;
    char *tag; /* local_tag bytes (may hold NUL when from a file) */
    size_t tag_len;
    sim_gen_call *gen; /* NULL for calls read from --calls-file */
    struct sim_call *hnext;
    uint64_t mark; /* last reply that listed it (dedups repeated tags) */
    size_t idx;    /* position in sim_calls.v */
    /* where each field's value is in json, for the filtered methods: built
     * by them on first use, dropped when json changes (filter.h) */
    sim_field_index *fields;
} sim_call;

typedef struct sim_calls {
    sim_call **v; /* creation order */
    size_t n, cap;
    sim_call **buckets;
    size_t nbuckets; /* power of two */
    size_t bytes;    /* sum of len, to size replies in one go */
    uint64_t mark_gen;
    sim_rng rng;
    int64_t node_id, pop_id;
    size_t target; /* --calls, what churn keeps the count around */
    /* --churn-log, appended to: first `<unix us> boot` (a process starts
     * with no calls, so a reader forgets those of an earlier one), then
     * every generated call's start and connect, and every call's end, one
     * line each, `<unix us> start|connect|end <tag>`, and every listing
     * of all calls, `<unix us> list`, line-buffered (so each is on disk
     * once written); NULL: none */
    FILE *log;
} sim_calls;

/* A listing of every call was answered (yeti.show.calls without tags):
 * its line in the --churn-log, so that a reader knows which calls each
 * listing saw. */
void sim_calls_log_listing(const sim_calls *t, int64_t now_us);
/* The process starts: its `boot` line, before any call is generated. */
void sim_calls_log_boot(const sim_calls *t, int64_t now_us);

void sim_calls_init(sim_calls *t, uint64_t seed, int64_t node_id, int64_t pop_id, size_t target);
void sim_calls_free(sim_calls *t);

/* Adds `target` established generated calls. 0, or -1 when out of memory. */
int sim_calls_generate(sim_calls *t, int64_t now_us);
/* Adds a call from rendered JSON (copied) with the given local tag.
 * 0; -1 out of memory; -2 the tag is already taken. */
int sim_calls_add_static(sim_calls *t, const char *json, size_t len, const char *tag, size_t tag_len);

sim_call *sim_calls_find(const sim_calls *t, const char *tag, size_t tag_len);
void sim_calls_remove(sim_calls *t, sim_call *c);

/* Appends one record, with its duration as of now_us. */
void sim_calls_write_one(const sim_call *c, buf *out, int64_t now_us);
/* The duration now, as sim_calls_write_one writes it, into b (nothing when
 * the call has no live duration). */
void sim_calls_write_duration(const sim_call *c, buf *b, int64_t now_us);
/* Appends the JSON array of all records. */
void sim_calls_write_all(const sim_calls *t, buf *out, int64_t now_us);
/* Starts a new reply for the dedup marks: returns its mark. */
uint64_t sim_calls_new_mark(sim_calls *t);

/* One churn step: some calls end, ringing ones may connect, new ones start
 * so the count stays around target. 0, or -1 when out of memory. */
int sim_calls_churn(sim_calls *t, int64_t now_us);

#endif
