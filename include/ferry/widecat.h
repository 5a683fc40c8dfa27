/* widecat.h - the wide-table catalog shared by dual-write and backfill.
 *
 * Every (ship, channel) maps to one column of one of the ship's wide tables:
 *   ferry.ship_tables     (ship_id, part, table_name, columns)   one row per wide table
 *   ferry.channel_columns (ship_id, channel_id, table_name, column_name, pg_type)
 *   ferry.ship_state      (ship_id, cutoff_ts, first_topic, first_partition, first_offset, ...)
 * Table and column names are derived from the ids but always safe and distinct
 * (ferry_safe_name, safe.h: a sanitised prefix plus 12 hex digits of a 48-bit hash of the full
 * id; a name another ship or channel holds already gets a suffix). Every identifier is quoted
 * in SQL anyway. A ship's channels fill its first table up to --max-columns, then
 * continue in `<table>_p2`, `_p3`, ...
 *
 * New channels become columns while the system runs: the worker takes a per-ship advisory
 * lock (in sorted ship order, so two workers never deadlock), re-reads the catalog, adds
 * what is still missing, commits, and only then writes data. A bigint column that receives
 * a non-integral number is widened to double precision once, when that is lossless (no value
 * in it beyond +-2^53); otherwise it stays bigint. */
#ifndef FERRY_WIDECAT_H
#define FERRY_WIDECAT_H

#include <stdint.h>

#include "ferry/map.h"
#include "ferry/pg.h"
#include "ferry/safe.h"
#include "ferry/telemetry.h"
#include "ferry/wtype.h"

/* One wide table of a ship (a row of ferry.ship_tables). */
typedef struct ferry_widecat_table {
    char *name; /* unquoted table name (in the wide schema) */
    int part;
    int columns; /* channel columns in it */
} ferry_widecat_table_t;

/* One channel's column (a row of ferry.channel_columns). */
typedef struct ferry_widecat_col {
    char *channel;
    char *column; /* unquoted column name */
    int table;    /* index into the ship's tables */
    ferry_wtype_t type;
    int widen_refused; /* a bigint column that cannot become double precision losslessly */
} ferry_widecat_col_t;

/* What the catalog knows of one ship. */
typedef struct ferry_widecat_ship {
    char *ship_id;
    ferry_widecat_table_t *tables;
    int ntables;
    ferry_map_t *cols;  /* channel -> ferry_widecat_col_t* */
    int state_recorded; /* a ferry.ship_state row exists */
    int loaded;         /* tables and columns are in the cache */
} ferry_widecat_ship_t;

/* The cache of the catalog for the ships a worker has met. */
typedef struct ferry_widecat {
    char *wide_schema; /* unquoted */
    int max_columns;
    ferry_map_t *ships; /* ship_id -> ferry_widecat_ship_t* */
} ferry_widecat_t;

/* A new, empty cache for wide tables in `wide_schema` of at most `max_columns` channel columns
 * each (the schema name is copied). The caller frees it with ferry_widecat_destroy(), which
 * frees every ship, table and column it holds. */
ferry_widecat_t *ferry_widecat_new(const char *wide_schema, int max_columns);
/* NULL is a no-op. */
void ferry_widecat_destroy(ferry_widecat_t *c);

/* Creates ferry's catalog tables and (unless NULL) the wide schema if missing. */
ferry_status ferry_widecat_setup(ferry_pg_t *pg, const char *wide_schema, ferry_err_t *err);

/* The cached ship or NULL (it may be !loaded: then ferry_widecat_load it). Owned by the
 * cache. */
ferry_widecat_ship_t *ferry_widecat_ship(ferry_widecat_t *c, const char *ship, size_t len);

/* Loads (or reloads) the given ships' tables, columns and state from PostgreSQL into the
 * cache. Ships unknown to the database get an empty cache entry. */
ferry_status ferry_widecat_load(ferry_widecat_t *c, ferry_pg_t *pg, char *const *ships, int n,
                                ferry_err_t *err);

/* A request to make a channel's column exist (or widen it). */
typedef struct ferry_widecat_need {
    ferry_widecat_ship_t *ship;
    const char *channel; /* NUL-terminated; the caller's */
    ferry_wtype_t type;
    int widen; /* bigint -> double precision */
} ferry_widecat_need_t;

/* Runs the DDL for `needs` in one transaction under per-ship advisory locks: re-reads the
 * catalog of those ships, creates missing tables and columns, widens, records everything in
 * the catalog, commits and refreshes the cache. On failure the transaction is rolled back
 * and the ships' cache entries are reloaded on next use. A bigint column is widened only
 * when no value in it lies beyond +-2^53; otherwise it stays bigint and its widen_refused is
 * set. `needs` is sorted by ship in place. */
ferry_status ferry_widecat_ensure(ferry_widecat_t *c, ferry_pg_t *pg, ferry_widecat_need_t *needs,
                                  int n, ferry_err_t *err);

/* Marks every cached ship for reloading (e.g. after a reconnect). Ship pointers stay
 * valid until ferry_widecat_destroy(). */
void ferry_widecat_forget(ferry_widecat_t *c);

#endif
