/* harness: see harness.h. */
#include "harness.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "util/clock.h"

#define H_MAX_PROCS 64
#define H_MAX_ARGS 64
#define H_START_TIMEOUT_MS 10000
#define H_STOP_TIMEOUT_MS 10000
#define H_CLI_TIMEOUT_MS 10000
#define H_VALIDATE_TIMEOUT_MS 120000

typedef struct h_alloc {
    void *p;
    void (*fn)(void *);
} h_alloc;

static struct {
    char tmpdir[PATH_MAX];   /* "" outside a test */
    char docs_dir[PATH_MAX]; /* "" until the first document */
    int docs_n;
    h_proc *procs[H_MAX_PROCS];
    size_t n_procs;
    h_alloc *allocs;
    size_t n_allocs, cap_allocs;
    /* authentication */
    char secret[64]; /* "" until the test's first h_secret() */
    struct {
        char *db;
        int64_t admin_id;
    } seeded[16]; /* databases given the root admin user (strings in the arena) */
    size_t n_seeded;
    const char **sensitive; /* strings no process log may contain (arena) */
    size_t n_sensitive, cap_sensitive;
} H;

/* ------------------------------------------------------------------ */
/* memory owned by the harness until teardown                          */

static void *h_keep(void *p, void (*fn)(void *))
{
    if (p == NULL) fail_msg("out of memory");
    if (H.n_allocs == H.cap_allocs) {
        size_t cap = H.cap_allocs ? H.cap_allocs * 2 : 64;
        h_alloc *a = realloc(H.allocs, cap * sizeof *a);
        if (a == NULL) fail_msg("out of memory");
        H.allocs = a;
        H.cap_allocs = cap;
    }
    H.allocs[H.n_allocs].p = p;
    H.allocs[H.n_allocs].fn = fn;
    H.n_allocs++;
    return p;
}

void *h_own(void *p, void (*fn)(void *)) { return h_keep(p, fn); }

static void free_allocs(void)
{
    /* Newest first: a response is freed before nothing that it points to. */
    while (H.n_allocs > 0) {
        H.n_allocs--;
        H.allocs[H.n_allocs].fn(H.allocs[H.n_allocs].p);
    }
    free(H.allocs);
    H.allocs = NULL;
    H.cap_allocs = 0;
}

char *h_strf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) fail_msg("out of memory");
    return h_keep(s, free);
}

/* A growable string (not owned by the arena). */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (s == NULL) fail_msg("out of memory");
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* Hands the buffer over to the arena (always a valid string). */
static char *sb_keep(sbuf *b)
{
    if (b->s == NULL) sb_add(b, "", 0);
    return h_keep(b->s, free);
}

/* snprintf into a fixed buffer; a path that does not fit fails the test. */
#define H_FORMAT(buf, ...)                                                             \
    do {                                                                               \
        int n_ = snprintf((buf), sizeof(buf), __VA_ARGS__);                            \
        if (n_ < 0 || (size_t)n_ >= sizeof(buf)) fail_msg("path too long: %s", (buf)); \
    } while (0)

/* ------------------------------------------------------------------ */
/* paths                                                               */

static const char *source_dir(void)
{
    static char dir[PATH_MAX];
    if (dir[0]) return dir;
    const char *env = getenv("AC_SOURCE_DIR");
    char guess[PATH_MAX];
    if (env == NULL || env[0] == '\0') {
        /* __FILE__ is absolute under CMake: strip tests/integration/harness.c */
        snprintf(guess, sizeof guess, "%s", __FILE__);
        char *p = strstr(guess, "/tests/integration/harness.c");
        if (p != NULL)
            *p = '\0';
        else
            snprintf(guess, sizeof guess, ".");
        env = guess;
    }
    if (realpath(env, dir) == NULL) snprintf(dir, sizeof dir, "%s", env);
    return dir;
}

static const char *binary(const char *var, const char *fallback)
{
    const char *p = getenv(var);
    if (p != NULL && p[0] != '\0') return p;
    return h_strf("%s/build/%s", source_dir(), fallback);
}

static const char *server_bin(void) { return binary("AC_BIN", "activecalls"); }
static const char *nodesim_bin(void) { return binary("AC_NODESIM", "activecalls-nodesim"); }

const char *h_tmpdir(void)
{
    if (H.tmpdir[0] == '\0') fail_msg("h_tmpdir outside a test (use h_setup/h_teardown)");
    return H.tmpdir;
}

const char *h_db_path(void) { return h_strf("%s/activecalls.db", h_tmpdir()); }

const char *h_data_path(const char *name) { return h_strf("%s/tests/data/%s", source_dir(), name); }

double h_now_ms(void) { return (double)clock_now_us() / 1000.0; }

bool h_matches(const char *s, const char *ere)
{
    regex_t re;
    if (s == NULL) return false;
    if (regcomp(&re, ere, REG_EXTENDED | REG_NOSUB) != 0) fail_msg("bad regex %s", ere);
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static void close_kept_fd(void *p)
{
    close(*(int *)p);
    free(p);
}

int h_closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_msg("socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        int e = errno;
        close(fd);
        fail_msg("bind 127.0.0.1:0: %s", strerror(e));
    }
    /* kept bound (not listening) until the test ends: a connection is
     * refused at once, and no other socket, not even the kernel's choice
     * of a source port for a connection to it, can take the port meanwhile */
    int *kept = malloc(sizeof *kept);
    if (kept == NULL) {
        close(fd);
        fail_msg("out of memory");
    }
    *kept = fd;
    h_own(kept, close_kept_fd);
    return ntohs(a.sin_port);
}

/* ------------------------------------------------------------------ */
/* JSON helpers                                                        */

static char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    return h_keep(s ? s : strdup("<unprintable>"), free);
}

static int diff_at(const json_t *e, const json_t *a, const char *path, int left)
{
    if (left <= 0) return 0;
    if (json_equal(e, a)) return 0;
    if (json_is_object(e) && json_is_object(a)) {
        int n = 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)e, k, v)
        {
            json_t *av = json_object_get(a, k);
            const char *sub = h_strf("%s/%s", path, k);
            if (av == NULL) {
                fprintf(stderr, "  %s: missing (expected %s)\n", sub, dump(v));
                n++;
            } else {
                n += diff_at(v, av, sub, left - n);
            }
            if (n >= left) return n;
        }
        json_object_foreach((json_t *)a, k, v)
        {
            if (json_object_get(e, k) == NULL && n < left) {
                fprintf(stderr, "  %s/%s: unexpected %s\n", path, k, dump(v));
                n++;
            }
        }
        return n;
    }
    if (json_is_array(e) && json_is_array(a)) {
        int n = 0;
        size_t ne = json_array_size(e), na = json_array_size(a);
        if (ne != na) {
            fprintf(stderr, "  %s: %zu elements, expected %zu\n", path, na, ne);
            n++;
        }
        for (size_t i = 0; i < ne && i < na && n < left; i++)
            n += diff_at(json_array_get(e, i), json_array_get(a, i), h_strf("%s/%zu", path, i), left - n);
        return n;
    }
    fprintf(stderr, "  %s: expected %s, got %s\n", path[0] ? path : "/", dump(e), dump(a));
    return 1;
}

int h_json_diff(const json_t *expected, const json_t *actual, int n)
{
    return diff_at(expected, actual, "", n);
}

json_t *h_load_json_file(const char *path)
{
    json_error_t err;
    json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (v == NULL) fail_msg("%s:%d: %s", path, err.line, err.text);
    return h_keep(v, (void (*)(void *))json_decref);
}

const char *h_keys(const json_t *obj)
{
    sbuf b = {0};
    const char *k;
    json_t *v;
    if (!json_is_object(obj)) fail_msg("h_keys: not an object: %s", dump(obj));
    json_object_foreach((json_t *)obj, k, v)
    {
        if (b.len) sb_str(&b, ",");
        sb_str(&b, k);
    }
    return sb_keep(&b);
}

/* ------------------------------------------------------------------ */
/* processes                                                           */

void h_print_log(const h_proc *p)
{
    FILE *f = fopen(p->log_path, "r");
    fprintf(stderr, "----- stderr of %s (pid %d, %s) -----\n", p->name, (int)p->pid, p->log_path);
    if (f == NULL) {
        fprintf(stderr, "(cannot open: %s)\n", strerror(errno));
        return;
    }
    /* The tail is what matters; cap what we print. */
    const long cap = 64 * 1024;
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > cap) {
        fseek(f, -cap, SEEK_END);
        fprintf(stderr, "(... only the last %ld bytes ...)\n", cap);
    } else {
        fseek(f, 0, SEEK_SET);
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stderr);
    fclose(f);
    fprintf(stderr, "----- end of %s -----\n", p->name);
}

int h_log_count(const h_proc *p, const char *needle)
{
    FILE *f = fopen(p->log_path, "r");
    if (f == NULL) fail_msg("cannot open %s: %s", p->log_path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int count = 0;
    while (getline(&line, &cap, f) >= 0) {
        if (strcasestr(line, needle) != NULL) count++;
    }
    free(line);
    fclose(f);
    return count;
}

static int decode_status(int st)
{
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

/* Reads what a child wrote to stdout after its first line, so it never
 * blocks on a full pipe. */
static void drain(h_proc *p)
{
    char buf[4096];
    while (p->out_fd >= 0 && read(p->out_fd, buf, sizeof buf) > 0) {}
}

/* Waits up to timeout_ms for p to exit; true when reaped. */
static bool wait_exit(h_proc *p, int timeout_ms)
{
    double end = h_now_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            p->exit_status = decode_status(st);
            p->pid = 0;
            return true;
        }
        if (r < 0 && errno != EINTR) {
            p->exit_status = -1;
            p->pid = 0;
            return true;
        }
        drain(p);
        if (h_now_ms() >= end) return false;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void kill_and_reap(h_proc *p)
{
    if (p->pid <= 0) return;
    kill(p->pid, SIGKILL);
    int st;
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR) {}
    p->exit_status = decode_status(st);
    p->pid = 0;
}

static void close_out(h_proc *p)
{
    if (p->out_fd >= 0) {
        close(p->out_fd);
        p->out_fd = -1;
    }
}

/* Reads one line (without '\n') within timeout_ms. Returns its length, -1 on
 * EOF or error, -2 on timeout, -3 when longer than the buffer. */
static int read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;
    double end = h_now_ms() + timeout_ms;
    while (n + 1 < cap) {
        int left = (int)(end - h_now_ms());
        if (left <= 0) return -2;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, left);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) return -2;
        ssize_t k = read(fd, buf + n, 1);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        if (buf[n] == '\n') {
            buf[n] = '\0';
            return (int)n;
        }
        n++;
    }
    buf[n] = '\0';
    return -3;
}

/* In the child, after fork: never returns. */
static void exec_child(const char *path, const char *const argv[], int in_fd, int out_fd, int err_fd,
                       pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(126);
    if (H.tmpdir[0] != '\0' && chdir(H.tmpdir) != 0) _exit(126);
    execv(path, (char *const *)argv);
    dprintf(2, "harness: exec %s: %s\n", path, strerror(errno));
    _exit(127);
}

static void describe_argv(sbuf *b, const char *const argv[])
{
    for (size_t i = 0; argv[i] != NULL; i++) {
        if (i) sb_str(b, " ");
        sb_str(b, argv[i]);
    }
}

h_proc *h_spawn(const char *name, const char *path, const char *const argv[])
{
    if (access(path, X_OK) != 0)
        fail_msg("%s: %s (not built? AC_BIN / AC_NODESIM point at the binaries)", path, strerror(errno));
    if (H.n_procs == H_MAX_PROCS) fail_msg("too many processes in one test");
    h_proc *p = calloc(1, sizeof *p);
    if (p == NULL) fail_msg("out of memory");
    H.procs[H.n_procs++] = p;
    p->out_fd = -1;
    snprintf(p->name, sizeof p->name, "%s", name);
    H_FORMAT(p->log_path, "%s/%02zu-%s.log", h_tmpdir(), H.n_procs, name);

    int log_fd = open(p->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int pipe_fd[2];
    if (log_fd < 0 || pipe2(pipe_fd, O_CLOEXEC) != 0) fail_msg("%s: %s", p->log_path, strerror(errno));
    /* The command line heads the log: failures then show what ran. */
    sbuf cmd = {0};
    describe_argv(&cmd, argv);
    dprintf(log_fd, "harness: %s\n", cmd.s);
    free(cmd.s);

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) fail_msg("fork: %s", strerror(errno));
    if (pid == 0) exec_child(path, argv, -1, pipe_fd[1], log_fd, parent);
    p->pid = pid;
    close(pipe_fd[1]);
    close(log_fd);
    p->out_fd = pipe_fd[0];

    char line[256];
    int n = read_line(p->out_fd, line, sizeof line, H_START_TIMEOUT_MS);
    if (n < 0) {
        const char *why = n == -2 ? "no `listening` line within 10 s"
            : n == -3             ? "first stdout line too long"
                                  : "stdout closed before a `listening` line";
        if (n == -1) wait_exit(p, 2000);
        kill_and_reap(p);
        h_print_log(p);
        fail_msg("%s: %s (exit status %d)", name, why, p->exit_status);
    }
    const char *colon = strrchr(line, ':');
    const char *host = strncmp(line, "listening 127.0.0.1:", 20) == 0 ? "127.0.0.1"
        : strncmp(line, "listening [::1]:", 16) == 0                  ? "[::1]"
                                                                      : NULL;
    if (host == NULL || colon == NULL || (p->port = atoi(colon + 1)) <= 0 || p->port > 65535) {
        kill_and_reap(p);
        h_print_log(p);
        fail_msg("%s: first stdout line is \"%s\", expected \"listening 127.0.0.1:PORT\" "
                 "(or [::1]:PORT)",
                 name, line);
    }
    snprintf(p->addr, sizeof p->addr, "%s:%d", host, p->port);
    fcntl(p->out_fd, F_SETFL, fcntl(p->out_fd, F_GETFL) | O_NONBLOCK);
    return p;
}

int h_stop(h_proc *p)
{
    if (p->pid <= 0) return p->exit_status;
    kill(p->pid, SIGTERM);
    if (!wait_exit(p, H_STOP_TIMEOUT_MS)) {
        kill_and_reap(p);
        close_out(p);
        h_print_log(p);
        fail_msg("%s did not exit within %d ms of SIGTERM (killed)", p->name, H_STOP_TIMEOUT_MS);
    }
    close_out(p);
    if (p->exit_status != 0) {
        fprintf(stderr, "harness: %s exited with status %d after SIGTERM\n", p->name, p->exit_status);
        h_print_log(p);
    }
    h_assert_log_clean(p);
    return p->exit_status;
}

static h_proc *start_nodesim_v(int port, int node_id, int pop_id, va_list ap)
{
    const char *argv[H_MAX_ARGS];
    size_t n = 0;
    argv[n++] = nodesim_bin();
    argv[n++] = "--listen";
    argv[n++] = h_strf("127.0.0.1:%d", port);
    argv[n++] = "--node-id";
    argv[n++] = h_strf("%d", node_id);
    argv[n++] = "--pop-id";
    argv[n++] = h_strf("%d", pop_id);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        if (n + 1 >= H_MAX_ARGS) fail_msg("too many arguments");
        argv[n++] = a;
    }
    argv[n] = NULL;
    return h_spawn(h_strf("nodesim-%d", node_id), argv[0], argv);
}

h_proc *h_start_nodesim(int node_id, int pop_id, ...)
{
    va_list ap;
    va_start(ap, pop_id);
    h_proc *p = start_nodesim_v(0, node_id, pop_id, ap);
    va_end(ap);
    return p;
}

h_proc *h_start_nodesim_on(int port, int node_id, int pop_id, ...)
{
    va_list ap;
    va_start(ap, pop_id);
    h_proc *p = start_nodesim_v(port, node_id, pop_id, ap);
    va_end(ap);
    return p;
}

static h_proc *start_server_v(const char *db, bool with_auth, va_list ap)
{
    const char *argv[H_MAX_ARGS];
    size_t n = 0;
    argv[n++] = server_bin();
    argv[n++] = "serve";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--db";
    argv[n++] = db;
    if (with_auth) {
        argv[n++] = "--secret-file";
        argv[n++] = h_secret_file();
    }
    /* no history unless a test asks for it: its rounds would count in theirs */
    argv[n++] = "--history-interval-s";
    argv[n++] = "0";
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        if (n + 1 >= H_MAX_ARGS) fail_msg("too many arguments");
        argv[n++] = a;
    }
    argv[n] = NULL;
    if (with_auth) h_admin_id(db); /* the root user exists before the server starts */
    h_proc *p = h_spawn("server", argv[0], argv);
    if (with_auth) {
        const char *tok = h_login_token(p, H_ADMIN_USERNAME, H_ADMIN_PASSWORD);
        if (strlen(tok) >= sizeof p->token)
            fail_msg("%s: the admin token is %zu bytes long", p->name, strlen(tok));
        snprintf(p->token, sizeof p->token, "%s", tok);
    }
    return p;
}

h_proc *h_start_server(const char *db, ...)
{
    va_list ap;
    va_start(ap, db);
    h_proc *p = start_server_v(db, true, ap);
    va_end(ap);
    return p;
}

h_proc *h_start_server_bare(const char *db, ...)
{
    va_list ap;
    va_start(ap, db);
    h_proc *p = start_server_v(db, false, ap);
    va_end(ap);
    return p;
}

/* Runs argv to completion within timeout_ms, collecting stdout and stderr
 * (malloc'd, caller frees); input (may be NULL: /dev/null) is written to its
 * stdin, which is then closed. Returns the exit status, or -2 on timeout. */
static int run_capture(const char *const argv[], const char *input, char **out, size_t *out_len, char **err,
                       int timeout_ms)
{
    int po[2], pe[2], pi[2] = {-1, -1};
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0 ||
        (input != NULL && pipe2(pi, O_CLOEXEC) != 0))
        fail_msg("pipe: %s", strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) fail_msg("fork: %s", strerror(errno));
    if (pid == 0) exec_child(argv[0], argv, pi[0], po[1], pe[1], parent);
    close(po[1]);
    close(pe[1]);
    size_t in_left = 0;
    if (input != NULL) {
        close(pi[0]);
        in_left = strlen(input);
        fcntl(pi[1], F_SETFL, fcntl(pi[1], F_GETFL) | O_NONBLOCK);
        if (in_left == 0) {
            close(pi[1]);
            pi[1] = -1;
        }
    }
    sbuf bo = {0}, be = {0};
    sb_add(&bo, "", 0);
    sb_add(&be, "", 0);
    struct pollfd fds[3] = {
        {.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}, {.fd = pi[1], .events = POLLOUT}};
    sbuf *bufs[2] = {&bo, &be};
    int open_fds = 2;
    double end = h_now_ms() + timeout_ms;
    bool timed_out = false;
    while (open_fds > 0) {
        int left = (int)(end - h_now_ms());
        if (left <= 0) {
            timed_out = true;
            break;
        }
        int r = poll(fds, 3, left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            timed_out = r == 0;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            char buf[4096];
            ssize_t k = read(fds[i].fd, buf, sizeof buf);
            if (k > 0) {
                sb_add(bufs[i], buf, (size_t)k);
            } else if (k == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
        if (fds[2].fd >= 0 && fds[2].revents != 0) {
            const char *p = input + strlen(input) - in_left;
            ssize_t k = (fds[2].revents & POLLOUT) ? write(fds[2].fd, p, in_left) : -1;
            if (k > 0) in_left -= (size_t)k;
            if (in_left == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) {
                close(fds[2].fd); /* done, or the child does not read: EOF either way */
                fds[2].fd = -1;
            }
        }
    }
    for (int i = 0; i < 3; i++)
        if (fds[i].fd >= 0) close(fds[i].fd);
    int st = 0;
    if (timed_out) kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    *out = bo.s;
    if (out_len) *out_len = bo.len;
    *err = be.s;
    return timed_out ? -2 : decode_status(st);
}

static int cli_v(const char *input, char **out, char **err, va_list ap)
{
    const char *argv[H_MAX_ARGS];
    size_t n = 0;
    argv[n++] = server_bin();
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        if (n + 1 >= H_MAX_ARGS) fail_msg("too many arguments");
        argv[n++] = a;
    }
    argv[n] = NULL;
    if (access(argv[0], X_OK) != 0)
        fail_msg("%s: %s (not built? AC_BIN points at it)", argv[0], strerror(errno));
    char *o, *e;
    int rc = run_capture(argv, input, &o, NULL, &e, H_CLI_TIMEOUT_MS);
    h_keep(o, free);
    h_keep(e, free);
    if (rc == -2) {
        sbuf cmd = {0};
        describe_argv(&cmd, argv);
        char *c = sb_keep(&cmd);
        fail_msg("`%s` did not finish within %d ms\nstdout: %s\nstderr: %s", c, H_CLI_TIMEOUT_MS, o, e);
    }
    if (out) *out = o;
    if (err) *err = e;
    return rc;
}

int h_cli(char **out, char **err, ...)
{
    va_list ap;
    va_start(ap, err);
    int rc = cli_v(NULL, out, err, ap);
    va_end(ap);
    return rc;
}

int h_cli_input(const char *input, char **out, char **err, ...)
{
    va_list ap;
    va_start(ap, err);
    int rc = cli_v(input, out, err, ap);
    va_end(ap);
    return rc;
}

void h_add_pop(const char *db, int id)
{
    char *out, *err;
    int rc = h_cli(&out, &err, "pop", "add", "--id", h_strf("%d", id), "--name", h_strf("pop-%d", id), "--db",
                   db, NULL);
    if (rc != 0) fail_msg("pop add --id %d: exit %d\nstdout: %s\nstderr: %s", id, rc, out, err);
}

void h_add_node(const char *db, int id, const char *endpoint, int pop_id)
{
    char *out, *err;
    int rc = h_cli(&out, &err, "node", "add", "--id", h_strf("%d", id), "--name", h_strf("node-%d", id),
                   "--endpoint", endpoint, "--pop-id", h_strf("%d", pop_id), "--db", db, NULL);
    if (rc != 0)
        fail_msg("node add --id %d --endpoint %s: exit %d\nstdout: %s\nstderr: %s", id, endpoint, rc, out,
                 err);
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */

static void response_free(void *v)
{
    h_response *r = v;
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    free(r->url);
    json_decref(r->json);
    free(r);
}

static void clear_headers(h_response *r)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    r->n_headers = 0;
}

static size_t on_header(char *buf, size_t size, size_t nmemb, void *ud)
{
    h_response *r = ud;
    size_t len = size * nmemb;
    if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        clear_headers(r); /* a new response (after 100 Continue) */
        return len;
    }
    const char *colon = memchr(buf, ':', len);
    if (colon == NULL) return len;
    size_t nlen = (size_t)(colon - buf);
    const char *v = colon + 1, *e = buf + len;
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t')) e--;
    size_t n = r->n_headers; /* capacity: 8, then doubled each time n reaches a power of two */
    if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {
        h_header *hs = realloc(r->headers, (n ? 2 * n : 8) * sizeof *hs);
        if (hs == NULL) return 0;
        r->headers = hs;
    }
    h_header *h = &r->headers[r->n_headers++];
    h->name = strndup(buf, nlen);
    h->value = strndup(v, (size_t)(e - v));
    if (h->name == NULL || h->value == NULL) return 0;
    for (char *c = h->name; *c; c++) *c = (char)tolower((unsigned char)*c);
    return len;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
    sbuf *b = ud;
    sb_add(b, buf, size * nmemb);
    return size * nmemb;
}

static const char *docs_dir(void)
{
    if (H.docs_dir[0] == '\0') {
        const char *t = getenv("TMPDIR");
        H_FORMAT(H.docs_dir, "%s/ac-it-docs-XXXXXX", t && t[0] ? t : "/tmp");
        if (mkdtemp(H.docs_dir) == NULL) fail_msg("mkdtemp %s: %s", H.docs_dir, strerror(errno));
        H.docs_n = 0;
    }
    return H.docs_dir;
}

/* The media type of r's content-type without its parameters, or "-". */
static const char *media_type_of(const h_response *r, char out[128])
{
    const char *ct = h_header_value(r, "content-type");
    size_t n = ct ? strcspn(ct, "; \t") : 0;
    if (n == 0) return "-";
    snprintf(out, 128, "%.*s", (int)(n < 127 ? n : 127), ct);
    return out;
}

/* Notes a received response for the checks at the end (h_validate_documents):
 * a body is saved as NNNNN.json, and index.txt gets one line per response,
 * bodies or not: `NAME STATUS METHOD MEDIA-TYPE URL`, NAME `-` without a
 * body, MEDIA-TYPE `-` without a content-type. */
static void record_document(const char *method, const h_response *r, const char *media)
{
    const char *dir = docs_dir();
    char path[PATH_MAX], name[32] = "-";
    if (r->body_len > 0) {
        int n = ++H.docs_n;
        H_FORMAT(name, "%05d.json", n);
        H_FORMAT(path, "%s/%s", dir, name);
        FILE *f = fopen(path, "wb");
        if (f == NULL || fwrite(r->body, 1, r->body_len, f) != r->body_len || fclose(f) != 0)
            fail_msg("cannot write %s", path);
    }
    H_FORMAT(path, "%s/index.txt", dir);
    FILE *f = fopen(path, "a");
    if (f == NULL) fail_msg("cannot write %s", path);
    fprintf(f, "%s %ld %s %s %s\n", name, r->status, method, media, r->url);
    fclose(f);
}

const char *h_write_file(const char *name, const char *text)
{
    const char *path = h_strf("%s/%s", h_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(text, 1, strlen(text), f) != strlen(text) || fclose(f) != 0)
        fail_msg("cannot write %s", path);
    return path;
}

const char *h_openapi_json(void)
{
    const char *script = h_strf("%s/scripts/openapi-json", source_dir());
    const char *yaml = h_strf("%s/docs/openapi.yaml", source_dir());
    const char *argv[] = {"/usr/bin/python3", script, yaml, "-", NULL};
    char *out = NULL, *err = NULL;
    int rc = run_capture(argv, NULL, &out, NULL, &err, H_VALIDATE_TIMEOUT_MS);
    if (rc != 0) fail_msg("openapi-json failed (exit %d): %s", rc, err);
    free(err);
    return h_keep(out, free);
}

void h_record_json(const char *what, const char *text)
{
    h_response r = {.status = 200, .body = (char *)text, .body_len = strlen(text), .url = (char *)what};
    record_document("SSE", &r, "application/vnd.api+json"); /* a data line is a JSON:API document */
}

/* The path of url is the login's (query string ignored). */
static bool is_auth_url(const char *url)
{
    const char *path = strchr(url + 7, '/');
    if (path == NULL) return false;
    size_t n = strcspn(path, "?#");
    return n == strlen("/api/rest/admin/auth") && strncmp(path, "/api/rest/admin/auth", n) == 0;
}

/* The admin token of the running server that url points at, or NULL. */
static const char *token_for(const char *url)
{
    for (size_t i = H.n_procs; i-- > 0;) {
        const h_proc *p = H.procs[i];
        size_t n = strlen(p->addr);
        if (p->pid > 0 && p->token[0] && strncmp(url + 7, p->addr, n) == 0 &&
            (url[7 + n] == '/' || url[7 + n] == '?' || url[7 + n] == '\0'))
            return p->token;
    }
    return NULL;
}

h_response *h_http(const char *method, const char *url, const char *const *headers, const char *body)
{
    if (strncmp(url, "http://127.0.0.1:", 17) != 0 && strncmp(url, "http://[::1]:", 13) != 0)
        fail_msg("h_http: only 127.0.0.1 and [::1] are contacted, not %s", url);
    bool is_auth = is_auth_url(url);
    h_response *r = calloc(1, sizeof *r);
    if (r == NULL) fail_msg("out of memory");
    h_keep(r, response_free);
    r->url = strdup(url);

    CURL *c = curl_easy_init();
    if (c == NULL) fail_msg("curl_easy_init failed");
    struct curl_slist *hl = NULL;
    bool own_auth = false;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        hl = curl_slist_append(hl, headers[i]);
        own_auth |= strncasecmp(headers[i], "authorization:", 14) == 0;
    }
    const char *token = own_auth || is_auth ? NULL : token_for(url);
    if (token != NULL) {
        char *line = NULL;
        if (asprintf(&line, "Authorization: Bearer %s", token) < 0) fail_msg("out of memory");
        hl = curl_slist_append(hl, line);
        free(line);
    }
    hl = curl_slist_append(hl, "Expect:");
    sbuf b = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    double t0 = h_now_ms();
    CURLcode rc = curl_easy_perform(c);
    r->elapsed_ms = h_now_ms() - t0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    if (b.s == NULL) sb_add(&b, "", 0);
    r->body = b.s;
    r->body_len = b.len;
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s (%s) after %.0f ms", method, url, curl_easy_strerror(rc), errbuf, r->elapsed_ms);
    char media[128];
    record_document(method, r, media_type_of(r, media));
    if (r->body_len > 0) {
        json_error_t err;
        r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
        if (r->json == NULL)
            snprintf(r->json_err, sizeof r->json_err, "line %d col %d: %s", err.line, err.column, err.text);
    }
    return r;
}

const char *h_header_value(const h_response *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

size_t h_header_count(const h_response *r, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i].name, name) == 0) n++;
    return n;
}

const char *h_url(const h_proc *server, const char *path)
{
    return h_strf("http://%s%s", server->addr, path);
}

h_response *h_listing(const h_proc *server, const char *query)
{
    static const char *const hdrs[] = {"Host: example.org", "Accept: application/vnd.api+json", NULL};
    const char *path =
        query && query[0] ? h_strf("/api/rest/admin/active-calls?%s", query) : "/api/rest/admin/active-calls";
    return h_http("GET", h_url(server, path), hdrs, NULL);
}

json_t *h_json(const h_response *r)
{
    if (r->json == NULL)
        fail_msg("%s: status %ld, body is not a JSON document (%s): %.2000s", r->url, r->status,
                 r->body_len ? r->json_err : "empty body", r->body);
    return r->json;
}

const char *h_ids(const h_response *r)
{
    json_t *data = json_object_get(h_json(r), "data");
    if (!json_is_array(data)) fail_msg("%s: status %ld, no data array: %.2000s", r->url, r->status, r->body);
    sbuf b = {0};
    size_t i;
    json_t *res;
    json_array_foreach(data, i, res)
    {
        const char *id = json_string_value(json_object_get(res, "id"));
        if (id == NULL) fail_msg("%s: data[%zu] has no string id", r->url, i);
        if (i) sb_str(&b, ",");
        sb_str(&b, id);
    }
    return sb_keep(&b);
}

const char *h_failed(const h_response *r)
{
    json_t *meta = json_object_get(h_json(r), "meta");
    json_t *fn = json_object_get(meta, "failed-nodes");
    sbuf b = {0};
    if (fn == NULL) return sb_keep(&b);
    if (!json_is_array(fn) || json_array_size(fn) == 0)
        fail_msg("%s: meta.failed-nodes is not a non-empty array: %s", r->url, dump(fn));
    size_t i;
    json_t *e;
    json_array_foreach(fn, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *error = json_string_value(json_object_get(e, "error"));
        const char *detail = json_string_value(json_object_get(e, "detail"));
        if (!json_is_object(e) || json_object_size(e) != 4 || !id || !name || !error || !detail || !detail[0])
            fail_msg("%s: failed-nodes[%zu] is not {id,name,error,detail} strings with a "
                     "detail: %s",
                     r->url, i, dump(e));
        if (i) sb_str(&b, ",");
        sb_str(&b, id);
        sb_str(&b, "/");
        sb_str(&b, name);
        sb_str(&b, "/");
        sb_str(&b, error);
    }
    return sb_keep(&b);
}

void h_assert_listing(const h_response *r, const char *ids, const char *failed)
{
    if (r->status != 200) fail_msg("%s: status %ld, expected 200; body: %.2000s", r->url, r->status, r->body);
    const char *got = h_ids(r);
    if (strcmp(got, ids) != 0)
        fail_msg("%s: wrong ids\n  expected: [%s]\n  got:      [%s]\n  failed-nodes: [%s]", r->url, ids, got,
                 h_failed(r));
    long long n = ids[0] ? 1 : 0;
    for (const char *c = ids; *c; c++) n += *c == ',';
    json_t *tc = json_object_get(json_object_get(h_json(r), "meta"), "total-count");
    if (!json_is_integer(tc) || json_integer_value(tc) != n)
        fail_msg("%s: meta.total-count is %s, expected %lld", r->url, dump(tc), n);
    const char *gf = h_failed(r);
    if (strcmp(gf, failed ? failed : "") != 0)
        fail_msg("%s: wrong failed-nodes\n  expected: [%s]\n  got:      [%s]", r->url, failed ? failed : "",
                 gf);
}

size_t h_error_count(const h_response *r)
{
    json_t *doc = h_json(r);
    json_t *errors = json_object_get(doc, "errors");
    if (!json_is_array(errors) || json_object_size(doc) != 1)
        fail_msg("%s: status %ld, not an errors-only document: %.2000s", r->url, r->status, r->body);
    return json_array_size(errors);
}

void h_assert_error(const h_response *r, long status, size_t index, const char *title, const char *detail,
                    const char *code)
{
    if (r->status != status)
        fail_msg("%s: status %ld, expected %ld; body: %.2000s", r->url, r->status, status, r->body);
    size_t n = h_error_count(r);
    if (index >= n) fail_msg("%s: %zu errors, expected at least %zu: %.2000s", r->url, n, index + 1, r->body);
    json_t *e = json_array_get(json_object_get(h_json(r), "errors"), index);
    const char *t = json_string_value(json_object_get(e, "title"));
    const char *d = json_string_value(json_object_get(e, "detail"));
    const char *c = json_string_value(json_object_get(e, "code"));
    const char *s = json_string_value(json_object_get(e, "status"));
    const char *want_status = h_strf("%ld", status);
    if (json_object_size(e) != 4 || !t || !d || !c || !s || strcmp(t, title) != 0 ||
        (detail && strcmp(d, detail) != 0) || strcmp(c, code) != 0 || strcmp(s, want_status) != 0)
        fail_msg("%s: errors[%zu] is %s\n  expected {\"title\":\"%s\",\"detail\":\"%s\","
                 "\"code\":\"%s\",\"status\":\"%s\"}",
                 r->url, index, dump(e), title, detail ? detail : "<any>", code, want_status);
}

/* ------------------------------------------------------------------ */
/* authentication                                                      */

void h_sensitive(const char *s)
{
    if (s == NULL || s[0] == '\0') return;
    for (size_t i = 0; i < H.n_sensitive; i++)
        if (strcmp(H.sensitive[i], s) == 0) return;
    if (H.n_sensitive == H.cap_sensitive) {
        size_t cap = H.cap_sensitive ? H.cap_sensitive * 2 : 32;
        const char **a = realloc(H.sensitive, cap * sizeof *a);
        if (a == NULL) fail_msg("out of memory");
        H.sensitive = a;
        H.cap_sensitive = cap;
    }
    H.sensitive[H.n_sensitive++] = h_strf("%s", s);
}

/* The first registered string that text holds, or NULL. */
static const char *find_sensitive(const char *text, size_t len)
{
    for (size_t i = 0; i < H.n_sensitive; i++)
        if (memmem(text, len, H.sensitive[i], strlen(H.sensitive[i])) != NULL) return H.sensitive[i];
    return NULL;
}

void h_assert_log_clean(const h_proc *p)
{
    if (H.n_sensitive == 0) return;
    FILE *f = fopen(p->log_path, "rb");
    if (f == NULL) fail_msg("cannot open %s: %s", p->log_path, strerror(errno));
    sbuf b = {0};
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) sb_add(&b, buf, n);
    fclose(f);
    const char *hit = b.s ? find_sensitive(b.s, b.len) : NULL;
    free(b.s);
    if (hit != NULL) {
        h_print_log(p);
        fail_msg("the log of %s (%s) contains a password, secret or token: \"%s\"", p->name, p->log_path,
                 hit);
    }
}

const char *h_secret(void)
{
    if (H.secret[0] == '\0') {
        unsigned char raw[12];
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, raw, sizeof raw) != (ssize_t)sizeof raw)
            fail_msg("/dev/urandom: %s", strerror(errno));
        close(fd);
        char hex[2 * sizeof raw + 1];
        for (size_t i = 0; i < sizeof raw; i++) snprintf(hex + 2 * i, 3, "%02x", raw[i]);
        snprintf(H.secret, sizeof H.secret, "it-secret-%s", hex);
        /* with a trailing newline, which the server drops */
        const char *path = h_secret_file();
        int wfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (wfd < 0 || dprintf(wfd, "%s\n", H.secret) < 0 || close(wfd) != 0)
            fail_msg("cannot write %s: %s", path, strerror(errno));
        h_sensitive(H.secret);
    }
    return H.secret;
}

const char *h_secret_file(void)
{
    const char *path = h_strf("%s/secret", h_tmpdir());
    if (H.secret[0] == '\0') h_secret();
    return path;
}

int64_t h_add_user(const char *db, const char *username, const char *password, const char *roles,
                   const char *allowed_ips)
{
    if (password != NULL && strlen(password) >= 8) h_sensitive(password);
    char *out, *err;
    const char *input = h_strf("%s\n", password ? password : "");
    int rc = allowed_ips ? h_cli_input(input, &out, &err, "user", "add", "--username", username, "--roles",
                                       roles, "--allowed-ips", allowed_ips, "--db", db, NULL)
                         : h_cli_input(input, &out, &err, "user", "add", "--username", username, "--roles",
                                       roles, "--db", db, NULL);
    if (rc != 0)
        fail_msg("user add --username %s --roles %s%s%s: exit %d\nstdout: %s\nstderr: %s", username, roles,
                 allowed_ips ? " --allowed-ips " : "", allowed_ips ? allowed_ips : "", rc, out, err);
    const char *leak = find_sensitive(out, strlen(out));
    if (leak == NULL) leak = find_sensitive(err, strlen(err));
    if (leak != NULL)
        fail_msg("user add printed a password or secret (\"%s\")\nstdout: %s\nstderr: %s", leak, out, err);
    const char *want = h_strf("user %s added with id ", username);
    const char *at = strstr(out, want);
    long long id = at ? atoll(at + strlen(want)) : 0;
    if (id <= 0) fail_msg("user add --username %s: no \"%sN\" on stdout: %s", username, want, out);
    return (int64_t)id;
}

void h_set_user_enabled(const char *db, const char *username, bool enabled)
{
    char *out, *err;
    int rc =
        h_cli(&out, &err, "user", enabled ? "enable" : "disable", "--username", username, "--db", db, NULL);
    if (rc != 0)
        fail_msg("user %s --username %s: exit %d\nstdout: %s\nstderr: %s", enabled ? "enable" : "disable",
                 username, rc, out, err);
}

int64_t h_admin_id(const char *db)
{
    for (size_t i = 0; i < H.n_seeded; i++)
        if (strcmp(H.seeded[i].db, db) == 0) return H.seeded[i].admin_id;
    if (H.n_seeded == sizeof H.seeded / sizeof H.seeded[0]) fail_msg("too many databases in one test");
    int64_t id = h_add_user(db, H_ADMIN_USERNAME, H_ADMIN_PASSWORD, "root", NULL);
    H.seeded[H.n_seeded].db = h_strf("%s", db);
    H.seeded[H.n_seeded].admin_id = id;
    H.n_seeded++;
    return id;
}

const char *h_admin_token(const h_proc *server)
{
    if (server->token[0] == '\0')
        fail_msg("%s has no admin token (not started by h_start_server)", server->name);
    return server->token;
}

h_response *h_post_auth(const h_proc *server, const char *const *headers, const char *body)
{
    const char *hdrs[16];
    size_t n = 0;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        if (n + 1 >= sizeof hdrs / sizeof hdrs[0]) fail_msg("h_post_auth: too many headers");
        hdrs[n++] = headers[i];
    }
    hdrs[n] = NULL;
    return h_http("POST", h_url(server, "/api/rest/admin/auth"), hdrs, body ? body : "");
}

h_response *h_login(const h_proc *server, const char *username, const char *password,
                    const char *forwarded_for)
{
    if (password != NULL && strlen(password) >= 8) h_sensitive(password);
    json_t *doc = json_pack("{s:{s:s,s:s}}", "auth", "username", username, "password", password);
    if (doc == NULL) fail_msg("json_pack failed");
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (body == NULL) fail_msg("out of memory");
    h_keep(body, free);
    const char *hdrs[] = {"Content-Type: application/json",
                          forwarded_for ? h_strf("X-Forwarded-For: %s", forwarded_for) : NULL, NULL};
    h_response *r = h_post_auth(server, hdrs, body);
    if (r->status == 201 && r->json != NULL) {
        const char *jwt = json_string_value(json_object_get(r->json, "jwt"));
        if (jwt != NULL) h_sensitive(jwt);
    }
    return r;
}

const char *h_login_token(const h_proc *server, const char *username, const char *password)
{
    h_response *r = h_login(server, username, password, NULL);
    if (r->status != 201)
        fail_msg("login as %s on %s: status %ld, expected 201; body: %.2000s", username, server->name,
                 r->status, r->body);
    const char *ct = h_header_value(r, "content-type");
    if (ct == NULL || strcmp(ct, "application/json") != 0)
        fail_msg("login as %s: content-type \"%s\", expected \"application/json\"", username,
                 ct ? ct : "<absent>");
    json_t *doc = h_json(r);
    const char *jwt = json_string_value(json_object_get(doc, "jwt"));
    if (!json_is_object(doc) || json_object_size(doc) != 1 || jwt == NULL || jwt[0] == '\0')
        fail_msg("login as %s: body is not {\"jwt\":\"...\"}: %.2000s", username, r->body);
    return jwt;
}

/* ---- tokens minted here, independently of the server ---- */

char *h_b64url(const void *data, size_t n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *p = data;
    sbuf b = {0};
    sb_add(&b, "", 0);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n) v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        char q[4] = {A[(v >> 18) & 63], A[(v >> 12) & 63], A[(v >> 6) & 63], A[v & 63]};
        sb_add(&b, q, i + 2 < n ? 4 : i + 1 < n ? 3 : 2);
    }
    return sb_keep(&b);
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

char *h_b64url_decode(const char *s, size_t n, size_t *out_len)
{
    if (n % 4 == 1) return NULL;
    sbuf b = {0};
    sb_add(&b, "", 0);
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value(s[i]);
        if (v < 0) {
            free(b.s);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char c = (char)((acc >> bits) & 0xff);
            sb_add(&b, &c, 1);
        }
    }
    if (out_len) *out_len = b.len;
    return sb_keep(&b);
}

static const char *openssl_bin(void)
{
    const char *path = getenv("PATH");
    const char *p = path && path[0] ? path : "/usr/bin:/bin";
    while (*p) {
        size_t n = strcspn(p, ":");
        const char *cand = h_strf("%.*s/openssl", (int)n, p);
        if (n > 0 && access(cand, X_OK) == 0) return cand;
        p += n;
        if (*p == ':') p++;
    }
    fail_msg("the openssl command is not installed (Debian package `openssl`; "
             "scripts/install-deps installs it)");
    return NULL;
}

const unsigned char *h_hmac(const char *digest, const char *key, const char *data, size_t *mac_len)
{
    const char *argv[] = {openssl_bin(), "dgst", h_strf("-%s", digest), "-hmac", key, "-binary", NULL};
    char *out, *err;
    size_t n = 0;
    int rc = run_capture(argv, data, &out, &n, &err, H_CLI_TIMEOUT_MS);
    h_keep(out, free);
    h_keep(err, free);
    if (rc != 0) fail_msg("openssl dgst -%s -hmac ... -binary: exit %d: %s", digest, rc, err);
    size_t want = strcmp(digest, "sha256") == 0 ? 32
        : strcmp(digest, "sha384") == 0         ? 48
        : strcmp(digest, "sha512") == 0         ? 64
                                                : n;
    if (n != want || n == 0)
        fail_msg("openssl dgst -%s -hmac: %zu bytes of output, expected %zu", digest, n, want);
    if (mac_len) *mac_len = n;
    return (const unsigned char *)out;
}

const char *h_jwt_sign(const char *digest, const char *key, const char *header_json, const char *payload_json)
{
    const char *signing_input = h_strf("%s.%s", h_b64url(header_json, strlen(header_json)),
                                       h_b64url(payload_json, strlen(payload_json)));
    size_t n;
    const unsigned char *mac = h_hmac(digest, key, signing_input, &n);
    const char *sig = h_b64url(mac, n);
    const char *token = h_strf("%s.%s", signing_input, sig);
    h_sensitive(token);
    h_sensitive(sig);
    return token;
}

const char *h_jwt_hs256(const char *payload_json)
{
    return h_jwt_sign("sha256", h_secret(), "{\"alg\":\"HS256\"}", payload_json);
}

const char *h_jwt_part_text(const char *token, int part)
{
    const char *p = token;
    for (int i = 0; i < part; i++) {
        p = strchr(p, '.');
        if (p == NULL) return NULL;
        p++;
    }
    size_t n = strcspn(p, ".");
    return h_b64url_decode(p, n, NULL);
}

json_t *h_jwt_part(const char *token, int part)
{
    const char *text = h_jwt_part_text(token, part);
    if (text == NULL) return NULL;
    json_error_t err;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    return v ? h_keep(v, (void (*)(void *))json_decref) : NULL;
}

bool h_jwt_signature_ok(const char *token, const char *key)
{
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL) return false;
    const char *input = h_strf("%.*s", (int)(dot2 - token), token);
    size_t n;
    const unsigned char *mac = h_hmac("sha256", key, input, &n);
    return strcmp(h_b64url(mac, n), dot2 + 1) == 0;
}

/* ------------------------------------------------------------------ */
/* lifecycle                                                           */

int h_group_setup(void **state)
{
    signal(SIGPIPE, SIG_IGN);
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int h_group_teardown(void **state)
{
    curl_global_cleanup();
    return 0;
}

int h_setup(void **state)
{
    const char *t = getenv("TMPDIR");
    snprintf(H.tmpdir, sizeof H.tmpdir, "%s/ac-it-XXXXXX", t && t[0] ? t : "/tmp");
    if (mkdtemp(H.tmpdir) == NULL) {
        fprintf(stderr, "mkdtemp %s: %s\n", H.tmpdir, strerror(errno));
        H.tmpdir[0] = '\0';
        return -1;
    }
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    remove(path);
    return 0;
}

static void rm_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

int h_teardown(void **state)
{
    bool leftover = false;
    for (size_t i = 0; i < H.n_procs; i++) leftover |= H.procs[i]->pid > 0;
    if (leftover) {
        fprintf(stderr, "harness: the test ended with processes running; their logs:\n");
        for (size_t i = 0; i < H.n_procs; i++) h_print_log(H.procs[i]);
    }
    for (size_t i = 0; i < H.n_procs; i++) {
        kill_and_reap(H.procs[i]);
        close_out(H.procs[i]);
        free(H.procs[i]);
    }
    H.n_procs = 0;
    free_allocs();
    H.secret[0] = '\0';
    H.n_seeded = 0;
    free(H.sensitive);
    H.sensitive = NULL;
    H.n_sensitive = H.cap_sensitive = 0;
    if (getenv("AC_KEEP_TMP") != NULL)
        fprintf(stderr, "harness: kept %s\n", H.tmpdir);
    else
        rm_tree(H.tmpdir);
    H.tmpdir[0] = '\0';
    return 0;
}

/* Runs one validator over the saved responses; false when it failed. */
static bool run_validator(const char *tool, const char *description, const char *what)
{
    char *script = NULL, *arg = NULL;
    if (asprintf(&script, "%s/tests/tools/%s", source_dir(), tool) < 0 ||
        asprintf(&arg, "%s/%s", source_dir(), description) < 0)
        fail_msg("out of memory");
    const char *argv[] = {"/usr/bin/python3", script, arg, H.docs_dir, NULL};
    char *out = NULL, *err = NULL;
    int rc = run_capture(argv, NULL, &out, NULL, &err, H_VALIDATE_TIMEOUT_MS);
    fprintf(stderr, "%s%s", out, err);
    if (rc != 0) fprintf(stderr, "harness: %s failed (exit %d)\n", what, rc);
    free(out);
    free(err);
    free(script);
    free(arg);
    return rc == 0;
}

/* Every saved response against the official JSON:API schema (the JSON:API
 * documents among them) and against docs/openapi.yaml (all of them: an
 * undescribed route, status or media type fails too). */
void h_validate_documents(void)
{
    if (H.docs_dir[0] == '\0' || H.docs_n == 0)
        fail_msg("no JSON documents were received: nothing to validate");
    bool ok = run_validator("validate_jsonapi.py", "tests/data/jsonapi-1.0-schema.json",
                            "JSON:API schema validation");
    ok &= run_validator("validate_openapi.py", "docs/openapi.yaml", "validation against docs/openapi.yaml");
    if (!ok) fail_msg("response validation failed; documents kept in %s", H.docs_dir);
    rm_tree(H.docs_dir);
    H.docs_dir[0] = '\0';
    H.docs_n = 0;
}

void h_test_validate_documents(void **state) { h_validate_documents(); }
