/* test_groups_mock.c - lib/groups.c against librdkafka's mock cluster, for broker answers a real
 * broker gives only at awkward moments: a group coordinator that is still loading (right after a
 * broker starts, or after the coordinator moved) answers OffsetFetch with "not coordinator" and
 * "coordinator load in progress". Committed offsets are then asked again within the handle's
 * timeout, and nothing crashes (librdkafka 2.0 re-queries the coordinator of the handle's own
 * group on such an answer: a handle without a group.id died there with SIGSEGV). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ferry/groups.h"
#include "ferry/kafka.h"
#include <librdkafka/rdkafka_mock.h>
#include "ferry/log.h"
#include "ferry/options.h"

/* The Kafka protocol's API key of OffsetFetch (librdkafka keeps its names internal). */
#define API_OFFSET_FETCH 9

static const ferry_opt_t table[] = {FERRY_OPT_BROKERS, FERRY_OPT_KAFKA_X, FERRY_OPT_END};

static ferry_opts_t *mock_opts(void)
{
    ferry_opts_t *o = ferry_opts_new("test", "", "", table);
    char *argv[] = {"test", "-X", "test.mock.num.brokers=1", "--log-level=error", NULL};
    ferry_err_t err;
    if (ferry_opts_parse(o, 4, argv, &err) != FERRY_OK)
        fail_msg("options: %s", err.msg);
    return o;
}

static void test_committed_while_coordinator_loads(void **state)
{
    (void)state;
    ferry_opts_t *o = mock_opts();
    ferry_err_t err;
    ferry_groups_t *g = ferry_groups_new(o, 10000, &err);
    assert_non_null(g);
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(ferry_groups_rk(g));
    assert_non_null(mc);
    assert_int_equal(rd_kafka_mock_topic_create(mc, "t", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_mock_push_request_errors(
        mc, API_OFFSET_FETCH, 4, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
    rd_kafka_topic_partition_list_t *l = NULL;
    ferry_status st = ferry_groups_committed(g, "never-committed", "t", &l, &err);
    if (st != FERRY_OK)
        fail_msg("committed offsets while the coordinator loads: %s", err.msg);
    assert_non_null(l);
    assert_int_equal(l->cnt, 0);
    rd_kafka_topic_partition_list_destroy(l);
    ferry_groups_destroy(g);
    ferry_opts_destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_committed_while_coordinator_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
