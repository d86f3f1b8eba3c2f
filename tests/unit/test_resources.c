/* test_resources: the related resource types (store/resources.h) on the
 * SQLite backend: the res_types table against yeti's names, the demo data set
 * (ids and coherence rules of tools/nodesim/demo_ids.h), store_fetch
 * (requested ids only, in order, absent ids skipped, NULLs, duplicates,
 * hostile values verbatim, secrets never), the query counter (one query
 * per fetch whatever n, none for n = 0, every backend call counted, from
 * several threads) and migration 3 from a version-2 file. Each test gets
 * its own mkdtemp directory. With $ACTIVECALLS_TEST_PG set the same tests
 * run on PostgreSQL (store_test_pg.h); the SQLite-specific ones (migrations,
 * the trigger-based rollback, reading secrets from the file) are skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "model/demo_ids.h"
#include "store/resources.h"
#include "store/store.h"
#include "store_fixture.h"

#define MAX_ID 100 /* every demo id is below this */

static int setup(void **state) { return fixture_setup(state, "res"); }

static void demo_ok(store *s)
{
    char err[STORE_ERR_LEN] = "";
    if (store_demo_data(s, err) != STORE_OK) fail_msg("store_demo_data: %s", err);
}

static void add_pop_ok(store *s, int64_t id, const char *name)
{
    char err[STORE_ERR_LEN] = "";
    store_pop p;
    memset(&p, 0, sizeof p);
    p.id = id;
    snprintf(p.name, sizeof p.name, "%s", name);
    if (store_pop_add(s, &p, err) != STORE_OK) fail_msg("pop add: %s", err);
}

static void add_node_ok(store *s, int64_t id, const char *name, int64_t pop)
{
    char err[STORE_ERR_LEN] = "";
    store_node n;
    memset(&n, 0, sizeof n);
    n.id = id;
    n.pop_id = pop;
    snprintf(n.name, sizeof n.name, "%s", name);
    snprintf(n.rpc_endpoint, sizeof n.rpc_endpoint, "127.0.0.1:%d", 7000 + (int)id);
    if (store_node_add(s, &n, err) != STORE_OK) fail_msg("node add: %s", err);
}

static res_rows fetch_ok(store *s, res_type_id t, const int64_t *ids, size_t n)
{
    char err[STORE_ERR_LEN] = "";
    res_rows r;
    if (store_fetch(s, t, ids, n, &r, err) != STORE_OK) fail_msg("fetch %s: %s", res_types[t].type, err);
    return r;
}

/* Every row of type t with an id in 1..MAX_ID. */
static res_rows fetch_all(store *s, res_type_id t)
{
    int64_t ids[MAX_ID];
    for (int i = 0; i < MAX_ID; i++) ids[i] = i + 1;
    return fetch_ok(s, t, ids, MAX_ID);
}

static const res_row *find_row(const res_rows *r, int64_t id)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->rows[i].id == id) return &r->rows[i];
    return NULL;
}

static int col_index(res_type_id t, const char *column)
{
    for (size_t i = 0; i < res_types[t].ncols; i++)
        if (strcmp(res_types[t].cols[i].column, column) == 0) return (int)i;
    fail_msg("%s has no column %s", res_types[t].type, column);
    return -1;
}

/* The value of `column` in row `id` of type t (NULL for SQL NULL); fails
 * when the row is missing. The returned text lives in a static buffer. */
static const char *value_of(store *s, res_type_id t, int64_t id, const char *column, bool *null)
{
    static char buf[4096];
    res_rows r = fetch_ok(s, t, &id, 1);
    if (r.n != 1) fail_msg("%s %lld missing", res_types[t].type, (long long)id);
    const char *v = r.rows[0].vals[col_index(t, column)];
    *null = v == NULL;
    snprintf(buf, sizeof buf, "%s", v ? v : "");
    res_rows_free(&r);
    return buf;
}

static void want_value(store *s, res_type_id t, int64_t id, const char *column, const char *want)
{
    bool null = false;
    const char *got = value_of(s, t, id, column, &null);
    if (!want && !null)
        fail_msg("%s %lld %s: '%s', wanted NULL", res_types[t].type, (long long)id, column, got);
    if (want && (null || strcmp(got, want) != 0))
        fail_msg("%s %lld %s: %s%s%s, wanted '%s'", res_types[t].type, (long long)id, column,
                 null ? "NULL" : "'", null ? "" : got, null ? "" : "'", want);
}

static long long int_value(store *s, res_type_id t, int64_t id, const char *column)
{
    bool null = false;
    const char *v = value_of(s, t, id, column, &null);
    if (null) fail_msg("%s %lld %s is NULL", res_types[t].type, (long long)id, column);
    return strtoll(v, NULL, 10);
}

/* ---- the table ---- */

/* yeti's tables and columns, in document order, without "id". */
static const struct {
    const char *type, *table, *columns;
} spec[] = {
    {"contractors", "public.contractors",
     "name,enabled,vendor,customer,description,address,phones,smtp_connection_id,external_id"},
    {"accounts", "billing.accounts",
     "contractor_id,name,balance,min_balance,max_balance,vat,origination_capacity,"
     "termination_capacity,total_capacity,external_id,uuid,timezone"},
    {"customers-auths", "class4.customers_auth",
     "name,enabled,customer_id,account_id,rateplan_id,routing_plan_id,gateway_id,pop_id,ip,"
     "reject_calls,capacity,cps_limit,external_id"},
    {"rateplans", "class4.rateplans", "name,profit_control_mode_id,external_id"},
    {"destinations", "class4.destinations",
     "prefix,enabled,initial_rate,next_rate,initial_interval,next_interval,connect_fee,"
     "rate_policy_id,reject_calls,valid_from,valid_till,external_id"},
    {"routing-groups", "class4.routing_groups", "name"},
    {"routing-plans", "class4.routing_plans",
     "name,sorting_id,rate_delta_max,use_lnp,max_rerouting_attempts,external_id"},
    {"dialpeers", "class4.dialpeers",
     "prefix,enabled,gateway_id,routing_group_id,vendor_id,account_id,priority,capacity,"
     "initial_rate,next_rate,initial_interval,next_interval,connect_fee,valid_from,valid_till,"
     "external_id"},
    {"gateways", "class4.gateways",
     "name,enabled,host,port,contractor_id,pop_id,allow_origination,allow_termination,"
     "origination_capacity,termination_capacity,external_id"},
    {"countries", "sys.countries", "name,iso2"},
    {"networks", "sys.networks", "name"},
    {"pops", "sys.pops", "name"},
    {"nodes", "sys.nodes", "name,rpc_endpoint,pop_id"},
    {"smtp-connections", "sys.smtp_connections", "name,host,port,from_address,global"},
};

static void test_types_match_spec(void **state)
{
    assert_int_equal(sizeof spec / sizeof spec[0], RT_COUNT);
    for (size_t i = 0; i < RT_COUNT; i++) {
        int t = res_type_find(spec[i].type, strlen(spec[i].type));
        if (t < 0) fail_msg("type %s missing", spec[i].type);
        const res_type *rt = &res_types[t];
        assert_string_equal(rt->table, spec[i].table);
        char cols[512] = "";
        for (size_t c = 0; c < rt->ncols; c++) {
            if (c) strcat(cols, ",");
            strcat(cols, rt->cols[c].column);
        }
        if (strcmp(cols, spec[i].columns) != 0)
            fail_msg("%s columns\n got  %s\n want %s", rt->type, cols, spec[i].columns);
    }
}

static void test_types_sane(void **state)
{
    for (int t = 0; t < RT_COUNT; t++) {
        const res_type *rt = &res_types[t];
        assert_int_equal(res_type_find(rt->type, strlen(rt->type)), t);
        assert_true(rt->ncols > 0);
        for (size_t c = 0; c < rt->ncols; c++) {
            const res_col *col = &rt->cols[c];
            /* no secret can be selected */
            char low[64];
            size_t k = 0;
            for (; col->column[k] && k + 1 < sizeof low; k++)
                low[k] = (char)tolower((unsigned char)col->column[k]);
            low[k] = '\0';
            if (strstr(low, "password") || strstr(low, "auth_user") || strstr(low, "secret"))
                fail_msg("%s exposes %s", rt->type, col->column);
            assert_string_not_equal(col->column, "id");
            for (size_t d = 0; d < c; d++) assert_string_not_equal(rt->cols[d].column, col->column);
            if (col->kind == COL_REL) {
                assert_non_null(col->rel_name);
                assert_non_null(col->rel_type);
                if (res_type_find(col->rel_type, strlen(col->rel_type)) < 0)
                    fail_msg("%s.%s points to unknown type %s", rt->type, col->column, col->rel_type);
                /* the column is the relationship's id: "<name>_id" */
                size_t n = strlen(col->column);
                assert_true(n > 3 && strcmp(col->column + n - 3, "_id") == 0);
            } else {
                assert_null(col->rel_name);
                assert_null(col->rel_type);
            }
        }
    }
    /* lengths are honoured: no prefix or overlong match */
    assert_int_equal(res_type_find("contractors", 10), -1);
    assert_int_equal(res_type_find("contractorsX", 12), -1);
    assert_int_equal(res_type_find("contractorsX", 11), RT_CONTRACTORS);
    assert_int_equal(res_type_find("", 0), -1);
    assert_int_equal(res_type_find(NULL, 0), -1);
    assert_int_equal(res_type_find("Contractors", 11), -1);
    /* relationships that includes walk (docs/API.md) */
    assert_string_equal(res_types[RT_CUSTOMERS_AUTHS].cols[2].rel_name, "customer");
    assert_string_equal(res_types[RT_CUSTOMERS_AUTHS].cols[2].rel_type, "contractors");
    assert_string_equal(res_types[RT_DIALPEERS].cols[4].rel_name, "vendor");
    assert_string_equal(res_types[RT_CONTRACTORS].cols[7].rel_name, "smtp-connection");
    assert_string_equal(res_types[RT_NODES].cols[2].rel_type, "pops");

    res_rows r = {0};
    res_rows_free(&r); /* empty and NULL are fine */
    res_rows_free(NULL);
}

/* ---- demo data ---- */

static const struct {
    res_type_id t;
    int first, last;
} ranges[] = {
    {RT_CONTRACTORS, DEMO_CUSTOMER_FIRST, DEMO_VENDOR_LAST},
    {RT_ACCOUNTS, DEMO_ACCOUNT_FIRST, DEMO_ACCOUNT_LAST},
    {RT_CUSTOMERS_AUTHS, DEMO_AUTH_FIRST, DEMO_AUTH_LAST},
    {RT_GATEWAYS, DEMO_GATEWAY_FIRST, DEMO_GATEWAY_LAST},
    {RT_RATEPLANS, DEMO_RATEPLAN_FIRST, DEMO_RATEPLAN_LAST},
    {RT_ROUTING_PLANS, DEMO_ROUTING_PLAN_FIRST, DEMO_ROUTING_PLAN_LAST},
    {RT_ROUTING_GROUPS, DEMO_ROUTING_GROUP_FIRST, DEMO_ROUTING_GROUP_LAST},
    {RT_DESTINATIONS, DEMO_DESTINATION_FIRST, DEMO_DESTINATION_LAST},
    {RT_DIALPEERS, DEMO_DIALPEER_FIRST, DEMO_DIALPEER_LAST},
    {RT_COUNTRIES, DEMO_COUNTRY_FIRST, DEMO_COUNTRY_LAST},
    {RT_NETWORKS, DEMO_NETWORK_FIRST, DEMO_NETWORK_LAST},
    {RT_SMTP_CONNECTIONS, 1, 2},
};

static void test_demo_ranges(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    demo_ok(f->s);
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        res_rows r = fetch_all(f->s, ranges[i].t);
        /* exactly the range: ids first..last, nothing else */
        if (r.n != (size_t)(ranges[i].last - ranges[i].first + 1))
            fail_msg("%s: %zu rows", res_types[ranges[i].t].type, r.n);
        for (size_t k = 0; k < r.n; k++) assert_int_equal(r.rows[k].id, ranges[i].first + (int)k);
        res_rows_free(&r);
    }
    /* pops and nodes are not the demo's */
    res_rows p = fetch_all(f->s, RT_POPS);
    assert_int_equal(p.n, 0);
    res_rows_free(&p);
}

/* The rules of demo_ids.h, one by one. */
static void test_demo_rules(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    demo_ok(f->s);
    for (int c = DEMO_CUSTOMER_FIRST; c <= DEMO_VENDOR_LAST; c++) {
        bool cust = c <= DEMO_CUSTOMER_LAST;
        assert_int_equal(int_value(f->s, RT_CONTRACTORS, c, "customer"), cust);
        assert_int_equal(int_value(f->s, RT_CONTRACTORS, c, "vendor"), !cust);
        assert_int_equal(int_value(f->s, RT_CONTRACTORS, c, "enabled"), 1);
    }
    for (int a = DEMO_ACCOUNT_FIRST; a <= DEMO_ACCOUNT_LAST; a++)
        assert_int_equal(int_value(f->s, RT_ACCOUNTS, a, "contractor_id"), a);
    for (int a = DEMO_AUTH_FIRST; a <= DEMO_AUTH_LAST; a++) {
        assert_int_equal(int_value(f->s, RT_CUSTOMERS_AUTHS, a, "customer_id"), a);
        assert_int_equal(int_value(f->s, RT_CUSTOMERS_AUTHS, a, "account_id"), a);
        assert_int_equal(int_value(f->s, RT_CUSTOMERS_AUTHS, a, "gateway_id"), a);
        assert_int_equal(int_value(f->s, RT_CUSTOMERS_AUTHS, a, "rateplan_id"), demo_auth_rateplan(a));
        assert_int_equal(int_value(f->s, RT_CUSTOMERS_AUTHS, a, "routing_plan_id"),
                         demo_auth_routing_plan(a));
    }
    for (int g = DEMO_GATEWAY_FIRST; g <= DEMO_GATEWAY_LAST; g++) {
        bool orig = g <= DEMO_CUSTOMER_LAST;
        assert_int_equal(int_value(f->s, RT_GATEWAYS, g, "contractor_id"), g);
        assert_int_equal(int_value(f->s, RT_GATEWAYS, g, "allow_origination"), orig);
        assert_int_equal(int_value(f->s, RT_GATEWAYS, g, "allow_termination"), !orig);
        assert_int_equal(int_value(f->s, RT_GATEWAYS, g, "port"), 5060);
    }
    for (int d = DEMO_DIALPEER_FIRST; d <= DEMO_DIALPEER_LAST; d++) {
        assert_int_equal(int_value(f->s, RT_DIALPEERS, d, "routing_group_id"), demo_dp_routing_group(d));
        assert_int_equal(int_value(f->s, RT_DIALPEERS, d, "vendor_id"), demo_dp_vendor(d));
        assert_int_equal(int_value(f->s, RT_DIALPEERS, d, "account_id"), demo_dp_vendor(d));
        assert_int_equal(int_value(f->s, RT_DIALPEERS, d, "gateway_id"), demo_dp_vendor(d));
    }
    /* destination N's prefix is its country's dial code (nodesim gen.c) */
    want_value(f->s, RT_DESTINATIONS, 1, "prefix", "380");
    want_value(f->s, RT_DESTINATIONS, 12, "prefix", "499");
    want_value(f->s, RT_COUNTRIES, 1, "iso2", "UA");
    want_value(f->s, RT_COUNTRIES, 2, "name", "Germany");
    want_value(f->s, RT_NETWORKS, 1, "name", "Kyivstar");
}

/* Values come back in the store's text form: decimals as written, booleans
 * 0/1, times ISO, inet lists comma-separated, NULL as NULL. */
static void test_demo_values(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    demo_ok(f->s);
    want_value(f->s, RT_CONTRACTORS, 1, "name", "Atlantic Telecom");
    want_value(f->s, RT_CONTRACTORS, 4, "description", NULL);
    want_value(f->s, RT_CONTRACTORS, 4, "smtp_connection_id", NULL);
    want_value(f->s, RT_CONTRACTORS, 1, "smtp_connection_id", "1");
    want_value(f->s, RT_ACCOUNTS, 1, "balance", "1520.75");
    want_value(f->s, RT_ACCOUNTS, 1, "termination_capacity", NULL);
    want_value(f->s, RT_DESTINATIONS, 1, "initial_rate", "0.11");
    want_value(f->s, RT_DESTINATIONS, 3, "next_rate", "0.0125");
    want_value(f->s, RT_DESTINATIONS, 1, "connect_fee", "0.0");
    want_value(f->s, RT_DESTINATIONS, 1, "valid_from", "2025-01-01T00:00:00.000Z");
    want_value(f->s, RT_DESTINATIONS, 2, "initial_interval", "60");
    want_value(f->s, RT_DESTINATIONS, 4, "rate_policy_id", "2");
    want_value(f->s, RT_DIALPEERS, 7, "valid_till", NULL);
    want_value(f->s, RT_DIALPEERS, 1, "initial_rate", "0.005");
    want_value(f->s, RT_CUSTOMERS_AUTHS, 1, "ip", "192.168.81.0/24,203.0.113.10/32");
    want_value(f->s, RT_CUSTOMERS_AUTHS, 1, "pop_id", NULL);
    want_value(f->s, RT_CUSTOMERS_AUTHS, 3, "cps_limit", NULL);
    want_value(f->s, RT_GATEWAYS, 1, "host", "192.0.2.11");
    want_value(f->s, RT_GATEWAYS, 5, "host", "198.51.100.15");
    want_value(f->s, RT_GATEWAYS, 1, "pop_id", NULL); /* no pops exist */
    want_value(f->s, RT_SMTP_CONNECTIONS, 1, "global", "1");
    want_value(f->s, RT_SMTP_CONNECTIONS, 2, "port", "465");
}

/* Gateways are spread over the pops that exist; pops, nodes and users are
 * kept; loading twice replaces (no conflicts, no leftovers). */
static void test_demo_replaces(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);
    add_pop_ok(f->s, 1, "Amsterdam");
    add_pop_ok(f->s, 2, "Frankfurt");
    add_node_ok(f->s, 1, "sems-1", 1);
    store_admin_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.username, sizeof u.username, "admin");
    snprintf(u.roles, sizeof u.roles, "root");
    u.enabled = true;
    assert_int_equal(store_user_add(f->s, &u, err), STORE_OK);
    demo_ok(f->s);
    want_value(f->s, RT_GATEWAYS, 1, "pop_id", "1");
    want_value(f->s, RT_GATEWAYS, 2, "pop_id", "2");
    want_value(f->s, RT_GATEWAYS, 3, "pop_id", "1");
    raw_exec(f->path,
             "INSERT INTO sys_countries (id, name, iso2) VALUES (99, 'Atlantis', 'AX');"
             "UPDATE public_contractors SET name = 'Renamed' WHERE id = 1;");
    demo_ok(f->s);
    want_value(f->s, RT_CONTRACTORS, 1, "name", "Atlantic Telecom");
    int64_t id = 99;
    res_rows r = fetch_ok(f->s, RT_COUNTRIES, &id, 1);
    assert_int_equal(r.n, 0);
    res_rows_free(&r);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM class4_dialpeers"), DEMO_DIALPEER_LAST);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sys_pops"), 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sys_nodes"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM gui_admin_users"), 1);
}

/* A load that fails half-way leaves the previous data as it was. */
static void test_demo_rolls_back(void **state)
{
    TPG_SQLITE_ONLY();
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);
    demo_ok(f->s);
    raw_exec(f->path,
             "UPDATE public_contractors SET name = 'Kept' WHERE id = 1;"
             "CREATE TRIGGER boom BEFORE INSERT ON sys_networks WHEN NEW.id = 20"
             " BEGIN SELECT RAISE(ABORT, 'boom'); END;");
    assert_int_equal(store_demo_data(f->s, err), STORE_CONFLICT);
    if (!strstr(err, "networks 20") || !strstr(err, "boom")) fail_msg("message: %s", err);
    want_value(f->s, RT_CONTRACTORS, 1, "name", "Kept");
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sys_networks"), DEMO_NETWORK_LAST);
    /* the handle is usable afterwards, outside any transaction */
    raw_exec(f->path, "DROP TRIGGER boom");
    demo_ok(f->s);
    want_value(f->s, RT_CONTRACTORS, 1, "name", "Atlantic Telecom");
}

/* Every REL value of every row of every type names an existing row of the
 * target type; pops and nodes included. */
static void test_demo_coherent(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    add_pop_ok(f->s, 1, "Amsterdam");
    add_pop_ok(f->s, 2, "Frankfurt");
    add_node_ok(f->s, 1, "sems-1", 1);
    add_node_ok(f->s, 3, "sems-3", 2);
    demo_ok(f->s);
    res_rows all[RT_COUNT];
    for (int t = 0; t < RT_COUNT; t++) all[t] = fetch_all(f->s, (res_type_id)t);
    size_t checked = 0, nonnull = 0;
    for (int t = 0; t < RT_COUNT; t++) {
        const res_type *rt = &res_types[t];
        for (size_t c = 0; c < rt->ncols; c++) {
            if (rt->cols[c].kind != COL_REL) continue;
            int target = res_type_find(rt->cols[c].rel_type, strlen(rt->cols[c].rel_type));
            assert_true(target >= 0);
            for (size_t i = 0; i < all[t].n; i++) {
                const char *v = all[t].rows[i].vals[c];
                checked++;
                if (!v) continue;
                nonnull++;
                if (!find_row(&all[target], strtoll(v, NULL, 10)))
                    fail_msg("%s %lld: %s = %s, no such %s", rt->type, (long long)all[t].rows[i].id,
                             rt->cols[c].column, v, rt->cols[c].rel_type);
            }
        }
    }
    assert_true(checked > 100);
    assert_true(nonnull > 90);
    for (int t = 0; t < RT_COUNT; t++) res_rows_free(&all[t]);
}

/* ---- store_fetch ---- */

static void test_fetch_order_absent_duplicates(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    demo_ok(f->s);
    const int64_t ids[] = {5, 3, 99, 3, 1, -1, 0, INT64_MAX, INT64_MIN, 5, 8};
    res_rows r = fetch_ok(f->s, RT_CONTRACTORS, ids, sizeof ids / sizeof ids[0]);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.rows[0].id, 1);
    assert_int_equal(r.rows[1].id, 3);
    assert_int_equal(r.rows[2].id, 5);
    assert_int_equal(r.rows[3].id, 8);
    assert_string_equal(r.rows[0].vals[0], "Atlantic Telecom");
    assert_string_equal(r.rows[1].vals[0], "Carpathian Networks");
    assert_string_equal(r.rows[2].vals[0], "Euro Transit Carrier");
    assert_non_null(r.mem);
    /* every string lies inside the one block */
    for (size_t i = 0; i < r.n; i++)
        for (size_t c = 0; c < res_types[RT_CONTRACTORS].ncols; c++)
            if (r.rows[i].vals[c]) assert_true((void *)r.rows[i].vals[c] > r.mem);
    res_rows_free(&r);
    assert_null(r.mem);
    assert_int_equal(r.n, 0);

    const int64_t none[] = {42, 43};
    r = fetch_ok(f->s, RT_CONTRACTORS, none, 2);
    assert_int_equal(r.n, 0);
    assert_null(r.rows);
    res_rows_free(&r);

    /* an empty database answers with no rows, not an error */
    int64_t one = 1;
    r = fetch_ok(f->s, RT_POPS, &one, 1);
    assert_int_equal(r.n, 0);
    res_rows_free(&r);
}

static void test_fetch_bad_arguments(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);
    int64_t id = 1;
    res_rows r;
    assert_int_equal(store_fetch(NULL, RT_POPS, &id, 1, &r, err), STORE_ERR);
    assert_int_equal(store_fetch(f->s, RT_POPS, &id, 1, NULL, err), STORE_ERR);
    assert_int_equal(store_fetch(f->s, RT_COUNT, &id, 1, &r, err), STORE_ERR);
    assert_int_equal(store_fetch(f->s, (res_type_id)-1, &id, 1, &r, err), STORE_ERR);
    assert_int_equal(store_fetch(f->s, RT_POPS, NULL, 1, &r, err), STORE_ERR);
    assert_int_equal(store_fetch(f->s, RT_POPS, NULL, 0, &r, err), STORE_OK);
    assert_int_equal(r.n, 0);
    assert_int_equal(store_query_count(NULL), 0);
    assert_int_equal(store_demo_data(NULL, err), STORE_ERR);
}

/* Rows written by hand (or by yeti) come back verbatim, whatever they hold. */
static void test_fetch_hostile_values(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    char *big = malloc(200001);
    assert_non_null(big);
    memset(big, 'x', 200000);
    big[200000] = '\0';
    char *sql = malloc(201000);
    assert_non_null(sql);
    snprintf(sql, 201000,
             "INSERT INTO sys_countries (id, name, iso2) VALUES"
             " (1, 'O''Brien \"quoted\" \\ ; DROP TABLE x; --', 'Q1'),"
             " (2, '\xd0\xa3\xd0\xba\xd1\x80\xd0\xb0\xd1\x97\xd0\xbd\xd0\xb0', ''),"
             " (3, '%s', 'BG'),"
             " (9223372036854775807, 'max', 'MX');"
             "INSERT INTO class4_routing_groups (id, name) VALUES (1, 'a')",
             big);
    raw_exec(f->path, sql);
    const int64_t ids[] = {3, 2, 1, INT64_MAX};
    res_rows r = fetch_ok(f->s, RT_COUNTRIES, ids, 4);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.rows[0].vals[0], "O'Brien \"quoted\" \\ ; DROP TABLE x; --");
    assert_string_equal(r.rows[1].vals[0], "\xd0\xa3\xd0\xba\xd1\x80\xd0\xb0\xd1\x97\xd0\xbd\xd0\xb0");
    assert_string_equal(r.rows[1].vals[1], ""); /* empty is not NULL */
    assert_string_equal(r.rows[2].vals[0], big);
    assert_int_equal(r.rows[3].id, INT64_MAX);
    res_rows_free(&r);
    free(sql);
    free(big);
}

/* ---- secrets ---- */

typedef struct secrets {
    char v[32][128];
    size_t n;
} secrets;

static void read_secrets(const char *path, const char *sql, secrets *out)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const char *t = (const char *)sqlite3_column_text(st, c);
            assert_non_null(t); /* the demo fills every secret */
            assert_true(strlen(t) >= 8);
            assert_true(out->n < 32);
            snprintf(out->v[out->n++], sizeof out->v[0], "%s", t);
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_secrets_never_fetched(void **state)
{
    TPG_SQLITE_ONLY();
    fixture *f = *state;
    f->s = open_ok(f);
    demo_ok(f->s);
    secrets s = {0};
    read_secrets(f->path, "SELECT auth_user, auth_password, incoming_auth_password FROM class4_gateways", &s);
    read_secrets(f->path, "SELECT auth_user, auth_password FROM sys_smtp_connections", &s);
    assert_int_equal(s.n, 8 * 3 + 2 * 2);
    size_t values = 0;
    for (int t = 0; t < RT_COUNT; t++) {
        res_rows r = fetch_all(f->s, (res_type_id)t);
        for (size_t i = 0; i < r.n; i++) {
            for (size_t c = 0; c < res_types[t].ncols; c++) {
                const char *v = r.rows[i].vals[c];
                if (!v) continue;
                values++;
                for (size_t k = 0; k < s.n; k++)
                    if (strstr(v, s.v[k]))
                        fail_msg("%s %lld %s holds a secret", res_types[t].type, (long long)r.rows[i].id,
                                 res_types[t].cols[c].column);
            }
        }
        res_rows_free(&r);
    }
    assert_true(values > 500);
}

/* ---- the query counter ---- */

static void test_one_query_per_fetch(void **state)
{
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);
    demo_ok(f->s);
    int64_t *ids = malloc(500 * sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < 500; i++) ids[i] = i + 1;
    for (int t = 0; t < RT_COUNT; t++) {
        const size_t sizes[] = {1, 2, 20, 500};
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            uint64_t before = store_query_count(f->s);
            res_rows r = fetch_ok(f->s, (res_type_id)t, ids, sizes[k]);
            assert_int_equal(store_query_count(f->s) - before, 1);
            res_rows_free(&r);
        }
    }
    /* n = 0: no query at all */
    uint64_t before = store_query_count(f->s);
    res_rows r;
    assert_int_equal(store_fetch(f->s, RT_CONTRACTORS, ids, 0, &r, err), STORE_OK);
    assert_int_equal(r.n, 0);
    assert_null(r.mem);
    assert_int_equal(store_query_count(f->s), before);
    free(ids);

    /* every other call counts too */
    store_node *nodes = NULL;
    size_t n = 0;
    before = store_query_count(f->s);
    assert_int_equal(store_node_list(f->s, &nodes, &n, err), STORE_OK);
    free(nodes);
    assert_int_equal(store_query_count(f->s) - before, 1);
    store_admin_user u;
    before = store_query_count(f->s);
    assert_int_equal(store_user_get(f->s, 7, &u, err), STORE_NOT_FOUND);
    assert_int_equal(store_query_count(f->s) - before, 1);
    store_pop p;
    before = store_query_count(f->s);
    assert_int_equal(store_pop_get(f->s, 7, &p, err), STORE_NOT_FOUND);
    assert_int_equal(store_query_count(f->s) - before, 1);
    /* and validation failures run none */
    before = store_query_count(f->s);
    assert_int_equal(store_pop_get(f->s, -7, &p, err), STORE_INVALID);
    assert_int_equal(store_query_count(f->s), before);
}

typedef struct worker {
    store *s;
    int fetches;
    int failures;
} worker;

static void *fetch_worker(void *arg)
{
    worker *w = arg;
    int64_t ids[DEMO_DIALPEER_LAST];
    for (int i = 0; i < DEMO_DIALPEER_LAST; i++) ids[i] = DEMO_DIALPEER_LAST - i;
    for (int i = 0; i < w->fetches; i++) {
        char err[STORE_ERR_LEN] = "";
        res_rows r;
        res_type_id t = (res_type_id)(i % RT_COUNT);
        if (store_fetch(w->s, t, ids, DEMO_DIALPEER_LAST, &r, err) != STORE_OK) w->failures++;
        if (t == RT_DIALPEERS && (r.n != DEMO_DIALPEER_LAST || r.rows[0].id != 1)) w->failures++;
        res_rows_free(&r);
    }
    return NULL;
}

static void test_threads_count_every_query(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    demo_ok(f->s);
    enum { THREADS = 4, EACH = 200 };
    pthread_t th[THREADS];
    worker w[THREADS];
    uint64_t before = store_query_count(f->s);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){f->s, EACH, 0};
        assert_int_equal(pthread_create(&th[i], NULL, fetch_worker, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(store_query_count(f->s) - before, THREADS * EACH);
}

/* ---- migration ---- */

/* A file made by a build that knew migrations 1 and 2 gains the related
 * tables and keeps its pops, nodes and users. */
static void test_migration_from_v2(void **state)
{
    TPG_SQLITE_ONLY();
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    raw_exec(f->path,
             "BEGIN;" SQLITE_SCHEMA_V1 SQLITE_SCHEMA_V2
             "INSERT INTO sys_pops VALUES (1, 'Kyiv'), (2, 'Amsterdam');"
             "INSERT INTO sys_nodes VALUES (7, 'sw7', '127.0.0.1:7080', 2);"
             "INSERT INTO gui_admin_users VALUES (3, 'alice', '', 1, 'root', '');"
             "PRAGMA user_version = 2;"
             "COMMIT;");
    f->s = open_ok(f);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 4); /* 3, then 4: the history */
    for (int t = 0; t < RT_COUNT; t++) {
        /* SQLite: the schema prefix mapped to '_' */
        char lite[64], sql[160];
        snprintf(lite, sizeof lite, "%s", res_types[t].table);
        *strchr(lite, '.') = '_';
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                 " AND name = '%s'",
                 lite);
        if (raw_int(f->path, sql) != 1) fail_msg("table %s missing", lite);
    }
    assert_int_equal(raw_int(f->path,
                             "SELECT count(*) FROM pragma_table_info('class4_gateways')"
                             " WHERE name IN ('auth_user', 'auth_password',"
                             " 'incoming_auth_password')"),
                     3);
    store_node nd;
    assert_int_equal(store_node_get(f->s, 7, &nd, err), STORE_OK);
    assert_string_equal(nd.name, "sw7");
    store_admin_user u;
    assert_int_equal(store_user_get(f->s, 3, &u, err), STORE_OK);
    assert_string_equal(u.username, "alice");
    int64_t id = 7;
    res_rows r = fetch_ok(f->s, RT_NODES, &id, 1);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.rows[0].vals[0], "sw7");
    assert_string_equal(r.rows[0].vals[1], "127.0.0.1:7080");
    assert_string_equal(r.rows[0].vals[2], "2");
    res_rows_free(&r);
    demo_ok(f->s);
    want_value(f->s, RT_GATEWAYS, 2, "pop_id", "2");

    store_close(f->s); /* a second open migrates nothing more */
    f->s = open_ok(f);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 4);
    want_value(f->s, RT_CONTRACTORS, 8, "name", "Helvetic Wholesale");
}

/* Migration 3 fails cleanly (rolled back, message naming it) on a v2 file
 * that already has one of its tables. */
static void test_migration_3_conflict(void **state)
{
    TPG_SQLITE_ONLY();
    fixture *f = *state;
    char err[STORE_ERR_LEN] = "";
    f->s = open_ok(f);
    store_close(f->s);
    f->s = NULL;
    raw_exec(f->path,
             "DROP TABLE class4_dialpeers; DROP TABLE class4_customers_auth;"
             "DROP TABLE class4_gateways; DROP TABLE billing_accounts;"
             "DROP TABLE public_contractors; DROP TABLE sys_smtp_connections;"
             "DROP TABLE class4_rateplans; DROP TABLE class4_routing_plans;"
             "DROP TABLE class4_routing_groups; DROP TABLE class4_destinations;"
             "DROP TABLE sys_countries;"
             "PRAGMA user_version = 2;");
    assert_null(store_open(f->path, err)); /* sys_networks is still there */
    if (!strstr(err, "migration 3")) fail_msg("message: %s", err);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 2);
    assert_int_equal(raw_int(f->path,
                             "SELECT count(*) FROM sqlite_master"
                             " WHERE name = 'public_contractors'"),
                     0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_types_match_spec),
        T(test_types_sane),
        T(test_demo_ranges),
        T(test_demo_rules),
        T(test_demo_values),
        T(test_demo_replaces),
        T(test_demo_rolls_back),
        T(test_demo_coherent),
        T(test_fetch_order_absent_duplicates),
        T(test_fetch_bad_arguments),
        T(test_fetch_hostile_values),
        T(test_secrets_never_fetched),
        T(test_one_query_per_fetch),
        T(test_threads_count_every_query),
        T(test_migration_from_v2),
        T(test_migration_3_conflict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
