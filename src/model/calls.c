/* calls: the attribute and relationship tables of an active call, and the
 * callset container. The tables are the single source of names and order
 * for the parser, the filters and the document writer. */
#include "model/calls.h"

#include <stdlib.h>
#include <string.h>

#include "util/grow.h"
#include "util/decimal.h"

const call_attr_def call_attrs[ATTR_COUNT] = {
    {"start-time", "start_time"},
    {"connect-time", "connect_time"},
    {"duration", "duration"},
    {"time-limit", "time_limit"},
    {"dst-prefix-in", "dst_prefix_in"},
    {"dst-prefix-routing", "dst_prefix_routing"},
    {"lrn", "lrn"},
    {"dst-prefix-out", "dst_prefix_out"},
    {"src-prefix-in", "src_prefix_in"},
    {"src-prefix-routing", "src_prefix_routing"},
    {"src-prefix-out", "src_prefix_out"},
    {"diversion-in", "diversion_in"},
    {"diversion-out", "diversion_out"},
    {"destination-initial-rate", "destination_initial_rate"},
    {"destination-next-rate", "destination_next_rate"},
    {"destination-initial-interval", "destination_initial_interval"},
    {"destination-next-interval", "destination_next_interval"},
    {"destination-fee", "destination_fee"},
    {"destination-rate-policy-id", "destination_rate_policy_id"},
    {"dialpeer-initial-rate", "dialpeer_initial_rate"},
    {"dialpeer-next-rate", "dialpeer_next_rate"},
    {"dialpeer-initial-interval", "dialpeer_initial_interval"},
    {"dialpeer-next-interval", "dialpeer_next_interval"},
    {"dialpeer-fee", "dialpeer_fee"},
    {"leg-a-remote-ip", "legA_remote_ip"},
    {"leg-a-remote-port", "legA_remote_port"},
    {"orig-call-id", "orig_call_id"},
    {"leg-a-local-ip", "legA_local_ip"},
    {"leg-a-local-port", "legA_local_port"},
    {"local-tag", "local_tag"},
    {"leg-b-local-ip", "legB_local_ip"},
    {"leg-b-local-port", "legB_local_port"},
    {"term-call-id", "term_call_id"},
    {"leg-b-remote-ip", "legB_remote_ip"},
    {"leg-b-remote-port", "legB_remote_port"},
};

const call_rel_def call_rels[REL_COUNT] = {
    {"customer", "contractors", "customer_id"},
    {"vendor", "contractors", "vendor_id"},
    {"customer-acc", "accounts", "customer_acc_id"},
    {"vendor-acc", "accounts", "vendor_acc_id"},
    {"customer-auth", "customers-auths", "customer_auth_id"},
    {"rateplan", "rateplans", "rateplan_id"},
    {"destination", "destinations", "destination_id"},
    {"routing-group", "routing-groups", "routing_group_id"},
    {"routing-plan", "routing-plans", "routing_plan_id"},
    {"dialpeer", "dialpeers", "dialpeer_id"},
    {"orig-gw", "gateways", "orig_gw_id"},
    {"term-gw", "gateways", "term_gw_id"},
    {"src-country", "countries", "src_country_id"},
    {"src-network", "networks", "src_network_id"},
    {"dst-country", "countries", "dst_country_id"},
    {"dst-network", "networks", "dst_network_id"},
    {"pop", "pops", "pop_id"},
    {"node", "nodes", NULL},
};

void callset_init(callset *cs) { memset(cs, 0, sizeof *cs); }

void callset_free(callset *cs)
{
    buf_free(&cs->arena);
    free(cs->recs);
    memset(cs, 0, sizeof *cs);
}

void callset_reset(callset *cs)
{
    buf_reset(&cs->arena);
    cs->n = 0;
    cs->skipped = 0;
}

call_record *callset_push(callset *cs)
{
    if (!grow((void **)&cs->recs, &cs->cap, cs->n + 1, sizeof *cs->recs, 64)) return NULL;
    call_record *r = &cs->recs[cs->n++];
    memset(r->attr, 0, sizeof r->attr);
    r->tag.off = r->tag.len = 0;
    for (int i = 0; i < REL_FROM_RECORD; i++) r->rel_id[i] = CALL_ID_NONE;
    r->duration = CALL_DURATION_NULL;
    return r;
}

void callset_pop(callset *cs)
{
    if (cs->n) cs->n--;
}

int64_t call_rel_id_parse(const char *text)
{
    int64_t id;
    return text && decimal_positive_i64(text, strlen(text), &id) ? id : CALL_ID_NONE;
}

int call_attr_index(const char *name, size_t len)
{
    for (int i = 0; i < ATTR_COUNT; i++)
        if (strlen(call_attrs[i].name) == len && memcmp(call_attrs[i].name, name, len) == 0) return i;
    return -1;
}

int call_rel_index(const char *name, size_t len)
{
    for (int i = 0; i < REL_COUNT; i++)
        if (strlen(call_rels[i].name) == len && memcmp(call_rels[i].name, name, len) == 0) return i;
    return -1;
}
