/* it_openapi: the API's description served at /api/rest/admin/openapi.json
 * (src/api/openapi.c): no token needed, OpenAPI 3.1.0, exactly
 * docs/openapi.yaml as the build converts it (so the served copy cannot be
 * stale), HEAD, and a 405 for other methods. That every response the
 * integration tests receive fits the description is checked by each
 * program's last test (h_validate_documents, tests/tools/validate_openapi.py). */
#include "harness.h"

#include <string.h>

#define OPENAPI "/api/rest/admin/openapi.json"

static void test_served_description(void **state)
{
    const char *db = h_db_path();
    h_proc *srv = h_start_server(db, NULL);
    const char *none[] = {"Authorization:", NULL}; /* no token: none is needed */
    h_response *r = h_http("GET", h_url(srv, OPENAPI), none, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(h_header_value(r, "content-type"), "application/json");
    json_t *doc = h_json(r);
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    assert_true(json_is_object(json_object_get(json_object_get(doc, "paths"), OPENAPI)));
    /* byte for byte what the build made of docs/openapi.yaml */
    const char *expected = h_openapi_json();
    if (r->body_len != strlen(expected) || memcmp(r->body, expected, r->body_len) != 0)
        fail_msg("the served description (%zu bytes) is not docs/openapi.yaml converted (%zu bytes): "
                 "rebuild",
                 r->body_len, strlen(expected));
    const char *etag = h_header_value(r, "etag");
    assert_non_null(etag);

    h_response *head = h_http("HEAD", h_url(srv, OPENAPI), none, NULL);
    assert_int_equal(head->status, 200);
    assert_int_equal(head->body_len, 0);
    assert_string_equal(h_header_value(head, "content-type"), "application/json");
    assert_string_equal(h_header_value(head, "etag"), etag);

    const char *cond[] = {"Authorization:", h_strf("If-None-Match: %s", etag), NULL};
    assert_int_equal(h_http("GET", h_url(srv, OPENAPI), cond, NULL)->status, 304);

    const char *methods[] = {"POST", "DELETE", "PUT"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        h_response *no = h_http(methods[i], h_url(srv, OPENAPI), none, NULL);
        assert_int_equal(no->status, 405);
        assert_string_equal(h_header_value(no, "allow"), "GET, HEAD");
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(h_json(no), "errors"), 0), "status")),
                            "405");
    }
    assert_int_equal(h_stop(srv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_served_description, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
