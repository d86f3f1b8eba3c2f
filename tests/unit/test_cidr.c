/* test_cidr: auth/cidr.c — parsing of IPv4/IPv6 ranges and bare addresses
 * (prefix limits, junk refused, host bits ignored), lists (commas, white
 * space, stray separators, the bad entry named), matching (edges of ranges,
 * /0, IPv4-mapped peers against IPv4 ranges), the client address behind
 * trusted proxies (X-Forwarded-For walked from the right, brackets, spaces,
 * malformed hops, all hops trusted) and address text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/cidr.h"

/* An address for matching, from text; port 4242 so it shows it is kept. */
static struct sockaddr_storage sa(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(text, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(4242);
        if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1) fail_msg("bad test address %s", text);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(4242);
        if (inet_pton(AF_INET, text, &in->sin_addr) != 1) fail_msg("bad test address %s", text);
    }
    return ss;
}

static bool in_range(const char *range, const char *addr)
{
    cidr c;
    if (cidr_parse(range, &c) != 0) fail_msg("range %s refused", range);
    struct sockaddr_storage ss = sa(addr);
    return cidr_contains(&c, (struct sockaddr *)&ss);
}

static bool in_list(const char *list, const char *addr)
{
    cidr_list l;
    char err[160];
    if (cidr_list_parse(list, &l, err) != 0) fail_msg("list %s refused: %s", list, err);
    struct sockaddr_storage ss = sa(addr);
    bool r = cidr_list_contains(&l, (struct sockaddr *)&ss);
    cidr_list_free(&l);
    return r;
}

static const char *text_of(const struct sockaddr_storage *ss)
{
    static char buf[INET6_ADDRSTRLEN];
    cidr_addr_text((const struct sockaddr *)ss, buf, sizeof buf);
    return buf;
}

/* ---- parsing -------------------------------------------------------------------- */

static void parse_good(void **state)
{
    (void)state;
    cidr c;
    assert_int_equal(cidr_parse("10.1.2.3/8", &c), 0);
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 8);
    assert_int_equal(c.addr[0], 10);
    assert_int_equal(c.addr[1], 0); /* host bits cleared */

    assert_int_equal(cidr_parse("192.168.1.7", &c), 0);
    assert_int_equal(c.prefix, 32);
    assert_int_equal(cidr_parse("0.0.0.0/0", &c), 0);
    assert_int_equal(c.prefix, 0);
    assert_int_equal(cidr_parse("1.2.3.4/32", &c), 0);

    assert_int_equal(cidr_parse("2001:db8::/32", &c), 0);
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(c.prefix, 32);
    assert_int_equal(cidr_parse("::1", &c), 0);
    assert_int_equal(c.prefix, 128);
    assert_int_equal(cidr_parse("::/0", &c), 0);
    assert_int_equal(cidr_parse("2001:db8::1/128", &c), 0);
    assert_int_equal(cidr_parse("2001:db8:ffff:ffff::1/33", &c), 0);
    assert_int_equal(c.addr[4], 0x80); /* 33rd bit kept, the rest cleared */
    assert_int_equal(c.addr[5], 0);

    /* IPv4-mapped ranges become IPv4 ones */
    assert_int_equal(cidr_parse("::ffff:10.0.0.0/104", &c), 0);
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 8);
    assert_int_equal(cidr_parse("::ffff:1.2.3.4", &c), 0);
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 32);
}

static void parse_bad(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "/",
        "/8",
        "1.2.3.4/33",
        "1.2.3.4/-1",
        "1.2.3.4/+8",
        "1.2.3.4/8 ",
        " 1.2.3.4",
        "1.2.3/8",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "a.b.c.d",
        "10.0.0.0/",
        "10.0.0.0//8",
        "10.0.0.0/8/8",
        "10.0.0.0/0x8",
        "10.0.0.0/1000",
        "01.2.3.4",
        "::1/129",
        "::1/",
        ":::1",
        "1::2::3",
        "fe80::1%eth0",
        "[::1]",
        "[::1]/128",
        "2001:db8::/64x",
        "localhost",
        "1.2.3.4,5.6.7.8",
        "1.2.3.4:80",
        "1111:2222:3333:4444:5555:6666:7777:8888:9999:0000:1111:2222/64",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cidr c;
        if (cidr_parse(bad[i], &c) == 0) fail_msg("'%s' accepted", bad[i]);
    }
    cidr c;
    assert_int_equal(cidr_parse(NULL, &c), -1);
}

static void lists(void **state)
{
    (void)state;
    cidr_list l;
    char err[160];
    assert_int_equal(cidr_list_parse("10.0.0.0/8, 192.168.0.0/16 ::1\t2001:db8::/32\n", &l, err), 0);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.items[3].family, AF_INET6);
    cidr_list_free(&l);
    assert_null(l.items);
    assert_int_equal(l.n, 0);

    /* empty entries from stray separators are skipped */
    assert_int_equal(cidr_list_parse(",, 10.0.0.1 ,,  ,10.0.0.2,", &l, err), 0);
    assert_int_equal(l.n, 2);
    cidr_list_free(&l);

    /* empty lists */
    assert_int_equal(cidr_list_parse("", &l, err), 0);
    assert_int_equal(l.n, 0);
    cidr_list_free(&l);
    assert_int_equal(cidr_list_parse(" , ", &l, err), 0);
    assert_int_equal(l.n, 0);
    cidr_list_free(&l);
    assert_int_equal(cidr_list_parse(NULL, &l, err), 0);
    assert_int_equal(l.n, 0);

    /* many entries */
    char big[8192] = "";
    for (int i = 0; i < 200; i++) {
        char e[32];
        snprintf(e, sizeof e, "10.%d.%d.0/24,", i / 256, i % 256);
        strcat(big, e);
    }
    assert_int_equal(cidr_list_parse(big, &l, err), 0);
    assert_int_equal(l.n, 200);
    cidr_list_free(&l);

    /* a bad entry refuses the list and is named */
    assert_int_equal(cidr_list_parse("10.0.0.0/8, 1.2.3.4/33, ::1", &l, err), -1);
    assert_non_null(strstr(err, "'1.2.3.4/33'"));
    assert_null(l.items);
    assert_int_equal(l.n, 0);
    assert_int_equal(cidr_list_parse("10.0.0.0/8;10.1.0.0/16", &l, err), -1);
    assert_non_null(strstr(err, "10.0.0.0/8;10.1.0.0/16"));
    /* a very long bad entry is shortened in the message */
    char longbad[600];
    memset(longbad, 'q', sizeof longbad - 1);
    longbad[sizeof longbad - 1] = '\0';
    assert_int_equal(cidr_list_parse(longbad, &l, err), -1);
    assert_true(strlen(err) < 160);
    assert_non_null(strstr(err, "..."));
}

/* ---- matching ------------------------------------------------------------------- */

static void matching_v4(void **state)
{
    (void)state;
    assert_true(in_range("10.0.0.0/8", "10.0.0.0"));
    assert_true(in_range("10.0.0.0/8", "10.255.255.255"));
    assert_false(in_range("10.0.0.0/8", "11.0.0.0"));
    assert_false(in_range("10.0.0.0/8", "9.255.255.255"));
    assert_true(in_range("192.168.1.128/25", "192.168.1.200"));
    assert_false(in_range("192.168.1.128/25", "192.168.1.127"));
    assert_true(in_range("10.9.9.9/8", "10.1.1.1")); /* host bits ignored */
    assert_true(in_range("1.2.3.4", "1.2.3.4"));
    assert_false(in_range("1.2.3.4", "1.2.3.5"));
    assert_true(in_range("0.0.0.0/0", "255.255.255.255"));
    assert_true(in_range("128.0.0.0/1", "200.0.0.1"));
    assert_false(in_range("128.0.0.0/1", "127.255.255.255"));
    /* families do not mix */
    assert_false(in_range("0.0.0.0/0", "::1"));
    assert_false(in_range("::/0", "1.2.3.4"));
}

static void matching_v6(void **state)
{
    (void)state;
    assert_true(in_range("2001:db8::/32", "2001:db8:1234::1"));
    assert_false(in_range("2001:db8::/32", "2001:db9::1"));
    assert_true(in_range("2001:db8::/33", "2001:db8:7fff::1"));
    assert_false(in_range("2001:db8::/33", "2001:db8:8000::1"));
    assert_true(in_range("::1", "::1"));
    assert_false(in_range("::1", "::2"));
    assert_true(in_range("::/0", "ffff::1"));
    assert_true(in_range("fe80::/10", "febf::1"));
    assert_false(in_range("fe80::/10", "fec0::1"));
}

static void matching_mapped(void **state)
{
    (void)state;
    /* a dual-stack socket's view of an IPv4 client */
    assert_true(in_range("127.0.0.0/8", "::ffff:127.0.0.1"));
    assert_true(in_range("10.0.0.0/8", "::ffff:10.1.2.3"));
    assert_false(in_range("10.0.0.0/8", "::ffff:11.1.2.3"));
    assert_true(in_range("::ffff:10.0.0.0/104", "10.20.30.40"));
    assert_true(in_range("::ffff:10.0.0.0/104", "::ffff:10.20.30.40"));
    assert_false(in_range("::1", "::ffff:0.0.0.1"));
    /* IPv4-compatible (deprecated ::a.b.c.d) is not mapped */
    assert_false(in_range("1.2.3.4", "::1.2.3.4"));
}

static void matching_lists(void **state)
{
    (void)state;
    assert_true(in_list("10.0.0.0/8, 2001:db8::/32", "10.1.1.1"));
    assert_true(in_list("10.0.0.0/8, 2001:db8::/32", "2001:db8::5"));
    assert_false(in_list("10.0.0.0/8, 2001:db8::/32", "192.168.0.1"));
    assert_false(in_list("10.0.0.0/8, 2001:db8::/32", "2001:db9::5"));
    assert_false(in_list("", "10.1.1.1")); /* empty list holds nothing */
    assert_false(cidr_list_contains(NULL, NULL));

    cidr c;
    assert_int_equal(cidr_parse("0.0.0.0/0", &c), 0);
    assert_false(cidr_contains(&c, NULL));
    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_false(cidr_contains(&c, &un));
}

/* ---- client address ------------------------------------------------------------- */

static const char *client(const char *peer, const char *xff, const char *trusted)
{
    cidr_list l;
    char err[160];
    if (cidr_list_parse(trusted, &l, err) != 0) fail_msg("trusted %s refused", trusted);
    struct sockaddr_storage p = sa(peer), out;
    memset(&out, 0xa5, sizeof out);
    cidr_client_address((struct sockaddr *)&p, xff, &l, &out);
    cidr_list_free(&l);
    return text_of(&out);
}

static void client_untrusted_peer(void **state)
{
    (void)state;
    /* a client cannot choose its address by sending the header */
    assert_string_equal(client("203.0.113.9", "10.0.0.1", ""), "203.0.113.9");
    assert_string_equal(client("203.0.113.9", "10.0.0.1", "127.0.0.1"), "203.0.113.9");
    assert_string_equal(client("203.0.113.9", NULL, "127.0.0.1"), "203.0.113.9");
    assert_string_equal(client("2001:db8::9", "10.0.0.1", "127.0.0.0/8"), "2001:db8::9");

    /* the peer is copied whole, port included */
    struct sockaddr_storage p = sa("203.0.113.9"), out;
    cidr_client_address((struct sockaddr *)&p, "1.1.1.1", NULL, &out);
    assert_int_equal(out.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&out)->sin_port), 4242);
    p = sa("2001:db8::9");
    cidr_client_address((struct sockaddr *)&p, NULL, NULL, &out);
    assert_int_equal(out.ss_family, AF_INET6);
    assert_int_equal(ntohs(((struct sockaddr_in6 *)&out)->sin6_port), 4242);
}

static void client_trusted_peer(void **state)
{
    (void)state;
    const char *T = "127.0.0.1, 10.0.0.0/8, fd00::/8";
    /* one proxy */
    assert_string_equal(client("127.0.0.1", "203.0.113.9", T), "203.0.113.9");
    /* right-most untrusted hop, whatever the client put on the left */
    assert_string_equal(client("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.1.1", T), "203.0.113.9");
    assert_string_equal(client("127.0.0.1", "6.6.6.6,203.0.113.9,10.1.1.1", T), "203.0.113.9");
    assert_string_equal(client("127.0.0.1", "  203.0.113.9  ,\t10.1.1.1 ", T), "203.0.113.9");
    /* IPv6 hops, bare and bracketed */
    assert_string_equal(client("127.0.0.1", "2001:db8::7", T), "2001:db8::7");
    assert_string_equal(client("127.0.0.1", "[2001:db8::7], fd00::1", T), "2001:db8::7");
    assert_string_equal(client("fd00::2", "203.0.113.9, [fd00::1]", T), "203.0.113.9");
    /* every hop trusted: the left-most */
    assert_string_equal(client("127.0.0.1", "10.0.0.5, 10.0.0.6", T), "10.0.0.5");
    /* no header, empty header: the peer */
    assert_string_equal(client("127.0.0.1", NULL, T), "127.0.0.1");
    assert_string_equal(client("127.0.0.1", "", T), "127.0.0.1");
    /* a mapped peer counts as IPv4 for trust */
    assert_string_equal(client("::ffff:127.0.0.1", "203.0.113.9", T), "203.0.113.9");
    /* the hop is returned with port 0 */
    cidr_list l;
    char err[160];
    assert_int_equal(cidr_list_parse(T, &l, err), 0);
    struct sockaddr_storage p = sa("127.0.0.1"), out;
    cidr_client_address((struct sockaddr *)&p, "203.0.113.9", &l, &out);
    assert_int_equal(out.ss_family, AF_INET);
    assert_int_equal(((struct sockaddr_in *)&out)->sin_port, 0);
    cidr_list_free(&l);
}

static void client_malformed_hops(void **state)
{
    (void)state;
    const char *T = "127.0.0.1, 10.0.0.0/8";
    /* a malformed right-most hop: the walk stops at the (trusted) peer */
    static const char *bad[] = {"garbage",
                                "203.0.113.9:8080",
                                "[203.0.113.9]",
                                "[2001:db8::7]:443",
                                "unknown",
                                "1.2.3",
                                "203.0.113.9,",
                                "203.0.113.9, ",
                                "2001:db8::7%eth0",
                                "[2001:db8::7",
                                "203.0.113.9 6.6.6.6"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *got = client("127.0.0.1", bad[i], T);
        if (strcmp(got, "127.0.0.1") != 0) fail_msg("'%s' → %s", bad[i], got);
    }
    /* further left: stops at the last trusted hop, never beyond */
    assert_string_equal(client("127.0.0.1", "203.0.113.9, junk, 10.0.0.7", T), "10.0.0.7");
    assert_string_equal(client("127.0.0.1", "203.0.113.9,,10.0.0.7", T), "10.0.0.7");
    /* huge header: no trouble */
    size_t n = 100000;
    char *h = malloc(n + 1);
    for (size_t i = 0; i < n; i += 10) memcpy(h + i, "10.0.0.1, ", 10);
    memcpy(h, "8.8.8.8,  ", 10);
    h[n - 2] = '\0'; /* drop the trailing ", " */
    assert_string_equal(client("127.0.0.1", h, T), "8.8.8.8");
    free(h);

    /* NULL peer, unknown family */
    struct sockaddr_storage out;
    cidr_client_address(NULL, "1.2.3.4", NULL, &out);
    assert_int_equal(out.ss_family, AF_UNSPEC);
    struct sockaddr un = {.sa_family = AF_UNIX};
    cidr_client_address(&un, "1.2.3.4", NULL, &out);
    assert_int_equal(out.ss_family, AF_UNIX);
}

static void addr_text(void **state)
{
    (void)state;
    struct sockaddr_storage a = sa("127.0.0.1");
    assert_string_equal(text_of(&a), "127.0.0.1");
    a = sa("::1");
    assert_string_equal(text_of(&a), "::1");
    a = sa("2001:db8:0:0:1:0:0:1");
    assert_string_equal(text_of(&a), "2001:db8::1:0:0:1");
    a = sa("::ffff:192.0.2.1"); /* as the IPv4 client it is */
    assert_string_equal(text_of(&a), "192.0.2.1");
    a = sa("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    assert_string_equal(text_of(&a), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

    char small[6];
    a = sa("192.168.100.200");
    cidr_addr_text((struct sockaddr *)&a, small, sizeof small);
    assert_string_equal(small, "192.1"); /* truncated, still terminated */
    char buf[64];
    cidr_addr_text(NULL, buf, sizeof buf);
    assert_string_equal(buf, "unknown");
    struct sockaddr un = {.sa_family = AF_UNIX};
    cidr_addr_text(&un, buf, sizeof buf);
    assert_string_equal(buf, "unknown");
}

static const char *block_of(const char *addr, int v6_prefix)
{
    static char buf[64];
    struct sockaddr_storage ss = sa(addr);
    cidr_block_text((const struct sockaddr *)&ss, v6_prefix, buf, sizeof buf);
    return buf;
}

static void block_text(void **state)
{
    (void)state;
    assert_string_equal(block_of("192.0.2.77", 64), "192.0.2.77");
    assert_string_equal(block_of("::ffff:192.0.2.77", 64), "192.0.2.77");
    assert_string_equal(block_of("2001:db8:1:2:3:4:5:6", 64), "2001:db8:1:2::/64");
    assert_string_equal(block_of("2001:db8:1:2::", 64), "2001:db8:1:2::/64");
    assert_string_equal(block_of("2001:db8:1:2:3:4:5:6", 48), "2001:db8:1::/48");
    assert_string_equal(block_of("2001:db8:1:2:3:4:5:6", 60), "2001:db8:1::/60");
    assert_string_equal(block_of("2001:db8:1:2:3:4:5:6", 128), "2001:db8:1:2:3:4:5:6");
    assert_string_equal(block_of("2001:db8:1:2:3:4:5:6", 0), "::/0");
    assert_string_equal(block_of("2001:db8:1:2:3:4:5:6", 200), "2001:db8:1:2:3:4:5:6");
    assert_string_equal(block_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 64), "ffff:ffff:ffff:ffff::/64");
    char buf[64];
    cidr_block_text(NULL, 64, buf, sizeof buf);
    assert_string_equal(buf, "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_good),
        cmocka_unit_test(parse_bad),
        cmocka_unit_test(lists),
        cmocka_unit_test(matching_v4),
        cmocka_unit_test(matching_v6),
        cmocka_unit_test(matching_mapped),
        cmocka_unit_test(matching_lists),
        cmocka_unit_test(client_untrusted_peer),
        cmocka_unit_test(client_trusted_peer),
        cmocka_unit_test(client_malformed_hops),
        cmocka_unit_test(addr_text),
        cmocka_unit_test(block_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
