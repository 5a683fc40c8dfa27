/* fuzz_tmdb_list.c - the TMDB list body parser (producers/crawl/tmdb.c: tmdb_list_parse,
 * the raw item spans, tmdb_movie_event) and the error body reader.
 *
 * Input: the response body. Checks on every list that parses: each item's raw text (the
 * span found in the body, minified) is the same JSON as the parsed item - so raw_json in the
 * event is the item the event describes - and every event of an item with an id converts to
 * a MovieCrawled Avro record. */
#include <string.h>

#include "tmdb_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    ferry_err_t err;
    tmdb_list_t list;
    if (tmdb_list_parse(body, size, &list, &err) == FERRY_OK) {
        FUZZ_CHECK(list.root != NULL);
        for (size_t i = 0; i < list.n; i++) {
            const tmdb_item_t *it = &list.items[i];
            /* an item the body holds but jansson cannot represent is kept as bad, with why */
            if (it->bad) {
                FUZZ_CHECK(it->json == NULL && it->bad[0] != '\0');
                continue;
            }
            FUZZ_CHECK(it->json != NULL);
            if (it->raw) {
                FUZZ_CHECK(it->raw >= list.text && it->raw + it->raw_len <= list.text + size);
                ferry_buf_t min = FERRY_BUF_INIT;
                tmdb_json_minify(it->raw, it->raw_len, &min);
                json_t *again = json_loadb((const char *)min.data, min.len, JSON_DECODE_ANY, NULL);
                FUZZ_CHECK(again != NULL);
                FUZZ_CHECK(json_equal(again, it->json));
                json_decref(again);
                ferry_buf_free(&min);
            }
            int64_t id = 0;
            int has_id = tmdb_item_id(it->json, &id) == 0;
            ferry_err_clear(&err);
            json_t *ev = tmdb_movie_event(it, NULL, 0, fuzz_tmdb_meta(), &err);
            /* an event only for an object with an id; no event is a poison item with a reason
             * (no id, or a number out of range such as vote_count 1e300) */
            if (ev)
                FUZZ_CHECK(has_id && json_is_object(it->json));
            else
                FUZZ_CHECK(err.status == FERRY_POISON && err.msg[0] != '\0');
            if (ev) {
                fuzz_check_movie_event(ev);
                json_decref(ev);
            }
        }
        tmdb_list_free(&list);
    }
    char msg[64];
    int code;
    if (tmdb_error_message(body, size, msg, sizeof msg, &code))
        FUZZ_CHECK(memchr(msg, '\0', sizeof msg) != NULL);
    return 0;
}
