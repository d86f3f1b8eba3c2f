/* grow: the one rule for a growable array (doubling, overflow-checked).
 *
 * Arrays that grow one element at a time (a node's parsed calls, the ids
 * an include looks up, a policy's address ranges, a reply's input buffer)
 * all double their capacity, starting from a small first size, and must
 * never compute a size that wraps. That rule is written here once. */
#ifndef AC_UTIL_GROW_H
#define AC_UTIL_GROW_H

#include <stdbool.h>
#include <stddef.h>

/* Makes *arr hold at least `need` elements of `size` bytes. The capacity
 * *cap doubles from `first` until it is enough. On failure (out of memory,
 * or a size that does not fit size_t) returns false and leaves *arr and
 * *cap as they were. */
bool grow(void **arr, size_t *cap, size_t need, size_t size, size_t first);

#endif
