/* log.h - the one log module: levels, plain or JSON lines on stderr.
 *
 * librdkafka's log is routed here (see kafka.c). Nothing above FERRY_LOG_DEBUG is
 * logged on a per-message path. Secrets are never passed to the logger. */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

typedef enum ferry_log_level {
    FERRY_LOG_ERROR = 0,
    FERRY_LOG_WARN = 1,
    FERRY_LOG_INFO = 2,
    FERRY_LOG_DEBUG = 3,
} ferry_log_level;

typedef enum ferry_log_format {
    FERRY_LOG_PLAIN = 0,
    FERRY_LOG_JSON = 1,
} ferry_log_format;

/* Sets the process-wide level, format and component name ("ferry dualwrite").
 * `component` is copied. Safe to call again; thread-safe logging afterwards. */
void ferry_log_init(ferry_log_level level, ferry_log_format format, const char *component);

/* Parses "error", "warn", "info", "debug" (case-insensitive). Returns 0 or -1. */
int ferry_log_level_parse(const char *s, ferry_log_level *out);
/* Parses "plain" or "json". Returns 0 or -1. */
int ferry_log_format_parse(const char *s, ferry_log_format *out);

ferry_log_level ferry_log_get_level(void);
int ferry_log_enabled(ferry_log_level level);

/* Writes one line (plain: "2026-11-23T10:00:00.123Z ferry INFO message") or one JSON
 * object per line ({"ts":...,"level":...,"component":...,"msg":...}). */
void ferry_log(ferry_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with the source of the line (e.g. "rdkafka", "libpq") as an extra field. */
void ferry_log_src(ferry_log_level level, const char *src, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ferry_error(...) ferry_log(FERRY_LOG_ERROR, __VA_ARGS__)
#define ferry_warn(...)  ferry_log(FERRY_LOG_WARN, __VA_ARGS__)
#define ferry_info(...)  ferry_log(FERRY_LOG_INFO, __VA_ARGS__)
#define ferry_debug(...)                                                                           \
    do {                                                                                           \
        if (ferry_log_enabled(FERRY_LOG_DEBUG))                                                    \
            ferry_log(FERRY_LOG_DEBUG, __VA_ARGS__);                                               \
    } while (0)

#endif
