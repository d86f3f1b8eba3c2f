/* gen: generated call records - realistic, coherent field values (ids from
 * demo_ids.h, private test addresses as data) and their pre-rendering.
 *
 * A record is rendered once, when it is made (or when a ringing call
 * connects), into JSON text with a hole where the duration goes: the
 * duration is the only value that changes between replies, so a reply is
 * the prefix, a freshly formatted number and the suffix. */
#ifndef NODESIM_GEN_H
#define NODESIM_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "util/buf.h"

/* Every value a generated record holds, so it can be re-rendered. */
typedef struct sim_gen_call {
    int64_t node_id, pop_id;
    int64_t start_us;   /* also local_time and cdr_born_time */
    int64_t connect_us; /* 0 while ringing */
    int time_limit, dump_level_id, attempt_num;
    bool audio_record;
    int auth, customer, vendor, destination, dialpeer;
    int customer_acc, vendor_acc, auth_out; /* as rendered: the demo's, or spread (sim_gen_spread) */
    int rateplan, routing_plan, routing_group;
    int src_country, src_network, dst_country, dst_network;
    int lega_remote_port, lega_local_port, legb_local_port, legb_remote_port;
    int src_name, user_agent, resource_limit, resource_used;
    bool has_lrn, has_diversion, has_pai;
    char local_tag[64];
    char global_tag[40];
    char orig_call_id[48];
    char term_call_id[48];
    char lega_remote_ip[48], lega_local_ip[48], legb_local_ip[48], legb_remote_ip[48];
    char dst_in[48], dst_routing[40], dst_out[48];
    char src_in[24], src_routing[24], src_out[24];
    char lrn[16], diversion[24];
} sim_gen_call;

/* Fills g with a new call. established: a call that was already going on
 * when the node started (started up to an hour ago, ~10% still ringing);
 * otherwise a call that starts ringing now. */
void sim_gen_make(sim_gen_call *g, sim_rng *r, int64_t node_id, int64_t pop_id, int64_t now_us,
                  bool established);
/* From now on, calls made get customer and vendor accounts (and the
 * customer's auth, one per account) drawn from 1..n instead of the demo
 * data's few: many accounts for the metrics' benchmark. 0: the demo's. */
void sim_gen_spread(int n);
/* Draws a fresh local tag (for the rare collision). */
void sim_gen_new_tag(sim_gen_call *g, sim_rng *r);
/* Renders the record into out (appending). *slot is the offset in out where
 * the duration value belongs, or SIZE_MAX when it is a constant null. */
void sim_gen_render(const sim_gen_call *g, buf *out, size_t *slot);

#endif
