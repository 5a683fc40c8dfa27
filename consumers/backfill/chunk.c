/* chunk.c - one backfill chunk in one writer transaction: the chunk's channels get their
 * columns first (new history-only channels typed by their first value in the chunk), then
 * every part table is streamed (pivot.c), the rejects are recorded and the chunk's result is
 * committed with them. A bigint column that met non-integral history values is widened (when
 * lossless) and the chunk done again, once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/migration.h"

void bf_clear_rejects(bf_worker_t *w)
{
    for (int i = 0; i < w->nrejects; i++) {
        free(w->rejects[i].channel);
        free(w->rejects[i].value);
    }
    w->nrejects = 0;
    w->nrejected = 0;
}

/* Makes sure every channel that has values in the chunk has a column (new history-only
 * channels get one, typed by their first value in the chunk). */
static ferry_status ensure_columns(bf_worker_t *w, const bf_chunk_t *c, ferry_widecat_ship_t *ship,
                                   ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT, ws = FERRY_BUF_INIT;
    const ferry_narrow_t *s = &w->src;
    /* the ship's channels by a loose index scan, then each one's first value in the chunk */
    ferry_narrow_where_ship(s, "$1", &ws);
    ferry_buf_appendf(&sql,
                      "WITH RECURSIVE ch AS ((SELECT n.%s AS c FROM %s n WHERE %s ORDER BY 1"
                      " LIMIT 1) UNION ALL SELECT (SELECT n.%s FROM %s n WHERE %s AND n.%s > ch.c"
                      " ORDER BY 1 LIMIT 1) FROM ch WHERE ch.c IS NOT NULL)"
                      " SELECT ch.c::text, f.t FROM ch CROSS JOIN LATERAL (SELECT CASE WHEN"
                      " x.value_double IS NOT NULL THEN 1 WHEN x.value_long IS NOT NULL THEN 2"
                      " WHEN x.value_bool IS NOT NULL THEN 3 WHEN x.value_text IS NOT NULL THEN 4"
                      " END t FROM (",
                      s->channel.q, s->table, ferry_buf_cstr(&ws), s->channel.q, s->table,
                      ferry_buf_cstr(&ws), s->channel.q);
    ferry_narrow_filter_t f = {
        .ship = "$1", .channel = "ch.c", .from = "$2", .to = "$3", .values_only = 1};
    ferry_narrow_select(s, &f, &sql);
    ferry_buf_append_str(&sql, ") x WHERE coalesce(x.value_double::text, x.value_long::text,"
                               " x.value_bool::text, x.value_text) IS NOT NULL ORDER BY x.ts"
                               " LIMIT 1) f WHERE ch.c IS NOT NULL");
    ferry_buf_free(&ws);
    char a[48], b[48];
    ferry_migration_ts_param(c->start_us, a, sizeof a);
    ferry_migration_ts_param(c->end_us, b, sizeof b);
    const char *p[] = {c->ship, a, b};
    PGresult *res = ferry_pg_query(w->pg, ferry_buf_cstr(&sql), 3, p, err);
    ferry_buf_free(&sql);
    if (!res)
        return err->status;
    ferry_widecat_need_t *needs = NULL;
    int n = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *chan = PQgetvalue(res, i, 0);
        if (ferry_map_get(ship->cols, chan, strlen(chan)))
            continue;
        needs = ferry_xrealloc(needs, (size_t)(n + 1), sizeof *needs);
        needs[n].ship = ship;
        needs[n].channel = ferry_xstrndup(chan, strlen(chan));
        needs[n].type = ferry_wtype_for_value((ferry_value_type)atoi(PQgetvalue(res, i, 1)));
        needs[n].widen = 0;
        n++;
    }
    PQclear(res);
    ferry_status st = ferry_widecat_ensure(w->cat, w->pg, needs, n, err);
    for (int i = 0; i < n; i++)
        free((char *)needs[i].channel);
    free(needs);
    return st;
}

static ferry_status write_rejects(bf_worker_t *w, const bf_chunk_t *c, ferry_err_t *err)
{
    for (int i = 0; i < w->nrejects; i++) {
        char ts[48];
        ferry_migration_ts_param(w->rejects[i].ts, ts, sizeof ts);
        const char *p[] = {c->chunk_id,           c->ship,
                           w->rejects[i].channel, ts,
                           w->rejects[i].value,   w->rejects[i].reason};
        PGresult *res = ferry_pg_query(w->pg,
                                       "INSERT INTO ferry.backfill_rejects VALUES ($1, $2, $3,"
                                       " $4::timestamptz, $5, $6) ON CONFLICT DO NOTHING",
                                       6, p, err);
        if (!res)
            return err->status;
        PQclear(res);
    }
    return FERRY_OK;
}

/* Widens the bigint columns of the channels in w->widen (where lossless) and forgets them. */
static ferry_status widen_columns(bf_worker_t *w, ferry_widecat_ship_t *ship, ferry_err_t *err)
{
    ferry_widecat_need_t *needs = ferry_xcalloc((size_t)w->nwiden, sizeof *needs);
    for (int i = 0; i < w->nwiden; i++)
        needs[i] = (ferry_widecat_need_t){ship, w->widen[i], FERRY_WTYPE_DOUBLE, 1};
    ferry_status st = ferry_widecat_ensure(w->cat, w->pg, needs, w->nwiden, err);
    free(needs);
    for (int i = 0; i < w->nwiden; i++)
        free(w->widen[i]);
    w->nwiden = 0;
    return st;
}

/* The whole chunk in one writer transaction. */
ferry_status bf_do_chunk(bf_worker_t *w, const bf_chunk_t *c, ferry_err_t *err)
{
    int64_t t0 = ferry_clock_mono_ms(), rows, cells;
    ferry_status st;
    for (int pass = 0;; pass++) {
        rows = cells = 0;
        bf_clear_rejects(w);
        char *ships[] = {(char *)c->ship};
        if ((st = ferry_widecat_load(w->cat, w->pg, ships, 1, err)))
            return st;
        ferry_widecat_ship_t *ship = ferry_widecat_ship(w->cat, c->ship, strlen(c->ship));
        if ((st = ensure_columns(w, c, ship, err)) || (st = ferry_pg_exec(w->pg, "BEGIN", err)))
            return st;
        for (int t = 0; t < ship->ntables && !st; t++)
            st = bf_do_part(w, c, ship, t, &rows, &cells, err);
        if (st || w->nwiden == 0 || pass > 0)
            break;
        /* Non-integral history values of bigint columns: widen those columns (when lossless)
         * and do the chunk again, once, rather than reject the values. */
        ferry_pg_exec(w->pg, "ROLLBACK", NULL);
        if ((st = widen_columns(w, ship, err)))
            return st;
    }
    for (int i = 0; i < w->nwiden; i++)
        free(w->widen[i]);
    w->nwiden = 0;
    if (!st)
        st = write_rejects(w, c, err);
    if (!st) {
        char r[24], ce[24], rj[24], d[24];
        snprintf(r, sizeof r, "%lld", (long long)rows);
        snprintf(ce, sizeof ce, "%lld", (long long)cells);
        snprintf(rj, sizeof rj, "%lld", (long long)w->nrejected);
        snprintf(d, sizeof d, "%lld", (long long)(ferry_clock_mono_ms() - t0));
        const char *p[] = {c->chunk_id, r, ce, rj, d, w->worker_id};
        PGresult *res = ferry_pg_query(
            w->pg,
            "UPDATE ferry.backfill_chunks SET status = 'done', rows_read = $2::bigint,"
            " cells_written = $3::bigint, rejected = $4::bigint, duration_ms = $5::bigint,"
            " worker = $6, last_error = NULL, updated_at = now() WHERE chunk_id = $1",
            6, p, err);
        if (res)
            PQclear(res);
        else
            st = err->status;
    }
    if (!st)
        st = ferry_pg_exec(w->pg, "COMMIT", err);
    if (st) {
        ferry_pg_exec(w->pg, "ROLLBACK", NULL);
        return st;
    }
    ferry_info("chunk %s: %lld narrow rows -> %lld cells in %lld ms%s", c->chunk_id,
               (long long)rows, (long long)cells, (long long)(ferry_clock_mono_ms() - t0),
               w->nrejected ? " (some cells rejected: see ferry.backfill_rejects)" : "");
    return FERRY_OK;
}
