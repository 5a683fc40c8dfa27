/* ratelimit.c - request pacing (one-token bucket on a grid) and backoff with jitter
 * (see include/ferry/ratelimit.h). */
#include "ferry/ratelimit.h"

#include <math.h>
#include <time.h>

int64_t ferry_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void ferry_ratelimit_init(ferry_ratelimit_t *rl, double per_second)
{
    rl->interval_us = 0;
    rl->slack_us = 0;
    rl->next_us = 0;
    rl->hold_until_us = 0;
    rl->started = 0;
    if (!(per_second > 0.0))
        return;
    /* A window holds whole requests: "2.5 per second" can only mean 2 in every second. */
    if (per_second >= 1.0)
        per_second = floor(per_second);
    /* Refill a little slower than asked, so every second keeps a margin. */
    double iv = ceil(1e6 / (per_second * (1.0 - FERRY_RATELIMIT_HEADROOM)));
    rl->interval_us = iv < 1.0 ? 1 : (int64_t)iv;
    /* floor(R) starts span (floor(R) - 1) intervals; the next one would come
     * floor(R) intervals after the first. What that exceeds one second by is the margin:
     * half of it is the lateness a start may have and keep its grid slot. */
    int64_t n = (int64_t)per_second;
    if (n >= 1 && n * rl->interval_us > 1000000)
        rl->slack_us = (n * rl->interval_us - 1000000) / 2;
    if (rl->slack_us >= rl->interval_us)
        rl->slack_us = rl->interval_us - 1;
}

int ferry_ratelimit_try(ferry_ratelimit_t *rl, int64_t now_us)
{
    if (now_us < rl->hold_until_us)
        return 0;
    if (rl->interval_us == 0)
        return 1;
    if (!rl->started) {
        rl->started = 1;
        rl->next_us = now_us + rl->interval_us;
        return 1;
    }
    if (now_us < rl->next_us)
        return 0;
    if (now_us - rl->next_us < rl->slack_us)
        rl->next_us += rl->interval_us; /* a little late: keep the grid */
    else
        rl->next_us = now_us + rl->interval_us; /* idle or held: start a new grid */
    return 1;
}

int64_t ferry_ratelimit_delay_us(const ferry_ratelimit_t *rl, int64_t now_us)
{
    int64_t at = rl->hold_until_us;
    if (rl->interval_us > 0 && rl->started && rl->next_us > at)
        at = rl->next_us;
    return at > now_us ? at - now_us : 0;
}

void ferry_ratelimit_hold(ferry_ratelimit_t *rl, int64_t until_us)
{
    if (until_us > rl->hold_until_us)
        rl->hold_until_us = until_us;
}

uint64_t ferry_rand64(uint64_t *state)
{
    uint64_t x = *state ? *state : UINT64_C(0x9E3779B97F4A7C15);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

int64_t ferry_backoff_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms, uint64_t *rng)
{
    if (base_ms < 1)
        base_ms = 1;
    if (cap_ms < base_ms)
        cap_ms = base_ms;
    int64_t d = base_ms;
    for (unsigned i = 0; i < attempt && d < cap_ms; i++)
        d *= 2;
    if (d > cap_ms)
        d = cap_ms;
    int64_t half = d / 2;
    return d - half + (int64_t)(ferry_rand64(rng) % (uint64_t)(half + 1));
}
