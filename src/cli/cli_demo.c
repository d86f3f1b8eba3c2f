/* cli_demo: the `demo-data` subcommand — fills every related table
 * (contractors, accounts, gateways, ... ; resources.h) with the demo data
 * set that the simulator's calls point into (store_demo_data), replacing
 * what was there. Pops and nodes are left alone; gateways are spread over
 * the pops that exist, so add the pops first.
 *
 * Same conventions as cli_store.c: --db as there, exit 0 ok / 1 runtime
 * error / 2 usage error. On success prints one line: how many rows of each
 * type the database now holds, read back with store_fetch. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/resources.h"
#include "store/store.h"

/* Ids the summary reads back: the demo set uses 1..20 of every type. */
#define SUMMARY_IDS 64

static const char usage_text[] =
    "usage: activecalls demo-data [--db PATH]\n"
    "Replaces the contractors, accounts, customers auths, gateways, rateplans,\n"
    "routing plans and groups, destinations, dialpeers, countries, networks and\n"
    "SMTP connections with a demo data set (pops and nodes are kept; add the\n"
    "pops first so that gateways get one).\n"
    "--db defaults to $ACTIVECALLS_DB, else " CLI_DEFAULT_DB ".\n";

/* "8 contractors, 8 accounts, ..." for every type the demo set fills. */
static int print_summary(store *s, char *err)
{
    int64_t ids[SUMMARY_IDS];
    for (int i = 0; i < SUMMARY_IDS; i++) ids[i] = i + 1;
    fputs("demo data loaded:", stdout);
    const char *sep = " ";
    for (int t = 0; t < RT_COUNT; t++) {
        if (t == RT_POPS || t == RT_NODES) continue;
        res_rows rows;
        if (store_fetch(s, (res_type_id)t, ids, SUMMARY_IDS, &rows, err) != STORE_OK) {
            fputc('\n', stdout);
            return -1;
        }
        printf("%s%zu %s", sep, rows.n, res_types[t].type);
        sep = ", ";
        res_rows_free(&rows);
    }
    fputc('\n', stdout);
    return 0;
}

int cli_demo(int argc, char **argv)
{
    const char *db;
    int parsed = cli_parse_db_only(argc, argv, "demo-data", usage_text, &db);
    if (parsed != CLI_CONTINUE) return parsed;

    char err[STORE_ERR_LEN] = "";
    store *s = store_open(cli_db_location(db), err);
    if (!s) return cli_runtime_error("%s", err);
    int rc = CLI_OK;
    if (store_demo_data(s, err) != STORE_OK || print_summary(s, err) != 0) {
        fprintf(stderr, "activecalls: %s\n", err);
        rc = CLI_RUNTIME;
    }
    store_close(s);
    if (rc == CLI_OK && (fflush(stdout) != 0 || ferror(stdout))) {
        fprintf(stderr, "activecalls: writing the output: %s\n", strerror(errno));
        rc = CLI_RUNTIME;
    }
    return rc;
}
