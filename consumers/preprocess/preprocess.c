/* preprocess.c - `ferry preprocess`: a consumer-group worker from MovieCrawled records to
 * the `movies` and `watch_log` tables and WatchLogFeature events.
 *
 * Per batch (consume-transform-produce, docs/movies.md):
 *   1. open a Kafka transaction;
 *   2. per record: decode and validate (bad ones -> <topic>.dlq with the reason, inside the
 *      transaction), upsert the movie and replace its watch-log rows in one PostgreSQL
 *      transaction, and produce the derived WatchLogFeature events into the Kafka one;
 *   3. COMMIT PostgreSQL (idempotent: replaying the batch rewrites the same rows);
 *   4. add the consumed offsets to the Kafka transaction and commit it.
 * A crash between 3 and 4 leaves the Kafka transaction open; it is aborted (by the next
 * start with the same transactional.id, or the broker's timeout), its events stay
 * invisible to read_committed readers, the offsets were not committed, so the batch is
 * processed again: PostgreSQL converges to the same rows, the events are emitted once more
 * in a transaction that commits. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/command.h"
#include "ferry/avro.h"
#include "ferry/decoder.h"
#include "ferry/dlq.h"
#include "ferry/kafka.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/options.h"
#include "ferry/pg.h"
#include "ferry/topics.h"
#include "ferry/txn.h"
#include "ferry/wire.h"
#include "movie.h"
#include "store.h"

static const ferry_opt_t preprocess_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    {"pg", 0, FERRY_OPT_STRING, NULL, "CONNINFO",
     "PostgreSQL connection string or URI (libpq); a password in it is never printed",
     FERRY_OPTF_SECRET | FERRY_OPTF_REQUIRED},
    FERRY_OPT_GROUP("ferry-preprocess"),
    FERRY_OPT_TOPIC(FERRY_TOPIC_MOVIES),
    {"features-topic", 0, FERRY_OPT_STRING, FERRY_TOPIC_FEATURES, "TOPIC",
     "topic of the WatchLogFeature events (written in Kafka transactions)", FERRY_OPTF_TOPIC_DLQ},
    {"movies-table", 0, FERRY_OPT_STRING, "movies", "TABLE",
     "table of the latest fetch of each movie (created when missing; may be schema.table)", 0},
    {"watch-log-table", 0, FERRY_OPT_STRING, "watch_log", "TABLE",
     "table of the derived watch-log rows (created when missing; may be schema.table)", 0},
    {"batch-size", 0, FERRY_OPT_INT, "500", "N", "records per transaction, at most", 0},
    {"batch-time", 0, FERRY_OPT_DURATION, "200ms", "DURATION",
     "longest wait to fill a batch before it is processed", 0},
    {"instance", 0, FERRY_OPT_STRING, "0", "NAME",
     "name of this worker among the group's workers on one host (part of the default "
     "transactional id; give each concurrent worker on a host its own)",
     0},
    {"transactional-id", 0, FERRY_OPT_STRING, NULL, "ID",
     "Kafka transactional.id (default ferry-preprocess.GROUP.HOST.INSTANCE); stable across "
     "restarts so a restarted worker aborts what its predecessor left open",
     0},
    {"until-idle", 0, FERRY_OPT_DURATION, NULL, "DURATION",
     "exit once every assigned partition has been at its end for this long", 0},
    FERRY_OPT_WIRE_FORMAT,
    FERRY_OPT_SCHEMA_REGISTRY,
    FERRY_OPT_SCHEMAS_DIR,
    FERRY_OPT_END,
};

typedef struct pp_stats {
    uint64_t records, movies, stale, features, dead, batches, redone;
} pp_stats_t;

typedef struct pp {
    ferry_consumer_t *c;
    ferry_txn_t *txn;
    ferry_pg_t *pg;
    movie_store_t *store;
    const ferry_schema_t *movie_schema, *feature_schema;
    ferry_decoder_t *dec; /* MovieCrawled in any framing, other writer versions resolved */
    ferry_wire_t wire;    /* the framing of the WatchLogFeature events */
    avro_value_t feature;
    ferry_buf_t out;
    const char *features_topic;
    rd_kafka_message_t **batch;
    size_t n, cap, alloc; /* held records; cap = --batch-size; alloc = array size */
    int careful;          /* a savepoint per record: set after PostgreSQL rejected a record */
    pp_stats_t st;
    int fatal;
    ferry_err_t fatal_err;
} pp_t;

/* ---- the feature events ----------------------------------------------------------------- */

/* Encodes one WatchLogFeature into pp->out (replacing its contents). */
static ferry_status encode_feature(pp_t *pp, const watch_row_t *r, const rd_kafka_message_t *src,
                                   ferry_err_t *err)
{
    avro_value_t *v = &pp->feature;
    ferry_avro_clear(v);
    /* checked setters: a WatchLogFeature schema without one of these fields is an error
     * naming it (FERRY_FATAL), never a write through an unset value */
    avro_value_t tpo;
    const char *topic = rd_kafka_topic_name(src->rkt);
    if (ferry_avro_set_long(v, "user_id", r->user_id, err) ||
        ferry_avro_set_long(v, "content_id", r->content_id, err) ||
        ferry_avro_set_int(v, "watch_seconds", r->watch_seconds, err) ||
        ferry_avro_set_double(v, "rating", r->rating, err) ||
        ferry_avro_set_double(v, "popularity", r->popularity, err) ||
        ferry_avro_set_long(v, "event_time", r->event_time_us, err) ||
        ferry_avro_set_int(v, "derivation_version", MOVIE_DERIVATION_VERSION, err) ||
        ferry_avro_set_branch(v, "source", 1, &tpo, err) ||
        ferry_avro_set_string(&tpo, "topic", topic, err) ||
        ferry_avro_set_int(&tpo, "partition", src->partition, err) ||
        ferry_avro_set_long(&tpo, "offset", src->offset, err))
        return FERRY_FATAL;
    ferry_buf_reset(&pp->out);
    ferry_status st = (ferry_status)ferry_avro_encode(pp->feature_schema, v, &pp->out, err);
    if (st == FERRY_OK)
        ferry_wire_frame(&pp->wire, &pp->out, 0);
    return st;
}

/* ---- one batch -------------------------------------------------------------------------- */

typedef struct batch_counts {
    uint64_t movies, stale, features, dead;
} batch_counts_t;

static ferry_status dead_letter(pp_t *pp, const rd_kafka_message_t *m, const char *reason,
                                const char *msg, batch_counts_t *bc, ferry_err_t *err)
{
    ferry_debug("dead-letter %s[%d]@%lld: %s: %s", rd_kafka_topic_name(m->rkt), m->partition,
                (long long)m->offset, reason, msg);
    bc->dead++;
    return ferry_dlq_send(ferry_txn_producer(pp->txn), m, FERRY_POISON, reason, msg, err);
}

/* Processes one record inside the open transactions. Returns FERRY_OK (also when the record
 * was dead-lettered), FERRY_POISON when PostgreSQL rejected it outside careful mode, or the
 * error that stops the batch. */
static ferry_status process_record(pp_t *pp, const rd_kafka_message_t *m, batch_counts_t *bc,
                                   ferry_err_t *err)
{
    avro_value_t value; /* borrowed from the decoder until its next record */
    ferry_err_t derr;
    ferry_framing framing;
    char msg[1200];
    if (!m->payload || m->len == 0)
        return dead_letter(pp, m, "undecodable", "empty record value", bc, err);
    int ds = ferry_decoder_value(pp->dec, m->payload, m->len, &value, NULL, &framing, &derr);
    if (ds == FERRY_RETRY || ds == FERRY_FATAL) {
        /* the registry is away (the batch is redone later, nothing dead-lettered) or not
         * configured / refusing the credentials (the worker stops) */
        if (err)
            *err = derr;
        return (ferry_status)ds;
    }
    if (ds != FERRY_OK) {
        const ferry_schema_t *w = ferry_decoder_last_writer(pp->dec);
        int other = w && strcmp(ferry_schema_fullname(w), ferry_schema_fullname(pp->movie_schema));
        if (other)
            snprintf(msg, sizeof msg, "expected a MovieCrawled record, got %s (%s)",
                     ferry_schema_fullname(w), derr.msg);
        else
            snprintf(msg, sizeof msg, "%s: %s", ferry_framing_name(framing), derr.msg);
        return dead_letter(pp, m, other ? "wrong_schema" : "undecodable", msg, bc, err);
    }
    movie_t mv;
    if (movie_from_avro(&value, &mv, &derr) != FERRY_OK)
        return dead_letter(pp, m, "wrong_schema", derr.msg, bc, err);
    ferry_status st = FERRY_OK;
    const char *reason = movie_validate(&mv, msg, sizeof msg);
    if (reason) {
        st = dead_letter(pp, m, reason, msg, bc, err);
        goto out;
    }
    watch_row_t rows[MOVIE_MAX_VIEWS];
    size_t nrows = movie_derive(&mv, rows);
    if (pp->careful && (st = movie_store_savepoint(pp->store, err)) != FERRY_OK)
        goto out;
    int won = 0;
    st = movie_store_put(pp->store, &mv, rows, nrows, rd_kafka_topic_name(m->rkt), m->partition,
                         m->offset, &won, err);
    if (st == FERRY_POISON && pp->careful) {
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "PostgreSQL rejected the record");
        if ((st = movie_store_rollback_to(pp->store, err)) == FERRY_OK)
            st = dead_letter(pp, m, "rejected_by_postgresql", msg, bc, err);
        goto out;
    }
    if (st != FERRY_OK)
        goto out;
    if (pp->careful && (st = movie_store_release(pp->store, err)) != FERRY_OK)
        goto out;
    if (won)
        bc->movies++;
    else
        bc->stale++;
    char key[24];
    int keylen = snprintf(key, sizeof key, "%lld", (long long)mv.id);
    for (size_t i = 0; i < nrows && st == FERRY_OK; i++) {
        st = encode_feature(pp, &rows[i], m, err);
        if (st == FERRY_OK)
            st = ferry_producer_send(ferry_txn_producer(pp->txn), pp->features_topic,
                                     RD_KAFKA_PARTITION_UA, key, (size_t)keylen, pp->out.data,
                                     pp->out.len, NULL, NULL, err);
        if (st == FERRY_OK)
            bc->features++;
    }
out:
    movie_clear(&mv);
    return st;
}

/* Runs the whole batch in one PostgreSQL and one Kafka transaction. Returns FERRY_OK when
 * both committed; otherwise both were rolled back / aborted and the batch is still held:
 * FERRY_RETRY (try again), FERRY_POISON (PostgreSQL rejected a record: redo carefully),
 * FERRY_FATAL. */
static ferry_status process_batch(pp_t *pp, ferry_err_t *err)
{
    batch_counts_t bc = {0, 0, 0, 0};
    ferry_status st = ferry_txn_begin(pp->txn, err);
    if (st != FERRY_OK)
        return st;
    if ((st = movie_store_begin(pp->store, err)) != FERRY_OK) {
        ferry_txn_abort(pp->txn, NULL);
        return st;
    }
    rd_kafka_topic_partition_list_t *offsets = ferry_txn_offsets_new(pp->n);
    for (size_t i = 0; i < pp->n && st == FERRY_OK; i++) {
        const rd_kafka_message_t *m = pp->batch[i];
        ferry_txn_offsets_add(offsets, rd_kafka_topic_name(m->rkt), m->partition, m->offset + 1);
        st = process_record(pp, m, &bc, err);
    }
    if (st == FERRY_OK)
        st = movie_store_commit(pp->store, err);
    if (st != FERRY_OK) {
        movie_store_rollback(pp->store);
        ferry_err_t aerr;
        if (ferry_txn_abort(pp->txn, &aerr) != FERRY_OK) {
            ferry_warn("%s", aerr.msg);
            st = FERRY_FATAL;
        }
        rd_kafka_topic_partition_list_destroy(offsets);
        return st;
    }
    /* PostgreSQL is committed (idempotently); now the events and the offsets, atomically. */
    st = ferry_txn_commit(pp->txn, ferry_consumer_rk(pp->c), offsets, err);
    rd_kafka_topic_partition_list_destroy(offsets);
    if (st != FERRY_OK)
        return st;
    pp->st.records += pp->n;
    pp->st.movies += bc.movies;
    pp->st.stale += bc.stale;
    pp->st.features += bc.features;
    pp->st.dead += bc.dead;
    pp->st.batches++;
    return FERRY_OK;
}

static void batch_clear(pp_t *pp)
{
    for (size_t i = 0; i < pp->n; i++)
        rd_kafka_message_destroy(pp->batch[i]);
    pp->n = 0;
}

/* Processes the held batch, retrying what can be retried a few times. Returns FERRY_OK (the
 * batch is done and released), FERRY_RETRY (still held: call again later, after polling so
 * a rebalance can happen), or FERRY_FATAL. */
static ferry_status flush(pp_t *pp, ferry_err_t *err)
{
    if (pp->n == 0)
        return FERRY_OK;
    for (int attempt = 0; attempt < 3; attempt++) {
        ferry_status st = process_batch(pp, err);
        if (st == FERRY_OK) {
            batch_clear(pp);
            pp->careful = 0;
            return FERRY_OK;
        }
        pp->st.redone++;
        if (st == FERRY_POISON && !pp->careful) {
            ferry_warn("PostgreSQL rejected a record (%s); redoing the batch record by record",
                       err->msg);
            pp->careful = 1;
            attempt--;
            continue;
        }
        if (st == FERRY_FATAL || st == FERRY_USAGE || st == FERRY_POISON)
            return FERRY_FATAL;
        ferry_warn("batch of %zu record(s) will be redone: %s", pp->n, err->msg);
        if (!ferry_pg_ok(pp->pg)) {
            ferry_err_t rerr;
            if (ferry_pg_reconnect(pp->pg, &rerr) != FERRY_OK) {
                ferry_warn("%s", rerr.msg);
                return FERRY_RETRY;
            }
        }
        if (ferry_lifecycle_sleep_ms(200 << attempt) != 0)
            return FERRY_RETRY;
    }
    return FERRY_RETRY;
}

/* Rebalance hook: before partitions go, finish the held batch; what cannot be finished for
 * the revoked partitions is dropped (the next owner starts from the committed offsets). */
static void on_rebalance(ferry_consumer_t *c, int revoke,
                         const rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    pp_t *pp = opaque;
    if (!revoke || pp->n == 0)
        return;
    int lost = ferry_consumer_assignment_lost(c);
    if (!lost && !pp->fatal) {
        ferry_err_t err;
        ferry_status st = flush(pp, &err);
        if (st == FERRY_OK)
            return;
        if (st == FERRY_FATAL) {
            pp->fatal = 1;
            pp->fatal_err = err;
            ferry_lifecycle_request_stop();
        }
    }
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < pp->n; i++) {
        rd_kafka_message_t *m = pp->batch[i];
        if (rd_kafka_topic_partition_list_find(parts, rd_kafka_topic_name(m->rkt), m->partition)) {
            rd_kafka_message_destroy(m);
            dropped++;
        } else {
            pp->batch[kept++] = m;
        }
    }
    pp->n = kept;
    if (dropped)
        ferry_info("left %zu unfinished record(s) of revoked partitions to their next owner",
                   dropped);
}

/* ---- the command ------------------------------------------------------------------------ */

static void report(const pp_t *pp, const char *tag, int64_t t0)
{
    double secs = (double)(ferry_clock_mono_ms() - t0) / 1000.0;
    ferry_txn_stats_t ts = ferry_txn_stats(pp->txn);
    ferry_info("%s: records %llu, movies stored %llu, stale fetches %llu, features %llu, "
               "dead-lettered %llu, transactions %llu committed / %llu aborted, %.0f records/s",
               tag, (unsigned long long)pp->st.records, (unsigned long long)pp->st.movies,
               (unsigned long long)pp->st.stale, (unsigned long long)pp->st.features,
               (unsigned long long)pp->st.dead, (unsigned long long)ts.committed,
               (unsigned long long)ts.aborted, secs > 0 ? (double)pp->st.records / secs : 0.0);
}

/* Everything the worker needs before its first poll: schemas, the decoder, the output
 * schema registered, PostgreSQL and the tables, the transactional producer (and its topics),
 * then the consumer. Returns -1 to go on, else the exit status (the reason logged). */
static int pp_open(pp_t *pp, ferry_cmd_t *cmd, char *txn_id, size_t txn_idsz)
{
    ferry_opts_t *o = cmd->o;
    ferry_err_t err;
    ferry_err_clear(&err);
    const char *group = ferry_opts_str(o, "group");
    const char *topic = ferry_opts_str(o, "topic");
    pp->features_topic = ferry_opts_str(o, "features-topic");
    pp->movie_schema = ferry_schema_get("MovieCrawled");
    pp->feature_schema = ferry_schema_get("WatchLogFeature");
    if (!pp->movie_schema || !pp->feature_schema ||
        ferry_schema_new_value(pp->feature_schema, &pp->feature) != 0) {
        ferry_error("the embedded MovieCrawled / WatchLogFeature schemas are missing");
        return FERRY_EXIT_FAILED;
    }
    if (!(pp->dec = ferry_decoder_from_opts(o, pp->movie_schema, &err)) ||
        ferry_wire_setup_wait(o, pp->feature_schema, pp->features_topic, &pp->wire, &err) != 0)
        return ferry_cmd_fail(&err);
    if (ferry_opts_str(o, "transactional-id")) {
        snprintf(txn_id, txn_idsz, "%s", ferry_opts_str(o, "transactional-id"));
    } else {
        char host[256] = "localhost";
        gethostname(host, sizeof host - 1);
        snprintf(txn_id, txn_idsz, "ferry-preprocess.%s.%s.%s", group, host,
                 ferry_opts_str(o, "instance"));
    }

    /* PostgreSQL first: the tables must exist before the first batch. */
    int rc = ferry_cmd_connect(cmd, "ferry preprocess", NULL);
    if (rc >= 0)
        return rc;
    pp->pg = cmd->pg;
    pp->store = movie_store_new(pp->pg, ferry_opts_str(o, "movies-table"),
                                ferry_opts_str(o, "watch-log-table"), &err);
    if (!pp->store || movie_store_ensure(pp->store, &err) != FERRY_OK)
        return ferry_cmd_fail(&err);
    /* The transactional producer before the consumer: init_transactions aborts what a
     * predecessor with the same id left open, so the group's offsets are stable when the
     * consumer fetches them. Fails fast when an output topic is missing: producing to it
     * would only time out. */
    pp->txn = ferry_txn_new(o, txn_id, NULL, &err);
    char dlq[512];
    ferry_dlq_topic(topic, dlq, sizeof dlq);
    if (!pp->txn ||
        ferry_kafka_require_topic(ferry_producer_rk(ferry_txn_producer(pp->txn)),
                                  pp->features_topic, &err) ||
        ferry_kafka_require_topic(ferry_producer_rk(ferry_txn_producer(pp->txn)), dlq, &err))
        return ferry_cmd_fail(&err);
    ferry_consumer_conf_t cc = {0};
    cc.read_committed = 1;
    cc.rebalance_cb = on_rebalance;
    cc.rebalance_opaque = pp;
    const char *topics[] = {topic};
    if (!(pp->c = ferry_consumer_new(o, group, topics, 1, &cc, &err)))
        return ferry_cmd_fail(&err);
    pp->alloc = pp->cap;
    pp->batch = calloc(pp->alloc, sizeof *pp->batch);
    if (!pp->batch)
        abort();
    ferry_info("consuming %s in group %s -> %s (transactional id %s)", topic, group,
               pp->features_topic, txn_id);
    return -1;
}

/* Holds a polled record in the batch (which grows while a batch that could not be processed
 * is held). */
static void batch_hold(pp_t *pp, rd_kafka_message_t *m)
{
    if (pp->n == pp->alloc) {
        pp->alloc *= 2;
        rd_kafka_message_t **nb = realloc(pp->batch, pp->alloc * sizeof *nb);
        if (!nb)
            abort();
        pp->batch = nb;
    }
    pp->batch[pp->n++] = m;
}

/* The worker's loop: batches by size and time, until a stop, a fatal error or, with
 * --until-idle, an idle period. The idle rule is the worker's own partitions being at their
 * end (not ferry_until_idle's group lag: the input may be transactional, and a transaction's
 * commit marker keeps a partition's end one past its last record). */
static void pp_run(pp_t *pp, const ferry_opts_t *o)
{
    ferry_err_t err;
    int64_t idle_ms =
        ferry_opts_is_set(o, "until-idle") ? ferry_opts_duration_ms(o, "until-idle") : -1;
    int64_t batch_ms = ferry_opts_duration_ms(o, "batch-time");
    int64_t t0 = ferry_clock_mono_ms(), idle_since = -1, batch_start = -1, next_report = t0 + 10000;
    while (ferry_lifecycle_running() && !pp->fatal) {
        int full = pp->n >= pp->cap;
        int due = pp->n > 0 && ferry_clock_mono_ms() - batch_start >= batch_ms;
        if (full || due) {
            if (flush(pp, &err) == FERRY_FATAL) {
                pp->fatal = 1;
                pp->fatal_err = err;
                break;
            }
            batch_start = pp->n ? ferry_clock_mono_ms() : -1;
        }
        /* A batch that could not be processed is held while polling goes on (a rebalance
         * may be what it waits for); records polled meanwhile join it. */
        int wait = pp->n >= pp->cap ? 100 : pp->n ? 20 : 200;
        ferry_err_t perr;
        ferry_err_clear(&perr);
        rd_kafka_message_t *m = ferry_consumer_poll(pp->c, wait, &perr);
        if (!m && perr.status == FERRY_FATAL) {
            pp->fatal = 1;
            pp->fatal_err = perr;
            break;
        }
        if (!m && idle_ms >= 0 && pp->n == 0 && ferry_consumer_caught_up(pp->c)) {
            if (idle_since < 0)
                idle_since = ferry_clock_mono_ms();
            else if (ferry_clock_mono_ms() - idle_since >= idle_ms)
                break;
        } else {
            idle_since = -1;
        }
        if (m) {
            if (pp->n == 0)
                batch_start = ferry_clock_mono_ms();
            batch_hold(pp, m);
        }
        if (ferry_clock_mono_ms() >= next_report) {
            report(pp, "progress", t0);
            next_report = ferry_clock_mono_ms() + 10000;
        }
    }
    /* Finish the batch in hand before leaving the group. */
    if (!pp->fatal && pp->n > 0 && flush(pp, &err) != FERRY_OK) {
        ferry_warn("stopping with %zu unprocessed record(s): they will be processed again: %s",
                   pp->n, err.msg);
    }
    batch_clear(pp);
    report(pp, "done", t0);
}

static void pp_close(pp_t *pp)
{
    if (pp->c) {
        ferry_err_t cerr;
        ferry_consumer_close(pp->c, &cerr);
        batch_clear(pp);
    }
    free(pp->batch);
    ferry_txn_destroy(pp->txn);
    movie_store_destroy(pp->store);
    if (pp->feature.self)
        avro_value_decref(&pp->feature);
    ferry_decoder_free(pp->dec);
    ferry_buf_free(&pp->out);
}

int cmd_preprocess(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(
            argv[0], "--pg CONNINFO [options]",
            "Consumes MovieCrawled records (a consumer-group worker: start more in the same group "
            "to scale out), validates them (bad ones go to TOPIC.dlq with the reason), upserts "
            "the movies table (the latest fetch wins), derives the synthetic watch log "
            "deterministically (docs/movies.md) into the watch-log table, and publishes "
            "WatchLogFeature events in Kafka transactions together with the consumed offsets, so "
            "a read_committed reader sees each event exactly once per processed record.",
            preprocess_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    int64_t batch_size = ferry_opts_int(cmd.o, "batch-size");
    if (batch_size < 1 || batch_size > 100000)
        return ferry_cmd_end(&cmd, ferry_cmd_usage(&cmd, "--batch-size must be within 1..100000"));
    pp_t pp;
    memset(&pp, 0, sizeof pp);
    pp.cap = (size_t)batch_size;
    char txn_id[512];
    rc = pp_open(&pp, &cmd, txn_id, sizeof txn_id);
    if (rc < 0) {
        rc = FERRY_EXIT_OK;
        pp_run(&pp, cmd.o);
        if (pp.fatal) {
            ferry_error("%s", pp.fatal_err.msg);
            rc = FERRY_EXIT_FAILED;
        }
    }
    pp_close(&pp);
    /* A bounded run (--until-idle) cut short by a signal says so; an unbounded worker
     * stopped by a signal has done its job. */
    if (rc == FERRY_EXIT_OK && ferry_lifecycle_stop_signal() &&
        ferry_opts_is_set(cmd.o, "until-idle"))
        rc = 128 + ferry_lifecycle_stop_signal();
    return ferry_cmd_end(&cmd, rc);
}
