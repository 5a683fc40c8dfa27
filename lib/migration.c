/* migration.c - migration state tables and the narrow source (see include/ferry/migration.h). */
#include "ferry/migration.h"
#include "ferry/timeparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ferry_status ferry_mig_setup(ferry_pg_t *pg, ferry_err_t *err)
{
    ferry_status st = ferry_pg_exec(
        pg,
        "BEGIN; SELECT pg_advisory_xact_lock(4242000003);"
        "CREATE SCHEMA IF NOT EXISTS ferry;"
        "CREATE TABLE IF NOT EXISTS ferry.backfill_chunks ("
        " chunk_id text PRIMARY KEY, ship_id text NOT NULL, start_ts timestamptz NOT NULL,"
        " end_ts timestamptz NOT NULL, status text NOT NULL DEFAULT 'planned',"
        " published boolean NOT NULL DEFAULT false, attempts int NOT NULL DEFAULT 0,"
        " rows_read bigint, cells_written bigint, rejected bigint, duration_ms bigint,"
        " worker text, last_error text, planned_at timestamptz NOT NULL DEFAULT now(),"
        " updated_at timestamptz NOT NULL DEFAULT now());"
        "CREATE INDEX IF NOT EXISTS backfill_chunks_ship ON ferry.backfill_chunks (ship_id);"
        "CREATE TABLE IF NOT EXISTS ferry.backfill_rejects ("
        " chunk_id text NOT NULL, ship_id text NOT NULL, channel_id text NOT NULL,"
        " ts timestamptz NOT NULL, value text, reason text NOT NULL,"
        " PRIMARY KEY (ship_id, channel_id, ts));"
        "CREATE TABLE IF NOT EXISTS ferry.verify_results ("
        " id bigserial PRIMARY KEY, ship_id text NOT NULL, from_ts timestamptz,"
        " to_ts timestamptz, ok boolean NOT NULL, windows int NOT NULL,"
        " mismatches bigint NOT NULL, details jsonb,"
        " verified_at timestamptz NOT NULL DEFAULT clock_timestamp());"
        "CREATE TABLE IF NOT EXISTS ferry.cutover ("
        " ship_id text PRIMARY KEY, view_schema text NOT NULL, view_name text NOT NULL,"
        " cut_over boolean NOT NULL DEFAULT false, updated_at timestamptz NOT NULL DEFAULT now());"
        "CREATE TABLE IF NOT EXISTS ferry.ship_events ("
        " id bigserial PRIMARY KEY, ship_id text NOT NULL, event text NOT NULL,"
        " at timestamptz NOT NULL DEFAULT clock_timestamp(), details jsonb);"
        "COMMIT",
        err);
    if (st)
        ferry_pg_exec(pg, "ROLLBACK", NULL);
    return st;
}

/* "n.<quoted>::<type>" */
static char *col_cast(const char *quoted, const char *type)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_buf_appendf(&b, "n.%s::%s", quoted, type);
    ferry_buf_cstr(&b);
    return (char *)b.data;
}

ferry_status ferry_narrow_src_init(ferry_pg_t *pg, ferry_narrow_src_t *src, const char *table,
                                   const char *spec, ferry_err_t *err)
{
    memset(src, 0, sizeof *src);
    src->table = ferry_pg_quote_qualified(table);
    if (!spec) {
        src->ship = strdup("\"ship_id\"");
        src->channel = strdup("\"channel_id\"");
        src->ts = strdup("\"ts\"");
        src->v_double = strdup("n.value_double");
        src->v_long = strdup("n.value_long");
        src->v_bool = strdup("n.value_bool");
        src->v_text = strdup("n.value_text");
        return FERRY_OK;
    }
    char *copy = strdup(spec), *save = NULL;
    const char *cs = NULL, *cc = NULL, *ct = NULL, *cv = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = '\0';
        if (!strcmp(tok, "ship"))
            cs = eq + 1;
        else if (!strcmp(tok, "channel"))
            cc = eq + 1;
        else if (!strcmp(tok, "time"))
            ct = eq + 1;
        else if (!strcmp(tok, "value"))
            cv = eq + 1;
    }
    ferry_status st = FERRY_OK;
    if (!cs || !cc || !ct || !cv) {
        st = ferry_err_set(err, FERRY_USAGE,
                           "--narrow-columns needs ship=, channel=, time= and value=");
        goto out;
    }
    src->ship = ferry_pg_quote_ident(cs);
    src->channel = ferry_pg_quote_ident(cc);
    src->ts = ferry_pg_quote_ident(ct);
    char type[128];
    const char *p[] = {table, cv};
    st = ferry_pg_query_value(pg,
                              "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
                              " WHERE a.attrelid = $1::regclass AND a.attname = $2",
                              2, p, type, sizeof type, err);
    if (st)
        goto out;
    char *qv = ferry_pg_quote_ident(cv);
    int numeric = strstr(type, "double") || strstr(type, "real") || strstr(type, "numeric") ||
                  strstr(type, "int");
    src->v_double = numeric ? col_cast(qv, "double precision") : strdup("NULL::double precision");
    src->v_long = strdup("NULL::bigint");
    src->v_bool = strdup("NULL::boolean");
    src->v_text = numeric ? strdup("NULL::text") : col_cast(qv, "text");
    free(qv);
out:
    free(copy);
    return st;
}

void ferry_narrow_src_free(ferry_narrow_src_t *src)
{
    free(src->table);
    free(src->ship);
    free(src->channel);
    free(src->ts);
    free(src->v_double);
    free(src->v_long);
    free(src->v_bool);
    free(src->v_text);
    memset(src, 0, sizeof *src);
}

void ferry_narrow_src_select(const ferry_narrow_src_t *src, ferry_buf_t *out)
{
    ferry_buf_appendf(out,
                      "SELECT n.%s AS ship_id, n.%s AS channel_id, n.%s AS ts, %s AS value_double,"
                      " %s AS value_long, %s AS value_bool, %s AS value_text FROM %s n",
                      src->ship, src->channel, src->ts, src->v_double, src->v_long, src->v_bool,
                      src->v_text, src->table);
}

ferry_status ferry_narrow_ships_or(ferry_pg_t *pg, const ferry_narrow_src_t *src,
                                   const char *const *only, size_t nonly, char ***ships, int *n,
                                   ferry_err_t *err)
{
    if (!nonly)
        return ferry_narrow_ships(pg, src, ships, n, err);
    *ships = calloc(nonly, sizeof **ships);
    if (!*ships)
        abort();
    for (size_t i = 0; i < nonly; i++)
        (*ships)[i] = strdup(only[i]);
    *n = (int)nonly;
    return FERRY_OK;
}

ferry_status ferry_narrow_ships(ferry_pg_t *pg, const ferry_narrow_src_t *src, char ***ships,
                                int *n, ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_appendf(&sql,
                      "WITH RECURSIVE s AS ((SELECT n.%s AS id FROM %s n ORDER BY 1 LIMIT 1)"
                      " UNION ALL SELECT (SELECT n.%s FROM %s n WHERE n.%s > s.id ORDER BY 1"
                      " LIMIT 1) FROM s WHERE s.id IS NOT NULL)"
                      " SELECT id FROM s WHERE id IS NOT NULL",
                      src->ship, src->table, src->ship, src->table, src->ship);
    PGresult *res = ferry_pg_query(pg, ferry_buf_cstr(&sql), 0, NULL, err);
    ferry_buf_free(&sql);
    if (!res)
        return err->status;
    *n = PQntuples(res);
    *ships = calloc((size_t)(*n ? *n : 1), sizeof **ships);
    for (int i = 0; i < *n; i++)
        (*ships)[i] = strdup(PQgetvalue(res, i, 0));
    PQclear(res);
    return FERRY_OK;
}

ferry_status ferry_narrow_ship_range(ferry_pg_t *pg, const ferry_narrow_src_t *src,
                                     const char *ship, int64_t *min_us, int64_t *max_us, int *found,
                                     ferry_err_t *err)
{
    /* Per channel, min and max come from the (ship, channel, ts) index: a loose scan over the
     * ship's channels instead of reading all of its rows. */
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_appendf(
        &sql,
        "WITH RECURSIVE ch AS ((SELECT n.%s AS c FROM %s n WHERE n.%s = $1 ORDER BY 1 LIMIT 1)"
        " UNION ALL SELECT (SELECT n.%s FROM %s n WHERE n.%s = $1 AND n.%s > ch.c ORDER BY 1"
        " LIMIT 1) FROM ch WHERE ch.c IS NOT NULL)"
        " SELECT (extract(epoch FROM min(x.lo)) * 1000000)::bigint,"
        " (extract(epoch FROM max(x.hi)) * 1000000)::bigint FROM ch CROSS JOIN LATERAL"
        " (SELECT min(n.%s) lo, max(n.%s) hi FROM %s n WHERE n.%s = $1 AND n.%s = ch.c) x"
        " WHERE ch.c IS NOT NULL",
        src->channel, src->table, src->ship, src->channel, src->table, src->ship, src->channel,
        src->ts, src->ts, src->table, src->ship, src->channel);
    const char *p[] = {ship};
    PGresult *res = ferry_pg_query(pg, ferry_buf_cstr(&sql), 1, p, err);
    ferry_buf_free(&sql);
    if (!res)
        return err->status;
    *found = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0);
    if (*found) {
        *min_us = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *max_us = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return FERRY_OK;
}

ferry_status ferry_mig_event(ferry_pg_t *pg, const char *ship, const char *event,
                             const char *details_json, ferry_err_t *err)
{
    const char *p[] = {ship, event, details_json};
    PGresult *res = ferry_pg_query(
        pg, "INSERT INTO ferry.ship_events (ship_id, event, details) VALUES ($1, $2, $3::jsonb)", 3,
        p, err);
    if (!res)
        return err->status;
    PQclear(res);
    return FERRY_OK;
}

void ferry_mig_ts_param(int64_t us, char *out, size_t outsz)
{
    ferry_ts_format(us, out, outsz);
}
