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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "ferry/command.h"
#include "ferry/dlq.h"
#include "ferry/http.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/topics.h"
#include "retrain.h"

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

/* The URL to POST to: for Airflow BASE/api/v1/dags/DAG/dagRuns (the DAG id percent-encoded),
 * else --webhook-url itself. */
static void webhook_url(const ferry_opts_t *o, int airflow, ferry_buf_t *url)
{
    const char *base = ferry_opts_str(o, "webhook-url");
    if (!airflow) {
        ferry_buf_append_str(url, base);
        return;
    }
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    ferry_buf_append(url, base, n);
    ferry_buf_append_str(url, "/api/v1/dags/");
    for (const unsigned char *p = (const unsigned char *)ferry_opts_str(o, "dag-id"); *p; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            ferry_buf_append_byte(url, *p);
        else
            ferry_buf_appendf(url, "%%%02X", *p);
    ferry_buf_append_str(url, "/dagRuns");
}

/* Sets up everything but the consumer: the table name, the webhook client, PostgreSQL and the
 * table, the decoder and the DLQ producer. Returns FERRY_EXIT_OK or the exit status, the
 * reason said. */
static int open_outputs(dispatch_t *ds, ferry_cmd_t *cmd)
{
    const ferry_opts_t *o = cmd->o;
    ferry_err_t err;
    ferry_err_clear(&err);
    if (dispatch_set_table(ds, ferry_opts_str(o, "deliveries-table"), &err) != FERRY_OK) {
        fprintf(stderr, "ferry retrain dispatch: --deliveries-table: %s\n", err.msg);
        return FERRY_EXIT_USAGE;
    }
    ferry_buf_t url = FERRY_BUF_INIT;
    webhook_url(o, ds->airflow, &url);
    ferry_http_url_target(ferry_buf_cstr(&url), ds->target, sizeof ds->target);
    webhook_conf_t wc = {ferry_buf_cstr(&url), ferry_opts_str(o, "webhook-user"),
                         ferry_opts_str(o, "webhook-password"), ferry_opts_str(o, "webhook-token"),
                         ferry_opts_duration_ms(o, "webhook-timeout")};
    ds->hook = webhook_new(&wc, &err);
    ferry_buf_free(&url);
    if (!ds->hook) {
        ferry_error("%s", err.msg);
        return FERRY_EXIT_FAILED;
    }
    int rc = ferry_cmd_connect(cmd, "ferry retrain dispatch", NULL);
    if (rc >= 0)
        return rc;
    ds->pg = cmd->pg;
    if (dispatch_ensure_table(ds, &err) != FERRY_OK) {
        ferry_error("%s", err.msg);
        return FERRY_EXIT_FAILED;
    }
    if (!(ds->dec = ferry_decoder_from_opts(o, ferry_schema_get("RetrainRequested"), &err))) {
        ferry_error("%s", err.msg);
        return FERRY_EXIT_USAGE;
    }
    ds->dlq = ferry_producer_new(o, NULL, &err);
    char dlq[512];
    ferry_dlq_topic(ferry_opts_str(o, "topic"), dlq, sizeof dlq);
    if (!ds->dlq || ferry_kafka_require_topic(ferry_producer_rk(ds->dlq), dlq, &err) != FERRY_OK)
        return ferry_cmd_fail(&err);
    return FERRY_EXIT_OK;
}

/* Joins the group on --topic (read_committed). Returns FERRY_EXIT_OK or the exit status. */
static int open_consumer(dispatch_t *ds, const ferry_opts_t *o)
{
    /* A delivery may wait long on a webhook that is down: keep the group membership meanwhile
     * (heartbeats run in the background; -X max.poll.interval.ms=... overrides). */
    static const char *const cdefaults[] = {"max.poll.interval.ms", "86400000", NULL};
    ferry_consumer_conf_t cc = {0};
    cc.defaults = cdefaults;
    cc.read_committed = 1;
    const char *topics[] = {ferry_opts_str(o, "topic")};
    ferry_err_t err;
    ds->c = ferry_consumer_new(o, ferry_opts_str(o, "group"), topics, 1, &cc, &err);
    if (!ds->c)
        return ferry_cmd_fail(&err);
    return FERRY_EXIT_OK;
}

/* The poll loop: delivers each trigger, then stores and commits its offset; with --until-idle
 * ends once the group is caught up that long. Returns the exit status. */
static int run(dispatch_t *ds, int64_t idle_ms)
{
    int64_t idle_since = -1;
    while (ferry_lifecycle_running()) {
        ferry_err_t perr, err;
        ferry_err_clear(&perr);
        ferry_err_clear(&err);
        rd_kafka_message_t *m = ferry_consumer_poll(ds->c, 200, &perr);
        if (!m) {
            if (perr.status == FERRY_FATAL) {
                ferry_error("%s", perr.msg);
                return FERRY_EXIT_FAILED;
            }
            if (idle_ms >= 0 && ferry_consumer_caught_up(ds->c)) {
                if (idle_since < 0)
                    idle_since = ferry_clock_mono_ms();
                else if (ferry_clock_mono_ms() - idle_since >= idle_ms)
                    break;
            } else {
                idle_since = -1;
            }
            continue;
        }
        idle_since = -1;
        ferry_status st = dispatch_deliver(ds, m, &err);
        if (st == FERRY_OK) {
            if (ferry_consumer_store(ds->c, m, &err) != FERRY_OK ||
                ferry_consumer_commit(ds->c, &err) != FERRY_OK)
                ferry_warn("%s (the trigger is recorded; a restart skips it)", err.msg);
        }
        rd_kafka_message_destroy(m);
        if (st != FERRY_OK) {
            if (ferry_lifecycle_running()) {
                ferry_error("%s", err.msg);
                return FERRY_EXIT_FAILED;
            }
            /* a stop the core requested after a failure it logged (PostgreSQL refusing the
             * reconnection for good), not a signal: exit 3, as dualwrite and backfill do */
            return ferry_lifecycle_stop_signal() ? FERRY_EXIT_OK : FERRY_EXIT_UNAVAILABLE;
        }
    }
    return FERRY_EXIT_OK;
}

int retrain_dispatch_main(int argc, char **argv)
{
    ferry_opts_t *opts = ferry_opts_new(
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
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(&cmd, opts, argc, argv);
    if (rc >= 0)
        return rc;
    const ferry_opts_t *o = cmd.o;
    dispatch_t ds;
    memset(&ds, 0, sizeof ds);
    ds.o = o;
    const char *kind = ferry_opts_str(o, "webhook-kind");
    if (strcmp(kind, "airflow") != 0 && strcmp(kind, "generic") != 0)
        return ferry_cmd_end(&cmd,
                             ferry_cmd_usage(&cmd, "--webhook-kind must be airflow or generic"));
    ds.airflow = strcmp(kind, "airflow") == 0;
    ds.max_attempts = ferry_opts_int(o, "max-attempts");
    ds.retry_initial_ms = ferry_opts_duration_ms(o, "retry-initial");
    ds.retry_max_ms = ferry_opts_duration_ms(o, "retry-max");
    if (ds.retry_initial_ms < 1)
        ds.retry_initial_ms = 1;
    if (ds.retry_max_ms < ds.retry_initial_ms)
        ds.retry_max_ms = ds.retry_initial_ms;
    ds.trigger_group = ferry_opts_str(o, "trigger-group");
    if ((rc = open_outputs(&ds, &cmd)) == FERRY_EXIT_OK &&
        (rc = open_consumer(&ds, o)) == FERRY_EXIT_OK) {
        ferry_info("delivering %s (group %s) to %s (%s)", ferry_opts_str(o, "topic"),
                   ferry_opts_str(o, "group"), ds.target, kind);
        rc = run(&ds,
                 ferry_opts_is_set(o, "until-idle") ? ferry_opts_duration_ms(o, "until-idle") : -1);
        ferry_info("done: %llu delivered, %llu already recorded, %llu failed, %llu dead-lettered, "
                   "%llu of other groups skipped",
                   (unsigned long long)ds.delivered, (unsigned long long)ds.already,
                   (unsigned long long)ds.failed, (unsigned long long)ds.dead,
                   (unsigned long long)ds.skipped);
    }
    if (ds.c) {
        ferry_err_t cerr;
        ferry_consumer_close(ds.c, &cerr);
    }
    ferry_producer_destroy(ds.dlq);
    ferry_decoder_free(ds.dec);
    webhook_destroy(ds.hook);
    free(ds.table);
    free(ds.schema);
    if (rc == FERRY_EXIT_OK && ferry_lifecycle_stop_signal() && ferry_opts_is_set(o, "until-idle"))
        rc = 128 + ferry_lifecycle_stop_signal();
    return ferry_cmd_end(&cmd, rc);
}
