/* retrain.h - the entry points of the `ferry retrain` command family, shared between its
 * files: the worker (retrain.c) dispatches `ferry retrain dispatch` to dispatch.c. */
#ifndef FERRY_RETRAIN_RETRAIN_H
#define FERRY_RETRAIN_RETRAIN_H

#include <librdkafka/rdkafka.h>

#include "ferry/err.h"

/* `ferry retrain dispatch`: argv[0] is "ferry retrain dispatch". Returns the exit status. */
int retrain_dispatch(int argc, char **argv);

/* FERRY_OK when `topic` exists; otherwise an error saying to create it (producing to a
 * missing topic would only time out). */
ferry_status retrain_require_topic(rd_kafka_t *rk, const char *topic, ferry_err_t *err);

#endif
