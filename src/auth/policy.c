/* policy: role permissions read from a yeti policy_roles.yml-shaped file.
 *
 * The file is read whole (regular file, at most 1 MiB; policy_parse takes
 * the same text from memory) and walked with libyaml's event API by one
 * function per level: a mapping of roles, each a mapping of sections, each
 * a mapping of actions to booleans. Anything else is refused with
 * "path:LINE: problem" (libyaml marks are 0-based; messages are 1-based):
 * a top level that is not a mapping, a role or section that is not a
 * mapping (this catches a mis-indented section that would otherwise turn
 * into a role), a value that is not a plain YAML 1.1 boolean
 * (true/false/yes/no/on/off, any case; quoted "true" is a string),
 * duplicate keys, empty or non-scalar keys, more than one document, and —
 * to keep the format simple and safe — anchors, aliases and explicit tags.
 * An empty file (or a lone empty document) is a valid policy with no roles:
 * only root may act. Each mapping holds at most MAX_KEYS entries, which
 * bounds the duplicate-key search.
 *
 * Lookup follows yeti-web's RolePolicy: root may do all; for any other role
 * the section's own entry for the action decides when it has one, else the
 * role's Default section's entry does; no entry → deny. A user is allowed
 * when any of their comma-separated roles is. The loaded policy is
 * immutable, so lookups are thread-safe. */
#include "auth/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#define MAX_FILE (1024 * 1024)
#define MAX_KEYS 4096
#define DEFAULT_SECTION "Default"
#define ROOT_ROLE "root"

typedef struct {
    char *name;
    bool allow;
} rule;

typedef struct {
    char *name;
    rule *rules;
    size_t n;
} psection;

typedef struct {
    char *name;
    psection *sections;
    size_t n;
} role;

struct policy {
    role *roles;
    size_t n;
};

typedef struct {
    yaml_parser_t parser;
    const char *path;
    char *err; /* 256 bytes */
    bool failed;
    const unsigned char *data; /* the file, for reader errors' lines */
    size_t len;
} reader;

/* ---- errors ------------------------------------------------------------------- */

/* The 0-based number of the text's last line: its line breaks as YAML
 * counts them (CR LF, CR, LF, NEL, LS, PS). */
static size_t last_line(const unsigned char *s, size_t n)
{
    size_t breaks = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r')
            breaks += i + 1 == n || s[i + 1] != '\n';
        else if (s[i] == '\n')
            breaks++;
        else if (s[i] == 0xC2 && i + 1 < n && s[i + 1] == 0x85)
            breaks++;
        else if (s[i] == 0xE2 && i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9))
            breaks++;
    }
    return breaks;
}

/* libyaml puts the end of a text without a final line break on a line of
 * its own, one past the last: a problem found there is on the last line. */
static void fail_at(reader *r, size_t line0, const char *fmt, const char *name)
{
    if (r->failed) return;
    r->failed = true;
    size_t last = last_line(r->data, r->len);
    if (line0 > last) line0 = last;
    char msg[160];
    if (name != NULL) {
        char shown[68];
        size_t n = strlen(name);
        snprintf(shown, sizeof shown, "%.64s%s", name, n > 64 ? "..." : "");
        snprintf(msg, sizeof msg, fmt, shown);
    } else {
        snprintf(msg, sizeof msg, "%s", fmt);
    }
    snprintf(r->err, 256, "%s:%zu: %s", r->path, line0 + 1, msg);
}

/* Next event; false (err set) on a YAML syntax error or an unsupported
 * feature. The caller deletes the event when true is returned. */
static bool next(reader *r, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&r->parser, ev)) {
        const char *problem = r->parser.problem ? r->parser.problem : "invalid YAML";
        size_t line0 = r->parser.problem_mark.line;
        if (r->parser.error == YAML_READER_ERROR) { /* marks unset: count lines */
            line0 = 0;
            for (size_t i = 0; i < r->parser.problem_offset && i < r->len; i++)
                if (r->data[i] == '\n') line0++;
        }
        fail_at(r, line0, "%s", problem);
        return false;
    }
    const char *unsupported = NULL;
    switch (ev->type) {
    case YAML_ALIAS_EVENT: unsupported = "aliases are not supported"; break;
    case YAML_SCALAR_EVENT:
        if (ev->data.scalar.anchor)
            unsupported = "anchors are not supported";
        else if (ev->data.scalar.tag)
            unsupported = "tags are not supported";
        break;
    case YAML_MAPPING_START_EVENT:
        if (ev->data.mapping_start.anchor)
            unsupported = "anchors are not supported";
        else if (ev->data.mapping_start.tag)
            unsupported = "tags are not supported";
        break;
    case YAML_SEQUENCE_START_EVENT:
        if (ev->data.sequence_start.anchor)
            unsupported = "anchors are not supported";
        else if (ev->data.sequence_start.tag)
            unsupported = "tags are not supported";
        break;
    default: break;
    }
    if (unsupported) {
        fail_at(r, ev->start_mark.line, "%s", unsupported);
        yaml_event_delete(ev);
        return false;
    }
    return true;
}

static const char *scalar_text(const yaml_event_t *ev) { return (const char *)ev->data.scalar.value; }

/* A plain empty / ~ / null scalar. */
static bool is_null(const yaml_event_t *ev)
{
    if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const char *v = scalar_text(ev);
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0;
}

/* Reads one mapping key: NULL at the mapping's end (*done) or on error. The
 * key is checked for being a non-empty scalar and for not repeating one of
 * the n names already seen (names[i * stride] as char *). */
static char *read_key(reader *r, const void *items, size_t n, size_t stride, bool *done, size_t *line0)
{
    *done = false;
    yaml_event_t ev;
    if (!next(r, &ev)) return NULL;
    *line0 = ev.start_mark.line;
    if (ev.type == YAML_MAPPING_END_EVENT) {
        yaml_event_delete(&ev);
        *done = true;
        return NULL;
    }
    if (ev.type != YAML_SCALAR_EVENT) {
        fail_at(r, ev.start_mark.line, "keys must be plain text", NULL);
        yaml_event_delete(&ev);
        return NULL;
    }
    const char *k = scalar_text(&ev);
    if (k[0] == '\0' || strlen(k) != ev.data.scalar.length) {
        fail_at(r, ev.start_mark.line, k[0] ? "key with a NUL character" : "empty key", NULL);
        yaml_event_delete(&ev);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *seen = *(char *const *)((const char *)items + i * stride);
        if (strcmp(seen, k) == 0) {
            fail_at(r, ev.start_mark.line, "duplicate key '%s'", k);
            yaml_event_delete(&ev);
            return NULL;
        }
    }
    if (n >= MAX_KEYS) {
        fail_at(r, ev.start_mark.line, "too many entries in one mapping", NULL);
        yaml_event_delete(&ev);
        return NULL;
    }
    char *copy = strdup(k);
    yaml_event_delete(&ev);
    if (copy == NULL) fail_at(r, *line0, "out of memory", NULL);
    return copy;
}

/* Reads the start of a mapping value for the entry named name. */
static bool expect_mapping(reader *r, const char *what, const char *name)
{
    yaml_event_t ev;
    if (!next(r, &ev)) return false;
    bool ok = ev.type == YAML_MAPPING_START_EVENT;
    if (!ok) fail_at(r, ev.start_mark.line, what, name);
    yaml_event_delete(&ev);
    return ok;
}

static bool grow(void **items, size_t n, size_t size)
{
    if (n & (n - 1)) return true; /* grows at 0, 1, 2, 4, 8, ... */
    void *p = realloc(*items, (n ? n * 2 : 1) * size);
    if (p == NULL) return false;
    *items = p;
    return true;
}

/* ---- levels ------------------------------------------------------------------- */

static bool read_bool(reader *r, const char *action, bool *out)
{
    yaml_event_t ev;
    if (!next(r, &ev)) return false;
    bool ok = false;
    if (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        const char *v = scalar_text(&ev);
        static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
        for (int i = 0; i < 3 && !ok; i++) {
            if (strcasecmp(v, yes[i]) == 0)
                ok = *out = true;
            else if (strcasecmp(v, no[i]) == 0) {
                ok = true;
                *out = false;
            }
        }
    }
    if (!ok) fail_at(r, ev.start_mark.line, "expected true or false for '%s'", action);
    yaml_event_delete(&ev);
    return ok;
}

static bool read_section(reader *r, psection *s)
{
    if (!expect_mapping(r, "expected a mapping of actions for section '%s'", s->name)) return false;
    for (;;) {
        bool done;
        size_t line0;
        char *name = read_key(r, s->rules, s->n, sizeof *s->rules, &done, &line0);
        if (done) return true;
        if (name == NULL) return false;
        if (!grow((void **)&s->rules, s->n, sizeof *s->rules)) {
            free(name);
            fail_at(r, line0, "out of memory", NULL);
            return false;
        }
        rule *ru = &s->rules[s->n++];
        ru->name = name;
        ru->allow = false;
        if (!read_bool(r, name, &ru->allow)) return false;
    }
}

static bool read_role(reader *r, role *ro)
{
    if (!expect_mapping(r, "expected a mapping of sections for role '%s'", ro->name)) return false;
    for (;;) {
        bool done;
        size_t line0;
        char *name = read_key(r, ro->sections, ro->n, sizeof *ro->sections, &done, &line0);
        if (done) return true;
        if (name == NULL) return false;
        if (!grow((void **)&ro->sections, ro->n, sizeof *ro->sections)) {
            free(name);
            fail_at(r, line0, "out of memory", NULL);
            return false;
        }
        psection *s = &ro->sections[ro->n++];
        memset(s, 0, sizeof *s);
        s->name = name;
        if (!read_section(r, s)) return false;
    }
}

/* After the top-level MAPPING_START. */
static bool read_roles(reader *r, policy *p)
{
    for (;;) {
        bool done;
        size_t line0;
        char *name = read_key(r, p->roles, p->n, sizeof *p->roles, &done, &line0);
        if (done) return true;
        if (name == NULL) return false;
        if (!grow((void **)&p->roles, p->n, sizeof *p->roles)) {
            free(name);
            fail_at(r, line0, "out of memory", NULL);
            return false;
        }
        role *ro = &p->roles[p->n++];
        memset(ro, 0, sizeof *ro);
        ro->name = name;
        if (!read_role(r, ro)) return false;
    }
}

/* The whole stream: nothing, or one document holding a mapping (or null). */
static bool read_stream(reader *r, policy *p)
{
    yaml_event_t ev;
    if (!next(r, &ev)) return false; /* STREAM_START */
    yaml_event_delete(&ev);
    if (!next(r, &ev)) return false;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return true;
    }
    yaml_event_delete(&ev); /* DOCUMENT_START */

    if (!next(r, &ev)) return false;
    if (ev.type == YAML_MAPPING_START_EVENT) {
        yaml_event_delete(&ev);
        if (!read_roles(r, p)) return false;
    } else {
        bool empty = is_null(&ev);
        if (!empty) fail_at(r, ev.start_mark.line, "the top level must be a mapping of roles", NULL);
        yaml_event_delete(&ev);
        if (!empty) return false;
    }

    if (!next(r, &ev)) return false; /* DOCUMENT_END */
    yaml_event_delete(&ev);
    if (!next(r, &ev)) return false;
    bool end = ev.type == YAML_STREAM_END_EVENT;
    if (!end) fail_at(r, ev.start_mark.line, "only one YAML document is allowed", NULL);
    yaml_event_delete(&ev);
    return end;
}

/* ---- loading ------------------------------------------------------------------ */

static unsigned char *read_file(const char *path, size_t *len, char err[256])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, 256, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, 256, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if (st.st_size > MAX_FILE) {
        snprintf(err, 256, "%s: larger than %d bytes", path, MAX_FILE);
        close(fd);
        return NULL;
    }
    unsigned char *data = malloc((size_t)st.st_size + 1);
    if (data == NULL) {
        snprintf(err, 256, "%s: out of memory", path);
        close(fd);
        return NULL;
    }
    size_t n = 0;
    for (;;) {
        ssize_t got = read(fd, data + n, (size_t)st.st_size + 1 - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            snprintf(err, 256, "%s: %s", path, strerror(errno));
            free(data);
            close(fd);
            return NULL;
        }
        if (got == 0) break;
        n += (size_t)got;
        if (n > (size_t)st.st_size) { /* grew while reading */
            snprintf(err, 256, "%s: changed while being read", path);
            free(data);
            close(fd);
            return NULL;
        }
    }
    close(fd);
    *len = n;
    return data;
}

policy *policy_parse(const void *data, size_t len, const char *name, char err[256])
{
    char scratch[256];
    if (err == NULL) err = scratch;
    err[0] = '\0';
    policy *p = calloc(1, sizeof *p);
    reader r = {.path = name, .err = err, .failed = false, .data = data, .len = len};
    if (p == NULL || !yaml_parser_initialize(&r.parser)) {
        snprintf(err, 256, "%s: out of memory", name);
        free(p);
        return NULL;
    }
    yaml_parser_set_input_string(&r.parser, data, len);
    bool ok = read_stream(&r, p);
    yaml_parser_delete(&r.parser);
    if (!ok) {
        if (!r.failed) snprintf(err, 256, "%s: invalid policy file", name);
        policy_free(p);
        return NULL;
    }
    return p;
}

policy *policy_load(const char *path, char err[256])
{
    char scratch[256];
    if (err == NULL) err = scratch;
    err[0] = '\0';
    if (path == NULL) {
        snprintf(err, 256, "no policy file");
        return NULL;
    }
    size_t len = 0;
    unsigned char *data = read_file(path, &len, err);
    if (data == NULL) return NULL;
    policy *p = policy_parse(data, len, path, err);
    free(data);
    return p;
}

void policy_free(policy *p)
{
    if (p == NULL) return;
    for (size_t i = 0; i < p->n; i++) {
        role *ro = &p->roles[i];
        for (size_t j = 0; j < ro->n; j++) {
            psection *s = &ro->sections[j];
            for (size_t k = 0; k < s->n; k++) free(s->rules[k].name);
            free(s->rules);
            free(s->name);
        }
        free(ro->sections);
        free(ro->name);
    }
    free(p->roles);
    free(p);
}

/* ---- lookup ------------------------------------------------------------------- */

static const role *find_role(const policy *p, const char *name, size_t n)
{
    for (size_t i = 0; i < p->n; i++)
        if (strlen(p->roles[i].name) == n && memcmp(p->roles[i].name, name, n) == 0) return &p->roles[i];
    return NULL;
}

/* 1 allow, 0 deny, -1 no entry. */
static int lookup(const role *ro, const char *section_name, const char *action)
{
    for (size_t i = 0; i < ro->n; i++) {
        if (strcmp(ro->sections[i].name, section_name) != 0) continue;
        const psection *s = &ro->sections[i];
        for (size_t k = 0; k < s->n; k++)
            if (strcmp(s->rules[k].name, action) == 0) return s->rules[k].allow ? 1 : 0;
        return -1;
    }
    return -1;
}

static bool role_allows(const role *ro, const char *section_name, const char *action)
{
    int v = lookup(ro, section_name, action);
    if (v < 0) v = lookup(ro, DEFAULT_SECTION, action);
    return v == 1;
}

bool policy_allows(const policy *p, const char *roles, const char *section, const char *action)
{
    if (roles == NULL || section == NULL || action == NULL) return false;
    const char *s = roles;
    bool allowed = false;
    while (*s && !allowed) {
        while (*s == ',' || *s == ' ' || *s == '\t') s++;
        const char *e = s;
        while (*e && *e != ',') e++;
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
        size_t n = (size_t)(t - s);
        if (n > 0) {
            if (n == strlen(ROOT_ROLE) && memcmp(s, ROOT_ROLE, n) == 0) return true;
            const role *ro = p ? find_role(p, s, n) : NULL;
            if (ro != NULL && role_allows(ro, section, action)) allowed = true;
        }
        s = e;
    }
    return allowed;
}
