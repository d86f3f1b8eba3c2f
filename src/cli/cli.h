/* cli: the subcommands of the `activecalls` binary that main.c dispatches to.
 *
 * Each takes the argument vector from its own name on (argv[0] is "node",
 * "pop" or "user", argv[1] the verb) and returns the process exit code: 0 ok,
 * 1 runtime error (message on stderr, prefixed "activecalls: "), 2 usage
 * error (message and the subcommand's usage on stderr). See docs/CONTRACTS.md. */
#ifndef AC_CLI_CLI_H
#define AC_CLI_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* activecalls node add|list|remove ... */
int cli_node(int argc, char **argv);
/* activecalls pop add|list|remove ... */
int cli_pop(int argc, char **argv);
/* activecalls user add|passwd|enable|disable|list ... (cli_user.c): admin
 * users; passwords come from the terminal or one line of stdin, never argv. */
int cli_user(int argc, char **argv);
/* activecalls demo-data [--db PATH] (cli_demo.c): fills the related tables
 * with the demo data set; prints a one-line summary. */
int cli_demo(int argc, char **argv);
/* activecalls db init [--db LOCATION] (cli_db.c): creates the tables the
 * service uses where they are missing (an empty PostgreSQL database). */
int cli_db(int argc, char **argv);
/* `activecalls config check FILE` (cli/serve.c: serve's options) */
int cli_config(int argc, char **argv);

/* The database when neither --db nor $ACTIVECALLS_DB names one. */
#define CLI_DEFAULT_DB "./activecalls.db"

/* The database location: the --db value when given (non-empty), else
 * $ACTIVECALLS_DB when set and non-empty, else CLI_DEFAULT_DB. */
const char *cli_db_location(const char *flag_value);

/* Exit codes every subcommand uses. */
enum { CLI_OK = 0, CLI_RUNTIME = 1, CLI_USAGE = 2 };

/* Prints "activecalls: <message>" on stderr; returns CLI_RUNTIME. */
int cli_runtime_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "activecalls: <what>: <message>" and the usage on stderr;
 * returns CLI_USAGE. */
int cli_usage_error(const char *what, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cli_usage_verror(const char *what, const char *usage, const char *fmt, va_list ap);

/* What an option parser returns when the command goes on. */
enum { CLI_CONTINUE = -1 };

struct option; /* <getopt.h> */

/* Takes one option: opt is its entry in the getopt_long table, arg its
 * value (NULL for an option without one). CLI_CONTINUE, or the exit code
 * that ends the command (after printing why). */
typedef int (*cli_option_fn)(void *ctx, const struct option *opt, const char *arg);

/* The one getopt_long loop of every subcommand. argv[0] is the command or
 * verb, not an option; opts ends with a zero entry. `--help` or `-h` prints
 * usage on stdout and returns CLI_OK; an unknown option ('-x' or
 * '--name'), an option without its value or an argument that is no option
 * is a usage error naming it ("activecalls: <what>: ..." and usage on
 * stderr, CLI_USAGE); every other option goes to on_option in order.
 * getopt's state is fully reset first, so it may run more than once in a
 * process. CLI_CONTINUE when every argument was taken. */
int cli_getopt(int argc, char **argv, const struct option *opts, const char *what, const char *usage,
               cli_option_fn on_option, void *ctx);

/* Reads a config file of `key = value` lines as the long options of opts
 * (each key an option's name without its dashes): blank lines and lines
 * starting with '#' are skipped, spaces around key and value dropped. An
 * unknown key, a key given twice, a line without '=', a key of an option
 * that takes no value, a key in `refused` (NULL-terminated: options a file
 * may not set) or a value on_option refuses is an error naming FILE:LINE
 * (CLI_USAGE). CLI_CONTINUE when every line was taken. The values given
 * to on_option point into *text (the file, read whole): the caller frees
 * it once done with them, whatever the outcome. */
int cli_config_file(const char *path, const struct option *opts, const char *const *refused,
                    cli_option_fn on_option, void *ctx, char **text);

/* An option of a command made of verbs (node, pop, user): its getopt
 * value, its bit in a verb's accepts/requires masks, its flag as printed. */
typedef struct cli_optdef {
    int val;
    unsigned bit;
    const char *flag;
} cli_optdef;

typedef struct cli_verb_opts cli_verb_opts;
struct cli_verb_opts {
    const struct option *long_opts; /* every option of the command, --help too */
    const cli_optdef *defs;         /* the same options but --help */
    size_t ndefs;
    unsigned accepts, requires; /* this verb's */
    const char *what;           /* "node add", for messages */
    const char *usage;
    /* takes an option the verb accepts, given once: CLI_CONTINUE or an exit code */
    int (*take)(const cli_verb_opts *vo, const cli_optdef *d, const char *arg);
    void *ctx; /* where take puts the values */
};

/* Parses a verb's options with cli_getopt: an option the verb does not
 * accept, or one given twice, is a usage error; then each option the verb
 * requires must have been given. *seen gets the bits of those given.
 * CLI_CONTINUE, or the exit code. */
int cli_parse_verb(int argc, char **argv, const cli_verb_opts *vo, unsigned *seen);
/* For take: an id's value (cli_parse_id) into *out, else a usage error. */
int cli_take_id(const cli_verb_opts *vo, const cli_optdef *d, const char *arg, int64_t *out);
/* For take: --db's value, which must not be empty, into *out. */
int cli_take_db(const cli_verb_opts *vo, const char *arg, const char **out);

/* Whether a command's first word asks for its usage instead of a verb:
 * "help", "--help" or "-h". */
bool cli_is_help(const char *word);

/* Parses the options of a command whose only option is --db (and --help).
 * Returns CLI_CONTINUE with *db set (NULL = default), or the exit code to
 * return (CLI_OK after printing help, CLI_USAGE after an error). */
int cli_parse_db_only(int argc, char **argv, const char *what, const char *usage, const char **db);

/* A positive decimal integer, the whole string, no sign or spaces: 0, else -1. */
int cli_parse_id(const char *s, int64_t *out);

#endif
