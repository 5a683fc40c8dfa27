/* registry.h - a client of the Confluent Schema Registry REST API (as served by Confluent's
 * registry, by Apicurio Registry under /apis/ccompat/v7, Karapace, Redpanda...), over
 * lib/http.c.
 *
 * Consumers fetch writer schemas by id (GET /schemas/ids/{id}); producers register theirs
 * under a subject (POST /subjects/{subject}/versions, TopicNameStrategy: "<topic>-value").
 * Basic-auth credentials are never logged: messages show the URL through
 * ferry_http_redact_url() and never the password. What each outcome means:
 *   - the registry cannot be reached, times out, answers 5xx or 429: FERRY_RETRY (a
 *     consumer pauses and asks again; it never dead-letters a good record for that);
 *   - GET of an id the registry does not know (404): FERRY_POISON (the record is bad);
 *   - 401/403 and other 4xx: FERRY_FATAL (a configuration to fix);
 *   - POST refused as incompatible (409) or invalid (422): FERRY_FATAL with the registry's
 *     message. */
#ifndef FERRY_REGISTRY_H
#define FERRY_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/buf.h"
#include "ferry/err.h"
#include "ferry/options.h"

/* Option table entries of every command that talks to a registry. */
#define FERRY_OPT_SCHEMA_REGISTRY                                                                  \
    {"schema-registry",                                                                            \
     0,                                                                                            \
     FERRY_OPT_STRING,                                                                             \
     NULL,                                                                                         \
     "URL",                                                                                        \
     "Confluent-compatible Schema Registry base URL, e.g. http://host:8081 or Apicurio's "         \
     "http://host:8080/apis/ccompat/v7",                                                           \
     0},                                                                                           \
        {"schema-registry-user",                                                                   \
         0,                                                                                        \
         FERRY_OPT_STRING,                                                                         \
         NULL,                                                                                     \
         "USER",                                                                                   \
         "Schema Registry basic-auth user",                                                        \
         0},                                                                                       \
        {"schema-registry-ca-file",                                                                \
         0,                                                                                        \
         FERRY_OPT_STRING,                                                                         \
         NULL,                                                                                     \
         "FILE",                                                                                   \
         "PEM CA bundle to verify an https:// Schema Registry with (default: the system's)",       \
         0},                                                                                       \
    {                                                                                              \
        "schema-registry-password", 0, FERRY_OPT_STRING, NULL, "PASSWORD",                         \
            "Schema Registry basic-auth password (secret: prefer "                                 \
            "--schema-registry-password-file)",                                                    \
            FERRY_OPTF_SECRET                                                                      \
    }

typedef struct ferry_registry ferry_registry_t;

typedef struct ferry_registry_conf {
    const char *url;      /* base URL, a trailing '/' is ignored */
    const char *user;     /* basic auth when set */
    const char *password; /* with user */
    int64_t timeout_ms;   /* per request; 0: 5 s */
    const char *ca_file;  /* PEM CA bundle for an https registry; NULL: the system's */
} ferry_registry_conf_t;

/* Creates a client (nothing is sent yet; the conf's strings are copied). NULL with FERRY_USAGE
 * when the URL is not http(s). The caller frees it with ferry_registry_free. */
ferry_registry_t *ferry_registry_new(const ferry_registry_conf_t *conf, ferry_err_t *err);
/* From the FERRY_OPT_SCHEMA_REGISTRY options: NULL without an error (err status FERRY_OK)
 * when --schema-registry is not set. The caller frees it with ferry_registry_free. */
ferry_registry_t *ferry_registry_from_opts(const ferry_opts_t *o, ferry_err_t *err);
void ferry_registry_free(ferry_registry_t *r);

/* The URL as it may be shown (credentials masked). */
const char *ferry_registry_url(const ferry_registry_t *r);

/* Fetches the schema text of `id` into *schema_json (reset first). FERRY_OK; FERRY_POISON for
 * an unknown id or a schema that is not Avro; FERRY_RETRY; FERRY_FATAL (see above). One
 * request, no retries: the caller decides when to ask again. */
int ferry_registry_fetch(ferry_registry_t *r, uint32_t id, ferry_buf_t *schema_json,
                         ferry_err_t *err);

/* Registers `schema_json` (Avro) under `subject` and stores its id in *id (the same id when
 * it is registered already). Retries connection failures and 5xx a few times with backoff;
 * FERRY_OK, FERRY_RETRY when the registry stayed unreachable, FERRY_FATAL for 409/422/4xx
 * with the registry's message. */
int ferry_registry_register(ferry_registry_t *r, const char *subject, const char *schema_json,
                            uint32_t *id, ferry_err_t *err);

#endif
