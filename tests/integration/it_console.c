/* it_console: the console's routes (docs/API.md, "The console"), over
 * HTTP against the real server; the page itself is tested in a real
 * browser (tests/browser/console_test.py).
 *
 * - `/` and `/console` redirect to /console/; every answer carries the
 *   Content-Security-Policy;
 * - the built-in files: the page, its script and style, with their types;
 * - --console-dir serves a directory's files as they are on disk;
 * - names that could leave the directory, hidden files and unknown files
 *   are 404s, other methods 405s;
 * - active-call-permissions says whether the user may drop calls. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#define CSP \
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

static h_raw *get(const h_proc *s, const char *path)
{
    h_raw *r = h_raw_get(s, path, NULL);
    const char *csp = h_raw_header(r, "content-security-policy");
    if (!csp || strcmp(csp, CSP) != 0) fail_msg("%s: content-security-policy %s", path, csp ? csp : "(none)");
    return r;
}

static void test_builtin(void **state)
{
    (void)state;
    h_proc *s = h_start_server(h_db_path(), NULL);
    const char *const redirects[] = {"/", "/console"};
    for (size_t i = 0; i < 2; i++) {
        h_raw *r = get(s, redirects[i]);
        assert_int_equal(r->status, 302);
        assert_string_equal(h_raw_header(r, "location"), "/console/");
    }
    h_raw *page = get(s, "/console/");
    assert_int_equal(page->status, 200);
    assert_string_equal(h_raw_header(page, "content-type"), "text/html; charset=utf-8");
    assert_non_null(strstr(page->body, "/console/app.js"));
    assert_null(strstr(page->body, "<script>")); /* no inline script */
    assert_null(strstr(page->body, "style=\""));
    h_raw *index = get(s, "/console/index.html");
    assert_string_equal(index->body, page->body);
    h_raw *js = get(s, "/console/app.js");
    assert_int_equal(js->status, 200);
    assert_string_equal(h_raw_header(js, "content-type"), "text/javascript; charset=utf-8");
    h_raw *css = get(s, "/console/app.css");
    assert_int_equal(css->status, 200);
    assert_string_equal(h_raw_header(css, "content-type"), "text/css; charset=utf-8");
    const char *const missing[] = {"/console/nope.js", "/console/..%2fsecret", "/console/.hidden",
                                   "/console/a%2fb.js", "/console/" /* a directory: never */ "x/y"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        h_raw *r = get(s, missing[i]);
        if (r->status != 404) fail_msg("%s: %ld", missing[i], r->status);
        assert_non_null(strstr(r->body, "\"errors\""));
    }
    h_response *post = h_http("POST", h_url(s, "/console/"), NULL, NULL);
    assert_int_equal(post->status, 405);
    assert_int_equal(h_stop(s), 0);
}

static void test_console_dir(void **state)
{
    (void)state;
    h_write_file("index.html", "<!doctype html><title>from disk</title>\n");
    h_write_file(".hidden", "secret\n");
    h_proc *s = h_start_server(h_db_path(), "--console-dir", h_tmpdir(), NULL);
    h_raw *page = get(s, "/console/");
    assert_int_equal(page->status, 200);
    assert_string_equal(page->body, "<!doctype html><title>from disk</title>\n");
    /* read on every request: a change shows at once */
    h_write_file("index.html", "<!doctype html><title>changed</title>\n");
    assert_string_equal(get(s, "/console/index.html")->body, "<!doctype html><title>changed</title>\n");
    assert_int_equal(get(s, "/console/.hidden")->status, 404);
    assert_int_equal(get(s, "/console/secret")->status,
                     404); /* the token secret sits there: not a console file */
    assert_int_equal(get(s, "/console/app.js")->status, 404); /* the built-in ones are not mixed in */
    assert_int_equal(h_stop(s), 0);
}

static void test_permissions(void **state)
{
    (void)state;
    const char *db = h_db_path();
    h_add_user(db, "op", "Op-pw-7f2Kq9xZ-it", "operator", NULL);
    const char *policy = h_write_file("policy_roles.yml",
                                      "operator:\n"
                                      "  RealtimeData/ActiveCall:\n"
                                      "    read: true\n"
                                      "    remove: false\n");
    h_proc *s = h_start_server(db, "--policy", policy, NULL);
    const char *path = "/api/rest/admin/active-call-permissions";
    h_response *root = h_http("GET", h_url(s, path), NULL, NULL);
    assert_int_equal(root->status, 200);
    assert_string_equal(root->body, "{\"meta\":{\"actions\":{\"read\":true,\"remove\":true}}}");
    const char *op = h_strf("Authorization: Bearer %s", h_login_token(s, "op", "Op-pw-7f2Kq9xZ-it"));
    const char *hdrs[] = {op, NULL};
    h_response *r = h_http("GET", h_url(s, path), hdrs, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "{\"meta\":{\"actions\":{\"read\":true,\"remove\":false}}}");
    const char *none[] = {H_NO_AUTH, NULL};
    assert_int_equal(h_http("GET", h_url(s, path), none, NULL)->status, 401);
    assert_int_equal(h_stop(s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_builtin, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_console_dir, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_permissions, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
