/* resolve.c - a dualwrite batch against the wide-table catalog (see dualwrite.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dualwrite.h"
#include "ferry/log.h"

static int cmp_key(const void *a, const void *b)
{
    const dw_rec_t *x = *(dw_rec_t *const *)a, *y = *(dw_rec_t *const *)b;
    size_t n = x->r.ship_id.len < y->r.ship_id.len ? x->r.ship_id.len : y->r.ship_id.len;
    int c = memcmp(x->r.ship_id.ptr, y->r.ship_id.ptr, n);
    if (c || x->r.ship_id.len != y->r.ship_id.len)
        return c ? c : (x->r.ship_id.len < y->r.ship_id.len ? -1 : 1);
    n = x->r.channel_id.len < y->r.channel_id.len ? x->r.channel_id.len : y->r.channel_id.len;
    c = memcmp(x->r.channel_id.ptr, y->r.channel_id.ptr, n);
    if (c || x->r.channel_id.len != y->r.channel_id.len)
        return c ? c : (x->r.channel_id.len < y->r.channel_id.len ? -1 : 1);
    if (x->r.ts_us != y->r.ts_us)
        return x->r.ts_us < y->r.ts_us ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int same_key(const dw_rec_t *x, const dw_rec_t *y)
{
    return x->r.ts_us == y->r.ts_us && x->r.ship_id.len == y->r.ship_id.len &&
           x->r.channel_id.len == y->r.channel_id.len &&
           memcmp(x->r.ship_id.ptr, y->r.ship_id.ptr, x->r.ship_id.len) == 0 &&
           memcmp(x->r.channel_id.ptr, y->r.channel_id.ptr, x->r.channel_id.len) == 0;
}

static const char *value_type_name(ferry_value_type t)
{
    static const char *const names[] = {"null", "double", "long", "boolean", "string"};
    return names[t];
}

/* Whether the batch holds, for the (ship, channel) of sorted[i], a long that a double
 * column could not hold exactly (the records are sorted by ship and channel). */
static int has_big_long(dw_rec_t **sorted, int i, int n)
{
    int lo = i;
    while (lo > 0 && sorted[lo - 1]->ship == sorted[i]->ship &&
           sorted[lo - 1]->r.channel_id.len == sorted[i]->r.channel_id.len &&
           memcmp(sorted[lo - 1]->r.channel_id.ptr, sorted[i]->r.channel_id.ptr,
                  sorted[i]->r.channel_id.len) == 0)
        lo--;
    for (int k = lo; k < n && sorted[k]->ship == sorted[i]->ship &&
                     sorted[k]->r.channel_id.len == sorted[i]->r.channel_id.len &&
                     memcmp(sorted[k]->r.channel_id.ptr, sorted[i]->r.channel_id.ptr,
                            sorted[i]->r.channel_id.len) == 0;
         k++) {
        const ferry_reading_t *r = &sorted[k]->r;
        if (!sorted[k]->dropped && r->type == FERRY_VALUE_LONG &&
            (r->v.l > (1LL << 53) || r->v.l < -(1LL << 53)))
            return 1;
    }
    return 0;
}

/* Dead-letters, once, the readings that were written to narrow without their wide cell. */
void dw_report_conflicts(dw_worker_t *w)
{
    for (int i = 0; i < w->nrecs; i++) {
        dw_rec_t *rc = &w->recs[i];
        if (rc->dropped || rc->reported || !(rc->wide_conflict || rc->stored_conflict))
            continue;
        rc->reported = 1;
        w->conflicts++;
        char msg[512];
        snprintf(msg, sizeof msg,
                 "written to the narrow table, but not to the wide table: channel '%.*s' of ship"
                 " '%.*s' is a %s column and the value is a %s",
                 (int)(rc->r.channel_id.len > 200 ? 200 : rc->r.channel_id.len),
                 rc->r.channel_id.ptr, (int)(rc->r.ship_id.len > 200 ? 200 : rc->r.ship_id.len),
                 rc->r.ship_id.ptr, rc->col ? ferry_wtype_sql(rc->col->type) : "(no)",
                 value_type_name(rc->r.type));
        dw_dead_letter(w, rc->msg, "wide_type_conflict", msg);
        w->dead--; /* counted as a conflict, not as a reading lost to the DLQ */
    }
}

/* Loads unknown ships, creates missing columns, dead-letters type conflicts and drops
 * in-batch duplicates. `sorted` receives the live records sorted by key. */
ferry_status dw_resolve(dw_worker_t *w, dw_rec_t **sorted, int *nsorted, ferry_err_t *err)
{
    int n = 0;
    for (int i = 0; i < w->nrecs; i++)
        if (!w->recs[i].dropped)
            sorted[n++] = &w->recs[i];
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_key);
    /* duplicates: first (lowest seq) wins */
    for (int i = 1; i < n; i++) {
        if (!sorted[i]->dropped && same_key(sorted[i - 1], sorted[i])) {
            sorted[i]->dropped = 1;
            w->dupes++;
        }
    }
    /* ships: load what the cache does not hold */
    char **load = NULL;
    int nload = 0;
    for (int i = 0; i < n; i++) {
        dw_rec_t *rc = sorted[i];
        rc->ship = ferry_widecat_ship(w->cat, rc->r.ship_id.ptr, rc->r.ship_id.len);
        int same = i > 0 && rc->r.ship_id.len == sorted[i - 1]->r.ship_id.len &&
                   memcmp(rc->r.ship_id.ptr, sorted[i - 1]->r.ship_id.ptr, rc->r.ship_id.len) == 0;
        if ((!rc->ship || !rc->ship->loaded) && !same) {
            load = ferry_xrealloc(load, (size_t)(nload + 1), sizeof *load);
            load[nload++] = ferry_xstrndup(rc->r.ship_id.ptr, rc->r.ship_id.len);
        }
    }
    ferry_status st = ferry_widecat_load(w->cat, w->pg, load, nload, err);
    for (int i = 0; i < nload; i++)
        free(load[i]);
    free(load);
    if (st)
        return st;
    for (int i = 0; i < n; i++)
        if (!sorted[i]->ship)
            sorted[i]->ship =
                ferry_widecat_ship(w->cat, sorted[i]->r.ship_id.ptr, sorted[i]->r.ship_id.len);
    /* columns: up to three rounds (create, then widen a column created this batch) */
    for (int round = 0; round < 3; round++) {
        ferry_widecat_need_t *needs = NULL;
        int nneeds = 0;
        for (int i = 0; i < n; i++) {
            dw_rec_t *rc = sorted[i];
            if (rc->dropped)
                continue;
            rc->col = NULL;
            rc->wide_conflict = 0;
            if (rc->r.type == FERRY_VALUE_NULL)
                continue;
            ferry_widecat_col_t *col =
                ferry_map_get(rc->ship->cols, rc->r.channel_id.ptr, rc->r.channel_id.len);
            int f = col ? ferry_wtype_fits(col->type, &rc->r) : 2;
            if (f == 0) {
                rc->col = col;
                continue;
            }
            if (f < 0)
                continue; /* a conflict: decided after the last round */
            /* new channel (2) or widen (1): one need per (ship, channel); records are
             * sorted by ship and channel, so a repeat is the previous need */
            if (nneeds > 0 && needs[nneeds - 1].ship == rc->ship &&
                strlen(needs[nneeds - 1].channel) == rc->r.channel_id.len &&
                memcmp(needs[nneeds - 1].channel, rc->r.channel_id.ptr, rc->r.channel_id.len) == 0)
                continue;
            if (f == 1 && (col->widen_refused || has_big_long(sorted, i, n)))
                continue; /* widening would not be lossless: the value is a wide conflict */
            needs = ferry_xrealloc(needs, (size_t)(nneeds + 1), sizeof *needs);
            needs[nneeds].ship = rc->ship;
            needs[nneeds].channel = ferry_xstrndup(rc->r.channel_id.ptr, rc->r.channel_id.len);
            needs[nneeds].type = ferry_wtype_for_value(rc->r.type);
            needs[nneeds].widen = f == 1;
            nneeds++;
        }
        if (nneeds == 0) {
            free(needs);
            break;
        }
        st = ferry_widecat_ensure(w->cat, w->pg, needs, nneeds, err);
        for (int k = 0; k < nneeds; k++)
            free((char *)needs[k].channel);
        free(needs);
        if (st)
            return st;
    }
    /* Whatever still has no column is a wide conflict: the reading is written to narrow (the
     * source of truth) all the same, without its wide cell, and dead-lettered once that is
     * committed (report_conflicts), so verify and the DLQ both show it. */
    for (int i = 0; i < n; i++) {
        dw_rec_t *rc = sorted[i];
        if (rc->dropped || rc->r.type == FERRY_VALUE_NULL)
            continue;
        if (!rc->col)
            rc->wide_conflict = 1;
    }
    *nsorted = n;
    return FERRY_OK;
}
