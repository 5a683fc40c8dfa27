/* decoder.c - per-record decoding by framing, with a bounded cache of writer schemas and
 * their resolvers (see include/ferry/decoder.h). */
#include "ferry/decoder.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/resolve.h"

/* One writer schema seen: a registry id or a single-object fingerprint. */
typedef struct entry {
    int is_id;
    uint64_t key;
    ferry_schema_t *owned;        /* the writer schema fetched from the registry */
    const ferry_schema_t *writer; /* owned, or an embedded schema */
    ferry_resolver_t *rs;         /* writer -> reader; NULL without a reader */
    int identity;                 /* writer == reader: read the body as the reader's own */
    char *error;                  /* the writer does not resolve: every record is poison */
    avro_value_t value;           /* a value of the reader (or writer) schema, lazily made */
} entry_t;

struct ferry_decoder {
    const ferry_schema_t *reader;
    ferry_registry_t *registry;
    int own_registry; /* made by ferry_decoder_from_opts: freed with the decoder */
    const ferry_schema_t *last_writer;
    int telemetry; /* reader is TelemetryReading */
    entry_t *entries;
    size_t n, cap, next_evict;
    ferry_buf_t text, wire;
    avro_value_t rvalue; /* a value of the reader schema (resolved records) */
    int tf[6];           /* TelemetryReading's field indexes, in the order of tf_names */
};

static const char *const tf_names[6] = {"ship_id", "channel_id", "timestamp",
                                        "value",   "unit",       "source"};

const char *ferry_framing_name(ferry_framing f)
{
    switch (f) {
    case FERRY_FRAMING_SINGLE_OBJECT:
        return "single-object";
    case FERRY_FRAMING_REGISTRY:
        return "registry";
    case FERRY_FRAMING_JSON:
        return "json";
    default:
        return "none";
    }
}

ferry_framing ferry_framing_of(const void *data, size_t len, uint32_t *id)
{
    const unsigned char *p = data;
    if (!p || len == 0)
        return FERRY_FRAMING_NONE;
    if (len >= FERRY_AVRO_HEADER_LEN && p[0] == FERRY_AVRO_MAGIC0 && p[1] == FERRY_AVRO_MAGIC1)
        return FERRY_FRAMING_SINGLE_OBJECT;
    if (len >= FERRY_REGISTRY_HEADER_LEN && p[0] == FERRY_REGISTRY_MAGIC) {
        if (id)
            *id = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
        return FERRY_FRAMING_REGISTRY;
    }
    size_t i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i < len && (p[i] == '{' || p[i] == '['))
        return FERRY_FRAMING_JSON;
    return FERRY_FRAMING_NONE;
}

ferry_decoder_t *ferry_decoder_new(const ferry_schema_t *reader, ferry_registry_t *registry,
                                   size_t max_schemas)
{
    ferry_decoder_t *d = ferry_xcalloc(1, sizeof *d);
    d->reader = reader;
    d->registry = registry;
    d->cap = max_schemas ? max_schemas : 256;
    d->entries = ferry_xcalloc(d->cap, sizeof *d->entries);
    d->telemetry =
        reader && !strcmp(ferry_schema_fullname(reader), "dev.ferry.telemetry.TelemetryReading");
    if (reader && ferry_schema_new_value(reader, &d->rvalue) != FERRY_OK)
        abort();
    for (int k = 0; d->telemetry && k < 6; k++)
        if ((d->tf[k] =
                 avro_schema_record_field_get_index(ferry_schema_avro(reader), tf_names[k])) < 0)
            abort(); /* a build defect: the embedded schema lost a field */
    return d;
}

ferry_decoder_t *ferry_decoder_from_opts(const ferry_opts_t *o, const ferry_schema_t *reader,
                                         ferry_err_t *err)
{
    ferry_err_t rerr;
    const char *dir = ferry_opts_str(o, "schemas");
    size_t added = 0;
    if (dir && *dir) {
        if (ferry_schema_add_dir(dir, &added, err) != FERRY_OK)
            return NULL;
        ferry_info("--schemas %s: %zu writer schema(s) added", dir, added);
    }
    ferry_registry_t *reg = ferry_registry_from_opts(o, &rerr);
    if (!reg && rerr.status != FERRY_OK) {
        if (err)
            *err = rerr;
        return NULL;
    }
    ferry_decoder_t *d = ferry_decoder_new(reader, reg, 0);
    d->own_registry = 1;
    return d;
}

const ferry_schema_t *ferry_decoder_last_writer(const ferry_decoder_t *d)
{
    return d->last_writer;
}

static void entry_clear(entry_t *e)
{
    if (e->value.iface)
        avro_value_decref(&e->value);
    ferry_resolver_free(e->rs);
    ferry_schema_free(e->owned);
    free(e->error);
    memset(e, 0, sizeof *e);
}

void ferry_decoder_free(ferry_decoder_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        entry_clear(&d->entries[i]);
    free(d->entries);
    if (d->rvalue.iface)
        avro_value_decref(&d->rvalue);
    ferry_buf_free(&d->text);
    ferry_buf_free(&d->wire);
    if (d->own_registry)
        ferry_registry_free(d->registry);
    free(d);
}

static entry_t *find(ferry_decoder_t *d, int is_id, uint64_t key)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->entries[i].is_id == is_id && d->entries[i].key == key)
            return &d->entries[i];
    return NULL;
}

/* A free slot: the oldest entry goes when the cache is full. */
static entry_t *slot(ferry_decoder_t *d)
{
    if (d->n < d->cap)
        return &d->entries[d->n++];
    entry_t *e = &d->entries[d->next_evict];
    d->next_evict = (d->next_evict + 1) % d->cap;
    entry_clear(e);
    return e;
}

/* Fills a new entry for `writer`: its resolver against the reader, or why there is none. */
static entry_t *add(ferry_decoder_t *d, int is_id, uint64_t key, ferry_schema_t *owned,
                    const ferry_schema_t *writer)
{
    entry_t *e = slot(d);
    e->is_id = is_id;
    e->key = key;
    e->owned = owned;
    e->writer = writer;
    if (d->reader) {
        ferry_err_t rerr;
        if (ferry_resolver_new(writer, d->reader, &e->rs, &rerr) != FERRY_OK) {
            char why[600];
            snprintf(why, sizeof why, "writer schema %s cannot be read as %s: %s",
                     ferry_schema_fullname(writer), ferry_schema_fullname(d->reader), rerr.msg);
            e->error = ferry_xstrndup(why, strlen(why));
        } else {
            e->identity = ferry_resolver_identity(e->rs);
        }
    }
    return e;
}

/* The entry of a record's writer schema, fetched and resolved when not cached; *body is
 * where the Avro body starts. */
static int lookup(ferry_decoder_t *d, const unsigned char *p, size_t len, ferry_framing f,
                  entry_t **out, size_t *body, ferry_err_t *err)
{
    if (f == FERRY_FRAMING_SINGLE_OBJECT) {
        uint64_t fp = 0;
        int rc = ferry_avro_peek(p, len, &fp, err);
        if (rc != FERRY_OK)
            return rc;
        *body = FERRY_AVRO_HEADER_LEN;
        if ((*out = find(d, 0, fp)) != NULL)
            return FERRY_OK;
        const ferry_schema_t *w = ferry_schema_by_fingerprint(fp);
        if (!w)
            return ferry_err_set(
                err, FERRY_POISON,
                "unknown schema fingerprint 0x%016" PRIx64
                " (single-object encoding of a schema ferry does not know: give the "
                "writer's .avsc with --schemas DIR)",
                fp);
        *out = add(d, 0, fp, NULL, w);
        return FERRY_OK;
    }
    uint32_t id = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    *body = FERRY_REGISTRY_HEADER_LEN;
    if ((*out = find(d, 1, id)) != NULL)
        return FERRY_OK;
    if (!d->registry)
        return ferry_err_set(err, FERRY_FATAL,
                             "a record in Schema Registry framing (schema id %u), but no "
                             "--schema-registry is configured",
                             (unsigned)id);
    int rc = ferry_registry_fetch(d->registry, id, &d->text, err);
    if (rc != FERRY_OK)
        return rc;
    ferry_schema_t *w = NULL;
    ferry_err_t perr;
    if (ferry_schema_parse((const char *)d->text.data, d->text.len, &w, &perr) != FERRY_OK)
        return ferry_err_set(err, FERRY_POISON, "schema id %u: %s", (unsigned)id, perr.msg);
    *out = add(d, 1, id, w, w);
    return FERRY_OK;
}

static int prepare(ferry_decoder_t *d, const void *data, size_t len, ferry_framing *framing,
                   entry_t **e, size_t *body, ferry_err_t *err)
{
    uint32_t id = 0;
    ferry_framing f = ferry_framing_of(data, len, &id);
    d->last_writer = NULL;
    if (framing)
        *framing = f;
    const unsigned char *p = data;
    if (f == FERRY_FRAMING_NONE) {
        if (len == 0)
            return ferry_err_set(err, FERRY_POISON, "empty record");
        return ferry_err_set(err, FERRY_POISON,
                             "not a known framing: starts with %02X%s%02X (expected C3 01 Avro "
                             "single-object, 00 Schema Registry framing%s)",
                             p[0], len > 1 ? " " : "", len > 1 ? p[1] : 0,
                             d->telemetry ? " or a JSON object" : "");
    }
    if (f == FERRY_FRAMING_JSON)
        return FERRY_OK;
    int rc = lookup(d, p, len, f, e, body, err);
    if (rc != FERRY_OK)
        return rc;
    d->last_writer = (*e)->writer;
    if ((*e)->error)
        return ferry_err_set(err, FERRY_POISON, "%s", (*e)->error);
    return FERRY_OK;
}

int ferry_decoder_value(ferry_decoder_t *d, const void *data, size_t len, avro_value_t *value,
                        const ferry_schema_t **schema, ferry_framing *framing, ferry_err_t *err)
{
    entry_t *e = NULL;
    size_t body = 0;
    ferry_framing f;
    int rc = prepare(d, data, len, &f, &e, &body, err);
    if (framing)
        *framing = f;
    if (rc != FERRY_OK)
        return rc;
    if (f == FERRY_FRAMING_JSON)
        return ferry_err_set(err, FERRY_POISON, "a JSON record, not Avro");
    const unsigned char *p = (const unsigned char *)data + body;
    if (!d->reader) {
        if (!e->value.iface && ferry_schema_new_value(e->writer, &e->value) != FERRY_OK)
            return ferry_err_set(err, FERRY_FATAL, "out of memory");
        rc = ferry_avro_read_body(p, len - body, &e->value, err);
        *value = e->value;
        if (schema)
            *schema = e->writer;
        return rc;
    }
    rc = e->identity ? ferry_avro_read_body(p, len - body, &d->rvalue, err)
                     : ferry_resolver_read(e->rs, p, len - body, &d->rvalue, err);
    *value = d->rvalue;
    if (schema)
        *schema = d->reader;
    return rc;
}

int ferry_decoder_value_wait(ferry_decoder_t *d, const void *data, size_t len, avro_value_t *value,
                             ferry_framing *framing, const char *where, ferry_err_t *err)
{
    int64_t backoff = 250;
    unsigned waits = 0;
    int rc;
    while ((rc = ferry_decoder_value(d, data, len, value, NULL, framing, err)) == FERRY_RETRY &&
           ferry_lifecycle_running()) {
        if (waits++ % 20 == 0)
            ferry_warn("%s: %s; waiting for the schema registry", where,
                       err ? err->msg : "registry unavailable");
        ferry_lifecycle_sleep_ms(backoff);
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
    }
    return rc;
}

/* Validates the TelemetryReading in d->wire (single-object) and hands its copy out. */
static int reading_from_wire(ferry_decoder_t *d, ferry_reading_t *r, char **owned, ferry_err_t *err)
{
    char *copy = ferry_xmemdup(d->wire.data, d->wire.len);
    int rc = ferry_telemetry_decode(copy, d->wire.len, r, err);
    if (rc != FERRY_OK) {
        free(copy);
        return rc;
    }
    *owned = copy;
    return FERRY_OK;
}

static ferry_str_t str_of(const ferry_resolved_field_t *f)
{
    return (ferry_str_t){(const char *)f->s, f->len};
}

/* An optional string (a union of null and string, or a plain string). */
static int opt_str(const ferry_resolved_field_t *f, int *has, ferry_str_t *out)
{
    if (f->is_default)
        return json_is_null(f->def) ? (*has = 0, 0) : -1;
    *has = f->type == AVRO_STRING;
    if (*has)
        *out = str_of(f);
    return 0;
}

/* A resolved (evolved writer) TelemetryReading read zero-copy, at about the cost of the plain
 * decode. -1 when a field takes a default this cannot express (the caller goes generic). */
static int reading_flat(ferry_decoder_t *d, const entry_t *e, const unsigned char *p, size_t n,
                        ferry_reading_t *r, ferry_err_t *err)
{
    ferry_resolved_field_t f[6], *slot[6];
    int rc = ferry_resolver_read_flat(e->rs, p, n, f, 6, err);
    if (rc != FERRY_OK)
        return rc;
    for (int k = 0; k < 6; k++)
        slot[k] = &f[d->tf[k]];
    memset(r, 0, sizeof *r);
    for (int k = 0; k < 4; k++)
        if (slot[k]->is_default)
            return -1;
    r->ship_id = str_of(slot[0]);
    r->channel_id = str_of(slot[1]);
    r->ts_us = slot[2]->l;
    switch (slot[3]->type) { /* the reader's union: null, double, long, boolean, string */
    case AVRO_DOUBLE:
        r->type = FERRY_VALUE_DOUBLE;
        r->v.d = slot[3]->d;
        break;
    case AVRO_INT64:
        r->type = FERRY_VALUE_LONG;
        r->v.l = slot[3]->l;
        break;
    case AVRO_BOOLEAN:
        r->type = FERRY_VALUE_BOOL;
        r->v.b = slot[3]->b;
        break;
    case AVRO_STRING:
        r->type = FERRY_VALUE_STRING;
        r->v.s = str_of(slot[3]);
        break;
    default:
        r->type = FERRY_VALUE_NULL;
        break;
    }
    if (opt_str(slot[4], &r->has_unit, &r->unit) || opt_str(slot[5], &r->has_source, &r->source))
        return -1;
    return ferry_telemetry_validate(r, err);
}

int ferry_decoder_reading(ferry_decoder_t *d, const void *data, size_t len, ferry_reading_t *r,
                          char **owned, ferry_framing *framing, ferry_err_t *err)
{
    *owned = NULL;
    if (!d->telemetry)
        return ferry_err_set(err, FERRY_FATAL,
                             "ferry_decoder_reading needs a TelemetryReading "
                             "decoder");
    entry_t *e = NULL;
    size_t body = 0;
    ferry_framing f;
    int rc = prepare(d, data, len, &f, &e, &body, err);
    if (framing)
        *framing = f;
    if (rc != FERRY_OK)
        return rc;
    ferry_buf_reset(&d->wire);
    if (f == FERRY_FRAMING_JSON) {
        if ((rc = ferry_telemetry_from_json(data, len, &d->wire, err)) != FERRY_OK)
            return rc;
        return reading_from_wire(d, r, owned, err);
    }
    const unsigned char *p = (const unsigned char *)data + body;
    if (e->identity) /* the hot path: ferry's own schema, zero-copy */
        return ferry_telemetry_decode_body(p, len - body, r, err);
    rc = reading_flat(d, e, p, len - body, r, err);
    if (rc != -1)
        return rc;
    /* a reader default other than null (not in ferry's schema today): the generic way */
    if ((rc = ferry_resolver_read(e->rs, p, len - body, &d->rvalue, err)) != FERRY_OK)
        return rc;
    if ((rc = ferry_avro_encode(d->reader, &d->rvalue, &d->wire, err)) != FERRY_OK)
        return rc;
    return reading_from_wire(d, r, owned, err);
}
