/* cmd_status.c - `ferry status`: where the pipeline and the migration stand.
 *
 * Kafka: for each of ferry's consumer groups (every group whose name starts with
 * --group-prefix, or those given with --group), its state and members, and per partition
 * it has committed offsets for: committed offset, end offset, lag.
 * PostgreSQL (--pg): per ship, its migration state computed from ferry.ship_state,
 * ferry.backfill_chunks, ferry.verify_results, ferry.cutover and ferry.ship_events (each
 * read only if it exists) and the narrow table, with cutoff, chunk counts, progress, ETA
 * and the last verify result.
 *
 * The report is built once as a JSON document (the --json output, shape in
 * docs/control.md) by status_kafka.c and status_pg.c, and the human-readable tables are
 * rendered from it (status_print.c), so both always say the same thing. Exit 0 when everything
 * asked for could be read (missing tables are reported, not errors), 3 when Kafka or PostgreSQL
 * could not be reached, 1 when a query failed for another reason. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/command.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/migration.h"
#include "ferry/options.h"
#include "ferry/timeparse.h"
#include "status.h"

static const ferry_opt_t status_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_PG,
    {"group", 'g', FERRY_OPT_LIST, NULL, "GROUP",
     "consumer group to show (repeatable; default: every group named --group-prefix*)",
     FERRY_OPTF_NOENV},
    {"group-prefix", 0, FERRY_OPT_STRING, "ferry", "PREFIX",
     "without --group: show the groups whose name starts with this", 0},
    FERRY_OPT_NARROW_TABLE,
    FERRY_OPT_NARROW_COLUMNS,
    FERRY_OPT_NARROW_TIME_ZONE,
    {"legacy-scan", 0, FERRY_OPT_STRING, "auto", "MODE",
     "how legacy ships are found in the narrow table: auto (loose index scan when an index "
     "leads with the ship column, else skipped), full (GROUP BY over the whole table) or off",
     0},
    {"ship", 0, FERRY_OPT_LIST, NULL, "SHIP", "only this ship (repeatable)", FERRY_OPTF_NOENV},
    {"skip-kafka", 0, FERRY_OPT_BOOL, NULL, NULL, "do not look at Kafka", 0},
    {"json", 0, FERRY_OPT_BOOL, NULL, NULL, "print one JSON document (see docs/control.md)", 0},
    {"timeout", 0, FERRY_OPT_DURATION, "10s", "DURATION",
     "time limit of each Kafka request and of the PostgreSQL connection", 0},
    FERRY_OPT_END,
};

/* JSON helpers ---------------------------------------------------------------------------- */

json_t *status_ts_json(int64_t us)
{
    char buf[FERRY_TS_FORMAT_MAX];
    ferry_ts_format(us, buf, sizeof buf);
    return json_string(buf);
}

int64_t status_jint(const json_t *o, const char *key, int64_t def)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

const char *status_jstr(const json_t *o, const char *key, const char *def)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

int cmd_status(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(
            argv[0], "[--pg CONNINFO] [--group G ...] [--json] [options]",
            "Shows where ferry stands. Kafka: each of ferry's consumer groups (names starting with "
            "--group-prefix, or those given with --group) with its state, members and, per "
            "partition it has committed offsets for, the committed offset, end offset and lag. "
            "PostgreSQL (with --pg): each ship's migration state (legacy, dual_writing, "
            "backfilling, backfilled, verified, verify_failed, cut_over, rolled_back), cutoff, "
            "backfill chunks done/failed/total with progress and ETA, and its last verify result. "
            "Tables not created yet are reported, not errors. Exit 3 when Kafka or PostgreSQL "
            "cannot be reached, 1 when a query fails.",
            status_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
    const char *mode = ferry_opts_str(o, "legacy-scan");
    if (strcmp(mode, "auto") != 0 && strcmp(mode, "full") != 0 && strcmp(mode, "off") != 0) {
        fprintf(stderr, "%s: --legacy-scan must be auto, full or off\n", argv[0]);
        return ferry_cmd_end(&cmd, FERRY_EXIT_USAGE);
    }
    json_t *doc = json_object();
    json_object_set_new(doc, "version", json_integer(1));
    json_object_set_new(doc, "generated_at", status_ts_json(ferry_clock_now_us()));
    int krc = status_kafka(o, doc);
    krc = krc == FERRY_EXIT_USAGE ? krc : krc ? FERRY_EXIT_UNAVAILABLE : 0;
    int prc = status_pg(o, doc);
    rc = krc == FERRY_EXIT_USAGE                                          ? FERRY_EXIT_USAGE
         : krc == FERRY_EXIT_UNAVAILABLE || prc == FERRY_EXIT_UNAVAILABLE ? FERRY_EXIT_UNAVAILABLE
         : prc                                                            ? prc
                                                                          : FERRY_EXIT_OK;
    if (ferry_opts_bool(o, "json")) {
        char *s = json_dumps(doc, JSON_COMPACT);
        if (s)
            printf("%s\n", s);
        free(s);
    } else {
        status_print(doc, stdout);
    }
    fflush(stdout);
    const json_t *kj = json_object_get(doc, "kafka"), *pj = json_object_get(doc, "pg");
    if (json_is_false(json_object_get(kj, "ok")))
        ferry_error("Kafka: %s", status_jstr(kj, "error", "?"));
    if (json_is_false(json_object_get(pj, "ok")))
        ferry_error("PostgreSQL: %s", status_jstr(pj, "error", "?"));
    json_decref(doc);
    return ferry_cmd_end(&cmd, rc);
}
