/* kafka_headers.c - message headers for ferry_producer_send (see include/ferry/kafka.h). */
#include "ferry/kafka.h"

rd_kafka_headers_t *ferry_kafka_headers_new(const char *const *pairs)
{
    size_t n = 0;
    while (pairs && pairs[2 * n] && pairs[2 * n + 1])
        n++;
    rd_kafka_headers_t *h = rd_kafka_headers_new(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        rd_kafka_header_add(h, pairs[2 * i], -1, pairs[2 * i + 1], -1);
    return h;
}
