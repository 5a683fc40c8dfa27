/* test_crawl_tmdb.c - the crawler's TMDB and progress modules (producers/crawl/tmdb.c,
 * progress.c) over the recorded real TMDB bodies in tests/fixtures/tmdb/ and over bodies
 * with everything real ones may hold: nulls, empty strings and arrays, "\/" escapes,
 * \uXXXX escapes, non-Latin text, fields added later, items without an id.
 *
 * The crawler's modules are program code, not core: this test links the ferry_crawl object
 * library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/avro.h"
#include "progress.h"
#include "tmdb.h"

static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    const char *here = __FILE__; /* .../tests/unit/test_crawl_tmdb.c */
    const char *slash = strrchr(here, '/');
    int dirlen = slash ? (int)(slash - here) : 1;
    snprintf(path, sizeof path, "%.*s/../fixtures/tmdb/%s", dirlen, slash ? here : ".", name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open fixture %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static json_t *parse_raw(const tmdb_item_t *it)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    tmdb_json_minify(it->raw, it->raw_len, &b);
    json_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
    ferry_buf_free(&b);
    return j;
}

static const tmdb_meta_t meta = {"job-1", "/3/movie/popular", 1, 1700000000000000, "ko-KR", NULL};

static void test_real_popular_page(void **state)
{
    size_t len;
    char *body = slurp("popular_page1.json", &len);
    tmdb_list_t l;
    ferry_err_t err;
    assert_int_equal(tmdb_list_parse(body, len, &l, &err), FERRY_OK);
    assert_int_equal(l.n, 20);
    assert_int_equal(l.page, 1);
    assert_int_equal(l.total_pages, 32161);
    for (size_t i = 0; i < l.n; i++) {
        /* the raw span of every item is exactly that item */
        assert_non_null(l.items[i].raw);
        json_t *j = parse_raw(&l.items[i]);
        assert_non_null(j);
        assert_true(json_equal(j, l.items[i].json));
        json_decref(j);
    }
    int64_t id;
    assert_int_equal(tmdb_item_id(l.items[0].json, &id), 0);
    assert_int_equal(id, 634649);

    /* The event of the first movie, through Avro and back. */
    json_t *ev = tmdb_movie_event(&l.items[0], NULL, 0, &meta, &err);
    assert_non_null(ev);
    const ferry_schema_t *schema = ferry_schema_get("MovieCrawled");
    assert_non_null(schema);
    ferry_buf_t out = FERRY_BUF_INIT;
    assert_int_equal(ferry_avro_encode_json(schema, ev, &out, &err), FERRY_OK);
    json_t *back = ferry_avro_decode_json(out.data, out.len, NULL, &err);
    assert_non_null(back);
    assert_int_equal(json_integer_value(json_object_get(back, "id")), 634649);
    assert_string_equal(json_string_value(json_object_get(back, "title")),
                        "Spider-Man: No Way Home");
    assert_string_equal(json_string_value(json_object_get(back, "poster_path")),
                        "/1g0dhYtq4irTY1GPXvft6k4YLjm.jpg");
    assert_true(json_is_null(json_object_get(back, "details_json")));
    assert_true(json_is_null(json_object_get(back, "region")));
    assert_string_equal(json_string_value(json_object_get(back, "language")), "ko-KR");
    assert_int_equal(json_array_size(json_object_get(back, "genre_ids")), 3);
    assert_int_equal(json_integer_value(json_object_get(back, "vote_count")), 6786);
    assert_true(json_real_value(json_object_get(back, "vote_average")) == 8.4);
    assert_int_equal(json_integer_value(json_object_get(back, "fetched_at")), 1700000000000000);
    const char *raw = json_string_value(json_object_get(back, "raw_json"));
    assert_non_null(strstr(raw, "\"popularity\":17656.865,")); /* numbers as TMDB wrote them */
    assert_null(strchr(raw, '\t'));
    json_t *rawj = json_loads(raw, 0, NULL);
    assert_true(json_equal(rawj, l.items[0].json));
    json_decref(rawj);
    json_decref(back);
    json_decref(ev);
    ferry_buf_free(&out);
    tmdb_list_free(&l);
    free(body);
}

static void test_tolerant_of_real_oddities(void **state)
{
    const char *body =
        "{\"page\":3,\"dates\":{\"maximum\":\"2024-01-01\"},\"results\":[\n"
        "  {\"id\":11, \"title\":null, \"original_title\":\"\\uae30\\uc0dd\\ucda9\", "
        "\"poster_path\":\"\\/a\\/b.jpg\", \"backdrop_path\":null, \"genre_ids\":[],"
        " \"overview\":\"\", \"vote_average\":7, \"popularity\":null, \"adult\":null,"
        " \"new_thing\":{\"x\":[1,{\"y\":\"]}\"}]}},\n"
        "  {\"title\":\"no id\"},\n"
        "  [1,2],\n"
        "  {\"id\":12, \"title\":\"\xe5\x8d\x83\xe3\x81\xa8 \xf0\x9f\x8e\xac\", \"vote_count\":3.0,"
        " \"genre_ids\":[1,\"x\",null,2], \"release_date\":\"2001-07-20\", \"video\":true}\n"
        "], \"total_pages\":7}";
    tmdb_list_t l;
    ferry_err_t err;
    assert_int_equal(tmdb_list_parse(body, strlen(body), &l, &err), FERRY_OK);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.total_pages, 7);
    const ferry_schema_t *schema = ferry_schema_get("MovieCrawled");
    ferry_buf_t out = FERRY_BUF_INIT;

    /* nulls, escapes, \u text, an integer for a real, a field added later */
    json_t *ev = tmdb_movie_event(&l.items[0], "{\"id\":11}", 9, &meta, &err);
    assert_non_null(ev);
    assert_int_equal(ferry_avro_encode_json(schema, ev, &out, &err), FERRY_OK);
    json_t *back = ferry_avro_decode_json(out.data, out.len, NULL, &err);
    assert_string_equal(json_string_value(json_object_get(back, "title")), "");
    assert_string_equal(json_string_value(json_object_get(back, "original_title")),
                        "\xea\xb8\xb0\xec\x83\x9d\xec\xb6\xa9"); /* 기생충 */
    assert_string_equal(json_string_value(json_object_get(back, "poster_path")), "/a/b.jpg");
    assert_true(json_is_null(json_object_get(back, "backdrop_path")));
    assert_int_equal(json_array_size(json_object_get(back, "genre_ids")), 0);
    assert_true(json_real_value(json_object_get(back, "vote_average")) == 7.0);
    assert_true(json_real_value(json_object_get(back, "popularity")) == 0.0);
    assert_false(json_is_true(json_object_get(back, "adult")));
    assert_string_equal(json_string_value(json_object_get(back, "details_json")), "{\"id\":11}");
    const char *raw = json_string_value(json_object_get(back, "raw_json"));
    assert_non_null(strstr(raw, "\"\\/a\\/b.jpg\"")); /* escapes kept verbatim */
    assert_non_null(strstr(raw, "\"new_thing\":{\"x\":[1,{\"y\":\"]}\"}]}")); /* not lost */
    json_decref(back);
    json_decref(ev);

    /* items without an id, or not objects, are refused (the crawler dead-letters them) */
    int64_t id;
    assert_int_equal(tmdb_item_id(l.items[1].json, &id), -1);
    assert_null(tmdb_movie_event(&l.items[1], NULL, 0, &meta, &err));
    assert_int_equal(err.status, FERRY_POISON);
    assert_null(tmdb_movie_event(&l.items[2], NULL, 0, &meta, &err));
    assert_int_equal(l.items[2].raw_len, 5); /* "[1,2]" */

    /* non-Latin UTF-8, a real where an integer goes, junk in genre_ids */
    ev = tmdb_movie_event(&l.items[3], NULL, 0, &meta, &err);
    ferry_buf_reset(&out);
    assert_int_equal(ferry_avro_encode_json(schema, ev, &out, &err), FERRY_OK);
    back = ferry_avro_decode_json(out.data, out.len, NULL, &err);
    assert_string_equal(json_string_value(json_object_get(back, "title")),
                        "\xe5\x8d\x83\xe3\x81\xa8 \xf0\x9f\x8e\xac");
    assert_int_equal(json_integer_value(json_object_get(back, "vote_count")), 3);
    assert_int_equal(json_array_size(json_object_get(back, "genre_ids")), 2);
    assert_true(json_is_true(json_object_get(back, "video")));
    json_decref(back);
    json_decref(ev);
    ferry_buf_free(&out);
    tmdb_list_free(&l);
}

static void test_bad_list_bodies(void **state)
{
    tmdb_list_t l;
    ferry_err_t err;
    static const char *const bad[] = {"",
                                      "<html>502 Bad Gateway</html>",
                                      "{\"page\":1}",
                                      "{\"results\":{}}",
                                      "[]",
                                      "{\"results\":[{\"id\":1}",
                                      NULL};
    for (const char *const *b = bad; *b; b++) {
        assert_int_equal(tmdb_list_parse(*b, strlen(*b), &l, &err), FERRY_POISON);
        tmdb_list_free(&l);
    }
    const char *empty = "{\"page\":501,\"results\":[],\"total_pages\":5}";
    assert_int_equal(tmdb_list_parse(empty, strlen(empty), &l, &err), FERRY_OK);
    assert_int_equal(l.n, 0);
    tmdb_list_free(&l);
}

static void test_numbers_out_of_range(void **state)
{
    /* One movie's number beyond what it can be (vote_count 1e300 or -1e300; an id or a count
     * beyond 64 bits, a real beyond a double, which jansson refuses in a whole body) spoils
     * that movie only: the others are read, and converting is never undefined behaviour. */
    const char *body = "{\"page\":3,\"results\":["
                       "{\"id\":1,\"title\":\"ok\",\"vote_count\":12.9},"
                       "{\"id\":2,\"vote_count\":1e300},"
                       "{\"id\":3,\"vote_count\":-1e300},"
                       "{\"title\":\"big\",\"id\":99999999999999999999,\"vote_count\":1},"
                       "{\"id\":5,\"vote_count\":1e400},"
                       "{\"id\":6,\"vote_count\":-7},"
                       "{\"id\":7,\"vote_count\":99999999999999999999}"
                       "],\"total_pages\":9}";
    tmdb_list_t l;
    ferry_err_t err;
    assert_int_equal(tmdb_list_parse(body, strlen(body), &l, &err), FERRY_OK);
    assert_int_equal(l.n, 7);
    assert_int_equal(l.page, 3);
    assert_int_equal(l.total_pages, 9);
    static const char *const ids[] = {"1", "2", "3", "99999999999999999999", "5", "6", "7"};
    static const char *const why[] = {
        NULL,
        "\"vote_count\" is 1.0000000000000001e+300: out of the 64-bit integer range",
        "\"vote_count\" is -1.0000000000000001e+300: out of the 64-bit integer range",
        "list item 4 cannot be read: too big integer",
        "list item 5 cannot be read: real number overflow",
        NULL,
        "list item 7 cannot be read: too big integer"};
    static const int64_t votes[] = {12, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < l.n; i++) {
        char id[64];
        tmdb_item_id_text(&l.items[i], id, sizeof id);
        assert_string_equal(id, ids[i]);
        ferry_err_clear(&err);
        json_t *ev = tmdb_movie_event(&l.items[i], NULL, 0, &meta, &err);
        if (!why[i]) {
            assert_non_null(ev);
            assert_int_equal(json_integer_value(json_object_get(ev, "vote_count")), votes[i]);
            json_decref(ev);
            continue;
        }
        assert_null(ev);
        assert_int_equal(err.status, FERRY_POISON);
        if (!strstr(err.msg, why[i]))
            fail_msg("item %zu: \"%s\" lacks \"%s\"", i, err.msg, why[i]);
        /* its text is still there, as written, for the dead letter */
        assert_non_null(l.items[i].raw);
        assert_non_null(strstr(l.items[i].raw, ids[i]));
    }
    tmdb_list_free(&l);

    /* the page count out of range is a page error, never a conversion */
    static const char *const pages[] = {
        "{\"page\":1,\"results\":[{\"id\":1}],\"total_pages\":1e300}",
        "{\"page\":1,\"results\":[{\"id\":1}],\"total_pages\":-1e300}",
        "{\"page\":1,\"results\":[{\"id\":1}],\"total_pages\":-2}",
        "{\"page\":1e300,\"results\":[{\"id\":1}],\"total_pages\":2}",
        "{\"page\":1,\"results\":[{\"id\":99999999999999999999}],\"total_pages\":1e300}",
        NULL};
    for (const char *const *b = pages; *b; b++) {
        ferry_err_clear(&err);
        assert_int_equal(tmdb_list_parse(*b, strlen(*b), &l, &err), FERRY_POISON);
        if (!strstr(err.msg, "not a page count"))
            fail_msg("\"%s\": \"%s\"", *b, err.msg);
        tmdb_list_free(&l);
    }
    /* beyond a double it is no JSON jansson reads: a page error as well */
    const char *huge = "{\"page\":1,\"results\":[{\"id\":1}],\"total_pages\":1e400}";
    assert_int_equal(tmdb_list_parse(huge, strlen(huge), &l, &err), FERRY_POISON);
    assert_non_null(strstr(err.msg, "real number overflow"));
    tmdb_list_free(&l);
    /* a body cut short stays a body error, not a list of bad items */
    const char *cut = "{\"page\":1,\"results\":[{\"id\":99999999999999999999},{\"id\":2";
    assert_int_equal(tmdb_list_parse(cut, strlen(cut), &l, &err), FERRY_POISON);
    assert_non_null(strstr(err.msg, "not JSON"));
    tmdb_list_free(&l);
}

/* Bodies jansson refuses that are then read item by item: a stray '}' or ']' where an item or
 * value should be made the span finder loop for ever (found by fuzz.tmdb_list); alarm() turns
 * a hang into a failure within seconds. */
static void test_itemwise_never_hangs(void **state)
{
    static const char *const bodies[] = {
        ("{\"page\":2,\"results\":[{\"ititle922id\":-true,{\"ad\":-2},7,{\"ae_co22id\":-1},7,"
         "{\"a]dult\":true}]}"),
        "{\"page\":1,\"results\":[}",
        "{\"page\":1,\"x\":],\"results\":[{\"id\":1}]}",
        "{\"results\":[{\"id\":99999999999999999999},}]}",
    };
    alarm(10);
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        tmdb_list_t l;
        ferry_err_t err;
        if (tmdb_list_parse(bodies[i], strlen(bodies[i]), &l, &err) == FERRY_OK)
            tmdb_list_free(&l);
        else
            assert_int_equal(err.status, FERRY_POISON);
    }
    alarm(0);
}

static void test_errors_and_details(void **state)
{
    size_t len;
    char *body = slurp("error_401.json", &len);
    char msg[256];
    int code;
    assert_int_equal(tmdb_error_message(body, len, msg, sizeof msg, &code), 1);
    assert_string_equal(msg, "Invalid API key: You must be granted a valid key.");
    assert_int_equal(code, 7);
    free(body);
    const char *e2 = "{\"errors\":[\"page must be less than or equal to 500\"],\"success\":false}";
    assert_int_equal(tmdb_error_message(e2, strlen(e2), msg, sizeof msg, &code), 1);
    assert_string_equal(msg, "page must be less than or equal to 500");
    assert_int_equal(code, -1);
    assert_int_equal(tmdb_error_message("oops", 4, msg, sizeof msg, NULL), 0);
    assert_string_equal(msg, "");

    body = slurp("movie_634649.json", &len);
    ferry_buf_t out = FERRY_BUF_INIT;
    ferry_err_t err;
    assert_int_equal(tmdb_details_check(body, len, &out, &err), FERRY_OK);
    assert_true(out.len < len); /* tabs and newlines gone */
    json_t *a = json_loadb(body, len, 0, NULL);
    json_t *b = json_loadb((const char *)out.data, out.len, 0, NULL);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    free(body);
    ferry_buf_reset(&out);
    assert_int_equal(tmdb_details_check("[1]", 3, &out, &err), FERRY_POISON);
    assert_int_equal(tmdb_details_check("{\"a\":", 5, &out, &err), FERRY_POISON);
    ferry_buf_free(&out);
}

static void test_minify(void **state)
{
    const char *in = " { \"a b\" : \"x \\\" y\\\\\" ,\n\t\"c\":[ 1 , 2.50 , \"\\u00e9 \\/\" ] } ";
    ferry_buf_t out = FERRY_BUF_INIT;
    tmdb_json_minify(in, strlen(in), &out);
    assert_string_equal(ferry_buf_cstr(&out),
                        "{\"a b\":\"x \\\" y\\\\\",\"c\":[1,2.50,\"\\u00e9 \\/\"]}");
    ferry_buf_free(&out);
}

static void test_urls(void **state)
{
    assert_string_equal(tmdb_list_path("popular"), "movie/popular");
    assert_string_equal(tmdb_list_path("top_rated"), "movie/top_rated");
    assert_string_equal(tmdb_list_path("movie/now_playing"), "movie/now_playing");
    assert_null(tmdb_list_path("upcoming!"));
    ferry_buf_t b = FERRY_BUF_INIT;
    tmdb_list_url(&b, "http://h:1/3/", "movie/popular", 7, "ko-KR", "KR", "k&y");
    assert_string_equal(ferry_buf_cstr(&b),
                        "http://h:1/3/movie/popular?page=7&language=ko-KR&region=KR&api_key=k%26y");
    ferry_buf_reset(&b);
    tmdb_list_url(&b, "https://api.themoviedb.org/3", "movie/top_rated", 1, NULL, NULL, NULL);
    assert_string_equal(ferry_buf_cstr(&b), "https://api.themoviedb.org/3/movie/top_rated?page=1");
    ferry_buf_reset(&b);
    tmdb_details_url(&b, "https://api.themoviedb.org/3", 634649, NULL, "abc");
    assert_string_equal(ferry_buf_cstr(&b),
                        "https://api.themoviedb.org/3/movie/634649?api_key=abc");
    ferry_buf_reset(&b);
    tmdb_details_url(&b, "http://x/3", 5, "ja", NULL);
    assert_string_equal(ferry_buf_cstr(&b), "http://x/3/movie/5?language=ja");
    ferry_buf_free(&b);
    char label[128];
    tmdb_endpoint_label("https://api.themoviedb.org/3", "movie/popular", label, sizeof label);
    assert_string_equal(label, "/3/movie/popular");
    tmdb_endpoint_label("http://127.0.0.1:5/3/", "movie/popular", label, sizeof label);
    assert_string_equal(label, "/3/movie/popular");
    tmdb_endpoint_label("http://h", "movie/popular", label, sizeof label);
    assert_string_equal(label, "/movie/popular");
}

static void test_progress_records(void **state)
{
    crawl_progress_rec_t rec = {"nightly/a", 17, "/3/movie/popular", 20, 1, 500, 123};
    ferry_buf_t k = FERRY_BUF_INIT, v = FERRY_BUF_INIT;
    crawl_progress_encode(&rec, &k, &v);
    assert_string_equal(ferry_buf_cstr(&k), "nightly/a/17");
    json_t *j = json_loads(ferry_buf_cstr(&v), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "job")), "nightly/a");
    assert_int_equal(json_integer_value(json_object_get(j, "page")), 17);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "done");
    json_decref(j);
    assert_int_equal(crawl_progress_key_page("nightly/a", k.data, k.len), 17);
    assert_int_equal(crawl_progress_key_page("nightly", k.data, k.len), -1);
    assert_int_equal(crawl_progress_key_page("nightly/a/1", k.data, k.len), -1);
    assert_int_equal(crawl_progress_key_page("nightly/a", "nightly/a/", 10), -1);
    assert_int_equal(crawl_progress_key_page("nightly/a", NULL, 0), -1);
    assert_int_equal(crawl_progress_value_done(v.data, v.len), 1);
    assert_int_equal(crawl_progress_value_total_pages(v.data, v.len), 500);
    assert_int_equal(crawl_progress_value_total_pages("{\"total_pages\":null}", 20), -1);
    assert_int_equal(crawl_progress_value_total_pages(NULL, 0), -1);
    assert_int_equal(crawl_progress_value_done(NULL, 0), 0); /* tombstone */
    assert_int_equal(crawl_progress_value_done("{\"status\":\"started\"}", 20), 0);
    assert_int_equal(crawl_progress_value_done("garbage", 7), 0);
    ferry_buf_free(&k);
    ferry_buf_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_popular_page),
        cmocka_unit_test(test_tolerant_of_real_oddities),
        cmocka_unit_test(test_bad_list_bodies),
        cmocka_unit_test(test_numbers_out_of_range),
        cmocka_unit_test(test_itemwise_never_hangs),
        cmocka_unit_test(test_errors_and_details),
        cmocka_unit_test(test_minify),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_progress_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
