/* test_log: util/log.c — what a value looks like in a log line (stderr is
 * captured into a temporary file): plain values as they are; CR, LF and
 * other C0 controls, DEL, the C1 controls (U+0085 among them), U+2028 and
 * U+2029 escaped in the JSON style the log uses; other UTF-8 kept readable;
 * bytes that are not valid UTF-8 written as \ufffd; and, for thousands of
 * random values, one line of printable ASCII and harmless UTF-8 whose
 * value decodes back to the input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

/* stderr into a temporary file, until capture_end: returns the file. */
static int capture_begin(int *saved)
{
    char path[] = "/tmp/test_log_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    *saved = dup(STDERR_FILENO);
    assert_true(*saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    return fd;
}

/* stderr back; what the file got (malloc'd). */
static char *capture_end(int fd, int saved)
{
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    assert_true(len > 0);
    char *text = malloc((size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(pread(fd, text, (size_t)len, 0), len);
    text[len] = '\0';
    close(fd);
    return text;
}

/* Runs one log line with value v[0..n) under key "v" (or, with as_msg, as
 * the msg of log_msg) and returns what reached stderr (malloc'd). */
static char *logged(const char *v, size_t n, bool as_msg)
{
    int saved;
    int fd = capture_begin(&saved);
    if (as_msg) {
        log_msg(LOG_INFO, "%.*s", (int)n, v);
    } else {
        buf line;
        log_begin(&line, LOG_INFO, "t");
        log_kvn(&line, "v", v, n);
        log_end(&line, LOG_INFO);
    }
    return capture_end(fd, saved);
}

/* The text after " v=" up to the line's end (malloc'd), checking that the
 * line is exactly one line. */
static char *value_of(const char *v, size_t n)
{
    char *line = logged(v, n, false);
    size_t len = strlen(line);
    if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1) != NULL)
        fail_msg("not one line: %s", line);
    char *at = strstr(line, " v=");
    assert_non_null(at);
    char *out = strndup(at + 3, (size_t)(line + len - 1 - (at + 3)));
    free(line);
    return out;
}

static void expect_logged(const char *v, size_t n, const char *want)
{
    char *got = value_of(v, n);
    if (strcmp(got, want) != 0) fail_msg("logged %s, want %s", got, want);
    free(got);
}

#define EXPECT(lit, want) expect_logged((lit), sizeof(lit) - 1, (want))

static void plain_and_c0(void **state)
{
    (void)state;
    EXPECT("abc-1.2_x/y", "abc-1.2_x/y");
    EXPECT("", "\"\"");
    EXPECT("a b", "\"a b\"");
    EXPECT("k=v", "\"k=v\"");
    EXPECT("\"q\"", "\"\\\"q\\\"\"");
    EXPECT("a\r\nmsg=forged", "\"a\\r\\nmsg=forged\"");
    EXPECT("\x1b[31mred", "\"\\u001b[31mred\"");
    EXPECT("nul\0byte", "\"nul\\u0000byte\"");
}

static void del_c1_and_separators(void **state)
{
    (void)state;
    EXPECT("a\x7f"
           "b",
           "\"a\\u007fb\"");
    EXPECT("a\xc2\x85"
           "b",
           "\"a\\u0085b\""); /* NEL */
    EXPECT("a\xe2\x80\xa8"
           "b",
           "\"a\\u2028b\""); /* LINE SEPARATOR */
    EXPECT("a\xe2\x80\xa9"
           "b",
           "\"a\\u2029b\"");                                         /* PARAGRAPH SEPARATOR */
    EXPECT("\xc2\x80\xc2\x9b\xc2\x9f", "\"\\u0080\\u009b\\u009f\""); /* C1: first, CSI, last */
    EXPECT("x\xe2\x80\xa8msg=forged level=error", "\"x\\u2028msg=forged level=error\"");
    /* as the msg too */
    static const char msg[] = "one\xe2\x80\xa9two\xc2\x85three";
    char *line = logged(msg, sizeof msg - 1, true);
    if (strstr(line, "msg=\"one\\u2029two\\u0085three\"\n") == NULL) fail_msg("msg: %s", line);
    free(line);
}

static void readable_utf8_kept(void **state)
{
    (void)state;
    EXPECT("caf\xc3\xa9", "\"caf\xc3\xa9\"");
    EXPECT("nb\xc2\xa0sp", "\"nb\xc2\xa0sp\""); /* U+00A0: not a control */
    EXPECT("\xe2\x82\xac"
           "5",
           "\"\xe2\x82\xac"
           "5\"");                                      /* euro sign */
    EXPECT("\xe2\x80\xa7", "\"\xe2\x80\xa7\"");         /* U+2027, next to U+2028 */
    EXPECT("\xe2\x80\xaa", "\"\xe2\x80\xaa\"");         /* U+202A */
    EXPECT("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""); /* U+1F600 */
}

static void invalid_utf8(void **state)
{
    (void)state;
    EXPECT("\xff", "\"\\ufffd\"");
    EXPECT("\x85", "\"\\ufffd\""); /* NEL as a Latin-1 byte */
    EXPECT("\xc2", "\"\\ufffd\""); /* cut short */
    EXPECT("a\xe2\x80", "\"a\\ufffd\\ufffd\"");
    EXPECT("\xc0\xaf", "\"\\ufffd\\ufffd\"");                       /* overlong '/' */
    EXPECT("\xe0\x80\xa8", "\"\\ufffd\\ufffd\\ufffd\"");            /* overlong U+0028 */
    EXPECT("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");            /* surrogate */
    EXPECT("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* above U+10FFFF */
    EXPECT("\xe2\xe2\x80\xa8", "\"\\ufffd\\u2028\"");               /* a stray lead, then U+2028 */
}

/* Is s[0..n) valid UTF-8 holding no C0/C1 control, DEL, U+2028 or U+2029? */
static bool harmless(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c < 0x20 || c == 0x7f) return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        if (k == 0 || c > 0xf4 || i + k > n) return false;
        unsigned cp = c & (0x7f >> k);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp <= 0x9f || cp == 0x2028 || cp == 0x2029)
            return false;
        i += k;
    }
    return true;
}

static void random_values(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "a",
        " ",
        "=",
        "\"",
        "\\",
        "\n",
        "\r",
        "\x7f",
        "\x1b",
        "\xc2\x85",
        "\xe2\x80\xa8",
        "\xe2\x80\xa9",
        "\xc3\xa9",
        "\xe2\x82\xac",
        "\xf0\x9f\x98\x80",
        "\xff",
        "\xc2",
        "\xe2\x80",
        "\x80",
        "\xed\xa0\x80",
        "\xc2\x9f",
        "\xc2\xa0",
    };
    const size_t npieces = sizeof pieces / sizeof pieces[0];
    unsigned seed = 12345;
    for (int round = 0; round < 2000; round++) {
        char v[256];
        size_t n = 0;
        int parts = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 12;
        bool valid = true;
        for (int p = 0; p < parts; p++) {
            seed = seed * 1103515245u + 12345u;
            const char *piece = pieces[(seed >> 16) % npieces];
            if ((unsigned char)piece[0] >= 0x80 && !harmless((const unsigned char *)piece, strlen(piece)) &&
                strcmp(piece, "\xc2\x85") && strcmp(piece, "\xe2\x80\xa8") && strcmp(piece, "\xe2\x80\xa9") &&
                strcmp(piece, "\xc2\x9f"))
                valid = false;
            memcpy(v + n, piece, strlen(piece));
            n += strlen(piece);
        }
        char *got = value_of(v, n);
        if (!harmless((const unsigned char *)got, strlen(got)))
            fail_msg("round %d: the logged value holds a control or bad UTF-8: %s", round, got);
        /* a quoted value is a JSON string; valid input comes back whole */
        if (got[0] == '"') {
            json_error_t err;
            json_t *j = json_loadb(got, strlen(got), JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
            if (!json_is_string(j)) fail_msg("round %d: not a JSON string: %s", round, got);
            if (valid && (json_string_length(j) != n || memcmp(json_string_value(j), v, n) != 0))
                fail_msg("round %d: %s does not decode to the input", round, got);
            json_decref(j);
        } else if (strlen(got) != n || memcmp(got, v, n) != 0) {
            fail_msg("round %d: unquoted %s is not the input", round, got);
        }
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_and_c0),       cmocka_unit_test(del_c1_and_separators),
        cmocka_unit_test(readable_utf8_kept), cmocka_unit_test(invalid_utf8),
        cmocka_unit_test(random_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
