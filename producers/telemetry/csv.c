/* csv.c - the CSV source of `ferry telemetry` (see csv.h and docs/csv.md).
 *
 * Design: one read buffer (1 MiB, grown up to max_record_bytes for a huge record) filled
 * with read(2) on the file's descriptor, so a live pipe delivers records as they come.
 * A record is parsed in one pass into (offset, length) fields over that buffer; when the
 * buffer ends inside a record, the unread tail is moved to the front, more is read and
 * the record is parsed again from its start (the buffer is never modified, so a restart
 * is always possible). Quoted fields with doubled quotes are the only ones copied, into a
 * per-record scratch buffer. No allocation per field or per record in the steady state.
 *
 * Bad records are resynchronised at the next physical line after the record's start, so
 * one stray quote costs one line, not the rest of the file. */
#include "csv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ferry/buf.h"
#include "ferry/map.h"

#define CSV_BUF_INITIAL (1u << 20)
#define CSV_MAX_RECORD  (16u << 20)

enum { REC_OK, REC_MORE, REC_BAD, REC_EOF, REC_IOERR };

typedef struct csv_field {
    size_t off; /* into buf, or into scratch when in_scratch */
    size_t len;
    unsigned char in_scratch;
    unsigned char quoted;
} csv_field_t;

struct ferry_csv {
    FILE *fp;
    int fd; /* fileno(fp), or -1 to use fread (memory streams) */
    int (*running)(void);
    char *name;
    char *source;
    char *fixed_ship;
    char *unit;
    ferry_csv_shape shape;
    ferry_ts_conf_t ts;

    /* read buffer: buf[pos..end) is unread; line is the physical line number at pos */
    char *buf;
    size_t cap, pos, end, max_record;
    int eof, ioerr, skip_to_nl;
    uint64_t line;

    /* the record last parsed */
    csv_field_t *f;
    size_t nf, fcap;
    ferry_buf_t scratch;
    size_t rec_len;  /* bytes from pos to the next record */
    uint64_t rec_nl; /* newlines in those bytes */
    size_t bad_off, bad_len;
    int has_bad;
    char why[128];

    /* layout */
    char delim;
    int has_header;
    uint64_t hdr_line;
    size_t ncols; /* fields every record has; 0 = fixed by the first usable record */
    size_t need;  /* fields a record needs at least */
    long c_ship, c_chan, c_time, c_value, c_unit; /* 0-based, -1 = none */
    long unit_auto;                               /* headerless: unit column if present */
    ferry_str_t *hdr;                             /* header names (into hdr_block) */
    size_t nhdr;
    char *hdr_block;

    /* wide */
    size_t *chan_col;
    size_t nchan;
    int in_rec;
    size_t chan_next;
    int64_t rec_ts;
    ferry_str_t rec_ship;

    ferry_csv_stats_t st;
};

static const char *const csv_ship_names[] = {"ship",   "ship_id",   "shipid",
                                             "vessel", "vessel_id", NULL};
static const char *const csv_chan_names[] = {
    "channel",      "channel_id", "channelid", "data_channel_id",
    "channel_name", "sensor",     "sensor_id", NULL};
static const char *const csv_time_names[] = {"timestamp", "ts",        "time",       "created_time",
                                             "datetime",  "date_time", "event_time", NULL};
static const char *const csv_value_names[] = {"value", "val", NULL};
static const char *const csv_unit_names[] = {"unit", "units", "uom", NULL};

void ferry_csv_conf_init(ferry_csv_conf_t *conf)
{
    memset(conf, 0, sizeof *conf);
    conf->shape = FERRY_CSV_NARROW;
    conf->header = FERRY_CSV_HEADER_AUTO;
    conf->time_unit = FERRY_TS_AUTO;
    conf->max_record_bytes = CSV_MAX_RECORD;
}

/* ---- value typing --------------------------------------------------------------------- */

static int csv_is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v';
}

static int csv_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int csv_ieq(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* 1 for a decimal number: [+-]? (D+ [. D*] | . D+) ([eE] [+-]? D+)?; *is_int when it is
 * [+-]? D+ only. */
static int csv_number_syntax(const char *s, const char *e, int *is_int)
{
    const char *p = s;
    if (p < e && (*p == '+' || *p == '-'))
        p++;
    const char *d0 = p;
    while (p < e && csv_digit(*p))
        p++;
    size_t nint = (size_t)(p - d0), nfrac = 0;
    int has_point = 0, has_exp = 0;
    if (p < e && *p == '.') {
        has_point = 1;
        const char *f0 = ++p;
        while (p < e && csv_digit(*p))
            p++;
        nfrac = (size_t)(p - f0);
    }
    if (nint == 0 && nfrac == 0)
        return 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        has_exp = 1;
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        const char *x0 = p;
        while (p < e && csv_digit(*p))
            p++;
        if (p == x0)
            return 0;
    }
    *is_int = !has_point && !has_exp;
    return p == e;
}

/* int64 from [+-]?D+, 0 when it does not fit. */
static int csv_int64(const char *s, const char *e, int64_t *out)
{
    int neg = 0;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    const uint64_t limit = neg ? (UINT64_C(1) << 63) : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (; s < e; s++) {
        unsigned dgt = (unsigned)(*s - '0');
        if (v > (limit - dgt) / 10)
            return 0;
        v = v * 10 + dgt;
    }
    if (!neg)
        *out = (int64_t)v;
    else
        *out = v == (UINT64_C(1) << 63) ? INT64_MIN : -(int64_t)v;
    return 1;
}

void ferry_csv_type_value(const char *s, size_t len, ferry_reading_t *out)
{
    const char *b = s, *e = s + len;
    while (b < e && csv_is_space(*b))
        b++;
    while (e > b && csv_is_space(e[-1]))
        e--;
    size_t n = (size_t)(e - b);
    if (n == 0) {
        out->type = FERRY_VALUE_NULL;
        return;
    }
    int is_int = 0;
    if (csv_number_syntax(b, e, &is_int)) {
        if (is_int && csv_int64(b, e, &out->v.l)) {
            out->type = FERRY_VALUE_LONG;
            return;
        }
        char small[64], *tmp = n < sizeof small ? small : malloc(n + 1);
        if (tmp) {
            memcpy(tmp, b, n);
            tmp[n] = '\0';
            double d = strtod(tmp, NULL);
            if (tmp != small)
                free(tmp);
            if (isfinite(d)) {
                out->type = FERRY_VALUE_DOUBLE;
                out->v.d = d;
                return;
            }
        }
        /* beyond the range of a double: keep the text rather than invent infinity */
    } else {
        const char *w = b;
        int neg = 0;
        if (*w == '+' || *w == '-')
            neg = *w++ == '-';
        size_t wn = (size_t)(e - w);
        if (csv_ieq(w, wn, "nan")) {
            out->type = FERRY_VALUE_DOUBLE;
            out->v.d = NAN;
            return;
        }
        if (csv_ieq(w, wn, "inf") || csv_ieq(w, wn, "infinity")) {
            out->type = FERRY_VALUE_DOUBLE;
            out->v.d = neg ? -INFINITY : INFINITY;
            return;
        }
        if (csv_ieq(b, n, "true") || csv_ieq(b, n, "false")) {
            out->type = FERRY_VALUE_BOOL;
            out->v.b = (*b == 't' || *b == 'T');
            return;
        }
    }
    out->type = FERRY_VALUE_STRING;
    out->v.s.ptr = s;
    out->v.s.len = len;
}

/* ---- reading and record parsing ------------------------------------------------------- */

/* Reads more input after moving the unread part to the front. Returns 1 when bytes were
 * added, 0 at EOF or on a read error (ioerr set), -1 when the buffer holds max_record
 * bytes of one unfinished record. */
static int csv_fill(ferry_csv_t *c)
{
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->end - c->pos);
        c->end -= c->pos;
        c->pos = 0;
    }
    if (c->end == c->cap) {
        if (c->cap >= c->max_record)
            return -1;
        size_t ncap = c->cap * 2 > c->max_record ? c->max_record : c->cap * 2;
        char *nb = realloc(c->buf, ncap);
        if (!nb)
            abort(); /* out of memory is unrecoverable, as everywhere in ferry */
        c->buf = nb;
        c->cap = ncap;
    }
    for (;;) {
        ssize_t n;
        if (c->fd >= 0) {
            n = read(c->fd, c->buf + c->end, c->cap - c->end);
        } else {
            n = (ssize_t)fread(c->buf + c->end, 1, c->cap - c->end, c->fp);
            if (n == 0 && ferror(c->fp))
                n = -1;
        }
        if (n > 0) {
            c->end += (size_t)n;
            return 1;
        }
        if (n < 0 && errno == EINTR) {
            if (c->fd < 0)
                clearerr(c->fp);
            if (!c->running || c->running())
                continue;
            /* a stop was requested: end the input here, like EOF */
        } else if (n < 0) {
            c->ioerr = errno ? errno : EIO;
        }
        c->eof = 1;
        return 0;
    }
}

/* Blanks around fields (a CR is a line break, never a blank). */
static int csv_ws(const ferry_csv_t *c, char ch)
{
    return ch == ' ' || (ch == '\t' && c->delim != '\t');
}

/* The position after the line break (LF, CRLF or a lone CR) that ends the physical line
 * starting at b, or NULL when the buffer ends first. A CR at the very end of the buffer ends
 * a line only at EOF: an LF may follow in the next read. */
static const char *csv_line_end(const ferry_csv_t *c, const char *b, const char *e)
{
    for (const char *p = b; p < e; p++) {
        if (*p == '\n')
            return p + 1;
        if (*p == '\r') {
            if (p + 1 < e)
                return p + 1 + (p[1] == '\n');
            return c->eof ? p + 1 : NULL;
        }
    }
    return NULL;
}

static csv_field_t *csv_add_field(ferry_csv_t *c)
{
    if (c->nf == c->fcap) {
        c->fcap = c->fcap ? c->fcap * 2 : 64;
        c->f = realloc(c->f, c->fcap * sizeof *c->f);
        if (!c->f)
            abort();
    }
    csv_field_t *f = &c->f[c->nf++];
    memset(f, 0, sizeof *f);
    return f;
}

/* Line breaks in [p, e): LF, CRLF and lone CR each count once. */
static uint64_t csv_count_nl(const char *p, const char *e)
{
    uint64_t n = 0;
    for (; p < e; p++)
        n += *p == '\n' || (*p == '\r' && (p + 1 == e || p[1] != '\n'));
    return n;
}

/* At a line break at p (LF, CR or CRLF): 1 with *next after it, 0 when p is no line break,
 * -1 when p is a CR at the end of the buffer before EOF (an LF may follow). */
static int csv_eol(const ferry_csv_t *c, const char *p, const char *e, const char **next)
{
    if (*p == '\n') {
        *next = p + 1;
        return 1;
    }
    if (*p != '\r')
        return 0;
    if (p + 1 == e && !c->eof)
        return -1;
    *next = p + 1 + (p + 1 < e && p[1] == '\n');
    return 1;
}

/* Parses the record at buf[pos..end): REC_OK (fields, rec_len, rec_nl set), REC_MORE,
 * REC_EOF, or REC_BAD with *why. Does not consume anything. */
static int csv_parse(ferry_csv_t *c, const char **why)
{
    const char *b = c->buf + c->pos, *e = c->buf + c->end, *p = b;
    const char d = c->delim;
    uint64_t nl = 0;
    c->nf = 0;
    ferry_buf_reset(&c->scratch);
    if (p == e)
        return c->eof ? REC_EOF : REC_MORE;
    for (;;) {
        while (p < e && csv_ws(c, *p))
            p++;
        if (p == e && !c->eof)
            return REC_MORE;
        csv_field_t *f = csv_add_field(c);
        if (p < e && *p == '"') {
            const char *q0 = ++p;
            int esc = 0;
            for (;;) {
                const char *q = memchr(p, '"', (size_t)(e - p));
                if (!q) {
                    if (!c->eof)
                        return REC_MORE;
                    *why = "unterminated quoted field";
                    return REC_BAD;
                }
                if (q + 1 == e && !c->eof)
                    return REC_MORE;
                if (q + 1 < e && q[1] == '"') {
                    esc = 1;
                    p = q + 2;
                    continue;
                }
                nl += csv_count_nl(q0, q);
                f->quoted = 1;
                if (esc) {
                    f->in_scratch = 1;
                    f->off = c->scratch.len;
                    for (const char *s = q0; s < q; s++) {
                        ferry_buf_append_byte(&c->scratch, (unsigned char)*s);
                        if (*s == '"')
                            s++; /* the doubled quote */
                    }
                    f->len = c->scratch.len - f->off;
                } else {
                    f->off = (size_t)(q0 - c->buf);
                    f->len = (size_t)(q - q0);
                }
                p = q + 1;
                break;
            }
            while (p < e && csv_ws(c, *p))
                p++;
            if (p == e) {
                if (!c->eof)
                    return REC_MORE;
                break;
            }
            if (*p == d) {
                p++;
                continue;
            }
            const char *next = p;
            int eol = csv_eol(c, p, e, &next);
            if (eol < 0)
                return REC_MORE;
            if (eol > 0) {
                p = next;
                nl++;
                break;
            }
            *why = "unexpected character after a closing quote";
            return REC_BAD;
        } else {
            const char *s = p;
            while (p < e && *p != d && *p != '\n' && *p != '\r')
                p++;
            if (p == e && !c->eof)
                return REC_MORE;
            const char *t = p;
            while (t > s && csv_ws(c, t[-1]))
                t--;
            f->off = (size_t)(s - c->buf);
            f->len = (size_t)(t - s);
            if (p == e)
                break;
            if (*p == d) {
                p++;
                continue;
            }
            const char *next = p;
            if (csv_eol(c, p, e, &next) < 0)
                return REC_MORE;
            p = next;
            nl++;
            break;
        }
    }
    c->rec_len = (size_t)(p - b);
    c->rec_nl = nl;
    return REC_OK;
}

/* The next record, refilling the buffer as needed. On REC_BAD, rec_len/rec_nl cover the
 * bytes up to the next physical line (or skip_to_nl is set for a line too long to hold). */
static int csv_record(ferry_csv_t *c, const char **why)
{
    for (;;) {
        if (c->ioerr)
            return REC_IOERR; /* what is buffered may end in a torn record: stop here */
        if (c->skip_to_nl) {
            const char *nlp = csv_line_end(c, c->buf + c->pos, c->buf + c->end);
            if (nlp) {
                c->pos = (size_t)(nlp - c->buf);
                c->skip_to_nl = 0;
                c->line++;
                c->st.lines++;
                continue;
            }
            /* a CR at the end stays: it and an LF read next are one line break */
            c->pos = c->end > c->pos && c->buf[c->end - 1] == '\r' ? c->end - 1 : c->end;
            if (c->eof) {
                c->skip_to_nl = 0;
                c->st.lines++;
                continue;
            }
        } else {
            int r = csv_parse(c, why);
            if (r == REC_BAD) {
                const char *b = c->buf + c->pos, *e = c->buf + c->end;
                const char *nlp = csv_line_end(c, b, e);
                if (nlp || c->eof) {
                    c->rec_len = nlp ? (size_t)(nlp - b) : (size_t)(e - b);
                    c->rec_nl = nlp ? 1 : 0;
                    return REC_BAD;
                }
                r = REC_MORE;
            }
            if (r != REC_MORE)
                return r;
        }
        int fr = csv_fill(c);
        if (fr < 0) {
            snprintf(c->why, sizeof c->why, "record longer than %zu bytes (an unbalanced quote?)",
                     c->max_record);
            *why = c->why;
            const char *b = c->buf + c->pos, *nlp = csv_line_end(c, b, c->buf + c->end);
            if (nlp) {
                c->rec_len = (size_t)(nlp - b);
                c->rec_nl = 1;
            } else {
                c->rec_len = c->end - c->pos;
                c->rec_nl = 0;
                c->skip_to_nl = 1; /* counts the line when it ends */
            }
            return REC_BAD;
        }
    }
}

/* Consumes the record last returned by csv_record. */
static void csv_consume(ferry_csv_t *c)
{
    char last = c->rec_len > 0 ? c->buf[c->pos + c->rec_len - 1] : '\0';
    int ends_nl = last == '\n' || last == '\r';
    c->pos += c->rec_len;
    c->line += c->rec_nl;
    if (!c->skip_to_nl)
        c->st.lines += c->rec_nl + (c->rec_len > 0 && !ends_nl ? 1 : 0);
    else
        c->st.lines += c->rec_nl;
    c->rec_len = 0;
    c->rec_nl = 0;
}

static ferry_str_t csv_fstr(const ferry_csv_t *c, size_t i)
{
    const csv_field_t *f = &c->f[i];
    ferry_str_t s = {(f->in_scratch ? (const char *)c->scratch.data : c->buf) + f->off, f->len};
    return s;
}

/* 1 when s holds a UTF-8 byte order mark (U+FEFF, EF BB BF). */
static int csv_has_bom(ferry_str_t s)
{
    const char *p = s.ptr, *e = s.ptr + s.len;
    while (e - p >= 3 && (p = memchr(p, '\xef', (size_t)(e - p - 2))) != NULL) {
        if ((unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf)
            return 1;
        p++;
    }
    return 0;
}

/* The 0-based index of the first field of the current record with a byte order mark in it,
 * or -1. Only the one at the very start of the input is stripped (ferry_csv_open); one
 * anywhere else (files concatenated, a pasted id) would silently become part of an id. */
static long csv_bom_field(const ferry_csv_t *c)
{
    for (size_t i = 0; i < c->nf; i++)
        if (csv_has_bom(csv_fstr(c, i)))
            return (long)i;
    return -1;
}

static int csv_blank(const ferry_csv_t *c)
{
    for (size_t i = 0; i < c->nf; i++)
        if (c->f[i].len)
            return 0;
    return 1;
}

/* ---- open: delimiter, header, columns ------------------------------------------------- */

static ferry_str_t csv_trim(ferry_str_t s)
{
    while (s.len && csv_is_space(*s.ptr)) {
        s.ptr++;
        s.len--;
    }
    while (s.len && csv_is_space(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

static int csv_all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!csv_digit(*s))
            return 0;
    return 1;
}

static int csv_is_name(const char *sel)
{
    return sel && !csv_all_digits(sel);
}

/* Index of the first header column named `name` (ASCII case-insensitive, trimmed), or -1;
 * *count gets the number of such columns, *second (may be NULL) the index of the second. */
static long csv_find2(const ferry_csv_t *c, const char *name, int *count, long *second)
{
    long found = -1;
    *count = 0;
    size_t n = strlen(name);
    for (size_t i = 0; i < c->nhdr; i++) {
        ferry_str_t h = csv_trim(c->hdr[i]);
        if (h.len == n && strncasecmp(h.ptr, name, n) == 0) {
            if (found < 0)
                found = (long)i;
            else if (*count == 1 && second)
                *second = (long)i;
            (*count)++;
        }
    }
    return found;
}

static long csv_find(const ferry_csv_t *c, const char *name, int *count)
{
    return csv_find2(c, name, count, NULL);
}

/* The column of the first default name that is in the header, or -1. A name that is there
 * more than once is ambiguous: FERRY_USAGE naming it (choose one with `opt`). */
static ferry_status csv_find_alias(const ferry_csv_t *c, const char *const *names, const char *opt,
                                   long *col, ferry_err_t *err)
{
    int count;
    long second = -1;
    *col = -1;
    for (; *names; names++) {
        long i = csv_find2(c, *names, &count, &second);
        if (i < 0)
            continue;
        if (count > 1)
            return ferry_err_set(err, FERRY_USAGE,
                                 "%s: the header names %d columns \"%s\" (columns %ld and %ld); "
                                 "choose one with %s N",
                                 c->name, count, *names, i + 1, second + 1, opt);
        *col = i;
        return FERRY_OK;
    }
    return FERRY_OK;
}

static void csv_header_list(const ferry_csv_t *c, char *out, size_t outsz)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->nhdr && n + 8 < outsz; i++) {
        ferry_str_t h = csv_trim(c->hdr[i]);
        int w = snprintf(out + n, outsz - n, "%s%.*s", i ? ", " : "",
                         (int)(h.len > 40 ? 40 : h.len), h.ptr);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    if (n >= outsz)
        memcpy(out + outsz - 4, "...", 4);
}

/* Resolves a selector (name or 1-based number) to a 0-based column. */
static ferry_status csv_resolve(const ferry_csv_t *c, const char *sel, const char *opt, long *col,
                                ferry_err_t *err)
{
    if (csv_all_digits(sel)) {
        long n = strlen(sel) > 9 ? 0 : atol(sel);
        if (n < 1)
            return ferry_err_set(err, FERRY_USAGE,
                                 "%s: bad column number %s (columns count from 1)", opt, sel);
        if (c->has_header && (size_t)n > c->nhdr)
            return ferry_err_set(err, FERRY_USAGE,
                                 "%s: %s: column %ld does not exist (the header "
                                 "has %zu columns)",
                                 c->name, opt, n, c->nhdr);
        *col = n - 1;
        return FERRY_OK;
    }
    if (!c->has_header)
        return ferry_err_set(err, FERRY_USAGE, "%s: %s %s: a column name needs a header row",
                             c->name, opt, sel);
    int count;
    long i = csv_find(c, sel, &count);
    char list[256];
    if (i < 0) {
        csv_header_list(c, list, sizeof list);
        return ferry_err_set(err, FERRY_USAGE, "%s: %s: no column named \"%s\" (header: %s)",
                             c->name, opt, sel, list);
    }
    if (count > 1)
        return ferry_err_set(err, FERRY_USAGE,
                             "%s: %s: %d columns are named \"%s\"; choose one by number", c->name,
                             opt, count, sel);
    *col = i;
    return FERRY_OK;
}

/* A column by selector, else by the default names; `required` makes absence an error. */
static ferry_status csv_column(const ferry_csv_t *c, const char *sel, const char *opt,
                               const char *what, const char *const *names, int required, long *col,
                               ferry_err_t *err)
{
    *col = -1;
    if (sel)
        return csv_resolve(c, sel, opt, col, err);
    ferry_status st = csv_find_alias(c, names, opt, col, err);
    if (st != FERRY_OK)
        return st;
    if (*col < 0 && required) {
        char list[256], want[160];
        size_t n = 0;
        csv_header_list(c, list, sizeof list);
        want[0] = '\0';
        for (const char *const *a = names; *a && n + 24 < sizeof want; a++)
            n += (size_t)snprintf(want + n, sizeof want - n, "%s%s", a == names ? "" : ", ", *a);
        return ferry_err_set(err, FERRY_USAGE,
                             "%s: no %s column in the header (looked for %s; header: %s); "
                             "choose one with %s",
                             c->name, what, want, list, opt);
    }
    return FERRY_OK;
}

/* Picks the delimiter from the first non-blank line: the most frequent of , ; tab |
 * outside double quotes (ties in that order); ',' when none occurs. */
static void csv_detect_delimiter(ferry_csv_t *c)
{
    static const char cand[] = {',', ';', '\t', '|'};
    size_t off = 0; /* of the line looked at, from pos */
    for (;;) {
        const char *b = c->buf + c->pos + off, *e = c->buf + c->end;
        const char *nlp = csv_line_end(c, b, e);
        if (!nlp && !c->eof && csv_fill(c) > 0)
            continue; /* csv_fill keeps buf[pos..end) and moves pos: off stays right */
        b = c->buf + c->pos + off;
        e = c->buf + c->end;
        const char *le = nlp ? nlp : e; /* the line break is blank to the checks below */
        int blank = 1;
        for (const char *s = b; s < le && blank; s++)
            blank = csv_is_space(*s);
        if (blank && nlp) {
            off = (size_t)(nlp - (c->buf + c->pos));
            continue;
        }
        size_t best = 0, cnt[4] = {0, 0, 0, 0};
        int inq = 0;
        for (const char *s = b; s < le; s++) {
            if (*s == '"')
                inq = !inq;
            else if (!inq)
                for (size_t k = 0; k < 4; k++)
                    cnt[k] += *s == cand[k];
        }
        for (size_t k = 1; k < 4; k++)
            if (cnt[k] > cnt[best])
                best = k;
        c->delim = cand[best];
        return;
    }
}

static int csv_any_name_selector(const ferry_csv_conf_t *conf)
{
    if (csv_is_name(conf->ship_col) || csv_is_name(conf->channel_col) ||
        csv_is_name(conf->time_col) || csv_is_name(conf->value_col) || csv_is_name(conf->unit_col))
        return 1;
    for (size_t i = 0; i < conf->n_channels; i++)
        if (csv_is_name(conf->channels[i]))
            return 1;
    return 0;
}

/* Headerless narrow time column (0-based), as the header decision needs it. */
static long csv_default_time_pos(const ferry_csv_conf_t *conf)
{
    if (conf->time_col && csv_all_digits(conf->time_col)) {
        long n = strlen(conf->time_col) > 9 ? 0 : atol(conf->time_col);
        return n - 1;
    }
    return conf->fixed_ship ? 1 : 2;
}

static ferry_status csv_copy_header(ferry_csv_t *c)
{
    size_t total = 0;
    for (size_t i = 0; i < c->nf; i++)
        total += c->f[i].len + 1;
    c->hdr_block = malloc(total ? total : 1);
    c->hdr = calloc(c->nf ? c->nf : 1, sizeof *c->hdr);
    if (!c->hdr_block || !c->hdr)
        abort();
    char *w = c->hdr_block;
    for (size_t i = 0; i < c->nf; i++) {
        ferry_str_t s = csv_fstr(c, i);
        memcpy(w, s.ptr, s.len);
        w[s.len] = '\0';
        c->hdr[i].ptr = w;
        c->hdr[i].len = s.len;
        w += s.len + 1;
    }
    c->nhdr = c->nf;
    return FERRY_OK;
}

static int csv_distinct(const long *cols, const char *const *names, size_t n, ferry_err_t *err)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (cols[i] >= 0 && cols[i] == cols[j]) {
                ferry_err_set(err, FERRY_USAGE, "column %ld is chosen as both %s and %s",
                              cols[i] + 1, names[i], names[j]);
                return 0;
            }
    return 1;
}

static ferry_status csv_layout_narrow(ferry_csv_t *c, const ferry_csv_conf_t *conf,
                                      ferry_err_t *err)
{
    ferry_status st;
    c->unit_auto = -1;
    if (c->has_header) {
        if (!conf->fixed_ship && (st = csv_column(c, conf->ship_col, "--ship-col", "ship",
                                                  csv_ship_names, 1, &c->c_ship, err)))
            return st;
        if ((st = csv_column(c, conf->channel_col, "--channel-col", "channel", csv_chan_names, 1,
                             &c->c_chan, err)) ||
            (st = csv_column(c, conf->time_col, "--time-col", "time", csv_time_names, 1, &c->c_time,
                             err)) ||
            (st = csv_column(c, conf->value_col, "--value-col", "value", csv_value_names, 1,
                             &c->c_value, err)) ||
            (st = csv_column(c, conf->unit_col, "--unit-col", "unit", csv_unit_names, 0, &c->c_unit,
                             err)))
            return st;
    } else {
        long base = conf->fixed_ship ? 0 : 1;
        c->c_ship = -1;
        if (!conf->fixed_ship && conf->ship_col) {
            if ((st = csv_resolve(c, conf->ship_col, "--ship-col", &c->c_ship, err)))
                return st;
        } else if (!conf->fixed_ship) {
            c->c_ship = 0;
        }
        c->c_chan = base;
        c->c_time = base + 1;
        c->c_value = base + 2;
        c->c_unit = -1;
        if ((conf->channel_col &&
             (st = csv_resolve(c, conf->channel_col, "--channel-col", &c->c_chan, err))) ||
            (conf->time_col &&
             (st = csv_resolve(c, conf->time_col, "--time-col", &c->c_time, err))) ||
            (conf->value_col &&
             (st = csv_resolve(c, conf->value_col, "--value-col", &c->c_value, err))) ||
            (conf->unit_col &&
             (st = csv_resolve(c, conf->unit_col, "--unit-col", &c->c_unit, err))))
            return st;
        if (!conf->unit_col && !conf->ship_col && !conf->channel_col && !conf->time_col &&
            !conf->value_col)
            c->unit_auto = base + 3;
    }
    long cols[] = {c->c_ship, c->c_chan, c->c_time, c->c_value, c->c_unit};
    static const char *const names[] = {"ship", "channel", "time", "value", "unit"};
    if (!csv_distinct(cols, names, 5, err))
        return FERRY_USAGE;
    long mx = 0;
    for (size_t i = 0; i < 5; i++)
        if (cols[i] > mx)
            mx = cols[i];
    c->need = (size_t)mx + 1;
    return FERRY_OK;
}

static int csv_is_alias(const char *const *names, ferry_str_t h)
{
    h = csv_trim(h);
    for (; *names; names++)
        if (strlen(*names) == h.len && strncasecmp(*names, h.ptr, h.len) == 0)
            return 1;
    return 0;
}

static ferry_status csv_layout_wide(ferry_csv_t *c, const ferry_csv_conf_t *conf, ferry_err_t *err)
{
    ferry_status st;
    c->c_chan = c->c_value = c->c_unit = c->unit_auto = -1;
    if (!conf->fixed_ship && (st = csv_column(c, conf->ship_col, "--ship-col", "ship",
                                              csv_ship_names, 1, &c->c_ship, err)))
        return st;
    if ((st = csv_column(c, conf->time_col, "--time-col", "time", csv_time_names, 1, &c->c_time,
                         err)))
        return st;
    if (c->c_ship == c->c_time)
        return ferry_err_set(err, FERRY_USAGE, "column %ld is chosen as both ship and time",
                             c->c_time + 1);
    c->chan_col = calloc(c->nhdr ? c->nhdr : 1, sizeof *c->chan_col);
    if (!c->chan_col)
        abort();
    if (conf->n_channels) {
        for (size_t i = 0; i < conf->n_channels; i++) {
            long col;
            if ((st = csv_resolve(c, conf->channels[i], "--channel", &col, err)))
                return st;
            if (col == c->c_ship || col == c->c_time)
                return ferry_err_set(err, FERRY_USAGE,
                                     "--channel %s: column %ld is the ship or time column",
                                     conf->channels[i], col + 1);
            c->chan_col[c->nchan++] = (size_t)col;
        }
    } else {
        for (size_t i = 0; i < c->nhdr; i++) {
            if ((long)i == c->c_ship || (long)i == c->c_time)
                continue;
            if (conf->fixed_ship && csv_is_alias(csv_ship_names, c->hdr[i]))
                continue; /* a ship column next to --ship is never a channel */
            c->chan_col[c->nchan++] = i;
        }
    }
    if (c->nchan == 0)
        return ferry_err_set(err, FERRY_USAGE, "%s: the wide header has no channel columns",
                             c->name);
    /* names seen so far -> 1 + their column: a duplicate is found in O(1), so a header of
     * 100,000 channels is checked in milliseconds */
    ferry_map_t *seen = ferry_map_new();
    st = FERRY_OK;
    for (size_t i = 0; i < c->nchan && st == FERRY_OK; i++) {
        ferry_str_t h = c->hdr[c->chan_col[i]];
        void *prev;
        if (h.len == 0)
            st = ferry_err_set(err, FERRY_POISON, "%s:%llu: header column %zu has no name", c->name,
                               (unsigned long long)c->hdr_line, c->chan_col[i] + 1);
        else if (!ferry_utf8_valid(h.ptr, h.len))
            st = ferry_err_set(err, FERRY_POISON,
                               "%s: header column %zu is not valid UTF-8 (or has a NUL byte)",
                               c->name, c->chan_col[i] + 1);
        else if ((prev = ferry_map_get(seen, h.ptr, h.len)) != NULL)
            st = ferry_err_set(err, FERRY_POISON,
                               "%s: channel \"%.*s\" is in the header twice (columns %zu "
                               "and %zu)",
                               c->name, (int)(h.len > 60 ? 60 : h.len), h.ptr,
                               (size_t)(uintptr_t)prev, c->chan_col[i] + 1);
        else
            ferry_map_put(seen, h.ptr, h.len, (void *)(uintptr_t)(c->chan_col[i] + 1));
    }
    ferry_map_destroy(seen);
    if (st != FERRY_OK)
        return st;
    long mx = c->c_ship > c->c_time ? c->c_ship : c->c_time;
    for (size_t i = 0; i < c->nchan; i++)
        if ((long)c->chan_col[i] > mx)
            mx = (long)c->chan_col[i];
    c->need = (size_t)mx + 1;
    return FERRY_OK;
}

static char *csv_strdup(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        abort();
    return d;
}

ferry_csv_t *ferry_csv_open(FILE *fp, const char *name, const ferry_csv_conf_t *conf,
                            ferry_err_t *err)
{
    ferry_csv_conf_t defaults;
    if (!conf) {
        ferry_csv_conf_init(&defaults);
        conf = &defaults;
    }
    if (!name)
        name = "csv";
    /* configuration checks first: nothing is read for a command line that cannot work */
    char d = conf->delimiter;
    if (d == '"' || d == '\n' || d == '\r' || d == ' ') {
        ferry_err_set(err, FERRY_USAGE, "the delimiter cannot be a quote, a space or a newline");
        return NULL;
    }
    if (conf->shape != FERRY_CSV_NARROW && conf->shape != FERRY_CSV_WIDE) {
        ferry_err_set(err, FERRY_USAGE, "unknown CSV shape");
        return NULL;
    }
    if (conf->shape == FERRY_CSV_WIDE) {
        if (conf->header == FERRY_CSV_HEADER_NO) {
            ferry_err_set(err, FERRY_USAGE,
                          "a wide CSV needs a header row (it names the channels): drop "
                          "--header no");
            return NULL;
        }
        if (conf->channel_col || conf->value_col || conf->unit_col) {
            ferry_err_set(err, FERRY_USAGE,
                          "--channel-col, --value-col and --unit-col are for "
                          "--csv-shape narrow; a wide file has a column per "
                          "channel");
            return NULL;
        }
    } else if (conf->n_channels) {
        ferry_err_set(err, FERRY_USAGE, "choosing channel columns is for --csv-shape wide");
        return NULL;
    }
    if (conf->fixed_ship && conf->ship_col) {
        ferry_err_set(err, FERRY_USAGE, "--ship and --ship-col exclude each other");
        return NULL;
    }
    if (conf->fixed_ship &&
        (!*conf->fixed_ship || !ferry_utf8_valid(conf->fixed_ship, strlen(conf->fixed_ship)))) {
        ferry_err_set(err, FERRY_USAGE, "--ship must be a non-empty UTF-8 text");
        return NULL;
    }
    if (conf->unit && !ferry_utf8_valid(conf->unit, strlen(conf->unit))) {
        ferry_err_set(err, FERRY_USAGE, "the default unit must be UTF-8");
        return NULL;
    }

    ferry_csv_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->fp = fp;
    c->fd = fileno(fp);
    c->running = conf->running;
    c->name = csv_strdup(name);
    c->fixed_ship = csv_strdup(conf->fixed_ship);
    c->unit = csv_strdup(conf->unit && *conf->unit ? conf->unit : NULL);
    if (!conf->source) {
        size_t n = strlen(name) + 5;
        c->source = malloc(n);
        if (!c->source)
            abort();
        snprintf(c->source, n, "csv:%s", name);
    } else if (*conf->source) {
        c->source = csv_strdup(conf->source);
    }
    c->shape = conf->shape;
    c->ts.unit = conf->time_unit;
    c->ts.default_offset_s = conf->tz_offset_s;
    c->max_record = conf->max_record_bytes ? conf->max_record_bytes : CSV_MAX_RECORD;
    if (c->max_record < 64)
        c->max_record = 64;
    c->cap = c->max_record < CSV_BUF_INITIAL ? c->max_record : CSV_BUF_INITIAL;
    c->buf = malloc(c->cap);
    if (!c->buf)
        abort();
    c->line = 1;
    c->c_ship = c->c_chan = c->c_time = c->c_value = c->c_unit = c->unit_auto = -1;

    /* a UTF-8 byte order mark is not part of the first field */
    while (c->end < 3 && !c->eof && csv_fill(c) > 0)
        ;
    if (c->end >= 3 && memcmp(c->buf, "\xef\xbb\xbf", 3) == 0)
        c->pos = 3;
    if (c->end >= 2 && (memcmp(c->buf, "\xff\xfe", 2) == 0 || memcmp(c->buf, "\xfe\xff", 2) == 0)) {
        /* spreadsheet "Unicode text" exports: say so instead of a line of garbage */
        ferry_err_set(err, FERRY_POISON,
                      "%s: the input is UTF-16 (it starts with a UTF-16 byte order mark); "
                      "convert it to UTF-8 first, e.g. iconv -f UTF-16 -t UTF-8",
                      c->name);
        ferry_csv_close(c);
        return NULL;
    }
    c->delim = d;
    if (!d)
        csv_detect_delimiter(c);

    /* the first non-blank record: the header or the first data record */
    const char *why = NULL;
    int r;
    for (;;) {
        r = csv_record(c, &why);
        if (r != REC_OK || !csv_blank(c))
            break;
        csv_consume(c);
        c->st.blank_lines++;
    }
    if (r == REC_IOERR) {
        ferry_err_set(err, FERRY_FATAL, "%s: read error: %s", c->name, strerror(c->ioerr));
        ferry_csv_close(c);
        return NULL;
    }
    int must = conf->header == FERRY_CSV_HEADER_YES ||
               (conf->header == FERRY_CSV_HEADER_AUTO &&
                (conf->shape == FERRY_CSV_WIDE || csv_any_name_selector(conf)));
    if (r == REC_EOF) {
        c->eof = 1;
        return c; /* an empty input is no error: it has no readings */
    }
    if (r == REC_BAD) {
        if (must) {
            ferry_err_set(err, FERRY_POISON, "%s:%llu: header row: %s", c->name,
                          (unsigned long long)c->line, why);
            ferry_csv_close(c);
            return NULL;
        }
        c->has_header = 0; /* next() parses it again and reports it */
        c->skip_to_nl = 0;
    } else if (must) {
        c->has_header = 1;
    } else if (conf->header == FERRY_CSV_HEADER_AUTO) {
        long tp = csv_default_time_pos(conf);
        int64_t us;
        c->has_header =
            !(tp >= 0 && (size_t)tp < c->nf) ||
            ferry_ts_parse_conf(csv_fstr(c, (size_t)tp).ptr, csv_fstr(c, (size_t)tp).len, &c->ts,
                                &us, NULL) != FERRY_OK;
    }
    long bom = c->has_header ? csv_bom_field(c) : -1;
    if (bom >= 0) {
        ferry_err_set(err, FERRY_POISON,
                      "%s:%llu: header column %ld has a UTF-8 byte order mark (U+FEFF) in it; "
                      "only the very start of the input may have one",
                      c->name, (unsigned long long)c->line, bom + 1);
        ferry_csv_close(c);
        return NULL;
    }
    if (c->has_header) {
        csv_copy_header(c);
        c->hdr_line = c->line;
        c->ncols = c->nhdr;
        csv_consume(c);
        c->st.header_lines = 1;
    }
    ferry_status st = c->shape == FERRY_CSV_WIDE ? csv_layout_wide(c, conf, err)
                                                 : csv_layout_narrow(c, conf, err);
    if (st != FERRY_OK) {
        ferry_csv_close(c);
        return NULL;
    }
    return c;
}

/* ---- next ----------------------------------------------------------------------------- */

static int csv_bad(ferry_csv_t *c, uint64_t line, ferry_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int csv_bad(ferry_csv_t *c, uint64_t line, ferry_err_t *err, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    c->st.bad_lines++;
    ferry_err_set(err, FERRY_POISON, "%s:%llu: %s", c->name, (unsigned long long)line, why);
    return FERRY_CSV_BAD;
}

/* Marks the record at pos as the bad one (for ferry_csv_bad_record) and consumes it. */
static void csv_keep_bad(ferry_csv_t *c)
{
    c->has_bad = 1;
    c->bad_off = c->pos;
    c->bad_len = c->rec_len;
    csv_consume(c);
}

/* The count check shared by both shapes. Returns 0 when the record has the right number
 * of fields, else writes the reason. */
static int csv_check_count(ferry_csv_t *c, char *why, size_t whysz)
{
    if (c->ncols) {
        if (c->nf == c->ncols)
            return 0;
        snprintf(why, whysz, "%zu fields, expected %zu%s", c->nf, c->ncols,
                 c->has_header ? " (as in the header)" : " (as in the first record)");
        return -1;
    }
    if (c->nf < c->need) {
        snprintf(why, whysz, "%zu fields, need at least %zu", c->nf, c->need);
        return -1;
    }
    c->ncols = c->nf; /* the first usable headerless record fixes the column count */
    if (c->unit_auto >= 0 && (size_t)c->unit_auto < c->nf)
        c->c_unit = c->unit_auto;
    return 0;
}

/* The ship (col -1: the fixed one) or channel id of the current record; NULL or a reason. */
static const char *csv_id(const ferry_csv_t *c, long col, int is_ship, ferry_str_t *out)
{
    if (col < 0) {
        out->ptr = c->fixed_ship;
        out->len = strlen(c->fixed_ship);
        return NULL;
    }
    *out = csv_fstr(c, (size_t)col);
    if (out->len == 0)
        return is_ship ? "empty ship id" : "empty channel id";
    if (!ferry_utf8_valid(out->ptr, out->len))
        return is_ship ? "ship id is not valid UTF-8 (or has a NUL byte)"
                       : "channel id is not valid UTF-8 (or has a NUL byte)";
    return NULL;
}

static void csv_reading_init(const ferry_csv_t *c, ferry_reading_t *out)
{
    memset(out, 0, sizeof *out);
    if (c->source) {
        out->has_source = 1;
        out->source.ptr = c->source;
        out->source.len = strlen(c->source);
    }
    if (c->unit) {
        out->has_unit = 1;
        out->unit.ptr = c->unit;
        out->unit.len = strlen(c->unit);
    }
}

/* Builds the narrow reading of the current record; returns NULL or the reason it is bad
 * (written into why when it needs formatting). */
static const char *csv_narrow(ferry_csv_t *c, ferry_reading_t *out, ferry_err_t *terr)
{
    const char *bad;
    csv_reading_init(c, out);
    if ((bad = csv_id(c, c->c_ship, 1, &out->ship_id)) ||
        (bad = csv_id(c, c->c_chan, 0, &out->channel_id)))
        return bad;
    ferry_str_t t = csv_fstr(c, (size_t)c->c_time);
    if (ferry_ts_parse_conf(t.ptr, t.len, &c->ts, &out->ts_us, terr) != FERRY_OK)
        return terr->msg;
    ferry_str_t v = csv_fstr(c, (size_t)c->c_value);
    ferry_csv_type_value(v.ptr, v.len, out);
    if (out->type == FERRY_VALUE_STRING && !ferry_utf8_valid(v.ptr, v.len))
        return "value is not valid UTF-8 (or has a NUL byte)";
    if (c->c_unit >= 0) {
        ferry_str_t u = csv_fstr(c, (size_t)c->c_unit);
        if (u.len) {
            if (!ferry_utf8_valid(u.ptr, u.len))
                return "unit is not valid UTF-8 (or has a NUL byte)";
            out->has_unit = 1;
            out->unit = u;
        }
    }
    return NULL;
}

/* Validates a wide record (ship, time, every non-empty cell) before any reading of it is
 * returned, so a bad record yields none. */
static const char *csv_wide(ferry_csv_t *c, ferry_err_t *terr, char *why, size_t whysz)
{
    const char *bad = csv_id(c, c->c_ship, 1, &c->rec_ship);
    if (bad)
        return bad;
    ferry_str_t t = csv_fstr(c, (size_t)c->c_time);
    if (ferry_ts_parse_conf(t.ptr, t.len, &c->ts, &c->rec_ts, terr) != FERRY_OK)
        return terr->msg;
    for (size_t i = 0; i < c->nchan; i++) {
        ferry_str_t v = csv_fstr(c, c->chan_col[i]);
        if (v.len && !ferry_utf8_valid(v.ptr, v.len)) {
            ferry_str_t h = c->hdr[c->chan_col[i]];
            snprintf(why, whysz,
                     "value of channel \"%.*s\" (column %zu) is not valid UTF-8 (or "
                     "has a NUL byte)",
                     (int)(h.len > 60 ? 60 : h.len), h.ptr, c->chan_col[i] + 1);
            return why;
        }
    }
    return NULL;
}

/* The next non-empty cell of the current wide record as a reading, or 0 when done. */
static int csv_wide_emit(ferry_csv_t *c, ferry_reading_t *out)
{
    while (c->chan_next < c->nchan) {
        size_t col = c->chan_col[c->chan_next++];
        ferry_str_t v = csv_fstr(c, col);
        ferry_reading_t r;
        ferry_csv_type_value(v.ptr, v.len, &r);
        if (r.type == FERRY_VALUE_NULL) {
            c->st.empty_cells++;
            continue;
        }
        csv_reading_init(c, out);
        out->ship_id = c->rec_ship;
        out->channel_id = c->hdr[col];
        out->ts_us = c->rec_ts;
        out->type = r.type;
        out->v = r.v;
        c->st.readings++;
        return 1;
    }
    c->in_rec = 0;
    return 0;
}

int ferry_csv_next(ferry_csv_t *c, ferry_reading_t *out, ferry_err_t *err)
{
    c->has_bad = 0;
    if (c->in_rec && csv_wide_emit(c, out))
        return FERRY_CSV_READING;
    for (;;) {
        const char *why = NULL;
        int r = csv_record(c, &why);
        if (r == REC_EOF)
            return FERRY_CSV_EOF;
        if (r == REC_IOERR) {
            ferry_err_set(err, FERRY_FATAL, "%s:%llu: read error: %s", c->name,
                          (unsigned long long)c->line, strerror(c->ioerr));
            c->ioerr = 0;
            c->pos = c->end;
            return FERRY_CSV_ERROR;
        }
        uint64_t line = c->line;
        if (r == REC_BAD) {
            c->st.records++;
            csv_keep_bad(c);
            return csv_bad(c, line, err, "%s", why);
        }
        if (csv_blank(c)) {
            csv_consume(c);
            c->st.blank_lines++;
            continue;
        }
        c->st.records++;
        char whybuf[320];
        ferry_err_t terr;
        if (csv_check_count(c, whybuf, sizeof whybuf) != 0) {
            csv_keep_bad(c);
            return csv_bad(c, line, err, "%s", whybuf);
        }
        long bom = csv_bom_field(c);
        if (bom >= 0) {
            csv_keep_bad(c);
            return csv_bad(c, line, err,
                           "field %ld has a UTF-8 byte order mark (U+FEFF) in it; only the very "
                           "start of the input may have one",
                           bom + 1);
        }
        if (c->shape == FERRY_CSV_NARROW) {
            const char *bad = csv_narrow(c, out, &terr);
            if (bad) {
                csv_keep_bad(c);
                return csv_bad(c, line, err, "%s", bad);
            }
            csv_consume(c); /* the bytes stay in the buffer until the next call */
            c->st.readings++;
            return FERRY_CSV_READING;
        }
        const char *bad = csv_wide(c, &terr, whybuf, sizeof whybuf);
        if (bad) {
            csv_keep_bad(c);
            return csv_bad(c, line, err, "%s", bad);
        }
        csv_consume(c);
        c->in_rec = 1;
        c->chan_next = 0;
        if (csv_wide_emit(c, out))
            return FERRY_CSV_READING;
    }
}

ferry_str_t ferry_csv_bad_record(const ferry_csv_t *c)
{
    ferry_str_t s = {"", 0};
    if (c && c->has_bad) {
        s.ptr = c->buf + c->bad_off;
        s.len = c->bad_len;
    }
    return s;
}

ferry_csv_stats_t ferry_csv_stats(const ferry_csv_t *c)
{
    return c->st;
}

char ferry_csv_delimiter(const ferry_csv_t *c)
{
    return c->delim;
}

int ferry_csv_has_header(const ferry_csv_t *c)
{
    return c->has_header;
}

void ferry_csv_close(ferry_csv_t *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->source);
    free(c->fixed_ship);
    free(c->unit);
    free(c->buf);
    free(c->f);
    ferry_buf_free(&c->scratch);
    free(c->hdr);
    free(c->hdr_block);
    free(c->chan_col);
    free(c);
}
