/* demo_data: store_demo_data (resources.h), the demo data set of the
 * related resources, on the public store API and the shared logic only:
 * the pops come from store_pop_list, the rows are text values set by
 * column name, and sql_replace (store_sql.h) puts them in, with bound
 * parameters, in one transaction, whatever the database.
 *
 * Ids and references follow model/demo_ids.h exactly, so every
 * relationship of a simulated call resolves: customers 1..4 and vendors
 * 5..8 with account N and gateway N each, customers_auth N of customer N,
 * rateplans / routing plans / routing groups 1..3, destinations and
 * dialpeers 1..20, countries 1..10, networks 1..20 (network N in country
 * demo_net_country(N)). Rates, intervals and fees of destinations and
 * dialpeers are the ones the simulator puts in its calls (gen.c), and
 * destination prefixes are the dial codes it uses (gen.c country_codes:
 * country N's code, plus '9' for destinations above 10). Customer auths
 * accept the 192.168.(80 + N).0/24 range the simulator's calls come from,
 * plus an address in a documentation range. Hosts, addresses and phone
 * numbers are in reserved ranges (RFC 5737, example.net, +44 20 7946 0xxx,
 * +1 xxx 555 01xx). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/demo_ids.h"
#include "store/resources.h"
#include "store/store.h"
#include "store/store_sql.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define ROWS_MAX 256
#define ARENA_SIZE 32768

#define VALID_FROM "2025-01-01T00:00:00.000Z"
#define VALID_TILL "2030-01-01T00:00:00.000Z"

typedef struct builder {
    replace_set set;
    replace_row *rows; /* set.rows */
    char *arena;
    size_t used;
    replace_row *cur;
    const char *failed; /* the first problem, NULL while all is well */
    char why[160];
} builder;

/* ---- building rows ---- */

static void fail(builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(builder *b, const char *fmt, ...)
{
    if (b->failed) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->why, sizeof b->why, fmt, ap);
    va_end(ap);
    b->failed = b->why;
}

static void row(builder *b, res_type_id t, int64_t id)
{
    if (b->set.n == ROWS_MAX) {
        fail(b, "more than %d rows", ROWS_MAX);
        b->cur = NULL;
        return;
    }
    if (res_types[t].ncols > REPLACE_MAX_COLS) {
        fail(b, "type %s has more than %d columns", res_types[t].type, REPLACE_MAX_COLS);
        b->cur = NULL;
        return;
    }
    b->cur = &b->rows[b->set.n++];
    memset(b->cur, 0, sizeof *b->cur);
    b->cur->type = t;
    b->cur->id = id;
    b->set.replace[t] = true;
}

/* Sets column `col` of the current row to v (a string that outlives the
 * set: a literal or arena text; NULL = SQL NULL). */
static void put(builder *b, const char *col, const char *v)
{
    if (!b->cur) return;
    const res_type *rt = &res_types[b->cur->type];
    for (size_t i = 0; i < rt->ncols; i++) {
        if (strcmp(rt->cols[i].column, col) == 0) {
            b->cur->vals[i] = v;
            return;
        }
    }
    fail(b, "%s has no column %s", rt->type, col);
}

static void putf(builder *b, const char *col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void putf(builder *b, const char *col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = ARENA_SIZE - b->used;
    int len = vsnprintf(b->arena + b->used, room, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= room) {
        fail(b, "demo text does not fit %d bytes", ARENA_SIZE);
        return;
    }
    put(b, col, b->arena + b->used);
    b->used += (size_t)len + 1;
}

static void put_int(builder *b, const char *col, long long v) { putf(b, col, "%lld", v); }

static void put_bool(builder *b, const char *col, bool v) { put(b, col, v ? "1" : "0"); }

/* ---- the data ---- */

/* Dial codes of countries 1..10, as tools/nodesim/gen.c uses them. */
static const struct {
    const char *name, *iso2, *code;
} countries[DEMO_COUNTRY_LAST] = {
    {"Ukraine", "UA", "380"},     {"Germany", "DE", "49"}, {"United Kingdom", "GB", "44"},
    {"United States", "US", "1"}, {"France", "FR", "33"},  {"Italy", "IT", "39"},
    {"Spain", "ES", "34"},        {"Poland", "PL", "48"},  {"Czech Republic", "CZ", "420"},
    {"Hungary", "HU", "36"},
};

/* Network N is in country demo_net_country(N): 1..10 then 11..20 follow
 * the country order. */
static const char *const networks[DEMO_NETWORK_LAST] = {
    "Kyivstar",
    "Telekom Deutschland",
    "EE",
    "Verizon Wireless",
    "Orange France",
    "TIM",
    "Movistar",
    "Play",
    "O2 Czech Republic",
    "Magyar Telekom",
    "Vodafone Ukraine",
    "Vodafone DE",
    "BT (fixed)",
    "AT&T Mobility",
    "SFR",
    "Vodafone Italia",
    "Orange Espana",
    "Orange Polska",
    "T-Mobile Czech Republic",
    "Yettel Hungary",
};

typedef struct contractor_data {
    const char *name, *description, *address, *phones, *timezone, *uuid;
    int smtp;              /* 0: none */
    long long external_id; /* 0: none */
    const char *balance, *vat;
    int capacity; /* the account's */
} contractor_data;

static const contractor_data contractors[DEMO_VENDOR_LAST] = {
    {"Atlantic Telecom", "Retail VoIP operator, Ireland and UK", "12 Harbour Road, Cork, Ireland",
     "+44 20 7946 0101", "Europe/Dublin", "3f6c1a52-8d0e-4b71-9a44-0c5e2f7b1a01", 1, 1001, "1520.75", "23.0",
     60},
    {"Baltic Voice", "Call-centre traffic, Baltic states", "Brivibas iela 48, Riga, Latvia",
     "+44 20 7946 0102,+44 20 7946 0112", "Europe/Riga", "7a2d9e40-1c3b-4f86-b5d2-6e9f0a3c2b02", 1, 1002,
     "18250.00", "21.0", 120},
    {"Carpathian Networks", "Regional carrier, Ukraine and Romania", "vul. Shevchenka 17, Lviv, Ukraine",
     "+44 20 7946 0103", "Europe/Kyiv", "c41e7b08-5f2a-4d93-8e61-9b3d7c5a4e03", 2, 1003, "342.10", "0.0", 30},
    {"Danube Connect", NULL, NULL, NULL, "Europe/Vienna", "e9b05f3d-2a7c-4e18-a3f9-4d6b8c1e7f04", 0, 0,
     "-12.40", "20.0", 20},
    {"Euro Transit Carrier", "Tier-1 wholesale termination", "Kaiserstrasse 5, Frankfurt am Main, Germany",
     "+44 20 7946 0205", "Europe/Berlin", "1d8f4c6a-9e3b-4a27-b0c5-7f2e9d1a3b05", 2, 2005, "-3250.40", "19.0",
     200},
    {"Fjord Telecom", "Nordic mobile termination", "Storgata 21, Oslo, Norway", "+44 20 7946 0206",
     "Europe/Oslo", "5b3a7e91-0d4c-4f62-9c18-2a6d4e8f0c06", 2, 2006, "-780.15", "0.0", 100},
    {"Gulf Stream Voice", "US and Caribbean routes", "1200 Brickell Avenue, Miami, FL, USA",
     "+1 305 555 0107", "America/New_York", "8e6d2b4f-3a1c-4b95-a7e0-5c9f1b3d2a07", 0, 2007, "-12045.90",
     "0.0", 150},
    {"Helvetic Wholesale", "Premium CLI routes", "Bahnhofstrasse 10, Zurich, Switzerland", "+44 20 7946 0208",
     "Europe/Zurich", "2c9a5d7e-6b4f-4e03-8d21-3f7a0c9e5b08", 2, 0, "-96.00", "8.1", 50},
};

static const char *const rateplans[DEMO_RATEPLAN_LAST] = {"Retail Premium", "Wholesale Standard",
                                                          "Wholesale Economy"};
static const char *const routing_groups[DEMO_ROUTING_GROUP_LAST] = {"Premium CLI", "Standard", "Economy"};
static const char *const routing_plans[DEMO_ROUTING_PLAN_LAST] = {"Premium routing", "Standard LCR",
                                                                  "Economy LCR"};

/* Destination and dialpeer prices, as the simulator puts them in calls. */
static const char *const dest_rates[] = {"0.11", "0.025", "0.0125", "0.3", "0.05"};
static const char *const dest_next_rates[] = {"0.11", "0.02", "0.0125", "0.25", "0.05"};
static const char *const dp_rates[] = {"0.005", "0.009", "0.0041", "0.12", "0.02"};
static const char *const dp_next_rates[] = {"0.001", "0.009", "0.004", "0.1", "0.018"};

static bool is_customer(int c) { return c >= DEMO_CUSTOMER_FIRST && c <= DEMO_CUSTOMER_LAST; }

static void add_smtp(builder *b)
{
    static const struct {
        const char *name, *host, *port, *from;
        bool global;
    } smtp[] = {
        {"Billing mail relay", "smtp.example.net", "587", "billing@example.net", true},
        {"NOC notifications", "mail.example.org", "465", "noc@example.org", false},
    };
    for (size_t i = 0; i < COUNT_OF(smtp); i++) {
        row(b, RT_SMTP_CONNECTIONS, (int64_t)i + 1);
        put(b, "name", smtp[i].name);
        put(b, "host", smtp[i].host);
        put(b, "port", smtp[i].port);
        put(b, "from_address", smtp[i].from);
        put_bool(b, "global", smtp[i].global);
    }
}

static void add_contractors(builder *b)
{
    for (int c = DEMO_CUSTOMER_FIRST; c <= DEMO_VENDOR_LAST; c++) {
        const contractor_data *d = &contractors[c - 1];
        row(b, RT_CONTRACTORS, c);
        put(b, "name", d->name);
        put_bool(b, "enabled", true);
        put_bool(b, "vendor", !is_customer(c));
        put_bool(b, "customer", is_customer(c));
        put(b, "description", d->description);
        put(b, "address", d->address);
        put(b, "phones", d->phones);
        if (d->smtp) put_int(b, "smtp_connection_id", d->smtp);
        if (d->external_id) put_int(b, "external_id", d->external_id);
    }
}

static void add_accounts(builder *b)
{
    for (int a = DEMO_ACCOUNT_FIRST; a <= DEMO_ACCOUNT_LAST; a++) {
        const contractor_data *d = &contractors[a - 1]; /* account N: contractor N */
        bool cust = is_customer(a);
        row(b, RT_ACCOUNTS, a);
        put_int(b, "contractor_id", a);
        putf(b, "name", "%s %s", d->name, cust ? "prepaid" : "termination");
        put(b, "balance", d->balance);
        put(b, "min_balance", cust ? "0.00" : "-50000.00");
        put(b, "max_balance", cust ? "100000.00" : "0.00");
        put(b, "vat", d->vat);
        if (cust)
            put_int(b, "origination_capacity", d->capacity);
        else
            put_int(b, "termination_capacity", d->capacity);
        put_int(b, "total_capacity", d->capacity);
        put_int(b, "external_id", 3000 + a);
        put(b, "uuid", d->uuid);
        put(b, "timezone", d->timezone);
    }
}

static void add_plans(builder *b)
{
    for (int r = DEMO_RATEPLAN_FIRST; r <= DEMO_RATEPLAN_LAST; r++) {
        row(b, RT_RATEPLANS, r);
        put(b, "name", rateplans[r - 1]);
        put_int(b, "profit_control_mode_id", r == 1 ? 1 : 2);
        if (r < DEMO_RATEPLAN_LAST) put_int(b, "external_id", 500 + r);
    }
    for (int g = DEMO_ROUTING_GROUP_FIRST; g <= DEMO_ROUTING_GROUP_LAST; g++) {
        row(b, RT_ROUTING_GROUPS, g);
        put(b, "name", routing_groups[g - 1]);
    }
    static const char *const deltas[] = {"0.00", "0.005", "0.01"};
    for (int p = DEMO_ROUTING_PLAN_FIRST; p <= DEMO_ROUTING_PLAN_LAST; p++) {
        row(b, RT_ROUTING_PLANS, p);
        put(b, "name", routing_plans[p - 1]);
        put_int(b, "sorting_id", p == 3 ? 2 : 1);
        put(b, "rate_delta_max", deltas[(p - 1) % 3]);
        put_bool(b, "use_lnp", p == 2);
        put_int(b, "max_rerouting_attempts", p == 1 ? 9 : p == 2 ? 5 : 3);
        if (p < DEMO_ROUTING_PLAN_LAST) put_int(b, "external_id", 600 + p);
    }
}

static void add_gateways(builder *b, const int64_t *pops, size_t npops)
{
    for (int g = DEMO_GATEWAY_FIRST; g <= DEMO_GATEWAY_LAST; g++) {
        bool orig = is_customer(g); /* gateway N belongs to contractor N */
        row(b, RT_GATEWAYS, g);
        putf(b, "name", "%s %s", contractors[g - 1].name, orig ? "SBC" : "termination");
        put_bool(b, "enabled", true);
        putf(b, "host", orig ? "192.0.2.%d" : "198.51.100.%d", 10 + g);
        put(b, "port", "5060");
        put_int(b, "contractor_id", g);
        if (npops) put_int(b, "pop_id", (long long)pops[(size_t)(g - 1) % npops]);
        put_bool(b, "allow_origination", orig);
        put_bool(b, "allow_termination", !orig);
        if (orig)
            put_int(b, "origination_capacity", contractors[g - 1].capacity);
        else
            put_int(b, "termination_capacity", contractors[g - 1].capacity);
        put_int(b, "external_id", 4000 + g);
    }
}

static void add_auths(builder *b)
{
    static const char *const cps[] = {"10.0", "5.5", NULL, "2.0"};
    static const int capacity[] = {100, 50, 0, 30};
    for (int a = DEMO_AUTH_FIRST; a <= DEMO_AUTH_LAST; a++) {
        row(b, RT_CUSTOMERS_AUTHS, a);
        putf(b, "name", "%s SIP trunk", contractors[a - 1].name);
        put_bool(b, "enabled", true);
        put_int(b, "customer_id", a);
        put_int(b, "account_id", a);
        put_int(b, "rateplan_id", demo_auth_rateplan(a));
        put_int(b, "routing_plan_id", demo_auth_routing_plan(a));
        put_int(b, "gateway_id", a);
        /* pop_id NULL: the trunk is accepted on every pop */
        putf(b, "ip", "192.168.%d.0/24,203.0.113.%d/32", 80 + a, 10 * a);
        put_bool(b, "reject_calls", false);
        if (capacity[(a - 1) % 4]) put_int(b, "capacity", capacity[(a - 1) % 4]);
        put(b, "cps_limit", cps[(a - 1) % 4]);
        put_int(b, "external_id", 5000 + a);
    }
}

static void add_destinations(builder *b)
{
    for (int n = DEMO_DESTINATION_FIRST; n <= DEMO_DESTINATION_LAST; n++) {
        size_t d = (size_t)(n - 1);
        row(b, RT_DESTINATIONS, n);
        putf(b, "prefix", "%s%s", countries[demo_dest_country(n) - 1].code, n > 10 ? "9" : "");
        put_bool(b, "enabled", true);
        put(b, "initial_rate", dest_rates[d % COUNT_OF(dest_rates)]);
        put(b, "next_rate", dest_next_rates[d % COUNT_OF(dest_next_rates)]);
        put(b, "initial_interval", d % 2 ? "60" : "1");
        put(b, "next_interval", d % 2 ? "60" : "1");
        put(b, "connect_fee", "0.0");
        put(b, "rate_policy_id", d % 4 == 3 ? "2" : "1");
        put_bool(b, "reject_calls", false);
        put(b, "valid_from", VALID_FROM);
        put(b, "valid_till", VALID_TILL);
        if (n % 5) put_int(b, "external_id", 7000 + n);
    }
}

static void add_dialpeers(builder *b)
{
    for (int n = DEMO_DIALPEER_FIRST; n <= DEMO_DIALPEER_LAST; n++) {
        size_t p = (size_t)(n - 1);
        int vendor = demo_dp_vendor(n); /* vendor N: account N, gateway N */
        row(b, RT_DIALPEERS, n);
        putf(b, "prefix", "%s%s", countries[(n - 1) % 10].code, n > 10 ? "9" : "");
        put_bool(b, "enabled", true);
        put_int(b, "gateway_id", vendor);
        put_int(b, "routing_group_id", demo_dp_routing_group(n));
        put_int(b, "vendor_id", vendor);
        put_int(b, "account_id", vendor);
        put_int(b, "priority", 100 - 10 * (int)(p % 4));
        if (n % 4) put_int(b, "capacity", 10 * (n % 4) + 20);
        put(b, "initial_rate", dp_rates[p % COUNT_OF(dp_rates)]);
        put(b, "next_rate", dp_next_rates[p % COUNT_OF(dp_next_rates)]);
        put(b, "initial_interval", p % 3 == 2 ? "60" : "1");
        put(b, "next_interval", p % 3 == 2 ? "60" : "1");
        put(b, "connect_fee", "0.0");
        put(b, "valid_from", VALID_FROM);
        put(b, "valid_till", n % 7 ? VALID_TILL : NULL);
        put_int(b, "external_id", 8000 + n);
    }
}

static void add_geography(builder *b)
{
    for (int c = DEMO_COUNTRY_FIRST; c <= DEMO_COUNTRY_LAST; c++) {
        row(b, RT_COUNTRIES, c);
        put(b, "name", countries[c - 1].name);
        put(b, "iso2", countries[c - 1].iso2);
    }
    for (int n = DEMO_NETWORK_FIRST; n <= DEMO_NETWORK_LAST; n++) {
        row(b, RT_NETWORKS, n);
        put(b, "name", networks[n - 1]);
    }
}

/* ---- the entry point ---- */

/* The set, around the pops that exist (NULL, 0: none). */
static store_status build(builder *b, const int64_t *pops, size_t npops, char *err)
{
    b->set.rows = b->rows = calloc(ROWS_MAX, sizeof *b->rows);
    b->arena = malloc(ARENA_SIZE);
    if (!b->rows || !b->arena) return store_fail(err, STORE_ERR, "out of memory");
    /* parents first */
    add_smtp(b);
    add_contractors(b);
    add_accounts(b);
    add_plans(b);
    add_gateways(b, pops, npops);
    add_auths(b);
    add_destinations(b);
    add_dialpeers(b);
    add_geography(b);
    if (b->failed) return store_fail(err, STORE_ERR, "demo data: %s", b->failed);
    return STORE_OK;
}

store_status store_demo_data(store *s, char err[STORE_ERR_LEN])
{
    store_pop *pops = NULL;
    size_t npops = 0;
    store_status st = store_pop_list(s, &pops, &npops, err); /* checks s */
    if (st != STORE_OK) return st;
    int64_t *pop_ids = npops ? calloc(npops, sizeof *pop_ids) : NULL;
    for (size_t i = 0; pop_ids && i < npops; i++) pop_ids[i] = pops[i].id;
    free(pops);
    builder b = {0};
    if (npops && !pop_ids)
        st = store_fail(err, STORE_ERR, "out of memory");
    else
        st = build(&b, pop_ids, npops, err);
    if (st == STORE_OK) st = sql_replace(s, &b.set, err);
    free(pop_ids);
    free(b.rows);
    free(b.arena);
    return st;
}
