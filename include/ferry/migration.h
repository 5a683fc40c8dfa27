/* migration.h - the state of the narrow -> wide migration, shared by backfill, verify,
 * cutover, rollback and status.
 *
 * Tables (schema ferry, created by ferry_migration_setup):
 *   backfill_chunks  (chunk_id PK, ship_id, start_ts, end_ts, status planned|done|failed,
 *                     published, attempts, rows_read, cells_written, rejected, duration_ms,
 *                     worker, last_error, planned_at, updated_at)
 *   backfill_rejects (chunk_id, ship_id, channel_id, ts, value, reason): history cells whose
 *                     value does not fit the channel's column; nothing is dropped silently
 *   verify_results   (id, ship_id, from_ts, to_ts, ok, windows, mismatches, details, verified_at)
 *   cutover          (ship_id PK, view_schema, view_name, cut_over, updated_at)
 *   ship_events      (id, ship_id, event, at, details): rolled_back, cut_over, cutover_undone
 *
 * The narrow table itself is described by narrow.h. */
#ifndef FERRY_MIGRATION_H
#define FERRY_MIGRATION_H

#include <stdint.h>

#include "ferry/err.h"
#include "ferry/narrow.h"
#include "ferry/pg.h"

ferry_status ferry_migration_setup(ferry_pg_t *pg, ferry_err_t *err);

/* The options every migration command shares (entries of a ferry_opt_t table; the narrow
 * table's own are in narrow.h). */
#define FERRY_OPT_WIDE_SCHEMA                                                                      \
    {                                                                                              \
        "wide-schema", 0, FERRY_OPT_STRING, "telemetry_wide", "SCHEMA",                            \
            "schema of the wide tables", 0                                                         \
    }
#define FERRY_OPT_VIEW_SCHEMA                                                                      \
    {                                                                                              \
        "view-schema", 0, FERRY_OPT_STRING, "telemetry", "SCHEMA", "schema of the reader views", 0 \
    }

/* Records an event for a ship (rolled_back, cut_over, cutover_undone). */
ferry_status ferry_migration_event(ferry_pg_t *pg, const char *ship, const char *event,
                                   const char *details_json, ferry_err_t *err);

/* Formats microseconds since the epoch as a timestamptz literal for a parameter
 * (ferry_ts_format_pg: every time PostgreSQL can hold, BC and years past 9999 included). */
void ferry_migration_ts_param(int64_t us, char *out, size_t outsz);

#endif
