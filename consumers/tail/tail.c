/* tail.c - `ferry tail`: consumes topics and prints each Avro record as one JSON line
 * (optionally wrapped with its Kafka coordinates). Without --group it reads as an
 * anonymous consumer that never commits; with --group and --commit it commits what it
 * printed, like any ferry worker. Undecodable records are reported on stderr, counted,
 * and skipped. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/command.h"
#include "ferry/avro.h"
#include "ferry/decoder.h"
#include "ferry/kafka.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/options.h"

static const ferry_opt_t tail_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_GROUP(NULL),
    {"topic", 't', FERRY_OPT_LIST, NULL, "TOPIC", "topic to read (repeatable)",
     FERRY_OPTF_REQUIRED | FERRY_OPTF_TOPIC},
    {"commit", 0, FERRY_OPT_BOOL, NULL, NULL, "commit offsets of printed records (needs --group)",
     0},
    {"count", 'n', FERRY_OPT_INT, "0", "N", "exit after N records (0: no limit)", FERRY_OPTF_INT64},
    {"until-idle", 0, FERRY_OPT_DURATION, NULL, "DURATION",
     "exit once every assigned partition has been at its end for this long", 0},
    {"from", 0, FERRY_OPT_STRING, "beginning", "WHERE",
     "where a group without committed offsets starts: beginning or end", 0},
    {"meta", 'm', FERRY_OPT_BOOL, NULL, NULL,
     "print {topic, partition, offset, timestamp, key, schema, framing, value} instead of the "
     "value",
     0},
    FERRY_OPT_SCHEMA_REGISTRY,
    FERRY_OPT_SCHEMAS_DIR,
    FERRY_OPT_END,
};

/* The record as JSON (*out, new): Avro as natural JSON, JSON as it is. Waits out a registry
 * that is away. Returns FERRY_OK, FERRY_POISON (skip it, *err says why), or FERRY_RETRY /
 * FERRY_FATAL (stop). */
static ferry_status to_json(ferry_decoder_t *dec, const rd_kafka_message_t *m, json_t **out,
                            const ferry_schema_t **schema, ferry_framing *framing, ferry_err_t *err)
{
    avro_value_t value;
    *out = NULL;
    *framing = FERRY_FRAMING_NONE;
    int st = ferry_decoder_value_wait(dec, m->payload, m->len, &value, framing, "tail", err);
    *schema = st == FERRY_OK ? ferry_decoder_last_writer(dec) : NULL;
    if (*framing == FERRY_FRAMING_JSON) {
        *out = json_loadb(m->payload, m->len, JSON_ALLOW_NUL, NULL);
        return *out ? FERRY_OK : ferry_err_set(err, FERRY_POISON, "a record that is not JSON");
    }
    if (st != FERRY_OK)
        return (ferry_status)st;
    *out = ferry_avro_to_json_err(&value, err);
    return *out ? FERRY_OK : err->status;
}

/* Prints one line: the value, or with --meta the value wrapped with its coordinates. Takes j. */
static void print_line(const rd_kafka_message_t *m, json_t *j, const ferry_schema_t *schema,
                       ferry_framing framing, int meta)
{
    if (meta) {
        json_t *w = json_object();
        rd_kafka_timestamp_type_t tt;
        json_object_set_new(w, "topic", json_string(rd_kafka_topic_name(m->rkt)));
        json_object_set_new(w, "partition", json_integer(m->partition));
        json_object_set_new(w, "offset", json_integer(m->offset));
        json_object_set_new(w, "timestamp", json_integer(rd_kafka_message_timestamp(m, &tt)));
        json_object_set_new(w, "key",
                            m->key ? json_stringn_nocheck(m->key, m->key_len) : json_null());
        json_object_set_new(w, "schema",
                            schema && framing != FERRY_FRAMING_JSON
                                ? json_string(ferry_schema_fullname(schema))
                                : json_null());
        json_object_set_new(w, "framing", json_string(ferry_framing_name(framing)));
        json_object_set_new(w, "value", j);
        j = w;
    }
    char *s = json_dumps(j, JSON_COMPACT);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    json_decref(j);
}

/* Reads and prints until --count, --until-idle, a stop or a fatal error; the exit status. */
static int tail_run(ferry_consumer_t *c, ferry_decoder_t *dec, const ferry_opts_t *o)
{
    int64_t limit = ferry_opts_int(o, "count");
    int64_t idle_ms =
        ferry_opts_is_set(o, "until-idle") ? ferry_opts_duration_ms(o, "until-idle") : -1;
    int meta = ferry_opts_bool(o, "meta"), commit = ferry_opts_bool(o, "commit");
    int64_t printed = 0, bad = 0, idle_since = -1;
    int rc = FERRY_EXIT_OK;
    ferry_err_t err;
    while (ferry_lifecycle_running() && (limit <= 0 || printed < limit)) {
        rd_kafka_message_t *m = ferry_consumer_poll(c, 200, &err);
        if (!m) {
            if (!ferry_lifecycle_running())
                break;
            if (idle_ms >= 0 && ferry_consumer_caught_up(c)) {
                if (idle_since < 0)
                    idle_since = ferry_clock_mono_ms();
                else if (ferry_clock_mono_ms() - idle_since >= idle_ms)
                    break;
            } else {
                idle_since = -1;
            }
            continue;
        }
        idle_since = -1;
        const ferry_schema_t *schema;
        ferry_framing framing;
        json_t *j;
        ferry_err_t derr;
        ferry_status st = to_json(dec, m, &j, &schema, &framing, &derr);
        if (st == FERRY_RETRY || st == FERRY_FATAL) {
            if (st == FERRY_FATAL) {
                ferry_error("%s", derr.msg);
                rc = FERRY_EXIT_FAILED;
            }
            rd_kafka_message_destroy(m);
            break;
        }
        if (st != FERRY_OK) {
            bad++;
            ferry_warn("%s[%d]@%lld: %s", rd_kafka_topic_name(m->rkt), m->partition,
                       (long long)m->offset, derr.msg);
        } else {
            print_line(m, j, schema, framing, meta);
            printed++;
        }
        if (commit)
            ferry_consumer_store(c, m, NULL);
        rd_kafka_message_destroy(m);
    }
    fflush(stdout);
    ferry_info("printed %lld record(s), %lld undecodable", (long long)printed, (long long)bad);
    return rc;
}

int cmd_tail(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(argv[0], "--topic TOPIC [options]",
                       "Prints the records of a topic as JSON lines on stdout: Avro in "
                       "single-object encoding or Schema Registry framing (writer schemas fetched "
                       "from --schema-registry) as natural JSON, JSON records as they are. Records "
                       "of no known framing are reported on stderr and skipped.",
                       tail_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
    const char *group = ferry_opts_str(o, "group");
    if (ferry_opts_bool(o, "commit") && !group)
        return ferry_cmd_end(&cmd, ferry_cmd_usage(&cmd, "--commit needs --group"));
    const char *from = ferry_opts_str(o, "from");
    if (strcmp(from, "beginning") != 0 && strcmp(from, "end") != 0)
        return ferry_cmd_end(&cmd, ferry_cmd_usage(&cmd, "--from must be beginning or end"));
    char anon[96];
    if (!group) {
        snprintf(anon, sizeof anon, "ferry-tail-%d-%lld", (int)getpid(),
                 (long long)ferry_clock_now_us());
        group = anon;
    }
    const char *const *topics;
    size_t ntopics = ferry_opts_list(o, "topic", &topics);
    ferry_consumer_conf_t cc = {0};
    cc.offset_reset = strcmp(from, "end") == 0 ? "latest" : "earliest";
    ferry_err_t err;
    ferry_consumer_t *c = ferry_consumer_new(o, group, topics, ntopics, &cc, &err);
    if (!c) {
        ferry_error("%s", err.msg);
        return ferry_cmd_end(&cmd, FERRY_EXIT_USAGE);
    }
    ferry_decoder_t *dec = ferry_decoder_from_opts(o, NULL, &err);
    if (!dec) {
        ferry_error("%s", err.msg);
        ferry_consumer_close(c, NULL);
        return ferry_cmd_end(&cmd, FERRY_EXIT_USAGE);
    }
    rc = tail_run(c, dec, o);
    if (ferry_consumer_close(c, &err) != FERRY_OK) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_FAILED;
    }
    ferry_decoder_free(dec);
    return ferry_cmd_end(&cmd, rc);
}
