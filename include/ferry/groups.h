/* groups.h - Kafka consumer groups seen from outside, through librdkafka's admin API:
 * list groups, describe one (state, members, their assignments), read and alter its
 * committed offsets, and its lag on a topic. Partition counts, watermarks and offsets for a
 * time are topic questions: ferry_kafka_partition_count(), ferry_kafka_watermarks() and
 * ferry_kafka_offsets_for_time() in include/ferry/kafka.h, asked through ferry_groups_rk().
 * The reset plan behind `ferry replay` is include/ferry/reset.h; the --until-idle rule of
 * group workers is include/ferry/until.h.
 *
 * One admin handle (ferry_groups_t) serves every call; it is a consumer handle without a
 * group.id, so it joins no group and commits nothing of its own. Every call is bounded by
 * the handle's timeout. Errors: Kafka unreachable or not answering in time -> FERRY_RETRY
 * (a command exits 3); an unknown topic or a partition that does not exist -> FERRY_USAGE;
 * anything else the broker refuses -> FERRY_FATAL. */
#ifndef FERRY_GROUPS_H
#define FERRY_GROUPS_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/err.h"
#include "ferry/options.h"

/* ---- the admin handle ------------------------------------------------------------------- */

typedef struct ferry_groups ferry_groups_t;

/* Creates an admin handle from --brokers and -X of `o` (o may be NULL: librdkafka's
 * defaults). `timeout_ms` bounds each call (<= 0: 10 s). Returns a handle the caller frees
 * with ferry_groups_destroy(), or NULL with *err (FERRY_USAGE for a bad -X property).
 * Creating the handle does not contact Kafka; the first call does. */
ferry_groups_t *ferry_groups_new(const ferry_opts_t *o, int timeout_ms, ferry_err_t *err);
/* NULL is a no-op. */
void ferry_groups_destroy(ferry_groups_t *g);
/* The librdkafka handle (owned by g, valid until ferry_groups_destroy), for the topic
 * questions of include/ferry/kafka.h, e.g. ferry_kafka_partition_count(). */
rd_kafka_t *ferry_groups_rk(ferry_groups_t *g);
/* The handle's timeout per call, in ms. */
int ferry_groups_timeout_ms(const ferry_groups_t *g);

/* ---- listing and describing ------------------------------------------------------------- */

typedef struct ferry_groups_listing {
    char *group;
    char state[32]; /* "Stable", "Empty", "Dead", "PreparingRebalance", ... */
    int simple;     /* a "simple" group: offsets committed without membership */
} ferry_groups_listing_t;

/* Lists every consumer group of the cluster, sorted by name. *out is a new array of *n
 * entries, which the caller frees with ferry_groups_listings_free(). A broker that fails to
 * answer makes the call fail (FERRY_RETRY) rather than return a partial list. */
ferry_status ferry_groups_list(ferry_groups_t *g, ferry_groups_listing_t **out, size_t *n,
                               ferry_err_t *err);
/* Frees the array and its names; NULL is a no-op. */
void ferry_groups_listings_free(ferry_groups_listing_t *l, size_t n);

typedef struct ferry_groups_member {
    char *member_id;
    char *client_id;
    char *host;
    char *instance_id;                           /* static membership id, or NULL */
    rd_kafka_topic_partition_list_t *assignment; /* owned copy, never NULL */
} ferry_groups_member_t;

typedef struct ferry_groups_desc {
    char *group;
    char state[32]; /* librdkafka's name of the state ("Unknown" when the broker gave none) */
    rd_kafka_consumer_group_state_t state_code;
    char *assignor; /* "" when none */
    ferry_groups_member_t *members;
    size_t nmembers;
} ferry_groups_desc_t;

/* Describes `group`. A group that does not exist is described as state Dead with no
 * members (that is what the broker answers). *out is new; the caller frees it with
 * ferry_groups_desc_free(). */
ferry_status ferry_groups_describe(ferry_groups_t *g, const char *group, ferry_groups_desc_t **out,
                                   ferry_err_t *err);
/* Frees the description with its members and their assignments; NULL is a no-op. */
void ferry_groups_desc_free(ferry_groups_desc_t *d);

/* True when the group has members or is in a state other than Empty/Dead: its offsets
 * must not be reset now. */
int ferry_groups_desc_active(const ferry_groups_desc_t *d);

/* Writes "client-id@host (member member-id), ..." for every member into buf (truncated
 * with "..." when it does not fit) and returns buf. */
const char *ferry_groups_desc_members_str(const ferry_groups_desc_t *d, char *buf, size_t bufsz);

/* ---- offsets ---------------------------------------------------------------------------- */

/* The group's committed offsets: of every partition it has committed for when `topic` is
 * NULL, else of `topic`'s partitions only. *out is a new list sorted by topic and partition,
 * which the caller destroys with rd_kafka_topic_partition_list_destroy(). The list holds
 * only partitions with a commit. */
ferry_status ferry_groups_committed(ferry_groups_t *g, const char *group, const char *topic,
                                    rd_kafka_topic_partition_list_t **out, ferry_err_t *err);

/* Sets the group's committed offsets to those in `offsets` (topic, partition, offset; the
 * list stays the caller's); partitions not in the list are left alone. The broker refuses
 * (per partition) while the group has active members; any per-partition error fails the
 * call with the first one named. Does NOT check the group's state itself:
 * ferry_reset_group() (include/ferry/reset.h) does. */
ferry_status ferry_groups_alter(ferry_groups_t *g, const char *group,
                                const rd_kafka_topic_partition_list_t *offsets, ferry_err_t *err);

/* The group's total lag on `topic`: the sum over the topic's partitions of the end offset
 * minus the committed offset (minus the start offset where nothing is committed). A group
 * worker's --until-idle asks this before it exits, so it leaves only when the whole group,
 * not just its own partitions, has caught up. */
ferry_status ferry_groups_lag(ferry_groups_t *g, const char *group, const char *topic, int64_t *lag,
                              ferry_err_t *err);

#endif
