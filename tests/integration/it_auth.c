/* it_auth: admin login and JWT authorization (docs/CONTRACT.md §5-§6) through
 * the real binaries:
 *
 * - POST /api/rest/admin/auth: success (the token checked by an HMAC that
 *   openssl computes), lifetimes, every failure (wrong password, unknown
 *   user, disabled user, address outside allowed_ips), malformed bodies and
 *   media types;
 * - a token minted here, independently of the server, accepted in each of
 *   the three places a token may travel;
 * - every refusal of a token (401, empty body, the common headers);
 * - trusted and untrusted proxies (X-Forwarded-For);
 * - throttling of failed logins per (username, address) and per address
 *   (IPv6: /64), what a success clears, and that no address can lock a user
 *   out of another;
 * - roles: root, the policy file's section and Default, unknown roles, no
 *   policy file; policy file errors; serve refusing to start without a good
 *   secret.
 *
 * The servers listen on 127.0.0.1 (and [::1] once); nothing else is
 * contacted. The harness checks at every h_stop that the server's log holds
 * no password, secret or token (see harness.h). */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LISTING "/api/rest/admin/active-calls"
#define ONE_CALL LISTING "/1*x"
#define INVALID "Invalid username or password."
#define AUTH_FAILED "Authentication failed"
#define UUID4_RE "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"

#define PW_ALICE "alice-pw-Qz81mK"
#define PW_BOB "bob-pw-Lw62nR"
#define PW_WRONG "wrong-pw-Xc40pT"
#define PW_USER "user-pw-Hd93vB" /* for users of one test only */

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static long long now_s(void) { return (long long)time(NULL); }

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *bearer(const char *token) { return h_strf("Authorization: Bearer %s", token); }

/* GET path with exactly this Authorization header (NULL: none) and extra
 * header (may be NULL). */
static h_response *get_as(const h_proc *s, const char *path, const char *auth, const char *extra)
{
    /* an extra Accept replaces the default one (curl would send both) */
    bool own_accept = extra != NULL && strncasecmp(extra, "Accept:", 7) == 0;
    const char *hdrs[] = {own_accept ? extra : "Accept: application/vnd.api+json", auth ? auth : H_NO_AUTH,
                          own_accept ? NULL : extra, NULL};
    return h_http("GET", h_url(s, path), hdrs, NULL);
}

static h_response *request_as(const h_proc *s, const char *method, const char *path, const char *auth)
{
    const char *hdrs[] = {"Accept: application/vnd.api+json", auth ? auth : H_NO_AUTH, NULL};
    return h_http(method, h_url(s, path), hdrs, NULL);
}

/* The listing with this token as a Bearer header. */
static h_response *list_with(const h_proc *s, const char *token)
{
    return get_as(s, LISTING, bearer(token), NULL);
}

/* The common headers of docs/API.md, present once each. */
static void expect_common_headers(const h_response *r)
{
    static const char *const fixed[][2] = {
        {"vary", "Accept"},
        {"cache-control", "max-age=0, private, must-revalidate"},
        {"x-frame-options", "SAMEORIGIN"},
        {"x-xss-protection", "0"},
        {"x-content-type-options", "nosniff"},
        {"x-permitted-cross-domain-policies", "none"},
        {"referrer-policy", "strict-origin-when-cross-origin"},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        const char *v = h_header_value(r, fixed[i][0]);
        if (v == NULL || h_header_count(r, fixed[i][0]) != 1 || strcmp(v, fixed[i][1]) != 0)
            fail_msg("%s (status %ld): %s is \"%s\" (%zu times), expected \"%s\" once", r->url, r->status,
                     fixed[i][0], v ? v : "<absent>", h_header_count(r, fixed[i][0]), fixed[i][1]);
    }
    const char *rid = h_header_value(r, "x-request-id");
    const char *rt = h_header_value(r, "x-runtime");
    if (!h_matches(rid, "^[A-Za-z0-9._-]{1,200}$") || h_header_count(r, "x-request-id") != 1)
        fail_msg("%s (status %ld): x-request-id \"%s\"", r->url, r->status, rid ? rid : "<absent>");
    if (!h_matches(rt, "^[0-9]+\\.[0-9]{6}$") || h_header_count(r, "x-runtime") != 1)
        fail_msg("%s (status %ld): x-runtime \"%s\"", r->url, r->status, rt ? rt : "<absent>");
}

/* docs/CONTRACT.md §5: a refused token is a 401 with an empty body, with the common
 * headers and no content-type. */
static void expect_401_empty(const h_response *r, const char *what)
{
    if (r->status != 401 || r->body_len != 0)
        fail_msg("%s: %s: status %ld with a %zu-byte body, expected 401 with an empty body: "
                 "%.500s",
                 what, r->url, r->status, r->body_len, r->body);
    if (h_header_value(r, "content-type") != NULL)
        fail_msg("%s: %s: 401 with content-type \"%s\" and no body", what, r->url,
                 h_header_value(r, "content-type"));
    expect_common_headers(r);
}

/* The empty listing (no nodes in these tests). */
static void expect_ok(const h_response *r, const char *what)
{
    if (r->status != 200)
        fail_msg("%s: %s: status %ld, expected 200; body: %.500s", what, r->url, r->status, r->body);
    h_assert_listing(r, "", NULL);
}

/* A failed login: 401, exactly one error {title "Authentication failed",
 * detail, code "401", status "401"} (detail NULL = any), JSON:API type. */
static void expect_login_failed(const h_response *r, const char *detail)
{
    h_assert_error(r, 401, 0, AUTH_FAILED, detail, "401");
    assert_int_equal(h_error_count(r), 1);
    const char *ct = h_header_value(r, "content-type");
    if (ct == NULL || strcmp(ct, "application/vnd.api+json") != 0)
        fail_msg("%s: failed login with content-type \"%s\"", r->url, ct ? ct : "<absent>");
    expect_common_headers(r);
}

/* errors[0] of an error document (asserting there is one with this status). */
static json_t *first_error(const h_response *r, long status)
{
    if (r->status != status)
        fail_msg("%s: status %ld, expected %ld; body: %.1000s", r->url, r->status, status, r->body);
    if (h_error_count(r) < 1) fail_msg("%s: status %ld with an empty errors array", r->url, r->status);
    json_t *e = json_array_get(json_object_get(h_json(r), "errors"), 0);
    const char *st = json_string_value(json_object_get(e, "status"));
    if (st == NULL || strcmp(st, h_strf("%ld", status)) != 0)
        fail_msg("%s: errors[0].status is %s, expected \"%ld\"", r->url, st ? st : "<absent>", status);
    return e;
}

/* 429 with a Retry-After of 1..max_s seconds. */
static void expect_429(const h_response *r, int max_s, const char *what)
{
    if (r->status != 429) fail_msg("%s: status %ld, expected 429; body: %.500s", what, r->status, r->body);
    first_error(r, 429);
    const char *ra = h_header_value(r, "retry-after");
    if (ra == NULL || !h_matches(ra, "^[0-9]+$") || atoi(ra) < 1 || atoi(ra) > max_s)
        fail_msg("%s: Retry-After is \"%s\", expected 1..%d seconds", what, ra ? ra : "<absent>", max_s);
    expect_common_headers(r);
}

/* {"sub":SUB,"aud":["admin"],"exp":now+ttl} */
static const char *claims(long long sub, long long ttl)
{
    return h_strf("{\"sub\":%lld,\"aud\":[\"admin\"],\"exp\":%lld}", sub, now_s() + ttl);
}

/* A token for sub from the independent minter, valid for 5 minutes. */
static const char *mint_for(long long sub) { return h_jwt_hs256(claims(sub, 300)); }

/* Loops over many cases report every case that fails, then fail once. */
static char problems[16384];

#define PROBLEM(...)                                                \
    do {                                                            \
        size_t l_ = strlen(problems);                               \
        snprintf(problems + l_, sizeof problems - l_, __VA_ARGS__); \
        l_ = strlen(problems);                                      \
        snprintf(problems + l_, sizeof problems - l_, "\n");        \
    } while (0)

static void no_problems(void)
{
    if (problems[0] != '\0') {
        fprintf(stderr, "%s", problems);
        problems[0] = '\0';
        fail_msg("see the cases above");
    }
}

static void stop(h_proc *p) { assert_int_equal(h_stop(p), 0); }

/* ------------------------------------------------------------------ */
/* login                                                               */

/* Checks a server-issued token: header, claims, signature. */
static void check_issued(const char *jwt, long long sub, long long t0, long long t1, long long lifetime)
{
    const char *header = h_jwt_part_text(jwt, 0);
    if (header == NULL || strcmp(header, "{\"alg\":\"HS256\"}") != 0)
        fail_msg("token header is %s, expected exactly {\"alg\":\"HS256\"}",
                 header ? header : "<not base64url>");
    json_t *p = h_jwt_part(jwt, 1);
    if (p == NULL || !json_is_object(p))
        fail_msg("token payload is not a JSON object: %s", h_jwt_part_text(jwt, 1));
    json_t *s = json_object_get(p, "sub");
    if (!json_is_integer(s) || json_integer_value(s) != sub)
        fail_msg("token payload %s: sub is not %lld", h_jwt_part_text(jwt, 1), sub);
    json_t *aud = json_pack("[s]", "admin");
    bool aud_ok = json_equal(json_object_get(p, "aud"), aud);
    json_decref(aud);
    if (!aud_ok) fail_msg("token payload %s: aud is not [\"admin\"]", h_jwt_part_text(jwt, 1));
    json_t *exp = json_object_get(p, "exp");
    if (!json_is_integer(exp) || json_object_size(p) != 3)
        fail_msg("token payload %s: expected sub, aud and an integer exp", h_jwt_part_text(jwt, 1));
    long long e = json_integer_value(exp);
    if (e < t0 + lifetime - 1 || e > t1 + lifetime + 1)
        fail_msg("token exp %lld, expected %lld..%lld (now + %lld s)", e, t0 + lifetime, t1 + lifetime,
                 lifetime);
    if (!h_jwt_signature_ok(jwt, h_secret()))
        fail_msg("the token's signature is not HMAC-SHA256(secret, header.payload) as "
                 "openssl computes it: %s",
                 jwt);
    /* Byte for byte what an independent minter makes of the same claims. */
    const char *again = h_jwt_hs256(h_jwt_part_text(jwt, 1));
    if (strcmp(again, jwt) != 0) fail_msg("server token %s differs from the openssl-minted %s", jwt, again);
}

static void test_login_success(void **state)
{
    const char *db = h_db_path();
    int64_t id = h_add_user(db, "alice", PW_ALICE, "root", NULL);
    h_proc *s = h_start_server(db, NULL);

    long long t0 = now_s();
    h_response *r = h_login(s, "alice", PW_ALICE, NULL);
    long long t1 = now_s();
    assert_int_equal(r->status, 201);
    const char *ct = h_header_value(r, "content-type");
    if (ct == NULL || strcmp(ct, "application/json") != 0)
        fail_msg("login: content-type \"%s\", expected application/json", ct ? ct : "<absent>");
    expect_common_headers(r);
    json_t *doc = h_json(r);
    assert_string_equal(h_keys(doc), "jwt");
    const char *jwt = json_string_value(json_object_get(doc, "jwt"));
    assert_non_null(jwt);
    check_issued(jwt, id, t0, t1, 600);
    expect_ok(list_with(s, jwt), "alice's token");

    /* The JSON:API media type is taken too (and a client that accepts only
     * what the login answers). */
    const char *body = "{\"auth\":{\"username\":\"alice\",\"password\":\"" PW_ALICE "\"}}";
    const char *hdrs[] = {"Content-Type: application/vnd.api+json", "Accept: application/json", NULL};
    t0 = now_s();
    r = h_post_auth(s, hdrs, body);
    t1 = now_s();
    assert_int_equal(r->status, 201);
    jwt = json_string_value(json_object_get(h_json(r), "jwt"));
    assert_non_null(jwt);
    h_sensitive(jwt);
    check_issued(jwt, id, t0, t1, 600);
    expect_ok(list_with(s, jwt), "alice's second token");

    /* One log line per login: the harness's admin login and these two. */
    assert_int_equal(h_log_count(s, "msg=login result=ok"), 3);
    stop(s);
}

static void test_login_lifetime(void **state)
{
    const char *db = h_db_path();
    int64_t id = h_add_user(db, "alice", PW_ALICE, "root", NULL);

    /* Another lifetime: exp = now + it (a lifetime of 0 is refused:
     * test_token_lifetime_zero). */
    h_proc *s = h_start_server(db, "--token-lifetime", "7200", NULL);
    long long t0 = now_s();
    const char *jwt = h_login_token(s, "alice", PW_ALICE);
    check_issued(jwt, id, t0, now_s(), 7200);
    expect_ok(list_with(s, jwt), "token with a 2 h lifetime");
    stop(s);
}

static void test_login_wrong_password(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "alice", PW_ALICE, "root", NULL);
    /* bcrypt reads 72 bytes: each of them counts */
    char pw72[73];
    memset(pw72, 'L', 72);
    pw72[72] = '\0';
    h_add_user(db, "long", pw72, "root", NULL);
    h_proc *s = h_start_server(db, "--login-max-failures", "10", NULL);

    expect_login_failed(h_login(s, "alice", PW_WRONG, NULL), INVALID);
    expect_login_failed(h_login(s, "alice", "", NULL), INVALID);
    expect_login_failed(h_login(s, "alice", PW_ALICE "x", NULL), INVALID);
    expect_login_failed(h_login(s, "Alice", PW_ALICE, NULL), INVALID);
    char pw72_last[73];
    memcpy(pw72_last, pw72, sizeof pw72);
    pw72_last[71] = 'M';
    expect_login_failed(h_login(s, "long", pw72_last, NULL), INVALID);
    expect_login_failed(h_login(s, "long", pw72 + 1, NULL), INVALID);
    assert_int_equal(h_log_count(s, "msg=login result=fail"), 6);
    /* The right ones still work (6 failures, under this server's limit). */
    h_login_token(s, "long", pw72);
    h_login_token(s, "alice", PW_ALICE);
    /* ... and, as with Devise (bcrypt-ruby cuts a password to its first 72
     * bytes), so does the right one followed by anything */
    h_login_token(s, "long", h_strf("%sx", pw72));
    h_login_token(s, "long", h_strf("%s%s%s", pw72, pw72, pw72));
    stop(s);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_login_unknown_user(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "alice", PW_ALICE, "root", NULL);
    h_proc *s = h_start_server(db, "--login-max-failures", "100", NULL);

    h_response *unknown = h_login(s, "nobody", PW_ALICE, NULL);
    expect_login_failed(unknown, INVALID);
    h_response *wrong = h_login(s, "alice", PW_WRONG, NULL);
    expect_login_failed(wrong, INVALID);
    /* Indistinguishable documents. */
    if (!json_equal(h_json(unknown), h_json(wrong)))
        fail_msg("unknown user and wrong password answer differently:\n  %s\n  %s", unknown->body,
                 wrong->body);

    /* And about the same time: the unknown user is checked against a dummy
     * hash (median of 3 each; bcrypt's cost dominates both). */
    double tu[3], tw[3];
    for (int i = 0; i < 3; i++) {
        h_response *a = h_login(s, "nobody-else", PW_WRONG, NULL);
        h_response *b = h_login(s, "alice", PW_WRONG, NULL);
        expect_login_failed(a, INVALID);
        expect_login_failed(b, INVALID);
        tu[i] = a->elapsed_ms;
        tw[i] = b->elapsed_ms;
    }
    qsort(tu, 3, sizeof tu[0], cmp_double);
    qsort(tw, 3, sizeof tw[0], cmp_double);
    fprintf(stderr, "note: median login time: unknown user %.1f ms, wrong password %.1f ms\n", tu[1], tw[1]);
    if (tu[1] < 0.5 * tw[1])
        fail_msg("an unknown user is answered in %.1f ms, a wrong password in %.1f ms: the "
                 "difference tells which usernames exist",
                 tu[1], tw[1]);
    stop(s);
}

static void test_login_disabled_user(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "alice", PW_ALICE, "root", NULL);
    h_set_user_enabled(db, "alice", false);
    h_proc *s = h_start_server(db, NULL);

    expect_login_failed(h_login(s, "alice", PW_ALICE, NULL), INVALID);
    h_set_user_enabled(db, "alice", true);
    h_login_token(s, "alice", PW_ALICE);
    h_set_user_enabled(db, "alice", false);
    expect_login_failed(h_login(s, "alice", PW_ALICE, NULL), INVALID);
    stop(s);
}

static void test_login_address_not_allowed(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "ten", PW_ALICE, "root", "10.0.0.0/8");
    h_add_user(db, "loop", PW_BOB, "root", "127.0.0.0/8");
    h_add_user(db, "listed", PW_USER, "root", "192.168.0.0/16, 127.0.0.1");
    h_proc *s = h_start_server(db, NULL);

    /* The right password from 127.0.0.1: refused, and the detail names it. */
    h_response *r = h_login(s, "ten", PW_ALICE, NULL);
    expect_login_failed(r, NULL);
    const char *detail = json_string_value(json_object_get(first_error(r, 401), "detail"));
    if (strstr(detail, "127.0.0.1") == NULL || strstr(detail, "not allowed") == NULL)
        fail_msg("detail \"%s\" does not name 127.0.0.1 as not allowed", detail);
    /* A wrong password says nothing about addresses. */
    expect_login_failed(h_login(s, "ten", PW_WRONG, NULL), INVALID);

    h_login_token(s, "loop", PW_BOB);
    h_login_token(s, "listed", PW_USER);
    stop(s);
}

static void test_login_malformed(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "alice", PW_ALICE, "root", NULL);
    h_proc *s = h_start_server(db, NULL);

    char *big = malloc(9 * 1024 + 1);
    assert_non_null(big);
    const char *head = "{\"auth\":{\"username\":\"alice\",\"password\":\"";
    size_t hl = strlen(head);
    memcpy(big, head, hl);
    memset(big + hl, 'p', 9 * 1024 - hl - 3);
    memcpy(big + 9 * 1024 - 3, "\"}}", 4);
    const char *nine_k = h_strf("%s", big);
    free(big);
    assert_int_equal(strlen(nine_k), 9 * 1024);

    const char *const bodies[][2] = {
        {"not JSON", "hello"},
        {"truncated JSON", "{\"auth\":{\"username\":\"alice\""},
        {"empty body", ""},
        {"an array", "[]"},
        {"empty object", "{}"},
        {"auth not an object", "{\"auth\":\"alice\"}"},
        {"no auth wrapper", "{\"username\":\"alice\",\"password\":\"" PW_ALICE "\"}"},
        {"missing password", "{\"auth\":{\"username\":\"alice\"}}"},
        {"missing username", "{\"auth\":{\"password\":\"" PW_ALICE "\"}}"},
        {"numeric password", "{\"auth\":{\"username\":\"alice\",\"password\":12345}}"},
        {"null password", "{\"auth\":{\"username\":\"alice\",\"password\":null}}"},
        {"array username", "{\"auth\":{\"username\":[\"alice\"],\"password\":\"x\"}}"},
        {"9 KiB body", nine_k},
    };
    const char *json_ct[] = {"Content-Type: application/json", NULL};
    problems[0] = '\0';
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        h_response *r = h_post_auth(s, json_ct, bodies[i][1]);
        if (r->status != 400) {
            PROBLEM("%s: status %ld, expected 400: %.300s", bodies[i][0], r->status, r->body);
            continue;
        }
        first_error(r, 400);
        expect_common_headers(r);
    }
    no_problems();

    /* A body of exactly 8 KiB is read (a wrong password, not a 400). */
    char *eight = malloc(8 * 1024 + 1);
    assert_non_null(eight);
    memcpy(eight, head, hl);
    memset(eight + hl, 'q', 8 * 1024 - hl - 3);
    memcpy(eight + 8 * 1024 - 3, "\"}}", 4);
    const char *eight_k = h_strf("%s", eight);
    free(eight);
    assert_int_equal(strlen(eight_k), 8 * 1024);
    expect_login_failed(h_post_auth(s, json_ct, eight_k), INVALID);

    /* A media type that is neither JSON nor JSON:API. */
    const char *text_ct[] = {"Content-Type: text/plain", NULL};
    h_response *r =
        h_post_auth(s, text_ct, "{\"auth\":{\"username\":\"alice\",\"password\":\"" PW_ALICE "\"}}");
    h_assert_error(r, 415, 0, "Unsupported media type", NULL, "415");

    /* The server lives on and logs in. */
    h_login_token(s, "alice", PW_ALICE);
    stop(s);
}

static void test_user_passwd(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "alice", PW_ALICE, "root", NULL);
    h_proc *s = h_start_server(db, NULL);
    h_login_token(s, "alice", PW_ALICE);

    const char *pw2 = "alice-new-pw-Tr55wE";
    h_sensitive(pw2);
    char *out, *err;
    int rc = h_cli_input(h_strf("%s\n", pw2), &out, &err, "user", "passwd", "--username", "alice", "--db", db,
                         NULL);
    if (rc != 0) fail_msg("user passwd: exit %d\nstdout: %s\nstderr: %s", rc, out, err);
    if (strstr(out, pw2) != NULL || strstr(err, pw2) != NULL)
        fail_msg("user passwd printed the password\nstdout: %s\nstderr: %s", out, err);
    expect_login_failed(h_login(s, "alice", PW_ALICE, NULL), INVALID);
    h_login_token(s, "alice", pw2);

    /* `user list` shows the user, never a hash. */
    rc = h_cli(&out, &err, "user", "list", "--db", db, NULL);
    assert_int_equal(rc, 0);
    if (strstr(out, "\talice\t") == NULL || strstr(out, "$2") != NULL) fail_msg("user list:\n%s", out);
    stop(s);
}

/* ------------------------------------------------------------------ */
/* a token minted here                                                 */

static void test_independent_token(void **state)
{
    const char *db = h_db_path();
    int64_t id = h_add_user(db, "alice", PW_ALICE, "root", NULL);
    h_proc *s = h_start_server(db, NULL);

    const char *tok = mint_for(id);
    expect_ok(get_as(s, LISTING, h_strf("Authorization: Bearer %s", tok), NULL), "Bearer");
    expect_ok(get_as(s, LISTING, h_strf("Authorization: %s", tok), NULL), "bare");
    expect_ok(get_as(s, h_strf(LISTING "?token=%s", tok), NULL, NULL), "?token=");
    /* The listing ignores the token parameter among its filters. */
    expect_ok(get_as(s, h_strf(LISTING "?filter[node-id-eq]=1&token=%s", tok), NULL, NULL),
              "?filter...&token=");
    expect_ok(get_as(s, h_strf(LISTING "?token=%s", tok), bearer(tok), NULL), "both header and parameter");
    /* With an nbf already reached. */
    expect_ok(list_with(s,
                        h_jwt_hs256(h_strf("{\"sub\":%lld,\"aud\":[\"admin\"],\"nbf\":%lld,"
                                           "\"exp\":%lld}",
                                           (long long)id, now_s() - 5, now_s() + 60))),
              "nbf 5 s ago");
    /* The seed's shape with aud listing more than admin. */
    const char *two_aud = h_jwt_hs256(h_strf("{\"sub\":%lld,\"aud\":[\"other\",\"admin\"],"
                                             "\"exp\":%lld}",
                                             (long long)id, now_s() + 60));
    expect_ok(list_with(s, two_aud), "aud [other, admin]");
    stop(s);
}

/* ------------------------------------------------------------------ */
/* refusals: each a 401 with an empty body                             */

/* A server with user "alice" (root); returns her id. */
static h_proc *start_with_alice(int64_t *id, const char *arg, const char *value)
{
    const char *db = h_db_path();
    *id = h_add_user(db, "alice", PW_ALICE, "root", NULL);
    return arg ? h_start_server(db, arg, value, NULL) : h_start_server(db, NULL);
}

/* The token is refused in each of the three places, and logged as such. */
static void expect_refused(const h_proc *s, const char *token, const char *what)
{
    expect_401_empty(get_as(s, LISTING, bearer(token), NULL), h_strf("%s (Bearer)", what));
    expect_401_empty(get_as(s, LISTING, h_strf("Authorization: %s", token), NULL), h_strf("%s (bare)", what));
    expect_401_empty(get_as(s, h_strf(LISTING "?token=%s", token), NULL, NULL), h_strf("%s (?token=)", what));
}

static void test_refuse_no_token(void **state)
{
    int64_t id;
    h_proc *s = start_with_alice(&id, NULL, NULL);
    const char *good = bearer(mint_for(id));

    expect_401_empty(get_as(s, LISTING, NULL, NULL), "no Authorization");
    expect_401_empty(get_as(s, LISTING, "Authorization: Bearer", NULL), "Bearer alone");
    expect_401_empty(get_as(s, LISTING, "Authorization: Bearer    ", NULL), "Bearer and spaces");
    expect_401_empty(get_as(s, LISTING, "Authorization: Basic YWRtaW46cGFzc3dvcmQ=", NULL),
                     "Basic credentials");
    expect_401_empty(get_as(s, LISTING "?token=", NULL, NULL), "empty ?token=");
    expect_401_empty(get_as(s, LISTING "?token=abc.def.ghi", NULL, NULL), "garbage ?token=");
    expect_401_empty(get_as(s, LISTING, "Authorization: Bearer not-a-jwt", NULL), "not a JWT");
    expect_401_empty(get_as(s, LISTING, NULL, "X-Request-Id: no-token-1"), "with a request id");
    /* the request id is echoed on the 401 too */
    h_response *r = get_as(s, LISTING, NULL, "X-Request-Id: no-token-2");
    expect_401_empty(r, "request id");
    assert_string_equal(h_header_value(r, "x-request-id"), "no-token-2");

    /* Authentication comes before routing, methods and media types. */
    expect_401_empty(get_as(s, "/api/rest/admin/nope", NULL, NULL), "unknown admin path");
    h_assert_error(get_as(s, "/api/rest/admin/nope", good, NULL), 404, 0, "Not found", NULL, "404");
    expect_401_empty(get_as(s, ONE_CALL, NULL, NULL), "GET one call");
    expect_401_empty(request_as(s, "DELETE", ONE_CALL, NULL), "DELETE one call");
    expect_401_empty(request_as(s, "POST", LISTING, NULL), "POST on the listing");
    expect_401_empty(get_as(s, LISTING, NULL, "Accept: text/html"), "Accept: text/html");
    {
        const char *hdrs[] = {H_NO_AUTH, "Content-Type: text/plain", NULL};
        expect_401_empty(h_http("GET", h_url(s, LISTING), hdrs, "hello"), "text/plain body");
    }
    /* With the token the same requests get their usual answers. */
    h_assert_error(get_as(s, LISTING, good, "Accept: text/html"), 406, 0, "Not acceptable", NULL, "406");
    r = request_as(s, "POST", LISTING, good);
    if (r->status != 405) fail_msg("POST on the listing with a token: status %ld, expected 405", r->status);

    /* Outside /api/rest/admin/ there is nothing to guard: 404 as before. */
    h_assert_error(get_as(s, "/nope", NULL, NULL), 404, 0, "Not found", NULL, "404");
    h_assert_error(get_as(s, "/api/rest/admin", NULL, NULL), 404, 0, "Not found", NULL, "404");
    h_assert_error(get_as(s, "/console/nope.js", NULL, NULL), 404, 0, "Not found", NULL, "404");

    expect_ok(get_as(s, LISTING, good, NULL), "the minted token");
    /* One log line per refusal (at least the 15 above). */
    if (h_log_count(s, "token refused") < 15)
        fail_msg("only %d \"token refused\" log lines for 15 refusals", h_log_count(s, "token refused"));
    stop(s);
}

static const char *b64(const char *text) { return h_b64url(text, strlen(text)); }

static void test_refuse_alg_none(void **state)
{
    int64_t id;
    h_proc *s = start_with_alice(&id, NULL, NULL);
    const char *payload = claims(id, 300);
    const char *hp = h_strf("%s.%s", b64("{\"alg\":\"none\"}"), b64(payload));
    const char *sig = h_b64url(h_hmac("sha256", h_secret(), hp, NULL), 32);

    expect_refused(s, h_strf("%s.", hp), "alg none, empty signature");
    expect_401_empty(list_with(s, hp), "alg none, two parts");
    expect_refused(s, h_strf("%s.%s", hp, sig), "alg none with an HS256 signature");
    const char *variants[] = {"{\"alg\":\"None\"}", "{\"alg\":\"NONE\"}", "{\"typ\":\"JWT\"}",
                              "{\"alg\":null}", "{}"};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const char *t = h_strf("%s.%s.", b64(variants[i]), b64(payload));
        expect_401_empty(list_with(s, t), h_strf("header %s, no signature", variants[i]));
        expect_401_empty(list_with(s, h_jwt_sign("sha256", h_secret(), variants[i], payload)),
                         h_strf("header %s, HS256 signature", variants[i]));
    }
    expect_ok(list_with(s, h_jwt_hs256(payload)), "the same payload with alg HS256");
    stop(s);
}

static void test_refuse_alg_hs384(void **state)
{
    int64_t id;
    h_proc *s = start_with_alice(&id, NULL, NULL);
    const char *payload = claims(id, 300);

    expect_refused(s, h_jwt_sign("sha384", h_secret(), "{\"alg\":\"HS384\"}", payload), "HS384");
    expect_refused(s, h_jwt_sign("sha512", h_secret(), "{\"alg\":\"HS512\"}", payload), "HS512");
    /* "exactly HS256" */
    expect_refused(s, h_jwt_sign("sha256", h_secret(), "{\"alg\":\"hs256\"}", payload),
                   "alg hs256 (lower case)");
    expect_refused(s, h_jwt_sign("sha256", h_secret(), "{\"alg\":\"HS256 \"}", payload), "alg \"HS256 \"");
    /* An HS256 MAC under an HS384 header. */
    expect_refused(s, h_jwt_sign("sha256", h_secret(), "{\"alg\":\"HS384\"}", payload),
                   "HS384 header, HS256 signature");
    expect_ok(list_with(s, h_jwt_hs256(payload)), "the same payload with alg HS256");
    stop(s);
}

static void test_refuse_rs256_header(void **state)
{
    int64_t id;
    h_proc *s = start_with_alice(&id, NULL, NULL);
    const char *payload = claims(id, 300);

    /* The algorithm-confusion attack: RS256 announced, HMAC-SHA256 with the
     * shared secret as the "public key". */
    expect_refused(s, h_jwt_sign("sha256", h_secret(), "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload),
                   "RS256 header, HMAC signature");
    expect_refused(s, h_jwt_sign("sha256", h_secret(), "{\"alg\":\"RS256\"}", payload), "RS256 header alone");
    /* An RSA-sized signature. */
    unsigned char junk[256];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)(i * 37 + 11);
    expect_refused(s,
                   h_strf("%s.%s.%s", b64("{\"alg\":\"RS256\",\"typ\":\"JWT\"}"), b64(payload),
                          h_b64url(junk, sizeof junk)),
                   "RS256 header, 256-byte signature");
    expect_ok(list_with(s, h_jwt_hs256(payload)), "the same payload with alg HS256");
    stop(s);
}

static void test_refuse_tampered_payload(void **state)
{
    const char *db = h_db_path();
    int64_t alice = h_add_user(db, "alice", PW_ALICE, "root", "127.0.0.0/8");
    int64_t bob = h_add_user(db, "bob", PW_BOB, "root", NULL);
    h_proc *s = h_start_server(db, NULL);

    const char *tok = h_login_token(s, "alice", PW_ALICE);
    expect_ok(list_with(s, tok), "alice's own token");
    expect_ok(list_with(s, h_login_token(s, "bob", PW_BOB)), "bob's own token");

    const char *dot1 = strchr(tok, '.');
    const char *dot2 = strchr(dot1 + 1, '.');
    const char *header = h_strf("%.*s", (int)(dot1 - tok), tok);
    const char *sig = dot2 + 1;
    json_t *p = h_jwt_part(tok, 1);
    long long exp = json_integer_value(json_object_get(p, "exp"));

    /* sub changed to bob (an enabled root user), signature kept. */
    const char *as_bob =
        h_strf("%s.%s.%s", header,
               b64(h_strf("{\"sub\":%lld,\"aud\":[\"admin\"],\"exp\":%lld}", (long long)bob, exp)), sig);
    h_sensitive(as_bob);
    expect_refused(s, as_bob, "sub changed");
    /* exp pushed a year out, signature kept. */
    const char *longer = h_strf(
        "%s.%s.%s", header,
        b64(h_strf("{\"sub\":%lld,\"aud\":[\"admin\"],\"exp\":%lld}", (long long)alice, exp + 365LL * 86400)),
        sig);
    h_sensitive(longer);
    expect_refused(s, longer, "exp changed");
    /* The same claims re-encoded with white space: other bytes, other MAC. */
    const char *spaced = h_strf(
        "%s.%s.%s", header,
        b64(h_strf("{\"sub\": %lld, \"aud\": [\"admin\"], \"exp\": %lld}", (long long)alice, exp)), sig);
    h_sensitive(spaced);
    expect_refused(s, spaced, "payload re-encoded");
    expect_ok(list_with(s, tok), "the untouched token");
    stop(s);
}

static void test_refuse_bad_signature(void **state)
{
    int64_t id;
    h_proc *s = start_with_alice(&id, NULL, NULL);
    const char *payload = claims(id, 300);
    const char *good = h_jwt_hs256(payload);
    expect_ok(list_with(s, good), "the well-signed token");

    expect_refused(s, h_jwt_sign("sha256", "another-secret-0123456789", "{\"alg\":\"HS256\"}", payload),
                   "another secret");
    /* The secret file ends in a newline that is not part of the key. */
    expect_refused(s, h_jwt_sign("sha256", h_strf("%s\n", h_secret()), "{\"alg\":\"HS256\"}", payload),
                   "the secret with its newline");
    const char *sig = strrchr(good, '.') + 1;
    size_t prefix = (size_t)(sig - good);
    /* First signature character changed (the last may only carry padding
     * bits). */
    const char *flipped = h_strf("%.*s%c%s", (int)prefix, good, sig[0] == 'A' ? 'B' : 'A', sig + 1);
    expect_refused(s, flipped, "one signature character changed");
    expect_refused(s, h_strf("%.*s", (int)(strlen(good) - 4), good), "signature truncated");
    expect_refused(s, h_strf("%.*s", (int)prefix, good), "empty signature");
    expect_refused(s, h_strf("%s%s", good, "AAAA"), "signature too long");
    expect_refused(s, h_strf("%.*s%s", (int)prefix, good, "!!!not-base64!!!"), "signature not base64url");
    stop(s);
}

static void test_refuse_expired(void **state)
{
    const char *db = h_db_path();
    int64_t id = h_add_user(db, "alice", PW_ALICE, "root", NULL);
    h_proc *s = h_start_server(db, NULL);

    expect_refused(s, h_jwt_hs256(claims(id, -10)), "expired 10 s ago");
    expect_refused(s, h_jwt_hs256(claims(id, -86400)), "expired a day ago");
    expect_refused(s, h_jwt_hs256(h_strf("{\"sub\":%lld,\"aud\":[\"admin\"],\"exp\":1}", (long long)id)),
                   "exp 1 (1970)");
    expect_ok(list_with(s, h_jwt_hs256(claims(id, 60))), "expires in a minute");
    stop(s);

    /* A token the server issued stops working when its lifetime is over. */
    s = h_start_server(db, "--token-lifetime", "2", NULL);
    const char *tok = h_login_token(s, "alice", PW_ALICE);
    expect_ok(list_with(s, tok), "fresh 2-second token");
    double t0 = h_now_ms();
    for (;;) {
        h_response *r = list_with(s, tok);
        if (r->status == 401) {
            expect_401_empty(r, "the expired 2-second token");
            break;
        }
        expect_ok(r, "the 2-second token before it expires");
        if (h_now_ms() - t0 > 4000)
            fail_msg("a token with a 2 s lifetime still works after %.0f ms", h_now_ms() - t0);
        sleep_ms(200);
    }
    fprintf(stderr, "note: the 2 s token was refused %.0f ms after its first use\n", h_now_ms() - t0);
    stop(s);
}

/* A token without exp would never end: refused, as is one whose nbf has
 * not come yet (no leeway: docs/API.md). */
static void test_refuse_no_exp_or_early(void **state)
{
    int64_t id;
    h_proc *s = start_with_alice(&id, NULL, NULL);

    expect_refused(s, h_jwt_hs256(h_strf("{\"sub\":%lld,\"aud\":[\"admin\"]}", (long long)id)), "no exp");
    expect_refused(s, h_jwt_hs256(h_strf("{\"sub\":%lld,\"aud\":[\"admin\"],\"exp\":null}", (long long)id)),
                   "exp null");
    assert_true(h_log_count(s, "reason=\"no exp\"") >= 3);
    expect_refused(s,
                   h_jwt_hs256(h_strf("{\"sub\":%lld,\"aud\":[\"admin\"],\"nbf\":%lld,"
                                      "\"exp\":%lld}",
                                      (long long)id, now_s() + 120, now_s() + 600)),
                   "nbf in two minutes");
    assert_true(h_log_count(s, "reason=\"not yet valid\"") >= 3);
    stop(s);
}

static void test_refuse_wrong_aud(void **state)
{
    int64_t id;
    h_proc *s = start_with_alice(&id, NULL, NULL);
    long long exp = now_s() + 300;
    const char *const auds[] = {"[\"user\"]",  "\"user\"",         "[]",
                                "[\"Admin\"]", "[\"admin \"]",     "[\"administrator\"]",
                                "5",           "{\"admin\":true}", "null"};
    for (size_t i = 0; i < sizeof auds / sizeof auds[0]; i++) {
        const char *t =
            h_jwt_hs256(h_strf("{\"sub\":%lld,\"aud\":%s,\"exp\":%lld}", (long long)id, auds[i], exp));
        expect_refused(s, t, h_strf("aud %s", auds[i]));
    }
    expect_ok(list_with(s, h_jwt_hs256(claims(id, 300))), "aud [admin]");
    stop(s);
}

static void test_refuse_missing_aud(void **state)
{
    int64_t id;
    h_proc *s = start_with_alice(&id, NULL, NULL);
    expect_refused(s, h_jwt_hs256(h_strf("{\"sub\":%lld,\"exp\":%lld}", (long long)id, now_s() + 300)),
                   "no aud");
    expect_refused(s, h_jwt_hs256(h_strf("{\"sub\":%lld}", (long long)id)), "no aud, no exp");
    expect_ok(list_with(s, h_jwt_hs256(claims(id, 300))), "with aud");
    stop(s);
}

static void test_refuse_unknown_sub(void **state)
{
    int64_t id;
    h_proc *s = start_with_alice(&id, NULL, NULL);
    long long exp = now_s() + 300;
    const char *const subs[] = {"999999", "0", "-1", "\"alice\"", "null", "1.5", "[1]"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        const char *t = h_jwt_hs256(h_strf("{\"sub\":%s,\"aud\":[\"admin\"],\"exp\":%lld}", subs[i], exp));
        expect_refused(s, t, h_strf("sub %s", subs[i]));
    }
    expect_refused(s, h_jwt_hs256(h_strf("{\"aud\":[\"admin\"],\"exp\":%lld}", exp)), "no sub");
    expect_ok(list_with(s, h_jwt_hs256(claims(id, 300))), "alice's sub");
    stop(s);
}

static void test_refuse_disabled_sub(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "dave", PW_USER, "root", NULL);
    h_proc *s = h_start_server(db, "--user-cache-ms", "0", NULL);
    const char *tok = h_login_token(s, "dave", PW_USER);
    expect_ok(list_with(s, tok), "dave enabled");

    h_set_user_enabled(db, "dave", false);
    expect_refused(s, tok, "dave disabled (no user cache)");
    h_set_user_enabled(db, "dave", true);
    expect_ok(list_with(s, tok), "dave enabled again");
    stop(s);

    /* With the default user cache (1000 ms): refused within about that. */
    s = h_start_server(db, NULL);
    expect_ok(list_with(s, tok), "dave's token on a new server");
    h_set_user_enabled(db, "dave", false);
    double t0 = h_now_ms();
    for (;;) {
        h_response *r = list_with(s, tok);
        if (r->status == 401) {
            expect_401_empty(r, "dave disabled (default user cache)");
            break;
        }
        expect_ok(r, "dave's token while the cache still holds him");
        if (h_now_ms() - t0 > 2500)
            fail_msg("a disabled user's token still works %.0f ms later (user cache 1000 ms)",
                     h_now_ms() - t0);
        sleep_ms(100);
    }
    fprintf(stderr, "note: disabled user refused after %.0f ms\n", h_now_ms() - t0);
    expect_refused(s, tok, "dave disabled");
    stop(s);
}

static void test_refuse_ipv4_list(void **state)
{
    const char *db = h_db_path();
    int64_t ten = h_add_user(db, "ten", PW_USER, "root", "10.0.0.0/8");
    int64_t other = h_add_user(db, "other", PW_USER, "root", "127.0.0.2/32,192.168.1.0/24");
    int64_t v6 = h_add_user(db, "v6", PW_USER, "root", "::1/128");
    int64_t lo8 = h_add_user(db, "lo8", PW_USER, "root", "192.168.0.0/16,127.0.0.0/8");
    int64_t exact = h_add_user(db, "exact", PW_USER, "root", "127.0.0.1");
    h_proc *s = h_start_server(db, NULL);

    expect_refused(s, mint_for(ten), "allowed 10.0.0.0/8, client 127.0.0.1");
    expect_refused(s, mint_for(other), "allowed 127.0.0.2/32 and 192.168.1.0/24");
    expect_refused(s, mint_for(v6), "allowed ::1/128 only, IPv4 client");
    expect_ok(list_with(s, mint_for(lo8)), "allowed 127.0.0.0/8 (second of two)");
    expect_ok(list_with(s, mint_for(exact)), "allowed 127.0.0.1");
    if (h_log_count(s, "address not allowed") < 9)
        fail_msg("expected a \"token refused\" line with reason \"address not allowed\" per "
                 "refusal, found %d",
                 h_log_count(s, "address not allowed"));
    stop(s);
}

static bool have_ipv6_loopback(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* A real IPv6 peer: the server listens on [::1]. */
static void test_refuse_ipv6_list_peer(void **state)
{
    if (!have_ipv6_loopback()) {
        fprintf(stderr,
                "SKIPPED: ::1 cannot be bound on this machine (no IPv6 loopback); "
                "test_refuse_ipv6_list_forwarded covers IPv6 lists via a proxy\n");
        skip();
    }
    const char *db = h_db_path();
    int64_t lo6 = h_add_user(db, "lo6", PW_ALICE, "root", "::1/128");
    int64_t doc = h_add_user(db, "doc", PW_BOB, "root", "2001:db8::/32");
    int64_t lo4 = h_add_user(db, "lo4", PW_USER, "root", "127.0.0.0/8");
    h_proc *s = h_start_server(db, "--listen", "[::1]:0", NULL);
    assert_true(strncmp(s->addr, "[::1]:", 6) == 0);

    expect_ok(list_with(s, mint_for(lo6)), "allowed ::1/128 from ::1");
    expect_refused(s, mint_for(doc), "allowed 2001:db8::/32, client ::1");
    expect_refused(s, mint_for(lo4), "allowed 127.0.0.0/8, client ::1");

    /* Logins from ::1 too. */
    h_login_token(s, "lo6", PW_ALICE);
    h_response *r = h_login(s, "doc", PW_BOB, NULL);
    expect_login_failed(r, NULL);
    const char *detail = json_string_value(json_object_get(first_error(r, 401), "detail"));
    if (strstr(detail, "::1") == NULL || strstr(detail, "not allowed") == NULL)
        fail_msg("detail \"%s\" does not name ::1 as not allowed", detail);
    stop(s);
}

/* IPv6 client addresses via a trusted proxy on 127.0.0.1. */
static void test_refuse_ipv6_list_forwarded(void **state)
{
    const char *db = h_db_path();
    int64_t ula = h_add_user(db, "ula", PW_USER, "root", "fd00::/8");
    int64_t docnet = h_add_user(db, "docnet", PW_USER, "root", "2001:db8::/32");
    int64_t ten = h_add_user(db, "ten", PW_USER, "root", "10.0.0.0/8");
    h_proc *s = h_start_server(db, "--trusted-proxies", "127.0.0.1/32", NULL);
    const char *xff = "X-Forwarded-For: 2001:db8::5";

    expect_401_empty(get_as(s, LISTING, bearer(mint_for(ula)), xff), "allowed fd00::/8, client 2001:db8::5");
    expect_401_empty(get_as(s, LISTING, bearer(mint_for(ten)), xff),
                     "allowed 10.0.0.0/8, client 2001:db8::5");
    expect_ok(get_as(s, LISTING, bearer(mint_for(docnet)), xff), "allowed 2001:db8::/32, client 2001:db8::5");
    expect_ok(get_as(s, LISTING, bearer(mint_for(ula)), "X-Forwarded-For: fd12:3456::1"),
              "allowed fd00::/8, client fd12:3456::1");
    /* Without the header the client is the proxy itself. */
    expect_401_empty(get_as(s, LISTING, bearer(mint_for(docnet)), NULL),
                     "allowed 2001:db8::/32, client 127.0.0.1");
    stop(s);
}

static void test_trusted_vs_untrusted_proxy(void **state)
{
    const char *db = h_db_path();
    int64_t ten = h_add_user(db, "ten", PW_USER, "root", "10.0.0.0/8");
    const char *t = bearer(mint_for(ten));
    const char *forged = "X-Forwarded-For: 10.1.2.3";

    /* No trusted proxies: X-Forwarded-For is the client's own say-so. */
    h_proc *plain = h_start_server(db, NULL);
    expect_401_empty(get_as(plain, LISTING, t, forged), "forged X-Forwarded-For, no proxies");
    h_response *r = h_login(plain, "ten", PW_USER, "10.1.2.3");
    expect_login_failed(r, NULL);
    const char *detail = json_string_value(json_object_get(first_error(r, 401), "detail"));
    if (strstr(detail, "127.0.0.1") == NULL)
        fail_msg("login via an untrusted peer: detail \"%s\" does not name 127.0.0.1", detail);

    /* Proxies trusted, but not this peer. */
    h_proc *elsewhere = h_start_server(db, "--trusted-proxies", "10.0.0.0/8,192.0.2.1", NULL);
    expect_401_empty(get_as(elsewhere, LISTING, t, forged), "peer 127.0.0.1 not a trusted proxy");

    /* The peer is a trusted proxy: the right-most untrusted hop counts. */
    h_proc *proxied = h_start_server(db, "--trusted-proxies", "127.0.0.1/32", NULL);
    expect_ok(get_as(proxied, LISTING, t, forged), "via the proxy from 10.1.2.3");
    expect_ok(get_as(proxied, LISTING, t, "X-Forwarded-For: 10.1.2.3, 127.0.0.1"),
              "10.1.2.3, then a trusted hop");
    expect_ok(get_as(proxied, LISTING, t, "X-Forwarded-For: 192.0.2.7, 10.1.2.3"),
              "a forged left-most hop is not the client");
    expect_401_empty(get_as(proxied, LISTING, t, "X-Forwarded-For: 10.1.2.3, 192.0.2.7"),
                     "right-most untrusted hop 192.0.2.7");
    expect_401_empty(get_as(proxied, LISTING, t, NULL), "no X-Forwarded-For: the proxy itself");
    /* Logins see the same client address. */
    r = h_login(proxied, "ten", PW_USER, "10.1.2.3");
    if (r->status != 201)
        fail_msg("login of ten via the trusted proxy from 10.1.2.3: status %ld: %s", r->status, r->body);
    expect_login_failed(h_login(proxied, "ten", PW_USER, NULL), NULL);
    stop(proxied);
    stop(elsewhere);
    stop(plain);
}

/* X-Forwarded-For in two field lines (a proxy that appends its own line
 * instead of extending the client's): RFC 9110 §5.3 makes them one list,
 * the lines in order, so the right-most hop is in the last line. */
static void test_proxy_split_forwarded_for(void **state)
{
    const char *db = h_db_path();
    int64_t ten = h_add_user(db, "ten", PW_USER, "root", "10.0.0.0/8");
    h_proc *s = h_start_server(db, "--trusted-proxies", "127.0.0.1/32", NULL);
    const char *t = bearer(mint_for(ten));

    const char *forged_first[] = {"Accept: application/vnd.api+json", t, "X-Forwarded-For: 10.1.2.3",
                                  "X-Forwarded-For: 192.0.2.7", NULL};
    expect_401_empty(h_http("GET", h_url(s, LISTING), forged_first, NULL),
                     "client-sent 10.1.2.3 in the first line, the proxy's 192.0.2.7 in the last");
    const char *real_last[] = {"Accept: application/vnd.api+json", t, "X-Forwarded-For: 192.0.2.7",
                               "X-Forwarded-For: 10.1.2.3", NULL};
    expect_ok(h_http("GET", h_url(s, LISTING), real_last, NULL), "10.1.2.3 in the last line");

    const char *login_hdrs[] = {"Content-Type: application/json", "X-Forwarded-For: 10.1.2.3",
                                "X-Forwarded-For: 192.0.2.7", NULL};
    h_response *r =
        h_post_auth(s, login_hdrs, "{\"auth\":{\"username\":\"ten\",\"password\":\"" PW_USER "\"}}");
    if (r->status == 201) h_sensitive(json_string_value(json_object_get(h_json(r), "jwt")));
    expect_login_failed(r, NULL);
    stop(s);
}

/* ------------------------------------------------------------------ */
/* throttling                                                          */

/* n wrong passwords for user, from X-Forwarded-For xff_fmt (NULL: none), in
 * which a %d, if any, is the attempt's number 1..n. */
static void fail_logins(const h_proc *s, const char *user, int n, const char *xff_fmt)
{
    for (int i = 0; i < n; i++) {
        const char *xff = xff_fmt ? h_strf(xff_fmt, i + 1) : NULL;
        expect_login_failed(h_login(s, user, PW_WRONG, xff), INVALID);
    }
}

/* A login from forwarded_for (through the trusted proxy 127.0.0.1) that
 * must succeed. */
static void login_ok_from(const h_proc *s, const char *user, const char *pw, const char *xff)
{
    h_response *r = h_login(s, user, pw, xff);
    if (r->status != 201)
        fail_msg("%s from %s: status %ld, expected 201: %.500s", user, xff ? xff : "127.0.0.1", r->status,
                 r->body);
}

/* Per (username, address): 5 failures of alice lock alice out of this
 * address only. */
static void test_throttle_per_pair(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "alice", PW_ALICE, "root", NULL);
    h_add_user(db, "bob", PW_BOB, "root", NULL);
    h_proc *s = h_start_server(db, NULL);

    fail_logins(s, "alice", 5, NULL);
    /* The 6th attempt: throttled before the password is looked at. */
    expect_429(h_login(s, "alice", PW_ALICE, NULL), 60, "alice after 5 failures");
    expect_429(h_login(s, "alice", PW_WRONG, NULL), 60, "alice again, wrong password");
    /* Other usernames from the same address: 5 failures are under the
     * address's own limit (20). */
    h_login_token(s, "bob", PW_BOB);
    expect_login_failed(h_login(s, "nobody", PW_BOB, NULL), INVALID);
    /* Issued tokens are not affected. */
    expect_ok(h_listing(s, NULL), "the admin's token during the lock-out");
    assert_int_equal(h_log_count(s, "msg=login result=throttled"), 2);
    stop(s);
}

static void test_throttle_success_resets(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "alice", PW_ALICE, "root", NULL);
    h_proc *s = h_start_server(db, NULL);

    fail_logins(s, "alice", 4, NULL);
    h_login_token(s, "alice", PW_ALICE); /* clears alice's count from this address */
    fail_logins(s, "alice", 4, NULL);
    h_login_token(s, "alice", PW_ALICE); /* 8 failures in all: not 429 */
    fail_logins(s, "alice", 5, NULL);
    expect_429(h_login(s, "alice", PW_ALICE, NULL), 60, "5 failures after the last success");
    stop(s);
}

static void test_throttle_window(void **state)
{
    /* The window must outlast the five failed logins themselves (bcrypt at
     * cost 12, slower under sanitizers and a loaded machine), or the first
     * failure leaves it before the sixth attempt: 15 s is ample. */
    const char *db = h_db_path();
    h_add_user(db, "alice", PW_ALICE, "root", NULL);
    h_proc *s = h_start_server(db, "--login-window", "15", NULL);

    fail_logins(s, "alice", 5, NULL);
    expect_429(h_login(s, "alice", PW_ALICE, NULL), 15, "5 failures in a 15 s window");
    double t0 = h_now_ms();
    for (;;) {
        sleep_ms(500);
        h_response *r = h_login(s, "alice", PW_ALICE, NULL);
        if (r->status == 201) break;
        expect_429(r, 15, "while the window lasts");
        if (h_now_ms() - t0 > 30000)
            fail_msg("still 429 %.0f ms after the lock-out began (window 15 s)", h_now_ms() - t0);
    }
    fprintf(stderr, "note: login allowed again %.0f ms after the first 429\n", h_now_ms() - t0);
    h_login_token(s, "alice", PW_ALICE);
    stop(s);
}

/* Nobody locks the administrator out from elsewhere: an address that
 * fails admin's password as often as it may (and then more, under other
 * names) is refused, admin from any other address is not. */
static void test_throttle_no_lockout_from_elsewhere(void **state)
{
    h_proc *s = h_start_server(h_db_path(), "--trusted-proxies", "127.0.0.1/32",
                               "--login-max-address-failures", "8", NULL);

    fail_logins(s, H_ADMIN_USERNAME, 5, "192.0.2.66");
    expect_429(h_login(s, H_ADMIN_USERNAME, H_ADMIN_PASSWORD, "192.0.2.66"), 60,
               "admin from the attacking address");
    login_ok_from(s, H_ADMIN_USERNAME, H_ADMIN_PASSWORD, "198.51.100.1");
    login_ok_from(s, H_ADMIN_USERNAME, H_ADMIN_PASSWORD, NULL);
    /* The same failures spread over five addresses, one each: no address
     * is near a limit, so admin is not refused anywhere. */
    fail_logins(s, H_ADMIN_USERNAME, 5, "203.0.113.%d");
    login_ok_from(s, H_ADMIN_USERNAME, H_ADMIN_PASSWORD, "203.0.113.1");
    login_ok_from(s, H_ADMIN_USERNAME, H_ADMIN_PASSWORD, "203.0.113.6");
    /* The attacker goes on under other names until its address is full
     * (8 failures): every name is refused there, nowhere else. */
    for (int i = 0; i < 3; i++)
        expect_login_failed(h_login(s, h_strf("guess%d", i), PW_WRONG, "192.0.2.66"), INVALID);
    expect_429(h_login(s, "guess9", PW_WRONG, "192.0.2.66"), 60, "a new name from a full address");
    login_ok_from(s, H_ADMIN_USERNAME, H_ADMIN_PASSWORD, "198.51.100.1");
    stop(s);
}

/* Per address, whatever the usernames: 8 failures under 8 names. A success
 * on one's own account clears that account's count there and nothing else,
 * so it is no way around the limits. */
static void test_throttle_per_address(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "alice", PW_ALICE, "root", NULL);
    h_add_user(db, "eve", PW_USER, "root", NULL);
    h_proc *s = h_start_server(db, "--trusted-proxies", "127.0.0.1/32", "--login-max-failures", "3",
                               "--login-max-address-failures", "8", NULL);
    const char *a = "192.0.2.20", *b = "192.0.2.21";

    fail_logins(s, "alice", 2, a);          /* alice@a 2, a 2 */
    login_ok_from(s, "alice", PW_ALICE, a); /* alice@a 0, a 2 */
    fail_logins(s, "alice", 2, a);          /* alice@a 2, a 4 */
    login_ok_from(s, "alice", PW_ALICE, a); /* alice@a 0, a 4 */
    fail_logins(s, "bob", 2, a);            /* bob@a 2, a 6 */
    login_ok_from(s, "eve", PW_USER, a);    /* eve@a 0: bob@a stays 2 */
    fail_logins(s, "bob", 1, a);            /* bob@a 3, a 7 */
    expect_429(h_login(s, "bob", PW_WRONG, a), 60, "bob@a after eve's success");
    expect_login_failed(h_login(s, "bob", PW_WRONG, b), INVALID);
    expect_login_failed(h_login(s, "carol", PW_WRONG, a), INVALID); /* a 8: full */
    expect_429(h_login(s, "eve", PW_USER, a), 60, "eve's own account from a full address");
    expect_429(h_login(s, "alice", PW_ALICE, a), 60, "alice from a full address");
    login_ok_from(s, "eve", PW_USER, b);
    login_ok_from(s, "alice", PW_ALICE, b);
    stop(s);
}

/* An IPv6 client counts as its /64; an IPv4 one as itself. */
static void test_throttle_ipv6_block(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "alice", PW_ALICE, "root", NULL);
    h_proc *s = h_start_server(db, "--trusted-proxies", "127.0.0.1/32", "--login-max-failures", "3", NULL);

    fail_logins(s, "alice", 3, "2001:db8:0:1::%d");
    expect_429(h_login(s, "alice", PW_ALICE, "2001:db8:0:1:ffff:ffff:ffff:ffff"), 60,
               "alice from another address of the same /64");
    expect_429(h_login(s, "alice", PW_ALICE, "[2001:db8:0:1::abcd]"), 60,
               "alice from the same /64, bracketed");
    login_ok_from(s, "alice", PW_ALICE, "2001:db8:0:2::1");
    fail_logins(s, "alice", 3, "192.0.2.%d");
    login_ok_from(s, "alice", PW_ALICE, "192.0.2.4");
    stop(s);
}

/* ------------------------------------------------------------------ */
/* roles                                                               */

static void expect_forbidden(const h_response *r, const char *what)
{
    if (r->status != 403)
        fail_msg("%s: %s: status %ld, expected 403; body: %.500s", what, r->url, r->status, r->body);
    h_assert_error(r, 403, 0, "Forbidden", NULL, "403");
    assert_int_equal(h_error_count(r), 1);
    const char *ct = h_header_value(r, "content-type");
    if (ct == NULL || strcmp(ct, "application/vnd.api+json") != 0)
        fail_msg("%s: 403 with content-type \"%s\"", what, ct ? ct : "<absent>");
    expect_common_headers(r);
}

/* Past the role check: neither 401 nor 403 (the route may not exist). */
static void expect_permitted(const h_response *r, const char *what)
{
    if (r->status == 401 || r->status == 403)
        fail_msg("%s: %s: status %ld, expected the role to allow it: %.500s", what, r->url, r->status,
                 r->body);
}

#define POLICY_OPERATOR                          \
    "# yeti-web config/policy_roles.yml shape\n" \
    "operator:\n"                                \
    "  RealtimeData/ActiveCall:\n"               \
    "    read: true\n"                           \
    "    remove: false\n"                        \
    "  Billing/Invoice:\n"                       \
    "    read: true\n"                           \
    "    remove: true\n"

static void test_roles_read_not_remove(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "op", PW_USER, "operator", NULL);
    const char *policy = h_write_file("policy_roles.yml", POLICY_OPERATOR);
    h_proc *s = h_start_server(db, "--policy", policy, NULL);
    const char *op = bearer(h_login_token(s, "op", PW_USER));

    expect_ok(get_as(s, LISTING, op, NULL), "operator reads the listing");
    expect_permitted(get_as(s, ONE_CALL, op, NULL), "operator reads one call");
    expect_forbidden(request_as(s, "DELETE", ONE_CALL, op), "operator deletes a call");
    /* root may do everything. */
    expect_ok(h_listing(s, NULL), "root reads");
    expect_permitted(request_as(s, "DELETE", ONE_CALL, bearer(h_admin_token(s))), "root deletes");
    assert_true(h_log_count(s, "msg=forbidden") >= 1);
    stop(s);
}

static void test_roles_default_fallback(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "viewer", PW_USER, "viewer", NULL);
    h_add_user(db, "auditor", PW_ALICE, "auditor", NULL);
    const char *policy = h_write_file("policy_roles.yml",
                                      "viewer:\n"
                                      "  Default:\n"
                                      "    read: true\n"
                                      "auditor:\n"
                                      "  Default:\n"
                                      "    read: true\n"
                                      "    remove: true\n"
                                      "  RealtimeData/ActiveCall:\n"
                                      "    read: false\n");
    h_proc *s = h_start_server(db, "--policy", policy, NULL);
    const char *viewer = bearer(h_login_token(s, "viewer", PW_USER));
    const char *auditor = bearer(h_login_token(s, "auditor", PW_ALICE));

    expect_ok(get_as(s, LISTING, viewer, NULL), "Default read");
    expect_forbidden(request_as(s, "DELETE", ONE_CALL, viewer), "Default without remove");
    /* The section's own entry wins over Default; Default fills the gaps. */
    expect_forbidden(get_as(s, LISTING, auditor, NULL), "section read: false over Default");
    expect_permitted(request_as(s, "DELETE", ONE_CALL, auditor), "remove from Default");
    stop(s);
}

static void test_roles_unknown_role(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "guest", PW_USER, "guest", NULL);
    h_add_user(db, "both", PW_ALICE, "guest,operator", NULL);
    const char *policy = h_write_file("policy_roles.yml", POLICY_OPERATOR);
    h_proc *s = h_start_server(db, "--policy", policy, NULL);
    const char *guest = bearer(h_login_token(s, "guest", PW_USER));

    expect_forbidden(get_as(s, LISTING, guest, NULL), "a role not in the file reads");
    expect_forbidden(request_as(s, "DELETE", ONE_CALL, guest), "a role not in the file deletes");
    /* One of several roles allowing is enough. */
    expect_ok(get_as(s, LISTING, bearer(h_login_token(s, "both", PW_ALICE)), NULL), "guest,operator reads");
    stop(s);
}

static void test_roles_no_policy_file(void **state)
{
    const char *db = h_db_path();
    h_add_user(db, "op", PW_USER, "operator", NULL);
    h_proc *s = h_start_server(db, NULL);
    const char *op = bearer(h_login_token(s, "op", PW_USER));

    expect_forbidden(get_as(s, LISTING, op, NULL), "non-root without a policy file reads");
    expect_forbidden(request_as(s, "DELETE", ONE_CALL, op), "non-root without a policy file deletes");
    expect_ok(h_listing(s, NULL), "root without a policy file");
    stop(s);
}

/* ------------------------------------------------------------------ */
/* start-up refusals                                                   */

/* `serve` with these arguments must exit non-zero at once, saying so on
 * stderr, never listening. Returns stderr. */
static int last_rc;

static const char *serve_refused(const char *what, const char *a1, const char *a2, const char *a3,
                                 const char *a4)
{
    char *out, *err;
    int rc = h_cli(&out, &err, "serve", "--listen", "127.0.0.1:0", "--db", h_db_path(), a1, a2, a3, a4, NULL);
    last_rc = rc;
    if (rc == 0 || strstr(out, "listening") != NULL)
        fail_msg("%s: serve exited %d\nstdout: %s\nstderr: %s", what, rc, out, err);
    if (strlen(err) == 0) fail_msg("%s: serve exited %d without a message on stderr", what, rc);
    if (strstr(err, "AddressSanitizer") != NULL || strstr(err, "runtime error") != NULL)
        fail_msg("%s: sanitizer report\n%s", what, err);
    return err;
}

static void expect_policy_error(const char *name, const char *text, int line)
{
    const char *path = h_write_file(name, text);
    const char *err = serve_refused(name, "--secret-file", h_secret_file(), "--policy", path);
    const char *want = h_strf("%s:%d:", path, line);
    if (strstr(err, want) == NULL) fail_msg("policy %s: stderr does not name \"%s\":\n%s", name, want, err);
    fprintf(stderr, "note: %s", err);
}

static void test_policy_malformed_yaml(void **state)
{
    /* line 4 is indented under nothing: not YAML */
    expect_policy_error("bad_indent.yml",
                        "operator:\n"
                        "  RealtimeData/ActiveCall:\n"
                        "    read: true\n"
                        "   remove: false\n",
                        4);
}

static void test_policy_non_boolean(void **state)
{
    expect_policy_error("maybe.yml",
                        "operator:\n"
                        "  RealtimeData/ActiveCall:\n"
                        "    read: maybe\n"
                        "    remove: false\n",
                        3);
    expect_policy_error("number.yml",
                        "operator:\n"
                        "  Default:\n"
                        "    read: true\n"
                        "    remove: 2\n",
                        4);
}

static void test_policy_wrong_top_level(void **state)
{
    expect_policy_error("sequence.yml", "- operator\n- root\n", 1);
    expect_policy_error("scalar.yml", "# roles\njust some text\n", 2);
    /* a missing file is refused too, naming it */
    const char *missing = h_strf("%s/no-such-policy.yml", h_tmpdir());
    const char *err =
        serve_refused("missing policy file", "--secret-file", h_secret_file(), "--policy", missing);
    if (strstr(err, missing) == NULL) fail_msg("missing policy file: stderr does not name it:\n%s", err);
}

/* ACTIVECALLS_SECRET for the processes started next: set to value, or
 * unset (NULL). The first change saves the caller's; env_restore (also run
 * by env_teardown) puts it back. */
static struct {
    bool saved, had;
    char *value;
} env_saved;

static void env_secret(const char *value)
{
    if (!env_saved.saved) {
        const char *v = getenv("ACTIVECALLS_SECRET");
        env_saved.saved = true;
        env_saved.had = v != NULL;
        env_saved.value = v ? strdup(v) : NULL;
    }
    if (value)
        setenv("ACTIVECALLS_SECRET", value, 1);
    else
        unsetenv("ACTIVECALLS_SECRET");
}

static void env_restore(void)
{
    if (!env_saved.saved) return;
    if (env_saved.had)
        setenv("ACTIVECALLS_SECRET", env_saved.value, 1);
    else
        unsetenv("ACTIVECALLS_SECRET");
    free(env_saved.value);
    env_saved.value = NULL;
    env_saved.saved = false;
}

static int env_teardown(void **state)
{
    env_restore();
    return h_teardown(state);
}

static void test_serve_without_secret(void **state)
{
    env_secret(NULL);
    const char *err = serve_refused("no secret at all", NULL, NULL, NULL, NULL);
    assert_int_equal(last_rc, 1);
    if (strcasestr(err, "secret") == NULL)
        fail_msg("no secret: the message does not mention the secret:\n%s", err);
    env_secret("");
    serve_refused("ACTIVECALLS_SECRET empty", NULL, NULL, NULL, NULL);
    assert_int_equal(last_rc, 1);
    const char *missing = h_strf("%s/no-such-secret", h_tmpdir());
    err = serve_refused("missing secret file", "--secret-file", missing, NULL, NULL);
    assert_int_equal(last_rc, 1);
    if (strstr(err, missing) == NULL) fail_msg("missing secret file: stderr does not name it:\n%s", err);
    env_restore();
}

/* Every token carries exp: a lifetime of 0 (once "no exp") is refused at
 * start with a message that says why. */
static void test_token_lifetime_zero(void **state)
{
    const char *err =
        serve_refused("--token-lifetime 0", "--secret-file", h_secret_file(), "--token-lifetime", "0");
    assert_int_equal(last_rc, 2);
    if (strstr(err, "--token-lifetime") == NULL || strstr(err, "exp") == NULL)
        fail_msg("--token-lifetime 0: the message does not say why:\n%s", err);
    serve_refused("--token-lifetime -1", "--secret-file", h_secret_file(), "--token-lifetime", "-1");
    assert_int_equal(last_rc, 2);
}

static void test_secret_too_short(void **state)
{
    const char *db = h_db_path();
    h_admin_id(db);
    env_secret(NULL);
    const char *fifteen = "0123456789abcde";
    const char *f1 = h_write_file("short", fifteen);
    const char *err = serve_refused("15-byte secret file", "--secret-file", f1, NULL, NULL);
    assert_int_equal(last_rc, 1);
    if (strstr(err, fifteen) != NULL) fail_msg("the refusal prints the secret:\n%s", err);
    const char *f2 = h_write_file("short-nl", h_strf("%s\n", fifteen));
    serve_refused("15 bytes and a newline", "--secret-file", f2, NULL, NULL);
    assert_int_equal(last_rc, 1);
    env_secret(fifteen);
    err = serve_refused("15-byte ACTIVECALLS_SECRET", NULL, NULL, NULL, NULL);
    assert_int_equal(last_rc, 1);
    if (strstr(err, fifteen) != NULL) fail_msg("the refusal prints the secret:\n%s", err);
    env_restore();

    /* 16 bytes are enough: a token minted with exactly them works. */
    const char *sixteen = "0123456789abcdef";
    h_sensitive(sixteen);
    const char *f3 = h_write_file("sixteen", h_strf("%s\n", sixteen));
    h_proc *s = h_start_server_bare(db, "--secret-file", f3, NULL);
    const char *tok = h_login_token(s, H_ADMIN_USERNAME, H_ADMIN_PASSWORD);
    if (!h_jwt_signature_ok(tok, sixteen))
        fail_msg("the token is not signed with the 16-byte secret: %s", tok);
    const char *mine = h_jwt_sign("sha256", sixteen, "{\"alg\":\"HS256\"}", claims(h_admin_id(db), 300));
    expect_ok(list_with(s, mine), "a token minted with the 16-byte secret");
    stop(s);
}

static void test_secret_from_env(void **state)
{
    const char *db = h_db_path();
    int64_t id = h_admin_id(db);
    const char *env = "env-secret-for-the-it-suite-42";
    h_sensitive(env);
    env_secret(env);
    h_proc *s = h_start_server_bare(db, NULL);
    env_restore();

    const char *tok = h_login_token(s, H_ADMIN_USERNAME, H_ADMIN_PASSWORD);
    if (!h_jwt_signature_ok(tok, env)) fail_msg("the token is not signed with ACTIVECALLS_SECRET: %s", tok);
    expect_ok(list_with(s, tok), "the issued token");
    expect_ok(list_with(s, h_jwt_sign("sha256", env, "{\"alg\":\"HS256\"}", claims(id, 300))),
              "minted with the environment's secret");
    expect_refused(s, mint_for(id), "minted with another secret");
    stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_login_success, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_login_lifetime, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_login_wrong_password, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_login_unknown_user, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_login_disabled_user, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_login_address_not_allowed, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_login_malformed, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_user_passwd, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_independent_token, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_no_token, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_alg_none, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_alg_hs384, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_rs256_header, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_tampered_payload, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_bad_signature, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_expired, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_no_exp_or_early, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_wrong_aud, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_missing_aud, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_unknown_sub, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_disabled_sub, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_ipv4_list, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_ipv6_list_peer, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_ipv6_list_forwarded, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_trusted_vs_untrusted_proxy, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_proxy_split_forwarded_for, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_throttle_per_pair, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_throttle_success_resets, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_throttle_window, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_throttle_no_lockout_from_elsewhere, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_throttle_per_address, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_throttle_ipv6_block, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_roles_read_not_remove, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_roles_default_fallback, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_roles_unknown_role, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_roles_no_policy_file, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_policy_malformed_yaml, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_policy_non_boolean, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_policy_wrong_top_level, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_serve_without_secret, h_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_token_lifetime_zero, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_secret_too_short, h_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_secret_from_env, h_setup, env_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
