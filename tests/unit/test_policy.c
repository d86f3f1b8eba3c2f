/* test_policy: auth/policy.c — the allow/deny matrix of a yeti-shaped
 * policy_roles.yml (root, Default fallback per action, a section's entry
 * overriding Default both ways, several roles, role lists with spaces, no
 * file), YAML 1.1 booleans, and every refusal with its file:line message
 * (syntax errors, wrong shapes, non-booleans, duplicates, anchors/aliases,
 * tags, several documents, size cap, missing file), from a file and from
 * memory (policy_parse). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/policy.h"

#define AC "RealtimeData/ActiveCall"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/test_policy.XXXXXX");
    if (mkdtemp(dir) == NULL) return -1;
    snprintf(path, sizeof path, "%s/policy_roles.yml", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    return 0;
}

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static policy *load(const char *text)
{
    write_file(text);
    char err[256] = "";
    policy *p = policy_load(path, err);
    if (p == NULL) fail_msg("refused: %s\n%s", err, text);
    return p;
}

/* The file must be refused with exactly "path:LINE: message". */
static void refused(const char *text, int line, const char *message)
{
    write_file(text);
    char err[256] = "";
    policy *p = policy_load(path, err);
    if (p != NULL) {
        policy_free(p);
        fail_msg("accepted:\n%s", text);
    }
    char want[256];
    snprintf(want, sizeof want, "%s:%d: %s", path, line, message);
    if (strcmp(err, want) != 0) fail_msg("got  '%s'\nwant '%s'", err, want);
}

static const char MATRIX[] = "# yeti-web policy_roles.yml\n"
                             "operator:\n"
                             "  Default: { read: true, change: false, remove: true }\n"
                             "  RealtimeData/ActiveCall:\n"
                             "    remove: false\n"
                             "viewer:\n"
                             "  Default:\n"
                             "    read: true\n"
                             "killer:\n"
                             "  \"RealtimeData/ActiveCall\":\n"
                             "    read: yes\n"
                             "    remove: On\n"
                             "  Default:\n"
                             "    read: FALSE\n"
                             "nobody:\n"
                             "  Billing/Invoice:\n"
                             "    read: true\n"
                             "root:\n"
                             "  Default:\n"
                             "    read: false\n";

static void matrix(void **state)
{
    (void)state;
    policy *p = load(MATRIX);
    /* a section's own entry overrides Default — here to deny */
    assert_true(policy_allows(p, "operator", AC, "read"));    /* from Default */
    assert_false(policy_allows(p, "operator", AC, "remove")); /* section says false */
    assert_false(policy_allows(p, "operator", AC, "change"));
    assert_true(policy_allows(p, "operator", "Other/Section", "remove")); /* Default */
    assert_false(policy_allows(p, "operator", AC, "perform"));            /* nowhere */

    assert_true(policy_allows(p, "viewer", AC, "read"));
    assert_false(policy_allows(p, "viewer", AC, "remove"));

    /* ... and to allow, where Default denies */
    assert_true(policy_allows(p, "killer", AC, "read"));
    assert_true(policy_allows(p, "killer", AC, "remove"));
    assert_false(policy_allows(p, "killer", "Other/Section", "read"));

    /* no Default, no matching section */
    assert_false(policy_allows(p, "nobody", AC, "read"));
    assert_true(policy_allows(p, "nobody", "Billing/Invoice", "read"));

    /* unknown role, empty roles */
    assert_false(policy_allows(p, "ghost", AC, "read"));
    assert_false(policy_allows(p, "", AC, "read"));
    assert_false(policy_allows(p, NULL, AC, "read"));
    assert_false(policy_allows(p, " , ,", AC, "read"));

    /* root may do everything, whatever the file says about it */
    assert_true(policy_allows(p, "root", AC, "read"));
    assert_true(policy_allows(p, "root", AC, "remove"));
    assert_true(policy_allows(p, "root", "Anything", "whatever"));

    /* names are exact */
    assert_false(policy_allows(p, "Operator", AC, "read"));
    assert_false(policy_allows(p, "operator ", "realtimedata/activecall", "Read"));
    assert_false(policy_allows(p, "rooter", AC, "read"));
    assert_false(policy_allows(p, "roo", AC, "read"));

    /* NULL section/action */
    assert_false(policy_allows(p, "operator", NULL, "read"));
    assert_false(policy_allows(p, "operator", AC, NULL));
    policy_free(p);
}

static void several_roles(void **state)
{
    (void)state;
    policy *p = load(MATRIX);
    /* allowed when any role allows */
    assert_true(policy_allows(p, "viewer,killer", AC, "remove"));
    assert_true(policy_allows(p, "killer,viewer", AC, "remove"));
    assert_false(policy_allows(p, "viewer,operator", AC, "remove"));
    assert_true(policy_allows(p, "ghost,viewer", AC, "read"));
    /* spaces and stray commas tolerated */
    assert_true(policy_allows(p, " viewer , killer ", AC, "remove"));
    assert_true(policy_allows(p, ",,killer,", AC, "remove"));
    assert_true(policy_allows(p, "operator, root", AC, "remove"));
    assert_true(policy_allows(p, "root ,operator", AC, "remove"));
    assert_true(policy_allows(p, "\troot\t", AC, "remove"));
    assert_false(policy_allows(p, "ro ot", AC, "remove"));
    policy_free(p);
}

static void no_file(void **state)
{
    (void)state;
    /* no policy: only root */
    assert_true(policy_allows(NULL, "root", AC, "remove"));
    assert_true(policy_allows(NULL, "operator,root", AC, "read"));
    assert_false(policy_allows(NULL, "operator", AC, "read"));
    assert_false(policy_allows(NULL, NULL, AC, "read"));
    policy_free(NULL);
}

static void empty_files(void **state)
{
    (void)state;
    static const char *empties[] = {"",       "\n\n", "# only a comment\n", "---\n", "--- ~\n", "---\n...\n",
                                    "null\n", "{}\n"};
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        policy *p = load(empties[i]);
        assert_false(policy_allows(p, "operator", AC, "read"));
        assert_true(policy_allows(p, "root", AC, "read"));
        policy_free(p);
    }
}

static void booleans(void **state)
{
    (void)state;
    static const char *yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static const char *no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    char text[256];
    for (size_t i = 0; i < 9; i++) {
        snprintf(text, sizeof text, "r:\n  Default:\n    read: %s\n    remove: %s\n", yes[i], no[i]);
        policy *p = load(text);
        assert_true(policy_allows(p, "r", AC, "read"));
        assert_false(policy_allows(p, "r", AC, "remove"));
        policy_free(p);
    }
    /* flow style and a document marker are fine */
    policy *p = load("---\n{r: {Default: {read: true}}}\n...\n");
    assert_true(policy_allows(p, "r", AC, "read"));
    policy_free(p);
    /* an empty section or role is just no permission */
    p = load("r:\n  Default: {}\nq: {}\n");
    assert_false(policy_allows(p, "r", AC, "read"));
    assert_false(policy_allows(p, "q", AC, "read"));
    policy_free(p);
}

static void bad_values(void **state)
{
    (void)state;
    static const char *bad[] = {"1", "0",    "y",      "n",         "\"true\"",      "'false'", "truee",
                                "~", "null", "[true]", "{a: true}", "|\n      true", "tru e"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "operator:\n  Default:\n    change: false\n    read: %s\n", bad[i]);
        refused(text, 4, "expected true or false for 'read'");
    }
    /* an empty value too */
    refused("operator:\n  Default:\n    read:\n    remove: true\n", 3, "expected true or false for 'read'");
}

static void bad_shapes(void **state)
{
    (void)state;
    refused("- operator\n- viewer\n", 1, "the top level must be a mapping of roles");
    refused("just text\n", 1, "the top level must be a mapping of roles");
    refused("# c\n\n42\n", 3, "the top level must be a mapping of roles");
    refused("operator: true\n", 1, "expected a mapping of sections for role 'operator'");
    /* a mis-indented section turns its role into an empty value */
    refused("viewer:\n  Default: {read: true}\noperator:\nDefault:\n  read: true\n", 3,
            "expected a mapping of sections for role 'operator'");
    refused("operator:\n  - Default\n", 2, "expected a mapping of sections for role 'operator'");
    refused("operator:\n  Default: true\n", 2, "expected a mapping of actions for section 'Default'");
    refused("operator:\n  Default:\n  RealtimeData/ActiveCall: {read: true}\n", 2,
            "expected a mapping of actions for section 'Default'");
    refused("operator:\n  Default:\n    - read\n", 3, "expected a mapping of actions for section 'Default'");
    refused("operator:\n  Default:\n    read:\n      deep: true\n", 4, "expected true or false for 'read'");
    refused("? [a, b]\n: {}\n", 1, "keys must be plain text");
    refused("operator:\n  ? {x: 1}\n  : {}\n", 2, "keys must be plain text");
    refused("\"\":\n  Default: {read: true}\n", 1, "empty key");
    refused("operator:\n  Default:\n    \"\": true\n", 3, "empty key");
    refused("operator:\n  Default:\n    \"re\\0ad\": true\n", 3, "key with a NUL character");
}

static void duplicates(void **state)
{
    (void)state;
    refused("operator:\n  Default: {read: true}\nviewer: {}\noperator:\n  Default: {read: false}\n", 4,
            "duplicate key 'operator'");
    refused("operator:\n  Default: {read: true}\n  Default: {read: false}\n", 3, "duplicate key 'Default'");
    refused("operator:\n  Default:\n    read: true\n    remove: true\n    read: false\n", 5,
            "duplicate key 'read'");
    refused("operator:\n  Default: {read: true, read: false}\n", 2, "duplicate key 'read'");
    /* the same names at different places are not duplicates */
    policy *p = load("a:\n  Default: {read: true}\n  X: {read: false}\nb:\n  Default: {read: true}\n");
    assert_false(policy_allows(p, "a", "X", "read"));
    assert_true(policy_allows(p, "b", "X", "read"));
    policy_free(p);
}

static void unsupported_features(void **state)
{
    (void)state;
    refused("base: &base\n  Default: {read: true}\noperator: *base\n", 1, "anchors are not supported");
    refused("operator:\n  Default: {read: true}\nviewer: *x\n", 3, "aliases are not supported");
    refused("operator:\n  Default:\n    read: &t true\n", 3, "anchors are not supported");
    refused("operator:\n  Default:\n    read: !!bool true\n", 3, "tags are not supported");
    refused("!!map\noperator: {}\n", 1, "tags are not supported");
    refused("operator: {}\n---\nviewer: {}\n", 2, "only one YAML document is allowed");
}

static void syntax_errors(void **state)
{
    (void)state;
    /* libyaml's own words, with the (1-based) line */
    refused("operator:\n  Default:\n    read: true\n   remove: true\n", 4, "did not find expected key");
    refused("operator:\n  Default: {read: true\n", 3, "did not find expected ',' or '}'");
    refused("operator:\n\tDefault: {}\n", 2, "found character that cannot start any token");
    refused("operator:\n  Default:\n    read: true\n    remove: true: x\n", 4,
            "mapping values are not allowed in this context");
    refused("operator:\n  Default:\n    read: \"true\n", 4, "found unexpected end of stream");
    /* invalid UTF-8 */
    refused("operator:\n  Default:\n    r\xff: true\n", 3, "invalid leading UTF-8 octet");
    /* a NUL byte (written by hand: the text helpers stop at it) */
    static const char nul[] = "operator:\n  Default:\n    read: tr\0ue\n";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fwrite(nul, 1, sizeof nul - 1, f);
    fclose(f);
    char err[256];
    assert_null(policy_load(path, err));
    char want[256];
    snprintf(want, sizeof want, "%s:3: control characters are not allowed", path);
    assert_string_equal(err, want);
}

/* policy_parse: the same text from memory, the name in messages; it is
 * what policy_load calls on the file's bytes. */
static void from_memory(void **state)
{
    (void)state;
    char err[256] = "";
    policy *p = policy_parse(MATRIX, strlen(MATRIX), "mem.yml", err);
    assert_non_null(p);
    assert_true(policy_allows(p, "operator", AC, "read"));
    assert_false(policy_allows(p, "operator", AC, "remove"));
    assert_true(policy_allows(p, "killer", AC, "remove"));
    policy_free(p);
    /* not NUL-terminated: only len bytes are read */
    static const char cut[] = "viewer:\n  Default: {read: true}\nbroken: [";
    p = policy_parse(cut, strlen(cut) - strlen("broken: ["), "mem.yml", err);
    assert_non_null(p);
    assert_true(policy_allows(p, "viewer", AC, "read"));
    policy_free(p);
    assert_null(policy_parse(cut, strlen(cut), "mem.yml", err));
    assert_string_equal(err, "mem.yml:3: expected a mapping of sections for role 'broken'");
    assert_null(policy_parse("- a\n", 4, "mem.yml", err));
    assert_string_equal(err, "mem.yml:1: the top level must be a mapping of roles");
    p = policy_parse("", 0, "mem.yml", err);
    assert_non_null(p);
    assert_false(policy_allows(p, "operator", AC, "read"));
    policy_free(p);
}

/* A problem found at the very end of a file without a final line break is
 * on the file's last line: libyaml counts one line more there
 * (fuzz/fuzz_policy.c found "policy_roles.yml:4:" for a 3-line file). */
static void error_at_the_end_without_final_newline(void **state)
{
    (void)state;
    refused("r:\n  S:\n  read:change", 3, "could not find expected ':'");
    refused("r:\r\n  S:\r\n  read:change", 3, "could not find expected ':'");
    refused("r:\r  S:\r  read:change", 3, "could not find expected ':'"); /* CR alone breaks a line */
    refused("operator:\n  Default: {read: true", 2, "did not find expected ',' or '}'");
    refused("operator:\n  Default:\n    read: \"true", 3, "found unexpected end of stream");
    /* with the final line break, the end is the empty line after it */
    refused("r:\n  S:\n  read:change\n", 4, "could not find expected ':'");
}

static void files(void **state)
{
    (void)state;
    char err[256];
    char missing[200];
    snprintf(missing, sizeof missing, "%s/no-such.yml", dir);
    assert_null(policy_load(missing, err));
    char want[256];
    snprintf(want, sizeof want, "%s: No such file or directory", missing);
    assert_string_equal(err, want);

    assert_null(policy_load(dir, err)); /* a directory */
    assert_non_null(strstr(err, "not a regular file"));

    assert_null(policy_load(NULL, err));

    /* 1 MiB cap: a big, valid file just under it loads; one byte over does not */
    size_t cap = 1024 * 1024;
    char *big = malloc(cap + 2);
    const char head[] = "operator:\n  Default: {read: true}\n";
    memcpy(big, head, sizeof head - 1);
    memset(big + sizeof head - 1, '#', cap - (sizeof head - 1));
    big[cap - 1] = '\n';
    big[cap] = '\0';
    policy *p = load(big);
    assert_true(policy_allows(p, "operator", AC, "read"));
    policy_free(p);
    big[cap] = '\n';
    big[cap + 1] = '\0';
    write_file(big);
    assert_null(policy_load(path, err));
    assert_non_null(strstr(err, "larger than"));
    free(big);

    /* many roles: fine */
    size_t n = 3000;
    char *many = malloc(n * 40 + 1);
    many[0] = '\0';
    size_t off = 0;
    for (size_t i = 0; i < n; i++)
        off += (size_t)sprintf(many + off, "role%zu: {Default: {read: %s}}\n", i, i % 2 ? "true" : "false");
    p = load(many);
    assert_true(policy_allows(p, "role2999", AC, "read"));
    assert_false(policy_allows(p, "role2998", AC, "read"));
    assert_true(policy_allows(p, "role2998,role1", AC, "read"));
    policy_free(p);
    free(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matrix),
        cmocka_unit_test(several_roles),
        cmocka_unit_test(no_file),
        cmocka_unit_test(empty_files),
        cmocka_unit_test(booleans),
        cmocka_unit_test(bad_values),
        cmocka_unit_test(bad_shapes),
        cmocka_unit_test(duplicates),
        cmocka_unit_test(unsupported_features),
        cmocka_unit_test(syntax_errors),
        cmocka_unit_test(error_at_the_end_without_final_newline),
        cmocka_unit_test(from_memory),
        cmocka_unit_test(files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
