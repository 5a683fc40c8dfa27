/* fuzz.h - what every fuzz target shares (docs/reliability.md "Fuzzing").
 *
 * A target is one fuzz_<name>.c defining LLVMFuzzerTestOneInput. With -DFERRY_FUZZ=ON
 * (clang) it links libFuzzer's main; otherwise replay_main.c runs it over every file of
 * tests/fuzz/corpus/<name>/ (CTest fuzz.<name>).
 *
 * Options of a target come from the first input bytes through fuzz_take(), so one input
 * always selects the same options: the fuzzer explores options and bytes together. */
#ifndef FERRY_TESTS_FUZZ_H
#define FERRY_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input not yet used for options. */
typedef struct fuzz_in {
    const uint8_t *p;
    size_t n;
} fuzz_in_t;

/* Takes one option byte off the front (0 once the input is used up). */
static inline uint8_t fuzz_take(fuzz_in_t *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

/* Stops the process with a message when `cond` does not hold: a finding of the target's
 * own check (not a sanitizer's). */
static inline void fuzz_check_failed(const char *what, const char *file, int line)
{
    fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
    abort();
}
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_check_failed(#cond, __FILE__, __LINE__);                                          \
    } while (0)

#endif
