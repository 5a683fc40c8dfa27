/* main.c - the `ferry` dispatcher: `ferry <command> [options]`.
 * main() only finds the command and hands over; every command parses its own options. */
#include <stdio.h>
#include <string.h>

#include "ferry/command.h"
#include "ferry/lifecycle.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"setup", cmd_setup, "create ferry's Kafka topics and PostgreSQL schema"},
    {"produce", cmd_produce, "publish JSON lines as Avro records (for external producers)"},
    {"tail", cmd_tail, "consume a topic and print its Avro records as JSON lines"},
    {"schemas", cmd_schemas, "list the embedded Avro schemas with their fingerprints"},
    {"crawl", cmd_crawl, "crawl TMDB movie lists into MovieCrawled events (`crawl tmdb`)"},
    {"preprocess", cmd_preprocess, "worker: store movies, derive watch-log features"},
    {"retrain", cmd_retrain, "worker: retrain triggers exactly once; `retrain dispatch` delivers"},
    {"telemetry", cmd_telemetry, "publish ship telemetry (simulator or CSV) keyed by ship"},
    {"dualwrite", cmd_dualwrite, "worker: write telemetry to the narrow and wide tables"},
    {"replay", cmd_replay, "reset a consumer group's offsets (earliest, latest, time, offsets)"},
    {"status", cmd_status, "consumer group lag and each ship's migration state"},
    {"backfill", cmd_backfill, "plan/run/retry: copy narrow history into the wide tables"},
    {"verify", cmd_verify, "compare narrow and wide chunk by chunk; exit 1 on any mismatch"},
    {"cutover", cmd_cutover, "switch a ship's reader view to its wide tables (or --undo)"},
    {"rollback", cmd_rollback, "return a ship to its state before the migration (or before T)"},
    {NULL, NULL, NULL},
};

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: ferry <command> [options]\n"
                "       ferry <command> --help\n"
                "       ferry --version\n\n"
                "ferry moves TMDB movie crawls and ship telemetry through Kafka into PostgreSQL.\n"
                "Progress lives in Kafka consumer offsets; every write is idempotent.\n\n"
                "Commands:\n");
    for (const command_t *c = commands; c->name; c++)
        fprintf(fp, "  %-12s %s\n", c->name, c->summary);
    fprintf(fp, "\nCommon options (see each command's --help): -b/--brokers, --pg, -X key=value,\n"
                "--group, --topic, --config FILE, --log-level, --log-format.\n"
                "Every option can also be set as FERRY_<NAME> in the environment.\n\n"
                "Exit status: 0 ok, 1 failed, 2 usage error, 3 Kafka or PostgreSQL unreachable.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return FERRY_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return FERRY_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0 || strcmp(name, "version") == 0) {
        printf("ferry %s\n", FERRY_VERSION);
        return FERRY_EXIT_OK;
    }
    for (const command_t *c = commands; c->name; c++) {
        if (strcmp(c->name, name) == 0) {
            char prog[64];
            snprintf(prog, sizeof prog, "ferry %s", c->name);
            argv[1] = prog;
            ferry_lifecycle_install();
            return c->run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "ferry: unknown command '%s'\n\n", name);
    usage(stderr);
    return FERRY_EXIT_USAGE;
}
