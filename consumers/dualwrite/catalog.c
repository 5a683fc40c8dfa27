/* catalog.c - wide-table catalog: names, DDL and the in-memory cache (see catalog.h). */
#include "catalog.h"
#include "ferry/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dw_type_sql(dw_type t)
{
    switch (t) {
    case DW_DOUBLE:
        return "double precision";
    case DW_BIGINT:
        return "bigint";
    case DW_BOOL:
        return "boolean";
    case DW_TEXT:
        return "text";
    }
    return "text";
}

int dw_type_parse(const char *s, dw_type *out)
{
    for (int t = DW_DOUBLE; t <= DW_TEXT; t++) {
        if (strcmp(s, dw_type_sql((dw_type)t)) == 0) {
            *out = (dw_type)t;
            return 0;
        }
    }
    return -1;
}

dw_type dw_type_for_value(ferry_value_type v)
{
    switch (v) {
    case FERRY_VALUE_LONG:
        return DW_BIGINT;
    case FERRY_VALUE_BOOL:
        return DW_BOOL;
    case FERRY_VALUE_STRING:
        return DW_TEXT;
    default:
        return DW_DOUBLE;
    }
}

void dw_safe_name(const char *prefix, const char *text, size_t len, size_t keep, char *out,
                  size_t outsz)
{
    char san[64];
    size_t n = 0;
    for (size_t i = 0; i < len && n < keep && n < sizeof san - 1; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch - 'A' + 'a');
        san[n++] = ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_') ? (char)ch
                                                                                        : '_';
    }
    san[n] = '\0';
    unsigned long long h = (unsigned long long)(ferry_hash64(text, len) & 0xffffffffffffULL);
    snprintf(out, outsz, "%s%s_%012llx", prefix, san, h);
}

/* ---- cache ---------------------------------------------------------------------------- */

static void free_col(const void *k, size_t l, void *v, void *o)
{
    dw_col_t *c = v;
    free(c->channel);
    free(c->column);
    free(c);
}

static void ship_clear(dw_ship_t *s)
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
    dw_ship_t *s = v;
    ship_clear(s);
    ferry_map_destroy(s->cols);
    free(s->ship_id);
    free(s);
}

dw_catalog_t *dw_catalog_new(const char *wide_schema, int max_columns)
{
    dw_catalog_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->wide_schema = strdup(wide_schema);
    c->max_columns = max_columns;
    c->ships = ferry_map_new();
    return c;
}

void dw_catalog_destroy(dw_catalog_t *c)
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

void dw_catalog_forget(dw_catalog_t *c)
{
    /* Ship objects stay (a batch may point at them); their contents are reloaded. */
    ferry_map_foreach(c->ships, clear_ship, NULL);
}

dw_ship_t *dw_catalog_ship(dw_catalog_t *c, const char *ship, size_t len)
{
    return ferry_map_get(c->ships, ship, len);
}

static dw_ship_t *ship_get_or_add(dw_catalog_t *c, const char *ship)
{
    dw_ship_t *s = ferry_map_get(c->ships, ship, strlen(ship));
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

/* Appends a PostgreSQL text-array literal {"a","b"} of the items. */
static void append_text_array(ferry_buf_t *b, char *const *items, int n)
{
    ferry_buf_append_byte(b, '{');
    for (int i = 0; i < n; i++) {
        if (i)
            ferry_buf_append_byte(b, ',');
        ferry_buf_append_byte(b, '"');
        for (const char *p = items[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                ferry_buf_append_byte(b, '\\');
            ferry_buf_append_byte(b, (unsigned char)*p);
        }
        ferry_buf_append_byte(b, '"');
    }
    ferry_buf_append_byte(b, '}');
}

static int table_index(dw_ship_t *s, const char *name)
{
    for (int i = 0; i < s->ntables; i++)
        if (strcmp(s->tables[i].name, name) == 0)
            return i;
    return -1;
}

static int add_table(dw_ship_t *s, const char *name, int part, int columns)
{
    dw_table_t *nt = realloc(s->tables, (size_t)(s->ntables + 1) * sizeof *nt);
    if (!nt)
        abort();
    s->tables = nt;
    s->tables[s->ntables] = (dw_table_t){strdup(name), part, columns, 0};
    return s->ntables++;
}

static void add_col(dw_ship_t *s, const char *channel, const char *column, int table, dw_type t)
{
    dw_col_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->channel = strdup(channel);
    c->column = strdup(column);
    c->table = table;
    c->type = t;
    c->stmt_idx = -1;
    ferry_map_put(s->cols, channel, strlen(channel), c);
}

ferry_status dw_catalog_setup(ferry_pg_t *pg, const char *wide_schema, ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    /* Several workers may start at once: serialise the CREATEs. */
    ferry_buf_append_str(&sql, "BEGIN; SELECT pg_advisory_xact_lock(4242000001);"
                               "CREATE SCHEMA IF NOT EXISTS ferry; CREATE SCHEMA IF NOT EXISTS ");
    ferry_pg_append_ident(&sql, wide_schema);
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

ferry_status dw_catalog_load(dw_catalog_t *c, ferry_pg_t *pg, char *const *ships, int n,
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
    PGresult *res = ferry_pg_query(pg,
                                   "SELECT ship_id, part, table_name, columns FROM ferry.ship_tables"
                                   " WHERE ship_id = ANY($1::text[]) AND table_schema = $2"
                                   " ORDER BY ship_id, part",
                                   2, params, err);
    if (!res) {
        st = err->status;
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        dw_ship_t *s = ship_get_or_add(c, PQgetvalue(res, r, 0));
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
        dw_ship_t *s = ship_get_or_add(c, PQgetvalue(res, r, 0));
        int t = table_index(s, PQgetvalue(res, r, 2));
        dw_type ty;
        if (t < 0 || dw_type_parse(PQgetvalue(res, r, 4), &ty) != 0) {
            st = ferry_err_set(err, FERRY_FATAL,
                               "catalog inconsistent: channel %s of ship %s maps to table %s (%s)",
                               PQgetvalue(res, r, 1), PQgetvalue(res, r, 0),
                               PQgetvalue(res, r, 2), PQgetvalue(res, r, 4));
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
    const dw_need_t *x = a, *y = b;
    return strcmp(x->ship->ship_id, y->ship->ship_id);
}

/* Appends "schema"."table". */
static void append_table(ferry_buf_t *b, const char *schema, const char *table)
{
    ferry_pg_append_ident(b, schema);
    ferry_buf_append_byte(b, '.');
    ferry_pg_append_ident(b, table);
}

static ferry_status exec_buf(ferry_pg_t *pg, ferry_buf_t *b, ferry_err_t *err)
{
    return ferry_pg_exec(pg, ferry_buf_cstr(b), err);
}

/* Creates the ship's next wide table (part = ntables + 1). Returns its index or -1. */
static int create_part(dw_catalog_t *c, ferry_pg_t *pg, dw_ship_t *s, ferry_err_t *err)
{
    int part = s->ntables + 1;
    char base[64], name[128];
    dw_safe_name("w_", s->ship_id, strlen(s->ship_id), 30, base, sizeof base);
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
    append_table(&sql, c->wide_schema, name);
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
    dw_col_t *c = v;
    if (c->table == q->table && strcmp(c->column, q->column) == 0)
        q->found = 1;
}

static int is_taken(dw_ship_t *s, int table, const char *column)
{
    struct {
        int table;
        const char *column;
        int found;
    } q = {table, column, 0};
    ferry_map_foreach(s->cols, find_taken, &q);
    return q.found;
}

static ferry_status add_channel(dw_catalog_t *c, ferry_pg_t *pg, dw_ship_t *s,
                                const char *channel, dw_type type, ferry_err_t *err)
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
    dw_safe_name("c_", channel, strlen(channel), 40, base, sizeof base);
    snprintf(col, sizeof col, "%s", base);
    for (int n = 2; is_taken(s, t, col); n++)
        snprintf(col, sizeof col, "%s_%d", base, n);
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_append_str(&sql, "ALTER TABLE ");
    append_table(&sql, c->wide_schema, s->tables[t].name);
    ferry_buf_append_str(&sql, " ADD COLUMN IF NOT EXISTS ");
    ferry_pg_append_ident(&sql, col);
    ferry_buf_append_byte(&sql, ' ');
    ferry_buf_append_str(&sql, dw_type_sql(type));
    ferry_status st = exec_buf(pg, &sql, err);
    ferry_buf_free(&sql);
    if (st)
        return st;
    const char *p[] = {s->ship_id, channel, s->tables[t].name, col, dw_type_sql(type)};
    PGresult *res = ferry_pg_query(pg,
                                   "INSERT INTO ferry.channel_columns (ship_id, channel_id,"
                                   " table_name, column_name, pg_type) VALUES ($1,$2,$3,$4,$5)",
                                   5, p, err);
    if (!res)
        return err->status;
    PQclear(res);
    const char *p2[] = {s->ship_id, s->tables[t].name};
    res = ferry_pg_query(pg,
                         "UPDATE ferry.ship_tables SET columns = columns + 1"
                         " WHERE ship_id = $1 AND table_name = $2",
                         2, p2, err);
    if (!res)
        return err->status;
    PQclear(res);
    s->tables[t].columns++;
    add_col(s, channel, col, t, type);
    return FERRY_OK;
}

static ferry_status widen(dw_catalog_t *c, ferry_pg_t *pg, dw_ship_t *s, dw_col_t *col,
                          ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_append_str(&sql, "ALTER TABLE ");
    append_table(&sql, c->wide_schema, s->tables[col->table].name);
    ferry_buf_append_str(&sql, " ALTER COLUMN ");
    ferry_pg_append_ident(&sql, col->column);
    ferry_buf_append_str(&sql, " TYPE double precision");
    ferry_status st = exec_buf(pg, &sql, err);
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
    col->type = DW_DOUBLE;
    return FERRY_OK;
}

ferry_status dw_catalog_ensure(dw_catalog_t *c, ferry_pg_t *pg, dw_need_t *needs, int n,
                               ferry_err_t *err)
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
        /* dw_catalog_load clears and refills the entries in place (ship pointers stay). */
        char **copy = calloc((size_t)nships, sizeof *copy);
        for (int i = 0; i < nships; i++)
            copy[i] = strdup(ships[i]);
        st = dw_catalog_load(c, pg, copy, nships, err);
        for (int i = 0; i < nships; i++)
            free(copy[i]);
        free(copy);
        if (st)
            goto fail;
    }
    for (int i = 0; i < n; i++) {
        dw_ship_t *s = needs[i].ship;
        dw_col_t *col = ferry_map_get(s->cols, needs[i].channel, strlen(needs[i].channel));
        if (!col) {
            st = add_channel(c, pg, s, needs[i].channel, needs[i].type, err);
        } else if (needs[i].widen && col->type == DW_BIGINT) {
            st = widen(c, pg, s, col, err);
        }
        if (st)
            goto fail;
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
        dw_ship_t *s = ferry_map_get(c->ships, ships[i], strlen(ships[i]));
        if (s)
            ship_clear(s);
    }
    free(ships);
    return st;
}
