/* reset.h - resetting (altering) a consumer group's committed offsets on one topic the way
 * `kafka-consumer-groups --reset-offsets` does: to the earliest or latest offset, to the
 * first record at or after a time, or to given offsets.
 *
 * The reset is one call (ferry_reset_group): it describes the group, computes the target
 * offset of every partition in the plan, and alters only those partitions, and only while
 * the group has no active members (state Empty or Dead), exactly as Kafka's own tool
 * insists. `ferry replay` is a thin CLI over it; `ferry rollback --since T` uses it with a
 * time target. Error classes are those of include/ferry/groups.h. */
#ifndef FERRY_RESET_H
#define FERRY_RESET_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/err.h"
#include "ferry/groups.h"
#include "ferry/options.h"

/* Microseconds since the epoch (ferry's timestamps) -> Kafka milliseconds, rounded UP, so
 * that "record timestamp >= the time" holds exactly for a time with a sub-ms part. */
int64_t ferry_reset_time_ms(int64_t unix_us);

typedef enum ferry_reset_kind {
    FERRY_RESET_EARLIEST = 0, /* the partition's start offset */
    FERRY_RESET_LATEST,       /* the partition's end offset */
    FERRY_RESET_TIME,         /* earliest offset with timestamp >= time_ms; end offset if none */
    FERRY_RESET_OFFSETS,      /* given offsets, clamped into [start, end] as Kafka's tool does */
} ferry_reset_kind;

/* "earliest", "latest", "time" or "offsets". */
const char *ferry_reset_kind_name(ferry_reset_kind kind);

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
    int64_t time_ms;           /* FERRY_RESET_TIME only */
    ferry_groups_desc_t *desc; /* the group as described when planned (owned) */
    int dry_run;               /* nothing was to be changed */
    int refused;               /* the group had active members: nothing was changed */
    int applied;               /* the offsets were altered */
    ferry_reset_row_t *rows;   /* by partition */
    size_t nrows;
} ferry_reset_plan_t;

/* Resets `group`'s committed offsets on `topic` to `target`, like kafka-consumer-groups
 * --reset-offsets --execute (dry_run = 0) or its --dry-run (dry_run = 1):
 *   1. describes the group; 2. computes the target of every partition in the plan from
 *   its watermarks (and, for a time, from the offsets for that time); 3. unless dry_run,
 *   alters exactly those partitions' offsets.
 * Refuses while the group is active (ferry_groups_desc_active), also on a dry run:
 * returns FERRY_FATAL with a message naming the members, plan->refused = 1, and nothing
 * changed. A partition that does not exist, or an unknown topic -> FERRY_USAGE; Kafka not
 * answering -> FERRY_RETRY. When plan_out is not NULL it receives a new plan (also on
 * refusal and on an alter failure, NULL only when no plan could be computed), which the
 * caller frees with ferry_reset_plan_free(). */
ferry_status ferry_reset_group(ferry_groups_t *g, const char *group, const char *topic,
                               const ferry_reset_target_t *target, int dry_run,
                               ferry_reset_plan_t **plan_out, ferry_err_t *err);

/* The same with a handle made (and destroyed) for the call from --brokers/-X of `o`, with
 * a 30 s timeout per call:
 *   ferry_reset_target_t t = {.kind = FERRY_RESET_TIME, .time_ms = ferry_reset_time_ms(us)};
 *   st = ferry_reset_group_opts(o, group, topic, &t, dry_run, &plan, &err); */
ferry_status ferry_reset_group_opts(const ferry_opts_t *o, const char *group, const char *topic,
                                    const ferry_reset_target_t *target, int dry_run,
                                    ferry_reset_plan_t **plan_out, ferry_err_t *err);

/* Frees the plan, its rows and its group description; NULL is a no-op. */
void ferry_reset_plan_free(ferry_reset_plan_t *p);

/* The plan as JSON, a new reference the caller json_decref()s:
 *   {"group", "topic", "target": {"kind": "earliest"|"latest"|"time"|"offsets",
 *    "time_ms"?, "time"?}, "state", "members": [{"client_id", "host", "member_id"}],
 *    "dry_run", "refused",
 *    "applied", "partitions": [{"partition", "current" (null if none), "new", "diff"
 *    (null if no current), "start", "end", "note" (null if none)}]} */
json_t *ferry_reset_plan_json(const ferry_reset_plan_t *p);

#endif
