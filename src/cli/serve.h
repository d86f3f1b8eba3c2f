/* serve: `activecalls serve` — runs the HTTP API until SIGINT/SIGTERM. */
#ifndef AC_CLI_SERVE_H
#define AC_CLI_SERVE_H

int cli_serve(int argc, char **argv);

#endif
