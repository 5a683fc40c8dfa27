/* cmd_rollback.c - `ferry rollback --ship S [--since T]`: returns a ship to its state before
 * the migration (or before T): undoes cutover, deletes its wide rows (all, or from T),
 * forgets its backfill chunks that are affected, and with --since resets the dual-write
 * group's offsets to T so that realtime is replayed from there (idempotent writes make that
 * safe for every other ship on the same partitions). The narrow table is never touched.
 * Refused while the dual-write group has active members. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/command.h"
#include "ferry/groups.h"
#include "ferry/log.h"
#include "ferry/migration.h"
#include "ferry/options.h"
#include "ferry/pg.h"
#include "ferry/reset.h"
#include "ferry/timeparse.h"
#include "ferry/topics.h"
#include "plan.h"
#include "view.h"

static const ferry_opt_t rollback_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_PG,
    FERRY_OPT_GROUP("ferry-dualwrite"),
    FERRY_OPT_TOPIC(FERRY_TOPIC_TELEMETRY),
    {"ship", 's', FERRY_OPT_STRING, NULL, "SHIP", "the ship", FERRY_OPTF_REQUIRED},
    {"since", 0, FERRY_OPT_STRING, NULL, "TIME",
     "roll back only from this time on, and replay realtime from there", 0},
    FERRY_OPT_NARROW_TABLE,
    FERRY_OPT_NARROW_COLUMNS,
    FERRY_OPT_NARROW_TIME_ZONE,
    FERRY_OPT_WIDE_SCHEMA,
    FERRY_OPT_VIEW_SCHEMA,
    FERRY_OPT_END,
};

/* Refuses while the dual-write group has members: its workers would write the rows back.
 * Returns -1 when the rollback may go on (*g is then the caller's admin handle to free),
 * else the exit status (*g freed). */
static int refuse_if_active(const ferry_opts_t *o, const char *prog, const char *group,
                            ferry_groups_t **g)
{
    ferry_err_t err;
    ferry_groups_desc_t *desc = NULL;
    *g = ferry_groups_new(o, 30000, &err);
    if (!*g || ferry_groups_describe(*g, group, &desc, &err) != FERRY_OK) {
        ferry_error("cannot describe group %s: %s", group, err.msg);
        ferry_groups_destroy(*g);
        *g = NULL;
        return FERRY_EXIT_UNAVAILABLE;
    }
    if (ferry_groups_desc_active(desc)) {
        char members[512];
        fprintf(stderr,
                "%s: refused: dual-write group %s has active members (%s); stop them first "
                "(SIGTERM), then roll back and start them again\n",
                prog, group, ferry_groups_desc_members_str(desc, members, sizeof members));
        ferry_groups_desc_free(desc);
        ferry_groups_destroy(*g);
        *g = NULL;
        return FERRY_EXIT_FAILED;
    }
    ferry_groups_desc_free(desc);
    return -1;
}

/* Deletes the ship's wide rows from `sincep` on (every row: "-infinity") inside the open
 * transaction; *deleted counts them. */
static ferry_status delete_wide_rows(ferry_pg_t *pg, const char *wide_schema, PGresult *tables,
                                     const char *sincep, long long *deleted, ferry_err_t *err)
{
    for (int i = 0; i < PQntuples(tables); i++) {
        ferry_buf_t sql = FERRY_BUF_INIT;
        ferry_buf_append_str(&sql, "DELETE FROM ");
        ferry_pg_append_qualified(&sql, wide_schema, PQgetvalue(tables, i, 0));
        ferry_buf_append_str(&sql, " WHERE ts >= $1::timestamptz");
        const char *p3[] = {sincep};
        PGresult *res = ferry_pg_query(pg, ferry_buf_cstr(&sql), 1, p3, err);
        ferry_buf_free(&sql);
        if (!res)
            return err->status;
        *deleted += strtoll(PQcmdTuples(res), NULL, 10);
        PQclear(res);
    }
    return FERRY_OK;
}

/* Runs one statement of the rollback transaction whose result is not needed. */
static ferry_status exec_params(ferry_pg_t *pg, const char *sql, int n, const char *const *p,
                                ferry_err_t *err)
{
    PGresult *res = ferry_pg_query(pg, sql, n, p, err);
    if (!res)
        return err->status;
    PQclear(res);
    return FERRY_OK;
}

/* Step 3: the ship's wide rows, affected chunks and (without --since) its dual-write state,
 * with a rolled_back event, in one transaction. Returns 0 or an exit status (logged). */
static int rollback_rows(ferry_pg_t *pg, const ferry_opts_t *o, const char *ship, const char *since,
                         const char *sincep)
{
    ferry_err_t err;
    const char *p1[] = {ship};
    const char *p2[] = {ship, ferry_opts_str(o, "wide-schema")};
    PGresult *tables = ferry_pg_query(pg,
                                      "SELECT table_name FROM ferry.ship_tables WHERE ship_id = $1"
                                      " AND table_schema = $2",
                                      2, p2, &err);
    if (!tables || ferry_pg_exec(pg, "BEGIN", &err)) {
        ferry_error("%s", err.msg);
        if (tables)
            PQclear(tables);
        return FERRY_EXIT_FAILED;
    }
    long long deleted = 0;
    ferry_status st =
        delete_wide_rows(pg, ferry_opts_str(o, "wide-schema"), tables, sincep, &deleted, &err);
    PQclear(tables);
    const char *p4[] = {ship, sincep};
    if (!st)
        st = exec_params(pg,
                         "DELETE FROM ferry.backfill_chunks WHERE ship_id = $1"
                         " AND end_ts > $2::timestamptz",
                         2, p4, &err);
    /* Without --since the ship is back to legacy: the next dual-write records a new cutoff. */
    if (!st && !since)
        st = exec_params(pg, "DELETE FROM ferry.ship_state WHERE ship_id = $1", 1, p1, &err);
    if (!st) {
        char details[160];
        snprintf(details, sizeof details, "{\"since\": \"%s\", \"wide_rows_deleted\": %lld}",
                 sincep, deleted);
        st = ferry_migration_event(pg, ship, "rolled_back", details, &err);
    }
    if (!st)
        st = ferry_pg_exec(pg, "COMMIT", &err);
    if (st) {
        ferry_pg_exec(pg, "ROLLBACK", NULL);
        ferry_error("%s", err.msg);
        return FERRY_EXIT_FAILED;
    }
    printf("ship %s: %lld wide row(s) deleted%s%s\n", ship, deleted, since ? " from " : "",
           since ? sincep : "");
    return FERRY_EXIT_OK;
}

/* Step 4: the dual-write group replays realtime from since_us. Returns 0 or 1 (logged). */
static int replay_since(ferry_groups_t *g, const char *group, const char *topic, int64_t since_us)
{
    ferry_err_t err;
    ferry_reset_target_t t = {FERRY_RESET_TIME, since_us / 1000, NULL, NULL, 0};
    ferry_reset_plan_t *plan = NULL;
    int rc = FERRY_EXIT_OK;
    if (ferry_reset_group(g, group, topic, &t, 0, &plan, &err) != FERRY_OK) {
        ferry_error("offsets of %s not reset: %s", group, err.msg);
        rc = FERRY_EXIT_FAILED;
    } else {
        plan_print(plan, stdout);
    }
    ferry_reset_plan_free(plan);
    return rc;
}

int cmd_rollback(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(
            argv[0], "--ship SHIP [--since TIME] --pg CONNINFO [--group G --topic T]",
            "Undoes the migration of one ship (or its part from TIME on): the reader view goes "
            "back to the narrow table, the ship's wide rows are deleted (from TIME on), its "
            "backfill chunks are forgotten, and with --since the dual-write group replays "
            "realtime from TIME. The narrow table is never touched. Refused while the dual-write "
            "group has members.",
            rollback_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
    const char *ship = ferry_opts_str(o, "ship"), *since = ferry_opts_str(o, "since");
    const char *group = ferry_opts_str(o, "group"), *topic = ferry_opts_str(o, "topic");
    ferry_err_t err;
    int64_t since_us = 0;
    if (!ferry_opts_str(o, "pg"))
        return ferry_cmd_end(&cmd, ferry_cmd_usage(&cmd, "--pg is required (or FERRY_PG_URL)"));
    if (since && ferry_ts_parse(since, strlen(since), FERRY_TS_AUTO, &since_us, &err))
        return ferry_cmd_end(&cmd, ferry_cmd_usage(&cmd, "%s", err.msg));
    /* 1. refuse while the group runs: its workers would write the rows back */
    ferry_groups_t *g = NULL;
    if ((rc = refuse_if_active(o, argv[0], group, &g)) >= 0)
        return ferry_cmd_end(&cmd, rc);
    ferry_narrow_t src;
    memset(&src, 0, sizeof src);
    if ((rc = ferry_cmd_connect(&cmd, "ferry rollback", NULL)) >= 0)
        goto out;
    ferry_pg_t *pg = cmd.pg;
    rc = FERRY_EXIT_OK;
    if (ferry_migration_setup(pg, &err) ||
        ferry_narrow_open_opts(pg, &src, o, FERRY_NARROW_READ, &err)) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_FAILED;
        goto out;
    }
    /* 2. the reader view back to narrow (if there is one) */
    char cut[8] = "";
    const char *p1[] = {ship};
    ferry_pg_query_value(pg, "SELECT view_name FROM ferry.cutover WHERE ship_id = $1", 1, p1, cut,
                         sizeof cut, NULL);
    if (cut[0] && ship_view_create(pg, &src, ferry_opts_str(o, "wide-schema"),
                                   ferry_opts_str(o, "view-schema"), ship, 0, &err) != FERRY_OK) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_FAILED;
        goto out;
    }
    /* 3. wide rows, chunks and state, in one transaction */
    char sincep[48] = "-infinity";
    if (since)
        ferry_ts_format(since_us, sincep, sizeof sincep);
    if ((rc = rollback_rows(pg, o, ship, since, sincep)) != FERRY_EXIT_OK)
        goto out;
    /* 4. replay realtime from T */
    if (since)
        rc = replay_since(g, group, topic, since_us);
out:
    ferry_narrow_close(&src);
    ferry_groups_destroy(g);
    return ferry_cmd_end(&cmd, rc);
}
