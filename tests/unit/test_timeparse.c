/* test_timeparse.c - unit tests of timestamp parsing and formatting (lib/timeparse.c):
 * ISO 8601 / RFC 3339 forms and zones, calendar validation, fraction flooring, epoch
 * numbers in every unit and the auto thresholds, overflow at the int64 edges, malformed
 * input, formatting, and a cross-check of the calendar against glibc's gmtime_r. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ferry/timeparse.h"

#define S(x) ((int64_t)(x)*1000000) /* seconds -> microseconds */

/* Parses a NUL-terminated text with the unit, asserts success and returns the value. */
static int64_t ok_unit(const char *s, ferry_ts_unit unit)
{
    int64_t us = 0x5a5a;
    ferry_err_t err;
    ferry_err_clear(&err);
    ferry_status st = ferry_ts_parse(s, strlen(s), unit, &us, &err);
    if (st != FERRY_OK)
        fail_msg("\"%s\" (unit %s) failed: %s", s, ferry_ts_unit_name(unit), err.msg);
    return us;
}

static int64_t ok(const char *s)
{
    return ok_unit(s, FERRY_TS_AUTO);
}

/* Asserts that s fails with a message containing `why`; the output is left untouched. */
static void bad_unit(const char *s, ferry_ts_unit unit, const char *why)
{
    int64_t us = 12345;
    ferry_err_t err;
    ferry_err_clear(&err);
    ferry_status st = ferry_ts_parse(s, strlen(s), unit, &us, &err);
    if (st == FERRY_OK)
        fail_msg("\"%s\" parsed as %lld, expected an error", s, (long long)us);
    assert_int_equal(st, FERRY_POISON);
    assert_int_equal(err.status, FERRY_POISON);
    assert_int_equal(us, 12345);
    if (!strstr(err.msg, why))
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", s, err.msg, why);
}

static void bad(const char *s, const char *why)
{
    bad_unit(s, FERRY_TS_AUTO, why);
}

static void test_iso_basic(void **state)
{
    assert_int_equal(ok("2024-05-01T12:00:00Z"), S(1714564800));
    assert_int_equal(ok("2024-05-01t12:00:00z"), S(1714564800));
    assert_int_equal(ok("2024-05-01 12:00:00Z"), S(1714564800));
    assert_int_equal(ok("2024-05-01T12:00:00"), S(1714564800)); /* no zone: UTC */
    assert_int_equal(ok("2024-05-01T12:00Z"), S(1714564800));   /* seconds optional */
    assert_int_equal(ok("2024-05-01"), S(1714521600));          /* date only: midnight */
    assert_int_equal(ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(ok("1970-01-01"), 0);
    assert_int_equal(ok("  2024-05-01T12:00:00Z \r\n"), S(1714564800));
    assert_int_equal(ok("2024-05-01T12:00:00 UTC"), S(1714564800));
    assert_int_equal(ok("2024-05-01T12:00:00utc"), S(1714564800));
    assert_int_equal(ok("2024-05-01T12:00:00 GMT"), S(1714564800));
    /* not NUL-terminated: only len bytes count */
    int64_t us;
    const char *s = "2024-05-01T12:00:00Zgarbage";
    assert_int_equal(ferry_ts_parse(s, 20, FERRY_TS_AUTO, &us, NULL), FERRY_OK);
    assert_int_equal(us, S(1714564800));
}

static void test_iso_offsets(void **state)
{
    const int64_t noon = S(1714564800);
    assert_int_equal(ok("2024-05-01 12:00:00+09:00"), noon - S(9 * 3600));
    assert_int_equal(ok("2024-05-01 12:00:00+0900"), noon - S(9 * 3600));
    assert_int_equal(ok("2024-05-01 12:00:00+09"), noon - S(9 * 3600));
    assert_int_equal(ok("2024-05-01 12:00:00 +09:00"), noon - S(9 * 3600));
    assert_int_equal(ok("2024-05-01T12:00:00-05:30"), noon + S(5 * 3600 + 1800));
    assert_int_equal(ok("2024-05-01T12:00:00-00:00"), noon);
    assert_int_equal(ok("2024-05-01T12:00:00+23:59"), noon - S(23 * 3600 + 59 * 60));
    assert_int_equal(ok("2024-05-01T12:00+01"), noon - S(3600));
    /* an offset crossing the date line and the year */
    assert_int_equal(ok("2024-01-01T01:00:00+02:00"), ok("2023-12-31T23:00:00Z"));
    assert_int_equal(ok("2024-05-01T12:00:00.5+09:00"), noon - S(9 * 3600) + 500000);
}

static void test_iso_fractions(void **state)
{
    const int64_t noon = S(1714564800);
    assert_int_equal(ok("2024-05-01T12:00:00.5Z"), noon + 500000);
    assert_int_equal(ok("2024-05-01T12:00:00,5Z"), noon + 500000);
    assert_int_equal(ok("2024-05-01T12:00:00.05Z"), noon + 50000);
    assert_int_equal(ok("2024-05-01T12:00:00.123Z"), noon + 123000);
    assert_int_equal(ok("2024-05-01T12:00:00.123456Z"), noon + 123456);
    /* sub-microsecond digits are floored (for ISO text: cut off) */
    assert_int_equal(ok("2024-05-01T12:00:00.123456789Z"), noon + 123456);
    assert_int_equal(ok("2024-05-01T12:00:00.1234569Z"), noon + 123456);
    assert_int_equal(ok("2024-05-01T12:00:00.999999999999999Z"), noon + 999999);
    assert_int_equal(ok("2024-05-01T12:00:00.000000999"), noon);
    /* before the epoch the floor goes down: the microsecond that contains the instant */
    assert_int_equal(ok("1969-12-31T23:59:59.9999995Z"), -1);
    assert_int_equal(ok("1969-12-31T23:59:59.999999Z"), -1);
    assert_int_equal(ok("1969-12-31T23:59:59.5Z"), -500000);
}

static void test_iso_calendar(void **state)
{
    assert_int_equal(ok("0001-01-01T00:00:00Z"), S(-62135596800));
    assert_int_equal(ok("0000-01-01T00:00:00Z"), S(-62167219200));
    assert_int_equal(ok("9999-12-31T23:59:59.999999Z"), INT64_C(253402300799999999));
    assert_int_equal(ok("1900-01-01T00:00:00Z"), S(-2208988800));
    assert_int_equal(ok("2038-01-19T03:14:08Z"), S(2147483648));
    assert_int_equal(ok("1969-07-20T20:17:40Z"), S(-14182940));
    /* leap years: every 4th, not every 100th, but every 400th */
    assert_int_equal(ok("2024-02-29") + S(86400), ok("2024-03-01"));
    assert_int_equal(ok("2000-02-29") + S(86400), ok("2000-03-01"));
    assert_int_equal(ok("2400-02-29") + S(86400), ok("2400-03-01"));
    assert_int_equal(ok("0000-02-29") + S(86400), ok("0000-03-01"));
    bad("2023-02-29", "day out of range");
    bad("1900-02-29", "day out of range");
    bad("2100-02-29", "day out of range");
    bad("2024-02-30", "day out of range");
    bad("2024-04-31", "day out of range");
    bad("2024-01-32", "day out of range");
    bad("2024-01-00", "day out of range");
    bad("2024-13-01", "month out of range");
    bad("2024-00-10", "month out of range");
    assert_int_equal(ok("2024-12-31T23:59:59Z") + S(1), ok("2025-01-01T00:00:00Z"));
}

static void test_iso_malformed(void **state)
{
    bad("2024-05-01T24:00:00Z", "hour out of range");
    bad("2024-05-01T12:60:00Z", "minute out of range");
    bad("2024-05-01T23:59:60Z", "leap seconds");
    bad("2024-5-01", "YYYY-MM-DD");
    bad("2024-05-1", "YYYY-MM-DD");
    bad("2024-05-01X12:00:00", "expected T or a space");
    bad("2024-05-01T", "hh:mm");
    bad("2024-05-01T12", "hh:mm");
    bad("2024-05-01T12:0", "hh:mm");
    bad("2024-05-01T12:00:0", "seconds");
    bad("2024-05-01T12:00:00.", "digits after the decimal point");
    bad("2024-05-01T12:00:00.Z", "digits after the decimal point");
    bad("2024-05-01T12:00:00+9", "bad zone");
    bad("2024-05-01T12:00:00+09:0", "bad zone");
    bad("2024-05-01T12:00:00+24:00", "bad zone");
    bad("2024-05-01T12:00:00+09:60", "bad zone");
    bad("2024-05-01T12:00:00ZZ", "bad zone");
    bad("2024-05-01T12:00:00 EST", "bad zone");
    bad("2024-05-01T12:00:00  Z", "bad zone");
    bad("2024-05-01Z", "expected T or a space");
    bad("12:00:00", "epoch number");
    bad("", "empty");
    bad("   ", "empty");
    bad("yesterday", "epoch number");
    /* the message quotes the input, printable ASCII only */
    ferry_err_t err;
    int64_t us;
    assert_int_not_equal(ferry_ts_parse("2024-05-01\xff", 11, FERRY_TS_AUTO, &us, &err), FERRY_OK);
    assert_non_null(strstr(err.msg, "\"2024-05-01?\""));
}

static void test_epoch_units(void **state)
{
    assert_int_equal(ok("1714564800"), S(1714564800));
    assert_int_equal(ok("+1714564800"), S(1714564800));
    assert_int_equal(ok("0"), 0);
    assert_int_equal(ok("-0"), 0);
    assert_int_equal(ok("000001714564800"), S(1714564800)); /* leading zeros: no magnitude */
    assert_int_equal(ok("1700000000.25"), INT64_C(1700000000250000));
    assert_int_equal(ok("1700000000."), S(1700000000));
    assert_int_equal(ok(".5"), 500000);
    assert_int_equal(ok("0.5"), 500000);
    assert_int_equal(ok("-1.5"), -1500000);
    assert_int_equal(ok("-86400"), S(-86400));
    assert_int_equal(ok("1714564800250"), INT64_C(1714564800250000));         /* ms */
    assert_int_equal(ok("1714564800250.5"), INT64_C(1714564800250500));       /* ms */
    assert_int_equal(ok("1714564800250001"), INT64_C(1714564800250001));      /* us */
    assert_int_equal(ok("1714564800250001999"), INT64_C(1714564800250001));   /* ns */
    assert_int_equal(ok("-1714564800250001999"), INT64_C(-1714564800250002)); /* ns, floor */
    assert_int_equal(ok("-1714564800250"), INT64_C(-1714564800250000));       /* ms */
    /* forced units */
    assert_int_equal(ok_unit("1700000000", FERRY_TS_S), S(1700000000));
    assert_int_equal(ok_unit("1700000000", FERRY_TS_MS), INT64_C(1700000000000));
    assert_int_equal(ok_unit("1700000000", FERRY_TS_US), INT64_C(1700000000));
    assert_int_equal(ok_unit("1700000000", FERRY_TS_NS), INT64_C(1700000));
    assert_int_equal(ok_unit("1714564800250", FERRY_TS_S), S(1714564800250));
    assert_int_equal(ok_unit("1.5", FERRY_TS_MS), 1500);
    assert_int_equal(ok_unit("1.5", FERRY_TS_US), 1);
    assert_int_equal(ok_unit("1.5", FERRY_TS_NS), 0);
    assert_int_equal(ok_unit("-1.5", FERRY_TS_US), -2);
    assert_int_equal(ok_unit("-1.5", FERRY_TS_NS), -1);
    assert_int_equal(ok_unit("1999", FERRY_TS_NS), 1);
    assert_int_equal(ok_unit("-1999", FERRY_TS_NS), -2);
    assert_int_equal(ok_unit("-1000", FERRY_TS_NS), -1);
    /* ISO text is ISO whatever the unit */
    assert_int_equal(ok_unit("2024-05-01T12:00:00Z", FERRY_TS_MS), S(1714564800));
}

static void test_epoch_auto_thresholds(void **state)
{
    /* |x| < 1e11 s, < 1e14 ms, < 1e17 us, else ns */
    assert_int_equal(ok("99999999999"), S(99999999999));
    assert_int_equal(ok("99999999999.9"), INT64_C(99999999999900000));
    assert_int_equal(ok("100000000000"), INT64_C(100000000000000)); /* 1e11: ms */
    assert_int_equal(ok("-100000000000"), INT64_C(-100000000000000));
    assert_int_equal(ok("99999999999999"), INT64_C(99999999999999000));
    assert_int_equal(ok("100000000000000"), INT64_C(100000000000000)); /* 1e14: us */
    assert_int_equal(ok("99999999999999999"), INT64_C(99999999999999999));
    assert_int_equal(ok("100000000000000000"), INT64_C(100000000000000)); /* 1e17: ns */
}

static void test_epoch_sub_us_floor(void **state)
{
    assert_int_equal(ok("0.0000005"), 0);
    assert_int_equal(ok("-0.0000005"), -1);
    assert_int_equal(ok("-0.000001"), -1);
    assert_int_equal(ok("-0.0000010"), -1);
    assert_int_equal(ok("-0.0000010000000000000000001"), -2);
    assert_int_equal(ok("1.0000009"), 1000000);
    assert_int_equal(ok("-1.0000009"), -1000001);
    /* a very long fraction is no problem */
    char big[4096];
    memset(big, '0', sizeof big);
    memcpy(big, "-0.", 3);
    big[sizeof big - 2] = '1';
    big[sizeof big - 1] = '\0';
    assert_int_equal(ok(big), -1);
    assert_int_equal(ok(big + 1), 0);
}

static void test_epoch_overflow(void **state)
{
    assert_int_equal(ok_unit("9223372036854775807", FERRY_TS_US), INT64_MAX);
    assert_int_equal(ok_unit("-9223372036854775808", FERRY_TS_US), INT64_MIN);
    assert_int_equal(ok_unit("9223372036854.775807", FERRY_TS_S), INT64_MAX);
    assert_int_equal(ok_unit("-9223372036854.775808", FERRY_TS_S), INT64_MIN);
    assert_int_equal(ok_unit("-9223372036854775808000", FERRY_TS_NS), INT64_MIN);
    bad_unit("9223372036854775808", FERRY_TS_US, "out of range");
    bad_unit("-9223372036854775809", FERRY_TS_US, "out of range");
    bad_unit("-9223372036854775808.1", FERRY_TS_US, "out of range");
    bad_unit("9223372036854.775808", FERRY_TS_S, "out of range");
    bad_unit("9223372036855", FERRY_TS_S, "out of range");
    bad_unit("18446744073709551616", FERRY_TS_US, "out of range");
    bad_unit("99999999999999999999999999999999999999", FERRY_TS_NS, "out of range");
    bad("99999999999999999999999999999999999999999999999999", "out of range");
    bad("-99999999999999999999999999999999999999999999999999", "out of range");
}

static void test_epoch_malformed(void **state)
{
    bad("1e9", "epoch number");
    bad("1.7e9", "epoch number");
    bad("0x10", "epoch number");
    bad("1,5", "epoch number");
    bad("1 700 000 000", "epoch number");
    bad("--1", "epoch number");
    bad("+", "epoch number");
    bad("-", "epoch number");
    bad(".", "epoch number");
    bad("1.2.3", "epoch number");
    bad("12345-", "epoch number");
    bad("nan", "epoch number");
}

static void test_default_offset(void **state)
{
    ferry_ts_conf_t conf = {FERRY_TS_AUTO, 9 * 3600};
    int64_t us;
    const char *s = "2024-05-01T12:00:00";
    assert_int_equal(ferry_ts_parse_conf(s, strlen(s), &conf, &us, NULL), FERRY_OK);
    assert_int_equal(us, S(1714564800 - 9 * 3600));
    s = "2024-05-01"; /* midnight in the default zone */
    assert_int_equal(ferry_ts_parse_conf(s, strlen(s), &conf, &us, NULL), FERRY_OK);
    assert_int_equal(us, S(1714521600 - 9 * 3600));
    s = "2024-05-01T12:00:00Z"; /* an explicit zone wins */
    assert_int_equal(ferry_ts_parse_conf(s, strlen(s), &conf, &us, NULL), FERRY_OK);
    assert_int_equal(us, S(1714564800));
    s = "1714564800"; /* epoch numbers are UTC by definition */
    assert_int_equal(ferry_ts_parse_conf(s, strlen(s), &conf, &us, NULL), FERRY_OK);
    assert_int_equal(us, S(1714564800));
    conf.unit = FERRY_TS_MS;
    assert_int_equal(ferry_ts_parse_conf(s, strlen(s), &conf, &us, NULL), FERRY_OK);
    assert_int_equal(us, INT64_C(1714564800000));
    /* NULL conf: auto, UTC */
    s = "2024-05-01T12:00:00";
    assert_int_equal(ferry_ts_parse_conf(s, strlen(s), NULL, &us, NULL), FERRY_OK);
    assert_int_equal(us, S(1714564800));
}

static void fmt_is(int64_t us, const char *want)
{
    char out[FERRY_TS_FORMAT_MAX];
    size_t n = ferry_ts_format(us, out, sizeof out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_format(void **state)
{
    fmt_is(0, "1970-01-01T00:00:00.000000Z");
    fmt_is(-1, "1969-12-31T23:59:59.999999Z");
    fmt_is(INT64_C(1714564800250001), "2024-05-01T12:00:00.250001Z");
    fmt_is(INT64_C(253402300799999999), "9999-12-31T23:59:59.999999Z");
    fmt_is(INT64_C(253402300800000000), "+10000-01-01T00:00:00.000000Z");
    fmt_is(S(-62167219200), "0000-01-01T00:00:00.000000Z");
    fmt_is(S(-62167219200) - 1, "-0001-12-31T23:59:59.999999Z");
    fmt_is(INT64_MAX, "+294247-01-10T04:00:54.775807Z");
    fmt_is(INT64_MIN, "-290308-12-21T19:59:05.224192Z");
    assert_true(strlen("-290308-12-21T19:59:05.224192Z") < FERRY_TS_FORMAT_MAX);
    /* truncation like snprintf */
    char small[11];
    assert_int_equal(ferry_ts_format(0, small, sizeof small), 27);
    assert_string_equal(small, "1970-01-01");
}

/* Every day from 1600 to 2400 and pseudo-random instants in 0001..9999: format and parse
 * agree, and the calendar matches glibc's gmtime_r. */
static void test_round_trip_and_gmtime(void **state)
{
    char out[FERRY_TS_FORMAT_MAX];
    int64_t first = ok("1600-01-01"), last = ok("2400-12-31");
    int64_t prev_us = first - S(86400);
    for (int64_t us = first; us <= last; us += S(86400)) {
        ferry_ts_format(us, out, sizeof out);
        assert_int_equal(ok(out), us);
        assert_int_equal(us - prev_us, S(86400));
        prev_us = us;
    }
    uint64_t x = 88172645463325252ULL;
    const int64_t lo = ok("0001-01-01"), span = ok("9999-12-31T23:59:59.999999") - lo;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t us = lo + (int64_t)(x % (uint64_t)span);
        if (i % 2)
            us -= us % 1000000; /* also whole seconds */
        ferry_ts_format(us, out, sizeof out);
        assert_int_equal(ok(out), us);
        int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
        time_t t = (time_t)secs;
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        char want[64];
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (strncmp(out, want, 19) != 0)
            fail_msg("%lld: ours %s, gmtime %s", (long long)us, out, want);
    }
}

static void test_units_and_offsets(void **state)
{
    ferry_ts_unit u;
    assert_int_equal(ferry_ts_unit_parse("auto", &u), 0);
    assert_int_equal(u, FERRY_TS_AUTO);
    assert_int_equal(ferry_ts_unit_parse("s", &u), 0);
    assert_int_equal(u, FERRY_TS_S);
    assert_int_equal(ferry_ts_unit_parse("ms", &u), 0);
    assert_int_equal(u, FERRY_TS_MS);
    assert_int_equal(ferry_ts_unit_parse("us", &u), 0);
    assert_int_equal(u, FERRY_TS_US);
    assert_int_equal(ferry_ts_unit_parse("µs", &u), 0);
    assert_int_equal(u, FERRY_TS_US);
    assert_int_equal(ferry_ts_unit_parse("ns", &u), 0);
    assert_int_equal(u, FERRY_TS_NS);
    assert_int_equal(ferry_ts_unit_parse("sec", &u), -1);
    assert_int_equal(ferry_ts_unit_parse("", &u), -1);
    assert_int_equal(ferry_ts_unit_parse(NULL, &u), -1);
    assert_string_equal(ferry_ts_unit_name(FERRY_TS_NS), "ns");
    assert_string_equal(ferry_ts_unit_name(FERRY_TS_AUTO), "auto");

    int32_t off = 1;
    ferry_err_t err;
    assert_int_equal(ferry_ts_offset_parse("Z", &off, &err), FERRY_OK);
    assert_int_equal(off, 0);
    assert_int_equal(ferry_ts_offset_parse("utc", &off, &err), FERRY_OK);
    assert_int_equal(off, 0);
    assert_int_equal(ferry_ts_offset_parse("+09:00", &off, &err), FERRY_OK);
    assert_int_equal(off, 32400);
    assert_int_equal(ferry_ts_offset_parse(" -0530 ", &off, &err), FERRY_OK);
    assert_int_equal(off, -19800);
    assert_int_equal(ferry_ts_offset_parse("+09", &off, &err), FERRY_OK);
    assert_int_equal(off, 32400);
    assert_int_equal(ferry_ts_offset_parse("+9", &off, &err), FERRY_USAGE);
    assert_non_null(strstr(err.msg, "bad zone offset \"+9\""));
    assert_int_equal(ferry_ts_offset_parse("+24:00", &off, &err), FERRY_USAGE);
    assert_int_equal(ferry_ts_offset_parse("EST", &off, &err), FERRY_USAGE);
    assert_int_equal(ferry_ts_offset_parse(NULL, &off, &err), FERRY_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso_basic),
        cmocka_unit_test(test_iso_offsets),
        cmocka_unit_test(test_iso_fractions),
        cmocka_unit_test(test_iso_calendar),
        cmocka_unit_test(test_iso_malformed),
        cmocka_unit_test(test_epoch_units),
        cmocka_unit_test(test_epoch_auto_thresholds),
        cmocka_unit_test(test_epoch_sub_us_floor),
        cmocka_unit_test(test_epoch_overflow),
        cmocka_unit_test(test_epoch_malformed),
        cmocka_unit_test(test_default_offset),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip_and_gmtime),
        cmocka_unit_test(test_units_and_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
