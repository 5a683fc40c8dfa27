/* fuzz_csv.c - the CSV reader of `ferry telemetry` (producers/telemetry/csv*.c), both shapes
 * and every dialect option.
 *
 * Input: four option bytes, then the file.
 *   byte 0: bit 0 shape (narrow/wide); bits 1-2 header (auto/yes/no); bits 3-5 delimiter
 *           (detect , ; tab | and two others); bit 6 read through a pipe (the read(2) path)
 *           instead of a memory stream (the fread path); bit 7 --ship fixed ship id
 *   byte 1: bits 0-2 time unit; bits 3-7 default zone offset (quarter hours)
 *   byte 2: column selectors: bits 0-1 ship/time column (default, by name, by number),
 *           bits 2-3 channel/value/unit columns, bit 4 a default unit, bits 5-6 the source,
 *           bit 7 a wide channel list
 *   byte 3: max_record_bytes (default 16 MiB, or 64..4096 to reach the too-long paths)
 *
 * Checks on every reading: ship and channel non-empty, every string valid UTF-8 without
 * NUL (what PostgreSQL text needs), and the counters add up. */
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "fuzz.h"

static const char *const ship_sel[] = {NULL, "ship", "1", "vessel"};
static const char *const time_sel[] = {NULL, "timestamp", "3", "ts"};
static const char *const chan_sel[] = {NULL, "channel", "2", "sensor"};
static const char *const value_sel[] = {NULL, "value", "4", "val"};
static const char *const unit_sel[] = {NULL, "unit", "5", "uom"};
static const char *const wide_channels[] = {"rpm", "2", "temp", "4"};
static const char delims[] = {0, ',', ';', '\t', '|', ':', ' ', 0};
static const size_t max_records[] = {0, 64, 100, 256, 1000, 4096, 65, 0};

static void check_str(ferry_str_t s, int nonempty)
{
    FUZZ_CHECK(!nonempty || s.len > 0);
    FUZZ_CHECK(s.len == 0 || ferry_utf8_valid(s.ptr, s.len));
}

/* A stream over the input: a pipe (its read end; the input is written first, so it must
 * fit the pipe) or a memory stream. */
static FILE *open_input(const uint8_t *p, size_t n, int use_pipe)
{
    if (use_pipe && n < 60000) {
        int fds[2];
        if (pipe(fds) == 0) {
            size_t done = 0;
            while (done < n) {
                ssize_t w = write(fds[1], p + done, n - done);
                if (w <= 0)
                    break;
                done += (size_t)w;
            }
            close(fds[1]);
            FILE *fp = fdopen(fds[0], "r");
            if (!fp)
                close(fds[0]);
            return fp;
        }
    }
    if (n == 0)
        return fopen("/dev/null", "r");
    return fmemopen((void *)p, n, "r");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    uint8_t b0 = fuzz_take(&in), b1 = fuzz_take(&in), b2 = fuzz_take(&in), b3 = fuzz_take(&in);

    ferry_csv_conf_t conf;
    ferry_csv_conf_init(&conf);
    conf.shape = (b0 & 1) ? FERRY_CSV_WIDE : FERRY_CSV_NARROW;
    conf.header = (ferry_csv_header)(((b0 >> 1) & 3) % 3);
    conf.delimiter = delims[(b0 >> 3) & 7];
    if (b0 & 0x80)
        conf.fixed_ship = "fixed-ship";
    else
        conf.ship_col = ship_sel[b2 & 3];
    conf.time_unit = (ferry_ts_unit)((b1 & 7) % 5);
    conf.tz_offset_s = ((int32_t)(b1 >> 3) - 16) * 900;
    conf.time_col = time_sel[(b2 >> 1) & 3];
    if (conf.shape == FERRY_CSV_NARROW) {
        conf.channel_col = chan_sel[(b2 >> 2) & 3];
        conf.value_col = value_sel[(b2 >> 3) & 3];
        conf.unit_col = unit_sel[(b2 >> 2) & 3];
    } else if (b2 & 0x80) {
        conf.channels = wide_channels;
        conf.n_channels = 1 + ((b2 >> 2) & 3);
    }
    if (b2 & 0x10)
        conf.unit = "kn";
    switch ((b2 >> 5) & 3) {
    case 1:
        conf.source = "";
        break;
    case 2:
        conf.source = "fuzz";
        break;
    default:
        break;
    }
    conf.max_record_bytes = max_records[b3 & 7];
    size_t max_record = conf.max_record_bytes ? conf.max_record_bytes : 16u << 20;

    FILE *fp = open_input(in.p, in.n, b0 & 0x40);
    if (!fp)
        return 0;
    ferry_err_t err;
    ferry_csv_t *csv = ferry_csv_open(fp, "fuzz.csv", &conf, &err);
    if (csv) {
        ferry_reading_t r;
        int rc;
        uint64_t readings = 0, bad = 0;
        while ((rc = ferry_csv_next(csv, &r, &err)) != FERRY_CSV_EOF) {
            if (rc == FERRY_CSV_ERROR)
                break;
            if (rc == FERRY_CSV_BAD) {
                ferry_str_t rec = ferry_csv_bad_record(csv);
                FUZZ_CHECK(rec.len <= max_record);
                bad++;
                continue;
            }
            FUZZ_CHECK(rc == FERRY_CSV_READING);
            readings++;
            check_str(r.ship_id, 1);
            check_str(r.channel_id, 1);
            if (r.type == FERRY_VALUE_STRING)
                check_str(r.v.s, 0);
            if (r.has_unit)
                check_str(r.unit, 0);
            if (r.has_source)
                check_str(r.source, 0);
        }
        ferry_csv_stats_t st = ferry_csv_stats(csv);
        FUZZ_CHECK(st.readings == readings);
        FUZZ_CHECK(st.bad_lines == bad);
        FUZZ_CHECK(st.bad_lines <= st.records);
        FUZZ_CHECK(st.header_lines <= 1);
        FUZZ_CHECK(st.header_lines + st.blank_lines + st.records <= st.lines + 1);
        char d = ferry_csv_delimiter(csv);
        FUZZ_CHECK(!conf.delimiter || d == conf.delimiter);
        ferry_csv_close(csv);
    }
    fclose(fp);

    /* the value typing on its own */
    ferry_reading_t t;
    ferry_csv_type_value((const char *)in.p, in.n < 64 ? in.n : 64, &t);
    return 0;
}
