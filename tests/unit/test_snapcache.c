/* test_snapcache: api/snapcache.c — documents of the newest snapshot: a hit
 * copies the document kept for (snapshot, key); keys differ by base, path
 * and every parameter but the token; a newer snapshot's document drops the
 * older ones and an older one is never kept; the least recently used goes
 * first when the cache is full; only 200s no bigger than the limit are
 * kept, a body in parts as one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/snapcache.h"

static http_response response(int status, const char *body)
{
    http_response r = {.status = status};
    buf_init(&r.body);
    buf_puts(&r.body, body);
    return r;
}

static void key_of(buf *key, const char *base, const char *path, const query_param *params, size_t n)
{
    http_request req = {.path = path, .params = params, .nparams = n};
    buf_init(key);
    snapcache_key(key, &req, base, strlen(base));
}

/* The body a lookup gives, or NULL on a miss (static storage). */
static const char *lookup(snapcache *c, uint64_t seq, const buf *key)
{
    static char text[256];
    http_response r = response(0, "");
    bool hit = snapcache_get(c, seq, key, &r);
    if (hit) { /* shared, not copied into the body */
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body.len, 0);
        snprintf(text, sizeof text, "%.*s", (int)r.shared_len, r.shared);
    }
    http_response_clear_body(&r); /* gives the document back */
    buf_free(&r.body);
    return hit ? text : NULL;
}

static void put(snapcache *c, uint64_t seq, const buf *key, int status, const char *body)
{
    http_response r = response(status, body);
    snapcache_put(c, seq, key, &r);
    buf_free(&r.body);
}

static void keys(void **state)
{
    (void)state;
    query_param a[] = {{"sort", "-duration"}, {"token", "secret-1"}};
    query_param b[] = {{"sort", "-duration"}, {"token", "secret-2"}};
    query_param c[] = {{"sort", "duration"}};
    query_param d[] = {{"sort", "-duration"}};
    query_param split1[] = {{"a", "b1:c"}}, split2[] = {{"a", "b"}, {"1:c", ""}};
    buf ka, kb, kc, kd, ke, kf, ks1, ks2;
    key_of(&ka, "http://x", "/p", a, 2);
    key_of(&kb, "http://x", "/p", b, 2);
    key_of(&kc, "http://x", "/p", c, 1);
    key_of(&kd, "http://x", "/p", d, 1);
    key_of(&ke, "http://y", "/p", d, 1);
    key_of(&kf, "http://x", "/q", d, 1);
    key_of(&ks1, "http://x", "/p", split1, 1);
    key_of(&ks2, "http://x", "/p", split2, 2);
    /* the token never counts */
    assert_int_equal(ka.len, kb.len);
    assert_memory_equal(ka.data, kb.data, ka.len);
    assert_memory_equal(ka.data, kd.data, ka.len);
    /* anything else does */
    assert_true(kc.len != kd.len || memcmp(kc.data, kd.data, kc.len) != 0);
    assert_true(ke.len != kd.len || memcmp(ke.data, kd.data, ke.len) != 0);
    assert_true(kf.len != kd.len || memcmp(kf.data, kd.data, kf.len) != 0);
    assert_true(ks1.len != ks2.len || memcmp(ks1.data, ks2.data, ks1.len) != 0);
    buf *all[] = {&ka, &kb, &kc, &kd, &ke, &kf, &ks1, &ks2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) buf_free(all[i]);
}

static void hits_and_snapshots(void **state)
{
    (void)state;
    snapcache *c = snapcache_new();
    buf k1, k2;
    key_of(&k1, "http://x", "/one", NULL, 0);
    key_of(&k2, "http://x", "/two", NULL, 0);
    assert_null(lookup(c, 1, &k1));
    put(c, 1, &k1, 200, "{\"doc\":1}");
    put(c, 1, &k2, 400, "{\"errors\":[]}"); /* not kept */
    assert_string_equal(lookup(c, 1, &k1), "{\"doc\":1}");
    assert_null(lookup(c, 1, &k2));
    assert_null(lookup(c, 2, &k1)); /* another snapshot: a miss, and the older one is gone */
    assert_null(lookup(c, 1, &k1));
    put(c, 1, &k1, 200, "{\"old\":1}"); /* a late writer of an older snapshot: not kept */
    assert_null(lookup(c, 1, &k1));
    assert_int_equal(snapcache_get_stats(c).entries, 0);

    /* a body in parts is kept as one */
    http_response r = response(200, "{\"data\":[1");
    assert_true(http_response_more(&r, 2));
    buf_puts(&r.more[0], ",2");
    buf_puts(&r.more[1], "]}");
    snapcache_put(c, 2, &k2, &r);
    http_response_clear_body(&r);
    buf_free(&r.body);
    assert_string_equal(lookup(c, 2, &k2), "{\"data\":[1,2]}");
    /* an answer holding a document keeps it alive after the cache drops it */
    put(c, 3, &k1, 200, "{\"held\":3}");
    http_response held = response(0, "");
    assert_true(snapcache_get(c, 3, &k1, &held));
    put(c, 4, &k2, 200, "{\"newer\":4}"); /* snapshot 3's documents are dropped */
    assert_null(lookup(c, 3, &k1));
    assert_int_equal(held.shared_len, strlen("{\"held\":3}"));
    assert_memory_equal(held.shared, "{\"held\":3}", held.shared_len);
    http_response_clear_body(&held); /* the last reference: freed (ASan checks) */
    assert_null(held.shared);
    buf_free(&held.body);
    snapcache_stats st = snapcache_get_stats(c);
    assert_true(st.hits >= 2 && st.misses >= 4);
    buf_free(&k1);
    buf_free(&k2);
    snapcache_free(c);
}

static void least_recently_used_goes(void **state)
{
    (void)state;
    snapcache *c = snapcache_new();
    buf k[SNAPCACHE_ENTRIES + 1];
    for (int i = 0; i <= SNAPCACHE_ENTRIES; i++) {
        char path[32];
        snprintf(path, sizeof path, "/%d", i);
        key_of(&k[i], "http://x", path, NULL, 0);
    }
    for (int i = 0; i < SNAPCACHE_ENTRIES; i++) put(c, 7, &k[i], 200, "{}");
    assert_non_null(lookup(c, 7, &k[0])); /* 0 used lately: 1 is the oldest now */
    put(c, 7, &k[SNAPCACHE_ENTRIES], 200, "{}");
    assert_int_equal(snapcache_get_stats(c).entries, SNAPCACHE_ENTRIES);
    assert_non_null(lookup(c, 7, &k[0]));
    assert_null(lookup(c, 7, &k[1]));
    assert_non_null(lookup(c, 7, &k[SNAPCACHE_ENTRIES]));
    for (int i = 0; i <= SNAPCACHE_ENTRIES; i++) buf_free(&k[i]);
    snapcache_free(c);
}

static void big_documents_are_not_kept(void **state)
{
    (void)state;
    snapcache *c = snapcache_new();
    buf key;
    key_of(&key, "http://x", "/big", NULL, 0);
    http_response r = {.status = 200};
    buf_init(&r.body);
    assert_true(buf_reserve(&r.body, SNAPCACHE_DOC_MAX + 1));
    memset(r.body.data, 'x', SNAPCACHE_DOC_MAX + 1);
    r.body.len = SNAPCACHE_DOC_MAX + 1;
    snapcache_put(c, 1, &key, &r);
    assert_int_equal(snapcache_get_stats(c).entries, 0);
    r.body.len = SNAPCACHE_DOC_MAX; /* at the limit: kept */
    snapcache_put(c, 1, &key, &r);
    assert_int_equal(snapcache_get_stats(c).entries, 1);
    assert_int_equal(snapcache_get_stats(c).bytes, SNAPCACHE_DOC_MAX);
    buf_free(&r.body);
    buf_free(&key);
    snapcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys),
        cmocka_unit_test(hits_and_snapshots),
        cmocka_unit_test(least_recently_used_goes),
        cmocka_unit_test(big_documents_are_not_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
