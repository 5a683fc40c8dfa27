/* view.h - the one stable reader view per ship (strangler fig): `<view schema>.ship_<name>`
 * with a `ts` column and one column per channel (named like the wide columns). Before
 * cutover it computes wide-shaped rows from the narrow table; after cutover it reads the
 * wide tables. Both forms have the same columns, so readers never notice the switch. */
#ifndef FERRY_CLI_VIEW_H
#define FERRY_CLI_VIEW_H

#include "ferry/narrow.h"
#include "ferry/pg.h"

/* Writes the view's unquoted name for a ship into out. */
void ship_view_name(const char *ship, char *out, size_t outsz);

/* (Re)creates the ship's view reading the wide tables (wide = 1) or the narrow table, and
 * records it in ferry.cutover (cut_over = wide). Runs in its own transaction. */
ferry_status ship_view_create(ferry_pg_t *pg, const ferry_narrow_t *src, const char *wide_schema,
                              const char *view_schema, const char *ship, int wide,
                              ferry_err_t *err);

#endif
