/* txn.h - Kafka transactions for consume-transform-produce workers.
 *
 * A worker that turns consumed records into produced records (preprocess: movies ->
 * features; retrain: features -> triggers) publishes its output and the consumed offsets in
 * one Kafka transaction, so a read_committed reader sees each output exactly once even
 * when the worker dies at any moment: an unfinished transaction is aborted (by the broker's
 * timeout, or at once when a process with the same transactional.id starts), its records
 * stay invisible to read_committed readers and its offsets are never committed, so the
 * input is processed again.
 *
 * The producer is the core's idempotent producer (kafka.h) with a transactional.id;
 * ferry_producer_send() and ferry_dlq_send() on ferry_txn_producer() go into the open
 * transaction. Offsets are committed for the consumer's group with the consumer group
 * metadata (KIP-447), so a zombie from an older group generation is fenced by the broker
 * and one transactional.id per process is enough.
 *
 * Errors follow librdkafka's transaction rules:
 *   retriable (timeouts, coordinator moving)  -> the same call is retried here, with backoff;
 *   abortable (a produce failed, the group generation moved on)
 *                                              -> the transaction is aborted here and the
 *                                                 call returns FERRY_RETRY: nothing of it is
 *                                                 visible, redo the work in a new transaction;
 *   fatal (fenced by a newer instance with the same transactional.id, or a fatal
 *          idempotence error)                  -> FERRY_FATAL: stop, the producer is unusable. */
#ifndef FERRY_TXN_H
#define FERRY_TXN_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

#include "ferry/err.h"
#include "ferry/kafka.h"
#include "ferry/options.h"

typedef struct ferry_txn ferry_txn_t;

/* Creates a transactional producer from the options (--brokers, -X) with `transactional_id`
 * and runs init_transactions, which also aborts whatever an earlier process with the same id
 * left open. `defaults` are extra librdkafka key/value pairs (NULL-terminated) or NULL.
 * Returns a new object (free with ferry_txn_destroy) or NULL with *err: FERRY_RETRY when the
 * broker did not answer, FERRY_FATAL / FERRY_USAGE for a bad configuration. */
ferry_txn_t *ferry_txn_new(const ferry_opts_t *o, const char *transactional_id,
                           const char *const *defaults, ferry_err_t *err);

/* The producer to send with while a transaction is open. Owned by the txn object. */
ferry_producer_t *ferry_txn_producer(ferry_txn_t *t);

/* Opens a transaction. FERRY_OK, or FERRY_FATAL (the producer is unusable). */
ferry_status ferry_txn_begin(ferry_txn_t *t, ferry_err_t *err);

/* True while a transaction is open. */
int ferry_txn_is_open(const ferry_txn_t *t);

/* Commits the open transaction. When `offsets` is not NULL and not empty, they are first
 * added to the transaction for the group of `consumer_rk` (a consumer handle; its group
 * metadata - group id, generation, member id - fences zombies). Each element's offset is the
 * NEXT offset to consume. Returns FERRY_OK when the transaction committed; FERRY_RETRY when
 * it had to be aborted (done here; redo the work); FERRY_FATAL when the producer is fenced or
 * fatally failed. */
ferry_status ferry_txn_commit(ferry_txn_t *t, rd_kafka_t *consumer_rk,
                              const rd_kafka_topic_partition_list_t *offsets, ferry_err_t *err);

/* Aborts the open transaction (no-op when none is open). FERRY_OK or FERRY_FATAL. */
ferry_status ferry_txn_abort(ferry_txn_t *t, ferry_err_t *err);

/* Counters since creation. */
typedef struct ferry_txn_stats {
    uint64_t committed; /* transactions committed */
    uint64_t aborted;   /* transactions aborted (by ferry_txn_abort or an abortable error) */
    uint64_t retries;   /* retriable errors retried */
} ferry_txn_stats_t;
ferry_txn_stats_t ferry_txn_stats(const ferry_txn_t *t);

/* A new, empty offsets list with room for n entries, for ferry_txn_offsets_add and
 * ferry_txn_commit; the caller frees it with rd_kafka_topic_partition_list_destroy. */
rd_kafka_topic_partition_list_t *ferry_txn_offsets_new(size_t n);

/* Adds (topic, partition, next_offset) to `l`, or raises the offset of an existing element
 * to next_offset when it is larger. For building the offsets of a batch. */
void ferry_txn_offsets_add(rd_kafka_topic_partition_list_t *l, const char *topic, int32_t partition,
                           int64_t next_offset);

/* Aborts an open transaction, then frees the producer. NULL is a no-op. */
void ferry_txn_destroy(ferry_txn_t *t);

#endif
