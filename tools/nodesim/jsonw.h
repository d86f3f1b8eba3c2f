/* jsonw: writes a jansson value as compact JSON text into a buf.
 *
 * Used for records read from --calls-file and for echoing request ids.
 * jansson's own dumper prints reals with 17 significant digits (0.11 comes
 * out as 0.11000000000000001), which is not "served exactly as given"; this
 * writer prints every real in its shortest form that reads back to the same
 * double, keeps object keys in file order and escapes strings with the
 * project's escaper (NUL bytes included). */
#ifndef NODESIM_JSONW_H
#define NODESIM_JSONW_H

#include <jansson.h>

#include "util/buf.h"

void sim_json_write(buf *out, const json_t *v);

#endif
