/* sim.c - deterministic ship telemetry simulator (see sim.h). */
#include "sim.h"
#include "ferry/lifecycle.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct chan_def {
    const char *name;
    ferry_value_type type;
    const char *unit;
    double base, amp;
} chan_def_t;

/* Channel names as they appear in real vessel data-acquisition exports. */
static const chan_def_t defs[] = {
    {"main_engine.rpm", FERRY_VALUE_DOUBLE, "rpm", 85, 10},
    {"main_engine.load_pct", FERRY_VALUE_DOUBLE, "%", 70, 20},
    {"main_engine.exhaust_temp_c", FERRY_VALUE_DOUBLE, "degC", 340, 25},
    {"main_engine.lube_oil_pressure_bar", FERRY_VALUE_DOUBLE, "bar", 4.2, 0.4},
    {"main_engine.running_hours", FERRY_VALUE_LONG, "h", 41000, 0},
    {"fuel.flow_rate_lph", FERRY_VALUE_DOUBLE, "l/h", 1450, 120},
    {"fuel.tank1_level_m3", FERRY_VALUE_DOUBLE, "m3", 820, 40},
    {"nav.speed_over_ground_kn", FERRY_VALUE_DOUBLE, "kn", 14.5, 2},
    {"nav.heading_deg", FERRY_VALUE_DOUBLE, "deg", 180, 90},
    {"nav.latitude", FERRY_VALUE_DOUBLE, "deg", 35.1, 0.5},
    {"nav.longitude", FERRY_VALUE_DOUBLE, "deg", 129.0, 0.5},
    {"nav.status", FERRY_VALUE_STRING, NULL, 0, 0},
    {"nav.ais_message_count", FERRY_VALUE_LONG, NULL, 100000, 0},
    {"bilge.alarm", FERRY_VALUE_BOOL, NULL, 0, 0},
    {"ballast.pump1_running", FERRY_VALUE_BOOL, NULL, 0, 0},
    {"generator1.power_kw", FERRY_VALUE_DOUBLE, "kW", 620, 80},
    {"generator1.frequency_hz", FERRY_VALUE_DOUBLE, "Hz", 60, 0.2},
    {"generator2.power_kw", FERRY_VALUE_DOUBLE, "kW", 580, 80},
    {"shaft.torque_knm", FERRY_VALUE_DOUBLE, "kNm", 950, 60},
    {"propeller.pitch_pct", FERRY_VALUE_DOUBLE, "%", 75, 10},
    {"rudder.angle_deg", FERRY_VALUE_DOUBLE, "deg", 0, 15},
    {"wind.speed_kn", FERRY_VALUE_DOUBLE, "kn", 18, 8},
    {"wind.direction_deg", FERRY_VALUE_DOUBLE, "deg", 220, 60},
    {"sea.wave_height_m", FERRY_VALUE_DOUBLE, "m", 1.8, 0.9},
    {"cargo.hold1_temp_c", FERRY_VALUE_DOUBLE, "degC", 12, 3},
    {"engine_room.fire_alarm", FERRY_VALUE_BOOL, NULL, 0, 0},
    {"hvac.bridge_temp_c", FERRY_VALUE_DOUBLE, "degC", 22, 1.5},
    {"boiler.steam_pressure_bar", FERRY_VALUE_DOUBLE, "bar", 7, 0.6},
    {"scrubber.so2_ppm", FERRY_VALUE_DOUBLE, "ppm", 8, 4},
    {"ship.operating_mode", FERRY_VALUE_STRING, NULL, 0, 0},
};
#define NDEFS ((int)(sizeof defs / sizeof *defs))

/* Extra channels beyond the named ones: numbered sensors of rotating kinds. */
static const chan_def_t extra[] = {
    {"temp_c", FERRY_VALUE_DOUBLE, "degC", 40, 8},
    {"vibration_mm_s", FERRY_VALUE_DOUBLE, "mm/s", 3, 1.5},
    {"pressure_bar", FERRY_VALUE_DOUBLE, "bar", 5, 1},
    {"counter", FERRY_VALUE_LONG, NULL, 1000, 0},
    {"alarm", FERRY_VALUE_BOOL, NULL, 0, 0},
};

static const char *const statuses[] = {"under way using engine", "at anchor", "moored",
                                       "restricted manoeuvrability"};
static const char *const modes[] = {"sea passage", "manoeuvring", "port", "standby"};

/* splitmix64: a good 64-bit mix, so values depend only on (seed, ship, channel, tick). */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

const char *sim_channel_name(int c, char *buf, size_t bufsz, ferry_value_type *type,
                             const char **unit)
{
    const chan_def_t *d;
    if (c < NDEFS) {
        d = &defs[c];
        snprintf(buf, bufsz, "%s", d->name);
    } else {
        d = &extra[(c - NDEFS) % 5];
        snprintf(buf, bufsz, "sensor_%04d.%s", c - NDEFS + 1, d->name);
    }
    if (type)
        *type = d->type;
    if (unit)
        *unit = d->unit;
    return buf;
}

void sim_init(sim_t *s, const sim_conf_t *conf)
{
    memset(s, 0, sizeof *s);
    s->conf = *conf;
    if (s->conf.ships < 1)
        s->conf.ships = 1;
    if (s->conf.channels < 1)
        s->conf.channels = 1;
    s->tick_ts = conf->realtime ? ferry_clock_now_us() : conf->start_us;
}

void sim_next(sim_t *s, ferry_reading_t *r)
{
    const sim_conf_t *c = &s->conf;
    int ship = s->ship, ch = s->channel;
    int64_t tick = s->tick;
    const chan_def_t *d = ch < NDEFS ? &defs[ch] : &extra[(ch - NDEFS) % 5];
    int n = snprintf(s->ship_buf, sizeof s->ship_buf, "IMO%07d", 9300001 + c->ship_offset + ship);
    r->ship_id = (ferry_str_t){s->ship_buf, (size_t)n};
    sim_channel_name(ch, s->chan_buf, sizeof s->chan_buf, NULL, NULL);
    r->channel_id = (ferry_str_t){s->chan_buf, strlen(s->chan_buf)};
    r->ts_us = s->tick_ts;
    uint64_t h = mix(c->seed ^ mix(((uint64_t)(ship + c->ship_offset) << 40) ^
                                   ((uint64_t)ch << 20) ^ (uint64_t)tick));
    double u = (double)(h >> 11) / 9007199254740992.0; /* [0,1) */
    r->type = d->type;
    switch (d->type) {
    case FERRY_VALUE_DOUBLE:
        /* a slow wave per ship plus noise, rounded to 3 decimals like real loggers */
        r->v.d = round((d->base + d->amp * sin((double)tick / 60.0 + ship) * 0.7 +
                        d->amp * 0.3 * (2 * u - 1)) *
                       1000.0) /
                 1000.0;
        break;
    case FERRY_VALUE_LONG:
        r->v.l = (int64_t)d->base + tick + (int64_t)(h % 3);
        break;
    case FERRY_VALUE_BOOL:
        r->v.b = (h % 97) == 0;
        break;
    case FERRY_VALUE_STRING: {
        const char *const *set = strstr(d->name, "mode") ? modes : statuses;
        const char *v = set[(tick / 600 + ship + (int64_t)(h % 1000 == 0)) % 4];
        snprintf(s->str_buf, sizeof s->str_buf, "%s", v);
        r->v.s = (ferry_str_t){s->str_buf, strlen(s->str_buf)};
        break;
    }
    case FERRY_VALUE_NULL:
        break;
    }
    r->has_unit = d->unit != NULL;
    if (d->unit)
        r->unit = (ferry_str_t){d->unit, strlen(d->unit)};
    r->has_source = 0;

    /* advance: channel, then ship, then tick */
    if (++s->channel >= c->channels) {
        s->channel = 0;
        if (++s->ship >= c->ships) {
            s->ship = 0;
            s->tick++;
        }
        if (c->realtime) {
            /* wall clock at the start of each ship's group, strictly increasing so that a
             * fast run never gives one (ship, channel) the same timestamp twice */
            int64_t now = ferry_clock_now_us();
            s->tick_ts = now > s->tick_ts ? now : s->tick_ts + 1;
        } else {
            s->tick_ts = c->start_us + s->tick * c->step_us;
        }
    }
}
