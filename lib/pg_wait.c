/* pg_wait.c - waiting for PostgreSQL without ever waiting blind (see pg_internal.h).
 *
 * A server can stop answering without closing the connection: frozen (SIGSTOP, a VM paused,
 * a disk that hangs), or cut off by a network that drops packets silently. TCP keepalives
 * notice a dead peer only when the peer's kernel is gone too, and statement_timeout is
 * enforced by the server that is not answering. So ferry watches each wait itself: a long
 * silence is checked on a second connection, which tells a slow statement (the backend is
 * active, maybe waiting for a lock: fine, noted once a minute) from a server that is gone
 * (the probe does not get through, or the backend is unknown or idle: the connection is
 * dropped and the caller reconnects). */
#include "pg_internal.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#define PROBE_AFTER_MS  15000 /* silence before the first probe */
#define PROBE_EVERY_MS  60000 /* between probes (and notes) while the server works */
#define PROBE_TIMEOUT_S "10"  /* connect_timeout of the probe */
#define PROBE_ANSWER_MS 10000 /* how long the probe's query may take */

void pg_watch_start(pg_watch_t *w, const char *what, int stoppable)
{
    w->what = what;
    w->stoppable = stoppable;
    pg_watch_progress(w);
}

void pg_watch_progress(pg_watch_t *w)
{
    w->since_ms = ferry_clock_mono_ms();
    w->next_probe_ms = w->since_ms + PROBE_AFTER_MS;
    w->next_note_ms = w->next_probe_ms;
}

/* What the server is doing with backend `pid`, asked on a new connection: 1 and the state in
 * state[] ("active", ...; "" when the server does not know the backend), or 0 when the probe
 * did not get through (reason in why[]). */
static int probe(ferry_pg_t *pg, int pid, char *state, size_t statesz, char *why, size_t whysz)
{
    const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
    const char *vals[] = {pg->conninfo, "ferry probe", PROBE_TIMEOUT_S, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    state[0] = '\0';
    int ok = 0;
    if (!c || PQstatus(c) != CONNECTION_OK) {
        snprintf(why, whysz, "a new connection does not get through either (%s)",
                 c ? PQerrorMessage(c) : "out of memory");
        for (char *p = why; *p; p++)
            if (*p == '\n')
                *p = ' ';
        PQfinish(c);
        return 0;
    }
    char spid[16];
    snprintf(spid, sizeof spid, "%d", pid);
    const char *params[] = {spid};
    PQsetnonblocking(c, 1);
    if (PQsendQueryParams(c,
                          "SELECT state || coalesce(' (waiting for ' || wait_event_type || ': '"
                          " || wait_event || ')', '') FROM pg_stat_activity WHERE pid = $1::int",
                          1, NULL, params, NULL, NULL, 0)) {
        int64_t deadline = ferry_clock_mono_ms() + PROBE_ANSWER_MS;
        while (PQflush(c) == 1 && ferry_clock_mono_ms() < deadline)
            poll(&(struct pollfd){.fd = PQsocket(c), .events = POLLOUT}, 1, 200);
        while (PQisBusy(c) && ferry_clock_mono_ms() < deadline) {
            poll(&(struct pollfd){.fd = PQsocket(c), .events = POLLIN}, 1, 200);
            if (!PQconsumeInput(c))
                break;
        }
        if (!PQisBusy(c)) {
            PGresult *r = PQgetResult(c);
            if (PQresultStatus(r) == PGRES_TUPLES_OK) {
                ok = 1;
                if (PQntuples(r))
                    snprintf(state, statesz, "%s", PQgetvalue(r, 0, 0));
            }
            PQclear(r);
        }
    }
    if (!ok)
        snprintf(why, whysz, "a new connection got in but its question was not answered");
    PQfinish(c);
    return ok;
}

/* Drops the connection after a silence: the caller reconnects. */
static int gone(ferry_pg_t *pg, pg_watch_t *w, const char *why, ferry_err_t *err)
{
    int64_t secs = (ferry_clock_mono_ms() - w->since_ms) / 1000;
    ferry_warn("PostgreSQL has not answered (%s) for %lld s and %s: taking it for gone,"
               " reconnecting",
               w->what, (long long)secs, why);
    PQfinish(pg->conn);
    pg->conn = NULL;
    ferry_err_set(err, FERRY_RETRY, "%s: PostgreSQL did not answer for %lld s (%s)", w->what,
                  (long long)secs, why);
    if (err)
        snprintf(err->sqlstate, sizeof err->sqlstate, "08006");
    return -1;
}

static int keep_watch(ferry_pg_t *pg, pg_watch_t *w, ferry_err_t *err)
{
    int64_t now = ferry_clock_mono_ms();
    if (now < w->next_probe_ms)
        return 0;
    char state[200], why[300];
    if (!probe(pg, PQbackendPID(pg->conn), state, sizeof state, why, sizeof why))
        return gone(pg, w, why, err);
    if (!state[0])
        return gone(pg, w, "the server does not know this connection any more", err);
    if (strncmp(state, "active", 6) != 0 && strncmp(state, "fastpath", 8) != 0)
        return gone(pg, w, "the server has this connection idle while it owes an answer", err);
    if (now >= w->next_note_ms) {
        ferry_info("PostgreSQL is still working on %s after %lld s: %s", w->what,
                   (long long)((now - w->since_ms) / 1000), state);
        w->next_note_ms = now + PROBE_EVERY_MS;
    }
    w->next_probe_ms = ferry_clock_mono_ms() + PROBE_EVERY_MS;
    return 0;
}

int pg_wait(ferry_pg_t *pg, pg_watch_t *w, int want_write, ferry_err_t *err)
{
    if (w->stoppable && !ferry_lifecycle_running())
        return 1;
    struct pollfd p = {.fd = PQsocket(pg->conn),
                       .events = (short)(POLLIN | (want_write ? POLLOUT : 0))};
    int r = poll(&p, 1, 1000);
    if (r < 0 && errno != EINTR) {
        ferry_err_set(err, FERRY_RETRY, "%s: poll: %s", w->what, strerror(errno));
        return -1;
    }
    if (r > 0) {
        if (p.revents & POLLIN) {
            if (!PQconsumeInput(pg->conn)) {
                ferry_pg_classify(pg, NULL, w->what, err);
                return -1;
            }
            pg_watch_progress(w);
        }
        if (p.revents & POLLOUT)
            pg_watch_progress(w);
        return 0;
    }
    return keep_watch(pg, w, err);
}

int pg_flush(ferry_pg_t *pg, pg_watch_t *w, ferry_err_t *err)
{
    for (;;) {
        int f = PQflush(pg->conn);
        if (f == 0)
            return 0;
        if (f < 0) {
            ferry_pg_classify(pg, NULL, w->what, err);
            return -1;
        }
        int r = pg_wait(pg, w, 1, err);
        if (r)
            return r;
    }
}

int pg_wait_result(ferry_pg_t *pg, pg_watch_t *w, ferry_err_t *err)
{
    int r = pg_flush(pg, w, err);
    if (r)
        return r;
    while (PQisBusy(pg->conn)) {
        r = pg_wait(pg, w, 0, err);
        if (r)
            return r;
    }
    return 0;
}
