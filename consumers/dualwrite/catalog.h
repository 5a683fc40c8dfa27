/* catalog.h - the wide-table catalog of the dual-write worker.
 *
 * Every (ship, channel) maps to one column of one of the ship's wide tables:
 *   ferry.ship_tables     (ship_id, part, table_name, columns)   one row per wide table
 *   ferry.channel_columns (ship_id, channel_id, table_name, column_name, pg_type)
 *   ferry.ship_state      (ship_id, cutoff_ts, first_topic, first_partition, first_offset, ...)
 * Names are derived from the data but always safe and distinct: a sanitised prefix (ASCII
 * letters, digits, '_') plus 12 hex digits of a 64-bit hash of the full id, so two
 * 200-character channel names that differ in their last character get different columns,
 * and nothing is ever cut by PostgreSQL's 63-byte identifier limit. Every identifier is
 * quoted in SQL anyway. A ship's channels fill its first table up to --max-columns, then
 * continue in `<table>_p2`, `_p3`, ...
 *
 * New channels become columns while the system runs: the worker takes a per-ship advisory
 * lock (in sorted ship order, so two workers never deadlock), re-reads the catalog, adds
 * what is still missing, commits, and only then writes data. A bigint column that receives
 * a non-integral number is widened to double precision once. */
#ifndef FERRY_DW_CATALOG_H
#define FERRY_DW_CATALOG_H

#include <stdint.h>

#include "ferry/map.h"
#include "ferry/pg.h"
#include "ferry/telemetry.h"

typedef enum dw_type {
    DW_DOUBLE = 0,
    DW_BIGINT = 1,
    DW_BOOL = 2,
    DW_TEXT = 3,
} dw_type;

typedef struct dw_table {
    char *name; /* unquoted table name (in the wide schema) */
    int part;
    int columns; /* channel columns in it */
    /* per-batch scratch */
    uint64_t epoch;
} dw_table_t;

typedef struct dw_col {
    char *channel;
    char *column; /* unquoted column name */
    int table;    /* index into the ship's tables */
    dw_type type;
    /* per-batch scratch, used by the writer */
    uint64_t epoch;
    int stmt_idx;
} dw_col_t;

typedef struct dw_ship {
    char *ship_id;
    dw_table_t *tables;
    int ntables;
    ferry_map_t *cols; /* channel -> dw_col_t* */
    int state_recorded; /* a ferry.ship_state row exists */
    int loaded;         /* tables and columns are in the cache */
    /* per-batch scratch */
    uint64_t epoch;
    int64_t first_offset;
    int32_t first_partition;
    int64_t first_ts;
} dw_ship_t;

typedef struct dw_catalog {
    char *wide_schema; /* unquoted */
    int max_columns;
    ferry_map_t *ships; /* ship_id -> dw_ship_t* */
} dw_catalog_t;

/* The PostgreSQL type of a column type ("double precision", ...) and the type a value
 * would create a column of (DW_DOUBLE for a long? no: long -> bigint). */
const char *dw_type_sql(dw_type t);
int dw_type_parse(const char *s, dw_type *out);
dw_type dw_type_for_value(ferry_value_type v);

dw_catalog_t *dw_catalog_new(const char *wide_schema, int max_columns);
void dw_catalog_destroy(dw_catalog_t *c);

/* Creates ferry's catalog tables and the wide schema if missing. */
ferry_status dw_catalog_setup(ferry_pg_t *pg, const char *wide_schema, ferry_err_t *err);

/* The cached ship or NULL (it may be !loaded: then dw_catalog_load it). */
dw_ship_t *dw_catalog_ship(dw_catalog_t *c, const char *ship, size_t len);

/* Loads (or reloads) the given ships' tables, columns and state from PostgreSQL into the
 * cache. Ships unknown to the database get an empty cache entry. */
ferry_status dw_catalog_load(dw_catalog_t *c, ferry_pg_t *pg, char *const *ships, int n,
                             ferry_err_t *err);

/* A request to make a channel's column exist (or widen it). */
typedef struct dw_need {
    dw_ship_t *ship;
    const char *channel; /* NUL-terminated */
    dw_type type;
    int widen; /* bigint -> double precision */
} dw_need_t;

/* Runs the DDL for `needs` in one transaction under per-ship advisory locks: re-reads the
 * catalog of those ships, creates missing tables and columns, widens, records everything in
 * the catalog, commits and refreshes the cache. On failure the transaction is rolled back
 * and the ships' cache entries are reloaded on next use. */
ferry_status dw_catalog_ensure(dw_catalog_t *c, ferry_pg_t *pg, dw_need_t *needs, int n,
                               ferry_err_t *err);

/* Marks every cached ship for reloading (e.g. after a reconnect). Ship pointers stay
 * valid until dw_catalog_destroy(). */
void dw_catalog_forget(dw_catalog_t *c);

/* Derives a safe name: prefix + sanitised text (at most `keep` bytes) + '_' + 12 hex digits
 * of the hash of the full text. Writes at most 63 bytes + NUL into out. */
void dw_safe_name(const char *prefix, const char *text, size_t len, size_t keep, char *out,
                  size_t outsz);

#endif
