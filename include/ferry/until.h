/* until.h - --until-idle for a group worker. The worker is idle when a poll brought nothing,
 * it holds no unwritten work and its own partitions are at their end; after `--until-idle`
 * of that it asks ferry_groups_lag() and leaves only when the whole group has caught up (a
 * partition may be between owners during a rebalance); otherwise it waits another period. */
#ifndef FERRY_UNTIL_H
#define FERRY_UNTIL_H

#include <stdint.h>

#include "ferry/groups.h"
#include "ferry/kafka.h"
#include "ferry/options.h"

typedef struct ferry_until_idle {
    int64_t idle_ms; /* < 0: no --until-idle, never leave */
    int64_t since;   /* when the idle period began, or -1 */
    const ferry_opts_t *o;
    const char *group, *topic;
    ferry_groups_t *groups; /* admin client, made on first use, owned */
} ferry_until_idle_t;

/* Reads --until-idle from `o` (unset: never idle). `o`, `group` and `topic` are borrowed and
 * must outlive `u`; the admin client `u` makes later is freed by ferry_until_idle_free(). */
void ferry_until_idle_init(ferry_until_idle_t *u, const ferry_opts_t *o, const char *group,
                           const char *topic);
/* Call after every poll: `busy` = a message came or work is held. 1: time to leave. */
int ferry_until_idle_done(ferry_until_idle_t *u, ferry_consumer_t *c, int busy);
/* Frees the admin client (u itself belongs to the caller). */
void ferry_until_idle_free(ferry_until_idle_t *u);

#endif
