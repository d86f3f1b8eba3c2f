/* cidr: IPv4/IPv6 address ranges — admin users' allowed_ips and the
 * trusted proxies — and finding the real client behind proxies.
 *
 * A range is "a.b.c.d/len", "x::y/len" or a bare address (a single host).
 * IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4 ranges. */
#ifndef AC_AUTH_CIDR_H
#define AC_AUTH_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int prefix;
} cidr;

typedef struct cidr_list {
    cidr *items;
    size_t n;
} cidr_list;

/* One range; 0 or -1. Host bits beyond the prefix are ignored. */
int cidr_parse(const char *s, cidr *out);

/* A list separated by commas and/or white space; "" is the empty list.
 * Returns 0, or -1 with err naming the bad entry. */
int cidr_list_parse(const char *text, cidr_list *out, char err[160]);
void cidr_list_free(cidr_list *l);

bool cidr_contains(const cidr *c, const struct sockaddr *addr);
/* Any range contains addr. (An empty list contains nothing: callers decide
 * what "empty" means — for allowed_ips it means "any".) */
bool cidr_list_contains(const cidr_list *l, const struct sockaddr *addr);

/* The client address of a request: the socket peer, unless the peer is a
 * trusted proxy, in which case X-Forwarded-For is read from the right and
 * the first hop that is not itself trusted is the client. A malformed hop
 * ends the walk at the last trusted address. Writes into out. */
void cidr_client_address(const struct sockaddr *peer, const char *x_forwarded_for, const cidr_list *trusted,
                         struct sockaddr_storage *out);

/* Text of an address ("127.0.0.1", "::1"), for logs. */
void cidr_addr_text(const struct sockaddr *addr, char *out, size_t len);

/* Text of the block an address belongs to: an IPv4 address (IPv4-mapped
 * IPv6 folded) is its own block ("192.0.2.1"); an IPv6 address's block is
 * its first v6_prefix bits ("2001:db8:1:2::/64"). "unknown" for other
 * families. */
void cidr_block_text(const struct sockaddr *addr, int v6_prefix, char *out, size_t len);

#endif
