/* test_csv.c - unit tests of the CSV source of `ferry telemetry`
 * (producers/telemetry/csv.c, compiled into this test directly: it is program-private).
 *
 * Every dialect variation of docs/csv.md with the exact readings expected (ship, channel,
 * timestamp, type and value, unit), bad lines with their line numbers and reasons, the
 * counters, header and delimiter detection, column selection, configuration errors, and
 * the same inputs read four ways (regular file, memory stream, a pipe written byte by
 * byte, a 128-byte buffer) to exercise every buffer boundary. The fixture files are in
 * tests/fixtures/csv/, found relative to this source file. */
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

#include "../../producers/telemetry/csv.c"
#include "ferry/buf.h"

/* ---- helpers ------------------------------------------------------------------------ */

enum { VIA_FILE, VIA_MEMORY, VIA_PIPE, VIA_SMALL_BUFFER, VIA_COUNT };

static void fixture_path(const char *name, char *out, size_t outsz)
{
    const char *src = getenv("FERRY_SOURCE_DIR");
    if (src) {
        snprintf(out, outsz, "%s/tests/fixtures/csv/%s", src, name);
        return;
    }
    const char *f = __FILE__, *slash = strrchr(f, '/');
    if (slash)
        snprintf(out, outsz, "%.*s/../fixtures/csv/%s", (int)(slash - f), f, name);
    else
        snprintf(out, outsz, "../fixtures/csv/%s", name);
}

static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    fixture_path(name, path, sizeof path);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open fixture %s: %s", path, strerror(errno));
    ferry_buf_t b = FERRY_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        ferry_buf_append(&b, chunk, n);
    fclose(fp);
    *len = b.len;
    ferry_buf_append_byte(&b, 0);
    return (char *)b.data;
}

/* Shortest text that reads back as the same double. */
static void append_double(ferry_buf_t *b, double d)
{
    if (isnan(d)) {
        ferry_buf_append_str(b, "nan");
        return;
    }
    if (isinf(d)) {
        ferry_buf_append_str(b, d < 0 ? "-inf" : "inf");
        return;
    }
    char tmp[64];
    if (d == floor(d) && fabs(d) < 1e15) {
        ferry_buf_appendf(b, "%.0f", d);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    ferry_buf_append_str(b, tmp);
}

/* One line per event: "ship|channel|time|T:value|unit" for a reading (T = N, D, L, B, S;
 * unit "-" when none) or "BAD <message>". */
static void append_reading(ferry_buf_t *b, const ferry_reading_t *r)
{
    char ts[FERRY_TS_FORMAT_MAX];
    ferry_ts_format(r->ts_us, ts, sizeof ts);
    ferry_buf_appendf(b, "%.*s|%.*s|%s|", (int)r->ship_id.len, r->ship_id.ptr,
                      (int)r->channel_id.len, r->channel_id.ptr, ts);
    switch (r->type) {
    case FERRY_VALUE_NULL:
        ferry_buf_append_str(b, "N");
        break;
    case FERRY_VALUE_DOUBLE:
        ferry_buf_append_str(b, "D:");
        append_double(b, r->v.d);
        break;
    case FERRY_VALUE_LONG:
        ferry_buf_appendf(b, "L:%lld", (long long)r->v.l);
        break;
    case FERRY_VALUE_BOOL:
        ferry_buf_appendf(b, "B:%s", r->v.b ? "true" : "false");
        break;
    case FERRY_VALUE_STRING:
        ferry_buf_appendf(b, "S:%.*s", (int)r->v.s.len, r->v.s.ptr);
        break;
    }
    if (r->has_unit)
        ferry_buf_appendf(b, "|%.*s\n", (int)r->unit.len, r->unit.ptr);
    else
        ferry_buf_append_str(b, "|-\n");
}

/* Reads everything; returns the event text (caller frees) and the stats. */
static char *drain(ferry_csv_t *c, ferry_csv_stats_t *st)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_reading_t r;
    ferry_err_t err;
    for (int guard = 0; guard < 1000000; guard++) {
        ferry_err_clear(&err);
        int n = ferry_csv_next(c, &r, &err);
        if (n == FERRY_CSV_EOF)
            break;
        if (n == FERRY_CSV_READING) {
            assert_int_equal(err.status, FERRY_OK);
            append_reading(&b, &r);
        } else {
            assert_int_equal(n, FERRY_CSV_BAD);
            assert_int_equal(err.status, FERRY_POISON);
            ferry_buf_appendf(&b, "BAD %s\n", err.msg);
        }
    }
    if (st)
        *st = ferry_csv_stats(c);
    ferry_buf_append_byte(&b, 0);
    return (char *)b.data;
}

/* Opens a reader over text[0..len) delivered the given way; *child gets the writer
 * process of VIA_PIPE (else -1). Returns NULL with *err when open fails. */
static ferry_csv_t *open_via(int via, const char *text, size_t len, const char *name,
                             const ferry_csv_conf_t *conf, FILE **fpp, pid_t *child,
                             ferry_err_t *err)
{
    FILE *fp = NULL;
    ferry_csv_conf_t cc;
    if (conf)
        cc = *conf;
    else
        ferry_csv_conf_init(&cc);
    *child = -1;
    if (via == VIA_FILE || via == VIA_SMALL_BUFFER) {
        fp = tmpfile();
        assert_non_null(fp);
        assert_int_equal(fwrite(text, 1, len, fp), len);
        fflush(fp);
        rewind(fp);
        if (via == VIA_SMALL_BUFFER)
            cc.max_record_bytes = 128;
    } else if (via == VIA_MEMORY) {
        fp = fmemopen(len ? (void *)text : (void *)"", len, "r");
        assert_non_null(fp);
        assert_int_equal(fileno(fp), -1); /* exercises the fread path */
    } else {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            for (size_t i = 0; i < len; i++)
                if (write(fds[1], text + i, 1) != 1)
                    _exit(1);
            _exit(0);
        }
        close(fds[1]);
        fp = fdopen(fds[0], "rb");
        assert_non_null(fp);
        *child = pid;
    }
    *fpp = fp;
    return ferry_csv_open(fp, name, &cc, err);
}

static void close_via(ferry_csv_t *c, FILE *fp, pid_t child)
{
    ferry_csv_close(c);
    fclose(fp);
    if (child > 0) {
        int status;
        assert_int_equal(waitpid(child, &status, 0), child);
    }
}

/* Runs text through a reader delivered `via`; returns the events (caller frees). */
static char *run_via(int via, const char *text, size_t len, const char *name,
                     const ferry_csv_conf_t *conf, ferry_csv_stats_t *st)
{
    FILE *fp;
    pid_t child;
    ferry_err_t err;
    ferry_err_clear(&err);
    ferry_csv_t *c = open_via(via, text, len, name, conf, &fp, &child, &err);
    if (!c)
        fail_msg("open failed (via %d): %s", via, err.msg);
    char *out = drain(c, st);
    close_via(c, fp, child);
    return out;
}

static char *run(const char *text, const ferry_csv_conf_t *conf, ferry_csv_stats_t *st)
{
    return run_via(VIA_FILE, text, strlen(text), "t.csv", conf, st);
}

static void expect(const char *text, const ferry_csv_conf_t *conf, const char *want)
{
    char *got = run(text, conf, NULL);
    assert_string_equal(got, want);
    free(got);
}

/* The fixture read all four ways gives `want` and the same counters each time. */
static void expect_fixture(const char *name, const ferry_csv_conf_t *conf, const char *want,
                           ferry_csv_stats_t *st_out)
{
    size_t len;
    char *text = slurp(name, &len);
    ferry_csv_stats_t first;
    for (int via = 0; via < VIA_COUNT; via++) {
        ferry_csv_stats_t st;
        char *got = run_via(via, text, len, name, conf, &st);
        if (strcmp(got, want) != 0)
            fail_msg("%s via %d:\n--- got ---\n%s--- want ---\n%s", name, via, got, want);
        free(got);
        if (via == 0)
            first = st;
        else
            assert_memory_equal(&st, &first, sizeof st);
    }
    /* every record is either good or counted bad; lines cover everything */
    assert_true(first.lines >= first.header_lines + first.blank_lines + first.records);
    *st_out = first;
    free(text);
}

static ferry_status open_error(const char *text, const ferry_csv_conf_t *conf, char *msg,
                               size_t msgsz)
{
    FILE *fp;
    pid_t child;
    ferry_err_t err;
    ferry_err_clear(&err);
    ferry_csv_t *c = open_via(VIA_FILE, text, strlen(text), "t.csv", conf, &fp, &child, &err);
    if (c)
        fail_msg("open of \"%s\" succeeded, expected an error", text);
    fclose(fp);
    snprintf(msg, msgsz, "%s", err.msg);
    return err.status;
}

static void expect_open_error(const char *text, const ferry_csv_conf_t *conf, ferry_status status,
                              const char *why)
{
    char msg[600];
    ferry_status st = open_error(text, conf, msg, sizeof msg);
    assert_int_equal(st, status);
    if (!strstr(msg, why))
        fail_msg("open error \"%s\" lacks \"%s\"", msg, why);
}

/* ---- fixtures ----------------------------------------------------------------------- */

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

/* ---- dialects ----------------------------------------------------------------------- */

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

/* ---- line ends, duplicate columns, byte order marks, very wide headers ------------------ */

/* text (NUL-terminated) read all four ways gives `want` each time. */
static void expect_all_ways(const char *text, const ferry_csv_conf_t *conf, const char *want)
{
    for (int via = 0; via < VIA_COUNT; via++) {
        char *got = run_via(via, text, strlen(text), "t.csv", conf, NULL);
        if (strcmp(got, want) != 0)
            fail_msg("via %d:\n--- got ---\n%s--- want ---\n%s", via, got, want);
        free(got);
    }
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
        cmocka_unit_test(test_narrow_basic),
        cmocka_unit_test(test_narrow_bom_crlf_semicolon_quoted_newline),
        cmocka_unit_test(test_narrow_tsv_without_header),
        cmocka_unit_test(test_narrow_bad_lines),
        cmocka_unit_test(test_wide_ships_empty_cells),
        cmocka_unit_test(test_wide_special_channel_names),
        cmocka_unit_test(test_delimiter_detection),
        cmocka_unit_test(test_quoting_and_trimming),
        cmocka_unit_test(test_header_auto_rules),
        cmocka_unit_test(test_columns_by_position),
        cmocka_unit_test(test_conf_errors),
        cmocka_unit_test(test_wide_variants),
        cmocka_unit_test(test_value_typing),
        cmocka_unit_test(test_time_options_source_unit),
        cmocka_unit_test(test_empty_inputs),
        cmocka_unit_test(test_unreadable_inputs),
        cmocka_unit_test(test_bad_record_bytes),
        cmocka_unit_test(test_small_buffer_and_long_records),
        cmocka_unit_test(test_stop_on_signal),
        cmocka_unit_test(test_line_ends_lf_crlf_cr),
        cmocka_unit_test(test_duplicate_default_columns),
        cmocka_unit_test(test_byte_order_mark_only_at_the_start),
        cmocka_unit_test(test_wide_header_of_100k_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
