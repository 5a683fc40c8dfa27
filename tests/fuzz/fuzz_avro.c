/* fuzz_avro.c - the single-object Avro decoder (lib/avro_binary.c) for every embedded schema.
 *
 * Input: one option byte, then the message body. The option byte picks the schema
 * (byte % schema count, so every schemas/<Name>.avsc is reached) and, with bit 7, hands the
 * remaining bytes to ferry_avro_decode as a whole message (header included, so the
 * header and fingerprint checks are fuzzed too); otherwise the body gets the right header.
 *
 * Checks on every accepted message: re-encoding the decoded value and decoding that again
 * gives the same bytes (encode and decode are inverse), and its JSON survives
 * from_json -> encode -> decode -> to_json unchanged (the documented round trip). */
#include <string.h>

#include "ferry/avro.h"
#include "ferry/buf.h"
#include "fuzz.h"

static void check_round_trips(const ferry_schema_t *schema, avro_value_t *v)
{
    ferry_buf_t enc = FERRY_BUF_INIT, again = FERRY_BUF_INIT, via_json = FERRY_BUF_INIT;
    FUZZ_CHECK(ferry_avro_encode(schema, v, &enc, NULL) == FERRY_OK);

    avro_value_t v2;
    const ferry_schema_t *s2 = NULL;
    FUZZ_CHECK(ferry_avro_decode(enc.data, enc.len, &s2, &v2, NULL) == FERRY_OK);
    FUZZ_CHECK(s2 == schema);
    FUZZ_CHECK(ferry_avro_encode(schema, &v2, &again, NULL) == FERRY_OK);
    FUZZ_CHECK(again.len == enc.len && memcmp(again.data, enc.data, enc.len) == 0);
    avro_value_decref(&v2);

    /* to_json fails only for strings that are not UTF-8, which the decoder rejects. The
     * comparison is of JSON texts, not bytes: every NaN is "NaN" in JSON, whatever its
     * payload bits. */
    json_t *j = ferry_avro_to_json(v);
    FUZZ_CHECK(j != NULL);
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    FUZZ_CHECK(text != NULL);
    json_decref(j);
    json_error_t jerr;
    json_t *back = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
    FUZZ_CHECK(back != NULL);
    ferry_err_t err;
    int rc = ferry_avro_encode_json(schema, back, &via_json, &err);
    json_decref(back);
    char *text2 = NULL;
    if (rc == FERRY_OK) {
        json_t *j2 = ferry_avro_decode_json(via_json.data, via_json.len, NULL, &err);
        FUZZ_CHECK(j2 != NULL);
        text2 = json_dumps(j2, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(j2);
    }
    if (rc != FERRY_OK || !text2 || strcmp(text, text2) != 0)
        fprintf(stderr, "JSON of the decoded value: %s\nafter the round trip: %s\n%s\n", text,
                text2 ? text2 : "(none)", rc ? err.msg : "");
    FUZZ_CHECK(rc == FERRY_OK);
    FUZZ_CHECK(text2 && strcmp(text, text2) == 0);
    free(text);
    free(text2);

    ferry_buf_free(&enc);
    ferry_buf_free(&again);
    ferry_buf_free(&via_json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    uint8_t opt = fuzz_take(&in);
    size_t count = ferry_schema_count();
    FUZZ_CHECK(count > 0);
    const ferry_schema_t *schema = ferry_schema_at((opt & 0x7f) % count);

    ferry_buf_t msg = FERRY_BUF_INIT;
    if (!(opt & 0x80)) {
        uint64_t fp = ferry_schema_fingerprint(schema);
        ferry_buf_append_byte(&msg, FERRY_AVRO_MAGIC0);
        ferry_buf_append_byte(&msg, FERRY_AVRO_MAGIC1);
        for (int i = 0; i < 8; i++)
            ferry_buf_append_byte(&msg, (unsigned char)(fp >> (8 * i)));
    }
    ferry_buf_append(&msg, in.p, in.n);
    /* an exact-size copy: the decoder must not read past it */
    size_t len = msg.len;
    uint8_t *exact = ferry_xmemdup(msg.data ? msg.data : (const void *)"", len);
    ferry_buf_free(&msg);

    const ferry_schema_t *got = NULL;
    avro_value_t v;
    ferry_err_t err;
    int whole = ferry_avro_decode(exact, len, &got, &v, &err);
    if (whole == FERRY_OK) {
        check_round_trips(got, &v);
        avro_value_decref(&v);
    }

    /* the allocation-free twin must agree with it */
    avro_value_t into;
    FUZZ_CHECK(ferry_schema_new_value(schema, &into) == FERRY_OK);
    int a = ferry_avro_decode_into(schema, exact, len, &into, &err);
    avro_value_decref(&into);
    FUZZ_CHECK((a == FERRY_OK) == (whole == FERRY_OK && got == schema));
    free(exact);
    return 0;
}
