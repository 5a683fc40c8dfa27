/* avro_internal.h - what lib/avro*.c share and nothing else includes: the registry entry
 * behind ferry_schema_t, per-record facts avro-c drops (field defaults, logical types), and
 * field-path bookkeeping for error messages. */
#ifndef FERRY_AVRO_INTERNAL_H
#define FERRY_AVRO_INTERNAL_H

#include "ferry/avro.h"

/* Logical types ferry interprets (only on a record field whose type is a long). */
enum { FERRY_AVRO_LOGICAL_NONE = 0, FERRY_AVRO_LOGICAL_TS_MICROS, FERRY_AVRO_LOGICAL_TS_MILLIS };

/* avro-c parses but forgets field defaults and logicalType, so ferry keeps them per record
 * type, found by walking the .avsc JSON alongside the avro-c schema. */
typedef struct ferry_avro_record_info {
    avro_schema_t avro; /* the record schema (borrowed from ferry_schema_t.avro) */
    size_t nfields;
    const json_t **defaults; /* [nfields]: the "default" JSON, or NULL when none */
    unsigned char *logical;  /* [nfields]: FERRY_AVRO_LOGICAL_* of the field's type */
} ferry_avro_record_info_t;

struct ferry_schema {
    char *name;
    char *fullname;
    const char *file;   /* static, from ferry_schema_sources[] */
    const char *source; /* static, or owned_source */
    char *owned_source; /* ferry_schema_parse()'s copy of the text */
    char *canonical;
    uint64_t fingerprint;
    json_t *json; /* parsed source; defaults point into it */
    avro_schema_t avro;
    avro_value_iface_t *iface;
    ferry_avro_record_info_t *records;
    size_t nrecords;
};

/* The record info of record schema `rec` within `schema`, or NULL. */
const ferry_avro_record_info_t *ferry_avro_record_info(const ferry_schema_t *schema,
                                                       avro_schema_t rec);

/* Follows AVRO_LINK schemas (avro-c makes every by-name reference a link) to the target. */
avro_schema_t ferry_avro_resolve(avro_schema_t s);

/* The name a union branch goes by in Avro's JSON encoding: the primitive type name, or the
 * full name of a named type. Written into buf (always NUL-terminated). */
const char *ferry_avro_type_name(avro_schema_t s, char *buf, size_t size);

/* A field path, built on the stack while walking a value, formatted only on error. */
typedef struct ferry_avro_path {
    const struct ferry_avro_path *up;
    const char *field; /* record field name or map key, or NULL */
    size_t index;      /* array index when field is NULL */
    int is_key;        /* field is a map key */
} ferry_avro_path_t;

/* Writes the path ("TelemetryReading.value", "RetrainRequested.watermark[2].topic") into
 * buf, always NUL-terminated, and returns buf. */
const char *ferry_avro_path_format(const ferry_avro_path_t *path, char *buf, size_t size);

/* Nonzero if data[0..n) is strict UTF-8 (what PostgreSQL and jansson accept). */
int ferry_avro_utf8_valid(const void *data, size_t n);

#define FERRY_AVRO_MAX_DEPTH 64 /* nesting limit for values read from untrusted input */

#endif
