/* topk: partial sorting with a bounded max-heap; see topk.h.
 *
 * The heap lives in base[0..k): its root is the largest of the k smallest
 * seen so far. Each later element smaller than the root replaces it and
 * sinks to its place; then base[0..k) is sorted. A full sort (k >= n) is
 * glibc's qsort_r alone (a merge sort: fewer comparisons, and comparing
 * calls is the costly part). Nothing is allocated but one element's room
 * for swapping when elements are large. */
#include "util/topk.h"

#include <stdlib.h>
#include <string.h>

#define SWAP_ROOM 64 /* elements up to this size swap through the stack */

typedef struct heap {
    char *base;
    size_t size;
    topk_cmp cmp;
    void *ctx;
    char *tmp; /* one element's room */
} heap;

static inline char *at(const heap *h, size_t i) { return h->base + i * h->size; }

static inline void swap(const heap *h, size_t i, size_t j)
{
    memcpy(h->tmp, at(h, i), h->size);
    memcpy(at(h, i), at(h, j), h->size);
    memcpy(at(h, j), h->tmp, h->size);
}

/* Sinks element i of the max-heap base[0..n) to its place. */
static void sift_down(const heap *h, size_t i, size_t n)
{
    for (;;) {
        size_t big = i, l = 2 * i + 1, r = l + 1;
        if (l < n && h->cmp(at(h, l), at(h, big), h->ctx) > 0) big = l;
        if (r < n && h->cmp(at(h, r), at(h, big), h->ctx) > 0) big = r;
        if (big == i) return;
        swap(h, i, big);
        i = big;
    }
}

bool topk_sort(void *base, size_t n, size_t size, size_t k, topk_cmp cmp, void *ctx)
{
    if (k >= n) {
        qsort_r(base, n, size, cmp, ctx);
        return true;
    }
    if (k == 0) return true;
    char room[SWAP_ROOM];
    heap h = {base, size, cmp, ctx, size <= SWAP_ROOM ? room : malloc(size)};
    if (!h.tmp) return false;
    for (size_t i = k / 2; i-- > 0;) sift_down(&h, i, k);
    for (size_t i = k; i < n; i++) {
        if (cmp(at(&h, i), at(&h, 0), ctx) >= 0) continue;
        swap(&h, 0, i);
        sift_down(&h, 0, k);
    }
    if (h.tmp != room) free(h.tmp);
    qsort_r(base, k, size, cmp, ctx);
    return true;
}
