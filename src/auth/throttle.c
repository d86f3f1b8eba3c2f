/* throttle: failed-login counting — a bounded table of sliding windows,
 * and the login policy built from two of them (throttle.h; the policy's
 * why is in docs/API.md "Authentication").
 *
 * The table: an open-addressing hash table (linear probing, backward-shift
 * deletion, so no tombstones) of TABLE_SIZE slots holds at most
 * THROTTLE_MAX_KEYS keys. Each key keeps a ring of its last max_failures
 * failure times; the key is refused while the ring is full and its oldest
 * entry is still inside the window, until exactly that entry leaves it.
 * When the table is full, a new key evicts the key whose newest failure is
 * oldest (one linear scan, only then). Keys longer than MAX_KEY bytes are
 * cut to that length (such keys can only share, i.e. tighten, a limit).
 * The hash is FNV-1a with a per-table random seed; even adversarial
 * collisions cost at most one scan of the bounded table. One mutex guards
 * everything.
 *
 * The policy: keys are the client's block ("192.0.2.1", "2001:db8::/64")
 * and that block, a space and the username (a block's text has no space,
 * so no two pairs share a key; a username long enough to be cut can only
 * share its own block's limit). An IPv6 client counts as its /64, the
 * usual allocation of one subscriber: otherwise one host could take a new
 * address for every few attempts. Nothing is keyed by username alone: such
 * a key would let anyone lock any user (the administrator) out from
 * everywhere. */
#include "auth/throttle.h"

#include "auth/cidr.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define TABLE_SIZE 16384 /* power of two, > THROTTLE_MAX_KEYS / 0.7 */
#define MAX_KEY 320      /* a block's text, a space, a username of up to 255 bytes */
#define MAX_WINDOW_S (7 * 86400)

typedef struct {
    char *key; /* NULL: empty slot */
    uint64_t hash;
    int64_t *times;  /* ring of max_failures failure times, ms */
    int count, head; /* head: oldest */
    int64_t newest;
} slot;

struct throttle {
    pthread_mutex_t mu;
    int max_failures;
    int64_t window_ms;
    uint64_t seed;
    size_t n;
    slot slots[TABLE_SIZE];
};

static uint64_t hash_key(const throttle *t, const char *key, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ t->seed;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

static size_t key_len(const char *key) { return strnlen(key, MAX_KEY); }

throttle *throttle_new(int max_failures, int window_s)
{
    if (max_failures < 1 || max_failures > THROTTLE_MAX_FAILURES || window_s < 1 || window_s > MAX_WINDOW_S)
        return NULL;
    throttle *t = calloc(1, sizeof *t);
    if (t == NULL) return NULL;
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t);
        return NULL;
    }
    t->max_failures = max_failures;
    t->window_ms = (int64_t)window_s * 1000;
    if (getrandom(&t->seed, sizeof t->seed, GRND_NONBLOCK) != (ssize_t)sizeof t->seed)
        t->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)t;
    return t;
}

static void clear_slot(slot *s)
{
    free(s->key);
    free(s->times);
    memset(s, 0, sizeof *s);
}

void throttle_free(throttle *t)
{
    if (t == NULL) return;
    for (size_t i = 0; i < TABLE_SIZE; i++)
        if (t->slots[i].key) clear_slot(&t->slots[i]);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static slot *find(throttle *t, const char *key, size_t n, uint64_t h)
{
    for (size_t i = h & (TABLE_SIZE - 1);; i = (i + 1) & (TABLE_SIZE - 1)) {
        slot *s = &t->slots[i];
        if (s->key == NULL) return NULL;
        if (s->hash == h && strlen(s->key) == n && memcmp(s->key, key, n) == 0) return s;
    }
}

/* Backward-shift deletion: pulls later members of the probe run into the hole. */
static void remove_slot(throttle *t, slot *s)
{
    size_t hole = (size_t)(s - t->slots);
    clear_slot(s);
    t->n--;
    for (size_t j = (hole + 1) & (TABLE_SIZE - 1);; j = (j + 1) & (TABLE_SIZE - 1)) {
        slot *c = &t->slots[j];
        if (c->key == NULL) return;
        size_t home = c->hash & (TABLE_SIZE - 1);
        /* c may move to hole when hole lies cyclically in [home, j). */
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            t->slots[hole] = *c;
            memset(c, 0, sizeof *c);
            hole = j;
        }
    }
}

static void evict_stalest(throttle *t)
{
    slot *victim = NULL;
    for (size_t i = 0; i < TABLE_SIZE; i++) {
        slot *s = &t->slots[i];
        if (s->key && (victim == NULL || s->newest < victim->newest)) victim = s;
    }
    if (victim) remove_slot(t, victim);
}

static slot *insert(throttle *t, const char *key, size_t n, uint64_t h)
{
    if (t->n >= THROTTLE_MAX_KEYS) evict_stalest(t);
    char *k = malloc(n + 1);
    int64_t *times = calloc((size_t)t->max_failures, sizeof *times);
    if (k == NULL || times == NULL) {
        free(k);
        free(times);
        return NULL;
    }
    memcpy(k, key, n);
    k[n] = '\0';
    size_t i = h & (TABLE_SIZE - 1);
    while (t->slots[i].key != NULL) i = (i + 1) & (TABLE_SIZE - 1);
    slot *s = &t->slots[i];
    s->key = k;
    s->hash = h;
    s->times = times;
    s->count = 0;
    s->head = 0;
    s->newest = 0;
    t->n++;
    return s;
}

int throttle_retry_after(throttle *t, const char *key, int64_t now_ms)
{
    if (t == NULL || key == NULL) return 0;
    size_t n = key_len(key);
    uint64_t h = hash_key(t, key, n);
    int retry = 0;
    pthread_mutex_lock(&t->mu);
    slot *s = find(t, key, n, h);
    if (s != NULL && s->count == t->max_failures) {
        int64_t until = s->times[s->head] + t->window_ms; /* oldest leaves the window */
        if (until > now_ms) {
            int64_t wait_ms = until - now_ms;
            if (wait_ms > t->window_ms) wait_ms = t->window_ms; /* clock went back */
            retry = (int)((wait_ms + 999) / 1000);
            if (retry < 1) retry = 1;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return retry;
}

void throttle_failure(throttle *t, const char *key, int64_t now_ms)
{
    if (t == NULL || key == NULL) return;
    size_t n = key_len(key);
    uint64_t h = hash_key(t, key, n);
    pthread_mutex_lock(&t->mu);
    slot *s = find(t, key, n, h);
    if (s == NULL) s = insert(t, key, n, h);
    if (s != NULL) {
        if (s->count < t->max_failures) {
            s->times[(s->head + s->count) % t->max_failures] = now_ms;
            s->count++;
        } else {
            s->times[s->head] = now_ms;
            s->head = (s->head + 1) % t->max_failures;
        }
        s->newest = now_ms;
    }
    pthread_mutex_unlock(&t->mu);
}

void throttle_success(throttle *t, const char *key)
{
    if (t == NULL || key == NULL) return;
    size_t n = key_len(key);
    uint64_t h = hash_key(t, key, n);
    pthread_mutex_lock(&t->mu);
    slot *s = find(t, key, n, h);
    if (s != NULL) remove_slot(t, s);
    pthread_mutex_unlock(&t->mu);
}

/* ---- the login policy ------------------------------------------------------ */

struct login_throttle {
    throttle *pairs;  /* "<block> <username>" */
    throttle *blocks; /* "<block>" */
};

login_throttle *login_throttle_new(int max_failures, int max_block_failures, int window_s)
{
    login_throttle *lt = calloc(1, sizeof *lt);
    if (lt == NULL) return NULL;
    lt->pairs = throttle_new(max_failures, window_s);
    lt->blocks = throttle_new(max_block_failures, window_s);
    if (lt->pairs == NULL || lt->blocks == NULL) {
        login_throttle_free(lt);
        return NULL;
    }
    return lt;
}

void login_throttle_free(login_throttle *lt)
{
    if (lt == NULL) return;
    throttle_free(lt->pairs);
    throttle_free(lt->blocks);
    free(lt);
}

typedef struct login_keys {
    char block[64];
    char pair[MAX_KEY + 1];
} login_keys;

/* False when there is nothing to count (no username or no client). */
static bool make_keys(const char *username, const struct sockaddr *client, login_keys *k)
{
    if (username == NULL || client == NULL) return false;
    cidr_block_text(client, LOGIN_THROTTLE_V6_BLOCK, k->block, sizeof k->block);
    snprintf(k->pair, sizeof k->pair, "%s %s", k->block, username);
    return true;
}

int login_throttle_retry_after(login_throttle *lt, const char *username, const struct sockaddr *client,
                               int64_t now_ms)
{
    login_keys k;
    if (lt == NULL || !make_keys(username, client, &k)) return 0;
    int pair = throttle_retry_after(lt->pairs, k.pair, now_ms);
    int block = throttle_retry_after(lt->blocks, k.block, now_ms);
    return pair > block ? pair : block;
}

void login_throttle_failure(login_throttle *lt, const char *username, const struct sockaddr *client,
                            int64_t now_ms)
{
    login_keys k;
    if (lt == NULL || !make_keys(username, client, &k)) return;
    throttle_failure(lt->pairs, k.pair, now_ms);
    throttle_failure(lt->blocks, k.block, now_ms);
}

void login_throttle_success(login_throttle *lt, const char *username, const struct sockaddr *client)
{
    login_keys k;
    if (lt == NULL || !make_keys(username, client, &k)) return;
    throttle_success(lt->pairs, k.pair);
}
