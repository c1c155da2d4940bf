/* The intake: one process per host (ccx-worker --intake, started by the supervisor beside the
 * pool) that drains the public stream ccx:jobs into the fair queues behind it, even while
 * every worker is busy (docs/FAIRNESS.md). It runs no job, holds no uid and no lease. */
#ifndef CCX_WORKER_INTAKE_H
#define CCX_WORKER_INTAKE_H

#include <signal.h>

#include "common/config.h"
#include "common/policy.h"

/* Reads ccx:jobs in batches as consumer intake:<host>:<pid> until *stop becomes nonzero.
 * Each message is decoded: one that cannot run (malformed, oversized, unknown language,
 * over a ceiling) is answered `rejected` at once through the token-checked finish; the rest
 * are admitted by one script per batch, which answers `rejected` (over_quota) those past
 * their tenant's queued budget and puts the others on their tenant's ready list. Redis
 * failures are logged once per outage and retried with backoff. Returns 0 when stopped, or
 * -ENOMEM. Logs its own events (intake_started, job_rejected, job_over_quota, ...). */
int intake_run(const struct ccx_config *config, const struct policy *policy,
               const char *redis_url, volatile sig_atomic_t *stop);

#endif
