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

#endif
