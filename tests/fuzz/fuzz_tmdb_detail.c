/* fuzz_tmdb_detail.c - the TMDB details body check and minifier (producers/crawl/tmdb.c:
 * tmdb_details_check, tmdb_json_minify) and the event built with those details.
 *
 * Input: the response body. Checks on every body accepted: the minified text is the same
 * JSON (every token kept), minifying it again changes nothing, and an event carrying it as
 * details_json converts to a MovieCrawled Avro record. */
#include <string.h>

#include "tmdb_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    ferry_err_t err;
    ferry_buf_t min = FERRY_BUF_INIT;
    if (tmdb_details_check(body, size, &min, &err) == FERRY_OK) {
        json_t *orig = json_loadb(body, size, 0, NULL);
        json_t *again = json_loadb((const char *)min.data, min.len, 0, NULL);
        FUZZ_CHECK(orig != NULL && again != NULL);
        FUZZ_CHECK(json_equal(orig, again));
        json_decref(orig);
        json_decref(again);
        ferry_buf_t twice = FERRY_BUF_INIT;
        tmdb_json_minify((const char *)min.data, min.len, &twice);
        FUZZ_CHECK(twice.len == min.len && memcmp(twice.data, min.data, min.len) == 0);
        ferry_buf_free(&twice);

        json_t *item_json = json_pack("{s:I,s:s}", "id", (json_int_t)634649, "title", "t");
        tmdb_item_t item = {item_json, NULL, 0, NULL};
        json_t *ev =
            tmdb_movie_event(&item, (const char *)min.data, min.len, fuzz_tmdb_meta(), &err);
        FUZZ_CHECK(ev != NULL);
        fuzz_check_movie_event(ev);
        json_decref(ev);
        json_decref(item_json);
    }
    ferry_buf_free(&min);
    char msg[32];
    int code;
    if (tmdb_error_message(body, size, msg, sizeof msg, &code))
        FUZZ_CHECK(memchr(msg, '\0', sizeof msg) != NULL);
    return 0;
}
