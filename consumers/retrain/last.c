/* last.c - `ferry retrain`'s state from Kafka: the last RetrainRequested of the group, read
 * back from the retrain topic (read_committed) at start-up (see worker.h). */
#include <stdlib.h>
#include <string.h>

#include "ferry/avro.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "trigger.h"
#include "worker.h"

#define READ_DEADLINE_MS 60000

/* The watermark of a trigger value on rt->topic: a new array (*n entries). */
static retrain_tpo_t *watermark_of(const retrain_worker_t *rt, const avro_value_t *v, size_t *n)
{
    avro_value_t f;
    *n = 0;
    if (ferry_avro_field(v, "watermark", &f, NULL) != FERRY_OK)
        return NULL;
    size_t items = 0;
    avro_value_get_size(&f, &items);
    retrain_tpo_t *w = calloc(items ? items : 1, sizeof *w);
    if (!w)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < items; i++) {
        avro_value_t item, x;
        const char *t = NULL;
        if (avro_value_get_by_index(&f, i, &item, NULL) != 0 ||
            ferry_avro_field(&item, "topic", &x, NULL) != FERRY_OK ||
            ferry_avro_get_string(&x, &t, NULL) != FERRY_OK || strcmp(t, rt->topic) != 0)
            continue;
        if (ferry_avro_field(&item, "partition", &x, NULL) == FERRY_OK)
            avro_value_get_int(&x, &w[k].partition);
        if (ferry_avro_field(&item, "offset", &x, NULL) == FERRY_OK)
            avro_value_get_long(&x, &w[k].offset);
        k++;
    }
    *n = k;
    return w;
}

/* Reads one RetrainRequested with its state header; keeps it in rt->last (and its watermark in
 * *wm) when it belongs to (group, topic) and is later than what rt->last holds. FERRY_OK also
 * for a record that is not such a trigger; FERRY_FATAL for a trigger in registry framing
 * without a usable registry (it cannot be read, and firing again would duplicate it),
 * FERRY_RETRY when a stop came while waiting for the registry. */
static ferry_status consider_trigger(retrain_worker_t *rt, const rd_kafka_message_t *m,
                                     retrain_tpo_t **wm, size_t *nwm, ferry_err_t *err)
{
    char group[512], topic[512];
    int64_t seq;
    retrain_summary_t window;
    if (retrain_message_state(m, group, sizeof group, topic, sizeof topic, &seq, &window) != 0 ||
        strcmp(group, rt->group) != 0 || strcmp(topic, rt->topic) != 0)
        return FERRY_OK; /* not a trigger of this worker's group */
    if (rt->last.have && seq <= rt->last.seq)
        return FERRY_OK;
    avro_value_t v, f; /* v is borrowed from the decoder */
    int ds =
        ferry_decoder_value_wait(rt->tdec, m->payload, m->len, &v, NULL, rt->retrain_topic, err);
    if (ds == FERRY_FATAL || ds == FERRY_RETRY)
        return (ferry_status)ds;
    if (ds != FERRY_OK)
        return FERRY_OK;
    int64_t total = 0, created = 0;
    if (ferry_avro_field(&v, "total_rows", &f, NULL) == FERRY_OK)
        avro_value_get_long(&f, &total);
    if (ferry_avro_field(&v, "created_at", &f, NULL) == FERRY_OK)
        avro_value_get_long(&f, &created);
    free(*wm);
    *wm = watermark_of(rt, &v, nwm);
    rt->last.have = 1;
    rt->last.seq = seq;
    rt->last.total_rows = total;
    rt->last.created_at_us = created;
    rt->last.window = window;
    return FERRY_OK;
}

/* Reads the assigned partitions from[0..n) to their ends (each done at its first end),
 * considering every trigger. */
static ferry_status read_to_end(retrain_worker_t *rt, ferry_kafka_reader_t *r,
                                ferry_kafka_position_t *from, size_t n, retrain_tpo_t **wm,
                                size_t *nwm, ferry_err_t *err)
{
    size_t pending = n;
    int64_t deadline = ferry_clock_mono_ms() + READ_DEADLINE_MS;
    while (pending > 0) {
        if (!ferry_lifecycle_running() || ferry_clock_mono_ms() > deadline)
            return ferry_err_set(err, FERRY_RETRY,
                                 "could not read the retrain topic %s to its end within 60 s",
                                 rt->retrain_topic);
        ferry_err_t perr;
        rd_kafka_message_t *m = ferry_kafka_reader_poll(r, 200, &perr);
        if (!m) {
            if (perr.status == FERRY_FATAL)
                return ferry_err_set(err, FERRY_FATAL, "reading %s: %s", rt->retrain_topic,
                                     perr.msg);
            continue;
        }
        ferry_status st = FERRY_OK;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            for (size_t i = 0; i < n; i++)
                if (from[i].partition == m->partition && from[i].offset != -1000) {
                    from[i].offset = -1000; /* marks the partition done */
                    pending--;
                }
        } else if (!m->err) {
            st = consider_trigger(rt, m, wm, nwm, err);
        } else {
            ferry_warn("reading %s: %s", rt->retrain_topic, rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
        if (st != FERRY_OK)
            return st;
    }
    return FERRY_OK;
}

ferry_status retrain_load_last(retrain_worker_t *rt, const ferry_opts_t *o, retrain_tpo_t **wm,
                               size_t *nwm, ferry_err_t *err)
{
    ferry_kafka_reader_t *r = ferry_kafka_reader_new(o, rt->group, 1, err);
    if (!r)
        return err->status;
    rd_kafka_t *rk = ferry_kafka_reader_rk(r);
    ferry_err_t perr;
    int n = ferry_kafka_partition_count(rk, rt->retrain_topic, 10000, &perr);
    if (n < 0) {
        ferry_info("retrain topic %s: %s; starting without a previous trigger", rt->retrain_topic,
                   perr.msg);
        ferry_kafka_reader_close(r);
        return FERRY_OK;
    }
    ferry_kafka_position_t *from = calloc(n > 0 ? (size_t)n : 1, sizeof *from);
    if (!from)
        abort();
    size_t pending = 0;
    ferry_status st = FERRY_OK;
    for (int p = 0; p < n && st == FERRY_OK; p++) {
        int64_t lo = 0, hi = 0;
        st = ferry_kafka_watermarks(rk, rt->retrain_topic, p, &lo, &hi, 10000, err);
        if (st == FERRY_OK && hi > lo)
            from[pending++] = (ferry_kafka_position_t){p, RD_KAFKA_OFFSET_BEGINNING};
    }
    if (st == FERRY_OK && pending > 0) {
        ferry_kafka_reader_assign(r, rt->retrain_topic, from, pending, NULL);
        st = read_to_end(rt, r, from, pending, wm, nwm, err);
        ferry_kafka_reader_unassign(r);
    }
    free(from);
    ferry_kafka_reader_close(r);
    return st;
}
