/* it_nodesim: the simulated node's own methods, spoken to directly in
 * netstring JSON-RPC on loopback (docs/CONTRACT.md §7): yeti.show.calls.filtered
 * with and without WHERE (only the named fields come back, in name order),
 * every refusal as a JSON-RPC error 500 with the node's words and
 * "data":null, duration rules on connected and unconnected calls,
 * yeti.show.calls.fields, yeti.show.calls.count, and --log-requests (one
 * line per request, whatever the params hold). No timings are asserted:
 * the calls' connect times are minutes away from every rule's bound. */
#include "harness.h"
#include "util/buf.h"

#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAG_RECENT "rec-100s" /* connected 100 s before the test starts */
#define TAG_OLD "old-5000s"   /* connected 5000 s before */
#define TAG_RINGING "ring-0"  /* not connected: connect_time 0 */

/* Writes the three calls to <tmpdir>/calls.json and starts a node serving
 * them, with the extra arguments. */
static h_proc *start_three(const char *extra)
{
    double now = (double)time(NULL);
    json_t *calls =
        json_pack("[{s:i,s:i,s:f,s:f,s:f,s:f,s:s,s:i,s:i,s:s,s:s,s:n},"
                  " {s:i,s:i,s:f,s:f,s:f,s:f,s:s,s:i,s:i,s:s,s:s,s:s},"
                  " {s:i,s:i,s:f,s:i,s:n,s:f,s:s,s:i,s:i,s:s,s:s,s:n}]",
                  "node_id", 4, "pop_id", 2, "start_time", now - 130, "connect_time", now - 100.5, "duration",
                  100.5, "end_time", 0.0, "local_tag", TAG_RECENT, "attempt_num", 1, "customer_id", 5,
                  "dst_prefix_in", "38067", "src_name_in", "O'Brien \"the caller\"", "lrn", /**/
                  "node_id", 4, "pop_id", 2, "start_time", now - 5030, "connect_time", now - 5000.25,
                  "duration", 5000.25, "end_time", 0.0, "local_tag", TAG_OLD, "attempt_num", 2, "customer_id",
                  7, "dst_prefix_in", "4930", "src_name_in", "Alice", "lrn", "4930123", /**/
                  "node_id", 4, "pop_id", 2, "start_time", now - 10, "connect_time", 0, "duration",
                  "end_time", 0.0, "local_tag", TAG_RINGING, "attempt_num", 1, "customer_id", 5,
                  "dst_prefix_in", "38067", "src_name_in", "", "lrn");
    assert_non_null(calls);
    const char *path = h_strf("%s/calls.json", h_tmpdir());
    assert_int_equal(json_dump_file(calls, path, 0), 0);
    json_decref(calls);
    if (extra) return h_start_nodesim(4, 2, "--calls-file", path, extra, NULL);
    return h_start_nodesim(4, 2, "--calls-file", path, NULL);
}

static json_t *result_of(json_t *reply, const char *what)
{
    json_t *res = json_object_get(reply, "result");
    if (!res) fail_msg("%s: no result: %s", what, json_dumps(reply, JSON_COMPACT));
    assert_int_equal(json_integer_value(json_object_get(reply, "id")), 7);
    return res;
}

static json_t *filtered(const h_proc *node, const char *params)
{
    return result_of(h_node_rpc(node->addr, "yeti.show.calls.filtered", params), params);
}

/* "tag1,tag2,..." of a filtered result's records, in order. */
static const char *tags(const json_t *records)
{
    const char *out = "";
    size_t i;
    json_t *r;
    json_array_foreach(records, i, r)
    {
        const char *t = json_string_value(json_object_get(r, "local_tag"));
        if (!t) fail_msg("record %zu has no local_tag string", i);
        out = h_strf("%s%s%s", out, i ? "," : "", t);
    }
    return out;
}

static void assert_tags(const h_proc *node, const char *params, const char *want)
{
    const char *got = tags(filtered(node, params));
    if (strcmp(got, want) != 0) fail_msg("%s: got [%s], want [%s]", params, got, want);
}

/* A JSON-RPC error 500 with exactly the node's message and "data":null. */
static void assert_refused(const h_proc *node, const char *params, const char *message)
{
    json_t *reply = h_node_rpc(node->addr, "yeti.show.calls.filtered", params);
    json_t *err = json_object_get(reply, "error");
    if (!json_is_object(err)) fail_msg("%s: not refused: %s", params, json_dumps(reply, JSON_COMPACT));
    assert_null(json_object_get(reply, "result"));
    assert_int_equal(json_integer_value(json_object_get(reply, "id")), 7);
    assert_string_equal(h_keys(err), "code,message,data");
    assert_int_equal(json_integer_value(json_object_get(err, "code")), 500);
    assert_true(json_is_null(json_object_get(err, "data")));
    const char *got = json_string_value(json_object_get(err, "message"));
    if (!got || strcmp(got, message) != 0) fail_msg("%s: message \"%s\", want \"%s\"", params, got, message);
}

static void test_filtered(void **state)
{
    h_proc *node = start_three(NULL);

    /* no WHERE: every call, only the named fields, in name order */
    json_t *all = filtered(node, "[\"local_tag\",\"lrn\",\"customer_id\",\"local_tag\",\"versions\"]");
    assert_string_equal(tags(all), TAG_RECENT "," TAG_OLD "," TAG_RINGING);
    size_t i;
    json_t *r;
    json_array_foreach(all, i, r) assert_string_equal(h_keys(r), "customer_id,local_tag,lrn");
    json_t *old = json_array_get(all, 1);
    assert_int_equal(json_integer_value(json_object_get(old, "customer_id")), 7);
    assert_string_equal(json_string_value(json_object_get(old, "lrn")), "4930123");
    /* a text routing field the call has no value for is "" */
    assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "lrn")), "");

    json_t *times = filtered(node, "[\"duration\",\"connect_time\"]");
    json_array_foreach(times, i, r) assert_string_equal(h_keys(r), "connect_time,duration");
    assert_true(json_is_null(json_object_get(json_array_get(times, 2), "duration")));

    /* rules, ANDed */
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"customer_id=5\"]", TAG_RECENT "," TAG_RINGING);
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"customer_id!=5\"]", TAG_OLD);
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"customer_id=5\",\"attempt_num=1\",\"dst_prefix_in=38067\"]",
                TAG_RECENT "," TAG_RINGING);
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"attempt_num>=2\"]", TAG_OLD);
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"src_name_in=O'Brien \\\"the caller\\\"\"]", TAG_RECENT);
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"lrn!=x\"]", TAG_OLD); /* null meets neither = nor != */
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"customer_id=9\"]", "");

    /* duration rules: on connected calls only */
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"duration>50\"]", TAG_RECENT "," TAG_OLD);
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"duration>1000\"]", TAG_OLD);
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"duration<1000\"]", TAG_RECENT);
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"duration>=0\"]", TAG_RECENT "," TAG_OLD);
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"duration!=3\"]", TAG_RECENT "," TAG_OLD);
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"duration<1000000\",\"attempt_num=1\"]", TAG_RECENT);
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"connect_time>0\"]", TAG_RECENT "," TAG_OLD);
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"connect_time!=1\"]", TAG_RECENT "," TAG_OLD);

    /* the rules' fields are read, not written */
    json_t *one = filtered(node, "[\"attempt_num\",\"WHERE\",\"duration>1000\",\"customer_id=7\"]");
    assert_int_equal(json_array_size(one), 1);
    assert_string_equal(h_keys(json_array_get(one, 0)), "attempt_num");

    assert_int_equal(h_node_count(node->addr), 3);
    assert_int_equal(h_stop(node), 0);
}

static void test_refusals(void **state)
{
    h_proc *node = start_three(NULL);
    assert_refused(node, "[]", "you should specify at least one field");
    assert_refused(node, "[\"local_tag\",7]", "unexpected input");
    assert_refused(node, "[\"WHERE\",\"duration>5\"]", "found WHERE in wrong place");
    assert_refused(node, "[\"local_tag\",\"WHERE\"]", "no rules defined after WHERE");
    assert_refused(node, "[\"local_tag\",\"WHERE\",\"du\"]", "can't parse rule: du");
    assert_refused(node, "[\"local_tag\",\"WHERE\",\"duration\"]", "can't parse rule: duration");
    assert_refused(node, "[\"local_tag\",\"WHERE\",\"ab!x1\"]", "can't parse rule: ab!x1");
    assert_refused(node, "[\"local_tag\",\"WHERE\",\"abc>=\"]", "can't parse rule: abc>=");
    assert_refused(node, "[\"local_tag\",\"WHERE\",\"color=red\"]", "unknown field color in WHERE clause");
    assert_refused(node, "[\"local_tag\",\"WHERE\",\"local_tag=x\"]",
                   "field local_tag is known but unsupported");
    assert_refused(node, "[\"local_tag\",\"WHERE\",\"dst_prefix_in>3\"]",
                   "condition > for dynamic field dst_prefix_in is not implemented");
    assert_refused(node, "[\"local_tag\",\"WHERE\",\"customer_id=five\"]", "can't cast 'five' to integer");
    assert_refused(node, "[\"local_tag\",\"WHERE\",\"destination_id=x\"]",
                   "can't cast 'x' to long long integer");
    assert_refused(node, "[\"local_tag\",\"WHERE\",\"duration>long\"]", "can't cast 'long' to double");
    assert_refused(node, "[\"local_tag\",\"color\",\"ruri\"]",
                   "passed one or more unknown fields:['color', 'ruri']");
    /* the node still answers afterwards */
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"customer_id=7\"]", TAG_OLD);
    assert_int_equal(h_stop(node), 0);
}

/* On generated calls: duration>=0 picks exactly the connected ones. */
static void test_generated(void **state)
{
    h_proc *node = h_start_nodesim(3, 1, "--calls", "40", "--seed", "11", NULL);
    json_t *calls = result_of(h_node_rpc(node->addr, "yeti.show.calls", "[]"), "show.calls");
    assert_int_equal(json_array_size(calls), 40);
    const char *connected = "", *every = "";
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        const char *t = json_string_value(json_object_get(c, "local_tag"));
        every = h_strf("%s%s%s", every, i ? "," : "", t);
        if (json_number_value(json_object_get(c, "connect_time")) != 0)
            connected = h_strf("%s%s%s", connected, *connected ? "," : "", t);
    }
    assert_true(strlen(connected) > 0 && strcmp(connected, every) != 0);
    assert_tags(node, "[\"local_tag\"]", every);
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"duration>=0\"]", connected);
    assert_tags(node, "[\"local_tag\",\"WHERE\",\"connect_time>0\"]", connected);

    /* every field the listing names can be asked for */
    json_t *fields = result_of(h_node_rpc(node->addr, "yeti.show.calls.fields", "[]"), "fields");
    const char *names = "";
    const char *name;
    json_t *v;
    json_object_foreach(fields, name, v) names = h_strf("%s%s\"%s\"", names, *names ? "," : "", name);
    json_t *full = filtered(node, h_strf("[%s]", names));
    assert_int_equal(json_array_size(full), 40);
    /* all but versions, which a node never writes */
    assert_int_equal(json_object_size(json_array_get(full, 0)), json_object_size(fields) - 1);
    assert_int_equal(h_stop(node), 0);
}

static void test_fields(void **state)
{
    h_proc *node = h_start_nodesim(1, 1, "--calls", "2", NULL);
    json_t *fields = result_of(h_node_rpc(node->addr, "yeti.show.calls.fields", "[]"), "fields");
    assert_true(json_is_object(fields));
    const char *prev = "";
    const char *name;
    json_t *v;
    size_t dynamic = 0;
    json_object_foreach(fields, name, v)
    {
        if (strcmp(prev, name) >= 0) fail_msg("fields out of order: %s after %s", name, prev);
        prev = name;
        assert_string_equal(h_keys(v), "is_dynamic,type");
        assert_true(json_is_string(json_object_get(v, "type")));
        assert_true(json_is_boolean(json_object_get(v, "is_dynamic")));
        dynamic += json_is_true(json_object_get(v, "is_dynamic"));
    }
    assert_true(dynamic > 0 && dynamic < json_object_size(fields));
    static const char *const want[][3] = {
        {"duration", "double", "false"},
        {"connect_time", "timestamp", "false"},
        {"attempt_num", "integer", "false"},
        {"local_tag", "string", "false"},
        {"versions", "json", "false"},
        {"customer_id", "integer", "true"},
        {"dialpeer_id", "bigint", "true"},
        {"destination_initial_rate", "numeric", "true"},
        {"src_prefix_routing", "varchar", "true"},
        {"auth_orig_ip", "inet", "true"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        json_t *f = json_object_get(fields, want[i][0]);
        if (!f) fail_msg("no field %s", want[i][0]);
        assert_string_equal(json_string_value(json_object_get(f, "type")), want[i][1]);
        assert_int_equal(json_is_true(json_object_get(f, "is_dynamic")), strcmp(want[i][2], "true") == 0);
    }
    /* params are not read */
    json_t *again = result_of(h_node_rpc(node->addr, "yeti.show.calls.fields", "[\"x\",1]"), "fields");
    assert_true(json_equal(again, fields));
    assert_int_equal(h_stop(node), 0);
}

/* The node's stderr log as lines that start with "nodesim request". */
static json_t *request_lines(const h_proc *node)
{
    FILE *f = fopen(node->log_path, "r");
    if (!f) fail_msg("cannot read %s", node->log_path);
    json_t *lines = h_own(json_array(), (void (*)(void *))json_decref);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n') line[--n] = '\0';
        if (strncmp(line, "nodesim request", 15) == 0)
            json_array_append_new(lines, json_stringn(line, (size_t)n));
    }
    free(line);
    fclose(f);
    return lines;
}

static void test_log_requests(void **state)
{
    h_proc *node = start_three("--log-requests");
    filtered(node, "[\"local_tag\",\"WHERE\",\"duration>5\"]");
    h_node_rpc(node->addr, "yeti.show.calls.count", "[]");
    /* params that hold line breaks of every kind stay on one line */
    h_node_rpc(node->addr, "yeti.show.calls", "[\"a\\nb\\r\",\"\\u2028\\u0085x\",{\"k\\n\":[1,2.5,null]}]");
    h_node_rpc(node->addr, "yeti show\\ncalls", "[]");
    assert_int_equal(h_stop(node), 0);

    json_t *lines = request_lines(node);
    static const char *const want[] = {
        "nodesim request method=yeti.show.calls.filtered params=[\"local_tag\",\"WHERE\",\"duration>5\"]",
        "nodesim request method=yeti.show.calls.count params=[]",
        "nodesim request method=yeti.show.calls "
        "params=[\"a\\nb\\r\",\"\\u2028\\u0085x\",{\"k\\n\":[1,2.5,null]}]",
        "nodesim request method=\"yeti show\\ncalls\" params=[]",
    };
    assert_int_equal(json_array_size(lines), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *got = json_string_value(json_array_get(lines, i));
        if (strcmp(got, want[i]) != 0) fail_msg("line %zu:\n got  %s\n want %s", i, got, want[i]);
    }

    /* without the option, no such lines */
    h_proc *quiet = start_three(NULL);
    filtered(quiet, "[\"local_tag\"]");
    assert_int_equal(h_stop(quiet), 0);
    assert_int_equal(json_array_size(request_lines(quiet)), 0);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    buf b;
    buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&b, chunk, n);
    fclose(f);
    buf_putc(&b, '\0');
    char *s = h_strf("%s", b.data);
    buf_free(&b);
    return s;
}

/* --churn --churn-log: a `boot` line when a process starts (the log is
 * appended to, so a restarted node goes on with its record), every start,
 * connect and end, one line each with its time (a call going on at
 * startup: its own start, in the past), and a `list` line per listing of
 * all calls; no end or connect without its start, no start twice since
 * the last boot; and the calls the log says are going on at the last
 * listing's line are exactly those that listing returned. Two processes,
 * one after the other, on the same log. */
static void test_churn_log(void **state)
{
    const char *log = h_strf("%s/churn.log", h_tmpdir());
    json_t *listed = NULL;
    char *text = NULL;
    int listings = 0;
    for (int run = 0; run < 2; run++) {
        h_proc *node = h_start_nodesim(1, 1, "--calls", "20", "--seed", run ? "99" : "1", "--churn",
                                       "--churn-log", log, NULL);
        double end = h_now_ms() + 20000;
        for (;;) { /* until a call of this process has ended (churn runs every 200 ms) */
            if (h_now_ms() > end) fail_msg("no call ended within 20 s");
            usleep(300 * 1000);
            listed = result_of(h_node_rpc(node->addr, "yeti.show.calls", "[]"), "show.calls");
            listings++;
            text = read_file(log);
            const char *boot = strstr(text, " boot\n");
            if (run == 1 && boot) boot = strstr(boot + 1, " boot\n");
            if (boot && strstr(boot, " end ")) break;
        }
        /* tagged listings are no `list` */
        result_of(h_node_rpc(node->addr, "yeti.show.calls", "[\"no-such-tag\"]"), "show.calls");
        assert_int_equal(h_stop(node), 0);
    }
    text = read_file(log);
    /* replay the log */
    json_t *live = json_object(), *at_list = NULL;
    int starts = 0, connects = 0, ends = 0, lists = 0, boots = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        long long us;
        char what[16], tag[128] = "";
        int got = sscanf(line, "%lld %15s %127s", &us, what, tag);
        if (got == 2 && strcmp(what, "list") == 0) {
            lists++;
            if (at_list) json_decref(at_list);
            at_list = json_deep_copy(live);
            continue;
        }
        if (got == 2 && strcmp(what, "boot") == 0) {
            if (boots == 0 && (starts || lists)) fail_msg("the log does not begin with boot");
            boots++;
            json_object_clear(live);
            continue;
        }
        if (got != 3) fail_msg("bad line: %s", line);
        if (us <= 0) fail_msg("no time: %s", line);
        if (boots == 0) fail_msg("a line before the first boot: %s", line);
        bool known = json_object_get(live, tag) != NULL;
        if (strcmp(what, "start") == 0) {
            if (known) fail_msg("started twice: %s", tag);
            json_object_set_new(live, tag, json_true());
            starts++;
        } else if (strcmp(what, "connect") == 0) {
            if (!known) fail_msg("connect before start: %s", tag);
            connects++;
        } else if (strcmp(what, "end") == 0) {
            if (!known) fail_msg("end before start: %s", tag);
            json_object_del(live, tag);
            ends++;
        } else {
            fail_msg("unknown kind: %s", line);
        }
    }
    assert_int_equal(boots, 2);
    assert_true(starts >= 40 && ends >= 2 && connects >= 1);
    assert_int_equal(lists, listings);
    assert_non_null(at_list);
    assert_int_equal(json_object_size(at_list), json_array_size(listed));
    size_t i;
    json_t *c;
    json_array_foreach(listed, i, c)
    {
        const char *tag = json_string_value(json_object_get(c, "local_tag"));
        if (!tag || !json_object_get(at_list, tag))
            fail_msg("listed but not live in the log: %s", tag ? tag : "?");
    }
    json_decref(live);
    json_decref(at_list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_filtered, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_generated, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_fields, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_log_requests, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_churn_log, h_setup, h_teardown),
        /* no h_test_validate_documents: no HTTP document is asked for here */
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
