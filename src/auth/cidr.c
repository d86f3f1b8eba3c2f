/* cidr: address ranges (admin users' allowed_ips, --trusted-proxies) and
 * the client address behind trusted proxies.
 *
 * Parsing is strict and goes through inet_pton: "a.b.c.d[/0..32]" or
 * "v6[/0..128]" (prefix 1..3 decimal digits, nothing else; no zone ids, no
 * brackets, no spaces). Host bits past the prefix are cleared at parse, so
 * matching is a byte/bit prefix compare. IPv4-mapped IPv6 (::ffff:a.b.c.d)
 * is folded to IPv4 on both sides — peers always, ranges when their prefix
 * covers the whole ::ffff:0:0/96 part — so a dual-stack listener's peers
 * match IPv4 ranges. (A plain IPv6 range such as ::/0 does not match IPv4
 * peers.) Lists split on commas and white space; empty entries left by
 * stray separators are skipped, any other bad entry refuses the list.
 *
 * X-Forwarded-For is walked right to left only when the socket peer is a
 * trusted proxy; hops are plain IPv4, plain IPv6 or "[IPv6]" (with optional
 * spaces around the commas). The first untrusted hop is the client; if all
 * are trusted, the left-most one is. An empty or malformed hop (ports
 * included) stops the walk at the last trusted address, never further. */
#include "auth/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/grow.h"

static const uint8_t V4MAPPED_PREFIX[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* An address as family + bytes, IPv4-mapped IPv6 folded to IPv4. */
typedef struct {
    int family;
    uint8_t bytes[16];
} addr_key;

static bool key_of(const struct sockaddr *sa, addr_key *k)
{
    if (sa == NULL) return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        k->family = AF_INET;
        memcpy(k->bytes, &in->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        const uint8_t *b = in6->sin6_addr.s6_addr;
        if (memcmp(b, V4MAPPED_PREFIX, 12) == 0) {
            k->family = AF_INET;
            memcpy(k->bytes, b + 12, 4);
        } else {
            k->family = AF_INET6;
            memcpy(k->bytes, b, 16);
        }
        return true;
    }
    return false;
}

static void clear_host_bits(uint8_t *b, int nbytes, int prefix)
{
    for (int i = 0; i < nbytes; i++) {
        int keep = prefix - i * 8;
        if (keep >= 8) continue;
        b[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
    }
}

int cidr_parse(const char *s, cidr *out)
{
    if (s == NULL || out == NULL) return -1;
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    char a[INET6_ADDRSTRLEN];
    if (alen == 0 || alen >= sizeof a) return -1;
    memcpy(a, s, alen);
    a[alen] = '\0';

    cidr c;
    memset(&c, 0, sizeof c);
    c.family = strchr(a, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(c.family, a, c.addr) != 1) return -1;
    int max = c.family == AF_INET ? 32 : 128;

    c.prefix = max;
    if (slash) {
        const char *p = slash + 1;
        size_t n = strlen(p);
        if (n == 0 || n > 3) return -1;
        int v = 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i] < '0' || p[i] > '9') return -1;
            v = v * 10 + (p[i] - '0');
        }
        if (v > max) return -1;
        c.prefix = v;
    }
    if (c.family == AF_INET6 && c.prefix >= 96 && memcmp(c.addr, V4MAPPED_PREFIX, 12) == 0) {
        memmove(c.addr, c.addr + 12, 4);
        memset(c.addr + 4, 0, 12);
        c.family = AF_INET;
        c.prefix -= 96;
    }
    clear_host_bits(c.addr, c.family == AF_INET ? 4 : 16, c.prefix);
    *out = c;
    return 0;
}

static bool is_sep(char ch) { return ch == ',' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

int cidr_list_parse(const char *text, cidr_list *out, char err[160])
{
    char scratch[160];
    if (err == NULL) err = scratch;
    err[0] = '\0';
    if (out == NULL) return -1;
    out->items = NULL;
    out->n = 0;
    if (text == NULL) return 0;

    size_t cap = 0;
    const char *p = text;
    for (;;) {
        while (*p && is_sep(*p)) p++;
        if (*p == '\0') break;
        const char *start = p;
        while (*p && !is_sep(*p)) p++;
        size_t len = (size_t)(p - start);
        char entry[INET6_ADDRSTRLEN + 5];
        cidr c;
        bool ok = len < sizeof entry;
        if (ok) {
            memcpy(entry, start, len);
            entry[len] = '\0';
            ok = cidr_parse(entry, &c) == 0;
        }
        if (!ok) {
            int shown = len > 64 ? 64 : (int)len;
            snprintf(err, 160, "bad address range '%.*s%s'", shown, start, len > 64 ? "..." : "");
            cidr_list_free(out);
            return -1;
        }
        if (!grow((void **)&out->items, &cap, out->n + 1, sizeof *out->items, 4)) {
            snprintf(err, 160, "out of memory");
            cidr_list_free(out);
            return -1;
        }
        out->items[out->n++] = c;
    }
    return 0;
}

void cidr_list_free(cidr_list *l)
{
    if (l == NULL) return;
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

bool cidr_contains(const cidr *c, const struct sockaddr *addr)
{
    addr_key k;
    if (c == NULL || !key_of(addr, &k) || k.family != c->family) return false;
    int full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(k.bytes, c->addr, (size_t)full) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (k.bytes[full] & mask) == c->addr[full];
}

bool cidr_list_contains(const cidr_list *l, const struct sockaddr *addr)
{
    if (l == NULL) return false;
    for (size_t i = 0; i < l->n; i++)
        if (cidr_contains(&l->items[i], addr)) return true;
    return false;
}

static void copy_sockaddr(const struct sockaddr *sa, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    if (sa == NULL) {
        out->ss_family = AF_UNSPEC;
    } else if (sa->sa_family == AF_INET) {
        memcpy(out, sa, sizeof(struct sockaddr_in));
    } else if (sa->sa_family == AF_INET6) {
        memcpy(out, sa, sizeof(struct sockaddr_in6));
    } else {
        out->ss_family = sa->sa_family;
    }
}

/* One X-Forwarded-For hop: "IPv4", "IPv6" or "[IPv6]". */
static bool parse_hop(const char *s, size_t n, struct sockaddr_storage *out)
{
    char a[INET6_ADDRSTRLEN];
    bool bracketed = n >= 2 && s[0] == '[' && s[n - 1] == ']';
    if (bracketed) {
        s++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof a) return false;
    memcpy(a, s, n);
    a[n] = '\0';
    memset(out, 0, sizeof *out);
    if (strchr(a, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
        if (inet_pton(AF_INET6, a, &in6->sin6_addr) != 1) return false;
        in6->sin6_family = AF_INET6;
        return true;
    }
    if (bracketed) return false;
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    if (inet_pton(AF_INET, a, &in->sin_addr) != 1) return false;
    in->sin_family = AF_INET;
    return true;
}

static bool is_space(char ch) { return ch == ' ' || ch == '\t'; }

void cidr_client_address(const struct sockaddr *peer, const char *x_forwarded_for, const cidr_list *trusted,
                         struct sockaddr_storage *out)
{
    if (out == NULL) return;
    copy_sockaddr(peer, out);
    if (x_forwarded_for == NULL || !cidr_list_contains(trusted, peer)) return;

    /* out holds the last trusted address; walk hops from the right. */
    const char *begin = x_forwarded_for;
    const char *end = begin + strlen(begin);
    while (end > begin) {
        const char *comma = end;
        while (comma > begin && comma[-1] != ',') comma--;
        const char *s = comma, *e = end;
        while (s < e && is_space(*s)) s++;
        while (e > s && is_space(e[-1])) e--;
        struct sockaddr_storage hop;
        if (!parse_hop(s, (size_t)(e - s), &hop)) return;
        *out = hop;
        if (!cidr_list_contains(trusted, (const struct sockaddr *)&hop)) return;
        if (comma == begin) return; /* every hop trusted: the left-most one */
        end = comma - 1;            /* skip the comma */
    }
}

/* An address's text; an IPv6 one cut to its first v6_prefix bits, with
 * "/prefix" when that is less than all 128. */
static void block_text(const struct sockaddr *addr, int v6_prefix, char *out, size_t len)
{
    if (out == NULL || len == 0) return;
    if (v6_prefix < 0) v6_prefix = 0;
    if (v6_prefix > 128) v6_prefix = 128;
    char buf[INET6_ADDRSTRLEN];
    addr_key k;
    const char *r = NULL;
    if (key_of(addr, &k)) {
        if (k.family == AF_INET6) clear_host_bits(k.bytes, 16, v6_prefix);
        r = inet_ntop(k.family, k.bytes, buf, sizeof buf);
    }
    if (r == NULL)
        snprintf(out, len, "unknown");
    else if (k.family == AF_INET6 && v6_prefix < 128)
        snprintf(out, len, "%s/%d", r, v6_prefix);
    else
        snprintf(out, len, "%s", r);
}

void cidr_addr_text(const struct sockaddr *addr, char *out, size_t len) { block_text(addr, 128, out, len); }

void cidr_block_text(const struct sockaddr *addr, int v6_prefix, char *out, size_t len)
{
    block_text(addr, v6_prefix, out, len);
}
