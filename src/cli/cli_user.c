/* cli_user: the `user` subcommand — admin users in the store (docs/CONTRACT.md §6, §8):
 * add, passwd, enable, disable, list.
 *
 * Same conventions as cli_store.c: a table of verbs naming the options each
 * accepts and needs, --db as there, exit 0 ok / 1 runtime error / 2 usage
 * error. The record is checked (store_user_normalize) before the database
 * is opened, and the database is checked (username or id taken, user
 * missing) before a password is asked for, so mistakes cost no typing.
 *
 * Passwords are never taken from argv or the environment. When stdin is a
 * terminal the password is asked twice on /dev/tty (stdin and stderr when
 * there is none) with echo off; SIGINT, SIGTERM, SIGHUP and SIGQUIT are
 * blocked except inside ppoll, so the terminal is restored on every path
 * before the signal is re-raised with its previous disposition. Otherwise
 * exactly one line is read from stdin with read(2) — no stdio buffer keeps
 * a copy — without its "\n" / "\r\n", so scripts can pipe it. Passwords
 * must be 1..PASSWORD_KEY_BYTES bytes without NUL (bcrypt would ignore the
 * rest of a longer one, so a new password may not have any); they are hashed with
 * password_hash (bcrypt $2b$, PASSWORD_COST) and every buffer that held the
 * password or the hash is wiped with explicit_bzero. Neither is ever
 * printed; core dumps are switched off while they are in memory.
 *
 * Output: `user add` prints "user NAME added with id N" (the id is what
 * tokens carry as `sub`); passwd, enable and disable print nothing; `user
 * list` prints the header "id\tusername\tenabled\troles\tallowed_ips" and
 * one row per user (enabled "true"/"false"; never the hash). */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h> /* struct option */
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include "auth/password.h"
#include "store/store.h"

_Static_assert(STORE_HASH_MAX >= PASSWORD_HASH_MAX, "a hash must fit the store's field");

/* Room for a maximal password, a '\r', and one byte more to see it is too long. */
#define PW_BUF (PASSWORD_KEY_BYTES + 2)

enum { F_USERNAME = 1u, F_ROLES = 2u, F_IPS = 4u, F_ID = 8u, F_DISABLED = 16u, F_DB = 32u };
enum { OPT_USERNAME = 256, OPT_ROLES, OPT_IPS, OPT_ID, OPT_DISABLED, OPT_DB };

static const cli_optdef optdefs[] = {
    {OPT_USERNAME, F_USERNAME, "--username"}, {OPT_ROLES, F_ROLES, "--roles"},
    {OPT_IPS, F_IPS, "--allowed-ips"},        {OPT_ID, F_ID, "--id"},
    {OPT_DISABLED, F_DISABLED, "--disabled"}, {OPT_DB, F_DB, "--db"},
};

static const struct option long_opts[] = {
    {"username", required_argument, NULL, OPT_USERNAME},
    {"roles", required_argument, NULL, OPT_ROLES},
    {"allowed-ips", required_argument, NULL, OPT_IPS},
    {"id", required_argument, NULL, OPT_ID},
    {"disabled", no_argument, NULL, OPT_DISABLED},
    {"db", required_argument, NULL, OPT_DB},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct opts {
    const char *db;
    const char *username;
    const char *roles;
    const char *ips;
    int64_t id;
    unsigned seen;
} opts;

typedef struct verb verb;
struct verb {
    const char *name;
    unsigned accepts;
    unsigned requires;
    int (*run)(const verb *v, const opts *o); /* the exit code */
};

static const char usage_text[] =
    "usage: activecalls user add --username U --roles R1,R2 [--allowed-ips CIDR,...] [--id N]\n"
    "                            [--disabled] [--db PATH]\n"
    "       activecalls user passwd --username U [--db PATH]\n"
    "       activecalls user enable --username U [--db PATH]\n"
    "       activecalls user disable --username U [--db PATH]\n"
    "       activecalls user list [--db PATH]\n"
    "add and passwd read the password from the terminal (asked twice, not echoed)\n"
    "or, when stdin is not a terminal, as one line from stdin; never from arguments.\n"
    "--allowed-ips: IPv4/IPv6 addresses or CIDR ranges; none means any address.\n"
    "--db defaults to $ACTIVECALLS_DB, else " CLI_DEFAULT_DB ".\n";

/* ---- messages ---- */

static int usage_error(const verb *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const verb *v, const char *fmt, ...)
{
    char what[64];
    snprintf(what, sizeof what, "user%s%s", v ? " " : "", v ? v->name : "");
    va_list ap;
    va_start(ap, fmt);
    int rc = cli_usage_verror(what, usage_text, fmt, ap);
    va_end(ap);
    return rc;
}

/* A store outcome as an exit code: invalid input is a usage error. */
static int store_error(const verb *v, store_status st, const char *err)
{
    if (st == STORE_INVALID) return usage_error(v, "%s", err);
    return cli_runtime_error("%s", err);
}

/* ---- option parsing ---- */

/* An option the verb accepts, given once (cli_parse_verb checked). */
static int take_opt(const cli_verb_opts *vo, const cli_optdef *d, const char *arg)
{
    opts *o = vo->ctx;
    switch (d->bit) {
    case F_ID: return cli_take_id(vo, d, arg, &o->id);
    case F_DB: return cli_take_db(vo, arg, &o->db);
    case F_USERNAME: o->username = arg; break;
    case F_ROLES: o->roles = arg; break;
    case F_IPS: o->ips = arg; break;
    default: break; /* --disabled: the bit is all */
    }
    return CLI_CONTINUE;
}

/* Parses argv (argv[0] is the verb): CLI_CONTINUE, or the exit code. */
static int parse_opts(const verb *v, int argc, char **argv, opts *o)
{
    char what[64];
    snprintf(what, sizeof what, "user %s", v->name);
    const cli_verb_opts vo = {long_opts,  optdefs,     sizeof optdefs / sizeof optdefs[0],
                              v->accepts, v->requires, what,
                              usage_text, take_opt,    o};
    return cli_parse_verb(argc, argv, &vo, &o->seen);
}

static int copy_field(const verb *v, const char *flag, const char *src, char *dst, size_t cap)
{
    size_t n = strlen(src);
    if (n >= cap) return usage_error(v, "%s is longer than %zu bytes", flag, cap - 1);
    memcpy(dst, src, n + 1);
    return CLI_CONTINUE;
}

/* ---- reading a password ---- */

enum { LINE_EOF = -1, LINE_TOO_LONG = -2, LINE_ERROR = -3, LINE_SIGNAL = -4 };

static volatile sig_atomic_t got_signal;

static void on_signal(int sig) { got_signal = sig; }

static const int guarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NGUARDED (sizeof guarded_signals / sizeof guarded_signals[0])

/* Reads one line from fd a byte at a time into buf[cap] (NUL-terminated,
 * without "\n" or "\r\n"). With wait_mask, waits in ppoll under that mask
 * (the only place the guarded signals are delivered) and gives up with
 * LINE_SIGNAL once one arrived. Returns the length or a LINE_ code. */
static int read_line(int fd, char *buf, size_t cap, const sigset_t *wait_mask)
{
    size_t len = 0;
    bool any = false;
    char c = 0;
    int rv = 0;
    for (;;) {
        if (wait_mask) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (ppoll(&p, 1, NULL, wait_mask) < 0) {
                if (errno != EINTR) {
                    rv = LINE_ERROR;
                    break;
                }
                if (got_signal) {
                    rv = LINE_SIGNAL;
                    break;
                }
                continue;
            }
        }
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rv = LINE_ERROR;
            break;
        }
        if (r == 0) {
            rv = any ? 0 : LINE_EOF;
            break;
        }
        any = true;
        if (c == '\n') break;
        if (len + 1 >= cap) {
            rv = LINE_TOO_LONG;
            break;
        }
        buf[len++] = c;
    }
    explicit_bzero(&c, sizeof c);
    if (rv < 0) {
        explicit_bzero(buf, cap);
        return rv;
    }
    if (len > 0 && buf[len - 1] == '\r') len--;
    buf[len] = '\0';
    return (int)len;
}

/* Turns a read_line result into 0, or -1 after saying what was wrong. */
static int check_line(int n, const char *buf)
{
    switch (n) {
    case LINE_EOF: cli_runtime_error("no password given"); return -1;
    case LINE_TOO_LONG:
        cli_runtime_error("the password is longer than %d bytes (bcrypt would ignore the rest)",
                          PASSWORD_KEY_BYTES);
        return -1;
    case LINE_ERROR: cli_runtime_error("reading the password: %s", strerror(errno)); return -1;
    case LINE_SIGNAL: return -1; /* the caller re-raises it */
    default: break;
    }
    if (n == 0) {
        cli_runtime_error("empty password refused");
        return -1;
    }
    if (n > PASSWORD_KEY_BYTES) {
        cli_runtime_error("the password is longer than %d bytes (bcrypt would ignore the rest)",
                          PASSWORD_KEY_BYTES);
        return -1;
    }
    if (memchr(buf, '\0', (size_t)n)) {
        cli_runtime_error("the password contains a NUL byte");
        return -1;
    }
    return 0;
}

static void write_all(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

/* Ends the prompt's line (the Enter was not echoed), keeping errno for the
 * message about a failed read. */
static void newline(int fd)
{
    int e = errno;
    write_all(fd, "\n");
    errno = e;
}

/* The terminal state to put back, whatever ends the prompt. */
typedef struct tty_session {
    int in, out;   /* read the password from in, prompt on out */
    bool own;      /* in/out is /dev/tty, opened here */
    bool echo_off; /* saved must be restored */
    struct termios saved;
    sigset_t old_mask;
    bool handled[NGUARDED];
    struct sigaction old_act[NGUARDED];
} tty_session;

static int tty_begin(tty_session *t)
{
    memset(t, 0, sizeof *t);
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    t->own = fd >= 0;
    t->in = fd >= 0 ? fd : STDIN_FILENO;
    t->out = fd >= 0 ? fd : STDERR_FILENO;

    /* block first, then handle: a signal from here on waits for ppoll */
    sigset_t block;
    sigemptyset(&block);
    for (size_t i = 0; i < NGUARDED; i++) sigaddset(&block, guarded_signals[i]);
    sigprocmask(SIG_BLOCK, &block, &t->old_mask);
    got_signal = 0;
    for (size_t i = 0; i < NGUARDED; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        if (sigaction(guarded_signals[i], NULL, &t->old_act[i]) != 0) continue;
        if (t->old_act[i].sa_handler == SIG_IGN) continue; /* e.g. nohup: keep ignoring */
        sa.sa_handler = on_signal;
        sigfillset(&sa.sa_mask);
        sa.sa_flags = 0; /* no SA_RESTART: ppoll must return */
        t->handled[i] = sigaction(guarded_signals[i], &sa, NULL) == 0;
    }

    if (tcgetattr(t->in, &t->saved) != 0)
        return cli_runtime_error("reading the terminal settings: %s", strerror(errno));
    struct termios quiet = t->saved;
    quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHOE | ECHOK | ECHONL);
    if (tcsetattr(t->in, TCSAFLUSH, &quiet) != 0)
        return cli_runtime_error("turning off the terminal echo: %s", strerror(errno));
    t->echo_off = true;
    return CLI_OK;
}

/* Restores the terminal, then the signal mask (a pending signal is caught
 * by on_signal), then the dispositions; re-raises a caught signal. */
static void tty_end(tty_session *t)
{
    if (t->echo_off) tcsetattr(t->in, TCSAFLUSH, &t->saved);
    sigprocmask(SIG_SETMASK, &t->old_mask, NULL);
    for (size_t i = 0; i < NGUARDED; i++)
        if (t->handled[i]) sigaction(guarded_signals[i], &t->old_act[i], NULL);
    if (t->own) close(t->in);
}

/* Asks on the terminal twice; 0 with pw filled, else the exit code (a
 * caught signal is re-raised after everything is restored). */
static int ask_password_tty(char pw[PW_BUF])
{
    char again[PW_BUF];
    tty_session t;
    int rc = tty_begin(&t);
    if (rc == CLI_OK) {
        write_all(t.out, "Password: ");
        int n = read_line(t.in, pw, PW_BUF, &t.old_mask);
        newline(t.out);
        rc = check_line(n, pw) == 0 ? CLI_OK : CLI_RUNTIME;
    }
    if (rc == CLI_OK) {
        write_all(t.out, "Repeat password: ");
        int n = read_line(t.in, again, PW_BUF, &t.old_mask);
        newline(t.out);
        rc = check_line(n, again) == 0 ? CLI_OK : CLI_RUNTIME;
        if (rc == CLI_OK && strcmp(pw, again) != 0) rc = cli_runtime_error("passwords do not match");
    }
    explicit_bzero(again, sizeof again);
    if (rc != CLI_OK) explicit_bzero(pw, PW_BUF);
    tty_end(&t);
    int sig = got_signal;
    if (sig) {
        got_signal = 0;
        raise(sig); /* the previous disposition: by default, the end */
        return cli_runtime_error("interrupted");
    }
    return rc;
}

/* The new password into pw: 0, or the exit code (message printed). */
static int new_password(char pw[PW_BUF])
{
    if (isatty(STDIN_FILENO)) return ask_password_tty(pw);
    int n = read_line(STDIN_FILENO, pw, PW_BUF, NULL);
    return check_line(n, pw) == 0 ? CLI_OK : CLI_RUNTIME;
}

/* Reads a new password and writes its bcrypt hash into hash. */
static int new_hash(char hash[PASSWORD_HASH_MAX])
{
    char pw[PW_BUF];
    int rc = new_password(pw);
    if (rc == CLI_OK) {
        char err[128] = "";
        if (password_hash(pw, PASSWORD_COST, hash, err) != 0)
            rc = cli_runtime_error("hashing the password: %s", err);
    }
    explicit_bzero(pw, sizeof pw);
    return rc;
}

/* ---- verbs ---- */

static store *open_store(const opts *o)
{
    char err[STORE_ERR_LEN] = "";
    store *s = store_open(cli_db_location(o->db), err);
    if (!s) cli_runtime_error("%s", err);
    return s;
}

/* CLI_CONTINUE when neither the username nor the id is taken (the add
 * itself still decides: this only spares typing a password in vain). */
static int check_free(store *s, const store_admin_user *u)
{
    char err[STORE_ERR_LEN] = "";
    store_admin_user other;
    int rc = CLI_CONTINUE;
    store_status st = store_user_find(s, u->username, &other, err);
    if (st == STORE_OK) {
        rc = cli_runtime_error("username '%s' already exists", u->username);
    } else if (st != STORE_NOT_FOUND) {
        rc = cli_runtime_error("%s", err);
    } else if (u->id > 0) {
        st = store_user_get(s, u->id, &other, err);
        if (st == STORE_OK)
            rc = cli_runtime_error("user id %" PRId64 " already exists", u->id);
        else if (st != STORE_NOT_FOUND)
            rc = cli_runtime_error("%s", err);
    }
    explicit_bzero(&other, sizeof other);
    return rc;
}

static int user_add(const verb *v, const opts *o)
{
    store_admin_user u;
    char err[STORE_ERR_LEN] = "";
    memset(&u, 0, sizeof u);
    u.id = o->id;
    u.enabled = !(o->seen & F_DISABLED);
    int rc = copy_field(v, "--username", o->username, u.username, sizeof u.username);
    if (rc == CLI_CONTINUE) rc = copy_field(v, "--roles", o->roles, u.roles, sizeof u.roles);
    if (rc == CLI_CONTINUE && o->ips)
        rc = copy_field(v, "--allowed-ips", o->ips, u.allowed_ips, sizeof u.allowed_ips);
    if (rc != CLI_CONTINUE) return rc;
    store_status st = store_user_normalize(&u, err);
    if (st != STORE_OK) return store_error(v, st, err);

    store *s = open_store(o);
    if (!s) return CLI_RUNTIME;
    rc = check_free(s, &u);
    if (rc == CLI_CONTINUE) rc = new_hash(u.encrypted_password);
    if (rc == CLI_OK) {
        st = store_user_add(s, &u, err);
        rc = st == STORE_OK ? CLI_OK : store_error(v, st, err);
    }
    if (rc == CLI_OK) printf("user %s added with id %" PRId64 "\n", u.username, u.id);
    explicit_bzero(&u, sizeof u);
    store_close(s);
    return rc;
}

static int user_passwd(const verb *v, const opts *o)
{
    char err[STORE_ERR_LEN] = "";
    store_status st = store_username_validate(o->username, err);
    if (st != STORE_OK) return store_error(v, st, err);
    store *s = open_store(o);
    if (!s) return CLI_RUNTIME;
    store_admin_user u;
    st = store_user_find(s, o->username, &u, err);
    explicit_bzero(&u, sizeof u);
    int rc = st == STORE_OK ? new_hash(u.encrypted_password) : store_error(v, st, err);
    if (rc == CLI_OK) {
        st = store_user_set_password(s, o->username, u.encrypted_password, err);
        rc = st == STORE_OK ? CLI_OK : store_error(v, st, err);
    }
    explicit_bzero(&u, sizeof u);
    store_close(s);
    return rc;
}

static int set_enabled(const verb *v, const opts *o, bool enabled)
{
    char err[STORE_ERR_LEN] = "";
    store_status st = store_username_validate(o->username, err);
    if (st != STORE_OK) return store_error(v, st, err);
    store *s = open_store(o);
    if (!s) return CLI_RUNTIME;
    st = store_user_set_enabled(s, o->username, enabled, err);
    store_close(s);
    return st == STORE_OK ? CLI_OK : store_error(v, st, err);
}

static int user_enable(const verb *v, const opts *o) { return set_enabled(v, o, true); }

static int user_disable(const verb *v, const opts *o) { return set_enabled(v, o, false); }

/* A stored value as one tab-separated field: control bytes (a database
 * edited by hand) become '?', so rows stay rows and the terminal safe. */
static void put_field(const char *s)
{
    for (; *s; s++) putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static int user_list(const verb *v, const opts *o)
{
    char err[STORE_ERR_LEN] = "";
    store *s = open_store(o);
    if (!s) return CLI_RUNTIME;
    store_admin_user *users = NULL;
    size_t n = 0;
    store_status st = store_user_list(s, &users, &n, err);
    store_close(s);
    if (st != STORE_OK) return store_error(v, st, err);
    fputs("id\tusername\tenabled\troles\tallowed_ips\n", stdout);
    for (size_t i = 0; i < n; i++) {
        printf("%" PRId64 "\t", users[i].id);
        put_field(users[i].username);
        printf("\t%s\t", users[i].enabled ? "true" : "false");
        put_field(users[i].roles);
        putchar('\t');
        put_field(users[i].allowed_ips);
        putchar('\n');
    }
    free(users);
    return CLI_OK;
}

static const verb verbs[] = {
    {"add", F_USERNAME | F_ROLES | F_IPS | F_ID | F_DISABLED | F_DB, F_USERNAME | F_ROLES, user_add},
    {"passwd", F_USERNAME | F_DB, F_USERNAME, user_passwd},
    {"enable", F_USERNAME | F_DB, F_USERNAME, user_enable},
    {"disable", F_USERNAME | F_DB, F_USERNAME, user_disable},
    {"list", F_DB, 0, user_list},
};

/* ---- driver ---- */

/* No core file may carry a password or a hash out of this process. */
static void no_core_dumps(void)
{
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
}

int cli_user(int argc, char **argv)
{
    if (argc < 2) return usage_error(NULL, "missing command (add, passwd, enable, disable or list)");
    if (cli_is_help(argv[1])) {
        fputs(usage_text, stdout);
        return CLI_OK;
    }
    const verb *v = NULL;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (!strcmp(verbs[i].name, argv[1])) v = &verbs[i];
    if (!v) return usage_error(NULL, "unknown command '%s'", argv[1]);
    opts o;
    memset(&o, 0, sizeof o);
    int rc = parse_opts(v, argc - 1, argv + 1, &o);
    if (rc != CLI_CONTINUE) return rc;
    no_core_dumps();
    rc = v->run(v, &o);
    if (rc == CLI_OK && (fflush(stdout) != 0 || ferror(stdout)))
        return cli_runtime_error("writing the output: %s", strerror(errno));
    return rc;
}
