/* grow: growable arrays (util/grow.h). */
#include "grow.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

bool grow(void **arr, size_t *cap, size_t need, size_t size, size_t first)
{
    assert(arr && cap && size > 0 && first > 0);
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : first;
    while (n < need) n = n > SIZE_MAX / 2 ? need : n * 2;
    if (n > SIZE_MAX / size) return false;
    void *p = realloc(*arr, n * size);
    if (!p) return false;
    *arr = p;
    *cap = n;
    return true;
}
