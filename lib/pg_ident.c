/* pg_ident.c - a schema-qualified name from its two stored parts (ferry_pg_append_qualified,
 * include/ferry/pg.h). */
#include "ferry/pg.h"

void ferry_pg_append_qualified(ferry_buf_t *b, const char *schema, const char *name)
{
    ferry_pg_append_ident(b, schema);
    ferry_buf_append_byte(b, '.');
    ferry_pg_append_ident(b, name);
}
