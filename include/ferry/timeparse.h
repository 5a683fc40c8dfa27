/* timeparse.h - timestamps as people and exports write them, to and from microseconds.
 *
 * Every timestamp in ferry is an int64 count of microseconds since 1970-01-01T00:00:00Z
 * (Avro timestamp-micros). This module turns text into that number and back:
 *
 *   ISO 8601 / RFC 3339   2024-05-01T12:00:00Z, 2024-05-01 12:00:00.5+09:00, ...+0900, ...+09,
 *                         lower-case t and z, " UTC"/" GMT", date only (2024-05-01 = midnight)
 *   epoch numbers         1700000000, 1700000000.25, -86400, 1700000000123 (ms), ... with a
 *                         unit (s, ms, us, ns) or FERRY_TS_AUTO (by magnitude, see below)
 *
 * Decisions (docs/csv.md repeats them for users):
 *   - Digits finer than a microsecond are cut off toward negative infinity (floor): the
 *     result is the microsecond that contains the instant. For ISO text that is plain
 *     truncation of the fraction; for a negative epoch, -0.0000005 s becomes -1 us.
 *   - ISO text without a zone is in the default offset (UTC unless configured).
 *   - Years 0000..9999 (4 digits); month/day validated with leap years (2024-02-30 fails);
 *     hour 00..23, minute 00..59, second 00..59 (leap second :60 and 24:00 are rejected);
 *     offsets up to +-23:59. The date-time separator is T, t or one space; a fraction may
 *     use '.' or ',' and have any number of digits.
 *   - FERRY_TS_AUTO reads a bare number by the magnitude of its integer part:
 *       |x| < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else nanoseconds.
 *     (1e11 s is the year 5138; 1e11 ms is 1973-03-03, so exports of the last 50 years
 *     are never ambiguous.)
 *   - Epoch numbers are [+-]digits[.digits]; no exponent, no thousands separators.
 *   - Anything whose microsecond value does not fit in int64 is "out of range"; no input
 *     causes undefined behaviour.
 * Surrounding ASCII white space is ignored. */
#ifndef FERRY_TIMEPARSE_H
#define FERRY_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/err.h"

typedef enum ferry_ts_unit {
    FERRY_TS_AUTO = 0, /* by magnitude */
    FERRY_TS_S,
    FERRY_TS_MS,
    FERRY_TS_US,
    FERRY_TS_NS,
} ferry_ts_unit;

typedef struct ferry_ts_conf {
    ferry_ts_unit unit;       /* unit of bare epoch numbers */
    int32_t default_offset_s; /* offset east of UTC for ISO text without a zone; 0 = UTC */
} ferry_ts_conf_t;

/* Parses s[0..len) (not necessarily NUL-terminated) into microseconds since the epoch,
 * reading bare numbers in `unit` and zone-less ISO text as UTC. Returns FERRY_OK, or
 * FERRY_POISON with a reason in *err (malformed, invalid date, out of range); *out_us is
 * written only on success. */
ferry_status ferry_ts_parse(const char *s, size_t len, ferry_ts_unit unit, int64_t *out_us,
                            ferry_err_t *err);

/* The same with a configuration (conf may be NULL: auto unit, UTC). */
ferry_status ferry_ts_parse_conf(const char *s, size_t len, const ferry_ts_conf_t *conf,
                                 int64_t *out_us, ferry_err_t *err);

/* Room for any ferry_ts_format() result, NUL included. */
#define FERRY_TS_FORMAT_MAX 40

/* Writes `us` as RFC 3339 UTC with exactly six fraction digits, e.g.
 * "2024-05-01T12:00:00.000000Z", NUL-terminated, into out[0..outsz). Years outside
 * 0000..9999 (reachable only from epoch input) use ISO 8601 expanded years ("+12345-",
 * "-0001-" = 2 BC). Returns the length of the full text like snprintf (truncated when
 * outsz is too small; FERRY_TS_FORMAT_MAX always suffices). */
size_t ferry_ts_format(int64_t us, char *out, size_t outsz);
/* Formats `us` as a timestamptz literal PostgreSQL reads back exactly for every time it can
 * hold ("10000-01-01 00:00:00.000000+00", "0044-03-15 12:00:00.000000+00 BC"): the form
 * for parameters. Returns the length. */
size_t ferry_ts_format_pg(int64_t us, char *out, size_t outsz);

/* "s", "ms", "us" (or "µs"), "ns", "auto" -> *out. Returns 0, or -1 for anything else. */
int ferry_ts_unit_parse(const char *name, ferry_ts_unit *out);
/* "s", "ms", "us", "ns" or "auto". */
const char *ferry_ts_unit_name(ferry_ts_unit unit);

/* Parses a zone offset as it appears after an ISO time or in an option: "Z", "UTC",
 * "+09:00", "+0900", "+09", "-05:30" -> seconds east of UTC. Returns FERRY_OK or
 * FERRY_USAGE with a reason. */
ferry_status ferry_ts_offset_parse(const char *s, int32_t *out_s, ferry_err_t *err);

#endif
