/* dlist: the one intrusive doubly linked list (FIFO order, O(1) unlink).
 *
 * The HTTP loop keeps its connections on deadline lists and on the list of
 * every connection, and the worker pool keeps its queued jobs in a FIFO;
 * each needs "append at the end, take the first, unlink from anywhere" with
 * no allocation. An element embeds a dlink and is recovered from it with
 * DLIST_ITEM (the container_of idiom). An element is on at most one list
 * through a given dlink. */
#ifndef AC_UTIL_DLIST_H
#define AC_UTIL_DLIST_H

#include <assert.h>
#include <stddef.h>

typedef struct dlink {
    struct dlink *prev, *next;
} dlink;

typedef struct dlist {
    dlink *first, *last;
} dlist;

/* The element of type T whose member `m` is the dlink l (l not NULL). */
#define DLIST_ITEM(l, T, m) ((T *)(void *)((char *)(l)-offsetof(T, m)))

/* Appends e (on no list) at the end of l. */
static inline void dlist_push(dlist *l, dlink *e)
{
    assert(l && e && !e->prev && !e->next && l->first != e);
    e->prev = l->last;
    if (l->last)
        l->last->next = e;
    else
        l->first = e;
    l->last = e;
}

/* Removes e, which is on l. */
static inline void dlist_unlink(dlist *l, dlink *e)
{
    assert(l && e && (e->prev || l->first == e));
    if (e->prev)
        e->prev->next = e->next;
    else
        l->first = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->last = e->prev;
    e->prev = e->next = NULL;
}

#endif
