/* csv_value.c - how the CSV reader types a value text (ferry_csv_type_value in csv.h;
 * docs/csv.md "Value types"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv_internal.h"

static int csv_ieq(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* 1 for a decimal number: [+-]? (D+ [. D*] | . D+) ([eE] [+-]? D+)?; *is_int when it is
 * [+-]? D+ only. */
static int csv_number_syntax(const char *s, const char *e, int *is_int)
{
    const char *p = s;
    if (p < e && (*p == '+' || *p == '-'))
        p++;
    const char *d0 = p;
    while (p < e && csv_digit(*p))
        p++;
    size_t nint = (size_t)(p - d0), nfrac = 0;
    int has_point = 0, has_exp = 0;
    if (p < e && *p == '.') {
        has_point = 1;
        const char *f0 = ++p;
        while (p < e && csv_digit(*p))
            p++;
        nfrac = (size_t)(p - f0);
    }
    if (nint == 0 && nfrac == 0)
        return 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        has_exp = 1;
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        const char *x0 = p;
        while (p < e && csv_digit(*p))
            p++;
        if (p == x0)
            return 0;
    }
    *is_int = !has_point && !has_exp;
    return p == e;
}

/* int64 from [+-]?D+, 0 when it does not fit. */
static int csv_int64(const char *s, const char *e, int64_t *out)
{
    int neg = 0;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    const uint64_t limit = neg ? (UINT64_C(1) << 63) : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (; s < e; s++) {
        unsigned dgt = (unsigned)(*s - '0');
        if (v > (limit - dgt) / 10)
            return 0;
        v = v * 10 + dgt;
    }
    if (!neg)
        *out = (int64_t)v;
    else
        *out = v == (UINT64_C(1) << 63) ? INT64_MIN : -(int64_t)v;
    return 1;
}

void ferry_csv_type_value(const char *s, size_t len, ferry_reading_t *out)
{
    const char *b = s, *e = s + len;
    while (b < e && csv_is_space(*b))
        b++;
    while (e > b && csv_is_space(e[-1]))
        e--;
    size_t n = (size_t)(e - b);
    if (n == 0) {
        out->type = FERRY_VALUE_NULL;
        return;
    }
    int is_int = 0;
    if (csv_number_syntax(b, e, &is_int)) {
        if (is_int && csv_int64(b, e, &out->v.l)) {
            out->type = FERRY_VALUE_LONG;
            return;
        }
        char small[64], *tmp = n < sizeof small ? small : malloc(n + 1);
        if (tmp) {
            memcpy(tmp, b, n);
            tmp[n] = '\0';
            double d = strtod(tmp, NULL);
            if (tmp != small)
                free(tmp);
            if (isfinite(d)) {
                out->type = FERRY_VALUE_DOUBLE;
                out->v.d = d;
                return;
            }
        }
        /* beyond the range of a double: keep the text rather than invent infinity */
    } else {
        const char *w = b;
        int neg = 0;
        if (*w == '+' || *w == '-')
            neg = *w++ == '-';
        size_t wn = (size_t)(e - w);
        if (csv_ieq(w, wn, "nan")) {
            out->type = FERRY_VALUE_DOUBLE;
            out->v.d = NAN;
            return;
        }
        if (csv_ieq(w, wn, "inf") || csv_ieq(w, wn, "infinity")) {
            out->type = FERRY_VALUE_DOUBLE;
            out->v.d = neg ? -INFINITY : INFINITY;
            return;
        }
        if (csv_ieq(b, n, "true") || csv_ieq(b, n, "false")) {
            out->type = FERRY_VALUE_BOOL;
            out->v.b = (*b == 't' || *b == 'T');
            return;
        }
    }
    out->type = FERRY_VALUE_STRING;
    out->v.s.ptr = s;
    out->v.s.len = len;
}
