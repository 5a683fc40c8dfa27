/* progress.c - completed crawl pages as records of a compacted Kafka topic
 * (see progress.h). */
#include "progress.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/kafka.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"

void crawl_progress_encode(const crawl_progress_rec_t *rec, ferry_buf_t *key, ferry_buf_t *value)
{
    ferry_buf_appendf(key, "%s/%d", rec->job, rec->page);
    json_t *v = json_object();
    json_object_set_new(v, "job", json_string(rec->job));
    json_object_set_new(v, "page", json_integer(rec->page));
    json_object_set_new(v, "status", json_string("done"));
    json_object_set_new(v, "endpoint", json_string(rec->endpoint));
    json_object_set_new(v, "movies", json_integer(rec->movies));
    json_object_set_new(v, "details", json_boolean(rec->details));
    json_object_set_new(v, "total_pages",
                        rec->total_pages >= 0 ? json_integer(rec->total_pages) : json_null());
    json_object_set_new(v, "completed_at", json_integer(rec->completed_at_us));
    char *s = json_dumps(v, JSON_COMPACT);
    if (!s)
        abort();
    ferry_buf_append_str(value, s);
    free(s);
    json_decref(v);
}

int crawl_progress_key_page(const char *job, const void *key, size_t keylen)
{
    size_t jl = strlen(job);
    const char *k = key;
    if (!k || keylen < jl + 2 || memcmp(k, job, jl) != 0 || k[jl] != '/')
        return -1;
    long page = 0;
    for (size_t i = jl + 1; i < keylen; i++) {
        if (k[i] < '0' || k[i] > '9' || page > 100000)
            return -1;
        page = page * 10 + (k[i] - '0');
    }
    return page >= 1 ? (int)page : -1;
}

int crawl_progress_value_done(const void *value, size_t len)
{
    if (!value || len == 0)
        return 0;
    json_t *v = json_loadb(value, len, 0, NULL);
    int done = json_is_object(v) && json_string_value(json_object_get(v, "status")) &&
               strcmp(json_string_value(json_object_get(v, "status")), "done") == 0;
    json_decref(v);
    return done;
}

int64_t crawl_progress_value_total_pages(const void *value, size_t len)
{
    if (!value || len == 0)
        return -1;
    json_t *v = json_loadb(value, len, 0, NULL);
    const json_t *t = json_object_get(v, "total_pages");
    int64_t n = json_is_integer(t) ? json_integer_value(t) : -1;
    json_decref(v);
    return n;
}

ferry_status crawl_progress_load(const ferry_opts_t *o, const char *topic, const char *job,
                                 int first, int last, unsigned char *done, int *ndone,
                                 int64_t *total_pages, int64_t timeout_ms, ferry_err_t *err)
{
    *total_pages = -1;
    char group[128];
    snprintf(group, sizeof group, "ferry-crawl-progress-%d-%lld", (int)getpid(),
             (long long)ferry_clock_now_us());
    ferry_consumer_conf_t cc = {0};
    cc.offset_reset = "earliest";
    const char *topics[] = {topic};
    ferry_consumer_t *c = ferry_consumer_new(o, group, topics, 1, &cc, err);
    if (!c)
        return err ? err->status : FERRY_FATAL;
    ferry_status st = FERRY_OK;
    int64_t deadline = ferry_clock_mono_ms() + timeout_ms;
    uint64_t records = 0;
    for (;;) {
        ferry_err_t perr;
        ferry_err_clear(&perr);
        rd_kafka_message_t *m = ferry_consumer_poll(c, 100, &perr);
        if (perr.status != FERRY_OK) {
            st = ferry_err_set(err, perr.status, "reading %s: %s", topic, perr.msg);
            break;
        }
        if (m) {
            records++;
            int page = crawl_progress_key_page(job, m->key, m->key_len);
            if (page >= 1 && crawl_progress_value_done(m->payload, m->len)) {
                int64_t t = crawl_progress_value_total_pages(m->payload, m->len);
                if (t >= 0)
                    *total_pages = t;
            }
            if (page >= first && page <= last)
                done[page - first] = (unsigned char)crawl_progress_value_done(m->payload, m->len);
            rd_kafka_message_destroy(m);
            continue;
        }
        if (ferry_consumer_caught_up(c))
            break;
        if (!ferry_lifecycle_running()) {
            st = ferry_err_set(err, FERRY_RETRY, "stopped while reading %s", topic);
            break;
        }
        if (ferry_clock_mono_ms() > deadline) {
            st = ferry_err_set(err, FERRY_RETRY,
                               "could not read the progress topic %s within %lld ms (is Kafka "
                               "reachable?)",
                               topic, (long long)timeout_ms);
            break;
        }
    }
    ferry_err_t cerr;
    ferry_consumer_close(c, &cerr);
    int n = 0;
    for (int p = first; p <= last; p++)
        n += done[p - first] ? 1 : 0;
    *ndone = n;
    ferry_debug("progress: %llu record(s) in %s, %d page(s) of job '%s' done",
                (unsigned long long)records, topic, n, job);
    return st;
}
