/* groups.c - consumer groups through librdkafka's admin API: list, describe, committed
 * offsets, alter, watermarks, offsets for a time, and the reset plan that `ferry replay`
 * and `ferry rollback --since` execute (see include/ferry/groups.h). */
#include "ferry/groups.h"
#include "ferry/topics.h"
#include "ferry/kafka.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/timeparse.h"

#include <stdlib.h>
#include <string.h>

struct ferry_groups {
    rd_kafka_t *rk;
    int timeout_ms;
};

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

/* ---- handle ----------------------------------------------------------------------------- */

ferry_groups_t *ferry_groups_new(const ferry_opts_t *o, int timeout_ms, ferry_err_t *err)
{
    /* A consumer handle without group.id joins no group; it never asks the broker to
     * auto-create a topic it merely looks at. */
    static const char *const defaults[] = {"allow.auto.create.topics", "false", NULL};
    rd_kafka_conf_t *conf = ferry_kafka_conf_new(o, defaults, err);
    if (!conf)
        return NULL;
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        ferry_err_set(err, FERRY_FATAL, "cannot create Kafka admin client: %s", errstr);
        return NULL;
    }
    ferry_groups_t *g = calloc(1, sizeof *g);
    if (!g)
        abort();
    g->rk = rk;
    g->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    return g;
}

void ferry_groups_destroy(ferry_groups_t *g)
{
    if (!g)
        return;
    rd_kafka_destroy(g->rk);
    free(g);
}

rd_kafka_t *ferry_groups_rk(ferry_groups_t *g)
{
    return g->rk;
}

int ferry_groups_timeout_ms(const ferry_groups_t *g)
{
    return g->timeout_ms;
}

/* ---- admin request plumbing ------------------------------------------------------------- */

static rd_kafka_AdminOptions_t *admin_options(ferry_groups_t *g, rd_kafka_admin_op_t op)
{
    char errstr[256];
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(g->rk, op);
    rd_kafka_AdminOptions_set_request_timeout(ao, g->timeout_ms, errstr, sizeof errstr);
    return ao;
}

static ferry_status error_status(const rd_kafka_error_t *e)
{
    rd_kafka_resp_err_t code = rd_kafka_error_code(e);
    if (code == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND)
        return FERRY_USAGE;
    return ferry_kafka_classify(code);
}

/* Waits for the result of an admin request on q. Returns the event (the caller destroys
 * it) or NULL with *err: no answer in time, or a request-level error. */
static rd_kafka_event_t *admin_wait(ferry_groups_t *g, rd_kafka_queue_t *q, const char *what,
                                    ferry_err_t *err)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, g->timeout_ms + 2000);
    if (!ev) {
        ferry_err_set(err, FERRY_RETRY, "%s: no answer from Kafka within %d ms", what,
                      g->timeout_ms);
        return NULL;
    }
    rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
    if (e) {
        ferry_err_set(err, ferry_kafka_classify(e), "%s: %s", what,
                      rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

/* ---- list ------------------------------------------------------------------------------- */

static int listing_cmp(const void *a, const void *b)
{
    return strcmp(((const ferry_group_listing_t *)a)->group,
                  ((const ferry_group_listing_t *)b)->group);
}

ferry_status ferry_groups_list(ferry_groups_t *g, ferry_group_listing_t **out, size_t *n,
                               ferry_err_t *err)
{
    ferry_err_t local;
    if (!err)
        err = &local;
    *out = NULL;
    *n = 0;
    rd_kafka_queue_t *q = rd_kafka_queue_new(g->rk);
    rd_kafka_AdminOptions_t *ao = admin_options(g, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
    rd_kafka_ListConsumerGroups(g->rk, ao, q);
    rd_kafka_event_t *ev = admin_wait(g, q, "list consumer groups", err);
    ferry_status st = ev ? FERRY_OK : err->status;
    if (ev) {
        const rd_kafka_ListConsumerGroups_result_t *res =
            rd_kafka_event_ListConsumerGroups_result(ev);
        size_t nerr = 0, cnt = 0;
        const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(res, &nerr);
        if (nerr > 0) {
            st = ferry_err_set(err, error_status(errs[0]), "list consumer groups: %s",
                               rd_kafka_error_string(errs[0]));
        } else {
            const rd_kafka_ConsumerGroupListing_t **l =
                rd_kafka_ListConsumerGroups_result_valid(res, &cnt);
            ferry_group_listing_t *arr = calloc(cnt ? cnt : 1, sizeof *arr);
            if (!arr)
                abort();
            for (size_t i = 0; i < cnt; i++) {
                arr[i].group = xstrdup(rd_kafka_ConsumerGroupListing_group_id(l[i]));
                snprintf(
                    arr[i].state, sizeof arr[i].state, "%s",
                    rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(l[i])));
                arr[i].simple = rd_kafka_ConsumerGroupListing_is_simple_consumer_group(l[i]);
            }
            qsort(arr, cnt, sizeof *arr, listing_cmp);
            *out = arr;
            *n = cnt;
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    return st;
}

void ferry_group_listings_free(ferry_group_listing_t *l, size_t n)
{
    if (!l)
        return;
    for (size_t i = 0; i < n; i++)
        free(l[i].group);
    free(l);
}

/* ---- describe --------------------------------------------------------------------------- */

ferry_status ferry_group_describe(ferry_groups_t *g, const char *group, ferry_group_desc_t **out,
                                  ferry_err_t *err)
{
    ferry_err_t local;
    if (!err)
        err = &local;
    *out = NULL;
    rd_kafka_queue_t *q = rd_kafka_queue_new(g->rk);
    rd_kafka_AdminOptions_t *ao = admin_options(g, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    const char *groups[1] = {group};
    rd_kafka_DescribeConsumerGroups(g->rk, groups, 1, ao, q);
    rd_kafka_event_t *ev = admin_wait(g, q, "describe consumer group", err);
    ferry_status st = ev ? FERRY_OK : err->status;
    if (ev) {
        size_t cnt = 0;
        const rd_kafka_ConsumerGroupDescription_t **res =
            rd_kafka_DescribeConsumerGroups_result_groups(
                rd_kafka_event_DescribeConsumerGroups_result(ev), &cnt);
        const rd_kafka_error_t *ge = cnt ? rd_kafka_ConsumerGroupDescription_error(res[0]) : NULL;
        int missing = ge && rd_kafka_error_code(ge) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND;
        if (cnt < 1) {
            st = ferry_err_set(err, FERRY_RETRY, "describe group %s: empty answer", group);
        } else if (missing) {
            /* Newer brokers answer "not found" where older ones described a Dead group. */
            ferry_group_desc_t *d = calloc(1, sizeof *d);
            if (!d)
                abort();
            d->group = xstrdup(group);
            d->state_code = RD_KAFKA_CONSUMER_GROUP_STATE_DEAD;
            snprintf(d->state, sizeof d->state, "%s",
                     rd_kafka_consumer_group_state_name(d->state_code));
            d->assignor = xstrdup("");
            d->members = calloc(1, sizeof *d->members);
            if (!d->members)
                abort();
            *out = d;
        } else if (ge) {
            st = ferry_err_set(err, error_status(ge), "describe group %s: %s", group,
                               rd_kafka_error_string(ge));
        } else {
            const rd_kafka_ConsumerGroupDescription_t *gd = res[0];
            ferry_group_desc_t *d = calloc(1, sizeof *d);
            if (!d)
                abort();
            d->group = xstrdup(group);
            d->state_code = rd_kafka_ConsumerGroupDescription_state(gd);
            snprintf(d->state, sizeof d->state, "%s",
                     rd_kafka_consumer_group_state_name(d->state_code));
            d->assignor = xstrdup(rd_kafka_ConsumerGroupDescription_partition_assignor(gd));
            d->nmembers = rd_kafka_ConsumerGroupDescription_member_count(gd);
            d->members = calloc(d->nmembers ? d->nmembers : 1, sizeof *d->members);
            if (!d->members)
                abort();
            for (size_t i = 0; i < d->nmembers; i++) {
                const rd_kafka_MemberDescription_t *m =
                    rd_kafka_ConsumerGroupDescription_member(gd, i);
                ferry_group_member_t *fm = &d->members[i];
                fm->member_id = xstrdup(rd_kafka_MemberDescription_consumer_id(m));
                fm->client_id = xstrdup(rd_kafka_MemberDescription_client_id(m));
                fm->host = xstrdup(rd_kafka_MemberDescription_host(m));
                const char *inst = rd_kafka_MemberDescription_group_instance_id(m);
                fm->instance_id = inst ? xstrdup(inst) : NULL;
                const rd_kafka_MemberAssignment_t *ma = rd_kafka_MemberDescription_assignment(m);
                const rd_kafka_topic_partition_list_t *pl =
                    ma ? rd_kafka_MemberAssignment_partitions(ma) : NULL;
                fm->assignment = pl ? rd_kafka_topic_partition_list_copy(pl)
                                    : rd_kafka_topic_partition_list_new(0);
                rd_kafka_topic_partition_list_sort(fm->assignment, NULL, NULL);
            }
            *out = d;
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    return st;
}

void ferry_group_desc_free(ferry_group_desc_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nmembers; i++) {
        free(d->members[i].member_id);
        free(d->members[i].client_id);
        free(d->members[i].host);
        free(d->members[i].instance_id);
        rd_kafka_topic_partition_list_destroy(d->members[i].assignment);
    }
    free(d->members);
    free(d->assignor);
    free(d->group);
    free(d);
}

int ferry_group_desc_active(const ferry_group_desc_t *d)
{
    if (d->nmembers > 0)
        return 1;
    return d->state_code != RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY &&
           d->state_code != RD_KAFKA_CONSUMER_GROUP_STATE_DEAD;
}

const char *ferry_group_desc_members_str(const ferry_group_desc_t *d, char *buf, size_t bufsz)
{
    if (!bufsz)
        return buf;
    buf[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < d->nmembers; i++) {
        const ferry_group_member_t *m = &d->members[i];
        int w = snprintf(buf + len, bufsz - len, "%s%s@%s (member %s)", i ? ", " : "", m->client_id,
                         m->host, m->member_id);
        if (w < 0 || (size_t)w >= bufsz - len) {
            if (bufsz >= 4)
                memcpy(buf + bufsz - 4, "...", 4);
            break;
        }
        len += (size_t)w;
    }
    return buf;
}

/* ---- offsets ---------------------------------------------------------------------------- */

ferry_status ferry_group_committed(ferry_groups_t *g, const char *group, const char *topic,
                                   rd_kafka_topic_partition_list_t **out, ferry_err_t *err)
{
    ferry_err_t local;
    if (!err)
        err = &local;
    *out = NULL;
    rd_kafka_queue_t *q = rd_kafka_queue_new(g->rk);
    rd_kafka_AdminOptions_t *ao = admin_options(g, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    /* NULL partitions: every partition the group has committed for (OffsetFetch with no
     * topics); filtered by topic below. */
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
    rd_kafka_ListConsumerGroupOffsets(g->rk, &req, 1, ao, q);
    rd_kafka_event_t *ev = admin_wait(g, q, "list committed offsets", err);
    ferry_status st = ev ? FERRY_OK : err->status;
    if (ev) {
        size_t cnt = 0;
        const rd_kafka_group_result_t **gr = rd_kafka_ListConsumerGroupOffsets_result_groups(
            rd_kafka_event_ListConsumerGroupOffsets_result(ev), &cnt);
        const rd_kafka_error_t *ge = cnt ? rd_kafka_group_result_error(gr[0]) : NULL;
        if (cnt < 1) {
            st = ferry_err_set(err, FERRY_RETRY, "committed offsets of %s: empty answer", group);
        } else if (ge) {
            st = ferry_err_set(err, error_status(ge), "committed offsets of %s: %s", group,
                               rd_kafka_error_string(ge));
        } else {
            const rd_kafka_topic_partition_list_t *pl = rd_kafka_group_result_partitions(gr[0]);
            rd_kafka_topic_partition_list_t *l =
                rd_kafka_topic_partition_list_new(pl ? pl->cnt : 0);
            for (int i = 0; pl && i < pl->cnt; i++) {
                const rd_kafka_topic_partition_t *p = &pl->elems[i];
                if (topic && strcmp(p->topic, topic) != 0)
                    continue;
                if (p->err) {
                    st = ferry_err_set(err, ferry_kafka_classify(p->err),
                                       "committed offset of %s on %s[%d]: %s", group, p->topic,
                                       p->partition, rd_kafka_err2str(p->err));
                    break;
                }
                if (p->offset < 0)
                    continue;
                rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->offset;
            }
            rd_kafka_topic_partition_list_sort(l, NULL, NULL);
            if (st == FERRY_OK)
                *out = l;
            else
                rd_kafka_topic_partition_list_destroy(l);
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    return st;
}

ferry_status ferry_group_alter(ferry_groups_t *g, const char *group,
                               const rd_kafka_topic_partition_list_t *offsets, ferry_err_t *err)
{
    ferry_err_t local;
    if (!err)
        err = &local;
    if (!offsets || offsets->cnt == 0)
        return FERRY_OK;
    rd_kafka_queue_t *q = rd_kafka_queue_new(g->rk);
    rd_kafka_AdminOptions_t *ao = admin_options(g, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);
    rd_kafka_AlterConsumerGroupOffsets_t *req =
        rd_kafka_AlterConsumerGroupOffsets_new(group, offsets);
    rd_kafka_AlterConsumerGroupOffsets(g->rk, &req, 1, ao, q);
    rd_kafka_event_t *ev = admin_wait(g, q, "alter committed offsets", err);
    ferry_status st = ev ? FERRY_OK : err->status;
    if (ev) {
        size_t cnt = 0;
        const rd_kafka_group_result_t **gr = rd_kafka_AlterConsumerGroupOffsets_result_groups(
            rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &cnt);
        const rd_kafka_error_t *ge = cnt ? rd_kafka_group_result_error(gr[0]) : NULL;
        if (cnt < 1) {
            st = ferry_err_set(err, FERRY_RETRY, "alter offsets of %s: empty answer", group);
        } else if (ge) {
            st = ferry_err_set(err, error_status(ge), "alter offsets of %s: %s", group,
                               rd_kafka_error_string(ge));
        } else {
            const rd_kafka_topic_partition_list_t *pl = rd_kafka_group_result_partitions(gr[0]);
            for (int i = 0; pl && i < pl->cnt; i++) {
                const rd_kafka_topic_partition_t *p = &pl->elems[i];
                if (!p->err)
                    continue;
                const char *hint = p->err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
                                           p->err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
                                           p->err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS
                                       ? " (the group has active members: stop them first)"
                                       : "";
                st = ferry_err_set(err, FERRY_FATAL, "alter offset of %s on %s[%d]: %s%s", group,
                                   p->topic, p->partition, rd_kafka_err2str(p->err), hint);
                break;
            }
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AlterConsumerGroupOffsets_destroy(req);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    return st;
}

int ferry_groups_partition_count(ferry_groups_t *g, const char *topic, ferry_err_t *err)
{
    /* a name Kafka refuses is a usage error here, not a broker error to retry; one
     * librdkafka gives no handle for would ask for the metadata of every topic */
    char why[160];
    if (ferry_topic_name_check(topic, 0, why, sizeof why) != 0) {
        ferry_err_set(err, FERRY_USAGE, "topic '%.100s': %s", topic ? topic : "", why);
        return -1;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(g->rk, topic, NULL);
    if (!rkt) {
        ferry_err_set(err, FERRY_USAGE, "topic '%.100s': %s", topic,
                      rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(g->rk, 0, rkt, &md, g->timeout_ms);
    int n = -1;
    if (e) {
        ferry_err_set(err, ferry_kafka_classify(e) == FERRY_FATAL ? FERRY_FATAL : FERRY_RETRY,
                      "metadata of topic %s: %s", topic, rd_kafka_err2str(e));
    } else if (md->topic_cnt < 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        ferry_err_set(err, FERRY_USAGE, "topic %s does not exist", topic);
    } else if (md->topics[0].err) {
        ferry_err_set(err, ferry_kafka_classify(md->topics[0].err), "topic %s: %s", topic,
                      rd_kafka_err2str(md->topics[0].err));
    } else {
        n = md->topics[0].partition_cnt;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

ferry_status ferry_groups_watermarks(ferry_groups_t *g, const char *topic, int32_t partition,
                                     int64_t *low, int64_t *high, ferry_err_t *err)
{
    rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(g->rk, topic, partition, low, high, g->timeout_ms);
    if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
        return ferry_err_set(err, FERRY_USAGE, "%s[%d] does not exist", topic, partition);
    if (e)
        return ferry_err_set(err, ferry_kafka_classify(e), "offsets of %s[%d]: %s", topic,
                             partition, rd_kafka_err2str(e));
    return FERRY_OK;
}

ferry_status ferry_groups_offsets_for_time(ferry_groups_t *g,
                                           rd_kafka_topic_partition_list_t *parts, ferry_err_t *err)
{
    if (!parts || parts->cnt == 0)
        return FERRY_OK;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(g->rk, parts, g->timeout_ms);
    if (e)
        return ferry_err_set(err, ferry_kafka_classify(e), "offsets for time: %s",
                             rd_kafka_err2str(e));
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].err)
            return ferry_err_set(err, ferry_kafka_classify(parts->elems[i].err),
                                 "offset for time on %s[%d]: %s", parts->elems[i].topic,
                                 parts->elems[i].partition, rd_kafka_err2str(parts->elems[i].err));
    return FERRY_OK;
}

/* ---- reset ------------------------------------------------------------------------------ */

int64_t ferry_groups_time_ms(int64_t unix_us)
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
    plan->rows = calloc(n ? n : 1, sizeof *plan->rows);
    if (!plan->rows)
        abort();
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
        if ((st = ferry_groups_watermarks(g, plan->topic, r->partition, &r->low, &r->high, err)))
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
        st = ferry_groups_offsets_for_time(g, l, err);
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

ferry_status ferry_group_reset(ferry_groups_t *g, const char *group, const char *topic,
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
    ferry_reset_plan_t *plan = calloc(1, sizeof *plan);
    if (!plan)
        abort();
    plan->group = xstrdup(group);
    plan->topic = xstrdup(topic);
    plan->kind = target->kind;
    plan->time_ms = target->time_ms;
    plan->dry_run = dry_run;
    rd_kafka_topic_partition_list_t *committed = NULL;
    ferry_status st = ferry_group_describe(g, group, &plan->desc, err);
    if (st)
        goto fail;
    int nparts = ferry_groups_partition_count(g, topic, err);
    if (nparts < 0) {
        st = err->status;
        goto fail;
    }
    if ((st = plan_partitions(plan, target, nparts, err)))
        goto fail;
    if ((st = ferry_group_committed(g, group, topic, &committed, err)))
        goto fail;
    for (size_t i = 0; i < plan->nrows; i++) {
        const rd_kafka_topic_partition_t *c =
            rd_kafka_topic_partition_list_find(committed, topic, plan->rows[i].partition);
        plan->rows[i].current = c && c->offset >= 0 ? c->offset : -1;
    }
    if ((st = plan_targets(g, plan, err)))
        goto fail;
    if (ferry_group_desc_active(plan->desc)) {
        char members[1024];
        ferry_group_desc_members_str(plan->desc, members, sizeof members);
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
        st = ferry_group_alter(g, group, l, err);
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

ferry_status ferry_group_reset_opts(const ferry_opts_t *o, const char *group, const char *topic,
                                    const ferry_reset_target_t *target, int dry_run,
                                    ferry_reset_plan_t **plan_out, ferry_err_t *err)
{
    if (plan_out)
        *plan_out = NULL;
    ferry_groups_t *g = ferry_groups_new(o, 30000, err);
    if (!g)
        return err ? err->status : FERRY_FATAL;
    ferry_status st = ferry_group_reset(g, group, topic, target, dry_run, plan_out, err);
    ferry_groups_destroy(g);
    return st;
}

void ferry_reset_plan_free(ferry_reset_plan_t *p)
{
    if (!p)
        return;
    ferry_group_desc_free(p->desc);
    free(p->rows);
    free(p->group);
    free(p->topic);
    free(p);
}

static void target_desc(const ferry_reset_plan_t *p, char *buf, size_t bufsz)
{
    if (p->kind == FERRY_RESET_TIME) {
        char ts[FERRY_TS_FORMAT_MAX];
        ferry_ts_format(p->time_ms * 1000, ts, sizeof ts);
        snprintf(buf, bufsz, "time %s (%lld ms)", ts, (long long)p->time_ms);
    } else {
        snprintf(buf, bufsz, "%s", ferry_reset_kind_name(p->kind));
    }
}

void ferry_reset_plan_print(const ferry_reset_plan_t *p, FILE *fp)
{
    char what[96];
    target_desc(p, what, sizeof what);
    const char *outcome = p->refused   ? "REFUSED: the group is active, nothing changed"
                          : p->applied ? "offsets reset"
                          : p->dry_run ? "dry run: nothing changed"
                                       : "NOT applied";
    fprintf(fp, "group %s, topic %s, to %s (group state %s): %s\n", p->group, p->topic, what,
            p->desc ? p->desc->state : "?", outcome);
    fprintf(fp, "%-9s %14s %14s %14s %14s %14s  %s\n", "PARTITION", "CURRENT", "NEW", "DIFF",
            "START", "END", "NOTE");
    for (size_t i = 0; i < p->nrows; i++) {
        const ferry_reset_row_t *r = &p->rows[i];
        char cur[24], diff[24];
        if (r->current >= 0) {
            snprintf(cur, sizeof cur, "%lld", (long long)r->current);
            snprintf(diff, sizeof diff, "%+lld", (long long)(r->target - r->current));
        } else {
            snprintf(cur, sizeof cur, "-");
            snprintf(diff, sizeof diff, "-");
        }
        fprintf(fp, "%-9d %14s %14lld %14s %14lld %14lld  %s\n", (int)r->partition, cur,
                (long long)r->target, diff, (long long)r->low, (long long)r->high,
                r->note ? r->note : "");
    }
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
        const ferry_group_member_t *m = &p->desc->members[i];
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

ferry_status ferry_group_lag(ferry_groups_t *g, const char *group, const char *topic, int64_t *lag,
                             ferry_err_t *err)
{
    int n = ferry_groups_partition_count(g, topic, err);
    if (n < 0)
        return err ? err->status : FERRY_RETRY;
    rd_kafka_topic_partition_list_t *committed = NULL;
    ferry_status st = ferry_group_committed(g, group, topic, &committed, err);
    if (st)
        return st;
    int64_t total = 0;
    for (int p = 0; p < n && !st; p++) {
        int64_t low, high;
        if ((st = ferry_groups_watermarks(g, topic, p, &low, &high, err)))
            break;
        int64_t pos = low;
        for (int i = 0; i < committed->cnt; i++)
            if (committed->elems[i].partition == p && committed->elems[i].offset >= 0)
                pos = committed->elems[i].offset;
        if (high > pos)
            total += high - pos;
    }
    rd_kafka_topic_partition_list_destroy(committed);
    if (!st)
        *lag = total;
    return st;
}

void ferry_until_idle_init(ferry_until_idle_t *u, const ferry_opts_t *o, const char *group,
                           const char *topic)
{
    memset(u, 0, sizeof *u);
    u->idle_ms = ferry_opts_is_set(o, "until-idle") ? ferry_opts_duration_ms(o, "until-idle") : -1;
    u->since = -1;
    u->o = o;
    u->group = group;
    u->topic = topic;
}

int ferry_until_idle_done(ferry_until_idle_t *u, ferry_consumer_t *c, int busy)
{
    if (busy) {
        u->since = -1;
        return 0;
    }
    if (u->idle_ms < 0 || !ferry_consumer_caught_up(c))
        return 0;
    if (u->since < 0) {
        u->since = ferry_mono_ms();
        return 0;
    }
    if (ferry_mono_ms() - u->since < u->idle_ms)
        return 0;
    int64_t lag = -1;
    ferry_err_t err;
    if (!u->groups)
        u->groups = ferry_groups_new(u->o, 10000, &err);
    if (u->groups && ferry_group_lag(u->groups, u->group, u->topic, &lag, &err) == FERRY_OK &&
        lag == 0) {
        ferry_info("group caught up for %lld ms: exiting", (long long)u->idle_ms);
        return 1;
    }
    ferry_debug("idle, but the group's lag is %lld: staying", (long long)lag);
    u->since = ferry_mono_ms();
    return 0;
}

void ferry_until_idle_free(ferry_until_idle_t *u)
{
    ferry_groups_destroy(u->groups);
    u->groups = NULL;
}
