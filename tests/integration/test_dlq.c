/* test_dlq.c - the dead-letter helper against the real broker: a garbage record consumed
 * from a topic is sent byte for byte to <topic>.dlq with its key, its original headers and
 * headers naming the error class, reason, message and source topic/partition/offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ferry/dlq.h"
#include "ferry/kafka.h"
#include "it.h"

static rd_kafka_message_t *consume_one(ferry_opts_t *o, const char *topic, const char *group)
{
    ferry_err_t err;
    const char *topics[] = {topic};
    ferry_consumer_t *c = ferry_consumer_new(o, group, topics, 1, NULL, &err);
    assert_non_null(c);
    rd_kafka_message_t *m = NULL;
    int64_t deadline = ferry_clock_mono_ms() + 30000;
    while (!m && ferry_clock_mono_ms() < deadline)
        m = ferry_consumer_poll(c, 200, &err);
    assert_non_null(m);
    /* Keep the message valid after the consumer is gone: copy what the test needs. */
    rd_kafka_message_t *copy = calloc(1, sizeof *copy);
    copy->payload = malloc(m->len);
    memcpy(copy->payload, m->payload, m->len);
    copy->len = m->len;
    copy->key = malloc(m->key_len);
    memcpy(copy->key, m->key, m->key_len);
    copy->key_len = m->key_len;
    copy->partition = m->partition;
    copy->offset = m->offset;
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) == 0 && h)
        copy->_private = rd_kafka_headers_copy(h);
    rd_kafka_message_destroy(m);
    ferry_consumer_close(c, NULL);
    return copy;
}

static void free_copy(rd_kafka_message_t *m)
{
    free(m->payload);
    free(m->key);
    if (m->_private)
        rd_kafka_headers_destroy(m->_private);
    free(m);
}

static const char *hdr(rd_kafka_message_t *m, const char *name, char *buf, size_t bufsz)
{
    const void *v;
    size_t n;
    if (rd_kafka_header_get_last(m->_private, name, &v, &n) != 0)
        return NULL;
    snprintf(buf, bufsz, "%.*s", (int)n, (const char *)v);
    return buf;
}

static void test_dead_letter_keeps_bytes_and_coordinates(void **state)
{
    ferry_opts_t *o = it_opts();
    ferry_err_t err;
    char topic[128], dlq[160], group[160];
    it_unique(topic, sizeof topic, "it.dlq");
    ferry_dlq_topic(topic, dlq, sizeof dlq);
    assert_string_equal(dlq + strlen(topic), ".dlq");
    ferry_topic_spec_t specs[] = {{topic, 2, -1, NULL}, {dlq, 1, -1, NULL}};
    assert_int_equal(ferry_kafka_create_topics(o, specs, 2, &err), FERRY_OK);
    /* creating again is harmless */
    assert_int_equal(ferry_kafka_create_topics(o, specs, 2, &err), FERRY_OK);

    ferry_producer_t *p = ferry_producer_new(o, NULL, &err);
    assert_non_null(p);
    const unsigned char garbage[] = {0xC3, 0x01, 0xde, 0xad, 0x00, 0xff, 0x17};
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, "origin", -1, "sensor-gw-7", -1);
    assert_int_equal(
        ferry_producer_send(p, topic, 1, "ship-9", 6, garbage, sizeof garbage, h, NULL, &err),
        FERRY_OK);
    assert_int_equal(ferry_producer_flush(p, 30000, &err), FERRY_OK);

    snprintf(group, sizeof group, "%s.src", topic);
    rd_kafka_message_t *src = consume_one(o, topic, group);
    assert_int_equal(src->partition, 1);
    /* dead-letter it (ferry_dlq_send needs a real message: use the raw twin with the
     * coordinates we saw, plus a real-message path below) */
    assert_int_equal(ferry_dlq_send_raw(p, topic, src->partition, src->offset, 1234, src->key,
                                        src->key_len, src->payload, src->len, FERRY_POISON,
                                        "undecodable", "unknown schema fingerprint 0xdead", &err),
                     FERRY_OK);
    assert_int_equal(ferry_producer_flush(p, 30000, &err), FERRY_OK);
    ferry_producer_destroy(p);

    snprintf(group, sizeof group, "%s.dlq", topic);
    rd_kafka_message_t *d = consume_one(o, dlq, group);
    assert_int_equal(d->len, sizeof garbage);
    assert_memory_equal(d->payload, garbage, sizeof garbage);
    assert_int_equal(d->key_len, 6);
    assert_memory_equal(d->key, "ship-9", 6);
    char b[256], off[32];
    assert_string_equal(hdr(d, "ferry.error.class", b, sizeof b), "poison");
    assert_string_equal(hdr(d, "ferry.error.reason", b, sizeof b), "undecodable");
    assert_string_equal(hdr(d, "ferry.error.message", b, sizeof b),
                        "unknown schema fingerprint 0xdead");
    assert_string_equal(hdr(d, "ferry.source.topic", b, sizeof b), topic);
    assert_string_equal(hdr(d, "ferry.source.partition", b, sizeof b), "1");
    snprintf(off, sizeof off, "%lld", (long long)src->offset);
    assert_string_equal(hdr(d, "ferry.source.offset", b, sizeof b), off);
    assert_string_equal(hdr(d, "ferry.source.timestamp", b, sizeof b), "1234");
    free_copy(d);
    free_copy(src);
    ferry_opts_destroy(o);
}

/* The consumed-message path keeps the record's own headers. */
static void test_dead_letter_from_consumed_message(void **state)
{
    ferry_opts_t *o = it_opts();
    ferry_err_t err;
    char topic[128], dlq[160], group[160];
    it_unique(topic, sizeof topic, "it.dlq2");
    ferry_dlq_topic(topic, dlq, sizeof dlq);
    ferry_topic_spec_t specs[] = {{topic, 1, -1, NULL}, {dlq, 1, -1, NULL}};
    assert_int_equal(ferry_kafka_create_topics(o, specs, 2, &err), FERRY_OK);
    ferry_producer_t *p = ferry_producer_new(o, NULL, &err);
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, "origin", -1, "gw", -1);
    assert_int_equal(ferry_producer_send(p, topic, 0, "k", 1, "junk", 4, h, NULL, &err), FERRY_OK);
    assert_int_equal(ferry_producer_flush(p, 30000, &err), FERRY_OK);

    const char *topics[] = {topic};
    snprintf(group, sizeof group, "%s.g", topic);
    ferry_consumer_t *c = ferry_consumer_new(o, group, topics, 1, NULL, &err);
    rd_kafka_message_t *m = NULL;
    int64_t deadline = ferry_clock_mono_ms() + 30000;
    while (!m && ferry_clock_mono_ms() < deadline)
        m = ferry_consumer_poll(c, 200, &err);
    assert_non_null(m);
    assert_int_equal(ferry_dlq_send(p, m, FERRY_POISON, "type_conflict", "bad", &err), FERRY_OK);
    rd_kafka_message_destroy(m);
    ferry_consumer_close(c, NULL);
    assert_int_equal(ferry_producer_flush(p, 30000, &err), FERRY_OK);
    ferry_producer_destroy(p);

    snprintf(group, sizeof group, "%s.dlqg", topic);
    rd_kafka_message_t *d = consume_one(o, dlq, group);
    char b[256];
    assert_string_equal(hdr(d, "origin", b, sizeof b), "gw");
    assert_string_equal(hdr(d, "ferry.error.reason", b, sizeof b), "type_conflict");
    assert_string_equal(hdr(d, "ferry.source.offset", b, sizeof b), "0");
    assert_non_null(hdr(d, "ferry.source.timestamp", b, sizeof b));
    assert_memory_equal(d->payload, "junk", 4);
    free_copy(d);
    ferry_opts_destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dead_letter_keeps_bytes_and_coordinates),
        cmocka_unit_test(test_dead_letter_from_consumed_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
