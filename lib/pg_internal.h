/* pg_internal.h - what pg.c and pg_wait.c share: the connection object and the waits that
 * keep watch on the server (not part of the core's interface). */
#ifndef FERRY_PG_INTERNAL_H
#define FERRY_PG_INTERNAL_H

#include "ferry/pg.h"

struct ferry_pg {
    PGconn *conn;
    char *conninfo;
    char *app;
    ferry_pg_retry_t retry;
    uint64_t generation;          /* bumped by every successful (re)connect */
    struct pg_prepared *prepared; /* statements prepared by name (lib/pg_prepared.c) */
};

/* One wait for the server, from the moment a command was sent to its last result. */
typedef struct pg_watch {
    const char *what; /* "SQL", "COPY", ... for messages */
    int stoppable;    /* a stop request ends the wait (1 is returned) */
    int64_t since_ms; /* the last time the server gave a sign of life */
    int64_t next_probe_ms;
    int64_t next_note_ms;
} pg_watch_t;

void pg_watch_start(pg_watch_t *w, const char *what, int stoppable);
/* The server made progress (bytes came, or went out). */
void pg_watch_progress(pg_watch_t *w);

/* Waits up to one second for pg's socket to be readable (and writable too when want_write),
 * then reads what arrived. Keeps watch meanwhile: after 15 s without progress it asks, on a
 * second connection, what the server is doing with this backend, and notes it once a
 * minute; when that connection does not get through within 10 s, or the server does not
 * know the backend, or has it idle while an answer is owed, the server is taken for gone
 * (frozen, restarted, cut off): the connection is dropped, *err says why (FERRY_RETRY) and
 * -1 is returned, so the caller reconnects and redoes its work. Returns 0 to go on, 1 when
 * a stop was requested and the watch is stoppable, -1 on a dropped or failed connection. */
int pg_wait(ferry_pg_t *pg, pg_watch_t *w, int want_write, ferry_err_t *err);

/* Sends what libpq has buffered (non-blocking connections), waiting as pg_wait does. */
int pg_flush(ferry_pg_t *pg, pg_watch_t *w, ferry_err_t *err);

/* Waits until a result is ready (PQisBusy false). Same returns as pg_wait. */
int pg_wait_result(ferry_pg_t *pg, pg_watch_t *w, ferry_err_t *err);

/* Collects every result of the command sent on pg: the first error (classified into *err),
 * else the last result, which is returned (the caller PQclear()s it). NULL with *err when the
 * command failed or the server was taken for gone. `want` is the status a good result has
 * besides COMMAND_OK and TUPLES_OK (PGRES_COPY_IN for a COPY), or -1. */
PGresult *pg_collect(ferry_pg_t *pg, pg_watch_t *w, int want, ferry_err_t *err);

/* Frees what lib/pg_prepared.c keeps for pg (ferry_pg_close). */
void pg_prepared_free(ferry_pg_t *pg);

#endif
