/* webhook.c - JSON POSTs over libcurl's easy interface (see webhook.h). */
#include "webhook.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RESPONSE_KEEP (64 * 1024)

struct webhook {
    CURL *curl;
    char *url, *user, *password, *auth_header;
    int64_t timeout_ms;
};

static char *dup_or_null(const char *s)
{
    if (!s || !*s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

webhook_t *webhook_new(const webhook_conf_t *conf, ferry_err_t *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ferry_err_set(err, FERRY_FATAL, "libcurl could not be initialised");
        return NULL;
    }
    webhook_t *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->curl = curl_easy_init();
    if (!w->curl) {
        free(w);
        curl_global_cleanup();
        ferry_err_set(err, FERRY_FATAL, "libcurl could not create a handle");
        return NULL;
    }
    w->url = dup_or_null(conf->url);
    w->user = dup_or_null(conf->user);
    w->password = dup_or_null(conf->password);
    if (conf->token && *conf->token) {
        size_t n = strlen(conf->token) + 32;
        w->auth_header = malloc(n);
        if (!w->auth_header)
            abort();
        snprintf(w->auth_header, n, "Authorization: Bearer %s", conf->token);
    }
    w->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : 10000;
    return w;
}

void webhook_destroy(webhook_t *w)
{
    if (!w)
        return;
    curl_easy_cleanup(w->curl);
    free(w->url);
    free(w->user);
    if (w->password) {
        memset(w->password, 0, strlen(w->password));
        free(w->password);
    }
    if (w->auth_header) {
        memset(w->auth_header, 0, strlen(w->auth_header));
        free(w->auth_header);
    }
    free(w);
    curl_global_cleanup();
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *opaque)
{
    ferry_buf_t *b = opaque;
    size_t n = size * nmemb;
    if (b && b->len < RESPONSE_KEEP)
        ferry_buf_append(b, data, n < RESPONSE_KEEP - b->len ? n : RESPONSE_KEEP - b->len);
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *opaque)
{
    webhook_reply_t *r = opaque;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        char num[32];
        size_t k = n - 12 < sizeof num - 1 ? n - 12 : sizeof num - 1;
        memcpy(num, data + 12, k);
        num[k] = '\0';
        char *end;
        long secs = strtol(num, &end, 10);
        if (end != num && secs >= 0)
            r->retry_after_ms = (int64_t)secs * 1000;
    }
    return n;
}

ferry_status webhook_post(webhook_t *w, const char *body, size_t len, const char *const *headers,
                          webhook_reply_t *reply, ferry_buf_t *response)
{
    memset(reply, 0, sizeof *reply);
    reply->retry_after_ms = -1;
    if (response)
        ferry_buf_reset(response);
    CURL *c = w->curl;
    curl_easy_reset(c);
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Accept: application/json");
    if (w->auth_header)
        hl = curl_slist_append(hl, w->auth_header);
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, w->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(w->timeout_ms < 5000 ? w->timeout_ms : 5000));
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ferry/" FERRY_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, response);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, reply);
    if (!w->auth_header && w->user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, w->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, w->password ? w->password : "");
    }
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(hl);
    if (cc != CURLE_OK) {
        snprintf(reply->error, sizeof reply->error, "%s", curl_easy_strerror(cc));
        return FERRY_RETRY;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
    return FERRY_OK;
}

void webhook_redact_url(const char *url, char *out, size_t outsz)
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
