/* lifecycle.h - clean stop on SIGINT/SIGTERM.
 *
 * ferry_lifecycle_install() makes the first SIGINT or SIGTERM request a stop: long
 * loops check ferry_lifecycle_running() and then drain, commit, close and leave the group.
 * A second signal while stopping exits at once with status 130 (SIGINT) or 143. */
#ifndef FERRY_LIFECYCLE_H
#define FERRY_LIFECYCLE_H

#include <stdint.h>

#include "ferry/clock.h" /* the clocks every loop that checks for a stop also reads */

void ferry_lifecycle_install(void);
/* 1 until a stop was requested. */
int ferry_lifecycle_running(void);
/* Requests a stop from inside the program (e.g. on a fatal Kafka error). */
void ferry_lifecycle_request_stop(void);
/* The signal that requested the stop, or 0. */
int ferry_lifecycle_stop_signal(void);

/* Sleeps up to `ms`, waking early when a stop is requested. Returns 0 when the full time
 * passed, -1 when interrupted by a stop request. */
int ferry_lifecycle_sleep_ms(int64_t ms);

#endif
