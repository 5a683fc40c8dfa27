/* writer.h - one dual-write batch into PostgreSQL, in ONE transaction:
 *   1. every reading into the narrow table (binary COPY straight into it; if the batch
 *      replays rows that are already there, the COPY is rolled back to a savepoint and
 *      the rows go through a staging table with INSERT ... ON CONFLICT DO NOTHING);
 *   2. readings merged into the ships' wide tables, pivoted in memory: one
 *      INSERT ... SELECT FROM unnest(binary arrays) ON CONFLICT (ts) DO UPDATE per wide table
 *      and chunk, where a cell already written is never replaced (COALESCE(old, new)) and
 *      a row whose cells are all already there is not touched at all;
 *   3. ferry.ship_state for ships written for the first time (cutoff and first offset).
 * First write wins everywhere, in narrow and wide alike, so a replay changes nothing and
 * both tables always agree. A legacy narrow table is always written through staging, and
 * every reading's wide cell takes the value (and time) as the table stored it, so wide
 * equals narrow whatever the legacy column types round or convert. */
#ifndef FERRY_DW_WRITER_H
#define FERRY_DW_WRITER_H

#include <librdkafka/rdkafka.h>

#include "ferry/narrow.h"
#include "ferry/pg.h"
#include "ferry/widecat.h"
#include "ferry/telemetry.h"

typedef struct dw_rec {
    ferry_reading_t r;
    ferry_widecat_ship_t *ship;
    ferry_widecat_col_t *col; /* NULL: no wide cell (null value) */
    const char *topic;
    int32_t partition;
    int64_t offset;
    uint32_t seq;
    int dropped;         /* duplicate in the batch, or dead-lettered */
    int no_wide;         /* no wide cell from this reading in this write */
    int wide_conflict;   /* no wide column can take its value (decided before the write) */
    int stored_conflict; /* the value narrow stored does not fit the wide column */
    int reported;        /* written to narrow without a wide cell, and dead-lettered so */
    char *owned;         /* a string value made for this reading (freed with the batch) */
    char *wire;          /* the converted record r's strings point into, or NULL (zero-copy) */
    rd_kafka_message_t *msg;
} dw_rec_t;

/* The narrow table and how it is written. */
typedef struct dw_narrow {
    ferry_narrow_t t;
    int use_stage; /* go through staging (always for a legacy table; while replays conflict
                    * for ferry's layout) */
} dw_narrow_t;

typedef struct dw_write_stats {
    int64_t narrow_rows; /* rows newly inserted into narrow (0 for duplicates) */
    int64_t wide_cells;  /* cells sent to wide tables */
    int64_t wide_stmts;
    int narrow_fallback; /* 1 if the staging path was used */
} dw_write_stats_t;

/* Opens the narrow table of the command line (ferry_narrow_open_opts; ferry's layout is created
 * when missing). Free with dw_narrow_free() (also after a failure). */
ferry_status dw_narrow_setup(ferry_pg_t *pg, dw_narrow_t *n, const ferry_opts_t *o,
                             ferry_err_t *err);
void dw_narrow_free(dw_narrow_t *n);

/* Writes recs[0..n) (skipping dropped ones) in one transaction and commits it. On failure
 * the transaction is rolled back and the classified error returned (FERRY_RETRY:
 * connection; FERRY_POISON: a data error the batch could not be written with). */
/* The wide half of dw_write_batch (wide.c): merges the readings with a wide cell into their
 * ships' wide tables, inside the caller's transaction. */
ferry_status dw_write_wide(ferry_pg_t *pg, ferry_widecat_t *cat, dw_rec_t **recs, int n,
                           dw_write_stats_t *stats, ferry_err_t *err);

ferry_status dw_write_batch(ferry_pg_t *pg, ferry_widecat_t *cat, dw_narrow_t *narrow,
                            dw_rec_t **recs, int n, dw_write_stats_t *stats, ferry_err_t *err);

#endif
