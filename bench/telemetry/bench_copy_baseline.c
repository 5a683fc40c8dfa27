/* bench_copy_baseline.c - the physical limit the dual-write benchmark is compared with:
 * the same simulated readings (same generator, same seed and shape as `ferry telemetry
 * --source sim`) loaded into a fresh narrow table of ferry's layout with one
 * COPY ... FROM STDIN (FORMAT binary), timed from the first byte to the commit.
 *   bench_copy_baseline PGURL TABLE SHIPS CHANNELS COUNT START_US */
#include <stdio.h>
#include <stdlib.h>

#include "ferry/lifecycle.h"
#include "ferry/pg.h"
#include "sim.h"

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s PGURL TABLE SHIPS CHANNELS COUNT START_US\n", argv[0]);
        return 2;
    }
    ferry_err_t err;
    ferry_pg_t *pg = ferry_pg_connect(argv[1], "bench_copy_baseline", NULL, &err);
    if (!pg) {
        fprintf(stderr, "%s\n", err.msg);
        return 3;
    }
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_appendf(&sql,
                      "DROP TABLE IF EXISTS %s; CREATE TABLE %s (ship_id text NOT NULL,"
                      " channel_id text NOT NULL, ts timestamptz NOT NULL,"
                      " value_double double precision, value_long bigint, value_bool boolean,"
                      " value_text text, unit text, PRIMARY KEY (ship_id, channel_id, ts))",
                      argv[2], argv[2]);
    if (ferry_pg_exec(pg, ferry_buf_cstr(&sql), &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    sim_conf_t sc = {0};
    sc.ships = atoi(argv[3]);
    sc.channels = atoi(argv[4]);
    sc.seed = 1;
    sc.step_us = 1000000;
    sc.start_us = strtoll(argv[6], NULL, 10);
    long long count = strtoll(argv[5], NULL, 10);
    sim_t sim;
    sim_init(&sim, &sc);
    ferry_buf_reset(&sql);
    ferry_buf_appendf(&sql, "COPY %s FROM STDIN (FORMAT binary)", argv[2]);
    int64_t t0 = ferry_clock_mono_ms();
    ferry_pg_exec(pg, "BEGIN", NULL);
    ferry_pg_copy_t *cp = ferry_pg_copy_begin(pg, ferry_buf_cstr(&sql), &err);
    if (!cp) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    ferry_reading_t r;
    for (long long i = 0; i < count; i++) {
        sim_next(&sim, &r);
        ferry_pg_copy_row(cp, 8);
        ferry_pg_copy_text(cp, r.ship_id.ptr, r.ship_id.len);
        ferry_pg_copy_text(cp, r.channel_id.ptr, r.channel_id.len);
        ferry_pg_copy_timestamptz(cp, r.ts_us);
        if (r.type == FERRY_VALUE_DOUBLE)
            ferry_pg_copy_float8(cp, r.v.d);
        else
            ferry_pg_copy_null(cp);
        if (r.type == FERRY_VALUE_LONG)
            ferry_pg_copy_int8(cp, r.v.l);
        else
            ferry_pg_copy_null(cp);
        if (r.type == FERRY_VALUE_BOOL)
            ferry_pg_copy_bool(cp, r.v.b);
        else
            ferry_pg_copy_null(cp);
        if (r.type == FERRY_VALUE_STRING)
            ferry_pg_copy_text(cp, r.v.s.ptr, r.v.s.len);
        else
            ferry_pg_copy_null(cp);
        if (r.has_unit)
            ferry_pg_copy_text(cp, r.unit.ptr, r.unit.len);
        else
            ferry_pg_copy_null(cp);
    }
    int64_t rows = 0;
    if (ferry_pg_copy_end(cp, &rows, &err) || ferry_pg_exec(pg, "COMMIT", &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double secs = (double)(ferry_clock_mono_ms() - t0) / 1000.0;
    printf("copy_baseline rows %lld seconds %.3f rows_per_s %.0f\n", (long long)rows, secs,
           (double)rows / secs);
    ferry_buf_free(&sql);
    ferry_pg_close(pg);
    return 0;
}
