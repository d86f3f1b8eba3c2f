/* console_assets: the operator console's files, built into the binary
 * (scripts/embed.cmake writes the table from web/console at build time;
 * api/console.c serves it). */
#ifndef AC_API_CONSOLE_ASSETS_H
#define AC_API_CONSOLE_ASSETS_H

#include <stddef.h>

typedef struct console_asset {
    const char *name; /* "index.html", ...; NULL ends the table */
    const unsigned char *data;
    size_t len;
} console_asset;

extern const console_asset console_assets[];

#endif
