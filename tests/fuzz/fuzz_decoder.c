/* fuzz_decoder.c - per-record decoding by framing and Avro schema resolution (lib/decoder.c,
 * lib/decoder_json.c, lib/avro_resolve.c, lib/avro_resolve_flat.c): the code every consumer
 * runs on the bytes other teams' producers write.
 *
 * Input: one mode byte, then:
 *   mode % 3 == 0  a record for a TelemetryReading decoder (ferry_decoder_reading): any
 *                  framing - single-object, JSON telemetry, or registry framing (no registry:
 *                  must be FERRY_FATAL, never a read);
 *   mode % 3 == 1  a record for a MovieCrawled, WatchLogFeature or RetrainRequested decoder
 *                  (ferry_decoder_value; (mode / 3) % 3 picks the reader);
 *   mode % 3 == 2  a writer schema's JSON text, a NUL byte, then an Avro body: the schema is
 *                  parsed and resolved against TelemetryReading; when it resolves the body is
 *                  read both ways (ferry_resolver_read and ferry_resolver_read_flat), which
 *                  must agree on accepting it.
 * Each record is decoded twice with the same decoder (the second time from its cache) and
 * must give the same outcome. */
#include <string.h>

#include "ferry/avro.h"
#include "ferry/buf.h"
#include "ferry/decoder.h"
#include "ferry/resolve.h"
#include "fuzz.h"

static void reading_mode(const uint8_t *p, size_t n)
{
    ferry_decoder_t *d = ferry_decoder_new(ferry_schema_get("TelemetryReading"), NULL, 2);
    int first = 0;
    for (int round = 0; round < 2; round++) {
        ferry_reading_t r;
        char *owned = NULL;
        ferry_framing f;
        ferry_err_t err;
        int rc = ferry_decoder_reading(d, p, n, &r, &owned, &f, &err);
        if (rc == FERRY_OK) {
            FUZZ_CHECK(r.ship_id.len > 0 && r.channel_id.len > 0);
            ferry_buf_t text = FERRY_BUF_INIT;
            ferry_value_append_text(&r, &text);
            ferry_buf_free(&text);
        }
        if (f == FERRY_FRAMING_REGISTRY)
            FUZZ_CHECK(rc == FERRY_FATAL); /* no registry: never guessed */
        free(owned);
        if (round == 0)
            first = rc;
        else
            FUZZ_CHECK(rc == first);
    }
    ferry_decoder_free(d);
}

static void value_mode(uint8_t sel, const uint8_t *p, size_t n)
{
    static const char *const readers[3] = {"MovieCrawled", "WatchLogFeature", "RetrainRequested"};
    ferry_decoder_t *d = ferry_decoder_new(ferry_schema_get(readers[sel % 3]), NULL, 2);
    int first = 0;
    for (int round = 0; round < 2; round++) {
        avro_value_t v;
        const ferry_schema_t *s = NULL;
        ferry_err_t err;
        int rc = ferry_decoder_value(d, p, n, &v, &s, NULL, &err);
        if (rc == FERRY_OK) {
            json_t *j = ferry_avro_to_json(&v);
            json_decref(j);
        }
        if (round == 0)
            first = rc;
        else
            FUZZ_CHECK(rc == first);
    }
    ferry_decoder_free(d);
}

static void resolve_mode(const uint8_t *p, size_t n)
{
    const uint8_t *nul = memchr(p, 0, n);
    if (!nul)
        return;
    size_t slen = (size_t)(nul - p);
    ferry_schema_t *w = NULL;
    ferry_err_t err;
    if (ferry_schema_parse((const char *)p, slen, &w, &err) != FERRY_OK)
        return;
    const ferry_schema_t *reader = ferry_schema_get("TelemetryReading");
    ferry_resolver_t *rs = NULL;
    if (ferry_resolver_new(w, reader, &rs, &err) == FERRY_OK) {
        const uint8_t *body = nul + 1;
        size_t blen = n - slen - 1;
        avro_value_t v;
        FUZZ_CHECK(ferry_schema_new_value(reader, &v) == FERRY_OK);
        int generic = ferry_resolver_read(rs, body, blen, &v, &err);
        avro_value_decref(&v);
        ferry_resolved_field_t f[16];
        size_t nf = avro_schema_record_size(ferry_schema_avro(reader));
        FUZZ_CHECK(nf <= 16);
        int flat = ferry_resolver_read_flat(rs, body, blen, f, nf, &err);
        FUZZ_CHECK((generic == FERRY_OK) == (flat == FERRY_OK));
        ferry_resolver_free(rs);
    }
    ferry_schema_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    uint8_t mode = fuzz_take(&in);
    switch (mode % 3) {
    case 0:
        reading_mode(in.p, in.n);
        break;
    case 1:
        value_mode((uint8_t)(mode / 3), in.p, in.n);
        break;
    default:
        resolve_mode(in.p, in.n);
        break;
    }
    return 0;
}
