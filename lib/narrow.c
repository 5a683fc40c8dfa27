/* narrow.c - the narrow table opened and checked: its columns looked up and classified by type
 * category, ferry's layout created when dualwrite finds none, the unique-key and NOT NULL
 * checks (see include/ferry/narrow.h; the spec is narrow_spec.c's, the expressions
 * narrow_expr.c's, the statements narrow_sql.c's). */
#include "ferry/narrow.h"
#include "narrow_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ferry's own layout, as a spec. */
static const char FERRY_LAYOUT[] = "ship=ship_id,channel=channel_id,time=ts,value_double="
                                   "value_double,value_long=value_long,value_bool=value_bool,"
                                   "value_text=value_text,unit=unit";

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
    size_t len = strlen(zone) + 3;
    n->zone = ferry_xcalloc(len, 1);
    snprintf(n->zone, len, "'%s'", zone);
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
    narrow_build_exprs(n);
out:
    free(quoted);
    ferry_narrow_spec_free(&sp);
    return st;
}

ferry_status ferry_narrow_open_opts(ferry_pg_t *pg, ferry_narrow_t *n, const ferry_opts_t *o,
                                    ferry_narrow_use use, ferry_err_t *err)
{
    return ferry_narrow_open(pg, n, ferry_opts_str(o, "narrow-table"),
                             ferry_opts_str(o, "narrow-columns"),
                             ferry_opts_str(o, "narrow-time-zone"), use, err);
}
