/* test_endpoint: util/endpoint.c, the numeric `IPv4:port` / `[IPv6]:port`
 * parser shared by the store (validation) and the node client (connect). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "util/endpoint.h"

static void test_ipv4(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char err[ENDPOINT_ERR_LEN] = "";
    assert_int_equal(endpoint_parse("127.0.0.1:7080", &ss, &len, err), 0);
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    assert_int_equal(a->sin_family, AF_INET);
    assert_int_equal(ntohs(a->sin_port), 7080);
    assert_int_equal(ntohl(a->sin_addr.s_addr), 0x7f000001);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_int_equal(endpoint_parse("10.1.2.3:1", NULL, NULL, NULL), 0);
    assert_int_equal(endpoint_parse("255.255.255.255:65535", NULL, NULL, NULL), 0);
}

static void test_ipv6(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char err[ENDPOINT_ERR_LEN] = "";
    assert_int_equal(endpoint_parse("[::1]:65535", &ss, &len, err), 0);
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    assert_int_equal(a->sin6_family, AF_INET6);
    assert_int_equal(ntohs(a->sin6_port), 65535);
    assert_memory_equal(&a->sin6_addr, &in6addr_loopback, sizeof in6addr_loopback);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    assert_int_equal(endpoint_parse("[2001:db8::10]:5060", NULL, NULL, err), 0);
    assert_int_equal(endpoint_parse("[::ffff:192.0.2.1]:80", NULL, NULL, err), 0);
    assert_int_equal(endpoint_parse("[2001:0db8:0000:0000:0000:ff00:0042:8329]:1", NULL, NULL, err), 0);
}

/* Each bad input is refused with a reason and leaves the outputs alone. */
static void refused(const char *s, const char *reason_part)
{
    struct sockaddr_storage ss;
    socklen_t len = 12345;
    char err[ENDPOINT_ERR_LEN] = "";
    memset(&ss, 0xAB, sizeof ss);
    if (endpoint_parse(s, &ss, &len, err) != -1) fail_msg("accepted '%s'", s ? s : "(null)");
    assert_int_equal(len, 12345);
    assert_int_equal(((unsigned char *)&ss)[0], 0xAB);
    assert_true(err[0] != '\0');
    if (reason_part && !strstr(err, reason_part))
        fail_msg("'%s': reason '%s' lacks '%s'", s ? s : "(null)", err, reason_part);
}

static void test_host_names_refused(void **state)
{
    refused("localhost:80", "not resolved");
    refused("example.org:5060", "not resolved");
    refused("node1:7080", "not resolved");
    refused("[localhost]:80", "IPv6");
}

static void test_bad_ports(void **state)
{
    refused("127.0.0.1:0", "port");
    refused("127.0.0.1:70000", "port");
    refused("127.0.0.1:65536", "port");
    refused("127.0.0.1:99999999999999999999", "port");
    refused("127.0.0.1:", "port");
    refused("127.0.0.1:-1", "port");
    refused("127.0.0.1:+80", "port");
    refused("127.0.0.1: 80", "port");
    refused("127.0.0.1:80 ", "port");
    refused("127.0.0.1:080", "port");
    refused("127.0.0.1:8o", "port");
    refused("[::1]:0", "port");
    refused("[::1]:", "port");
}

static void test_missing_port(void **state)
{
    refused("127.0.0.1", "missing port");
    refused("[::1]", "missing ':port'");
    refused("[::1]80", "missing ':port'");
}

static void test_ipv6_without_brackets(void **state)
{
    refused("::1:80", "brackets");
    refused("2001:db8::1:5060", "brackets");
    refused("::1", "brackets");
}

static void test_garbage(void **state)
{
    refused(NULL, "empty");
    refused("", "empty");
    refused(":80", "missing address");
    refused("[]:80", "empty IPv6");
    refused("[::1:80", "']'");
    refused("garbage", "missing port");
    refused(" 127.0.0.1:80", "IPv4");
    refused("127.0.0.01:80", "IPv4");
    refused("127.0.0:80", "IPv4");
    refused("127.0.0.256:80", "IPv4");
    refused("1.2.3.4.5:80", "IPv4");
    refused("[1.2.3.4]:80", "IPv6");
    refused("[fe80::1%eth0]:80", "IPv6");
    refused("[::1]:80]", "port");
    refused("\x01\x02:\x03", NULL);

    char longer[ENDPOINT_MAX_LEN + 10];
    memset(longer, '1', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    refused(longer, "too long");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_host_names_refused),
        cmocka_unit_test(test_bad_ports),
        cmocka_unit_test(test_missing_port),
        cmocka_unit_test(test_ipv6_without_brackets),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
