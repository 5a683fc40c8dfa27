/* test_avro.c - unit tests of the Avro layer (include/ferry/avro.h): round trips JSON -> Avro ->
 * wire -> Avro -> JSON for every schema, and hostile wire input (every truncation, trailing bytes,
 * bad magic, unknown fingerprints, forged lengths, random mutations), and decoding from several
 * threads at once. Schemas and fingerprints are tests/unit/test_avro_schema.c, the JSON side
 * tests/unit/test_avro_json.c. */
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

/* ---- round trips ------------------------------------------------------------------------ */

static const struct {
    const char *schema;
    const char *json;
} samples[] = {
    /* TelemetryReading: every branch of value, nulls, non-Latin text, extremes */
    {"TelemetryReading",
     "{\"ship_id\":\"IMO9321483\",\"channel_id\":\"ME1_RPM\",\"timestamp\":1714564800000000,"
     "\"value\":87.5,\"unit\":\"rpm\",\"source\":\"simulator\"}"},
    {"TelemetryReading",
     "{\"ship_id\":\"S1\",\"channel_id\":\"counter\",\"timestamp\":0,\"value\":42,"
     "\"unit\":null,\"source\":null}"},
    {"TelemetryReading",
     "{\"ship_id\":\"S1\",\"channel_id\":\"door_open\",\"timestamp\":-1,\"value\":true,"
     "\"unit\":null,\"source\":null}"},
    {"TelemetryReading", "{\"ship_id\":\"선박-한국-01\",\"channel_id\":\"警報\",\"timestamp\":1,"
                         "\"value\":\"ALARM: 과열 🔥 \\\"hot\\\" \\\\ \\u0000 end\",\"unit\":\"°C\","
                         "\"source\":\"csv:엔진.csv\"}"},
    {"TelemetryReading",
     "{\"ship_id\":\"S2\",\"channel_id\":\"c\",\"timestamp\":9223372036854775807,"
     "\"value\":null,\"unit\":null,\"source\":null}"},
    {"TelemetryReading",
     "{\"ship_id\":\"S2\",\"channel_id\":\"c\",\"timestamp\":-9223372036854775808,"
     "\"value\":-9223372036854775808,\"unit\":\"\",\"source\":\"\"}"},
    {"TelemetryReading",
     "{\"ship_id\":\"S2\",\"channel_id\":\"c\",\"timestamp\":5,\"value\":5.0,\"unit\":null,"
     "\"source\":null}"},
    {"TelemetryReading",
     "{\"ship_id\":\"S2\",\"channel_id\":\"c\",\"timestamp\":5,\"value\":{\"double\":\"NaN\"},"
     "\"unit\":null,\"source\":null}"},
    {"TelemetryReading", "{\"ship_id\":\"S2\",\"channel_id\":\"c\",\"timestamp\":5,"
                         "\"value\":{\"double\":\"-Infinity\"},\"unit\":null,\"source\":null}"},
    {"TelemetryReading",
     "{\"ship_id\":\"S2\",\"channel_id\":\"c\",\"timestamp\":5,\"value\":-1.25e-300,"
     "\"unit\":null,\"source\":null}"},
    {"TelemetryReading", "{\"ship_id\":\"S2\",\"channel_id\":\"c\",\"timestamp\":5,\"value\":false,"
                         "\"unit\":null,\"source\":null}"},
    /* MovieCrawled: a real list item with its verbatim JSON, and a sparse one */
    {"MovieCrawled",
     "{\"id\":634649,\"title\":\"스파이더맨: 노 웨이 홈\",\"original_title\":\"Spider-Man: No Way "
     "Home\",\"original_language\":\"en\",\"overview\":\"Peter Parker is unmasked and no longer "
     "able to separate his normal life from the high-stakes of being a super-hero.\","
     "\"release_date\":\"2021-12-15\",\"popularity\":17656.865,\"vote_average\":8.4,"
     "\"vote_count\":6786,\"adult\":false,\"video\":false,\"genre_ids\":[28,12,878],"
     "\"poster_path\":\"/1g0dhYtq4irTY1GPXvft6k4YLjm.jpg\",\"backdrop_path\":"
     "\"/iQFcwSGbZXMkeyKrxbPnwnRo5fl.jpg\",\"details_json\":\"{\\\"id\\\":634649,"
     "\\\"runtime\\\":148,\\\"tagline\\\":\\\"The Multiverse unleashed.\\\"}\","
     "\"raw_json\":\"{\\\"adult\\\":false,\\\"backdrop_path\\\":\\\"\\\\/"
     "iQFcwSGbZXMkeyKrxbPnwnRo5fl."
     "jpg\\\",\\\"id\\\":634649}\",\"job_id\":\"crawl-2022-02-01\",\"endpoint\":\"/3/movie/"
     "popular\","
     "\"page\":1,\"fetched_at\":1643673600123456,\"language\":\"ko-KR\",\"region\":\"KR\"}"},
    {"MovieCrawled",
     "{\"id\":1,\"title\":\"千と千尋の神隠し\",\"original_title\":\"千と千尋の神隠し\","
     "\"original_language\":\"ja\",\"overview\":\"\",\"release_date\":\"\",\"popularity\":0.0,"
     "\"vote_average\":0.0,\"vote_count\":0,\"adult\":true,\"video\":true,\"genre_ids\":[],"
     "\"poster_path\":null,\"backdrop_path\":null,\"details_json\":null,\"raw_json\":\"{}\","
     "\"job_id\":\"j\",\"endpoint\":\"/3/discover/movie\",\"page\":500,\"fetched_at\":0,"
     "\"language\":null,\"region\":null}"},
    /* WatchLogFeature: with and without the source coordinate */
    {"WatchLogFeature",
     "{\"user_id\":123456789,\"content_id\":634649,\"watch_seconds\":5400,\"rating\":4.5,"
     "\"popularity\":17656.865,\"event_time\":1643673600000000,\"derivation_version\":1,"
     "\"source\":{\"topic\":\"movies.crawled\",\"partition\":3,\"offset\":9876543210}}"},
    {"WatchLogFeature",
     "{\"user_id\":-1,\"content_id\":0,\"watch_seconds\":-2147483648,\"rating\":0.0,"
     "\"popularity\":1e-3,\"event_time\":0,\"derivation_version\":2147483647,\"source\":null}"},
    /* BackfillChunk */
    {"BackfillChunk",
     "{\"chunk_id\":\"SHIP-7/2024-05-01\",\"ship_id\":\"SHIP-7\",\"start_ts\":1714521600000000,"
     "\"end_ts\":1714608000000000,\"planned_at\":1714600000000000,\"attempt\":3,"
     "\"narrow_table\":\"legacy.sensor_readings\"}"},
    /* RetrainRequested: a watermark over three partitions, drift metrics or none */
    {"RetrainRequested",
     "{\"trigger_id\":\"retrain-000042\",\"reason\":\"min_new_rows\",\"new_rows\":50000,"
     "\"total_rows\":1250000,\"watermark\":[{\"topic\":\"movies.features\",\"partition\":0,"
     "\"offset\":100},{\"topic\":\"movies.features\",\"partition\":1,\"offset\":0},"
     "{\"topic\":\"movies.features\",\"partition\":2,\"offset\":9223372036854775807}],"
     "\"created_at\":1714600000000000,\"policy\":\"{\\\"min_new_rows\\\":50000}\","
     "\"drift_score\":null,\"drift_threshold\":null}"},
    {"RetrainRequested",
     "{\"trigger_id\":\"t\",\"reason\":\"drift\",\"new_rows\":0,\"total_rows\":0,"
     "\"watermark\":[],\"created_at\":0,\"policy\":\"{}\",\"drift_score\":0.31,"
     "\"drift_threshold\":0.25}"},
};

/* Encodes sample i into *msg (single-object encoding). */
static const ferry_schema_t *encode_sample(size_t i, ferry_buf_t *msg)
{
    const ferry_schema_t *s = ferry_schema_get(samples[i].schema);
    assert_non_null(s);
    json_t *in = parse(samples[i].json);
    ferry_err_t err;
    assert_ok(ferry_avro_encode_json(s, in, msg, &err), err);
    json_decref(in);
    return s;
}

static void test_round_trip(void **state)
{
    (void)state;
    avro_value_t reused[N_ITEMS(expected_schemas)];
    memset(reused, 0, sizeof reused);

    for (size_t i = 0; i < N_ITEMS(samples); i++) {
        const ferry_schema_t *s = ferry_schema_get(samples[i].schema);
        assert_non_null(s);
        json_t *in = parse(samples[i].json);
        ferry_err_t err;
        avro_value_t v;
        assert_ok(ferry_avro_from_json(s, in, &v, &err), err);

        ferry_buf_t msg = FERRY_BUF_INIT;
        ferry_buf_append_str(&msg, "xyz"); /* encode appends */
        assert_ok(ferry_avro_encode(s, &v, &msg, &err), err);
        assert_memory_equal(msg.data, "xyz", 3);
        const unsigned char *m = msg.data + 3;
        size_t len = msg.len - 3;
        assert_true(len > FERRY_AVRO_HEADER_LEN);
        assert_int_equal(m[0], 0xC3);
        assert_int_equal(m[1], 0x01);
        uint64_t fp = 0;
        for (int k = 0; k < 8; k++)
            fp |= (uint64_t)m[2 + k] << (8 * k); /* little-endian */
        assert_true(fp == ferry_schema_fingerprint(s));

        const ferry_schema_t *ds = NULL;
        avro_value_t dv;
        assert_ok(ferry_avro_decode(m, len, &ds, &dv, &err), err);
        assert_ptr_equal(ds, s);
        json_t *out = ferry_avro_to_json(&dv);
        assert_json_equal(in, out);

        /* re-encoding the decoded value gives the same bytes */
        ferry_buf_t again = FERRY_BUF_INIT;
        assert_ok(ferry_avro_encode(s, &dv, &again, &err), err);
        assert_int_equal(again.len, len);
        assert_memory_equal(again.data, m, len);

        /* decode_into reuses one value per schema across messages of every shape */
        size_t si = 0;
        while (ferry_schema_at(si) != s)
            si++;
        if (!reused[si].iface)
            assert_ok(ferry_schema_new_value(s, &reused[si]), err);
        assert_ok(ferry_avro_decode_into(s, m, len, &reused[si], &err), err);
        json_t *out2 = ferry_avro_to_json(&reused[si]);
        assert_json_equal(in, out2);

        /* and the CLI convenience */
        json_t *out3 = ferry_avro_decode_json(m, len, NULL, &err);
        assert_json_equal(in, out3);

        json_decref(out3);
        json_decref(out2);
        ferry_buf_free(&again);
        json_decref(out);
        avro_value_decref(&dv);
        avro_value_decref(&v);
        ferry_buf_free(&msg);
        json_decref(in);
    }
    for (size_t i = 0; i < N_ITEMS(reused); i++)
        if (reused[i].iface)
            avro_value_decref(&reused[i]);
}

/* The body bytes of a small record, worked out by hand from the Avro spec. */
static void test_known_encoding(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const unsigned char body[24];
        size_t len;
    } cases[] = {
        {"{\"ship_id\":\"S1\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":null}",
         {0x04, 'S', '1', 0x02, 'c', 0x02, 0x00, 0x00, 0x00},
         9},
        {"{\"ship_id\":\"\",\"channel_id\":\"\",\"timestamp\":-1,\"value\":42,\"unit\":\"m\"}",
         {0x00, 0x00, 0x01, 0x04, 0x54, 0x02, 0x02, 'm', 0x00},
         9},
        {"{\"ship_id\":\"\",\"channel_id\":\"\",\"timestamp\":-65,\"value\":1.5}",
         {0x00, 0x00, 0x81, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x00, 0x00},
         15},
        {"{\"ship_id\":\"\",\"channel_id\":\"\",\"timestamp\":64,\"value\":true,\"source\":\"é\"}",
         {0x00, 0x00, 0x80, 0x01, 0x06, 0x01, 0x00, 0x02, 0x04, 0xC3, 0xA9},
         11},
    };
    const ferry_schema_t *s = ferry_schema_get("TelemetryReading");
    for (size_t i = 0; i < N_ITEMS(cases); i++) {
        json_t *in = parse(cases[i].json);
        ferry_err_t err;
        avro_value_t v;
        assert_ok(ferry_avro_from_json(s, in, &v, &err), err);
        ferry_buf_t body = FERRY_BUF_INIT;
        assert_ok(ferry_avro_write_body(&v, &body, &err), err);
        assert_int_equal(body.len, cases[i].len);
        assert_memory_equal(body.data, cases[i].body, cases[i].len);

        avro_value_t back;
        assert_ok(ferry_schema_new_value(s, &back), err);
        assert_ok(ferry_avro_read_body(body.data, body.len, &back, &err), err);
        assert_true(avro_value_equal(&v, &back));
        avro_value_decref(&back);
        ferry_buf_free(&body);
        avro_value_decref(&v);
        json_decref(in);
    }
}

/* ---- hostile wire input ----------------------------------------------------------------- */

static void expect_poison(const void *data, size_t len, const char *needle)
{
    ferry_err_t err;
    const ferry_schema_t *s = (const ferry_schema_t *)1;
    avro_value_t v = {(avro_value_iface_t *)1, (void *)1};
    int rc = ferry_avro_decode(data, len, &s, &v, &err);
    if (rc != FERRY_POISON)
        fail_msg("decode of %zu bytes returned %d, want poison (%s)", len, rc, needle);
    assert_null(v.iface);
    assert_null(v.self);
    if (needle)
        assert_contains(err.msg, needle);
}

static void test_every_truncation(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ITEMS(samples); i++) {
        ferry_buf_t msg = FERRY_BUF_INIT;
        encode_sample(i, &msg);
        for (size_t n = 0; n < msg.len; n++) {
            /* an exact-size heap copy, so ASan sees any read past the end */
            unsigned char *copy = malloc(n ? n : 1);
            memcpy(copy, msg.data, n);
            expect_poison(copy, n,
                          n < FERRY_AVRO_HEADER_LEN ? "not Avro single-object encoding"
                                                    : "truncated");
            free(copy);
        }
        ferry_buf_free(&msg);
    }
}

static void test_trailing_bytes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ITEMS(samples); i++) {
        ferry_buf_t msg = FERRY_BUF_INIT;
        encode_sample(i, &msg);
        ferry_buf_append_byte(&msg, 0);
        expect_poison(msg.data, msg.len, "1 trailing bytes");
        ferry_buf_append_str(&msg, "more");
        expect_poison(msg.data, msg.len, "5 trailing bytes");
        ferry_buf_free(&msg);
    }
}

static void test_bad_header(void **state)
{
    (void)state;
    ferry_buf_t msg = FERRY_BUF_INIT;
    encode_sample(0, &msg);

    expect_poison(NULL, 0, "not Avro single-object encoding");
    expect_poison("{\"ship_id\":\"S1\"}", 16, "not Avro single-object encoding");
    msg.data[1] = 0x02;
    expect_poison(msg.data, msg.len, "not Avro single-object encoding");
    msg.data[1] = 0x01;
    msg.data[0] = 0x00; /* a Confluent-framed message starts with 0 */
    expect_poison(msg.data, msg.len, "not Avro single-object encoding");
    msg.data[0] = 0xC3;

    unsigned char saved[8];
    memcpy(saved, msg.data + 2, 8);
    memset(msg.data + 2, 0x11, 8);
    expect_poison(msg.data, msg.len, "unknown schema fingerprint 0x1111111111111111");
    memcpy(msg.data + 2, saved, 8);

    /* big-endian fingerprint is not ours */
    for (int k = 0; k < 8; k++)
        msg.data[2 + k] = saved[7 - k];
    expect_poison(msg.data, msg.len, "unknown schema fingerprint");
    memcpy(msg.data + 2, saved, 8);

    /* decode_into insists on its own schema */
    const ferry_schema_t *other = ferry_schema_get("BackfillChunk");
    avro_value_t v;
    ferry_err_t err;
    assert_ok(ferry_schema_new_value(other, &v), err);
    assert_int_equal(ferry_avro_decode_into(other, msg.data, msg.len, &v, &err), FERRY_POISON);
    assert_contains(err.msg, "TelemetryReading");
    assert_int_equal(ferry_avro_decode_into(other, msg.data, 3, &v, &err), FERRY_POISON);
    avro_value_decref(&v);

    uint64_t fp = 0;
    assert_ok(ferry_avro_peek(msg.data, msg.len, &fp, &err), err);
    assert_true(fp == ferry_schema_fingerprint(ferry_schema_get("TelemetryReading")));
    ferry_buf_free(&msg);
}

/* A message of `schema` with a hand-made body. */
static void forge(const char *schema, const unsigned char *body, size_t len, ferry_buf_t *out)
{
    uint64_t fp = ferry_schema_fingerprint(ferry_schema_get(schema));
    ferry_buf_reset(out);
    ferry_buf_append_byte(out, 0xC3);
    ferry_buf_append_byte(out, 0x01);
    for (int k = 0; k < 8; k++)
        ferry_buf_append_byte(out, (unsigned char)(fp >> (8 * k)));
    ferry_buf_append(out, body, len);
}

static void test_forged_bodies(void **state)
{
    (void)state;
    static const struct {
        const char *schema;
        unsigned char body[24];
        size_t len;
        const char *needle;
    } cases[] = {
        /* a string length of ~2^62: must not allocate, must not read */
        {"TelemetryReading",
         {0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F},
         9,
         "TelemetryReading.ship_id: truncated"},
        {"TelemetryReading", {0x01}, 1, "negative length"},
        {"TelemetryReading",
         {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01},
         11,
         "varint longer than 64 bits"},
        {"TelemetryReading",
         {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02},
         10,
         "varint longer than 64 bits"},
        {"TelemetryReading", {0x04, 0xC3, 0x28}, 3, "not valid UTF-8"},
        {"TelemetryReading", {0x04, 0xED, 0xA0, 0x80}, 4, "not valid UTF-8"}, /* surrogate */
        {"TelemetryReading", {0x06, 0xC0, 0x80, 'a'}, 4, "not valid UTF-8"},  /* overlong NUL */
        {"TelemetryReading",
         {0x00, 0x00, 0x00, 0x0A},
         4,
         "TelemetryReading.value: union branch index out of range"},
        {"TelemetryReading", {0x00, 0x00, 0x00, 0x01}, 4, "union branch index out of range"},
        {"TelemetryReading", {0x00, 0x00, 0x00, 0x06, 0x02}, 5, "boolean is neither 0 nor 1"},
        {"TelemetryReading", {0x00, 0x00, 0x00, 0x02, 0x00, 0x00}, 6, "truncated"},
        {"WatchLogFeature",
         {0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10},
         7,
         "WatchLogFeature.watch_seconds: int out of range"},
        /* watermark: 2^40 items in a few bytes */
        {"RetrainRequested",
         {0x00, 0x00, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40},
         10,
         "RetrainRequested.watermark: truncated: item count larger than the data"},
        /* a block with a byte size larger than what is left */
        {"RetrainRequested", {0x00, 0x00, 0x00, 0x00, 0x01, 0x7E}, 6, "bad block size"},
        {"RetrainRequested",
         {0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 't', 0x00},
         8,
         "RetrainRequested.watermark[0].offset: truncated"},
        {"MovieCrawled", {0x02}, 1, "MovieCrawled.title: truncated"},
    };
    ferry_buf_t msg = FERRY_BUF_INIT;
    for (size_t i = 0; i < N_ITEMS(cases); i++) {
        forge(cases[i].schema, cases[i].body, cases[i].len, &msg);
        expect_poison(msg.data, msg.len, cases[i].needle);
    }

    /* a negative block count with a valid size is fine: [{"t",0,0}] then end */
    static const unsigned char ok_block[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 't', 0x00,
                                             0x00, 0x00, 0x00, 0x04, '{',  '}',  0x00, 0x00};
    forge("RetrainRequested", ok_block, sizeof ok_block, &msg);
    ferry_err_t err;
    json_t *j = ferry_avro_decode_json(msg.data, msg.len, NULL, &err);
    if (!j)
        fail_msg("%s", err.msg);
    json_t *want = parse("{\"trigger_id\":\"\",\"reason\":\"\",\"new_rows\":0,\"total_rows\":0,"
                         "\"watermark\":[{\"topic\":\"t\",\"partition\":0,\"offset\":0}],"
                         "\"created_at\":0,\"policy\":\"{}\",\"drift_score\":null,"
                         "\"drift_threshold\":null}");
    assert_json_equal(want, j);
    json_decref(want);
    json_decref(j);
    ferry_buf_free(&msg);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random damage to valid messages and random bodies: only OK or POISON, never a crash, and
 * whatever decodes also converts to JSON and re-encodes. */
static void test_mutations(void **state)
{
    (void)state;
    ferry_err_t err;
    size_t decoded = 0, rejected = 0;
    for (size_t i = 0; i < N_ITEMS(samples); i++) {
        ferry_buf_t msg = FERRY_BUF_INIT;
        const ferry_schema_t *s = encode_sample(i, &msg);
        for (int round = 0; round < 3000; round++) {
            size_t len = msg.len;
            if (round % 5 == 0)
                len = FERRY_AVRO_HEADER_LEN + rng() % (msg.len - FERRY_AVRO_HEADER_LEN + 1);
            unsigned char *m = malloc(len);
            memcpy(m, msg.data, len);
            if (round % 7 == 0 && len > FERRY_AVRO_HEADER_LEN) { /* random body */
                for (size_t k = FERRY_AVRO_HEADER_LEN; k < len; k++)
                    m[k] = (unsigned char)rng();
            } else {
                int flips = 1 + (int)(rng() % 3);
                for (int f = 0; f < flips && len > FERRY_AVRO_HEADER_LEN; f++)
                    m[FERRY_AVRO_HEADER_LEN + rng() % (len - FERRY_AVRO_HEADER_LEN)] =
                        (unsigned char)rng();
            }
            avro_value_t v;
            int rc = ferry_avro_decode(m, len, NULL, &v, &err);
            if (rc == FERRY_OK) {
                decoded++;
                json_t *j = ferry_avro_to_json_err(&v, &err);
                if (!j)
                    fail_msg("decoded but no JSON: %s", err.msg);
                ferry_buf_t again = FERRY_BUF_INIT;
                assert_ok(ferry_avro_encode(s, &v, &again, &err), err);
                json_decref(j);
                ferry_buf_free(&again);
                avro_value_decref(&v);
            } else {
                if (rc != FERRY_POISON)
                    fail_msg("mutation returned %d: %s", rc, err.msg);
                assert_null(v.self);
                rejected++;
            }
            free(m);
        }
        ferry_buf_free(&msg);
    }
    assert_true(decoded > 0);
    assert_true(rejected > 0);
}

/* ---- threads ---------------------------------------------------------------------------- */

static ferry_buf_t thread_msg;

static void *decode_loop(void *arg)
{
    (void)arg;
    const ferry_schema_t *s = ferry_schema_get("TelemetryReading");
    avro_value_t v;
    ferry_err_t err;
    long failures = 0;
    if (ferry_schema_new_value(s, &v) != FERRY_OK)
        return (void *)1;
    for (int i = 0; i < 20000; i++) {
        if (ferry_avro_decode_into(s, thread_msg.data, thread_msg.len, &v, &err) != FERRY_OK)
            failures++;
        avro_value_t other;
        if (ferry_avro_decode(thread_msg.data, thread_msg.len, NULL, &other, &err) != FERRY_OK)
            failures++;
        else
            avro_value_decref(&other);
    }
    avro_value_decref(&v);
    return (void *)failures;
}

static void test_threads(void **state)
{
    (void)state;
    ferry_buf_reset(&thread_msg);
    encode_sample(3, &thread_msg);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, decode_loop, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *res;
        pthread_join(th[i], &res);
        assert_null(res);
    }
    ferry_buf_free(&thread_msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_known_encoding),
        cmocka_unit_test(test_every_truncation), cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_bad_header),       cmocka_unit_test(test_forged_bodies),
        cmocka_unit_test(test_mutations),        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
