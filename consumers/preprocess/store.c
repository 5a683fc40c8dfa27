/* store.c - the movies and watch_log tables of `ferry preprocess` (see store.h). */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/buf.h"

struct movie_store {
    ferry_pg_t *pg;
    char *movies;       /* quoted, possibly qualified */
    char *watch;        /* quoted, possibly qualified */
    char *schemas[2];   /* quoted schema names to create, or NULL */
    char *put_sql;      /* the per-movie statement */
    ferry_buf_t arr[5]; /* scratch for the array parameters, reused */
};

/* `name` (as ferry_pg_parse_qualified takes it: "t", "s.t", quoted parts exact) with every
 * part quoted; its quoted schema in *schema (a new string) when there is one. NULL when `name`
 * is not a valid SQL name. */
static char *qualified(const char *name, char **schema)
{
    char *sch = NULL, *tab = NULL;
    *schema = NULL;
    if (ferry_pg_parse_qualified(name, &sch, &tab, NULL) != FERRY_OK)
        return NULL;
    char *quoted = ferry_pg_quote_qualified(name);
    if (sch)
        *schema = ferry_pg_quote_ident(sch);
    free(sch);
    free(tab);
    return quoted;
}

movie_store_t *movie_store_new(ferry_pg_t *pg, const char *movies_table, const char *watch_table,
                               ferry_err_t *err)
{
    if (!movies_table || !*movies_table || !watch_table || !*watch_table) {
        ferry_err_set(err, FERRY_USAGE, "the movies and watch-log table names must not be empty");
        return NULL;
    }
    movie_store_t *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->pg = pg;
    s->movies = qualified(movies_table, &s->schemas[0]);
    s->watch = qualified(watch_table, &s->schemas[1]);
    if (!s->movies || !s->watch) {
        ferry_err_set(err, FERRY_USAGE,
                      "--movies-table %s / --watch-log-table %s: not a table "
                      "name (table or schema.table, as psql takes it)",
                      movies_table, watch_table);
        movie_store_destroy(s);
        return NULL;
    }
    ferry_buf_t q = FERRY_BUF_INIT;
    /* One round trip per movie. The upsert wins when the stored row is not newer; only then
     * do the watch-log CTEs see a row in `up` and replace the movie's rows (delete the users
     * no longer derived, upsert the others: disjoint rows, so one statement can do both). */
    ferry_buf_appendf(
        &q,
        "WITH up AS (INSERT INTO %s AS m (id, title, original_title, original_language, "
        "overview, release_date, popularity, vote_average, vote_count, adult, video, genre_ids, "
        "poster_path, backdrop_path, raw_json, details_json, job_id, endpoint, page, fetched_at, "
        "language, region, source_topic, source_partition, source_offset, derivation_version) "
        "VALUES ($1, $2, $3, $4, $5, $6::date, $7::float8, $8::float8, $9, $10, $11, "
        "$12::bigint[], $13, $14, $15::jsonb, $16::jsonb, $17, $18, $19, "
        "'epoch'::timestamptz + $20::bigint * interval '1 microsecond', $21, $22, $23, $24, $25, "
        "$26) "
        "ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, original_title = "
        "EXCLUDED.original_title, original_language = EXCLUDED.original_language, overview = "
        "EXCLUDED.overview, release_date = EXCLUDED.release_date, popularity = "
        "EXCLUDED.popularity, vote_average = EXCLUDED.vote_average, vote_count = "
        "EXCLUDED.vote_count, adult = EXCLUDED.adult, video = EXCLUDED.video, genre_ids = "
        "EXCLUDED.genre_ids, poster_path = EXCLUDED.poster_path, backdrop_path = "
        "EXCLUDED.backdrop_path, raw_json = EXCLUDED.raw_json, details_json = "
        "EXCLUDED.details_json, job_id = EXCLUDED.job_id, endpoint = EXCLUDED.endpoint, page = "
        "EXCLUDED.page, fetched_at = EXCLUDED.fetched_at, language = EXCLUDED.language, region = "
        "EXCLUDED.region, source_topic = EXCLUDED.source_topic, source_partition = "
        "EXCLUDED.source_partition, source_offset = EXCLUDED.source_offset, derivation_version = "
        "EXCLUDED.derivation_version "
        "WHERE (m.fetched_at, m.source_partition, m.source_offset) <= "
        "(EXCLUDED.fetched_at, EXCLUDED.source_partition, EXCLUDED.source_offset) "
        "RETURNING m.id), "
        "del AS (DELETE FROM %s w USING up WHERE w.content_id = up.id AND "
        "NOT (w.user_id = ANY ($27::bigint[]))), "
        "ins AS (INSERT INTO %s AS w (content_id, user_id, watch_seconds, rating, popularity, "
        "event_time, derivation_version) "
        "SELECT up.id, r.u, r.s, r.r, $7::float8, "
        "'epoch'::timestamptz + r.t * interval '1 microsecond', $26 "
        "FROM up, unnest($27::bigint[], $28::int[], $29::float8[], $30::bigint[]) AS r(u, s, r, t) "
        "ON CONFLICT (content_id, user_id) DO UPDATE SET watch_seconds = EXCLUDED.watch_seconds, "
        "rating = EXCLUDED.rating, popularity = EXCLUDED.popularity, event_time = "
        "EXCLUDED.event_time, derivation_version = EXCLUDED.derivation_version) "
        "SELECT count(*) FROM up",
        s->movies, s->watch, s->watch);
    ferry_buf_cstr(&q);
    s->put_sql = (char *)q.data;
    return s;
}

void movie_store_destroy(movie_store_t *s)
{
    if (!s)
        return;
    free(s->movies);
    free(s->watch);
    free(s->schemas[0]);
    free(s->schemas[1]);
    free(s->put_sql);
    for (int i = 0; i < 5; i++)
        ferry_buf_free(&s->arr[i]);
    free(s);
}

ferry_status movie_store_ensure(movie_store_t *s, ferry_err_t *err)
{
    ferry_buf_t q = FERRY_BUF_INIT;
    ferry_buf_append_str(&q,
                         "BEGIN; SELECT pg_advisory_xact_lock(hashtext('ferry.preprocess.ddl'));");
    for (int i = 0; i < 2; i++)
        if (s->schemas[i])
            ferry_buf_appendf(&q, "CREATE SCHEMA IF NOT EXISTS %s;", s->schemas[i]);
    ferry_buf_appendf(&q,
                      "CREATE TABLE IF NOT EXISTS %s ("
                      " id bigint PRIMARY KEY,"
                      " title text NOT NULL,"
                      " original_title text NOT NULL,"
                      " original_language text NOT NULL,"
                      " overview text NOT NULL,"
                      " release_date date,"
                      " popularity double precision NOT NULL,"
                      " vote_average double precision NOT NULL,"
                      " vote_count bigint NOT NULL,"
                      " adult boolean NOT NULL,"
                      " video boolean NOT NULL,"
                      " genre_ids bigint[] NOT NULL,"
                      " poster_path text,"
                      " backdrop_path text,"
                      " raw_json jsonb NOT NULL,"
                      " details_json jsonb,"
                      " job_id text NOT NULL,"
                      " endpoint text NOT NULL,"
                      " page integer NOT NULL,"
                      " fetched_at timestamptz NOT NULL,"
                      " language text,"
                      " region text,"
                      " source_topic text NOT NULL,"
                      " source_partition integer NOT NULL,"
                      " source_offset bigint NOT NULL,"
                      " derivation_version integer NOT NULL);"
                      "CREATE TABLE IF NOT EXISTS %s ("
                      " content_id bigint NOT NULL,"
                      " user_id bigint NOT NULL,"
                      " watch_seconds integer NOT NULL,"
                      " rating double precision NOT NULL,"
                      " popularity double precision NOT NULL,"
                      " event_time timestamptz NOT NULL,"
                      " derivation_version integer NOT NULL,"
                      " PRIMARY KEY (content_id, user_id));"
                      "COMMIT;",
                      s->movies, s->watch);
    ferry_status st = ferry_pg_exec(s->pg, ferry_buf_cstr(&q), err);
    ferry_buf_free(&q);
    if (st != FERRY_OK)
        ferry_pg_exec(s->pg, "ROLLBACK", NULL);
    return st;
}

ferry_status movie_store_begin(movie_store_t *s, ferry_err_t *err)
{
    return ferry_pg_exec(s->pg, "BEGIN", err);
}

ferry_status movie_store_commit(movie_store_t *s, ferry_err_t *err)
{
    return ferry_pg_exec(s->pg, "COMMIT", err);
}

void movie_store_rollback(movie_store_t *s)
{
    if (ferry_pg_ok(s->pg))
        ferry_pg_exec(s->pg, "ROLLBACK", NULL);
}

ferry_status movie_store_savepoint(movie_store_t *s, ferry_err_t *err)
{
    return ferry_pg_exec(s->pg, "SAVEPOINT ferry_record", err);
}

ferry_status movie_store_release(movie_store_t *s, ferry_err_t *err)
{
    return ferry_pg_exec(s->pg, "RELEASE SAVEPOINT ferry_record", err);
}

ferry_status movie_store_rollback_to(movie_store_t *s, ferry_err_t *err)
{
    return ferry_pg_exec(s->pg, "ROLLBACK TO SAVEPOINT ferry_record", err);
}

/* One element (the text of a number, n bytes) onto an array parameter. */
static void array_add(ferry_buf_t *b, const char *v, int n)
{
    ferry_pg_array_add(b, v, (size_t)n);
}

ferry_status movie_store_put(movie_store_t *s, const movie_t *m, const watch_row_t *rows,
                             size_t nrows, const char *src_topic, int32_t src_partition,
                             int64_t src_offset, int *won, ferry_err_t *err)
{
    char id[24], pop[40], va[40], vc[24], page[16], fetched[24], part[16], off[24], ver[16];
    snprintf(id, sizeof id, "%lld", (long long)m->id);
    snprintf(pop, sizeof pop, "%.17g", m->popularity);
    snprintf(va, sizeof va, "%.17g", m->vote_average);
    snprintf(vc, sizeof vc, "%lld", (long long)m->vote_count);
    snprintf(page, sizeof page, "%d", (int)m->page);
    snprintf(fetched, sizeof fetched, "%lld", (long long)m->fetched_at_us);
    snprintf(part, sizeof part, "%d", (int)src_partition);
    snprintf(off, sizeof off, "%lld", (long long)src_offset);
    snprintf(ver, sizeof ver, "%d", MOVIE_DERIVATION_VERSION);

    /* genre_ids, then the four watch-log arrays */
    for (int i = 0; i < 5; i++)
        ferry_buf_reset(&s->arr[i]);
    ferry_buf_t *g = &s->arr[0], *users = &s->arr[1], *secs = &s->arr[2], *ratings = &s->arr[3],
                *times = &s->arr[4];
    char v[40];
    for (size_t i = 0; i < m->ngenres; i++)
        array_add(g, v, snprintf(v, sizeof v, "%lld", (long long)m->genre_ids[i]));
    for (size_t i = 0; i < nrows; i++) {
        array_add(users, v, snprintf(v, sizeof v, "%lld", (long long)rows[i].user_id));
        array_add(secs, v, snprintf(v, sizeof v, "%d", (int)rows[i].watch_seconds));
        array_add(ratings, v, snprintf(v, sizeof v, "%.17g", rows[i].rating));
        array_add(times, v, snprintf(v, sizeof v, "%lld", (long long)rows[i].event_time_us));
    }

    const char *params[30] = {
        id,
        m->title.s,
        m->original_title.s,
        m->original_language.s,
        m->overview.s,
        m->release_date.len ? m->release_date.s : NULL,
        pop,
        va,
        vc,
        m->adult ? "t" : "f",
        m->video ? "t" : "f",
        ferry_pg_array_close(g),
        m->poster_path.s,
        m->backdrop_path.s,
        m->raw_json.s,
        m->details_json.s,
        m->job_id.s,
        m->endpoint.s,
        page,
        fetched,
        m->language.s,
        m->region.s,
        src_topic,
        part,
        off,
        ver,
        ferry_pg_array_close(users),
        ferry_pg_array_close(secs),
        ferry_pg_array_close(ratings),
        ferry_pg_array_close(times),
    };
    /* prepared once per connection: parsing and planning the four-part statement costs
     * about as much as running it */
    PGresult *res = ferry_pg_query_prepared(s->pg, "ferry_movie_put", s->put_sql, 30, params, err);
    if (!res)
        return err ? err->status : FERRY_FATAL;
    *won = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    return FERRY_OK;
}
