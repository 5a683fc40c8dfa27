/* narrow.h - the narrow table, described once for every command that reads or writes it.
 *
 * The narrow table is either ferry's own layout (ship_id, channel_id, ts, value_double,
 * value_long, value_bool, value_text, unit; created by dualwrite when missing) or an existing
 * legacy table that another system has written for years, described by a column spec:
 *
 *   ship=COL,channel=COL,time=COL,value=COL[,unit=COL]
 *   ship=COL,channel=COL,time=COL,value_double=COL[,value_long=COL][,value_bool=COL]
 *       [,value_text=COL][,unit=COL]
 *
 * COL is the column's exact name (as in pg_attribute; double-quote it in the spec when it
 * holds ',' or '=' or starts/ends with a space: ship="Ship, ID"). The table name is an SQL
 * identifier as psql and pg_dump -t take it: legacy_narrow, ops."Narrow", '"Legacy"'.
 *
 * Column types are decided by PostgreSQL's type categories (pg_type.typcategory of the base
 * type): ship, channel and unit are strings (S); time is timestamp with or without time zone
 * (without, the zone its values are in must be named); a single value column may be a string
 * (S: values are typed by inference, see ferry_narrow_infer_text), a number (N: smallint,
 * integer, bigint, real, double precision, numeric) or boolean (B). Any other type is refused
 * when the table is opened, naming the column, its type and the supported types.
 *
 * Every command reads the table through ferry_narrow_select(), which yields ferry's layout
 * (ship_id text, channel_id text, ts timestamptz, value_double, value_long, value_bool,
 * value_text) from quoted identifiers only. dualwrite writes it through
 * ferry_narrow_coerce() (what the table can store, and as what it will read back) and the
 * INSERT / read-back statements built here. */
#ifndef FERRY_NARROW_H
#define FERRY_NARROW_H

#include <stdint.h>

#include "ferry/buf.h"
#include "ferry/err.h"
#include "ferry/options.h"
#include "ferry/pg.h"
#include "ferry/telemetry.h"

/* The options every command that works on the narrow table shares (ferry_opt_t entries). */
#define FERRY_OPT_NARROW_TABLE                                                                     \
    {                                                                                              \
        "narrow-table", 0, FERRY_OPT_STRING, "public.telemetry_narrow", "TABLE",                   \
            "the narrow table, an SQL name as psql takes it (ops.\"Narrow\")", 0                   \
    }
#define FERRY_OPT_NARROW_COLUMNS                                                                   \
    {                                                                                              \
        "narrow-columns", 0, FERRY_OPT_STRING, NULL, "SPEC",                                       \
            "an existing narrow table's columns: ship=COL,channel=COL,time=COL,value=COL"          \
            "[,unit=COL] or value_double=COL,value_long=COL,... (docs/migration.md)",              \
            0                                                                                      \
    }
#define FERRY_OPT_NARROW_TIME_ZONE                                                                 \
    {                                                                                              \
        "narrow-time-zone", 0, FERRY_OPT_STRING, NULL, "ZONE",                                     \
            "zone of a 'timestamp without time zone' time column (UTC, Europe/Oslo, ...)", 0       \
    }

/* The spec, parsed. Every field is a new string or NULL (ferry_narrow_spec_free). */
typedef struct ferry_narrow_spec {
    char *ship, *channel, *time, *unit;
    char *value;                                               /* one column for every type */
    char *value_double, *value_long, *value_bool, *value_text; /* or one per type */
} ferry_narrow_spec_t;

/* Parses a spec; FERRY_USAGE with a message naming the problem. */
ferry_status ferry_narrow_spec_parse(const char *spec, ferry_narrow_spec_t *out, ferry_err_t *err);
void ferry_narrow_spec_free(ferry_narrow_spec_t *s);

typedef enum ferry_nkind {
    FERRY_NK_NONE = 0,
    FERRY_NK_TEXT,    /* text, varchar, char */
    FERRY_NK_INT,     /* smallint, integer, bigint */
    FERRY_NK_FLOAT4,  /* real */
    FERRY_NK_FLOAT8,  /* double precision */
    FERRY_NK_NUMERIC, /* numeric, numeric(p,s) */
    FERRY_NK_BOOL,    /* boolean */
    FERRY_NK_TSTZ,    /* timestamp with time zone */
    FERRY_NK_TS,      /* timestamp without time zone */
} ferry_nkind;

/* One column of the narrow table. */
typedef struct ferry_ncol {
    char *name; /* exact name; NULL when the column is not mapped */
    char *q;    /* quoted name */
    char *type; /* format_type(): "character varying(20)", "numeric(12,3)" */
    char *base; /* the type without modifiers, for casts that must not truncate */
    ferry_nkind kind;
    int maxchars;       /* varchar(n) / char(n): n; 0 unlimited */
    int prec, scale;    /* numeric(p,s); prec 0: unconstrained */
    int64_t imin, imax; /* the integer kinds' range */
    int notnull;
} ferry_ncol_t;

/* Value slots, in the order of ferry's value columns. */
enum { FERRY_NSLOT_DOUBLE, FERRY_NSLOT_LONG, FERRY_NSLOT_BOOL, FERRY_NSLOT_TEXT, FERRY_NSLOTS };

typedef struct ferry_narrow {
    char *table; /* quoted and schema-qualified: public."Legacy" */
    int legacy;  /* a table described by a spec (not ferry's own layout) */
    ferry_ncol_t ship, channel, time, unit;
    /* one value column for every type (single) or one per slot (a slot may be unmapped) */
    int single;
    ferry_ncol_t value;              /* single */
    ferry_ncol_t slot[FERRY_NSLOTS]; /* per type */
    char *zone;                      /* SQL literal of the time column's zone, or NULL */
    /* SQL expressions over alias n that yield ferry's layout */
    char *x_ship, *x_channel, *x_ts, *x_v[FERRY_NSLOTS];
} ferry_narrow_t;

/* What a command does with the narrow table. */
typedef enum ferry_narrow_use {
    FERRY_NARROW_READ,  /* read it (backfill, verify, views, status): a table, a partitioned
                         * table, a view or a foreign table */
    FERRY_NARROW_WRITE, /* write it (dualwrite): a table or partitioned table with a unique
                         * index on (ship, channel, time); ferry's layout is created if missing */
} ferry_narrow_use;

/* Opens the narrow table `table`: ferry's layout when `spec` is NULL, else the legacy layout
 * `spec` describes, with `zone` for a time column without time zone. Checks that the table
 * exists, that every mapped column exists with a supported type and, to write it, that a
 * unique index or primary key covers exactly (ship, channel, time) (writes must be
 * idempotent) and that no other NOT NULL column lacks a default. FERRY_USAGE with a message
 * that says what to do, or a classified database error. Free with ferry_narrow_close() (also
 * after a failure). */
ferry_status ferry_narrow_open(ferry_pg_t *pg, ferry_narrow_t *n, const char *table,
                               const char *spec, const char *zone, ferry_narrow_use use,
                               ferry_err_t *err);
void ferry_narrow_close(ferry_narrow_t *n);
/* ferry_narrow_open() of the table, spec and zone that the options FERRY_OPT_NARROW_TABLE,
 * FERRY_OPT_NARROW_COLUMNS and FERRY_OPT_NARROW_TIME_ZONE of `o` give: how every command opens
 * the narrow table of its command line. Free with ferry_narrow_close() (also after a
 * failure). */
ferry_status ferry_narrow_open_opts(ferry_pg_t *pg, ferry_narrow_t *n, const ferry_opts_t *o,
                                    ferry_narrow_use use, ferry_err_t *err);

/* Which rows ferry_narrow_select() returns. Each member is an SQL expression (usually a
 * parameter like "$1") or NULL for no condition. */
typedef struct ferry_narrow_filter {
    const char *ship;     /* text: the ship */
    const char *channel;  /* text: one channel */
    const char *channels; /* text[]: a set of channels */
    const char *from;     /* timestamptz: ts >= from */
    const char *to;       /* timestamptz: ts < to */
    int values_only;      /* only rows with a value */
} ferry_narrow_filter_t;

/* Appends "SELECT <ship> AS ship_id, <channel> AS channel_id, <ts> AS ts, ... AS value_double,
 * ... AS value_long, ... AS value_bool, ... AS value_text FROM <table> n WHERE ..." with the
 * conditions of `f` (may be NULL) written so that an index on the table's own columns serves
 * them. */
void ferry_narrow_select(const ferry_narrow_t *n, const ferry_narrow_filter_t *f, ferry_buf_t *out);

/* Appends "n.<ship> = (<expr>)::<type>" (a condition on the ship column in its own type). */
void ferry_narrow_where_ship(const ferry_narrow_t *n, const char *expr, ferry_buf_t *out);

/* The ships of the narrow table (loose index scan over the ship column). The array and its
 * strings are new (free each and the array). */
ferry_status ferry_narrow_ships(ferry_pg_t *pg, const ferry_narrow_t *n, char ***ships, int *count,
                                ferry_err_t *err);
/* Copies of the `nonly` names given (--ship), or every ship when none were. Same ownership. */
ferry_status ferry_narrow_ships_or(ferry_pg_t *pg, const ferry_narrow_t *n, const char *const *only,
                                   size_t nonly, char ***ships, int *count, ferry_err_t *err);
/* Bounds of a ship's timestamps in narrow (*found = 0 without rows). For a time column
 * without time zone the bounds are widened by a day on each side (they come from an index
 * on local times); callers use them to plan ranges, never as exact values. */
ferry_status ferry_narrow_ship_range(ferry_pg_t *pg, const ferry_narrow_t *n, const char *ship,
                                     int64_t *min_us, int64_t *max_us, int *found,
                                     ferry_err_t *err);

/* ---- writing (dualwrite) ----------------------------------------------------------------- */

/* Decides how reading `r` is stored: converts r in place into the type the table will read
 * back (a double into an integer column becomes a long, a number into a text column becomes
 * what ferry_narrow_infer_text makes of its text, ...) and returns 0, or returns -1 when the
 * table cannot hold it, with *reason set to a short dead-letter reason ("type_conflict",
 * "value_out_of_range", "value_too_long", "not_null") and `msg` saying why. A string made
 * here is stored in *owned (new; free it with the reading). */
int ferry_narrow_coerce(const ferry_narrow_t *n, ferry_reading_t *r, char **owned,
                        const char **reason, char *msg, size_t msgsz);

/* The staging table dualwrite COPYs a batch into: ship_id, channel_id, ts, value_double,
 * value_long, value_bool, value_text, unit, seq (temporary, emptied at commit). */
#define FERRY_NARROW_STAGE "ferry_narrow_stage"
void ferry_narrow_stage_ddl(ferry_buf_t *out);
/* "INSERT INTO <table> (...) SELECT ... FROM <stage> ON CONFLICT DO NOTHING". */
void ferry_narrow_insert_sql(const ferry_narrow_t *n, ferry_buf_t *out);
/* "SELECT s.seq, us, value_double, value_long, value_bool, value_text FROM <stage> s JOIN
 * <table> n ON <the key as stored>": for every staged reading, its row as the table holds it
 * (us: the stored time in microseconds since the Unix epoch). */
void ferry_narrow_readback_sql(const ferry_narrow_t *n, ferry_buf_t *out);

/* ---- values held as text ------------------------------------------------------------------- */

/* How ferry reads a value stored as text (legacy tables that keep numbers as text): an
 * integer of at most 19 digits within bigint's range is a long; a decimal number (digits,
 * optional point and fraction, optional exponent of at most 3 digits, at most 64 characters)
 * that is zero or of magnitude in [1e-307, 1e308) is a double (the nearest one); anything
 * else, including surrounding spaces, is a string. The SQL twin (ferry_narrow_infer_sql)
 * decides exactly the same; a test holds them to it. Sets r->type and r->v; a string value
 * points at s. */
void ferry_narrow_infer_text(const char *s, size_t len, ferry_reading_t *r);
/* Appends the SQL expression of slot `slot` (FERRY_NSLOT_*) that ferry_narrow_infer_text
 * yields for the text expression `x` (NULL when the text is not of that slot). */
void ferry_narrow_infer_sql(const char *x, int slot, ferry_buf_t *out);

#endif
