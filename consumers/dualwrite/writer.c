/* writer.c - one dual-write batch in one PostgreSQL transaction (see writer.h). */
#include "writer.h"
#include "ferry/log.h"

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

static char *quote(const char *s)
{
    return ferry_pg_quote_ident(s);
}

/* "a.b" -> "a"."b"; "b" -> "b". */
static const char *spec_get(char **keys, char **vals, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(keys[i], key) == 0)
            return vals[i];
    return NULL;
}

ferry_status dw_narrow_setup(ferry_pg_t *pg, dw_narrow_t *n, const char *table, const char *spec,
                             ferry_err_t *err)
{
    memset(n, 0, sizeof *n);
    if (!table || !*table)
        return ferry_err_set(err, FERRY_USAGE, "--narrow-table must not be empty");
    n->table_sql = ferry_pg_quote_qualified(table);
    if (!spec) {
        ferry_buf_t sql = FERRY_BUF_INIT;
        ferry_buf_appendf(&sql,
                          "BEGIN; SELECT pg_advisory_xact_lock(4242000002);"
                          " CREATE TABLE IF NOT EXISTS %s ("
                          " ship_id text NOT NULL, channel_id text NOT NULL,"
                          " ts timestamptz NOT NULL, value_double double precision,"
                          " value_long bigint, value_bool boolean, value_text text, unit text,"
                          " PRIMARY KEY (ship_id, channel_id, ts)); COMMIT",
                          n->table_sql);
        /* Several workers may start at once: the transaction-level lock is held until the
         * CREATE is committed, so the second one sees the table. */
        ferry_status st = ferry_pg_exec(pg, ferry_buf_cstr(&sql), err);
        if (st)
            ferry_pg_exec(pg, "ROLLBACK", NULL);
        ferry_buf_free(&sql);
        return st;
    }
    /* legacy: ship=COL,channel=COL,time=COL,value=COL[,unit=COL] */
    char *copy = strdup(spec), *save = NULL;
    char *keys[8], *vals[8];
    int nk = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && nk < 8; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            free(copy);
            return ferry_err_set(err, FERRY_USAGE,
                                 "--narrow-columns: expected key=COLUMN, got '%s'", tok);
        }
        *eq = '\0';
        keys[nk] = tok;
        vals[nk++] = eq + 1;
    }
    const char *cs = spec_get(keys, vals, nk, "ship"), *cc = spec_get(keys, vals, nk, "channel"),
               *ct = spec_get(keys, vals, nk, "time"), *cv = spec_get(keys, vals, nk, "value"),
               *cu = spec_get(keys, vals, nk, "unit");
    if (!cs || !ct || !cc || !cv) {
        free(copy);
        return ferry_err_set(err, FERRY_USAGE,
                             "--narrow-columns needs ship=, channel=, time= and value= (unit= "
                             "optional)");
    }
    n->legacy = 1;
    n->use_stage = 1;
    n->col_ship = quote(cs);
    n->col_channel = quote(cc);
    n->col_time = quote(ct);
    n->col_value = quote(cv);
    n->col_unit = cu ? quote(cu) : NULL;
    /* The value column's type, and a unique index on (ship, channel, time). */
    const char *p[] = {table, cv, cs, cc, ct};
    char type[128];
    ferry_status st = ferry_pg_query_value(
        pg,
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
        " WHERE a.attrelid = $1::regclass AND a.attname = $2 AND NOT a.attisdropped",
        2, p, type, sizeof type, err);
    if (st == FERRY_OK && !type[0])
        st = ferry_err_set(err, FERRY_USAGE, "narrow table %s has no column %s", table, cv);
    if (st == FERRY_OK) {
        n->value_type = strdup(type);
        n->value_numeric = strstr(type, "double") || strstr(type, "real") ||
                           strstr(type, "numeric") || strstr(type, "int");
        if (!n->value_numeric && !strstr(type, "text") && !strstr(type, "char"))
            st = ferry_err_set(err, FERRY_USAGE,
                               "narrow value column %s is %s; ferry writes numeric or text value "
                               "columns",
                               cv, type);
    }
    if (st == FERRY_OK) {
        char ok[8];
        st = ferry_pg_query_value(
            pg,
            "SELECT count(*) FROM pg_index i WHERE i.indrelid = $1::regclass AND i.indisunique"
            " AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a"
            "      WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey))"
            "   = (SELECT array_agg(x ORDER BY x) FROM unnest(ARRAY[$3, $4, $5]) x)",
            5, p, ok, sizeof ok, err);
        if (st == FERRY_OK && strcmp(ok, "0") == 0)
            st = ferry_err_set(err, FERRY_USAGE,
                               "narrow table %s needs a unique index or primary key on (%s, %s, "
                               "%s) so that writes are idempotent; create it first",
                               table, cs, cc, ct);
    }
    free(copy);
    return st;
}

void dw_narrow_free(dw_narrow_t *n)
{
    free(n->table_sql);
    free(n->col_ship);
    free(n->col_channel);
    free(n->col_time);
    free(n->col_value);
    free(n->col_unit);
    free(n->value_type);
    memset(n, 0, sizeof *n);
}

int dw_narrow_rejects(const dw_narrow_t *n, const ferry_reading_t *r)
{
    return n->legacy && n->value_numeric &&
           (r->type == FERRY_VALUE_BOOL || r->type == FERRY_VALUE_STRING);
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

static ferry_status narrow_via_stage(ferry_pg_t *pg, dw_narrow_t *nw, dw_rec_t **recs, int n,
                                     int64_t *inserted, ferry_err_t *err)
{
    ferry_status st = ferry_pg_exec(
        pg,
        "CREATE TEMP TABLE IF NOT EXISTS ferry_narrow_stage (ship_id text, channel_id text,"
        " ts timestamptz, value_double double precision, value_long bigint, value_bool boolean,"
        " value_text text, unit text, seq int) ON COMMIT DELETE ROWS",
        err);
    if (st)
        return st;
    int64_t staged = 0;
    if ((st = copy_narrow(pg, "ferry_narrow_stage", 1, recs, n, &staged, err)))
        return st;
    ferry_buf_t sql = FERRY_BUF_INIT;
    /* Readings whose narrow row exists already (a replay, or history the legacy system
     * wrote) keep that row (first write wins), and their wide cell takes the value of that
     * row, not of the reading: wide can never disagree with narrow, and a replay after a
     * rollback restores exactly what narrow holds. */
    if (!nw->legacy)
        ferry_buf_appendf(&sql,
                          "SELECT s.seq, n.value_double, n.value_long, n.value_bool, n.value_text"
                          " FROM ferry_narrow_stage s JOIN %s n ON n.ship_id = s.ship_id"
                          " AND n.channel_id = s.channel_id AND n.ts = s.ts",
                          nw->table_sql);
    else
        ferry_buf_appendf(&sql,
                          "SELECT s.seq, %s%s%s, NULL::bigint, NULL::boolean, %s%s%s"
                          " FROM ferry_narrow_stage s JOIN %s n ON n.%s = s.ship_id"
                          " AND n.%s = s.channel_id AND n.%s = s.ts",
                          nw->value_numeric ? "n." : "", nw->value_numeric ? nw->col_value : "",
                          nw->value_numeric ? "::double precision" : "NULL::double precision",
                          nw->value_numeric ? "" : "n.", nw->value_numeric ? "" : nw->col_value,
                          nw->value_numeric ? "NULL::text" : "::text", nw->table_sql, nw->col_ship,
                          nw->col_channel, nw->col_time);
    PGresult *dup = ferry_pg_query(pg, ferry_buf_cstr(&sql), 0, NULL, err);
    if (!dup) {
        ferry_buf_free(&sql);
        return err->status;
    }
    for (int i = 0; i < PQntuples(dup); i++) {
        int k = atoi(PQgetvalue(dup, i, 0));
        if (k < 0 || k >= n)
            continue;
        dw_rec_t *rc = recs[k];
        ferry_reading_t *r = &rc->r;
        free(rc->owned);
        rc->owned = NULL;
        if (!PQgetisnull(dup, i, 1)) {
            r->type = FERRY_VALUE_DOUBLE;
            r->v.d = strtod(PQgetvalue(dup, i, 1), NULL);
        } else if (!PQgetisnull(dup, i, 2)) {
            r->type = FERRY_VALUE_LONG;
            r->v.l = strtoll(PQgetvalue(dup, i, 2), NULL, 10);
        } else if (!PQgetisnull(dup, i, 3)) {
            r->type = FERRY_VALUE_BOOL;
            r->v.b = PQgetvalue(dup, i, 3)[0] == 't';
        } else if (!PQgetisnull(dup, i, 4)) {
            rc->owned = strdup(PQgetvalue(dup, i, 4));
            r->type = FERRY_VALUE_STRING;
            r->v.s = (ferry_str_t){rc->owned, strlen(rc->owned)};
        } else {
            r->type = FERRY_VALUE_NULL;
        }
        if (!rc->col || r->type == FERRY_VALUE_NULL || ferry_wtype_fits(rc->col->type, r) != 0)
            rc->no_wide = 1;
    }
    PQclear(dup);
    ferry_buf_reset(&sql);
    if (!nw->legacy) {
        ferry_buf_appendf(&sql,
                          "INSERT INTO %s SELECT ship_id, channel_id, ts, value_double, value_long,"
                          " value_bool, value_text, unit FROM ferry_narrow_stage"
                          " ON CONFLICT DO NOTHING",
                          nw->table_sql);
    } else {
        const char *expr =
            nw->value_numeric
                ? "COALESCE(value_double, value_long::double precision)"
                : "COALESCE(value_text, value_long::text, value_bool::text, value_double::text)";
        ferry_buf_appendf(&sql,
                          "INSERT INTO %s (%s, %s, %s, %s%s%s) SELECT ship_id, channel_id,"
                          " ts, (%s)::%s%s FROM ferry_narrow_stage ON CONFLICT DO NOTHING",
                          nw->table_sql, nw->col_ship, nw->col_channel, nw->col_time, nw->col_value,
                          nw->col_unit ? ", " : "", nw->col_unit ? nw->col_unit : "", expr,
                          nw->value_type, nw->col_unit ? ", unit" : "");
    }
    PGresult *res = ferry_pg_query(pg, ferry_buf_cstr(&sql), 0, NULL, err);
    ferry_buf_free(&sql);
    if (!res)
        return err->status;
    *inserted = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    if (!nw->legacy)
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
        st = copy_narrow(pg, nw->table_sql, 0, recs, n, &rows, err);
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
    col_arr_t *cols = calloc((size_t)cap, sizeof *cols);
    for (int i = lo; i < hi; i++) {
        ferry_wcol_t *c = recs[i]->col;
        if (c->epoch == epoch)
            continue;
        c->epoch = epoch;
        if (ncols == cap) {
            cap *= 2;
            cols = realloc(cols, (size_t)cap * sizeof *cols);
        }
        memset(&cols[ncols], 0, sizeof cols[ncols]);
        cols[ncols].col = c;
        c->stmt_idx = ncols++;
    }
    /* rows: distinct ts in order; for each row, one element per column (NULL if absent) */
    ferry_buf_t ts = FERRY_BUF_INIT;
    int nrows = 0;
    int *filled = calloc((size_t)ncols, sizeof *filled);
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
    ferry_buf_t *pbufs = calloc((size_t)np, sizeof *pbufs);
    const char **vals = calloc((size_t)np, sizeof *vals);
    int *lens = calloc((size_t)np, sizeof *lens);
    int *fmts = calloc((size_t)np, sizeof *fmts);
    Oid *types = calloc((size_t)np, sizeof *types);
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
    PGresult *res =
        PQexecParams(ferry_pg_conn(pg), ferry_buf_cstr(&sql), np, types, vals, lens, fmts, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        st = ferry_pg_classify(pg, res, "wide upsert", err);
    PQclear(res);
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
    dw_rec_t **w = malloc((size_t)(n ? n : 1) * sizeof *w);
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
        const char *sep = count ? "," : "{";
        ferry_buf_append_str(&ships, sep);
        ferry_buf_append_byte(&ships, '"');
        for (const char *p = s->ship_id; *p; p++) {
            if (*p == '"' || *p == '\\')
                ferry_buf_append_byte(&ships, '\\');
            ferry_buf_append_byte(&ships, (unsigned char)*p);
        }
        ferry_buf_append_byte(&ships, '"');
        ferry_buf_appendf(&tss, "%s%lld", sep, (long long)s->first_ts);
        ferry_buf_appendf(&parts, "%s%d", sep, s->first_partition);
        ferry_buf_appendf(&offs, "%s%lld", sep, (long long)s->first_offset);
        count++;
    }
    ferry_status st = FERRY_OK;
    if (count) {
        ferry_buf_append_byte(&ships, '}');
        ferry_buf_append_byte(&tss, '}');
        ferry_buf_append_byte(&parts, '}');
        ferry_buf_append_byte(&offs, '}');
        const char *p[] = {ferry_buf_cstr(&ships), ferry_buf_cstr(&tss), topic,
                           ferry_buf_cstr(&parts), ferry_buf_cstr(&offs)};
        PGresult *res = ferry_pg_query(
            pg,
            "INSERT INTO ferry.ship_state (ship_id, cutoff_ts, first_topic, first_partition,"
            " first_offset) SELECT s, 'epoch'::timestamptz + us * interval '1 microsecond', $3,"
            " p, o FROM unnest($1::text[], $2::bigint[], $4::int[], $5::bigint[]) AS x(s, us, p, o)"
            " ON CONFLICT (ship_id) DO NOTHING",
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
    for (int i = 0; i < n; i++)
        recs[i]->no_wide = 0;
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
