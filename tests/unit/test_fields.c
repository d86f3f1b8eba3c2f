/* test_fields: jsonapi/fields.c — sparse fieldsets, `fields[<type>]=a,b`
 * (docs/CONTRACT.md §3, §9; docs/API.md).
 *
 * Field names are checked against lists written here from the contract (docs/CONTRACT.md) (35
 * attributes and 18 relationships of active-calls; docs/CONTRACT.md §8 columns
 * dasherized, ids that are relationships under their §9 names, for each of
 * the 14 related types): each one alone sets exactly its bit (attribute i,
 * ATTR_COUNT + relationship k, column i), all together set every bit, and
 * only the named type's mask changes. Refused: unknown names, underscored
 * names (names are dasherized), the `_id` form of relationships, secret
 * columns, other types' names → 400 code 104 "<name> is not a valid field
 * for <type>." (echo capped at 100 bytes, always valid JSON); unknown or
 * malformed types → 400 code 101 "<type> is not a valid resource." with no
 * mask touched. An empty value (or only commas/spaces) gives mask 0; spaces
 * around names are trimmed; a later parameter for the same type replaces
 * the earlier one. res_col_name gives the dasherized names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonapi/errors.h"
#include "jsonapi/fields.h"
#include "model/calls.h"
#include "store/resources.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the contract's names ------------------------------------------------------------------- */

static const char *const spec_attrs[] = {
    "start-time",
    "connect-time",
    "duration",
    "time-limit",
    "dst-prefix-in",
    "dst-prefix-routing",
    "lrn",
    "dst-prefix-out",
    "src-prefix-in",
    "src-prefix-routing",
    "src-prefix-out",
    "diversion-in",
    "diversion-out",
    "destination-initial-rate",
    "destination-next-rate",
    "destination-initial-interval",
    "destination-next-interval",
    "destination-fee",
    "destination-rate-policy-id",
    "dialpeer-initial-rate",
    "dialpeer-next-rate",
    "dialpeer-initial-interval",
    "dialpeer-next-interval",
    "dialpeer-fee",
    "leg-a-remote-ip",
    "leg-a-remote-port",
    "orig-call-id",
    "leg-a-local-ip",
    "leg-a-local-port",
    "local-tag",
    "leg-b-local-ip",
    "leg-b-local-port",
    "term-call-id",
    "leg-b-remote-ip",
    "leg-b-remote-port",
};

static const char *const spec_rels[] = {
    "customer",    "vendor",        "customer-acc", "vendor-acc",  "customer-auth", "rateplan",
    "destination", "routing-group", "routing-plan", "dialpeer",    "orig-gw",       "term-gw",
    "src-country", "src-network",   "dst-country",  "dst-network", "pop",           "node",
};

/* Each related type's fields in column order (docs/CONTRACT.md §8 minus id, dasherized,
 * relationship columns under their docs/CONTRACT.md §10 name). */
static const struct {
    res_type_id type;
    const char *name;
    const char *fields;
} spec_types[] = {
    {RT_CONTRACTORS, "contractors",
     "name,enabled,vendor,customer,description,address,phones,smtp-connection,external-id"},
    {RT_ACCOUNTS, "accounts",
     "contractor,name,balance,min-balance,max-balance,vat,origination-capacity,"
     "termination-capacity,total-capacity,external-id,uuid,timezone"},
    {RT_CUSTOMERS_AUTHS, "customers-auths",
     "name,enabled,customer,account,rateplan,routing-plan,gateway,pop,ip,reject-calls,capacity,"
     "cps-limit,external-id"},
    {RT_RATEPLANS, "rateplans", "name,profit-control-mode-id,external-id"},
    {RT_DESTINATIONS, "destinations",
     "prefix,enabled,initial-rate,next-rate,initial-interval,next-interval,connect-fee,"
     "rate-policy-id,reject-calls,valid-from,valid-till,external-id"},
    {RT_ROUTING_GROUPS, "routing-groups", "name"},
    {RT_ROUTING_PLANS, "routing-plans",
     "name,sorting-id,rate-delta-max,use-lnp,max-rerouting-attempts,external-id"},
    {RT_DIALPEERS, "dialpeers",
     "prefix,enabled,gateway,routing-group,vendor,account,priority,capacity,initial-rate,"
     "next-rate,initial-interval,next-interval,connect-fee,valid-from,valid-till,external-id"},
    {RT_GATEWAYS, "gateways",
     "name,enabled,host,port,contractor,pop,allow-origination,allow-termination,"
     "origination-capacity,termination-capacity,external-id"},
    {RT_COUNTRIES, "countries", "name,iso2"},
    {RT_NETWORKS, "networks", "name"},
    {RT_POPS, "pops", "name"},
    {RT_NODES, "nodes", "name,rpc-endpoint,pop"},
    {RT_SMTP_CONNECTIONS, "smtp-connections", "name,host,port,from-address,global"},
};

/* ---- helpers ---------------------------------------------------------------------------- */

#define MAX_FIELDS 20

/* Splits a comma list into names (pointers into a static copy). */
static size_t split(const char *list, char space[512], const char *out[MAX_FIELDS])
{
    snprintf(space, 512, "%s", list);
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(space, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        assert_true(n < MAX_FIELDS);
        out[n++] = tok;
    }
    return n;
}

static json_t *errors_json(const jsonapi_errors *e)
{
    buf out;
    buf_init(&out);
    jerr_document(e, &out);
    json_error_t jerr;
    json_t *doc = json_loadb(out.data, out.len, 0, &jerr);
    if (!doc) fail_msg("error document is not JSON (%s): %.*s", jerr.text, (int)out.len, out.data);
    buf_free(&out);
    json_t *arr = json_object_get(doc, "errors");
    assert_true(json_is_array(arr));
    json_incref(arr);
    json_decref(doc);
    return arr;
}

static void check_error(json_t *err, const char *code, const char *title, const char *detail)
{
    assert_true(json_is_object(err));
    assert_int_equal(json_object_size(err), 4);
    assert_string_equal(json_string_value(json_object_get(err, "title")), title);
    assert_string_equal(json_string_value(json_object_get(err, "code")), code);
    assert_string_equal(json_string_value(json_object_get(err, "status")), "400");
    const char *got = json_string_value(json_object_get(err, "detail"));
    assert_non_null(got);
    if (strcmp(got, detail) != 0) fail_msg("detail '%s', wanted '%s'", got, detail);
}

/* Parses one parameter into a fresh fieldsets; no error expected. */
static void parse_ok(fieldsets *f, const char *key, const char *value)
{
    fieldsets_init(f);
    jsonapi_errors e;
    jerr_init(&e);
    fieldsets_parse(f, key, value, &e);
    if (e.n) fail_msg("%s=%s: %.*s", key, value, (int)e.items.len, e.items.data);
    jerr_free(&e);
}

/* Every mask but `except` (-1 = active-calls, -2 = none) is FIELDS_ALL. */
static void others_untouched(const fieldsets *f, int except)
{
    if (except != -1) assert_true(f->calls == FIELDS_ALL);
    for (int t = 0; t < RT_COUNT; t++)
        if (t != except) assert_true(f->types[t] == FIELDS_ALL);
}

/* key=value must give exactly one error with this code and detail and
 * (for 101) touch no mask. */
static void expect_bad(const char *key, const char *value, const char *code, const char *detail)
{
    fieldsets f;
    fieldsets_init(&f);
    jsonapi_errors e;
    jerr_init(&e);
    fieldsets_parse(&f, key, value, &e);
    if (e.n != 1) fail_msg("%s=%s: %d errors, wanted 1", key, value, e.n);
    assert_int_equal(e.status, 400);
    json_t *arr = errors_json(&e);
    check_error(json_array_get(arr, 0), code, strcmp(code, "101") == 0 ? "Invalid resource" : "Invalid field",
                detail);
    json_decref(arr);
    jerr_free(&e);
    if (strcmp(code, "101") == 0) others_untouched(&f, -2);
}

static void expect_bad_field(const char *type, const char *name)
{
    char key[128], detail[256];
    snprintf(key, sizeof key, "fields[%s]", type);
    snprintf(detail, sizeof detail, "%s is not a valid field for %s.", name, type);
    expect_bad(key, name, "104", detail);
}

static uint64_t bit(int i) { return (uint64_t)1 << i; }

/* ---- tests ------------------------------------------------------------------------------ */

static void test_init(void **state)
{
    fieldsets f;
    memset(&f, 0, sizeof f);
    fieldsets_init(&f);
    others_untouched(&f, -2);
    assert_true(fields_has(FIELDS_ALL, 0));
    assert_true(fields_has(FIELDS_ALL, 63));
    assert_false(fields_has(0, 5));
    assert_true(fields_has(bit(40), 40));
    assert_false(fields_has(bit(40), 39));
    /* every bit layout fits in 64 bits */
    assert_true(ATTR_COUNT + REL_COUNT <= 64);
    for (int t = 0; t < RT_COUNT; t++) assert_true(res_types[t].ncols <= 64);
}

static void test_calls_every_attribute(void **state)
{
    assert_int_equal(COUNT_OF(spec_attrs), ATTR_COUNT);
    for (int a = 0; a < ATTR_COUNT; a++) {
        fieldsets f;
        parse_ok(&f, "fields[active-calls]", spec_attrs[a]);
        if (f.calls != bit(a)) fail_msg("%s: mask %llx", spec_attrs[a], (unsigned long long)f.calls);
        others_untouched(&f, -1);
    }
}

static void test_calls_every_relationship(void **state)
{
    assert_int_equal(COUNT_OF(spec_rels), REL_COUNT);
    for (int k = 0; k < REL_COUNT; k++) {
        fieldsets f;
        parse_ok(&f, "fields[active-calls]", spec_rels[k]);
        if (f.calls != bit(ATTR_COUNT + k))
            fail_msg("%s: mask %llx", spec_rels[k], (unsigned long long)f.calls);
        others_untouched(&f, -1);
    }
}

static void test_calls_all_fields(void **state)
{
    char value[2048] = "";
    for (int a = 0; a < ATTR_COUNT; a++) {
        if (a) strcat(value, ",");
        strcat(value, spec_attrs[a]);
    }
    for (int k = 0; k < REL_COUNT; k++) {
        strcat(value, ",");
        strcat(value, spec_rels[k]);
    }
    fieldsets f;
    parse_ok(&f, "fields[active-calls]", value);
    assert_true(f.calls == bit(ATTR_COUNT + REL_COUNT) - 1);

    parse_ok(&f, "fields[active-calls]", "duration,customer,node,local-tag");
    assert_true(f.calls ==
                (bit(ATTR_DURATION) | bit(ATTR_COUNT + REL_CUSTOMER) | bit(ATTR_COUNT + REL_NODE) |
                 bit(ATTR_LOCAL_TAG)));
}

static void test_related_every_field(void **state)
{
    assert_int_equal(COUNT_OF(spec_types), RT_COUNT);
    for (size_t s = 0; s < COUNT_OF(spec_types); s++) {
        res_type_id t = spec_types[s].type;
        assert_string_equal(res_types[t].type, spec_types[s].name);
        char key[64], copy[512];
        snprintf(key, sizeof key, "fields[%s]", spec_types[s].name);
        const char *names[MAX_FIELDS];
        size_t n = split(spec_types[s].fields, copy, names);
        if (n != res_types[t].ncols)
            fail_msg("%s: the contract has %zu fields, res_types %zu", spec_types[s].name, n,
                     res_types[t].ncols);
        for (size_t i = 0; i < n; i++) {
            /* the name res_col_name gives is the contract's */
            char tmp[64];
            assert_string_equal(res_col_name(&res_types[t].cols[i], tmp), names[i]);
            fieldsets f;
            parse_ok(&f, key, names[i]);
            if (f.types[t] != bit((int)i))
                fail_msg("%s %s: mask %llx", key, names[i], (unsigned long long)f.types[t]);
            others_untouched(&f, (int)t);
        }
        fieldsets f;
        parse_ok(&f, key, spec_types[s].fields);
        assert_true(f.types[t] == bit((int)n) - 1);
        others_untouched(&f, (int)t);
    }
}

/* Relationship names map to the relationship columns. */
static void test_related_relationship_bits(void **state)
{
    fieldsets f;
    parse_ok(&f, "fields[customers-auths]", "customer,pop");
    assert_true(f.types[RT_CUSTOMERS_AUTHS] == (bit(2) | bit(7)));
    assert_int_equal(res_types[RT_CUSTOMERS_AUTHS].cols[2].kind, COL_REL);
    assert_int_equal(res_types[RT_CUSTOMERS_AUTHS].cols[7].kind, COL_REL);
    parse_ok(&f, "fields[contractors]", "smtp-connection");
    assert_true(f.types[RT_CONTRACTORS] == bit(7));
    parse_ok(&f, "fields[nodes]", "pop");
    assert_true(f.types[RT_NODES] == bit(2));
}

static void test_several_types(void **state)
{
    fieldsets f;
    fieldsets_init(&f);
    jsonapi_errors e;
    jerr_init(&e);
    fieldsets_parse(&f, "fields[active-calls]", "duration", &e);
    fieldsets_parse(&f, "fields[contractors]", "name", &e);
    fieldsets_parse(&f, "fields[smtp-connections]", "host,port", &e);
    assert_int_equal(e.n, 0);
    jerr_free(&e);
    assert_true(f.calls == bit(ATTR_DURATION));
    assert_true(f.types[RT_CONTRACTORS] == bit(0));
    assert_true(f.types[RT_SMTP_CONNECTIONS] == (bit(1) | bit(2)));
    for (int t = 0; t < RT_COUNT; t++)
        if (t != RT_CONTRACTORS && t != RT_SMTP_CONNECTIONS) assert_true(f.types[t] == FIELDS_ALL);
}

static void test_empty_value_mask_zero(void **state)
{
    const char *empties[] = {"", ",", " ", " , ,, "};
    for (size_t i = 0; i < COUNT_OF(empties); i++) {
        fieldsets f;
        parse_ok(&f, "fields[active-calls]", empties[i]);
        assert_true(f.calls == 0);
        others_untouched(&f, -1);
        parse_ok(&f, "fields[gateways]", empties[i]);
        assert_true(f.types[RT_GATEWAYS] == 0);
        others_untouched(&f, RT_GATEWAYS);
    }
}

static void test_spaces_and_repeats(void **state)
{
    fieldsets f;
    parse_ok(&f, "fields[accounts]", "  name , balance,contractor  ,,name");
    assert_true(f.types[RT_ACCOUNTS] == (bit(0) | bit(1) | bit(2)));
    parse_ok(&f, "fields[active-calls]", " duration ,  customer ");
    assert_true(f.calls == (bit(ATTR_DURATION) | bit(ATTR_COUNT + REL_CUSTOMER)));
}

/* A second parameter for the same type replaces the first. */
static void test_later_replaces(void **state)
{
    fieldsets f;
    fieldsets_init(&f);
    jsonapi_errors e;
    jerr_init(&e);
    fieldsets_parse(&f, "fields[contractors]", "name,enabled", &e);
    fieldsets_parse(&f, "fields[contractors]", "phones", &e);
    fieldsets_parse(&f, "fields[active-calls]", "lrn", &e);
    fieldsets_parse(&f, "fields[active-calls]", "", &e);
    assert_int_equal(e.n, 0);
    jerr_free(&e);
    assert_true(f.types[RT_CONTRACTORS] == bit(6));
    assert_true(f.calls == 0);
}

static void test_unknown_field_104(void **state)
{
    expect_bad_field("active-calls", "bogus");
    expect_bad_field("active-calls", "type");
    expect_bad_field("active-calls", "Duration");
    expect_bad_field("active-calls", "smtp-connection");
    expect_bad_field("active-calls", "customer-id");
    expect_bad_field("active-calls", "node-id");
    for (size_t s = 0; s < COUNT_OF(spec_types); s++) {
        expect_bad_field(spec_types[s].name, "bogus");
        expect_bad_field(spec_types[s].name, "customer-acc");
    }
    expect_bad_field("countries", "pop");
    expect_bad_field("pops", "node");
    expect_bad_field("contractors", "contractor");
    /* relationships by their column name */
    expect_bad_field("accounts", "contractor-id");
    expect_bad_field("nodes", "pop-id");
    expect_bad_field("dialpeers", "routing-group-id");
    expect_bad_field("contractors", "smtp-connection-id");
}

/* Names are dasherized: the underscored (column / node field) forms are
 * not fields. */
static void test_underscored_names_refused(void **state)
{
    expect_bad_field("active-calls", "start_time");
    expect_bad_field("active-calls", "dst_prefix_in");
    expect_bad_field("active-calls", "leg_a_remote_ip");
    expect_bad_field("active-calls", "legA_remote_ip");
    expect_bad_field("active-calls", "customer_acc");
    expect_bad_field("active-calls", "routing_plan");
    expect_bad_field("accounts", "min_balance");
    expect_bad_field("accounts", "contractor_id");
    expect_bad_field("customers-auths", "reject_calls");
    expect_bad_field("customers-auths", "routing_plan");
    expect_bad_field("contractors", "smtp_connection");
    expect_bad_field("contractors", "external_id");
    expect_bad_field("nodes", "rpc_endpoint");
    expect_bad_field("smtp-connections", "from_address");
    expect_bad_field("dialpeers", "valid_from");
    /* every underscored column of every type */
    for (int t = 0; t < RT_COUNT; t++)
        for (size_t i = 0; i < res_types[t].ncols; i++)
            if (strchr(res_types[t].cols[i].column, '_'))
                expect_bad_field(res_types[t].type, res_types[t].cols[i].column);
}

static void test_secrets_not_fields(void **state)
{
    expect_bad_field("gateways", "auth-password");
    expect_bad_field("gateways", "incoming-auth-password");
    expect_bad_field("gateways", "auth-user");
    expect_bad_field("gateways", "auth_password");
    expect_bad_field("smtp-connections", "auth-user");
    expect_bad_field("smtp-connections", "auth-password");
}

/* Several bad names: one error each, in order; good names still count. */
static void test_several_errors(void **state)
{
    fieldsets f;
    fieldsets_init(&f);
    jsonapi_errors e;
    jerr_init(&e);
    fieldsets_parse(&f, "fields[pops]", "x,name, y ", &e);
    assert_int_equal(e.n, 2);
    json_t *arr = errors_json(&e);
    check_error(json_array_get(arr, 0), "104", "Invalid field", "x is not a valid field for pops.");
    check_error(json_array_get(arr, 1), "104", "Invalid field", "y is not a valid field for pops.");
    json_decref(arr);
    jerr_free(&e);
}

static void test_echo_capped_and_escaped(void **state)
{
    char name[300], detail[300];
    memset(name, 'q', 250);
    name[250] = '\0';
    memset(detail, 'q', 100);
    snprintf(detail + 100, sizeof detail - 100, " is not a valid field for contractors.");
    expect_bad("fields[contractors]", name, "104", detail);
    expect_bad("fields[active-calls]", "a\"b\\", "104", "a\"b\\ is not a valid field for active-calls.");
    expect_bad("fields[pops]", "\x80", "104", "\xef\xbf\xbd is not a valid field for pops.");
}

static void test_unknown_type_101(void **state)
{
    expect_bad("fields[foo]", "name", "101", "foo is not a valid resource.");
    expect_bad("fields[contractor]", "name", "101", "contractor is not a valid resource.");
    expect_bad("fields[Contractors]", "name", "101", "Contractors is not a valid resource.");
    expect_bad("fields[active_calls]", "duration", "101", "active_calls is not a valid resource.");
    expect_bad("fields[customers_auths]", "name", "101", "customers_auths is not a valid resource.");
    expect_bad("fields[smtp_connections]", "name", "101", "smtp_connections is not a valid resource.");
    expect_bad("fields[active-call]", "duration", "101", "active-call is not a valid resource.");
    expect_bad("fields[customer]", "", "101", "customer is not a valid resource.");
    expect_bad("fields[a\"b]", "x", "101", "a\"b is not a valid resource.");
    char key[300], detail[300];
    snprintf(key, sizeof key, "fields[");
    memset(key + 7, 'z', 200);
    snprintf(key + 207, sizeof key - 207, "]");
    memset(detail, 'z', 100);
    snprintf(detail + 100, sizeof detail - 100, " is not a valid resource.");
    expect_bad(key, "name", "101", detail);
}

/* Keys without a type: 101, no mask changed, the detail is JSON. */
static void test_malformed_keys(void **state)
{
    const char *keys[] = {"fields[]", "fields[active-calls", "fields[", "fields[]]"};
    for (size_t i = 0; i < COUNT_OF(keys); i++) {
        fieldsets f;
        fieldsets_init(&f);
        jsonapi_errors e;
        jerr_init(&e);
        fieldsets_parse(&f, keys[i], "duration", &e);
        if (e.n != 1) fail_msg("%s: %d errors", keys[i], e.n);
        json_t *arr = errors_json(&e);
        json_t *err = json_array_get(arr, 0);
        assert_string_equal(json_string_value(json_object_get(err, "code")), "101");
        assert_string_equal(json_string_value(json_object_get(err, "status")), "400");
        assert_non_null(
            strstr(json_string_value(json_object_get(err, "detail")), " is not a valid resource."));
        json_decref(arr);
        jerr_free(&e);
        others_untouched(&f, -2);
    }
}

static void test_res_col_name(void **state)
{
    for (int t = 0; t < RT_COUNT; t++) {
        for (size_t i = 0; i < res_types[t].ncols; i++) {
            const res_col *c = &res_types[t].cols[i];
            char tmp[64];
            const char *n = res_col_name(c, tmp);
            assert_null(strchr(n, '_'));
            if (c->kind == COL_REL) {
                assert_ptr_equal(n, c->rel_name);
            } else {
                assert_int_equal(strlen(n), strlen(c->column));
                for (size_t j = 0; n[j]; j++)
                    assert_int_equal(n[j], c->column[j] == '_' ? '-' : c->column[j]);
            }
        }
    }
    res_col long_col = {"a_b_c_d_e_f_g_h_i_j_k_l_m_n_o_p_q_r_s_t_u_v_w_x_y_z_0_1_2_3_4_5_6_7_8_9", COL_TEXT,
                        NULL, NULL};
    char tmp[64];
    const char *n = res_col_name(&long_col, tmp);
    assert_int_equal(strlen(n), 63); /* truncated, terminated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_calls_every_attribute),
        cmocka_unit_test(test_calls_every_relationship),
        cmocka_unit_test(test_calls_all_fields),
        cmocka_unit_test(test_related_every_field),
        cmocka_unit_test(test_related_relationship_bits),
        cmocka_unit_test(test_several_types),
        cmocka_unit_test(test_empty_value_mask_zero),
        cmocka_unit_test(test_spaces_and_repeats),
        cmocka_unit_test(test_later_replaces),
        cmocka_unit_test(test_unknown_field_104),
        cmocka_unit_test(test_underscored_names_refused),
        cmocka_unit_test(test_secrets_not_fields),
        cmocka_unit_test(test_several_errors),
        cmocka_unit_test(test_echo_capped_and_escaped),
        cmocka_unit_test(test_unknown_type_101),
        cmocka_unit_test(test_malformed_keys),
        cmocka_unit_test(test_res_col_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
