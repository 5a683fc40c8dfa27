/* pg.c - PostgreSQL connection, exec helpers, SQLSTATE classes and binary COPY
 * (see include/ferry/pg.h). */
#include "ferry/pg.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "pg_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

static ferry_status classify_sqlstate(const char *st)
{
    if (!st || !*st)
        return FERRY_RETRY; /* no SQLSTATE: client-side/connection failure */
    if (strncmp(st, "08", 2) == 0 || strncmp(st, "57P", 3) == 0 || strncmp(st, "53", 2) == 0 ||
        strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 || strcmp(st, "55P03") == 0)
        return FERRY_RETRY;
    if (strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0)
        return FERRY_POISON;
    if (strcmp(st, "28000") == 0 || strcmp(st, "28P01") == 0 || strcmp(st, "3D000") == 0)
        return FERRY_FATAL;
    return FERRY_FATAL;
}

static void one_line(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = '\0';
}

ferry_status ferry_pg_classify(ferry_pg_t *pg, const PGresult *res, const char *what,
                               ferry_err_t *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg)
        msg = pg && pg->conn ? PQerrorMessage(pg->conn) : "no connection";
    ferry_status st = classify_sqlstate(state);
    if (pg && pg->conn && PQstatus(pg->conn) != CONNECTION_OK)
        st = FERRY_RETRY;
    ferry_err_set(err, st, "%s: %s", what ? what : "PostgreSQL", msg);
    if (err) {
        snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state ? state : "");
        one_line(err->msg);
    }
    return st;
}

static int64_t jitter(int64_t ms)
{
    /* +-20 % so that many workers do not reconnect in lock-step. */
    int64_t span = ms / 5;
    if (span <= 0)
        return ms;
    return ms - span + (int64_t)(random() % (2 * span + 1));
}

/* A connection failure that retrying cannot fix (bad password, unknown database, bad
 * option): libpq gives no SQLSTATE for it at connect time, so look at the message. */
static int connect_error_is_permanent(const char *msg)
{
    static const char *const permanent[] = {
        "password authentication failed",
        "does not exist",
        "invalid connection option",
        "invalid URI",
        "no password supplied",
        "authentication failed",
        "invalid sslmode",
        "missing \"=\"",
        "unterminated quoted string",
        "invalid percent-encoded token",
        "invalid integer value",
    };
    for (size_t i = 0; i < sizeof permanent / sizeof *permanent; i++)
        if (strstr(msg, permanent[i]))
            return 1;
    return 0;
}

/* Server notices ("relation already exists, skipping") go to the debug log, not stderr. */
static void notice_to_log(void *arg, const char *message)
{
    ferry_debug("PostgreSQL: %s", message);
}

static ferry_status do_connect(ferry_pg_t *pg, ferry_err_t *err)
{
    int64_t wait = pg->retry.initial_ms;
    int64_t start = ferry_clock_mono_ms();
    int attempt = 0;
    char shown[512];
    ferry_pg_redact(pg->conninfo, shown, sizeof shown);
    for (;;) {
        attempt++;
        /* Keepalives and a TCP user timeout notice a peer whose host or network is gone; a
         * server that stops answering on a live host is noticed by the waits (pg_wait.c).
         * The connection string comes first: what it sets wins. */
        const char *keys[] = {"keepalives",       "keepalives_idle",  "keepalives_interval",
                              "keepalives_count", "tcp_user_timeout", "dbname",
                              "application_name", "connect_timeout",  NULL};
        const char *vals[] = {
            "1", "30", "10", "3", "60000", pg->conninfo, pg->app ? pg->app : "ferry", "10", NULL};
        pg->conn = PQconnectdbParams(keys, vals, 1);
        if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK) {
            PQsetNoticeProcessor(pg->conn, notice_to_log, NULL);
            /* doubles as text in their shortest exact form, whatever the server's default */
            PGresult *r = PQexec(pg->conn, "SET extra_float_digits = 3");
            PQclear(r);
            PQsetnonblocking(pg->conn, 1);
            pg->generation++;
            if (attempt > 1)
                ferry_info("connected to PostgreSQL %s after %d attempts", shown, attempt);
            return FERRY_OK;
        }
        /* libpq may quote a token of the connection string (a bad %-escape, a bare word): the
         * message is scrubbed of every password and unparsed word in it before it is shown */
        char msg[512];
        ferry_pg_scrub(pg->conninfo, pg->conn ? PQerrorMessage(pg->conn) : "out of memory", msg,
                       sizeof msg);
        one_line(msg);
        PQfinish(pg->conn);
        pg->conn = NULL;
        if (connect_error_is_permanent(msg))
            return ferry_err_set(err, FERRY_FATAL, "cannot connect to PostgreSQL (%s): %s", shown,
                                 msg);
        int64_t elapsed = ferry_clock_mono_ms() - start;
        if (!ferry_lifecycle_running())
            return ferry_err_set(err, FERRY_RETRY, "stopped while connecting to PostgreSQL");
        if (pg->retry.give_up_ms > 0 && elapsed >= pg->retry.give_up_ms)
            return ferry_err_set(err, FERRY_RETRY,
                                 "cannot connect to PostgreSQL (%s) after %d attempts in %lld s: %s"
                                 " -- is the server running and is --pg / FERRY_PG_URL right?",
                                 shown, attempt, (long long)(elapsed / 1000), msg);
        if (attempt == 1 || attempt % 10 == 0)
            ferry_warn("PostgreSQL not reachable (%s): %s; retrying", shown, msg);
        ferry_lifecycle_sleep_ms(jitter(wait));
        wait = wait * 2 > pg->retry.max_ms ? pg->retry.max_ms : wait * 2;
    }
}

ferry_pg_t *ferry_pg_connect(const char *conninfo, const char *app, const ferry_pg_retry_t *retry,
                             ferry_err_t *err)
{
    if (!conninfo || !*conninfo) {
        ferry_err_set(err, FERRY_USAGE, "no PostgreSQL connection given (--pg or FERRY_PG_URL)");
        return NULL;
    }
    ferry_pg_t *pg = calloc(1, sizeof *pg);
    if (!pg)
        abort();
    pg->conninfo = strdup(conninfo);
    pg->app = app ? strdup(app) : NULL;
    pg->retry.initial_ms = 200;
    pg->retry.max_ms = 10000;
    pg->retry.give_up_ms = 60000;
    if (retry)
        pg->retry = *retry;
    if (pg->retry.initial_ms <= 0)
        pg->retry.initial_ms = 200;
    if (pg->retry.max_ms < pg->retry.initial_ms)
        pg->retry.max_ms = pg->retry.initial_ms;
    if (do_connect(pg, err) != FERRY_OK) {
        ferry_pg_close(pg);
        return NULL;
    }
    return pg;
}

ferry_status ferry_pg_reconnect(ferry_pg_t *pg, ferry_err_t *err)
{
    if (pg->conn)
        PQfinish(pg->conn);
    pg->conn = NULL;
    return do_connect(pg, err);
}

ferry_status ferry_pg_reconnect_wait(ferry_pg_t *const *conns, size_t n, ferry_err_t *err)
{
    ferry_err_t e;
    ferry_err_clear(&e);
    while (ferry_lifecycle_running()) {
        size_t i = 0;
        while (i < n && ferry_pg_reconnect(conns[i], &e) == FERRY_OK)
            i++;
        if (i == n) {
            ferry_info("PostgreSQL is back");
            return FERRY_OK;
        }
        if (e.status == FERRY_FATAL) {
            ferry_error("%s; stopping (fix the connection settings, then start the worker again)",
                        e.msg);
            ferry_lifecycle_request_stop();
            return ferry_err_set(err, FERRY_FATAL, "%s", e.msg);
        }
    }
    return ferry_err_set(err, FERRY_RETRY, "stopped while reconnecting to PostgreSQL");
}

PGconn *ferry_pg_conn(ferry_pg_t *pg)
{
    return pg->conn;
}

int ferry_pg_ok(ferry_pg_t *pg)
{
    return pg && pg->conn && PQstatus(pg->conn) == CONNECTION_OK;
}

void ferry_pg_close(ferry_pg_t *pg)
{
    if (!pg)
        return;
    if (pg->conn)
        PQfinish(pg->conn);
    if (pg->conninfo) {
        memset(pg->conninfo, 0, strlen(pg->conninfo));
        free(pg->conninfo);
    }
    free(pg->app);
    pg_prepared_free(pg);
    free(pg);
}

PGresult *pg_collect(ferry_pg_t *pg, pg_watch_t *w, int want, ferry_err_t *err)
{
    PGresult *last = NULL, *bad = NULL;
    for (;;) {
        int r = pg_wait_result(pg, w, err);
        if (r != 0) {
            if (r == 1)
                ferry_err_set(err, FERRY_RETRY, "stopped");
            PQclear(last);
            PQclear(bad);
            return NULL;
        }
        PGresult *res = PQgetResult(pg->conn);
        if (!res)
            break;
        ExecStatusType s = PQresultStatus(res);
        if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ||
            (want >= 0 && s == (ExecStatusType)want)) {
            PQclear(last);
            last = res;
            if (s == PGRES_COPY_IN || s == PGRES_COPY_OUT)
                break; /* the command goes on as a COPY */
        } else if (!bad) {
            bad = res;
        } else {
            PQclear(res);
        }
    }
    if (bad) {
        ferry_pg_classify(pg, bad, w->what, err);
        PQclear(bad);
        PQclear(last);
        return NULL;
    }
    if (!last)
        ferry_err_set(err, FERRY_RETRY, "%s: no result from PostgreSQL", w->what);
    return last;
}

ferry_status ferry_pg_exec(ferry_pg_t *pg, const char *sql, ferry_err_t *err)
{
    if (!ferry_pg_ok(pg))
        return ferry_err_set(err, FERRY_RETRY, "PostgreSQL connection lost");
    if (!PQsendQuery(pg->conn, sql))
        return ferry_pg_classify(pg, NULL, "SQL", err);
    pg_watch_t w;
    pg_watch_start(&w, "SQL", 0);
    PGresult *res = pg_collect(pg, &w, -1, err);
    if (!res)
        return err ? err->status : FERRY_RETRY;
    PQclear(res);
    return FERRY_OK;
}

PGresult *ferry_pg_query_binary(ferry_pg_t *pg, const char *sql, int nparams, const Oid *types,
                                const char *const *values, const int *lengths, const int *formats,
                                ferry_err_t *err)
{
    if (!ferry_pg_ok(pg)) {
        ferry_err_set(err, FERRY_RETRY, "PostgreSQL connection lost");
        return NULL;
    }
    if (!PQsendQueryParams(pg->conn, sql, nparams, types, values, lengths, formats, 0)) {
        ferry_pg_classify(pg, NULL, "SQL", err);
        return NULL;
    }
    pg_watch_t w;
    pg_watch_start(&w, "SQL", 0);
    return pg_collect(pg, &w, -1, err);
}

PGresult *ferry_pg_query(ferry_pg_t *pg, const char *sql, int nparams, const char *const *params,
                         ferry_err_t *err)
{
    return ferry_pg_query_binary(pg, sql, nparams, NULL, params, NULL, NULL, err);
}

ferry_status ferry_pg_query_value(ferry_pg_t *pg, const char *sql, int nparams,
                                  const char *const *params, char *out, size_t outsz,
                                  ferry_err_t *err)
{
    PGresult *res = ferry_pg_query(pg, sql, nparams, params, err);
    if (!res)
        return err ? err->status : FERRY_FATAL;
    const char *v = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "";
    snprintf(out, outsz, "%s", v);
    PQclear(res);
    return FERRY_OK;
}

char *ferry_pg_quote_ident(const char *name)
{
    if (!name || !*name)
        return NULL;
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_pg_append_ident(&b, name);
    ferry_buf_cstr(&b);
    return (char *)b.data;
}

/* One identifier of an SQL name at s[*i]: "quoted" (with "" for a quote) or unquoted (ASCII
 * letters folded to lower case, as PostgreSQL's scanner does). */
static char *parse_ident(const char *s, size_t *i, ferry_err_t *err)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    size_t p = *i;
    if (s[p] == '"') {
        for (p++;; p++) {
            if (!s[p]) {
                ferry_buf_free(&b);
                ferry_err_set(err, FERRY_USAGE, "unterminated quoted identifier");
                return NULL;
            }
            if (s[p] == '"') {
                if (s[p + 1] != '"')
                    break;
                p++;
            }
            ferry_buf_append_byte(&b, (unsigned char)s[p]);
        }
        p++;
        if (b.len == 0) {
            ferry_buf_free(&b);
            ferry_err_set(err, FERRY_USAGE, "zero-length quoted identifier");
            return NULL;
        }
    } else {
        for (; s[p]; p++) {
            unsigned char c = (unsigned char)s[p];
            int start = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
            if (!(start || (b.len && ((c >= '0' && c <= '9') || c == '$'))))
                break;
            ferry_buf_append_byte(&b, (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c);
        }
        if (b.len == 0) {
            ferry_buf_free(&b);
            ferry_err_set(err, FERRY_USAGE, "expected an identifier at \"%.40s\"", s + p);
            return NULL;
        }
    }
    /* PostgreSQL would cut a longer name to 63 bytes (NAMEDATALEN - 1) and act on another
     * object than the one named; refused instead */
    if (b.len > 63) {
        ferry_err_set(err, FERRY_USAGE, "identifier of %zu bytes (PostgreSQL keeps at most 63)",
                      b.len);
        ferry_buf_free(&b);
        return NULL;
    }
    *i = p;
    ferry_buf_cstr(&b);
    return (char *)b.data;
}

static size_t skip_space(const char *s, size_t i)
{
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
        i++;
    return i;
}

ferry_status ferry_pg_parse_qualified(const char *text, char **schema, char **name,
                                      ferry_err_t *err)
{
    *schema = *name = NULL;
    if (!text)
        return ferry_err_set(err, FERRY_USAGE, "no table name given");
    char *parts[3] = {NULL, NULL, NULL};
    int n = 0;
    size_t i = skip_space(text, 0);
    ferry_err_t e;
    for (;;) {
        char *id = parse_ident(text, &i, &e);
        if (!id || n == 2) {
            free(id);
            for (int k = 0; k < n; k++)
                free(parts[k]);
            return ferry_err_set(err, FERRY_USAGE, "invalid table name '%.200s': %s", text,
                                 id ? "at most schema.table" : e.msg);
        }
        parts[n++] = id;
        i = skip_space(text, i);
        if (text[i] != '.')
            break;
        i = skip_space(text, i + 1);
    }
    if (text[i]) {
        for (int k = 0; k < n; k++)
            free(parts[k]);
        return ferry_err_set(err, FERRY_USAGE,
                             "invalid table name '%.200s': unexpected '%c' (quote names that are"
                             " not plain identifiers: '\"My Table\"')",
                             text, text[i]);
    }
    if (n == 2) {
        *schema = parts[0];
        *name = parts[1];
    } else {
        *name = parts[0];
    }
    return FERRY_OK;
}

char *ferry_pg_quote_qualified(const char *text)
{
    char *schema, *name;
    if (ferry_pg_parse_qualified(text, &schema, &name, NULL) != FERRY_OK)
        return NULL;
    ferry_buf_t b = FERRY_BUF_INIT;
    if (schema) {
        ferry_pg_append_ident(&b, schema);
        ferry_buf_append_byte(&b, '.');
    }
    ferry_pg_append_ident(&b, name);
    free(schema);
    free(name);
    ferry_buf_cstr(&b);
    return (char *)b.data;
}

void ferry_pg_append_ident(ferry_buf_t *b, const char *name)
{
    ferry_buf_append_byte(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            ferry_buf_append_byte(b, '"');
        ferry_buf_append_byte(b, (unsigned char)*p);
    }
    ferry_buf_append_byte(b, '"');
}

void ferry_pg_array_add(ferry_buf_t *b, const char *s, size_t len)
{
    ferry_buf_append_byte(b, b->len ? ',' : '{');
    ferry_buf_append_byte(b, '"');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            ferry_buf_append_byte(b, '\\');
        ferry_buf_append_byte(b, (unsigned char)s[i]);
    }
    ferry_buf_append_byte(b, '"');
}

const char *ferry_pg_array_close(ferry_buf_t *b)
{
    if (!b->len)
        ferry_buf_append_byte(b, '{');
    ferry_buf_append_byte(b, '}');
    return ferry_buf_cstr(b);
}

/* ---- binary COPY writer ----------------------------------------------------------------- */

#define COPY_FLUSH_BYTES (256 * 1024)

struct ferry_pg_copy {
    ferry_pg_t *pg;
    ferry_buf_t buf;
    int failed;
    char errmsg[256];
};

static void copy_fail(ferry_pg_copy_t *cp, const char *msg)
{
    cp->failed = 1;
    snprintf(cp->errmsg, sizeof cp->errmsg, "%.250s", msg);
}

/* Hands the buffered rows to libpq; on a non-blocking connection that may have to wait for
 * the server to take what was sent before (watching it, see pg_wait.c). */
static void copy_flush(ferry_pg_copy_t *cp)
{
    if (cp->failed || cp->buf.len == 0)
        return;
    pg_watch_t w;
    pg_watch_start(&w, "COPY", 0);
    ferry_err_t err;
    for (;;) {
        int r = PQputCopyData(cp->pg->conn, (const char *)cp->buf.data, (int)cp->buf.len);
        if (r > 0)
            break;
        if (r < 0) {
            copy_fail(cp, PQerrorMessage(cp->pg->conn));
            break;
        }
        if (pg_wait(cp->pg, &w, 1, &err) != 0 || PQflush(cp->pg->conn) < 0) {
            copy_fail(cp, cp->pg->conn ? PQerrorMessage(cp->pg->conn) : err.msg);
            break;
        }
    }
    ferry_buf_reset(&cp->buf);
}

ferry_pg_copy_t *ferry_pg_copy_begin(ferry_pg_t *pg, const char *copy_sql, ferry_err_t *err)
{
    if (!ferry_pg_ok(pg)) {
        ferry_err_set(err, FERRY_RETRY, "PostgreSQL connection lost");
        return NULL;
    }
    if (!PQsendQuery(pg->conn, copy_sql)) {
        ferry_pg_classify(pg, NULL, "COPY", err);
        return NULL;
    }
    pg_watch_t w;
    pg_watch_start(&w, "COPY", 0);
    PGresult *res = pg_collect(pg, &w, PGRES_COPY_IN, err);
    if (!res)
        return NULL;
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        ferry_err_set(err, FERRY_FATAL, "COPY: the statement did not start a COPY FROM STDIN");
        PQclear(res);
        return NULL;
    }
    PQclear(res);
    ferry_pg_copy_t *cp = calloc(1, sizeof *cp);
    if (!cp)
        abort();
    cp->pg = pg;
    static const unsigned char sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
    ferry_buf_append(&cp->buf, sig, sizeof sig);
    ferry_buf_append_be32(&cp->buf, 0); /* flags */
    ferry_buf_append_be32(&cp->buf, 0); /* header extension length */
    return cp;
}

void ferry_pg_copy_row(ferry_pg_copy_t *cp, int16_t nfields)
{
    if (cp->buf.len >= COPY_FLUSH_BYTES)
        copy_flush(cp);
    ferry_buf_append_be16(&cp->buf, (uint16_t)nfields);
}

void ferry_pg_copy_null(ferry_pg_copy_t *cp)
{
    ferry_buf_append_be32(&cp->buf, 0xffffffffu);
}

void ferry_pg_copy_text(ferry_pg_copy_t *cp, const char *s, size_t len)
{
    ferry_buf_append_be32(&cp->buf, (uint32_t)len);
    ferry_buf_append(&cp->buf, s, len);
}

void ferry_pg_copy_int8(ferry_pg_copy_t *cp, int64_t v)
{
    ferry_buf_append_be32(&cp->buf, 8);
    ferry_buf_append_be64(&cp->buf, (uint64_t)v);
}

void ferry_pg_copy_int4(ferry_pg_copy_t *cp, int32_t v)
{
    ferry_buf_append_be32(&cp->buf, 4);
    ferry_buf_append_be32(&cp->buf, (uint32_t)v);
}

void ferry_pg_copy_float8(ferry_pg_copy_t *cp, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    ferry_buf_append_be32(&cp->buf, 8);
    ferry_buf_append_be64(&cp->buf, u);
}

void ferry_pg_copy_bool(ferry_pg_copy_t *cp, int v)
{
    ferry_buf_append_be32(&cp->buf, 1);
    ferry_buf_append_byte(&cp->buf, v ? 1 : 0);
}

void ferry_pg_copy_timestamptz(ferry_pg_copy_t *cp, int64_t unix_us)
{
    /* PostgreSQL counts from 2000-01-01 00:00:00 UTC. */
    ferry_pg_copy_int8(cp, unix_us - 946684800000000LL);
}

ferry_status ferry_pg_copy_end(ferry_pg_copy_t *cp, int64_t *rows, ferry_err_t *err)
{
    ferry_buf_append_be16(&cp->buf, 0xffff); /* trailer */
    copy_flush(cp);
    ferry_pg_t *pg = cp->pg;
    ferry_status st = FERRY_OK;
    pg_watch_t w;
    pg_watch_start(&w, "COPY", 0);
    if (!pg->conn) {
        st = ferry_err_set(err, FERRY_RETRY, "COPY: sending failed: %s", cp->errmsg);
        goto out;
    }
    for (;;) {
        int r = PQputCopyEnd(pg->conn, cp->failed ? "client failed while sending" : NULL);
        if (r > 0)
            break;
        if (r < 0 || pg_wait(pg, &w, 1, err) != 0) {
            st = ferry_err_set(err, FERRY_RETRY, "COPY: %s",
                               pg->conn ? PQerrorMessage(pg->conn) : "connection dropped");
            goto out;
        }
    }
    PGresult *res = pg_collect(pg, &w, -1, err);
    if (cp->failed) {
        PQclear(res);
        st = ferry_err_set(err, FERRY_RETRY, "COPY: sending failed: %s", cp->errmsg);
    } else if (!res) {
        st = err ? err->status : FERRY_RETRY;
    } else {
        if (rows)
            *rows = strtoll(PQcmdTuples(res), NULL, 10);
        PQclear(res);
    }
out:
    ferry_buf_free(&cp->buf);
    free(cp);
    return st;
}

void ferry_pg_copy_abort(ferry_pg_copy_t *cp, const char *reason)
{
    if (!cp)
        return;
    PQputCopyEnd(cp->pg->conn, reason ? reason : "aborted by ferry");
    PGresult *res;
    while ((res = PQgetResult(cp->pg->conn)) != NULL)
        PQclear(res);
    ferry_buf_free(&cp->buf);
    free(cp);
}
