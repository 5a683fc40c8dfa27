/* reset.c - the reset plan of a consumer group's committed offsets on one topic, planned
 * from the group's description, the topic's watermarks and offsets for a time, and applied
 * through the admin API (see include/ferry/reset.h). */
#include "ferry/reset.h"
#include "ferry/buf.h"
#include "ferry/kafka.h"
#include "ferry/log.h"
#include "ferry/timeparse.h"

#include <stdlib.h>
#include <string.h>

int64_t ferry_reset_time_ms(int64_t unix_us)
{
    /* C division truncates toward zero: that is already the ceiling for negatives */
    return unix_us >= 0 ? unix_us / 1000 + (unix_us % 1000 != 0) : unix_us / 1000;
}

const char *ferry_reset_kind_name(ferry_reset_kind kind)
{
    switch (kind) {
    case FERRY_RESET_EARLIEST:
        return "earliest";
    case FERRY_RESET_LATEST:
        return "latest";
    case FERRY_RESET_TIME:
        return "time";
    case FERRY_RESET_OFFSETS:
        return "offsets";
    }
    return "?";
}

static int row_cmp(const void *a, const void *b)
{
    int32_t x = ((const ferry_reset_row_t *)a)->partition;
    int32_t y = ((const ferry_reset_row_t *)b)->partition;
    return x < y ? -1 : x > y;
}

/* Fills plan->rows with the partitions of the plan (validated) and their requested
 * offsets (OFFSETS kind) in `target`. */
static ferry_status plan_partitions(ferry_reset_plan_t *plan, const ferry_reset_target_t *t,
                                    int nparts, ferry_err_t *err)
{
    if (t->kind == FERRY_RESET_OFFSETS && t->n == 0)
        return ferry_err_set(err, FERRY_USAGE, "no partition:offset given");
    size_t n = t->n ? t->n : (size_t)nparts;
    plan->rows = ferry_xcalloc(n, sizeof *plan->rows);
    for (size_t i = 0; i < n; i++) {
        int32_t p = t->n ? t->partitions[i] : (int32_t)i;
        if (p < 0 || p >= nparts)
            return ferry_err_set(err, FERRY_USAGE,
                                 "partition %d of topic %s does not exist (it has %d: 0..%d)",
                                 (int)p, plan->topic, nparts, nparts - 1);
        for (size_t j = 0; j < i; j++)
            if (plan->rows[j].partition == p)
                return ferry_err_set(err, FERRY_USAGE, "partition %d given twice", (int)p);
        ferry_reset_row_t *r = &plan->rows[plan->nrows++];
        r->partition = p;
        r->current = -1;
        r->target = t->kind == FERRY_RESET_OFFSETS ? t->offsets[i] : -1;
    }
    qsort(plan->rows, plan->nrows, sizeof *plan->rows, row_cmp);
    return FERRY_OK;
}

static ferry_status plan_targets(ferry_groups_t *g, ferry_reset_plan_t *plan, ferry_err_t *err)
{
    ferry_status st;
    for (size_t i = 0; i < plan->nrows; i++) {
        ferry_reset_row_t *r = &plan->rows[i];
        if ((st = ferry_kafka_watermarks(ferry_groups_rk(g), plan->topic, r->partition, &r->low,
                                         &r->high, ferry_groups_timeout_ms(g), err)))
            return st;
    }
    switch (plan->kind) {
    case FERRY_RESET_EARLIEST:
        for (size_t i = 0; i < plan->nrows; i++)
            plan->rows[i].target = plan->rows[i].low;
        break;
    case FERRY_RESET_LATEST:
        for (size_t i = 0; i < plan->nrows; i++)
            plan->rows[i].target = plan->rows[i].high;
        break;
    case FERRY_RESET_OFFSETS:
        /* kafka-consumer-groups clamps an offset outside the log into it. */
        for (size_t i = 0; i < plan->nrows; i++) {
            ferry_reset_row_t *r = &plan->rows[i];
            if (r->target < r->low) {
                r->target = r->low;
                r->note = "below the start offset: start";
            } else if (r->target > r->high) {
                r->target = r->high;
                r->note = "past the end offset: end";
            }
        }
        break;
    case FERRY_RESET_TIME: {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)plan->nrows);
        for (size_t i = 0; i < plan->nrows; i++)
            rd_kafka_topic_partition_list_add(l, plan->topic, plan->rows[i].partition)->offset =
                plan->time_ms;
        st = ferry_kafka_offsets_for_time(ferry_groups_rk(g), l, ferry_groups_timeout_ms(g), err);
        for (size_t i = 0; st == FERRY_OK && i < plan->nrows; i++) {
            ferry_reset_row_t *r = &plan->rows[i];
            const rd_kafka_topic_partition_t *p =
                rd_kafka_topic_partition_list_find(l, plan->topic, r->partition);
            if (p && p->offset >= 0) {
                r->target = p->offset;
            } else {
                /* As kafka-consumer-groups --to-datetime: no record at or after the time
                 * means the end of the partition. */
                r->target = r->high;
                r->note = "no record at or after the time: end";
            }
        }
        rd_kafka_topic_partition_list_destroy(l);
        if (st)
            return st;
        break;
    }
    }
    return FERRY_OK;
}

ferry_status ferry_reset_group(ferry_groups_t *g, const char *group, const char *topic,
                               const ferry_reset_target_t *target, int dry_run,
                               ferry_reset_plan_t **plan_out, ferry_err_t *err)
{
    ferry_err_t local;
    if (!err)
        err = &local;
    if (plan_out)
        *plan_out = NULL;
    if (!group || !*group || !topic || !*topic)
        return ferry_err_set(err, FERRY_USAGE, "a group and a topic are required");
    ferry_reset_plan_t *plan = ferry_xcalloc(1, sizeof *plan);
    plan->group = ferry_xstrndup(group, strlen(group));
    plan->topic = ferry_xstrndup(topic, strlen(topic));
    plan->kind = target->kind;
    plan->time_ms = target->time_ms;
    plan->dry_run = dry_run;
    rd_kafka_topic_partition_list_t *committed = NULL;
    ferry_status st = ferry_groups_describe(g, group, &plan->desc, err);
    if (st)
        goto fail;
    int nparts =
        ferry_kafka_partition_count(ferry_groups_rk(g), topic, ferry_groups_timeout_ms(g), err);
    if (nparts < 0) {
        st = err->status;
        goto fail;
    }
    if ((st = plan_partitions(plan, target, nparts, err)))
        goto fail;
    if ((st = ferry_groups_committed(g, group, topic, &committed, err)))
        goto fail;
    for (size_t i = 0; i < plan->nrows; i++) {
        const rd_kafka_topic_partition_t *c =
            rd_kafka_topic_partition_list_find(committed, topic, plan->rows[i].partition);
        plan->rows[i].current = c && c->offset >= 0 ? c->offset : -1;
    }
    if ((st = plan_targets(g, plan, err)))
        goto fail;
    if (ferry_groups_desc_active(plan->desc)) {
        char members[1024];
        ferry_groups_desc_members_str(plan->desc, members, sizeof members);
        plan->refused = 1;
        st = ferry_err_set(err, FERRY_FATAL,
                           "group %s is active (state %s, %zu member(s)%s%s): its offsets can "
                           "only be reset while no consumer is in it; stop them first",
                           group, plan->desc->state, plan->desc->nmembers, members[0] ? ": " : "",
                           members);
        goto out;
    }
    if (!dry_run) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)plan->nrows);
        for (size_t i = 0; i < plan->nrows; i++)
            rd_kafka_topic_partition_list_add(l, topic, plan->rows[i].partition)->offset =
                plan->rows[i].target;
        st = ferry_groups_alter(g, group, l, err);
        rd_kafka_topic_partition_list_destroy(l);
        if (st == FERRY_OK) {
            plan->applied = 1;
            ferry_info("group %s: offsets of %zu partition(s) of %s reset (%s)", group, plan->nrows,
                       topic, ferry_reset_kind_name(plan->kind));
        }
    }
    goto out;
fail:
    ferry_reset_plan_free(plan);
    plan = NULL;
out:
    if (committed)
        rd_kafka_topic_partition_list_destroy(committed);
    if (plan_out)
        *plan_out = plan;
    else
        ferry_reset_plan_free(plan);
    return st;
}

ferry_status ferry_reset_group_opts(const ferry_opts_t *o, const char *group, const char *topic,
                                    const ferry_reset_target_t *target, int dry_run,
                                    ferry_reset_plan_t **plan_out, ferry_err_t *err)
{
    if (plan_out)
        *plan_out = NULL;
    ferry_groups_t *g = ferry_groups_new(o, 30000, err);
    if (!g)
        return err ? err->status : FERRY_FATAL;
    ferry_status st = ferry_reset_group(g, group, topic, target, dry_run, plan_out, err);
    ferry_groups_destroy(g);
    return st;
}

void ferry_reset_plan_free(ferry_reset_plan_t *p)
{
    if (!p)
        return;
    ferry_groups_desc_free(p->desc);
    free(p->rows);
    free(p->group);
    free(p->topic);
    free(p);
}

json_t *ferry_reset_plan_json(const ferry_reset_plan_t *p)
{
    json_t *j = json_object();
    json_object_set_new(j, "group", json_string(p->group));
    json_object_set_new(j, "topic", json_string(p->topic));
    json_t *t = json_object();
    json_object_set_new(t, "kind", json_string(ferry_reset_kind_name(p->kind)));
    if (p->kind == FERRY_RESET_TIME) {
        char ts[FERRY_TS_FORMAT_MAX];
        ferry_ts_format(p->time_ms * 1000, ts, sizeof ts);
        json_object_set_new(t, "time_ms", json_integer(p->time_ms));
        json_object_set_new(t, "time", json_string(ts));
    }
    json_object_set_new(j, "target", t);
    json_object_set_new(j, "state", json_string(p->desc ? p->desc->state : "Unknown"));
    json_t *ms = json_array();
    for (size_t i = 0; p->desc && i < p->desc->nmembers; i++) {
        const ferry_groups_member_t *m = &p->desc->members[i];
        json_t *mj = json_object();
        json_object_set_new(mj, "client_id", json_string(m->client_id));
        json_object_set_new(mj, "host", json_string(m->host));
        json_object_set_new(mj, "member_id", json_string(m->member_id));
        json_array_append_new(ms, mj);
    }
    json_object_set_new(j, "members", ms);
    json_object_set_new(j, "dry_run", json_boolean(p->dry_run));
    json_object_set_new(j, "refused", json_boolean(p->refused));
    json_object_set_new(j, "applied", json_boolean(p->applied));
    json_t *rows = json_array();
    for (size_t i = 0; i < p->nrows; i++) {
        const ferry_reset_row_t *r = &p->rows[i];
        json_t *rj = json_object();
        json_object_set_new(rj, "partition", json_integer(r->partition));
        json_object_set_new(rj, "current",
                            r->current >= 0 ? json_integer(r->current) : json_null());
        json_object_set_new(rj, "new", json_integer(r->target));
        json_object_set_new(rj, "diff",
                            r->current >= 0 ? json_integer(r->target - r->current) : json_null());
        json_object_set_new(rj, "start", json_integer(r->low));
        json_object_set_new(rj, "end", json_integer(r->high));
        json_object_set_new(rj, "note", r->note ? json_string(r->note) : json_null());
        json_array_append_new(rows, rj);
    }
    json_object_set_new(j, "partitions", rows);
    return j;
}
