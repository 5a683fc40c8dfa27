/* plan.h - printing a consumer group's reset plan (include/ferry/reset.h), shared by
 * `ferry replay` and `ferry rollback --since`. */
#ifndef FERRY_CLI_PLAN_H
#define FERRY_CLI_PLAN_H

#include <stdio.h>

#include "ferry/reset.h"

/* Prints the plan as a table: a heading line, then PARTITION, CURRENT, NEW, DIFF (new -
 * current; "-" without a current offset), START, END, NOTE. */
void plan_print(const ferry_reset_plan_t *p, FILE *fp);

#endif
