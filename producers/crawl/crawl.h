/* crawl.h - the state of one `ferry crawl tmdb` run and the functions its stages share
 * (only for producers/crawl/crawl*.c; the flow is described in crawl.c):
 *
 *   crawl.c           the command: options, Kafka setup, resume, the summary and exit status
 *   crawl_config.c    options that need checking, the page range, credentials
 *   crawl_requests.c  the request queue, starting requests under the rate limit, list and
 *                     details responses, retries, the event loop
 *   crawl_publish.c   MovieCrawled events, dead letters, progress records, delivery reports
 *
 * Everything runs on one thread. */
#ifndef FERRY_CRAWL_CRAWL_H
#define FERRY_CRAWL_CRAWL_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/avro.h"
#include "ferry/buf.h"
#include "ferry/err.h"
#include "ferry/http.h"
#include "ferry/kafka.h"
#include "ferry/options.h"
#include "ferry/ratelimit.h"
#include "ferry/wire.h"
#include "tmdb.h"

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

/* ---- crawl_config.c ------------------------------------------------------------------- */

/* Sets up the options that need checking (endpoint, pages, rate, concurrency, job id,
 * credentials); returns an exit code >= 0 to stop, or -1 to go on. The credentials it finds
 * are owned by c (c->api_key, c->token) and freed with crawl_wipe_free. */
int crawl_configure(crawl_t *c, const ferry_opts_t *o, const char *prog);

/* Overwrites s with zeros and frees it. NULL is a no-op. */
void crawl_wipe_free(char *s);

/* ---- crawl_requests.c ----------------------------------------------------------------- */

/* Runs the crawl until every page is done, failed or stopped (401, a fatal error or a stop
 * signal: requests in flight are then cancelled). */
ferry_status crawl_loop(crawl_t *c);

/* The list has `total_pages` pages (-1: unknown): the pages past it (and past the API's cap)
 * are not requested. */
void crawl_set_range(crawl_t *c, int64_t total_pages);

/* Frees every task still queued. */
void crawl_drop_queue(crawl_t *c);

/* Seconds from the first request's start to the last activity, and requests started per
 * second (the gaps between the first and the last start). */
double crawl_elapsed_s(const crawl_t *c);
double crawl_req_rate(const crawl_t *c);

/* ---- crawl_publish.c ------------------------------------------------------------------ */

/* Stops the crawl at once with this message (the first one is kept). */
void crawl_abort(crawl_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sends a dead letter to <topic>.dlq; a value too big for the DLQ topic is cut to fit (the
 * message says so). */
void crawl_send_dead_letter(crawl_t *c, const char *key, const void *value, size_t len,
                            const char *reason, const char *why);

/* Dead-letters a list item that cannot become an event, with its text. */
void crawl_dead_letter(crawl_t *c, crawl_page_t *pg, const tmdb_item_t *it, const char *reason,
                       const char *why);

/* Publishes movie `item` of page index `idx`, with its details text (NULL: none). */
void crawl_publish_movie(crawl_t *c, int idx, int item, const char *details, size_t dlen);

/* The page got every item published: wait for the acknowledgements. */
void crawl_page_published(crawl_t *c, crawl_page_t *pg);

/* Sends the progress record of every page whose events were all acknowledged. */
void crawl_record_completed(crawl_t *c);

/* The producer's delivery report callback (ferry_dr_fn; opaque is the crawl_t). */
void crawl_on_delivery(const rd_kafka_message_t *rkm, void *msg_opaque, void *opaque);

#endif
