/* wtype.c - wide column types (see wtype.h). */
#include "ferry/wtype.h"

#include <math.h>
#include <string.h>

const char *ferry_wtype_sql(ferry_wtype_t t)
{
    switch (t) {
    case FERRY_WTYPE_DOUBLE:
        return "double precision";
    case FERRY_WTYPE_BIGINT:
        return "bigint";
    case FERRY_WTYPE_BOOL:
        return "boolean";
    case FERRY_WTYPE_TEXT:
        return "text";
    }
    return "text";
}

int ferry_wtype_parse(const char *s, ferry_wtype_t *out)
{
    for (int t = FERRY_WTYPE_DOUBLE; t <= FERRY_WTYPE_TEXT; t++) {
        if (strcmp(s, ferry_wtype_sql((ferry_wtype_t)t)) == 0) {
            *out = (ferry_wtype_t)t;
            return 0;
        }
    }
    return -1;
}

ferry_wtype_t ferry_wtype_for_value(ferry_value_type v)
{
    switch (v) {
    case FERRY_VALUE_LONG:
        return FERRY_WTYPE_BIGINT;
    case FERRY_VALUE_BOOL:
        return FERRY_WTYPE_BOOL;
    case FERRY_VALUE_STRING:
        return FERRY_WTYPE_TEXT;
    default:
        return FERRY_WTYPE_DOUBLE;
    }
}

int ferry_wtype_fits(ferry_wtype_t t, const ferry_reading_t *r)
{
    switch (t) {
    case FERRY_WTYPE_DOUBLE:
        if (r->type == FERRY_VALUE_DOUBLE)
            return 0;
        if (r->type == FERRY_VALUE_LONG)
            return (r->v.l <= (1LL << 53) && r->v.l >= -(1LL << 53)) ? 0 : -1;
        return -1;
    case FERRY_WTYPE_BIGINT:
        if (r->type == FERRY_VALUE_LONG)
            return 0;
        if (r->type == FERRY_VALUE_DOUBLE) {
            double d = r->v.d;
            if (isfinite(d) && d == floor(d) && d >= -9223372036854775808.0 &&
                d < 9223372036854775808.0)
                return 0;
            return 1;
        }
        return -1;
    case FERRY_WTYPE_BOOL:
        return r->type == FERRY_VALUE_BOOL ? 0 : -1;
    case FERRY_WTYPE_TEXT:
        return r->type == FERRY_VALUE_STRING ? 0 : -1;
    }
    return -1;
}
