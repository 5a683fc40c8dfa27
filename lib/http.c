/* http.c - the HTTP client over libcurl: blocking requests (with retries, or one after another
 * on a client's kept-alive connections), and the multi engine that runs many transfers in one
 * thread (see include/ferry/http.h). */
#include "ferry/http.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/ratelimit.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS      30000
#define DEFAULT_CONNECT_MS      10000
#define DEFAULT_MAX_BODY        ((size_t)64 << 20)
#define DEFAULT_MAX_REDIRECTS   5
#define DEFAULT_RETRIES         5
#define DEFAULT_BASE_MS         500
#define DEFAULT_CAP_MS          30000
#define DEFAULT_MAX_RETRY_AFTER 300000

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void global_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void ferry_http_global_init(void)
{
    pthread_once(&g_once, global_init_once);
}

/* ---- responses -------------------------------------------------------------------------- */

void ferry_http_response_free(ferry_http_response_t *r)
{
    if (!r)
        return;
    ferry_buf_free(&r->body);
    memset(r, 0, sizeof *r);
    r->retry_after_ms = -1;
    r->content_length = -1;
}

const char *ferry_http_outcome_name(ferry_http_outcome outcome)
{
    switch (outcome) {
    case FERRY_HTTP_RESPONSE:
        return "response";
    case FERRY_HTTP_TIMEOUT:
        return "timeout";
    case FERRY_HTTP_CONNECT:
        return "connect";
    case FERRY_HTTP_TRANSPORT:
        return "transport";
    case FERRY_HTTP_CANCELLED:
        return "cancelled";
    case FERRY_HTTP_LIMIT:
        return "limit";
    }
    return "unknown";
}

int ferry_http_retriable(const ferry_http_response_t *r)
{
    switch (r->outcome) {
    case FERRY_HTTP_RESPONSE:
        return r->status == 429 || (r->status >= 500 && r->status <= 599);
    case FERRY_HTTP_TIMEOUT:
    case FERRY_HTTP_CONNECT:
    case FERRY_HTTP_TRANSPORT:
        return 1;
    case FERRY_HTTP_CANCELLED:
    case FERRY_HTTP_LIMIT:
        return 0;
    }
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

int ferry_http_parse_retry_after(const char *value, int64_t now_unix_s, int64_t *delay_ms)
{
    if (!value)
        return -1;
    while (isspace((unsigned char)*value))
        value++;
    char buf[128];
    size_t n = strlen(value);
    while (n > 0 && isspace((unsigned char)value[n - 1]))
        n--;
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, value, n);
    buf[n] = '\0';
    int digits = 1, alpha = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)buf[i]))
            digits = 0;
        if (isalpha((unsigned char)buf[i]))
            alpha = 1;
    }
    if (digits) {
        /* delay-seconds = 1*DIGIT; absurd values are clamped rather than overflowing. */
        int64_t s = 0;
        for (size_t i = 0; i < n && s < 1000000000; i++)
            s = s * 10 + (buf[i] - '0');
        if (s > 1000000000)
            s = 1000000000;
        *delay_ms = s * 1000;
        return 0;
    }
    if (!alpha) /* "-1", "1.5", "12:00": not an HTTP-date either */
        return -1;
    time_t now = (time_t)now_unix_s;
    time_t t = curl_getdate(buf, &now);
    if (t == (time_t)-1)
        return -1;
    int64_t d = (int64_t)t - now_unix_s;
    *delay_ms = d > 0 ? d * 1000 : 0;
    return 0;
}

void ferry_http_escape(ferry_buf_t *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            ferry_buf_append_byte(out, *p);
        } else {
            ferry_buf_append_byte(out, '%');
            ferry_buf_append_byte(out, (unsigned char)hex[*p >> 4]);
            ferry_buf_append_byte(out, (unsigned char)hex[*p & 15]);
        }
    }
}

static int secret_param(const char *name, size_t len)
{
    static const char *const names[] = {"api_key",      "apikey",   "key",    "token",
                                        "access_token", "password", "secret", "signature",
                                        "sig",          "auth",     NULL};
    for (const char *const *n = names; *n; n++)
        if (strlen(*n) == len && strncasecmp(*n, name, len) == 0)
            return 1;
    return 0;
}

void ferry_http_redact_url(const char *url, char *out, size_t outsz)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    const char *p = url ? url : "";
    const char *scheme = strstr(p, "://");
    if (scheme) {
        const char *host = scheme + 3;
        size_t hl = strcspn(host, "/?#");
        const char *at = memchr(host, '@', hl);
        if (at) {
            ferry_buf_append(&b, p, (size_t)(host - p));
            ferry_buf_append_str(&b, "***@");
            p = at + 1;
        }
    }
    char prev = '\0';
    while (*p) {
        if (prev == '?' || prev == '&' || prev == ';') {
            size_t nl = strcspn(p, "=&#; \t\r\n");
            if (p[nl] == '=' && secret_param(p, nl)) {
                ferry_buf_append(&b, p, nl + 1);
                ferry_buf_append_str(&b, "***");
                p += nl + 1;
                p += strcspn(p, "&#; \t\r\n");
                prev = '\0';
                continue;
            }
        }
        prev = *p;
        ferry_buf_append_byte(&b, (unsigned char)*p++);
    }
    if (outsz > 0) {
        size_t n = b.len < outsz - 1 ? b.len : outsz - 1;
        if (n)
            memcpy(out, b.data, n);
        out[n] = '\0';
    }
    ferry_buf_free(&b);
}

void ferry_http_url_target(const char *url, char *out, size_t outsz)
{
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    const char *path = host + strcspn(host, "/?#");
    const char *at = NULL;
    for (const char *p = host; p < path; p++)
        if (*p == '@')
            at = p;
    if (at)
        host = at + 1;
    size_t pathlen = strcspn(path, "?#");
    snprintf(out, outsz, "%.*s%.*s%.*s", scheme ? (int)(scheme + 3 - url) : 0, url,
             (int)(path - host), host, (int)pathlen, path);
}

/* ---- one transfer ----------------------------------------------------------------------- */

typedef struct xfer {
    CURL *easy;
    int own_easy; /* 0: the easy handle belongs to a ferry_http_client_t and outlives us */
    struct curl_slist *hdrs;
    char *body; /* our copy of the request body */
    size_t max_body;
    int cut_body;
    int too_large;
    int max_redirects;
    int64_t start_ms;
    void *user;
    ferry_http_response_t resp;
    char errbuf[CURL_ERROR_SIZE];
    struct xfer *prev, *next;
} xfer_t;

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    xfer_t *x = ud;
    size_t n = size * nmemb;
    if (x->resp.body.len + n > x->max_body) {
        /* keep what fits: a huge body never sits in memory */
        ferry_buf_append(&x->resp.body, data, x->max_body - x->resp.body.len);
        x->too_large = 1;
        if (x->cut_body) {
            x->resp.too_large = 1;
            return n; /* the rest is read and dropped */
        }
        return 0; /* reads no further: aborts the transfer with CURLE_WRITE_ERROR */
    }
    ferry_buf_append(&x->resp.body, data, n);
    return n;
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    xfer_t *x = ud;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        x->resp.retry_after_ms = -1; /* a new response (after a 100 Continue, a redirect) */
        x->resp.content_length = -1;
    } else if (n > 15 && strncasecmp(data, "content-length:", 15) == 0) {
        char *end;
        long long v = strtoll(data + 15, &end, 10);
        x->resp.content_length = v >= 0 && end != data + 15 ? (int64_t)v : -1;
    } else if (n > 12 && strncasecmp(data, "retry-after:", 12) == 0) {
        char v[128];
        size_t vl = n - 12 < sizeof v - 1 ? n - 12 : sizeof v - 1;
        memcpy(v, data + 12, vl);
        v[vl] = '\0';
        int64_t ms;
        if (ferry_http_parse_retry_after(v, (int64_t)time(NULL), &ms) == 0)
            x->resp.retry_after_ms = ms;
    }
    return n;
}

static void xfer_free(xfer_t *x)
{
    if (!x)
        return;
    if (x->easy && x->own_easy)
        curl_easy_cleanup(x->easy);
    else if (x->easy)
        curl_easy_reset(x->easy); /* it points at our headers and body no longer */
    for (struct curl_slist *s = x->hdrs; s; s = s->next)
        if (strncasecmp(s->data, "Authorization:", 14) == 0)
            memset(s->data, 0, strlen(s->data)); /* don't leave tokens in freed memory */
    curl_slist_free_all(x->hdrs);
    free(x->body);
    ferry_buf_free(&x->resp.body);
    free(x);
}

/* Checks that the URL parses and is http(s), without logging it. */
static ferry_status check_url(const char *url, ferry_err_t *err)
{
    if (!url || !*url)
        return ferry_err_set(err, FERRY_FATAL, "HTTP request without a URL");
    CURLU *u = curl_url();
    if (!u)
        abort();
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    char *scheme = NULL;
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    ferry_status st = FERRY_OK;
    if (uc != CURLUE_OK) {
        char shown[256];
        ferry_http_redact_url(url, shown, sizeof shown);
        st = ferry_err_set(err, FERRY_FATAL, "bad URL '%s': %s", shown, curl_url_strerror(uc));
    } else if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        st = ferry_err_set(err, FERRY_FATAL, "unsupported URL scheme '%s' (http or https)", scheme);
    }
    curl_free(scheme);
    curl_url_cleanup(u);
    return st;
}

#define SETOPT(x, opt, val)                                                                        \
    do {                                                                                           \
        if (curl_easy_setopt((x)->easy, opt, val) != CURLE_OK)                                     \
            goto fail;                                                                             \
    } while (0)

/* Configures a transfer for *req on `reuse` (a client's easy handle, reset here; its open
 * connections stay) or, when NULL, on a new easy handle. Returns NULL with *err on failure. */
static xfer_t *xfer_new(const ferry_http_request_t *req, CURL *reuse, void *user, ferry_err_t *err)
{
    if (check_url(req->url, err) != FERRY_OK)
        return NULL;
    xfer_t *x = calloc(1, sizeof *x);
    if (!x)
        abort();
    x->resp.retry_after_ms = -1;
    x->resp.content_length = -1;
    x->user = user;
    x->max_body = req->max_body ? req->max_body : DEFAULT_MAX_BODY;
    x->cut_body = req->cut_body;
    x->max_redirects = req->max_redirects ? req->max_redirects : DEFAULT_MAX_REDIRECTS;
    x->own_easy = !reuse;
    if (reuse)
        curl_easy_reset(reuse);
    x->easy = reuse ? reuse : curl_easy_init();
    if (!x->easy)
        goto fail;
    SETOPT(x, CURLOPT_URL, req->url);
    SETOPT(x, CURLOPT_PROTOCOLS_STR, "http,https");
    if (x->max_redirects > 0) {
        /* TMDB and CDNs answer 301/302/307/308; libcurl sends a custom Authorization header
         * only to the host first asked, never to one a redirect names */
        SETOPT(x, CURLOPT_FOLLOWLOCATION, 1L);
        SETOPT(x, CURLOPT_MAXREDIRS, (long)x->max_redirects);
        SETOPT(x, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    }
    /* a body announced larger than the limit is refused before any of it is read */
    if (!x->cut_body)
        SETOPT(x, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_body);
    SETOPT(x, CURLOPT_NOSIGNAL, 1L);
    SETOPT(x, CURLOPT_WRITEFUNCTION, write_cb);
    SETOPT(x, CURLOPT_WRITEDATA, x);
    SETOPT(x, CURLOPT_HEADERFUNCTION, header_cb);
    SETOPT(x, CURLOPT_HEADERDATA, x);
    SETOPT(x, CURLOPT_ERRORBUFFER, x->errbuf);
    SETOPT(x, CURLOPT_PRIVATE, x);
    SETOPT(x, CURLOPT_TIMEOUT_MS,
           (long)(req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS));
    SETOPT(x, CURLOPT_CONNECTTIMEOUT_MS,
           (long)(req->connect_timeout_ms > 0 ? req->connect_timeout_ms : DEFAULT_CONNECT_MS));
    if (!req->no_compression)
        SETOPT(x, CURLOPT_ACCEPT_ENCODING, "");
    if (req->ca_file)
        SETOPT(x, CURLOPT_CAINFO, req->ca_file);
    SETOPT(x, CURLOPT_USERAGENT, "ferry/" FERRY_VERSION);
    for (const char *const *h = req->headers; h && *h; h++) {
        struct curl_slist *n = curl_slist_append(x->hdrs, *h);
        if (!n)
            goto fail;
        x->hdrs = n;
    }
    if (req->body) {
        x->body = malloc(req->body_len ? req->body_len : 1);
        if (!x->body)
            abort();
        memcpy(x->body, req->body, req->body_len);
        SETOPT(x, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SETOPT(x, CURLOPT_POSTFIELDS, x->body);
        char ct[256];
        snprintf(ct, sizeof ct, "Content-Type: %s",
                 req->content_type ? req->content_type : "application/json");
        struct curl_slist *n = curl_slist_append(x->hdrs, ct);
        if (!n)
            goto fail;
        x->hdrs = n;
        /* No "Expect: 100-continue" (libcurl adds it to larger bodies): many servers never
         * answer it, which costs a 1-second stall per request. */
        if (!(n = curl_slist_append(x->hdrs, "Expect:")))
            goto fail;
        x->hdrs = n;
    }
    if (req->method && strcmp(req->method, req->body ? "POST" : "GET") != 0)
        SETOPT(x, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->bearer_token) {
        ferry_buf_t a = FERRY_BUF_INIT;
        ferry_buf_appendf(&a, "Authorization: Bearer %s", req->bearer_token);
        struct curl_slist *n = curl_slist_append(x->hdrs, ferry_buf_cstr(&a));
        memset(a.data, 0, a.len);
        ferry_buf_free(&a);
        if (!n)
            goto fail;
        x->hdrs = n;
    }
    if (req->basic_user) {
        SETOPT(x, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SETOPT(x, CURLOPT_USERNAME, req->basic_user);
        SETOPT(x, CURLOPT_PASSWORD, req->basic_password ? req->basic_password : "");
    }
    if (x->hdrs)
        SETOPT(x, CURLOPT_HTTPHEADER, x->hdrs);
    x->start_ms = ferry_clock_mono_ms();
    return x;
fail:
    ferry_err_set(err, FERRY_FATAL, "cannot set up an HTTP transfer (libcurl)");
    xfer_free(x);
    return NULL;
}

/* Fills x->resp from the transfer's result. */
static void xfer_finish(xfer_t *x, CURLcode code)
{
    ferry_http_response_t *r = &x->resp;
    r->elapsed_ms = ferry_clock_mono_ms() - x->start_ms;
    r->status = 0;
    const char *msg = x->errbuf[0] ? x->errbuf : curl_easy_strerror(code);
    switch (code) {
    case CURLE_OK: {
        long status = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        r->outcome = FERRY_HTTP_RESPONSE;
        r->status = status;
        r->error[0] = '\0';
        return;
    }
    case CURLE_OPERATION_TIMEDOUT:
        r->outcome = FERRY_HTTP_TIMEOUT;
        break;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        r->outcome = FERRY_HTTP_CONNECT;
        break;
    case CURLE_FILESIZE_EXCEEDED:
        x->too_large = 1;
        /* fall through */
    case CURLE_WRITE_ERROR:
        if (x->too_large) {
            r->outcome = FERRY_HTTP_LIMIT;
            r->too_large = 1;
            if (r->content_length >= 0)
                snprintf(r->error, sizeof r->error,
                         "response body larger than %zu bytes (Content-Length: %lld); not read "
                         "further",
                         x->max_body, (long long)r->content_length);
            else
                snprintf(r->error, sizeof r->error,
                         "response body larger than %zu bytes; not read further", x->max_body);
            return;
        }
        r->outcome = FERRY_HTTP_TRANSPORT;
        break;
    case CURLE_TOO_MANY_REDIRECTS:
        r->outcome = FERRY_HTTP_LIMIT;
        snprintf(r->error, sizeof r->error, "more than %d redirects", x->max_redirects);
        return;
    default:
        r->outcome = FERRY_HTTP_TRANSPORT;
        break;
    }
    ferry_http_redact_url(msg, r->error, sizeof r->error);
    size_t n = strlen(r->error);
    while (n > 0 && (r->error[n - 1] == '\n' || r->error[n - 1] == '\r'))
        r->error[--n] = '\0';
}

/* Moves the response out of x into *out. */
static void xfer_take_response(xfer_t *x, ferry_http_response_t *out)
{
    *out = x->resp;
    x->resp.body = (ferry_buf_t)FERRY_BUF_INIT;
}

/* ---- blocking --------------------------------------------------------------------------- */

/* One blocking request on `reuse` (a client's easy handle) or a new handle. */
static ferry_status perform_on(CURL *reuse, const ferry_http_request_t *req,
                               ferry_http_response_t *resp, ferry_err_t *err)
{
    memset(resp, 0, sizeof *resp);
    resp->retry_after_ms = -1;
    resp->content_length = -1;
    ferry_http_global_init();
    xfer_t *x = xfer_new(req, reuse, NULL, err);
    if (!x)
        return err ? err->status : FERRY_FATAL;
    CURLcode code = curl_easy_perform(x->easy);
    xfer_finish(x, code);
    xfer_take_response(x, resp);
    xfer_free(x);
    return FERRY_OK;
}

ferry_status ferry_http_perform(const ferry_http_request_t *req, ferry_http_response_t *resp,
                                ferry_err_t *err)
{
    return perform_on(NULL, req, resp, err);
}

struct ferry_http_client {
    CURL *easy; /* its connection cache outlives each request */
};

ferry_http_client_t *ferry_http_client_new(ferry_err_t *err)
{
    ferry_http_global_init();
    ferry_http_client_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    if (!(c->easy = curl_easy_init())) {
        free(c);
        ferry_err_set(err, FERRY_FATAL, "libcurl could not create a handle");
        return NULL;
    }
    return c;
}

ferry_status ferry_http_client_perform(ferry_http_client_t *c, const ferry_http_request_t *req,
                                       ferry_http_response_t *resp, ferry_err_t *err)
{
    return perform_on(c->easy, req, resp, err);
}

void ferry_http_client_destroy(ferry_http_client_t *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->easy);
    free(c);
}

static void describe(const ferry_http_response_t *r, char *out, size_t outsz)
{
    if (r->outcome == FERRY_HTTP_RESPONSE)
        snprintf(out, outsz, "HTTP %ld", r->status);
    else
        snprintf(out, outsz, "%s: %s", ferry_http_outcome_name(r->outcome), r->error);
}

ferry_status ferry_http_request_retry(const ferry_http_request_t *req,
                                      const ferry_http_retry_policy_t *policy,
                                      ferry_http_response_t *resp, int *attempts, ferry_err_t *err)
{
    int max = policy && policy->max_retries >= 0 ? policy->max_retries : DEFAULT_RETRIES;
    int64_t base = policy && policy->base_ms > 0 ? policy->base_ms : DEFAULT_BASE_MS;
    int64_t cap = policy && policy->cap_ms > 0 ? policy->cap_ms : DEFAULT_CAP_MS;
    int64_t max_ra = policy && policy->max_retry_after_ms > 0 ? policy->max_retry_after_ms
                                                              : DEFAULT_MAX_RETRY_AFTER;
    uint64_t rng = (uint64_t)ferry_clock_now_us() ^ ((uint64_t)getpid() << 32);
    char shown[256], what[320];
    ferry_http_redact_url(req->url, shown, sizeof shown);
    memset(resp, 0, sizeof *resp);
    resp->retry_after_ms = -1;
    for (int attempt = 0;; attempt++) {
        ferry_http_response_free(resp);
        ferry_status st = ferry_http_perform(req, resp, err);
        if (attempts)
            *attempts = attempt + 1;
        if (st != FERRY_OK)
            return st;
        if (!ferry_http_retriable(resp))
            return FERRY_OK;
        describe(resp, what, sizeof what);
        if (attempt >= max)
            return ferry_err_set(err, FERRY_RETRY, "%s: %s after %d attempt(s)", shown, what,
                                 attempt + 1);
        int64_t delay = ferry_backoff_ms((unsigned)attempt, base, cap, &rng);
        if (resp->outcome == FERRY_HTTP_RESPONSE && resp->status == 429 &&
            resp->retry_after_ms >= 0)
            delay = resp->retry_after_ms < max_ra ? resp->retry_after_ms : max_ra;
        ferry_warn("%s: %s; retry %d/%d in %lld ms", shown, what, attempt + 1, max,
                   (long long)delay);
        if (ferry_lifecycle_sleep_ms(delay) < 0)
            return ferry_err_set(err, FERRY_RETRY, "%s: %s; stopped before retrying", shown, what);
    }
}

ferry_status ferry_http_post_json(const char *url, const char *json,
                                  const ferry_http_request_t *opts,
                                  const ferry_http_retry_policy_t *policy,
                                  ferry_http_response_t *resp, ferry_err_t *err)
{
    ferry_http_request_t req;
    if (opts)
        req = *opts;
    else
        memset(&req, 0, sizeof req);
    size_t nh = 0;
    for (const char *const *h = opts ? opts->headers : NULL; h && *h; h++)
        nh++;
    const char **hdrs = calloc(nh + 2, sizeof *hdrs);
    if (!hdrs)
        abort();
    for (size_t i = 0; i < nh; i++)
        hdrs[i] = opts->headers[i];
    hdrs[nh] = "Accept: application/json";
    req.method = "POST";
    req.url = url;
    req.headers = hdrs;
    req.body = json ? json : "";
    req.body_len = json ? strlen(json) : 0;
    req.content_type = "application/json";
    ferry_status st = ferry_http_request_retry(&req, policy, resp, NULL, err);
    free(hdrs);
    return st;
}

/* ---- multi ------------------------------------------------------------------------------ */

struct ferry_http_multi {
    CURLM *multi;
    xfer_t *head;
    size_t inflight;
};

ferry_http_multi_t *ferry_http_multi_new(int max_connections, ferry_err_t *err)
{
    ferry_http_global_init();
    ferry_http_multi_t *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    m->multi = curl_multi_init();
    if (!m->multi) {
        free(m);
        ferry_err_set(err, FERRY_FATAL, "cannot create a libcurl multi handle");
        return NULL;
    }
    curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS,
                      (long)(max_connections > 0 ? max_connections : 1));
    return m;
}

static void link_xfer(ferry_http_multi_t *m, xfer_t *x)
{
    x->prev = NULL;
    x->next = m->head;
    if (m->head)
        m->head->prev = x;
    m->head = x;
    m->inflight++;
}

static void unlink_xfer(ferry_http_multi_t *m, xfer_t *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        m->head = x->next;
    if (x->next)
        x->next->prev = x->prev;
    m->inflight--;
}

ferry_status ferry_http_multi_add(ferry_http_multi_t *m, const ferry_http_request_t *req,
                                  void *user, ferry_err_t *err)
{
    xfer_t *x = xfer_new(req, NULL, user, err);
    if (!x)
        return err ? err->status : FERRY_FATAL;
    CURLMcode mc = curl_multi_add_handle(m->multi, x->easy);
    if (mc != CURLM_OK) {
        xfer_free(x);
        return ferry_err_set(err, FERRY_FATAL, "libcurl multi: %s", curl_multi_strerror(mc));
    }
    link_xfer(m, x);
    /* Start it now (connect, send), so it leaves when its slot was granted. */
    int running;
    curl_multi_perform(m->multi, &running);
    return FERRY_OK;
}

size_t ferry_http_multi_inflight(const ferry_http_multi_t *m)
{
    return m->inflight;
}

static int drain(ferry_http_multi_t *m, ferry_http_done_fn done, void *opaque)
{
    int n = 0;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        xfer_t *x = NULL;
        CURL *easy = msg->easy_handle;
        CURLcode code = msg->data.result;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(m->multi, easy);
        unlink_xfer(m, x);
        xfer_finish(x, code);
        if (done)
            done(&x->resp, x->user, opaque);
        xfer_free(x);
        n++;
    }
    return n;
}

int ferry_http_multi_run(ferry_http_multi_t *m, int timeout_ms, ferry_http_done_fn done,
                         void *opaque, ferry_err_t *err)
{
    int running;
    CURLMcode mc = curl_multi_perform(m->multi, &running);
    if (mc != CURLM_OK)
        goto fail;
    int n = drain(m, done, opaque);
    if (n > 0)
        return n;
    mc = curl_multi_poll(m->multi, NULL, 0, timeout_ms > 0 ? timeout_ms : 0, NULL);
    if (mc != CURLM_OK)
        goto fail;
    mc = curl_multi_perform(m->multi, &running);
    if (mc != CURLM_OK)
        goto fail;
    return drain(m, done, opaque);
fail:
    ferry_err_set(err, FERRY_FATAL, "libcurl multi: %s", curl_multi_strerror(mc));
    return -1;
}

void ferry_http_multi_cancel_all(ferry_http_multi_t *m, ferry_http_done_fn done, void *opaque)
{
    while (m->head) {
        xfer_t *x = m->head;
        curl_multi_remove_handle(m->multi, x->easy);
        unlink_xfer(m, x);
        x->resp.outcome = FERRY_HTTP_CANCELLED;
        x->resp.status = 0;
        x->resp.elapsed_ms = ferry_clock_mono_ms() - x->start_ms;
        snprintf(x->resp.error, sizeof x->resp.error, "cancelled");
        if (done)
            done(&x->resp, x->user, opaque);
        xfer_free(x);
    }
}

void ferry_http_multi_destroy(ferry_http_multi_t *m)
{
    if (!m)
        return;
    ferry_http_multi_cancel_all(m, NULL, NULL);
    curl_multi_cleanup(m->multi);
    free(m);
}
