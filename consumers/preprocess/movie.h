/* movie.h - the domain rules of `ferry preprocess`, free of Kafka and PostgreSQL so they
 * can be unit-tested: reading a MovieCrawled record, validating it (with a machine-readable
 * reason for the dead-letter topic), and the deterministic watch-log derivation that
 * replaces the legacy preprocessing (docs/movies.md states the formulas). */
#ifndef FERRY_PREPROCESS_MOVIE_H
#define FERRY_PREPROCESS_MOVIE_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/err.h"

/* Version of the derivation rules; stored with every derived row and bumped whenever
 * movie_derive() changes what it produces for the same input. */
#define MOVIE_DERIVATION_VERSION 1

/* The derivation's constants (docs/movies.md). */
#define MOVIE_MAX_VIEWS       64          /* views derived per movie, at most */
#define MOVIE_USER_POOL       1000        /* synthetic user ids are 1..MOVIE_USER_POOL */
#define MOVIE_RUNTIME_SECONDS 7200        /* watch time is bounded by a 120-minute runtime */
#define MOVIE_EVENT_WINDOW_S  (7 * 86400) /* event times fall in the 7 days before the fetch */

/* A borrowed string: points into the Avro value the movie was read from. */
typedef struct movie_str {
    const char *s; /* NULL for an Avro null */
    size_t len;
} movie_str_t;

/* One MovieCrawled record. Strings borrow from the Avro value passed to movie_from_avro()
 * (valid while that value lives); genre_ids is owned (movie_clear() frees it). */
typedef struct movie {
    int64_t id;
    movie_str_t title, original_title, original_language, overview, release_date;
    double popularity, vote_average;
    int64_t vote_count;
    int adult, video;
    int64_t *genre_ids;
    size_t ngenres;
    movie_str_t poster_path, backdrop_path, details_json, raw_json;
    movie_str_t job_id, endpoint;
    int32_t page;
    int64_t fetched_at_us;
    movie_str_t language, region;
} movie_t;

/* One derived watch-log row (a WatchLogFeature without its source coordinate). */
typedef struct watch_row {
    int64_t user_id;
    int64_t content_id;
    int32_t watch_seconds;
    double rating;
    double popularity;
    int64_t event_time_us;
} watch_row_t;

/* Reads a decoded MovieCrawled value into *m (zeroed first). Returns FERRY_OK, or
 * FERRY_POISON with the reason when the value is not a MovieCrawled (missing field or wrong
 * type). On failure nothing needs freeing; on success call movie_clear(). */
ferry_status movie_from_avro(const avro_value_t *value, movie_t *m, ferry_err_t *err);

/* Frees what movie_from_avro() allocated and zeroes *m. */
void movie_clear(movie_t *m);

/* Checks the record against the rules (docs/movies.md). Returns NULL when it is valid,
 * otherwise a static machine-readable reason ("invalid_id", "invalid_vote_average", ...)
 * with a human-readable explanation in msg. */
const char *movie_validate(const movie_t *m, char *msg, size_t msgsz);

/* Parses a TMDB release date: "YYYY-MM-DD" (a real calendar date, years 1800..9999).
 * Returns 0 and fills the parts (each pointer may be NULL), or -1. */
int movie_parse_date(const char *s, size_t len, int *year, int *month, int *day);

/* Number of views derived for a movie with these scores (1..MOVIE_MAX_VIEWS). */
int movie_view_count(double vote_average, double popularity);

/* Derives the watch-log rows of a VALID movie into rows[0..MOVIE_MAX_VIEWS) and returns
 * how many. Deterministic: the same id, vote_average, popularity and fetched_at give the
 * same rows on every run (the noise comes from a PRNG seeded by those fields, never from
 * time or Kafka offsets). Uses pow/log10 of the C library: builds on other libm versions
 * could differ only for a value within one ulp of a rounding step. */
size_t movie_derive(const movie_t *m, watch_row_t rows[MOVIE_MAX_VIEWS]);

#endif
