/* test_registry.c - the Schema Registry client (include/ferry/registry.h) and the decoder's
 * registry path against the real registry of the stack (FERRY_SCHEMA_REGISTRY, Apicurio's
 * Confluent API; compatibility BACKWARD as scripts/stack sets it): register, the same id for
 * the same schema, fetch by id, an unknown id is poison, an incompatible schema is fatal with
 * the registry's words, a registry nobody listens on is retriable (quickly), one that never
 * answers is retriable after the request timeout, a record in registry framing of an
 * evolved schema decodes through the decoder, and basic auth (against a local server that
 * checks the header as a registry behind auth does) is sent, and refused credentials are
 * fatal without the password in the message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "it.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "ferry/decoder.h"
#include "ferry/registry.h"

static const char *V1 = "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"it\",\"fields\":["
                        "{\"name\":\"a\",\"type\":\"long\"}]}";
/* BACKWARD-compatible: a field added with a default */
static const char *V2 = "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"it\",\"fields\":["
                        "{\"name\":\"a\",\"type\":\"long\"},"
                        "{\"name\":\"b\",\"type\":\"string\",\"default\":\"x\"}]}";
/* not BACKWARD-compatible with V2: a field added without a default */
static const char *V3 = "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"it\",\"fields\":["
                        "{\"name\":\"a\",\"type\":\"long\"},"
                        "{\"name\":\"b\",\"type\":\"string\",\"default\":\"x\"},"
                        "{\"name\":\"c\",\"type\":\"int\"}]}";

static ferry_registry_t *client(void)
{
    ferry_registry_conf_t c = {it_env("FERRY_SCHEMA_REGISTRY"), NULL, NULL, 0, NULL};
    ferry_err_t err;
    ferry_registry_t *r = ferry_registry_new(&c, &err);
    if (!r)
        fail_msg("%s", err.msg);
    return r;
}

static void test_register_fetch(void **state)
{
    (void)state;
    ferry_registry_t *r = client();
    char subject[200];
    it_unique(subject, sizeof subject, "it.registry");
    strcat(subject, "-value");
    ferry_err_t err;
    uint32_t id1 = 0, id1b = 0, id2 = 0, id3 = 0;
    if (ferry_registry_register(r, subject, V1, &id1, &err) != FERRY_OK)
        fail_msg("register: %s", err.msg);
    assert_int_equal(ferry_registry_register(r, subject, V1, &id1b, &err), FERRY_OK);
    assert_int_equal(id1b, id1); /* registering the same schema again: the same id */
    if (ferry_registry_register(r, subject, V2, &id2, &err) != FERRY_OK)
        fail_msg("register v2: %s", err.msg);
    assert_int_not_equal(id2, id1);
    /* incompatible: fatal, and the message is the registry's */
    assert_int_equal(ferry_registry_register(r, subject, V3, &id3, &err), FERRY_FATAL);
    assert_non_null(strstr(err.msg, "HTTP 409"));
    assert_non_null(strstr(err.msg, "Incompatible")); /* the registry's own words */
    assert_non_null(strstr(err.msg, "c at /fields/2"));

    ferry_buf_t text = FERRY_BUF_INIT;
    if (ferry_registry_fetch(r, id2, &text, &err) != FERRY_OK)
        fail_msg("fetch: %s", err.msg);
    json_t *got = json_loadb((const char *)text.data, text.len, 0, NULL);
    json_t *want = json_loads(V2, 0, NULL);
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);
    /* an id nobody registered: the record that carries it is poison */
    assert_int_equal(ferry_registry_fetch(r, 2000000000u, &text, &err), FERRY_POISON);
    assert_non_null(strstr(err.msg, "unknown to the schema registry"));

    /* the decoder: a V1 record in registry framing read as V2 (b takes its default) */
    ferry_schema_t *reader = NULL;
    assert_int_equal(ferry_schema_parse(V2, strlen(V2), &reader, &err), FERRY_OK);
    ferry_decoder_t *d = ferry_decoder_new(reader, r, 0);
    /* 00, id1 big-endian, a = 21 (zig-zag 42 = 0x2a) */
    unsigned char rec[6] = {0x00,
                            (unsigned char)(id1 >> 24),
                            (unsigned char)(id1 >> 16),
                            (unsigned char)(id1 >> 8),
                            (unsigned char)id1,
                            0x2a};
    avro_value_t v;
    if (ferry_decoder_value(d, rec, sizeof rec, &v, NULL, NULL, &err) != FERRY_OK)
        fail_msg("decode: %s", err.msg);
    avro_value_t f;
    int64_t a = 0;
    const char *b = NULL;
    size_t blen = 0;
    avro_value_get_by_name(&v, "a", &f, NULL);
    avro_value_get_long(&f, &a);
    assert_int_equal(a, 21);
    avro_value_get_by_name(&v, "b", &f, NULL);
    assert_int_equal(ferry_avro_get_string(&f, &b, &blen), FERRY_OK);
    assert_string_equal(b, "x");
    /* an unknown id in a record: poison */
    rec[1] = 0x77;
    assert_int_equal(ferry_decoder_value(d, rec, sizeof rec, &v, NULL, NULL, &err), FERRY_POISON);
    ferry_decoder_free(d);
    ferry_schema_free(reader);
    ferry_buf_free(&text);
    ferry_registry_free(r);
}

/* Nobody listens: retriable, and reported within the timeout, never a dead letter. */
static void test_unreachable_is_retry(void **state)
{
    (void)state;
    ferry_registry_conf_t c = {"http://127.0.0.1:9/apis/ccompat/v7", "user", "s3cret-pw", 1000,
                               NULL};
    ferry_err_t err;
    ferry_registry_t *r = ferry_registry_new(&c, &err);
    assert_non_null(r);
    ferry_buf_t text = FERRY_BUF_INIT;
    int64_t t0 = ferry_clock_mono_ms();
    assert_int_equal(ferry_registry_fetch(r, 1, &text, &err), FERRY_RETRY);
    assert_true(ferry_clock_mono_ms() - t0 < 5000);
    assert_null(strstr(err.msg, "s3cret-pw")); /* the password is never in a message */
    ferry_buf_free(&text);
    ferry_registry_free(r);
    /* the URL must be http(s) */
    ferry_registry_conf_t bad = {"ftp://x", NULL, NULL, 0, NULL};
    assert_null(ferry_registry_new(&bad, &err));
    assert_int_equal(err.status, FERRY_USAGE);
}

/* A registry that takes the connection and never answers (a hung server): retriable, after
 * the request timeout and not much later. */
static void test_slow_is_retry(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0); /* the kernel completes the handshake; nobody reads */
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/apis/ccompat/v7", ntohs(a.sin_port));
    ferry_registry_conf_t c = {url, NULL, NULL, 1000, NULL};
    ferry_err_t err;
    ferry_registry_t *r = ferry_registry_new(&c, &err);
    ferry_buf_t text = FERRY_BUF_INIT;
    int64_t t0 = ferry_clock_mono_ms();
    assert_int_equal(ferry_registry_fetch(r, 1, &text, &err), FERRY_RETRY);
    int64_t took = ferry_clock_mono_ms() - t0;
    assert_true(took >= 900 && took < 4000);
    assert_non_null(strstr(err.msg, "timeout"));
    ferry_buf_free(&text);
    ferry_registry_free(r);
    close(fd);
}

/* A registry behind basic auth, on loopback: answers GET /schemas/ids/7 with V1 when the
 * Authorization header is exactly `Basic dGVhbTpwdy01ZWNyZXQ=` (team:pw-5ecret), else 401 as
 * Confluent's registry does; serves `n` connections (one request each, then close). */
typedef struct auth_server {
    int fd, n;
    char seen[4][512]; /* the Authorization header of each request, "" when absent */
} auth_server_t;

static void *auth_serve(void *arg)
{
    auth_server_t *sv = arg;
    for (int i = 0; i < sv->n; i++) {
        int c = accept(sv->fd, NULL, NULL);
        if (c < 0)
            break;
        char req[4096];
        size_t got = 0;
        ssize_t k;
        while (got < sizeof req - 1 && (k = read(c, req + got, sizeof req - 1 - got)) > 0) {
            got += (size_t)k;
            req[got] = 0;
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        req[got] = 0;
        const char *h = strstr(req, "\r\nAuthorization: ");
        sv->seen[i][0] = 0;
        if (h) {
            h += strlen("\r\nAuthorization: ");
            size_t len = strcspn(h, "\r");
            snprintf(sv->seen[i], sizeof sv->seen[i], "%.*s", (int)len, h);
        }
        char body[512], resp[1024];
        int ok = !strcmp(sv->seen[i], "Basic dGVhbTpwdy01ZWNyZXQ=") &&
                 !strncmp(req, "GET /apis/ccompat/v7/schemas/ids/7 ", 35);
        if (ok) {
            json_t *j = json_pack("{s:s}", "schema", V1);
            char *t = json_dumps(j, JSON_COMPACT);
            snprintf(body, sizeof body, "%s", t);
            free(t);
            json_decref(j);
        } else {
            snprintf(body, sizeof body, "{\"error_code\":401,\"message\":\"Unauthorized\"}");
        }
        int n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 %s\r\nContent-Type: application/vnd.schemaregistry.v1+json"
                         "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         ok ? "200 OK" : "401 Unauthorized", strlen(body), body);
        if (write(c, resp, (size_t)n) != n)
            break;
        close(c);
    }
    return NULL;
}

static void test_basic_auth(void **state)
{
    (void)state;
    auth_server_t sv = {.n = 2};
    sv.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    assert_int_equal(bind(sv.fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(sv.fd, 8), 0);
    assert_int_equal(getsockname(sv.fd, (struct sockaddr *)&a, &alen), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, auth_serve, &sv), 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/apis/ccompat/v7", ntohs(a.sin_port));
    ferry_err_t err;
    ferry_buf_t text = FERRY_BUF_INIT;

    ferry_registry_conf_t good = {url, "team", "pw-5ecret", 2000, NULL};
    ferry_registry_t *r = ferry_registry_new(&good, &err);
    assert_int_equal(ferry_registry_fetch(r, 7, &text, &err), FERRY_OK);
    assert_non_null(strstr(ferry_buf_cstr(&text), "\"name\":\"R\""));
    ferry_registry_free(r);

    ferry_registry_conf_t bad = {url, "team", "wrong-pw-77", 2000, NULL};
    r = ferry_registry_new(&bad, &err);
    assert_int_equal(ferry_registry_fetch(r, 7, &text, &err), FERRY_FATAL);
    assert_non_null(strstr(err.msg, "401"));
    assert_null(strstr(err.msg, "wrong-pw-77"));
    assert_null(strstr(ferry_registry_url(r), "wrong-pw-77"));
    ferry_registry_free(r);

    pthread_join(th, NULL);
    close(sv.fd);
    assert_string_equal(sv.seen[0], "Basic dGVhbTpwdy01ZWNyZXQ=");
    assert_string_equal(sv.seen[1], "Basic dGVhbTp3cm9uZy1wdy03Nw==");
    ferry_buf_free(&text);
}

int main(void)
{
    it_env("FERRY_SCHEMA_REGISTRY");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_fetch),
        cmocka_unit_test(test_unreachable_is_retry),
        cmocka_unit_test(test_slow_is_retry),
        cmocka_unit_test(test_basic_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
