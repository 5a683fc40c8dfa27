/* it.h - helpers shared by the C integration tests. They run against the real stack
 * (scripts/stack up; eval "$(scripts/stack env)"): FERRY_BROKERS and FERRY_PG_URL must be
 * set, and a missing service FAILS the test, it never skips it. */
#ifndef FERRY_IT_H
#define FERRY_IT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/lifecycle.h"
#include "ferry/options.h"

static inline const char *it_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr,
                "FAIL: %s is not set. Integration tests need the real stack:\n"
                "  scripts/stack up && eval \"$(scripts/stack env)\"\n",
                name);
        exit(1);
    }
    return v;
}

/* A name unique to this run, so tests never see each other's data. */
static inline void it_unique(char *out, size_t outsz, const char *prefix)
{
    snprintf(out, outsz, "%s.%d.%lld", prefix, (int)getpid(),
             (long long)(ferry_clock_now_us() % 100000000000LL));
}

/* Options with --brokers from FERRY_BROKERS (and --pg from FERRY_PG_URL). */
static const ferry_opt_t it_opt_table[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_PG,
    FERRY_OPT_END,
};

static inline ferry_opts_t *it_opts(void)
{
    ferry_opts_t *o = ferry_opts_new("it", "", "", it_opt_table);
    char b[512], p[1024];
    snprintf(b, sizeof b, "--brokers=%s", it_env("FERRY_BROKERS"));
    snprintf(p, sizeof p, "--pg=%s", it_env("FERRY_PG_URL"));
    char *argv[] = {"it", b, p, "--log-level=warn", NULL};
    ferry_err_t err;
    if (ferry_opts_parse(o, 4, argv, &err) != FERRY_OK) {
        fprintf(stderr, "FAIL: options: %s\n", err.msg);
        exit(1);
    }
    return o;
}

#endif
