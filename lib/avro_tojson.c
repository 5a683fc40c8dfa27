/* avro_tojson.c - an Avro value as natural JSON (ferry_avro_to_json, include/ferry/avro.h): the
 * reverse of lib/avro_json.c, sharing its union branch choice so what is written reads back. */
#include "avro_internal.h"
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- value -> JSON ---------------------------------------------------------------------- */

static json_t *tj_fail(ferry_err_t *err, const ferry_avro_path_t *path, ferry_status status,
                       const char *what)
{
    char where[256];
    ferry_err_set(err, status, "%s: %s", ferry_avro_path_format(path, where, sizeof where), what);
    return NULL;
}

static json_t *tj_new(json_t *j, ferry_err_t *err, const ferry_avro_path_t *path)
{
    return j ? j : tj_fail(err, path, FERRY_FATAL, "out of memory");
}

static json_t *tj_float(double d, ferry_err_t *err, const ferry_avro_path_t *path)
{
    if (isnan(d))
        return tj_new(json_string("NaN"), err, path);
    if (isinf(d))
        return tj_new(json_string(d > 0 ? "Infinity" : "-Infinity"), err, path);
    return tj_new(json_real(d), err, path);
}

static json_t *tj_bytes(const void *data, size_t n, ferry_err_t *err, const ferry_avro_path_t *path)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    const unsigned char *p = data;
    ferry_buf_reserve(&b, 2 * n);
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x80) {
            ferry_buf_append_byte(&b, p[i]);
        } else {
            ferry_buf_append_byte(&b, (unsigned char)(0xC0 | (p[i] >> 6)));
            ferry_buf_append_byte(&b, (unsigned char)(0x80 | (p[i] & 0x3F)));
        }
    }
    json_t *j = json_stringn((const char *)b.data, b.len);
    ferry_buf_free(&b);
    return tj_new(j, err, path);
}

static json_t *tj_value(const avro_value_t *v, ferry_err_t *err, const ferry_avro_path_t *path,
                        int depth);

/* A union in its natural form when that reads back as the same branch, else wrapped as
 * {"type": value}. */
static json_t *tj_union(const avro_value_t *v, ferry_err_t *err, const ferry_avro_path_t *path,
                        int depth)
{
    avro_schema_t s = avro_value_get_schema(v);
    int disc = -1;
    avro_value_t branch;
    avro_value_get_discriminant(v, &disc);
    if (disc < 0 || avro_value_get_current_branch(v, &branch) != 0)
        return tj_fail(err, path, FERRY_POISON, "union has no branch selected");
    json_t *natural = tj_value(&branch, err, path, depth + 1);
    if (!natural)
        return NULL;
    /* write the natural form only if it reads back as this same branch */
    json_t *inner;
    if (ferry_avro_json_wrapped_branch(s, natural, &inner) < 0 &&
        ferry_avro_json_pick_branch(s, natural) == disc)
        return natural;
    char name[256];
    json_t *wrapped = json_object();
    if (!wrapped ||
        json_object_set_new(
            wrapped, ferry_avro_type_name(avro_schema_union_branch(s, disc), name, sizeof name),
            natural) != 0) {
        json_decref(wrapped);
        return tj_fail(err, path, FERRY_FATAL, "out of memory");
    }
    return wrapped;
}

/* A record or a map as a JSON object. */
static json_t *tj_object(const avro_value_t *v, ferry_err_t *err, const ferry_avro_path_t *path,
                         int depth)
{
    int is_map = avro_value_get_type(v) == AVRO_MAP;
    size_t n = 0;
    json_t *obj = json_object();
    if (!obj)
        return tj_fail(err, path, FERRY_FATAL, "out of memory");
    avro_value_get_size(v, &n);
    for (size_t i = 0; i < n; i++) {
        avro_value_t f;
        const char *name = NULL;
        avro_value_get_by_index(v, i, &f, &name);
        ferry_avro_path_t sub = {path, name, 0, is_map};
        json_t *fj = tj_value(&f, err, &sub, depth + 1);
        if (!fj) {
            json_decref(obj);
            return NULL;
        }
        if (json_object_set_new(obj, name, fj) != 0) {
            json_decref(obj);
            return tj_fail(err, &sub, FERRY_POISON, "key is not valid UTF-8");
        }
    }
    return obj;
}

static json_t *tj_value(const avro_value_t *v, ferry_err_t *err, const ferry_avro_path_t *path,
                        int depth)
{
    if (depth > FERRY_AVRO_MAX_DEPTH)
        return tj_fail(err, path, FERRY_POISON, "nested too deeply");
    avro_schema_t s = avro_value_get_schema(v);
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return json_null();
    case AVRO_BOOLEAN: {
        int x = 0;
        avro_value_get_boolean(v, &x);
        return json_boolean(x);
    }
    case AVRO_INT32: {
        int32_t x = 0;
        avro_value_get_int(v, &x);
        return tj_new(json_integer(x), err, path);
    }
    case AVRO_INT64: {
        int64_t x = 0;
        avro_value_get_long(v, &x);
        return tj_new(json_integer((json_int_t)x), err, path);
    }
    case AVRO_FLOAT: {
        float x = 0;
        avro_value_get_float(v, &x);
        return tj_float(x, err, path);
    }
    case AVRO_DOUBLE: {
        double x = 0;
        avro_value_get_double(v, &x);
        return tj_float(x, err, path);
    }
    case AVRO_STRING: {
        const char *str = NULL;
        size_t size = 0;
        avro_value_get_string(v, &str, &size);
        size_t len = size ? size - 1 : 0;
        if (!str)
            str = "";
        if (!ferry_avro_utf8_valid(str, len))
            return tj_fail(err, path, FERRY_POISON, "string is not valid UTF-8");
        return tj_new(json_stringn(str, len), err, path);
    }
    case AVRO_BYTES: {
        const void *p = NULL;
        size_t n = 0;
        avro_value_get_bytes(v, &p, &n);
        return tj_bytes(p, n, err, path);
    }
    case AVRO_FIXED: {
        const void *p = NULL;
        size_t n = 0;
        avro_value_get_fixed(v, &p, &n);
        return tj_bytes(p, n, err, path);
    }
    case AVRO_ENUM: {
        int x = 0;
        avro_value_get_enum(v, &x);
        const char *sym = avro_schema_enum_get(s, x);
        if (!sym)
            return tj_fail(err, path, FERRY_POISON, "enum index out of range");
        return tj_new(json_string(sym), err, path);
    }
    case AVRO_UNION:
        return tj_union(v, err, path, depth);
    case AVRO_RECORD:
    case AVRO_MAP:
        return tj_object(v, err, path, depth);
    case AVRO_ARRAY: {
        size_t n = 0;
        json_t *arr = json_array();
        if (!arr)
            return tj_fail(err, path, FERRY_FATAL, "out of memory");
        avro_value_get_size(v, &n);
        for (size_t i = 0; i < n; i++) {
            avro_value_t e;
            avro_value_get_by_index(v, i, &e, NULL);
            ferry_avro_path_t sub = {path, NULL, i, 0};
            json_t *ej = tj_value(&e, err, &sub, depth + 1);
            if (!ej || json_array_append_new(arr, ej) != 0) {
                json_decref(arr);
                return ej ? tj_fail(err, path, FERRY_FATAL, "out of memory") : NULL;
            }
        }
        return arr;
    }
    default:
        return tj_fail(err, path, FERRY_FATAL, "unsupported Avro type");
    }
}

json_t *ferry_avro_to_json_err(const avro_value_t *value, ferry_err_t *err)
{
    avro_schema_t s = avro_value_get_schema(value);
    ferry_avro_path_t root = {NULL, s && is_avro_record(s) ? avro_schema_name(s) : "value", 0, 0};
    return tj_value(value, err, &root, 0);
}

json_t *ferry_avro_to_json(const avro_value_t *value)
{
    return ferry_avro_to_json_err(value, NULL);
}
