/* test_decoder.c - decoding by framing (include/ferry/decoder.h) without a registry:
 * single-object (ferry's schema zero-copy, another embedded schema refused by name),
 * registry framing with no registry configured (fatal, not a dead letter), JSON telemetry
 * (timestamps in every form, values of every JSON kind, and the bad inputs with their
 * reasons), and bytes of no known framing. Expected timestamps are worked out by hand:
 * 2026-01-01T00:00:00Z is 1767225600 s after the epoch (56 years, 14 of them leap: 20454
 * days * 86400). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ferry/decoder.h"

#define T2026_US INT64_C(1767225600000000)

static ferry_decoder_t *telemetry_decoder(void)
{
    const ferry_schema_t *s = ferry_schema_get("TelemetryReading");
    assert_non_null(s);
    return ferry_decoder_new(s, NULL, 4);
}

static void json_ok(ferry_decoder_t *d, const char *text, ferry_reading_t *r, char **owned)
{
    ferry_err_t err;
    ferry_framing f = FERRY_FRAMING_NONE;
    if (ferry_decoder_reading(d, text, strlen(text), r, owned, &f, &err) != FERRY_OK)
        fail_msg("%s: %s", text, err.msg);
    assert_int_equal(f, FERRY_FRAMING_JSON);
    assert_non_null(*owned);
}

static void json_bad(ferry_decoder_t *d, const char *text, const char *reason)
{
    ferry_err_t err;
    ferry_reading_t r;
    char *owned = NULL;
    assert_int_equal(ferry_decoder_reading(d, text, strlen(text), &r, &owned, NULL, &err),
                     FERRY_POISON);
    assert_null(owned);
    if (!strstr(err.msg, reason))
        fail_msg("%s: reason '%s' lacks '%s'", text, err.msg, reason);
}

static int str_is(ferry_str_t s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static void test_json_telemetry(void **state)
{
    (void)state;
    ferry_decoder_t *d = telemetry_decoder();
    ferry_reading_t r;
    char *owned = NULL;
    json_ok(d,
            " {\"ship_id\":\"S1\",\"channel_id\":\"rpm\",\"timestamp\":\"2026-01-01T00:00:00Z\","
            "\"value\":81.5,\"unit\":\"rpm\",\"source\":\"node-red\",\"other\":[1]}",
            &r, &owned);
    assert_true(str_is(r.ship_id, "S1"));
    assert_true(str_is(r.channel_id, "rpm"));
    assert_int_equal(r.ts_us, T2026_US);
    assert_int_equal(r.type, FERRY_VALUE_DOUBLE);
    assert_true(r.v.d == 81.5);
    assert_true(r.has_unit && str_is(r.unit, "rpm"));
    assert_true(r.has_source && str_is(r.source, "node-red"));
    free(owned);
    /* epoch seconds, ms, us, ns by magnitude; integers are longs, booleans, strings, null */
    json_ok(d, "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1767225600,\"value\":42}", &r,
            &owned);
    assert_int_equal(r.ts_us, T2026_US);
    assert_int_equal(r.type, FERRY_VALUE_LONG);
    assert_int_equal(r.v.l, 42);
    assert_false(r.has_unit);
    free(owned);
    json_ok(d,
            "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1767225600123,\"value\":true}",
            &r, &owned);
    assert_int_equal(r.ts_us, T2026_US + 123000);
    assert_int_equal(r.type, FERRY_VALUE_BOOL);
    assert_int_equal(r.v.b, 1);
    free(owned);
    json_ok(d,
            "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1767225600123456,"
            "\"value\":\"open\"}",
            &r, &owned);
    assert_int_equal(r.ts_us, T2026_US + 123456);
    assert_int_equal(r.type, FERRY_VALUE_STRING);
    assert_true(str_is(r.v.s, "open"));
    free(owned);
    json_ok(d,
            "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1767225600123456789,"
            "\"value\":null}",
            &r, &owned);
    assert_int_equal(r.ts_us, T2026_US + 123456);
    assert_int_equal(r.type, FERRY_VALUE_NULL);
    free(owned);
    json_ok(d, "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":\"1767225600\"}", &r, &owned);
    assert_int_equal(r.ts_us, T2026_US);
    assert_int_equal(r.type, FERRY_VALUE_NULL); /* absent value */
    free(owned);

    json_bad(d, "{\"ship_id\":\"S\",", "not JSON");
    json_bad(d, "[{\"ship_id\":\"S\"}]", "must be an object, got an array");
    json_bad(d, "{\"ship_id\":7,\"channel_id\":\"c\",\"timestamp\":1}", "ship_id must be a string");
    json_bad(d, "{\"ship_id\":\"S\",\"timestamp\":1}", "channel_id is missing");
    json_bad(d, "{\"ship_id\":\"S\",\"channel_id\":\"c\"}", "timestamp is missing");
    json_bad(d, "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":true}",
             "timestamp must be ISO-8601 text or an epoch number");
    json_bad(d, "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":\"yesterday\"}",
             "timestamp:");
    json_bad(d, "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":{\"a\":1}}",
             "value must be a number, boolean, string or null, got an object");
    json_bad(d, "{\"ship_id\":\"\",\"channel_id\":\"c\",\"timestamp\":1}", "empty ship_id");
    json_bad(d, "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"unit\":3}",
             "unit must be a string");
    ferry_decoder_free(d);
}

static void test_framings(void **state)
{
    (void)state;
    ferry_decoder_t *d = telemetry_decoder();
    ferry_reading_t in = {{"S9", 2}, {"ch", 2}, 5, FERRY_VALUE_LONG, {.l = -3}, 0, {0}, 0, {0}};
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_telemetry_encode(&in, &b);
    ferry_reading_t r;
    char *owned = NULL;
    ferry_err_t err;
    ferry_framing f;
    /* ferry's own single-object records: zero-copy, nothing allocated */
    assert_int_equal(ferry_decoder_reading(d, b.data, b.len, &r, &owned, &f, &err), FERRY_OK);
    assert_int_equal(f, FERRY_FRAMING_SINGLE_OBJECT);
    assert_null(owned);
    assert_true(r.ship_id.ptr == (const char *)b.data + 11); /* header 10, length 1 */
    assert_int_equal(r.v.l, -3);
    /* the same body in registry framing, but no registry: stop, do not dead-letter */
    unsigned char reg[64] = {0x00, 0x00, 0x00, 0x00, 0x07};
    memcpy(reg + 5, b.data + 10, b.len - 10);
    assert_int_equal(ferry_decoder_reading(d, reg, 5 + b.len - 10, &r, &owned, &f, &err),
                     FERRY_FATAL);
    assert_int_equal(f, FERRY_FRAMING_REGISTRY);
    assert_non_null(strstr(err.msg, "schema id 7"));
    /* another embedded schema's single-object record: poison naming both */
    const ferry_schema_t *bc = ferry_schema_get("BackfillChunk");
    ferry_buf_t other = FERRY_BUF_INIT;
    json_t *j = json_loads("{\"chunk_id\":\"x\",\"ship_id\":\"s\",\"start_ts\":0,\"end_ts\":1,"
                           "\"planned_at\":2,\"narrow_table\":\"t\"}",
                           0, NULL);
    assert_int_equal(ferry_avro_encode_json(bc, j, &other, &err), FERRY_OK);
    json_decref(j);
    assert_int_equal(ferry_decoder_reading(d, other.data, other.len, &r, &owned, &f, &err),
                     FERRY_POISON);
    assert_non_null(strstr(err.msg, "BackfillChunk"));
    assert_non_null(strstr(err.msg, "TelemetryReading"));
    /* an unknown fingerprint */
    b.data[5] ^= 0xff;
    assert_int_equal(ferry_decoder_reading(d, b.data, b.len, &r, &owned, &f, &err), FERRY_POISON);
    assert_non_null(strstr(err.msg, "unknown schema fingerprint"));
    /* no framing at all */
    assert_int_equal(ferry_decoder_reading(d, "hello", 5, &r, &owned, &f, &err), FERRY_POISON);
    assert_int_equal(f, FERRY_FRAMING_NONE);
    assert_non_null(strstr(err.msg, "not a known framing: starts with 68 65"));
    assert_int_equal(ferry_decoder_reading(d, "", 0, &r, &owned, &f, &err), FERRY_POISON);
    /* a registry header cut short is no framing; a single-object header cut short neither */
    assert_int_equal(ferry_framing_of("\x00\x00\x01", 3, NULL), FERRY_FRAMING_NONE);
    assert_int_equal(ferry_framing_of("\xC3\x01\x00", 3, NULL), FERRY_FRAMING_NONE);
    uint32_t id = 0;
    assert_int_equal(ferry_framing_of("\x00\x01\x02\x03\x04", 5, &id), FERRY_FRAMING_REGISTRY);
    assert_int_equal(id, 0x01020304u);
    ferry_buf_free(&b);
    ferry_buf_free(&other);
    ferry_decoder_free(d);
}

/* Without a reader (ferry tail) a record is decoded as its writer's schema. */
static void test_writer_values(void **state)
{
    (void)state;
    ferry_decoder_t *d = ferry_decoder_new(NULL, NULL, 0);
    ferry_reading_t in = {{"S9", 2}, {"ch", 2}, 5, FERRY_VALUE_DOUBLE, {.d = 2.5}, 0, {0}, 0, {0}};
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_telemetry_encode(&in, &b);
    avro_value_t v;
    const ferry_schema_t *s = NULL;
    ferry_err_t err;
    assert_int_equal(ferry_decoder_value(d, b.data, b.len, &v, &s, NULL, &err), FERRY_OK);
    assert_string_equal(ferry_schema_name(s), "TelemetryReading");
    json_t *j = ferry_avro_to_json(&v);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"channel_id\":\"ch\",\"ship_id\":\"S9\",\"source\":null,"
                              "\"timestamp\":5,\"unit\":null,\"value\":2.5}");
    free(text);
    json_decref(j);
    ferry_buf_free(&b);
    ferry_decoder_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_telemetry),
        cmocka_unit_test(test_framings),
        cmocka_unit_test(test_writer_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
