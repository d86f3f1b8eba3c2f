/* test_events: live/events.c — snapshots diffed into call events.
 *
 * Hand-made snapshots fed one after another: a call started, connected,
 * ended (with its last known record); a node that fails keeps its calls
 * until it answers again, then they are reconciled; a view's filter exit
 * and entry; ids that only grow; the ring bounded by count and by age;
 * resumes inside and past the ring; frames rendered once per field set.
 * And a randomized test: from the empty state, replaying the events (the
 * unfiltered stream and a filtered view) reproduces every later state. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonapi/fields.h"
#include "live/events.h"

/* ---- hand-made snapshots ------------------------------------------------------ */

#define MAX_NODES 4
#define MAX_SNAPS 256

typedef struct snapb {
    live_snap pub;
    node_target targets[MAX_NODES];
    int64_t pops[MAX_NODES];
    node_result results[MAX_NODES];
    char names[MAX_NODES][32];
} snapb;

static snapb *snaps[MAX_SNAPS];
static size_t nsnaps;

/* A snapshot of nodes 1..n (node k on pop 10 + k), finished at `ms`. */
static snapb *snap_new(size_t n, int64_t ms)
{
    assert_true(nsnaps < MAX_SNAPS);
    snapb *s = calloc(1, sizeof *s);
    assert_non_null(s);
    snaps[nsnaps++] = s;
    for (size_t i = 0; i < n; i++) {
        snprintf(s->names[i], sizeof s->names[i], "sems-%zu", i + 1);
        s->targets[i] = (node_target){(int64_t)i + 1, s->names[i], "127.0.0.1:1"};
        s->pops[i] = 10 + (int64_t)i + 1;
        node_result_init(&s->results[i]);
    }
    s->pub = (live_snap){nsnaps, ms, ms, ms, n, s->targets, s->pops, s->results};
    return s;
}

static call_span put_text(callset *cs, const char *text)
{
    call_span sp = {(uint32_t)cs->arena.len, (uint32_t)strlen(text)};
    buf_puts(&cs->arena, text);
    return sp;
}

/* A call on node `node` (1..n): connected or not, its duration, its account. */
static void call_add(snapb *s, int node, const char *tag, bool connected, int64_t duration, int64_t acc)
{
    callset *cs = &s->results[node - 1].calls;
    call_record *r = callset_push(cs);
    assert_non_null(r);
    for (int k = 0; k < REL_FROM_RECORD; k++) r->rel_id[k] = CALL_ID_NONE;
    char text[128];
    snprintf(text, sizeof text, "\"%s\"", tag);
    r->attr[ATTR_LOCAL_TAG] = put_text(cs, text);
    r->tag = put_text(cs, tag);
    r->attr[ATTR_START_TIME] = put_text(cs, "\"2024-01-02T03:04:05.000Z\"");
    if (connected) r->attr[ATTR_CONNECT_TIME] = put_text(cs, "\"2024-01-02T03:04:06.000Z\"");
    snprintf(text, sizeof text, "%lld", (long long)duration);
    r->attr[ATTR_DURATION] = put_text(cs, text);
    r->duration = duration;
    r->rel_id[REL_CUSTOMER_ACC] = acc;
}

static void node_fail(snapb *s, int node, node_status st)
{
    s->results[node - 1].status = st;
    snprintf(s->results[node - 1].detail, sizeof s->results[node - 1].detail, "no answer (test)");
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < nsnaps; i++) {
        for (size_t k = 0; k < snaps[i]->pub.n; k++) node_result_free(&snaps[i]->results[k]);
        free(snaps[i]);
    }
    nsnaps = 0;
    return 0;
}

/* ---- reading ---------------------------------------------------------------------- */

static events *engine(size_t ring_events, int64_t ring_age_ms)
{
    events_config cfg = {ring_events, ring_age_ms, 1, false};
    events *e = events_new(&cfg);
    assert_non_null(e);
    return e;
}

static ev_view *view_of(events *e, const char *key, const char *value)
{
    listing_query q = {NULL, 0};
    jsonapi_errors errs;
    jerr_init(&errs);
    query_param p = {key, value};
    assert_int_equal(listing_query_parse(&q, &p, key ? 1 : 0, &errs), 0);
    jerr_free(&errs);
    char name[256];
    snprintf(name, sizeof name, "%s=%s", key ? key : "", value ? value : "");
    ev_view *v = events_view_open(e, name, &q);
    assert_non_null(v);
    return v;
}

static size_t tag_of(const ev_event *ev, char *out, size_t cap)
{
    size_t n = ev->rec->tag.len < cap - 1 ? ev->rec->tag.len : cap - 1;
    memcpy(out, callset_text(ev->cs, ev->rec->tag), n);
    out[n] = '\0';
    return n;
}

/* "started:a ended:b node-failed:1 ..." of the events after `after`. */
static void expect_events(events *e, const ev_view *v, uint64_t after, const char *want, uint64_t *upto)
{
    ev_batch b;
    assert_int_equal(events_read(e, v, after, 0, &b), EV_READ_OK);
    char got[2048] = "";
    size_t len = 0;
    uint64_t last = after;
    for (size_t i = 0; i < b.n; i++) {
        const ev_event *ev = b.events[i];
        assert_true(ev->id > last); /* ids only grow */
        last = ev->id;
        char what[160];
        if (ev->rec) {
            char tag[64];
            tag_of(ev, tag, sizeof tag);
            snprintf(what, sizeof what, "%s%s:%s", ev_kind_name(ev->kind) + 5, ev->filter ? "*" : "", tag);
        } else {
            snprintf(what, sizeof what, "%s:%lld", ev_kind_name(ev->kind), (long long)ev->node_id);
        }
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%s", len ? " " : "", what);
    }
    assert_string_equal(got, want);
    if (upto) *upto = b.upto;
    ev_batch_free(&b);
}

/* ---- the diff --------------------------------------------------------------------- */

static void test_start_connect_end(void **state)
{
    (void)state;
    events *e = engine(0, 0);
    snapb *s1 = snap_new(1, 1000);
    call_add(s1, 1, "a", false, 0, 5);
    call_add(s1, 1, "b", true, 30, 5);
    assert_true(events_feed(e, &s1->pub));
    uint64_t upto;
    expect_events(e, NULL, 0, "started:a started:b", &upto);
    assert_int_equal(upto, 2);

    snapb *s2 = snap_new(1, 2000);
    call_add(s2, 1, "a", true, 1, 5);
    call_add(s2, 1, "c", false, 0, 6);
    assert_true(events_feed(e, &s2->pub));
    expect_events(e, NULL, upto, "ended:b connected:a started:c", &upto);
    assert_int_equal(upto, 5);

    /* the ended call carries its last known record */
    ev_batch b;
    assert_int_equal(events_read(e, NULL, 2, 1, &b), EV_READ_OK);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.events[0]->kind, EV_CALL_ENDED);
    assert_int_equal(b.events[0]->rec->duration, 30);
    assert_int_equal(b.events[0]->node_id, 1);
    assert_int_equal(b.upto, 3);
    ev_batch_free(&b);

    /* nothing changed but durations: no event */
    snapb *s3 = snap_new(1, 3000);
    call_add(s3, 1, "a", true, 2, 5);
    call_add(s3, 1, "c", false, 0, 6);
    assert_true(events_feed(e, &s3->pub));
    expect_events(e, NULL, upto, "", &upto);
    assert_int_equal(upto, 5);
    events_free(e);
}

static void test_removed_node_and_repeated_tag(void **state)
{
    (void)state;
    events *e = engine(0, 0);
    snapb *s1 = snap_new(2, 1000);
    call_add(s1, 1, "a", false, 0, 5);
    call_add(s1, 1, "a", true, 3, 5);  /* listed twice: one call, as first listed */
    call_add(s1, 2, "a", false, 0, 5); /* the same tag on another node: another call */
    assert_true(events_feed(e, &s1->pub));
    uint64_t upto;
    expect_events(e, NULL, 0, "started:a started:a", &upto);
    ev_current cur;
    assert_true(events_current(e, NULL, &cur));
    assert_int_equal(cur.n, 2);
    assert_int_equal(cur.calls[0].node_id, 1);
    assert_true(call_attr_is_null(cur.calls[0].rec, ATTR_CONNECT_TIME));
    assert_int_equal(cur.calls[1].node_id, 2);
    ev_current_free(&cur);

    snapb *s2 = snap_new(1, 2000); /* node 2 left the registry: its calls end */
    call_add(s2, 1, "a", false, 1, 5);
    assert_true(events_feed(e, &s2->pub));
    ev_batch b;
    assert_int_equal(events_read(e, NULL, upto, 0, &b), EV_READ_OK);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.events[0]->kind, EV_CALL_ENDED);
    assert_int_equal(b.events[0]->node_id, 2);
    ev_batch_free(&b);
    events_free(e);
}

static void test_node_failure_reconciled(void **state)
{
    (void)state;
    events *e = engine(0, 0);
    snapb *s1 = snap_new(2, 1000);
    call_add(s1, 1, "a", false, 0, 5);
    call_add(s1, 1, "b", false, 0, 5);
    call_add(s1, 2, "x", true, 9, 5);
    assert_true(events_feed(e, &s1->pub));
    uint64_t upto;
    expect_events(e, NULL, 0, "started:a started:b started:x", &upto);

    snapb *s2 = snap_new(2, 2000); /* node 1 times out: its calls are not ended */
    node_fail(s2, 1, NODE_ERR_TIMEOUT);
    call_add(s2, 2, "x", true, 10, 5);
    assert_true(events_feed(e, &s2->pub));
    expect_events(e, NULL, upto, "node-failed:1", &upto);
    ev_batch b;
    assert_int_equal(events_read(e, NULL, upto - 1, 0, &b), EV_READ_OK);
    assert_int_equal(b.events[0]->status, NODE_ERR_TIMEOUT);
    assert_string_equal(b.events[0]->node_name, "sems-1");
    size_t len;
    doc_base base = {"http://h", 8};
    const char *frame = events_render(b.events[0], FIELDS_ALL, base, &len);
    assert_non_null(frame);
    assert_non_null(strstr(frame,
                           "event: node-failed\ndata: {\"meta\":{\"node\":{\"id\":\"1\",\"name\":\"sems-1\","
                           "\"error\":\"timeout\",\"detail\":\"no answer (test)\"}}}\n\n"));
    ev_batch_free(&b);

    ev_current cur; /* the stream still holds a, b and x */
    assert_true(events_current(e, NULL, &cur));
    assert_int_equal(cur.n, 3);
    assert_int_equal(cur.upto, upto);
    ev_current_free(&cur);

    snapb *s3 = snap_new(2, 3000); /* still down: nothing new */
    node_fail(s3, 1, NODE_ERR_REFUSED);
    call_add(s3, 2, "x", true, 11, 5);
    assert_true(events_feed(e, &s3->pub));
    expect_events(e, NULL, upto, "", &upto);

    snapb *s4 = snap_new(2, 4000); /* back: a gone, b connected, c new */
    call_add(s4, 1, "b", true, 1, 5);
    call_add(s4, 1, "c", false, 0, 5);
    call_add(s4, 2, "x", true, 12, 5);
    assert_true(events_feed(e, &s4->pub));
    expect_events(e, NULL, upto, "node-recovered:1 ended:a connected:b started:c", &upto);
    events_free(e);
}

static void test_filter_exit_and_entry(void **state)
{
    (void)state;
    events *e = engine(0, 0);
    ev_view *shortv = view_of(e, "filter[duration-less-than]", "60");
    ev_view *acc = view_of(e, "filter[customer-acc-id-eq]", "5");
    ev_view *again = view_of(e, "filter[customer-acc-id-eq]", "5");
    assert_ptr_equal(acc, again); /* one view per filter set */
    events_view_close(e, again);
    ev_view *pop = view_of(e, "filter[pop-id-eq]", "12");

    snapb *s1 = snap_new(2, 1000);
    call_add(s1, 1, "a", true, 10, 5);
    call_add(s1, 1, "b", true, 100, 6);
    call_add(s1, 2, "x", false, 0, 6);
    assert_true(events_feed(e, &s1->pub));
    expect_events(e, shortv, 0, "started:a started:x", NULL);
    expect_events(e, acc, 0, "started:a", NULL);
    expect_events(e, pop, 0, "started:x", NULL);

    snapb *s2 = snap_new(2, 2000); /* a passes 60 s; b's duration reads lower (a new leg) */
    call_add(s2, 1, "a", true, 70, 5);
    call_add(s2, 1, "b", true, 20, 6);
    node_fail(s2, 2, NODE_ERR_CLOSED);
    assert_true(events_feed(e, &s2->pub));
    expect_events(e, NULL, 3, "node-failed:2", NULL);
    expect_events(e, shortv, 3, "node-failed:2 ended*:a started*:b", NULL);
    expect_events(e, acc, 3, "node-failed:2", NULL);
    expect_events(e, pop, 3, "node-failed:2", NULL);

    ev_batch b; /* the exit carries the record that no longer matches, marked */
    assert_int_equal(events_read(e, shortv, 4, 1, &b), EV_READ_OK);
    assert_true(b.events[0]->filter);
    assert_int_equal(b.events[0]->rec->duration, 70);
    size_t len;
    doc_base base = {"http://h", 8};
    const char *frame = events_render(b.events[0], FIELDS_ALL, base, &len);
    assert_non_null(strstr(frame, "\nevent: call-ended\n"));
    assert_non_null(strstr(frame, ",\"meta\":{\"filter-exit\":true}}\n\n"));
    ev_batch_free(&b);

    snapb *s3 = snap_new(2, 3000); /* connected while not matching: the view sees an entry */
    call_add(s3, 1, "a", true, 71, 5);
    call_add(s3, 1, "b", true, 21, 6);
    call_add(s3, 2, "x", true, 1, 6);
    assert_true(events_feed(e, &s3->pub));
    uint64_t upto;
    expect_events(e, NULL, 6, "node-recovered:2 connected:x", &upto);
    expect_events(e, shortv, 6, "node-recovered:2 connected:x", NULL);
    expect_events(e, pop, 6, "node-recovered:2 connected:x", NULL);

    ev_current cur; /* the view's current set */
    assert_true(events_current(e, shortv, &cur));
    assert_int_equal(cur.n, 2);
    assert_int_equal(cur.upto, upto);
    ev_current_free(&cur);
    events_view_close(e, shortv);
    events_view_close(e, acc);
    events_view_close(e, pop);
    events_free(e);
}

/* ---- ring and resume -------------------------------------------------------- */

/* Round k: calls "k-0" and "k-1" start, the previous round's end. */
static void churn_round(events *e, int k, int64_t ms)
{
    snapb *s = snap_new(1, ms);
    char tag[32];
    for (int i = 0; i < 2; i++) {
        snprintf(tag, sizeof tag, "%d-%d", k, i);
        call_add(s, 1, tag, false, 0, 5);
    }
    assert_true(events_feed(e, &s->pub));
}

static void test_ring_by_count(void **state)
{
    (void)state;
    events *e = engine(10, 0);
    churn_round(e, 0, 0);                              /* ids 1, 2 */
    for (int k = 1; k < 10; k++) churn_round(e, k, k); /* 4 events each: 3..38 */
    events_stats st = events_get_stats(e);
    assert_int_equal(st.events, 38);
    assert_int_equal(st.ring, 8); /* whole rounds: 31..38 */
    ev_batch b;
    assert_int_equal(events_read(e, NULL, 0, 0, &b), EV_READ_TOO_OLD);
    assert_int_equal(events_read(e, NULL, 29, 0, &b), EV_READ_TOO_OLD); /* 30 is gone */
    assert_int_equal(events_read(e, NULL, 30, 0, &b), EV_READ_OK);
    assert_int_equal(b.n, 8);
    ev_batch_free(&b);
    /* inside the ring: exactly what follows */
    expect_events(e, NULL, 34, "ended:8-0 ended:8-1 started:9-0 started:9-1", NULL);
    expect_events(e, NULL, 36, "started:9-0 started:9-1", NULL);
    expect_events(e, NULL, 38, "", NULL);
    /* an id this engine never gave */
    assert_int_equal(events_read(e, NULL, 39, 0, &b), EV_READ_TOO_OLD);
    /* at most max at a time, upto tells where to go on */
    assert_int_equal(events_read(e, NULL, 34, 3, &b), EV_READ_OK);
    assert_int_equal(b.n, 3);
    assert_int_equal(b.upto, 37);
    ev_batch_free(&b);
    events_free(e);
}

static void test_ring_by_age(void **state)
{
    (void)state;
    events *e = engine(0, 1000);
    churn_round(e, 0, 0);    /* 1, 2 */
    churn_round(e, 1, 600);  /* 3..6 */
    churn_round(e, 2, 1500); /* 7..10: the first round is now 1500 ms old */
    ev_batch b;
    assert_int_equal(events_read(e, NULL, 1, 0, &b), EV_READ_TOO_OLD);
    expect_events(e, NULL, 2,
                  "ended:0-0 ended:0-1 started:1-0 started:1-1 ended:1-0 ended:1-1 started:2-0 "
                  "started:2-1",
                  NULL);
    churn_round(e, 3, 1700); /* 600 is 1100 ms before: gone */
    assert_int_equal(events_read(e, NULL, 2, 0, &b), EV_READ_TOO_OLD);
    expect_events(e, NULL, 6,
                  "ended:1-0 ended:1-1 started:2-0 started:2-1 ended:2-0 ended:2-1 started:3-0 "
                  "started:3-1",
                  NULL);
    events_free(e);
}

static void test_resume_of_a_view(void **state)
{
    (void)state;
    events *e = engine(100, 0);
    churn_round(e, 0, 0); /* 1, 2 */
    churn_round(e, 1, 1); /* 3..6 */
    ev_view *v = view_of(e, "filter[customer-acc-id-eq]", "5");
    ev_batch b;
    /* the view did not exist then: it cannot say what its stream missed */
    assert_int_equal(events_read(e, v, 2, 0, &b), EV_READ_TOO_OLD);
    expect_events(e, v, 6, "", NULL);
    churn_round(e, 2, 2); /* 7..10 */
    expect_events(e, v, 6, "ended:1-0 ended:1-1 started:2-0 started:2-1", NULL);
    expect_events(e, v, 8, "started:2-0 started:2-1", NULL);
    events_view_close(e, v);
    events_free(e);
}

/* ---- rendering ------------------------------------------------------------------------ */

static void test_render_once_per_field_set(void **state)
{
    (void)state;
    events *e = engine(0, 0);
    snapb *s = snap_new(1, 0);
    call_add(s, 1, "a/b", true, 42, 5);
    assert_true(events_feed(e, &s->pub));
    ev_batch b1, b2;
    assert_int_equal(events_read(e, NULL, 0, 0, &b1), EV_READ_OK);
    assert_int_equal(events_read(e, NULL, 0, 0, &b2), EV_READ_OK);
    doc_base base = {"http://h", 8};
    uint64_t some = (1ull << ATTR_DURATION) | (1ull << ATTR_LOCAL_TAG);
    size_t l1, l2, l3, l4;
    const char *f1 = events_render(b1.events[0], FIELDS_ALL, base, &l1);
    const char *f2 = events_render(b2.events[0], FIELDS_ALL, base, &l2);
    const char *f3 = events_render(b2.events[0], some, base, &l3);
    const char *f4 = events_render(b1.events[0], some, base, &l4);
    assert_ptr_equal(f1, f2); /* shared, not rendered per subscriber */
    assert_ptr_equal(f3, f4);
    assert_ptr_not_equal(f1, f3);
    assert_int_equal(events_get_stats(e).renders, 2);
    /* the call as the listing renders it */
    buf want, scratch;
    buf_init(&want);
    buf_init(&scratch);
    buf_puts(&want, "id: 1\nevent: call-started\ndata: {\"data\":");
    doc_call_opts opts = {some, 0};
    doc_call_resource(&want, &scratch, base, 1, &s->results[0].calls, &s->results[0].calls.recs[0], &opts);
    buf_puts(&want, "}\n\n");
    assert_int_equal(l3, want.len);
    assert_memory_equal(f3, want.data, want.len);
    assert_null(strstr(f3, "start-time"));
    assert_non_null(strstr(f1, "start-time"));
    assert_int_equal(strlen(f1), l1);
    buf_free(&want);
    buf_free(&scratch);
    ev_batch_free(&b1); /* b2 still holds the round: its frames stay */
    assert_int_equal(memcmp(f3, "id: 1\n", 6), 0);
    ev_batch_free(&b2);
    events_free(e);
}

/* ---- random sequences ------------------------------------------------------------------ */

#define TAGS 12
#define NODES 3

typedef struct known {
    bool in, connected;
    int64_t duration;
} known;

static uint64_t rnd_state;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* Applies events to a replayed state (node n, tag t: n * TAGS + t). */
static void replay(known *st, const ev_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const ev_event *ev = b->events[i];
        if (!ev->rec) continue;
        char tag[64];
        tag_of(ev, tag, sizeof tag);
        known *k = &st[(ev->node_id - 1) * TAGS + atoi(tag + 1)];
        switch (ev->kind) {
        case EV_CALL_STARTED:
            assert_false(k->in);
            *k = (known){true, !call_attr_is_null(ev->rec, ATTR_CONNECT_TIME), ev->rec->duration};
            break;
        case EV_CALL_CONNECTED:
            assert_true(k->in);
            assert_false(k->connected);
            k->connected = true;
            break;
        case EV_CALL_ENDED:
            assert_true(k->in);
            k->in = false;
            break;
        default: fail();
        }
    }
}

static void test_random_replay(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        rnd_state = seed * 0x9E3779B97F4A7C15ull;
        events *e = engine(seed % 2 ? 0 : 40, 0);
        ev_view *v = view_of(e, "filter[duration-greater-than]", "50");
        known truth[NODES * TAGS], last_ok[NODES * TAGS], all[NODES * TAGS], longv[NODES * TAGS];
        memset(last_ok, 0, sizeof last_ok);
        memset(all, 0, sizeof all);
        memset(longv, 0, sizeof longv);
        uint64_t at_all = 0, at_view = 0;
        for (int round = 0; round < 60; round++) {
            snapb *s = snap_new(NODES, round);
            memcpy(truth, last_ok, sizeof truth);
            for (int n = 0; n < NODES; n++) {
                if (rnd() % 5 == 0) { /* failed: its calls are as last known */
                    node_fail(s, n + 1, NODE_ERR_TIMEOUT);
                    continue;
                }
                for (int t = 0; t < TAGS; t++) {
                    known *k = &truth[n * TAGS + t];
                    bool was = last_ok[n * TAGS + t].in;
                    if (rnd() % 3 == 0 ? !was : was) { /* a third of them change presence */
                        k->in = false;
                        continue;
                    }
                    k->in = true;
                    k->connected = (was && last_ok[n * TAGS + t].connected) || rnd() % 3 == 0;
                    k->duration = (int64_t)(rnd() % 100);
                    char tag[8];
                    snprintf(tag, sizeof tag, "t%d", t);
                    call_add(s, n + 1, tag, k->connected, k->duration, 5);
                }
                memcpy(&last_ok[n * TAGS], &truth[n * TAGS], TAGS * sizeof *truth);
            }
            assert_true(events_feed(e, &s->pub));
            /* read every round (the ring may hold only a few) */
            ev_batch b;
            assert_int_equal(events_read(e, NULL, at_all, 0, &b), EV_READ_OK);
            replay(all, &b);
            at_all = b.upto;
            ev_batch_free(&b);
            assert_int_equal(events_read(e, v, at_view, 0, &b), EV_READ_OK);
            replay(longv, &b);
            at_view = b.upto;
            ev_batch_free(&b);
            for (int i = 0; i < NODES * TAGS; i++) {
                assert_int_equal(all[i].in, truth[i].in);
                if (truth[i].in) assert_int_equal(all[i].connected, truth[i].connected);
                bool in_view = truth[i].in && truth[i].duration > 50;
                assert_int_equal(longv[i].in, in_view);
                if (in_view) assert_int_equal(longv[i].connected, truth[i].connected);
            }
            /* the current set is the replayed one */
            ev_current cur;
            assert_true(events_current(e, v, &cur));
            assert_int_equal(cur.upto, at_all);
            size_t want = 0;
            for (int i = 0; i < NODES * TAGS; i++) want += longv[i].in;
            assert_int_equal(cur.n, want);
            ev_current_free(&cur);
        }
        events_view_close(e, v);
        events_free(e);
        teardown(NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_start_connect_end, teardown),
        cmocka_unit_test_teardown(test_removed_node_and_repeated_tag, teardown),
        cmocka_unit_test_teardown(test_node_failure_reconciled, teardown),
        cmocka_unit_test_teardown(test_filter_exit_and_entry, teardown),
        cmocka_unit_test_teardown(test_ring_by_count, teardown),
        cmocka_unit_test_teardown(test_ring_by_age, teardown),
        cmocka_unit_test_teardown(test_resume_of_a_view, teardown),
        cmocka_unit_test_teardown(test_render_once_per_field_set, teardown),
        cmocka_unit_test_teardown(test_random_replay, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
