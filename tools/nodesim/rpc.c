/* rpc: JSON-RPC request decoding and method dispatch (see rpc.h). jansson
 * parses the (small, at most 1 MiB) request; replies are written as text
 * straight from the pre-rendered records. */
#include "rpc.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "filter.h"
#include "jsonw.h"
#include "rng.h"
#include "util/log.h"

enum {
    ERR_PARSE = -32700,
    ERR_REQUEST = -32600,
    ERR_METHOD = -32601,
    ERR_PARAMS = -32602,
    ERR_INTERNAL = -32603,
    ERR_NOT_FOUND = 404,
    ERR_NODE = 500, /* a yeti node's refusal of a request it understood */
};

/* Room before the payload for the netstring length header and ':'. */
enum { HDR_ROOM = 24 };

/* Empties b down to the header room. */
/* --without-filtered: an older node build, without the filtered methods. */
static bool without_filtered;

static void payload_reset(buf *b)
{
    buf_reset(b);
    if (buf_reserve(b, HDR_ROOM)) b->len = HDR_ROOM;
}

static void put_id(buf *b, const json_t *id)
{
    if (id)
        sim_json_write(b, id);
    else
        buf_puts(b, "null");
}

/* The node's refusals (ERR_NODE) also carry "data":null, as a yeti node's
 * server writes them (docs/CONTRACT.md §7). */
static void reply_error_n(buf *b, const json_t *id, int code, const char *msg, size_t len)
{
    payload_reset(b);
    buf_puts(b, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":");
    buf_put_i64(b, code);
    buf_puts(b, ",\"message\":");
    buf_put_json_str(b, msg, len);
    if (code == ERR_NODE) buf_puts(b, ",\"data\":null");
    buf_puts(b, "},\"id\":");
    put_id(b, id);
    buf_putc(b, '}');
}

static void reply_error(buf *b, const json_t *id, int code, const char *msg)
{
    reply_error_n(b, id, code, msg, strlen(msg));
}

static void result_begin(buf *b)
{
    payload_reset(b);
    buf_puts(b, "{\"jsonrpc\":\"2.0\",\"result\":");
}

static void result_end(buf *b, const json_t *id)
{
    buf_puts(b, ",\"id\":");
    put_id(b, id);
    buf_putc(b, '}');
}

static bool all_strings(const json_t *params)
{
    size_t i;
    json_t *v;
    json_array_foreach(params, i, v)
    {
        if (!json_is_string(v)) return false;
    }
    return true;
}

static void show_calls(sim_calls *calls, buf *b, const json_t *params, const json_t *id)
{
    if (params && !all_strings(params)) {
        reply_error(b, id, ERR_PARAMS, "Invalid params: expected local tags (strings)");
        return;
    }
    int64_t now = sim_now_real_us();
    result_begin(b);
    if (!params || json_array_size(params) == 0) {
        sim_calls_write_all(calls, b, now);
        sim_calls_log_listing(calls, now);
    } else {
        uint64_t mark = sim_calls_new_mark(calls);
        bool first = true;
        size_t i;
        json_t *v;
        buf_putc(b, '[');
        json_array_foreach(params, i, v)
        {
            sim_call *c = sim_calls_find(calls, json_string_value(v), json_string_length(v));
            if (!c || c->mark == mark) continue;
            c->mark = mark;
            if (!first) buf_putc(b, ',');
            first = false;
            sim_calls_write_one(c, b, now);
        }
        buf_putc(b, ']');
    }
    result_end(b, id);
}

static void show_count(sim_calls *calls, buf *b, const json_t *params, const json_t *id)
{
    if (params && json_array_size(params) != 0) {
        reply_error(b, id, ERR_PARAMS, "Invalid params: expected []");
        return;
    }
    result_begin(b);
    buf_put_i64(b, (int64_t)calls->n);
    result_end(b, id);
}

/* yeti.show.calls.filtered: the calls meeting every rule, each with only
 * the named fields (filter.h). */
static void show_filtered(sim_calls *calls, buf *b, const json_t *params, const json_t *id)
{
    int64_t now = sim_now_real_us();
    sim_query q;
    buf msg;
    buf_init(&msg);
    if (sim_query_parse(&q, params, now / 1000000, &msg) != 0) {
        if (msg.oom)
            b->oom = true;
        else
            reply_error_n(b, id, ERR_NODE, msg.data, msg.len);
        buf_free(&msg);
        return;
    }
    buf rec; /* one record at a time, with its duration as of now */
    buf_init(&rec);
    bool first = true;
    result_begin(b);
    buf_putc(b, '[');
    for (size_t i = 0; i < calls->n && !rec.oom; i++) {
        sim_call *c = calls->v[i];
        bool fixed = c->slot == SIZE_MAX; /* a duration of its own (a file's), or none */
        if (!fixed && !sim_query_may_select(&q, c->connect_us)) continue;
        buf_reset(&rec);
        if (!c->fields) { /* once per call text: where its fields are */
            sim_calls_write_one(c, &rec, now);
            c->fields = sim_index_build(rec.data, rec.len, c->slot, rec.len - c->len);
            buf_reset(&rec);
        }
        if (c->fields) {
            sim_calls_write_duration(c, &rec, now);
            sim_query_load(&q, c->json, c->fields, (sim_span){rec.data, rec.len});
            if (!sim_query_holds(&q, fixed)) continue;
        } else { /* no memory for the index: read the record */
            sim_calls_write_one(c, &rec, now);
            if (!sim_query_select(&q, rec.data, rec.len, fixed)) continue;
        }
        if (!first) buf_putc(b, ',');
        first = false;
        sim_query_write(&q, b);
    }
    buf_putc(b, ']');
    result_end(b, id);
    if (rec.oom) b->oom = true;
    buf_free(&rec);
    sim_query_free(&q);
}

/* yeti.show.calls.fields: every field the filtered method knows; params
 * are not read, as a node does not read them. */
static void show_fields(buf *b, const json_t *id)
{
    result_begin(b);
    sim_fields_write(b);
    result_end(b, id);
}

static void disconnect(sim_calls *calls, buf *b, const json_t *params, const json_t *id)
{
    json_t *tag = params ? json_array_get(params, 0) : NULL;
    if (!tag || json_array_size(params) != 1 || !json_is_string(tag)) {
        reply_error(b, id, ERR_PARAMS, "Invalid params: expected [local_tag]");
        return;
    }
    sim_call *c = sim_calls_find(calls, json_string_value(tag), json_string_length(tag));
    if (!c) {
        reply_error(b, id, ERR_NOT_FOUND, "call not found");
        return;
    }
    sim_calls_remove(calls, c);
    result_begin(b);
    buf_puts(b, "\"Dropped\"");
    result_end(b, id);
}

/* Renders the reply payload into b. Returns false for a notification. */
static bool dispatch(sim_calls *calls, buf *b, const json_t *req)
{
    if (!json_is_object(req)) {
        reply_error(b, NULL, ERR_REQUEST, "Invalid Request");
        return true;
    }
    json_t *id = json_object_get(req, "id");
    if (id && !json_is_string(id) && !json_is_number(id) && !json_is_null(id)) {
        reply_error(b, NULL, ERR_REQUEST, "Invalid Request: bad id");
        return true;
    }
    json_t *version = json_object_get(req, "jsonrpc");
    json_t *method = json_object_get(req, "method");
    if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0 ||
        !json_is_string(method)) {
        reply_error(b, id, ERR_REQUEST, "Invalid Request");
        return true;
    }
    json_t *params = json_object_get(req, "params");
    const char *m = json_string_value(method);
    size_t mlen = json_string_length(method);
    if (params && !json_is_array(params)) {
        reply_error(b, id, ERR_PARAMS, "Invalid params: expected an array");
    } else if (mlen == strlen("yeti.show.calls") && strcmp(m, "yeti.show.calls") == 0) {
        show_calls(calls, b, params, id);
    } else if (mlen == strlen("yeti.show.calls.count") && strcmp(m, "yeti.show.calls.count") == 0) {
        show_count(calls, b, params, id);
    } else if (!without_filtered && mlen == strlen("yeti.show.calls.filtered") &&
               strcmp(m, "yeti.show.calls.filtered") == 0) {
        show_filtered(calls, b, params, id);
    } else if (!without_filtered && mlen == strlen("yeti.show.calls.fields") &&
               strcmp(m, "yeti.show.calls.fields") == 0) {
        show_fields(b, id);
    } else if (mlen == strlen("yeti.request.call.disconnect") &&
               strcmp(m, "yeti.request.call.disconnect") == 0) {
        disconnect(calls, b, params, id);
    } else {
        reply_error(b, id, ERR_METHOD, "Method not found");
    }
    return id != NULL;
}

/* Writes the header right before the payload; returns where the frame starts. */
static size_t frame_close(buf *b)
{
    size_t n = b->len - HDR_ROOM;
    size_t at = HDR_ROOM;
    b->data[--at] = ':';
    do {
        b->data[--at] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    buf_putc(b, ',');
    return at;
}

void sim_rpc_log_request(const char *p, size_t n)
{
    json_t *req = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    json_t *method = json_object_get(req, "method");
    json_t *params = json_object_get(req, "params");
    buf line;
    buf_init(&line);
    buf_puts(&line, "nodesim request method=");
    if (json_is_string(method))
        log_value(&line, json_string_value(method), json_string_length(method));
    else
        buf_putc(&line, '-');
    buf_puts(&line, " params=");
    if (params)
        sim_json_write_line(&line, params);
    else
        buf_putc(&line, '-');
    buf_putc(&line, '\n');
    if (!line.oom) fwrite(line.data, 1, line.len, stderr); /* stderr is unbuffered: one write */
    buf_free(&line);
    json_decref(req);
}

void sim_rpc_without_filtered(void) { without_filtered = true; }

bool sim_rpc_handle(sim_calls *calls, const char *p, size_t n, buf *frame, size_t *start)
{
    json_error_t jerr;
    json_t *req = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    bool reply = true;
    if (!req)
        reply_error(frame, NULL, ERR_PARSE, "Parse error");
    else
        reply = dispatch(calls, frame, req);
    if (frame->oom) {
        json_t *id = json_object_get(req, "id");
        if (!json_is_string(id) && !json_is_number(id)) id = NULL;
        reply_error(frame, id, ERR_INTERNAL, "Internal error: out of memory");
    }
    json_decref(req);
    *start = 0;
    if (!reply) {
        buf_reset(frame);
        return false;
    }
    if (!frame->oom) *start = frame_close(frame);
    return true; /* the caller checks frame->oom */
}
