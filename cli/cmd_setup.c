/* cmd_setup.c - `ferry setup`: creates ferry's Kafka topics (and their dead-letter
 * topics) through the admin API and ferry's PostgreSQL schema. Safe to run again:
 * what exists is left as it is. */
#include <stdio.h>
#include <stdlib.h>

#include "ferry/command.h"
#include "ferry/kafka.h"
#include "ferry/log.h"
#include "ferry/options.h"
#include "ferry/pg.h"
#include "ferry/topics.h"

static const ferry_opt_t setup_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_PG,
    {"partitions", 'p', FERRY_OPT_INT, "6", "N", "partitions of each data topic", 0},
    {"replication-factor", 'r', FERRY_OPT_INT, "-1", "N", "replication factor (-1: broker default)",
     0},
    {"topic", 't', FERRY_OPT_LIST, NULL, "TOPIC",
     "create only this topic and its .dlq topic (repeatable) instead of ferry's set",
     FERRY_OPTF_TOPIC_DLQ},
    {"skip-kafka", 0, FERRY_OPT_BOOL, NULL, NULL, "do not create topics", 0},
    {"skip-pg", 0, FERRY_OPT_BOOL, NULL, NULL, "do not touch PostgreSQL", 0},
    FERRY_OPT_END,
};

int cmd_setup(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(argv[0], "[options]",
                       "Creates ferry's topics (data topics with --partitions, their .dlq topics, "
                       "and the compacted crawl progress topic) and, when --pg is given, ferry's "
                       "PostgreSQL schema.",
                       setup_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
    ferry_err_t err;
    rc = FERRY_EXIT_OK;
    if (!ferry_opts_bool(o, "skip-kafka")) {
        int parts = (int)ferry_opts_int(o, "partitions");
        int rf = (int)ferry_opts_int(o, "replication-factor");
        static const char *const compacted[] = {"cleanup.policy", "compact", NULL};
        static const char *const data[] = {FERRY_TOPIC_TELEMETRY, FERRY_TOPIC_MOVIES,
                                           FERRY_TOPIC_FEATURES, FERRY_TOPIC_RETRAIN,
                                           FERRY_TOPIC_BACKFILL};
        const char *const *only;
        size_t nonly = ferry_opts_list(o, "topic", &only);
        const char *const *names = nonly ? only : data;
        size_t nnames = nonly ? nonly : sizeof data / sizeof *data;
        ferry_topic_spec_t *specs = calloc(2 * nnames + 1, sizeof *specs);
        char(*dlq)[256] = calloc(nnames, sizeof *dlq);
        size_t n = 0;
        for (size_t i = 0; i < nnames; i++) {
            specs[n++] = (ferry_topic_spec_t){names[i], parts, rf, NULL};
            snprintf(dlq[i], sizeof dlq[i], "%s.dlq", names[i]);
            specs[n++] = (ferry_topic_spec_t){dlq[i], 1, rf, NULL};
        }
        if (!nonly)
            specs[n++] = (ferry_topic_spec_t){FERRY_TOPIC_CRAWL_PROGRESS, 1, rf, compacted};
        ferry_status cst = ferry_kafka_create_topics(o, specs, n, &err);
        free(specs);
        free(dlq);
        if (cst != FERRY_OK)
            return ferry_cmd_end(&cmd, ferry_cmd_fail(&err));
        ferry_info("topics ready (%zu)", n);
    }
    if (!ferry_opts_bool(o, "skip-pg") && ferry_opts_str(o, "pg")) {
        if ((rc = ferry_cmd_connect(&cmd, "ferry setup", NULL)) >= 0)
            return ferry_cmd_end(&cmd, rc);
        rc = FERRY_EXIT_OK;
        if (ferry_pg_exec(cmd.pg, "CREATE SCHEMA IF NOT EXISTS " FERRY_PG_SCHEMA, &err) !=
            FERRY_OK) {
            ferry_error("%s", err.msg);
            rc = FERRY_EXIT_FAILED;
        } else {
            ferry_info("PostgreSQL schema " FERRY_PG_SCHEMA " ready");
        }
    }
    return ferry_cmd_end(&cmd, rc);
}
