/* telemetry.h - one ship telemetry reading and its fast Avro codec.
 *
 * TelemetryReading (schemas/TelemetryReading.avsc) is the hot record of ferry: millions per
 * second flow through the producer and the dual-write workers. This codec writes and reads
 * exactly the bytes avro-c would (single-object encoding, same fingerprint), without
 * building generic values, and decodes zero-copy: the strings of a decoded reading point
 * into the message buffer and are valid only as long as it is.
 *
 * Decoding validates everything a database write could trip over later: bounds, varints,
 * union indexes, UTF-8 of every string, no NUL bytes in strings (PostgreSQL text cannot hold
 * them), non-empty ship and channel ids. Any failure is FERRY_POISON with a reason. */
#ifndef FERRY_TELEMETRY_H
#define FERRY_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/buf.h"
#include "ferry/err.h"

typedef enum ferry_value_type {
    FERRY_VALUE_NULL =
        0, /* union branch order of the schema: null, double, long, boolean, string */
    FERRY_VALUE_DOUBLE = 1,
    FERRY_VALUE_LONG = 2,
    FERRY_VALUE_BOOL = 3,
    FERRY_VALUE_STRING = 4,
} ferry_value_type;

typedef struct ferry_str {
    const char *ptr; /* not NUL-terminated */
    size_t len;
} ferry_str_t;

typedef struct ferry_reading {
    ferry_str_t ship_id;
    ferry_str_t channel_id;
    int64_t ts_us; /* microseconds since the Unix epoch, UTC */
    ferry_value_type type;
    union {
        double d;
        int64_t l;
        int b;
        ferry_str_t s;
    } v;
    int has_unit;
    ferry_str_t unit;
    int has_source;
    ferry_str_t source;
} ferry_reading_t;

/* Appends the single-object encoding of `r` to *out. Never fails for a well-formed reading
 * (strings are written as given; callers validate UTF-8 where input is untrusted). */
void ferry_telemetry_encode(const ferry_reading_t *r, ferry_buf_t *out);

/* Decodes one single-object-encoded TelemetryReading. On success the strings of *r point
 * into data[0..len). Returns FERRY_OK or FERRY_POISON with the reason in *err: not Avro
 * single-object encoding, another schema's fingerprint, truncated, trailing bytes, bad
 * union index, invalid UTF-8 or a NUL in a string, empty ship_id or channel_id. */
ferry_status ferry_telemetry_decode(const void *data, size_t len, ferry_reading_t *r,
                                    ferry_err_t *err);

/* The same for a bare Avro body of ferry's TelemetryReading schema (no header), e.g. the
 * body of a Schema Registry framed record whose writer schema is ferry's. */
ferry_status ferry_telemetry_decode_body(const void *data, size_t len, ferry_reading_t *r,
                                         ferry_err_t *err);

/* The checks decoding makes on a reading's contents: non-empty ship_id and channel_id, every
 * string valid UTF-8 without NUL bytes. FERRY_OK or FERRY_POISON with the reason. */
ferry_status ferry_telemetry_validate(const ferry_reading_t *r, ferry_err_t *err);

/* The fingerprint of the embedded TelemetryReading schema. */
uint64_t ferry_telemetry_fingerprint(void);

/* 1 when s[0..len) is valid UTF-8 without NUL bytes. */
int ferry_utf8_valid(const char *s, size_t len);

/* Formats the value as text (the way the narrow table's text form and the CLI show it):
 * doubles with %.17g, longs in decimal, booleans true/false, strings as they are, null as
 * an empty string. Appends to *out. */
void ferry_value_append_text(const ferry_reading_t *r, ferry_buf_t *out);

#endif
