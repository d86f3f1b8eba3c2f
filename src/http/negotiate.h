/* negotiate: the pure decisions about HTTP headers — content negotiation
 * (docs/CONTRACT.md §4), Host sanity, request ids, ETag matching. No I/O here, so each
 * rule is unit-tested on its own. */
#ifndef AC_HTTP_NEGOTIATE_H
#define AC_HTTP_NEGOTIATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONAPI_MEDIA_TYPE "application/vnd.api+json"
#define EVENT_STREAM_MEDIA_TYPE "text/event-stream"

/* Accept allows a JSON:API answer: absent/empty, or a media range that is
 * any type, any application type, or the JSON:API type without parameters
 * other than q (a q of 0 excludes the range). */
bool http_accept_ok(const char *accept);
/* The same, also allowing application/json (the login answers plain JSON). */
bool http_accept_json_ok(const char *accept);

/* Accept allows an event stream: absent/empty, or any type, any text type or
 * text/event-stream, with any parameters but a q of 0. */
bool http_accept_event_stream(const char *accept);

/* Content-Type is exactly `type` (case-insensitive), with no parameters
 * (JSON:API forbids them) — `application/json; charset=utf-8` is allowed
 * when `type` is application/json. */
bool http_content_type_is(const char *content_type, const char *type);

/* Host header usable in links: `name[:port]` or `[v6][:port]`, where v6 is
 * an IPv6 address and port 1..5 digits up to 65535. */
bool http_host_valid(const char *host);

/* A client X-Request-Id we echo: 1..200 of [A-Za-z0-9._-]. */
bool http_request_id_sane(const char *id);

/* If-None-Match matches etag (exact, weak compare, `*`, or a list). */
bool http_etag_matches(const char *if_none_match, const char *etag);

/* Accept-Encoding allows gzip: `gzip` or `x-gzip` with q > 0, or, when
 * neither is named, `*` with q > 0 (RFC 9110 §12.5.3). NULL: no. */
bool http_accepts_gzip(const char *accept_encoding);

/* The staleness a request accepts (RFC 9111 §5.2.1): the seconds of its
 * Cache-Control `max-age=N` directive (N: 1 to 9 digits, or quoted), or -1
 * when the answer must be fresh: no header, no max-age, a malformed or
 * repeated max-age, or `no-cache` / `no-store` anywhere (they win). Other
 * directives (max-stale, min-fresh, ...) are ignored. */
int64_t http_max_age(const char *cache_control);

#endif
