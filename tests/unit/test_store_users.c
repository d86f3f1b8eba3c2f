/* test_store_users: the admin users of the store (store.h, gui.admin_users)
 * on its SQLite backend: add/get/find/list/set_password/set_enabled, the
 * error classes, the field rules and the canonical roles/allowed_ips text,
 * hashes kept out of listings and messages, hostile strings stored
 * verbatim, rows edited by hand, and the migration of a version-1 file.
 * Each test gets its own mkdtemp directory.
 * With $ACTIVECALLS_TEST_PG set the same tests run on PostgreSQL
 * (store_test_pg.h); the SQLite-file ones are skipped there. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/password.h"
#include "store/store.h"
#include "store_fixture.h"

/* Well-formed bcrypt hashes (60 bytes); their passwords do not matter here. */
#define HASH_A "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
#define HASH_B "$2b$12$0123456789./0123456789./ABCDEFGHIJKLMNOPQRSTUVWXYZabc"
#define HASH_A2 "$2a$05$zzzzzzzzzzzzzzzzzzzzzu0123456789abcdefghijklmnopqrstu"

static int setup(void **state) { return fixture_setup(state, "users"); }

static store_admin_user mkuser(int64_t id, const char *name, const char *hash, const char *roles,
                               const char *ips)
{
    store_admin_user u;
    memset(&u, 0, sizeof u);
    u.id = id;
    u.enabled = true;
    snprintf(u.username, sizeof u.username, "%s", name);
    snprintf(u.encrypted_password, sizeof u.encrypted_password, "%s", hash);
    snprintf(u.roles, sizeof u.roles, "%s", roles);
    snprintf(u.allowed_ips, sizeof u.allowed_ips, "%s", ips);
    return u;
}

/* Adds and returns the id the store gave. */
static int64_t add_ok(store *s, int64_t id, const char *name, const char *roles, const char *ips)
{
    char err[STORE_ERR_LEN] = "";
    store_admin_user u = mkuser(id, name, HASH_B, roles, ips);
    if (store_user_add(s, &u, err) != STORE_OK) fail_msg("user add '%s': %s", name, err);
    return u.id;
}

static size_t count_users(store *s)
{
    store_admin_user *users = NULL;
    size_t n = 0;
    char err[STORE_ERR_LEN] = "";
    assert_int_equal(store_user_list(s, &users, &n, err), STORE_OK);
    free(users);
    return n;
}

/* ---- the happy paths ---- */

static void test_add_get_find(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);

    store_admin_user u = mkuser(0, "alice", HASH_B, "root", "");
    assert_int_equal(store_user_add(f->s, &u, err), STORE_OK);
    assert_int_equal(u.id, 1); /* assigned and written back */
    u = mkuser(10, "bob", HASH_A, "support", "192.0.2.0/24");
    u.enabled = false;
    assert_int_equal(store_user_add(f->s, &u, err), STORE_OK);
    assert_int_equal(u.id, 10);                              /* as asked */
    assert_int_equal(add_ok(f->s, 0, "carol", "r", ""), 11); /* after the largest id */

    store_admin_user got;
    assert_int_equal(store_user_get(f->s, 10, &got, err), STORE_OK);
    assert_int_equal(got.id, 10);
    assert_string_equal(got.username, "bob");
    assert_string_equal(got.encrypted_password, HASH_A);
    assert_false(got.enabled);
    assert_string_equal(got.roles, "support");
    assert_string_equal(got.allowed_ips, "192.0.2.0/24");

    assert_int_equal(store_user_find(f->s, "alice", &got, err), STORE_OK);
    assert_int_equal(got.id, 1);
    assert_true(got.enabled);
    assert_string_equal(got.encrypted_password, HASH_B); /* lookups return the hash */
    assert_string_equal(got.roles, "root");
    assert_string_equal(got.allowed_ips, "");
    expect(store_user_find(f->s, "Alice", &got, err), STORE_NOT_FOUND, err, "not found");

    /* survives a reopen */
    store_close(f->s);
    f->s = open_ok(f);
    assert_int_equal(store_user_find(f->s, "carol", &got, err), STORE_OK);
    assert_int_equal(got.id, 11);
}

static void test_list_hides_hashes(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    store_admin_user *users = NULL;
    size_t n = 99;
    f->s = open_ok(f);
    assert_int_equal(store_user_list(f->s, &users, &n, err), STORE_OK);
    assert_int_equal(n, 0);
    free(users);

    add_ok(f->s, 5, "eve", "read", "::1");
    add_ok(f->s, 2, "dan", "root,support", "");
    assert_int_equal(store_user_list(f->s, &users, &n, err), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(users[0].id, 2); /* ordered by id */
    assert_string_equal(users[0].username, "dan");
    assert_string_equal(users[0].roles, "root,support");
    assert_true(users[0].enabled);
    assert_int_equal(users[1].id, 5);
    assert_string_equal(users[1].allowed_ips, "::1");
    for (size_t i = 0; i < n; i++) assert_string_equal(users[i].encrypted_password, "");
    free(users);
    expect(store_user_list(f->s, NULL, &n, err), STORE_ERR, err, NULL);
}

static void test_set_password_and_enabled(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    store_admin_user got;
    f->s = open_ok(f);
    add_ok(f->s, 1, "alice", "root", "");

    assert_int_equal(store_user_set_password(f->s, "alice", HASH_A2, err), STORE_OK);
    assert_int_equal(store_user_get(f->s, 1, &got, err), STORE_OK);
    assert_string_equal(got.encrypted_password, HASH_A2);
    assert_int_equal(store_user_set_password(f->s, "alice", "", err), STORE_OK); /* locked out */
    assert_int_equal(store_user_get(f->s, 1, &got, err), STORE_OK);
    assert_string_equal(got.encrypted_password, "");

    assert_int_equal(store_user_set_enabled(f->s, "alice", false, err), STORE_OK);
    assert_int_equal(store_user_find(f->s, "alice", &got, err), STORE_OK);
    assert_false(got.enabled);
    assert_int_equal(store_user_set_enabled(f->s, "alice", false, err), STORE_OK); /* idempotent */
    assert_int_equal(store_user_set_enabled(f->s, "alice", true, err), STORE_OK);
    assert_int_equal(store_user_find(f->s, "alice", &got, err), STORE_OK);
    assert_true(got.enabled);
    assert_string_equal(got.roles, "root"); /* nothing else changed */

    expect(store_user_set_password(f->s, "nobody", HASH_B, err), STORE_NOT_FOUND, err,
           "user 'nobody' not found");
    expect(store_user_set_enabled(f->s, "nobody", true, err), STORE_NOT_FOUND, err,
           "user 'nobody' not found");
    expect(store_user_set_enabled(f->s, "no body", true, err), STORE_INVALID, err, "username");
    expect(store_user_set_password(f->s, "alice", NULL, err), STORE_ERR, err, NULL);
    expect(store_user_set_password(f->s, NULL, HASH_B, err), STORE_ERR, err, NULL);
}

/* A hash made by password.c is stored and read back intact, and verifies. */
static void test_real_bcrypt_hash(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "", herr[128] = "", hash[PASSWORD_HASH_MAX];
    f->s = open_ok(f);
    assert_int_equal(password_hash("correct horse", 4, hash, herr), 0);
    store_admin_user u = mkuser(0, "alice", hash, "root", "");
    assert_int_equal(store_user_add(f->s, &u, err), STORE_OK);
    store_admin_user got;
    assert_int_equal(store_user_find(f->s, "alice", &got, err), STORE_OK);
    assert_string_equal(got.encrypted_password, hash);
    assert_true(password_verify("correct horse", got.encrypted_password));
    assert_false(password_verify("wrong horse", got.encrypted_password));
}

/* ---- errors ---- */

static void test_conflicts(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);
    add_ok(f->s, 3, "alice", "root", "");
    store_admin_user u = mkuser(0, "alice", HASH_B, "other", "");
    expect(store_user_add(f->s, &u, err), STORE_CONFLICT, err, "username 'alice' already exists");
    assert_int_equal(u.id, 0); /* untouched on failure */
    u = mkuser(3, "bob", HASH_B, "root", "");
    expect(store_user_add(f->s, &u, err), STORE_CONFLICT, err, "user id 3 already exists");
    assert_int_equal(count_users(f->s), 1);
    store_admin_user got;
    assert_int_equal(store_user_get(f->s, 3, &got, err), STORE_OK);
    assert_string_equal(got.roles, "root");
}

static void test_not_found(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "", longname[400];
    store_admin_user got;
    f->s = open_ok(f);
    add_ok(f->s, 1, "alice", "root", "");
    expect(store_user_get(f->s, 2, &got, err), STORE_NOT_FOUND, err, "user 2 not found");
    /* keys that cannot exist are just not there (the login feeds untrusted input) */
    expect(store_user_get(f->s, 0, &got, err), STORE_NOT_FOUND, err, NULL);
    expect(store_user_get(f->s, -1, &got, err), STORE_NOT_FOUND, err, NULL);
    expect(store_user_find(f->s, "bob", &got, err), STORE_NOT_FOUND, err, "user 'bob' not found");
    expect(store_user_find(f->s, "", &got, err), STORE_NOT_FOUND, err, NULL);
    expect(store_user_find(f->s, "alice\n", &got, err), STORE_NOT_FOUND, err, NULL);
    assert_null(strchr(err, '\n')); /* not echoed */
    expect(store_user_find(f->s, "a b", &got, err), STORE_NOT_FOUND, err, NULL);
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    expect(store_user_find(f->s, longname, &got, err), STORE_NOT_FOUND, err, NULL);
    assert_int_equal(got.id, 0); /* cleared */
    expect(store_user_find(f->s, NULL, &got, err), STORE_ERR, err, NULL);
    expect(store_user_get(NULL, 1, &got, err), STORE_ERR, err, "not open");
    expect(store_user_get(f->s, 1, NULL, err), STORE_ERR, err, NULL);
}

static void test_invalid_usernames(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    static const char *const bad[] = {
        "",
        "a b",
        " alice",
        "alice ",
        "a,b",
        "tab\there",
        "nl\n",
        "del\x7f",
        "bad \xff utf8",
        "overlong \xc0\xaf",
        "c1\xc2\x85",
        "nbsp\xc2\xa0",
        "zw\xe2\x80\x8b",
        "bidi\xe2\x80\xae",
        "ideo\xe3\x80\x80",
        "bom\xef\xbb\xbf",
    };
    f->s = open_ok(f);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        store_admin_user u = mkuser(0, bad[i], HASH_B, "root", "");
        store_status st = store_user_add(f->s, &u, err);
        if (st != STORE_INVALID) fail_msg("username #%zu: status %d (%s)", i, st, err);
        assert_non_null(strstr(err, "username"));
    }
    store_admin_user u = mkuser(0, "x", HASH_B, "root", "");
    memset(u.username, 'a', sizeof u.username); /* 256 bytes, unterminated */
    expect(store_user_add(f->s, &u, err), STORE_INVALID, err, "longer than 255");
    assert_int_equal(count_users(f->s), 0);

    u.username[255] = '\0'; /* exactly 255 is fine */
    assert_int_equal(store_user_add(f->s, &u, err), STORE_OK);
    add_ok(f->s, 0, "Олександр", "root", ""); /* UTF-8 letters are fine */
    add_ok(f->s, 0, "ops@example.org", "root", "");
    add_ok(f->s, 0, "o'brien", "root", "");
    assert_int_equal(count_users(f->s), 4);
    expect(store_username_validate("a,b", err), STORE_INVALID, err, "commas");
    assert_int_equal(store_username_validate("admin", err), STORE_OK);
}

static void test_invalid_roles(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "", role65[80];
    memset(role65, 'r', 65);
    role65[65] = '\0';
    const char *const bad[] = {"", " , ,", "a b", "root;drop", "rôle", "x\ty", role65, "a,b c"};
    f->s = open_ok(f);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        store_admin_user u = mkuser(0, "alice", HASH_B, bad[i], "");
        store_status st = store_user_add(f->s, &u, err);
        if (st != STORE_INVALID) fail_msg("roles '%s': status %d (%s)", bad[i], st, err);
        assert_non_null(strstr(err, "role"));
    }
    store_admin_user u = mkuser(0, "alice", HASH_B, "x", "");
    memset(u.roles, 'a', sizeof u.roles); /* unterminated */
    expect(store_user_add(f->s, &u, err), STORE_INVALID, err, "roles are longer than");
    assert_int_equal(count_users(f->s), 0);
    role65[64] = '\0'; /* 64 is fine */
    add_ok(f->s, 0, "alice", role65, "");
}

static void test_roles_normalised(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);
    store_admin_user u = mkuser(0, "alice", HASH_B, " root , support,root,,\tread-only ,Root", "");
    assert_int_equal(store_user_add(f->s, &u, err), STORE_OK);
    assert_string_equal(u.roles, "root,support,read-only,Root"); /* written back */
    store_admin_user got;
    assert_int_equal(store_user_get(f->s, u.id, &got, err), STORE_OK);
    assert_string_equal(got.roles, "root,support,read-only,Root");

    store_admin_user n = mkuser(0, "bob", "", "a_b,,a_b", "");
    assert_int_equal(store_user_normalize(&n, err), STORE_OK); /* no store needed */
    assert_string_equal(n.roles, "a_b");
}

static void test_invalid_ips(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    static const char *const bad[] = {
        "10.0.0.0/33", "garbage",      "1.2.3.4/",   "::g",           "10.0.0.1/8x",
        "[::1]",       "fe80::1%eth0", "1.2.3",      "10.0.0.0/-1",   "::/129",
        "10.0.0.1,x",  "localhost",    "1.2.3.4:80", "10.0.0.0/0008", "\x01\x02",
    };
    f->s = open_ok(f);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        store_admin_user u = mkuser(0, "alice", HASH_B, "root", bad[i]);
        store_status st = store_user_add(f->s, &u, err);
        if (st != STORE_INVALID) fail_msg("allowed_ips #%zu: status %d (%s)", i, st, err);
        assert_non_null(strstr(err, "allowed_ips"));
        for (const char *p = err; *p; p++) assert_true(*p >= 0x20); /* nothing raw echoed */
    }
    store_admin_user u = mkuser(0, "alice", HASH_B, "root", "");
    memset(u.allowed_ips, '1', sizeof u.allowed_ips); /* unterminated */
    expect(store_user_add(f->s, &u, err), STORE_INVALID, err, "longer than");
    assert_int_equal(count_users(f->s), 0);
}

static void test_ips_normalised(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);
    store_admin_user u =
        mkuser(0, "alice", HASH_B, "root",
               " 10.0.0.1/08 ,2001:DB8:0:0::/32\t192.0.2.1  10.0.0.1/8,,::1\n::FFFF:10.1.2.3/120");
    assert_int_equal(store_user_add(f->s, &u, err), STORE_OK);
    const char *want = "10.0.0.1/8,2001:db8::/32,192.0.2.1,::1,::ffff:10.1.2.3/120";
    assert_string_equal(u.allowed_ips, want);
    store_admin_user got;
    assert_int_equal(store_user_find(f->s, "alice", &got, err), STORE_OK);
    assert_string_equal(got.allowed_ips, want);

    u = mkuser(0, "bob", HASH_B, "root", " , ,\t");
    assert_int_equal(store_user_add(f->s, &u, err), STORE_OK);
    assert_string_equal(u.allowed_ips, ""); /* any address */
}

static void test_invalid_hashes(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    static const char *const bad[] = {
        "plaintext-password",
        "$2x$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",  /* $2x$ */
        "$2b$03$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",  /* cost 3 */
        "$2b$32$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",  /* cost 32 */
        "$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ0123",   /* 59 */
        "$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ012345", /* 61 */
        "$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ0123!",  /* bad char */
        "$1$saltsalt$0123456789012345678901",                            /* md5-crypt */
        "*0",
    };
    f->s = open_ok(f);
    add_ok(f->s, 1, "alice", "root", "");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        store_admin_user u = mkuser(0, "bob", bad[i], "root", "");
        store_status st = store_user_add(f->s, &u, err);
        if (st != STORE_INVALID) fail_msg("hash #%zu: status %d (%s)", i, st, err);
        assert_non_null(strstr(err, "encrypted_password"));
        assert_null(strstr(err, bad[i])); /* never echoed */
        assert_null(strstr(err, "abcdefghij"));
        expect(store_user_set_password(f->s, "alice", bad[i], err), STORE_INVALID, err, "bcrypt");
        assert_null(strstr(err, bad[i]));
    }
    store_admin_user u = mkuser(0, "bob", HASH_B, "root", "");
    memset(u.encrypted_password, 'a', sizeof u.encrypted_password); /* unterminated */
    expect(store_user_add(f->s, &u, err), STORE_INVALID, err, "encrypted_password");
    assert_int_equal(count_users(f->s), 1);

    /* both Devise prefixes, and "" (cannot log in), are accepted; $2y$ is not */
    store_admin_user a = mkuser(0, "h_a", HASH_A, "r", ""), y = mkuser(0, "h_y", HASH_A2, "r", ""),
                     e = mkuser(0, "h_e", "", "r", ""),
                     yy = mkuser(0, "h_yy", "$2y$04$zzzzzzzzzzzzzzzzzzzzzu0123456789abcdefghijklmnopqrstu",
                                 "r", "");
    assert_int_equal(store_user_add(f->s, &a, err), STORE_OK);
    assert_int_equal(store_user_add(f->s, &y, err), STORE_OK);
    expect(store_user_add(f->s, &yy, err), STORE_INVALID, err, "encrypted_password");
    assert_int_equal(store_user_add(f->s, &e, err), STORE_OK);
    store_admin_user got;
    assert_int_equal(store_user_find(f->s, "alice", &got, err), STORE_OK);
    assert_string_equal(got.encrypted_password, HASH_B); /* failed updates changed nothing */
}

static void test_normalize_checks(void **state)
{
    char err[STORE_ERR_LEN] = "";
    store_admin_user u = mkuser(-1, "alice", HASH_B, "root", "");
    expect(store_user_normalize(&u, err), STORE_INVALID, err, "user id");
    expect(store_user_normalize(NULL, err), STORE_ERR, err, NULL);
    u = mkuser(0, "alice", HASH_B, "root", "");
    expect(store_user_add(NULL, &u, err), STORE_ERR, err, "not open");
    u = mkuser(7, "alice", "", " a ", " 10.0.0.1 ");
    assert_int_equal(store_user_normalize(&u, err), STORE_OK);
    assert_string_equal(u.roles, "a");
    assert_string_equal(u.allowed_ips, "10.0.0.1");
}

/* Quotes, backslashes, SQL and format metacharacters are data, not code. */
static void test_injection_stored_verbatim(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    static const char *const names[] = {
        "x');DROP/**/TABLE/**/gui_admin_users;--",
        "\"quoted\"'single'`back`\\%s%n;--/**/",
        "'OR'1'='1",
    };
    f->s = open_ok(f);
    for (size_t i = 0; i < 3; i++) add_ok(f->s, 0, names[i], "root", "");
    store_admin_user got;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(store_user_find(f->s, names[i], &got, err), STORE_OK);
        assert_string_equal(got.username, names[i]);
        assert_int_equal(got.id, (int64_t)i + 1);
        assert_int_equal(store_user_set_enabled(f->s, names[i], false, err), STORE_OK);
    }
    expect(store_user_find(f->s, "'OR'1'='2", &got, err), STORE_NOT_FOUND, err, NULL);
    assert_int_equal(count_users(f->s), 3);
    store_admin_user dup = mkuser(0, names[0], HASH_B, "root", "");
    expect(store_user_add(f->s, &dup, err), STORE_CONFLICT, err, "DROP/**/TABLE");
    assert_int_equal(raw_int(f->path,
                             tpg_is_uri(f->path) ? "SELECT count(*) FROM gui_admin_users WHERE NOT enabled"
                                                 : "SELECT count(*) FROM gui_admin_users WHERE enabled = 0"),
                     3);
}

/* Rows written by someone else come back as stored, or as a clean error. */
static void test_rows_edited_by_hand(void **state)
{
    TPG_SQLITE_ONLY();
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);
    store_close(f->s);
    f->s = NULL;
    raw_exec(f->path,
             "INSERT INTO gui_admin_users (id, username) VALUES (4, 'defaults');"
             "INSERT INTO gui_admin_users (id, username, roles, allowed_ips)"
             " VALUES (5, 'odd', 'x y', 'not-an-ip');"
             "INSERT INTO gui_admin_users (id, username, encrypted_password)"
             " VALUES (6, 'huge', printf('%.200c', 'h'));");
    f->s = open_ok(f);
    store_admin_user got;
    assert_int_equal(store_user_get(f->s, 4, &got, err), STORE_OK);
    assert_true(got.enabled); /* column defaults */
    assert_string_equal(got.encrypted_password, "");
    assert_string_equal(got.roles, "");
    assert_string_equal(got.allowed_ips, "");
    assert_int_equal(store_user_find(f->s, "odd", &got, err), STORE_OK);
    assert_string_equal(got.allowed_ips, "not-an-ip"); /* guard.c refuses such a user */
    expect(store_user_get(f->s, 6, &got, err), STORE_ERR, err, "too long");
    store_admin_user *users = NULL;
    size_t n = 0;
    expect(store_user_list(f->s, &users, &n, err), STORE_OK, err, NULL); /* hash not read */
    assert_int_equal(n, 3);
    free(users);
}

/* PostgreSQL only: rows written by yeti itself, with its native types —
 * varchar[] roles, inet[] allowed_ips (NULL, host addresses, IPv6) —
 * come back as the store's canonical text. */
static void test_yeti_typed_columns(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    if (!tpg_is_uri(f->path)) {
        skip();
        return;
    }
    f->s = open_ok(f);
    raw_exec(f->path,
             "INSERT INTO gui_admin_users (id, username, roles, allowed_ips) VALUES"
             " (4, 'defaults', DEFAULT, NULL),"
             " (5, 'typed', ARRAY['root','x y']::varchar[],"
             "  ARRAY['10.0.0.0/8','192.168.1.1/32','2001:DB8::/32','::1']::inet[]);"
             "INSERT INTO gui_admin_users (id, username, encrypted_password, enabled)"
             " VALUES (6, 'huge', repeat('h', 200), false);");
    store_admin_user got;
    assert_int_equal(store_user_get(f->s, 4, &got, err), STORE_OK);
    assert_true(got.enabled);
    assert_string_equal(got.roles, "");
    assert_string_equal(got.allowed_ips, "");
    assert_int_equal(store_user_find(f->s, "typed", &got, err), STORE_OK);
    assert_string_equal(got.roles, "root,x y");
    assert_string_equal(got.allowed_ips, "10.0.0.0/8,192.168.1.1,2001:db8::/32,::1");
    expect(store_user_get(f->s, 6, &got, err), STORE_ERR, err, "too long");
    /* and what the store writes is yeti's types */
    add_ok(f->s, 7, "bob", "root,support", "10.0.0.1/8, 2001:db8::1");
    assert_int_equal(raw_int(f->path,
                             "SELECT count(*) FROM gui_admin_users WHERE id = 7"
                             " AND roles = ARRAY['root','support']::varchar[]"
                             " AND allowed_ips = ARRAY['10.0.0.1/8','2001:db8::1']::inet[]"),
                     1);
}

/* A file made by a build that knew only migration 1 gains the users table
 * and keeps its pops and nodes. */
static void test_migration_from_v1(void **state)
{
    TPG_SQLITE_ONLY();
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    raw_exec(f->path,
             "BEGIN;" SQLITE_SCHEMA_V1 "INSERT INTO sys_pops VALUES (1, 'Kyiv'), (2, 'Amsterdam');"
             "INSERT INTO sys_nodes VALUES (7, 'sw7', '127.0.0.1:7080', 2);"
             "PRAGMA user_version = 1;"
             "COMMIT;");
    assert_int_equal(raw_int(f->path,
                             "SELECT count(*) FROM sqlite_master"
                             " WHERE name = 'gui_admin_users'"),
                     0);

    f->s = open_ok(f);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 4); /* 2, 3, then 4 */
    assert_int_equal(raw_int(f->path,
                             "SELECT count(*) FROM pragma_table_info('gui_admin_users')"
                             " WHERE name IN ('id', 'username', 'encrypted_password',"
                             " 'enabled', 'roles', 'allowed_ips')"),
                     6);
    store_pop p;
    assert_int_equal(store_pop_get(f->s, 2, &p, err), STORE_OK);
    assert_string_equal(p.name, "Amsterdam");
    store_node nd;
    assert_int_equal(store_node_get(f->s, 7, &nd, err), STORE_OK);
    assert_string_equal(nd.rpc_endpoint, "127.0.0.1:7080");
    assert_int_equal(nd.pop_id, 2);
    assert_int_equal(count_users(f->s), 0);
    assert_int_equal(add_ok(f->s, 0, "alice", "root", ""), 1);

    store_close(f->s); /* and a second open migrates nothing more */
    f->s = open_ok(f);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 4);
    assert_int_equal(count_users(f->s), 1);
}

/* Migration 2 fails cleanly on a v1 file that already has such a table. */
static void test_migration_2_conflict(void **state)
{
    TPG_SQLITE_ONLY();
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);
    store_close(f->s);
    f->s = NULL;
    raw_exec(f->path,
             "DROP TABLE gui_admin_users; CREATE TABLE gui_admin_users (x TEXT);"
             "PRAGMA user_version = 1;");
    assert_null(store_open(f->path, err));
    if (!strstr(err, "migration 2")) fail_msg("message: %s", err);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 1); /* rolled back */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_add_get_find),
        T(test_list_hides_hashes),
        T(test_set_password_and_enabled),
        T(test_real_bcrypt_hash),
        T(test_conflicts),
        T(test_not_found),
        T(test_invalid_usernames),
        T(test_invalid_roles),
        T(test_roles_normalised),
        T(test_invalid_ips),
        T(test_ips_normalised),
        T(test_invalid_hashes),
        T(test_normalize_checks),
        T(test_injection_stored_verbatim),
        T(test_rows_edited_by_hand),
        T(test_yeti_typed_columns),
        T(test_migration_from_v1),
        T(test_migration_2_conflict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
