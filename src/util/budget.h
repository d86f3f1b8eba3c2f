/* budget: a count of bytes shared by threads, with a limit.
 *
 * Listings reserve the size of the document they are about to write and
 * give it back once it is written, so that concurrent listings cannot hold
 * more than the limit between them (docs/API.md, "Memory"). A reservation
 * that does not fit waits, first come first served, until the others have
 * given back enough or its wait is over; one larger than the whole limit
 * is refused at once. Thread-safe. */
#ifndef AC_UTIL_BUDGET_H
#define AC_UTIL_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct budget budget;

budget *budget_new(uint64_t limit);
void budget_free(budget *b);

/* Reserves n bytes, waiting up to wait_ms (0: not at all) behind earlier
 * reservations for room. True when reserved (give them back with
 * budget_give); false when the wait ran out or n is over the limit.
 * *waited_ms (may be NULL) is how long it waited. */
bool budget_take(budget *b, uint64_t n, int wait_ms, int64_t *waited_ms);
void budget_give(budget *b, uint64_t n);

uint64_t budget_limit(const budget *b);
uint64_t budget_in_use(budget *b);
size_t budget_waiting(budget *b); /* reservations waiting now */

#endif
