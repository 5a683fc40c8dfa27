/* store.h - the PostgreSQL side of `ferry preprocess`: the `movies` and `watch_log`
 * tables (created when missing) and the idempotent per-movie write: upsert the movie when
 * this fetch is the latest one (fetched_at, then the Kafka partition and offset, decide),
 * and replace the movie's watch-log rows with the ones derived from it. Writing the same
 * record twice leaves the tables as they were, so a replay converges. */
#ifndef FERRY_PREPROCESS_STORE_H
#define FERRY_PREPROCESS_STORE_H

#include <stdint.h>

#include "ferry/err.h"
#include "ferry/pg.h"
#include "movie.h"

typedef struct movie_store movie_store_t;

/* Prepares the statements for the two tables (names as psql takes them: "t" or "s.t",
 * unquoted parts folded to lower case, quoted ones exact). `pg` is borrowed and must outlive the
 * store. Returns a new store, which the caller frees with movie_store_destroy(), or NULL with a
 * FERRY_USAGE *err for an empty or invalid table name. */
movie_store_t *movie_store_new(ferry_pg_t *pg, const char *movies_table, const char *watch_table,
                               ferry_err_t *err);
void movie_store_destroy(movie_store_t *s);

/* Creates the schema(s) and tables when missing (serialised by an advisory lock, so many
 * workers may start at once). */
ferry_status movie_store_ensure(movie_store_t *s, ferry_err_t *err);

/* Transaction control: BEGIN, COMMIT, ROLLBACK, and a savepoint around one record. */
ferry_status movie_store_begin(movie_store_t *s, ferry_err_t *err);
ferry_status movie_store_commit(movie_store_t *s, ferry_err_t *err);
void movie_store_rollback(movie_store_t *s);
ferry_status movie_store_savepoint(movie_store_t *s, ferry_err_t *err);
ferry_status movie_store_release(movie_store_t *s, ferry_err_t *err);
ferry_status movie_store_rollback_to(movie_store_t *s, ferry_err_t *err);

/* Writes one valid movie and its derived rows, with the coordinate of the Kafka record it
 * came from. *won is 1 when this record is now the stored version of the movie (inserted or
 * newer-or-equal than what was stored), 0 when a later fetch was already stored (then
 * nothing changed). Errors are classified (FERRY_POISON for data the server rejects). */
ferry_status movie_store_put(movie_store_t *s, const movie_t *m, const watch_row_t *rows,
                             size_t nrows, const char *src_topic, int32_t src_partition,
                             int64_t src_offset, int *won, ferry_err_t *err);

#endif
