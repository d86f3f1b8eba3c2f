/* login: the body of POST /api/rest/admin/auth (docs/API.md,
 * "Authentication"): `{"auth":{"username":"..","password":".."}}`, at most
 * LOGIN_BODY_MAX bytes, parsed by jansson with duplicate keys refused.
 * Kept apart from the handler (api/login.c) so that the parsing of this
 * client text can be tested and fuzzed on its own. */
#ifndef AC_API_LOGIN_H
#define AC_API_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define LOGIN_BODY_MAX 8192

/* Parses body[0..len). True when it is a login: *username and *password
 * then point into *root. Either way the caller json_decref's *root (NULL
 * when the body was not read or not JSON). */
bool login_body_parse(const char *body, size_t len, json_t **root, const char **username,
                      const char **password);

#endif
