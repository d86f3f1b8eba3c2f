/* serve: option parsing, the listening socket, start-up and clean shutdown
 * of the API server. Signals are blocked in every thread and taken with
 * sigwait in the main thread, so shutdown runs as ordinary code: stop the
 * HTTP daemon (its threads finish their requests), then free the app and
 * the store. */
#include "cli/serve.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "api/app.h"
#include "auth/throttle.h"
#include "cli/cli.h"
#include "history/history.h"
#include "http/server.h"
#include "jsonapi/query.h"
#include "store/store.h"
#include "util/endpoint.h"
#include "util/log.h"

static const char usage_text[] =
    "usage: activecalls serve [--listen IP:PORT] [--db PATH]\n"
    "                         [--node-timeout-ms MS] [--public-url URL]\n"
    "                         [--max-reply-bytes N] [--max-node-calls N] [--node-cache-ms MS]\n"
    "                         [--max-node-document-bytes N] [--max-document-bytes N]\n"
    "                         [--max-inflight-bytes N] [--inflight-wait-ms MS] [--max-page-size N]\n"
    "                         [--secret-file FILE] [--token-lifetime S] [--policy FILE]\n"
    "                         [--trusted-proxies CIDR,...] [--user-cache-ms MS]\n"
    "                         [--login-max-failures N] [--login-max-address-failures N]\n"
    "                         [--login-window S]\n"
    "                         [--loops N] [--workers N] [--max-connections N] [--max-connections-per-ip N]\n"
    "                         [--request-timeout-ms MS] [--keepalive-timeout-ms MS]\n"
    "                         [--send-timeout-ms MS] [--max-head-bytes N] [--max-body-bytes N]\n"
    "                         [--max-unsent-bytes N] [--refresh-ms MS]\n"
    "                         [--metrics-allow CIDR,...] [--metrics-token-file FILE] [--metrics-keep-gone-s "
    "S]\n"
    "                         [--history-interval-s N] [--history-db URI] [--history-keep-days N]\n"
    "                         [--max-streams N] [--stream-queue-bytes N] [--events-ring N]\n"
    "                         [--events-ring-age-s S] [--console-dir DIR] [--log-level LEVEL]\n"
    "                         [--monitor off|dry-run|enforce] [--monitor-interval-ms MS] [--monitor-ahead-s "
    "S]\n"
    "                         [--monitor-max-drops N] [--monitor-skip RULE,...] [--monitor-random-after-s "
    "S]\n"
    "  --config           read options from FILE first: `key = value` lines, one key per long\n"
    "                     option below (listen = 127.0.0.1:8080); options given here override it\n"
    "  --listen           address to serve on (default 127.0.0.1:8080; port 0 = any free port)\n"
    "  --db               database (default $ACTIVECALLS_DB or " CLI_DEFAULT_DB ")\n"
    "  --node-timeout-ms  deadline for asking all nodes (default 2000)\n"
    "  --public-url       base of the links in documents (default http://<Host header>)\n"
    "  --max-reply-bytes  largest node reply accepted (default 67108864)\n"
    "  --max-node-calls   most call records accepted in one node's reply (default 50000)\n"
    "  --max-node-document-bytes\n"
    "                     most bytes one node's calls may take in a listing (default 536870912)\n"
    "  --max-document-bytes\n"
    "                     largest listing document (default 1073741824)\n"
    "  --max-inflight-bytes\n"
    "                     listing documents being written at once, in all (default 2147483648)\n"
    "  --inflight-wait-ms how long a listing waits for that room before a 503 (default 1000)\n"
    "  --max-page-size    largest page[size] of a listing (default 1000; without page[size]\n"
    "                     a page holds 100, or this when it is less)\n"
    "  --node-cache-ms    how long the node list is cached (default 1000)\n"
    "  --secret-file      file holding the token secret (else $ACTIVECALLS_SECRET; required)\n"
    "  --token-lifetime   seconds a login token lives, 1..315360000 (default 600);\n"
    "                     every token carries exp\n"
    "  --policy           role policy file, yeti's policy_roles.yml shape (default: only root)\n"
    "  --trusted-proxies  proxies whose X-Forwarded-For is believed (default none)\n"
    "  --user-cache-ms    how long admin users are cached (default 1000)\n"
    "  --login-max-failures\n"
    "                     failed logins of one username from one address (IPv6: /64)\n"
    "                     before that pair gets 429 (default 5)\n"
    "  --login-max-address-failures\n"
    "                     failed logins from one address (IPv6: /64), any usernames,\n"
    "                     before it gets 429 (default 20)\n"
    "  --login-window     seconds those failures are counted for (default 60)\n"
    "  --loops            event loop threads holding the connections (default: one per core, 8 at most)\n"
    "  --workers          threads running the steps of requests that block (default 16)\n"
    "  --max-connections  open connections in all (default 16384; the open-file limit is raised)\n"
    "  --max-connections-per-ip\n"
    "                     open connections per client address (default 256; 0 = no cap;\n"
    "                     --trusted-proxies are exempt)\n"
    "  --request-timeout-ms\n"
    "                     a request's line, headers and body, from its first byte (default 10000)\n"
    "  --keepalive-timeout-ms\n"
    "                     an idle connection between requests (default 60000)\n"
    "  --send-timeout-ms  an answer the client does not read (default 30000)\n"
    "  --max-head-bytes   request line and headers (default 32768: else 414/431)\n"
    "  --max-body-bytes   request body (default 1048576: else 413)\n"
    "  --max-unsent-bytes answers waiting for slow readers, in all (default 1073741824: else 503)\n"
    "  --refresh-ms       how often the live view asks the nodes while something watches it\n"
    "                     (metrics, history, events, monitor; default 1000)\n"
    "  --metrics-allow    addresses that may read /metrics (default 127.0.0.0/8,::1/128)\n"
    "  --metrics-token-file  a bearer token that may read /metrics from any address\n"
    "  --metrics-keep-gone-s how long a gone account's series stays, at 0 (default 900)\n"
    "  --history-interval-s\n"
    "                     seconds between samples of the active-call history (default 60; 0 = off)\n"
    "  --history-db       where the history goes (default: --db; usually yeti's CDR database)\n"
    "  --history-keep-days\n"
    "                     days of history kept (default 31)\n"
    "  --max-streams      open event streams in all (default 4096; else 503)\n"
    "  --stream-queue-bytes\n"
    "                     a stream's bytes its client has not taken when new events come:\n"
    "                     above this it gets `overflow` and is closed (default 1048576)\n"
    "  --events-ring      events kept for streams that resume (default 50000) ...\n"
    "  --events-ring-age-s\n"
    "                     ... and for how long (default 120)\n"
    "  --console-dir      serve the console's files from DIR instead of the built-in ones\n"
    "  --log-level        debug, info, warn or error: the least level logged\n"
    "                     (default $ACTIVECALLS_LOG_LEVEL, else info)\n"
    "                     (for working on the console; default: built in)\n"
    "  --monitor          the calls monitor: yeti's balance and teardown rules (default off;\n"
    "                     dry-run reports, enforce drops)\n"
    "  --monitor-interval-ms\n"
    "                     a monitor run every MS, at least --refresh-ms (default 5000)\n"
    "  --monitor-ahead-s  costs projected this many seconds ahead (default 60)\n"
    "  --monitor-max-drops\n"
    "                     a run that would drop more drops nothing (default 100)\n"
    "  --monitor-skip     rules switched off, e.g. customer-auth-rejects,orig-gw-disabled\n"
    "  --monitor-random-after-s\n"
    "                     random-disconnect: calls longer than S s, 10% a run (default 0: off)\n";

/* A real switch node carries at most a few tens of thousands of calls, and
 * a real record is 2-3 KB of reply, so the default --max-reply-bytes
 * (64 MiB) holds about 25,000 of them. Twice that is the cap: it never
 * bites on a real node, while a reply of tiny records (each still rendered
 * as a resource object of ~5 KB) is stopped at ~250 MB of document instead
 * of 15 GB (docs/API.md, "Listing"). */
#define DEFAULT_MAX_NODE_CALLS 50000

/* The document limits (docs/API.md, "Memory"). A real call is ~6.7 KB in
 * a listing: 512 MiB per node holds the 50,000 calls above with room for
 * a long --public-url, 1 GiB per document ~160,000 calls (eight times the
 * 20,000-call listing BENCHMARKS.md measures), and 2 GiB of documents
 * being written at once two of the biggest, or many ordinary ones. A
 * listing's peak memory is ~1.6x its document, so the listings of a
 * process stay within ~3.5 GB whatever the nodes answer. */

/* Pages of listings (docs/API.md, "Sorting and pages"): page[number]
 * alone gets pages of DEFAULT_PAGE_SIZE calls (capped by --max-page-size). */
#define DEFAULT_PAGE_SIZE 100
#define DEFAULT_MAX_PAGE_SIZE 1000

#define SECRET_MIN 16
#define SECRET_MAX 4096

/* The token secret: the file's bytes (one trailing newline dropped), else
 * $ACTIVECALLS_SECRET. Returns its length, or 0 with a message printed. */
static size_t read_secret(const char *file, unsigned char out[SECRET_MAX])
{
    size_t n = 0;
    if (file) {
        FILE *f = fopen(file, "rb");
        if (!f) {
            fprintf(stderr, "activecalls: --secret-file %s: %s\n", file, strerror(errno));
            return 0;
        }
        n = fread(out, 1, SECRET_MAX, f);
        bool more = fgetc(f) != EOF;
        fclose(f);
        if (more) {
            fprintf(stderr, "activecalls: --secret-file %s: over 4096 bytes\n", file);
            return 0;
        }
    } else {
        const char *env = getenv("ACTIVECALLS_SECRET");
        if (!env || !*env) {
            fprintf(stderr,
                    "activecalls: no token secret: give --secret-file FILE or set "
                    "ACTIVECALLS_SECRET (there is no built-in default)\n");
            return 0;
        }
        n = strlen(env);
        if (n > SECRET_MAX) {
            fprintf(stderr, "activecalls: ACTIVECALLS_SECRET is over 4096 bytes\n");
            return 0;
        }
        memcpy(out, env, n);
    }
    if (n && out[n - 1] == '\n') n--;
    if (n && out[n - 1] == '\r') n--;
    if (n < SECRET_MIN) {
        fprintf(stderr, "activecalls: the token secret is too short (%zu bytes; at least %d)\n", n,
                SECRET_MIN);
        return 0;
    }
    return n;
}

static bool parse_range(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* Binds and listens on "ip:port" (port may be 0). Returns the fd or -1. */
static int open_listener(const char *spec, char *bound, size_t bound_len)
{
    char tmp[300];
    char err[ENDPOINT_ERR_LEN];
    snprintf(tmp, sizeof tmp, "%s", spec);
    size_t n = strlen(tmp);
    bool any_port = n >= 2 && strcmp(tmp + n - 2, ":0") == 0;
    if (any_port) tmp[n - 1] = '1'; /* the parser wants 1..65535; the port is reset below */
    struct sockaddr_storage ss;
    socklen_t len;
    if (endpoint_parse(tmp, &ss, &len, err) != 0) {
        fprintf(stderr, "activecalls: --listen %s: %s\n", spec, err);
        return -1;
    }
    if (any_port) {
        if (ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&ss)->sin_port = 0;
        else
            ((struct sockaddr_in6 *)&ss)->sin6_port = 0;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1024) < 0) {
        fprintf(stderr, "activecalls: cannot listen on %s: %s\n", spec, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    char ip[INET6_ADDRSTRLEN];
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(bound, bound_len, "%s:%u", ip, ntohs(a->sin_port));
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(bound, bound_len, "[%s]:%u", ip, ntohs(a->sin6_port));
    }
    return fd;
}

static bool public_url_ok(const char *u)
{
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) return false;
    if (strlen(u) > 400) return false;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\\' || (unsigned char)*p >= 0x7f) return false;
    return true;
}

/* Big buffers (node replies, parsed text, documents of up to 100+ MB) are
 * made and dropped on many threads. glibc's default raises its mmap
 * threshold after the first big free, after which such buffers come from
 * per-thread heaps that keep their freed memory: the process then grows by
 * a buffer's size for every thread that ever held one (measured: a peak of
 * 2x the largest document instead of 1.7x). A fixed threshold keeps every
 * buffer of 1 MiB or more in its own mapping, returned when freed. */
static void tune_malloc(void) { mallopt(M_MMAP_THRESHOLD, 1 << 20); }

/* The smaller blocks stay in glibc's per-thread arenas when freed, so the
 * process keeps the high-water mark of every arena: measured over a
 * 12-minute soak with a node restarted every minute, the bytes in use
 * stayed at 130 MB while the arenas grew from 141 to 155 MB, and the
 * resident size with them. Every TRIM_EVERY_S the main thread gives the
 * free pages back (malloc_trim), so the resident size follows what is in
 * use (BENCHMARKS.md, "Soak"). Under AddressSanitizer, whose allocator
 * replaces glibc's, the same is its purge: the free memory of its size
 * classes and its quarantine of freed blocks go back (a use after free is
 * then caught within TRIM_EVERY_S of the free, not within the quarantine's
 * size of frees). */
#define TRIM_EVERY_S 10
#if defined(__SANITIZE_ADDRESS__)
void __sanitizer_purge_allocator(void); /* libasan's; GCC ships no header for it */
#define heap_trim() __sanitizer_purge_allocator()
#else
#define heap_trim() malloc_trim(0)
#endif

/* Waits for a signal in `set`, trimming the heap every TRIM_EVERY_S. */
static int wait_signal(const sigset_t *set)
{
    const struct timespec every = {TRIM_EVERY_S, 0};
    for (;;) {
        int sig = sigtimedwait(set, NULL, &every);
        if (sig >= 0) return sig;
        if (errno == EAGAIN)
            heap_trim();
        else if (errno != EINTR)
            return -1;
    }
}

/* What the options say, with the defaults (docs/API.md). */
typedef struct serve_opts {
    const char *listen_spec, *db, *public_url, *secret_file, *policy_file, *trusted;
    const char *metrics_allow, *metrics_token_file;
    long long timeout_ms, max_reply, cache_ms, max_node_calls, max_node_doc, max_doc;
    long long max_inflight, inflight_wait_ms, lifetime, user_cache_ms, max_failures, window_s;
    long long max_address_failures, max_page_size, refresh_ms, metrics_keep_gone_s;
    long long history_interval_s, history_keep_days;
    long long stream_queue_bytes, events_ring, events_ring_age_s;
    const char *history_db;
    const char *console_dir;
    int log_level; /* log_level, or -1: $ACTIVECALLS_LOG_LEVEL names none (serve_validate) */
    monitor_config monitor;
    http_limits lim;
    /* every option as given, by name (the last one wins): what a reload compares */
    struct {
        const char *name, *value;
    } given[64];
    size_t ngiven;
} serve_opts;

/* Notes name = value among o's given options. */
static void note_given(serve_opts *o, const char *name, const char *value)
{
    size_t i = 0;
    while (i < o->ngiven && strcmp(o->given[i].name, name) != 0) i++;
    if (i == o->ngiven) {
        if (o->ngiven == sizeof o->given / sizeof o->given[0]) return;
        o->ngiven++;
    }
    o->given[i].name = name;
    o->given[i].value = value;
}

/* Takes one option (cli_getopt): CLI_CONTINUE, or CLI_USAGE for a value
 * out of its range. */
static int serve_option(void *ctx, const struct option *opt, const char *arg)
{
    serve_opts *o = ctx;
    http_limits *lim = &o->lim;
    if (opt->has_arg == required_argument) note_given(o, opt->name, arg);
    long long v = 0;
    size_t len = 0;
    bool ok = true;
    switch (opt->val) {
    case 'l': o->listen_spec = arg; break;
    case 'd': o->db = arg; break;
    case 't': ok = parse_range(arg, 1, 600000, &o->timeout_ms); break;
    case 'u':
        o->public_url = arg;
        ok = public_url_ok(arg);
        break;
    case 'm': ok = parse_range(arg, 1024, 1LL << 32, &o->max_reply); break;
    case 'n': ok = parse_range(arg, 1, 100000000, &o->max_node_calls); break;
    case 'N': ok = parse_range(arg, 1024, 1LL << 50, &o->max_node_doc); break;
    case 'D': ok = parse_range(arg, 1024, 1LL << 50, &o->max_doc); break;
    case 'I': ok = parse_range(arg, 1024, 1LL << 50, &o->max_inflight); break;
    case 'w': ok = parse_range(arg, 0, 600000, &o->inflight_wait_ms); break;
    case 'S': ok = parse_range(arg, 1, 1000000000, &o->max_page_size); break;
    case 'c': ok = parse_range(arg, 0, 3600000, &o->cache_ms); break;
    case 's': o->secret_file = arg; break;
    case 'T':
        ok = parse_range(arg, 1, 10LL * 365 * 86400, &o->lifetime);
        if (!ok && strcmp(arg, "0") == 0) {
            fprintf(stderr,
                    "activecalls: --token-lifetime 0 is refused: every token carries exp "
                    "and one without it is not accepted; give seconds, 1 or more\n");
            return CLI_USAGE;
        }
        break;
    case 'p': o->policy_file = arg; break;
    case 'P': o->trusted = arg; break;
    case 'U': ok = parse_range(arg, 0, 3600000, &o->user_cache_ms); break;
    case 'F': ok = parse_range(arg, 1, THROTTLE_MAX_FAILURES, &o->max_failures); break;
    case 'A': ok = parse_range(arg, 1, THROTTLE_MAX_FAILURES, &o->max_address_failures); break;
    case 'W': ok = parse_range(arg, 1, 86400, &o->window_s); break;
    case 'R': ok = parse_range(arg, 100, 3600000, &o->refresh_ms); break;
    case 1010: o->metrics_allow = arg; break;
    case 1011: o->metrics_token_file = arg; break;
    case 1012: ok = parse_range(arg, 1, 30 * 86400, &o->metrics_keep_gone_s); break;
    case 1013: ok = parse_range(arg, 0, 86400, &o->history_interval_s); break;
    case 1014: o->history_db = arg; break;
    case 1015: ok = parse_range(arg, 1, 36500, &o->history_keep_days); break;
    case 1016:
        ok = parse_range(arg, 0, 1000000, &v);
        lim->max_streams = (size_t)v;
        break;
    case 1017: ok = parse_range(arg, 4096, 1LL << 32, &o->stream_queue_bytes); break;
    case 1018: ok = parse_range(arg, 1, 100000000, &o->events_ring); break;
    case 1019: ok = parse_range(arg, 1, 86400, &o->events_ring_age_s); break;
    case 1020: o->console_dir = arg; break;
    case 1021: {
        int mode = monitor_mode_find(arg);
        ok = mode >= 0;
        if (ok) o->monitor.mode = (monitor_mode)mode;
        break;
    }
    case 1022:
        ok = parse_range(arg, 100, 3600000, &v);
        o->monitor.interval_ms = (int)v;
        break;
    case 1023:
        ok = parse_range(arg, 0, 86400, &v);
        o->monitor.ahead_s = (int)v;
        break;
    case 1024:
        ok = parse_range(arg, 0, 1000000, &v);
        o->monitor.max_drops = (int)v;
        break;
    case 1025:
        for (const char *p = arg, *item; ok && query_list_next(&p, &item, &len);) {
            int r = monitor_rule_find(item, len);
            if (r < 0)
                ok = false;
            else
                o->monitor.skip[r] = true;
        }
        break;
    case 1026:
        ok = parse_range(arg, 0, 86400 * 30, &v);
        o->monitor.random_after_s = (int)v;
        break;
    case 1027: break; /* --config: read before the other options (serve_parse) */
    case 1028: ok = (o->log_level = log_level_find(arg)) >= 0; break;
    case 1000:
        ok = parse_range(arg, 1, 4096, &v);
        lim->workers = (size_t)v;
        break;
    case 1009:
        ok = parse_range(arg, 1, HTTP_LOOPS_MAX, &v);
        lim->loops = (size_t)v;
        break;
    case 1001:
        ok = parse_range(arg, 1, 10000000, &v);
        lim->max_connections = (size_t)v;
        break;
    case 1002:
        ok = parse_range(arg, 0, 10000000, &v);
        lim->max_connections_per_ip = (size_t)v;
        break;
    case 1003:
        ok = parse_range(arg, 100, 3600000, &v);
        lim->request_timeout_ms = (int)v;
        break;
    case 1004:
        ok = parse_range(arg, 100, 3600000, &v);
        lim->keepalive_timeout_ms = (int)v;
        break;
    case 1005:
        ok = parse_range(arg, 100, 3600000, &v);
        lim->send_timeout_ms = (int)v;
        break;
    case 1006:
        ok = parse_range(arg, 1024, 1 << 20, &v);
        lim->max_head_bytes = (size_t)v;
        break;
    case 1007:
        ok = parse_range(arg, 0, 1LL << 30, &v);
        lim->max_body_bytes = (size_t)v;
        break;
    case 1008:
        ok = parse_range(arg, 1 << 20, 1LL << 40, &v);
        lim->max_unsent_bytes = (size_t)v;
        break;
    default: assert(!"an option without a case"); break;
    }
    if (!ok) {
        fprintf(stderr, "activecalls: invalid value for --%s: %s\n", opt->name, arg);
        fputs(usage_text, stderr);
        return CLI_USAGE;
    }
    return CLI_CONTINUE;
}

static const struct option serve_options[] = {
    {"listen", required_argument, NULL, 'l'},
    {"db", required_argument, NULL, 'd'},
    {"node-timeout-ms", required_argument, NULL, 't'},
    {"public-url", required_argument, NULL, 'u'},
    {"max-reply-bytes", required_argument, NULL, 'm'},
    {"max-node-calls", required_argument, NULL, 'n'},
    {"max-node-document-bytes", required_argument, NULL, 'N'},
    {"max-document-bytes", required_argument, NULL, 'D'},
    {"max-inflight-bytes", required_argument, NULL, 'I'},
    {"inflight-wait-ms", required_argument, NULL, 'w'},
    {"max-page-size", required_argument, NULL, 'S'},
    {"node-cache-ms", required_argument, NULL, 'c'},
    {"secret-file", required_argument, NULL, 's'},
    {"token-lifetime", required_argument, NULL, 'T'},
    {"policy", required_argument, NULL, 'p'},
    {"trusted-proxies", required_argument, NULL, 'P'},
    {"user-cache-ms", required_argument, NULL, 'U'},
    {"login-max-failures", required_argument, NULL, 'F'},
    {"login-max-address-failures", required_argument, NULL, 'A'},
    {"login-window", required_argument, NULL, 'W'},
    {"workers", required_argument, NULL, 1000},
    {"loops", required_argument, NULL, 1009},
    {"max-connections", required_argument, NULL, 1001},
    {"max-connections-per-ip", required_argument, NULL, 1002},
    {"request-timeout-ms", required_argument, NULL, 1003},
    {"keepalive-timeout-ms", required_argument, NULL, 1004},
    {"send-timeout-ms", required_argument, NULL, 1005},
    {"max-head-bytes", required_argument, NULL, 1006},
    {"max-body-bytes", required_argument, NULL, 1007},
    {"max-unsent-bytes", required_argument, NULL, 1008},
    {"refresh-ms", required_argument, NULL, 'R'},
    {"metrics-allow", required_argument, NULL, 1010},
    {"metrics-token-file", required_argument, NULL, 1011},
    {"metrics-keep-gone-s", required_argument, NULL, 1012},
    {"history-interval-s", required_argument, NULL, 1013},
    {"history-db", required_argument, NULL, 1014},
    {"history-keep-days", required_argument, NULL, 1015},
    {"max-streams", required_argument, NULL, 1016},
    {"stream-queue-bytes", required_argument, NULL, 1017},
    {"events-ring", required_argument, NULL, 1018},
    {"events-ring-age-s", required_argument, NULL, 1019},
    {"console-dir", required_argument, NULL, 1020},
    {"log-level", required_argument, NULL, 1028},
    {"monitor", required_argument, NULL, 1021},
    {"monitor-interval-ms", required_argument, NULL, 1022},
    {"monitor-ahead-s", required_argument, NULL, 1023},
    {"monitor-max-drops", required_argument, NULL, 1024},
    {"monitor-skip", required_argument, NULL, 1025},
    {"monitor-random-after-s", required_argument, NULL, 1026},
    {"config", required_argument, NULL, 1027},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The defaults (docs/API.md), before a config file and the options. */
static void serve_defaults(serve_opts *o)
{
    *o = (serve_opts){
        .listen_spec = "127.0.0.1:8080",
        .trusted = "",
        .timeout_ms = 2000,
        .max_reply = 64LL * 1024 * 1024,
        .cache_ms = 1000,
        .max_node_calls = DEFAULT_MAX_NODE_CALLS,
        .max_node_doc = 512LL << 20,
        .max_doc = 1LL << 30,
        .max_inflight = 2LL << 30,
        .inflight_wait_ms = 1000,
        .lifetime = 600,
        .user_cache_ms = 1000,
        .max_failures = 5,
        .window_s = 60,
        .max_address_failures = 20,
        .max_page_size = DEFAULT_MAX_PAGE_SIZE,
        .refresh_ms = 1000,
        .metrics_keep_gone_s = 900,
        .history_interval_s = 60,
        .history_keep_days = 31,
        .stream_queue_bytes = 1 << 20,
        .events_ring = 50000,
        .events_ring_age_s = 120,
        .monitor = {.mode = MONITOR_OFF, .interval_ms = 5000, .ahead_s = 60, .max_drops = 100},
    };
    const char *level = getenv("ACTIVECALLS_LOG_LEVEL");
    o->log_level = level ? log_level_find(level) : LOG_INFO;
    http_limits_default(&o->lim);
}

/* What the options cannot check one by one. CLI_CONTINUE or CLI_USAGE. */
static int serve_validate(const serve_opts *o)
{
    if (o->log_level < 0) {
        fputs("activecalls: ACTIVECALLS_LOG_LEVEL is not debug, info, warn or error\n", stderr);
        return CLI_USAGE;
    }
    if (o->monitor.mode != MONITOR_OFF && o->monitor.interval_ms < o->refresh_ms) {
        fprintf(stderr,
                "activecalls: --monitor-interval-ms %d is shorter than --refresh-ms %lld: a run needs a new "
                "snapshot\n",
                o->monitor.interval_ms, o->refresh_ms);
        return CLI_USAGE;
    }
    return CLI_CONTINUE;
}

/* Options a config file may not set. */
static const char *const file_refused[] = {"config", "help", NULL};

/* The defaults, then --config's file, then the options (which override
 * it). *text: the file's text, which the options may point into (freed by
 * the caller). */
static int serve_parse(int argc, char **argv, serve_opts *o, char **text)
{
    *text = NULL;
    serve_defaults(o);
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *file = NULL;
        if (strcmp(a, "--") == 0) break;
        if (strcmp(a, "--config") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strncmp(a, "--config=", 9) == 0)
            file = a + 9;
        if (!file) continue;
        if (config) return cli_usage_error("serve", usage_text, "--config is given twice");
        config = file;
    }
    if (config) {
        int rc = cli_config_file(config, serve_options, file_refused, serve_option, o, text);
        if (rc != CLI_CONTINUE) return rc;
    }
    int rc = cli_getopt(argc, argv, serve_options, "serve", usage_text, serve_option, o);
    return rc != CLI_CONTINUE ? rc : serve_validate(o);
}

int cli_config(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "check") != 0) {
        fputs("usage: activecalls config check FILE\n"
              "  checks a serve config file (`key = value`, one key per long option of serve)\n"
              "  without starting anything\n",
              argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc == 2 && strcmp(argv[1], "--help") == 0 ? CLI_OK : CLI_USAGE;
    }
    serve_opts o;
    serve_defaults(&o);
    char *text = NULL;
    int rc = cli_config_file(argv[2], serve_options, file_refused, serve_option, &o, &text);
    if (rc == CLI_CONTINUE) rc = serve_validate(&o);
    free(text);
    if (rc != CLI_CONTINUE) return rc;
    printf("%s: ok\n", argv[2]);
    return CLI_OK;
}

/* The value o was given for name, or NULL. */
static const char *given(const serve_opts *o, const char *name)
{
    for (size_t i = 0; i < o->ngiven; i++)
        if (strcmp(o->given[i].name, name) == 0) return o->given[i].value;
    return NULL;
}

/* Options a reload applies while serving (docs/CONTRACTS.md): the policy
 * file (read again on every reload), the monitor's settings, the log
 * level and two limits read per request. */
static const char *const reloadable[] = {"policy",
                                         "monitor",
                                         "monitor-max-drops",
                                         "monitor-ahead-s",
                                         "monitor-skip",
                                         "monitor-random-after-s",
                                         "log-level",
                                         "token-lifetime",
                                         "inflight-wait-ms",
                                         NULL};

static bool is_reloadable(const char *name)
{
    for (size_t i = 0; reloadable[i]; i++)
        if (strcmp(reloadable[i], name) == 0) return true;
    return false;
}

/* What the options say of the app's configuration (api/app.h): serve's
 * start adds what is not an option, and a reload hands app_reload the
 * whole of it, which takes what may change. */
static app_config config_of(const serve_opts *o)
{
    return (app_config){
        .public_url = o->public_url,
        .node_timeout_ms = (int)o->timeout_ms,
        .max_reply_bytes = (uint64_t)o->max_reply,
        .max_node_calls = (size_t)o->max_node_calls,
        .max_node_document_bytes = (uint64_t)o->max_node_doc,
        .max_document_bytes = (uint64_t)o->max_doc,
        .max_inflight_bytes = (uint64_t)o->max_inflight,
        .inflight_wait_ms = (int)o->inflight_wait_ms,
        .node_cache_ms = (int)o->cache_ms,
        .default_page_size = o->max_page_size < DEFAULT_PAGE_SIZE ? o->max_page_size : DEFAULT_PAGE_SIZE,
        .max_page_size = o->max_page_size,
        .refresh_ms = (int)o->refresh_ms,
        .metrics_allow = o->metrics_allow,
        .metrics_token_file = o->metrics_token_file,
        .metrics_keep_gone_s = (int)o->metrics_keep_gone_s,
        .history_interval_s = (int)o->history_interval_s,
        .events_ring = (size_t)o->events_ring,
        .events_ring_age_s = (int)o->events_ring_age_s,
        .stream_queue_bytes = (size_t)o->stream_queue_bytes,
        .console_dir = o->console_dir,
        .monitor = o->monitor,
        .token_lifetime_s = (int)o->lifetime,
        .policy_file = o->policy_file,
        .trusted_proxies = o->trusted,
        .user_cache_ms = (int)o->user_cache_ms,
        .login_max_failures = (int)o->max_failures,
        .login_max_address_failures = (int)o->max_address_failures,
        .login_window_s = (int)o->window_s,
    };
}

/* SIGHUP: the options parsed again (the file, then the same command
 * line); what may change is applied and logged, what needs a restart is
 * named. *o becomes the new reference; texts are kept to the end (the
 * running service still points into the first). */
static void reload(serve_opts *o, app *a, int argc, char **argv, char ***texts, size_t *ntexts)
{
    serve_opts n;
    char *text = NULL;
    int rc = serve_parse(argc, argv, &n, &text);
    char **more = realloc(*texts, (*ntexts + 1) * sizeof **texts);
    if (more) {
        *texts = more;
        (*texts)[(*ntexts)++] = text;
    } else {
        rc = CLI_RUNTIME;
        free(text);
    }
    if (rc != CLI_CONTINUE) {
        log_msg(LOG_ERROR, "reload-failed: the options do not parse (the error is above); nothing changed");
        return;
    }
    if ((o->monitor.mode == MONITOR_OFF) != (n.monitor.mode == MONITOR_OFF)) {
        log_msg(LOG_ERROR, "reload-failed: turning the monitor on or off needs a restart; nothing changed");
        return;
    }
    buf changed, restart;
    buf_init(&changed);
    buf_init(&restart);
    for (const struct option *opt = serve_options; opt->name; opt++) {
        const char *was = given(o, opt->name), *now = given(&n, opt->name);
        if ((!was && !now) || (was && now && strcmp(was, now) == 0)) continue;
        buf *list = is_reloadable(opt->name) ? &changed : &restart;
        if (list->len) buf_putc(list, ',');
        buf_puts(list, opt->name);
    }
    app_config next = config_of(&n);
    char err[256] = "";
    if (!app_reload(a, &next, err)) {
        log_msg(LOG_ERROR, "reload-failed: %s; nothing changed", err);
    } else {
        buf line;
        log_begin(&line, LOG_INFO, "reload");
        if (changed.len)
            log_kvn(&line, "changed", changed.data, changed.len);
        else
            log_kv(&line, "changed", "none");
        if (restart.len) log_kvn(&line, "restart_needed", restart.data, restart.len);
        log_end(&line, LOG_INFO);
        log_set_level((log_level)n.log_level); /* after the line: a quieter level still shows the reload */
        *o = n;
    }
    buf_free(&changed);
    buf_free(&restart);
}

/* Runs the server with these options until a stop signal; SIGHUP reloads. */
static int serve_main(serve_opts o, int argc, char **argv)
{
    /* every thread started from here on inherits this mask */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    log_set_level((log_level)o.log_level);
    static unsigned char secret[SECRET_MAX];
    size_t secret_len = read_secret(o.secret_file, secret);
    if (!secret_len) return 1;

    char err[256];
    store *st = store_open(cli_db_location(o.db), err);
    if (!st) {
        fprintf(stderr, "activecalls: %s\n", err);
        return 1;
    }

    store *hist = o.history_db ? store_open(o.history_db, err) : st;
    if (!hist) {
        fprintf(stderr, "activecalls: --history-db: %s\n", err);
        store_close(st);
        return 1;
    }
    char bound[128];
    int fd = open_listener(o.listen_spec, bound, sizeof bound);
    if (fd < 0) {
        if (hist != st) store_close(hist);
        store_close(st);
        return 1;
    }

    char fallback[160];
    snprintf(fallback, sizeof fallback, "http://%s", bound);
    app_config cfg = config_of(&o);
    cfg.fallback_base = fallback;
    cfg.history_store = hist;
    cfg.secret = secret;
    cfg.secret_len = secret_len;
    app *a = app_new(&cfg, st, err);
    explicit_bzero(secret, sizeof secret); /* the app keeps its own copy */
    cidr_list exempt = {0};
    char cerr[160];
    if (a && cidr_list_parse(o.trusted, &exempt, cerr) == 0) o.lim.exempt = &exempt;
    http_server *srv = a ? http_server_start(fd, &o.lim, app_handle, a, err) : NULL;
    history *hw = NULL;
    if (srv && o.history_interval_s > 0) {
        char instance[128];
        snprintf(instance, sizeof instance, "%.60s pid %ld", bound, (long)getpid());
        history_config hc = {(int)o.history_interval_s, (int)o.history_keep_days, o.refresh_ms, instance};
        if (!(hw = history_start(hist, &hc, app_snapshot_wait, a, err))) {
            http_server_stop(srv); /* closes the listener */
            srv = NULL;
            app_free(a);
            a = NULL;
            fd = -1;
        }
    }
    if (!srv) {
        fprintf(stderr, "activecalls: %s\n", err);
        cidr_list_free(&exempt);
        if (!a && fd >= 0) close(fd);
        app_free(a);
        if (hist != st) store_close(hist);
        store_close(st);
        return 1;
    }
    printf("listening %s\n", bound);
    fflush(stdout);
    log_msg(LOG_INFO, "serving on %s, node deadline %lld ms", bound, o.timeout_ms);
    /* under systemd (Type=notify): started once it listens; elsewhere a no-op */
    sd_notifyf(0, "READY=1\nSTATUS=serving on %s", bound);
    if (hw)
        log_msg(LOG_INFO, "history: a sample every %lld s, kept %lld days", o.history_interval_s,
                o.history_keep_days);

    int sig;
    char **texts = NULL;
    size_t ntexts = 0;
    while ((sig = wait_signal(&stop)) == SIGHUP) reload(&o, a, argc, argv, &texts, &ntexts);
    for (size_t i = 0; i < ntexts; i++) free(texts[i]);
    free(texts);
    log_msg(LOG_INFO, "signal %d: shutting down", sig);
    sd_notify(0, "STOPPING=1");
    history_stop(hw); /* before the app whose live view it reads */
    http_server_stop(srv);
    cidr_list_free(&exempt);
    app_free(a);
    if (hist != st) store_close(hist);
    store_close(st);
    return 0;
}

int cli_serve(int argc, char **argv)
{
    tune_malloc();
    serve_opts o;
    char *text = NULL;
    int rc = serve_parse(argc, argv, &o, &text);
    if (rc == CLI_CONTINUE) rc = serve_main(o, argc, argv);
    free(text);
    return rc;
}
