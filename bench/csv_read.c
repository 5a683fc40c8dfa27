/* csv_read.c - throughput of the CSV reader of `ferry telemetry` (producers/telemetry/csv*.c)
 * against the physical floor of the same run: reading the same file with read(2) and
 * counting newlines with memchr.
 *
 * Built with the project (bench/CMakeLists.txt, linking ferry_telemetry); run by hand,
 * results in bench/results/csv.md:
 *   build/dev/bench/bench_csv_read [LINES]        (default 2,000,000)
 *
 * Writes three files to /tmp (narrow ISO, narrow epoch-ms, wide with 20 channels) and
 * reads each three times, reporting the best run. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "csv.h"
#include "ferry/timeparse.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_file(const char *path, int kind, long lines)
{
    FILE *fp = fopen(path, "w");
    if (!fp) {
        perror(path);
        exit(1);
    }
    if (kind == 0)
        fputs("ship_id,channel_id,timestamp,value,unit\n", fp);
    else if (kind == 1)
        fputs("ship;channel;ts;value\n", fp);
    else {
        fputs("timestamp,ship", fp);
        for (int ch = 0; ch < 20; ch++)
            fprintf(fp, ",channel_%02d", ch);
        fputc('\n', fp);
    }
    for (long i = 0; i < lines; i++) {
        long sec = 1714521600 + i / 50;
        if (kind == 0) {
            char ts[FERRY_TS_FORMAT_MAX];
            ferry_ts_format((int64_t)sec * 1000000 + (i % 1000) * 1000, ts, sizeof ts);
            fprintf(fp, "ship-%03ld,engine.%02ld.temp,%s,%ld.%03ld,degC\n", i % 20, i % 50, ts,
                    i % 997, i % 1000);
        } else if (kind == 1) {
            fprintf(fp, "ship-%03ld;ch%02ld;%ld%03ld;%ld\n", i % 20, i % 50, sec, i % 1000,
                    i % 100000);
        } else {
            char ts[FERRY_TS_FORMAT_MAX];
            ferry_ts_format((int64_t)sec * 1000000, ts, sizeof ts);
            fprintf(fp, "%s,ship-%03ld", ts, i % 20);
            for (int ch = 0; ch < 20; ch++) {
                if ((i + ch) % 7 == 0)
                    fputc(',', fp);
                else
                    fprintf(fp, ",%ld.%d", i % 1000, ch);
            }
            fputc('\n', fp);
        }
    }
    fclose(fp);
}

static double floor_read(const char *path, long *nl)
{
    static char buf[1 << 20];
    double best = 1e9;
    for (int run = 0; run < 3; run++) {
        int fd = open(path, O_RDONLY);
        double t0 = now_s();
        ssize_t n;
        long count = 0;
        while ((n = read(fd, buf, sizeof buf)) > 0)
            for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))) != NULL; p++)
                count++;
        double t = now_s() - t0;
        close(fd);
        if (t < best)
            best = t;
        *nl = count;
    }
    return best;
}

static double csv_read(const char *path, int wide, ferry_csv_stats_t *st)
{
    double best = 1e9;
    for (int run = 0; run < 3; run++) {
        FILE *fp = fopen(path, "rb");
        ferry_csv_conf_t conf;
        ferry_csv_conf_init(&conf);
        conf.shape = wide ? FERRY_CSV_WIDE : FERRY_CSV_NARROW;
        ferry_err_t err;
        double t0 = now_s();
        ferry_csv_t *c = ferry_csv_open(fp, path, &conf, &err);
        if (!c) {
            fprintf(stderr, "%s\n", err.msg);
            exit(1);
        }
        ferry_reading_t r;
        uint64_t sum = 0;
        int n;
        while ((n = ferry_csv_next(c, &r, &err)) != FERRY_CSV_EOF)
            if (n == FERRY_CSV_READING)
                sum += (uint64_t)r.ts_us + r.channel_id.len;
        double t = now_s() - t0;
        *st = ferry_csv_stats(c);
        ferry_csv_close(c);
        fclose(fp);
        if (sum == 42)
            puts("");
        if (t < best)
            best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    long lines = argc > 1 ? atol(argv[1]) : 2000000;
    static const char *const names[] = {"narrow, ISO 8601 with fraction, double values, unit",
                                        "narrow, ';', epoch ms, integer values",
                                        "wide, 20 channels, 1 in 7 cells empty"};
    static const char *const paths[] = {"/tmp/ferry-bench-narrow-iso.csv",
                                        "/tmp/ferry-bench-narrow-ms.csv",
                                        "/tmp/ferry-bench-wide.csv"};
    for (int k = 0; k < 3; k++) {
        long n = k == 2 ? lines / 10 : lines;
        make_file(paths[k], k, n);
        long nl;
        double tf = floor_read(paths[k], &nl);
        ferry_csv_stats_t st;
        double tc = csv_read(paths[k], k == 2, &st);
        FILE *fp = fopen(paths[k], "rb");
        fseek(fp, 0, SEEK_END);
        double mb = (double)ftell(fp) / 1e6;
        fclose(fp);
        printf("%s\n  %ld records, %.1f MB: read+memchr %.3f s; csv %.3f s = %.2f M records/s, "
               "%.2f M readings/s, %.0f MB/s (floor/csv = %.2f)\n",
               names[k], (long)st.records, mb, tf, tc, (double)st.records / tc / 1e6,
               (double)st.readings / tc / 1e6, mb / tc, tf / tc);
        if (st.bad_lines || (long)st.records != n)
            printf("  UNEXPECTED: %llu bad lines\n", (unsigned long long)st.bad_lines);
        unlink(paths[k]);
    }
    return 0;
}
