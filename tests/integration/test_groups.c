/* test_groups.c - lib/groups.c and lib/reset.c against the real broker, on records whose
 * timestamps the test sets itself, so the reset targets are known to the offset:
 *   - a time target is the FIRST offset whose timestamp is >= the time (duplicates, exact
 *     hits, one millisecond after), the end offset where no record is that late;
 *   - earliest/latest/offsets, restricted to some partitions, leave the others alone;
 *     an offset outside the log is clamped into it (as kafka-consumer-groups does);
 *   - a dry run computes the same plan and changes nothing;
 *   - a partition or topic that does not exist is a usage error;
 *   - a group with a live member is refused, naming the member, and nothing changes;
 *     once the member has left the same reset goes through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ferry/groups.h"
#include "ferry/kafka.h"
#include "ferry/reset.h"
#include "it.h"

/* partition 0: offsets 0..4 at base + 0, 1000, 1000, 2000, 5000 ms
 * partition 1: offsets 0..1 at base + 3000, 4000 ms */
static const int64_t P0_TS[] = {0, 1000, 1000, 2000, 5000};
static const int64_t P1_TS[] = {3000, 4000};

typedef struct fixture {
    ferry_opts_t *o;
    ferry_groups_t *g;
    char topic[128];
    char group[128];
    int64_t base;
} fixture_t;

static void produce_at(ferry_producer_t *p, const char *topic, int32_t part, int64_t ts)
{
    char v[32];
    snprintf(v, sizeof v, "at %lld", (long long)ts);
    rd_kafka_resp_err_t e =
        rd_kafka_producev(ferry_producer_rk(p), RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                          RD_KAFKA_V_VALUE(v, strlen(v)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_END);
    assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    /* one at a time, so the offsets follow the order above */
    ferry_err_t err;
    assert_int_equal(ferry_producer_flush(p, 30000, &err), FERRY_OK);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->o = it_opts();
    ferry_err_t err;
    it_unique(f->topic, sizeof f->topic, "it.groups");
    it_unique(f->group, sizeof f->group, "it.groups.g");
    ferry_topic_spec_t spec = {f->topic, 2, -1, NULL};
    assert_int_equal(ferry_kafka_create_topics(f->o, &spec, 1, &err), FERRY_OK);
    f->base = ferry_clock_now_us() / 1000 - 600000; /* ten minutes ago, whole ms */
    ferry_producer_t *p = ferry_producer_new(f->o, NULL, &err);
    assert_non_null(p);
    for (size_t i = 0; i < sizeof P0_TS / sizeof *P0_TS; i++)
        produce_at(p, f->topic, 0, f->base + P0_TS[i]);
    for (size_t i = 0; i < sizeof P1_TS / sizeof *P1_TS; i++)
        produce_at(p, f->topic, 1, f->base + P1_TS[i]);
    ferry_producer_destroy(p);
    f->g = ferry_groups_new(f->o, 15000, &err);
    assert_non_null(f->g);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    ferry_groups_destroy(f->g);
    ferry_opts_destroy(f->o);
    free(f);
    return 0;
}

/* The group's committed offset of one partition (-1: none). */
static int64_t committed(fixture_t *f, int32_t part)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    ferry_err_t err;
    assert_int_equal(ferry_groups_committed(f->g, f->group, f->topic, &l, &err), FERRY_OK);
    const rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(l, f->topic, part);
    int64_t v = p ? p->offset : -1;
    rd_kafka_topic_partition_list_destroy(l);
    return v;
}

/* Resets to `t` (dry or not), asserts success and the two targets (-1: partition not in
 * the plan), returns nothing; the plan is checked against the committed offsets. */
static void reset_expect(fixture_t *f, const ferry_reset_target_t *t, int dry, int64_t want0,
                         int64_t want1)
{
    ferry_reset_plan_t *plan = NULL;
    ferry_err_t err;
    int64_t before0 = committed(f, 0), before1 = committed(f, 1);
    ferry_status st = ferry_reset_group(f->g, f->group, f->topic, t, dry, &plan, &err);
    if (st != FERRY_OK)
        fail_msg("reset: %s", err.msg);
    assert_non_null(plan);
    assert_int_equal(plan->applied, !dry);
    assert_int_equal(plan->dry_run, dry);
    assert_false(plan->refused);
    size_t want_rows = (want0 >= 0) + (want1 >= 0);
    assert_int_equal(plan->nrows, want_rows);
    for (size_t i = 0; i < plan->nrows; i++) {
        const ferry_reset_row_t *r = &plan->rows[i];
        int64_t want = r->partition == 0 ? want0 : want1;
        assert_int_equal(r->target, want);
        assert_int_equal(r->current, r->partition == 0 ? before0 : before1);
    }
    ferry_reset_plan_free(plan);
    if (dry) {
        assert_int_equal(committed(f, 0), before0);
        assert_int_equal(committed(f, 1), before1);
    } else {
        assert_int_equal(committed(f, 0), want0 >= 0 ? want0 : before0);
        assert_int_equal(committed(f, 1), want1 >= 0 ? want1 : before1);
    }
}

static void test_offsets_and_partitions(void **state)
{
    fixture_t *f = *state;
    int64_t lo, hi;
    ferry_err_t err;
    rd_kafka_t *rk = ferry_groups_rk(f->g);
    int tmo = ferry_groups_timeout_ms(f->g);
    assert_int_equal(ferry_kafka_watermarks(rk, f->topic, 0, &lo, &hi, tmo, &err), FERRY_OK);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 5);
    assert_int_equal(ferry_kafka_partition_count(rk, f->topic, tmo, &err), 2);
    /* a name librdkafka gives no handle for is an error, not metadata of every topic and a
     * NULL handle destroyed */
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(ferry_kafka_partition_count(rk, "", tmo, &err), -1);
    if (err.status != FERRY_USAGE)
        fail_msg("status %d: %s", err.status, err.msg);
    assert_int_equal(ferry_kafka_partition_count(rk, longname, tmo, &err), -1);
    /* a group that never existed has no offsets and can be given some */
    assert_int_equal(committed(f, 0), -1);
    int32_t parts[] = {0};
    int64_t offs[] = {2};
    ferry_reset_target_t t = {FERRY_RESET_OFFSETS, 0, parts, offs, 1};
    reset_expect(f, &t, 0, 2, -1);
    assert_int_equal(committed(f, 1), -1); /* partition 1 left alone */
    /* earliest / latest restricted to one partition */
    int32_t only1[] = {1};
    ferry_reset_target_t latest1 = {FERRY_RESET_LATEST, 0, only1, NULL, 1};
    reset_expect(f, &latest1, 0, -1, 2);
    ferry_reset_target_t earliest = {FERRY_RESET_EARLIEST, 0, NULL, NULL, 0};
    reset_expect(f, &earliest, 1, 0, 0); /* dry: nothing changes */
    assert_int_equal(committed(f, 0), 2);
    reset_expect(f, &earliest, 0, 0, 0);
    /* clamped into the log, with a note */
    int64_t big[] = {99};
    ferry_reset_target_t clamp = {FERRY_RESET_OFFSETS, 0, parts, big, 1};
    ferry_reset_plan_t *plan = NULL;
    assert_int_equal(ferry_reset_group(f->g, f->group, f->topic, &clamp, 0, &plan, &err), FERRY_OK);
    assert_int_equal(plan->rows[0].target, 5);
    assert_non_null(plan->rows[0].note);
    ferry_reset_plan_free(plan);
    /* partitions and topics that do not exist */
    int32_t bad[] = {0, 2};
    int64_t badoffs[] = {1, 1};
    ferry_reset_target_t t2 = {FERRY_RESET_OFFSETS, 0, bad, badoffs, 2};
    plan = (ferry_reset_plan_t *)1;
    assert_int_equal(ferry_reset_group(f->g, f->group, f->topic, &t2, 0, &plan, &err), FERRY_USAGE);
    assert_null(plan);
    assert_non_null(strstr(err.msg, "partition 2"));
    assert_int_equal(committed(f, 0), 5); /* unchanged by the refused call */
    char nope[160];
    snprintf(nope, sizeof nope, "%s.nope", f->topic);
    assert_int_equal(ferry_reset_group(f->g, f->group, nope, &earliest, 1, NULL, &err),
                     FERRY_USAGE);
}

static void test_time_targets(void **state)
{
    fixture_t *f = *state;
    ferry_reset_target_t t = {FERRY_RESET_TIME, 0, NULL, NULL, 0};
    /* before everything: the first records */
    t.time_ms = f->base - 1;
    reset_expect(f, &t, 0, 0, 0);
    /* exactly on a duplicated timestamp: the first of the two */
    t.time_ms = f->base + 1000;
    reset_expect(f, &t, 0, 1, 0);
    /* one ms later: the next later record */
    t.time_ms = f->base + 1001;
    reset_expect(f, &t, 0, 3, 0);
    /* one microsecond after a record's millisecond is after that record */
    assert_int_equal(ferry_reset_time_ms(1000), 1);
    assert_int_equal(ferry_reset_time_ms(1001), 2);
    assert_int_equal(ferry_reset_time_ms(0), 0);
    assert_int_equal(ferry_reset_time_ms(-1), 0);
    assert_int_equal(ferry_reset_time_ms(-1001), -1);
    t.time_ms = f->base + 1000;
    reset_expect(f, &t, 1, 1, 0);
    t.time_ms = ferry_reset_time_ms((f->base + 1000) * 1000 + 1);
    reset_expect(f, &t, 1, 3, 0);
    /* between partition 1's records */
    t.time_ms = f->base + 3500;
    reset_expect(f, &t, 0, 4, 1);
    /* past partition 1's last record: its end offset, with a note */
    t.time_ms = f->base + 4500;
    ferry_reset_plan_t *plan = NULL;
    ferry_err_t err;
    assert_int_equal(ferry_reset_group(f->g, f->group, f->topic, &t, 1, &plan, &err), FERRY_OK);
    assert_int_equal(plan->rows[0].target, 4);
    assert_null(plan->rows[0].note);
    assert_int_equal(plan->rows[1].target, 2);
    assert_non_null(plan->rows[1].note);
    json_t *j = ferry_reset_plan_json(plan);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "target"), "kind")),
                        "time");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "target"), "time_ms")),
                     t.time_ms);
    json_t *rows = json_object_get(j, "partitions");
    assert_int_equal(json_array_size(rows), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 1), "new")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 1), "diff")), 1);
    json_decref(j);
    ferry_reset_plan_free(plan);
    /* after everything: the end offsets, through the one-call entry for rollback */
    t.time_ms = f->base + 60000;
    assert_int_equal(ferry_reset_group_opts(f->o, f->group, f->topic, &t, 0, &plan, &err),
                     FERRY_OK);
    assert_true(plan->applied);
    ferry_reset_plan_free(plan);
    assert_int_equal(committed(f, 0), 5);
    assert_int_equal(committed(f, 1), 2);
}

static void test_refused_while_active(void **state)
{
    fixture_t *f = *state;
    ferry_err_t err;
    static const char *const member_conf[] = {"client.id", "it-groups-member", NULL};
    ferry_consumer_conf_t cc = {.defaults = member_conf};
    const char *topics[] = {f->topic};
    ferry_consumer_t *c = ferry_consumer_new(f->o, f->group, topics, 1, &cc, &err);
    assert_non_null(c);
    rd_kafka_topic_partition_list_t *a = NULL;
    for (int i = 0; i < 300 && (!a || a->cnt == 0); i++) {
        if (a)
            rd_kafka_topic_partition_list_destroy(a);
        rd_kafka_message_t *m = ferry_consumer_poll(c, 100, &err);
        if (m)
            rd_kafka_message_destroy(m);
        a = ferry_consumer_assignment(c);
    }
    assert_non_null(a);
    assert_int_equal(a->cnt, 2);
    rd_kafka_topic_partition_list_destroy(a);

    ferry_groups_desc_t *d = NULL;
    assert_int_equal(ferry_groups_describe(f->g, f->group, &d, &err), FERRY_OK);
    assert_true(ferry_groups_desc_active(d));
    assert_int_equal(d->nmembers, 1);
    assert_string_equal(d->members[0].client_id, "it-groups-member");
    assert_int_equal(d->members[0].assignment->cnt, 2);
    ferry_groups_desc_free(d);

    int64_t before0 = committed(f, 0), before1 = committed(f, 1);
    ferry_reset_target_t t = {FERRY_RESET_EARLIEST, 0, NULL, NULL, 0};
    ferry_reset_plan_t *plan = NULL;
    assert_int_equal(ferry_reset_group(f->g, f->group, f->topic, &t, 0, &plan, &err), FERRY_FATAL);
    assert_non_null(plan);
    assert_true(plan->refused);
    assert_false(plan->applied);
    assert_non_null(strstr(err.msg, "it-groups-member@"));
    ferry_reset_plan_free(plan);
    assert_int_equal(committed(f, 0), before0);
    assert_int_equal(committed(f, 1), before1);
    /* The broker, too, refuses an alter while the member is there. */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, f->topic, 0)->offset = 0;
    assert_int_not_equal(ferry_groups_alter(f->g, f->group, l, &err), FERRY_OK);
    assert_int_equal(committed(f, 0), before0);

    assert_int_equal(ferry_consumer_close(c, &err), FERRY_OK);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(ferry_groups_describe(f->g, f->group, &d, &err), FERRY_OK);
        int active = ferry_groups_desc_active(d);
        ferry_groups_desc_free(d);
        if (!active)
            break;
        ferry_lifecycle_sleep_ms(200);
    }
    assert_int_equal(ferry_groups_alter(f->g, f->group, l, &err), FERRY_OK);
    rd_kafka_topic_partition_list_destroy(l);
    reset_expect(f, &t, 0, 0, 0);
}

static void test_list_groups(void **state)
{
    fixture_t *f = *state;
    ferry_groups_listing_t *l = NULL;
    size_t n = 0;
    ferry_err_t err;
    assert_int_equal(ferry_groups_list(f->g, &l, &n, &err), FERRY_OK);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            assert_true(strcmp(l[i - 1].group, l[i].group) <= 0);
        if (strcmp(l[i].group, f->group) == 0)
            found = 1;
    }
    assert_true(found);
    ferry_groups_listings_free(l, n);
}

static void test_unreachable(void **state)
{
    (void)state;
    static const ferry_opt_t table[] = {FERRY_OPT_BROKERS, FERRY_OPT_END};
    ferry_opts_t *o = ferry_opts_new("it", "", "", table);
    char *argv[] = {"it", "--brokers=127.0.0.1:1", "--log-level=error", NULL};
    ferry_err_t err;
    assert_int_equal(ferry_opts_parse(o, 3, argv, &err), FERRY_OK);
    ferry_groups_t *g = ferry_groups_new(o, 1500, &err);
    assert_non_null(g);
    ferry_groups_desc_t *d = NULL;
    assert_int_equal(ferry_groups_describe(g, "x", &d, &err), FERRY_RETRY);
    assert_null(d);
    ferry_groups_destroy(g);
    ferry_opts_destroy(o);
}

int main(void)
{
    it_env("FERRY_BROKERS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets_and_partitions),
        cmocka_unit_test(test_time_targets),
        cmocka_unit_test(test_refused_while_active),
        cmocka_unit_test(test_list_groups),
        cmocka_unit_test(test_unreachable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
