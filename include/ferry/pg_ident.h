/* pg_ident.h - a schema-qualified name from its two parts as stored: a schema named by an
 * option such as --wide-schema or --view-schema (ferry creates it with exactly that name) and
 * a table or view name from ferry's catalog. Neither part is SQL text, so nothing is parsed or
 * case-folded: "Ops" stays "Ops". For a name the user writes as SQL ("ops.narrow",
 * --narrow-table) use ferry_pg_quote_qualified() of include/ferry/pg.h instead. */
#ifndef FERRY_PG_IDENT_H
#define FERRY_PG_IDENT_H

#include "ferry/buf.h"

/* Appends "schema"."name" to b, each part quoted as ferry_pg_append_ident() quotes it. */
void ferry_pg_ident_qualified(ferry_buf_t *b, const char *schema, const char *name);

#endif
