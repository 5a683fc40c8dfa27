/* csv.c - the CSV source of `ferry telemetry` (see csv.h and docs/csv.md): opening a
 * reader (configuration checks, byte order marks, the header decision) and turning each
 * record into narrow or wide readings. The stages below it are in csv_record.c (tokenizer),
 * csv_layout.c (columns) and csv_value.c (value typing); csv_internal.h describes the
 * design. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_internal.h"

void ferry_csv_conf_init(ferry_csv_conf_t *conf)
{
    memset(conf, 0, sizeof *conf);
    conf->shape = FERRY_CSV_NARROW;
    conf->header = FERRY_CSV_HEADER_AUTO;
    conf->time_unit = FERRY_TS_AUTO;
    conf->max_record_bytes = CSV_MAX_RECORD;
}

static char *csv_strdup(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        abort();
    return d;
}

/* Configuration checks first: nothing is read for a command line that cannot work. */
static ferry_status csv_check_conf(const ferry_csv_conf_t *conf, ferry_err_t *err)
{
    char d = conf->delimiter;
    if (d == '"' || d == '\n' || d == '\r' || d == ' ')
        return ferry_err_set(err, FERRY_USAGE,
                             "the delimiter cannot be a quote, a space or a newline");
    if (conf->shape != FERRY_CSV_NARROW && conf->shape != FERRY_CSV_WIDE)
        return ferry_err_set(err, FERRY_USAGE, "unknown CSV shape");
    if (conf->shape == FERRY_CSV_WIDE) {
        if (conf->header == FERRY_CSV_HEADER_NO)
            return ferry_err_set(err, FERRY_USAGE,
                                 "a wide CSV needs a header row (it names the channels): drop "
                                 "--header no");
        if (conf->channel_col || conf->value_col || conf->unit_col)
            return ferry_err_set(err, FERRY_USAGE,
                                 "--channel-col, --value-col and --unit-col are for "
                                 "--csv-shape narrow; a wide file has a column per "
                                 "channel");
    } else if (conf->n_channels) {
        return ferry_err_set(err, FERRY_USAGE, "choosing channel columns is for --csv-shape wide");
    }
    if (conf->fixed_ship && conf->ship_col)
        return ferry_err_set(err, FERRY_USAGE, "--ship and --ship-col exclude each other");
    if (conf->fixed_ship &&
        (!*conf->fixed_ship || !ferry_utf8_valid(conf->fixed_ship, strlen(conf->fixed_ship))))
        return ferry_err_set(err, FERRY_USAGE, "--ship must be a non-empty UTF-8 text");
    if (conf->unit && !ferry_utf8_valid(conf->unit, strlen(conf->unit)))
        return ferry_err_set(err, FERRY_USAGE, "the default unit must be UTF-8");
    return FERRY_OK;
}

/* A reader over fp with conf's settings and an empty read buffer; freed by ferry_csv_close. */
static ferry_csv_t *csv_alloc(FILE *fp, const char *name, const ferry_csv_conf_t *conf)
{
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
    c->delim = conf->delimiter;
    return c;
}

/* The start of the input: a UTF-8 byte order mark is skipped (it is not part of the first
 * field), a UTF-16 one refused; then the delimiter is detected unless it was given. */
static ferry_status csv_start(ferry_csv_t *c, ferry_err_t *err)
{
    while (c->end < 3 && !c->eof && csv_fill(c) > 0)
        ;
    if (c->end >= 3 && memcmp(c->buf, "\xef\xbb\xbf", 3) == 0)
        c->pos = 3;
    if (c->end >= 2 && (memcmp(c->buf, "\xff\xfe", 2) == 0 || memcmp(c->buf, "\xfe\xff", 2) == 0))
        /* spreadsheet "Unicode text" exports: say so instead of a line of garbage */
        return ferry_err_set(err, FERRY_POISON,
                             "%s: the input is UTF-16 (it starts with a UTF-16 byte order mark); "
                             "convert it to UTF-8 first, e.g. iconv -f UTF-16 -t UTF-8",
                             c->name);
    if (!c->delim)
        csv_detect_delimiter(c);
    return FERRY_OK;
}

/* Reads the first non-blank record and decides whether it is the header (conf->header,
 * docs/csv.md); a header is copied and consumed. *empty is set for an input without any
 * record. */
static ferry_status csv_header(ferry_csv_t *c, const ferry_csv_conf_t *conf, int *empty,
                               ferry_err_t *err)
{
    const char *why = NULL;
    int r;
    *empty = 0;
    for (;;) {
        r = csv_record(c, &why);
        if (r != REC_OK || !csv_blank(c))
            break;
        csv_consume(c);
        c->st.blank_lines++;
    }
    if (r == REC_IOERR)
        return ferry_err_set(err, FERRY_FATAL, "%s: read error: %s", c->name, strerror(c->ioerr));
    int must = conf->header == FERRY_CSV_HEADER_YES ||
               (conf->header == FERRY_CSV_HEADER_AUTO &&
                (conf->shape == FERRY_CSV_WIDE || csv_any_name_selector(conf)));
    if (r == REC_EOF) {
        c->eof = 1;
        *empty = 1;
        return FERRY_OK;
    }
    if (r == REC_BAD) {
        if (must)
            return ferry_err_set(err, FERRY_POISON, "%s:%llu: header row: %s", c->name,
                                 (unsigned long long)c->line, why);
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
    if (bom >= 0)
        return ferry_err_set(err, FERRY_POISON,
                             "%s:%llu: header column %ld has a UTF-8 byte order mark (U+FEFF) in "
                             "it; only the very start of the input may have one",
                             c->name, (unsigned long long)c->line, bom + 1);
    if (c->has_header) {
        csv_copy_header(c);
        c->hdr_line = c->line;
        c->ncols = c->nhdr;
        csv_consume(c);
        c->st.header_lines = 1;
    }
    return FERRY_OK;
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
    if (csv_check_conf(conf, err) != FERRY_OK)
        return NULL;
    ferry_csv_t *c = csv_alloc(fp, name, conf);
    int empty = 0;
    ferry_status st = csv_start(c, err);
    if (st == FERRY_OK)
        st = csv_header(c, conf, &empty, err);
    if (st == FERRY_OK && empty)
        return c; /* an empty input is no error: it has no readings */
    if (st == FERRY_OK)
        st = c->shape == FERRY_CSV_WIDE ? csv_layout_wide(c, conf, err)
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
