/* pg_copyout.c - COPY ... TO STDOUT read row by row: started without blocking signals out,
 * stopped early, or ended (see include/ferry/pg.h). */
#include "ferry/pg.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "pg_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

ferry_status ferry_pg_copy_out_begin(ferry_pg_t *pg, const char *copy_sql, ferry_err_t *err)
{
    if (!ferry_pg_ok(pg))
        return ferry_err_set(err, FERRY_RETRY, "PostgreSQL connection lost");
    if (!PQsendQuery(pg->conn, copy_sql))
        return ferry_pg_classify(pg, NULL, "COPY OUT", err);
    pg_watch_t w;
    pg_watch_start(&w, "COPY OUT", 1);
    int r = pg_wait_result(pg, &w, err);
    if (r == 1) {
        ferry_pg_copy_out_stop(pg);
        return ferry_err_set(err, FERRY_RETRY, "stopped");
    }
    if (r < 0)
        return err ? err->status : FERRY_RETRY;
    PGresult *res = PQgetResult(pg->conn);
    ferry_status st = FERRY_OK;
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        st = ferry_pg_classify(pg, res, "COPY OUT", err);
        PQclear(res);
        while ((res = PQgetResult(pg->conn)) != NULL)
            PQclear(res);
        return st;
    }
    PQclear(res);
    return FERRY_OK;
}

int ferry_pg_copy_out_next(ferry_pg_t *pg, char **buf)
{
    pg_watch_t w;
    pg_watch_start(&w, "COPY OUT", 1);
    for (;;) {
        int len = PQgetCopyData(pg->conn, buf, 1);
        if (len != 0)
            return len;
        ferry_err_t err;
        int r = pg_wait(pg, &w, 0, &err); /* nothing buffered yet: wait, checking for a stop */
        if (r == 1)
            return 0;
        if (r < 0)
            return -2;
    }
}

int ferry_pg_copy_out_stop(ferry_pg_t *pg)
{
    PGconn *c = pg->conn;
    PGcancel *cn = PQgetCancel(c);
    if (cn) {
        char errbuf[256];
        if (!PQcancel(cn, errbuf, sizeof errbuf))
            ferry_debug("COPY OUT cancel request failed: %s", errbuf);
        PQfreeCancel(cn);
    }
    /* Until the server notices the cancel it keeps sending rows: discard them; -1 ends the
     * stream, then come the error and the end of the results. In COPY OUT state PQgetResult
     * returns a COPY_OUT result until the stream has been read to its end. */
    int ok = 1;
    PGresult *res;
    while (ok && (res = PQgetResult(c)) != NULL) {
        ExecStatusType s = PQresultStatus(res);
        PQclear(res);
        if (s == PGRES_COPY_OUT) {
            char *buf;
            int len;
            while ((len = PQgetCopyData(c, &buf, 0)) > 0)
                PQfreemem(buf);
            ok = len == -1;
        } else if (s == PGRES_COPY_IN || s == PGRES_COPY_BOTH) {
            ok = 0;
        }
    }
    if (!ok) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }
    return ok ? 0 : -1;
}

ferry_status ferry_pg_copy_out_end(ferry_pg_t *pg, int last, ferry_err_t *err)
{
    PGconn *conn = ferry_pg_conn(pg);
    ferry_status st = FERRY_OK;
    if (last == -2)
        st = ferry_err_set(err, FERRY_RETRY, "COPY OUT: %s", PQerrorMessage(conn));
    PGresult *res;
    while ((res = PQgetResult(conn)) != NULL) {
        if (st == FERRY_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
            st = ferry_pg_classify(pg, res, "COPY OUT", err);
        PQclear(res);
    }
    return st;
}
