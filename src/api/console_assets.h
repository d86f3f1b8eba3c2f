/* console_assets: files built into the binary (scripts/embed.cmake writes
 * each table at build time): the operator console's, from web/console
 * (api/console.c serves them), and the API's description, docs/openapi.yaml
 * as openapi.json (api/openapi.c). */
#ifndef AC_API_CONSOLE_ASSETS_H
#define AC_API_CONSOLE_ASSETS_H

#include <stddef.h>

typedef struct console_asset {
    const char *name; /* "index.html", ...; NULL ends the table */
    const unsigned char *data;
    size_t len;
} console_asset;

extern const console_asset console_assets[];
extern const console_asset openapi_assets[]; /* one file: openapi.json */

#endif
