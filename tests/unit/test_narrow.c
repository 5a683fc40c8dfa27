/* test_narrow.c - unit tests of the narrow-table description that need no database: the
 * --narrow-columns spec, the typing of text values, and what a reading becomes in a column of
 * each kind (test_narrow in tests/integration holds the SQL twins to the same answers). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ferry/narrow.h"

static void test_spec(void **state)
{
    ferry_narrow_spec_t s;
    ferry_err_t err;
    assert_int_equal(
        ferry_narrow_spec_parse("ship=vessel,channel=tag,time=created,value=val", &s, &err),
        FERRY_OK);
    assert_string_equal(s.ship, "vessel");
    assert_string_equal(s.channel, "tag");
    assert_string_equal(s.time, "created");
    assert_string_equal(s.value, "val");
    assert_null(s.unit);
    ferry_narrow_spec_free(&s);
    /* exact names, quoted ones with ',' '=' '"' and spaces, spaces around keys */
    assert_int_equal(ferry_narrow_spec_parse("ship=ShipID, channel=\"a,b=\"\"c\"\" \" ,time=Zeit,"
                                             " value_double=vd,value_text=vt,unit=Einheit ",
                                             &s, &err),
                     FERRY_OK);
    assert_string_equal(s.ship, "ShipID");
    assert_string_equal(s.channel, "a,b=\"c\" ");
    assert_string_equal(s.time, "Zeit");
    assert_string_equal(s.value_double, "vd");
    assert_string_equal(s.value_text, "vt");
    assert_string_equal(s.unit, "Einheit ");
    assert_null(s.value);
    ferry_narrow_spec_free(&s);
    const struct {
        const char *spec, *why;
    } bad[] = {
        {"", "empty"},
        {"ship=a,channel=b,time=c", "required"},
        {"ship=a,channel=b,value=d", "required"},
        {"ship=a,channel=b,time=c,value=d,value_long=e", "exclude"},
        {"ship=a,ship=b,channel=b,time=c,value=d", "twice"},
        {"ship=a,channel=b,time=c,value=d,colour=e", "unknown key"},
        {"ship=a,channel=,time=c,value=d", "empty"},
        {"ship=a,channel=b,time=c,value=\"d", "unterminated"},
        {"ship=a,channel=b,time=c,value=\"d\"x", "expected ','"},
        {"ship a,channel=b,time=c,value=d", "expected key=COLUMN"},
        {"SHIP=a,channel=b,time=c,value=d", "unknown key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ferry_status st = ferry_narrow_spec_parse(bad[i].spec, &s, &err);
        if (st != FERRY_USAGE || !strstr(err.msg, bad[i].why))
            fail_msg("'%s': status %d, message '%s' (expected one naming '%s')", bad[i].spec, st,
                     st ? err.msg : "", bad[i].why);
        ferry_narrow_spec_free(&s);
    }
}

/* Expected typing of text values, by the documented rule (narrow.h). */
static void test_infer_text(void **state)
{
    const struct {
        const char *text;
        ferry_value_type type;
        double d;
        int64_t l;
    } v[] = {
        {"42", FERRY_VALUE_LONG, 0, 42},
        {"-0", FERRY_VALUE_LONG, 0, 0},
        {"+5", FERRY_VALUE_LONG, 0, 5},
        {"007", FERRY_VALUE_LONG, 0, 7},
        {"9223372036854775807", FERRY_VALUE_LONG, 0, INT64_MAX},
        {"-9223372036854775808", FERRY_VALUE_LONG, 0, INT64_MIN},
        {"9223372036854775808", FERRY_VALUE_DOUBLE, 9223372036854775808.0, 0},
        {"00000000000000000001", FERRY_VALUE_DOUBLE, 1.0, 0}, /* 20 digits */
        {"12.5", FERRY_VALUE_DOUBLE, 12.5, 0},
        {"5.", FERRY_VALUE_DOUBLE, 5.0, 0},
        {".5", FERRY_VALUE_DOUBLE, 0.5, 0},
        {"-1.25e-3", FERRY_VALUE_DOUBLE, -0.00125, 0},
        {"1e+16", FERRY_VALUE_DOUBLE, 1e16, 0},
        {"1E5", FERRY_VALUE_DOUBLE, 1e5, 0},
        {"0.30000000000000004", FERRY_VALUE_DOUBLE, 0.30000000000000004, 0},
        {"0.0", FERRY_VALUE_DOUBLE, 0.0, 0},
        {"0e999", FERRY_VALUE_DOUBLE, 0.0, 0},
        {"9.99e307", FERRY_VALUE_DOUBLE, 9.99e307, 0},
        {"1e-307", FERRY_VALUE_DOUBLE, 1e-307, 0},
        {"0.001e-304", FERRY_VALUE_DOUBLE, 1e-307, 0},
        {"1000e304", FERRY_VALUE_DOUBLE, 1e307, 0},
        {"1e308", FERRY_VALUE_STRING, 0, 0},
        {"10000e304", FERRY_VALUE_STRING, 0, 0},
        {"9.9e-308", FERRY_VALUE_STRING, 0, 0},
        {"1e1000", FERRY_VALUE_STRING, 0, 0},
        {"NaN", FERRY_VALUE_STRING, 0, 0},
        {"Infinity", FERRY_VALUE_STRING, 0, 0},
        {" 12", FERRY_VALUE_STRING, 0, 0},
        {"12 ", FERRY_VALUE_STRING, 0, 0},
        {"", FERRY_VALUE_STRING, 0, 0},
        {"1,5", FERRY_VALUE_STRING, 0, 0},
        {"0x10", FERRY_VALUE_STRING, 0, 0},
        {"1e", FERRY_VALUE_STRING, 0, 0},
        {"e5", FERRY_VALUE_STRING, 0, 0},
        {".", FERRY_VALUE_STRING, 0, 0},
        {"-", FERRY_VALUE_STRING, 0, 0},
        {"+-1", FERRY_VALUE_STRING, 0, 0},
        {"1.2.3", FERRY_VALUE_STRING, 0, 0},
        {"under way", FERRY_VALUE_STRING, 0, 0},
        {"true", FERRY_VALUE_STRING, 0, 0},
        {"1234567890123456789012345678901234567890123456789012345678901234", FERRY_VALUE_DOUBLE,
         1.234567890123456789e63, 0},
        {"12345678901234567890123456789012345678901234567890123456789012345", FERRY_VALUE_STRING, 0,
         0},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        ferry_reading_t r;
        memset(&r, 0, sizeof r);
        ferry_narrow_infer_text(v[i].text, strlen(v[i].text), &r);
        if (r.type != v[i].type)
            fail_msg("'%s' typed %d, expected %d", v[i].text, r.type, v[i].type);
        if (r.type == FERRY_VALUE_LONG && r.v.l != v[i].l)
            fail_msg("'%s' read as %lld", v[i].text, (long long)r.v.l);
        if (r.type == FERRY_VALUE_DOUBLE && r.v.d != v[i].d)
            fail_msg("'%s' read as %.17g", v[i].text, r.v.d);
        if (r.type == FERRY_VALUE_STRING &&
            (r.v.s.ptr != v[i].text || r.v.s.len != strlen(v[i].text)))
            fail_msg("'%s' string does not point at the text", v[i].text);
    }
}

static ferry_narrow_t one_column(ferry_nkind kind, const char *type)
{
    ferry_narrow_t n;
    memset(&n, 0, sizeof n);
    n.single = 1;
    n.value.name = (char *)"val";
    n.value.q = (char *)"\"val\"";
    n.value.type = (char *)type;
    n.value.kind = kind;
    if (kind == FERRY_NK_INT) {
        n.value.imin = strcmp(type, "smallint") == 0 ? -32768 : INT64_MIN;
        n.value.imax = strcmp(type, "smallint") == 0 ? 32767 : INT64_MAX;
    }
    if (kind == FERRY_NK_NUMERIC && strcmp(type, "numeric(12,3)") == 0) {
        n.value.prec = 12;
        n.value.scale = 3;
    }
    return n;
}

static ferry_reading_t rd(ferry_value_type t, double d, int64_t l, const char *s)
{
    ferry_reading_t r;
    memset(&r, 0, sizeof r);
    r.ship_id = (ferry_str_t){"S", 1};
    r.channel_id = (ferry_str_t){"C", 1};
    r.type = t;
    if (t == FERRY_VALUE_DOUBLE)
        r.v.d = d;
    else if (t == FERRY_VALUE_LONG)
        r.v.l = l;
    else if (t == FERRY_VALUE_BOOL)
        r.v.b = (int)l;
    else if (t == FERRY_VALUE_STRING)
        r.v.s = (ferry_str_t){s, strlen(s)};
    return r;
}

/* coerce(kind, reading) -> expected type after, or -1 with the expected reason */
static void expect(ferry_nkind kind, const char *type, ferry_reading_t r, int want_type,
                   const char *want_reason)
{
    ferry_narrow_t n = one_column(kind, type);
    char *owned = NULL, msg[256];
    const char *reason = NULL;
    int rc = ferry_narrow_coerce(&n, &r, &owned, &reason, msg, sizeof msg);
    if (want_reason) {
        if (rc == 0 || strcmp(reason, want_reason) != 0)
            fail_msg("%s: expected a rejection '%s', got rc %d (%s)", type, want_reason, rc,
                     rc ? reason : "accepted");
    } else if (rc != 0 || (int)r.type != want_type) {
        fail_msg("%s: expected type %d, got rc %d type %d (%s)", type, want_type, rc, r.type,
                 rc ? msg : "");
    }
    free(owned);
}

static void test_coerce(void **state)
{
    /* a text column: what the value's text will read back as */
    expect(FERRY_NK_TEXT, "text", rd(FERRY_VALUE_DOUBLE, 12.5, 0, NULL), FERRY_VALUE_DOUBLE, NULL);
    expect(FERRY_NK_TEXT, "text", rd(FERRY_VALUE_DOUBLE, 42.0, 0, NULL), FERRY_VALUE_LONG, NULL);
    expect(FERRY_NK_TEXT, "text", rd(FERRY_VALUE_DOUBLE, 1e15, 0, NULL), FERRY_VALUE_DOUBLE, NULL);
    expect(FERRY_NK_TEXT, "text", rd(FERRY_VALUE_DOUBLE, NAN, 0, NULL), FERRY_VALUE_STRING, NULL);
    expect(FERRY_NK_TEXT, "text", rd(FERRY_VALUE_DOUBLE, 1e-310, 0, NULL), FERRY_VALUE_STRING,
           NULL);
    expect(FERRY_NK_TEXT, "text", rd(FERRY_VALUE_LONG, 0, INT64_MAX, NULL), FERRY_VALUE_LONG, NULL);
    expect(FERRY_NK_TEXT, "text", rd(FERRY_VALUE_BOOL, 0, 1, NULL), FERRY_VALUE_STRING, NULL);
    expect(FERRY_NK_TEXT, "text", rd(FERRY_VALUE_STRING, 0, 0, "12"), FERRY_VALUE_LONG, NULL);
    expect(FERRY_NK_TEXT, "text", rd(FERRY_VALUE_STRING, 0, 0, "moored"), FERRY_VALUE_STRING, NULL);
    /* integer columns: integers only, in range */
    expect(FERRY_NK_INT, "bigint", rd(FERRY_VALUE_DOUBLE, 3.0, 0, NULL), FERRY_VALUE_LONG, NULL);
    expect(FERRY_NK_INT, "bigint", rd(FERRY_VALUE_DOUBLE, 1.5, 0, NULL), -1, "type_conflict");
    expect(FERRY_NK_INT, "bigint", rd(FERRY_VALUE_DOUBLE, 9223372036854775808.0, 0, NULL), -1,
           "value_out_of_range");
    expect(FERRY_NK_INT, "smallint", rd(FERRY_VALUE_LONG, 0, 32768, NULL), -1,
           "value_out_of_range");
    expect(FERRY_NK_INT, "smallint", rd(FERRY_VALUE_LONG, 0, -32768, NULL), FERRY_VALUE_LONG, NULL);
    expect(FERRY_NK_INT, "bigint", rd(FERRY_VALUE_STRING, 0, 0, "17"), FERRY_VALUE_LONG, NULL);
    expect(FERRY_NK_INT, "bigint", rd(FERRY_VALUE_STRING, 0, 0, "x"), -1, "type_conflict");
    expect(FERRY_NK_INT, "bigint", rd(FERRY_VALUE_BOOL, 0, 1, NULL), -1, "type_conflict");
    /* floating columns: any number; real's range */
    expect(FERRY_NK_FLOAT8, "double precision", rd(FERRY_VALUE_LONG, 0, 7, NULL),
           FERRY_VALUE_DOUBLE, NULL);
    expect(FERRY_NK_FLOAT4, "real", rd(FERRY_VALUE_DOUBLE, 1e39, 0, NULL), -1,
           "value_out_of_range");
    expect(FERRY_NK_FLOAT4, "real", rd(FERRY_VALUE_DOUBLE, 1e-50, 0, NULL), -1,
           "value_out_of_range");
    expect(FERRY_NK_FLOAT4, "real", rd(FERRY_VALUE_DOUBLE, 1.1, 0, NULL), FERRY_VALUE_DOUBLE, NULL);
    expect(FERRY_NK_FLOAT4, "real", rd(FERRY_VALUE_DOUBLE, INFINITY, 0, NULL), FERRY_VALUE_DOUBLE,
           NULL);
    /* numeric(12,3): finite and below 10^9 */
    expect(FERRY_NK_NUMERIC, "numeric(12,3)", rd(FERRY_VALUE_DOUBLE, 999999999.0, 0, NULL),
           FERRY_VALUE_DOUBLE, NULL);
    expect(FERRY_NK_NUMERIC, "numeric(12,3)", rd(FERRY_VALUE_DOUBLE, 1e9, 0, NULL), -1,
           "value_out_of_range");
    expect(FERRY_NK_NUMERIC, "numeric(12,3)", rd(FERRY_VALUE_DOUBLE, NAN, 0, NULL), -1,
           "value_out_of_range");
    expect(FERRY_NK_NUMERIC, "numeric", rd(FERRY_VALUE_DOUBLE, NAN, 0, NULL), FERRY_VALUE_DOUBLE,
           NULL);
    expect(FERRY_NK_NUMERIC, "numeric", rd(FERRY_VALUE_LONG, 0, INT64_MAX, NULL), FERRY_VALUE_LONG,
           NULL);
    expect(FERRY_NK_BOOL, "boolean", rd(FERRY_VALUE_BOOL, 0, 0, NULL), FERRY_VALUE_BOOL, NULL);
    expect(FERRY_NK_BOOL, "boolean", rd(FERRY_VALUE_STRING, 0, 0, "true"), -1, "type_conflict");
}

static void test_coerce_limits(void **state)
{
    ferry_narrow_t n = one_column(FERRY_NK_FLOAT8, "double precision");
    n.ship.name = (char *)"ship";
    n.ship.type = (char *)"character varying(3)";
    n.ship.maxchars = 3;
    ferry_reading_t r = rd(FERRY_VALUE_DOUBLE, 1, 0, NULL);
    char *owned = NULL, msg[256];
    const char *reason = NULL;
    r.ship_id = (ferry_str_t){"\xec\x84\xa0\xeb\xb0\x95\x31", 7}; /* 3 characters, 7 bytes */
    assert_int_equal(ferry_narrow_coerce(&n, &r, &owned, &reason, msg, sizeof msg), 0);
    r.ship_id = (ferry_str_t){"ABCD", 4};
    assert_int_equal(ferry_narrow_coerce(&n, &r, &owned, &reason, msg, sizeof msg), -1);
    assert_string_equal(reason, "value_too_long");
    n.ship.maxchars = 0;
    n.value.notnull = 1;
    r = rd(FERRY_VALUE_NULL, 0, 0, NULL);
    assert_int_equal(ferry_narrow_coerce(&n, &r, &owned, &reason, msg, sizeof msg), -1);
    assert_string_equal(reason, "not_null");
    /* one column per type: a value goes to its type's column, or is kept as text */
    ferry_narrow_t s;
    memset(&s, 0, sizeof s);
    s.slot[FERRY_NSLOT_DOUBLE] = (ferry_ncol_t){.name = (char *)"vd", .kind = FERRY_NK_FLOAT8};
    s.slot[FERRY_NSLOT_TEXT] = (ferry_ncol_t){.name = (char *)"vt", .kind = FERRY_NK_TEXT};
    r = rd(FERRY_VALUE_LONG, 0, 5, NULL);
    assert_int_equal(ferry_narrow_coerce(&s, &r, &owned, &reason, msg, sizeof msg), 0);
    assert_int_equal(r.type, FERRY_VALUE_DOUBLE);
    r = rd(FERRY_VALUE_BOOL, 0, 1, NULL);
    assert_int_equal(ferry_narrow_coerce(&s, &r, &owned, &reason, msg, sizeof msg), 0);
    assert_int_equal(r.type, FERRY_VALUE_STRING);
    assert_memory_equal(r.v.s.ptr, "true", 4);
    r = rd(FERRY_VALUE_STRING, 0, 0, "12");
    assert_int_equal(ferry_narrow_coerce(&s, &r, &owned, &reason, msg, sizeof msg), 0);
    assert_int_equal(r.type, FERRY_VALUE_STRING); /* a text column of its own: no inference */
    s.slot[FERRY_NSLOT_TEXT].name = NULL;
    r = rd(FERRY_VALUE_BOOL, 0, 1, NULL);
    assert_int_equal(ferry_narrow_coerce(&s, &r, &owned, &reason, msg, sizeof msg), -1);
    assert_string_equal(reason, "type_conflict");
    free(owned);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_infer_text),
        cmocka_unit_test(test_coerce),
        cmocka_unit_test(test_coerce_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
