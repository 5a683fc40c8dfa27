/* dlq.h - the dead-letter helper.
 *
 * A record that cannot be processed is sent, byte for byte, to `<source topic>.dlq` with
 * the same key, its original headers, and these headers added:
 *   ferry.error.class       "poison" (bad data) or another ferry_status name
 *   ferry.error.reason      a short machine-readable reason ("undecodable", "type_conflict", ...)
 *   ferry.error.message     the human-readable message
 *   ferry.source.topic      source topic
 *   ferry.source.partition  source partition (decimal)
 *   ferry.source.offset     source offset (decimal)
 *   ferry.source.timestamp  source record timestamp in ms (decimal), when known
 *   ferry.dlq.time          when it was dead-lettered, ms since the epoch
 * The send goes through the program's idempotent producer; the caller flushes it before
 * committing the source offset, so a dead-lettered record is never lost. */
#ifndef FERRY_DLQ_H
#define FERRY_DLQ_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

#include "ferry/err.h"
#include "ferry/kafka.h"
#include "ferry/options.h"

/* Writes "<topic>.dlq" into out. */
void ferry_dlq_topic(const char *topic, char *out, size_t outsz);

/* Dead-letters a consumed message (through any producer, e.g. a worker's transactional one):
 * a value that would not fit under the producer's message.max.bytes with its key and headers
 * is cut to fit, with ferry.dlq.truncated = "true" and ferry.source.size (a dead letter that
 * cannot be sent would fail its transaction on every attempt). _raw does the same. */
ferry_status ferry_dlq_send(ferry_producer_t *p, const rd_kafka_message_t *src,
                            ferry_status error_class, const char *reason, const char *message,
                            ferry_err_t *err);

/* Dead-letters raw bytes with explicit source coordinates (for records that did not come
 * straight from a consumed message). timestamp_ms < 0 when unknown. */
ferry_status ferry_dlq_send_raw(ferry_producer_t *p, const char *src_topic, int32_t partition,
                                int64_t offset, int64_t timestamp_ms, const void *key,
                                size_t keylen, const void *value, size_t len,
                                ferry_status error_class, const char *reason, const char *message,
                                ferry_err_t *err);

/* ---- a dead-letter writer that never loses one and never wedges ----------------------------
 *
 * A consumer-group worker dead-letters through a ferry_dlq_t: its own idempotent producer
 * whose size limit is the DLQ topic's max.message.bytes (not librdkafka's 1,000,000-byte
 * default), a copy of every dead letter until the broker has it, and a sync that sends a
 * failed one again, with backoff, instead of spinning or giving up:
 *   - a record too big for the DLQ topic is dead-lettered truncated to fit, with the headers
 *     ferry.dlq.truncated = "true" and ferry.source.size = its size in bytes;
 *   - a delivery that fails (broker away, topic missing, a name the broker refuses) is
 *     reported and tried again after 1 s, 2 s, ... up to 30 s, until it is delivered or a
 *     stop is requested; the caller commits source offsets only after a successful sync. */
typedef struct ferry_dlq ferry_dlq_t;

/* Creates the writer from the options (brokers, -X). NULL with *err on failure. Free with
 * ferry_dlq_destroy(), which waits up to 30 s for what is still queued. */
ferry_dlq_t *ferry_dlq_new(const ferry_opts_t *o, ferry_err_t *err);
void ferry_dlq_destroy(ferry_dlq_t *d);

/* Queues the dead letter of a consumed message (bytes, key and headers are copied). */
ferry_status ferry_dlq_put(ferry_dlq_t *d, const rd_kafka_message_t *src, ferry_status error_class,
                           const char *reason, const char *message, ferry_err_t *err);

/* Waits until every queued dead letter is delivered (sending failed ones again with backoff).
 * FERRY_OK when all are in the DLQ; FERRY_RETRY when a stop was requested first (then the
 * caller must not commit the offsets of their sources). */
ferry_status ferry_dlq_sync(ferry_dlq_t *d, ferry_err_t *err);

/* Dead letters delivered, and delivery attempts that failed, since the writer was created. */
uint64_t ferry_dlq_delivered(const ferry_dlq_t *d);
uint64_t ferry_dlq_failures(const ferry_dlq_t *d);

#endif
