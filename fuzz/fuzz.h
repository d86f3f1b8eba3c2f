/* fuzz: what every libFuzzer harness in fuzz/ shares — the property check
 * that turns a broken promise into a crash libFuzzer keeps (with the input
 * that caused it), and a reader that cuts the fuzzer's bytes into the
 * choices and strings a harness needs. Header-only: each harness is one
 * file plus this. FUZZING.md says what each harness checks. */
#ifndef AC_FUZZ_H
#define AC_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libFuzzer's entry point, declared once for every harness. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property that must hold for every input: on failure, say which and
 * abort, so libFuzzer saves the input as a crash. */
#define FZ_CHECK(cond, ...)                                                             \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: property failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                        \
            abort();                                                                    \
        }                                                                               \
    } while (0)

/* Allocation that cannot fail quietly (a harness has no error path). */
static inline void *fz_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* A NUL-terminated copy of p[0..n), in a block of exactly n + 1 bytes, so
 * that ASan sees any read past the end. A parser of C strings stops at the
 * first NUL, as it would on a header or a query parameter. */
static inline char *fz_strndup(const void *p, size_t n)
{
    char *s = fz_alloc(n + 1);
    if (n) memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* The fuzzer's bytes, read from the front. */
typedef struct fz_in {
    const uint8_t *p;
    size_t n;
} fz_in;

/* The next byte; 0 once the input is used up. */
static inline uint8_t fz_u8(fz_in *in)
{
    if (in->n == 0) return 0;
    in->n--;
    return *in->p++;
}

static inline uint32_t fz_u32(fz_in *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = v << 8 | fz_u8(in);
    return v;
}

/* The bytes up to the next `sep` (not included; the separator is
 * consumed), or the rest: a malloc'd C string (fz_strndup). */
static inline char *fz_field(fz_in *in, uint8_t sep)
{
    const uint8_t *end = in->n ? memchr(in->p, sep, in->n) : NULL;
    size_t len = end ? (size_t)(end - in->p) : in->n;
    char *s = fz_strndup(in->p, len);
    size_t used = end ? len + 1 : len;
    in->p += used;
    in->n -= used;
    return s;
}

/* A small deterministic generator (xorshift64*) for choices made from a
 * seed the input holds, such as chunk boundaries. */
static inline uint64_t fz_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ull;
}

#endif
