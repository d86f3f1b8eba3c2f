/* phase: where a request's time goes, per thread, for Server-Timing.
 *
 * A request runs on one worker thread at a time, so a thread-local record
 * is enough (a request that waits for its nodes and goes on elsewhere
 * carries its record over with phase_set): the server resets it before the handler, code on the way adds
 * to a phase (phase_add) or closes a lap (phase_lap: the time since the
 * previous lap goes to the phase), and the server reads it afterwards.
 * Costs a clock_gettime per mark; nothing is allocated. */
#ifndef AC_UTIL_PHASE_H
#define AC_UTIL_PHASE_H

#include <stdint.h>

typedef enum {
    PHASE_PRE,    /* parameters, authorization, plan: before the fan-out */
    PHASE_FANOUT, /* the node round, parsing included (or waiting on a shared one) */
    PHASE_PARSE,  /* of which: parsing node replies */
    PHASE_FILTER, /* picking the matching calls */
    PHASE_WRITE,  /* writing the document (includes, meta) */
    PHASE_GZIP,   /* compressing the body */
    PHASE_COUNT
} phase_id;

typedef struct phase_rec {
    int64_t us[PHASE_COUNT];
    int64_t last_us; /* the previous lap (0 = none since reset) */
    int used;        /* a handler marked at least one phase */
} phase_rec;

/* Starts a fresh record for this thread; the first lap counts from now. */
void phase_reset(void);
void phase_add(phase_id p, int64_t us);
/* Adds the time since the previous lap (or reset) to p. */
void phase_lap(phase_id p);
/* This thread's record. */
const phase_rec *phase_get(void);
/* Makes r this thread's record: a request that goes on on another thread
 * (after waiting for its nodes) takes its record along. */
void phase_set(const phase_rec *r);

#endif
