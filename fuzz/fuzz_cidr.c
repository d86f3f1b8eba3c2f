/* fuzz_cidr: address ranges and the client address behind trusted proxies
 * (auth/cidr.c) — the --trusted-proxies and allowed_ips lists, and the
 * X-Forwarded-For header a client controls.
 *
 * Input: byte 0 picks the peer's family (IPv4, IPv6, or IPv4 mapped into
 * IPv6), bytes 1..16 its address; the rest is a range list and an
 * X-Forwarded-For value (absent when there is no second line), split at
 * the first newline.
 *
 * Properties:
 *   - the list is accepted exactly when every entry (split on commas and
 *     white space, empty ones skipped) parses alone, and then holds those
 *     ranges in order; a refused list says which entry;
 *   - a range written back (inet_ntop and /prefix) parses to itself, and
 *     has no bits set past its prefix;
 *   - cidr_contains agrees with a bit-by-bit prefix compare written here
 *     (IPv4-mapped IPv6 peers compared as IPv4), for the peer and for every
 *     hop of the header;
 *   - the client address is what a walk written here from the rules of
 *     auth/cidr.h finds: the peer unless it is trusted; else the hops from
 *     the right, stopping at the first untrusted one, at a malformed one
 *     (keeping the last trusted address), or at the left end;
 *   - its text (cidr_addr_text) reads back as the same address. */
#include "fuzz.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "auth/cidr.h"

static const uint8_t V4MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool is_list_sep(char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The family and bytes an address is compared by (v4-mapped → IPv4). */
static int key_bytes(const struct sockaddr *sa, uint8_t out[16])
{
    if (sa->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return AF_INET;
    }
    const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    if (memcmp(b, V4MAPPED, 12) == 0) {
        memcpy(out, b + 12, 4);
        return AF_INET;
    }
    memcpy(out, b, 16);
    return AF_INET6;
}

static bool bit(const uint8_t *b, int i) { return b[i / 8] >> (7 - i % 8) & 1; }

static bool ref_contains(const cidr *c, const struct sockaddr *sa)
{
    uint8_t k[16];
    if (key_bytes(sa, k) != c->family) return false;
    for (int i = 0; i < c->prefix; i++)
        if (bit(k, i) != bit(c->addr, i)) return false;
    return true;
}

static bool ref_list_contains(const cidr_list *l, const struct sockaddr *sa)
{
    for (size_t i = 0; i < l->n; i++)
        if (ref_contains(&l->items[i], sa)) return true;
    return false;
}

static void check_contains(const cidr_list *l, const struct sockaddr *sa)
{
    for (size_t i = 0; i < l->n; i++)
        FZ_CHECK(cidr_contains(&l->items[i], sa) == ref_contains(&l->items[i], sa),
                 "cidr_contains of range %zu", i);
    FZ_CHECK(cidr_list_contains(l, sa) == ref_list_contains(l, sa), "cidr_list_contains");
}

/* A range written back parses to itself; no bits past the prefix. */
static void check_range(const cidr *c)
{
    int max = c->family == AF_INET ? 32 : 128;
    FZ_CHECK((c->family == AF_INET || c->family == AF_INET6) && c->prefix >= 0 && c->prefix <= max,
             "family %d prefix %d", c->family, c->prefix);
    for (int i = c->prefix; i < max; i++)
        FZ_CHECK(!bit(c->addr, i), "bit %d set past prefix %d", i, c->prefix);
    char text[INET6_ADDRSTRLEN + 8];
    FZ_CHECK(inet_ntop(c->family, c->addr, text, INET6_ADDRSTRLEN), "inet_ntop failed");
    snprintf(text + strlen(text), 8, "/%d", c->prefix);
    cidr again;
    FZ_CHECK(cidr_parse(text, &again) == 0, "'%s' is refused", text);
    FZ_CHECK(again.family == c->family && again.prefix == c->prefix && memcmp(again.addr, c->addr, 16) == 0,
             "'%s' parses to another range", text);
}

static void check_list(const char *text, cidr_list *l)
{
    char err[160];
    int rc = cidr_list_parse(text, l, err);
    size_t k = 0;
    bool all_ok = true;
    for (const char *p = text; *p;) {
        while (*p && is_list_sep(*p)) p++;
        if (!*p) break;
        const char *start = p;
        while (*p && !is_list_sep(*p)) p++;
        char *entry = fz_strndup(start, (size_t)(p - start));
        cidr c;
        bool ok = cidr_parse(entry, &c) == 0;
        free(entry);
        if (rc == 0) {
            FZ_CHECK(ok, "a list with an entry that is refused alone was accepted");
            FZ_CHECK(k < l->n && memcmp(&l->items[k], &c, sizeof c) == 0, "entry %zu differs in the list", k);
        }
        all_ok &= ok;
        k++;
    }
    if (rc == 0) {
        FZ_CHECK(k == l->n, "%zu entries, %zu ranges", k, l->n);
        for (size_t i = 0; i < l->n; i++) check_range(&l->items[i]);
    } else {
        FZ_CHECK(!all_ok, "a list of good entries was refused: %s", err);
        FZ_CHECK(strncmp(err, "bad address range '", 19) == 0 && l->n == 0 && l->items == NULL, "refused: %s",
                 err);
    }
}

/* One hop: "IPv4", "IPv6" or "[IPv6]"; false when malformed. */
static bool ref_hop(const char *s, size_t n, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    bool br = n >= 2 && s[0] == '[' && s[n - 1] == ']';
    char *a = fz_strndup(br ? s + 1 : s, br ? n - 2 : n);
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    bool ok;
    if (strchr(a, ':'))
        ok = (in6->sin6_family = AF_INET6, inet_pton(AF_INET6, a, &in6->sin6_addr) == 1);
    else
        ok = !br && (in->sin_family = AF_INET, inet_pton(AF_INET, a, &in->sin_addr) == 1);
    free(a);
    return ok;
}

/* The client behind the proxies, by the rules of auth/cidr.h. */
static void ref_client(const struct sockaddr_storage *peer, const char *xff, const cidr_list *trusted,
                       struct sockaddr_storage *out)
{
    *out = *peer;
    if (!xff || !ref_list_contains(trusted, (const struct sockaddr *)peer)) return;
    size_t nhops = 1;
    for (const char *p = xff; *p; p++) nhops += *p == ',';
    const char **start = fz_alloc(nhops * sizeof *start);
    size_t *len = fz_alloc(nhops * sizeof *len);
    size_t h = 0;
    for (const char *p = xff;; p++) {
        if (h == 0 || p[-1] == ',') start[h++] = p;
        if (*p == ',' || !*p) len[h - 1] = (size_t)(p - start[h - 1]);
        if (!*p) break;
    }
    for (size_t i = nhops; i-- > 0;) {
        const char *s = start[i];
        size_t n = len[i];
        while (n && (*s == ' ' || *s == '\t')) s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
        struct sockaddr_storage hop;
        if (!ref_hop(s, n, &hop)) break;
        *out = hop;
        if (!ref_list_contains(trusted, (const struct sockaddr *)&hop)) break;
    }
    free(start);
    free(len);
}

static void check_client(const struct sockaddr_storage *peer, const char *xff, const cidr_list *trusted)
{
    struct sockaddr_storage got, want;
    cidr_client_address((const struct sockaddr *)peer, xff, trusted, &got);
    ref_client(peer, xff, trusted, &want);
    uint8_t g[16], w[16];
    int gf = key_bytes((const struct sockaddr *)&got, g), wf = key_bytes((const struct sockaddr *)&want, w);
    FZ_CHECK(got.ss_family == want.ss_family && gf == wf && memcmp(g, w, gf == AF_INET ? 4 : 16) == 0,
             "client address differs from the walk's");
    char text[64];
    cidr_addr_text((const struct sockaddr *)&got, text, sizeof text);
    uint8_t back[16];
    FZ_CHECK(inet_pton(gf, text, back) == 1 && memcmp(back, g, gf == AF_INET ? 4 : 16) == 0,
             "address text '%s' reads back as another address", text);
    check_contains(trusted, (const struct sockaddr *)&got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    int fam = fz_u8(&in) % 3;
    uint8_t raw[16];
    for (int i = 0; i < 16; i++) raw[i] = fz_u8(&in);
    struct sockaddr_storage peer;
    memset(&peer, 0, sizeof peer);
    if (fam == 0) {
        struct sockaddr_in *a = (struct sockaddr_in *)&peer;
        a->sin_family = AF_INET;
        memcpy(&a->sin_addr, raw, 4);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&peer;
        a->sin6_family = AF_INET6;
        if (fam == 2) memcpy(raw, V4MAPPED, 12);
        memcpy(a->sin6_addr.s6_addr, raw, 16);
    }
    bool has_xff = in.n && memchr(in.p, '\n', in.n);
    char *list = fz_field(&in, '\n');
    char *xff = has_xff ? fz_strndup(in.p, in.n) : NULL;

    cidr_list trusted;
    check_list(list, &trusted);
    check_contains(&trusted, (const struct sockaddr *)&peer);
    check_client(&peer, xff, &trusted);
    cidr_list_free(&trusted);
    free(list);
    free(xff);
    return 0;
}
