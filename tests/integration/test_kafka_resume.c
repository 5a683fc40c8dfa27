/* test_kafka_resume.c - the core producer and consumer against the real broker:
 * 10,000 Avro records produced (idempotent, acks=all, every delivery acknowledged);
 * half consumed in a group, stored and committed; the consumer closed (its revoke hook
 * runs before the partitions go); a new consumer in the same group resumes exactly after
 * the committed offsets: no record lost, none delivered twice past the commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ferry/avro.h"
#include "ferry/kafka.h"
#include "it.h"

#define N_RECORDS 10000
#define N_FIRST   5000
#define N_PARTS   3

typedef struct hook_counts {
    int assigned, revoked;
    int64_t committed_in_revoke;
} hook_counts_t;

static void hook(ferry_consumer_t *c, int revoke, const rd_kafka_topic_partition_list_t *parts,
                 void *opaque)
{
    hook_counts_t *h = opaque;
    if (revoke) {
        h->revoked += parts->cnt;
        ferry_err_t err;
        /* What the hook is for: commit what is held before the partitions go. */
        if (ferry_consumer_commit(c, &err) == FERRY_OK)
            h->committed_in_revoke++;
    } else {
        h->assigned += parts->cnt;
    }
}

static int64_t seq_of(const rd_kafka_message_t *m)
{
    const ferry_schema_t *s;
    avro_value_t v, f;
    ferry_err_t err;
    assert_int_equal(ferry_avro_decode(m->payload, m->len, &s, &v, &err), FERRY_OK);
    assert_string_equal(ferry_schema_name(s), "TelemetryReading");
    assert_int_equal(ferry_avro_field(&v, "timestamp", &f, &err), FERRY_OK);
    int64_t seq = -1;
    assert_int_equal(avro_value_get_long(&f, &seq), 0);
    avro_value_decref(&v);
    return seq;
}

static void test_resume_after_commit(void **state)
{
    ferry_opts_t *o = it_opts();
    ferry_err_t err;
    char topic[128], group[128];
    it_unique(topic, sizeof topic, "it.resume");
    it_unique(group, sizeof group, "it.resume.g");
    ferry_topic_spec_t spec = {topic, N_PARTS, -1, NULL};
    assert_int_equal(ferry_kafka_create_topics(o, &spec, 1, &err), FERRY_OK);

    /* ---- produce 10,000 Avro records through the core producer ---- */
    const ferry_schema_t *schema = ferry_schema_get("TelemetryReading");
    assert_non_null(schema);
    ferry_producer_t *p = ferry_producer_new(o, NULL, &err);
    assert_non_null(p);
    ferry_buf_t buf = FERRY_BUF_INIT;
    for (int i = 0; i < N_RECORDS; i++) {
        json_t *j = json_pack("{s:s, s:s, s:I, s:f}", "ship_id", "ship-1", "channel_id", "rpm",
                              "timestamp", (json_int_t)i, "value", 1.5 * i);
        char key[32];
        snprintf(key, sizeof key, "ship-%d", i % 17);
        json_object_set_new(j, "ship_id", json_string(key));
        ferry_buf_reset(&buf);
        assert_int_equal(ferry_avro_encode_json(schema, j, &buf, &err), FERRY_OK);
        json_decref(j);
        assert_int_equal(ferry_producer_send(p, topic, RD_KAFKA_PARTITION_UA, key, strlen(key),
                                             buf.data, buf.len, NULL, NULL, &err),
                         FERRY_OK);
        ferry_producer_poll(p, 0);
    }
    assert_int_equal(ferry_producer_flush(p, 60000, &err), FERRY_OK);
    ferry_producer_stats_t ps = ferry_producer_stats(p);
    assert_int_equal(ps.sent, N_RECORDS);
    assert_int_equal(ps.delivered, N_RECORDS);
    assert_int_equal(ps.failed, 0);
    ferry_producer_destroy(p);
    ferry_buf_free(&buf);

    /* ---- consume half in the group, store, commit, close ---- */
    static unsigned char seen[N_RECORDS];
    memset(seen, 0, sizeof seen);
    int64_t next_off[N_PARTS];
    for (int i = 0; i < N_PARTS; i++)
        next_off[i] = 0;
    hook_counts_t h = {0, 0, 0};
    ferry_consumer_conf_t cc = {0};
    cc.rebalance_cb = hook;
    cc.rebalance_opaque = &h;
    const char *topics[] = {topic};
    ferry_consumer_t *c = ferry_consumer_new(o, group, topics, 1, &cc, &err);
    assert_non_null(c);
    int got = 0;
    int64_t deadline = ferry_clock_mono_ms() + 60000;
    while (got < N_FIRST && ferry_clock_mono_ms() < deadline) {
        rd_kafka_message_t *m = ferry_consumer_poll(c, 200, &err);
        if (!m)
            continue;
        int64_t seq = seq_of(m);
        assert_true(seq >= 0 && seq < N_RECORDS);
        assert_int_equal(seen[seq], 0);
        seen[seq] = 1;
        assert_int_equal(m->offset, next_off[m->partition]); /* in order, no gaps */
        next_off[m->partition] = m->offset + 1;
        assert_int_equal(ferry_consumer_store(c, m, &err), FERRY_OK);
        rd_kafka_message_destroy(m);
        got++;
    }
    assert_int_equal(got, N_FIRST);
    assert_int_equal(ferry_consumer_commit(c, &err), FERRY_OK);
    assert_int_equal(ferry_consumer_close(c, &err), FERRY_OK);
    assert_int_equal(h.assigned, N_PARTS);
    assert_int_equal(h.revoked, N_PARTS); /* the hook ran before the partitions went */
    assert_true(h.committed_in_revoke >= 1);

    /* ---- a new consumer in the same group resumes exactly after the commit ---- */
    int64_t first_off[N_PARTS];
    for (int i = 0; i < N_PARTS; i++)
        first_off[i] = -1;
    c = ferry_consumer_new(o, group, topics, 1, NULL, &err);
    assert_non_null(c);
    int got2 = 0;
    deadline = ferry_clock_mono_ms() + 60000;
    while (ferry_clock_mono_ms() < deadline) {
        rd_kafka_message_t *m = ferry_consumer_poll(c, 200, &err);
        if (!m) {
            if (got2 >= N_RECORDS - N_FIRST && ferry_consumer_caught_up(c))
                break;
            continue;
        }
        if (first_off[m->partition] < 0)
            first_off[m->partition] = m->offset;
        int64_t seq = seq_of(m);
        assert_int_equal(seen[seq], 0); /* never delivered twice past the commit */
        seen[seq] = 1;
        ferry_consumer_store(c, m, NULL);
        rd_kafka_message_destroy(m);
        got2++;
    }
    assert_int_equal(ferry_consumer_close(c, &err), FERRY_OK);
    assert_int_equal(got2, N_RECORDS - N_FIRST);
    for (int i = 0; i < N_PARTS; i++) {
        if (first_off[i] >= 0)
            assert_int_equal(first_off[i], next_off[i]); /* resumed exactly at the commit */
    }
    for (int i = 0; i < N_RECORDS; i++)
        assert_int_equal(seen[i], 1); /* nothing lost */
    ferry_opts_destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_after_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
