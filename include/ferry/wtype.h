/* wtype.h - the column types of the wide tables and how a telemetry value fits them.
 *
 * A wide column is double precision, bigint, boolean or text. A channel's column takes the
 * type of the first value that created it; a bigint column that meets a non-integral number
 * may be widened to double precision (widecat.h decides when that is lossless). */
#ifndef FERRY_WTYPE_H
#define FERRY_WTYPE_H

#include "ferry/telemetry.h"

typedef enum ferry_wtype {
    FERRY_WTYPE_DOUBLE = 0,
    FERRY_WTYPE_BIGINT = 1,
    FERRY_WTYPE_BOOL = 2,
    FERRY_WTYPE_TEXT = 3,
} ferry_wtype_t;

/* The PostgreSQL name of a column type: "double precision", "bigint", "boolean", "text". */
const char *ferry_wtype_sql(ferry_wtype_t t);
/* The column type named `s` (as ferry_wtype_sql() writes it): 0, or -1 for another name. */
int ferry_wtype_parse(const char *s, ferry_wtype_t *out);
/* The type of the column a value of type `v` creates: a double (and, by default, a null)
 * makes double precision, a long bigint, a boolean boolean, a string text. */
ferry_wtype_t ferry_wtype_for_value(ferry_value_type v);
/* How a value fits a column of type t: 0 fits (a long into a double column when exact, an
 * integral double into a bigint column), 1 needs the bigint column widened to double
 * precision, -1 conflicts (it goes to a dead-letter or reject table, never into the column). */
int ferry_wtype_fits(ferry_wtype_t t, const ferry_reading_t *r);

#endif
