/* callsfile: --calls-file loading and validation (see callsfile.h). */
#include "callsfile.h"

#include <jansson.h>
#include <stdio.h>

#include "jsonw.h"

int sim_callsfile_load(sim_calls *t, const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!doc) {
        if (jerr.line > 0)
            snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        else
            snprintf(err, errlen, "%s", jerr.text);
        return -1;
    }
    int rc = -1;
    buf b;
    buf_init(&b);
    if (!json_is_array(doc)) {
        snprintf(err, errlen, "%s: not a JSON array of call objects", path);
        goto out;
    }
    size_t i;
    json_t *rec;
    json_array_foreach(doc, i, rec)
    {
        if (!json_is_object(rec)) {
            snprintf(err, errlen, "%s: call #%zu is not a JSON object", path, i);
            goto out;
        }
        json_t *tag = json_object_get(rec, "local_tag");
        if (!json_is_string(tag)) {
            snprintf(err, errlen, "%s: call #%zu has no string \"local_tag\"", path, i);
            goto out;
        }
        buf_reset(&b);
        sim_json_write(&b, rec);
        if (b.oom) {
            snprintf(err, errlen, "%s: out of memory", path);
            goto out;
        }
        int r = sim_calls_add_static(t, b.data, b.len, json_string_value(tag), json_string_length(tag));
        if (r == -2) {
            snprintf(err, errlen, "%s: call #%zu repeats local_tag \"%s\"", path, i, json_string_value(tag));
            goto out;
        }
        if (r != 0) {
            snprintf(err, errlen, "%s: out of memory", path);
            goto out;
        }
    }
    rc = 0;
out:
    buf_free(&b);
    json_decref(doc);
    return rc;
}
