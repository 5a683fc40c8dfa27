/* migration.c - migration state tables and the narrow source (see include/ferry/migration.h). */
#include "ferry/migration.h"
#include "ferry/timeparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ferry_status ferry_migration_setup(ferry_pg_t *pg, ferry_err_t *err)
{
    ferry_status st = ferry_pg_exec(
        pg,
        "BEGIN; SELECT pg_advisory_xact_lock(4242000003);"
        "CREATE SCHEMA IF NOT EXISTS ferry;"
        "CREATE TABLE IF NOT EXISTS ferry.backfill_chunks ("
        " chunk_id text PRIMARY KEY, ship_id text NOT NULL, start_ts timestamptz NOT NULL,"
        " end_ts timestamptz NOT NULL, status text NOT NULL DEFAULT 'planned',"
        " published boolean NOT NULL DEFAULT false, attempts int NOT NULL DEFAULT 0,"
        " rows_read bigint, cells_written bigint, rejected bigint, duration_ms bigint,"
        " worker text, last_error text, planned_at timestamptz NOT NULL DEFAULT now(),"
        " updated_at timestamptz NOT NULL DEFAULT now());"
        "CREATE INDEX IF NOT EXISTS backfill_chunks_ship ON ferry.backfill_chunks (ship_id);"
        "CREATE TABLE IF NOT EXISTS ferry.backfill_rejects ("
        " chunk_id text NOT NULL, ship_id text NOT NULL, channel_id text NOT NULL,"
        " ts timestamptz NOT NULL, value text, reason text NOT NULL,"
        " PRIMARY KEY (ship_id, channel_id, ts));"
        "CREATE TABLE IF NOT EXISTS ferry.verify_results ("
        " id bigserial PRIMARY KEY, ship_id text NOT NULL, from_ts timestamptz,"
        " to_ts timestamptz, ok boolean NOT NULL, windows int NOT NULL,"
        " mismatches bigint NOT NULL, details jsonb,"
        " verified_at timestamptz NOT NULL DEFAULT clock_timestamp());"
        "CREATE TABLE IF NOT EXISTS ferry.cutover ("
        " ship_id text PRIMARY KEY, view_schema text NOT NULL, view_name text NOT NULL,"
        " cut_over boolean NOT NULL DEFAULT false, updated_at timestamptz NOT NULL DEFAULT now());"
        "CREATE TABLE IF NOT EXISTS ferry.ship_events ("
        " id bigserial PRIMARY KEY, ship_id text NOT NULL, event text NOT NULL,"
        " at timestamptz NOT NULL DEFAULT clock_timestamp(), details jsonb);"
        "COMMIT",
        err);
    if (st)
        ferry_pg_exec(pg, "ROLLBACK", NULL);
    return st;
}

ferry_status ferry_migration_event(ferry_pg_t *pg, const char *ship, const char *event,
                                   const char *details_json, ferry_err_t *err)
{
    const char *p[] = {ship, event, details_json};
    PGresult *res = ferry_pg_query(
        pg, "INSERT INTO ferry.ship_events (ship_id, event, details) VALUES ($1, $2, $3::jsonb)", 3,
        p, err);
    if (!res)
        return err->status;
    PQclear(res);
    return FERRY_OK;
}

void ferry_migration_ts_param(int64_t us, char *out, size_t outsz)
{
    ferry_ts_format_pg(us, out, outsz);
}
