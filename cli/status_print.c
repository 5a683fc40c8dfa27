/* status_print.c - the human-readable tables of `ferry status`, rendered from the JSON
 * document (see status.h), so both outputs always say the same thing. */
#include <string.h>

#include "status.h"

static void fmt_duration(int64_t s, char *buf, size_t bufsz)
{
    if (s < 60)
        snprintf(buf, bufsz, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(buf, bufsz, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, bufsz, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
}

static void print_num(FILE *fp, const json_t *v, int width)
{
    if (json_is_integer(v))
        fprintf(fp, " %*lld", width, (long long)json_integer_value(v));
    else
        fprintf(fp, " %*s", width, "-");
}

/* The Kafka part: one line per partition of each group shown. */
static void print_kafka(const json_t *doc, FILE *fp)
{
    const json_t *kj = json_object_get(doc, "kafka");
    const json_t *groups = json_object_get(doc, "groups");
    if (json_is_true(json_object_get(kj, "checked"))) {
        fprintf(fp, "Kafka %s: %s\n", status_jstr(kj, "brokers", "?"),
                json_is_true(json_object_get(kj, "ok")) ? "ok" : status_jstr(kj, "error", "error"));
        /* column widths from the longest group and topic names */
        int gw = 5, tw = 5, sw = 5;
        size_t i, j;
        const json_t *g, *p;
        json_array_foreach(groups, i, g)
        {
            int l = (int)strlen(status_jstr(g, "group", "?"));
            gw = l > gw ? l : gw;
            l = (int)strlen(status_jstr(g, "state", "?")) + 4;
            sw = l > sw ? l : sw;
            json_array_foreach(json_object_get(g, "partitions"), j, p)
            {
                l = (int)strlen(status_jstr(p, "topic", "?"));
                tw = l > tw ? l : tw;
            }
        }
        if (json_array_size(groups) == 0)
            fprintf(fp, "  no consumer groups to show\n");
        else
            fprintf(fp, "  %-*s %-*s %-*s %5s %12s %12s %10s  %s\n", gw, "GROUP", sw, "STATE", tw,
                    "TOPIC", "PART", "COMMITTED", "END", "LAG", "OWNER");
        json_array_foreach(groups, i, g)
        {
            const json_t *parts = json_object_get(g, "partitions");
            char state[64];
            snprintf(state, sizeof state, "%s/%zu", status_jstr(g, "state", "?"),
                     json_array_size(json_object_get(g, "members")));
            if (status_jstr(g, "error", NULL)) {
                fprintf(fp, "  %-*s error: %s\n", gw, status_jstr(g, "group", "?"),
                        status_jstr(g, "error", ""));
                continue;
            }
            if (json_array_size(parts) == 0)
                fprintf(fp, "  %-*s %-*s (no committed offsets)\n", gw,
                        status_jstr(g, "group", "?"), sw, state);
            json_array_foreach(parts, j, p)
            {
                fprintf(fp, "  %-*s %-*s %-*s %5lld", gw, j ? "" : status_jstr(g, "group", "?"), sw,
                        j ? "" : state, tw, status_jstr(p, "topic", "?"),
                        (long long)status_jint(p, "partition", -1));
                print_num(fp, json_object_get(p, "committed"), 12);
                print_num(fp, json_object_get(p, "end"), 12);
                print_num(fp, json_object_get(p, "lag"), 10);
                fprintf(fp, "  %s\n", status_jstr(p, "owner", status_jstr(p, "error", "-")));
            }
            if (json_array_size(parts) > 1) {
                fprintf(fp, "  %-*s %-*s %-*s %5s %12s %12s", gw, "", sw, "", tw, "", "", "",
                        "total");
                print_num(fp, json_object_get(g, "lag"), 10);
                fputc('\n', fp);
            }
        }
    } else {
        fprintf(fp, "Kafka: not checked (--skip-kafka)\n");
    }
}

/* The PostgreSQL part: one line per ship. */
static void print_pg(const json_t *doc, FILE *fp)
{
    const json_t *pj = json_object_get(doc, "pg");
    const json_t *ships = json_object_get(doc, "ships");
    if (!json_is_true(json_object_get(pj, "checked"))) {
        fprintf(fp, "PostgreSQL: not checked (no --pg)\n");
        return;
    }
    fprintf(fp, "PostgreSQL: %s\n",
            json_is_true(json_object_get(pj, "ok")) ? "ok" : status_jstr(pj, "error", "error"));
    const json_t *missing = json_object_get(pj, "missing");
    if (json_array_size(missing)) {
        fprintf(fp, "  not there (yet):");
        size_t i;
        const json_t *m;
        json_array_foreach(missing, i, m) fprintf(fp, " %s", json_string_value(m));
        fputc('\n', fp);
    }
    const char *scan = status_jstr(pj, "legacy_scan", NULL);
    if (scan && strncmp(scan, "skipped", 7) == 0)
        fprintf(fp, "  legacy ships: %s\n", scan);
    if (!json_is_true(json_object_get(pj, "ok")))
        return;
    if (json_array_size(ships) == 0) {
        fprintf(fp, "  no ships\n");
        return;
    }
    size_t i;
    const json_t *s;
    int shw = 4;
    json_array_foreach(ships, i, s)
    {
        int l = (int)strlen(status_jstr(s, "ship_id", "?"));
        shw = l > shw ? l : shw;
    }
    fprintf(fp, "  %-*s %-14s %-27s %16s %7s %8s  %s\n", shw, "SHIP", "STATE", "CUTOFF",
            "CHUNKS d/f/total", "DONE", "ETA", "LAST VERIFY");
    json_array_foreach(ships, i, s)
    {
        const json_t *c = json_object_get(s, "chunks");
        const json_t *v = json_object_get(s, "last_verify");
        char chunks[48] = "-", pct[16] = "-", eta[24] = "-", verify[160] = "-";
        if (status_jint(c, "total", 0) > 0) {
            snprintf(chunks, sizeof chunks, "%lld/%lld/%lld", (long long)status_jint(c, "done", 0),
                     (long long)status_jint(c, "failed", 0), (long long)status_jint(c, "total", 0));
            snprintf(pct, sizeof pct, "%.1f%%",
                     json_number_value(json_object_get(c, "percent_done")));
            if (json_is_integer(json_object_get(c, "eta_seconds")))
                fmt_duration(status_jint(c, "eta_seconds", 0), eta, sizeof eta);
        }
        if (json_is_object(v))
            snprintf(verify, sizeof verify, "%s, %lld mismatch(es) at %s",
                     json_is_true(json_object_get(v, "ok")) ? "ok" : "FAILED",
                     (long long)status_jint(v, "mismatches", 0),
                     status_jstr(v, "verified_at", "?"));
        fprintf(fp, "  %-*s %-14s %-27s %16s %7s %8s  %s\n", shw, status_jstr(s, "ship_id", "?"),
                status_jstr(s, "state", "?"), status_jstr(s, "cutoff", "-"), chunks, pct, eta,
                verify);
    }
}

void status_print(const json_t *doc, FILE *fp)
{
    print_kafka(doc, fp);
    fputc('\n', fp);
    print_pg(doc, fp);
}
