/* test_resolve.c - Avro schema resolution (include/ferry/resolve.h): hand-written writer and
 * reader schema pairs, bodies encoded by hand (zig-zag varints written out below), and the
 * values the Avro specification's rules give, worked out by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ferry/resolve.h"

typedef struct pair {
    ferry_schema_t *w, *r;
    ferry_resolver_t *rs;
    avro_value_t v;
} pair_t;

static ferry_schema_t *parse(const char *json)
{
    ferry_schema_t *s = NULL;
    ferry_err_t err;
    if (ferry_schema_parse(json, strlen(json), &s, &err) != FERRY_OK)
        fail_msg("schema does not parse: %s: %s", err.msg, json);
    return s;
}

static void pair_open(pair_t *p, const char *w, const char *r)
{
    ferry_err_t err;
    p->w = parse(w);
    p->r = parse(r);
    if (ferry_resolver_new(p->w, p->r, &p->rs, &err) != FERRY_OK)
        fail_msg("does not resolve: %s", err.msg);
    assert_int_equal(ferry_schema_new_value(p->r, &p->v), FERRY_OK);
}

static void pair_close(pair_t *p)
{
    avro_value_decref(&p->v);
    ferry_resolver_free(p->rs);
    ferry_schema_free(p->w);
    ferry_schema_free(p->r);
}

static void read_ok(pair_t *p, const unsigned char *data, size_t len)
{
    ferry_err_t err;
    if (ferry_resolver_read(p->rs, data, len, &p->v, &err) != FERRY_OK)
        fail_msg("read failed: %s", err.msg);
}

static avro_value_t field(avro_value_t *rec, const char *name)
{
    avro_value_t f = {NULL, NULL};
    if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
        fail_msg("no field %s", name);
    return f;
}

static int64_t get_long(avro_value_t *rec, const char *name)
{
    avro_value_t f = field(rec, name);
    int64_t x = 0;
    assert_int_equal(avro_value_get_type(&f), AVRO_INT64);
    avro_value_get_long(&f, &x);
    return x;
}

static const char *get_str(avro_value_t *rec, const char *name)
{
    avro_value_t f = field(rec, name);
    const char *s = NULL;
    size_t n;
    if (ferry_avro_get_string(&f, &s, &n) != FERRY_OK)
        fail_msg("field %s is not a string", name);
    return s;
}

/* A field added (reader default), a field removed (skipped), int -> long. */
static void test_added_removed_promoted(void **state)
{
    (void)state;
    pair_t p;
    pair_open(&p,
              "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
              "{\"name\":\"extra\",\"type\":\"string\"}]}",
              "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"},"
              "{\"name\":\"b\",\"type\":\"string\",\"default\":\"dflt\"}]}");
    assert_int_equal(ferry_resolver_identity(p.rs), 0);
    /* a = 3: zig-zag 6; extra = "hi": length 2 (zig-zag 4), 'h' 'i' */
    const unsigned char body[] = {0x06, 0x04, 'h', 'i'};
    read_ok(&p, body, sizeof body);
    assert_int_equal(get_long(&p.v, "a"), 3);
    assert_string_equal(get_str(&p.v, "b"), "dflt");
    /* a = -2 (zig-zag 3), extra = "" */
    const unsigned char body2[] = {0x03, 0x00};
    read_ok(&p, body2, sizeof body2);
    assert_int_equal(get_long(&p.v, "a"), -2);
    pair_close(&p);
}

/* int -> double, long -> float, float -> double, string -> bytes, bytes -> string. */
static void test_promotions(void **state)
{
    (void)state;
    pair_t p;
    pair_open(
        &p,
        "{\"type\":\"record\",\"name\":\"P\",\"fields\":[{\"name\":\"i\",\"type\":\"int\"},"
        "{\"name\":\"l\",\"type\":\"long\"},{\"name\":\"f\",\"type\":\"float\"},"
        "{\"name\":\"s\",\"type\":\"string\"},{\"name\":\"b\",\"type\":\"bytes\"}]}",
        "{\"type\":\"record\",\"name\":\"P\",\"fields\":[{\"name\":\"i\",\"type\":\"double\"},"
        "{\"name\":\"l\",\"type\":\"float\"},{\"name\":\"f\",\"type\":\"double\"},"
        "{\"name\":\"s\",\"type\":\"bytes\"},{\"name\":\"b\",\"type\":\"string\"}]}");
    /* i = -1 (01), l = 1000 (zig-zag 2000 = d0 0f), f = 1.5f (00 00 c0 3f),
     * s = "ab" (04 61 62), b = {0x63} (02 63) */
    const unsigned char body[] = {0x01, 0xd0, 0x0f, 0x00, 0x00, 0xc0,
                                  0x3f, 0x04, 'a',  'b',  0x02, 'c'};
    read_ok(&p, body, sizeof body);
    avro_value_t f = field(&p.v, "i");
    double d = 0;
    float fl = 0;
    assert_int_equal(avro_value_get_type(&f), AVRO_DOUBLE);
    avro_value_get_double(&f, &d);
    assert_true(d == -1.0);
    f = field(&p.v, "l");
    avro_value_get_float(&f, &fl);
    assert_true(fl == 1000.0f);
    f = field(&p.v, "f");
    avro_value_get_double(&f, &d);
    assert_true(d == 1.5);
    f = field(&p.v, "s");
    const void *bytes = NULL;
    size_t n = 0;
    assert_int_equal(avro_value_get_type(&f), AVRO_BYTES);
    avro_value_get_bytes(&f, &bytes, &n);
    assert_int_equal(n, 2);
    assert_memory_equal(bytes, "ab", 2);
    assert_string_equal(get_str(&p.v, "b"), "c");
    /* bytes that are not UTF-8 cannot become a string */
    const unsigned char bad[] = {0x01, 0xd0, 0x0f, 0x00, 0x00, 0xc0,
                                 0x3f, 0x04, 'a',  'b',  0x02, 0xff};
    ferry_err_t err;
    assert_int_equal(ferry_resolver_read(p.rs, bad, sizeof bad, &p.v, &err), FERRY_POISON);
    assert_non_null(strstr(err.msg, "P.b"));
    pair_close(&p);
}

/* Writer unions resolve branch by branch; a non-union writer goes to the reader's branch. */
static void test_unions(void **state)
{
    (void)state;
    pair_t p;
    pair_open(&p,
              "{\"type\":\"record\",\"name\":\"U\",\"fields\":["
              "{\"name\":\"x\",\"type\":[\"null\",\"int\"]},"
              "{\"name\":\"y\",\"type\":\"string\"},"
              "{\"name\":\"z\",\"type\":[\"null\",\"boolean\"]}]}",
              "{\"type\":\"record\",\"name\":\"U\",\"fields\":["
              "{\"name\":\"x\",\"type\":[\"null\",\"string\",\"long\"]},"
              "{\"name\":\"y\",\"type\":[\"null\",\"string\"]},"
              "{\"name\":\"z\",\"type\":[\"null\",\"string\"]}]}");
    /* x = branch 1 (int) 5: 02 0a; y = "q": 02 71; z = branch 0 (null): 00 */
    const unsigned char body[] = {0x02, 0x0a, 0x02, 'q', 0x00};
    read_ok(&p, body, sizeof body);
    avro_value_t x = field(&p.v, "x"), b;
    int disc = -1;
    avro_value_get_discriminant(&x, &disc);
    assert_int_equal(disc, 2); /* the long branch: int promoted */
    avro_value_get_current_branch(&x, &b);
    int64_t l = 0;
    avro_value_get_long(&b, &l);
    assert_int_equal(l, 5);
    avro_value_t y = field(&p.v, "y");
    avro_value_get_discriminant(&y, &disc);
    assert_int_equal(disc, 1);
    assert_string_equal(get_str(&p.v, "y"), "q");
    /* z = branch 1 (boolean): the reader has no boolean: that record is poison, named */
    const unsigned char body2[] = {0x00, 0x02, 'q', 0x02, 0x01};
    ferry_err_t err;
    assert_int_equal(ferry_resolver_read(p.rs, body2, sizeof body2, &p.v, &err), FERRY_POISON);
    assert_non_null(strstr(err.msg, "U.z"));
    assert_non_null(strstr(err.msg, "boolean"));
    pair_close(&p);
}

/* Enum symbols by name, the reader's default for a symbol it lacks; aliases of records and
 * fields. */
static void test_enums_and_aliases(void **state)
{
    (void)state;
    pair_t p;
    pair_open(&p,
              "{\"type\":\"record\",\"name\":\"Old\",\"namespace\":\"w\",\"fields\":["
              "{\"name\":\"old_name\",\"type\":\"long\"},"
              "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
              "\"symbols\":[\"A\",\"B\",\"C\"]}}]}",
              "{\"type\":\"record\",\"name\":\"New\",\"namespace\":\"r\",\"aliases\":[\"w.Old\"],"
              "\"fields\":[{\"name\":\"new_name\",\"aliases\":[\"old_name\"],\"type\":\"long\"},"
              "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
              "\"symbols\":[\"C\",\"A\"],\"default\":\"A\"}}]}");
    /* new_name = 7 (0e); e = B (index 1: 02) -> not in the reader: its default A (index 1) */
    const unsigned char body[] = {0x0e, 0x02};
    read_ok(&p, body, sizeof body);
    assert_int_equal(get_long(&p.v, "new_name"), 7);
    avro_value_t e = field(&p.v, "e");
    int sym = -1;
    avro_value_get_enum(&e, &sym);
    assert_int_equal(sym, 1);
    /* e = C (index 2: 04) -> the reader's index 0 */
    const unsigned char body2[] = {0x0e, 0x04};
    read_ok(&p, body2, sizeof body2);
    e = field(&p.v, "e");
    avro_value_get_enum(&e, &sym);
    assert_int_equal(sym, 0);
    pair_close(&p);
}

static void expect_unresolvable(const char *w, const char *r, const char *needle1,
                                const char *needle2)
{
    ferry_schema_t *ws = parse(w), *rsch = parse(r);
    ferry_resolver_t *rs = NULL;
    ferry_err_t err;
    assert_int_equal(ferry_resolver_new(ws, rsch, &rs, &err), FERRY_POISON);
    assert_null(rs);
    if (!strstr(err.msg, needle1) || !strstr(err.msg, needle2))
        fail_msg("message '%s' lacks '%s' or '%s'", err.msg, needle1, needle2);
    ferry_schema_free(ws);
    ferry_schema_free(rsch);
}

static void test_unresolvable_names_the_field(void **state)
{
    (void)state;
    expect_unresolvable(
        "{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"ts\",\"type\":\"string\"}]}",
        "{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"ts\",\"type\":\"long\"}]}",
        "T.ts", "writer type string cannot be read as long");
    expect_unresolvable(
        "{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}",
        "{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
        "{\"name\":\"must\",\"type\":\"string\"}]}",
        "T.must", "no default");
    expect_unresolvable("{\"type\":\"record\",\"name\":\"A\",\"fields\":[]}",
                        "{\"type\":\"record\",\"name\":\"B\",\"fields\":[]}", "cannot be read as",
                        "B");
    /* long -> int is not a promotion */
    expect_unresolvable(
        "{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"n\",\"type\":\"long\"}]}",
        "{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"n\",\"type\":\"int\"}]}",
        "T.n", "long cannot be read as int");
}

/* Skipped fields of every kind, and hostile bodies: truncation, forged counts, trailing. */
static void test_skip_and_bounds(void **state)
{
    (void)state;
    pair_t p;
    pair_open(
        &p,
        "{\"type\":\"record\",\"name\":\"S\",\"fields\":["
        "{\"name\":\"arr\",\"type\":{\"type\":\"array\",\"items\":\"double\"}},"
        "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"int\"}},"
        "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}},"
        "{\"name\":\"keep\",\"type\":\"int\"}]}",
        "{\"type\":\"record\",\"name\":\"S\",\"fields\":[{\"name\":\"keep\",\"type\":\"int\"}]}");
    /* arr = [1.0] (02, 8 bytes, 00); m = {"k": 1} (02, 02 'k', 02, 00); fx = 3 bytes; keep 9 */
    const unsigned char body[] = {0x02, 0,    0,   0,    0,    0,   0,   0xf0, 0x3f, 0x00,
                                  0x02, 0x02, 'k', 0x02, 0x00, 'x', 'y', 'z',  0x12};
    read_ok(&p, body, sizeof body);
    avro_value_t k = field(&p.v, "keep");
    int32_t x = 0;
    avro_value_get_int(&k, &x);
    assert_int_equal(x, 9);
    ferry_err_t err;
    for (size_t n = 0; n < sizeof body; n++) /* every truncation is poison */
        assert_int_equal(ferry_resolver_read(p.rs, body, n, &p.v, &err), FERRY_POISON);
    unsigned char trailing[sizeof body + 1];
    memcpy(trailing, body, sizeof body);
    trailing[sizeof body] = 0;
    assert_int_equal(ferry_resolver_read(p.rs, trailing, sizeof trailing, &p.v, &err),
                     FERRY_POISON);
    assert_non_null(strstr(err.msg, "trailing"));
    /* an array count of 2^62 doubles in 10 bytes */
    const unsigned char forged[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    assert_int_equal(ferry_resolver_read(p.rs, forged, sizeof forged, &p.v, &err), FERRY_POISON);
    pair_close(&p);
}

/* ferry's TelemetryReading read from an evolved writer: a field added (with a default) and a
 * defaulted field (source) removed. */
static void test_evolved_telemetry(void **state)
{
    (void)state;
    const ferry_schema_t *reader = ferry_schema_get("TelemetryReading");
    assert_non_null(reader);
    ferry_schema_t *w = parse(
        "{\"type\":\"record\",\"name\":\"TelemetryReading\",\"namespace\":\"dev.ferry.telemetry\","
        "\"fields\":[{\"name\":\"ship_id\",\"type\":\"string\"},"
        "{\"name\":\"channel_id\",\"type\":\"string\"},"
        "{\"name\":\"timestamp\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}}"
        ","
        "{\"name\":\"value\",\"type\":[\"null\",\"double\",\"long\",\"boolean\",\"string\"]},"
        "{\"name\":\"unit\",\"type\":[\"null\",\"string\"],\"default\":null},"
        "{\"name\":\"quality\",\"type\":[\"null\",\"int\"],\"default\":null}]}");
    ferry_resolver_t *rs = NULL;
    ferry_err_t err;
    if (ferry_resolver_new(w, reader, &rs, &err) != FERRY_OK)
        fail_msg("%s", err.msg);
    avro_value_t v;
    assert_int_equal(ferry_schema_new_value(reader, &v), FERRY_OK);
    /* "S1" "c" ts=1 (02) value long 7 (04 0e) unit "kn" (02 04 k n) quality int 3 (02 06) */
    const unsigned char body[] = {0x04, 'S',  '1',  0x02, 'c', 0x02, 0x04,
                                  0x0e, 0x02, 0x04, 'k',  'n', 0x02, 0x06};
    if (ferry_resolver_read(rs, body, sizeof body, &v, &err) != FERRY_OK)
        fail_msg("%s", err.msg);
    assert_string_equal(get_str(&v, "ship_id"), "S1");
    assert_string_equal(get_str(&v, "channel_id"), "c");
    assert_int_equal(get_long(&v, "timestamp"), 1);
    assert_string_equal(get_str(&v, "unit"), "kn");
    avro_value_t src = field(&v, "source");
    assert_true(ferry_avro_is_null(&src));
    avro_value_t val = field(&v, "value"), b;
    avro_value_get_current_branch(&val, &b);
    int64_t l = 0;
    avro_value_get_long(&b, &l);
    assert_int_equal(l, 7);
    /* the same body read flat, zero-copy: one slot per reader field */
    ferry_resolved_field_t f[6];
    if (ferry_resolver_read_flat(rs, body, sizeof body, f, 6, &err) != FERRY_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(f[0].type, AVRO_STRING);
    assert_int_equal(f[0].len, 2);
    assert_true(f[0].s == body + 1); /* into the input */
    assert_int_equal(f[2].type, AVRO_INT64);
    assert_int_equal(f[2].l, 1);
    assert_int_equal(f[3].branch, 2); /* value: the reader's long branch */
    assert_int_equal(f[3].l, 7);
    assert_int_equal(f[4].branch, 1);
    assert_memory_equal(f[4].s, "kn", 2);
    assert_true(f[5].is_default && json_is_null(f[5].def)); /* source: absent, default null */
    /* truncated and trailing bodies are poison here too */
    assert_int_equal(ferry_resolver_read_flat(rs, body, sizeof body - 1, f, 6, &err), FERRY_POISON);
    unsigned char longer[sizeof body + 1];
    memcpy(longer, body, sizeof body);
    longer[sizeof body] = 0;
    assert_int_equal(ferry_resolver_read_flat(rs, longer, sizeof longer, f, 6, &err), FERRY_POISON);
    avro_value_decref(&v);
    ferry_resolver_free(rs);
    ferry_schema_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_added_removed_promoted),
        cmocka_unit_test(test_promotions),
        cmocka_unit_test(test_unions),
        cmocka_unit_test(test_enums_and_aliases),
        cmocka_unit_test(test_unresolvable_names_the_field),
        cmocka_unit_test(test_skip_and_bounds),
        cmocka_unit_test(test_evolved_telemetry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
