/* pivot.c - one part table of a backfill chunk, inside the writer's open transaction: the
 * chunk's narrow rows of the table's channels streamed out with COPY (ordered by time) on the
 * reader connection, pivoted in memory one timestamp at a time, COPYd into a staging table on
 * the writer, and merged into the wide table, where a cell already there (written by
 * dual-write) is never replaced. Memory is bounded by one wide row and the COPY buffers,
 * whatever the chunk size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/pg.h"
#include "ferry/migration.h"

#define PG_EPOCH_US      946684800000000LL
#define MAX_REJECTS_KEPT 10000

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One narrow row from binary COPY: ts, channel, and the four typed value columns. */
typedef struct nrow {
    int64_t ts;
    const char *chan;
    size_t chanlen;
    ferry_reading_t r; /* type and value */
} nrow_t;

/* Parses one CopyData message of `COPY (SELECT ts, channel_id, vd, vl, vb, vt) TO STDOUT
 * (FORMAT binary)`. Returns 1 for a row, 0 for the trailer, -1 on a malformed message. */
static int parse_row(const unsigned char *d, size_t len, int *first, nrow_t *row)
{
    size_t off = 0;
    if (*first) {
        if (len < 19 || memcmp(d, "PGCOPY\n\377\r\n", 11) != 0)
            return -1;
        off = 19 + be32(d + 15);
        *first = 0;
    }
    if (len - off < 2)
        return -1;
    int16_t nf = (int16_t)((d[off] << 8) | d[off + 1]);
    off += 2;
    if (nf == -1)
        return 0;
    if (nf != 6)
        return -1;
    const unsigned char *f[6];
    int32_t fl[6];
    for (int i = 0; i < 6; i++) {
        if (len - off < 4)
            return -1;
        fl[i] = (int32_t)be32(d + off);
        off += 4;
        f[i] = d + off;
        if (fl[i] > 0) {
            if ((size_t)fl[i] > len - off)
                return -1;
            off += (size_t)fl[i];
        }
    }
    if (fl[0] != 8 || fl[1] < 0)
        return -1;
    memset(row, 0, sizeof *row);
    row->ts = (int64_t)be64(f[0]) + PG_EPOCH_US;
    row->chan = (const char *)f[1];
    row->chanlen = (size_t)fl[1];
    row->r.ts_us = row->ts;
    if (fl[2] == 8) {
        uint64_t u = be64(f[2]);
        row->r.type = FERRY_VALUE_DOUBLE;
        memcpy(&row->r.v.d, &u, 8);
    } else if (fl[3] == 8) {
        row->r.type = FERRY_VALUE_LONG;
        row->r.v.l = (int64_t)be64(f[3]);
    } else if (fl[4] == 1) {
        row->r.type = FERRY_VALUE_BOOL;
        row->r.v.b = f[4][0] != 0;
    } else if (fl[5] >= 0) {
        row->r.type = FERRY_VALUE_STRING;
        row->r.v.s = (ferry_str_t){(const char *)f[5], (size_t)fl[5]};
    } else {
        row->r.type = FERRY_VALUE_NULL;
    }
    return 1;
}

static void add_reject(bf_worker_t *w, const nrow_t *row, const char *reason)
{
    w->nrejected++;
    if (w->nrejects >= MAX_REJECTS_KEPT)
        return;
    w->rejects = ferry_xrealloc(w->rejects, (size_t)(w->nrejects + 1), sizeof *w->rejects);
    bf_reject_t *r = &w->rejects[w->nrejects++];
    r->channel = ferry_xstrndup(row->chan, row->chanlen);
    r->ts = row->ts;
    ferry_buf_t v = FERRY_BUF_INIT;
    ferry_value_append_text(&row->r, &v);
    r->value = ferry_xstrndup(ferry_buf_cstr(&v), v.len);
    ferry_buf_free(&v);
    r->reason = reason;
}

static void want_widen(bf_worker_t *w, const char *channel)
{
    for (int i = 0; i < w->nwiden; i++)
        if (strcmp(w->widen[i], channel) == 0)
            return;
    w->widen = ferry_xrealloc(w->widen, (size_t)(w->nwiden + 1), sizeof *w->widen);
    w->widen[w->nwiden++] = ferry_xstrndup(channel, strlen(channel));
}

/* Sets the chunk's coordinates as settings of the reader's transaction, so the COPY query
 * reads them with current_setting(): COPY takes no parameters, and values never go into
 * SQL text. */
static ferry_status set_chunk_settings(ferry_pg_t *pg, const bf_chunk_t *c, const char *channels,
                                       ferry_err_t *err)
{
    char a[48], b[48];
    ferry_migration_ts_param(c->start_us, a, sizeof a);
    ferry_migration_ts_param(c->end_us, b, sizeof b);
    const char *p[] = {c->ship, a, b, channels};
    PGresult *res = ferry_pg_query(pg,
                                   "SELECT set_config('ferry.bf_ship', $1, true),"
                                   " set_config('ferry.bf_from', $2, true),"
                                   " set_config('ferry.bf_to', $3, true),"
                                   " set_config('ferry.bf_channels', $4, true),"
                                   /* a streaming read gains nothing from JIT compilation,
                                    * which costs up to 0.2 s per chunk */
                                   " set_config('jit', 'off', true)",
                                   4, p, err);
    if (!res)
        return err->status;
    PQclear(res);
    return FERRY_OK;
}

/* The columns of one part table, by their position in the staging table, and the wide row being
 * built. */
typedef struct part_ctx {
    ferry_widecat_col_t **cols; /* by position in the staging table */
    int ncols;
    ferry_map_t *pos; /* the column pointer's bytes -> position + 1 */
    int *has;
    nrow_t *cells; /* value per position for the current timestamp */
    char **texts;  /* copies of text values of the current row */
    int table;
} part_ctx_t;

static void collect_part_cols(const void *k, size_t l, void *v, void *opaque)
{
    part_ctx_t *pc = opaque;
    ferry_widecat_col_t *c = v;
    if (c->table != pc->table)
        return;
    pc->cols = ferry_xrealloc(pc->cols, (size_t)pc->ncols + 1, sizeof *pc->cols);
    pc->cols[pc->ncols++] = c;
    ferry_map_put(pc->pos, &c, sizeof c, (void *)(intptr_t)pc->ncols);
}

/* The position of column c in the part, or -1 when it is another table's. */
static int part_pos(const part_ctx_t *pc, const ferry_widecat_col_t *c)
{
    return (int)(intptr_t)ferry_map_get(pc->pos, &c, sizeof c) - 1;
}

static void part_free(part_ctx_t *pc)
{
    for (int i = 0; i < pc->ncols; i++)
        free(pc->texts[i]);
    free(pc->texts);
    free(pc->cells);
    free(pc->has);
    free(pc->cols);
    ferry_map_destroy(pc->pos);
}

/* Emits the current wide row (ts + one field per column) into the staging COPY. */
static void emit_row(ferry_pg_copy_t *cp, part_ctx_t *pc, int64_t ts, int64_t *cells)
{
    ferry_pg_copy_row(cp, (int16_t)(pc->ncols + 1));
    ferry_pg_copy_timestamptz(cp, ts);
    for (int i = 0; i < pc->ncols; i++) {
        if (!pc->has[i]) {
            ferry_pg_copy_null(cp);
            continue;
        }
        const ferry_reading_t *r = &pc->cells[i].r;
        (*cells)++;
        switch (pc->cols[i]->type) {
        case FERRY_WTYPE_DOUBLE:
            ferry_pg_copy_float8(cp, r->type == FERRY_VALUE_LONG ? (double)r->v.l : r->v.d);
            break;
        case FERRY_WTYPE_BIGINT:
            ferry_pg_copy_int8(cp, r->type == FERRY_VALUE_DOUBLE ? (int64_t)r->v.d : r->v.l);
            break;
        case FERRY_WTYPE_BOOL:
            ferry_pg_copy_bool(cp, r->v.b);
            break;
        case FERRY_WTYPE_TEXT:
            ferry_pg_copy_text(cp, pc->texts[i], strlen(pc->texts[i]));
            break;
        }
        pc->has[i] = 0;
    }
}

/* Creates the staging table (the wide table's columns, no constraints) and starts the COPY
 * into it of the part's columns; `chans` receives the text[] of their channels. */
static ferry_pg_copy_t *stage_begin(bf_worker_t *w, const char *wide, const part_ctx_t *pc,
                                    ferry_buf_t *chans, ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_appendf(&sql, "CREATE TEMP TABLE ferry_bf_stage (LIKE ");
    ferry_pg_append_qualified(&sql, w->cat->wide_schema, wide);
    ferry_buf_append_str(&sql, ") ON COMMIT DROP");
    ferry_pg_copy_t *in = NULL;
    if (ferry_pg_exec(w->pg, ferry_buf_cstr(&sql), err) == FERRY_OK) {
        ferry_buf_reset(&sql);
        ferry_buf_append_str(&sql, "COPY ferry_bf_stage (ts");
        for (int i = 0; i < pc->ncols; i++) {
            ferry_buf_append_str(&sql, ", ");
            ferry_pg_append_ident(&sql, pc->cols[i]->column);
            ferry_pg_array_add(chans, pc->cols[i]->channel, strlen(pc->cols[i]->channel));
        }
        ferry_pg_array_close(chans);
        ferry_buf_append_str(&sql, ") FROM STDIN (FORMAT binary)");
        in = ferry_pg_copy_begin(w->pg, ferry_buf_cstr(&sql), err);
    }
    ferry_buf_free(&sql);
    return in;
}

/* Starts, on the reader, the COPY OUT of the chunk's narrow rows of the channels `chans` in
 * time order, in a read-only transaction (rolled back here on failure). */
static ferry_status reader_begin(bf_worker_t *w, const bf_chunk_t *c, const char *chans,
                                 ferry_err_t *err)
{
    ferry_status st;
    if ((st = ferry_pg_exec(w->rd, "BEGIN READ ONLY", err)) ||
        (st = set_chunk_settings(w->rd, c, chans, err)))
        return st;
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_append_str(&sql, "COPY (SELECT x.ts, x.channel_id, x.value_double, x.value_long,"
                               " x.value_bool, x.value_text FROM (");
    /* Always by channel, also for a ship with one wide table: the narrow table is usually
     * indexed (ship, channel, ts) and years long, so ship + time alone would scan all of the
     * ship's history for every chunk, while ship + channel + time ranges the index once per
     * channel. The channels go as a set, not "= ANY(array)": COPY takes no parameters, so the
     * array is not a constant at plan time and ANY, evaluated as a filter, compares each row
     * with every channel in turn (no hashed lookup). */
    ferry_narrow_filter_t nf = {.ship = "current_setting('ferry.bf_ship')",
                                .channels = "current_setting('ferry.bf_channels')",
                                .from = "current_setting('ferry.bf_from')",
                                .to = "current_setting('ferry.bf_to')"};
    ferry_narrow_select(&w->src, &nf, &sql);
    ferry_buf_append_str(&sql, ") x");
    ferry_buf_append_str(&sql, " ORDER BY x.ts) TO STDOUT (FORMAT binary)");
    st = ferry_pg_copy_out_begin(w->rd, ferry_buf_cstr(&sql), err);
    ferry_buf_free(&sql);
    if (st)
        ferry_pg_exec(w->rd, "ROLLBACK", NULL);
    return st;
}

/* Takes one narrow row into the wide row being built (a value that does not fit its column
 * becomes a reject). A channel without a column here is another table's, or one dual-write
 * added since the chunk's columns were made (it wrote that reading into the wide table
 * itself). */
static void take_row(bf_worker_t *w, ferry_widecat_ship_t *ship, part_ctx_t *pc, const nrow_t *row)
{
    ferry_widecat_col_t *col =
        row->r.type != FERRY_VALUE_NULL ? ferry_map_get(ship->cols, row->chan, row->chanlen) : NULL;
    int i = col ? part_pos(pc, col) : -1;
    if (i < 0)
        return;
    int f = ferry_wtype_fits(col->type, &row->r);
    if (f > 0 && !col->widen_refused)
        want_widen(w, col->channel);
    if (f != 0) {
        add_reject(w, row, f > 0 ? "fraction_in_bigint_column" : "type_conflict");
    } else if (!pc->has[i]) { /* duplicate (ts, channel) cannot happen: primary key */
        pc->has[i] = 1;
        pc->cells[i] = *row;
        if (row->r.type == FERRY_VALUE_STRING) {
            free(pc->texts[i]);
            pc->texts[i] = ferry_xstrndup(row->r.v.s.ptr, row->r.v.s.len);
        }
    }
}

/* Reads the reader's COPY OUT to its end, pivoting rows into the staging COPY `in`. Returns
 * the last ferry_pg_copy_out_next() result (-1 at the end, -2 on a connection error, >= 0 when
 * it stopped early, with *st saying why). */
static int stream_rows(bf_worker_t *w, ferry_widecat_ship_t *ship, part_ctx_t *pc,
                       ferry_pg_copy_t *in, int64_t *rows_read, int64_t *cells, ferry_status *st,
                       ferry_err_t *err)
{
    int first = 1, have_row = 0;
    int64_t cur_ts = 0;
    char *buf = NULL;
    int len;
    while ((len = ferry_pg_copy_out_next(w->rd, &buf)) > 0) {
        nrow_t row;
        int k = parse_row((const unsigned char *)buf, (size_t)len, &first, &row);
        if (k < 0) {
            PQfreemem(buf);
            *st = ferry_err_set(err, FERRY_FATAL, "malformed COPY data from the narrow table");
            break;
        }
        if (k == 0) {
            PQfreemem(buf);
            continue;
        }
        (*rows_read)++;
        if (have_row && row.ts != cur_ts)
            emit_row(in, pc, cur_ts, cells);
        cur_ts = row.ts;
        have_row = 1;
        take_row(w, ship, pc, &row);
        PQfreemem(buf);
        if (!ferry_lifecycle_running()) {
            *st = ferry_err_set(err, FERRY_RETRY, "stopped");
            break;
        }
    }
    if (*st == FERRY_OK && len == 0)
        *st = ferry_err_set(err, FERRY_RETRY, "stopped");
    if (len == -1 && have_row)
        emit_row(in, pc, cur_ts, cells);
    return len;
}

/* Merges the staging table into the wide table: a cell already there (dual-write) is never
 * replaced, and a row is touched only when it gains a cell. */
static ferry_status merge_stage(bf_worker_t *w, const char *wide, const part_ctx_t *pc,
                                ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_append_str(&sql, "INSERT INTO ");
    ferry_pg_append_qualified(&sql, w->cat->wide_schema, wide);
    ferry_buf_append_str(&sql,
                         " AS t SELECT * FROM ferry_bf_stage ON CONFLICT (ts) DO UPDATE SET ");
    for (int i = 0; i < pc->ncols; i++) {
        const char *col = pc->cols[i]->column;
        if (i)
            ferry_buf_append_str(&sql, ", ");
        ferry_pg_append_ident(&sql, col);
        ferry_buf_append_str(&sql, " = COALESCE(t.");
        ferry_pg_append_ident(&sql, col);
        ferry_buf_append_str(&sql, ", EXCLUDED.");
        ferry_pg_append_ident(&sql, col);
        ferry_buf_append_byte(&sql, ')');
    }
    ferry_buf_append_str(&sql, " WHERE ");
    for (int i = 0; i < pc->ncols; i++) {
        const char *col = pc->cols[i]->column;
        if (i)
            ferry_buf_append_str(&sql, " OR ");
        ferry_buf_append_str(&sql, "(t.");
        ferry_pg_append_ident(&sql, col);
        ferry_buf_append_str(&sql, " IS NULL AND EXCLUDED.");
        ferry_pg_append_ident(&sql, col);
        ferry_buf_append_str(&sql, " IS NOT NULL)");
    }
    ferry_buf_append_str(&sql, "; DROP TABLE ferry_bf_stage");
    ferry_status st = ferry_pg_exec(w->pg, ferry_buf_cstr(&sql), err);
    ferry_buf_free(&sql);
    return st;
}

ferry_status bf_do_part(bf_worker_t *w, const bf_chunk_t *c, ferry_widecat_ship_t *ship, int t,
                        int64_t *rows_read, int64_t *cells, ferry_err_t *err)
{
    part_ctx_t pc = {0};
    pc.table = t;
    pc.pos = ferry_map_new();
    ferry_map_foreach(ship->cols, collect_part_cols, &pc);
    if (pc.ncols == 0) {
        part_free(&pc);
        return FERRY_OK;
    }
    pc.has = ferry_xcalloc((size_t)pc.ncols, sizeof *pc.has);
    pc.cells = ferry_xcalloc((size_t)pc.ncols, sizeof *pc.cells);
    pc.texts = ferry_xcalloc((size_t)pc.ncols, sizeof *pc.texts);
    ferry_status st = FERRY_OK;
    ferry_buf_t chans = FERRY_BUF_INIT;
    const char *wide = ship->tables[t].name;
    ferry_pg_copy_t *in = stage_begin(w, wide, &pc, &chans, err);
    if (!in) {
        st = err->status;
        goto out;
    }
    if ((st = reader_begin(w, c, ferry_buf_cstr(&chans), err))) {
        ferry_pg_copy_abort(in, "reader failed");
        goto out;
    }
    int len = stream_rows(w, ship, &pc, in, rows_read, cells, &st, err);
    if (len >= 0) { /* stopped mid-stream: cancel the COPY rather than read the rest */
        ferry_debug("chunk %s: stopping the narrow COPY after %lld rows", c->chunk_id,
                    (long long)*rows_read);
        ferry_pg_copy_out_stop(w->rd);
        ferry_debug("chunk %s: narrow COPY stopped", c->chunk_id);
        ferry_pg_exec(w->rd, "ROLLBACK", NULL);
        ferry_pg_copy_abort(in, "reader stopped");
        goto out;
    }
    st = ferry_pg_copy_out_end(w->rd, len, err);
    ferry_pg_exec(w->rd, "ROLLBACK", NULL);
    if (st) {
        ferry_pg_copy_abort(in, "reader failed");
        goto out;
    }
    if ((st = ferry_pg_copy_end(in, NULL, err)))
        goto out;
    st = merge_stage(w, wide, &pc, err);
out:
    part_free(&pc);
    ferry_buf_free(&chans);
    return st;
}
