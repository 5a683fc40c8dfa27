/* produce.c - `ferry produce`: reads JSON lines (files or stdin), encodes each as an Avro
 * record of the chosen schema in single-object encoding and publishes it through the
 * core's idempotent producer. This is the door for external systems (and shell scripts)
 * that produce ferry's schemas without an Avro library of their own.
 *
 * A line that is not valid JSON or does not fit the schema is reported with its line
 * number and skipped (or stops the run with --strict); it is always counted. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/command.h"
#include "ferry/avro.h"
#include "ferry/kafka.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/options.h"
#include "ferry/wire.h"

static const ferry_opt_t produce_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    {"topic", 't', FERRY_OPT_STRING, NULL, "TOPIC", "Kafka topic to publish to",
     FERRY_OPTF_REQUIRED | FERRY_OPTF_TOPIC},
    {"schema", 's', FERRY_OPT_STRING, NULL, "NAME",
     "Avro schema of the records (see `ferry schemas`), e.g. TelemetryReading",
     FERRY_OPTF_REQUIRED},
    {"key", 'k', FERRY_OPT_STRING, NULL, "FIELD",
     "field whose value is the message key (default: ship_id for TelemetryReading and "
     "BackfillChunk, id for MovieCrawled, none otherwise)",
     0},
    {"strict", 0, FERRY_OPT_BOOL, NULL, NULL, "stop at the first bad line (exit 1)", 0},
    {"progress", 0, FERRY_OPT_DURATION, "5s", "DURATION", "interval of the progress line", 0},
    FERRY_OPT_WIRE_FORMAT,
    FERRY_OPT_SCHEMA_REGISTRY,
    FERRY_OPT_END,
};

typedef struct produce_stats {
    uint64_t lines, bad;
} produce_stats_t;

static const char *default_key(const char *schema)
{
    if (strstr(schema, "TelemetryReading") || strstr(schema, "BackfillChunk"))
        return "ship_id";
    if (strstr(schema, "MovieCrawled"))
        return "id";
    return NULL;
}

/* Renders the key field as text: strings as they are, integers in decimal. */
static int key_text(const json_t *rec, const char *field, char *out, size_t outsz)
{
    const json_t *v = json_object_get(rec, field);
    if (json_is_string(v))
        snprintf(out, outsz, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, outsz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        return -1;
    return 0;
}

static void progress(ferry_producer_t *p, const produce_stats_t *s, int64_t t0, const char *tag)
{
    ferry_producer_stats_t ps = ferry_producer_stats(p);
    double secs = (double)(ferry_clock_mono_ms() - t0) / 1000.0;
    ferry_info("%s: lines %llu, sent %llu, acknowledged %llu, failed %llu, bad lines %llu, "
               "%.0f records/s",
               tag, (unsigned long long)s->lines, (unsigned long long)ps.sent,
               (unsigned long long)ps.delivered, (unsigned long long)ps.failed,
               (unsigned long long)s->bad, secs > 0 ? (double)ps.sent / secs : 0.0);
}

/* Publishes every line of `fp`. Returns FERRY_OK, or an error that stops the run. */
static ferry_status produce_stream(FILE *fp, const char *name, const ferry_opts_t *o,
                                   const ferry_schema_t *schema, const char *key_field,
                                   const ferry_wire_t *wire, ferry_producer_t *p,
                                   produce_stats_t *st, int64_t t0, int64_t *next_progress,
                                   ferry_err_t *err)
{
    const char *topic = ferry_opts_str(o, "topic");
    int strict = ferry_opts_bool(o, "strict");
    int64_t every = ferry_opts_duration_ms(o, "progress");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    ferry_buf_t out = FERRY_BUF_INIT;
    avro_value_t value;
    ferry_status rc = FERRY_OK;
    if (ferry_schema_new_value(schema, &value) != 0) {
        free(line);
        return ferry_err_set(err, FERRY_FATAL, "cannot create a value of schema %s",
                             ferry_schema_name(schema));
    }
    while (ferry_lifecycle_running() && (n = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        st->lines++;
        json_error_t jerr;
        ferry_err_t rerr;
        ferry_err_clear(&rerr);
        json_t *rec = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &jerr);
        char key[512];
        int has_key = 0;
        ferry_buf_reset(&out);
        if (!rec) {
            ferry_err_set(&rerr, FERRY_POISON, "not JSON: %s (column %d)", jerr.text, jerr.column);
        } else {
            if (ferry_avro_from_json_into(schema, rec, &value, &rerr) == FERRY_OK &&
                ferry_avro_encode(schema, &value, &out, &rerr) == FERRY_OK) {
                ferry_wire_frame(wire, &out, 0);
            }
            if (rerr.status == FERRY_OK && key_field) {
                if (key_text(rec, key_field, key, sizeof key) == 0)
                    has_key = 1;
                else
                    ferry_err_set(&rerr, FERRY_POISON, "key field '%s' missing or not a string",
                                  key_field);
            }
            json_decref(rec);
        }
        if (rerr.status != FERRY_OK) {
            st->bad++;
            ferry_warn("%s:%llu: skipped: %s", name, (unsigned long long)lineno, rerr.msg);
            if (strict) {
                rc = ferry_err_set(err, FERRY_POISON, "%s:%llu: %s (--strict)", name,
                                   (unsigned long long)lineno, rerr.msg);
                break;
            }
            continue;
        }
        if (ferry_producer_send(p, topic, RD_KAFKA_PARTITION_UA, has_key ? key : NULL,
                                has_key ? strlen(key) : 0, out.data, out.len, NULL, NULL,
                                err) != FERRY_OK) {
            rc = err->status;
            break;
        }
        ferry_producer_poll(p, 0);
        if (every > 0 && ferry_clock_mono_ms() >= *next_progress) {
            progress(p, st, t0, "progress");
            *next_progress = ferry_clock_mono_ms() + every;
        }
    }
    avro_value_decref(&value);
    ferry_buf_free(&out);
    free(line);
    return rc;
}

int cmd_produce(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(
            argv[0], "--topic TOPIC --schema NAME [options] [FILE...]",
            "Publishes JSON lines (from the FILEs, or stdin) as Avro records of the given schema, "
            "in "
            "single-object encoding or, with --schema-registry, in Schema Registry framing (the "
            "schema registered under <topic>-value first). Natural JSON is accepted: a union field "
            "takes a plain value. "
            "Exits 1 if any record was not delivered or (with --strict) any line was bad.",
            produce_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
    ferry_err_t err;
    ferry_err_clear(&err);
    const ferry_schema_t *schema = ferry_schema_get(ferry_opts_str(o, "schema"));
    if (!schema) {
        fprintf(stderr, "%s: unknown schema '%s' (see `ferry schemas`)\n", argv[0],
                ferry_opts_str(o, "schema"));
        return ferry_cmd_end(&cmd, FERRY_EXIT_USAGE);
    }
    const char *key_field = ferry_opts_str(o, "key");
    if (!key_field)
        key_field = default_key(ferry_schema_name(schema));

    /* the schema is registered (or refused) before anything is sent */
    ferry_wire_t wire;
    ferry_status ws = ferry_wire_setup(o, schema, ferry_opts_str(o, "topic"), &wire, &err);
    if (ws != FERRY_OK) {
        ferry_error("%s", err.msg);
        return ferry_cmd_end(&cmd, ferry_cmd_exit_for(ws));
    }
    ferry_producer_t *p = ferry_producer_new(o, NULL, &err);
    if (!p) {
        ferry_error("%s", err.msg);
        return ferry_cmd_end(&cmd, FERRY_EXIT_USAGE);
    }
    produce_stats_t st = {0, 0};
    int64_t t0 = ferry_clock_mono_ms();
    int64_t next_progress = t0 + ferry_opts_duration_ms(o, "progress");
    ferry_status s = FERRY_OK;
    if (ferry_opts_nargs(o) == 0) {
        s = produce_stream(stdin, "stdin", o, schema, key_field, &wire, p, &st, t0, &next_progress,
                           &err);
    }
    for (int i = 0; i < ferry_opts_nargs(o) && s == FERRY_OK; i++) {
        const char *path = ferry_opts_arg(o, i);
        FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
        if (!fp) {
            s = ferry_err_set(&err, FERRY_FATAL, "cannot open %s: %s", path, strerror(errno));
            break;
        }
        s = produce_stream(fp, path, o, schema, key_field, &wire, p, &st, t0, &next_progress, &err);
        if (fp != stdin)
            fclose(fp);
    }
    if (s != FERRY_OK)
        ferry_error("%s", err.msg);
    ferry_err_t ferr;
    ferry_status fs = ferry_producer_flush(p, 60000, &ferr);
    progress(p, &st, t0, "done");
    if (fs != FERRY_OK)
        ferry_error("%s", ferr.msg);
    ferry_producer_destroy(p);
    if (fs != FERRY_OK || s != FERRY_OK)
        return ferry_cmd_end(&cmd, FERRY_EXIT_FAILED);
    if (!ferry_lifecycle_running())
        return ferry_cmd_end(&cmd, 128 + ferry_lifecycle_stop_signal());
    return ferry_cmd_end(&cmd, FERRY_EXIT_OK);
}
