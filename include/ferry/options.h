/* options.h - every command's options from one declarative table.
 *
 * Each entry is at once a command-line flag (--name, optional -x), an environment
 * variable (FERRY_NAME, dashes become underscores) and a key of the optional config
 * file (--config FILE or FERRY_CONFIG; lines `name = value`, `#` comments).
 * Precedence, lowest first: default, config file, environment, command line.
 *
 * Secret options (FERRY_OPTF_SECRET) may also be given as a file to read,
 * through `--name-file PATH` or FERRY_NAME_FILE; their values are never printed:
 * help shows no default and ferry_opts_describe() masks them.
 *
 * Repeatable options (FERRY_OPT_LIST, like -X key=value) collect every occurrence. */
#ifndef FERRY_OPTIONS_H
#define FERRY_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ferry/err.h"

typedef enum ferry_opt_type {
    FERRY_OPT_STRING = 0,
    FERRY_OPT_INT, /* signed 32-bit, or 64-bit with FERRY_OPTF_INT64; out of range is refused */
    FERRY_OPT_DOUBLE,
    FERRY_OPT_BOOL,     /* flag: present = true; env/config accept 1/0/true/false/yes/no */
    FERRY_OPT_DURATION, /* "250ms", "5s", "2m", "24h", "7d"; a bare number is seconds */
    FERRY_OPT_LIST,     /* repeatable string */
} ferry_opt_type;

enum {
    FERRY_OPTF_SECRET = 1u << 0,    /* never printed; accepts --NAME-file / FERRY_NAME_FILE */
    FERRY_OPTF_REQUIRED = 1u << 1,  /* parse fails with a usage error when unset */
    FERRY_OPTF_NOENV = 1u << 2,     /* not read from the environment or config file */
    FERRY_OPTF_TOPIC = 1u << 3,     /* a Kafka topic name (checked as Kafka would) */
    FERRY_OPTF_TOPIC_DLQ = 1u << 4, /* a topic name whose NAME.dlq must be valid too */
    FERRY_OPTF_INT64 = 1u << 5,     /* FERRY_OPT_INT over the whole 64-bit range (else 32) */
};

typedef struct ferry_opt {
    const char *name; /* long name without dashes; NULL ends a table */
    char short_name;  /* 0 for none */
    ferry_opt_type type;
    const char *def;     /* default as text, NULL for none */
    const char *metavar; /* shown in help, e.g. "HOSTS" */
    const char *help;
    unsigned flags;
} ferry_opt_t;

/* Common entries, to put in a command's table. */
#define FERRY_OPT_BROKERS                                                                          \
    {                                                                                              \
        "brokers", 'b', FERRY_OPT_STRING, "127.0.0.1:9092", "HOST:PORT,...",                       \
            "Kafka bootstrap servers", 0                                                           \
    }
#define FERRY_OPT_PG                                                                               \
    {                                                                                              \
        "pg", 0, FERRY_OPT_STRING, NULL, "CONNINFO",                                               \
            "PostgreSQL connection string or URI (libpq); a password in it is never printed",      \
            FERRY_OPTF_SECRET                                                                      \
    }
#define FERRY_OPT_KAFKA_X                                                                          \
    {                                                                                              \
        "X", 'X', FERRY_OPT_LIST, NULL, "KEY=VALUE",                                               \
            "librdkafka property, passed through (repeatable), e.g. -X security.protocol=SSL", 0   \
    }
#define FERRY_OPT_GROUP(def)                                                                       \
    {                                                                                              \
        "group", 'g', FERRY_OPT_STRING, def, "GROUP", "Kafka consumer group id", 0                 \
    }
#define FERRY_OPT_TOPIC(def)                                                                       \
    {                                                                                              \
        "topic", 't', FERRY_OPT_STRING, def, "TOPIC", "Kafka topic", FERRY_OPTF_TOPIC_DLQ          \
    }
#define FERRY_OPT_END                                                                              \
    {                                                                                              \
        NULL, 0, 0, NULL, NULL, NULL, 0                                                            \
    }

typedef struct ferry_opts ferry_opts_t;

/* Creates a parser for `command` ("ferry dualwrite") over `table` (ended by FERRY_OPT_END;
 * the table must outlive the parser). The entries config, log-level, log-format and help
 * are always added. `usage` is the synopsis after the command name, `about` a paragraph
 * for --help. Returns a new object; free it with ferry_opts_destroy(). */
ferry_opts_t *ferry_opts_new(const char *command, const char *usage, const char *about,
                             const ferry_opt_t *table);
void ferry_opts_destroy(ferry_opts_t *o);

/* Parses defaults, config file, environment and argv (argv[0] is the command name).
 * Returns FERRY_OK; FERRY_USAGE with a message for an unknown option, a missing or
 * malformed value or a missing required option; FERRY_FATAL for an unreadable
 * config or secret file. Also initialises logging from log-level/log-format.
 * When --help was given, ferry_opts_help_requested() is true and nothing is required. */
ferry_status ferry_opts_parse(ferry_opts_t *o, int argc, char **argv, ferry_err_t *err);

/* The usual entry for a command: parses; on --help prints help to stdout and returns 0
 * via *exit_code; on a usage error prints the message and a hint to stderr and sets
 * *exit_code to 2. Returns 1 when the command should run, 0 when it should return
 * *exit_code at once. */
int ferry_opts_parse_or_exit_code(ferry_opts_t *o, int argc, char **argv, int *exit_code);

int ferry_opts_help_requested(const ferry_opts_t *o);

/* The secret a file holds (at most 8 KiB; trailing newlines and CRs stripped), as the
 * FILE options read it: a new string the caller frees (and should wipe), or NULL with
 * FERRY_USAGE "cannot read secret file PATH: ..." in *err. */
char *ferry_opts_read_secret_file(const char *path, ferry_err_t *err);
/* Prints --help text (synopsis, about, every option with its env name and default;
 * secrets show no value) to `fp`. */
void ferry_opts_print_help(const ferry_opts_t *o, FILE *fp);

/* Getters by long name. Values are owned by the parser. An unset string is NULL.
 * Asking for a name that is not in the table is a programming error (abort()). */
const char *ferry_opts_str(const ferry_opts_t *o, const char *name);
int64_t ferry_opts_int(const ferry_opts_t *o, const char *name);
double ferry_opts_double(const ferry_opts_t *o, const char *name);
int ferry_opts_bool(const ferry_opts_t *o, const char *name);
int64_t ferry_opts_duration_ms(const ferry_opts_t *o, const char *name);
/* True when `name` is an option of this command (any table entry). */
int ferry_opts_has(const ferry_opts_t *o, const char *name);
/* True when the option was given by flag, env or config (not just its default). */
int ferry_opts_is_set(const ferry_opts_t *o, const char *name);
/* Repeatable option: number of values; *items points to an array owned by the parser. */
size_t ferry_opts_list(const ferry_opts_t *o, const char *name, const char *const **items);
/* Positional arguments left after the options. */
int ferry_opts_nargs(const ferry_opts_t *o);
const char *ferry_opts_arg(const ferry_opts_t *o, int i);
const char *ferry_opts_command(const ferry_opts_t *o);

/* Parses a duration ("250ms", "1.5s", "5m", "24h", "7d"; bare number = seconds) into
 * milliseconds. Returns 0 or -1. */
int ferry_parse_duration_ms(const char *s, int64_t *out_ms);

#endif
