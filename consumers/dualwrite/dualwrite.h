/* dualwrite.h - what the stages of `ferry dualwrite` share (not part of the core's interface):
 *   batch.c     poll -> decode (bad bytes: DLQ) -> coerce for the narrow table -> the batch
 *   resolve.c   the batch against the catalog: duplicates dropped, ships loaded, new channels
 *               made columns, wide conflicts found (and dead-lettered once written)
 *   writer.c    one transaction per batch (narrow, ship state; wide.c: the wide tables)
 *   dualwrite.c the worker: flush, commit, retries, rebalances, progress, the command */
#ifndef FERRY_DW_DUALWRITE_H
#define FERRY_DW_DUALWRITE_H

#include <stdint.h>

#include "ferry/decoder.h"
#include "ferry/dlq.h"
#include "ferry/kafka.h"
#include "ferry/options.h"
#include "writer.h"

#define LAT_BUCKETS 10001 /* 1 ms each, the last one is "10 s or more" */

/* A dualwrite worker: its clients, the batch in hand and its counters. Everything in it is
 * owned by it and freed by cmd_dualwrite. */
typedef struct dw_worker {
    const ferry_opts_t *o;
    ferry_consumer_t *c;
    ferry_dlq_t *dlq;
    ferry_pg_t *pg;
    ferry_widecat_t *cat;
    ferry_decoder_t *dec;
    dw_narrow_t narrow;
    int64_t batch_rows, batch_time_ms;
    /* the batch in hand */
    rd_kafka_message_t **msgs;
    int nmsgs, capmsgs;
    dw_rec_t *recs;
    int nrecs, caprecs;
    int64_t batch_started;
    int dlq_pending;
    uint32_t seq;
    /* counters */
    uint64_t consumed, written, cells, dead, conflicts, dupes, batches, fallbacks, waits;
    uint64_t lat[LAT_BUCKETS], lat_total[LAT_BUCKETS];
    int64_t first_msg_ms, last_commit_ms; /* active time, for throughput */
    int fatal;
    int unavailable; /* PostgreSQL refused a reconnect for good: exit 3, not 1 */
} dw_worker_t;

/* Queues m for the DLQ (ferry_dlq_sync makes it durable before the offsets move on). */
void dw_dead_letter(dw_worker_t *w, const rd_kafka_message_t *m, const char *reason,
                    const char *msg);
/* Takes m into the batch (the batch owns it from here): decoded, checked and coerced for the
 * narrow table, or dead-lettered. A record that must not be committed (the registry is needed
 * and a stop came first, or a fatal decoder error) is destroyed and left out. */
void dw_batch_add(dw_worker_t *w, rd_kafka_message_t *m);
/* Frees the batch's records and messages. */
void dw_batch_clear(dw_worker_t *w);
/* Loads unknown ships, creates missing columns, marks wide conflicts and drops in-batch
 * duplicates. `sorted` (room for w->nrecs) receives the live records sorted by key. */
ferry_status dw_resolve(dw_worker_t *w, dw_rec_t **sorted, int *nsorted, ferry_err_t *err);
/* Dead-letters, once, the readings that were written to narrow without their wide cell. */
void dw_report_conflicts(dw_worker_t *w);

#endif
