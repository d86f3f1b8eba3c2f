/* reply_diff: what the differential tests of nodes/reply.c share — the unit
 * test (test_reply_fuzz.c) and the libFuzzer harness (fuzz/fuzz_reply.c):
 * running the parser on a whole reply and recording all it says, comparing
 * two such runs, and the rule the scanner is held to on JSON syntax, yajl's
 * verdict with the scanner's intentional differences folded in:
 *   - yajl takes \v and \f as whitespace, RFC 8259 does not: the verdict is
 *     taken on a copy where those two bytes read \x01 (a byte invalid
 *     everywhere, as they are in strict JSON);
 *   - yajl misses trailing data that is an unterminated string (`{}"abc`
 *     passes): the copy also gets a newline appended, which changes no
 *     verdict of strict JSON but ends such a string with a control byte;
 *   - a reply whose first value is not an object is refused as "reply is
 *     not a JSON object" without reading on, JSON or not
 *     (reply_starts_with_non_object);
 *   - nesting deeper than 1024 levels is refused ("nested too deeply"),
 *     yajl has no limit (reply_nested_too_deeply).
 * Header-only, static inline: each includer links yajl itself. */
#ifndef AC_TESTS_REPLY_DIFF_H
#define AC_TESTS_REPLY_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "model/calls.h"
#include "nodes/reply_internal.h"

/* ---- running the parser ---------------------------------------------------------- */

/* Everything a finished parser says. */
typedef struct reply_run {
    reply_outcome o;
    char detail[256];
    int64_t code;
    bool has_int;
    int64_t ival;
} reply_run;

static inline void reply_run_take(reply_run *r, reply_parser *p, reply_outcome o)
{
    r->o = o;
    snprintf(r->detail, sizeof r->detail, "%s", reply_parser_detail(p));
    r->code = reply_parser_rpc_code(p);
    r->ival = 0;
    r->has_int = reply_parser_int_result(p, &r->ival);
}

/* parse_all on an exact-size copy (so that ASan sees any read past the end). */
static inline reply_run reply_run_whole(const char *json, size_t n, reply_expect ex, int64_t id, callset *cs)
{
    char *copy = malloc(n ? n : 1);
    reply_parser *p = reply_parser_new(ex, id, cs);
    if (!copy || !p) abort();
    if (n) memcpy(copy, json, n);
    reply_run r;
    reply_run_take(&r, p, reply_parser_parse_all(p, copy, n));
    reply_parser_free(p);
    free(copy);
    return r;
}

/* Feeds the reply in chunks of the sizes next_chunk(ctx) gives (each >= 1,
 * each its own exact-size copy), then finishes. */
static inline reply_run reply_run_chunked(const char *json, size_t n, reply_expect ex, int64_t id,
                                          callset *cs, size_t (*next_chunk)(void *ctx), void *ctx)
{
    reply_parser *p = reply_parser_new(ex, id, cs);
    if (!p) abort();
    for (size_t off = 0; off < n;) {
        size_t k = next_chunk(ctx);
        if (k > n - off) k = n - off;
        char *chunk = malloc(k);
        if (!chunk) abort();
        memcpy(chunk, json + off, k);
        int rc = reply_parser_feed(p, chunk, k);
        free(chunk);
        if (rc != 0) break;
        off += k;
    }
    reply_run r;
    reply_run_take(&r, p, reply_parser_finish(p));
    reply_parser_free(p);
    return r;
}

static inline bool reply_runs_equal(const reply_run *a, const reply_run *b)
{
    return a->o == b->o && strcmp(a->detail, b->detail) == 0 && a->code == b->code &&
        a->has_int == b->has_int && a->ival == b->ival;
}

/* The same records, byte for byte, and the same text. */
static inline bool reply_callsets_equal(const callset *a, const callset *b)
{
    return a->n == b->n && a->skipped == b->skipped && a->arena.len == b->arena.len &&
        (a->arena.len == 0 || memcmp(a->arena.data, b->arena.data, a->arena.len) == 0) &&
        (a->n == 0 || memcmp(a->recs, b->recs, a->n * sizeof *a->recs) == 0);
}

/* ---- JSON syntax: yajl's verdict ----------------------------------------------------- */

/* yajl's verdict (yajl_dont_validate_strings, nothing else); with strict,
 * on the copy described above. */
static inline bool reply_yajl_verdict(const char *json, size_t n, bool strict)
{
    unsigned char *copy = malloc(n + 1);
    if (!copy) abort();
    for (size_t i = 0; i < n; i++)
        copy[i] = strict && (json[i] == '\v' || json[i] == '\f') ? 0x01 : (unsigned char)json[i];
    if (strict) copy[n++] = '\n';
    yajl_handle h = yajl_alloc(NULL, NULL, NULL);
    if (!h) abort();
    yajl_config(h, yajl_dont_validate_strings, 1);
    bool ok = yajl_parse(h, copy, n) == yajl_status_ok && yajl_complete_parse(h) == yajl_status_ok;
    yajl_free(h);
    free(copy);
    return ok;
}

/* Is json[0..n) JSON as nodes/reply.c must see it? */
static inline bool reply_yajl_accepts(const char *json, size_t n)
{
    return reply_yajl_verdict(json, n, true);
}

/* Is the parser's detail that of a syntax error? */
static inline bool reply_says_not_json(const char *detail) { return strncmp(detail, "not JSON: ", 10) == 0; }

/* Was the reply refused for nesting deeper than the scanner's limit? */
static inline bool reply_nested_too_deeply(const char *detail)
{
    return strstr(detail, "nested too deeply (more than") != NULL;
}

/* Does the reply start (after strict whitespace) with a value other than an
 * object? Such a reply is refused without being read further. */
static inline bool reply_starts_with_non_object(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    if (i == n) return false;
    char c = s[i];
    if (c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9')) return true;
    return (n - i >= 4 && (memcmp(s + i, "true", 4) == 0 || memcmp(s + i, "null", 4) == 0)) ||
        (n - i >= 5 && memcmp(s + i, "false", 5) == 0);
}

#endif
