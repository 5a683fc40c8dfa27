/* sim.h - the deterministic ship telemetry simulator behind `ferry telemetry --source sim`.
 *
 * Ships are named IMO9300001, IMO9300002, ...; each has `channels` channels with
 * realistic names (main_engine.rpm, nav.status, bilge.alarm, ...) and a fixed value type
 * per channel (mostly doubles; counters are longs, alarms booleans, statuses strings).
 * The value of (ship, channel, tick) depends only on the seed and those three, so two runs
 * with the same settings produce the same readings. Readings come tick by tick, ship by
 * ship, channel by channel: all channels of one ship at one tick share a timestamp. */
#ifndef FERRY_SIM_H
#define FERRY_SIM_H

#include <stdint.h>

#include "ferry/telemetry.h"

typedef struct sim_conf {
    int ships;
    int channels; /* per ship */
    uint64_t seed;
    int64_t start_us; /* timestamp of tick 0 */
    int64_t step_us;  /* time between ticks */
    int realtime;     /* timestamps from the wall clock at each tick instead of start+step */
    int ship_offset;  /* first ship number - 1 (to simulate disjoint fleets) */
} sim_conf_t;

typedef struct sim {
    sim_conf_t conf;
    int64_t tick;
    int ship, channel;
    int64_t tick_ts;
    char ship_buf[32];
    char chan_buf[96];
    char str_buf[64];
} sim_t;

void sim_init(sim_t *s, const sim_conf_t *conf);
/* Fills *r with the next reading (strings point into *s, valid until the next call). */
void sim_next(sim_t *s, ferry_reading_t *r);
/* The name and value type of channel `c` (0-based) of any ship. */
const char *sim_channel_name(int c, char *buf, size_t bufsz, ferry_value_type *type,
                             const char **unit);

#endif
