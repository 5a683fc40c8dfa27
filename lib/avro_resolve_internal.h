/* avro_resolve_internal.h - the compiled resolution plan that avro_resolve.c builds and
 * avro_resolve_flat.c also reads; nothing else includes it. */
#ifndef FERRY_AVRO_RESOLVE_INTERNAL_H
#define FERRY_AVRO_RESOLVE_INTERNAL_H

#include "avro_internal.h"
#include "ferry/resolve.h"

enum { R_SAME, R_PROMOTE, R_RECORD, R_ENUM, R_WUNION, R_RUNION, R_ARRAY, R_MAP, R_ERROR };

typedef struct rnode rnode_t;
struct rnode {
    int op;
    avro_schema_t w, r; /* links followed */
    avro_type_t wt, rt;
    size_t nsub;
    rnode_t **sub;         /* record: per writer field (NULL: skipped); union: per writer branch;
                            * reader union, array, map: sub[0] */
    int *rfield;           /* record: reader field index of writer field i */
    avro_schema_t *wfield; /* record: writer field i's schema (avro-c looks it up by hash) */
    const char **rname;    /* record: reader field name of writer field i, for messages */
    size_t nr;             /* record: the reader's field count */
    size_t ndef;
    int *def_field; /* record: reader fields that take their default */
    const json_t **def_json;
    int *symbols; /* enum: reader symbol of writer symbol i, -1 when none */
    int rbranch;  /* reader union: the branch chosen */
    char *msg;    /* error node: why the writer branch cannot be read */
};

struct ferry_resolver {
    const ferry_schema_t *w, *r;
    int identity;
    rnode_t *root;
    rnode_t **all; /* every node, for freeing */
    size_t nall;
    struct memo {
        avro_schema_t w, r;
        rnode_t *n;
    } * memo;
    size_t nmemo;
};

/* One read in progress. */
typedef struct run {
    ferry_avro_reader_t rd;
    const ferry_resolver_t *rs;
} run_t;

/* Passes over one value of writer schema s. */
int ferry_resolve_skip(run_t *x, avro_schema_t s, const ferry_avro_path_t *path, int depth);

#endif
