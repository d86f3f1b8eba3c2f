/* cli_util: the small helpers every `activecalls` subcommand shares —
 * error messages and strict id parsing — so each command reads alike. */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
