/* test_retrain_policy.c - unit tests of `ferry retrain`'s policy (consumers/retrain/policy.c,
 * linked from the ferry_retrain library): each rule fires exactly when it should, 3.5 N rows
 * give exactly 3 min_new_rows triggers, the drift score, deterministic trigger ids in
 * Airflow's dag_run_id alphabet, and the state header round trip. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

static const retrain_last_t no_last = {0, 0, 0, 0, {0, {0, 0}, {0, 0}}};

static void test_min_new_rows(void **state)
{
    retrain_policy_t p = {0};
    p.min_new_rows = 100;
    retrain_window_t w = {0};
    int fired = 0;
    int64_t rows = 350; /* 3.5 N */
    for (int64_t i = 0; i < rows; i++) {
        retrain_window_add(&w, 4.0, 10.0);
        const char *r = retrain_policy_decide(&p, &w, &no_last, 0, 0, NULL, NULL);
        if (r) {
            assert_string_equal(r, "min_new_rows");
            assert_int_equal(w.rows, 100); /* exactly at N, never later */
            fired++;
            memset(&w, 0, sizeof w);
        }
    }
    assert_int_equal(fired, 3);
    assert_int_equal(w.rows, 50);
    /* off */
    p.min_new_rows = 0;
    w.rows = 1000000;
    assert_null(retrain_policy_decide(&p, &w, &no_last, 0, 0, NULL, NULL));
}

static void test_max_interval(void **state)
{
    retrain_policy_t p = {0};
    p.max_interval_ms = 60000;
    p.min_rows_for_interval = 5;
    retrain_window_t w = {0};
    for (int i = 0; i < 4; i++)
        retrain_window_add(&w, 3, 3);
    int64_t since = 1000000000;
    /* too few rows, however long */
    assert_null(retrain_policy_decide(&p, &w, &no_last, since + 3600000000LL, since, NULL, NULL));
    retrain_window_add(&w, 3, 3);
    /* enough rows, not long enough */
    assert_null(retrain_policy_decide(&p, &w, &no_last, since + 59999999, since, NULL, NULL));
    assert_string_equal(
        retrain_policy_decide(&p, &w, &no_last, since + 60000000, since, NULL, NULL),
        "max_interval");
    /* min_new_rows wins when both fire */
    p.min_new_rows = 5;
    assert_string_equal(
        retrain_policy_decide(&p, &w, &no_last, since + 60000000, since, NULL, NULL),
        "min_new_rows");
}

static void test_drift(void **state)
{
    retrain_policy_t p = {0};
    p.drift_threshold = 0.2;
    p.drift_metric = RETRAIN_RATING;
    p.drift_min_rows = 10;
    retrain_last_t last = no_last;
    retrain_window_t ref = {0};
    for (int i = 0; i < 100; i++)
        retrain_window_add(&ref, i % 2 ? 3.0 : 5.0, 100.0); /* mean rating 4 */
    retrain_window_summary(&ref, &last.window);
    assert_true(fabs(last.window.mean[RETRAIN_RATING] - 4.0) < 1e-12);
    assert_true(fabs(last.window.sd[RETRAIN_RATING] - 1.0) < 1e-12);
    assert_true(fabs(last.window.mean[RETRAIN_POPULARITY] - 100.0) < 1e-12);
    assert_true(last.window.sd[RETRAIN_POPULARITY] == 0.0);

    retrain_window_t w = {0};
    for (int i = 0; i < 9; i++)
        retrain_window_add(&w, 2.0, 100.0); /* mean 2: a 50% change */
    double score = -1;
    int evaluated = -1;
    /* no reference yet: drift is not evaluated */
    assert_null(retrain_policy_decide(&p, &w, &no_last, 0, 0, &score, &evaluated));
    assert_int_equal(evaluated, 0);
    last.have = 1;
    /* below --drift-min-rows */
    assert_null(retrain_policy_decide(&p, &w, &last, 0, 0, &score, &evaluated));
    assert_int_equal(evaluated, 0);
    retrain_window_add(&w, 2.0, 100.0);
    assert_string_equal(retrain_policy_decide(&p, &w, &last, 0, 0, &score, &evaluated), "drift");
    assert_int_equal(evaluated, 1);
    assert_true(fabs(score - 0.5) < 1e-12);
    /* within the threshold: evaluated, does not fire */
    retrain_window_t calm = {0};
    for (int i = 0; i < 10; i++)
        retrain_window_add(&calm, 4.4, 100.0);
    assert_null(retrain_policy_decide(&p, &calm, &last, 0, 0, &score, &evaluated));
    assert_int_equal(evaluated, 1);
    assert_true(fabs(score - 0.1) < 1e-12);
    /* the popularity metric */
    p.drift_metric = RETRAIN_POPULARITY;
    assert_null(retrain_policy_decide(&p, &w, &last, 0, 0, &score, &evaluated));
    assert_true(score == 0.0);
    /* a zero reference mean */
    retrain_summary_t zero = {10, {0, 0}, {0, 0}};
    assert_true(isinf(retrain_drift_score(&w, &zero, RETRAIN_RATING)));
}

static int airflow_safe(const char *s)
{
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.~:+-", *s))
            return 0;
    return 1;
}

static void test_trigger_id(void **state)
{
    retrain_tpo_t wm[3] = {{0, 100}, {1, 0}, {2, 77}};
    char a[96], b[96];
    retrain_trigger_id("g", "ferry.features", 3, wm, 3, a, sizeof a);
    retrain_trigger_id("g", "ferry.features", 3, wm, 3, b, sizeof b);
    assert_string_equal(a, b);
    assert_int_equal(strncmp(a, "retrain-000003-", 15), 0);
    assert_int_equal(strlen(a), 15 + 16);
    assert_true(airflow_safe(a));
    wm[2].offset = 78;
    retrain_trigger_id("g", "ferry.features", 3, wm, 3, b, sizeof b);
    assert_string_not_equal(a, b);
    wm[2].offset = 77;
    retrain_trigger_id("h", "ferry.features", 3, wm, 3, b, sizeof b);
    assert_string_not_equal(a, b);
    retrain_trigger_id("g", "ferry.features2", 3, wm, 3, b, sizeof b);
    assert_string_not_equal(a, b);
    retrain_trigger_id("g", "ferry.features", 4, wm, 3, b, sizeof b);
    assert_string_not_equal(a, b);
    /* partition and offset boundaries are not ambiguous: (1, 23) vs (12, 3) */
    retrain_tpo_t x[1] = {{1, 23}}, y[1] = {{12, 3}};
    retrain_trigger_id("g", "t", 1, x, 1, a, sizeof a);
    retrain_trigger_id("g", "t", 1, y, 1, b, sizeof b);
    assert_string_not_equal(a, b);
}

static void test_state_round_trip(void **state)
{
    retrain_summary_t w = {350, {3.75, 17.5}, {0.5, 2.25}};
    ferry_buf_t b = FERRY_BUF_INIT;
    retrain_state_json("grp \"x\"", "ferry.features", 42, &w, &b);
    char group[64], topic[64];
    int64_t seq = 0;
    retrain_summary_t got;
    assert_int_equal(retrain_state_parse((const char *)b.data, b.len, group, sizeof group, topic,
                                         sizeof topic, &seq, &got),
                     0);
    assert_string_equal(group, "grp \"x\"");
    assert_string_equal(topic, "ferry.features");
    assert_int_equal(seq, 42);
    assert_int_equal(got.rows, 350);
    assert_true(got.mean[0] == 3.75 && got.mean[1] == 17.5 && got.sd[0] == 0.5 &&
                got.sd[1] == 2.25);
    ferry_buf_free(&b);
    assert_int_equal(
        retrain_state_parse("{}", 2, group, sizeof group, topic, sizeof topic, &seq, &got), -1);
    assert_int_equal(
        retrain_state_parse("garbage", 7, group, sizeof group, topic, sizeof topic, &seq, &got),
        -1);

    retrain_policy_t p = {0};
    p.min_new_rows = 100;
    p.drift_threshold = 0.25;
    ferry_buf_t pj = FERRY_BUF_INIT;
    retrain_policy_json(&p, "g", "t", &pj);
    assert_string_equal(
        ferry_buf_cstr(&pj),
        "{\"drift_metric\":\"rating\",\"drift_min_rows\":0,\"drift_threshold\":0.25,"
        "\"group\":\"g\",\"max_interval_ms\":0,\"min_new_rows\":100,"
        "\"min_rows_for_interval\":0,\"topic\":\"t\"}");
    ferry_buf_free(&pj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_min_new_rows),
        cmocka_unit_test(test_max_interval),
        cmocka_unit_test(test_drift),
        cmocka_unit_test(test_trigger_id),
        cmocka_unit_test(test_state_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
