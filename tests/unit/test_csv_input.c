/* test_csv_input.c - unit tests of the CSV source of `ferry telemetry`: the input itself
 * (producers/telemetry/csv*.c, linked from the ferry_telemetry object library). Empty and
 * unreadable inputs, the raw bytes of bad records, records longer than the buffer, a stop
 * requested by a signal during a read, LF / CRLF / CR line ends, and byte order marks. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "csv_harness.h"

static void test_empty_inputs(void **state)
{
    ferry_csv_stats_t st;
    static const char *const texts[] = {"", "\xef\xbb\xbf", "\n\n  \r\n",
                                        "ship,channel,ts,value\n"};
    static const uint64_t lines[] = {0, 0, 3, 1};
    for (int shape = 0; shape < 2; shape++) {
        for (size_t i = 0; i < 4; i++) {
            ferry_csv_conf_t conf;
            ferry_csv_conf_init(&conf);
            conf.shape = shape ? FERRY_CSV_WIDE : FERRY_CSV_NARROW;
            if (shape && i == 3)
                continue; /* a wide header needs channel columns */
            for (int via = 0; via < VIA_COUNT; via++) {
                char *got = run_via(via, texts[i], strlen(texts[i]), "t.csv", &conf, &st);
                assert_string_equal(got, "");
                free(got);
                assert_int_equal(st.lines, lines[i]);
                assert_int_equal(st.records, 0);
                assert_int_equal(st.readings, 0);
            }
        }
    }
}

static void test_unreadable_inputs(void **state)
{
    /* a read error (here: the "file" is a directory) fails the open as FATAL */
    FILE *fp = fopen("/", "rb");
    assert_non_null(fp);
    ferry_err_t err;
    ferry_csv_t *c = ferry_csv_open(fp, "dir", NULL, &err);
    assert_null(c);
    assert_int_equal(err.status, FERRY_FATAL);
    assert_non_null(strstr(err.msg, "dir: read error: Is a directory"));
    fclose(fp);
    /* UTF-16 (spreadsheet "Unicode text"): a clear message, not garbage records */
    static const char u16[] = "\xff\xfes\0,\0c\0";
    for (int via = 0; via < VIA_COUNT; via++) {
        pid_t child;
        c = open_via(via, u16, sizeof u16 - 1, "u16.txt", NULL, &fp, &child, &err);
        assert_null(c);
        assert_int_equal(err.status, FERRY_POISON);
        assert_non_null(strstr(err.msg, "u16.txt: the input is UTF-16"));
        close_via(NULL, fp, child);
    }
}

static void test_bad_record_bytes(void **state)
{
    FILE *fp;
    pid_t child;
    ferry_err_t err;
    const char *t = "ship,channel,ts,value\ns1,c1,2024-05-01\r\ns1,c1,2024-05-01,1\n";
    ferry_csv_t *c = open_via(VIA_FILE, t, strlen(t), "t.csv", NULL, &fp, &child, &err);
    assert_non_null(c);
    assert_int_equal(ferry_csv_bad_record(c).len, 0);
    ferry_reading_t r;
    assert_int_equal(ferry_csv_next(c, &r, &err), FERRY_CSV_BAD);
    assert_string_equal(err.msg, "t.csv:2: 3 fields, expected 4 (as in the header)");
    ferry_str_t raw = ferry_csv_bad_record(c);
    assert_int_equal(raw.len, strlen("s1,c1,2024-05-01\r\n"));
    assert_memory_equal(raw.ptr, "s1,c1,2024-05-01\r\n", raw.len);
    assert_int_equal(ferry_csv_next(c, &r, &err), FERRY_CSV_READING);
    assert_int_equal(ferry_csv_bad_record(c).len, 0);
    assert_int_equal(ferry_csv_next(c, &r, &err), FERRY_CSV_EOF);
    assert_int_equal(ferry_csv_next(c, &r, &err), FERRY_CSV_EOF);
    close_via(c, fp, child);
}

/* Many records through a 64-byte buffer: every boundary position, records longer than the
 * limit reported (one that has a newline inside the buffer, one that does not), and the
 * line numbers after them right. */
static void test_small_buffer_and_long_records(void **state)
{
    ferry_buf_t in = FERRY_BUF_INIT, want = FERRY_BUF_INIT;
    int line = 1;
    for (int i = 0; i < 3000; i++, line++) {
        if (i == 1000) {
            ferry_buf_append_str(&in, "s1,");
            for (int k = 0; k < 30; k++)
                ferry_buf_append_str(&in, "long");
            ferry_buf_append_str(&in, ",2024-05-01,1\n");
            ferry_buf_appendf(&want,
                              "BAD t.csv:%d: record longer than 64 bytes (an unbalanced "
                              "quote?)\n",
                              line);
            continue;
        }
        if (i == 2000) {
            ferry_buf_append_str(&in, "s1,c1,2024-05-01,\"quoted");
            for (int k = 0; k < 10; k++)
                ferry_buf_append_str(&in, "\nmore text");
            ferry_buf_append_str(&in, "\"\n");
            ferry_buf_appendf(&want,
                              "BAD t.csv:%d: record longer than 64 bytes (an unbalanced "
                              "quote?)\n",
                              line);
            /* resynchronised at the next physical line: those become bad records too */
            for (int k = 0; k < 10; k++) {
                line++;
                ferry_buf_appendf(
                    &want, "BAD t.csv:%d: 1 fields, expected 4 (as in the first record)\n", line);
            }
            continue;
        }
        char rec[64];
        int n = snprintf(rec, sizeof rec, "ship-%d,ch%d,%d,%d%s\n", i % 7, i % 13, 1714521600 + i,
                         i * (i % 3 ? 1 : -1), i % 5 ? "" : "   ");
        ferry_buf_append(&in, rec, (size_t)n);
        char ts[FERRY_TS_FORMAT_MAX];
        ferry_ts_format((int64_t)(1714521600 + i) * 1000000, ts, sizeof ts);
        ferry_buf_appendf(&want, "ship-%d|ch%d|%s|L:%d|-\n", i % 7, i % 13, ts,
                          i * (i % 3 ? 1 : -1));
    }
    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    conf.max_record_bytes = 64;
    ferry_csv_stats_t st;
    char *got = run_via(VIA_FILE, (const char *)in.data, in.len, "t.csv", &conf, &st);
    assert_string_equal(got, ferry_buf_cstr(&want));
    assert_int_equal(st.lines, (uint64_t)line - 1);
    assert_int_equal(st.bad_lines, 12);
    assert_int_equal(st.readings, 2998);
    free(got);
    got = run_via(VIA_PIPE, (const char *)in.data, in.len, "t.csv", &conf, &st);
    assert_string_equal(got, ferry_buf_cstr(&want));
    free(got);
    ferry_buf_free(&in);
    ferry_buf_free(&want);

    /* a line longer than the buffer with no newline in sight: skipped to its end */
    ferry_buf_t one = FERRY_BUF_INIT;
    ferry_buf_append_str(&one, "s1,c1,2024-05-01,");
    for (int k = 0; k < 100; k++)
        ferry_buf_append_str(&one, "xyz");
    ferry_buf_append_str(&one, "\ns1,c1,2024-05-01,2\n");
    got = run_via(VIA_MEMORY, (const char *)one.data, one.len, "t.csv", &conf, &st);
    assert_string_equal(got, "BAD t.csv:1: record longer than 64 bytes (an unbalanced quote?)\n"
                             "s1|c1|2024-05-01T00:00:00.000000Z|L:2|-\n");
    assert_int_equal(st.lines, 2);
    free(got);
    ferry_buf_free(&one);
}

static int g_running = 1;

static int test_running(void)
{
    return g_running;
}

static void on_alarm(int sig)
{
    g_running = 0;
}

/* A read from an idle pipe interrupted by a signal ends the input when running() says
 * so; the record cut in half is reported, not lost. */
static void test_stop_on_signal(void **state)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const char *t = "s1,c1,2024-05-01,1\ns1,c1";
    assert_int_equal(write(fds[1], t, strlen(t)), (ssize_t)strlen(t));
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: read() fails with EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old);
    FILE *fp = fdopen(fds[0], "rb");
    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    conf.running = test_running;
    ferry_err_t err;
    ferry_csv_t *c = ferry_csv_open(fp, "stdin", &conf, &err);
    assert_non_null(c);
    struct itimerval it = {{0, 0}, {0, 200000}};
    setitimer(ITIMER_REAL, &it, NULL);
    char *got = drain(c, NULL);
    assert_string_equal(got, "s1|c1|2024-05-01T00:00:00.000000Z|L:1|-\n"
                             "BAD stdin:2: 2 fields, expected 4 (as in the first record)\n");
    assert_int_equal(g_running, 0);
    free(got);
    ferry_csv_close(c);
    fclose(fp);
    close(fds[1]);
    sigaction(SIGALRM, &old, NULL);
}

/* Replaces every "\n" of text with `eol` (CR for old Mac files, CRLF for Windows). */
static char *with_line_end(const char *text, const char *eol)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    for (const char *p = text; *p; p++) {
        if (*p == '\n')
            ferry_buf_append_str(&b, eol);
        else
            ferry_buf_append_byte(&b, (unsigned char)*p);
    }
    ferry_buf_append_byte(&b, 0);
    return (char *)b.data;
}

static void test_line_ends_lf_crlf_cr(void **state)
{
    /* the same narrow file with LF, CRLF and CR-only (old Mac) line ends, with a bad line
     * (reported at its own line number) and a blank line; a line break inside quotes is
     * data and is kept as written */
    const char *lf = "ship,channel,ts,value\n"
                     "s1,rpm,2024-05-01T00:00:00Z,1\n"
                     "s1,rpm,2024-05-01T00:00:01Z\n"
                     "\n"
                     "s1,note,2024-05-01T00:00:02Z,\"two\nlines\"\n"
                     "s2,rpm,2024-05-01T00:00:03Z,4\n";
    static const char *const eols[] = {"\n", "\r\n", "\r"};
    for (size_t i = 0; i < 3; i++) {
        char *text = with_line_end(lf, eols[i]);
        char want[600];
        snprintf(want, sizeof want,
                 "s1|rpm|2024-05-01T00:00:00.000000Z|L:1|-\n"
                 "BAD t.csv:3: 3 fields, expected 4 (as in the header)\n"
                 "s1|note|2024-05-01T00:00:02.000000Z|S:two%slines|-\n"
                 "s2|rpm|2024-05-01T00:00:03.000000Z|L:4|-\n",
                 eols[i]);
        expect_all_ways(text, NULL, want);
        ferry_csv_stats_t st;
        free(run(text, NULL, &st));
        assert_int_equal(st.lines, 7);
        assert_int_equal(st.blank_lines, 1);
        assert_int_equal(st.records, 4);
        assert_int_equal(st.readings, 3);
        free(text);
    }
    /* mixed line ends, a CR-only file without a final line end, a CR before the delimiter
     * detection has seen a delimiter, and a wide CR-only file */
    expect_all_ways(
        "ship;channel;ts;value\rs1;a;2024-05-01;1\r\ns1;b;2024-05-01;2\ns1;c;2024-05-01;3", NULL,
        "s1|a|2024-05-01T00:00:00.000000Z|L:1|-\n"
        "s1|b|2024-05-01T00:00:00.000000Z|L:2|-\n"
        "s1|c|2024-05-01T00:00:00.000000Z|L:3|-\n");
    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    conf.shape = FERRY_CSV_WIDE;
    expect_all_ways("ship\ttime\tx\ty\r\rs1\t2024-05-01\t1\t\"a\"\r", &conf,
                    "s1|x|2024-05-01T00:00:00.000000Z|L:1|-\n"
                    "s1|y|2024-05-01T00:00:00.000000Z|S:a|-\n");
    /* a bad quote in a CR-only file costs one line, not the rest of the file */
    expect_all_ways("ship,channel,ts,value\rs1,a,2024-05-01,\"x\"y\rs1,b,2024-05-01,2\r", NULL,
                    "BAD t.csv:2: unexpected character after a closing quote\n"
                    "s1|b|2024-05-01T00:00:00.000000Z|L:2|-\n");
}

static void test_byte_order_mark_only_at_the_start(void **state)
{
    /* the BOM at the very start is stripped; one anywhere else (files concatenated with
     * their BOMs, an id pasted from a spreadsheet) makes its record bad */
    expect_all_ways("\xef\xbb\xbfship,channel,ts,value\n"
                    "s1,c,2024-05-01,1\n"
                    "\xef\xbb\xbfship,channel,ts,value\n"
                    "\xef\xbb\xbfs1,c,2024-05-01,2\n"
                    "s1,c\xef\xbb\xbf,2024-05-01,3\n"
                    "s1,c,2024-05-01,\"x\xef\xbb\xbfy\"\n"
                    "s1,c,2024-05-01,4\n",
                    NULL,
                    "s1|c|2024-05-01T00:00:00.000000Z|L:1|-\n"
                    "BAD t.csv:3: field 1 has a UTF-8 byte order mark (U+FEFF) in it; only the "
                    "very start of the input may have one\n"
                    "BAD t.csv:4: field 1 has a UTF-8 byte order mark (U+FEFF) in it; only the "
                    "very start of the input may have one\n"
                    "BAD t.csv:5: field 2 has a UTF-8 byte order mark (U+FEFF) in it; only the "
                    "very start of the input may have one\n"
                    "BAD t.csv:6: field 4 has a UTF-8 byte order mark (U+FEFF) in it; only the "
                    "very start of the input may have one\n"
                    "s1|c|2024-05-01T00:00:00.000000Z|L:4|-\n");
    /* without a header the first record is data: a BOM after the stripped one is bad too */
    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    conf.header = FERRY_CSV_HEADER_NO;
    expect_all_ways("\xef\xbb\xbf\xef\xbb\xbfs1,c,2024-05-01,1\ns1,c,2024-05-01,2\n", &conf,
                    "BAD t.csv:1: field 1 has a UTF-8 byte order mark (U+FEFF) in it; only the "
                    "very start of the input may have one\n"
                    "s1|c|2024-05-01T00:00:00.000000Z|L:2|-\n");
    /* a second BOM in a header row is an unusable header */
    expect_open_error("\xef\xbb\xbf\xef\xbb\xbfship,channel,ts,value\n", NULL, FERRY_POISON,
                      "t.csv:1: header column 1 has a UTF-8 byte order mark (U+FEFF) in it");
    conf.header = FERRY_CSV_HEADER_AUTO;
    conf.shape = FERRY_CSV_WIDE;
    expect_open_error("ship,time,a,b\xef\xbb\xbf\n", &conf, FERRY_POISON,
                      "header column 4 has a UTF-8 byte order mark");
    expect_all_ways("ship,time,a,b\ns1,2024-05-01,1,\xef\xbb\xbf\n", &conf,
                    "BAD t.csv:2: field 4 has a UTF-8 byte order mark (U+FEFF) in it; only the "
                    "very start of the input may have one\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_inputs),
        cmocka_unit_test(test_unreadable_inputs),
        cmocka_unit_test(test_bad_record_bytes),
        cmocka_unit_test(test_small_buffer_and_long_records),
        cmocka_unit_test(test_stop_on_signal),
        cmocka_unit_test(test_line_ends_lf_crlf_cr),
        cmocka_unit_test(test_byte_order_mark_only_at_the_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
