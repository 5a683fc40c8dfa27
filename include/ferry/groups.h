/* groups.h - Kafka consumer groups seen from outside, through librdkafka's admin API:
 * list groups, describe one (state, members, their assignments), read its committed
 * offsets, read partition watermarks and offsets for a timestamp, and reset (alter) its
 * committed offsets the way `kafka-consumer-groups --reset-offsets` does.
 *
 * One admin handle (ferry_groups_t) serves every call; it is a plain producer handle that
 * never produces, so it needs no group.id and joins no group. Every call is bounded by the
 * handle's timeout. Errors: Kafka unreachable or not answering in time -> FERRY_RETRY (a
 * command exits 3); an unknown topic or a partition that does not exist -> FERRY_USAGE;
 * anything else the broker refuses -> FERRY_FATAL.
 *
 * The reset is one call (ferry_group_reset): it describes the group, computes the target
 * offset of every partition in the plan, and alters only those partitions, and only while
 * the group has no active members (state Empty or Dead), exactly as Kafka's own tool
 * insists. `ferry replay` is a thin CLI over it; `ferry rollback --since T` uses it with a
 * time target. */
#ifndef FERRY_GROUPS_H
#define FERRY_GROUPS_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ferry/err.h"
#include "ferry/kafka.h"
#include "ferry/options.h"

/* ---- the admin handle ------------------------------------------------------------------- */

typedef struct ferry_groups ferry_groups_t;

/* Creates an admin handle from --brokers and -X of `o` (o may be NULL: librdkafka's
 * defaults). `timeout_ms` bounds each call (<= 0: 10 s). Returns a handle to free with
 * ferry_groups_destroy(), or NULL with *err (FERRY_USAGE for a bad -X property). Creating
 * the handle does not contact Kafka; the first call does. */
ferry_groups_t *ferry_groups_new(const ferry_opts_t *o, int timeout_ms, ferry_err_t *err);
/* NULL is a no-op. */
void ferry_groups_destroy(ferry_groups_t *g);
/* The librdkafka handle (owned by g), e.g. for ferry_kafka_partition_count(). */
rd_kafka_t *ferry_groups_rk(ferry_groups_t *g);
int ferry_groups_timeout_ms(const ferry_groups_t *g);

/* ---- listing and describing ------------------------------------------------------------- */

typedef struct ferry_group_listing {
    char *group;
    char state[32]; /* "Stable", "Empty", "Dead", "PreparingRebalance", ... */
    int simple;     /* a "simple" group: offsets committed without membership */
} ferry_group_listing_t;

/* Lists every consumer group of the cluster, sorted by name. *out is a new array of *n
 * entries (free with ferry_group_listings_free). A broker that fails to answer makes the
 * call fail (FERRY_RETRY) rather than return a partial list. */
ferry_status ferry_groups_list(ferry_groups_t *g, ferry_group_listing_t **out, size_t *n,
                               ferry_err_t *err);
void ferry_group_listings_free(ferry_group_listing_t *l, size_t n);

typedef struct ferry_group_member {
    char *member_id;
    char *client_id;
    char *host;
    char *instance_id;                           /* static membership id, or NULL */
    rd_kafka_topic_partition_list_t *assignment; /* owned copy, never NULL */
} ferry_group_member_t;

typedef struct ferry_group_desc {
    char *group;
    char state[32]; /* librdkafka's name of the state ("Unknown" when the broker gave none) */
    rd_kafka_consumer_group_state_t state_code;
    char *assignor; /* "" when none */
    ferry_group_member_t *members;
    size_t nmembers;
} ferry_group_desc_t;

/* Describes `group`. A group that does not exist is described as state Dead with no
 * members (that is what the broker answers). *out is new; free with
 * ferry_group_desc_free(). */
ferry_status ferry_group_describe(ferry_groups_t *g, const char *group, ferry_group_desc_t **out,
                                  ferry_err_t *err);
void ferry_group_desc_free(ferry_group_desc_t *d);

/* True when the group has members or is in a state other than Empty/Dead: its offsets
 * must not be reset now. */
int ferry_group_desc_active(const ferry_group_desc_t *d);

/* Writes "client-id@host (member member-id), ..." for every member into buf (truncated
 * with "..." when it does not fit) and returns buf. */
const char *ferry_group_desc_members_str(const ferry_group_desc_t *d, char *buf, size_t bufsz);

/* ---- offsets ---------------------------------------------------------------------------- */

/* The group's committed offsets: of every partition it has committed for when `topic` is
 * NULL, else of `topic`'s partitions only. *out is a new list sorted by topic and partition
 * (destroy with rd_kafka_topic_partition_list_destroy); an offset is RD_KAFKA_OFFSET_INVALID
 * (-1001) where nothing is committed. The list holds only partitions with a commit. */
ferry_status ferry_group_committed(ferry_groups_t *g, const char *group, const char *topic,
                                   rd_kafka_topic_partition_list_t **out, ferry_err_t *err);

/* The group's total lag on `topic`: the sum over the topic's partitions of the end offset
 * minus the committed offset (minus the start offset where nothing is committed). A group
 * worker's --until-idle asks this before it exits, so it leaves only when the whole group,
 * not just its own partitions, has caught up. */
ferry_status ferry_group_lag(ferry_groups_t *g, const char *group, const char *topic, int64_t *lag,
                             ferry_err_t *err);

/* --until-idle for a group worker. The worker is idle when a poll brought nothing, it holds
 * no unwritten work and its own partitions are at their end; after `--until-idle` of that it
 * asks ferry_group_lag and leaves only when the whole group has caught up (a partition may
 * be between owners during a rebalance); otherwise it waits another period. */
typedef struct ferry_until_idle {
    int64_t idle_ms; /* < 0: no --until-idle, never leave */
    int64_t since;   /* when the idle period began, or -1 */
    const ferry_opts_t *o;
    const char *group, *topic;
    ferry_groups_t *groups; /* admin client, made on first use */
} ferry_until_idle_t;

/* Reads --until-idle from `o` (unset: never idle). `group` and `topic` must outlive `u`. */
void ferry_until_idle_init(ferry_until_idle_t *u, const ferry_opts_t *o, const char *group,
                           const char *topic);
/* Call after every poll: `busy` = a message came or work is held. 1: time to leave. */
int ferry_until_idle_done(ferry_until_idle_t *u, ferry_consumer_t *c, int busy);
void ferry_until_idle_free(ferry_until_idle_t *u);

/* Sets the group's committed offsets to those in `offsets` (topic, partition, offset);
 * partitions not in the list are left alone. The broker refuses (per partition) while the
 * group has active members; any per-partition error fails the call with the first one
 * named. Does NOT check the group's state itself: ferry_group_reset() does. */
ferry_status ferry_group_alter(ferry_groups_t *g, const char *group,
                               const rd_kafka_topic_partition_list_t *offsets, ferry_err_t *err);

/* Number of partitions of `topic`; -1 with *err (FERRY_USAGE: no such topic). */
int ferry_groups_partition_count(ferry_groups_t *g, const char *topic, ferry_err_t *err);

/* Start (low) and end (high watermark) offsets of one partition. */
ferry_status ferry_groups_watermarks(ferry_groups_t *g, const char *topic, int32_t partition,
                                     int64_t *low, int64_t *high, ferry_err_t *err);

/* For every element of `parts` (its offset field holds a timestamp in ms since the epoch
 * on input) stores the earliest offset whose record timestamp is >= that time, or -1 when
 * no such record exists (the time is past the last record). */
ferry_status ferry_groups_offsets_for_time(ferry_groups_t *g,
                                           rd_kafka_topic_partition_list_t *parts,
                                           ferry_err_t *err);

/* ---- reset ------------------------------------------------------------------------------ */

/* Microseconds since the epoch (ferry's timestamps) -> Kafka milliseconds, rounded UP, so
 * that "record timestamp >= the time" holds exactly for a time with a sub-ms part. */
int64_t ferry_groups_time_ms(int64_t unix_us);

typedef enum ferry_reset_kind {
    FERRY_RESET_EARLIEST = 0, /* the partition's start offset */
    FERRY_RESET_LATEST,       /* the partition's end offset */
    FERRY_RESET_TIME,         /* earliest offset with timestamp >= time_ms; end offset if none */
    FERRY_RESET_OFFSETS,      /* given offsets, clamped into [start, end] as Kafka's tool does */
} ferry_reset_kind;

typedef struct ferry_reset_target {
    ferry_reset_kind kind;
    int64_t time_ms; /* FERRY_RESET_TIME: ms since the Unix epoch (Kafka record time) */
    /* FERRY_RESET_OFFSETS: n (partition, offset) pairs, each partition at most once.
     * Other kinds: n == 0 plans every partition of the topic; n > 0 only `partitions`
     * (`offsets` is ignored and may be NULL). Arrays are borrowed for the call. */
    const int32_t *partitions;
    const int64_t *offsets;
    size_t n;
} ferry_reset_target_t;

typedef struct ferry_reset_row {
    int32_t partition;
    int64_t current;  /* committed before the reset, -1 when the group had none */
    int64_t target;   /* the new committed offset */
    int64_t low;      /* partition start offset when planned */
    int64_t high;     /* partition end offset when planned */
    const char *note; /* static text or NULL, e.g. "no record at or after the time: end" */
} ferry_reset_row_t;

typedef struct ferry_reset_plan {
    char *group;
    char *topic;
    ferry_reset_kind kind;
    int64_t time_ms;          /* FERRY_RESET_TIME only */
    ferry_group_desc_t *desc; /* the group as described when planned (owned) */
    int dry_run;              /* nothing was to be changed */
    int refused;              /* the group had active members: nothing was changed */
    int applied;              /* the offsets were altered */
    ferry_reset_row_t *rows;  /* by partition */
    size_t nrows;
} ferry_reset_plan_t;

/* Resets `group`'s committed offsets on `topic` to `target`, like kafka-consumer-groups
 * --reset-offsets --execute (dry_run = 0) or its --dry-run (dry_run = 1):
 *   1. describes the group; 2. computes the target of every partition in the plan from
 *   its watermarks (and, for a time, from the offsets for that time); 3. unless dry_run,
 *   alters exactly those partitions' offsets.
 * Refuses while the group is active (ferry_group_desc_active), also on a dry run:
 * returns FERRY_FATAL with a message naming the members, plan->refused = 1, and nothing
 * changed. A partition that does not exist, or an unknown topic -> FERRY_USAGE; Kafka not
 * answering -> FERRY_RETRY. When plan_out is not NULL it receives the plan (also on
 * refusal and on an alter failure, NULL only when no plan could be computed); free it
 * with ferry_reset_plan_free(). */
ferry_status ferry_group_reset(ferry_groups_t *g, const char *group, const char *topic,
                               const ferry_reset_target_t *target, int dry_run,
                               ferry_reset_plan_t **plan_out, ferry_err_t *err);

/* The same with a handle made (and destroyed) for the call from --brokers/-X of `o`, with
 * a 30 s timeout per call. The one-liner for `ferry rollback --since T`:
 *   ferry_reset_target_t t = {.kind = FERRY_RESET_TIME, .time_ms = ferry_groups_time_ms(since_us)};
 *   st = ferry_group_reset_opts(o, group, topic, &t, dry_run, &plan, &err); */
ferry_status ferry_group_reset_opts(const ferry_opts_t *o, const char *group, const char *topic,
                                    const ferry_reset_target_t *target, int dry_run,
                                    ferry_reset_plan_t **plan_out, ferry_err_t *err);

void ferry_reset_plan_free(ferry_reset_plan_t *p);

/* Prints the plan as a table: a heading line, then PARTITION, CURRENT, NEW, DIFF (new -
 * current; "-" without a current offset), START, END, NOTE. */
void ferry_reset_plan_print(const ferry_reset_plan_t *p, FILE *fp);

/* The plan as JSON (a new reference):
 *   {"group", "topic", "target": {"kind": "earliest"|"latest"|"time"|"offsets",
 *    "time_ms"?, "time"?}, "state", "members": [{"client_id", "host", "member_id"}],
 *    "dry_run", "refused",
 *    "applied", "partitions": [{"partition", "current" (null if none), "new", "diff"
 *    (null if no current), "start", "end", "note" (null if none)}]} */
json_t *ferry_reset_plan_json(const ferry_reset_plan_t *p);

/* "earliest", "latest", "time" or "offsets". */
const char *ferry_reset_kind_name(ferry_reset_kind kind);

#endif
