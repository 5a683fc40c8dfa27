/* buf.c - growable byte buffer (see include/ferry/buf.h). */
#include "ferry/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ferry_buf_reserve(ferry_buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    unsigned char *p = realloc(b->data, cap);
    if (!p)
        abort();
    b->data = p;
    b->cap = cap;
}

void ferry_buf_append(ferry_buf_t *b, const void *data, size_t len)
{
    ferry_buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
}

void ferry_buf_append_byte(ferry_buf_t *b, unsigned char c)
{
    ferry_buf_reserve(b, 1);
    b->data[b->len++] = c;
}

void ferry_buf_append_str(ferry_buf_t *b, const char *s)
{
    ferry_buf_append(b, s, strlen(s));
}

void ferry_buf_appendf(ferry_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    ferry_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ferry_buf_append_be16(ferry_buf_t *b, uint16_t v)
{
    unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    ferry_buf_append(b, x, 2);
}

void ferry_buf_append_be32(ferry_buf_t *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    ferry_buf_append(b, x, 4);
}

void ferry_buf_append_be64(ferry_buf_t *b, uint64_t v)
{
    ferry_buf_append_be32(b, (uint32_t)(v >> 32));
    ferry_buf_append_be32(b, (uint32_t)v);
}

void ferry_buf_reset(ferry_buf_t *b)
{
    b->len = 0;
}

const char *ferry_buf_cstr(ferry_buf_t *b)
{
    ferry_buf_reserve(b, 0);
    b->data[b->len] = '\0';
    return (const char *)b->data;
}

void ferry_buf_free(ferry_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void *ferry_xrealloc(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        abort();
    size_t bytes = n * size;
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q)
        abort();
    return q;
}

void *ferry_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        abort();
    return p;
}

char *ferry_xstrndup(const char *s, size_t len)
{
    char *p = strndup(s, len);
    if (!p)
        abort();
    return p;
}

void *ferry_xmemdup(const void *p, size_t len)
{
    void *q = malloc(len ? len : 1);
    if (!q)
        abort();
    if (len)
        memcpy(q, p, len);
    return q;
}

int ferry_buf_read_file(ferry_buf_t *b, const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char chunk[8192];
    size_t n;
    ferry_buf_reset(b);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b->len + n > max) {
            fclose(f);
            errno = EFBIG;
            return -1;
        }
        ferry_buf_append(b, chunk, n);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        errno = EIO;
        return -1;
    }
    return 0;
}
