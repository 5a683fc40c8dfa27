/* log.c - levels, plain or JSON lines on stderr (see include/ferry/log.h). */
#include "ferry/log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static ferry_log_level g_level = FERRY_LOG_INFO;
static ferry_log_format g_format = FERRY_LOG_PLAIN;
static char g_component[64] = "ferry";
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void ferry_log_init(ferry_log_level level, ferry_log_format format, const char *component)
{
    pthread_mutex_lock(&g_lock);
    g_level = level;
    g_format = format;
    if (component)
        snprintf(g_component, sizeof g_component, "%s", component);
    pthread_mutex_unlock(&g_lock);
}

int ferry_log_level_parse(const char *s, ferry_log_level *out)
{
    for (int i = 0; i <= FERRY_LOG_DEBUG; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (ferry_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = FERRY_LOG_WARN;
        return 0;
    }
    return -1;
}

int ferry_log_format_parse(const char *s, ferry_log_format *out)
{
    if (strcasecmp(s, "plain") == 0 || strcasecmp(s, "text") == 0) {
        *out = FERRY_LOG_PLAIN;
        return 0;
    }
    if (strcasecmp(s, "json") == 0) {
        *out = FERRY_LOG_JSON;
        return 0;
    }
    return -1;
}

ferry_log_level ferry_log_get_level(void)
{
    return g_level;
}

int ferry_log_enabled(ferry_log_level level)
{
    return level <= g_level;
}

__attribute__((format(printf, 3, 0))) static void log_v(ferry_log_level level, const char *src,
                                                        const char *fmt, va_list ap)
{
    if (level > g_level)
        return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

    pthread_mutex_lock(&g_lock);
    if (g_format == FERRY_LOG_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "ts", json_string(when));
        json_object_set_new(o, "level", json_string(level_names[level]));
        json_object_set_new(o, "component", json_string(g_component));
        if (src)
            json_object_set_new(o, "src", json_string(src));
        /* json_stringn tolerates invalid UTF-8 poorly; fall back to a placeholder. */
        json_t *m = json_string(msg);
        json_object_set_new(o, "msg", m ? m : json_string("(message not valid UTF-8)"));
        char *line = json_dumps(o, JSON_COMPACT);
        if (line) {
            fprintf(stderr, "%s\n", line);
            free(line);
        }
        json_decref(o);
    } else if (src) {
        fprintf(stderr, "%s %s %s [%s] %s\n", when, g_component, level_names[level], src, msg);
    } else {
        fprintf(stderr, "%s %s %s %s\n", when, g_component, level_names[level], msg);
    }
    fflush(stderr);
    pthread_mutex_unlock(&g_lock);
}

void ferry_log(ferry_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_v(level, NULL, fmt, ap);
    va_end(ap);
}

void ferry_log_src(ferry_log_level level, const char *src, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_v(level, src, fmt, ap);
    va_end(ap);
}
