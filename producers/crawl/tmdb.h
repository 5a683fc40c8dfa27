/* tmdb.h - what the crawler knows about TMDB API v3: the list endpoints, request URLs,
 * list and error bodies, and the MovieCrawled event made from one list item.
 *
 * Everything here is pure (no network, no Kafka), so the unit tests run it over the
 * recorded real bodies in tests/fixtures/tmdb/. Bodies are parsed with jansson and read
 * tolerantly: null or missing strings, empty arrays, integers where reals are expected,
 * "\/" escapes, non-Latin text and fields TMDB adds later are all fine. */
#ifndef FERRY_CRAWL_TMDB_H
#define FERRY_CRAWL_TMDB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/buf.h"
#include "ferry/err.h"

#define TMDB_DEFAULT_BASE_URL "https://api.themoviedb.org/3"
#define TMDB_MAX_PAGE         500 /* the API refuses page > 500 on every list */

/* The API path of a list endpoint name ("popular" -> "movie/popular"; also accepts
 * "movie/popular"), or NULL for an unknown one. */
const char *tmdb_list_path(const char *name);
/* "popular, top_rated, now_playing", for messages. */
const char *tmdb_list_names(void);

/* One movie of a list page: the parsed item and its text exactly as it was in the body. */
typedef struct tmdb_item {
    json_t *json;    /* borrowed from the list's root; NULL when `bad` */
    const char *raw; /* points into the list's copy of the body */
    size_t raw_len;
    char *bad; /* owned: why the item's text cannot be read (e.g. an id beyond 64 bits), or NULL */
} tmdb_item_t;

typedef struct tmdb_list {
    char *text;          /* owned copy of the body */
    json_t *root;        /* owned */
    int64_t page;        /* "page", -1 when absent */
    int64_t total_pages; /* "total_pages", -1 when absent */
    size_t n;
    tmdb_item_t *items; /* owned array of n */
} tmdb_list_t;

/* Parses a list response body (an object whose "results" is an array). On success *out owns
 * a copy of the body; free it with tmdb_list_free(). An item that jansson cannot represent
 * (an integer beyond 64 bits, a real beyond a double) spoils only itself: it gets `bad` and
 * the other items are read. FERRY_POISON when the body is not JSON or has no results array
 * (worth another attempt: it may have been cut short), or when "page" or "total_pages" is a
 * number that is no page count (1e300, -3). */
ferry_status tmdb_list_parse(const char *body, size_t len, tmdb_list_t *out, ferry_err_t *err);
void tmdb_list_free(tmdb_list_t *l);

/* Appends JSON text with the whitespace between tokens removed; every token (strings with
 * their escapes, numbers as written) is kept byte for byte. The text must be valid JSON. */
void tmdb_json_minify(const char *text, size_t len, ferry_buf_t *out);

/* Checks that a details body is a JSON object and appends it minified to *out.
 * FERRY_POISON when it is not. */
ferry_status tmdb_details_check(const char *body, size_t len, ferry_buf_t *out, ferry_err_t *err);

/* The message of a TMDB error body ({"status_code": 7, "status_message": "..."} or
 * {"errors": ["..."]}) into out; *status_code (may be NULL) gets status_code or -1.
 * Returns 1 when a message was found, else 0 (out is then ""). */
int tmdb_error_message(const char *body, size_t len, char *out, size_t outsz, int *status_code);

/* The movie id of a list item: 0 and *id when it is an object whose "id" is an integer > 0,
 * else -1. */
int tmdb_item_id(const json_t *item, int64_t *id);

/* The item's id as text for messages and dead-letter keys: the id, or for an item that
 * cannot be read the top-level "id" number as written ("99999999999999999999"); "" when
 * there is none. */
void tmdb_item_id_text(const tmdb_item_t *item, char *out, size_t outsz);

/* A JSON number as an int64 (a real truncated toward zero): 1 and *out when it is one, 0
 * when v is not a number, -1 when it is out of the int64 range. Never undefined behaviour. */
int tmdb_int64(const json_t *v, int64_t *out);

typedef struct tmdb_meta {
    const char *job_id;
    const char *endpoint; /* "/3/movie/popular" */
    int page;
    int64_t fetched_at_us;
    const char *language; /* NULL when not given */
    const char *region;   /* NULL when not given */
} tmdb_meta_t;

/* Builds the MovieCrawled record (natural JSON, see schemas/MovieCrawled.avsc) for one
 * list item: every known field (a null or missing string becomes "" where the schema wants
 * a string, a missing number 0, a missing flag false; poster_path/backdrop_path stay null;
 * a vote_count beyond the 64-bit range is FERRY_POISON, never converted),
 * raw_json = the item's text minified, details_json = `details` (NULL: null), plus the crawl
 * metadata. Returns a new reference, or NULL with FERRY_POISON when the item has no valid
 * id. */
json_t *tmdb_movie_event(const tmdb_item_t *item, const char *details, size_t details_len,
                         const tmdb_meta_t *meta, ferry_err_t *err);

/* Appends the URL of list page `page` to *out: base (without trailing '/') + "/" + path +
 * "?page=N" [+ "&language=.." + "&region=.."] [+ "&api_key=.." when api_key != NULL]. */
void tmdb_list_url(ferry_buf_t *out, const char *base, const char *path, int page,
                   const char *language, const char *region, const char *api_key);
/* Appends the URL of GET /movie/{id} [?language=..][&api_key=..]. */
void tmdb_details_url(ferry_buf_t *out, const char *base, int64_t id, const char *language,
                      const char *api_key);

/* The path part of base + "/" + path, e.g. ("https://api.themoviedb.org/3",
 * "movie/popular") -> "/3/movie/popular". */
void tmdb_endpoint_label(const char *base, const char *path, char *out, size_t outsz);

#endif
