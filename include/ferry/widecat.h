/* widecat.h - the wide-table catalog shared by dual-write and backfill.
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
 * a non-integral number is widened to double precision once, when that is lossless (no value
 * in it beyond +-2^53); otherwise it stays bigint. */
#ifndef FERRY_WIDECAT_H
#define FERRY_WIDECAT_H

#include <stdint.h>

#include "ferry/map.h"
#include "ferry/pg.h"
#include "ferry/telemetry.h"

typedef enum ferry_wtype {
    FERRY_W_DOUBLE = 0,
    FERRY_W_BIGINT = 1,
    FERRY_W_BOOL = 2,
    FERRY_W_TEXT = 3,
} ferry_wtype;

typedef struct ferry_wtable {
    char *name; /* unquoted table name (in the wide schema) */
    int part;
    int columns; /* channel columns in it */
    /* per-batch scratch */
    uint64_t epoch;
} ferry_wtable_t;

typedef struct ferry_wcol {
    char *channel;
    char *column; /* unquoted column name */
    int table;    /* index into the ship's tables */
    ferry_wtype type;
    int widen_refused; /* a bigint column that cannot become double precision losslessly */
    /* per-batch scratch, used by the writer */
    uint64_t epoch;
    int stmt_idx;
} ferry_wcol_t;

typedef struct ferry_wship {
    char *ship_id;
    ferry_wtable_t *tables;
    int ntables;
    ferry_map_t *cols;  /* channel -> ferry_wcol_t* */
    int state_recorded; /* a ferry.ship_state row exists */
    int loaded;         /* tables and columns are in the cache */
    /* per-batch scratch */
    uint64_t epoch;
    int64_t first_offset;
    int32_t first_partition;
    int64_t first_ts;
} ferry_wship_t;

typedef struct ferry_wcat {
    char *wide_schema; /* unquoted */
    int max_columns;
    ferry_map_t *ships; /* ship_id -> ferry_wship_t* */
} ferry_wcat_t;

/* The PostgreSQL type of a column type ("double precision", ...) and the type a value
 * would create a column of (FERRY_W_DOUBLE for a long? no: long -> bigint). */
const char *ferry_wtype_sql(ferry_wtype t);
int ferry_wtype_parse(const char *s, ferry_wtype *out);
ferry_wtype ferry_wtype_for_value(ferry_value_type v);
/* How a value fits a column of type t: 0 fits (a long into a double column when exact, an
 * integral double into a bigint column), 1 needs the bigint column widened to double
 * precision, -1 conflicts (it goes to a dead-letter or reject table, never into the column). */
int ferry_wtype_fits(ferry_wtype t, const ferry_reading_t *r);

ferry_wcat_t *ferry_wcat_new(const char *wide_schema, int max_columns);
void ferry_wcat_destroy(ferry_wcat_t *c);

/* Creates ferry's catalog tables and (unless NULL) the wide schema if missing. */
ferry_status ferry_wcat_setup(ferry_pg_t *pg, const char *wide_schema, ferry_err_t *err);

/* The cached ship or NULL (it may be !loaded: then ferry_wcat_load it). */
ferry_wship_t *ferry_wcat_ship(ferry_wcat_t *c, const char *ship, size_t len);

/* Loads (or reloads) the given ships' tables, columns and state from PostgreSQL into the
 * cache. Ships unknown to the database get an empty cache entry. */
ferry_status ferry_wcat_load(ferry_wcat_t *c, ferry_pg_t *pg, char *const *ships, int n,
                             ferry_err_t *err);

/* A request to make a channel's column exist (or widen it). */
typedef struct ferry_wneed {
    ferry_wship_t *ship;
    const char *channel; /* NUL-terminated */
    ferry_wtype type;
    int widen; /* bigint -> double precision */
} ferry_wneed_t;

/* Runs the DDL for `needs` in one transaction under per-ship advisory locks: re-reads the
 * catalog of those ships, creates missing tables and columns, widens, records everything in
 * the catalog, commits and refreshes the cache. On failure the transaction is rolled back
 * and the ships' cache entries are reloaded on next use. */
ferry_status ferry_wcat_ensure(ferry_wcat_t *c, ferry_pg_t *pg, ferry_wneed_t *needs, int n,
                               ferry_err_t *err);

/* Marks every cached ship for reloading (e.g. after a reconnect). Ship pointers stay
 * valid until ferry_wcat_destroy(). */
void ferry_wcat_forget(ferry_wcat_t *c);

/* Derives a safe name: prefix + sanitised text (at most `keep` bytes) + '_' + 12 hex digits
 * of the hash of the full text. Writes at most 63 bytes + NUL into out. */
void ferry_safe_name(const char *prefix, const char *text, size_t len, size_t keep, char *out,
                     size_t outsz);

#endif
