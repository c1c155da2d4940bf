/* Runs a decoded job to its result: the compile step when the language has one, then the
 * program, each in its own sandbox run. */
#ifndef CCX_WORKER_RUNNER_H
#define CCX_WORKER_RUNNER_H

#include "common/config.h"
#include "common/job.h"
#include "common/result.h"
#include "worker/sandbox.h"

/* Fills *ret_result (id, status, steps, events, enforced, meta, language, tenant,
 * policy_version); the caller sets host, worker and attempt. A job with reject_reason set is
 * answered `rejected` without running. The program runs under run_filter (NULL: the
 * sandbox's own) with the job's tmp_mb; a compile step runs under the sandbox's own filter
 * (the compiler starts processes whatever the tenant's policy) with the config's tmp_mb.
 * tenant_cgroup is the job's tenant's policy for its parent cgroup on this host (NULL: no
 * aggregate memory or pids limit, CPU weight 100). Never fails the job silently: every path
 * ends in a status. Returns 0, or -ENOMEM. */
int runner_run(struct sandbox *sandbox, const struct ccx_config *config, const struct job *job,
               const struct filter *run_filter, const struct policy_cgroup *tenant_cgroup,
               struct result *ret_result);

#endif
