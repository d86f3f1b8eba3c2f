/* endpoint: parses a switch node's rpc_endpoint into a socket address.
 *
 * Accepted forms are `IPv4:port` and `[IPv6]:port`, with a numeric address
 * (inet_pton) and a decimal port 1..65535. Host names are refused, never
 * resolved: the service must never block on DNS. The store validates every
 * endpoint with this parser before saving it, and the node client parses the
 * saved string with it again to connect, so both agree by construction. */
#ifndef AC_UTIL_ENDPOINT_H
#define AC_UTIL_ENDPOINT_H

#include <sys/socket.h>

#define ENDPOINT_ERR_LEN 128
#define ENDPOINT_MAX_LEN 255 /* longest accepted input, in bytes */

/* Returns 0 and fills *ss / *len (each may be NULL to only validate), or -1
 * with the reason in err (may be NULL). The reason does not echo the input. */
int endpoint_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, char err[ENDPOINT_ERR_LEN]);

#endif
