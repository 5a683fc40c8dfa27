/* groups.c - consumer groups through librdkafka's admin API: the admin handle, list,
 * describe, committed offsets, alter and lag (see include/ferry/groups.h). */
#include "ferry/groups.h"
#include "ferry/buf.h"
#include "ferry/kafka.h"
#include "ferry/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ferry_groups {
    rd_kafka_t *rk;
    int timeout_ms;
};

/* A copy of a string librdkafka may give as NULL ("" then). */
static char *xstrdup(const char *s)
{
    return s ? ferry_xstrndup(s, strlen(s)) : ferry_xstrndup("", 0);
}

/* ---- handle ----------------------------------------------------------------------------- */

ferry_groups_t *ferry_groups_new(const ferry_opts_t *o, int timeout_ms, ferry_err_t *err)
{
    /* A consumer handle that never subscribes joins no group; it never asks the broker to
     * auto-create a topic it merely looks at, and commits nothing. It has a group id of its
     * own all the same: librdkafka 2.0 (Debian 12's) answers a "not coordinator" reply to
     * ListConsumerGroupOffsets (a broker still loading its group coordinator, as right after
     * it starts) by re-querying the handle's own group's coordinator, and a handle without a
     * group crashes there (confluentinc/librdkafka#5040). */
    static const char *const defaults[] = {
        "allow.auto.create.topics", "false", "group.id", "ferry.admin",
        "enable.auto.commit",       "false", NULL};
    rd_kafka_conf_t *conf = ferry_kafka_conf_new(o, defaults, err);
    if (!conf)
        return NULL;
    rd_kafka_t *rk = ferry_kafka_new(RD_KAFKA_CONSUMER, conf, "admin client", err);
    if (!rk)
        return NULL;
    ferry_groups_t *g = ferry_xcalloc(1, sizeof *g);
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
    return strcmp(((const ferry_groups_listing_t *)a)->group,
                  ((const ferry_groups_listing_t *)b)->group);
}

ferry_status ferry_groups_list(ferry_groups_t *g, ferry_groups_listing_t **out, size_t *n,
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
            ferry_groups_listing_t *arr = ferry_xcalloc(cnt, sizeof *arr);
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

void ferry_groups_listings_free(ferry_groups_listing_t *l, size_t n)
{
    if (!l)
        return;
    for (size_t i = 0; i < n; i++)
        free(l[i].group);
    free(l);
}

/* ---- describe --------------------------------------------------------------------------- */

/* A new description with room for nmembers members (filled by the caller). */
static ferry_groups_desc_t *desc_new(const char *group, rd_kafka_consumer_group_state_t state,
                                     const char *assignor, size_t nmembers)
{
    ferry_groups_desc_t *d = ferry_xcalloc(1, sizeof *d);
    d->group = xstrdup(group);
    d->state_code = state;
    snprintf(d->state, sizeof d->state, "%s", rd_kafka_consumer_group_state_name(state));
    d->assignor = xstrdup(assignor);
    d->nmembers = nmembers;
    d->members = ferry_xcalloc(nmembers, sizeof *d->members);
    return d;
}

/* Copies one member as the broker described it, its assignment sorted. */
static void member_copy(ferry_groups_member_t *fm, const rd_kafka_MemberDescription_t *m)
{
    fm->member_id = xstrdup(rd_kafka_MemberDescription_consumer_id(m));
    fm->client_id = xstrdup(rd_kafka_MemberDescription_client_id(m));
    fm->host = xstrdup(rd_kafka_MemberDescription_host(m));
    const char *inst = rd_kafka_MemberDescription_group_instance_id(m);
    fm->instance_id = inst ? xstrdup(inst) : NULL;
    const rd_kafka_MemberAssignment_t *ma = rd_kafka_MemberDescription_assignment(m);
    const rd_kafka_topic_partition_list_t *pl =
        ma ? rd_kafka_MemberAssignment_partitions(ma) : NULL;
    fm->assignment =
        pl ? rd_kafka_topic_partition_list_copy(pl) : rd_kafka_topic_partition_list_new(0);
    rd_kafka_topic_partition_list_sort(fm->assignment, NULL, NULL);
}

ferry_status ferry_groups_describe(ferry_groups_t *g, const char *group, ferry_groups_desc_t **out,
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
            *out = desc_new(group, RD_KAFKA_CONSUMER_GROUP_STATE_DEAD, "", 0);
        } else if (ge) {
            st = ferry_err_set(err, error_status(ge), "describe group %s: %s", group,
                               rd_kafka_error_string(ge));
        } else {
            const rd_kafka_ConsumerGroupDescription_t *gd = res[0];
            ferry_groups_desc_t *d =
                desc_new(group, rd_kafka_ConsumerGroupDescription_state(gd),
                         rd_kafka_ConsumerGroupDescription_partition_assignor(gd),
                         rd_kafka_ConsumerGroupDescription_member_count(gd));
            for (size_t i = 0; i < d->nmembers; i++)
                member_copy(&d->members[i], rd_kafka_ConsumerGroupDescription_member(gd, i));
            *out = d;
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    return st;
}

void ferry_groups_desc_free(ferry_groups_desc_t *d)
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

int ferry_groups_desc_active(const ferry_groups_desc_t *d)
{
    if (d->nmembers > 0)
        return 1;
    return d->state_code != RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY &&
           d->state_code != RD_KAFKA_CONSUMER_GROUP_STATE_DEAD;
}

const char *ferry_groups_desc_members_str(const ferry_groups_desc_t *d, char *buf, size_t bufsz)
{
    if (!bufsz)
        return buf;
    buf[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < d->nmembers; i++) {
        const ferry_groups_member_t *m = &d->members[i];
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

static ferry_status committed_once(ferry_groups_t *g, const char *group, const char *topic,
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

ferry_status ferry_groups_committed(ferry_groups_t *g, const char *group, const char *topic,
                                    rd_kafka_topic_partition_list_t **out, ferry_err_t *err)
{
    /* A broker still loading its group coordinator (just started, or the coordinator moved)
     * answers "not coordinator" / "load in progress" for a while: asked again within the
     * handle's timeout. */
    int64_t until = ferry_clock_mono_ms() + g->timeout_ms;
    for (int wait = 100;; wait = wait < 1000 ? wait * 2 : 1000) {
        ferry_status st = committed_once(g, group, topic, out, err);
        if (st != FERRY_RETRY || ferry_clock_mono_ms() + wait >= until ||
            ferry_lifecycle_sleep_ms(wait) != 0)
            return st;
    }
}

ferry_status ferry_groups_alter(ferry_groups_t *g, const char *group,
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

/* ---- lag -------------------------------------------------------------------------------- */

ferry_status ferry_groups_lag(ferry_groups_t *g, const char *group, const char *topic, int64_t *lag,
                              ferry_err_t *err)
{
    int n = ferry_kafka_partition_count(g->rk, topic, g->timeout_ms, err);
    if (n < 0)
        return err ? err->status : FERRY_RETRY;
    rd_kafka_topic_partition_list_t *committed = NULL;
    ferry_status st = ferry_groups_committed(g, group, topic, &committed, err);
    if (st)
        return st;
    int64_t total = 0;
    for (int p = 0; p < n && !st; p++) {
        int64_t low, high;
        if ((st = ferry_kafka_watermarks(g->rk, topic, p, &low, &high, g->timeout_ms, err)))
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
