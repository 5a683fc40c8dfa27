/* cmd_schemas.c - `ferry schemas`: lists the Avro schemas built into ferry, with the
 * CRC-64-AVRO fingerprints that identify them on the wire; `--show NAME` prints one. */
#include <stdio.h>

#include "commands.h"
#include "ferry/avro.h"
#include "ferry/options.h"

static const ferry_opt_t schemas_opts[] = {
    {"show", 0, FERRY_OPT_STRING, NULL, "NAME", "print the schema's JSON", 0},
    FERRY_OPT_END,
};

int cmd_schemas(int argc, char **argv)
{
    ferry_opts_t *o =
        ferry_opts_new(argv[0], "[--show NAME]",
                       "Lists the embedded Avro schemas and their fingerprints.", schemas_opts);
    int rc;
    if (!ferry_opts_parse_or_exit_code(o, argc, argv, &rc)) {
        ferry_opts_destroy(o);
        return rc;
    }
    rc = FERRY_EXIT_OK;
    const char *show = ferry_opts_str(o, "show");
    if (show) {
        const ferry_schema_t *s = ferry_schema_get(show);
        if (!s) {
            fprintf(stderr, "%s: unknown schema '%s'\n", argv[0], show);
            rc = FERRY_EXIT_USAGE;
        } else {
            printf("%s\n", ferry_schema_json(s));
        }
    } else {
        size_t n = ferry_schema_count();
        for (size_t i = 0; i < n; i++) {
            const ferry_schema_t *s = ferry_schema_at(i);
            printf("%-40s 0x%016llx\n", ferry_schema_fullname(s),
                   (unsigned long long)ferry_schema_fingerprint(s));
        }
    }
    ferry_opts_destroy(o);
    return rc;
}
