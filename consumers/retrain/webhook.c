/* webhook.c - the webhook requests of `ferry retrain dispatch` (see webhook.h). */
#include "webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESPONSE_KEEP      (64 * 1024)
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_CONNECT_MS     5000

struct webhook {
    ferry_http_client_t *http;
    char *url, *user, *password, *token;
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

static void wipe_free(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

webhook_t *webhook_new(const webhook_conf_t *conf, ferry_err_t *err)
{
    webhook_t *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    if (!(w->http = ferry_http_client_new(err))) {
        free(w);
        return NULL;
    }
    w->url = dup_or_null(conf->url);
    w->user = dup_or_null(conf->user);
    w->password = dup_or_null(conf->password);
    w->token = dup_or_null(conf->token);
    w->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : DEFAULT_TIMEOUT_MS;
    return w;
}

void webhook_destroy(webhook_t *w)
{
    if (!w)
        return;
    ferry_http_client_destroy(w->http);
    free(w->url);
    free(w->user);
    wipe_free(w->password);
    wipe_free(w->token);
    free(w);
}

ferry_status webhook_post(webhook_t *w, const char *body, size_t len, const char *const *headers,
                          ferry_http_response_t *resp)
{
    size_t n = 0;
    while (headers && headers[n])
        n++;
    const char **lines = calloc(n + 2, sizeof *lines);
    if (!lines)
        abort();
    lines[0] = "Accept: application/json";
    for (size_t i = 0; i < n; i++)
        lines[i + 1] = headers[i];
    ferry_http_request_t req = {
        .method = "POST",
        .url = w->url,
        .headers = lines,
        .body = body,
        .body_len = len,
        .content_type = "application/json",
        .bearer_token = w->token,
        .basic_user = w->token ? NULL : w->user, /* a token wins over basic auth */
        .basic_password = w->password,
        .timeout_ms = w->timeout_ms,
        .connect_timeout_ms = w->timeout_ms < MAX_CONNECT_MS ? w->timeout_ms : MAX_CONNECT_MS,
        .max_body = RESPONSE_KEEP,
        .cut_body = 1,
        .max_redirects = -1,
        .no_compression = 1,
    };
    ferry_err_t err;
    ferry_status st = ferry_http_client_perform(w->http, &req, resp, &err);
    free(lines);
    if (st != FERRY_OK) {
        /* a URL that cannot be requested (malformed, not http or https) counts as a transport
         * failure: retried and recorded like any other */
        resp->outcome = FERRY_HTTP_TRANSPORT;
        resp->status = 0;
        snprintf(resp->error, sizeof resp->error, "%.*s", (int)sizeof resp->error - 1, err.msg);
        return FERRY_RETRY;
    }
    return resp->outcome == FERRY_HTTP_RESPONSE ? FERRY_OK : FERRY_RETRY;
}
