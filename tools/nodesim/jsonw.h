/* jsonw: writes a jansson value as compact JSON text into a buf.
 *
 * Used for records read from --calls-file, for echoing request ids and for
 * the params of --log-requests lines.
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
/* The same for a log line: strings also escape what could end a line for
 * some reader (DEL, C1 controls, U+2028, U+2029), so the text is one line. */
void sim_json_write_line(buf *out, const json_t *v);

#endif
