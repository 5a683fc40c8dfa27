/* avro_resolve_flat.c - reading a flat reader record (primitives and unions of them, such as
 * TelemetryReading) from a resolved writer body straight into one slot per reader field,
 * zero-copy (see ferry_resolver_read_flat in include/ferry/resolve.h). */
#include "avro_resolve_internal.h"

#include <string.h>

static int not_flat(run_t *x)
{
    return ferry_err_set(x->rd.err, FERRY_FATAL, "resolver: %s is not a flat record",
                         ferry_schema_name(x->rs->r));
}

static int read_leaf(run_t *x, const rnode_t *n, ferry_resolved_field_t *f,
                     const ferry_avro_path_t *path, int depth)
{
    ferry_avro_reader_t *r = &x->rd;
    int64_t idx;
    uint64_t u;
    int rc;
    if (depth > 8)
        return not_flat(x);
    switch (n->op) {
    case R_WUNION:
        if ((rc = ferry_avro_rd_long(r, path, &idx)) != FERRY_OK)
            return rc;
        if (idx < 0 || (uint64_t)idx >= n->nsub)
            return ferry_avro_rd_error(r, path, "union branch index out of range");
        return read_leaf(x, n->sub[idx], f, path, depth + 1);
    case R_RUNION:
        f->branch = n->rbranch;
        return read_leaf(x, n->sub[0], f, path, depth + 1);
    case R_ERROR:
        return ferry_err_set(r->err, FERRY_POISON, "%s", n->msg);
    case R_SAME:
    case R_PROMOTE:
        break;
    default:
        return not_flat(x);
    }
    switch (n->wt) {
    case AVRO_NULL:
        break;
    case AVRO_BOOLEAN:
        if (r->p >= r->end)
            return ferry_avro_rd_error(r, path, "truncated");
        if (*r->p > 1)
            return ferry_avro_rd_error(r, path, "boolean is neither 0 nor 1");
        f->b = *r->p++;
        break;
    case AVRO_INT32:
    case AVRO_INT64:
        if ((rc = ferry_avro_rd_long(r, path, &f->l)) != FERRY_OK)
            return rc;
        if (n->wt == AVRO_INT32 && (f->l < INT32_MIN || f->l > INT32_MAX))
            return ferry_avro_rd_error(r, path, "int out of range");
        f->d = (double)f->l;
        break;
    case AVRO_FLOAT: {
        float fl;
        uint32_t u32;
        if ((rc = ferry_avro_rd_le(r, path, 4, &u)) != FERRY_OK)
            return rc;
        u32 = (uint32_t)u;
        memcpy(&fl, &u32, 4);
        f->d = fl;
        break;
    }
    case AVRO_DOUBLE:
        if ((rc = ferry_avro_rd_le(r, path, 8, &u)) != FERRY_OK)
            return rc;
        memcpy(&f->d, &u, 8);
        break;
    case AVRO_STRING:
    case AVRO_BYTES:
        if ((rc = ferry_avro_rd_bytes(r, path, &f->s, &f->len)) != FERRY_OK)
            return rc;
        if (n->rt == AVRO_STRING && !ferry_avro_utf8_valid(f->s, f->len))
            return ferry_avro_rd_error(r, path, "string is not valid UTF-8");
        break;
    default:
        return not_flat(x);
    }
    f->type = n->rt;
    if (n->rt == AVRO_FLOAT)
        f->d = (float)f->d;
    return FERRY_OK;
}

int ferry_resolver_read_flat(const ferry_resolver_t *rs, const void *data, size_t len,
                             ferry_resolved_field_t *out, size_t nout, ferry_err_t *err)
{
    static const unsigned char empty[1];
    if (!data)
        data = empty, len = 0;
    run_t x = {{data, (const unsigned char *)data + len, FERRY_BUF_INIT, err}, rs};
    ferry_avro_path_t root = {NULL, ferry_schema_name(rs->r), 0, 0};
    const rnode_t *n = rs->root;
    if (n->op != R_RECORD || n->nr != nout)
        return not_flat(&x);
    memset(out, 0, nout * sizeof *out);
    for (size_t k = 0; k < nout; k++)
        out[k].branch = -1;
    int rc = FERRY_OK;
    for (size_t i = 0; i < n->nsub && rc == FERRY_OK; i++) {
        if (!n->sub[i]) {
            rc = ferry_resolve_skip(&x, n->wfield[i], &root, 1);
            continue;
        }
        ferry_avro_path_t sub = {&root, n->rname[i], 0, 0};
        rc = read_leaf(&x, n->sub[i], &out[n->rfield[i]], &sub, 1);
    }
    for (size_t k = 0; k < n->ndef; k++) {
        out[n->def_field[k]].is_default = 1;
        out[n->def_field[k]].def = n->def_json[k];
    }
    if (rc == FERRY_OK && x.rd.p != x.rd.end)
        rc = ferry_err_set(err, FERRY_POISON, "%zu trailing bytes after the Avro body of %s",
                           (size_t)(x.rd.end - x.rd.p), root.field);
    ferry_buf_free(&x.rd.scratch);
    return rc;
}
