/* csv_record.c - the CSV reader's read buffer and tokenizer: fills the buffer with read(2)
 * (fread for streams without a descriptor) and parses one record at a time into fields over
 * it, RFC 4180 quoting, LF / CRLF / CR line ends (see csv_internal.h for the design). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv_internal.h"

int csv_fill(ferry_csv_t *c)
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

const char *csv_line_end(const ferry_csv_t *c, const char *b, const char *e)
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
int csv_record(ferry_csv_t *c, const char **why)
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

void csv_consume(ferry_csv_t *c)
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
long csv_bom_field(const ferry_csv_t *c)
{
    for (size_t i = 0; i < c->nf; i++)
        if (csv_has_bom(csv_fstr(c, i)))
            return (long)i;
    return -1;
}

int csv_blank(const ferry_csv_t *c)
{
    for (size_t i = 0; i < c->nf; i++)
        if (c->f[i].len)
            return 0;
    return 1;
}
