/* narrow_expr.c - the SQL expressions over a narrow table (alias n) that yield ferry's layout:
 * ship and channel as text, the time as timestamptz, and one expression per value slot, for a
 * single value column of any supported type or one column per type (see
 * include/ferry/narrow.h). */
#include "ferry/narrow.h"
#include "narrow_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void narrow_build_exprs(ferry_narrow_t *n)
{
    n->x_ship = text_expr(&n->ship);
    n->x_channel = text_expr(&n->channel);
    n->x_ts =
        n->zone ? dupf("(n.%s AT TIME ZONE %s)", n->time.q, n->zone) : dupf("n.%s", n->time.q);
    if (n->single)
        single_exprs(n);
    else
        slot_exprs(n);
}
