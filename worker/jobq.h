/* How a worker takes jobs from Redis and hands results back. The intake (XADD ccx:jobs) is
 * public; everything behind it is private to this module, so that claiming can change
 * (leases, fairness, breakers) without touching the sandbox. Today: the consumer group
 * ccx-workers on ccx:jobs. */
#ifndef CCX_WORKER_JOBQ_H
#define CCX_WORKER_JOBQ_H

#include "common/config.h"
#include "common/job.h"
#include "common/result.h"

struct jobq;

/* Connects lazily: no Redis call happens here. consumer names this worker in the group
 * (host:pid). Returns 0 or -ENOMEM. */
int jobq_new(const char *redis_url, const struct ccx_config *config, const char *consumer,
             struct jobq **ret_jobq);
void jobq_free(struct jobq *jobq);

/* Waits up to timeout_ms for the next job. Returns 1 and *ret_job (job_free it), 0 when none
 * came, or -errno when Redis failed; on failure the next call reconnects after a jittered
 * backoff, and the outage is logged once, not once per try. */
int jobq_take(struct jobq *jobq, int timeout_ms, struct job **ret_job);

/* Stores the result at ccx:result:<id> (only if none is there), pushes it on
 * ccx:reply:<id>, both with the configured TTL, publishes each event of the result on
 * ccx:events, then acknowledges and deletes the stream entry. The entry is acknowledged only
 * after the result is stored. On a Redis failure, retries with backoff until it succeeds or
 * *stop becomes nonzero. Returns 1 when it stored the result, 0 when a result for the id
 * already existed (then nothing is pushed, and the entry is still retired), or -errno when
 * it gave up. */
int jobq_finish(struct jobq *jobq, const struct job *job, const struct result *result,
                volatile int *stop);

#endif
