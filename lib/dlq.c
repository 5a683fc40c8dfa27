/* dlq.c - dead-letter records with their reason and source coordinates
 * (see include/ferry/dlq.h). */
#include "ferry/dlq.h"
#include "ferry/lifecycle.h"

#include <stdio.h>
#include <string.h>

void ferry_dlq_topic(const char *topic, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s.dlq", topic);
}

static rd_kafka_headers_t *dlq_headers(rd_kafka_headers_t *hdrs, const char *src_topic,
                                       int32_t partition, int64_t offset, int64_t ts_ms,
                                       ferry_status error_class, const char *reason,
                                       const char *message)
{
    char num[32];
    rd_kafka_header_add(hdrs, "ferry.error.class", -1, ferry_status_name(error_class), -1);
    rd_kafka_header_add(hdrs, "ferry.error.reason", -1, reason ? reason : "unknown", -1);
    rd_kafka_header_add(hdrs, "ferry.error.message", -1, message ? message : "", -1);
    rd_kafka_header_add(hdrs, "ferry.source.topic", -1, src_topic, -1);
    snprintf(num, sizeof num, "%d", partition);
    rd_kafka_header_add(hdrs, "ferry.source.partition", -1, num, -1);
    snprintf(num, sizeof num, "%lld", (long long)offset);
    rd_kafka_header_add(hdrs, "ferry.source.offset", -1, num, -1);
    if (ts_ms >= 0) {
        snprintf(num, sizeof num, "%lld", (long long)ts_ms);
        rd_kafka_header_add(hdrs, "ferry.source.timestamp", -1, num, -1);
    }
    snprintf(num, sizeof num, "%lld", (long long)(ferry_now_us() / 1000));
    rd_kafka_header_add(hdrs, "ferry.dlq.time", -1, num, -1);
    return hdrs;
}

ferry_status ferry_dlq_send_raw(ferry_producer_t *p, const char *src_topic, int32_t partition,
                                int64_t offset, int64_t timestamp_ms, const void *key,
                                size_t keylen, const void *value, size_t len,
                                ferry_status error_class, const char *reason, const char *message,
                                ferry_err_t *err)
{
    char topic[512];
    ferry_dlq_topic(src_topic, topic, sizeof topic);
    rd_kafka_headers_t *hdrs = dlq_headers(rd_kafka_headers_new(8), src_topic, partition, offset,
                                           timestamp_ms, error_class, reason, message);
    return ferry_producer_send(p, topic, RD_KAFKA_PARTITION_UA, key, keylen, value, len, hdrs, NULL,
                               err);
}

ferry_status ferry_dlq_send(ferry_producer_t *p, const rd_kafka_message_t *src,
                            ferry_status error_class, const char *reason, const char *message,
                            ferry_err_t *err)
{
    const char *src_topic = rd_kafka_topic_name(src->rkt);
    char topic[512];
    ferry_dlq_topic(src_topic, topic, sizeof topic);
    rd_kafka_headers_t *orig = NULL;
    rd_kafka_headers_t *hdrs;
    if (rd_kafka_message_headers(src, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR && orig)
        hdrs = rd_kafka_headers_copy(orig);
    else
        hdrs = rd_kafka_headers_new(8);
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(src, &tstype);
    dlq_headers(hdrs, src_topic, src->partition, src->offset, ts, error_class, reason, message);
    return ferry_producer_send(p, topic, RD_KAFKA_PARTITION_UA, src->key, src->key_len,
                               src->payload, src->len, hdrs, NULL, err);
}
