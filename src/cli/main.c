/* main: the `activecalls` command — dispatches to its subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/serve.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: activecalls <command> [options]\n"
            "commands:\n"
            "  serve                     run the JSON:API server\n"
            "  node add|list|remove      manage switch nodes\n"
            "  pop add|list|remove       manage points of presence\n"
            "  user add|passwd|enable|disable|list  manage admin users\n"
            "  demo-data                 fill the related tables with demo data\n"
            "  db init                   create the tables on an empty database\n"
            "  config check FILE         check a serve config file without starting anything\n"
            "  --version                 print the version\n"
            "Run `activecalls <command> --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0) return cli_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "node") == 0) return cli_node(argc - 1, argv + 1);
    if (strcmp(cmd, "pop") == 0) return cli_pop(argc - 1, argv + 1);
    if (strcmp(cmd, "user") == 0) return cli_user(argc - 1, argv + 1);
    if (strcmp(cmd, "demo-data") == 0) return cli_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "db") == 0) return cli_db(argc - 1, argv + 1);
    if (strcmp(cmd, "config") == 0) return cli_config(argc - 1, argv + 1);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("activecalls %s\n", ACTIVECALLS_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "activecalls: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
