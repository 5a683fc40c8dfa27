/* cmd_verify.c - `ferry verify`: compares narrow and wide, window by window (--window, 24 h by
 * default), by row/cell counts and an order-independent checksum of (timestamp, channel,
 * value); reports each mismatching window with its first differing keys, records the result
 * in ferry.verify_results and exits 1 on any mismatch. A narrow value whose channel has no
 * column (or does not fit it) counts as a difference. While a ship is not cut over, verify
 * also (re)creates its reader view over the narrow table. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/command.h"
#include "ferry/log.h"
#include "ferry/migration.h"
#include "ferry/options.h"
#include "ferry/pg.h"
#include "ferry/timeparse.h"
#include "view.h"

static const ferry_opt_t verify_opts[] = {
    FERRY_OPT_PG,
    {"ship", 's', FERRY_OPT_LIST, NULL, "SHIP", "verify this ship (repeatable; default: all)", 0},
    {"from", 0, FERRY_OPT_STRING, NULL, "TIME", "start of the range (default: first row)", 0},
    {"to", 0, FERRY_OPT_STRING, NULL, "TIME", "end of the range, exclusive (default: last row)", 0},
    {"window", 0, FERRY_OPT_DURATION, "24h", "DURATION", "size of the compared windows", 0},
    {"keys", 0, FERRY_OPT_INT, "5", "N", "differing keys shown per mismatching window", 0},
    FERRY_OPT_NARROW_TABLE,
    FERRY_OPT_NARROW_COLUMNS,
    FERRY_OPT_NARROW_TIME_ZONE,
    FERRY_OPT_WIDE_SCHEMA,
    FERRY_OPT_VIEW_SCHEMA,
    {"json", 0, FERRY_OPT_BOOL, NULL, NULL, "print the result as JSON", 0},
    FERRY_OPT_END,
};

/* The narrow rows of one ship as (us, ch, val) where val is the value as the wide column would
 * show it, when the column holds it exactly (a long in a double column only up to 2^53, a
 * double in a bigint column only when integral and in range); anything else, and a value whose
 * channel has no column, gets a marker no cell can have, so it counts as a difference. */
static void narrow_set(const ferry_narrow_t *src, ferry_buf_t *sql)
{
    ferry_buf_append_str(sql,
                         "SELECT (extract(epoch FROM x.ts) * 1000000)::bigint AS us,"
                         " x.channel_id AS ch, coalesce(CASE c.pg_type"
                         " WHEN 'double precision' THEN CASE WHEN x.value_double IS NOT NULL"
                         " THEN x.value_double::text WHEN abs(x.value_long) <= 9007199254740992"
                         " THEN x.value_long::double precision::text END"
                         " WHEN 'bigint' THEN coalesce(x.value_long::text, CASE WHEN"
                         " x.value_double = trunc(x.value_double) AND abs(x.value_double)"
                         " < 9223372036854775807 THEN x.value_double::bigint::text END)"
                         " WHEN 'boolean' THEN x.value_bool::text ELSE x.value_text END,"
                         " E'\\x01not in wide: ' || coalesce(x.value_double::text,"
                         " x.value_long::text, x.value_bool::text, x.value_text)) AS val FROM (");
    ferry_narrow_filter_t f = {.ship = "$1", .from = "$2", .to = "$3", .values_only = 1};
    ferry_narrow_select(src, &f, sql);
    ferry_buf_append_str(sql, ") x LEFT JOIN ferry.channel_columns c ON c.ship_id = x.ship_id"
                              " AND c.channel_id = x.channel_id"
                              " WHERE coalesce(x.value_double::text, x.value_long::text,"
                              " x.value_bool::text, x.value_text) IS NOT NULL");
}

/* The wide cells of one ship unpivoted to (us, ch, val); channel names are parameters $4.. */
static int wide_set(PGresult *cols, const char *wide_schema, ferry_buf_t *sql, const char ***params,
                    int *np, const char *ship, const char *from, const char *to)
{
    int n = PQntuples(cols), first = 1;
    *params = calloc((size_t)n + 3, sizeof **params);
    (*params)[0] = ship;
    (*params)[1] = from;
    (*params)[2] = to;
    *np = 3;
    const char *cur = NULL;
    for (int i = 0; i < n; i++) {
        const char *table = PQgetvalue(cols, i, 0);
        if (!cur || strcmp(cur, table) != 0) {
            if (cur)
                ferry_buf_append_str(sql,
                                     ") v(ch, val) WHERE v.val IS NOT NULL"
                                     " AND t.ts >= $2::timestamptz AND t.ts < $3::timestamptz");
            if (!first)
                ferry_buf_append_str(sql, " UNION ALL ");
            first = 0;
            ferry_buf_append_str(sql, "SELECT (extract(epoch FROM t.ts) * 1000000)::bigint AS us,"
                                      " v.ch, v.val FROM ");
            ferry_pg_append_qualified(sql, wide_schema, table);
            ferry_buf_append_str(sql, " t CROSS JOIN LATERAL (VALUES ");
            cur = table;
        } else {
            ferry_buf_append_str(sql, ", ");
        }
        (*params)[(*np)++] = PQgetvalue(cols, i, 3); /* channel id */
        ferry_buf_appendf(sql, "($%d::text, t.", *np);
        ferry_pg_append_ident(sql, PQgetvalue(cols, i, 1));
        ferry_buf_append_str(sql, "::text)");
    }
    if (cur)
        ferry_buf_append_str(sql, ") v(ch, val) WHERE v.val IS NOT NULL"
                                  " AND t.ts >= $2::timestamptz AND t.ts < $3::timestamptz");
    else
        ferry_buf_append_str(sql, "SELECT NULL::bigint AS us, NULL::text AS ch, NULL::text AS val"
                                  " WHERE false AND $1::text IS NULL AND $2::timestamptz IS NULL"
                                  " AND $3::timestamptz IS NULL");
    return 0;
}

typedef struct range {
    int64_t lo, hi;
} range_t;

/* One ship's narrow and wide sets as SQL, with their parameters: $1 ship, $2/$3 the range
 * (formatted for PostgreSQL), $4.. the wide channel ids. */
typedef struct sets {
    ferry_buf_t ns, ws;
    const char **params;
    int np;
    char from[48], to[48];
} sets_t;

/* The timestamp `us` as PostgreSQL reads it; INT64_MAX is "infinity". */
static void pg_time(int64_t us, char *out, size_t outsz)
{
    if (us == INT64_MAX)
        snprintf(out, outsz, "infinity");
    else
        ferry_ts_format_pg(us, out, outsz);
}

/* A mismatching window [wlo, wlo + win): its counts and first differing keys, both ways, as
 * JSON (printed too without --json). The range parameters of `s` are restored on return. */
static json_t *window_json(ferry_pg_t *pg, const ferry_opts_t *o, const char *ship, sets_t *s,
                           int64_t wlo, int64_t win, int64_t nc, int64_t mc, ferry_err_t *err)
{
    int keys = (int)ferry_opts_int(o, "keys");
    int64_t whi = wlo > INT64_MAX - win ? INT64_MAX : wlo + win;
    char a[48], b[48], as[48], bs[48];
    ferry_ts_format_pg(wlo, a, sizeof a);
    pg_time(whi, b, sizeof b);
    ferry_ts_format(wlo, as, sizeof as);
    ferry_ts_format(whi, bs, sizeof bs);
    ferry_buf_t dq = FERRY_BUF_INIT;
    ferry_buf_appendf(&dq,
                      "SELECT 'narrow' side, * FROM ((%s) EXCEPT (%s) ORDER BY 1, 2 LIMIT %d) d1"
                      " UNION ALL SELECT 'wide', * FROM ((%s) EXCEPT (%s) ORDER BY 1, 2"
                      " LIMIT %d) d2",
                      ferry_buf_cstr(&s->ns), ferry_buf_cstr(&s->ws), keys, ferry_buf_cstr(&s->ws),
                      ferry_buf_cstr(&s->ns), keys);
    s->params[1] = a;
    s->params[2] = b;
    PGresult *d = ferry_pg_query(pg, ferry_buf_cstr(&dq), s->np, s->params, err);
    ferry_buf_free(&dq);
    json_t *jw = json_pack("{s:s, s:s, s:I, s:I}", "from", as, "to", bs, "narrow_values",
                           (json_int_t)nc, "wide_cells", (json_int_t)mc);
    json_t *jk = json_array();
    if (d) {
        for (int k = 0; k < PQntuples(d); k++) {
            char when[48];
            ferry_ts_format(strtoll(PQgetvalue(d, k, 1), NULL, 10), when, sizeof when);
            json_array_append_new(jk, json_pack("{s:s, s:s, s:s, s:s}", "only_in",
                                                PQgetvalue(d, k, 0), "ts", when, "channel",
                                                PQgetvalue(d, k, 2), "value", PQgetvalue(d, k, 3)));
            if (!ferry_opts_bool(o, "json"))
                printf("  mismatch ship %s window %s: only in %s: ts %s channel %s value %s\n",
                       ship, as, PQgetvalue(d, k, 0), when, PQgetvalue(d, k, 2),
                       PQgetvalue(d, k, 3));
        }
        PQclear(d);
    }
    json_object_set_new(jw, "keys", jk);
    s->params[1] = s->from;
    s->params[2] = s->to;
    return jw;
}

/* Records the ship's result `js` in ferry.verify_results. */
static ferry_status record_result(ferry_pg_t *pg, const char *ship, const sets_t *s, int windows,
                                  int64_t bad, const json_t *js, ferry_err_t *err)
{
    char *details = json_dumps(js, JSON_COMPACT);
    char wn[16], mm[24];
    snprintf(wn, sizeof wn, "%d", windows);
    snprintf(mm, sizeof mm, "%lld", (long long)bad);
    const char *pr[] = {ship, s->from, s->to, bad ? "false" : "true", wn, mm, details};
    PGresult *ins = ferry_pg_query(pg,
                                   "INSERT INTO ferry.verify_results (ship_id, from_ts, to_ts, ok,"
                                   " windows, mismatches, details) VALUES ($1, $2::timestamptz,"
                                   " $3::timestamptz, $4::boolean, $5::int, $6::bigint, $7::jsonb)",
                                   7, pr, err);
    free(details);
    if (!ins)
        return err->status;
    PQclear(ins);
    return FERRY_OK;
}

static int verify_ship(ferry_pg_t *pg, const ferry_opts_t *o, const ferry_narrow_t *src,
                       const char *ship, range_t r, json_t *out, int64_t *mismatches,
                       ferry_err_t *err)
{
    const char *wide_schema = ferry_opts_str(o, "wide-schema");
    const char *p0[] = {ship, wide_schema};
    PGresult *cols = ferry_pg_query(pg,
                                    "SELECT c.table_name, c.column_name, c.pg_type, c.channel_id"
                                    " FROM ferry.channel_columns c JOIN ferry.ship_tables t ON"
                                    " t.table_name = c.table_name AND t.ship_id = c.ship_id"
                                    " WHERE c.ship_id = $1 AND t.table_schema = $2"
                                    " ORDER BY t.part, c.column_name",
                                    2, p0, err);
    if (!cols)
        return -1;
    int64_t win = ferry_opts_duration_ms(o, "window") * 1000;
    char from_s[48], to_s[48];
    sets_t s = {FERRY_BUF_INIT, FERRY_BUF_INIT, NULL, 0, "", ""};
    ferry_ts_format_pg(r.lo, s.from, sizeof s.from);
    pg_time(r.hi, s.to, sizeof s.to);
    ferry_ts_format(r.lo, from_s, sizeof from_s);
    ferry_ts_format(r.hi, to_s, sizeof to_s);
    ferry_buf_t sql = FERRY_BUF_INIT;
    narrow_set(src, &s.ns);
    wide_set(cols, wide_schema, &s.ws, &s.params, &s.np, ship, s.from, s.to);
    /* one pass over each side, grouped by window */
    ferry_buf_appendf(&sql,
                      "WITH n AS (SELECT floor((us - %lld) / %lld::numeric)::bigint w, count(*) c,"
                      " sum(hashtextextended(us::text || '|' || ch || '|' || val, 0)) h FROM (%s) a"
                      " GROUP BY 1), m AS (SELECT floor((us - %lld) / %lld::numeric)::bigint w,"
                      " count(*) c, sum(hashtextextended(us::text || '|' || ch || '|' || val, 0)) h"
                      " FROM (%s) b GROUP BY 1)"
                      " SELECT coalesce(n.w, m.w), coalesce(n.c, 0), coalesce(m.c, 0),"
                      " (n.h IS NOT DISTINCT FROM m.h AND coalesce(n.c, 0) = coalesce(m.c, 0))"
                      " FROM n FULL JOIN m ON n.w = m.w ORDER BY 1",
                      (long long)r.lo, (long long)win, ferry_buf_cstr(&s.ns), (long long)r.lo,
                      (long long)win, ferry_buf_cstr(&s.ws));
    PGresult *res = ferry_pg_query(pg, ferry_buf_cstr(&sql), s.np, s.params, err);
    int rc = 0;
    if (!res) {
        rc = -1;
        goto out;
    }
    int64_t nrows = 0, wcells = 0, bad = 0;
    json_t *wins = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        int64_t w = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        int64_t nc = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        int64_t mc = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        nrows += nc;
        wcells += mc;
        if (strcmp(PQgetvalue(res, i, 3), "t") == 0)
            continue;
        bad++;
        json_array_append_new(wins, window_json(pg, o, ship, &s, r.lo + w * win, win, nc, mc, err));
    }
    int windows = PQntuples(res);
    PQclear(res);
    *mismatches += bad;
    json_t *js = json_pack(
        "{s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:b, s:o}", "ship", ship, "from", from_s, "to", to_s,
        "windows", windows, "narrow_values", (json_int_t)nrows, "wide_cells", (json_int_t)wcells,
        "mismatching_windows", (json_int_t)bad, "ok", bad == 0, "mismatches", wins);
    if (record_result(pg, ship, &s, windows, bad, js, err) != FERRY_OK)
        rc = -1;
    if (!ferry_opts_bool(o, "json"))
        printf("ship %s: %s (%d window(s), %lld narrow values, %lld wide cells, %lld mismatching "
               "window(s))\n",
               ship, bad ? "MISMATCH" : "ok", windows, (long long)nrows, (long long)wcells,
               (long long)bad);
    json_array_append_new(out, js);
out:
    free(s.params);
    PQclear(cols);
    ferry_buf_free(&s.ns);
    ferry_buf_free(&s.ws);
    ferry_buf_free(&sql);
    return rc;
}

/* Widens [*lo, *hi] (set only when *found) to the ship's rows in its wide tables: extra rows
 * on the wide side must be seen too. */
static void wide_range(ferry_pg_t *pg, const char *wide_schema, const char *ship, int64_t *lo,
                       int64_t *hi, int *found)
{
    ferry_err_t err;
    const char *p[] = {ship, wide_schema};
    PGresult *tr = ferry_pg_query(pg,
                                  "SELECT table_name FROM ferry.ship_tables WHERE ship_id = $1"
                                  " AND table_schema = $2",
                                  2, p, &err);
    for (int k = 0; tr && k < PQntuples(tr); k++) {
        ferry_buf_t q = FERRY_BUF_INIT;
        ferry_buf_append_str(&q, "SELECT (extract(epoch FROM min(ts)) * 1000000)::bigint,"
                                 " (extract(epoch FROM max(ts)) * 1000000)::bigint FROM ");
        ferry_pg_append_qualified(&q, wide_schema, PQgetvalue(tr, k, 0));
        PGresult *mm = ferry_pg_query(pg, ferry_buf_cstr(&q), 0, NULL, &err);
        if (mm && !PQgetisnull(mm, 0, 0)) {
            int64_t a = strtoll(PQgetvalue(mm, 0, 0), NULL, 10);
            int64_t b = strtoll(PQgetvalue(mm, 0, 1), NULL, 10);
            if (!*found || a < *lo)
                *lo = a;
            if (!*found || b > *hi)
                *hi = b;
            *found = 1;
        }
        if (mm)
            PQclear(mm);
        ferry_buf_free(&q);
    }
    if (tr)
        PQclear(tr);
}

int cmd_verify(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(argv[0], "--pg CONNINFO [--ship SHIP...] [--from TIME --to TIME]",
                       "Compares the narrow table with the wide tables window by window (counts "
                       "and an order-independent checksum of timestamp, channel and value), "
                       "reports the first differing keys of each mismatching window, records the "
                       "result in ferry.verify_results and exits 1 on any mismatch.",
                       verify_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
    ferry_err_t err;
    if (ferry_opts_duration_ms(o, "window") <= 0)
        return ferry_cmd_end(&cmd, ferry_cmd_usage(&cmd, "--window must be positive"));
    int64_t from_us = INT64_MIN, to_us = INT64_MIN;
    const char *f = ferry_opts_str(o, "from"), *t = ferry_opts_str(o, "to");
    if ((f && ferry_ts_parse(f, strlen(f), FERRY_TS_AUTO, &from_us, &err)) ||
        (t && ferry_ts_parse(t, strlen(t), FERRY_TS_AUTO, &to_us, &err)))
        return ferry_cmd_end(&cmd, ferry_cmd_usage(&cmd, "%s", err.msg));
    if ((rc = ferry_cmd_connect(&cmd, "ferry verify", NULL)) >= 0)
        return ferry_cmd_end(&cmd, rc);
    ferry_pg_t *pg = cmd.pg;
    ferry_narrow_t src;
    memset(&src, 0, sizeof src);
    json_t *out = json_array();
    int64_t mismatches = 0;
    char **ships = NULL;
    int nships = 0;
    rc = FERRY_EXIT_OK;
    if (ferry_migration_setup(pg, &err) ||
        ferry_narrow_open_opts(pg, &src, o, FERRY_NARROW_READ, &err)) {
        ferry_error("%s", err.msg);
        rc = ferry_cmd_exit_for(err.status);
        goto done;
    }
    const char *const *only;
    size_t nonly = ferry_opts_list(o, "ship", &only);
    if (ferry_narrow_ships_or(pg, &src, only, nonly, &ships, &nships, &err)) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_FAILED;
        goto done;
    }
    for (int i = 0; i < nships; i++) {
        int64_t lo, hi;
        int found;
        if (ferry_narrow_ship_range(pg, &src, ships[i], &lo, &hi, &found, &err)) {
            ferry_error("ship %s not verified: %s", ships[i], err.msg);
            rc = FERRY_EXIT_FAILED;
            if (!ferry_pg_ok(pg))
                break;
            continue;
        }
        /* the wide side's own range counts too: extra rows must be seen */
        wide_range(pg, ferry_opts_str(o, "wide-schema"), ships[i], &lo, &hi, &found);
        if (!found) {
            ferry_warn("ship %s has no rows: nothing to verify", ships[i]);
            continue;
        }
        /* Near the end of int64 microseconds PostgreSQL's epoch arithmetic is inexact: the
         * range then runs to infinity. */
        range_t r = {from_us != INT64_MIN ? from_us : lo, to_us != INT64_MIN ? to_us
                                                          : hi >= INT64_MAX - 946684800000000LL
                                                              ? INT64_MAX
                                                              : hi + 1};
        if (verify_ship(pg, o, &src, ships[i], r, out, &mismatches, &err) != 0) {
            /* one ship that cannot be verified does not stop the others */
            ferry_error("ship %s not verified: %s", ships[i], err.msg);
            rc = FERRY_EXIT_FAILED;
            if (!ferry_pg_ok(pg))
                break;
            continue;
        }
        /* keep the reader view current while the ship reads from narrow */
        char cut[8] = "";
        const char *pc[] = {ships[i]};
        ferry_pg_query_value(pg, "SELECT cut_over FROM ferry.cutover WHERE ship_id = $1", 1, pc,
                             cut, sizeof cut, NULL);
        if (strcmp(cut, "t") != 0 &&
            ship_view_create(pg, &src, ferry_opts_str(o, "wide-schema"),
                             ferry_opts_str(o, "view-schema"), ships[i], 0, &err) != FERRY_OK)
            ferry_warn("reader view of %s not refreshed: %s", ships[i], err.msg);
    }
    if (ferry_opts_bool(o, "json")) {
        char *s = json_dumps(out, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
    }
    if (!rc && mismatches)
        rc = FERRY_EXIT_FAILED;
done:
    for (int i = 0; i < nships; i++)
        free(ships[i]);
    free(ships);
    json_decref(out);
    ferry_narrow_close(&src);
    return ferry_cmd_end(&cmd, rc);
}
