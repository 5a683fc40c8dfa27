/* avro_value.h - the end of an Avro value a program owns (lib/avro_value.c), so that no
 * program calls avro-c beyond reading values (avro_value_get_*). */
#ifndef FERRY_AVRO_VALUE_H
#define FERRY_AVRO_VALUE_H

#include <avro.h>

/* Releases a value the caller owns (from ferry_schema_new_value) and sets *v to {NULL, NULL};
 * a value already released, or never made, is a no-op. */
void ferry_avro_value_free(avro_value_t *v);

#endif
