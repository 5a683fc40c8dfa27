/* narrow_internal.h - what the files of the narrow module share (not part of the core's
 * interface). */
#ifndef FERRY_NARROW_INTERNAL_H
#define FERRY_NARROW_INTERNAL_H

#include "ferry/narrow.h"

/* Sets n->x_ship, x_channel, x_ts and x_v[] (new strings, freed by ferry_narrow_close) from the
 * opened table's columns and zone. */
void narrow_build_exprs(ferry_narrow_t *n);

#endif
