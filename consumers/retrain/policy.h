/* policy.h - the retrain policy of `ferry retrain`, free of Kafka so it can be unit-tested:
 * the running window of feature rows since the last trigger, the rules that fire a trigger
 * (enough new rows; enough time with some rows; drift of a mean against the last training
 * window), the deterministic trigger id and the texts carried by a RetrainRequested event.
 * docs/movies.md describes the rules and how the state survives a crash. */
#ifndef FERRY_RETRAIN_POLICY_H
#define FERRY_RETRAIN_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/buf.h"

enum { RETRAIN_RATING = 0, RETRAIN_POPULARITY = 1 };

typedef struct retrain_policy {
    int64_t min_new_rows;          /* fire when the window holds this many rows; 0 = off */
    int64_t max_interval_ms;       /* fire when this long passed since the last trigger... */
    int64_t min_rows_for_interval; /* ...and the window holds at least this many rows */
    double drift_threshold;        /* fire when the drift score exceeds it; 0 = off */
    int drift_metric;              /* RETRAIN_RATING or RETRAIN_POPULARITY */
    int64_t drift_min_rows;        /* evaluate drift only on windows this large */
} retrain_policy_t;

/* Sums over the feature rows since the last trigger. Zero-initialise to start. */
typedef struct retrain_window {
    int64_t rows;
    double sum[2], sumsq[2]; /* indexed by RETRAIN_RATING / RETRAIN_POPULARITY */
} retrain_window_t;

/* Summary of one window as a trigger carries it (the drift reference of the next one). */
typedef struct retrain_summary {
    int64_t rows;
    double mean[2], sd[2];
} retrain_summary_t;

/* What the worker knows of the last trigger of its group (from Kafka after a restart). */
typedef struct retrain_last {
    int have;                 /* 0: no trigger yet */
    int64_t seq;              /* 1-based number of the trigger within the group */
    int64_t total_rows;       /* rows counted up to its watermark */
    int64_t created_at_us;    /* when it fired */
    retrain_summary_t window; /* its window: the drift reference */
} retrain_last_t;

/* One partition's watermark: every record below `offset` is counted. */
typedef struct retrain_tpo {
    int32_t partition;
    int64_t offset;
} retrain_tpo_t;

void retrain_window_add(retrain_window_t *w, double rating, double popularity);
void retrain_window_summary(const retrain_window_t *w, retrain_summary_t *out);

/* The drift score of the window against the reference: |mean - ref mean| / |ref mean|
 * (a relative change; when the reference mean is 0 the score is 0 for a zero mean and
 * +inf otherwise). */
double retrain_drift_score(const retrain_window_t *w, const retrain_summary_t *ref, int metric);

/* Decides whether to fire now. Returns NULL, or the reason: "min_new_rows", "drift" or
 * "max_interval" (checked in that order). `since_us` is the time of the last trigger, or
 * when counting started if there was none. *drift_score is set (and *drift_evaluated to 1)
 * whenever the drift rule could be evaluated; both pointers may be NULL. */
const char *retrain_policy_decide(const retrain_policy_t *p, const retrain_window_t *w,
                                  const retrain_last_t *last, int64_t now_us, int64_t since_us,
                                  double *drift_score, int *drift_evaluated);

/* The trigger id: "retrain-<seq, 6+ digits>-<16 hex digits>", the hex digits a 64-bit hash of
 * the group, the feature topic and the watermark (wm sorted by partition). The same
 * watermark and sequence number always give the same id. Only characters Airflow accepts in
 * a dag_run_id are used. */
void retrain_trigger_id(const char *group, const char *topic, int64_t seq, const retrain_tpo_t *wm,
                        size_t nwm, char *out, size_t outsz);

/* Appends the policy as a JSON object text (the RetrainRequested.policy field), naming the
 * group and feature topic it watches. */
void retrain_policy_json(const retrain_policy_t *p, const char *group, const char *topic,
                         ferry_buf_t *out);

/* Appends the state header value ("ferry.retrain.state") of a trigger: group, topic,
 * sequence number and window summary, as compact JSON. */
void retrain_state_json(const char *group, const char *topic, int64_t seq,
                        const retrain_summary_t *window, ferry_buf_t *out);

/* Parses a state header value. Returns 0 and fills the outputs (group/topic copied into
 * the given buffers), or -1 when it is not one. */
int retrain_state_parse(const char *text, size_t len, char *group, size_t groupsz, char *topic,
                        size_t topicsz, int64_t *seq, retrain_summary_t *window);

#endif
