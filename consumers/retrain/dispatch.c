/* dispatch.c - `ferry retrain dispatch`: consumes RetrainRequested events (read_committed,
 * in its own consumer group) and delivers each to a webhook: Airflow 2's REST API
 * (POST {base}/api/v1/dags/{dag_id}/dagRuns, dag_run_id = the trigger id) or a generic
 * JSON POST. Retries with capped exponential backoff (and Retry-After); Airflow's 409 "run
 * exists" counts as delivered. Every attempt's outcome is recorded in a PostgreSQL table
 * (trigger_id primary key) BEFORE the offset is committed, so a restarted dispatcher skips
 * what was delivered, and a re-delivery after a crash between the POST and the record is
 * harmless: Airflow answers 409 for the same dag_run_id. A trigger that fails permanently
 * (a 4xx other than 408/409/425/429, or --max-attempts reached) is recorded as failed and
 * dead-lettered to TOPIC.dlq; undecodable records are dead-lettered too. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/command.h"
#include "ferry/avro.h"
#include "ferry/decoder.h"
#include "ferry/dlq.h"
#include "ferry/kafka.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/options.h"
#include "ferry/pg.h"
#include "ferry/topics.h"
#include "policy.h"
#include "retrain.h"
#include "webhook.h"

static const ferry_opt_t dispatch_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    {"pg", 0, FERRY_OPT_STRING, NULL, "CONNINFO",
     "PostgreSQL connection string or URI (libpq); a password in it is never printed",
     FERRY_OPTF_SECRET | FERRY_OPTF_REQUIRED},
    FERRY_OPT_GROUP("ferry-retrain-dispatch"),
    FERRY_OPT_TOPIC(FERRY_TOPIC_RETRAIN),
    {"webhook-url", 0, FERRY_OPT_STRING, NULL, "URL",
     "airflow: the Airflow base URL (e.g. http://airflow:8080); generic: the URL to POST to",
     FERRY_OPTF_REQUIRED},
    {"webhook-kind", 0, FERRY_OPT_STRING, "airflow", "KIND",
     "airflow (POST BASE/api/v1/dags/DAG/dagRuns) or generic (POST the trigger as JSON)", 0},
    {"dag-id", 0, FERRY_OPT_STRING, "ferry_retrain", "DAG", "Airflow DAG to trigger", 0},
    {"webhook-user", 0, FERRY_OPT_STRING, NULL, "USER", "basic auth user", 0},
    {"webhook-password", 0, FERRY_OPT_STRING, NULL, "PASSWORD", "basic auth password",
     FERRY_OPTF_SECRET},
    {"webhook-token", 0, FERRY_OPT_STRING, NULL, "TOKEN",
     "bearer token (Authorization: Bearer), instead of basic auth", FERRY_OPTF_SECRET},
    {"webhook-timeout", 0, FERRY_OPT_DURATION, "10s", "DURATION", "timeout of one request", 0},
    {"max-attempts", 0, FERRY_OPT_INT, "0", "N",
     "give a trigger up (recorded failed, dead-lettered) after N failed attempts (0: never)", 0},
    {"retry-initial", 0, FERRY_OPT_DURATION, "500ms", "DURATION", "first wait between attempts", 0},
    {"retry-max", 0, FERRY_OPT_DURATION, "60s", "DURATION", "longest wait between attempts", 0},
    {"deliveries-table", 0, FERRY_OPT_STRING, "ferry.retrain_deliveries", "TABLE",
     "table recording each trigger's delivery (created when missing; may be schema.table)", 0},
    {"trigger-group", 0, FERRY_OPT_STRING, NULL, "GROUP",
     "deliver only the triggers of this retrain worker group (default: all)", 0},
    {"until-idle", 0, FERRY_OPT_DURATION, NULL, "DURATION",
     "exit once every assigned partition has been at its end for this long", 0},
    FERRY_OPT_SCHEMA_REGISTRY,
    FERRY_OPT_SCHEMAS_DIR,
    FERRY_OPT_END,
};

typedef struct ds {
    const ferry_opts_t *o;
    ferry_consumer_t *c;
    ferry_producer_t *dlq;
    ferry_decoder_t *dec; /* RetrainRequested in any framing */
    ferry_pg_t *pg;
    webhook_t *hook;
    int airflow;
    char target[1024]; /* redacted URL, for logs and the table */
    char *table;       /* quoted, possibly qualified */
    char *schema;      /* quoted schema of the table, or NULL */
    const char *trigger_group;
    int64_t max_attempts, retry_initial_ms, retry_max_ms;
    uint64_t delivered, already, failed, skipped, dead;
} ds_t;

/* ---- the deliveries table --------------------------------------------------------------- */

/* The deliveries table, an SQL name as psql takes it (schema.table, "Quoted"). */
static ferry_status set_table(ds_t *ds, const char *name, ferry_err_t *err)
{
    char *sch = NULL, *tab = NULL;
    ferry_status st = ferry_pg_parse_qualified(name, &sch, &tab, err);
    if (st)
        return st;
    ferry_buf_t b = FERRY_BUF_INIT;
    if (sch) {
        ds->schema = ferry_pg_quote_ident(sch);
        ferry_pg_append_ident(&b, sch);
        ferry_buf_append_byte(&b, '.');
    }
    ferry_pg_append_ident(&b, tab);
    free(sch);
    free(tab);
    ferry_buf_cstr(&b);
    ds->table = (char *)b.data;
    return FERRY_OK;
}

static ferry_status ensure_table(ds_t *ds, ferry_err_t *err)
{
    ferry_buf_t q = FERRY_BUF_INIT;
    ferry_buf_append_str(&q, "BEGIN; SELECT pg_advisory_xact_lock(hashtext('ferry.retrain.ddl'));");
    if (ds->schema)
        ferry_buf_appendf(&q, "CREATE SCHEMA IF NOT EXISTS %s;", ds->schema);
    ferry_buf_appendf(&q,
                      "CREATE TABLE IF NOT EXISTS %s ("
                      " trigger_id text PRIMARY KEY,"
                      " status text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),"
                      " attempts integer NOT NULL,"
                      " http_status integer,"
                      " delivered_at timestamptz,"
                      " last_error text,"
                      " target text NOT NULL,"
                      " retrain_group text,"
                      " source_topic text NOT NULL,"
                      " source_partition integer NOT NULL,"
                      " source_offset bigint NOT NULL,"
                      " first_attempt_at timestamptz NOT NULL DEFAULT now(),"
                      " updated_at timestamptz NOT NULL DEFAULT now());"
                      "COMMIT;",
                      ds->table);
    ferry_status st = ferry_pg_exec(ds->pg, ferry_buf_cstr(&q), err);
    ferry_buf_free(&q);
    if (st != FERRY_OK)
        ferry_pg_exec(ds->pg, "ROLLBACK", NULL);
    return st;
}

/* Runs a statement, reconnecting and retrying while PostgreSQL is unreachable. Returns the
 * result (caller PQclear()s) or NULL with *err (not retriable, or a stop was requested). */
static PGresult *pg_run(ds_t *ds, const char *sql, int n, const char *const *params,
                        ferry_err_t *err)
{
    for (int attempt = 0;; attempt++) {
        PGresult *res = ferry_pg_query(ds->pg, sql, n, params, err);
        if (res || err->status != FERRY_RETRY)
            return res;
        ferry_warn("%s; retrying", err->msg);
        if (ferry_sleep_ms(attempt < 6 ? 200 << attempt : 10000) != 0)
            return NULL;
        if (!ferry_pg_ok(ds->pg))
            ferry_pg_reconnect(ds->pg, NULL);
    }
}

/* The recorded status of a trigger ("" when none) and its attempts so far. */
static ferry_status lookup(ds_t *ds, const char *id, char *status, size_t statussz,
                           int64_t *attempts, ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_appendf(&sql, "SELECT status, attempts FROM %s WHERE trigger_id = $1", ds->table);
    const char *params[] = {id};
    PGresult *res = pg_run(ds, ferry_buf_cstr(&sql), 1, params, err);
    ferry_buf_free(&sql);
    if (!res)
        return err->status ? err->status : FERRY_RETRY;
    status[0] = '\0';
    *attempts = 0;
    if (PQntuples(res) == 1) {
        snprintf(status, statussz, "%s", PQgetvalue(res, 0, 0));
        *attempts = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return FERRY_OK;
}

static ferry_status record(ds_t *ds, const char *id, const char *group, const rd_kafka_message_t *m,
                           const char *status, int64_t attempts, long http_status,
                           const char *error, ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_appendf(
        &sql,
        "INSERT INTO %s AS d (trigger_id, status, attempts, http_status, delivered_at, "
        "last_error, target, retrain_group, source_topic, source_partition, source_offset) "
        "VALUES ($1, $2, $3, $4, CASE WHEN $2 = 'delivered' THEN now() END, $5, $6, $7, $8, "
        "$9, $10) ON CONFLICT (trigger_id) DO UPDATE SET status = EXCLUDED.status, attempts "
        "= EXCLUDED.attempts, http_status = EXCLUDED.http_status, delivered_at = "
        "COALESCE(d.delivered_at, EXCLUDED.delivered_at), last_error = EXCLUDED.last_error, "
        "target = EXCLUDED.target, updated_at = now()",
        ds->table);
    char att[24], http[16], part[16], off[24];
    snprintf(att, sizeof att, "%lld", (long long)attempts);
    snprintf(http, sizeof http, "%ld", http_status);
    snprintf(part, sizeof part, "%d", (int)m->partition);
    snprintf(off, sizeof off, "%lld", (long long)m->offset);
    const char *params[] = {id,
                            status,
                            att,
                            http_status > 0 ? http : NULL,
                            error && *error ? error : NULL,
                            ds->target,
                            group && *group ? group : NULL,
                            rd_kafka_topic_name(m->rkt),
                            part,
                            off};
    PGresult *res = pg_run(ds, ferry_buf_cstr(&sql), 10, params, err);
    ferry_buf_free(&sql);
    if (!res)
        return err->status ? err->status : FERRY_RETRY;
    PQclear(res);
    return FERRY_OK;
}

/* ---- one trigger ------------------------------------------------------------------------ */

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
static char *build_body(ds_t *ds, json_t *trigger)
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

static outcome_t classify(const ds_t *ds, const webhook_reply_t *r)
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

/* Delivers one trigger. Returns FERRY_OK when it is settled (delivered, failed and
 * dead-lettered, or skipped): its offset may be committed. FERRY_RETRY when a stop was
 * requested before it was settled; FERRY_FATAL on a PostgreSQL or Kafka failure. */
static ferry_status deliver(ds_t *ds, const rd_kafka_message_t *m, ferry_err_t *err)
{
    ferry_err_t derr;
    avro_value_t value; /* borrowed from the decoder */
    ferry_framing framing = FERRY_FRAMING_NONE;
    int dst = m->payload ? ferry_decoder_value_wait(ds->dec, m->payload, m->len, &value, &framing,
                                                    rd_kafka_topic_name(m->rkt), &derr)
                         : FERRY_POISON;
    if (dst == FERRY_RETRY || dst == FERRY_FATAL) {
        if (err)
            *err = derr;
        return (ferry_status)dst;
    }
    json_t *trigger = dst == FERRY_OK ? ferry_avro_to_json_err(&value, &derr) : NULL;
    if (!trigger) {
        const ferry_schema_t *w = ferry_decoder_last_writer(ds->dec);
        int other = w && strcmp(ferry_schema_name(w), "RetrainRequested") != 0;
        char why[1200];
        if (!m->payload)
            snprintf(why, sizeof why, "empty record value");
        else if (other)
            snprintf(why, sizeof why, "not a RetrainRequested record: %s",
                     ferry_schema_fullname(w));
        else
            snprintf(why, sizeof why, "%s: %s", ferry_framing_name(framing), derr.msg);
        ferry_warn("%s[%d]@%lld: %s: dead-lettered", rd_kafka_topic_name(m->rkt), m->partition,
                   (long long)m->offset, why);
        ds->dead++;
        ferry_status st = ferry_dlq_send(ds->dlq, m, FERRY_POISON,
                                         other ? "wrong_schema" : "undecodable", why, err);
        return st == FERRY_OK ? ferry_producer_flush(ds->dlq, 30000, err) : st;
    }
    /* The worker group, from the state header (absent for triggers from elsewhere). */
    char group[512] = "";
    rd_kafka_headers_t *hdrs = NULL;
    const void *hv = NULL;
    size_t hlen = 0;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(hdrs, "ferry.retrain.state", &hv, &hlen) ==
            RD_KAFKA_RESP_ERR_NO_ERROR) {
        char topic[512];
        int64_t seq;
        retrain_summary_t w;
        retrain_state_parse(hv, hlen, group, sizeof group, topic, sizeof topic, &seq, &w);
    }
    char id[256];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(trigger, "trigger_id")));
    if (ds->trigger_group && strcmp(group, ds->trigger_group) != 0) {
        ds->skipped++;
        json_decref(trigger);
        return FERRY_OK;
    }
    char status[32];
    int64_t attempts = 0;
    ferry_status st = lookup(ds, id, status, sizeof status, &attempts, err);
    if (st != FERRY_OK) {
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
    char idem[300];
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", id);
    const char *headers[] = {idem, NULL};
    int64_t wait = ds->retry_initial_ms;
    st = FERRY_RETRY;
    while (ferry_running()) {
        webhook_reply_t reply;
        ferry_buf_t resp = FERRY_BUF_INIT;
        webhook_post(ds->hook, body, strlen(body), headers, &reply, &resp);
        attempts++;
        outcome_t out = classify(ds, &reply);
        char error[300] = "";
        if (reply.status == 0)
            snprintf(error, sizeof error, "%s", reply.error);
        else if (out != OUT_DELIVERED || reply.status == 409)
            snprintf(error, sizeof error, "HTTP %ld: %.200s", reply.status,
                     resp.len ? ferry_buf_cstr(&resp) : "");
        one_line(error);
        ferry_buf_free(&resp);
        int give_up = out == OUT_PERMANENT ||
                      (out == OUT_RETRY && ds->max_attempts > 0 && attempts >= ds->max_attempts);
        const char *rec = out == OUT_DELIVERED ? "delivered" : give_up ? "failed" : "pending";
        if ((st = record(ds, id, group, m, rec, attempts, reply.status,
                         out == OUT_DELIVERED && reply.status != 409 ? NULL : error, err)) !=
            FERRY_OK)
            break;
        if (out == OUT_DELIVERED) {
            ferry_info("trigger %s delivered to %s (HTTP %ld%s, attempt %lld)", id, ds->target,
                       reply.status, reply.status == 409 ? ": it existed already" : "",
                       (long long)attempts);
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
        int64_t w = reply.retry_after_ms >= 0 ? reply.retry_after_ms : wait;
        if (w > ds->retry_max_ms)
            w = ds->retry_max_ms;
        ferry_warn("trigger %s: attempt %lld to %s failed (%s); retrying in %lld ms", id,
                   (long long)attempts, ds->target, error, (long long)w);
        st = FERRY_RETRY;
        if (ferry_sleep_ms(w) != 0)
            break;
        wait = wait * 2 > ds->retry_max_ms ? ds->retry_max_ms : wait * 2;
    }
    free(body);
    return st;
}

/* ---- the command ------------------------------------------------------------------------ */

int retrain_dispatch(int argc, char **argv)
{
    ferry_opts_t *o = ferry_opts_new(
        argv[0], "--pg CONNINFO --webhook-url URL [options]",
        "Delivers RetrainRequested events (read_committed, in its own consumer group) to a "
        "webhook: Airflow 2's REST API (POST URL/api/v1/dags/DAG/dagRuns with dag_run_id = the "
        "trigger id, logical_date = its creation time, conf = the trigger) or any JSON endpoint "
        "(--webhook-kind generic: the trigger as the body, Idempotency-Key: the trigger id). "
        "Retries transport errors, 408, 425, 429 and 5xx with capped backoff; Airflow's 409 "
        "(run exists) counts as delivered. Each trigger's outcome is recorded in "
        "--deliveries-table before its offset is committed, so a restart never delivers a "
        "recorded trigger again. Credentials (--webhook-password, --webhook-token, also as "
        "FILE options) are never logged.",
        dispatch_opts);
    int rc;
    if (!ferry_opts_parse_or_exit_code(o, argc, argv, &rc)) {
        ferry_opts_destroy(o);
        return rc;
    }
    ds_t ds;
    memset(&ds, 0, sizeof ds);
    ds.o = o;
    const char *kind = ferry_opts_str(o, "webhook-kind");
    if (strcmp(kind, "airflow") != 0 && strcmp(kind, "generic") != 0) {
        fprintf(stderr, "%s: --webhook-kind must be airflow or generic\n", argv[0]);
        ferry_opts_destroy(o);
        return FERRY_EXIT_USAGE;
    }
    ds.airflow = strcmp(kind, "airflow") == 0;
    ds.max_attempts = ferry_opts_int(o, "max-attempts");
    ds.retry_initial_ms = ferry_opts_duration_ms(o, "retry-initial");
    ds.retry_max_ms = ferry_opts_duration_ms(o, "retry-max");
    if (ds.retry_initial_ms < 1)
        ds.retry_initial_ms = 1;
    if (ds.retry_max_ms < ds.retry_initial_ms)
        ds.retry_max_ms = ds.retry_initial_ms;
    ds.trigger_group = ferry_opts_str(o, "trigger-group");
    const char *base = ferry_opts_str(o, "webhook-url");
    ferry_buf_t url = FERRY_BUF_INIT;
    if (ds.airflow) {
        size_t n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
            n--;
        ferry_buf_append(&url, base, n);
        ferry_buf_append_str(&url, "/api/v1/dags/");
        for (const unsigned char *p = (const unsigned char *)ferry_opts_str(o, "dag-id"); *p; p++)
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                *p == '-' || *p == '_' || *p == '.' || *p == '~')
                ferry_buf_append_byte(&url, *p);
            else
                ferry_buf_appendf(&url, "%%%02X", *p);
        ferry_buf_append_str(&url, "/dagRuns");
    } else {
        ferry_buf_append_str(&url, base);
    }
    webhook_redact_url(ferry_buf_cstr(&url), ds.target, sizeof ds.target);
    webhook_conf_t wc = {ferry_buf_cstr(&url), ferry_opts_str(o, "webhook-user"),
                         ferry_opts_str(o, "webhook-password"), ferry_opts_str(o, "webhook-token"),
                         ferry_opts_duration_ms(o, "webhook-timeout")};
    ferry_err_t err;
    ferry_err_clear(&err);
    rc = FERRY_EXIT_OK;
    if (set_table(&ds, ferry_opts_str(o, "deliveries-table"), &err) != FERRY_OK) {
        fprintf(stderr, "ferry retrain dispatch: --deliveries-table: %s\n", err.msg);
        rc = FERRY_EXIT_USAGE;
        ferry_buf_free(&url);
        goto out;
    }
    ds.hook = webhook_new(&wc, &err);
    ferry_buf_free(&url);
    if (!ds.hook) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_FAILED;
        goto out;
    }
    ds.pg = ferry_pg_connect(ferry_opts_str(o, "pg"), "ferry retrain dispatch", NULL, &err);
    if (!ds.pg) {
        ferry_error("%s", err.msg);
        rc = err.status == FERRY_FATAL ? FERRY_EXIT_FAILED : FERRY_EXIT_UNAVAILABLE;
        goto out;
    }
    if (ensure_table(&ds, &err) != FERRY_OK) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_FAILED;
        goto out;
    }
    if (!(ds.dec = ferry_decoder_from_opts(o, ferry_schema_get("RetrainRequested"), &err))) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_USAGE;
        goto out;
    }
    ds.dlq = ferry_producer_new(o, NULL, &err);
    char dlq[512];
    ferry_dlq_topic(ferry_opts_str(o, "topic"), dlq, sizeof dlq);
    if (!ds.dlq || retrain_require_topic(ferry_producer_rk(ds.dlq), dlq, &err) != FERRY_OK) {
        ferry_error("%s", err.msg);
        rc = err.status == FERRY_USAGE ? FERRY_EXIT_USAGE : FERRY_EXIT_FAILED;
        goto out;
    }
    /* A delivery may wait long on a webhook that is down: keep the group membership meanwhile
     * (heartbeats run in the background; -X max.poll.interval.ms=... overrides). */
    static const char *const cdefaults[] = {"max.poll.interval.ms", "86400000", NULL};
    ferry_consumer_conf_t cc = {0};
    cc.defaults = cdefaults;
    cc.read_committed = 1;
    const char *topics[] = {ferry_opts_str(o, "topic")};
    ds.c = ferry_consumer_new(o, ferry_opts_str(o, "group"), topics, 1, &cc, &err);
    if (!ds.c) {
        ferry_error("%s", err.msg);
        rc = err.status == FERRY_USAGE ? FERRY_EXIT_USAGE : FERRY_EXIT_FAILED;
        goto out;
    }
    ferry_info("delivering %s (group %s) to %s (%s)", topics[0], ferry_opts_str(o, "group"),
               ds.target, kind);
    int64_t idle_ms =
        ferry_opts_is_set(o, "until-idle") ? ferry_opts_duration_ms(o, "until-idle") : -1;
    int64_t idle_since = -1;
    while (ferry_running()) {
        ferry_err_t perr;
        ferry_err_clear(&perr);
        rd_kafka_message_t *m = ferry_consumer_poll(ds.c, 200, &perr);
        if (!m) {
            if (perr.status == FERRY_FATAL) {
                ferry_error("%s", perr.msg);
                rc = FERRY_EXIT_FAILED;
                break;
            }
            if (idle_ms >= 0 && ferry_consumer_caught_up(ds.c)) {
                if (idle_since < 0)
                    idle_since = ferry_mono_ms();
                else if (ferry_mono_ms() - idle_since >= idle_ms)
                    break;
            } else {
                idle_since = -1;
            }
            continue;
        }
        idle_since = -1;
        ferry_status st = deliver(&ds, m, &err);
        if (st == FERRY_OK) {
            if (ferry_consumer_store(ds.c, m, &err) != FERRY_OK ||
                ferry_consumer_commit(ds.c, &err) != FERRY_OK)
                ferry_warn("%s (the trigger is recorded; a restart skips it)", err.msg);
        }
        rd_kafka_message_destroy(m);
        if (st != FERRY_OK) {
            if (ferry_running()) {
                ferry_error("%s", err.msg);
                rc = FERRY_EXIT_FAILED;
            }
            break;
        }
    }
    ferry_info("done: %llu delivered, %llu already recorded, %llu failed, %llu dead-lettered, "
               "%llu of other groups skipped",
               (unsigned long long)ds.delivered, (unsigned long long)ds.already,
               (unsigned long long)ds.failed, (unsigned long long)ds.dead,
               (unsigned long long)ds.skipped);
out:
    if (ds.c) {
        ferry_err_t cerr;
        ferry_consumer_close(ds.c, &cerr);
    }
    ferry_producer_destroy(ds.dlq);
    ferry_decoder_free(ds.dec);
    ferry_pg_close(ds.pg);
    webhook_destroy(ds.hook);
    free(ds.table);
    free(ds.schema);
    if (rc == FERRY_EXIT_OK && ferry_stop_signal() && ferry_opts_is_set(o, "until-idle"))
        rc = 128 + ferry_stop_signal();
    ferry_opts_destroy(o);
    return rc;
}
