/* cmd_status.c - `ferry status`: where the pipeline and the migration stand.
 *
 * Kafka: for each of ferry's consumer groups (every group whose name starts with
 * --group-prefix, or those given with --group), its state and members, and per partition
 * it has committed offsets for: committed offset, end offset, lag.
 * PostgreSQL (--pg): per ship, its migration state computed from ferry.ship_state,
 * ferry.backfill_chunks, ferry.verify_results, ferry.cutover and ferry.ship_events (each
 * read only if it exists) and the narrow table, with cutoff, chunk counts, progress, ETA
 * and the last verify result.
 *
 * The report is built once as a JSON document (the --json output, shape in
 * docs/control.md) and the human-readable tables are rendered from it, so both always say
 * the same thing. Exit 0 when everything asked for could be read (missing tables are
 * reported, not errors), 3 when Kafka or PostgreSQL could not be reached, 1 when a query
 * failed for another reason. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/command.h"
#include "ferry/groups.h"
#include "ferry/lifecycle.h"
#include "ferry/log.h"
#include "ferry/migration.h"
#include "ferry/options.h"
#include "ferry/pg.h"
#include "ferry/timeparse.h"

static const ferry_opt_t status_opts[] = {
    FERRY_OPT_BROKERS,
    FERRY_OPT_KAFKA_X,
    FERRY_OPT_PG,
    {"group", 'g', FERRY_OPT_LIST, NULL, "GROUP",
     "consumer group to show (repeatable; default: every group named --group-prefix*)",
     FERRY_OPTF_NOENV},
    {"group-prefix", 0, FERRY_OPT_STRING, "ferry", "PREFIX",
     "without --group: show the groups whose name starts with this", 0},
    FERRY_OPT_NARROW_TABLE,
    FERRY_OPT_NARROW_COLUMNS,
    FERRY_OPT_NARROW_TIME_ZONE,
    {"legacy-scan", 0, FERRY_OPT_STRING, "auto", "MODE",
     "how legacy ships are found in the narrow table: auto (loose index scan when an index "
     "leads with the ship column, else skipped), full (GROUP BY over the whole table) or off",
     0},
    {"ship", 0, FERRY_OPT_LIST, NULL, "SHIP", "only this ship (repeatable)", FERRY_OPTF_NOENV},
    {"skip-kafka", 0, FERRY_OPT_BOOL, NULL, NULL, "do not look at Kafka", 0},
    {"json", 0, FERRY_OPT_BOOL, NULL, NULL, "print one JSON document (see docs/control.md)", 0},
    {"timeout", 0, FERRY_OPT_DURATION, "10s", "DURATION",
     "time limit of each Kafka request and of the PostgreSQL connection", 0},
    FERRY_OPT_END,
};

/* JSON helpers ---------------------------------------------------------------------------- */

static json_t *ts_json(int64_t us)
{
    char buf[FERRY_TS_FORMAT_MAX];
    ferry_ts_format(us, buf, sizeof buf);
    return json_string(buf);
}

/* A PG column as JSON: NULL -> null; else by kind 'i' integer, 'b' boolean, 't' timestamp
 * (given as epoch microseconds), 'f' real, 's' string, 'j' parsed JSON. */
static json_t *col_json(const PGresult *res, int row, int col, char kind)
{
    if (PQgetisnull(res, row, col))
        return json_null();
    const char *v = PQgetvalue(res, row, col);
    switch (kind) {
    case 'i':
        return json_integer(strtoll(v, NULL, 10));
    case 'b':
        return json_boolean(v[0] == 't');
    case 't':
        return ts_json(strtoll(v, NULL, 10));
    case 'f':
        return json_real(strtod(v, NULL));
    case 'j': {
        json_t *j = json_loads(v, JSON_DECODE_ANY, NULL);
        return j ? j : json_string(v);
    }
    default:
        return json_string(v);
    }
}

static int64_t jint(const json_t *o, const char *key, int64_t def)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

static const char *jstr(const json_t *o, const char *key, const char *def)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

/* Kafka ----------------------------------------------------------------------------------- */

typedef struct wm_cache {
    char *topic;
    int32_t partition;
    int64_t high;
    char *error;
} wm_cache_t;

typedef struct kafka_ctx {
    ferry_groups_t *g;
    wm_cache_t *wm;
    size_t nwm;
    int unreachable;
} kafka_ctx_t;

/* End offset of a partition, asked once per run. Returns the cache entry. */
static const wm_cache_t *end_offset(kafka_ctx_t *k, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < k->nwm; i++)
        if (k->wm[i].partition == partition && strcmp(k->wm[i].topic, topic) == 0)
            return &k->wm[i];
    wm_cache_t *n = realloc(k->wm, (k->nwm + 1) * sizeof *n);
    if (!n)
        abort();
    k->wm = n;
    wm_cache_t *w = &k->wm[k->nwm++];
    memset(w, 0, sizeof *w);
    w->topic = strdup(topic);
    w->partition = partition;
    int64_t low = -1;
    ferry_err_t err;
    if (ferry_groups_watermarks(k->g, topic, partition, &low, &w->high, &err) != FERRY_OK) {
        w->high = -1;
        w->error = strdup(err.msg);
        if (err.status == FERRY_RETRY)
            k->unreachable = 1;
    }
    return w;
}

static const char *owner_of(const ferry_group_desc_t *d, const char *topic, int32_t partition,
                            char *buf, size_t bufsz)
{
    for (size_t i = 0; d && i < d->nmembers; i++)
        if (rd_kafka_topic_partition_list_find(d->members[i].assignment, topic, partition)) {
            snprintf(buf, bufsz, "%s@%s", d->members[i].client_id, d->members[i].host);
            return buf;
        }
    return NULL;
}

/* One group's JSON object, or NULL when it is not worth showing (no commits, no members,
 * not asked for by name). */
static json_t *group_json(kafka_ctx_t *k, const char *group, int named)
{
    json_t *gj = json_object();
    json_object_set_new(gj, "group", json_string(group));
    ferry_err_t err;
    ferry_group_desc_t *d = NULL;
    rd_kafka_topic_partition_list_t *committed = NULL;
    if (ferry_group_describe(k->g, group, &d, &err) != FERRY_OK ||
        ferry_group_committed(k->g, group, NULL, &committed, &err) != FERRY_OK) {
        if (err.status == FERRY_RETRY)
            k->unreachable = 1;
        json_object_set_new(gj, "state", json_null());
        json_object_set_new(gj, "members", json_array());
        json_object_set_new(gj, "partitions", json_array());
        json_object_set_new(gj, "lag", json_null());
        json_object_set_new(gj, "error", json_string(err.msg));
        ferry_group_desc_free(d);
        return gj;
    }
    if (!named && committed->cnt == 0 && d->nmembers == 0) {
        ferry_group_desc_free(d);
        rd_kafka_topic_partition_list_destroy(committed);
        json_decref(gj);
        return NULL;
    }
    json_object_set_new(gj, "state", json_string(d->state));
    json_t *ms = json_array();
    for (size_t i = 0; i < d->nmembers; i++) {
        const ferry_group_member_t *m = &d->members[i];
        json_t *mj = json_object();
        json_object_set_new(mj, "client_id", json_string(m->client_id));
        json_object_set_new(mj, "host", json_string(m->host));
        json_object_set_new(mj, "member_id", json_string(m->member_id));
        json_t *pa = json_array();
        for (int j = 0; j < m->assignment->cnt; j++) {
            json_t *pj = json_object();
            json_object_set_new(pj, "topic", json_string(m->assignment->elems[j].topic));
            json_object_set_new(pj, "partition", json_integer(m->assignment->elems[j].partition));
            json_array_append_new(pa, pj);
        }
        json_object_set_new(mj, "partitions", pa);
        json_array_append_new(ms, mj);
    }
    json_object_set_new(gj, "members", ms);
    json_t *parts = json_array();
    int64_t total = 0;
    int lag_known = 1;
    for (int i = 0; i < committed->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &committed->elems[i];
        const wm_cache_t *w = end_offset(k, p->topic, p->partition);
        json_t *pj = json_object();
        char owner[512];
        json_object_set_new(pj, "topic", json_string(p->topic));
        json_object_set_new(pj, "partition", json_integer(p->partition));
        json_object_set_new(pj, "committed", json_integer(p->offset));
        if (w->high >= 0) {
            int64_t lag = w->high - p->offset;
            json_object_set_new(pj, "end", json_integer(w->high));
            json_object_set_new(pj, "lag", json_integer(lag));
            total += lag;
        } else {
            json_object_set_new(pj, "end", json_null());
            json_object_set_new(pj, "lag", json_null());
            lag_known = 0;
        }
        const char *own = owner_of(d, p->topic, p->partition, owner, sizeof owner);
        json_object_set_new(pj, "owner", own ? json_string(own) : json_null());
        json_object_set_new(pj, "error", w->error ? json_string(w->error) : json_null());
        json_array_append_new(parts, pj);
    }
    json_object_set_new(gj, "partitions", parts);
    json_object_set_new(gj, "lag", lag_known ? json_integer(total) : json_null());
    json_object_set_new(gj, "error", json_null());
    ferry_group_desc_free(d);
    rd_kafka_topic_partition_list_destroy(committed);
    return gj;
}

/* Fills doc.kafka and doc.groups. Returns 1 when Kafka could not be reached. */
static int kafka_status(const ferry_opts_t *o, json_t *doc)
{
    json_t *kj = json_object();
    json_t *groups = json_array();
    json_object_set_new(doc, "kafka", kj);
    json_object_set_new(doc, "groups", groups);
    json_object_set_new(kj, "brokers", json_string(ferry_opts_str(o, "brokers")));
    if (ferry_opts_bool(o, "skip-kafka")) {
        json_object_set_new(kj, "checked", json_false());
        json_object_set_new(kj, "ok", json_null());
        json_object_set_new(kj, "error", json_null());
        return 0;
    }
    json_object_set_new(kj, "checked", json_true());
    ferry_err_t err;
    kafka_ctx_t k = {0};
    k.g = ferry_groups_new(o, (int)ferry_opts_duration_ms(o, "timeout"), &err);
    if (!k.g) {
        json_object_set_new(kj, "ok", json_false());
        json_object_set_new(kj, "error", json_string(err.msg));
        return err.status == FERRY_USAGE ? FERRY_EXIT_USAGE : 1;
    }
    const char *const *named;
    size_t nnamed = ferry_opts_list(o, "group", &named);
    ferry_group_listing_t *list = NULL;
    size_t nlist = 0;
    if (!nnamed && ferry_groups_list(k.g, &list, &nlist, &err) != FERRY_OK) {
        json_object_set_new(kj, "ok", json_false());
        json_object_set_new(kj, "error", json_string(err.msg));
        ferry_groups_destroy(k.g);
        return err.status == FERRY_RETRY;
    }
    const char *prefix = ferry_opts_str(o, "group-prefix");
    size_t n = nnamed ? nnamed : nlist;
    for (size_t i = 0; i < n && !k.unreachable; i++) {
        const char *name = nnamed ? named[i] : list[i].group;
        if (!nnamed && prefix && strncmp(name, prefix, strlen(prefix)) != 0)
            continue;
        json_t *gj = group_json(&k, name, nnamed > 0);
        if (gj)
            json_array_append_new(groups, gj);
    }
    json_object_set_new(kj, "ok", json_boolean(!k.unreachable));
    json_object_set_new(kj, "error",
                        k.unreachable ? json_string("Kafka stopped answering") : json_null());
    ferry_group_listings_free(list, nlist);
    for (size_t i = 0; i < k.nwm; i++) {
        free(k.wm[i].topic);
        free(k.wm[i].error);
    }
    free(k.wm);
    ferry_groups_destroy(k.g);
    return k.unreachable;
}

/* PostgreSQL ------------------------------------------------------------------------------ */

typedef struct table_check {
    const char *name; /* as shown */
    const char *reg;  /* regclass text */
    int exists;
} table_check_t;

enum { T_STATE, T_CHUNKS, T_VERIFY, T_CUTOVER, T_EVENTS, T_COUNT };

static const char *const empty_cte[T_COUNT] = {
    ("SELECT NULL::text ship_id, NULL::timestamptz cutoff_ts, NULL::timestamptz first_seen_at"
     " WHERE false"),
    ("SELECT NULL::text ship_id, 0::bigint total, 0::bigint done, 0::bigint failed,"
     " NULL::float8 avg_ms, 0::bigint workers, NULL::timestamptz last_update,"
     " NULL::numeric rows_read, NULL::numeric cells WHERE false"),
    ("SELECT NULL::text ship_id, NULL::boolean ok, NULL::bigint mismatches,"
     " NULL::timestamptz from_ts, NULL::timestamptz to_ts, NULL::timestamptz verified_at,"
     " NULL::jsonb details WHERE false"),
    "SELECT NULL::text ship_id, NULL::boolean cut_over, NULL::timestamptz updated_at WHERE false",
    "SELECT NULL::text ship_id, NULL::text event, NULL::timestamptz at WHERE false",
};

static const char *const real_cte[T_COUNT] = {
    "SELECT ship_id::text, cutoff_ts, first_seen_at FROM ferry.ship_state",
    ("SELECT ship_id::text, count(*) total, count(*) FILTER (WHERE status::text = 'done') done,"
     " count(*) FILTER (WHERE status::text = 'failed') failed,"
     " (avg(duration_ms) FILTER (WHERE status::text = 'done'))::float8 avg_ms,"
     " count(DISTINCT worker) FILTER (WHERE status::text = 'done') workers,"
     " max(updated_at) last_update,"
     " (sum(rows_read) FILTER (WHERE status::text = 'done'))::numeric rows_read,"
     " (sum(cells_written) FILTER (WHERE status::text = 'done'))::numeric cells"
     " FROM ferry.backfill_chunks GROUP BY ship_id"),
    ("SELECT DISTINCT ON (ship_id) ship_id::text, ok::boolean, mismatches::bigint, from_ts, to_ts,"
     " verified_at, to_jsonb(details) details FROM ferry.verify_results"
     " ORDER BY ship_id, verified_at DESC"),
    "SELECT ship_id::text, cut_over::boolean, updated_at FROM ferry.cutover",
    ("SELECT DISTINCT ON (ship_id) ship_id::text, event::text, at FROM ferry.ship_events"
     " ORDER BY ship_id, at DESC"),
};

#define US(x) "(extract(epoch FROM " x ") * 1000000)::bigint"

/* The ships of the narrow table as a PostgreSQL text[] literal built by the server
 * (array_agg), so no quoting happens here; *array_out is new (free) or NULL when the scan
 * is off or skipped. Records in pj.legacy_scan how the ships were found. */
static ferry_status legacy_ships(ferry_pg_t *pg, const ferry_opts_t *o, json_t *pj,
                                 char **array_out, ferry_err_t *err)
{
    *array_out = NULL;
    const char *mode = ferry_opts_str(o, "legacy-scan");
    const char *table = ferry_opts_str(o, "narrow-table");
    if (strcmp(mode, "off") == 0) {
        json_object_set_new(pj, "legacy_scan", json_string("off"));
        return FERRY_OK;
    }
    ferry_narrow_t src;
    ferry_status st =
        ferry_narrow_open(pg, &src, table, ferry_opts_str(o, "narrow-columns"),
                          ferry_opts_str(o, "narrow-time-zone"), FERRY_NARROW_READ, err);
    if (st) {
        ferry_narrow_close(&src);
        return st;
    }
    /* Is there a btree index whose first column is the ship column? Then a loose index
     * scan finds the ships with one index descent each; without one it would read the
     * table once per ship, so it is skipped unless --legacy-scan full. */
    char has_index[8] = "";
    const char *p[] = {src.table, src.ship.name};
    st = ferry_pg_query_value(pg,
                              "SELECT EXISTS (SELECT 1 FROM pg_index i"
                              " JOIN pg_class c ON c.oid = i.indexrelid"
                              " JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'"
                              " JOIN pg_attribute a ON a.attrelid = i.indrelid"
                              "  AND a.attnum = i.indkey[0]"
                              " WHERE i.indrelid = $1::regclass AND i.indisvalid"
                              "  AND a.attname = $2)",
                              2, p, has_index, sizeof has_index, err);
    if (st) {
        ferry_narrow_close(&src);
        return st;
    }
    int indexed = has_index[0] == 't';
    ferry_buf_t sql = FERRY_BUF_INIT;
    if (indexed && strcmp(mode, "full") != 0) {
        /* the same loose index scan as ferry_narrow_ships(), aggregated on the server */
        ferry_buf_appendf(&sql,
                          "WITH RECURSIVE s AS ((SELECT n.%s::text AS id FROM %s n ORDER BY n.%s"
                          " LIMIT 1) UNION ALL SELECT (SELECT n.%s::text FROM %s n"
                          " WHERE n.%s > s.id ORDER BY n.%s LIMIT 1) FROM s"
                          " WHERE s.id IS NOT NULL)"
                          " SELECT coalesce(array_agg(id), '{}')::text FROM s"
                          " WHERE id IS NOT NULL",
                          src.ship.q, src.table, src.ship.q, src.ship.q, src.table, src.ship.q,
                          src.ship.q);
        json_object_set_new(pj, "legacy_scan", json_string("index"));
    } else if (strcmp(mode, "full") == 0) {
        ferry_buf_appendf(&sql,
                          "SELECT coalesce(array_agg(id), '{}')::text FROM"
                          " (SELECT n.%s::text id FROM %s n GROUP BY 1) s",
                          src.ship.q, src.table);
        json_object_set_new(pj, "legacy_scan", json_string("full"));
    } else {
        json_object_set_new(pj, "legacy_scan",
                            json_string("skipped: no btree index leads with the ship column "
                                        "(use --legacy-scan full)"));
    }
    if (sql.len) {
        /* not ferry_pg_query_value: its fixed buffer would cap the number of ships */
        PGresult *res = ferry_pg_query(pg, ferry_buf_cstr(&sql), 0, NULL, err);
        if (!res) {
            st = err->status;
        } else {
            *array_out = strdup(PQntuples(res) ? PQgetvalue(res, 0, 0) : "{}");
            PQclear(res);
        }
    }
    ferry_buf_free(&sql);
    ferry_narrow_close(&src);
    return st;
}

/* The state of one ship from its row (see docs/control.md for the rules). */
static const char *ship_state(const json_t *s, int has_narrow, int64_t last_activity_us,
                              int64_t rollback_us)
{
    const json_t *chunks = json_object_get(s, "chunks");
    const json_t *verify = json_object_get(s, "last_verify");
    int64_t total = jint(chunks, "total", 0), done = jint(chunks, "done", 0);
    if (rollback_us >= 0 && last_activity_us <= rollback_us)
        return "rolled_back";
    if (json_is_true(json_object_get(s, "cut_over")))
        return "cut_over";
    if (total > 0 && done < total)
        return "backfilling";
    if (json_is_object(verify)) {
        /* a verify older than the last chunk's update no longer speaks for the data */
        if (total == 0 || jint(s, "_verified_us", 0) >= jint(s, "_chunks_us", 0))
            return json_is_true(json_object_get(verify, "ok")) ? "verified" : "verify_failed";
    }
    if (total > 0)
        return "backfilled";
    if (!json_is_null(json_object_get(s, "cutoff")))
        return "dual_writing";
    return has_narrow ? "legacy" : "unknown";
}

static int64_t col_us(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? -1 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Fills doc.pg and doc.ships. Returns the exit code contribution: 0, 1 (a query failed)
 * or 3 (PostgreSQL unreachable). */
static int pg_status(const ferry_opts_t *o, json_t *doc)
{
    json_t *pj = json_object();
    json_t *ships = json_array();
    json_object_set_new(doc, "pg", pj);
    json_object_set_new(doc, "ships", ships);
    const char *conninfo = ferry_opts_str(o, "pg");
    json_object_set_new(pj, "narrow_table", json_string(ferry_opts_str(o, "narrow-table")));
    if (!conninfo) {
        json_object_set_new(pj, "checked", json_false());
        json_object_set_new(pj, "ok", json_null());
        json_object_set_new(pj, "error", json_null());
        json_object_set_new(pj, "missing", json_array());
        return 0;
    }
    json_object_set_new(pj, "checked", json_true());
    ferry_err_t err;
    ferry_pg_retry_t retry = {200, 2000, ferry_opts_duration_ms(o, "timeout")};
    ferry_pg_t *pg = ferry_pg_connect(conninfo, "ferry status", &retry, &err);
    if (!pg) {
        json_object_set_new(pj, "ok", json_false());
        json_object_set_new(pj, "error", json_string(err.msg));
        json_object_set_new(pj, "missing", json_array());
        return FERRY_EXIT_UNAVAILABLE;
    }
    int rc = 0;
    char *narrow_ships = NULL;
    PGresult *res = NULL;
    ferry_buf_t sql = FERRY_BUF_INIT;
    /* Which tables exist. */
    table_check_t tables[T_COUNT + 1] = {
        {"ferry.ship_state", "ferry.ship_state", 0},
        {"ferry.backfill_chunks", "ferry.backfill_chunks", 0},
        {"ferry.verify_results", "ferry.verify_results", 0},
        {"ferry.cutover", "ferry.cutover", 0},
        {"ferry.ship_events", "ferry.ship_events", 0},
        {ferry_opts_str(o, "narrow-table"), NULL, 0},
    };
    /* the narrow table's regclass text, as every ferry command reads --narrow-table */
    char *narrow_q = ferry_pg_quote_qualified(ferry_opts_str(o, "narrow-table"));
    if (!narrow_q) {
        ferry_err_set(&err, FERRY_USAGE, "--narrow-table '%s' is not a valid table name",
                      ferry_opts_str(o, "narrow-table"));
        goto query_failed;
    }
    tables[T_COUNT].reg = narrow_q;
    json_t *missing = json_array();
    json_object_set_new(pj, "missing", missing);
    for (int i = 0; i <= T_COUNT; i++) {
        char v[16];
        const char *p[] = {tables[i].reg};
        if (ferry_pg_query_value(pg, "SELECT to_regclass($1) IS NOT NULL", 1, p, v, sizeof v,
                                 &err) != FERRY_OK)
            goto query_failed;
        tables[i].exists = v[0] == 't';
        if (!tables[i].exists)
            json_array_append_new(missing, json_string(tables[i].name));
    }
    if (tables[T_COUNT].exists) {
        if (legacy_ships(pg, o, pj, &narrow_ships, &err) != FERRY_OK)
            goto query_failed;
    } else {
        json_object_set_new(pj, "legacy_scan", json_string("skipped: no narrow table"));
    }
    ferry_buf_append_str(&sql, "WITH nw AS (SELECT DISTINCT unnest($1::text[]) ship_id)");
    static const char *const names[T_COUNT] = {"st", "ch", "vr", "co", "ev"};
    for (int i = 0; i < T_COUNT; i++)
        ferry_buf_appendf(&sql, ", %s AS (%s)", names[i],
                          tables[i].exists ? real_cte[i] : empty_cte[i]);
    ferry_buf_append_str(&sql,
                         ", ids AS (SELECT ship_id FROM nw UNION SELECT ship_id FROM st UNION "
                         "SELECT ship_id FROM ch"
                         " UNION SELECT ship_id FROM vr UNION SELECT ship_id FROM co UNION SELECT "
                         "ship_id FROM ev)"
                         " SELECT ids.ship_id, nw.ship_id IS NOT NULL," /* 0 1 */
                         " " US("st.cutoff_ts") ", " US(
                             "st.first_seen_at") "," /* 2 3 */
                                                 " coalesce(ch.total, 0), coalesce(ch.done, 0), "
                                                 "coalesce(ch.failed, "
                                                 "0)," /* 4 5 6 */
                                                 " ch.avg_ms, coalesce(ch.workers, 0), " US(
                                                     "ch.last_update") "," /* 7 8 9 */
                                                                       " ch.rows_read, ch.cells," /* 10 11 */
                                                                       " vr.ok, vr.mismatches, " US("vr.from_ts") ", " US(
                                                                           "vr.to_ts") "," /* 12-15
                                                                                            */
                                                                                       " " US(
                                                                                           "vr"
                                                                                           ".v"
                                                                                           "er"
                                                                                           "if"
                                                                                           "ie"
                                                                                           "d_"
                                                                                           "a"
                                                                                           "t") ", "
                                                                                                "vr"
                                                                                                ".d"
                                                                                                "et"
                                                                                                "ai"
                                                                                                "ls"
                                                                                                "," /* 16 17 */
                                                                                                " c"
                                                                                                "o."
                                                                                                "cu"
                                                                                                "t_"
                                                                                                "ov"
                                                                                                "er"
                                                                                                ","
                                                                                                " " US("co.updated_at") ", ev.event, " US(
                                                                                                    "ev.at") /* 18-21 */
                         " FROM ids LEFT JOIN nw USING (ship_id) LEFT JOIN st USING (ship_id)"
                         " LEFT JOIN ch USING (ship_id) LEFT JOIN vr USING (ship_id)"
                         " LEFT JOIN co USING (ship_id) LEFT JOIN ev USING (ship_id)"
                         " WHERE ids.ship_id IS NOT NULL AND ($2::text[] IS NULL OR ids.ship_id = "
                         "ANY ($2::text[]))"
                         " ORDER BY ids.ship_id");
    const char *const *only;
    size_t nonly = ferry_opts_list(o, "ship", &only);
    ferry_buf_t only_arr = FERRY_BUF_INIT;
    if (nonly) {
        for (size_t i = 0; i < nonly; i++)
            ferry_pg_array_add(&only_arr, only[i], strlen(only[i]));
        ferry_pg_array_close(&only_arr);
    }
    const char *params[2] = {narrow_ships ? narrow_ships : "{}",
                             nonly ? ferry_buf_cstr(&only_arr) : NULL};
    res = ferry_pg_query(pg, ferry_buf_cstr(&sql), 2, params, &err);
    ferry_buf_free(&only_arr);
    if (!res)
        goto query_failed;
    for (int r = 0; r < PQntuples(res); r++) {
        json_t *s = json_object();
        json_object_set_new(s, "ship_id", col_json(res, r, 0, 's'));
        json_object_set_new(s, "cutoff", col_json(res, r, 2, 't'));
        json_object_set_new(s, "first_seen_at", col_json(res, r, 3, 't'));
        int64_t total = strtoll(PQgetvalue(res, r, 4), NULL, 10);
        int64_t done = strtoll(PQgetvalue(res, r, 5), NULL, 10);
        int64_t failed = strtoll(PQgetvalue(res, r, 6), NULL, 10);
        json_t *cj = json_object();
        json_object_set_new(cj, "total", json_integer(total));
        json_object_set_new(cj, "done", json_integer(done));
        json_object_set_new(cj, "failed", json_integer(failed));
        json_object_set_new(cj, "planned", json_integer(total - done - failed));
        json_object_set_new(cj, "percent_done",
                            total ? json_real(floor(1000.0 * (double)done / (double)total) / 10.0)
                                  : json_null());
        /* ETA: the chunks left times the mean duration of the done ones, divided by the
         * number of workers that did them (they run in parallel). */
        double avg_ms = PQgetisnull(res, r, 7) ? -1 : strtod(PQgetvalue(res, r, 7), NULL);
        int64_t workers = strtoll(PQgetvalue(res, r, 8), NULL, 10);
        if (total > done && avg_ms >= 0)
            json_object_set_new(
                cj, "eta_seconds",
                json_integer((json_int_t)ceil((double)(total - done) * avg_ms /
                                              (double)(workers > 0 ? workers : 1) / 1000.0)));
        else
            json_object_set_new(cj, "eta_seconds", total > done ? json_null() : json_integer(0));
        json_object_set_new(cj, "rows_read", col_json(res, r, 10, 'i'));
        json_object_set_new(cj, "cells_written", col_json(res, r, 11, 'i'));
        json_object_set_new(cj, "last_update", col_json(res, r, 9, 't'));
        json_object_set_new(s, "chunks", cj);
        if (PQgetisnull(res, r, 12)) {
            json_object_set_new(s, "last_verify", json_null());
        } else {
            json_t *vj = json_object();
            json_object_set_new(vj, "ok", col_json(res, r, 12, 'b'));
            json_object_set_new(vj, "mismatches", col_json(res, r, 13, 'i'));
            json_object_set_new(vj, "from", col_json(res, r, 14, 't'));
            json_object_set_new(vj, "to", col_json(res, r, 15, 't'));
            json_object_set_new(vj, "verified_at", col_json(res, r, 16, 't'));
            json_object_set_new(vj, "details", col_json(res, r, 17, 'j'));
            json_object_set_new(s, "last_verify", vj);
        }
        json_object_set_new(s, "cut_over",
                            PQgetisnull(res, r, 18) ? json_false() : col_json(res, r, 18, 'b'));
        if (PQgetisnull(res, r, 20)) {
            json_object_set_new(s, "last_event", json_null());
        } else {
            json_t *ej = json_object();
            json_object_set_new(ej, "event", col_json(res, r, 20, 's'));
            json_object_set_new(ej, "at", col_json(res, r, 21, 't'));
            json_object_set_new(s, "last_event", ej);
        }
        json_object_set_new(s, "in_narrow", json_boolean(PQgetvalue(res, r, 1)[0] == 't'));
        /* Activity after a rollback moves the ship on: a new dual-write cutoff, a chunk
         * update, a verify or a cutover newer than the rollback. */
        int64_t rollback_us = -1;
        if (!PQgetisnull(res, r, 20) && strcmp(PQgetvalue(res, r, 20), "rolled_back") == 0)
            rollback_us = col_us(res, r, 21);
        int64_t act = col_us(res, r, 3);
        int64_t a2 = col_us(res, r, 9), a3 = col_us(res, r, 16);
        int64_t a4 = json_is_true(json_object_get(s, "cut_over")) ? col_us(res, r, 19) : -1;
        act = a2 > act ? a2 : act;
        act = a3 > act ? a3 : act;
        act = a4 > act ? a4 : act;
        json_object_set_new(s, "_verified_us", json_integer(col_us(res, r, 16)));
        json_object_set_new(s, "_chunks_us", json_integer(col_us(res, r, 9)));
        const char *state = ship_state(s, PQgetvalue(res, r, 1)[0] == 't', act, rollback_us);
        json_object_del(s, "_verified_us");
        json_object_del(s, "_chunks_us");
        json_object_set_new(s, "state", json_string(state));
        json_array_append_new(ships, s);
    }
    json_object_set_new(pj, "ok", json_true());
    json_object_set_new(pj, "error", json_null());
    goto out;
query_failed:
    json_object_set_new(pj, "ok", json_false());
    json_object_set_new(pj, "error", json_string(err.msg));
    rc = err.status == FERRY_RETRY ? FERRY_EXIT_UNAVAILABLE : FERRY_EXIT_FAILED;
out:
    if (res)
        PQclear(res);
    ferry_buf_free(&sql);
    free(narrow_ships);
    free(narrow_q);
    ferry_pg_close(pg);
    return rc;
}

/* Human-readable rendering ---------------------------------------------------------------- */

static void fmt_duration(int64_t s, char *buf, size_t bufsz)
{
    if (s < 60)
        snprintf(buf, bufsz, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(buf, bufsz, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, bufsz, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
}

static void print_num(FILE *fp, const json_t *v, int width)
{
    if (json_is_integer(v))
        fprintf(fp, " %*lld", width, (long long)json_integer_value(v));
    else
        fprintf(fp, " %*s", width, "-");
}

static void print_human(const json_t *doc, FILE *fp)
{
    const json_t *kj = json_object_get(doc, "kafka");
    const json_t *groups = json_object_get(doc, "groups");
    if (json_is_true(json_object_get(kj, "checked"))) {
        fprintf(fp, "Kafka %s: %s\n", jstr(kj, "brokers", "?"),
                json_is_true(json_object_get(kj, "ok")) ? "ok" : jstr(kj, "error", "error"));
        /* column widths from the longest group and topic names */
        int gw = 5, tw = 5, sw = 5;
        size_t i, j;
        const json_t *g, *p;
        json_array_foreach(groups, i, g)
        {
            int l = (int)strlen(jstr(g, "group", "?"));
            gw = l > gw ? l : gw;
            l = (int)strlen(jstr(g, "state", "?")) + 4;
            sw = l > sw ? l : sw;
            json_array_foreach(json_object_get(g, "partitions"), j, p)
            {
                l = (int)strlen(jstr(p, "topic", "?"));
                tw = l > tw ? l : tw;
            }
        }
        if (json_array_size(groups) == 0)
            fprintf(fp, "  no consumer groups to show\n");
        else
            fprintf(fp, "  %-*s %-*s %-*s %5s %12s %12s %10s  %s\n", gw, "GROUP", sw, "STATE", tw,
                    "TOPIC", "PART", "COMMITTED", "END", "LAG", "OWNER");
        json_array_foreach(groups, i, g)
        {
            const json_t *parts = json_object_get(g, "partitions");
            char state[64];
            snprintf(state, sizeof state, "%s/%zu", jstr(g, "state", "?"),
                     json_array_size(json_object_get(g, "members")));
            if (jstr(g, "error", NULL)) {
                fprintf(fp, "  %-*s error: %s\n", gw, jstr(g, "group", "?"), jstr(g, "error", ""));
                continue;
            }
            if (json_array_size(parts) == 0)
                fprintf(fp, "  %-*s %-*s (no committed offsets)\n", gw, jstr(g, "group", "?"), sw,
                        state);
            json_array_foreach(parts, j, p)
            {
                fprintf(fp, "  %-*s %-*s %-*s %5lld", gw, j ? "" : jstr(g, "group", "?"), sw,
                        j ? "" : state, tw, jstr(p, "topic", "?"),
                        (long long)jint(p, "partition", -1));
                print_num(fp, json_object_get(p, "committed"), 12);
                print_num(fp, json_object_get(p, "end"), 12);
                print_num(fp, json_object_get(p, "lag"), 10);
                fprintf(fp, "  %s\n", jstr(p, "owner", jstr(p, "error", "-")));
            }
            if (json_array_size(parts) > 1) {
                fprintf(fp, "  %-*s %-*s %-*s %5s %12s %12s", gw, "", sw, "", tw, "", "", "",
                        "total");
                print_num(fp, json_object_get(g, "lag"), 10);
                fputc('\n', fp);
            }
        }
    } else {
        fprintf(fp, "Kafka: not checked (--skip-kafka)\n");
    }
    const json_t *pj = json_object_get(doc, "pg");
    const json_t *ships = json_object_get(doc, "ships");
    fputc('\n', fp);
    if (!json_is_true(json_object_get(pj, "checked"))) {
        fprintf(fp, "PostgreSQL: not checked (no --pg)\n");
        return;
    }
    fprintf(fp, "PostgreSQL: %s\n",
            json_is_true(json_object_get(pj, "ok")) ? "ok" : jstr(pj, "error", "error"));
    const json_t *missing = json_object_get(pj, "missing");
    if (json_array_size(missing)) {
        fprintf(fp, "  not there (yet):");
        size_t i;
        const json_t *m;
        json_array_foreach(missing, i, m) fprintf(fp, " %s", json_string_value(m));
        fputc('\n', fp);
    }
    const char *scan = jstr(pj, "legacy_scan", NULL);
    if (scan && strncmp(scan, "skipped", 7) == 0)
        fprintf(fp, "  legacy ships: %s\n", scan);
    if (!json_is_true(json_object_get(pj, "ok")))
        return;
    if (json_array_size(ships) == 0) {
        fprintf(fp, "  no ships\n");
        return;
    }
    size_t i;
    const json_t *s;
    int shw = 4;
    json_array_foreach(ships, i, s)
    {
        int l = (int)strlen(jstr(s, "ship_id", "?"));
        shw = l > shw ? l : shw;
    }
    fprintf(fp, "  %-*s %-14s %-27s %16s %7s %8s  %s\n", shw, "SHIP", "STATE", "CUTOFF",
            "CHUNKS d/f/total", "DONE", "ETA", "LAST VERIFY");
    json_array_foreach(ships, i, s)
    {
        const json_t *c = json_object_get(s, "chunks");
        const json_t *v = json_object_get(s, "last_verify");
        char chunks[48] = "-", pct[16] = "-", eta[24] = "-", verify[160] = "-";
        if (jint(c, "total", 0) > 0) {
            snprintf(chunks, sizeof chunks, "%lld/%lld/%lld", (long long)jint(c, "done", 0),
                     (long long)jint(c, "failed", 0), (long long)jint(c, "total", 0));
            snprintf(pct, sizeof pct, "%.1f%%",
                     json_number_value(json_object_get(c, "percent_done")));
            if (json_is_integer(json_object_get(c, "eta_seconds")))
                fmt_duration(jint(c, "eta_seconds", 0), eta, sizeof eta);
        }
        if (json_is_object(v))
            snprintf(verify, sizeof verify, "%s, %lld mismatch(es) at %s",
                     json_is_true(json_object_get(v, "ok")) ? "ok" : "FAILED",
                     (long long)jint(v, "mismatches", 0), jstr(v, "verified_at", "?"));
        fprintf(fp, "  %-*s %-14s %-27s %16s %7s %8s  %s\n", shw, jstr(s, "ship_id", "?"),
                jstr(s, "state", "?"), jstr(s, "cutoff", "-"), chunks, pct, eta, verify);
    }
}

int cmd_status(int argc, char **argv)
{
    ferry_opts_t *o = ferry_opts_new(
        argv[0], "[--pg CONNINFO] [--group G ...] [--json] [options]",
        "Shows where ferry stands. Kafka: each of ferry's consumer groups (names starting with "
        "--group-prefix, or those given with --group) with its state, members and, per "
        "partition it has committed offsets for, the committed offset, end offset and lag. "
        "PostgreSQL (with --pg): each ship's migration state (legacy, dual_writing, "
        "backfilling, backfilled, verified, verify_failed, cut_over, rolled_back), cutoff, "
        "backfill chunks done/failed/total with progress and ETA, and its last verify result. "
        "Tables not created yet are reported, not errors. Exit 3 when Kafka or PostgreSQL "
        "cannot be reached, 1 when a query fails.",
        status_opts);
    int rc;
    if (!ferry_opts_parse_or_exit_code(o, argc, argv, &rc)) {
        ferry_opts_destroy(o);
        return rc;
    }
    const char *mode = ferry_opts_str(o, "legacy-scan");
    if (strcmp(mode, "auto") != 0 && strcmp(mode, "full") != 0 && strcmp(mode, "off") != 0) {
        fprintf(stderr, "%s: --legacy-scan must be auto, full or off\n", argv[0]);
        ferry_opts_destroy(o);
        return FERRY_EXIT_USAGE;
    }
    json_t *doc = json_object();
    json_object_set_new(doc, "version", json_integer(1));
    json_object_set_new(doc, "generated_at", ts_json(ferry_now_us()));
    int krc = kafka_status(o, doc);
    krc = krc == FERRY_EXIT_USAGE ? krc : krc ? FERRY_EXIT_UNAVAILABLE : 0;
    int prc = pg_status(o, doc);
    rc = krc == FERRY_EXIT_USAGE                                          ? FERRY_EXIT_USAGE
         : krc == FERRY_EXIT_UNAVAILABLE || prc == FERRY_EXIT_UNAVAILABLE ? FERRY_EXIT_UNAVAILABLE
         : prc                                                            ? prc
                                                                          : FERRY_EXIT_OK;
    if (ferry_opts_bool(o, "json")) {
        char *s = json_dumps(doc, JSON_COMPACT);
        if (s)
            printf("%s\n", s);
        free(s);
    } else {
        print_human(doc, stdout);
    }
    fflush(stdout);
    const json_t *kj = json_object_get(doc, "kafka"), *pj = json_object_get(doc, "pg");
    if (json_is_false(json_object_get(kj, "ok")))
        ferry_error("Kafka: %s", jstr(kj, "error", "?"));
    if (json_is_false(json_object_get(pj, "ok")))
        ferry_error("PostgreSQL: %s", jstr(pj, "error", "?"));
    json_decref(doc);
    ferry_opts_destroy(o);
    return rc;
}
