/* status.h - the stages of `ferry status` (cmd_status.c): the Kafka part (status_kafka.c),
 * the PostgreSQL part (status_pg.c), both filling one JSON document (its shape in
 * docs/control.md), and the human-readable rendering of that document (status_print.c). */
#ifndef FERRY_CLI_STATUS_H
#define FERRY_CLI_STATUS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "ferry/options.h"

/* Fills doc.kafka and doc.groups. Returns 0; 1 when Kafka could not be reached or its
 * admin client not made; FERRY_EXIT_USAGE for a bad -X property. */
int status_kafka(const ferry_opts_t *o, json_t *doc);

/* Fills doc.pg and doc.ships. Returns 0, FERRY_EXIT_FAILED (a query failed) or
 * FERRY_EXIT_UNAVAILABLE (PostgreSQL unreachable). */
int status_pg(const ferry_opts_t *o, json_t *doc);

/* Writes the document as the tables `ferry status` prints without --json. */
void status_print(const json_t *doc, FILE *fp);

/* A timestamp (microseconds since the epoch) as a JSON string, as ferry_ts_format writes
 * it: a new reference for the caller. */
json_t *status_ts_json(int64_t us);
/* The integer o[key], or def when it is missing or not an integer. */
int64_t status_jint(const json_t *o, const char *key, int64_t def);
/* The string o[key] (owned by o), or def when it is missing or not a string. */
const char *status_jstr(const json_t *o, const char *key, const char *def);

#endif
