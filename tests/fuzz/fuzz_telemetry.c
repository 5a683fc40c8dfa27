/* fuzz_telemetry.c - the fast TelemetryReading codec (lib/telemetry.c).
 *
 * Input: one option byte, then the message. With bit 0 clear the rest gets the
 * TelemetryReading header (so the fuzzer works on the body); with it set the rest is the
 * whole message (header checks fuzzed too).
 *
 * Checks for every reading the fast decoder accepts: the generic Avro decoder accepts the
 * same bytes too, and both re-encode them to identical bytes (the codec promises to be
 * byte-compatible); re-encoding and decoding again gives the same reading. */
#include <string.h>

#include "ferry/avro.h"
#include "ferry/buf.h"
#include "ferry/telemetry.h"
#include "fuzz.h"

static int str_eq(ferry_str_t a, ferry_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void check_same(const ferry_reading_t *a, const ferry_reading_t *b)
{
    FUZZ_CHECK(str_eq(a->ship_id, b->ship_id));
    FUZZ_CHECK(str_eq(a->channel_id, b->channel_id));
    FUZZ_CHECK(a->ts_us == b->ts_us);
    FUZZ_CHECK(a->type == b->type);
    switch (a->type) {
    case FERRY_VALUE_DOUBLE:
        FUZZ_CHECK(memcmp(&a->v.d, &b->v.d, sizeof a->v.d) == 0);
        break;
    case FERRY_VALUE_LONG:
        FUZZ_CHECK(a->v.l == b->v.l);
        break;
    case FERRY_VALUE_BOOL:
        FUZZ_CHECK(a->v.b == b->v.b);
        break;
    case FERRY_VALUE_STRING:
        FUZZ_CHECK(str_eq(a->v.s, b->v.s));
        break;
    default:
        break;
    }
    FUZZ_CHECK(a->has_unit == b->has_unit && (!a->has_unit || str_eq(a->unit, b->unit)));
    FUZZ_CHECK(a->has_source == b->has_source && (!a->has_source || str_eq(a->source, b->source)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    uint8_t opt = fuzz_take(&in);
    ferry_buf_t msg = FERRY_BUF_INIT;
    if (!(opt & 1)) {
        uint64_t fp = ferry_telemetry_fingerprint();
        ferry_buf_append_byte(&msg, FERRY_AVRO_MAGIC0);
        ferry_buf_append_byte(&msg, FERRY_AVRO_MAGIC1);
        for (int i = 0; i < 8; i++)
            ferry_buf_append_byte(&msg, (unsigned char)(fp >> (8 * i)));
    }
    ferry_buf_append(&msg, in.p, in.n);
    size_t len = msg.len;
    uint8_t *exact = ferry_xmemdup(msg.data ? msg.data : (const void *)"", len);
    ferry_buf_free(&msg);

    ferry_reading_t r;
    ferry_err_t err;
    if (ferry_telemetry_decode(exact, len, &r, &err) == FERRY_OK) {
        ferry_buf_t fast = FERRY_BUF_INIT, generic = FERRY_BUF_INIT, text = FERRY_BUF_INIT;
        ferry_telemetry_encode(&r, &fast);
        ferry_reading_t back;
        FUZZ_CHECK(ferry_telemetry_decode(fast.data, fast.len, &back, &err) == FERRY_OK);
        check_same(&r, &back);

        const ferry_schema_t *schema = NULL;
        avro_value_t v;
        FUZZ_CHECK(ferry_avro_decode(exact, len, &schema, &v, &err) == FERRY_OK);
        FUZZ_CHECK(ferry_avro_encode(schema, &v, &generic, &err) == FERRY_OK);
        FUZZ_CHECK(generic.len == fast.len && memcmp(generic.data, fast.data, fast.len) == 0);
        avro_value_decref(&v);

        ferry_value_append_text(&r, &text);
        ferry_buf_free(&text);
        ferry_buf_free(&fast);
        ferry_buf_free(&generic);
    }
    free(exact);
    return 0;
}
