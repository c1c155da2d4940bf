/* How a worker takes jobs from Redis and hands results back. The intake (XADD ccx:jobs) is
 * public; everything behind it is private to this module and worker/intake.c, so that
 * claiming can change (breakers) without touching the sandbox. Today: the host's intake
 * moves entries from the consumer group ccx-workers to per-tenant ready lists, workers take
 * them in weighted fair order (docs/FAIRNESS.md), and every job a worker runs has a lease
 * with a fencing token (docs/PROTOCOL.md, Delivery). */
#ifndef CCX_WORKER_JOBQ_H
#define CCX_WORKER_JOBQ_H

#include <signal.h>
#include <stdint.h>

#include "common/config.h"
#include "common/job.h"
#include "common/policy.h"
#include "common/result.h"

#define JOBQ_ENTRY_ID_SIZE 64 /* "<u64>-<u64>" and its NUL, with room to spare */

struct jobq;

/* What the claim decided about a job it leased: run it, or only answer it. */
enum jobq_verdict {
    JOBQ_VERDICT_RUN,
    JOBQ_VERDICT_CANCELLED, /* its client cancelled it before it started */
    JOBQ_VERDICT_EXPIRED,   /* its deadline passed before it started, on Redis's clock */
    JOBQ_VERDICT_CIRCUIT_OPEN, /* its tenant's circuit breaker is open: answered, not run */
};

/* The lease a worker holds on the job it runs. Only the holder of the current token may
 * store the job's result; the lease runs out lease_ms (Redis time) after it was taken or
 * last renewed, and renewing is the supervisor's part. */
struct jobq_lease {
    char entry_id[JOBQ_ENTRY_ID_SIZE];
    uint64_t token;          /* fencing token: grows with every lease taken, fleet-wide */
    uint32_t attempt;        /* 1 for the first worker to run the entry, +1 for each next */
    uint64_t claimed_at_ms;  /* CLOCK_MONOTONIC just before the claim was sent */
    enum jobq_verdict verdict; /* anything but RUN: finish it with that status, unrun */
};

/* Connects lazily: no Redis call happens here. consumer names this worker in the group
 * (host:pid), host is the machine's name (recorded in the lease), slot the worker's (in the
 * results the queue builds itself: dead letters). Returns 0 or -ENOMEM. */
int jobq_new(const char *redis_url, const struct ccx_config *config, const char *consumer,
             const char *host, int slot, struct jobq **ret_jobq);
void jobq_free(struct jobq *jobq);

/* While *stop is nonzero, an entry that a blocked read brings in is left unclaimed (its
 * supervisor hands such deliveries back when the worker exits). */
void jobq_set_stop_flag(struct jobq *jobq, const volatile sig_atomic_t *stop);

/* Every job jobq_take decodes gets policy applied (job_apply_policy) before it is handed
 * out or answered. Borrowed: the caller keeps it alive until it sets another. NULL leaves
 * jobs as the decoder made them. */
void jobq_set_policy(struct jobq *jobq, const struct policy *policy);

/* Waits up to timeout_ms for the next job and takes a lease on it: first an entry this
 * consumer was delivered before a reconnect, then a lease that expired (its worker or host
 * died) or an entry delivered but never leased, then the fair claim: the oldest ready entry
 * of the tenant whose turn it is (docs/FAIRNESS.md); with none to be had, it waits on
 * ccx:wake for up to timeout_ms. Returns 1 with *ret_job (job_free it) and *ret_lease, 0
 * when none came (also when the entry turned out to be answered already: it is retired
 * without running), or -errno
 * when Redis failed; on failure the next call reconnects after a jittered backoff, and the
 * outage is logged once, not once per try. */
int jobq_take(struct jobq *jobq, int timeout_ms, struct job **ret_job,
              struct jobq_lease *ret_lease);

#define JOBQ_FINISH_RETRY 2

/* Stores the result at ccx:result:<id> (only if none is there), pushes it on
 * ccx:reply:<id>, both with the configured TTL, then acknowledges and deletes the stream
 * entry and ends the lease, all only while lease->token is still the entry's token; then
 * publishes each event of the result on ccx:events. A result internal_error is not final
 * while the attempt is below the job's max_attempts: the lease is put back to expire after
 * a backoff, for another run (JOBQ_FINISH_RETRY); at the last attempt the job is given up,
 * its result turned dead_letter and the job added to ccx:dead. On a Redis failure, retries
 * with backoff until it succeeds or *stop becomes nonzero. Returns 1 when it stored the
 * result, 0 when a result for the id already existed (nothing is pushed, the entry is still
 * retired), JOBQ_FINISH_RETRY, -ESTALE when the lease passed to another worker (nothing was
 * written), or -errno when it gave up. Logs retry_scheduled and dead_lettered. A lease
 * token of 0 answers a job nobody leased (the intake's rejections): no lease hash fences
 * it, and SET NX keeps an earlier answer. The job_finished event goes with a stored result,
 * from inside the script. */
int jobq_finish(struct jobq *jobq, const struct job *job, const struct jobq_lease *lease,
                const struct result *result, volatile sig_atomic_t *stop);

/* Records that this worker killed the run of job because its lease was lost (a zombie
 * stopped before it could answer for a job another worker now holds). The zombie_killed
 * event and the ccx:stats zombies_killed count go to Redis with the next jobq_take that
 * reaches it. Returns 0 or -ENOMEM. */
int jobq_note_zombie(struct jobq *jobq, const struct job *job, const struct jobq_lease *lease);

#endif
