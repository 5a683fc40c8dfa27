/* err.c - error values (see include/ferry/err.h). */
#include "ferry/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

ferry_status ferry_err_set(ferry_err_t *err, ferry_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->status = status;
        err->sqlstate[0] = '\0';
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

void ferry_err_clear(ferry_err_t *err)
{
    if (err) {
        err->status = FERRY_OK;
        err->sqlstate[0] = '\0';
        err->msg[0] = '\0';
    }
}

const char *ferry_status_name(ferry_status status)
{
    switch (status) {
    case FERRY_OK:
        return "ok";
    case FERRY_RETRY:
        return "retry";
    case FERRY_POISON:
        return "poison";
    case FERRY_FATAL:
        return "fatal";
    case FERRY_USAGE:
        return "usage";
    }
    return "unknown";
}
