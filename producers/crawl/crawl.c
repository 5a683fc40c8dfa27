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
 * See docs/crawl.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ferry/command.h"
#include "ferry/avro.h"
#include "ferry/dlq.h"
#include "ferry/http.h"
#include "ferry/kafka.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/options.h"
#include "ferry/ratelimit.h"
#include "ferry/topics.h"
#include "ferry/wire.h"
#include "progress.h"
#include "tmdb.h"

#define BACKOFF_BASE_MS    500
#define BACKOFF_CAP_MS     30000
#define MAX_RETRY_AFTER_MS 300000
#define PROGRESS_LOAD_MS   60000
#define FLUSH_TIMEOUT_MS   60000
#define KAFKA_MAX_DEFAULT  1048588 /* Kafka's default max.message.bytes */
#define RECORD_OVERHEAD    1024    /* record and batch framing, with room to spare */
#define DLQ_HEADROOM       8192    /* the dead letter's headers (message, coordinates) */
#define DLQ_BODY_PREFIX    65536   /* bytes of an oversized body kept in its dead letter */

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

/* ---- state ------------------------------------------------------------------------------ */

typedef enum page_state {
    PAGE_PENDING = 0, /* not requested yet */
    PAGE_DONE_BEFORE, /* completed by an earlier run of the job */
    PAGE_BEYOND,      /* past the list's total_pages: nothing to fetch */
    PAGE_LISTING,     /* list request out (or waiting for a retry) */
    PAGE_DETAILS,     /* list received, details requests out */
    PAGE_ACKING,      /* every event sent, waiting for the broker's acknowledgements */
    PAGE_RECORDING,   /* progress record sent, waiting for its acknowledgement */
    PAGE_DONE,        /* recorded */
    PAGE_FAILED,      /* a request or a delivery failed: not recorded, fetched again next run */
    PAGE_STOPPED,     /* interrupted (401, signal) before it was complete */
} page_state;

typedef struct crawl_page {
    int page;
    page_state state;
    int failed;          /* a request of it failed for good */
    tmdb_list_t list;    /* while details are fetched */
    int movies;          /* items on the page */
    int processed;       /* items published (or dead-lettered) */
    int unacked;         /* movie events not acknowledged yet */
    int delivery_failed; /* movie events the broker did not take */
    int64_t fetched_at_us;
} crawl_page_t;

typedef enum task_kind { TASK_LIST = 0, TASK_DETAILS = 1 } task_kind;

typedef struct crawl_task {
    task_kind kind;
    int idx;  /* page index */
    int item; /* movie index on the page (details) */
    int64_t id;
    int attempt; /* attempts made so far */
    int64_t not_before_us;
    struct crawl_task *next;
} crawl_task_t;

typedef struct crawl_stats {
    uint64_t requests, retries, r429, r5xx, timeouts, conn_errors, bad_bodies, details_404;
    uint64_t movies_sent, movies_acked, dlq, pages_done, pages_failed, pages_beyond;
    uint64_t pages_before, other_failed;
} crawl_stats_t;

typedef struct crawl {
    const ferry_opts_t *o;
    const char *topic, *progress_topic, *path, *language, *region, *base_url;
    char endpoint[512];
    char job[512];
    int first, last;
    int details, concurrency, retries;
    int64_t timeout_ms;
    size_t max_body;       /* --max-body */
    int64_t max_event;     /* the topic's max.message.bytes */
    int64_t dlq_max;       /* the DLQ topic's max.message.bytes */
    char *api_key, *token; /* owned; wiped at the end */
    int64_t total_pages;   /* from the first list response, -1 until then */

    ferry_producer_t *producer;
    const ferry_schema_t *schema;
    ferry_http_multi_t *http;
    ferry_ratelimit_t rl;
    uint64_t rng;
    ferry_buf_t enc, url;
    ferry_wire_t wire; /* the framing of the events */

    crawl_page_t *pages;
    int npages;
    int next_pending; /* lowest page index that may still be pending */
    int range_known;  /* total_pages seen */
    int probing;      /* a list request is out while the range is unknown */
    crawl_task_t *queue;
    int aborted;     /* 401 or a fatal error: stop at once */
    int unreachable; /* aborted because the API could not be reached */
    char abort_msg[600];
    crawl_stats_t st;
    int64_t t_first_us, t_last_us, t_last_start_us;
} crawl_t;

/* ---- small helpers ---------------------------------------------------------------------- */

static void *tag_of(int idx, int progress)
{
    return (void *)(uintptr_t)(((uintptr_t)(idx + 1) << 1) | (uintptr_t)(progress ? 1 : 0));
}

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

/* Reads a small secret file (trailing newline stripped). Returns a new string or NULL. */
static char *read_secret(const char *path, ferry_err_t *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        ferry_err_set(err, FERRY_USAGE, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    char *s = strdup(buf);
    memset(buf, 0, sizeof buf);
    return s;
}

/* A credential from the option (flag, --NAME-file, FERRY_* env, config), else from the
 * environment variable `env`, else from the file named by `env`_FILE. NULL when none. */
static char *credential(const ferry_opts_t *o, const char *opt, const char *env, ferry_err_t *err,
                        int *failed)
{
    const char *v = ferry_opts_str(o, opt);
    if (v && *v)
        return strdup(v);
    v = getenv(env);
    if (v && *v)
        return strdup(v);
    char fenv[64];
    snprintf(fenv, sizeof fenv, "%s_FILE", env);
    const char *path = getenv(fenv);
    if (path && *path) {
        char *s = read_secret(path, err);
        if (!s) {
            *failed = 1;
            return NULL;
        }
        if (*s)
            return s;
        free(s);
    }
    return NULL;
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* Parses "A-B" or "N". Returns 0 or -1. */
static int parse_pages(const char *s, int *a, int *b)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (end == s || errno)
        return -1;
    long y = x;
    if (*end == '-') {
        const char *t = end + 1;
        y = strtol(t, &end, 10);
        if (end == t || errno)
            return -1;
    }
    if (*end || x < 1 || y < 1 || x > 1000000 || y > 1000000)
        return -1;
    *a = (int)x;
    *b = (int)y;
    return 0;
}

static double elapsed_s(const crawl_t *c)
{
    if (!c->t_first_us)
        return 0.0;
    return (double)(c->t_last_us - c->t_first_us) / 1e6;
}

/* Requests started per second: the gaps between the first and the last start. */
static double req_rate(const crawl_t *c)
{
    double s = (double)(c->t_last_start_us - c->t_first_us) / 1e6;
    return c->st.requests >= 2 && s > 0 ? (double)(c->st.requests - 1) / s : 0.0;
}

/* ---- the queue of requests waiting for their turn (details and retries) ----------------- */

static void enqueue(crawl_t *c, crawl_task_t *t)
{
    t->next = NULL;
    crawl_task_t **pp = &c->queue;
    while (*pp)
        pp = &(*pp)->next;
    *pp = t;
}

/* First task whose time has come, or NULL; *earliest gets the soonest not_before. */
static crawl_task_t **find_ready(crawl_t *c, int64_t now, int64_t *earliest)
{
    for (crawl_task_t **pp = &c->queue; *pp; pp = &(*pp)->next) {
        if ((*pp)->not_before_us <= now)
            return pp;
        if (*earliest == 0 || (*pp)->not_before_us < *earliest)
            *earliest = (*pp)->not_before_us;
    }
    return NULL;
}

static void drop_queue(crawl_t *c)
{
    while (c->queue) {
        crawl_task_t *t = c->queue;
        c->queue = t->next;
        free(t);
    }
}

/* Index of the next page to request, or -1. Before the first list response arrived only
 * one list request is out at a time, so its total_pages can bound the range. */
static int next_list_page(crawl_t *c)
{
    if (!c->range_known && c->probing)
        return -1;
    while (c->next_pending < c->npages && c->pages[c->next_pending].state != PAGE_PENDING)
        c->next_pending++;
    if (c->next_pending >= c->npages)
        return -1;
    /* Keep the pages being fetched in a window, so memory stays bounded with --details. */
    int open = 0;
    for (int i = 0; i < c->next_pending; i++)
        if (c->pages[i].state == PAGE_LISTING || c->pages[i].state == PAGE_DETAILS)
            open++;
    if (open >= c->concurrency + 2)
        return -1;
    return c->next_pending;
}

/* ---- publishing ------------------------------------------------------------------------- */

static void abort_crawl(crawl_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void abort_crawl(crawl_t *c, const char *fmt, ...)
{
    if (c->aborted)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->abort_msg, sizeof c->abort_msg, fmt, ap);
    va_end(ap);
    c->aborted = 1;
}

/* Sends a dead letter to <topic>.dlq; a value too big for the DLQ topic is cut to fit (the
 * message says so). */
static void send_dead_letter(crawl_t *c, const char *key, const void *value, size_t len,
                             const char *reason, const char *why)
{
    char msg[1600];
    size_t room = c->dlq_max > DLQ_HEADROOM * 2 ? (size_t)(c->dlq_max - DLQ_HEADROOM) : 0;
    if (len > room) {
        snprintf(msg, sizeof msg, "%s; value: the first %zu of %zu bytes", why, room, len);
        len = room;
    } else {
        snprintf(msg, sizeof msg, "%s", why);
    }
    ferry_err_t err;
    if (ferry_dlq_send_raw(c->producer, c->topic, -1, -1, -1, key[0] ? key : NULL, strlen(key),
                           value ? value : "", value ? len : 0, FERRY_POISON, reason, msg,
                           &err) != FERRY_OK)
        abort_crawl(c, "Kafka: %s", err.msg);
    else
        c->st.dlq++;
}

/* Dead-letters a list item that cannot become an event, with its text. */
static void dead_letter(crawl_t *c, crawl_page_t *pg, const tmdb_item_t *it, const char *reason,
                        const char *why)
{
    ferry_buf_t raw = FERRY_BUF_INIT;
    if (it->raw)
        tmdb_json_minify(it->raw, it->raw_len, &raw);
    char key[64];
    tmdb_item_id_text(it, key, sizeof key);
    char msg[700];
    snprintf(msg, sizeof msg, "%s (page %d of %s)", why, pg->page, c->endpoint);
    send_dead_letter(c, key, raw.data, raw.len, reason, msg);
    ferry_warn("page %d: item%s%s dead-lettered to %s.dlq: %s", pg->page, key[0] ? " " : "", key,
               c->topic, why);
    ferry_buf_free(&raw);
}

/* Publishes movie `item` of the page, with its details text (NULL: none). */
static void publish_movie(crawl_t *c, int idx, int item, const char *details, size_t dlen)
{
    crawl_page_t *pg = &c->pages[idx];
    const tmdb_item_t *it = &pg->list.items[item];
    tmdb_meta_t meta = {c->job, c->endpoint, pg->page, pg->fetched_at_us, c->language, c->region};
    ferry_err_t err;
    ferry_err_clear(&err);
    pg->processed++;
    json_t *ev = tmdb_movie_event(it, details, dlen, &meta, &err);
    ferry_buf_reset(&c->enc);
    if (!ev || ferry_avro_encode_json(c->schema, ev, &c->enc, &err) != FERRY_OK) {
        json_decref(ev);
        dead_letter(c, pg, it, "bad_list_item", err.msg);
        return;
    }
    json_decref(ev);
    ferry_wire_frame(&c->wire, &c->enc, 0);
    int64_t id = 0;
    tmdb_item_id(it->json, &id);
    char key[32];
    snprintf(key, sizeof key, "%" PRId64, id);
    if ((int64_t)(c->enc.len + strlen(key)) + RECORD_OVERHEAD > c->max_event) {
        char why[300];
        snprintf(why, sizeof why,
                 "the event of movie %s is %zu bytes, more than %s takes (max.message.bytes "
                 "%lld)",
                 key, c->enc.len, c->topic, (long long)c->max_event);
        dead_letter(c, pg, it, "event_too_large", why);
        return;
    }
    if (ferry_producer_send(c->producer, c->topic, RD_KAFKA_PARTITION_UA, key, strlen(key),
                            c->enc.data, c->enc.len, NULL, tag_of(idx, 0), &err) != FERRY_OK) {
        pg->failed = 1;
        abort_crawl(c, "Kafka: %s", err.msg);
        return;
    }
    pg->unacked++;
    c->st.movies_sent++;
}

/* The page got every item published: wait for the acknowledgements. */
static void page_published(crawl_t *c, crawl_page_t *pg)
{
    pg->state = PAGE_ACKING;
    tmdb_list_free(&pg->list);
}

/* Sends the progress record of every page whose events were all acknowledged. */
static void record_completed(crawl_t *c)
{
    ferry_buf_t key = FERRY_BUF_INIT, val = FERRY_BUF_INIT;
    for (int i = 0; i < c->npages; i++) {
        crawl_page_t *pg = &c->pages[i];
        if (pg->state != PAGE_ACKING || pg->unacked > 0)
            continue;
        if (pg->failed || pg->delivery_failed) {
            pg->state = PAGE_FAILED;
            c->st.pages_failed++;
            ferry_warn("page %d: not recorded as done (%s); the next run of job '%s' fetches "
                       "it again",
                       pg->page, pg->delivery_failed ? "events not delivered" : "a request failed",
                       c->job);
            continue;
        }
        crawl_progress_rec_t rec = {c->job,     pg->page,       c->endpoint,   pg->movies,
                                    c->details, c->total_pages, ferry_now_us()};
        ferry_buf_reset(&key);
        ferry_buf_reset(&val);
        crawl_progress_encode(&rec, &key, &val);
        ferry_err_t err;
        if (ferry_producer_send(c->producer, c->progress_topic, RD_KAFKA_PARTITION_UA, key.data,
                                key.len, val.data, val.len, NULL, tag_of(i, 1), &err) != FERRY_OK) {
            pg->state = PAGE_FAILED;
            c->st.pages_failed++;
            abort_crawl(c, "Kafka: %s", err.msg);
            continue;
        }
        pg->state = PAGE_RECORDING;
    }
    ferry_buf_free(&key);
    ferry_buf_free(&val);
}

static void on_delivery(const rd_kafka_message_t *rkm, void *msg_opaque, void *opaque)
{
    crawl_t *c = opaque;
    uintptr_t tag = (uintptr_t)msg_opaque;
    if (!tag) { /* a dead letter */
        if (rkm->err)
            c->st.other_failed++;
        return;
    }
    int idx = (int)(tag >> 1) - 1;
    crawl_page_t *pg = &c->pages[idx];
    if (!(tag & 1)) {
        pg->unacked--;
        if (rkm->err)
            pg->delivery_failed++;
        else
            c->st.movies_acked++;
        return;
    }
    if (rkm->err) {
        pg->state = PAGE_FAILED;
        c->st.pages_failed++;
        ferry_warn("page %d: progress record not delivered: %s", pg->page,
                   rd_kafka_err2str(rkm->err));
    } else {
        pg->state = PAGE_DONE;
        c->st.pages_done++;
    }
}

/* ---- requests --------------------------------------------------------------------------- */

static void show_path(const crawl_t *c, const crawl_task_t *t, char *out, size_t outsz)
{
    if (t->kind == TASK_LIST)
        snprintf(out, outsz, "%s?page=%d", c->endpoint, c->pages[t->idx].page);
    else
        snprintf(out, outsz, "movie %" PRId64 " details (page %d)", t->id, c->pages[t->idx].page);
}

static void start_task(crawl_t *c, crawl_task_t *t)
{
    ferry_buf_reset(&c->url);
    const char *key = c->token ? NULL : c->api_key;
    if (t->kind == TASK_LIST)
        tmdb_list_url(&c->url, c->base_url, c->path, c->pages[t->idx].page, c->language, c->region,
                      key);
    else
        tmdb_details_url(&c->url, c->base_url, t->id, c->language, key);
    static const char *const headers[] = {"Accept: application/json", NULL};
    ferry_http_request_t req = {0};
    req.url = ferry_buf_cstr(&c->url);
    req.headers = headers;
    req.bearer_token = c->token;
    req.timeout_ms = c->timeout_ms;
    req.max_body = c->max_body;
    ferry_err_t err;
    ferry_status st = ferry_http_multi_add(c->http, &req, t, &err);
    memset(c->url.data, 0, c->url.len); /* the URL may hold the key */
    if (st != FERRY_OK) {
        abort_crawl(c, "%s", err.msg);
        free(t);
        return;
    }
    int64_t now = ferry_clock_us();
    if (!c->t_first_us)
        c->t_first_us = now;
    c->t_last_us = now;
    c->t_last_start_us = now;
    c->st.requests++;
    if (t->attempt > 0)
        c->st.retries++;
    t->attempt++;
    if (ferry_log_enabled(FERRY_LOG_DEBUG)) {
        char shown[600];
        show_path(c, t, shown, sizeof shown);
        ferry_debug("GET %s (attempt %d)", shown, t->attempt);
    }
}

/* Starts every request that may start now. */
static void start_ready(crawl_t *c)
{
    while ((int)ferry_http_multi_inflight(c->http) < c->concurrency && !c->aborted) {
        int64_t now = ferry_clock_us();
        int64_t earliest = 0;
        crawl_task_t **pp = find_ready(c, now, &earliest);
        int list_idx = -1;
        if (!pp && (list_idx = next_list_page(c)) < 0)
            return;
        if (!ferry_ratelimit_try(&c->rl, now))
            return;
        crawl_task_t *t;
        if (pp) {
            t = *pp;
            *pp = t->next;
        } else {
            t = calloc(1, sizeof *t);
            if (!t)
                abort();
            t->kind = TASK_LIST;
            t->idx = list_idx;
            c->pages[list_idx].state = PAGE_LISTING;
            if (!c->range_known)
                c->probing = 1;
        }
        start_task(c, t);
    }
}

/* How long the loop may wait before something needs starting (ms). */
static int wait_ms(crawl_t *c, int64_t cap_ms)
{
    int64_t now = ferry_clock_us();
    int64_t w = cap_ms * 1000;
    if (!c->aborted && (int)ferry_http_multi_inflight(c->http) < c->concurrency) {
        int64_t earliest = 0;
        crawl_task_t **pp = find_ready(c, now, &earliest);
        if (pp || next_list_page(c) >= 0) {
            int64_t d = ferry_ratelimit_delay_us(&c->rl, now);
            if (d < w)
                w = d;
        } else if (earliest && earliest - now < w) {
            w = earliest - now;
        }
    }
    if (w < 0)
        w = 0;
    return (int)((w + 999) / 1000);
}

/* After a retriable failure: schedules the next attempt and returns 1, or returns 0 when the
 * retries are used up. */
static int retry_later(crawl_t *c, crawl_task_t *t, const ferry_http_response_t *r,
                       const char *what)
{
    if (t->attempt > c->retries)
        return 0;
    int64_t now = ferry_clock_us();
    int64_t delay =
        ferry_backoff_ms((unsigned)(t->attempt - 1), BACKOFF_BASE_MS, BACKOFF_CAP_MS, &c->rng);
    if (r->outcome == FERRY_HTTP_RESPONSE && r->status == 429) {
        if (r->retry_after_ms >= 0)
            delay = r->retry_after_ms < MAX_RETRY_AFTER_MS ? r->retry_after_ms : MAX_RETRY_AFTER_MS;
        /* The server asked this client to slow down: no request starts before then. */
        ferry_ratelimit_hold(&c->rl, now + delay * 1000);
    }
    t->not_before_us = now + delay * 1000;
    char shown[600];
    show_path(c, t, shown, sizeof shown);
    ferry_info("%s: %s; retry %d/%d in %lld ms", shown, what, t->attempt, c->retries,
               (long long)delay);
    enqueue(c, t);
    return 1;
}

static void count_failure(crawl_t *c, const ferry_http_response_t *r)
{
    switch (r->outcome) {
    case FERRY_HTTP_RESPONSE:
        if (r->status == 429)
            c->st.r429++;
        else if (r->status >= 500)
            c->st.r5xx++;
        break;
    case FERRY_HTTP_TIMEOUT:
        c->st.timeouts++;
        break;
    default:
        c->st.conn_errors++;
        break;
    }
}

static void describe(const ferry_http_response_t *r, char *out, size_t outsz)
{
    if (r->outcome == FERRY_HTTP_RESPONSE) {
        char msg[300];
        if (tmdb_error_message((const char *)r->body.data, r->body.len, msg, sizeof msg, NULL))
            snprintf(out, outsz, "HTTP %ld (%s)", r->status, msg);
        else
            snprintf(out, outsz, "HTTP %ld", r->status);
    } else {
        snprintf(out, outsz, "%s: %s", ferry_http_outcome_name(r->outcome), r->error);
    }
}

static void unauthorized(crawl_t *c, const ferry_http_response_t *r)
{
    char msg[300];
    int code;
    if (!tmdb_error_message((const char *)r->body.data, r->body.len, msg, sizeof msg, &code))
        snprintf(msg, sizeof msg, "no error message in the body");
    abort_crawl(c,
                "TMDB rejected the credentials (HTTP 401: %s): check %s; the crawl stopped at "
                "once",
                msg,
                c->token ? "the v4 read access token (TMDB_TOKEN / --token-file)"
                         : "the API key (TMDB_API_KEY / --api-key-file)");
}

/* A request failed for good: the page will not be recorded. */
static void give_up(crawl_t *c, crawl_task_t *t, const char *what)
{
    char shown[600];
    show_path(c, t, shown, sizeof shown);
    ferry_error("%s: %s; giving up after %d attempt(s)", shown, what, t->attempt);
    c->pages[t->idx].failed = 1;
}

/* The list has `total_pages` pages (-1: unknown): the pages past it (and past the API's cap)
 * are not requested. */
static void set_range(crawl_t *c, int64_t total_pages)
{
    c->range_known = 1;
    c->total_pages = total_pages;
    int64_t cap = total_pages < 0 || total_pages > TMDB_MAX_PAGE ? TMDB_MAX_PAGE : total_pages;
    int n = 0;
    for (int i = 0; i < c->npages; i++)
        if (c->pages[i].page > cap && c->pages[i].state == PAGE_PENDING) {
            c->pages[i].state = PAGE_BEYOND;
            n++;
        }
    c->st.pages_beyond += (uint64_t)n;
    if (n)
        ferry_info("the list has %lld page(s): %d page(s) of %d-%d past it are skipped",
                   (long long)total_pages, n, c->first, c->last);
}

/* A list page whose body is over --max-body: it is dead-lettered (key "<job>/<page>", its
 * first bytes) and recorded as done, since every run would meet the same body. */
static void oversized_page(crawl_t *c, crawl_task_t *t, const ferry_http_response_t *r)
{
    crawl_page_t *pg = &c->pages[t->idx];
    char key[600], why[1400];
    snprintf(key, sizeof key, "%s/%d", c->job, pg->page);
    snprintf(why, sizeof why, "page %d of %s (job '%s'): %s; the page is dead-lettered", pg->page,
             c->endpoint, c->job, r->error);
    ferry_error("%s to %s.dlq", why, c->topic);
    send_dead_letter(c, key, r->body.data,
                     r->body.len < DLQ_BODY_PREFIX ? r->body.len : DLQ_BODY_PREFIX,
                     "body_too_large", why);
    c->probing = 0; /* the next list page tells the range */
    pg->fetched_at_us = ferry_now_us();
    pg->movies = pg->processed = 0;
    pg->state = PAGE_ACKING; /* nothing to acknowledge: recorded as done */
    free(t);
}

static void on_list(crawl_t *c, crawl_task_t *t, ferry_http_response_t *r)
{
    crawl_page_t *pg = &c->pages[t->idx];
    char what[600];
    ferry_err_t err;
    if (r->outcome == FERRY_HTTP_LIMIT && r->too_large) {
        oversized_page(c, t, r);
        return;
    }
    if (r->outcome == FERRY_HTTP_RESPONSE && r->status == 200) {
        tmdb_list_t list;
        if (tmdb_list_parse((const char *)r->body.data, r->body.len, &list, &err) != FERRY_OK) {
            c->st.bad_bodies++;
            snprintf(what, sizeof what, "%s", err.msg);
            if (retry_later(c, t, r, what))
                return;
            goto failed;
        }
        if (!c->range_known)
            set_range(c, list.total_pages);
        c->probing = 0;
        pg->fetched_at_us = ferry_now_us();
        pg->list = list;
        pg->movies = (int)list.n;
        pg->processed = 0;
        int pending = 0;
        for (size_t i = 0; i < list.n; i++) {
            int64_t id;
            if (list.items[i].bad || tmdb_item_id(list.items[i].json, &id) != 0) {
                pg->processed++;
                dead_letter(c, pg, &list.items[i], "bad_list_item",
                            list.items[i].bad ? list.items[i].bad
                                              : "list item without a positive integer id");
            } else if (c->details) {
                crawl_task_t *d = calloc(1, sizeof *d);
                if (!d)
                    abort();
                d->kind = TASK_DETAILS;
                d->idx = t->idx;
                d->item = (int)i;
                d->id = id;
                enqueue(c, d);
                pending++;
            } else {
                publish_movie(c, t->idx, (int)i, NULL, 0);
            }
        }
        pg->state = PAGE_DETAILS;
        if (pending == 0)
            page_published(c, pg);
        free(t);
        return;
    }
    describe(r, what, sizeof what);
    if (r->outcome == FERRY_HTTP_RESPONSE && r->status == 401) {
        unauthorized(c, r);
        pg->state = PAGE_STOPPED;
        free(t);
        return;
    }
    if (ferry_http_retriable(r)) {
        count_failure(c, r);
        if (retry_later(c, t, r, what))
            return;
    }
failed:
    give_up(c, t, what);
    pg->state = PAGE_FAILED;
    c->st.pages_failed++;
    if (!c->range_known) {
        /* Not one list page answered: the API is down or --base-url is wrong. Trying the
         * other pages one after the other would only hammer it. */
        c->unreachable = r->outcome == FERRY_HTTP_TIMEOUT || r->outcome == FERRY_HTTP_CONNECT ||
                         r->outcome == FERRY_HTTP_TRANSPORT;
        abort_crawl(c,
                    "the first list request (%s?page=%d) failed for good (%s): stopping; "
                    "check --base-url and the network",
                    c->endpoint, pg->page, what);
    }
    free(t);
}

static void on_details(crawl_t *c, crawl_task_t *t, ferry_http_response_t *r)
{
    crawl_page_t *pg = &c->pages[t->idx];
    char what[600];
    ferry_err_t err;
    if (r->outcome == FERRY_HTTP_RESPONSE && r->status == 200) {
        ferry_buf_t min = FERRY_BUF_INIT;
        if (tmdb_details_check((const char *)r->body.data, r->body.len, &min, &err) == FERRY_OK) {
            publish_movie(c, t->idx, t->item, (const char *)min.data, min.len);
            ferry_buf_free(&min);
            goto next;
        }
        ferry_buf_free(&min);
        c->st.bad_bodies++;
        snprintf(what, sizeof what, "%s", err.msg);
        if (retry_later(c, t, r, what))
            return;
        give_up(c, t, what);
        publish_movie(c, t->idx, t->item, NULL, 0);
        goto next;
    }
    describe(r, what, sizeof what);
    if (r->outcome == FERRY_HTTP_LIMIT && r->too_large) {
        /* every run would meet the same body: the movie is dead-lettered, the page goes on */
        char why[600];
        snprintf(why, sizeof why, "details of movie %" PRId64 ": %s", t->id, r->error);
        pg->processed++;
        dead_letter(c, pg, &pg->list.items[t->item], "details_too_large", why);
        goto next;
    }
    if (r->outcome == FERRY_HTTP_RESPONSE && r->status == 404) {
        c->st.details_404++;
        ferry_info("movie %" PRId64 " (page %d): details answered %s; published without details",
                   t->id, pg->page, what);
        publish_movie(c, t->idx, t->item, NULL, 0);
        goto next;
    }
    if (r->outcome == FERRY_HTTP_RESPONSE && r->status == 401) {
        unauthorized(c, r);
        free(t);
        return;
    }
    if (ferry_http_retriable(r)) {
        count_failure(c, r);
        if (retry_later(c, t, r, what))
            return;
    }
    give_up(c, t, what);
    publish_movie(c, t->idx, t->item, NULL, 0);
next:
    if (pg->processed >= pg->movies && pg->state == PAGE_DETAILS)
        page_published(c, pg);
    free(t);
}

static void on_done(ferry_http_response_t *r, void *user, void *opaque)
{
    crawl_t *c = opaque;
    crawl_task_t *t = user;
    c->t_last_us = ferry_clock_us();
    if (r->outcome == FERRY_HTTP_CANCELLED || c->aborted) {
        free(t);
        return;
    }
    if (t->kind == TASK_LIST)
        on_list(c, t, r);
    else
        on_details(c, t, r);
}

/* ---- the run ---------------------------------------------------------------------------- */

static int work_left(const crawl_t *c)
{
    if (ferry_http_multi_inflight(c->http) > 0 || c->queue)
        return 1;
    for (int i = 0; i < c->npages; i++) {
        page_state s = c->pages[i].state;
        if (s == PAGE_ACKING || s == PAGE_RECORDING)
            return 1;
        if (!c->aborted && ferry_running() &&
            (s == PAGE_PENDING || s == PAGE_LISTING || s == PAGE_DETAILS))
            return 1;
    }
    return 0;
}

static void print_progress(const crawl_t *c, const char *tag)
{
    int wanted = 0;
    for (int i = 0; i < c->npages; i++)
        if (c->pages[i].state != PAGE_BEYOND && c->pages[i].state != PAGE_DONE_BEFORE)
            wanted++;
    ferry_info("%s: pages %llu/%d done, movies %llu sent / %llu acknowledged, requests %llu "
               "(%zu in flight), retries %llu, 429 %llu, 5xx %llu, %.1f requests/s",
               tag, (unsigned long long)c->st.pages_done, wanted,
               (unsigned long long)c->st.movies_sent, (unsigned long long)c->st.movies_acked,
               (unsigned long long)c->st.requests, ferry_http_multi_inflight(c->http),
               (unsigned long long)c->st.retries, (unsigned long long)c->st.r429,
               (unsigned long long)c->st.r5xx, req_rate(c));
}

/* Stops HTTP at once: in-flight requests are cancelled, queued ones dropped; pages that
 * were not complete are left for the next run. */
static void stop_http(crawl_t *c)
{
    ferry_http_multi_cancel_all(c->http, on_done, c);
    drop_queue(c);
    for (int i = 0; i < c->npages; i++) {
        crawl_page_t *pg = &c->pages[i];
        if (pg->state == PAGE_LISTING || pg->state == PAGE_DETAILS) {
            pg->state = PAGE_STOPPED;
            tmdb_list_free(&pg->list);
        }
    }
}

static ferry_status crawl_loop(crawl_t *c)
{
    int64_t every = ferry_opts_duration_ms(c->o, "progress");
    int64_t next_progress = ferry_mono_ms() + every;
    int stopped = 0;
    ferry_err_t err;
    while (work_left(c)) {
        if ((c->aborted || !ferry_running()) && !stopped) {
            stopped = 1;
            stop_http(c);
        }
        if (!stopped)
            start_ready(c);
        int w = wait_ms(c, 100);
        if (ferry_http_multi_inflight(c->http) > 0) {
            if (ferry_http_multi_run(c->http, w, on_done, c, &err) < 0) {
                abort_crawl(c, "%s", err.msg);
                continue;
            }
            ferry_producer_poll(c->producer, 0);
        } else {
            ferry_producer_poll(c->producer, w);
        }
        record_completed(c);
        if (every > 0 && ferry_mono_ms() >= next_progress) {
            print_progress(c, "crawl");
            next_progress = ferry_mono_ms() + every;
        }
    }
    if (!stopped && (c->aborted || !ferry_running()))
        stop_http(c);
    return FERRY_OK;
}

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

/* Sets up options that need checking; returns an exit code >= 0 to stop, or -1 to go on. */
static int configure(crawl_t *c, const ferry_opts_t *o, const char *prog)
{
    c->o = o;
    c->topic = ferry_opts_str(o, "topic");
    c->progress_topic = ferry_opts_str(o, "progress-topic");
    c->path = tmdb_list_path(ferry_opts_str(o, "endpoint"));
    if (!c->path) {
        fprintf(stderr, "%s: unknown --endpoint '%s' (one of: %s)\n", prog,
                ferry_opts_str(o, "endpoint"), tmdb_list_names());
        return FERRY_EXIT_USAGE;
    }
    c->language = ferry_opts_str(o, "language");
    c->region = ferry_opts_str(o, "region");
    if (c->language && !*c->language)
        c->language = NULL;
    if (c->region && !*c->region)
        c->region = NULL;
    c->base_url = ferry_opts_str(o, "base-url");
    c->details = ferry_opts_bool(o, "details");
    if (parse_pages(ferry_opts_str(o, "pages"), &c->first, &c->last) != 0) {
        fprintf(stderr, "%s: --pages expects A-B or N with pages from 1, got '%s'\n", prog,
                ferry_opts_str(o, "pages"));
        return FERRY_EXIT_USAGE;
    }
    if (ferry_opts_is_set(o, "from-page"))
        c->first = (int)ferry_opts_int(o, "from-page");
    if (ferry_opts_is_set(o, "to-page"))
        c->last = (int)ferry_opts_int(o, "to-page");
    if (c->first < 1 || c->last < c->first) {
        fprintf(stderr, "%s: bad page range %d-%d (pages start at 1, first <= last)\n", prog,
                c->first, c->last);
        return FERRY_EXIT_USAGE;
    }
    if (c->last > TMDB_MAX_PAGE) {
        fprintf(stderr,
                "%s: page %d asked for, but TMDB serves at most %d pages of a list "
                "(the API refuses page > %d); use --pages %d-%d at most\n",
                prog, c->last, TMDB_MAX_PAGE, TMDB_MAX_PAGE,
                c->first <= TMDB_MAX_PAGE ? c->first : 1, TMDB_MAX_PAGE);
        return FERRY_EXIT_USAGE;
    }
    double rate = ferry_opts_double(o, "rate");
    c->concurrency = (int)ferry_opts_int(o, "concurrency");
    c->retries = (int)ferry_opts_int(o, "retries");
    c->timeout_ms = ferry_opts_duration_ms(o, "timeout");
    if (rate < 0 || c->concurrency < 1 || c->concurrency > 1000 || c->retries < 0 ||
        c->timeout_ms <= 0) {
        fprintf(stderr,
                "%s: --rate must be >= 0, --concurrency 1..1000, --retries >= 0, "
                "--timeout > 0\n",
                prog);
        return FERRY_EXIT_USAGE;
    }
    if (ferry_opts_is_set(o, "max-body") && ferry_opts_int(o, "max-body") < 1024) {
        fprintf(stderr, "%s: --max-body must be at least 1024 bytes\n", prog);
        return FERRY_EXIT_USAGE;
    }
    ferry_ratelimit_init(&c->rl, rate);
    if (ferry_opts_str(o, "job") && *ferry_opts_str(o, "job")) {
        snprintf(c->job, sizeof c->job, "%s", ferry_opts_str(o, "job"));
    } else {
        char day[16];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(day, sizeof day, "%Y-%m-%d", &tm);
        snprintf(c->job, sizeof c->job, "tmdb:%s:%s:%s:%d-%d%s:%s", ferry_opts_str(o, "endpoint"),
                 c->language ? c->language : "-", c->region ? c->region : "-", c->first, c->last,
                 c->details ? ":details" : "", day);
    }
    tmdb_endpoint_label(c->base_url, c->path, c->endpoint, sizeof c->endpoint);

    ferry_err_t err;
    ferry_err_clear(&err);
    int failed = 0;
    c->token = credential(o, "token", "TMDB_TOKEN", &err, &failed);
    if (!failed)
        c->api_key = credential(o, "api-key", "TMDB_API_KEY", &err, &failed);
    if (failed) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return FERRY_EXIT_USAGE;
    }
    if (!c->token && !c->api_key) {
        fprintf(stderr,
                "%s: no TMDB credentials: set TMDB_API_KEY (v3 key) or TMDB_TOKEN (v4 read "
                "access token), or name a file with TMDB_API_KEY_FILE / TMDB_TOKEN_FILE or "
                "--api-key-file / --token-file\n",
                prog);
        return FERRY_EXIT_USAGE;
    }
    if ((c->token && has_ctl(c->token)) || (c->api_key && has_ctl(c->api_key))) {
        fprintf(stderr,
                "%s: the TMDB credential contains control characters (a stray line "
                "break?)\n",
                prog);
        return FERRY_EXIT_USAGE;
    }
    if (c->token && c->api_key)
        ferry_info("both a v4 token and a v3 key are set: using the token (Bearer)");
    return -1;
}

static int run_tmdb(int argc, char **argv)
{
    ferry_opts_t *o = ferry_opts_new(
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
        tmdb_opts);
    int rc;
    if (!ferry_opts_parse_or_exit_code(o, argc, argv, &rc)) {
        ferry_opts_destroy(o);
        return rc;
    }
    crawl_t c;
    memset(&c, 0, sizeof c);
    c.total_pages = -1;
    c.rng = (uint64_t)ferry_now_us() ^ ((uint64_t)getpid() << 20);
    ferry_err_t err;
    ferry_err_clear(&err);
    rc = configure(&c, o, argv[0]);
    if (rc >= 0)
        goto out;
    rc = FERRY_EXIT_OK;
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
        rc = ferry_exit_for(ws);
        goto out;
    }

    /* Topics: the events (and their dead letters), and the compacted progress topic. */
    char dlq[600];
    ferry_dlq_topic(c.topic, dlq, sizeof dlq);
    static const char *const compacted[] = {"cleanup.policy", "compact", NULL};
    ferry_topic_spec_t specs[3] = {
        {c.topic, (int)ferry_opts_int(o, "partitions"), -1, NULL},
        {dlq, 1, -1, NULL},
        {c.progress_topic, 1, -1, compacted},
    };
    if (ferry_kafka_create_topics(o, specs, 3, &err) != FERRY_OK) {
        ferry_error("%s", err.msg);
        rc = err.status == FERRY_RETRY ? FERRY_EXIT_UNAVAILABLE : FERRY_EXIT_FAILED;
        goto out;
    }

    /* The producer first: its idempotence handshake and the topics' metadata are fetched
     * while the progress topic is read (librdkafka would otherwise look a new topic up only
     * on its next 1-second metadata tick, delaying the first acknowledgements). */
    /* the topic's max.message.bytes decides what is too large (below), not librdkafka's */
    static const char *const pdefaults[] = {"message.max.bytes", "1000000000", NULL};
    ferry_producer_conf_t pc = {0};
    pc.defaults = pdefaults;
    pc.dr_cb = on_delivery;
    pc.dr_opaque = &c;
    c.producer = ferry_producer_new(o, &pc, &err);
    if (!c.producer) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_FAILED;
        goto out;
    }
    for (size_t i = 0; i < 3; i++)
        if (ferry_kafka_partition_count(ferry_producer_rk(c.producer), specs[i].name, 10000, &err) <
            0)
            ferry_warn("%s", err.msg);
    c.max_event = topic_max_bytes(&c, c.topic);
    c.dlq_max = topic_max_bytes(&c, dlq);
    c.max_body = ferry_opts_is_set(o, "max-body") ? (size_t)ferry_opts_int(o, "max-body")
                                                  : (size_t)c.max_event * 4;

    /* Resume: the pages this job completed before. */
    c.npages = c.last - c.first + 1;
    c.pages = calloc((size_t)c.npages, sizeof *c.pages);
    unsigned char *done = calloc((size_t)c.npages, 1);
    if (!c.pages || !done)
        abort();
    int ndone = 0;
    int64_t known_total = -1;
    ferry_status st = crawl_progress_load(o, c.progress_topic, c.job, c.first, c.last, done, &ndone,
                                          &known_total, PROGRESS_LOAD_MS, &err);
    for (int i = 0; i < c.npages; i++) {
        c.pages[i].page = c.first + i;
        c.pages[i].state = done[i] ? PAGE_DONE_BEFORE : PAGE_PENDING;
    }
    free(done);
    if (st != FERRY_OK) {
        ferry_error("%s", err.msg);
        rc = !ferry_running()    ? 128 + ferry_stop_signal()
             : st == FERRY_RETRY ? FERRY_EXIT_UNAVAILABLE
                                 : FERRY_EXIT_FAILED;
        goto out;
    }
    c.st.pages_before = (uint64_t)ndone;
    if (known_total >= 0) /* an earlier run of this job learnt the list's length */
        set_range(&c, known_total);
    ferry_info("job '%s': %s pages %d-%d%s from %s, %d page(s) already done; at most %g "
               "requests/s, %d at once",
               c.job, c.endpoint, c.first, c.last, c.details ? " with details" : "", c.base_url,
               ndone, ferry_opts_double(o, "rate"), c.concurrency);
    if (ndone + (int)c.st.pages_beyond == c.npages) {
        ferry_info("nothing to do: every page of job '%s' was completed before", c.job);
        goto out;
    }

    c.http = ferry_http_multi_new(c.concurrency, &err);
    if (!c.http) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_FAILED;
        goto out;
    }

    crawl_loop(&c);

    /* Everything sent must be acknowledged; then the completed pages are recorded. */
    ferry_status fs = ferry_producer_flush(c.producer, FLUSH_TIMEOUT_MS, &err);
    record_completed(&c);
    if (fs == FERRY_OK)
        fs = ferry_producer_flush(c.producer, FLUSH_TIMEOUT_MS, &err);
    if (fs != FERRY_OK)
        ferry_error("%s", err.msg);

    int stopped = 0;
    for (int i = 0; i < c.npages; i++)
        if (c.pages[i].state == PAGE_STOPPED || c.pages[i].state == PAGE_PENDING ||
            c.pages[i].state == PAGE_ACKING || c.pages[i].state == PAGE_RECORDING)
            stopped++;
    ferry_info("crawl tmdb done: job '%s': pages %llu done, %llu done before, %llu failed, %d "
               "not finished, %llu past total_pages; movies %llu sent, %llu acknowledged, %llu "
               "dead-lettered; requests %llu (retries %llu; 429 %llu, 5xx %llu, timeouts %llu, "
               "connection errors %llu, bad bodies %llu); details 404 %llu; %.1f s, %.1f "
               "requests/s",
               c.job, (unsigned long long)c.st.pages_done, (unsigned long long)c.st.pages_before,
               (unsigned long long)c.st.pages_failed, stopped,
               (unsigned long long)c.st.pages_beyond, (unsigned long long)c.st.movies_sent,
               (unsigned long long)c.st.movies_acked, (unsigned long long)c.st.dlq,
               (unsigned long long)c.st.requests, (unsigned long long)c.st.retries,
               (unsigned long long)c.st.r429, (unsigned long long)c.st.r5xx,
               (unsigned long long)c.st.timeouts, (unsigned long long)c.st.conn_errors,
               (unsigned long long)c.st.bad_bodies, (unsigned long long)c.st.details_404,
               elapsed_s(&c), req_rate(&c));
    if (c.aborted) {
        ferry_error("%s", c.abort_msg);
        rc = c.unreachable ? FERRY_EXIT_UNAVAILABLE : FERRY_EXIT_FAILED;
    } else if (fs != FERRY_OK || c.st.pages_failed > 0 || c.st.other_failed > 0) {
        rc = FERRY_EXIT_FAILED;
    } else if (!ferry_running()) {
        rc = 128 + ferry_stop_signal();
    } else if (stopped > 0) {
        rc = FERRY_EXIT_FAILED;
    }
out:
    ferry_http_multi_destroy(c.http);
    ferry_producer_destroy(c.producer);
    drop_queue(&c);
    for (int i = 0; c.pages && i < c.npages; i++)
        tmdb_list_free(&c.pages[i].list);
    free(c.pages);
    ferry_buf_free(&c.enc);
    ferry_buf_free(&c.url);
    wipe_free(c.api_key);
    wipe_free(c.token);
    ferry_opts_destroy(o);
    return rc;
}

/* ---- `ferry crawl <source>` ------------------------------------------------------------- */

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
