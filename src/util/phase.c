/* phase: per-thread request phase timings; see phase.h. */
#include "util/phase.h"

#include <string.h>

#include "util/clock.h"

static _Thread_local phase_rec cur;

void phase_reset(void)
{
    memset(&cur, 0, sizeof cur);
    cur.last_us = clock_now_us();
}

void phase_add(phase_id p, int64_t us)
{
    cur.us[p] += us;
    cur.used = 1;
}

void phase_lap(phase_id p)
{
    int64_t now = clock_now_us();
    if (cur.last_us) phase_add(p, now - cur.last_us);
    cur.last_us = now;
}

const phase_rec *phase_get(void) { return &cur; }

void phase_set(const phase_rec *r) { cur = *r; }
