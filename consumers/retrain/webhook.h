/* webhook.h - one JSON POST to a webhook over libcurl's easy interface, for
 * `ferry retrain dispatch`: basic auth or a bearer token, a timeout, the HTTP status and a
 * Retry-After hint back. Credentials are never logged; URLs are logged only through
 * webhook_redact_url(). */
#ifndef FERRY_RETRAIN_WEBHOOK_H
#define FERRY_RETRAIN_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/buf.h"
#include "ferry/err.h"

typedef struct webhook webhook_t;

typedef struct webhook_conf {
    const char *url;      /* the full URL to POST to */
    const char *user;     /* basic auth user, or NULL */
    const char *password; /* basic auth password, or NULL */
    const char *token;    /* bearer token, or NULL (wins over basic auth) */
    int64_t timeout_ms;   /* whole request */
} webhook_conf_t;

typedef struct webhook_reply {
    long status;            /* HTTP status, 0 when no response arrived */
    int64_t retry_after_ms; /* from a Retry-After header in seconds, -1 when absent */
    char error[256];        /* transport error, "" when a response arrived */
} webhook_reply_t;

/* Creates a client; copies what it needs from *conf. Returns NULL with *err when libcurl
 * cannot be initialised. */
webhook_t *webhook_new(const webhook_conf_t *conf, ferry_err_t *err);
void webhook_destroy(webhook_t *w);

/* POSTs `body` (JSON) with the extra header lines (NULL-terminated, e.g. "Idempotency-Key:
 * x"; may be NULL). Returns FERRY_OK when a response arrived (whatever its status; see
 * reply->status) and FERRY_RETRY for a transport failure (reply->error says which); the
 * response body, if `response` is not NULL, replaces its contents (at most 64 KiB kept). */
ferry_status webhook_post(webhook_t *w, const char *body, size_t len, const char *const *headers,
                          webhook_reply_t *reply, ferry_buf_t *response);

/* Copies `url` into out without any user:password@ part and without the query string. */
void webhook_redact_url(const char *url, char *out, size_t outsz);

#endif
