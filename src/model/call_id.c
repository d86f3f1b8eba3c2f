/* call_id: reading and writing `<node>*<tag>`; see call_id.h. */
#include "model/call_id.h"

#include <assert.h>
#include <string.h>

#include "util/decimal.h"

bool call_id_parse(const char *id, size_t len, int64_t *node_id, const char **tag, size_t *tag_len)
{
    assert(id != NULL || len == 0);
    const char *star = len ? memchr(id, CALL_ID_SEP, len) : NULL;
    if (!star) return false;
    size_t nlen = (size_t)(star - id);
    /* one spelling per node: "01*t" or "+1*t" is not node 1's call */
    if (!decimal_positive_i64(id, nlen, node_id)) return false;
    *tag = star + 1;
    *tag_len = len - nlen - 1;
    return *tag_len > 0 && *tag_len <= CALL_TAG_MAX;
}

void call_id_put_node(buf *out, int64_t node_id)
{
    assert(out != NULL);
    buf_put_i64(out, node_id);
    buf_putc(out, CALL_ID_SEP);
}

size_t call_id_node_len(int64_t node_id) { return buf_i64_len(node_id) + 1; }
