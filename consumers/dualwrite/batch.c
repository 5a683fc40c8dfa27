/* batch.c - the batch in hand of a dualwrite worker: records polled, decoded (any framing; a
 * registry that is down is waited for), checked and coerced for the narrow table, or
 * dead-lettered (see dualwrite.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dualwrite.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"

/* ---- dead letters --------------------------------------------------------------------- */

void dw_dead_letter(dw_worker_t *w, const rd_kafka_message_t *m, const char *reason,
                    const char *msg)
{
    ferry_err_t err;
    /* queued with a copy: ferry_dlq_sync delivers it (again, if need be) before the offsets */
    ferry_dlq_put(w->dlq, m, FERRY_POISON, reason, msg, &err);
    w->dead++;
    w->dlq_pending = 1;
    ferry_debug("dead-lettered %s[%d]@%lld: %s: %s", rd_kafka_topic_name(m->rkt), m->partition,
                (long long)m->offset, reason, msg);
}

/* ---- batch ---------------------------------------------------------------------------- */

void dw_batch_add(dw_worker_t *w, rd_kafka_message_t *m)
{
    if (w->nmsgs == w->capmsgs) {
        w->capmsgs = w->capmsgs ? w->capmsgs * 2 : 1024;
        w->msgs = ferry_xrealloc(w->msgs, (size_t)w->capmsgs, sizeof *w->msgs);
    }
    if (w->nmsgs == 0)
        w->batch_started = ferry_clock_mono_ms();
    if (!w->first_msg_ms)
        w->first_msg_ms = ferry_clock_mono_ms();
    w->msgs[w->nmsgs++] = m;
    w->consumed++;

    ferry_reading_t r;
    ferry_err_t err;
    char *wire = NULL;
    ferry_framing framing;
    int st;
    int64_t backoff = 250;
    /* A registry that is down or slow: wait for it with the record in hand (never dead-letter
     * a good record for that); a stop first leaves the record uncommitted for a replay. */
    while ((st = ferry_decoder_reading(w->dec, m->payload, m->len, &r, &wire, &framing, &err)) ==
               FERRY_RETRY &&
           ferry_lifecycle_running()) {
        if (w->waits++ % 20 == 0)
            ferry_warn("%s[%d]@%lld: %s; waiting for the schema registry",
                       rd_kafka_topic_name(m->rkt), m->partition, (long long)m->offset, err.msg);
        ferry_lifecycle_sleep_ms(backoff);
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
    }
    if (st == FERRY_RETRY || st == FERRY_FATAL) {
        if (st == FERRY_FATAL) {
            ferry_error("%s; stopping", err.msg);
            w->fatal = 1;
            ferry_lifecycle_request_stop();
        }
        w->nmsgs--; /* neither written nor dead-lettered: its offset must not be committed */
        w->consumed--;
        rd_kafka_message_destroy(m);
        return;
    }
    if (st != FERRY_OK) {
        char msg[1200];
        snprintf(msg, sizeof msg, "%s: %s", ferry_framing_name(framing), err.msg);
        dw_dead_letter(w, m, "undecodable", msg);
        return;
    }
    if (r.ts_us < FERRY_PG_TS_MIN_US) {
        free(wire);
        dw_dead_letter(w, m, "timestamp_out_of_range",
                       "timestamp is before PostgreSQL's range (4713 BC)");
        return;
    }
    char *owned = NULL, why[256];
    const char *reason = NULL;
    if (ferry_narrow_coerce(&w->narrow.t, &r, &owned, &reason, why, sizeof why) != 0) {
        free(owned);
        free(wire);
        dw_dead_letter(w, m, reason, why);
        return;
    }
    if (w->nrecs == w->caprecs) {
        w->caprecs = w->caprecs ? w->caprecs * 2 : 1024;
        w->recs = ferry_xrealloc(w->recs, (size_t)w->caprecs, sizeof *w->recs);
    }
    dw_rec_t *rc = &w->recs[w->nrecs++];
    memset(rc, 0, sizeof *rc);
    rc->r = r;
    rc->owned = owned;
    rc->wire = wire;
    rc->topic = rd_kafka_topic_name(m->rkt);
    rc->partition = m->partition;
    rc->offset = m->offset;
    rc->seq = w->seq++;
    rc->msg = m;
}

void dw_batch_clear(dw_worker_t *w)
{
    for (int i = 0; i < w->nrecs; i++) {
        free(w->recs[i].owned);
        w->recs[i].owned = NULL;
        free(w->recs[i].wire);
        w->recs[i].wire = NULL;
    }
    for (int i = 0; i < w->nmsgs; i++)
        rd_kafka_message_destroy(w->msgs[i]);
    w->nmsgs = 0;
    w->nrecs = 0;
    w->dlq_pending = 0;
}
