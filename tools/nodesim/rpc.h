/* rpc: the JSON-RPC 2.0 layer of the simulated node - decodes one request
 * payload, runs the method against the call table, and appends the framed
 * reply. Knows nothing about sockets, so the event loop can queue, delay
 * or drop the reply as the fault mode says.
 *
 * Methods: yeti.show.calls, yeti.show.calls.count, yeti.show.calls.fields,
 * yeti.show.calls.filtered, yeti.request.call.disconnect (docs/CONTRACT.md
 * §7). Errors: -32700 parse error, -32600 invalid request, -32601 unknown
 * method, -32602 bad params, -32603 out of memory, 404 "call not found",
 * and 500 with the node's own message (and "data":null) when the filtered
 * method refuses its params (filter.h). A request without "id" is a
 * notification: it is executed and not answered (JSON-RPC 2.0). */
#ifndef NODESIM_RPC_H
#define NODESIM_RPC_H

#include <stdbool.h>
#include <stddef.h>

#include "calls.h"
#include "util/buf.h"

/* Handles the request payload p[0..n) and renders the framed reply into
 * frame, which is reset first (its memory is reused). The payload is
 * rendered in place after room left for the netstring header, so a large
 * reply is never copied: the frame is frame->data[*start..frame->len).
 * Returns false, with an empty frame, for a notification; when memory ran
 * out it returns true with frame->oom set. */
bool sim_rpc_handle(sim_calls *calls, const char *p, size_t n, buf *frame, size_t *start);

/* From now on, yeti.show.calls.filtered and yeti.show.calls.fields are
 * unknown methods (-32601), as on a node built before them. */
void sim_rpc_without_filtered(void);

/* --log-requests: prints the request payload p[0..n) as one line on
 * stderr, `nodesim request method=M params=P`: M as a log value (plain, or
 * a JSON string when it holds spaces, quotes or controls: util/log.h), P
 * the params as compact JSON whose strings escape anything that could end
 * a line; "-" for either when the payload has none (or is not JSON). */
void sim_rpc_log_request(const char *p, size_t n);

#endif
