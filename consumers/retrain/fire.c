/* fire.c - `ferry retrain`'s trigger producer: when the policy fires, one RetrainRequested
 * event carrying the exact watermark, published in the same Kafka transaction as the offsets
 * up to that watermark (see worker.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/avro.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "trigger.h"
#include "worker.h"

/* What one trigger says, besides the worker's own state. */
typedef struct shot {
    const char *reason;
    int drift_evaluated;
    double drift_score;
    int64_t seq, now_us;
    const char *id;
    const retrain_tpo_t *wm; /* rt->nparts entries */
    const char *policy;      /* the policy as JSON text */
} shot_t;

/* Appends the RetrainRequested event of `s` to *msg, framed as rt->wire says. Checked
 * setters: a RetrainRequested schema without one of these fields is an error naming it
 * (FERRY_FATAL), never a write through an unset value. */
static ferry_status encode_trigger(retrain_worker_t *rt, const shot_t *s, ferry_buf_t *msg,
                                   ferry_err_t *err)
{
    avro_value_t v, item;
    if (ferry_schema_new_value(rt->retrain_schema, &v) != FERRY_OK)
        return ferry_err_set(err, FERRY_FATAL, "out of memory for a RetrainRequested value");
    int bad = ferry_avro_set_string(&v, "trigger_id", s->id, err) ||
              ferry_avro_set_string(&v, "reason", s->reason, err) ||
              ferry_avro_set_long(&v, "new_rows", rt->window.rows, err) ||
              ferry_avro_set_long(&v, "total_rows", rt->last.total_rows + rt->window.rows, err);
    for (int i = 0; i < rt->nparts && !bad; i++)
        bad = ferry_avro_append(&v, "watermark", &item, err) ||
              ferry_avro_set_string(&item, "topic", rt->topic, err) ||
              ferry_avro_set_int(&item, "partition", s->wm[i].partition, err) ||
              ferry_avro_set_long(&item, "offset", s->wm[i].offset, err);
    bad =
        bad || ferry_avro_set_long(&v, "created_at", s->now_us, err) ||
        ferry_avro_set_string(&v, "policy", s->policy, err) ||
        ferry_avro_set_opt_double(&v, "drift_score", s->drift_evaluated && isfinite(s->drift_score),
                                  s->drift_score, err) ||
        ferry_avro_set_opt_double(&v, "drift_threshold", rt->policy.drift_threshold > 0,
                                  rt->policy.drift_threshold, err);
    ferry_status st = bad ? FERRY_FATAL : FERRY_OK;
    if (st == FERRY_OK)
        st = (ferry_status)ferry_avro_encode(rt->retrain_schema, &v, msg, err);
    if (st == FERRY_OK)
        ferry_wire_frame(&rt->wire, msg, 0);
    avro_value_decref(&v);
    return st;
}

/* Sends the trigger `msg` with its state header and commits it with `offsets` for the group
 * in one transaction. FERRY_OK when committed; FERRY_RETRY when aborted; FERRY_FATAL. */
static ferry_status publish(retrain_worker_t *rt, const ferry_buf_t *msg, const char *state,
                            const rd_kafka_topic_partition_list_t *offsets, ferry_err_t *err)
{
    ferry_status st = ferry_txn_begin(rt->txn, err);
    if (st != FERRY_OK)
        return st;
    const char *headers[] = {RETRAIN_STATE_HEADER, state, NULL};
    /* Keyed by the group: one policy's triggers stay in order in one partition. */
    st = ferry_producer_send(ferry_txn_producer(rt->txn), rt->retrain_topic, RD_KAFKA_PARTITION_UA,
                             rt->group, strlen(rt->group), msg->data, msg->len,
                             ferry_kafka_headers_new(headers), NULL, err);
    if (st == FERRY_OK)
        return ferry_txn_commit(rt->txn, ferry_kafka_reader_rk(rt->reader), offsets, err);
    if (st != FERRY_FATAL && ferry_txn_abort(rt->txn, NULL) == FERRY_OK)
        return FERRY_RETRY;
    return FERRY_FATAL;
}

/* Publishes the trigger and commits the offsets at its watermark in one transaction.
 * FERRY_OK when committed; FERRY_RETRY when aborted (state unchanged: fire again);
 * FERRY_FATAL. */
static ferry_status fire(retrain_worker_t *rt, const char *reason, int drift_evaluated,
                         double drift_score, ferry_err_t *err)
{
    shot_t s = {.reason = reason,
                .drift_evaluated = drift_evaluated,
                .drift_score = drift_score,
                .seq = rt->last.seq + 1,
                .now_us = ferry_clock_now_us()};
    retrain_tpo_t *wm = calloc((size_t)rt->nparts, sizeof *wm);
    if (!wm)
        abort();
    rd_kafka_topic_partition_list_t *offsets = ferry_txn_offsets_new((size_t)rt->nparts);
    for (int i = 0; i < rt->nparts; i++) {
        wm[i].partition = rt->parts[i].partition;
        wm[i].offset = rt->parts[i].pos;
        ferry_txn_offsets_add(offsets, rt->topic, wm[i].partition, wm[i].offset);
    }
    char id[96];
    retrain_trigger_id(rt->group, rt->topic, s.seq, wm, (size_t)rt->nparts, id, sizeof id);
    s.id = id;
    s.wm = wm;
    retrain_summary_t summary;
    retrain_window_summary(&rt->window, &summary);
    ferry_buf_t text = FERRY_BUF_INIT, msg = FERRY_BUF_INIT;
    retrain_policy_json(&rt->policy, rt->group, rt->topic, &text);
    s.policy = ferry_buf_cstr(&text);
    ferry_status st = encode_trigger(rt, &s, &msg, err);
    ferry_buf_reset(&text);
    retrain_state_json(rt->group, rt->topic, s.seq, &summary, &text);
    if (st == FERRY_OK)
        st = publish(rt, &msg, ferry_buf_cstr(&text), offsets, err);
    if (st == FERRY_OK) {
        ferry_info("trigger %s fired (%s): %lld new rows, %lld in total", id, reason,
                   (long long)rt->window.rows, (long long)(rt->last.total_rows + rt->window.rows));
        rt->last.have = 1;
        rt->last.seq = s.seq;
        rt->last.total_rows += rt->window.rows;
        rt->last.created_at_us = s.now_us;
        rt->last.window = summary;
        memset(&rt->window, 0, sizeof rt->window);
        rt->since_us = s.now_us;
        rt->triggers++;
    }
    ferry_buf_free(&text);
    ferry_buf_free(&msg);
    rd_kafka_topic_partition_list_destroy(offsets);
    free(wm);
    return st;
}

ferry_status retrain_maybe_fire(retrain_worker_t *rt, ferry_err_t *err)
{
    double score = 0;
    int evaluated = 0;
    const char *reason =
        retrain_policy_decide(&rt->policy, &rt->window, &rt->last, ferry_clock_now_us(),
                              rt->since_us, &score, &evaluated);
    if (!reason)
        return FERRY_OK;
    for (int attempt = 0;; attempt++) {
        ferry_status st = fire(rt, reason, evaluated, score, err);
        if (st != FERRY_RETRY)
            return st;
        ferry_warn("trigger not committed (%s); firing again", err->msg);
        if (ferry_lifecycle_sleep_ms(attempt < 5 ? 200 << attempt : 5000) != 0)
            return FERRY_RETRY;
    }
}
