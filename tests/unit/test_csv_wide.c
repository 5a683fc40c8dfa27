/* test_csv_wide.c - unit tests of the CSV source of `ferry telemetry`: wide files (one
 * column per channel; producers/telemetry/csv*.c, linked from the ferry_telemetry object
 * library). Ships and empty cells, channel names that need care, the wide options, and a
 * header of 100,000 channels. */
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

static void test_wide_ships_empty_cells(void **state)
{
    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    conf.shape = FERRY_CSV_WIDE;
    ferry_csv_stats_t st;
    expect_fixture("wide_ships.csv", &conf,
                   "s1|speed|2024-05-01T00:00:00.000000Z|D:12.5|-\n"
                   "s1|rpm|2024-05-01T00:00:00.000000Z|L:1450|-\n"
                   "s1|mode|2024-05-01T00:00:00.000000Z|S:eco|-\n"
                   "s1|alarm|2024-05-01T00:00:00.000000Z|B:false|-\n"
                   "s1|speed|2024-05-01T00:00:01.000000Z|D:12.6|-\n"
                   "s1|mode|2024-05-01T00:00:01.000000Z|S:eco|-\n"
                   "s2|speed|2024-05-01T00:00:01.000000Z|L:8|-\n"
                   "s2|rpm|2024-05-01T00:00:01.000000Z|L:900|-\n"
                   "s2|alarm|2024-05-01T00:00:01.000000Z|B:true|-\n",
                   &st);
    assert_int_equal(st.lines, 5);
    assert_int_equal(st.header_lines, 1);
    assert_int_equal(st.records, 4);
    assert_int_equal(st.bad_lines, 0);
    assert_int_equal(st.readings, 9);
    assert_int_equal(st.empty_cells, 7);
}

static void test_wide_special_channel_names(void **state)
{
    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    conf.shape = FERRY_CSV_WIDE;
    conf.fixed_ship = "MV Ферри";
    ferry_csv_stats_t st;
    expect_fixture("wide_names.csv", &conf,
                   "MV Ферри|Temperatur °C|2024-04-30T15:00:00.000000Z|S:21,5|-\n"
                   "MV Ферри|a \"b\"; c|2024-04-30T15:00:00.000000Z|L:1|-\n"
                   "MV Ферри|선박 속도|2024-04-30T15:00:00.000000Z|L:2|-\n"
                   "MV Ферри|'; DROP TABLE x; --|2024-04-30T15:00:00.000000Z|L:3|-\n"
                   "MV Ферри|Ταχύτητα|2024-04-30T15:00:00.000000Z|L:4|-\n"
                   "MV Ферри|a \"b\"; c|2024-05-01T00:00:00.000000Z|S:x;y|-\n"
                   "MV Ферри|Ταχύτητα|2024-05-01T00:00:00.000000Z|D:-0|-\n",
                   &st);
    assert_int_equal(st.lines, 3);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.readings, 7);
    assert_int_equal(st.empty_cells, 3);

    /* the detected layout and the source tag */
    size_t len;
    char *text = slurp("wide_names.csv", &len);
    FILE *fp;
    pid_t child;
    ferry_err_t err;
    ferry_csv_t *c = open_via(VIA_FILE, text, len, "wide_names.csv", &conf, &fp, &child, &err);
    assert_non_null(c);
    assert_int_equal(ferry_csv_delimiter(c), ';');
    assert_true(ferry_csv_has_header(c));
    ferry_reading_t r;
    assert_int_equal(ferry_csv_next(c, &r, &err), FERRY_CSV_READING);
    assert_true(r.has_source);
    assert_int_equal(r.source.len, strlen("csv:wide_names.csv"));
    assert_memory_equal(r.source.ptr, "csv:wide_names.csv", r.source.len);
    assert_int_equal(r.type, FERRY_VALUE_STRING);
    close_via(c, fp, child);
    free(text);
}

static void test_wide_variants(void **state)
{
    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    conf.shape = FERRY_CSV_WIDE;
    conf.fixed_ship = "X";
    /* a ship column next to --ship is never a channel */
    expect("ship_id,ts,a,b,c\nS,2024-05-01,1,2,3\n", &conf,
           "X|a|2024-05-01T00:00:00.000000Z|L:1|-\n"
           "X|b|2024-05-01T00:00:00.000000Z|L:2|-\n"
           "X|c|2024-05-01T00:00:00.000000Z|L:3|-\n");
    /* a chosen subset, in the order given, by name or number */
    const char *const subset[] = {"C", "3"};
    conf.channels = subset;
    conf.n_channels = 2;
    expect("ship_id,ts,a,b,c\nS,2024-05-01,1,2,3\n", &conf,
           "X|c|2024-05-01T00:00:00.000000Z|L:3|-\n"
           "X|a|2024-05-01T00:00:00.000000Z|L:1|-\n");
    const char *const badsub[] = {"ts"};
    conf.channels = badsub;
    conf.n_channels = 1;
    expect_open_error("ship_id,ts,a\n", &conf, FERRY_USAGE, "is the ship or time column");
    /* pandas-style unnamed index column holding the time */
    ferry_csv_conf_init(&conf);
    conf.shape = FERRY_CSV_WIDE;
    conf.fixed_ship = "X";
    conf.time_col = "1";
    conf.time_unit = FERRY_TS_MS;
    expect(",speed,rpm\n1714521600000,1,\n1714521600500,,2\n", &conf,
           "X|speed|2024-05-01T00:00:00.000000Z|L:1|-\n"
           "X|rpm|2024-05-01T00:00:00.500000Z|L:2|-\n");
    /* bad records yield no readings at all */
    ferry_csv_conf_init(&conf);
    conf.shape = FERRY_CSV_WIDE;
    ferry_csv_stats_t st;
    char *got = run("ship,time,a,b\n"
                    "s1,2024-05-01,1,2\n"
                    "s1,2024-05-32,3,4\n"
                    "s1,2024-05-01,5,\xc3\x28\n"
                    "s1,2024-05-01,6\n"
                    ",2024-05-01,7,8\n"
                    "s1,2024-05-01,,\n"
                    "s1,2024-05-02,9,\n",
                    &conf, &st);
    assert_string_equal(got, "s1|a|2024-05-01T00:00:00.000000Z|L:1|-\n"
                             "s1|b|2024-05-01T00:00:00.000000Z|L:2|-\n"
                             "BAD t.csv:3: bad timestamp \"2024-05-32\": day out of range for "
                             "the month\n"
                             "BAD t.csv:4: value of channel \"b\" (column 4) is not valid UTF-8 "
                             "(or has a NUL byte)\n"
                             "BAD t.csv:5: 3 fields, expected 4 (as in the header)\n"
                             "BAD t.csv:6: empty ship id\n"
                             "s1|a|2024-05-02T00:00:00.000000Z|L:9|-\n");
    free(got);
    assert_int_equal(st.records, 7);
    assert_int_equal(st.bad_lines, 4);
    assert_int_equal(st.readings, 3);
    assert_int_equal(st.empty_cells, 3);
    /* header problems */
    expect_open_error("ship,time,a,A,a\n", &conf, FERRY_POISON,
                      "channel \"a\" is in the header twice (columns 3 and 5)");
    expect_open_error("ship,time,a,,b\n", &conf, FERRY_POISON,
                      "t.csv:1: header column 4 has no name");
    expect_open_error("ship,time,a,\xff\n", &conf, FERRY_POISON,
                      "header column 4 is not valid UTF-8");
    expect_open_error("ship,time\n", &conf, FERRY_USAGE, "the wide header has no channel columns");
    expect_open_error("vessel,a,b\n", &conf, FERRY_USAGE, "no time column in the header");
}

static void test_wide_header_of_100k_columns(void **state)
{
    /* 100,000 channels: the duplicate check must not compare every pair (it took 99 s) */
    enum { N = 100000 };
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_buf_append_str(&b, "ship,time");
    for (int i = 0; i < N; i++)
        ferry_buf_appendf(&b, ",channel.%d", i);
    ferry_buf_append_str(&b, "\ns1,2024-05-01");
    for (int i = 0; i < N; i++)
        ferry_buf_appendf(&b, ",%d", i);
    ferry_buf_append_str(&b, "\n");
    size_t header_len = strlen("ship,time");
    for (int i = 0; i < N; i++)
        header_len += (size_t)snprintf(NULL, 0, ",channel.%d", i);
    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    conf.shape = FERRY_CSV_WIDE;
    FILE *fp;
    pid_t child;
    ferry_err_t err;
    ferry_csv_t *c =
        open_via(VIA_FILE, (const char *)b.data, b.len, "t.csv", &conf, &fp, &child, &err);
    if (!c)
        fail_msg("open failed: %s", err.msg);
    ferry_reading_t r;
    int n = 0;
    while (ferry_csv_next(c, &r, &err) == FERRY_CSV_READING) {
        char want[32];
        snprintf(want, sizeof want, "channel.%d", n);
        assert_int_equal(r.type, FERRY_VALUE_LONG);
        assert_int_equal(r.v.l, n);
        assert_int_equal(r.channel_id.len, strlen(want));
        assert_memory_equal(r.channel_id.ptr, want, strlen(want));
        n++;
    }
    assert_int_equal(n, N);
    close_via(c, fp, child);

    /* and a duplicate among them, found with both columns named */
    ferry_buf_t h = FERRY_BUF_INIT;
    ferry_buf_append(&h, b.data, header_len);
    ferry_buf_append_str(&h, ",channel.7\n");
    ferry_buf_append_byte(&h, 0);
    expect_open_error((const char *)h.data, &conf, FERRY_POISON,
                      "channel \"channel.7\" is in the header twice (columns 10 and 100003)");
    ferry_buf_free(&h);
    ferry_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wide_ships_empty_cells),
        cmocka_unit_test(test_wide_special_channel_names),
        cmocka_unit_test(test_wide_variants),
        cmocka_unit_test(test_wide_header_of_100k_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
