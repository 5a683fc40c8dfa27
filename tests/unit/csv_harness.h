/* csv_harness.h - what the unit tests of the CSV source of `ferry telemetry`
 * (test_csv.c, test_csv_wide.c, test_csv_input.c) share: inputs read four ways (regular
 * file, memory stream, a pipe written byte by byte, a 128-byte buffer) so that every buffer
 * boundary is exercised, readings rendered as one text line each
 * ("ship|channel|timestamp|T:value|unit", "BAD name:line: reason"), and the fixture files
 * of tests/fixtures/csv/, found relative to this header. Include it after <cmocka.h>. */
#ifndef FERRY_TESTS_UNIT_CSV_HARNESS_H
#define FERRY_TESTS_UNIT_CSV_HARNESS_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csv.h"
#include "ferry/buf.h"

enum { VIA_FILE, VIA_MEMORY, VIA_PIPE, VIA_SMALL_BUFFER, VIA_COUNT };

static inline void fixture_path(const char *name, char *out, size_t outsz)
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

static inline char *slurp(const char *name, size_t *len)
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
static inline void append_double(ferry_buf_t *b, double d)
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
static inline void append_reading(ferry_buf_t *b, const ferry_reading_t *r)
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
static inline char *drain(ferry_csv_t *c, ferry_csv_stats_t *st)
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
static inline ferry_csv_t *open_via(int via, const char *text, size_t len, const char *name,
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

static inline void close_via(ferry_csv_t *c, FILE *fp, pid_t child)
{
    ferry_csv_close(c);
    fclose(fp);
    if (child > 0) {
        int status;
        assert_int_equal(waitpid(child, &status, 0), child);
    }
}

/* Runs text through a reader delivered `via`; returns the events (caller frees). */
static inline char *run_via(int via, const char *text, size_t len, const char *name,
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

static inline char *run(const char *text, const ferry_csv_conf_t *conf, ferry_csv_stats_t *st)
{
    return run_via(VIA_FILE, text, strlen(text), "t.csv", conf, st);
}

static inline void expect(const char *text, const ferry_csv_conf_t *conf, const char *want)
{
    char *got = run(text, conf, NULL);
    assert_string_equal(got, want);
    free(got);
}

/* The fixture read all four ways gives `want` and the same counters each time. */
static inline void expect_fixture(const char *name, const ferry_csv_conf_t *conf, const char *want,
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

static inline ferry_status open_error(const char *text, const ferry_csv_conf_t *conf, char *msg,
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

static inline void expect_open_error(const char *text, const ferry_csv_conf_t *conf,
                                     ferry_status status, const char *why)
{
    char msg[600];
    ferry_status st = open_error(text, conf, msg, sizeof msg);
    assert_int_equal(st, status);
    if (!strstr(msg, why))
        fail_msg("open error \"%s\" lacks \"%s\"", msg, why);
}

/* text (NUL-terminated) read all four ways gives `want` each time. */
static inline void expect_all_ways(const char *text, const ferry_csv_conf_t *conf, const char *want)
{
    for (int via = 0; via < VIA_COUNT; via++) {
        char *got = run_via(via, text, strlen(text), "t.csv", conf, NULL);
        if (strcmp(got, want) != 0)
            fail_msg("via %d:\n--- got ---\n%s--- want ---\n%s", via, got, want);
        free(got);
    }
}

#endif
