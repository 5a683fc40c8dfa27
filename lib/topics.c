/* topics.c - topic names as Kafka takes them (see include/ferry/topics.h). */
#include "ferry/topics.h"

#include <stdio.h>
#include <string.h>

int ferry_topic_name_check(const char *name, int with_dlq, char *why, size_t whysz)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0) {
        snprintf(why, whysz, "a topic name cannot be empty");
        return -1;
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        snprintf(why, whysz, "'.' and '..' are not topic names");
        return -1;
    }
    size_t bad = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
    if (bad < len) {
        snprintf(why, whysz,
                 "character %zu (byte 0x%02x) is not allowed: a topic name is ASCII letters, "
                 "digits, '.', '_' and '-'",
                 bad + 1, (unsigned char)name[bad]);
        return -1;
    }
    size_t max = FERRY_TOPIC_NAME_MAX - (with_dlq ? 4 : 0);
    if (len > max) {
        if (with_dlq && len <= FERRY_TOPIC_NAME_MAX)
            snprintf(why, whysz,
                     "%zu characters: its dead-letter topic (the name + \".dlq\") would pass "
                     "Kafka's %d, so at most %zu",
                     len, FERRY_TOPIC_NAME_MAX, max);
        else
            snprintf(why, whysz, "%zu characters, Kafka takes at most %d", len,
                     FERRY_TOPIC_NAME_MAX);
        return -1;
    }
    return 0;
}
