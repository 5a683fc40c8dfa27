/* dlq.c - dead-letter records with their reason and source coordinates
 * (see include/ferry/dlq.h). */
#include "ferry/dlq.h"
#include "ferry/buf.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"

#include <stdio.h>
#include <stdlib.h>
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
    snprintf(num, sizeof num, "%lld", (long long)(ferry_clock_now_us() / 1000));
    rd_kafka_header_add(hdrs, "ferry.dlq.time", -1, num, -1);
    return hdrs;
}

#define DLQ_DEFAULT_MAX_BYTES 1048588 /* Kafka's default max.message.bytes */
#define DLQ_OVERHEAD          1024    /* record and batch framing, with room to spare */

static size_t headers_size(rd_kafka_headers_t *h)
{
    size_t total = 0;
    const char *name;
    const void *val;
    size_t len;
    for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &len) == 0; i++)
        total += strlen(name) + len + 8;
    return total;
}

/* How much of a dead letter's value fits under `limit` bytes with its key and headers: all of
 * it, or what fits, with ferry.dlq.truncated = "true" and ferry.source.size added to hdrs (a
 * dead letter too big to send whole would fail for ever and wedge its worker). */
static size_t fit_value(rd_kafka_headers_t *hdrs, size_t keylen, size_t len, int64_t limit,
                        const char *src_topic, int32_t partition, int64_t offset, const char *topic)
{
    int64_t room = limit - (int64_t)keylen - (int64_t)headers_size(hdrs) - DLQ_OVERHEAD - 64;
    if ((int64_t)len <= room)
        return len;
    char size[32];
    snprintf(size, sizeof size, "%zu", len);
    rd_kafka_header_add(hdrs, "ferry.dlq.truncated", -1, "true", -1);
    rd_kafka_header_add(hdrs, "ferry.source.size", -1, size, -1);
    size_t keep = room > 0 ? (size_t)room : 0;
    ferry_warn("dead letter of %s[%d]@%lld is %zu bytes, more than %s takes: truncated to %zu",
               src_topic, partition, (long long)offset, len, topic, keep);
    return keep;
}

/* The producer's own limit (message.max.bytes), which a dead letter sent through it must keep
 * under. */
static int64_t producer_limit(ferry_producer_t *p)
{
    char v[32];
    size_t sz = sizeof v;
    if (rd_kafka_conf_get(rd_kafka_conf(ferry_producer_rk(p)), "message.max.bytes", v, &sz) !=
        RD_KAFKA_CONF_OK)
        return 1000000;
    return strtoll(v, NULL, 10);
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
    len = fit_value(hdrs, key ? keylen : 0, len, producer_limit(p), src_topic, partition, offset,
                    topic);
    return ferry_producer_send(p, topic, RD_KAFKA_PARTITION_UA, key, keylen, value, len, hdrs, NULL,
                               err);
}

/* The dead letter's headers: the record's own, then the error and its source coordinates. */
static rd_kafka_headers_t *source_headers(const rd_kafka_message_t *src, const char *src_topic,
                                          ferry_status error_class, const char *reason,
                                          const char *message)
{
    rd_kafka_headers_t *orig = NULL;
    rd_kafka_headers_t *hdrs;
    if (rd_kafka_message_headers(src, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR && orig)
        hdrs = rd_kafka_headers_copy(orig);
    else
        hdrs = rd_kafka_headers_new(10);
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(src, &tstype);
    dlq_headers(hdrs, src_topic, src->partition, src->offset, ts, error_class, reason, message);
    return hdrs;
}

ferry_status ferry_dlq_send(ferry_producer_t *p, const rd_kafka_message_t *src,
                            ferry_status error_class, const char *reason, const char *message,
                            ferry_err_t *err)
{
    const char *src_topic = rd_kafka_topic_name(src->rkt);
    char topic[512];
    ferry_dlq_topic(src_topic, topic, sizeof topic);
    rd_kafka_headers_t *hdrs = source_headers(src, src_topic, error_class, reason, message);
    size_t len = fit_value(hdrs, src->key ? src->key_len : 0, src->len, producer_limit(p),
                           src_topic, src->partition, src->offset, topic);
    return ferry_producer_send(p, topic, RD_KAFKA_PARTITION_UA, src->key, src->key_len,
                               src->payload, len, hdrs, NULL, err);
}

/* ---- the dead-letter writer --------------------------------------------------------------- */

typedef struct dlq_entry {
    char *topic;
    void *key, *value;
    size_t keylen, len;
    rd_kafka_headers_t *hdrs; /* a copy kept for resending */
    int state;                /* 0 queued, 1 delivered, 2 failed */
    char error[256];
} dlq_entry_t;

typedef struct dlq_limit {
    char *topic;
    int64_t max_bytes;
} dlq_limit_t;

struct ferry_dlq {
    ferry_producer_t *p;
    dlq_entry_t **e;
    size_t n, cap;
    dlq_limit_t *limits;
    size_t nlimits;
    uint64_t delivered, failures;
};

static void dlq_dr(const rd_kafka_message_t *rkm, void *msg_opaque, void *opaque)
{
    dlq_entry_t *e = msg_opaque;
    ferry_dlq_t *d = opaque;
    if (!e)
        return;
    if (rkm->err) {
        e->state = 2;
        snprintf(e->error, sizeof e->error, "%s", rd_kafka_err2str(rkm->err));
        d->failures++;
    } else {
        e->state = 1;
        d->delivered++;
    }
}

ferry_dlq_t *ferry_dlq_new(const ferry_opts_t *o, ferry_err_t *err)
{
    ferry_dlq_t *d = ferry_xcalloc(1, sizeof *d);
    /* the DLQ topic's own limit decides (below); librdkafka's must not be lower */
    static const char *const defaults[] = {"message.max.bytes", "1000000000", NULL};
    ferry_producer_conf_t pc = {.defaults = defaults, .dr_cb = dlq_dr, .dr_opaque = d};
    d->p = ferry_producer_new(o, &pc, err);
    if (!d->p) {
        free(d);
        return NULL;
    }
    return d;
}

static void entry_free(dlq_entry_t *e)
{
    free(e->topic);
    free(e->key);
    free(e->value);
    if (e->hdrs)
        rd_kafka_headers_destroy(e->hdrs);
    free(e);
}

static void entries_clear(ferry_dlq_t *d)
{
    for (size_t i = 0; i < d->n; i++)
        entry_free(d->e[i]);
    d->n = 0;
}

void ferry_dlq_destroy(ferry_dlq_t *d)
{
    if (!d)
        return;
    ferry_producer_destroy(d->p);
    entries_clear(d);
    free(d->e);
    for (size_t i = 0; i < d->nlimits; i++)
        free(d->limits[i].topic);
    free(d->limits);
    free(d);
}

/* The DLQ topic's max.message.bytes, asked once per topic. */
static int64_t topic_limit(ferry_dlq_t *d, const char *topic)
{
    for (size_t i = 0; i < d->nlimits; i++)
        if (strcmp(d->limits[i].topic, topic) == 0)
            return d->limits[i].max_bytes;
    char v[32];
    ferry_err_t err;
    int64_t max = DLQ_DEFAULT_MAX_BYTES;
    if (ferry_kafka_topic_config(ferry_producer_rk(d->p), topic, "max.message.bytes", v, sizeof v,
                                 10000, &err) == FERRY_OK &&
        v[0])
        max = strtoll(v, NULL, 10);
    else
        ferry_debug("max.message.bytes of %s unknown (%s): assuming %d", topic,
                    v[0] ? "?" : err.msg, DLQ_DEFAULT_MAX_BYTES);
    d->limits = ferry_xrealloc(d->limits, d->nlimits + 1, sizeof *d->limits);
    d->limits[d->nlimits++] = (dlq_limit_t){ferry_xstrndup(topic, strlen(topic)), max};
    return max;
}

static ferry_status entry_send(ferry_dlq_t *d, dlq_entry_t *e, ferry_err_t *err)
{
    e->state = 0;
    ferry_status st = ferry_producer_send(d->p, e->topic, RD_KAFKA_PARTITION_UA, e->key, e->keylen,
                                          e->value, e->len, rd_kafka_headers_copy(e->hdrs), e, err);
    if (st) {
        e->state = 2;
        snprintf(e->error, sizeof e->error, "%.200s", err ? err->msg : "produce failed");
        d->failures++;
    }
    return st;
}

ferry_status ferry_dlq_put(ferry_dlq_t *d, const rd_kafka_message_t *src, ferry_status error_class,
                           const char *reason, const char *message, ferry_err_t *err)
{
    const char *src_topic = rd_kafka_topic_name(src->rkt);
    char topic[512];
    ferry_dlq_topic(src_topic, topic, sizeof topic);
    rd_kafka_headers_t *hdrs = source_headers(src, src_topic, error_class, reason, message);
    dlq_entry_t *e = ferry_xcalloc(1, sizeof *e);
    e->topic = ferry_xstrndup(topic, strlen(topic));
    e->keylen = src->key ? src->key_len : 0;
    e->key = e->keylen ? ferry_xmemdup(src->key, e->keylen) : NULL;
    /* too big for the DLQ topic: keep what fits, say so and how big it was */
    e->len = fit_value(hdrs, e->keylen, src->len, topic_limit(d, topic), src_topic, src->partition,
                       src->offset, topic);
    e->value = e->len ? ferry_xmemdup(src->payload, e->len) : NULL;
    e->hdrs = hdrs;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->e = ferry_xrealloc(d->e, d->cap, sizeof *d->e);
    }
    d->e[d->n++] = e;
    /* a send that fails now is retried by ferry_dlq_sync, like a failed delivery */
    ferry_err_t local;
    entry_send(d, e, &local);
    (void)err;
    return FERRY_OK;
}

ferry_status ferry_dlq_sync(ferry_dlq_t *d, ferry_err_t *err)
{
    int64_t wait_ms = 1000;
    for (int round = 0;; round++) {
        ferry_err_t e;
        ferry_producer_flush(d->p, 30000, &e);
        size_t failed = 0, queued = 0;
        const char *why = NULL;
        for (size_t i = 0; i < d->n; i++) {
            if (d->e[i]->state == 2) {
                failed++;
                why = d->e[i]->error;
            } else if (d->e[i]->state == 0) {
                queued++;
            }
        }
        if (!failed && !queued) {
            entries_clear(d);
            return FERRY_OK;
        }
        if (failed)
            ferry_error("%zu dead letter(s) not delivered (%s); the source offsets stay "
                        "uncommitted; trying again in %lld s",
                        failed, why, (long long)(wait_ms / 1000));
        else
            ferry_warn("%zu dead letter(s) still in flight; waiting", queued);
        if (ferry_lifecycle_sleep_ms(wait_ms) < 0 || !ferry_lifecycle_running())
            return ferry_err_set(err, FERRY_RETRY, "stopped with %zu dead letter(s) undelivered",
                                 failed + queued);
        wait_ms = wait_ms * 2 > 30000 ? 30000 : wait_ms * 2;
        for (size_t i = 0; i < d->n; i++) {
            if (d->e[i]->state == 2) {
                ferry_err_t se;
                entry_send(d, d->e[i], &se);
            }
        }
        (void)round;
    }
}

uint64_t ferry_dlq_delivered(const ferry_dlq_t *d)
{
    return d->delivered;
}

uint64_t ferry_dlq_failures(const ferry_dlq_t *d)
{
    return d->failures;
}
