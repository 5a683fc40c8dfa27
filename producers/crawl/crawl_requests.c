/* crawl_requests.c - the requests of a crawl: list pages and movie details queued, started
 * under the rate limit and --concurrency over libcurl's multi interface (ferry/http.h),
 * their responses turned into events (crawl_publish.c) or retried with backoff, and the
 * loop that drives it all until every page is done, failed or stopped. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crawl.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"

#define BACKOFF_BASE_MS    500
#define BACKOFF_CAP_MS     30000
#define MAX_RETRY_AFTER_MS 300000
#define DLQ_BODY_PREFIX    65536 /* bytes of an oversized body kept in its dead letter */

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

void crawl_drop_queue(crawl_t *c)
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
        crawl_abort(c, "%s", err.msg);
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
    crawl_abort(c,
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
void crawl_set_range(crawl_t *c, int64_t total_pages)
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
    crawl_send_dead_letter(c, key, r->body.data,
                           r->body.len < DLQ_BODY_PREFIX ? r->body.len : DLQ_BODY_PREFIX,
                           "body_too_large", why);
    c->probing = 0; /* the next list page tells the range */
    pg->fetched_at_us = ferry_clock_now_us();
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
            crawl_set_range(c, list.total_pages);
        c->probing = 0;
        pg->fetched_at_us = ferry_clock_now_us();
        pg->list = list;
        pg->movies = (int)list.n;
        pg->processed = 0;
        int pending = 0;
        for (size_t i = 0; i < list.n; i++) {
            int64_t id;
            if (list.items[i].bad || tmdb_item_id(list.items[i].json, &id) != 0) {
                pg->processed++;
                crawl_dead_letter(c, pg, &list.items[i], "bad_list_item",
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
                crawl_publish_movie(c, t->idx, (int)i, NULL, 0);
            }
        }
        pg->state = PAGE_DETAILS;
        if (pending == 0)
            crawl_page_published(c, pg);
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
        crawl_abort(c,
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
            crawl_publish_movie(c, t->idx, t->item, (const char *)min.data, min.len);
            ferry_buf_free(&min);
            goto next;
        }
        ferry_buf_free(&min);
        c->st.bad_bodies++;
        snprintf(what, sizeof what, "%s", err.msg);
        if (retry_later(c, t, r, what))
            return;
        give_up(c, t, what);
        crawl_publish_movie(c, t->idx, t->item, NULL, 0);
        goto next;
    }
    describe(r, what, sizeof what);
    if (r->outcome == FERRY_HTTP_LIMIT && r->too_large) {
        /* every run would meet the same body: the movie is dead-lettered, the page goes on */
        char why[600];
        snprintf(why, sizeof why, "details of movie %" PRId64 ": %s", t->id, r->error);
        pg->processed++;
        crawl_dead_letter(c, pg, &pg->list.items[t->item], "details_too_large", why);
        goto next;
    }
    if (r->outcome == FERRY_HTTP_RESPONSE && r->status == 404) {
        c->st.details_404++;
        ferry_info("movie %" PRId64 " (page %d): details answered %s; published without details",
                   t->id, pg->page, what);
        crawl_publish_movie(c, t->idx, t->item, NULL, 0);
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
    crawl_publish_movie(c, t->idx, t->item, NULL, 0);
next:
    if (pg->processed >= pg->movies && pg->state == PAGE_DETAILS)
        crawl_page_published(c, pg);
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

double crawl_elapsed_s(const crawl_t *c)
{
    if (!c->t_first_us)
        return 0.0;
    return (double)(c->t_last_us - c->t_first_us) / 1e6;
}

/* Requests started per second: the gaps between the first and the last start. */
double crawl_req_rate(const crawl_t *c)
{
    double s = (double)(c->t_last_start_us - c->t_first_us) / 1e6;
    return c->st.requests >= 2 && s > 0 ? (double)(c->st.requests - 1) / s : 0.0;
}

static int work_left(const crawl_t *c)
{
    if (ferry_http_multi_inflight(c->http) > 0 || c->queue)
        return 1;
    for (int i = 0; i < c->npages; i++) {
        page_state s = c->pages[i].state;
        if (s == PAGE_ACKING || s == PAGE_RECORDING)
            return 1;
        if (!c->aborted && ferry_lifecycle_running() &&
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
               (unsigned long long)c->st.r5xx, crawl_req_rate(c));
}

/* Stops HTTP at once: in-flight requests are cancelled, queued ones dropped; pages that
 * were not complete are left for the next run. */
static void stop_http(crawl_t *c)
{
    ferry_http_multi_cancel_all(c->http, on_done, c);
    crawl_drop_queue(c);
    for (int i = 0; i < c->npages; i++) {
        crawl_page_t *pg = &c->pages[i];
        if (pg->state == PAGE_LISTING || pg->state == PAGE_DETAILS) {
            pg->state = PAGE_STOPPED;
            tmdb_list_free(&pg->list);
        }
    }
}

ferry_status crawl_loop(crawl_t *c)
{
    int64_t every = ferry_opts_duration_ms(c->o, "progress");
    int64_t next_progress = ferry_clock_mono_ms() + every;
    int stopped = 0;
    ferry_err_t err;
    while (work_left(c)) {
        if ((c->aborted || !ferry_lifecycle_running()) && !stopped) {
            stopped = 1;
            stop_http(c);
        }
        if (!stopped)
            start_ready(c);
        int w = wait_ms(c, 100);
        if (ferry_http_multi_inflight(c->http) > 0) {
            if (ferry_http_multi_run(c->http, w, on_done, c, &err) < 0) {
                crawl_abort(c, "%s", err.msg);
                continue;
            }
            ferry_producer_poll(c->producer, 0);
        } else {
            ferry_producer_poll(c->producer, w);
        }
        crawl_record_completed(c);
        if (every > 0 && ferry_clock_mono_ms() >= next_progress) {
            print_progress(c, "crawl");
            next_progress = ferry_clock_mono_ms() + every;
        }
    }
    if (!stopped && (c->aborted || !ferry_lifecycle_running()))
        stop_http(c);
    return FERRY_OK;
}
