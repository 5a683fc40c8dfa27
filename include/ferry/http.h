/* http.h - ferry's HTTP client over libcurl. Only this module talks to libcurl.
 *
 * Two ways to use it:
 *  - blocking: ferry_http_perform() makes one request; ferry_http_post_json() POSTs a JSON
 *    body with retries (exponential backoff with jitter on timeouts, connection errors,
 *    5xx and 429, honouring Retry-After); a ferry_http_client_t makes its requests one after
 *    another over connections it keeps open (a webhook sender that decides its own retries);
 *  - many at once: a ferry_http_multi_t (libcurl's multi interface) runs any number of
 *    transfers in the calling thread; the caller decides when each one starts (rate limits,
 *    concurrency, retry delays: see ratelimit.h) and gets one callback per finished transfer.
 *
 * Credentials. A request may carry a bearer token, a basic-auth password or secret query
 * parameters (e.g. TMDB's api_key). None of them is ever logged by this module, and
 * ferry_http_redact_url() or ferry_http_url_target() must be applied to any URL before it is
 * logged or put in an error message. libcurl's verbose log is never enabled.
 *
 * Call ferry_http_global_init() once before creating threads (it is idempotent). */
#ifndef FERRY_HTTP_H
#define FERRY_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/buf.h"
#include "ferry/err.h"

/* Initialises libcurl once per process (thread-safe, idempotent). */
void ferry_http_global_init(void);

/* ---- requests and responses ------------------------------------------------------------- */

typedef struct ferry_http_request {
    const char *method;         /* NULL: GET, or POST when body is set */
    const char *url;            /* may hold secret query parameters: never logged */
    const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
    const void *body;           /* request body or NULL */
    size_t body_len;
    const char *content_type; /* with a body; NULL: application/json */
    const char *bearer_token; /* adds "Authorization: Bearer <token>" when set */
    const char *basic_user;   /* basic auth when set, with basic_password */
    const char *basic_password;
    int64_t timeout_ms;         /* whole transfer; 0: 30 s */
    int64_t connect_timeout_ms; /* 0: 10 s */
    size_t max_body;            /* a response body larger than this is not read further and the
                                   transfer ends as FERRY_HTTP_LIMIT; 0: 64 MiB */
    const char *ca_file;        /* PEM CA bundle to verify an https server with; NULL: the
                                   system's */
    int max_redirects;          /* redirects (301, 302, 303, 307, 308) followed, to http(s) only;
                                   more end as FERRY_HTTP_LIMIT; 0: 5; < 0: none followed */
    int cut_body;               /* 1: a body larger than max_body is cut to its first max_body
                                   bytes (too_large set) and the rest read and dropped, so the
                                   response still counts; 0: FERRY_HTTP_LIMIT */
    int no_compression;         /* 1: no Accept-Encoding header, and a body is kept as it
                                   arrives; 0: every encoding libcurl decodes is accepted */
} ferry_http_request_t;

typedef enum ferry_http_outcome {
    FERRY_HTTP_RESPONSE = 0, /* a response arrived: see status */
    FERRY_HTTP_TIMEOUT,      /* no complete response within timeout_ms */
    FERRY_HTTP_CONNECT,      /* could not resolve, connect or complete TLS */
    FERRY_HTTP_TRANSPORT,    /* connection broken, malformed response, body too large, ... */
    FERRY_HTTP_CANCELLED,    /* cancelled by ferry_http_multi_cancel_all() */
    FERRY_HTTP_LIMIT,        /* a limit of the request was passed: the body is larger than
                                max_body (too_large), or more than max_redirects redirects;
                                the same request would pass it again, so it is not retriable */
} ferry_http_outcome;

typedef struct ferry_http_response {
    ferry_http_outcome outcome;
    long status;            /* the HTTP status when outcome is FERRY_HTTP_RESPONSE, else 0 */
    ferry_buf_t body;       /* the response body (not NUL-terminated; ferry_buf_cstr works) */
    int64_t retry_after_ms; /* the Retry-After header as a delay, -1 when absent or invalid */
    int64_t elapsed_ms;     /* from the start of the transfer to its end */
    char error[256];        /* what went wrong for a transport outcome (no credentials) */
    int too_large;          /* the body passed max_body: body holds its first bytes (the outcome is
                               FERRY_HTTP_LIMIT, or with cut_body the response) */
    int64_t content_length; /* the announced Content-Length, -1 when unknown */
} ferry_http_response_t;

/* Frees the body and resets *r to an empty response. NULL is a no-op. */
void ferry_http_response_free(ferry_http_response_t *r);

/* "response", "timeout", "connect", "transport", "cancelled", "limit". */
const char *ferry_http_outcome_name(ferry_http_outcome outcome);

/* 1 when the same request may succeed if made again later: timeouts, connection and
 * transport failures, 429 and 5xx. Cancelled transfers and passed limits are not. */
int ferry_http_retriable(const ferry_http_response_t *r);

/* ---- blocking --------------------------------------------------------------------------- */

/* Makes one request and waits for it. Returns FERRY_OK when the transfer ran (look at
 * resp->outcome and resp->status; a 500 is still FERRY_OK here), FERRY_FATAL when the
 * request cannot be made at all (malformed URL, unsupported scheme). *resp is overwritten
 * (call ferry_http_response_free() on it afterwards, also on failure). */
ferry_status ferry_http_perform(const ferry_http_request_t *req, ferry_http_response_t *resp,
                                ferry_err_t *err);

/* A blocking client that keeps its connections open from one request to the next (to the
 * same server: one TCP and TLS handshake for many requests). One thread at a time. Returns a
 * new client, which the caller frees with ferry_http_client_destroy(), or NULL with *err
 * (FERRY_FATAL) when libcurl cannot create a handle. */
typedef struct ferry_http_client ferry_http_client_t;
ferry_http_client_t *ferry_http_client_new(ferry_err_t *err);

/* ferry_http_perform() over the client's connections: same return values, same *resp. */
ferry_status ferry_http_client_perform(ferry_http_client_t *c, const ferry_http_request_t *req,
                                       ferry_http_response_t *resp, ferry_err_t *err);

/* Closes the client's connections and frees it. NULL is a no-op. */
void ferry_http_client_destroy(ferry_http_client_t *c);

typedef struct ferry_http_retry_policy {
    int max_retries;            /* retries after the first attempt; < 0: 5 */
    int64_t base_ms;            /* first backoff; 0: 500 ms */
    int64_t cap_ms;             /* longest backoff; 0: 30 s */
    int64_t max_retry_after_ms; /* a longer Retry-After is cut to this; 0: 5 min */
} ferry_http_retry_policy_t;

/* Makes the request, retrying while ferry_http_retriable() says so, up to the policy's
 * limit: a 429 waits its Retry-After (else the backoff), everything else the backoff.
 * Waits are cut short by a stop request (ferry_lifecycle_running()). `policy` may be NULL
 * (defaults). *attempts (may be NULL) receives the number of attempts made. Returns FERRY_OK when
 * the last attempt got a response that is not worth retrying - any 1xx-4xx except 429, so the
 * caller still checks resp->status (e.g. 2xx, or 409 "already exists"); FERRY_RETRY when
 * the retries ran out or a stop was requested (resp holds the last attempt); FERRY_FATAL as
 * ferry_http_perform(). */
ferry_status ferry_http_request_retry(const ferry_http_request_t *req,
                                      const ferry_http_retry_policy_t *policy,
                                      ferry_http_response_t *resp, int *attempts, ferry_err_t *err);

/* POSTs `json` (NUL-terminated) to `url` with Content-Type: application/json and
 * Accept: application/json, retrying as ferry_http_request_retry(). `opts` may be NULL or
 * give extra headers, bearer token or basic auth, and timeouts (its method, url and body are
 * ignored). Same return values. Example, an Airflow 2 dagRuns trigger:
 *     ferry_http_request_t o = {.basic_user = user, .basic_password = pw, .timeout_ms = 10000};
 *     st = ferry_http_post_json(url, body, &o, NULL, &resp, &err);
 *     delivered = st == FERRY_OK && (resp.status / 100 == 2 || resp.status == 409); */
ferry_status ferry_http_post_json(const char *url, const char *json,
                                  const ferry_http_request_t *opts,
                                  const ferry_http_retry_policy_t *policy,
                                  ferry_http_response_t *resp, ferry_err_t *err);

/* ---- many transfers at once (libcurl multi) --------------------------------------------- */

typedef struct ferry_http_multi ferry_http_multi_t;

/* Called once for every finished (or cancelled) transfer, from ferry_http_multi_run() or
 * ferry_http_multi_cancel_all(). `resp` belongs to the engine and is freed after the call;
 * the callback may keep the body by moving it out (copy resp->body, then set resp->body to
 * FERRY_BUF_INIT). The callback may add new transfers. */
typedef void (*ferry_http_done_fn)(ferry_http_response_t *resp, void *user, void *opaque);

/* Creates an engine that keeps up to `max_connections` connections open for reuse
 * (at least 1). Returns NULL with *err on failure; free with ferry_http_multi_destroy(). */
ferry_http_multi_t *ferry_http_multi_new(int max_connections, ferry_err_t *err);

/* Starts a transfer now: everything in *req is copied, so it need not outlive the call.
 * `user` is handed to the done callback. Returns FERRY_OK, or FERRY_FATAL when the request
 * cannot be set up (nothing was started, no callback will come). */
ferry_status ferry_http_multi_add(ferry_http_multi_t *m, const ferry_http_request_t *req,
                                  void *user, ferry_err_t *err);

/* Number of transfers started and not yet reported. */
size_t ferry_http_multi_inflight(const ferry_http_multi_t *m);

/* Drives the transfers: waits up to timeout_ms for network activity (less when a transfer
 * needs attention sooner) and calls `done` for every transfer that finished. Returns the
 * number of callbacks made, or -1 with *err when libcurl's multi handle failed. */
int ferry_http_multi_run(ferry_http_multi_t *m, int timeout_ms, ferry_http_done_fn done,
                         void *opaque, ferry_err_t *err);

/* Stops every transfer at once; `done` (may be NULL) is called for each with outcome
 * FERRY_HTTP_CANCELLED. */
void ferry_http_multi_cancel_all(ferry_http_multi_t *m, ferry_http_done_fn done, void *opaque);

/* Cancels what is left (no callbacks) and frees. NULL is a no-op. */
void ferry_http_multi_destroy(ferry_http_multi_t *m);

/* ---- helpers ---------------------------------------------------------------------------- */

/* Parses a Retry-After header value - delay-seconds ("120") or an HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT", also the obsolete RFC 850 and asctime forms) - into a
 * delay in ms relative to `now_unix_s` (a date in the past is 0). Surrounding blanks are
 * allowed. Returns 0, or -1 for anything else (negative numbers, garbage, empty). */
int ferry_http_parse_retry_after(const char *value, int64_t now_unix_s, int64_t *delay_ms);

/* Appends `s` to *out percent-encoded for a URL query (RFC 3986 unreserved characters
 * are kept). */
void ferry_http_escape(ferry_buf_t *out, const char *s);

/* Copies `url` into out (always NUL-terminated, truncated to outsz) with credentials
 * masked: userinfo ("user:pw@") and the values of query parameters that commonly carry
 * secrets (api_key, apikey, key, token, access_token, password, secret, signature, sig,
 * auth) become "***". */
void ferry_http_redact_url(const char *url, char *out, size_t outsz);

/* Copies what a request's target may be shown as into out (always NUL-terminated, cut to
 * outsz): `url` without its userinfo ("user:pw@"), query string and fragment, e.g.
 * "http://u:pw@airflow:8080/api/v1/dags/d/dagRuns?x=1" -> "http://airflow:8080/api/v1/dags/
 * d/dagRuns". */
void ferry_http_url_target(const char *url, char *out, size_t outsz);

#endif
