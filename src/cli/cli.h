/* cli: the subcommands of the `activecalls` binary that main.c dispatches to.
 *
 * Each takes the argument vector from its own name on (argv[0] is "node",
 * "pop" or "user", argv[1] the verb) and returns the process exit code: 0 ok,
 * 1 runtime error (message on stderr, prefixed "activecalls: "), 2 usage
 * error (message and the subcommand's usage on stderr). See docs/CONTRACTS.md. */
#ifndef AC_CLI_CLI_H
#define AC_CLI_CLI_H

#include <stdarg.h>
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

/* Parses the options of a command whose only option is --db (and --help).
 * Returns CLI_CONTINUE with *db set (NULL = default), or the exit code to
 * return (CLI_OK after printing help, CLI_USAGE after an error). */
enum { CLI_CONTINUE = -1 };
int cli_parse_db_only(int argc, char **argv, const char *what, const char *usage, const char **db);

/* A positive decimal integer, the whole string, no sign or spaces: 0, else -1. */
int cli_parse_id(const char *s, int64_t *out);

#endif
