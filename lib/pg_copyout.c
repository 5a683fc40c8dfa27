/* pg_copyout.c - the end of a COPY ... TO STDOUT (see pg_copyout.h). */
#include "ferry/pg_copyout.h"

ferry_status ferry_pg_copyout_end(ferry_pg_t *pg, int last, ferry_err_t *err)
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
