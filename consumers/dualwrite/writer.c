/* writer.c - one dual-write batch in one PostgreSQL transaction (see writer.h). */
#include "writer.h"
#include "ferry/log.h"
#include "ferry/timeparse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* PostgreSQL type OIDs used in binary parameters. */
#define OID_BOOL         16
#define OID_INT8         20
#define OID_TEXT         25
#define OID_FLOAT8       701
#define OID_TIMESTAMPTZ  1184
#define OID_BOOL_ARR     1000
#define OID_TEXT_ARR     1009
#define OID_INT8_ARR     1016
#define OID_FLOAT8_ARR   1022
#define OID_TSTZ_ARR     1185
#define PG_EPOCH_US      946684800000000LL
#define WIDE_CELL_BUDGET 2000000 /* rows x columns of one unnest statement */
#define WIDE_MAX_ROWS    20000

/* ---- narrow --------------------------------------------------------------------------- */

ferry_status dw_narrow_setup(ferry_pg_t *pg, dw_narrow_t *n, const char *table, const char *spec,
                             const char *zone, ferry_err_t *err)
{
    memset(n, 0, sizeof *n);
    ferry_status st = ferry_narrow_open(pg, &n->t, table, spec, zone, FERRY_NARROW_WRITE, err);
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
    ferry_copy_t *cp = ferry_copy_begin(pg, ferry_buf_cstr(&sql), err);
    ferry_buf_free(&sql);
    if (!cp)
        return err->status;
    for (int i = 0; i < n; i++) {
        const dw_rec_t *rc = recs[i];
        if (rc->dropped)
            continue;
        const ferry_reading_t *r = &rc->r;
        ferry_copy_row(cp, with_seq ? 9 : 8);
        ferry_copy_text(cp, r->ship_id.ptr, r->ship_id.len);
        ferry_copy_text(cp, r->channel_id.ptr, r->channel_id.len);
        ferry_copy_timestamptz(cp, r->ts_us);
        if (r->type == FERRY_VALUE_DOUBLE)
            ferry_copy_float8(cp, r->v.d);
        else
            ferry_copy_null(cp);
        if (r->type == FERRY_VALUE_LONG)
            ferry_copy_int8(cp, r->v.l);
        else
            ferry_copy_null(cp);
        if (r->type == FERRY_VALUE_BOOL)
            ferry_copy_bool(cp, r->v.b);
        else
            ferry_copy_null(cp);
        if (r->type == FERRY_VALUE_STRING)
            ferry_copy_text(cp, r->v.s.ptr, r->v.s.len);
        else
            ferry_copy_null(cp);
        if (r->has_unit)
            ferry_copy_text(cp, r->unit.ptr, r->unit.len);
        else
            ferry_copy_null(cp);
        if (with_seq)
            ferry_copy_int4(cp, i);
    }
    return ferry_copy_end(cp, rows, err);
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

/* ---- wide ----------------------------------------------------------------------------- */

typedef struct col_arr {
    ferry_wcol_t *col;
    ferry_buf_t data; /* array elements */
    int nulls;
} col_arr_t;

static void arr_header(ferry_buf_t *out, uint32_t elem_oid, int nelems, int has_null)
{
    ferry_buf_append_be32(out, 1);
    ferry_buf_append_be32(out, has_null ? 1 : 0);
    ferry_buf_append_be32(out, elem_oid);
    ferry_buf_append_be32(out, (uint32_t)nelems);
    ferry_buf_append_be32(out, 1);
}

static uint32_t elem_oid(ferry_wtype t)
{
    switch (t) {
    case FERRY_W_DOUBLE:
        return OID_FLOAT8;
    case FERRY_W_BIGINT:
        return OID_INT8;
    case FERRY_W_BOOL:
        return OID_BOOL;
    case FERRY_W_TEXT:
        return OID_TEXT;
    }
    return OID_TEXT;
}

static uint32_t arr_oid(ferry_wtype t)
{
    switch (t) {
    case FERRY_W_DOUBLE:
        return OID_FLOAT8_ARR;
    case FERRY_W_BIGINT:
        return OID_INT8_ARR;
    case FERRY_W_BOOL:
        return OID_BOOL_ARR;
    case FERRY_W_TEXT:
        return OID_TEXT_ARR;
    }
    return OID_TEXT_ARR;
}

static void append_elem(ferry_buf_t *b, const dw_rec_t *rc)
{
    const ferry_reading_t *r = &rc->r;
    switch (rc->col->type) {
    case FERRY_W_DOUBLE: {
        double d = r->type == FERRY_VALUE_LONG ? (double)r->v.l : r->v.d;
        uint64_t u;
        memcpy(&u, &d, 8);
        ferry_buf_append_be32(b, 8);
        ferry_buf_append_be64(b, u);
        break;
    }
    case FERRY_W_BIGINT: {
        int64_t l = r->type == FERRY_VALUE_DOUBLE ? (int64_t)r->v.d : r->v.l;
        ferry_buf_append_be32(b, 8);
        ferry_buf_append_be64(b, (uint64_t)l);
        break;
    }
    case FERRY_W_BOOL:
        ferry_buf_append_be32(b, 1);
        ferry_buf_append_byte(b, r->v.b ? 1 : 0);
        break;
    case FERRY_W_TEXT:
        ferry_buf_append_be32(b, (uint32_t)r->v.s.len);
        ferry_buf_append(b, r->v.s.ptr, r->v.s.len);
        break;
    }
}

/* Sort key for the wide pivot: ship, table, ts, column. */
static int cmp_wide(const void *a, const void *b)
{
    const dw_rec_t *x = *(dw_rec_t *const *)a, *y = *(dw_rec_t *const *)b;
    if (x->ship != y->ship)
        return x->ship < y->ship ? -1 : 1;
    if (x->col->table != y->col->table)
        return x->col->table < y->col->table ? -1 : 1;
    if (x->r.ts_us != y->r.ts_us)
        return x->r.ts_us < y->r.ts_us ? -1 : 1;
    return x->col < y->col ? -1 : x->col > y->col;
}

/* Writes wide rows recs[lo..hi) (all of one ship table, sorted by ts) in one statement. */
static ferry_status wide_stmt(ferry_pg_t *pg, ferry_wcat_t *cat, dw_rec_t **recs, int lo, int hi,
                              uint64_t epoch, dw_write_stats_t *stats, ferry_err_t *err)
{
    ferry_wship_t *ship = recs[lo]->ship;
    const char *table = ship->tables[recs[lo]->col->table].name;
    /* columns of this chunk */
    int ncols = 0, cap = 16;
    col_arr_t *cols = ferry_xcalloc((size_t)cap, sizeof *cols);
    for (int i = lo; i < hi; i++) {
        ferry_wcol_t *c = recs[i]->col;
        if (c->epoch == epoch)
            continue;
        c->epoch = epoch;
        if (ncols == cap) {
            cap *= 2;
            cols = ferry_xrealloc(cols, (size_t)cap, sizeof *cols);
        }
        memset(&cols[ncols], 0, sizeof cols[ncols]);
        cols[ncols].col = c;
        c->stmt_idx = ncols++;
    }
    /* rows: distinct ts in order; for each row, one element per column (NULL if absent) */
    ferry_buf_t ts = FERRY_BUF_INIT;
    int nrows = 0;
    int *filled = ferry_xcalloc((size_t)ncols, sizeof *filled);
    for (int i = lo; i < hi;) {
        int64_t t = recs[i]->r.ts_us;
        ferry_buf_append_be32(&ts, 8);
        ferry_buf_append_be64(&ts, (uint64_t)(t - PG_EPOCH_US));
        nrows++;
        for (; i < hi && recs[i]->r.ts_us == t; i++) {
            col_arr_t *ca = &cols[recs[i]->col->stmt_idx];
            if (filled[recs[i]->col->stmt_idx] == nrows)
                continue; /* same (ts, column) twice: first wins (dedup'd earlier anyway) */
            /* pad NULLs for rows this column skipped */
            while (filled[recs[i]->col->stmt_idx] < nrows - 1) {
                ferry_buf_append_be32(&ca->data, 0xffffffffu);
                ca->nulls++;
                filled[recs[i]->col->stmt_idx]++;
            }
            append_elem(&ca->data, recs[i]);
            filled[recs[i]->col->stmt_idx] = nrows;
            stats->wide_cells++;
        }
    }
    for (int c = 0; c < ncols; c++) {
        while (filled[c] < nrows) {
            ferry_buf_append_be32(&cols[c].data, 0xffffffffu);
            cols[c].nulls++;
            filled[c]++;
        }
    }
    /* SQL */
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_append_str(&sql, "INSERT INTO ");
    ferry_pg_append_ident(&sql, cat->wide_schema);
    ferry_buf_append_byte(&sql, '.');
    ferry_pg_append_ident(&sql, table);
    ferry_buf_append_str(&sql, " AS t (ts");
    for (int c = 0; c < ncols; c++) {
        ferry_buf_append_str(&sql, ", ");
        ferry_pg_append_ident(&sql, cols[c].col->column);
    }
    ferry_buf_append_str(&sql, ") SELECT * FROM unnest($1::timestamptz[]");
    for (int c = 0; c < ncols; c++)
        ferry_buf_appendf(&sql, ", $%d::%s[]", c + 2, ferry_wtype_sql(cols[c].col->type));
    ferry_buf_append_str(&sql, ") ON CONFLICT (ts) DO UPDATE SET ");
    for (int c = 0; c < ncols; c++) {
        if (c)
            ferry_buf_append_str(&sql, ", ");
        ferry_pg_append_ident(&sql, cols[c].col->column);
        ferry_buf_append_str(&sql, " = COALESCE(t.");
        ferry_pg_append_ident(&sql, cols[c].col->column);
        ferry_buf_append_str(&sql, ", EXCLUDED.");
        ferry_pg_append_ident(&sql, cols[c].col->column);
        ferry_buf_append_byte(&sql, ')');
    }
    /* Only touch a row when it gains a cell: a replay writes nothing. */
    ferry_buf_append_str(&sql, " WHERE ");
    for (int c = 0; c < ncols; c++) {
        if (c)
            ferry_buf_append_str(&sql, " OR ");
        ferry_buf_append_str(&sql, "(t.");
        ferry_pg_append_ident(&sql, cols[c].col->column);
        ferry_buf_append_str(&sql, " IS NULL AND EXCLUDED.");
        ferry_pg_append_ident(&sql, cols[c].col->column);
        ferry_buf_append_str(&sql, " IS NOT NULL)");
    }
    /* parameters */
    int np = ncols + 1;
    ferry_buf_t *pbufs = ferry_xcalloc((size_t)np, sizeof *pbufs);
    const char **vals = ferry_xcalloc((size_t)np, sizeof *vals);
    int *lens = ferry_xcalloc((size_t)np, sizeof *lens);
    int *fmts = ferry_xcalloc((size_t)np, sizeof *fmts);
    Oid *types = ferry_xcalloc((size_t)np, sizeof *types);
    arr_header(&pbufs[0], OID_TIMESTAMPTZ, nrows, 0);
    ferry_buf_append(&pbufs[0], ts.data, ts.len);
    types[0] = OID_TSTZ_ARR;
    for (int c = 0; c < ncols; c++) {
        arr_header(&pbufs[c + 1], elem_oid(cols[c].col->type), nrows, cols[c].nulls > 0);
        ferry_buf_append(&pbufs[c + 1], cols[c].data.data, cols[c].data.len);
        types[c + 1] = arr_oid(cols[c].col->type);
    }
    for (int p = 0; p < np; p++) {
        vals[p] = (const char *)pbufs[p].data;
        lens[p] = (int)pbufs[p].len;
        fmts[p] = 1;
    }
    ferry_status st = FERRY_OK;
    PGresult *res = ferry_pg_query_binary(pg, ferry_buf_cstr(&sql), np, types,
                                          (const char *const *)vals, lens, fmts, err);
    if (res)
        PQclear(res);
    else
        st = err->status;
    stats->wide_stmts++;
    for (int p = 0; p < np; p++)
        ferry_buf_free(&pbufs[p]);
    for (int c = 0; c < ncols; c++) {
        ferry_buf_free(&cols[c].data);
        cols[c].col->stmt_idx = -1;
    }
    free(pbufs);
    free(vals);
    free(lens);
    free(fmts);
    free(types);
    free(filled);
    free(cols);
    ferry_buf_free(&ts);
    ferry_buf_free(&sql);
    return st;
}

static ferry_status write_wide(ferry_pg_t *pg, ferry_wcat_t *cat, dw_rec_t **recs, int n,
                               dw_write_stats_t *stats, ferry_err_t *err)
{
    static uint64_t epoch_counter = 0;
    dw_rec_t **w = ferry_xcalloc((size_t)n, sizeof *w);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!recs[i]->dropped && !recs[i]->no_wide && recs[i]->col)
            w[m++] = recs[i];
    qsort(w, (size_t)m, sizeof *w, cmp_wide);
    ferry_status st = FERRY_OK;
    for (int i = 0; i < m && st == FERRY_OK;) {
        /* one ship table; chunk by a cell budget so sparse data never builds huge arrays */
        int j = i, rows = 0, cols = 0;
        uint64_t epoch = ++epoch_counter;
        while (j < m && w[j]->ship == w[i]->ship && w[j]->col->table == w[i]->col->table) {
            int64_t t = w[j]->r.ts_us;
            int k = j, newcols = 0;
            for (; k < m && w[k]->ship == w[i]->ship && w[k]->col->table == w[i]->col->table &&
                   w[k]->r.ts_us == t;
                 k++)
                if (w[k]->col->epoch != epoch)
                    newcols++;
            if (rows > 0 && ((int64_t)(rows + 1) * (cols + newcols) > WIDE_CELL_BUDGET ||
                             rows >= WIDE_MAX_ROWS))
                break;
            for (int q = j; q < k; q++)
                w[q]->col->epoch = epoch;
            cols += newcols;
            rows++;
            j = k;
        }
        st = wide_stmt(pg, cat, w, i, j, ++epoch_counter, stats, err);
        i = j;
    }
    free(w);
    return st;
}

/* ---- ship state ----------------------------------------------------------------------- */

static ferry_status write_ship_state(ferry_pg_t *pg, dw_rec_t **recs, int n, ferry_err_t *err)
{
    static uint64_t epoch_counter = 0;
    uint64_t epoch = ++epoch_counter;
    /* the first reading (lowest partition/offset) of each ship not yet recorded */
    for (int i = 0; i < n; i++) {
        dw_rec_t *rc = recs[i];
        ferry_wship_t *s = rc->ship;
        if (rc->dropped || s->state_recorded)
            continue;
        if (s->epoch != epoch || rc->partition < s->first_partition ||
            (rc->partition == s->first_partition && rc->offset < s->first_offset)) {
            s->epoch = epoch;
            s->first_partition = rc->partition;
            s->first_offset = rc->offset;
            s->first_ts = rc->r.ts_us;
        }
    }
    ferry_buf_t ships = FERRY_BUF_INIT, tss = FERRY_BUF_INIT, parts = FERRY_BUF_INIT,
                offs = FERRY_BUF_INIT;
    const char *topic = NULL;
    int count = 0;
    for (int i = 0; i < n; i++) {
        ferry_wship_t *s = recs[i]->ship;
        if (recs[i]->dropped || s->state_recorded || s->epoch != epoch)
            continue;
        s->epoch = 0; /* emit once */
        topic = recs[i]->topic;
        char ts[FERRY_TS_FORMAT_MAX], num[24];
        ferry_pg_array_add(&ships, s->ship_id, strlen(s->ship_id));
        /* as text PostgreSQL reads exactly: any time it holds (epoch arithmetic on an
         * interval would overflow near the ends of its range) */
        ferry_ts_format_pg(s->first_ts, ts, sizeof ts);
        ferry_pg_array_add(&tss, ts, strlen(ts));
        snprintf(num, sizeof num, "%d", s->first_partition);
        ferry_pg_array_add(&parts, num, strlen(num));
        snprintf(num, sizeof num, "%lld", (long long)s->first_offset);
        ferry_pg_array_add(&offs, num, strlen(num));
        count++;
    }
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

ferry_status dw_write_batch(ferry_pg_t *pg, ferry_wcat_t *cat, dw_narrow_t *narrow, dw_rec_t **recs,
                            int n, dw_write_stats_t *stats, ferry_err_t *err)
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
        (st = write_wide(pg, cat, recs, n, stats, err)) ||
        (st = write_ship_state(pg, recs, n, err)) || (st = ferry_pg_exec(pg, "COMMIT", err))) {
        ferry_pg_exec(pg, "ROLLBACK", NULL);
        return st;
    }
    for (int i = 0; i < n; i++)
        if (!recs[i]->dropped)
            recs[i]->ship->state_recorded = 1;
    return FERRY_OK;
}
