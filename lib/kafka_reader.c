/* kafka_reader.c - a consumer of explicitly assigned partitions whose offsets live in a
 * group it never joins (see the reader section of include/ferry/kafka.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/kafka.h"

struct ferry_kafka_reader {
    rd_kafka_t *rk;
    char *group;
};

ferry_kafka_reader_t *ferry_kafka_reader_new(const ferry_opts_t *o, const char *group,
                                             int read_committed, ferry_err_t *err)
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
        read_committed ? "read_committed" : "read_uncommitted",
        NULL,
    };
    rd_kafka_conf_t *conf = ferry_kafka_conf_new(o, defaults, err);
    if (!conf)
        return NULL;
    rd_kafka_t *rk = ferry_kafka_new(RD_KAFKA_CONSUMER, conf, "consumer", err);
    if (!rk)
        return NULL;
    rd_kafka_poll_set_consumer(rk);
    ferry_kafka_reader_t *r = calloc(1, sizeof *r);
    if (!r || !(r->group = strdup(group)))
        abort();
    r->rk = rk;
    return r;
}

rd_kafka_t *ferry_kafka_reader_rk(ferry_kafka_reader_t *r)
{
    return r->rk;
}

/* A partition list of `topic` with the positions of `at`. */
static rd_kafka_topic_partition_list_t *list_of(const char *topic, const ferry_kafka_position_t *at,
                                                size_t n)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n ? (int)n : 1);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, topic, at[i].partition)->offset = at[i].offset;
    return l;
}

ferry_status ferry_kafka_reader_committed(ferry_kafka_reader_t *r, const char *topic,
                                          ferry_kafka_position_t *at, size_t n, int timeout_ms,
                                          ferry_err_t *err)
{
    rd_kafka_topic_partition_list_t *l = list_of(topic, at, n);
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    rd_kafka_resp_err_t e = rd_kafka_committed(r->rk, l, timeout_ms);
    if (e) {
        rd_kafka_topic_partition_list_destroy(l);
        return ferry_err_set(err, ferry_kafka_classify(e), "committed offsets of group %s: %s",
                             r->group, rd_kafka_err2str(e));
    }
    for (size_t i = 0; i < n; i++)
        at[i].offset = l->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return FERRY_OK;
}

ferry_status ferry_kafka_reader_assign(ferry_kafka_reader_t *r, const char *topic,
                                       const ferry_kafka_position_t *from, size_t n,
                                       ferry_err_t *err)
{
    rd_kafka_topic_partition_list_t *l = list_of(topic, from, n);
    rd_kafka_resp_err_t e = rd_kafka_assign(r->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        return ferry_err_set(err, FERRY_FATAL, "assign: %s", rd_kafka_err2str(e));
    return FERRY_OK;
}

void ferry_kafka_reader_unassign(ferry_kafka_reader_t *r)
{
    rd_kafka_assign(r->rk, NULL);
}

rd_kafka_message_t *ferry_kafka_reader_poll(ferry_kafka_reader_t *r, int timeout_ms,
                                            ferry_err_t *err)
{
    ferry_err_clear(err);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, timeout_ms);
    if (!m || m->err != RD_KAFKA_RESP_ERR__FATAL)
        return m;
    char reason[256];
    rd_kafka_fatal_error(r->rk, reason, sizeof reason);
    rd_kafka_message_destroy(m);
    ferry_err_set(err, FERRY_FATAL, "consumer fatal error: %s", reason);
    return NULL;
}

void ferry_kafka_reader_close(ferry_kafka_reader_t *r)
{
    if (!r)
        return;
    rd_kafka_consumer_close(r->rk);
    rd_kafka_destroy(r->rk);
    free(r->group);
    free(r);
}
