/* deliveries.c - `ferry retrain dispatch`'s deliveries table: one row per trigger
 * (trigger_id primary key) with the outcome of its attempts, written BEFORE the offset is
 * committed (see dispatch.h). */
#include <stdio.h>
#include <stdlib.h>

#include "dispatch.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"

ferry_status dispatch_set_table(dispatch_t *ds, const char *name, ferry_err_t *err)
{
    char *sch = NULL, *tab = NULL;
    ferry_status st = ferry_pg_parse_qualified(name, &sch, &tab, err);
    if (st)
        return st;
    ds->schema = sch ? ferry_pg_quote_ident(sch) : NULL;
    ds->table = ferry_pg_quote_qualified(name);
    free(sch);
    free(tab);
    return FERRY_OK;
}

ferry_status dispatch_ensure_table(dispatch_t *ds, ferry_err_t *err)
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

/* Runs a statement, retrying while it fails with a retriable error (after a growing wait) and,
 * when the connection is gone, waiting for PostgreSQL to come back (ferry_pg_reconnect_wait).
 * Returns the result (caller PQclear()s) or NULL with *err: not retriable, refused for good
 * on reconnecting (logged, and a stop is requested), or a stop was requested. */
static PGresult *pg_run(dispatch_t *ds, const char *sql, int n, const char *const *params,
                        ferry_err_t *err)
{
    for (int attempt = 0;; attempt++) {
        PGresult *res = ferry_pg_query(ds->pg, sql, n, params, err);
        if (res || err->status != FERRY_RETRY)
            return res;
        ferry_warn("%s; retrying", err->msg);
        if (ferry_lifecycle_sleep_ms(attempt < 6 ? 200 << attempt : 10000) != 0)
            return NULL;
        if (!ferry_pg_ok(ds->pg) && ferry_pg_reconnect_wait(&ds->pg, 1, err) != FERRY_OK)
            return NULL;
    }
}

ferry_status dispatch_lookup(dispatch_t *ds, const char *id, char *status, size_t statussz,
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

ferry_status dispatch_record(dispatch_t *ds, const char *id, const char *group,
                             const rd_kafka_message_t *m, const char *status, int64_t attempts,
                             long http_status, const char *error, ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    /* clang-format off */
    ferry_buf_appendf(&sql,
        "INSERT INTO %s AS d (trigger_id, status, attempts, http_status, delivered_at, "
        "last_error, target, retrain_group, source_topic, source_partition, source_offset) "
        "VALUES ($1, $2, $3, $4, CASE WHEN $2 = 'delivered' THEN now() END, "
        "$5, $6, $7, $8, $9, $10) "
        "ON CONFLICT (trigger_id) DO UPDATE SET "
        "status = EXCLUDED.status, "
        "attempts = EXCLUDED.attempts, "
        "http_status = EXCLUDED.http_status, "
        "delivered_at = COALESCE(d.delivered_at, EXCLUDED.delivered_at), "
        "last_error = EXCLUDED.last_error, "
        "target = EXCLUDED.target, "
        "updated_at = now()",
        ds->table);
    /* clang-format on */
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
