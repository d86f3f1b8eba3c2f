/* policy: role permissions from a file in yeti's policy_roles.yml shape:
 *
 *     operator:
 *       Default:            { read: true, change: false, remove: false }
 *       RealtimeData/ActiveCall:
 *         read: true
 *         remove: true
 *
 * The role `root` may do everything and needs no entry. For any other role,
 * the section asked for is looked up, falling back to `Default`; the action
 * there decides. A user is allowed when any of their roles allows. No file,
 * no role entry, no section or no action → deny. Parsed with libyaml; a
 * malformed file is refused with the line of the problem. */
#ifndef AC_AUTH_POLICY_H
#define AC_AUTH_POLICY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct policy policy;

/* NULL with err ("policy.yml:7: ...") when the file cannot be used. */
policy *policy_load(const char *path, char err[256]);
/* The same for the file's text data[0..len), read already; `name` stands
 * for the path in messages. */
policy *policy_parse(const void *data, size_t len, const char *name, char err[256]);
void policy_free(policy *p);

/* roles: comma-separated role names (as stored). p may be NULL (no file). */
bool policy_allows(const policy *p, const char *roles, const char *section, const char *action);

#endif
