/* fuzz_reply: the node reply scanner (nodes/reply.c), differential against
 * yajl as tests/unit/test_reply_fuzz.c is, on whatever bytes the fuzzer
 * makes of a JSON-RPC reply.
 *
 * Input: byte 0 picks what is expected (calls or any result) and the
 * request id, bytes 1..4 seed the chunk sizes; the rest is the reply.
 *
 * Properties:
 *   - reply_parser_parse_all (on an exact-size copy) and feeding the same
 *     bytes in random chunks then finishing agree on everything: outcome,
 *     detail, JSON-RPC code, integer result, and the callset byte for byte;
 *   - the reply is "not JSON" exactly when yajl says so, modulo the
 *     intentional differences of tests/unit/reply_diff.h (\v and \f are no
 *     whitespace; trailing unterminated strings; a first value that is not
 *     an object is refused as such; nesting past 1024 levels);
 *   - an accepted reply never carries a syntax-error detail, and every span
 *     of every record lies inside the callset's arena. */
#include "fuzz.h"

#include "model/calls.h"
#include "nodes/reply.h"
#include "reply_diff.h"

static size_t random_chunk(void *rng) { return 1 + (size_t)(fz_rand(rng) % 64); }

static void check_same(const reply_run *a, const reply_run *b, const callset *x, const callset *y)
{
    FZ_CHECK(reply_runs_equal(a, b), "whole %d '%s' vs chunked %d '%s'", a->o, a->detail, b->o, b->detail);
    FZ_CHECK(reply_callsets_equal(x, y), "whole and chunked callsets differ");
}

static void check_span(const callset *cs, call_span s, const char *what)
{
    FZ_CHECK((size_t)s.off + s.len <= cs->arena.len, "%s span %u+%u outside the arena of %zu", what, s.off,
             s.len, cs->arena.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t ids[4] = {1, 1, 42, -7};
    fz_in in = {data, size};
    uint8_t mode = fz_u8(&in);
    reply_expect ex = mode & 1 ? REPLY_EXPECT_ANY : REPLY_EXPECT_CALLS;
    int64_t id = ids[(mode >> 1) & 3];
    uint64_t rng = fz_u32(&in);
    const char *json = (const char *)in.p;
    size_t n = in.n;

    callset a, b;
    callset_init(&a);
    callset_init(&b);
    reply_run r = reply_run_whole(json, n, ex, id, &a);
    reply_run c = reply_run_chunked(json, n, ex, id, &b, random_chunk, &rng);
    check_same(&r, &c, &a, &b);
    for (size_t i = 0; i < a.n; i++) {
        for (int k = 0; k < ATTR_COUNT; k++) check_span(&a, a.recs[i].attr[k], call_attrs[k].name);
        check_span(&a, a.recs[i].tag, "local_tag");
    }
    callset_free(&a);
    callset_free(&b);

    if (r.o != REPLY_INVALID) FZ_CHECK(!reply_says_not_json(r.detail), "accepted with '%s'", r.detail);
    if (reply_starts_with_non_object(json, n)) {
        FZ_CHECK(r.o == REPLY_INVALID && strcmp(r.detail, "reply is not a JSON object") == 0,
                 "a reply that is no object: %d '%s'", r.o, r.detail);
        return 0;
    }
    if (reply_nested_too_deeply(r.detail)) return 0;
    bool ours = !reply_says_not_json(r.detail), theirs = reply_yajl_accepts(json, n);
    FZ_CHECK(ours == theirs, "JSON verdict: ours %s ('%s'), yajl %s", ours ? "valid" : "invalid", r.detail,
             theirs ? "valid" : "invalid");
    return 0;
}
