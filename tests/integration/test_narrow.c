/* test_narrow.c - the narrow-table description against the real server: the SQL twin of the
 * text-value typing decides exactly as the C one on ~20,000 strings (the hand-picked edges
 * and random ones around them), and legacy tables of every unsupported shape are refused at
 * open with a message that names the column, its type and what to do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ferry/narrow.h"
#include "ferry/pg.h"
#include "it.h"

static ferry_pg_t *pg_connect_or_fail(void)
{
    ferry_err_t err;
    ferry_pg_t *pg = ferry_pg_connect(it_env("FERRY_PG_URL"), "it_narrow", NULL, &err);
    if (!pg)
        fail_msg("connect: %s", err.msg);
    return pg;
}

static const char *const EDGES[] = {
    "42",
    "-0",
    "+5",
    "007",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999",
    "00000000000000000001",
    "12.5",
    "5.",
    ".5",
    "-1.25e-3",
    "1e+16",
    "1E5",
    "0.30000000000000004",
    "0.0",
    "0e999",
    "-0e-999",
    "9.99e307",
    "9.9999999999999999999e307",
    "1e307",
    "1e308",
    "1e-307",
    "1e-308",
    "9.9999999999999999e-308",
    "0.001e-304",
    "1000e304",
    "10000e304",
    "1e1000",
    "1e-1000",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    " 12",
    "12 ",
    "",
    "1,5",
    "0x10",
    "1e",
    "e5",
    ".",
    "-",
    "+-1",
    "1.2.3",
    "1e+",
    "1e+-5",
    "١٢",
    "１２",
    "12\t",
    "under way",
    "true",
    "1234567890123456789012345678901234567890123456789012345678901234",
    "12345678901234567890123456789012345678901234567890123456789012345",
    "0.000000000000000000000000000000000000000000000000000000001e-250",
};

/* A random string near the number grammar. */
static void random_text(char *out, size_t outsz, unsigned *seed)
{
    static const char junk[] = " ,x+-.eE0123456789";
    size_t n = 0;
    int shape = rand_r(seed) % 10;
    if (shape == 0) { /* junk */
        int len = rand_r(seed) % 12;
        for (int i = 0; i < len && n + 1 < outsz; i++)
            out[n++] = junk[rand_r(seed) % (int)(sizeof junk - 1)];
        out[n] = '\0';
        return;
    }
    int r = rand_r(seed) % 4;
    if (r == 0)
        out[n++] = '-';
    else if (r == 1)
        out[n++] = '+';
    int zeros = rand_r(seed) % 4 == 0 ? rand_r(seed) % 30 : 0;
    int idig = rand_r(seed) % (shape == 1 ? 22 : 8);
    for (int i = 0; i < zeros && n + 1 < outsz; i++)
        out[n++] = '0';
    for (int i = 0; i < idig && n + 1 < outsz; i++)
        out[n++] = (char)('0' + (i == 0 ? 1 + rand_r(seed) % 9 : rand_r(seed) % 10));
    if (shape >= 3 && n + 1 < outsz) {
        out[n++] = '.';
        int fdig = rand_r(seed) % 25;
        for (int i = 0; i < fdig && n + 1 < outsz; i++)
            out[n++] = (char)('0' + rand_r(seed) % 10);
    }
    if (shape >= 5 && n + 6 < outsz) {
        out[n++] = rand_r(seed) % 2 ? 'e' : 'E';
        if (rand_r(seed) % 2)
            out[n++] = rand_r(seed) % 2 ? '-' : '+';
        /* exponents around the +-307 edges as well as small ones */
        int e = rand_r(seed) % 3 == 0 ? 290 + rand_r(seed) % 40 : rand_r(seed) % 1200;
        n += (size_t)snprintf(out + n, outsz - n, "%d", e);
    }
    out[n] = '\0';
}

static void test_infer_sql_matches_c(void **state)
{
    ferry_pg_t *pg = pg_connect_or_fail();
    ferry_err_t err;
    /* the strings, as a text[] parameter */
    enum { RANDOM = 20000 };
    size_t nedges = sizeof EDGES / sizeof *EDGES, n = nedges + RANDOM;
    char **texts = calloc(n, sizeof *texts);
    unsigned seed = 12345;
    ferry_buf_t arr = FERRY_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        char buf[96];
        if (i < nedges)
            snprintf(buf, sizeof buf, "%s", EDGES[i]);
        else
            random_text(buf, sizeof buf, &seed);
        texts[i] = strdup(buf);
        ferry_pg_array_add(&arr, buf, strlen(buf));
    }
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_append_str(&sql, "SELECT i, ");
    ferry_narrow_infer_sql("x", FERRY_NSLOT_LONG, &sql);
    ferry_buf_append_str(&sql, ", ");
    ferry_narrow_infer_sql("x", FERRY_NSLOT_DOUBLE, &sql);
    ferry_buf_append_str(&sql, ", ");
    ferry_narrow_infer_sql("x", FERRY_NSLOT_TEXT, &sql);
    ferry_buf_append_str(&sql, " FROM unnest($1::text[]) WITH ORDINALITY AS t(x, i) ORDER BY i");
    const char *p[] = {ferry_pg_array_close(&arr)};
    PGresult *res = ferry_pg_query(pg, ferry_buf_cstr(&sql), 1, p, &err);
    if (!res)
        fail_msg("%s", err.msg);
    assert_int_equal(PQntuples(res), (int)n);
    int longs = 0, doubles = 0, strings = 0;
    for (size_t i = 0; i < n; i++) {
        ferry_reading_t r;
        memset(&r, 0, sizeof r);
        ferry_narrow_infer_text(texts[i], strlen(texts[i]), &r);
        int k = (int)i;
        int sl = !PQgetisnull(res, k, 1), sd = !PQgetisnull(res, k, 2),
            st = !PQgetisnull(res, k, 3);
        if (sl + sd + st != 1)
            fail_msg("'%s': SQL gave %d typed values", texts[i], sl + sd + st);
        if (r.type == FERRY_VALUE_LONG) {
            longs++;
            if (!sl || strtoll(PQgetvalue(res, k, 1), NULL, 10) != r.v.l)
                fail_msg("'%s': C says long %lld, SQL says %s/%s/%s", texts[i], (long long)r.v.l,
                         PQgetvalue(res, k, 1), PQgetvalue(res, k, 2), PQgetvalue(res, k, 3));
        } else if (r.type == FERRY_VALUE_DOUBLE) {
            doubles++;
            if (!sd || strtod(PQgetvalue(res, k, 2), NULL) != r.v.d)
                fail_msg("'%s': C says double %.17g, SQL says %s/%s/%s", texts[i], r.v.d,
                         PQgetvalue(res, k, 1), PQgetvalue(res, k, 2), PQgetvalue(res, k, 3));
        } else {
            strings++;
            if (!st || strcmp(PQgetvalue(res, k, 3), texts[i]) != 0)
                fail_msg("'%s': C says string, SQL says %s/%s/%s", texts[i], PQgetvalue(res, k, 1),
                         PQgetvalue(res, k, 2), PQgetvalue(res, k, 3));
        }
    }
    /* the random strings reach every outcome */
    assert_true(longs > 1000 && doubles > 1000 && strings > 1000);
    PQclear(res);
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
    ferry_buf_free(&arr);
    ferry_buf_free(&sql);
    ferry_pg_close(pg);
}

static void exec_or_fail(ferry_pg_t *pg, const char *sql)
{
    ferry_err_t err;
    if (ferry_pg_exec(pg, sql, &err) != FERRY_OK)
        fail_msg("%s: %s", sql, err.msg);
}

/* Opens table/spec and expects FERRY_USAGE with every one of the words in its message. */
static void refused(ferry_pg_t *pg, const char *table, const char *spec, const char *zone,
                    const char *w1, const char *w2, const char *w3)
{
    ferry_narrow_t n;
    ferry_err_t err;
    ferry_status st = ferry_narrow_open(pg, &n, table, spec, zone, FERRY_NARROW_WRITE, &err);
    ferry_narrow_close(&n);
    if (st != FERRY_USAGE)
        fail_msg("%s (%s): expected a refusal, got status %d", table, spec, st);
    const char *w[] = {w1, w2, w3};
    for (int i = 0; i < 3; i++)
        if (w[i] && !strstr(err.msg, w[i]))
            fail_msg("%s (%s): message '%s' does not say '%s'", table, spec, err.msg, w[i]);
}

static void test_open_refuses(void **state)
{
    ferry_pg_t *pg = pg_connect_or_fail();
    exec_or_fail(pg, "DROP SCHEMA IF EXISTS it_narrow CASCADE; CREATE SCHEMA it_narrow;"
                     " CREATE TABLE it_narrow.iv (s text, c text, t timestamptz, v interval,"
                     "  p point, j jsonb, i int, PRIMARY KEY (s, c, t));"
                     " CREATE TABLE it_narrow.nokey (s text, c text, t timestamptz, v float8);"
                     " CREATE TABLE it_narrow.extra (s text, c text, t timestamptz, v float8,"
                     "  site text NOT NULL, PRIMARY KEY (s, c, t));"
                     " CREATE TABLE it_narrow.local (s text, c text, t timestamp, v float8,"
                     "  PRIMARY KEY (s, c, t));"
                     " CREATE TABLE it_narrow.\"Mixed\" (\"ShipID\" text, \"Tag\" text,"
                     "  \"At\" timestamptz, \"Value\" numeric(12,3), PRIMARY KEY (\"ShipID\","
                     "  \"Tag\", \"At\"));"
                     " CREATE VIEW it_narrow.v AS SELECT * FROM it_narrow.local");
    const char *base = "ship=s,channel=c,time=t,value=";
    char spec[128];
    const char *types[][2] = {{"v", "interval"}, {"p", "point"}, {"j", "jsonb"}};
    for (int i = 0; i < 3; i++) {
        snprintf(spec, sizeof spec, "%s%s", base, types[i][0]);
        refused(pg, "it_narrow.iv", spec, NULL, types[i][1], "double precision", "numeric");
    }
    refused(pg, "it_narrow.iv", "ship=i,channel=c,time=t,value=v", NULL, "integer",
            "ship=", "character varying");
    refused(pg, "it_narrow.iv", "ship=s,channel=c,time=i,value=v", NULL, "integer",
            "timestamp with time zone", NULL);
    refused(pg, "it_narrow.iv", "ship=s,channel=c,time=t,value=nope", NULL, "no column \"nope\"",
            "its columns: s, c, t, v, p, j, i", NULL);
    refused(pg, "it_narrow.nokey", "ship=s,channel=c,time=t,value=v", NULL, "unique index",
            "CREATE UNIQUE INDEX", NULL);
    refused(pg, "it_narrow.extra", "ship=s,channel=c,time=t,value=v", NULL, "NOT NULL", "site text",
            NULL);
    refused(pg, "it_narrow.local", "ship=s,channel=c,time=t,value=v", NULL, "--narrow-time-zone",
            "without time zone", NULL);
    refused(pg, "it_narrow.local", "ship=s,channel=c,time=t,value=v", "Mars/Olympus",
            "not a time zone", NULL, NULL);
    refused(pg, "it_narrow.local", "ship=s,channel=c,time=t,value=v", "UTC'; DROP",
            "not a time zone", NULL, NULL);
    refused(pg, "it_narrow.iv", "ship=s,channel=c,time=t,value=i", "UTC", "--narrow-time-zone",
            "timestamp with time zone", NULL);
    refused(pg, "it_narrow.Mixed", "ship=ShipID,channel=Tag,time=At,value=Value", NULL,
            "does not exist", "'\"Legacy\"'", NULL);
    refused(pg, "it_narrow.v", "ship=s,channel=c,time=t,value=v", "UTC", "not a table", NULL, NULL);
    refused(pg, "it_narrow.\"Mixed\"", "ship=shipid,channel=Tag,time=At,value=Value", NULL,
            "no column \"shipid\"", "\"ShipID\"", NULL);

    /* and what is accepted is described right */
    ferry_narrow_t n;
    ferry_err_t err;
    assert_int_equal(ferry_narrow_open(pg, &n, "it_narrow.\"Mixed\"",
                                       "ship=ShipID,channel=Tag,time=At,value=Value", NULL,
                                       FERRY_NARROW_WRITE, &err),
                     FERRY_OK);
    assert_string_equal(n.table, "it_narrow.\"Mixed\"");
    assert_int_equal(n.value.kind, FERRY_NK_NUMERIC);
    assert_int_equal(n.value.prec, 12);
    assert_int_equal(n.value.scale, 3);
    assert_string_equal(n.ship.q, "\"ShipID\"");
    ferry_narrow_close(&n);
    assert_int_equal(ferry_narrow_open(pg, &n, "IT_NARROW.LOCAL", "ship=s,channel=c,time=t,value=v",
                                       "Europe/Oslo", FERRY_NARROW_WRITE, &err),
                     FERRY_OK);
    assert_int_equal(n.time.kind, FERRY_NK_TS);
    assert_string_equal(n.zone, "'Europe/Oslo'");
    ferry_narrow_close(&n);
    /* to read it, a view or a table without a unique key will do */
    assert_int_equal(ferry_narrow_open(pg, &n, "it_narrow.v", "ship=s,channel=c,time=t,value=v",
                                       "UTC", FERRY_NARROW_READ, &err),
                     FERRY_OK);
    ferry_narrow_close(&n);
    assert_int_equal(ferry_narrow_open(pg, &n, "it_narrow.nokey", "ship=s,channel=c,time=t,value=v",
                                       NULL, FERRY_NARROW_READ, &err),
                     FERRY_OK);
    ferry_narrow_close(&n);
    exec_or_fail(pg, "DROP SCHEMA it_narrow CASCADE");
    ferry_pg_close(pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_infer_sql_matches_c),
        cmocka_unit_test(test_open_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
