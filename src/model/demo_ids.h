/* demo_ids: the id ranges of the demo data set that generated calls point
 * into, and the rules that keep one call's ids coherent with each other.
 *
 * The demo database (contractors, accounts, gateways, ...) must hold exactly
 * these rows for every relationship of a generated call to resolve. The
 * rules below are what the generator follows; a demo data set that wants the
 * related resources to agree with the calls should follow them too.
 *
 *   contractors 1..4     customers              (contractor.customer = true)
 *   contractors 5..8     vendors                (contractor.vendor = true)
 *   accounts 1..8        account N belongs to contractor N
 *   customers_auth 1..4  auth N: customer N, account N, gateway N,
 *                        rateplan demo_auth_rateplan(N),
 *                        routing plan demo_auth_routing_plan(N)
 *   gateways 1..4        gateway N belongs to customer N (origination)
 *   gateways 5..8        gateway N belongs to vendor N (termination)
 *   rateplans 1..3
 *   routing_plans 1..3   routing plan N routes through routing group N
 *   routing_groups 1..3
 *   destinations 1..20   destination N is in rateplan demo_dest_rateplan(N)
 *                        and country demo_dest_country(N)
 *   dialpeers 1..20      dialpeer N: routing group demo_dp_routing_group(N),
 *                        vendor/account/gateway demo_dp_vendor(N)
 *   countries 1..10
 *   networks 1..20       network N is in country demo_net_country(N)
 *   pops, nodes          --pop-id and --node-id of the simulator
 *
 * So a call made through customers_auth A has customer_id = customer_acc_id
 * = customer_auth_id = orig_gw_id = A; its dialpeer D gives vendor_id =
 * vendor_acc_id = term_gw_id = demo_dp_vendor(D); its destination is one of
 * the auth's rateplan, its dialpeer one of the routing plan's group. */
#ifndef NODESIM_DEMO_IDS_H
#define NODESIM_DEMO_IDS_H

#define DEMO_CUSTOMER_FIRST 1
#define DEMO_CUSTOMER_LAST 4
#define DEMO_VENDOR_FIRST 5
#define DEMO_VENDOR_LAST 8
#define DEMO_ACCOUNT_FIRST 1
#define DEMO_ACCOUNT_LAST 8
#define DEMO_AUTH_FIRST 1
#define DEMO_AUTH_LAST 4
#define DEMO_GATEWAY_FIRST 1
#define DEMO_GATEWAY_LAST 8
#define DEMO_RATEPLAN_FIRST 1
#define DEMO_RATEPLAN_LAST 3
#define DEMO_ROUTING_PLAN_FIRST 1
#define DEMO_ROUTING_PLAN_LAST 3
#define DEMO_ROUTING_GROUP_FIRST 1
#define DEMO_ROUTING_GROUP_LAST 3
#define DEMO_DESTINATION_FIRST 1
#define DEMO_DESTINATION_LAST 20
#define DEMO_DIALPEER_FIRST 1
#define DEMO_DIALPEER_LAST 20
#define DEMO_COUNTRY_FIRST 1
#define DEMO_COUNTRY_LAST 10
#define DEMO_NETWORK_FIRST 1
#define DEMO_NETWORK_LAST 20

/* The coherence rules, as plain functions of an id. */
static inline int demo_auth_rateplan(int auth) { return (auth - 1) % 3 + 1; }
static inline int demo_auth_routing_plan(int auth) { return (auth - 1) % 3 + 1; }
static inline int demo_dest_rateplan(int dest) { return (dest - 1) % 3 + 1; }
static inline int demo_dest_country(int dest) { return (dest - 1) % 10 + 1; }
static inline int demo_dp_routing_group(int dp) { return (dp - 1) % 3 + 1; }
static inline int demo_dp_vendor(int dp) { return DEMO_VENDOR_FIRST + (dp - 1) % 4; }
static inline int demo_net_country(int net) { return (net - 1) % 10 + 1; }

#endif
