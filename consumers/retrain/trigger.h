/* trigger.h - what `ferry retrain` and `ferry retrain dispatch` both read of a
 * RetrainRequested record: the state header the worker writes beside each trigger (policy.h
 * has its text). */
#ifndef FERRY_RETRAIN_TRIGGER_H
#define FERRY_RETRAIN_TRIGGER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define RETRAIN_STATE_HEADER "ferry.retrain.state"

/* Reads the state header of `m` (the last one, if several) with retrain_state_parse().
 * Returns 0 with the outputs filled, or -1, leaving them as they were, when `m` has no such
 * header (a trigger from elsewhere) or it does not parse. */
int retrain_message_state(const rd_kafka_message_t *m, char *group, size_t groupsz, char *topic,
                          size_t topicsz, int64_t *seq, retrain_summary_t *window);

#endif
