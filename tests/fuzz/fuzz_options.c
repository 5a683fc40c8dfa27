/* fuzz_options.c - the config-file parser (lib/options.c: `name = value` lines, `#` and `;`
 * comments, NAME-file secrets) and the value validation behind it.
 *
 * Input: the config file. It is written to a temporary file and parsed as --config for a
 * table with an option of every type (string, int, double, bool, duration, list, secret,
 * no-env). Checks after a successful parse: every getter answers and a duration is never
 * negative; ferry_parse_duration_ms is also run on the input text itself. */
#include <string.h>
#include <unistd.h>

#include "ferry/buf.h"
#include "ferry/options.h"
#include "fuzz.h"

static const ferry_opt_t table[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_PG,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_GROUP("fuzz"),
    {"batch", 'n', FERRY_OPT_INT, "100", "N", "an integer", 0},
    {"rate", 0, FERRY_OPT_DOUBLE, "1.5", "X", "a number", 0},
    {"dry-run", 0, FERRY_OPT_BOOL, NULL, NULL, "a flag", 0},
    {"poll", 0, FERRY_OPT_DURATION, "5s", "DURATION", "a duration", 0},
    {"api-key", 0, FERRY_OPT_STRING, NULL, "KEY", "a secret", FERRY_OPTF_SECRET},
    {"cli-only", 0, FERRY_OPT_STRING, NULL, "X", "not from config", FERRY_OPTF_NOENV},
    FERRY_OPT_END,
};

static char path[64];

static void remove_config(void)
{
    unlink(path);
}

/* The temporary config file, created once per process; every input overwrites it. */
static int config_fd(void)
{
    static int fd = -1;
    if (fd < 0) {
        /* in memory when there is /dev/shm: the target is file I/O bound */
        const char *dir = getenv("TMPDIR");
        if (!dir || !*dir)
            dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof path, "%.40s/ferry-fuzz-XXXXXX", dir);
        fd = mkstemp(path);
        FUZZ_CHECK(fd >= 0);
        atexit(remove_config);
    }
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = config_fd();
    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    FUZZ_CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);

    char *argv[] = {"fuzz", "--config", path, NULL};
    ferry_opts_t *o = ferry_opts_new("ferry fuzz", "[OPTIONS]", "fuzz target", table);
    ferry_err_t err;
    if (ferry_opts_parse(o, 3, argv, &err) == FERRY_OK) {
        for (const ferry_opt_t *t = table; t->name; t++) {
            FUZZ_CHECK(ferry_opts_has(o, t->name));
            (void)ferry_opts_is_set(o, t->name);
        }
        (void)ferry_opts_str(o, "brokers");
        (void)ferry_opts_str(o, "pg");
        (void)ferry_opts_int(o, "batch");
        (void)ferry_opts_double(o, "rate");
        (void)ferry_opts_bool(o, "dry-run");
        FUZZ_CHECK(ferry_opts_duration_ms(o, "poll") >= 0);
        const char *const *items = NULL;
        size_t n = ferry_opts_list(o, "X", &items);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(items[i] != NULL);
        FUZZ_CHECK(!ferry_opts_is_set(o, "cli-only"));
    }
    ferry_opts_destroy(o);

    char *s = ferry_xstrndup((const char *)data, size);
    int64_t ms = 0;
    if (ferry_parse_duration_ms(s, &ms) == 0)
        FUZZ_CHECK(ms >= 0);
    free(s);
    return 0;
}
