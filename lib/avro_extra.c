/* avro_extra.c - writer schemas found by fingerprint only (see include/ferry/avro.h): the
 * released versions of ferry's own schemas (schemas/history, embedded) and other writers'
 * schemas (`--schemas DIR`). Single-object records of these are resolved against the reader
 * like a registry's schema. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_internal.h"
#include "ferry/buf.h"

#define MAX_SCHEMA_FILE (1 << 20)

typedef struct list {
    ferry_schema_t **items;
    size_t n, cap;
} list_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t history_once = PTHREAD_ONCE_INIT;
static list_t history, extra; /* under mu */

static const ferry_schema_t *list_find(const list_t *l, uint64_t fp)
{
    for (size_t i = 0; i < l->n; i++)
        if (ferry_schema_fingerprint(l->items[i]) == fp)
            return l->items[i];
    return NULL;
}

/* Known already: embedded, or in either list (mu held). */
static int known(uint64_t fp)
{
    for (size_t i = 0; i < ferry_schema_count(); i++)
        if (ferry_schema_fingerprint(ferry_schema_at(i)) == fp)
            return 1;
    return list_find(&history, fp) || list_find(&extra, fp);
}

/* Adds s to l unless its fingerprint is known (then frees it); mu held. 1 when added. */
static int add_locked(list_t *l, ferry_schema_t *s)
{
    if (known(ferry_schema_fingerprint(s))) {
        ferry_schema_free(s);
        return 0;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = ferry_xrealloc(l->items, l->cap, sizeof *l->items);
    }
    l->items[l->n++] = s;
    return 1;
}

/* The embedded history; a version that does not parse is a build defect the unit test and
 * `ferry schemas check` report, skipped here. */
static void history_load(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < ferry_schema_history_count; i++) {
        ferry_schema_t *s = NULL;
        ferry_err_t err;
        if (ferry_schema_parse(ferry_schema_history[i].json, ferry_schema_history[i].len, &s,
                               &err) == FERRY_OK)
            add_locked(&history, s);
    }
    pthread_mutex_unlock(&mu);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_file(const char *path, ferry_buf_t *out, ferry_err_t *err)
{
    if (ferry_buf_read_file(out, path, MAX_SCHEMA_FILE) != 0)
        return ferry_err_set(err, FERRY_USAGE, "--schemas: cannot read %s: %s", path,
                             strerror(errno));
    return FERRY_OK;
}

/* Adds one parsed schema unless its fingerprint is known already. 1 when added. */
static int add(ferry_schema_t *s)
{
    pthread_once(&history_once, history_load);
    pthread_mutex_lock(&mu);
    int added = add_locked(&extra, s);
    pthread_mutex_unlock(&mu);
    return added;
}

int ferry_schema_add_dir(const char *dir, size_t *added, ferry_err_t *err)
{
    if (added)
        *added = 0;
    DIR *d = opendir(dir);
    if (!d)
        return ferry_err_set(err, FERRY_USAGE, "--schemas %s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || e->d_name[0] == '.' || strcmp(e->d_name + len - 5, ".avsc") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = ferry_xrealloc(names, cap, sizeof *names);
        }
        names[n++] = ferry_xstrndup(e->d_name, len);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    int rc = FERRY_OK;
    ferry_buf_t text = FERRY_BUF_INIT, path = FERRY_BUF_INIT;
    for (size_t i = 0; i < n && rc == FERRY_OK; i++) {
        ferry_buf_reset(&path);
        ferry_buf_appendf(&path, "%s/%s", dir, names[i]);
        if ((rc = read_file(ferry_buf_cstr(&path), &text, err)) != FERRY_OK)
            break;
        ferry_schema_t *s = NULL;
        ferry_err_t perr;
        if (ferry_schema_parse((const char *)text.data, text.len, &s, &perr) != FERRY_OK) {
            rc = ferry_err_set(err, FERRY_USAGE, "--schemas: %s: %s", ferry_buf_cstr(&path),
                               perr.msg);
            break;
        }
        if (add(s) && added)
            (*added)++;
    }
    if (rc == FERRY_OK && n == 0)
        rc = ferry_err_set(err, FERRY_USAGE, "--schemas %s: no .avsc file in it", dir);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    ferry_buf_free(&text);
    ferry_buf_free(&path);
    return rc;
}

const ferry_schema_t *ferry_schema_extra_by_fingerprint(uint64_t fingerprint)
{
    pthread_once(&history_once, history_load);
    pthread_mutex_lock(&mu);
    const ferry_schema_t *found = list_find(&history, fingerprint);
    if (!found)
        found = list_find(&extra, fingerprint);
    pthread_mutex_unlock(&mu);
    return found;
}

void ferry_schema_extra_clear(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < extra.n; i++)
        ferry_schema_free(extra.items[i]);
    free(extra.items);
    memset(&extra, 0, sizeof extra);
    pthread_mutex_unlock(&mu);
}
