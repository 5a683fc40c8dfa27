/* topics.h - the names of ferry's Kafka topics and PostgreSQL schema (defaults; every
 * program can be pointed elsewhere with --topic). A dead-letter topic is the source
 * topic's name with ".dlq" appended. */
#ifndef FERRY_TOPICS_H
#define FERRY_TOPICS_H

#define FERRY_TOPIC_TELEMETRY      "ferry.telemetry"      /* TelemetryReading, key ship_id */
#define FERRY_TOPIC_MOVIES         "ferry.movies"         /* MovieCrawled, key movie id */
#define FERRY_TOPIC_FEATURES       "ferry.features"       /* WatchLogFeature, transactional */
#define FERRY_TOPIC_RETRAIN        "ferry.retrain"        /* RetrainRequested, transactional */
#define FERRY_TOPIC_BACKFILL       "ferry.backfill.tasks" /* BackfillChunk, key ship_id */
#define FERRY_TOPIC_CRAWL_PROGRESS "ferry.crawl.progress" /* compacted: completed crawl pages */

#define FERRY_PG_SCHEMA "ferry" /* ferry's own catalog and state tables */

#include <stddef.h>

/* Kafka's rule for a topic name: 1 to 249 of ASCII letters, digits, '.', '_' and '-', and not
 * "." or "..". With with_dlq, the name's dead-letter topic (name + ".dlq") must be one too, so
 * the pair is made whole or not at all. Returns 0, or -1 with the reason in why. */
int ferry_topic_name_check(const char *name, int with_dlq, char *why, size_t whysz);

#define FERRY_TOPIC_NAME_MAX 249

#endif
