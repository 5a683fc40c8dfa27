/* csv_internal.h - the CSV reader's state and the functions its stages share (csv.h is
 * the interface for callers; this header is only for producers/telemetry/csv*.c):
 *
 *   csv_value.c   typing of value text (ferry_csv_type_value)
 *   csv_record.c  the read buffer and the tokenizer: physical lines into records of fields
 *   csv_layout.c  open-time layout: delimiter detection, the header row, column selection
 *   csv.c         ferry_csv_open / ferry_csv_next: records into narrow or wide readings
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
#ifndef FERRY_PRODUCERS_TELEMETRY_CSV_INTERNAL_H
#define FERRY_PRODUCERS_TELEMETRY_CSV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "csv.h"
#include "ferry/buf.h"

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

static inline int csv_is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v';
}

static inline int csv_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Field i of the record last parsed. */
static inline ferry_str_t csv_fstr(const ferry_csv_t *c, size_t i)
{
    const csv_field_t *f = &c->f[i];
    ferry_str_t s = {(f->in_scratch ? (const char *)c->scratch.data : c->buf) + f->off, f->len};
    return s;
}

/* ---- csv_record.c ------------------------------------------------------------------------ */

/* Reads more input after moving the unread part to the front. Returns 1 when bytes were
 * added, 0 at EOF or on a read error (ioerr set), -1 when the buffer holds max_record
 * bytes of one unfinished record. */
int csv_fill(ferry_csv_t *c);

/* The position after the line break (LF, CRLF or a lone CR) that ends the physical line
 * starting at b, or NULL when the buffer ends first. A CR at the very end of the buffer ends
 * a line only at EOF: an LF may follow in the next read. */
const char *csv_line_end(const ferry_csv_t *c, const char *b, const char *e);

/* The next record (REC_OK, REC_BAD with *why, REC_EOF or REC_IOERR), refilling the buffer
 * as needed. The record returned is not consumed (csv_consume does that); the rest of a line
 * too long to hold, reported bad before (skip_to_nl), is skipped here first. On REC_BAD,
 * rec_len/rec_nl cover the bytes up to the next physical line (or skip_to_nl is set for a
 * line too long to hold). */
int csv_record(ferry_csv_t *c, const char **why);

/* Consumes the record last returned by csv_record. */
void csv_consume(ferry_csv_t *c);

/* The 0-based index of the first field of the current record with a UTF-8 byte order mark
 * (U+FEFF) in it, or -1. Only the one at the very start of the input is stripped
 * (ferry_csv_open); one anywhere else (files concatenated, a pasted id) would silently
 * become part of an id. */
long csv_bom_field(const ferry_csv_t *c);

/* 1 when every field of the current record is empty. */
int csv_blank(const ferry_csv_t *c);

/* ---- csv_layout.c ------------------------------------------------------------------------ */

/* Picks the delimiter from the first non-blank line: the most frequent of , ; tab |
 * outside double quotes (ties in that order); ',' when none occurs. */
void csv_detect_delimiter(ferry_csv_t *c);

/* 1 when any column selector of conf is a name (not a number). */
int csv_any_name_selector(const ferry_csv_conf_t *conf);

/* Headerless narrow time column (0-based), as the header decision needs it. */
long csv_default_time_pos(const ferry_csv_conf_t *conf);

/* Copies the fields of the current record as the header names (hdr, hdr_block, nhdr). */
void csv_copy_header(ferry_csv_t *c);

/* Resolves the columns of a narrow or wide file (c_*, chan_col, need) from conf and the
 * header; FERRY_USAGE for a selector that does not fit, FERRY_POISON for a bad header. */
ferry_status csv_layout_narrow(ferry_csv_t *c, const ferry_csv_conf_t *conf, ferry_err_t *err);
ferry_status csv_layout_wide(ferry_csv_t *c, const ferry_csv_conf_t *conf, ferry_err_t *err);

#endif
