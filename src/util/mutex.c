/* mutex: see mutex.h. */
#include "util/mutex.h"

#include <assert.h>

#include "util/clock.h"

void mutex_init(mutex *m)
{
    pthread_mutex_init(&m->mu, NULL);
    atomic_init(&m->locked, false);
}

void mutex_destroy(mutex *m)
{
    assert(!atomic_load_explicit(&m->locked, memory_order_relaxed));
    pthread_mutex_destroy(&m->mu);
}

void mutex_lock(mutex *m)
{
    pthread_mutex_lock(&m->mu);
    atomic_store_explicit(&m->holder, pthread_self(), memory_order_relaxed);
    atomic_store_explicit(&m->locked, true, memory_order_relaxed);
}

void mutex_unlock(mutex *m)
{
    assert(mutex_held(m));
    atomic_store_explicit(&m->locked, false, memory_order_relaxed);
    pthread_mutex_unlock(&m->mu);
}

bool mutex_held(mutex *m)
{
    return atomic_load_explicit(&m->locked, memory_order_relaxed) &&
        pthread_equal(atomic_load_explicit(&m->holder, memory_order_relaxed), pthread_self());
}

/* Waits on cv until deadline (NULL: no deadline). */
static void wait_on(mutex *m, pthread_cond_t *cv, const struct timespec *deadline)
{
    assert(mutex_held(m));
    atomic_store_explicit(&m->locked, false, memory_order_relaxed);
    if (deadline)
        pthread_cond_timedwait(cv, &m->mu, deadline);
    else
        pthread_cond_wait(cv, &m->mu);
    atomic_store_explicit(&m->holder, pthread_self(), memory_order_relaxed);
    atomic_store_explicit(&m->locked, true, memory_order_relaxed);
}

void mutex_wait(mutex *m, pthread_cond_t *cv) { wait_on(m, cv, NULL); }

void mutex_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_NOW_SOURCE);
    pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
}

void mutex_raise(mutex *m, bool *flag, pthread_cond_t *cv)
{
    mutex_lock(m);
    *flag = true;
    pthread_cond_broadcast(cv);
    mutex_unlock(m);
}

void mutex_wait_until(mutex *m, pthread_cond_t *cv, int64_t deadline_ms)
{
    struct timespec until = {.tv_sec = deadline_ms / 1000, .tv_nsec = (deadline_ms % 1000) * 1000000L};
    wait_on(m, cv, &until);
}
