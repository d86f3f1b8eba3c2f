/* budget: shared byte count with a limit; see budget.h.
 *
 * One mutex, one condition variable (on the monotonic clock) and a queue of
 * the waiting reservations, each a node on its waiter's stack. Only the
 * head of the queue may take, so a big reservation is not starved by small
 * ones slipping past it; every change (a give, a take, a waiter leaving)
 * wakes all waiters and the new head looks again. There are never many:
 * one per listing being written. */
#include "util/budget.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "util/clock.h"
#include "util/pool.h"

typedef struct waiter {
    struct waiter *next;
} waiter;

struct budget {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t limit, in_use;
    waiter *head, *tail;
    size_t waiting;
};

budget *budget_new(uint64_t limit)
{
    budget *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_NOW_SOURCE); /* the deadlines are clock_now_ms times */
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&b->mu, NULL);
    b->limit = limit;
    return b;
}

void budget_free(budget *b)
{
    if (!b) return;
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static bool fits(const budget *b, uint64_t n) { return n <= b->limit - b->in_use; }

/* Takes w out of the queue (under the mutex). */
static void leave(budget *b, waiter *w)
{
    waiter *prev = NULL;
    for (waiter *q = b->head; q; prev = q, q = q->next) {
        if (q != w) continue;
        if (prev)
            prev->next = q->next;
        else
            b->head = q->next;
        if (b->tail == q) b->tail = prev;
        break;
    }
    b->waiting--;
    pthread_cond_broadcast(&b->cv); /* a new head, or room for the next */
}

bool budget_take(budget *b, uint64_t n, int wait_ms, int64_t *waited_ms)
{
    assert(wait_ms <= 0 || pool_may_block());
    int64_t start = clock_now_ms();
    if (waited_ms) *waited_ms = 0;
    if (n > b->limit) return false;
    pthread_mutex_lock(&b->mu);
    if (!b->head && fits(b, n)) {
        b->in_use += n;
        pthread_mutex_unlock(&b->mu);
        return true;
    }
    if (wait_ms <= 0) {
        pthread_mutex_unlock(&b->mu);
        return false;
    }
    waiter w = {NULL};
    if (b->tail)
        b->tail->next = &w;
    else
        b->head = &w;
    b->tail = &w;
    b->waiting++;
    int64_t deadline = start + wait_ms;
    struct timespec until = {.tv_sec = deadline / 1000, .tv_nsec = (deadline % 1000) * 1000000};
    bool taken = false;
    for (;;) {
        if (b->head == &w && fits(b, n)) {
            b->in_use += n;
            taken = true;
            break;
        }
        if (pthread_cond_timedwait(&b->cv, &b->mu, &until) == ETIMEDOUT && !(b->head == &w && fits(b, n)))
            break;
    }
    leave(b, &w);
    pthread_mutex_unlock(&b->mu);
    if (waited_ms) *waited_ms = clock_now_ms() - start;
    return taken;
}

void budget_give(budget *b, uint64_t n)
{
    pthread_mutex_lock(&b->mu);
    b->in_use = n < b->in_use ? b->in_use - n : 0;
    if (b->waiting) pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

uint64_t budget_limit(const budget *b) { return b->limit; }

uint64_t budget_in_use(budget *b)
{
    pthread_mutex_lock(&b->mu);
    uint64_t n = b->in_use;
    pthread_mutex_unlock(&b->mu);
    return n;
}

size_t budget_waiting(budget *b)
{
    pthread_mutex_lock(&b->mu);
    size_t n = b->waiting;
    pthread_mutex_unlock(&b->mu);
    return n;
}
