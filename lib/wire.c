/* wire.c - the producers' framing (see include/ferry/wire.h). */
#include "ferry/wire.h"

#include <stdio.h>
#include <string.h>

#include "ferry/lifecycle.h"
#include "ferry/log.h"

int ferry_wire_setup(const ferry_opts_t *o, const ferry_schema_t *schema, const char *topic,
                     ferry_wire_t *w, ferry_err_t *err)
{
    memset(w, 0, sizeof *w);
    ferry_err_t rerr;
    ferry_registry_t *reg = ferry_registry_from_opts(o, &rerr);
    if (!reg && rerr.status != FERRY_OK) {
        if (err)
            *err = rerr;
        return rerr.status;
    }
    /* Every consumer of ferry's topics reads both framings: registry by default when a
     * registry is configured. */
    const char *f = ferry_opts_str(o, "wire-format");
    if (!f)
        f = reg ? "registry" : "single-object";
    int rc = FERRY_OK;
    if (!strcmp(f, "registry")) {
        if (!reg) {
            rc = ferry_err_set(err, FERRY_USAGE, "--wire-format registry needs --schema-registry");
        } else {
            char subject[300];
            snprintf(subject, sizeof subject, "%s-value", topic);
            rc = ferry_registry_register(reg, subject, ferry_schema_json(schema), &w->schema_id,
                                         err);
            if (rc == FERRY_OK) {
                w->registry = 1;
                ferry_info("schema %s registered under %s at %s: id %u",
                           ferry_schema_fullname(schema), subject, ferry_registry_url(reg),
                           (unsigned)w->schema_id);
            }
        }
    } else if (strcmp(f, "single-object") != 0) {
        rc = ferry_err_set(err, FERRY_USAGE, "--wire-format must be single-object or registry");
    }
    ferry_registry_free(reg);
    return rc;
}

int ferry_wire_setup_wait(const ferry_opts_t *o, const ferry_schema_t *schema, const char *topic,
                          ferry_wire_t *w, ferry_err_t *err)
{
    int rc;
    unsigned tries = 0;
    while ((rc = ferry_wire_setup(o, schema, topic, w, err)) == FERRY_RETRY &&
           ferry_lifecycle_running()) {
        if (tries++ % 10 == 0)
            ferry_warn("%s; waiting for the schema registry", err ? err->msg : "registry away");
        ferry_lifecycle_sleep_ms(2000);
    }
    return rc;
}

void ferry_wire_frame(const ferry_wire_t *w, ferry_buf_t *b, size_t mark)
{
    if (!w->registry || b->len < mark + FERRY_AVRO_HEADER_LEN)
        return;
    unsigned char *p = b->data + mark;
    size_t body = b->len - mark - FERRY_AVRO_HEADER_LEN;
    memmove(p + 5, p + FERRY_AVRO_HEADER_LEN, body);
    p[0] = 0x00;
    p[1] = (unsigned char)(w->schema_id >> 24);
    p[2] = (unsigned char)(w->schema_id >> 16);
    p[3] = (unsigned char)(w->schema_id >> 8);
    p[4] = (unsigned char)w->schema_id;
    b->len = mark + 5 + body;
}
