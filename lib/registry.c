/* registry.c - the Confluent Schema Registry client (see include/ferry/registry.h). */
#include "ferry/registry.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/http.h"
#include "ferry/log.h"

#define REGISTRY_CT "application/vnd.schemaregistry.v1+json"

struct ferry_registry {
    char *url; /* without the trailing '/' */
    char shown[512];
    char *user, *password, *ca_file;
    int64_t timeout_ms;
};

static char *dup_or_null(const char *s)
{
    return s ? ferry_xstrndup(s, strlen(s)) : NULL;
}

ferry_registry_t *ferry_registry_new(const ferry_registry_conf_t *conf, ferry_err_t *err)
{
    const char *url = conf->url;
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
        ferry_err_set(err, FERRY_USAGE, "--schema-registry must be an http:// or https:// URL");
        return NULL;
    }
    ferry_http_global_init();
    ferry_registry_t *r = ferry_xcalloc(1, sizeof *r);
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    r->url = ferry_xstrndup(url, n);
    ferry_http_redact_url(r->url, r->shown, sizeof r->shown);
    r->user = dup_or_null(conf->user);
    r->password = dup_or_null(conf->password);
    r->ca_file = dup_or_null(conf->ca_file);
    r->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : 5000;
    return r;
}

ferry_registry_t *ferry_registry_from_opts(const ferry_opts_t *o, ferry_err_t *err)
{
    ferry_err_clear(err);
    const char *url = ferry_opts_str(o, "schema-registry");
    if (!url || !*url)
        return NULL;
    ferry_registry_conf_t c = {url, ferry_opts_str(o, "schema-registry-user"),
                               ferry_opts_str(o, "schema-registry-password"), 0,
                               ferry_opts_str(o, "schema-registry-ca-file")};
    if (c.password && !c.user) {
        ferry_err_set(err, FERRY_USAGE, "--schema-registry-password needs --schema-registry-user");
        return NULL;
    }
    return ferry_registry_new(&c, err);
}

void ferry_registry_free(ferry_registry_t *r)
{
    if (!r)
        return;
    if (r->password)
        memset(r->password, 0, strlen(r->password));
    free(r->password);
    free(r->user);
    free(r->ca_file);
    free(r->url);
    free(r);
}

const char *ferry_registry_url(const ferry_registry_t *r)
{
    return r->shown;
}

/* The registry's own words: {"error_code": N, "message": "..."}, else the start of the body. */
static void registry_message(const ferry_http_response_t *resp, char *out, size_t outsz)
{
    json_t *j = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
    const char *m = json_string_value(json_object_get(j, "message"));
    if (m)
        snprintf(out, outsz, "%s", m);
    else
        snprintf(out, outsz, "%.*s", (int)(resp->body.len > 200 ? 200 : resp->body.len),
                 resp->body.data ? (const char *)resp->body.data : "");
    json_decref(j);
}

/* The status of an answer that is not a success. */
static int failure(const ferry_registry_t *r, const ferry_http_response_t *resp, const char *what,
                   ferry_err_t *err)
{
    char m[256];
    if (resp->outcome != FERRY_HTTP_RESPONSE)
        return ferry_err_set(err, FERRY_RETRY, "schema registry %s: %s: %s (%s)", r->shown, what,
                             ferry_http_outcome_name(resp->outcome), resp->error);
    registry_message(resp, m, sizeof m);
    if (ferry_http_retriable(resp))
        return ferry_err_set(err, FERRY_RETRY, "schema registry %s: %s: HTTP %ld: %s", r->shown,
                             what, resp->status, m);
    return ferry_err_set(err, FERRY_FATAL, "schema registry %s: %s: HTTP %ld: %s", r->shown, what,
                         resp->status, m);
}

static void request_init(const ferry_registry_t *r, ferry_http_request_t *q, const char *url)
{
    static const char *const headers[] = {"Accept: " REGISTRY_CT, NULL};
    memset(q, 0, sizeof *q);
    q->url = url;
    q->headers = headers;
    q->basic_user = r->user;
    q->basic_password = r->user ? (r->password ? r->password : "") : NULL;
    q->timeout_ms = r->timeout_ms;
    q->ca_file = r->ca_file;
    q->connect_timeout_ms = r->timeout_ms < 3000 ? r->timeout_ms : 3000;
    q->max_body = 16u << 20;
}

int ferry_registry_fetch(ferry_registry_t *r, uint32_t id, ferry_buf_t *schema_json,
                         ferry_err_t *err)
{
    char url[2048], what[64];
    snprintf(url, sizeof url, "%s/schemas/ids/%u", r->url, (unsigned)id);
    snprintf(what, sizeof what, "schema id %u", (unsigned)id);
    ferry_http_request_t q;
    request_init(r, &q, url);
    ferry_http_response_t resp;
    ferry_status st = ferry_http_perform(&q, &resp, err);
    if (st != FERRY_OK) {
        ferry_http_response_free(&resp);
        return st;
    }
    int rc = FERRY_OK;
    if (resp.outcome == FERRY_HTTP_RESPONSE && resp.status == 404) {
        rc = ferry_err_set(err, FERRY_POISON, "schema id %u is unknown to the schema registry",
                           (unsigned)id);
    } else if (resp.outcome != FERRY_HTTP_RESPONSE || resp.status != 200) {
        rc = failure(r, &resp, what, err);
    } else {
        json_t *j = json_loadb((const char *)resp.body.data, resp.body.len, 0, NULL);
        const char *s = json_string_value(json_object_get(j, "schema"));
        const char *type = json_string_value(json_object_get(j, "schemaType"));
        if (!s)
            rc = ferry_err_set(err, FERRY_RETRY, "schema registry %s: %s: no schema in the answer",
                               r->shown, what);
        else if (type && strcmp(type, "AVRO") != 0)
            rc = ferry_err_set(err, FERRY_POISON, "schema id %u is a %s schema, not Avro",
                               (unsigned)id, type);
        else {
            ferry_buf_reset(schema_json);
            ferry_buf_append_str(schema_json, s);
        }
        json_decref(j);
    }
    ferry_http_response_free(&resp);
    return rc;
}

int ferry_registry_register(ferry_registry_t *r, const char *subject, const char *schema_json,
                            uint32_t *id, ferry_err_t *err)
{
    ferry_buf_t url = FERRY_BUF_INIT;
    ferry_buf_appendf(&url, "%s/subjects/", r->url);
    ferry_http_escape(&url, subject);
    ferry_buf_append_str(&url, "/versions");
    json_t *body = json_pack("{s:s}", "schema", schema_json);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        ferry_buf_free(&url);
        return ferry_err_set(err, FERRY_FATAL, "out of memory");
    }
    ferry_http_request_t q;
    request_init(r, &q, ferry_buf_cstr(&url));
    q.method = "POST";
    q.body = text;
    q.body_len = strlen(text);
    q.content_type = REGISTRY_CT;
    ferry_http_retry_policy_t policy = {4, 500, 4000, 5000};
    ferry_http_response_t resp;
    char what[400];
    snprintf(what, sizeof what, "registering the schema under subject %s", subject);
    ferry_status st = ferry_http_request_retry(&q, &policy, &resp, NULL, err);
    int rc = FERRY_OK;
    if (st == FERRY_FATAL) {
        rc = st;
    } else if (resp.outcome == FERRY_HTTP_RESPONSE && resp.status == 200) {
        json_t *j = json_loadb((const char *)resp.body.data, resp.body.len, 0, NULL);
        json_t *jid = json_object_get(j, "id");
        if (!json_is_integer(jid) || json_integer_value(jid) < 0 ||
            json_integer_value(jid) > UINT32_MAX)
            rc = ferry_err_set(err, FERRY_FATAL, "schema registry %s: %s: no id in the answer",
                               r->shown, what);
        else
            *id = (uint32_t)json_integer_value(jid);
        json_decref(j);
    } else {
        rc = failure(r, &resp, what, err);
    }
    ferry_http_response_free(&resp);
    free(text);
    ferry_buf_free(&url);
    return rc;
}
