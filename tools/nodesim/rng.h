/* rng: the simulator's own PRNG (splitmix64) and its wall clock.
 *
 * The generator must give byte-identical calls for the same --seed on every
 * platform, so it cannot use rand(); splitmix64 is tiny, fast and has a
 * fully specified output sequence. The wall clock lives here too: the
 * generator's epoch times need it. The event loop's timers use the
 * service's monotonic clock (util/clock.h). */
#ifndef NODESIM_RNG_H
#define NODESIM_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct sim_rng {
    uint64_t state;
} sim_rng;

void sim_rng_seed(sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(sim_rng *r);
/* Uniform in lo..hi inclusive (lo <= hi). */
int64_t sim_rng_range(sim_rng *r, int64_t lo, int64_t hi);
/* True with probability pct/100. */
int sim_rng_chance(sim_rng *r, unsigned pct);
/* Writes n random upper-case hex digits (no NUL). */
void sim_rng_hex(sim_rng *r, char *out, size_t n);
/* Writes n random decimal digits (no NUL), the first one not '0'. */
void sim_rng_digits(sim_rng *r, char *out, size_t n);

/* Wall clock in microseconds since the epoch. */
int64_t sim_now_real_us(void);

#endif
