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
 *     the group on the retrain topic (read_committed), not from files (last.c);
 *   - one worker per group is active: the transactional.id is derived from the group, so a
 *     second instance fences the first (which stops), and a restarted worker aborts what its
 *     killed predecessor left open before it reads any state.
 * The worker reads every partition of the feature topic itself (a ferry_kafka_reader_t:
 * manual assignment, offsets kept in the group), because one trigger covers all partitions
 * (features.c). This file is the command: options, start-up and the poll loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/command.h"
#include "ferry/dlq.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/topics.h"
#include "retrain.h"
#include "worker.h"

#define STARTUP_ATTEMPTS 10

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

/* Drops what a failed start-up attempt built, for the next one. */
static void startup_undo(retrain_worker_t *rt, retrain_tpo_t **wm, size_t *nwm)
{
    ferry_kafka_reader_close(rt->reader);
    rt->reader = NULL;
    ferry_txn_destroy(rt->txn);
    rt->txn = NULL;
    free(rt->parts);
    rt->parts = NULL;
    free(*wm);
    *wm = NULL;
    *nwm = 0;
    memset(&rt->last, 0, sizeof rt->last);
}

/* 1. fence any predecessor and abort what it left open; 2. read the last trigger;
 * 3. position at the committed offsets (= the last trigger's watermark). Start-up talks to the
 * transaction coordinator and reads the retrain topic; a broker that is slow or briefly away
 * (FERRY_RETRY) is waited for, not a reason to exit. Returns FERRY_OK, or the status of the
 * last attempt with *err. */
static ferry_status startup(retrain_worker_t *rt, const ferry_opts_t *o, const char *txn_id,
                            retrain_tpo_t **wm, size_t *nwm, ferry_err_t *err)
{
    char dlq[512];
    ferry_dlq_topic(rt->topic, dlq, sizeof dlq);
    for (int attempt = 1;; attempt++) {
        ferry_status sst = FERRY_OK;
        rt->txn = ferry_txn_new(o, txn_id, NULL, err);
        rd_kafka_t *prk = rt->txn ? ferry_producer_rk(ferry_txn_producer(rt->txn)) : NULL;
        if (!rt->txn || ferry_kafka_require_topic(prk, rt->retrain_topic, err) ||
            ferry_kafka_require_topic(prk, dlq, err) ||
            retrain_load_last(rt, o, wm, nwm, err) != FERRY_OK)
            sst = err->status ? err->status : FERRY_FATAL;
        if (sst == FERRY_OK) {
            rt->reader = ferry_kafka_reader_new(o, rt->group, 1, err);
            if (!rt->reader || retrain_assign_start(rt, *wm, *nwm, err) != FERRY_OK)
                sst = err->status ? err->status : FERRY_FATAL;
        }
        if (sst == FERRY_OK)
            return FERRY_OK;
        if (sst != FERRY_RETRY || attempt >= STARTUP_ATTEMPTS || !ferry_lifecycle_running())
            return sst;
        ferry_warn("start-up: %s; trying again (attempt %d of %d)", err->msg, attempt,
                   STARTUP_ATTEMPTS);
        startup_undo(rt, wm, nwm);
        ferry_lifecycle_sleep_ms(2000);
    }
}

/* The poll loop: counts records, fires, and with idle_ms >= 0 ends once every partition has
 * been at its end that long. Returns FERRY_OK when it ended (or a stop came), else the
 * failure, with *err. */
static ferry_status run(retrain_worker_t *rt, int64_t idle_ms, ferry_err_t *err)
{
    int64_t idle_since = -1;
    ferry_status st = FERRY_OK;
    while (ferry_lifecycle_running() && st == FERRY_OK) {
        ferry_err_t perr;
        rd_kafka_message_t *m = ferry_kafka_reader_poll(rt->reader, 200, &perr);
        if (m && !m->err) {
            idle_since = -1;
            st = retrain_count_record(rt, m, err);
        } else if (m && m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            retrain_part_t *pt = retrain_find_part(rt, m->partition);
            if (pt)
                pt->eof = 1;
        } else if (m) {
            ferry_warn("consumer: %s", rd_kafka_message_errstr(m));
        } else if (perr.status == FERRY_FATAL) {
            *err = perr;
            st = FERRY_FATAL;
        } else {
            st = retrain_maybe_fire(rt, err); /* the time-based rule */
            if (st == FERRY_OK && idle_ms >= 0 && retrain_all_eof(rt)) {
                if (idle_since < 0)
                    idle_since = ferry_clock_mono_ms();
                else if (ferry_clock_mono_ms() - idle_since >= idle_ms)
                    break;
            }
        }
        if (m)
            rd_kafka_message_destroy(m);
    }
    return st;
}

int retrain_worker_main(int argc, char **argv)
{
    ferry_opts_t *opts = ferry_opts_new(
        argv[0], "[options]\n       ferry retrain dispatch --help",
        "Watches the WatchLogFeature topic (read_committed, every partition) and, when the "
        "policy fires, publishes one RetrainRequested event with the exact data watermark in "
        "the same Kafka transaction as the offsets up to it, so each watermark triggers exactly "
        "once even if the worker is killed at any moment. Its state after a restart comes from "
        "Kafka (the group's committed offsets and its last RetrainRequested). One worker per "
        "group is active (a second one fences the first). `ferry retrain dispatch` delivers the "
        "triggers to a webhook (Airflow's REST API or any JSON endpoint).",
        retrain_opts);
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(&cmd, opts, argc, argv);
    if (rc >= 0)
        return rc;
    const ferry_opts_t *o = cmd.o;
    retrain_worker_t rt;
    memset(&rt, 0, sizeof rt);
    if (parse_policy(o, &rt.policy, argv[0]) != 0)
        return ferry_cmd_end(&cmd, FERRY_EXIT_USAGE);
    ferry_err_t err;
    ferry_err_clear(&err);
    rt.group = ferry_opts_str(o, "group");
    rt.topic = ferry_opts_str(o, "topic");
    rt.retrain_topic = ferry_opts_str(o, "retrain-topic");
    rt.feature_schema = ferry_schema_get("WatchLogFeature");
    rt.retrain_schema = ferry_schema_get("RetrainRequested");
    if (!rt.feature_schema || !rt.retrain_schema) {
        ferry_error("the embedded WatchLogFeature / RetrainRequested schemas are missing");
        return ferry_cmd_end(&cmd, FERRY_EXIT_FAILED);
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
    ferry_status st =
        rt.tdec ? ferry_wire_setup_wait(o, rt.retrain_schema, rt.retrain_topic, &rt.wire, &err)
                : FERRY_USAGE;
    if (st == FERRY_OK && (st = startup(&rt, o, txn_id, &wm, &nwm, &err)) == FERRY_OK) {
        rt.since_us = rt.last.have ? rt.last.created_at_us : ferry_clock_now_us();
        if (rt.last.have)
            ferry_info("last trigger of group %s: #%lld, %lld rows in total", rt.group,
                       (long long)rt.last.seq, (long long)rt.last.total_rows);
        else
            ferry_info("group %s has no trigger yet", rt.group);
        ferry_info("watching %s (%d partitions) -> %s (transactional id %s)", rt.topic, rt.nparts,
                   rt.retrain_topic, txn_id);
        st = run(&rt,
                 ferry_opts_is_set(o, "until-idle") ? ferry_opts_duration_ms(o, "until-idle") : -1,
                 &err);
        if (st != FERRY_OK && ferry_lifecycle_running()) {
            ferry_error("%s", err.msg);
            rc = ferry_cmd_exit_for(st);
        }
        ferry_info("done: %llu rows counted, %llu triggers fired, %llu records dead-lettered; "
                   "%lld rows wait for the next trigger",
                   (unsigned long long)rt.rows, (unsigned long long)rt.triggers,
                   (unsigned long long)rt.dead, (long long)rt.window.rows);
    } else {
        ferry_error("%s", err.msg);
        rc = ferry_cmd_exit_for(st); /* a decoder that cannot be set up is a usage error */
    }
    ferry_kafka_reader_close(rt.reader);
    ferry_txn_destroy(rt.txn);
    free(rt.parts);
    free(wm);
    ferry_decoder_free(rt.fdec);
    ferry_decoder_free(rt.tdec);
    if (rc == FERRY_EXIT_OK && ferry_lifecycle_stop_signal() && ferry_opts_is_set(o, "until-idle"))
        rc = 128 + ferry_lifecycle_stop_signal();
    return ferry_cmd_end(&cmd, rc);
}
