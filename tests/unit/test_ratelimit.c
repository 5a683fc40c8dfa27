/* test_ratelimit.c - the request pacing (token bucket) and backoff of include/ferry/ratelimit.h
 * and the Retry-After, escaping and redaction helpers of include/ferry/http.h.
 *
 * The limiter is driven by a simulated clock: a greedy client asks for a start as soon as
 * the limiter allows, waking up late by a random few ms (and sometimes stalling), and every
 * 1-second window of the starts is counted - both as granted and as a server would see them
 * with some network jitter added. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ferry/http.h"
#include "ferry/ratelimit.h"

/* Largest number of times in any half-open window [t, t + 1 s). ts must be sorted. */
static int max_in_window(const int64_t *ts, int n)
{
    int best = 0, j = 0;
    for (int i = 0; i < n; i++) {
        while (ts[i] - ts[j] >= 1000000)
            j++;
        if (i - j + 1 > best)
            best = i - j + 1;
    }
    return best;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Simulates a greedy client for `secs` seconds; returns the number of starts and fills
 * starts[] (and seen[]: the starts plus up to jitter_us of delay, sorted). */
static int simulate(double rate, int secs, int64_t max_late_us, int stall_every, int64_t jitter_us,
                    int64_t *starts, int64_t *seen, int cap, uint64_t seed)
{
    ferry_ratelimit_t rl;
    ferry_ratelimit_init(&rl, rate);
    uint64_t rng = seed;
    int64_t now = 1000000; /* arbitrary origin */
    int64_t end = now + (int64_t)secs * 1000000;
    int n = 0;
    while (now < end && n < cap) {
        if (ferry_ratelimit_try(&rl, now)) {
            starts[n] = now;
            seen[n] = now + (jitter_us ? (int64_t)(ferry_rand64(&rng) % (uint64_t)jitter_us) : 0);
            n++;
            continue; /* greedy: ask again at once */
        }
        int64_t d = ferry_ratelimit_delay_us(&rl, now);
        assert_true(d > 0);
        int64_t late = max_late_us ? (int64_t)(ferry_rand64(&rng) % (uint64_t)max_late_us) : 0;
        if (stall_every && ferry_rand64(&rng) % (uint64_t)stall_every == 0)
            late += 80000; /* the process was descheduled for 80 ms */
        now += d + late;
    }
    qsort(seen, (size_t)n, sizeof *seen, cmp64);
    return n;
}

static void test_window_never_exceeded(void **state)
{
    static const double rates[] = {1, 2.5, 5, 10, 20, 25, 40, 41.5, 100, 333};
    enum { CAP = 40000 };
    int64_t *starts = malloc(CAP * sizeof *starts), *seen = malloc(CAP * sizeof *seen);
    for (size_t r = 0; r < sizeof rates / sizeof *rates; r++) {
        double rate = rates[r];
        int limit = (int)rate;
        for (uint64_t seed = 1; seed <= 5; seed++) {
            /* Punctual client, no jitter. */
            int n = simulate(rate, 20, 0, 0, 0, starts, seen, CAP, seed);
            assert_true(max_in_window(starts, n) <= limit);
            /* Late wake-ups of up to 3 ms, occasional stalls, and up to 10 ms of network
             * jitter between the start and the server: still never more than the limit. */
            n = simulate(rate, 20, 3000, 50, 10000, starts, seen, CAP, seed);
            assert_true(max_in_window(starts, n) <= limit);
            assert_true(max_in_window(seen, n) <= limit);
        }
        /* And the rate is used: at least 95 % of it with 1 ms wake-up latency. */
        int n = simulate(rate, 20, 1000, 0, 0, starts, seen, CAP, 7);
        assert_true((double)n >= 0.95 * limit * 20);
        assert_true(n <= limit * 20 + 1);
    }
    free(starts);
    free(seen);
}

static void test_exact_rate_and_first_start(void **state)
{
    ferry_ratelimit_t rl;
    ferry_ratelimit_init(&rl, 40);
    assert_int_equal(ferry_ratelimit_delay_us(&rl, 5), 0);
    assert_int_equal(ferry_ratelimit_try(&rl, 5), 1); /* the first start is immediate */
    assert_int_equal(ferry_ratelimit_try(&rl, 5), 0); /* the bucket holds one token */
    int64_t d = ferry_ratelimit_delay_us(&rl, 5);
    /* 1 s / (40 x 0.975) = 25641 us between starts */
    assert_true(d >= 25000 && d <= 25700);
    assert_int_equal(ferry_ratelimit_try(&rl, 5 + d - 1), 0);
    assert_int_equal(ferry_ratelimit_try(&rl, 5 + d), 1);
}

static void test_idle_does_not_bank_tokens(void **state)
{
    ferry_ratelimit_t rl;
    ferry_ratelimit_init(&rl, 10);
    assert_true(ferry_ratelimit_try(&rl, 0));
    /* After 10 idle seconds only ONE start is allowed at once: no burst. */
    assert_true(ferry_ratelimit_try(&rl, 10000000));
    assert_false(ferry_ratelimit_try(&rl, 10000000));
    assert_false(ferry_ratelimit_try(&rl, 10050000));
}

static void test_hold(void **state)
{
    ferry_ratelimit_t rl;
    ferry_ratelimit_init(&rl, 100);
    assert_true(ferry_ratelimit_try(&rl, 0));
    ferry_ratelimit_hold(&rl, 1000000); /* Retry-After: 1 */
    ferry_ratelimit_hold(&rl, 500000);  /* an earlier hold does not shorten it */
    assert_false(ferry_ratelimit_try(&rl, 999999));
    assert_int_equal(ferry_ratelimit_delay_us(&rl, 400000), 600000);
    assert_true(ferry_ratelimit_try(&rl, 1000000));
    assert_false(ferry_ratelimit_try(&rl, 1000001));
}

static void test_unlimited(void **state)
{
    ferry_ratelimit_t rl;
    ferry_ratelimit_init(&rl, 0);
    for (int i = 0; i < 1000; i++)
        assert_true(ferry_ratelimit_try(&rl, 42));
    assert_int_equal(ferry_ratelimit_delay_us(&rl, 42), 0);
    ferry_ratelimit_hold(&rl, 100);
    assert_false(ferry_ratelimit_try(&rl, 99));
    assert_true(ferry_ratelimit_try(&rl, 100));
}

static void test_backoff(void **state)
{
    uint64_t rng = 12345;
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 200; i++) {
        int64_t d = ferry_backoff_ms(0, 500, 30000, &rng);
        assert_true(d >= 250 && d <= 500);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    assert_true(hi - lo > 100); /* there is jitter */
    for (int i = 0; i < 200; i++) {
        int64_t d = ferry_backoff_ms(3, 500, 30000, &rng); /* 500 * 2^3 = 4000 */
        assert_true(d >= 2000 && d <= 4000);
        d = ferry_backoff_ms(10, 500, 30000, &rng); /* capped */
        assert_true(d >= 15000 && d <= 30000);
        d = ferry_backoff_ms(1000, 500, 30000, &rng); /* no overflow */
        assert_true(d >= 15000 && d <= 30000);
    }
    /* Same seed, same sequence; seed 0 works. */
    uint64_t a = 0, b = 0;
    for (int i = 0; i < 10; i++)
        assert_int_equal(ferry_backoff_ms((unsigned)i, 100, 10000, &a),
                         ferry_backoff_ms((unsigned)i, 100, 10000, &b));
    assert_true(a != 0);
}

static void test_retry_after(void **state)
{
    int64_t ms = -5;
    const int64_t now = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */
    assert_int_equal(ferry_http_parse_retry_after("1", now, &ms), 0);
    assert_int_equal(ms, 1000);
    assert_int_equal(ferry_http_parse_retry_after("  120 \r\n", now, &ms), 0);
    assert_int_equal(ms, 120000);
    assert_int_equal(ferry_http_parse_retry_after("0", now, &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(ferry_http_parse_retry_after("99999999999999999999999", now, &ms), 0);
    assert_int_equal(ms, INT64_C(1000000000) * 1000);
    /* HTTP-date, in the three forms HTTP/1.1 allows */
    assert_int_equal(ferry_http_parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now, &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(ferry_http_parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now, &ms),
                     0);
    assert_int_equal(ms, 60000);
    assert_int_equal(ferry_http_parse_retry_after("Wed Oct 21 07:28:05 2015", now, &ms), 0);
    assert_int_equal(ms, 5000);
    /* a date in the past means now */
    assert_int_equal(ferry_http_parse_retry_after("Tue, 20 Oct 2015 07:28:00 GMT", now, &ms), 0);
    assert_int_equal(ms, 0);
    /* not a Retry-After */
    static const char *const bad[] = {"", "   ", "-1", "+5", "1.5", "12:00", "soon", "1 2", NULL};
    for (const char *const *b = bad; *b; b++) {
        ms = -5;
        assert_int_equal(ferry_http_parse_retry_after(*b, now, &ms), -1);
        assert_int_equal(ms, -5);
    }
    assert_int_equal(ferry_http_parse_retry_after(NULL, now, &ms), -1);
}

static void test_escape(void **state)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_http_escape(&b, "ko-KR");
    assert_string_equal(ferry_buf_cstr(&b), "ko-KR");
    ferry_buf_reset(&b);
    ferry_http_escape(&b, "a b&c=d/\xc3\xa9~_.");
    assert_string_equal(ferry_buf_cstr(&b), "a%20b%26c%3Dd%2F%C3%A9~_.");
    ferry_buf_free(&b);
}

static void test_redact(void **state)
{
    char out[256];
    ferry_http_redact_url(
        "https://api.themoviedb.org/3/movie/popular?page=1&api_key=S3CR3T&language=ko-KR", out,
        sizeof out);
    assert_null(strstr(out, "S3CR3T"));
    assert_string_equal(
        out, "https://api.themoviedb.org/3/movie/popular?page=1&api_key=***&language=ko-KR");
    ferry_http_redact_url("http://user:pw@host:8080/x?TOKEN=abc&b=1#frag", out, sizeof out);
    assert_string_equal(out, "http://***@host:8080/x?TOKEN=***&b=1#frag");
    ferry_http_redact_url("GET /m?api_key=K failed: Connection refused", out, sizeof out);
    assert_string_equal(out, "GET /m?api_key=*** failed: Connection refused");
    ferry_http_redact_url("http://h/p?monkey=1&key=2", out, sizeof out);
    assert_string_equal(out, "http://h/p?monkey=1&key=***");
    ferry_http_redact_url("http://h/p?api_key=abcdef", out, 12); /* truncated, terminated */
    assert_int_equal(strlen(out), 11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_never_exceeded),
        cmocka_unit_test(test_exact_rate_and_first_start),
        cmocka_unit_test(test_idle_does_not_bank_tokens),
        cmocka_unit_test(test_hold),
        cmocka_unit_test(test_unlimited),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
