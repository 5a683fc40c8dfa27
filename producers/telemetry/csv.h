/* csv.h - the CSV source of `ferry telemetry`: narrow and wide exports into readings.
 *
 * Reads CSV as real exports look (docs/csv.md is the user-facing description): with or
 * without a header row; ',' ';' tab (or '|') delimiters, detected from the first line or
 * forced; RFC 4180 quoting (doubled quotes, quoted fields spanning lines); a UTF-8 BOM;
 * CRLF or LF; blank lines skipped; white space around unquoted fields trimmed.
 *
 *   narrow  one reading per record: ship, channel, timestamp, value[, unit]
 *   wide    one record per ship and timestamp, one column per channel (header required);
 *           an empty cell is an absent reading
 *
 * A record that cannot be used (wrong column count, bad timestamp, empty ship or channel,
 * bad quoting, unterminated quote at EOF, invalid UTF-8 or a NUL byte) is reported by
 * ferry_csv_next() as a bad line with the physical line number where it starts; the
 * caller skips it or stops. Every record is counted (ferry_csv_stats).
 *
 * Reading is zero-copy over one big read buffer: the strings of a returned reading point
 * into the reader and stay valid until the next ferry_csv_next() or ferry_csv_close(). */
#ifndef FERRY_PRODUCERS_TELEMETRY_CSV_H
#define FERRY_PRODUCERS_TELEMETRY_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ferry/err.h"
#include "ferry/telemetry.h"
#include "ferry/timeparse.h"

typedef enum ferry_csv_shape {
    FERRY_CSV_NARROW = 0,
    FERRY_CSV_WIDE = 1,
} ferry_csv_shape;

typedef enum ferry_csv_header {
    FERRY_CSV_HEADER_AUTO = 0, /* see docs/csv.md: wide or a column chosen by name -> yes;
                                  else yes unless the first record's time field parses */
    FERRY_CSV_HEADER_YES,
    FERRY_CSV_HEADER_NO,
} ferry_csv_header;

/* Column selectors are a header name (matched case-insensitively for ASCII letters, after
 * trimming) or a 1-based column number; a selector made only of digits is always a
 * number. NULL means the default (docs/csv.md). The strings are copied by
 * ferry_csv_open(); the conf need not outlive it. */
typedef struct ferry_csv_conf {
    ferry_csv_shape shape;       /* --csv-shape */
    char delimiter;              /* --delimiter: ',', ';', '\t', '|', ...; 0 = detect */
    ferry_csv_header header;     /* --header */
    const char *ship_col;        /* --ship-col */
    const char *channel_col;     /* --channel-col (narrow only) */
    const char *time_col;        /* --time-col */
    const char *value_col;       /* --value-col (narrow only) */
    const char *unit_col;        /* --unit-col (narrow only; optional) */
    const char *fixed_ship;      /* --ship: every reading's ship id; the file has no ship column */
    const char *unit;            /* unit for readings without one (no unit column or empty cell) */
    const char *const *channels; /* wide: only these columns are channels (selectors) ... */
    size_t n_channels;           /* ... n_channels of them; 0 = every other column */
    ferry_ts_unit time_unit;     /* --time-unit: unit of epoch numbers */
    int32_t tz_offset_s;         /* offset of ISO timestamps without a zone (0 = UTC) */
    const char *source;          /* reading.source; NULL = "csv:<name>", "" = none */
    size_t max_record_bytes;     /* longest record accepted (default 16 MiB) */
    int (*running)(void);        /* asked when a read is interrupted by a signal: 0 ends the input
                                    there like EOF (pass ferry_lifecycle_running); NULL = keep reading */
} ferry_csv_conf_t;

/* Counters of one reader. Every physical line is in `lines`; every non-blank record after
 * the header is in `records` and is either good or in `bad_lines`. */
typedef struct ferry_csv_stats {
    uint64_t lines;        /* physical lines consumed (header, blank and bad ones included) */
    uint64_t header_lines; /* 0 or 1 */
    uint64_t blank_lines;  /* blank (or all-empty) records skipped */
    uint64_t records;      /* data records, good or bad */
    uint64_t bad_lines;    /* records reported bad */
    uint64_t readings;     /* readings returned */
    uint64_t empty_cells;  /* wide: empty channel cells (absent readings) */
} ferry_csv_stats_t;

typedef struct ferry_csv ferry_csv_t;

/* Return values of ferry_csv_next(). */
enum {
    FERRY_CSV_READING = 1, /* *out holds a reading */
    FERRY_CSV_EOF = 0,     /* no more input */
    FERRY_CSV_BAD = -1,    /* a bad record: err = "NAME:LINE: reason" (FERRY_POISON); the
                              next call continues after it */
    FERRY_CSV_ERROR = -2,  /* read error (FERRY_FATAL); the reader is at EOF afterwards */
};

/* Defaults: narrow, detect delimiter, header auto, default columns, auto time unit, UTC,
 * 16 MiB max record. */
void ferry_csv_conf_init(ferry_csv_conf_t *conf);

/* Opens a reader over fp (not taken: the caller closes it after ferry_csv_close). The
 * reader reads fp's file descriptor directly (read(2), so a live pipe yields records as
 * they arrive; fread only for streams without one, like fmemopen), so nothing may have
 * been read from fp through stdio before. Reads
 * the first line(s) to detect the delimiter and the header and to resolve the columns.
 * `name` is used in messages ("NAME:LINE: reason") and the default source. Returns a new
 * reader to free with ferry_csv_close(), or NULL with *err: FERRY_USAGE for an unusable
 * configuration or a column that does not exist, FERRY_POISON for an unusable header row,
 * FERRY_FATAL for a read error. An empty file opens fine and yields EOF. */
ferry_csv_t *ferry_csv_open(FILE *fp, const char *name, const ferry_csv_conf_t *conf,
                            ferry_err_t *err);

/* Next reading; see the FERRY_CSV_* return values. The strings of *out stay valid until
 * the next call or ferry_csv_close(). */
int ferry_csv_next(ferry_csv_t *csv, ferry_reading_t *out, ferry_err_t *err);

/* The raw bytes of the record last reported as FERRY_CSV_BAD (for a dead-letter copy),
 * valid until the next call; at most max_record_bytes. Empty when there is none. */
ferry_str_t ferry_csv_bad_record(const ferry_csv_t *csv);

ferry_csv_stats_t ferry_csv_stats(const ferry_csv_t *csv);

/* The delimiter in use (after detection) and whether a header row was read. */
char ferry_csv_delimiter(const ferry_csv_t *csv);
int ferry_csv_has_header(const ferry_csv_t *csv);

/* Frees the reader (not fp). NULL is allowed. */
void ferry_csv_close(ferry_csv_t *csv);

/* Types a value text the way the reader does (docs/csv.md "Value types"): trims spaces,
 * then integer -> LONG (DOUBLE if it does not fit int64), decimal/exponent/nan/inf ->
 * DOUBLE, true/false -> BOOL, empty -> NULL, anything else -> STRING pointing into s.
 * Sets out->type and out->v only. */
void ferry_csv_type_value(const char *s, size_t len, ferry_reading_t *out);

#endif
