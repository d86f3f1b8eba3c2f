/* mutex: see mutex.h. */
#include "util/mutex.h"

#include <assert.h>

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

void mutex_wait(mutex *m, pthread_cond_t *cv)
{
    assert(mutex_held(m));
    atomic_store_explicit(&m->locked, false, memory_order_relaxed);
    pthread_cond_wait(cv, &m->mu);
    atomic_store_explicit(&m->holder, pthread_self(), memory_order_relaxed);
    atomic_store_explicit(&m->locked, true, memory_order_relaxed);
}
