/* filter: the node's field list and rule language, for
 * yeti.show.calls.fields and yeti.show.calls.filtered (docs/CONTRACT.md §7).
 *
 * The fields are a yeti node's: the fixed call fields, each with the type
 * the node gives it and whether a rule may name it (only connect_time,
 * duration and attempt_num may), then the routing ("dynamic") fields the
 * simulator's records carry, typed as a yeti routing database types them
 * (ids "integer" or "bigint", rates and fees "numeric", prefixes and names
 * "varchar", ...). A request names fields, then optionally "WHERE" and
 * rules `<field><op><value>`; it is parsed once into a query
 * (sim_query_parse), which then picks calls (sim_query_select) and writes
 * each picked call with only the named fields (sim_query_write). A request
 * the node refuses gets the node's own message, word for word; the rpc
 * layer sends it as a JSON-RPC error 500.
 *
 * Knows nothing of JSON-RPC or of the call table: it reads a record's text
 * (record.h) and writes JSON into a buf. */
#ifndef NODESIM_FILTER_H
#define NODESIM_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "util/buf.h"

typedef enum {
    SIM_RULE_NONE,         /* known, but no rule may name it */
    SIM_RULE_DYNAMIC,      /* a routing field: what a rule may do follows its type */
    SIM_RULE_DURATION,     /* a rule on connect_time measured from now */
    SIM_RULE_CONNECT_TIME, /* whole seconds */
    SIM_RULE_ATTEMPT_NUM,  /* an integer */
} sim_rule_kind;

typedef struct sim_field {
    const char *name;
    const char *type; /* the node's type name, as yeti.show.calls.fields lists it */
    sim_rule_kind rule;
} sim_field;

/* Every field, the fixed ones first; sim_field_count of them. */
extern const sim_field sim_fields[];
extern const size_t sim_field_count;

/* The field called name, or NULL. */
const sim_field *sim_field_find(const char *name);

/* Appends yeti.show.calls.fields' result: an object with one member per
 * field, {"is_dynamic":bool,"type":"..."}, members in name order as the
 * node writes its objects. */
void sim_fields_write(buf *out);

typedef enum { SIM_OP_EQ, SIM_OP_NEQ, SIM_OP_GT, SIM_OP_LT, SIM_OP_GTE, SIM_OP_LTE } sim_op;

typedef enum {
    SIM_TEST_SECONDS, /* connect_time's whole seconds; never true while it is 0 */
    SIM_TEST_INT,     /* a JSON integer within 32 bits */
    SIM_TEST_BIGINT,  /* a JSON integer within 64 bits */
    SIM_TEST_STRING,  /* a JSON string, equal or not (= and != only) */
} sim_test;

typedef struct sim_rule {
    size_t want; /* index of the field in sim_query.want */
    sim_test test;
    sim_op op;
    int64_t num; /* the value, or (SECONDS) the epoch second compared with */
    char *str;   /* STRING: the value */
    /* a duration rule: N seconds, and the record's duration field, so that
     * a record whose duration is fixed (from a calls file) is judged at the
     * moment it describes, connect_time + duration, as a node would have */
    bool by_duration;
    double dur;
    size_t dur_want;
} sim_rule;

typedef struct sim_query {
    const sim_field **want; /* every field named, once */
    sim_span *found;        /* per want: its value in the record last selected */
    bool *have;             /* per want: whether that record has it */
    size_t nwant;
    size_t *out; /* the reply's members (indexes into want), in name order */
    size_t nout;
    sim_rule *rules;
    size_t nrules;
} sim_query;

/* Parses yeti.show.calls.filtered's params (a JSON array, or NULL for none)
 * as of now_sec (the epoch second duration rules count from). 0 with q
 * ready; -1 with the node's refusal in msg (or msg->oom set when memory ran
 * out), q left empty. */
int sim_query_parse(sim_query *q, const json_t *params, int64_t now_sec, buf *msg);
void sim_query_free(sim_query *q);

/* Where each field's value lies in a call's text, so that a node's walk
 * reads no text but the fields it names: per field of sim_fields, at[2f]
 * is the value's offset + 1 (0: the record lacks the field;
 * SIM_AT_DURATION: the live duration, written apart) and at[2f + 1] its
 * length. Built from one rendered record (sim_index_build). */
struct sim_field_index {
    uint32_t n;    /* fields found */
    uint32_t at[]; /* 2 * sim_field_count */
};
typedef struct sim_field_index sim_field_index;
#define SIM_AT_DURATION UINT32_MAX

/* The index of a record rendered as rec[0..n) whose text without the live
 * duration is the same but for the dlen bytes at slot (SIZE_MAX: none);
 * NULL when out of memory or a record is over 4 GiB. */
sim_field_index *sim_index_build(const char *rec, size_t n, size_t slot, size_t dlen);
/* Sets the query's fields from a call's text and index instead of reading
 * a record (sim_query_select); duration is the live duration's text. */
void sim_query_load(sim_query *q, const char *text, const sim_field_index *ix, sim_span duration);
/* Whether the fields set last meet every rule (fixed_duration as below). */
bool sim_query_holds(const sim_query *q, bool fixed_duration);

/* Reads the record rec[0..n) and tells whether it meets every rule. A
 * record whose duration is fixed (from a calls file: fixed_duration) has
 * its duration rules judged at the moment it describes, connect_time +
 * duration; others at the query's now. */
bool sim_query_select(sim_query *q, const char *rec, size_t n, bool fixed_duration);
/* False when a call connected at connect_us (0: not connected) cannot meet
 * the query's connect_time and duration rules as of the query's now: such
 * a call need not be rendered and read at all (a node walks thousands). */
bool sim_query_may_select(const sim_query *q, int64_t connect_us);
/* Appends the record last selected as an object of the named fields. */
void sim_query_write(const sim_query *q, buf *out);

#endif
