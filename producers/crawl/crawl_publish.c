/* crawl_publish.c - what a crawl sends to Kafka: one MovieCrawled event per movie (keyed by
 * movie id), dead letters of items and bodies that cannot become events, the progress
 * record of each completed page, and the delivery reports that close pages. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crawl.h"
#include "ferry/dlq.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "progress.h"

#define RECORD_OVERHEAD 1024 /* record and batch framing, with room to spare */
#define DLQ_HEADROOM    8192 /* the dead letter's headers (message, coordinates) */

/* The delivery-report opaque of page index idx's movie events (progress 0) or of its
 * progress record (progress 1); dead letters are sent with none (NULL). */
static void *tag_of(int idx, int progress)
{
    return (void *)(uintptr_t)(((uintptr_t)(idx + 1) << 1) | (uintptr_t)(progress ? 1 : 0));
}

void crawl_abort(crawl_t *c, const char *fmt, ...)
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
void crawl_send_dead_letter(crawl_t *c, const char *key, const void *value, size_t len,
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
        crawl_abort(c, "Kafka: %s", err.msg);
    else
        c->st.dlq++;
}

/* Dead-letters a list item that cannot become an event, with its text. */
void crawl_dead_letter(crawl_t *c, crawl_page_t *pg, const tmdb_item_t *it, const char *reason,
                       const char *why)
{
    ferry_buf_t raw = FERRY_BUF_INIT;
    if (it->raw)
        tmdb_json_minify(it->raw, it->raw_len, &raw);
    char key[64];
    tmdb_item_id_text(it, key, sizeof key);
    char msg[700];
    snprintf(msg, sizeof msg, "%s (page %d of %s)", why, pg->page, c->endpoint);
    crawl_send_dead_letter(c, key, raw.data, raw.len, reason, msg);
    ferry_warn("page %d: item%s%s dead-lettered to %s.dlq: %s", pg->page, key[0] ? " " : "", key,
               c->topic, why);
    ferry_buf_free(&raw);
}

/* Publishes movie `item` of the page, with its details text (NULL: none). */
void crawl_publish_movie(crawl_t *c, int idx, int item, const char *details, size_t dlen)
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
        crawl_dead_letter(c, pg, it, "bad_list_item", err.msg);
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
        crawl_dead_letter(c, pg, it, "event_too_large", why);
        return;
    }
    if (ferry_producer_send(c->producer, c->topic, RD_KAFKA_PARTITION_UA, key, strlen(key),
                            c->enc.data, c->enc.len, NULL, tag_of(idx, 0), &err) != FERRY_OK) {
        pg->failed = 1;
        crawl_abort(c, "Kafka: %s", err.msg);
        return;
    }
    pg->unacked++;
    c->st.movies_sent++;
}

/* The page got every item published: wait for the acknowledgements. */
void crawl_page_published(crawl_t *c, crawl_page_t *pg)
{
    pg->state = PAGE_ACKING;
    tmdb_list_free(&pg->list);
}

/* Sends the progress record of every page whose events were all acknowledged. */
void crawl_record_completed(crawl_t *c)
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
        crawl_progress_rec_t rec = {c->job,     pg->page,       c->endpoint,         pg->movies,
                                    c->details, c->total_pages, ferry_clock_now_us()};
        ferry_buf_reset(&key);
        ferry_buf_reset(&val);
        crawl_progress_encode(&rec, &key, &val);
        ferry_err_t err;
        if (ferry_producer_send(c->producer, c->progress_topic, RD_KAFKA_PARTITION_UA, key.data,
                                key.len, val.data, val.len, NULL, tag_of(i, 1), &err) != FERRY_OK) {
            pg->state = PAGE_FAILED;
            c->st.pages_failed++;
            crawl_abort(c, "Kafka: %s", err.msg);
            continue;
        }
        pg->state = PAGE_RECORDING;
    }
    ferry_buf_free(&key);
    ferry_buf_free(&val);
}

void crawl_on_delivery(const rd_kafka_message_t *rkm, void *msg_opaque, void *opaque)
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
