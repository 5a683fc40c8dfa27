/* crawl_config.c - the options of `ferry crawl tmdb` that need checking: endpoint, page
 * range, request limits, the job id, and the TMDB credentials (option, environment or file;
 * never printed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crawl.h"
#include "ferry/command.h"
#include "ferry/log.h"

/* A credential from the option (flag, --NAME-file, FERRY_* env, config), else from the
 * environment variable `env`, else from the file named by `env`_FILE. NULL when none. */
static char *credential(const ferry_opts_t *o, const char *opt, const char *env, ferry_err_t *err,
                        int *failed)
{
    const char *v = ferry_opts_str(o, opt);
    if (v && *v)
        return strdup(v);
    v = getenv(env);
    if (v && *v)
        return strdup(v);
    char fenv[64];
    snprintf(fenv, sizeof fenv, "%s_FILE", env);
    const char *path = getenv(fenv);
    if (path && *path) {
        char *s = ferry_opts_read_secret_file(path, err);
        if (!s) {
            *failed = 1;
            return NULL;
        }
        if (*s)
            return s;
        free(s);
    }
    return NULL;
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* Parses "A-B" or "N". Returns 0 or -1. */
static int parse_pages(const char *s, int *a, int *b)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (end == s || errno)
        return -1;
    long y = x;
    if (*end == '-') {
        const char *t = end + 1;
        y = strtol(t, &end, 10);
        if (end == t || errno)
            return -1;
    }
    if (*end || x < 1 || y < 1 || x > 1000000 || y > 1000000)
        return -1;
    *a = (int)x;
    *b = (int)y;
    return 0;
}

void crawl_wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

/* Sets up options that need checking; returns an exit code >= 0 to stop, or -1 to go on. */
int crawl_configure(crawl_t *c, const ferry_opts_t *o, const char *prog)
{
    c->o = o;
    c->topic = ferry_opts_str(o, "topic");
    c->progress_topic = ferry_opts_str(o, "progress-topic");
    c->path = tmdb_list_path(ferry_opts_str(o, "endpoint"));
    if (!c->path) {
        fprintf(stderr, "%s: unknown --endpoint '%s' (one of: %s)\n", prog,
                ferry_opts_str(o, "endpoint"), tmdb_list_names());
        return FERRY_EXIT_USAGE;
    }
    c->language = ferry_opts_str(o, "language");
    c->region = ferry_opts_str(o, "region");
    if (c->language && !*c->language)
        c->language = NULL;
    if (c->region && !*c->region)
        c->region = NULL;
    c->base_url = ferry_opts_str(o, "base-url");
    c->details = ferry_opts_bool(o, "details");
    if (parse_pages(ferry_opts_str(o, "pages"), &c->first, &c->last) != 0) {
        fprintf(stderr, "%s: --pages expects A-B or N with pages from 1, got '%s'\n", prog,
                ferry_opts_str(o, "pages"));
        return FERRY_EXIT_USAGE;
    }
    if (ferry_opts_is_set(o, "from-page"))
        c->first = (int)ferry_opts_int(o, "from-page");
    if (ferry_opts_is_set(o, "to-page"))
        c->last = (int)ferry_opts_int(o, "to-page");
    if (c->first < 1 || c->last < c->first) {
        fprintf(stderr, "%s: bad page range %d-%d (pages start at 1, first <= last)\n", prog,
                c->first, c->last);
        return FERRY_EXIT_USAGE;
    }
    if (c->last > TMDB_MAX_PAGE) {
        fprintf(stderr,
                "%s: page %d asked for, but TMDB serves at most %d pages of a list "
                "(the API refuses page > %d); use --pages %d-%d at most\n",
                prog, c->last, TMDB_MAX_PAGE, TMDB_MAX_PAGE,
                c->first <= TMDB_MAX_PAGE ? c->first : 1, TMDB_MAX_PAGE);
        return FERRY_EXIT_USAGE;
    }
    double rate = ferry_opts_double(o, "rate");
    c->concurrency = (int)ferry_opts_int(o, "concurrency");
    c->retries = (int)ferry_opts_int(o, "retries");
    c->timeout_ms = ferry_opts_duration_ms(o, "timeout");
    if (rate < 0 || c->concurrency < 1 || c->concurrency > 1000 || c->retries < 0 ||
        c->timeout_ms <= 0) {
        fprintf(stderr,
                "%s: --rate must be >= 0, --concurrency 1..1000, --retries >= 0, "
                "--timeout > 0\n",
                prog);
        return FERRY_EXIT_USAGE;
    }
    if (ferry_opts_is_set(o, "max-body") && ferry_opts_int(o, "max-body") < 1024) {
        fprintf(stderr, "%s: --max-body must be at least 1024 bytes\n", prog);
        return FERRY_EXIT_USAGE;
    }
    ferry_ratelimit_init(&c->rl, rate);
    if (ferry_opts_str(o, "job") && *ferry_opts_str(o, "job")) {
        snprintf(c->job, sizeof c->job, "%s", ferry_opts_str(o, "job"));
    } else {
        char day[16];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(day, sizeof day, "%Y-%m-%d", &tm);
        snprintf(c->job, sizeof c->job, "tmdb:%s:%s:%s:%d-%d%s:%s", ferry_opts_str(o, "endpoint"),
                 c->language ? c->language : "-", c->region ? c->region : "-", c->first, c->last,
                 c->details ? ":details" : "", day);
    }
    tmdb_endpoint_label(c->base_url, c->path, c->endpoint, sizeof c->endpoint);

    ferry_err_t err;
    ferry_err_clear(&err);
    int failed = 0;
    c->token = credential(o, "token", "TMDB_TOKEN", &err, &failed);
    if (!failed)
        c->api_key = credential(o, "api-key", "TMDB_API_KEY", &err, &failed);
    if (failed) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return FERRY_EXIT_USAGE;
    }
    if (!c->token && !c->api_key) {
        fprintf(stderr,
                "%s: no TMDB credentials: set TMDB_API_KEY (v3 key) or TMDB_TOKEN (v4 read "
                "access token), or name a file with TMDB_API_KEY_FILE / TMDB_TOKEN_FILE or "
                "--api-key-file / --token-file\n",
                prog);
        return FERRY_EXIT_USAGE;
    }
    if ((c->token && has_ctl(c->token)) || (c->api_key && has_ctl(c->api_key))) {
        fprintf(stderr,
                "%s: the TMDB credential contains control characters (a stray line "
                "break?)\n",
                prog);
        return FERRY_EXIT_USAGE;
    }
    if (c->token && c->api_key)
        ferry_info("both a v4 token and a v3 key are set: using the token (Bearer)");
    return -1;
}
