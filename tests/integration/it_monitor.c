/* it_monitor: the calls monitor end to end (docs/API.md, "The calls
 * monitor"): yeti-web's CallsMonitoring rules judged by `serve --monitor`
 * on real simulated nodes serving crafted calls (nodesim --calls-file, so
 * every duration, rate and flag is as written), against yeti's tables
 * filled by `demo-data` and edited by the test between runs.
 *
 * Every decision is checked three ways: the nodes' own record of the
 * disconnects they received (nodesim --log-requests lines
 * `method=yeti.request.call.disconnect params=["<tag>"]`), the server's
 * `msg=monitor-decision` log lines, and GET
 * /api/rest/admin/monitor-decisions (plus /metrics where it says more).
 *
 *  - test_rules_dry_run: each rule of the table on two nodes (account
 *    missing on either side, contractor not a customer / not a vendor /
 *    disabled, customers auth rejecting, originating and terminating
 *    gateway disabled or not allowed, the four balance rules), with calls
 *    that must stay beside them (not checked, reverse-billed under the
 *    minimum, normal above the maximum...): each decided with
 *    outcome=dry-run once (not again while the node lists the call), the
 *    right account and side, nothing sent to a node;
 *    the listing API (filters, paging, refusals) and the metrics.
 *  - test_rules_enforce: the same calls with --monitor enforce: one
 *    disconnect per call to drop, at its node, none for the calls that
 *    stay, one decision each with outcome=dropped.
 *  - test_skip: --monitor-skip switches rules off, the others still apply.
 *  - test_random_disconnect: --monitor-random-after-s drops only calls
 *    longer than S (dry-run, then enforce).
 *  - test_vat: the customer side's cost includes the call's VAT: a balance
 *    that covers the calls without it but not with it is dropped (yeti's
 *    own job would keep it); the decision's numbers (cost, projected), and
 *    a cost in 60 s intervals, the next ones rounded up.
 *  - test_store_error: yeti's gateways table unreadable: runs skipped
 *    (msg=monitor-skip reason=store), nothing decided; back: judged again.
 *  - test_outcomes: a node's "call not found" (404) is not-found, done
 *    and not asked again; another error is failed.
 *  - test_node_failure: one of two nodes stops: the accounts it carried are
 *    incomplete and not judged by the balance rules (incomplete=1 logged),
 *    nothing is sent for them; the other node's calls are still judged
 *    (a balance rule on an account of its own, a gateway disabled).
 *  - test_cap: --monitor-max-drops 2 with 3 calls to drop: nothing dropped,
 *    msg=monitor-cap at error level, activecalls_monitor_cap_exceeded_total,
 *    decisions with outcome=capped; with 2 left to drop, they are dropped.
 *  - test_balance_changes: an account fine, then lowered below its minimum
 *    in the database (its calls dropped at the next runs), then raised back
 *    (a new call of it, on the node restarted, stays).
 *  - test_pg_two_instances (only with $ACTIVECALLS_TEST_PG, as it_history):
 *    two enforcing instances on one PostgreSQL and the same nodes: one
 *    disconnect per call, decisions logged by one instance only; the runner
 *    killed, the other takes over and judges a balance lowered in
 *    billing.accounts (libpq).
 *
 * Waits are bounded polls on conditions (WAIT_MS fails a hung test); the
 * runs are frequent (--refresh-ms 200 --monitor-interval-ms 500), and
 * "nothing more happens" is checked after a number of further runs, counted
 * from the server's msg=monitor-run lines. */
#include "harness.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 20000 /* a bound for what should take a second or two */
#define DECISIONS "/api/rest/admin/monitor-decisions"

/* Polls cond every 100 ms; fails the test (message: the printf arguments)
 * after WAIT_MS. */
#define WAIT_FOR(cond, ...)                                        \
    do {                                                           \
        double t0_ = h_now_ms();                                   \
        while (!(cond)) {                                          \
            if (h_now_ms() - t0_ > WAIT_MS) fail_msg(__VA_ARGS__); \
            usleep(100 * 1000);                                    \
        }                                                          \
    } while (0)

/* ---- crafted calls ------------------------------------------------------------------ */

/* One call as a node reports it: the fields the monitor reads, chosen. */
typedef struct mcall {
    const char *tag;
    int node;
    int cacc, auth, ogw; /* customer account, customers auth, originating gateway */
    int vacc, tgw;       /* vendor account, terminating gateway */
    bool check;          /* customer_acc_check_balance */
    bool rev;            /* destination_reverse_billing and dialpeer_reverse_billing */
    const char *dfee;    /* destination_fee (NULL: "0.0") */
    const char *dpfee;   /* dialpeer_fee (NULL: "0.0") */
    double duration;     /* 0: 30 s */
    const char *rule;    /* the rule that must drop it, NULL: it stays */
    int acc;             /* the decision's account (0: not checked) */
    const char *side;    /* the decision's side (NULL: not checked) */
    const char *vat;     /* customer_acc_vat (NULL: "0.0") */
    const char *rate;    /* destination and dialpeer rates (NULL: 0.01 / 0.005) */
    int ival;            /* initial and next intervals (0: 1 s) */
} mcall;

/* A record shaped as the simulator's generated ones (strings for rates and
 * VAT, as yeti's nodes send them); the chosen fields are set over it. */
static const char *const BASE_RECORD =
    "{\"pop_id\":1,\"end_time\":0,\"time_limit\":7200,\"global_tag\":\"G\","
    "\"orig_call_id\":\"1-2-3\",\"term_call_id\":\"4-5-6\",\"legA_remote_ip\":\"192.168.81.7\","
    "\"legA_remote_port\":5060,\"legB_remote_ip\":\"192.168.86.7\",\"legB_remote_port\":5060,"
    "\"attempt_num\":1,\"dump_level_id\":0,\"audio_record_enabled\":false,\"disconnect_code\":0,"
    "\"disconnect_reason\":\"\",\"customer_external_id\":null,\"vendor_external_id\":null,"
    "\"customer_acc_external_id\":null,\"vendor_acc_external_id\":null,\"destination_id\":1,"
    "\"dialpeer_id\":1,\"routing_group_id\":1,\"routing_plan_id\":1,\"rateplan_id\":1,"
    "\"src_country_id\":1,\"src_network_id\":1,\"dst_country_id\":1,\"dst_network_id\":1,"
    "\"dst_prefix_in\":\"380501234567\",\"dst_prefix_routing\":\"380501234567\","
    "\"dst_prefix_out\":\"380501234567\",\"src_prefix_in\":\"442079460101\","
    "\"src_prefix_routing\":\"442079460101\",\"src_prefix_out\":\"442079460101\","
    "\"destination_rate_policy_id\":1,\"destination_prefix\":\"380\",\"dialpeer_prefix\":\"380\","
    "\"legA_user_agent\":\"it\",\"legB_user_agent\":\"it\"}";

static json_t *record(const mcall *c)
{
    json_error_t jerr;
    json_t *r = json_loads(BASE_RECORD, JSON_REJECT_DUPLICATES, &jerr);
    if (!r) fail_msg("BASE_RECORD: %s", jerr.text);
    double dur = c->duration > 0 ? c->duration : 30.0;
    double now = (double)time(NULL);
    const char *rate_d = c->rate ? c->rate : "0.01", *rate_v = c->rate ? c->rate : "0.005";
    json_object_set_new(r, "local_tag", json_string(c->tag));
    json_object_set_new(r, "node_id", json_integer(c->node));
    json_object_set_new(r, "local_time", json_real(now - dur - 5));
    json_object_set_new(r, "cdr_born_time", json_real(now - dur - 5));
    json_object_set_new(r, "start_time", json_real(now - dur - 5));
    json_object_set_new(r, "connect_time", json_real(now - dur));
    json_object_set_new(r, "duration", json_real(dur));
    json_object_set_new(r, "customer_id", json_integer(c->cacc));
    json_object_set_new(r, "customer_acc_id", json_integer(c->cacc));
    json_object_set_new(r, "customer_auth_id", json_integer(c->auth));
    json_object_set_new(r, "orig_gw_id", json_integer(c->ogw));
    json_object_set_new(r, "vendor_id", json_integer(c->vacc));
    json_object_set_new(r, "vendor_acc_id", json_integer(c->vacc));
    json_object_set_new(r, "term_gw_id", json_integer(c->tgw));
    json_object_set_new(r, "customer_acc_check_balance", json_boolean(c->check));
    json_object_set_new(r, "customer_acc_vat", json_string(c->vat ? c->vat : "0.0"));
    json_object_set_new(r, "destination_fee", json_string(c->dfee ? c->dfee : "0.0"));
    int ival = c->ival ? c->ival : 1;
    json_object_set_new(r, "destination_initial_interval", json_integer(ival));
    json_object_set_new(r, "destination_initial_rate", json_string(rate_d));
    json_object_set_new(r, "destination_next_interval", json_integer(ival));
    json_object_set_new(r, "destination_next_rate", json_string(rate_d));
    json_object_set_new(r, "destination_reverse_billing", json_boolean(c->rev));
    json_object_set_new(r, "dialpeer_fee", json_string(c->dpfee ? c->dpfee : "0.0"));
    json_object_set_new(r, "dialpeer_initial_interval", json_integer(ival));
    json_object_set_new(r, "dialpeer_initial_rate", json_string(rate_v));
    json_object_set_new(r, "dialpeer_next_interval", json_integer(ival));
    json_object_set_new(r, "dialpeer_next_rate", json_string(rate_v));
    json_object_set_new(r, "dialpeer_reverse_billing", json_boolean(c->rev));
    return h_own(r, (void (*)(void *))json_decref);
}

/* Writes node's calls of cs[0..n) to <tmpdir>/<name>; returns the path. */
static const char *calls_file(const char *name, const mcall *cs, size_t n, int node)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        if (cs[i].node == node) json_array_append(arr, record(&cs[i]));
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    assert_non_null(text);
    const char *path = h_write_file(name, text);
    free(text);
    return path;
}

/* A simulated node serving its calls of cs, logging every request, added
 * to db as node `node` (pop 1). */
static h_proc *start_node(const char *db, const mcall *cs, size_t n, int node)
{
    const char *file = calls_file(h_strf("calls-%d.json", node), cs, n, node);
    h_proc *p = h_start_nodesim(node, 1, "--calls-file", file, "--log-requests", NULL);
    h_add_node(db, node, p->addr, 1);
    return p;
}

/* ---- logs ---------------------------------------------------------------------------- */

/* Whether tok occurs in line[0..len) as a whole token (after the start or
 * a space, before a space or the end). */
static bool has_token(const char *line, size_t len, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i + tl <= len; i++) {
        if (memcmp(line + i, tok, tl) != 0) continue;
        if (i > 0 && line[i - 1] != ' ') continue;
        if (i + tl < len && line[i + tl] != ' ') continue;
        return true;
    }
    return false;
}

/* Lines of p's log holding every token given (NULL-terminated). */
static int count_lines(const h_proc *p, ...) __attribute__((sentinel));
static int count_lines(const h_proc *p, ...)
{
    const char *toks[8];
    size_t nt = 0;
    va_list ap;
    va_start(ap, p);
    for (const char *t; (t = va_arg(ap, const char *)) != NULL && nt < 8;) toks[nt++] = t;
    va_end(ap);
    FILE *f = fopen(p->log_path, "r");
    if (!f) return 0;
    int n = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n') len--;
        bool all = true;
        for (size_t i = 0; i < nt && all; i++) all = has_token(line, (size_t)len, toks[i]);
        n += all;
    }
    free(line);
    fclose(f);
    return n;
}

static const char *call_id(const mcall *c) { return h_strf("call_id=%d*%s", c->node, c->tag); }

/* Disconnect requests a node received for tag (NULL: for any call). */
static int disconnects(const h_proc *node, const char *tag)
{
    if (!tag) return count_lines(node, "method=yeti.request.call.disconnect", NULL);
    return count_lines(node, "method=yeti.request.call.disconnect", h_strf("params=[\"%s\"]", tag), NULL);
}

static int runs(const h_proc *srv) { return count_lines(srv, "msg=monitor-run", NULL); }

static int decisions_of(const h_proc *srv, const mcall *c)
{
    return count_lines(srv, "msg=monitor-decision", call_id(c), NULL);
}

/* Waits for k more runs of the monitor (its msg=monitor-run lines). */
static void more_runs(const h_proc *srv, int k)
{
    int n0 = runs(srv);
    WAIT_FOR(runs(srv) >= n0 + k, "fewer than %d more monitor runs after %d ms", k, WAIT_MS);
}

/* ---- databases ----------------------------------------------------------------------- */

static void sql_exec(const char *db, const char *sql)
{
    sqlite3 *d = NULL;
    assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
    sqlite3_busy_timeout(d, 5000);
    char *err = NULL;
    if (sqlite3_exec(d, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %.300s", err, sql);
    sqlite3_close(d);
}

/* yeti's tables with the demo data set (docs: src/store/demo_data.c,
 * src/model/demo_ids.h), and pop 1. Customer accounts 1..4 (min 0, max
 * 100000; balances 1520.75, 18250.00, 342.10, -12.40), vendor accounts 5..8
 * (min -50000, max 0; -3250.40, -780.15, -12045.90, -96.00); gateways 1..4
 * originate only, 5..8 terminate only; auth N of account N. */
static void demo_db(const char *db)
{
    h_add_pop(db, 1);
    char *out = NULL, *err = NULL;
    if (h_cli(&out, &err, "demo-data", "--db", db, NULL) != 0) fail_msg("demo-data: %s %s", out, err);
}

static h_proc *start_monitor(const char *db, const char *mode, ...) __attribute__((sentinel));
/* serve with frequent runs in mode, then the extra options (NULL-terminated,
 * at most 6). */
static h_proc *start_monitor(const char *db, const char *mode, ...)
{
    const char *x[7] = {NULL};
    va_list ap;
    va_start(ap, mode);
    for (int i = 0; i < 6 && (x[i] = va_arg(ap, const char *)) != NULL; i++) {}
    va_end(ap);
    return h_start_server(db, "--refresh-ms", "200", "--monitor-interval-ms", "500", "--monitor", mode, x[0],
                          x[1], x[2], x[3], x[4], x[5], NULL);
}

/* ---- the API and the metrics --------------------------------------------------------- */

static h_response *get_decisions(const h_proc *srv, const char *query)
{
    const char *const hdrs[] = {"Accept: application/vnd.api+json", NULL};
    return h_http("GET", h_url(srv, query && *query ? h_strf("%s?%s", DECISIONS, query) : DECISIONS), hdrs,
                  NULL);
}

/* data[] of GET monitor-decisions?query, asserting 200. */
static json_t *decisions(const h_proc *srv, const char *query)
{
    h_response *r = get_decisions(srv, query);
    if (r->status != 200) fail_msg("%s: %ld %s", r->url, r->status, r->body);
    json_t *data = json_object_get(h_json(r), "data");
    assert_true(json_is_array(data));
    return data;
}

static json_t *attr(json_t *res, const char *name)
{
    json_t *v = json_object_get(json_object_get(res, "attributes"), name);
    if (!v) fail_msg("decision without attribute %s", name);
    return v;
}

static const char *attr_s(json_t *res, const char *name)
{
    json_t *v = attr(res, name);
    if (!json_is_string(v)) fail_msg("attribute %s is not a string", name);
    return json_string_value(v);
}

static double attr_num(json_t *res, const char *name)
{
    json_t *v = attr(res, name);
    if (json_is_number(v)) return json_number_value(v);
    if (json_is_string(v)) return strtod(json_string_value(v), NULL);
    fail_msg("attribute %s is not a number", name);
    return 0;
}

/* The decisions in data whose call is "<node>*<tag>". */
static size_t decisions_for(json_t *data, const mcall *c)
{
    const char *id = h_strf("%d*%s", c->node, c->tag);
    size_t i, n = 0;
    json_t *d;
    json_array_foreach(data, i, d) n += strcmp(attr_s(d, "call-id"), id) == 0;
    return n;
}

/* The value of a metric series (its full name with labels, as written), or
 * -1 when /metrics does not have it. */
static double metric(const h_proc *srv, const char *series)
{
    const char *text = h_metrics_text(srv);
    const char *want = h_strf("\n%s ", series);
    const char *p = strstr(text, want);
    return p ? strtod(p + strlen(want), NULL) : -1;
}

static const char *decision_series(const char *rule, const char *outcome)
{
    return h_strf("activecalls_monitor_decisions_total{rule=\"%s\",outcome=\"%s\"}", rule, outcome);
}

/* ---- each rule ----------------------------------------------------------------------- */

/* The calls of the rules tests on nodes 1 and 2 (sums per account in the
 * comments: d = 30 s + 60 s ahead, 0.015 per call customer side at 0.01
 * a minute, 0.0075 vendor side at 0.005). */
static const mcall RULES[] = {
    /* stay: fine accounts, checked */
    {.tag = "keep-c1", .node = 1, .cacc = 1, .auth = 1, .ogw = 1, .vacc = 5, .tgw = 5, .check = true},
    {.tag = "keep-c2", .node = 2, .cacc = 2, .auth = 2, .ogw = 2, .vacc = 6, .tgw = 6, .check = true},
    /* stay: account 4 is below its minimum, but this call is not checked */
    {.tag = "keep-nocheck", .node = 1, .cacc = 4, .auth = 4, .ogw = 4, .vacc = 6, .tgw = 6},
    /* stay: account 4's reverse-billed call (the minimum drops normal calls) */
    {.tag = "keep-rev4",
     .node = 2,
     .cacc = 4,
     .auth = 4,
     .ogw = 4,
     .vacc = 7,
     .tgw = 6,
     .check = true,
     .rev = true},
    /* account 4: -12.40 - 0.015 + 0.015 < 0 */
    {.tag = "bal-cmin",
     .node = 1,
     .cacc = 4,
     .auth = 4,
     .ogw = 4,
     .vacc = 6,
     .tgw = 6,
     .check = true,
     .rule = "customer-min-balance",
     .acc = 4,
     .side = "customer"},
    /* account 2: 18250 - 0.015 + 90000.015 > 100000; keep-c2 (normal) stays */
    {.tag = "bal-cmax",
     .node = 2,
     .cacc = 2,
     .auth = 2,
     .ogw = 2,
     .vacc = 7,
     .tgw = 6,
     .check = true,
     .rev = true,
     .dfee = "90000",
     .rule = "customer-max-balance",
     .acc = 2,
     .side = "customer"},
    /* vendor 5: -3250.40 + 0.0075 - 50000.0075 < -50000; keep-c1 (normal) stays */
    {.tag = "bal-vmin",
     .node = 1,
     .cacc = 1,
     .auth = 1,
     .ogw = 1,
     .vacc = 5,
     .tgw = 5,
     .check = true,
     .rev = true,
     .dpfee = "50000",
     .rule = "vendor-min-balance",
     .acc = 5,
     .side = "vendor"},
    /* vendor 8: -96 + 100.0075 > 0 */
    {.tag = "bal-vmax",
     .node = 2,
     .cacc = 1,
     .auth = 1,
     .ogw = 1,
     .vacc = 8,
     .tgw = 8,
     .check = true,
     .dpfee = "100",
     .rule = "vendor-max-balance",
     .acc = 8,
     .side = "vendor"},
    /* accounts 99 and 98 are not in billing_accounts */
    {.tag = "miss-cust",
     .node = 1,
     .cacc = 99,
     .auth = 1,
     .ogw = 1,
     .vacc = 5,
     .tgw = 5,
     .rule = "account-missing",
     .acc = 99,
     .side = "customer"},
    {.tag = "miss-vend",
     .node = 2,
     .cacc = 1,
     .auth = 1,
     .ogw = 1,
     .vacc = 98,
     .tgw = 5,
     .rule = "account-missing",
     .acc = 98,
     .side = "vendor"},
    /* account 6's contractor is a vendor only, account 2's a customer only
     * (each is fine on its own side: keep-c2, bal-cmin), account 9's is
     * disabled (inserted by the test) */
    {.tag = "ctr-notcust",
     .node = 1,
     .cacc = 6,
     .auth = 1,
     .ogw = 1,
     .vacc = 5,
     .tgw = 5,
     .rule = "contractor-disabled",
     .acc = 6,
     .side = "customer"},
    {.tag = "ctr-notvend",
     .node = 2,
     .cacc = 1,
     .auth = 1,
     .ogw = 1,
     .vacc = 2,
     .tgw = 5,
     .rule = "contractor-disabled",
     .acc = 2,
     .side = "vendor"},
    {.tag = "ctr-off",
     .node = 1,
     .cacc = 9,
     .auth = 1,
     .ogw = 1,
     .vacc = 5,
     .tgw = 5,
     .rule = "contractor-disabled",
     .acc = 9,
     .side = "customer"},
    /* customers auth 3 rejects calls (set by the test) */
    {.tag = "auth-rejects",
     .node = 2,
     .cacc = 3,
     .auth = 3,
     .ogw = 1,
     .vacc = 5,
     .tgw = 5,
     .rule = "customer-auth-rejects"},
    /* gateway 5 does not originate; gateway 3 is disabled (by the test) */
    {.tag = "ogw-noorig",
     .node = 1,
     .cacc = 1,
     .auth = 1,
     .ogw = 5,
     .vacc = 6,
     .tgw = 6,
     .rule = "orig-gw-disabled"},
    {.tag = "ogw-off",
     .node = 2,
     .cacc = 1,
     .auth = 1,
     .ogw = 3,
     .vacc = 6,
     .tgw = 6,
     .rule = "orig-gw-disabled"},
    /* gateway 1 does not terminate; gateway 7 is disabled (by the test) */
    {.tag = "tgw-noterm",
     .node = 1,
     .cacc = 1,
     .auth = 1,
     .ogw = 1,
     .vacc = 5,
     .tgw = 1,
     .rule = "term-gw-disabled"},
    {.tag = "tgw-off",
     .node = 2,
     .cacc = 1,
     .auth = 1,
     .ogw = 1,
     .vacc = 5,
     .tgw = 7,
     .rule = "term-gw-disabled"},
};
#define N_RULES (sizeof RULES / sizeof RULES[0])

/* The demo data plus what the rules need: contractor 9 (a customer,
 * disabled) with account 9; customers auth 3 rejecting; gateways 3 and 7
 * disabled. Nodes 1 and 2 serving RULES. */
static void rules_setup(h_proc *node[2])
{
    const char *db = h_db_path();
    demo_db(db);
    sql_exec(db,
             "INSERT INTO public_contractors (id, name, enabled, vendor, customer) "
             "VALUES (9, 'Disabled Customer', 0, 0, 1);"
             "INSERT INTO billing_accounts (id, contractor_id, name, balance, min_balance, max_balance, vat, "
             "uuid) VALUES (9, 9, 'Disabled Customer prepaid', '10.00', '0.00', '1000.00', '0.0', "
             "'0b9e4c1a-6d2f-4e83-9a57-1c3e5f7a9b09');"
             "UPDATE class4_customers_auth SET reject_calls = 1 WHERE id = 3;"
             "UPDATE class4_gateways SET enabled = 0 WHERE id IN (3, 7);");
    node[0] = start_node(db, RULES, N_RULES, 1);
    node[1] = start_node(db, RULES, N_RULES, 2);
}

/* Every call of RULES with a rule has a decision with that outcome. */
static bool all_decided(const h_proc *srv, const char *outcome, const bool *skipped)
{
    for (size_t i = 0; i < N_RULES; i++) {
        const mcall *c = &RULES[i];
        if (!c->rule || (skipped && skipped[i])) continue;
        if (count_lines(srv, "msg=monitor-decision", call_id(c), h_strf("outcome=%s", outcome), NULL) == 0)
            return false;
    }
    return true;
}

/* The log lines of c's decisions all say its rule, account and side, in
 * mode `mode` with outcome `outcome`; there are some. */
static void assert_decision_lines(const h_proc *srv, const mcall *c, const char *mode, const char *outcome)
{
    int all = decisions_of(srv, c);
    if (all == 0) fail_msg("%s: no decision", c->tag);
    int right = count_lines(srv, "msg=monitor-decision", call_id(c), h_strf("rule=%s", c->rule),
                            h_strf("mode=%s", mode), h_strf("outcome=%s", outcome),
                            h_strf("node_id=%d", c->node), NULL);
    if (right != all)
        fail_msg("%s: %d of %d decisions are %s/%s/%s", c->tag, right, all, c->rule, mode, outcome);
    if (c->acc)
        assert_int_equal(count_lines(srv, "msg=monitor-decision", call_id(c), h_strf("account_id=%d", c->acc),
                                     h_strf("side=%s", c->side), NULL),
                         all);
}

static void test_rules_dry_run(void **state)
{
    (void)state;
    h_proc *node[2];
    rules_setup(node);
    h_proc *srv = start_monitor(h_db_path(), "dry-run", NULL);
    WAIT_FOR(all_decided(srv, "dry-run", NULL), "not every rule decided after %d ms", WAIT_MS);
    more_runs(srv, 3); /* each call reported once, while its node lists it; nothing sent */
    for (size_t i = 0; i < N_RULES; i++) {
        const mcall *c = &RULES[i];
        if (c->rule) {
            assert_decision_lines(srv, c, "dry-run", "dry-run");
            if (decisions_of(srv, c) != 1)
                fail_msg("%s: %d dry-run decisions, not 1", c->tag, decisions_of(srv, c));
        } else if (decisions_of(srv, c) != 0)
            fail_msg("%s must stay, yet it was decided", c->tag);
    }
    assert_int_equal(disconnects(node[0], NULL), 0);
    assert_int_equal(disconnects(node[1], NULL), 0);
    /* the nodes still have every call */
    assert_int_equal(h_node_count(node[0]->addr), 9);
    assert_int_equal(h_node_count(node[1]->addr), 9);

    /* the API: newest first, one resource per decision */
    json_t *data = decisions(srv, "page[size]=1000");
    assert_int_equal(json_array_size(data), 14);
    size_t i;
    json_t *d;
    double prev = INFINITY;
    json_array_foreach(data, i, d)
    {
        assert_string_equal(json_string_value(json_object_get(d, "type")), "monitor-decisions");
        assert_true(json_is_string(json_object_get(d, "id")));
        assert_string_equal(attr_s(d, "mode"), "dry-run");
        assert_string_equal(attr_s(d, "outcome"), "dry-run");
        assert_true(h_matches(attr_s(d, "time"), "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"));
        struct tm tm = {0};
        assert_non_null(strptime(attr_s(d, "time"), "%Y-%m-%dT%H:%M:%S", &tm));
        double t = (double)timegm(&tm);
        assert_true(t <= prev); /* newest first */
        prev = t;
    }
    for (size_t k = 0; k < N_RULES; k++) {
        const mcall *c = &RULES[k];
        size_t n = decisions_for(data, c);
        if (c->rule ? n == 0 : n != 0) fail_msg("%s: %zu decisions listed", c->tag, n);
    }
    /* filter[rule-eq]: that rule's calls only, with the numbers of a balance rule */
    data = decisions(srv, "filter[rule-eq]=customer-min-balance&page[size]=1000");
    assert_int_equal(json_array_size(data), 1);
    json_array_foreach(data, i, d)
    {
        assert_string_equal(attr_s(d, "rule"), "customer-min-balance");
        assert_string_equal(attr_s(d, "call-id"), "1*bal-cmin");
        assert_int_equal((long long)attr_num(d, "node-id"), 1);
        assert_int_equal((long long)attr_num(d, "account-id"), 4);
        assert_string_equal(attr_s(d, "side"), "customer");
        assert_true(fabs(attr_num(d, "balance") - -12.40) < 1e-6);
        assert_true(fabs(attr_num(d, "min-balance") - 0.0) < 1e-6);
        assert_true(fabs(attr_num(d, "max-balance") - 100000.0) < 1e-6);
        assert_true(fabs(attr_num(d, "cost") - 0.015) < 1e-6);       /* 90 s at 0.01 a minute */
        assert_true(fabs(attr_num(d, "projected") - -12.40) < 1e-6); /* -0.015 + 0.015 (keep-rev4) */
    }
    /* two rules, a comma list */
    data = decisions(srv, "filter[rule-eq]=vendor-min-balance,vendor-max-balance&page[size]=1000");
    assert_int_equal(json_array_size(data), 2);
    json_array_foreach(data, i, d)
    {
        const char *rule = attr_s(d, "rule");
        bool vmin = strcmp(rule, "vendor-min-balance") == 0;
        assert_true(vmin || strcmp(rule, "vendor-max-balance") == 0);
        assert_string_equal(attr_s(d, "call-id"), vmin ? "1*bal-vmin" : "2*bal-vmax");
        assert_string_equal(attr_s(d, "side"), "vendor");
        assert_true(fabs(attr_num(d, "projected") - (vmin ? -53250.40 : 4.0075)) < 1e-6);
    }
    /* filter[account-id-eq]: account 99's (missing) decisions */
    data = decisions(srv, "filter[account-id-eq]=99,98&page[size]=1000");
    assert_int_equal(json_array_size(data), 2);
    json_array_foreach(data, i, d) assert_string_equal(attr_s(d, "rule"), "account-missing");
    /* filter keys take underscores too, as every filter of the API */
    data = decisions(srv, "filter[account_id_eq]=6&page[size]=1000");
    assert_int_equal(json_array_size(data), 1);
    json_array_foreach(data, i, d) assert_string_equal(attr_s(d, "call-id"), "1*ctr-notcust");
    /* paging */
    assert_int_equal(json_array_size(decisions(srv, "page[size]=1")), 1);
    assert_int_equal(json_array_size(decisions(srv, "page[size]=3&page[number]=2")), 3);
    assert_int_equal(json_array_size(decisions(srv, NULL)), 14); /* 100 by default */
    h_assert_error(get_decisions(srv, "page[size]=1001"), 400, 0, "Invalid page value",
                   "size exceeds maximum page size of 1000.", "118");
    /* it needs a token */
    const char *const anon[] = {H_NO_AUTH, "Accept: application/vnd.api+json", NULL};
    assert_int_equal(h_http("GET", h_url(srv, DECISIONS), anon, NULL)->status, 401);

    /* the metrics: runs, decisions per rule and outcome; accounts 4
     * (customer) and 5 (vendor) are projected below their minimum */
    assert_true(metric(srv, "activecalls_monitor_runs_total") >= 3);
    for (size_t k = 0; k < N_RULES; k++)
        if (RULES[k].rule) assert_true(metric(srv, decision_series(RULES[k].rule, "dry-run")) >= 1);
    assert_true(metric(srv, decision_series("customer-min-balance", "dropped")) <= 0);
    assert_int_equal((long long)metric(srv, "activecalls_monitor_accounts_below_min"), 2);
    assert_int_equal((long long)metric(srv, "activecalls_monitor_cap_exceeded_total"), 0);
    assert_int_equal(h_stop(srv), 0);
    assert_int_equal(h_stop(node[0]), 0);
    assert_int_equal(h_stop(node[1]), 0);
}

static void test_rules_enforce(void **state)
{
    (void)state;
    h_proc *node[2];
    rules_setup(node);
    h_proc *srv = start_monitor(h_db_path(), "enforce", NULL);
    /* every call to drop reaches its node */
    for (size_t i = 0; i < N_RULES; i++) {
        const mcall *c = &RULES[i];
        if (c->rule)
            WAIT_FOR(disconnects(node[c->node - 1], c->tag) >= 1, "%s: no disconnect after %d ms", c->tag,
                     WAIT_MS);
    }
    more_runs(srv, 4); /* nothing more: not again, nothing for the others */
    for (size_t i = 0; i < N_RULES; i++) {
        const mcall *c = &RULES[i];
        int here = disconnects(node[c->node - 1], c->tag), there = disconnects(node[2 - c->node], c->tag);
        assert_int_equal(there, 0);
        if (!c->rule) {
            if (here != 0 || decisions_of(srv, c) != 0)
                fail_msg("%s must stay: %d disconnects", c->tag, here);
            continue;
        }
        if (here != 1) fail_msg("%s: %d disconnect requests, not 1", c->tag, here);
        assert_decision_lines(srv, c, "enforce", "dropped");
        if (decisions_of(srv, c) != 1) fail_msg("%s: %d decisions, not 1", c->tag, decisions_of(srv, c));
    }
    assert_int_equal(disconnects(node[0], NULL), 7);
    assert_int_equal(disconnects(node[1], NULL), 7);
    /* the nodes keep the calls that stay */
    assert_int_equal(h_node_count(node[0]->addr), 2); /* keep-c1, keep-nocheck */
    assert_int_equal(h_node_count(node[1]->addr), 2); /* keep-c2, keep-rev4 */
    /* the API: one decision per call, dropped */
    json_t *data = decisions(srv, "page[size]=1000");
    assert_int_equal(json_array_size(data), 14);
    size_t i;
    json_t *d;
    json_array_foreach(data, i, d)
    {
        assert_string_equal(attr_s(d, "mode"), "enforce");
        assert_string_equal(attr_s(d, "outcome"), "dropped");
    }
    for (size_t k = 0; k < N_RULES; k++)
        assert_int_equal(decisions_for(data, &RULES[k]), RULES[k].rule ? 1 : 0);
    data = decisions(srv, "filter[account-id-eq]=4");
    assert_int_equal(json_array_size(data), 1);
    assert_string_equal(attr_s(json_array_get(data, 0), "call-id"), "1*bal-cmin");
    /* counted per rule and outcome */
    assert_int_equal((long long)metric(srv, decision_series("term-gw-disabled", "dropped")), 2);
    assert_int_equal((long long)metric(srv, decision_series("customer-max-balance", "dropped")), 1);
    assert_int_equal(h_stop(srv), 0);
    assert_int_equal(h_stop(node[0]), 0);
    assert_int_equal(h_stop(node[1]), 0);
}

/* --monitor-skip: the rules named are off, the others apply. */
static void test_skip(void **state)
{
    (void)state;
    h_proc *node[2];
    rules_setup(node);
    h_proc *srv = start_monitor(h_db_path(), "dry-run", "--monitor-skip",
                                "orig-gw-disabled,customer-min-balance,contractor-disabled", NULL);
    bool skipped[N_RULES] = {false};
    for (size_t i = 0; i < N_RULES; i++)
        skipped[i] = RULES[i].rule &&
            (strcmp(RULES[i].rule, "orig-gw-disabled") == 0 ||
             strcmp(RULES[i].rule, "customer-min-balance") == 0 ||
             strcmp(RULES[i].rule, "contractor-disabled") == 0);
    WAIT_FOR(all_decided(srv, "dry-run", skipped), "not every rule decided after %d ms", WAIT_MS);
    more_runs(srv, 3);
    for (size_t i = 0; i < N_RULES; i++) {
        const mcall *c = &RULES[i];
        if (c->rule && !skipped[i])
            assert_decision_lines(srv, c, "dry-run", "dry-run");
        else if (decisions_of(srv, c) != 0)
            fail_msg("%s: decided, its rule is skipped", c->tag);
    }
    assert_int_equal(count_lines(srv, "msg=monitor-decision", "rule=orig-gw-disabled", NULL), 0);
    assert_int_equal(json_array_size(decisions(srv, "filter[rule-eq]=contractor-disabled")), 0);
    assert_int_equal(h_stop(srv), 0);
    assert_int_equal(h_stop(node[0]), 0);
    assert_int_equal(h_stop(node[1]), 0);
}

/* random-disconnect: calls longer than --monitor-random-after-s, 10% per
 * run: with a run every 200 ms the long call goes within the bound with a
 * probability indistinguishable from 1 (0.9^100 < 3e-5 over 20 s); the
 * short one never. */
static const mcall RANDOM[] = {
    {.tag = "rnd-long",
     .node = 1,
     .cacc = 1,
     .auth = 1,
     .ogw = 1,
     .vacc = 5,
     .tgw = 5,
     .duration = 600,
     .rule = "random-disconnect"},
    {.tag = "rnd-short", .node = 1, .cacc = 1, .auth = 1, .ogw = 1, .vacc = 5, .tgw = 5, .duration = 20},
};

static void test_random_disconnect(void **state)
{
    (void)state;
    const char *db = h_db_path();
    demo_db(db);
    h_proc *node = start_node(db, RANDOM, 2, 1);
    h_proc *srv = h_start_server(db, "--refresh-ms", "200", "--monitor-interval-ms", "200", "--monitor",
                                 "dry-run", "--monitor-random-after-s", "300", NULL);
    WAIT_FOR(decisions_of(srv, &RANDOM[0]) >= 1, "no random decision after %d ms", WAIT_MS);
    assert_decision_lines(srv, &RANDOM[0], "dry-run", "dry-run");
    assert_int_equal(decisions_of(srv, &RANDOM[1]), 0);
    assert_int_equal(h_stop(srv), 0);
    /* off by default */
    srv = start_monitor(db, "enforce", NULL);
    more_runs(srv, 3);
    assert_int_equal(count_lines(srv, "msg=monitor-decision", NULL), 0);
    assert_int_equal(h_stop(srv), 0);
    srv = h_start_server(db, "--refresh-ms", "200", "--monitor-interval-ms", "200", "--monitor", "enforce",
                         "--monitor-random-after-s", "300", NULL);
    WAIT_FOR(disconnects(node, "rnd-long") == 1, "rnd-long not dropped after %d ms", WAIT_MS);
    more_runs(srv, 5);
    assert_int_equal(disconnects(node, "rnd-long"), 1);
    assert_int_equal(disconnects(node, "rnd-short"), 0);
    assert_decision_lines(srv, &RANDOM[0], "enforce", "dropped");
    assert_int_equal(decisions_of(srv, &RANDOM[1]), 0);
    assert_int_equal(h_node_count(node->addr), 1);
    assert_int_equal(h_stop(srv), 0);
    assert_int_equal(h_stop(node), 0);
}

/* ---- VAT ----------------------------------------------------------------------------- */

/* Account 3 (342.10, min 0): a fee of 300 at 20% VAT is 360. Without VAT
 * (yeti's job) the account would keep 42.10 and the call; with it, -17.90.
 * Account 1 (1520.75) carries 1,000 at 20%: 1,200, covered. */
static const mcall VAT[] = {
    {.tag = "vat-over",
     .node = 1,
     .cacc = 3,
     .auth = 1,
     .ogw = 1,
     .vacc = 6,
     .tgw = 6,
     .check = true,
     .dfee = "300",
     .rate = "0",
     .vat = "20.0",
     .rule = "customer-min-balance",
     .acc = 3,
     .side = "customer"},
    {.tag = "vat-covered",
     .node = 1,
     .cacc = 1,
     .auth = 1,
     .ogw = 1,
     .vacc = 6,
     .tgw = 6,
     .check = true,
     .dfee = "1000",
     .rate = "0",
     .vat = "20.0"},
    /* account 4 (-12.40): 125 s + 60 ahead = 185 s in 60 s intervals at 0.6
     * a minute: 0.6 + ceil(125 / 60) * 0.6 = 2.4 */
    {.tag = "cost-60s",
     .node = 1,
     .cacc = 4,
     .auth = 4,
     .ogw = 4,
     .vacc = 6,
     .tgw = 6,
     .check = true,
     .rate = "0.6",
     .ival = 60,
     .duration = 125,
     .rule = "customer-min-balance",
     .acc = 4,
     .side = "customer"},
};

static void test_vat(void **state)
{
    (void)state;
    const char *db = h_db_path();
    demo_db(db);
    h_proc *node = start_node(db, VAT, 3, 1);
    h_proc *srv = start_monitor(db, "enforce", NULL);
    WAIT_FOR(disconnects(node, "vat-over") >= 1 && disconnects(node, "cost-60s") >= 1,
             "vat-over and cost-60s not dropped after %d ms", WAIT_MS);
    more_runs(srv, 3);
    assert_int_equal(disconnects(node, "vat-over"), 1);
    assert_int_equal(disconnects(node, "vat-covered"), 0);
    assert_decision_lines(srv, &VAT[0], "enforce", "dropped");
    assert_int_equal(decisions_of(srv, &VAT[1]), 0);
    json_t *data = decisions(srv, "filter[account-id-eq]=3");
    assert_int_equal(json_array_size(data), 1);
    json_t *d = json_array_get(data, 0);
    assert_string_equal(attr_s(d, "call-id"), "1*vat-over");
    assert_true(fabs(attr_num(d, "cost") - 360.0) < 1e-6);
    assert_true(fabs(attr_num(d, "balance") - 342.10) < 1e-6);
    assert_true(fabs(attr_num(d, "projected") - -17.90) < 1e-6);
    /* the intervals: the next ones rounded up */
    data = decisions(srv, "filter[account-id-eq]=4");
    assert_int_equal(json_array_size(data), 1);
    d = json_array_get(data, 0);
    assert_string_equal(attr_s(d, "call-id"), "1*cost-60s");
    assert_true(fabs(attr_num(d, "cost") - 2.4) < 1e-6);
    assert_true(fabs(attr_num(d, "projected") - -14.80) < 1e-6);
    assert_int_equal(disconnects(node, "cost-60s"), 1);
    assert_int_equal(h_node_count(node->addr), 1);
    assert_int_equal(h_stop(srv), 0);
    assert_int_equal(h_stop(node), 0);
}

/* ---- a node fails ---------------------------------------------------------------------- */

/* Account 4 has calls on both nodes, account 1 on node 1 only; all fine at
 * first (account 4's balance raised to 1000). Node 2 stops; then accounts
 * 1 and 4 go below their minimum and gateway 7 is disabled: account 1's
 * call and the call through gateway 7 (node 1) are dropped; account 4,
 * incomplete, is not judged. */
static const mcall FAIL[] = {
    {.tag = "f-acc1",
     .node = 1,
     .cacc = 1,
     .auth = 1,
     .ogw = 1,
     .vacc = 5,
     .tgw = 5,
     .check = true,
     .rule = "customer-min-balance",
     .acc = 1,
     .side = "customer"},
    {.tag = "f-acc4-n1", .node = 1, .cacc = 4, .auth = 4, .ogw = 4, .vacc = 5, .tgw = 5, .check = true},
    {.tag = "f-gw7",
     .node = 1,
     .cacc = 2,
     .auth = 2,
     .ogw = 2,
     .vacc = 6,
     .tgw = 7,
     .rule = "term-gw-disabled"},
    {.tag = "f-acc4-n2", .node = 2, .cacc = 4, .auth = 4, .ogw = 4, .vacc = 5, .tgw = 5, .check = true},
    {.tag = "f-gw7-n2", .node = 2, .cacc = 2, .auth = 2, .ogw = 2, .vacc = 6, .tgw = 7},
};

static void test_node_failure(void **state)
{
    (void)state;
    const char *db = h_db_path();
    demo_db(db);
    sql_exec(db, "UPDATE billing_accounts SET balance = '1000.00' WHERE id = 4");
    h_proc *n1 = start_node(db, FAIL, 5, 1);
    h_proc *n2 = start_node(db, FAIL, 5, 2);
    h_proc *srv = start_monitor(db, "enforce", NULL);
    more_runs(srv, 3);
    assert_int_equal(count_lines(srv, "msg=monitor-decision", NULL), 0);
    /* node 2 goes; the live view reports it failed */
    assert_int_equal(h_stop(n2), 0);
    WAIT_FOR(strstr(h_failed(h_listing(srv, NULL)), "2/") != NULL, "node 2 not failed after %d ms", WAIT_MS);
    /* the accounts node 2 carried (customers 2 and 4, vendors 5 and 6) are incomplete */
    WAIT_FOR(count_lines(srv, "msg=monitor-run", "incomplete_accounts=4", NULL) >= 2,
             "no run with 4 incomplete accounts after %d ms", WAIT_MS);
    sql_exec(db,
             "UPDATE billing_accounts SET balance = '-100.00' WHERE id IN (1, 4);"
             "UPDATE class4_gateways SET enabled = 0 WHERE id = 7");
    WAIT_FOR(disconnects(n1, "f-acc1") >= 1 && disconnects(n1, "f-gw7") >= 1,
             "node 1's calls not dropped after %d ms", WAIT_MS);
    more_runs(srv, 4);
    assert_int_equal(disconnects(n1, "f-acc1"), 1);
    assert_int_equal(disconnects(n1, "f-gw7"), 1);
    assert_decision_lines(srv, &FAIL[0], "enforce", "dropped");
    assert_decision_lines(srv, &FAIL[2], "enforce", "dropped");
    /* account 4 is incomplete: not judged, nothing sent for it */
    assert_int_equal(disconnects(n1, "f-acc4-n1"), 0);
    assert_int_equal(decisions_of(srv, &FAIL[1]), 0);
    assert_int_equal(count_lines(srv, "msg=monitor-decision", "account_id=4", NULL), 0);
    assert_int_equal(disconnects(n2, NULL), 0);
    assert_int_equal(decisions_of(srv, &FAIL[3]), 0);
    assert_int_equal(decisions_of(srv, &FAIL[4]), 0);
    assert_int_equal(h_node_count(n1->addr), 1);
    /* the log says so (docs/API.md: "the log says so with incomplete=1") */
    if (h_log_count(srv, "incomplete=1") == 0) fail_msg("no log line says incomplete=1");
    assert_int_equal(h_stop(srv), 0);
    assert_int_equal(h_stop(n1), 0);
}

/* ---- what the nodes answer ------------------------------------------------------------- */

/* Disconnect requests a fake node received. */
static int fake_disconnects(h_fake_node *n)
{
    json_t *reqs = h_fake_node_requests(n);
    size_t i;
    json_t *r;
    int k = 0;
    json_array_foreach(reqs, i, r) k +=
        strcmp(json_string_value(json_object_get(r, "method")), "yeti.request.call.disconnect") == 0;
    return k;
}

/* Node 1 answers the disconnect with "call not found" (404, as the
 * simulator does): not-found, done, not asked again although the node
 * still lists the call. Node 2 answers with another error: failed. */
static const mcall ANSWERS[] = {
    {.tag = "ans-notfound",
     .node = 1,
     .cacc = 1,
     .auth = 1,
     .ogw = 5,
     .vacc = 6,
     .tgw = 6,
     .rule = "orig-gw-disabled"},
    {.tag = "ans-failed",
     .node = 2,
     .cacc = 1,
     .auth = 1,
     .ogw = 5,
     .vacc = 6,
     .tgw = 6,
     .rule = "orig-gw-disabled"},
};

static void test_outcomes(void **state)
{
    (void)state;
    const char *db = h_db_path();
    demo_db(db);
    h_fake_node *fn[2];
    for (int i = 0; i < 2; i++) {
        json_t *calls = json_array();
        json_array_append(calls, record(&ANSWERS[i]));
        fn[i] = h_fake_node_start(calls);
        json_decref(calls);
        h_add_node(db, i + 1, h_fake_node_addr(fn[i]), 1);
    }
    h_fake_node_fail(fn[0], "yeti.request.call.disconnect", 404, "call not found");
    h_fake_node_fail(fn[1], "yeti.request.call.disconnect", -32000, "switch busy");
    h_proc *srv = start_monitor(db, "enforce", NULL);
    WAIT_FOR(count_lines(srv, "msg=monitor-decision", call_id(&ANSWERS[0]), "outcome=not-found", NULL) >= 1 &&
                 count_lines(srv, "msg=monitor-decision", call_id(&ANSWERS[1]), "outcome=failed", NULL) >= 1,
             "no not-found and failed decisions after %d ms", WAIT_MS);
    more_runs(srv, 4);
    /* not found counts as done: one request, one decision */
    assert_int_equal(fake_disconnects(fn[0]), 1);
    assert_int_equal(decisions_of(srv, &ANSWERS[0]), 1);
    assert_decision_lines(srv, &ANSWERS[0], "enforce", "not-found");
    /* failed: every decision of it says so (the next run may try again) */
    assert_true(fake_disconnects(fn[1]) >= 1);
    assert_int_equal(fake_disconnects(fn[1]), decisions_of(srv, &ANSWERS[1]));
    assert_decision_lines(srv, &ANSWERS[1], "enforce", "failed");
    assert_int_equal(metric(srv, decision_series("orig-gw-disabled", "not-found")), 1);
    assert_true(metric(srv, decision_series("orig-gw-disabled", "failed")) >= 1);
    json_t *data = decisions(srv, "page[size]=1000");
    assert_int_equal(decisions_for(data, &ANSWERS[0]), 1);
    assert_true(decisions_for(data, &ANSWERS[1]) >= 1);
    size_t i;
    json_t *d;
    json_array_foreach(data, i, d) assert_string_equal(
        attr_s(d, "outcome"), strcmp(attr_s(d, "call-id"), "1*ans-notfound") == 0 ? "not-found" : "failed");
    assert_int_equal(h_stop(srv), 0);
}

/* ---- the store fails --------------------------------------------------------------------- */

/* While class4_gateways cannot be read, every run is skipped
 * (msg=monitor-skip reason=store) and nothing is decided; once it is back,
 * the gateway disabled meanwhile drops its call. */
static const mcall STORE[] = {
    {.tag = "st-gw7",
     .node = 1,
     .cacc = 1,
     .auth = 1,
     .ogw = 1,
     .vacc = 5,
     .tgw = 7,
     .rule = "term-gw-disabled"},
    {.tag = "st-gw5", .node = 1, .cacc = 1, .auth = 1, .ogw = 1, .vacc = 5, .tgw = 5},
};

static void test_store_error(void **state)
{
    (void)state;
    const char *db = h_db_path();
    demo_db(db);
    h_proc *node = start_node(db, STORE, 2, 1);
    h_proc *srv = start_monitor(db, "enforce", NULL);
    more_runs(srv, 2);
    sql_exec(db, "ALTER TABLE class4_gateways RENAME TO class4_gateways_away");
    WAIT_FOR(count_lines(srv, "msg=monitor-skip", "reason=store", NULL) >= 2, "no skipped runs after %d ms",
             WAIT_MS);
    sql_exec(db, "UPDATE class4_gateways_away SET enabled = 0 WHERE id = 7");
    int skips = count_lines(srv, "msg=monitor-skip", "reason=store", NULL);
    WAIT_FOR(count_lines(srv, "msg=monitor-skip", "reason=store", NULL) >= skips + 2,
             "no more skipped runs after %d ms", WAIT_MS);
    assert_int_equal(count_lines(srv, "msg=monitor-decision", NULL), 0);
    assert_int_equal(disconnects(node, NULL), 0);
    sql_exec(db, "ALTER TABLE class4_gateways_away RENAME TO class4_gateways");
    WAIT_FOR(disconnects(node, "st-gw7") >= 1, "st-gw7 not dropped after %d ms", WAIT_MS);
    more_runs(srv, 3);
    assert_int_equal(disconnects(node, NULL), 1);
    assert_decision_lines(srv, &STORE[0], "enforce", "dropped");
    assert_int_equal(decisions_of(srv, &STORE[1]), 0);
    assert_int_equal(h_stop(srv), 0);
    assert_int_equal(h_stop(node), 0);
}

/* ---- the cap --------------------------------------------------------------------------- */

/* cap-a and cap-b come from gateway 5 (no origination), cap-c goes to
 * gateway 7 (disabled by the test): 3 drops over a cap of 2. */
static const mcall CAP[] = {
    {.tag = "cap-a",
     .node = 1,
     .cacc = 1,
     .auth = 1,
     .ogw = 5,
     .vacc = 6,
     .tgw = 6,
     .rule = "orig-gw-disabled"},
    {.tag = "cap-b",
     .node = 1,
     .cacc = 2,
     .auth = 2,
     .ogw = 5,
     .vacc = 6,
     .tgw = 6,
     .rule = "orig-gw-disabled"},
    {.tag = "cap-c",
     .node = 1,
     .cacc = 1,
     .auth = 1,
     .ogw = 1,
     .vacc = 5,
     .tgw = 7,
     .rule = "term-gw-disabled"},
    {.tag = "cap-keep", .node = 1, .cacc = 1, .auth = 1, .ogw = 1, .vacc = 5, .tgw = 5},
};

static void test_cap(void **state)
{
    (void)state;
    const char *db = h_db_path();
    demo_db(db);
    sql_exec(db, "UPDATE class4_gateways SET enabled = 0 WHERE id = 7");
    h_proc *node = start_node(db, CAP, 4, 1);
    h_proc *srv = start_monitor(db, "enforce", "--monitor-max-drops", "2", NULL);
    WAIT_FOR(count_lines(srv, "msg=monitor-cap", NULL) >= 2, "no two capped runs after %d ms", WAIT_MS);
    assert_true(count_lines(srv, "level=error", "msg=monitor-cap", NULL) >= 2);
    assert_int_equal(disconnects(node, NULL), 0);
    for (int i = 0; i < 3; i++) assert_decision_lines(srv, &CAP[i], "enforce", "capped");
    assert_int_equal(decisions_of(srv, &CAP[3]), 0);
    assert_true(metric(srv, "activecalls_monitor_cap_exceeded_total") >= 1);
    assert_true(metric(srv, decision_series("orig-gw-disabled", "capped")) >= 2);
    json_t *data = decisions(srv, "page[size]=1000");
    assert_true(json_array_size(data) >= 3);
    size_t i;
    json_t *d;
    json_array_foreach(data, i, d) assert_string_equal(attr_s(d, "outcome"), "capped");
    assert_int_equal(h_node_count(node->addr), 4);
    /* gateway 7 back: 2 to drop, not more than the cap: dropped */
    sql_exec(db, "UPDATE class4_gateways SET enabled = 1 WHERE id = 7");
    WAIT_FOR(disconnects(node, "cap-a") >= 1 && disconnects(node, "cap-b") >= 1,
             "cap-a and cap-b not dropped after %d ms", WAIT_MS);
    more_runs(srv, 3);
    assert_int_equal(disconnects(node, "cap-a"), 1);
    assert_int_equal(disconnects(node, "cap-b"), 1);
    assert_int_equal(disconnects(node, "cap-c"), 0);
    assert_int_equal(disconnects(node, "cap-keep"), 0);
    assert_int_equal(count_lines(srv, "msg=monitor-decision", call_id(&CAP[0]), "outcome=dropped", NULL), 1);
    assert_int_equal(count_lines(srv, "msg=monitor-decision", call_id(&CAP[1]), "outcome=dropped", NULL), 1);
    assert_int_equal(h_node_count(node->addr), 2);
    assert_int_equal(h_stop(srv), 0);
    assert_int_equal(h_stop(node), 0);
}

/* ---- balances changed between runs ------------------------------------------------------ */

static const mcall BAL[] = {
    {.tag = "b1-one",
     .node = 1,
     .cacc = 1,
     .auth = 1,
     .ogw = 1,
     .vacc = 5,
     .tgw = 5,
     .check = true,
     .rule = "customer-min-balance",
     .acc = 1,
     .side = "customer"},
    {.tag = "b1-two",
     .node = 1,
     .cacc = 1,
     .auth = 1,
     .ogw = 1,
     .vacc = 6,
     .tgw = 6,
     .check = true,
     .rule = "customer-min-balance",
     .acc = 1,
     .side = "customer"},
    {.tag = "b2-one", .node = 1, .cacc = 2, .auth = 2, .ogw = 2, .vacc = 5, .tgw = 5, .check = true},
};
/* what node 1 serves once restarted: a new call of account 1 */
static const mcall BAL_LATER[] = {
    {.tag = "b1-three", .node = 1, .cacc = 1, .auth = 1, .ogw = 1, .vacc = 5, .tgw = 5, .check = true},
    {.tag = "b2-one", .node = 1, .cacc = 2, .auth = 2, .ogw = 2, .vacc = 5, .tgw = 5, .check = true},
};

static void test_balance_changes(void **state)
{
    (void)state;
    const char *db = h_db_path();
    demo_db(db);
    h_proc *node = start_node(db, BAL, 3, 1);
    h_proc *srv = start_monitor(db, "enforce", NULL);
    more_runs(srv, 3);
    assert_int_equal(count_lines(srv, "msg=monitor-decision", NULL), 0);
    assert_int_equal(disconnects(node, NULL), 0);
    /* below its minimum: both its calls dropped at the next runs */
    sql_exec(db, "UPDATE billing_accounts SET balance = '-5.00' WHERE id = 1");
    WAIT_FOR(disconnects(node, "b1-one") >= 1 && disconnects(node, "b1-two") >= 1,
             "account 1's calls not dropped after %d ms", WAIT_MS);
    more_runs(srv, 3);
    assert_int_equal(disconnects(node, "b1-one"), 1);
    assert_int_equal(disconnects(node, "b1-two"), 1);
    assert_int_equal(disconnects(node, "b2-one"), 0);
    assert_decision_lines(srv, &BAL[0], "enforce", "dropped");
    assert_decision_lines(srv, &BAL[1], "enforce", "dropped");
    assert_int_equal(decisions_of(srv, &BAL[2]), 0);
    json_t *data = decisions(srv, "filter[account-id-eq]=1");
    assert_int_equal(json_array_size(data), 2);
    assert_true(fabs(attr_num(json_array_get(data, 0), "balance") - -5.0) < 1e-6);
    /* raised back; node 1 comes back (same port) with a new call of account 1 */
    sql_exec(db, "UPDATE billing_accounts SET balance = '500.00' WHERE id = 1");
    int port = node->port;
    assert_int_equal(h_stop(node), 0);
    const char *file = calls_file("calls-later.json", BAL_LATER, 2, 1);
    h_proc *again = h_start_nodesim_on(port, 1, 1, "--calls-file", file, "--log-requests", NULL);
    WAIT_FOR(strstr(h_ids(h_listing(srv, NULL)), "1*b1-three") != NULL,
             "the restarted node's calls not listed after %d ms", WAIT_MS);
    more_runs(srv, 4);
    assert_int_equal(disconnects(again, NULL), 0);
    assert_int_equal(decisions_of(srv, &BAL_LATER[0]), 0);
    assert_int_equal(count_lines(srv, "msg=monitor-decision", NULL), 2);
    assert_int_equal(h_node_count(again->addr), 2);
    assert_int_equal(h_stop(srv), 0);
    assert_int_equal(h_stop(again), 0);
}

/* ---- two instances on one PostgreSQL ------------------------------------------------------ */

static const mcall PG[] = {
    {.tag = "pg-min",
     .node = 1,
     .cacc = 4,
     .auth = 4,
     .ogw = 4,
     .vacc = 6,
     .tgw = 6,
     .check = true,
     .rule = "customer-min-balance",
     .acc = 4,
     .side = "customer"},
    {.tag = "pg-noorig",
     .node = 1,
     .cacc = 1,
     .auth = 1,
     .ogw = 5,
     .vacc = 6,
     .tgw = 6,
     .rule = "orig-gw-disabled"},
    {.tag = "pg-notcust",
     .node = 2,
     .cacc = 6,
     .auth = 1,
     .ogw = 1,
     .vacc = 5,
     .tgw = 5,
     .rule = "contractor-disabled",
     .acc = 6,
     .side = "customer"},
    /* account 1: fine, until lowered after the failover */
    {.tag = "pg-later",
     .node = 2,
     .cacc = 1,
     .auth = 1,
     .ogw = 1,
     .vacc = 5,
     .tgw = 5,
     .check = true,
     .rule = "customer-min-balance",
     .acc = 1,
     .side = "customer"},
    {.tag = "pg-keep", .node = 1, .cacc = 2, .auth = 2, .ogw = 2, .vacc = 5, .tgw = 5, .check = true},
};

static void test_pg_two_instances(void **state)
{
    (void)state;
    const char *uri = h_pg_fresh("ac_it_monitor");
    if (!uri) {
        skip();
        return;
    }
    demo_db(uri);
    h_proc *node[2] = {start_node(uri, PG, 5, 1), start_node(uri, PG, 5, 2)};
    h_proc *a = start_monitor(uri, "enforce", NULL);
    h_proc *b = start_monitor(uri, "enforce", NULL);
    for (int i = 0; i < 3; i++)
        WAIT_FOR(disconnects(node[PG[i].node - 1], PG[i].tag) >= 1, "%s: no disconnect after %d ms",
                 PG[i].tag, WAIT_MS);
    h_proc *runner = count_lines(a, "msg=monitor-decision", NULL) ? a : b;
    h_proc *other = runner == a ? b : a;
    more_runs(runner, 4);
    for (int i = 0; i < 5; i++) {
        const mcall *c = &PG[i];
        assert_int_equal(disconnects(node[c->node - 1], c->tag), i < 3 ? 1 : 0);
        if (i < 3) assert_decision_lines(runner, c, "enforce", "dropped");
    }
    /* exactly one instance decides (and runs) */
    assert_int_equal(count_lines(runner, "msg=monitor-decision", NULL), 3);
    assert_int_equal(count_lines(other, "msg=monitor-decision", NULL), 0);
    assert_int_equal(runs(other), 0);
    /* the runner dies without a word: its session, and the lock, go; the
     * other takes over and sees account 1 lowered in billing.accounts */
    assert_int_equal(kill(runner->pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(runner->pid, &status, 0), runner->pid);
    runner->pid = 0;
    WAIT_FOR(runs(other) >= 2, "the other instance does not run the monitor after %d ms", WAIT_MS);
    assert_int_equal(count_lines(other, "msg=monitor-decision", NULL), 0);
    h_pg_exec(uri, "UPDATE billing.accounts SET balance = -5 WHERE id = 1");
    WAIT_FOR(disconnects(node[1], "pg-later") >= 1, "pg-later not dropped after %d ms", WAIT_MS);
    more_runs(other, 3);
    assert_int_equal(disconnects(node[1], "pg-later"), 1);
    assert_decision_lines(other, &PG[3], "enforce", "dropped");
    assert_int_equal(count_lines(other, "msg=monitor-decision", NULL), 1);
    for (int i = 0; i < 3; i++) assert_int_equal(disconnects(node[PG[i].node - 1], PG[i].tag), 1);
    assert_int_equal(disconnects(node[0], "pg-keep"), 0);
    assert_int_equal(h_stop(other), 0);
    assert_int_equal(h_stop(node[0]), 0);
    assert_int_equal(h_stop(node[1]), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rules_dry_run, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_rules_enforce, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_skip, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_random_disconnect, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_vat, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_outcomes, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_node_failure, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_store_error, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_cap, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_balance_changes, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_pg_two_instances, h_setup, h_teardown),
        cmocka_unit_test(h_test_validate_documents),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
