/* calls: the in-memory shape of a node's active calls (docs/CONTRACT.md §2, §7).
 *
 * A node's reply is parsed once (nodes/reply.c) into a callset: each record
 * keeps, for every one of the 35 API attributes, the JSON text that the
 * document will print (already escaped and formatted), plus the integer ids
 * the filters and relationships need. All text lives in one arena per reply,
 * so a record costs no allocation of its own and writing the document is a
 * series of memcpy. Fields the API does not use are never stored. */
#ifndef AC_MODEL_CALLS_H
#define AC_MODEL_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* The 35 attributes, in document order (docs/CONTRACT.md §2). */
typedef enum {
    ATTR_START_TIME,
    ATTR_CONNECT_TIME,
    ATTR_DURATION,
    ATTR_TIME_LIMIT,
    ATTR_DST_PREFIX_IN,
    ATTR_DST_PREFIX_ROUTING,
    ATTR_LRN,
    ATTR_DST_PREFIX_OUT,
    ATTR_SRC_PREFIX_IN,
    ATTR_SRC_PREFIX_ROUTING,
    ATTR_SRC_PREFIX_OUT,
    ATTR_DIVERSION_IN,
    ATTR_DIVERSION_OUT,
    ATTR_DESTINATION_INITIAL_RATE,
    ATTR_DESTINATION_NEXT_RATE,
    ATTR_DESTINATION_INITIAL_INTERVAL,
    ATTR_DESTINATION_NEXT_INTERVAL,
    ATTR_DESTINATION_FEE,
    ATTR_DESTINATION_RATE_POLICY_ID,
    ATTR_DIALPEER_INITIAL_RATE,
    ATTR_DIALPEER_NEXT_RATE,
    ATTR_DIALPEER_INITIAL_INTERVAL,
    ATTR_DIALPEER_NEXT_INTERVAL,
    ATTR_DIALPEER_FEE,
    ATTR_LEG_A_REMOTE_IP,
    ATTR_LEG_A_REMOTE_PORT,
    ATTR_ORIG_CALL_ID,
    ATTR_LEG_A_LOCAL_IP,
    ATTR_LEG_A_LOCAL_PORT,
    ATTR_LOCAL_TAG,
    ATTR_LEG_B_LOCAL_IP,
    ATTR_LEG_B_LOCAL_PORT,
    ATTR_TERM_CALL_ID,
    ATTR_LEG_B_REMOTE_IP,
    ATTR_LEG_B_REMOTE_PORT,
    ATTR_COUNT
} call_attr;

/* The 18 relationships, in document order. All but REL_NODE come from a
 * node field holding an integer id. */
typedef enum {
    REL_CUSTOMER,
    REL_VENDOR,
    REL_CUSTOMER_ACC,
    REL_VENDOR_ACC,
    REL_CUSTOMER_AUTH,
    REL_RATEPLAN,
    REL_DESTINATION,
    REL_ROUTING_GROUP,
    REL_ROUTING_PLAN,
    REL_DIALPEER,
    REL_ORIG_GW,
    REL_TERM_GW,
    REL_SRC_COUNTRY,
    REL_SRC_NETWORK,
    REL_DST_COUNTRY,
    REL_DST_NETWORK,
    REL_POP,
    REL_NODE,
    REL_COUNT
} call_rel;

#define REL_FROM_RECORD REL_NODE /* relationships 0..REL_NODE-1 are record fields */

/* Record fields the service reads beyond the API's attributes and
 * relationships: the labels and prices of the metrics (docs/METRICS.md)
 * and what the calls monitor judges (docs/API.md).
 * Kept as attributes are (JSON text), never printed in a document. */
typedef enum {
    XF_CUSTOMER_ACC_EXTERNAL_ID,
    XF_VENDOR_ACC_EXTERNAL_ID,
    XF_CUSTOMER_AUTH_EXTERNAL_ID,
    XF_CUSTOMER_AUTH_EXTERNAL_TYPE,
    XF_CUSTOMER_ACC_VAT,
    XF_DESTINATION_REVERSE_BILLING,
    XF_DIALPEER_REVERSE_BILLING,
    XF_CUSTOMER_ACC_CHECK_BALANCE, /* the calls monitor's (docs/API.md) */
    XF_COUNT
} call_extra;

extern const char *const call_extra_fields[XF_COUNT]; /* node record field names */
#define CALL_ID_NONE INT64_MIN                        /* field missing, null or not an integer */
#define CALL_DURATION_NULL INT64_MIN

typedef struct call_attr_def {
    const char *name;  /* API attribute, e.g. "start-time" */
    const char *field; /* node record field, e.g. "start_time" */
} call_attr_def;

typedef struct call_rel_def {
    const char *name;  /* relationship, e.g. "customer-acc" */
    const char *type;  /* JSON:API type of the related resource */
    const char *field; /* node field with its id (NULL for "node") */
} call_rel_def;

extern const call_attr_def call_attrs[ATTR_COUNT];
extern const call_rel_def call_rels[REL_COUNT];

/* A span of JSON text in the callset arena; len 0 means null. */
typedef struct call_span {
    uint32_t off, len;
} call_span;

typedef struct call_record {
    call_span attr[ATTR_COUNT];
    call_span extra[XF_COUNT];
    call_span tag;                   /* the raw local_tag bytes (unescaped) */
    int64_t rel_id[REL_FROM_RECORD]; /* CALL_ID_NONE when absent */
    int64_t duration;                /* truncated seconds, CALL_DURATION_NULL */
} call_record;

typedef struct callset {
    buf arena;
    call_record *recs;
    size_t n, cap;
    size_t skipped; /* records dropped for lacking a string local_tag */
} callset;

void callset_init(callset *cs);
void callset_free(callset *cs);
void callset_reset(callset *cs);
/* Appends a zeroed record (all null/absent); NULL when out of memory. */
call_record *callset_push(callset *cs);
void callset_pop(callset *cs);

static inline const char *callset_text(const callset *cs, call_span s) { return cs->arena.data + s.off; }

/* A relationship id stored as text in a record (a related resource's
 * column, store/resources.h: res_row.vals): the id when the text is
 * canonical decimal of 1..INT64_MAX (util/decimal.h: digits only, no sign,
 * space or leading zero), else CALL_ID_NONE (NULL, "", " 5", "+5", "05",
 * "0", "-5", a value beyond INT64_MAX). The document's linkage and the
 * include resolver both read stored ids with it, so a relationship whose
 * data names a resource is the one `included` holds, and the id printed is
 * the text stored. */
int64_t call_rel_id_parse(const char *text);

/* Orders two records by attribute a: numbers numerically (JSON number
 * text, or a string holding a decimal number, e.g. rates "0.11"), then
 * strings by their bytes, then other JSON (true/false/objects) by text;
 * null is NOT handled here: returns 0 for two nulls, and the caller puts
 * nulls last. (A null against a value orders after it, so the order is
 * total all the same.) Numbers compare exactly, whatever their digits
 * (-?digits[.digits][e[+-]digits]; a string may have leading zeros, "007");
 * numbers of equal value written differently ("1.50", 1.5) are equal.
 * Dates ("YYYY-MM-DDTHH:MM:SS.000Z") are strings, whose byte order is time
 * order. Strings compare by their bytes once unescaped. Nothing is
 * allocated. */
int call_attr_cmp(const callset *ca, const call_record *a, const callset *cb, const call_record *b,
                  call_attr attr);
bool call_attr_is_null(const call_record *r, call_attr attr);
/* The attribute's value as a number, as call_attr_cmp reads numbers (a JSON
 * number, or a string holding a decimal one, e.g. rates "0.11"); 0 when it
 * is null or no number. */
double call_attr_number(const callset *cs, const call_record *r, call_attr attr);
/* The same for any span of a record (an extra field). */
double call_span_number(const callset *cs, call_span s);
/* Whether the span holds the literal true. */
bool call_span_true(const callset *cs, call_span s);
/* Appends the value as text: a string's bytes unescaped, anything else as
 * its JSON text, nothing for null (as yeti's labels write them). */
void call_span_text(buf *out, const callset *cs, call_span s);

/* What a call costs after `ahead` seconds more, by yeti's formula: the
 * fee, the initial interval at the initial rate, then each started next
 * interval at the next rate (rates per minute); the customer's side
 * (destination_*) or the vendor's (dialpeer_*). A call not yet connected
 * costs nothing. No VAT: the caller applies it where it belongs. */
double call_cost(const callset *cs, const call_record *r, bool vendor, int64_t ahead);

/* Index of an attribute / relationship by API name, or -1. */
int call_attr_index(const char *name, size_t len);
int call_rel_index(const char *name, size_t len);

#endif
