/* progress.h - a crawl job's progress, kept in Kafka rather than in files.
 *
 * Every completed page is one record on a compacted topic (default ferry.crawl.progress):
 *   key    "<job>/<page>"            e.g. "nightly/17"
 *   value  a small JSON object        {"job":"nightly","page":17,"status":"done",
 *                                      "endpoint":"/3/movie/popular","movies":20,
 *                                      "details":false,"total_pages":500,
 *                                      "completed_at":1767225600000000}
 * A page is recorded only after the broker acknowledged every movie event of it. On start,
 * the crawler reads the topic from the beginning to its end and skips the pages its job
 * has already completed. A record with a null value (tombstone) un-does its page. */
#ifndef FERRY_CRAWL_PROGRESS_H
#define FERRY_CRAWL_PROGRESS_H

#include <stdint.h>

#include "ferry/buf.h"
#include "ferry/err.h"
#include "ferry/options.h"

typedef struct crawl_progress_rec {
    const char *job;
    int page;
    const char *endpoint;
    int movies;
    int details;
    int64_t total_pages; /* -1 when unknown */
    int64_t completed_at_us;
} crawl_progress_rec_t;

/* Appends the record's key to *key and its JSON value to *value. */
void crawl_progress_encode(const crawl_progress_rec_t *rec, ferry_buf_t *key, ferry_buf_t *value);

/* Parses a key of `job`: returns the page number, or -1 when the key belongs to another
 * job or is not a progress key. */
int crawl_progress_key_page(const char *job, const void *key, size_t keylen);

/* 1 when `value` says the page is done, 0 otherwise (tombstone, other status, not JSON). */
int crawl_progress_value_done(const void *value, size_t len);

/* The total_pages a done record carries, or -1. */
int64_t crawl_progress_value_total_pages(const void *value, size_t len);

/* Reads `topic` from its beginning up to its end (with a throwaway consumer group that
 * never commits) and sets done[page - first] to 1 for every page of `job` in [first, last]
 * that a record says is complete (later records win, as compaction would). *ndone gets the
 * number of such pages, *total_pages the list's total_pages as the job's latest record saw
 * it (-1 when no record had one). Returns FERRY_OK, FERRY_RETRY when Kafka did not answer
 * within timeout_ms, or another error. */
ferry_status crawl_progress_load(const ferry_opts_t *o, const char *topic, const char *job,
                                 int first, int last, unsigned char *done, int *ndone,
                                 int64_t *total_pages, int64_t timeout_ms, ferry_err_t *err);

#endif
