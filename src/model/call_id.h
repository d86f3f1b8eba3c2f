/* call_id: the id of an active call, `<node>*<tag>` (docs/API.md,
 * "Filters" and "One call"). The node is its id in canonical decimal
 * (util/decimal.h: digits only, no sign, space or leading zero,
 * 1..INT64_MAX), then '*', then the call's local_tag as the node gave it
 * (1..CALL_TAG_MAX bytes, '*' allowed). The listing writes ids this way and
 * the show and filter[id] read them back with call_id_parse, so a call has
 * exactly one id: `01*t` or `+1*t` names no call. */
#ifndef AC_MODEL_CALL_ID_H
#define AC_MODEL_CALL_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define CALL_ID_SEP '*'
#define CALL_TAG_MAX 1024

/* Reads id[0..len); false when malformed. The tag points into id. */
bool call_id_parse(const char *id, size_t len, int64_t *node_id, const char **tag, size_t *tag_len);

/* Appends "<node>*", the part of the id before the tag; the caller appends
 * the tag in the encoding of where the id goes (a JSON string, a URL path
 * segment). The node is written as given: a node's id is 1 or more
 * (store/store.h validates it), so this is its canonical decimal. */
void call_id_put_node(buf *out, int64_t node_id);
/* The number of bytes call_id_put_node appends. */
size_t call_id_node_len(int64_t node_id);

#endif
