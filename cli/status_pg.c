/* status_pg.c - the PostgreSQL part of `ferry status` (see status.h): per ship, its migration
 * state computed from ferry.ship_state, ferry.backfill_chunks, ferry.verify_results,
 * ferry.cutover and ferry.ship_events (each read only if it exists) and the narrow table,
 * with cutoff, chunk counts, progress, ETA and the last verify result. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/command.h"
#include "ferry/migration.h"
#include "ferry/pg.h"
#include "status.h"

/* ---- the tables read, and the query over them -------------------------------------------- */

typedef struct table_check {
    const char *name; /* as shown */
    const char *reg;  /* regclass text */
    int exists;
} table_check_t;

enum { T_STATE, T_CHUNKS, T_VERIFY, T_CUTOVER, T_EVENTS, T_COUNT };

/* The CTE names of the tables, in T_* order. */
static const char *const cte_name[T_COUNT] = {"st", "ch", "vr", "co", "ev"};

/* clang-format off */

/* Each table's CTE when the table exists ... */
static const char *const real_cte[T_COUNT] = {
    "SELECT ship_id::text, cutoff_ts, first_seen_at FROM ferry.ship_state",

    ("SELECT ship_id::text, count(*) total,"
     " count(*) FILTER (WHERE status::text = 'done') done,"
     " count(*) FILTER (WHERE status::text = 'failed') failed,"
     " (avg(duration_ms) FILTER (WHERE status::text = 'done'))::float8 avg_ms,"
     " count(DISTINCT worker) FILTER (WHERE status::text = 'done') workers,"
     " max(updated_at) last_update,"
     " (sum(rows_read) FILTER (WHERE status::text = 'done'))::numeric rows_read,"
     " (sum(cells_written) FILTER (WHERE status::text = 'done'))::numeric cells"
     " FROM ferry.backfill_chunks GROUP BY ship_id"),

    ("SELECT DISTINCT ON (ship_id) ship_id::text, ok::boolean, mismatches::bigint, from_ts, to_ts,"
     " verified_at, to_jsonb(details) details"
     " FROM ferry.verify_results ORDER BY ship_id, verified_at DESC"),

    "SELECT ship_id::text, cut_over::boolean, updated_at FROM ferry.cutover",

    ("SELECT DISTINCT ON (ship_id) ship_id::text, event::text, at"
     " FROM ferry.ship_events ORDER BY ship_id, at DESC"),
};

/* ... and the same columns, no rows, when it does not (yet). */
static const char *const empty_cte[T_COUNT] = {
    ("SELECT NULL::text ship_id, NULL::timestamptz cutoff_ts, NULL::timestamptz first_seen_at"
     " WHERE false"),

    ("SELECT NULL::text ship_id, 0::bigint total, 0::bigint done, 0::bigint failed,"
     " NULL::float8 avg_ms, 0::bigint workers, NULL::timestamptz last_update,"
     " NULL::numeric rows_read, NULL::numeric cells WHERE false"),

    ("SELECT NULL::text ship_id, NULL::boolean ok, NULL::bigint mismatches,"
     " NULL::timestamptz from_ts, NULL::timestamptz to_ts, NULL::timestamptz verified_at,"
     " NULL::jsonb details WHERE false"),

    "SELECT NULL::text ship_id, NULL::boolean cut_over, NULL::timestamptz updated_at WHERE false",

    "SELECT NULL::text ship_id, NULL::text event, NULL::timestamptz at WHERE false",
};

/* The ships' query: $1 the narrow table's ships (text[]), $2 --ship (text[], NULL: all);
 * "WITH nw AS (...)" and the five CTEs above come first. */
#define US(x) "(extract(epoch FROM " x ") * 1000000)::bigint"
static const char ships_select[] =
    ", ids AS (SELECT ship_id FROM nw UNION SELECT ship_id FROM st"
    "          UNION SELECT ship_id FROM ch UNION SELECT ship_id FROM vr"
    "          UNION SELECT ship_id FROM co UNION SELECT ship_id FROM ev)"
    " SELECT ids.ship_id, nw.ship_id IS NOT NULL,"
    "        " US("st.cutoff_ts") ", " US("st.first_seen_at") ","
    "        coalesce(ch.total, 0), coalesce(ch.done, 0), coalesce(ch.failed, 0),"
    "        ch.avg_ms, coalesce(ch.workers, 0), " US("ch.last_update") ","
    "        ch.rows_read, ch.cells,"
    "        vr.ok, vr.mismatches, " US("vr.from_ts") ", " US("vr.to_ts") ","
    "        " US("vr.verified_at") ", vr.details,"
    "        co.cut_over, " US("co.updated_at") ", ev.event, " US("ev.at")
    " FROM ids LEFT JOIN nw USING (ship_id) LEFT JOIN st USING (ship_id)"
    "          LEFT JOIN ch USING (ship_id) LEFT JOIN vr USING (ship_id)"
    "          LEFT JOIN co USING (ship_id) LEFT JOIN ev USING (ship_id)"
    " WHERE ids.ship_id IS NOT NULL AND ($2::text[] IS NULL OR ids.ship_id = ANY ($2::text[]))"
    " ORDER BY ids.ship_id";
#undef US

/* Is there a valid btree index on $1 (regclass text) whose first column is $2? */
static const char has_ship_index_sql[] =
    "SELECT EXISTS (SELECT 1 FROM pg_index i"
    "               JOIN pg_class c ON c.oid = i.indexrelid"
    "               JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'"
    "               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
    "               WHERE i.indrelid = $1::regclass AND i.indisvalid AND a.attname = $2)";

/* The ships of the narrow table by a loose index scan (one index descent per ship), as a
 * text[] literal; format arguments: %1$s the quoted ship column, %2$s the quoted table. */
#define LOOSE_SCAN_SQL                                                                             \
    "WITH RECURSIVE s AS ((SELECT n.%1$s::text AS id FROM %2$s n ORDER BY n.%1$s LIMIT 1)"         \
    "                     UNION ALL"                                                               \
    "                     SELECT (SELECT n.%1$s::text FROM %2$s n WHERE n.%1$s > s.id"             \
    "                             ORDER BY n.%1$s LIMIT 1)"                                        \
    "                     FROM s WHERE s.id IS NOT NULL)"                                          \
    " SELECT coalesce(array_agg(id), '{}')::text FROM s WHERE id IS NOT NULL"

/* The same by a GROUP BY over the whole table. */
#define FULL_SCAN_SQL                                                                              \
    "SELECT coalesce(array_agg(id), '{}')::text"                                                   \
    " FROM (SELECT n.%1$s::text id FROM %2$s n GROUP BY 1) s"

/* clang-format on */

/* Columns of ships_select. */
enum {
    C_SHIP,
    C_IN_NARROW,
    C_CUTOFF,
    C_FIRST_SEEN,
    C_TOTAL,
    C_DONE,
    C_FAILED,
    C_AVG_MS,
    C_WORKERS,
    C_LAST_UPDATE,
    C_ROWS_READ,
    C_CELLS,
    C_V_OK,
    C_V_MISMATCHES,
    C_V_FROM,
    C_V_TO,
    C_V_AT,
    C_V_DETAILS,
    C_CUT_OVER,
    C_CUT_AT,
    C_EVENT,
    C_EVENT_AT,
};

/* ---- legacy ships ------------------------------------------------------------------------ */

/* The ships of the narrow table as a PostgreSQL text[] literal built by the server
 * (array_agg), so no quoting happens here; *array_out is new (free) or NULL when the scan
 * is off or skipped. Records in pj.legacy_scan how the ships were found. */
static ferry_status legacy_ships(ferry_pg_t *pg, const ferry_opts_t *o, json_t *pj,
                                 char **array_out, ferry_err_t *err)
{
    *array_out = NULL;
    const char *mode = ferry_opts_str(o, "legacy-scan");
    if (strcmp(mode, "off") == 0) {
        json_object_set_new(pj, "legacy_scan", json_string("off"));
        return FERRY_OK;
    }
    ferry_narrow_t src;
    ferry_status st = ferry_narrow_open_opts(pg, &src, o, FERRY_NARROW_READ, err);
    if (st) {
        ferry_narrow_close(&src);
        return st;
    }
    /* With a btree index whose first column is the ship column a loose index scan finds the
     * ships with one index descent each; without one it would read the table once per ship,
     * so it is skipped unless --legacy-scan full. */
    char has_index[8] = "";
    const char *p[] = {src.table, src.ship.name};
    st = ferry_pg_query_value(pg, has_ship_index_sql, 2, p, has_index, sizeof has_index, err);
    if (st) {
        ferry_narrow_close(&src);
        return st;
    }
    int indexed = has_index[0] == 't';
    ferry_buf_t sql = FERRY_BUF_INIT;
    if (indexed && strcmp(mode, "full") != 0) {
        /* the same loose index scan as ferry_narrow_ships(), aggregated on the server */
        ferry_buf_appendf(&sql, LOOSE_SCAN_SQL, src.ship.q, src.table);
        json_object_set_new(pj, "legacy_scan", json_string("index"));
    } else if (strcmp(mode, "full") == 0) {
        ferry_buf_appendf(&sql, FULL_SCAN_SQL, src.ship.q, src.table);
        json_object_set_new(pj, "legacy_scan", json_string("full"));
    } else {
        json_object_set_new(pj, "legacy_scan",
                            json_string("skipped: no btree index leads with the ship column "
                                        "(use --legacy-scan full)"));
    }
    if (sql.len) {
        /* not ferry_pg_query_value: its fixed buffer would cap the number of ships */
        PGresult *res = ferry_pg_query(pg, ferry_buf_cstr(&sql), 0, NULL, err);
        if (!res) {
            st = err->status;
        } else {
            *array_out = strdup(PQntuples(res) ? PQgetvalue(res, 0, 0) : "{}");
            PQclear(res);
        }
    }
    ferry_buf_free(&sql);
    ferry_narrow_close(&src);
    return st;
}

/* ---- one ship ---------------------------------------------------------------------------- */

/* A PG column as JSON: NULL -> null; else by kind 'i' integer, 'b' boolean, 't' timestamp
 * (given as epoch microseconds), 'f' real, 's' string, 'j' parsed JSON. */
static json_t *col_json(const PGresult *res, int row, int col, char kind)
{
    if (PQgetisnull(res, row, col))
        return json_null();
    const char *v = PQgetvalue(res, row, col);
    switch (kind) {
    case 'i':
        return json_integer(strtoll(v, NULL, 10));
    case 'b':
        return json_boolean(v[0] == 't');
    case 't':
        return status_ts_json(strtoll(v, NULL, 10));
    case 'f':
        return json_real(strtod(v, NULL));
    case 'j': {
        json_t *j = json_loads(v, JSON_DECODE_ANY, NULL);
        return j ? j : json_string(v);
    }
    default:
        return json_string(v);
    }
}

static int64_t col_us(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? -1 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* The ship's backfill chunks: counts, progress, ETA. */
static json_t *chunks_json(const PGresult *res, int r)
{
    int64_t total = strtoll(PQgetvalue(res, r, C_TOTAL), NULL, 10);
    int64_t done = strtoll(PQgetvalue(res, r, C_DONE), NULL, 10);
    int64_t failed = strtoll(PQgetvalue(res, r, C_FAILED), NULL, 10);
    json_t *cj = json_object();
    json_object_set_new(cj, "total", json_integer(total));
    json_object_set_new(cj, "done", json_integer(done));
    json_object_set_new(cj, "failed", json_integer(failed));
    json_object_set_new(cj, "planned", json_integer(total - done - failed));
    json_object_set_new(cj, "percent_done",
                        total ? json_real(floor(1000.0 * (double)done / (double)total) / 10.0)
                              : json_null());
    /* ETA: the chunks left times the mean duration of the done ones, divided by the
     * number of workers that did them (they run in parallel). */
    double avg_ms = PQgetisnull(res, r, C_AVG_MS) ? -1 : strtod(PQgetvalue(res, r, C_AVG_MS), NULL);
    int64_t workers = strtoll(PQgetvalue(res, r, C_WORKERS), NULL, 10);
    if (total > done && avg_ms >= 0)
        json_object_set_new(
            cj, "eta_seconds",
            json_integer((json_int_t)ceil((double)(total - done) * avg_ms /
                                          (double)(workers > 0 ? workers : 1) / 1000.0)));
    else
        json_object_set_new(cj, "eta_seconds", total > done ? json_null() : json_integer(0));
    json_object_set_new(cj, "rows_read", col_json(res, r, C_ROWS_READ, 'i'));
    json_object_set_new(cj, "cells_written", col_json(res, r, C_CELLS, 'i'));
    json_object_set_new(cj, "last_update", col_json(res, r, C_LAST_UPDATE, 't'));
    return cj;
}

/* The state of one ship from its row (see docs/control.md for the rules). */
static const char *ship_state(const json_t *s, int has_narrow, int64_t last_activity_us,
                              int64_t rollback_us, int64_t verified_us, int64_t chunks_us)
{
    const json_t *chunks = json_object_get(s, "chunks");
    const json_t *verify = json_object_get(s, "last_verify");
    int64_t total = status_jint(chunks, "total", 0), done = status_jint(chunks, "done", 0);
    if (rollback_us >= 0 && last_activity_us <= rollback_us)
        return "rolled_back";
    if (json_is_true(json_object_get(s, "cut_over")))
        return "cut_over";
    if (total > 0 && done < total)
        return "backfilling";
    if (json_is_object(verify)) {
        /* a verify older than the last chunk's update no longer speaks for the data */
        if (total == 0 || verified_us >= chunks_us)
            return json_is_true(json_object_get(verify, "ok")) ? "verified" : "verify_failed";
    }
    if (total > 0)
        return "backfilled";
    if (!json_is_null(json_object_get(s, "cutoff")))
        return "dual_writing";
    return has_narrow ? "legacy" : "unknown";
}

/* One row of ships_select as the ship's JSON object. */
static json_t *ship_json(const PGresult *res, int r)
{
    json_t *s = json_object();
    json_object_set_new(s, "ship_id", col_json(res, r, C_SHIP, 's'));
    json_object_set_new(s, "cutoff", col_json(res, r, C_CUTOFF, 't'));
    json_object_set_new(s, "first_seen_at", col_json(res, r, C_FIRST_SEEN, 't'));
    json_object_set_new(s, "chunks", chunks_json(res, r));
    if (PQgetisnull(res, r, C_V_OK)) {
        json_object_set_new(s, "last_verify", json_null());
    } else {
        json_t *vj = json_object();
        json_object_set_new(vj, "ok", col_json(res, r, C_V_OK, 'b'));
        json_object_set_new(vj, "mismatches", col_json(res, r, C_V_MISMATCHES, 'i'));
        json_object_set_new(vj, "from", col_json(res, r, C_V_FROM, 't'));
        json_object_set_new(vj, "to", col_json(res, r, C_V_TO, 't'));
        json_object_set_new(vj, "verified_at", col_json(res, r, C_V_AT, 't'));
        json_object_set_new(vj, "details", col_json(res, r, C_V_DETAILS, 'j'));
        json_object_set_new(s, "last_verify", vj);
    }
    json_object_set_new(s, "cut_over",
                        PQgetisnull(res, r, C_CUT_OVER) ? json_false()
                                                        : col_json(res, r, C_CUT_OVER, 'b'));
    if (PQgetisnull(res, r, C_EVENT)) {
        json_object_set_new(s, "last_event", json_null());
    } else {
        json_t *ej = json_object();
        json_object_set_new(ej, "event", col_json(res, r, C_EVENT, 's'));
        json_object_set_new(ej, "at", col_json(res, r, C_EVENT_AT, 't'));
        json_object_set_new(s, "last_event", ej);
    }
    int in_narrow = PQgetvalue(res, r, C_IN_NARROW)[0] == 't';
    json_object_set_new(s, "in_narrow", json_boolean(in_narrow));
    /* Activity after a rollback moves the ship on: a new dual-write cutoff, a chunk
     * update, a verify or a cutover newer than the rollback. */
    int64_t rollback_us = -1;
    if (!PQgetisnull(res, r, C_EVENT) && strcmp(PQgetvalue(res, r, C_EVENT), "rolled_back") == 0)
        rollback_us = col_us(res, r, C_EVENT_AT);
    int64_t act = col_us(res, r, C_FIRST_SEEN);
    int64_t a2 = col_us(res, r, C_LAST_UPDATE), a3 = col_us(res, r, C_V_AT);
    int64_t a4 = json_is_true(json_object_get(s, "cut_over")) ? col_us(res, r, C_CUT_AT) : -1;
    act = a2 > act ? a2 : act;
    act = a3 > act ? a3 : act;
    act = a4 > act ? a4 : act;
    const char *state = ship_state(s, in_narrow, act, rollback_us, col_us(res, r, C_V_AT),
                                   col_us(res, r, C_LAST_UPDATE));
    json_object_set_new(s, "state", json_string(state));
    return s;
}

/* ---- the PostgreSQL part ------------------------------------------------------------------ */

/* Which of the tables exist (the narrow table last); pj.missing lists those that do not. */
static ferry_status check_tables(ferry_pg_t *pg, table_check_t *tables, int n, json_t *pj,
                                 ferry_err_t *err)
{
    json_t *missing = json_array();
    json_object_set_new(pj, "missing", missing);
    for (int i = 0; i < n; i++) {
        char v[16];
        const char *p[] = {tables[i].reg};
        ferry_status st =
            ferry_pg_query_value(pg, "SELECT to_regclass($1) IS NOT NULL", 1, p, v, sizeof v, err);
        if (st)
            return st;
        tables[i].exists = v[0] == 't';
        if (!tables[i].exists)
            json_array_append_new(missing, json_string(tables[i].name));
    }
    return FERRY_OK;
}

/* Runs ships_select over the tables that exist; narrow_ships is the $1 text[] literal. */
static PGresult *query_ships(ferry_pg_t *pg, const ferry_opts_t *o, const table_check_t *tables,
                             const char *narrow_ships, ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_append_str(&sql, "WITH nw AS (SELECT DISTINCT unnest($1::text[]) ship_id)");
    for (int i = 0; i < T_COUNT; i++)
        ferry_buf_appendf(&sql, ", %s AS (%s)", cte_name[i],
                          tables[i].exists ? real_cte[i] : empty_cte[i]);
    ferry_buf_append_str(&sql, ships_select);
    const char *const *only;
    size_t nonly = ferry_opts_list(o, "ship", &only);
    ferry_buf_t only_arr = FERRY_BUF_INIT;
    for (size_t i = 0; i < nonly; i++)
        ferry_pg_array_add(&only_arr, only[i], strlen(only[i]));
    const char *params[2] = {narrow_ships ? narrow_ships : "{}",
                             nonly ? ferry_pg_array_close(&only_arr) : NULL};
    PGresult *res = ferry_pg_query(pg, ferry_buf_cstr(&sql), 2, params, err);
    ferry_buf_free(&only_arr);
    ferry_buf_free(&sql);
    return res;
}

/* Fills doc.ships from a connection: the tables, the legacy ships, the ships' query. */
static ferry_status ships(ferry_pg_t *pg, const ferry_opts_t *o, json_t *pj, json_t *ships_out,
                          ferry_err_t *err)
{
    table_check_t tables[T_COUNT + 1] = {
        {"ferry.ship_state", "ferry.ship_state", 0},
        {"ferry.backfill_chunks", "ferry.backfill_chunks", 0},
        {"ferry.verify_results", "ferry.verify_results", 0},
        {"ferry.cutover", "ferry.cutover", 0},
        {"ferry.ship_events", "ferry.ship_events", 0},
        {ferry_opts_str(o, "narrow-table"), NULL, 0},
    };
    /* the narrow table's regclass text, as every ferry command reads --narrow-table */
    char *narrow_q = ferry_pg_quote_qualified(ferry_opts_str(o, "narrow-table"));
    if (!narrow_q)
        return ferry_err_set(err, FERRY_USAGE, "--narrow-table '%s' is not a valid table name",
                             ferry_opts_str(o, "narrow-table"));
    tables[T_COUNT].reg = narrow_q;
    char *narrow_ships = NULL;
    PGresult *res = NULL;
    ferry_status st = check_tables(pg, tables, T_COUNT + 1, pj, err);
    if (st)
        goto out;
    if (tables[T_COUNT].exists) {
        if ((st = legacy_ships(pg, o, pj, &narrow_ships, err)))
            goto out;
    } else {
        json_object_set_new(pj, "legacy_scan", json_string("skipped: no narrow table"));
    }
    if (!(res = query_ships(pg, o, tables, narrow_ships, err))) {
        st = err->status;
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(ships_out, ship_json(res, r));
out:
    if (res)
        PQclear(res);
    free(narrow_ships);
    free(narrow_q);
    return st;
}

int status_pg(const ferry_opts_t *o, json_t *doc)
{
    json_t *pj = json_object();
    json_t *ships_j = json_array();
    json_object_set_new(doc, "pg", pj);
    json_object_set_new(doc, "ships", ships_j);
    const char *conninfo = ferry_opts_str(o, "pg");
    json_object_set_new(pj, "narrow_table", json_string(ferry_opts_str(o, "narrow-table")));
    if (!conninfo) {
        json_object_set_new(pj, "checked", json_false());
        json_object_set_new(pj, "ok", json_null());
        json_object_set_new(pj, "error", json_null());
        json_object_set_new(pj, "missing", json_array());
        return 0;
    }
    json_object_set_new(pj, "checked", json_true());
    ferry_err_t err;
    ferry_pg_retry_t retry = {200, 2000, ferry_opts_duration_ms(o, "timeout")};
    ferry_pg_t *pg = ferry_pg_connect(conninfo, "ferry status", &retry, &err);
    if (!pg) {
        json_object_set_new(pj, "ok", json_false());
        json_object_set_new(pj, "error", json_string(err.msg));
        json_object_set_new(pj, "missing", json_array());
        return FERRY_EXIT_UNAVAILABLE;
    }
    int rc = 0;
    if (ships(pg, o, pj, ships_j, &err) == FERRY_OK) {
        json_object_set_new(pj, "ok", json_true());
        json_object_set_new(pj, "error", json_null());
    } else {
        json_object_set_new(pj, "ok", json_false());
        json_object_set_new(pj, "error", json_string(err.msg));
        rc = ferry_cmd_exit_for(err.status);
    }
    ferry_pg_close(pg);
    return rc;
}
