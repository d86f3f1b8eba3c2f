/* cli_store: the `node` and `pop` subcommands (docs/CONTRACTS.md), which
 * manage the switch nodes and points of presence in the store.
 *
 * Each subcommand is a table of verbs (add, list, remove) naming the options
 * the verb accepts and needs; one driver parses the options, validates the
 * record before the database is opened (so a typo neither creates a file nor
 * counts as a runtime error), runs the verb and maps the outcome to the exit
 * code: 0 ok, 1 runtime error, 2 usage error. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h> /* struct option */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

enum { F_ID = 1u, F_NAME = 2u, F_ENDPOINT = 4u, F_POP_ID = 8u, F_DB = 16u };
enum { OPT_ID = 256, OPT_NAME, OPT_ENDPOINT, OPT_POP_ID, OPT_DB };

static const cli_optdef optdefs[] = {
    {OPT_ID, F_ID, "--id"},
    {OPT_NAME, F_NAME, "--name"},
    {OPT_ENDPOINT, F_ENDPOINT, "--endpoint"},
    {OPT_POP_ID, F_POP_ID, "--pop-id"},
    {OPT_DB, F_DB, "--db"},
};

static const struct option long_opts[] = {
    {"id", required_argument, NULL, OPT_ID},
    {"name", required_argument, NULL, OPT_NAME},
    {"endpoint", required_argument, NULL, OPT_ENDPOINT},
    {"pop-id", required_argument, NULL, OPT_POP_ID},
    {"db", required_argument, NULL, OPT_DB},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct opts {
    const char *db;
    const char *name;
    const char *endpoint;
    int64_t id;
    int64_t pop_id;
    unsigned seen;
} opts;

/* The row an `add` verb writes, built and validated before the store opens. */
typedef struct record {
    store_pop pop;
    store_node node;
} record;

typedef struct verb {
    const char *name;
    unsigned accepts;
    unsigned requires;
    store_status (*prepare)(const opts *o, record *r, char *err); /* NULL: nothing to check */
    store_status (*run)(store *s, const opts *o, const record *r, char *err);
} verb;

typedef struct command {
    const char *name;
    const char *usage;
    const verb *verbs;
    size_t nverbs;
} command;

/* ---- messages ---- */

static int usage_error(const command *c, const verb *v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int usage_error(const command *c, const verb *v, const char *fmt, ...)
{
    char what[64];
    snprintf(what, sizeof what, "%s%s%s", c->name, v ? " " : "", v ? v->name : "");
    va_list ap;
    va_start(ap, fmt);
    int rc = cli_usage_verror(what, c->usage, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- option parsing ---- */

/* An option the verb accepts, given once (cli_parse_verb checked). */
static int take_opt(const cli_verb_opts *vo, const cli_optdef *d, const char *arg)
{
    opts *o = vo->ctx;
    switch (d->bit) {
    case F_ID: return cli_take_id(vo, d, arg, &o->id);
    case F_POP_ID: return cli_take_id(vo, d, arg, &o->pop_id);
    case F_DB: return cli_take_db(vo, arg, &o->db);
    case F_NAME: o->name = arg; break;
    case F_ENDPOINT: o->endpoint = arg; break;
    default: break;
    }
    return CLI_CONTINUE;
}

/* Parses argv (argv[0] is the verb). Returns CLI_CONTINUE, or the exit code
 * when parsing ends the command (help, usage error). */
static int parse_opts(const command *c, const verb *v, int argc, char **argv, opts *o)
{
    char what[64];
    snprintf(what, sizeof what, "%s %s", c->name, v->name);
    const cli_verb_opts vo = {long_opts,  optdefs,     sizeof optdefs / sizeof optdefs[0],
                              v->accepts, v->requires, what,
                              c->usage,   take_opt,    o};
    return cli_parse_verb(argc, argv, &vo, &o->seen);
}

/* ---- verbs ---- */

static store_status copy_field(const char *flag, const char *src, char *dst, size_t cap, char *err)
{
    size_t n = strlen(src);
    if (n >= cap) {
        snprintf(err, STORE_ERR_LEN, "%s is longer than %zu bytes", flag, cap - 1);
        return STORE_INVALID;
    }
    memcpy(dst, src, n + 1);
    return STORE_OK;
}

static store_status prep_pop(const opts *o, record *r, char *err)
{
    r->pop.id = o->id;
    store_status st = copy_field("--name", o->name, r->pop.name, sizeof r->pop.name, err);
    return st == STORE_OK ? store_pop_validate(&r->pop, err) : st;
}

static store_status prep_node(const opts *o, record *r, char *err)
{
    store_node *n = &r->node;
    n->id = o->id;
    n->pop_id = o->pop_id;
    store_status st = copy_field("--name", o->name, n->name, sizeof n->name, err);
    if (st == STORE_OK)
        st = copy_field("--endpoint", o->endpoint, n->rpc_endpoint, sizeof n->rpc_endpoint, err);
    return st == STORE_OK ? store_node_validate(n, err) : st;
}

static store_status pop_add(store *s, const opts *o, const record *r, char *err)
{
    return store_pop_add(s, &r->pop, err);
}

static store_status pop_remove(store *s, const opts *o, const record *r, char *err)
{
    return store_pop_remove(s, o->id, err);
}

static store_status pop_list(store *s, const opts *o, const record *r, char *err)
{
    store_pop *pops = NULL;
    size_t n = 0;
    store_status st = store_pop_list(s, &pops, &n, err);
    if (st != STORE_OK) return st;
    fputs("id\tname\n", stdout);
    for (size_t i = 0; i < n; i++) printf("%" PRId64 "\t%s\n", pops[i].id, pops[i].name);
    free(pops);
    return STORE_OK;
}

static store_status node_add(store *s, const opts *o, const record *r, char *err)
{
    return store_node_add(s, &r->node, err);
}

static store_status node_remove(store *s, const opts *o, const record *r, char *err)
{
    return store_node_remove(s, o->id, err);
}

static store_status node_list(store *s, const opts *o, const record *r, char *err)
{
    store_node *nodes = NULL;
    size_t n = 0;
    store_status st = store_node_list(s, &nodes, &n, err);
    if (st != STORE_OK) return st;
    fputs("id\tname\trpc_endpoint\tpop_id\n", stdout);
    for (size_t i = 0; i < n; i++)
        printf("%" PRId64 "\t%s\t%s\t%" PRId64 "\n", nodes[i].id, nodes[i].name, nodes[i].rpc_endpoint,
               nodes[i].pop_id);
    free(nodes);
    return STORE_OK;
}

static const verb pop_verbs[] = {
    {"add", F_ID | F_NAME | F_DB, F_ID | F_NAME, prep_pop, pop_add},
    {"list", F_DB, 0, NULL, pop_list},
    {"remove", F_ID | F_DB, F_ID, NULL, pop_remove},
};

static const verb node_verbs[] = {
    {"add", F_ID | F_NAME | F_ENDPOINT | F_POP_ID | F_DB, F_ID | F_NAME | F_ENDPOINT | F_POP_ID, prep_node,
     node_add},
    {"list", F_DB, 0, NULL, node_list},
    {"remove", F_ID | F_DB, F_ID, NULL, node_remove},
};

static const command pop_cmd = {
    "pop",
    "usage: activecalls pop add --id P --name NAME [--db PATH]\n"
    "       activecalls pop list [--db PATH]\n"
    "       activecalls pop remove --id P [--db PATH]\n"
    "--db defaults to $ACTIVECALLS_DB, else " CLI_DEFAULT_DB ".\n",
    pop_verbs,
    sizeof pop_verbs / sizeof pop_verbs[0],
};

static const command node_cmd = {
    "node",
    "usage: activecalls node add --id N --name NAME --endpoint ADDR:PORT --pop-id P [--db PATH]\n"
    "       activecalls node list [--db PATH]\n"
    "       activecalls node remove --id N [--db PATH]\n"
    "ADDR:PORT is numeric, IPv4:port or [IPv6]:port (host names are not resolved).\n"
    "--db defaults to $ACTIVECALLS_DB, else " CLI_DEFAULT_DB ".\n",
    node_verbs,
    sizeof node_verbs / sizeof node_verbs[0],
};

/* ---- driver ---- */

static const verb *find_verb(const command *c, const char *name)
{
    for (size_t i = 0; i < c->nverbs; i++)
        if (!strcmp(c->verbs[i].name, name)) return &c->verbs[i];
    return NULL;
}

static int execute(const command *c, const verb *v, const opts *o, const record *r)
{
    char err[STORE_ERR_LEN] = "";
    store *s = store_open(cli_db_location(o->db), err);
    if (!s) return cli_runtime_error("%s", err);
    store_status st = v->run(s, o, r, err);
    store_close(s);
    if (st == STORE_INVALID) return usage_error(c, v, "%s", err);
    if (st != STORE_OK) return cli_runtime_error("%s", err);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_runtime_error("writing the output: %s", strerror(errno));
    return CLI_OK;
}

static int run_command(const command *c, int argc, char **argv)
{
    if (argc < 2) return usage_error(c, NULL, "missing command (add, list or remove)");
    if (cli_is_help(argv[1])) {
        fputs(c->usage, stdout);
        return CLI_OK;
    }
    const verb *v = find_verb(c, argv[1]);
    if (!v) return usage_error(c, NULL, "unknown command '%s'", argv[1]);
    opts o = {0};
    int rc = parse_opts(c, v, argc - 1, argv + 1, &o);
    if (rc != CLI_CONTINUE) return rc;
    record r;
    char err[STORE_ERR_LEN] = "";
    memset(&r, 0, sizeof r);
    if (v->prepare && v->prepare(&o, &r, err) != STORE_OK) return usage_error(c, v, "%s", err);
    return execute(c, v, &o, &r);
}

int cli_node(int argc, char **argv) { return run_command(&node_cmd, argc, argv); }

int cli_pop(int argc, char **argv) { return run_command(&pop_cmd, argc, argv); }
