/* narrow.c - the narrow table: the column spec, opening and checking the table, and the SQL
 * that reads and writes it in ferry's layout (see include/ferry/narrow.h). */
#include "ferry/narrow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the spec ------------------------------------------------------------------------- */

/* ferry's own layout, as a spec. */
static const char FERRY_LAYOUT[] = "ship=ship_id,channel=channel_id,time=ts,value_double="
                                   "value_double,value_long=value_long,value_bool=value_bool,"
                                   "value_text=value_text,unit=unit";

static const char *const SPEC_KEYS[] = {
    "ship",         "channel",    "time",       "unit",       "value",
    "value_double", "value_long", "value_bool", "value_text", NULL,
};

static char **spec_field(ferry_narrow_spec_t *s, const char *key)
{
    char **f[] = {&s->ship,         &s->channel,    &s->time,       &s->unit,      &s->value,
                  &s->value_double, &s->value_long, &s->value_bool, &s->value_text};
    for (int i = 0; SPEC_KEYS[i]; i++)
        if (strcmp(SPEC_KEYS[i], key) == 0)
            return f[i];
    return NULL;
}

void ferry_narrow_spec_free(ferry_narrow_spec_t *s)
{
    free(s->ship);
    free(s->channel);
    free(s->time);
    free(s->unit);
    free(s->value);
    free(s->value_double);
    free(s->value_long);
    free(s->value_bool);
    free(s->value_text);
    memset(s, 0, sizeof *s);
}

static ferry_status spec_error(ferry_narrow_spec_t *out, ferry_buf_t *b, ferry_err_t *err,
                               const char *what, const char *spec)
{
    ferry_buf_free(b);
    ferry_narrow_spec_free(out);
    return ferry_err_set(err, FERRY_USAGE, "--narrow-columns '%.300s': %s", spec, what);
}

ferry_status ferry_narrow_spec_parse(const char *spec, ferry_narrow_spec_t *out, ferry_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (!spec || !*spec)
        return ferry_err_set(err, FERRY_USAGE, "--narrow-columns is empty");
    const char *p = spec;
    ferry_buf_t b = FERRY_BUF_INIT;
    char key[16];
    while (*p) {
        /* key: letters and '_' (spaces around it are allowed) */
        while (*p == ' ')
            p++;
        size_t k = 0;
        while ((*p >= 'a' && *p <= 'z') || *p == '_') {
            if (k + 1 >= sizeof key)
                return spec_error(out, &b, err, "unknown key", spec);
            key[k++] = *p++;
        }
        key[k] = '\0';
        while (*p == ' ')
            p++;
        char **field = k ? spec_field(out, key) : NULL;
        if (!field) {
            ferry_buf_reset(&b);
            ferry_buf_appendf(&b,
                              "unknown key '%s' (keys: ship, channel, time, value or"
                              " value_double/value_long/value_bool/value_text, unit)",
                              key);
            char msg[200];
            snprintf(msg, sizeof msg, "%s", ferry_buf_cstr(&b));
            return spec_error(out, &b, err, msg, spec);
        }
        if (*field)
            return spec_error(out, &b, err, "a key is given twice", spec);
        if (*p++ != '=')
            return spec_error(out, &b, err, "expected key=COLUMN", spec);
        /* column: its exact name, or "quoted" with "" for a quote */
        ferry_buf_reset(&b);
        if (*p == '"') {
            for (p++;; p++) {
                if (!*p)
                    return spec_error(out, &b, err, "unterminated quoted column name", spec);
                if (*p == '"') {
                    if (p[1] != '"')
                        break;
                    p++;
                }
                ferry_buf_append_byte(&b, (unsigned char)*p);
            }
            p++;
            while (*p == ' ')
                p++;
            if (*p && *p != ',')
                return spec_error(out, &b, err, "expected ',' after a quoted column name", spec);
        } else {
            while (*p && *p != ',')
                ferry_buf_append_byte(&b, (unsigned char)*p++);
        }
        if (b.len == 0)
            return spec_error(out, &b, err, "a column name is empty", spec);
        *field = strdup(ferry_buf_cstr(&b));
        if (*p == ',')
            p++;
    }
    ferry_buf_free(&b);
    int typed = out->value_double || out->value_long || out->value_bool || out->value_text;
    if (!out->ship || !out->channel || !out->time || (!out->value && !typed))
        return spec_error(out, &b, err,
                          "ship=, channel=, time= and value= (or value_double=, value_long=, ...)"
                          " are required",
                          spec);
    if (out->value && typed)
        return spec_error(out, &b, err,
                          "value= and value_double=/value_long=/... exclude each other", spec);
    return FERRY_OK;
}

/* ---- columns -------------------------------------------------------------------------- */

static void ncol_free(ferry_ncol_t *c)
{
    free(c->name);
    free(c->q);
    free(c->type);
    free(c->base);
    memset(c, 0, sizeof *c);
}

#define NAMEDATALEN_MAX 64 /* PostgreSQL's type names (NAMEDATALEN) */

static const char SUPPORTED_TEXT[] = "text, character varying, character";
static const char SUPPORTED_VALUE[] = "text, character varying, character, smallint, integer, "
                                      "bigint, real, double precision, numeric, boolean";
static const char SUPPORTED_TIME[] = "timestamp with time zone, timestamp without time zone";

/* Looks up column `name` of relation `oid` and classifies its base type by category. */
static ferry_status ncol_load(ferry_pg_t *pg, const char *oid, const char *table, const char *role,
                              const char *name, ferry_ncol_t *c, ferry_err_t *err)
{
    const char *p[] = {oid, name};
    PGresult *res = ferry_pg_query(
        pg,
        "SELECT format_type(a.atttypid, a.atttypmod), format_type(b.oid, NULL), b.typcategory,"
        " b.typname, CASE WHEN t.typbasetype <> 0 THEN t.typtypmod ELSE a.atttypmod END,"
        " a.attnotnull OR t.typnotnull"
        " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
        " JOIN pg_type b ON b.oid = CASE WHEN t.typbasetype <> 0 THEN t.typbasetype ELSE t.oid END"
        " WHERE a.attrelid = $1::oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
        2, p, err);
    if (!res)
        return err->status;
    if (PQntuples(res) == 0) {
        PQclear(res);
        /* name the columns there are, so a typo is quick to see */
        PGresult *cols = ferry_pg_query(pg,
                                        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY"
                                        " attnum) FROM pg_attribute WHERE attrelid = $1::oid"
                                        " AND attnum > 0 AND NOT attisdropped",
                                        1, p, err);
        ferry_status st = ferry_err_set(
            err, FERRY_USAGE, "narrow table %s has no column \"%s\" (%s=); its columns: %s", table,
            name, role, cols && PQntuples(cols) ? PQgetvalue(cols, 0, 0) : "?");
        if (cols)
            PQclear(cols);
        return st;
    }
    c->name = strdup(name);
    c->q = ferry_pg_quote_ident(name);
    c->type = strdup(PQgetvalue(res, 0, 0));
    c->base = strdup(PQgetvalue(res, 0, 1));
    char cat = PQgetvalue(res, 0, 2)[0];
    char tn[NAMEDATALEN_MAX];
    snprintf(tn, sizeof tn, "%s", PQgetvalue(res, 0, 3));
    int typmod = atoi(PQgetvalue(res, 0, 4));
    c->notnull = PQgetvalue(res, 0, 5)[0] == 't';
    PQclear(res);
    c->kind = FERRY_NK_NONE;
    if (cat == 'S' && (!strcmp(tn, "text") || !strcmp(tn, "varchar") || !strcmp(tn, "bpchar"))) {
        c->kind = FERRY_NK_TEXT;
        c->maxchars = strcmp(tn, "text") != 0 && typmod >= 4 ? typmod - 4 : 0;
    } else if (cat == 'N') {
        static const struct {
            const char *name;
            ferry_nkind kind;
            int64_t lo, hi;
        } nums[] = {
            {"int2", FERRY_NK_INT, -32768, 32767},
            {"int4", FERRY_NK_INT, -2147483648LL, 2147483647LL},
            {"int8", FERRY_NK_INT, INT64_MIN, INT64_MAX},
            {"float4", FERRY_NK_FLOAT4, 0, 0},
            {"float8", FERRY_NK_FLOAT8, 0, 0},
            {"numeric", FERRY_NK_NUMERIC, 0, 0},
        };
        for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
            if (strcmp(tn, nums[i].name) == 0) {
                c->kind = nums[i].kind;
                c->imin = nums[i].lo;
                c->imax = nums[i].hi;
            }
        }
        if (c->kind == FERRY_NK_NUMERIC && typmod >= 4) {
            int32_t m = typmod - 4;
            c->prec = (m >> 16) & 0xffff;
            c->scale = ((m & 0x7ff) ^ 1024) - 1024;
        }
    } else if (cat == 'B' && !strcmp(tn, "bool")) {
        c->kind = FERRY_NK_BOOL;
    } else if (cat == 'D' && !strcmp(tn, "timestamptz")) {
        c->kind = FERRY_NK_TSTZ;
    } else if (cat == 'D' && !strcmp(tn, "timestamp")) {
        c->kind = FERRY_NK_TS;
    }
    return FERRY_OK;
}

static ferry_status refuse(ferry_err_t *err, const char *table, const ferry_ncol_t *c,
                           const char *role, const char *supported)
{
    return ferry_err_set(err, FERRY_USAGE,
                         "column %s of narrow table %s (%s=) is %s; ferry supports: %s", c->q,
                         table, role, c->type, supported);
}

static int is_text(const ferry_ncol_t *c)
{
    return c->kind == FERRY_NK_TEXT;
}

/* ---- expressions ---------------------------------------------------------------------- */

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *dupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *out = ferry_xcalloc((size_t)n + 1, 1);
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

/* A text-kind column as text (varchar and char are cast; text is used as it is, so that an
 * index on it serves conditions on the expression). */
static char *text_expr(const ferry_ncol_t *c)
{
    return strcmp(c->base, "text") == 0 ? dupf("n.%s", c->q) : dupf("n.%s::text", c->q);
}

/* A numeric as a double when it is one exactly (NaN and infinities included), else NULL. */
static char *numeric_double_expr(const char *q)
{
    ferry_buf_t s = FERRY_BUF_INIT;
    ferry_buf_appendf(&s,
                      "(CASE WHEN n.%s IN ('NaN', 'Infinity', '-Infinity') THEN n.%s::double"
                      " precision WHEN n.%s = 0 OR (abs(n.%s) >= 1e-307 AND abs(n.%s) < 1e308)"
                      " THEN CASE WHEN n.%s::double precision::text::numeric = n.%s THEN"
                      " n.%s::double precision END END)",
                      q, q, q, q, q, q, q, q);
    ferry_buf_cstr(&s);
    return (char *)s.data;
}

static const char *const NULL_OF[FERRY_NSLOTS] = {"NULL::double precision", "NULL::bigint",
                                                  "NULL::boolean", "NULL::text"};

/* The four value expressions of one column that takes every type. */
static void single_exprs(ferry_narrow_t *n)
{
    ferry_ncol_t *c = &n->value;
    for (int s = 0; s < FERRY_NSLOTS; s++)
        n->x_v[s] = NULL;
    switch (c->kind) {
    case FERRY_NK_TEXT: {
        char *x = text_expr(c);
        for (int s = 0; s < FERRY_NSLOTS; s++) {
            ferry_buf_t b = FERRY_BUF_INIT;
            ferry_narrow_infer_sql(x, s, &b);
            ferry_buf_cstr(&b);
            n->x_v[s] = (char *)b.data;
        }
        free(x);
        break;
    }
    case FERRY_NK_INT:
        n->x_v[FERRY_NSLOT_LONG] = dupf("n.%s::bigint", c->q);
        break;
    case FERRY_NK_FLOAT4:
    case FERRY_NK_FLOAT8:
        n->x_v[FERRY_NSLOT_DOUBLE] = dupf("n.%s::double precision", c->q);
        break;
    case FERRY_NK_NUMERIC: {
        n->x_v[FERRY_NSLOT_DOUBLE] = numeric_double_expr(c->q);
        ferry_buf_t b = FERRY_BUF_INIT;
        ferry_buf_appendf(&b, "(CASE WHEN %s IS NULL THEN n.%s::text END)",
                          n->x_v[FERRY_NSLOT_DOUBLE], c->q);
        ferry_buf_cstr(&b);
        n->x_v[FERRY_NSLOT_TEXT] = (char *)b.data;
        break;
    }
    case FERRY_NK_BOOL:
        n->x_v[FERRY_NSLOT_BOOL] = dupf("n.%s", c->q);
        break;
    default:
        break;
    }
    for (int s = 0; s < FERRY_NSLOTS; s++)
        if (!n->x_v[s])
            n->x_v[s] = strdup(NULL_OF[s]);
}

/* The value expressions of one column per type. */
static void slot_exprs(ferry_narrow_t *n)
{
    const ferry_ncol_t *sd = &n->slot[FERRY_NSLOT_DOUBLE];
    char *inexact = NULL;
    if (!sd->name)
        n->x_v[FERRY_NSLOT_DOUBLE] = strdup(NULL_OF[FERRY_NSLOT_DOUBLE]);
    else if (sd->kind == FERRY_NK_NUMERIC) {
        n->x_v[FERRY_NSLOT_DOUBLE] = numeric_double_expr(sd->q);
        ferry_buf_t b = FERRY_BUF_INIT;
        ferry_buf_appendf(&b, "CASE WHEN %s IS NULL THEN n.%s::text END",
                          n->x_v[FERRY_NSLOT_DOUBLE], sd->q);
        ferry_buf_cstr(&b);
        inexact = (char *)b.data;
    } else
        n->x_v[FERRY_NSLOT_DOUBLE] = dupf("n.%s::double precision", sd->q);
    const ferry_ncol_t *sl = &n->slot[FERRY_NSLOT_LONG], *sb = &n->slot[FERRY_NSLOT_BOOL],
                       *st = &n->slot[FERRY_NSLOT_TEXT];
    n->x_v[FERRY_NSLOT_LONG] =
        sl->name ? dupf("n.%s::bigint", sl->q) : strdup(NULL_OF[FERRY_NSLOT_LONG]);
    n->x_v[FERRY_NSLOT_BOOL] = sb->name ? dupf("n.%s", sb->q) : strdup(NULL_OF[FERRY_NSLOT_BOOL]);
    char *text = st->name ? text_expr(st) : NULL;
    if (text && inexact) {
        n->x_v[FERRY_NSLOT_TEXT] = dupf("coalesce(%s, %s)", text, inexact);
        free(text);
    } else if (text) {
        n->x_v[FERRY_NSLOT_TEXT] = text;
    } else if (inexact) {
        n->x_v[FERRY_NSLOT_TEXT] = dupf("(%s)", inexact);
    } else {
        n->x_v[FERRY_NSLOT_TEXT] = strdup(NULL_OF[FERRY_NSLOT_TEXT]);
    }
    free(inexact);
}

/* ---- opening -------------------------------------------------------------------------- */

void ferry_narrow_close(ferry_narrow_t *n)
{
    free(n->table);
    ncol_free(&n->ship);
    ncol_free(&n->channel);
    ncol_free(&n->time);
    ncol_free(&n->unit);
    ncol_free(&n->value);
    for (int s = 0; s < FERRY_NSLOTS; s++) {
        ncol_free(&n->slot[s]);
        free(n->x_v[s]);
    }
    free(n->zone);
    free(n->x_ship);
    free(n->x_channel);
    free(n->x_ts);
    memset(n, 0, sizeof *n);
}

/* Resolves the table name to its oid and canonical quoted name; *oid = "" when missing. */
static ferry_status resolve_table(ferry_pg_t *pg, const char *quoted, char *oid, size_t oidsz,
                                  char **canon, char *kind, ferry_err_t *err)
{
    const char *p[] = {quoted};
    PGresult *res = ferry_pg_query(pg,
                                   "SELECT c.oid, quote_ident(s.nspname) || '.' ||"
                                   " quote_ident(c.relname), c.relkind FROM pg_class c"
                                   " JOIN pg_namespace s ON s.oid = c.relnamespace"
                                   " WHERE c.oid = to_regclass($1)",
                                   1, p, err);
    if (!res)
        return err->status;
    oid[0] = '\0';
    if (PQntuples(res)) {
        snprintf(oid, oidsz, "%s", PQgetvalue(res, 0, 0));
        *canon = strdup(PQgetvalue(res, 0, 1));
        *kind = PQgetvalue(res, 0, 2)[0];
    }
    PQclear(res);
    return FERRY_OK;
}

static ferry_status create_ferry_layout(ferry_pg_t *pg, const char *quoted, ferry_err_t *err)
{
    ferry_buf_t sql = FERRY_BUF_INIT;
    /* Several workers may start at once: the transaction-level lock is held until the CREATE
     * is committed, so the second one sees the table. */
    ferry_buf_appendf(&sql,
                      "BEGIN; SELECT pg_advisory_xact_lock(4242000002);"
                      " CREATE TABLE IF NOT EXISTS %s ("
                      " ship_id text NOT NULL, channel_id text NOT NULL,"
                      " ts timestamptz NOT NULL, value_double double precision,"
                      " value_long bigint, value_bool boolean, value_text text, unit text,"
                      " PRIMARY KEY (ship_id, channel_id, ts)); COMMIT",
                      quoted);
    ferry_status st = ferry_pg_exec(pg, ferry_buf_cstr(&sql), err);
    if (st)
        ferry_pg_exec(pg, "ROLLBACK", NULL);
    ferry_buf_free(&sql);
    return st;
}

/* A unique index (or primary key) on exactly (ship, channel, time), not partial. */
static ferry_status check_unique(ferry_pg_t *pg, const ferry_narrow_t *n, const char *oid,
                                 ferry_err_t *err)
{
    char ok[8];
    const char *p[] = {oid, n->ship.name, n->channel.name, n->time.name};
    ferry_status st = ferry_pg_query_value(
        pg,
        "SELECT count(*) FROM pg_index i WHERE i.indrelid = $1::oid AND i.indisunique"
        " AND i.indpred IS NULL AND i.indnkeyatts = 3"
        " AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a"
        "      WHERE a.attrelid = i.indrelid AND a.attnum = ANY((i.indkey::int2[])[0:2]))"
        "   = (SELECT array_agg(x ORDER BY x) FROM unnest(ARRAY[$2, $3, $4]::text[]) x)",
        4, p, ok, sizeof ok, err);
    if (st == FERRY_OK && strcmp(ok, "0") == 0)
        st = ferry_err_set(err, FERRY_USAGE,
                           "narrow table %s needs a unique index or primary key on exactly (%s, %s,"
                           " %s) so that writes are idempotent; create it first (CREATE UNIQUE"
                           " INDEX ON %s (%s, %s, %s))",
                           n->table, n->ship.q, n->channel.q, n->time.q, n->table, n->ship.q,
                           n->channel.q, n->time.q);
    return st;
}

/* Other NOT NULL columns must have a default (or be identity / generated): ferry fills only
 * the mapped ones. */
static ferry_status check_others(ferry_pg_t *pg, const ferry_narrow_t *n, const char *oid,
                                 ferry_err_t *err)
{
    const ferry_ncol_t *m[] = {&n->ship,    &n->channel, &n->time,    &n->unit,   &n->value,
                               &n->slot[0], &n->slot[1], &n->slot[2], &n->slot[3]};
    const char *p[10] = {oid};
    for (int i = 0; i < 9; i++)
        p[i + 1] = m[i]->name ? m[i]->name : "";
    PGresult *res = ferry_pg_query(
        pg,
        "SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod),"
        " ', ' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = $1::oid AND a.attnum > 0"
        " AND NOT a.attisdropped AND a.attnotnull AND NOT a.atthasdef AND a.attidentity = ''"
        " AND a.attgenerated = '' AND a.attname <> ALL (ARRAY[$2, $3, $4, $5, $6, $7, $8, $9,"
        " $10]::text[])",
        10, p, err);
    if (!res)
        return err->status;
    ferry_status st = FERRY_OK;
    if (!PQgetisnull(res, 0, 0))
        st = ferry_err_set(err, FERRY_USAGE,
                           "narrow table %s has NOT NULL columns without a default that ferry"
                           " does not fill: %s; give them a default or map them",
                           n->table, PQgetvalue(res, 0, 0));
    PQclear(res);
    return st;
}

/* Validates the zone name (PostgreSQL must know it) and keeps it as an SQL literal. */
static ferry_status set_zone(ferry_pg_t *pg, ferry_narrow_t *n, const char *zone, ferry_err_t *err)
{
    for (const char *z = zone; *z; z++) {
        char c = *z;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '+' || c == '-' || c == ':' || c == '.'))
            return ferry_err_set(err, FERRY_USAGE,
                                 "--narrow-time-zone '%.100s' is not a time zone name", zone);
    }
    const char *p[] = {zone};
    char v[64];
    ferry_err_t e;
    if (!*zone || ferry_pg_query_value(pg, "SELECT now() AT TIME ZONE $1", 1, p, v, sizeof v, &e))
        return ferry_err_set(err, FERRY_USAGE,
                             "--narrow-time-zone '%.100s' is not a time zone PostgreSQL knows"
                             " (see pg_timezone_names)",
                             zone);
    n->zone = dupf("'%s'", zone);
    return FERRY_OK;
}

static ferry_status open_columns(ferry_pg_t *pg, ferry_narrow_t *n, const char *oid,
                                 const ferry_narrow_spec_t *sp, ferry_err_t *err)
{
    ferry_status st;
    if ((st = ncol_load(pg, oid, n->table, "ship", sp->ship, &n->ship, err)) ||
        (st = ncol_load(pg, oid, n->table, "channel", sp->channel, &n->channel, err)) ||
        (st = ncol_load(pg, oid, n->table, "time", sp->time, &n->time, err)))
        return st;
    if (sp->unit && (st = ncol_load(pg, oid, n->table, "unit", sp->unit, &n->unit, err)))
        return st;
    if (!is_text(&n->ship))
        return refuse(err, n->table, &n->ship, "ship", SUPPORTED_TEXT);
    if (!is_text(&n->channel))
        return refuse(err, n->table, &n->channel, "channel", SUPPORTED_TEXT);
    if (n->unit.name && !is_text(&n->unit))
        return refuse(err, n->table, &n->unit, "unit", SUPPORTED_TEXT);
    if (n->time.kind != FERRY_NK_TSTZ && n->time.kind != FERRY_NK_TS)
        return refuse(err, n->table, &n->time, "time", SUPPORTED_TIME);
    n->single = sp->value != NULL;
    if (n->single) {
        if ((st = ncol_load(pg, oid, n->table, "value", sp->value, &n->value, err)))
            return st;
        ferry_nkind k = n->value.kind;
        if (k == FERRY_NK_NONE || k == FERRY_NK_TSTZ || k == FERRY_NK_TS)
            return refuse(err, n->table, &n->value, "value", SUPPORTED_VALUE);
        return FERRY_OK;
    }
    static const char *const roles[] = {"value_double", "value_long", "value_bool", "value_text"};
    static const char *const need[] = {"real, double precision, numeric",
                                       "smallint, integer, bigint", "boolean",
                                       "text, character varying, character"};
    const char *names[] = {sp->value_double, sp->value_long, sp->value_bool, sp->value_text};
    for (int s = 0; s < FERRY_NSLOTS; s++) {
        if (!names[s])
            continue;
        ferry_ncol_t *c = &n->slot[s];
        if ((st = ncol_load(pg, oid, n->table, roles[s], names[s], c, err)))
            return st;
        ferry_nkind k = c->kind;
        int fits = s == FERRY_NSLOT_DOUBLE
                       ? (k == FERRY_NK_FLOAT4 || k == FERRY_NK_FLOAT8 || k == FERRY_NK_NUMERIC)
                   : s == FERRY_NSLOT_LONG ? k == FERRY_NK_INT
                   : s == FERRY_NSLOT_BOOL ? k == FERRY_NK_BOOL
                                           : k == FERRY_NK_TEXT;
        if (!fits)
            return refuse(err, n->table, c, roles[s], need[s]);
        if (c->notnull)
            return ferry_err_set(err, FERRY_USAGE,
                                 "column %s of narrow table %s (%s=) is NOT NULL, but with one"
                                 " column per type every row leaves the others empty",
                                 c->q, n->table, roles[s]);
    }
    return FERRY_OK;
}

ferry_status ferry_narrow_open(ferry_pg_t *pg, ferry_narrow_t *n, const char *table,
                               const char *spec, const char *zone, ferry_narrow_use use,
                               ferry_err_t *err)
{
    memset(n, 0, sizeof *n);
    ferry_narrow_spec_t sp;
    ferry_status st = ferry_narrow_spec_parse(spec ? spec : FERRY_LAYOUT, &sp, err);
    if (st)
        return st;
    n->legacy = spec != NULL;
    char *quoted = NULL;
    char oid[24], kind = 0;
    if (!table || !*table) {
        st = ferry_err_set(err, FERRY_USAGE, "--narrow-table must not be empty");
        goto out;
    }
    ferry_err_t e;
    quoted = ferry_pg_quote_qualified(table);
    if (!quoted) {
        char *a, *b;
        ferry_pg_parse_qualified(table, &a, &b, &e);
        st = ferry_err_set(err, FERRY_USAGE, "--narrow-table: %s", e.msg);
        goto out;
    }
    if ((st = resolve_table(pg, quoted, oid, sizeof oid, &n->table, &kind, err)))
        goto out;
    if (!oid[0] && use == FERRY_NARROW_WRITE && !spec) {
        if ((st = create_ferry_layout(pg, quoted, err)) ||
            (st = resolve_table(pg, quoted, oid, sizeof oid, &n->table, &kind, err)))
            goto out;
    }
    if (!oid[0]) {
        st = ferry_err_set(err, FERRY_USAGE,
                           "narrow table %s does not exist%s (names are SQL identifiers: quote"
                           " mixed case, e.g. --narrow-table '\"Legacy\"')",
                           quoted, spec ? "" : " (dualwrite creates it in ferry's layout)");
        goto out;
    }
    if (use == FERRY_NARROW_WRITE ? (kind != 'r' && kind != 'p') : !strchr("rpvmf", kind)) {
        st = ferry_err_set(err, FERRY_USAGE,
                           "%s is not a table (relkind '%c'); ferry writes a table or a"
                           " partitioned table, and reads those, views and foreign tables",
                           n->table, kind);
        goto out;
    }
    if ((st = open_columns(pg, n, oid, &sp, err)))
        goto out;
    if (n->time.kind == FERRY_NK_TS && !zone) {
        st = ferry_err_set(err, FERRY_USAGE,
                           "time column %s of %s is timestamp without time zone: name the zone its"
                           " values are in with --narrow-time-zone (e.g. UTC)",
                           n->time.q, n->table);
        goto out;
    }
    if (n->time.kind == FERRY_NK_TSTZ && zone) {
        st = ferry_err_set(err, FERRY_USAGE,
                           "--narrow-time-zone is for a timestamp without time zone; %s of %s is"
                           " %s",
                           n->time.q, n->table, n->time.type);
        goto out;
    }
    if (zone && (st = set_zone(pg, n, zone, err)))
        goto out;
    if (use == FERRY_NARROW_WRITE &&
        ((st = check_unique(pg, n, oid, err)) || (st = check_others(pg, n, oid, err))))
        goto out;
    n->x_ship = text_expr(&n->ship);
    n->x_channel = text_expr(&n->channel);
    n->x_ts =
        n->zone ? dupf("(n.%s AT TIME ZONE %s)", n->time.q, n->zone) : dupf("n.%s", n->time.q);
    if (n->single)
        single_exprs(n);
    else
        slot_exprs(n);
out:
    free(quoted);
    ferry_narrow_spec_free(&sp);
    return st;
}

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
