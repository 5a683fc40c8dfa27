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

/* parse(o, err, "--flag", "value", ..., NULL) */
static ferry_status parse(ferry_opts_t *o, ferry_err_t *err, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, err);
    argv[argc++] = "ferry test";
    char *a;
    while ((a = va_arg(ap, char *)) != NULL && argc < 31)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    return ferry_opts_parse(o, argc, argv, err);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
