/* pg_prepared.c - statements prepared by name, once per connection (see include/ferry/pg.h,
 * ferry_pg_query_prepared). A reconnect gives a new server session, which knows none of them:
 * each name remembers the connection generation it was prepared on. */
#include "ferry/pg.h"
#include "pg_internal.h"

#include <stdlib.h>
#include <string.h>

struct pg_prepared {
    struct pg_prepared *next;
    char *name;
    uint64_t generation; /* pg->generation it was prepared on */
};

static struct pg_prepared *find(ferry_pg_t *pg, const char *name)
{
    for (struct pg_prepared *p = pg->prepared; p; p = p->next)
        if (strcmp(p->name, name) == 0)
            return p;
    struct pg_prepared *p = calloc(1, sizeof *p);
    if (!p || !(p->name = strdup(name)))
        abort();
    p->next = pg->prepared;
    pg->prepared = p;
    return p;
}

PGresult *ferry_pg_query_prepared(ferry_pg_t *pg, const char *name, const char *sql, int nparams,
                                  const char *const *params, ferry_err_t *err)
{
    if (!ferry_pg_ok(pg)) {
        ferry_err_set(err, FERRY_RETRY, "PostgreSQL connection lost");
        return NULL;
    }
    struct pg_prepared *p = find(pg, name);
    pg_watch_t w;
    if (p->generation != pg->generation) {
        if (!PQsendPrepare(pg->conn, name, sql, nparams, NULL)) {
            ferry_pg_classify(pg, NULL, "prepare", err);
            return NULL;
        }
        pg_watch_start(&w, "prepare", 0);
        PGresult *pr = pg_collect(pg, &w, -1, err);
        if (!pr)
            return NULL;
        PQclear(pr);
        p->generation = pg->generation;
    }
    if (!PQsendQueryPrepared(pg->conn, name, nparams, params, NULL, NULL, 0)) {
        ferry_pg_classify(pg, NULL, "SQL", err);
        return NULL;
    }
    pg_watch_start(&w, "SQL", 0);
    return pg_collect(pg, &w, -1, err);
}

void pg_prepared_free(ferry_pg_t *pg)
{
    while (pg->prepared) {
        struct pg_prepared *p = pg->prepared;
        pg->prepared = p->next;
        free(p->name);
        free(p);
    }
}
