/* kafka.h - the core's Kafka clients over librdkafka.
 *
 * Producer: idempotent, acks=all, compressed; delivery reports are counted and a
 * flush reports what was not delivered.
 * Consumer: at-least-once by construction: auto commit and auto offset store are off,
 * the program stores an offset only once its work is durable and commits explicitly;
 * cooperative-sticky assignment; a rebalance hook runs before partitions are revoked so
 * the program can write and commit what it holds for them.
 * Admin: topic creation with partitions and configs.
 *
 * Every client takes its settings from the command's options: --brokers and any number
 * of -X key=value passed straight to librdkafka (as kcat does), applied last so they can
 * override ferry's defaults. librdkafka's log is routed into ferry's log. */
#ifndef FERRY_KAFKA_H
#define FERRY_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/err.h"
#include "ferry/options.h"

/* ---- configuration ---------------------------------------------------------------------- */

/* Builds a librdkafka configuration from --brokers and -X (if those options exist in `o`),
 * after setting `defaults` (NULL-terminated key, value pairs; may be NULL). Routes logs
 * into ferry's log. Returns a new conf (ownership passes to rd_kafka_new) or NULL. */
rd_kafka_conf_t *ferry_kafka_conf_new(const ferry_opts_t *o, const char *const *defaults,
                                      ferry_err_t *err);

/* Creates a client of `type` from `conf`, which it takes over (destroyed on failure too).
 * NULL with FERRY_FATAL "cannot create Kafka <what>: ..." when librdkafka refuses the
 * configuration. The caller frees the client with rd_kafka_destroy (inside lib/). */
rd_kafka_t *ferry_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *what,
                            ferry_err_t *err);

/* Classifies a librdkafka error: retriable/transient -> FERRY_RETRY, fatal -> FERRY_FATAL. */
ferry_status ferry_kafka_classify(rd_kafka_resp_err_t code);

/* ---- producer --------------------------------------------------------------------------- */

typedef struct ferry_producer ferry_producer_t;

/* Called from ferry_producer_poll()/flush() for every delivery report, after the counters
 * were updated. `msg_opaque` is what was passed to ferry_producer_send(). */
typedef void (*ferry_dr_fn)(const rd_kafka_message_t *rkm, void *msg_opaque, void *opaque);

typedef struct ferry_producer_stats {
    uint64_t sent;      /* accepted by ferry_producer_send */
    uint64_t delivered; /* acknowledged by the broker */
    uint64_t failed;    /* permanently failed deliveries */
    rd_kafka_resp_err_t last_error;
} ferry_producer_stats_t;

typedef struct ferry_producer_conf {
    const char *const *defaults;  /* extra key/value defaults, NULL-terminated pairs, or NULL */
    const char *transactional_id; /* non-NULL: transactional producer (init_transactions done) */
    ferry_dr_fn dr_cb;
    void *dr_opaque;
} ferry_producer_conf_t;

/* Creates an idempotent producer (acks=all, compression lz4, linger 5 ms) from the
 * options. `pc` may be NULL. Returns NULL with *err on failure. The caller frees it with
 * ferry_producer_destroy. */
ferry_producer_t *ferry_producer_new(const ferry_opts_t *o, const ferry_producer_conf_t *pc,
                                     ferry_err_t *err);

/* Enqueues one message (copies key and value). `headers` may be NULL; when not NULL its
 * ownership passes to the producer, also on failure. Blocks (serving delivery reports)
 * while the local queue is full. Returns FERRY_OK, or an error for an unknown topic, a too
 * large message, a fatal producer state or a stop request while waiting. */
ferry_status ferry_producer_send(ferry_producer_t *p, const char *topic, int32_t partition,
                                 const void *key, size_t keylen, const void *value, size_t len,
                                 rd_kafka_headers_t *headers, void *msg_opaque, ferry_err_t *err);

/* Serves delivery reports. */
void ferry_producer_poll(ferry_producer_t *p, int timeout_ms);

/* Waits up to timeout_ms for every message to be delivered or to fail. Returns FERRY_OK
 * when nothing is left and nothing failed since the producer was created; otherwise an
 * error whose message says how many were undelivered and failed, and why. */
ferry_status ferry_producer_flush(ferry_producer_t *p, int timeout_ms, ferry_err_t *err);

ferry_producer_stats_t ferry_producer_stats(const ferry_producer_t *p);
rd_kafka_t *ferry_producer_rk(ferry_producer_t *p);

/* Flushes for up to 30 s (reporting any loss at warn level) and frees. NULL is a no-op. */
void ferry_producer_destroy(ferry_producer_t *p);

/* ---- consumer --------------------------------------------------------------------------- */

typedef struct ferry_consumer ferry_consumer_t;

/* Rebalance hook. On revoke it is called BEFORE the partitions are given up: write what
 * is held for them, store and commit (ferry_consumer_commit works here). On assign it is
 * called after the partitions were taken. */
typedef void (*ferry_rebalance_fn)(ferry_consumer_t *c, int revoke,
                                   const rd_kafka_topic_partition_list_t *parts, void *opaque);

typedef struct ferry_consumer_conf {
    const char *const *defaults; /* extra key/value defaults, NULL-terminated pairs, or NULL */
    const char *offset_reset;    /* auto.offset.reset, default "earliest" */
    int read_committed;          /* isolation.level=read_committed (default read_uncommitted) */
    ferry_rebalance_fn rebalance_cb;
    void *rebalance_opaque;
} ferry_consumer_conf_t;

/* Creates a consumer in `group` subscribed to `topics` (ntopics entries; copied). `cc` may be
 * NULL. Returns NULL with *err on failure. The caller frees it with ferry_consumer_close, which
 * also leaves the group. */
ferry_consumer_t *ferry_consumer_new(const ferry_opts_t *o, const char *group,
                                     const char *const *topics, size_t ntopics,
                                     const ferry_consumer_conf_t *cc, ferry_err_t *err);

/* Polls for one message. Returns a message the caller destroys with
 * rd_kafka_message_destroy(), or NULL on timeout. Partition EOF events and transient
 * errors are consumed here (logged, counted for caught-up detection) and return NULL;
 * a fatal consumer error requests a stop and sets *err (FERRY_FATAL). */
rd_kafka_message_t *ferry_consumer_poll(ferry_consumer_t *c, int timeout_ms, ferry_err_t *err);

/* Marks `rkm` processed: stores offset+1 for its partition (committed by the next
 * ferry_consumer_commit). */
ferry_status ferry_consumer_store(ferry_consumer_t *c, const rd_kafka_message_t *rkm,
                                  ferry_err_t *err);
ferry_status ferry_consumer_store_offset(ferry_consumer_t *c, const char *topic, int32_t partition,
                                         int64_t next_offset, ferry_err_t *err);

/* Commits the stored offsets synchronously. Nothing stored is not an error. */
ferry_status ferry_consumer_commit(ferry_consumer_t *c, ferry_err_t *err);

/* True when the consumer has an assignment and every assigned partition reached its end
 * (no message since the last EOF). A consumer with no assignment is caught up too once
 * it has been in the group for a rebalance. */
int ferry_consumer_caught_up(ferry_consumer_t *c);
/* True inside a revoke hook when the partitions were lost (the group moved on without this
 * member: its session timed out) rather than handed over: nothing can be committed for them. */
int ferry_consumer_assignment_lost(ferry_consumer_t *c);

/* The current assignment (a copy the caller destroys) or NULL. */
rd_kafka_topic_partition_list_t *ferry_consumer_assignment(ferry_consumer_t *c);

rd_kafka_t *ferry_consumer_rk(ferry_consumer_t *c);
const char *ferry_consumer_member_id(ferry_consumer_t *c, char *buf, size_t bufsz);

/* Commits stored offsets, leaves the group (running the revoke hook) and frees.
 * NULL is a no-op. Returns the commit status. */
ferry_status ferry_consumer_close(ferry_consumer_t *c, ferry_err_t *err);

/* ---- reader: a consumer of assigned partitions (lib/kafka_reader.c) ----------------------
 * For a worker that reads every partition of a topic itself (no subscription, no rebalance:
 * retrain, whose one trigger covers them all) and keeps its offsets in a group it never
 * joins: it reads them with ferry_kafka_reader_committed() and writes them only in a Kafka
 * transaction (ferry_txn_commit with ferry_kafka_reader_rk()). Auto commit and offset store
 * are off, auto.offset.reset is earliest, and the end of each partition is reported. */

typedef struct ferry_kafka_reader ferry_kafka_reader_t;

/* A partition of a topic and an offset in it. */
typedef struct ferry_kafka_position {
    int32_t partition;
    int64_t offset;
} ferry_kafka_position_t;

/* Creates a reader whose offsets are those of `group` (isolation.level read_committed when
 * read_committed is not 0, else read_uncommitted); nothing is assigned yet. Returns a new
 * reader, which the caller frees with ferry_kafka_reader_close(), or NULL with *err. */
ferry_kafka_reader_t *ferry_kafka_reader_new(const ferry_opts_t *o, const char *group,
                                             int read_committed, ferry_err_t *err);

/* The client handle, for the topic helpers below and ferry_txn_commit. Owned by the reader. */
rd_kafka_t *ferry_kafka_reader_rk(ferry_kafka_reader_t *r);

/* Sets at[i].offset to the group's committed offset of partition at[i].partition of `topic`
 * (negative when the group has none), waiting up to timeout_ms. Under read_committed a
 * commit still pending in a transaction is waited for. FERRY_OK, or the classified error. */
ferry_status ferry_kafka_reader_committed(ferry_kafka_reader_t *r, const char *topic,
                                          ferry_kafka_position_t *at, size_t n, int timeout_ms,
                                          ferry_err_t *err);

/* Reads partition from[i].partition of `topic` from offset from[i].offset (or
 * RD_KAFKA_OFFSET_BEGINNING / _END), for each i < n, in place of what was assigned before.
 * FERRY_OK or FERRY_FATAL. */
ferry_status ferry_kafka_reader_assign(ferry_kafka_reader_t *r, const char *topic,
                                       const ferry_kafka_position_t *from, size_t n,
                                       ferry_err_t *err);

/* Gives up every assigned partition. */
void ferry_kafka_reader_unassign(ferry_kafka_reader_t *r);

/* Waits up to timeout_ms for the next event. Returns a message the caller destroys with
 * rd_kafka_message_destroy(): a record (m->err 0), the end of a partition
 * (RD_KAFKA_RESP_ERR__PARTITION_EOF, m->partition says which) or a transient error (any other
 * m->err: rd_kafka_message_errstr() says what; librdkafka recovers by itself). NULL on
 * timeout, with *err cleared, or on a fatal consumer error, with *err FERRY_FATAL
 * ("consumer fatal error: ..."): the reader is unusable. */
rd_kafka_message_t *ferry_kafka_reader_poll(ferry_kafka_reader_t *r, int timeout_ms,
                                            ferry_err_t *err);

/* Closes the client (nothing is committed) and frees. NULL is a no-op. */
void ferry_kafka_reader_close(ferry_kafka_reader_t *r);

/* ---- message headers (lib/kafka_headers.c) ---- */

/* A new header list for ferry_producer_send(), which takes it over (also on failure): the
 * `pairs` are name, value, name, value, ..., NULL (NUL-terminated strings, copied, in order;
 * a name without a value ends the list too). */
rd_kafka_headers_t *ferry_kafka_headers_new(const char *const *pairs);

/* ---- admin ------------------------------------------------------------------------------ */

typedef struct ferry_topic_spec {
    const char *name;
    int partitions;
    int replication_factor;     /* -1: broker default */
    const char *const *configs; /* NULL-terminated "key", "value" pairs, or NULL */
} ferry_topic_spec_t;

/* Creates the topics that do not exist yet (existing ones are left as they are and
 * logged at debug level). Returns FERRY_OK or the first failure. */
ferry_status ferry_kafka_create_topics(const ferry_opts_t *o, const ferry_topic_spec_t *specs,
                                       size_t n, ferry_err_t *err);

/* Low (start) and high (end) watermark of one partition, asked through rk (any client
 * handle) within timeout_ms. A topic or partition that does not exist -> FERRY_USAGE; Kafka
 * not answering -> FERRY_RETRY; else as ferry_kafka_classify(). */
ferry_status ferry_kafka_watermarks(rd_kafka_t *rk, const char *topic, int32_t partition,
                                    int64_t *low, int64_t *high, int timeout_ms, ferry_err_t *err);

/* For every element of `parts` (the caller's list; its offset field holds a timestamp in ms
 * since the epoch on input) stores the earliest offset whose record timestamp is >= that
 * time, or -1 when no such record exists (the time is past the last record). */
ferry_status ferry_kafka_offsets_for_time(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
                                          int timeout_ms, ferry_err_t *err);

/* The value of topic config `name` (e.g. "max.message.bytes") as the broker reports it,
 * defaults included, into out ("" when the broker does not know it). Uses rk's connection. */
ferry_status ferry_kafka_topic_config(rd_kafka_t *rk, const char *topic, const char *name,
                                      char *out, size_t outsz, int timeout_ms, ferry_err_t *err);

/* Number of partitions of `topic`, asked through rk within timeout_ms; -1 with *err:
 * FERRY_USAGE for a name Kafka refuses or a topic that does not exist, FERRY_RETRY when the
 * brokers did not answer, else as ferry_kafka_classify(). */
int ferry_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms,
                                ferry_err_t *err);
/* FERRY_OK when `topic` exists (asked through rk, up to 10 s); otherwise an error whose
 * message says to create it (`ferry setup --topic NAME`): FERRY_RETRY when the brokers did not
 * answer, else FERRY_FATAL (a name Kafka refuses too). */
ferry_status ferry_kafka_require_topic(rd_kafka_t *rk, const char *topic, ferry_err_t *err);

#endif
