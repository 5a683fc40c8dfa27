/* test_http.c - the HTTP client of include/ferry/http.h against a small HTTP server in a
 * thread of this test (127.0.0.1, a free port): JSON POST with retries on 503 and 429 until a
 * 200, 409 passed back without retry, basic and bearer auth sent, retries running out,
 * connection refused, timeouts, bad URLs, body size limit (not read further, not retried),
 * redirects followed up to a limit, a body cut to the limit (the response still counts), a
 * client keeping one connection for many requests, the target of a URL without credentials,
 * and the multi engine running transfers concurrently and cancelling them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ferry/http.h"

/* ---- a scripted HTTP/1.1 server: one request per connection, or with keep_alive many ---- */

typedef struct srv {
    int fd, port;
    pthread_t th;
    const int *script; /* statuses to answer in turn; the last one repeats */
    int nscript;
    size_t body_size;   /* size of the 200 body (default: {"ok":true}) */
    int no_length;      /* send the 200 body without Content-Length (connection close) */
    char location[128]; /* Location of 3xx answers */
    int keep_alive;     /* answer without Connection: close and read the next request */
    volatile int stop;
    int served, accepted;
    char last[8192];
    size_t last_len;
    pthread_mutex_t mu;
} srv_t;

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 64), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

static char *find_nocase(char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

/* Reads one request from cfd and answers it. Returns 0, or -1 when the peer closed. */
static int serve_one(srv_t *s, int cfd)
{
    size_t cap = 1 << 16, n = 0;
    char *req = malloc(cap);
    for (;;) {
        if (cap - n < 4096) {
            cap *= 2;
            req = realloc(req, cap);
        }
        ssize_t r = recv(cfd, req + n, cap - 1 - n, 0);
        if (r <= 0) {
            free(req);
            return -1;
        }
        n += (size_t)r;
        req[n] = '\0';
        char *hdr_end = strstr(req, "\r\n\r\n");
        if (!hdr_end)
            continue;
        size_t clen = 0;
        char *cl = find_nocase(req, "Content-Length:");
        if (cl && cl < hdr_end)
            clen = (size_t)strtoul(cl + 15, NULL, 10);
        if (n >= (size_t)(hdr_end + 4 - req) + clen)
            break;
    }
    pthread_mutex_lock(&s->mu);
    int i = s->served < s->nscript ? s->served : s->nscript - 1;
    int status = s->script[i];
    s->served++;
    snprintf(s->last, sizeof s->last, "%s", req); /* the first 8 KiB */
    s->last_len = n;
    pthread_mutex_unlock(&s->mu);
    free(req);
    char *body;
    if (status == 200 && s->body_size) {
        body = malloc(s->body_size + 1);
        memset(body, 'x', s->body_size);
        body[s->body_size] = '\0';
    } else {
        body = strdup(status == 200 ? "{\"ok\":true}" : "{\"error\":\"scripted\"}");
    }
    char head[512], extra[200] = "";
    if (status == 429)
        snprintf(extra, sizeof extra, "Retry-After: 0\r\n");
    else if (status / 100 == 3)
        snprintf(extra, sizeof extra, "Location: %s\r\n", s->location);
    char length[64] = "";
    if (!(status == 200 && s->no_length))
        snprintf(length, sizeof length, "Content-Length: %zu\r\n", strlen(body));
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d Scripted\r\nContent-Type: application/json\r\n"
                      "%s%s%s\r\n",
                      status, length, s->keep_alive ? "" : "Connection: close\r\n", extra);
    send(cfd, head, (size_t)hl, MSG_NOSIGNAL);
    send(cfd, body, strlen(body), MSG_NOSIGNAL);
    free(body);
    return 0;
}

static void *srv_main(void *arg)
{
    srv_t *s = arg;
    while (!s->stop) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int cfd = accept(s->fd, NULL, NULL);
        if (cfd < 0)
            continue;
        pthread_mutex_lock(&s->mu);
        s->accepted++;
        pthread_mutex_unlock(&s->mu);
        while (serve_one(s, cfd) == 0 && s->keep_alive && !s->stop)
            ;
        close(cfd);
    }
    return NULL;
}

static void srv_start(srv_t *s, const int *script, int n)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->script = script;
    s->nscript = n;
    s->fd = listen_any(&s->port);
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(srv_t *s)
{
    s->stop = 1;
    pthread_join(s->th, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->mu);
}

static void url_of(char *out, size_t outsz, int port, const char *path)
{
    snprintf(out, outsz, "http://127.0.0.1:%d%s", port, path);
}

static const ferry_http_retry_policy_t fast = {5, 5, 20, 100};

/* ---- tests ------------------------------------------------------------------------------ */

static void test_post_json_retries_until_ok(void **state)
{
    static const int script[] = {503, 429, 200};
    srv_t s;
    srv_start(&s, script, 3);
    char url[128];
    url_of(url, sizeof url, s.port, "/api/v1/dags/d/dagRuns");
    ferry_http_request_t o = {0};
    o.basic_user = "user";
    o.basic_password = "pw";
    o.timeout_ms = 5000;
    static const char *const extra[] = {"X-Trace: 7", NULL};
    o.headers = extra;
    ferry_http_response_t resp;
    ferry_err_t err;
    const char *body = "{\"dag_run_id\":\"r-1\",\"conf\":{\"k\":\"\xea\xb0\x80\"}}";
    assert_int_equal(ferry_http_post_json(url, body, &o, &fast, &resp, &err), FERRY_OK);
    assert_int_equal(resp.outcome, FERRY_HTTP_RESPONSE);
    assert_int_equal(resp.status, 200);
    assert_string_equal(ferry_buf_cstr(&resp.body), "{\"ok\":true}");
    assert_int_equal(s.served, 3);
    assert_non_null(strstr(s.last, "POST /api/v1/dags/d/dagRuns HTTP/1.1"));
    assert_non_null(strstr(s.last, "Authorization: Basic dXNlcjpwdw==")); /* user:pw */
    assert_non_null(strstr(s.last, "Content-Type: application/json"));
    assert_non_null(strstr(s.last, "Accept: application/json"));
    assert_non_null(strstr(s.last, "X-Trace: 7"));
    assert_non_null(strstr(s.last, body));
    ferry_http_response_free(&resp);
    srv_stop(&s);
}

static void test_large_post_does_not_wait_for_100_continue(void **state)
{
    static const int script[] = {200};
    srv_t s;
    srv_start(&s, script, 1);
    char url[128];
    url_of(url, sizeof url, s.port, "/big");
    /* libcurl adds Expect: 100-continue to POST bodies over 1 MiB */
    size_t len = (size_t)1 << 21;
    char *body = malloc(len + 1);
    memset(body, 'a', len);
    body[0] = '"';
    body[len - 1] = '"';
    body[len] = '\0';
    ferry_http_response_t resp;
    ferry_err_t err;
    assert_int_equal(ferry_http_post_json(url, body, NULL, &fast, &resp, &err), FERRY_OK);
    assert_int_equal(resp.status, 200);
    assert_true(resp.elapsed_ms < 800); /* an unanswered Expect: 100-continue costs 1 s */
    assert_null(strstr(s.last, "100-continue"));
    assert_true(s.last_len > len); /* headers + the whole body arrived */
    ferry_http_response_free(&resp);
    free(body);
    srv_stop(&s);
}

static void test_conflict_is_final(void **state)
{
    static const int script[] = {409};
    srv_t s;
    srv_start(&s, script, 1);
    char url[128];
    url_of(url, sizeof url, s.port, "/hook");
    ferry_http_request_t o = {0};
    o.bearer_token = "tok-123";
    ferry_http_response_t resp;
    ferry_err_t err;
    assert_int_equal(ferry_http_post_json(url, "{}", &o, &fast, &resp, &err), FERRY_OK);
    assert_int_equal(resp.status, 409);
    assert_int_equal(s.served, 1);
    assert_non_null(strstr(s.last, "Authorization: Bearer tok-123"));
    ferry_http_response_free(&resp);
    srv_stop(&s);
}

static void test_retries_run_out(void **state)
{
    static const int script[] = {500};
    srv_t s;
    srv_start(&s, script, 1);
    char url[128];
    url_of(url, sizeof url, s.port, "/x?api_key=SECRETKEY");
    ferry_http_request_t req = {0};
    req.url = url;
    ferry_http_retry_policy_t p = {2, 1, 5, 10};
    ferry_http_response_t resp;
    ferry_err_t err;
    int attempts = 0;
    assert_int_equal(ferry_http_request_retry(&req, &p, &resp, &attempts, &err), FERRY_RETRY);
    assert_int_equal(attempts, 3);
    assert_int_equal(s.served, 3);
    assert_int_equal(resp.status, 500);
    assert_non_null(strstr(err.msg, "HTTP 500"));
    assert_null(strstr(err.msg, "SECRETKEY")); /* the key never reaches a message */
    assert_non_null(strstr(s.last, "GET /x?api_key=SECRETKEY"));
    ferry_http_response_free(&resp);
    srv_stop(&s);
}

static void test_connection_refused_and_bad_urls(void **state)
{
    int port;
    int fd = listen_any(&port);
    close(fd); /* nobody listens there now */
    char url[128];
    url_of(url, sizeof url, port, "/");
    ferry_http_response_t resp;
    ferry_err_t err;
    ferry_http_retry_policy_t p = {1, 1, 2, 10};
    assert_int_equal(ferry_http_post_json(url, "{}", NULL, &p, &resp, &err), FERRY_RETRY);
    assert_int_equal(resp.outcome, FERRY_HTTP_CONNECT);
    assert_true(ferry_http_retriable(&resp));
    ferry_http_response_free(&resp);

    ferry_http_request_t req = {0};
    req.url = "ftp://127.0.0.1/x";
    assert_int_equal(ferry_http_perform(&req, &resp, &err), FERRY_FATAL);
    ferry_http_response_free(&resp);
    req.url = "not a url at all?api_key=SECRET";
    assert_int_equal(ferry_http_perform(&req, &resp, &err), FERRY_FATAL);
    assert_null(strstr(err.msg, "SECRET"));
    ferry_http_response_free(&resp);
}

static void test_timeout_and_body_limit(void **state)
{
    /* A socket that listens but never answers: the request times out. */
    int port;
    int fd = listen_any(&port);
    char url[128];
    url_of(url, sizeof url, port, "/slow");
    ferry_http_request_t req = {0};
    req.url = url;
    req.timeout_ms = 200;
    ferry_http_response_t resp;
    ferry_err_t err;
    assert_int_equal(ferry_http_perform(&req, &resp, &err), FERRY_OK);
    assert_int_equal(resp.outcome, FERRY_HTTP_TIMEOUT);
    assert_true(resp.elapsed_ms >= 150);
    ferry_http_response_free(&resp);
    close(fd);

    static const int script[] = {200};
    srv_t s;
    srv_start(&s, script, 1);
    s.body_size = 100000;
    url_of(url, sizeof url, s.port, "/big");
    req.url = url;
    req.timeout_ms = 5000;
    req.max_body = 1000;
    /* announced larger (Content-Length): refused before the body is read */
    assert_int_equal(ferry_http_perform(&req, &resp, &err), FERRY_OK);
    assert_int_equal(resp.outcome, FERRY_HTTP_LIMIT);
    assert_true(resp.too_large);
    assert_false(ferry_http_retriable(&resp));
    assert_int_equal(resp.content_length, 100000);
    assert_non_null(strstr(resp.error, "larger than 1000 bytes (Content-Length: 100000)"));
    assert_true(resp.body.len <= 1000);
    ferry_http_response_free(&resp);
    /* not announced: read up to the limit, then no further */
    s.no_length = 1;
    assert_int_equal(ferry_http_perform(&req, &resp, &err), FERRY_OK);
    assert_int_equal(resp.outcome, FERRY_HTTP_LIMIT);
    assert_true(resp.too_large);
    assert_int_equal(resp.body.len, 1000);
    assert_non_null(strstr(resp.error, "larger than 1000 bytes; not read further"));
    ferry_http_response_free(&resp);
    s.no_length = 0;
    req.max_body = 0;
    assert_int_equal(ferry_http_perform(&req, &resp, &err), FERRY_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body.len, 100000);
    ferry_http_response_free(&resp);
    srv_stop(&s);
}

static void test_cut_body(void **state)
{
    static const int script[] = {200};
    srv_t s;
    srv_start(&s, script, 1);
    s.body_size = 100000;
    char url[128];
    url_of(url, sizeof url, s.port, "/big");
    ferry_http_request_t req = {0};
    req.url = url;
    req.max_body = 1000;
    req.cut_body = 1;
    ferry_http_response_t resp;
    ferry_err_t err;
    /* announced (Content-Length) and not: the first 1000 bytes kept, the response counts */
    for (int no_length = 0; no_length < 2; no_length++) {
        s.no_length = no_length;
        assert_int_equal(ferry_http_perform(&req, &resp, &err), FERRY_OK);
        assert_int_equal(resp.outcome, FERRY_HTTP_RESPONSE);
        assert_int_equal(resp.status, 200);
        assert_true(resp.too_large);
        assert_int_equal(resp.body.len, 1000);
        ferry_http_response_free(&resp);
    }
    srv_stop(&s);
}

static void test_client_keeps_its_connection(void **state)
{
    static const int script[] = {503, 200};
    srv_t s;
    srv_start(&s, script, 2);
    s.keep_alive = 1;
    char url[128];
    url_of(url, sizeof url, s.port, "/hook");
    const char *headers[] = {"Idempotency-Key: k-1", NULL};
    ferry_http_request_t req = {0};
    req.url = url;
    req.method = "POST";
    req.body = "{}";
    req.body_len = 2;
    req.headers = headers;
    req.no_compression = 1;
    req.max_redirects = -1;
    ferry_err_t err;
    ferry_http_client_t *c = ferry_http_client_new(&err);
    assert_non_null(c);
    for (int i = 0; i < 3; i++) {
        ferry_http_response_t resp;
        assert_int_equal(ferry_http_client_perform(c, &req, &resp, &err), FERRY_OK);
        assert_int_equal(resp.outcome, FERRY_HTTP_RESPONSE);
        assert_int_equal(resp.status, i == 0 ? 503 : 200);
        ferry_http_response_free(&resp);
    }
    pthread_mutex_lock(&s.mu);
    assert_int_equal(s.served, 3);
    assert_int_equal(s.accepted, 1); /* one connection for the three */
    assert_non_null(strstr(s.last, "Idempotency-Key: k-1\r\n"));
    assert_non_null(strstr(s.last, "Content-Type: application/json\r\n"));
    assert_null(find_nocase(s.last, "Accept-Encoding:"));
    pthread_mutex_unlock(&s.mu);
    /* a bad URL on the client: refused before any request, the client still usable */
    ferry_http_response_t resp;
    req.url = "ftp://127.0.0.1/x";
    assert_int_equal(ferry_http_client_perform(c, &req, &resp, &err), FERRY_FATAL);
    ferry_http_response_free(&resp);
    req.url = url;
    assert_int_equal(ferry_http_client_perform(c, &req, &resp, &err), FERRY_OK);
    assert_int_equal(resp.status, 200);
    ferry_http_response_free(&resp);
    ferry_http_client_destroy(c);
    srv_stop(&s);
}

static void test_url_target(void **state)
{
    char out[256];
    ferry_http_url_target("http://u:pw@airflow:8080/api/v1/dags/d/dagRuns?token=x#f", out,
                          sizeof out);
    assert_string_equal(out, "http://airflow:8080/api/v1/dags/d/dagRuns");
    ferry_http_url_target("https://hooks.example/retrain", out, sizeof out);
    assert_string_equal(out, "https://hooks.example/retrain");
    ferry_http_url_target("http://a@b@host?q", out, sizeof out);
    assert_string_equal(out, "http://host");
    ferry_http_url_target("http://host/path", out, 8);
    assert_string_equal(out, "http://");
}

static void test_redirects(void **state)
{
    /* 301, 302, 307 and 308 are followed (to the Location, here the same server) */
    static const int script[] = {301, 302, 307, 308, 200};
    srv_t s;
    srv_start(&s, script, 5);
    snprintf(s.location, sizeof s.location, "http://127.0.0.1:%d/moved", s.port);
    char url[128];
    url_of(url, sizeof url, s.port, "/first");
    ferry_http_request_t req = {0};
    req.url = url;
    req.timeout_ms = 5000;
    ferry_http_response_t resp;
    ferry_err_t err;
    assert_int_equal(ferry_http_perform(&req, &resp, &err), FERRY_OK);
    assert_int_equal(resp.outcome, FERRY_HTTP_RESPONSE);
    assert_int_equal(resp.status, 200);
    assert_string_equal(ferry_buf_cstr(&resp.body), "{\"ok\":true}");
    assert_int_equal(s.served, 5);
    assert_non_null(strstr(s.last, "GET /moved "));
    ferry_http_response_free(&resp);
    srv_stop(&s);

    /* a redirect loop ends at the limit, not retried */
    static const int loop[] = {302};
    srv_start(&s, loop, 1);
    snprintf(s.location, sizeof s.location, "http://127.0.0.1:%d/again", s.port);
    url_of(url, sizeof url, s.port, "/loop");
    req.url = url;
    req.max_redirects = 3;
    int attempts = 0;
    assert_int_equal(ferry_http_request_retry(&req, NULL, &resp, &attempts, &err), FERRY_OK);
    assert_int_equal(resp.outcome, FERRY_HTTP_LIMIT);
    assert_false(resp.too_large);
    assert_string_equal(resp.error, "more than 3 redirects");
    assert_int_equal(attempts, 1);
    assert_int_equal(s.served, 4);
    ferry_http_response_free(&resp);
    /* and none are followed when asked so */
    req.max_redirects = -1;
    assert_int_equal(ferry_http_perform(&req, &resp, &err), FERRY_OK);
    assert_int_equal(resp.outcome, FERRY_HTTP_RESPONSE);
    assert_int_equal(resp.status, 302);
    ferry_http_response_free(&resp);
    srv_stop(&s);
}

typedef struct counts {
    int done[16];
    int ok, cancelled, other;
} counts_t;

static void on_done(ferry_http_response_t *r, void *user, void *opaque)
{
    counts_t *c = opaque;
    c->done[(intptr_t)user]++;
    if (r->outcome == FERRY_HTTP_RESPONSE && r->status == 200)
        c->ok++;
    else if (r->outcome == FERRY_HTTP_CANCELLED)
        c->cancelled++;
    else
        c->other++;
}

static void test_multi(void **state)
{
    static const int script[] = {200};
    srv_t s;
    srv_start(&s, script, 1);
    ferry_err_t err;
    ferry_http_multi_t *m = ferry_http_multi_new(4, &err);
    assert_non_null(m);
    counts_t c;
    memset(&c, 0, sizeof c);
    char url[128];
    for (intptr_t i = 0; i < 10; i++) {
        char path[32];
        snprintf(path, sizeof path, "/item/%d", (int)i);
        url_of(url, sizeof url, s.port, path);
        ferry_http_request_t req = {0};
        req.url = url;
        req.timeout_ms = 5000;
        assert_int_equal(ferry_http_multi_add(m, &req, (void *)i, &err), FERRY_OK);
    }
    assert_int_equal(ferry_http_multi_inflight(m), 10);
    for (int spins = 0; ferry_http_multi_inflight(m) > 0 && spins < 1000; spins++)
        assert_true(ferry_http_multi_run(m, 50, on_done, &c, &err) >= 0);
    assert_int_equal(c.ok, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(c.done[i], 1);
    srv_stop(&s);

    /* Transfers to a server that never answers are cancelled with one callback each. */
    int port;
    int fd = listen_any(&port);
    url_of(url, sizeof url, port, "/never");
    memset(&c, 0, sizeof c);
    for (intptr_t i = 0; i < 3; i++) {
        ferry_http_request_t req = {0};
        req.url = url;
        assert_int_equal(ferry_http_multi_add(m, &req, (void *)i, &err), FERRY_OK);
    }
    assert_int_equal(ferry_http_multi_run(m, 100, on_done, &c, &err), 0);
    ferry_http_multi_cancel_all(m, on_done, &c);
    assert_int_equal(c.cancelled, 3);
    assert_int_equal(ferry_http_multi_inflight(m), 0);
    /* and destroy cancels what is left without callbacks */
    ferry_http_request_t req = {0};
    req.url = url;
    assert_int_equal(ferry_http_multi_add(m, &req, NULL, &err), FERRY_OK);
    ferry_http_multi_destroy(m);
    close(fd);
}

int main(void)
{
    ferry_http_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_json_retries_until_ok),
        cmocka_unit_test(test_large_post_does_not_wait_for_100_continue),
        cmocka_unit_test(test_conflict_is_final),
        cmocka_unit_test(test_retries_run_out),
        cmocka_unit_test(test_connection_refused_and_bad_urls),
        cmocka_unit_test(test_timeout_and_body_limit),
        cmocka_unit_test(test_cut_body),
        cmocka_unit_test(test_client_keeps_its_connection),
        cmocka_unit_test(test_url_target),
        cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_multi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
