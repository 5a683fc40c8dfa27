/* ratelimit.h - request pacing and retry timing for ferry's network clients: a token bucket
 * that bounds how often requests START, and exponential backoff with jitter.
 *
 * Both are plain arithmetic over times the caller passes in (microseconds of a monotonic
 * clock, see ferry_clock_us()), so they are deterministic and unit-testable. A limiter is
 * not thread-safe: use one per event loop.
 *
 * The limiter promises: with a rate of R per second, no half-open 1-second window ever
 * holds more than floor(R) starts (a window holds whole requests, so a fractional R >= 1
 * is rounded down; R < 1 spaces starts 1/R seconds apart). It is a token bucket whose bucket holds
 * a single token (pure pacing, no bursts), refilled slightly slower than R - by
 * FERRY_RATELIMIT_HEADROOM - and the margin this leaves in every second is split in two:
 * half lets a start that the event loop serves a little late keep its slot on the grid (so
 * wake-up latency does not eat into the rate), half absorbs jitter between the start and
 * the moment the server sees the request, so the server's own 1-second count stays within
 * R as well. Achieved rate with enough concurrency: R x (1 - headroom), i.e. 97.5 % of R. */
#ifndef FERRY_RATELIMIT_H
#define FERRY_RATELIMIT_H

#include <stdint.h>

#define FERRY_RATELIMIT_HEADROOM 0.025

typedef struct ferry_ratelimit {
    int64_t interval_us;   /* time between starts; 0: unlimited */
    int64_t slack_us;      /* how late a start may be and keep its grid slot */
    int64_t next_us;       /* grid time of the next start (valid once started) */
    int64_t hold_until_us; /* no start before this (a server's Retry-After); 0: none */
    int started;
} ferry_ratelimit_t;

/* Monotonic clock in microseconds. */
int64_t ferry_clock_us(void);

/* Sets up *rl for at most `per_second` starts in any 1-second window. per_second <= 0
 * means no limit (holds still apply). */
void ferry_ratelimit_init(ferry_ratelimit_t *rl, double per_second);

/* Takes the token if one is available at `now_us`: returns 1 (start the request now) or
 * 0 (wait ferry_ratelimit_delay_us() and ask again). Each call that returns 1 counts as one
 * start; retries must go through here too. */
int ferry_ratelimit_try(ferry_ratelimit_t *rl, int64_t now_us);

/* Microseconds from `now_us` until ferry_ratelimit_try() can succeed (0: now). */
int64_t ferry_ratelimit_delay_us(const ferry_ratelimit_t *rl, int64_t now_us);

/* Allows no start before `until_us` (e.g. when a server answered 429 with Retry-After).
 * A later hold extends an earlier one; an earlier one never shortens it. */
void ferry_ratelimit_hold(ferry_ratelimit_t *rl, int64_t until_us);

/* The delay before retry number `attempt` (0 for the first retry): exponential from
 * `base_ms`, doubled per attempt and capped at `cap_ms`, with "equal jitter": the result
 * is uniformly distributed in [d/2, d] where d = min(cap_ms, base_ms * 2^attempt), so
 * clients that failed together do not retry together, yet always wait a little.
 * `rng` is the caller's random state (any seed; 0 is replaced by a fixed non-zero seed);
 * it is advanced. */
int64_t ferry_backoff_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms, uint64_t *rng);

/* Next value of a xorshift64* generator over *state (seeded as above). */
uint64_t ferry_rand64(uint64_t *state);

#endif
