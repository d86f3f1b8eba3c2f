/* reply: parser of one JSON-RPC 2.0 reply from a switch node.
 *
 * The reply is held whole and scanned in one pass by a strict hand-written
 * JSON scanner (RFC 8259) that keeps only what the API needs (see
 * model/calls.h): reply_parser_parse_all scans a reply the caller holds
 * whole, without copying it (nodes/reply_internal.h feeds one in pieces,
 * for the tests). The parser checks the
 * envelope: a JSON object with "jsonrpc":"2.0" whose `id` equals the
 * request's, holding either `result` or `error`. A parser is used by one
 * thread at a time; different parsers may run on different threads. */
#ifndef AC_NODES_REPLY_H
#define AC_NODES_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/calls.h"

typedef enum {
    REPLY_EXPECT_CALLS, /* result must be an array of call records → callset */
    REPLY_EXPECT_ANY,   /* any result (count, disconnect): kept if an integer */
} reply_expect;

typedef enum {
    REPLY_OK,
    REPLY_RPC_ERROR,        /* the node answered a JSON-RPC error */
    REPLY_INVALID,          /* not JSON, not JSON-RPC, wrong id, wrong shape */
    REPLY_TOO_MANY_RECORDS, /* more call records than reply_parser_limit_records allows */
} reply_outcome;

typedef struct reply_parser reply_parser;

/* `out` receives the records (REPLY_EXPECT_CALLS); it is not reset. */
reply_parser *reply_parser_new(reply_expect expect, int64_t request_id, callset *out);
void reply_parser_free(reply_parser *p);
/* At most `max` call records (default: no limit); the scan stops at the
 * first one beyond, which makes the reply REPLY_TOO_MANY_RECORDS. */
void reply_parser_limit_records(reply_parser *p, size_t max);

/* Scans the whole reply data[0..n) and classifies it; parsing again gives
 * the same answer. */
reply_outcome reply_parser_parse_all(reply_parser *p, const char *data, size_t n);

/* After parsing: what went wrong (REPLY_INVALID, REPLY_TOO_MANY_RECORDS) or
 * the node's message (REPLY_RPC_ERROR); "" on success. */
const char *reply_parser_detail(const reply_parser *p);
int64_t reply_parser_rpc_code(const reply_parser *p);
/* After parsing with REPLY_EXPECT_ANY: the integer result, if it was one. */
bool reply_parser_int_result(const reply_parser *p, int64_t *v);

#endif
