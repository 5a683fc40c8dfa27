/* clock.h - the two clocks ferry reads. */
#ifndef FERRY_CLOCK_H
#define FERRY_CLOCK_H

#include <stdint.h>

/* Wall clock in microseconds since the Unix epoch. */
int64_t ferry_clock_now_us(void);
/* Monotonic clock in milliseconds (for timeouts and rates). */
int64_t ferry_clock_mono_ms(void);

#endif
