/* cli_db: the `db` subcommand — `activecalls db init [--db LOCATION]`
 * creates the tables the service uses (yeti's schemas sys, gui, class4,
 * billing and public.contractors; SPEC §8) where they are missing, so a new
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

enum { OPT_DB = 256 };

static const char usage_text[] =
    "usage: activecalls db init [--db LOCATION]\n"
    "Creates the tables the service uses (yeti's names) where they are missing.\n"
    "LOCATION is an SQLite file or a postgresql:// URI; it defaults to\n"
    "$ACTIVECALLS_DB, else ./activecalls.db.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("activecalls: db: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage_text);
    return CLI_USAGE;
}

int cli_db(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return CLI_OK;
    }
    if (argc < 2) return usage_error("missing verb");
    if (strcmp(argv[1], "init") != 0) return usage_error("unknown verb '%s'", argv[1]);
    static const struct option long_opts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL;
    optind = 0; /* glibc fully reinitialises (see cli_store.c) */
    opterr = 0;
    int ch;
    argc--;
    argv++;
    while ((ch = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        if (ch == 'h') {
            fputs(usage_text, stdout);
            return CLI_OK;
        }
        if (ch == ':') return usage_error("option '%s' needs a value", argv[optind - 1]);
        if (ch != OPT_DB) return usage_error("unknown option '%s'", argv[optind - 1]);
        if (db) return usage_error("%s given more than once", "--db");
        if (!*optarg) return usage_error("%s needs a non-empty location", "--db");
        db = optarg;
    }
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);

    char err[STORE_ERR_LEN] = "";
    store *s = store_open(cli_db_location(db), err);
    if (!s) return cli_runtime_error("%s", err);
    store_status st = store_schema_init(s, err);
    store_close(s);
    if (st != STORE_OK) return cli_runtime_error("%s", err);
    puts("database initialised");
    return CLI_OK;
}
