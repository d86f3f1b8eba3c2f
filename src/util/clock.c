/* clock: the monotonic clock; see clock.h. */
#include "util/clock.h"

int64_t clock_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_NOW_SOURCE, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_now_ms(void) { return clock_now_us() / 1000; }
