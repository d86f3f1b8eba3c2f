/* reply_internal: the reply parser fed in pieces — for the tests and the
 * fuzz harness that check a reply fed in chunks of any size parses exactly
 * as the whole reply does (tests/unit/reply_diff.h). The service holds a
 * node's reply whole and parses it with reply_parser_parse_all
 * (nodes/reply.h); nothing in src/ but the parser itself uses these. */
#ifndef AC_NODES_REPLY_INTERNAL_H
#define AC_NODES_REPLY_INTERNAL_H

#include <stddef.h>

#include "nodes/reply.h"

/* Appends bytes of the reply. Returns 0, or -1 once the reply is known to
 * be invalid (it does not start with an object, or out of memory); most
 * problems are only found by reply_parser_finish. */
int reply_parser_feed(reply_parser *p, const char *data, size_t n);
/* Ends the input, scans it and classifies the reply; again: the same
 * answer. */
reply_outcome reply_parser_finish(reply_parser *p);

#endif
