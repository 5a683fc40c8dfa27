/* crawl.c - `ferry crawl tmdb`: the TMDB crawl producer.
 *
 * One thread drives everything: libcurl's multi interface runs up to --concurrency requests
 * at once, a one-token bucket (ratelimit.h) decides when each request may START (retries
 * included), and the idempotent Kafka producer's delivery reports close pages. The flow of
 * a page: its list request (GET /movie/popular?page=N) -> one MovieCrawled event per movie,
 * after the movie's details when --details (GET /movie/{id}) -> every event acknowledged by
 * the broker -> a progress record "<job>/<page>" on the compacted progress topic. A crawl
 * started again with the same --job reads that topic first and skips the completed pages.
 *
 * Failures: timeouts, connection errors, 5xx and 429 are retried (--retries) with
 * exponential backoff and jitter, a 429 pausing every start for its Retry-After; a 401
 * stops the whole crawl at once; a 404 on a details request is counted and the movie is
 * published without details; a page whose requests keep failing is left incomplete (not
 * recorded, so the next run of the job fetches it again) and makes the exit status 1.
 * See docs/crawl.md; crawl.h lists the stages and their files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crawl.h"
#include "ferry/command.h"
#include "ferry/dlq.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/topics.h"
#include "progress.h"

#define PROGRESS_LOAD_MS  60000
#define FLUSH_TIMEOUT_MS  60000
#define KAFKA_MAX_DEFAULT 1048588 /* Kafka's default max.message.bytes */

static const ferry_opt_t tmdb_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    {"topic", 't', FERRY_OPT_STRING, FERRY_TOPIC_MOVIES, "TOPIC",
     "topic of the MovieCrawled events (key: movie id)", FERRY_OPTF_TOPIC_DLQ},
    {"progress-topic", 0, FERRY_OPT_STRING, FERRY_TOPIC_CRAWL_PROGRESS, "TOPIC",
     "compacted topic that records the completed pages of each job", FERRY_OPTF_TOPIC},
    {"endpoint", 'e', FERRY_OPT_STRING, "popular", "LIST",
     "list to crawl: popular, top_rated or now_playing (GET /movie/<LIST>)", 0},
    {"pages", 'p', FERRY_OPT_STRING, "1", "A-B",
     "pages to crawl, A-B or N (1-based; the API serves at most 500); the first response's "
     "total_pages bounds the range",
     0},
    {"from-page", 0, FERRY_OPT_INT, NULL, "N", "first page (instead of --pages A-)", 0},
    {"to-page", 0, FERRY_OPT_INT, NULL, "N", "last page (instead of --pages -B)", 0},
    {"details", 'd', FERRY_OPT_BOOL, NULL, NULL,
     "also fetch GET /movie/{id} for every movie (details_json)", 0},
    {"language", 'l', FERRY_OPT_STRING, NULL, "LANG", "language parameter, e.g. ko-KR", 0},
    {"region", 'r', FERRY_OPT_STRING, NULL, "REGION", "region parameter of the lists, e.g. KR", 0},
    {"base-url", 0, FERRY_OPT_STRING, TMDB_DEFAULT_BASE_URL, "URL",
     "API base URL (a proxy or a test server)", 0},
    {"rate", 0, FERRY_OPT_DOUBLE, "40", "N",
     "at most N requests (retries included) start in any 1-second window; 0: no limit", 0},
    {"concurrency", 0, FERRY_OPT_INT, "16", "N", "most requests in flight at once", 0},
    {"retries", 0, FERRY_OPT_INT, "5", "N",
     "retries of a request after a timeout, connection error, 429 or 5xx", 0},
    {"timeout", 0, FERRY_OPT_DURATION, "30s", "DURATION", "timeout of one request", 0},
    {"max-body", 0, FERRY_OPT_INT, NULL, "BYTES",
     "largest response body read; a larger one is not read further and its page (list) or "
     "movie (details) is dead-lettered with its size, not retried (default: 4 x the topic's "
     "max.message.bytes, 4 MiB with Kafka's defaults); a movie whose event is larger than the "
     "topic's max.message.bytes is dead-lettered too",
     0},
    {"job", 'j', FERRY_OPT_STRING, NULL, "ID",
     "crawl job id; the same job resumes at the pages it has not completed (default: "
     "tmdb:<list>:<language>:<region>:<A>-<B>[:details]:<UTC date>)",
     0},
    {"partitions", 0, FERRY_OPT_INT, "6", "N", "partitions of --topic when it must be created", 0},
    {"api-key", 0, FERRY_OPT_STRING, NULL, "KEY",
     "TMDB API v3 key, sent as the api_key parameter; also taken from TMDB_API_KEY or the file "
     "named by TMDB_API_KEY_FILE",
     FERRY_OPTF_SECRET},
    {"token", 0, FERRY_OPT_STRING, NULL, "TOKEN",
     "TMDB v4 read access token, sent as Authorization: Bearer (preferred over a key); also "
     "taken from TMDB_TOKEN or the file named by TMDB_TOKEN_FILE",
     FERRY_OPTF_SECRET},
    {"progress", 0, FERRY_OPT_DURATION, "5s", "DURATION", "interval of the progress line", 0},
    FERRY_OPT_WIRE_FORMAT,
    FERRY_OPT_SCHEMA_REGISTRY,
    FERRY_OPT_END,
};

/* The topic's max.message.bytes (Kafka's default when the broker does not say). */
static int64_t topic_max_bytes(crawl_t *c, const char *topic)
{
    char v[64];
    ferry_err_t err;
    if (ferry_kafka_topic_config(ferry_producer_rk(c->producer), topic, "max.message.bytes", v,
                                 sizeof v, 10000, &err) == FERRY_OK &&
        atoll(v) > 0)
        return atoll(v);
    ferry_warn("max.message.bytes of %s unknown: assuming %d", topic, KAFKA_MAX_DEFAULT);
    return KAFKA_MAX_DEFAULT;
}

/* Topics (the events, their dead letters and the compacted progress topic, created when
 * missing), the producer, and the sizes the topics take. Returns an exit code >= 0 to stop,
 * or -1 to go on. */
static int crawl_kafka_setup(crawl_t *c, const ferry_opts_t *o)
{
    ferry_err_t err;
    ferry_err_clear(&err);
    char dlq[600];
    ferry_dlq_topic(c->topic, dlq, sizeof dlq);
    static const char *const compacted[] = {"cleanup.policy", "compact", NULL};
    ferry_topic_spec_t specs[3] = {
        {c->topic, (int)ferry_opts_int(o, "partitions"), -1, NULL},
        {dlq, 1, -1, NULL},
        {c->progress_topic, 1, -1, compacted},
    };
    if (ferry_kafka_create_topics(o, specs, 3, &err) != FERRY_OK) {
        ferry_error("%s", err.msg);
        return ferry_cmd_exit_for(err.status);
    }

    /* The producer first: its idempotence handshake and the topics' metadata are fetched
     * while the progress topic is read (librdkafka would otherwise look a new topic up only
     * on its next 1-second metadata tick, delaying the first acknowledgements). */
    /* the topic's max.message.bytes decides what is too large (below), not librdkafka's */
    static const char *const pdefaults[] = {"message.max.bytes", "1000000000", NULL};
    ferry_producer_conf_t pc = {0};
    pc.defaults = pdefaults;
    pc.dr_cb = crawl_on_delivery;
    pc.dr_opaque = c;
    c->producer = ferry_producer_new(o, &pc, &err);
    if (!c->producer) {
        ferry_error("%s", err.msg);
        return FERRY_EXIT_FAILED;
    }
    for (size_t i = 0; i < 3; i++)
        if (ferry_kafka_partition_count(ferry_producer_rk(c->producer), specs[i].name, 10000,
                                        &err) < 0)
            ferry_warn("%s", err.msg);
    c->max_event = topic_max_bytes(c, c->topic);
    c->dlq_max = topic_max_bytes(c, dlq);
    c->max_body = ferry_opts_is_set(o, "max-body") ? (size_t)ferry_opts_int(o, "max-body")
                                                   : (size_t)c->max_event * 4;
    return -1;
}

/* Resume: the pages this job completed before (read from the progress topic) are not
 * fetched again. Returns an exit code >= 0 to stop (0: nothing left to do), or -1 to go on. */
static int crawl_resume(crawl_t *c, const ferry_opts_t *o)
{
    ferry_err_t err;
    ferry_err_clear(&err);
    c->npages = c->last - c->first + 1;
    c->pages = calloc((size_t)c->npages, sizeof *c->pages);
    unsigned char *done = calloc((size_t)c->npages, 1);
    if (!c->pages || !done)
        abort();
    int ndone = 0;
    int64_t known_total = -1;
    ferry_status st = crawl_progress_load(o, c->progress_topic, c->job, c->first, c->last, done,
                                          &ndone, &known_total, PROGRESS_LOAD_MS, &err);
    for (int i = 0; i < c->npages; i++) {
        c->pages[i].page = c->first + i;
        c->pages[i].state = done[i] ? PAGE_DONE_BEFORE : PAGE_PENDING;
    }
    free(done);
    if (st != FERRY_OK) {
        ferry_error("%s", err.msg);
        return !ferry_lifecycle_running() ? 128 + ferry_lifecycle_stop_signal()
                                          : ferry_cmd_exit_for(st);
    }
    c->st.pages_before = (uint64_t)ndone;
    if (known_total >= 0) /* an earlier run of this job learnt the list's length */
        crawl_set_range(c, known_total);
    ferry_info("job '%s': %s pages %d-%d%s from %s, %d page(s) already done; at most %g "
               "requests/s, %d at once",
               c->job, c->endpoint, c->first, c->last, c->details ? " with details" : "",
               c->base_url, ndone, ferry_opts_double(o, "rate"), c->concurrency);
    if (ndone + (int)c->st.pages_beyond == c->npages) {
        ferry_info("nothing to do: every page of job '%s' was completed before", c->job);
        return FERRY_EXIT_OK;
    }
    return -1;
}

/* After the loop: everything sent must be acknowledged, then the completed pages are
 * recorded; logs the summary and returns the exit status. */
static int crawl_finish(crawl_t *c)
{
    ferry_err_t err;
    ferry_err_clear(&err);
    ferry_status fs = ferry_producer_flush(c->producer, FLUSH_TIMEOUT_MS, &err);
    crawl_record_completed(c);
    if (fs == FERRY_OK)
        fs = ferry_producer_flush(c->producer, FLUSH_TIMEOUT_MS, &err);
    if (fs != FERRY_OK)
        ferry_error("%s", err.msg);

    int stopped = 0;
    for (int i = 0; i < c->npages; i++)
        if (c->pages[i].state == PAGE_STOPPED || c->pages[i].state == PAGE_PENDING ||
            c->pages[i].state == PAGE_ACKING || c->pages[i].state == PAGE_RECORDING)
            stopped++;
    const crawl_stats_t *s = &c->st;
    ferry_info("crawl tmdb done: job '%s': pages %llu done, %llu done before, %llu failed, %d "
               "not finished, %llu past total_pages; movies %llu sent, %llu acknowledged, %llu "
               "dead-lettered; requests %llu (retries %llu; 429 %llu, 5xx %llu, timeouts %llu, "
               "connection errors %llu, bad bodies %llu); details 404 %llu; %.1f s, %.1f "
               "requests/s",
               c->job, (unsigned long long)s->pages_done, (unsigned long long)s->pages_before,
               (unsigned long long)s->pages_failed, stopped, (unsigned long long)s->pages_beyond,
               (unsigned long long)s->movies_sent, (unsigned long long)s->movies_acked,
               (unsigned long long)s->dlq, (unsigned long long)s->requests,
               (unsigned long long)s->retries, (unsigned long long)s->r429,
               (unsigned long long)s->r5xx, (unsigned long long)s->timeouts,
               (unsigned long long)s->conn_errors, (unsigned long long)s->bad_bodies,
               (unsigned long long)s->details_404, crawl_elapsed_s(c), crawl_req_rate(c));
    if (c->aborted) {
        ferry_error("%s", c->abort_msg);
        return c->unreachable ? FERRY_EXIT_UNAVAILABLE : FERRY_EXIT_FAILED;
    }
    if (fs != FERRY_OK || s->pages_failed > 0 || s->other_failed > 0)
        return FERRY_EXIT_FAILED;
    if (!ferry_lifecycle_running())
        return 128 + ferry_lifecycle_stop_signal();
    if (stopped > 0)
        return FERRY_EXIT_FAILED;
    return FERRY_EXIT_OK;
}

static void crawl_free(crawl_t *c)
{
    ferry_http_multi_destroy(c->http);
    ferry_producer_destroy(c->producer);
    crawl_drop_queue(c);
    for (int i = 0; c->pages && i < c->npages; i++)
        tmdb_list_free(&c->pages[i].list);
    free(c->pages);
    ferry_buf_free(&c->enc);
    ferry_buf_free(&c->url);
    crawl_wipe_free(c->api_key);
    crawl_wipe_free(c->token);
}

static int run_tmdb(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(
            argv[0], "[options]",
            "Crawls TMDB API v3 movie lists (GET /movie/popular, /movie/top_rated or "
            "/movie/now_playing) for a range of pages, optionally with every movie's details, and "
            "publishes one MovieCrawled Avro event per movie, keyed by movie id. Requests start at "
            "most --rate times in any second (retries included), --concurrency at a time; "
            "timeouts, connection errors, 5xx and 429 are retried with backoff (429 honours "
            "Retry-After); a 401 stops the crawl at once. Each completed page is recorded in the "
            "compacted --progress-topic, and a crawl started again with the same --job skips the "
            "pages already completed. Credentials come from TMDB_API_KEY or TMDB_TOKEN (or "
            "their _FILE variants) and are never printed. Exit status: 0 every page done, 1 a page "
            "failed, an event was not delivered or the credentials were refused, 2 usage, 3 Kafka "
            "or the API unreachable.",
            tmdb_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
    crawl_t c;
    memset(&c, 0, sizeof c);
    c.total_pages = -1;
    c.rng = (uint64_t)ferry_clock_now_us() ^ ((uint64_t)getpid() << 20);
    ferry_err_t err;
    ferry_err_clear(&err);
    rc = crawl_configure(&c, o, argv[0]);
    if (rc >= 0)
        goto out;
    ferry_http_global_init();
    c.schema = ferry_schema_get("MovieCrawled");
    if (!c.schema) {
        ferry_error("the MovieCrawled schema is not embedded (broken build)");
        rc = FERRY_EXIT_FAILED;
        goto out;
    }
    ferry_status ws = ferry_wire_setup(o, c.schema, c.topic, &c.wire, &err);
    if (ws != FERRY_OK) {
        ferry_error("%s", err.msg);
        rc = ferry_cmd_exit_for(ws);
        goto out;
    }
    if ((rc = crawl_kafka_setup(&c, o)) >= 0 || (rc = crawl_resume(&c, o)) >= 0)
        goto out;
    c.http = ferry_http_multi_new(c.concurrency, &err);
    if (!c.http) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_FAILED;
        goto out;
    }
    crawl_loop(&c);
    rc = crawl_finish(&c);
out:
    crawl_free(&c);
    return ferry_cmd_end(&cmd, rc);
}

static void crawl_usage(FILE *fp, const char *prog)
{
    fprintf(fp,
            "Usage: %s <source> [options]\n"
            "       %s <source> --help\n\n"
            "Crawls an external API and publishes one Avro event per item to Kafka, under a rate\n"
            "limit, with retries, keeping its progress in a compacted Kafka topic.\n\n"
            "Sources:\n"
            "  tmdb         TMDB API v3 movie lists (popular, top_rated, now_playing), with\n"
            "               optional details -> MovieCrawled events on ferry.movies\n",
            prog, prog);
}

int cmd_crawl(int argc, char **argv)
{
    if (argc < 2) {
        crawl_usage(stderr, argv[0]);
        return FERRY_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        crawl_usage(stdout, argv[0]);
        return FERRY_EXIT_OK;
    }
    if (strcmp(sub, "tmdb") == 0) {
        char prog[96];
        snprintf(prog, sizeof prog, "%s tmdb", argv[0]);
        argv[1] = prog;
        return run_tmdb(argc - 1, argv + 1);
    }
    fprintf(stderr, "%s: unknown source '%s'\n\n", argv[0], sub);
    crawl_usage(stderr, argv[0]);
    return FERRY_EXIT_USAGE;
}