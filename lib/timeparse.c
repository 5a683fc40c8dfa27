/* timeparse.c - ISO 8601 / RFC 3339 and epoch-number timestamps to and from microseconds
 * (see include/ferry/timeparse.h for the accepted forms and the decisions).
 *
 * Everything is integer arithmetic on bounded values: ISO fields are range-checked before
 * they are combined (years 0..9999 cannot overflow), and epoch numbers are accumulated
 * digit by digit against the int64 limit, so no input can overflow or lose precision the
 * way a detour through double would. Calendar conversions are Howard Hinnant's
 * days_from_civil / civil_from_days (proleptic Gregorian). */
#include "ferry/timeparse.h"

#include <stdio.h>
#include <string.h>

#define US_PER_S   INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_S)

static int ts_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int ts_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char ts_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Copies at most 48 bytes of s into out for an error message, printable ASCII only. */
static const char *ts_quote(const char *s, size_t len, char *out, size_t outsz)
{
    size_t n = 0, max = outsz - 4;
    for (size_t i = 0; i < len && n < max; i++)
        out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (len > max) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

static int64_t ts_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void ts_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned ts_days_in_month(int y, unsigned m)
{
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return 29;
    return dim[m - 1];
}

/* Reads exactly n digits at *pp (< e) into *out. */
static int ts_ndigits(const char **pp, const char *e, int n, int *out)
{
    const char *p = *pp;
    int v = 0;
    if (e - p < n)
        return -1;
    for (int i = 0; i < n; i++) {
        if (!ts_digit(p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *pp = p + n;
    *out = v;
    return 0;
}

/* A zone designator at p..e (the whole rest): Z, UTC, GMT, +hh, +hhmm, +hh:mm.
 * Returns 0 with seconds east of UTC, -1 when malformed or out of range. */
static int ts_zone(const char *p, const char *e, int32_t *off)
{
    size_t n = (size_t)(e - p);
    if (n == 1 && ts_lower(*p) == 'z') {
        *off = 0;
        return 0;
    }
    if (n == 3 && ((ts_lower(p[0]) == 'u' && ts_lower(p[1]) == 't' && ts_lower(p[2]) == 'c') ||
                   (ts_lower(p[0]) == 'g' && ts_lower(p[1]) == 'm' && ts_lower(p[2]) == 't'))) {
        *off = 0;
        return 0;
    }
    if (n < 3 || (*p != '+' && *p != '-'))
        return -1;
    int sign = *p == '-' ? -1 : 1, hh, mm = 0;
    p++;
    if (ts_ndigits(&p, e, 2, &hh) != 0)
        return -1;
    if (p < e) {
        if (*p == ':')
            p++;
        if (ts_ndigits(&p, e, 2, &mm) != 0 || p != e)
            return -1;
    }
    if (hh > 23 || mm > 59)
        return -1;
    *off = sign * (hh * 3600 + mm * 60);
    return 0;
}

static ferry_status ts_bad(ferry_err_t *err, const char *s, size_t len, const char *why)
{
    char q[64];
    return ferry_err_set(err, FERRY_POISON, "bad timestamp \"%s\": %s",
                         ts_quote(s, len, q, sizeof q), why);
}

static ferry_status ts_parse_iso(const char *s, const char *e, int32_t def_off, int64_t *out,
                                 ferry_err_t *err)
{
    const char *p = s;
    size_t len = (size_t)(e - s);
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t frac_us = 0;
    int32_t off = def_off;
    if (ts_ndigits(&p, e, 4, &y) || p == e || *p++ != '-' || ts_ndigits(&p, e, 2, &mo) || p == e ||
        *p++ != '-' || ts_ndigits(&p, e, 2, &d))
        return ts_bad(err, s, len, "expected YYYY-MM-DD");
    if (mo < 1 || mo > 12)
        return ts_bad(err, s, len, "month out of range");
    if (d < 1 || (unsigned)d > ts_days_in_month(y, (unsigned)mo))
        return ts_bad(err, s, len, "day out of range for the month");
    if (p < e) {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return ts_bad(err, s, len, "expected T or a space after the date");
        p++;
        if (ts_ndigits(&p, e, 2, &h) || p == e || *p++ != ':' || ts_ndigits(&p, e, 2, &mi))
            return ts_bad(err, s, len, "expected hh:mm after the date");
        if (p < e && *p == ':') {
            p++;
            if (ts_ndigits(&p, e, 2, &sec))
                return ts_bad(err, s, len, "expected two digits of seconds");
            if (p < e && (*p == '.' || *p == ',')) {
                p++;
                int nd = 0;
                while (p < e && ts_digit(*p)) {
                    if (nd < 6)
                        frac_us = frac_us * 10 + (*p - '0');
                    nd++;
                    p++;
                }
                if (nd == 0)
                    return ts_bad(err, s, len, "expected digits after the decimal point");
                for (; nd < 6; nd++)
                    frac_us *= 10;
            }
        }
        if (h > 23)
            return ts_bad(err, s, len, "hour out of range");
        if (mi > 59)
            return ts_bad(err, s, len, "minute out of range");
        if (sec > 59)
            return ts_bad(err, s, len, "second out of range (leap seconds are not accepted)");
        if (p < e) {
            if (*p == ' ')
                p++;
            if (ts_zone(p, e, &off) != 0)
                return ts_bad(err, s, len, "bad zone (expected Z, +hh:mm, +hhmm, +hh or UTC)");
        }
    }
    int64_t secs =
        ts_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - off;
    *out = secs * US_PER_S + frac_us;
    return FERRY_OK;
}

static ferry_status ts_parse_epoch(const char *s, const char *e, ferry_ts_unit unit, int64_t *out,
                                   ferry_err_t *err)
{
    const char *p = s;
    size_t len = (size_t)(e - s);
    int neg = 0;
    if (p < e && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    while (p < e && *p == '0' && p + 1 < e && ts_digit(p[1]))
        p++; /* leading zeros do not count for the magnitude */
    const char *ip = p;
    while (p < e && ts_digit(*p))
        p++;
    size_t nint = (size_t)(p - ip);
    const char *fp = p;
    size_t nfrac = 0;
    if (p < e && *p == '.') {
        fp = ++p;
        while (p < e && ts_digit(*p))
            p++;
        nfrac = (size_t)(p - fp);
    }
    if (p != e || (nint == 0 && nfrac == 0))
        return ts_bad(err, s, len,
                      "expected ISO 8601 (YYYY-MM-DD[Thh:mm:ss[.f][zone]]) or an "
                      "epoch number");
    if (nint == 1 && *ip == '0')
        nint = 0; /* "0.5": the integer part has no magnitude */
    if (unit == FERRY_TS_AUTO)
        unit = nint <= 11   ? FERRY_TS_S
               : nint <= 14 ? FERRY_TS_MS
               : nint <= 17 ? FERRY_TS_US
                            : FERRY_TS_NS;
    /* The value in microseconds is the digit string int++frac with the decimal point
     * moved by `shift` places: whole part accumulated, the rest only tells whether there
     * is a remainder (which floors negative values one further down). */
    long shift = unit == FERRY_TS_S ? 6 : unit == FERRY_TS_MS ? 3 : unit == FERRY_TS_US ? 0 : -3;
    long nwhole = (long)nint + shift;
    const uint64_t limit = UINT64_C(1) << 63; /* |INT64_MIN| */
    uint64_t w = 0;
    int rem = 0;
    size_t ndig = nint + nfrac;
    for (long i = 0; i < nwhole; i++) {
        unsigned dgt = 0;
        if ((size_t)i < nint)
            dgt = (unsigned)(ip[i] - '0');
        else if ((size_t)i - nint < nfrac)
            dgt = (unsigned)(fp[i - (long)nint] - '0');
        if (w > (limit - dgt) / 10)
            return ts_bad(err, s, len, "out of range");
        w = w * 10 + dgt;
    }
    for (size_t i = nwhole > 0 ? (size_t)nwhole : 0; i < ndig && !rem; i++) {
        char c = i < nint ? ip[i] : fp[i - nint];
        rem = c != '0';
    }
    if (!neg) {
        if (w > (uint64_t)INT64_MAX)
            return ts_bad(err, s, len, "out of range");
        *out = (int64_t)w;
        return FERRY_OK;
    }
    if (rem) {
        if (w == limit)
            return ts_bad(err, s, len, "out of range");
        w++;
    }
    *out = w == limit ? INT64_MIN : -(int64_t)w;
    return FERRY_OK;
}

ferry_status ferry_ts_parse_conf(const char *s, size_t len, const ferry_ts_conf_t *conf,
                                 int64_t *out_us, ferry_err_t *err)
{
    const char *e = s + len;
    while (s < e && ts_space(*s))
        s++;
    while (e > s && ts_space(e[-1]))
        e--;
    if (s == e)
        return ferry_err_set(err, FERRY_POISON, "bad timestamp: empty");
    ferry_ts_unit unit = conf ? conf->unit : FERRY_TS_AUTO;
    int32_t off = conf ? conf->default_offset_s : 0;
    if (e - s >= 5 && ts_digit(s[0]) && ts_digit(s[1]) && ts_digit(s[2]) && ts_digit(s[3]) &&
        s[4] == '-')
        return ts_parse_iso(s, e, off, out_us, err);
    return ts_parse_epoch(s, e, unit, out_us, err);
}

ferry_status ferry_ts_parse(const char *s, size_t len, ferry_ts_unit unit, int64_t *out_us,
                            ferry_err_t *err)
{
    ferry_ts_conf_t conf = {unit, 0};
    return ferry_ts_parse_conf(s, len, &conf, out_us, err);
}

size_t ferry_ts_format(int64_t us, char *out, size_t outsz)
{
    int64_t days = us / US_PER_DAY, r = us % US_PER_DAY;
    if (r < 0) {
        days--;
        r += US_PER_DAY;
    }
    int64_t y;
    unsigned m, d;
    ts_civil_from_days(days, &y, &m, &d);
    char year[24];
    if (y >= 0 && y <= 9999)
        snprintf(year, sizeof year, "%04lld", (long long)y);
    else if (y > 9999)
        snprintf(year, sizeof year, "+%lld", (long long)y);
    else
        snprintf(year, sizeof year, "-%04lld", -(long long)y);
    int n = snprintf(out, outsz, "%s-%02u-%02uT%02d:%02d:%02d.%06dZ", year, m, d,
                     (int)(r / (3600 * US_PER_S)), (int)(r / (60 * US_PER_S) % 60),
                     (int)(r / US_PER_S % 60), (int)(r % US_PER_S));
    return n < 0 ? 0 : (size_t)n;
}

size_t ferry_ts_format_pg(int64_t us, char *out, size_t outsz)
{
    int64_t days = us / US_PER_DAY, r = us % US_PER_DAY;
    if (r < 0) {
        days--;
        r += US_PER_DAY;
    }
    int64_t y;
    unsigned m, d;
    ts_civil_from_days(days, &y, &m, &d);
    /* PostgreSQL has no year 0: astronomical year y <= 0 is year 1 - y BC. */
    int bc = y <= 0;
    int n = snprintf(out, outsz, "%04lld-%02u-%02u %02d:%02d:%02d.%06d+00%s",
                     (long long)(bc ? 1 - y : y), m, d, (int)(r / (3600 * US_PER_S)),
                     (int)(r / (60 * US_PER_S) % 60), (int)(r / US_PER_S % 60), (int)(r % US_PER_S),
                     bc ? " BC" : "");
    return n < 0 ? 0 : (size_t)n;
}

int ferry_ts_unit_parse(const char *name, ferry_ts_unit *out)
{
    static const struct {
        const char *name;
        ferry_ts_unit unit;
    } names[] = {{"auto", FERRY_TS_AUTO}, {"s", FERRY_TS_S},   {"ms", FERRY_TS_MS},
                 {"us", FERRY_TS_US},     {"µs", FERRY_TS_US}, {"ns", FERRY_TS_NS}};
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].unit;
            return 0;
        }
    }
    return -1;
}

const char *ferry_ts_unit_name(ferry_ts_unit unit)
{
    switch (unit) {
    case FERRY_TS_S:
        return "s";
    case FERRY_TS_MS:
        return "ms";
    case FERRY_TS_US:
        return "us";
    case FERRY_TS_NS:
        return "ns";
    case FERRY_TS_AUTO:
        break;
    }
    return "auto";
}

ferry_status ferry_ts_offset_parse(const char *s, int32_t *out_s, ferry_err_t *err)
{
    if (!s)
        return ferry_err_set(err, FERRY_USAGE, "missing zone offset");
    const char *b = s, *e = s + strlen(s);
    while (b < e && ts_space(*b))
        b++;
    while (e > b && ts_space(e[-1]))
        e--;
    char q[64];
    if (ts_zone(b, e, out_s) != 0)
        return ferry_err_set(err, FERRY_USAGE,
                             "bad zone offset \"%s\" (expected Z, UTC, +hh:mm, +hhmm or +hh)",
                             ts_quote(s, strlen(s), q, sizeof q));
    return FERRY_OK;
}
