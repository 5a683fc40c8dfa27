/* pg.h - the core's PostgreSQL helpers over libpq.
 *
 * - connect with retry and capped exponential backoff with jitter;
 * - statements with text or typed parameters (never values in the SQL text), and prepared
 *   ones; every failure comes back classified, the caller decides;
 * - errors classified by SQLSTATE: class 08 (connection), 57P0x (shutdown), 53 (resources),
 *   40001/40P01 (serialization, deadlock) -> FERRY_RETRY; classes 22 and 23 (data) ->
 *   FERRY_POISON; anything else -> FERRY_FATAL;
 * - a binary COPY writer (COPY ... FROM STDIN (FORMAT binary)) with typed field appenders;
 * - identifier quoting that never depends on the data being "nice".
 *
 * Every wait for the server keeps watch on it (lib/pg_wait.c): a statement that takes long
 * is noted once a minute with what the server is doing; a server that stops answering
 * (frozen, cut off) is found out by a second connection and the connection is dropped with
 * FERRY_RETRY, so the caller reconnects and redoes its transaction.
 *
 * A connection string is a secret-bearing value: log it only through ferry_pg_redact(). */
#ifndef FERRY_PG_H
#define FERRY_PG_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/buf.h"
#include "ferry/err.h"

typedef struct ferry_pg ferry_pg_t;

typedef struct ferry_pg_retry {
    int64_t initial_ms; /* first wait, default 200 ms */
    int64_t max_ms;     /* cap of one wait, default 10 s */
    int64_t give_up_ms; /* total; 0 = keep trying until a stop is requested */
} ferry_pg_retry_t;

/* Connects, retrying transient failures (server not up, too many connections) with capped
 * backoff and jitter. `retry` may be NULL for the defaults (give up after 60 s). Sets
 * application_name to `app` when not NULL. Returns NULL with *err when it gives up, on an
 * authentication or configuration error (FERRY_FATAL) or on a stop request. The caller owns
 * the connection and frees it with ferry_pg_close. */
ferry_pg_t *ferry_pg_connect(const char *conninfo, const char *app, const ferry_pg_retry_t *retry,
                             ferry_err_t *err);

/* Drops the connection and connects again with the same retry policy. */
ferry_status ferry_pg_reconnect(ferry_pg_t *pg, ferry_err_t *err);

/* Reconnects each of conns[0..n) and waits while PostgreSQL is away (ferry_pg_reconnect's
 * backoff, again and again) until every one answers or a stop is requested. Returns FERRY_OK
 * (logged "PostgreSQL is back"); FERRY_FATAL when the server refuses for good (a wrong
 * password, the database gone: logged with what to do, and a stop is requested); FERRY_RETRY
 * when a stop was requested first. */
ferry_status ferry_pg_reconnect_wait(ferry_pg_t *const *conns, size_t n, ferry_err_t *err);

PGconn *ferry_pg_conn(ferry_pg_t *pg);
/* True when the connection is usable. */
int ferry_pg_ok(ferry_pg_t *pg);

/* Closes and frees. NULL is a no-op. */
void ferry_pg_close(ferry_pg_t *pg);

/* Classifies a failed result (or, with res == NULL, the connection's state). Fills *err
 * with the server's message and SQLSTATE. */
ferry_status ferry_pg_classify(ferry_pg_t *pg, const PGresult *res, const char *what,
                               ferry_err_t *err);

/* Runs one or more statements without parameters. Returns FERRY_OK or a classified error. */
ferry_status ferry_pg_exec(ferry_pg_t *pg, const char *sql, ferry_err_t *err);

/* Runs one statement with text parameters (values never go into the SQL text). Returns the
 * result (PGRES_TUPLES_OK or PGRES_COMMAND_OK), which the caller PQclear()s, or NULL with a
 * classified *err. */
PGresult *ferry_pg_query(ferry_pg_t *pg, const char *sql, int nparams, const char *const *params,
                         ferry_err_t *err);

/* The same with typed and binary parameters (as PQexecParams takes them; text results). */
PGresult *ferry_pg_query_binary(ferry_pg_t *pg, const char *sql, int nparams, const Oid *types,
                                const char *const *values, const int *lengths, const int *formats,
                                ferry_err_t *err);

/* Runs `sql` (text parameters) as the prepared statement `name`: prepared on its first use on
 * each connection (after a reconnect, again), then executed; for statements whose parsing and
 * planning cost about as much as running them. A name always goes with the same sql. Returns
 * as ferry_pg_query. What is kept per name is freed by ferry_pg_close. */
PGresult *ferry_pg_query_prepared(ferry_pg_t *pg, const char *name, const char *sql, int nparams,
                                  const char *const *params, ferry_err_t *err);

/* Convenience: runs a query returning one value, copies it into out (NUL-terminated,
 * "" for NULL or no row). */
ferry_status ferry_pg_query_value(ferry_pg_t *pg, const char *sql, int nparams,
                                  const char *const *params, char *out, size_t outsz,
                                  ferry_err_t *err);

/* Quotes an identifier: wraps it in double quotes and doubles embedded ones. The result
 * is a new string (free()). Rejects (returns NULL) an empty name or one with a NUL. */
char *ferry_pg_quote_ident(const char *name);
/* Appends the quoted identifier to a buffer. */
void ferry_pg_append_ident(ferry_buf_t *b, const char *name);
/* Appends "schema"."name" to b from its two parts as stored, each quoted as
 * ferry_pg_append_ident quotes it: a schema named by an option such as --wide-schema (ferry
 * creates it with exactly that name) and a table or view name from ferry's catalog. Neither part
 * is SQL text, so nothing is parsed or case-folded ("Ops" stays "Ops"); for a name users write as
 * SQL (--narrow-table ops.narrow) use ferry_pg_quote_qualified. (lib/pg_ident.c) */
void ferry_pg_append_qualified(ferry_buf_t *b, const char *schema, const char *name);
/* Parses an SQL name as psql and pg_dump -t take it: "table" or "schema.table", each part an
 * identifier, unquoted (ASCII letters folded to lower case) or double-quoted (exact, with ""
 * for a quote). *schema (NULL when not given) and *name are new strings. FERRY_USAGE on a
 * syntax error. */
ferry_status ferry_pg_parse_qualified(const char *text, char **schema, char **name,
                                      ferry_err_t *err);
/* The name `text` (as ferry_pg_parse_qualified takes it) with every part quoted:
 * ops."Narrow" -> "ops"."Narrow", Legacy -> "legacy". A new string (free()), or NULL when
 * `text` is not a valid name. */
char *ferry_pg_quote_qualified(const char *text);

/* Builds a PostgreSQL array literal for a text[] (or, cast, any array) parameter: each call
 * appends one element to b (which starts empty), quoted with '"' and '\\' escaped, so any
 * text goes through intact. ferry_pg_array_close() ends it ("{}" when nothing was added) and
 * returns its text, valid until b changes. */
void ferry_pg_array_add(ferry_buf_t *b, const char *s, size_t len);
const char *ferry_pg_array_close(ferry_buf_t *b);

/* Copies `conninfo` into out (always NUL-terminated, cut to outsz) with every password
 * replaced by "***": URI user:password@ and each ?password= / &password= (a %-encoded key
 * too), key=value password= (quoted or not). A part that is not key=value (a bare word, which
 * libpq takes as a database name, or a password file read by mistake) is shown as "***". */
void ferry_pg_redact(const char *conninfo, char *out, size_t outsz);

/* Copies msg into out with every secret of `conninfo` (its passwords as written and
 * %-decoded, and any part redact would hide) replaced by "***": for messages from libpq,
 * which quotes bad tokens of the string verbatim. */
void ferry_pg_scrub(const char *conninfo, const char *msg, char *out, size_t outsz);

/* ---- binary COPY writer ----------------------------------------------------------------- */

typedef struct ferry_pg_copy ferry_pg_copy_t;

/* Starts `COPY ... FROM STDIN (FORMAT binary)` (the full statement is given). Returns a
 * writer or NULL with a classified *err; ferry_pg_copy_end or ferry_pg_copy_abort frees it. */
ferry_pg_copy_t *ferry_pg_copy_begin(ferry_pg_t *pg, const char *copy_sql, ferry_err_t *err);

/* Starts a row with `nfields` fields; then one appender call per field, in column order. */
void ferry_pg_copy_row(ferry_pg_copy_t *cp, int16_t nfields);
void ferry_pg_copy_null(ferry_pg_copy_t *cp);
void ferry_pg_copy_text(ferry_pg_copy_t *cp, const char *s, size_t len); /* text/varchar */
void ferry_pg_copy_int8(ferry_pg_copy_t *cp, int64_t v);
void ferry_pg_copy_int4(ferry_pg_copy_t *cp, int32_t v);
void ferry_pg_copy_float8(ferry_pg_copy_t *cp, double v);
void ferry_pg_copy_bool(ferry_pg_copy_t *cp, int v);
/* timestamptz from microseconds since the Unix epoch. */
void ferry_pg_copy_timestamptz(ferry_pg_copy_t *cp, int64_t unix_us);

/* Sends what is buffered; ends the COPY; returns FERRY_OK with *rows (may be NULL) the row
 * count the server reports, or a classified error. Frees the writer in every case. */
ferry_status ferry_pg_copy_end(ferry_pg_copy_t *cp, int64_t *rows, ferry_err_t *err);
/* Aborts the COPY with `reason` and frees the writer. */
void ferry_pg_copy_abort(ferry_pg_copy_t *cp, const char *reason);

/* Starts `copy_sql` (a COPY ... TO STDOUT) on pg without blocking signals out: the server
 * may take long before its first byte (sorting, say), and a SIGINT/SIGTERM meanwhile
 * cancels the query and returns FERRY_RETRY "stopped". FERRY_OK: read the rows with
 * ferry_pg_copy_out_next. */
ferry_status ferry_pg_copy_out_begin(ferry_pg_t *pg, const char *copy_sql, ferry_err_t *err);
/* The next row of a COPY ... TO STDOUT started on pg: its length (> 0; *buf is then to be
 * freed with PQfreemem), -1 at the end of the stream, -2 on a connection error, or 0 when
 * ferry is stopping (SIGINT/SIGTERM) before the next row came. */
int ferry_pg_copy_out_next(ferry_pg_t *pg, char **buf);
/* Ends a COPY ... TO STDOUT that is still streaming (the reader stopped early): asks the
 * server to cancel the query, discards what is still in flight and collects the results, so
 * the connection can take the next command. Returns 0, or -1 when the connection had to be
 * given up (it is then reset on the next ferry_pg_reconnect). */
int ferry_pg_copy_out_stop(ferry_pg_t *pg);
/* Ends a COPY ... TO STDOUT on pg whose stream ended: `last` is what ferry_pg_copy_out_next
 * returned, -1 (the end of the stream) or -2 (a connection error). Collects the command's
 * results, so the connection can take the next command. Returns FERRY_OK when the server
 * completed the COPY; FERRY_RETRY "COPY OUT: <libpq's message>" after a connection error;
 * otherwise the classified error of the query. */
ferry_status ferry_pg_copy_out_end(ferry_pg_t *pg, int last, ferry_err_t *err);

/* PostgreSQL's timestamp range in microseconds since the Unix epoch: from 4713 BC; the
 * upper end (294276 AD) lies beyond what an int64 of Unix microseconds can hold. */
#define FERRY_PG_TS_MIN_US (-210866803200000000LL)
#define FERRY_PG_TS_MAX_US INT64_MAX

#endif
