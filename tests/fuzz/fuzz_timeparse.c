/* fuzz_timeparse.c - the timestamp parser (lib/timeparse.c).
 *
 * Input: two option bytes (the epoch unit, and the default offset for zone-less ISO text:
 * whole quarter hours from -23:45 to +23:45), then the text. ferry_ts_offset_parse reads the
 * text too.
 *
 * Checks: a parsed value formats into FERRY_TS_FORMAT_MAX (both forms, NUL-terminated, no
 * longer than reported), and the RFC 3339 form of a value in years 0000..9999 parses back
 * to the same value (the formatter and parser agree). */
#include <string.h>

#include "ferry/buf.h"
#include "ferry/timeparse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    uint8_t unit = fuzz_take(&in);
    uint8_t off = fuzz_take(&in);
    ferry_ts_conf_t conf = {.unit = (ferry_ts_unit)(unit % 5),
                            .default_offset_s = ((int32_t)(off % 191) - 95) * 900};
    /* exact-size copy, not NUL-terminated: the parser must respect len */
    char *s = ferry_xmemdup(in.n ? (const void *)in.p : "", in.n);

    int64_t us = 0;
    ferry_err_t err;
    if (ferry_ts_parse_conf(s, in.n, &conf, &us, &err) == FERRY_OK) {
        char out[FERRY_TS_FORMAT_MAX], pg[FERRY_TS_FORMAT_MAX];
        memset(out, 'x', sizeof out);
        size_t n = ferry_ts_format(us, out, sizeof out);
        FUZZ_CHECK(n < sizeof out && strlen(out) == n);
        size_t m = ferry_ts_format_pg(us, pg, sizeof pg);
        FUZZ_CHECK(m < sizeof pg && strlen(pg) == m);
        if (out[0] != '+' && out[0] != '-') {
            int64_t back = 0;
            FUZZ_CHECK(ferry_ts_parse(out, n, FERRY_TS_AUTO, &back, &err) == FERRY_OK);
            FUZZ_CHECK(back == us);
        }
        /* truncated output stays NUL-terminated */
        char small[8];
        ferry_ts_format(us, small, sizeof small);
        FUZZ_CHECK(memchr(small, '\0', sizeof small) != NULL);
    }
    (void)ferry_ts_parse(s, in.n, conf.unit, &us, &err);

    /* the zone-offset parser takes a NUL-terminated string */
    char *z = ferry_xstrndup(s, in.n);
    int32_t secs = 0;
    if (ferry_ts_offset_parse(z, &secs, &err) == FERRY_OK)
        FUZZ_CHECK(secs > -86400 && secs < 86400);
    ferry_ts_unit u;
    (void)ferry_ts_unit_parse(z, &u);
    free(z);
    free(s);
    return 0;
}
