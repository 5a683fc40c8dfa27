/* test_csv.c - unit tests of the CSV source of `ferry telemetry` (producers/telemetry/csv*.c,
 * linked from the ferry_telemetry object library): narrow files.
 *
 * Every dialect variation of docs/csv.md with the exact readings expected (ship, channel,
 * timestamp, type and value, unit), bad lines with their line numbers and reasons, the
 * counters, header and delimiter detection, column selection, configuration errors and
 * value typing, each input read four ways (csv_harness.h). Wide files are in
 * test_csv_wide.c, input edge cases (empty, unreadable, long records, signals, line ends,
 * byte order marks) in test_csv_input.c. */
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

static void test_narrow_basic(void **state)
{
    ferry_csv_stats_t st;
    expect_fixture("narrow_basic.csv", NULL,
                   "ship-1|engine.rpm|2024-05-01T12:00:00.000000Z|L:1450|rpm\n"
                   "ship-1|engine.temp|2024-05-01T12:00:00.500000Z|D:81.25|°C\n"
                   "ship-1|engine.on|2024-05-01T03:00:01.000000Z|B:true|-\n"
                   "ship-1|status|2024-05-01T12:00:01.123456Z|S:running normally|-\n"
                   "ship-2|engine.rpm|2024-05-01T12:00:00.000000Z|L:-3|rpm\n"
                   "ship-2|fuel|2024-05-01T12:00:00.250000Z|D:1000|t\n"
                   "ship-2|fuel|2024-05-01T12:00:00.250001Z|L:7|t\n"
                   "ship-2|note|2024-05-01T12:00:00.250001Z|N|-\n"
                   "ship-3|depth|2024-05-01T00:00:00.000000Z|D:-0.0005|m\n"
                   "ship-3|big|2024-04-30T18:30:00.000000Z|D:1e+20|-\n"
                   "ship-3|hex|2024-04-30T19:00:00.000000Z|S:0x1f|-\n"
                   "ship-3|comma|2024-05-01T00:00:00.000000Z|S:1,5|-\n"
                   "ship-3|nan|1969-12-31T23:59:59.999999Z|D:nan|-\n"
                   "ship-3|neg|1969-12-31T23:59:58.500000Z|D:-inf|-\n"
                   "ship-3|false|0001-01-01T00:00:00.000000Z|B:false|-\n",
                   &st);
    assert_int_equal(st.lines, 16);
    assert_int_equal(st.header_lines, 1);
    assert_int_equal(st.blank_lines, 0);
    assert_int_equal(st.records, 15);
    assert_int_equal(st.bad_lines, 0);
    assert_int_equal(st.readings, 15);
}

static void test_narrow_bom_crlf_semicolon_quoted_newline(void **state)
{
    ferry_csv_stats_t st;
    expect_fixture("narrow_bom_crlf_semicolon.csv", NULL,
                   "s1|note|2024-05-01T12:00:00.000000Z|S:line one\r\nline two|-\n"
                   "s1|quote \"x\", y; z|2024-05-01T12:00:01.000000Z|S:a \"b\", c|-\n"
                   "s1|decimal|2024-05-01T12:00:02.000000Z|S:1,5|kn\n"
                   "s1|spaced|2024-05-01T12:00:03.000000Z|S:  padded  |-\n",
                   &st);
    assert_int_equal(st.lines, 9);
    assert_int_equal(st.header_lines, 1);
    assert_int_equal(st.blank_lines, 3);
    assert_int_equal(st.records, 4);
    assert_int_equal(st.bad_lines, 0);
    assert_int_equal(st.readings, 4);
}

static void test_narrow_tsv_without_header(void **state)
{
    ferry_csv_stats_t st;
    expect_fixture("narrow_noheader.tsv", NULL,
                   "ship-9|speed|2024-05-01T12:00:00.000000Z|D:12.5|kn\n"
                   "ship-9|speed|2024-05-01T12:00:01.000000Z|D:12.75|kn\n"
                   "ship-9|mode|2024-05-01T12:00:02.000000Z|S:eco|-\n"
                   "ship-9|ok|2024-05-01T12:00:03.000000Z|B:false|-\n",
                   &st);
    assert_int_equal(st.lines, 4);
    assert_int_equal(st.header_lines, 0);
    assert_int_equal(st.records, 4);
    assert_int_equal(st.readings, 4);
}

static void test_narrow_bad_lines(void **state)
{
    ferry_csv_stats_t st;
    expect_fixture(
        "narrow_bad.csv", NULL,
        "s1|c1|2024-05-01T00:00:00.000000Z|L:1|-\n"
        "BAD narrow_bad.csv:3: 3 fields, expected 4 (as in the header)\n"
        "BAD narrow_bad.csv:4: bad timestamp \"2024-02-30T00:00:00Z\": day out of range for the "
        "month\n"
        "BAD narrow_bad.csv:5: empty ship id\n"
        "BAD narrow_bad.csv:6: empty channel id\n"
        "BAD narrow_bad.csv:7: channel id is not valid UTF-8 (or has a NUL byte)\n"
        "BAD narrow_bad.csv:8: unexpected character after a closing quote\n"
        "s1|c1|2024-05-01T00:00:06.000000Z|L:6|-\n"
        "BAD narrow_bad.csv:10: value is not valid UTF-8 (or has a NUL byte)\n"
        "BAD narrow_bad.csv:11: 5 fields, expected 4 (as in the header)\n"
        "BAD narrow_bad.csv:12: bad timestamp \"not-a-time\": expected ISO 8601 "
        "(YYYY-MM-DD[Thh:mm:ss[.f][zone]]) or an epoch number\n"
        "s1|c1|2024-05-01T00:00:10.000000Z|S:multi\nline ok|-\n"
        "BAD narrow_bad.csv:15: unterminated quoted field\n"
        "s1|c1|2024-05-01T00:00:12.000000Z|L:12|-\n",
        &st);
    assert_int_equal(st.lines, 16);
    assert_int_equal(st.header_lines, 1);
    assert_int_equal(st.records, 14);
    assert_int_equal(st.bad_lines, 10);
    assert_int_equal(st.readings, 4);
}

static void test_delimiter_detection(void **state)
{
    static const char *const texts[] = {
        "ship,channel,ts,value\ns1,c1,2024-05-01T00:00:00Z,1.5\n",
        "ship;channel;ts;value\ns1;c1;2024-05-01T00:00:00Z;1.5\n",
        "ship\tchannel\tts\tvalue\ns1\tc1\t2024-05-01T00:00:00Z\t1.5\n",
        "ship|channel|ts|value\ns1|c1|2024-05-01T00:00:00Z|1.5\n",
        /* blank lines before the first line; delimiters inside quotes do not count */
        "\n  \r\n\"s,h,i,p\";channel;ts;value\ns1;c1;2024-05-01T00:00:00Z;1.5\n",
    };
    static const char delims[] = {',', ';', '\t', '|', ';'};
    static const char *const channel[] = {"c1", "c1", "c1", "c1", "c1"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        FILE *fp;
        pid_t child;
        ferry_err_t err;
        ferry_csv_conf_t conf;
        ferry_csv_conf_init(&conf);
        if (i == 4)
            conf.ship_col = "s,h,i,p";
        ferry_csv_t *c =
            open_via(VIA_FILE, texts[i], strlen(texts[i]), "t.csv", &conf, &fp, &child, &err);
        if (!c)
            fail_msg("text %zu: %s", i, err.msg);
        assert_int_equal(ferry_csv_delimiter(c), delims[i]);
        char *got = drain(c, NULL);
        char want[128];
        snprintf(want, sizeof want, "s1|%s|2024-05-01T00:00:00.000000Z|D:1.5|-\n", channel[i]);
        assert_string_equal(got, want);
        free(got);
        close_via(c, fp, child);
    }
    /* a forced delimiter wins: this comma file read with ';' has one column */
    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    conf.delimiter = ';';
    expect_open_error("ship,channel,ts,value\ns1,c1,2024-05-01T00:00:00Z,1\n", &conf, FERRY_USAGE,
                      "no ship column in the header");
    /* a single column file */
    ferry_csv_conf_init(&conf);
    conf.header = FERRY_CSV_HEADER_NO;
    expect("justone\n", &conf, "BAD t.csv:1: 1 fields, need at least 4\n");
}

static void test_quoting_and_trimming(void **state)
{
    expect(" s1 ,\tc1\t, 2024-05-01T00:00:00Z ,  5  \n"
           "\"s1\" , \"c 2\" ,\"2024-05-01T00:00:00Z\", \" 6 \"\n"
           "s1,a\"b,2024-05-01T00:00:00Z,x\"y\"\n"
           "s1,\"\",2024-05-01T00:00:00Z,1\n"
           "s1,\"c,3\",2024-05-01T00:00:00Z,\"\"\"\"\n"
           "s1,c4,2024-05-01T00:00:00Z,\"  \"\n"
           "s1,\"c\"\"5\"\"\",2024-05-01T00:00:00Z,\"\"\"q\"\"\"\r\n",
           NULL,
           "s1|c1|2024-05-01T00:00:00.000000Z|L:5|-\n"
           "s1|c 2|2024-05-01T00:00:00.000000Z|L:6|-\n"
           "s1|a\"b|2024-05-01T00:00:00.000000Z|S:x\"y\"|-\n"
           "BAD t.csv:4: empty channel id\n"
           "s1|c,3|2024-05-01T00:00:00.000000Z|S:\"|-\n"
           "s1|c4|2024-05-01T00:00:00.000000Z|N|-\n"
           "s1|c\"5\"|2024-05-01T00:00:00.000000Z|S:\"q\"|-\n");
    /* tab-delimited: spaces are trimmed, tabs are delimiters */
    expect("s1 \t c1 \t 2024-05-01T00:00:00Z \t 7 \n", NULL,
           "s1|c1|2024-05-01T00:00:00.000000Z|L:7|-\n");
    /* a record of only delimiters is blank (spreadsheet residue); quoted empties too */
    ferry_csv_stats_t st;
    char *got = run("ship,channel,ts,value\n,,,\n\"\",\"\",\"\",\"\"\n   \n"
                    "s1,c1,2024-05-01T00:00:00Z,1\n",
                    NULL, &st);
    assert_string_equal(got, "s1|c1|2024-05-01T00:00:00.000000Z|L:1|-\n");
    free(got);
    assert_int_equal(st.blank_lines, 3);
    assert_int_equal(st.records, 1);
    assert_int_equal(st.lines, 5);
}

static void test_header_auto_rules(void **state)
{
    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    /* headerless: the third field of the first record is a timestamp */
    FILE *fp;
    pid_t child;
    ferry_err_t err;
    const char *t = "s1,c1,2024-05-01T00:00:00Z,1\ns1,c1,1714521601,2\n";
    ferry_csv_t *c = open_via(VIA_FILE, t, strlen(t), "t.csv", &conf, &fp, &child, &err);
    assert_non_null(c);
    assert_false(ferry_csv_has_header(c));
    char *got = drain(c, NULL);
    assert_string_equal(got, "s1|c1|2024-05-01T00:00:00.000000Z|L:1|-\n"
                             "s1|c1|2024-05-01T00:00:01.000000Z|L:2|-\n");
    free(got);
    close_via(c, fp, child);
    /* other default names, any case */
    expect("Vessel,Sensor,Created_Time,VAL,UoM\nv1,s1,2024-05-01,3,kn\n", NULL,
           "v1|s1|2024-05-01T00:00:00.000000Z|L:3|kn\n");
    expect("data_channel_id;value;ship_id;timestamp\nrpm;4;v1;2024-05-01\n", NULL,
           "v1|rpm|2024-05-01T00:00:00.000000Z|L:4|-\n");
    /* --header no on a file that has one: its first line is a bad record */
    conf.header = FERRY_CSV_HEADER_NO;
    expect("ship,channel,ts,value\ns1,c1,2024-05-01,5\n", &conf,
           "BAD t.csv:1: bad timestamp \"ts\": expected ISO 8601 "
           "(YYYY-MM-DD[Thh:mm:ss[.f][zone]]) or an epoch number\n"
           "s1|c1|2024-05-01T00:00:00.000000Z|L:5|-\n");
    /* --header yes on a file without one: the first record is taken as the header */
    conf.header = FERRY_CSV_HEADER_YES;
    expect_open_error("s1,c1,2024-05-01,5\n", &conf, FERRY_USAGE, "no ship column");
    /* a column chosen by name implies a header */
    ferry_csv_conf_init(&conf);
    conf.value_col = "Reading";
    expect("ship,channel,ts,reading\ns1,c1,2024-05-01,6\n", &conf,
           "s1|c1|2024-05-01T00:00:00.000000Z|L:6|-\n");
    /* a bad first record in auto mode is reported, not taken as a header */
    ferry_csv_conf_init(&conf);
    expect("s1,c1,2024-05-01,\"x\"y\ns1,c1,2024-05-01,7\n", &conf,
           "BAD t.csv:1: unexpected character after a closing quote\n"
           "s1|c1|2024-05-01T00:00:00.000000Z|L:7|-\n");
    /* a broken header row when one is required */
    conf.shape = FERRY_CSV_WIDE;
    expect_open_error("\n\"time\"x,ship,a\n", &conf, FERRY_POISON,
                      "t.csv:2: header row: unexpected character after a closing quote");
}

static void test_columns_by_position(void **state)
{
    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    conf.time_col = "1";
    conf.value_col = "2";
    conf.channel_col = "3";
    conf.ship_col = "4";
    expect("2024-05-01T00:00:00Z,1.5,c1,s1\n"
           "2024-05-01T00:00:01Z,2.5,c1,s1,extra\n"
           "2024-05-01T00:00:02Z,3.5,c1,s1\n",
           &conf,
           "s1|c1|2024-05-01T00:00:00.000000Z|D:1.5|-\n"
           "BAD t.csv:2: 5 fields, expected 4 (as in the first record)\n"
           "s1|c1|2024-05-01T00:00:02.000000Z|D:3.5|-\n");
    /* the first usable record fixes the count; a short first record does not */
    ferry_csv_conf_init(&conf);
    expect("s1,c1,2024-05-01\ns1,c1,2024-05-01,1,kn\ns1,c1,2024-05-01,2,kn\n", &conf,
           "BAD t.csv:1: 3 fields, need at least 4\n"
           "s1|c1|2024-05-01T00:00:00.000000Z|L:1|kn\n"
           "s1|c1|2024-05-01T00:00:00.000000Z|L:2|kn\n");
    /* headerless with --ship: channel, time, value[, unit] */
    conf.fixed_ship = "ship-x";
    expect("c1,2024-05-01,5,kn\nc2,2024-05-01,6,\n", &conf,
           "ship-x|c1|2024-05-01T00:00:00.000000Z|L:5|kn\n"
           "ship-x|c2|2024-05-01T00:00:00.000000Z|L:6|-\n");
    /* with a header, by number and by name mixed */
    ferry_csv_conf_init(&conf);
    conf.value_col = "5";
    conf.unit_col = "UNIT";
    expect("ship,channel,ts,value,other,unit\ns1,c1,2024-05-01,1,2,kn\n", &conf,
           "s1|c1|2024-05-01T00:00:00.000000Z|L:2|kn\n");
    /* errors */
    ferry_csv_conf_init(&conf);
    conf.value_col = "foo";
    expect_open_error("ship,channel,ts,value\n", &conf, FERRY_USAGE,
                      "--value-col: no column named \"foo\" (header: ship, channel, ts, value)");
    conf.value_col = "9";
    expect_open_error("ship,channel,ts,value\n", &conf, FERRY_USAGE,
                      "column 9 does not exist (the header has 4 columns)");
    conf.value_col = "0";
    expect_open_error("ship,channel,ts,value\n", &conf, FERRY_USAGE, "bad column number 0");
    conf.value_col = "3";
    expect_open_error("ship,channel,ts,value\n", &conf, FERRY_USAGE,
                      "column 3 is chosen as both time and value");
    conf.value_col = "v";
    expect_open_error("ship,channel,ts,v,V\n", &conf, FERRY_USAGE,
                      "2 columns are named \"v\"; choose one by number");
    ferry_csv_conf_init(&conf);
    conf.header = FERRY_CSV_HEADER_NO;
    conf.value_col = "value";
    expect_open_error("s1,c1,2024-05-01,1\n", &conf, FERRY_USAGE, "a column name needs a header");
    ferry_csv_conf_init(&conf);
    expect_open_error("ship,channel,ts\n", &conf, FERRY_USAGE,
                      "no value column in the header (looked for value, val; header: ship, "
                      "channel, ts); choose one with --value-col");
}

static void test_conf_errors(void **state)
{
    const char *t = "time,ship,a\n";
    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    conf.shape = FERRY_CSV_WIDE;
    conf.header = FERRY_CSV_HEADER_NO;
    expect_open_error(t, &conf, FERRY_USAGE, "a wide CSV needs a header row");
    ferry_csv_conf_init(&conf);
    conf.shape = FERRY_CSV_WIDE;
    conf.value_col = "a";
    expect_open_error(t, &conf, FERRY_USAGE, "are for --csv-shape narrow");
    ferry_csv_conf_init(&conf);
    conf.fixed_ship = "s";
    conf.ship_col = "ship";
    expect_open_error(t, &conf, FERRY_USAGE, "--ship and --ship-col exclude each other");
    ferry_csv_conf_init(&conf);
    conf.fixed_ship = "";
    expect_open_error(t, &conf, FERRY_USAGE, "--ship must be a non-empty UTF-8 text");
    ferry_csv_conf_init(&conf);
    const char *const chans[] = {"a"};
    conf.channels = chans;
    conf.n_channels = 1;
    expect_open_error(t, &conf, FERRY_USAGE, "choosing channel columns is for --csv-shape wide");
    ferry_csv_conf_init(&conf);
    conf.delimiter = '"';
    expect_open_error(t, &conf, FERRY_USAGE, "the delimiter cannot be");
}

static void test_value_typing(void **state)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"42", "L:42"},
        {"  42  ", "L:42"},
        {"+3", "L:3"},
        {"-0", "L:0"},
        {"007", "L:7"},
        {"9223372036854775807", "L:9223372036854775807"},
        {"-9223372036854775808", "L:-9223372036854775808"},
        {"9223372036854775808", "D:9.223372036854776e+18"},
        {"-9223372036854775809", "D:-9.223372036854776e+18"},
        {"1e3", "D:1000"},
        {"1E-3", "D:0.001"},
        {"-0.5", "D:-0.5"},
        {".5", "D:0.5"},
        {"5.", "D:5"},
        {"2.5e+2", "D:250"},
        {"NaN", "D:nan"},
        {"nan", "D:nan"},
        {"inf", "D:inf"},
        {"-Infinity", "D:-inf"},
        {"+INF", "D:inf"},
        {"true", "B:true"},
        {"TRUE", "B:true"},
        {" False ", "B:false"},
        {"", "N"},
        {"   ", "N"},
        {"0x1f", "S:0x1f"},
        {"1,5", "S:1,5"},
        {"1e", "S:1e"},
        {"1e999", "S:1e999"},
        {"--1", "S:--1"},
        {"1 2", "S:1 2"},
        {"yes", "S:yes"},
        {"trueish", "S:trueish"},
        {" text with spaces ", "S: text with spaces "},
        {"°C", "S:°C"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ferry_reading_t r;
        memset(&r, 0, sizeof r);
        ferry_csv_type_value(cases[i].text, strlen(cases[i].text), &r);
        ferry_buf_t b = FERRY_BUF_INIT;
        switch (r.type) {
        case FERRY_VALUE_NULL:
            ferry_buf_append_str(&b, "N");
            break;
        case FERRY_VALUE_DOUBLE:
            ferry_buf_append_str(&b, "D:");
            append_double(&b, r.v.d);
            break;
        case FERRY_VALUE_LONG:
            ferry_buf_appendf(&b, "L:%lld", (long long)r.v.l);
            break;
        case FERRY_VALUE_BOOL:
            ferry_buf_appendf(&b, "B:%s", r.v.b ? "true" : "false");
            break;
        case FERRY_VALUE_STRING:
            ferry_buf_appendf(&b, "S:%.*s", (int)r.v.s.len, r.v.s.ptr);
            break;
        }
        if (strcmp(ferry_buf_cstr(&b), cases[i].want) != 0)
            fail_msg("\"%s\": got %s, want %s", cases[i].text, ferry_buf_cstr(&b), cases[i].want);
        ferry_buf_free(&b);
    }
    /* a long numeric text (beyond the stack buffer) still becomes a double */
    char big[300];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[150] = '.';
    ferry_reading_t r;
    ferry_csv_type_value(big, strlen(big), &r);
    assert_int_equal(r.type, FERRY_VALUE_DOUBLE);
    assert_true(r.v.d > 1.1e149 && r.v.d < 1.2e149);
}

static void test_time_options_source_unit(void **state)
{
    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    conf.time_unit = FERRY_TS_MS;
    expect("s1,c1,1714564800,1\n", &conf, "s1|c1|1970-01-20T20:16:04.800000Z|L:1|-\n");
    ferry_csv_conf_init(&conf);
    conf.tz_offset_s = 9 * 3600;
    expect("s1,c1,2024-05-01 09:00:00,1\ns1,c1,2024-05-01T09:00:00Z,2\n", &conf,
           "s1|c1|2024-05-01T00:00:00.000000Z|L:1|-\n"
           "s1|c1|2024-05-01T09:00:00.000000Z|L:2|-\n");
    /* default unit: used when there is no unit column or the cell is empty */
    ferry_csv_conf_init(&conf);
    conf.unit = "kn";
    expect("ship,channel,ts,value,unit\ns1,c1,2024-05-01,1,\ns1,c1,2024-05-01,2,m/s\n", &conf,
           "s1|c1|2024-05-01T00:00:00.000000Z|L:1|kn\n"
           "s1|c1|2024-05-01T00:00:00.000000Z|L:2|m/s\n");
    conf.shape = FERRY_CSV_WIDE;
    expect("ship,ts,speed\ns1,2024-05-01,3\n", &conf,
           "s1|speed|2024-05-01T00:00:00.000000Z|L:3|kn\n");
    /* source: "csv:<name>" by default, a given text, or none */
    static const char *const sources[] = {NULL, "plant-7", ""};
    for (int i = 0; i < 3; i++) {
        ferry_csv_conf_init(&conf);
        conf.source = sources[i];
        FILE *fp;
        pid_t child;
        ferry_err_t err;
        const char *t = "s1,c1,2024-05-01,1\n";
        ferry_csv_t *c = open_via(VIA_FILE, t, strlen(t), "in.csv", &conf, &fp, &child, &err);
        assert_non_null(c);
        ferry_reading_t r;
        assert_int_equal(ferry_csv_next(c, &r, &err), FERRY_CSV_READING);
        const char *want = i == 0 ? "csv:in.csv" : sources[i];
        assert_int_equal(r.has_source, *want != '\0');
        if (*want) {
            assert_int_equal(r.source.len, strlen(want));
            assert_memory_equal(r.source.ptr, want, r.source.len);
        }
        close_via(c, fp, child);
    }
}

static void test_duplicate_default_columns(void **state)
{
    /* a column found by its default name must be the only one of that name */
    expect_open_error("ship,channel,ts,value,value\n", NULL, FERRY_USAGE,
                      "t.csv: the header names 2 columns \"value\" (columns 4 and 5); choose one "
                      "with --value-col N");
    expect_open_error("ship,SHIP,channel,ts,value\n", NULL, FERRY_USAGE,
                      "2 columns \"ship\" (columns 1 and 2); choose one with --ship-col N");
    expect_open_error("ship,channel,ts,value,unit, Unit \n", NULL, FERRY_USAGE,
                      "columns \"unit\" (columns 5 and 6); choose one with --unit-col N");
    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    conf.shape = FERRY_CSV_WIDE;
    expect_open_error("ship,time,a,time\n", &conf, FERRY_USAGE,
                      "columns \"time\" (columns 2 and 4); choose one with --time-col N");
    /* chosen by number, the duplicate is fine */
    ferry_csv_conf_init(&conf);
    conf.value_col = "5";
    expect("ship,channel,ts,value,value\ns1,c,2024-05-01,1,2\n", &conf,
           "s1|c|2024-05-01T00:00:00.000000Z|L:2|-\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_narrow_basic),
        cmocka_unit_test(test_narrow_bom_crlf_semicolon_quoted_newline),
        cmocka_unit_test(test_narrow_tsv_without_header),
        cmocka_unit_test(test_narrow_bad_lines),
        cmocka_unit_test(test_delimiter_detection),
        cmocka_unit_test(test_quoting_and_trimming),
        cmocka_unit_test(test_header_auto_rules),
        cmocka_unit_test(test_columns_by_position),
        cmocka_unit_test(test_conf_errors),
        cmocka_unit_test(test_value_typing),
        cmocka_unit_test(test_time_options_source_unit),
        cmocka_unit_test(test_duplicate_default_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
