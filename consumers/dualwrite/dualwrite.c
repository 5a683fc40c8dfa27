/* dualwrite.c - `ferry dualwrite`: the consumer-group worker that writes every telemetry
 * reading to the legacy narrow table AND merges it into the ship's wide table, in one
 * PostgreSQL transaction per batch; Kafka offsets are committed only after that
 * transaction commits. Start more processes with the same --group to scale out.
 *
 * A batch is bounded by --batch-rows and --batch-time. Its life:
 *   poll -> decode (bad bytes: DLQ; batch.c) -> resolve catalog (new channels become
 *   columns; values no wide column can take: narrow only, then DLQ; resolve.c) -> drop
 *   in-batch duplicates (first wins) -> one transaction (writer.c, wide.c) -> flush the DLQ
 *   producer -> store + commit offsets (here).
 * A database that goes away is waited for with capped backoff and the same batch is
 * written again; a data error nobody foresaw is isolated by splitting the batch and the
 * offending reading is dead-lettered, so a partition is never blocked. When partitions
 * are revoked, the batch in hand is written and committed before they go. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/command.h"
#include "ferry/decoder.h"
#include "ferry/dlq.h"
#include "ferry/until.h"
#include "ferry/kafka.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/options.h"
#include "ferry/pg.h"
#include "ferry/telemetry.h"
#include "ferry/topics.h"
#include "dualwrite.h"

static const ferry_opt_t dualwrite_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_PG,
    FERRY_OPT_GROUP("ferry-dualwrite"),
    FERRY_OPT_TOPIC(FERRY_TOPIC_TELEMETRY),
    FERRY_OPT_NARROW_TABLE,
    FERRY_OPT_NARROW_COLUMNS,
    FERRY_OPT_NARROW_TIME_ZONE,
    {"wide-schema", 0, FERRY_OPT_STRING, "telemetry_wide", "SCHEMA",
     "schema of the per-ship wide tables", 0},
    {"max-columns", 0, FERRY_OPT_INT, "800", "N",
     "channel columns per wide table before a ship continues in its next table (at most 1500)", 0},
    {"batch-rows", 0, FERRY_OPT_INT, "50000", "N", "readings per batch (one transaction)", 0},
    {"batch-time", 0, FERRY_OPT_DURATION, "100ms", "DURATION",
     "longest a reading waits in a batch before it is written", 0},
    {"until-idle", 0, FERRY_OPT_DURATION, NULL, "DURATION",
     "exit after the group has been caught up for this long (default: run until SIGTERM)", 0},
    {"progress", 0, FERRY_OPT_DURATION, "5s", "DURATION", "interval of the progress line", 0},
    FERRY_OPT_SCHEMA_REGISTRY,
    FERRY_OPT_SCHEMAS_DIR,
    FERRY_OPT_END,
};

/* ---- latency -------------------------------------------------------------------------- */

static void lat_add(dw_worker_t *w, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (ms >= LAT_BUCKETS)
        ms = LAT_BUCKETS - 1;
    w->lat[ms]++;
    w->lat_total[ms]++;
}

static int64_t lat_pct(const uint64_t *h, double p)
{
    uint64_t total = 0;
    for (int i = 0; i < LAT_BUCKETS; i++)
        total += h[i];
    if (!total)
        return -1;
    uint64_t want = (uint64_t)ceil(p * (double)total), acc = 0;
    for (int i = 0; i < LAT_BUCKETS; i++) {
        acc += h[i];
        if (acc >= want)
            return i;
    }
    return LAT_BUCKETS - 1;
}

/* The dead-letter reason of a reading the database refused, by SQLSTATE. */
static const char *db_reason(const ferry_err_t *err)
{
    if (strcmp(err->sqlstate, "23514") == 0 && strstr(err->msg, "no partition"))
        return "no_partition"; /* a partitioned narrow table without one for its time */
    if (strcmp(err->sqlstate, "22001") == 0)
        return "value_too_long";
    if (strcmp(err->sqlstate, "22003") == 0 || strcmp(err->sqlstate, "22008") == 0)
        return "value_out_of_range";
    if (strcmp(err->sqlstate, "23502") == 0)
        return "not_null";
    return "rejected_by_database";
}

/* Writes sorted[lo..hi); on a data error splits the range until the bad reading is found
 * and dead-lettered. */
static ferry_status write_range(dw_worker_t *w, dw_rec_t **sorted, int lo, int hi, ferry_err_t *err)
{
    dw_write_stats_t ws;
    ferry_status st = dw_write_batch(w->pg, w->cat, &w->narrow, sorted + lo, hi - lo, &ws, err);
    if (st == FERRY_OK) {
        w->written += (uint64_t)ws.narrow_rows;
        w->cells += (uint64_t)ws.wide_cells;
        w->fallbacks += (uint64_t)ws.narrow_fallback;
        return FERRY_OK;
    }
    if (st != FERRY_POISON)
        return st;
    int live = 0;
    for (int i = lo; i < hi; i++)
        live += !sorted[i]->dropped;
    if (live <= 1) {
        for (int i = lo; i < hi; i++) {
            if (!sorted[i]->dropped) {
                dw_dead_letter(w, sorted[i]->msg, db_reason(err), err->msg);
                sorted[i]->dropped = 1;
            }
        }
        return FERRY_OK;
    }
    ferry_warn("batch rejected by PostgreSQL (%s): isolating the reading", err->msg);
    int mid = lo + (hi - lo) / 2;
    if ((st = write_range(w, sorted, lo, mid, err)))
        return st;
    return write_range(w, sorted, mid, hi, err);
}

/* Waits for PostgreSQL to come back (ferry_pg_reconnect_wait). A refusal that waiting cannot
 * fix (a wrong password, the database gone) stops the worker with exit 3. */
static void reconnect(dw_worker_t *w)
{
    ferry_err_t err;
    ferry_status st = ferry_pg_reconnect_wait(&w->pg, 1, &err);
    if (st == FERRY_OK) {
        ferry_widecat_forget(w->cat);
    } else if (st == FERRY_FATAL) {
        w->fatal = 1;
        w->unavailable = 1;
    }
}

/* Writes and commits the batch in hand. Returns FERRY_OK when the batch is durable and its
 * offsets committed (or there was nothing), otherwise leaves the batch uncommitted. */
static ferry_status flush(dw_worker_t *w)
{
    if (w->nmsgs == 0)
        return FERRY_OK;
    ferry_err_t err;
    dw_rec_t **sorted = ferry_xcalloc((size_t)w->nrecs, sizeof *sorted);
    ferry_status st;
    for (;;) {
        int n = 0;
        st = dw_resolve(w, sorted, &n, &err);
        if (st == FERRY_OK)
            st = write_range(w, sorted, 0, n, &err);
        if (st == FERRY_OK)
            break;
        if (st == FERRY_RETRY) {
            ferry_warn("batch of %d readings not written: %s; waiting for PostgreSQL", w->nrecs,
                       err.msg);
            ferry_pg_exec(w->pg, "ROLLBACK", NULL);
            if (!ferry_pg_ok(w->pg) || strncmp(err.sqlstate, "08", 2) == 0 ||
                strncmp(err.sqlstate, "57P", 3) == 0)
                reconnect(w);
            else
                ferry_lifecycle_sleep_ms(500); /* serialization failure, deadlock: try again */
            if (!ferry_lifecycle_running()) {
                free(sorted);
                return FERRY_RETRY; /* not committed: the next owner replays it */
            }
            continue;
        }
        ferry_error("batch failed: %s", err.msg);
        w->fatal = 1;
        ferry_lifecycle_request_stop();
        free(sorted);
        return st;
    }
    free(sorted);
    dw_report_conflicts(w);
    int64_t now_ms = ferry_clock_now_us() / 1000;
    for (int i = 0; i < w->nrecs; i++) {
        if (w->recs[i].dropped)
            continue;
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(w->recs[i].msg, &tt);
        if (ts >= 0)
            lat_add(w, now_ms - ts);
    }
    /* Dead letters must be durable before the offsets that skip their sources. */
    if (w->dlq_pending) {
        if (ferry_dlq_sync(w->dlq, &err) != FERRY_OK)
            return FERRY_RETRY; /* stopped first: not committed, the group replays the batch */
        w->dlq_pending = 0;
    }
    /* Store the next offset of every partition in the batch, then commit. */
    rd_kafka_message_t *last[64];
    int nlast = 0;
    for (int i = 0; i < w->nmsgs; i++) {
        rd_kafka_message_t *m = w->msgs[i];
        int k = 0;
        while (k < nlast && !(last[k]->partition == m->partition && last[k]->rkt == m->rkt))
            k++;
        if (k == nlast) {
            if (nlast == 64) { /* many partitions: store what we have and start over */
                for (int j = 0; j < nlast; j++)
                    ferry_consumer_store(w->c, last[j], NULL);
                nlast = k = 0;
            }
            last[nlast++] = m;
        } else if (last[k]->offset < m->offset) {
            last[k] = m;
        }
    }
    for (int j = 0; j < nlast; j++)
        ferry_consumer_store(w->c, last[j], NULL);
    if (ferry_consumer_commit(w->c, &err) != FERRY_OK)
        ferry_warn("offset commit failed (the rows are written; a replay is harmless): %s",
                   err.msg);
    w->batches++;
    w->last_commit_ms = ferry_clock_mono_ms();
    dw_batch_clear(w);
    return FERRY_OK;
}

static void on_rebalance(ferry_consumer_t *c, int revoke,
                         const rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    dw_worker_t *w = opaque;
    if (revoke && w->nmsgs > 0) {
        ferry_info("partitions revoked: writing and committing the batch in hand (%d records)",
                   w->nmsgs);
        if (flush(w) != FERRY_OK)
            dw_batch_clear(w); /* not committed: the new owner replays it */
    }
}

static void progress(dw_worker_t *w, const char *tag, int64_t t0)
{
    double secs = (double)(ferry_clock_mono_ms() - t0) / 1000.0;
    int64_t p50 = lat_pct(w->lat, 0.50), p99 = lat_pct(w->lat, 0.99);
    ferry_info("%s: consumed %llu, narrow rows %llu, wide cells %llu, dead-lettered %llu, "
               "wide conflicts %llu, duplicates %llu, batches %llu, %.0f readings/s, latency p50 "
               "%lld ms p99 %lld ms",
               tag, (unsigned long long)w->consumed, (unsigned long long)w->written,
               (unsigned long long)w->cells, (unsigned long long)w->dead,
               (unsigned long long)w->conflicts, (unsigned long long)w->dupes,
               (unsigned long long)w->batches, secs > 0 ? (double)w->consumed / secs : 0.0,
               (long long)p50, (long long)p99);
    memset(w->lat, 0, sizeof w->lat);
}

/* Connects to PostgreSQL, opens the narrow table and the catalog, the decoder, the DLQ and the
 * consumer. Returns 0 or the exit status to stop with (the error logged). */
static int worker_open(dw_worker_t *w, ferry_cmd_t *cmd, int max_cols)
{
    const ferry_opts_t *o = w->o;
    ferry_err_t err;
    /* PostgreSQL is waited for as long as it takes: a worker started before it comes up */
    ferry_pg_retry_t retry = {200, 10000, 0};
    int rc = ferry_cmd_connect(cmd, "ferry dualwrite", &retry);
    if (rc >= 0)
        return rc;
    w->pg = cmd->pg;
    if (ferry_widecat_setup(w->pg, ferry_opts_str(o, "wide-schema"), &err) ||
        dw_narrow_setup(w->pg, &w->narrow, o, &err))
        return ferry_cmd_fail(&err);
    w->cat = ferry_widecat_new(ferry_opts_str(o, "wide-schema"), max_cols);
    w->dec = ferry_decoder_from_opts(o, ferry_schema_get("TelemetryReading"), &err);
    if (!w->dec) {
        ferry_error("%s", err.msg);
        return FERRY_EXIT_USAGE;
    }
    w->dlq = ferry_dlq_new(o, &err);
    if (!w->dlq) {
        ferry_error("%s", err.msg);
        return FERRY_EXIT_USAGE;
    }
    /* Keep librdkafka's prefetch modest: memory is bounded by the batch, not the lag. */
    static const char *const cdefaults[] = {"queued.max.messages.kbytes",
                                            "8192",
                                            "fetch.max.bytes",
                                            "8388608",
                                            "max.poll.interval.ms",
                                            "600000",
                                            NULL};
    ferry_consumer_conf_t cc = {0};
    cc.defaults = cdefaults;
    cc.rebalance_cb = on_rebalance;
    cc.rebalance_opaque = w;
    const char *topic = ferry_opts_str(o, "topic");
    w->c = ferry_consumer_new(o, ferry_opts_str(o, "group"), &topic, 1, &cc, &err);
    if (!w->c) {
        ferry_error("%s", err.msg);
        return FERRY_EXIT_USAGE;
    }
    return FERRY_EXIT_OK;
}

/* Polls, batches and flushes until a stop or --until-idle; then writes what is held. */
static void worker_run(dw_worker_t *w)
{
    const ferry_opts_t *o = w->o;
    const char *topic = ferry_opts_str(o, "topic");
    ferry_err_t err;
    ferry_info("dual-writing %s (group %s) into %s and %s.*", topic, ferry_opts_str(o, "group"),
               w->narrow.t.table, ferry_opts_str(o, "wide-schema"));
    ferry_until_idle_t idle;
    ferry_until_idle_init(&idle, o, ferry_opts_str(o, "group"), topic);
    int64_t every = ferry_opts_duration_ms(o, "progress");
    int64_t t0 = ferry_clock_mono_ms(), next_progress = t0 + every;
    while (ferry_lifecycle_running()) {
        int timeout = 100;
        if (w->nmsgs > 0) {
            int64_t left = w->batch_started + w->batch_time_ms - ferry_clock_mono_ms();
            timeout = left < 0 ? 0 : (int)(left < 100 ? left : 100);
        }
        rd_kafka_message_t *m = ferry_consumer_poll(w->c, timeout, &err);
        if (m)
            dw_batch_add(w, m);
        int due = w->nmsgs > 0 && (w->nmsgs >= w->batch_rows ||
                                   ferry_clock_mono_ms() - w->batch_started >= w->batch_time_ms ||
                                   (!m && timeout == 0));
        if (!m && w->nmsgs > 0 && ferry_consumer_caught_up(w->c))
            due = 1;
        if (due)
            flush(w);
        if (ferry_until_idle_done(&idle, w->c, m || w->nmsgs > 0))
            break;
        if (every > 0 && ferry_clock_mono_ms() >= next_progress) {
            progress(w, "progress", t0);
            next_progress = ferry_clock_mono_ms() + every;
        }
    }
    ferry_until_idle_free(&idle);
    /* Clean stop: write what is held, commit, leave the group. */
    if (!w->fatal)
        flush(w);
    memcpy(w->lat, w->lat_total, sizeof w->lat);
    progress(w, "done", t0);
    if (w->last_commit_ms > w->first_msg_ms)
        ferry_info("active %.3f s (first record to last commit): %.0f readings/s",
                   (double)(w->last_commit_ms - w->first_msg_ms) / 1000.0,
                   (double)w->consumed * 1000.0 / (double)(w->last_commit_ms - w->first_msg_ms));
}

int cmd_dualwrite(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(
            argv[0], "--pg CONNINFO [options]",
            "Consumer-group worker: writes every TelemetryReading (Avro single-object, Schema "
            "Registry framing with --schema-registry, or a JSON object; docs/contracts.md) to the "
            "narrow table and merges it into the ship's wide table in one PostgreSQL transaction "
            "per batch, then commits the Kafka offsets. New channels become columns on the fly. "
            "Bad records go to <topic>.dlq. The narrow table is created in ferry's layout unless "
            "--narrow-columns describes an existing one (docs/migration.md). Run more processes "
            "with the same --group to scale out.",
            dualwrite_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
    dw_worker_t *w = ferry_xcalloc(1, sizeof *w);
    w->o = o;
    w->batch_rows = ferry_opts_int(o, "batch-rows");
    w->batch_time_ms = ferry_opts_duration_ms(o, "batch-time");
    int max_cols = (int)ferry_opts_int(o, "max-columns");
    if (w->batch_rows < 1 || max_cols < 1 || max_cols > 1500 || !ferry_opts_str(o, "pg")) {
        free(w);
        return ferry_cmd_end(&cmd, ferry_cmd_usage(&cmd, "--pg is required; --batch-rows >= 1; "
                                                         "--max-columns between 1 and 1500"));
    }
    rc = worker_open(w, &cmd, max_cols);
    if (rc == FERRY_EXIT_OK) {
        worker_run(w);
        if (w->fatal)
            rc = w->unavailable ? FERRY_EXIT_UNAVAILABLE : FERRY_EXIT_FAILED;
    }
    if (w->c) {
        dw_batch_clear(w); /* anything left was not committed: the group replays it */
        ferry_consumer_close(w->c, NULL);
    }
    ferry_dlq_destroy(w->dlq);
    ferry_decoder_free(w->dec);
    ferry_widecat_destroy(w->cat);
    dw_narrow_free(&w->narrow);
    free(w->msgs);
    free(w->recs);
    free(w);
    return ferry_cmd_end(&cmd, rc);
}
