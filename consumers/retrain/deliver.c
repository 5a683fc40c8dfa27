/* deliver.c - `ferry retrain dispatch`, one trigger: decoded (undecodable records are
 * dead-lettered), skipped when of another group or recorded as settled, turned into the
 * request (Airflow's dagRuns body, or the trigger itself), POSTed with capped exponential
 * backoff (and Retry-After) and every attempt recorded; a permanent failure is recorded
 * failed and dead-lettered (see dispatch.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "ferry/avro.h"
#include "ferry/dlq.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "trigger.h"

static void rfc3339_us(int64_t us, char *out, size_t outsz)
{
    time_t secs = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
    int64_t frac = us - (int64_t)secs * 1000000;
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outsz, "%s.%06lldZ", base, (long long)frac);
}

/* The request body: the trigger as natural JSON (its policy text parsed into an object),
 * wrapped for Airflow as {"dag_run_id", "logical_date", "conf"}. Returns a new string. */
static char *build_body(const dispatch_t *ds, json_t *trigger)
{
    json_t *policy = json_object_get(trigger, "policy");
    if (json_is_string(policy)) {
        json_t *parsed = json_loads(json_string_value(policy), 0, NULL);
        if (parsed)
            json_object_set_new(trigger, "policy", parsed);
    }
    json_t *body;
    if (ds->airflow) {
        char when[48];
        rfc3339_us(json_integer_value(json_object_get(trigger, "created_at")), when, sizeof when);
        body = json_pack("{s:O, s:s, s:O}", "dag_run_id", json_object_get(trigger, "trigger_id"),
                         "logical_date", when, "conf", trigger);
    } else {
        body = json_incref(trigger);
    }
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return s;
}

typedef enum outcome { OUT_DELIVERED, OUT_RETRY, OUT_PERMANENT } outcome_t;

static outcome_t classify(const dispatch_t *ds, const ferry_http_response_t *r)
{
    if (r->status == 0)
        return OUT_RETRY; /* transport error */
    if (r->status >= 200 && r->status < 300)
        return OUT_DELIVERED;
    if (ds->airflow && r->status == 409)
        return OUT_DELIVERED; /* the dag run exists: an earlier delivery got through */
    if (r->status == 408 || r->status == 425 || r->status == 429 || r->status >= 500)
        return OUT_RETRY;
    return OUT_PERMANENT;
}

static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r' || *s == '\t')
            *s = ' ';
}

/* Decodes m into the trigger as JSON (a new reference in *trigger). An undecodable record
 * (or one of another schema) is dead-lettered: FERRY_OK with *trigger NULL. FERRY_RETRY or
 * FERRY_FATAL when the decoder or the DLQ failed (or a stop came while waiting for the
 * registry). */
static ferry_status decode(dispatch_t *ds, const rd_kafka_message_t *m, json_t **trigger,
                           ferry_err_t *err)
{
    ferry_err_t derr;
    avro_value_t value; /* borrowed from the decoder */
    ferry_framing framing = FERRY_FRAMING_NONE;
    int dst = m->payload ? ferry_decoder_value_wait(ds->dec, m->payload, m->len, &value, &framing,
                                                    rd_kafka_topic_name(m->rkt), &derr)
                         : FERRY_POISON;
    *trigger = NULL;
    if (dst == FERRY_RETRY || dst == FERRY_FATAL) {
        if (err)
            *err = derr;
        return (ferry_status)dst;
    }
    if (dst == FERRY_OK && (*trigger = ferry_avro_to_json_err(&value, &derr)))
        return FERRY_OK;
    const ferry_schema_t *w = ferry_decoder_last_writer(ds->dec);
    int other = w && strcmp(ferry_schema_name(w), "RetrainRequested") != 0;
    char why[1200];
    if (!m->payload)
        snprintf(why, sizeof why, "empty record value");
    else if (other)
        snprintf(why, sizeof why, "not a RetrainRequested record: %s", ferry_schema_fullname(w));
    else
        snprintf(why, sizeof why, "%s: %s", ferry_framing_name(framing), derr.msg);
    ferry_warn("%s[%d]@%lld: %s: dead-lettered", rd_kafka_topic_name(m->rkt), m->partition,
               (long long)m->offset, why);
    ds->dead++;
    ferry_status st =
        ferry_dlq_send(ds->dlq, m, FERRY_POISON, other ? "wrong_schema" : "undecodable", why, err);
    return st == FERRY_OK ? ferry_producer_flush(ds->dlq, 30000, err) : st;
}

/* POSTs the body until the trigger is settled: delivered, or failed for good (recorded and
 * dead-lettered), recording every attempt; attempts counts those made before. FERRY_OK when
 * settled, FERRY_RETRY when a stop came first, or a failure to record or dead-letter. */
static ferry_status post_until_settled(dispatch_t *ds, const rd_kafka_message_t *m, const char *id,
                                       const char *group, const char *body, int64_t attempts,
                                       ferry_err_t *err)
{
    char idem[300];
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", id);
    const char *headers[] = {idem, NULL};
    int64_t wait = ds->retry_initial_ms;
    ferry_status st = FERRY_RETRY;
    while (ferry_lifecycle_running()) {
        ferry_http_response_t reply;
        webhook_post(ds->hook, body, strlen(body), headers, &reply);
        attempts++;
        outcome_t out = classify(ds, &reply);
        char error[300] = "";
        if (reply.status == 0)
            snprintf(error, sizeof error, "%s", reply.error);
        else if (out != OUT_DELIVERED || reply.status == 409)
            snprintf(error, sizeof error, "HTTP %ld: %.200s", reply.status,
                     reply.body.len ? ferry_buf_cstr(&reply.body) : "");
        one_line(error);
        long status = reply.status;
        int64_t retry_after_ms = reply.retry_after_ms;
        ferry_http_response_free(&reply);
        int give_up = out == OUT_PERMANENT ||
                      (out == OUT_RETRY && ds->max_attempts > 0 && attempts >= ds->max_attempts);
        const char *rec = out == OUT_DELIVERED ? "delivered" : give_up ? "failed" : "pending";
        if ((st = dispatch_record(ds, id, group, m, rec, attempts, status,
                                  out == OUT_DELIVERED && status != 409 ? NULL : error, err)) !=
            FERRY_OK)
            break;
        if (out == OUT_DELIVERED) {
            ferry_info("trigger %s delivered to %s (HTTP %ld%s, attempt %lld)", id, ds->target,
                       status, status == 409 ? ": it existed already" : "", (long long)attempts);
            ds->delivered++;
            break;
        }
        if (give_up) {
            ferry_error("trigger %s could not be delivered to %s: %s; recorded as failed and "
                        "dead-lettered",
                        id, ds->target, error);
            ds->failed++;
            st = ferry_dlq_send(ds->dlq, m, FERRY_FATAL, "delivery_failed", error, err);
            if (st == FERRY_OK)
                st = ferry_producer_flush(ds->dlq, 30000, err);
            break;
        }
        int64_t w = retry_after_ms >= 0 ? retry_after_ms : wait;
        if (w > ds->retry_max_ms)
            w = ds->retry_max_ms;
        ferry_warn("trigger %s: attempt %lld to %s failed (%s); retrying in %lld ms", id,
                   (long long)attempts, ds->target, error, (long long)w);
        st = FERRY_RETRY;
        if (ferry_lifecycle_sleep_ms(w) != 0)
            break;
        wait = wait * 2 > ds->retry_max_ms ? ds->retry_max_ms : wait * 2;
    }
    return st;
}

ferry_status dispatch_deliver(dispatch_t *ds, const rd_kafka_message_t *m, ferry_err_t *err)
{
    json_t *trigger;
    ferry_status st = decode(ds, m, &trigger, err);
    if (st != FERRY_OK || !trigger)
        return st;
    /* The worker group, from the state header (absent for triggers from elsewhere). */
    char group[512] = "", topic[512];
    int64_t seq;
    retrain_summary_t w;
    retrain_message_state(m, group, sizeof group, topic, sizeof topic, &seq, &w);
    char id[256];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(trigger, "trigger_id")));
    if (ds->trigger_group && strcmp(group, ds->trigger_group) != 0) {
        ds->skipped++;
        json_decref(trigger);
        return FERRY_OK;
    }
    char status[32];
    int64_t attempts = 0;
    if ((st = dispatch_lookup(ds, id, status, sizeof status, &attempts, err)) != FERRY_OK) {
        json_decref(trigger);
        return st;
    }
    if (strcmp(status, "delivered") == 0 || strcmp(status, "failed") == 0) {
        ferry_info("trigger %s was already %s; not delivering it again", id, status);
        ds->already++;
        json_decref(trigger);
        return FERRY_OK;
    }
    char *body = build_body(ds, trigger);
    json_decref(trigger);
    if (!body)
        return ferry_err_set(err, FERRY_FATAL, "cannot build the request for trigger %s", id);
    st = post_until_settled(ds, m, id, group, body, attempts, err);
    free(body);
    return st;
}
