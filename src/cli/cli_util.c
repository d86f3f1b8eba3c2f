/* cli_util: what every `activecalls` subcommand shares — the one option
 * driver (cli_getopt) and the verb-table and --db-only parsers built on it,
 * error messages, strict id parsing and where the database is — so each
 * command reads and fails alike. */
#include "cli/cli.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
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

bool cli_is_help(const char *word)
{
    return !strcmp(word, "help") || !strcmp(word, "--help") || !strcmp(word, "-h");
}

int cli_getopt(int argc, char **argv, const struct option *opts, const char *what, const char *usage,
               cli_option_fn on_option, void *ctx)
{
    assert(argc >= 1 && argv && opts && what && usage && on_option);
    /* 0, not 1: glibc then fully reinitialises getopt, forgetting any
     * half-read option cluster an earlier run in this process left behind */
    optind = 0;
    opterr = 0; /* the messages are ours */
    int ch, idx = -1;
    while ((ch = getopt_long(argc, argv, ":h", opts, &idx)) != -1) {
        if (ch == 'h') {
            fputs(usage, stdout);
            return CLI_OK;
        }
        if (ch == ':') return cli_usage_error(what, usage, "option '%s' needs a value", argv[optind - 1]);
        if (ch == '?' && optopt > 0 && optopt < 256)
            return cli_usage_error(what, usage, "unknown option '-%c'", optopt);
        if (ch == '?') return cli_usage_error(what, usage, "unknown option '%s'", argv[optind - 1]);
        assert(idx >= 0); /* the table's options are long only */
        int rc = on_option(ctx, &opts[idx], optarg);
        if (rc != CLI_CONTINUE) return rc;
        idx = -1;
    }
    if (optind < argc) return cli_usage_error(what, usage, "unexpected argument '%s'", argv[optind]);
    return CLI_CONTINUE;
}

#define CONFIG_MAX (1 << 20) /* a config file larger than this is refused */

int cli_config_file(const char *path, const struct option *opts, const char *const *refused,
                    cli_option_fn on_option, void *ctx, char **text)
{
    assert(path && opts && on_option && text);
    *text = NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "activecalls: %s: %s\n", path, strerror(errno));
        return CLI_USAGE;
    }
    /* the whole file, parsed in place: the values handed to on_option
     * point into it and live until the caller frees *text */
    char *buf = malloc(CONFIG_MAX + 1);
    size_t len = buf ? fread(buf, 1, CONFIG_MAX + 1, f) : 0;
    bool failed = !buf || ferror(f);
    fclose(f);
    if (failed || len > CONFIG_MAX) {
        fprintf(stderr, "activecalls: %s: %s\n", path, failed ? "cannot be read" : "larger than 1 MiB");
        free(buf);
        return failed ? CLI_RUNTIME : CLI_USAGE;
    }
    buf[len] = '\0';
    *text = buf;
    size_t nopts = 0;
    while (opts[nopts].name) nopts++;
    unsigned *seen_at = calloc(nopts + 1, sizeof *seen_at); /* the line each option was set on */
    if (!seen_at) return CLI_RUNTIME;
    int rc = CLI_CONTINUE;
    unsigned no = 0;
    for (char *line = buf, *next; rc == CLI_CONTINUE && line && *line; line = next) {
        no++;
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        char *p = line + strspn(line, " \t");
        p[strcspn(p, "\r")] = '\0';
        if (*p == '\0' || *p == '#') continue;
        char *eq = strchr(p, '=');
        if (!eq) {
            fprintf(stderr, "activecalls: %s:%u: expected `key = value`\n", path, no);
            rc = CLI_USAGE;
            break;
        }
        char *kend = eq;
        while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t')) kend--;
        *kend = '\0';
        char *value = eq + 1 + strspn(eq + 1, " \t");
        size_t vlen = strlen(value);
        while (vlen && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t')) value[--vlen] = '\0';
        size_t k = 0;
        while (k < nopts && strcmp(opts[k].name, p) != 0) k++;
        bool refuse = false;
        for (size_t r = 0; refused && refused[r] && !refuse; r++) refuse = strcmp(refused[r], p) == 0;
        if (k == nopts || refuse || opts[k].has_arg != required_argument) {
            fprintf(stderr, "activecalls: %s:%u: unknown key '%s'\n", path, no, p);
            rc = CLI_USAGE;
        } else if (seen_at[k]) {
            fprintf(stderr, "activecalls: %s:%u: '%s' is set twice (first on line %u)\n", path, no, p,
                    seen_at[k]);
            rc = CLI_USAGE;
        } else {
            seen_at[k] = no;
            int r = on_option(ctx, &opts[k], value);
            if (r != CLI_CONTINUE) {
                fprintf(stderr, "activecalls: %s:%u: invalid value for '%s'\n", path, no, p);
                rc = r == CLI_OK ? CLI_USAGE : r;
            }
        }
    }
    free(seen_at);
    return rc;
}

typedef struct verb_state {
    const cli_verb_opts *vo;
    unsigned seen;
} verb_state;

static int verb_option(void *ctx, const struct option *opt, const char *arg)
{
    verb_state *st = ctx;
    const cli_verb_opts *vo = st->vo;
    const cli_optdef *d = NULL;
    for (size_t i = 0; i < vo->ndefs && !d; i++)
        if (vo->defs[i].val == opt->val) d = &vo->defs[i];
    assert(d != NULL); /* long_opts and defs name the same options */
    if (!(vo->accepts & d->bit))
        return cli_usage_error(vo->what, vo->usage, "%s is not an option of '%s'", d->flag, vo->what);
    if (st->seen & d->bit) return cli_usage_error(vo->what, vo->usage, "%s given more than once", d->flag);
    st->seen |= d->bit;
    return vo->take(vo, d, arg);
}

int cli_parse_verb(int argc, char **argv, const cli_verb_opts *vo, unsigned *seen)
{
    assert(vo && vo->take && seen);
    verb_state st = {vo, 0};
    int rc = cli_getopt(argc, argv, vo->long_opts, vo->what, vo->usage, verb_option, &st);
    *seen = st.seen;
    if (rc != CLI_CONTINUE) return rc;
    for (size_t i = 0; i < vo->ndefs; i++)
        if ((vo->requires & vo->defs[i].bit) && !(st.seen & vo->defs[i].bit))
            return cli_usage_error(vo->what, vo->usage, "%s is required", vo->defs[i].flag);
    return CLI_CONTINUE;
}

int cli_take_id(const cli_verb_opts *vo, const cli_optdef *d, const char *arg, int64_t *out)
{
    if (cli_parse_id(arg, out) == 0) return CLI_CONTINUE;
    return cli_usage_error(vo->what, vo->usage, "%s: '%s' is not an integer between 1 and %" PRId64, d->flag,
                           arg, INT64_MAX);
}

int cli_take_db(const cli_verb_opts *vo, const char *arg, const char **out)
{
    if (!*arg) return cli_usage_error(vo->what, vo->usage, "--db needs a non-empty path");
    *out = arg;
    return CLI_CONTINUE;
}

typedef struct db_only {
    const char *what, *usage;
    const char **db;
} db_only;

static int db_option(void *ctx, const struct option *opt, const char *arg)
{
    db_only *x = ctx;
    (void)opt; /* --db is the only one */
    if (*x->db) return cli_usage_error(x->what, x->usage, "--db given more than once");
    if (!*arg) return cli_usage_error(x->what, x->usage, "--db needs a non-empty location");
    *x->db = arg;
    return CLI_CONTINUE;
}

int cli_parse_db_only(int argc, char **argv, const char *what, const char *usage, const char **db)
{
    static const struct option long_opts[] = {
        {"db", required_argument, NULL, 256},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *db = NULL;
    db_only x = {what, usage, db};
    return cli_getopt(argc, argv, long_opts, what, usage, db_option, &x);
}
