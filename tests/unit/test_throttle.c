/* test_throttle: auth/throttle.c — the table: 5 failures in 60 s refuse a
 * key with the right Retry-After, the window slides (time injected), a
 * success resets, keys are independent, long keys, bad parameters, and the
 * table stays bounded: beyond THROTTLE_MAX_KEYS the stalest keys are
 * dropped first, through many rounds of churn. The login policy: per
 * (username, address) and per address, a success clears its own pair only,
 * no address can refuse a username to another, IPv6 counts per /64 and
 * IPv4-mapped IPv6 as IPv4. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/throttle.h"

#define T0 1700000000000LL /* ms */

static void five_in_a_minute(void **state)
{
    (void)state;
    throttle *t = throttle_new(5, 60);
    assert_non_null(t);
    assert_int_equal(throttle_retry_after(t, "1.2.3.4", T0), 0);
    for (int i = 0; i < 4; i++) {
        throttle_failure(t, "1.2.3.4", T0 + i * 1000);
        assert_int_equal(throttle_retry_after(t, "1.2.3.4", T0 + i * 1000), 0);
    }
    throttle_failure(t, "1.2.3.4", T0 + 4000);
    /* refused until the first failure (T0) leaves the window at T0 + 60 s */
    assert_int_equal(throttle_retry_after(t, "1.2.3.4", T0 + 4000), 56);
    assert_int_equal(throttle_retry_after(t, "1.2.3.4", T0 + 4001), 56); /* 55.999 s → 56 */
    assert_int_equal(throttle_retry_after(t, "1.2.3.4", T0 + 59000), 1);
    assert_int_equal(throttle_retry_after(t, "1.2.3.4", T0 + 59999), 1); /* never 0 while refused */
    assert_int_equal(throttle_retry_after(t, "1.2.3.4", T0 + 60000), 0);
    throttle_free(t);
}

static void window_slides(void **state)
{
    (void)state;
    throttle *t = throttle_new(5, 60);
    /* failures spread so that never 5 fall in one minute */
    for (int i = 0; i < 20; i++) {
        int64_t now = T0 + (int64_t)i * 15001;
        assert_int_equal(throttle_retry_after(t, "k", now), 0);
        throttle_failure(t, "k", now);
    }
    assert_int_equal(throttle_retry_after(t, "k", T0 + 20 * 15001), 0);

    /* a burst after old failures: only the recent ones count */
    throttle *u = throttle_new(3, 10);
    throttle_failure(u, "k", T0);
    throttle_failure(u, "k", T0 + 1000);
    throttle_failure(u, "k", T0 + 11000); /* T0 has left the window */
    assert_int_equal(throttle_retry_after(u, "k", T0 + 11000), 0);
    throttle_failure(u, "k", T0 + 11500);                          /* window holds 1000, 11000, 11500 */
    assert_int_equal(throttle_retry_after(u, "k", T0 + 11500), 0); /* 1000 is out: 11000 > 1000+10000 */
    throttle_failure(u, "k", T0 + 12000);                          /* 11000, 11500, 12000 */
    assert_int_equal(throttle_retry_after(u, "k", T0 + 12000), 9); /* until 21000 */
    /* failing while refused extends the refusal: the oldest kept is 11500 */
    throttle_failure(u, "k", T0 + 13000);
    assert_int_equal(throttle_retry_after(u, "k", T0 + 13000), 9); /* until 21500 → 8.5 s → 9 */
    assert_int_equal(throttle_retry_after(u, "k", T0 + 21499), 1);
    assert_int_equal(throttle_retry_after(u, "k", T0 + 21500), 0); /* 11500 out: 2 left */
    throttle_free(u);

    /* a clock that went back never asks for more than the window */
    u = throttle_new(1, 10);
    throttle_failure(u, "k", T0);
    assert_int_equal(throttle_retry_after(u, "k", T0 - 3600000), 10);
    throttle_free(u);
    throttle_free(t);
}

static void success_resets(void **state)
{
    (void)state;
    throttle *t = throttle_new(5, 60);
    for (int i = 0; i < 5; i++) throttle_failure(t, "alice", T0 + i);
    assert_true(throttle_retry_after(t, "alice", T0 + 10) > 0);
    throttle_success(t, "alice");
    assert_int_equal(throttle_retry_after(t, "alice", T0 + 10), 0);
    /* counting starts again from zero */
    for (int i = 0; i < 4; i++) throttle_failure(t, "alice", T0 + 20 + i);
    assert_int_equal(throttle_retry_after(t, "alice", T0 + 30), 0);
    throttle_failure(t, "alice", T0 + 40);
    assert_true(throttle_retry_after(t, "alice", T0 + 41) > 0);
    /* success for an unknown key is harmless */
    throttle_success(t, "nobody");
    throttle_free(t);
}

static void keys_independent(void **state)
{
    (void)state;
    throttle *t = throttle_new(5, 60);
    for (int i = 0; i < 5; i++) throttle_failure(t, "ip:10.0.0.1", T0 + i);
    assert_true(throttle_retry_after(t, "ip:10.0.0.1", T0 + 10) > 0);
    assert_int_equal(throttle_retry_after(t, "ip:10.0.0.2", T0 + 10), 0);
    assert_int_equal(throttle_retry_after(t, "ip:10.0.0.", T0 + 10), 0);
    assert_int_equal(throttle_retry_after(t, "ip:10.0.0.10", T0 + 10), 0);
    assert_int_equal(throttle_retry_after(t, "IP:10.0.0.1", T0 + 10), 0);
    assert_int_equal(throttle_retry_after(t, "", T0 + 10), 0);
    /* a success on another key leaves this one alone */
    throttle_success(t, "ip:10.0.0.2");
    assert_true(throttle_retry_after(t, "ip:10.0.0.1", T0 + 10) > 0);
    /* two instances share nothing */
    throttle *u = throttle_new(5, 60);
    assert_int_equal(throttle_retry_after(u, "ip:10.0.0.1", T0 + 10), 0);
    throttle_free(u);
    throttle_free(t);
}

static void odd_input(void **state)
{
    (void)state;
    assert_null(throttle_new(0, 60));
    assert_null(throttle_new(-1, 60));
    assert_null(throttle_new(5, 0));
    assert_null(throttle_new(5, -60));
    assert_null(throttle_new(5000, 60));
    throttle_free(NULL);
    assert_int_equal(throttle_retry_after(NULL, "k", T0), 0);
    throttle_failure(NULL, "k", T0);
    throttle_success(NULL, "k");

    throttle *t = throttle_new(1, 60);
    assert_int_equal(throttle_retry_after(t, NULL, T0), 0);
    throttle_failure(t, NULL, T0);
    throttle_success(t, NULL);
    /* one failure allowed → the first failure refuses */
    throttle_failure(t, "k", T0);
    assert_int_equal(throttle_retry_after(t, "k", T0), 60);
    /* very long keys work (cut to a bounded length) */
    char big[10000];
    memset(big, 'u', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    throttle_failure(t, big, T0);
    assert_int_equal(throttle_retry_after(t, big, T0), 60);
    throttle_success(t, big);
    assert_int_equal(throttle_retry_after(t, big, T0), 0);
    throttle_free(t);
}

static void key_of(char *buf, size_t n, int i) { snprintf(buf, n, "user-%d", i); }

static void capacity_eviction(void **state)
{
    (void)state;
    throttle *t = throttle_new(1, 3600);
    char k[32];
    const int extra = 500;
    /* key i fails at T0 + i ms: with max_failures 1 every key is refused */
    for (int i = 0; i < THROTTLE_MAX_KEYS + extra; i++) {
        key_of(k, sizeof k, i);
        throttle_failure(t, k, T0 + i);
    }
    int64_t now = T0 + THROTTLE_MAX_KEYS + extra;
    /* the stalest `extra` keys were dropped, the rest still refused */
    for (int i = 0; i < THROTTLE_MAX_KEYS + extra; i++) {
        key_of(k, sizeof k, i);
        int r = throttle_retry_after(t, k, now);
        if (i < extra && r != 0) fail_msg("key %d kept", i);
        if (i >= extra && r == 0) fail_msg("key %d dropped", i);
    }
    /* a key that failed again recently survives; then the next stalest goes */
    key_of(k, sizeof k, extra);
    throttle_failure(t, k, now + 1); /* user-500 becomes the freshest */
    throttle_failure(t, "newcomer", now + 2);
    assert_true(throttle_retry_after(t, "newcomer", now + 3) > 0);
    assert_true(throttle_retry_after(t, k, now + 3) > 0);
    key_of(k, sizeof k, extra + 1);
    assert_int_equal(throttle_retry_after(t, k, now + 3), 0); /* user-501 was stalest */
    key_of(k, sizeof k, extra + 2);
    assert_true(throttle_retry_after(t, k, now + 3) > 0);
    throttle_free(t);
}

static void churn_stays_bounded(void **state)
{
    (void)state;
    /* rounds of new keys, successes and re-failures: lookups stay right and
     * the table never holds more than its bound (checked by eviction order) */
    throttle *t = throttle_new(2, 60);
    char k[32];
    int64_t now = T0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < THROTTLE_MAX_KEYS; i++) {
            snprintf(k, sizeof k, "r%d-%d", round, i);
            throttle_failure(t, k, ++now);
            throttle_failure(t, k, ++now);
            if (i % 3 == 0) throttle_success(t, k);
        }
        /* this round's keys: refused unless reset; the last round is gone */
        for (int i = 0; i < THROTTLE_MAX_KEYS; i += 97) {
            snprintf(k, sizeof k, "r%d-%d", round, i);
            int r = throttle_retry_after(t, k, now);
            if ((i % 3 == 0) != (r == 0)) fail_msg("round %d key %d: %d", round, i, r);
        }
        if (round > 0) {
            /* the previous round's survivors are its freshest keys */
            int kept = 0, first_kept = -1;
            for (int i = 0; i < THROTTLE_MAX_KEYS; i++) {
                snprintf(k, sizeof k, "r%d-%d", round - 1, i);
                bool refused = throttle_retry_after(t, k, now) > 0;
                if (refused && first_kept < 0) first_kept = i;
                if (refused) kept++;
                if (first_kept >= 0 && i % 3 != 0 && !refused)
                    fail_msg("round %d: key %d dropped after fresher %d kept", round, i, first_kept);
            }
            /* this round holds 2/3 of the bound; the rest (less the slot
             * the final reset freed) is the previous round's */
            int live = THROTTLE_MAX_KEYS - (THROTTLE_MAX_KEYS + 2) / 3;
            if (kept + live > THROTTLE_MAX_KEYS || kept + live < THROTTLE_MAX_KEYS - 1)
                fail_msg("round %d: %d kept from before, %d live", round, kept, live);
        }
    }
    throttle_free(t);
}

typedef struct {
    throttle *t;
    int id;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    char k[32];
    for (int i = 0; i < 8000; i++) {
        snprintf(k, sizeof k, "w%d-%d", a->id, i % 3000);
        throttle_failure(a->t, k, T0 + i);
        (void)throttle_retry_after(a->t, k, T0 + i);
        if (i % 7 == 0) throttle_success(a->t, k);
    }
    return NULL;
}

static void threads(void **state)
{
    (void)state;
    throttle *t = throttle_new(5, 60);
    pthread_t th[4];
    worker_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (worker_arg){t, i};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    throttle_failure(t, "after", T0);
    assert_int_equal(throttle_retry_after(t, "after", T0), 0);
    throttle_free(t);
}

/* ---- the login policy ---- */

/* An address as a sockaddr (IPv6 when text has a ':'), in one of four
 * rotating buffers so that a call may use several. */
static const struct sockaddr *addr(const char *text)
{
    static struct sockaddr_storage ss[4];
    static int next;
    struct sockaddr_storage *a = &ss[next++ % 4];
    memset(a, 0, sizeof *a);
    if (strchr(text, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)a;
        in6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)a;
        in->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &in->sin_addr), 1);
    }
    return (const struct sockaddr *)a;
}

static int wait_s(login_throttle *lt, const char *user, const char *from, int64_t now)
{
    return login_throttle_retry_after(lt, user, addr(from), now);
}

static void fail_n(login_throttle *lt, const char *user, const char *from, int n, int64_t t)
{
    for (int i = 0; i < n; i++) login_throttle_failure(lt, user, addr(from), t + i);
}

/* Each {username, address} of the list may try at now. */
static void all_free(login_throttle *lt, int64_t now, const char *const (*list)[2], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (wait_s(lt, list[i][0], list[i][1], now) != 0)
            fail_msg("%s from %s refused", list[i][0], list[i][1]);
}

static void login_per_pair(void **state)
{
    (void)state;
    login_throttle *lt = login_throttle_new(5, 20, 60);
    assert_non_null(lt);
    fail_n(lt, "admin", "192.0.2.1", 4, T0);
    assert_int_equal(wait_s(lt, "admin", "192.0.2.1", T0 + 10), 0);
    login_throttle_failure(lt, "admin", addr("192.0.2.1"), T0 + 1000);
    /* refused until the first failure (T0) leaves the window */
    assert_int_equal(wait_s(lt, "admin", "192.0.2.1", T0 + 1000), 59);
    assert_int_equal(wait_s(lt, "admin", "192.0.2.1", T0 + 59999), 1);
    /* admin from anywhere else, and anyone else from there, may try */
    static const char *const others[][2] = {
        {"admin", "192.0.2.2"}, {"admin", "2001:db8::1"}, {"bob", "192.0.2.1"},
        {"Admin", "192.0.2.1"}, {"admin ", "192.0.2.1"},
    };
    all_free(lt, T0 + 1000, others, sizeof others / sizeof others[0]);
    /* the window slides */
    assert_int_equal(wait_s(lt, "admin", "192.0.2.1", T0 + 60000), 0);
    login_throttle_free(lt);
}

static void login_no_lockout_elsewhere(void **state)
{
    (void)state;
    login_throttle *lt = login_throttle_new(5, 20, 60);
    /* failures against admin from 1,000 addresses, as many as each may */
    for (int i = 0; i < 1000; i++) {
        char a[32];
        snprintf(a, sizeof a, "198.51.%d.%d", i / 250, i % 250 + 1);
        fail_n(lt, "admin", a, 5, T0 + i * 10);
        if (wait_s(lt, "admin", a, T0 + i * 10 + 5) == 0) fail_msg("%s not refused", a);
    }
    /* admin's own address never failed: never refused */
    static const char *const own[][2] = {
        {"admin", "192.0.2.7"},
        {"admin", "::ffff:192.0.2.7"},
        {"admin", "2001:db8:7::1"},
    };
    all_free(lt, T0 + 10005, own, sizeof own / sizeof own[0]);
    login_throttle_free(lt);
}

static void login_per_address(void **state)
{
    (void)state;
    login_throttle *lt = login_throttle_new(5, 20, 60);
    /* one failure each under 20 names: the address is full */
    static const char *const names[20] = {
        "u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9",
        "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "user0",
    };
    for (int i = 0; i < 20; i++) {
        if (wait_s(lt, names[i], "192.0.2.9", T0 + i) != 0) fail_msg("refused before %s", names[i]);
        login_throttle_failure(lt, names[i], addr("192.0.2.9"), T0 + i);
    }
    assert_int_equal(wait_s(lt, "someone-new", "192.0.2.9", T0 + 20), 60);
    assert_int_equal(wait_s(lt, "user0", "192.0.2.9", T0 + 20), 60);
    /* until its oldest failure leaves the window */
    assert_int_equal(wait_s(lt, "someone-new", "192.0.2.9", T0 + 59999), 1);
    assert_int_equal(wait_s(lt, "someone-new", "192.0.2.9", T0 + 60000), 0);
    /* nobody else is touched */
    assert_int_equal(wait_s(lt, "someone-new", "192.0.2.10", T0 + 20), 0);
    login_throttle_free(lt);

    /* a limit per address below the pair limit is the tighter one */
    lt = login_throttle_new(5, 2, 60);
    fail_n(lt, "admin", "192.0.2.9", 2, T0);
    assert_int_equal(wait_s(lt, "admin", "192.0.2.9", T0 + 2), 60);
    login_throttle_free(lt);
}

static void login_success_clears_own_pair(void **state)
{
    (void)state;
    login_throttle *lt = login_throttle_new(3, 8, 60);
    const char *a = "192.0.2.20";
    fail_n(lt, "alice", a, 2, T0);
    login_throttle_success(lt, "alice", addr(a)); /* alice@a 0, a 2 */
    fail_n(lt, "alice", a, 2, T0 + 10);           /* alice@a 2, a 4 */
    assert_int_equal(wait_s(lt, "alice", a, T0 + 20), 0);
    fail_n(lt, "admin", a, 2, T0 + 20); /* admin@a 2, a 6 */
    /* an attacker's success on its own account leaves admin@a alone */
    login_throttle_success(lt, "eve", addr(a));
    login_throttle_failure(lt, "admin", addr(a), T0 + 30); /* admin@a 3, a 7 */
    assert_true(wait_s(lt, "admin", a, T0 + 31) > 0);
    assert_int_equal(wait_s(lt, "eve", a, T0 + 31), 0);
    /* nor the address's count: one more failure under any name fills it */
    login_throttle_success(lt, "eve", addr(a));
    login_throttle_failure(lt, "carol", addr(a), T0 + 32); /* a 8 */
    assert_true(wait_s(lt, "eve", a, T0 + 33) > 0);
    login_throttle_success(lt, "eve", addr(a));
    login_throttle_success(lt, "admin", addr(a));
    assert_true(wait_s(lt, "eve", a, T0 + 33) > 0);
    assert_true(wait_s(lt, "admin", a, T0 + 33) > 0);
    /* a success from another address clears nothing here */
    login_throttle_free(lt);
    lt = login_throttle_new(3, 8, 60);
    fail_n(lt, "admin", a, 3, T0);
    login_throttle_success(lt, "admin", addr("192.0.2.21"));
    assert_true(wait_s(lt, "admin", a, T0 + 3) > 0);
    login_throttle_free(lt);
}

static void login_blocks(void **state)
{
    (void)state;
    login_throttle *lt = login_throttle_new(3, 20, 60);
    /* IPv6: one /64 is one client */
    login_throttle_failure(lt, "admin", addr("2001:db8:0:1::1"), T0);
    login_throttle_failure(lt, "admin", addr("2001:db8:0:1:ffff::2"), T0 + 1);
    login_throttle_failure(lt, "admin", addr("2001:db8:0:1:1:2:3:4"), T0 + 2);
    assert_true(wait_s(lt, "admin", "2001:db8:0:1::abcd", T0 + 3) > 0);
    assert_int_equal(wait_s(lt, "admin", "2001:db8:0:2::1", T0 + 3), 0);
    assert_int_equal(wait_s(lt, "admin", "2001:db8:1:1::1", T0 + 3), 0);
    /* IPv4: each address is its own; IPv4-mapped IPv6 is that IPv4 address
     * (a dual-stack listener's IPv4 peers do not share one /64) */
    fail_n(lt, "admin", "192.0.2.1", 2, T0);
    login_throttle_failure(lt, "admin", addr("::ffff:192.0.2.1"), T0 + 2);
    assert_true(wait_s(lt, "admin", "192.0.2.1", T0 + 3) > 0);
    assert_true(wait_s(lt, "admin", "::ffff:192.0.2.1", T0 + 3) > 0);
    assert_int_equal(wait_s(lt, "admin", "::ffff:192.0.2.2", T0 + 3), 0);
    assert_int_equal(wait_s(lt, "admin", "192.0.2.0", T0 + 3), 0);
    login_throttle_free(lt);
}

static void login_odd_input(void **state)
{
    (void)state;
    assert_null(login_throttle_new(0, 20, 60));
    assert_null(login_throttle_new(5, 0, 60));
    assert_null(login_throttle_new(5, 20, 0));
    assert_null(login_throttle_new(THROTTLE_MAX_FAILURES + 1, 20, 60));
    assert_null(login_throttle_new(5, THROTTLE_MAX_FAILURES + 1, 60));
    login_throttle_free(NULL);
    assert_int_equal(login_throttle_retry_after(NULL, "u", addr("192.0.2.1"), T0), 0);
    login_throttle_failure(NULL, "u", addr("192.0.2.1"), T0);
    login_throttle_success(NULL, "u", addr("192.0.2.1"));

    login_throttle *lt = login_throttle_new(1, 1000, 60);
    login_throttle_failure(lt, NULL, addr("192.0.2.1"), T0);
    login_throttle_failure(lt, "u", NULL, T0);
    assert_int_equal(login_throttle_retry_after(lt, NULL, addr("192.0.2.1"), T0), 0);
    assert_int_equal(login_throttle_retry_after(lt, "u", NULL, T0), 0);
    assert_int_equal(wait_s(lt, "u", "192.0.2.1", T0), 0);
    /* a username with spaces is one key, not a block and a name */
    login_throttle_failure(lt, "a b", addr("192.0.2.1"), T0);
    assert_true(wait_s(lt, "a b", "192.0.2.1", T0) > 0);
    assert_int_equal(wait_s(lt, "a", "192.0.2.1", T0), 0);
    /* the longest usernames (255 bytes) stay apart */
    char u1[256], u2[256];
    memset(u1, 'u', 255);
    u1[255] = '\0';
    memcpy(u2, u1, 256);
    u2[254] = 'v';
    login_throttle_failure(lt, u1, addr("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), T0);
    assert_true(wait_s(lt, u1, "2001:db8:ffff:ffff::1", T0) > 0);
    assert_int_equal(wait_s(lt, u2, "2001:db8:ffff:ffff::1", T0), 0);
    login_throttle_free(lt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(five_in_a_minute),    cmocka_unit_test(window_slides),
        cmocka_unit_test(success_resets),      cmocka_unit_test(keys_independent),
        cmocka_unit_test(odd_input),           cmocka_unit_test(capacity_eviction),
        cmocka_unit_test(churn_stays_bounded), cmocka_unit_test(threads),
        cmocka_unit_test(login_per_pair),      cmocka_unit_test(login_no_lockout_elsewhere),
        cmocka_unit_test(login_per_address),   cmocka_unit_test(login_success_clears_own_pair),
        cmocka_unit_test(login_blocks),        cmocka_unit_test(login_odd_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
