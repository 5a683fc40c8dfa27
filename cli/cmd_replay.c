/* cmd_replay.c - `ferry replay`: resets a consumer group's committed offsets on one topic
 * through Kafka's admin API, the way `kafka-consumer-groups --reset-offsets` does: to the
 * earliest or latest offset, to the first record at or after a time, or to given
 * offsets. Prints the plan (partition, current, new, difference); --dry-run changes
 * nothing. Refused while the group has active members. The work is ferry_reset_group()
 * in lib/reset.c, which `ferry rollback --since` uses too. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/command.h"
#include "ferry/groups.h"
#include "ferry/reset.h"
#include "ferry/log.h"
#include "ferry/options.h"
#include "ferry/timeparse.h"
#include "plan.h"

static const ferry_opt_t replay_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    {"group", 'g', FERRY_OPT_STRING, NULL, "GROUP", "consumer group whose offsets are reset",
     FERRY_OPTF_REQUIRED},
    {"topic", 't', FERRY_OPT_STRING, NULL, "TOPIC", "topic whose partitions are reset",
     FERRY_OPTF_REQUIRED | FERRY_OPTF_TOPIC},
    {"to-time", 0, FERRY_OPT_STRING, NULL, "TIME",
     "first record with a timestamp at or after TIME (ISO-8601, or epoch s/ms/us/ns); the end "
     "offset where there is none",
     FERRY_OPTF_NOENV},
    {"to-offset", 0, FERRY_OPT_STRING, NULL, "P:O[,P:O...]",
     "these offsets of these partitions (others are left alone); clamped into the log",
     FERRY_OPTF_NOENV},
    {"earliest", 0, FERRY_OPT_BOOL, NULL, NULL, "the start offset of each partition",
     FERRY_OPTF_NOENV},
    {"latest", 0, FERRY_OPT_BOOL, NULL, NULL, "the end offset of each partition (skip all)",
     FERRY_OPTF_NOENV},
    {"partitions", 0, FERRY_OPT_STRING, NULL, "P[,P...]",
     "with --earliest/--latest/--to-time: only these partitions (default: all)", FERRY_OPTF_NOENV},
    {"dry-run", 'n', FERRY_OPT_BOOL, NULL, NULL, "print the plan, change nothing",
     FERRY_OPTF_NOENV},
    {"json", 0, FERRY_OPT_BOOL, NULL, NULL, "print the plan as JSON", 0},
    {"timeout", 0, FERRY_OPT_DURATION, "30s", "DURATION", "time limit of each Kafka request", 0},
    FERRY_OPT_END,
};

/* Parses a non-negative decimal integer that fills the whole of s[0..len). */
static int parse_i64(const char *s, size_t len, int64_t max, int64_t *out)
{
    if (len == 0 || len > 19)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v > (max - (s[i] - '0')) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "P:O,P:O" (with_offsets) or "P,P" into new arrays (free both). Returns the count or -1
 * with a message in errbuf. */
static int parse_list(const char *spec, int with_offsets, int32_t **parts, int64_t **offs,
                      char *errbuf, size_t errsz)
{
    size_t cap = 1;
    for (const char *c = spec; *c; c++)
        cap += *c == ',';
    *parts = calloc(cap, sizeof **parts);
    *offs = calloc(cap, sizeof **offs);
    if (!*parts || !*offs)
        abort();
    int n = 0;
    const char *s = spec;
    for (;;) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        const char *colon = memchr(s, ':', len);
        int64_t p = 0, o = 0;
        int bad;
        if (with_offsets)
            bad = !colon || parse_i64(s, (size_t)(colon - s), INT32_MAX, &p) ||
                  parse_i64(colon + 1, len - (size_t)(colon - s) - 1, INT64_MAX, &o);
        else
            bad = colon != NULL || parse_i64(s, len, INT32_MAX, &p);
        if (bad) {
            snprintf(errbuf, errsz, "expected %s, got '%.*s'",
                     with_offsets ? "PARTITION:OFFSET" : "PARTITION", (int)(len > 40 ? 40 : len),
                     s);
            return -1;
        }
        (*parts)[n] = (int32_t)p;
        (*offs)[n] = o;
        n++;
        if (!end)
            break;
        s = end + 1;
    }
    return n;
}

int cmd_replay(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(
            argv[0],
            "--group G --topic T (--to-time TIME | --to-offset P:O[,P:O...] | --earliest | "
            "--latest) [--dry-run] [options]",
            "Resets a consumer group's committed offsets on one topic, as kafka-consumer-groups "
            "--reset-offsets does, and prints the plan: partition, current committed offset, new "
            "offset, difference. --to-time picks the earliest offset whose record timestamp is at "
            "or after TIME (the end offset where there is none); --to-offset sets the partitions "
            "named and leaves the others alone. Refused (exit 1, naming the members) while the "
            "group has active members, also with --dry-run. Exit 0 when the offsets were reset "
            "(or, with --dry-run, could be).",
            replay_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
    const char *prog = argv[0];
    int32_t *parts = NULL;
    int64_t *offs = NULL;
    ferry_groups_t *g = NULL;
    ferry_reset_plan_t *plan = NULL;
    ferry_reset_target_t t = {0};
    char msg[256];
    const char *to_time = ferry_opts_str(o, "to-time");
    const char *to_offset = ferry_opts_str(o, "to-offset");
    const char *only = ferry_opts_str(o, "partitions");
    int nmodes = (to_time != NULL) + (to_offset != NULL) + ferry_opts_bool(o, "earliest") +
                 ferry_opts_bool(o, "latest");
    rc = FERRY_EXIT_USAGE;
    if (nmodes != 1) {
        fprintf(stderr, "%s: give exactly one of --to-time, --to-offset, --earliest, --latest\n",
                prog);
        goto out;
    }
    if (to_offset && only) {
        fprintf(stderr, "%s: --partitions goes with --earliest, --latest or --to-time\n", prog);
        goto out;
    }
    if (to_time) {
        int64_t us;
        ferry_err_t perr;
        if (ferry_ts_parse(to_time, strlen(to_time), FERRY_TS_AUTO, &us, &perr) != FERRY_OK) {
            fprintf(stderr, "%s: --to-time '%s': %s\n", prog, to_time, perr.msg);
            goto out;
        }
        t.kind = FERRY_RESET_TIME;
        t.time_ms = ferry_reset_time_ms(us);
    } else if (to_offset) {
        t.kind = FERRY_RESET_OFFSETS;
    } else {
        t.kind = ferry_opts_bool(o, "earliest") ? FERRY_RESET_EARLIEST : FERRY_RESET_LATEST;
    }
    if (to_offset || only) {
        int n = parse_list(to_offset ? to_offset : only, to_offset != NULL, &parts, &offs, msg,
                           sizeof msg);
        if (n < 0) {
            fprintf(stderr, "%s: %s: %s\n", prog, to_offset ? "--to-offset" : "--partitions", msg);
            goto out;
        }
        t.partitions = parts;
        t.offsets = to_offset ? offs : NULL;
        t.n = (size_t)n;
    }
    ferry_err_t err;
    g = ferry_groups_new(o, (int)ferry_opts_duration_ms(o, "timeout"), &err);
    if (!g) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        rc = ferry_cmd_exit_for(err.status);
        goto out;
    }
    int dry_run = ferry_opts_bool(o, "dry-run");
    ferry_status st = ferry_reset_group(g, ferry_opts_str(o, "group"), ferry_opts_str(o, "topic"),
                                        &t, dry_run, &plan, &err);
    if (plan) {
        if (ferry_opts_bool(o, "json")) {
            json_t *j = ferry_reset_plan_json(plan);
            char *s = json_dumps(j, JSON_COMPACT);
            if (s)
                printf("%s\n", s);
            free(s);
            json_decref(j);
        } else {
            plan_print(plan, stdout);
        }
        fflush(stdout);
    }
    if (st != FERRY_OK)
        fprintf(stderr, "%s: %s%s\n", prog, st == FERRY_RETRY ? "Kafka unavailable: " : "",
                err.msg);
    rc = st == FERRY_OK ? FERRY_EXIT_OK : ferry_cmd_exit_for(st);
out:
    ferry_reset_plan_free(plan);
    ferry_groups_destroy(g);
    free(parts);
    free(offs);
    return ferry_cmd_end(&cmd, rc);
}
