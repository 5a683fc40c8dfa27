/* test_avro.c - unit tests of the Avro layer (include/ferry/avro.h): embedded schemas and
 * their fingerprints (checked against the Avro project's vectors and an independent Python
 * implementation, tests/unit/avro_vectors/), round trips JSON -> Avro -> wire -> Avro ->
 * JSON for every schema, and hostile wire input (every truncation, trailing bytes, bad
 * magic, unknown fingerprints, forged lengths, random mutations). */
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

#include "unit/avro_vectors/expected.h"

#define N_ITEMS(a) (sizeof(a) / sizeof((a)[0]))

#define assert_ok(expr, err)                                                                       \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != FERRY_OK)                                                                       \
            fail_msg("%s returned %d: %s", #expr, rc_, (err).msg);                                 \
    } while (0)

#define assert_contains(haystack, needle)                                                          \
    do {                                                                                           \
        if (!strstr((haystack), (needle)))                                                         \
            fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle));                      \
    } while (0)

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("bad test JSON (%s): %s", je.text, text);
    return j;
}

static void assert_json_equal(const json_t *want, const json_t *got)
{
    if (!json_equal(want, got)) {
        char *a = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        char *b = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        print_error("want %s\n got  %s\n", a, b ? b : "(null)");
        free(a);
        free(b);
        fail();
    }
}

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
    const char *tail = strstr(me, "tests/unit/test_avro.c");
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

/* ---- round trips ------------------------------------------------------------------------ */

static const struct {
    const char *schema;
    const char *json;
} samples[] = {
    /* TelemetryReading: every branch of value, nulls, non-Latin text, extremes */
    {"TelemetryReading",
     "{\"ship_id\":\"IMO9321483\",\"channel_id\":\"ME1_RPM\",\"timestamp\":1714564800000000,"
     "\"value\":87.5,\"unit\":\"rpm\",\"source\":\"simulator\"}"},
    {"TelemetryReading",
     "{\"ship_id\":\"S1\",\"channel_id\":\"counter\",\"timestamp\":0,\"value\":42,"
     "\"unit\":null,\"source\":null}"},
    {"TelemetryReading",
     "{\"ship_id\":\"S1\",\"channel_id\":\"door_open\",\"timestamp\":-1,\"value\":true,"
     "\"unit\":null,\"source\":null}"},
    {"TelemetryReading", "{\"ship_id\":\"선박-한국-01\",\"channel_id\":\"警報\",\"timestamp\":1,"
                         "\"value\":\"ALARM: 과열 🔥 \\\"hot\\\" \\\\ \\u0000 end\",\"unit\":\"°C\","
                         "\"source\":\"csv:엔진.csv\"}"},
    {"TelemetryReading",
     "{\"ship_id\":\"S2\",\"channel_id\":\"c\",\"timestamp\":9223372036854775807,"
     "\"value\":null,\"unit\":null,\"source\":null}"},
    {"TelemetryReading",
     "{\"ship_id\":\"S2\",\"channel_id\":\"c\",\"timestamp\":-9223372036854775808,"
     "\"value\":-9223372036854775808,\"unit\":\"\",\"source\":\"\"}"},
    {"TelemetryReading",
     "{\"ship_id\":\"S2\",\"channel_id\":\"c\",\"timestamp\":5,\"value\":5.0,\"unit\":null,"
     "\"source\":null}"},
    {"TelemetryReading",
     "{\"ship_id\":\"S2\",\"channel_id\":\"c\",\"timestamp\":5,\"value\":{\"double\":\"NaN\"},"
     "\"unit\":null,\"source\":null}"},
    {"TelemetryReading", "{\"ship_id\":\"S2\",\"channel_id\":\"c\",\"timestamp\":5,"
                         "\"value\":{\"double\":\"-Infinity\"},\"unit\":null,\"source\":null}"},
    {"TelemetryReading",
     "{\"ship_id\":\"S2\",\"channel_id\":\"c\",\"timestamp\":5,\"value\":-1.25e-300,"
     "\"unit\":null,\"source\":null}"},
    {"TelemetryReading", "{\"ship_id\":\"S2\",\"channel_id\":\"c\",\"timestamp\":5,\"value\":false,"
                         "\"unit\":null,\"source\":null}"},
    /* MovieCrawled: a real list item with its verbatim JSON, and a sparse one */
    {"MovieCrawled",
     "{\"id\":634649,\"title\":\"스파이더맨: 노 웨이 홈\",\"original_title\":\"Spider-Man: No Way "
     "Home\",\"original_language\":\"en\",\"overview\":\"Peter Parker is unmasked and no longer "
     "able to separate his normal life from the high-stakes of being a super-hero.\","
     "\"release_date\":\"2021-12-15\",\"popularity\":17656.865,\"vote_average\":8.4,"
     "\"vote_count\":6786,\"adult\":false,\"video\":false,\"genre_ids\":[28,12,878],"
     "\"poster_path\":\"/1g0dhYtq4irTY1GPXvft6k4YLjm.jpg\",\"backdrop_path\":"
     "\"/iQFcwSGbZXMkeyKrxbPnwnRo5fl.jpg\",\"details_json\":\"{\\\"id\\\":634649,"
     "\\\"runtime\\\":148,\\\"tagline\\\":\\\"The Multiverse unleashed.\\\"}\","
     "\"raw_json\":\"{\\\"adult\\\":false,\\\"backdrop_path\\\":\\\"\\\\/"
     "iQFcwSGbZXMkeyKrxbPnwnRo5fl."
     "jpg\\\",\\\"id\\\":634649}\",\"job_id\":\"crawl-2022-02-01\",\"endpoint\":\"/3/movie/"
     "popular\","
     "\"page\":1,\"fetched_at\":1643673600123456,\"language\":\"ko-KR\",\"region\":\"KR\"}"},
    {"MovieCrawled",
     "{\"id\":1,\"title\":\"千と千尋の神隠し\",\"original_title\":\"千と千尋の神隠し\","
     "\"original_language\":\"ja\",\"overview\":\"\",\"release_date\":\"\",\"popularity\":0.0,"
     "\"vote_average\":0.0,\"vote_count\":0,\"adult\":true,\"video\":true,\"genre_ids\":[],"
     "\"poster_path\":null,\"backdrop_path\":null,\"details_json\":null,\"raw_json\":\"{}\","
     "\"job_id\":\"j\",\"endpoint\":\"/3/discover/movie\",\"page\":500,\"fetched_at\":0,"
     "\"language\":null,\"region\":null}"},
    /* WatchLogFeature: with and without the source coordinate */
    {"WatchLogFeature",
     "{\"user_id\":123456789,\"content_id\":634649,\"watch_seconds\":5400,\"rating\":4.5,"
     "\"popularity\":17656.865,\"event_time\":1643673600000000,\"derivation_version\":1,"
     "\"source\":{\"topic\":\"movies.crawled\",\"partition\":3,\"offset\":9876543210}}"},
    {"WatchLogFeature",
     "{\"user_id\":-1,\"content_id\":0,\"watch_seconds\":-2147483648,\"rating\":0.0,"
     "\"popularity\":1e-3,\"event_time\":0,\"derivation_version\":2147483647,\"source\":null}"},
    /* BackfillChunk */
    {"BackfillChunk",
     "{\"chunk_id\":\"SHIP-7/2024-05-01\",\"ship_id\":\"SHIP-7\",\"start_ts\":1714521600000000,"
     "\"end_ts\":1714608000000000,\"planned_at\":1714600000000000,\"attempt\":3,"
     "\"narrow_table\":\"legacy.sensor_readings\"}"},
    /* RetrainRequested: a watermark over three partitions, drift metrics or none */
    {"RetrainRequested",
     "{\"trigger_id\":\"retrain-000042\",\"reason\":\"min_new_rows\",\"new_rows\":50000,"
     "\"total_rows\":1250000,\"watermark\":[{\"topic\":\"movies.features\",\"partition\":0,"
     "\"offset\":100},{\"topic\":\"movies.features\",\"partition\":1,\"offset\":0},"
     "{\"topic\":\"movies.features\",\"partition\":2,\"offset\":9223372036854775807}],"
     "\"created_at\":1714600000000000,\"policy\":\"{\\\"min_new_rows\\\":50000}\","
     "\"drift_score\":null,\"drift_threshold\":null}"},
    {"RetrainRequested",
     "{\"trigger_id\":\"t\",\"reason\":\"drift\",\"new_rows\":0,\"total_rows\":0,"
     "\"watermark\":[],\"created_at\":0,\"policy\":\"{}\",\"drift_score\":0.31,"
     "\"drift_threshold\":0.25}"},
};

/* Encodes sample i into *msg (single-object encoding). */
static const ferry_schema_t *encode_sample(size_t i, ferry_buf_t *msg)
{
    const ferry_schema_t *s = ferry_schema_get(samples[i].schema);
    assert_non_null(s);
    json_t *in = parse(samples[i].json);
    ferry_err_t err;
    assert_ok(ferry_avro_encode_json(s, in, msg, &err), err);
    json_decref(in);
    return s;
}

static void test_round_trip(void **state)
{
    (void)state;
    avro_value_t reused[N_ITEMS(expected_schemas)];
    memset(reused, 0, sizeof reused);

    for (size_t i = 0; i < N_ITEMS(samples); i++) {
        const ferry_schema_t *s = ferry_schema_get(samples[i].schema);
        assert_non_null(s);
        json_t *in = parse(samples[i].json);
        ferry_err_t err;
        avro_value_t v;
        assert_ok(ferry_avro_from_json(s, in, &v, &err), err);

        ferry_buf_t msg = FERRY_BUF_INIT;
        ferry_buf_append_str(&msg, "xyz"); /* encode appends */
        assert_ok(ferry_avro_encode(s, &v, &msg, &err), err);
        assert_memory_equal(msg.data, "xyz", 3);
        const unsigned char *m = msg.data + 3;
        size_t len = msg.len - 3;
        assert_true(len > FERRY_AVRO_HEADER_LEN);
        assert_int_equal(m[0], 0xC3);
        assert_int_equal(m[1], 0x01);
        uint64_t fp = 0;
        for (int k = 0; k < 8; k++)
            fp |= (uint64_t)m[2 + k] << (8 * k); /* little-endian */
        assert_true(fp == ferry_schema_fingerprint(s));

        const ferry_schema_t *ds = NULL;
        avro_value_t dv;
        assert_ok(ferry_avro_decode(m, len, &ds, &dv, &err), err);
        assert_ptr_equal(ds, s);
        json_t *out = ferry_avro_to_json(&dv);
        assert_json_equal(in, out);

        /* re-encoding the decoded value gives the same bytes */
        ferry_buf_t again = FERRY_BUF_INIT;
        assert_ok(ferry_avro_encode(s, &dv, &again, &err), err);
        assert_int_equal(again.len, len);
        assert_memory_equal(again.data, m, len);

        /* decode_into reuses one value per schema across messages of every shape */
        size_t si = 0;
        while (ferry_schema_at(si) != s)
            si++;
        if (!reused[si].iface)
            assert_ok(ferry_schema_new_value(s, &reused[si]), err);
        assert_ok(ferry_avro_decode_into(s, m, len, &reused[si], &err), err);
        json_t *out2 = ferry_avro_to_json(&reused[si]);
        assert_json_equal(in, out2);

        /* and the CLI convenience */
        json_t *out3 = ferry_avro_decode_json(m, len, NULL, &err);
        assert_json_equal(in, out3);

        json_decref(out3);
        json_decref(out2);
        ferry_buf_free(&again);
        json_decref(out);
        avro_value_decref(&dv);
        avro_value_decref(&v);
        ferry_buf_free(&msg);
        json_decref(in);
    }
    for (size_t i = 0; i < N_ITEMS(reused); i++)
        if (reused[i].iface)
            avro_value_decref(&reused[i]);
}

/* The body bytes of a small record, worked out by hand from the Avro spec. */
static void test_known_encoding(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const unsigned char body[24];
        size_t len;
    } cases[] = {
        {"{\"ship_id\":\"S1\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":null}",
         {0x04, 'S', '1', 0x02, 'c', 0x02, 0x00, 0x00, 0x00},
         9},
        {"{\"ship_id\":\"\",\"channel_id\":\"\",\"timestamp\":-1,\"value\":42,\"unit\":\"m\"}",
         {0x00, 0x00, 0x01, 0x04, 0x54, 0x02, 0x02, 'm', 0x00},
         9},
        {"{\"ship_id\":\"\",\"channel_id\":\"\",\"timestamp\":-65,\"value\":1.5}",
         {0x00, 0x00, 0x81, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x00, 0x00},
         15},
        {"{\"ship_id\":\"\",\"channel_id\":\"\",\"timestamp\":64,\"value\":true,\"source\":\"é\"}",
         {0x00, 0x00, 0x80, 0x01, 0x06, 0x01, 0x00, 0x02, 0x04, 0xC3, 0xA9},
         11},
    };
    const ferry_schema_t *s = ferry_schema_get("TelemetryReading");
    for (size_t i = 0; i < N_ITEMS(cases); i++) {
        json_t *in = parse(cases[i].json);
        ferry_err_t err;
        avro_value_t v;
        assert_ok(ferry_avro_from_json(s, in, &v, &err), err);
        ferry_buf_t body = FERRY_BUF_INIT;
        assert_ok(ferry_avro_write_body(&v, &body, &err), err);
        assert_int_equal(body.len, cases[i].len);
        assert_memory_equal(body.data, cases[i].body, cases[i].len);

        avro_value_t back;
        assert_ok(ferry_schema_new_value(s, &back), err);
        assert_ok(ferry_avro_read_body(body.data, body.len, &back, &err), err);
        assert_true(avro_value_equal(&v, &back));
        avro_value_decref(&back);
        ferry_buf_free(&body);
        avro_value_decref(&v);
        json_decref(in);
    }
}

/* ---- hostile wire input ----------------------------------------------------------------- */

static void expect_poison(const void *data, size_t len, const char *needle)
{
    ferry_err_t err;
    const ferry_schema_t *s = (const ferry_schema_t *)1;
    avro_value_t v = {(avro_value_iface_t *)1, (void *)1};
    int rc = ferry_avro_decode(data, len, &s, &v, &err);
    if (rc != FERRY_POISON)
        fail_msg("decode of %zu bytes returned %d, want poison (%s)", len, rc, needle);
    assert_null(v.iface);
    assert_null(v.self);
    if (needle)
        assert_contains(err.msg, needle);
}

static void test_every_truncation(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ITEMS(samples); i++) {
        ferry_buf_t msg = FERRY_BUF_INIT;
        encode_sample(i, &msg);
        for (size_t n = 0; n < msg.len; n++) {
            /* an exact-size heap copy, so ASan sees any read past the end */
            unsigned char *copy = malloc(n ? n : 1);
            memcpy(copy, msg.data, n);
            expect_poison(copy, n,
                          n < FERRY_AVRO_HEADER_LEN ? "not Avro single-object encoding"
                                                    : "truncated");
            free(copy);
        }
        ferry_buf_free(&msg);
    }
}

static void test_trailing_bytes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ITEMS(samples); i++) {
        ferry_buf_t msg = FERRY_BUF_INIT;
        encode_sample(i, &msg);
        ferry_buf_append_byte(&msg, 0);
        expect_poison(msg.data, msg.len, "1 trailing bytes");
        ferry_buf_append_str(&msg, "more");
        expect_poison(msg.data, msg.len, "5 trailing bytes");
        ferry_buf_free(&msg);
    }
}

static void test_bad_header(void **state)
{
    (void)state;
    ferry_buf_t msg = FERRY_BUF_INIT;
    encode_sample(0, &msg);

    expect_poison(NULL, 0, "not Avro single-object encoding");
    expect_poison("{\"ship_id\":\"S1\"}", 16, "not Avro single-object encoding");
    msg.data[1] = 0x02;
    expect_poison(msg.data, msg.len, "not Avro single-object encoding");
    msg.data[1] = 0x01;
    msg.data[0] = 0x00; /* a Confluent-framed message starts with 0 */
    expect_poison(msg.data, msg.len, "not Avro single-object encoding");
    msg.data[0] = 0xC3;

    unsigned char saved[8];
    memcpy(saved, msg.data + 2, 8);
    memset(msg.data + 2, 0x11, 8);
    expect_poison(msg.data, msg.len, "unknown schema fingerprint 0x1111111111111111");
    memcpy(msg.data + 2, saved, 8);

    /* big-endian fingerprint is not ours */
    for (int k = 0; k < 8; k++)
        msg.data[2 + k] = saved[7 - k];
    expect_poison(msg.data, msg.len, "unknown schema fingerprint");
    memcpy(msg.data + 2, saved, 8);

    /* decode_into insists on its own schema */
    const ferry_schema_t *other = ferry_schema_get("BackfillChunk");
    avro_value_t v;
    ferry_err_t err;
    assert_ok(ferry_schema_new_value(other, &v), err);
    assert_int_equal(ferry_avro_decode_into(other, msg.data, msg.len, &v, &err), FERRY_POISON);
    assert_contains(err.msg, "TelemetryReading");
    assert_int_equal(ferry_avro_decode_into(other, msg.data, 3, &v, &err), FERRY_POISON);
    avro_value_decref(&v);

    uint64_t fp = 0;
    assert_ok(ferry_avro_peek(msg.data, msg.len, &fp, &err), err);
    assert_true(fp == ferry_schema_fingerprint(ferry_schema_get("TelemetryReading")));
    ferry_buf_free(&msg);
}

/* A message of `schema` with a hand-made body. */
static void forge(const char *schema, const unsigned char *body, size_t len, ferry_buf_t *out)
{
    uint64_t fp = ferry_schema_fingerprint(ferry_schema_get(schema));
    ferry_buf_reset(out);
    ferry_buf_append_byte(out, 0xC3);
    ferry_buf_append_byte(out, 0x01);
    for (int k = 0; k < 8; k++)
        ferry_buf_append_byte(out, (unsigned char)(fp >> (8 * k)));
    ferry_buf_append(out, body, len);
}

static void test_forged_bodies(void **state)
{
    (void)state;
    static const struct {
        const char *schema;
        unsigned char body[24];
        size_t len;
        const char *needle;
    } cases[] = {
        /* a string length of ~2^62: must not allocate, must not read */
        {"TelemetryReading",
         {0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F},
         9,
         "TelemetryReading.ship_id: truncated"},
        {"TelemetryReading", {0x01}, 1, "negative length"},
        {"TelemetryReading",
         {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01},
         11,
         "varint longer than 64 bits"},
        {"TelemetryReading",
         {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02},
         10,
         "varint longer than 64 bits"},
        {"TelemetryReading", {0x04, 0xC3, 0x28}, 3, "not valid UTF-8"},
        {"TelemetryReading", {0x04, 0xED, 0xA0, 0x80}, 4, "not valid UTF-8"}, /* surrogate */
        {"TelemetryReading", {0x06, 0xC0, 0x80, 'a'}, 4, "not valid UTF-8"},  /* overlong NUL */
        {"TelemetryReading",
         {0x00, 0x00, 0x00, 0x0A},
         4,
         "TelemetryReading.value: union branch index out of range"},
        {"TelemetryReading", {0x00, 0x00, 0x00, 0x01}, 4, "union branch index out of range"},
        {"TelemetryReading", {0x00, 0x00, 0x00, 0x06, 0x02}, 5, "boolean is neither 0 nor 1"},
        {"TelemetryReading", {0x00, 0x00, 0x00, 0x02, 0x00, 0x00}, 6, "truncated"},
        {"WatchLogFeature",
         {0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10},
         7,
         "WatchLogFeature.watch_seconds: int out of range"},
        /* watermark: 2^40 items in a few bytes */
        {"RetrainRequested",
         {0x00, 0x00, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40},
         10,
         "RetrainRequested.watermark: truncated: item count larger than the data"},
        /* a block with a byte size larger than what is left */
        {"RetrainRequested", {0x00, 0x00, 0x00, 0x00, 0x01, 0x7E}, 6, "bad block size"},
        {"RetrainRequested",
         {0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 't', 0x00},
         8,
         "RetrainRequested.watermark[0].offset: truncated"},
        {"MovieCrawled", {0x02}, 1, "MovieCrawled.title: truncated"},
    };
    ferry_buf_t msg = FERRY_BUF_INIT;
    for (size_t i = 0; i < N_ITEMS(cases); i++) {
        forge(cases[i].schema, cases[i].body, cases[i].len, &msg);
        expect_poison(msg.data, msg.len, cases[i].needle);
    }

    /* a negative block count with a valid size is fine: [{"t",0,0}] then end */
    static const unsigned char ok_block[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 't', 0x00,
                                             0x00, 0x00, 0x00, 0x04, '{',  '}',  0x00, 0x00};
    forge("RetrainRequested", ok_block, sizeof ok_block, &msg);
    ferry_err_t err;
    json_t *j = ferry_avro_decode_json(msg.data, msg.len, NULL, &err);
    if (!j)
        fail_msg("%s", err.msg);
    json_t *want = parse("{\"trigger_id\":\"\",\"reason\":\"\",\"new_rows\":0,\"total_rows\":0,"
                         "\"watermark\":[{\"topic\":\"t\",\"partition\":0,\"offset\":0}],"
                         "\"created_at\":0,\"policy\":\"{}\",\"drift_score\":null,"
                         "\"drift_threshold\":null}");
    assert_json_equal(want, j);
    json_decref(want);
    json_decref(j);
    ferry_buf_free(&msg);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random damage to valid messages and random bodies: only OK or POISON, never a crash, and
 * whatever decodes also converts to JSON and re-encodes. */
static void test_mutations(void **state)
{
    (void)state;
    ferry_err_t err;
    size_t decoded = 0, rejected = 0;
    for (size_t i = 0; i < N_ITEMS(samples); i++) {
        ferry_buf_t msg = FERRY_BUF_INIT;
        const ferry_schema_t *s = encode_sample(i, &msg);
        for (int round = 0; round < 3000; round++) {
            size_t len = msg.len;
            if (round % 5 == 0)
                len = FERRY_AVRO_HEADER_LEN + rng() % (msg.len - FERRY_AVRO_HEADER_LEN + 1);
            unsigned char *m = malloc(len);
            memcpy(m, msg.data, len);
            if (round % 7 == 0 && len > FERRY_AVRO_HEADER_LEN) { /* random body */
                for (size_t k = FERRY_AVRO_HEADER_LEN; k < len; k++)
                    m[k] = (unsigned char)rng();
            } else {
                int flips = 1 + (int)(rng() % 3);
                for (int f = 0; f < flips && len > FERRY_AVRO_HEADER_LEN; f++)
                    m[FERRY_AVRO_HEADER_LEN + rng() % (len - FERRY_AVRO_HEADER_LEN)] =
                        (unsigned char)rng();
            }
            avro_value_t v;
            int rc = ferry_avro_decode(m, len, NULL, &v, &err);
            if (rc == FERRY_OK) {
                decoded++;
                json_t *j = ferry_avro_to_json_err(&v, &err);
                if (!j)
                    fail_msg("decoded but no JSON: %s", err.msg);
                ferry_buf_t again = FERRY_BUF_INIT;
                assert_ok(ferry_avro_encode(s, &v, &again, &err), err);
                json_decref(j);
                ferry_buf_free(&again);
                avro_value_decref(&v);
            } else {
                if (rc != FERRY_POISON)
                    fail_msg("mutation returned %d: %s", rc, err.msg);
                assert_null(v.self);
                rejected++;
            }
            free(m);
        }
        ferry_buf_free(&msg);
    }
    assert_true(decoded > 0);
    assert_true(rejected > 0);
}

/* ---- JSON ------------------------------------------------------------------------------- */

static void expect_json_error(const char *schema, const char *json, const char *needle)
{
    const ferry_schema_t *s = ferry_schema_get(schema);
    json_t *in = parse(json);
    ferry_err_t err;
    avro_value_t v = {(avro_value_iface_t *)1, (void *)1};
    int rc = ferry_avro_from_json(s, in, &v, &err);
    if (rc != FERRY_POISON)
        fail_msg("from_json(%s) returned %d, want poison", json, rc);
    assert_null(v.iface);
    assert_contains(err.msg, needle);
    ferry_buf_t out = FERRY_BUF_INIT;
    assert_int_equal(ferry_avro_encode_json(s, in, &out, &err), FERRY_POISON);
    assert_int_equal(out.len, 0);
    ferry_buf_free(&out);
    json_decref(in);
}

static void test_json_errors(void **state)
{
    (void)state;
    expect_json_error("TelemetryReading", "{}", "missing required field TelemetryReading.ship_id");
    expect_json_error("TelemetryReading",
                      "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1}",
                      "missing required field TelemetryReading.value");
    expect_json_error("TelemetryReading",
                      "{\"ship_id\":5,\"channel_id\":\"c\",\"timestamp\":1,\"value\":1}",
                      "TelemetryReading.ship_id: expected a string, got an integer");
    expect_json_error("TelemetryReading",
                      "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":\"yesterday\","
                      "\"value\":1}",
                      "TelemetryReading.timestamp: \"yesterday\" is not an RFC 3339 timestamp");
    expect_json_error("TelemetryReading",
                      "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":true,\"value\":1}",
                      "TelemetryReading.timestamp: expected a long or an RFC 3339 timestamp "
                      "string, got a boolean");
    expect_json_error("TelemetryReading",
                      "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1.5,\"value\":1}",
                      "TelemetryReading.timestamp: expected a long");
    expect_json_error(
        "TelemetryReading",
        "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":{\"x\":1}}",
        "TelemetryReading.value: no union branch of "
        "[null,double,long,boolean,string] takes an object");
    expect_json_error("TelemetryReading",
                      "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":[1]}",
                      "TelemetryReading.value: no union branch");
    expect_json_error("TelemetryReading",
                      "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,"
                      "\"value\":{\"long\":\"x\"}}",
                      "TelemetryReading.value: expected a long");
    expect_json_error("TelemetryReading",
                      "{\"shipid\":\"S\",\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,"
                      "\"value\":1}",
                      "TelemetryReading: unknown field \"shipid\"");
    expect_json_error("TelemetryReading", "[]",
                      "TelemetryReading: expected an object, got an array");
    expect_json_error("RetrainRequested",
                      "{\"trigger_id\":\"t\",\"reason\":\"drift\",\"new_rows\":0,\"total_rows\":0,"
                      "\"watermark\":[{\"topic\":\"a\",\"partition\":0,\"offset\":1},"
                      "{\"topic\":\"a\",\"partition\":\"1\",\"offset\":1}],\"created_at\":0,"
                      "\"policy\":\"{}\"}",
                      "RetrainRequested.watermark[1].partition: expected an int, got a string");
    expect_json_error("WatchLogFeature",
                      "{\"user_id\":1,\"content_id\":2,\"watch_seconds\":4294967296,\"rating\":1,"
                      "\"popularity\":1,\"event_time\":0,\"derivation_version\":1}",
                      "WatchLogFeature.watch_seconds: 4294967296 is out of int range");
    expect_json_error(
        "WatchLogFeature",
        "{\"user_id\":1,\"content_id\":2,\"watch_seconds\":1,\"rating\":1,"
        "\"popularity\":1,\"event_time\":0,\"derivation_version\":1,\"source\":"
        "{\"dev.ferry.movies.TopicPartitionOffset\":{\"topic\":\"t\",\"partition\":0}}}",
        "missing required field WatchLogFeature.source.offset");
    expect_json_error("MovieCrawled", "{\"id\":1,\"genre_ids\":[1,\"x\"]}",
                      "missing required field MovieCrawled.title");
    expect_json_error("BackfillChunk",
                      "{\"chunk_id\":\"c\",\"ship_id\":\"s\",\"start_ts\":\"2024-02-30T00:00:00Z\","
                      "\"end_ts\":0,\"planned_at\":0,\"narrow_table\":\"t\"}",
                      "BackfillChunk.start_ts: \"2024-02-30T00:00:00Z\" is not an RFC 3339");

    const ferry_schema_t *s = ferry_schema_get("TelemetryReading");
    ferry_err_t err;
    avro_value_t v;
    assert_int_equal(ferry_avro_from_json(s, NULL, &v, &err), FERRY_POISON);
}

static void expect_converts(const char *schema, const char *json, const char *want_json)
{
    const ferry_schema_t *s = ferry_schema_get(schema);
    json_t *in = parse(json);
    json_t *want = parse(want_json);
    ferry_err_t err;
    avro_value_t v;
    assert_ok(ferry_avro_from_json(s, in, &v, &err), err);
    json_t *out = ferry_avro_to_json(&v);
    assert_json_equal(want, out);
    json_decref(out);
    avro_value_decref(&v);
    json_decref(want);
    json_decref(in);
}

static void test_json_conveniences(void **state)
{
    (void)state;
    /* defaults fill missing optional fields */
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":2}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":2,"
                    "\"unit\":null,\"source\":null}");
    expect_converts("BackfillChunk",
                    "{\"chunk_id\":\"c\",\"ship_id\":\"s\",\"start_ts\":0,\"end_ts\":1,"
                    "\"planned_at\":0,\"narrow_table\":\"t\"}",
                    "{\"chunk_id\":\"c\",\"ship_id\":\"s\",\"start_ts\":0,\"end_ts\":1,"
                    "\"planned_at\":0,\"attempt\":0,\"narrow_table\":\"t\"}");
    /* Avro's JSON encoding of unions is accepted; output is natural again */
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,"
                    "\"value\":{\"long\":5},\"unit\":{\"string\":\"m\"}}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":5,"
                    "\"unit\":\"m\",\"source\":null}");
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,"
                    "\"value\":{\"double\":3}}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":3.0,"
                    "\"unit\":null,\"source\":null}");
    /* the string "NaN" is a string; a NaN double comes back wrapped */
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":\"NaN\"}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1,\"value\":\"NaN\","
                    "\"unit\":null,\"source\":null}");
    /* RFC 3339 for timestamp fields, an integral real for a long */
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":"
                    "\"2024-05-01T12:00:00.5Z\",\"value\":null}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1714564800500000,"
                    "\"value\":null,\"unit\":null,\"source\":null}");
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":"
                    "\"2024-05-01T21:00:00+09:00\",\"value\":null}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1714564800000000,"
                    "\"value\":null,\"unit\":null,\"source\":null}");
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":"
                    "\"1969-12-31T23:59:59.999999Z\",\"value\":null}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":-1,"
                    "\"value\":null,\"unit\":null,\"source\":null}");
    expect_converts("TelemetryReading",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1e6,\"value\":null}",
                    "{\"ship_id\":\"S\",\"channel_id\":\"c\",\"timestamp\":1000000,"
                    "\"value\":null,\"unit\":null,\"source\":null}");
    /* a named branch by its full name */
    expect_converts("WatchLogFeature",
                    "{\"user_id\":1,\"content_id\":2,\"watch_seconds\":3,\"rating\":4,"
                    "\"popularity\":5,\"event_time\":6,\"derivation_version\":7,\"source\":"
                    "{\"dev.ferry.movies.TopicPartitionOffset\":{\"topic\":\"t\",\"partition\":0,"
                    "\"offset\":9}}}",
                    "{\"user_id\":1,\"content_id\":2,\"watch_seconds\":3,\"rating\":4.0,"
                    "\"popularity\":5.0,\"event_time\":6,\"derivation_version\":7,\"source\":"
                    "{\"topic\":\"t\",\"partition\":0,\"offset\":9}}");
}

/* Types the ferry schemas don't use (yet): float, bytes, fixed, enum, map, recursion. */
static const char kitchen_schema[] =
    "{\"type\":\"record\",\"name\":\"Kitchen\",\"namespace\":\"t.sink\",\"fields\":["
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"b\",\"type\":\"bytes\"},"
    "{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"Four\",\"size\":4}},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"Color\",\"symbols\":[\"RED\","
    "\"GREEN\"]}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"int\"}},"
    "{\"name\":\"u\",\"type\":[\"null\",\"int\",\"long\",\"float\",\"double\",\"Color\","
    "\"Four\",\"bytes\"]},"
    "{\"name\":\"n\",\"type\":{\"type\":\"array\",\"items\":\"null\"}},"
    "{\"name\":\"d\",\"type\":\"string\",\"default\":\"dflt\"},"
    "{\"name\":\"next\",\"type\":[\"null\",\"Kitchen\"],\"default\":null}]}";

static void test_other_types(void **state)
{
    (void)state;
    ferry_schema_t *s = NULL;
    ferry_err_t err;
    assert_ok(ferry_schema_parse(kitchen_schema, strlen(kitchen_schema), &s, &err), err);
    assert_string_equal(ferry_schema_name(s), "Kitchen");
    assert_string_equal(ferry_schema_fullname(s), "t.sink.Kitchen");
    assert_null(ferry_schema_file(s));
    assert_null(ferry_schema_by_fingerprint(ferry_schema_fingerprint(s))); /* not registered */

    static const char *docs[] = {
        "{\"f\":1.5,\"b\":\"\\u0000\\u00ff\\u0080A\",\"x\":\"abcd\",\"e\":\"GREEN\","
        "\"m\":{\"k1\":1,\"키\":-2},\"u\":7,\"n\":[null,null],\"d\":\"x\",\"next\":{\"f\":-0.25,"
        "\"b\":\"\",\"x\":\"\\u0000\\u0001\\u00fe\\u00ff\",\"e\":\"RED\",\"m\":{},\"u\":null,"
        "\"n\":[],\"d\":\"\",\"next\":null}}",
        "{\"f\":\"Infinity\",\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":{\"long\":7},"
        "\"n\":[],\"d\":\"\",\"next\":null}",
        "{\"f\":0.0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":\"GREEN\",\"n\":[],"
        "\"d\":\"\",\"next\":null}",
        "{\"f\":0.0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":\"wxyz\",\"n\":[],"
        "\"d\":\"\",\"next\":null}",
        "{\"f\":0.0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":\"ab\\u00e9\",\"n\":[],"
        "\"d\":\"\",\"next\":null}",
        "{\"f\":0.0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":1.5,\"n\":[],"
        "\"d\":\"\",\"next\":null}",
        "{\"f\":0.0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":{\"double\":1.5},"
        "\"n\":[],\"d\":\"\",\"next\":null}",
        "{\"f\":0.0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":{\"bytes\":\"abcd\"},"
        "\"n\":[],\"d\":\"\",\"next\":null}",
    };
    for (size_t i = 0; i < N_ITEMS(docs); i++) {
        json_t *in = parse(docs[i]);
        avro_value_t v, back;
        assert_ok(ferry_avro_from_json(s, in, &v, &err), err);
        ferry_buf_t msg = FERRY_BUF_INIT;
        assert_ok(ferry_avro_encode(s, &v, &msg, &err), err);
        assert_ok(ferry_schema_new_value(s, &back), err);
        assert_ok(ferry_avro_decode_into(s, msg.data, msg.len, &back, &err), err);
        json_t *out = ferry_avro_to_json(&back);
        assert_json_equal(in, out);
        for (size_t n = 0; n < msg.len; n++)
            assert_int_equal(ferry_avro_decode_into(s, msg.data, n, &back, &err), FERRY_POISON);
        json_decref(out);
        avro_value_decref(&back);
        avro_value_decref(&v);
        ferry_buf_free(&msg);
        json_decref(in);
    }

    /* a default that is not null: "d" missing takes "dflt" */
    json_t *in = parse("{\"f\":0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":null,"
                       "\"n\":[]}");
    avro_value_t v;
    assert_ok(ferry_avro_from_json(s, in, &v, &err), err);
    avro_value_t d;
    const char *str;
    size_t len;
    assert_ok(ferry_avro_field(&v, "d", &d, &err), err);
    assert_ok(ferry_avro_get_string(&d, &str, &len), err);
    assert_string_equal(str, "dflt");
    assert_int_equal(len, 4);
    avro_value_decref(&v);
    json_decref(in);

    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"f\":1e300,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":null,\"n\":[]}",
         "Kitchen.f: 1e+300 is out of float range"},
        {"{\"f\":0,\"b\":\"\\u0100\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":null,\"n\":[]}",
         "Kitchen.b: bytes string has a character above U+00FF"},
        {"{\"f\":0,\"b\":\"\",\"x\":\"abc\",\"e\":\"RED\",\"m\":{},\"u\":null,\"n\":[]}",
         "Kitchen.x: fixed needs 4 bytes, got 3"},
        {"{\"f\":0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"BLUE\",\"m\":{},\"u\":null,\"n\":[]}",
         "Kitchen.e: \"BLUE\" is not a symbol of Color"},
        {"{\"f\":0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{\"k\":\"v\"},\"u\":null,"
         "\"n\":[]}",
         "Kitchen.m[\"k\"]: expected an int, got a string"},
        {"{\"f\":0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":true,\"n\":[]}",
         "Kitchen.u: no union branch of [null,int,long,float,double,t.sink.Color,t.sink.Four,"
         "bytes] takes a boolean"},
        {"{\"f\":0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":null,\"n\":[],"
         "\"next\":{\"f\":0,\"b\":\"\",\"x\":\"abcd\",\"e\":\"RED\",\"m\":{},\"u\":null,"
         "\"n\":[1]}}",
         "Kitchen.next.n[0]: expected null, got an integer"},
    };
    for (size_t i = 0; i < N_ITEMS(bad); i++) {
        json_t *j = parse(bad[i].json);
        assert_int_equal(ferry_avro_from_json(s, j, &v, &err), FERRY_POISON);
        assert_contains(err.msg, bad[i].needle);
        json_decref(j);
    }

    /* forged map and enum bodies */
    ferry_buf_t msg = FERRY_BUF_INIT;
    static const unsigned char bad_enum[] = {0, 0, 0, 0, 0, 'a', 'b', 'c', 'd', 0x04};
    ferry_buf_append_byte(&msg, 0xC3);
    ferry_buf_append_byte(&msg, 0x01);
    for (int k = 0; k < 8; k++)
        ferry_buf_append_byte(&msg, (unsigned char)(ferry_schema_fingerprint(s) >> (8 * k)));
    ferry_buf_append(&msg, bad_enum, sizeof bad_enum);
    assert_ok(ferry_schema_new_value(s, &v), err);
    assert_int_equal(ferry_avro_decode_into(s, msg.data, msg.len, &v, &err), FERRY_POISON);
    assert_contains(err.msg, "Kitchen.e: enum index out of range");
    avro_value_decref(&v);
    ferry_buf_free(&msg);

    ferry_schema_free(s);
    ferry_schema_free(NULL);

    assert_int_equal(ferry_schema_parse("{", 1, &s, &err), FERRY_POISON);
    assert_null(s);
    assert_int_equal(ferry_schema_parse("\"Nope\"", 6, &s, &err), FERRY_POISON);
    assert_contains(err.msg, "undefined type name");
}

static void test_encode_errors(void **state)
{
    (void)state;
    const ferry_schema_t *t = ferry_schema_get("TelemetryReading");
    const ferry_schema_t *b = ferry_schema_get("BackfillChunk");
    ferry_err_t err;
    avro_value_t v;
    assert_ok(ferry_schema_new_value(t, &v), err);
    ferry_buf_t out = FERRY_BUF_INIT;
    /* a fresh value: its unions have no branch yet */
    assert_int_equal(ferry_avro_encode(t, &v, &out, &err), FERRY_POISON);
    assert_contains(err.msg, "TelemetryReading.value: union has no branch selected");
    assert_int_equal(out.len, 0);
    assert_null(ferry_avro_to_json_err(&v, &err));
    assert_contains(err.msg, "TelemetryReading.value");
    /* a value of another schema */
    assert_int_equal(ferry_avro_encode(b, &v, &out, &err), FERRY_FATAL);
    assert_int_equal(out.len, 0);
    avro_value_decref(&v);
    ferry_buf_free(&out);
}

static void test_helpers(void **state)
{
    (void)state;
    const ferry_schema_t *s = ferry_schema_get("TelemetryReading");
    json_t *in = parse("{\"ship_id\":\"선박\",\"channel_id\":\"c\",\"timestamp\":1,"
                       "\"value\":\"on\",\"unit\":null}");
    ferry_err_t err;
    avro_value_t v, f;
    const char *str;
    size_t len;
    assert_ok(ferry_avro_from_json(s, in, &v, &err), err);
    assert_ok(ferry_avro_field(&v, "ship_id", &f, &err), err);
    assert_ok(ferry_avro_get_string(&f, &str, &len), err);
    assert_string_equal(str, "선박");
    assert_int_equal(len, strlen("선박"));
    assert_ok(ferry_avro_field(&v, "value", &f, &err), err); /* looks through the union */
    assert_int_equal(avro_value_get_type(&f), AVRO_STRING);
    assert_ok(ferry_avro_get_string(&f, &str, NULL), err);
    assert_string_equal(str, "on");
    assert_ok(ferry_avro_field(&v, "unit", &f, &err), err);
    assert_true(ferry_avro_is_null(&f));
    assert_int_equal(ferry_avro_get_string(&f, &str, &len), FERRY_POISON);
    assert_int_equal(ferry_avro_field(&v, "nope", &f, &err), FERRY_FATAL);
    avro_value_t raw;
    avro_value_get_by_name(&v, "unit", &raw, NULL);
    assert_true(ferry_avro_is_null(&raw));
    assert_false(ferry_avro_is_null(&v));
    avro_value_decref(&v);
    json_decref(in);
}

/* ---- threads ---------------------------------------------------------------------------- */

static ferry_buf_t thread_msg;

static void *decode_loop(void *arg)
{
    (void)arg;
    const ferry_schema_t *s = ferry_schema_get("TelemetryReading");
    avro_value_t v;
    ferry_err_t err;
    long failures = 0;
    if (ferry_schema_new_value(s, &v) != FERRY_OK)
        return (void *)1;
    for (int i = 0; i < 20000; i++) {
        if (ferry_avro_decode_into(s, thread_msg.data, thread_msg.len, &v, &err) != FERRY_OK)
            failures++;
        avro_value_t other;
        if (ferry_avro_decode(thread_msg.data, thread_msg.len, NULL, &other, &err) != FERRY_OK)
            failures++;
        else
            avro_value_decref(&other);
    }
    avro_value_decref(&v);
    return (void *)failures;
}

/* A schema that renamed or retyped a field: every checked setter refuses it by name instead of
 * writing through a value that get_by_name never set. */
static void test_checked_setters(void **state)
{
    const char *json =
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
        "{\"name\":\"n\",\"type\":\"long\"},{\"name\":\"i\",\"type\":\"int\"},"
        "{\"name\":\"d\",\"type\":\"double\"},{\"name\":\"s\",\"type\":\"string\"},"
        "{\"name\":\"o\",\"type\":[\"null\",\"double\"]},"
        "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":"
        "{\"type\":\"record\",\"name\":\"I\",\"fields\":[{\"name\":\"x\",\"type\":\"long\"}]}}}]}";
    avro_schema_t sch;
    assert_int_equal(avro_schema_from_json_length(json, strlen(json), &sch), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(sch);
    avro_value_t v, item, b;
    assert_int_equal(avro_generic_value_new(iface, &v), 0);
    ferry_err_t err;
    assert_int_equal(ferry_avro_set_long(&v, "n", INT64_MAX, &err), FERRY_OK);
    assert_int_equal(ferry_avro_set_int(&v, "i", -7, &err), FERRY_OK);
    assert_int_equal(ferry_avro_set_double(&v, "d", 1.5, &err), FERRY_OK);
    assert_int_equal(ferry_avro_set_string(&v, "s", "x", &err), FERRY_OK);
    assert_int_equal(ferry_avro_set_opt_double(&v, "o", 1, 2.5, &err), FERRY_OK);
    assert_int_equal(ferry_avro_append(&v, "a", &item, &err), FERRY_OK);
    assert_int_equal(ferry_avro_set_long(&item, "x", 3, &err), FERRY_OK);
    avro_value_t f;
    int64_t l = 0;
    double dd = 0;
    avro_value_get_by_name(&v, "n", &f, NULL);
    avro_value_get_long(&f, &l);
    assert_true(l == INT64_MAX);
    avro_value_get_by_name(&v, "o", &f, NULL);
    int disc = -1;
    avro_value_get_discriminant(&f, &disc);
    assert_int_equal(disc, 1);
    avro_value_get_current_branch(&f, &b);
    avro_value_get_double(&b, &dd);
    assert_true(dd == 2.5);
    assert_int_equal(ferry_avro_set_opt_double(&v, "o", 0, 0, &err), FERRY_OK);
    avro_value_get_discriminant(&f, &disc);
    assert_int_equal(disc, 0);

    /* renamed: no such field */
    assert_int_equal(ferry_avro_set_long(&v, "renamed", 1, &err), FERRY_FATAL);
    assert_non_null(strstr(err.msg, "\"renamed\""));
    assert_int_equal(ferry_avro_set_string(&v, "gone", "x", &err), FERRY_FATAL);
    assert_int_equal(ferry_avro_set_branch(&v, "gone", 1, &b, &err), FERRY_FATAL);
    assert_int_equal(ferry_avro_append(&v, "gone", &item, &err), FERRY_FATAL);
    /* retyped: the field is there with another type */
    assert_int_equal(ferry_avro_set_int(&v, "n", 1, &err), FERRY_FATAL);
    assert_non_null(strstr(err.msg, "\"n\" is not of type int"));
    assert_int_equal(ferry_avro_set_long(&v, "s", 1, &err), FERRY_FATAL);
    assert_int_equal(ferry_avro_set_double(&v, "i", 1, &err), FERRY_FATAL);
    assert_int_equal(ferry_avro_set_opt_double(&v, "d", 1, 1, &err), FERRY_FATAL);
    assert_int_equal(ferry_avro_append(&v, "s", &item, &err), FERRY_FATAL);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(sch);
}

static void test_threads(void **state)
{
    (void)state;
    ferry_buf_reset(&thread_msg);
    encode_sample(3, &thread_msg);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, decode_loop, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *res;
        pthread_join(th[i], &res);
        assert_null(res);
    }
    ferry_buf_free(&thread_msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc64_strings),
        cmocka_unit_test(test_canonical_form_vectors),
        cmocka_unit_test(test_canonical_form_more),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_embedded_matches_files),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_known_encoding),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_forged_bodies),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_json_conveniences),
        cmocka_unit_test(test_other_types),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_checked_setters),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
