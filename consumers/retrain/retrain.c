/* retrain.c - `ferry retrain`: watches the WatchLogFeature stream (read_committed) and,
 * when the policy fires, publishes ONE RetrainRequested event carrying the exact data
 * watermark, in the same Kafka transaction as the consumed offsets up to that watermark.
 * `ferry retrain dispatch` (dispatch.c) delivers the events to a webhook.
 *
 * Exactly once, across crashes (docs/movies.md has the full argument):
 *   - offsets are committed ONLY in a trigger's transaction, and exactly at its watermark,
 *     so the committed offsets of the group are always the last trigger's watermark and
 *     "rows since the last trigger" is recounted from them after a restart;
 *   - the rest of the state (sequence number, total rows, time of the last trigger, its
 *     window statistics for the drift rule) is read back from the last RetrainRequested of
 *     the group on the retrain topic (read_committed), not from files;
 *   - one worker per group is active: the transactional.id is derived from the group, so a
 *     second instance fences the first (which stops), and a restarted worker aborts what its
 *     killed predecessor left open before it reads any state.
 * The worker reads every partition of the feature topic itself (manual assignment, offsets
 * kept in the group), because one trigger covers all partitions. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/command.h"
#include "ferry/avro.h"
#include "ferry/decoder.h"
#include "ferry/dlq.h"
#include "ferry/kafka.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/options.h"
#include "ferry/topics.h"
#include "ferry/txn.h"
#include "ferry/wire.h"
#include "policy.h"
#include "retrain.h"

#define STATE_HEADER "ferry.retrain.state"

static const ferry_opt_t retrain_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_GROUP("ferry-retrain"),
    FERRY_OPT_TOPIC(FERRY_TOPIC_FEATURES),
    {"retrain-topic", 0, FERRY_OPT_STRING, FERRY_TOPIC_RETRAIN, "TOPIC",
     "topic of the RetrainRequested events (written in Kafka transactions)", FERRY_OPTF_TOPIC_DLQ},
    {"min-new-rows", 0, FERRY_OPT_INT, "50000", "N",
     "fire when N feature rows arrived since the last trigger (0: rule off)", FERRY_OPTF_INT64},
    {"max-interval", 0, FERRY_OPT_DURATION, "0", "DURATION",
     "fire when this long passed since the last trigger (0: rule off), if at least "
     "--min-rows-for-interval rows arrived",
     0},
    {"min-rows-for-interval", 0, FERRY_OPT_INT, "1", "M",
     "rows the --max-interval rule needs in the window", FERRY_OPTF_INT64},
    {"drift-threshold", 0, FERRY_OPT_DOUBLE, "0", "X",
     "fire when |mean(new) - mean(last window)| / |mean(last window)| of the drift metric "
     "exceeds X (0: rule off)",
     0},
    {"drift-metric", 0, FERRY_OPT_STRING, "rating", "METRIC", "rating or popularity", 0},
    {"drift-min-rows", 0, FERRY_OPT_INT, "100", "N",
     "evaluate the drift rule only once the window holds N rows", FERRY_OPTF_INT64},
    {"transactional-id", 0, FERRY_OPT_STRING, NULL, "ID",
     "Kafka transactional.id (default ferry-retrain.GROUP: one active worker per group)", 0},
    {"until-idle", 0, FERRY_OPT_DURATION, NULL, "DURATION",
     "exit once every partition has been at its end for this long", 0},
    FERRY_OPT_WIRE_FORMAT,
    FERRY_OPT_SCHEMA_REGISTRY,
    FERRY_OPT_SCHEMAS_DIR,
    FERRY_OPT_END,
};

typedef struct part {
    int32_t partition;
    int64_t pos; /* next offset to count */
    int eof;
} part_t;

typedef struct rt {
    const char *group, *topic, *retrain_topic;
    retrain_policy_t policy;
    rd_kafka_t *rk; /* the consumer (manual assignment, offsets in `group`) */
    ferry_txn_t *txn;
    part_t *parts;
    int nparts;
    retrain_last_t last;
    retrain_window_t window;
    int64_t since_us; /* last trigger time, or start of counting */
    const ferry_schema_t *feature_schema, *retrain_schema;
    ferry_decoder_t *fdec, *tdec; /* WatchLogFeature / RetrainRequested, any framing */
    ferry_wire_t wire;            /* the framing of the triggers written */
    uint64_t rows, dead, triggers;
} rt_t;

/* ---- state from Kafka ------------------------------------------------------------------- */

static rd_kafka_t *consumer_new(const ferry_opts_t *o, const char *group, ferry_err_t *err)
{
    const char *defaults[] = {
        "group.id",
        group,
        "enable.auto.commit",
        "false",
        "enable.auto.offset.store",
        "false",
        "auto.offset.reset",
        "earliest",
        "enable.partition.eof",
        "true",
        "isolation.level",
        "read_committed",
        NULL,
    };
    rd_kafka_conf_t *conf = ferry_kafka_conf_new(o, defaults, err);
    if (!conf)
        return NULL;
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        ferry_err_set(err, FERRY_FATAL, "cannot create Kafka consumer: %s", errstr);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Reads one RetrainRequested with its state header; keeps it in *last (and its watermark in
 * *wm) when it belongs to (group, topic) and is later than what *last holds. FERRY_OK also for
 * a record that is not such a trigger; FERRY_FATAL for a trigger in registry framing without a
 * usable registry (it cannot be read, and firing again would duplicate it), FERRY_RETRY when a
 * stop came while waiting for the registry. */
static ferry_status consider_trigger(rt_t *rt, const rd_kafka_message_t *m, retrain_tpo_t **wm,
                                     size_t *nwm, ferry_err_t *err)
{
    rd_kafka_headers_t *hdrs = NULL;
    const void *hv = NULL;
    size_t hlen = 0;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(hdrs, STATE_HEADER, &hv, &hlen) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return FERRY_OK; /* not a ferry retrain worker's trigger */
    char group[512], topic[512];
    int64_t seq;
    retrain_summary_t window;
    if (retrain_state_parse(hv, hlen, group, sizeof group, topic, sizeof topic, &seq, &window) !=
            0 ||
        strcmp(group, rt->group) != 0 || strcmp(topic, rt->topic) != 0)
        return FERRY_OK;
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
    size_t n = 0;
    retrain_tpo_t *w = NULL;
    if (ferry_avro_field(&v, "watermark", &f, NULL) == FERRY_OK) {
        avro_value_get_size(&f, &n);
        w = calloc(n ? n : 1, sizeof *w);
        if (!w)
            abort();
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
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
        n = k;
    }
    free(*wm);
    *wm = w;
    *nwm = n;
    rt->last.have = 1;
    rt->last.seq = seq;
    rt->last.total_rows = total;
    rt->last.created_at_us = created;
    rt->last.window = window;
    return FERRY_OK;
}

/* Reads the whole retrain topic (read_committed) for the last trigger of this group.
 * Fills rt->last and the watermark of that trigger. An unknown topic means no trigger yet. */
static ferry_status load_last_trigger(rt_t *rt, const ferry_opts_t *o, retrain_tpo_t **wm,
                                      size_t *nwm, ferry_err_t *err)
{
    rd_kafka_t *rk = consumer_new(o, rt->group, err);
    if (!rk)
        return err->status;
    ferry_err_t perr;
    int n = ferry_kafka_partition_count(rk, rt->retrain_topic, 10000, &perr);
    if (n < 0) {
        ferry_info("retrain topic %s: %s; starting without a previous trigger", rt->retrain_topic,
                   perr.msg);
        rd_kafka_destroy(rk);
        return FERRY_OK;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    int pending = 0;
    for (int p = 0; p < n; p++) {
        int64_t lo = 0, hi = 0;
        if (ferry_kafka_watermarks(rk, rt->retrain_topic, p, &lo, &hi, 10000, err) != FERRY_OK) {
            rd_kafka_topic_partition_list_destroy(l);
            rd_kafka_destroy(rk);
            return err->status;
        }
        if (hi > lo) {
            rd_kafka_topic_partition_list_add(l, rt->retrain_topic, p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
            pending++;
        }
    }
    ferry_status st = FERRY_OK;
    if (pending > 0) {
        rd_kafka_assign(rk, l);
        int64_t deadline = ferry_mono_ms() + 60000;
        while (pending > 0) {
            if (!ferry_running() || ferry_mono_ms() > deadline) {
                st = ferry_err_set(err, FERRY_RETRY,
                                   "could not read the retrain topic %s to its end within 60 s",
                                   rt->retrain_topic);
                break;
            }
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
            if (!m)
                continue;
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                rd_kafka_topic_partition_t *tp =
                    rd_kafka_topic_partition_list_find(l, rt->retrain_topic, m->partition);
                if (tp && tp->offset != -1000) {
                    tp->offset = -1000; /* marks the partition done */
                    pending--;
                }
            } else if (!m->err) {
                if ((st = consider_trigger(rt, m, wm, nwm, err)) != FERRY_OK) {
                    rd_kafka_message_destroy(m);
                    break;
                }
            } else if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                st = ferry_err_set(err, FERRY_FATAL, "reading %s: %s", rt->retrain_topic,
                                   rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                break;
            } else {
                ferry_warn("reading %s: %s", rt->retrain_topic, rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_assign(rk, NULL);
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return st;
}

/* Positions every partition of the feature topic: the group's committed offset; else the
 * last trigger's watermark; else the partition's first offset. Then assigns them. */
static ferry_status assign_start(rt_t *rt, const retrain_tpo_t *wm, size_t nwm, ferry_err_t *err)
{
    if (retrain_require_topic(rt->rk, rt->topic, err) != FERRY_OK)
        return err->status;
    int n = ferry_kafka_partition_count(rt->rk, rt->topic, 10000, err);
    if (n < 0)
        return err->status;
    rt->nparts = n;
    rt->parts = calloc((size_t)n, sizeof *rt->parts);
    if (!rt->parts)
        abort();
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int p = 0; p < n; p++)
        rd_kafka_topic_partition_list_add(l, rt->topic, p)->offset = RD_KAFKA_OFFSET_INVALID;
    /* read_committed: librdkafka asks for stable offsets, so a pending transactional commit
     * (none: our init_transactions aborted it) would be waited for. */
    rd_kafka_resp_err_t e = rd_kafka_committed(rt->rk, l, 30000);
    if (e) {
        rd_kafka_topic_partition_list_destroy(l);
        return ferry_err_set(err, ferry_kafka_classify(e), "committed offsets of group %s: %s",
                             rt->group, rd_kafka_err2str(e));
    }
    for (int p = 0; p < n; p++) {
        rd_kafka_topic_partition_t *tp = &l->elems[p];
        int64_t off = tp->offset;
        const char *from = "committed";
        if (off < 0) {
            for (size_t i = 0; i < nwm && off < 0; i++)
                if (wm[i].partition == tp->partition) {
                    off = wm[i].offset;
                    from = "last trigger";
                }
        }
        if (off < 0) {
            int64_t lo = 0, hi = 0;
            if (ferry_kafka_watermarks(rt->rk, rt->topic, tp->partition, &lo, &hi, 10000, err) !=
                FERRY_OK) {
                rd_kafka_topic_partition_list_destroy(l);
                return err->status;
            }
            off = lo;
            from = "beginning";
        }
        tp->offset = off;
        rt->parts[p].partition = tp->partition;
        rt->parts[p].pos = off;
        ferry_debug("%s[%d] starts at %lld (%s)", rt->topic, tp->partition, (long long)off, from);
    }
    e = rd_kafka_assign(rt->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        return ferry_err_set(err, FERRY_FATAL, "assign: %s", rd_kafka_err2str(e));
    return FERRY_OK;
}

/* ---- firing ----------------------------------------------------------------------------- */

static part_t *find_part(rt_t *rt, int32_t partition)
{
    for (int i = 0; i < rt->nparts; i++)
        if (rt->parts[i].partition == partition)
            return &rt->parts[i];
    return NULL;
}

/* Publishes the trigger and commits the offsets at its watermark in one transaction.
 * FERRY_OK when committed; FERRY_RETRY when aborted (state unchanged: fire again);
 * FERRY_FATAL. */
static ferry_status fire(rt_t *rt, const char *reason, int drift_evaluated, double drift_score,
                         ferry_err_t *err)
{
    int64_t seq = rt->last.seq + 1;
    int64_t now = ferry_now_us();
    retrain_tpo_t *wm = calloc((size_t)rt->nparts, sizeof *wm);
    if (!wm)
        abort();
    rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(rt->nparts);
    for (int i = 0; i < rt->nparts; i++) {
        wm[i].partition = rt->parts[i].partition;
        wm[i].offset = rt->parts[i].pos;
        rd_kafka_topic_partition_list_add(offsets, rt->topic, wm[i].partition)->offset =
            wm[i].offset;
    }
    char id[96];
    retrain_trigger_id(rt->group, rt->topic, seq, wm, (size_t)rt->nparts, id, sizeof id);
    retrain_summary_t summary;
    retrain_window_summary(&rt->window, &summary);

    avro_value_t v, item;
    ferry_schema_new_value(rt->retrain_schema, &v);
    ferry_buf_t text = FERRY_BUF_INIT;
    retrain_policy_json(&rt->policy, rt->group, rt->topic, &text);
    /* checked setters: a RetrainRequested schema without one of these fields is an error
     * naming it (FERRY_FATAL), never a write through an unset value */
    ferry_status st =
        (ferry_status)(ferry_avro_set_string(&v, "trigger_id", id, err) ||
                       ferry_avro_set_string(&v, "reason", reason, err) ||
                       ferry_avro_set_long(&v, "new_rows", rt->window.rows, err) ||
                       ferry_avro_set_long(&v, "total_rows", rt->last.total_rows + rt->window.rows,
                                           err));
    for (int i = 0; i < rt->nparts && st == FERRY_OK; i++)
        if (ferry_avro_append(&v, "watermark", &item, err) ||
            ferry_avro_set_string(&item, "topic", rt->topic, err) ||
            ferry_avro_set_int(&item, "partition", wm[i].partition, err) ||
            ferry_avro_set_long(&item, "offset", wm[i].offset, err))
            st = FERRY_FATAL;
    if (st == FERRY_OK &&
        (ferry_avro_set_long(&v, "created_at", now, err) ||
         ferry_avro_set_string(&v, "policy", ferry_buf_cstr(&text), err) ||
         ferry_avro_set_opt_double(&v, "drift_score", drift_evaluated && isfinite(drift_score),
                                   drift_score, err) ||
         ferry_avro_set_opt_double(&v, "drift_threshold", rt->policy.drift_threshold > 0,
                                   rt->policy.drift_threshold, err)))
        st = FERRY_FATAL;
    st = st ? FERRY_FATAL : FERRY_OK;
    ferry_buf_t msg = FERRY_BUF_INIT;
    if (st == FERRY_OK)
        st = (ferry_status)ferry_avro_encode(rt->retrain_schema, &v, &msg, err);
    if (st == FERRY_OK)
        ferry_wire_frame(&rt->wire, &msg, 0);
    avro_value_decref(&v);
    ferry_buf_reset(&text);
    retrain_state_json(rt->group, rt->topic, seq, &summary, &text);

    if (st == FERRY_OK)
        st = ferry_txn_begin(rt->txn, err);
    if (st == FERRY_OK) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(2);
        rd_kafka_header_add(h, STATE_HEADER, -1, text.data, (ssize_t)text.len);
        /* Keyed by the group: one policy's triggers stay in order in one partition. */
        st = ferry_producer_send(ferry_txn_producer(rt->txn), rt->retrain_topic,
                                 RD_KAFKA_PARTITION_UA, rt->group, strlen(rt->group), msg.data,
                                 msg.len, h, NULL, err);
        if (st == FERRY_OK)
            st = ferry_txn_commit(rt->txn, rt->rk, offsets, err);
        else if (st != FERRY_FATAL && ferry_txn_abort(rt->txn, NULL) == FERRY_OK)
            st = FERRY_RETRY;
        else
            st = FERRY_FATAL;
    }
    if (st == FERRY_OK) {
        ferry_info("trigger %s fired (%s): %lld new rows, %lld in total", id, reason,
                   (long long)rt->window.rows, (long long)(rt->last.total_rows + rt->window.rows));
        rt->last.have = 1;
        rt->last.seq = seq;
        rt->last.total_rows += rt->window.rows;
        rt->last.created_at_us = now;
        rt->last.window = summary;
        memset(&rt->window, 0, sizeof rt->window);
        rt->since_us = now;
        rt->triggers++;
    }
    ferry_buf_free(&text);
    ferry_buf_free(&msg);
    rd_kafka_topic_partition_list_destroy(offsets);
    free(wm);
    return st;
}

/* Evaluates the policy and fires when it says so, retrying an aborted transaction.
 * Returns FERRY_OK or FERRY_FATAL (or FERRY_RETRY when stopped while retrying). */
static ferry_status maybe_fire(rt_t *rt, ferry_err_t *err)
{
    double score = 0;
    int evaluated = 0;
    const char *reason = retrain_policy_decide(&rt->policy, &rt->window, &rt->last, ferry_now_us(),
                                               rt->since_us, &score, &evaluated);
    if (!reason)
        return FERRY_OK;
    for (int attempt = 0;; attempt++) {
        ferry_status st = fire(rt, reason, evaluated, score, err);
        if (st != FERRY_RETRY)
            return st;
        ferry_warn("trigger not committed (%s); firing again", err->msg);
        if (ferry_sleep_ms(attempt < 5 ? 200 << attempt : 5000) != 0)
            return FERRY_RETRY;
    }
}

/* Dead-letters an unusable feature record in a transaction of its own. At-least-once: if
 * the worker dies before the next trigger commits the offsets past it, it is dead-lettered
 * again after the restart (the DLQ headers name its coordinates, so copies are
 * recognisable). */
static ferry_status dead_letter(rt_t *rt, const rd_kafka_message_t *m, const char *reason,
                                const char *msg, ferry_err_t *err)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        ferry_status st = ferry_txn_begin(rt->txn, err);
        if (st == FERRY_OK)
            st = ferry_dlq_send(ferry_txn_producer(rt->txn), m, FERRY_POISON, reason, msg, err);
        if (st == FERRY_OK)
            st = ferry_txn_commit(rt->txn, rt->rk, NULL, err);
        else if (st != FERRY_FATAL)
            st = ferry_txn_abort(rt->txn, NULL) == FERRY_OK ? FERRY_RETRY : FERRY_FATAL;
        if (st != FERRY_RETRY) {
            if (st == FERRY_OK)
                rt->dead++;
            return st;
        }
        ferry_sleep_ms(200);
    }
    return FERRY_RETRY;
}

/* Counts one feature record. Returns FERRY_OK or a failure that stops the worker. */
static ferry_status count_record(rt_t *rt, const rd_kafka_message_t *m, ferry_err_t *err)
{
    part_t *pt = find_part(rt, m->partition);
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
    if (st == FERRY_RETRY)
        return st;
    if (st != FERRY_OK)
        return st;
    pt->pos = m->offset + 1;
    return maybe_fire(rt, err);
}

static int all_eof(const rt_t *rt)
{
    for (int i = 0; i < rt->nparts; i++)
        if (!rt->parts[i].eof)
            return 0;
    return 1;
}

static int parse_policy(const ferry_opts_t *o, retrain_policy_t *p, const char *prog)
{
    memset(p, 0, sizeof *p);
    p->min_new_rows = ferry_opts_int(o, "min-new-rows");
    p->max_interval_ms = ferry_opts_duration_ms(o, "max-interval");
    p->min_rows_for_interval = ferry_opts_int(o, "min-rows-for-interval");
    p->drift_threshold = ferry_opts_double(o, "drift-threshold");
    p->drift_min_rows = ferry_opts_int(o, "drift-min-rows");
    const char *metric = ferry_opts_str(o, "drift-metric");
    if (strcmp(metric, "rating") == 0) {
        p->drift_metric = RETRAIN_RATING;
    } else if (strcmp(metric, "popularity") == 0) {
        p->drift_metric = RETRAIN_POPULARITY;
    } else {
        fprintf(stderr, "%s: --drift-metric must be rating or popularity\n", prog);
        return -1;
    }
    if (p->min_new_rows < 0 || p->max_interval_ms < 0 || p->min_rows_for_interval < 0 ||
        p->drift_min_rows < 0 || !(p->drift_threshold >= 0)) {
        fprintf(stderr, "%s: policy values must not be negative\n", prog);
        return -1;
    }
    if (p->min_new_rows == 0 && p->max_interval_ms == 0 && p->drift_threshold == 0) {
        fprintf(stderr,
                "%s: every rule is off: set --min-new-rows, --max-interval or "
                "--drift-threshold\n",
                prog);
        return -1;
    }
    return 0;
}

ferry_status retrain_require_topic(rd_kafka_t *rk, const char *topic, ferry_err_t *err)
{
    ferry_err_t e;
    if (ferry_kafka_partition_count(rk, topic, 10000, &e) >= 0)
        return FERRY_OK;
    return ferry_err_set(err, e.status == FERRY_RETRY ? FERRY_RETRY : FERRY_FATAL,
                         "%s (create it first, e.g. with `ferry setup --topic %s`)", e.msg, topic);
}

static int exit_for(ferry_status st)
{
    return st == FERRY_RETRY   ? FERRY_EXIT_UNAVAILABLE
           : st == FERRY_USAGE ? FERRY_EXIT_USAGE
                               : FERRY_EXIT_FAILED;
}

static int retrain_run(int argc, char **argv)
{
    ferry_opts_t *o = ferry_opts_new(
        argv[0], "[options]\n       ferry retrain dispatch --help",
        "Watches the WatchLogFeature topic (read_committed, every partition) and, when the "
        "policy fires, publishes one RetrainRequested event with the exact data watermark in "
        "the same Kafka transaction as the offsets up to it, so each watermark triggers exactly "
        "once even if the worker is killed at any moment. Its state after a restart comes from "
        "Kafka (the group's committed offsets and its last RetrainRequested). One worker per "
        "group is active (a second one fences the first). `ferry retrain dispatch` delivers the "
        "triggers to a webhook (Airflow's REST API or any JSON endpoint).",
        retrain_opts);
    int rc;
    if (!ferry_opts_parse_or_exit_code(o, argc, argv, &rc)) {
        ferry_opts_destroy(o);
        return rc;
    }
    rt_t rt;
    memset(&rt, 0, sizeof rt);
    if (parse_policy(o, &rt.policy, argv[0]) != 0) {
        ferry_opts_destroy(o);
        return FERRY_EXIT_USAGE;
    }
    ferry_err_t err;
    ferry_err_clear(&err);
    rt.group = ferry_opts_str(o, "group");
    rt.topic = ferry_opts_str(o, "topic");
    rt.retrain_topic = ferry_opts_str(o, "retrain-topic");
    rt.feature_schema = ferry_schema_get("WatchLogFeature");
    rt.retrain_schema = ferry_schema_get("RetrainRequested");
    if (!rt.feature_schema || !rt.retrain_schema) {
        ferry_error("the embedded WatchLogFeature / RetrainRequested schemas are missing");
        ferry_opts_destroy(o);
        return FERRY_EXIT_FAILED;
    }
    char txn_id[512];
    snprintf(txn_id, sizeof txn_id, "%s",
             ferry_opts_str(o, "transactional-id") ? ferry_opts_str(o, "transactional-id") : "");
    if (!txn_id[0])
        snprintf(txn_id, sizeof txn_id, "ferry-retrain.%s", rt.group);
    retrain_tpo_t *wm = NULL;
    size_t nwm = 0;
    rc = FERRY_EXIT_OK;
    rt.fdec = ferry_decoder_from_opts(o, rt.feature_schema, &err);
    rt.tdec = rt.fdec ? ferry_decoder_from_opts(o, rt.retrain_schema, &err) : NULL;
    ferry_status ws =
        rt.tdec ? ferry_wire_setup_wait(o, rt.retrain_schema, rt.retrain_topic, &rt.wire, &err)
                : FERRY_USAGE;
    if (ws != FERRY_OK) {
        ferry_error("%s", err.msg);
        rc = ferry_exit_for(ws);
        goto out;
    }

    /* 1. fence any predecessor and abort what it left open; 2. read the last trigger;
     * 3. position at the committed offsets (= the last trigger's watermark). */
    char dlq[512];
    ferry_dlq_topic(rt.topic, dlq, sizeof dlq);
    /* Start-up talks to the transaction coordinator and reads the retrain topic; a broker
     * that is slow or briefly away (FERRY_RETRY) is waited for, not a reason to exit. */
    for (int attempt = 1;; attempt++) {
        ferry_status sst = FERRY_OK;
        rt.txn = ferry_txn_new(o, txn_id, NULL, &err);
        if (!rt.txn ||
            retrain_require_topic(ferry_producer_rk(ferry_txn_producer(rt.txn)), rt.retrain_topic,
                                  &err) ||
            retrain_require_topic(ferry_producer_rk(ferry_txn_producer(rt.txn)), dlq, &err) ||
            load_last_trigger(&rt, o, &wm, &nwm, &err) != FERRY_OK)
            sst = err.status ? err.status : FERRY_FATAL;
        if (sst == FERRY_OK) {
            rt.rk = consumer_new(o, rt.group, &err);
            if (!rt.rk || assign_start(&rt, wm, nwm, &err) != FERRY_OK)
                sst = err.status ? err.status : FERRY_FATAL;
        }
        if (sst == FERRY_OK)
            break;
        if (sst != FERRY_RETRY || attempt >= 10 || !ferry_running()) {
            ferry_error("%s", err.msg);
            rc = exit_for(sst);
            goto out;
        }
        ferry_warn("start-up: %s; trying again (attempt %d of 10)", err.msg, attempt);
        if (rt.rk) {
            rd_kafka_consumer_close(rt.rk);
            rd_kafka_destroy(rt.rk);
            rt.rk = NULL;
        }
        ferry_txn_destroy(rt.txn);
        rt.txn = NULL;
        free(rt.parts);
        rt.parts = NULL;
        free(wm);
        wm = NULL;
        nwm = 0;
        memset(&rt.last, 0, sizeof rt.last);
        ferry_sleep_ms(2000);
    }
    rt.since_us = rt.last.have ? rt.last.created_at_us : ferry_now_us();
    if (rt.last.have)
        ferry_info("last trigger of group %s: #%lld, %lld rows in total", rt.group,
                   (long long)rt.last.seq, (long long)rt.last.total_rows);
    else
        ferry_info("group %s has no trigger yet", rt.group);
    ferry_info("watching %s (%d partitions) -> %s (transactional id %s)", rt.topic, rt.nparts,
               rt.retrain_topic, txn_id);

    int64_t idle_ms =
        ferry_opts_is_set(o, "until-idle") ? ferry_opts_duration_ms(o, "until-idle") : -1;
    int64_t idle_since = -1;
    ferry_status st = FERRY_OK;
    while (ferry_running() && st == FERRY_OK) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rt.rk, 200);
        if (m && !m->err) {
            idle_since = -1;
            st = count_record(&rt, m, &err);
        } else if (m && m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            part_t *pt = find_part(&rt, m->partition);
            if (pt)
                pt->eof = 1;
        } else if (m && m->err == RD_KAFKA_RESP_ERR__FATAL) {
            char reason[256];
            rd_kafka_fatal_error(rt.rk, reason, sizeof reason);
            st = ferry_err_set(&err, FERRY_FATAL, "consumer fatal error: %s", reason);
        } else if (m) {
            ferry_warn("consumer: %s", rd_kafka_message_errstr(m));
        } else {
            st = maybe_fire(&rt, &err); /* the time-based rule */
            if (st == FERRY_OK && idle_ms >= 0 && all_eof(&rt)) {
                if (idle_since < 0)
                    idle_since = ferry_mono_ms();
                else if (ferry_mono_ms() - idle_since >= idle_ms)
                    break;
            }
        }
        if (m)
            rd_kafka_message_destroy(m);
    }
    if (st != FERRY_OK && ferry_running()) {
        ferry_error("%s", err.msg);
        rc = exit_for(st);
    }
    ferry_info("done: %llu rows counted, %llu triggers fired, %llu records dead-lettered; "
               "%lld rows wait for the next trigger",
               (unsigned long long)rt.rows, (unsigned long long)rt.triggers,
               (unsigned long long)rt.dead, (long long)rt.window.rows);
out:
    if (rt.rk) {
        rd_kafka_consumer_close(rt.rk);
        rd_kafka_destroy(rt.rk);
    }
    ferry_txn_destroy(rt.txn);
    free(rt.parts);
    free(wm);
    ferry_decoder_free(rt.fdec);
    ferry_decoder_free(rt.tdec);
    if (rc == FERRY_EXIT_OK && ferry_stop_signal() && ferry_opts_is_set(o, "until-idle"))
        rc = 128 + ferry_stop_signal();
    ferry_opts_destroy(o);
    return rc;
}

int cmd_retrain(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "dispatch") == 0) {
        char prog[] = "ferry retrain dispatch";
        argv[1] = prog;
        return retrain_dispatch(argc - 1, argv + 1);
    }
    return retrain_run(argc, argv);
}
