/* test_pg_secrets.c - what of a connection string is shown (ferry_pg_redact) and what a
 * libpq message quoting it keeps (ferry_pg_scrub). Expected strings are written by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ferry/pg.h"

static void redacts(const char *in, const char *want)
{
    char out[512];
    ferry_pg_redact(in, out, sizeof out);
    if (strcmp(out, want) != 0)
        fail_msg("redact(%s) = %s, want %s", in, out, want);
}

static void test_uri(void **state)
{
    redacts("postgresql://alice:pa55@db:5432/x?sslmode=require",
            "postgresql://alice:***@db:5432/x?sslmode=require");
    redacts("postgresql://ferry@127.0.0.1:5432/ferry", "postgresql://ferry@127.0.0.1:5432/ferry");
    redacts("postgres://db/x", "postgres://db/x");
    redacts("postgresql://alice@db/x?password=pa55&sslmode=require",
            "postgresql://alice@db/x?password=***&sslmode=require");
    /* a second password= is a password too, and so is a %-encoded key */
    redacts("postgresql://db/x?password=one&sslmode=disable&password=two",
            "postgresql://db/x?password=***&sslmode=disable&password=***");
    redacts("postgresql://db/x?%70assword=pa55", "postgresql://db/x?%70assword=***");
    /* an unescaped '@' or '?' in the password: nothing up to the last '@' is shown */
    redacts("postgresql://u:p@s?s@db/x", "postgresql://***@db/x");
    redacts("postgresql://u:p?s@db/x", "postgresql://u:***@db/x");
    redacts("postgresql://u:a%ZZb@db/x", "postgresql://u:***@db/x");
    /* two '@' before the path: libpq ends the user info at the first (found by fuzz.pg_redact) */
    redacts("postgresql://@?x=1&password=S3cr3t&y@db/x", "postgresql://***@db/x");
    /* an '@' in the query, no path: whatever reads it, a password= is not shown */
    redacts("postgresql://h?a=b@c&password=S3cr3t", "postgresql://h?a=b@c&password=***");
}

/* The overflow: a password= value shorter than "***" grew the string in place. */
static void test_short_uri_passwords(void **state)
{
    redacts("postgresql://db/x?password=&a=b", "postgresql://db/x?password=***&a=b");
    redacts("postgresql://db/x?password=", "postgresql://db/x?password=***");
    redacts("postgresql://db/x?password=a", "postgresql://db/x?password=***");
    char in[256];
    memset(in, 'a', sizeof in - 1);
    in[sizeof in - 1] = '\0';
    memcpy(in, "postgresql://db/x?password=&", 28);
    char *out = malloc(256);
    ferry_pg_redact(in, out, 256);
    assert_int_equal(strlen(out), 255);
    assert_memory_equal(out, "postgresql://db/x?password=***&aaa", 34);
    free(out);
}

static void test_keyword_value(void **state)
{
    redacts("host=db user=alice password=pa55 dbname=x",
            "host=db user=alice password=*** dbname=x");
    redacts("host=db password = 'p a\\'55' dbname=x", "host=db password = *** dbname=x");
    redacts("password=a\\ b dbname=x", "password=*** dbname=x");
    redacts("password=1 password=2", "password=*** password=***");
    /* a value that merely contains the word is shown; one that reads as an assignment is not
     * (secure by default: it is what libpq takes for a value after "key= ") */
    redacts("application_name=mypassword dbname=y", "application_name=mypassword dbname=y");
    redacts("application_name=password=x dbname=y", "application_name=*** dbname=y");
    redacts("  host=db  ", "  host=db  ");
    /* libpq takes "password=x" as host's value here: hidden all the same */
    redacts("host= password=S3cr3t dbname=x", "host= *** dbname=x");
    redacts("host=password\t=S3cr3t dbname=x", "host=password\t***");
}

/* A bare word is a database name to libpq - or the content of a password file given by
 * mistake - and is never shown; nor is anything after a part that does not parse. */
static void test_unparsed(void **state)
{
    redacts("Secret123", "***");
    redacts("host=db Secret123 password=x", "host=db ***");
    redacts("=x", "***");
    redacts("", "");
}

static void test_cut_to_size(void **state)
{
    char out[8];
    ferry_pg_redact("host=db user=alice password=pa55", out, sizeof out);
    assert_string_equal(out, "host=db");
    ferry_pg_redact(NULL, out, sizeof out);
    assert_string_equal(out, "(none)");
    char one[1] = {'x'};
    ferry_pg_redact("host=db", one, 1);
    assert_int_equal(one[0], '\0');
}

static void scrubs(const char *conninfo, const char *msg, const char *want)
{
    char out[512];
    ferry_pg_scrub(conninfo, msg, out, sizeof out);
    if (strcmp(out, want) != 0)
        fail_msg("scrub(%s, %s) = %s, want %s", conninfo, msg, out, want);
}

static void test_scrub(void **state)
{
    /* libpq's own wording for a bad %-escape and for a bare word */
    scrubs("postgresql://ferry:Wrong%ZZPassw0rdXYZ@127.0.0.1/ferry",
           "invalid percent-encoded token: \"Wrong%ZZPassw0rdXYZ\"",
           "invalid percent-encoded token: \"***\"");
    scrubs("postgresql://ferry:p%41ss@h/x", "password for pAss and p%41ss",
           "password for *** and ***");
    scrubs("Secret123", "FATAL:  database \"Secret123\" does not exist",
           "FATAL:  database \"***\" does not exist");
    scrubs("host=h password='a\\'b'", "x a'b y", "x *** y");
    scrubs("host=h", "connection to server at \"h\" failed",
           "connection to server at \"h\" failed");
    scrubs(NULL, "plain", "plain");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri),           cmocka_unit_test(test_short_uri_passwords),
        cmocka_unit_test(test_keyword_value), cmocka_unit_test(test_unparsed),
        cmocka_unit_test(test_cut_to_size),   cmocka_unit_test(test_scrub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
