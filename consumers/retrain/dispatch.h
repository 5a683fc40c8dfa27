/* dispatch.h - `ferry retrain dispatch`'s state, shared by its stages:
 *   dispatch.c    the command: options, set-up, the poll loop, commits;
 *   deliveries.c  the deliveries table: what was recorded of a trigger (the claim: delivered
 *                 and failed ones are not sent again), and the record of each attempt;
 *   deliver.c     one trigger: decoded, turned into the request, POSTed with retries,
 *                 recorded, dead-lettered when it fails for good. */
#ifndef FERRY_RETRAIN_DISPATCH_H
#define FERRY_RETRAIN_DISPATCH_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/decoder.h"
#include "ferry/err.h"
#include "ferry/kafka.h"
#include "ferry/options.h"
#include "ferry/pg.h"
#include "webhook.h"

typedef struct dispatch {
    const ferry_opts_t *o;
    ferry_consumer_t *c;
    ferry_producer_t *dlq;
    ferry_decoder_t *dec; /* RetrainRequested in any framing */
    ferry_pg_t *pg;
    webhook_t *hook;
    int airflow;
    char target[1024]; /* the URL as ferry_http_url_target shows it, for logs and the table */
    char *table;       /* quoted, possibly qualified */
    char *schema;      /* quoted schema of the table, or NULL */
    const char *trigger_group;
    int64_t max_attempts, retry_initial_ms, retry_max_ms;
    uint64_t delivered, already, failed, skipped, dead;
} dispatch_t;

/* deliveries.c: sets ds->table (and ds->schema) from an SQL name as psql takes it
 * (schema.table, "Quoted"); both are freed by the caller. FERRY_USAGE for a bad name. */
ferry_status dispatch_set_table(dispatch_t *ds, const char *name, ferry_err_t *err);

/* deliveries.c: creates the schema and the table when missing (one DDL at a time across
 * dispatchers). */
ferry_status dispatch_ensure_table(dispatch_t *ds, ferry_err_t *err);

/* deliveries.c: the recorded status of a trigger into status ("" when none) and its attempts
 * so far. Waits while PostgreSQL is unreachable; FERRY_RETRY when a stop came first. */
ferry_status dispatch_lookup(dispatch_t *ds, const char *id, char *status, size_t statussz,
                             int64_t *attempts, ferry_err_t *err);

/* deliveries.c: records an attempt's outcome for trigger `id` of `group` (NULL or "" when it
 * names none) from message m: status "pending", "delivered" or "failed", the attempts so far,
 * the HTTP status (0: none) and the error (NULL or "": none). Waits while PostgreSQL is
 * unreachable; FERRY_RETRY when a stop came first. */
ferry_status dispatch_record(dispatch_t *ds, const char *id, const char *group,
                             const rd_kafka_message_t *m, const char *status, int64_t attempts,
                             long http_status, const char *error, ferry_err_t *err);

/* deliver.c: delivers one trigger. Returns FERRY_OK when it is settled (delivered, failed and
 * dead-lettered, or skipped): its offset may be committed. FERRY_RETRY when a stop was
 * requested before it was settled; FERRY_FATAL on a PostgreSQL or Kafka failure. */
ferry_status dispatch_deliver(dispatch_t *ds, const rd_kafka_message_t *m, ferry_err_t *err);

#endif
