/* access_log: request ids, request lines and aggregated refusals; see
 * access_log.h. Nothing here is formatted with printf: a line is logged
 * for every request. */
#include "http/access_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util/log.h"

/* Random bytes for request ids, from a per-thread pool refilled with one
 * getrandom(2) per RID_POOL bytes (the kernel CSPRNG, without a syscall
 * per request). False when the kernel fails. */
#define RID_POOL 512
static bool rid_random(unsigned char out[16])
{
    static _Thread_local unsigned char pool[RID_POOL];
    static _Thread_local size_t left;
    if (left < 16) {
        size_t got = 0;
        while (got < sizeof pool) {
            ssize_t n = getrandom(pool + got, sizeof pool - got, 0);
            if (n <= 0) {
                if (n < 0 && errno == EINTR) continue;
                return false;
            }
            got += (size_t)n;
        }
        left = sizeof pool;
    }
    unsigned char *p = pool + sizeof pool - left;
    memcpy(out, p, 16);
    explicit_bzero(p, 16); /* a later dump of the pool does not reveal ids already used */
    left -= 16;
    return true;
}

void http_new_request_id(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[16];
    if (!rid_random(r) && RAND_bytes(r, sizeof r) != 1) {
        /* the CSPRNG failing is not a reason to drop the request */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        memcpy(r, &ts.tv_nsec, sizeof ts.tv_nsec);
        memcpy(r + 8, &out, sizeof(void *));
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *o++ = '-';
        *o++ = hex[r[i] >> 4];
        *o++ = hex[r[i] & 15];
    }
    *o = '\0';
}

/* Dotted IPv4 text, as inet_ntop writes it (which goes through sprintf). */
static void ipv4_text(const struct in_addr *a, char *out)
{
    const unsigned char *b = (const unsigned char *)&a->s_addr; /* network order */
    char *p = out;
    for (int i = 0; i < 4; i++) {
        unsigned v = b[i];
        if (v >= 100) *p++ = (char)('0' + v / 100);
        if (v >= 10) *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        *p++ = i < 3 ? '.' : '\0';
    }
}

void http_addr_text(const struct sockaddr *peer, char *out)
{
    strcpy(out, "-");
    if (peer && peer->sa_family == AF_INET)
        ipv4_text(&((const struct sockaddr_in *)peer)->sin_addr, out);
    else if (peer && peer->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, out, INET6_ADDRSTRLEN);
}

void http_log_request(const char *method, const char *path, int status, size_t bytes, int64_t us,
                      const char *request_id, const struct sockaddr *peer)
{
    char addr[INET6_ADDRSTRLEN];
    http_addr_text(peer, addr);
    buf line;
    log_begin(&line, LOG_INFO, "request");
    log_kv(&line, "method", method);
    log_kv(&line, "path", path);
    log_kv_i64(&line, "status", status);
    log_kv_i64(&line, "bytes", (int64_t)bytes);
    log_kv_ms(&line, "ms", (double)us / 1000.0);
    log_kv(&line, "request_id", request_id);
    log_kv(&line, "client", addr);
    log_end(&line, LOG_INFO);
}

/* ---- refusals ------------------------------------------------------------ */

static const char *const reason_key[REFUSE_COUNT] = {
    "per_ip_cap",   "global_cap", "head_timeout", "idle_timeout",
    "send_timeout", "malformed",  "too_large",    "busy",
};

static atomic_uint_fast64_t pending[REFUSE_COUNT]; /* since the last line */
static atomic_int_fast64_t last_line_ms;
static _Atomic(uint64_t) last_peer[2]; /* the last refused address, 16 bytes */

void http_refused(refuse_reason why, const struct sockaddr *peer)
{
    if ((unsigned)why >= REFUSE_COUNT) return;
    atomic_fetch_add(&pending[why], 1);
    if (why == REFUSE_IDLE_TIMEOUT || !peer) return;
    unsigned char a[16] = {0};
    if (peer->sa_family == AF_INET) {
        a[10] = a[11] = 0xff; /* v4-mapped */
        memcpy(a + 12, &((const struct sockaddr_in *)peer)->sin_addr, 4);
    } else if (peer->sa_family == AF_INET6) {
        memcpy(a, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
    }
    uint64_t w[2];
    memcpy(w, a, 16);
    atomic_store(&last_peer[0], w[0]);
    atomic_store(&last_peer[1], w[1]);
}

void http_refusals_flush(int64_t now_ms, bool force)
{
    if (!force && now_ms - atomic_load(&last_line_ms) < 1000) return;
    uint64_t n[REFUSE_COUNT], any = 0;
    for (int i = 0; i < REFUSE_COUNT; i++) {
        n[i] = atomic_exchange(&pending[i], 0);
        if (i != REFUSE_IDLE_TIMEOUT) any += n[i]; /* idle keep-alive closes alone are routine */
    }
    if (!any) {
        for (int i = 0; i < REFUSE_COUNT; i++)
            if (n[i]) atomic_fetch_add(&pending[i], n[i]);
        return;
    }
    atomic_store(&last_line_ms, now_ms);
    uint64_t w[2] = {atomic_load(&last_peer[0]), atomic_load(&last_peer[1])};
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6};
    memcpy(&sa6.sin6_addr, w, 16);
    struct sockaddr_in sa4 = {.sin_family = AF_INET};
    bool v4 = IN6_IS_ADDR_V4MAPPED(&sa6.sin6_addr);
    if (v4) memcpy(&sa4.sin_addr, (const unsigned char *)w + 12, 4);
    char addr[INET6_ADDRSTRLEN];
    http_addr_text(v4 ? (const struct sockaddr *)&sa4 : (const struct sockaddr *)&sa6, addr);
    buf line;
    log_begin(&line, LOG_WARN, "refused");
    for (int i = 0; i < REFUSE_COUNT; i++)
        if (n[i]) log_kv_i64(&line, reason_key[i], (int64_t)n[i]);
    log_kv(&line, "last_client", addr);
    log_end(&line, LOG_WARN);
}
