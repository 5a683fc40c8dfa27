/* webhook.h - the webhook requests of `ferry retrain dispatch` over the core's HTTP client
 * (include/ferry/http.h): one JSON POST at a time on a kept-alive connection, basic auth or
 * a bearer token, a timeout, no redirects followed; the HTTP status, the Retry-After hint and
 * the first 64 KiB of the response body back. The caller decides about retries. Credentials
 * are never logged; log the URL only as ferry_http_url_target() shows it. */
#ifndef FERRY_RETRAIN_WEBHOOK_H
#define FERRY_RETRAIN_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/err.h"
#include "ferry/http.h"

typedef struct webhook webhook_t;

typedef struct webhook_conf {
    const char *url;      /* the full URL to POST to */
    const char *user;     /* basic auth user, or NULL */
    const char *password; /* basic auth password, or NULL */
    const char *token;    /* bearer token, or NULL (wins over basic auth) */
    int64_t timeout_ms;   /* whole request; <= 0: 10 s */
} webhook_conf_t;

/* Creates a client with copies of what it needs from *conf (the caller keeps conf's
 * strings). Returns a new client, which the caller frees with webhook_destroy(), or NULL with
 * *err when libcurl cannot create a handle. */
webhook_t *webhook_new(const webhook_conf_t *conf, ferry_err_t *err);

/* Closes the connection, wipes the copied credentials and frees. NULL is a no-op. */
void webhook_destroy(webhook_t *w);

/* POSTs `body` (JSON, len bytes) with Content-Type and Accept application/json and the extra
 * header lines (NULL-terminated, e.g. "Idempotency-Key: x"; may be NULL). *resp is
 * overwritten (free it with ferry_http_response_free() afterwards, whatever the result):
 * FERRY_OK when a response arrived, whatever its status (resp->status, resp->retry_after_ms,
 * resp->body: at most 64 KiB of it); FERRY_RETRY when none did (resp->status 0, resp->error
 * says why: a transport failure, or a URL libcurl cannot request). */
ferry_status webhook_post(webhook_t *w, const char *body, size_t len, const char *const *headers,
                          ferry_http_response_t *resp);

#endif
