/* rng: splitmix64 and the wall clock (see rng.h). */
#include "rng.h"

#include <time.h>

void sim_rng_seed(sim_rng *r, uint64_t seed) { r->state = seed; }

uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

int64_t sim_rng_range(sim_rng *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    if (span == 0) return (int64_t)sim_rng_next(r); /* the full 64-bit range */
    return (int64_t)((uint64_t)lo + sim_rng_next(r) % span);
}

int sim_rng_chance(sim_rng *r, unsigned pct) { return sim_rng_next(r) % 100 < pct; }

void sim_rng_hex(sim_rng *r, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    uint64_t bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 16 == 0) bits = sim_rng_next(r);
        out[i] = hex[bits & 15];
        bits >>= 4;
    }
}

void sim_rng_digits(sim_rng *r, char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (char)('0' + (i == 0 ? sim_rng_range(r, 1, 9) : sim_rng_range(r, 0, 9)));
}

int64_t sim_now_real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
