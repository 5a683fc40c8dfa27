/* migration.h - the state of the narrow -> wide migration, shared by backfill, verify,
 * cutover, rollback and status.
 *
 * Tables (schema ferry, created by ferry_mig_setup):
 *   backfill_chunks  (chunk_id PK, ship_id, start_ts, end_ts, status planned|done|failed,
 *                     published, attempts, rows_read, cells_written, rejected, duration_ms,
 *                     worker, last_error, planned_at, updated_at)
 *   backfill_rejects (chunk_id, ship_id, channel_id, ts, value, reason): history cells whose
 *                     value does not fit the channel's column; nothing is dropped silently
 *   verify_results   (id, ship_id, from_ts, to_ts, ok, windows, mismatches, details, verified_at)
 *   cutover          (ship_id PK, view_schema, view_name, cut_over, updated_at)
 *   ship_events      (id, ship_id, event, at, details): rolled_back, cut_over, cutover_undone
 *
 * The narrow source: ferry's own layout (ship_id, channel_id, ts, value_double, value_long,
 * value_bool, value_text) or a legacy table described as for dualwrite
 * (ship=COL,channel=COL,time=COL,value=COL). Either way it is read through a select list
 * that yields ferry's layout, built from quoted identifiers only. */
#ifndef FERRY_MIGRATION_H
#define FERRY_MIGRATION_H

#include <stdint.h>

#include "ferry/err.h"
#include "ferry/pg.h"

ferry_status ferry_mig_setup(ferry_pg_t *pg, ferry_err_t *err);

/* The options every migration command shares (entries of a ferry_opt_t table). */
#define FERRY_OPT_NARROW_TABLE                                                                     \
    {                                                                                              \
        "narrow-table", 0, FERRY_OPT_STRING, "public.telemetry_narrow", "TABLE",                   \
            "the narrow table", 0                                                                  \
    }
#define FERRY_OPT_NARROW_COLUMNS                                                                   \
    {                                                                                              \
        "narrow-columns", 0, FERRY_OPT_STRING, NULL, "SPEC",                                       \
            "legacy narrow table columns: ship=COL,channel=COL,time=COL,value=COL", 0              \
    }
#define FERRY_OPT_WIDE_SCHEMA                                                                      \
    {                                                                                              \
        "wide-schema", 0, FERRY_OPT_STRING, "telemetry_wide", "SCHEMA",                            \
            "schema of the wide tables", 0                                                         \
    }
#define FERRY_OPT_VIEW_SCHEMA                                                                      \
    {                                                                                              \
        "view-schema", 0, FERRY_OPT_STRING, "telemetry", "SCHEMA", "schema of the reader views", 0 \
    }

typedef struct ferry_narrow_src {
    char *table; /* quoted, possibly schema-qualified */
    char *ship;  /* quoted column names */
    char *channel;
    char *ts;
    /* expressions (over alias n) yielding the four typed value columns */
    char *v_double, *v_long, *v_bool, *v_text;
} ferry_narrow_src_t;

/* Describes the narrow table `table` (ferry layout when spec is NULL, else
 * "ship=COL,channel=COL,time=COL,value=COL[,unit=COL]"; the value column's type is read
 * from the database). */
ferry_status ferry_narrow_src_init(ferry_pg_t *pg, ferry_narrow_src_t *src, const char *table,
                                   const char *spec, ferry_err_t *err);
void ferry_narrow_src_free(ferry_narrow_src_t *src);

/* Appends "SELECT n.<ship> AS ship_id, ..., <v_text> AS value_text FROM <table> n". */
void ferry_narrow_src_select(const ferry_narrow_src_t *src, ferry_buf_t *out);

/* The ships of the narrow table (loose index scan over the leading ship column). The
 * array and its strings are new (free each and the array). */
ferry_status ferry_narrow_ships(ferry_pg_t *pg, const ferry_narrow_src_t *src, char ***ships,
                                int *n, ferry_err_t *err);
/* The ships a command works on: copies of the `nonly` names given (--ship), or, when none
 * were, every ship of the narrow table (ferry_narrow_ships). Same ownership as that. */
ferry_status ferry_narrow_ships_or(ferry_pg_t *pg, const ferry_narrow_src_t *src,
                                   const char *const *only, size_t nonly, char ***ships, int *n,
                                   ferry_err_t *err);

/* Earliest and latest timestamp of a ship in narrow (found = 0 when it has no rows). */
ferry_status ferry_narrow_ship_range(ferry_pg_t *pg, const ferry_narrow_src_t *src,
                                     const char *ship, int64_t *min_us, int64_t *max_us, int *found,
                                     ferry_err_t *err);

/* Records an event for a ship (rolled_back, cut_over, cutover_undone). */
ferry_status ferry_mig_event(ferry_pg_t *pg, const char *ship, const char *event,
                             const char *details_json, ferry_err_t *err);

/* Formats microseconds since the epoch as a timestamptz literal for a parameter. */
void ferry_mig_ts_param(int64_t us, char *out, size_t outsz);

#endif
