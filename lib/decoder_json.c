/* decoder_json.c - JSON telemetry: an object with TelemetryReading's field names (see
 * include/ferry/decoder.h), e.g. from an MQTT bridge, Telegraf or Node-RED:
 *   {"ship_id": "IMO9300001", "channel_id": "engine.rpm", "timestamp": "2026-01-01T00:00:00Z",
 *    "value": 81.5, "unit": "rpm", "source": "node-red"}
 * timestamp: ISO-8601 text, or an epoch number (s, ms, us or ns by magnitude, as text or a
 * JSON number); value: a number (integers become long, others double), boolean, string or
 * null (also when absent); unit and source: string or null, optional. Other fields are
 * ignored, so a producer may carry more than ferry reads. */
#include "ferry/decoder.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ferry/avro.h"
#include "ferry/timeparse.h"

static int str_field(const json_t *o, const char *name, int required, ferry_str_t *out,
                     int *present, ferry_err_t *err)
{
    const json_t *v = json_object_get(o, name);
    if (present)
        *present = 0;
    if (!v || json_is_null(v)) {
        if (required)
            return ferry_err_set(err, FERRY_POISON, "JSON telemetry: %s is missing", name);
        return FERRY_OK;
    }
    if (!json_is_string(v))
        return ferry_err_set(err, FERRY_POISON, "JSON telemetry: %s must be a string, got %s", name,
                             ferry_avro_json_kind(v));
    out->ptr = json_string_value(v);
    out->len = json_string_length(v);
    if (present)
        *present = 1;
    return FERRY_OK;
}

int ferry_telemetry_from_json(const void *data, size_t len, ferry_buf_t *out, ferry_err_t *err)
{
    json_error_t jerr;
    json_t *o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o)
        return ferry_err_set(err, FERRY_POISON, "not JSON: %s (column %d)", jerr.text, jerr.column);
    int rc = FERRY_OK;
    ferry_reading_t r;
    memset(&r, 0, sizeof r);
    if (!json_is_object(o)) {
        rc = ferry_err_set(err, FERRY_POISON, "JSON telemetry must be an object, got %s",
                           ferry_avro_json_kind(o));
        goto done;
    }
    if ((rc = str_field(o, "ship_id", 1, &r.ship_id, NULL, err)) ||
        (rc = str_field(o, "channel_id", 1, &r.channel_id, NULL, err)) ||
        (rc = str_field(o, "unit", 0, &r.unit, &r.has_unit, err)) ||
        (rc = str_field(o, "source", 0, &r.source, &r.has_source, err)))
        goto done;
    const json_t *ts = json_object_get(o, "timestamp");
    char num[64];
    const char *text = NULL;
    size_t tlen = 0;
    if (json_is_string(ts)) {
        text = json_string_value(ts);
        tlen = json_string_length(ts);
    } else if (json_is_integer(ts)) {
        tlen = (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(ts));
        text = num;
    } else if (json_is_real(ts)) {
        tlen = (size_t)snprintf(num, sizeof num, "%.6f", json_real_value(ts));
        text = num;
    } else {
        rc = ferry_err_set(err, FERRY_POISON,
                           ts ? "JSON telemetry: timestamp must be ISO-8601 text or an epoch "
                                "number, got %s"
                              : "JSON telemetry: timestamp is missing%s",
                           ts ? ferry_avro_json_kind(ts) : "");
        goto done;
    }
    ferry_err_t terr;
    if (ferry_ts_parse(text, tlen, FERRY_TS_AUTO, &r.ts_us, &terr) != FERRY_OK) {
        rc = ferry_err_set(err, FERRY_POISON, "JSON telemetry: timestamp: %s", terr.msg);
        goto done;
    }
    const json_t *v = json_object_get(o, "value");
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_NULL:
        r.type = FERRY_VALUE_NULL;
        break;
    case JSON_INTEGER:
        r.type = FERRY_VALUE_LONG;
        r.v.l = json_integer_value(v);
        break;
    case JSON_REAL:
        r.type = FERRY_VALUE_DOUBLE;
        r.v.d = json_real_value(v);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        r.type = FERRY_VALUE_BOOL;
        r.v.b = json_is_true(v);
        break;
    case JSON_STRING:
        r.type = FERRY_VALUE_STRING;
        r.v.s.ptr = json_string_value(v);
        r.v.s.len = json_string_length(v);
        break;
    default:
        rc = ferry_err_set(err, FERRY_POISON,
                           "JSON telemetry: value must be a number, boolean, string or null, "
                           "got %s",
                           ferry_avro_json_kind(v));
        goto done;
    }
    ferry_telemetry_encode(&r, out);
done:
    json_decref(o);
    return rc;
}
