/* run.c - `ferry backfill run`: the consumer-group worker over the tasks `backfill plan`
 * published. For each task it counts an attempt, backfills the chunk (chunk.c) and commits the
 * task's offset once the chunk's transaction committed. A chunk rolled back or done already is
 * skipped; a connection loss is waited out and costs no attempt; a chunk that keeps failing
 * goes to the task topic's DLQ after --max-attempts, and the others go on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backfill.h"
#include "ferry/avro.h"
#include "ferry/command.h"
#include "ferry/dlq.h"
#include "ferry/until.h"
#include "ferry/kafka.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/migration.h"
#include "ferry/topics.h"

static const ferry_opt_t run_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_PG,
    FERRY_OPT_GROUP("ferry-backfill"),
    FERRY_OPT_TOPIC(FERRY_TOPIC_BACKFILL),
    FERRY_OPT_NARROW_TABLE,
    FERRY_OPT_NARROW_COLUMNS,
    FERRY_OPT_NARROW_TIME_ZONE,
    FERRY_OPT_WIDE_SCHEMA,
    {"max-columns", 0, FERRY_OPT_INT, "800", "N", "channel columns per wide table (as dualwrite)",
     0},
    {"max-attempts", 0, FERRY_OPT_INT, "3", "N", "attempts before a chunk goes to the DLQ", 0},
    {"buffer", 0, FERRY_OPT_INT, "262144", "BYTES", "COPY buffer size (memory per worker)", 0},
    {"until-idle", 0, FERRY_OPT_DURATION, NULL, "DURATION",
     "exit after the group has been caught up for this long", 0},
    FERRY_OPT_SCHEMA_REGISTRY,
    FERRY_OPT_SCHEMAS_DIR,
    FERRY_OPT_END,
};

/* FERRY_OK; FERRY_POISON for a bad task; FERRY_FATAL (a registry-framed task without a
 * usable registry) or FERRY_RETRY (a stop while waiting for the registry). */
static ferry_status decode_task(bf_worker_t *w, const rd_kafka_message_t *m, bf_chunk_t *c,
                                ferry_err_t *err)
{
    avro_value_t v; /* borrowed from the decoder */
    int rc = FERRY_POISON;
    if (!m->payload)
        ferry_err_set(err, FERRY_POISON, "empty record value");
    else
        rc = ferry_decoder_value_wait(w->dec, m->payload, m->len, &v, NULL,
                                      rd_kafka_topic_name(m->rkt), err);
    if (rc != FERRY_OK) {
        const ferry_schema_t *ws = ferry_decoder_last_writer(w->dec);
        if (rc == FERRY_POISON && m->payload && ws &&
            strcmp(ferry_schema_name(ws), "BackfillChunk") != 0)
            ferry_err_set(err, FERRY_POISON, "not a BackfillChunk but %s", ferry_schema_name(ws));
        return (ferry_status)rc;
    }
    json_t *j = ferry_avro_to_json_err(&v, err);
    if (!j)
        return FERRY_POISON;
    snprintf(c->chunk_id, sizeof c->chunk_id, "%s",
             json_string_value(json_object_get(j, "chunk_id")));
    snprintf(c->ship, sizeof c->ship, "%s", json_string_value(json_object_get(j, "ship_id")));
    c->start_us = json_integer_value(json_object_get(j, "start_ts"));
    c->end_us = json_integer_value(json_object_get(j, "end_ts"));
    json_decref(j);
    return FERRY_OK;
}

/* Reconnects both connections, waiting while PostgreSQL is away (ferry_pg_reconnect_wait). A
 * failure that waiting cannot fix (wrong password, the database gone) stops the worker:
 * w->fatal is set, and the worker exits 3. */
static void reconnect_all(bf_worker_t *w)
{
    ferry_pg_t *const conns[] = {w->pg, w->rd};
    ferry_err_t err;
    ferry_status st = ferry_pg_reconnect_wait(conns, 2, &err);
    if (st == FERRY_OK)
        ferry_widecat_forget(w->cat);
    else if (st == FERRY_FATAL)
        w->fatal = 1;
}

/* Handles one task. Returns FERRY_OK when its offset may be committed. */
static ferry_status handle_task(bf_worker_t *w, ferry_dlq_t *dlq, const rd_kafka_message_t *m,
                                int max_attempts)
{
    ferry_err_t err;
    bf_chunk_t c;
    ferry_status ds = decode_task(w, m, &c, &err);
    if (ds == FERRY_FATAL || ds == FERRY_RETRY) {
        if (ds == FERRY_FATAL) {
            ferry_error("%s; stopping", err.msg);
            w->failed = 1;
            ferry_lifecycle_request_stop();
        }
        return FERRY_RETRY; /* not committed */
    }
    if (ds != FERRY_OK) {
        ferry_warn("bad task at offset %lld: %s", (long long)m->offset, err.msg);
        char why[sizeof err.msg];
        snprintf(why, sizeof why, "%s", err.msg);
        ferry_dlq_put(dlq, m, FERRY_POISON, "undecodable", why, &err);
        if (ferry_dlq_sync(dlq, &err) != FERRY_OK)
            return FERRY_RETRY;
        return FERRY_OK;
    }
    for (;;) {
        if (!ferry_lifecycle_running())
            return FERRY_RETRY;
        /* A chunk rolled back or already done is skipped: tasks can outlive their chunk. */
        char status[32], attempts[16];
        const char *p[] = {c.chunk_id};
        if (ferry_pg_query_value(w->pg,
                                 "UPDATE ferry.backfill_chunks SET attempts = attempts + 1,"
                                 " updated_at = now() WHERE chunk_id = $1 AND status <> 'done'"
                                 " RETURNING attempts",
                                 1, p, attempts, sizeof attempts, &err) != FERRY_OK) {
            if (err.status == FERRY_FATAL && ferry_pg_ok(w->pg)) {
                /* not the connection: ferry's state tables are broken or gone */
                ferry_error("%s; stopping", err.msg);
                w->failed = 1;
                ferry_lifecycle_request_stop();
                return FERRY_RETRY;
            }
            ferry_warn("%s; reconnecting", err.msg);
            reconnect_all(w);
            continue;
        }
        if (!attempts[0]) {
            ferry_pg_query_value(w->pg,
                                 "SELECT status FROM ferry.backfill_chunks WHERE chunk_id = $1", 1,
                                 p, status, sizeof status, &err);
            ferry_info("chunk %s is %s: skipped", c.chunk_id, status[0] ? status : "unknown");
            return FERRY_OK;
        }
        ferry_status st = bf_do_chunk(w, &c, &err);
        if (st == FERRY_OK)
            return FERRY_OK;
        if (!ferry_lifecycle_running() && ferry_pg_ok(w->pg)) {
            /* stopped (SIGINT/SIGTERM) in the middle: not the chunk's fault, and not done;
             * its offset stays uncommitted, so whoever takes the partition redoes it */
            ferry_pg_query_value(w->pg,
                                 "UPDATE ferry.backfill_chunks SET attempts = attempts - 1"
                                 " WHERE chunk_id = $1 RETURNING attempts",
                                 1, p, attempts, sizeof attempts, NULL);
            ferry_info("chunk %s: stopped before it was done; it will be redone", c.chunk_id);
            return FERRY_RETRY;
        }
        if (st == FERRY_RETRY && (!ferry_pg_ok(w->pg) || !ferry_pg_ok(w->rd))) {
            ferry_warn("chunk %s: %s; reconnecting", c.chunk_id, err.msg);
            reconnect_all(w);
            /* a connection loss is not the chunk's fault */
            ferry_pg_query_value(w->pg,
                                 "UPDATE ferry.backfill_chunks SET attempts = attempts - 1"
                                 " WHERE chunk_id = $1 RETURNING attempts",
                                 1, p, attempts, sizeof attempts, NULL);
            continue;
        }
        int n = atoi(attempts);
        const char *pe[] = {c.chunk_id, err.msg};
        ferry_err_t e2;
        PGresult *res = ferry_pg_query(w->pg,
                                       "UPDATE ferry.backfill_chunks SET last_error = $2,"
                                       " updated_at = now() WHERE chunk_id = $1",
                                       2, pe, &e2);
        if (res)
            PQclear(res);
        ferry_warn("chunk %s failed (attempt %d of %d): %s", c.chunk_id, n, max_attempts, err.msg);
        if (n >= max_attempts) {
            res = ferry_pg_query(w->pg,
                                 "UPDATE ferry.backfill_chunks SET status = 'failed' WHERE"
                                 " chunk_id = $1",
                                 1, p, &e2);
            if (res)
                PQclear(res);
            /* the task's offset is committed only once its DLQ record is safe */
            ferry_dlq_put(dlq, m, FERRY_FATAL, "chunk_failed", err.msg, &e2);
            if (ferry_dlq_sync(dlq, &e2) != FERRY_OK)
                return FERRY_RETRY;
            ferry_error("chunk %s sent to the DLQ after %d attempts", c.chunk_id, n);
            return FERRY_OK;
        }
        ferry_lifecycle_sleep_ms(500 * n);
    }
}

int bf_run(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(argv[0], "--pg CONNINFO [options]",
                       "Consumer-group worker: backfills the chunks published by `ferry backfill "
                       "plan` from the narrow table into the wide tables. Run more processes with "
                       "the same --group to scale out.",
                       run_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
    if (!ferry_opts_str(o, "pg"))
        return ferry_cmd_end(&cmd, ferry_cmd_usage(&cmd, "--pg is required (or FERRY_PG_URL)"));
    bf_worker_t w = {0};
    w.o = o;
    ferry_err_t err;
    ferry_dlq_t *dlq = NULL;
    ferry_consumer_t *c = NULL;
    if (!(w.dec = ferry_decoder_from_opts(o, ferry_schema_get("BackfillChunk"), &err))) {
        ferry_error("%s", err.msg);
        return ferry_cmd_end(&cmd, FERRY_EXIT_USAGE);
    }
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(w.worker_id, sizeof w.worker_id, "%s:%d", host, (int)getpid());
    /* application names carry the pid, so an operator can tell the workers apart */
    char app[64];
    snprintf(app, sizeof app, "ferry backfill run %d", (int)getpid());
    if ((rc = bf_connect_pg(&cmd, app)))
        goto out;
    w.pg = cmd.pg;
    ferry_pg_retry_t retry = {200, 10000, 60000};
    snprintf(app, sizeof app, "ferry backfill reader %d", (int)getpid());
    w.rd = ferry_pg_connect(ferry_opts_str(o, "pg"), app, &retry, &err);
    if (!w.rd) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_UNAVAILABLE;
        goto out;
    }
    if (ferry_narrow_open_opts(w.pg, &w.src, o, FERRY_NARROW_READ, &err) ||
        ferry_widecat_setup(w.pg, ferry_opts_str(o, "wide-schema"), &err)) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_USAGE;
        goto out;
    }
    w.cat =
        ferry_widecat_new(ferry_opts_str(o, "wide-schema"), (int)ferry_opts_int(o, "max-columns"));
    dlq = ferry_dlq_new(o, &err);
    static const char *const cdefaults[] = {"max.poll.interval.ms", "3600000", NULL};
    ferry_consumer_conf_t cc = {0};
    cc.defaults = cdefaults;
    const char *topic = ferry_opts_str(o, "topic");
    if (dlq)
        c = ferry_consumer_new(o, ferry_opts_str(o, "group"), &topic, 1, &cc, &err);
    if (!dlq || !c) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_USAGE;
        goto out;
    }
    ferry_until_idle_t idle;
    ferry_until_idle_init(&idle, o, ferry_opts_str(o, "group"), topic);
    int64_t done = 0;
    int max_attempts = (int)ferry_opts_int(o, "max-attempts");
    while (ferry_lifecycle_running()) {
        rd_kafka_message_t *m = ferry_consumer_poll(c, 200, &err);
        if (ferry_until_idle_done(&idle, c, m != NULL))
            break;
        if (!m)
            continue;
        if (handle_task(&w, dlq, m, max_attempts) == FERRY_OK) {
            ferry_consumer_store(c, m, NULL);
            if (ferry_consumer_commit(c, &err) != FERRY_OK)
                ferry_warn("%s (the chunk is written; redoing it is harmless)", err.msg);
            done++;
        }
        rd_kafka_message_destroy(m);
    }
    ferry_until_idle_free(&idle);
    ferry_info("done: %lld task(s) handled", (long long)done);
    if (w.fatal)
        rc = FERRY_EXIT_UNAVAILABLE;
    else if (w.failed)
        rc = FERRY_EXIT_FAILED;
out:
    ferry_consumer_close(c, NULL);
    ferry_dlq_destroy(dlq);
    bf_clear_rejects(&w);
    free(w.rejects);
    free(w.widen);
    ferry_widecat_destroy(w.cat);
    ferry_narrow_close(&w.src);
    ferry_pg_close(w.rd);
    ferry_decoder_free(w.dec);
    return ferry_cmd_end(&cmd, rc);
}
