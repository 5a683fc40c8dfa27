/* csv_layout.c - what ferry_csv_open decides before the first reading: the delimiter, the
 * header row's names, and which column is the ship, channel, time, value and unit (narrow)
 * or which columns are channels (wide), by selector or by the default names (docs/csv.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv_internal.h"
#include "ferry/map.h"

static const char *const csv_ship_names[] = {"ship",   "ship_id",   "shipid",
                                             "vessel", "vessel_id", NULL};
static const char *const csv_chan_names[] = {
    "channel",      "channel_id", "channelid", "data_channel_id",
    "channel_name", "sensor",     "sensor_id", NULL};
static const char *const csv_time_names[] = {"timestamp", "ts",        "time",       "created_time",
                                             "datetime",  "date_time", "event_time", NULL};
static const char *const csv_value_names[] = {"value", "val", NULL};
static const char *const csv_unit_names[] = {"unit", "units", "uom", NULL};

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

void csv_detect_delimiter(ferry_csv_t *c)
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

int csv_any_name_selector(const ferry_csv_conf_t *conf)
{
    if (csv_is_name(conf->ship_col) || csv_is_name(conf->channel_col) ||
        csv_is_name(conf->time_col) || csv_is_name(conf->value_col) || csv_is_name(conf->unit_col))
        return 1;
    for (size_t i = 0; i < conf->n_channels; i++)
        if (csv_is_name(conf->channels[i]))
            return 1;
    return 0;
}

long csv_default_time_pos(const ferry_csv_conf_t *conf)
{
    if (conf->time_col && csv_all_digits(conf->time_col)) {
        long n = strlen(conf->time_col) > 9 ? 0 : atol(conf->time_col);
        return n - 1;
    }
    return conf->fixed_ship ? 1 : 2;
}

void csv_copy_header(ferry_csv_t *c)
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

ferry_status csv_layout_narrow(ferry_csv_t *c, const ferry_csv_conf_t *conf, ferry_err_t *err)
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

ferry_status csv_layout_wide(ferry_csv_t *c, const ferry_csv_conf_t *conf, ferry_err_t *err)
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
