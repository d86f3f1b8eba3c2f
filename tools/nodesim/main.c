/* activecalls-nodesim: a simulated yeti-switch (SEMS) node for tests, demos
 * and benchmarks. It speaks the node protocol of docs/CONTRACT.md §7 (JSON-RPC 2.0 in
 * netstrings over TCP) and serves generated or file-given active calls.
 *
 * This file owns the command line (docs/CONTRACTS.md), signal handling and
 * the startup/shutdown order: build the call table, bind, announce
 * "listening HOST:PORT", run the event loop until SIGTERM/SIGINT, free
 * everything. Exit codes: 0 clean stop, 1 runtime error (bad --calls-file,
 * cannot bind), 2 usage error. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "callsfile.h"
#include "rng.h"
#include "rpc.h"
#include "server.h"

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fputs("usage: activecalls-nodesim [--listen HOST:PORT] [--node-id N] [--pop-id P]\n"
          "           [--calls K] [--seed S] [--churn [--churn-log FILE]] [--calls-file FILE]\n"
          "           [--accounts N]\n"
          "           [--delay-ms MS] [--blackhole | --close | --garbage | --oversize]\n"
          "           [--log-requests] [--without-filtered]\n"
          "\n"
          "A simulated yeti-switch node: JSON-RPC 2.0 in netstrings over TCP.\n"
          "  --listen HOST:PORT  address to listen on, [V6]:PORT for IPv6; port 0 picks one\n"
          "                      (default 127.0.0.1:0); prints \"listening HOST:PORT\"\n"
          "  --node-id N         node id written into every call (default 1)\n"
          "  --pop-id P          pop id written into every call (default 1)\n"
          "  --calls K           number of generated calls (default 10)\n"
          "  --seed S            generator seed; same seed, same calls (default: node id)\n"
          "  --churn             every 200 ms some calls end and new ones start\n"
          "  --churn-log FILE    with --churn: append to FILE `<unix us> boot` at the start,\n"
          "                      then every start, connect and end, one line each as it\n"
          "                      happens, `<unix us> start|connect|end <tag>`, and every\n"
          "                      listing of all calls, `<unix us> list`\n"
          "  --calls-file FILE   serve this JSON array of call objects as given\n"
          "  --accounts N        generated calls' customer and vendor accounts drawn from 1..N\n"
          "                      (default: the demo data's)\n"
          "  --delay-ms MS       send every reply MS ms after its request arrived\n"
          "  --blackhole         read requests, never answer\n"
          "  --close             close the connection when a request arrives\n"
          "  --garbage           answer with bytes that are not a netstring\n"
          "  --oversize          answer with a 1 GiB netstring header and endless filler\n"
          "  --log-requests      print each request read as one line on stderr:\n"
          "                      nodesim request method=M params=[...]\n"
          "  --without-filtered  an older node build: yeti.show.calls.filtered and\n"
          "                      yeti.show.calls.fields are unknown methods\n",
          f);
}

/* Decimal integer in lo..hi, the whole string. */
static bool parse_int(const char *s, long long lo, long long hi, long long *out)
{
    if (!s || !((*s >= '0' && *s <= '9') || (*s == '-' && lo < 0))) return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *out = (uint64_t)v;
    return true;
}

enum {
    OPT_LISTEN = 256,
    OPT_NODE_ID,
    OPT_POP_ID,
    OPT_CALLS,
    OPT_SEED,
    OPT_CHURN,
    OPT_CHURN_LOG,
    OPT_CALLS_FILE,
    OPT_ACCOUNTS,
    OPT_DELAY_MS,
    OPT_BLACKHOLE,
    OPT_CLOSE,
    OPT_GARBAGE,
    OPT_OVERSIZE,
    OPT_LOG_REQUESTS,
    OPT_WITHOUT_FILTERED,
    OPT_HELP,
};

static const struct option long_options[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"node-id", required_argument, NULL, OPT_NODE_ID},
    {"pop-id", required_argument, NULL, OPT_POP_ID},
    {"calls", required_argument, NULL, OPT_CALLS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"churn", no_argument, NULL, OPT_CHURN},
    {"churn-log", required_argument, NULL, OPT_CHURN_LOG},
    {"calls-file", required_argument, NULL, OPT_CALLS_FILE},
    {"accounts", required_argument, NULL, OPT_ACCOUNTS},
    {"delay-ms", required_argument, NULL, OPT_DELAY_MS},
    {"blackhole", no_argument, NULL, OPT_BLACKHOLE},
    {"close", no_argument, NULL, OPT_CLOSE},
    {"garbage", no_argument, NULL, OPT_GARBAGE},
    {"oversize", no_argument, NULL, OPT_OVERSIZE},
    {"log-requests", no_argument, NULL, OPT_LOG_REQUESTS},
    {"without-filtered", no_argument, NULL, OPT_WITHOUT_FILTERED},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

typedef struct options {
    const char *listen;
    long long node_id, pop_id, calls;
    uint64_t seed;
    bool seed_given;
    const char *calls_file;
    const char *churn_log;
    sim_server_opts server;
} options;

static int bad_value(const char *opt, const char *val)
{
    fprintf(stderr, "activecalls-nodesim: invalid value for --%s: '%s'\n", opt, val);
    return 2;
}

/* 0 to run, 2 on a usage error, -1 when --help was printed. */
static int parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->listen = "127.0.0.1:0";
    o->node_id = 1;
    o->pop_id = 1;
    o->calls = 10;
    int faults = 0;
    int opt;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (opt) {
        case OPT_LISTEN: o->listen = optarg; break;
        case OPT_NODE_ID:
            if (!parse_int(optarg, 0, INT64_MAX, &o->node_id)) return bad_value("node-id", optarg);
            break;
        case OPT_POP_ID:
            if (!parse_int(optarg, 0, INT64_MAX, &o->pop_id)) return bad_value("pop-id", optarg);
            break;
        case OPT_CALLS:
            if (!parse_int(optarg, 0, 1000000, &o->calls)) return bad_value("calls", optarg);
            break;
        case OPT_SEED:
            if (!parse_u64(optarg, &o->seed)) return bad_value("seed", optarg);
            o->seed_given = true;
            break;
        case OPT_CHURN: o->server.churn = true; break;
        case OPT_CHURN_LOG: o->churn_log = optarg; break;
        case OPT_CALLS_FILE: o->calls_file = optarg; break;
        case OPT_ACCOUNTS: {
            long long n;
            if (!parse_int(optarg, 1, 1000000, &n)) return bad_value("accounts", optarg);
            sim_gen_spread((int)n);
            break;
        }
        case OPT_DELAY_MS: {
            long long v;
            if (!parse_int(optarg, 0, 3600000, &v)) return bad_value("delay-ms", optarg);
            o->server.delay_ms = (long)v;
            break;
        }
        case OPT_BLACKHOLE:
            o->server.fault = SIM_FAULT_BLACKHOLE;
            faults++;
            break;
        case OPT_CLOSE:
            o->server.fault = SIM_FAULT_CLOSE;
            faults++;
            break;
        case OPT_GARBAGE:
            o->server.fault = SIM_FAULT_GARBAGE;
            faults++;
            break;
        case OPT_OVERSIZE:
            o->server.fault = SIM_FAULT_OVERSIZE;
            faults++;
            break;
        case OPT_LOG_REQUESTS: o->server.log_requests = true; break;
        case OPT_WITHOUT_FILTERED: sim_rpc_without_filtered(); break;
        case OPT_HELP: usage(stdout); return -1;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "activecalls-nodesim: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (faults > 1) {
        fputs("activecalls-nodesim: --blackhole, --close, --garbage and --oversize "
              "exclude each other\n",
              stderr);
        return 2;
    }
    if (o->server.churn && o->calls_file) {
        fputs("activecalls-nodesim: --churn cannot be used with --calls-file\n", stderr);
        return 2;
    }
    if (o->churn_log && !o->server.churn) {
        fputs("activecalls-nodesim: --churn-log needs --churn\n", stderr);
        return 2;
    }
    if (!o->seed_given) o->seed = (uint64_t)o->node_id;
    o->server.node_id = o->node_id;
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    int prc = parse_options(argc, argv, &o);
    if (prc < 0) return 0;
    if (prc > 0) return prc;

    char host[256], port[8];
    if (sim_parse_listen(o.listen, host, sizeof host, port, sizeof port) != 0)
        return bad_value("listen", o.listen);

    /* SIGTERM/SIGINT are only delivered inside ppoll (see server.h) */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block, waitmask;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGINT);

    sim_calls calls;
    sim_calls_init(&calls, o.seed, o.node_id, o.pop_id, (size_t)o.calls);
    char err[512];
    if (o.churn_log) {
        calls.log = fopen(o.churn_log, "a"); /* a restarted node goes on with its record */
        if (!calls.log) {
            fprintf(stderr, "activecalls-nodesim: --churn-log %s: %s\n", o.churn_log, strerror(errno));
            return 1;
        }
        setvbuf(calls.log, NULL, _IOLBF, 0); /* each line written whole as it happens */
        sim_calls_log_boot(&calls, sim_now_real_us());
    }
    if (o.calls_file) {
        if (sim_callsfile_load(&calls, o.calls_file, err, sizeof err) != 0) {
            fprintf(stderr, "activecalls-nodesim: %s\n", err);
            sim_calls_free(&calls);
            return 1;
        }
    } else if (sim_calls_generate(&calls, sim_now_real_us()) != 0) {
        fputs("activecalls-nodesim: out of memory generating calls\n", stderr);
        if (calls.log) fclose(calls.log);
        sim_calls_free(&calls);
        return 1;
    }

    char bound[300];
    int lfd = sim_listen(host, port, bound, sizeof bound, err, sizeof err);
    if (lfd < 0) {
        fprintf(stderr, "activecalls-nodesim: %s\n", err);
        if (calls.log) fclose(calls.log);
        sim_calls_free(&calls);
        return 1;
    }
    printf("listening %s\n", bound);
    fflush(stdout);

    int rc = sim_server_run(lfd, &calls, &o.server, &stop_requested, &waitmask);
    FILE *log = calls.log;
    sim_calls_free(&calls);
    if (log) fclose(log);
    return rc == 0 ? 0 : 1;
}
