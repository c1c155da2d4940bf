/* Counting finished jobs. Buckets are kept one per observation, not cumulative: a flush then
 * adds one HINCRBY per bucket that changed, and the Prometheus text sums them up. */
#include "supervisor/stats.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const uint64_t stats_bucket_le_ms[STATS_BOUND_COUNT] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
};

static const char *const stats_bucket_fields[STATS_BUCKET_COUNT] = {
    "le_5", "le_10", "le_25", "le_50", "le_100", "le_250", "le_500", "le_1000", "le_2500",
    "le_5000", "le_10000", "le_30000", "le_60000", "le_300000", "le_600000", "le_inf",
};

const char *stats_bucket_field(size_t bucket)
{
    return bucket < STATS_BUCKET_COUNT ? stats_bucket_fields[bucket] : NULL;
}

size_t stats_bucket_index(uint64_t ms)
{
    size_t i = 0;

    while (i < STATS_BOUND_COUNT && ms > stats_bucket_le_ms[i])
        i++;
    return i;
}

static void stats_hist_add(struct stats_hist *hist, uint64_t ms)
{
    hist->buckets[stats_bucket_index(ms)]++;
    hist->sum_ms += ms;
    hist->count++;
}

static void stats_counts_add(struct stats_counts *counts, enum job_status status,
                             uint64_t queue_wait_ms, uint64_t run_ms)
{
    counts->finished[status]++;
    stats_hist_add(&counts->queue_wait, queue_wait_ms);
    stats_hist_add(&counts->run, run_ms);
}

static struct stats_tenant *stats_tenant_get(struct stats *stats, const char *name)
{
    struct stats_tenant *grown;
    size_t capacity;

    for (size_t i = 0; i < stats->tenant_count; i++)
        if (strcmp(stats->tenants[i].name, name) == 0)
            return &stats->tenants[i];

    if (stats->tenant_count == stats->tenant_capacity) {
        capacity = stats->tenant_capacity ? stats->tenant_capacity * 2 : 8;
        grown = realloc(stats->tenants, capacity * sizeof(*grown));
        if (!grown)
            return NULL;
        stats->tenants = grown;
        stats->tenant_capacity = capacity;
    }

    grown = &stats->tenants[stats->tenant_count++];
    memset(grown, 0, sizeof(*grown));
    strncpy(grown->name, name, sizeof(grown->name) - 1);
    return grown;
}

int stats_record(struct stats *stats, const char *tenant, enum job_status status,
                 uint64_t queue_wait_ms, uint64_t run_ms)
{
    struct stats_tenant *entry;

    if ((int)status < 0 || status >= JOB_STATUS_COUNT)
        return -EINVAL;

    stats_counts_add(&stats->total, status, queue_wait_ms, run_ms);
    stats_counts_add(&stats->pending, status, queue_wait_ms, run_ms);

    entry = stats_tenant_get(stats, tenant);
    if (!entry)
        return -ENOMEM;
    stats_counts_add(&entry->counts, status, queue_wait_ms, run_ms);
    return 0;
}

int stats_pending(const struct stats *stats)
{
    return stats->pending.run.count > 0;
}

void stats_pending_clear(struct stats *stats)
{
    memset(&stats->pending, 0, sizeof(stats->pending));
    stats->tenant_count = 0;
}

void stats_clear(struct stats *stats)
{
    free(stats->tenants);
    memset(stats, 0, sizeof(*stats));
}

uint64_t stats_queue_wait_ms(const char *entry_id, uint64_t claim_ms)
{
    char *end;
    unsigned long long enqueued_ms;

    errno = 0;
    enqueued_ms = strtoull(entry_id, &end, 10);
    if (errno != 0 || end == entry_id || *end != '-' || enqueued_ms > claim_ms)
        return 0;
    return claim_ms - (uint64_t)enqueued_ms;
}
