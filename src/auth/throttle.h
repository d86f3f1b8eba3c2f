/* throttle: failed-login counting.
 *
 * The table (throttle_*): counts failures per key in a sliding window; at
 * `max_failures` within `window_s` seconds the key is refused until its
 * oldest failure leaves the window. A success resets the key. Memory is
 * bounded: at most THROTTLE_MAX_KEYS keys are tracked, the stalest dropped
 * first. Thread-safe.
 *
 * The login policy (login_throttle_*, docs/API.md "Authentication"): two
 * tables, one keyed by (username, client block), one by client block,
 * where a block is an IPv4 address or an IPv6 /64. A login is refused while
 * either key is refused; a failure counts against both; a success clears
 * only its own (username, block) key. No key holds a username alone, so
 * failures from one block never refuse a login from another. */
#ifndef AC_AUTH_THROTTLE_H
#define AC_AUTH_THROTTLE_H

#include <stdint.h>
#include <sys/socket.h>

#define THROTTLE_MAX_KEYS 10000
#define THROTTLE_MAX_FAILURES 1000 /* the largest max_failures a table takes */

typedef struct throttle throttle;

throttle *throttle_new(int max_failures, int window_s);
void throttle_free(throttle *t);

/* 0 when the key may try, else the seconds until it may (>= 1). */
int throttle_retry_after(throttle *t, const char *key, int64_t now_ms);
void throttle_failure(throttle *t, const char *key, int64_t now_ms);
void throttle_success(throttle *t, const char *key);

#define LOGIN_THROTTLE_V6_BLOCK 64 /* an IPv6 client counts as its /64 */

typedef struct login_throttle login_throttle;

/* max_failures per (username, block), max_block_failures per block, both
 * within window_s seconds; each 1..THROTTLE_MAX_FAILURES. NULL when a
 * limit is out of range or memory ran out. */
login_throttle *login_throttle_new(int max_failures, int max_block_failures, int window_s);
void login_throttle_free(login_throttle *lt);

/* 0 when username may be tried from client now, else the seconds until it
 * may (>= 1): the longer wait of the two keys. */
int login_throttle_retry_after(login_throttle *lt, const char *username, const struct sockaddr *client,
                               int64_t now_ms);
/* A failed login of username from client: counts against both keys. */
void login_throttle_failure(login_throttle *lt, const char *username, const struct sockaddr *client,
                            int64_t now_ms);
/* A successful one: clears (username, block) only; the block's count of
 * failures, against any username, stays until they leave the window. */
void login_throttle_success(login_throttle *lt, const char *username, const struct sockaddr *client);

#endif
