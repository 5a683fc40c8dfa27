/* until.c - the --until-idle rule of group workers (see include/ferry/until.h). */
#include "ferry/until.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"

#include <string.h>

void ferry_until_idle_init(ferry_until_idle_t *u, const ferry_opts_t *o, const char *group,
                           const char *topic)
{
    memset(u, 0, sizeof *u);
    u->idle_ms = ferry_opts_is_set(o, "until-idle") ? ferry_opts_duration_ms(o, "until-idle") : -1;
    u->since = -1;
    u->o = o;
    u->group = group;
    u->topic = topic;
}

int ferry_until_idle_done(ferry_until_idle_t *u, ferry_consumer_t *c, int busy)
{
    if (busy) {
        u->since = -1;
        return 0;
    }
    if (u->idle_ms < 0 || !ferry_consumer_caught_up(c))
        return 0;
    if (u->since < 0) {
        u->since = ferry_clock_mono_ms();
        return 0;
    }
    if (ferry_clock_mono_ms() - u->since < u->idle_ms)
        return 0;
    int64_t lag = -1;
    ferry_err_t err;
    if (!u->groups)
        u->groups = ferry_groups_new(u->o, 10000, &err);
    if (u->groups && ferry_groups_lag(u->groups, u->group, u->topic, &lag, &err) == FERRY_OK &&
        lag == 0) {
        ferry_info("group caught up for %lld ms: exiting", (long long)u->idle_ms);
        return 1;
    }
    ferry_debug("idle, but the group's lag is %lld: staying", (long long)lag);
    u->since = ferry_clock_mono_ms();
    return 0;
}

void ferry_until_idle_free(ferry_until_idle_t *u)
{
    ferry_groups_destroy(u->groups);
    u->groups = NULL;
}
