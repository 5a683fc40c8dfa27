/* resolve.h - Avro schema resolution (the Avro specification's "Schema Resolution"): reading
 * data written with one schema (the writer's, e.g. fetched from a schema registry) as values
 * of another (ferry's reader schema).
 *
 * A resolver is worked out once per (writer, reader) pair and then reads any number of
 * bodies, at about the cost of a plain decode. The rules:
 *   - records match by unqualified name (or a reader alias); writer fields are matched to
 *     reader fields by name (or a reader field alias); a writer field the reader lacks is
 *     skipped; a reader field the writer lacks takes the reader's default, and one without
 *     a default makes the pair unresolvable;
 *   - promotions: int -> long, float, double; long -> float, double; float -> double;
 *     string <-> bytes (bytes read as a string must be UTF-8);
 *   - enums match by name (or alias); a writer symbol the reader lacks takes the reader's
 *     enum default, or is an error when that symbol is read;
 *   - a writer union: each branch is resolved on its own; a branch that cannot be resolved
 *     is an error only for the records that use it; a reader union: the first branch of the
 *     same type (named types: same name) is used, else the first the writer can be promoted
 *     to;
 *   - fixed: same name and size; arrays and maps resolve their items.
 * Logical types are ignored (their underlying types are resolved). Reading is bounds-checked
 * like ferry_avro_read_body(): untrusted bytes never make it read outside the input or
 * allocate from a forged count. */
#ifndef FERRY_RESOLVE_H
#define FERRY_RESOLVE_H

#include "ferry/avro.h"

typedef struct ferry_resolver ferry_resolver_t;

/* Works out how `writer` data is read as `reader`. Both schemas must outlive the resolver.
 * Returns FERRY_OK with *out (free with ferry_resolver_free), or FERRY_POISON with a message
 * naming the field, e.g. "TelemetryReading.timestamp: writer type string cannot be read as
 * long" or "TelemetryReading.ship_id: missing in the writer's schema and has no default". */
int ferry_resolver_new(const ferry_schema_t *writer, const ferry_schema_t *reader,
                       ferry_resolver_t **out, ferry_err_t *err);
void ferry_resolver_free(ferry_resolver_t *rs);

/* Nonzero when the writer's and the reader's Parsing Canonical Forms are the same (the body
 * can be read as the reader's own encoding). */
int ferry_resolver_identity(const ferry_resolver_t *rs);

/* Reads one writer-encoded Avro body spanning exactly data[0..len) into `value`, an
 * existing value of the reader schema (reset first; the caller keeps owning it). FERRY_OK,
 * or FERRY_POISON (malformed or truncated body, trailing bytes, a union branch or enum
 * symbol the reader cannot take); `value` then holds partial data but stays valid. */
int ferry_resolver_read(const ferry_resolver_t *rs, const void *data, size_t len,
                        avro_value_t *value, ferry_err_t *err);

/* ---- flat records, zero-copy ------------------------------------------------------------
 * For a reader record whose fields are all primitives or unions of primitives (such as
 * TelemetryReading), a body can be read straight into one slot per reader field, without
 * building avro-c values: strings and bytes point into the input. */
typedef struct ferry_resolved_field {
    avro_type_t type; /* the reader's type: AVRO_NULL, _BOOLEAN, _INT32, _INT64, _FLOAT,
                       * _DOUBLE, _STRING or _BYTES (promotions already applied) */
    int branch;       /* the reader union's branch, -1 when the field is not a union */
    int is_default;   /* the writer lacks the field: `def` (the reader's default) applies */
    const json_t *def;
    int64_t l;              /* int, long */
    double d;               /* float, double */
    int b;                  /* boolean */
    const unsigned char *s; /* string, bytes: into the input */
    size_t len;
} ferry_resolved_field_t;

/* Reads one body into out[0..nout) (nout: the reader's field count). Same checks as
 * ferry_resolver_read (strings promoted from bytes must be UTF-8); FERRY_FATAL when the
 * reader is not flat. */
int ferry_resolver_read_flat(const ferry_resolver_t *rs, const void *data, size_t len,
                             ferry_resolved_field_t *out, size_t nout, ferry_err_t *err);

#endif
