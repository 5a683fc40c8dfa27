/* avro_set.c - checked setters of record fields (see include/ferry/avro.h): a record whose
 * schema lacks the field, or has it with another type, is an error naming the field, never a
 * write through an unset value. */
#include "avro_internal.h"

#include <string.h>

static const char *type_name(avro_type_t t)
{
    switch (t) {
    case AVRO_INT32:
        return "int";
    case AVRO_INT64:
        return "long";
    case AVRO_DOUBLE:
        return "double";
    case AVRO_STRING:
        return "string";
    case AVRO_UNION:
        return "union";
    case AVRO_ARRAY:
        return "array";
    default:
        return "other";
    }
}

static int field(avro_value_t *rec, const char *name, avro_type_t want, avro_value_t *out,
                 ferry_err_t *err)
{
    if (avro_value_get_by_name(rec, name, out, NULL) != 0)
        return ferry_err_set(err, FERRY_FATAL, "record has no field \"%s\" (schema changed?)",
                             name);
    if (avro_value_get_type(out) != want)
        return ferry_err_set(err, FERRY_FATAL, "field \"%s\" is not of type %s", name,
                             type_name(want));
    return FERRY_OK;
}

void ferry_avro_clear(avro_value_t *v)
{
    avro_value_reset(v);
}

int ferry_avro_set_long(avro_value_t *rec, const char *name, int64_t v, ferry_err_t *err)
{
    avro_value_t f;
    int st = field(rec, name, AVRO_INT64, &f, err);
    if (st)
        return st;
    if (avro_value_set_long(&f, v))
        return ferry_err_set(err, FERRY_FATAL, "set %s", name);
    return FERRY_OK;
}

int ferry_avro_set_int(avro_value_t *rec, const char *name, int32_t v, ferry_err_t *err)
{
    avro_value_t f;
    int st = field(rec, name, AVRO_INT32, &f, err);
    if (st)
        return st;
    if (avro_value_set_int(&f, v))
        return ferry_err_set(err, FERRY_FATAL, "set %s", name);
    return FERRY_OK;
}

int ferry_avro_set_double(avro_value_t *rec, const char *name, double v, ferry_err_t *err)
{
    avro_value_t f;
    int st = field(rec, name, AVRO_DOUBLE, &f, err);
    if (st)
        return st;
    if (avro_value_set_double(&f, v))
        return ferry_err_set(err, FERRY_FATAL, "set %s", name);
    return FERRY_OK;
}

int ferry_avro_set_string(avro_value_t *rec, const char *name, const char *s, ferry_err_t *err)
{
    avro_value_t f;
    int st = field(rec, name, AVRO_STRING, &f, err);
    if (st)
        return st;
    if (avro_value_set_string_len(&f, s, strlen(s) + 1) /* avro-c counts the NUL */)
        return ferry_err_set(err, FERRY_FATAL, "set %s", name);
    return FERRY_OK;
}

int ferry_avro_set_branch(avro_value_t *rec, const char *name, int present, avro_value_t *out,
                          ferry_err_t *err)
{
    avro_value_t u;
    int st = field(rec, name, AVRO_UNION, &u, err);
    if (st)
        return st;
    avro_schema_t us = avro_value_get_schema(&u);
    size_t n = avro_schema_union_size(us);
    for (size_t i = 0; i < n; i++) {
        int is_null = avro_typeof(avro_schema_union_branch(us, (int)i)) == AVRO_NULL;
        if (is_null == !present) {
            if (avro_value_set_branch(&u, (int)i, out) != 0)
                break;
            if (is_null && avro_value_set_null(out))
                return ferry_err_set(err, FERRY_FATAL, "set %s", name);
            return FERRY_OK;
        }
    }
    return ferry_err_set(err, FERRY_FATAL, "field \"%s\" has no %s branch", name,
                         present ? "non-null" : "null");
}

int ferry_avro_set_opt_double(avro_value_t *rec, const char *name, int present, double v,
                              ferry_err_t *err)
{
    avro_value_t b;
    int st = ferry_avro_set_branch(rec, name, present, &b, err);
    if (st || !present)
        return st;
    if (avro_value_get_type(&b) != AVRO_DOUBLE)
        return ferry_err_set(err, FERRY_FATAL, "field \"%s\" is not a double", name);
    if (avro_value_set_double(&b, v))
        return ferry_err_set(err, FERRY_FATAL, "set %s", name);
    return FERRY_OK;
}

int ferry_avro_append(avro_value_t *rec, const char *name, avro_value_t *item, ferry_err_t *err)
{
    avro_value_t a;
    int st = field(rec, name, AVRO_ARRAY, &a, err);
    if (st)
        return st;
    if (avro_value_append(&a, item, NULL))
        return ferry_err_set(err, FERRY_FATAL, "append to %s", name);
    return FERRY_OK;
}
