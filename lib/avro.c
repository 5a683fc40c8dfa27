/* avro.c - the schema side of ferry's Avro layer (see include/ferry/avro.h): CRC-64-AVRO,
 * Parsing Canonical Form, the process-wide registry of embedded schemas, and small value
 * helpers. The wire format lives in avro_binary.c, JSON conversion in avro_json.c. */
#include "avro_internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CRC-64-AVRO ------------------------------------------------------------------------ */

uint64_t ferry_avro_crc64(const void *data, size_t len)
{
    /* Bitwise form of the spec's table-driven algorithm (same result: the table entry for a
     * byte is exactly these eight steps). Only used on schema text, so speed is irrelevant. */
    const unsigned char *p = data;
    uint64_t fp = FERRY_AVRO_CRC64_EMPTY;
    for (size_t i = 0; i < len; i++) {
        fp ^= p[i];
        for (int j = 0; j < 8; j++)
            fp = (fp >> 1) ^ (FERRY_AVRO_CRC64_EMPTY & (0 - (fp & 1)));
    }
    return fp;
}

/* ---- Parsing Canonical Form ------------------------------------------------------------- */

static const char *const primitive_names[] = {"null",  "boolean", "int",   "long",
                                              "float", "double",  "bytes", "string"};

static int is_primitive(const char *s)
{
    for (size_t i = 0; i < sizeof primitive_names / sizeof primitive_names[0]; i++)
        if (strcmp(s, primitive_names[i]) == 0)
            return 1;
    return 0;
}

typedef struct pcf_ctx {
    ferry_buf_t *out;
    json_t *defined; /* set of full names defined so far (object: name -> true) */
    ferry_err_t *err;
} pcf_ctx_t;

/* Writes s as a JSON string. Avro names and symbols never need escapes, but keep the output
 * valid JSON whatever the input. */
static void pcf_string(ferry_buf_t *b, const char *s)
{
    ferry_buf_append_byte(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            ferry_buf_append_byte(b, '\\');
            ferry_buf_append_byte(b, *p);
        } else if (*p < 0x20) {
            ferry_buf_appendf(b, "\\u%04x", *p);
        } else {
            ferry_buf_append_byte(b, *p);
        }
    }
    ferry_buf_append_byte(b, '"');
}

/* Full name of `name` in namespace `ns` (NULL or "" = none), malloc'd. */
static char *full_name(const char *name, const char *ns)
{
    size_t nl = strlen(name), sl = (ns && !strchr(name, '.')) ? strlen(ns) : 0;
    char *s = malloc(nl + sl + 2);
    if (!s)
        abort();
    if (sl) {
        memcpy(s, ns, sl);
        s[sl] = '.';
        memcpy(s + sl + 1, name, nl + 1);
    } else {
        memcpy(s, name, nl + 1);
    }
    return s;
}

/* The namespace part of a full name, malloc'd ("" when none). */
static char *name_space(const char *full)
{
    const char *dot = strrchr(full, '.');
    size_t n = dot ? (size_t)(dot - full) : 0;
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, full, n);
    s[n] = '\0';
    return s;
}

static int pcf_reference(pcf_ctx_t *c, const char *name, const char *ns)
{
    if (is_primitive(name)) {
        pcf_string(c->out, name);
        return FERRY_OK;
    }
    char *full = full_name(name, ns);
    int rc = FERRY_OK;
    if (json_object_get(c->defined, full))
        pcf_string(c->out, full);
    else if (json_object_get(c->defined, name)) /* a name of the null namespace */
        pcf_string(c->out, name);
    else
        rc = ferry_err_set(c->err, FERRY_POISON, "schema: undefined type name \"%s\"", full);
    free(full);
    return rc;
}

static int pcf_schema(pcf_ctx_t *c, const json_t *s, const char *ns, int depth);

static int pcf_named(pcf_ctx_t *c, const json_t *s, const char *type, const char *ns, int depth)
{
    const char *name = json_string_value(json_object_get(s, "name"));
    if (!name || !*name)
        return ferry_err_set(c->err, FERRY_POISON, "schema: %s without a name", type);
    const json_t *jns = json_object_get(s, "namespace");
    char *full = full_name(name, json_is_string(jns) ? json_string_value(jns) : ns);
    if (json_object_get(c->defined, full)) {
        int rc = ferry_err_set(c->err, FERRY_POISON, "schema: type \"%s\" defined twice", full);
        free(full);
        return rc;
    }
    json_object_set_new(c->defined, full, json_true());
    char *inner_ns = name_space(full);
    int rc = FERRY_OK;

    ferry_buf_append_str(c->out, "{\"name\":");
    pcf_string(c->out, full);
    if (strcmp(type, "enum") == 0) {
        const json_t *syms = json_object_get(s, "symbols");
        if (!json_is_array(syms)) {
            rc = ferry_err_set(c->err, FERRY_POISON, "schema: enum %s without symbols", full);
            goto done;
        }
        ferry_buf_append_str(c->out, ",\"type\":\"enum\",\"symbols\":[");
        for (size_t i = 0; i < json_array_size(syms); i++) {
            const char *sym = json_string_value(json_array_get(syms, i));
            if (!sym) {
                rc = ferry_err_set(c->err, FERRY_POISON, "schema: enum %s: bad symbol", full);
                goto done;
            }
            if (i)
                ferry_buf_append_byte(c->out, ',');
            pcf_string(c->out, sym);
        }
        ferry_buf_append_byte(c->out, ']');
    } else if (strcmp(type, "fixed") == 0) {
        const json_t *size = json_object_get(s, "size");
        if (!json_is_integer(size) || json_integer_value(size) < 0) {
            rc = ferry_err_set(c->err, FERRY_POISON, "schema: fixed %s without a size", full);
            goto done;
        }
        ferry_buf_appendf(c->out, ",\"type\":\"fixed\",\"size\":%" JSON_INTEGER_FORMAT,
                          json_integer_value(size));
    } else { /* record, error */
        const json_t *fields = json_object_get(s, "fields");
        if (!json_is_array(fields)) {
            rc = ferry_err_set(c->err, FERRY_POISON, "schema: record %s without fields", full);
            goto done;
        }
        ferry_buf_append_str(c->out, ",\"type\":\"record\",\"fields\":[");
        for (size_t i = 0; i < json_array_size(fields); i++) {
            const json_t *f = json_array_get(fields, i);
            const char *fname = json_string_value(json_object_get(f, "name"));
            const json_t *ftype = json_object_get(f, "type");
            if (!fname || !ftype) {
                rc = ferry_err_set(c->err, FERRY_POISON,
                                   "schema: record %s: field %zu needs a name and a type", full, i);
                goto done;
            }
            if (i)
                ferry_buf_append_byte(c->out, ',');
            ferry_buf_append_str(c->out, "{\"name\":");
            pcf_string(c->out, fname);
            ferry_buf_append_str(c->out, ",\"type\":");
            if ((rc = pcf_schema(c, ftype, inner_ns, depth + 1)) != FERRY_OK)
                goto done;
            ferry_buf_append_byte(c->out, '}');
        }
        ferry_buf_append_byte(c->out, ']');
    }
    ferry_buf_append_byte(c->out, '}');
done:
    free(inner_ns);
    free(full);
    return rc;
}

static int pcf_schema(pcf_ctx_t *c, const json_t *s, const char *ns, int depth)
{
    if (depth > FERRY_AVRO_MAX_DEPTH)
        return ferry_err_set(c->err, FERRY_POISON, "schema: nested too deeply");
    if (json_is_string(s))
        return pcf_reference(c, json_string_value(s), ns);
    if (json_is_array(s)) {
        ferry_buf_append_byte(c->out, '[');
        for (size_t i = 0; i < json_array_size(s); i++) {
            if (i)
                ferry_buf_append_byte(c->out, ',');
            int rc = pcf_schema(c, json_array_get(s, i), ns, depth + 1);
            if (rc != FERRY_OK)
                return rc;
        }
        ferry_buf_append_byte(c->out, ']');
        return FERRY_OK;
    }
    if (!json_is_object(s))
        return ferry_err_set(c->err, FERRY_POISON, "schema: expected a string, array or object");
    const json_t *jtype = json_object_get(s, "type");
    if (!jtype)
        return ferry_err_set(c->err, FERRY_POISON, "schema: object without \"type\"");
    if (!json_is_string(jtype)) /* {"type": {...}} or {"type": [...]}: the inner schema */
        return pcf_schema(c, jtype, ns, depth + 1);
    const char *type = json_string_value(jtype);
    if (is_primitive(type)) { /* [PRIMITIVES], and logicalType etc. are stripped */
        pcf_string(c->out, type);
        return FERRY_OK;
    }
    if (!strcmp(type, "record") || !strcmp(type, "error") || !strcmp(type, "enum") ||
        !strcmp(type, "fixed"))
        return pcf_named(c, s, type, ns, depth);
    if (!strcmp(type, "array") || !strcmp(type, "map")) {
        int is_array = type[0] == 'a';
        const json_t *inner = json_object_get(s, is_array ? "items" : "values");
        if (!inner)
            return ferry_err_set(c->err, FERRY_POISON, "schema: %s without \"%s\"", type,
                                 is_array ? "items" : "values");
        ferry_buf_append_str(c->out, is_array ? "{\"type\":\"array\",\"items\":"
                                              : "{\"type\":\"map\",\"values\":");
        int rc = pcf_schema(c, inner, ns, depth + 1);
        if (rc != FERRY_OK)
            return rc;
        ferry_buf_append_byte(c->out, '}');
        return FERRY_OK;
    }
    return pcf_reference(c, type, ns); /* {"type": "some.Named"} */
}

int ferry_schema_canonical_form(const json_t *schema, ferry_buf_t *out, ferry_err_t *err)
{
    pcf_ctx_t c = {out, json_object(), err};
    if (!c.defined)
        abort();
    size_t mark = out->len;
    int rc = pcf_schema(&c, schema, NULL, 0);
    if (rc != FERRY_OK)
        out->len = mark;
    json_decref(c.defined);
    return rc;
}

/* ---- record info: what avro-c forgets ---------------------------------------------------- */

avro_schema_t ferry_avro_resolve(avro_schema_t s)
{
    for (int i = 0; s && is_avro_link(s) && i < 100; i++)
        s = avro_schema_link_target(s);
    return s;
}

const char *ferry_avro_type_name(avro_schema_t s, char *buf, size_t size)
{
    s = ferry_avro_resolve(s);
    switch (avro_typeof(s)) {
    case AVRO_RECORD:
    case AVRO_ENUM:
    case AVRO_FIXED: {
        const char *ns = avro_schema_namespace(s);
        if (ns && *ns)
            snprintf(buf, size, "%s.%s", ns, avro_schema_name(s));
        else
            snprintf(buf, size, "%s", avro_schema_name(s));
        return buf;
    }
    default:
        snprintf(buf, size, "%s", avro_schema_type_name(s));
        return buf;
    }
}

static unsigned char logical_of(const json_t *type)
{
    const char *lt = json_string_value(json_object_get(type, "logicalType"));
    const char *t = json_string_value(json_object_get(type, "type"));
    if (!lt || !t || strcmp(t, "long") != 0)
        return FERRY_AVRO_LOGICAL_NONE;
    if (!strcmp(lt, "timestamp-micros"))
        return FERRY_AVRO_LOGICAL_TS_MICROS;
    if (!strcmp(lt, "timestamp-millis"))
        return FERRY_AVRO_LOGICAL_TS_MILLIS;
    return FERRY_AVRO_LOGICAL_NONE;
}

/* Walks the .avsc JSON and the avro-c schema together, recording every record's defaults
 * and logical types. Named references are links in avro-c and were recorded at their
 * definition, so they are skipped. */
static int index_records(ferry_schema_t *fs, const json_t *j, avro_schema_t a, int depth,
                         ferry_err_t *err)
{
    if (depth > FERRY_AVRO_MAX_DEPTH || !a)
        return ferry_err_set(err, FERRY_FATAL, "%s: schema walk failed", fs->file);
    if (json_is_string(j) || is_avro_link(a))
        return FERRY_OK;
    if (json_is_array(j)) {
        if (!is_avro_union(a) || avro_schema_union_size(a) != json_array_size(j))
            return ferry_err_set(err, FERRY_FATAL, "%s: union mismatch", fs->file);
        for (size_t i = 0; i < json_array_size(j); i++) {
            int rc = index_records(fs, json_array_get(j, i), avro_schema_union_branch(a, (int)i),
                                   depth + 1, err);
            if (rc != FERRY_OK)
                return rc;
        }
        return FERRY_OK;
    }
    const json_t *jtype = json_object_get(j, "type");
    if (!json_is_string(jtype))
        return index_records(fs, jtype, a, depth + 1, err);
    const char *type = json_string_value(jtype);
    if (!strcmp(type, "record") || !strcmp(type, "error") || !strcmp(type, "enum") ||
        !strcmp(type, "fixed")) {
        fs->named = ferry_xrealloc(fs->named, fs->nnamed + 1, sizeof *fs->named);
        fs->named[fs->nnamed].avro = a;
        fs->named[fs->nnamed++].json = j;
    }
    if (!strcmp(type, "array"))
        return index_records(fs, json_object_get(j, "items"), avro_schema_array_items(a), depth + 1,
                             err);
    if (!strcmp(type, "map"))
        return index_records(fs, json_object_get(j, "values"), avro_schema_map_values(a), depth + 1,
                             err);
    if (strcmp(type, "record") != 0 && strcmp(type, "error") != 0)
        return FERRY_OK;

    const json_t *fields = json_object_get(j, "fields");
    size_t n = json_array_size(fields);
    if (!is_avro_record(a) || avro_schema_record_size(a) != n)
        return ferry_err_set(err, FERRY_FATAL, "%s: record mismatch", fs->file);
    ferry_avro_record_info_t *grown =
        realloc(fs->records, (fs->nrecords + 1) * sizeof *fs->records);
    if (!grown)
        abort();
    fs->records = grown;
    /* the array may move while nested records are added: hold the index, not a pointer */
    size_t at = fs->nrecords++;
    const json_t **defaults = calloc(n ? n : 1, sizeof *defaults);
    unsigned char *logical = calloc(n ? n : 1, 1);
    if (!defaults || !logical)
        abort();
    fs->records[at].avro = a;
    fs->records[at].nfields = n;
    fs->records[at].defaults = defaults;
    fs->records[at].logical = logical;
    for (size_t i = 0; i < n; i++) {
        const json_t *f = json_array_get(fields, i);
        const json_t *ftype = json_object_get(f, "type");
        defaults[i] = json_object_get(f, "default");
        logical[i] = logical_of(ftype);
        int rc = index_records(fs, ftype, avro_schema_record_field_get_by_index(a, (int)i),
                               depth + 1, err);
        if (rc != FERRY_OK)
            return rc;
    }
    return FERRY_OK;
}

const ferry_avro_record_info_t *ferry_avro_record_info(const ferry_schema_t *schema,
                                                       avro_schema_t rec)
{
    if (!schema)
        return NULL;
    for (size_t i = 0; i < schema->nrecords; i++)
        if (schema->records[i].avro == rec)
            return &schema->records[i];
    return NULL;
}

const json_t *ferry_avro_named_json(const ferry_schema_t *schema, avro_schema_t named)
{
    named = ferry_avro_resolve(named);
    for (size_t i = 0; schema && i < schema->nnamed; i++)
        if (schema->named[i].avro == named)
            return schema->named[i].json;
    return NULL;
}

/* ---- the registry ----------------------------------------------------------------------- */

static struct {
    pthread_once_t once;
    ferry_schema_t *items;
    size_t count;
    ferry_err_t err; /* first problem found while loading, status FERRY_OK if none */
} registry = {PTHREAD_ONCE_INIT, NULL, 0, {FERRY_OK, "", ""}};

static void schema_free(ferry_schema_t *s)
{
    for (size_t i = 0; i < s->nrecords; i++) {
        free(s->records[i].defaults);
        free(s->records[i].logical);
    }
    free(s->records);
    free(s->named);
    if (s->iface)
        avro_value_iface_decref(s->iface);
    if (s->avro)
        avro_schema_decref(s->avro);
    json_decref(s->json);
    free(s->canonical);
    free(s->fullname);
    free(s->name);
    memset(s, 0, sizeof *s);
}

/* Fills *s from schema JSON text (`file` names it in messages; NULL for ad-hoc schemas).
 * On failure *s is partly filled: release it with schema_free(). */
static int schema_load(const char *json, size_t len, const char *file, ferry_schema_t *s,
                       ferry_err_t *err)
{
    const char *what = file ? file : "(schema)";
    memset(s, 0, sizeof *s);
    s->file = file;
    s->source = json;

    json_error_t jerr;
    s->json = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
    if (!s->json)
        return ferry_err_set(err, FERRY_FATAL, "schema %s: line %d: %s", what, jerr.line,
                             jerr.text);

    ferry_buf_t pcf = FERRY_BUF_INIT;
    ferry_err_t perr;
    if (ferry_schema_canonical_form(s->json, &pcf, &perr) != FERRY_OK) {
        ferry_buf_free(&pcf);
        return ferry_err_set(err, FERRY_FATAL, "schema %s: %s", what, perr.msg);
    }
    ferry_buf_cstr(&pcf);
    s->canonical = (char *)pcf.data; /* take the buffer */
    s->fingerprint = ferry_avro_crc64(pcf.data, pcf.len);

    if (avro_schema_from_json_length(json, len, &s->avro) != 0) {
        s->avro = NULL;
        return ferry_err_set(err, FERRY_FATAL, "schema %s: avro-c: %s", what, avro_strerror());
    }
    char name[512];
    ferry_avro_type_name(s->avro, name, sizeof name);
    const char *dot = strrchr(name, '.');
    s->fullname = strdup(name);
    s->name = strdup(dot ? dot + 1 : name);
    if (!s->fullname || !s->name)
        abort();
    s->iface = avro_generic_class_from_schema(s->avro);
    if (!s->iface)
        return ferry_err_set(err, FERRY_FATAL, "schema %s: avro-c: %s", what, avro_strerror());
    return index_records(s, s->json, s->avro, 0, err);
}

int ferry_schema_parse(const char *json, size_t len, ferry_schema_t **out, ferry_err_t *err)
{
    *out = NULL;
    ferry_schema_t *s = malloc(sizeof *s);
    char *copy = malloc(len + 1);
    if (!s || !copy)
        abort();
    memcpy(copy, json, len);
    copy[len] = '\0';
    ferry_err_t e;
    if (schema_load(copy, len, NULL, s, &e) != FERRY_OK) {
        schema_free(s);
        free(s);
        free(copy);
        /* the caller's schema, not our build, is at fault */
        return ferry_err_set(err, FERRY_POISON, "%s", e.msg);
    }
    s->owned_source = copy;
    *out = s;
    return FERRY_OK;
}

void ferry_schema_free(ferry_schema_t *schema)
{
    if (!schema)
        return;
    char *copy = schema->owned_source;
    schema_free(schema);
    free(copy);
    free(schema);
}

static void registry_load(void)
{
    size_t n = ferry_schema_source_count;
    registry.items = calloc(n ? n : 1, sizeof *registry.items);
    if (!registry.items)
        abort();
    for (size_t i = 0; i < n; i++) {
        ferry_schema_t *s = &registry.items[registry.count];
        ferry_err_t err;
        ferry_err_clear(&err);
        const ferry_schema_source_t *src = &ferry_schema_sources[i];
        int rc = schema_load(src->json, src->len, src->file, s, &err);
        if (rc == FERRY_OK && !is_avro_record(s->avro))
            rc = ferry_err_set(&err, FERRY_FATAL, "schema %s: must be a record", s->file);
        for (size_t k = 0; rc == FERRY_OK && k < registry.count; k++) {
            if (registry.items[k].fingerprint == s->fingerprint)
                rc = ferry_err_set(&err, FERRY_FATAL, "schema %s: same fingerprint as %s", s->file,
                                   registry.items[k].file);
            else if (!strcmp(registry.items[k].fullname, s->fullname))
                rc = ferry_err_set(&err, FERRY_FATAL, "schema %s: %s already defined in %s",
                                   s->file, s->fullname, registry.items[k].file);
        }
        if (rc != FERRY_OK) {
            schema_free(s);
            if (registry.err.status == FERRY_OK)
                registry.err = err;
            continue;
        }
        registry.count++;
    }
}

static void registry_ensure(void)
{
    pthread_once(&registry.once, registry_load);
}

int ferry_schema_registry_init(ferry_err_t *err)
{
    registry_ensure();
    if (registry.err.status != FERRY_OK) {
        if (err)
            *err = registry.err;
        return registry.err.status;
    }
    return FERRY_OK;
}

size_t ferry_schema_count(void)
{
    registry_ensure();
    return registry.count;
}

const ferry_schema_t *ferry_schema_at(size_t i)
{
    registry_ensure();
    return i < registry.count ? &registry.items[i] : NULL;
}

const ferry_schema_t *ferry_schema_get(const char *name)
{
    registry_ensure();
    if (!name)
        return NULL;
    for (size_t i = 0; i < registry.count; i++)
        if (!strcmp(registry.items[i].fullname, name))
            return &registry.items[i];
    for (size_t i = 0; i < registry.count; i++)
        if (!strcmp(registry.items[i].name, name))
            return &registry.items[i];
    return NULL;
}

const ferry_schema_t *ferry_schema_by_fingerprint(uint64_t fingerprint)
{
    registry_ensure();
    for (size_t i = 0; i < registry.count; i++)
        if (registry.items[i].fingerprint == fingerprint)
            return &registry.items[i];
    return ferry_schema_extra_by_fingerprint(fingerprint);
}

const char *ferry_schema_name(const ferry_schema_t *schema)
{
    return schema->name;
}

const char *ferry_schema_fullname(const ferry_schema_t *schema)
{
    return schema->fullname;
}

const char *ferry_schema_file(const ferry_schema_t *schema)
{
    return schema->file;
}

const char *ferry_schema_json(const ferry_schema_t *schema)
{
    return schema->source;
}

const char *ferry_schema_canonical(const ferry_schema_t *schema)
{
    return schema->canonical;
}

uint64_t ferry_schema_fingerprint(const ferry_schema_t *schema)
{
    return schema->fingerprint;
}

avro_schema_t ferry_schema_avro(const ferry_schema_t *schema)
{
    return schema->avro;
}

avro_value_iface_t *ferry_schema_iface(const ferry_schema_t *schema)
{
    return schema->iface;
}

int ferry_schema_new_value(const ferry_schema_t *schema, avro_value_t *out)
{
    if (avro_generic_value_new(schema->iface, out) != 0) {
        out->iface = NULL;
        out->self = NULL;
        return FERRY_FATAL;
    }
    return FERRY_OK;
}

/* ---- paths and value helpers ------------------------------------------------------------ */

static size_t path_put(const ferry_avro_path_t *p, char *buf, size_t size)
{
    if (!p)
        return 0;
    size_t at = path_put(p->up, buf, size);
    if (at >= size)
        return at;
    int n;
    if (!p->up)
        n = snprintf(buf + at, size - at, "%s", p->field ? p->field : "");
    else if (p->is_key)
        n = snprintf(buf + at, size - at, "[\"%s\"]", p->field);
    else if (p->field)
        n = snprintf(buf + at, size - at, ".%s", p->field);
    else
        n = snprintf(buf + at, size - at, "[%zu]", p->index);
    return n < 0 ? at : at + (size_t)n;
}

const char *ferry_avro_path_format(const ferry_avro_path_t *path, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    buf[0] = '\0';
    path_put(path, buf, size);
    return buf;
}

int ferry_avro_unwrap(const avro_value_t *value, avro_value_t *out)
{
    if (avro_value_get_type(value) != AVRO_UNION) {
        *out = *value;
        return FERRY_OK;
    }
    return avro_value_get_current_branch(value, out) == 0 ? FERRY_OK : FERRY_POISON;
}

int ferry_avro_is_null(const avro_value_t *value)
{
    avro_value_t v;
    return ferry_avro_unwrap(value, &v) == FERRY_OK && avro_value_get_type(&v) == AVRO_NULL;
}

int ferry_avro_get_string(const avro_value_t *value, const char **str, size_t *len)
{
    avro_value_t v;
    const char *s = NULL;
    size_t size = 0;
    if (ferry_avro_unwrap(value, &v) != FERRY_OK || avro_value_get_type(&v) != AVRO_STRING ||
        avro_value_get_string(&v, &s, &size) != 0)
        return FERRY_POISON;
    *str = s ? s : "";
    if (len)
        *len = size ? size - 1 : 0;
    return FERRY_OK;
}

int ferry_avro_field(const avro_value_t *record, const char *name, avro_value_t *out,
                     ferry_err_t *err)
{
    avro_value_t f;
    if (avro_value_get_by_name(record, name, &f, NULL) != 0)
        return ferry_err_set(err, FERRY_FATAL, "record has no field \"%s\"", name);
    if (ferry_avro_unwrap(&f, out) != FERRY_OK)
        return ferry_err_set(err, FERRY_POISON, "field \"%s\": union without a branch", name);
    return FERRY_OK;
}
