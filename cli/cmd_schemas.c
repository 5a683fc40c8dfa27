/* cmd_schemas.c - `ferry schemas`: lists the Avro schemas built into ferry, with the
 * CRC-64-AVRO fingerprints that identify them on the wire; `--show NAME` prints one;
 * `ferry schemas check [--dir DIR]` refuses a schema change that breaks BACKWARD
 * compatibility with the released versions in DIR/history (docs/contracts.md). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/command.h"
#include "ferry/avro.h"
#include "ferry/buf.h"
#include "ferry/options.h"
#include "ferry/resolve.h"

#define MAX_SCHEMA_FILE (1 << 20)

static const ferry_opt_t schemas_opts[] = {
    {"show", 0, FERRY_OPT_STRING, NULL, "NAME", "print the schema's JSON", 0},
    FERRY_OPT_END,
};

static const ferry_opt_t check_opts[] = {
    {"dir", 0, FERRY_OPT_STRING, NULL, "DIR",
     "check the .avsc files of DIR against DIR/history (default: the schemas built into this "
     "binary)",
     0},
    FERRY_OPT_END,
};

/* One schema file: its name and text. */
typedef struct src {
    char *file;
    ferry_buf_t text;
} src_t;

typedef struct set {
    src_t *items;
    size_t n;
} set_t;

static int by_file(const void *a, const void *b)
{
    return strcmp(((const src_t *)a)->file, ((const src_t *)b)->file);
}

static void set_free(set_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].file);
        ferry_buf_free(&s->items[i].text);
    }
    free(s->items);
}

static void set_embedded(set_t *s, const ferry_schema_source_t *src, size_t n)
{
    s->items = ferry_xcalloc(n ? n : 1, sizeof *s->items);
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        s->items[i].file = ferry_xstrndup(src[i].file, strlen(src[i].file));
        ferry_buf_append(&s->items[i].text, src[i].json, src[i].len);
    }
}

/* The .avsc files of dir, sorted. -1 with a message when it cannot be read. */
static int set_dir(set_t *s, const char *dir, const char *prog)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL && rc == 0) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || e->d_name[0] == '.' || strcmp(e->d_name + len - 5, ".avsc") != 0)
            continue;
        if (s->n == cap) {
            cap = cap ? cap * 2 : 16;
            s->items = ferry_xrealloc(s->items, cap, sizeof *s->items);
        }
        src_t *it = &s->items[s->n++];
        memset(it, 0, sizeof *it);
        it->file = ferry_xstrndup(e->d_name, len);
        ferry_buf_t path = FERRY_BUF_INIT;
        ferry_buf_appendf(&path, "%s/%s", dir, e->d_name);
        if (ferry_buf_read_file(&it->text, ferry_buf_cstr(&path), MAX_SCHEMA_FILE) != 0) {
            fprintf(stderr, "%s: %s: %s\n", prog, ferry_buf_cstr(&path), strerror(errno));
            rc = -1;
        }
        ferry_buf_free(&path);
    }
    closedir(d);
    if (s->n)
        qsort(s->items, s->n, sizeof *s->items, by_file);
    return rc;
}

static ferry_schema_t *parse(const src_t *src, const char *where, int *bad)
{
    ferry_schema_t *s = NULL;
    ferry_err_t err;
    if (ferry_schema_parse((const char *)src->text.data, src->text.len, &s, &err) != FERRY_OK) {
        printf("FAIL %s%s: %s\n", where, src->file, err.msg);
        *bad = 1;
        return NULL;
    }
    return s;
}

/* The version N of "<name>.v<N>.avsc", else 0. */
static long version_of(const char *file, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(file, name, n) != 0 || strncmp(file + n, ".v", 2) != 0)
        return 0;
    char *end = NULL;
    long v = strtol(file + n + 2, &end, 10);
    return v > 0 && end && !strcmp(end, ".avsc") ? v : 0;
}

/* Checks one current schema against its released versions. 0 when all is well. */
static int check_one(const src_t *cur, const set_t *hist)
{
    int bad = 0;
    ferry_schema_t *reader = parse(cur, "", &bad);
    if (!reader)
        return 1;
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(strlen(cur->file) - 5), cur->file);
    long latest = 0;
    uint64_t latest_fp = 0;
    for (size_t i = 0; i < hist->n; i++) {
        long v = version_of(hist->items[i].file, name);
        if (!v)
            continue;
        ferry_schema_t *writer = parse(&hist->items[i], "history/", &bad);
        if (!writer)
            continue;
        if (v > latest) {
            latest = v;
            latest_fp = ferry_schema_fingerprint(writer);
        }
        ferry_resolver_t *rs = NULL;
        ferry_err_t err;
        if (ferry_resolver_new(writer, reader, &rs, &err) != FERRY_OK) {
            printf("FAIL %s: cannot read what version %ld (history/%s) wrote: %s\n", cur->file, v,
                   hist->items[i].file, err.msg);
            bad = 1;
        } else {
            printf("ok   %s reads version %ld (history/%s)\n", cur->file, v, hist->items[i].file);
        }
        ferry_resolver_free(rs);
        ferry_schema_free(writer);
    }
    if (!latest) {
        printf("FAIL %s: no released version in history/: add history/%s.v1.avsc (a copy of "
               "%s)\n",
               cur->file, name, cur->file);
        bad = 1;
    } else if (latest_fp != ferry_schema_fingerprint(reader)) {
        printf("FAIL %s differs from its latest released version %ld: record it as "
               "history/%s.v%ld.avsc\n",
               cur->file, latest, name, latest + 1);
        bad = 1;
    }
    ferry_schema_free(reader);
    return bad;
}

static int schemas_check(int argc, char **argv)
{
    ferry_cmd_t cmd;
    int rc = ferry_cmd_begin(
        &cmd,
        ferry_opts_new(
            argv[0], "[--dir DIR]",
            "Checks that every schema can read what each of its released versions wrote (Avro "
            "schema resolution: BACKWARD compatibility), and that the latest released version in "
            "history/ is the current file. Exit 0 when all hold, 1 when one does not (each "
            "failure names the schema, the version and the field).",
            check_opts),
        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
    set_t cur = {0}, hist = {0};
    const char *dir = ferry_opts_str(o, "dir");
    rc = FERRY_EXIT_OK;
    if (dir) {
        char h[4096];
        snprintf(h, sizeof h, "%s/history", dir);
        if (set_dir(&cur, dir, argv[0]) != 0 || set_dir(&hist, h, argv[0]) != 0)
            rc = FERRY_EXIT_USAGE;
    } else {
        set_embedded(&cur, ferry_schema_sources, ferry_schema_source_count);
        set_embedded(&hist, ferry_schema_history, ferry_schema_history_count);
    }
    if (rc == FERRY_EXIT_OK && cur.n == 0) {
        fprintf(stderr, "%s: no .avsc file in %s\n", argv[0], dir ? dir : "the binary");
        rc = FERRY_EXIT_USAGE;
    }
    int bad = 0;
    for (size_t i = 0; rc == FERRY_EXIT_OK && i < cur.n; i++)
        bad |= check_one(&cur.items[i], &hist);
    if (rc == FERRY_EXIT_OK && bad)
        rc = FERRY_EXIT_FAILED;
    set_free(&cur);
    set_free(&hist);
    return ferry_cmd_end(&cmd, rc);
}

int cmd_schemas(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0) {
        char prog[] = "ferry schemas check";
        argv[1] = prog;
        return schemas_check(argc - 1, argv + 1);
    }
    ferry_cmd_t cmd;
    int rc =
        ferry_cmd_begin(&cmd,
                        ferry_opts_new(argv[0], "[--show NAME]\n       ferry schemas check --help",
                                       "Lists the embedded Avro schemas and their "
                                       "fingerprints; `check` checks their compatibility "
                                       "with the released versions (see `ferry schemas "
                                       "check --help`).",
                                       schemas_opts),
                        argc, argv);
    if (rc >= 0)
        return rc;
    ferry_opts_t *o = cmd.o;
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
    return ferry_cmd_end(&cmd, rc);
}
