/* cmd_cutover.c - `ferry cutover --ship S [--undo]`: switches the ship's reader view from the
 * narrow table to its wide tables (or back). Refused unless the ship's latest verify passed
 * and came after its last rollback. */
#include <stdio.h>
#include <string.h>

#include "ferry/command.h"
#include "ferry/log.h"
#include "ferry/migration.h"
#include "ferry/options.h"
#include "ferry/pg.h"
#include "view.h"

static const ferry_opt_t cutover_opts[] = {
    FERRY_OPT_PG,
    {"ship", 's', FERRY_OPT_STRING, NULL, "SHIP", "the ship", FERRY_OPTF_REQUIRED},
    {"undo", 0, FERRY_OPT_BOOL, NULL, NULL, "switch the view back to the narrow table", 0},
    FERRY_OPT_NARROW_TABLE,
    FERRY_OPT_NARROW_COLUMNS,
    FERRY_OPT_NARROW_TIME_ZONE,
    FERRY_OPT_WIDE_SCHEMA,
    FERRY_OPT_VIEW_SCHEMA,
    FERRY_OPT_END,
};

int cmd_cutover(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(argv[0], "--ship SHIP [--undo] --pg CONNINFO",
                       "Points the ship's reader view (<view-schema>.ship_<name>) at its wide "
                       "tables; --undo points it back at the narrow table. Refused unless the "
                       "ship's latest `ferry verify` passed after its last rollback.",
                       cutover_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    if ((rc = ferry_cmd_connect(&cmd, "ferry cutover", NULL)) >= 0)
        return ferry_cmd_end(&cmd, rc);
    ferry_opts_t *o = cmd.o;
    ferry_pg_t *pg = cmd.pg;
    const char *ship = ferry_opts_str(o, "ship");
    int undo = ferry_opts_bool(o, "undo");
    ferry_err_t err;
    ferry_narrow_t src;
    memset(&src, 0, sizeof src);
    rc = FERRY_EXIT_OK;
    if (ferry_migration_setup(pg, &err) ||
        ferry_narrow_open_opts(pg, &src, o, FERRY_NARROW_READ, &err)) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_FAILED;
        goto out;
    }
    if (!undo) {
        char ok[8] = "";
        const char *p[] = {ship};
        if (ferry_pg_query_value(
                pg,
                "SELECT v.ok FROM ferry.verify_results v WHERE v.ship_id = $1 AND v.verified_at >"
                " coalesce((SELECT max(at) FROM ferry.ship_events e WHERE e.ship_id = $1 AND"
                " e.event = 'rolled_back'), '-infinity') ORDER BY v.verified_at DESC LIMIT 1",
                1, p, ok, sizeof ok, &err)) {
            ferry_error("%s", err.msg);
            rc = FERRY_EXIT_FAILED;
            goto out;
        }
        if (strcmp(ok, "t") != 0) {
            fprintf(
                stderr,
                "%s: refused: ship %s has %s; run `ferry verify --ship %s` and cut over when it "
                "passes\n",
                argv[0], ship, ok[0] ? "a failed latest verify" : "no verify since its last change",
                ship);
            rc = FERRY_EXIT_FAILED;
            goto out;
        }
    }
    if (ship_view_create(pg, &src, ferry_opts_str(o, "wide-schema"),
                         ferry_opts_str(o, "view-schema"), ship, !undo, &err) != FERRY_OK ||
        ferry_migration_event(pg, ship, undo ? "cutover_undone" : "cut_over", "{}", &err) !=
            FERRY_OK) {
        ferry_error("%s", err.msg);
        rc = FERRY_EXIT_FAILED;
        goto out;
    }
    char vname[80];
    ship_view_name(ship, vname, sizeof vname);
    printf("ship %s: view %s.%s now reads the %s table(s)\n", ship,
           ferry_opts_str(o, "view-schema"), vname, undo ? "narrow" : "wide");
out:
    ferry_narrow_close(&src);
    return ferry_cmd_end(&cmd, rc);
}
