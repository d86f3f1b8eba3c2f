/* fuzz_login: the login body (api/login.h, login_body_parse), the JSON a
 * client POSTs to /api/rest/admin/auth before it is anybody.
 *
 * Input: byte 0 picks the mode.
 *   0: the rest is the body;
 *   1: the rest is a username, a password and extra text, split at the
 *      first two 0xFF bytes; the harness writes the body itself with
 *      jansson, `{"auth":{"username":U,"password":P,...},...}`, extra
 *      members (when the extra text is valid UTF-8) before or after.
 *
 * Properties:
 *   - an empty body or one over LOGIN_BODY_MAX is refused unread;
 *   - an accepted body gives two NUL-free UTF-8 strings whose lengths are
 *     jansson's, and the body written back compactly (json_dumps) reads to
 *     the same two strings;
 *   - in mode 1, the body is accepted exactly when U and P are strings
 *     jansson can hold (valid UTF-8, no NUL), and gives back U and P. */
#include "fuzz.h"

#include "api/login.h"

/* A strict UTF-8 check written from RFC 3629 (no overlongs, no
 * surrogates, nothing above U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80      ? 1
            : (c & 0xE0) == 0xC0 ? 2
            : (c & 0xF0) == 0xE0 ? 3
            : (c & 0xF8) == 0xF0 ? 4
                                 : 0;
        if (k == 0 || i + k > n) return false;
        uint32_t cp = k == 1 ? c : c & (0x7F >> k);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += k;
    }
    return true;
}

static bool has_nul(const uint8_t *s, size_t n) { return n && memchr(s, 0, n); }

static void check_strings(json_t *root, const char *u, const char *p)
{
    json_t *auth = json_object_get(root, "auth");
    size_t ulen = json_string_length(json_object_get(auth, "username"));
    size_t plen = json_string_length(json_object_get(auth, "password"));
    FZ_CHECK(strlen(u) == ulen && strlen(p) == plen, "a NUL inside the username or password");
    FZ_CHECK(utf8_valid((const unsigned char *)u, ulen) && utf8_valid((const unsigned char *)p, plen),
             "the username or password is not UTF-8");
}

/* The body written back compactly reads the same. */
static void check_written_back(json_t *root, const char *u, const char *p)
{
    char *again = json_dumps(root, JSON_COMPACT);
    FZ_CHECK(again != NULL, "json_dumps failed");
    size_t n = strlen(again);
    if (n <= LOGIN_BODY_MAX) {
        json_t *root2;
        const char *u2, *p2;
        FZ_CHECK(login_body_parse(again, n, &root2, &u2, &p2), "the body written back is refused: %s", again);
        FZ_CHECK(strcmp(u, u2) == 0 && strcmp(p, p2) == 0, "the body written back reads other strings");
        json_decref(root2);
    }
    free(again);
}

static void check_body(const char *body, size_t len)
{
    char *copy = fz_alloc(len);
    if (len) memcpy(copy, body, len);
    json_t *root = (json_t *)1; /* login_body_parse must set it, to NULL at least */
    const char *u = NULL, *p = NULL;
    bool ok = login_body_parse(copy, len, &root, &u, &p);
    if (len == 0 || len > LOGIN_BODY_MAX) FZ_CHECK(!ok && root == NULL, "a body of %zu bytes was read", len);
    if (ok) {
        check_strings(root, u, p);
        check_written_back(root, u, p);
    }
    json_decref(root);
    free(copy);
}

/* Mode 1: U, P and extra members, written by jansson. */
static void check_built(fz_in *in)
{
    uint8_t how = fz_u8(in);
    const uint8_t *f[3];
    size_t len[3];
    for (int i = 0; i < 3; i++) {
        const uint8_t *sep = i < 2 && in->n ? memchr(in->p, 0xFF, in->n) : NULL;
        f[i] = in->p;
        len[i] = sep ? (size_t)(sep - in->p) : in->n;
        in->p += sep ? len[i] + 1 : len[i];
        in->n -= sep ? len[i] + 1 : len[i];
    }
    bool holdable = utf8_valid(f[0], len[0]) && utf8_valid(f[1], len[1]) && !has_nul(f[0], len[0]) &&
        !has_nul(f[1], len[1]);
    if (!holdable) return; /* jansson cannot write such a body */
    json_t *auth = json_object();
    json_t *root = json_object();
    bool extra = len[2] > 0 && utf8_valid(f[2], len[2]) && !has_nul(f[2], len[2]);
    char *ek = extra ? fz_strndup(f[2], len[2]) : NULL;
    bool extra_is_ours =
        extra && (strcmp(ek, "username") == 0 || strcmp(ek, "password") == 0 || strcmp(ek, "auth") == 0);
    if (extra && !extra_is_ours && (how & 1)) json_object_set_new(auth, ek, json_integer(how));
    json_object_set_new(auth, "username", json_stringn((const char *)f[0], len[0]));
    json_object_set_new(auth, "password", json_stringn((const char *)f[1], len[1]));
    if (extra && !extra_is_ours && (how & 2)) json_object_set_new(root, ek, json_stringn(ek, len[2]));
    json_object_set_new(root, "auth", auth);
    char *body =
        json_dumps(root, (how & 4 ? JSON_INDENT(2) : JSON_COMPACT) | (how & 8 ? JSON_ENSURE_ASCII : 0));
    FZ_CHECK(body != NULL, "json_dumps failed");
    size_t n = strlen(body);
    json_t *got;
    const char *u, *p;
    bool ok = login_body_parse(body, n, &got, &u, &p);
    FZ_CHECK(ok == (n <= LOGIN_BODY_MAX), "a login body of %zu bytes: %s", n, ok ? "read" : "refused");
    if (ok)
        FZ_CHECK(strlen(u) == len[0] && memcmp(u, f[0], len[0]) == 0 && strlen(p) == len[1] &&
                     memcmp(p, f[1], len[1]) == 0,
                 "the login body read other strings than were written");
    json_decref(got);
    json_decref(root);
    free(body);
    free(ek);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    if (fz_u8(&in) & 1)
        check_built(&in);
    else
        check_body((const char *)in.p, in.n);
    return 0;
}
