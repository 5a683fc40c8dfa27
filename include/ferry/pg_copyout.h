/* pg_copyout.h - the end of a COPY ... TO STDOUT read with ferry_pg_copy_out_next (pg.h). */
#ifndef FERRY_PG_COPYOUT_H
#define FERRY_PG_COPYOUT_H

#include "ferry/err.h"
#include "ferry/pg.h"

/* Ends a COPY ... TO STDOUT on pg whose stream ended: `last` is what ferry_pg_copy_out_next
 * returned, -1 (the end of the stream) or -2 (a connection error). Collects the command's
 * results, so the connection can take the next command. Returns FERRY_OK when the server
 * completed the COPY; FERRY_RETRY "COPY OUT: <libpq's message>" after a connection error;
 * otherwise the classified error of the query. */
ferry_status ferry_pg_copyout_end(ferry_pg_t *pg, int last, ferry_err_t *err);

#endif
