/* plan.c - `ferry backfill plan` and `ferry backfill retry`.
 *
 * plan:  splits each ship's history before its cutoff (ferry.ship_state; a ship never
 *        dual-written gets the planning time as its cutoff) into chunks aligned to the chunk
 *        size, records them in ferry.backfill_chunks and publishes one BackfillChunk per chunk
 *        not published before. Planning again publishes nothing new.
 * retry: re-publishes chosen chunks (--chunk ID, or --failed). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "ferry/avro.h"
#include "ferry/command.h"
#include "ferry/kafka.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/migration.h"
#include "ferry/timeparse.h"
#include "ferry/topics.h"

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
                              (json_int_t)ferry_clock_now_us(), "attempt",
                              atoi(PQgetvalue(res, i, 4)), "narrow_table", narrow_table);
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

/* ---- plan ------------------------------------------------------------------------------- */

/* The cutoff of a ship in microseconds: dual-write's, or now for a ship never dual-written
 * (recorded then). */
static ferry_status ship_cutoff(ferry_pg_t *pg, const char *ship, int64_t *cut_us, ferry_err_t *err)
{
    const char *p1[] = {ship};
    PGresult *res = ferry_pg_query(
        pg,
        "INSERT INTO ferry.ship_state (ship_id, cutoff_ts, first_topic, first_partition,"
        " first_offset) VALUES ($1, now(), '', -1, -1) ON CONFLICT (ship_id) DO NOTHING",
        1, p1, err);
    if (!res)
        return err->status;
    PQclear(res);
    char cutoff[32];
    ferry_status st =
        ferry_pg_query_value(pg,
                             "SELECT (extract(epoch FROM cutoff_ts) * 1000000)::bigint"
                             " FROM ferry.ship_state WHERE ship_id = $1",
                             1, p1, cutoff, sizeof cutoff, err);
    if (st)
        return st;
    *cut_us = strtoll(cutoff, NULL, 10);
    return FERRY_OK;
}

/* Records the chunks of one ship (from its first row after from_us up to the one holding its
 * last row before the cutoff) and adds the number of new ones to *total_new; *found = 0 when
 * the ship has no rows. Planning again later extends the plan if more history has arrived. */
static ferry_status plan_ship(ferry_pg_t *pg, const ferry_narrow_t *src, const char *ship,
                              int64_t chunk_us, int64_t from_us, int64_t *total_new, int *found,
                              ferry_err_t *err)
{
    int64_t cut_us = 0, lo = 0, hi = 0;
    ferry_status st;
    if ((st = ship_cutoff(pg, ship, &cut_us, err)) ||
        (st = ferry_narrow_ship_range(pg, src, ship, &lo, &hi, found, err)))
        return st;
    if (!*found) {
        ferry_warn("ship %s has no rows in the narrow table: nothing to plan", ship);
        return FERRY_OK;
    }
    if (from_us > lo)
        lo = from_us;
    ferry_buf_t ids = FERRY_BUF_INIT, starts = FERRY_BUF_INIT, ends = FERRY_BUF_INIT;
    int nchunks = 0;
    int64_t k = (int64_t)floor((double)lo / (double)chunk_us);
    int64_t last = hi < cut_us ? hi : cut_us - 1;
    for (int64_t start = k * chunk_us; start <= last && start < cut_us; start += chunk_us) {
        int64_t end = start + chunk_us < cut_us ? start + chunk_us : cut_us;
        char a[48], b[48];
        ferry_migration_ts_param(start, a, sizeof a);
        ferry_migration_ts_param(end, b, sizeof b);
        nchunks++;
        ferry_buf_t id = FERRY_BUF_INIT;
        ferry_buf_appendf(&id, "%s|%lld|%lld", ship, (long long)start, (long long)end);
        ferry_pg_array_add(&ids, (const char *)id.data, id.len);
        ferry_buf_free(&id);
        ferry_pg_array_add(&starts, a, strlen(a));
        ferry_pg_array_add(&ends, b, strlen(b));
    }
    if (nchunks) {
        const char *pp[] = {ship, ferry_pg_array_close(&ids), ferry_pg_array_close(&starts),
                            ferry_pg_array_close(&ends)};
        PGresult *res =
            ferry_pg_query(pg,
                           "INSERT INTO ferry.backfill_chunks (chunk_id, ship_id,"
                           " start_ts, end_ts) SELECT id, $1, s, e FROM unnest($2::text[],"
                           " $3::timestamptz[], $4::timestamptz[]) AS x(id, s, e)"
                           " ON CONFLICT (chunk_id) DO NOTHING",
                           4, pp, err);
        if (!res) {
            st = err->status;
        } else {
            *total_new += strtoll(PQcmdTuples(res), NULL, 10);
            ferry_info("ship %s: %d chunk(s) before its cutoff, %s new", ship, nchunks,
                       PQcmdTuples(res));
            PQclear(res);
        }
    }
    ferry_buf_free(&ids);
    ferry_buf_free(&starts);
    ferry_buf_free(&ends);
    return st;
}

/* Plans every ship of ships[0..nships) and publishes their unpublished chunks. Returns the
 * exit status (errors logged). */
static int plan_ships(const ferry_opts_t *o, ferry_pg_t *pg, ferry_producer_t *p,
                      const ferry_narrow_t *src, char **ships, int nships, int64_t chunk_us,
                      int64_t from_us)
{
    ferry_err_t err;
    int64_t total_new = 0;
    ferry_buf_t arr = FERRY_BUF_INIT;
    for (int s = 0; s < nships; s++) {
        int found;
        if (plan_ship(pg, src, ships[s], chunk_us, from_us, &total_new, &found, &err)) {
            ferry_error("%s", err.msg);
            ferry_buf_free(&arr);
            return FERRY_EXIT_FAILED;
        }
        if (found)
            ferry_pg_array_add(&arr, ships[s], strlen(ships[s]));
    }
    ferry_pg_array_close(&arr);
    int rc = FERRY_EXIT_OK;
    int sent =
        publish_chunks(pg, p, ferry_opts_str(o, "topic"), ferry_opts_str(o, "narrow-table"),
                       "NOT published AND ship_id = ANY($1::text[])", ferry_buf_cstr(&arr), &err);
    if (sent < 0) {
        ferry_error("publishing tasks: %s", err.msg);
        rc = FERRY_EXIT_FAILED;
    } else {
        ferry_info("planned %lld new chunk(s), published %d task(s) to %s", (long long)total_new,
                   sent, ferry_opts_str(o, "topic"));
    }
    ferry_buf_free(&arr);
    return rc;
}

int bf_plan(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(argv[0],
                       "(--ship SHIP... | --all) [--chunk 24h] [--from TIME] --pg CONNINFO",
                       "Splits each ship's history before its cutoff into chunks and publishes one "
                       "BackfillChunk task per chunk not planned before. A ship never dual-written "
                       "gets the time of planning as its cutoff (recorded in ferry.ship_state).",
                       plan_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
    const char *const *only;
    size_t nonly = ferry_opts_list(o, "ship", &only);
    int64_t chunk_us = ferry_opts_duration_ms(o, "chunk") * 1000;
    if ((!nonly && !ferry_opts_bool(o, "all")) || !ferry_opts_str(o, "pg") || chunk_us <= 0) {
        return ferry_cmd_end(
            &cmd, ferry_cmd_usage(&cmd, "give --ship SHIP or --all, --pg, and a positive --chunk"));
    }
    int64_t from_us = INT64_MIN;
    ferry_err_t err;
    if (ferry_opts_str(o, "from") &&
        ferry_ts_parse(ferry_opts_str(o, "from"), strlen(ferry_opts_str(o, "from")), FERRY_TS_AUTO,
                       &from_us, &err) != FERRY_OK) {
        return ferry_cmd_end(&cmd, ferry_cmd_usage(&cmd, "--from: %s", err.msg));
    }
    ferry_pg_t *pg = NULL;
    ferry_producer_t *p = NULL;
    ferry_narrow_t src;
    memset(&src, 0, sizeof src);
    char **ships = NULL;
    int nships = 0;
    if ((rc = bf_connect_pg(&cmd, "ferry backfill plan")))
        goto out;
    pg = cmd.pg;
    if (ferry_narrow_open_opts(pg, &src, o, FERRY_NARROW_READ, &err)) {
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
    rc = plan_ships(o, pg, p, &src, ships, nships, chunk_us, from_us);
out:
    for (int i = 0; i < nships; i++)
        free(ships[i]);
    free(ships);
    ferry_producer_destroy(p);
    ferry_narrow_close(&src);
    return ferry_cmd_end(&cmd, rc);
}

/* ---- retry ------------------------------------------------------------------------------ */

int bf_retry(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(argv[0], "(--chunk ID... | --failed) --pg CONNINFO",
                       "Re-publishes chosen chunks as tasks (attempts start again).", retry_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
    const char *const *ids;
    size_t nids = ferry_opts_list(o, "chunk", &ids);
    if ((!nids && !ferry_opts_bool(o, "failed")) || !ferry_opts_str(o, "pg")) {
        return ferry_cmd_end(&cmd, ferry_cmd_usage(&cmd, "give --chunk ID or --failed, and --pg"));
    }
    ferry_pg_t *pg = NULL;
    ferry_producer_t *p = NULL;
    ferry_err_t err;
    ferry_buf_t arr = FERRY_BUF_INIT;
    if ((rc = bf_connect_pg(&cmd, "ferry backfill retry")))
        goto out;
    pg = cmd.pg;
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
    return ferry_cmd_end(&cmd, rc);
}
