/* tmdb_event.h - the check both TMDB targets make on a MovieCrawled event: it converts to a
 * MovieCrawled Avro record (what the crawler publishes) and survives encode + decode. */
#ifndef FERRY_TESTS_FUZZ_TMDB_EVENT_H
#define FERRY_TESTS_FUZZ_TMDB_EVENT_H

#include "../../producers/crawl/tmdb.h"
#include "ferry/avro.h"
#include "fuzz.h"

static inline void fuzz_check_movie_event(json_t *ev)
{
    const ferry_schema_t *schema = ferry_schema_get("MovieCrawled");
    FUZZ_CHECK(schema != NULL);
    ferry_buf_t msg = FERRY_BUF_INIT;
    ferry_err_t err;
    FUZZ_CHECK(ferry_avro_encode_json(schema, ev, &msg, &err) == FERRY_OK);
    json_t *back = ferry_avro_decode_json(msg.data, msg.len, NULL, &err);
    FUZZ_CHECK(back != NULL);
    json_decref(back);
    ferry_buf_free(&msg);
}

static inline const tmdb_meta_t *fuzz_tmdb_meta(void)
{
    static const tmdb_meta_t meta = {"fuzz-job", "/3/movie/popular", 1, 1700000000000000, "ko-KR",
                                     NULL};
    return &meta;
}

#endif
