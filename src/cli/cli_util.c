/* cli_util: the small helpers every `activecalls` subcommand shares —
 * error messages, strict id parsing and where the database is — so each
 * command reads alike. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_runtime_error(const char *fmt, ...)
{
    va_list ap;
    fputs("activecalls: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_RUNTIME;
}

const char *cli_db_location(const char *flag_value)
{
    if (flag_value && *flag_value) return flag_value;
    const char *env = getenv("ACTIVECALLS_DB");
    if (env && *env) return env;
    return CLI_DEFAULT_DB;
}

int cli_parse_id(const char *s, int64_t *out)
{
    char *end = NULL;
    if (s[0] < '0' || s[0] > '9') return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0) return -1;
    *out = (int64_t)v;
    return 0;
}

int cli_usage_verror(const char *what, const char *usage, const char *fmt, va_list ap)
{
    fprintf(stderr, "activecalls: %s: ", what);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n%s", usage);
    return CLI_USAGE;
}

int cli_usage_error(const char *what, const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cli_usage_verror(what, usage, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_parse_db_only(int argc, char **argv, const char *what, const char *usage, const char **db)
{
    enum { OPT_DB = 256 };
    static const struct option long_opts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *db = NULL;
    optind = 0; /* 0, not 1: glibc then fully reinitialises getopt */
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        if (ch == 'h') {
            fputs(usage, stdout);
            return CLI_OK;
        }
        if (ch == ':') return cli_usage_error(what, usage, "option '%s' needs a value", argv[optind - 1]);
        if (ch != OPT_DB) return cli_usage_error(what, usage, "unknown option '%s'", argv[optind - 1]);
        if (*db) return cli_usage_error(what, usage, "--db given more than once");
        if (!*optarg) return cli_usage_error(what, usage, "--db needs a non-empty location");
        *db = optarg;
    }
    if (optind < argc) return cli_usage_error(what, usage, "unexpected argument '%s'", argv[optind]);
    return CLI_CONTINUE;
}
