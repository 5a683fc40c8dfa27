/* test_avro_schema.c - unit tests of the embedded schemas (include/ferry/avro.h): CRC-64-AVRO
 * fingerprints and Parsing Canonical Form (checked against the Avro project's vectors and an
 * independent Python implementation, tests/unit/avro_vectors/), the schema registry of the
 * binary, and the embedded texts being the files under schemas/. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/avro.h"
#include "unit/avro_support.h"

#include "unit/avro_vectors/expected.h"

/* ---- CRC-64-AVRO and Parsing Canonical Form ------------------------------------------- */

/* The Avro project's vectors (apache/avro share/test/data/schema-tests.txt; the fingerprints
 * there come from the Java implementation, as signed longs). 0 = no fingerprint given. */
static const struct {
    const char *input;
    const char *canonical;
    int64_t fingerprint;
} avro_vectors[] = {
    {"\"null\"", "\"null\"", INT64_C(7195948357588979594)},
    {"{\"type\":\"null\"}", "\"null\"", 0},
    {"\"boolean\"", "\"boolean\"", INT64_C(-6970731678124411036)},
    {"{\"type\":\"boolean\"}", "\"boolean\"", 0},
    {"\"int\"", "\"int\"", INT64_C(8247732601305521295)},
    {"{\"type\":\"int\"}", "\"int\"", 0},
    {"\"long\"", "\"long\"", INT64_C(-3434872931120570953)},
    {"{\"type\":\"long\"}", "\"long\"", 0},
    {"\"float\"", "\"float\"", INT64_C(5583340709985441680)},
    {"{\"type\":\"float\"}", "\"float\"", 0},
    {"\"double\"", "\"double\"", INT64_C(-8181574048448539266)},
    {"{\"type\":\"double\"}", "\"double\"", 0},
    {"\"bytes\"", "\"bytes\"", INT64_C(5746618253357095269)},
    {"{\"type\":\"bytes\"}", "\"bytes\"", 0},
    {"\"string\"", "\"string\"", INT64_C(-8142146995180207161)},
    {"{\"type\":\"string\"}", "\"string\"", 0},
    {"[  ]", "[]", INT64_C(-1241056759729112623)},
    {"[ \"int\"  ]", "[\"int\"]", INT64_C(-5232228896498058493)},
    {"[ \"int\" , {\"type\":\"boolean\"} ]", "[\"int\",\"boolean\"]", INT64_C(5392556393470105090)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\"}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", INT64_C(-4824392279771201922)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"namespace\":\"x.y\"}",
     "{\"name\":\"x.y.foo\",\"type\":\"record\",\"fields\":[]}", INT64_C(5916914534497305771)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"a.b.foo\", \"namespace\":\"x.y\"}",
     "{\"name\":\"a.b.foo\",\"type\":\"record\",\"fields\":[]}", INT64_C(-4616218487480524110)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"doc\":\"Useful info\"}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", INT64_C(-4824392279771201922)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"aliases\":[\"foo\",\"bar\"]}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", INT64_C(-4824392279771201922)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"doc\":\"foo\", "
     "\"aliases\":[\"foo\",\"bar\"]}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", INT64_C(-4824392279771201922)},
    {"{\"fields\":[{\"type\":{\"type\":\"boolean\"}, \"name\":\"f1\"}], \"type\":\"record\", "
     "\"name\":\"foo\"}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\",\"type\":\"boolean\"}]}",
     INT64_C(7843277075252814651)},
    {"{ \"fields\":[{\"type\":\"boolean\", \"aliases\":[], \"name\":\"f1\", "
     "\"default\":\"true\"},\n"
     "            {\"order\":\"descending\",\"name\":\"f2\",\"doc\":\"Hello\",\"type\":\"int\"}],\n"
     "  \"type\":\"record\", \"name\":\"foo\"\n}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\",\"type\":\"boolean\"},"
     "{\"name\":\"f2\",\"type\":\"int\"}]}",
     INT64_C(-4860222112080293046)},
    {"{\"type\":\"enum\", \"name\":\"foo\", \"symbols\":[\"A1\"]}",
     "{\"name\":\"foo\",\"type\":\"enum\",\"symbols\":[\"A1\"]}", INT64_C(-6342190197741309591)},
    {"{\"namespace\":\"x.y.z\", \"type\":\"enum\", \"name\":\"foo\", \"doc\":\"foo bar\", "
     "\"symbols\":[\"A1\", \"A2\"]}",
     "{\"name\":\"x.y.z.foo\",\"type\":\"enum\",\"symbols\":[\"A1\",\"A2\"]}",
     INT64_C(-4448647247586288245)},
    {"{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}",
     "{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}", INT64_C(1756455273707447556)},
    {"{\"namespace\":\"x.y.z\", \"type\":\"fixed\", \"name\":\"foo\", \"doc\":\"foo bar\", "
     "\"size\":32}",
     "{\"name\":\"x.y.z.foo\",\"type\":\"fixed\",\"size\":32}", INT64_C(-3064184465700546786)},
    {"{ \"items\":{\"type\":\"null\"}, \"type\":\"array\"}",
     "{\"type\":\"array\",\"items\":\"null\"}", INT64_C(-589620603366471059)},
    {"{ \"values\":\"string\", \"type\":\"map\"}", "{\"type\":\"map\",\"values\":\"string\"}",
     INT64_C(-8732877298790414990)},
    {"{\"name\":\"PigValue\",\"type\":\"record\",\n"
     " \"fields\":[{\"name\":\"value\", \"type\":[\"null\", \"int\", \"long\", \"PigValue\"]}]}",
     "{\"name\":\"PigValue\",\"type\":\"record\",\"fields\":[{\"name\":\"value\",\"type\":"
     "[\"null\",\"int\",\"long\",\"PigValue\"]}]}",
     INT64_C(-1759257747318642341)},
};

static void test_crc64_strings(void **state)
{
    (void)state;
    /* values from the independent table-driven Python implementation (fingerprints.py) */
    assert_true(ferry_avro_crc64("", 0) == UINT64_C(0xc15d213aa4d7a795));
    assert_true(ferry_avro_crc64("\"int\"", 5) == UINT64_C(8247732601305521295));
    assert_true(ferry_avro_crc64("\"null\"", 6) == UINT64_C(7195948357588979594));
    assert_true(ferry_avro_crc64("\"string\"", 8) == (uint64_t)INT64_C(-8142146995180207161));
    /* one bit of difference changes the fingerprint */
    assert_true(ferry_avro_crc64("\"inu\"", 5) != ferry_avro_crc64("\"int\"", 5));
}

static void test_canonical_form_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ITEMS(avro_vectors); i++) {
        json_t *in = parse(avro_vectors[i].input);
        ferry_buf_t pcf = FERRY_BUF_INIT;
        ferry_err_t err;
        assert_ok(ferry_schema_canonical_form(in, &pcf, &err), err);
        assert_string_equal(ferry_buf_cstr(&pcf), avro_vectors[i].canonical);
        if (avro_vectors[i].fingerprint != 0 &&
            ferry_avro_crc64(pcf.data, pcf.len) != (uint64_t)avro_vectors[i].fingerprint)
            fail_msg("vector %zu: fingerprint %" PRId64 ", want %" PRId64, i,
                     (int64_t)ferry_avro_crc64(pcf.data, pcf.len), avro_vectors[i].fingerprint);
        ferry_buf_free(&pcf);
        json_decref(in);
    }
}

static void test_canonical_form_more(void **state)
{
    (void)state;
    static const struct {
        const char *input, *canonical;
    } cases[] = {
        /* logicalType and other attributes are stripped; nested names take the enclosing
         * namespace; a later reference uses the full name; a name with dots ignores the
         * namespace attribute; "error" is written as a record */
        {"{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", "\"long\""},
        {"{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a.b\",\"doc\":\"d\",\"fields\":["
         "{\"name\":\"x\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]},"
         "\"default\":\"A\"},{\"name\":\"y\",\"type\":[\"null\",\"E\"]},"
         "{\"name\":\"z\",\"type\":{\"type\":\"fixed\",\"name\":\"c.F\",\"size\":2}},"
         "{\"name\":\"w\",\"type\":{\"type\":\"map\",\"values\":\"c.F\"}}]}",
         "{\"name\":\"a.b.R\",\"type\":\"record\",\"fields\":[{\"name\":\"x\",\"type\":{\"name\":"
         "\"a.b.E\",\"type\":\"enum\",\"symbols\":[\"A\"]}},{\"name\":\"y\",\"type\":[\"null\","
         "\"a.b.E\"]},{\"name\":\"z\",\"type\":{\"name\":\"c.F\",\"type\":\"fixed\",\"size\":2}},"
         "{\"name\":\"w\",\"type\":{\"type\":\"map\",\"values\":\"c.F\"}}]}"},
        {"{\"type\":\"error\",\"name\":\"Oops\",\"fields\":[]}",
         "{\"name\":\"Oops\",\"type\":\"record\",\"fields\":[]}"},
    };
    for (size_t i = 0; i < N_ITEMS(cases); i++) {
        json_t *in = parse(cases[i].input);
        ferry_buf_t pcf = FERRY_BUF_INIT;
        ferry_err_t err;
        assert_ok(ferry_schema_canonical_form(in, &pcf, &err), err);
        assert_string_equal(ferry_buf_cstr(&pcf), cases[i].canonical);
        ferry_buf_free(&pcf);
        json_decref(in);
    }

    static const char *bad[] = {
        "\"Undefined\"",
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"x\",\"type\":\"Nope\"}]}",
        "{\"type\":\"record\",\"fields\":[]}",
        "{\"type\":\"array\"}",
        "{\"name\":\"x\"}",
        "42",
        ("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
         "{\"type\":\"fixed\",\"name\":\"R\",\"size\":1}}]}"),
    };
    for (size_t i = 0; i < N_ITEMS(bad); i++) {
        json_t *in = parse(bad[i]);
        ferry_buf_t pcf = FERRY_BUF_INIT;
        ferry_err_t err;
        ferry_buf_append_str(&pcf, "keep");
        assert_int_equal(ferry_schema_canonical_form(in, &pcf, &err), FERRY_POISON);
        assert_true(pcf.len == 4); /* nothing appended on failure */
        ferry_buf_free(&pcf);
        json_decref(in);
    }
}

/* ---- the registry ----------------------------------------------------------------------- */

/* The source tree's schemas/ directory, found from this file's path. */
static void schemas_dir(char *buf, size_t size)
{
    const char *me = __FILE__;
    const char *tail = strstr(me, "tests/unit/test_avro_schema.c");
    if (!tail)
        fail_msg("cannot locate the source tree from %s", me);
    snprintf(buf, size, "%.*sschemas", (int)(tail - me), me);
}

static void assert_doc(const json_t *node, const char *what)
{
    const char *doc = json_string_value(json_object_get(node, "doc"));
    if (!doc || !*doc)
        fail_msg("%s has no doc", what);
}

/* Every record (including nested ones) and every field carries a doc string. */
static void check_docs(const json_t *type, const char *where)
{
    if (json_is_array(type)) {
        for (size_t i = 0; i < json_array_size(type); i++)
            check_docs(json_array_get(type, i), where);
        return;
    }
    if (!json_is_object(type))
        return;
    const char *t = json_string_value(json_object_get(type, "type"));
    if (!t)
        return;
    if (!strcmp(t, "array"))
        check_docs(json_object_get(type, "items"), where);
    if (!strcmp(t, "map"))
        check_docs(json_object_get(type, "values"), where);
    if (strcmp(t, "record") != 0)
        return;
    char what[256];
    snprintf(what, sizeof what, "%s record %s", where,
             json_string_value(json_object_get(type, "name")));
    assert_doc(type, what);
    const json_t *fields = json_object_get(type, "fields");
    assert_true(json_array_size(fields) > 0);
    for (size_t i = 0; i < json_array_size(fields); i++) {
        const json_t *f = json_array_get(fields, i);
        snprintf(what, sizeof what, "%s field %s", where,
                 json_string_value(json_object_get(f, "name")));
        assert_doc(f, what);
        check_docs(json_object_get(f, "type"), where);
    }
}

static void test_registry(void **state)
{
    (void)state;
    ferry_err_t err;
    assert_ok(ferry_schema_registry_init(&err), err);
    assert_int_equal(ferry_schema_count(), N_ITEMS(expected_schemas));
    assert_int_equal(ferry_schema_source_count, N_ITEMS(expected_schemas));
    assert_null(ferry_schema_at(ferry_schema_count()));

    for (size_t i = 0; i < N_ITEMS(expected_schemas); i++) {
        const ferry_schema_t *s = ferry_schema_get(expected_schemas[i].name);
        assert_non_null(s);
        assert_ptr_equal(s, ferry_schema_at(i)); /* sorted by file name */
        assert_string_equal(ferry_schema_name(s), expected_schemas[i].name);
        assert_ptr_equal(ferry_schema_get(ferry_schema_fullname(s)), s);
        assert_ptr_equal(ferry_schema_by_fingerprint(ferry_schema_fingerprint(s)), s);

        /* the fingerprint the independent Python implementation computed */
        assert_string_equal(ferry_schema_canonical(s), expected_schemas[i].canonical);
        if (ferry_schema_fingerprint(s) != expected_schemas[i].fingerprint)
            fail_msg("%s: fingerprint 0x%016" PRIx64 ", Python says 0x%016" PRIx64,
                     expected_schemas[i].name, ferry_schema_fingerprint(s),
                     expected_schemas[i].fingerprint);
        /* and stable: recomputing from the embedded text gives the same */
        json_t *j = parse(ferry_schema_json(s));
        ferry_buf_t pcf = FERRY_BUF_INIT;
        assert_ok(ferry_schema_canonical_form(j, &pcf, &err), err);
        assert_true(ferry_avro_crc64(pcf.data, pcf.len) == ferry_schema_fingerprint(s));
        ferry_buf_free(&pcf);

        /* namespace dev.ferry.{movies,telemetry,migration}, docs everywhere */
        const char *ns = json_string_value(json_object_get(j, "namespace"));
        assert_non_null(ns);
        assert_true(!strcmp(ns, "dev.ferry.movies") || !strcmp(ns, "dev.ferry.telemetry") ||
                    !strcmp(ns, "dev.ferry.migration"));
        char full[256];
        snprintf(full, sizeof full, "%s.%s", ns, expected_schemas[i].name);
        assert_string_equal(ferry_schema_fullname(s), full);
        check_docs(j, ferry_schema_file(s));
        json_decref(j);

        assert_non_null(ferry_schema_avro(s));
        assert_non_null(ferry_schema_iface(s));
        avro_value_t v;
        assert_ok(ferry_schema_new_value(s, &v), err);
        assert_int_equal(avro_value_get_type(&v), AVRO_RECORD);
        avro_value_decref(&v);
    }
    assert_null(ferry_schema_get("NoSuchSchema"));
    assert_null(ferry_schema_get(NULL));
    assert_null(ferry_schema_by_fingerprint(0x1234));
}

/* What the build embedded is byte for byte the .avsc files, and all of them. */
static void test_embedded_matches_files(void **state)
{
    (void)state;
    char dir[1024];
    schemas_dir(dir, sizeof dir);
    size_t on_disk = 0;
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s", dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 5 && !strcmp(e->d_name + n - 5, ".avsc"))
            on_disk++;
    }
    closedir(d);
    assert_int_equal(on_disk, ferry_schema_source_count);

    for (size_t i = 0; i < ferry_schema_source_count; i++) {
        const ferry_schema_source_t *src = &ferry_schema_sources[i];
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, src->file);
        FILE *f = fopen(path, "rb");
        if (!f)
            fail_msg("cannot open %s", path);
        static char buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        assert_int_equal(n, src->len);
        assert_memory_equal(buf, src->json, n);
        assert_int_equal(strlen(src->json), src->len);
    }
    assert_null(ferry_schema_sources[ferry_schema_source_count].file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc64_strings),
        cmocka_unit_test(test_canonical_form_vectors),
        cmocka_unit_test(test_canonical_form_more),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_embedded_matches_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
