/* fuzz_pg_redact.c - ferry_pg_redact (lib/pg_redact.c), which every connection string goes through
 * before it is logged.
 *
 * Input: three option bytes, then text. Bytes 0x80..0xFF are the password: the target
 * builds a connection string whose password value (and only that) is made of them, so
 * "no byte >= 0x80 in the output" means "no byte of the password was printed".
 *   byte 0: bits 0-1 form: keyword (libpq `key=value ...`), URI with the password in the
 *           user info, URI with ?password=, URI with both; bit 2 postgres:// instead of
 *           postgresql://; bit 3 quote the keyword value ('...' with \' and \\ escapes);
 *           bits 4-7 white space around the keyword's '=' (libpq allows any)
 *   byte 1: output size (1..256, or 4096)
 *   byte 2: where the input text splits into the parts around the password
 * The rest: the ASCII bytes (0x01..0x7F) are the text around the password, the others form
 * the password.
 *
 * Checks: the output is NUL-terminated within outsz and holds no byte of the password. The
 * input text as it is (a NUL-terminated conninfo) is redacted too, checked only for the
 * NUL. */
#include <ctype.h>
#include <string.h>

#include "ferry/buf.h"
#include "ferry/pg.h"
#include "fuzz.h"

static const char *const ws[] = {"", " ", "\t", "\n", "  ", " \t", "\r", "\f"};

/* Appends the ASCII bytes of p[0..n) without NUL and without the bytes in `drop`. */
static void append_text(ferry_buf_t *b, const uint8_t *p, size_t n, const char *drop)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] && p[i] < 0x80 && !strchr(drop, p[i]))
            ferry_buf_append_byte(b, p[i]);
}

/* Appends the password bytes of p[0..n); at least one. */
static void append_password(ferry_buf_t *b, const uint8_t *p, size_t n)
{
    size_t added = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 0x80) {
            ferry_buf_append_byte(b, p[i]);
            added++;
        }
    if (!added)
        ferry_buf_append_byte(b, 0xAA);
}

/* A quoted keyword value: the password bytes, with the ASCII bytes mapped to the ones that
 * matter inside quotes (a space, an escaped quote, an escaped backslash). */
static void append_quoted(ferry_buf_t *b, const uint8_t *p, size_t n)
{
    ferry_buf_append_byte(b, '\'');
    ferry_buf_append_byte(b, 0xAB);
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x80)
            ferry_buf_append_byte(b, p[i]);
        else if (p[i] % 3 == 0)
            ferry_buf_append_byte(b, ' ');
        else if (p[i] % 3 == 1)
            ferry_buf_append_str(b, "\\'");
        else
            ferry_buf_append_str(b, "\\\\");
    }
    ferry_buf_append_byte(b, '\'');
}

/* 1 when the unquoted key=value text s[0..n) ends after a `key =` still waiting for its value
 * (libpq would take the next word, here `password`, as that value). */
static int dangling_key(const unsigned char *s, size_t n)
{
    enum { BETWEEN, KEY, AFTER_KEY, AFTER_EQ, VALUE, REFUSED } st = BETWEEN;
    for (size_t i = 0; i < n && st != REFUSED; i++) {
        int sp = isspace(s[i]), eq = s[i] == '=';
        switch (st) {
        case BETWEEN:
            st = sp ? BETWEEN : eq ? AFTER_EQ : KEY;
            break;
        case KEY:
            st = eq ? AFTER_EQ : sp ? AFTER_KEY : KEY;
            break;
        case AFTER_KEY:
            st = sp ? AFTER_KEY : eq ? AFTER_EQ : REFUSED;
            break;
        case AFTER_EQ:
            st = sp ? AFTER_EQ : VALUE;
            break;
        case VALUE:
            st = sp ? BETWEEN : VALUE;
            break;
        default:
            break;
        }
    }
    return st == AFTER_EQ;
}

static void build_keyword(ferry_buf_t *b, uint8_t opt, const uint8_t *p, size_t n, size_t cut)
{
    /* before the password: no quotes or backslashes, which could make `password=` part of
     * another value */
    /* a leading blank: text starting with postgresql:// is a URI (for libpq too) */
    ferry_buf_append_byte(b, ' ');
    size_t start = b->len;
    append_text(b, p, cut, "'\\");
    if (b->len > start && dangling_key(b->data + start, b->len - start))
        ferry_buf_append_byte(b, 'x');
    ferry_buf_append_str(b, " password");
    ferry_buf_append_str(b, ws[(opt >> 4) & 3]);
    ferry_buf_append_byte(b, '=');
    ferry_buf_append_str(b, ws[(opt >> 6) & 3]);
    if (opt & 8)
        append_quoted(b, p + cut, n - cut);
    else
        append_password(b, p + cut, n - cut);
    ferry_buf_append_byte(b, ' ');
    append_text(b, p + cut, n - cut, "");
}

static void build_uri(ferry_buf_t *b, uint8_t opt, const uint8_t *p, size_t n, size_t cut)
{
    int in_userinfo = (opt & 3) != 2, in_query = (opt & 3) >= 2;
    ferry_buf_append_str(b, (opt & 4) ? "postgres://" : "postgresql://");
    /* user: no '@', '/' or ':' (those end it) */
    append_text(b, p, cut / 2, "@/:");
    if (in_userinfo) {
        ferry_buf_append_byte(b, ':');
        append_password(b, p, cut);
    }
    ferry_buf_append_byte(b, '@');
    /* host, port, dbname: no '?' '@' (the query starts at '?') */
    append_text(b, p + cut / 2, cut - cut / 2, "?@");
    if (in_query) {
        ferry_buf_append_str(b, "?");
        append_text(b, p + cut, (n - cut) / 2, "&#");
        ferry_buf_append_str(b, "&password=");
        append_password(b, p + cut, n - cut);
    }
    ferry_buf_append_byte(b, in_query ? '&' : '?');
    append_text(b, p + cut + (n - cut) / 2, n - cut - (n - cut) / 2, "#");
}

static void redact_and_check(const char *conninfo, size_t outsz, int has_password)
{
    char *out = malloc(outsz);
    FUZZ_CHECK(out != NULL);
    memset(out, 'x', outsz);
    ferry_pg_redact(conninfo, out, outsz);
    FUZZ_CHECK(memchr(out, '\0', outsz) != NULL);
    if (has_password)
        for (const char *c = out; *c; c++)
            if ((unsigned char)*c >= 0x80) {
                fprintf(stderr, "password shown\n in: %s\nout: %s\n", conninfo, out);
                FUZZ_CHECK((unsigned char)*c < 0x80);
            }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    uint8_t opt = fuzz_take(&in), sz = fuzz_take(&in), split = fuzz_take(&in);
    size_t outsz = sz == 255 ? 4096 : (size_t)sz + 1;
    size_t cut = in.n ? split % (in.n + 1) : 0;

    ferry_buf_t b = FERRY_BUF_INIT;
    if ((opt & 3) == 0 && !(opt & 4))
        build_keyword(&b, opt, in.p, in.n, cut);
    else
        build_uri(&b, opt, in.p, in.n, cut);
    redact_and_check(ferry_buf_cstr(&b), outsz, 1);
    ferry_buf_free(&b);

    char *raw = ferry_xstrndup((const char *)in.p, in.n);
    redact_and_check(raw, outsz, 0);
    free(raw);
    redact_and_check(NULL, outsz, 0);
    return 0;
}
