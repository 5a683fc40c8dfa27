/* view.c - the per-ship reader view (see view.h). The view definitions contain only quoted
 * identifiers and names ferry generated itself (ASCII letters, digits, '_'); ship and channel
 * ids, which are data, are reached through ferry.channel_columns and ferry.ship_tables. */
#include "view.h"
#include "ferry/pg.h"
#include "ferry/safe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ship_view_name(const char *ship, char *out, size_t outsz)
{
    ferry_safe_name("ship_", ship, strlen(ship), 40, out, outsz);
}

/* A generated name as an SQL literal (it holds only [a-z0-9_], checked here). */
static int append_safe_literal(ferry_buf_t *b, const char *name)
{
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return -1;
    ferry_buf_appendf(b, "'%s'", name);
    return 0;
}

/* The view's columns and FROM over the wide tables: ts and every wide column. */
static void append_wide_body(ferry_buf_t *sql, const char *wide_schema, PGresult *cols,
                             PGresult *tables)
{
    for (int i = 0; i < PQntuples(cols); i++) {
        ferry_buf_append_str(sql, ", ");
        ferry_pg_append_ident(sql, PQgetvalue(cols, i, 1));
    }
    ferry_buf_append_str(sql, " FROM ");
    for (int t = 0; t < PQntuples(tables); t++) {
        if (t)
            ferry_buf_append_str(sql, " FULL JOIN ");
        ferry_pg_append_qualified(sql, wide_schema, PQgetvalue(tables, t, 0));
        if (t)
            ferry_buf_append_str(sql, " USING (ts)");
    }
}

/* The view's columns and FROM over the narrow table: one row per ts, each channel's value
 * as its wide column's type shows it. */
static ferry_status append_narrow_body(ferry_buf_t *sql, const ferry_narrow_t *src, PGresult *cols,
                                       PGresult *tables, ferry_err_t *err)
{
    for (int i = 0; i < PQntuples(cols); i++) {
        const char *type = PQgetvalue(cols, i, 2);
        const char *agg = strcmp(type, "boolean") == 0 ? "bool_or" : "max";
        const char *val = strcmp(type, "double precision") == 0
                              ? "coalesce(x.value_double, x.value_long::double precision)"
                          : strcmp(type, "bigint") == 0
                              ? "coalesce(x.value_long, CASE WHEN x.value_double ="
                                " trunc(x.value_double) AND abs(x.value_double) <"
                                " 9223372036854775807 THEN x.value_double::bigint END)"
                          : strcmp(type, "boolean") == 0 ? "x.value_bool"
                                                         : "x.value_text";
        ferry_buf_appendf(sql, ", %s(CASE WHEN c.column_name = ", agg);
        if (append_safe_literal(sql, PQgetvalue(cols, i, 1)))
            return ferry_err_set(err, FERRY_FATAL, "unexpected column name in the catalog");
        ferry_buf_appendf(sql, " THEN %s END) AS ", val);
        ferry_pg_append_ident(sql, PQgetvalue(cols, i, 1));
    }
    /* the ship by its wide table's catalog row: ship ids are data, never SQL text */
    ferry_buf_t ship_expr = FERRY_BUF_INIT;
    ferry_buf_append_str(&ship_expr, "(SELECT ship_id FROM ferry.ship_tables WHERE table_name = ");
    append_safe_literal(&ship_expr, PQgetvalue(tables, 0, 0));
    ferry_buf_append_str(&ship_expr, " LIMIT 1)");
    ferry_narrow_filter_t f = {.ship = ferry_buf_cstr(&ship_expr), .values_only = 1};
    ferry_buf_append_str(sql, " FROM (");
    ferry_narrow_select(src, &f, sql);
    ferry_buf_append_str(sql, ") x JOIN ferry.channel_columns c ON c.ship_id = x.ship_id"
                              " AND c.channel_id = x.channel_id");
    ferry_buf_append_str(sql, " WHERE coalesce(x.value_double::text, x.value_long::text,"
                              " x.value_bool::text, x.value_text) IS NOT NULL GROUP BY x.ts");
    ferry_buf_free(&ship_expr);
    return FERRY_OK;
}

ferry_status ship_view_create(ferry_pg_t *pg, const ferry_narrow_t *src, const char *wide_schema,
                              const char *view_schema, const char *ship, int wide, ferry_err_t *err)
{
    const char *p[] = {ship, wide_schema};
    PGresult *cols = ferry_pg_query(pg,
                                    "SELECT c.table_name, c.column_name, c.pg_type FROM"
                                    " ferry.channel_columns c JOIN ferry.ship_tables t ON"
                                    " t.table_name = c.table_name AND t.ship_id = c.ship_id"
                                    " WHERE c.ship_id = $1 AND t.table_schema = $2"
                                    " ORDER BY t.part, c.column_name",
                                    2, p, err);
    if (!cols)
        return err->status;
    PGresult *tables = ferry_pg_query(pg,
                                      "SELECT table_name FROM ferry.ship_tables WHERE ship_id = $1"
                                      " AND table_schema = $2 ORDER BY part",
                                      2, p, err);
    if (!tables) {
        PQclear(cols);
        return err->status;
    }
    ferry_status st = FERRY_OK;
    if (PQntuples(cols) == 0 || PQntuples(tables) == 0) {
        st = ferry_err_set(err, FERRY_USAGE, "ship %s has no wide columns yet", ship);
        goto out;
    }
    char vname[80];
    ship_view_name(ship, vname, sizeof vname);
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_append_str(&sql, "BEGIN; CREATE SCHEMA IF NOT EXISTS ");
    ferry_pg_append_ident(&sql, view_schema);
    ferry_buf_append_str(&sql, "; DROP VIEW IF EXISTS ");
    ferry_pg_append_qualified(&sql, view_schema, vname);
    ferry_buf_append_str(&sql, "; CREATE VIEW ");
    ferry_pg_append_qualified(&sql, view_schema, vname);
    ferry_buf_append_str(&sql, " AS SELECT ts");
    if (wide)
        append_wide_body(&sql, wide_schema, cols, tables);
    else if ((st = append_narrow_body(&sql, src, cols, tables, err))) {
        ferry_buf_free(&sql);
        goto out;
    }
    ferry_buf_append_str(&sql, "; COMMIT");
    st = ferry_pg_exec(pg, ferry_buf_cstr(&sql), err);
    if (st)
        ferry_pg_exec(pg, "ROLLBACK", NULL);
    ferry_buf_free(&sql);
    if (!st) {
        const char *p2[] = {ship, view_schema, vname, wide ? "true" : "false"};
        PGresult *res = ferry_pg_query(
            pg,
            "INSERT INTO ferry.cutover (ship_id, view_schema, view_name, cut_over) VALUES"
            " ($1, $2, $3, $4::boolean) ON CONFLICT (ship_id) DO UPDATE SET view_schema = $2,"
            " view_name = $3, cut_over = $4::boolean, updated_at = now()",
            4, p2, err);
        if (res)
            PQclear(res);
        else
            st = err->status;
    }
out:
    PQclear(cols);
    PQclear(tables);
    return st;
}
