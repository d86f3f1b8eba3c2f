/* filter: fields, rule parsing and matching, filtered records (see
 * filter.h). The rules of docs/CONTRACT.md §7 ("Filtered calls") are
 * followed to the letter, including the node's quirks: how an operator is
 * found, how integers and numbers are read, the direction of duration
 * rules, and the exact text of every refusal. */
#include "filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const sim_field sim_fields[] = {
    /* the fixed fields, in the node's order */
    {"node_id", "integer", SIM_RULE_NONE},
    {"pop_id", "integer", SIM_RULE_NONE},
    {"local_time", "timestamp", SIM_RULE_NONE},
    {"cdr_born_time", "timestamp", SIM_RULE_NONE},
    {"start_time", "timestamp", SIM_RULE_NONE},
    {"connect_time", "timestamp", SIM_RULE_CONNECT_TIME},
    {"end_time", "timestamp", SIM_RULE_NONE},
    {"duration", "double", SIM_RULE_DURATION},
    {"attempt_num", "integer", SIM_RULE_ATTEMPT_NUM},
    {"resources", "string", SIM_RULE_NONE},
    {"active_resources", "string", SIM_RULE_NONE},
    {"active_resources_json", "string", SIM_RULE_NONE},
    {"legB_remote_port", "integer", SIM_RULE_NONE},
    {"legB_local_port", "integer", SIM_RULE_NONE},
    {"legA_remote_port", "integer", SIM_RULE_NONE},
    {"legA_local_port", "integer", SIM_RULE_NONE},
    {"legB_remote_ip", "string", SIM_RULE_NONE},
    {"legB_local_ip", "string", SIM_RULE_NONE},
    {"legA_remote_ip", "string", SIM_RULE_NONE},
    {"legA_local_ip", "string", SIM_RULE_NONE},
    {"orig_call_id", "string", SIM_RULE_NONE},
    {"term_call_id", "string", SIM_RULE_NONE},
    {"local_tag", "string", SIM_RULE_NONE},
    {"global_tag", "string", SIM_RULE_NONE},
    {"time_limit", "integer", SIM_RULE_NONE},
    {"dump_level_id", "integer", SIM_RULE_NONE},
    {"audio_record_enabled", "integer", SIM_RULE_NONE},
    {"versions", "json", SIM_RULE_NONE},
    /* the routing fields of the simulator's records (gen.c), in their order */
    {"customer_id", "integer", SIM_RULE_DYNAMIC},
    {"customer_external_id", "bigint", SIM_RULE_DYNAMIC},
    {"vendor_id", "integer", SIM_RULE_DYNAMIC},
    {"vendor_external_id", "bigint", SIM_RULE_DYNAMIC},
    {"customer_acc_id", "integer", SIM_RULE_DYNAMIC},
    {"customer_acc_external_id", "bigint", SIM_RULE_DYNAMIC},
    {"customer_acc_vat", "numeric", SIM_RULE_DYNAMIC},
    {"customer_acc_check_balance", "boolean", SIM_RULE_DYNAMIC},
    {"vendor_acc_id", "integer", SIM_RULE_DYNAMIC},
    {"vendor_acc_external_id", "bigint", SIM_RULE_DYNAMIC},
    {"customer_auth_id", "integer", SIM_RULE_DYNAMIC},
    {"customer_auth_external_id", "bigint", SIM_RULE_DYNAMIC},
    {"customer_auth_external_type", "varchar", SIM_RULE_DYNAMIC},
    {"destination_id", "bigint", SIM_RULE_DYNAMIC},
    {"dialpeer_id", "bigint", SIM_RULE_DYNAMIC},
    {"orig_gw_id", "integer", SIM_RULE_DYNAMIC},
    {"orig_gw_external_id", "bigint", SIM_RULE_DYNAMIC},
    {"term_gw_id", "integer", SIM_RULE_DYNAMIC},
    {"term_gw_external_id", "bigint", SIM_RULE_DYNAMIC},
    {"routing_group_id", "integer", SIM_RULE_DYNAMIC},
    {"routing_plan_id", "integer", SIM_RULE_DYNAMIC},
    {"rateplan_id", "integer", SIM_RULE_DYNAMIC},
    {"src_country_id", "integer", SIM_RULE_DYNAMIC},
    {"src_network_id", "integer", SIM_RULE_DYNAMIC},
    {"dst_country_id", "integer", SIM_RULE_DYNAMIC},
    {"dst_network_id", "integer", SIM_RULE_DYNAMIC},
    {"lrn", "varchar", SIM_RULE_DYNAMIC},
    {"dst_prefix_in", "varchar", SIM_RULE_DYNAMIC},
    {"dst_prefix_routing", "varchar", SIM_RULE_DYNAMIC},
    {"dst_prefix_out", "varchar", SIM_RULE_DYNAMIC},
    {"src_prefix_in", "varchar", SIM_RULE_DYNAMIC},
    {"src_prefix_routing", "varchar", SIM_RULE_DYNAMIC},
    {"src_prefix_out", "varchar", SIM_RULE_DYNAMIC},
    {"src_name_in", "varchar", SIM_RULE_DYNAMIC},
    {"src_name_out", "varchar", SIM_RULE_DYNAMIC},
    {"diversion_in", "varchar", SIM_RULE_DYNAMIC},
    {"diversion_out", "varchar", SIM_RULE_DYNAMIC},
    {"destination_initial_rate", "numeric", SIM_RULE_DYNAMIC},
    {"destination_next_rate", "numeric", SIM_RULE_DYNAMIC},
    {"destination_initial_interval", "integer", SIM_RULE_DYNAMIC},
    {"destination_next_interval", "integer", SIM_RULE_DYNAMIC},
    {"destination_fee", "numeric", SIM_RULE_DYNAMIC},
    {"destination_rate_policy_id", "smallint", SIM_RULE_DYNAMIC},
    {"destination_reverse_billing", "boolean", SIM_RULE_DYNAMIC},
    {"dialpeer_initial_rate", "numeric", SIM_RULE_DYNAMIC},
    {"dialpeer_next_rate", "numeric", SIM_RULE_DYNAMIC},
    {"dialpeer_initial_interval", "integer", SIM_RULE_DYNAMIC},
    {"dialpeer_next_interval", "integer", SIM_RULE_DYNAMIC},
    {"dialpeer_fee", "numeric", SIM_RULE_DYNAMIC},
    {"dialpeer_reverse_billing", "boolean", SIM_RULE_DYNAMIC},
    {"auth_orig_ip", "inet", SIM_RULE_DYNAMIC},
    {"auth_orig_port", "integer", SIM_RULE_DYNAMIC},
    {"auth_orig_protocol_id", "smallint", SIM_RULE_DYNAMIC},
};
const size_t sim_field_count = sizeof sim_fields / sizeof sim_fields[0];

const sim_field *sim_field_find(const char *name)
{
    for (size_t i = 0; i < sim_field_count; i++)
        if (strcmp(sim_fields[i].name, name) == 0) return &sim_fields[i];
    return NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const sim_field *const *)a)->name, (*(const sim_field *const *)b)->name);
}

void sim_fields_write(buf *out)
{
    const sim_field *sorted[sizeof sim_fields / sizeof sim_fields[0]];
    for (size_t i = 0; i < sim_field_count; i++) sorted[i] = &sim_fields[i];
    qsort(sorted, sim_field_count, sizeof sorted[0], by_name);
    buf_putc(out, '{');
    for (size_t i = 0; i < sim_field_count; i++) {
        if (i) buf_putc(out, ',');
        buf_put_json_str(out, sorted[i]->name, strlen(sorted[i]->name));
        buf_puts(out,
                 sorted[i]->rule == SIM_RULE_DYNAMIC ? ":{\"is_dynamic\":true,\"type\":"
                                                     : ":{\"is_dynamic\":false,\"type\":");
        buf_put_json_str(out, sorted[i]->type, strlen(sorted[i]->type));
        buf_putc(out, '}');
    }
    buf_putc(out, '}');
}

/* ---- values, read as the node reads them ---- */

typedef enum { CMP_INT, CMP_BIGINT, CMP_STRING, CMP_TIMESTAMP, CMP_DOUBLE, CMP_OTHER } cmp_kind;

/* How the node compares a field of this type. */
static cmp_kind cmp_of(const char *type)
{
    static const struct {
        const char *type;
        cmp_kind kind;
    } kinds[] = {
        {"integer", CMP_INT},
        {"smallint", CMP_INT},
        {"boolean", CMP_INT},
        {"bigint", CMP_BIGINT},
        {"string", CMP_STRING},
        {"varchar", CMP_STRING},
        {"json", CMP_STRING},
        {"inet", CMP_STRING},
        {"numeric", CMP_STRING},
        {"smallint[]", CMP_STRING},
        {"timestamp", CMP_TIMESTAMP},
        {"double", CMP_DOUBLE},
        {"double precision", CMP_DOUBLE},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].type, type) == 0) return kinds[i].kind;
    return CMP_OTHER;
}

/* Whether the node writes "" for the field when the call has no value. */
static bool text_when_unset(const sim_field *f)
{
    return f->rule == SIM_RULE_DYNAMIC &&
        (strcmp(f->type, "varchar") == 0 || strcmp(f->type, "numeric") == 0);
}

/* The node's integer reading: spaces, an optional '-' and spaces, then at
 * most max_digits digits up to the end, a space, CR or LF (whatever follows
 * is ignored; no digits at all reads as 0). *acc is the magnitude in
 * wrapping arithmetic, as the node's overflows wrap. */
static bool read_int(const char *s, int max_digits, uint64_t *acc, bool *neg)
{
    while (*s == ' ') s++;
    *neg = *s == '-';
    if (*neg) {
        s++;
        while (*s == ' ') s++;
    }
    uint64_t v = 0;
    for (int digits = 0; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            if (++digits > max_digits) return false;
            v = v * 10 + (uint64_t)(*s - '0');
        } else if (*s == ' ' || *s == '\r' || *s == '\n') {
            break;
        } else {
            return false;
        }
    }
    *acc = v;
    return true;
}

/* A double cut to whole seconds as the node's conversion does: towards
 * zero; NaN and anything outside int64 give INT64_MIN. */
static int64_t cut_seconds(double d)
{
    if (!(d >= -0x1p63 && d < 0x1p63)) return INT64_MIN;
    return (int64_t)d;
}

static const char *const op_names[] = {"=", "!=", ">", "<", ">=", "<="};

/* The first operator in the rule s (len bytes), found as the node finds
 * it: the first of '=', '!', '<', '>'; '!' must be followed by '=', and a
 * value must follow. NULL when there is none that way. */
static const char *find_operator(const char *s, size_t len, sim_op *op, size_t *op_len)
{
    if (len < 3) return NULL;
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '=':
            if (i + 1 >= len) return NULL;
            *op = SIM_OP_EQ;
            *op_len = 1;
            return s + i;
        case '!':
            if (i + 2 >= len || s[i + 1] != '=') return NULL;
            *op = SIM_OP_NEQ;
            *op_len = 2;
            return s + i;
        case '<':
        case '>':
            if (i + 1 >= len) return NULL;
            *op_len = s[i + 1] == '=' ? 2 : 1;
            if (*op_len == 2 && i + 2 >= len) return NULL;
            if (s[i] == '<')
                *op = *op_len == 2 ? SIM_OP_LTE : SIM_OP_LT;
            else
                *op = *op_len == 2 ? SIM_OP_GTE : SIM_OP_GT;
            return s + i;
        default: break;
        }
    }
    return NULL;
}

/* A duration rule is a connect_time rule turned around: longer than N
 * seconds is connected before now - N. */
static sim_op reversed(sim_op op)
{
    static const sim_op rev[] = {SIM_OP_EQ, SIM_OP_NEQ, SIM_OP_LT, SIM_OP_GT, SIM_OP_LTE, SIM_OP_GTE};
    return rev[op];
}

/* ---- the query ---- */

void sim_query_free(sim_query *q)
{
    for (size_t i = 0; i < q->nrules; i++) free(q->rules[i].str);
    free(q->want);
    free(q->found);
    free(q->have);
    free(q->out);
    free(q->rules);
    memset(q, 0, sizeof *q);
}

/* The index of f in q->want, adding it. */
static size_t want_index(sim_query *q, const sim_field *f)
{
    for (size_t i = 0; i < q->nwant; i++)
        if (q->want[i] == f) return i;
    q->want[q->nwant] = f;
    return q->nwant++;
}

/* Turns one rule (field, op, value) into q's next rule; false with the
 * refusal in msg. */
static bool add_rule(sim_query *q, const char *field, sim_op op, const char *value, int64_t now_sec, buf *msg)
{
    const sim_field *f = sim_field_find(field);
    if (!f) {
        buf_printf(msg, "unknown field %s in WHERE clause", field);
        return false;
    }
    if (f->rule == SIM_RULE_NONE) {
        buf_printf(msg, "field %s is known but unsupported", field);
        return false;
    }
    bool dynamic = f->rule == SIM_RULE_DYNAMIC;
    sim_rule r = {.op = op};
    uint64_t acc;
    bool neg;
    double d;
    switch (cmp_of(f->type)) {
    case CMP_TIMESTAMP: /* connect_time */
    case CMP_DOUBLE:    /* duration */
        /* sscanf's %lf reading: leading space, then a number's longest
         * prefix ("5s" is 5); a value of spaces only is refused too */
        if (sscanf(value, "%lf", &d) != 1) {
            buf_printf(msg, "can't cast '%s' to double", value);
            return false;
        }
        if (dynamic) {
            buf_printf(msg, "not supported dynamic field type: %s", f->type);
            return false;
        }
        r.test = SIM_TEST_SECONDS;
        if (f->rule == SIM_RULE_DURATION) {
            r.num = cut_seconds((double)now_sec - d);
            r.op = reversed(op);
            r.by_duration = true;
            r.dur = d;
            r.dur_want = want_index(q, f);
            f = sim_field_find("connect_time");
        } else {
            r.num = cut_seconds(d);
        }
        break;
    case CMP_INT: /* attempt_num, or a routing field */
        if (!read_int(value, 10, &acc, &neg)) {
            buf_printf(msg, "can't cast '%s' to integer", value);
            return false;
        }
        r.test = SIM_TEST_INT;
        r.num = (int32_t)(uint32_t)(neg ? 0 - acc : acc);
        break;
    case CMP_BIGINT:
        if (!read_int(value, 20, &acc, &neg)) {
            buf_printf(msg, "can't cast '%s' to long long integer", value);
            return false;
        }
        r.test = SIM_TEST_BIGINT;
        r.num = (int64_t)(neg ? 0 - acc : acc);
        break;
    case CMP_STRING:
        if (op != SIM_OP_EQ && op != SIM_OP_NEQ) {
            buf_printf(msg, "condition %s for dynamic field %s is not implemented", op_names[op], field);
            return false;
        }
        r.test = SIM_TEST_STRING;
        r.str = strdup(value);
        if (!r.str) {
            msg->oom = true;
            return false;
        }
        break;
    default: buf_printf(msg, "not supported field type: %s", f->type); return false;
    }
    r.want = want_index(q, f);
    q->rules[q->nrules++] = r;
    return true;
}

/* Adds the rule text s (the node's "field<op>value"); false with the
 * refusal in msg. */
static bool parse_rule(sim_query *q, const char *s, int64_t now_sec, buf *msg)
{
    size_t len = strlen(s), op_len;
    sim_op op;
    const char *at = find_operator(s, len, &op, &op_len);
    if (!at) {
        buf_printf(msg, "can't parse rule: %s", s);
        return false;
    }
    char *field = strndup(s, (size_t)(at - s));
    if (!field) {
        msg->oom = true;
        return false;
    }
    bool ok = add_rule(q, field, op, at + op_len, now_sec, msg);
    free(field);
    return ok;
}

/* The refusal for the named fields that do not exist, listed as the node
 * prints a list: ['a', 'b']. */
static bool check_fields(const json_t *params, size_t nfields, buf *msg)
{
    bool first = true;
    for (size_t i = 0; i < nfields; i++) {
        const char *name = json_string_value(json_array_get(params, i));
        if (sim_field_find(name)) continue;
        buf_puts(msg, first ? "passed one or more unknown fields:['" : ", '");
        buf_puts(msg, name);
        buf_putc(msg, '\'');
        first = false;
    }
    if (first) return true;
    buf_putc(msg, ']');
    return false;
}

/* Sorts q->out by field name (the node writes an object's members in
 * name order); at most one entry per field, so a few dozen. */
static void sort_out(sim_query *q)
{
    for (size_t i = 1; i < q->nout; i++) {
        for (size_t j = i; j > 0 && strcmp(q->want[q->out[j - 1]]->name, q->want[q->out[j]]->name) > 0; j--) {
            size_t t = q->out[j];
            q->out[j] = q->out[j - 1];
            q->out[j - 1] = t;
        }
    }
}

/* Every param is a string; they are read as C strings, as the node keeps
 * them (a string is cut at its first NUL). */
int sim_query_parse(sim_query *q, const json_t *params, int64_t now_sec, buf *msg)
{
    memset(q, 0, sizeof *q);
    size_t n = params ? json_array_size(params) : 0;
    if (n == 0) {
        buf_puts(msg, "you should specify at least one field");
        return -1;
    }
    /* every field named, plus connect_time and duration for duration rules */
    q->want = calloc(n + 2, sizeof *q->want);
    q->found = calloc(n + 2, sizeof *q->found);
    q->have = calloc(n + 2, sizeof *q->have);
    q->out = calloc(n, sizeof *q->out);
    q->rules = calloc(n, sizeof *q->rules);
    if (!q->want || !q->found || !q->have || !q->out || !q->rules) {
        msg->oom = true;
        goto refused;
    }
    size_t nfields = n; /* params before WHERE */
    for (size_t i = 0; i < n; i++) {
        const json_t *p = json_array_get(params, i);
        if (!json_is_string(p)) {
            buf_puts(msg, "unexpected input");
            goto refused;
        }
        const char *s = json_string_value(p);
        if (nfields == n) {
            if (strcmp(s, "WHERE") != 0) continue;
            if (i == 0) {
                buf_puts(msg, "found WHERE in wrong place");
                goto refused;
            }
            nfields = i;
        } else if (!parse_rule(q, s, now_sec, msg)) {
            goto refused;
        }
    }
    if (nfields < n && q->nrules == 0) {
        buf_puts(msg, "no rules defined after WHERE");
        goto refused;
    }
    if (!check_fields(params, nfields, msg)) goto refused;
    for (size_t i = 0; i < nfields; i++) {
        size_t w = want_index(q, sim_field_find(json_string_value(json_array_get(params, i))));
        bool listed = false;
        for (size_t j = 0; j < q->nout && !listed; j++) listed = q->out[j] == w;
        if (!listed) q->out[q->nout++] = w;
    }
    sort_out(q);
    return 0;
refused:
    sim_query_free(q);
    return -1;
}

/* ---- selecting and writing ---- */

static bool compare(int64_t a, sim_op op, int64_t b)
{
    switch (op) {
    case SIM_OP_EQ: return a == b;
    case SIM_OP_NEQ: return a != b;
    case SIM_OP_GT: return a > b;
    case SIM_OP_LT: return a < b;
    case SIM_OP_GTE: return a >= b;
    case SIM_OP_LTE: return a <= b;
    }
    return false;
}

/* Whether the JSON string v is the text s, compared as C strings (up to
 * a NUL, as the node keeps strings). false when v is not a string. */
static bool string_is(sim_span v, const char *s, bool *is_string)
{
    json_t *j =
        v.n > 0 && v.p[0] == '"' ? json_loadb(v.p, v.n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
    *is_string = json_is_string(j);
    bool eq = *is_string && strcmp(json_string_value(j), s) == 0;
    json_decref(j);
    return eq;
}

static bool rule_holds(const sim_rule *r, bool have, sim_span v)
{
    if (!have) return false;
    int64_t x;
    double d;
    switch (r->test) {
    case SIM_TEST_SECONDS:
        if (!sim_span_number(v, &d)) return false;
        x = cut_seconds(d);
        return x != 0 && compare(x, r->op, r->num);
    case SIM_TEST_INT:
        return sim_span_integer(v, &x) && x >= INT32_MIN && x <= INT32_MAX && compare(x, r->op, r->num);
    case SIM_TEST_BIGINT: return sim_span_integer(v, &x) && compare(x, r->op, r->num);
    case SIM_TEST_STRING: { /* a value that is not a string meets neither = nor != */
        bool is_string, eq = string_is(v, r->str, &is_string);
        return is_string && eq == (r->op == SIM_OP_EQ);
    }
    }
    return false;
}

bool sim_query_may_select(const sim_query *q, int64_t connect_us)
{
    int64_t x = connect_us / 1000000; /* whole seconds, as rule_holds cuts them */
    for (size_t i = 0; i < q->nrules; i++) {
        const sim_rule *r = &q->rules[i];
        if (r->test == SIM_TEST_SECONDS && (x == 0 || !compare(x, r->op, r->num))) return false;
    }
    return true;
}

sim_field_index *sim_index_build(const char *rec, size_t n, size_t slot, size_t dlen)
{
    if (n >= UINT32_MAX) return NULL;
    sim_field_index *ix = calloc(1, sizeof *ix + 2 * sim_field_count * sizeof ix->at[0]);
    if (!ix) return NULL;
    size_t pos = 0;
    sim_span key, val;
    while (sim_record_next(rec, n, &pos, &key, &val)) {
        size_t f = 0;
        while (f < sim_field_count && !sim_span_is(key, sim_fields[f].name)) f++;
        if (f == sim_field_count || ix->at[2 * f]) continue; /* unknown, or given twice: the first counts */
        size_t off = (size_t)(val.p - rec);
        if (slot != SIZE_MAX && off == slot && dlen)
            ix->at[2 * f] = SIM_AT_DURATION;
        else
            ix->at[2 * f] = (uint32_t)(off >= slot && slot != SIZE_MAX ? off - dlen : off) + 1;
        ix->at[2 * f + 1] = (uint32_t)val.n;
        ix->n++;
    }
    return ix;
}

void sim_query_load(sim_query *q, const char *text, const sim_field_index *ix, sim_span duration)
{
    for (size_t i = 0; i < q->nwant; i++) {
        size_t f = (size_t)(q->want[i] - sim_fields);
        uint32_t at = ix->at[2 * f];
        q->have[i] = at != 0;
        if (at == SIM_AT_DURATION)
            q->found[i] = duration;
        else if (at)
            q->found[i] = (sim_span){text + at - 1, ix->at[2 * f + 1]};
    }
}

bool sim_query_select(sim_query *q, const char *rec, size_t n, bool fixed_duration)
{
    memset(q->have, 0, q->nwant * sizeof *q->have);
    size_t pos = 0;
    sim_span key, val;
    while (sim_record_next(rec, n, &pos, &key, &val)) {
        for (size_t i = 0; i < q->nwant; i++) {
            if (!q->have[i] && sim_span_is(key, q->want[i]->name)) {
                q->have[i] = true;
                q->found[i] = val;
                break;
            }
        }
    }
    return sim_query_holds(q, fixed_duration);
}

bool sim_query_holds(const sim_query *q, bool fixed_duration)
{
    for (size_t i = 0; i < q->nrules; i++) {
        sim_rule r = q->rules[i];
        double connect, dur;
        if (fixed_duration && r.by_duration && q->have[r.want] && q->have[r.dur_want] &&
            sim_span_number(q->found[r.want], &connect) && sim_span_number(q->found[r.dur_want], &dur))
            r.num = cut_seconds((double)cut_seconds(connect + dur) - r.dur); /* the record's own now */
        if (!rule_holds(&r, q->have[r.want], q->found[r.want])) return false;
    }
    return true;
}

void sim_query_write(const sim_query *q, buf *out)
{
    bool first = true;
    buf_putc(out, '{');
    for (size_t i = 0; i < q->nout; i++) {
        size_t w = q->out[i];
        const sim_field *f = q->want[w];
        const char *value;
        size_t len;
        if (q->have[w] && !(text_when_unset(f) && sim_span_is(q->found[w], "null"))) {
            value = q->found[w].p;
            len = q->found[w].n;
        } else if (f->rule == SIM_RULE_DYNAMIC) {
            value = text_when_unset(f) ? "\"\"" : "null";
            len = strlen(value);
        } else {
            continue; /* a fixed field the record lacks (versions) */
        }
        if (!first) buf_putc(out, ',');
        first = false;
        buf_put_json_str(out, f->name, strlen(f->name));
        buf_putc(out, ':');
        buf_append(out, value, len);
    }
    buf_putc(out, '}');
}
