/* options.c - flags, FERRY_* environment and config file from one table
 * (see include/ferry/options.h). */
#include "ferry/options.h"
#include "ferry/log.h"
#include "ferry/topics.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const ferry_opt_t builtin_opts[] = {
    {"config", 'c', FERRY_OPT_STRING, NULL, "FILE",
     "config file of `name = value` lines (same names as the long options)", 0},
    {"log-level", 0, FERRY_OPT_STRING, "info", "LEVEL", "error, warn, info or debug", 0},
    {"log-format", 0, FERRY_OPT_STRING, "plain", "FORMAT", "plain or json (one object per line)",
     0},
    {"help", 'h', FERRY_OPT_BOOL, NULL, NULL, "show this help and exit", FERRY_OPTF_NOENV},
    FERRY_OPT_END,
};

typedef struct opt_value {
    const ferry_opt_t *def;
    char *str;    /* current value as text (NULL = unset) */
    int set;      /* given by flag, env or config */
    int from_cli; /* given on the command line (later sources do not override) */
    char **list;
    size_t nlist;
} opt_value_t;

struct ferry_opts {
    const char *command;
    const char *usage;
    const char *about;
    opt_value_t *vals;
    size_t nvals;
    char **args;
    int nargs;
    int help;
};

ferry_opts_t *ferry_opts_new(const char *command, const char *usage, const char *about,
                             const ferry_opt_t *table)
{
    ferry_opts_t *o = calloc(1, sizeof *o);
    if (!o)
        abort();
    o->command = command;
    o->usage = usage;
    o->about = about;
    size_t n = 0;
    for (const ferry_opt_t *t = table; t && t->name; t++)
        n++;
    for (const ferry_opt_t *t = builtin_opts; t->name; t++)
        n++;
    o->vals = calloc(n, sizeof *o->vals);
    if (!o->vals)
        abort();
    for (const ferry_opt_t *t = table; t && t->name; t++)
        o->vals[o->nvals++].def = t;
    for (const ferry_opt_t *t = builtin_opts; t->name; t++)
        o->vals[o->nvals++].def = t;
    return o;
}

static void value_clear(opt_value_t *v)
{
    free(v->str);
    v->str = NULL;
    for (size_t i = 0; i < v->nlist; i++)
        free(v->list[i]);
    free(v->list);
    v->list = NULL;
    v->nlist = 0;
}

void ferry_opts_destroy(ferry_opts_t *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->nvals; i++) {
        if (o->vals[i].def->flags & FERRY_OPTF_SECRET && o->vals[i].str)
            memset(o->vals[i].str, 0, strlen(o->vals[i].str));
        value_clear(&o->vals[i]);
    }
    free(o->vals);
    for (int i = 0; i < o->nargs; i++)
        free(o->args[i]);
    free(o->args);
    free(o);
}

static opt_value_t *find_long(ferry_opts_t *o, const char *name, size_t len)
{
    for (size_t i = 0; i < o->nvals; i++) {
        const char *n = o->vals[i].def->name;
        if (strlen(n) == len && strncmp(n, name, len) == 0)
            return &o->vals[i];
    }
    return NULL;
}

static opt_value_t *find_short(ferry_opts_t *o, char c)
{
    for (size_t i = 0; i < o->nvals; i++)
        if (o->vals[i].def->short_name == c)
            return &o->vals[i];
    return NULL;
}

static const opt_value_t *get(const ferry_opts_t *o, const char *name)
{
    opt_value_t *v = find_long((ferry_opts_t *)o, name, strlen(name));
    if (!v) {
        fprintf(stderr, "ferry: internal error: option '%s' is not defined for %s\n", name,
                o->command);
        abort();
    }
    return v;
}

int ferry_parse_duration_ms(const char *s, int64_t *out_ms)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end;
    double x = strtod(s, &end);
    if (end == s || errno || x < 0 || !isfinite(x))
        return -1;
    double mult = 1000.0;
    if (*end == '\0' || strcmp(end, "s") == 0)
        mult = 1000.0;
    else if (strcmp(end, "ms") == 0)
        mult = 1.0;
    else if (strcmp(end, "us") == 0)
        mult = 0.001;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        mult = 60000.0;
    else if (strcmp(end, "h") == 0)
        mult = 3600000.0;
    else if (strcmp(end, "d") == 0)
        mult = 86400000.0;
    else
        return -1;
    double ms = x * mult;
    if (ms > 9.2e18)
        return -1;
    *out_ms = (int64_t)llround(ms);
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcasecmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes") ||
        !strcasecmp(s, "on")) {
        *out = 1;
        return 0;
    }
    if (!strcasecmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no") ||
        !strcasecmp(s, "off") || !*s) {
        *out = 0;
        return 0;
    }
    return -1;
}

/* Checks that `val` is well-formed for the option's type. */
static ferry_status validate(const opt_value_t *v, const char *val, const char *where,
                             ferry_err_t *err)
{
    const ferry_opt_t *d = v->def;
    /* "--name (FERRY_NAME)": where the value came from, unless that is the flag itself */
    char origin[160];
    if (where[0] == '-')
        origin[0] = '\0';
    else
        snprintf(origin, sizeof origin, " (%s)", where);
    char *end;
    int b;
    int64_t ms;
    switch (d->type) {
    case FERRY_OPT_INT: {
        errno = 0;
        long long x = strtoll(val, &end, 10);
        if (end == val || *end || (errno && errno != ERANGE))
            return ferry_err_set(err, FERRY_USAGE, "--%s%s: '%s' is not an integer", d->name,
                                 origin, val);
        long long lo = d->flags & FERRY_OPTF_INT64 ? LLONG_MIN : INT_MIN;
        long long hi = d->flags & FERRY_OPTF_INT64 ? LLONG_MAX : INT_MAX;
        if (errno == ERANGE || x < lo || x > hi)
            return ferry_err_set(err, FERRY_USAGE, "--%s%s: %s is out of range (%lld to %lld)",
                                 d->name, origin, val, lo, hi);
        break;
    }
    case FERRY_OPT_DOUBLE:
        errno = 0;
        (void)strtod(val, &end);
        if (end == val || *end || errno)
            return ferry_err_set(err, FERRY_USAGE, "--%s%s: '%s' is not a number", d->name, origin,
                                 val);
        break;
    case FERRY_OPT_BOOL:
        if (parse_bool(val, &b) != 0)
            return ferry_err_set(err, FERRY_USAGE, "--%s%s: '%s' is not true/false", d->name,
                                 origin, val);
        break;
    case FERRY_OPT_DURATION:
        if (ferry_parse_duration_ms(val, &ms) != 0)
            return ferry_err_set(err, FERRY_USAGE,
                                 "--%s%s: '%s' is not a duration (e.g. 500ms, 5s, 2m, 24h, 7d)",
                                 d->name, origin, d->flags & FERRY_OPTF_SECRET ? "***" : val);
        break;
    default:
        break;
    }
    if (d->flags & (FERRY_OPTF_TOPIC | FERRY_OPTF_TOPIC_DLQ)) {
        char why[200];
        if (ferry_topic_name_check(val, (d->flags & FERRY_OPTF_TOPIC_DLQ) != 0, why, sizeof why))
            return ferry_err_set(err, FERRY_USAGE, "--%s%s: '%.60s%s' is not a valid topic: %s",
                                 d->name, origin, val, strlen(val) > 60 ? "..." : "", why);
    }
    return FERRY_OK;
}

static ferry_status assign(opt_value_t *v, const char *val, const char *origin, int from_cli,
                           ferry_err_t *err)
{
    if (v->from_cli && !from_cli)
        return FERRY_OK;
    ferry_status st = validate(v, val, origin, err);
    if (st)
        return st;
    if (v->def->type == FERRY_OPT_LIST) {
        /* The first command-line occurrence replaces what env/config gave; later ones add. */
        if (from_cli && !v->from_cli)
            value_clear(v);
        char **nl = realloc(v->list, (v->nlist + 1) * sizeof *nl);
        if (!nl)
            abort();
        v->list = nl;
        v->list[v->nlist++] = strdup(val);
    } else {
        free(v->str);
        v->str = strdup(val);
    }
    v->set = 1;
    if (from_cli)
        v->from_cli = 1;
    return FERRY_OK;
}

char *ferry_opts_read_secret_file(const char *path, ferry_err_t *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        ferry_err_set(err, FERRY_USAGE, "cannot read secret file %s: %s", path, strerror(errno));
        return NULL;
    }
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    char *secret = strdup(buf);
    memset(buf, 0, sizeof buf);
    if (!secret)
        abort();
    return secret;
}

static void env_name(const char *name, const char *suffix, char *out, size_t outsz)
{
    size_t j = 0;
    const char *prefix = "FERRY_";
    for (const char *p = prefix; *p && j + 1 < outsz; p++)
        out[j++] = *p;
    for (const char *p = name; *p && j + 1 < outsz; p++)
        out[j++] = (*p == '-' || *p == '.') ? '_' : (char)toupper((unsigned char)*p);
    for (const char *p = suffix; *p && j + 1 < outsz; p++)
        out[j++] = *p;
    out[j] = '\0';
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static ferry_status load_config(ferry_opts_t *o, const char *path, ferry_err_t *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return ferry_err_set(err, FERRY_FATAL, "cannot read config file %s: %s", path,
                             strerror(errno));
    /* getline: a line of any length is one line (a long one is never split and its tail
     * read as a line of its own) */
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0;
    ferry_status st = FERRY_OK;
    while ((got = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (memchr(line, '\0', (size_t)got)) {
            st = ferry_err_set(err, FERRY_USAGE,
                               "%s:%d: the line holds a NUL byte (is this a text file?)", path,
                               lineno);
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            st = ferry_err_set(err, FERRY_USAGE, "%s:%d: expected `name = value`", path, lineno);
            break;
        }
        *eq = '\0';
        char *key = trim(s);
        char *val = trim(eq + 1);
        size_t klen = strlen(key);
        int is_file = klen > 5 && strcmp(key + klen - 5, "-file") == 0;
        opt_value_t *v = find_long(o, key, is_file ? klen - 5 : klen);
        if (!v || (is_file && !(v->def->flags & FERRY_OPTF_SECRET)) ||
            (v->def->flags & FERRY_OPTF_NOENV)) {
            st = ferry_err_set(err, FERRY_USAGE, "%s:%d: unknown option '%s' for %s", path, lineno,
                               key, o->command);
            break;
        }
        if (is_file) {
            char *secret = ferry_opts_read_secret_file(val, err);
            if (!secret) {
                st = FERRY_FATAL;
                break;
            }
            st = assign(v, secret, "config file", 0, err);
            memset(secret, 0, strlen(secret));
            free(secret);
        } else {
            st = assign(v, val, "config file", 0, err);
        }
        if (st)
            break;
    }
    if (line) {
        memset(line, 0, cap);
        free(line);
    }
    fclose(fp);
    return st;
}

static ferry_status load_env(ferry_opts_t *o, ferry_err_t *err)
{
    char name[128];
    for (size_t i = 0; i < o->nvals; i++) {
        opt_value_t *v = &o->vals[i];
        if (v->def->flags & FERRY_OPTF_NOENV || v->from_cli)
            continue;
        env_name(v->def->name, "", name, sizeof name);
        const char *val = getenv(name);
        ferry_status st = FERRY_OK;
        if (val && v->def->type == FERRY_OPT_LIST) {
            /* FERRY_X="k1=v1,k2=v2": a comma-separated list. */
            char *copy = strdup(val);
            char *save = NULL;
            for (char *tok = strtok_r(copy, ",", &save); tok && !st;
                 tok = strtok_r(NULL, ",", &save))
                st = assign(v, trim(tok), name, 0, err);
            free(copy);
        } else if (val) {
            st = assign(v, val, name, 0, err);
        } else if (v->def->flags & FERRY_OPTF_SECRET) {
            env_name(v->def->name, "_FILE", name, sizeof name);
            const char *path = getenv(name);
            if (path) {
                char *secret = ferry_opts_read_secret_file(path, err);
                if (!secret)
                    return FERRY_FATAL;
                st = assign(v, secret, name, 0, err);
                memset(secret, 0, strlen(secret));
                free(secret);
            }
        }
        if (st)
            return st;
    }
    return FERRY_OK;
}

static void add_arg(ferry_opts_t *o, const char *a)
{
    char **na = realloc(o->args, (size_t)(o->nargs + 1) * sizeof *na);
    if (!na)
        abort();
    o->args = na;
    o->args[o->nargs++] = strdup(a);
}

/* Command-line pass. Values given on the command line win over env and config, which are
 * applied afterwards but do not override (see assign()). */
static ferry_status parse_argv(ferry_opts_t *o, int argc, char **argv, ferry_err_t *err)
{
    int only_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || a[1] == '\0') {
            add_arg(o, a);
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_args = 1;
            continue;
        }
        opt_value_t *v = NULL;
        const char *val = NULL;
        int is_file = 0;
        char shown[160];
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            v = find_long(o, name, len);
            if (!v && len > 5 && strncmp(name + len - 5, "-file", 5) == 0) {
                v = find_long(o, name, len - 5);
                if (v && !(v->def->flags & FERRY_OPTF_SECRET))
                    v = NULL;
                is_file = v != NULL;
            }
            snprintf(shown, sizeof shown, "--%.*s", (int)len, name);
            if (!v)
                return ferry_err_set(err, FERRY_USAGE, "unknown option '%s'", shown);
            if (eq)
                val = eq + 1;
        } else {
            v = find_short(o, a[1]);
            snprintf(shown, sizeof shown, "-%c", a[1]);
            if (!v)
                return ferry_err_set(err, FERRY_USAGE, "unknown option '%s'", shown);
            if (a[2])
                val = a + 2;
        }
        if (v->def->type == FERRY_OPT_BOOL && !is_file) {
            if (val) {
                ferry_status st = assign(v, val, shown, 1, err);
                if (st)
                    return st;
            } else {
                ferry_status st = assign(v, "true", shown, 1, err);
                if (st)
                    return st;
            }
            if (strcmp(v->def->name, "help") == 0)
                o->help = 1;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc)
                return ferry_err_set(err, FERRY_USAGE, "option '%s' needs a value (%s)", shown,
                                     v->def->metavar ? v->def->metavar : "VALUE");
            val = argv[++i];
        }
        ferry_status st;
        if (is_file) {
            char *secret = ferry_opts_read_secret_file(val, err);
            if (!secret)
                return FERRY_FATAL;
            st = assign(v, secret, shown, 1, err);
            memset(secret, 0, strlen(secret));
            free(secret);
        } else {
            st = assign(v, val, shown, 1, err);
            /* a secret given on the command line is blanked in argv, so that ps and
             * /proc/PID/cmdline show x's from now on (--NAME-file or the environment keep it
             * out of argv altogether) */
            if (v->def->flags & FERRY_OPTF_SECRET)
                memset((char *)val, 'x', strlen(val));
        }
        if (st)
            return st;
    }
    return FERRY_OK;
}

ferry_status ferry_opts_parse(ferry_opts_t *o, int argc, char **argv, ferry_err_t *err)
{
    ferry_status st = parse_argv(o, argc, argv, err);
    if (st)
        return st;
    if (o->help)
        return FERRY_OK;

    const char *cfg = get(o, "config")->str;
    if (!cfg)
        cfg = getenv("FERRY_CONFIG");
    if (cfg && (st = load_config(o, cfg, err)))
        return st;
    if ((st = load_env(o, err)))
        return st;

    for (size_t i = 0; i < o->nvals; i++) {
        opt_value_t *v = &o->vals[i];
        if (!v->set && v->def->def && v->def->type != FERRY_OPT_LIST) {
            v->str = strdup(v->def->def);
        }
        if ((v->def->flags & FERRY_OPTF_REQUIRED) && !v->str && !v->nlist) {
            char env[128];
            env_name(v->def->name, "", env, sizeof env);
            return ferry_err_set(err, FERRY_USAGE, "--%s is required (or set %s)", v->def->name,
                                 env);
        }
    }

    ferry_log_level level;
    ferry_log_format format;
    if (ferry_log_level_parse(get(o, "log-level")->str, &level) != 0)
        return ferry_err_set(err, FERRY_USAGE, "--log-level: '%s' is not error/warn/info/debug",
                             get(o, "log-level")->str);
    if (ferry_log_format_parse(get(o, "log-format")->str, &format) != 0)
        return ferry_err_set(err, FERRY_USAGE, "--log-format: '%s' is not plain or json",
                             get(o, "log-format")->str);
    ferry_log_init(level, format, o->command);
    return FERRY_OK;
}

int ferry_opts_parse_or_exit_code(ferry_opts_t *o, int argc, char **argv, int *exit_code)
{
    ferry_err_t err;
    ferry_err_clear(&err);
    ferry_status st = ferry_opts_parse(o, argc, argv, &err);
    if (st == FERRY_OK && o->help) {
        ferry_opts_print_help(o, stdout);
        *exit_code = 0;
        return 0;
    }
    if (st == FERRY_USAGE) {
        fprintf(stderr, "%s: %s\nUsage: %s %s\nTry '%s --help' for more information.\n", o->command,
                err.msg, o->command, o->usage, o->command);
        *exit_code = 2;
        return 0;
    }
    if (st) {
        fprintf(stderr, "%s: %s\n", o->command, err.msg);
        *exit_code = 1;
        return 0;
    }
    return 1;
}

int ferry_opts_help_requested(const ferry_opts_t *o)
{
    return o->help;
}

void ferry_opts_print_help(const ferry_opts_t *o, FILE *fp)
{
    fprintf(fp, "Usage: %s %s\n\n", o->command, o->usage);
    if (o->about && *o->about)
        fprintf(fp, "%s\n\n", o->about);
    fprintf(fp, "Options:\n");
    for (size_t i = 0; i < o->nvals; i++) {
        const ferry_opt_t *d = o->vals[i].def;
        char flag[96];
        char sh[8] = "    ";
        if (d->short_name)
            snprintf(sh, sizeof sh, "-%c, ", d->short_name);
        if (d->type == FERRY_OPT_BOOL)
            snprintf(flag, sizeof flag, "%s--%s", sh, d->name);
        else
            snprintf(flag, sizeof flag, "%s--%s %s", sh, d->name,
                     d->metavar ? d->metavar : "VALUE");
        fprintf(fp, "  %-34s %s", flag, d->help ? d->help : "");
        if (d->def && !(d->flags & FERRY_OPTF_SECRET))
            fprintf(fp, " (default: %s)", d->def);
        if (d->flags & FERRY_OPTF_REQUIRED)
            fprintf(fp, " (required)");
        fputc('\n', fp);
        if (!(d->flags & FERRY_OPTF_NOENV)) {
            char env[128];
            env_name(d->name, "", env, sizeof env);
            fprintf(fp, "  %-34s   env %s", "", env);
            if (d->flags & FERRY_OPTF_SECRET) {
                char envf[140];
                env_name(d->name, "_FILE", envf, sizeof envf);
                fprintf(fp, ", or --%s-file PATH / %s", d->name, envf);
            }
            fputc('\n', fp);
        }
    }
}

const char *ferry_opts_str(const ferry_opts_t *o, const char *name)
{
    return get(o, name)->str;
}

int64_t ferry_opts_int(const ferry_opts_t *o, const char *name)
{
    const char *s = get(o, name)->str;
    return s ? strtoll(s, NULL, 10) : 0;
}

double ferry_opts_double(const ferry_opts_t *o, const char *name)
{
    const char *s = get(o, name)->str;
    return s ? strtod(s, NULL) : 0.0;
}

int ferry_opts_bool(const ferry_opts_t *o, const char *name)
{
    const char *s = get(o, name)->str;
    int b = 0;
    if (s)
        parse_bool(s, &b);
    return b;
}

int64_t ferry_opts_duration_ms(const ferry_opts_t *o, const char *name)
{
    const char *s = get(o, name)->str;
    int64_t ms = 0;
    if (s)
        ferry_parse_duration_ms(s, &ms);
    return ms;
}

int ferry_opts_has(const ferry_opts_t *o, const char *name)
{
    return find_long((ferry_opts_t *)o, name, strlen(name)) != NULL;
}

int ferry_opts_is_set(const ferry_opts_t *o, const char *name)
{
    return get(o, name)->set;
}

size_t ferry_opts_list(const ferry_opts_t *o, const char *name, const char *const **items)
{
    const opt_value_t *v = get(o, name);
    *items = (const char *const *)v->list;
    return v->nlist;
}

int ferry_opts_nargs(const ferry_opts_t *o)
{
    return o->nargs;
}

const char *ferry_opts_arg(const ferry_opts_t *o, int i)
{
    return i >= 0 && i < o->nargs ? o->args[i] : NULL;
}

const char *ferry_opts_command(const ferry_opts_t *o)
{
    return o->command;
}
