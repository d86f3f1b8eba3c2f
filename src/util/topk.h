/* topk: the k smallest elements of an array, in order, without sorting
 * the rest — a page of a sorted listing needs the first (number × size)
 * of its calls, not all of them in order. */
#ifndef AC_UTIL_TOPK_H
#define AC_UTIL_TOPK_H

#include <stdbool.h>
#include <stddef.h>

typedef int (*topk_cmp)(const void *a, const void *b, void *ctx);

/* Reorders base[0..n) (elements of `size` bytes) so that base[0..k) hold
 * the k smallest under cmp, in order (k >= n: a full sort). cmp must be a
 * total order (callers break ties by original position, so the result is
 * stable). O(n log k) with a heap when k < n. Returns false when memory
 * runs out (base unchanged). The order of base[k..n) is unspecified. */
bool topk_sort(void *base, size_t n, size_t size, size_t k, topk_cmp cmp, void *ctx);

#endif
