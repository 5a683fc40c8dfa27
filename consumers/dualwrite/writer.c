/* writer.c - one dual-write batch in one PostgreSQL transaction (see writer.h): the narrow
 * table, the ship state and the transaction; the wide tables are wide.c's. */
#include "writer.h"
#include "ferry/log.h"
#include "ferry/timeparse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- narrow --------------------------------------------------------------------------- */

ferry_status dw_narrow_setup(ferry_pg_t *pg, dw_narrow_t *n, const ferry_opts_t *o,
                             ferry_err_t *err)
{
    memset(n, 0, sizeof *n);
    ferry_status st = ferry_narrow_open_opts(pg, &n->t, o, FERRY_NARROW_WRITE, err);
    n->use_stage = n->t.legacy;
    return st;
}

void dw_narrow_free(dw_narrow_t *n)
{
    ferry_narrow_close(&n->t);
    memset(n, 0, sizeof *n);
}

/* COPY the batch in ferry's narrow layout into `target` (narrow itself or the stage). */
static ferry_status copy_narrow(ferry_pg_t *pg, const char *target, int with_seq, dw_rec_t **recs,
                                int n, int64_t *rows, ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_appendf(&sql,
                      "COPY %s (ship_id, channel_id, ts, value_double, value_long, value_bool,"
                      " value_text, unit%s) FROM STDIN (FORMAT binary)",
                      target, with_seq ? ", seq" : "");
    ferry_pg_copy_t *cp = ferry_pg_copy_begin(pg, ferry_buf_cstr(&sql), err);
    ferry_buf_free(&sql);
    if (!cp)
        return err->status;
    for (int i = 0; i < n; i++) {
        const dw_rec_t *rc = recs[i];
        if (rc->dropped)
            continue;
        const ferry_reading_t *r = &rc->r;
        ferry_pg_copy_row(cp, with_seq ? 9 : 8);
        ferry_pg_copy_text(cp, r->ship_id.ptr, r->ship_id.len);
        ferry_pg_copy_text(cp, r->channel_id.ptr, r->channel_id.len);
        ferry_pg_copy_timestamptz(cp, r->ts_us);
        if (r->type == FERRY_VALUE_DOUBLE)
            ferry_pg_copy_float8(cp, r->v.d);
        else
            ferry_pg_copy_null(cp);
        if (r->type == FERRY_VALUE_LONG)
            ferry_pg_copy_int8(cp, r->v.l);
        else
            ferry_pg_copy_null(cp);
        if (r->type == FERRY_VALUE_BOOL)
            ferry_pg_copy_bool(cp, r->v.b);
        else
            ferry_pg_copy_null(cp);
        if (r->type == FERRY_VALUE_STRING)
            ferry_pg_copy_text(cp, r->v.s.ptr, r->v.s.len);
        else
            ferry_pg_copy_null(cp);
        if (r->has_unit)
            ferry_pg_copy_text(cp, r->unit.ptr, r->unit.len);
        else
            ferry_pg_copy_null(cp);
        if (with_seq)
            ferry_pg_copy_int4(cp, i);
    }
    return ferry_pg_copy_end(cp, rows, err);
}

/* Takes the value and time of the reading's narrow row as the table holds them (columns 1..5
 * of a read-back row): a replay, or history the legacy system wrote, keeps that row (first
 * write wins), and a legacy column may have rounded or converted what was sent. */
static void take_stored(dw_rec_t *rc, const PGresult *res, int i)
{
    ferry_reading_t *r = &rc->r;
    r->ts_us = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    free(rc->owned);
    rc->owned = NULL;
    if (!PQgetisnull(res, i, 2)) {
        r->type = FERRY_VALUE_DOUBLE;
        r->v.d = strtod(PQgetvalue(res, i, 2), NULL);
    } else if (!PQgetisnull(res, i, 3)) {
        r->type = FERRY_VALUE_LONG;
        r->v.l = strtoll(PQgetvalue(res, i, 3), NULL, 10);
    } else if (!PQgetisnull(res, i, 4)) {
        r->type = FERRY_VALUE_BOOL;
        r->v.b = PQgetvalue(res, i, 4)[0] == 't';
    } else if (!PQgetisnull(res, i, 5)) {
        rc->owned = ferry_xstrndup(PQgetvalue(res, i, 5), (size_t)PQgetlength(res, i, 5));
        r->type = FERRY_VALUE_STRING;
        r->v.s = (ferry_str_t){rc->owned, strlen(rc->owned)};
    } else {
        r->type = FERRY_VALUE_NULL;
    }
    if (!rc->col || r->type == FERRY_VALUE_NULL) {
        rc->no_wide = 1;
    } else if (ferry_wtype_fits(rc->col->type, r) != 0) {
        rc->no_wide = 1;
        rc->stored_conflict = 1;
    }
}

static ferry_status narrow_via_stage(ferry_pg_t *pg, dw_narrow_t *nw, dw_rec_t **recs, int n,
                                     int64_t *inserted, ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_narrow_stage_ddl(&sql);
    ferry_status st = ferry_pg_exec(pg, ferry_buf_cstr(&sql), err);
    int64_t staged = 0;
    if (st || (st = copy_narrow(pg, FERRY_NARROW_STAGE, 1, recs, n, &staged, err))) {
        ferry_buf_free(&sql);
        return st;
    }
    ferry_buf_reset(&sql);
    ferry_narrow_insert_sql(&nw->t, &sql);
    PGresult *res = ferry_pg_query(pg, ferry_buf_cstr(&sql), 0, NULL, err);
    if (!res) {
        ferry_buf_free(&sql);
        return err->status;
    }
    *inserted = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    /* every reading's row as the table holds it now */
    ferry_buf_reset(&sql);
    ferry_narrow_readback_sql(&nw->t, &sql);
    res = ferry_pg_query(pg, ferry_buf_cstr(&sql), 0, NULL, err);
    ferry_buf_free(&sql);
    if (!res)
        return err->status;
    char *seen = ferry_xcalloc((size_t)n, 1);
    for (int i = 0; i < PQntuples(res); i++) {
        int k = atoi(PQgetvalue(res, i, 0));
        if (k < 0 || k >= n || seen[k])
            continue;
        seen[k] = 1;
        take_stored(recs[k], res, i);
    }
    PQclear(res);
    /* A reading without a row was refused by a constraint ON CONFLICT DO NOTHING hides (another
     * unique index than the key): it must not pass for written. */
    for (int k = 0; k < n && st == FERRY_OK; k++)
        if (!recs[k]->dropped && !seen[k])
            st = ferry_err_set(
                err, FERRY_POISON,
                "the narrow table did not store the reading (ship %.*s, channel"
                " %.*s): a unique constraint other than (ship, channel, time)?",
                (int)(recs[k]->r.ship_id.len > 100 ? 100 : recs[k]->r.ship_id.len),
                recs[k]->r.ship_id.ptr,
                (int)(recs[k]->r.channel_id.len > 100 ? 100 : recs[k]->r.channel_id.len),
                recs[k]->r.channel_id.ptr);
    free(seen);
    if (st)
        return st;
    if (!nw->t.legacy)
        nw->use_stage = *inserted < staged; /* keep staging while replays conflict */
    return FERRY_OK;
}

static ferry_status write_narrow(ferry_pg_t *pg, dw_narrow_t *nw, dw_rec_t **recs, int n,
                                 dw_write_stats_t *stats, ferry_err_t *err)
{
    int64_t rows = 0;
    ferry_status st;
    if (!nw->use_stage) {
        if ((st = ferry_pg_exec(pg, "SAVEPOINT ferry_narrow", err)))
            return st;
        st = copy_narrow(pg, nw->t.table, 0, recs, n, &rows, err);
        if (st == FERRY_OK) {
            stats->narrow_rows += rows;
            return FERRY_OK;
        }
        if (!(st == FERRY_POISON && strcmp(err->sqlstate, "23505") == 0))
            return st;
        /* Rows of this batch are already there (a replay): go the idempotent way. */
        if ((st = ferry_pg_exec(pg, "ROLLBACK TO SAVEPOINT ferry_narrow", err)))
            return st;
        ferry_debug("narrow: batch replays existing rows, using the staging path");
    }
    stats->narrow_fallback = 1;
    st = narrow_via_stage(pg, nw, recs, n, &rows, err);
    if (st == FERRY_OK)
        stats->narrow_rows += rows;
    return st;
}

/* ---- ship state ----------------------------------------------------------------------- */

/* The first reading (lowest partition, then offset) of each ship in recs[0..n) whose state is
 * not recorded yet, in the order the ships first appear: *firsts is new (free()). */
static int first_readings(dw_rec_t **recs, int n, dw_rec_t ***firsts)
{
    ferry_map_t *idx = ferry_map_new(); /* the ship pointer's bytes -> position + 1 */
    dw_rec_t **f = ferry_xcalloc((size_t)(n ? n : 1), sizeof *f);
    int count = 0;
    for (int i = 0; i < n; i++) {
        dw_rec_t *rc = recs[i];
        const ferry_widecat_ship_t *s = rc->ship;
        if (rc->dropped || s->state_recorded)
            continue;
        int k = (int)(intptr_t)ferry_map_get(idx, &s, sizeof s) - 1;
        if (k < 0) {
            ferry_map_put(idx, &s, sizeof s, (void *)(intptr_t)(count + 1));
            f[count++] = rc;
        } else if (rc->partition < f[k]->partition ||
                   (rc->partition == f[k]->partition && rc->offset < f[k]->offset)) {
            f[k] = rc;
        }
    }
    ferry_map_destroy(idx);
    *firsts = f;
    return count;
}

static ferry_status write_ship_state(ferry_pg_t *pg, dw_rec_t **recs, int n, ferry_err_t *err)
{
    dw_rec_t **firsts;
    int count = first_readings(recs, n, &firsts);
    ferry_buf_t ships = FERRY_BUF_INIT, tss = FERRY_BUF_INIT, parts = FERRY_BUF_INIT,
                offs = FERRY_BUF_INIT;
    const char *topic = NULL;
    for (int i = 0; i < count; i++) {
        const dw_rec_t *rc = firsts[i];
        topic = rc->topic;
        char ts[FERRY_TS_FORMAT_MAX], num[24];
        ferry_pg_array_add(&ships, rc->ship->ship_id, strlen(rc->ship->ship_id));
        /* as text PostgreSQL reads exactly: any time it holds (epoch arithmetic on an
         * interval would overflow near the ends of its range) */
        ferry_ts_format_pg(rc->r.ts_us, ts, sizeof ts);
        ferry_pg_array_add(&tss, ts, strlen(ts));
        snprintf(num, sizeof num, "%d", rc->partition);
        ferry_pg_array_add(&parts, num, strlen(num));
        snprintf(num, sizeof num, "%lld", (long long)rc->offset);
        ferry_pg_array_add(&offs, num, strlen(num));
    }
    free(firsts);
    ferry_status st = FERRY_OK;
    if (count) {
        const char *p[] = {ferry_pg_array_close(&ships), ferry_pg_array_close(&tss), topic,
                           ferry_pg_array_close(&parts), ferry_pg_array_close(&offs)};
        PGresult *res = ferry_pg_query(
            pg,
            "INSERT INTO ferry.ship_state (ship_id, cutoff_ts, first_topic, first_partition,"
            " first_offset) SELECT s, t, $3, p, o FROM unnest($1::text[], $2::timestamptz[],"
            " $4::int[], $5::bigint[]) AS x(s, t, p, o) ON CONFLICT (ship_id) DO NOTHING",
            5, p, err);
        if (res)
            PQclear(res);
        else
            st = err->status;
    }
    ferry_buf_free(&ships);
    ferry_buf_free(&tss);
    ferry_buf_free(&parts);
    ferry_buf_free(&offs);
    return st;
}

ferry_status dw_write_batch(ferry_pg_t *pg, ferry_widecat_t *cat, dw_narrow_t *narrow,
                            dw_rec_t **recs, int n, dw_write_stats_t *stats, ferry_err_t *err)
{
    memset(stats, 0, sizeof *stats);
    for (int i = 0; i < n; i++) {
        recs[i]->no_wide = recs[i]->wide_conflict;
        recs[i]->stored_conflict = 0;
    }
    ferry_status st = ferry_pg_exec(pg, "BEGIN", err);
    if (st)
        return st;
    if ((st = write_narrow(pg, narrow, recs, n, stats, err)) ||
        (st = dw_write_wide(pg, cat, recs, n, stats, err)) ||
        (st = write_ship_state(pg, recs, n, err)) || (st = ferry_pg_exec(pg, "COMMIT", err))) {
        ferry_pg_exec(pg, "ROLLBACK", NULL);
        return st;
    }
    for (int i = 0; i < n; i++)
        if (!recs[i]->dropped)
            recs[i]->ship->state_recorded = 1;
    return FERRY_OK;
}
