/* cli_db: the `db` subcommand — `activecalls db init [--db LOCATION]`
 * creates the tables the service uses (yeti's schemas sys, gui, class4,
 * billing and public.contractors; docs/CONTRACT.md §8) where they are missing, so a new
 * empty PostgreSQL database can be used; safe to repeat. On SQLite the file
 * is created and migrated as any command opens it. `--history` creates only
 * the active-call history's tables (stats.*, docs/CONTRACT.md §10), for
 * yeti's CDR database, where the rest does not belong.
 *
 * Same conventions as cli_store.c: --db as there ($ACTIVECALLS_DB, else
 * ./activecalls.db), exit 0 ok / 1 runtime error / 2 usage error. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

static const char usage_text[] =
    "usage: activecalls db init [--db LOCATION] [--history]\n"
    "Creates the tables the service uses (yeti's names) where they are missing;\n"
    "with --history only those of the active-call history (stats.*).\n"
    "LOCATION is an SQLite file or a postgresql:// URI; it defaults to\n"
    "$ACTIVECALLS_DB, else " CLI_DEFAULT_DB ".\n";

typedef struct init_opts {
    const char *db;
    bool history;
} init_opts;

static int init_option(void *ctx, const struct option *opt, const char *arg)
{
    init_opts *o = ctx;
    if (opt->val == 'H') {
        o->history = true;
        return CLI_CONTINUE;
    }
    if (o->db) return cli_usage_error("db init", usage_text, "--db given more than once");
    if (!*arg) return cli_usage_error("db init", usage_text, "--db needs a non-empty location");
    o->db = arg;
    return CLI_CONTINUE;
}

int cli_db(int argc, char **argv)
{
    if (argc >= 2 && cli_is_help(argv[1])) {
        fputs(usage_text, stdout);
        return CLI_OK;
    }
    if (argc < 2) return cli_usage_error("db", usage_text, "missing verb");
    if (strcmp(argv[1], "init") != 0) return cli_usage_error("db", usage_text, "unknown verb '%s'", argv[1]);
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"history", no_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    init_opts o = {NULL, false};
    int rc = cli_getopt(argc - 1, argv + 1, opts, "db init", usage_text, init_option, &o);
    if (rc != CLI_CONTINUE) return rc;

    char err[STORE_ERR_LEN] = "";
    store *s = store_open(cli_db_location(o.db), err);
    if (!s) return cli_runtime_error("%s", err);
    store_status st = o.history ? store_history_init(s, err) : store_schema_init(s, err);
    store_close(s);
    if (st != STORE_OK) return cli_runtime_error("%s", err);
    puts("database initialised");
    return CLI_OK;
}
