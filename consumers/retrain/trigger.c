/* trigger.c - the state header of a RetrainRequested record (see trigger.h). */
#include "trigger.h"

int retrain_message_state(const rd_kafka_message_t *m, char *group, size_t groupsz, char *topic,
                          size_t topicsz, int64_t *seq, retrain_summary_t *window)
{
    rd_kafka_headers_t *hdrs = NULL;
    const void *hv = NULL;
    size_t hlen = 0;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(hdrs, RETRAIN_STATE_HEADER, &hv, &hlen) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    return retrain_state_parse(hv, hlen, group, groupsz, topic, topicsz, seq, window);
}
