/* it_faults: the listing when nodes misbehave (docs/API.md, "Listing").
 *
 * A healthy node's calls are always served; each failing node is reported
 * in meta.failed-nodes with its error code; the request never outlives the
 * deadline by much; and a failure never wedges the server or poisons the
 * connection pool (the next requests still work). Also: a slow-but-in-time
 * node, the reply size limit (and the length a lying header announced, up
 * to and past 64 bits), a record with a repeated field, persistent
 * connections, a restarted node. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define DEADLINE_MS 500
#define DEADLINE_ARG "500"
/* A bound on a hang, not a performance assertion. */
#define BOUND_MS (DEADLINE_MS + 1000)

#define SEED_IDS                                                   \
    "1*FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86," \
    "1*03-3D73-55FA51B805CDE1BACF2FB0ED76C3D37B-2962144B354702AF"
#define NODE2_IDS "2*n2-a,2*n2-b,2*n2-c"

typedef struct fault {
    const char *mode;  /* nodesim flag without "--", or "refused" */
    const char *arg;   /* its value, or NULL */
    const char *error; /* the failed-nodes code docs/API.md gives */
} fault;

static const fault FAULTS[] = {
    {"refused", NULL, "connection-refused"}, {"blackhole", NULL, "timeout"},
    {"delay-ms", "1500", "timeout"},         {"close", NULL, "connection-closed"},
    {"garbage", NULL, "invalid-reply"},      {"oversize", NULL, "reply-too-large"},
};
#define N_FAULTS (sizeof FAULTS / sizeof FAULTS[0])

/* Starts (unless "refused") a nodesim misbehaving as f; returns its endpoint
 * and sets *proc (NULL for "refused": a port where nothing listens). */
static const char *start_faulty(const fault *f, int node_id, int pop_id, h_proc **proc)
{
    *proc = NULL;
    if (strcmp(f->mode, "refused") == 0) return h_strf("127.0.0.1:%d", h_closed_port());
    const char *flag = h_strf("--%s", f->mode);
    *proc = f->arg ? h_start_nodesim(node_id, pop_id, "--calls", "3", flag, f->arg, NULL)
                   : h_start_nodesim(node_id, pop_id, "--calls", "3", flag, NULL);
    return (*proc)->addr;
}

/* Node 1: the seed's two calls. */
static h_proc *start_good(const char *db)
{
    h_proc *p = h_start_nodesim(1, 1, "--calls-file", h_data_path("seed_calls.json"), NULL);
    h_add_node(db, 1, p->addr, 1);
    return p;
}

static h_response *bounded_listing(const h_proc *server, const char *query)
{
    h_response *r = h_listing(server, query);
    if (r->elapsed_ms >= BOUND_MS)
        fail_msg("%s took %.0f ms; the deadline is %d ms", r->url, r->elapsed_ms, DEADLINE_MS);
    return r;
}

static void stop_ok(h_proc *p)
{
    if (p != NULL) assert_int_equal(h_stop(p), 0);
}

/* All failure modes at once, beside one good node. */
static void test_all_faults_at_once(void **state)
{
    const char *db = h_db_path();
    h_add_pop(db, 1);
    h_proc *good = start_good(db);
    h_proc *bad[N_FAULTS];
    char expected[1024] = "";
    for (size_t i = 0; i < N_FAULTS; i++) {
        int id = (int)i + 2;
        h_add_node(db, id, start_faulty(&FAULTS[i], id, 1, &bad[i]), 1);
        snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%d/node-%d/%s",
                 i ? "," : "", id, id, FAULTS[i].error);
    }
    h_proc *server = h_start_server(db, "--node-timeout-ms", DEADLINE_ARG, NULL);

    h_assert_listing(bounded_listing(server, NULL), SEED_IDS, expected);
    /* Not wedged: the good node alone, then everything again. */
    h_assert_listing(bounded_listing(server, "filter[node-id-eq]=1"), SEED_IDS, NULL);
    h_assert_listing(bounded_listing(server, NULL), SEED_IDS, expected);
    h_assert_listing(bounded_listing(server, "filter[node-id-eq]=1"), SEED_IDS, NULL);

    assert_int_equal(h_stop(server), 0);
    stop_ok(good);
    for (size_t i = 0; i < N_FAULTS; i++) stop_ok(bad[i]);
}

/* One failure mode (the prestate) beside one good node, three requests. */
static void test_one_fault(void **state)
{
    const fault *f = *state;
    const char *db = h_db_path();
    h_add_pop(db, 1);
    h_proc *good = start_good(db);
    h_proc *bad;
    h_add_node(db, 2, start_faulty(f, 2, 1, &bad), 1);
    h_proc *server = h_start_server(db, "--node-timeout-ms", DEADLINE_ARG, NULL);
    const char *expected = h_strf("2/node-2/%s", f->error);

    h_assert_listing(bounded_listing(server, NULL), SEED_IDS, expected);
    h_assert_listing(bounded_listing(server, "filter[node-id-eq]=1"), SEED_IDS, NULL);
    h_assert_listing(bounded_listing(server, "filter[node-id-eq]=2"), "", expected);
    h_assert_listing(bounded_listing(server, NULL), SEED_IDS, expected);

    assert_int_equal(h_stop(server), 0);
    stop_ok(good);
    stop_ok(bad);
}

/* A node slower than usual but within the deadline is not a failure. */
static void test_delay_below_deadline(void **state)
{
    const char *db = h_db_path();
    h_add_pop(db, 1);
    h_proc *good = start_good(db);
    h_proc *slow = h_start_nodesim(2, 1, "--calls-file", h_data_path("filter_calls_node2.json"), "--delay-ms",
                                   "100", NULL);
    h_add_node(db, 2, slow->addr, 1);
    h_proc *server = h_start_server(db, "--node-timeout-ms", DEADLINE_ARG, NULL);

    h_assert_listing(bounded_listing(server, NULL), SEED_IDS "," NODE2_IDS, NULL);
    h_assert_listing(bounded_listing(server, NULL), SEED_IDS "," NODE2_IDS, NULL);

    assert_int_equal(h_stop(server), 0);
    stop_ok(good);
    stop_ok(slow);
}

/* --max-reply-bytes: a node with 200 calls is over 20000 bytes; a node with
 * three small calls is not. */
static void test_reply_too_large(void **state)
{
    const char *db = h_db_path();
    h_add_pop(db, 1);
    h_proc *big = h_start_nodesim(1, 1, "--calls", "200", "--seed", "7", NULL);
    h_proc *small = h_start_nodesim(2, 1, "--calls-file", h_data_path("filter_calls_node2.json"), NULL);
    h_add_node(db, 1, big->addr, 1);
    h_add_node(db, 2, small->addr, 1);
    h_proc *server = h_start_server(db, "--node-timeout-ms", "2000", "--max-reply-bytes", "20000", NULL);

    h_assert_listing(h_listing(server, NULL), NODE2_IDS, "1/node-1/reply-too-large");
    h_assert_listing(h_listing(server, "filter[node-id-eq]=2"), NODE2_IDS, NULL);
    h_assert_listing(h_listing(server, NULL), NODE2_IDS, "1/node-1/reply-too-large");

    assert_int_equal(h_stop(server), 0);
    stop_ok(big);
    stop_ok(small);
}

/* meta.failed-nodes[0].detail of a listing (fails when there is none). */
static const char *first_failed_detail(const h_response *r)
{
    json_t *e = json_array_get(json_object_get(json_object_get(h_json(r), "meta"), "failed-nodes"), 0);
    const char *detail = json_string_value(json_object_get(e, "detail"));
    if (detail == NULL) fail_msg("%s: no failed-nodes[0].detail: %.2000s", r->url, r->body);
    return detail;
}

/* Node 1 good, node 2 the harness's fake node (the test scripts its
 * replies), and a server. */
static h_proc *start_with_fake(h_proc **good, h_fake_node **fake)
{
    const char *db = h_db_path();
    h_add_pop(db, 1);
    *good = start_good(db);
    json_t *none = json_array();
    *fake = h_fake_node_start(none);
    json_decref(none);
    h_add_node(db, 2, h_fake_node_addr(*fake), 1);
    return h_start_server(db, "--node-timeout-ms", "2000", NULL);
}

/* A node whose netstring header announces 2 GiB, 4 GiB, the largest 64-bit
 * length, or more than fits in 64 bits: refused at the header, and the
 * detail says what it announced (it said "reply of 0 bytes"). */
static void test_huge_announced_length(void **state)
{
    static const struct {
        const char *header;
        const char *detail;
    } cases[] = {
        {"2147483648:", "reply announces 2147483648 bytes; the limit is 67108864"},
        {"4294967296:", "reply announces 4294967296 bytes; the limit is 67108864"},
        {"18446744073709551615:", "reply announces 18446744073709551615 bytes; the limit is 67108864"},
        {"18446744073709551616:",
         "reply announces more than 18446744073709551615 bytes; the limit is 67108864"},
        {"99999999999999999999999999999999:",
         "reply announces more than 18446744073709551615 bytes; the limit is 67108864"},
    };
    h_proc *good;
    h_fake_node *liar;
    h_proc *server = start_with_fake(&good, &liar);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        h_fake_node_reply_raw(
            liar, h_strf("%s{\"jsonrpc\":\"2.0\",\"id\":@ID@,\"result\":[", cases[i].header), false);
        h_response *r = h_listing(server, NULL);
        h_assert_listing(r, SEED_IDS, "2/node-2/reply-too-large");
        assert_string_equal(first_failed_detail(r), cases[i].detail);
    }
    assert_int_equal(h_stop(server), 0);
    stop_ok(good);
}

/* A record that repeats a field the API keeps makes its node's reply
 * invalid (docs/API.md), as a repeated envelope member does; a repeated
 * field nobody reads is fine. */
static void test_repeated_record_field(void **state)
{
    h_proc *good;
    h_fake_node *node;
    h_proc *server = start_with_fake(&good, &node);
    h_fake_node_reply_raw(node,
                          "{\"jsonrpc\":\"2.0\",\"id\":@ID@,\"result\":[{\"local_tag\":\"n2-a\"},"
                          "{\"local_tag\":\"n2-b\",\"duration\":5,\"customer_id\":1,\"duration\":7}]}",
                          true);
    h_response *r = h_listing(server, NULL);
    h_assert_listing(r, SEED_IDS, "2/node-2/invalid-reply");
    assert_string_equal(first_failed_detail(r), "duplicate key \"duration\" in call record 2");

    h_fake_node_reply_raw(node,
                          "{\"jsonrpc\":\"2.0\",\"id\":@ID@,\"result\":[{\"local_tag\":\"n2-a\","
                          "\"global_tag\":\"x\",\"global_tag\":\"y\"}]}",
                          true);
    h_assert_listing(h_listing(server, NULL), SEED_IDS ",2*n2-a", NULL);
    assert_int_equal(h_stop(server), 0);
    stop_ok(good);
}

/* The client side of every TCP connection to 127.0.0.1:port, from
 * /proc/net/tcp, as a bitmap of local ports: set[local_port] = state
 * (1 = ESTABLISHED, 6 = TIME_WAIT, ...; 0 = none). Linux only. */
static void tcp_clients_of(int port, unsigned char *set /* [65536] */)
{
    memset(set, 0, 65536);
    FILE *f = fopen("/proc/net/tcp", "r");
    if (f == NULL) fail_msg("cannot read /proc/net/tcp");
    char line[512];
    if (fgets(line, sizeof line, f) == NULL) { /* header */
        fclose(f);
        fail_msg("empty /proc/net/tcp");
    }
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned laddr, lport, raddr, rport, st;
        if (sscanf(line, " %*d: %8X:%4X %8X:%4X %2X", &laddr, &lport, &raddr, &rport, &st) != 5) continue;
        if ((int)rport == port && raddr == 0x0100007Fu) /* 127.0.0.1, little-endian hex */
            set[lport] = (unsigned char)st;
    }
    fclose(f);
}

/* Three listings over one persistent connection: exactly one connection
 * to the node is opened, and it stays established. (nodesim does not log
 * accepted connections, so the kernel's socket table is the witness.) */
static void test_connection_reuse(void **state)
{
    const char *db = h_db_path();
    h_add_pop(db, 1);
    h_proc *node = start_good(db);
    h_proc *server = h_start_server(db, NULL);
    static unsigned char before[65536], after[65536];
    tcp_clients_of(node->port, before);

    h_assert_listing(h_listing(server, NULL), SEED_IDS, NULL);
    h_assert_listing(h_listing(server, NULL), SEED_IDS, NULL);
    h_assert_listing(h_listing(server, "filter[id]=" SEED_IDS), SEED_IDS, NULL);

    tcp_clients_of(node->port, after);
    int opened = 0, established = 0;
    for (int p = 0; p < 65536; p++) {
        if (after[p] != 0 && after[p] != before[p]) {
            opened++;
            established += after[p] == 1;
            if (after[p] != 1)
                fprintf(stderr, "connection from port %d to the node in state %d\n", p, after[p]);
        }
    }
    if (opened != 1 || established != 1)
        fail_msg("three listings opened %d connection(s) to the node (%d established); "
                 "expected one persistent connection",
                 opened, established);

    assert_int_equal(h_stop(server), 0);
    assert_int_equal(h_stop(node), 0);
}

/* A node restarted on the same port: the server's pooled connection is
 * dead; the next request must replace it and succeed. */
static void test_node_restart(void **state)
{
    const char *db = h_db_path();
    h_add_pop(db, 1);
    h_proc *node = start_good(db);
    int port = node->port;
    h_proc *server = h_start_server(db, "--node-timeout-ms", "2000", NULL);

    h_assert_listing(h_listing(server, NULL), SEED_IDS, NULL);
    assert_int_equal(h_stop(node), 0);
    node = h_start_nodesim_on(port, 1, 1, "--calls-file", h_data_path("seed_calls.json"), NULL);
    h_assert_listing(h_listing(server, NULL), SEED_IDS, NULL);

    /* Down for a request, then back. */
    assert_int_equal(h_stop(node), 0);
    h_assert_listing(h_listing(server, NULL), "", "1/node-1/connection-refused");
    node = h_start_nodesim_on(port, 1, 1, "--calls-file", h_data_path("seed_calls.json"), NULL);
    h_assert_listing(h_listing(server, NULL), SEED_IDS, NULL);
    h_assert_listing(h_listing(server, NULL), SEED_IDS, NULL);

    assert_int_equal(h_stop(server), 0);
    assert_int_equal(h_stop(node), 0);
}

/* test_one_fault once per mode, each under its own name. */
#define FAULT_TEST(i, label)                                                                 \
    {                                                                                        \
        .name = "test_one_fault_" label, .test_func = test_one_fault, .setup_func = h_setup, \
        .teardown_func = h_teardown, .initial_state = (void *)&FAULTS[i]                     \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_all_faults_at_once, h_setup, h_teardown),
        FAULT_TEST(0, "refused"),
        FAULT_TEST(1, "blackhole"),
        FAULT_TEST(2, "delay_beyond_deadline"),
        FAULT_TEST(3, "close"),
        FAULT_TEST(4, "garbage"),
        FAULT_TEST(5, "oversize"),
        cmocka_unit_test_setup_teardown(test_delay_below_deadline, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_reply_too_large, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_huge_announced_length, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_repeated_record_field, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_connection_reuse, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_node_restart, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
