/* status_kafka.c - the Kafka part of `ferry status` (see status.h): for each consumer group
 * shown, its state and members, and per partition it has committed offsets for: committed
 * offset, end offset (asked once per partition and run), lag and the member that owns it. */
#include <stdlib.h>
#include <string.h>

#include "ferry/command.h"
#include "ferry/groups.h"
#include "ferry/kafka.h"
#include "status.h"

typedef struct wm_cache {
    char *topic;
    int32_t partition;
    int64_t high;
    char *error;
} wm_cache_t;

typedef struct kafka_ctx {
    ferry_groups_t *g;
    wm_cache_t *wm;
    size_t nwm;
    int unreachable;
} kafka_ctx_t;

/* End offset of a partition, asked once per run. Returns the cache entry. */
static const wm_cache_t *end_offset(kafka_ctx_t *k, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < k->nwm; i++)
        if (k->wm[i].partition == partition && strcmp(k->wm[i].topic, topic) == 0)
            return &k->wm[i];
    wm_cache_t *n = realloc(k->wm, (k->nwm + 1) * sizeof *n);
    if (!n)
        abort();
    k->wm = n;
    wm_cache_t *w = &k->wm[k->nwm++];
    memset(w, 0, sizeof *w);
    w->topic = strdup(topic);
    w->partition = partition;
    int64_t low = -1;
    ferry_err_t err;
    if (ferry_kafka_watermarks(ferry_groups_rk(k->g), topic, partition, &low, &w->high,
                               ferry_groups_timeout_ms(k->g), &err) != FERRY_OK) {
        w->high = -1;
        w->error = strdup(err.msg);
        if (err.status == FERRY_RETRY)
            k->unreachable = 1;
    }
    return w;
}

static const char *owner_of(const ferry_groups_desc_t *d, const char *topic, int32_t partition,
                            char *buf, size_t bufsz)
{
    for (size_t i = 0; d && i < d->nmembers; i++)
        if (rd_kafka_topic_partition_list_find(d->members[i].assignment, topic, partition)) {
            snprintf(buf, bufsz, "%s@%s", d->members[i].client_id, d->members[i].host);
            return buf;
        }
    return NULL;
}

/* The group's members with their assignments, a new JSON array. */
static json_t *members_json(const ferry_groups_desc_t *d)
{
    json_t *ms = json_array();
    for (size_t i = 0; i < d->nmembers; i++) {
        const ferry_groups_member_t *m = &d->members[i];
        json_t *mj = json_object();
        json_object_set_new(mj, "client_id", json_string(m->client_id));
        json_object_set_new(mj, "host", json_string(m->host));
        json_object_set_new(mj, "member_id", json_string(m->member_id));
        json_t *pa = json_array();
        for (int j = 0; j < m->assignment->cnt; j++) {
            json_t *pj = json_object();
            json_object_set_new(pj, "topic", json_string(m->assignment->elems[j].topic));
            json_object_set_new(pj, "partition", json_integer(m->assignment->elems[j].partition));
            json_array_append_new(pa, pj);
        }
        json_object_set_new(mj, "partitions", pa);
        json_array_append_new(ms, mj);
    }
    return ms;
}

/* One group's JSON object, or NULL when it is not worth showing (no commits, no members,
 * not asked for by name). */
static json_t *group_json(kafka_ctx_t *k, const char *group, int named)
{
    json_t *gj = json_object();
    json_object_set_new(gj, "group", json_string(group));
    ferry_err_t err;
    ferry_groups_desc_t *d = NULL;
    rd_kafka_topic_partition_list_t *committed = NULL;
    if (ferry_groups_describe(k->g, group, &d, &err) != FERRY_OK ||
        ferry_groups_committed(k->g, group, NULL, &committed, &err) != FERRY_OK) {
        if (err.status == FERRY_RETRY)
            k->unreachable = 1;
        json_object_set_new(gj, "state", json_null());
        json_object_set_new(gj, "members", json_array());
        json_object_set_new(gj, "partitions", json_array());
        json_object_set_new(gj, "lag", json_null());
        json_object_set_new(gj, "error", json_string(err.msg));
        ferry_groups_desc_free(d);
        return gj;
    }
    if (!named && committed->cnt == 0 && d->nmembers == 0) {
        ferry_groups_desc_free(d);
        rd_kafka_topic_partition_list_destroy(committed);
        json_decref(gj);
        return NULL;
    }
    json_object_set_new(gj, "state", json_string(d->state));
    json_t *ms = members_json(d);
    json_object_set_new(gj, "members", ms);
    json_t *parts = json_array();
    int64_t total = 0;
    int lag_known = 1;
    for (int i = 0; i < committed->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &committed->elems[i];
        const wm_cache_t *w = end_offset(k, p->topic, p->partition);
        json_t *pj = json_object();
        char owner[512];
        json_object_set_new(pj, "topic", json_string(p->topic));
        json_object_set_new(pj, "partition", json_integer(p->partition));
        json_object_set_new(pj, "committed", json_integer(p->offset));
        if (w->high >= 0) {
            int64_t lag = w->high - p->offset;
            json_object_set_new(pj, "end", json_integer(w->high));
            json_object_set_new(pj, "lag", json_integer(lag));
            total += lag;
        } else {
            json_object_set_new(pj, "end", json_null());
            json_object_set_new(pj, "lag", json_null());
            lag_known = 0;
        }
        const char *own = owner_of(d, p->topic, p->partition, owner, sizeof owner);
        json_object_set_new(pj, "owner", own ? json_string(own) : json_null());
        json_object_set_new(pj, "error", w->error ? json_string(w->error) : json_null());
        json_array_append_new(parts, pj);
    }
    json_object_set_new(gj, "partitions", parts);
    json_object_set_new(gj, "lag", lag_known ? json_integer(total) : json_null());
    json_object_set_new(gj, "error", json_null());
    ferry_groups_desc_free(d);
    rd_kafka_topic_partition_list_destroy(committed);
    return gj;
}

int status_kafka(const ferry_opts_t *o, json_t *doc)
{
    json_t *kj = json_object();
    json_t *groups = json_array();
    json_object_set_new(doc, "kafka", kj);
    json_object_set_new(doc, "groups", groups);
    json_object_set_new(kj, "brokers", json_string(ferry_opts_str(o, "brokers")));
    if (ferry_opts_bool(o, "skip-kafka")) {
        json_object_set_new(kj, "checked", json_false());
        json_object_set_new(kj, "ok", json_null());
        json_object_set_new(kj, "error", json_null());
        return 0;
    }
    json_object_set_new(kj, "checked", json_true());
    ferry_err_t err;
    kafka_ctx_t k = {0};
    k.g = ferry_groups_new(o, (int)ferry_opts_duration_ms(o, "timeout"), &err);
    if (!k.g) {
        json_object_set_new(kj, "ok", json_false());
        json_object_set_new(kj, "error", json_string(err.msg));
        return ferry_cmd_exit_for(err.status);
    }
    const char *const *named;
    size_t nnamed = ferry_opts_list(o, "group", &named);
    ferry_groups_listing_t *list = NULL;
    size_t nlist = 0;
    if (!nnamed && ferry_groups_list(k.g, &list, &nlist, &err) != FERRY_OK) {
        json_object_set_new(kj, "ok", json_false());
        json_object_set_new(kj, "error", json_string(err.msg));
        ferry_groups_destroy(k.g);
        return err.status == FERRY_RETRY;
    }
    const char *prefix = ferry_opts_str(o, "group-prefix");
    size_t n = nnamed ? nnamed : nlist;
    for (size_t i = 0; i < n && !k.unreachable; i++) {
        const char *name = nnamed ? named[i] : list[i].group;
        if (!nnamed && prefix && strncmp(name, prefix, strlen(prefix)) != 0)
            continue;
        json_t *gj = group_json(&k, name, nnamed > 0);
        if (gj)
            json_array_append_new(groups, gj);
    }
    json_object_set_new(kj, "ok", json_boolean(!k.unreachable));
    json_object_set_new(kj, "error",
                        k.unreachable ? json_string("Kafka stopped answering") : json_null());
    ferry_groups_listings_free(list, nlist);
    for (size_t i = 0; i < k.nwm; i++) {
        free(k.wm[i].topic);
        free(k.wm[i].error);
    }
    free(k.wm);
    ferry_groups_destroy(k.g);
    return k.unreachable;
}
