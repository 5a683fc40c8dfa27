/* test_pg_core.c - the core's PostgreSQL helpers against the real server: binary COPY of
 * every type ferry writes (checked back in SQL), SQLSTATE classes (data -> poison,
 * schema -> fatal), connection retry that gives up on a dead port, a permanent error
 * (unknown database) that does not retry, and identifiers that need quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ferry/pg.h"
#include "it.h"

static ferry_pg_t *connect_or_fail(void)
{
    ferry_err_t err;
    ferry_pg_t *pg = ferry_pg_connect(it_env("FERRY_PG_URL"), "it_pg_core", NULL, &err);
    if (!pg)
        fail_msg("connect: %s", err.msg);
    return pg;
}

static void test_copy_binary_roundtrip(void **state)
{
    ferry_pg_t *pg = connect_or_fail();
    ferry_err_t err;
    char table[64];
    it_unique(table, sizeof table, "it_copy");
    ferry_buf_t sql = FERRY_BUF_INIT;
    ferry_buf_append_str(&sql, "CREATE TEMP TABLE ");
    ferry_pg_append_ident(&sql, table);
    ferry_buf_append_str(&sql, " (t text, i8 bigint, i4 int, f8 double precision, b boolean, "
                               "ts timestamptz, n text)");
    assert_int_equal(ferry_pg_exec(pg, ferry_buf_cstr(&sql), &err), FERRY_OK);
    ferry_buf_reset(&sql);
    ferry_buf_append_str(&sql, "COPY ");
    ferry_pg_append_ident(&sql, table);
    ferry_buf_append_str(&sql, " FROM STDIN (FORMAT binary)");
    ferry_pg_copy_t *cp = ferry_pg_copy_begin(pg, ferry_buf_cstr(&sql), &err);
    assert_non_null(cp);
    const int rows = 20000; /* several flushes of the 256 KiB buffer */
    for (int r = 0; r < rows; r++) {
        char t[64];
        int n = snprintf(t, sizeof t, "선박-%d \"q\";", r);
        ferry_pg_copy_row(cp, 7);
        ferry_pg_copy_text(cp, t, (size_t)n);
        ferry_pg_copy_int8(cp, (int64_t)r * 1000000007LL - 5);
        ferry_pg_copy_int4(cp, -r);
        ferry_pg_copy_float8(cp, r / 4.0);
        ferry_pg_copy_bool(cp, r % 2);
        ferry_pg_copy_timestamptz(cp, 1700000000000000LL + r * 1000LL + 123);
        ferry_pg_copy_null(cp);
    }
    int64_t copied = -1;
    assert_int_equal(ferry_pg_copy_end(cp, &copied, &err), FERRY_OK);
    assert_int_equal(copied, rows);

    assert_int_equal(ferry_pg_exec(pg, "SET TimeZone = 'UTC'", &err), FERRY_OK);
    ferry_buf_reset(&sql);
    ferry_buf_append_str(&sql, "SELECT count(*), sum(i4), sum(f8), count(*) FILTER (WHERE b), "
                               "count(n), min(ts)::text, max(i8) FROM ");
    ferry_pg_append_ident(&sql, table);
    PGresult *res = ferry_pg_query(pg, ferry_buf_cstr(&sql), 0, NULL, &err);
    assert_non_null(res);
    assert_string_equal(PQgetvalue(res, 0, 0), "20000");
    assert_string_equal(PQgetvalue(res, 0, 1), "-199990000");
    assert_string_equal(PQgetvalue(res, 0, 2), "49997500");
    assert_string_equal(PQgetvalue(res, 0, 3), "10000");
    assert_string_equal(PQgetvalue(res, 0, 4), "0");
    assert_string_equal(PQgetvalue(res, 0, 5), "2023-11-14 22:13:20.000123+00");
    assert_string_equal(PQgetvalue(res, 0, 6), "19999000139988");
    PQclear(res);

    /* Text round-trips byte for byte. */
    ferry_buf_reset(&sql);
    ferry_buf_append_str(&sql, "SELECT count(*) FROM ");
    ferry_pg_append_ident(&sql, table);
    ferry_buf_append_str(&sql, " WHERE t = $1");
    const char *param[] = {"선박-77 \"q\";"};
    char v[32];
    assert_int_equal(ferry_pg_query_value(pg, ferry_buf_cstr(&sql), 1, param, v, sizeof v, &err),
                     FERRY_OK);
    assert_string_equal(v, "1");
    ferry_buf_free(&sql);
    ferry_pg_close(pg);
}

static void test_copy_error_is_classified(void **state)
{
    ferry_pg_t *pg = connect_or_fail();
    ferry_err_t err;
    assert_int_equal(ferry_pg_exec(pg, "CREATE TEMP TABLE it_copy_err (k int PRIMARY KEY)", &err),
                     FERRY_OK);
    ferry_pg_copy_t *cp =
        ferry_pg_copy_begin(pg, "COPY it_copy_err FROM STDIN (FORMAT binary)", &err);
    assert_non_null(cp);
    for (int i = 0; i < 3; i++) {
        ferry_pg_copy_row(cp, 1);
        ferry_pg_copy_int4(cp, 1); /* duplicate key */
    }
    assert_int_equal(ferry_pg_copy_end(cp, NULL, &err), FERRY_POISON);
    assert_string_equal(err.sqlstate, "23505");
    /* The connection is still usable afterwards. */
    assert_int_equal(ferry_pg_exec(pg, "SELECT 1", &err), FERRY_OK);

    cp = ferry_pg_copy_begin(pg, "COPY it_copy_err FROM STDIN (FORMAT binary)", &err);
    assert_non_null(cp);
    ferry_pg_copy_row(cp, 1);
    ferry_pg_copy_int4(cp, 5);
    ferry_pg_copy_abort(cp, "test abort");
    char v[16];
    assert_int_equal(
        ferry_pg_query_value(pg, "SELECT count(*) FROM it_copy_err", 0, NULL, v, sizeof v, &err),
        FERRY_OK);
    assert_string_equal(v, "0");
    ferry_pg_close(pg);
}

static void test_sqlstate_classes(void **state)
{
    ferry_pg_t *pg = connect_or_fail();
    ferry_err_t err;
    assert_int_equal(ferry_pg_exec(pg, "SELECT 'x'::int", &err), FERRY_POISON); /* 22P02 */
    assert_string_equal(err.sqlstate, "22P02");
    assert_int_equal(ferry_pg_exec(pg, "SELECT * FROM no_such_table_xyz", &err), FERRY_FATAL);
    assert_string_equal(err.sqlstate, "42P01");
    const char *params[] = {"not a number"};
    assert_null(ferry_pg_query(pg, "SELECT $1::bigint", 1, params, &err));
    assert_int_equal(err.status, FERRY_POISON);
    /* A terminated backend is a connection problem: retry. */
    assert_int_equal(ferry_pg_exec(pg, "SELECT pg_terminate_backend(pg_backend_pid())", &err),
                     FERRY_RETRY);
    assert_int_equal(ferry_pg_reconnect(pg, &err), FERRY_OK);
    assert_int_equal(ferry_pg_exec(pg, "SELECT 1", &err), FERRY_OK);
    ferry_pg_close(pg);
}

static void test_connect_retry_gives_up_and_permanent_errors(void **state)
{
    ferry_err_t err;
    ferry_pg_retry_t retry = {100, 400, 1500};
    int64_t t0 = ferry_clock_mono_ms();
    /* Port 1 on loopback: nothing listens, connection refused every time. */
    ferry_pg_t *pg =
        ferry_pg_connect("postgresql://ferry:hunter2@127.0.0.1:1/ferry", "it", &retry, &err);
    int64_t took = ferry_clock_mono_ms() - t0;
    assert_null(pg);
    assert_int_equal(err.status, FERRY_RETRY);
    assert_true(took >= 1400);
    assert_null(strstr(err.msg, "hunter2")); /* the password is never in a message */

    /* An unknown database does not get better by retrying. */
    char url[1024];
    snprintf(url, sizeof url, "%s", it_env("FERRY_PG_URL"));
    char *slash = strrchr(url, '/');
    assert_non_null(slash);
    snprintf(slash, sizeof url - (size_t)(slash - url), "/no_such_db_ferry");
    t0 = ferry_clock_mono_ms();
    pg = ferry_pg_connect(url, "it", NULL, &err);
    assert_null(pg);
    assert_int_equal(err.status, FERRY_FATAL);
    assert_true(ferry_clock_mono_ms() - t0 < 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_binary_roundtrip),
        cmocka_unit_test(test_copy_error_is_classified),
        cmocka_unit_test(test_sqlstate_classes),
        cmocka_unit_test(test_connect_retry_gives_up_and_permanent_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
