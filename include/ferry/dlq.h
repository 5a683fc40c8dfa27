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

/* Writes "<topic>.dlq" into out. */
void ferry_dlq_topic(const char *topic, char *out, size_t outsz);

/* Dead-letters a consumed message. */
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

#endif
