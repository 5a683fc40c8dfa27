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
    struct ferry_avro_named {
        avro_schema_t avro;
        const json_t *json;
    } * named; /* every record, enum and fixed, with the JSON that defined it */
    size_t nnamed;
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

#define FERRY_AVRO_MAX_DEPTH       64    /* nesting limit for values read from untrusted input */
#define FERRY_AVRO_MAX_EMPTY_ITEMS 65536 /* items of a zero-byte type (null, {}) per array */

/* ---- the bounds-checked binary reader (avro_binary.c), shared with avro_resolve.c ---------
 * Every function returns FERRY_OK or sets r->err (FERRY_POISON "malformed Avro body at
 * <path>: ...") and returns its status; none reads outside [p, end). */
typedef struct ferry_avro_reader {
    const unsigned char *p, *end;
    ferry_buf_t scratch; /* NUL-terminated copies for avro-c's string setters */
    ferry_err_t *err;
} ferry_avro_reader_t;

int ferry_avro_rd_error(ferry_avro_reader_t *r, const ferry_avro_path_t *path, const char *what);
int ferry_avro_rd_long(ferry_avro_reader_t *r, const ferry_avro_path_t *path, int64_t *out);
int ferry_avro_rd_le(ferry_avro_reader_t *r, const ferry_avro_path_t *path, int nbytes,
                     uint64_t *out);
/* A length-prefixed byte string: *data points into the input. */
int ferry_avro_rd_bytes(ferry_avro_reader_t *r, const ferry_avro_path_t *path,
                        const unsigned char **data, size_t *len);
/* A NUL-terminated copy of data[0..len) in the reader's scratch buffer. */
const char *ferry_avro_rd_cstr(ferry_avro_reader_t *r, const unsigned char *data, size_t len);
/* Reads one value of v's own schema into v (writer schema == reader schema). */
int ferry_avro_rd_value(ferry_avro_reader_t *r, avro_value_t *v, const ferry_avro_path_t *path,
                        int depth);
/* The fewest bytes one value of schema s can take: bounds forged item counts. */
size_t ferry_avro_min_size(avro_schema_t s, int depth);

/* Union branches and JSON (avro_json.c, used by avro_tojson.c too): the branch a value wrapped
 * as {"type": value} names (its value in *inner), or -1 when j is not such a wrapper; the
 * branch of union u that takes the bare JSON value j, or -1. */
int ferry_avro_json_wrapped_branch(avro_schema_t u, const json_t *j, json_t **inner);
int ferry_avro_json_pick_branch(avro_schema_t u, const json_t *j);

/* Sets v (a value inside a value of `schema`) from JSON the way ferry_avro_from_json does;
 * used for field defaults in schema resolution. `path` names v in messages. */
int ferry_avro_json_set(const ferry_schema_t *schema, const json_t *j, avro_value_t *v,
                        const ferry_avro_path_t *path, ferry_err_t *err);

/* The JSON object that defined named type `named` (record, enum, fixed) within `schema`,
 * for what avro-c forgets (aliases, enum defaults), or NULL. */
const json_t *ferry_avro_named_json(const ferry_schema_t *schema, avro_schema_t named);

/* avro_extra.c: a schema added by ferry_schema_add_dir() with that fingerprint, or NULL. */
const ferry_schema_t *ferry_schema_extra_by_fingerprint(uint64_t fingerprint);

#endif
