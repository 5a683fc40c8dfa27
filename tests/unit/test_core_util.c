/* test_core_util.c - unit tests of the small core pieces: byte buffer, identifier quoting,
 * JSON log lines, error values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ferry/buf.h"
#include "ferry/err.h"
#include "ferry/log.h"
#include "ferry/pg.h"

static void test_buf(void **state)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_buf_append_be16(&b, 0x0102);
    ferry_buf_append_be32(&b, 0x03040506);
    ferry_buf_append_be64(&b, 0x0708090a0b0c0d0eULL);
    const unsigned char want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    ferry_buf_reset(&b);
    for (int i = 0; i < 10000; i++)
        ferry_buf_appendf(&b, "%d,", i);
    assert_true(b.len > 10000);
    assert_int_equal(strncmp(ferry_buf_cstr(&b), "0,1,2,", 6), 0);
    assert_int_equal(b.data[b.len], '\0');
    ferry_buf_free(&b);
    assert_null(b.data);
}

static void test_quote_ident(void **state)
{
    char *q = ferry_pg_quote_ident("plain");
    assert_string_equal(q, "\"plain\"");
    free(q);
    q = ferry_pg_quote_ident("a\"; DROP TABLE x; --");
    assert_string_equal(q, "\"a\"\"; DROP TABLE x; --\"");
    free(q);
    q = ferry_pg_quote_ident("선박 속도");
    assert_string_equal(q, "\"선박 속도\"");
    free(q);
    assert_null(ferry_pg_quote_ident(""));
    assert_null(ferry_pg_quote_ident(NULL));
}

static void test_quote_qualified(void **state)
{
    /* SQL names as psql takes them: unquoted parts fold to lower case, quoted parts are exact */
    struct {
        const char *in, *want;
    } ok[] = {
        {"public.telemetry_narrow", "\"public\".\"telemetry_narrow\""},
        {"narrow", "\"narrow\""},
        {"Legacy", "\"legacy\""},
        {"\"Legacy\"", "\"Legacy\""},
        {"ops.\"Narrow\"", "\"ops\".\"Narrow\""},
        {"\"Legacy Data\".\"t\"\"x.y\"", "\"Legacy Data\".\"t\"\"x.y\""},
        {" ops . t_1$ ", "\"ops\".\"t_1$\""},
        {"\"선박\".Tab", "\"선박\".\"tab\""},
        {"선박", "\"선박\""},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char *q = ferry_pg_quote_qualified(ok[i].in);
        assert_non_null(q);
        assert_string_equal(q, ok[i].want);
        free(q);
    }
    const char *bad[] = {"",   "a.b.c",  "\"unterminated", "\"\"", "a b", "1abc",       "a.",
                         ".a", "a;drop", "a\"b\"",         "a-b",  "$x",  "Legacy Data"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *q = ferry_pg_quote_qualified(bad[i]);
        if (q)
            fail_msg("'%s' was accepted as %s", bad[i], q);
    }
    char *schema, *name;
    ferry_err_t err;
    assert_int_equal(ferry_pg_parse_qualified("\"A\"\"B\".c", &schema, &name, &err), FERRY_OK);
    assert_string_equal(schema, "A\"B");
    assert_string_equal(name, "c");
    free(schema);
    free(name);
    assert_int_equal(ferry_pg_parse_qualified("x", &schema, &name, &err), FERRY_OK);
    assert_null(schema);
    assert_string_equal(name, "x");
    free(name);
    assert_int_equal(ferry_pg_parse_qualified("a b", &schema, &name, &err), FERRY_USAGE);
    assert_non_null(strstr(err.msg, "quote names"));
}

/* Runs fn in a child; returns 1 when the child did not come back from fn (it aborted, or,
 * under AddressSanitizer, was stopped by its allocator), 0 when fn returned. */
static int child_died(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0);
}

static void overflowing_realloc(void)
{
    /* n * size wraps around: a plain realloc would return a tiny buffer */
    void *p = ferry_xrealloc(NULL, SIZE_MAX / 2 + 2, 2);
    fprintf(stderr, "ferry_xrealloc returned %p\n", p);
}

static void impossible_calloc(void)
{
    void *p = ferry_xcalloc(1, SIZE_MAX - 4096);
    fprintf(stderr, "ferry_xcalloc returned %p\n", p);
}

static void test_xalloc(void **state)
{
    unsigned char *p = ferry_xrealloc(NULL, 1000, 8);
    memset(p, 1, 8000);
    p = ferry_xrealloc(p, 2000, 8);
    assert_int_equal(p[7999], 1);
    free(p);
    char *s = ferry_xstrndup("abcdef", 3);
    assert_string_equal(s, "abc");
    free(s);
    unsigned char *m = ferry_xmemdup("a\0b", 3);
    assert_int_equal(m[2], 'b');
    free(m);
    /* out of memory, or a size that overflows, ends the process; it never returns NULL or a
     * buffer smaller than asked for */
    assert_true(child_died(overflowing_realloc));
    assert_true(child_died(impossible_calloc));
}

static void test_array_literal(void **state)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    assert_string_equal(ferry_pg_array_close(&b), "{}");
    ferry_buf_reset(&b);
    ferry_pg_array_add(&b, "a", 1);
    ferry_pg_array_add(&b, "b\"c\\d,{e}", 9);
    ferry_pg_array_add(&b, "", 0);
    assert_string_equal(ferry_pg_array_close(&b), "{\"a\",\"b\\\"c\\\\d,{e}\",\"\"}");
    ferry_buf_free(&b);
}

static void test_json_log_lines(void **state)
{
    char path[] = "/tmp/ferry-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(2);
    dup2(fd, 2);
    ferry_log_init(FERRY_LOG_INFO, FERRY_LOG_JSON, "ferry test");
    ferry_info("hello \"%s\"", "world");
    ferry_debug("not shown at info");
    ferry_log_src(FERRY_LOG_WARN, "rdkafka", "from librdkafka");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    FILE *fp = fopen(path, "r");
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, fp)) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "component")), "ferry test");
        if (n == 0) {
            assert_string_equal(json_string_value(json_object_get(j, "level")), "INFO");
            assert_string_equal(json_string_value(json_object_get(j, "msg")), "hello \"world\"");
        } else {
            assert_string_equal(json_string_value(json_object_get(j, "src")), "rdkafka");
        }
        json_decref(j);
        n++;
    }
    fclose(fp);
    unlink(path);
    assert_int_equal(n, 2);
    ferry_log_init(FERRY_LOG_INFO, FERRY_LOG_PLAIN, "ferry");
}

static void test_err(void **state)
{
    ferry_err_t e;
    assert_int_equal(ferry_err_set(&e, FERRY_POISON, "bad %d", 7), FERRY_POISON);
    assert_string_equal(e.msg, "bad 7");
    assert_string_equal(ferry_status_name(e.status), "poison");
    assert_int_equal(ferry_err_set(NULL, FERRY_RETRY, "x"), FERRY_RETRY);
    ferry_err_clear(&e);
    assert_int_equal(e.status, FERRY_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_quote_ident),
        cmocka_unit_test(test_quote_qualified),
        cmocka_unit_test(test_array_literal),
        cmocka_unit_test(test_xalloc),
        cmocka_unit_test(test_json_log_lines),
        cmocka_unit_test(test_err),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
