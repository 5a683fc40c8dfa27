/* features.c - `ferry retrain`'s feature consumer: where each partition of the feature topic
 * starts, counting WatchLogFeature records into the window, dead-lettering unusable ones
 * (see worker.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ferry/avro.h"
#include "ferry/dlq.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "worker.h"

ferry_status retrain_assign_start(retrain_worker_t *rt, const retrain_tpo_t *wm, size_t nwm,
                                  ferry_err_t *err)
{
    rd_kafka_t *rk = ferry_kafka_reader_rk(rt->reader);
    if (ferry_kafka_require_topic(rk, rt->topic, err) != FERRY_OK)
        return err->status;
    int n = ferry_kafka_partition_count(rk, rt->topic, 10000, err);
    if (n < 0)
        return err->status;
    rt->nparts = n;
    rt->parts = calloc((size_t)n, sizeof *rt->parts);
    ferry_kafka_position_t *at = calloc(n > 0 ? (size_t)n : 1, sizeof *at);
    if (!rt->parts || !at)
        abort();
    for (int p = 0; p < n; p++)
        at[p].partition = p;
    /* read_committed: librdkafka asks for stable offsets, so a pending transactional commit
     * (none: our init_transactions aborted it) would be waited for. */
    ferry_status st =
        ferry_kafka_reader_committed(rt->reader, rt->topic, at, (size_t)n, 30000, err);
    for (int p = 0; p < n && st == FERRY_OK; p++) {
        int64_t off = at[p].offset;
        const char *from = "committed";
        for (size_t i = 0; i < nwm && off < 0; i++)
            if (wm[i].partition == at[p].partition) {
                off = wm[i].offset;
                from = "last trigger";
            }
        if (off < 0) {
            int64_t lo = 0, hi = 0;
            st = ferry_kafka_watermarks(rk, rt->topic, at[p].partition, &lo, &hi, 10000, err);
            off = lo;
            from = "beginning";
        }
        at[p].offset = off;
        rt->parts[p].partition = at[p].partition;
        rt->parts[p].pos = off;
        if (st == FERRY_OK)
            ferry_debug("%s[%d] starts at %lld (%s)", rt->topic, at[p].partition, (long long)off,
                        from);
    }
    if (st == FERRY_OK)
        st = ferry_kafka_reader_assign(rt->reader, rt->topic, at, (size_t)n, err);
    free(at);
    return st;
}

retrain_part_t *retrain_find_part(retrain_worker_t *rt, int32_t partition)
{
    for (int i = 0; i < rt->nparts; i++)
        if (rt->parts[i].partition == partition)
            return &rt->parts[i];
    return NULL;
}

int retrain_all_eof(const retrain_worker_t *rt)
{
    for (int i = 0; i < rt->nparts; i++)
        if (!rt->parts[i].eof)
            return 0;
    return 1;
}

/* Dead-letters an unusable feature record in a transaction of its own. At-least-once: if
 * the worker dies before the next trigger commits the offsets past it, it is dead-lettered
 * again after the restart (the DLQ headers name its coordinates, so copies are
 * recognisable). */
static ferry_status dead_letter(retrain_worker_t *rt, const rd_kafka_message_t *m,
                                const char *reason, const char *msg, ferry_err_t *err)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        ferry_status st = ferry_txn_begin(rt->txn, err);
        if (st == FERRY_OK)
            st = ferry_dlq_send(ferry_txn_producer(rt->txn), m, FERRY_POISON, reason, msg, err);
        if (st == FERRY_OK)
            st = ferry_txn_commit(rt->txn, ferry_kafka_reader_rk(rt->reader), NULL, err);
        else if (st != FERRY_FATAL)
            st = ferry_txn_abort(rt->txn, NULL) == FERRY_OK ? FERRY_RETRY : FERRY_FATAL;
        if (st != FERRY_RETRY) {
            if (st == FERRY_OK)
                rt->dead++;
            return st;
        }
        ferry_lifecycle_sleep_ms(200);
    }
    return FERRY_RETRY;
}

ferry_status retrain_count_record(retrain_worker_t *rt, const rd_kafka_message_t *m,
                                  ferry_err_t *err)
{
    retrain_part_t *pt = retrain_find_part(rt, m->partition);
    if (!pt)
        return FERRY_OK;
    pt->eof = 0;
    ferry_err_t derr;
    ferry_status st = FERRY_OK;
    avro_value_t feature; /* borrowed from the decoder */
    ferry_framing framing = FERRY_FRAMING_NONE;
    int ds = m->payload ? ferry_decoder_value_wait(rt->fdec, m->payload, m->len, &feature, &framing,
                                                   rt->topic, &derr)
                        : FERRY_POISON;
    if (ds == FERRY_FATAL || ds == FERRY_RETRY) {
        if (err)
            *err = derr;
        return (ferry_status)ds;
    }
    if (ds != FERRY_OK) {
        char why[1200];
        snprintf(why, sizeof why, "%s: %s", ferry_framing_name(framing),
                 m->payload ? derr.msg : "empty record value");
        st = dead_letter(rt, m, "undecodable", why, err);
    } else {
        avro_value_t f;
        double rating = NAN, popularity = NAN;
        if (ferry_avro_field(&feature, "rating", &f, NULL) == FERRY_OK)
            avro_value_get_double(&f, &rating);
        if (ferry_avro_field(&feature, "popularity", &f, NULL) == FERRY_OK)
            avro_value_get_double(&f, &popularity);
        if (!isfinite(rating) || !isfinite(popularity)) {
            st = dead_letter(rt, m, "invalid_feature", "rating or popularity is not finite", err);
        } else {
            retrain_window_add(&rt->window, rating, popularity);
            rt->rows++;
        }
    }
    if (st != FERRY_OK)
        return st;
    pt->pos = m->offset + 1;
    return retrain_maybe_fire(rt, err);
}
