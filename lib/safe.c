/* safe.c - SQL names derived from data (see safe.h). */
#include "ferry/safe.h"
#include "ferry/map.h"

#include <stdio.h>

void ferry_safe_name(const char *prefix, const char *text, size_t len, size_t keep, char *out,
                     size_t outsz)
{
    char san[64];
    size_t n = 0;
    for (size_t i = 0; i < len && n < keep && n < sizeof san - 1; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch - 'A' + 'a');
        san[n++] =
            ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_') ? (char)ch : '_';
    }
    san[n] = '\0';
    unsigned long long h = (unsigned long long)(ferry_hash64(text, len) & 0xffffffffffffULL);
    snprintf(out, outsz, "%s%s_%012llx", prefix, san, h);
}
