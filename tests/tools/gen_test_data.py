#!/usr/bin/python3
"""Writes the call files the integration tests feed to activecalls-nodesim.

    tests/tools/gen_test_data.py [DATA_DIR]     (default: tests/data)

The output is committed; rerun this only to change the data set, and then
update the expectations in tests/integration/it_listing.c (the comments
there repeat the design below).

seed_calls.json
    The two calls of the API document (seed/000_...txt) as full node
    records (docs/CONTRACT.md §7 names), for node 1 / pop 1.  Times are epoch
    floats whose truncation gives exactly the seed's timestamps (the
    fractions .871 / .999 / .5 / .75 would round differently); durations
    32.87 and 35.6 truncate to 32 and 35 (rounding gives 33 and 36).  The
    records also carry routing ids and fields the service must ignore.

filter_calls_node{1,2,3}.json  (nodes 1 and 2 in pop 1, node 3 in pop 2)
    node 1: n1-a (10.9 s), n1-b (45.2 s), n1-c (ringing: connect_time 0,
            duration null), n1-d (120.0 s)
    node 2: n2-a (30.99 s), n2-b (10.0 s), n2-c (not routed yet: no
            routing fields at all, duration null)
    node 3: n3-a (45.999 s), n3-b (5.5 s), n3-c (300.4 s)
    The nine routed calls, in listing order, have index i = 0..8
    (n1-a .. n3-c without n2-c).  Routing field number k (ROUTING below,
    0..15) of call i holds 1000*(k+1) + (i+k) % 3, so every field has its
    own value range (a filter compared against the wrong field matches
    nothing) and the value 1000*(k+1) selects the calls with
    (i+k) % 3 == 0:
        k % 3 == 0: n1-a n1-d n3-a
        k % 3 == 1: n1-c n2-b n3-c
        k % 3 == 2: n1-b n2-a n3-b
    n3-c's orig_call_id holds characters that need JSON escaping.
"""
import calendar
import json
import os
import sys

ROUTING = [
    "customer_id", "vendor_id", "customer_acc_id", "vendor_acc_id",
    "customer_auth_id", "rateplan_id", "destination_id", "routing_group_id",
    "routing_plan_id", "dialpeer_id", "orig_gw_id", "term_gw_id",
    "src_country_id", "src_network_id", "dst_country_id", "dst_network_id",
]

T_START_1 = calendar.timegm((2026, 1, 2, 12, 43, 18, 0, 0, 0))
T_START_2 = calendar.timegm((2026, 1, 2, 12, 43, 26, 0, 0, 0))
T_CONNECT = calendar.timegm((2026, 1, 2, 12, 44, 0, 0, 0, 0))


def seed_call(tag, global_tag, start, connect, duration, ids):
    """One of the seed's calls, every field a yeti node sends."""
    rec = {
        "node_id": 1,
        "pop_id": 1,
        "local_time": start,
        "cdr_born_time": start,
        "start_time": start,
        "connect_time": connect,
        "end_time": 0,
        "duration": duration,
        "time_limit": 4909,
        "dump_level_id": 0,
        "audio_record_enabled": False,
        "attempt_num": 1,
        "resources": "",
        "active_resources": "",
        "active_resources_json": [],
        "legA_remote_ip": "192.168.88.23",
        "legA_remote_port": 5060,
        "legA_local_ip": "192.168.88.23",
        "legA_local_port": 5061,
        "legB_remote_ip": "",
        "legB_remote_port": 0,
        "legB_local_ip": "",
        "legB_local_port": 0,
        "orig_call_id": "2141402782-1223087865-286388420",
        "term_call_id": "8-5D73A55A-5CFB77360000494D-19C01700",
        "local_tag": tag,
        "global_tag": global_tag,
        "disconnect_code": 0,
        "disconnect_reason": "",
        "disconnect_initiator": 0,
        "disconnect_intermediate_code": 0,
        "disconnect_intermediate_reason": "",
        "disconnect_rewrited_code": 0,
        "disconnect_rewrited_reason": "",
        "dst_prefix_in": "9810441492550028",
        "dst_prefix_routing": "3800000000000000000",
        "lrn": None,
        "dst_prefix_out": "3800000000000000000",
        "src_prefix_in": "10317",
        "src_prefix_routing": "10317",
        "src_prefix_out": "10317",
        "diversion_in": None,
        "diversion_out": None,
        "destination_initial_rate": "0.11",
        "destination_next_rate": "0.11",
        "destination_initial_interval": 1,
        "destination_next_interval": 1,
        "destination_fee": "0.0",
        "destination_rate_policy_id": 1,
        "dialpeer_initial_rate": "0.005",
        "dialpeer_next_rate": "0.001",
        "dialpeer_initial_interval": 1,
        "dialpeer_next_interval": 1,
        "dialpeer_fee": "0.0",
        # Fields a node sends that the service must ignore.
        "destination_prefix": "38",
        "dialpeer_prefix": "380",
        "src_name_in": "10317",
        "src_name_out": "10317",
        "from_domain": "192.168.88.23",
        "to_domain": "192.168.88.23",
        "ruri_domain": "192.168.88.23",
        "auth_orig_ip": "192.168.88.23",
        "auth_orig_port": 5060,
        "customer_price": "0.11",
        "vendor_price": "0.005",
        "profit": "0.105",
        "pai_in": None,
        "ppi_in": None,
        "privacy_in": None,
        "legB_user_agent": "",
        "legA_user_agent": "PortaSIP",
        "p_charge_info_in": None,
        "extra_nested": {"a": [1, 2, {"b": None}], "c": "x"},
    }
    rec.update(ids)
    return rec


def seed_calls():
    ids = {f: 1 + n for n, f in enumerate(ROUTING)}
    ids["customer_id"] = 22
    return [
        seed_call("FC-D0E4-DFE7A0D5E7641EDAD6E6E9B8FDCEDB91-706EA6CEAC6EBD86",
                  "4a3e2a7c-1f9f-4c8e-9a63-0b8f2b0fc001",
                  T_START_1 + 0.871, T_CONNECT + 0.999, 32.87, ids),
        seed_call("03-3D73-55FA51B805CDE1BACF2FB0ED76C3D37B-2962144B354702AF",
                  "4a3e2a7c-1f9f-4c8e-9a63-0b8f2b0fc002",
                  T_START_2 + 0.5, T_CONNECT + 0.75, 35.6, ids),
    ]


# (tag, node, duration or None, routed)
FILTER_CALLS = [
    ("n1-a", 1, 10.9, True),
    ("n1-b", 1, 45.2, True),
    ("n1-c", 1, None, True),
    ("n1-d", 1, 120.0, True),
    ("n2-a", 2, 30.99, True),
    ("n2-b", 2, 10.0, True),
    ("n2-c", 2, None, False),
    ("n3-a", 3, 45.999, True),
    ("n3-b", 3, 5.5, True),
    ("n3-c", 3, 300.4, True),
]
POP_OF = {1: 1, 2: 1, 3: 2}


def filter_call(tag, node, duration, routed, i):
    start = T_START_1 + 0.25 + i
    connect = 0 if duration is None else T_CONNECT + 0.5 + i
    rec = {
        "node_id": node,
        "pop_id": POP_OF[node],
        "local_time": start,
        "cdr_born_time": start,
        "start_time": start,
        "connect_time": connect,
        "end_time": 0,
        "duration": duration,
        "time_limit": 7200,
        "dump_level_id": 0,
        "audio_record_enabled": False,
        "attempt_num": 1,
        "resources": "",
        "active_resources": "",
        "active_resources_json": [],
        "legA_remote_ip": "10.0.%d.%d" % (node, 10 + len(tag)),
        "legA_remote_port": 5060,
        "legA_local_ip": "10.0.%d.1" % node,
        "legA_local_port": 5060,
        "legB_remote_ip": "" if duration is None else "10.9.%d.2" % node,
        "legB_remote_port": 0 if duration is None else 5060,
        "legB_local_ip": "" if duration is None else "10.0.%d.1" % node,
        "legB_local_port": 0 if duration is None else 5062,
        "orig_call_id": "orig-" + tag,
        "term_call_id": "" if duration is None else "term-" + tag,
        "local_tag": tag,
        "global_tag": "global-" + tag,
        "disconnect_code": 0,
        "disconnect_reason": "",
        "disconnect_initiator": 0,
    }
    if tag == "n3-c":
        rec["orig_call_id"] = "q\"uote\\back/slash\u0001ctl\ttab\u00e9\u2603\U0001F600"
    if routed:
        rec.update({
            "dst_prefix_in": "380441234567",
            "dst_prefix_routing": "380441234567",
            "lrn": None,
            "dst_prefix_out": "380441234567",
            "src_prefix_in": "4930123456",
            "src_prefix_routing": "4930123456",
            "src_prefix_out": "4930123456",
            "diversion_in": None,
            "diversion_out": None,
            "destination_initial_rate": "0.02",
            "destination_next_rate": "0.02",
            "destination_initial_interval": 60,
            "destination_next_interval": 60,
            "destination_fee": "0.0",
            "destination_rate_policy_id": 1,
            "dialpeer_initial_rate": "0.01",
            "dialpeer_next_rate": "0.01",
            "dialpeer_initial_interval": 1,
            "dialpeer_next_interval": 1,
            "dialpeer_fee": "0.0",
        })
        for k, field in enumerate(ROUTING):
            rec[field] = 1000 * (k + 1) + (i + k) % 3
    return rec


def filter_calls():
    per_node = {1: [], 2: [], 3: []}
    i = 0
    for tag, node, duration, routed in FILTER_CALLS:
        per_node[node].append(filter_call(tag, node, duration, routed, i))
        if routed:
            i += 1
    return per_node


def write(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "data")
    write(os.path.join(out, "seed_calls.json"), seed_calls())
    for node, calls in filter_calls().items():
        write(os.path.join(out, "filter_calls_node%d.json" % node), calls)


if __name__ == "__main__":
    main()
