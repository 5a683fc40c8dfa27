/* avro_resolve.c - Avro schema resolution, writer schema -> reader schema (see
 * include/ferry/resolve.h).
 *
 * ferry_resolver_new() compiles the pair once into a tree of nodes (one per writer type that
 * is read), so reading a body walks the bytes and the plan only: no name lookups, no schema
 * comparisons per record. Recursive records are compiled once per (writer, reader) pair and
 * shared. avro-c has resolvers of its own (avro_resolved_writer_new), but they read through
 * avro_value_read(), which trusts lengths in the input, and they know no field defaults (avro-c
 * drops them while parsing), so ferry resolves here with its bounds-checked reader. */
#include "avro_resolve_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- compiling -------------------------------------------------------------------------- */

static rnode_t *node_new(ferry_resolver_t *rs, int op, avro_schema_t w, avro_schema_t r)
{
    rnode_t *n = ferry_xcalloc(1, sizeof *n);
    n->op = op;
    n->w = w;
    n->r = r;
    n->wt = avro_typeof(w);
    n->rt = r ? avro_typeof(r) : AVRO_NULL;
    rs->all = ferry_xrealloc(rs->all, rs->nall + 1, sizeof *rs->all);
    rs->all[rs->nall++] = n;
    return n;
}

static void node_free(rnode_t *n)
{
    free(n->sub);
    free(n->rfield);
    free(n->wfield);
    free(n->rname);
    free(n->def_field);
    free(n->def_json);
    free(n->symbols);
    free(n->msg);
    free(n);
}

static const char *unqualified(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

/* 1 when `name` is one of the strings of the JSON array `aliases` (compared unqualified). */
static int in_aliases(const json_t *aliases, const char *name)
{
    for (size_t i = 0; i < json_array_size(aliases); i++) {
        const char *a = json_string_value(json_array_get(aliases, i));
        if (a && !strcmp(unqualified(a), unqualified(name)))
            return 1;
    }
    return 0;
}

static int names_match(const ferry_resolver_t *rs, avro_schema_t w, avro_schema_t r)
{
    const char *wn = unqualified(avro_schema_name(w)), *rn = unqualified(avro_schema_name(r));
    if (!strcmp(wn, rn))
        return 1;
    return in_aliases(json_object_get(ferry_avro_named_json(rs->r, r), "aliases"), wn);
}

static int cerr(ferry_err_t *err, const ferry_avro_path_t *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cerr(ferry_err_t *err, const ferry_avro_path_t *path, const char *fmt, ...)
{
    char where[256], what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ferry_err_set(err, FERRY_POISON, "%s: %s",
                         ferry_avro_path_format(path, where, sizeof where), what);
}

static int mismatch(ferry_err_t *err, const ferry_avro_path_t *path, avro_schema_t w,
                    avro_schema_t r)
{
    char wn[256], rn[256];
    return cerr(err, path, "writer type %s cannot be read as %s",
                ferry_avro_type_name(w, wn, sizeof wn), ferry_avro_type_name(r, rn, sizeof rn));
}

static int promotable(avro_type_t w, avro_type_t r)
{
    switch (w) {
    case AVRO_INT32:
        return r == AVRO_INT64 || r == AVRO_FLOAT || r == AVRO_DOUBLE;
    case AVRO_INT64:
        return r == AVRO_FLOAT || r == AVRO_DOUBLE;
    case AVRO_FLOAT:
        return r == AVRO_DOUBLE;
    case AVRO_STRING:
        return r == AVRO_BYTES;
    case AVRO_BYTES:
        return r == AVRO_STRING;
    default:
        return 0;
    }
}

/* Same type and, for named types, the same name: the first choice among reader branches. */
static int exact(const ferry_resolver_t *rs, avro_schema_t w, avro_schema_t r)
{
    w = ferry_avro_resolve(w);
    r = ferry_avro_resolve(r);
    if (avro_typeof(w) != avro_typeof(r))
        return 0;
    if (is_avro_record(w) || is_avro_enum(w) || is_avro_fixed(w))
        return names_match(rs, w, r);
    return 1;
}

static rnode_t *compile(ferry_resolver_t *rs, avro_schema_t w, avro_schema_t r,
                        const ferry_avro_path_t *path, int depth, ferry_err_t *err);

static rnode_t *compile_record(ferry_resolver_t *rs, avro_schema_t w, avro_schema_t r,
                               const ferry_avro_path_t *path, int depth, ferry_err_t *err)
{
    for (size_t i = 0; i < rs->nmemo; i++)
        if (rs->memo[i].w == w && rs->memo[i].r == r)
            return rs->memo[i].n; /* recursion, or the same pair again */
    rnode_t *n = node_new(rs, R_RECORD, w, r);
    rs->memo = ferry_xrealloc(rs->memo, rs->nmemo + 1, sizeof *rs->memo);
    rs->memo[rs->nmemo++] = (struct memo){w, r, n};
    size_t nw = avro_schema_record_size(w), nr = avro_schema_record_size(r);
    n->nsub = nw;
    n->sub = ferry_xcalloc(nw ? nw : 1, sizeof *n->sub);
    n->rfield = ferry_xcalloc(nw ? nw : 1, sizeof *n->rfield);
    n->wfield = ferry_xcalloc(nw ? nw : 1, sizeof *n->wfield);
    n->rname = ferry_xcalloc(nw ? nw : 1, sizeof *n->rname);
    n->nr = nr;
    char *taken = ferry_xcalloc(nr ? nr : 1, 1);
    const json_t *rfields = json_object_get(ferry_avro_named_json(rs->r, r), "fields");
    for (size_t i = 0; i < nw; i++) {
        const char *wname = avro_schema_record_field_name(w, (int)i);
        int k = avro_schema_record_field_get_index(r, wname);
        for (size_t j = 0; k < 0 && j < nr; j++)
            if (!taken[j] &&
                in_aliases(json_object_get(json_array_get(rfields, j), "aliases"), wname))
                k = (int)j;
        n->rfield[i] = k;
        n->wfield[i] = avro_schema_record_field_get_by_index(w, (int)i);
        if (k < 0 || taken[k])
            continue; /* the reader does not have it: skipped */
        taken[k] = 1;
        n->rname[i] = avro_schema_record_field_name(r, k);
        ferry_avro_path_t sub = {path, avro_schema_record_field_name(r, k), 0, 0};
        n->sub[i] = compile(rs, avro_schema_record_field_get_by_index(w, (int)i),
                            avro_schema_record_field_get_by_index(r, k), &sub, depth + 1, err);
        if (!n->sub[i]) {
            free(taken);
            return NULL;
        }
    }
    const ferry_avro_record_info_t *info = ferry_avro_record_info(rs->r, r);
    for (size_t k = 0; k < nr; k++) {
        if (taken[k])
            continue;
        ferry_avro_path_t sub = {path, avro_schema_record_field_name(r, (int)k), 0, 0};
        const json_t *def = info && k < info->nfields ? info->defaults[k] : NULL;
        if (!def) {
            free(taken);
            cerr(err, &sub, "missing in the writer's schema and has no default");
            return NULL;
        }
        n->def_field = ferry_xrealloc(n->def_field, n->ndef + 1, sizeof *n->def_field);
        n->def_json = ferry_xrealloc(n->def_json, n->ndef + 1, sizeof *n->def_json);
        n->def_field[n->ndef] = (int)k;
        n->def_json[n->ndef++] = def;
    }
    free(taken);
    return n;
}

static rnode_t *compile_enum(ferry_resolver_t *rs, avro_schema_t w, avro_schema_t r,
                             const ferry_avro_path_t *path, ferry_err_t *err)
{
    rnode_t *n = node_new(rs, R_ENUM, w, r);
    int nw = avro_schema_enum_number_of_symbols(w);
    const char *def =
        json_string_value(json_object_get(ferry_avro_named_json(rs->r, r), "default"));
    int def_index = def ? avro_schema_enum_get_by_name(r, def) : -1;
    if (def && def_index < 0) {
        cerr(err, path, "the reader's enum default \"%s\" is not one of its symbols", def);
        return NULL;
    }
    n->nsub = (size_t)(nw > 0 ? nw : 0);
    n->symbols = ferry_xcalloc(n->nsub ? n->nsub : 1, sizeof *n->symbols);
    for (int i = 0; i < nw; i++) {
        int k = avro_schema_enum_get_by_name(r, avro_schema_enum_get(w, i));
        n->symbols[i] = k >= 0 ? k : def_index;
    }
    return n;
}

static rnode_t *compile_writer_union(ferry_resolver_t *rs, avro_schema_t w, avro_schema_t r,
                                     const ferry_avro_path_t *path, int depth, ferry_err_t *err)
{
    rnode_t *n = node_new(rs, R_WUNION, w, r);
    n->nsub = avro_schema_union_size(w);
    n->sub = ferry_xcalloc(n->nsub ? n->nsub : 1, sizeof *n->sub);
    size_t ok = 0;
    ferry_err_t last;
    ferry_err_clear(&last);
    for (size_t i = 0; i < n->nsub; i++) {
        ferry_err_t e;
        n->sub[i] = compile(rs, avro_schema_union_branch(w, (int)i), r, path, depth + 1, &e);
        if (n->sub[i]) {
            ok++;
            continue;
        }
        /* an error only for the records that pick this branch */
        rnode_t *bad =
            node_new(rs, R_ERROR, ferry_avro_resolve(avro_schema_union_branch(w, (int)i)), r);
        bad->msg = ferry_xstrndup(e.msg, strlen(e.msg));
        n->sub[i] = bad;
        last = e;
    }
    if (ok == 0 && n->nsub > 0) {
        if (err)
            *err = last;
        return NULL;
    }
    return n;
}

static rnode_t *compile_reader_union(ferry_resolver_t *rs, avro_schema_t w, avro_schema_t r,
                                     const ferry_avro_path_t *path, int depth, ferry_err_t *err)
{
    size_t nr = avro_schema_union_size(r);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < nr; i++) {
            avro_schema_t b = avro_schema_union_branch(r, (int)i);
            if (pass == 0 && !exact(rs, w, b))
                continue;
            if (pass == 1 && (exact(rs, w, b) ||
                              !promotable(avro_typeof(w), avro_typeof(ferry_avro_resolve(b)))))
                continue;
            ferry_err_t e;
            rnode_t *inner = compile(rs, w, b, path, depth + 1, pass == 0 ? err : &e);
            if (!inner) {
                if (pass == 0)
                    return NULL; /* same type or name, but its insides do not resolve */
                continue;
            }
            rnode_t *n = node_new(rs, R_RUNION, w, r);
            n->nsub = 1;
            n->sub = ferry_xcalloc(1, sizeof *n->sub);
            n->sub[0] = inner;
            n->rbranch = (int)i;
            return n;
        }
    }
    char wn[256];
    cerr(err, path, "writer type %s matches no branch of the reader's union",
         ferry_avro_type_name(w, wn, sizeof wn));
    return NULL;
}

static rnode_t *compile(ferry_resolver_t *rs, avro_schema_t w, avro_schema_t r,
                        const ferry_avro_path_t *path, int depth, ferry_err_t *err)
{
    if (depth > FERRY_AVRO_MAX_DEPTH) {
        cerr(err, path, "schemas nested too deeply");
        return NULL;
    }
    w = ferry_avro_resolve(w);
    r = ferry_avro_resolve(r);
    avro_type_t wt = avro_typeof(w), rt = avro_typeof(r);
    if (wt == AVRO_UNION)
        return compile_writer_union(rs, w, r, path, depth, err);
    if (rt == AVRO_UNION)
        return compile_reader_union(rs, w, r, path, depth, err);
    if (wt != rt) {
        if (promotable(wt, rt))
            return node_new(rs, R_PROMOTE, w, r);
        mismatch(err, path, w, r);
        return NULL;
    }
    switch (wt) {
    case AVRO_RECORD:
        if (!names_match(rs, w, r)) {
            mismatch(err, path, w, r);
            return NULL;
        }
        return compile_record(rs, w, r, path, depth, err);
    case AVRO_ENUM:
        if (!names_match(rs, w, r)) {
            mismatch(err, path, w, r);
            return NULL;
        }
        return compile_enum(rs, w, r, path, err);
    case AVRO_FIXED:
        if (!names_match(rs, w, r) || avro_schema_fixed_size(w) != avro_schema_fixed_size(r)) {
            mismatch(err, path, w, r);
            return NULL;
        }
        return node_new(rs, R_SAME, w, r);
    case AVRO_ARRAY:
    case AVRO_MAP: {
        int is_map = wt == AVRO_MAP;
        rnode_t *inner = compile(
            rs, is_map ? avro_schema_map_values(w) : avro_schema_array_items(w),
            is_map ? avro_schema_map_values(r) : avro_schema_array_items(r), path, depth + 1, err);
        if (!inner)
            return NULL;
        rnode_t *n = node_new(rs, is_map ? R_MAP : R_ARRAY, w, r);
        n->nsub = 1;
        n->sub = ferry_xcalloc(1, sizeof *n->sub);
        n->sub[0] = inner;
        return n;
    }
    default: /* the same primitive */
        return node_new(rs, R_SAME, w, r);
    }
}

int ferry_resolver_new(const ferry_schema_t *writer, const ferry_schema_t *reader,
                       ferry_resolver_t **out, ferry_err_t *err)
{
    *out = NULL;
    ferry_resolver_t *rs = ferry_xcalloc(1, sizeof *rs);
    rs->w = writer;
    rs->r = reader;
    rs->identity = !strcmp(ferry_schema_canonical(writer), ferry_schema_canonical(reader));
    ferry_avro_path_t root = {NULL, ferry_schema_name(reader), 0, 0};
    rs->root = compile(rs, ferry_schema_avro(writer), ferry_schema_avro(reader), &root, 0, err);
    if (!rs->root) {
        ferry_resolver_free(rs);
        return FERRY_POISON;
    }
    *out = rs;
    return FERRY_OK;
}

void ferry_resolver_free(ferry_resolver_t *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->nall; i++)
        node_free(rs->all[i]);
    free(rs->all);
    free(rs->memo);
    free(rs);
}

int ferry_resolver_identity(const ferry_resolver_t *rs)
{
    return rs->identity;
}

/* ---- reading ---------------------------------------------------------------------------- */

static int fatal(run_t *x)
{
    return ferry_err_set(x->rd.err, FERRY_FATAL, "avro-c: %s", avro_strerror());
}

/* Passes over one value of writer schema s. */
int ferry_resolve_skip(run_t *x, avro_schema_t s, const ferry_avro_path_t *path, int depth)
{
    ferry_avro_reader_t *r = &x->rd;
    int64_t v;
    uint64_t u;
    const unsigned char *data;
    size_t len;
    int rc;
    if (depth > FERRY_AVRO_MAX_DEPTH)
        return ferry_avro_rd_error(r, path, "nested too deeply");
    s = ferry_avro_resolve(s);
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return FERRY_OK;
    case AVRO_BOOLEAN:
        if (r->p >= r->end)
            return ferry_avro_rd_error(r, path, "truncated");
        if (*r->p++ > 1)
            return ferry_avro_rd_error(r, path, "boolean is neither 0 nor 1");
        return FERRY_OK;
    case AVRO_INT32:
    case AVRO_INT64:
    case AVRO_ENUM:
        return ferry_avro_rd_long(r, path, &v);
    case AVRO_FLOAT:
        return ferry_avro_rd_le(r, path, 4, &u);
    case AVRO_DOUBLE:
        return ferry_avro_rd_le(r, path, 8, &u);
    case AVRO_STRING:
    case AVRO_BYTES:
        return ferry_avro_rd_bytes(r, path, &data, &len);
    case AVRO_FIXED: {
        int64_t size = avro_schema_fixed_size(s);
        if (size < 0 || (uint64_t)size > (uint64_t)(r->end - r->p))
            return ferry_avro_rd_error(r, path, "truncated");
        r->p += size;
        return FERRY_OK;
    }
    case AVRO_UNION:
        if ((rc = ferry_avro_rd_long(r, path, &v)) != FERRY_OK)
            return rc;
        if (v < 0 || (uint64_t)v >= avro_schema_union_size(s))
            return ferry_avro_rd_error(r, path, "union branch index out of range");
        return ferry_resolve_skip(x, avro_schema_union_branch(s, (int)v), path, depth + 1);
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            if ((rc = ferry_resolve_skip(x, avro_schema_record_field_get_by_index(s, (int)i), path,
                                         depth + 1)) != FERRY_OK)
                return rc;
        return FERRY_OK;
    case AVRO_ARRAY:
    case AVRO_MAP: {
        int is_map = avro_typeof(s) == AVRO_MAP;
        avro_schema_t item = is_map ? avro_schema_map_values(s) : avro_schema_array_items(s);
        size_t min = (is_map ? 1 : 0) + ferry_avro_min_size(item, 0), seen = 0;
        for (;;) {
            int64_t count, bytes;
            if ((rc = ferry_avro_rd_long(r, path, &count)) != FERRY_OK)
                return rc;
            if (count == 0)
                return FERRY_OK;
            if (count < 0) { /* the block carries its size: jump over it */
                if (count == INT64_MIN)
                    return ferry_avro_rd_error(r, path, "bad block count");
                if ((rc = ferry_avro_rd_long(r, path, &bytes)) != FERRY_OK)
                    return rc;
                if (bytes < 0 || (uint64_t)bytes > (uint64_t)(r->end - r->p))
                    return ferry_avro_rd_error(r, path, "bad block size");
                r->p += bytes;
                continue;
            }
            if (min > 0 ? (uint64_t)count > (uint64_t)(r->end - r->p) / min
                        : (uint64_t)count > FERRY_AVRO_MAX_EMPTY_ITEMS - seen)
                return ferry_avro_rd_error(r, path, "truncated: item count larger than the data");
            seen += (size_t)count;
            for (int64_t k = 0; k < count; k++) {
                if (is_map && (rc = ferry_avro_rd_bytes(r, path, &data, &len)) != FERRY_OK)
                    return rc;
                if ((rc = ferry_resolve_skip(x, item, path, depth + 1)) != FERRY_OK)
                    return rc;
            }
        }
    }
    default:
        return ferry_avro_rd_error(r, path, "unsupported Avro type");
    }
}

static int run_node(run_t *x, const rnode_t *n, avro_value_t *v, const ferry_avro_path_t *path,
                    int depth);

static int run_promote(run_t *x, const rnode_t *n, avro_value_t *v, const ferry_avro_path_t *path)
{
    ferry_avro_reader_t *r = &x->rd;
    int64_t l = 0;
    uint64_t u = 0;
    double d = 0;
    const unsigned char *data = NULL;
    size_t len = 0;
    int rc;
    switch (n->wt) {
    case AVRO_INT32:
    case AVRO_INT64:
        if ((rc = ferry_avro_rd_long(r, path, &l)) != FERRY_OK)
            return rc;
        if (n->wt == AVRO_INT32 && (l < INT32_MIN || l > INT32_MAX))
            return ferry_avro_rd_error(r, path, "int out of range");
        d = (double)l;
        break;
    case AVRO_FLOAT: {
        float f;
        uint32_t u32;
        if ((rc = ferry_avro_rd_le(r, path, 4, &u)) != FERRY_OK)
            return rc;
        u32 = (uint32_t)u;
        memcpy(&f, &u32, 4);
        d = f;
        break;
    }
    default: /* string, bytes */
        if ((rc = ferry_avro_rd_bytes(r, path, &data, &len)) != FERRY_OK)
            return rc;
        break;
    }
    switch (n->rt) {
    case AVRO_INT64:
        return avro_value_set_long(v, l) ? fatal(x) : FERRY_OK;
    case AVRO_FLOAT:
        return avro_value_set_float(v, (float)d) ? fatal(x) : FERRY_OK;
    case AVRO_DOUBLE:
        return avro_value_set_double(v, d) ? fatal(x) : FERRY_OK;
    case AVRO_BYTES:
        return avro_value_set_bytes(v, (void *)(uintptr_t)data, len) ? fatal(x) : FERRY_OK;
    default: /* string from bytes */
        if (!ferry_avro_utf8_valid(data, len))
            return ferry_avro_rd_error(r, path, "bytes read as a string are not valid UTF-8");
        return avro_value_set_string_len(v, ferry_avro_rd_cstr(r, data, len), len + 1) ? fatal(x)
                                                                                       : FERRY_OK;
    }
}

static int run_items(run_t *x, const rnode_t *n, avro_value_t *v, const ferry_avro_path_t *path,
                     int depth)
{
    ferry_avro_reader_t *r = &x->rd;
    int is_map = n->op == R_MAP;
    avro_schema_t item = is_map ? avro_schema_map_values(n->w) : avro_schema_array_items(n->w);
    size_t min = (is_map ? 1 : 0) + ferry_avro_min_size(item, 0), index = 0;
    avro_value_reset(v);
    for (;;) {
        int64_t count, bytes;
        int rc;
        if ((rc = ferry_avro_rd_long(r, path, &count)) != FERRY_OK)
            return rc;
        if (count == 0)
            return FERRY_OK;
        if (count < 0) {
            if (count == INT64_MIN)
                return ferry_avro_rd_error(r, path, "bad block count");
            count = -count;
            if ((rc = ferry_avro_rd_long(r, path, &bytes)) != FERRY_OK)
                return rc;
            if (bytes < 0 || (uint64_t)bytes > (uint64_t)(r->end - r->p))
                return ferry_avro_rd_error(r, path, "bad block size");
        }
        if (min > 0 ? (uint64_t)count > (uint64_t)(r->end - r->p) / min
                    : (uint64_t)count > FERRY_AVRO_MAX_EMPTY_ITEMS - index)
            return ferry_avro_rd_error(r, path, "truncated: item count larger than the data");
        for (int64_t k = 0; k < count; k++, index++) {
            avro_value_t e;
            ferry_avro_path_t sub = {path, NULL, index, 0};
            if (is_map) {
                const unsigned char *key = NULL;
                size_t klen = 0, at;
                avro_value_t tmp;
                if ((rc = ferry_avro_rd_bytes(r, path, &key, &klen)) != FERRY_OK)
                    return rc;
                if (!ferry_avro_utf8_valid(key, klen) || memchr(key, 0, klen))
                    return ferry_avro_rd_error(r, path, "map key is not valid UTF-8");
                if (avro_value_add(v, ferry_avro_rd_cstr(r, key, klen), &tmp, &at, NULL) != 0)
                    return fatal(x);
                avro_value_get_by_index(v, at, &e, &sub.field);
                sub.is_key = 1;
            } else if (avro_value_append(v, &e, NULL) != 0) {
                return fatal(x);
            }
            if ((rc = run_node(x, n->sub[0], &e, &sub, depth + 1)) != FERRY_OK)
                return rc;
        }
    }
}

static int run_node(run_t *x, const rnode_t *n, avro_value_t *v, const ferry_avro_path_t *path,
                    int depth)
{
    ferry_avro_reader_t *r = &x->rd;
    int64_t idx;
    int rc;
    if (depth > FERRY_AVRO_MAX_DEPTH)
        return ferry_avro_rd_error(r, path, "nested too deeply");
    switch (n->op) {
    case R_SAME:
        return ferry_avro_rd_value(r, v, path, depth);
    case R_PROMOTE:
        return run_promote(x, n, v, path);
    case R_RECORD:
        for (size_t i = 0; i < n->nsub; i++) {
            if (!n->sub[i]) {
                if ((rc = ferry_resolve_skip(x, n->wfield[i], path, depth + 1)) != FERRY_OK)
                    return rc;
                continue;
            }
            avro_value_t f;
            const char *name = NULL;
            if (avro_value_get_by_index(v, (size_t)n->rfield[i], &f, &name) != 0)
                return fatal(x);
            ferry_avro_path_t sub = {path, name, 0, 0};
            if ((rc = run_node(x, n->sub[i], &f, &sub, depth + 1)) != FERRY_OK)
                return rc;
        }
        for (size_t k = 0; k < n->ndef; k++) {
            avro_value_t f;
            const char *name = NULL;
            if (avro_value_get_by_index(v, (size_t)n->def_field[k], &f, &name) != 0)
                return fatal(x);
            ferry_avro_path_t sub = {path, name, 0, 0};
            if ((rc = ferry_avro_json_set(x->rs->r, n->def_json[k], &f, &sub, r->err)) != FERRY_OK)
                return rc;
        }
        return FERRY_OK;
    case R_ENUM:
        if ((rc = ferry_avro_rd_long(r, path, &idx)) != FERRY_OK)
            return rc;
        if (idx < 0 || (uint64_t)idx >= n->nsub)
            return ferry_avro_rd_error(r, path, "enum index out of range");
        if (n->symbols[idx] < 0) {
            char why[300];
            snprintf(why, sizeof why, "enum symbol %s is not the reader's and it has no default",
                     avro_schema_enum_get(n->w, (int)idx));
            return ferry_avro_rd_error(r, path, why);
        }
        return avro_value_set_enum(v, n->symbols[idx]) ? fatal(x) : FERRY_OK;
    case R_WUNION:
        if ((rc = ferry_avro_rd_long(r, path, &idx)) != FERRY_OK)
            return rc;
        if (idx < 0 || (uint64_t)idx >= n->nsub)
            return ferry_avro_rd_error(r, path, "union branch index out of range");
        return run_node(x, n->sub[idx], v, path, depth + 1);
    case R_RUNION: {
        avro_value_t b;
        if (avro_value_set_branch(v, n->rbranch, &b) != 0)
            return fatal(x);
        return run_node(x, n->sub[0], &b, path, depth + 1);
    }
    case R_ARRAY:
    case R_MAP:
        return run_items(x, n, v, path, depth);
    default: /* R_ERROR */
        return ferry_err_set(r->err, FERRY_POISON, "%s", n->msg);
    }
}

int ferry_resolver_read(const ferry_resolver_t *rs, const void *data, size_t len,
                        avro_value_t *value, ferry_err_t *err)
{
    static const unsigned char empty[1];
    if (!data)
        data = empty, len = 0;
    run_t x = {{data, (const unsigned char *)data + len, FERRY_BUF_INIT, err}, rs};
    ferry_avro_path_t root = {NULL, ferry_schema_name(rs->r), 0, 0};
    avro_value_reset(value);
    int rc = run_node(&x, rs->root, value, &root, 0);
    if (rc == FERRY_OK && x.rd.p != x.rd.end)
        rc = ferry_err_set(err, FERRY_POISON, "%zu trailing bytes after the Avro body of %s",
                           (size_t)(x.rd.end - x.rd.p), root.field);
    ferry_buf_free(&x.rd.scratch);
    return rc;
}
