/* buf.h - a growable byte buffer used for encoding records and building COPY data.
 *
 * A ferry_buf_t is a value type: zero-initialise it (FERRY_BUF_INIT) and call
 * ferry_buf_free() when done. Appends abort() only on out-of-memory, which ferry
 * treats as unrecoverable like every allocation failure. */
#ifndef FERRY_BUF_H
#define FERRY_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct ferry_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
} ferry_buf_t;

#define FERRY_BUF_INIT                                                                             \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Ensures room for `extra` more bytes. */
void ferry_buf_reserve(ferry_buf_t *b, size_t extra);
void ferry_buf_append(ferry_buf_t *b, const void *data, size_t len);
void ferry_buf_append_byte(ferry_buf_t *b, unsigned char c);
void ferry_buf_append_str(ferry_buf_t *b, const char *s);
void ferry_buf_appendf(ferry_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Big-endian (network order) integers, as PostgreSQL's binary COPY wants them. */
void ferry_buf_append_be16(ferry_buf_t *b, uint16_t v);
void ferry_buf_append_be32(ferry_buf_t *b, uint32_t v);
void ferry_buf_append_be64(ferry_buf_t *b, uint64_t v);
/* Empties the buffer, keeping its allocation. */
void ferry_buf_reset(ferry_buf_t *b);
/* Returns a NUL-terminated string view of the contents (appends a NUL past len). */
const char *ferry_buf_cstr(ferry_buf_t *b);
/* Replaces the contents with the bytes of the file at `path`, at most `max`. 0; -1 with errno
 * set (EFBIG when the file is larger than max). */
int ferry_buf_read_file(ferry_buf_t *b, const char *path, size_t max);
/* Frees the allocation and resets to FERRY_BUF_INIT. */
void ferry_buf_free(ferry_buf_t *b);

/* Allocation that never returns NULL (ferry treats out-of-memory as unrecoverable and aborts,
 * like the appends above): realloc of n elements of `size` bytes with the multiplication
 * checked, calloc, strndup, and a copy of len bytes. The caller frees the result. */
void *ferry_xrealloc(void *p, size_t n, size_t size);
void *ferry_xcalloc(size_t n, size_t size);
char *ferry_xstrndup(const char *s, size_t len);
void *ferry_xmemdup(const void *p, size_t len);

#endif
