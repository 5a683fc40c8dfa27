/* narrow_value.c - what a narrow column can hold: the coercion of a reading into the table's
 * value column(s), and the typing of values the table keeps as text (see narrow.h). */
#include "ferry/narrow.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text inference ------------------------------------------------------------------- */

#define INFER_MAX_LEN 64

/* Optional sign, 1..19 digits, nothing else; and within bigint's range. */
static int text_is_long(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    size_t digits = len - i;
    if (digits < 1 || digits > 19)
        return 0;
    for (size_t k = i; k < len; k++)
        if (s[k] < '0' || s[k] > '9')
            return 0;
    char buf[24];
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE)
        return 0;
    *out = (int64_t)v;
    return 1;
}

/* sign? (digits ('.' digits*)? | '.' digits) ([eE] sign? digit{1,3})?, at most 64 characters,
 * zero or of magnitude in [1e-307, 1e308): decided on the digits, exactly as the SQL twin
 * decides it with numeric comparisons. */
static int text_is_double(const char *s, size_t len, double *out)
{
    if (len == 0 || len > INFER_MAX_LEN)
        return 0;
    size_t i = 0;
    if (s[i] == '+' || s[i] == '-')
        i++;
    size_t int_digits = 0, frac_digits = 0;
    long first_sig = -1; /* position of the first non-zero digit, counted over all digits */
    long pos = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, int_digits++, pos++)
        if (first_sig < 0 && s[i] != '0')
            first_sig = pos;
    if (i < len && s[i] == '.') {
        i++;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, frac_digits++, pos++)
            if (first_sig < 0 && s[i] != '0')
                first_sig = pos;
    }
    if (int_digits + frac_digits == 0)
        return 0;
    long exp10 = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int neg = 0;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            neg = s[i++] == '-';
        size_t ed = 0;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, ed++)
            exp10 = exp10 * 10 + (s[i] - '0');
        if (ed < 1 || ed > 3)
            return 0;
        if (neg)
            exp10 = -exp10;
    }
    if (i != len)
        return 0;
    if (first_sig >= 0) {
        /* the first significant digit's place is 10^m; the value lies in [10^m, 10^(m+1)) */
        long m = (long)int_digits - 1 - first_sig + exp10;
        if (m < -307 || m > 307)
            return 0;
    }
    char buf[INFER_MAX_LEN + 1];
    memcpy(buf, s, len);
    buf[len] = '\0';
    *out = strtod(buf, NULL);
    return 1;
}

void ferry_narrow_infer_text(const char *s, size_t len, ferry_reading_t *r)
{
    int64_t l;
    double d;
    if (text_is_long(s, len, &l)) {
        r->type = FERRY_VALUE_LONG;
        r->v.l = l;
    } else if (text_is_double(s, len, &d)) {
        r->type = FERRY_VALUE_DOUBLE;
        r->v.d = d;
    } else {
        r->type = FERRY_VALUE_STRING;
        r->v.s = (ferry_str_t){s, len};
    }
}

/* The SQL twins of text_is_long and text_is_double, over the text expression x. Every cast
 * sits behind a CASE whose condition guarantees it cannot fail. */
static void sql_is_long(const char *x, ferry_buf_t *out)
{
    ferry_buf_appendf(out,
                      "(CASE WHEN %s ~ '^[+-]?[0-9]{1,19}$' THEN (%s)::numeric BETWEEN"
                      " -9223372036854775808 AND 9223372036854775807 ELSE false END)",
                      x, x);
}

static void sql_is_double(const char *x, ferry_buf_t *out)
{
    ferry_buf_appendf(out,
                      "(CASE WHEN length(%s) <= %d AND %s ~"
                      " '^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]{1,3})?$'"
                      " THEN (%s)::numeric = 0 OR (abs((%s)::numeric) >= 1e-307"
                      " AND abs((%s)::numeric) < 1e308) ELSE false END)",
                      x, INFER_MAX_LEN, x, x, x, x);
}

void ferry_narrow_infer_sql(const char *x, int slot, ferry_buf_t *out)
{
    switch (slot) {
    case FERRY_NSLOT_LONG:
        ferry_buf_append_str(out, "(CASE WHEN ");
        sql_is_long(x, out);
        ferry_buf_appendf(out, " THEN (%s)::bigint END)", x);
        break;
    case FERRY_NSLOT_DOUBLE:
        ferry_buf_append_str(out, "(CASE WHEN ");
        sql_is_long(x, out);
        ferry_buf_append_str(out, " THEN NULL::double precision WHEN ");
        sql_is_double(x, out);
        ferry_buf_appendf(out, " THEN (%s)::double precision END)", x);
        break;
    case FERRY_NSLOT_TEXT:
        ferry_buf_append_str(out, "(CASE WHEN ");
        sql_is_long(x, out);
        ferry_buf_append_str(out, " OR ");
        sql_is_double(x, out);
        ferry_buf_appendf(out, " THEN NULL::text ELSE (%s)::text END)", x);
        break;
    default:
        ferry_buf_append_str(out, "NULL::boolean");
        break;
    }
}

/* ---- coercion ------------------------------------------------------------------------- */

typedef struct why {
    const char **reason;
    char *msg;
    size_t msgsz;
} why_t;

static int reject(why_t *w, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reject(why_t *w, const char *reason, const char *fmt, ...)
{
    *w->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->msg, w->msgsz, fmt, ap);
    va_end(ap);
    return -1;
}

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

static int check_len(const ferry_ncol_t *c, ferry_str_t s, const char *what, why_t *w)
{
    if (c->maxchars > 0 && utf8_chars(s.ptr, s.len) > (size_t)c->maxchars)
        return reject(w, "value_too_long", "%s has %zu characters; column %s is %s", what,
                      utf8_chars(s.ptr, s.len), c->name, c->type);
    return 0;
}

/* A double as text, the way a reader sees it: the shortest form that reads back exactly. */
static char *double_text(double d)
{
    char buf[40];
    if (isnan(d))
        return strdup("NaN");
    if (isinf(d))
        return strdup(d > 0 ? "Infinity" : "-Infinity");
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return strdup(buf);
}

static void set_string(ferry_reading_t *r, char **owned, char *s)
{
    free(*owned);
    *owned = s;
    r->type = FERRY_VALUE_STRING;
    r->v.s = (ferry_str_t){s, strlen(s)};
}

static int is_integral(double d)
{
    return isfinite(d) && d == floor(d);
}

/* The integer kinds: a long in range, or an integral double in range. */
static int to_int(const ferry_ncol_t *c, ferry_reading_t *r, why_t *w)
{
    if (r->type == FERRY_VALUE_DOUBLE) {
        double d = r->v.d;
        if (!is_integral(d))
            return reject(w, "type_conflict", "%.17g is not an integer; column %s is %s", d,
                          c->name, c->type);
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
            return reject(w, "value_out_of_range", "%.17g is out of the range of column %s (%s)", d,
                          c->name, c->type);
        r->type = FERRY_VALUE_LONG;
        r->v.l = (int64_t)d;
    }
    if (r->type != FERRY_VALUE_LONG)
        return reject(w, "type_conflict", "column %s is %s and cannot hold a %s", c->name, c->type,
                      r->type == FERRY_VALUE_BOOL ? "boolean" : "string");
    if (r->v.l < c->imin || r->v.l > c->imax)
        return reject(w, "value_out_of_range", "%lld is out of the range of column %s (%s)",
                      (long long)r->v.l, c->name, c->type);
    return 0;
}

/* real and double precision: any number (a long becomes the nearest double). */
static int to_float(const ferry_ncol_t *c, ferry_reading_t *r, why_t *w)
{
    if (r->type == FERRY_VALUE_LONG) {
        r->type = FERRY_VALUE_DOUBLE;
        r->v.d = (double)r->v.l;
    }
    if (r->type != FERRY_VALUE_DOUBLE)
        return reject(w, "type_conflict", "column %s is %s and cannot hold a %s", c->name, c->type,
                      r->type == FERRY_VALUE_BOOL ? "boolean" : "string");
    if (c->kind == FERRY_NK_FLOAT4 && isfinite(r->v.d)) {
        float f = (float)r->v.d;
        if (isinf(f) || (f == 0.0f && r->v.d != 0.0))
            return reject(w, "value_out_of_range", "%.17g is out of the range of column %s (real)",
                          r->v.d, c->name);
    }
    return 0;
}

/* numeric(p,s): any finite number below 10^(p-s); unconstrained numeric: any number. */
static int to_numeric(const ferry_ncol_t *c, ferry_reading_t *r, why_t *w)
{
    if (r->type != FERRY_VALUE_DOUBLE && r->type != FERRY_VALUE_LONG)
        return reject(w, "type_conflict", "column %s is %s and cannot hold a %s", c->name, c->type,
                      r->type == FERRY_VALUE_BOOL ? "boolean" : "string");
    if (c->prec == 0)
        return 0;
    double v = r->type == FERRY_VALUE_DOUBLE ? r->v.d : (double)r->v.l;
    if (!isfinite(v))
        return reject(w, "value_out_of_range", "column %s (%s) cannot hold %s", c->name, c->type,
                      isnan(v) ? "NaN" : "an infinite value");
    if (fabs(v) >= pow(10.0, c->prec - c->scale))
        return reject(w, "value_out_of_range", "%.17g does not fit column %s (%s)", v, c->name,
                      c->type);
    return 0;
}

/* A text column: the reading as the text the table will hold, typed back the way
 * ferry_narrow_infer_text types it. */
static int to_text(const ferry_ncol_t *c, ferry_reading_t *r, char **owned, why_t *w)
{
    switch (r->type) {
    case FERRY_VALUE_DOUBLE: {
        double d = r->v.d;
        /* PostgreSQL prints an integral double below 1e15 as digits only: it reads back as a
         * long. Non-finite and tiny or huge ones read back as strings. */
        if (is_integral(d) && fabs(d) < 1e15) {
            r->type = FERRY_VALUE_LONG;
            r->v.l = (int64_t)d;
        } else if (!isfinite(d) || (d != 0 && (fabs(d) < 1e-307 || fabs(d) >= 1e308))) {
            set_string(r, owned, double_text(d));
        }
        return 0;
    }
    case FERRY_VALUE_LONG:
        return 0;
    case FERRY_VALUE_BOOL:
        r->type = FERRY_VALUE_STRING;
        r->v.s = r->v.b ? (ferry_str_t){"true", 4} : (ferry_str_t){"false", 5};
        return check_len(c, r->v.s, "the value", w);
    case FERRY_VALUE_STRING:
        if (check_len(c, r->v.s, "the value", w))
            return -1;
        ferry_narrow_infer_text(r->v.s.ptr, r->v.s.len, r);
        return 0;
    default:
        return 0;
    }
}

/* One value column that takes every type. */
static int to_column(const ferry_ncol_t *c, ferry_reading_t *r, char **owned, why_t *w)
{
    if (r->type == FERRY_VALUE_NULL)
        return c->notnull ? reject(w, "not_null",
                                   "the reading has no value and column %s is NOT"
                                   " NULL",
                                   c->name)
                          : 0;
    if (r->type == FERRY_VALUE_STRING &&
        (c->kind == FERRY_NK_INT || c->kind == FERRY_NK_FLOAT4 || c->kind == FERRY_NK_FLOAT8 ||
         c->kind == FERRY_NK_NUMERIC)) {
        /* a number sent as a string: stored as that number */
        ferry_reading_t t = *r;
        ferry_narrow_infer_text(r->v.s.ptr, r->v.s.len, &t);
        if (t.type != FERRY_VALUE_STRING)
            *r = t;
    }
    switch (c->kind) {
    case FERRY_NK_TEXT:
        return to_text(c, r, owned, w);
    case FERRY_NK_INT:
        return to_int(c, r, w);
    case FERRY_NK_FLOAT4:
    case FERRY_NK_FLOAT8:
        return to_float(c, r, w);
    case FERRY_NK_NUMERIC:
        return to_numeric(c, r, w);
    case FERRY_NK_BOOL:
        if (r->type != FERRY_VALUE_BOOL)
            return reject(w, "type_conflict", "column %s is boolean and cannot hold a %s", c->name,
                          r->type == FERRY_VALUE_STRING ? "string" : "number");
        return 0;
    default:
        return reject(w, "type_conflict", "column %s cannot hold values", c->name);
    }
}

/* One column per type: each reading goes to its type's column, or to the nearest one that
 * holds it without change. */
static int to_slots(const ferry_narrow_t *n, ferry_reading_t *r, char **owned, why_t *w)
{
    const ferry_ncol_t *sd = &n->slot[FERRY_NSLOT_DOUBLE], *sl = &n->slot[FERRY_NSLOT_LONG],
                       *sb = &n->slot[FERRY_NSLOT_BOOL], *st = &n->slot[FERRY_NSLOT_TEXT];
    switch (r->type) {
    case FERRY_VALUE_NULL:
        return 0;
    case FERRY_VALUE_DOUBLE:
        if (sd->name)
            return sd->kind == FERRY_NK_NUMERIC ? to_numeric(sd, r, w) : to_float(sd, r, w);
        if (sl->name && is_integral(r->v.d))
            return to_int(sl, r, w);
        break;
    case FERRY_VALUE_LONG:
        if (sl->name)
            return to_int(sl, r, w);
        if (sd->name)
            return sd->kind == FERRY_NK_NUMERIC ? to_numeric(sd, r, w) : to_float(sd, r, w);
        break;
    case FERRY_VALUE_BOOL:
        if (sb->name)
            return 0;
        break;
    case FERRY_VALUE_STRING:
        if (st->name)
            return check_len(st, r->v.s, "the value", w);
        break;
    }
    if (!st->name)
        return reject(w, "type_conflict", "the narrow table has no column for a %s value",
                      r->type == FERRY_VALUE_DOUBLE ? "double"
                      : r->type == FERRY_VALUE_LONG ? "long"
                      : r->type == FERRY_VALUE_BOOL ? "boolean"
                                                    : "string");
    /* kept as text in the text column */
    if (r->type == FERRY_VALUE_BOOL) {
        r->type = FERRY_VALUE_STRING;
        r->v.s = r->v.b ? (ferry_str_t){"true", 4} : (ferry_str_t){"false", 5};
    } else if (r->type == FERRY_VALUE_DOUBLE) {
        set_string(r, owned, double_text(r->v.d));
    } else if (r->type == FERRY_VALUE_LONG) {
        char buf[24];
        snprintf(buf, sizeof buf, "%lld", (long long)r->v.l);
        set_string(r, owned, strdup(buf));
    }
    return check_len(st, r->v.s, "the value", w);
}

int ferry_narrow_coerce(const ferry_narrow_t *n, ferry_reading_t *r, char **owned,
                        const char **reason, char *msg, size_t msgsz)
{
    why_t w = {reason, msg, msgsz};
    if (check_len(&n->ship, r->ship_id, "ship_id", &w) ||
        check_len(&n->channel, r->channel_id, "channel_id", &w))
        return -1;
    if (n->unit.name) {
        if (r->has_unit && check_len(&n->unit, r->unit, "the unit", &w))
            return -1;
        if (!r->has_unit && n->unit.notnull)
            return reject(&w, "not_null", "the reading has no unit and column %s is NOT NULL",
                          n->unit.name);
    }
    if (n->single)
        return to_column(&n->value, r, owned, &w);
    return to_slots(n, r, owned, &w);
}
