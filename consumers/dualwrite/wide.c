/* wide.c - the wide half of a dual-write batch: readings pivoted in memory into one
 * INSERT ... SELECT FROM unnest(binary arrays) ON CONFLICT (ts) DO UPDATE per wide table and
 * chunk (see writer.h). */
#include "writer.h"

#include <stdint.h>
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

/* A set of catalog columns, each with its position in the set (the order they were added):
 * the writer's own index, so the catalog entries are never marked. */
typedef struct col_set {
    ferry_map_t *pos; /* the column pointer's bytes -> position + 1 */
    int n;
} col_set_t;

static int col_pos(const col_set_t *s, const ferry_widecat_col_t *c)
{
    return (int)(intptr_t)ferry_map_get(s->pos, &c, sizeof c) - 1;
}

static void col_add(col_set_t *s, const ferry_widecat_col_t *c)
{
    if (col_pos(s, c) < 0) {
        s->n++;
        ferry_map_put(s->pos, &c, sizeof c, (void *)(intptr_t)s->n);
    }
}

/* One column of a statement: its array elements. */
typedef struct col_arr {
    ferry_widecat_col_t *col;
    ferry_buf_t data; /* array elements */
    int nulls;
    int filled; /* rows with an element so far */
} col_arr_t;

static void arr_header(ferry_buf_t *out, uint32_t elem_oid, int nelems, int has_null)
{
    ferry_buf_append_be32(out, 1);
    ferry_buf_append_be32(out, has_null ? 1 : 0);
    ferry_buf_append_be32(out, elem_oid);
    ferry_buf_append_be32(out, (uint32_t)nelems);
    ferry_buf_append_be32(out, 1);
}

static uint32_t elem_oid(ferry_wtype_t t)
{
    switch (t) {
    case FERRY_WTYPE_DOUBLE:
        return OID_FLOAT8;
    case FERRY_WTYPE_BIGINT:
        return OID_INT8;
    case FERRY_WTYPE_BOOL:
        return OID_BOOL;
    case FERRY_WTYPE_TEXT:
        return OID_TEXT;
    }
    return OID_TEXT;
}

static uint32_t arr_oid(ferry_wtype_t t)
{
    switch (t) {
    case FERRY_WTYPE_DOUBLE:
        return OID_FLOAT8_ARR;
    case FERRY_WTYPE_BIGINT:
        return OID_INT8_ARR;
    case FERRY_WTYPE_BOOL:
        return OID_BOOL_ARR;
    case FERRY_WTYPE_TEXT:
        return OID_TEXT_ARR;
    }
    return OID_TEXT_ARR;
}

static void append_elem(ferry_buf_t *b, const dw_rec_t *rc)
{
    const ferry_reading_t *r = &rc->r;
    switch (rc->col->type) {
    case FERRY_WTYPE_DOUBLE: {
        double d = r->type == FERRY_VALUE_LONG ? (double)r->v.l : r->v.d;
        uint64_t u;
        memcpy(&u, &d, 8);
        ferry_buf_append_be32(b, 8);
        ferry_buf_append_be64(b, u);
        break;
    }
    case FERRY_WTYPE_BIGINT: {
        int64_t l = r->type == FERRY_VALUE_DOUBLE ? (int64_t)r->v.d : r->v.l;
        ferry_buf_append_be32(b, 8);
        ferry_buf_append_be64(b, (uint64_t)l);
        break;
    }
    case FERRY_WTYPE_BOOL:
        ferry_buf_append_be32(b, 1);
        ferry_buf_append_byte(b, r->v.b ? 1 : 0);
        break;
    case FERRY_WTYPE_TEXT:
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

/* Pads column `ca` with NULL elements up to `rows` rows. */
static void pad_nulls(col_arr_t *ca, int rows)
{
    while (ca->filled < rows) {
        ferry_buf_append_be32(&ca->data, 0xffffffffu);
        ca->nulls++;
        ca->filled++;
    }
}

/* Pivots recs[lo..hi) (one ship table, sorted by ts) into the timestamps array `ts` and one
 * element array per column (NULL where a row has no cell). Returns the number of rows. */
static int pivot(dw_rec_t **recs, int lo, int hi, const col_set_t *set, col_arr_t *cols,
                 ferry_buf_t *ts, dw_write_stats_t *stats)
{
    int nrows = 0;
    for (int i = lo; i < hi;) {
        int64_t t = recs[i]->r.ts_us;
        ferry_buf_append_be32(ts, 8);
        ferry_buf_append_be64(ts, (uint64_t)(t - PG_EPOCH_US));
        nrows++;
        for (; i < hi && recs[i]->r.ts_us == t; i++) {
            col_arr_t *ca = &cols[col_pos(set, recs[i]->col)];
            if (ca->filled == nrows)
                continue; /* same (ts, column) twice: first wins (dedup'd earlier anyway) */
            pad_nulls(ca, nrows - 1);
            append_elem(&ca->data, recs[i]);
            ca->filled = nrows;
            stats->wide_cells++;
        }
    }
    for (int c = 0; c < set->n; c++)
        pad_nulls(&cols[c], nrows);
    return nrows;
}

/* INSERT INTO <table> AS t (ts, cols...) SELECT * FROM unnest($1, $2, ...) ON CONFLICT (ts) DO
 * UPDATE: a cell already there is kept (COALESCE(old, new)), and a row is touched only when it
 * gains a cell, so a replay writes nothing. */
static void wide_sql(ferry_buf_t *sql, const char *schema, const char *table, const col_arr_t *cols,
                     int ncols)
{
    ferry_buf_append_str(sql, "INSERT INTO ");
    ferry_pg_append_qualified(sql, schema, table);
    ferry_buf_append_str(sql, " AS t (ts");
    for (int c = 0; c < ncols; c++) {
        ferry_buf_append_str(sql, ", ");
        ferry_pg_append_ident(sql, cols[c].col->column);
    }
    ferry_buf_append_str(sql, ") SELECT * FROM unnest($1::timestamptz[]");
    for (int c = 0; c < ncols; c++)
        ferry_buf_appendf(sql, ", $%d::%s[]", c + 2, ferry_wtype_sql(cols[c].col->type));
    ferry_buf_append_str(sql, ") ON CONFLICT (ts) DO UPDATE SET ");
    for (int c = 0; c < ncols; c++) {
        const char *col = cols[c].col->column;
        if (c)
            ferry_buf_append_str(sql, ", ");
        ferry_pg_append_ident(sql, col);
        ferry_buf_append_str(sql, " = COALESCE(t.");
        ferry_pg_append_ident(sql, col);
        ferry_buf_append_str(sql, ", EXCLUDED.");
        ferry_pg_append_ident(sql, col);
        ferry_buf_append_byte(sql, ')');
    }
    ferry_buf_append_str(sql, " WHERE ");
    for (int c = 0; c < ncols; c++) {
        const char *col = cols[c].col->column;
        if (c)
            ferry_buf_append_str(sql, " OR ");
        ferry_buf_append_str(sql, "(t.");
        ferry_pg_append_ident(sql, col);
        ferry_buf_append_str(sql, " IS NULL AND EXCLUDED.");
        ferry_pg_append_ident(sql, col);
        ferry_buf_append_str(sql, " IS NOT NULL)");
    }
}

/* Runs `sql` with the timestamps and the columns' arrays as binary parameters. */
static ferry_status run_wide(ferry_pg_t *pg, const char *sql, const ferry_buf_t *ts, int nrows,
                             const col_arr_t *cols, int ncols, ferry_err_t *err)
{
    int np = ncols + 1;
    ferry_buf_t *pbufs = ferry_xcalloc((size_t)np, sizeof *pbufs);
    const char **vals = ferry_xcalloc((size_t)np, sizeof *vals);
    int *lens = ferry_xcalloc((size_t)np, sizeof *lens);
    int *fmts = ferry_xcalloc((size_t)np, sizeof *fmts);
    Oid *types = ferry_xcalloc((size_t)np, sizeof *types);
    arr_header(&pbufs[0], OID_TIMESTAMPTZ, nrows, 0);
    ferry_buf_append(&pbufs[0], ts->data, ts->len);
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
    PGresult *res =
        ferry_pg_query_binary(pg, sql, np, types, (const char *const *)vals, lens, fmts, err);
    if (res)
        PQclear(res);
    else
        st = err->status;
    for (int p = 0; p < np; p++)
        ferry_buf_free(&pbufs[p]);
    free(pbufs);
    free(vals);
    free(lens);
    free(fmts);
    free(types);
    return st;
}

/* Writes wide rows recs[lo..hi) (all of one ship table, sorted by ts) in one statement. */
static ferry_status wide_stmt(ferry_pg_t *pg, ferry_widecat_t *cat, dw_rec_t **recs, int lo, int hi,
                              dw_write_stats_t *stats, ferry_err_t *err)
{
    ferry_widecat_ship_t *ship = recs[lo]->ship;
    const char *table = ship->tables[recs[lo]->col->table].name;
    col_set_t set = {ferry_map_new(), 0};
    for (int i = lo; i < hi; i++)
        col_add(&set, recs[i]->col);
    col_arr_t *cols = ferry_xcalloc((size_t)set.n, sizeof *cols);
    for (int i = lo; i < hi; i++)
        cols[col_pos(&set, recs[i]->col)].col = recs[i]->col;
    ferry_buf_t ts = FERRY_BUF_INIT, sql = FERRY_BUF_INIT;
    int nrows = pivot(recs, lo, hi, &set, cols, &ts, stats);
    wide_sql(&sql, cat->wide_schema, table, cols, set.n);
    ferry_status st = run_wide(pg, ferry_buf_cstr(&sql), &ts, nrows, cols, set.n, err);
    stats->wide_stmts++;
    for (int c = 0; c < set.n; c++)
        ferry_buf_free(&cols[c].data);
    free(cols);
    ferry_map_destroy(set.pos);
    ferry_buf_free(&ts);
    ferry_buf_free(&sql);
    return st;
}

/* The end of the statement that starts at w[i]: the rows of one ship table, cut by a cell
 * budget (rows x columns) so that sparse data never builds huge arrays. */
static int chunk_end(dw_rec_t **w, int i, int m)
{
    col_set_t seen = {ferry_map_new(), 0};
    int j = i, rows = 0;
    while (j < m && w[j]->ship == w[i]->ship && w[j]->col->table == w[i]->col->table) {
        int64_t t = w[j]->r.ts_us;
        int k = j, newcols = 0;
        for (; k < m && w[k]->ship == w[i]->ship && w[k]->col->table == w[i]->col->table &&
               w[k]->r.ts_us == t;
             k++)
            if (col_pos(&seen, w[k]->col) < 0)
                newcols++;
        if (rows > 0 &&
            ((int64_t)(rows + 1) * (seen.n + newcols) > WIDE_CELL_BUDGET || rows >= WIDE_MAX_ROWS))
            break;
        for (int q = j; q < k; q++)
            col_add(&seen, w[q]->col);
        rows++;
        j = k;
    }
    ferry_map_destroy(seen.pos);
    return j;
}

ferry_status dw_write_wide(ferry_pg_t *pg, ferry_widecat_t *cat, dw_rec_t **recs, int n,
                           dw_write_stats_t *stats, ferry_err_t *err)
{
    dw_rec_t **w = ferry_xcalloc((size_t)n, sizeof *w);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!recs[i]->dropped && !recs[i]->no_wide && recs[i]->col)
            w[m++] = recs[i];
    qsort(w, (size_t)m, sizeof *w, cmp_wide);
    ferry_status st = FERRY_OK;
    for (int i = 0; i < m && st == FERRY_OK;) {
        int j = chunk_end(w, i, m);
        st = wide_stmt(pg, cat, w, i, j, stats, err);
        i = j;
    }
    free(w);
    return st;
}
