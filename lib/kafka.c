/* kafka.c - producer, consumer and admin helpers over librdkafka
 * (see include/ferry/kafka.h). */
#include "ferry/kafka.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/topics.h"
#include "ferry/buf.h"

#include <stdlib.h>
#include <string.h>

/* ---- configuration ---------------------------------------------------------------------- */

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* syslog levels: 0-3 error, 4 warning, 5-6 notice/info, 7 debug */
    ferry_log_level lv = level <= 3   ? FERRY_LOG_ERROR
                         : level == 4 ? FERRY_LOG_WARN
                         : level <= 6 ? FERRY_LOG_INFO
                                      : FERRY_LOG_DEBUG;
    if (!ferry_log_enabled(lv))
        return;
    ferry_log_src(lv, "rdkafka", "%s %s: %s", rk ? rd_kafka_name(rk) : "", fac, buf);
}

static ferry_status conf_set(rd_kafka_conf_t *conf, const char *key, const char *val,
                             ferry_err_t *err)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, val, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        return ferry_err_set(err, FERRY_USAGE, "Kafka property %s: %s", key, errstr);
    return FERRY_OK;
}

static ferry_status conf_set_pairs(rd_kafka_conf_t *conf, const char *const *kv, ferry_err_t *err)
{
    for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
        ferry_status st = conf_set(conf, kv[i], kv[i + 1], err);
        if (st)
            return st;
    }
    return FERRY_OK;
}

/* Applies the user's settings: --brokers, then every -X key=value. Applied last so the
 * user can override any ferry default. */
static ferry_status apply_user(rd_kafka_conf_t *conf, const ferry_opts_t *o, ferry_err_t *err)
{
    if (!o)
        return FERRY_OK;
    if (ferry_opts_has(o, "brokers") && ferry_opts_str(o, "brokers")) {
        ferry_status st = conf_set(conf, "bootstrap.servers", ferry_opts_str(o, "brokers"), err);
        if (st)
            return st;
    }
    if (!ferry_opts_has(o, "X"))
        return FERRY_OK;
    const char *const *items;
    size_t n = ferry_opts_list(o, "X", &items);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(items[i], '=');
        if (!eq || eq == items[i])
            return ferry_err_set(err, FERRY_USAGE, "-X expects key=value, got '%.*s'", 40,
                                 items[i]);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - items[i]), items[i]);
        ferry_status st = conf_set(conf, key, eq + 1, err);
        if (st)
            return st;
    }
    return FERRY_OK;
}

/* A conf with ferry's log routing, `d1` then `d2` defaults, then the user's settings. */
static rd_kafka_conf_t *conf_build(const ferry_opts_t *o, const char *const *d1,
                                   const char *const *d2, ferry_err_t *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, log_cb);
    if (conf_set_pairs(conf, d1, err) || conf_set_pairs(conf, d2, err) ||
        apply_user(conf, o, err)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    /* without bootstrap servers a client waits for ever for a broker it cannot find */
    char servers[8];
    size_t sz = sizeof servers;
    rd_kafka_conf_res_t r = rd_kafka_conf_get(conf, "bootstrap.servers", servers, &sz);
    if (r != RD_KAFKA_CONF_OK || sz <= 1 || strspn(servers, " ,") == strlen(servers)) {
        rd_kafka_conf_destroy(conf);
        ferry_err_set(err, FERRY_USAGE,
                      "no Kafka brokers: --brokers (or -X bootstrap.servers) is empty; give "
                      "HOST:PORT of at least one broker");
        return NULL;
    }
    return conf;
}

rd_kafka_conf_t *ferry_kafka_conf_new(const ferry_opts_t *o, const char *const *defaults,
                                      ferry_err_t *err)
{
    return conf_build(o, defaults, NULL, err);
}

rd_kafka_t *ferry_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *what,
                            ferry_err_t *err)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        ferry_err_set(err, FERRY_FATAL, "cannot create Kafka %s: %s", what, errstr);
    }
    return rk;
}

ferry_status ferry_kafka_classify(rd_kafka_resp_err_t code)
{
    switch (code) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return FERRY_OK;
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION: /* invalid topic name */
        return FERRY_FATAL;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
        return FERRY_POISON;
    default:
        return FERRY_RETRY;
    }
}

/* ---- producer --------------------------------------------------------------------------- */

struct ferry_producer {
    rd_kafka_t *rk;
    ferry_producer_stats_t stats;
    ferry_dr_fn dr_cb;
    void *dr_opaque;
    char first_error[256];
};

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    ferry_producer_t *p = opaque;
    if (rkm->err) {
        p->stats.failed++;
        p->stats.last_error = rkm->err;
        if (!p->first_error[0])
            snprintf(p->first_error, sizeof p->first_error, "%s [%d]: %s",
                     rd_kafka_topic_name(rkm->rkt), rkm->partition, rd_kafka_err2str(rkm->err));
        ferry_debug("delivery failed: %s", rd_kafka_err2str(rkm->err));
    } else {
        p->stats.delivered++;
    }
    if (p->dr_cb)
        p->dr_cb(rkm, rkm->_private, p->dr_opaque);
}

ferry_producer_t *ferry_producer_new(const ferry_opts_t *o, const ferry_producer_conf_t *pc,
                                     ferry_err_t *err)
{
    static const char *const base[] = {
        "enable.idempotence",
        "true",
        "acks",
        "all",
        "compression.type",
        "lz4",
        "linger.ms",
        "5",
        "queue.buffering.max.messages",
        "1000000",
        NULL,
    };
    ferry_producer_t *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    rd_kafka_conf_t *conf = conf_build(o, base, pc ? pc->defaults : NULL, err);
    if (!conf)
        goto fail;
    if (pc && pc->transactional_id && conf_set(conf, "transactional.id", pc->transactional_id, err))
        goto fail_conf;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_conf_set_opaque(conf, p);
    if (pc) {
        p->dr_cb = pc->dr_cb;
        p->dr_opaque = pc->dr_opaque;
    }
    if (!(p->rk = ferry_kafka_new(RD_KAFKA_PRODUCER, conf, "producer", err)))
        goto fail;
    if (pc && pc->transactional_id) {
        rd_kafka_error_t *e = rd_kafka_init_transactions(p->rk, 60000);
        if (e) {
            ferry_err_set(err, rd_kafka_error_is_retriable(e) ? FERRY_RETRY : FERRY_FATAL,
                          "init_transactions: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            rd_kafka_destroy(p->rk);
            free(p);
            return NULL;
        }
    }
    return p;
fail_conf:
    rd_kafka_conf_destroy(conf);
fail:
    free(p);
    return NULL;
}

ferry_status ferry_producer_send(ferry_producer_t *p, const char *topic, int32_t partition,
                                 const void *key, size_t keylen, const void *value, size_t len,
                                 rd_kafka_headers_t *headers, void *msg_opaque, ferry_err_t *err)
{
    for (int tries = 0;; tries++) {
        rd_kafka_resp_err_t e;
        if (headers)
            e = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                  RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)value, len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(msg_opaque),
                                  RD_KAFKA_V_END);
        else
            e = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                  RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)value, len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
        if (!e) {
            p->stats.sent++;
            return FERRY_OK;
        }
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            /* Back-pressure: serve delivery reports until there is room. */
            rd_kafka_poll(p->rk, 50);
            continue;
        }
        if (headers)
            rd_kafka_headers_destroy(headers);
        if (e == RD_KAFKA_RESP_ERR__FATAL) {
            char reason[256];
            rd_kafka_fatal_error(p->rk, reason, sizeof reason);
            return ferry_err_set(err, FERRY_FATAL, "producer is in a fatal state: %s", reason);
        }
        return ferry_err_set(err, ferry_kafka_classify(e), "produce to %s: %s", topic,
                             rd_kafka_err2str(e));
    }
}

void ferry_producer_poll(ferry_producer_t *p, int timeout_ms)
{
    rd_kafka_poll(p->rk, timeout_ms);
}

ferry_status ferry_producer_flush(ferry_producer_t *p, int timeout_ms, ferry_err_t *err)
{
    rd_kafka_flush(p->rk, timeout_ms);
    int left = rd_kafka_outq_len(p->rk);
    if (left > 0 || p->stats.failed > 0)
        return ferry_err_set(err, FERRY_RETRY,
                             "%d message(s) not delivered within %d ms and %llu failed%s%s", left,
                             timeout_ms, (unsigned long long)p->stats.failed,
                             p->first_error[0] ? "; first failure: " : "", p->first_error);
    return FERRY_OK;
}

ferry_producer_stats_t ferry_producer_stats(const ferry_producer_t *p)
{
    return p->stats;
}

rd_kafka_t *ferry_producer_rk(ferry_producer_t *p)
{
    return p->rk;
}

void ferry_producer_destroy(ferry_producer_t *p)
{
    if (!p)
        return;
    ferry_err_t err;
    if (ferry_producer_flush(p, 30000, &err) != FERRY_OK)
        ferry_warn("producer closing: %s", err.msg);
    rd_kafka_destroy(p->rk);
    free(p);
}

/* ---- consumer --------------------------------------------------------------------------- */

typedef struct tracked_part {
    char *topic;
    int32_t partition;
    int eof;
} tracked_part_t;

struct ferry_consumer {
    rd_kafka_t *rk;
    ferry_rebalance_fn rebalance_cb;
    void *rebalance_opaque;
    tracked_part_t *parts;
    size_t nparts;
    int rebalances;
};

static tracked_part_t *track_find(ferry_consumer_t *c, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].partition == partition && strcmp(c->parts[i].topic, topic) == 0)
            return &c->parts[i];
    return NULL;
}

static void track_add(ferry_consumer_t *c, const rd_kafka_topic_partition_list_t *l)
{
    for (int i = 0; i < l->cnt; i++) {
        if (track_find(c, l->elems[i].topic, l->elems[i].partition))
            continue;
        tracked_part_t *np = realloc(c->parts, (c->nparts + 1) * sizeof *np);
        if (!np)
            abort();
        c->parts = np;
        c->parts[c->nparts].topic = strdup(l->elems[i].topic);
        c->parts[c->nparts].partition = l->elems[i].partition;
        c->parts[c->nparts].eof = 0;
        c->nparts++;
    }
}

static void track_remove(ferry_consumer_t *c, const rd_kafka_topic_partition_list_t *l)
{
    for (int i = 0; i < (l ? l->cnt : 0); i++) {
        tracked_part_t *t = track_find(c, l->elems[i].topic, l->elems[i].partition);
        if (!t)
            continue;
        free(t->topic);
        *t = c->parts[--c->nparts];
    }
}

static void track_clear(ferry_consumer_t *c)
{
    for (size_t i = 0; i < c->nparts; i++)
        free(c->parts[i].topic);
    c->nparts = 0;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    ferry_consumer_t *c = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    c->rebalances++;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        ferry_info("assigned %d partition(s)%s", parts->cnt, coop ? " (incremental)" : "");
        if (coop) {
            rd_kafka_error_t *er = rd_kafka_incremental_assign(rk, parts);
            if (er) {
                ferry_error("incremental assign: %s", rd_kafka_error_string(er));
                rd_kafka_error_destroy(er);
            }
        } else {
            rd_kafka_assign(rk, parts);
        }
        track_add(c, parts);
        if (c->rebalance_cb)
            c->rebalance_cb(c, 0, parts, c->rebalance_opaque);
    } else if (e == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        int lost = rd_kafka_assignment_lost(rk);
        ferry_info("revoking %d partition(s)%s", parts->cnt,
                   lost ? " (assignment lost: held work will be redone by the new owner)" : "");
        /* Before letting go: the program writes and commits what it holds. */
        if (c->rebalance_cb)
            c->rebalance_cb(c, 1, parts, c->rebalance_opaque);
        if (coop) {
            rd_kafka_error_t *er = rd_kafka_incremental_unassign(rk, parts);
            if (er) {
                ferry_error("incremental unassign: %s", rd_kafka_error_string(er));
                rd_kafka_error_destroy(er);
            }
            track_remove(c, parts);
        } else {
            rd_kafka_assign(rk, NULL);
            track_clear(c);
        }
    } else {
        ferry_error("rebalance error: %s", rd_kafka_err2str(e));
        rd_kafka_assign(rk, NULL);
        track_clear(c);
    }
}

ferry_consumer_t *ferry_consumer_new(const ferry_opts_t *o, const char *group,
                                     const char *const *topics, size_t ntopics,
                                     const ferry_consumer_conf_t *cc, ferry_err_t *err)
{
    const char *base[] = {
        "group.id",
        group,
        "enable.auto.commit",
        "false",
        "enable.auto.offset.store",
        "false",
        "partition.assignment.strategy",
        "cooperative-sticky",
        "auto.offset.reset",
        cc && cc->offset_reset ? cc->offset_reset : "earliest",
        "enable.partition.eof",
        "true",
        "isolation.level",
        cc && cc->read_committed ? "read_committed" : "read_uncommitted",
        NULL,
    };
    if (!group || !*group) {
        ferry_err_set(err, FERRY_USAGE, "a consumer group is required (--group)");
        return NULL;
    }
    ferry_consumer_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    /* Order: ferry's consumer defaults, the program's defaults, then -X (the user wins). */
    rd_kafka_conf_t *conf = conf_build(o, base, cc ? cc->defaults : NULL, err);
    if (!conf) {
        free(c);
        return NULL;
    }
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, c);
    if (cc) {
        c->rebalance_cb = cc->rebalance_cb;
        c->rebalance_opaque = cc->rebalance_opaque;
    }
    if (!(c->rk = ferry_kafka_new(RD_KAFKA_CONSUMER, conf, "consumer", err))) {
        free(c);
        return NULL;
    }
    rd_kafka_poll_set_consumer(c->rk);
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new((int)ntopics);
    for (size_t i = 0; i < ntopics; i++)
        rd_kafka_topic_partition_list_add(subs, topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (e) {
        ferry_err_set(err, FERRY_FATAL, "subscribe: %s", rd_kafka_err2str(e));
        rd_kafka_destroy(c->rk);
        free(c);
        return NULL;
    }
    return c;
}

rd_kafka_message_t *ferry_consumer_poll(ferry_consumer_t *c, int timeout_ms, ferry_err_t *err)
{
    rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c->rk, timeout_ms);
    if (!rkm)
        return NULL;
    if (!rkm->err) {
        tracked_part_t *t = track_find(c, rd_kafka_topic_name(rkm->rkt), rkm->partition);
        if (t)
            t->eof = 0;
        return rkm;
    }
    if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        tracked_part_t *t = track_find(c, rd_kafka_topic_name(rkm->rkt), rkm->partition);
        if (t)
            t->eof = 1;
    } else if (rkm->err == RD_KAFKA_RESP_ERR__FATAL) {
        char reason[256];
        rd_kafka_fatal_error(c->rk, reason, sizeof reason);
        ferry_err_set(err, FERRY_FATAL, "consumer fatal error: %s", reason);
        ferry_lifecycle_request_stop();
    } else {
        ferry_status st = ferry_kafka_classify(rkm->err);
        if (rkm->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
            rkm->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
            st = FERRY_RETRY; /* topic may be created later; keep waiting */
        ferry_log(st == FERRY_FATAL ? FERRY_LOG_ERROR : FERRY_LOG_WARN, "consumer: %s",
                  rd_kafka_message_errstr(rkm));
        if (st == FERRY_FATAL) {
            ferry_err_set(err, FERRY_FATAL, "consumer: %s", rd_kafka_message_errstr(rkm));
            ferry_lifecycle_request_stop();
        }
    }
    rd_kafka_message_destroy(rkm);
    return NULL;
}

ferry_status ferry_consumer_store_offset(ferry_consumer_t *c, const char *topic, int32_t partition,
                                         int64_t next_offset, ferry_err_t *err)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = next_offset;
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, l);
    if (!e && l->elems[0].err)
        e = l->elems[0].err;
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        return ferry_err_set(err, FERRY_RETRY, "store offset %s[%d]@%lld: %s", topic, partition,
                             (long long)next_offset, rd_kafka_err2str(e));
    return FERRY_OK;
}

ferry_status ferry_consumer_store(ferry_consumer_t *c, const rd_kafka_message_t *rkm,
                                  ferry_err_t *err)
{
    return ferry_consumer_store_offset(c, rd_kafka_topic_name(rkm->rkt), rkm->partition,
                                       rkm->offset + 1, err);
}

ferry_status ferry_consumer_commit(ferry_consumer_t *c, ferry_err_t *err)
{
    rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, NULL, 0);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return FERRY_OK;
    return ferry_err_set(err, ferry_kafka_classify(e), "commit: %s", rd_kafka_err2str(e));
}

int ferry_consumer_assignment_lost(ferry_consumer_t *c)
{
    return rd_kafka_assignment_lost(c->rk);
}

int ferry_consumer_caught_up(ferry_consumer_t *c)
{
    if (c->nparts == 0)
        return c->rebalances > 0;
    for (size_t i = 0; i < c->nparts; i++)
        if (!c->parts[i].eof)
            return 0;
    return 1;
}

rd_kafka_topic_partition_list_t *ferry_consumer_assignment(ferry_consumer_t *c)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(c->rk, &l) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return NULL;
    return l;
}

rd_kafka_t *ferry_consumer_rk(ferry_consumer_t *c)
{
    return c->rk;
}

const char *ferry_consumer_member_id(ferry_consumer_t *c, char *buf, size_t bufsz)
{
    char *m = rd_kafka_memberid(c->rk);
    snprintf(buf, bufsz, "%s", m ? m : "");
    if (m)
        rd_kafka_mem_free(c->rk, m);
    return buf;
}

ferry_status ferry_consumer_close(ferry_consumer_t *c, ferry_err_t *err)
{
    if (!c)
        return FERRY_OK;
    ferry_status st = ferry_consumer_commit(c, err);
    rd_kafka_resp_err_t e = rd_kafka_consumer_close(c->rk);
    if (e)
        ferry_warn("consumer close: %s", rd_kafka_err2str(e));
    rd_kafka_destroy(c->rk);
    track_clear(c);
    free(c->parts);
    free(c);
    return st;
}

/* ---- admin ------------------------------------------------------------------------------ */

ferry_status ferry_kafka_create_topics(const ferry_opts_t *o, const ferry_topic_spec_t *specs,
                                       size_t n, ferry_err_t *err)
{
    ferry_err_t local;
    if (!err)
        err = &local;
    rd_kafka_conf_t *conf = ferry_kafka_conf_new(o, NULL, err);
    if (!conf)
        return err->status;
    rd_kafka_t *rk = ferry_kafka_new(RD_KAFKA_PRODUCER, conf, "admin client", err);
    if (!rk)
        return err->status;
    ferry_status st = FERRY_OK;
    /* every name is checked before any topic is made: never half a topic and its .dlq */
    for (size_t i = 0; i < n; i++) {
        char why[160];
        if (ferry_topic_name_check(specs[i].name, 0, why, sizeof why) != 0) {
            rd_kafka_destroy(rk);
            return ferry_err_set(err, FERRY_USAGE, "topic '%.100s': %s", specs[i].name, why);
        }
    }
    rd_kafka_NewTopic_t **nt = ferry_xcalloc(n ? n : 1, sizeof *nt);
    char errstr[512];
    for (size_t i = 0; i < n; i++) {
        nt[i] = rd_kafka_NewTopic_new(
            specs[i].name, specs[i].partitions,
            specs[i].replication_factor ? specs[i].replication_factor : -1, errstr, sizeof errstr);
        if (!nt[i]) {
            st = ferry_err_set(err, FERRY_USAGE, "topic %s: %s", specs[i].name, errstr);
            goto out;
        }
        for (size_t j = 0; specs[i].configs && specs[i].configs[j]; j += 2)
            rd_kafka_NewTopic_set_config(nt[i], specs[i].configs[j], specs[i].configs[j + 1]);
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(ao, 30000, errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_request_timeout(ao, 60000, errstr, sizeof errstr);
    rd_kafka_CreateTopics(rk, nt, n, ao, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 65000);
    if (!ev) {
        st = ferry_err_set(err, FERRY_RETRY, "create topics: no answer from %s within 65 s",
                           o && ferry_opts_has(o, "brokers") ? ferry_opts_str(o, "brokers") : "?");
    } else if (rd_kafka_event_error(ev)) {
        st = ferry_err_set(err, FERRY_RETRY, "create topics: %s", rd_kafka_event_error_string(ev));
    } else {
        size_t cnt = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        for (size_t i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t te = rd_kafka_topic_result_error(res[i]);
            if (te == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                ferry_debug("topic %s exists", rd_kafka_topic_result_name(res[i]));
            } else if (te) {
                st = ferry_err_set(err, ferry_kafka_classify(te), "create topic %s: %s",
                                   rd_kafka_topic_result_name(res[i]),
                                   rd_kafka_topic_result_error_string(res[i]));
                break;
            } else {
                ferry_info("created topic %s", rd_kafka_topic_result_name(res[i]));
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
out:
    for (size_t i = 0; i < n; i++)
        if (nt[i])
            rd_kafka_NewTopic_destroy(nt[i]);
    free(nt);
    rd_kafka_destroy(rk);
    return st;
}

ferry_status ferry_kafka_watermarks(rd_kafka_t *rk, const char *topic, int32_t partition,
                                    int64_t *low, int64_t *high, int timeout_ms, ferry_err_t *err)
{
    rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(rk, topic, partition, low, high, timeout_ms);
    if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
        return ferry_err_set(err, FERRY_USAGE, "%s[%d] does not exist", topic, partition);
    if (e)
        return ferry_err_set(err, ferry_kafka_classify(e), "offsets of %s[%d]: %s", topic,
                             partition, rd_kafka_err2str(e));
    return FERRY_OK;
}

ferry_status ferry_kafka_offsets_for_time(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
                                          int timeout_ms, ferry_err_t *err)
{
    if (!parts || parts->cnt == 0)
        return FERRY_OK;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, parts, timeout_ms);
    if (e)
        return ferry_err_set(err, ferry_kafka_classify(e), "offsets for time: %s",
                             rd_kafka_err2str(e));
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].err)
            return ferry_err_set(err, ferry_kafka_classify(parts->elems[i].err),
                                 "offset for time on %s[%d]: %s", parts->elems[i].topic,
                                 parts->elems[i].partition, rd_kafka_err2str(parts->elems[i].err));
    return FERRY_OK;
}

int ferry_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, ferry_err_t *err)
{
    /* a name Kafka refuses is a usage error here, not a broker error to retry; one
     * librdkafka gives no handle for would ask for the metadata of every topic */
    char why[160];
    if (ferry_topic_name_check(topic, 0, why, sizeof why) != 0) {
        ferry_err_set(err, FERRY_USAGE, "topic '%.100s': %s", topic ? topic : "", why);
        return -1;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt) {
        ferry_err_set(err, FERRY_USAGE, "topic '%.100s': %s", topic,
                      rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    int n = -1;
    if (e) {
        ferry_err_set(err, ferry_kafka_classify(e) == FERRY_FATAL ? FERRY_FATAL : FERRY_RETRY,
                      "metadata of topic %s: %s", topic, rd_kafka_err2str(e));
    } else if (md->topic_cnt < 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        ferry_err_set(err, FERRY_USAGE, "topic %s does not exist", topic);
    } else if (md->topics[0].err) {
        ferry_err_set(err, ferry_kafka_classify(md->topics[0].err), "topic %s: %s", topic,
                      rd_kafka_err2str(md->topics[0].err));
    } else {
        n = md->topics[0].partition_cnt;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

ferry_status ferry_kafka_topic_config(rd_kafka_t *rk, const char *topic, const char *name,
                                      char *out, size_t outsz, int timeout_ms, ferry_err_t *err)
{
    char errstr[256];
    out[0] = '\0';
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    if (!res)
        return ferry_err_set(err, FERRY_USAGE, "topic config: invalid topic name '%.100s'", topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, errstr, sizeof errstr);
    rd_kafka_DescribeConfigs(rk, &res, 1, ao, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
    ferry_status st = FERRY_OK;
    if (!ev) {
        st = ferry_err_set(err, FERRY_RETRY, "describe configs of %s: no answer", topic);
    } else if (rd_kafka_event_error(ev)) {
        st = ferry_err_set(err, ferry_kafka_classify(rd_kafka_event_error(ev)),
                           "describe configs of %s: %s", topic, rd_kafka_event_error_string(ev));
    } else {
        size_t nres = 0;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &nres);
        if (nres < 1 || rd_kafka_ConfigResource_error(rs[0])) {
            st = ferry_err_set(err,
                               nres ? ferry_kafka_classify(rd_kafka_ConfigResource_error(rs[0]))
                                    : FERRY_RETRY,
                               "describe configs of %s: %s", topic,
                               nres ? rd_kafka_ConfigResource_error_string(rs[0]) : "no result");
        } else {
            size_t nent = 0;
            const rd_kafka_ConfigEntry_t **ents = rd_kafka_ConfigResource_configs(rs[0], &nent);
            for (size_t i = 0; i < nent; i++) {
                const char *v = rd_kafka_ConfigEntry_value(ents[i]);
                if (strcmp(rd_kafka_ConfigEntry_name(ents[i]), name) == 0 && v)
                    snprintf(out, outsz, "%s", v);
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);
    return st;
}

ferry_status ferry_kafka_require_topic(rd_kafka_t *rk, const char *topic, ferry_err_t *err)
{
    ferry_err_t e;
    if (ferry_kafka_partition_count(rk, topic, 10000, &e) >= 0)
        return FERRY_OK;
    return ferry_err_set(err, e.status == FERRY_RETRY ? FERRY_RETRY : FERRY_FATAL,
                         "%s (create it first, e.g. with `ferry setup --topic %s`)", e.msg, topic);
}
