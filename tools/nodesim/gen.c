/* gen: making and rendering generated call records (see gen.h).
 *
 * Field names and value shapes follow docs/CONTRACT.md §7 and the seed listing; ids
 * follow the coherence rules of demo_ids.h. Besides the fields the service
 * reads, every record carries a few realistic fields it must ignore (some
 * holding quotes and non-ASCII text, so that escaping gets exercised). */
#include "gen.h"

#include <stdio.h>
#include <string.h>

#include "model/demo_ids.h"

static const char *const country_codes[DEMO_COUNTRY_LAST] = {
    "380", "49", "44", "1", "33", "39", "34", "48", "420", "36",
};

static const char *const dest_rates[] = {"0.11", "0.025", "0.0125", "0.3", "0.05"};
static const char *const dest_next_rates[] = {"0.11", "0.02", "0.0125", "0.25", "0.05"};
static const char *const dp_rates[] = {"0.005", "0.009", "0.0041", "0.12", "0.02"};
static const char *const dp_next_rates[] = {"0.001", "0.009", "0.004", "0.1", "0.018"};

static const char *const src_names[] = {
    "",
    "Alice",
    "Bob Smith",
    "J\xc3\xbcrgen M\xc3\xbcller",
    "O'Brien \"the caller\"",
    "\xd0\x9e\xd0\xbb\xd0\xb5\xd0\xbd\xd0\xb0",
    "Call Center\\1",
};
static const char *const user_agents[] = {
    "Yeti-SBC/1.12",
    "Asterisk PBX 18.15.0",
    "FPBX-16.0.33(18.15.0)",
    "Linphone/5.2.0 (belle-sip/5.2.0)",
    "PolycomVVX-VVX_411-UA/6.4.3.5018",
    "Grandstream GXP2170 1.0.11.23",
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static int pick(sim_rng *r, int lo, int hi) { return (int)sim_rng_range(r, lo, hi); }

/* A random id in first..last whose rule(id) == want. */
static int pick_matching(sim_rng *r, int first, int last, int (*rule)(int), int want)
{
    int ids[64];
    int n = 0;
    for (int id = first; id <= last && n < (int)COUNT_OF(ids); id++)
        if (rule(id) == want) ids[n++] = id;
    return n ? ids[pick(r, 0, n - 1)] : first;
}

/* A phone number: the given prefix followed by random digits up to len. */
static void make_number(sim_rng *r, char *out, size_t cap, const char *prefix, size_t len)
{
    size_t p = strlen(prefix);
    if (len >= cap) len = cap - 1;
    if (p > len) p = len;
    memcpy(out, prefix, p);
    for (size_t i = p; i < len; i++) out[i] = (char)('0' + sim_rng_range(r, 0, 9));
    out[len] = '\0';
}

void sim_gen_new_tag(sim_gen_call *g, sim_rng *r)
{
    /* "FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86" */
    char *t = g->local_tag;
    sim_rng_hex(r, t, 2);
    t[2] = '-';
    sim_rng_hex(r, t + 3, 4);
    t[7] = '-';
    sim_rng_hex(r, t + 8, 32);
    t[40] = '-';
    sim_rng_hex(r, t + 41, 16);
    t[57] = '\0';
}

static int spread; /* sim_gen_spread */

void sim_gen_spread(int n) { spread = n; }

void sim_gen_make(sim_gen_call *g, sim_rng *r, int64_t node_id, int64_t pop_id, int64_t now_us,
                  bool established)
{
    memset(g, 0, sizeof *g);
    g->node_id = node_id;
    g->pop_id = pop_id;

    bool ringing = established ? sim_rng_chance(r, 10) : true;
    if (!established) {
        g->start_us = now_us;
    } else if (ringing) {
        g->start_us = now_us - sim_rng_range(r, 500000, 30000000);
    } else {
        g->start_us = now_us - sim_rng_range(r, 10000000, 3600000000);
        int64_t connect = g->start_us + sim_rng_range(r, 1000000, 40000000);
        int64_t latest = now_us - 1000000;
        g->connect_us = connect < latest ? connect : latest;
    }
    g->time_limit = ringing || !established ? 7200 : (int)sim_rng_range(r, 3600, 7200);
    g->dump_level_id = sim_rng_chance(r, 80) ? 0 : pick(r, 1, 3);
    g->attempt_num = sim_rng_chance(r, 85) ? 1 : pick(r, 2, 3);
    g->audio_record = sim_rng_chance(r, 5);

    /* Routing, coherent with the demo data set. */
    g->auth = pick(r, DEMO_AUTH_FIRST, DEMO_AUTH_LAST);
    g->customer = g->auth;
    g->rateplan = demo_auth_rateplan(g->auth);
    g->routing_plan = demo_auth_routing_plan(g->auth);
    g->routing_group = g->routing_plan;
    g->destination =
        pick_matching(r, DEMO_DESTINATION_FIRST, DEMO_DESTINATION_LAST, demo_dest_rateplan, g->rateplan);
    g->dialpeer =
        pick_matching(r, DEMO_DIALPEER_FIRST, DEMO_DIALPEER_LAST, demo_dp_routing_group, g->routing_group);
    g->vendor = demo_dp_vendor(g->dialpeer);
    g->customer_acc = g->customer;
    g->vendor_acc = g->vendor;
    g->auth_out = g->auth;
    if (spread > 0) { /* drawn only here, so the demo's calls stay as they were */
        g->customer_acc = g->auth_out = pick(r, 1, spread);
        g->vendor_acc = pick(r, 1, spread);
    }
    g->dst_country = demo_dest_country(g->destination);
    g->dst_network =
        pick_matching(r, DEMO_NETWORK_FIRST, DEMO_NETWORK_LAST, demo_net_country, g->dst_country);
    g->src_network = pick(r, DEMO_NETWORK_FIRST, DEMO_NETWORK_LAST);
    g->src_country = demo_net_country(g->src_network);

    /* Numbers: destination N's prefix is its country code, plus '9' above 10. */
    char dprefix[8];
    snprintf(dprefix, sizeof dprefix, "%s%s", country_codes[g->dst_country - 1],
             g->destination > 10 ? "9" : "");
    make_number(r, g->dst_routing, sizeof g->dst_routing, dprefix, (size_t)pick(r, 11, 13));
    if (sim_rng_chance(r, 25))
        snprintf(g->dst_in, sizeof g->dst_in, "98%s", g->dst_routing); /* customer tech prefix */
    else
        snprintf(g->dst_in, sizeof g->dst_in, "%s", g->dst_routing);
    snprintf(g->dst_out, sizeof g->dst_out, "%s", g->dst_routing);
    make_number(r, g->src_in, sizeof g->src_in, country_codes[g->src_country - 1], (size_t)pick(r, 5, 12));
    snprintf(g->src_routing, sizeof g->src_routing, "%s", g->src_in);
    snprintf(g->src_out, sizeof g->src_out, "%s", g->src_in);
    g->has_lrn = sim_rng_chance(r, 5);
    if (g->has_lrn) sim_rng_digits(r, g->lrn, 10);
    g->has_diversion = sim_rng_chance(r, 5);
    if (g->has_diversion) sim_rng_digits(r, g->diversion, 11);
    g->has_pai = sim_rng_chance(r, 30);

    /* Identifiers. */
    sim_gen_new_tag(g, r);
    char h[32];
    sim_rng_hex(r, h, 32);
    snprintf(g->global_tag, sizeof g->global_tag, "%.32s", h);
    snprintf(g->orig_call_id, sizeof g->orig_call_id, "%lld-%lld-%lld",
             (long long)sim_rng_range(r, 100000000, 2147483647),
             (long long)sim_rng_range(r, 100000000, 2147483647),
             (long long)sim_rng_range(r, 100000000, 2147483647));
    sim_rng_hex(r, h, 32);
    snprintf(g->term_call_id, sizeof g->term_call_id, "%lld-%.8s-%.16s-%.8s", (long long)(node_id % 1000), h,
             h + 8, h + 24);

    /* Addresses (private test ranges, data only). */
    snprintf(g->lega_remote_ip, sizeof g->lega_remote_ip, "192.168.%d.%d", 80 + g->customer,
             pick(r, 10, 250));
    snprintf(g->lega_local_ip, sizeof g->lega_local_ip, "10.%d.%d.1", (int)(pop_id & 255),
             (int)(node_id & 255));
    snprintf(g->legb_local_ip, sizeof g->legb_local_ip, "10.%d.%d.2", (int)(pop_id & 255),
             (int)(node_id & 255));
    snprintf(g->legb_remote_ip, sizeof g->legb_remote_ip, "192.168.%d.%d", 80 + g->vendor, pick(r, 10, 250));
    g->lega_remote_port = sim_rng_chance(r, 80) ? 5060 : pick(r, 1024, 65535);
    g->lega_local_port = 5061;
    g->legb_local_port = 5062;
    g->legb_remote_port = sim_rng_chance(r, 80) ? 5060 : pick(r, 1024, 65535);

    g->src_name = pick(r, 0, (int)COUNT_OF(src_names) - 1);
    g->user_agent = pick(r, 0, (int)COUNT_OF(user_agents) - 1);
    g->resource_limit = pick(r, 10, 500);
    g->resource_used = pick(r, 1, g->resource_limit);
}

/* Epoch microseconds as JSON seconds with six decimals ("0" when unset). */
static void put_epoch(buf *b, int64_t us)
{
    if (us <= 0) {
        buf_putc(b, '0');
        return;
    }
    char frac[8];
    int64_t f = us % 1000000;
    for (int i = 5; i >= 0; i--) {
        frac[i] = (char)('0' + f % 10);
        f /= 10;
    }
    frac[6] = '\0';
    buf_put_i64(b, us / 1000000);
    buf_putc(b, '.');
    buf_append(b, frac, 6);
}

/* ,"key": */
static void key(buf *b, const char *k)
{
    buf_append(b, ",\"", 2);
    buf_puts(b, k);
    buf_append(b, "\":", 2);
}

static void kv_int(buf *b, const char *k, int64_t v)
{
    key(b, k);
    buf_put_i64(b, v);
}

static void kv_str(buf *b, const char *k, const char *s)
{
    key(b, k);
    buf_put_json_str(b, s, strlen(s));
}

static void kv_raw(buf *b, const char *k, const char *raw)
{
    key(b, k);
    buf_puts(b, raw);
}

static void kv_time(buf *b, const char *k, int64_t us)
{
    key(b, k);
    put_epoch(b, us);
}

static void kv_str_or_null(buf *b, const char *k, bool present, const char *s)
{
    if (present)
        kv_str(b, k, s);
    else
        kv_raw(b, k, "null");
}

void sim_gen_render(const sim_gen_call *g, buf *out, size_t *slot)
{
    char tmp[160];
    size_t d = (size_t)(g->destination - 1), p = (size_t)(g->dialpeer - 1);

    buf_puts(out, "{\"node_id\":");
    buf_put_i64(out, g->node_id);
    kv_int(out, "pop_id", g->pop_id);
    kv_time(out, "local_time", g->start_us);
    kv_time(out, "cdr_born_time", g->start_us);
    kv_time(out, "start_time", g->start_us);
    kv_raw(out, "end_time", "0");
    kv_time(out, "connect_time", g->connect_us);
    key(out, "duration");
    if (g->connect_us > 0) {
        *slot = out->len;
    } else {
        *slot = SIZE_MAX;
        buf_puts(out, "null");
    }
    kv_int(out, "time_limit", g->time_limit);
    kv_str(out, "local_tag", g->local_tag);
    kv_str(out, "global_tag", g->global_tag);
    kv_str(out, "orig_call_id", g->orig_call_id);
    kv_str(out, "term_call_id", g->term_call_id);
    kv_str(out, "legA_remote_ip", g->lega_remote_ip);
    kv_int(out, "legA_remote_port", g->lega_remote_port);
    kv_str(out, "legA_local_ip", g->lega_local_ip);
    kv_int(out, "legA_local_port", g->lega_local_port);
    kv_str(out, "legB_local_ip", g->legb_local_ip);
    kv_int(out, "legB_local_port", g->legb_local_port);
    kv_str(out, "legB_remote_ip", g->legb_remote_ip);
    kv_int(out, "legB_remote_port", g->legb_remote_port);
    kv_int(out, "legA_transport_protocol_id", 1);
    kv_int(out, "legB_transport_protocol_id", 1);
    kv_int(out, "attempt_num", g->attempt_num);
    kv_int(out, "dump_level_id", g->dump_level_id);
    kv_raw(out, "audio_record_enabled", g->audio_record ? "true" : "false");
    snprintf(tmp, sizeof tmp, "3:%d:%d:1;5:%d:%d:1", g->customer, g->resource_limit, g->dialpeer,
             g->resource_limit);
    kv_str(out, "resources", tmp);
    snprintf(tmp, sizeof tmp, "3:%d:%d:1", g->customer, g->resource_limit);
    kv_str(out, "active_resources", tmp);
    snprintf(tmp, sizeof tmp, "[{\"type\":3,\"id\":%d,\"limit\":%d,\"used\":%d}]", g->customer,
             g->resource_limit, g->resource_used);
    kv_raw(out, "active_resources_json", tmp);
    kv_int(out, "disconnect_code", 0);
    kv_str(out, "disconnect_reason", "");
    kv_int(out, "disconnect_initiator", 0);
    kv_int(out, "disconnect_intermediate_code", 0);
    kv_str(out, "disconnect_intermediate_reason", "");
    kv_int(out, "disconnect_rewrited_code", 0);
    kv_str(out, "disconnect_rewrited_reason", "");

    kv_int(out, "customer_id", g->customer);
    kv_int(out, "customer_external_id", 1000 + g->customer);
    kv_int(out, "vendor_id", g->vendor);
    kv_int(out, "vendor_external_id", 1000 + g->vendor);
    kv_int(out, "customer_acc_id", g->customer_acc);
    kv_int(out, "customer_acc_external_id", 2000 + g->customer_acc);
    kv_str(out, "customer_acc_vat", g->customer_acc % 3 == 0 ? "20.0" : "0.0");
    kv_raw(out, "customer_acc_check_balance", "true");
    kv_int(out, "vendor_acc_id", g->vendor_acc);
    kv_int(out, "vendor_acc_external_id", 2000 + g->vendor_acc);
    kv_int(out, "customer_auth_id", g->auth_out);
    if (g->auth_out % 2) {
        kv_int(out, "customer_auth_external_id", 4000 + g->auth_out);
        kv_str(out, "customer_auth_external_type", "term");
    } else {
        kv_raw(out, "customer_auth_external_id", "null");
        kv_raw(out, "customer_auth_external_type", "null");
    }
    kv_int(out, "destination_id", g->destination);
    kv_int(out, "dialpeer_id", g->dialpeer);
    kv_int(out, "orig_gw_id", g->customer);
    kv_int(out, "orig_gw_external_id", 3000 + g->customer);
    kv_int(out, "term_gw_id", g->vendor);
    kv_int(out, "term_gw_external_id", 3000 + g->vendor);
    kv_int(out, "routing_group_id", g->routing_group);
    kv_int(out, "routing_plan_id", g->routing_plan);
    kv_int(out, "rateplan_id", g->rateplan);
    kv_int(out, "src_country_id", g->src_country);
    kv_int(out, "src_network_id", g->src_network);
    kv_int(out, "dst_country_id", g->dst_country);
    kv_int(out, "dst_network_id", g->dst_network);
    kv_str_or_null(out, "lrn", g->has_lrn, g->lrn);
    kv_str(out, "dst_prefix_in", g->dst_in);
    kv_str(out, "dst_prefix_routing", g->dst_routing);
    kv_str(out, "dst_prefix_out", g->dst_out);
    kv_str(out, "src_prefix_in", g->src_in);
    kv_str(out, "src_prefix_routing", g->src_routing);
    kv_str(out, "src_prefix_out", g->src_out);
    kv_str(out, "src_name_in", src_names[g->src_name]);
    kv_str(out, "src_name_out", src_names[g->src_name]);
    kv_str_or_null(out, "diversion_in", g->has_diversion, g->diversion);
    kv_str_or_null(out, "diversion_out", g->has_diversion, g->diversion);
    snprintf(tmp, sizeof tmp, "<sip:%s@%s>", g->src_in, g->lega_remote_ip);
    kv_str_or_null(out, "pai_in", g->has_pai, tmp);
    kv_raw(out, "ppi_in", "null");
    kv_raw(out, "privacy_in", "null");
    kv_str(out, "destination_initial_rate", dest_rates[d % COUNT_OF(dest_rates)]);
    kv_str(out, "destination_next_rate", dest_next_rates[d % COUNT_OF(dest_next_rates)]);
    kv_int(out, "destination_initial_interval", d % 2 ? 60 : 1);
    kv_int(out, "destination_next_interval", d % 2 ? 60 : 1);
    kv_str(out, "destination_fee", "0.0");
    kv_int(out, "destination_rate_policy_id", d % 4 == 3 ? 2 : 1);
    kv_raw(out, "destination_reverse_billing", "false");
    kv_str(out, "dialpeer_initial_rate", dp_rates[p % COUNT_OF(dp_rates)]);
    kv_str(out, "dialpeer_next_rate", dp_next_rates[p % COUNT_OF(dp_next_rates)]);
    kv_int(out, "dialpeer_initial_interval", p % 3 == 2 ? 60 : 1);
    kv_int(out, "dialpeer_next_interval", p % 3 == 2 ? 60 : 1);
    kv_str(out, "dialpeer_fee", "0.0");
    kv_raw(out, "dialpeer_reverse_billing", "false");
    snprintf(tmp, sizeof tmp, "sip:%s@%s:%d", g->dst_in, g->lega_local_ip, g->lega_local_port);
    kv_str(out, "ruri", tmp);
    snprintf(tmp, sizeof tmp, "sip:%s@%s:%d", g->dst_out, g->legb_remote_ip, g->legb_remote_port);
    kv_str(out, "term_ruri", tmp);
    kv_str(out, "auth_orig_ip", g->lega_remote_ip);
    kv_int(out, "auth_orig_port", g->lega_remote_port);
    kv_int(out, "auth_orig_protocol_id", 1);
    kv_str(out, "legA_user_agent", user_agents[g->user_agent]);
    kv_str(out, "legB_user_agent", user_agents[(g->user_agent + 1) % (int)COUNT_OF(user_agents)]);
    kv_int(out, "routing_attempt", g->attempt_num);
    kv_raw(out, "is_last_cdr", "true");
    buf_putc(out, '}');
}
