/* movie.c - reading, validating and deriving watch-log rows from a MovieCrawled record
 * (see movie.h; the formulas are documented in docs/movies.md). */
#include "movie.h"
#include "ferry/avro.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading ---------------------------------------------------------------------------- */

static ferry_status field(const avro_value_t *rec, const char *name, avro_type_t want,
                          avro_value_t *out, ferry_err_t *err)
{
    if (ferry_avro_field(rec, name, out, err) != FERRY_OK)
        return ferry_err_set(err, FERRY_POISON, "MovieCrawled.%s: missing", name);
    if (avro_value_get_type(out) != want)
        return ferry_err_set(err, FERRY_POISON, "MovieCrawled.%s: unexpected type", name);
    return FERRY_OK;
}

static ferry_status get_long(const avro_value_t *rec, const char *name, int64_t *out,
                             ferry_err_t *err)
{
    avro_value_t f;
    if (field(rec, name, AVRO_INT64, &f, err))
        return FERRY_POISON;
    avro_value_get_long(&f, out);
    return FERRY_OK;
}

static ferry_status get_int(const avro_value_t *rec, const char *name, int32_t *out,
                            ferry_err_t *err)
{
    avro_value_t f;
    if (field(rec, name, AVRO_INT32, &f, err))
        return FERRY_POISON;
    avro_value_get_int(&f, out);
    return FERRY_OK;
}

static ferry_status get_double(const avro_value_t *rec, const char *name, double *out,
                               ferry_err_t *err)
{
    avro_value_t f;
    if (field(rec, name, AVRO_DOUBLE, &f, err))
        return FERRY_POISON;
    avro_value_get_double(&f, out);
    return FERRY_OK;
}

static ferry_status get_bool(const avro_value_t *rec, const char *name, int *out, ferry_err_t *err)
{
    avro_value_t f;
    if (field(rec, name, AVRO_BOOLEAN, &f, err))
        return FERRY_POISON;
    avro_value_get_boolean(&f, out);
    return FERRY_OK;
}

/* A string field; with `nullable`, an Avro null gives {NULL, 0}. */
static ferry_status get_str(const avro_value_t *rec, const char *name, int nullable,
                            movie_str_t *out, ferry_err_t *err)
{
    avro_value_t f;
    if (ferry_avro_field(rec, name, &f, err) != FERRY_OK)
        return ferry_err_set(err, FERRY_POISON, "MovieCrawled.%s: missing", name);
    if (nullable && avro_value_get_type(&f) == AVRO_NULL) {
        out->s = NULL;
        out->len = 0;
        return FERRY_OK;
    }
    if (ferry_avro_get_string(&f, &out->s, &out->len) != FERRY_OK)
        return ferry_err_set(err, FERRY_POISON, "MovieCrawled.%s: not a string", name);
    return FERRY_OK;
}

ferry_status movie_from_avro(const avro_value_t *value, movie_t *m, ferry_err_t *err)
{
    memset(m, 0, sizeof *m);
    if (get_long(value, "id", &m->id, err) || get_str(value, "title", 0, &m->title, err) ||
        get_str(value, "original_title", 0, &m->original_title, err) ||
        get_str(value, "original_language", 0, &m->original_language, err) ||
        get_str(value, "overview", 0, &m->overview, err) ||
        get_str(value, "release_date", 0, &m->release_date, err) ||
        get_double(value, "popularity", &m->popularity, err) ||
        get_double(value, "vote_average", &m->vote_average, err) ||
        get_long(value, "vote_count", &m->vote_count, err) ||
        get_bool(value, "adult", &m->adult, err) || get_bool(value, "video", &m->video, err) ||
        get_str(value, "poster_path", 1, &m->poster_path, err) ||
        get_str(value, "backdrop_path", 1, &m->backdrop_path, err) ||
        get_str(value, "details_json", 1, &m->details_json, err) ||
        get_str(value, "raw_json", 0, &m->raw_json, err) ||
        get_str(value, "job_id", 0, &m->job_id, err) ||
        get_str(value, "endpoint", 0, &m->endpoint, err) || get_int(value, "page", &m->page, err) ||
        get_long(value, "fetched_at", &m->fetched_at_us, err) ||
        get_str(value, "language", 1, &m->language, err) ||
        get_str(value, "region", 1, &m->region, err))
        return FERRY_POISON;
    avro_value_t arr;
    if (field(value, "genre_ids", AVRO_ARRAY, &arr, err))
        return FERRY_POISON;
    size_t n = 0;
    avro_value_get_size(&arr, &n);
    if (n > 0) {
        m->genre_ids = calloc(n, sizeof *m->genre_ids);
        if (!m->genre_ids)
            abort();
    }
    for (size_t i = 0; i < n; i++) {
        avro_value_t item;
        if (avro_value_get_by_index(&arr, i, &item, NULL) != 0 ||
            avro_value_get_type(&item) != AVRO_INT64) {
            movie_clear(m);
            return ferry_err_set(err, FERRY_POISON, "MovieCrawled.genre_ids[%zu]: not a long", i);
        }
        avro_value_get_long(&item, &m->genre_ids[i]);
    }
    m->ngenres = n;
    return FERRY_OK;
}

void movie_clear(movie_t *m)
{
    free(m->genre_ids);
    memset(m, 0, sizeof *m);
}

/* ---- validation ------------------------------------------------------------------------- */

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int movie_parse_date(const char *s, size_t len, int *year, int *month, int *day)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s || len != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (size_t i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int mo = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1800 || mo < 1 || mo > 12 || d < 1)
        return -1;
    int maxd = mdays[mo - 1] + (mo == 2 && is_leap(y));
    if (d > maxd)
        return -1;
    if (year)
        *year = y;
    if (month)
        *month = mo;
    if (day)
        *day = d;
    return 0;
}

/* True when the string holds a NUL byte: PostgreSQL text cannot store it. */
static int has_nul(const movie_str_t *s)
{
    return s->s && memchr(s->s, '\0', s->len) != NULL;
}

/* True when the text is one JSON object (jsonb accepts it; no NUL escapes). */
static int is_json_object(const movie_str_t *s)
{
    json_error_t jerr;
    json_t *j = json_loadb(s->s, s->len, JSON_REJECT_DUPLICATES, &jerr);
    int ok = j && json_is_object(j);
    json_decref(j);
    return ok;
}

/* PostgreSQL's timestamptz reaches 294276 AD; TMDB's fetch times are after 1970 and before
 * 10000 AD. */
#define FETCHED_AT_MAX_US 253402300800000000LL /* 10000-01-01T00:00:00Z */

const char *movie_validate(const movie_t *m, char *msg, size_t msgsz)
{
#define BAD(reason, ...)                                                                           \
    do {                                                                                           \
        snprintf(msg, msgsz, __VA_ARGS__);                                                         \
        return reason;                                                                             \
    } while (0)
    if (m->id <= 0)
        BAD("invalid_id", "id %lld is not a positive TMDB id", (long long)m->id);
    const struct {
        const char *name;
        const movie_str_t *s;
    } texts[] = {
        {"title", &m->title},
        {"original_title", &m->original_title},
        {"original_language", &m->original_language},
        {"overview", &m->overview},
        {"release_date", &m->release_date},
        {"poster_path", &m->poster_path},
        {"backdrop_path", &m->backdrop_path},
        {"details_json", &m->details_json},
        {"raw_json", &m->raw_json},
        {"job_id", &m->job_id},
        {"endpoint", &m->endpoint},
        {"language", &m->language},
        {"region", &m->region},
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        if (has_nul(texts[i].s))
            BAD("nul_in_text", "%s contains a NUL character", texts[i].name);
    /* TMDB sends a null or empty title when there is no translation for the requested
     * language; such a movie is still a movie as long as it has its original title. */
    if (m->title.len == 0 && m->original_title.len == 0)
        BAD("empty_title", "title and original_title are both empty");
    if (!isfinite(m->vote_average) || m->vote_average < 0.0 || m->vote_average > 10.0)
        BAD("invalid_vote_average", "vote_average %g is not within 0..10", m->vote_average);
    if (m->vote_count < 0)
        BAD("invalid_vote_count", "vote_count %lld is negative", (long long)m->vote_count);
    if (!isfinite(m->popularity) || m->popularity < 0.0)
        BAD("invalid_popularity", "popularity %g is not a finite number >= 0", m->popularity);
    if (m->release_date.len > 0 &&
        movie_parse_date(m->release_date.s, m->release_date.len, NULL, NULL, NULL) != 0)
        BAD("invalid_release_date", "release_date '%.*s' is not a YYYY-MM-DD date or empty",
            (int)(m->release_date.len > 40 ? 40 : m->release_date.len), m->release_date.s);
    for (size_t i = 0; i < m->ngenres; i++)
        if (m->genre_ids[i] <= 0)
            BAD("invalid_genre_id", "genre_ids[%zu] = %lld is not a positive id", i,
                (long long)m->genre_ids[i]);
    if (m->page < 1)
        BAD("invalid_page", "page %d is not >= 1", (int)m->page);
    if (m->fetched_at_us < 0 || m->fetched_at_us >= FETCHED_AT_MAX_US)
        BAD("invalid_fetched_at", "fetched_at %lld is outside 1970..9999",
            (long long)m->fetched_at_us);
    if (!is_json_object(&m->raw_json))
        BAD("invalid_raw_json", "raw_json is not a JSON object");
    if (m->details_json.s && !is_json_object(&m->details_json))
        BAD("invalid_details_json", "details_json is not a JSON object");
    return NULL;
#undef BAD
}

/* ---- derivation ------------------------------------------------------------------------- */

/* splitmix64 (Steele, Lea, Flood 2014): a tiny PRNG with a good 64-bit mix. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t next64(uint64_t *state)
{
    *state += UINT64_C(0x9e3779b97f4a7c15);
    return mix64(*state);
}

/* Uniform in [0, 1) with 53 bits. */
static double next_unit(uint64_t *state)
{
    return (double)(next64(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* Approximately standard normal, bounded to +-3.46: the sum of four uniforms, centred and
 * scaled to unit variance (Irwin-Hall). */
static double next_noise(uint64_t *state)
{
    double s = next_unit(state) + next_unit(state) + next_unit(state) + next_unit(state);
    return (s - 2.0) * 1.7320508075688772; /* sqrt(12 / 4) */
}

static uint64_t double_bits(double d)
{
    uint64_t u;
    if (d == 0.0)
        d = 0.0; /* -0.0 and 0.0 seed alike */
    memcpy(&u, &d, sizeof u);
    return u;
}

int movie_view_count(double vote_average, double popularity)
{
    double v = exp2(vote_average / 2.0) * (1.0 + log10(1.0 + popularity)) / 4.0;
    if (!(v < MOVIE_MAX_VIEWS)) /* also catches NaN */
        return MOVIE_MAX_VIEWS;
    int n = 1 + (int)floor(v);
    return n > MOVIE_MAX_VIEWS ? MOVIE_MAX_VIEWS : n;
}

size_t movie_derive(const movie_t *m, watch_row_t rows[MOVIE_MAX_VIEWS])
{
    /* The seed covers exactly the inputs of the formulas (fetched_at only shifts times). */
    uint64_t state = mix64((uint64_t)m->id ^ UINT64_C(0x66657272792d6d76)); /* "ferry-mv" */
    state = mix64(state ^ double_bits(m->vote_average));
    state = mix64(state ^ double_bits(m->popularity));
    state = mix64(state ^ (uint64_t)MOVIE_DERIVATION_VERSION);

    int views = movie_view_count(m->vote_average, m->popularity);
    /* Legacy watch-time curve: 0 at vote 0, the full runtime at vote 10. */
    double lo = pow(1.1, -5.0), hi = pow(1.1, 5.0);
    double frac = (pow(1.1, m->vote_average - 5.0) - lo) / (hi - lo);
    /* Distinct users: start a, stride b coprime with the pool size (1000 = 2^3 * 5^3). */
    uint64_t a = next64(&state) % MOVIE_USER_POOL;
    uint64_t b = 1 + 2 * (next64(&state) % (MOVIE_USER_POOL / 2));
    if (b % 5 == 0)
        b += 2;
    for (int i = 0; i < views; i++) {
        watch_row_t *r = &rows[i];
        r->content_id = m->id;
        r->user_id = 1 + (int64_t)((a + (uint64_t)i * b) % MOVIE_USER_POOL);
        double secs = MOVIE_RUNTIME_SECONDS * frac * (1.0 + 0.1 * next_noise(&state));
        secs = nearbyint(secs);
        r->watch_seconds = secs < 0                       ? 0
                           : secs > MOVIE_RUNTIME_SECONDS ? MOVIE_RUNTIME_SECONDS
                                                          : (int32_t)secs;
        double rating = nearbyint((m->vote_average / 2.0 + 0.5 * next_noise(&state)) * 2.0) / 2.0;
        r->rating = rating < 0.5 ? 0.5 : rating > 5.0 ? 5.0 : rating;
        r->popularity = m->popularity;
        r->event_time_us =
            m->fetched_at_us - (int64_t)(next64(&state) % MOVIE_EVENT_WINDOW_S) * 1000000;
    }
    return (size_t)views;
}
