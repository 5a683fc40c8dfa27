/* safe.h - SQL names derived from data (ship and channel ids) that are always valid and
 * distinct: a sanitised prefix (ASCII letters folded to lower case, digits, '_'; anything
 * else becomes '_') plus 12 hex digits of a 48-bit hash of the full text, so two long ids
 * that differ in their last character get different names and nothing is ever cut by
 * PostgreSQL's 63-byte identifier limit. Used for wide tables and columns (widecat.h) and the
 * reader views; the names are still quoted in SQL. */
#ifndef FERRY_SAFE_H
#define FERRY_SAFE_H

#include <stddef.h>

/* Writes prefix + sanitised text[0..len) (at most `keep` bytes of it) + '_' + 12 hex digits
 * of the hash of the full text into out (at most outsz - 1 bytes + NUL; 63 fit when prefix
 * and keep are short enough). */
void ferry_safe_name(const char *prefix, const char *text, size_t len, size_t keep, char *out,
                     size_t outsz);

#endif
