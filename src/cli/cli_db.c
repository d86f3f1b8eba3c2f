/* cli_db: the `db` subcommand — `activecalls db init [--db LOCATION]`
 * creates the tables the service uses (yeti's schemas sys, gui, class4,
 * billing and public.contractors; docs/CONTRACT.md §8) where they are missing, so a new
 * empty PostgreSQL database can be used; safe to repeat. On SQLite the file
 * is created and migrated as any command opens it.
 *
 * Same conventions as cli_store.c: --db as there ($ACTIVECALLS_DB, else
 * ./activecalls.db), exit 0 ok / 1 runtime error / 2 usage error. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

static const char usage_text[] =
    "usage: activecalls db init [--db LOCATION]\n"
    "Creates the tables the service uses (yeti's names) where they are missing.\n"
    "LOCATION is an SQLite file or a postgresql:// URI; it defaults to\n"
    "$ACTIVECALLS_DB, else " CLI_DEFAULT_DB ".\n";

int cli_db(int argc, char **argv)
{
    if (argc >= 2 && cli_is_help(argv[1])) {
        fputs(usage_text, stdout);
        return CLI_OK;
    }
    if (argc < 2) return cli_usage_error("db", usage_text, "missing verb");
    if (strcmp(argv[1], "init") != 0) return cli_usage_error("db", usage_text, "unknown verb '%s'", argv[1]);
    const char *db;
    int rc = cli_parse_db_only(argc - 1, argv + 1, "db init", usage_text, &db);
    if (rc != CLI_CONTINUE) return rc;

    char err[STORE_ERR_LEN] = "";
    store *s = store_open(cli_db_location(db), err);
    if (!s) return cli_runtime_error("%s", err);
    store_status st = store_schema_init(s, err);
    store_close(s);
    if (st != STORE_OK) return cli_runtime_error("%s", err);
    puts("database initialised");
    return CLI_OK;
}
