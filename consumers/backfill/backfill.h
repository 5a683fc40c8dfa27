/* backfill.h - what the stages of `ferry backfill` share (not part of the core's interface):
 *   plan.c   plan and retry: the chunk plan in ferry.backfill_chunks, tasks published
 *   run.c    the worker: tasks from the group, attempts, reconnects, the DLQ
 *   chunk.c  one chunk in one writer transaction: its columns, its parts, its rejects
 *   pivot.c  one part table of a chunk: narrow COPY OUT -> pivot -> staging COPY IN -> merge */
#ifndef FERRY_BACKFILL_H
#define FERRY_BACKFILL_H

#include <stdint.h>

#include "ferry/command.h"
#include "ferry/decoder.h"
#include "ferry/narrow.h"
#include "ferry/options.h"
#include "ferry/pg.h"
#include "ferry/widecat.h"

/* One task: a ship's narrow rows in [start_us, end_us). */
typedef struct bf_chunk {
    char chunk_id[512];
    char ship[256];
    int64_t start_us, end_us;
} bf_chunk_t;

/* A history cell that does not fit its column (ferry.backfill_rejects). */
typedef struct bf_reject {
    char *channel;
    int64_t ts;
    char *value;
    const char *reason;
} bf_reject_t;

/* A `backfill run` worker. Everything in it is owned by it and freed by backfill_run. */
typedef struct bf_worker {
    const ferry_opts_t *o;
    ferry_pg_t *pg; /* writer */
    ferry_pg_t *rd; /* reader (COPY OUT) */
    ferry_widecat_t *cat;
    ferry_narrow_t src;
    ferry_decoder_t *dec; /* BackfillChunk in either Avro framing */
    char worker_id[128];
    bf_reject_t *rejects;
    int nrejects;
    int64_t nrejected;
    char **widen; /* channels whose bigint column met a non-integral value in this chunk */
    int nwiden;
    int fatal;  /* PostgreSQL refused a reconnect for good: exit 3 */
    int failed; /* ferry's state tables cannot be used: exit 1 */
} bf_worker_t;

/* The subcommands (argv[0] is "ferry backfill <sub>"); each returns the exit status. */
int bf_plan(int argc, char **argv);
int bf_retry(int argc, char **argv);
int bf_run(int argc, char **argv);

/* Connects to --pg of the command as `app` (cmd->pg, closed by ferry_cmd_end) and creates
 * ferry's catalog and migration tables. Returns 0 or the exit status (the error logged). */
int bf_connect_pg(ferry_cmd_t *cmd, const char *app);

/* Backfills chunk c in one writer transaction and records its result (chunk.c). */
ferry_status bf_do_chunk(bf_worker_t *w, const bf_chunk_t *c, ferry_err_t *err);
/* Forgets the chunk's rejects (chunk.c). */
void bf_clear_rejects(bf_worker_t *w);

/* Streams part table t of the chunk into the wide table, inside the writer's open transaction
 * (pivot.c); counts the narrow rows read and the cells written. A value that does not fit its
 * column becomes a reject; a bigint column that met a fraction is noted in w->widen. */
ferry_status bf_do_part(bf_worker_t *w, const bf_chunk_t *c, ferry_widecat_ship_t *ship, int t,
                        int64_t *rows_read, int64_t *cells, ferry_err_t *err);

#endif
