/* it_cli: `activecalls pop|node add|list|remove` through the real binary
 * (docs/CONTRACTS.md): outputs, exit codes (0 ok, 1 error, 2 usage), refused
 * duplicates / missing pops / host-name endpoints, the --db default, and a
 * running server picking up added and removed nodes within ~2 s. Every
 * subcommand's options go through one driver (cli_getopt): the same
 * answers to --help, an unknown option (long, or short inside a cluster),
 * a missing value and a stray argument, whichever command it is. */
#include "harness.h"

#include <signal.h>

#include <sys/un.h>

#include <sys/socket.h>

#include <poll.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SEED_IDS                                                   \
    "1*FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86," \
    "1*03-3D73-55FA51B805CDE1BACF2FB0ED76C3D37B-2962144B354702AF"
#define NODE2_IDS "2*n2-a,2*n2-b,2*n2-c"
#define POP_HEADER "id\tname\n"
#define NODE_HEADER "id\tname\trpc_endpoint\tpop_id\n"

/* Runs the CLI and checks its exit code; on exit 1 or 2 it must say why on
 * stderr. Returns stdout. */
#define CLI_EXPECT(rc_expected, ...) \
    cli_expect(rc_expected, #__VA_ARGS__, h_cli(&out_, &err_, __VA_ARGS__, NULL), &out_, &err_)

/* out and err are read here, after h_cli has set them (argument evaluation
 * order is unspecified). */
static const char *cli_expect(int want, const char *what, int rc, char **outp, char **errp)
{
    const char *out = *outp, *err = *errp;
    if (rc != want)
        fail_msg("activecalls %s: exit %d, expected %d\nstdout: %s\nstderr: %s", what, rc, want, out, err);
    if (want != 0 && strlen(err) == 0)
        fail_msg("activecalls %s: exit %d without a message on stderr", what, rc);
    if (want != 0 && strstr(err, "AddressSanitizer") != NULL)
        fail_msg("activecalls %s: sanitizer report\n%s", what, err);
    return out;
}

static void test_pop_commands(void **state)
{
    char *out_, *err_;
    const char *db = h_db_path();

    assert_string_equal(CLI_EXPECT(0, "pop", "list", "--db", db), POP_HEADER);
    CLI_EXPECT(0, "pop", "add", "--id", "1", "--name", "pop-1", "--db", db);
    CLI_EXPECT(0, "pop", "add", "--id", "2", "--name", "Frankfurt DC", "--db", db);
    assert_string_equal(CLI_EXPECT(0, "pop", "list", "--db", db), POP_HEADER "1\tpop-1\n2\tFrankfurt DC\n");

    /* Duplicate id: refused, nothing changed. */
    CLI_EXPECT(1, "pop", "add", "--id", "1", "--name", "other", "--db", db);
    assert_string_equal(CLI_EXPECT(0, "pop", "list", "--db", db), POP_HEADER "1\tpop-1\n2\tFrankfurt DC\n");

    CLI_EXPECT(0, "pop", "remove", "--id", "2", "--db", db);
    assert_string_equal(CLI_EXPECT(0, "pop", "list", "--db", db), POP_HEADER "1\tpop-1\n");
    CLI_EXPECT(1, "pop", "remove", "--id", "2", "--db", db);

    /* Usage errors. */
    CLI_EXPECT(2, "pop", "add", "--id", "3", "--db", db);   /* no --name */
    CLI_EXPECT(2, "pop", "add", "--name", "x", "--db", db); /* no --id */
    CLI_EXPECT(2, "pop", "add", "--id", "abc", "--name", "x", "--db", db);
    CLI_EXPECT(2, "pop", "add", "--id", "3", "--name", "x", "--bogus", "--db", db);
    CLI_EXPECT(2, "pop", "remove", "--db", db);
    CLI_EXPECT(2, "pop", "frobnicate", "--db", db);
    CLI_EXPECT(2, "pop");
    CLI_EXPECT(2, "bogus");
    {
        int rc = h_cli(&out_, &err_, NULL); /* no command at all */
        cli_expect(2, "(nothing)", rc, &out_, &err_);
    }
    assert_string_equal(CLI_EXPECT(0, "pop", "list", "--db", db), POP_HEADER "1\tpop-1\n");
}

static void test_node_commands(void **state)
{
    char *out_, *err_;
    const char *db = h_db_path();
    CLI_EXPECT(0, "pop", "add", "--id", "1", "--name", "pop-1", "--db", db);

    assert_string_equal(CLI_EXPECT(0, "node", "list", "--db", db), NODE_HEADER);
    CLI_EXPECT(0, "node", "add", "--id", "1", "--name", "node-1", "--endpoint", "127.0.0.1:7001", "--pop-id",
               "1", "--db", db);
    CLI_EXPECT(0, "node", "add", "--id", "2", "--name", "node-2", "--endpoint", "[::1]:7002", "--pop-id", "1",
               "--db", db);
    const char *both = NODE_HEADER "1\tnode-1\t127.0.0.1:7001\t1\n"
                                   "2\tnode-2\t[::1]:7002\t1\n";
    assert_string_equal(CLI_EXPECT(0, "node", "list", "--db", db), both);

    /* Refused: duplicate id, missing pop (runtime errors, exit 1). */
    CLI_EXPECT(1, "node", "add", "--id", "1", "--name", "again", "--endpoint", "127.0.0.1:7003", "--pop-id",
               "1", "--db", db);
    CLI_EXPECT(1, "node", "add", "--id", "3", "--name", "node-3", "--endpoint", "127.0.0.1:7003", "--pop-id",
               "9", "--db", db);
    /* Refused before the store is touched (usage errors, exit 2): host
     * names (never resolved), no port, port out of range, bad ids. */
    const char *const bad_endpoints[] = {
        "switch1.example.com:7080", "localhost:7080", "127.0.0.1", "127.0.0.1:0",
        "127.0.0.1:70000",          "::1:7002"};
    for (size_t i = 0; i < sizeof bad_endpoints / sizeof bad_endpoints[0]; i++)
        CLI_EXPECT(2, "node", "add", "--id", "3", "--name", "node-3", "--endpoint", bad_endpoints[i],
                   "--pop-id", "1", "--db", db);
    CLI_EXPECT(2, "node", "add", "--id", "3", "--name", "node-3", "--endpoint", "127.0.0.1:7003", "--db",
               db); /* no --pop-id */
    CLI_EXPECT(2, "node", "add", "--id", "3", "--name", "node-3", "--endpoint", "127.0.0.1:7003", "--pop-id",
               "x", "--db", db);
    CLI_EXPECT(2, "node", "add", "--id", "-3", "--name", "node-3", "--endpoint", "127.0.0.1:7003", "--pop-id",
               "1", "--db", db);
    assert_string_equal(CLI_EXPECT(0, "node", "list", "--db", db), both);

    CLI_EXPECT(0, "node", "remove", "--id", "2", "--db", db);
    assert_string_equal(CLI_EXPECT(0, "node", "list", "--db", db),
                        NODE_HEADER "1\tnode-1\t127.0.0.1:7001\t1\n");
    CLI_EXPECT(1, "node", "remove", "--id", "2", "--db", db);
    CLI_EXPECT(2, "node", "remove", "--db", db);
}

/* --db defaults to $ACTIVECALLS_DB, else ./activecalls.db (cwd = temp dir). */
static void test_db_location(void **state)
{
    char *out_, *err_;
    const char *saved = getenv("ACTIVECALLS_DB");
    const char *saved_copy = saved ? h_strf("%s", saved) : NULL;
    const char *env_db = h_strf("%s/from-env.db", h_tmpdir());

    setenv("ACTIVECALLS_DB", env_db, 1);
    int rc = h_cli(&out_, &err_, "pop", "add", "--id", "5", "--name", "env-pop", NULL);
    if (saved_copy)
        setenv("ACTIVECALLS_DB", saved_copy, 1);
    else
        unsetenv("ACTIVECALLS_DB");
    cli_expect(0, "pop add (ACTIVECALLS_DB)", rc, &out_, &err_);
    assert_string_equal(CLI_EXPECT(0, "pop", "list", "--db", env_db), POP_HEADER "5\tenv-pop\n");

    unsetenv("ACTIVECALLS_DB");
    rc = h_cli(&out_, &err_, "pop", "add", "--id", "6", "--name", "cwd-pop", NULL);
    if (saved_copy) setenv("ACTIVECALLS_DB", saved_copy, 1);
    cli_expect(0, "pop add (default db)", rc, &out_, &err_);
    const char *cwd_db = h_strf("%s/activecalls.db", h_tmpdir());
    assert_int_equal(access(cwd_db, F_OK), 0);
    assert_string_equal(CLI_EXPECT(0, "pop", "list", "--db", cwd_db), POP_HEADER "6\tcwd-pop\n");
    /* --db wins over the environment. */
    assert_string_equal(CLI_EXPECT(0, "pop", "list", "--db", env_db), POP_HEADER "5\tenv-pop\n");
}

/* Polls the listing (every 100 ms, at most max_ms) until it shows exactly
 * ids and failed; fails with the last answer otherwise. Returns the time it
 * took. */
static double poll_listing(const h_proc *server, const char *ids, const char *failed, int max_ms)
{
    double t0 = h_now_ms();
    for (;;) {
        h_response *r = h_listing(server, NULL);
        if (r->status == 200 && strcmp(h_ids(r), ids) == 0 && strcmp(h_failed(r), failed) == 0) {
            h_assert_listing(r, ids, failed);
            return h_now_ms() - t0;
        }
        if (h_now_ms() - t0 > max_ms) {
            fprintf(stderr, "still not as expected after %d ms:\n", max_ms);
            h_assert_listing(r, ids, failed);
            fail_msg("unreachable");
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Runs `activecalls <cmd> a b c` (cmd one or two words; a NULL ends the
 * arguments early). */
static int run_cmd(char **out, char **err, const char *const cmd[2], const char *a, const char *b,
                   const char *c)
{
    if (cmd[1]) return h_cli(out, err, cmd[0], cmd[1], a, b, c, NULL);
    return h_cli(out, err, cmd[0], a, b, c, NULL);
}

static void expect_usage_error(const char *const cmd[2], const char *a, const char *b, const char *c,
                               const char *says)
{
    char *out, *err;
    int rc = run_cmd(&out, &err, cmd, a, b, c);
    const char *what =
        h_strf("%s%s%s %s %s %s", cmd[0], cmd[1] ? " " : "", cmd[1] ? cmd[1] : "", a, b ? b : "", c ? c : "");
    if (rc != 2) fail_msg("%s: exit %d, expected 2\nstderr: %s", what, rc, err);
    const char *prefix = h_strf("activecalls: %s%s%s: ", cmd[0], cmd[1] ? " " : "", cmd[1] ? cmd[1] : "");
    if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, says))
        fail_msg("%s: stderr does not start with \"%s\" and say \"%s\":\n%s", what, prefix, says, err);
    if (!strstr(err, "usage: activecalls")) fail_msg("%s: no usage on stderr:\n%s", what, err);
    if (*out) fail_msg("%s: a usage error printed on stdout: %s", what, out);
}

static void test_option_driver(void **state)
{
    const char *db = h_db_path();
    static const char *const cmds[][2] = {
        {"pop", "add"},      {"node", "list"}, {"user", "list"},
        {"demo-data", NULL}, {"db", "init"},   {"serve", NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const char *const *cmd = cmds[i];
        char *out, *err;
        /* help: usage on stdout, exit 0, even after other options */
        int rc = run_cmd(&out, &err, cmd, "--db", db, "--help");
        if (rc != 0 || strncmp(out, "usage: activecalls", 18) != 0)
            fail_msg("%s --help: exit %d\nstdout: %s\nstderr: %s", cmd[0], rc, out, err);
        rc = run_cmd(&out, &err, cmd, "-h", NULL, NULL);
        if (rc != 0 || strncmp(out, "usage: activecalls", 18) != 0)
            fail_msg("%s -h: exit %d\nstdout: %s\nstderr: %s", cmd[0], rc, out, err);
        expect_usage_error(cmd, "--db", db, "--bogus", "unknown option '--bogus'");
        /* a short option inside a cluster is named itself, not the word around it */
        expect_usage_error(cmd, "--db", db, "-xh", "unknown option '-x'");
        expect_usage_error(cmd, "-q", NULL, NULL, "unknown option '-q'");
        expect_usage_error(cmd, "--db", db, "--db", "option '--db' needs a value");
        expect_usage_error(cmd, "--db", db, "extra", "unexpected argument 'extra'");
        expect_usage_error(cmd, "extra", "--db", db, "unexpected argument 'extra'");
    }
    /* the database was never opened: nothing was created */
    assert_int_equal(access(db, F_OK), -1);
}

/* serve --config FILE: `key = value` lines as serve's long options, the
 * command line overriding them; `config check` validates a file alone and
 * names FILE:LINE of what is wrong; --version prints the one version. */
static void test_config_file(void **state)
{
    (void)state;
    char *out, *err;
    const char *good = h_write_file("good.conf",
                                    "# activecalls serve\n"
                                    "\n"
                                    "  refresh-ms = 500\n"
                                    "monitor = dry-run\n"
                                    "monitor-interval-ms=500\n");
    assert_int_equal(h_cli(&out, &err, "config", "check", good, NULL), 0);
    assert_string_equal(out, h_strf("%s: ok\n", good));
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"refresh-ms = 500\nnope = 1\n", ":2: unknown key 'nope'"},
        {"refresh-ms = 500\nrefresh-ms = 600\n", ":2: 'refresh-ms' is set twice (first on line 1)"},
        {"\n\nrefresh-ms = abc\n", ":3: invalid value for 'refresh-ms'"},
        {"listen\n", ":1: expected `key = value`"},
        {"config = other.conf\n", ":1: unknown key 'config'"},
        {"help = 1\n", ":1: unknown key 'help'"},
        {"monitor = enforce\nmonitor-interval-ms = 200\n", "shorter than --refresh-ms"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *path = h_write_file(h_strf("bad%zu.conf", i), bad[i].text);
        int rc = h_cli(&out, &err, "config", "check", path, NULL);
        if (rc != 2 || !strstr(err, bad[i].says) || *out)
            fail_msg("config check of %s: exit %d, stderr %s (expected \"%s\")", bad[i].text, rc, err,
                     bad[i].says);
    }
    /* serve reads it; an option given on the command line wins */
    const char *conf =
        h_write_file("serve.conf", h_strf("secret-file = %s\nmetrics-allow = 10.0.0.0/8\n", h_secret_file()));
    const char *none[] = {H_NO_AUTH, NULL};
    h_proc *s = h_start_server_bare(h_db_path(), "--config", conf, NULL);
    assert_int_equal(h_http("GET", h_url(s, "/metrics"), none, NULL)->status, 403);
    assert_int_equal(h_stop(s), 0);
    s = h_start_server_bare(h_db_path(), "--config", conf, "--metrics-allow", "127.0.0.0/8", NULL);
    assert_non_null(strstr(h_metrics_text(s), "ruby_yeti_ac"));
    assert_int_equal(h_stop(s), 0);
    assert_int_equal(h_cli(&out, &err, "--version", NULL), 0);
    assert_true(h_matches(out, "^activecalls [0-9]+\\.[0-9]+\\.[0-9]+\n$"));
}

/* The packaged config (packaging/activecalls.conf) names every option of
 * serve, and checks, as it is and with every example value set. */
static void test_packaged_config(void **state)
{
    (void)state;
    const char *path = h_strf("%s/packaging/activecalls.conf", getenv("AC_SOURCE_DIR"));
    char *out, *err, *help;
    assert_int_equal(h_cli(&out, &err, "config", "check", path, NULL), 0);
    assert_int_equal(h_cli(&help, &err, "serve", "--help", NULL), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char conf[65536];
    size_t n = fread(conf, 1, sizeof conf - 1, f);
    fclose(f);
    conf[n] = '\0';
    int options = 0;
    for (const char *p = help; (p = strstr(p, "\n  --")); p++) {
        char name[64];
        if (sscanf(p + 5, "%63[a-z0-9-]", name) != 1 || strcmp(name, "config") == 0) continue;
        options++;
        if (!h_matches(conf, h_strf("(^|\n)(# )?%s =( |\n)", name)))
            fail_msg("%s does not name %s", path, name);
    }
    if (options < 40) fail_msg("serve --help names only %d options", options);
    /* every example uncommented: the values the file shows are valid */
    static char all[65536];
    size_t k = 0;
    for (const char *line = conf; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        char one[512];
        snprintf(one, sizeof one, "%.*s", (int)(len < sizeof one ? len : sizeof one - 1), line);
        one[strcspn(one, "\n")] = '\0';
        bool example = h_matches(one, "^# [a-z0-9-]+ = [^ ]+$");
        if (example) line += 2, len -= 2;
        if (example || line[0] != '#') {
            memcpy(all + k, line, len);
            k += len;
        }
        line += len;
    }
    all[k] = '\0';
    const char *uncommented = h_write_file("all.conf", all);
    if (h_cli(&out, &err, "config", "check", uncommented, NULL) != 0)
        fail_msg("the packaged config with its examples set does not check:\n%s\n%s", err, all);
}

/* SIGHUP reads the config again: what may change is applied and logged,
 * what needs a restart is named; a file that does not parse changes
 * nothing, and the service goes on. */
static void test_reload(void **state)
{
    (void)state;
    const char *db = h_db_path();
    const char *conf = h_strf("%s/reload.conf", h_tmpdir());
    h_write_file("reload.conf", "monitor = dry-run\nmonitor-max-drops = 100\n");
    h_proc *s = h_start_server(db, "--config", conf, NULL);
    const char *policy =
        h_write_file("policy.yml", "operator:\n  RealtimeData/ActiveCall:\n    read: true\n");
    h_write_file("reload.conf",
                 h_strf("monitor = enforce\nmonitor-max-drops = 5\nnode-timeout-ms = 900\n"
                        "policy = %s\n",
                        policy));
    kill(s->pid, SIGHUP);
    double until = h_now_ms() + 10000;
    while (!h_log_count(s, "msg=reload ") && h_now_ms() < until) usleep(50 * 1000);
    if (!h_log_count(s, "msg=reload changed=policy,monitor,monitor-max-drops restart_needed=node-timeout-ms"))
        fail_msg("no reload line naming what changed");
    assert_int_equal(h_listing(s, NULL)->status, 200); /* root, under the policy read again */
    until = h_now_ms() + 10000;                        /* the monitor takes its new mode at its next run */
    const char *mode = NULL;
    while (h_now_ms() < until) {
        h_response *r = h_http("GET", h_url(s, "/api/rest/admin/monitor-decisions"), NULL, NULL);
        mode = json_string_value(json_object_get(json_object_get(h_json(r), "meta"), "mode"));
        if (mode && strcmp(mode, "enforce") == 0) break;
        usleep(100 * 1000);
    }
    assert_string_equal(mode, "enforce");
    /* the log level and a limit: tokens from then on live 30 s; info
     * lines (one per request) stop, but the reload's own line shows */
    h_write_file("reload.conf",
                 h_strf("monitor = enforce\nmonitor-max-drops = 5\nnode-timeout-ms = 900\n"
                        "policy = %s\ntoken-lifetime = 30\nlog-level = warn\n",
                        policy));
    kill(s->pid, SIGHUP);
    until = h_now_ms() + 10000;
    while (h_log_count(s, "msg=reload ") < 2 && h_now_ms() < until) usleep(50 * 1000);
    if (!h_log_count(s, "msg=reload changed=token-lifetime,log-level\n")) /* node-timeout-ms: as before */
        fail_msg("no reload line naming the log level and the token lifetime");
    json_t *claims = h_jwt_part(h_login_token(s, H_ADMIN_USERNAME, H_ADMIN_PASSWORD), 1);
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")) - (long long)time(NULL) <= 30, 1);
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")) - (long long)time(NULL) >= 28, 1);
    int requests = h_log_count(s, "msg=request ");
    assert_int_equal(h_listing(s, NULL)->status, 200);
    usleep(200 * 1000);
    assert_int_equal(h_log_count(s, "msg=request "), requests);
    /* a file that does not parse: nothing changes, the service goes on */
    h_write_file("reload.conf", "monitor = enforce\nnope = 1\n");
    kill(s->pid, SIGHUP);
    until = h_now_ms() + 10000;
    while (!h_log_count(s, "reload-failed") && h_now_ms() < until) usleep(50 * 1000);
    assert_int_equal(h_log_count(s, "reload-failed"), 1);
    assert_true(h_log_count(s, "reload.conf:2: unknown key 'nope'") == 1);
    assert_int_equal(h_listing(s, NULL)->status, 200);
    assert_int_equal(h_stop(s), 0);
}

/* Under systemd (Type=notify) serve says READY=1 once it listens, and
 * STOPPING=1 when it stops, on $NOTIFY_SOCKET. */
static void test_sd_notify(void **state)
{
    (void)state;
    const char *sock = h_strf("%s/notify.sock", h_tmpdir());
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    assert_true(strlen(sock) < sizeof a.sun_path);
    strcpy(a.sun_path, sock);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    setenv("NOTIFY_SOCKET", sock, 1);
    h_proc *s = h_start_server(h_db_path(), NULL);
    unsetenv("NOTIFY_SOCKET");
    char msg[512];
    struct pollfd p = {fd, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 10000), 1);
    ssize_t r = recv(fd, msg, sizeof msg - 1, 0);
    assert_true(r > 0);
    msg[r] = '\0';
    assert_string_equal(msg, h_strf("READY=1\nSTATUS=serving on %s", s->addr));
    assert_int_equal(h_stop(s), 0);
    assert_int_equal(poll(&p, 1, 10000), 1);
    r = recv(fd, msg, sizeof msg - 1, 0);
    assert_true(r > 0);
    msg[r] = '\0';
    assert_string_equal(msg, "STOPPING=1");
    close(fd);
}

static void test_live_changes(void **state)
{
    char *out_, *err_;
    const char *db = h_db_path();
    const int max_ms = 2500; /* the server caches the node list briefly (~1-2 s) */
    h_proc *n1 = h_start_nodesim(1, 1, "--calls-file", h_data_path("seed_calls.json"), NULL);
    h_proc *n2 = h_start_nodesim(2, 1, "--calls-file", h_data_path("filter_calls_node2.json"), NULL);
    h_add_pop(db, 1);
    h_add_node(db, 1, n1->addr, 1);
    h_proc *server = h_start_server(db, "--node-timeout-ms", "1000", NULL);
    h_assert_listing(h_listing(server, NULL), SEED_IDS, NULL);

    /* Added while the server runs: asked soon. */
    CLI_EXPECT(0, "node", "add", "--id", "2", "--name", "node-2", "--endpoint", n2->addr, "--pop-id", "1",
               "--db", db);
    double took = poll_listing(server, SEED_IDS "," NODE2_IDS, "", max_ms);
    fprintf(stderr, "note: added node seen after %.0f ms\n", took);

    /* A node nobody listens for: reported once known. */
    const char *dead = h_strf("127.0.0.1:%d", h_closed_port());
    CLI_EXPECT(0, "node", "add", "--id", "3", "--name", "node-3", "--endpoint", dead, "--pop-id", "1", "--db",
               db);
    poll_listing(server, SEED_IDS "," NODE2_IDS, "3/node-3/connection-refused", max_ms);

    /* Removed: no longer asked. */
    CLI_EXPECT(0, "node", "remove", "--id", "3", "--db", db);
    CLI_EXPECT(0, "node", "remove", "--id", "2", "--db", db);
    took = poll_listing(server, SEED_IDS, "", max_ms);
    fprintf(stderr, "note: removed nodes gone after %.0f ms\n", took);
    /* Stopping node 2 now changes nothing: it is not asked. */
    assert_int_equal(h_stop(n2), 0);
    h_assert_listing(h_listing(server, NULL), SEED_IDS, NULL);
    h_assert_listing(h_listing(server, "filter[node-id-eq]=2"), "", NULL);

    assert_int_equal(h_stop(server), 0);
    assert_int_equal(h_stop(n1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pop_commands, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_node_commands, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_db_location, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_option_driver, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_live_changes, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_config_file, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_packaged_config, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_sd_notify, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_reload, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
