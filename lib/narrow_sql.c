/* narrow_sql.c - the statements that read the narrow table in ferry's layout (with filters an
 * index on the table's own columns serves) and that write it through dualwrite's staging table
 * (see include/ferry/narrow.h). */
#include "ferry/narrow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading -------------------------------------------------------------------------- */

void ferry_narrow_where_ship(const ferry_narrow_t *n, const char *expr, ferry_buf_t *out)
{
    ferry_buf_appendf(out, "n.%s = (%s)::%s", n->ship.q, expr, n->ship.base);
}

/* The time range [from, to) on the time column, so that an index on it serves it: local
 * times are first bounded by a day's margin, then compared exactly once converted. */
static void where_time(const ferry_narrow_t *n, const char *from, const char *to, ferry_buf_t *out,
                       const char *and)
{
    const char *q = n->time.q;
    if (!n->zone) {
        if (from)
            ferry_buf_appendf(out, "%sn.%s >= (%s)::timestamptz", and, q, from), and = " AND ";
        if (to)
            ferry_buf_appendf(out, "%sn.%s < (%s)::timestamptz", and, q, to);
        return;
    }
    if (from) {
        ferry_buf_appendf(out, "%sn.%s >= ((%s)::timestamptz - interval '1 day') AT TIME ZONE %s",
                          and, q, from, n->zone);
        ferry_buf_appendf(out, " AND %s >= (%s)::timestamptz", n->x_ts, from);
        and = " AND ";
    }
    if (to) {
        ferry_buf_appendf(out, "%sn.%s < ((%s)::timestamptz + interval '1 day') AT TIME ZONE %s",
                          and, q, to, n->zone);
        ferry_buf_appendf(out, " AND %s < (%s)::timestamptz", n->x_ts, to);
    }
}

void ferry_narrow_select(const ferry_narrow_t *n, const ferry_narrow_filter_t *f, ferry_buf_t *out)
{
    ferry_buf_appendf(out,
                      "SELECT %s AS ship_id, %s AS channel_id, %s AS ts, %s AS value_double,"
                      " %s AS value_long, %s AS value_bool, %s AS value_text FROM %s n",
                      n->x_ship, n->x_channel, n->x_ts, n->x_v[0], n->x_v[1], n->x_v[2], n->x_v[3],
                      n->table);
    if (!f)
        return;
    const char *and = " WHERE ";
    if (f->ship) {
        ferry_buf_append_str(out, and);
        ferry_narrow_where_ship(n, f->ship, out);
        and = " AND ";
    }
    if (f->channel) {
        ferry_buf_appendf(out, "%sn.%s = (%s)::%s", and, n->channel.q, f->channel, n->channel.base);
        and = " AND ";
    }
    if (f->channels) {
        ferry_buf_appendf(out, "%sn.%s IN (SELECT c::%s FROM unnest((%s)::text[]) c)", and,
                          n->channel.q, n->channel.base, f->channels);
        and = " AND ";
    }
    if (f->from || f->to) {
        where_time(n, f->from, f->to, out, and);
        and = " AND ";
    }
    if (f->values_only) {
        ferry_buf_append_str(out, and);
        if (n->single) {
            ferry_buf_appendf(out, "n.%s IS NOT NULL", n->value.q);
        } else {
            ferry_buf_append_byte(out, '(');
            const char * or = "";
            for (int s = 0; s < FERRY_NSLOTS; s++) {
                if (n->slot[s].name) {
                    ferry_buf_appendf(out, "%sn.%s IS NOT NULL", or, n->slot[s].q);
                    or = " OR ";
                }
            }
            ferry_buf_append_byte(out, ')');
        }
    }
}

ferry_status ferry_narrow_ships_or(ferry_pg_t *pg, const ferry_narrow_t *n, const char *const *only,
                                   size_t nonly, char ***ships, int *count, ferry_err_t *err)
{
    if (!nonly)
        return ferry_narrow_ships(pg, n, ships, count, err);
    *ships = calloc(nonly, sizeof **ships);
    if (!*ships)
        abort();
    for (size_t i = 0; i < nonly; i++)
        (*ships)[i] = strdup(only[i]);
    *count = (int)nonly;
    return FERRY_OK;
}

ferry_status ferry_narrow_ships(ferry_pg_t *pg, const ferry_narrow_t *n, char ***ships, int *count,
                                ferry_err_t *err)
{
    const char *s = n->ship.q, *t = n->table;
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_appendf(&sql,
                      "WITH RECURSIVE s AS ((SELECT n.%s AS id FROM %s n WHERE n.%s IS NOT NULL"
                      " ORDER BY 1 LIMIT 1) UNION ALL SELECT (SELECT n.%s FROM %s n"
                      " WHERE n.%s > s.id ORDER BY 1 LIMIT 1) FROM s WHERE s.id IS NOT NULL)"
                      " SELECT id::text FROM s WHERE id IS NOT NULL",
                      s, t, s, s, t, s);
    PGresult *res = ferry_pg_query(pg, ferry_buf_cstr(&sql), 0, NULL, err);
    ferry_buf_free(&sql);
    if (!res)
        return err->status;
    *count = PQntuples(res);
    *ships = calloc((size_t)(*count ? *count : 1), sizeof **ships);
    if (!*ships)
        abort();
    for (int i = 0; i < *count; i++)
        (*ships)[i] = strdup(PQgetvalue(res, i, 0));
    PQclear(res);
    return FERRY_OK;
}

ferry_status ferry_narrow_ship_range(ferry_pg_t *pg, const ferry_narrow_t *n, const char *ship,
                                     int64_t *min_us, int64_t *max_us, int *found, ferry_err_t *err)
{
    /* Per channel, min and max come from the (ship, channel, time) index: a loose scan over
     * the ship's channels instead of reading all of its rows. Infinite times are left out. */
    const char *c = n->channel.q, *t = n->table, *ts = n->time.q;
    ferry_buf_t sql = FERRY_BUF_INIT, ws = FERRY_BUF_INIT;
    ferry_narrow_where_ship(n, "$1", &ws);
    const char *w = ferry_buf_cstr(&ws);
    ferry_buf_appendf(
        &sql,
        "WITH RECURSIVE ch AS ((SELECT n.%s AS c FROM %s n WHERE %s ORDER BY 1 LIMIT 1)"
        " UNION ALL SELECT (SELECT n.%s FROM %s n WHERE %s AND n.%s > ch.c ORDER BY 1 LIMIT 1)"
        " FROM ch WHERE ch.c IS NOT NULL)",
        c, t, w, c, t, w, c);
    if (n->zone)
        ferry_buf_appendf(&sql,
                          " SELECT (extract(epoch FROM (min(x.lo) AT TIME ZONE %s) - interval"
                          " '1 day') * 1000000)::bigint, (extract(epoch FROM (max(x.hi) AT TIME"
                          " ZONE %s) + interval '1 day') * 1000000)::bigint",
                          n->zone, n->zone);
    else
        ferry_buf_append_str(&sql, " SELECT (extract(epoch FROM min(x.lo)) * 1000000)::bigint,"
                                   " (extract(epoch FROM max(x.hi)) * 1000000)::bigint");
    ferry_buf_appendf(&sql,
                      " FROM ch CROSS JOIN LATERAL (SELECT min(n.%s) lo, max(n.%s) hi FROM %s n"
                      " WHERE %s AND n.%s = ch.c AND n.%s > '-infinity' AND n.%s < 'infinity') x"
                      " WHERE ch.c IS NOT NULL",
                      ts, ts, t, w, c, ts, ts);
    const char *p[] = {ship};
    PGresult *res = ferry_pg_query(pg, ferry_buf_cstr(&sql), 1, p, err);
    ferry_buf_free(&sql);
    ferry_buf_free(&ws);
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

/* ---- writing -------------------------------------------------------------------------- */

void ferry_narrow_stage_ddl(ferry_buf_t *out)
{
    ferry_buf_append_str(out, "CREATE TEMP TABLE IF NOT EXISTS " FERRY_NARROW_STAGE
                              " (ship_id text, channel_id text, ts timestamptz, value_double"
                              " double precision, value_long bigint, value_bool boolean,"
                              " value_text text, unit text, seq int) ON COMMIT DELETE ROWS");
}

/* The staged time as the time column takes it. */
static void stage_time(const ferry_narrow_t *n, ferry_buf_t *out)
{
    if (n->zone)
        ferry_buf_appendf(out, "(s.ts AT TIME ZONE %s)", n->zone);
    else
        ferry_buf_append_str(out, "s.ts");
}

/* The staged value as column c (of slot `slot`, or -1 for a column of every type) takes it. */
static void stage_value(const ferry_ncol_t *c, int slot, ferry_buf_t *out)
{
    switch (c->kind) {
    case FERRY_NK_TEXT:
        ferry_buf_append_str(out, slot >= 0 ? "s.value_text"
                                            : "coalesce(s.value_text, s.value_long::text,"
                                              " s.value_double::text, s.value_bool::text)");
        break;
    case FERRY_NK_INT:
        ferry_buf_append_str(out, "s.value_long");
        break;
    case FERRY_NK_FLOAT4:
    case FERRY_NK_FLOAT8:
        ferry_buf_append_str(out, slot >= 0 ? "s.value_double"
                                            : "coalesce(s.value_double, s.value_long::double"
                                              " precision)");
        break;
    case FERRY_NK_NUMERIC:
        /* through text: float8 -> numeric would keep only 15 digits */
        ferry_buf_append_str(out, slot >= 0 ? "s.value_double::text::numeric"
                                            : "coalesce(s.value_double::text,"
                                              " s.value_long::text)::numeric");
        break;
    default:
        ferry_buf_append_str(out, "s.value_bool");
        break;
    }
}

void ferry_narrow_insert_sql(const ferry_narrow_t *n, ferry_buf_t *out)
{
    ferry_buf_appendf(out, "INSERT INTO %s (%s, %s, %s", n->table, n->ship.q, n->channel.q,
                      n->time.q);
    if (n->single) {
        ferry_buf_appendf(out, ", %s", n->value.q);
    } else {
        for (int s = 0; s < FERRY_NSLOTS; s++)
            if (n->slot[s].name)
                ferry_buf_appendf(out, ", %s", n->slot[s].q);
    }
    if (n->unit.name)
        ferry_buf_appendf(out, ", %s", n->unit.q);
    ferry_buf_append_str(out, ") SELECT s.ship_id, s.channel_id, ");
    stage_time(n, out);
    if (n->single) {
        ferry_buf_append_str(out, ", ");
        stage_value(&n->value, -1, out);
    } else {
        for (int s = 0; s < FERRY_NSLOTS; s++) {
            if (n->slot[s].name) {
                ferry_buf_append_str(out, ", ");
                stage_value(&n->slot[s], s, out);
            }
        }
    }
    if (n->unit.name)
        ferry_buf_append_str(out, ", s.unit");
    ferry_buf_append_str(out, " FROM " FERRY_NARROW_STAGE " s ON CONFLICT DO NOTHING");
}

void ferry_narrow_readback_sql(const ferry_narrow_t *n, ferry_buf_t *out)
{
    ferry_buf_appendf(out,
                      "SELECT s.seq, (extract(epoch FROM %s) * 1000000)::bigint, %s, %s, %s, %s"
                      " FROM " FERRY_NARROW_STAGE " s JOIN %s n ON n.%s = s.ship_id::%s"
                      " AND n.%s = s.channel_id::%s AND n.%s = (",
                      n->x_ts, n->x_v[0], n->x_v[1], n->x_v[2], n->x_v[3], n->table, n->ship.q,
                      n->ship.base, n->channel.q, n->channel.base, n->time.q);
    stage_time(n, out);
    ferry_buf_appendf(out, ")::%s", n->time.type);
}
