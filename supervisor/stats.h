/* Counts of finished jobs and latency histograms, kept by the supervisor from its workers'
 * "done" messages: totals since start for this host's /metrics, and what was added since
 * the last heartbeat, fleet-wide and per tenant, for the Redis counters (supervisor/
 * heartbeat.c adds those in one transaction per beat). Does not log.
 *
 * Jobs the intake answers without a worker (rejected at decoding, over_quota) never reach
 * a supervisor: the intake's own scripts count them in ccx:finished, and this host's
 * ccx_jobs_finished_total leaves them out (its workers did not run them). */
#ifndef CCX_SUPERVISOR_STATS_H
#define CCX_SUPERVISOR_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

/* Upper bounds of the histogram buckets, ms; a last bucket takes everything above. From
 * 5 ms (a job's share of an idle queue's read) to the 10 minutes of the longest run the
 * shipped config allows, 1-2.5-5 steps: a percentile read from them is off by at most one
 * step, and 16 buckets keep each histogram hash small. */
#define STATS_BOUND_COUNT 15
#define STATS_BUCKET_COUNT (STATS_BOUND_COUNT + 1)
extern const uint64_t stats_bucket_le_ms[STATS_BOUND_COUNT];

/* "le_5", ..., "le_600000", "le_inf": the field of a bucket in a Redis histogram hash. */
const char *stats_bucket_field(size_t bucket);

struct stats_hist {
    uint64_t buckets[STATS_BUCKET_COUNT]; /* each observation in one bucket (not cumulative) */
    uint64_t sum_ms;
    uint64_t count;
};

struct stats_counts {
    uint64_t finished[JOB_STATUS_COUNT];
    struct stats_hist queue_wait;  /* XADD (the entry id's ms) to the claim, Redis's clock */
    struct stats_hist run;         /* the run step's wall time */
};

struct stats_tenant {
    char name[65];
    struct stats_counts counts;
};

struct stats {
    struct stats_counts total;     /* since the supervisor started: for /metrics */
    struct stats_counts pending;   /* since the last flush to Redis */
    struct stats_tenant *tenants;  /* pending, one per tenant seen since the last flush */
    size_t tenant_count;
    size_t tenant_capacity;
};

/* The bucket of an observation of ms. */
size_t stats_bucket_index(uint64_t ms);

/* Counts one finished job. Returns 0, or -ENOMEM (the totals are counted all the same). */
int stats_record(struct stats *stats, const char *tenant, enum job_status status,
                 uint64_t queue_wait_ms, uint64_t run_ms);

/* True when something waits for the next flush. */
int stats_pending(const struct stats *stats);

/* Forgets what was pending: it is in Redis now. */
void stats_pending_clear(struct stats *stats);

/* Frees what stats holds (not stats itself) and zeroes it. */
void stats_clear(struct stats *stats);

/* The queue wait of an entry taken at claim_ms (ms since the epoch, Redis's clock): the
 * entry id's first part is the ms of its XADD. 0 for an id without one or a claim that
 * looks earlier (clocks a little apart). */
uint64_t stats_queue_wait_ms(const char *entry_id, uint64_t claim_ms);

#endif
