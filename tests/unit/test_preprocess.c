/* test_preprocess.c - unit tests of `ferry preprocess`'s domain rules
 * (consumers/preprocess/movie.c, linked from ferry_preprocess): reading a MovieCrawled, every
 * validation rule with its dead-letter reason, release-date parsing, and the deterministic
 * watch-log derivation (same input -> same rows, bounds, monotonicity, golden values that
 * pin derivation version 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>

#include "ferry/avro.h"
#include "movie.h"

/* The first item of tests/fixtures/tmdb/popular_page1.json as a MovieCrawled. */
static const char *const spider_man =
    "{\"id\":634649,\"title\":\"Spider-Man: No Way Home\",\"original_title\":\"Spider-Man: No Way "
    "Home\",\"original_language\":\"en\",\"overview\":\"Peter Parker is unmasked.\","
    "\"release_date\":\"2021-12-15\",\"popularity\":17656.865,\"vote_average\":8.4,"
    "\"vote_count\":6786,\"adult\":false,\"video\":false,\"genre_ids\":[28,12,878],"
    "\"poster_path\":\"/1g0dhYtq4irTY1GPXvft6k4YLjm.jpg\",\"backdrop_path\":null,"
    "\"details_json\":null,\"raw_json\":\"{\\\"id\\\":634649}\",\"job_id\":\"j\","
    "\"endpoint\":\"/3/movie/popular\",\"page\":1,\"fetched_at\":1643673600123456,"
    "\"language\":null,\"region\":null}";

/* A MovieCrawled value from JSON text with `patch` (a JSON object) merged over it. */
static avro_value_t value_of(const char *json, const char *patch)
{
    json_error_t jerr;
    json_t *j = json_loads(json, JSON_ALLOW_NUL, &jerr);
    assert_non_null(j);
    if (patch) {
        json_t *p = json_loads(patch, JSON_ALLOW_NUL, &jerr);
        if (!p)
            fail_msg("bad patch %s: %s", patch, jerr.text);
        json_object_update(j, p);
        json_decref(p);
    }
    const ferry_schema_t *s = ferry_schema_get("MovieCrawled");
    assert_non_null(s);
    avro_value_t v;
    ferry_err_t err;
    if (ferry_avro_from_json(s, j, &v, &err) != FERRY_OK)
        fail_msg("from_json: %s", err.msg);
    json_decref(j);
    return v;
}

/* The validation reason for the fixture patched with `patch` (NULL when valid). */
static const char *reason_of(const char *patch)
{
    avro_value_t v = value_of(spider_man, patch);
    movie_t m;
    ferry_err_t err;
    assert_int_equal(movie_from_avro(&v, &m, &err), FERRY_OK);
    char msg[256];
    const char *r = movie_validate(&m, msg, sizeof msg);
    if (r)
        assert_true(strlen(msg) > 0);
    movie_clear(&m);
    avro_value_decref(&v);
    return r;
}

static void expect_reason(const char *patch, const char *want)
{
    const char *got = reason_of(patch);
    if (!want && got)
        fail_msg("%s: expected valid, got %s", patch ? patch : "(fixture)", got);
    if (want && (!got || strcmp(got, want) != 0))
        fail_msg("%s: expected %s, got %s", patch, want, got ? got : "valid");
}

static void test_read(void **state)
{
    avro_value_t v = value_of(spider_man, NULL);
    movie_t m;
    ferry_err_t err;
    assert_int_equal(movie_from_avro(&v, &m, &err), FERRY_OK);
    assert_int_equal(m.id, 634649);
    assert_string_equal(m.title.s, "Spider-Man: No Way Home");
    assert_int_equal(m.title.len, 23);
    assert_int_equal(m.ngenres, 3);
    assert_int_equal(m.genre_ids[2], 878);
    assert_string_equal(m.poster_path.s, "/1g0dhYtq4irTY1GPXvft6k4YLjm.jpg");
    assert_null(m.backdrop_path.s);
    assert_null(m.details_json.s);
    assert_null(m.language.s);
    assert_int_equal(m.fetched_at_us, 1643673600123456LL);
    assert_int_equal(m.page, 1);
    assert_true(m.vote_average == 8.4);
    movie_clear(&m);
    avro_value_decref(&v);

    /* a record of another schema is not a movie */
    const ferry_schema_t *t = ferry_schema_get("TelemetryReading");
    json_t *j = json_pack("{s:s, s:s, s:i, s:n}", "ship_id", "S", "channel_id", "c", "timestamp", 1,
                          "value");
    assert_int_equal(ferry_avro_from_json(t, j, &v, &err), FERRY_OK);
    json_decref(j);
    assert_int_equal(movie_from_avro(&v, &m, &err), FERRY_POISON);
    avro_value_decref(&v);
}

static void test_validate(void **state)
{
    expect_reason(NULL, NULL);
    /* non-Latin text, empty overview and release date, nulls, empty genres are fine */
    expect_reason("{\"title\":\"劇場版「鬼滅の刃」無限列車編\",\"overview\":\"\","
                  "\"release_date\":\"\",\"genre_ids\":[],\"poster_path\":null,"
                  "\"details_json\":\"{\\\"runtime\\\":117}\",\"language\":\"ko-KR\"}",
                  NULL);
    expect_reason("{\"vote_average\":0,\"vote_count\":0,\"popularity\":0}", NULL);
    expect_reason("{\"vote_average\":10}", NULL);
    expect_reason("{\"id\":0}", "invalid_id");
    expect_reason("{\"id\":-5}", "invalid_id");
    expect_reason("{\"title\":\"\"}", NULL); /* no translation: the original title names it */
    expect_reason("{\"title\":\"\",\"original_title\":\"\"}", "empty_title");
    expect_reason("{\"vote_average\":10.01}", "invalid_vote_average");
    expect_reason("{\"vote_average\":-0.1}", "invalid_vote_average");
    expect_reason("{\"vote_average\":\"NaN\"}", "invalid_vote_average");
    expect_reason("{\"vote_average\":\"Infinity\"}", "invalid_vote_average");
    expect_reason("{\"vote_count\":-1}", "invalid_vote_count");
    expect_reason("{\"popularity\":-0.5}", "invalid_popularity");
    expect_reason("{\"popularity\":\"Infinity\"}", "invalid_popularity");
    expect_reason("{\"popularity\":\"NaN\"}", "invalid_popularity");
    expect_reason("{\"release_date\":\"2021-13-01\"}", "invalid_release_date");
    expect_reason("{\"release_date\":\"15.12.2021\"}", "invalid_release_date");
    expect_reason("{\"release_date\":\"2021-12-15T00:00:00Z\"}", "invalid_release_date");
    expect_reason("{\"genre_ids\":[28,0]}", "invalid_genre_id");
    expect_reason("{\"page\":0}", "invalid_page");
    expect_reason("{\"fetched_at\":-1}", "invalid_fetched_at");
    expect_reason("{\"raw_json\":\"not json\"}", "invalid_raw_json");
    expect_reason("{\"raw_json\":\"[1,2]\"}", "invalid_raw_json");
    expect_reason("{\"details_json\":\"{\\\"a\\\":\"}", "invalid_details_json");
    expect_reason("{\"title\":\"a\\u0000b\"}", "nul_in_text");
    expect_reason("{\"region\":\"K\\u0000R\"}", "nul_in_text");
}

static void test_parse_date(void **state)
{
    int y, m, d;
    assert_int_equal(movie_parse_date("2021-12-15", 10, &y, &m, &d), 0);
    assert_int_equal(y, 2021);
    assert_int_equal(m, 12);
    assert_int_equal(d, 15);
    assert_int_equal(movie_parse_date("2024-02-29", 10, NULL, NULL, NULL), 0);
    assert_int_equal(movie_parse_date("2000-02-29", 10, NULL, NULL, NULL), 0);
    assert_int_equal(movie_parse_date("1900-02-29", 10, NULL, NULL, NULL), -1);
    assert_int_equal(movie_parse_date("2023-02-29", 10, NULL, NULL, NULL), -1);
    assert_int_equal(movie_parse_date("2021-04-31", 10, NULL, NULL, NULL), -1);
    assert_int_equal(movie_parse_date("2021-00-10", 10, NULL, NULL, NULL), -1);
    assert_int_equal(movie_parse_date("2021-01-00", 10, NULL, NULL, NULL), -1);
    assert_int_equal(movie_parse_date("2021-1-01", 9, NULL, NULL, NULL), -1);
    assert_int_equal(movie_parse_date("2021/01/01", 10, NULL, NULL, NULL), -1);
    assert_int_equal(movie_parse_date("1799-12-31", 10, NULL, NULL, NULL), -1);
    assert_int_equal(movie_parse_date("2021-12-1x", 10, NULL, NULL, NULL), -1);
    assert_int_equal(movie_parse_date("", 0, NULL, NULL, NULL), -1);
    /* the length is what counts, not a terminator */
    assert_int_equal(movie_parse_date("2021-12-15 and more", 10, NULL, NULL, NULL), 0);
    assert_int_equal(movie_parse_date("2021-12-15", 11, NULL, NULL, NULL), -1);
}

/* Derives the rows of the fixture patched with `patch`. */
static size_t derive(const char *patch, watch_row_t rows[MOVIE_MAX_VIEWS], movie_t *out)
{
    avro_value_t v = value_of(spider_man, patch);
    movie_t m;
    ferry_err_t err;
    assert_int_equal(movie_from_avro(&v, &m, &err), FERRY_OK);
    size_t n = movie_derive(&m, rows);
    if (out) {
        *out = m;
        out->genre_ids = NULL; /* strings borrow from v: do not use them after this */
        out->ngenres = 0;
    }
    movie_clear(&m);
    avro_value_decref(&v);
    return n;
}

/* Field by field: the struct has padding. */
static int rows_equal(const watch_row_t *a, const watch_row_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].user_id != b[i].user_id || a[i].content_id != b[i].content_id ||
            a[i].watch_seconds != b[i].watch_seconds || a[i].rating != b[i].rating ||
            a[i].popularity != b[i].popularity || a[i].event_time_us != b[i].event_time_us)
            return 0;
    return 1;
}

static void test_derive_deterministic(void **state)
{
    watch_row_t a[MOVIE_MAX_VIEWS], b[MOVIE_MAX_VIEWS];
    size_t na = derive(NULL, a, NULL);
    size_t nb = derive(NULL, b, NULL);
    assert_int_equal(na, nb);
    assert_true(rows_equal(a, b, na));
    /* fields outside the formulas do not change the rows */
    nb = derive("{\"title\":\"스파이더맨: 노 웨이 홈\",\"overview\":\"\",\"job_id\":\"other\","
                "\"page\":7,\"vote_count\":1,\"genre_ids\":[],\"raw_json\":\"{}\"}",
                b, NULL);
    assert_int_equal(na, nb);
    assert_true(rows_equal(a, b, na));
    /* the fetch time only shifts the event times */
    nb = derive("{\"fetched_at\":1643673600123457}", b, NULL);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].user_id, b[i].user_id);
        assert_int_equal(a[i].watch_seconds, b[i].watch_seconds);
        assert_true(a[i].rating == b[i].rating);
        assert_int_equal(a[i].event_time_us + 1, b[i].event_time_us);
    }
    /* another movie id gives other users and noise */
    nb = derive("{\"id\":634650}", b, NULL);
    assert_int_equal(na, nb);
    int users_differ = 0;
    for (size_t i = 0; i < na; i++)
        users_differ |= a[i].user_id != b[i].user_id;
    assert_true(users_differ);
    /* a changed score changes the rows */
    nb = derive("{\"vote_average\":8.5}", b, NULL);
    assert_true(na != nb || !rows_equal(a, b, na));
}

static void test_derive_bounds(void **state)
{
    static const char *const patches[] = {
        NULL,
        "{\"vote_average\":0,\"popularity\":0}",
        "{\"vote_average\":10,\"popularity\":1e12}",
        "{\"vote_average\":5,\"popularity\":3.5,\"id\":1}",
        "{\"vote_average\":9.99,\"popularity\":0.001,\"id\":9223372036854775807}",
        "{\"fetched_at\":0}",
    };
    for (size_t p = 0; p < sizeof patches / sizeof *patches; p++) {
        watch_row_t rows[MOVIE_MAX_VIEWS];
        movie_t m;
        size_t n = derive(patches[p], rows, &m);
        assert_true(n >= 1 && n <= MOVIE_MAX_VIEWS);
        assert_int_equal((int)n, movie_view_count(m.vote_average, m.popularity));
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(rows[i].content_id, m.id);
            assert_true(rows[i].user_id >= 1 && rows[i].user_id <= MOVIE_USER_POOL);
            for (size_t k = 0; k < i; k++)
                assert_true(rows[k].user_id != rows[i].user_id); /* distinct users */
            assert_true(rows[i].watch_seconds >= 0 &&
                        rows[i].watch_seconds <= MOVIE_RUNTIME_SECONDS);
            assert_true(rows[i].rating >= 0.5 && rows[i].rating <= 5.0);
            assert_true(rows[i].rating * 2 == (double)(int)(rows[i].rating * 2)); /* halves */
            assert_true(rows[i].popularity == m.popularity);
            assert_true(rows[i].event_time_us <= m.fetched_at_us);
            assert_true(rows[i].event_time_us > m.fetched_at_us - MOVIE_EVENT_WINDOW_S * 1000000LL);
            assert_int_equal((m.fetched_at_us - rows[i].event_time_us) % 1000000, 0);
        }
    }
}

static void test_derive_monotonic(void **state)
{
    /* more views for better-rated and for more popular movies */
    for (int va = 0; va < 100; va++)
        assert_true(movie_view_count(va / 10.0, 1000) <= movie_view_count((va + 1) / 10.0, 1000));
    for (double pop = 0; pop < 1e6; pop = pop * 1.5 + 1)
        assert_true(movie_view_count(7.0, pop) <= movie_view_count(7.0, pop * 1.5 + 1));
    assert_int_equal(movie_view_count(0, 0), 1);
    assert_true(movie_view_count(8.4, 17656.865) > movie_view_count(4.8, 1392.368));
    assert_int_equal(movie_view_count(10, 1e300), MOVIE_MAX_VIEWS);
    /* longer watch times for better-rated movies, on average */
    double prev = -1;
    for (int va = 0; va <= 10; va += 2) {
        char patch[64];
        snprintf(patch, sizeof patch, "{\"vote_average\":%d}", va);
        watch_row_t rows[MOVIE_MAX_VIEWS];
        size_t n = derive(patch, rows, NULL);
        double sum = 0, rsum = 0;
        for (size_t i = 0; i < n; i++) {
            sum += rows[i].watch_seconds;
            rsum += rows[i].rating;
        }
        assert_true(sum / (double)n > prev);
        prev = sum / (double)n;
        /* ratings follow vote_average / 2 */
        assert_true(fabs(rsum / (double)n - (va < 1 ? 0.5 : va / 2.0)) < 0.6);
    }
}

/* Golden values: they pin derivation version 1. If this test fails, the derivation
 * changed: bump MOVIE_DERIVATION_VERSION, update docs/movies.md and these values. */
static void test_derive_golden(void **state)
{
    assert_int_equal(MOVIE_DERIVATION_VERSION, 1);
    watch_row_t rows[MOVIE_MAX_VIEWS];
    size_t n = derive(NULL, rows, NULL);
    assert_int_equal(n, 25);
    assert_int_equal(rows[0].user_id, 851);
    assert_int_equal(rows[0].watch_seconds, 5619);
    assert_true(rows[0].rating == 4.5);
    assert_int_equal(rows[0].event_time_us, 1643659132123456LL);
    assert_int_equal(rows[n - 1].user_id, 683);
    assert_int_equal(rows[n - 1].watch_seconds, 5532);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += rows[i].watch_seconds + rows[i].user_id;
    assert_int_equal(sum, 157062);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read),          cmocka_unit_test(test_validate),
        cmocka_unit_test(test_parse_date),    cmocka_unit_test(test_derive_deterministic),
        cmocka_unit_test(test_derive_bounds), cmocka_unit_test(test_derive_monotonic),
        cmocka_unit_test(test_derive_golden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
