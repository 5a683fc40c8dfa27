/* test_telemetry.c - the fast TelemetryReading codec is byte-compatible with the generic
 * Avro module in both directions, and rejects every malformed input as poison; plus the
 * string map and UTF-8 validation it relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ferry/avro.h"
#include "ferry/map.h"
#include "ferry/telemetry.h"

static ferry_reading_t make(const char *ship, const char *chan, int64_t ts, ferry_value_type t)
{
    ferry_reading_t r;
    memset(&r, 0, sizeof r);
    r.ship_id = (ferry_str_t){ship, strlen(ship)};
    r.channel_id = (ferry_str_t){chan, strlen(chan)};
    r.ts_us = ts;
    r.type = t;
    return r;
}

static void roundtrip_generic(const ferry_reading_t *r, const char *want_json)
{
    ferry_buf_t fast = FERRY_BUF_INIT, generic = FERRY_BUF_INIT;
    ferry_telemetry_encode(r, &fast);
    /* fast bytes decode with the generic module into the expected JSON */
    ferry_err_t err;
    json_t *j = ferry_avro_decode_json(fast.data, fast.len, NULL, &err);
    assert_non_null(j);
    json_error_t je;
    json_t *want = json_loads(want_json, 0, &je);
    assert_non_null(want);
    if (!json_equal(j, want)) {
        char *got = json_dumps(j, JSON_COMPACT);
        fail_msg("got %s want %s", got, want_json);
    }
    /* and the generic encoding of that JSON is byte-identical to the fast one */
    assert_int_equal(
        ferry_avro_encode_json(ferry_schema_get("TelemetryReading"), want, &generic, &err),
        FERRY_OK);
    assert_int_equal(generic.len, fast.len);
    assert_memory_equal(generic.data, fast.data, fast.len);
    /* and the fast decoder reads it back */
    ferry_reading_t back;
    assert_int_equal(ferry_telemetry_decode(generic.data, generic.len, &back, &err), FERRY_OK);
    assert_int_equal(back.type, r->type);
    assert_int_equal(back.ts_us, r->ts_us);
    assert_int_equal(back.ship_id.len, r->ship_id.len);
    assert_memory_equal(back.ship_id.ptr, r->ship_id.ptr, r->ship_id.len);
    assert_memory_equal(back.channel_id.ptr, r->channel_id.ptr, r->channel_id.len);
    json_decref(j);
    json_decref(want);
    ferry_buf_free(&fast);
    ferry_buf_free(&generic);
}

static void test_compatible_with_generic(void **state)
{
    ferry_reading_t r =
        make("IMO9300001", "main_engine.rpm", 1700000000123456LL, FERRY_VALUE_DOUBLE);
    r.v.d = 87.125;
    r.has_unit = 1;
    r.unit = (ferry_str_t){"rpm", 3};
    roundtrip_generic(&r, "{\"ship_id\":\"IMO9300001\",\"channel_id\":\"main_engine.rpm\","
                          "\"timestamp\":1700000000123456,\"value\":87.125,\"unit\":\"rpm\","
                          "\"source\":null}");
    r = make("선박-7", "counter", -5, FERRY_VALUE_LONG);
    r.v.l = -9223372036854775807LL - 1;
    roundtrip_generic(&r, "{\"ship_id\":\"선박-7\",\"channel_id\":\"counter\",\"timestamp\":-5,"
                          "\"value\":-9223372036854775808,\"unit\":null,\"source\":null}");
    r = make("s", "alarm", 0, FERRY_VALUE_BOOL);
    r.v.b = 1;
    r.has_source = 1;
    r.source = (ferry_str_t){"csv:x", 5};
    roundtrip_generic(&r, "{\"ship_id\":\"s\",\"channel_id\":\"alarm\",\"timestamp\":0,"
                          "\"value\":true,\"unit\":null,\"source\":\"csv:x\"}");
    r = make("s", "status \"q\";", 1, FERRY_VALUE_STRING);
    r.v.s = (ferry_str_t){"at anchor", 9};
    roundtrip_generic(&r, "{\"ship_id\":\"s\",\"channel_id\":\"status \\\"q\\\";\",\"timestamp\":1,"
                          "\"value\":\"at anchor\",\"unit\":null,\"source\":null}");
    r = make("s", "x", 2, FERRY_VALUE_NULL);
    roundtrip_generic(&r, "{\"ship_id\":\"s\",\"channel_id\":\"x\",\"timestamp\":2,"
                          "\"value\":null,\"unit\":null,\"source\":null}");
}

static void test_poison(void **state)
{
    ferry_reading_t r = make("IMO1", "ch", 123, FERRY_VALUE_STRING), out;
    r.v.s = (ferry_str_t){"hello", 5};
    r.has_unit = 1;
    r.unit = (ferry_str_t){"u", 1};
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_telemetry_encode(&r, &b);
    ferry_err_t err;
    assert_int_equal(ferry_telemetry_decode(b.data, b.len, &out, &err), FERRY_OK);
    /* every truncation, on an exact-size copy so ASan sees any overread */
    for (size_t n = 0; n < b.len; n++) {
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, b.data, n);
        assert_int_equal(ferry_telemetry_decode(cut, n, &out, &err), FERRY_POISON);
        free(cut);
    }
    /* trailing bytes */
    ferry_buf_t t = FERRY_BUF_INIT;
    ferry_buf_append(&t, b.data, b.len);
    ferry_buf_append_byte(&t, 0);
    assert_int_equal(ferry_telemetry_decode(t.data, t.len, &out, &err), FERRY_POISON);
    assert_non_null(strstr(err.msg, "trailing"));
    /* wrong magic, unknown fingerprint, another schema */
    t.data[0] = 0x00;
    assert_int_equal(ferry_telemetry_decode(t.data, b.len, &out, &err), FERRY_POISON);
    memcpy(t.data, b.data, b.len);
    t.data[5] ^= 0xff;
    assert_int_equal(ferry_telemetry_decode(t.data, b.len, &out, &err), FERRY_POISON);
    assert_non_null(strstr(err.msg, "unknown schema fingerprint"));
    ferry_buf_t other = FERRY_BUF_INIT;
    json_t *bc = json_pack("{s:s,s:s,s:I,s:I,s:I,s:i,s:s}", "chunk_id", "c", "ship_id", "s",
                           "start_ts", (json_int_t)0, "end_ts", (json_int_t)1, "planned_at",
                           (json_int_t)0, "attempt", 0, "narrow_table", "n");
    assert_int_equal(ferry_avro_encode_json(ferry_schema_get("BackfillChunk"), bc, &other, &err),
                     FERRY_OK);
    assert_int_equal(ferry_telemetry_decode(other.data, other.len, &out, &err), FERRY_POISON);
    assert_non_null(strstr(err.msg, "BackfillChunk"));
    json_decref(bc);
    /* bad union index: the value branch is at a known place for this reading */
    ferry_buf_t u = FERRY_BUF_INIT;
    ferry_reading_t rn = make("IMO1", "ch", 0, FERRY_VALUE_NULL);
    ferry_telemetry_encode(&rn, &u);
    /* header 10, ship len+4, chan len+2, ts 1 => value index at 10+5+3+1 */
    assert_int_equal(u.data[19], 0);
    u.data[19] = 2 * 7; /* zigzag 7 */
    assert_int_equal(ferry_telemetry_decode(u.data, u.len, &out, &err), FERRY_POISON);
    /* empty ids, invalid UTF-8, NUL */
    const char *bad_ship[] = {"", "\xff\xfe", "a\0b"};
    size_t bad_len[] = {0, 2, 3};
    for (int i = 0; i < 3; i++) {
        ferry_buf_t x = FERRY_BUF_INIT;
        ferry_reading_t rb = make("s", "c", 0, FERRY_VALUE_NULL);
        rb.ship_id = (ferry_str_t){bad_ship[i], bad_len[i]};
        ferry_telemetry_encode(&rb, &x);
        assert_int_equal(ferry_telemetry_decode(x.data, x.len, &out, &err), FERRY_POISON);
        ferry_buf_free(&x);
    }
    ferry_buf_t e = FERRY_BUF_INIT;
    ferry_reading_t re = make("s", "", 0, FERRY_VALUE_NULL);
    ferry_telemetry_encode(&re, &e);
    assert_int_equal(ferry_telemetry_decode(e.data, e.len, &out, &err), FERRY_POISON);
    assert_non_null(strstr(err.msg, "channel_id"));
    ferry_buf_free(&e);
    ferry_buf_free(&u);
    ferry_buf_free(&other);
    ferry_buf_free(&t);
    ferry_buf_free(&b);
}

static void test_utf8(void **state)
{
    assert_true(ferry_utf8_valid("plain", 5));
    assert_true(ferry_utf8_valid("선박", strlen("선박")));
    assert_true(ferry_utf8_valid("\xf0\x9f\x9a\xa2", 4)); /* ship emoji */
    assert_false(ferry_utf8_valid("\xc0\xaf", 2));        /* overlong */
    assert_false(ferry_utf8_valid("\xed\xa0\x80", 3));    /* surrogate */
    assert_false(ferry_utf8_valid("\xe2\x82", 2));        /* truncated */
    assert_false(ferry_utf8_valid("a\0", 2));
}

static void test_map(void **state)
{
    ferry_map_t *m = ferry_map_new();
    char key[32];
    for (long i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "k%ld", i);
        ferry_map_put(m, key, (size_t)n, (void *)(i + 1));
    }
    assert_int_equal(ferry_map_count(m), 5000);
    for (long i = 0; i < 5000; i += 2) {
        int n = snprintf(key, sizeof key, "k%ld", i);
        assert_ptr_equal(ferry_map_del(m, key, (size_t)n), (void *)(i + 1));
    }
    assert_int_equal(ferry_map_count(m), 2500);
    for (long i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "k%ld", i);
        void *v = ferry_map_get(m, key, (size_t)n);
        if (i % 2)
            assert_ptr_equal(v, (void *)(i + 1));
        else
            assert_null(v);
    }
    ferry_map_put(m, "k1", 2, (void *)7);
    assert_ptr_equal(ferry_map_get(m, "k1", 2), (void *)7);
    assert_int_equal(ferry_map_count(m), 2500);
    ferry_map_destroy(m);
    assert_true(ferry_hash64("a", 1) != ferry_hash64("b", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compatible_with_generic),
        cmocka_unit_test(test_poison),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
