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
#include "ferry/options.h"
#include "ferry/pg.h"

/* The exit status for a command that stops on `st`: usage 2, unavailable (retriable) 3,
 * anything else 1. */
static inline int ferry_cmd_exit_for(ferry_status st)
{
    return st == FERRY_RETRY   ? FERRY_EXIT_UNAVAILABLE
           : st == FERRY_USAGE ? FERRY_EXIT_USAGE
                               : FERRY_EXIT_FAILED;
}

/* ---- the prologue every command shares (lib/command.c) -------------------------------------
 *
 *     ferry_cmd_t cmd;
 *     int rc = ferry_cmd_begin(&cmd, ferry_opts_new(argv[0], ...), argc, argv);
 *     if (rc >= 0)
 *         return rc;                       // --help (0) or a usage error (2), already said
 *     if ((rc = ferry_cmd_connect(&cmd, "ferry verify", NULL)) >= 0)
 *         return ferry_cmd_end(&cmd, rc);  // no --pg (2), or PostgreSQL unreachable (3)
 *     ... the command, with cmd.o and cmd.pg ...
 *     return ferry_cmd_end(&cmd, rc);
 */
typedef struct ferry_cmd {
    const char *name; /* argv[0], "ferry <command>", for messages */
    ferry_opts_t *o;  /* owned: ferry_cmd_end destroys it */
    ferry_pg_t *pg;   /* owned once ferry_cmd_connect succeeded: ferry_cmd_end closes it */
} ferry_cmd_t;

/* Takes ownership of `o` and parses argv with it. Returns -1 when the command is to run, else
 * the exit status to return at once: 0 after --help, 2 on a usage error (printed with a hint);
 * `o` is then destroyed already. An `o` of NULL (out of memory) is exit status 1. */
int ferry_cmd_begin(ferry_cmd_t *c, ferry_opts_t *o, int argc, char **argv);

/* Requires --pg and connects to it as application `app` (`retry` NULL: ferry_pg_connect's
 * defaults). Returns -1 when connected (c->pg), else the exit status, with the reason said:
 * 2 when --pg is missing, 3 when PostgreSQL could not be reached or refused the connection. */
int ferry_cmd_connect(ferry_cmd_t *c, const char *app, const ferry_pg_retry_t *retry);

/* Prints "<command>: <message>" on stderr; returns FERRY_EXIT_USAGE. */
int ferry_cmd_usage(const ferry_cmd_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Logs err's message as an error; returns ferry_cmd_exit_for(err->status). */
int ferry_cmd_fail(const ferry_err_t *err);

/* Closes c->pg, destroys c->o; returns rc. */
int ferry_cmd_end(ferry_cmd_t *c, int rc);

/* ---- the commands (each a program folder, or cli/) ------------------------------------------ */
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
