/* avro_json.c - natural JSON -> avro-c values, for `ferry produce` and the JSON framing (the
 * rules are in include/ferry/avro.h; the other way is lib/avro_tojson.c). */
#include "avro_internal.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- union branch choice, shared by both directions -------------------------------------- */

static avro_type_t branch_type(avro_schema_t u, size_t i)
{
    return avro_typeof(ferry_avro_resolve(avro_schema_union_branch(u, (int)i)));
}

static int fits_int32(json_int_t x)
{
    return x >= INT32_MIN && x <= INT32_MAX;
}

static int special_float(const char *s, double *out)
{
    if (!strcmp(s, "NaN"))
        *out = NAN;
    else if (!strcmp(s, "Infinity"))
        *out = INFINITY;
    else if (!strcmp(s, "-Infinity"))
        *out = -INFINITY;
    else
        return 0;
    return 1;
}

/* Number of bytes a code-point string (U+0000..U+00FF = one byte each) decodes to, or -1 if
 * it has a code point above U+00FF. jansson strings are valid UTF-8. */
static long bytes_len(const char *s, size_t n)
{
    long len = 0;
    for (size_t i = 0; i < n; len++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80)
            i++;
        else if ((c == 0xC2 || c == 0xC3) && i + 1 < n)
            i += 2;
        else
            return -1;
    }
    return len;
}

/* The branch a natural JSON value goes to (see avro.h), or -1. */
int ferry_avro_json_pick_branch(avro_schema_t u, const json_t *j)
{
    size_t n = avro_schema_union_size(u);
    size_t i;
    switch (json_typeof(j)) {
    case JSON_NULL:
        for (i = 0; i < n; i++)
            if (branch_type(u, i) == AVRO_NULL)
                return (int)i;
        return -1;
    case JSON_TRUE:
    case JSON_FALSE:
        for (i = 0; i < n; i++)
            if (branch_type(u, i) == AVRO_BOOLEAN)
                return (int)i;
        return -1;
    case JSON_INTEGER:
        for (i = 0; i < n; i++) {
            avro_type_t t = branch_type(u, i);
            if (t == AVRO_INT64 || (t == AVRO_INT32 && fits_int32(json_integer_value(j))))
                return (int)i;
        }
        for (i = 0; i < n; i++)
            if (branch_type(u, i) == AVRO_DOUBLE || branch_type(u, i) == AVRO_FLOAT)
                return (int)i;
        return -1;
    case JSON_REAL: {
        for (i = 0; i < n; i++)
            if (branch_type(u, i) == AVRO_DOUBLE || branch_type(u, i) == AVRO_FLOAT)
                return (int)i;
        double d = json_real_value(j);
        if (d != floor(d))
            return -1;
        for (i = 0; i < n; i++) {
            avro_type_t t = branch_type(u, i);
            if ((t == AVRO_INT64 && d >= -0x1p63 && d < 0x1p63) ||
                (t == AVRO_INT32 && d >= INT32_MIN && d <= INT32_MAX))
                return (int)i;
        }
        return -1;
    }
    case JSON_STRING: {
        const char *s = json_string_value(j);
        size_t len = json_string_length(j);
        double d;
        for (i = 0; i < n; i++)
            if (branch_type(u, i) == AVRO_STRING)
                return (int)i;
        for (i = 0; i < n; i++) {
            avro_schema_t b = ferry_avro_resolve(avro_schema_union_branch(u, (int)i));
            avro_type_t t = avro_typeof(b);
            if (t == AVRO_ENUM && avro_schema_enum_get_by_name(b, s) >= 0)
                return (int)i;
            if (t == AVRO_BYTES && bytes_len(s, len) >= 0)
                return (int)i;
            if (t == AVRO_FIXED && bytes_len(s, len) == (long)avro_schema_fixed_size(b))
                return (int)i;
        }
        if (special_float(s, &d))
            for (i = 0; i < n; i++)
                if (branch_type(u, i) == AVRO_DOUBLE || branch_type(u, i) == AVRO_FLOAT)
                    return (int)i;
        return -1;
    }
    case JSON_ARRAY:
        for (i = 0; i < n; i++)
            if (branch_type(u, i) == AVRO_ARRAY)
                return (int)i;
        return -1;
    case JSON_OBJECT:
        for (i = 0; i < n; i++)
            if (branch_type(u, i) == AVRO_RECORD || branch_type(u, i) == AVRO_MAP)
                return (int)i;
        return -1;
    }
    return -1;
}

/* If j is Avro's JSON encoding of a union value, {"<branch type name>": value}, returns the
 * branch and stores the inner value in *inner; else -1. */
int ferry_avro_json_wrapped_branch(avro_schema_t u, const json_t *j, json_t **inner)
{
    if (!json_is_object(j) || json_object_size(j) != 1)
        return -1;
    void *it = json_object_iter((json_t *)j);
    const char *key = json_object_iter_key(it);
    char name[256];
    for (size_t i = 0; i < avro_schema_union_size(u); i++) {
        avro_schema_t b = avro_schema_union_branch(u, (int)i);
        if (strcmp(key, ferry_avro_type_name(b, name, sizeof name)) == 0) {
            *inner = json_object_iter_value(it);
            return (int)i;
        }
    }
    return -1;
}

static void union_names(avro_schema_t u, char *buf, size_t size)
{
    size_t at = 0;
    char name[256];
    buf[0] = '\0';
    for (size_t i = 0; i < avro_schema_union_size(u) && at < size; i++) {
        int n =
            snprintf(buf + at, size - at, "%s%s", i ? "," : "[",
                     ferry_avro_type_name(avro_schema_union_branch(u, (int)i), name, sizeof name));
        if (n < 0)
            return;
        at += (size_t)n;
    }
    if (at < size)
        snprintf(buf + at, size - at, "]");
}

/* ---- JSON -> value ---------------------------------------------------------------------- */

typedef struct fj_ctx {
    const ferry_schema_t *schema;
    ferry_err_t *err;
} fj_ctx_t;

const char *ferry_avro_json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

static int fj_error(fj_ctx_t *c, const ferry_avro_path_t *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fj_error(fj_ctx_t *c, const ferry_avro_path_t *path, const char *fmt, ...)
{
    char where[256];
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ferry_err_set(c->err, FERRY_POISON, "%s: %s",
                         ferry_avro_path_format(path, where, sizeof where), what);
}

static int expected(fj_ctx_t *c, const ferry_avro_path_t *path, const char *type, const json_t *j)
{
    return fj_error(c, path, "expected %s, got %s", type, ferry_avro_json_kind(j));
}

static int avro_failed(fj_ctx_t *c)
{
    return ferry_err_set(c->err, FERRY_FATAL, "avro-c: %s", avro_strerror());
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*s)[i] < '0' || (*s)[i] > '9')
            return 0;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 1;
}

/* RFC 3339 date-time ("2024-05-01T12:00:00.123456Z", "...+09:00") to microseconds since
 * the epoch. Fractions finer than a microsecond are truncated. Returns 0 on bad syntax. */
static int parse_rfc3339(const char *s, int64_t *micros)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, oh = 0, om = 0;
    if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
        !digits(&s, 2, &d) || (*s != 'T' && *s != 't' && *s != ' '))
        return 0;
    s++;
    if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi) || *s++ != ':' ||
        !digits(&s, 2, &sec))
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 ||
        sec > 59)
        return 0;
    int64_t frac = 0;
    if (*s == '.') {
        int nd = 0;
        s++;
        for (; *s >= '0' && *s <= '9'; s++, nd++)
            if (nd < 6)
                frac = frac * 10 + (*s - '0');
        if (nd == 0)
            return 0;
        for (; nd < 6; nd++)
            frac *= 10;
    }
    int sign = 0;
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        sign = *s++ == '-' ? -1 : 1;
        if (!digits(&s, 2, &oh) || *s++ != ':' || !digits(&s, 2, &om) || oh > 23 || om > 59)
            return 0;
    } else {
        return 0;
    }
    if (*s)
        return 0;
    int64_t secs =
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
    *micros = secs * 1000000 + frac;
    return 1;
}

static int fj_value(fj_ctx_t *c, const json_t *j, avro_value_t *v, const ferry_avro_path_t *path,
                    unsigned char logical, int depth);

static int fj_record(fj_ctx_t *c, const json_t *j, avro_value_t *v, const ferry_avro_path_t *path,
                     int depth)
{
    if (!json_is_object(j))
        return expected(c, path, "an object", j);
    const ferry_avro_record_info_t *ri =
        ferry_avro_record_info(c->schema, avro_value_get_schema(v));
    size_t n = 0, matched = 0;
    avro_value_get_size(v, &n);
    for (size_t i = 0; i < n; i++) {
        avro_value_t f;
        const char *name = NULL;
        avro_value_get_by_index(v, i, &f, &name);
        ferry_avro_path_t sub = {path, name, 0, 0};
        const json_t *fj = json_object_get(j, name);
        unsigned char logical = ri && i < ri->nfields ? ri->logical[i] : 0;
        int rc;
        if (fj) {
            matched++;
            rc = fj_value(c, fj, &f, &sub, logical, depth + 1);
        } else if (ri && i < ri->nfields && ri->defaults[i]) {
            /* a union's default is a value of its first branch */
            avro_value_t target = f;
            if (avro_value_get_type(&f) == AVRO_UNION && avro_value_set_branch(&f, 0, &target))
                return avro_failed(c);
            rc = fj_value(c, ri->defaults[i], &target, &sub, logical, depth + 1);
        } else {
            char where[256];
            return ferry_err_set(c->err, FERRY_POISON, "missing required field %s",
                                 ferry_avro_path_format(&sub, where, sizeof where));
        }
        if (rc != FERRY_OK)
            return rc;
    }
    if (matched != json_object_size(j)) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)j, key, val)
        {
            avro_value_t f;
            (void)val;
            if (avro_value_get_by_name(v, key, &f, NULL) != 0)
                return fj_error(c, path, "unknown field \"%s\"", key);
        }
    }
    return FERRY_OK;
}

/* Code-point string to bytes in *out (see bytes_len). */
static void code_points_to_bytes(const char *s, size_t n, ferry_buf_t *out)
{
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x80) {
            ferry_buf_append_byte(out, ch);
            i++;
        } else {
            ferry_buf_append_byte(out, (unsigned char)(((ch & 0x03) << 6) | (s[i + 1] & 0x3F)));
            i += 2;
        }
    }
}

/* An int or a long from a JSON integer, an integral number, or (a timestamp long) an RFC 3339
 * string. */
static int fj_integer(fj_ctx_t *c, const json_t *j, avro_value_t *v, const ferry_avro_path_t *path,
                      unsigned char logical)
{
    int is_int = avro_value_get_type(v) == AVRO_INT32;
    int64_t x;
    if (json_is_integer(j)) {
        x = json_integer_value(j);
    } else if (json_is_real(j) && json_real_value(j) == floor(json_real_value(j)) &&
               json_real_value(j) >= -0x1p63 && json_real_value(j) < 0x1p63) {
        x = (int64_t)json_real_value(j);
    } else if (json_is_string(j) && logical != FERRY_AVRO_LOGICAL_NONE && !is_int) {
        if (!parse_rfc3339(json_string_value(j), &x))
            return fj_error(c, path, "\"%s\" is not an RFC 3339 timestamp", json_string_value(j));
        if (logical == FERRY_AVRO_LOGICAL_TS_MILLIS)
            x = x >= 0 ? x / 1000 : -((-x + 999) / 1000);
    } else {
        return expected(c, path,
                        is_int    ? "an int"
                        : logical ? "a long or an RFC 3339 timestamp string"
                                  : "a long",
                        j);
    }
    if (is_int) {
        if (x < INT32_MIN || x > INT32_MAX)
            return fj_error(c, path, "%" PRId64 " is out of int range", x);
        return avro_value_set_int(v, (int32_t)x) ? avro_failed(c) : FERRY_OK;
    }
    return avro_value_set_long(v, x) ? avro_failed(c) : FERRY_OK;
}

/* Bytes or a fixed from a string of code points U+0000..U+00FF (Avro's JSON encoding). */
static int fj_bytes(fj_ctx_t *c, const json_t *j, avro_value_t *v, const ferry_avro_path_t *path)
{
    avro_schema_t s = avro_value_get_schema(v);
    int fixed = avro_value_get_type(v) == AVRO_FIXED;
    if (!json_is_string(j))
        return expected(c, path, "a string", j);
    long n = bytes_len(json_string_value(j), json_string_length(j));
    if (n < 0)
        return fj_error(c, path, "bytes string has a character above U+00FF");
    if (fixed && n != (long)avro_schema_fixed_size(s))
        return fj_error(c, path, "fixed needs %ld bytes, got %ld", (long)avro_schema_fixed_size(s),
                        n);
    ferry_buf_t b = FERRY_BUF_INIT;
    code_points_to_bytes(json_string_value(j), json_string_length(j), &b);
    ferry_buf_reserve(&b, 1); /* never hand avro-c a NULL pointer */
    int rc =
        fixed ? avro_value_set_fixed(v, b.data, b.len) : avro_value_set_bytes(v, b.data, b.len);
    ferry_buf_free(&b);
    return rc ? avro_failed(c) : FERRY_OK;
}

/* A union: {"type": value} names the branch, a bare value picks the branch that takes it. */
static int fj_union(fj_ctx_t *c, const json_t *j, avro_value_t *v, const ferry_avro_path_t *path,
                    unsigned char logical, int depth)
{
    avro_schema_t s = avro_value_get_schema(v);
    json_t *inner = NULL;
    avro_value_t branch;
    int b = ferry_avro_json_wrapped_branch(s, j, &inner);
    if (b >= 0) {
        j = inner;
        logical = FERRY_AVRO_LOGICAL_NONE;
    } else {
        b = ferry_avro_json_pick_branch(s, j);
        if (b < 0) {
            char names[256];
            union_names(s, names, sizeof names);
            return fj_error(c, path, "no union branch of %s takes %s", names,
                            ferry_avro_json_kind(j));
        }
        if (branch_type(s, (size_t)b) != AVRO_INT64)
            logical = FERRY_AVRO_LOGICAL_NONE;
    }
    if (avro_value_set_branch(v, b, &branch) != 0)
        return avro_failed(c);
    return fj_value(c, j, &branch, path, logical, depth + 1);
}

static int fj_value(fj_ctx_t *c, const json_t *j, avro_value_t *v, const ferry_avro_path_t *path,
                    unsigned char logical, int depth)
{
    if (depth > FERRY_AVRO_MAX_DEPTH)
        return fj_error(c, path, "nested too deeply");
    avro_schema_t s = avro_value_get_schema(v);
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        if (!json_is_null(j))
            return expected(c, path, "null", j);
        return avro_value_set_null(v) ? avro_failed(c) : FERRY_OK;
    case AVRO_BOOLEAN:
        if (!json_is_boolean(j))
            return expected(c, path, "a boolean", j);
        return avro_value_set_boolean(v, json_is_true(j)) ? avro_failed(c) : FERRY_OK;
    case AVRO_INT32:
    case AVRO_INT64:
        return fj_integer(c, j, v, path, logical);
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        double d;
        if (json_is_number(j))
            d = json_number_value(j);
        else if (!json_is_string(j) || !special_float(json_string_value(j), &d))
            return expected(c, path, "a number", j);
        if (avro_value_get_type(v) == AVRO_DOUBLE)
            return avro_value_set_double(v, d) ? avro_failed(c) : FERRY_OK;
        if (isfinite(d) && fabs(d) > FLT_MAX)
            return fj_error(c, path, "%g is out of float range", d);
        return avro_value_set_float(v, (float)d) ? avro_failed(c) : FERRY_OK;
    }
    case AVRO_STRING:
        if (!json_is_string(j))
            return expected(c, path, "a string", j);
        /* jansson NUL-terminates; avro-c wants the NUL counted */
        return avro_value_set_string_len(v, json_string_value(j), json_string_length(j) + 1)
                   ? avro_failed(c)
                   : FERRY_OK;
    case AVRO_BYTES:
    case AVRO_FIXED:
        return fj_bytes(c, j, v, path);
    case AVRO_ENUM: {
        if (!json_is_string(j))
            return expected(c, path, "an enum symbol", j);
        int sym = avro_schema_enum_get_by_name(s, json_string_value(j));
        if (sym < 0)
            return fj_error(c, path, "\"%s\" is not a symbol of %s", json_string_value(j),
                            avro_schema_name(s));
        return avro_value_set_enum(v, sym) ? avro_failed(c) : FERRY_OK;
    }
    case AVRO_UNION:
        return fj_union(c, j, v, path, logical, depth);
    case AVRO_RECORD:
        return fj_record(c, j, v, path, depth);
    case AVRO_ARRAY: {
        if (!json_is_array(j))
            return expected(c, path, "an array", j);
        avro_value_reset(v);
        for (size_t i = 0; i < json_array_size(j); i++) {
            avro_value_t e;
            ferry_avro_path_t sub = {path, NULL, i, 0};
            if (avro_value_append(v, &e, NULL) != 0)
                return avro_failed(c);
            int rc = fj_value(c, json_array_get(j, i), &e, &sub, 0, depth + 1);
            if (rc != FERRY_OK)
                return rc;
        }
        return FERRY_OK;
    }
    case AVRO_MAP: {
        if (!json_is_object(j))
            return expected(c, path, "an object", j);
        avro_value_reset(v);
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)j, key, val)
        {
            avro_value_t e;
            ferry_avro_path_t sub = {path, key, 0, 1};
            if (avro_value_add(v, key, &e, NULL, NULL) != 0)
                return avro_failed(c);
            int rc = fj_value(c, val, &e, &sub, 0, depth + 1);
            if (rc != FERRY_OK)
                return rc;
        }
        return FERRY_OK;
    }
    default:
        return fj_error(c, path, "unsupported Avro type");
    }
}

int ferry_avro_from_json_into(const ferry_schema_t *schema, const json_t *in, avro_value_t *value,
                              ferry_err_t *err)
{
    fj_ctx_t c = {schema, err};
    ferry_avro_path_t root = {NULL, schema->name, 0, 0};
    if (!in)
        return ferry_err_set(err, FERRY_POISON, "%s: no JSON value", schema->name);
    avro_value_reset(value);
    return fj_value(&c, in, value, &root, 0, 0);
}

int ferry_avro_json_set(const ferry_schema_t *schema, const json_t *j, avro_value_t *v,
                        const ferry_avro_path_t *path, ferry_err_t *err)
{
    fj_ctx_t c = {schema, err};
    return fj_value(&c, j, v, path, 0, 0);
}

int ferry_avro_from_json(const ferry_schema_t *schema, const json_t *in, avro_value_t *out,
                         ferry_err_t *err)
{
    avro_value_t v;
    if (ferry_schema_new_value(schema, &v) != FERRY_OK) {
        out->iface = NULL;
        out->self = NULL;
        return ferry_err_set(err, FERRY_FATAL, "out of memory");
    }
    int rc = ferry_avro_from_json_into(schema, in, &v, err);
    if (rc != FERRY_OK) {
        avro_value_decref(&v);
        out->iface = NULL;
        out->self = NULL;
        return rc;
    }
    *out = v;
    return FERRY_OK;
}

/* ---- CLI conveniences ------------------------------------------------------------------- */

int ferry_avro_encode_json(const ferry_schema_t *schema, const json_t *in, ferry_buf_t *out,
                           ferry_err_t *err)
{
    avro_value_t v;
    int rc = ferry_avro_from_json(schema, in, &v, err);
    if (rc != FERRY_OK)
        return rc;
    rc = ferry_avro_encode(schema, &v, out, err);
    avro_value_decref(&v);
    return rc;
}

json_t *ferry_avro_decode_json(const void *data, size_t len, const ferry_schema_t **schema_out,
                               ferry_err_t *err)
{
    avro_value_t v;
    if (ferry_avro_decode(data, len, schema_out, &v, err) != FERRY_OK)
        return NULL;
    json_t *j = ferry_avro_to_json_err(&v, err);
    avro_value_decref(&v);
    return j;
}
