/* throttle: counts failed logins per key (a client address, a username) in
 * a sliding window; at `max_failures` within `window_s` seconds the key is
 * refused until its oldest failure leaves the window. A success resets the
 * key. Memory is bounded: at most THROTTLE_MAX_KEYS keys are tracked, the
 * stalest dropped first. Thread-safe. */
#ifndef AC_AUTH_THROTTLE_H
#define AC_AUTH_THROTTLE_H

#include <stdint.h>

#define THROTTLE_MAX_KEYS 10000

typedef struct throttle throttle;

throttle *throttle_new(int max_failures, int window_s);
void throttle_free(throttle *t);

/* 0 when the key may try, else the seconds until it may (>= 1). */
int throttle_retry_after(throttle *t, const char *key, int64_t now_ms);
void throttle_failure(throttle *t, const char *key, int64_t now_ms);
void throttle_success(throttle *t, const char *key);

#endif
