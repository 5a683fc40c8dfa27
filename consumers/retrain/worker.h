/* worker.h - the `ferry retrain` worker's state, shared by its stages:
 *   retrain.c   the command: options, start-up, the poll loop;
 *   last.c      the state from Kafka: the group's last trigger, read back from the retrain topic;
 *   features.c  the feature consumer: start positions, counting records, dead letters;
 *   fire.c      the trigger producer: the policy's decision, the RetrainRequested event and the
 *               transaction that commits it with the offsets of its watermark. */
#ifndef FERRY_RETRAIN_WORKER_H
#define FERRY_RETRAIN_WORKER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/decoder.h"
#include "ferry/err.h"
#include "ferry/kafka.h"
#include "ferry/options.h"
#include "ferry/txn.h"
#include "ferry/wire.h"
#include "policy.h"

/* One partition of the feature topic. */
typedef struct retrain_part {
    int32_t partition;
    int64_t pos; /* next offset to count */
    int eof;     /* at its end, no record since */
} retrain_part_t;

typedef struct retrain_worker {
    const char *group, *topic, *retrain_topic;
    retrain_policy_t policy;
    ferry_kafka_reader_t *reader; /* the feature topic, every partition, offsets in `group` */
    ferry_txn_t *txn;
    retrain_part_t *parts;
    int nparts;
    retrain_last_t last;
    retrain_window_t window;
    int64_t since_us; /* last trigger time, or start of counting */
    const ferry_schema_t *feature_schema, *retrain_schema;
    ferry_decoder_t *fdec, *tdec; /* WatchLogFeature / RetrainRequested, any framing */
    ferry_wire_t wire;            /* the framing of the triggers written */
    uint64_t rows, dead, triggers;
} retrain_worker_t;

/* last.c: reads the whole retrain topic (read_committed) for the last trigger of the group.
 * Fills rt->last, and *wm / *nwm with that trigger's watermark on the feature topic (a new
 * array the caller frees; NULL and 0 without a trigger). An unknown topic means no trigger
 * yet. FERRY_RETRY when the topic could not be read to its end within 60 s or a stop came;
 * FERRY_FATAL for a trigger of the group that cannot be read (firing again would duplicate
 * it) or a fatal consumer error. */
ferry_status retrain_load_last(retrain_worker_t *rt, const ferry_opts_t *o, retrain_tpo_t **wm,
                               size_t *nwm, ferry_err_t *err);

/* features.c: positions every partition of the feature topic - the group's committed offset;
 * else the last trigger's watermark (wm); else the partition's first offset - and assigns
 * them to rt->reader. Fills rt->parts (freed by the caller) and rt->nparts. */
ferry_status retrain_assign_start(retrain_worker_t *rt, const retrain_tpo_t *wm, size_t nwm,
                                  ferry_err_t *err);

/* features.c: the partition `partition` of rt->parts, or NULL. */
retrain_part_t *retrain_find_part(retrain_worker_t *rt, int32_t partition);

/* features.c: 1 when every partition is at its end. */
int retrain_all_eof(const retrain_worker_t *rt);

/* features.c: counts one feature record (or dead-letters it), then fires when the policy says
 * so. Returns FERRY_OK or a failure that stops the worker. */
ferry_status retrain_count_record(retrain_worker_t *rt, const rd_kafka_message_t *m,
                                  ferry_err_t *err);

/* fire.c: evaluates the policy and fires when it says so, retrying an aborted transaction.
 * Returns FERRY_OK or FERRY_FATAL (or FERRY_RETRY when stopped while retrying). */
ferry_status retrain_maybe_fire(retrain_worker_t *rt, ferry_err_t *err);

#endif
