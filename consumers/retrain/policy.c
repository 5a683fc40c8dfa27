/* policy.c - the retrain rules, trigger ids and trigger texts (see policy.h). */
#include "policy.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void retrain_window_add(retrain_window_t *w, double rating, double popularity)
{
    w->rows++;
    w->sum[RETRAIN_RATING] += rating;
    w->sumsq[RETRAIN_RATING] += rating * rating;
    w->sum[RETRAIN_POPULARITY] += popularity;
    w->sumsq[RETRAIN_POPULARITY] += popularity * popularity;
}

void retrain_window_summary(const retrain_window_t *w, retrain_summary_t *out)
{
    memset(out, 0, sizeof *out);
    out->rows = w->rows;
    if (w->rows <= 0)
        return;
    for (int i = 0; i < 2; i++) {
        double n = (double)w->rows;
        double mean = w->sum[i] / n;
        double var = w->sumsq[i] / n - mean * mean;
        out->mean[i] = mean;
        out->sd[i] = var > 0 ? sqrt(var) : 0.0;
    }
}

double retrain_drift_score(const retrain_window_t *w, const retrain_summary_t *ref, int metric)
{
    if (w->rows <= 0)
        return 0.0;
    double mean = w->sum[metric] / (double)w->rows;
    double diff = fabs(mean - ref->mean[metric]);
    if (ref->mean[metric] == 0.0)
        return diff == 0.0 ? 0.0 : INFINITY;
    return diff / fabs(ref->mean[metric]);
}

const char *retrain_policy_decide(const retrain_policy_t *p, const retrain_window_t *w,
                                  const retrain_last_t *last, int64_t now_us, int64_t since_us,
                                  double *drift_score, int *drift_evaluated)
{
    if (drift_evaluated)
        *drift_evaluated = 0;
    int drift_fires = 0;
    if (p->drift_threshold > 0 && last->have && last->window.rows > 0 &&
        w->rows >= (p->drift_min_rows > 0 ? p->drift_min_rows : 1)) {
        double score = retrain_drift_score(w, &last->window, p->drift_metric);
        if (drift_score)
            *drift_score = score;
        if (drift_evaluated)
            *drift_evaluated = 1;
        drift_fires = score > p->drift_threshold;
    }
    if (p->min_new_rows > 0 && w->rows >= p->min_new_rows)
        return "min_new_rows";
    if (drift_fires)
        return "drift";
    if (p->max_interval_ms > 0 && now_us - since_us >= p->max_interval_ms * 1000 &&
        w->rows >= p->min_rows_for_interval)
        return "max_interval";
    return NULL;
}

/* FNV-1a 64 over bytes, then a final splitmix64 mix for a well-spread value. */
static uint64_t fnv_add(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

void retrain_trigger_id(const char *group, const char *topic, int64_t seq, const retrain_tpo_t *wm,
                        size_t nwm, char *out, size_t outsz)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    h = fnv_add(h, group, strlen(group) + 1);
    h = fnv_add(h, topic, strlen(topic) + 1);
    for (size_t i = 0; i < nwm; i++) {
        char item[48];
        int n =
            snprintf(item, sizeof item, "%d:%lld;", (int)wm[i].partition, (long long)wm[i].offset);
        h = fnv_add(h, item, (size_t)n);
    }
    h = (h ^ (h >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    h = (h ^ (h >> 27)) * UINT64_C(0x94d049bb133111eb);
    h ^= h >> 31;
    snprintf(out, outsz, "retrain-%06lld-%016llx", (long long)seq, (unsigned long long)h);
}

static const char *metric_name(int metric)
{
    return metric == RETRAIN_POPULARITY ? "popularity" : "rating";
}

void retrain_policy_json(const retrain_policy_t *p, const char *group, const char *topic,
                         ferry_buf_t *out)
{
    json_t *j = json_object();
    json_object_set_new(j, "group", json_string(group));
    json_object_set_new(j, "topic", json_string(topic));
    json_object_set_new(j, "min_new_rows", json_integer(p->min_new_rows));
    json_object_set_new(j, "max_interval_ms", json_integer(p->max_interval_ms));
    json_object_set_new(j, "min_rows_for_interval", json_integer(p->min_rows_for_interval));
    if (p->drift_threshold > 0) {
        json_object_set_new(j, "drift_threshold", json_real(p->drift_threshold));
        json_object_set_new(j, "drift_metric", json_string(metric_name(p->drift_metric)));
        json_object_set_new(j, "drift_min_rows", json_integer(p->drift_min_rows));
    }
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    ferry_buf_append_str(out, s ? s : "{}");
    free(s);
    json_decref(j);
}

void retrain_state_json(const char *group, const char *topic, int64_t seq,
                        const retrain_summary_t *window, ferry_buf_t *out)
{
    json_t *j = json_pack(
        "{s:s, s:s, s:I, s:{s:I, s:f, s:f, s:f, s:f}}", "group", group, "topic", topic, "seq",
        (json_int_t)seq, "window", "rows", (json_int_t)window->rows, "rating_mean",
        window->mean[RETRAIN_RATING], "rating_sd", window->sd[RETRAIN_RATING], "popularity_mean",
        window->mean[RETRAIN_POPULARITY], "popularity_sd", window->sd[RETRAIN_POPULARITY]);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    ferry_buf_append_str(out, s ? s : "{}");
    free(s);
    json_decref(j);
}

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

int retrain_state_parse(const char *text, size_t len, char *group, size_t groupsz, char *topic,
                        size_t topicsz, int64_t *seq, retrain_summary_t *window)
{
    json_error_t jerr;
    json_t *j = json_loadb(text, len, 0, &jerr);
    const json_t *g = json_object_get(j, "group"), *t = json_object_get(j, "topic"),
                 *s = json_object_get(j, "seq"), *w = json_object_get(j, "window");
    if (!json_is_string(g) || !json_is_string(t) || !json_is_integer(s) || !json_is_object(w)) {
        json_decref(j);
        return -1;
    }
    snprintf(group, groupsz, "%s", json_string_value(g));
    snprintf(topic, topicsz, "%s", json_string_value(t));
    *seq = json_integer_value(s);
    memset(window, 0, sizeof *window);
    window->rows = json_integer_value(json_object_get(w, "rows"));
    window->mean[RETRAIN_RATING] = num(w, "rating_mean");
    window->sd[RETRAIN_RATING] = num(w, "rating_sd");
    window->mean[RETRAIN_POPULARITY] = num(w, "popularity_mean");
    window->sd[RETRAIN_POPULARITY] = num(w, "popularity_sd");
    json_decref(j);
    return 0;
}
