/* The supervisor's job counters (supervisor/stats.c) and the Prometheus text made from
 * them (supervisor/metrics.c, without its server). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/metrics.h"
#include "supervisor/stats.h"

Test(stats, an_observation_on_a_bound_goes_into_that_bucket)
{
    cr_assert_eq(stats_bucket_index(0), 0);
    cr_assert_eq(stats_bucket_index(5), 0);
    cr_assert_eq(stats_bucket_index(6), 1);
    cr_assert_eq(stats_bucket_index(1000), 7);
    cr_assert_eq(stats_bucket_index(600000), STATS_BOUND_COUNT - 1);
    cr_assert_eq(stats_bucket_index(600001), STATS_BOUND_COUNT);
    cr_assert_str_eq(stats_bucket_field(7), "le_1000");
    cr_assert_str_eq(stats_bucket_field(STATS_BOUND_COUNT), "le_inf");
    cr_assert_null(stats_bucket_field(STATS_BUCKET_COUNT));
}

Test(stats, queue_wait_is_the_claim_minus_the_entry_ms)
{
    cr_assert_eq(stats_queue_wait_ms("1700000000000-3", 1700000001250), 1250);
    cr_assert_eq(stats_queue_wait_ms("1700000000000-0", 1699999999000), 0);
    cr_assert_eq(stats_queue_wait_ms("garbage", 1700000001250), 0);
    cr_assert_eq(stats_queue_wait_ms("17-", 20), 3);
    cr_assert_eq(stats_queue_wait_ms("17", 20), 0);
}

Test(stats, pending_counts_go_per_tenant_and_clear_totals_stay)
{
    struct stats stats = { 0 };

    cr_assert_eq(stats_record(&stats, "acme", JOB_STATUS_OK, 3, 40), 0);
    cr_assert_eq(stats_record(&stats, "beta", JOB_STATUS_TIMEOUT, 2000, 5000), 0);
    cr_assert_eq(stats_record(&stats, "acme", JOB_STATUS_OK, 7, 45), 0);
    cr_assert_eq(stats_record(&stats, "acme", JOB_STATUS_COUNT, 7, 45), -EINVAL);

    cr_assert_eq(stats.tenant_count, 2);
    cr_assert_str_eq(stats.tenants[0].name, "acme");
    cr_assert_eq(stats.tenants[0].counts.finished[JOB_STATUS_OK], 2);
    cr_assert_eq(stats.tenants[0].counts.run.sum_ms, 85);
    cr_assert_eq(stats.tenants[0].counts.queue_wait.buckets[0], 1);
    cr_assert_eq(stats.tenants[0].counts.queue_wait.buckets[1], 1);
    cr_assert_eq(stats.tenants[1].counts.finished[JOB_STATUS_TIMEOUT], 1);
    cr_assert(stats_pending(&stats));

    stats_pending_clear(&stats);
    cr_assert_not(stats_pending(&stats));
    cr_assert_eq(stats.tenant_count, 0);
    cr_assert_eq(stats.total.finished[JOB_STATUS_OK], 2);
    cr_assert_eq(stats.total.run.count, 3);
    stats_clear(&stats);
}

Test(stats, many_tenants_grow_the_table)
{
    struct stats stats = { 0 };
    char name[16];

    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        cr_assert_eq(stats_record(&stats, name, JOB_STATUS_OK, 1, 1), 0);
    }
    cr_assert_eq(stats.tenant_count, 100);
    cr_assert_str_eq(stats.tenants[99].name, "t99");
    stats_clear(&stats);
}

Test(metrics, histogram_buckets_are_cumulative_in_seconds)
{
    struct metrics_snapshot snapshot = { 0 };
    struct stats stats = { 0 };
    char *text;

    stats_record(&stats, "acme", JOB_STATUS_OK, 3, 40);
    stats_record(&stats, "acme", JOB_STATUS_ERROR_EXIT, 700000, 700);
    snapshot.totals = stats.total;
    snapshot.workers[POOL_STATE_IDLE] = 3;
    text = metrics_render(&snapshot, "9.9.9");
    cr_assert_not_null(text);

    cr_assert_not_null(strstr(text, "ccx_build_info{version=\"9.9.9\"} 1\n"));
    cr_assert_not_null(strstr(text, "ccx_jobs_finished_total{status=\"ok\"} 1\n"));
    cr_assert_not_null(strstr(text, "ccx_jobs_finished_total{status=\"error_exit\"} 1\n"));
    cr_assert_not_null(strstr(text, "ccx_job_run_seconds_bucket{le=\"0.025\"} 0\n"));
    cr_assert_not_null(strstr(text, "ccx_job_run_seconds_bucket{le=\"0.05\"} 1\n"));
    cr_assert_not_null(strstr(text, "ccx_job_run_seconds_bucket{le=\"1\"} 2\n"));
    cr_assert_not_null(strstr(text, "ccx_job_run_seconds_sum 0.740\n"));
    cr_assert_not_null(strstr(text, "ccx_job_queue_wait_seconds_bucket{le=\"600\"} 1\n"));
    cr_assert_not_null(strstr(text, "ccx_job_queue_wait_seconds_bucket{le=\"+Inf\"} 2\n"));
    cr_assert_not_null(strstr(text, "ccx_job_queue_wait_seconds_count 2\n"));
    cr_assert_not_null(strstr(text, "ccx_workers{state=\"idle\"} 3\n"));
    cr_assert_not_null(strstr(text, "# TYPE ccx_job_run_seconds histogram\n"));
    free(text);
    stats_clear(&stats);
}
