/* plan.c - the reset plan of `ferry replay` and `ferry rollback --since` as a table
 * (see plan.h). */
#include "plan.h"
#include "ferry/timeparse.h"

static void target_desc(const ferry_reset_plan_t *p, char *buf, size_t bufsz)
{
    if (p->kind == FERRY_RESET_TIME) {
        char ts[FERRY_TS_FORMAT_MAX];
        ferry_ts_format(p->time_ms * 1000, ts, sizeof ts);
        snprintf(buf, bufsz, "time %s (%lld ms)", ts, (long long)p->time_ms);
    } else {
        snprintf(buf, bufsz, "%s", ferry_reset_kind_name(p->kind));
    }
}

void plan_print(const ferry_reset_plan_t *p, FILE *fp)
{
    char what[96];
    target_desc(p, what, sizeof what);
    const char *outcome = p->refused   ? "REFUSED: the group is active, nothing changed"
                          : p->applied ? "offsets reset"
                          : p->dry_run ? "dry run: nothing changed"
                                       : "NOT applied";
    fprintf(fp, "group %s, topic %s, to %s (group state %s): %s\n", p->group, p->topic, what,
            p->desc ? p->desc->state : "?", outcome);
    fprintf(fp, "%-9s %14s %14s %14s %14s %14s  %s\n", "PARTITION", "CURRENT", "NEW", "DIFF",
            "START", "END", "NOTE");
    for (size_t i = 0; i < p->nrows; i++) {
        const ferry_reset_row_t *r = &p->rows[i];
        char cur[24], diff[24];
        if (r->current >= 0) {
            snprintf(cur, sizeof cur, "%lld", (long long)r->current);
            snprintf(diff, sizeof diff, "%+lld", (long long)(r->target - r->current));
        } else {
            snprintf(cur, sizeof cur, "-");
            snprintf(diff, sizeof diff, "-");
        }
        fprintf(fp, "%-9d %14s %14lld %14s %14lld %14lld  %s\n", (int)r->partition, cur,
                (long long)r->target, diff, (long long)r->low, (long long)r->high,
                r->note ? r->note : "");
    }
}
