/* resources: the table of related resource types (resources.h) — yeti's
 * tables and columns, in the order documents print the attributes, minus
 * "id" — and the helpers over it.
 *
 * Every SQL text the store builds for these types (store_sql.c) takes
 * its table and column names from here, so what is not listed (gateway and
 * SMTP passwords and users) cannot be selected. */
#include "store/resources.h"

#include <stdlib.h>
#include <string.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

#define TEXT(c)                 \
    {                           \
        c, COL_TEXT, NULL, NULL \
    }
#define INT(c)                 \
    {                          \
        c, COL_INT, NULL, NULL \
    }
#define BOOL(c)                 \
    {                           \
        c, COL_BOOL, NULL, NULL \
    }
#define DEC(c)                     \
    {                              \
        c, COL_DECIMAL, NULL, NULL \
    }
#define TIME(c)                 \
    {                           \
        c, COL_TIME, NULL, NULL \
    }
#define INETS(c)                     \
    {                                \
        c, COL_INET_LIST, NULL, NULL \
    }
#define REL(c, name, type)     \
    {                          \
        c, COL_REL, name, type \
    }

static const res_col contractor_cols[] = {
    TEXT("name"),        BOOL("enabled"),
    BOOL("vendor"),      BOOL("customer"),
    TEXT("description"), TEXT("address"),
    TEXT("phones"),      REL("smtp_connection_id", "smtp-connection", "smtp-connections"),
    INT("external_id"),
};

/* yeti keeps timezone_id; the API shows a text time zone ("Europe/Kyiv") */
static const res_col account_cols[] = {
    REL("contractor_id", "contractor", "contractors"),
    TEXT("name"),
    DEC("balance"),
    DEC("min_balance"),
    DEC("max_balance"),
    DEC("vat"),
    INT("origination_capacity"),
    INT("termination_capacity"),
    INT("total_capacity"),
    INT("external_id"),
    TEXT("uuid"),
    TEXT("timezone"),
};

static const res_col customers_auth_cols[] = {
    TEXT("name"),
    BOOL("enabled"),
    REL("customer_id", "customer", "contractors"),
    REL("account_id", "account", "accounts"),
    REL("rateplan_id", "rateplan", "rateplans"),
    REL("routing_plan_id", "routing-plan", "routing-plans"),
    REL("gateway_id", "gateway", "gateways"),
    REL("pop_id", "pop", "pops"),
    INETS("ip"),
    BOOL("reject_calls"),
    INT("capacity"),
    DEC("cps_limit"),
    INT("external_id"),
};

static const res_col rateplan_cols[] = {
    TEXT("name"),
    INT("profit_control_mode_id"),
    INT("external_id"),
};

static const res_col destination_cols[] = {
    TEXT("prefix"),          BOOL("enabled"),      DEC("initial_rate"), DEC("next_rate"),
    INT("initial_interval"), INT("next_interval"), DEC("connect_fee"),  INT("rate_policy_id"),
    BOOL("reject_calls"),    TIME("valid_from"),   TIME("valid_till"),  INT("external_id"),
};

static const res_col routing_group_cols[] = {
    TEXT("name"),
};

static const res_col routing_plan_cols[] = {
    TEXT("name"),
    INT("sorting_id"),
    DEC("rate_delta_max"),
    BOOL("use_lnp"),
    INT("max_rerouting_attempts"),
    INT("external_id"),
};

static const res_col dialpeer_cols[] = {
    TEXT("prefix"),
    BOOL("enabled"),
    REL("gateway_id", "gateway", "gateways"),
    REL("routing_group_id", "routing-group", "routing-groups"),
    REL("vendor_id", "vendor", "contractors"),
    REL("account_id", "account", "accounts"),
    INT("priority"),
    INT("capacity"),
    DEC("initial_rate"),
    DEC("next_rate"),
    INT("initial_interval"),
    INT("next_interval"),
    DEC("connect_fee"),
    TIME("valid_from"),
    TIME("valid_till"),
    INT("external_id"),
};

/* never auth_user, auth_password, incoming_auth_password */
static const res_col gateway_cols[] = {
    TEXT("name"),
    BOOL("enabled"),
    TEXT("host"),
    INT("port"),
    REL("contractor_id", "contractor", "contractors"),
    REL("pop_id", "pop", "pops"),
    BOOL("allow_origination"),
    BOOL("allow_termination"),
    INT("origination_capacity"),
    INT("termination_capacity"),
    INT("external_id"),
};

static const res_col country_cols[] = {
    TEXT("name"),
    TEXT("iso2"),
};

static const res_col network_cols[] = {
    TEXT("name"),
};

static const res_col pop_cols[] = {
    TEXT("name"),
};

static const res_col node_cols[] = {
    TEXT("name"),
    TEXT("rpc_endpoint"),
    REL("pop_id", "pop", "pops"),
};

/* never auth_user, auth_password */
static const res_col smtp_connection_cols[] = {
    TEXT("name"), TEXT("host"), INT("port"), TEXT("from_address"), BOOL("global"),
};

#define TYPE(t, table, cols)           \
    {                                  \
        t, table, cols, COUNT_OF(cols) \
    }

const res_type res_types[RT_COUNT] = {
    [RT_CONTRACTORS] = TYPE("contractors", "public.contractors", contractor_cols),
    [RT_ACCOUNTS] = TYPE("accounts", "billing.accounts", account_cols),
    [RT_CUSTOMERS_AUTHS] = TYPE("customers-auths", "class4.customers_auth", customers_auth_cols),
    [RT_RATEPLANS] = TYPE("rateplans", "class4.rateplans", rateplan_cols),
    [RT_DESTINATIONS] = TYPE("destinations", "class4.destinations", destination_cols),
    [RT_ROUTING_GROUPS] = TYPE("routing-groups", "class4.routing_groups", routing_group_cols),
    [RT_ROUTING_PLANS] = TYPE("routing-plans", "class4.routing_plans", routing_plan_cols),
    [RT_DIALPEERS] = TYPE("dialpeers", "class4.dialpeers", dialpeer_cols),
    [RT_GATEWAYS] = TYPE("gateways", "class4.gateways", gateway_cols),
    [RT_COUNTRIES] = TYPE("countries", "sys.countries", country_cols),
    [RT_NETWORKS] = TYPE("networks", "sys.networks", network_cols),
    [RT_POPS] = TYPE("pops", "sys.pops", pop_cols),
    [RT_NODES] = TYPE("nodes", "sys.nodes", node_cols),
    [RT_SMTP_CONNECTIONS] = TYPE("smtp-connections", "sys.smtp_connections", smtp_connection_cols),
};

int res_type_find(const char *type, size_t len)
{
    if (!type) return -1;
    for (int i = 0; i < RT_COUNT; i++) {
        const char *t = res_types[i].type;
        if (strlen(t) == len && memcmp(t, type, len) == 0) return i;
    }
    return -1;
}

const res_row *res_rows_find(const res_rows *r, int64_t id)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->rows[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->n && r->rows[lo].id == id ? &r->rows[lo] : NULL;
}

void res_rows_free(res_rows *r)
{
    if (!r) return;
    free(r->mem);
    r->rows = NULL;
    r->n = 0;
    r->mem = NULL;
}
