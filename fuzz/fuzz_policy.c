/* fuzz_policy: the policy_roles.yml loader (auth/policy.c, policy_parse:
 * the file's text from memory) against libyaml's document loader, which
 * reads the same text into a tree by another path through the library.
 *
 * Input: the whole input is the file.
 *
 * Properties:
 *   - a refusal names the file and a line that exists ("NAME:LINE: what",
 *     1 <= LINE <= the text's lines as YAML counts them, one more than its
 *     line breaks), or says the file is invalid;
 *   - an accepted policy is a stream that the document loader reads as at
 *     most one document whose tree has the documented shape: nothing (or a
 *     plain null), or a mapping of roles to mappings of sections to
 *     mappings of actions to plain YAML 1.1 booleans, keys non-empty and
 *     unique;
 *   - for every role, section and action in that tree, policy_allows says
 *     what the tree says: the section's own entry, else the role's
 *     Default entry, else deny — also for the role inside a list with
 *     empty entries and spaces around it; root is allowed everything. */
#include "fuzz.h"

#include <strings.h>
#include <yaml.h>

#include "auth/policy.h"

#define NAME "policy_roles.yml"

static bool is_plain(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static const char *text_of(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

/* -1 when the node is no plain YAML 1.1 boolean. */
static int bool_of(const yaml_node_t *n)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    if (!is_plain(n)) return -1;
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(text_of(n), yes[i]) == 0) return 1;
        if (strcasecmp(text_of(n), no[i]) == 0) return 0;
    }
    return -1;
}

/* A mapping whose keys are non-empty NUL-free scalars, each once. */
static bool keys_ok(yaml_document_t *doc, const yaml_node_t *m)
{
    if (!m || m->type != YAML_MAPPING_NODE) return false;
    for (yaml_node_pair_t *a = m->data.mapping.pairs.start; a < m->data.mapping.pairs.top; a++) {
        const yaml_node_t *k = yaml_document_get_node(doc, a->key);
        if (!k || k->type != YAML_SCALAR_NODE || k->data.scalar.length == 0 ||
            strlen(text_of(k)) != k->data.scalar.length)
            return false;
        for (yaml_node_pair_t *b = m->data.mapping.pairs.start; b < a; b++)
            if (strcmp(text_of(yaml_document_get_node(doc, b->key)), text_of(k)) == 0) return false;
    }
    return true;
}

/* The value of key `name` in mapping m, or NULL. */
static const yaml_node_t *member(yaml_document_t *doc, const yaml_node_t *m, const char *name)
{
    for (yaml_node_pair_t *a = m->data.mapping.pairs.start; a < m->data.mapping.pairs.top; a++)
        if (strcmp(text_of(yaml_document_get_node(doc, a->key)), name) == 0)
            return yaml_document_get_node(doc, a->value);
    return NULL;
}

/* What the tree says for (role, section, action): 1 allow, 0 deny. */
static int tree_allows(yaml_document_t *doc, const yaml_node_t *role, const char *section, const char *action)
{
    const yaml_node_t *s = member(doc, role, section);
    const yaml_node_t *v = s ? member(doc, s, action) : NULL;
    if (!v && (s = member(doc, role, "Default")) != NULL) v = member(doc, s, action);
    return v ? bool_of(v) == 1 : 0;
}

/* A role name policy_allows can be asked about: no comma, no spaces or
 * tabs around it (a roles list is split and trimmed). */
static bool askable(const char *r)
{
    size_t n = strlen(r);
    return !strchr(r, ',') && n && r[0] != ' ' && r[0] != '\t' && r[n - 1] != ' ' && r[n - 1] != '\t';
}

static void check_accepted(const policy *pol, yaml_document_t *doc)
{
    const yaml_node_t *root = yaml_document_get_root_node(doc);
    FZ_CHECK(policy_allows(pol, "root", "Any/Section", "read"), "root was refused");
    if (!root) return;
    if (root->type == YAML_SCALAR_NODE) {
        const char *v = text_of(root);
        FZ_CHECK(is_plain(root) && (!v[0] || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0),
                 "accepted a top level scalar '%s'", v);
        return;
    }
    FZ_CHECK(keys_ok(doc, root), "accepted a top level that is no mapping of unique keys");
    for (yaml_node_pair_t *r = root->data.mapping.pairs.start; r < root->data.mapping.pairs.top; r++) {
        const char *rname = text_of(yaml_document_get_node(doc, r->key));
        const yaml_node_t *role = yaml_document_get_node(doc, r->value);
        FZ_CHECK(keys_ok(doc, role), "accepted role '%s' that is no mapping of unique keys", rname);
        for (yaml_node_pair_t *s = role->data.mapping.pairs.start; s < role->data.mapping.pairs.top; s++) {
            const char *sname = text_of(yaml_document_get_node(doc, s->key));
            const yaml_node_t *sec = yaml_document_get_node(doc, s->value);
            FZ_CHECK(keys_ok(doc, sec), "accepted section '%s' that is no mapping of unique keys", sname);
            for (yaml_node_pair_t *a = sec->data.mapping.pairs.start; a < sec->data.mapping.pairs.top; a++) {
                const char *aname = text_of(yaml_document_get_node(doc, a->key));
                FZ_CHECK(bool_of(yaml_document_get_node(doc, a->value)) >= 0,
                         "accepted a non-boolean for '%s'", aname);
                if (!askable(rname) || strcmp(rname, "root") == 0) continue;
                bool want = tree_allows(doc, role, sname, aname);
                FZ_CHECK(policy_allows(pol, rname, sname, aname) == want, "%s %s %s: the tree says %d", rname,
                         sname, aname, want);
                size_t n = strlen(rname) + 8;
                char *list = fz_alloc(n);
                snprintf(list, n, ", %s\t,", rname);
                FZ_CHECK(policy_allows(pol, list, sname, aname) == want, "'%s' %s %s: the tree says %d", list,
                         sname, aname, want);
                free(list);
            }
        }
    }
}

/* Lines as YAML 1.1 counts them: one more than its line breaks. */
static size_t yaml_lines(const uint8_t *s, size_t n)
{
    static const char *const breaks[] = {"\r\n", "\r", "\n", "\xC2\x85", "\xE2\x80\xA8", "\xE2\x80\xA9"};
    size_t lines = 1;
    for (size_t i = 0; i < n;) {
        size_t step = 1;
        for (size_t b = 0; b < sizeof breaks / sizeof breaks[0]; b++) {
            size_t k = strlen(breaks[b]);
            if (n - i >= k && memcmp(s + i, breaks[b], k) == 0) {
                lines++;
                step = k;
                break;
            }
        }
        i += step;
    }
    return lines;
}

static void check_refusal(const char *err, const uint8_t *data, size_t size)
{
    size_t lines = yaml_lines(data, size);
    FZ_CHECK(strncmp(err, NAME ":", strlen(NAME ":")) == 0, "refused with '%s'", err);
    const char *p = err + strlen(NAME ":");
    if (strcmp(p, " invalid policy file") == 0) return;
    char *end;
    unsigned long line = strtoul(p, &end, 10);
    FZ_CHECK(end > p && *end == ':' && line >= 1 && line <= lines, "refused with '%s' (%zu lines)", err,
             lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = fz_alloc(size);
    if (size) memcpy(copy, data, size);
    char err[256];
    policy *pol = policy_parse(copy, size, NAME, err);
    if (!pol) check_refusal(err, data, size);

    yaml_parser_t ps;
    yaml_document_t doc;
    FZ_CHECK(yaml_parser_initialize(&ps), "out of memory");
    yaml_parser_set_input_string(&ps, copy, size);
    if (!yaml_parser_load(&ps, &doc)) {
        FZ_CHECK(!pol, "accepted what the document loader refuses: %s",
                 ps.problem ? ps.problem : "(no problem given)");
    } else if (pol) {
        yaml_document_t next;
        bool has_root = yaml_document_get_root_node(&doc) != NULL;
        if (has_root) {
            FZ_CHECK(yaml_parser_load(&ps, &next),
                     "accepted what the document loader refuses after a document");
            FZ_CHECK(!yaml_document_get_root_node(&next), "accepted more than one document");
            yaml_document_delete(&next);
        }
        check_accepted(pol, &doc);
        yaml_document_delete(&doc);
    } else {
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&ps);
    policy_free(pol);
    free(copy);
    return 0;
}
