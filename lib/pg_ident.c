/* pg_ident.c - schema-qualified names from stored parts (see include/ferry/pg_ident.h). */
#include "ferry/pg_ident.h"
#include "ferry/pg.h"

void ferry_pg_ident_qualified(ferry_buf_t *b, const char *schema, const char *name)
{
    ferry_pg_append_ident(b, schema);
    ferry_buf_append_byte(b, '.');
    ferry_pg_append_ident(b, name);
}
