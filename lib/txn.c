/* txn.c - Kafka transactions for consume-transform-produce workers
 * (see include/ferry/txn.h). */
#include "ferry/txn.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"

#include <stdlib.h>
#include <string.h>

/* How often one call is retried on retriable errors, and the wait between tries. */
#define TXN_MAX_RETRIES  10
#define TXN_RETRY_WAIT   500
#define TXN_CALL_TIMEOUT 30000

struct ferry_txn {
    ferry_producer_t *p;
    int open;
    ferry_txn_stats_t stats;
};

ferry_txn_t *ferry_txn_new(const ferry_opts_t *o, const char *transactional_id,
                           const char *const *defaults, ferry_err_t *err)
{
    if (!transactional_id || !*transactional_id) {
        ferry_err_set(err, FERRY_USAGE, "a transactional.id is required");
        return NULL;
    }
    ferry_producer_conf_t pc = {0};
    pc.defaults = defaults;
    pc.transactional_id = transactional_id;
    ferry_producer_t *p = ferry_producer_new(o, &pc, err);
    if (!p)
        return NULL;
    ferry_txn_t *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->p = p;
    return t;
}

ferry_producer_t *ferry_txn_producer(ferry_txn_t *t)
{
    return t->p;
}

int ferry_txn_is_open(const ferry_txn_t *t)
{
    return t->open;
}

ferry_txn_stats_t ferry_txn_stats(const ferry_txn_t *t)
{
    return t->stats;
}

/* Fills *err from a librdkafka error object and destroys it. */
static ferry_status take_error(rd_kafka_error_t *e, ferry_status st, const char *what,
                               ferry_err_t *err)
{
    ferry_err_set(err, st, "%s: %s%s", what, rd_kafka_error_string(e),
                  rd_kafka_error_is_fatal(e) ? " (fatal: the producer was fenced by a newer "
                                               "instance with the same transactional.id, or "
                                               "failed; stopping)"
                                             : "");
    rd_kafka_error_destroy(e);
    return st;
}

ferry_status ferry_txn_begin(ferry_txn_t *t, ferry_err_t *err)
{
    if (t->open)
        return FERRY_OK;
    rd_kafka_error_t *e = rd_kafka_begin_transaction(ferry_producer_rk(t->p));
    if (e)
        return take_error(e, FERRY_FATAL, "begin transaction", err);
    t->open = 1;
    return FERRY_OK;
}

ferry_status ferry_txn_abort(ferry_txn_t *t, ferry_err_t *err)
{
    if (!t->open)
        return FERRY_OK;
    for (int tries = 0;; tries++) {
        rd_kafka_error_t *e = rd_kafka_abort_transaction(ferry_producer_rk(t->p), TXN_CALL_TIMEOUT);
        if (!e) {
            t->open = 0;
            t->stats.aborted++;
            return FERRY_OK;
        }
        if (rd_kafka_error_is_retriable(e) && tries < TXN_MAX_RETRIES) {
            ferry_warn("abort transaction: %s; retrying", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            t->stats.retries++;
            ferry_lifecycle_sleep_ms(TXN_RETRY_WAIT);
            continue;
        }
        t->open = 0;
        return take_error(e, FERRY_FATAL, "abort transaction", err);
    }
}

/* Handles an error of send_offsets or commit: decides between retrying the call (returns
 * -1), aborting (FERRY_RETRY after a successful abort) and giving up (FERRY_FATAL). */
static int on_error(ferry_txn_t *t, rd_kafka_error_t *e, const char *what, int tries,
                    ferry_err_t *err)
{
    if (rd_kafka_error_is_fatal(e)) {
        t->open = 0;
        return take_error(e, FERRY_FATAL, what, err);
    }
    if (rd_kafka_error_is_retriable(e) && tries < TXN_MAX_RETRIES) {
        ferry_warn("%s: %s; retrying", what, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        t->stats.retries++;
        ferry_lifecycle_sleep_ms(TXN_RETRY_WAIT);
        return -1;
    }
    /* Abortable, or retriable too often: abort, the caller redoes the work. */
    ferry_warn("%s: %s; aborting the transaction (its work will be redone)", what,
               rd_kafka_error_string(e));
    ferry_err_t aerr;
    ferry_status st = take_error(e, FERRY_RETRY, what, err);
    if (ferry_txn_abort(t, &aerr) != FERRY_OK) {
        if (err)
            *err = aerr;
        return FERRY_FATAL;
    }
    return st;
}

ferry_status ferry_txn_commit(ferry_txn_t *t, rd_kafka_t *consumer_rk,
                              const rd_kafka_topic_partition_list_t *offsets, ferry_err_t *err)
{
    if (!t->open)
        return ferry_err_set(err, FERRY_FATAL, "commit: no transaction is open");
    rd_kafka_t *rk = ferry_producer_rk(t->p);
    if (offsets && offsets->cnt > 0) {
        rd_kafka_consumer_group_metadata_t *gm = rd_kafka_consumer_group_metadata(consumer_rk);
        if (!gm) {
            ferry_txn_abort(t, NULL);
            return ferry_err_set(err, FERRY_FATAL, "commit: the consumer has no group.id");
        }
        int rc = -1;
        for (int tries = 0; rc == -1; tries++) {
            rd_kafka_error_t *e =
                rd_kafka_send_offsets_to_transaction(rk, offsets, gm, TXN_CALL_TIMEOUT);
            if (!e)
                rc = FERRY_OK;
            else
                rc = on_error(t, e, "send offsets to transaction", tries, err);
        }
        rd_kafka_consumer_group_metadata_destroy(gm);
        if (rc != FERRY_OK)
            return (ferry_status)rc;
    }
    for (int tries = 0;; tries++) {
        rd_kafka_error_t *e = rd_kafka_commit_transaction(rk, TXN_CALL_TIMEOUT);
        if (!e) {
            t->open = 0;
            t->stats.committed++;
            return FERRY_OK;
        }
        int rc = on_error(t, e, "commit transaction", tries, err);
        if (rc != -1)
            return (ferry_status)rc;
    }
}

rd_kafka_topic_partition_list_t *ferry_txn_offsets_new(size_t n)
{
    return rd_kafka_topic_partition_list_new(n > 0 && n < INT32_MAX ? (int)n : 1);
}

void ferry_txn_offsets_add(rd_kafka_topic_partition_list_t *l, const char *topic, int32_t partition,
                           int64_t next_offset)
{
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(l, topic, partition);
    if (!tp)
        rd_kafka_topic_partition_list_add(l, topic, partition)->offset = next_offset;
    else if (next_offset > tp->offset)
        tp->offset = next_offset;
}

void ferry_txn_destroy(ferry_txn_t *t)
{
    if (!t)
        return;
    if (t->open) {
        ferry_err_t err;
        if (ferry_txn_abort(t, &err) != FERRY_OK)
            ferry_warn("%s", err.msg);
    }
    ferry_producer_destroy(t->p);
    free(t);
}
