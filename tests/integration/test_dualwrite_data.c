/* test_dualwrite_data.c - `ferry dualwrite` against hostile data, on the real stack:
 *  - channel names with quotes, semicolons, spaces, "; DROP TABLE, non-Latin letters, and two
 *    200-character names differing only in their last character: all stored, distinct, right;
 *  - a ship with 2,000 channels: stored completely, continuing in further wide tables;
 *  - garbage bytes, truncated Avro, an unknown fingerprint, an empty ship id, a timestamp
 *    outside PostgreSQL's range and type conflicts interleaved with good readings: the bad
 *    ones land in the DLQ with their reasons, every good reading around them is written;
 *  - a bigint channel that receives a fraction is widened to double precision, but one that
 *    holds integers beyond 2^53 is not (widening would change them): the fraction is written
 *    to narrow and dead-lettered as a wide conflict, and verify shows the difference;
 *  - values a wide column cannot take (a string for a double channel) are written to narrow,
 *    the source of truth, and dead-lettered as wide conflicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "ferry/kafka.h"
#include "ferry/pg.h"
#include "ferry/telemetry.h"
#include "it.h"

static ferry_opts_t *g_o;
static ferry_producer_t *g_p;
static char g_topic[128];
static int g_good;

static void send_raw(const char *key, const void *data, size_t len)
{
    ferry_err_t err;
    assert_int_equal(ferry_producer_send(g_p, g_topic, RD_KAFKA_PARTITION_UA, key, strlen(key),
                                         data, len, NULL, NULL, &err),
                     FERRY_OK);
}

static void send_reading(const ferry_reading_t *r, int good)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_telemetry_encode(r, &b);
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)r->ship_id.len, r->ship_id.ptr);
    send_raw(key[0] ? key : "empty", b.data, b.len);
    ferry_buf_free(&b);
    g_good += good;
}

static ferry_reading_t rd(const char *ship, const char *chan, int64_t ts)
{
    ferry_reading_t r;
    memset(&r, 0, sizeof r);
    r.ship_id = (ferry_str_t){ship, strlen(ship)};
    r.channel_id = (ferry_str_t){chan, strlen(chan)};
    r.ts_us = ts;
    r.type = FERRY_VALUE_DOUBLE;
    return r;
}

static void good_filler(int i)
{
    ferry_reading_t r = rd("S-good", "x", 1767225600000000LL + i * 1000000LL);
    r.v.d = i * 0.5;
    send_reading(&r, 1);
}

static void query_eq(ferry_pg_t *pg, const char *sql, const char *want)
{
    char v[256];
    ferry_err_t err;
    if (ferry_pg_query_value(pg, sql, 0, NULL, v, sizeof v, &err) != FERRY_OK)
        fail_msg("%s: %s", sql, err.msg);
    if (strcmp(v, want) != 0)
        fail_msg("%s: got '%s', want '%s'", sql, v, want);
}

static char g_url[1024], g_dlq[160], g_cmd[2048];

/* Channel names a legacy fleet has: quotes, SQL, case twins, Korean, Greek, and two 200-byte
 * names that differ only in their last byte (column names are cut to 63 bytes). */
static char long1[201], long2[201];
static const char *names[] = {"it's \"quoted\"",
                              "semi;colon",
                              "with space",
                              "Upper.Case",
                              "upper.case",
                              "\"; DROP TABLE telemetry_narrow; --",
                              "선박 엔진 온도",
                              "Ελληνικά",
                              long1,
                              long2};
static const int nnames = (int)(sizeof names / sizeof *names);

/* A database, the topic and its DLQ, and the producer of the test. */
static void setup_stack(ferry_pg_t *admin, const char *db)
{
    ferry_err_t err;
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", db);
    assert_int_equal(ferry_pg_exec(admin, sql, &err), FERRY_OK);
    snprintf(g_url, sizeof g_url, "%s", it_env("FERRY_PG_URL"));
    snprintf(strrchr(g_url, '/') + 1, sizeof g_url - (size_t)(strrchr(g_url, '/') + 1 - g_url),
             "%s", db);
    it_unique(g_topic, sizeof g_topic, "it.dw.data");
    snprintf(g_dlq, sizeof g_dlq, "%s.dlq", g_topic);
    ferry_topic_spec_t specs[] = {{g_topic, 3, -1, NULL}, {g_dlq, 1, -1, NULL}};
    assert_int_equal(ferry_kafka_create_topics(g_o, specs, 2, &err), FERRY_OK);
    g_p = ferry_producer_new(g_o, NULL, &err);
    assert_non_null(g_p);
    snprintf(g_cmd, sizeof g_cmd,
             "'%s' dualwrite --pg '%s' --topic '%s' --group '%s.g' --until-idle 3s --progress 0"
             " --batch-rows 3000 --brokers '%s' 2>%s/dw-data.log",
             it_env("FERRY_BIN"), g_url, g_topic, g_topic, it_env("FERRY_BROKERS"),
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
}

/* The hostile names, a ship of 2,000 channels, poison between good readings, and type
 * conflicts. */
static void produce_hostile(void)
{
    ferry_err_t err;
    memset(long1, 'a', 199);
    memset(long2, 'a', 199);
    long1[199] = '1';
    long2[199] = '2';
    long1[200] = long2[200] = '\0';
    int k = 0;
    for (int t = 0; t < 3; t++) {
        for (int i = 0; i < nnames; i++) {
            ferry_reading_t r = rd("S-names", names[i], 1767225600000000LL + t * 1000000LL);
            r.v.d = i * 10 + t;
            send_reading(&r, 1);
            good_filler(k++);
        }
    }
    /* a ship with 2,000 channels, 2 timestamps */
    char chan[32];
    for (int t = 0; t < 2; t++) {
        for (int c = 0; c < 2000; c++) {
            snprintf(chan, sizeof chan, "sensor.%04d", c);
            ferry_reading_t r = rd("S-2000", chan, 1767225600000000LL + t * 1000000LL);
            r.type = FERRY_VALUE_LONG;
            r.v.l = c * 2 + t;
            send_reading(&r, 1);
        }
    }
    /* poison, interleaved with good readings */
    send_raw("S-bad", "hello, world", 12);
    good_filler(k++);
    ferry_reading_t v = rd("S-bad", "ch", 1767225600000000LL);
    v.v.d = 1;
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_telemetry_encode(&v, &b);
    send_raw("S-bad", b.data, 15); /* truncated */
    good_filler(k++);
    unsigned char fp[20] = {0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0};
    send_raw("S-bad", fp, sizeof fp); /* unknown fingerprint */
    good_filler(k++);
    ferry_reading_t empty = rd("", "ch", 1767225600000000LL);
    send_reading(&empty, 0); /* empty ship id */
    good_filler(k++);
    ferry_reading_t old = rd("S-bad", "ch", -300000000000000000LL);
    send_reading(&old, 0); /* before 4713 BC */
    good_filler(k++);
    /* type conflicts on a double channel; and a bigint channel that gets a fraction */
    ferry_reading_t tc = rd("S-types", "tc.temp", 1767225600000000LL);
    tc.v.d = 21.5;
    send_reading(&tc, 1);
    tc.ts_us += 1000000;
    tc.type = FERRY_VALUE_STRING;
    tc.v.s = (ferry_str_t){"hot", 3};
    send_reading(&tc, 1); /* narrow takes it; the wide double column does not */
    good_filler(k++);
    tc.ts_us += 1000000;
    tc.type = FERRY_VALUE_BOOL;
    tc.v.b = 1;
    send_reading(&tc, 1);
    tc.ts_us += 1000000;
    tc.type = FERRY_VALUE_LONG;
    tc.v.l = (1LL << 60) + 1; /* not exact in a double column */
    send_reading(&tc, 1);
    tc.ts_us += 1000000;
    tc.v.l = 42; /* exact: accepted into the double column */
    send_reading(&tc, 1);
    good_filler(k++);
    ferry_reading_t wc = rd("S-types", "tc.count", 1767225600000000LL);
    wc.type = FERRY_VALUE_LONG;
    wc.v.l = 5;
    send_reading(&wc, 1);
    wc.ts_us += 1000000;
    wc.type = FERRY_VALUE_DOUBLE;
    wc.v.d = 5.5;
    send_reading(&wc, 1);
    ferry_reading_t nul = rd("S-types", "tc.null", 1767225600000000LL);
    nul.type = FERRY_VALUE_NULL;
    send_reading(&nul, 1); /* a null reading: narrow only */
    for (int i = 0; i < 20; i++)
        good_filler(k++);
    assert_int_equal(ferry_producer_flush(g_p, 60000, &err), FERRY_OK);
    ferry_buf_free(&b);
}

/* Narrow and wide as the worker left them. */
static void check_store(void)
{
    ferry_err_t err;
    ferry_pg_t *pg = ferry_pg_connect(g_url, "it", NULL, &err);
    assert_non_null(pg);
    char want[32];
    snprintf(want, sizeof want, "%d", g_good);
    query_eq(pg, "SELECT count(*) FROM telemetry_narrow", want);
    query_eq(pg, "SELECT to_regclass('telemetry_narrow') IS NOT NULL", "t");
    /* every name stored, distinct columns, values right */
    for (int i = 0; i < nnames; i++) {
        const char *p[] = {names[i]};
        char cnt[64];
        assert_int_equal(ferry_pg_query_value(pg,
                                              "SELECT count(*) FROM telemetry_narrow WHERE"
                                              " ship_id = 'S-names' AND channel_id = $1",
                                              1, p, cnt, sizeof cnt, &err),
                         FERRY_OK);
        assert_string_equal(cnt, "3");
    }
    query_eq(pg,
             "SELECT count(DISTINCT column_name) FROM ferry.channel_columns"
             " WHERE ship_id = 'S-names'",
             "10");
    query_eq(pg, "SELECT max(length(column_name)) <= 63 FROM ferry.channel_columns", "t");
    /* 2,000 channels: all there, split over tables of at most 800 columns */
    query_eq(pg, "SELECT count(*) FROM ferry.channel_columns WHERE ship_id = 'S-2000'", "2000");
    query_eq(pg,
             "SELECT string_agg(columns::text, ',' ORDER BY part) FROM ferry.ship_tables"
             " WHERE ship_id = 'S-2000'",
             "800,800,400");
    /* the widened channel */
    query_eq(pg, "SELECT pg_type FROM ferry.channel_columns WHERE channel_id = 'tc.count'",
             "double precision");
    query_eq(pg, "SELECT pg_type FROM ferry.channel_columns WHERE channel_id = 'tc.temp'",
             "double precision");
    query_eq(pg, "SELECT count(*) FROM ferry.channel_columns WHERE channel_id = 'tc.null'", "0");
    /* narrow and wide agree cell by cell */
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/sql/check_wide.sql", it_env("FERRY_SOURCE_DIR"));
    FILE *fp2 = fopen(path, "r");
    assert_non_null(fp2);
    ferry_buf_t f = FERRY_BUF_INIT;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, fp2)) > 0)
        ferry_buf_append(&f, chunk, got);
    fclose(fp2);
    assert_int_equal(ferry_pg_exec(pg, ferry_buf_cstr(&f), &err), FERRY_OK);
    ferry_buf_free(&f);
    /* all good readings with a value (everything but the one null reading); the three wide
     * conflicts are in narrow and missing in wide */
    snprintf(want, sizeof want, "%d 3 0 0", g_good - 1);
    query_eq(pg,
             "SELECT concat_ws(' ', narrow_values, missing, extra, mismatched)"
             " FROM pg_temp.check_wide('telemetry_narrow', 'telemetry_wide')",
             want);
    ferry_pg_close(pg);
}

/* The DLQ: 8 records with their reasons and source coordinates. */
static void check_dlq(void)
{
    ferry_err_t err;
    const char *topics[] = {g_dlq};
    ferry_consumer_t *c = ferry_consumer_new(g_o, g_topic, topics, 1, NULL, &err);
    assert_non_null(c);
    int undecodable = 0, range = 0, conflict = 0, total = 0;
    int64_t deadline = ferry_clock_mono_ms() + 30000;
    while (ferry_clock_mono_ms() < deadline && !(total >= 8 && ferry_consumer_caught_up(c))) {
        rd_kafka_message_t *m = ferry_consumer_poll(c, 200, &err);
        if (!m)
            continue;
        rd_kafka_headers_t *h = NULL;
        assert_int_equal(rd_kafka_message_headers(m, &h), 0);
        const void *val;
        size_t len;
        assert_int_equal(rd_kafka_header_get_last(h, "ferry.error.reason", &val, &len), 0);
        if (len == 11 && memcmp(val, "undecodable", 11) == 0)
            undecodable++;
        else if (len == 22 && memcmp(val, "timestamp_out_of_range", 22) == 0)
            range++;
        else if (len == 18 && memcmp(val, "wide_type_conflict", 18) == 0)
            conflict++;
        assert_int_equal(rd_kafka_header_get_last(h, "ferry.source.offset", &val, &len), 0);
        assert_int_equal(rd_kafka_header_get_last(h, "ferry.error.message", &val, &len), 0);
        assert_true(len > 0);
        total++;
        rd_kafka_message_destroy(m);
    }
    ferry_consumer_close(c, NULL);
    assert_int_equal(undecodable, 4); /* garbage, truncated, unknown fingerprint, empty ship */
    assert_int_equal(range, 1);
    assert_int_equal(conflict, 3); /* string and boolean into double, 2^60+1 not exact */
    assert_int_equal(total, 8);
}

static void check_big_integers(void)
{
    ferry_err_t err;
    char cmd[2048];
    int rc;
    /* A bigint channel with integers beyond 2^53, then a fraction in a later batch: the column
     * stays bigint and its cells exact; the fraction is in narrow, dead-lettered, and verify
     * shows it; later big integers are in narrow and wide alike. */
    const int64_t big[] = {9007199254740993LL, INT64_MAX};
    for (int i = 0; i < 2; i++) {
        ferry_reading_t r = rd("S-big", "big", 1767225600000000LL + i * 1000000LL);
        r.type = FERRY_VALUE_LONG;
        r.v.l = big[i];
        send_reading(&r, 1);
    }
    assert_int_equal(ferry_producer_flush(g_p, 60000, &err), FERRY_OK);
    assert_int_equal(system(g_cmd), 0);
    ferry_reading_t fr = rd("S-big", "big", 1767225602000000LL);
    fr.v.d = 1.5;
    send_reading(&fr, 1);
    assert_int_equal(ferry_producer_flush(g_p, 60000, &err), FERRY_OK);
    assert_int_equal(system(g_cmd), 0);
    ferry_reading_t later = rd("S-big", "big", 1767225603000000LL);
    later.type = FERRY_VALUE_LONG;
    later.v.l = 9007199254740995LL;
    send_reading(&later, 1);
    assert_int_equal(ferry_producer_flush(g_p, 60000, &err), FERRY_OK);
    assert_int_equal(system(g_cmd), 0);
    ferry_pg_t *pg = ferry_pg_connect(g_url, "it", NULL, &err);
    assert_non_null(pg);
    query_eq(pg, "SELECT pg_type FROM ferry.channel_columns WHERE channel_id = 'big'", "bigint");
    char q[512], tbl[128], col[128];
    assert_int_equal(ferry_pg_query_value(pg,
                                          "SELECT table_name FROM ferry.channel_columns WHERE"
                                          " channel_id = 'big'",
                                          0, NULL, tbl, sizeof tbl, &err),
                     FERRY_OK);
    assert_int_equal(ferry_pg_query_value(pg,
                                          "SELECT column_name FROM ferry.channel_columns WHERE"
                                          " channel_id = 'big'",
                                          0, NULL, col, sizeof col, &err),
                     FERRY_OK);
    snprintf(q, sizeof q,
             "SELECT string_agg(coalesce(\"%s\"::text, '-'), ',' ORDER BY ts) FROM"
             " telemetry_wide.\"%s\"",
             col, tbl);
    query_eq(pg, q, "9007199254740993,9223372036854775807,9007199254740995");
    query_eq(pg,
             "SELECT string_agg(coalesce(value_long::text, value_double::text), ',' ORDER BY ts)"
             " FROM telemetry_narrow WHERE ship_id = 'S-big'",
             "9007199254740993,9223372036854775807,1.5,9007199254740995");
    ferry_pg_close(pg);
    snprintf(cmd, sizeof cmd, "'%s' verify --pg '%s' --ship S-big >%s/verify-big.out 2>&1",
             it_env("FERRY_BIN"), g_url, getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    rc = system(cmd);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
    snprintf(
        cmd, sizeof cmd,
        "grep -q 'only in narrow: ts 2026-01-01T00:00:02.000000Z channel big' %s/verify-big.out",
        getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_int_equal(system(cmd), 0);
}

static void test_hostile_data(void **state)
{
    ferry_err_t err;
    g_o = it_opts();
    char db[64];
    it_unique(db, sizeof db, "it_dw_data");
    for (char *p = db; *p; p++)
        if (*p == '.')
            *p = '_';
    ferry_pg_t *admin = ferry_pg_connect(it_env("FERRY_PG_URL"), "it", NULL, &err);
    assert_non_null(admin);
    setup_stack(admin, db);
    produce_hostile();
    assert_int_equal(system(g_cmd), 0);
    check_store();
    check_dlq();
    check_big_integers();
    ferry_producer_destroy(g_p);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE \"%s\" WITH (FORCE)", db);
    ferry_pg_exec(admin, sql, NULL);
    ferry_pg_close(admin);
    ferry_opts_destroy(g_o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
