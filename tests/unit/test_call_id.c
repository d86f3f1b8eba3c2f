/* test_call_id: model/call_id.c — the id of a call, `<node>*<tag>`: ids
 * read back (the tag points into the input, only len bytes count, a tag
 * may hold '*'), the node in canonical decimal only (`01*t`, `+1*t`,
 * ` 1*t`, overflow refused: docs/API.md, "Filters"), an empty or too long
 * tag refused, and the writer's "<node>*" and its length. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "model/call_id.h"

/* A call id names its node in canonical decimal only: no second spelling
 * of node 1 (docs/API.md). */
static void test_call_id_parse_canonical(void **state)
{
    static const struct {
        const char *id;
        int64_t node;
        const char *tag;
    } good[] = {
        {"1*t", 1, "t"},   {"10*t", 10, "t"}, {"1*0", 1, "0"},
        {"1* t", 1, " t"}, {"1**", 1, "*"},   {"9223372036854775807*x", INT64_MAX, "x"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t node = 0;
        const char *tag = NULL;
        size_t tag_len = 0;
        if (!call_id_parse(good[i].id, strlen(good[i].id), &node, &tag, &tag_len))
            fail_msg("%s refused", good[i].id);
        assert_int_equal(node, good[i].node);
        assert_int_equal(tag_len, strlen(good[i].tag));
        assert_memory_equal(tag, good[i].tag, tag_len);
    }
    static const char *const bad[] = {
        "01*t",
        "001*t",
        "0*t",
        "00*t",
        "+1*t",
        "-1*t",
        " 1*t",
        "1 *t",
        "\t1*t",
        "1\n*t",
        "99999999999999999999*t",
        "9223372036854775808*t",
        "1e3*t",
        "0x1*t",
        "1.0*t",
        "\xef\xbc\x91*t" /* a fullwidth 1 */,
        "*t",
        "1*",
        "1",
        "",
        "1*\0t",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t node = 0;
        const char *tag = NULL;
        size_t tag_len = 0;
        /* "1*\0t": the length stops at the NUL, so the tag is empty */
        if (call_id_parse(bad[i], strlen(bad[i]), &node, &tag, &tag_len))
            fail_msg("\"%s\" accepted as node %lld", bad[i], (long long)node);
    }
}

static void id_ok(const char *id, size_t len, int64_t node, const char *tag, size_t tag_len)
{
    int64_t n = -1;
    const char *t = NULL;
    size_t tl = 0;
    if (!call_id_parse(id, len, &n, &t, &tl)) fail_msg("'%.*s' refused", (int)len, id);
    assert_int_equal(n, node);
    assert_int_equal(tl, tag_len);
    assert_memory_equal(t, tag, tag_len);
    assert_true(t > id && t < id + len); /* points into the input */
}

static void id_bad(const char *id, size_t len)
{
    int64_t n;
    const char *t;
    size_t tl;
    if (call_id_parse(id, len, &n, &t, &tl)) fail_msg("'%.*s' accepted", (int)len, id);
}
#define ID_BAD(lit) id_bad((lit), strlen(lit))

static void test_call_id_parse(void **state)
{
    id_ok("1*abc", 5, 1, "abc", 3);
    id_ok("12*a*b", 6, 12, "a*b", 3);
    id_ok("1*FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86", 59, 1,
          "FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86", 57);
    id_ok("9223372036854775807*x", 21, INT64_MAX, "x", 1);
    id_ok("1*a b/\"%", 8, 1, "a b/\"%", 6);
    /* only len bytes count */
    id_ok("1*abcdef", 4, 1, "ab", 2);
    id_ok("7*t,8*u", 3, 7, "t", 1);
    ID_BAD("");
    ID_BAD("abc");
    ID_BAD("1");
    ID_BAD("1*");
    ID_BAD("*a");
    ID_BAD("*");
    ID_BAD("**");
    ID_BAD("x*y");
    ID_BAD("-1*a");
    ID_BAD("+1*a");
    ID_BAD(" 1*a");
    ID_BAD("1 *a");
    ID_BAD("1.0*a");
    ID_BAD("0x1*a");
    ID_BAD("99999999999999999999*a");
    id_bad("12*a", 2); /* the '*' is beyond len */
    id_bad("1*abc", 2);
}

/* The tag is 1..CALL_TAG_MAX bytes. */
static void test_call_id_tag_length(void **state)
{
    char id[CALL_TAG_MAX + 8];
    memcpy(id, "3*", 2);
    memset(id + 2, 't', CALL_TAG_MAX + 1);
    id_ok(id, 2 + CALL_TAG_MAX, 3, id + 2, CALL_TAG_MAX);
    id_bad(id, 2 + CALL_TAG_MAX + 1);
}

/* What the writer appends reads back as the same node, and its length is
 * what the sizer counts. */
static void test_call_id_put_node(void **state)
{
    static const int64_t nodes[] = {1, 9, 10, 12345, INT64_MAX};
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        buf b;
        buf_init(&b);
        call_id_put_node(&b, nodes[i]);
        assert_int_equal(b.len, call_id_node_len(nodes[i]));
        buf_puts(&b, "a*b");
        int64_t n = 0;
        const char *t = NULL;
        size_t tl = 0;
        assert_true(call_id_parse(b.data, b.len, &n, &t, &tl));
        assert_int_equal(n, nodes[i]);
        assert_int_equal(tl, 3);
        assert_memory_equal(t, "a*b", 3);
        buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_id_parse_canonical),
        cmocka_unit_test(test_call_id_parse),
        cmocka_unit_test(test_call_id_tag_length),
        cmocka_unit_test(test_call_id_put_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
