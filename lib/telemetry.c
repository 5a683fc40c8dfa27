/* telemetry.c - the fast TelemetryReading codec (see include/ferry/telemetry.h).
 * Byte-compatible with the generic Avro module; tests/unit/test_telemetry.c checks both
 * directions against it. */
#include "ferry/telemetry.h"
#include "avro_internal.h"
#include "ferry/avro.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_fp;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_fp(void)
{
    const ferry_schema_t *s = ferry_schema_get("TelemetryReading");
    if (!s)
        abort(); /* a build defect: the schema is embedded */
    g_fp = ferry_schema_fingerprint(s);
}

uint64_t ferry_telemetry_fingerprint(void)
{
    pthread_once(&g_once, init_fp);
    return g_fp;
}

/* ---- encoding ----------------------------------------------------------------------------- */

static void put_long(ferry_buf_t *b, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    unsigned char tmp[10];
    size_t n = 0;
    while (z & ~(uint64_t)0x7f) {
        tmp[n++] = (unsigned char)((z & 0x7f) | 0x80);
        z >>= 7;
    }
    tmp[n++] = (unsigned char)z;
    ferry_buf_append(b, tmp, n);
}

static void put_str(ferry_buf_t *b, ferry_str_t s)
{
    put_long(b, (int64_t)s.len);
    ferry_buf_append(b, s.ptr, s.len);
}

void ferry_telemetry_encode(const ferry_reading_t *r, ferry_buf_t *out)
{
    uint64_t fp = ferry_telemetry_fingerprint();
    ferry_buf_reserve(out, 10 + r->ship_id.len + r->channel_id.len + 40);
    unsigned char hdr[10] = {0xC3, 0x01};
    for (int i = 0; i < 8; i++)
        hdr[2 + i] = (unsigned char)(fp >> (8 * i));
    ferry_buf_append(out, hdr, sizeof hdr);
    put_str(out, r->ship_id);
    put_str(out, r->channel_id);
    put_long(out, r->ts_us);
    put_long(out, (int64_t)r->type);
    switch (r->type) {
    case FERRY_VALUE_NULL:
        break;
    case FERRY_VALUE_DOUBLE: {
        uint64_t u;
        memcpy(&u, &r->v.d, 8);
        unsigned char le[8];
        for (int i = 0; i < 8; i++)
            le[i] = (unsigned char)(u >> (8 * i));
        ferry_buf_append(out, le, 8);
        break;
    }
    case FERRY_VALUE_LONG:
        put_long(out, r->v.l);
        break;
    case FERRY_VALUE_BOOL:
        ferry_buf_append_byte(out, r->v.b ? 1 : 0);
        break;
    case FERRY_VALUE_STRING:
        put_str(out, r->v.s);
        break;
    }
    if (r->has_unit) {
        put_long(out, 1);
        put_str(out, r->unit);
    } else {
        put_long(out, 0);
    }
    if (r->has_source) {
        put_long(out, 1);
        put_str(out, r->source);
    } else {
        put_long(out, 0);
    }
}

/* ---- decoding ----------------------------------------------------------------------------- */

typedef struct rd {
    const unsigned char *p, *end;
} rd_t;

static int get_long(rd_t *r, int64_t *out)
{
    uint64_t z = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end)
            return -1;
        unsigned char c = *r->p++;
        if (shift == 63 && (c & 0x7e))
            return -1; /* more than 64 bits */
        z |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            return 0;
        }
    }
    return -1;
}

int ferry_utf8_valid(const char *str, size_t len)
{
    return !memchr(str, 0, len) && ferry_avro_utf8_valid(str, len);
}

static int get_str(rd_t *r, ferry_str_t *out)
{
    int64_t n;
    if (get_long(r, &n) != 0 || n < 0 || n > r->end - r->p)
        return -1;
    out->ptr = (const char *)r->p;
    out->len = (size_t)n;
    r->p += n;
    return 0;
}

ferry_status ferry_telemetry_decode(const void *data, size_t len, ferry_reading_t *out,
                                    ferry_err_t *err)
{
    const unsigned char *d = data;
    if (!d || len < 10 || d[0] != 0xC3 || d[1] != 0x01)
        return ferry_err_set(err, FERRY_POISON, "not Avro single-object encoding");
    uint64_t fp = 0;
    for (int i = 0; i < 8; i++)
        fp |= (uint64_t)d[2 + i] << (8 * i);
    if (fp != ferry_telemetry_fingerprint()) {
        const ferry_schema_t *s = ferry_schema_by_fingerprint(fp);
        if (s)
            return ferry_err_set(err, FERRY_POISON, "schema %s, not TelemetryReading",
                                 ferry_schema_fullname(s));
        return ferry_err_set(err, FERRY_POISON, "unknown schema fingerprint 0x%016llx",
                             (unsigned long long)fp);
    }
    return ferry_telemetry_decode_body(d + 10, len - 10, out, err);
}

ferry_status ferry_telemetry_decode_body(const void *data, size_t len, ferry_reading_t *out,
                                         ferry_err_t *err)
{
    const unsigned char *d = data;
    rd_t r = {d, d + len};
    memset(out, 0, sizeof *out);
    int64_t idx;
    if (get_str(&r, &out->ship_id) || get_str(&r, &out->channel_id) || get_long(&r, &out->ts_us) ||
        get_long(&r, &idx))
        return ferry_err_set(err, FERRY_POISON, "truncated or malformed TelemetryReading");
    switch (idx) {
    case FERRY_VALUE_NULL:
        break;
    case FERRY_VALUE_DOUBLE: {
        if (r.end - r.p < 8)
            return ferry_err_set(err, FERRY_POISON, "truncated TelemetryReading (double value)");
        uint64_t u = 0;
        for (int i = 0; i < 8; i++)
            u |= (uint64_t)r.p[i] << (8 * i);
        memcpy(&out->v.d, &u, 8);
        r.p += 8;
        break;
    }
    case FERRY_VALUE_LONG:
        if (get_long(&r, &out->v.l))
            return ferry_err_set(err, FERRY_POISON, "truncated TelemetryReading (long value)");
        break;
    case FERRY_VALUE_BOOL:
        if (r.p >= r.end || *r.p > 1)
            return ferry_err_set(err, FERRY_POISON, "truncated or bad boolean value");
        out->v.b = *r.p++;
        break;
    case FERRY_VALUE_STRING:
        if (get_str(&r, &out->v.s))
            return ferry_err_set(err, FERRY_POISON, "truncated TelemetryReading (string value)");
        break;
    default:
        return ferry_err_set(err, FERRY_POISON, "bad union index %lld for value", (long long)idx);
    }
    out->type = (ferry_value_type)idx;
    int64_t u;
    if (get_long(&r, &u) || (u != 0 && u != 1))
        return ferry_err_set(err, FERRY_POISON, "truncated or bad union index for unit");
    if (u == 1) {
        if (get_str(&r, &out->unit))
            return ferry_err_set(err, FERRY_POISON, "truncated TelemetryReading (unit)");
        out->has_unit = 1;
    }
    if (get_long(&r, &u) || (u != 0 && u != 1))
        return ferry_err_set(err, FERRY_POISON, "truncated or bad union index for source");
    if (u == 1) {
        if (get_str(&r, &out->source))
            return ferry_err_set(err, FERRY_POISON, "truncated TelemetryReading (source)");
        out->has_source = 1;
    }
    if (r.p != r.end)
        return ferry_err_set(err, FERRY_POISON, "%zu trailing bytes after TelemetryReading",
                             (size_t)(r.end - r.p));
    return ferry_telemetry_validate(out, err);
}

ferry_status ferry_telemetry_validate(const ferry_reading_t *out, ferry_err_t *err)
{
    if (out->ship_id.len == 0)
        return ferry_err_set(err, FERRY_POISON, "empty ship_id");
    if (out->channel_id.len == 0)
        return ferry_err_set(err, FERRY_POISON, "empty channel_id");
    if (!ferry_utf8_valid(out->ship_id.ptr, out->ship_id.len) ||
        !ferry_utf8_valid(out->channel_id.ptr, out->channel_id.len) ||
        (out->type == FERRY_VALUE_STRING && !ferry_utf8_valid(out->v.s.ptr, out->v.s.len)) ||
        (out->has_unit && !ferry_utf8_valid(out->unit.ptr, out->unit.len)) ||
        (out->has_source && !ferry_utf8_valid(out->source.ptr, out->source.len)))
        return ferry_err_set(err, FERRY_POISON, "invalid UTF-8 or NUL byte in a string");
    return FERRY_OK;
}

void ferry_value_append_text(const ferry_reading_t *r, ferry_buf_t *out)
{
    switch (r->type) {
    case FERRY_VALUE_NULL:
        break;
    case FERRY_VALUE_DOUBLE:
        ferry_buf_appendf(out, "%.17g", r->v.d);
        break;
    case FERRY_VALUE_LONG:
        ferry_buf_appendf(out, "%lld", (long long)r->v.l);
        break;
    case FERRY_VALUE_BOOL:
        ferry_buf_append_str(out, r->v.b ? "true" : "false");
        break;
    case FERRY_VALUE_STRING:
        ferry_buf_append(out, r->v.s.ptr, r->v.s.len);
        break;
    }
}
