/* err.h - error values returned by every ferry core function.
 *
 * No function below main() exits the process. A function that can fail takes a
 * `ferry_err_t *err` (may be NULL), fills it on failure and returns a non-zero
 * ferry_status. The class tells the caller what to do next:
 *   FERRY_RETRY  - transient (connection lost, broker busy): wait and try again;
 *   FERRY_POISON - this record/input is bad: dead-letter it and go on;
 *   FERRY_FATAL  - configuration or programming error: stop cleanly;
 *   FERRY_USAGE  - bad command-line input: print usage, exit 2.
 */
#ifndef FERRY_ERR_H
#define FERRY_ERR_H

#include <stddef.h>

typedef enum ferry_status {
    FERRY_OK = 0,
    FERRY_RETRY = 1,
    FERRY_POISON = 2,
    FERRY_FATAL = 3,
    FERRY_USAGE = 4,
} ferry_status;

typedef struct ferry_err {
    ferry_status status;
    char sqlstate[6]; /* PostgreSQL SQLSTATE when the error came from libpq, else "" */
    char msg[512];
} ferry_err_t;

/* Fills *err (if not NULL) with the status and a printf-formatted message and
 * returns the status, so `return ferry_err_set(err, FERRY_FATAL, "...")` reads well. */
ferry_status ferry_err_set(ferry_err_t *err, ferry_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets *err to FERRY_OK with an empty message. NULL is allowed. */
void ferry_err_clear(ferry_err_t *err);

/* "retry", "poison", "fatal", "usage" or "ok". */
const char *ferry_status_name(ferry_status status);

#endif
