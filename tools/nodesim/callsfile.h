/* callsfile: loads --calls-file, a JSON array of call objects served exactly
 * as given instead of generated calls.
 *
 * Validation happens here, once, at startup: the file must be an array of
 * objects, each with a string local_tag, no two with the same tag. Each
 * record is rendered to text right away (keys in file order) and the parsed
 * document is dropped, so serving a file costs what serving generated calls
 * costs. Durations in the file are served as written (they do not grow). */
#ifndef NODESIM_CALLSFILE_H
#define NODESIM_CALLSFILE_H

#include <stddef.h>

#include "calls.h"

/* 0 on success; -1 with a message in err (for stderr). */
int sim_callsfile_load(sim_calls *t, const char *path, char *err, size_t errlen);

#endif
