/* test_login: api/login.h — the login body, {"auth":{"username":..,
 * "password":..}} (docs/API.md, "Authentication"): accepted shapes (extra
 * members, any member order, escapes), and every refusal: empty or over
 * 8 KiB bodies (unread), not JSON, not an object, missing or non-string
 * fields, duplicate keys, \u0000 in a string. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "api/login.h"

static bool parse(const char *body, size_t len, const char **u, const char **p)
{
    json_t *root = (json_t *)1;
    bool ok = login_body_parse(body, len, &root, u, p);
    static json_t *kept;
    json_decref(kept); /* the strings live in root until the next call */
    kept = root;
    return ok;
}

static void accepted(void **state)
{
    (void)state;
    const char *u, *p;
    const char *b = "{\"auth\":{\"username\":\"admin\",\"password\":\"s3cret\"}}";
    assert_true(parse(b, strlen(b), &u, &p));
    assert_string_equal(u, "admin");
    assert_string_equal(p, "s3cret");
    b = " {\"x\":[1,{}], \"auth\" : {\"password\":\"p\\u00e9\\ud83d\\ude00\", \"extra\":null, "
        "\"username\":\"caf\xc3\xa9\"}}\n";
    assert_true(parse(b, strlen(b), &u, &p));
    assert_string_equal(u, "caf\xc3\xa9");
    assert_string_equal(p, "p\xc3\xa9\xf0\x9f\x98\x80");
    b = "{\"auth\":{\"username\":\"\",\"password\":\"\"}}";
    assert_true(parse(b, strlen(b), &u, &p));
    assert_string_equal(u, "");
}

static void refused(void **state)
{
    (void)state;
    const char *u, *p;
    static const char *const bodies[] = {
        "",
        "not json",
        "[{\"auth\":{\"username\":\"a\",\"password\":\"b\"}}]",
        "{\"auth\":{\"username\":\"a\"}}",
        "{\"auth\":{\"username\":\"a\",\"password\":1}}",
        "{\"auth\":{\"username\":null,\"password\":\"b\"}}",
        "{\"username\":\"a\",\"password\":\"b\"}",
        "{\"auth\":[\"a\",\"b\"]}",
        "{\"auth\":{\"username\":\"a\",\"username\":\"c\",\"password\":\"b\"}}",
        "{\"auth\":{\"username\":\"a\",\"password\":\"b\"},\"auth\":{}}",
        "{\"auth\":{\"username\":\"a\\u0000b\",\"password\":\"b\"}}",
        "{\"auth\":{\"username\":\"\xff\",\"password\":\"b\"}}",
        "{\"auth\":{\"username\":\"a\",\"password\":\"b\"}} trailing",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        if (parse(bodies[i], strlen(bodies[i]), &u, &p)) fail_msg("accepted: %s", bodies[i]);
    /* the size cap: a valid body padded with spaces to 8 KiB passes, one byte more does not */
    char *big = malloc(LOGIN_BODY_MAX + 2);
    assert_non_null(big);
    const char *b = "{\"auth\":{\"username\":\"a\",\"password\":\"b\"}}";
    memset(big, ' ', LOGIN_BODY_MAX + 1);
    memcpy(big, b, strlen(b));
    assert_true(parse(big, LOGIN_BODY_MAX, &u, &p));
    assert_false(parse(big, LOGIN_BODY_MAX + 1, &u, &p));
    free(big);
    json_t *root = (json_t *)1;
    assert_false(login_body_parse(b, 0, &root, &u, &p));
    assert_null(root);
    parse("", 0, &u, &p); /* frees what was kept */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepted),
        cmocka_unit_test(refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
