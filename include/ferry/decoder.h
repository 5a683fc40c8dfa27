/* decoder.h - decoding a consumed record by its framing, per record.
 *
 * Producers outside ferry write ferry's topics with whatever their Kafka client does. A
 * decoder looks at each record's first bytes:
 *   C3 01 + 8-byte fingerprint   Avro single-object encoding (ferry's own producers): the
 *                                writer schema is the embedded schema of that fingerprint;
 *   00 + 4-byte big-endian id    Confluent Schema Registry framing: the writer schema is
 *                                fetched from the registry by id (and cached);
 *   { (after blanks)             JSON, for TelemetryReading only (ferry_decoder_reading):
 *                                an object with TelemetryReading's field names, timestamp as
 *                                ISO-8601 text or epoch s/ms/us/ns by magnitude, value any
 *                                JSON scalar or null.
 * A writer schema other than the reader's is resolved against it by the Avro rules
 * (resolve.h), worked out once per writer schema and cached: a record whose writer schema
 * IS the reader's costs a plain decode. Outcomes:
 *   FERRY_POISON  anything else, or a record that is malformed, truncated, of an unknown
 *                 fingerprint or registry id, or whose writer schema does not resolve (the
 *                 reason names the field): dead-letter it;
 *   FERRY_RETRY   the registry is down or slow: pause and try the same record again;
 *   FERRY_FATAL   a registry-framed record reached a decoder without a registry, or the
 *                 registry refused the credentials: stop, fix the configuration.
 * Every byte is treated as untrusted: nothing is read outside the record. */
#ifndef FERRY_DECODER_H
#define FERRY_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/avro.h"
#include "ferry/registry.h"
#include "ferry/resolve.h"
#include "ferry/telemetry.h"

typedef enum ferry_framing {
    FERRY_FRAMING_NONE = 0,
    FERRY_FRAMING_SINGLE_OBJECT,
    FERRY_FRAMING_REGISTRY,
    FERRY_FRAMING_JSON,
} ferry_framing;

#define FERRY_REGISTRY_MAGIC      0x00
#define FERRY_REGISTRY_HEADER_LEN 5

/* "single-object", "registry", "json", "none". */
const char *ferry_framing_name(ferry_framing f);

/* The framing the first bytes announce (FERRY_FRAMING_NONE for anything else); for the
 * registry framing *id receives the schema id (id may be NULL). */
ferry_framing ferry_framing_of(const void *data, size_t len, uint32_t *id);

typedef struct ferry_decoder ferry_decoder_t;

/* A decoder into `reader` (NULL: every record as its writer's schema, for `ferry tail`),
 * fetching registry schemas through `registry` (may be NULL; borrowed, must outlive the
 * decoder). At most `max_schemas` writer schemas are cached (0: 256). The caller frees it with
 * ferry_decoder_free. */
ferry_decoder_t *ferry_decoder_new(const ferry_schema_t *reader, ferry_registry_t *registry,
                                   size_t max_schemas);
/* The option of every command that decodes records: other writers' schemas. */
#define FERRY_OPT_SCHEMAS_DIR                                                                      \
    {                                                                                              \
        "schemas", 0, FERRY_OPT_STRING, NULL, "DIR",                                               \
            "other writers' .avsc files: single-object records of these schemas are resolved "     \
            "against ferry's (docs/contracts.md)",                                                 \
            0                                                                                      \
    }

/* A decoder into `reader` with a registry client of its own made from the
 * FERRY_OPT_SCHEMA_REGISTRY options (none when --schema-registry is not set), freed with the
 * decoder, after loading the --schemas DIR files (FERRY_OPT_SCHEMAS_DIR, required in the
 * command's options). NULL with the error (FERRY_USAGE) for a bad registry URL or a schema
 * file that cannot be read or parsed. The caller frees it with ferry_decoder_free. */
ferry_decoder_t *ferry_decoder_from_opts(const ferry_opts_t *o, const ferry_schema_t *reader,
                                         ferry_err_t *err);
void ferry_decoder_free(ferry_decoder_t *d);

/* The writer schema of the last record given to the decoder, NULL when its framing or writer
 * schema was not found: tells "a record of another schema" from a malformed one. */
const ferry_schema_t *ferry_decoder_last_writer(const ferry_decoder_t *d);

/* Decodes a record into a value of the reader schema (or of the writer's, without a reader).
 * *value is borrowed from the decoder and valid until its next call; *schema (may be NULL)
 * is the schema of the value, *framing (may be NULL) the framing found. JSON is not
 * accepted here. */
int ferry_decoder_value(ferry_decoder_t *d, const void *data, size_t len, avro_value_t *value,
                        const ferry_schema_t **schema, ferry_framing *framing, ferry_err_t *err);

/* ferry_decoder_value, waiting out a registry that is away: on FERRY_RETRY it sleeps (250 ms
 * doubling to 5 s, a warning naming `where` every 20 tries) and asks again, until the registry
 * answers or a stop is requested (then FERRY_RETRY: leave the record uncommitted). */
int ferry_decoder_value_wait(ferry_decoder_t *d, const void *data, size_t len, avro_value_t *value,
                             ferry_framing *framing, const char *where, ferry_err_t *err);

/* Decodes a record into a TelemetryReading (the decoder's reader must be TelemetryReading),
 * validated as ferry_telemetry_decode() does. The strings of *r point into data[0..len)
 * (ferry's schema or an evolved writer schema: zero-copy) or, when the record had to be
 * converted (JSON), into *owned, a new allocation the caller frees after the reading (NULL
 * when nothing was allocated). */
int ferry_decoder_reading(ferry_decoder_t *d, const void *data, size_t len, ferry_reading_t *r,
                          char **owned, ferry_framing *framing, ferry_err_t *err);

/* JSON telemetry (decoder_json.c): parses one JSON object into the single-object encoding of
 * the TelemetryReading it describes, appended to *out. FERRY_POISON with the reason. */
int ferry_telemetry_from_json(const void *data, size_t len, ferry_buf_t *out, ferry_err_t *err);

#endif
