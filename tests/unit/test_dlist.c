/* test_dlist: util/dlist.h — the intrusive list: FIFO order, unlink of the
 * first, a middle and the last element, an element recovered from its link,
 * and an unlinked element ready to be pushed again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/dlist.h"

typedef struct item {
    int v;
    dlink link;
} item;

static void expect(const dlist *l, const int *v, int n)
{
    const dlink *d = l->first;
    for (int i = 0; i < n; i++, d = d->next) {
        assert_non_null(d);
        assert_int_equal(DLIST_ITEM(d, item, link)->v, v[i]);
        assert_ptr_equal(d->prev ? d->prev->next : l->first, d);
    }
    assert_null(d);
    if (n)
        assert_int_equal(DLIST_ITEM(l->last, item, link)->v, v[n - 1]);
    else
        assert_null(l->last);
}

static void test_order_and_unlink(void **state)
{
    (void)state;
    item it[4] = {{.v = 0}, {.v = 1}, {.v = 2}, {.v = 3}};
    dlist l = {0};
    for (int i = 0; i < 4; i++) dlist_push(&l, &it[i].link);
    expect(&l, (int[]){0, 1, 2, 3}, 4);
    dlist_unlink(&l, &it[1].link); /* middle */
    expect(&l, (int[]){0, 2, 3}, 3);
    dlist_unlink(&l, &it[0].link); /* first */
    expect(&l, (int[]){2, 3}, 2);
    dlist_unlink(&l, &it[3].link); /* last */
    expect(&l, (int[]){2}, 1);
    dlist_push(&l, &it[1].link); /* unlinked elements can go back */
    dlist_push(&l, &it[0].link);
    expect(&l, (int[]){2, 1, 0}, 3);
    dlist_unlink(&l, &it[2].link);
    dlist_unlink(&l, &it[1].link);
    dlist_unlink(&l, &it[0].link);
    expect(&l, NULL, 0);
    assert_null(l.first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_order_and_unlink)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
