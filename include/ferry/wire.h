/* wire.h - the framing ferry's producers write (`--wire-format`):
 *   single-object  Avro single-object encoding: C3 01, the 8-byte CRC-64-AVRO fingerprint
 *                  (little-endian), the Avro body; readers find the schema by fingerprint;
 *   registry       Confluent Schema Registry framing: 00, the 4-byte big-endian schema id,
 *                  the Avro body; the schema is registered under "<topic>-value"
 *                  (TopicNameStrategy) before anything is sent.
 * The default is registry when --schema-registry is set, else single-object; every consumer
 * of ferry's topics reads both. */
#ifndef FERRY_WIRE_H
#define FERRY_WIRE_H

#include <stdint.h>

#include "ferry/avro.h"
#include "ferry/buf.h"
#include "ferry/options.h"
#include "ferry/registry.h"

#define FERRY_OPT_WIRE_FORMAT                                                                      \
    {                                                                                              \
        "wire-format", 0, FERRY_OPT_STRING, NULL, "FORMAT",                                        \
            "single-object or registry (Schema Registry framing; the default when "                \
            "--schema-registry is set)",                                                           \
            0                                                                                      \
    }

typedef struct ferry_wire {
    int registry;       /* 1: Schema Registry framing */
    uint32_t schema_id; /* with registry */
} ferry_wire_t;

/* Reads --wire-format (and the FERRY_OPT_SCHEMA_REGISTRY options) and, for the registry
 * framing, registers `schema` under "<topic>-value". FERRY_OK; FERRY_USAGE for a bad
 * --wire-format or registry without --schema-registry; else the status of
 * ferry_registry_register() (FERRY_FATAL with the registry's message for an incompatible
 * schema, FERRY_RETRY when it cannot be reached). */
int ferry_wire_setup(const ferry_opts_t *o, const ferry_schema_t *schema, const char *topic,
                     ferry_wire_t *w, ferry_err_t *err);

/* ferry_wire_setup for the workers that write topics (preprocess, retrain): a registry that
 * cannot be reached is waited for (a warning, then a try every 2 s) until it answers or a stop
 * is requested (then FERRY_RETRY), as they wait for it when they read. */
int ferry_wire_setup_wait(const ferry_opts_t *o, const ferry_schema_t *schema, const char *topic,
                          ferry_wire_t *w, ferry_err_t *err);

/* Turns the single-object message in b->data[mark..b->len) into the chosen framing, in
 * place (nothing to do for single-object). */
void ferry_wire_frame(const ferry_wire_t *w, ferry_buf_t *b, size_t mark);

#endif
