/* calls: the attribute and relationship tables of an active call, and the
 * callset container. The tables are the single source of names and order
 * for the parser, the filters and the document writer. */
#include "model/calls.h"

#include <math.h>
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

const char *const call_extra_fields[XF_COUNT] = {
    [XF_CUSTOMER_ACC_EXTERNAL_ID] = "customer_acc_external_id",
    [XF_VENDOR_ACC_EXTERNAL_ID] = "vendor_acc_external_id",
    [XF_CUSTOMER_AUTH_EXTERNAL_ID] = "customer_auth_external_id",
    [XF_CUSTOMER_AUTH_EXTERNAL_TYPE] = "customer_auth_external_type",
    [XF_CUSTOMER_ACC_VAT] = "customer_acc_vat",
    [XF_DESTINATION_REVERSE_BILLING] = "destination_reverse_billing",
    [XF_DIALPEER_REVERSE_BILLING] = "dialpeer_reverse_billing",
    [XF_CUSTOMER_ACC_CHECK_BALANCE] = "customer_acc_check_balance",
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
    memset(r->extra, 0, sizeof r->extra);
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

/* ---- ordering by attribute ---------------------------------------------------- */

bool call_attr_is_null(const call_record *r, call_attr attr) { return r->attr[attr].len == 0; }

/* A decimal number as text: -?digits[.digits][(e|E)[+-]digits]. Its value
 * is sign × 0.d1d2... × 10^exp10, d1 the first significant digit (at
 * m[first]; the mantissa m may hold one '.', skipped when reading digits). */
typedef struct decnum {
    bool neg, zero;
    const char *m;
    size_t mlen, first;
    int64_t exp10;
} decnum;

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool decnum_parse(const char *s, size_t n, decnum *x)
{
    size_t i = 0;
    x->neg = n > 0 && s[0] == '-';
    i += x->neg;
    size_t start = i;
    while (i < n && is_digit(s[i])) i++;
    int64_t int_digits = (int64_t)(i - start);
    if (int_digits == 0) return false;
    if (i < n && s[i] == '.') {
        size_t frac = ++i;
        while (i < n && is_digit(s[i])) i++;
        if (i == frac) return false;
    }
    x->m = s + start;
    x->mlen = i - start;
    int64_t e = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        bool eneg = ++i < n && s[i] == '-';
        i += i < n && (s[i] == '-' || s[i] == '+');
        size_t digits = i;
        for (; i < n && is_digit(s[i]); i++)
            if (e < INT64_MAX / 100) e = e * 10 + (s[i] - '0'); /* beyond any length: saturated */
        if (i == digits) return false;
        if (eneg) e = -e;
    }
    if (i != n) return false;
    int64_t zeros = 0; /* leading zero digits */
    size_t k = 0;
    for (; k < x->mlen && (x->m[k] == '0' || x->m[k] == '.'); k++) zeros += x->m[k] == '0';
    x->zero = k == x->mlen;
    x->first = k;
    x->exp10 = int_digits - zeros + e;
    return true;
}

/* The digit at or after m[*k] ('.' skipped), or 0 at the end. */
static char decnum_digit(const decnum *x, size_t *k)
{
    if (*k < x->mlen && x->m[*k] == '.') (*k)++;
    return *k < x->mlen ? x->m[(*k)++] : 0;
}

static int decnum_cmp(const decnum *a, const decnum *b)
{
    int sa = a->zero ? 0 : a->neg ? -1 : 1, sb = b->zero ? 0 : b->neg ? -1 : 1;
    if (sa != sb || sa == 0) return (sa > sb) - (sa < sb);
    int mag = (a->exp10 > b->exp10) - (a->exp10 < b->exp10);
    for (size_t i = a->first, j = b->first; mag == 0;) {
        char da = decnum_digit(a, &i), db = decnum_digit(b, &j);
        if (!da && !db) break;
        mag = ((da ? da : '0') > (db ? db : '0')) - ((da ? da : '0') < (db ? db : '0')); /* trailing zeros */
    }
    return sa * mag;
}

/* The bytes a JSON string's escaped text stands for, one at a time (the
 * escapes util/buf.h's escaper writes: \" \\ \/ \b \f \n \r \t \uXXXX). */
typedef struct json_bytes {
    const char *p, *end;
    unsigned char pend[3];
    int npend;
} json_bytes;

static int hex_digit(char c) { return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

/* The next byte, or -1 at the end. */
static int json_bytes_next(json_bytes *it)
{
    if (it->npend) return it->pend[3 - it->npend--];
    if (it->p >= it->end) return -1;
    unsigned char c = (unsigned char)*it->p++;
    if (c != '\\' || it->p >= it->end) return c;
    c = (unsigned char)*it->p++;
    switch (c) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'u': break;
    default: return c;
    }
    unsigned cp = 0;
    for (int k = 0; k < 4 && it->p < it->end; k++) cp = cp * 16 + (unsigned)hex_digit(*it->p++);
    if (cp < 0x80) return (int)cp;
    if (cp < 0x800) {
        it->pend[2] = (unsigned char)(0x80 | (cp & 0x3F));
        it->npend = 1;
        return 0xC0 | (int)(cp >> 6);
    }
    it->pend[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    it->pend[2] = (unsigned char)(0x80 | (cp & 0x3F));
    it->npend = 2;
    return 0xE0 | (int)(cp >> 12);
}

static int json_str_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    json_bytes ia = {a, a + alen, {0}, 0}, ib = {b, b + blen, {0}, 0};
    for (;;) {
        int ca = json_bytes_next(&ia), cb = json_bytes_next(&ib);
        if (ca != cb || ca < 0) return (ca > cb) - (ca < cb);
    }
}

/* What an attribute's JSON text is, in the order they sort. */
typedef enum { VAL_NUMBER, VAL_STRING, VAL_OTHER, VAL_NULL } val_class;

static val_class classify(const char *t, size_t len, decnum *num)
{
    if (len == 0) return VAL_NULL;
    if (t[0] == '"' && len >= 2) return decnum_parse(t + 1, len - 2, num) ? VAL_NUMBER : VAL_STRING;
    return decnum_parse(t, len, num) ? VAL_NUMBER : VAL_OTHER;
}

double call_attr_number(const callset *cs, const call_record *r, call_attr attr)
{
    return call_span_number(cs, r->attr[attr]);
}

double call_cost(const callset *cs, const call_record *r, bool vendor, int64_t ahead)
{
    if (r->duration == CALL_DURATION_NULL) return 0;
    call_attr fee = vendor ? ATTR_DIALPEER_FEE : ATTR_DESTINATION_FEE;
    call_attr ii = vendor ? ATTR_DIALPEER_INITIAL_INTERVAL : ATTR_DESTINATION_INITIAL_INTERVAL;
    call_attr ir = vendor ? ATTR_DIALPEER_INITIAL_RATE : ATTR_DESTINATION_INITIAL_RATE;
    call_attr ni = vendor ? ATTR_DIALPEER_NEXT_INTERVAL : ATTR_DESTINATION_NEXT_INTERVAL;
    call_attr nr = vendor ? ATTR_DIALPEER_NEXT_RATE : ATTR_DESTINATION_NEXT_RATE;
    double initial = call_attr_number(cs, r, ii), next = call_attr_number(cs, r, ni);
    double cost = call_attr_number(cs, r, fee) + initial * call_attr_number(cs, r, ir) / 60;
    double d = (double)r->duration + (double)ahead;
    if (d > initial && next > 0) cost += ceil((d - initial) / next) * next * call_attr_number(cs, r, nr) / 60;
    return cost;
}

bool call_span_true(const callset *cs, call_span s)
{
    return s.len == 4 && memcmp(callset_text(cs, s), "true", 4) == 0;
}

void call_span_text(buf *out, const callset *cs, call_span s)
{
    const char *t = callset_text(cs, s);
    if (s.len < 2 || t[0] != '"') {
        buf_append(out, t, s.len);
        return;
    }
    json_bytes it = {t + 1, t + s.len - 1, {0}, 0};
    for (int c; (c = json_bytes_next(&it)) >= 0;) buf_putc(out, (char)c);
}

double call_span_number(const callset *cs, call_span sp)
{
    decnum x;
    if (classify(callset_text(cs, sp), sp.len, &x) != VAL_NUMBER || x.zero) return 0;
    double v = 0;
    int64_t used = 0;
    for (size_t k = x.first; k < x.mlen && used < 17; used++) { /* a double's worth of digits */
        char d = decnum_digit(&x, &k);
        v = v * 10 + (d - '0');
    }
    v *= pow(10.0, (double)(x.exp10 - used));
    return x.neg ? -v : v;
}

int call_attr_cmp(const callset *ca, const call_record *a, const callset *cb, const call_record *b,
                  call_attr attr)
{
    /* the duration's text is written from the integer: compare that */
    if (attr == ATTR_DURATION && a->duration != CALL_DURATION_NULL && b->duration != CALL_DURATION_NULL)
        return (a->duration > b->duration) - (a->duration < b->duration);
    call_span sa = a->attr[attr], sb = b->attr[attr];
    const char *ta = callset_text(ca, sa), *tb = callset_text(cb, sb);
    decnum na, nb;
    val_class ka = classify(ta, sa.len, &na), kb = classify(tb, sb.len, &nb);
    if (ka != kb) return ka < kb ? -1 : 1;
    switch (ka) {
    case VAL_NUMBER: return decnum_cmp(&na, &nb);
    case VAL_STRING: return json_str_cmp(ta + 1, sa.len - 2, tb + 1, sb.len - 2);
    case VAL_OTHER: {
        int c = memcmp(ta, tb, sa.len < sb.len ? sa.len : sb.len);
        return c ? (c > 0) - (c < 0) : (sa.len > sb.len) - (sa.len < sb.len);
    }
    case VAL_NULL: return 0;
    }
    return 0;
}
