/* pg_secrets.c - what of a connection string may be shown (see include/ferry/pg.h).
 *
 * A connection string is parsed here the way libpq parses it (a postgresql:// URI with
 * user:password@ and ?password=, or key=value pairs with quoting), so that every password it
 * carries is known: ferry_pg_redact() shows the string without them, ferry_pg_scrub() takes
 * them out of a message that may quote them (libpq echoes a bad URI token verbatim). What does
 * not parse is not shown at all: a bare word handed to libpq is a database name, or a
 * password file read by mistake. */
#include "ferry/buf.h"
#include "ferry/pg.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char **s;
    size_t n;
} secrets_t;

static void secret_add(secrets_t *sec, const char *s, size_t len)
{
    if (!sec || !len)
        return;
    sec->s = ferry_xrealloc(sec->s, sec->n + 1, sizeof *sec->s);
    sec->s[sec->n++] = ferry_xstrndup(s, len);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* s[0..len) with %XX decoded (a malformed escape is kept as written). */
static char *pct_decode(const char *s, size_t len)
{
    char *out = ferry_xcalloc(len + 1, 1);
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

/* A password value as written and as libpq decodes it: both may appear in messages. */
static void secret_add_pct(secrets_t *sec, const char *s, size_t len)
{
    secret_add(sec, s, len);
    char *d = pct_decode(s, len);
    secret_add(sec, d, strlen(d));
    free(d);
}

static int is_uri(const char *c)
{
    return strncmp(c, "postgresql://", 13) == 0 || strncmp(c, "postgres://", 11) == 0;
}

static void parse_uri(const char *c, ferry_buf_t *shown, secrets_t *sec)
{
    const char *auth = strstr(c, "://") + 3;
    ferry_buf_append(shown, c, (size_t)(auth - c));
    /* userinfo ends at the last '@' before the path: a password with an unescaped '@' or '?'
     * is still hidden whole */
    const char *path = auth + strcspn(auth, "/");
    const char *at = NULL;
    for (const char *p = auth; p < path; p++)
        if (*p == '@')
            at = p;
    const char *p = auth;
    const char *first_at = at ? memchr(auth, '@', (size_t)(at - auth) + 1) : NULL;
    if (at && first_at != at) {
        /* more than one '@': libpq ends the user info at the first, so what lies between
         * (a '?' query with password=, say) is read another way than the last '@' suggests;
         * neither reading is shown */
        ferry_buf_append_str(shown, "***@");
        secret_add_pct(sec, auth, (size_t)(at - auth));
        p = at + 1;
    } else if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon) {
            ferry_buf_append(shown, auth, (size_t)(colon - auth));
            ferry_buf_append_str(shown, ":***");
            secret_add_pct(sec, colon + 1, (size_t)(at - colon - 1));
        } else {
            ferry_buf_append(shown, auth, (size_t)(at - auth));
        }
        ferry_buf_append_byte(shown, '@');
        p = at + 1;
    }
    const char *q = strchr(p, '?');
    if (!q) {
        ferry_buf_append_str(shown, p);
        return;
    }
    ferry_buf_append(shown, p, (size_t)(q + 1 - p));
    p = q + 1;
    while (*p) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        char *key = pct_decode(p, eq ? (size_t)(eq - p) : len);
        if (eq && strcmp(key, "password") == 0) {
            ferry_buf_append(shown, p, (size_t)(eq + 1 - p));
            ferry_buf_append_str(shown, "***");
            secret_add_pct(sec, eq + 1, len - (size_t)(eq + 1 - p));
        } else {
            ferry_buf_append(shown, p, len);
        }
        free(key);
        p += len;
        if (*p == '&')
            ferry_buf_append_byte(shown, (unsigned char)*p++);
    }
}

/* "password", optional white space, '=' anywhere in s[0..len) */
static int looks_like_password(const char *s, size_t len)
{
    for (size_t i = 0; i + 8 <= len; i++) {
        if (memcmp(s + i, "password", 8) != 0)
            continue;
        size_t j = i + 8;
        while (j < len && isspace((unsigned char)s[j]))
            j++;
        if (j < len && s[j] == '=')
            return 1;
    }
    return 0;
}

/* key = value pairs as libpq reads them: a value is 'quoted' (\ escapes) or runs to the next
 * space (\ escapes too). What does not parse is hidden from there on. */
static void parse_kv(const char *c, ferry_buf_t *shown, secrets_t *sec)
{
    const char *p = c;
    while (*p) {
        const char *ws = p;
        while (isspace((unsigned char)*p))
            p++;
        ferry_buf_append(shown, ws, (size_t)(p - ws));
        if (!*p)
            break;
        const char *key = p;
        while (*p && *p != '=' && !isspace((unsigned char)*p))
            p++;
        size_t klen = (size_t)(p - key);
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '=' || klen == 0) {
            /* not key=value: a bare word is a database name or a password file read by
             * mistake; neither is shown, nor anything after it */
            ferry_buf_append_str(shown, "***");
            size_t tl = strlen(key);
            while (tl && isspace((unsigned char)key[tl - 1]))
                tl--;
            secret_add(sec, key, tl);
            return;
        }
        p++;
        while (isspace((unsigned char)*p))
            p++;
        ferry_buf_append(shown, key, (size_t)(p - key));
        int is_pw = klen == 8 && strncmp(key, "password", 8) == 0;
        ferry_buf_t val = FERRY_BUF_INIT;
        const char *vstart = p;
        if (*p == '\'') {
            p++;
            while (*p && *p != '\'') {
                if (*p == '\\' && p[1])
                    p++;
                ferry_buf_append_byte(&val, (unsigned char)*p++);
            }
            if (*p)
                p++;
        } else {
            while (*p && !isspace((unsigned char)*p)) {
                if (*p == '\\' && p[1])
                    p++;
                ferry_buf_append_byte(&val, (unsigned char)*p++);
            }
        }
        /* `host= password=x`: libpq takes what follows a space after '=' as the value, so
         * that host is "password=x"; a value that reads as a password assignment is hidden
         * as one (libpq would echo it in "could not translate host name") */
        if (!is_pw && looks_like_password((const char *)val.data, val.len))
            is_pw = 1;
        if (is_pw) {
            ferry_buf_append_str(shown, "***");
            secret_add(sec, vstart, (size_t)(p - vstart));
            secret_add(sec, (const char *)val.data, val.len);
        } else {
            ferry_buf_append(shown, vstart, (size_t)(p - vstart));
        }
        ferry_buf_free(&val);
    }
}

/* Last line of defence: whatever reading put it there, a "password" followed by '=' in the
 * text to be shown has its value (to the next '&', white space or end) hidden. */
static void hide_leftovers(ferry_buf_t *shown, secrets_t *sec)
{
    ferry_buf_t out = FERRY_BUF_INIT;
    const char *t = ferry_buf_cstr(shown);
    size_t n = shown->len;
    for (size_t i = 0; i < n;) {
        size_t j = i + 8;
        if (i + 8 <= n && memcmp(t + i, "password", 8) == 0) {
            while (j < n && isspace((unsigned char)t[j]))
                j++;
            if (j < n && t[j] == '=') {
                j++;
                while (j < n && isspace((unsigned char)t[j]))
                    j++;
                size_t v = j;
                while (j < n && t[j] != '&' && !isspace((unsigned char)t[j]))
                    j++;
                ferry_buf_append(&out, t + i, v - i);
                if (j - v == 3 && memcmp(t + v, "***", 3) == 0) {
                    ferry_buf_append_str(&out, "***");
                } else {
                    ferry_buf_append_str(&out, "***");
                    secret_add_pct(sec, t + v, j - v);
                }
                i = j;
                continue;
            }
        }
        ferry_buf_append_byte(&out, (unsigned char)t[i++]);
    }
    ferry_buf_free(shown);
    *shown = out;
}

static void parse(const char *conninfo, ferry_buf_t *shown, secrets_t *sec)
{
    if (is_uri(conninfo))
        parse_uri(conninfo, shown, sec);
    else
        parse_kv(conninfo, shown, sec);
    hide_leftovers(shown, sec);
}

static void secrets_free(secrets_t *sec)
{
    for (size_t i = 0; i < sec->n; i++) {
        memset(sec->s[i], 0, strlen(sec->s[i]));
        free(sec->s[i]);
    }
    free(sec->s);
}

void ferry_pg_redact(const char *conninfo, char *out, size_t outsz)
{
    if (!outsz)
        return;
    if (!conninfo) {
        snprintf(out, outsz, "(none)");
        return;
    }
    ferry_buf_t b = FERRY_BUF_INIT;
    parse(conninfo, &b, NULL);
    snprintf(out, outsz, "%s", ferry_buf_cstr(&b));
    ferry_buf_free(&b);
}

void ferry_pg_scrub(const char *conninfo, const char *msg, char *out, size_t outsz)
{
    if (!outsz)
        return;
    secrets_t sec = {NULL, 0};
    ferry_buf_t shown = FERRY_BUF_INIT;
    if (conninfo)
        parse(conninfo, &shown, &sec);
    ferry_buf_free(&shown);
    ferry_buf_t b = FERRY_BUF_INIT;
    for (const char *p = msg ? msg : ""; *p;) {
        size_t best = 0;
        for (size_t i = 0; i < sec.n; i++) {
            size_t l = strlen(sec.s[i]);
            if (l > best && strncmp(p, sec.s[i], l) == 0)
                best = l;
        }
        if (best) {
            ferry_buf_append_str(&b, "***");
            p += best;
        } else {
            ferry_buf_append_byte(&b, (unsigned char)*p++);
        }
    }
    snprintf(out, outsz, "%s", ferry_buf_cstr(&b));
    ferry_buf_free(&b);
    secrets_free(&sec);
}
