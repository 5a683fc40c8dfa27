/* avro_support.h - what the Avro unit tests (test_avro*.c) share: a JSON parser that fails
 * the test on bad test JSON, JSON equality with both sides shown, and status/substring
 * assertions. Include after <cmocka.h> and "ferry/avro.h". */
#ifndef FERRY_TEST_AVRO_SUPPORT_H
#define FERRY_TEST_AVRO_SUPPORT_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define N_ITEMS(a) (sizeof(a) / sizeof((a)[0]))

#define assert_ok(expr, err)                                                                       \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != FERRY_OK)                                                                       \
            fail_msg("%s returned %d: %s", #expr, rc_, (err).msg);                                 \
    } while (0)

#define assert_contains(haystack, needle)                                                          \
    do {                                                                                           \
        if (!strstr((haystack), (needle)))                                                         \
            fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle));                      \
    } while (0)

static inline json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("bad test JSON (%s): %s", je.text, text);
    return j;
}

static inline void assert_json_equal(const json_t *want, const json_t *got)
{
    if (!json_equal(want, got)) {
        char *a = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        char *b = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        print_error("want %s\n got  %s\n", a, b ? b : "(null)");
        free(a);
        free(b);
        fail();
    }
}

#endif
