/* backfill.c - `ferry backfill plan|run|retry`: copies a ship's history from the narrow table
 * into its wide tables, as chunks (ship x --chunk, default 24 h) distributed as tasks on a Kafka
 * topic to a consumer group of workers. The subcommands are plan.c's (plan, retry) and run.c's
 * (run; a chunk is chunk.c's, a part table pivot.c's). */
#include <stdio.h>
#include <string.h>

#include "backfill.h"
#include "ferry/command.h"
#include "ferry/log.h"
#include "ferry/migration.h"

int bf_connect_pg(ferry_cmd_t *cmd, const char *app)
{
    int rc = ferry_cmd_connect(cmd, app, NULL);
    if (rc >= 0)
        return rc;
    ferry_err_t err;
    if (ferry_widecat_setup(cmd->pg, NULL, &err) || ferry_migration_setup(cmd->pg, &err)) {
        ferry_error("%s", err.msg);
        return FERRY_EXIT_FAILED;
    }
    return FERRY_EXIT_OK;
}

int cmd_backfill(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        FILE *fp = sub ? stdout : stderr;
        fprintf(fp, "Usage: ferry backfill plan|run|retry [options]\n\n"
                    "Copies ship history from the narrow table into the wide tables, as chunk\n"
                    "tasks on a Kafka topic handled by a consumer group of workers.\n\n"
                    "  plan    publish chunk tasks for ships' history before their cutoff\n"
                    "  run     worker: backfill the published chunks\n"
                    "  retry   re-publish chosen chunks (--chunk ID, --failed)\n\n"
                    "See `ferry backfill <sub> --help`.\n");
        return sub ? FERRY_EXIT_OK : FERRY_EXIT_USAGE;
    }
    char prog[64];
    snprintf(prog, sizeof prog, "ferry backfill %s", sub);
    argv[1] = prog;
    if (!strcmp(sub, "plan"))
        return bf_plan(argc - 1, argv + 1);
    if (!strcmp(sub, "run"))
        return bf_run(argc - 1, argv + 1);
    if (!strcmp(sub, "retry"))
        return bf_retry(argc - 1, argv + 1);
    fprintf(stderr, "ferry backfill: unknown subcommand '%s' (plan, run, retry)\n", sub);
    return FERRY_EXIT_USAGE;
}
