/* avro_binary.c - Avro binary encoding and the single-object wire format (see
 * include/ferry/avro.h).
 *
 * Both directions walk avro-c generic values directly instead of going through avro-c's
 * avro_value_write()/avro_value_read(): writing goes straight into a ferry_buf_t (no sizing
 * pass, no fixed-size writer), and reading checks every length and count against the bytes
 * that are left before allocating anything, so hostile input can neither make us read past
 * the end nor allocate gigabytes from a forged length. */
#include "avro_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ---------------------------------------------------------------------------- */

static void put_long(ferry_buf_t *b, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(0 - ((uint64_t)v >> 63)); /* zig-zag */
    ferry_buf_reserve(b, 10);
    unsigned char *p = b->data + b->len;
    while (z > 0x7f) {
        *p++ = (unsigned char)(z | 0x80);
        z >>= 7;
    }
    *p++ = (unsigned char)z;
    b->len = (size_t)(p - b->data);
}

static void put_le(ferry_buf_t *b, uint64_t v, int nbytes)
{
    ferry_buf_reserve(b, 8);
    for (int i = 0; i < nbytes; i++)
        b->data[b->len++] = (unsigned char)(v >> (8 * i));
}

static void put_bytes(ferry_buf_t *b, const void *p, size_t n)
{
    put_long(b, (int64_t)n);
    ferry_buf_append(b, p, n);
}

static int write_error(ferry_err_t *err, const ferry_avro_path_t *path, ferry_status status,
                       const char *what)
{
    char where[256];
    return ferry_err_set(err, status, "cannot encode %s: %s",
                         ferry_avro_path_format(path, where, sizeof where), what);
}

static int write_value(const avro_value_t *v, ferry_buf_t *b, const ferry_avro_path_t *path,
                       int depth, ferry_err_t *err)
{
    if (depth > FERRY_AVRO_MAX_DEPTH)
        return write_error(err, path, FERRY_POISON, "nested too deeply");
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return FERRY_OK;
    case AVRO_BOOLEAN: {
        int x = 0;
        avro_value_get_boolean(v, &x);
        ferry_buf_append_byte(b, x ? 1 : 0);
        return FERRY_OK;
    }
    case AVRO_INT32: {
        int32_t x = 0;
        avro_value_get_int(v, &x);
        put_long(b, x);
        return FERRY_OK;
    }
    case AVRO_INT64: {
        int64_t x = 0;
        avro_value_get_long(v, &x);
        put_long(b, x);
        return FERRY_OK;
    }
    case AVRO_FLOAT: {
        float x = 0;
        uint32_t u;
        avro_value_get_float(v, &x);
        memcpy(&u, &x, 4);
        put_le(b, u, 4);
        return FERRY_OK;
    }
    case AVRO_DOUBLE: {
        double x = 0;
        uint64_t u;
        avro_value_get_double(v, &x);
        memcpy(&u, &x, 8);
        put_le(b, u, 8);
        return FERRY_OK;
    }
    case AVRO_STRING: {
        const char *s = NULL;
        size_t size = 0; /* avro-c counts the NUL */
        avro_value_get_string(v, &s, &size);
        put_bytes(b, s, size ? size - 1 : 0);
        return FERRY_OK;
    }
    case AVRO_BYTES: {
        const void *p = NULL;
        size_t size = 0;
        avro_value_get_bytes(v, &p, &size);
        put_bytes(b, p, size);
        return FERRY_OK;
    }
    case AVRO_FIXED: {
        const void *p = NULL;
        size_t size = 0;
        avro_value_get_fixed(v, &p, &size);
        int64_t want = avro_schema_fixed_size(avro_value_get_schema(v));
        if ((int64_t)size != want)
            return write_error(err, path, FERRY_POISON, "fixed value has the wrong size");
        ferry_buf_append(b, p, size);
        return FERRY_OK;
    }
    case AVRO_ENUM: {
        int x = 0;
        avro_value_get_enum(v, &x);
        put_long(b, x);
        return FERRY_OK;
    }
    case AVRO_UNION: {
        int disc = -1;
        avro_value_t branch;
        avro_value_get_discriminant(v, &disc);
        if (disc < 0 || avro_value_get_current_branch(v, &branch) != 0)
            return write_error(err, path, FERRY_POISON, "union has no branch selected");
        put_long(b, disc);
        return write_value(&branch, b, path, depth + 1, err);
    }
    case AVRO_RECORD: {
        size_t n = 0;
        avro_value_get_size(v, &n);
        for (size_t i = 0; i < n; i++) {
            avro_value_t f;
            const char *name = NULL;
            avro_value_get_by_index(v, i, &f, &name);
            ferry_avro_path_t sub = {path, name, 0, 0};
            int rc = write_value(&f, b, &sub, depth + 1, err);
            if (rc != FERRY_OK)
                return rc;
        }
        return FERRY_OK;
    }
    case AVRO_ARRAY:
    case AVRO_MAP: {
        int is_map = avro_value_get_type(v) == AVRO_MAP;
        size_t n = 0;
        avro_value_get_size(v, &n);
        if (n > 0) {
            put_long(b, (int64_t)n); /* one block with every item */
            for (size_t i = 0; i < n; i++) {
                avro_value_t e;
                const char *key = NULL;
                avro_value_get_by_index(v, i, &e, &key);
                if (is_map)
                    put_bytes(b, key, strlen(key));
                ferry_avro_path_t sub = {path, is_map ? key : NULL, i, is_map};
                int rc = write_value(&e, b, &sub, depth + 1, err);
                if (rc != FERRY_OK)
                    return rc;
            }
        }
        put_long(b, 0);
        return FERRY_OK;
    }
    default:
        return write_error(err, path, FERRY_FATAL, "unsupported Avro type");
    }
}

int ferry_avro_write_body(const avro_value_t *value, ferry_buf_t *out, ferry_err_t *err)
{
    avro_schema_t s = avro_value_get_schema(value);
    const char *name = s && is_avro_record(s) ? avro_schema_name(s) : "value";
    ferry_avro_path_t root = {NULL, name, 0, 0};
    size_t mark = out->len;
    int rc = write_value(value, out, &root, 0, err);
    if (rc != FERRY_OK)
        out->len = mark;
    return rc;
}

int ferry_avro_encode(const ferry_schema_t *schema, const avro_value_t *value, ferry_buf_t *out,
                      ferry_err_t *err)
{
    avro_schema_t vs = avro_value_get_schema(value);
    if (vs != schema->avro && !avro_schema_equal(vs, schema->avro))
        return ferry_err_set(err, FERRY_FATAL, "cannot encode: value is not a %s",
                             schema->fullname);
    size_t mark = out->len;
    ferry_buf_append_byte(out, FERRY_AVRO_MAGIC0);
    ferry_buf_append_byte(out, FERRY_AVRO_MAGIC1);
    put_le(out, schema->fingerprint, 8);
    int rc = ferry_avro_write_body(value, out, err);
    if (rc != FERRY_OK)
        out->len = mark;
    return rc;
}

/* ---- reading ---------------------------------------------------------------------------- */

typedef ferry_avro_reader_t reader_t;
#define read_error       ferry_avro_rd_error
#define get_long         ferry_avro_rd_long
#define get_le           ferry_avro_rd_le
#define get_bytes        ferry_avro_rd_bytes
#define scratch_cstr     ferry_avro_rd_cstr
#define min_encoded_size ferry_avro_min_size
#define read_value       ferry_avro_rd_value

int ferry_avro_rd_error(reader_t *r, const ferry_avro_path_t *path, const char *what)
{
    char where[256];
    return ferry_err_set(r->err, FERRY_POISON, "malformed Avro body at %s: %s",
                         ferry_avro_path_format(path, where, sizeof where), what);
}

static int truncated(reader_t *r, const ferry_avro_path_t *path)
{
    return read_error(r, path, "truncated");
}

int ferry_avro_rd_long(reader_t *r, const ferry_avro_path_t *path, int64_t *out)
{
    uint64_t z = 0;
    for (int shift = 0;; shift += 7) {
        if (r->p >= r->end)
            return truncated(r, path);
        unsigned byte = *r->p++;
        if (shift == 63 && byte > 1)
            return read_error(r, path, "varint longer than 64 bits");
        z |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            break;
    }
    uint64_t u = (z >> 1) ^ (0 - (z & 1));
    memcpy(out, &u, sizeof u); /* two's complement reinterpretation, no overflow */
    return FERRY_OK;
}

int ferry_avro_rd_le(reader_t *r, const ferry_avro_path_t *path, int nbytes, uint64_t *out)
{
    if ((size_t)(r->end - r->p) < (size_t)nbytes)
        return truncated(r, path);
    uint64_t v = 0;
    for (int i = 0; i < nbytes; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += nbytes;
    *out = v;
    return FERRY_OK;
}

/* Reads a length-prefixed byte string: *data points into the input. */
int ferry_avro_rd_bytes(reader_t *r, const ferry_avro_path_t *path, const unsigned char **data,
                        size_t *len)
{
    int64_t n;
    int rc = get_long(r, path, &n);
    if (rc != FERRY_OK)
        return rc;
    if (n < 0)
        return read_error(r, path, "negative length");
    if ((uint64_t)n > (uint64_t)(r->end - r->p))
        return truncated(r, path);
    *data = r->p;
    *len = (size_t)n;
    r->p += n;
    return FERRY_OK;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF), as PostgreSQL and
 * jansson require: a string that passes here can be stored and printed downstream. */
int ferry_avro_utf8_valid(const void *data, size_t n)
{
    const unsigned char *s = data;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            return 0;
        }
        if (n - i - 1 < need)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
        i += need + 1;
    }
    return 1;
}

/* A NUL-terminated copy of data[0..len) in the reader's scratch buffer. */
const char *ferry_avro_rd_cstr(reader_t *r, const unsigned char *data, size_t len)
{
    ferry_buf_reset(&r->scratch);
    ferry_buf_append(&r->scratch, data, len);
    return ferry_buf_cstr(&r->scratch);
}

/* The fewest bytes one value of schema s can take: bounds forged item counts. */
size_t ferry_avro_min_size(avro_schema_t s, int depth)
{
    if (depth > 8)
        return 0;
    s = ferry_avro_resolve(s);
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return 0;
    case AVRO_FLOAT:
        return 4;
    case AVRO_DOUBLE:
        return 8;
    case AVRO_FIXED: {
        int64_t n = avro_schema_fixed_size(s);
        return n > 0 ? (size_t)n : 0;
    }
    case AVRO_RECORD: {
        size_t sum = 0, n = avro_schema_record_size(s);
        for (size_t i = 0; i < n && sum < 1024; i++)
            sum += min_encoded_size(avro_schema_record_field_get_by_index(s, (int)i), depth + 1);
        return sum;
    }
    default: /* boolean, int, long, enum, string, bytes, array, map, union */
        return 1;
    }
}

static int read_items(reader_t *r, avro_value_t *v, const ferry_avro_path_t *path, int depth)
{
    int is_map = avro_value_get_type(v) == AVRO_MAP;
    avro_schema_t s = avro_value_get_schema(v);
    size_t min = is_map ? 1 + min_encoded_size(avro_schema_map_values(s), 0)
                        : min_encoded_size(avro_schema_array_items(s), 0);
    size_t index = 0;
    for (;;) {
        int64_t count;
        int rc = get_long(r, path, &count);
        if (rc != FERRY_OK)
            return rc;
        if (count == 0)
            return FERRY_OK;
        if (count < 0) { /* a block that also carries its size in bytes */
            int64_t bytes;
            if (count == INT64_MIN)
                return read_error(r, path, "bad block count");
            count = -count;
            if ((rc = get_long(r, path, &bytes)) != FERRY_OK)
                return rc;
            if (bytes < 0 || (uint64_t)bytes > (uint64_t)(r->end - r->p))
                return read_error(r, path, "bad block size");
        }
        if (min > 0 ? (uint64_t)count > (uint64_t)(r->end - r->p) / min
                    : (uint64_t)count > FERRY_AVRO_MAX_EMPTY_ITEMS - index)
            return read_error(r, path, "truncated: item count larger than the data");
        for (int64_t k = 0; k < count; k++, index++) {
            avro_value_t e;
            ferry_avro_path_t sub = {path, NULL, index, 0};
            if (is_map) {
                const unsigned char *key = NULL;
                size_t klen = 0;
                if ((rc = get_bytes(r, path, &key, &klen)) != FERRY_OK)
                    return rc;
                if (!ferry_avro_utf8_valid(key, klen) || memchr(key, 0, klen))
                    return read_error(r, path, "map key is not valid UTF-8");
                size_t at;
                avro_value_t tmp;
                if (avro_value_add(v, scratch_cstr(r, key, klen), &tmp, &at, NULL) != 0)
                    return ferry_err_set(r->err, FERRY_FATAL, "avro-c: %s", avro_strerror());
                /* the map's own copy of the key outlives the scratch buffer */
                avro_value_get_by_index(v, at, &e, &sub.field);
                sub.is_key = 1;
            } else if (avro_value_append(v, &e, NULL) != 0) {
                return ferry_err_set(r->err, FERRY_FATAL, "avro-c: %s", avro_strerror());
            }
            if ((rc = read_value(r, &e, &sub, depth + 1)) != FERRY_OK)
                return rc;
        }
    }
}

int ferry_avro_rd_value(reader_t *r, avro_value_t *v, const ferry_avro_path_t *path, int depth)
{
    int rc;
    int64_t x;
    uint64_t u = 0;
    if (depth > FERRY_AVRO_MAX_DEPTH)
        return read_error(r, path, "nested too deeply");
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return FERRY_OK;
    case AVRO_BOOLEAN:
        if (r->p >= r->end)
            return truncated(r, path);
        if (*r->p > 1)
            return read_error(r, path, "boolean is neither 0 nor 1");
        avro_value_set_boolean(v, *r->p++);
        return FERRY_OK;
    case AVRO_INT32:
        if ((rc = get_long(r, path, &x)) != FERRY_OK)
            return rc;
        if (x < INT32_MIN || x > INT32_MAX)
            return read_error(r, path, "int out of range");
        avro_value_set_int(v, (int32_t)x);
        return FERRY_OK;
    case AVRO_INT64:
        if ((rc = get_long(r, path, &x)) != FERRY_OK)
            return rc;
        avro_value_set_long(v, x);
        return FERRY_OK;
    case AVRO_FLOAT: {
        float f;
        uint32_t u32;
        if ((rc = get_le(r, path, 4, &u)) != FERRY_OK)
            return rc;
        u32 = (uint32_t)u;
        memcpy(&f, &u32, 4);
        avro_value_set_float(v, f);
        return FERRY_OK;
    }
    case AVRO_DOUBLE: {
        double d;
        if ((rc = get_le(r, path, 8, &u)) != FERRY_OK)
            return rc;
        memcpy(&d, &u, 8);
        avro_value_set_double(v, d);
        return FERRY_OK;
    }
    case AVRO_STRING: {
        const unsigned char *data = NULL;
        size_t len = 0;
        if ((rc = get_bytes(r, path, &data, &len)) != FERRY_OK)
            return rc;
        if (!ferry_avro_utf8_valid(data, len))
            return read_error(r, path, "string is not valid UTF-8");
        /* avro-c copies size bytes and wants the NUL among them, so copy once more */
        const char *s = scratch_cstr(r, data, len);
        avro_value_set_string_len(v, s, len + 1);
        return FERRY_OK;
    }
    case AVRO_BYTES: {
        const unsigned char *data = NULL;
        size_t len = 0;
        if ((rc = get_bytes(r, path, &data, &len)) != FERRY_OK)
            return rc;
        avro_value_set_bytes(v, (void *)(uintptr_t)data, len);
        return FERRY_OK;
    }
    case AVRO_FIXED: {
        int64_t size = avro_schema_fixed_size(avro_value_get_schema(v));
        if (size < 0 || (uint64_t)size > (uint64_t)(r->end - r->p))
            return truncated(r, path);
        avro_value_set_fixed(v, (void *)(uintptr_t)r->p, (size_t)size);
        r->p += size;
        return FERRY_OK;
    }
    case AVRO_ENUM: {
        if ((rc = get_long(r, path, &x)) != FERRY_OK)
            return rc;
        int n = avro_schema_enum_number_of_symbols(avro_value_get_schema(v));
        if (x < 0 || x >= n)
            return read_error(r, path, "enum index out of range");
        avro_value_set_enum(v, (int)x);
        return FERRY_OK;
    }
    case AVRO_UNION: {
        if ((rc = get_long(r, path, &x)) != FERRY_OK)
            return rc;
        size_t n = avro_schema_union_size(avro_value_get_schema(v));
        if (x < 0 || (uint64_t)x >= n)
            return read_error(r, path, "union branch index out of range");
        avro_value_t branch;
        if (avro_value_set_branch(v, (int)x, &branch) != 0)
            return ferry_err_set(r->err, FERRY_FATAL, "avro-c: %s", avro_strerror());
        return read_value(r, &branch, path, depth + 1);
    }
    case AVRO_RECORD: {
        size_t n = 0;
        avro_value_get_size(v, &n);
        for (size_t i = 0; i < n; i++) {
            avro_value_t f;
            const char *name = NULL;
            avro_value_get_by_index(v, i, &f, &name);
            ferry_avro_path_t sub = {path, name, 0, 0};
            if ((rc = read_value(r, &f, &sub, depth + 1)) != FERRY_OK)
                return rc;
        }
        return FERRY_OK;
    }
    case AVRO_ARRAY:
    case AVRO_MAP:
        /* reset: avro_value_reset() keeps a union's branch, whose array may hold items */
        avro_value_reset(v);
        return read_items(r, v, path, depth);
    default:
        return ferry_err_set(r->err, FERRY_FATAL, "unsupported Avro type");
    }
}

int ferry_avro_read_body(const void *data, size_t len, avro_value_t *value, ferry_err_t *err)
{
    avro_schema_t s = avro_value_get_schema(value);
    ferry_avro_path_t root = {NULL, s && is_avro_record(s) ? avro_schema_name(s) : "value", 0, 0};
    static const unsigned char empty[1];
    if (!data) {
        if (len)
            return ferry_err_set(err, FERRY_FATAL, "no data");
        data = empty;
    }
    reader_t r = {data, (const unsigned char *)data + len, FERRY_BUF_INIT, err};
    avro_value_reset(value);
    int rc = read_value(&r, value, &root, 0);
    if (rc == FERRY_OK && r.p != r.end)
        rc = ferry_err_set(err, FERRY_POISON, "%zu trailing bytes after the Avro body of %s",
                           (size_t)(r.end - r.p), root.field);
    ferry_buf_free(&r.scratch);
    return rc;
}

int ferry_avro_peek(const void *data, size_t len, uint64_t *fingerprint, ferry_err_t *err)
{
    const unsigned char *p = data;
    if (!p || len < FERRY_AVRO_HEADER_LEN)
        return ferry_err_set(err, FERRY_POISON,
                             "not Avro single-object encoding: %zu bytes, need at least %d", len,
                             FERRY_AVRO_HEADER_LEN);
    if (p[0] != FERRY_AVRO_MAGIC0 || p[1] != FERRY_AVRO_MAGIC1)
        return ferry_err_set(err, FERRY_POISON,
                             "not Avro single-object encoding: starts with %02X %02X, not C3 01",
                             p[0], p[1]);
    uint64_t fp = 0;
    for (int i = 0; i < 8; i++)
        fp |= (uint64_t)p[2 + i] << (8 * i);
    *fingerprint = fp;
    return FERRY_OK;
}

int ferry_avro_decode_into(const ferry_schema_t *schema, const void *data, size_t len,
                           avro_value_t *value, ferry_err_t *err)
{
    uint64_t fp = 0;
    int rc = ferry_avro_peek(data, len, &fp, err);
    if (rc != FERRY_OK)
        return rc;
    if (fp != schema->fingerprint) {
        const ferry_schema_t *other = ferry_schema_by_fingerprint(fp);
        if (other)
            return ferry_err_set(err, FERRY_POISON, "message is a %s, expected a %s",
                                 other->fullname, schema->fullname);
        return ferry_err_set(err, FERRY_POISON,
                             "unknown schema fingerprint 0x%016" PRIx64 " (expected %s)", fp,
                             schema->fullname);
    }
    return ferry_avro_read_body((const unsigned char *)data + FERRY_AVRO_HEADER_LEN,
                                len - FERRY_AVRO_HEADER_LEN, value, err);
}

int ferry_avro_decode(const void *data, size_t len, const ferry_schema_t **schema_out,
                      avro_value_t *value_out, ferry_err_t *err)
{
    uint64_t fp = 0;
    value_out->iface = NULL;
    value_out->self = NULL;
    int rc = ferry_avro_peek(data, len, &fp, err);
    if (rc != FERRY_OK)
        return rc;
    const ferry_schema_t *schema = ferry_schema_by_fingerprint(fp);
    if (!schema)
        return ferry_err_set(err, FERRY_POISON, "unknown schema fingerprint 0x%016" PRIx64, fp);
    avro_value_t v;
    if (ferry_schema_new_value(schema, &v) != FERRY_OK)
        return ferry_err_set(err, FERRY_FATAL, "out of memory");
    rc = ferry_avro_read_body((const unsigned char *)data + FERRY_AVRO_HEADER_LEN,
                              len - FERRY_AVRO_HEADER_LEN, &v, err);
    if (rc != FERRY_OK) {
        avro_value_decref(&v);
        return rc;
    }
    if (schema_out)
        *schema_out = schema;
    *value_out = v;
    return FERRY_OK;
}
