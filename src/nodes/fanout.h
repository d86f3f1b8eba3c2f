/* fanout: asks several switch nodes at once, under one deadline.
 *
 * A node pool owns one event-loop thread for every node round in flight:
 * `node_pool_start` hands it a round (one JSON-RPC request per target) and
 * returns at once; the loop drives every round's sockets (non-blocking,
 * one epoll) and calls the round's `done` when each target has answered,
 * failed, or the deadline passed. So a request waiting for nodes holds no
 * thread. Each node's outcome is reported separately; a failing node never
 * fails the others. Connections are persistent: after a clean reply the
 * socket goes back to a per-node idle list and the next request reuses it;
 * a connection that broke, timed out or misbehaved is closed and replaced.
 * A reply is collected whole, then parsed (nodes/reply.h): large ones on
 * the CPU pool while the loop reads the others. A reply that has arrived
 * whole by the deadline is parsed to the end, so `done` may come after the
 * deadline by that parse, never by a wait on a node. A reply announcing
 * more than `max_reply_bytes` is cut off at its netstring header, and one
 * holding more than `max_calls` call records is refused at the first record
 * beyond (NODE_ERR_TOO_MANY_RECORDS). */
#ifndef AC_NODES_FANOUT_H
#define AC_NODES_FANOUT_H

#include <stddef.h>
#include <stdint.h>

#include "model/calls.h"
#include "nodes/reply.h"
#include "util/pool.h"

typedef struct node_target {
    int64_t id;
    const char *name;
    const char *endpoint; /* numeric "ip:port" or "[ipv6]:port" */
} node_target;

typedef struct node_call {
    const char *method;
    const char *const *params; /* string parameters */
    size_t nparams;
    reply_expect expect;
    /* Asked instead, in the same round and under the same deadline, when
     * the node answers this call with a JSON-RPC error (a method or a
     * parameter this node does not take); NULL: the error is the outcome. */
    const struct node_call *fallback;
} node_call;

typedef enum {
    NODE_OK,
    NODE_ERR_REFUSED,
    NODE_ERR_TIMEOUT,
    NODE_ERR_CLOSED,
    NODE_ERR_INVALID,
    NODE_ERR_TOO_LARGE,
    NODE_ERR_TOO_MANY_RECORDS,
    NODE_ERR_DOCUMENT_TOO_LARGE, /* set by a listing: the node's calls alone are over its limit */
    NODE_ERR_RPC,
    NODE_ERR_ENDPOINT,
    NODE_ERR_NETWORK,
} node_status;

/* The JSON-RPC error code a node gives for a call it does not have (a
 * disconnect of a call that has just ended, say). */
#define NODE_RPC_CALL_NOT_FOUND 404

typedef struct node_result {
    node_status status;
    char detail[256]; /* human-readable reason when status != NODE_OK */
    int64_t rpc_code; /* NODE_ERR_RPC: the node's error code */
    bool fell_back;   /* the call's fallback was asked: rpc_code and detail say why */
    bool has_int;     /* REPLY_EXPECT_ANY: the result was an integer */
    int64_t int_result;
    callset calls;    /* REPLY_EXPECT_CALLS: the records */
    int64_t parse_us; /* time spent parsing the reply */
} node_result;

/* The error code used in documents: "timeout", "connection-refused", ... */
const char *node_status_code(node_status s);

typedef struct node_pool node_pool;
typedef struct node_round node_round;
typedef void (*node_round_done)(void *arg);

/* `cpu` parses big replies (NULL: the loop parses them itself). */
node_pool *node_pool_new(uint64_t max_reply_bytes, size_t max_calls, size_t max_idle_per_node,
                         worker_pool *cpu);
/* Finishes the rounds in flight, then stops the loop. */
void node_pool_free(node_pool *pool);

/* results[i] must be initialised (node_result_init) by the caller. */
void node_result_init(node_result *r);
void node_result_free(node_result *r);

/* Starts a round; done(arg) is called once, on the pool's loop thread (or
 * right here when memory runs out), when results[0..n) are final. targets,
 * calls and results must stay valid until then. done must be quick: hand
 * the rest of the work to a worker. */
void node_pool_start(node_pool *pool, size_t n, const node_target *targets, const node_call *calls,
                     int timeout_ms, node_result *results, node_round_done done, void *arg);

#endif
