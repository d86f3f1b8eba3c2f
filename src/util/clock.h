/* clock: the process's one monotonic clock, for deadlines, timeouts and
 * durations (never for dates: those are wall-clock time, util/timefmt.h).
 *
 * Every timer in the service and its tools reads this clock, so times
 * taken in one module can be compared with times taken in another (a
 * request's start in the HTTP layer, a node round's deadline, a cache's
 * age). A condition variable that waits until one of these times must be
 * set to CLOCK_NOW_SOURCE (pthread_condattr_setclock). */
#ifndef AC_UTIL_CLOCK_H
#define AC_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

#define CLOCK_NOW_SOURCE CLOCK_MONOTONIC

/* Microseconds on the monotonic clock (arbitrary origin). */
int64_t clock_now_us(void);
/* The same in whole milliseconds: clock_now_us() / 1000. */
int64_t clock_now_ms(void);

#endif
