/* test_avro_json.c - unit tests of the Avro layer's JSON side and helpers
 * (include/ferry/avro.h): natural JSON errors and conveniences, every other Avro type through
 * JSON and back, encode errors, the checked setters, and decoding from several threads at once.
 * The wire side is tests/unit/test_avro.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/avro.h"
#include "unit/avro_support.h"

#include "unit/avro_vectors/expected.h"

/* ---- JSON ------------------------------------------------------------------------------- */

static void expect_json_error(const char *schema, const char *json, const char *needle)
{
    const ferry_schema_t *s = ferry_schema_get(schema);
    json_t *in = parse(json);
    ferry_err_t err;
    avro_value_t v = {(avro_value_iface_t *)1, (void *)1};
    int rc = ferry_avro_from_json(s, in, &v, &err);
    if (rc != FERRY_POISON)
        fail_msg("from_json(%s) returned %d, want poison", json, rc);
    assert_null(v.iface);
    assert_contains(err.msg, needle);
    ferry_buf_t out = FERRY_BUF_INIT;
    assert_int_equal(ferry_avro_encode_json(s, in, &out, &err), FERRY_POISON);
    assert_int_equal(out.len, 0);
    ferry_buf_free(&out);
    json_decref(in);
}

static void test_json_errors(void **state)
{
    (void)state;
    expect_json_error("TelemetryReading", "{}", "missing required field TelemetryReading.ship_id");
    expect_json_error("TelemetryReading",
                      "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1}",
                      "missing required field TelemetryReading.value");
    expect_json_error("TelemetryReading",
                      "{\"ship_id\":5,\"channel_id\":\"c\",\"timestamp\":1,\"value\":1}",
                      "TelemetryReading.ship_id: expected a string, got an integer");
    expect_json_error("TelemetryReading",
                      "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":\"yesterday\","
                      "\"value\":1}",
                      "TelemetryReading.timestamp: \"yesterday\" is not an RFC 3339 timestamp");
    expect_json_error("TelemetryReading",
                      "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":true,\"value\":1}",
                      "TelemetryReading.timestamp: expected a long or an RFC 3339 timestamp "
                      "string, got a boolean");
    expect_json_error("TelemetryReading",
                      "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1.5,\"value\":1}",
                      "TelemetryReading.timestamp: expected a long");
    expect_json_error(
        "TelemetryReading",
        "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":{\"x\":1}}",
        "TelemetryReading.value: no union branch of "
        "[null,double,long,boolean,string] takes an object");
    expect_json_error("TelemetryReading",
                      "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":[1]}",
                      "TelemetryReading.value: no union branch");
    expect_json_error("TelemetryReading",
                      "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,"
                      "\"value\":{\"long\":\"x\"}}",
                      "TelemetryReading.value: expected a long");
    expect_json_error("TelemetryReading",
                      "{\"shipid\":\"S\",\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,"
                      "\"value\":1}",
                      "TelemetryReading: unknown field \"shipid\"");
    expect_json_error("TelemetryReading", "[]",
                      "TelemetryReading: expected an object, got an array");
    expect_json_error("RetrainRequested",
                      "{\"trigger_id\":\"t\",\"reason\":\"drift\",\"new_rows\":0,\"total_rows\":0,"
                      "\"watermark\":[{\"topic\":\"a\",\"partition\":0,\"offset\":1},"
                      "{\"topic\":\"a\",\"partition\":\"1\",\"offset\":1}],\"created_at\":0,"
                      "\"policy\":\"{}\"}",
                      "RetrainRequested.watermark[1].partition: expected an int, got a string");
    expect_json_error("WatchLogFeature",
                      "{\"user_id\":1,\"content_id\":2,\"watch_seconds\":4294967296,\"rating\":1,"
                      "\"popularity\":1,\"event_time\":0,\"derivation_version\":1}",
                      "WatchLogFeature.watch_seconds: 4294967296 is out of int range");
    expect_json_error(
        "WatchLogFeature",
        "{\"user_id\":1,\"content_id\":2,\"watch_seconds\":1,\"rating\":1,"
        "\"popularity\":1,\"event_time\":0,\"derivation_version\":1,\"source\":"
        "{\"dev.ferry.movies.TopicPartitionOffset\":{\"topic\":\"t\",\"partition\":0}}}",
        "missing required field WatchLogFeature.source.offset");
    expect_json_error("MovieCrawled", "{\"id\":1,\"genre_ids\":[1,\"x\"]}",
                      "missing required field MovieCrawled.title");
    expect_json_error("BackfillChunk",
                      "{\"chunk_id\":\"c\",\"ship_id\":\"s\",\"start_ts\":\"2024-02-30T00:00:00Z\","
                      "\"end_ts\":0,\"planned_at\":0,\"narrow_table\":\"t\"}",
                      "BackfillChunk.start_ts: \"2024-02-30T00:00:00Z\" is not an RFC 3339");

    const ferry_schema_t *s = ferry_schema_get("TelemetryReading");
    ferry_err_t err;
    avro_value_t v;
    assert_int_equal(ferry_avro_from_json(s, NULL, &v, &err), FERRY_POISON);
}

static void expect_converts(const char *schema, const char *json, const char *want_json)
{
    const ferry_schema_t *s = ferry_schema_get(schema);
    json_t *in = parse(json);
    json_t *want = parse(want_json);
    ferry_err_t err;
    avro_value_t v;
    assert_ok(ferry_avro_from_json(s, in, &v, &err), err);
    json_t *out = ferry_avro_to_json(&v);
    assert_json_equal(want, out);
    json_decref(out);
    avro_value_decref(&v);
    json_decref(want);
    json_decref(in);
}

static void test_json_conveniences(void **state)
{
    (void)state;
    /* defaults fill missing optional fields */
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":2}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":2,"
                    "\"unit\":null,\"source\":null}");
    expect_converts("BackfillChunk",
                    "{\"chunk_id\":\"c\",\"ship_id\":\"s\",\"start_ts\":0,\"end_ts\":1,"
                    "\"planned_at\":0,\"narrow_table\":\"t\"}",
                    "{\"chunk_id\":\"c\",\"ship_id\":\"s\",\"start_ts\":0,\"end_ts\":1,"
                    "\"planned_at\":0,\"attempt\":0,\"narrow_table\":\"t\"}");
    /* Avro's JSON encoding of unions is accepted; output is natural again */
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,"
                    "\"value\":{\"long\":5},\"unit\":{\"string\":\"m\"}}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":5,"
                    "\"unit\":\"m\",\"source\":null}");
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,"
                    "\"value\":{\"double\":3}}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":3.0,"
                    "\"unit\":null,\"source\":null}");
    /* the string "NaN" is a string; a NaN double comes back wrapped */
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":\"NaN\"}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":\"NaN\","
                    "\"unit\":null,\"source\":null}");
    /* RFC 3339 for timestamp fields, an integral real for a long */
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":"
                    "\"2024-05-01T12:00:00.5Z\",\"value\":null}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1714564800500000,"
                    "\"value\":null,\"unit\":null,\"source\":null}");
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":"
                    "\"2024-05-01T21:00:00+09:00\",\"value\":null}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1714564800000000,"
                    "\"value\":null,\"unit\":null,\"source\":null}");
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":"
                    "\"1969-12-31T23:59:59.999999Z\",\"value\":null}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":-1,"
                    "\"value\":null,\"unit\":null,\"source\":null}");
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1e6,\"value\":null}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1000000,"
                    "\"value\":null,\"unit\":null,\"source\":null}");
    /* a named branch by its full name */
    expect_converts("WatchLogFeature",
                    "{\"user_id\":1,\"content_id\":2,\"watch_seconds\":3,\"rating\":4,"
                    "\"popularity\":5,\"event_time\":6,\"derivation_version\":7,\"source\":"
                    "{\"dev.ferry.movies.TopicPartitionOffset\":{\"topic\":\"t\",\"partition\":0,"
                    "\"offset\":9}}}",
                    "{\"user_id\":1,\"content_id\":2,\"watch_seconds\":3,\"rating\":4.0,"
                    "\"popularity\":5.0,\"event_time\":6,\"derivation_version\":7,\"source\":"
                    "{\"topic\":\"t\",\"partition\":0,\"offset\":9}}");
}

/* Types the ferry schemas don't use (yet): float, bytes, fixed, enum, map, recursion. */
static const char kitchen_schema[] =
    "{\"type\":\"record\",\"name\":\"Kitchen\",\"namespace\":\"t.sink\",\"fields\":["
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"b\",\"type\":\"bytes\"},"
    "{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"Four\",\"size\":4}},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"Color\",\"symbols\":[\"RED\","
    "\"GREEN\"]}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"int\"}},"
    "{\"name\":\"u\",\"type\":[\"null\",\"int\",\"long\",\"float\",\"double\",\"Color\","
    "\"Four\",\"bytes\"]},"
    "{\"name\":\"n\",\"type\":{\"type\":\"array\",\"items\":\"null\"}},"
    "{\"name\":\"d\",\"type\":\"string\",\"default\":\"dflt\"},"
    "{\"name\":\"next\",\"type\":[\"null\",\"Kitchen\"],\"default\":null}]}";

static void test_other_types(void **state)
{
    (void)state;
    ferry_schema_t *s = NULL;
    ferry_err_t err;
    assert_ok(ferry_schema_parse(kitchen_schema, strlen(kitchen_schema), &s, &err), err);
    assert_string_equal(ferry_schema_name(s), "Kitchen");
    assert_string_equal(ferry_schema_fullname(s), "t.sink.Kitchen");
    assert_null(ferry_schema_file(s));
    assert_null(ferry_schema_by_fingerprint(ferry_schema_fingerprint(s))); /* not registered */

    static const char *docs[] = {
        "{\"f\":1.5,\"b\":\"\\u0000\\u00ff\\u0080A\",\"x\":\"abcd\",\"e\":\"GREEN\","
        "\"m\":{\"k1\":1,\"키\":-2},\"u\":7,\"n\":[null,null],\"d\":\"x\",\"next\":{\"f\":-0.25,"
        "\"b\":\"\",\"x\":\"\\u0000\\u0001\\u00fe\\u00ff\",\"e\":\"RED\",\"m\":{},\"u\":null,"
        "\"n\":[],\"d\":\"\",\"next\":null}}",
        "{\"f\":\"Infinity\",\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":{\"long\":7},"
        "\"n\":[],\"d\":\"\",\"next\":null}",
        "{\"f\":0.0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":\"GREEN\",\"n\":[],"
        "\"d\":\"\",\"next\":null}",
        "{\"f\":0.0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":\"wxyz\",\"n\":[],"
        "\"d\":\"\",\"next\":null}",
        "{\"f\":0.0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":\"ab\\u00e9\",\"n\":[],"
        "\"d\":\"\",\"next\":null}",
        "{\"f\":0.0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":1.5,\"n\":[],"
        "\"d\":\"\",\"next\":null}",
        "{\"f\":0.0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":{\"double\":1.5},"
        "\"n\":[],\"d\":\"\",\"next\":null}",
        "{\"f\":0.0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":{\"bytes\":\"abcd\"},"
        "\"n\":[],\"d\":\"\",\"next\":null}",
    };
    for (size_t i = 0; i < N_ITEMS(docs); i++) {
        json_t *in = parse(docs[i]);
        avro_value_t v, back;
        assert_ok(ferry_avro_from_json(s, in, &v, &err), err);
        ferry_buf_t msg = FERRY_BUF_INIT;
        assert_ok(ferry_avro_encode(s, &v, &msg, &err), err);
        assert_ok(ferry_schema_new_value(s, &back), err);
        assert_ok(ferry_avro_decode_into(s, msg.data, msg.len, &back, &err), err);
        json_t *out = ferry_avro_to_json(&back);
        assert_json_equal(in, out);
        for (size_t n = 0; n < msg.len; n++)
            assert_int_equal(ferry_avro_decode_into(s, msg.data, n, &back, &err), FERRY_POISON);
        json_decref(out);
        avro_value_decref(&back);
        avro_value_decref(&v);
        ferry_buf_free(&msg);
        json_decref(in);
    }

    /* a default that is not null: "d" missing takes "dflt" */
    json_t *in = parse("{\"f\":0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":null,"
                       "\"n\":[]}");
    avro_value_t v;
    assert_ok(ferry_avro_from_json(s, in, &v, &err), err);
    avro_value_t d;
    const char *str;
    size_t len;
    assert_ok(ferry_avro_field(&v, "d", &d, &err), err);
    assert_ok(ferry_avro_get_string(&d, &str, &len), err);
    assert_string_equal(str, "dflt");
    assert_int_equal(len, 4);
    avro_value_decref(&v);
    json_decref(in);

    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"f\":1e300,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":null,\"n\":[]}",
         "Kitchen.f: 1e+300 is out of float range"},
        {"{\"f\":0,\"b\":\"\\u0100\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":null,\"n\":[]}",
         "Kitchen.b: bytes string has a character above U+00FF"},
        {"{\"f\":0,\"b\":\"\",\"x\":\"abc\",\"e\":\"RED\",\"m\":{},\"u\":null,\"n\":[]}",
         "Kitchen.x: fixed needs 4 bytes, got 3"},
        {"{\"f\":0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"BLUE\",\"m\":{},\"u\":null,\"n\":[]}",
         "Kitchen.e: \"BLUE\" is not a symbol of Color"},
        {"{\"f\":0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{\"k\":\"v\"},\"u\":null,"
         "\"n\":[]}",
         "Kitchen.m[\"k\"]: expected an int, got a string"},
        {"{\"f\":0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":true,\"n\":[]}",
         "Kitchen.u: no union branch of [null,int,long,float,double,t.sink.Color,t.sink.Four,"
         "bytes] takes a boolean"},
        {"{\"f\":0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":null,\"n\":[],"
         "\"next\":{\"f\":0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":null,"
         "\"n\":[1]}}",
         "Kitchen.next.n[0]: expected null, got an integer"},
    };
    for (size_t i = 0; i < N_ITEMS(bad); i++) {
        json_t *j = parse(bad[i].json);
        assert_int_equal(ferry_avro_from_json(s, j, &v, &err), FERRY_POISON);
        assert_contains(err.msg, bad[i].needle);
        json_decref(j);
    }

    /* forged map and enum bodies */
    ferry_buf_t msg = FERRY_BUF_INIT;
    static const unsigned char bad_enum[] = {0, 0, 0, 0, 0, 'a', 'b', 'c', 'd', 0x04};
    ferry_buf_append_byte(&msg, 0xC3);
    ferry_buf_append_byte(&msg, 0x01);
    for (int k = 0; k < 8; k++)
        ferry_buf_append_byte(&msg, (unsigned char)(ferry_schema_fingerprint(s) >> (8 * k)));
    ferry_buf_append(&msg, bad_enum, sizeof bad_enum);
    assert_ok(ferry_schema_new_value(s, &v), err);
    assert_int_equal(ferry_avro_decode_into(s, msg.data, msg.len, &v, &err), FERRY_POISON);
    assert_contains(err.msg, "Kitchen.e: enum index out of range");
    avro_value_decref(&v);
    ferry_buf_free(&msg);

    ferry_schema_free(s);
    ferry_schema_free(NULL);

    assert_int_equal(ferry_schema_parse("{", 1, &s, &err), FERRY_POISON);
    assert_null(s);
    assert_int_equal(ferry_schema_parse("\"Nope\"", 6, &s, &err), FERRY_POISON);
    assert_contains(err.msg, "undefined type name");
}

static void test_encode_errors(void **state)
{
    (void)state;
    const ferry_schema_t *t = ferry_schema_get("TelemetryReading");
    const ferry_schema_t *b = ferry_schema_get("BackfillChunk");
    ferry_err_t err;
    avro_value_t v;
    assert_ok(ferry_schema_new_value(t, &v), err);
    ferry_buf_t out = FERRY_BUF_INIT;
    /* a fresh value: its unions have no branch yet */
    assert_int_equal(ferry_avro_encode(t, &v, &out, &err), FERRY_POISON);
    assert_contains(err.msg, "TelemetryReading.value: union has no branch selected");
    assert_int_equal(out.len, 0);
    assert_null(ferry_avro_to_json_err(&v, &err));
    assert_contains(err.msg, "TelemetryReading.value");
    /* a value of another schema */
    assert_int_equal(ferry_avro_encode(b, &v, &out, &err), FERRY_FATAL);
    assert_int_equal(out.len, 0);
    avro_value_decref(&v);
    ferry_buf_free(&out);
}

static void test_helpers(void **state)
{
    (void)state;
    const ferry_schema_t *s = ferry_schema_get("TelemetryReading");
    json_t *in = parse("{\"ship_id\":\"선박\",\"channel_id\":\"c\",\"timestamp\":1,"
                       "\"value\":\"on\",\"unit\":null}");
    ferry_err_t err;
    avro_value_t v, f;
    const char *str;
    size_t len;
    assert_ok(ferry_avro_from_json(s, in, &v, &err), err);
    assert_ok(ferry_avro_field(&v, "ship_id", &f, &err), err);
    assert_ok(ferry_avro_get_string(&f, &str, &len), err);
    assert_string_equal(str, "선박");
    assert_int_equal(len, strlen("선박"));
    assert_ok(ferry_avro_field(&v, "value", &f, &err), err); /* looks through the union */
    assert_int_equal(avro_value_get_type(&f), AVRO_STRING);
    assert_ok(ferry_avro_get_string(&f, &str, NULL), err);
    assert_string_equal(str, "on");
    assert_ok(ferry_avro_field(&v, "unit", &f, &err), err);
    assert_true(ferry_avro_is_null(&f));
    assert_int_equal(ferry_avro_get_string(&f, &str, &len), FERRY_POISON);
    assert_int_equal(ferry_avro_field(&v, "nope", &f, &err), FERRY_FATAL);
    avro_value_t raw;
    avro_value_get_by_name(&v, "unit", &raw, NULL);
    assert_true(ferry_avro_is_null(&raw));
    assert_false(ferry_avro_is_null(&v));
    avro_value_decref(&v);
    json_decref(in);
}

/* A schema that renamed or retyped a field: every checked setter refuses it by name instead of
 * writing through a value that get_by_name never set. */
static void test_checked_setters(void **state)
{
    const char *json =
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
        "{\"name\":\"n\",\"type\":\"long\"},{\"name\":\"i\",\"type\":\"int\"},"
        "{\"name\":\"d\",\"type\":\"double\"},{\"name\":\"s\",\"type\":\"string\"},"
        "{\"name\":\"o\",\"type\":[\"null\",\"double\"]},"
        "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":"
        "{\"type\":\"record\",\"name\":\"I\",\"fields\":[{\"name\":\"x\",\"type\":\"long\"}]}}}]}";
    avro_schema_t sch;
    assert_int_equal(avro_schema_from_json_length(json, strlen(json), &sch), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(sch);
    avro_value_t v, item, b;
    assert_int_equal(avro_generic_value_new(iface, &v), 0);
    ferry_err_t err;
    assert_int_equal(ferry_avro_set_long(&v, "n", INT64_MAX, &err), FERRY_OK);
    assert_int_equal(ferry_avro_set_int(&v, "i", -7, &err), FERRY_OK);
    assert_int_equal(ferry_avro_set_double(&v, "d", 1.5, &err), FERRY_OK);
    assert_int_equal(ferry_avro_set_string(&v, "s", "x", &err), FERRY_OK);
    assert_int_equal(ferry_avro_set_opt_double(&v, "o", 1, 2.5, &err), FERRY_OK);
    assert_int_equal(ferry_avro_append(&v, "a", &item, &err), FERRY_OK);
    assert_int_equal(ferry_avro_set_long(&item, "x", 3, &err), FERRY_OK);
    avro_value_t f;
    int64_t l = 0;
    double dd = 0;
    avro_value_get_by_name(&v, "n", &f, NULL);
    avro_value_get_long(&f, &l);
    assert_true(l == INT64_MAX);
    avro_value_get_by_name(&v, "o", &f, NULL);
    int disc = -1;
    avro_value_get_discriminant(&f, &disc);
    assert_int_equal(disc, 1);
    avro_value_get_current_branch(&f, &b);
    avro_value_get_double(&b, &dd);
    assert_true(dd == 2.5);
    assert_int_equal(ferry_avro_set_opt_double(&v, "o", 0, 0, &err), FERRY_OK);
    avro_value_get_discriminant(&f, &disc);
    assert_int_equal(disc, 0);

    /* renamed: no such field */
    assert_int_equal(ferry_avro_set_long(&v, "renamed", 1, &err), FERRY_FATAL);
    assert_non_null(strstr(err.msg, "\"renamed\""));
    assert_int_equal(ferry_avro_set_string(&v, "gone", "x", &err), FERRY_FATAL);
    assert_int_equal(ferry_avro_set_branch(&v, "gone", 1, &b, &err), FERRY_FATAL);
    assert_int_equal(ferry_avro_append(&v, "gone", &item, &err), FERRY_FATAL);
    /* retyped: the field is there with another type */
    assert_int_equal(ferry_avro_set_int(&v, "n", 1, &err), FERRY_FATAL);
    assert_non_null(strstr(err.msg, "\"n\" is not of type int"));
    assert_int_equal(ferry_avro_set_long(&v, "s", 1, &err), FERRY_FATAL);
    assert_int_equal(ferry_avro_set_double(&v, "i", 1, &err), FERRY_FATAL);
    assert_int_equal(ferry_avro_set_opt_double(&v, "d", 1, 1, &err), FERRY_FATAL);
    assert_int_equal(ferry_avro_append(&v, "s", &item, &err), FERRY_FATAL);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(sch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_errors), cmocka_unit_test(test_json_conveniences),
        cmocka_unit_test(test_other_types), cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_helpers),     cmocka_unit_test(test_checked_setters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
