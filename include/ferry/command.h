/* command.h - the contract of a `ferry` subcommand, shared by every program and the
 * dispatcher (cli/main.c). Each takes argv with argv[0] = "ferry <command>" and returns the
 * process exit status:
 *   0 success; 1 the work failed (e.g. records not delivered, mismatches found);
 *   2 usage error; 3 a required service (Kafka, PostgreSQL) could not be reached;
 *   130/143 stopped by SIGINT/SIGTERM before finishing a bounded run. */
#ifndef FERRY_COMMAND_H
#define FERRY_COMMAND_H

#define FERRY_EXIT_OK          0
#define FERRY_EXIT_FAILED      1
#define FERRY_EXIT_USAGE       2
#define FERRY_EXIT_UNAVAILABLE 3

#include "ferry/err.h"

/* The exit status for a command that stops on `st`: usage 2, unavailable (retriable) 3,
 * anything else 1. */
static inline int ferry_exit_for(ferry_status st)
{
    return st == FERRY_RETRY   ? FERRY_EXIT_UNAVAILABLE
           : st == FERRY_USAGE ? FERRY_EXIT_USAGE
                               : FERRY_EXIT_FAILED;
}

int cmd_setup(int argc, char **argv);
int cmd_produce(int argc, char **argv);
int cmd_tail(int argc, char **argv);
int cmd_schemas(int argc, char **argv);
int cmd_crawl(int argc, char **argv);
int cmd_preprocess(int argc, char **argv);
int cmd_retrain(int argc, char **argv);
int cmd_telemetry(int argc, char **argv);
int cmd_dualwrite(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_backfill(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_cutover(int argc, char **argv);
int cmd_rollback(int argc, char **argv);

#endif
