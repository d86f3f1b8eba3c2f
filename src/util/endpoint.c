/* endpoint: the numeric-only `IPv4:port` / `[IPv6]:port` parser (see
 * endpoint.h). It splits the string into address and port text, then hands
 * the address to inet_pton, which never consults DNS. */
#include "util/endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct parts {
    char host[INET6_ADDRSTRLEN];
    const char *port;
    int family;
} parts;

static int fail(char *err, const char *msg)
{
    if (err) snprintf(err, ENDPOINT_ERR_LEN, "%s", msg);
    return -1;
}

/* `[addr]:port` */
static int split_bracketed(const char *s, parts *p, char *err)
{
    const char *close = strchr(s, ']');
    if (!close) return fail(err, "'[' without a matching ']'");
    size_t n = (size_t)(close - (s + 1));
    if (n == 0) return fail(err, "empty IPv6 address between brackets");
    if (n >= sizeof p->host) return fail(err, "not a numeric IPv6 address");
    if (close[1] != ':') return fail(err, "missing ':port' after ']'");
    memcpy(p->host, s + 1, n);
    p->host[n] = '\0';
    p->port = close + 2;
    p->family = AF_INET6;
    return 0;
}

/* `a.b.c.d:port` */
static int split_plain(const char *s, parts *p, char *err)
{
    const char *colon = strrchr(s, ':');
    if (!colon) return fail(err, "missing port (expected IPv4:port or [IPv6]:port)");
    size_t n = (size_t)(colon - s);
    if (memchr(s, ':', n)) return fail(err, "an IPv6 address must be in brackets: [addr]:port");
    if (n == 0) return fail(err, "missing address before ':port'");
    if (n >= sizeof p->host) return fail(err, "not a numeric IPv4 address (host names are not resolved)");
    memcpy(p->host, s, n);
    p->host[n] = '\0';
    p->port = colon + 1;
    p->family = AF_INET;
    return 0;
}

/* Decimal digits only: no sign, no spaces, no leading zero, 1..65535. */
static int parse_port(const char *s, uint16_t *port, char *err)
{
    static const char msg[] = "port must be a decimal number 1..65535 (no sign, no leading zeros)";
    uint32_t v = 0;
    if (s[0] == '\0') return fail(err, "missing port number after ':'");
    if (s[0] == '0') return fail(err, msg);
    for (size_t i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 5) return fail(err, msg);
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v > 65535) return fail(err, msg);
    *port = (uint16_t)v;
    return 0;
}

/* Fills *out with the family and address of p (port still 0). */
static int parse_addr(const parts *p, struct sockaddr_storage *out, socklen_t *len, char *err)
{
    memset(out, 0, sizeof *out);
    if (p->family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
        if (inet_pton(AF_INET6, p->host, &a->sin6_addr) != 1) return fail(err, "not a numeric IPv6 address");
        a->sin6_family = AF_INET6;
        *len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)out;
        if (inet_pton(AF_INET, p->host, &a->sin_addr) != 1)
            return fail(err, "not a numeric IPv4 address (host names are not resolved)");
        a->sin_family = AF_INET;
        *len = sizeof *a;
    }
    return 0;
}

int endpoint_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, char err[ENDPOINT_ERR_LEN])
{
    parts p;
    struct sockaddr_storage tmp;
    socklen_t l = 0;
    uint16_t port = 0;
    if (!s || !*s) return fail(err, "empty endpoint");
    if (strnlen(s, ENDPOINT_MAX_LEN + 1) > ENDPOINT_MAX_LEN) return fail(err, "endpoint too long");
    int rc = s[0] == '[' ? split_bracketed(s, &p, err) : split_plain(s, &p, err);
    /* the address before the port: "localhost:0" is better answered about the name */
    if (rc != 0 || parse_addr(&p, &tmp, &l, err) != 0 || parse_port(p.port, &port, err) != 0) return -1;
    if (tmp.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&tmp)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)&tmp)->sin_port = htons(port);
    if (ss) *ss = tmp;
    if (len) *len = l;
    return 0;
}
