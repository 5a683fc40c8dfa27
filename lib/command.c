/* command.c - the prologue every command shares (see include/ferry/command.h). */
#include "ferry/command.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ferry/log.h"

int ferry_cmd_begin(ferry_cmd_t *c, ferry_opts_t *o, int argc, char **argv)
{
    memset(c, 0, sizeof *c);
    c->name = argv[0];
    if (!o)
        return FERRY_EXIT_FAILED;
    int rc;
    if (!ferry_opts_parse_or_exit_code(o, argc, argv, &rc)) {
        ferry_opts_destroy(o);
        return rc;
    }
    c->o = o;
    return -1;
}

int ferry_cmd_connect(ferry_cmd_t *c, const char *app, const ferry_pg_retry_t *retry)
{
    const char *conninfo = ferry_opts_str(c->o, "pg");
    if (!conninfo || !*conninfo)
        return ferry_cmd_usage(c, "--pg is required (or FERRY_PG_URL)");
    ferry_err_t err;
    c->pg = ferry_pg_connect(conninfo, app, retry, &err);
    if (!c->pg) {
        ferry_error("%s", err.msg);
        return err.status == FERRY_USAGE ? FERRY_EXIT_USAGE : FERRY_EXIT_UNAVAILABLE;
    }
    return -1;
}

int ferry_cmd_usage(const ferry_cmd_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", c->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return FERRY_EXIT_USAGE;
}

int ferry_cmd_fail(const ferry_err_t *err)
{
    ferry_error("%s", err->msg);
    return ferry_cmd_exit_for(err->status);
}

int ferry_cmd_end(ferry_cmd_t *c, int rc)
{
    ferry_pg_close(c->pg);
    ferry_opts_destroy(c->o);
    c->pg = NULL;
    c->o = NULL;
    return rc;
}
