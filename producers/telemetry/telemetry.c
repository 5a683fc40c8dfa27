/* telemetry.c - `ferry telemetry`: publishes TelemetryReading records keyed by ship id.
 *
 * Sources: `sim` (the deterministic simulator in sim.c) and `csv` (files or stdin, narrow
 * or wide exports, see csv.h and docs/csv.md). Records go through the core's idempotent
 * producer (acks=all, compressed); a progress line on stderr every few seconds, a summary
 * at the end, and exit status 1 if any record was not delivered. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/command.h"
#include "csv.h"
#include "ferry/kafka.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/options.h"
#include "ferry/telemetry.h"
#include "ferry/timeparse.h"
#include "ferry/topics.h"
#include "ferry/wire.h"
#include "sim.h"

static const ferry_opt_t telemetry_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_TOPIC(FERRY_TOPIC_TELEMETRY),
    {"source", 's', FERRY_OPT_STRING, "sim", "SOURCE", "sim (simulator) or csv (FILEs or stdin)",
     0},
    {"compression", 0, FERRY_OPT_STRING, "lz4", "CODEC", "none, gzip, snappy, lz4 or zstd", 0},
    {"progress", 0, FERRY_OPT_DURATION, "5s", "DURATION", "interval of the progress line", 0},
    FERRY_OPT_WIRE_FORMAT,
    FERRY_OPT_SCHEMA_REGISTRY,
    /* simulator */
    {"ships", 0, FERRY_OPT_INT, "20", "N", "sim: number of ships", 0},
    {"channels", 0, FERRY_OPT_INT, "50", "N", "sim: channels per ship", 0},
    {"seed", 0, FERRY_OPT_INT, "1", "N", "sim: seed of the value generator", FERRY_OPTF_INT64},
    {"count", 'n', FERRY_OPT_INT, "0", "N",
     "sim: readings to publish (0: until --duration or a signal)", FERRY_OPTF_INT64},
    {"duration", 0, FERRY_OPT_DURATION, NULL, "DURATION", "sim: stop after this long", 0},
    {"rate", 0, FERRY_OPT_DOUBLE, "0", "R", "sim: readings per second (0: as fast as possible)", 0},
    {"start", 0, FERRY_OPT_STRING, NULL, "TIME",
     "sim: timestamp of the first tick (ISO-8601 or epoch; default: now, whole second)", 0},
    {"interval", 0, FERRY_OPT_DURATION, "1s", "DURATION", "sim: time between ticks", 0},
    {"realtime", 0, FERRY_OPT_BOOL, NULL, NULL,
     "sim: stamp readings with the wall clock when sent (for latency runs)", 0},
    {"ship-offset", 0, FERRY_OPT_INT, "0", "N", "sim: number the ships from N+1 (disjoint fleets)",
     0},
    /* csv */
    {"csv-shape", 0, FERRY_OPT_STRING, "narrow", "SHAPE",
     "csv: narrow (ship, channel, time, value[, unit] per line) or wide (one column per channel)",
     0},
    {"delimiter", 'd', FERRY_OPT_STRING, "auto", "CHAR", "csv: , ; tab or auto", 0},
    {"header", 0, FERRY_OPT_STRING, "auto", "WHEN", "csv: yes, no or auto", 0},
    {"ship-col", 0, FERRY_OPT_STRING, NULL, "COL", "csv: ship column (name or 1-based number)", 0},
    {"channel-col", 0, FERRY_OPT_STRING, NULL, "COL", "csv: channel column (narrow)", 0},
    {"time-col", 0, FERRY_OPT_STRING, NULL, "COL", "csv: timestamp column", 0},
    {"value-col", 0, FERRY_OPT_STRING, NULL, "COL", "csv: value column (narrow)", 0},
    {"unit-col", 0, FERRY_OPT_STRING, NULL, "COL", "csv: unit column (narrow, optional)", 0},
    {"ship", 0, FERRY_OPT_STRING, NULL, "ID", "csv: ship id for files without a ship column", 0},
    {"time-unit", 0, FERRY_OPT_STRING, "auto", "UNIT",
     "csv: unit of epoch timestamps: s, ms, us, ns or auto (by magnitude)", 0},
    {"time-zone", 0, FERRY_OPT_STRING, "+00:00", "OFFSET",
     "csv: offset of ISO timestamps that carry no zone, e.g. +09:00", 0},
    {"strict", 0, FERRY_OPT_BOOL, NULL, NULL,
     "csv: stop at the first bad line (exit 1); a non-empty input without a single reading is an "
     "error too",
     0},
    FERRY_OPT_END,
};

typedef struct run {
    const ferry_opts_t *o;
    ferry_producer_t *p;
    const char *topic;
    ferry_wire_t wire;
    ferry_buf_t buf;
    int64_t t0_ms, next_progress, every_ms;
    uint64_t bad_lines, lines;
} run_t;

static void report(run_t *r, const char *tag)
{
    ferry_producer_stats_t ps = ferry_producer_stats(r->p);
    double secs = (double)(ferry_clock_mono_ms() - r->t0_ms) / 1000.0;
    ferry_info("%s: sent %llu, acknowledged %llu, failed %llu, bad lines %llu, %.0f readings/s "
               "(%.1f s)",
               tag, (unsigned long long)ps.sent, (unsigned long long)ps.delivered,
               (unsigned long long)ps.failed, (unsigned long long)r->bad_lines,
               secs > 0 ? (double)ps.sent / secs : 0.0, secs);
}

static ferry_status publish(run_t *r, const ferry_reading_t *rd, ferry_err_t *err)
{
    ferry_buf_reset(&r->buf);
    ferry_telemetry_encode(rd, &r->buf);
    ferry_wire_frame(&r->wire, &r->buf, 0);
    ferry_status st =
        ferry_producer_send(r->p, r->topic, RD_KAFKA_PARTITION_UA, rd->ship_id.ptr, rd->ship_id.len,
                            r->buf.data, r->buf.len, NULL, NULL, err);
    if (st)
        return st;
    ferry_producer_poll(r->p, 0);
    if (r->every_ms > 0 && ferry_clock_mono_ms() >= r->next_progress) {
        report(r, "progress");
        r->next_progress = ferry_clock_mono_ms() + r->every_ms;
    }
    return FERRY_OK;
}

/* Returns FERRY_OK when the bounded run finished (or an unbounded one was stopped). */
static ferry_status run_sim(run_t *r, int *incomplete, ferry_err_t *err)
{
    const ferry_opts_t *o = r->o;
    sim_conf_t sc = {0};
    sc.ships = (int)ferry_opts_int(o, "ships");
    sc.channels = (int)ferry_opts_int(o, "channels");
    sc.seed = (uint64_t)ferry_opts_int(o, "seed");
    sc.step_us = ferry_opts_duration_ms(o, "interval") * 1000;
    sc.realtime = ferry_opts_bool(o, "realtime");
    sc.ship_offset = (int)ferry_opts_int(o, "ship-offset");
    if (sc.ships < 1 || sc.channels < 1 || sc.step_us <= 0)
        return ferry_err_set(err, FERRY_USAGE, "--ships, --channels and --interval must be > 0");
    const char *start = ferry_opts_str(o, "start");
    if (start) {
        if (ferry_ts_parse(start, strlen(start), FERRY_TS_AUTO, &sc.start_us, err) != FERRY_OK)
            return ferry_err_set(err, FERRY_USAGE, "--start: %s", err->msg);
    } else {
        sc.start_us = ferry_clock_now_us() / 1000000 * 1000000;
    }
    int64_t count = ferry_opts_int(o, "count");
    int64_t duration_ms =
        ferry_opts_is_set(o, "duration") ? ferry_opts_duration_ms(o, "duration") : -1;
    double rate = ferry_opts_double(o, "rate");
    if (count < 0 || rate < 0)
        return ferry_err_set(err, FERRY_USAGE, "--count and --rate must be >= 0");
    sim_t sim;
    sim_init(&sim, &sc);
    ferry_reading_t rd;
    int64_t t0 = ferry_clock_mono_ms();
    int64_t i = 0;
    *incomplete = 0;
    while (count == 0 || i < count) {
        if (!ferry_lifecycle_running()) {
            *incomplete = count > 0 || duration_ms > 0;
            break;
        }
        if (duration_ms >= 0 && ferry_clock_mono_ms() - t0 >= duration_ms)
            break;
        if (rate > 0) {
            int64_t due = t0 + (int64_t)((double)i * 1000.0 / rate);
            int64_t now = ferry_clock_mono_ms();
            if (due > now) {
                ferry_producer_poll(r->p, (int)(due - now > 100 ? 100 : due - now));
                continue;
            }
        }
        sim_next(&sim, &rd);
        ferry_status st = publish(r, &rd, err);
        if (st)
            return st;
        i++;
    }
    return FERRY_OK;
}

static ferry_status parse_csv_conf(const ferry_opts_t *o, ferry_csv_conf_t *cc, ferry_err_t *err)
{
    ferry_csv_conf_init(cc);
    const char *shape = ferry_opts_str(o, "csv-shape");
    if (strcmp(shape, "narrow") == 0)
        cc->shape = FERRY_CSV_NARROW;
    else if (strcmp(shape, "wide") == 0)
        cc->shape = FERRY_CSV_WIDE;
    else
        return ferry_err_set(err, FERRY_USAGE, "--csv-shape must be narrow or wide");
    const char *d = ferry_opts_str(o, "delimiter");
    if (strcmp(d, "auto") == 0)
        cc->delimiter = 0;
    else if (strcmp(d, "tab") == 0 || strcmp(d, "\\t") == 0 || strcmp(d, "\t") == 0)
        cc->delimiter = '\t';
    else if (strlen(d) == 1 && (d[0] == ',' || d[0] == ';' || d[0] == '|'))
        cc->delimiter = d[0];
    else
        return ferry_err_set(err, FERRY_USAGE, "--delimiter must be , ; | tab or auto");
    const char *h = ferry_opts_str(o, "header");
    if (strcmp(h, "auto") == 0)
        cc->header = FERRY_CSV_HEADER_AUTO;
    else if (strcmp(h, "yes") == 0)
        cc->header = FERRY_CSV_HEADER_YES;
    else if (strcmp(h, "no") == 0)
        cc->header = FERRY_CSV_HEADER_NO;
    else
        return ferry_err_set(err, FERRY_USAGE, "--header must be yes, no or auto");
    cc->ship_col = ferry_opts_str(o, "ship-col");
    cc->channel_col = ferry_opts_str(o, "channel-col");
    cc->time_col = ferry_opts_str(o, "time-col");
    cc->value_col = ferry_opts_str(o, "value-col");
    cc->unit_col = ferry_opts_str(o, "unit-col");
    cc->fixed_ship = ferry_opts_str(o, "ship");
    if (ferry_ts_offset_parse(ferry_opts_str(o, "time-zone"), &cc->tz_offset_s, err) != FERRY_OK)
        return ferry_err_set(err, FERRY_USAGE, "--time-zone: %s", err->msg);
    cc->running = ferry_lifecycle_running;
    const char *u = ferry_opts_str(o, "time-unit");
    if (ferry_ts_unit_parse(u, &cc->time_unit) != 0)
        return ferry_err_set(err, FERRY_USAGE, "--time-unit must be s, ms, us, ns or auto");
    return FERRY_OK;
}

static ferry_status run_csv_file(run_t *r, FILE *fp, const char *name, const ferry_csv_conf_t *cc,
                                 ferry_err_t *err)
{
    int strict = ferry_opts_bool(r->o, "strict");
    ferry_csv_t *csv = ferry_csv_open(fp, name, cc, err);
    if (!csv)
        return err->status ? err->status : FERRY_USAGE;
    ferry_reading_t rd;
    ferry_status st = FERRY_OK;
    for (;;) {
        if (!ferry_lifecycle_running())
            break;
        ferry_err_t lerr;
        int n = ferry_csv_next(csv, &rd, &lerr);
        if (n == FERRY_CSV_EOF)
            break;
        if (n == FERRY_CSV_ERROR) {
            st = ferry_err_set(err, FERRY_FATAL, "%s", lerr.msg);
            break;
        }
        if (n == FERRY_CSV_BAD) {
            r->bad_lines++;
            ferry_warn("skipped: %s", lerr.msg);
            if (strict) {
                st = ferry_err_set(err, FERRY_POISON, "%s (--strict)", lerr.msg);
                break;
            }
            continue;
        }
        if ((st = publish(r, &rd, err)) != FERRY_OK)
            break;
    }
    ferry_csv_stats_t cs = ferry_csv_stats(csv);
    r->lines += cs.lines;
    if (strict && st == FERRY_OK && ferry_lifecycle_running() && cs.readings == 0 &&
        cs.header_lines + cs.records > 0)
        st = ferry_err_set(err, FERRY_POISON,
                           "%s: %llu line(s) but not one reading (--strict): only a header, or "
                           "every cell empty?",
                           name, (unsigned long long)cs.lines);
    ferry_info("%s: %llu lines, %llu readings, %llu bad lines", name, (unsigned long long)cs.lines,
               (unsigned long long)cs.readings, (unsigned long long)cs.bad_lines);
    ferry_csv_close(csv);
    return st;
}

static ferry_status run_csv(run_t *r, ferry_err_t *err)
{
    ferry_csv_conf_t cc;
    ferry_status st = parse_csv_conf(r->o, &cc, err);
    if (st)
        return st;
    int n = ferry_opts_nargs(r->o);
    if (n == 0)
        return run_csv_file(r, stdin, "stdin", &cc, err);
    for (int i = 0; i < n && st == FERRY_OK; i++) {
        const char *path = ferry_opts_arg(r->o, i);
        if (strcmp(path, "-") == 0) {
            st = run_csv_file(r, stdin, "stdin", &cc, err);
            continue;
        }
        FILE *fp = fopen(path, "rb");
        if (!fp)
            return ferry_err_set(err, FERRY_USAGE, "cannot open %s: %s", path, strerror(errno));
        st = run_csv_file(r, fp, path, &cc, err);
        fclose(fp);
    }
    return st;
}

int cmd_telemetry(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(
            argv[0], "[--source sim|csv] [options] [FILE...]",
            "Publishes ship telemetry readings (Avro TelemetryReading, keyed by ship id) through "
            "an "
            "idempotent producer with acks=all, in single-object encoding or, with "
            "--schema-registry, in Schema Registry framing (registered under <topic>-value first). "
            "--source sim runs the deterministic simulator; "
            "--source csv reads narrow or wide CSV exports from the FILEs or stdin (see "
            "docs/csv.md): "
            "lines end in LF, CRLF or CR; a UTF-8 byte order mark is stripped at the start of the "
            "input only (one anywhere else makes its record bad); a column found by its default "
            "name must be the only one of that name (else exit 2). "
            "Exit status 1 if any record was not delivered or, with --strict, a line was bad.",
            telemetry_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
    const char *source = ferry_opts_str(o, "source");
    if (strcmp(source, "sim") != 0 && strcmp(source, "csv") != 0) {
        fprintf(stderr, "%s: --source must be sim or csv\n", argv[0]);
        return ferry_cmd_end(&cmd, FERRY_EXIT_USAGE);
    }
    ferry_err_t err;
    ferry_err_clear(&err);
    const char *defaults[] = {"compression.type",
                              ferry_opts_str(o, "compression"),
                              "linger.ms",
                              "20",
                              "batch.size",
                              "1000000",
                              NULL};
    ferry_producer_conf_t pc = {0};
    pc.defaults = defaults;
    run_t r = {0};
    r.o = o;
    r.topic = ferry_opts_str(o, "topic");
    /* the schema is registered (or refused) before anything is sent */
    ferry_status ws =
        ferry_wire_setup(o, ferry_schema_get("TelemetryReading"), r.topic, &r.wire, &err);
    if (ws != FERRY_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], err.msg);
        return ferry_cmd_end(&cmd, ferry_cmd_exit_for(ws));
    }
    r.p = ferry_producer_new(o, &pc, &err);
    if (!r.p) {
        fprintf(stderr, "%s: %s\n", argv[0], err.msg);
        return ferry_cmd_end(&cmd, ferry_cmd_exit_for(err.status));
    }
    r.t0_ms = ferry_clock_mono_ms();
    r.every_ms = ferry_opts_duration_ms(o, "progress");
    r.next_progress = r.t0_ms + r.every_ms;
    int incomplete = 0;
    ferry_status st =
        strcmp(source, "sim") == 0 ? run_sim(&r, &incomplete, &err) : run_csv(&r, &err);
    if (st != FERRY_OK)
        ferry_error("%s", err.msg);
    ferry_err_t ferr;
    ferry_status fs = ferry_producer_flush(r.p, 120000, &ferr);
    report(&r, "done");
    if (fs != FERRY_OK)
        ferry_error("not everything was delivered: %s", ferr.msg);
    ferry_producer_destroy(r.p);
    ferry_buf_free(&r.buf);
    if (st == FERRY_USAGE)
        return ferry_cmd_end(&cmd, FERRY_EXIT_USAGE);
    if (st != FERRY_OK || fs != FERRY_OK)
        return ferry_cmd_end(&cmd, FERRY_EXIT_FAILED);
    if (incomplete)
        return ferry_cmd_end(&cmd, 128 + ferry_lifecycle_stop_signal());
    return ferry_cmd_end(&cmd, FERRY_EXIT_OK);
}
