/* console: the operator console (docs/API.md, "The console"): its files,
 * built into the binary from web/console (scripts/embed.cmake), served at
 * /console/<name> under a strict Content-Security-Policy, `/` and
 * `/console` redirecting to /console/. With --console-dir the files are
 * read from that directory on every request instead (for working on the
 * console without a rebuild). The console is static: everything it shows
 * comes from the API with the user's token, so these routes need none. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/app_internal.h"
#include "api/console_assets.h"

/* No inline scripts or styles, nothing from another host, no frames. */
#define CSP_HEADER                                                                                       \
    "content-security-policy: default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors " \
    "'none'; "                                                                                           \
    "object-src 'none'\r\n"
#define FILE_MAX (4 << 20) /* a --console-dir file larger than this is refused */

/* The type of a console file by its extension; NULL for any other file
 * (never served: a --console-dir that holds more than the console, say a
 * secret, gives away nothing but these kinds). */
static const char *type_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0) return types[i].type;
    return NULL;
}

/* A file name the console may have: [A-Za-z0-9._-], not starting with a
 * dot (so never "..", never a hidden file), at most 100 bytes; and it must
 * be of a kind type_of knows. */
static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 100 || name[0] == '.') return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* name from --console-dir into res's body; false when it is not there. */
static bool read_dir_file(const char *dir, const char *name, http_response *res)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= FILE_MAX;
    if (ok) buf_reserve(&res->body, (size_t)st.st_size);
    char chunk[65536];
    ssize_t r;
    while (ok && (r = read(fd, chunk, sizeof chunk)) != 0) {
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 || res->body.len + (size_t)r > FILE_MAX) ok = false;
        if (ok) buf_append(&res->body, chunk, (size_t)r);
    }
    close(fd);
    if (!ok) buf_reset(&res->body);
    return ok;
}

/* A built-in file becomes the body by reference, not copied. */
static bool embedded_file(const char *name, http_response *res)
{
    for (const console_asset *f = console_assets; f->name; f++)
        if (strcmp(f->name, name) == 0) {
            if (f->len) http_response_share_static(res, (const char *)f->data, f->len);
            return true;
        }
    return false;
}

void api_console(app *a, const http_request *req, http_response *res)
{
    res->route = "console";
    res->headers = CSP_HEADER;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        app_method_not_allowed(res, req->method, "GET, HEAD");
        return;
    }
    const char *path = req->path;
    if (strcmp(path, "/") == 0 || strcmp(path, "/console") == 0) {
        res->status = 302;
        res->headers = CSP_HEADER "location: /console/\r\n";
        return;
    }
    const char *name = path + strlen("/console/");
    if (!*name) name = "index.html";
    const char *type = type_of(name);
    bool found = name_ok(name) && type &&
        (a->cfg.console_dir ? read_dir_file(a->cfg.console_dir, name, res) : embedded_file(name, res));
    if (!found) {
        char detail[160];
        snprintf(detail, sizeof detail, "The console has no file %.100s.", name);
        http_error(res, 404, "Not found", detail);
        return;
    }
    if (res->body.oom) {
        http_error(res, 500, "Internal server error", "Out of memory.");
        return;
    }
    res->status = 200;
    res->content_type = type;
}
