/* backfill.c - `ferry backfill plan|run|retry`: copies a ship's history from the narrow table
 * into its wide tables, as chunks (ship x --chunk, default 24 h) distributed as tasks on a Kafka
 * topic to a consumer group of workers.
 *
 * plan:  splits each ship's history before its cutoff (ferry.ship_state; a ship never
 *        dual-written gets the planning time as its cutoff) into chunks aligned to the chunk
 *        size, records them in ferry.backfill_chunks and publishes one BackfillChunk per chunk
 *        not published before. Planning again publishes nothing new.
 * run:   for each task: streams the chunk's narrow rows out with COPY (ordered by time),
 *        pivots them in memory one timestamp at a time, COPYs the wide rows into a staging
 *        table and merges them into the wide table in ONE transaction together with the
 *        chunk's result; then commits the task's offset. A cell already in the wide table
 *        (written by dual-write) is never replaced. Memory is bounded by one wide row and the
 *        COPY buffers, whatever the chunk size. A chunk that keeps failing goes to the task
 *        topic's DLQ after --max-attempts; the others go on.
 * retry: re-publishes chosen chunks (--chunk ID, or --failed). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/command.h"
#include "ferry/avro.h"
#include "ferry/decoder.h"
#include "ferry/dlq.h"
#include "ferry/until.h"
#include "ferry/kafka.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/migration.h"
#include "ferry/options.h"
#include "ferry/pg.h"
#include "ferry/timeparse.h"
#include "ferry/topics.h"
#include "ferry/widecat.h"

#define PG_EPOCH_US      946684800000000LL
#define MAX_REJECTS_KEPT 10000

static const ferry_opt_t plan_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_PG,
    FERRY_OPT_TOPIC(FERRY_TOPIC_BACKFILL),
    {"ship", 's', FERRY_OPT_LIST, NULL, "SHIP", "plan this ship (repeatable)", 0},
    {"all", 'a', FERRY_OPT_BOOL, NULL, NULL, "plan every ship of the narrow table", 0},
    {"chunk", 0, FERRY_OPT_DURATION, "24h", "DURATION", "chunk length (aligned to the epoch)", 0},
    {"from", 0, FERRY_OPT_STRING, NULL, "TIME", "start at this time instead of the beginning", 0},
    FERRY_OPT_NARROW_TABLE,
    FERRY_OPT_NARROW_COLUMNS,
    FERRY_OPT_NARROW_TIME_ZONE,
    FERRY_OPT_END,
};

static const ferry_opt_t run_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_PG,
    FERRY_OPT_GROUP("ferry-backfill"),
    FERRY_OPT_TOPIC(FERRY_TOPIC_BACKFILL),
    FERRY_OPT_NARROW_TABLE,
    FERRY_OPT_NARROW_COLUMNS,
    FERRY_OPT_NARROW_TIME_ZONE,
    FERRY_OPT_WIDE_SCHEMA,
    {"max-columns", 0, FERRY_OPT_INT, "800", "N", "channel columns per wide table (as dualwrite)",
     0},
    {"max-attempts", 0, FERRY_OPT_INT, "3", "N", "attempts before a chunk goes to the DLQ", 0},
    {"buffer", 0, FERRY_OPT_INT, "262144", "BYTES", "COPY buffer size (memory per worker)", 0},
    {"until-idle", 0, FERRY_OPT_DURATION, NULL, "DURATION",
     "exit after the group has been caught up for this long", 0},
    FERRY_OPT_SCHEMA_REGISTRY,
    FERRY_OPT_SCHEMAS_DIR,
    FERRY_OPT_END,
};

static const ferry_opt_t retry_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_PG,
    FERRY_OPT_TOPIC(FERRY_TOPIC_BACKFILL),
    {"chunk", 0, FERRY_OPT_LIST, NULL, "ID", "re-run this chunk (repeatable)", 0},
    {"failed", 0, FERRY_OPT_BOOL, NULL, NULL, "re-run every failed chunk", 0},
    FERRY_OPT_END,
};

/* ---- publishing tasks ------------------------------------------------------------------- */

static void ts_text(int64_t us, char *out, size_t outsz)
{
    ferry_mig_ts_param(us, out, outsz);
}

/* Publishes the chunks selected by `where` (SQL over ferry.backfill_chunks with $1 = text[]
 * of ships or chunk ids) and marks them published. Returns the number published or -1. */
static int publish_chunks(ferry_pg_t *pg, ferry_producer_t *p, const char *topic,
                          const char *narrow_table, const char *where, const char *param,
                          ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_appendf(&sql,
                      "SELECT chunk_id, ship_id, (extract(epoch FROM start_ts) * 1000000)::bigint,"
                      " (extract(epoch FROM end_ts) * 1000000)::bigint, attempts"
                      " FROM ferry.backfill_chunks WHERE %s ORDER BY ship_id, start_ts",
                      where);
    const char *params[] = {param};
    PGresult *res = ferry_pg_query(pg, ferry_buf_cstr(&sql), param ? 1 : 0, params, err);
    ferry_buf_free(&sql);
    if (!res)
        return -1;
    const ferry_schema_t *schema = ferry_schema_get("BackfillChunk");
    ferry_buf_t msg = FERRY_BUF_INIT, ids = FERRY_BUF_INIT;
    int n = PQntuples(res), sent = 0;
    for (int i = 0; i < n; i++) {
        json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:i, s:s}", "chunk_id",
                              PQgetvalue(res, i, 0), "ship_id", PQgetvalue(res, i, 1), "start_ts",
                              (json_int_t)strtoll(PQgetvalue(res, i, 2), NULL, 10), "end_ts",
                              (json_int_t)strtoll(PQgetvalue(res, i, 3), NULL, 10), "planned_at",
                              (json_int_t)ferry_now_us(), "attempt", atoi(PQgetvalue(res, i, 4)),
                              "narrow_table", narrow_table);
        ferry_buf_reset(&msg);
        ferry_status st = ferry_avro_encode_json(schema, j, &msg, err);
        json_decref(j);
        if (st || ferry_producer_send(p, topic, RD_KAFKA_PARTITION_UA, PQgetvalue(res, i, 1),
                                      strlen(PQgetvalue(res, i, 1)), msg.data, msg.len, NULL, NULL,
                                      err)) {
            sent = -1;
            break;
        }
        sent++;
        ferry_pg_array_add(&ids, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0));
    }
    ferry_pg_array_close(&ids);
    PQclear(res);
    ferry_buf_free(&msg);
    if (sent > 0) {
        /* Only once the broker has every task are the chunks marked published. */
        if (ferry_producer_flush(p, 60000, err) != FERRY_OK) {
            sent = -1;
        } else {
            const char *pp[] = {ferry_buf_cstr(&ids)};
            PGresult *r2 = ferry_pg_query(pg,
                                          "UPDATE ferry.backfill_chunks SET published = true,"
                                          " updated_at = now() WHERE chunk_id = ANY($1::text[])",
                                          1, pp, err);
            if (r2)
                PQclear(r2);
            else
                sent = -1;
        }
    }
    ferry_buf_free(&ids);
    return sent;
}

static int connect_pg(const ferry_opts_t *o, const char *app, ferry_pg_t **pg)
{
    ferry_err_t err;
    *pg = ferry_pg_connect(ferry_opts_str(o, "pg"), app, NULL, &err);
    if (!*pg) {
        ferry_error("%s", err.msg);
        return err.status == FERRY_USAGE ? FERRY_EXIT_USAGE : FERRY_EXIT_UNAVAILABLE;
    }
    if (ferry_wcat_setup(*pg, NULL, &err) || ferry_mig_setup(*pg, &err)) {
        ferry_error("%s", err.msg);
        return FERRY_EXIT_FAILED;
    }
    return FERRY_EXIT_OK;
}

static int backfill_plan(int argc, char **argv)
{
    ferry_opts_t *o = ferry_opts_new(
        argv[0], "(--ship SHIP... | --all) [--chunk 24h] [--from TIME] --pg CONNINFO",
        "Splits each ship's history before its cutoff into chunks and publishes one BackfillChunk "
        "task per chunk not planned before. A ship never dual-written gets the time of planning "
        "as its cutoff (recorded in ferry.ship_state).",
        plan_opts);
    int rc;
    if (!ferry_opts_parse_or_exit_code(o, argc, argv, &rc)) {
        ferry_opts_destroy(o);
        return rc;
    }
    const char *const *only;
    size_t nonly = ferry_opts_list(o, "ship", &only);
    int64_t chunk_us = ferry_opts_duration_ms(o, "chunk") * 1000;
    if ((!nonly && !ferry_opts_bool(o, "all")) || !ferry_opts_str(o, "pg") || chunk_us <= 0) {
        fprintf(stderr, "%s: give --ship SHIP or --all, --pg, and a positive --chunk\n", argv[0]);
        ferry_opts_destroy(o);
        return FERRY_EXIT_USAGE;
    }
    int64_t from_us = INT64_MIN;
    ferry_err_t err;
    if (ferry_opts_str(o, "from") &&
        ferry_ts_parse(ferry_opts_str(o, "from"), strlen(ferry_opts_str(o, "from")), FERRY_TS_AUTO,
                       &from_us, &err) != FERRY_OK) {
        fprintf(stderr, "%s: --from: %s\n", argv[0], err.msg);
        ferry_opts_destroy(o);
        return FERRY_EXIT_USAGE;
    }
    ferry_pg_t *pg = NULL;
    ferry_producer_t *p = NULL;
    ferry_narrow_t src;
    memset(&src, 0, sizeof src);
    char **ships = NULL;
    int nships = 0;
    if ((rc = connect_pg(o, "ferry backfill plan", &pg)))
        goto out;
    if (ferry_narrow_open(pg, &src, ferry_opts_str(o, "narrow-table"),
                          ferry_opts_str(o, "narrow-columns"),
                          ferry_opts_str(o, "narrow-time-zone"), FERRY_NARROW_READ, &err)) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_USAGE;
        goto out;
    }
    if (ferry_narrow_ships_or(pg, &src, only, nonly, &ships, &nships, &err)) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_FAILED;
        goto out;
    }
    p = ferry_producer_new(o, NULL, &err);
    if (!p) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_USAGE;
        goto out;
    }
    int64_t total_new = 0;
    ferry_buf_t arr = FERRY_BUF_INIT;
    for (int s = 0; s < nships; s++) {
        const char *ship = ships[s];
        /* the cutoff: dual-write's, or now for a ship never dual-written */
        const char *p1[] = {ship};
        PGresult *res = ferry_pg_query(
            pg,
            "INSERT INTO ferry.ship_state (ship_id, cutoff_ts, first_topic, first_partition,"
            " first_offset) VALUES ($1, now(), '', -1, -1) ON CONFLICT (ship_id) DO NOTHING",
            1, p1, &err);
        if (res)
            PQclear(res);
        char cutoff[32];
        if (!res || ferry_pg_query_value(pg,
                                         "SELECT (extract(epoch FROM cutoff_ts) * 1000000)::bigint"
                                         " FROM ferry.ship_state WHERE ship_id = $1",
                                         1, p1, cutoff, sizeof cutoff, &err)) {
            ferry_error("%s", err.msg);
            rc = FERRY_EXIT_FAILED;
            break;
        }
        int64_t cut_us = strtoll(cutoff, NULL, 10), lo, hi;
        int found;
        if (ferry_narrow_ship_range(pg, &src, ship, &lo, &hi, &found, &err)) {
            ferry_error("%s", err.msg);
            rc = FERRY_EXIT_FAILED;
            break;
        }
        if (!found) {
            ferry_warn("ship %s has no rows in the narrow table: nothing to plan", ship);
            continue;
        }
        if (from_us > lo)
            lo = from_us;
        ferry_buf_t ids = FERRY_BUF_INIT, st = FERRY_BUF_INIT, en = FERRY_BUF_INIT;
        int nchunks = 0;
        /* chunks from the first row's up to the one holding the last row before the cutoff;
         * planning again later extends the plan if more history has arrived */
        int64_t k = (int64_t)floor((double)lo / (double)chunk_us);
        int64_t last = hi < cut_us ? hi : cut_us - 1;
        for (int64_t start = k * chunk_us; start <= last && start < cut_us; start += chunk_us) {
            int64_t end = start + chunk_us < cut_us ? start + chunk_us : cut_us;
            char a[48], b[48];
            ts_text(start, a, sizeof a);
            ts_text(end, b, sizeof b);
            nchunks++;
            ferry_buf_t id = FERRY_BUF_INIT;
            ferry_buf_appendf(&id, "%s|%lld|%lld", ship, (long long)start, (long long)end);
            ferry_pg_array_add(&ids, (const char *)id.data, id.len);
            ferry_buf_free(&id);
            ferry_pg_array_add(&st, a, strlen(a));
            ferry_pg_array_add(&en, b, strlen(b));
        }
        if (nchunks) {
            const char *pp[] = {ship, ferry_pg_array_close(&ids), ferry_pg_array_close(&st),
                                ferry_pg_array_close(&en)};
            res = ferry_pg_query(pg,
                                 "INSERT INTO ferry.backfill_chunks (chunk_id, ship_id, start_ts,"
                                 " end_ts) SELECT id, $1, s, e FROM unnest($2::text[],"
                                 " $3::timestamptz[], $4::timestamptz[]) AS x(id, s, e)"
                                 " ON CONFLICT (chunk_id) DO NOTHING",
                                 4, pp, &err);
            if (!res) {
                ferry_error("%s", err.msg);
                rc = FERRY_EXIT_FAILED;
            } else {
                total_new += strtoll(PQcmdTuples(res), NULL, 10);
                ferry_info("ship %s: %d chunk(s) before its cutoff, %s new", ship, nchunks,
                           PQcmdTuples(res));
                PQclear(res);
            }
        }
        ferry_buf_free(&ids);
        ferry_buf_free(&st);
        ferry_buf_free(&en);
        if (rc)
            break;
        ferry_pg_array_add(&arr, ship, strlen(ship));
    }
    ferry_pg_array_close(&arr);
    if (!rc) {
        int sent = publish_chunks(
            pg, p, ferry_opts_str(o, "topic"), ferry_opts_str(o, "narrow-table"),
            "NOT published AND ship_id = ANY($1::text[])", ferry_buf_cstr(&arr), &err);
        if (sent < 0) {
            ferry_error("publishing tasks: %s", err.msg);
            rc = FERRY_EXIT_FAILED;
        } else {
            ferry_info("planned %lld new chunk(s), published %d task(s) to %s",
                       (long long)total_new, sent, ferry_opts_str(o, "topic"));
        }
    }
    ferry_buf_free(&arr);
out:
    for (int i = 0; i < nships; i++)
        free(ships[i]);
    free(ships);
    ferry_producer_destroy(p);
    ferry_narrow_close(&src);
    ferry_pg_close(pg);
    ferry_opts_destroy(o);
    return rc;
}

static int backfill_retry(int argc, char **argv)
{
    ferry_opts_t *o =
        ferry_opts_new(argv[0], "(--chunk ID... | --failed) --pg CONNINFO",
                       "Re-publishes chosen chunks as tasks (attempts start again).", retry_opts);
    int rc;
    if (!ferry_opts_parse_or_exit_code(o, argc, argv, &rc)) {
        ferry_opts_destroy(o);
        return rc;
    }
    const char *const *ids;
    size_t nids = ferry_opts_list(o, "chunk", &ids);
    if ((!nids && !ferry_opts_bool(o, "failed")) || !ferry_opts_str(o, "pg")) {
        fprintf(stderr, "%s: give --chunk ID or --failed, and --pg\n", argv[0]);
        ferry_opts_destroy(o);
        return FERRY_EXIT_USAGE;
    }
    ferry_pg_t *pg = NULL;
    ferry_producer_t *p = NULL;
    ferry_err_t err;
    ferry_buf_t arr = FERRY_BUF_INIT;
    if ((rc = connect_pg(o, "ferry backfill retry", &pg)))
        goto out;
    p = ferry_producer_new(o, NULL, &err);
    if (!p) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_USAGE;
        goto out;
    }
    for (size_t i = 0; i < nids; i++)
        ferry_pg_array_add(&arr, ids[i], strlen(ids[i]));
    const char *pp[] = {ferry_pg_array_close(&arr)};
    PGresult *res = ferry_pg_query(
        pg,
        nids ? "UPDATE ferry.backfill_chunks SET status = 'planned', published = false,"
               " attempts = 0, last_error = NULL, updated_at = now()"
               " WHERE chunk_id = ANY($1::text[])"
             : "UPDATE ferry.backfill_chunks SET status = 'planned', published = false,"
               " attempts = 0, last_error = NULL, updated_at = now() WHERE status = 'failed'"
               " AND $1::text[] IS NOT NULL",
        1, pp, &err);
    if (!res) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_FAILED;
        goto out;
    }
    int64_t n = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    if (nids && (size_t)n != nids)
        ferry_warn("%lld of %zu chunk id(s) are known", (long long)n, nids);
    int sent = publish_chunks(pg, p, ferry_opts_str(o, "topic"), "telemetry_narrow",
                              "NOT published AND status = 'planned'", NULL, &err);
    if (sent < 0) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_FAILED;
    } else {
        ferry_info("re-published %d chunk(s)", sent);
        if (n == 0)
            rc = FERRY_EXIT_FAILED;
    }
out:
    ferry_buf_free(&arr);
    ferry_producer_destroy(p);
    ferry_pg_close(pg);
    ferry_opts_destroy(o);
    return rc;
}

/* ---- running chunks --------------------------------------------------------------------- */

typedef struct chunk {
    char chunk_id[512];
    char ship[256];
    int64_t start_us, end_us;
} chunk_t;

typedef struct reject {
    char *channel;
    int64_t ts;
    char *value;
    const char *reason;
} reject_t;

typedef struct bworker {
    const ferry_opts_t *o;
    ferry_pg_t *pg; /* writer */
    ferry_pg_t *rd; /* reader (COPY OUT) */
    ferry_wcat_t *cat;
    ferry_narrow_t src;
    ferry_decoder_t *dec; /* BackfillChunk in either Avro framing */
    char worker_id[128];
    reject_t *rejects;
    int nrejects;
    int64_t nrejected;
    char **widen; /* channels whose bigint column met a non-integral value in this chunk */
    int nwiden;
    int fatal;  /* PostgreSQL refused a reconnect for good: exit 3 */
    int failed; /* ferry's state tables cannot be used: exit 1 */
} bworker_t;

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One narrow row from binary COPY: ts, channel, and the four typed value columns. */
typedef struct nrow {
    int64_t ts;
    const char *chan;
    size_t chanlen;
    ferry_reading_t r; /* type and value */
} nrow_t;

/* Parses one CopyData message of `COPY (SELECT ts, channel_id, vd, vl, vb, vt) TO STDOUT
 * (FORMAT binary)`. Returns 1 for a row, 0 for the trailer, -1 on a malformed message. */
static int parse_row(const unsigned char *d, size_t len, int *first, nrow_t *row)
{
    size_t off = 0;
    if (*first) {
        if (len < 19 || memcmp(d, "PGCOPY\n\377\r\n", 11) != 0)
            return -1;
        off = 19 + be32(d + 15);
        *first = 0;
    }
    if (len - off < 2)
        return -1;
    int16_t nf = (int16_t)((d[off] << 8) | d[off + 1]);
    off += 2;
    if (nf == -1)
        return 0;
    if (nf != 6)
        return -1;
    const unsigned char *f[6];
    int32_t fl[6];
    for (int i = 0; i < 6; i++) {
        if (len - off < 4)
            return -1;
        fl[i] = (int32_t)be32(d + off);
        off += 4;
        f[i] = d + off;
        if (fl[i] > 0) {
            if ((size_t)fl[i] > len - off)
                return -1;
            off += (size_t)fl[i];
        }
    }
    if (fl[0] != 8 || fl[1] < 0)
        return -1;
    memset(row, 0, sizeof *row);
    row->ts = (int64_t)be64(f[0]) + PG_EPOCH_US;
    row->chan = (const char *)f[1];
    row->chanlen = (size_t)fl[1];
    row->r.ts_us = row->ts;
    if (fl[2] == 8) {
        uint64_t u = be64(f[2]);
        row->r.type = FERRY_VALUE_DOUBLE;
        memcpy(&row->r.v.d, &u, 8);
    } else if (fl[3] == 8) {
        row->r.type = FERRY_VALUE_LONG;
        row->r.v.l = (int64_t)be64(f[3]);
    } else if (fl[4] == 1) {
        row->r.type = FERRY_VALUE_BOOL;
        row->r.v.b = f[4][0] != 0;
    } else if (fl[5] >= 0) {
        row->r.type = FERRY_VALUE_STRING;
        row->r.v.s = (ferry_str_t){(const char *)f[5], (size_t)fl[5]};
    } else {
        row->r.type = FERRY_VALUE_NULL;
    }
    return 1;
}

static void add_reject(bworker_t *w, const nrow_t *row, const char *reason)
{
    w->nrejected++;
    if (w->nrejects >= MAX_REJECTS_KEPT)
        return;
    w->rejects = ferry_xrealloc(w->rejects, (size_t)(w->nrejects + 1), sizeof *w->rejects);
    reject_t *r = &w->rejects[w->nrejects++];
    r->channel = ferry_xstrndup(row->chan, row->chanlen);
    r->ts = row->ts;
    ferry_buf_t v = FERRY_BUF_INIT;
    ferry_value_append_text(&row->r, &v);
    r->value = ferry_xstrndup(ferry_buf_cstr(&v), v.len);
    ferry_buf_free(&v);
    r->reason = reason;
}

static void want_widen(bworker_t *w, const char *channel)
{
    for (int i = 0; i < w->nwiden; i++)
        if (strcmp(w->widen[i], channel) == 0)
            return;
    w->widen = ferry_xrealloc(w->widen, (size_t)(w->nwiden + 1), sizeof *w->widen);
    w->widen[w->nwiden++] = ferry_xstrndup(channel, strlen(channel));
}

static void clear_rejects(bworker_t *w)
{
    for (int i = 0; i < w->nrejects; i++) {
        free(w->rejects[i].channel);
        free(w->rejects[i].value);
    }
    w->nrejects = 0;
    w->nrejected = 0;
}

/* Sets the chunk's coordinates as settings of the reader's transaction, so the COPY query
 * reads them with current_setting(): COPY takes no parameters, and values never go into
 * SQL text. */
static ferry_status set_chunk_settings(ferry_pg_t *pg, const chunk_t *c, const char *channels,
                                       ferry_err_t *err)
{
    char a[48], b[48];
    ferry_mig_ts_param(c->start_us, a, sizeof a);
    ferry_mig_ts_param(c->end_us, b, sizeof b);
    const char *p[] = {c->ship, a, b, channels};
    PGresult *res = ferry_pg_query(pg,
                                   "SELECT set_config('ferry.bf_ship', $1, true),"
                                   " set_config('ferry.bf_from', $2, true),"
                                   " set_config('ferry.bf_to', $3, true),"
                                   " set_config('ferry.bf_channels', $4, true),"
                                   /* a streaming read gains nothing from JIT compilation,
                                    * which costs up to 0.2 s per chunk */
                                   " set_config('jit', 'off', true)",
                                   4, p, err);
    if (!res)
        return err->status;
    PQclear(res);
    return FERRY_OK;
}

/* Makes sure every channel that has values in the chunk has a column (new history-only
 * channels get one, typed by their first value in the chunk). */
static ferry_status ensure_columns(bworker_t *w, const chunk_t *c, ferry_wship_t *ship,
                                   ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT, ws = FERRY_BUF_INIT;
    const ferry_narrow_t *s = &w->src;
    /* the ship's channels by a loose index scan, then each one's first value in the chunk */
    ferry_narrow_where_ship(s, "$1", &ws);
    ferry_buf_appendf(&sql,
                      "WITH RECURSIVE ch AS ((SELECT n.%s AS c FROM %s n WHERE %s ORDER BY 1"
                      " LIMIT 1) UNION ALL SELECT (SELECT n.%s FROM %s n WHERE %s AND n.%s > ch.c"
                      " ORDER BY 1 LIMIT 1) FROM ch WHERE ch.c IS NOT NULL)"
                      " SELECT ch.c::text, f.t FROM ch CROSS JOIN LATERAL (SELECT CASE WHEN"
                      " x.value_double IS NOT NULL THEN 1 WHEN x.value_long IS NOT NULL THEN 2"
                      " WHEN x.value_bool IS NOT NULL THEN 3 WHEN x.value_text IS NOT NULL THEN 4"
                      " END t FROM (",
                      s->channel.q, s->table, ferry_buf_cstr(&ws), s->channel.q, s->table,
                      ferry_buf_cstr(&ws), s->channel.q);
    ferry_narrow_filter_t f = {
        .ship = "$1", .channel = "ch.c", .from = "$2", .to = "$3", .values_only = 1};
    ferry_narrow_select(s, &f, &sql);
    ferry_buf_append_str(&sql, ") x WHERE coalesce(x.value_double::text, x.value_long::text,"
                               " x.value_bool::text, x.value_text) IS NOT NULL ORDER BY x.ts"
                               " LIMIT 1) f WHERE ch.c IS NOT NULL");
    ferry_buf_free(&ws);
    char a[48], b[48];
    ferry_mig_ts_param(c->start_us, a, sizeof a);
    ferry_mig_ts_param(c->end_us, b, sizeof b);
    const char *p[] = {c->ship, a, b};
    PGresult *res = ferry_pg_query(w->pg, ferry_buf_cstr(&sql), 3, p, err);
    ferry_buf_free(&sql);
    if (!res)
        return err->status;
    ferry_wneed_t *needs = NULL;
    int n = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *chan = PQgetvalue(res, i, 0);
        if (ferry_map_get(ship->cols, chan, strlen(chan)))
            continue;
        needs = ferry_xrealloc(needs, (size_t)(n + 1), sizeof *needs);
        needs[n].ship = ship;
        needs[n].channel = ferry_xstrndup(chan, strlen(chan));
        needs[n].type = ferry_wtype_for_value((ferry_value_type)atoi(PQgetvalue(res, i, 1)));
        needs[n].widen = 0;
        n++;
    }
    PQclear(res);
    ferry_status st = ferry_wcat_ensure(w->cat, w->pg, needs, n, err);
    for (int i = 0; i < n; i++)
        free((char *)needs[i].channel);
    free(needs);
    return st;
}

typedef struct part_ctx {
    ferry_wcol_t **cols; /* by position in the staging table */
    int ncols;
    int *has;
    nrow_t *cells; /* value per position for the current timestamp */
    char **texts;  /* copies of text values of the current row */
} part_ctx_t;

static void collect_part_cols(const void *k, size_t l, void *v, void *opaque)
{
    part_ctx_t *pc = opaque;
    ferry_wcol_t *c = v;
    if (c->stmt_idx == -2) { /* marked: belongs to this part */
        c->stmt_idx = pc->ncols;
        pc->cols[pc->ncols++] = c;
    }
}

typedef struct mark_ctx {
    int table;
    int count;
} mark_ctx_t;

static void mark_part_cols(const void *k, size_t l, void *v, void *opaque)
{
    mark_ctx_t *m = opaque;
    ferry_wcol_t *c = v;
    c->stmt_idx = c->table == m->table ? -2 : -1;
    m->count += c->table == m->table;
}

/* Emits the current wide row (ts + one field per column) into the staging COPY. */
static void emit_row(ferry_copy_t *cp, part_ctx_t *pc, int64_t ts, int64_t *cells)
{
    ferry_copy_row(cp, (int16_t)(pc->ncols + 1));
    ferry_copy_timestamptz(cp, ts);
    for (int i = 0; i < pc->ncols; i++) {
        if (!pc->has[i]) {
            ferry_copy_null(cp);
            continue;
        }
        const ferry_reading_t *r = &pc->cells[i].r;
        (*cells)++;
        switch (pc->cols[i]->type) {
        case FERRY_W_DOUBLE:
            ferry_copy_float8(cp, r->type == FERRY_VALUE_LONG ? (double)r->v.l : r->v.d);
            break;
        case FERRY_W_BIGINT:
            ferry_copy_int8(cp, r->type == FERRY_VALUE_DOUBLE ? (int64_t)r->v.d : r->v.l);
            break;
        case FERRY_W_BOOL:
            ferry_copy_bool(cp, r->v.b);
            break;
        case FERRY_W_TEXT:
            ferry_copy_text(cp, pc->texts[i], strlen(pc->texts[i]));
            break;
        }
        pc->has[i] = 0;
    }
}

/* Streams one part table's columns of the chunk: narrow COPY OUT -> pivot -> staging COPY IN,
 * then merges staging into the wide table. Runs inside the writer's open transaction. */
static ferry_status do_part(bworker_t *w, const chunk_t *c, ferry_wship_t *ship, int t,
                            int64_t *rows_read, int64_t *cells, ferry_err_t *err)
{
    mark_ctx_t m = {t, 0};
    ferry_map_foreach(ship->cols, mark_part_cols, &m);
    if (m.count == 0)
        return FERRY_OK;
    part_ctx_t pc = {0};
    pc.cols = ferry_xcalloc((size_t)m.count, sizeof *pc.cols);
    ferry_map_foreach(ship->cols, collect_part_cols, &pc);
    pc.has = ferry_xcalloc((size_t)pc.ncols, sizeof *pc.has);
    pc.cells = ferry_xcalloc((size_t)pc.ncols, sizeof *pc.cells);
    pc.texts = ferry_xcalloc((size_t)pc.ncols, sizeof *pc.texts);
    ferry_status st = FERRY_OK;
    ferry_buf_t sql = FERRY_BUF_INIT, chans = FERRY_BUF_INIT;
    const char *wide = ship->tables[t].name;
    /* staging table: same columns as the wide table, no constraints */
    ferry_buf_appendf(&sql, "CREATE TEMP TABLE ferry_bf_stage (LIKE ");
    ferry_pg_append_ident(&sql, w->cat->wide_schema);
    ferry_buf_append_byte(&sql, '.');
    ferry_pg_append_ident(&sql, wide);
    ferry_buf_append_str(&sql, ") ON COMMIT DROP");
    if ((st = ferry_pg_exec(w->pg, ferry_buf_cstr(&sql), err)))
        goto out;
    ferry_buf_reset(&sql);
    ferry_buf_append_str(&sql, "COPY ferry_bf_stage (ts");
    for (int i = 0; i < pc.ncols; i++) {
        ferry_buf_append_str(&sql, ", ");
        ferry_pg_append_ident(&sql, pc.cols[i]->column);
        ferry_pg_array_add(&chans, pc.cols[i]->channel, strlen(pc.cols[i]->channel));
    }
    ferry_pg_array_close(&chans);
    ferry_buf_append_str(&sql, ") FROM STDIN (FORMAT binary)");
    ferry_copy_t *in = ferry_copy_begin(w->pg, ferry_buf_cstr(&sql), err);
    if (!in) {
        st = err->status;
        goto out;
    }
    /* reader: the chunk's narrow rows of these channels, in time order */
    if ((st = ferry_pg_exec(w->rd, "BEGIN READ ONLY", err)) ||
        (st = set_chunk_settings(w->rd, c, ferry_buf_cstr(&chans), err))) {
        ferry_copy_abort(in, "reader failed");
        goto out;
    }
    ferry_buf_reset(&sql);
    ferry_buf_append_str(&sql, "COPY (SELECT x.ts, x.channel_id, x.value_double, x.value_long,"
                               " x.value_bool, x.value_text FROM (");
    /* Always by channel, also for a ship with one wide table: the narrow table is usually
     * indexed (ship, channel, ts) and years long, so ship + time alone would scan all of the
     * ship's history for every chunk, while ship + channel + time ranges the index once per
     * channel. The channels go as a set, not "= ANY(array)": COPY takes no parameters, so the
     * array is not a constant at plan time and ANY, evaluated as a filter, compares each row
     * with every channel in turn (no hashed lookup). */
    ferry_narrow_filter_t nf = {.ship = "current_setting('ferry.bf_ship')",
                                .channels = "current_setting('ferry.bf_channels')",
                                .from = "current_setting('ferry.bf_from')",
                                .to = "current_setting('ferry.bf_to')"};
    ferry_narrow_select(&w->src, &nf, &sql);
    ferry_buf_append_str(&sql, ") x");
    ferry_buf_append_str(&sql, " ORDER BY x.ts) TO STDOUT (FORMAT binary)");
    if ((st = ferry_pg_copy_out_begin(w->rd, ferry_buf_cstr(&sql), err))) {
        ferry_copy_abort(in, "reader failed");
        ferry_pg_exec(w->rd, "ROLLBACK", NULL);
        goto out;
    }
    PGresult *res;
    int first = 1, have_row = 0;
    int64_t cur_ts = 0;
    char *buf = NULL;
    int len;
    while ((len = ferry_pg_copy_out_next(w->rd, &buf)) > 0) {
        nrow_t row;
        int k = parse_row((const unsigned char *)buf, (size_t)len, &first, &row);
        if (k < 0) {
            PQfreemem(buf);
            st = ferry_err_set(err, FERRY_FATAL, "malformed COPY data from the narrow table");
            break;
        }
        if (k == 0) {
            PQfreemem(buf);
            continue;
        }
        (*rows_read)++;
        if (have_row && row.ts != cur_ts)
            emit_row(in, &pc, cur_ts, cells);
        cur_ts = row.ts;
        have_row = 1;
        /* A channel without a column here is another table's, or one dual-write added
         * since ensure_columns (it wrote that reading into the wide table itself). */
        ferry_wcol_t *col = row.r.type != FERRY_VALUE_NULL
                                ? ferry_map_get(ship->cols, row.chan, row.chanlen)
                                : NULL;
        if (col && col->table == t) {
            int f = ferry_wtype_fits(col->type, &row.r);
            if (f > 0 && !col->widen_refused)
                want_widen(w, col->channel);
            if (f != 0) {
                add_reject(w, &row, f > 0 ? "fraction_in_bigint_column" : "type_conflict");
            } else {
                int i = col->stmt_idx;
                if (!pc.has[i]) { /* duplicate (ts, channel) cannot happen: primary key */
                    pc.has[i] = 1;
                    pc.cells[i] = row;
                    if (row.r.type == FERRY_VALUE_STRING) {
                        free(pc.texts[i]);
                        pc.texts[i] = ferry_xstrndup(row.r.v.s.ptr, row.r.v.s.len);
                    }
                }
            }
        }
        PQfreemem(buf);
        if (!ferry_running()) {
            st = ferry_err_set(err, FERRY_RETRY, "stopped");
            break;
        }
    }
    if (st == FERRY_OK && len == 0)
        st = ferry_err_set(err, FERRY_RETRY, "stopped");
    if (st == FERRY_OK && len == -2)
        st = ferry_err_set(err, FERRY_RETRY, "COPY OUT: %s", PQerrorMessage(ferry_pg_conn(w->rd)));
    if (len >= 0) { /* stopped mid-stream: cancel the COPY rather than read the rest */
        ferry_debug("chunk %s: stopping the narrow COPY after %lld rows", c->chunk_id,
                    (long long)*rows_read);
        ferry_pg_copy_out_stop(w->rd);
        ferry_debug("chunk %s: narrow COPY stopped", c->chunk_id);
        ferry_pg_exec(w->rd, "ROLLBACK", NULL);
        ferry_copy_abort(in, "reader stopped");
        goto out;
    }
    /* drain the reader */
    while ((res = PQgetResult(ferry_pg_conn(w->rd))) != NULL) {
        if (st == FERRY_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
            st = ferry_pg_classify(w->rd, res, "COPY OUT", err);
        PQclear(res);
    }
    ferry_pg_exec(w->rd, "ROLLBACK", NULL);
    if (st) {
        ferry_copy_abort(in, "reader failed");
        goto out;
    }
    if (have_row)
        emit_row(in, &pc, cur_ts, cells);
    if ((st = ferry_copy_end(in, NULL, err)))
        goto out;
    /* merge: a cell already there (dual-write) is never replaced */
    ferry_buf_reset(&sql);
    ferry_buf_append_str(&sql, "INSERT INTO ");
    ferry_pg_append_ident(&sql, w->cat->wide_schema);
    ferry_buf_append_byte(&sql, '.');
    ferry_pg_append_ident(&sql, wide);
    ferry_buf_append_str(&sql,
                         " AS t SELECT * FROM ferry_bf_stage ON CONFLICT (ts) DO UPDATE SET ");
    for (int i = 0; i < pc.ncols; i++) {
        const char *col = pc.cols[i]->column;
        if (i)
            ferry_buf_append_str(&sql, ", ");
        ferry_pg_append_ident(&sql, col);
        ferry_buf_append_str(&sql, " = COALESCE(t.");
        ferry_pg_append_ident(&sql, col);
        ferry_buf_append_str(&sql, ", EXCLUDED.");
        ferry_pg_append_ident(&sql, col);
        ferry_buf_append_byte(&sql, ')');
    }
    ferry_buf_append_str(&sql, " WHERE ");
    for (int i = 0; i < pc.ncols; i++) {
        const char *col = pc.cols[i]->column;
        if (i)
            ferry_buf_append_str(&sql, " OR ");
        ferry_buf_append_str(&sql, "(t.");
        ferry_pg_append_ident(&sql, col);
        ferry_buf_append_str(&sql, " IS NULL AND EXCLUDED.");
        ferry_pg_append_ident(&sql, col);
        ferry_buf_append_str(&sql, " IS NOT NULL)");
    }
    ferry_buf_append_str(&sql, "; DROP TABLE ferry_bf_stage");
    st = ferry_pg_exec(w->pg, ferry_buf_cstr(&sql), err);
out:
    for (int i = 0; i < pc.ncols; i++)
        free(pc.texts[i]);
    free(pc.texts);
    free(pc.cells);
    free(pc.has);
    free(pc.cols);
    ferry_buf_free(&sql);
    ferry_buf_free(&chans);
    return st;
}

static ferry_status write_rejects(bworker_t *w, const chunk_t *c, ferry_err_t *err)
{
    for (int i = 0; i < w->nrejects; i++) {
        char ts[48];
        ferry_mig_ts_param(w->rejects[i].ts, ts, sizeof ts);
        const char *p[] = {c->chunk_id,           c->ship,
                           w->rejects[i].channel, ts,
                           w->rejects[i].value,   w->rejects[i].reason};
        PGresult *res = ferry_pg_query(w->pg,
                                       "INSERT INTO ferry.backfill_rejects VALUES ($1, $2, $3,"
                                       " $4::timestamptz, $5, $6) ON CONFLICT DO NOTHING",
                                       6, p, err);
        if (!res)
            return err->status;
        PQclear(res);
    }
    return FERRY_OK;
}

/* The whole chunk in one writer transaction. */
/* Widens the bigint columns of the channels in w->widen (where lossless) and forgets them. */
static ferry_status widen_columns(bworker_t *w, ferry_wship_t *ship, ferry_err_t *err)
{
    ferry_wneed_t *needs = ferry_xcalloc((size_t)w->nwiden, sizeof *needs);
    for (int i = 0; i < w->nwiden; i++)
        needs[i] = (ferry_wneed_t){ship, w->widen[i], FERRY_W_DOUBLE, 1};
    ferry_status st = ferry_wcat_ensure(w->cat, w->pg, needs, w->nwiden, err);
    free(needs);
    for (int i = 0; i < w->nwiden; i++)
        free(w->widen[i]);
    w->nwiden = 0;
    return st;
}

static ferry_status do_chunk(bworker_t *w, const chunk_t *c, ferry_err_t *err)
{
    int64_t t0 = ferry_mono_ms(), rows, cells;
    ferry_status st;
    for (int pass = 0;; pass++) {
        rows = cells = 0;
        clear_rejects(w);
        char *ships[] = {(char *)c->ship};
        if ((st = ferry_wcat_load(w->cat, w->pg, ships, 1, err)))
            return st;
        ferry_wship_t *ship = ferry_wcat_ship(w->cat, c->ship, strlen(c->ship));
        if ((st = ensure_columns(w, c, ship, err)) || (st = ferry_pg_exec(w->pg, "BEGIN", err)))
            return st;
        for (int t = 0; t < ship->ntables && !st; t++)
            st = do_part(w, c, ship, t, &rows, &cells, err);
        if (st || w->nwiden == 0 || pass > 0)
            break;
        /* Non-integral history values of bigint columns: widen those columns (when lossless)
         * and do the chunk again, once, rather than reject the values. */
        ferry_pg_exec(w->pg, "ROLLBACK", NULL);
        if ((st = widen_columns(w, ship, err)))
            return st;
    }
    for (int i = 0; i < w->nwiden; i++)
        free(w->widen[i]);
    w->nwiden = 0;
    if (!st)
        st = write_rejects(w, c, err);
    if (!st) {
        char r[24], ce[24], rj[24], d[24];
        snprintf(r, sizeof r, "%lld", (long long)rows);
        snprintf(ce, sizeof ce, "%lld", (long long)cells);
        snprintf(rj, sizeof rj, "%lld", (long long)w->nrejected);
        snprintf(d, sizeof d, "%lld", (long long)(ferry_mono_ms() - t0));
        const char *p[] = {c->chunk_id, r, ce, rj, d, w->worker_id};
        PGresult *res = ferry_pg_query(
            w->pg,
            "UPDATE ferry.backfill_chunks SET status = 'done', rows_read = $2::bigint,"
            " cells_written = $3::bigint, rejected = $4::bigint, duration_ms = $5::bigint,"
            " worker = $6, last_error = NULL, updated_at = now() WHERE chunk_id = $1",
            6, p, err);
        if (res)
            PQclear(res);
        else
            st = err->status;
    }
    if (!st)
        st = ferry_pg_exec(w->pg, "COMMIT", err);
    if (st) {
        ferry_pg_exec(w->pg, "ROLLBACK", NULL);
        return st;
    }
    ferry_info("chunk %s: %lld narrow rows -> %lld cells in %lld ms%s", c->chunk_id,
               (long long)rows, (long long)cells, (long long)(ferry_mono_ms() - t0),
               w->nrejected ? " (some cells rejected: see ferry.backfill_rejects)" : "");
    return FERRY_OK;
}

/* FERRY_OK; FERRY_POISON for a bad task; FERRY_FATAL (a registry-framed task without a
 * usable registry) or FERRY_RETRY (a stop while waiting for the registry). */
static ferry_status decode_task(bworker_t *w, const rd_kafka_message_t *m, chunk_t *c,
                                ferry_err_t *err)
{
    avro_value_t v; /* borrowed from the decoder */
    int rc = FERRY_POISON;
    if (!m->payload)
        ferry_err_set(err, FERRY_POISON, "empty record value");
    else
        rc = ferry_decoder_value_wait(w->dec, m->payload, m->len, &v, NULL,
                                      rd_kafka_topic_name(m->rkt), err);
    if (rc != FERRY_OK) {
        const ferry_schema_t *ws = ferry_decoder_last_writer(w->dec);
        if (rc == FERRY_POISON && m->payload && ws &&
            strcmp(ferry_schema_name(ws), "BackfillChunk") != 0)
            ferry_err_set(err, FERRY_POISON, "not a BackfillChunk but %s", ferry_schema_name(ws));
        return (ferry_status)rc;
    }
    json_t *j = ferry_avro_to_json_err(&v, err);
    if (!j)
        return FERRY_POISON;
    snprintf(c->chunk_id, sizeof c->chunk_id, "%s",
             json_string_value(json_object_get(j, "chunk_id")));
    snprintf(c->ship, sizeof c->ship, "%s", json_string_value(json_object_get(j, "ship_id")));
    c->start_us = json_integer_value(json_object_get(j, "start_ts"));
    c->end_us = json_integer_value(json_object_get(j, "end_ts"));
    json_decref(j);
    return FERRY_OK;
}

/* Reconnects both connections, waiting with backoff while PostgreSQL is away. A failure that
 * waiting cannot fix (wrong password, the database gone) stops the worker: w->fatal is set
 * and a stop requested, and the worker exits 3. */
static void reconnect_all(bworker_t *w)
{
    ferry_err_t err;
    while (ferry_running()) {
        if (ferry_pg_reconnect(w->pg, &err) == FERRY_OK &&
            ferry_pg_reconnect(w->rd, &err) == FERRY_OK) {
            ferry_wcat_forget(w->cat);
            ferry_info("PostgreSQL is back");
            return;
        }
        if (err.status == FERRY_FATAL) {
            ferry_error("%s; stopping (fix the connection settings, then start the worker again)",
                        err.msg);
            w->fatal = 1;
            ferry_request_stop();
            return;
        }
        ferry_sleep_ms(1000);
    }
}

/* Handles one task. Returns FERRY_OK when its offset may be committed. */
static ferry_status handle_task(bworker_t *w, ferry_dlq_t *dlq, const rd_kafka_message_t *m,
                                int max_attempts)
{
    ferry_err_t err;
    chunk_t c;
    ferry_status ds = decode_task(w, m, &c, &err);
    if (ds == FERRY_FATAL || ds == FERRY_RETRY) {
        if (ds == FERRY_FATAL) {
            ferry_error("%s; stopping", err.msg);
            w->failed = 1;
            ferry_request_stop();
        }
        return FERRY_RETRY; /* not committed */
    }
    if (ds != FERRY_OK) {
        ferry_warn("bad task at offset %lld: %s", (long long)m->offset, err.msg);
        char why[sizeof err.msg];
        snprintf(why, sizeof why, "%s", err.msg);
        ferry_dlq_put(dlq, m, FERRY_POISON, "undecodable", why, &err);
        if (ferry_dlq_sync(dlq, &err) != FERRY_OK)
            return FERRY_RETRY;
        return FERRY_OK;
    }
    for (;;) {
        if (!ferry_running())
            return FERRY_RETRY;
        /* A chunk rolled back or already done is skipped: tasks can outlive their chunk. */
        char status[32], attempts[16];
        const char *p[] = {c.chunk_id};
        if (ferry_pg_query_value(w->pg,
                                 "UPDATE ferry.backfill_chunks SET attempts = attempts + 1,"
                                 " updated_at = now() WHERE chunk_id = $1 AND status <> 'done'"
                                 " RETURNING attempts",
                                 1, p, attempts, sizeof attempts, &err) != FERRY_OK) {
            if (err.status == FERRY_FATAL && ferry_pg_ok(w->pg)) {
                /* not the connection: ferry's state tables are broken or gone */
                ferry_error("%s; stopping", err.msg);
                w->failed = 1;
                ferry_request_stop();
                return FERRY_RETRY;
            }
            ferry_warn("%s; reconnecting", err.msg);
            reconnect_all(w);
            continue;
        }
        if (!attempts[0]) {
            ferry_pg_query_value(w->pg,
                                 "SELECT status FROM ferry.backfill_chunks WHERE chunk_id = $1", 1,
                                 p, status, sizeof status, &err);
            ferry_info("chunk %s is %s: skipped", c.chunk_id, status[0] ? status : "unknown");
            return FERRY_OK;
        }
        ferry_status st = do_chunk(w, &c, &err);
        if (st == FERRY_OK)
            return FERRY_OK;
        if (!ferry_running() && ferry_pg_ok(w->pg)) {
            /* stopped (SIGINT/SIGTERM) in the middle: not the chunk's fault, and not done;
             * its offset stays uncommitted, so whoever takes the partition redoes it */
            ferry_pg_query_value(w->pg,
                                 "UPDATE ferry.backfill_chunks SET attempts = attempts - 1"
                                 " WHERE chunk_id = $1 RETURNING attempts",
                                 1, p, attempts, sizeof attempts, NULL);
            ferry_info("chunk %s: stopped before it was done; it will be redone", c.chunk_id);
            return FERRY_RETRY;
        }
        if (st == FERRY_RETRY && (!ferry_pg_ok(w->pg) || !ferry_pg_ok(w->rd))) {
            ferry_warn("chunk %s: %s; reconnecting", c.chunk_id, err.msg);
            reconnect_all(w);
            /* a connection loss is not the chunk's fault */
            ferry_pg_query_value(w->pg,
                                 "UPDATE ferry.backfill_chunks SET attempts = attempts - 1"
                                 " WHERE chunk_id = $1 RETURNING attempts",
                                 1, p, attempts, sizeof attempts, NULL);
            continue;
        }
        int n = atoi(attempts);
        const char *pe[] = {c.chunk_id, err.msg};
        ferry_err_t e2;
        PGresult *res = ferry_pg_query(w->pg,
                                       "UPDATE ferry.backfill_chunks SET last_error = $2,"
                                       " updated_at = now() WHERE chunk_id = $1",
                                       2, pe, &e2);
        if (res)
            PQclear(res);
        ferry_warn("chunk %s failed (attempt %d of %d): %s", c.chunk_id, n, max_attempts, err.msg);
        if (n >= max_attempts) {
            res = ferry_pg_query(w->pg,
                                 "UPDATE ferry.backfill_chunks SET status = 'failed' WHERE"
                                 " chunk_id = $1",
                                 1, p, &e2);
            if (res)
                PQclear(res);
            /* the task's offset is committed only once its DLQ record is safe */
            ferry_dlq_put(dlq, m, FERRY_FATAL, "chunk_failed", err.msg, &e2);
            if (ferry_dlq_sync(dlq, &e2) != FERRY_OK)
                return FERRY_RETRY;
            ferry_error("chunk %s sent to the DLQ after %d attempts", c.chunk_id, n);
            return FERRY_OK;
        }
        ferry_sleep_ms(500 * n);
    }
}

static int backfill_run(int argc, char **argv)
{
    ferry_opts_t *o = ferry_opts_new(
        argv[0], "--pg CONNINFO [options]",
        "Consumer-group worker: backfills the chunks published by `ferry backfill plan` from the "
        "narrow table into the wide tables. Run more processes with the same --group to scale "
        "out.",
        run_opts);
    int rc;
    if (!ferry_opts_parse_or_exit_code(o, argc, argv, &rc)) {
        ferry_opts_destroy(o);
        return rc;
    }
    if (!ferry_opts_str(o, "pg")) {
        fprintf(stderr, "%s: --pg is required\n", argv[0]);
        ferry_opts_destroy(o);
        return FERRY_EXIT_USAGE;
    }
    bworker_t w = {0};
    w.o = o;
    ferry_err_t err;
    ferry_dlq_t *dlq = NULL;
    ferry_consumer_t *c = NULL;
    if (!(w.dec = ferry_decoder_from_opts(o, ferry_schema_get("BackfillChunk"), &err))) {
        ferry_error("%s", err.msg);
        ferry_opts_destroy(o);
        return FERRY_EXIT_USAGE;
    }
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(w.worker_id, sizeof w.worker_id, "%s:%d", host, (int)getpid());
    /* application names carry the pid, so an operator can tell the workers apart */
    char app[64];
    snprintf(app, sizeof app, "ferry backfill run %d", (int)getpid());
    if ((rc = connect_pg(o, app, &w.pg)))
        goto out;
    ferry_pg_retry_t retry = {200, 10000, 60000};
    snprintf(app, sizeof app, "ferry backfill reader %d", (int)getpid());
    w.rd = ferry_pg_connect(ferry_opts_str(o, "pg"), app, &retry, &err);
    if (!w.rd) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_UNAVAILABLE;
        goto out;
    }
    if (ferry_narrow_open(w.pg, &w.src, ferry_opts_str(o, "narrow-table"),
                          ferry_opts_str(o, "narrow-columns"),
                          ferry_opts_str(o, "narrow-time-zone"), FERRY_NARROW_READ, &err) ||
        ferry_wcat_setup(w.pg, ferry_opts_str(o, "wide-schema"), &err)) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_USAGE;
        goto out;
    }
    w.cat = ferry_wcat_new(ferry_opts_str(o, "wide-schema"), (int)ferry_opts_int(o, "max-columns"));
    dlq = ferry_dlq_new(o, &err);
    static const char *const cdefaults[] = {"max.poll.interval.ms", "3600000", NULL};
    ferry_consumer_conf_t cc = {0};
    cc.defaults = cdefaults;
    const char *topic = ferry_opts_str(o, "topic");
    if (dlq)
        c = ferry_consumer_new(o, ferry_opts_str(o, "group"), &topic, 1, &cc, &err);
    if (!dlq || !c) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_USAGE;
        goto out;
    }
    ferry_until_idle_t idle;
    ferry_until_idle_init(&idle, o, ferry_opts_str(o, "group"), topic);
    int64_t done = 0;
    int max_attempts = (int)ferry_opts_int(o, "max-attempts");
    while (ferry_running()) {
        rd_kafka_message_t *m = ferry_consumer_poll(c, 200, &err);
        if (ferry_until_idle_done(&idle, c, m != NULL))
            break;
        if (!m)
            continue;
        if (handle_task(&w, dlq, m, max_attempts) == FERRY_OK) {
            ferry_consumer_store(c, m, NULL);
            if (ferry_consumer_commit(c, &err) != FERRY_OK)
                ferry_warn("%s (the chunk is written; redoing it is harmless)", err.msg);
            done++;
        }
        rd_kafka_message_destroy(m);
    }
    ferry_until_idle_free(&idle);
    ferry_info("done: %lld task(s) handled", (long long)done);
    if (w.fatal)
        rc = FERRY_EXIT_UNAVAILABLE;
    else if (w.failed)
        rc = FERRY_EXIT_FAILED;
out:
    ferry_consumer_close(c, NULL);
    ferry_dlq_destroy(dlq);
    clear_rejects(&w);
    free(w.rejects);
    free(w.widen);
    ferry_wcat_destroy(w.cat);
    ferry_narrow_close(&w.src);
    ferry_pg_close(w.rd);
    ferry_pg_close(w.pg);
    ferry_decoder_free(w.dec);
    ferry_opts_destroy(o);
    return rc;
}

int cmd_backfill(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        FILE *fp = sub ? stdout : stderr;
        fprintf(fp, "Usage: ferry backfill plan|run|retry [options]\n\n"
                    "Copies ship history from the narrow table into the wide tables, as chunk\n"
                    "tasks on a Kafka topic handled by a consumer group of workers.\n\n"
                    "  plan    publish chunk tasks for ships' history before their cutoff\n"
                    "  run     worker: backfill the published chunks\n"
                    "  retry   re-publish chosen chunks (--chunk ID, --failed)\n\n"
                    "See `ferry backfill <sub> --help`.\n");
        return sub ? FERRY_EXIT_OK : FERRY_EXIT_USAGE;
    }
    char prog[64];
    snprintf(prog, sizeof prog, "ferry backfill %s", sub);
    argv[1] = prog;
    if (!strcmp(sub, "plan"))
        return backfill_plan(argc - 1, argv + 1);
    if (!strcmp(sub, "run"))
        return backfill_run(argc - 1, argv + 1);
    if (!strcmp(sub, "retry"))
        return backfill_retry(argc - 1, argv + 1);
    fprintf(stderr, "ferry backfill: unknown subcommand '%s' (plan, run, retry)\n", sub);
    return FERRY_EXIT_USAGE;
}
