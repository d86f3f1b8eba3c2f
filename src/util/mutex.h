/* mutex: a pthread mutex that knows which thread holds it, so that a
 * function that must be called with it held asserts so (mutex_held), as
 * SQLite's sqlite3_mutex_held lets it. The price is one relaxed atomic
 * store per lock and unlock. */
#ifndef AC_UTIL_MUTEX_H
#define AC_UTIL_MUTEX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct mutex {
    pthread_mutex_t mu;
    _Atomic(pthread_t) holder; /* meaningful while locked */
    atomic_bool locked;
} mutex;

void mutex_init(mutex *m);
void mutex_destroy(mutex *m);
void mutex_lock(mutex *m);
void mutex_unlock(mutex *m);
/* Whether the calling thread holds m. */
bool mutex_held(mutex *m);
/* pthread_cond_wait on m, which the caller holds (and holds again after). */
void mutex_wait(mutex *m, pthread_cond_t *cv);
/* A condition variable whose timed waits read the process's clock
 * (util/clock.h), and a wait on it until clock_now_ms() reaches
 * deadline_ms (or a signal, or a spurious wake-up: re-check). */
void mutex_cond_init(pthread_cond_t *cv);
/* Sets *flag under m and wakes every thread waiting on cv: how the owner
 * of threads that wait for work tells them to stop. */
void mutex_raise(mutex *m, bool *flag, pthread_cond_t *cv);
void mutex_wait_until(mutex *m, pthread_cond_t *cv, int64_t deadline_ms);

#endif
