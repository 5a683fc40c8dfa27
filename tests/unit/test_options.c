/* test_options.c - unit tests of the options table: flags, env, config file, secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ferry/options.h"

static const ferry_opt_t table[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_PG,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_GROUP("g-default"),
    {"batch", 0, FERRY_OPT_INT, "50000", "N", "rows per batch", 0},
    {"ratio", 0, FERRY_OPT_DOUBLE, "0.5", "X", "a ratio", 0},
    {"until-idle", 0, FERRY_OPT_DURATION, NULL, "D", "idle", 0},
    {"strict", 0, FERRY_OPT_BOOL, NULL, NULL, "strict", 0},
    {"need", 0, FERRY_OPT_STRING, NULL, "V", "required one", FERRY_OPTF_REQUIRED},
    FERRY_OPT_END,
};

static void clear_env(void)
{
    unsetenv("FERRY_BROKERS");
    unsetenv("FERRY_PG");
    unsetenv("FERRY_PG_FILE");
    unsetenv("FERRY_BATCH");
    unsetenv("FERRY_X");
    unsetenv("FERRY_CONFIG");
    unsetenv("FERRY_NEED");
    unsetenv("FERRY_GROUP");
}

/* parse(o, err, "--flag", "value", ..., NULL); the arguments are copied (argv is writable,
 * as a process's is: secrets given there are blanked); the copies stay in last_argv until the
 * next call. */
static char *last_argv[32];
static int last_argc;

static void free_last_argv(void)
{
    for (int i = 0; i < last_argc; i++)
        free(last_argv[i]);
    last_argc = 0;
}

static ferry_status parse(ferry_opts_t *o, ferry_err_t *err, ...)
{
    free_last_argv();
    va_list ap;
    va_start(ap, err);
    last_argv[last_argc++] = strdup("ferry test");
    char *a;
    while ((a = va_arg(ap, char *)) != NULL && last_argc < 31)
        last_argv[last_argc++] = strdup(a);
    va_end(ap);
    last_argv[last_argc] = NULL;
    return ferry_opts_parse(o, last_argc, last_argv, err);
}

static const ferry_opt_t hostile_table[] = {
    FERRY_OPT_PG,
    FERRY_OPT_TOPIC("t"),
    {"cols", 0, FERRY_OPT_INT, "800", "N", "a 32-bit count", 0},
    {"seed", 0, FERRY_OPT_INT, "1", "N", "a 64-bit one", FERRY_OPTF_INT64},
    {"read", 0, FERRY_OPT_STRING, NULL, "TOPIC", "a topic to read", FERRY_OPTF_TOPIC},
    FERRY_OPT_END,
};

/* Integers out of range are refused, not wrapped (4294967297 was 1). */
static void test_int_ranges(void **state)
{
    clear_env();
    ferry_err_t err;
    ferry_opts_t *o = ferry_opts_new("ferry test", "", "", hostile_table);
    assert_int_equal(parse(o, &err, "--cols", "4294967297", NULL), FERRY_USAGE);
    assert_non_null(strstr(err.msg, "out of range"));
    ferry_opts_destroy(o);
    o = ferry_opts_new("ferry test", "", "", hostile_table);
    assert_int_equal(parse(o, &err, "--cols", "99999999999999999999", NULL), FERRY_USAGE);
    ferry_opts_destroy(o);
    o = ferry_opts_new("ferry test", "", "", hostile_table);
    assert_int_equal(parse(o, &err, "--cols", "-2147483649", NULL), FERRY_USAGE);
    ferry_opts_destroy(o);
    o = ferry_opts_new("ferry test", "", "", hostile_table);
    assert_int_equal(parse(o, &err, "--cols", "2147483647", "--seed", "9223372036854775807", NULL),
                     FERRY_OK);
    assert_true(ferry_opts_int(o, "cols") == 2147483647);
    assert_true(ferry_opts_int(o, "seed") == INT64_MAX);
    ferry_opts_destroy(o);
    o = ferry_opts_new("ferry test", "", "", hostile_table);
    assert_int_equal(parse(o, &err, "--seed", "9223372036854775808", NULL), FERRY_USAGE);
    ferry_opts_destroy(o);
    free_last_argv();
}

/* Topic names as Kafka takes them, and one whose .dlq would not fit is refused whole. */
static void test_topic_names(void **state)
{
    clear_env();
    ferry_err_t err;
    char t245[246], t246[247], t249[250], t250[251];
    memset(t245, 'a', 245);
    t245[245] = '\0';
    memset(t246, 'a', 246);
    t246[246] = '\0';
    memset(t249, 'a', 249);
    t249[249] = '\0';
    memset(t250, 'a', 250);
    t250[250] = '\0';
    struct {
        const char *opt, *val;
        ferry_status want;
    } cases[] = {
        {"--topic", "ferry.telemetry", FERRY_OK},
        {"--topic", "A-b_c.9", FERRY_OK},
        {"--topic", "", FERRY_USAGE},
        {"--topic", "bad topic", FERRY_USAGE},
        {"--topic", "bad/topic", FERRY_USAGE},
        {"--topic", "caf\xc3\xa9", FERRY_USAGE},
        {"--topic", ".", FERRY_USAGE},
        {"--topic", "..", FERRY_USAGE},
        {"--topic", t245, FERRY_OK},
        {"--topic", t246, FERRY_USAGE},
        {"--read", t249, FERRY_OK},
        {"--read", t250, FERRY_USAGE},
        {"--read", "x y", FERRY_USAGE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ferry_opts_t *o = ferry_opts_new("ferry test", "", "", hostile_table);
        ferry_status st = parse(o, &err, cases[i].opt, cases[i].val, NULL);
        if (st != cases[i].want)
            fail_msg("%s '%.20s' (%zu chars): %d, want %d (%s)", cases[i].opt, cases[i].val,
                     strlen(cases[i].val), st, cases[i].want, err.msg);
        ferry_opts_destroy(o);
    }
    free_last_argv();
}

/* A secret on the command line is blanked in argv once parsed (ps shows x's). */
static void test_argv_secret_blanked(void **state)
{
    clear_env();
    ferry_err_t err;
    ferry_opts_t *o = ferry_opts_new("ferry test", "", "", hostile_table);
    assert_int_equal(parse(o, &err, "--pg", "postgresql://u:S3cr3t@h/db", "--cols=5", NULL),
                     FERRY_OK);
    assert_string_equal(ferry_opts_str(o, "pg"), "postgresql://u:S3cr3t@h/db");
    assert_string_equal(last_argv[2], "xxxxxxxxxxxxxxxxxxxxxxxxxx");
    assert_string_equal(last_argv[3], "--cols=5");
    ferry_opts_destroy(o);
    o = ferry_opts_new("ferry test", "", "", hostile_table);
    assert_int_equal(parse(o, &err, "--pg=host=h password=S3cr3t", NULL), FERRY_OK);
    assert_null(strstr(last_argv[1], "S3cr3t"));
    assert_string_equal(last_argv[1], "--pg=xxxxxxxxxxxxxxxxxxxxxx");
    ferry_opts_destroy(o);
    free_last_argv();
}

static ferry_status parse_config(const char *content, size_t len, ferry_err_t *err)
{
    char path[] = "/tmp/ferry-cfg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    ferry_opts_t *o = ferry_opts_new("ferry test", "", "", hostile_table);
    ferry_status st = parse(o, err, "--config", path, NULL);
    if (st == FERRY_OK && ferry_opts_str(o, "pg"))
        snprintf(err->msg, sizeof err->msg, "pg=%zu bytes", strlen(ferry_opts_str(o, "pg")));
    ferry_opts_destroy(o);
    unlink(path);
    return st;
}

/* A config line of any length is one line (a 4,095-byte buffer used to split it and read its
 * tail as a line of its own, echoing it); a NUL byte is an error, not a skipped line. */
static void test_config_hostile_lines(void **state)
{
    clear_env();
    ferry_err_t err;
    size_t n = 10000;
    char *big = malloc(n + 32);
    int k = snprintf(big, n + 32, "pg = ");
    memset(big + k, 'p', n - (size_t)k);
    memcpy(big + n - 12, "SECRETTAIL=1", 12);
    big[n] = '\n';
    assert_int_equal(parse_config(big, n + 1, &err), FERRY_OK);
    assert_string_equal(err.msg, "pg=9995 bytes");
    free(big);
    const char nul[] = "\0pg = x\n";
    assert_int_equal(parse_config(nul, sizeof nul - 1, &err), FERRY_USAGE);
    assert_non_null(strstr(err.msg, ":1: the line holds a NUL byte"));
    const char mid[] = "cols = 5\nseed = 1\0 2\n";
    assert_int_equal(parse_config(mid, sizeof mid - 1, &err), FERRY_USAGE);
    assert_non_null(strstr(err.msg, ":2:"));
    free_last_argv();
}

static void test_defaults_and_flags(void **state)
{
    clear_env();
    ferry_opts_t *o = ferry_opts_new("ferry test", "", "", table);
    ferry_err_t err;
    assert_int_equal(parse(o, &err, "--need", "x", "-b", "h1:1", "--batch=7", "--strict", "pos1",
                           "--until-idle", "1.5s", NULL),
                     FERRY_OK);
    assert_string_equal(ferry_opts_str(o, "brokers"), "h1:1");
    assert_int_equal(ferry_opts_int(o, "batch"), 7);
    assert_true(ferry_opts_bool(o, "strict"));
    assert_int_equal(ferry_opts_duration_ms(o, "until-idle"), 1500);
    assert_string_equal(ferry_opts_str(o, "group"), "g-default");
    assert_false(ferry_opts_is_set(o, "group"));
    assert_true(ferry_opts_double(o, "ratio") == 0.5);
    assert_int_equal(ferry_opts_nargs(o), 1);
    assert_string_equal(ferry_opts_arg(o, 0), "pos1");
    ferry_opts_destroy(o);
}

static void test_env_and_precedence(void **state)
{
    clear_env();
    setenv("FERRY_BROKERS", "env:9", 1);
    setenv("FERRY_BATCH", "11", 1);
    setenv("FERRY_NEED", "e", 1);
    setenv("FERRY_X", "a=1,b=2", 1);
    ferry_opts_t *o = ferry_opts_new("ferry test", "", "", table);
    ferry_err_t err;
    assert_int_equal(parse(o, &err, "--batch", "12", NULL), FERRY_OK);
    assert_string_equal(ferry_opts_str(o, "brokers"), "env:9"); /* env over default */
    assert_int_equal(ferry_opts_int(o, "batch"), 12);           /* flag over env */
    const char *const *x;
    assert_int_equal(ferry_opts_list(o, "X", &x), 2);
    assert_string_equal(x[0], "a=1");
    assert_string_equal(x[1], "b=2");
    ferry_opts_destroy(o);

    /* -X on the command line replaces the env list, and repeats accumulate. */
    o = ferry_opts_new("ferry test", "", "", table);
    assert_int_equal(parse(o, &err, "-X", "c=3", "-Xd=4", "-b", "cli:1", NULL), FERRY_OK);
    assert_int_equal(ferry_opts_list(o, "X", &x), 2);
    assert_string_equal(x[0], "c=3");
    assert_string_equal(x[1], "d=4");
    assert_string_equal(ferry_opts_str(o, "brokers"), "cli:1");
    ferry_opts_destroy(o);
    clear_env();
}

static void test_config_file_and_secret_file(void **state)
{
    clear_env();
    char cfg[] = "/tmp/ferry-test-cfg-XXXXXX";
    int fd = mkstemp(cfg);
    assert_true(fd >= 0);
    char sec[] = "/tmp/ferry-test-secret-XXXXXX";
    int sfd = mkstemp(sec);
    assert_true(sfd >= 0);
    dprintf(sfd, "postgresql://u:s3cret@h/db\n");
    close(sfd);
    dprintf(fd, "# comment\nbrokers = cfg:1\nbatch=99\nneed = c\npg-file = %s\n", sec);
    close(fd);
    setenv("FERRY_BATCH", "5", 1); /* env beats config file */
    ferry_opts_t *o = ferry_opts_new("ferry test", "", "", table);
    ferry_err_t err;
    assert_int_equal(parse(o, &err, "--config", cfg, NULL), FERRY_OK);
    assert_string_equal(ferry_opts_str(o, "brokers"), "cfg:1");
    assert_int_equal(ferry_opts_int(o, "batch"), 5);
    assert_string_equal(ferry_opts_str(o, "pg"), "postgresql://u:s3cret@h/db");
    ferry_opts_destroy(o);

    /* --pg-file on the command line, FERRY_PG_FILE in the environment */
    clear_env();
    o = ferry_opts_new("ferry test", "", "", table);
    assert_int_equal(parse(o, &err, "--need", "x", "--pg-file", sec, NULL), FERRY_OK);
    assert_string_equal(ferry_opts_str(o, "pg"), "postgresql://u:s3cret@h/db");
    ferry_opts_destroy(o);
    setenv("FERRY_PG_FILE", sec, 1);
    o = ferry_opts_new("ferry test", "", "", table);
    assert_int_equal(parse(o, &err, "--need", "x", NULL), FERRY_OK);
    assert_string_equal(ferry_opts_str(o, "pg"), "postgresql://u:s3cret@h/db");
    ferry_opts_destroy(o);
    unlink(cfg);
    unlink(sec);
    clear_env();
}

static void test_usage_errors(void **state)
{
    clear_env();
    ferry_err_t err;
    ferry_opts_t *o = ferry_opts_new("ferry test", "", "", table);
    assert_int_equal(parse(o, &err, "--need", "x", "--nope", NULL), FERRY_USAGE);
    assert_non_null(strstr(err.msg, "--nope"));
    ferry_opts_destroy(o);

    o = ferry_opts_new("ferry test", "", "", table);
    assert_int_equal(parse(o, &err, NULL), FERRY_USAGE); /* --need missing */
    assert_non_null(strstr(err.msg, "--need"));
    assert_non_null(strstr(err.msg, "FERRY_NEED"));
    ferry_opts_destroy(o);

    o = ferry_opts_new("ferry test", "", "", table);
    assert_int_equal(parse(o, &err, "--need", "x", "--batch", "12abc", NULL), FERRY_USAGE);
    ferry_opts_destroy(o);

    o = ferry_opts_new("ferry test", "", "", table);
    assert_int_equal(parse(o, &err, "--need", "x", "--until-idle", "soon", NULL), FERRY_USAGE);
    ferry_opts_destroy(o);

    o = ferry_opts_new("ferry test", "", "", table);
    assert_int_equal(parse(o, &err, "--need", "x", "-b", NULL), FERRY_USAGE); /* missing value */
    ferry_opts_destroy(o);

    /* --help needs nothing else */
    o = ferry_opts_new("ferry test", "", "", table);
    assert_int_equal(parse(o, &err, "--help", NULL), FERRY_OK);
    assert_true(ferry_opts_help_requested(o));
    ferry_opts_destroy(o);
}

static void test_help_never_shows_secrets(void **state)
{
    clear_env();
    setenv("FERRY_PG", "postgresql://u:topsecret@h/db", 1);
    ferry_opts_t *o = ferry_opts_new("ferry test", "[options]", "About.", table);
    ferry_err_t err;
    assert_int_equal(parse(o, &err, "--need", "x", NULL), FERRY_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    ferry_opts_print_help(o, fp);
    fclose(fp);
    assert_null(strstr(buf, "topsecret"));
    assert_non_null(strstr(buf, "--brokers"));
    assert_non_null(strstr(buf, "FERRY_BROKERS"));
    assert_non_null(strstr(buf, "FERRY_PG_FILE"));
    free(buf);
    ferry_opts_destroy(o);
    clear_env();
}

static void test_durations(void **state)
{
    int64_t ms;
    assert_int_equal(ferry_parse_duration_ms("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(ferry_parse_duration_ms("24h", &ms), 0);
    assert_int_equal(ms, 86400000);
    assert_int_equal(ferry_parse_duration_ms("7d", &ms), 0);
    assert_int_equal(ms, 7 * 86400000LL);
    assert_int_equal(ferry_parse_duration_ms("2m", &ms), 0);
    assert_int_equal(ms, 120000);
    assert_int_equal(ferry_parse_duration_ms("3", &ms), 0);
    assert_int_equal(ms, 3000);
    assert_int_equal(ferry_parse_duration_ms("-1s", &ms), -1);
    assert_int_equal(ferry_parse_duration_ms("5 parsecs", &ms), -1);
    assert_int_equal(ferry_parse_duration_ms("", &ms), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_flags),
        cmocka_unit_test(test_env_and_precedence),
        cmocka_unit_test(test_config_file_and_secret_file),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help_never_shows_secrets),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_int_ranges),
        cmocka_unit_test(test_topic_names),
        cmocka_unit_test(test_argv_secret_blanked),
        cmocka_unit_test(test_config_hostile_lines),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free_last_argv();
    return rc;
}
