/* Code risk analysis of a job before it runs, as its tenant's policy asks: every file the
 * scanner (common/risk.h) can read is scanned, its findings go into the result and a
 * code_risk event, and under `analysis: reject` a job at or above the tenant's reject_at is
 * answered policy_violation without running. Defence in depth: the sandbox is the wall. */
#ifndef CCX_WORKER_ANALYSIS_H
#define CCX_WORKER_ANALYSIS_H

#include <stdbool.h>

#include "common/job.h"
#include "common/policy.h"
#include "common/result.h"

/* The scanner language of a job file: by its extension (.py, .js/.mjs/.cjs, .c/.h,
 * .sh/.bash), else the job's own language for its main file, else NULL (not scanned). */
const char *analysis_file_language(const struct job *job, const struct job_file *file);

/* Scans job under tenant (nothing when its analysis is off) and fills result's risk level
 * and findings, and adds a code_risk event when anything was found. Sets *ret_reject when
 * the tenant rejects at that level; result->reason then says why. Returns 0 or -ENOMEM. */
int analysis_run(const struct job *job, const struct tenant_policy *tenant,
                 struct result *result, bool *ret_reject);

#endif
