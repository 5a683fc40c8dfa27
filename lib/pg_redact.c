/* pg_redact.c - ferry_pg_redact: a connection string with its password hidden, for logs
 * (see include/ferry/pg.h). Both conninfo forms are read the way libpq reads them, so what
 * libpq takes for a password is what is hidden; tests/fuzz/fuzz_pg_redact.c checks it. */
#include "ferry/pg.h"
#include "ferry/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* 1 when the URI parameter name s[0..len) is "password" once percent-decoded (as libpq
 * decodes it). */
static int uri_param_is_password(const char *s, size_t len)
{
    char name[9];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%' && i + 2 < len && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            c = (char)strtol(hex, NULL, 16);
            i += 2;
        }
        if (n == sizeof name - 1)
            return 0;
        name[n++] = c;
    }
    name[n] = '\0';
    return strcmp(name, "password") == 0;
}

void ferry_pg_redact(const char *conninfo, char *out, size_t outsz)
{
    if (!conninfo) {
        snprintf(out, outsz, "(none)");
        return;
    }
    ferry_buf_t b = FERRY_BUF_INIT;
    const char *scheme = strstr(conninfo, "://");
    if (scheme && (strncmp(conninfo, "postgresql://", 13) == 0 ||
                   strncmp(conninfo, "postgres://", 11) == 0)) {
        /* URI: scheme://user:password@host... and ?password=..., delimited the way libpq
         * reads them: the user info ends at the first '@' before any '/', the query starts
         * at the first '?' after it, and every parameter whose (percent-decoded) name is
         * password is hidden, not only the first text "password=" anywhere. */
        const char *auth = scheme + 3;
        const char *p = auth;
        while (*p && *p != '@' && *p != '/')
            p++;
        const char *rest = auth;
        if (*p == '@') {
            const char *colon = memchr(auth, ':', (size_t)(p - auth));
            ferry_buf_append(&b, conninfo, (size_t)((colon ? colon + 1 : p) - conninfo));
            if (colon)
                ferry_buf_append_str(&b, "***");
            rest = p;
        } else {
            ferry_buf_append(&b, conninfo, (size_t)(auth - conninfo));
        }
        const char *query = strchr(rest, '?');
        ferry_buf_append(&b, rest, query ? (size_t)(query + 1 - rest) : strlen(rest));
        for (const char *param = query ? query + 1 : NULL; param;) {
            const char *amp = strchr(param, '&');
            size_t len = amp ? (size_t)(amp - param) : strlen(param);
            const char *eq = memchr(param, '=', len);
            if (eq && uri_param_is_password(param, (size_t)(eq - param))) {
                ferry_buf_append(&b, param, (size_t)(eq + 1 - param));
                ferry_buf_append_str(&b, "***");
            } else {
                ferry_buf_append(&b, param, len);
            }
            if (amp)
                ferry_buf_append_byte(&b, '&');
            param = amp ? amp + 1 : NULL;
        }
    } else {
        /* key=value form, read the way libpq's conninfo_parse reads it: blanks, a keyword
         * up to '=' or white space, blanks, '=', blanks, then a value that is quoted ('...',
         * backslash escapes) or ends at white space (backslash escapes too). The value of
         * password (any case) is hidden. Where libpq would refuse the string (no '=' after a
         * keyword, an empty keyword, an unterminated quote) the rest is hidden: it is no
         * longer clear which part is a password. */
        const char *p = conninfo;
        while (*p) {
            if (isspace((unsigned char)*p)) {
                ferry_buf_append_byte(&b, (unsigned char)*p++);
                continue;
            }
            const char *key = p;
            while (*p && *p != '=' && !isspace((unsigned char)*p))
                p++;
            size_t klen = (size_t)(p - key);
            while (isspace((unsigned char)*p))
                p++;
            if (*p != '=' || klen == 0) {
                ferry_buf_append_str(&b, "***");
                break;
            }
            p++;
            while (isspace((unsigned char)*p))
                p++;
            ferry_buf_append(&b, key, (size_t)(p - key));
            const char *val = p;
            int quoted = *p == '\'';
            if (quoted)
                p++;
            while (*p && (quoted ? *p != '\'' : !isspace((unsigned char)*p))) {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            if (quoted && !*p) {
                ferry_buf_append_str(&b, "***");
                break;
            }
            if (quoted)
                p++;
            if (klen == 8 && strncasecmp(key, "password", 8) == 0)
                ferry_buf_append_str(&b, "***");
            else
                ferry_buf_append(&b, val, (size_t)(p - val));
        }
    }
    snprintf(out, outsz, "%s", ferry_buf_cstr(&b));
    ferry_buf_free(&b);
}
