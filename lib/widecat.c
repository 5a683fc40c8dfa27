/* widecat.c - the wide-table catalog: DDL and the in-memory cache (see widecat.h). */
#include "ferry/widecat.h"
#include "ferry/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- cache ---------------------------------------------------------------------------- */

static void free_col(const void *k, size_t l, void *v, void *o)
{
    ferry_widecat_col_t *c = v;
    free(c->channel);
    free(c->column);
    free(c);
}

static void ship_clear(ferry_widecat_ship_t *s)
{
    for (int i = 0; i < s->ntables; i++)
        free(s->tables[i].name);
    free(s->tables);
    s->tables = NULL;
    s->ntables = 0;
    if (s->cols) {
        ferry_map_foreach(s->cols, free_col, NULL);
        ferry_map_destroy(s->cols);
    }
    s->cols = ferry_map_new();
    s->state_recorded = 0;
    s->loaded = 0;
}

static void free_ship(const void *k, size_t l, void *v, void *o)
{
    ferry_widecat_ship_t *s = v;
    ship_clear(s);
    ferry_map_destroy(s->cols);
    free(s->ship_id);
    free(s);
}

ferry_widecat_t *ferry_widecat_new(const char *wide_schema, int max_columns)
{
    ferry_widecat_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->wide_schema = strdup(wide_schema);
    c->max_columns = max_columns;
    c->ships = ferry_map_new();
    return c;
}

void ferry_widecat_destroy(ferry_widecat_t *c)
{
    if (!c)
        return;
    ferry_map_foreach(c->ships, free_ship, NULL);
    ferry_map_destroy(c->ships);
    free(c->wide_schema);
    free(c);
}

static void clear_ship(const void *k, size_t l, void *v, void *o)
{
    ship_clear(v);
}

void ferry_widecat_forget(ferry_widecat_t *c)
{
    /* Ship objects stay (a batch may point at them); their contents are reloaded. */
    ferry_map_foreach(c->ships, clear_ship, NULL);
}

ferry_widecat_ship_t *ferry_widecat_ship(ferry_widecat_t *c, const char *ship, size_t len)
{
    return ferry_map_get(c->ships, ship, len);
}

static ferry_widecat_ship_t *ship_get_or_add(ferry_widecat_t *c, const char *ship)
{
    ferry_widecat_ship_t *s = ferry_map_get(c->ships, ship, strlen(ship));
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->ship_id = strdup(ship);
    s->cols = ferry_map_new();
    ferry_map_put(c->ships, ship, strlen(ship), s);
    return s;
}

/* Appends a PostgreSQL text-array literal of the items. */
static void append_text_array(ferry_buf_t *b, char *const *items, int n)
{
    for (int i = 0; i < n; i++)
        ferry_pg_array_add(b, items[i], strlen(items[i]));
    ferry_pg_array_close(b);
}

static int table_index(ferry_widecat_ship_t *s, const char *name)
{
    for (int i = 0; i < s->ntables; i++)
        if (strcmp(s->tables[i].name, name) == 0)
            return i;
    return -1;
}

static int add_table(ferry_widecat_ship_t *s, const char *name, int part, int columns)
{
    ferry_widecat_table_t *nt = realloc(s->tables, (size_t)(s->ntables + 1) * sizeof *nt);
    if (!nt)
        abort();
    s->tables = nt;
    s->tables[s->ntables] = (ferry_widecat_table_t){strdup(name), part, columns};
    return s->ntables++;
}

static void add_col(ferry_widecat_ship_t *s, const char *channel, const char *column, int table,
                    ferry_wtype_t t)
{
    ferry_widecat_col_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->channel = strdup(channel);
    c->column = strdup(column);
    c->table = table;
    c->type = t;
    ferry_map_put(s->cols, channel, strlen(channel), c);
}

ferry_status ferry_widecat_setup(ferry_pg_t *pg, const char *wide_schema, ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    /* Several workers may start at once: serialise the CREATEs. */
    ferry_buf_append_str(&sql, "BEGIN; SELECT pg_advisory_xact_lock(4242000001);"
                               "CREATE SCHEMA IF NOT EXISTS ferry;");
    if (wide_schema) {
        ferry_buf_append_str(&sql, "CREATE SCHEMA IF NOT EXISTS ");
        ferry_pg_append_ident(&sql, wide_schema);
    }
    ferry_buf_append_str(
        &sql,
        ";"
        "CREATE TABLE IF NOT EXISTS ferry.ship_tables ("
        " ship_id text NOT NULL, part int NOT NULL, table_schema text NOT NULL,"
        " table_name text NOT NULL, columns int NOT NULL DEFAULT 0,"
        " created_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (ship_id, part), UNIQUE (table_schema, table_name));"
        "CREATE TABLE IF NOT EXISTS ferry.channel_columns ("
        " ship_id text NOT NULL, channel_id text NOT NULL, table_name text NOT NULL,"
        " column_name text NOT NULL, pg_type text NOT NULL,"
        " created_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (ship_id, channel_id), UNIQUE (table_name, column_name));"
        "CREATE TABLE IF NOT EXISTS ferry.ship_state ("
        " ship_id text PRIMARY KEY, cutoff_ts timestamptz NOT NULL, first_topic text NOT NULL,"
        " first_partition int NOT NULL, first_offset bigint NOT NULL,"
        " first_seen_at timestamptz NOT NULL DEFAULT now());"
        "COMMIT;");
    ferry_status st = ferry_pg_exec(pg, ferry_buf_cstr(&sql), err);
    if (st)
        ferry_pg_exec(pg, "ROLLBACK", NULL);
    ferry_buf_free(&sql);
    return st;
}

ferry_status ferry_widecat_load(ferry_widecat_t *c, ferry_pg_t *pg, char *const *ships, int n,
                                ferry_err_t *err)
{
    if (n == 0)
        return FERRY_OK;
    ferry_buf_t arr = FERRY_BUF_INIT;
    append_text_array(&arr, ships, n);
    const char *params[] = {ferry_buf_cstr(&arr), c->wide_schema};
    for (int i = 0; i < n; i++)
        ship_clear(ship_get_or_add(c, ships[i]));
    ferry_status st = FERRY_OK;
    PGresult *res =
        ferry_pg_query(pg,
                       "SELECT ship_id, part, table_name, columns FROM ferry.ship_tables"
                       " WHERE ship_id = ANY($1::text[]) AND table_schema = $2"
                       " ORDER BY ship_id, part",
                       2, params, err);
    if (!res) {
        st = err->status;
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        ferry_widecat_ship_t *s = ship_get_or_add(c, PQgetvalue(res, r, 0));
        add_table(s, PQgetvalue(res, r, 2), atoi(PQgetvalue(res, r, 1)),
                  atoi(PQgetvalue(res, r, 3)));
    }
    PQclear(res);
    res = ferry_pg_query(pg,
                         "SELECT ship_id, channel_id, table_name, column_name, pg_type"
                         " FROM ferry.channel_columns WHERE ship_id = ANY($1::text[])",
                         1, params, err);
    if (!res) {
        st = err->status;
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        ferry_widecat_ship_t *s = ship_get_or_add(c, PQgetvalue(res, r, 0));
        int t = table_index(s, PQgetvalue(res, r, 2));
        ferry_wtype_t ty;
        if (t < 0 || ferry_wtype_parse(PQgetvalue(res, r, 4), &ty) != 0) {
            st = ferry_err_set(err, FERRY_FATAL,
                               "catalog inconsistent: channel %s of ship %s maps to table %s (%s)",
                               PQgetvalue(res, r, 1), PQgetvalue(res, r, 0), PQgetvalue(res, r, 2),
                               PQgetvalue(res, r, 4));
            PQclear(res);
            goto out;
        }
        add_col(s, PQgetvalue(res, r, 1), PQgetvalue(res, r, 3), t, ty);
    }
    PQclear(res);
    res = ferry_pg_query(pg, "SELECT ship_id FROM ferry.ship_state WHERE ship_id = ANY($1::text[])",
                         1, params, err);
    if (!res) {
        st = err->status;
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++)
        ship_get_or_add(c, PQgetvalue(res, r, 0))->state_recorded = 1;
    PQclear(res);
    for (int i = 0; i < n; i++)
        ship_get_or_add(c, ships[i])->loaded = 1;
out:
    ferry_buf_free(&arr);
    return st;
}

static int cmp_need(const void *a, const void *b)
{
    const ferry_widecat_need_t *x = a, *y = b;
    return strcmp(x->ship->ship_id, y->ship->ship_id);
}

static ferry_status exec_buf(ferry_pg_t *pg, ferry_buf_t *b, ferry_err_t *err)
{
    return ferry_pg_exec(pg, ferry_buf_cstr(b), err);
}

/* Creates the ship's next wide table (part = ntables + 1). Returns its index or -1. */
static int create_part(ferry_widecat_t *c, ferry_pg_t *pg, ferry_widecat_ship_t *s,
                       ferry_err_t *err)
{
    int part = s->ntables + 1;
    char base[64], name[128];
    ferry_safe_name("w_", s->ship_id, strlen(s->ship_id), 30, base, sizeof base);
    if (part == 1)
        snprintf(name, sizeof name, "%s", base);
    else
        snprintf(name, sizeof name, "%s_p%d", base, part);
    char partbuf[16];
    snprintf(partbuf, sizeof partbuf, "%d", part);
    /* A name taken by another ship (a 48-bit hash collision) gets a suffix. */
    for (int n = 2;; n++) {
        char v[8];
        const char *p[] = {c->wide_schema, name, s->ship_id};
        if (ferry_pg_query_value(pg,
                                 "SELECT count(*) FROM ferry.ship_tables WHERE table_schema = $1"
                                 " AND table_name = $2 AND ship_id <> $3",
                                 3, p, v, sizeof v, err) != FERRY_OK)
            return -1;
        if (strcmp(v, "0") == 0)
            break;
        if (part == 1)
            snprintf(name, sizeof name, "%s_s%d", base, n);
        else
            snprintf(name, sizeof name, "%s_s%d_p%d", base, n, part);
    }
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_append_str(&sql, "CREATE TABLE IF NOT EXISTS ");
    ferry_pg_append_qualified(&sql, c->wide_schema, name);
    ferry_buf_append_str(&sql, " (ts timestamptz PRIMARY KEY)");
    ferry_status st = exec_buf(pg, &sql, err);
    ferry_buf_free(&sql);
    if (st)
        return -1;
    const char *p[] = {s->ship_id, partbuf, c->wide_schema, name};
    PGresult *res = ferry_pg_query(pg,
                                   "INSERT INTO ferry.ship_tables (ship_id, part, table_schema,"
                                   " table_name) VALUES ($1, $2::int, $3, $4)",
                                   4, p, err);
    if (!res)
        return -1;
    PQclear(res);
    ferry_info("ship %s: new wide table %s.%s (part %d)", s->ship_id, c->wide_schema, name, part);
    return add_table(s, name, part, 0);
}

static void find_taken(const void *k, size_t l, void *v, void *o)
{
    struct {
        int table;
        const char *column;
        int found;
    } *q = o;
    ferry_widecat_col_t *c = v;
    if (c->table == q->table && strcmp(c->column, q->column) == 0)
        q->found = 1;
}

static int is_taken(ferry_widecat_ship_t *s, int table, const char *column)
{
    struct {
        int table;
        const char *column;
        int found;
    } q = {table, column, 0};
    ferry_map_foreach(s->cols, find_taken, &q);
    return q.found;
}

/* The DDL of one ship's new channels, gathered so that a ship with a thousand new channels
 * costs one ALTER TABLE per wide table and one catalog INSERT, not thousands of round trips. */
typedef struct ddl_batch {
    ferry_buf_t *alter; /* per table index: "ALTER TABLE ... ADD COLUMN ..., ADD COLUMN ..." */
    int nalter;
    int nchannels;
    char **channels, **tables, **columns, **types;
} ddl_batch_t;

static void ddl_add(ddl_batch_t *d, ferry_widecat_t *c, ferry_widecat_ship_t *s, int t,
                    const char *channel, const char *column, ferry_wtype_t type)
{
    if (t >= d->nalter) {
        d->alter = ferry_xrealloc(d->alter, (size_t)t + 1, sizeof *d->alter);
        for (int i = d->nalter; i <= t; i++)
            d->alter[i] = (ferry_buf_t)FERRY_BUF_INIT;
        d->nalter = t + 1;
    }
    ferry_buf_t *b = &d->alter[t];
    if (b->len == 0) {
        ferry_buf_append_str(b, "ALTER TABLE ");
        ferry_pg_append_qualified(b, c->wide_schema, s->tables[t].name);
    } else {
        ferry_buf_append_byte(b, ',');
    }
    ferry_buf_append_str(b, " ADD COLUMN IF NOT EXISTS ");
    ferry_pg_append_ident(b, column);
    ferry_buf_append_byte(b, ' ');
    ferry_buf_append_str(b, ferry_wtype_sql(type));
    int n = d->nchannels++;
    d->channels = ferry_xrealloc(d->channels, (size_t)d->nchannels, sizeof *d->channels);
    d->tables = ferry_xrealloc(d->tables, (size_t)d->nchannels, sizeof *d->tables);
    d->columns = ferry_xrealloc(d->columns, (size_t)d->nchannels, sizeof *d->columns);
    d->types = ferry_xrealloc(d->types, (size_t)d->nchannels, sizeof *d->types);
    d->channels[n] = strdup(channel);
    d->tables[n] = strdup(s->tables[t].name);
    d->columns[n] = strdup(column);
    d->types[n] = strdup(ferry_wtype_sql(type));
}

static void ddl_free(ddl_batch_t *d)
{
    for (int i = 0; i < d->nalter; i++)
        ferry_buf_free(&d->alter[i]);
    for (int i = 0; i < d->nchannels; i++) {
        free(d->channels[i]);
        free(d->tables[i]);
        free(d->columns[i]);
        free(d->types[i]);
    }
    free(d->alter);
    free(d->channels);
    free(d->tables);
    free(d->columns);
    free(d->types);
    memset(d, 0, sizeof *d);
}

/* Runs the gathered DDL of ship `s`: the ALTERs, the catalog rows, the column counts. */
static ferry_status ddl_flush(ddl_batch_t *d, ferry_pg_t *pg, ferry_widecat_ship_t *s,
                              ferry_err_t *err)
{
    ferry_status st = FERRY_OK;
    for (int t = 0; t < d->nalter && !st; t++) {
        if (d->alter[t].len == 0)
            continue;
        if ((st = exec_buf(pg, &d->alter[t], err)))
            break;
        char cols[16];
        snprintf(cols, sizeof cols, "%d", s->tables[t].columns);
        const char *p[] = {cols, s->ship_id, s->tables[t].name};
        PGresult *res = ferry_pg_query(pg,
                                       "UPDATE ferry.ship_tables SET columns = $1::int"
                                       " WHERE ship_id = $2 AND table_name = $3",
                                       3, p, err);
        if (!res)
            st = err->status;
        else
            PQclear(res);
    }
    if (!st && d->nchannels) {
        ferry_buf_t a1 = FERRY_BUF_INIT, a2 = FERRY_BUF_INIT, a3 = FERRY_BUF_INIT,
                    a4 = FERRY_BUF_INIT;
        append_text_array(&a1, d->channels, d->nchannels);
        append_text_array(&a2, d->tables, d->nchannels);
        append_text_array(&a3, d->columns, d->nchannels);
        append_text_array(&a4, d->types, d->nchannels);
        const char *p[] = {s->ship_id, ferry_buf_cstr(&a1), ferry_buf_cstr(&a2),
                           ferry_buf_cstr(&a3), ferry_buf_cstr(&a4)};
        PGresult *res = ferry_pg_query(
            pg,
            "INSERT INTO ferry.channel_columns (ship_id, channel_id, table_name, column_name,"
            " pg_type) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])",
            5, p, err);
        if (!res)
            st = err->status;
        else
            PQclear(res);
        ferry_buf_free(&a1);
        ferry_buf_free(&a2);
        ferry_buf_free(&a3);
        ferry_buf_free(&a4);
    }
    ddl_free(d);
    return st;
}

/* Plans a new channel of ship `s`: picks its table (creating the next part when the last is
 * full), derives a free column name, and records it in the cache and in `d`. */
static ferry_status plan_channel(ferry_widecat_t *c, ferry_pg_t *pg, ferry_widecat_ship_t *s,
                                 const char *channel, ferry_wtype_t type, ddl_batch_t *d,
                                 ferry_err_t *err)
{
    int t = -1;
    for (int i = s->ntables - 1; i >= 0; i--) {
        if (s->tables[i].columns < c->max_columns) {
            t = i;
            break;
        }
    }
    if (t < 0 && (t = create_part(c, pg, s, err)) < 0)
        return err->status;
    char base[64], col[128];
    ferry_safe_name("c_", channel, strlen(channel), 40, base, sizeof base);
    snprintf(col, sizeof col, "%s", base);
    for (int n = 2; is_taken(s, t, col); n++)
        snprintf(col, sizeof col, "%s_%d", base, n);
    s->tables[t].columns++;
    add_col(s, channel, col, t, type);
    ddl_add(d, c, s, t, channel, col, type);
    return FERRY_OK;
}

/* Widens a bigint column to double precision, but only where that is lossless: the table is
 * locked first (no writer can add a value meanwhile), and a column holding a long beyond
 * +-2^53, which a double cannot hold exactly, stays bigint (col->widen_refused; the
 * non-integral value that asked for it becomes a wide conflict instead). */
static ferry_status widen(ferry_widecat_t *c, ferry_pg_t *pg, ferry_widecat_ship_t *s,
                          ferry_widecat_col_t *col, ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_append_str(&sql, "LOCK TABLE ");
    ferry_pg_append_qualified(&sql, c->wide_schema, s->tables[col->table].name);
    ferry_buf_append_str(&sql, " IN ACCESS EXCLUSIVE MODE");
    ferry_status st = exec_buf(pg, &sql, err);
    ferry_buf_reset(&sql);
    char big[8] = "";
    if (!st) {
        ferry_buf_append_str(&sql, "SELECT EXISTS (SELECT 1 FROM ");
        ferry_pg_append_qualified(&sql, c->wide_schema, s->tables[col->table].name);
        ferry_buf_append_str(&sql, " WHERE abs(");
        ferry_pg_append_ident(&sql, col->column);
        ferry_buf_append_str(&sql, ") > 9007199254740992)");
        st = ferry_pg_query_value(pg, ferry_buf_cstr(&sql), 0, NULL, big, sizeof big, err);
        ferry_buf_reset(&sql);
    }
    if (st) {
        ferry_buf_free(&sql);
        return st;
    }
    if (big[0] == 't') {
        ferry_warn("ship %s: channel %s stays bigint: it holds integers beyond 2^53 that double "
                   "precision cannot hold exactly; its non-integral values go to the DLQ as wide "
                   "conflicts (they are in the narrow table)",
                   s->ship_id, col->channel);
        col->widen_refused = 1;
        ferry_buf_free(&sql);
        return FERRY_OK;
    }
    ferry_buf_append_str(&sql, "ALTER TABLE ");
    ferry_pg_append_qualified(&sql, c->wide_schema, s->tables[col->table].name);
    ferry_buf_append_str(&sql, " ALTER COLUMN ");
    ferry_pg_append_ident(&sql, col->column);
    ferry_buf_append_str(&sql, " TYPE double precision");
    st = exec_buf(pg, &sql, err);
    ferry_buf_free(&sql);
    if (st)
        return st;
    const char *p[] = {s->ship_id, col->channel};
    PGresult *res = ferry_pg_query(pg,
                                   "UPDATE ferry.channel_columns SET pg_type = 'double precision'"
                                   " WHERE ship_id = $1 AND channel_id = $2",
                                   2, p, err);
    if (!res)
        return err->status;
    PQclear(res);
    ferry_info("ship %s: channel %s widened from bigint to double precision", s->ship_id,
               col->channel);
    col->type = FERRY_WTYPE_DOUBLE;
    return FERRY_OK;
}

ferry_status ferry_widecat_ensure(ferry_widecat_t *c, ferry_pg_t *pg, ferry_widecat_need_t *needs,
                                  int n, ferry_err_t *err)
{
    if (n == 0)
        return FERRY_OK;
    qsort(needs, (size_t)n, sizeof *needs, cmp_need);
    ferry_status st = ferry_pg_exec(pg, "BEGIN", err);
    if (st)
        return st;
    /* Lock each ship once, in sorted order, then re-read its catalog under the lock. */
    char **ships = calloc((size_t)n, sizeof *ships);
    int nships = 0;
    for (int i = 0; i < n; i++) {
        if (nships && strcmp(ships[nships - 1], needs[i].ship->ship_id) == 0)
            continue;
        ships[nships++] = needs[i].ship->ship_id;
        ferry_buf_t key = FERRY_BUF_INIT;
        ferry_buf_appendf(&key, "ferry.ship:%s", needs[i].ship->ship_id);
        const char *p[] = {ferry_buf_cstr(&key)};
        PGresult *res =
            ferry_pg_query(pg, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", 1, p, err);
        ferry_buf_free(&key);
        if (!res) {
            st = err->status;
            goto fail;
        }
        PQclear(res);
    }
    {
        /* ferry_widecat_load clears and refills the entries in place (ship pointers stay). */
        char **copy = calloc((size_t)nships, sizeof *copy);
        for (int i = 0; i < nships; i++)
            copy[i] = strdup(ships[i]);
        st = ferry_widecat_load(c, pg, copy, nships, err);
        for (int i = 0; i < nships; i++)
            free(copy[i]);
        free(copy);
        if (st)
            goto fail;
    }
    {
        ddl_batch_t d;
        memset(&d, 0, sizeof d);
        for (int i = 0; i < n; i++) {
            ferry_widecat_ship_t *s = needs[i].ship;
            ferry_widecat_col_t *col =
                ferry_map_get(s->cols, needs[i].channel, strlen(needs[i].channel));
            if (!col)
                st = plan_channel(c, pg, s, needs[i].channel, needs[i].type, &d, err);
            else if (needs[i].widen && col->type == FERRY_WTYPE_BIGINT)
                st = widen(c, pg, s, col, err);
            /* needs are sorted by ship: flush at the last need of each ship */
            if (!st && (i + 1 == n || needs[i + 1].ship != s))
                st = ddl_flush(&d, pg, s, err);
            if (st) {
                ddl_free(&d);
                goto fail;
            }
        }
    }
    st = ferry_pg_exec(pg, "COMMIT", err);
    if (st)
        goto fail_nocommit;
    free(ships);
    return FERRY_OK;
fail:
    ferry_pg_exec(pg, "ROLLBACK", NULL);
fail_nocommit:
    /* The cache may hold what was rolled back: reload these ships next time. */
    for (int i = 0; i < nships; i++) {
        ferry_widecat_ship_t *s = ferry_map_get(c->ships, ships[i], strlen(ships[i]));
        if (s)
            ship_clear(s);
    }
    free(ships);
    return st;
}
