/* harness: helpers for the integration tests (cmocka + libcurl + jansson).
 *
 * Every test program is a cmocka group:
 *
 *     const struct CMUnitTest tests[] = {
 *         cmocka_unit_test_setup_teardown(test_x, h_setup, h_teardown),
 *         ...
 *         cmocka_unit_test(h_test_validate_documents),   // always last
 *     };
 *     return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
 *
 * h_setup makes a fresh temp dir (mkdtemp under $TMPDIR or /tmp) that holds
 * the test's database and the stderr log of each process it starts.
 * h_teardown kills whatever the test left running (a failed assertion jumps
 * out of the test body), prints those processes' logs, frees everything the
 * harness handed out during the test and removes the temp dir (kept when
 * AC_KEEP_TMP is set).
 *
 * Processes come from the environment ctest sets: AC_BIN (build/activecalls),
 * AC_NODESIM (build/activecalls-nodesim), AC_SOURCE_DIR (repo root).
 * Long-running ones print `listening HOST:PORT` first (docs/CONTRACTS.md);
 * h_stop sends SIGTERM and returns the exit status, which tests assert is 0
 * (under ASan a leak or UB report makes it non-zero).
 *
 * Every non-empty HTTP response body is also saved, one file per document,
 * into a per-program directory; h_test_validate_documents runs
 * tests/tools/validate_jsonapi.py over them against the official JSON:API
 * schema (tests/data/jsonapi-1.0-schema.json).
 *
 * Authentication (docs/CONTRACT.md §6): every test has its own random token secret,
 * written (with a trailing newline) to <tmpdir>/secret. h_start_server passes
 * it with --secret-file, creates the root user H_ADMIN_USERNAME in the
 * database through the real CLI (password piped on stdin) unless this test
 * already did, logs in through POST /api/rest/admin/auth once the server
 * listens and keeps the token in h_proc.token. h_http then sends
 * `Authorization: Bearer <token>` to that server by default; a request that
 * names its own Authorization header sends that instead (the empty
 * "Authorization:" — H_NO_AUTH — sends none), and requests to /auth never
 * get one. Tokens can also be minted independently of the server: HMAC by
 * the openssl command (`openssl dgst -sha256 -hmac KEY -binary`), base64url
 * here.
 *
 * Passwords, the secret and every token the harness sees or mints are
 * registered as sensitive: h_stop fails the test when a process's log
 * contains one (the server must never log them), and h_add_user when the CLI
 * prints one.
 *
 * Memory: strings, responses and parsed documents the harness returns are
 * owned by the harness and freed at teardown; tests never free them.
 * Only 127.0.0.1 and [::1] are ever contacted. */
#ifndef AC_IT_HARNESS_H
#define AC_IT_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>
#include <jansson.h>

/* ---- test lifecycle (cmocka hooks) ---- */

int h_group_setup(void **state);    /* curl_global_init, SIGPIPE ignored */
int h_group_teardown(void **state); /* curl_global_cleanup */
int h_setup(void **state);          /* fresh temp dir; leaves *state alone */
int h_teardown(void **state);       /* kill leftovers, free, remove temp dir */
/* The last test of every program: validates every saved document. */
void h_test_validate_documents(void **state);
void h_validate_documents(void);

/* ---- small utilities ---- */

const char *h_tmpdir(void);                /* the current test's temp dir */
const char *h_db_path(void);               /* <tmpdir>/activecalls.db */
const char *h_data_path(const char *name); /* <AC_SOURCE_DIR>/tests/data/<name> */
/* docs/openapi.yaml as the build converts it (scripts/openapi-json): the
 * bytes the service should serve at /api/rest/admin/openapi.json. */
const char *h_openapi_json(void);
/* Writes text to <tmpdir>/<name> (fails the test when it cannot); returns the path. */
const char *h_write_file(const char *name, const char *text);
/* printf into a string owned by the harness (freed at teardown). */
char *h_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double h_now_ms(void); /* monotonic clock, milliseconds */
/* Hands p to the harness: fn(p) runs at teardown (newest first). Returns p;
 * fails the test when p is NULL. */
void *h_own(void *p, void (*fn)(void *));

/* true when s matches the POSIX extended regular expression ere. */
bool h_matches(const char *s, const char *ere);
/* A 127.0.0.1 port on which nothing listens: bound, then closed. */
int h_closed_port(void);
/* Prints at most the first n differences between two JSON values to stderr
 * (path: expected vs actual); returns the number of differences. */
int h_json_diff(const json_t *expected, const json_t *actual, int n);
/* Parses a file with jansson (order preserved); fails the test on error. */
json_t *h_load_json_file(const char *path);
/* "k1,k2,..." of an object's keys in document order. */
const char *h_keys(const json_t *obj);

/* ---- processes ---- */

typedef struct h_proc {
    char name[64];       /* for logs: "server", "nodesim-3", ... */
    pid_t pid;           /* 0 once reaped */
    int out_fd;          /* read end of its stdout pipe; -1 when closed */
    int port;            /* from its `listening HOST:PORT` line */
    char addr[64];       /* "127.0.0.1:PORT" (or "[::1]:PORT") */
    char log_path[1024]; /* its stderr */
    int exit_status;     /* valid once reaped: exit code, or 128+signal */
    char token[512];     /* the root admin's JWT (h_start_server), else "" */
} h_proc;

/* Starts path with argv (argv[0] included, NULL-terminated), stdout piped,
 * stderr to <tmpdir>/<name>.log, cwd = the temp dir; waits up to 10 s for
 * its `listening 127.0.0.1:PORT` (or `listening [::1]:PORT`) line. Fails the
 * test otherwise. */
h_proc *h_spawn(const char *name, const char *path, const char *const argv[]);
/* SIGTERM, wait up to 10 s (then SIGKILL and fail); returns the exit status
 * (128+signal when killed by one). Prints the log when it is not 0. Fails the
 * test when the log holds a sensitive string (h_assert_log_clean). */
int h_stop(h_proc *p);
/* Prints a process's stderr log to stderr. */
void h_print_log(const h_proc *p);
/* Number of lines of p's log that contain needle (case-insensitive). */
int h_log_count(const h_proc *p, const char *needle);

/* activecalls-nodesim --listen 127.0.0.1:0 --node-id N --pop-id P, then the
 * NULL-terminated extra arguments. */
h_proc *h_start_nodesim(int node_id, int pop_id, ...) __attribute__((sentinel));
/* The same on a given port (to restart a node where it was). */
h_proc *h_start_nodesim_on(int port, int node_id, int pop_id, ...) __attribute__((sentinel));
/* activecalls serve --listen 127.0.0.1:0 --db DB --secret-file <h_secret_file()>
 * --history-interval-s 0 (no history unless asked), then the extra arguments (a later option overrides, e.g. --listen [::1]:0);
 * with the root admin created first (h_admin_id) and logged in afterwards
 * (h_proc.token). */
h_proc *h_start_server(const char *db, ...) __attribute__((sentinel));
/* activecalls serve --listen 127.0.0.1:0 --db DB --history-interval-s 0,
 * then the extra arguments only: no secret, no admin user, no login. */
h_proc *h_start_server_bare(const char *db, ...) __attribute__((sentinel));

/* Runs `activecalls ARGS...` (NULL-terminated) to completion (10 s bound),
 * cwd = the temp dir. *out / *err (either may be NULL) get its stdout and
 * stderr. Returns its exit code (128+signal when killed by one). */
int h_cli(char **out, char **err, ...) __attribute__((sentinel));
/* The same with input written to its stdin (then closed). */
int h_cli_input(const char *input, char **out, char **err, ...) __attribute__((sentinel));
/* `pop add --id ID --name pop-ID`, asserting exit 0. */
void h_add_pop(const char *db, int id);
/* `node add --id ID --name node-ID --endpoint EP --pop-id POP`, exit 0. */
void h_add_node(const char *db, int id, const char *endpoint, int pop_id);

/* ---- HTTP ---- */

typedef struct h_header {
    char *name; /* lower-cased */
    char *value;
} h_header;

typedef struct h_response {
    long status;
    h_header *headers;
    size_t n_headers;
    char *body; /* NUL-terminated; body_len excludes the NUL */
    size_t body_len;
    json_t *json;       /* parsed body (duplicate keys rejected), or NULL */
    char json_err[256]; /* why json is NULL when the body is not empty */
    double elapsed_ms;
    char *url;
} h_response;

/* method on url (http://127.0.0.1:...), extra request headers as
 * "Name: value" strings (NULL-terminated list, may be NULL; "Name:" removes
 * one curl would add), optional body. Fails the test on transport errors. */
h_response *h_http(const char *method, const char *url, const char *const *headers, const char *body);
/* The first value of a response header (name lower-case), or NULL. */
const char *h_header_value(const h_response *r, const char *name);
/* How many times the header occurs. */
size_t h_header_count(const h_response *r, const char *name);
/* http://<server addr><path> */
const char *h_url(const h_proc *server, const char *path);
/* GET /api/rest/admin/active-calls[?query] with Host: example.org and
 * Accept: application/vnd.api+json (query NULL or "" for none). */
h_response *h_listing(const h_proc *server, const char *query);
/* The body as a JSON document; fails the test when it does not parse. */
json_t *h_json(const h_response *r);

/* Saves a JSON:API document received some other way (an event's data)
 * for the schema check at the end; `what` names it in the index. */
void h_record_json(const char *what, const char *text);

/* "id1,id2,..." of data[] in order; fails unless data is an array of
 * objects with string ids. */
const char *h_ids(const h_response *r);
/* meta.failed-nodes as "id/name/error,..." ("" when the key is absent);
 * fails unless each entry is exactly {id,name,error,detail} strings with a
 * non-empty detail. */
const char *h_failed(const h_response *r);
/* Asserts a listing: status 200, data ids exactly `ids` (comma-joined, in
 * order), meta.total-count == their number, h_failed(r) == failed. */
void h_assert_listing(const h_response *r, const char *ids, const char *failed);
/* Asserts an error document: status, and errors[i] == {title, detail, code,
 * status} exactly (strings; detail NULL = any string). */
void h_assert_error(const h_response *r, long status, size_t index, const char *title, const char *detail,
                    const char *code);
/* Number of objects in errors[] (fails unless an errors document). */
size_t h_error_count(const h_response *r);

/* ---- raw HTTP (harness_raw.c) ---- */

/* A response read through libcurl directly: not saved as a document, not
 * parsed (for gzip'd or very big bodies). Harness-owned. */
typedef struct h_raw {
    long status;
    char *body; /* NUL-terminated */
    size_t len, cap;
    char *headers; /* the raw header block, names lower-cased */
    size_t hlen, hcap;
} h_raw;

/* GET path on the server with its token, Host: example.org, Accept:
 * application/vnd.api+json and the extra headers (NULL-terminated, may be
 * NULL). Fails the test on a transport error. */
h_raw *h_raw_get(const h_proc *server, const char *path, const char *const *extra);
/* n such GETs sent at once (one curl multi handle); an array of n. */
h_raw *h_raw_get_concurrently(const h_proc *server, const char *path, const char *const *extra, size_t n);
/* The value of header name (lower-case) in r, or NULL (harness-owned). */
const char *h_raw_header(const h_raw *r, const char *name);

/* ---- authentication ---- */

#define H_ADMIN_USERNAME "admin"
#define H_ADMIN_PASSWORD "Root-pw-7f2Kq9xZ-it"
/* An Authorization header that removes the default one: no token at all. */
#define H_NO_AUTH "Authorization:"

/* The current test's token secret (printable, >= 16 bytes); the first call
 * writes it, plus "
", to h_secret_file(). */
const char *h_secret(void);
const char *h_secret_file(void); /* <tmpdir>/secret */
/* `user add --username U --roles R [--allowed-ips IPS] --db DB` with the
 * password piped on stdin; asserts exit 0; returns the new user's id. */
int64_t h_add_user(const char *db, const char *username, const char *password, const char *roles,
                   const char *allowed_ips);
/* `user enable|disable --username U --db DB`, asserting exit 0. */
void h_set_user_enabled(const char *db, const char *username, bool enabled);
/* The id of the root user H_ADMIN_USERNAME in db (created on first use). */
int64_t h_admin_id(const char *db);
/* The server's root token (fails when it has none). */
const char *h_admin_token(const h_proc *server);
/* POST /api/rest/admin/auth with exactly these headers (NULL-terminated, may
 * be NULL) and body (NULL = empty). */
h_response *h_post_auth(const h_proc *server, const char *const *headers, const char *body);
/* POST /api/rest/admin/auth, Content-Type: application/json,
 * {"auth":{"username":U,"password":P}}; X-Forwarded-For when forwarded_for
 * is not NULL. */
h_response *h_login(const h_proc *server, const char *username, const char *password,
                    const char *forwarded_for);
/* h_login asserting 201, content-type application/json and a body of
 * exactly {"jwt":"..."}; returns the token. */
const char *h_login_token(const h_proc *server, const char *username, const char *password);

/* Registers a string that no process log may contain. */
void h_sensitive(const char *s);
/* Fails the test when p's log contains a registered sensitive string. */
void h_assert_log_clean(const h_proc *p);

/* base64url without padding, and back (NULL when s is not base64url;
 * the result is NUL-terminated, *out_len excludes the NUL). */
char *h_b64url(const void *data, size_t n);
char *h_b64url_decode(const char *s, size_t n, size_t *out_len);
/* HMAC of data with key by `openssl dgst -<digest> -hmac key -binary`
 * (digest "sha256", "sha384", ...): the raw MAC, *mac_len bytes. */
const unsigned char *h_hmac(const char *digest, const char *key, const char *data, size_t *mac_len);
/* b64url(header).b64url(payload).b64url(HMAC-<digest>(key, the first two)):
 * a JWT minted without the server's code. */
const char *h_jwt_sign(const char *digest, const char *key, const char *header_json,
                       const char *payload_json);
/* h_jwt_sign("sha256", h_secret(), {"alg":"HS256"}, payload). */
const char *h_jwt_hs256(const char *payload_json);
/* Part 0 (header), 1 (payload) of a JWT decoded: as text, or parsed (NULL
 * when it is not base64url / JSON). */
const char *h_jwt_part_text(const char *token, int part);
json_t *h_jwt_part(const char *token, int part);
/* True when the token's signature is HMAC-SHA256(key, "header.payload")
 * (computed by openssl). */
bool h_jwt_signature_ok(const char *token, const char *key);

/* ---- talking to nodes directly (docs/CONTRACT.md §7) ---- */

/* One JSON-RPC 2.0 request (netstring-framed) to the node at addr
 * ("127.0.0.1:PORT") over a fresh connection; params_json is a JSON array
 * text ("[]" when NULL). Returns the whole reply object (harness-owned);
 * fails the test on a transport error or after 5 s. */
json_t *h_node_rpc(const char *addr, const char *method, const char *params_json);
/* The integer result of yeti.show.calls.count at addr. */
long long h_node_count(const char *addr);

/* A fake node inside the test process (a thread on 127.0.0.1:0) that
 * records every request it receives and serves a copy of `calls` (a JSON
 * array of call records): yeti.show.calls [] -> all, [tags] -> those with
 * that local_tag; yeti.show.calls.count; yeti.request.call.disconnect
 * [tag] -> "Dropped" and the call is gone (error -32001 "call not found"
 * when absent). Stopped at teardown. */
typedef struct h_fake_node h_fake_node;
h_fake_node *h_fake_node_start(const json_t *calls);
const char *h_fake_node_addr(const h_fake_node *n); /* "127.0.0.1:PORT" */
/* The requests received so far, in order, as [{"method":..,"params":..}]
 * (a harness-owned copy). */
json_t *h_fake_node_requests(h_fake_node *n);
void h_fake_node_clear(h_fake_node *n); /* forgets the requests so far */
/* From now on, answer `method` with the JSON-RPC error {code, message}. */
void h_fake_node_fail(h_fake_node *n, const char *method, int code, const char *message);
/* From now on, answer every request with `reply` as it is (a hostile node:
 * duplicate keys, a lying netstring header, ...): every "@ID@" in it is
 * replaced by the request's id; framed as a netstring when `frame`, else
 * sent as raw bytes. */
void h_fake_node_reply_raw(h_fake_node *n, const char *reply, bool frame);

/* ---- PostgreSQL (harness_pg.c) ---- */

/* One statement on uri; fails the test unless it succeeds. */
void h_pg_exec(const char *uri, const char *sql);
/* The first column of the first row of a query, as an integer. */
long long h_pg_int(const char *uri, const char *sql);
/* A fresh database `name` with the service's schema on the shared test
 * cluster (ACTIVECALLS_TEST_PG: a URI or a file holding one); its URI, or
 * NULL when the variable is not set (the test skips). */
const char *h_pg_fresh(const char *name);

/* The server's /metrics text, read raw (it is no JSON:API document, so it
 * is not saved for the schema check); fails unless 200. */
const char *h_metrics_text(const h_proc *server);

#endif
